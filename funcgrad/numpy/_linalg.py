"""Products of ``funcgrad.numpy``: einsum, dot, matmul, tensordot, inner, outer."""
from __future__ import annotations

import numpy as np

from ..core.trace import Tracer
from ..ops import contraction
from ..ops import structural as st
from ._core import asarray_or_tracer, cast, common_dtype, is_traced


def matmul(a, b):
    """``numpy.matmul`` (``a @ b``), with batch broadcasting."""
    if not is_traced(a, b):
        return np.matmul(a, b)
    dtype = common_dtype(a, b)
    a, b = cast(asarray_or_tracer(a), dtype), cast(asarray_or_tracer(b), dtype)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise ValueError("matmul: operands must be at least 1-d (use * for scalars)")
    a_vec, b_vec = np.ndim(a) == 1, np.ndim(b) == 1
    if a_vec:
        a = st.reshape(a, (1,) + np.shape(a))
    if b_vec:
        b = st.reshape(b, np.shape(b) + (1,))
    if np.shape(a)[-1] != np.shape(b)[-2]:
        raise ValueError(f"matmul: contracted dimensions differ: shapes {np.shape(a)} and "
                         f"{np.shape(b)}")
    batch = np.broadcast_shapes(np.shape(a)[:-2], np.shape(b)[:-2])
    a = st.broadcast_to(a, batch + np.shape(a)[-2:])
    b = st.broadcast_to(b, batch + np.shape(b)[-2:])
    letters = "abcdefghijklmnopqrstuvw"[:len(batch)]
    out = contraction.einsum(f"{letters}xy,{letters}yz->{letters}xz", a, b)
    if a_vec:
        out = st.reshape(out, np.shape(out)[:-2] + np.shape(out)[-1:])
    if b_vec:
        out = st.reshape(out, np.shape(out)[:-1])
    return out
