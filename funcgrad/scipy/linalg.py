"""``funcgrad.scipy.linalg``: the names and semantics of ``jax.scipy.linalg``.

``solve_triangular cho_factor cho_solve cholesky lu lu_factor lu_solve block_diag expm sqrtm``,
``inv det solve eigh`` (``funcgrad.numpy.linalg``'s, with SciPy's signatures), the
decompositions ``qr svd polar hessenberg schur rsf2csf qr_multiply`` and ``solve_sylvester
eigh_tridiagonal expm_frechet funm`` (``funcgrad/scipy/_decompositions.py``), and the special
matrices ``toeplitz hankel circulant companion leslie fiedler fiedler_companion
convolution_matrix hadamard helmert hilbert invhilbert pascal invpascal dft``
(``funcgrad/scipy/_special_matrices.py``). Every function but ``schur``, ``rsf2csf`` and
``funm`` (concrete values, through SciPy) is a composition of funcgrad's primitives, so it is
differentiable to any order and works under ``jit`` and ``vmap``; matrices may carry leading
batch axes ``(..., n, n)`` (but ``block_diag``, which takes 2-d blocks as SciPy does, and the
2-d functions ``qr_multiply``, ``solve_sylvester``, ``eigh_tridiagonal``). Integer inputs
compute in float64, float32 stays float32. Complex arrays: ``solve_triangular`` (``trans``
2/'C' solves ``a^H x = b``, as in ``lu_solve``), ``lu lu_factor lu_solve`` (LAPACK's
pivots: the largest ``|Re| + |Im|``), ``cholesky cho_factor cho_solve eigh`` (Hermitian),
``inv det solve`` (``assume_a`` but 'sym'), ``sqrtm expm
expm_frechet qr svd polar hessenberg schur qr_multiply solve_sylvester`` and the
constructors. SciPy is needed only by ``schur`` and ``funm``.

How each is built, and where its derivative holds:

- ``solve_triangular``, ``cholesky``, ``cho_factor``, ``cho_solve``: the ``triangular_solve``
  and ``cholesky`` primitives. As in LAPACK, only the triangle named by ``lower`` is read.
  ``cho_factor`` returns the factor with zeros in the other triangle (SciPy leaves whatever was
  there; JAX zeros it too).
- ``lu``, ``lu_factor``, ``lu_solve``: partial pivoting (the largest ``|entry|`` of the column,
  as LAPACK's ``getrf``) is the ``lu_pivots`` primitive, whose integer result has no
  derivative: it is piecewise constant. The factors of the interchanged matrix come from a
  Doolittle elimination written in funcgrad's ops, so ``L`` and ``U`` differentiate exactly
  wherever the pivot order does not change (it changes where two candidate pivots are equal
  in magnitude; there the factorization itself jumps). Matrices may be rectangular.
- ``expm``: scaling and squaring with the [13/13] Padé approximant (Higham, 2005): the
  scaling ``s = max(0, ceil(log2(|A|_1 / 5.37)))`` is piecewise constant, and up to
  ``_MAX_SQUARINGS = 24`` squarings are selected per matrix, so one program serves every
  matrix (matrices with ``|A|_1 > 5.37 * 2**24`` are not scaled enough and lose accuracy).
- ``sqrtm``: the principal square root by the Denman-Beavers iteration with determinant
  scaling (Higham, 1986), a fixed ``_SQRTM_ITERATIONS = 24`` steps of ``inv`` and ``slogdet``.
  Its domain is a real or complex matrix with no eigenvalue on the closed negative real
  axis (a real one's principal root is real); the derivative is that of the root (the limit
  of the iterates' derivatives). SciPy returns a complex root for real matrices with a
  negative eigenvalue; funcgrad's iterates (also of such a matrix cast to complex) stay real
  and do not converge there.

>>> import numpy as np
>>> import funcgrad as fg
>>> rotation = np.array([[0.0, 1.0], [-1.0, 0.0]])
>>> round(float(fg.grad(lambda t: expm(t * rotation)[0, 0])(0.5)), 12)     # -sin(0.5)
-0.479425538604
"""
from __future__ import annotations

import math

import numpy as np

from .. import numpy as fnp
from ..core.trace import Tracer
from ..lax import stop_gradient as _stop_gradient
from ..ops import linalg as _la
from ._decompositions import (
    eigh_tridiagonal,
    expm_frechet,
    funm,
    hessenberg,
    polar,
    qr,
    qr_multiply,
    rsf2csf,
    schur,
    solve_sylvester,
    svd,
)
from ._special_matrices import (
    circulant,
    companion,
    convolution_matrix,
    dft,
    fiedler,
    fiedler_companion,
    hadamard,
    hankel,
    helmert,
    hilbert,
    invhilbert,
    invpascal,
    leslie,
    pascal,
    toeplitz,
)

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm", "inv",
           "lu", "lu_factor", "lu_solve", "solve", "solve_triangular", "sqrtm",
           "eigh_tridiagonal", "expm_frechet", "funm", "hessenberg", "polar", "qr",
           "qr_multiply", "rsf2csf", "schur", "solve_sylvester", "svd",
           "circulant", "companion", "convolution_matrix", "dft", "fiedler",
           "fiedler_companion", "hadamard", "hankel", "helmert", "hilbert", "invhilbert",
           "invpascal", "leslie", "pascal", "toeplitz"]


def _float(x, who: str = "funcgrad.scipy.linalg", complex_ok: bool = False):
    """A tracer or a NumPy array of a floating dtype (integers and bools become float64);
    complex ones only with ``complex_ok``, a TypeError naming ``who`` otherwise."""
    x = x if type(x) is Tracer else np.asarray(x)
    if x.dtype.kind == "f" or complex_ok and x.dtype.kind == "c":
        return x
    if x.dtype.kind == "c":
        raise TypeError(f"{who}: this function takes real arrays (the complex ones are "
                        "taken by solve_triangular, lu, lu_factor, lu_solve, cholesky, "
                        "cho_factor, cho_solve, eigh, "
                        "inv, det, solve, sqrtm, expm, expm_frechet, qr, svd, polar, "
                        "hessenberg, "
                        "schur, qr_multiply and solve_sylvester)")
    return fnp.astype(x, np.float64)


def _matrix(who: str, a, square: bool = True, complex_ok: bool = False):
    """``a`` as a floating stack of (square) matrices; a ValueError naming ``who`` otherwise."""
    a = _float(a, who, complex_ok)
    if a.ndim < 2 or square and a.shape[-1] != a.shape[-2]:
        kind = "square matrices (..., n, n)" if square else "matrices (..., m, n)"
        raise ValueError(f"{who}: the argument a must be {kind}, got shape {a.shape}")
    return a


def _transpose(a):
    return fnp.swapaxes(a, -1, -2)


def _with_right_hand_side(who: str, a, b, solver):
    """``solver(a, b)`` for ``b`` one vector ``(n,)`` or a stack ``(..., n, k)`` whose leading
    axes broadcast against those of ``a`` (the primitives take equal leading axes); ``b`` may
    be complex (with a real ``a`` the solvers' real factors apply to it unchanged)."""
    b = _float(b, who, complex_ok=True)
    dtype = np.result_type(a.dtype, b.dtype)
    a, b = fnp.astype(a, dtype), fnp.astype(b, dtype)
    n = a.shape[-1]
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (b.shape[0], 1))
    if b.ndim < 2 or b.shape[-2] != n:
        raise ValueError(f"{who}: b must have shape (n,) or (..., n, k) with n = {n} to match "
                         f"a {a.shape}, got {b.shape if not vector else (b.shape[0],)}")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"{who}: the leading (batch) axes of a {a.shape} and b {b.shape} do "
                         "not broadcast") from None
    x = solver(fnp.broadcast_to(a, batch + a.shape[-2:]), fnp.broadcast_to(b, batch + b.shape[-2:]))
    return fnp.reshape(x, x.shape[:-1]) if vector else x


_TRANS = {0: "N", "N": "N", 1: "T", "T": "T", 2: "C", "C": "C"}


def _trans_code(who: str, trans) -> str:
    """SciPy's ``trans`` as 'N' (``a x = b``), 'T' (``a^T x = b``) or 'C' (``a^H x = b``)."""
    if isinstance(trans, bool) or not isinstance(trans, (int, str)) or trans not in _TRANS:
        raise ValueError(f"{who}: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return _TRANS[trans]


def _conj(a):
    return fnp.conj(a) if a.dtype.kind == "c" else a


def _unit_diagonal(a):
    return fnp.where(np.eye(a.shape[-1], dtype=bool), fnp.ones((), a.dtype), a)


# -------------------------------------------------------------------- triangular solves

def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.solve_triangular``: ``x`` with ``a @ x == b`` for triangular ``a``.

    Only the triangle of ``a`` named by ``lower`` is read (with ``unit_diagonal``, not even
    its diagonal, taken as ones). ``trans`` 1 or 'T' solves ``a.T @ x == b``, 2 or 'C'
    ``a^H @ x == b`` (the same for real ``a``). ``a`` and ``b`` may be complex (JAX's
    derivative convention). ``b``: ``(n,)`` or ``(..., n, k)``. ``overwrite_b`` and
    ``check_finite`` are accepted and ignored, as in JAX.

    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    code = _trans_code("solve_triangular", trans)
    a = _matrix("solve_triangular", a, complex_ok=True)
    if unit_diagonal:
        a = _unit_diagonal(a)
    if code == "C" and a.dtype.kind == "c":   # a^H x = b: conj(a)^T x = b
        a = fnp.conj(a)
    return _with_right_hand_side("solve_triangular", a, b, lambda a, b: _la.triangular_solve(
        a, b, bool(lower), code != "N"))


def cholesky(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.cholesky``: the upper factor ``U`` (``U^H @ U == a``) of symmetric
    (Hermitian) positive-definite ``a``, or the lower one ``L`` (``L @ L^H == a``) with
    ``lower``.

    Only that triangle of ``a`` is read (of a complex diagonal, the real part). Note SciPy's
    default is the *upper* factor (NumPy's is the lower one).

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 1.],
           [0., 2.]])
    """
    a = _matrix("cholesky", a, complex_ok=True)
    if lower:
        return _la.cholesky(a)
    return _la.adjoint(_la.cholesky(_la.adjoint(a)))   # the upper triangle: a^H's lower


def cho_factor(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.cho_factor``: ``(c, lower)`` for ``cho_solve``, ``c`` the Cholesky
    factor of ``a`` (upper by default). The other triangle of ``c`` is zero (SciPy leaves
    arbitrary values there; neither function reads it).

    >>> c, low = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]), lower=True)
    >>> c, low
    (array([[2., 0.],
           [1., 2.]]), True)
    """
    return cholesky(a, lower=lower), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.cho_solve``: ``x`` with ``a @ x == b`` from ``(c, lower) = cho_factor(a)``.

    >>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
    >>> cho_solve(cho_factor(a), np.array([6.0, 7.0]))
    array([1., 1.])
    """
    try:
        c, lower = c_and_lower
    except (TypeError, ValueError):
        raise ValueError("cho_solve: c_and_lower must be the pair (c, lower) that cho_factor "
                         "returns") from None
    c = _matrix("cho_solve", c, complex_ok=True)
    lower = bool(lower)

    def solver(c, b):
        # lower: a = L L^H, x = L^{-H} L^{-1} b; upper: a = U^H U, x = U^{-1} U^{-H} b. The
        # conjugate transposed solve is a transposed one of conj(c).
        y = _la.triangular_solve(_conj(c) if not lower else c, b, lower, not lower)
        return _la.triangular_solve(_conj(c) if lower else c, y, lower, lower)
    return _with_right_hand_side("cho_solve", c, b, solver)


# ------------------------------------------------------------------------------------ LU

def _one_hot_rows(order, dtype):
    """The permutation matrix ``Q`` with ``Q @ x == x[..., order, :]`` (no derivative)."""
    size = order.shape[-1]
    return fnp.astype(fnp.equal(fnp.expand_dims(order, -1), np.arange(size, dtype=np.int32)),
                      dtype)


def _doolittle(a):
    """``(L, U)`` with ``L @ U == a`` by elimination without interchanges (the pivots are
    already in place): ``L`` ``(..., m, K)`` unit lower, ``U`` ``(..., K, n)`` upper."""
    m, n = a.shape[-2:]
    rows, columns = np.arange(m), np.arange(n)
    one = fnp.ones((), a.dtype)
    lower_columns, upper_rows = [], []
    for k in range(min(m, n)):
        pivot = a[..., k, k]
        # A zero pivot has a zero column below it (partial pivoting): no multipliers then.
        safe = fnp.where(pivot == 0, one, pivot)
        multipliers = fnp.where(rows > k, a[..., :, k] / fnp.expand_dims(safe, -1), 0 * one)
        row = fnp.where(columns >= k, a[..., k, :], 0 * one)
        a = a - fnp.expand_dims(multipliers, -1) * fnp.expand_dims(row, -2)
        lower_columns.append(fnp.where(rows == k, one, multipliers))
        upper_rows.append(row)
    return fnp.stack(lower_columns, axis=-1), fnp.stack(upper_rows, axis=-2)


def _pivoted_factors(who: str, a):
    """``(order, L, U)`` with ``a[..., order, :] == L @ U``, and the pivots."""
    a = _matrix(who, a, square=False, complex_ok=True)
    pivots = _la.lu_pivots(a)
    order = _la.lu_permutation(pivots, a.shape[-2])
    low, up = _doolittle(fnp.matmul(_one_hot_rows(order, a.dtype), a))
    return order, low, up, pivots


def lu(a, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True,
       p_indices: bool = False):
    """``scipy.linalg.lu``: ``(p, l, u)`` with ``a == p @ l @ u`` by partial pivoting.

    ``a`` ``(..., m, n)``; ``l`` ``(..., m, K)`` unit lower triangular, ``u`` ``(..., K, n)``
    upper, ``K = min(m, n)``; ``p`` the ``(..., m, m)`` permutation matrix, or with
    ``p_indices`` the rows ``p`` (int32) with ``a == l[p] @ u``. With ``permute_l``: ``(p @ l,
    u)``. ``l`` and ``u`` are differentiable where the pivot order is locally constant (see
    the module's notes); ``p`` has a zero derivative.

    >>> p, l, u = lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> p
    array([[0., 1.],
           [1., 0.]])
    >>> u
    array([[3.        , 4.        ],
           [0.        , 0.66666667]])
    """
    order, low, up, _ = _pivoted_factors("lu", a)
    rows_of_a = _one_hot_rows(order, low.dtype)          # rows_of_a @ a == l @ u
    if permute_l:
        return fnp.matmul(_transpose(rows_of_a), low), up
    if p_indices:
        return fnp.astype(fnp.argmax(rows_of_a, axis=-2), np.int32), low, up
    return _transpose(rows_of_a), low, up


def lu_factor(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.lu_factor``: ``(lu, piv)``, LAPACK's packed factorization.

    ``lu`` ``(..., m, n)`` holds ``U`` in its upper triangle and ``L`` (unit diagonal not
    stored) below it; ``piv`` (int32 ``(..., K)``): row ``i`` was interchanged with row
    ``piv[i]``, in order, as SciPy's (0-based). Derivatives as ``lu``'s; ``piv`` has none.

    >>> packed, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> packed, piv
    (array([[3.        , 4.        ],
           [0.33333333, 0.66666667]]), array([1, 1], dtype=int32))
    """
    _, low, up, pivots = _pivoted_factors("lu_factor", a)
    m, n = low.shape[-2], up.shape[-1]
    if m > n:      # pad U (n, n) with zero rows to (m, n)
        up = fnp.concatenate([up, fnp.zeros(up.shape[:-2] + (m - n, n), up.dtype)], axis=-2)
    elif n > m:    # pad L (m, m) with zero columns to (m, n)
        low = fnp.concatenate([low, fnp.zeros(low.shape[:-2] + (m, n - m), low.dtype)], axis=-1)
    strictly_lower = np.tri(m, n, -1, dtype=bool)
    return fnp.where(strictly_lower, low, up), pivots


def lu_solve(lu_and_piv, b, trans=0, overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.lu_solve``: ``x`` with ``a @ x == b`` (``a^T @ x == b`` for ``trans``
    1/'T', ``a^H @ x == b`` for 2/'C') from ``(lu, piv) = lu_factor(a)``, for square ``a``
    (real or complex).

    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> lu_solve(lu_factor(a), np.array([5.0, 11.0]))
    array([1., 2.])
    """
    try:
        packed, pivots = lu_and_piv
    except (TypeError, ValueError):
        raise ValueError("lu_solve: lu_and_piv must be the pair (lu, piv) that lu_factor "
                         "returns") from None
    code = _trans_code("lu_solve", trans)
    transpose = code != "N"
    packed = _matrix("lu_solve", packed, complex_ok=True)
    if code == "C":   # a^H x = b: the factors of conj(a) are the conjugates of a's
        packed = _conj(packed)
    pivots = pivots if type(pivots) is Tracer else np.asarray(pivots)
    n = packed.shape[-1]
    if pivots.shape != packed.shape[:-1]:
        raise ValueError(f"lu_solve: piv must have shape {packed.shape[:-1]} to match lu "
                         f"{packed.shape}, got {pivots.shape}")
    order = _la.lu_permutation(pivots, n)

    def solver(packed, b):
        rows_of_a = _one_hot_rows(order, packed.dtype)
        low = fnp.where(np.tri(n, n, -1, dtype=bool), packed, np.eye(n, dtype=packed.dtype))
        # rows_of_a @ a == L U: a x = b is L U x = rows_of_a b; a^T x = b is
        # U^T L^T (rows_of_a x) = b.
        batch = packed.shape[:-2]
        rows = fnp.broadcast_to(rows_of_a, batch + (n, n))
        unit = fnp.broadcast_to(low, batch + (n, n))
        if not transpose:
            y = _la.triangular_solve(unit, fnp.matmul(rows, b), True, False)
            return _la.triangular_solve(packed, y, False, False)
        y = _la.triangular_solve(packed, b, False, True)
        return fnp.matmul(_transpose(rows), _la.triangular_solve(unit, y, True, True))
    return _with_right_hand_side("lu_solve", packed, b, solver)


# --------------------------------------------------------------------------- block_diag

def block_diag(*arrs):
    """``scipy.linalg.block_diag``: the blocks ``arrs`` along the diagonal of one matrix.

    Each block is 2-d (a 1-d one is a row ``(1, n)``, a scalar ``(1, 1)``), the result has
    their common dtype, zeros off the blocks; no blocks give shape ``(1, 0)``.

    >>> block_diag(np.array([[1.0, 2.0]]), 3.0)
    array([[1., 2., 0.],
           [0., 0., 3.]])
    """
    if not arrs:
        return np.zeros((1, 0))
    blocks = []
    for i, block in enumerate(arrs):
        block = block if type(block) is Tracer else np.asarray(block)
        if block.ndim > 2:
            raise ValueError(f"block_diag: argument {i} has {block.ndim} dimensions; the "
                             "blocks must have at most 2")
        blocks.append(fnp.reshape(block, (1,) * (2 - block.ndim) + block.shape))
    dtype = np.result_type(*[b.dtype for b in blocks])
    width = sum(b.shape[1] for b in blocks)
    rows, start = [], 0
    for block in blocks:
        r, c = block.shape
        parts = [fnp.zeros((r, start), dtype), fnp.astype(block, dtype),
                 fnp.zeros((r, width - start - c), dtype)]
        rows.append(fnp.concatenate(parts, axis=1))
        start += c
    return fnp.concatenate(rows, axis=0)


# --------------------------------------------------------------------------------- expm

_PADE_ORDER = 13
_THETA_13 = 5.371920351148152      # the largest |A|_1 for which [13/13] is accurate in float64
_MAX_SQUARINGS = 24


def _pade_coefficients(m: int):
    """The coefficients ``c_j = (2m - j)! m! / ((2m)! j! (m - j)!)`` of the [m/m] Padé
    approximant's numerator ``sum c_j A^j`` (its denominator has ``(-1)^j c_j``)."""
    f = math.factorial
    return [f(2 * m - j) * f(m) / (f(2 * m) * f(j) * f(m - j)) for j in range(m + 1)]


def _pade13(a):
    """``(P, Q)``, numerator and denominator of the [13/13] approximant: ``P = V + U`` and
    ``Q = V - U`` with ``U`` the odd powers, ``V`` the even ones (in six products)."""
    c = _pade_coefficients(_PADE_ORDER)
    eye = np.eye(a.shape[-1], dtype=a.dtype)
    a2 = fnp.matmul(a, a)
    a4 = fnp.matmul(a2, a2)
    a6 = fnp.matmul(a4, a2)
    odd = fnp.matmul(a6, c[13] * a6 + c[11] * a4 + c[9] * a2) \
        + c[7] * a6 + c[5] * a4 + c[3] * a2 + c[1] * eye
    odd = fnp.matmul(a, odd)
    even = fnp.matmul(a6, c[12] * a6 + c[10] * a4 + c[8] * a2) \
        + c[6] * a6 + c[4] * a4 + c[2] * a2 + c[0] * eye
    return even + odd, even - odd


def expm(A):
    """``scipy.linalg.expm``: the matrix exponential of ``A`` ``(..., n, n)``, real or complex.

    Scaling and squaring with the [13/13] Padé approximant (see the module's notes); every
    step is a funcgrad op, so the derivative is that of the approximation, which is the
    exponential's to rounding.

    >>> expm(np.array([[0.0, 1.0], [0.0, 0.0]]))
    array([[1., 1.],
           [0., 1.]])
    """
    a = _matrix("expm", A, complex_ok=True)
    batch = a.shape[:-2]
    norm = fnp.max(fnp.sum(fnp.abs(_stop_gradient(a)), axis=-2), axis=-1)
    tiny = np.finfo(a.dtype).tiny
    squarings = fnp.clip(fnp.ceil(fnp.log2(fnp.maximum(norm, tiny) / _THETA_13)),
                         0, _MAX_SQUARINGS)
    squarings = fnp.reshape(squarings, batch + (1, 1))
    numerator, denominator = _pade13(a * fnp.astype(2.0 ** -squarings, a.dtype))
    result = _la.solve(denominator, numerator)
    steps = _MAX_SQUARINGS
    if type(squarings) is not Tracer:
        steps = int(np.max(squarings, initial=0))
    for i in range(steps):
        result = fnp.where(squarings > i, fnp.matmul(result, result), result)
    return result


# -------------------------------------------------------------------------------- sqrtm

_SQRTM_ITERATIONS = 24


def sqrtm(A):
    """``scipy.linalg.sqrtm``: the principal square root ``X`` of ``A`` (``X @ X == A``).

    For real or complex ``A`` ``(..., n, n)`` with no eigenvalue on the closed negative real
    axis (e.g. symmetric positive definite): scaled Denman-Beavers iterations in funcgrad's
    ops (see the module's notes), differentiable to any order. SciPy's ``disp`` and
    ``blocksize`` are not taken.

    >>> sqrtm(np.array([[4.0, 0.0], [0.0, 9.0]]))
    array([[2., 0.],
           [0., 3.]])
    """
    a = _matrix("sqrtm", A, complex_ok=True)
    n = a.shape[-1]
    root = a                                                 # -> A^{1/2}
    inverse_root = fnp.broadcast_to(np.eye(n, dtype=a.dtype), a.shape)   # -> A^{-1/2}
    for _ in range(_SQRTM_ITERATIONS):
        # mu = |det(root) det(inverse_root)|^(-1/(2n)) balances the two; it tends to 1.
        log_mu = -(fnp.linalg.slogdet(root)[1] + fnp.linalg.slogdet(inverse_root)[1]) / (2 * n)
        mu = fnp.reshape(fnp.exp(log_mu), a.shape[:-2] + (1, 1))
        root, inverse_root = (0.5 * (mu * root + _la.inv(inverse_root) / mu),
                              0.5 * (mu * inverse_root + _la.inv(root) / mu))
    return root


# ------------------------------------------------------- re-exports of funcgrad.numpy.linalg

def inv(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.inv``: the inverse of each matrix of ``a`` ``(..., n, n)``.

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return fnp.linalg.inv(_matrix("inv", a, complex_ok=True))


def det(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.det``: the determinant of each matrix of ``a`` ``(..., n, n)``.

    >>> round(float(det(np.array([[2.0, 1.0], [1.0, 3.0]]))), 12)
    5.0
    """
    return fnp.linalg.det(_matrix("det", a, complex_ok=True))


_ASSUME_A = ("gen", "general", "sym", "symmetric", "her", "hermitian", "pos",
             "positive definite")


def solve(a, b, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          check_finite: bool = True, assume_a=None, transposed: bool = False):
    """``scipy.linalg.solve``: ``x`` with ``a @ x == b`` (``a.T @ x == b`` if ``transposed``).

    ``assume_a``: None or 'gen' (general: LU), 'sym'/'her' (symmetric: only the triangle
    named by ``lower`` is read, as SciPy's), 'pos' (symmetric positive definite: Cholesky of
    that triangle). ``b``: ``(n,)`` or ``(..., n, k)``. Complex matrices with 'gen', 'her'
    (Hermitian) and 'pos'; 'sym' (complex symmetric) takes real ones. Any ``b`` may be complex.

    >>> solve(np.array([[4.0, 2.0], [2.0, 5.0]]), np.array([6.0, 7.0]), assume_a="pos")
    array([1., 1.])
    """
    if assume_a is None:
        assume_a = "gen"
    if assume_a not in _ASSUME_A:
        raise ValueError(f"solve: assume_a must be one of {_ASSUME_A} (or None), got "
                         f"{assume_a!r}")
    a = _matrix("solve", a, complex_ok=assume_a not in ("sym", "symmetric"))
    if assume_a in ("pos", "positive definite"):
        return cho_solve(cho_factor(a, lower=lower), b)
    if assume_a in ("sym", "symmetric", "her", "hermitian"):
        a = _symmetric_from(a, lower)
    elif transposed:
        a = _transpose(a)
    return _with_right_hand_side("solve", a, b, _la.solve)


def _symmetric_from(a, lower: bool):
    """The symmetric (complex: Hermitian) matrix that the triangle ``lower`` (else upper) of
    ``a`` defines."""
    return _la.symmetrize_lower(a if lower else _la.adjoint(a))


def eigh(a, b=None, *, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, type: int = 1,
         check_finite: bool = True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigh``: ``(w, v)`` of symmetric (complex: Hermitian) ``a``
    (``a @ v == v * w``), or of the generalized problem ``a @ v == b @ v * w`` for symmetric
    (Hermitian) positive-definite ``b``.

    Only the triangle named by ``lower`` of ``a`` and ``b`` is read; eigenvalues ascend (real).
    With ``b``, ``v`` is ``b``-orthonormal (``v^H @ b @ v == I``). Derivatives need distinct
    eigenvalues (``funcgrad.numpy.linalg.eigh``'s notes). Of SciPy's other options only
    ``type=1`` (the default) and no subset are taken; ``driver`` is ignored.

    >>> eigh(np.array([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True)
    array([1., 3.])
    """
    for name, value, default in (("type", type, 1), ("subset_by_index", subset_by_index, None),
                                 ("subset_by_value", subset_by_value, None)):
        if value is not default and value != default:
            raise ValueError(f"eigh: {name}={value!r} is not supported (only {name}={default!r})")
    a = _symmetric_from(_matrix("eigh", a, complex_ok=True), lower)
    if b is None:
        w, v = _la.eigh(a)
    else:
        # L L^H = b: a v = b v w  <=>  (L^{-1} a L^{-H}) (L^H v) = (L^H v) w.
        b = _matrix("eigh", b, complex_ok=True)
        dtype = np.result_type(a.dtype, b.dtype)
        a, b = fnp.astype(a, dtype), fnp.astype(b, dtype)
        factor = _la.cholesky(_symmetric_from(b, lower))
        left = _la.triangular_solve(factor, a)
        w, y = _la.eigh(_la.triangular_solve(factor, _la.adjoint(left)))
        v = _la.triangular_solve(_conj(factor), y, True, True)
    return w if eigvals_only else (w, v)
