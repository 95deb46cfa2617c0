"""Linear-algebra primitives: inv, solve, triangular_solve, det, slogdet, cholesky, eigh, svd,
qr and pinv.

Every primitive works on stacks of matrices: the last two axes are the matrix, the leading
axes (equal in all operands; ``funcgrad.numpy.linalg`` broadcasts them first) are a batch.
Values come from ``numpy.linalg``; compiled programs call the same NumPy ``impl``.

Derivative rules are written with funcgrad's own operations (batched matrix products are
``einsum``, masks are ``select``), so they trace and nest to any order. ``cholesky`` and
``eigh`` read only the lower triangle of their input, as NumPy does: they are functions of
``sym(A) = tril(A) + tril(A, -1).T`` (for complex matrices the Hermitian
``tril(A, -1) + diag(Re A) + tril(A, -1)^H``), and their reverse rules return the cotangent
of ``A`` (lower triangular), the adjoint of that map.

Complex matrices (JAX's convention: tangents and cotangents are complex, and reverse rules
transpose under ``Re sum(a * b)``, without conjugation): ``inv``, ``solve``,
``triangular_solve`` and ``det`` are holomorphic, their rules the real ones; ``slogdet``'s
sign turns by ``i Im tr(A^{-1} dA)`` and its log by the real part; ``cholesky`` (``A = L
L^H``), ``eigh`` (real eigenvalues) and ``svd`` (real singular values) use conjugate
transposes where the real rules use transposes, and ``svd`` turns each singular pair's
arbitrary phase as JAX does; ``qr`` (LAPACK's real diagonal of ``R``) puts the imaginary
part of ``diag(Q^H dA R^{-1})`` into ``Q``'s turn, as JAX does; ``pinv``'s derivative has
``dA^H`` terms, conjugate-linear, which its reverse rule transposes as such.

Where the derivatives do not exist, the rules give ``inf`` or ``nan`` rather than raise:
``inv``, ``solve``, ``det`` and ``slogdet`` at singular matrices, and ``eigh``'s eigenvector
derivatives at repeated eigenvalues (their formula divides by eigenvalue gaps), and ``svd``'s
singular-vector derivatives at repeated or (non-square) zero singular values. A reverse pass
that uses only the eigenvalues (singular values) never forms those quotients, so it stays
finite there. ``qr``'s derivatives need the leading ``min(m, n)`` columns independent, and
``pinv``'s hold where the rank is locally constant.
"""
from __future__ import annotations

import string

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import complex_numbers as cn
from . import contraction, reduction
from . import elementwise as ew
from . import structural as st
from . import taylor as ts

# ------------------------------------------------------------------------------- shapes


def _float_dtype(a, what: str = "the matrix", kinds: str = "f"):
    if a.dtype.kind not in kinds:
        raise ShapeError(f"{what} has dtype {a.dtype.name}; it takes "
                         f"{'floating' if kinds == 'f' else 'real or complex floating'} arrays "
                         "(cast with .astype(float))")
    return a.dtype


def _square(a, what: str = "the matrix", kinds: str = "f") -> int:
    """The size ``n`` of a stack of square matrices ``(..., n, n)``; a ShapeError otherwise.
    ``kinds``: the dtype kinds taken ("fc" where the rules hold for complex matrices too:
    written with transposes, never conjugates, they are JAX's complex convention)."""
    _float_dtype(a, what, kinds)
    if a.ndim < 2:
        raise ShapeError(f"{what} must have at least 2 axes (..., n, n), got shape {a.shape}")
    if a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{what} must be square in its last two axes, got shape {a.shape}")
    return a.shape[-1]


def _same_aval(a):
    _square(a, kinds="fc")
    return a


def _inverse_aval(a):
    _square(a, kinds="fc")
    return a


def _batch_aval(a):
    """A value per matrix of the stack (det, slogdet's sign)."""
    _square(a, kinds="fc")
    return ShapedArray(a.shape[:-2], a.dtype)


def _slogdet_aval(a):
    """The sign (complex for a complex matrix, as NumPy's) and the real log-determinant."""
    sign = _batch_aval(a)
    return [sign, ShapedArray(sign.shape, cn.real_dtype(a.dtype))]


def _right_hand_side(a, b):
    """The shape rule of ``solve`` and ``triangular_solve``: ``b`` is ``(..., n, k)``."""
    n = _square(a, "the coefficient matrix", "fc")
    _float_dtype(b, "the right-hand side", "fc")
    if b.dtype != a.dtype:
        raise ShapeError(f"the matrix ({a.dtype.name}) and the right-hand side "
                         f"({b.dtype.name}) must share a dtype")
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != n:
        raise ShapeError(f"the right-hand side must have shape {a.shape[:-2] + (n, 'k')} to "
                         f"match the matrix {a.shape}, got {b.shape}")
    return b


# ------------------------------------------------------------- helpers built from ops

_BATCH_LETTERS = "".join(c for c in string.ascii_lowercase if c not in "xyz")


def matmul(a, b):
    """``a @ b`` for stacks of matrices with equal leading axes, as one ``einsum``."""
    batch = _BATCH_LETTERS[:np.ndim(a) - 2]
    return contraction.einsum(f"{batch}xy,{batch}yz->{batch}xz", a, b)


def matrix_transpose(x):
    """Swap the last two axes."""
    ndim = np.ndim(x)
    return st.transpose(x, tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))


def _is_complex(x) -> bool:
    return np.dtype(x.dtype).kind == "c"


def adjoint(x):
    """The conjugate transpose ``x^H`` (the transpose of a real matrix)."""
    return cn.conj(matrix_transpose(x)) if _is_complex(x) else matrix_transpose(x)


def _real_part(x):
    """``Re(x)``, kept in ``x``'s dtype (``x`` itself when real)."""
    return ew.convert(cn.real(x), x.dtype) if _is_complex(x) else x


def _zero(x):
    return x.dtype.type(0)


def _keep(mask, x):
    """``x`` where the constant ``(n, n)`` bool ``mask`` is true, zero elsewhere."""
    return ew.select(mask, x, _zero(x))


def _lower_mask(n: int, strict: bool = False):
    return np.tri(n, n, -1 if strict else 0, dtype=bool)


def _eye_mask(n: int):
    return np.eye(n, dtype=bool)


def symmetrize_lower(t):
    """``tril(t, -1) + diag(t) + tril(t, -1)^H``: the symmetric (Hermitian, for a complex
    ``t``) matrix that ``t``'s lower triangle defines. A complex diagonal counts by its real
    part, as LAPACK's Hermitian routines read it."""
    n = np.shape(t)[-1]
    strict = _keep(_lower_mask(n, strict=True), t)
    return ew.add(ew.add(strict, adjoint(strict)), _keep(_eye_mask(n), _real_part(t)))


def _symmetrize_lower_transpose(g):
    """The adjoint of ``symmetrize_lower``: ``tril(g + g^H, -1) + diag(Re g)`` (for a complex
    ``g``, the transpose of that real-linear map under ``Re sum(g * t)``: JAX's convention)."""
    n = np.shape(g)[-1]
    return ew.add(_keep(_lower_mask(n, strict=True), ew.add(g, cn.conj(matrix_transpose(g))
                                                           if _is_complex(g) else
                                                           matrix_transpose(g))),
                  _keep(_eye_mask(n), _real_part(g)))


def diagonal(x):
    """The diagonals ``(..., n)`` of a stack of matrices."""
    return reduction.reduce_sum(_keep(_eye_mask(np.shape(x)[-1]), x), (np.ndim(x) - 1,))


def diagonal_matrix(w):
    """Stack of diagonal matrices with diagonals ``w`` ``(..., n)``."""
    shape = np.shape(w)
    return _keep(_eye_mask(shape[-1]), st.reshape(w, shape[:-1] + (1, shape[-1])))


def _per_matrix(s, x):
    """Scale each matrix of the stack ``x`` by its entry of ``s`` (shape ``x.shape[:-2]``)."""
    return ew.mul(st.reshape(s, np.shape(s) + (1, 1)), x)


def _trace_of_solve(a, t):
    """``tr(a^{-1} t)`` per matrix: the derivative of ``log|det a|`` along ``t``."""
    return reduction.reduce_sum(diagonal(solve(a, t)), (np.ndim(t) - 2,))


def _is_zero(value) -> bool:
    """A concrete all-zero array: the cotangent the reverse pass fills in for an unused output."""
    return not isinstance(value, Tracer) and not np.any(value)


def _batch_at_front(prim):
    """The batching rule shared by these primitives: every operand gets the batch axis first
    (an unbatched one is broadcast), which is one more leading axis of the stack."""
    def batch(args, dims, **params):
        size = st.batch_size(args, dims)
        args = [st.batched_at_front(x, d, size) for x, d in zip(args, dims)]
        out = prim.bind(*args, **params)
        return (out, [0] * len(out)) if prim.multiple_results else (out, 0)
    return batch


def _solve_batch(prim):
    """The batching rule of ``solve`` and ``triangular_solve``: with one matrix for every
    example, the examples become more right-hand-side columns (one factorization in all)."""
    at_front = _batch_at_front(prim)

    def batch(args, dims, **params):
        (a, b), (a_dim, b_dim) = args, dims
        if a_dim is not None:
            return at_front(args, dims, **params)
        b = st.moveaxis(b, b_dim, -1)                  # (..., n, k, B)
        shape = np.shape(b)
        x = prim.bind(a, st.reshape(b, shape[:-2] + (shape[-2] * shape[-1],)), **params)
        return st.reshape(x, shape), len(shape) - 1
    return batch


def _primitive(name, impl, shape_rule, multiple_results=False):
    prim = Primitive(name, "linalg", multiple_results)
    prim.impl = impl
    prim.abstract_eval = shape_rule
    prim.batch = _batch_at_front(prim)
    return prim


# ----------------------------------------------------------------------------------- inv

inv_p = _primitive("inv", lambda a: np.linalg.inv(a), _inverse_aval)


def _inv_jvp(primals, tangents):
    x = inv(primals[0])
    return x, ew.neg(matmul(matmul(x, tangents[0]), x))


inv_p.jvp = _inv_jvp
inv_p.vjp = lambda needs, g, ans, a: (
    ew.neg(matmul(matmul(matrix_transpose(ans), g), matrix_transpose(ans))),)


def _inverse_series(a: ts.Series) -> ts.Series:
    """The series of ``inv(A)``, from ``A X = I``: ``X_k = -X_0 sum_{j=1..k} A_j X_{k-j}``."""
    first = inv(a[0])

    def step(x, k):
        rest = ts.cauchy(a, x, k, matmul, start=1)
        return None if rest is None else ew.neg(matmul(first, rest))
    return ts.recursive(a.order, first, step)


inv_p.taylor = ts.unary_rule(_inverse_series)


def inv(a):
    """The inverses of a stack of square matrices; derivative ``-X dA X`` with ``X = inv(A)``."""
    return inv_p.bind(a)


# --------------------------------------------------------------------------------- solve

solve_p = _primitive("solve", lambda a, b: np.linalg.solve(a, b), _right_hand_side)


def _solve_jvp(primals, tangents):
    a, b = primals
    t_a, t_b = tangents
    x = solve(a, b)
    rhs = t_b
    if t_a is not None:
        correction = ew.neg(matmul(t_a, x))
        rhs = correction if rhs is None else ew.add(rhs, correction)
    return x, solve(a, rhs)


def _solve_vjp(needs, g, ans, a, b):
    ct_b = solve(matrix_transpose(a), g)
    ct_a = ew.neg(matmul(ct_b, matrix_transpose(ans))) if needs[0] else None
    return ct_a, ct_b if needs[1] else None


solve_p.jvp = _solve_jvp
solve_p.vjp = _solve_vjp
solve_p.batch = _solve_batch(solve_p)


def _solve_series(a: ts.Series, b: ts.Series, solver, product=matmul) -> ts.Series:
    """The series of ``x`` with ``op(A) x = b``: ``x_k = solver(b_k - sum_{j=1..k} op(A_j)
    x_{k-j})``, ``solver`` applying ``op(A_0)^{-1}``."""
    def step(x, k):
        rest = ts.minus(b[k], ts.cauchy(a, x, k, product, start=1))
        return None if rest is None else solver(rest)
    return ts.recursive(a.order, solver(b[0]), step)


solve_p.taylor = ts.binary_rule(
    lambda a, b: _solve_series(a, b, lambda rhs: solve(a[0], rhs)))


def solve(a, b):
    """``x`` with ``a @ x == b``, for ``a`` ``(..., n, n)`` and ``b`` ``(..., n, k)``."""
    return solve_p.bind(a, b)


# ---------------------------------------------------------------------- triangular_solve

def _triangle(a, lower: bool):
    return np.tril(a) if lower else np.triu(a)


def _triangular_solve_impl(a, b, *, lower, transpose_a):
    t = _triangle(a, lower)
    return np.linalg.solve(np.swapaxes(t, -1, -2) if transpose_a else t, b)


triangular_solve_p = _primitive(
    "triangular_solve", _triangular_solve_impl,
    lambda a, b, *, lower, transpose_a: _right_hand_side(a, b))


def _triangle_of(t, lower: bool):
    n = np.shape(t)[-1]
    mask = _lower_mask(n) if lower else _lower_mask(n).T
    return _keep(mask, t)


def _triangular_solve_jvp(primals, tangents, *, lower, transpose_a):
    a, b = primals
    t_a, t_b = tangents
    x = triangular_solve(a, b, lower, transpose_a)
    rhs = t_b
    if t_a is not None:
        t_t = _triangle_of(t_a, lower)
        correction = ew.neg(matmul(matrix_transpose(t_t) if transpose_a else t_t, x))
        rhs = correction if rhs is None else ew.add(rhs, correction)
    return x, triangular_solve(a, rhs, lower, transpose_a)


def _triangular_solve_vjp(needs, g, ans, a, b, *, lower, transpose_a):
    ct_b = triangular_solve(a, g, lower, not transpose_a)
    ct_a = None
    if needs[0]:
        # x = T^{-1} b gives -ct_b x^T; x = T^{-T} b gives its transpose, x ct_b^T.
        outer = (matmul(ans, matrix_transpose(ct_b)) if transpose_a
                 else matmul(ct_b, matrix_transpose(ans)))
        ct_a = ew.neg(_triangle_of(outer, lower))
    return ct_a, ct_b if needs[1] else None


triangular_solve_p.jvp = _triangular_solve_jvp
triangular_solve_p.vjp = _triangular_solve_vjp
triangular_solve_p.batch = _solve_batch(triangular_solve_p)


def _triangular_solve_series(a, b, *, lower, transpose_a):
    def read(k):   # the triangle that the solve reads (transposed if it is), then as solve's
        if a[k] is None:
            return None
        t = _triangle_of(a[k], lower)
        return matrix_transpose(t) if transpose_a else t
    return _solve_series(ts.Series(a.order, [a[0]], read), b,
                         lambda rhs: triangular_solve(a[0], rhs, lower, transpose_a))


triangular_solve_p.taylor = ts.binary_rule(_triangular_solve_series)


def triangular_solve(a, b, lower: bool = True, transpose_a: bool = False):
    """``x`` with ``T @ x == b`` (``T.T @ x == b`` if ``transpose_a``), where ``T`` is the
    lower (``lower``) or upper triangle of ``a``; the other triangle is never read."""
    return triangular_solve_p.bind(a, b, lower=bool(lower), transpose_a=bool(transpose_a))


# ------------------------------------------------------------------------ det, slogdet

det_p = _primitive("det", lambda a: np.asarray(np.linalg.det(a))[()], _batch_aval)


def _det_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    d = det(a)
    return d, ew.mul(d, _trace_of_solve(a, t))


det_p.jvp = _det_jvp


def _log_det_rate(a: ts.Series) -> ts.Series:
    """The series of ``d log|det A| / dt = tr(A^{-1} dA/dt)``."""
    def trace_of_product(x, t):
        return reduction.reduce_sum(ew.mul(x, matrix_transpose(t)),
                                    (np.ndim(t) - 2, np.ndim(t) - 1))
    return ts.mul(_inverse_series(a), ts.rate_of(a), trace_of_product)


def _det_series(a: ts.Series) -> ts.Series:
    d = ts.unknown(a.order, det(a[0]))
    return ts.define_rate(d, d * _log_det_rate(a))   # d det / dt = det tr(A^{-1} dA/dt)


det_p.taylor = ts.unary_rule(_det_series)
det_p.vjp = lambda needs, g, ans, a: (
    _per_matrix(ew.mul(g, ans), matrix_transpose(inv(a))),)


def det(a):
    """Determinants; derivative ``det(A) tr(A^{-1} dA)`` (``inf``/``nan`` where singular)."""
    return det_p.bind(a)


def _slogdet_impl(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return [np.asarray(sign)[()], np.asarray(logabsdet)[()]]


slogdet_p = _primitive("slogdet", _slogdet_impl, _slogdet_aval, multiple_results=True)


def _slogdet_jvp(primals, tangents):
    # With r = tr(A^{-1} dA): d log|det A| = Re(r), and the sign, det / |det|, turns by
    # i Im(r) (for a real matrix it is piecewise constant, zero derivative).
    (a,), (t,) = primals, tangents
    sign, logabsdet = slogdet(a)
    rate = _trace_of_solve(a, t)
    if not _is_complex(a):
        return [sign, logabsdet], [ew.zeros_like(sign), rate]
    turn = ew.sub(rate, _real_part(rate))
    return [sign, logabsdet], [ew.mul(sign, turn), cn.real(rate)]


slogdet_p.jvp = _slogdet_jvp


def _real_series(u: ts.Series) -> ts.Series:
    return ts.Series(u.order, [], lambda k: None if u[k] is None else cn.real(u[k]))


def _slogdet_taylor(primals, series):
    a = ts.Series.of(primals[0], series[0])
    sign, logabsdet = slogdet(a[0])
    rate = _log_det_rate(a)
    if not _is_complex(primals[0]):
        log_series = ts.define_rate(ts.unknown(a.order, logabsdet), rate)
        return [sign, logabsdet], [None, log_series.tail()]   # the sign is locally constant
    real_rate = _real_series(rate)
    log_series = ts.define_rate(ts.unknown(a.order, logabsdet), real_rate)
    turn = ts.Series(a.order, [], lambda k: ts.minus(
        rate[k], None if rate[k] is None else _real_part(rate[k])))
    sign_series = ts.unknown(a.order, sign)
    ts.define_rate(sign_series, sign_series * turn)      # d sign / dt = sign i Im(r)
    return [sign, logabsdet], [sign_series.tail(), log_series.tail()]


slogdet_p.taylor = _slogdet_taylor


def _slogdet_vjp(needs, cts, ans, a):
    # The transpose of dA -> (sign i Im(r), Re(r)) with r = tr(A^{-1} dA): a cotangent
    # (g_sign, g_log) reaches r as mu = g_log + i Im(g_sign sign), and A as mu A^{-T}. The
    # real sign is piecewise constant: only the log-determinant's cotangent counts.
    g_sign, g_log = cts
    mu = g_log
    if _is_complex(a):
        mu = ew.convert(g_log, a.dtype)
        if not _is_zero(g_sign):
            turned = ew.mul(g_sign, ans[0])
            mu = ew.add(mu, ew.sub(turned, _real_part(turned)))
    return (_per_matrix(mu, matrix_transpose(inv(a))),)


slogdet_p.vjp = _slogdet_vjp


def slogdet(a):
    """``[sign, log|det|]`` of each matrix; the sign has a zero derivative."""
    return slogdet_p.bind(a)


# ------------------------------------------------------------------------------ cholesky

cholesky_p = _primitive("cholesky", lambda a: np.linalg.cholesky(a), _same_aval)


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    n = np.shape(x)[-1]
    half = np.where(_eye_mask(n), 0.5, 1.0).astype(x.dtype)
    return ew.mul(_keep(_lower_mask(n), x), half)


def _cholesky_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    low = cholesky(a)
    # dL = L phi(L^{-1} dS L^{-H}), with dS Hermitian: L^{-1} dS L^{-H} = L^{-1} (L^{-1} dS)^H.
    # (phi(M) is the lower triangular X with real diagonal and X + X^H = M, and L^{-1} dL is
    # that X: the derivative of L L^H = S.)
    left = triangular_solve(low, symmetrize_lower(t))
    middle = triangular_solve(low, adjoint(left))
    return low, matmul(low, _phi(middle))


def _cholesky_vjp(needs, g, ans, a):
    # <g, L phi(M)> = <L^{-T} phi(L^T g) conj(L)^{-1}, dS> under Re sum(x * y), JAX's complex
    # convention (phi is self-adjoint); for a real L, L^{-T} phi(L^T g) L^{-1}.
    inner = _phi(matmul(matrix_transpose(ans), g))
    right = triangular_solve(ans, inner, transpose_a=True)                 # L^{-T} phi
    both = triangular_solve(ans, adjoint(right), transpose_a=True)         # (.. conj(L)^{-1})^H
    return (_symmetrize_lower_transpose(adjoint(both)),)


cholesky_p.jvp = _cholesky_jvp
cholesky_p.vjp = _cholesky_vjp


def _cholesky_series(a: ts.Series) -> ts.Series:
    # L_0 L_k^H + L_k L_0^H = S_k - sum_{j=1..k-1} L_j L_{k-j}^H =: C_k (Hermitian), solved
    # as the JVP solves its one order: L_k = L_0 phi(L_0^{-1} C_k L_0^{-H}).
    low = cholesky(a[0])

    def outer(p, q):
        return matmul(p, adjoint(q))

    def step(factor, k):
        rest = None if a[k] is None else symmetrize_lower(a[k])
        rest = ts.minus(rest, ts.cauchy(factor, factor, k, outer, start=1, stop=k - 1))
        if rest is None:
            return None
        left = triangular_solve(low, rest)
        return matmul(low, _phi(triangular_solve(low, adjoint(left))))
    return ts.recursive(a.order, low, step)


cholesky_p.taylor = ts.unary_rule(_cholesky_series)


def cholesky(a):
    """Lower Cholesky factors ``L`` (``L @ L^H == A``) of symmetric (Hermitian)
    positive-definite matrices, reading the lower triangle of ``a`` only (of the diagonal of
    a complex ``a``, the real part)."""
    return cholesky_p.bind(a)


# ---------------------------------------------------------------------------------- eigh

def _eigh_impl(a):
    w, v = np.linalg.eigh(a, UPLO="L")
    return [w, v]


def _eigh_shape(a):
    _square(a, kinds="fc")
    return [ShapedArray(a.shape[:-1], cn.real_dtype(a.dtype)), a]


eigh_p = _primitive("eigh", _eigh_impl, _eigh_shape, multiple_results=True)


def _inverse_gaps(w):
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it.

    The identity added to the gaps keeps the diagonal's quotient finite, so that the zero
    chosen there has a zero (not ``nan``) derivative of its own.
    """
    shape, n = np.shape(w), np.shape(w)[-1]
    gaps = ew.sub(st.reshape(w, shape[:-1] + (1, n)), st.reshape(w, shape[:-1] + (n, 1)))
    gaps = ew.add(gaps, np.eye(n, dtype=w.dtype))
    return _keep(~_eye_mask(n), ew.reciprocal(gaps))


def _conj(x):
    return cn.conj(x) if _is_complex(x) else x


def _eigh_jvp(primals, tangents):
    # With R = V^H dS V (Hermitian): dw = Re diag(R), dV = V (F o R), whose V^H dV has a zero
    # diagonal (the gauge JAX chooses for the arbitrary phase of each eigenvector).
    (a,), (t,) = primals, tangents
    w, v = eigh(a)
    rotated = matmul(matmul(adjoint(v), symmetrize_lower(t)), v)
    dw = diagonal(rotated)
    gaps = ew.convert(_inverse_gaps(w), v.dtype)
    return [w, v], [cn.real(dw) if _is_complex(dw) else dw, matmul(v, ew.mul(gaps, rotated))]


def _eigh_vjp(needs, cts, ans, a):
    ct_w, ct_v = cts
    w, v = ans
    middle = diagonal_matrix(ew.convert(ct_w, v.dtype))
    if not _is_zero(ct_v):   # no eigenvector cotangent: no eigenvalue gaps (finite if repeated)
        gaps = ew.convert(_inverse_gaps(w), v.dtype)
        middle = ew.add(middle, ew.mul(gaps, matmul(matrix_transpose(v), ct_v)))
    ct_s = matmul(matmul(_conj(v), middle), matrix_transpose(v))   # the transpose of V^H . V
    return (_symmetrize_lower_transpose(ct_s),)


eigh_p.jvp = _eigh_jvp
eigh_p.vjp = _eigh_vjp


def eigh(a):
    """``[w, V]``: ascending (real) eigenvalues and orthonormal (unitary) eigenvectors
    (columns) of the symmetric (Hermitian) matrices that the lower triangles of ``a`` define."""
    return eigh_p.bind(a)


# ----------------------------------------------------------------- shared by svd and qr

def _last(x, start, stop):
    """``x[..., start:stop]``."""
    return st.slice_along(x, np.ndim(x) - 1, start, stop)


def _rows(x, start, stop):
    """``x[..., start:stop, :]``."""
    return st.slice_along(x, np.ndim(x) - 2, start, stop)


def _rectangular(a, what: str = "the matrix", kinds: str = "f"):
    """``(m, n)`` of a stack of matrices ``(..., m, n)``; a ShapeError otherwise."""
    _float_dtype(a, what, kinds)
    if a.ndim < 2:
        raise ShapeError(f"{what} must have at least 2 axes (..., m, n), got shape {a.shape}")
    return a.shape[-2], a.shape[-1]


def _complement_tangent(q, dq1):
    """The tangent of a square orthogonal (unitary) ``q = [Q1 Q2]`` whose first ``k`` columns
    ``Q1`` move along ``dq1`` and whose complement ``Q2`` turns only as much as it must to stay
    orthogonal to them: ``dQ2 = -Q1 dQ1^H Q2`` (the gauge in which ``Q2^H dQ2 = 0``)."""
    k = np.shape(dq1)[-1]
    q1, q2 = _last(q, 0, k), _last(q, k, np.shape(q)[-1])
    dq2 = ew.neg(matmul(q1, matmul(adjoint(dq1), q2)))
    return st.concatenate([dq1, dq2], np.ndim(q) - 1)


def _complement_cotangent(q, g, k: int):
    """The adjoint of ``_complement_tangent``: the cotangent of ``Q1`` from that of ``q``."""
    q1, q2 = _last(q, 0, k), _last(q, k, np.shape(q)[-1])
    g1, g2 = _last(g, 0, k), _last(g, k, np.shape(q)[-1])
    return ew.sub(g1, matmul(_conj(q2), matmul(adjoint(g2), _conj(q1))))


def _row(s):
    """``s`` ``(..., k)`` as ``(..., 1, k)``: scales columns when multiplied."""
    return st.reshape(s, np.shape(s)[:-1] + (1, np.shape(s)[-1]))


def _column(s):
    """``s`` ``(..., k)`` as ``(..., k, 1)``: scales rows when multiplied."""
    return st.reshape(s, np.shape(s) + (1,))


# ----------------------------------------------------------------------------------- svd
# Complex matrices: U and V unitary, s real, and the rules the real ones with conjugate
# transposes, plus the one term a real SVD lacks: each singular pair's common phase is
# arbitrary, and the imaginary part of diag(U^H dA V) turns it, which JAX's gauge (followed
# here) puts into U alone, dU += U diag(i Im(diag(U^H dA V)) / s).

def _svd_impl(a, *, full_matrices):
    u, s, vt = np.linalg.svd(a, full_matrices=full_matrices)
    return [u, s, vt]


def _svd_shape(a, *, full_matrices):
    m, n = _rectangular(a, kinds="fc")
    k = min(m, n)
    batch = a.shape[:-2]
    return [ShapedArray(batch + (m, m if full_matrices else k), a.dtype),
            ShapedArray(batch + (k,), cn.real_dtype(a.dtype)),
            ShapedArray(batch + (n if full_matrices else k, n), a.dtype)]


svd_p = _primitive("svd", _svd_impl, _svd_shape, multiple_results=True)


def _imaginary_part(x):
    """``i Im(x)`` in ``x``'s dtype."""
    return ew.sub(x, _real_part(x))


def _svd_jvp(primals, tangents, *, full_matrices):
    (a,), (t,) = primals, tangents
    u, s, vt = svd(a, full_matrices)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    u1, vt1 = _last(u, 0, k), _rows(vt, 0, k)
    v1 = adjoint(vt1)
    tv = matmul(t, v1)
    dp = matmul(adjoint(u1), tv)                           # U^H dA V
    dpt = adjoint(dp)
    gaps = ew.convert(_inverse_gaps(ew.mul(s, s)), a.dtype)   # 1 / (s_j^2 - s_i^2)
    s_row, s_col = (ew.convert(x, a.dtype) for x in (_row(s), _column(s)))
    inner_u = ew.mul(gaps, ew.add(ew.mul(dp, s_row), ew.mul(s_col, dpt)))
    if _is_complex(a):   # the turn of each pair's phase, in U (JAX's gauge)
        inner_u = ew.add(inner_u, diagonal_matrix(ew.div(_imaginary_part(diagonal(dp)),
                                                         ew.convert(s, a.dtype))))
    du = matmul(u1, inner_u)
    dv = matmul(v1, ew.mul(gaps, ew.add(ew.mul(s_col, dp), ew.mul(dpt, s_row))))
    if m > k:   # the part of dA V outside the span of U
        du = ew.add(du, ew.div(ew.sub(tv, matmul(u1, dp)), s_row))
    if n > k:
        tu = matmul(adjoint(t), u1)
        dv = ew.add(dv, ew.div(ew.sub(tu, matmul(v1, dpt)), s_row))
    if full_matrices:
        du = _complement_tangent(u, du) if m > k else du
        dv = _complement_tangent(adjoint(vt), dv) if n > k else dv
    ds = diagonal(dp)
    return [u, s, vt], [du, cn.real(ds) if _is_complex(ds) else ds, adjoint(dv)]


def _svd_vjp(needs, cts, ans, a, *, full_matrices):
    # The transpose of _svd_jvp under Re sum(x * y) (for real matrices, the plain transpose).
    g_u, g_s, g_vt = cts
    u, s, vt = ans
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    zero_u, zero_v = _is_zero(g_u), _is_zero(g_vt)
    u1, v1 = _last(u, 0, k), adjoint(_rows(vt, 0, k))
    g_v = adjoint(g_vt)
    if full_matrices and not zero_u and m > k:
        g_u = _complement_cotangent(u, g_u, k)
    if full_matrices and not zero_v and n > k:
        g_v = _complement_cotangent(adjoint(vt), g_v, k)
    s_row, s_col = (ew.convert(x, a.dtype) for x in (_row(s), _column(s)))
    middle = diagonal_matrix(ew.convert(g_s, a.dtype))
    # Only the singular vectors' cotangents meet the gaps between singular values: without
    # them the gradient stays finite at repeated (and zero) singular values.
    if not (zero_u and zero_v):
        gaps = ew.convert(_inverse_gaps(ew.mul(s, s)), a.dtype)
    if not zero_u:
        j = matmul(matrix_transpose(u1), g_u)
        middle = ew.add(middle, ew.mul(ew.mul(gaps, ew.sub(j, adjoint(j))), s_row))
        if _is_complex(a):
            middle = ew.add(middle, diagonal_matrix(ew.div(_imaginary_part(diagonal(j)),
                                                           ew.convert(s, a.dtype))))
    if not zero_v:
        j = matmul(matrix_transpose(v1), g_v)
        middle = ew.add(middle, ew.mul(s_col, ew.mul(gaps, ew.sub(j, adjoint(j)))))
    ct = matmul(matmul(_conj(u1), middle), matrix_transpose(v1))
    if not zero_u and m > k:   # (I - conj(U) U^T) gU S^{-1} V^T
        outside = ew.sub(g_u, matmul(_conj(u1), matmul(matrix_transpose(u1), g_u)))
        ct = ew.add(ct, matmul(ew.div(outside, s_row), matrix_transpose(v1)))
    if not zero_v and n > k:   # conj(U) S^{-1} ((I - conj(V) V^T) gV)^H
        outside = ew.sub(g_v, matmul(_conj(v1), matmul(matrix_transpose(v1), g_v)))
        ct = ew.add(ct, matmul(_conj(u1), ew.div(adjoint(outside), s_col)))
    return (ct,)


svd_p.jvp = _svd_jvp
svd_p.vjp = _svd_vjp


def svd(a, full_matrices: bool = False):
    """``[U, s, Vt]`` with ``a == U[..., :k] * s @ Vt[..., :k, :]``, ``k = min(m, n)``,
    singular values descending. ``full_matrices`` completes ``U`` and ``Vt`` to square
    orthogonal matrices.

    Derivatives need distinct, nonzero singular values (the singular vectors' formula divides
    by ``s_j**2 - s_i**2`` and, for non-square matrices, by ``s``); a cotangent on ``s`` alone
    never forms those quotients. The completing columns of ``U`` (rows of ``Vt``) with
    ``full_matrices`` are any orthonormal basis of the complement: their derivative is the
    one of the gauge that turns them no more than orthogonality to the first ``k`` demands.
    """
    return svd_p.bind(a, full_matrices=bool(full_matrices))


# ------------------------------------------------------------------------------------ qr

def _qr_impl(a, *, complete):
    q, r = np.linalg.qr(a, mode="complete" if complete else "reduced")
    return [q, r]


def _qr_shape(a, *, complete):
    m, n = _rectangular(a, kinds="fc")
    k = m if complete else min(m, n)
    batch = a.shape[:-2]
    return [ShapedArray(batch + (m, k), a.dtype), ShapedArray(batch + (k, n), a.dtype)]


qr_p = _primitive("qr", _qr_impl, _qr_shape, multiple_results=True)


def _right_inverse(b, r):
    """``b R^{-1}`` for ``R`` upper triangular: ``(R^{-T} b^T)^T``."""
    return matrix_transpose(triangular_solve(r, matrix_transpose(b), False, True))


def _right_inverse_transpose(b, r):
    """``b R^{-T}`` for ``R`` upper triangular: ``(R^{-1} b^T)^T``."""
    return matrix_transpose(triangular_solve(r, matrix_transpose(b), False, False))


def _qr_tall_tangents(q, r, t):
    """``dQ, dR`` of ``A = QR`` with ``Q`` ``(m, n)``, ``R`` ``(n, n)``, ``m >= n``: with
    ``C = Q^H dA R^{-1}``, ``Q^H dQ`` is skew-Hermitian with the strict lower triangle of
    ``C`` (and, for complex matrices, the imaginary part of its diagonal, since LAPACK keeps
    ``R``'s diagonal real: JAX's gauge), and ``dR R^{-1} = C - Q^H dQ`` is upper triangular."""
    n = np.shape(r)[-1]
    t_rinv = _right_inverse(t, r)
    c = matmul(adjoint(q), t_rinv)
    low = _keep(_lower_mask(n, strict=True), c)
    turn = ew.sub(low, adjoint(low))
    if _is_complex(c):
        turn = ew.add(turn, _keep(_eye_mask(n), _imaginary_part(c)))
    upper = ew.sub(c, turn)
    return ew.sub(t_rinv, matmul(q, upper)), matmul(upper, r)


def _qr_tall_cotangent(q, r, g_q, g_r):
    """The adjoint of ``_qr_tall_tangents`` (under ``Re sum(x * y)`` for complex matrices):
    ``(gQ + conj(Q) sym(conj(M))) R^{-T}`` with ``M = R gR^T - gQ^T Q`` and ``sym`` the
    Hermitian matrix of a lower triangle and the real part of its diagonal
    (``symmetrize_lower``)."""
    m = ew.sub(matmul(r, matrix_transpose(g_r)), matmul(matrix_transpose(g_q), q))
    return _right_inverse_transpose(ew.add(g_q, matmul(_conj(q), symmetrize_lower(_conj(m)))),
                                    r)


def _qr_jvp(primals, tangents, *, complete):
    (a,), (t,) = primals, tangents
    q, r = qr(a, complete)
    m, n = np.shape(a)[-2:]
    if m < n:   # A = [X Y] with X = Q U square and R = [U V], V = Q^T Y
        u, y = _last(r, 0, m), _last(a, m, n)
        dq, du = _qr_tall_tangents(q, u, _last(t, 0, m))
        dv = ew.add(matmul(adjoint(dq), y), matmul(adjoint(q), _last(t, m, n)))
        return [q, r], [dq, st.concatenate([du, dv], np.ndim(r) - 1)]
    if complete and m > n:
        dq1, dr1 = _qr_tall_tangents(_last(q, 0, n), _rows(r, 0, n), t)
        zeros = ew.zeros_like(_rows(r, n, m))
        return [q, r], [_complement_tangent(q, dq1), st.concatenate([dr1, zeros], np.ndim(r) - 2)]
    return [q, r], list(_qr_tall_tangents(q, r, t))


def _qr_vjp(needs, cts, ans, a, *, complete):
    g_q, g_r = cts
    q, r = ans
    m, n = np.shape(a)[-2:]
    if m < n:
        u, y = _last(r, 0, m), _last(a, m, n)
        g_u, g_v = _last(g_r, 0, m), _last(g_r, m, n)
        g_q = ew.add(g_q, matmul(_conj(y), adjoint(g_v)))
        g_x = _qr_tall_cotangent(q, u, g_q, g_u)
        return (st.concatenate([g_x, matmul(_conj(q), g_v)], np.ndim(a) - 1),)
    if complete and m > n:
        return (_qr_tall_cotangent(_last(q, 0, n), _rows(r, 0, n), _complement_cotangent(q, g_q, n),
                                   _rows(g_r, 0, n)),)
    return (_qr_tall_cotangent(q, r, g_q, g_r),)


qr_p.jvp = _qr_jvp
qr_p.vjp = _qr_vjp


def qr(a, complete: bool = False):
    """``[Q, R]`` with ``a == Q @ R``, ``Q`` orthonormal columns and ``R`` upper triangular
    (LAPACK's signs); ``Q`` is ``(m, min(m, n))``, or ``(m, m)`` if ``complete``.

    Derivatives need ``R``'s leading ``min(m, n)`` square block to be invertible (the first
    ``min(m, n)`` columns of ``a`` independent). With ``complete`` and ``m > n``, the last
    ``m - n`` columns of ``Q`` are any orthonormal basis of the complement; their derivative
    is the one of the gauge that turns them no more than orthogonality demands.
    """
    return qr_p.bind(a, complete=bool(complete))


# ---------------------------------------------------------------------------------- pinv

def _pinv_impl(a, *, rcond, rtol, hermitian):
    options = {} if rtol == "unset" else {"rtol": rtol}
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian, **options)


def _pinv_shape(a, *, rcond, rtol, hermitian):
    m, n = _rectangular(a, kinds="fc")
    if hermitian and m != n:
        raise ShapeError(f"with hermitian=True the matrix must be square, got shape {a.shape}")
    return ShapedArray(a.shape[:-2] + (n, m), a.dtype)


pinv_p = _primitive("pinv", _pinv_impl, _pinv_shape)


def _pinv_jvp(primals, tangents, **params):
    """Golub and Pereyra's derivative, valid where the rank is locally constant:
    ``dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X`` (the last two terms are
    conjugate-linear in ``dA`` for a complex matrix)."""
    (a,), (t,) = primals, tangents
    x = pinv_p.bind(a, **params)
    xh, th = adjoint(x), adjoint(t)
    first = ew.neg(matmul(matmul(x, t), x))
    second = matmul(matmul(x, xh), ew.sub(th, matmul(matmul(th, a), x)))
    third = matmul(ew.sub(th, matmul(matmul(x, a), th)), matmul(xh, x))
    return x, ew.add(first, ew.add(second, third))


def _pinv_vjp(needs, g, ans, a, **params):
    # The transpose of _pinv_jvp under Re sum(x * y): a term L dA^H R turns g into
    # conj(R) g^H conj(L); with conj(X) = Xc, conj(A) = Ac.
    x, xt, gh = ans, matrix_transpose(ans), adjoint(g)
    xc, ac = _conj(x), _conj(a)
    first = ew.neg(matmul(matmul(xt, g), xt))
    second = matmul(ew.sub(gh, matmul(matmul(ac, xc), gh)), matmul(xc, xt))
    third = matmul(matmul(xt, xc), ew.sub(gh, matmul(matmul(gh, xc), ac)))
    return (ew.add(first, ew.add(second, third)),)


pinv_p.jvp = _pinv_jvp
pinv_p.vjp = _pinv_vjp


def pinv(a, rcond=None, rtol="unset", hermitian: bool = False):
    """Moore-Penrose pseudo-inverses ``(..., n, m)``, NumPy's values (singular values below
    the cutoff count as zero). The derivative holds where the rank is locally constant (it
    is the derivative of the pseudo-inverse of a matrix of that rank)."""
    rcond = None if rcond is None else float(rcond)
    rtol = rtol if rtol in ("unset", None) else float(rtol)
    return pinv_p.bind(a, rcond=rcond, rtol=rtol, hermitian=bool(hermitian))


# ------------------------------------------------------------- lu_pivots, lu_permutation
# Partial pivoting is the one part of an LU factorization that is not a smooth function of
# the matrix: the row interchanges are piecewise constant, so they are an integer primitive
# with no derivative (as ``argsort`` is for a sort). Given them, the factors of the permuted
# matrix come from an elimination written in funcgrad's ops (``funcgrad.scipy.linalg.lu``),
# whose derivatives are the exact derivatives of the factorization.

def _lu_pivots_impl(a):
    """LAPACK's ``getrf`` pivots: at step ``k`` row ``k`` was interchanged with row
    ``piv[k] >= k``, the row of the largest ``|entry|`` in column ``k`` at or below the
    diagonal (the first of equals; of a complex entry, ``|Re| + |Im|``, as LAPACK's
    ``izamax`` measures it). The elimination runs on all matrices of the stack at once."""
    *batch, m, n = np.shape(a)
    work = np.array(a, dtype=a.dtype).reshape(-1, m, n)
    stack = np.arange(work.shape[0])
    pivots = np.empty((work.shape[0], min(m, n)), np.int32)
    for k in range(min(m, n)):
        column = work[:, k:, k]
        size = np.abs(column.real) + np.abs(column.imag) if column.dtype.kind == "c" else \
            np.abs(column)
        p = k + np.argmax(size, axis=1)
        pivots[:, k] = p
        row = work[stack, k].copy()
        work[stack, k] = work[stack, p]
        work[stack, p] = row
        pivot = work[:, k, k]
        safe = np.where(pivot == 0, 1, pivot)   # a zero pivot: the column is zero below it
        factors = work[:, k + 1:, k] / safe[:, None]
        work[:, k + 1:, k:] -= factors[:, :, None] * work[:, None, k, k:]
    return pivots.reshape(*batch, min(m, n))


def _lu_pivots_shape(a):
    _float_dtype(a, kinds="fc")
    if a.ndim < 2:
        raise ShapeError(f"the matrix must have at least 2 axes (..., m, n), got shape {a.shape}")
    return ShapedArray(a.shape[:-2] + (min(a.shape[-2:]),), np.dtype(np.int32))


lu_pivots_p = _primitive("lu_pivots", _lu_pivots_impl, _lu_pivots_shape)
lu_pivots_p.jvp = lambda primals, tangents: (lu_pivots(primals[0]), None)
lu_pivots_p.vjp = lambda needs, g, ans, a: (None,)


def lu_pivots(a):
    """The row interchanges (int32 ``(..., min(m, n))``) of LU with partial pivoting of the
    matrices ``a`` ``(..., m, n)``; no derivative (they are piecewise constant)."""
    return lu_pivots_p.bind(a)


def _lu_permutation_impl(pivots, *, size):
    *batch, k = np.shape(pivots)
    flat = np.asarray(pivots).reshape(-1, k)
    stack = np.arange(flat.shape[0])
    order = np.tile(np.arange(size, dtype=np.int32), (flat.shape[0], 1))
    for i in range(k):
        j = flat[:, i]
        first = order[stack, i].copy()
        order[stack, i] = order[stack, j]
        order[stack, j] = first
    return order.reshape(*batch, size)


def _lu_permutation_shape(pivots, *, size):
    if pivots.dtype.kind not in "iu" or pivots.ndim < 1:
        raise ShapeError(f"the pivots must be integers of shape (..., k), got "
                         f"{pivots.dtype.name}{list(pivots.shape)}")
    if pivots.shape[-1] > size:
        raise ShapeError(f"{pivots.shape[-1]} pivots cannot permute {size} rows")
    return ShapedArray(pivots.shape[:-1] + (size,), np.dtype(np.int32))


lu_permutation_p = _primitive("lu_permutation", _lu_permutation_impl, _lu_permutation_shape)
lu_permutation_p.jvp = lambda primals, tangents, *, size: (
    lu_permutation(primals[0], size), None)
lu_permutation_p.vjp = lambda needs, g, ans, pivots, *, size: (None,)


def lu_permutation(pivots, size: int):
    """The permutation ``perm`` (int32 ``(..., size)``) that the row interchanges ``pivots``
    make of ``range(size)``: row ``i`` of the interchanged matrix is row ``perm[i]`` of the
    original (JAX's ``lu_pivots_to_permutation``)."""
    return lu_permutation_p.bind(pivots, size=int(size))
