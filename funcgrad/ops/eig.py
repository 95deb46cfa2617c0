"""``eig``: eigenvalues and right eigenvectors of general square matrices (LAPACK's geev
through ``numpy.linalg.eig``), with every rule beside it.

The results are complex (``complex_dtype`` of the input: float32 gives complex64), always,
as in JAX (NumPy's own ``eig`` gives real arrays when every eigenvalue happens to be real,
a dtype that tracing cannot know). Eigenvectors are NumPy's: unit columns.

Derivatives (JAX's complex convention, ``complex_numbers``), for a diagonalizable ``A = V
diag(w) V^-1`` with distinct eigenvalues; with ``C = V^-1 dA V``:

- ``dw = diag(C)``, which needs only that ``V`` be invertible;
- ``dV = V (F o C) - V diag(Re(diag(V^H V (F o C))))``, ``F_ij = 1 / (w_j - w_i)`` off the
  diagonal: the change of the eigenvectors that keeps them of unit length. Their phase is
  arbitrary (LAPACK fixes it by making the largest component real), so only functions that
  do not depend on it (``abs(v)``, ``v v^H`` products, ...) have derivatives that match
  finite differences; JAX's eigenvectors have the same caveat. At repeated eigenvalues ``F``
  is infinite: the eigenvector derivatives are ``inf``/``nan``, while a reverse pass that
  reads only the eigenvalues never forms ``F`` and stays finite.

The reverse rule is the transpose of these maps; for a real input it keeps the real part of
the complex cotangent (the transpose of making the matrix complex).
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.primitive import Primitive
from . import complex_numbers as cn
from . import elementwise as ew
from . import linalg as la
from . import reduction
from . import structural as st

eig_p = Primitive("eig", "linalg", multiple_results=True)


def _impl(a):
    dtype = cn.complex_dtype(np.result_type(a))
    w, v = np.linalg.eig(a)
    return [w.astype(dtype, copy=False), v.astype(dtype, copy=False)]


def _shape(a):
    la._square(a, kinds="fc")
    dtype = cn.complex_dtype(a.dtype)
    return [ShapedArray(a.shape[:-1], dtype), ShapedArray(a.shape, dtype)]


def eig(a):
    """``(w, v)``: the eigenvalues ``(..., n)`` and unit right eigenvectors ``(..., n, n)``."""
    return eig_p.bind(a)


def _gap_reciprocals(w):
    """``F_ij = 1 / (w_j - w_i)`` off the diagonal, 0 on it (no 1/0 there)."""
    n = np.shape(w)[-1]
    gaps = ew.sub(_row(w), _column(w))
    eye = la._eye_mask(n)
    safe = ew.select(eye, ew.full_like(gaps, 1), gaps)
    return ew.select(eye, ew.zeros_like(gaps), ew.div(w.dtype.type(1), safe))


def _row(w):
    shape = np.shape(w)
    return st.reshape(w, shape[:-1] + (1, shape[-1]))


def _column(w):
    shape = np.shape(w)
    return st.reshape(w, shape + (1,))


def _column_sums(x):
    """``sum_i x_ij``: one value per column, ``(..., n)``."""
    return reduction.reduce_sum(x, (np.ndim(x) - 2,))


def _jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    w, v = eig(a)
    t = ew.convert(t, w.dtype)
    c = la.matmul(la.solve(v, t), v)
    dw = la.diagonal(c)
    du = la.matmul(v, ew.mul(_gap_reciprocals(w), c))
    stretch = cn.real(_column_sums(ew.mul(cn.conj(v), du)))
    dv = ew.sub(du, ew.mul(v, _row(ew.convert(stretch, v.dtype))))
    return [w, v], [dw, dv]


def _vjp(needs, cotangents, ans, a):
    g_w, g_v = cotangents
    w, v = ans
    ct_c = None
    if not la._is_zero(g_w):
        ct_c = la.diagonal_matrix(g_w)
    if not la._is_zero(g_v):
        # the transpose of the unit-length correction, then of dU = V (F o C)
        s = cn.real(_column_sums(ew.mul(g_v, v)))
        g_u = ew.sub(g_v, ew.mul(cn.conj(v), _row(ew.convert(s, v.dtype))))
        ct_d = la.matmul(la.matrix_transpose(v), g_u)
        term = ew.mul(_gap_reciprocals(w), ct_d)
        ct_c = term if ct_c is None else ew.add(ct_c, term)
    if ct_c is None:
        return (ew.zeros_like(a),)
    # C = V^-1 dA V: the cotangent of dA is V^-T ct_C V^T
    ct_a = la.matmul(la.solve(la.matrix_transpose(v), ct_c), la.matrix_transpose(v))
    return (cn.real(ct_a) if a.dtype.kind != "c" else ct_a,)


eig_p.impl = _impl
eig_p.abstract_eval = _shape
eig_p.jvp = _jvp
eig_p.vjp = _vjp
eig_p.batch = la._batch_at_front(eig_p)
