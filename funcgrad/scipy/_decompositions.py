"""SciPy's ``qr svd polar hessenberg schur rsf2csf qr_multiply solve_sylvester
eigh_tridiagonal expm_frechet funm`` for ``funcgrad.scipy.linalg``.

- ``qr``, ``svd``, ``qr_multiply``, ``polar`` are ``funcgrad.numpy.linalg``'s ``qr`` and
  ``svd`` (real or complex) with SciPy's signatures, so they trace and differentiate as those
  do (``polar``: ``U = W V^H`` and ``P = V S V^H`` of the SVD ``W S V^H``; its derivative needs
  distinct singular values, where the SVD's does).
- ``hessenberg``: Householder reflections as LAPACK's ``gehrd`` chooses them (``beta =
  -sign(Re alpha) |x|``), written in funcgrad's ops: traced and differentiable wherever no
  reflected column is zero (JAX's has no derivative).
- ``schur`` (LAPACK through SciPy, which it needs), ``rsf2csf`` and ``funm`` (SciPy's
  Schur-Parlett) compute concrete values; ``schur`` of a traced matrix is a host call without
  a derivative, ``rsf2csf`` and ``funm`` take concrete arrays only.
- ``solve_sylvester``: ``A X + X B = Q`` as one linear system in ``vec(X)`` (Kronecker sums:
  ``(m n)^2`` entries, for small matrices), so ``solve``'s derivatives.
- ``eigh_tridiagonal``: ``eigh`` of the tridiagonal matrix (its derivatives).
- ``expm_frechet``: the JVP of ``expm`` (``fg.jvp``), itself differentiable.
"""
from __future__ import annotations

import numpy as np

from .. import numpy as fnp
from ..core.trace import Tracer

__all__ = ["eigh_tridiagonal", "expm_frechet", "funm", "hessenberg", "polar", "qr",
           "qr_multiply", "rsf2csf", "schur", "solve_sylvester", "svd"]


def _is_traced(*values) -> bool:
    return any(type(v) is Tracer for v in values)


def _array(x, who: str, complex_ok: bool = True):
    """``x`` as a tracer or a NumPy array of a floating (or complex) dtype."""
    x = x if type(x) is Tracer else np.asarray(x)
    if x.dtype.kind == "c" and not complex_ok:
        raise TypeError(f"{who}: takes real arrays, got {x.dtype.name}")
    if x.dtype.kind not in "fc":
        x = fnp.astype(x, np.float64)
    return x


def _matrix(who: str, a, square: bool = False, batch: bool = True):
    a = _array(a, who)
    if a.ndim < 2 or not batch and a.ndim != 2 or square and a.shape[-1] != a.shape[-2]:
        kind = "a square matrix" if square else "a matrix"
        raise ValueError(f"{who}: the argument a must be {kind}"
                         f"{' (..., n, n)' if batch else ' (2-d)'}, got shape {a.shape}")
    return a


def _adjoint(x):
    x = fnp.swapaxes(x, -1, -2)
    return fnp.conj(x) if x.dtype.kind == "c" else x


_QR_MODES = ("full", "r", "economic")


def qr(a, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True):
    """``scipy.linalg.qr``: ``(Q, R)`` with ``a == Q @ R``; ``mode`` ``'full'`` (``Q`` square
    ``(..., m, m)``), ``'economic'`` (``Q`` ``(..., m, k)``, ``k = min(m, n)``) or ``'r'``
    (the 1-tuple ``(R,)`` of the full ``R`` ``(..., m, n)``, as SciPy's). Real or complex;
    the derivatives are ``funcgrad.numpy.linalg.qr``'s. ``pivoting=True`` is not supported.

    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> np.round(r, 6)
    array([[-5. , -2.2],
           [ 0. ,  0.4]])
    """
    if mode not in _QR_MODES:
        raise ValueError(f"qr: mode must be one of {_QR_MODES}, got {mode!r}")
    if pivoting:
        raise ValueError("qr: pivoting=True (column pivoting, LAPACK's geqp3) is not "
                         "supported; use pivoting=False")
    a = _matrix("qr", a)
    q, r = fnp.linalg.qr(a, mode="reduced" if mode == "economic" else "complete")
    return (r,) if mode == "r" else (q, r)   # SciPy's 'r': the full R (m, n), in a tuple


_SIDES = ("left", "right")


def qr_multiply(a, c, mode: str = "right", pivoting: bool = False, conjugate: bool = False,
                overwrite_a: bool = False, overwrite_c: bool = False):
    """``scipy.linalg.qr_multiply``: ``(c @ Q, R)`` (``mode='right'``) or ``(Q @ c, R)``
    (``'left'``), ``Q`` and ``R`` of the economic QR of the 2-d ``a`` (``conj(Q)`` with
    ``conjugate``). A 1-d ``c`` is a row (right) or a column (left).

    >>> cq, r = qr_multiply(np.array([[3.0, 1.0], [4.0, 2.0]]), np.array([1.0, 0.0]))
    >>> np.round(cq, 6)
    array([-0.6, -0.8])
    """
    if mode not in _SIDES:
        raise ValueError(f"qr_multiply: mode must be 'left' or 'right', got {mode!r}")
    if pivoting:
        raise ValueError("qr_multiply: pivoting=True is not supported; use pivoting=False")
    a = _matrix("qr_multiply", a, batch=False)
    c = _array(c, "qr_multiply")
    q, r = fnp.linalg.qr(a, mode="reduced")
    if conjugate and q.dtype.kind == "c":
        q = fnp.conj(q)
    need = q.shape[1] if mode == "left" else q.shape[0]
    axis = 0 if mode == "left" else -1
    if c.ndim not in (1, 2) or c.shape[axis] != need:
        raise ValueError(f"qr_multiply: c must be 1-d or 2-d with {need} "
                         f"{'rows' if mode == 'left' else 'columns'} for mode={mode!r} and a "
                         f"{a.shape}, got shape {c.shape}")
    return (fnp.matmul(q, c) if mode == "left" else fnp.matmul(c, q)), r


_SVD_DRIVERS = ("gesdd", "gesvd")


def svd(a, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd"):
    """``scipy.linalg.svd``: ``(U, s, Vh)`` with ``a == U[..., :k] * s @ Vh[..., :k, :]``, or
    ``s`` alone with ``compute_uv=False``. ``funcgrad.numpy.linalg.svd``'s values and
    derivatives (``lapack_driver`` is checked and otherwise ignored).

    >>> svd(np.array([[0.0, 2.0], [1.0, 0.0]]), compute_uv=False)
    array([2., 1.])
    """
    if lapack_driver not in _SVD_DRIVERS:
        raise ValueError(f"svd: lapack_driver must be 'gesdd' or 'gesvd', got {lapack_driver!r}")
    a = _matrix("svd", a)
    result = fnp.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(result) if compute_uv else result


def polar(a, side: str = "right"):
    """``scipy.linalg.polar``: ``(u, p)`` with ``a == u @ p`` (``side='right'``) or
    ``a == p @ u`` (``'left'``), ``u`` with orthonormal rows or columns and ``p`` Hermitian
    positive semi-definite, from the SVD (see the module's notes).

    >>> u, p = polar(np.array([[2.0, 0.0], [0.0, -3.0]]))
    >>> u, p
    (array([[ 1.,  0.],
           [ 0., -1.]]), array([[2., 0.],
           [0., 3.]]))
    """
    if side not in _SIDES:
        raise ValueError(f"polar: side must be 'left' or 'right', got {side!r}")
    a = _matrix("polar", a)
    w, s, vh = fnp.linalg.svd(a, full_matrices=False)
    u = fnp.matmul(w, vh)
    s = fnp.astype(s, a.dtype)
    if side == "right":
        p = fnp.matmul(_adjoint(vh), fnp.expand_dims(s, -1) * vh)
    else:
        p = fnp.matmul(w * fnp.expand_dims(s, -2), _adjoint(w))
    return u, p


# ---------------------------------------------------------------------------- hessenberg

def _reflector(x):
    """LAPACK's ``larfg`` for a column ``x`` ``(..., k)``: ``(tau, v)`` with ``v[0] = 1`` and
    ``(I - tau v v^H)^H x = beta e_1``, ``beta = -sign(Re x[0]) |x|`` real; ``tau = 0`` (no
    reflection) where ``x[1:]`` is zero and ``x[0]`` real."""
    alpha, rest = x[..., 0], x[..., 1:]
    complex_x = x.dtype.kind == "c"
    real_dtype = np.finfo(x.dtype).dtype
    rest_squares = fnp.sum(fnp.real(rest * fnp.conj(rest)) if complex_x else rest * rest,
                           axis=-1)
    imaginary = fnp.imag(alpha) if complex_x else None
    skip = rest_squares == 0
    if complex_x:
        skip = fnp.logical_and(skip, imaginary == 0)
    real_alpha = fnp.real(alpha) if complex_x else alpha
    squares = rest_squares + real_alpha * real_alpha
    if complex_x:
        squares = squares + imaginary * imaginary
    one = np.ones((), real_dtype)
    # Where there is no reflection, a stand-in 1 keeps the (discarded) quotients finite.
    norm = fnp.sqrt(fnp.where(skip, one, squares))
    beta = fnp.where(real_alpha >= 0, -norm, norm)
    beta = fnp.astype(beta, x.dtype)
    tau = fnp.where(skip, np.zeros((), x.dtype), (beta - alpha) / beta)
    scale = fnp.where(skip, np.ones((), x.dtype), alpha - beta)
    v = fnp.concatenate([fnp.ones(alpha.shape + (1,), x.dtype),
                         rest / fnp.expand_dims(scale, -1)], axis=-1)
    return tau, v


def _outer(u, w):
    return fnp.expand_dims(u, -1) * fnp.expand_dims(w, -2)


def hessenberg(a, calc_q: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.hessenberg``: ``H`` upper Hessenberg with ``a == Q @ H @ Q^H``, and
    ``Q`` unitary with ``calc_q``; LAPACK's reflectors, so LAPACK's signs. Traced and
    differentiable (see the module's notes); ``a`` ``(..., n, n)``, real or complex.

    >>> hessenberg(np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [4.0, 0.0, 5.0]]))
    array([[ 1.  , -1.2 , -1.6 ],
           [-5.  ,  4.64, -0.48],
           [ 0.  , -0.48,  4.36]])
    """
    a = _matrix("hessenberg", a, square=True)
    n = a.shape[-1]
    q = fnp.broadcast_to(np.eye(n, dtype=a.dtype), a.shape) if calc_q else None
    # LAPACK reflects the last subdiagonal entry too, which makes a complex one real; SciPy
    # returns matrices up to 2x2 as they are.
    for k in range(n - 1 if a.dtype.kind == "c" and n > 2 else n - 2):
        tau, tail = _reflector(a[..., k + 1:, k])
        v = fnp.concatenate([fnp.zeros(tail.shape[:-1] + (k + 1,), a.dtype), tail], axis=-1)
        v_h = fnp.conj(v) if a.dtype.kind == "c" else v
        tau = fnp.expand_dims(fnp.expand_dims(tau, -1), -1)
        tau_h = fnp.conj(tau) if a.dtype.kind == "c" else tau
        # a <- H^H a H with H = I - tau v v^H; q <- q H.
        a = a - tau_h * _outer(v, fnp.einsum("...i,...ij->...j", v_h, a))
        a = a - tau * _outer(fnp.einsum("...ij,...j->...i", a, v), v_h)
        if calc_q:
            q = q - tau * _outer(fnp.einsum("...ij,...j->...i", q, v), v_h)
    h = fnp.where(np.tri(n, n, -2, dtype=bool), np.zeros((), a.dtype), a)
    return (h, q) if calc_q else h


# --------------------------------------------------------------- schur, rsf2csf, funm

def _scipy_linalg(who: str):
    try:
        import scipy.linalg
    except ImportError:
        raise ImportError(f"{who} computes with SciPy's LAPACK routines: install SciPy "
                          "(pip install scipy)") from None
    return scipy.linalg


_SCHUR_OUTPUTS = ("real", "complex", "r", "c")


def schur(a, output: str = "real"):
    """``scipy.linalg.schur``: ``(T, Z)`` with ``a == Z @ T @ Z^H``, ``Z`` unitary and ``T``
    upper triangular (``output='complex'``) or quasi-triangular with 2x2 blocks for complex
    pairs (``'real'``, of a real ``a``). LAPACK's values through SciPy; a traced ``a`` is a
    host call with no derivative (as in JAX).

    >>> t, z = schur(np.array([[1.0, 2.0], [0.0, 3.0]]))
    >>> t
    array([[1., 2.],
           [0., 3.]])
    """
    if output not in _SCHUR_OUTPUTS:
        raise ValueError(f"schur: output must be one of {_SCHUR_OUTPUTS}, got {output!r}")
    linalg = _scipy_linalg("schur")
    a = _matrix("schur", a, square=True, batch=False)
    complex_out = output in ("complex", "c") or a.dtype.kind == "c"
    dtype = np.result_type(a.dtype, np.complex64) if complex_out else a.dtype

    def host_schur(x):
        t, z = linalg.schur(x, output="complex" if complex_out else "real")
        return t.astype(dtype), z.astype(dtype)
    host_schur.__name__ = "schur"   # named so in the error that it has no derivative
    if not _is_traced(a):
        return host_schur(a)
    from ..transforms.callbacks import pure_callback
    shape = np.zeros(a.shape, dtype)
    return pure_callback(host_schur, (shape, shape), a, vmap_method="sequential")


def _concrete(who: str, *values):
    if _is_traced(*values):
        raise TypeError(f"{who} takes concrete arrays only (it is not traced or "
                        "differentiated); call it outside jit/grad/vmap")


def rsf2csf(T, Z, check_finite: bool = True):
    """``scipy.linalg.rsf2csf``: the complex Schur form ``(T', Z')`` of a real Schur form
    ``(T, Z)`` (``schur(a)``): each 2x2 block of a complex pair is made triangular by a
    complex Givens rotation of its rows and columns. Concrete arrays only.

    >>> t, z = rsf2csf(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.eye(2))
    >>> np.round(np.diag(t), 12)
    array([0.+1.j, 0.-1.j])
    """
    _concrete("rsf2csf", T, Z)
    t = np.array(T, dtype=np.result_type(T, Z, np.complex64))
    z = np.array(Z, dtype=t.dtype)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or z.shape != t.shape:
        raise ValueError(f"rsf2csf: T and Z must be square matrices of one shape, got "
                         f"{np.shape(T)} and {np.shape(Z)}")
    eps = np.finfo(t.dtype).eps
    for m in range(t.shape[0] - 1, 0, -1):
        below = t[m, m - 1]
        if abs(below) <= eps * (abs(t[m - 1, m - 1]) + abs(t[m, m])):
            t[m, m - 1] = 0
            continue
        # mu: the block's eigenvalue to go last, minus t[m, m]; rotate it into place.
        mu = np.linalg.eigvals(t[m - 1:m + 1, m - 1:m + 1])[0] - t[m, m]
        r = np.hypot(abs(mu), abs(below))
        c, s = mu / r, below / r
        g = np.array([[np.conj(c), s], [-s, c]])
        t[m - 1:m + 1, m - 1:] = g @ t[m - 1:m + 1, m - 1:]
        t[:m + 1, m - 1:m + 1] = t[:m + 1, m - 1:m + 1] @ g.conj().T
        z[:, m - 1:m + 1] = z[:, m - 1:m + 1] @ g.conj().T
        t[m, m - 1] = 0
    return t, z


def funm(A, func, disp: bool = True):
    """``scipy.linalg.funm``: the matrix function that ``func`` (applied elementwise to a
    1-d array of eigenvalues, NumPy or funcgrad.numpy functions) defines, by SciPy's
    Schur-Parlett algorithm; with ``disp=False``, ``(F, error_estimate)``. Concrete arrays
    only (for traced matrices: ``expm``, ``sqrtm``, or ``eigh``).

    >>> np.round(funm(np.array([[1.0, 2.0], [0.0, 3.0]]), np.exp), 6)     # expm
    array([[ 2.718282, 17.367255],
           [ 0.      , 20.085537]])
    """
    _concrete("funm", A)
    linalg = _scipy_linalg("funm")
    return linalg.funm(np.asarray(A), lambda x: np.asarray(func(x)), disp=disp)


# ------------------------------------------- solve_sylvester, eigh_tridiagonal, Fréchet

def solve_sylvester(a, b, q):
    """``scipy.linalg.solve_sylvester``: ``X`` with ``a @ X + X @ b == q``, for ``a``
    ``(m, m)``, ``b`` ``(n, n)``, ``q`` ``(m, n)``: one ``solve`` of the Kronecker sum
    ``a (x) I + I (x) b^T`` (see the module's notes). Real or complex, differentiable.

    >>> solve_sylvester(np.array([[1.0]]), np.array([[2.0]]), np.array([[6.0]]))
    array([[2.]])
    """
    a = _matrix("solve_sylvester", a, square=True, batch=False)
    b = _matrix("solve_sylvester", b, square=True, batch=False)
    q = _array(q, "solve_sylvester")
    m, n = a.shape[0], b.shape[0]
    if q.shape != (m, n):
        raise ValueError(f"solve_sylvester: q must have shape {(m, n)} for a {a.shape} and b "
                         f"{b.shape}, got {q.shape}")
    dtype = np.result_type(a.dtype, b.dtype, q.dtype)
    system = fnp.kron(a, np.eye(n, dtype=dtype)) + fnp.kron(np.eye(m, dtype=dtype),
                                                            fnp.transpose(b))
    return fnp.reshape(fnp.linalg.solve(system, fnp.reshape(q, (m * n,))), (m, n))


_SELECTS = ("a", "all", "i", "index", "v", "value")


def eigh_tridiagonal(d, e, eigvals_only: bool = False, select: str = "a", select_range=None,
                     check_finite: bool = True, tol: float = 0.0, lapack_driver: str = "auto"):
    """``scipy.linalg.eigh_tridiagonal``: the eigenvalues (ascending) and eigenvectors of the
    real symmetric tridiagonal matrix with diagonal ``d`` ``(n,)`` and off-diagonal ``e``
    ``(n - 1,)``: ``eigh`` of that matrix, so its derivatives. ``select='i'`` keeps the
    eigenvalues ``select_range = (lo, hi)`` (indices, inclusive); ``'v'`` those in
    ``(lo, hi]``, on concrete input only (their number depends on the values).

    >>> eigh_tridiagonal(np.array([2.0, 2.0]), np.array([1.0]), eigvals_only=True)
    array([1., 3.])
    """
    if select not in _SELECTS:
        raise ValueError(f"eigh_tridiagonal: select must be one of {_SELECTS}, got {select!r}")
    d = _array(d, "eigh_tridiagonal", complex_ok=False)
    e = _array(e, "eigh_tridiagonal", complex_ok=False)
    if d.ndim != 1 or e.shape != (max(d.shape[0] - 1, 0),):
        raise ValueError(f"eigh_tridiagonal: d must be 1-d (n,) and e (n - 1,), got shapes "
                         f"{d.shape} and {e.shape}")
    dtype = np.result_type(d.dtype, e.dtype)
    t = fnp.diag(fnp.astype(d, dtype)) + fnp.diag(fnp.astype(e, dtype), -1)   # eigh reads it
    w, v = fnp.linalg.eigh(t)
    if select in ("i", "index"):
        lo, hi = (int(i) for i in select_range)
        if not 0 <= lo <= hi < d.shape[0]:
            raise ValueError(f"eigh_tridiagonal: select_range {select_range!r} must be indices "
                             f"0 <= lo <= hi < {d.shape[0]}")
        w, v = w[lo:hi + 1], v[:, lo:hi + 1]
    elif select in ("v", "value"):
        if _is_traced(w):
            raise ValueError("eigh_tridiagonal: select='v' gives as many eigenvalues as lie "
                             "in the range, unknown while tracing; use select='i'")
        lo, hi = select_range
        keep = (w > lo) & (w <= hi)
        w, v = w[keep], v[:, keep]
    return w if eigvals_only else (w, v)


def expm_frechet(A, E, method=None, compute_expm: bool = True, check_finite: bool = True):
    """``scipy.linalg.expm_frechet``: the Fréchet derivative of ``expm`` at ``A`` along
    ``E``, with ``expm(A)`` first unless ``compute_expm=False``: ``fg.jvp`` of ``expm``, so
    itself traced and differentiable. ``method`` (SciPy's ``'SPS'``, ``'blockEnlarge'``) is
    checked and otherwise ignored.

    >>> expm_frechet(np.zeros((1, 1)), np.ones((1, 1)), compute_expm=False)
    array([[1.]])
    """
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(f"expm_frechet: method must be None, 'SPS' or 'blockEnlarge', got "
                         f"{method!r}")
    from .. import jvp
    from .linalg import expm
    a = _matrix("expm_frechet", A, square=True)
    e = _array(E, "expm_frechet")
    if e.shape != a.shape:
        raise ValueError(f"expm_frechet: E must have A's shape {a.shape}, got {e.shape}")
    dtype = np.result_type(a.dtype, e.dtype)
    value, derivative = jvp(expm, (fnp.astype(a, dtype),), (fnp.astype(e, dtype),))
    return (value, derivative) if compute_expm else derivative
