"""``funcgrad.numpy.linalg``: NumPy's linear algebra, traceable and differentiable.

``inv det slogdet solve cholesky eigh norm``, with NumPy's signatures, batching over leading
axes (``(..., n, n)``) and dtypes (integers compute in float64, float32 stays float32). On
concrete inputs each function is NumPy's own. Real arrays only.

- ``cholesky`` and ``eigh`` read one triangle of the matrix, as NumPy does (the lower one by
  default), also when the input is not symmetric: they are functions of that triangle alone,
  and their derivatives are the exact derivatives of those functions, so a gradient with
  respect to the input lies in that triangle (an off-diagonal entry carries both of the
  symmetric matrix's). ``torch.linalg.eigh`` reads the same triangle but returns the symmetric
  gradient: it is the symmetric part of funcgrad's, and the two agree on every symmetric
  direction (``jvp``).
- ``eigh``: derivatives need distinct eigenvalues. At a repeated eigenvalue the eigenvectors
  are not unique and their derivatives come out ``inf``/``nan``; gradients of functions of the
  eigenvalues alone stay finite (first order).
- ``inv``, ``solve``, ``det``, ``slogdet``: derivatives at singular matrices are ``inf``/``nan``.
- ``norm``: every ``ord`` NumPy takes, for vectors and matrices. The matrix norms ``2``, ``-2``
  and ``'nuc'`` use no SVD: the singular values are the square roots of the eigenvalues of the
  Gram matrix (``A.T A`` or ``A A.T``, the smaller). The largest singular value is as accurate
  as NumPy's; a smaller one, ``s``, has a relative error near ``eps * (s_max / s)**2`` (fine for
  well-conditioned matrices, poor for nearly singular ones). Derivatives need the singular
  values in use to be simple (for ``2``: the largest, for ``-2``: the smallest) and, for ``-2``
  and ``'nuc'``, nonzero. The 2-norm and Frobenius norm of zero have a zero derivative, as in
  PyTorch.

>>> import numpy as np
>>> import funcgrad as fg
>>> import funcgrad.numpy as fnp
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> fg.grad(lambda a: fnp.linalg.slogdet(a)[1])(a)      # inv(a).T
array([[ 0.6, -0.2],
       [-0.2,  0.4]])
"""
from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from ..core.errors import ShapeError, at_user_line
from ..ops import linalg as la
from ..ops import structural as st
from ._core import _contains_tracer, asarray_or_tracer, cast, common_dtype, normalize_axes
from ._elementwise import _root, abs, maximum, not_equal, power
from ._reductions import max, min, sum

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "eigh", "norm", "LinAlgError",
           "SlogdetResult", "EighResult"]

LinAlgError = np.linalg.LinAlgError


class SlogdetResult(NamedTuple):
    """What ``slogdet`` returns on traced input (NumPy's namesake on concrete input)."""
    sign: object
    logabsdet: object


class EighResult(NamedTuple):
    """What ``eigh`` returns on traced input (NumPy's namesake on concrete input)."""
    eigenvalues: object
    eigenvectors: object


def _traced(*values) -> bool:
    return _contains_tracer(values)


def _as_float(*values):
    """The operands as arrays or tracers of their common dtype, integers as float64."""
    values = [asarray_or_tracer(v) for v in values]
    dtype = common_dtype(*values)
    if dtype.kind not in "f":
        if dtype.kind == "c":
            raise TypeError("funcgrad.numpy.linalg: complex arrays are not supported")
        dtype = np.dtype(np.float64)
    return [cast(v, dtype) for v in values]


def _matrix_transpose(a):
    if np.ndim(a) < 2:   # let the primitive's shape rule report it
        return a
    return la.matrix_transpose(a)


# ---------------------------------------------------------------- inverses and solves

def inv(a):
    """``numpy.linalg.inv``: the inverse of each matrix of ``a`` ``(..., n, n)``.

    >>> import funcgrad as fg
    >>> fg.jacfwd(lambda a: inv(a))(np.array([[2.0]]))
    array([[[[-0.25]]]])
    """
    if not _traced(a):
        return np.linalg.inv(a)
    (a,) = _as_float(a)
    return la.inv(a)


def solve(a, b):
    """``numpy.linalg.solve``: ``x`` with ``a @ x == b``.

    As in NumPy 2, ``b`` is one vector ``(n,)`` only when it is 1-d; otherwise a stack of
    ``(n, k)`` matrices whose leading axes broadcast against those of ``a``.

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    if not _traced(a, b):
        return np.linalg.solve(a, b)
    a, b = _as_float(a, b)
    if np.ndim(a) < 2 or np.ndim(b) == 0:
        return la.solve(a, b)   # the shape rule explains
    vector = np.ndim(b) == 1
    if vector:
        b = st.reshape(b, (np.shape(b)[0], 1))
    try:
        batch = np.broadcast_shapes(np.shape(a)[:-2], np.shape(b)[:-2])
    except ValueError:
        raise ShapeError(at_user_line(
            f"solve: the leading (batch) axes of a {np.shape(a)} and b {np.shape(b)} do not "
            "broadcast")) from None
    a = st.broadcast_to(a, batch + np.shape(a)[-2:])
    b = st.broadcast_to(b, batch + np.shape(b)[-2:])
    x = la.solve(a, b)
    return st.reshape(x, np.shape(x)[:-1]) if vector else x


# -------------------------------------------------------------------------- determinants

def det(a):
    """``numpy.linalg.det``: the determinant of each matrix of ``a`` ``(..., n, n)``.

    >>> import funcgrad as fg
    >>> fg.grad(det)(np.array([[2.0, 1.0], [1.0, 3.0]]))     # det(a) * inv(a).T
    array([[ 3., -1.],
           [-1.,  2.]])
    """
    if not _traced(a):
        return np.linalg.det(a)
    (a,) = _as_float(a)
    return la.det(a)


def slogdet(a):
    """``numpy.linalg.slogdet``: ``(sign, logabsdet)`` with ``det(a) == sign * exp(logabsdet)``.

    Stable where ``det`` would under- or overflow. ``sign`` has a zero derivative.

    >>> sign, logabsdet = slogdet(np.array([[0.0, 2.0], [3.0, 0.0]]))
    >>> float(sign), round(float(logabsdet), 6)
    (-1.0, 1.791759)
    """
    if not _traced(a):
        return np.linalg.slogdet(a)
    (a,) = _as_float(a)
    return SlogdetResult(*la.slogdet(a))


# ------------------------------------------------------------------- symmetric matrices

def cholesky(a, /, *, upper: bool = False):
    """``numpy.linalg.cholesky``: ``L`` lower triangular with ``L @ L.T == a``, for
    symmetric positive-definite ``a`` ``(..., n, n)``; with ``upper``, ``U = L.T``.

    Only the lower triangle of ``a`` is read (the upper one, with ``upper``).

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    if not _traced(a):
        return np.linalg.cholesky(a, upper=upper)
    (a,) = _as_float(a)
    if upper:
        return _matrix_transpose(la.cholesky(_matrix_transpose(a)))
    return la.cholesky(a)


def eigh(a, UPLO: str = "L"):
    """``numpy.linalg.eigh``: ``(eigenvalues, eigenvectors)`` of symmetric matrices.

    Eigenvalues ascend; eigenvector ``k`` is column ``eigenvectors[..., :, k]``. Only the
    triangle ``UPLO`` (``'L'`` or ``'U'``) of ``a`` is read. Derivatives need distinct
    eigenvalues (see the module's notes).

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if not _traced(a):
        return np.linalg.eigh(a, UPLO=UPLO)
    (a,) = _as_float(a)
    w, v = la.eigh(a if UPLO == "L" else _matrix_transpose(a))
    return EighResult(w, v)


# ---------------------------------------------------------------------------------- norm

def _singular_values(x, row_axis: int, col_axis: int):
    """The singular values of the matrices on ``(row_axis, col_axis)``, last axis: the square
    roots of the eigenvalues of the smaller Gram matrix (no SVD)."""
    order = [i for i in range(np.ndim(x)) if i not in (row_axis, col_axis)]
    y = st.transpose(x, order + [row_axis, col_axis])
    m, n = np.shape(y)[-2:]
    yt = la.matrix_transpose(y)
    gram = la.matmul(yt, y) if m >= n else la.matmul(y, yt)
    eigenvalues = la.eigh(gram)[0]
    return _root(maximum(eigenvalues, 0))


def _vector_norm(x, ord, axis: int, keepdims: bool):
    if ord is None or ord == 2:
        return _root(sum(x * x, axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order '{ord}' for vectors")
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(not_equal(x, 0).astype(x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    total = sum(power(abs(x), ord), axis=axis, keepdims=keepdims)
    return _root(total, 1.0 / float(ord))


def _matrix_norm(x, ord, row_axis: int, col_axis: int):
    """NumPy's matrix norms, without keepdims (both axes are reduced)."""
    absolute = abs(x) if ord in (1, -1, np.inf, -np.inf) else None
    if ord in (1, -1):       # the largest (smallest) absolute column sum
        sums = sum(absolute, axis=row_axis)
        col = col_axis - (col_axis > row_axis)
        return max(sums, axis=col) if ord == 1 else min(sums, axis=col)
    if ord in (np.inf, -np.inf):   # the largest (smallest) absolute row sum
        sums = sum(absolute, axis=col_axis)
        row = row_axis - (row_axis > col_axis)
        return max(sums, axis=row) if ord == np.inf else min(sums, axis=row)
    if ord in (None, "fro", "f"):
        return _root(sum(x * x, axis=(row_axis, col_axis)))
    if ord in (2, -2, "nuc"):
        values = _singular_values(x, row_axis, col_axis)
        if ord == "nuc":
            return sum(values, axis=-1)
        return max(values, axis=-1) if ord == 2 else min(values, axis=-1)
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices; use None, 'fro', "
                     "'nuc', 1, -1, 2, -2, inf or -inf")


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """``numpy.linalg.norm``: vector norms over one axis, matrix norms over two.

    ``ord``: for vectors ``None``/``2``, ``inf``, ``-inf``, ``0`` (a count, zero derivative),
    ``1`` and any other number ``p`` (``sum(|x|**p)**(1/p)``); for matrices ``None``/``'fro'``,
    ``'nuc'``, ``1``, ``-1``, ``2``, ``-2``, ``inf``, ``-inf``. With ``axis=None`` a 1-d array is
    a vector, a 2-d one a matrix, and with ``ord=None`` any array is flattened.

    >>> import funcgrad as fg
    >>> fg.grad(norm)(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """
    if not _traced(x):
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    (x,) = _as_float(x)
    ndim = np.ndim(x)
    if axis is None:
        if ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1):
            result = _root(sum(x * x))
            return st.reshape(result, (1,) * ndim) if keepdims else result
        if ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None, x must be 1-d or 2-d, "
                             f"got shape {np.shape(x)}; give axis")
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        try:
            axis = (operator.index(axis),)
        except TypeError:
            raise TypeError("norm: 'axis' must be None, an integer or a tuple of integers") \
                from None
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) != 2:
        raise ValueError(f"norm: axis={axis!r} names {len(axis)} axes; a norm takes 1 "
                         "(vector) or 2 (matrix)")
    if ndim < 2:
        raise np.exceptions.AxisError(f"norm: axis {axis!r} is out of bounds for an array of "
                                      f"dimension {ndim}")
    row_axis, col_axis = (normalize_axes(a, ndim, "norm")[0] for a in axis)
    if row_axis == col_axis:
        raise ValueError(f"norm: axis={axis!r} repeats an axis")
    result = _matrix_norm(x, ord, row_axis, col_axis)
    if keepdims:
        shape = [1 if i in (row_axis, col_axis) else s for i, s in enumerate(np.shape(x))]
        result = st.reshape(result, shape)
    return result
