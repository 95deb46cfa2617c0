"""Sorting primitives: ``argsort`` and ``searchsorted``, both with integer results.

Neither has a derivative of its own. A sort is ``argsort`` followed by a gather of the values
at the permutation (``funcgrad.numpy.sort``), so its derivatives are the gather's: the forward
rule gathers the tangent through the permutation, the reverse rule scatters the cotangent back
through it (``scatter_add``), to every order. Where values tie, the stable permutation decides
which input each output's derivative belongs to.

Under ``jit`` both run as calls of their NumPy implementations (no numba kernel).
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import structural as st

# ------------------------------------------------------------------------------- argsort

argsort_p = Primitive("argsort", "structural")


def _argsort_impl(x, *, axis, descending):
    if descending:
        # Stable and descending: equal values keep their order (as JAX's descending sort).
        flipped = np.flip(x, axis)
        order = np.argsort(flipped, axis=axis, kind="stable")
        order = np.flip(np.shape(x)[axis] - 1 - order, axis)
        return np.ascontiguousarray(order, dtype=np.int64)
    return np.argsort(x, axis=axis, kind="stable").astype(np.int64)


def _argsort_shape(x, *, axis, descending):
    if not 0 <= axis < max(x.ndim, 1) or x.ndim == 0:
        raise ShapeError(f"axis {axis} is out of range for a {x.ndim}-d array")
    if x.dtype.kind not in "biuf":
        raise ShapeError(f"cannot sort values of dtype {x.dtype.name}")
    return ShapedArray(x.shape, np.dtype(np.int64))


argsort_p.impl = _argsort_impl
argsort_p.abstract_eval = _argsort_shape
argsort_p.jvp = lambda primals, tangents, *, axis, descending: (
    argsort(primals[0], axis, descending), None)
argsort_p.vjp = lambda needs, g, ans, x, *, axis, descending: (None,)
argsort_p.batch = lambda args, dims, *, axis, descending: (
    argsort(args[0], axis + (axis >= dims[0]), descending), dims[0])


def argsort(x, axis: int, descending: bool = False):
    """The stable permutation that sorts ``x`` along ``axis`` (int64), ascending by default."""
    return argsort_p.bind(x, axis=int(axis), descending=bool(descending))


# --------------------------------------------------------------------------- searchsorted

searchsorted_p = Primitive("searchsorted", "structural")


def _searchsorted_impl(a, v, *, side, batch_ndim):
    if batch_ndim == 0:
        return np.asarray(np.searchsorted(a, v, side=side), dtype=np.int64)[()]
    out = np.empty(np.shape(v), np.int64)
    for index in np.ndindex(*np.shape(a)[:batch_ndim]):
        out[index] = np.searchsorted(a[index], v[index], side=side)
    return out


def _searchsorted_shape(a, v, *, side, batch_ndim):
    if a.ndim != batch_ndim + 1:
        raise ShapeError(f"the sorted array must have {batch_ndim + 1} axes (batch axes and "
                         f"one sorted axis), got shape {a.shape}")
    if v.shape[:batch_ndim] != a.shape[:batch_ndim]:
        raise ShapeError(f"the batch axes of the sorted array {a.shape[:batch_ndim]} and of "
                         f"the values {v.shape[:batch_ndim]} differ")
    if side not in ("left", "right"):
        raise ShapeError(f"side must be 'left' or 'right', got {side!r}")
    if a.dtype != v.dtype:
        raise ShapeError(f"the sorted array ({a.dtype.name}) and the values ({v.dtype.name}) "
                         "must share a dtype")
    return ShapedArray(v.shape, np.dtype(np.int64))


def _searchsorted_batch(args, dims, *, side, batch_ndim):
    (a, v), (a_dim, v_dim) = args, dims
    if a_dim is None:
        # Every example searches the same sorted rows: the batch axis is one more value axis.
        v = st.moveaxis(v, v_dim, batch_ndim)
        return searchsorted(a, v, side, batch_ndim), batch_ndim
    a = st.batch_to_front(a, a_dim)
    v = st.batched_at_front(v, v_dim, np.shape(a)[0])
    return searchsorted(a, v, side, batch_ndim + 1), 0


searchsorted_p.impl = _searchsorted_impl
searchsorted_p.abstract_eval = _searchsorted_shape
searchsorted_p.jvp = lambda primals, tangents, *, side, batch_ndim: (
    searchsorted(primals[0], primals[1], side, batch_ndim), None)
searchsorted_p.vjp = lambda needs, g, ans, a, v, *, side, batch_ndim: (None, None)
searchsorted_p.batch = _searchsorted_batch


def searchsorted(a, v, side: str = "left", batch_ndim: int = 0):
    """Where each of ``v`` would go in the sorted last axis of ``a`` (int64).

    ``a`` is ``batch + (n,)`` and ``v`` is ``batch + shape``: each row of ``a`` is searched for
    the values of ``v`` that share its batch index.
    """
    return searchsorted_p.bind(a, v, side=side, batch_ndim=int(batch_ndim))
