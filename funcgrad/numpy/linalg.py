"""``funcgrad.numpy.linalg``: NumPy's linear algebra, traceable and differentiable.

``inv det slogdet solve cholesky eig eigvals eigh eigvalsh svd svdvals qr pinv lstsq
matrix_rank cond matrix_power multi_dot norm vector_norm matrix_norm tensorsolve tensorinv``
and NumPy 2's ``matrix_transpose outer cross diagonal trace vecdot tensordot matmul``, with
NumPy's signatures, batching over leading axes (``(..., m, n)``; ``lstsq`` and ``multi_dot``
take 2-d arrays, as in NumPy, and batch under ``vmap``) and dtypes (integers compute in
float64, float32 stays float32). On concrete inputs each function is NumPy's own. Every function
takes traced complex arrays too, with JAX's derivative convention: ``eig`` and ``eigvals``
(complex results), ``slogdet`` (a complex unit ``sign``, a real ``logabsdet``), ``cholesky``
(``a = L L^H``), ``eigh``/``eigvalsh`` of Hermitian matrices (real eigenvalues),
``svd``/``svdvals`` (real singular values, unitary ``U`` and ``Vh``), ``qr`` (unitary ``Q``,
``R`` with a real diagonal, as LAPACK's), ``pinv`` and ``lstsq`` (with ``A^H`` where real
matrices have ``A^T``; real ``residuals`` and ``s``), ``cond`` (real), ``matrix_rank``, the
norms (real) and the rest.

- ``svd``, ``qr``, ``pinv`` are primitives; the rest compose primitives (``lstsq`` is
  ``pinv(a) @ b``, ``cond`` uses ``svdvals`` or ``inv``, ``matrix_power`` repeated products),
  so their derivatives follow. Caveats are in each docstring: ``svd``'s singular vectors need
  distinct nonzero singular values; ``pinv``/``lstsq`` differentiate at locally constant rank;
  the completing columns of ``svd(full_matrices=True)`` and ``qr(mode='complete')`` are an
  arbitrary basis whose derivative is a chosen (minimal-rotation) gauge.

- ``cholesky`` and ``eigh`` read one triangle of the matrix, as NumPy does (the lower one by
  default; of a complex diagonal, the real part), also when the input is not symmetric
  (Hermitian): they are functions of that triangle alone, and their derivatives are the
  exact derivatives of those functions, so a gradient with respect to the input lies in that
  triangle (an off-diagonal entry carries both of the
  symmetric matrix's). ``torch.linalg.eigh`` reads the same triangle but returns the symmetric
  gradient: it is the symmetric part of funcgrad's, and the two agree on every symmetric
  direction (``jvp``).
- ``eigh``: derivatives need distinct eigenvalues. At a repeated eigenvalue the eigenvectors
  are not unique and their derivatives come out ``inf``/``nan``; gradients of functions of the
  eigenvalues alone stay finite (first order).
- ``inv``, ``solve``, ``det``, ``slogdet``: derivatives at singular matrices are ``inf``/``nan``.
- ``norm``: every ``ord`` NumPy takes, for vectors and matrices. The matrix norms ``2``, ``-2``
  and ``'nuc'`` use no SVD: the singular values are the square roots of the eigenvalues of the
  Gram matrix (``A^H A`` or ``A A^H``, the smaller; also for complex matrices). The largest
  singular value is as accurate as NumPy's; a smaller one, ``s``, has a relative error near
  ``eps * (s_max / s)**2`` (fine for well-conditioned matrices, poor for nearly singular
  ones). Derivatives need the singular values in use to be simple (for ``2``: the largest, for
  ``-2``: the smallest) and, for ``-2`` and ``'nuc'``, nonzero. The 2-norm and Frobenius norm
  of zero have a zero derivative, as in PyTorch.

>>> import numpy as np
>>> import funcgrad as fg
>>> import funcgrad.numpy as fnp
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> fg.grad(lambda a: fnp.linalg.slogdet(a)[1])(a)      # inv(a).T
array([[ 0.6, -0.2],
       [-0.2,  0.4]])
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import NamedTuple

import numpy as np

from ..core.errors import ShapeError, at_user_line
from ..ops import linalg as la
from ..ops import structural as st
from . import _linalg, _math, _reductions, _shape
from ._core import asarray_or_tracer, cast, common_dtype, normalize_axes
from ._core import traced as _traced
from ._elementwise import (
    _root,
    abs,
    divide,
    greater,
    isnan,
    logical_and,
    logical_not,
    maximum,
    multiply,
    not_equal,
    power,
    subtract,
    where,
)
from ._reductions import any, max, min, sum

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "eigh", "eig", "eigvals", "norm",
           "LinAlgError", "EigResult",
           "SlogdetResult", "EighResult", "svd", "svdvals", "qr", "eigvalsh", "lstsq", "pinv",
           "matrix_power", "multi_dot", "vector_norm", "matrix_norm", "matrix_rank", "cond",
           "tensorsolve", "tensorinv", "matrix_transpose", "outer", "cross", "diagonal", "trace",
           "vecdot", "tensordot", "matmul", "SVDResult", "QRResult"]

LinAlgError = np.linalg.LinAlgError


class SlogdetResult(NamedTuple):
    """What ``slogdet`` returns on traced input (NumPy's namesake on concrete input)."""
    sign: object
    logabsdet: object


class EighResult(NamedTuple):
    """What ``eigh`` returns on traced input (NumPy's namesake on concrete input)."""
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    """What ``svd`` returns on traced input (NumPy's namesake on concrete input)."""
    U: object
    S: object
    Vh: object


class QRResult(NamedTuple):
    """What ``qr`` returns on traced input (NumPy's namesake on concrete input)."""
    Q: object
    R: object



def _as_float(*values):
    """The operands as arrays or tracers of their common dtype, integers (and bools) as
    float64; complex ones stay complex."""
    values = [asarray_or_tracer(v) for v in values]
    dtype = common_dtype(*values)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    return [cast(v, dtype) for v in values]


def _modulus(x, ord=None, matrix: bool = False):
    """A complex array's norms are those of its moduli (real), except the spectral ones,
    which take the complex matrix itself."""
    x = asarray_or_tracer(x)
    if x.dtype.kind != "c":
        return _as_float(x)[0]
    if matrix and ord in (2, -2, "nuc"):
        return x
    return abs(x)


def _adjoint(a):
    """The conjugate transpose (the transpose of a real matrix)."""
    if np.ndim(a) < 2:   # let the primitive's shape rule report it
        return a
    return la.adjoint(a)


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
    """``numpy.linalg.cholesky``: ``L`` lower triangular with ``L @ L^H == a``, for
    symmetric (complex: Hermitian) positive-definite ``a`` ``(..., n, n)``; with ``upper``,
    ``U = L^H``.

    Only the lower triangle of ``a`` is read (the upper one, with ``upper``), and of a complex
    diagonal its real part, as LAPACK does.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    if not _traced(a):
        return np.linalg.cholesky(a, upper=upper)
    (a,) = _as_float(a)
    if upper:   # U = L^H, where L L^H is the matrix of the upper triangle (lower of a^H)
        return _adjoint(la.cholesky(_adjoint(a)))
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
    w, v = la.eigh(a if UPLO == "L" else _adjoint(a))   # the upper triangle: a^H's lower
    return EighResult(w, v)


class EigResult(NamedTuple):
    """What ``eig`` returns on traced input (NumPy's namesake on concrete input)."""
    eigenvalues: object
    eigenvectors: object


def eig(a):
    """``numpy.linalg.eig``: ``(eigenvalues, eigenvectors)`` of general square matrices.

    Eigenvector ``k`` is the unit column ``eigenvectors[..., :, k]``. On traced input both
    are complex, always (as in JAX; NumPy's concrete ``eig`` gives real arrays when every
    eigenvalue is real). Derivatives need a diagonalizable matrix, and for the eigenvectors
    distinct eigenvalues; an eigenvector's phase is arbitrary, so only phase-independent
    functions of it (``abs(v)``, ``v @ inv(v)``, ...) have meaningful derivatives (as JAX's
    ``enable_eigvec_derivs``). See ``funcgrad/ops/eig.py``.

    >>> w, v = eig(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> w
    array([2., 3.])
    """
    if not _traced(a):
        return np.linalg.eig(a)
    from ..ops.eig import eig as eig_primitive
    (a,) = _as_float(a)
    w, v = eig_primitive(a)
    return EigResult(w, v)


def eigvals(a):
    """``numpy.linalg.eigvals``: the eigenvalues of general square matrices (complex when
    traced). Their derivative ``dw = diag(V^-1 dA V)`` needs only a diagonalizable matrix.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda a: fnp.real(fnp.sum(eigvals(a) ** 2)))(np.array([[1.0, 2.0],
    ...                                                               [3.0, 4.0]]))   # 2 A.T
    array([[2., 6.],
           [4., 8.]])
    """
    if not _traced(a):
        return np.linalg.eigvals(a)
    return eig(a)[0]


# ---------------------------------------------------------------------------------- norm

def _singular_values(x, row_axis: int, col_axis: int):
    """The singular values of the matrices on ``(row_axis, col_axis)``, last axis: the square
    roots of the eigenvalues of the smaller Gram matrix, ``A^H A`` or ``A A^H`` (no SVD)."""
    order = [i for i in range(np.ndim(x)) if i not in (row_axis, col_axis)]
    y = st.transpose(x, order + [row_axis, col_axis])
    m, n = np.shape(y)[-2:]
    yt = la.adjoint(y)
    gram = la.matmul(yt, y) if m >= n else la.matmul(y, yt)   # Hermitian for a complex y
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
    x = _modulus(x, ord, matrix=np.ndim(x) == 2 and axis is None or
                 isinstance(axis, tuple) and len(axis) == 2)
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


# ------------------------------------------------------------------ svd, qr, eigvalsh

def _check_matrix(who: str, a):
    if np.ndim(a) < 2:
        raise np.linalg.LinAlgError(f"{who}: {np.ndim(a)}-dimensional array given; it takes "
                                    "at least two dimensions (..., m, n)")


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """``numpy.linalg.svd``: ``(U, S, Vh)`` with ``a == U[..., :k] * S[..., None, :] @ Vh``,
    singular values ``S`` descending; with ``compute_uv=False``, ``S`` alone.

    Derivatives need distinct, nonzero singular values: the singular vectors' derivative
    divides by ``S[j]**2 - S[i]**2`` (and, for non-square matrices, by ``S``), so it is
    ``inf``/``nan`` at repeated singular values, where the vectors are not unique. A function
    of ``S`` alone (``compute_uv=False``, ``svdvals``, a sum of ``S``) has a finite gradient
    there (first order). Each pair of singular vectors has an arbitrary common sign (phase,
    for a complex ``a``: ``S`` is real, ``U`` and ``Vh`` unitary): a function that depends
    on that sign is not a function of ``a``, and only functions invariant to it
    (``U * S @ Vh``, ``U @ U^H``, ``|U|``, ...) have derivatives that match finite
    differences everywhere.

    With ``full_matrices=True`` (NumPy's default) and ``m != n``, the extra ``|m - n|``
    columns of ``U`` (or rows of ``Vh``) are any orthonormal basis of the complement of the
    others, which LAPACK picks; their derivative is the one of the gauge that turns them only
    as orthogonality to the first ``k`` forces (``U2.T @ dU2 == 0``). Functions of their span
    (``U2 @ U2.T``) are differentiated exactly; the basis itself is not a smooth function.

    ``hermitian=True`` (traced) computes the SVD of the symmetric matrix that the lower
    triangle of ``a`` defines; its vectors may differ from NumPy's by sign.

    >>> import funcgrad as fg
    >>> fg.grad(lambda a: svd(a, compute_uv=False).sum())(np.diag([3.0, 1.0]))
    array([[1., 0.],
           [0., 1.]])
    """
    if not _traced(a):
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                             hermitian=hermitian)
    (a,) = _as_float(a)
    _check_matrix("svd", a)
    if hermitian:
        a = la.symmetrize_lower(a)
    if not compute_uv:
        return la.svd(a)[1]
    return SVDResult(*la.svd(a, full_matrices))


def svdvals(x, /):
    """``numpy.linalg.svdvals``: the singular values, descending, ``(..., min(m, n))``.

    The gradient ``U @ diag(g) @ Vh`` stays finite at repeated singular values; it is the
    derivative where the singular values in use are simple.

    >>> svdvals(np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([2., 1.])
    """
    if not _traced(x):
        return np.linalg.svdvals(x)
    (x,) = _as_float(x)
    _check_matrix("svdvals", x)
    return la.svd(x)[1]


def qr(a, mode: str = "reduced"):
    """``numpy.linalg.qr``: ``(Q, R)`` with ``a == Q @ R``; ``mode`` ``'reduced'`` (``Q``
    ``(..., m, k)``, ``k = min(m, n)``), ``'complete'`` (``Q`` square) or ``'r'`` (``R`` alone);
    ``'raw'`` only on concrete input. LAPACK's signs (``R``'s diagonal may be negative).

    Derivatives, in every mode and shape, need the first ``k`` columns of ``a`` to be linearly
    independent. For wide matrices (``m < n``), ``R = [U V]`` with ``a[..., :m] = Q U`` and
    ``V = Q.T a[..., m:]``. With ``mode='complete'`` and ``m > n`` the last ``m - n`` columns
    of ``Q`` are any basis of the complement; their derivative is the minimal-rotation gauge
    (see ``svd``).

    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.round(r, 6)
    array([[-5. , -2.2],
           [ 0. ,  0.4]])
    """
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"qr: unrecognized mode {mode!r}; use 'reduced', 'complete', 'r' "
                         "or 'raw'")
    if not _traced(a):
        return np.linalg.qr(a, mode=mode)
    (a,) = _as_float(a)
    _check_matrix("qr", a)
    if mode == "raw":   # LAPACK's Householder reflectors: computed on the host, no derivative
        from ..transforms.callbacks import pure_callback
        shape = np.shape(a)
        m, n = shape[-2:]
        result = (np.zeros(shape[:-2] + (n, m), a.dtype),
                  np.zeros(shape[:-2] + (m if m < n else n,), a.dtype))
        return pure_callback(_qr_raw, result, a, vmap_method="sequential")
    q, r = la.qr(a, complete=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def _qr_raw(x):
    return np.linalg.qr(x, mode="raw")


_qr_raw.__name__ = "qr(mode='raw')"   # named so in the error that it has no derivative


def eigvalsh(a, UPLO: str = "L"):
    """``numpy.linalg.eigvalsh``: the ascending eigenvalues of the symmetric matrices that the
    triangle ``UPLO`` of ``a`` defines. Their gradient is finite at repeated eigenvalues.

    >>> eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if not _traced(a):
        return np.linalg.eigvalsh(a, UPLO=UPLO)
    return eigh(a, UPLO)[0]


# ------------------------------------------------------------- pinv, lstsq, matrix_rank

class _Unset:
    def __repr__(self):
        return "<no value>"


_UNSET = _Unset()


def _scalar_option(who: str, name: str, value):
    if value is None:
        return None
    if np.ndim(value) != 0 or _traced(value):
        raise TypeError(f"{who}: {name} must be a Python or NumPy number on traced input "
                        f"(got {type(value).__name__})")
    return float(value)


def pinv(a, rcond=None, hermitian: bool = False, *, rtol=_UNSET):
    """``numpy.linalg.pinv``: the Moore-Penrose pseudo-inverse ``(..., n, m)``, NumPy's values
    (singular values at or below ``rcond`` (or ``rtol``) times the largest count as zero).

    The derivative is Golub and Pereyra's, the derivative of the pseudo-inverse where the rank
    is locally constant: exact for full-rank matrices and for a rank that the cutoff leaves
    unchanged under small perturbations (it does not see singular values crossing the
    cutoff, where the pseudo-inverse jumps). No SVD enters the derivative, so it stays finite
    at repeated singular values. ``hermitian=True`` reads the lower triangle of ``a``.
    ``rcond`` and ``rtol`` are numbers on traced input.

    >>> import funcgrad as fg
    >>> fg.grad(lambda a: pinv(a).sum())(np.array([[2.0]]))
    array([[-0.25]])
    """
    if not _traced(a):
        if rtol is _UNSET:
            return np.linalg.pinv(a, rcond, hermitian)
        return np.linalg.pinv(a, rcond, hermitian, rtol=rtol)
    (a,) = _as_float(a)
    _check_matrix("pinv", a)
    rcond = _scalar_option("pinv", "rcond", rcond)
    rtol = "unset" if rtol is _UNSET else _scalar_option("pinv", "rtol", rtol)
    if hermitian:
        la._square(a, "pinv's matrix", "fc")
        a = la.symmetrize_lower(a)
    return la.pinv(a, rcond, rtol, hermitian)


def _default_rtol(a):
    return builtins.max(np.shape(a)[-2:]) * np.finfo(a.dtype).eps


def matrix_rank(A, tol=None, hermitian: bool = False, *, rtol=None):
    """``numpy.linalg.matrix_rank``: how many singular values exceed ``tol`` (by default
    ``rtol`` times the largest, ``rtol = max(m, n) * eps``). An integer: no derivative.

    >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    if not _traced(A, tol, rtol):
        return np.linalg.matrix_rank(A, tol, hermitian, rtol=rtol)
    (A,) = _as_float(A)
    if np.ndim(A) < 2:
        return _reductions.any(not_equal(A, 0)).astype(np.int64)
    values = abs(eigvalsh(A)) if hermitian else svdvals(A)
    if tol is None:
        rtol = _default_rtol(A) if rtol is None else _shape.expand_dims(rtol, -1)
        tol = multiply(max(values, axis=-1, keepdims=True), rtol)
    else:
        tol = _shape.expand_dims(tol, -1)
    return sum(greater(values, tol), axis=-1).astype(np.int64)


def lstsq(a, b, rcond=None):
    """``numpy.linalg.lstsq``: ``(x, residuals, rank, s)`` with ``x`` the minimum-norm
    least-squares solution of ``a @ x ~= b``, for ``a`` ``(m, n)`` and ``b`` ``(m,)`` or
    ``(m, k)`` (two dimensions, as in NumPy: ``vmap`` batches it). ``rcond``'s cutoff, as in
    NumPy, is ``rcond * max(s)`` with ``rcond = eps * max(m, n)`` by default.

    ``x`` is ``pinv(a, rcond) @ b``; its derivative is exact for full-rank problems (and for
    any rank that the cutoff keeps under small perturbations: see ``pinv``). ``residuals``,
    the squared 2-norms of the columns of ``b - a @ x``, differentiate along with ``x``;
    ``rank`` is an integer (no derivative); ``s`` are ``a``'s singular values (``svdvals``).

    On traced input the rank is not known while tracing, so ``residuals`` follow from the
    shape alone: computed (shape ``(k,)``, ``(1,)`` for a vector ``b``) when ``m > n``, empty
    ``(0,)`` otherwise. NumPy also returns them empty for a rank-deficient tall ``a``.

    >>> x, residuals, rank, s = lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    >>> x, residuals, int(rank)
    (array([2.]), array([2.]), 1)
    """
    if not _traced(a, b):
        return np.linalg.lstsq(a, b, rcond=rcond)
    a, b = _as_float(a, b)
    if np.ndim(a) != 2 or np.ndim(b) not in (1, 2):
        raise np.linalg.LinAlgError(f"lstsq: a must be 2-d and b 1-d or 2-d, got shapes "
                                    f"{np.shape(a)} and {np.shape(b)}")
    m, n = np.shape(a)
    if np.shape(b)[0] != m:
        raise np.linalg.LinAlgError(f"lstsq: incompatible dimensions: a {np.shape(a)} and b "
                                    f"{np.shape(b)}")
    rcond = _default_rtol(a) if rcond is None else _scalar_option("lstsq", "rcond", rcond)
    x = _linalg.matmul(la.pinv(a, rcond, "unset", False), b)
    s = svdvals(a)
    rank = sum(greater(s, multiply(max(s), rcond))).astype(np.int32)
    if m > n:
        error = subtract(b, _linalg.matmul(a, x))
        if error.dtype.kind == "c":   # |e|^2 from the parts: smooth at e = 0, as e * e is
            error = _math.real(error) * _math.real(error) + _math.imag(error) * _math.imag(error)
        else:
            error = error * error
        residuals = sum(error, axis=0)
        if np.ndim(b) == 1:
            residuals = _shape.reshape(residuals, (1,))
    else:
        residuals = np.zeros((0,), s.dtype)
    return x, residuals, rank, s


# ----------------------------------------------------------------- products and powers

def matrix_power(a, n):
    """``numpy.linalg.matrix_power``: ``a @ a @ ... @ a`` (``n`` factors) for an integer
    ``n``; ``n = 0`` gives identities (zero derivative), ``n < 0`` powers of ``inv(a)``.
    Products by repeated squaring, in NumPy's order; integer matrices stay integer for
    ``n >= 0``.

    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
    array([[1., 3.],
           [0., 1.]])
    """
    if not _traced(a):
        return np.linalg.matrix_power(a, n)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("matrix_power: the exponent must be an integer") from None
    a = asarray_or_tracer(a)
    if np.ndim(a) < 2 or np.shape(a)[-1] != np.shape(a)[-2]:
        raise np.linalg.LinAlgError(f"matrix_power: a must be a stack of square matrices, got "
                                    f"shape {np.shape(a)}")
    if n == 0:
        return _shape.broadcast_to(np.eye(np.shape(a)[-1], dtype=a.dtype), np.shape(a))
    if n < 0:
        a, n = inv(a), -n
    if n == 1:
        return a
    if n == 2:
        return _linalg.matmul(a, a)
    if n == 3:
        return _linalg.matmul(_linalg.matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else _linalg.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else _linalg.matmul(result, z)
    return result


def _chain_order(shapes):
    """The cheapest parenthesization of a chain of matrices of ``shapes`` ``(p_i, p_i+1)``:
    ``split[i][j]`` is where the product of matrices ``i..j`` splits (dynamic programming)."""
    dims = [shapes[0][0]] + [shape[1] for shape in shapes]
    count = len(shapes)
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                total = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or total < cost[i][j]:
                    cost[i][j], split[i][j] = total, k
    return split


def multi_dot(arrays, *, out=None):
    """``numpy.linalg.multi_dot``: the product of a chain of matrices, multiplied in the
    cheapest order; the first may be a 1-d row and the last a 1-d column.

    >>> multi_dot([np.ones(2), np.eye(2), np.ones(2)])
    array(2.)
    """
    if not _traced(*arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("multi_dot: out= cannot receive traced values; use the return value")
    arrays = _linalg._promote(*arrays)
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    first_vector, last_vector = np.ndim(arrays[0]) == 1, np.ndim(arrays[-1]) == 1
    if first_vector:
        arrays[0] = _shape.reshape(arrays[0], (1, np.shape(arrays[0])[0]))
    if last_vector:
        arrays[-1] = _shape.reshape(arrays[-1], (np.shape(arrays[-1])[0], 1))
    for x in arrays:
        if np.ndim(x) != 2:
            raise ValueError(f"multi_dot: {np.ndim(x)}-dimensional array given; the arrays "
                             "must be 2-d (the first and last may be 1-d)")
    split = _chain_order([np.shape(x) for x in arrays])

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return _linalg.matmul(product(i, k), product(k + 1, j))

    result = product(0, len(arrays) - 1)
    if first_vector and last_vector:
        return _shape.reshape(result, ())
    if first_vector or last_vector:
        return _shape.reshape(result, (np.shape(result)[1 if first_vector else 0],))
    return result


# ------------------------------------------------------------------------------ norms

def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """``numpy.linalg.vector_norm``: the ``ord``-norm over ``axis`` (an int, a tuple of axes
    taken as one flattened vector, or ``None``: all of them). ``ord`` as for ``norm``'s
    vectors; the same derivatives.

    >>> vector_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array(5.)
    """
    if not _traced(x):
        return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    x = _modulus(x)
    ndim, shape = np.ndim(x), np.shape(x)
    axes = normalize_axes(axis, ndim, "vector_norm")
    kept = [i for i in range(ndim) if i not in axes]
    y = st.transpose(x, kept + list(axes))
    y = st.reshape(y, [shape[i] for i in kept] + [int(math.prod([shape[i] for i in axes]))])
    result = _vector_norm(y, ord, len(kept), False)
    if keepdims:
        result = st.reshape(result, [1 if i in axes else s for i, s in enumerate(shape)])
    return result


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """``numpy.linalg.matrix_norm``: ``norm(x, ord, axis=(-2, -1), keepdims)``, for stacks of
    matrices (the same orders and derivatives as ``norm``).

    >>> matrix_norm(np.eye(2), ord=1)
    array(1.)
    """
    if not _traced(x):
        return np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)
    _check_matrix("matrix_norm", x)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def cond(x, p=None):
    """``numpy.linalg.cond``: the condition number of each matrix.

    ``p`` ``None``/``2`` (``s_max / s_min``) and ``-2`` (its inverse) use the singular values
    (``svdvals``; finite gradients, exact where ``s_max`` and ``s_min`` are simple); the other
    orders (``'fro'``, ``'nuc'``, ``1``, ``-1``, ``inf``, ``-inf``) are
    ``norm(x, p) * norm(inv(x), p)`` for square matrices, differentiable where those norms
    are. As in NumPy, a ``nan`` from a singular matrix (not from a ``nan`` in ``x``) is
    ``inf``; on traced input, ``inv`` of an exactly singular matrix raises ``LinAlgError``.

    >>> cond(np.diag([4.0, 2.0]))
    array(2.)
    """
    if not _traced(x):
        return np.linalg.cond(x, p)
    (x,) = _as_float(x)
    _check_matrix("cond", x)
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        k = np.shape(s)[-1]
        largest, smallest = st.slice_along(s, np.ndim(s) - 1, 0, 1), \
            st.slice_along(s, np.ndim(s) - 1, k - 1, k)
        r = divide(smallest, largest) if p == -2 else divide(largest, smallest)
        r = _shape.reshape(r, np.shape(r)[:-1])
    else:
        la._square(x, "cond's matrix", "fc")
        r = multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))
    singular = logical_and(isnan(r), logical_not(any(isnan(x), axis=(-2, -1))))
    return where(singular, np.inf, r)


# ------------------------------------------------------------------ tensor equations

def tensorsolve(a, b, axes=None):
    """``numpy.linalg.tensorsolve``: ``x`` with ``tensordot(a, x, x.ndim) == b``, a ``solve``
    of ``a`` reshaped to a square matrix (its derivatives).

    >>> tensorsolve(np.eye(4).reshape(4, 2, 2), np.arange(4.0)).shape
    (2, 2)
    """
    if not _traced(a, b):
        return np.linalg.tensorsolve(a, b, axes)
    a, b = _as_float(a, b)
    ndim = np.ndim(a)
    if axes is not None:
        order = list(range(ndim))
        for k in axes:
            order.remove(k)
            order.insert(ndim, k)
        a = st.transpose(a, order)
    solution_shape = tuple(np.shape(a)[-(ndim - np.ndim(b)):])
    size = int(math.prod(solution_shape))
    if int(math.prod(np.shape(a))) != size * size:
        raise np.linalg.LinAlgError(
            f"tensorsolve: a {np.shape(a)} is not square once b's axes {np.shape(b)} are "
            "taken for its rows")
    x = solve(st.reshape(a, (size, size)), st.reshape(b, (size,)))
    return st.reshape(x, solution_shape)


def tensorinv(a, ind: int = 2):
    """``numpy.linalg.tensorinv``: the inverse of ``a`` taken as a map from its first ``ind``
    axes to the others, of shape ``a.shape[ind:] + a.shape[:ind]`` (``inv``'s derivatives).

    >>> tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    if not _traced(a):
        return np.linalg.tensorinv(a, ind)
    (a,) = _as_float(a)
    if ind <= 0:
        raise ValueError("tensorinv: invalid ind argument (must be positive)")
    shape = np.shape(a)
    rows = int(math.prod(shape[ind:]))
    if int(math.prod(shape)) != rows * rows:
        raise np.linalg.LinAlgError(f"tensorinv: a {shape} is not square with ind={ind}")
    return st.reshape(la.inv(st.reshape(a, (rows, rows))), shape[ind:] + shape[:ind])


# ------------------------------------------------- NumPy 2's array-API names in linalg

def matrix_transpose(x, /):
    """``numpy.linalg.matrix_transpose``: swap the last two axes.

    >>> matrix_transpose(np.ones((2, 3))).shape
    (3, 2)
    """
    if not _traced(x):
        return np.linalg.matrix_transpose(x)
    if np.ndim(x) < 2:
        raise ValueError(f"matrix_transpose: input must be at least 2-d, got shape "
                         f"{np.shape(x)}")
    return la.matrix_transpose(x)


def outer(x1, x2, /):
    """``numpy.linalg.outer``: the outer product of two vectors (1-d only, unlike
    ``numpy.outer``).

    >>> outer(np.ones(2), np.ones(3)).shape
    (2, 3)
    """
    if not _traced(x1, x2):
        return np.linalg.outer(x1, x2)
    if np.ndim(x1) != 1 or np.ndim(x2) != 1:
        raise ValueError(f"outer: input arrays must be one-dimensional, got shapes "
                         f"{np.shape(x1)} and {np.shape(x2)}")
    return _linalg.outer(x1, x2)


def cross(x1, x2, /, *, axis: int = -1):
    """``numpy.linalg.cross``: cross products of 3-vectors along ``axis``.

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if not _traced(x1, x2):
        return np.linalg.cross(x1, x2, axis=axis)
    if np.shape(x1)[axis] != 3 or np.shape(x2)[axis] != 3:
        raise ValueError(f"cross: both inputs must be 3-vectors along axis {axis}, got shapes "
                         f"{np.shape(x1)} and {np.shape(x2)}")
    return _math.cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset: int = 0):
    """``numpy.linalg.diagonal``: the diagonals of the last two axes.

    >>> diagonal(np.eye(2))
    array([1., 1.])
    """
    if not _traced(x):
        return np.linalg.diagonal(x, offset=offset)
    return _shape.diagonal(x, offset, -2, -1)


def trace(x, /, *, offset: int = 0, dtype=None):
    """``numpy.linalg.trace``: the traces over the last two axes.

    >>> trace(np.eye(3))
    array(3.)
    """
    if not _traced(x):
        return np.linalg.trace(x, offset=offset, dtype=dtype)
    return _reductions.trace(x, offset, -2, -1, dtype)


def vecdot(x1, x2, /, *, axis: int = -1):
    """``numpy.linalg.vecdot``: dot products along ``axis``, broadcasting the others (real
    arrays: no conjugate).

    >>> vecdot(np.ones((2, 3)), np.arange(3.0))
    array([3., 3.])
    """
    if not _traced(x1, x2):
        return np.linalg.vecdot(x1, x2, axis=axis)
    x1, x2 = _linalg._promote(x1, x2)
    if np.shape(x1)[axis] != np.shape(x2)[axis]:
        raise ValueError(f"vecdot: shapes {np.shape(x1)} and {np.shape(x2)} differ along "
                         f"axis {axis}")
    return sum(multiply(x1, x2), axis=axis)


def tensordot(x1, x2, /, *, axes=2):
    """``numpy.linalg.tensordot``: ``numpy.tensordot`` with keyword ``axes``.

    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    return _linalg.tensordot(x1, x2, axes)


def matmul(x1, x2, /):
    """``numpy.linalg.matmul``: ``x1 @ x2`` (``numpy.matmul`` without ``out``).

    >>> matmul(np.eye(2), np.ones(2))
    array([1., 1.])
    """
    return _linalg.matmul(x1, x2)
