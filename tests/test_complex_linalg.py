"""Complex ``fnp.linalg.qr pinv lstsq cond matrix_rank tensorsolve tensorinv`` and complex
``fg.scipy.linalg.solve_triangular``: values against NumPy/SciPy (square, tall, wide and
batched), derivatives by central differences to second order (``check_grads``), gradients and
JVPs against JAX in complex128 (JAX's convention: ``grad`` of a real loss of ``z`` is
``df/dx - i df/dy``) and reverse mode against PyTorch (whose gradient is the conjugate), jit
against eager, vmap against a loop, complex64 kept single precision.

The qr and pinv primitives' complex rows are in tests/test_primitives.py's table.
"""
from __future__ import annotations

import numpy as np
import pytest
from linalg_reference import complex_well_conditioned, traced

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.scipy.linalg as fsl

try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
    jax.config.update("jax_enable_x64", True)
except ImportError:   # pragma: no cover - JAX is optional
    jax = jnp = jsl = None

needs_jax = pytest.mark.skipif(jax is None, reason="JAX is not installed")
rng = np.random.default_rng(20261204)
L = fnp.linalg


def _complex(shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


MATRICES = {"square": complex_well_conditioned(rng, (3, 3)),
            "tall": complex_well_conditioned(rng, (4, 3)),
            "wide": complex_well_conditioned(rng, (3, 4)),
            "stack": complex_well_conditioned(rng, (2, 4, 3))}
WEIGHTS = _complex((4, 4))


def _weighted(m, x):
    """A real, phase-sensitive function of a complex matrix ``x`` (weights cut to its shape)."""
    w = WEIGHTS[:x.shape[-2], :x.shape[-1]]
    return m.sum(m.real(x * w)) + m.sum(m.imag(x) ** 2) * 0.5


def _close(got, want, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


def _against_jax(loss, *args, rtol=1e-9, atol=1e-11):
    """``fg.grad`` of ``loss(fnp)`` against ``jax.grad`` of ``loss(jnp)``, every argument."""
    argnums = tuple(range(len(args)))
    got = fg.grad(loss(fnp), argnums=argnums)(*args)
    want = jax.grad(loss(jnp), argnums=argnums)(*[jnp.asarray(a) for a in args])
    for g, w in zip(got, want):
        _close(g, w, rtol, atol)


# ------------------------------------------------------------------------------------ qr

def _qr_loss(m, mode="reduced"):
    def loss(a):
        if mode == "r":
            return _weighted(m, m.linalg.qr(a, mode="r"))
        q, r = m.linalg.qr(a, mode=mode)
        k = min(a.shape[-2:])
        value = _weighted(m, q[..., :k]) + _weighted(m, r) + m.sum(m.abs(r) ** 2)
        if mode == "complete" and q.shape[-1] > k:   # the completing columns by their span
            q2 = q[..., k:]
            value = value + _weighted(m, q2 @ m.conj(m.swapaxes(q2, -1, -2)))
        return value
    return loss


@pytest.mark.parametrize("name", list(MATRICES))
def test_complex_qr_values_in_every_mode(name):
    a = MATRICES[name]
    for mode in ("reduced", "complete"):
        q, r = traced(lambda a, mode=mode: L.qr(a, mode=mode))(a)
        want_q, want_r = np.linalg.qr(a, mode=mode)
        assert q.dtype == r.dtype == np.complex128
        _close(q, want_q, 1e-12, 1e-12)
        _close(r, want_r, 1e-12, 1e-12)
        assert np.all(np.diagonal(r, axis1=-2, axis2=-1).imag == 0)   # LAPACK's real diagonal
    _close(traced(lambda a: L.qr(a, mode="r"))(a), np.linalg.qr(a, mode="r"), 1e-12, 1e-12)
    raw = traced(lambda a: L.qr(a, mode="raw"))(a[..., :3, :3] if a.ndim == 2 else a[0])
    for got, want in zip(raw, np.linalg.qr(a[..., :3, :3] if a.ndim == 2 else a[0], mode="raw")):
        _close(got, want, 1e-12, 1e-12)


@pytest.mark.parametrize("name", ["square", "tall", "wide"])
def test_complex_qr_derivatives(name):
    a = MATRICES[name]
    modes = ("reduced", "r", "complete") if a.shape[0] >= a.shape[1] else ("reduced", "r")
    for mode in modes:
        fg.check_grads(_qr_loss(fnp, mode), (a,), order=2 if mode != "complete" else 1)
        if jax is not None:
            _against_jax(lambda m, mode=mode: _qr_loss(m, mode), a)
    if jax is not None:
        t = _complex(a.shape)
        got = fg.jvp(L.qr, (a,), (t,))[1]
        want = jax.jvp(jnp.linalg.qr, (jnp.asarray(a),), (jnp.asarray(t),))[1]
        for g, w in zip(got, want):
            _close(g, w)


# ---------------------------------------------------------------------------------- pinv

@pytest.mark.parametrize("name", list(MATRICES))
def test_complex_pinv(name):
    a = MATRICES[name]
    _close(traced(L.pinv)(a), np.linalg.pinv(a), 1e-12, 1e-12)

    def loss(m):
        return lambda a: _weighted(m, m.linalg.pinv(a)) + m.sum(m.abs(m.linalg.pinv(a)) ** 2)
    if a.ndim == 2:
        fg.check_grads(loss(fnp), (a,), order=2)
    if jax is not None:
        _against_jax(loss, a)
        t = _complex(a.shape)
        got = fg.jvp(L.pinv, (a,), (t,))[1]
        _close(got, jax.jvp(jnp.linalg.pinv, (jnp.asarray(a),), (jnp.asarray(t),))[1])


def test_complex_hermitian_pinv_reads_the_lower_triangle():
    a = MATRICES["square"]
    h = a @ a.conj().T
    noisy = np.tril(h) + np.triu(_complex((3, 3)), 1)
    _close(traced(lambda h: L.pinv(h, hermitian=True))(noisy), np.linalg.pinv(h), 1e-11, 1e-12)
    fg.check_grads(lambda h: _weighted(fnp, L.pinv(h, hermitian=True)), (noisy,), order=1)


# --------------------------------------------------------------------------------- lstsq

LSTSQ_CASES = {"tall_vector": ((4, 3), (4,)), "tall_matrix": ((4, 3), (4, 2)),
               "wide": ((3, 4), (3, 2)), "square": ((3, 3), (3,))}


def _lstsq_loss(m):
    def loss(a, b):
        x, residuals, _, s = m.linalg.lstsq(a, b)
        return _weighted(m, m.reshape(x, (x.shape[0], -1))) + m.sum(residuals) + m.sum(s ** 2)
    return loss


@pytest.mark.parametrize("name", list(LSTSQ_CASES))
def test_complex_lstsq(name):
    a_shape, b_shape = LSTSQ_CASES[name]
    a = complex_well_conditioned(rng, a_shape)
    b = _complex(b_shape)
    got = traced(lambda a, b: L.lstsq(a, b))(a, b)
    want = np.linalg.lstsq(a, b)
    for g, w in zip(got, want):
        g = np.asarray(g)
        assert g.dtype == np.asarray(w).dtype and g.shape == np.shape(w)
        _close(g, w, 1e-11, 1e-12)
    fg.check_grads(_lstsq_loss(fnp), (a, b), order=2)
    if jax is not None:
        _against_jax(_lstsq_loss, a, b)


# ---------------------------------------------------------------------- cond, matrix_rank

@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf],
                         ids=str)
def test_complex_cond_every_order(p):
    a = complex_well_conditioned(rng, (2, 3, 3))
    got = traced(lambda a: L.cond(a, p))(a)
    assert got.dtype == np.float64
    _close(got, np.linalg.cond(a, p), 1e-11)
    loss = lambda m: lambda a: m.sum(m.linalg.cond(a, p))   # noqa: E731
    fg.check_grads(loss(fnp), (a[0],), order=1)
    if jax is not None:
        _against_jax(loss, a)
    if p in (None, 2, -2):   # the singular values: non-square matrices too
        wide = MATRICES["wide"]
        _close(traced(lambda a: L.cond(a, p))(wide), np.linalg.cond(wide, p), 1e-11)


def test_complex_matrix_rank():
    full = MATRICES["wide"]
    low = _complex((4, 2)) @ _complex((2, 3))            # rank 2
    for a in (full, low, np.stack([low, low[:, :1] * np.ones(3)])):
        assert np.array_equal(traced(L.matrix_rank)(a), np.linalg.matrix_rank(a))
    h = low @ low.conj().T                               # Hermitian, rank 2
    assert traced(lambda h: L.matrix_rank(h, hermitian=True))(h) == 2
    assert traced(lambda a: L.matrix_rank(a, tol=1e3))(full) == 0
    assert traced(lambda a: L.matrix_rank(a, rtol=0.999))(full) == 1


# --------------------------------------------------------------- tensorsolve, tensorinv

def test_complex_tensorsolve_and_tensorinv():
    a = _complex((2, 3, 6)) + np.eye(6).reshape(2, 3, 6) * 3
    b = _complex((2, 3))
    _close(traced(L.tensorsolve)(a, b), np.linalg.tensorsolve(a, b), 1e-11, 1e-12)
    c = _complex((4, 2, 2)) + np.eye(4).reshape(4, 2, 2) * 3
    _close(traced(lambda c: L.tensorinv(c, 1))(c), np.linalg.tensorinv(c, 1), 1e-11, 1e-12)

    def loss(m):
        return lambda a, b, c: (_weighted(m, m.reshape(m.linalg.tensorsolve(a, b), (2, 3)))
                                + _weighted(m, m.reshape(m.linalg.tensorinv(c, 1), (4, 4))))
    fg.check_grads(loss(fnp), (a, b, c), order=2)
    if jax is not None:
        _against_jax(loss, a, b, c)


# ---------------------------------------------------------------------- solve_triangular

TRIANGULAR = _complex((3, 3)) + 3 * np.eye(3)
TRIANGULAR_B = _complex((3, 2))


@pytest.mark.parametrize("trans", [0, 1, 2, "N", "T", "C"])
def test_complex_solve_triangular(trans):
    from scipy.linalg import solve_triangular
    for lower in (True, False):
        for unit in (False, True):
            options = {"trans": trans, "lower": lower, "unit_diagonal": unit}
            for b in (TRIANGULAR_B, TRIANGULAR_B[:, 0], TRIANGULAR_B.real):
                got = traced(lambda a, b, options=options: fsl.solve_triangular(
                    a, b, **options))(TRIANGULAR, b)
                _close(got, solve_triangular(TRIANGULAR, b, **options), 1e-12, 1e-12)

            def loss(s, options=options):
                m = fnp if s is fsl else jnp
                return lambda a, b: _weighted(m, s.solve_triangular(a, b, **options))  # noqa: B023
            if jax is not None:
                got = fg.grad(loss(fsl), argnums=(0, 1))(TRIANGULAR, TRIANGULAR_B)
                want = jax.grad(loss(jsl), argnums=(0, 1))(jnp.asarray(TRIANGULAR),
                                                         jnp.asarray(TRIANGULAR_B))
                for g, w in zip(got, want):
                    _close(g, w)
    fg.check_grads(lambda a, b: _weighted(fnp, fsl.solve_triangular(a, b, trans=trans)),
                   (TRIANGULAR, TRIANGULAR_B), order=2)


def test_complex_solve_triangular_batched_and_the_real_matrix_with_a_complex_b():
    from scipy.linalg import solve_triangular
    stack = np.stack([TRIANGULAR, TRIANGULAR.T + 1j])
    got = traced(lambda a, b: fsl.solve_triangular(a, b, trans="C", lower=True))(
        stack, TRIANGULAR_B)
    for index in range(2):
        _close(got[index], solve_triangular(stack[index], TRIANGULAR_B, trans="C", lower=True),
               1e-12, 1e-12)
    real = TRIANGULAR.real
    got = traced(lambda a, b: fsl.solve_triangular(a, b, trans=2))(real, TRIANGULAR_B)
    _close(got, solve_triangular(real, TRIANGULAR_B, trans=2), 1e-12, 1e-12)
    with pytest.raises(ValueError, match="trans must be 0, 1, 2, 'N', 'T' or 'C'"):
        fsl.solve_triangular(TRIANGULAR, TRIANGULAR_B, trans=3)


# -------------------------------------------------------------------------- torch, jit

TORCH_CASES = {
    "qr": (lambda a: _weighted(fnp, L.qr(a)[0]) + _weighted(fnp, L.qr(a)[1]),
           lambda t, a: (_torch_weighted(t, t.linalg.qr(a)[0])
                         + _torch_weighted(t, t.linalg.qr(a)[1]))),
    "pinv": (lambda a: _weighted(fnp, L.pinv(a)),
             lambda t, a: _torch_weighted(t, t.linalg.pinv(a))),
    "cond": (lambda a: fnp.sum(L.cond(a)), lambda t, a: t.linalg.cond(a).sum()),
    "lstsq": (lambda a: _weighted(fnp, L.lstsq(a, WEIGHTS[:, :2])[0]),
              lambda t, a: _torch_weighted(t, t.linalg.lstsq(a, t.tensor(WEIGHTS[:, :2]))[0])),
    "solve_triangular": (
        lambda a: _weighted(fnp, fsl.solve_triangular(a[:3], WEIGHTS[:3, :2], lower=True)),
        lambda t, a: _torch_weighted(t, t.linalg.solve_triangular(
            a[:3], t.tensor(WEIGHTS[:3, :2]), upper=False))),
}


def _torch_weighted(torch, x):
    w = torch.tensor(WEIGHTS[:x.shape[-2], :x.shape[-1]])
    return torch.real(x * w).sum() + (torch.imag(x) ** 2).sum() * 0.5


@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_complex_reverse_mode_matches_torch(name):
    torch = pytest.importorskip("torch")
    fn, torch_fn = TORCH_CASES[name]
    a = MATRICES["tall"] if name != "cond" else MATRICES["square"]
    tensor = torch.tensor(a, requires_grad=True)
    (want,) = torch.autograd.grad(torch_fn(torch, tensor), tensor)
    # PyTorch's gradient of a real loss is the conjugate of JAX's (and funcgrad's).
    _close(fg.grad(fn)(a), np.conj(want.numpy()), 1e-9, 1e-11)


def _all_of_them(a, b, t):
    q, r = L.qr(a)
    x = L.lstsq(a, b)[0]
    y = fsl.solve_triangular(t, b[:3], trans="C")
    return q, r, L.pinv(a), x, y, L.cond(t, "fro"), L.matrix_rank(a)


def test_complex_linalg_under_jit_and_vmap():
    a, b = MATRICES["tall"], _complex((4, 2))
    jitted = fg.jit(_all_of_them)
    eager = traced(_all_of_them)(a, b, TRIANGULAR)
    for got, want in zip(jitted(a, b, TRIANGULAR), eager):
        _close(got, want, 1e-12, 1e-12)
    jitted(a + 0.01, b, TRIANGULAR)
    assert jitted.recompiles == []
    loss = fg.jit(fg.grad(lambda a: _weighted(fnp, L.pinv(a)) + _weighted(fnp, L.qr(a)[1])))
    _close(loss(a), fg.grad(lambda a: _weighted(fnp, L.pinv(a)) + _weighted(fnp, L.qr(a)[1]))(a),
           1e-12, 1e-12)
    stack = MATRICES["stack"]
    for fn in (lambda a: L.qr(a)[0], L.pinv, lambda a: L.lstsq(a, b)[0]):
        _close(fg.vmap(fn)(stack), np.stack([traced(fn)(m) for m in stack]), 1e-12, 1e-12)
    solve = fg.vmap(lambda t: fsl.solve_triangular(t, b[:3], trans="C", lower=True))
    ts = np.stack([TRIANGULAR, TRIANGULAR + 1j])
    _close(solve(ts), np.stack([traced(lambda t: fsl.solve_triangular(
        t, b[:3], trans="C", lower=True))(t) for t in ts]), 1e-12, 1e-12)


def test_complex64_stays_single_precision():
    a = MATRICES["tall"].astype(np.complex64)
    q, r = traced(L.qr)(a)
    assert q.dtype == r.dtype == np.complex64
    assert traced(L.pinv)(a).dtype == np.complex64
    x, residuals, _, s = traced(lambda a: L.lstsq(a, a[:, 0]))(a)
    assert x.dtype == np.complex64 and residuals.dtype == s.dtype == np.float32
    assert traced(L.cond)(a).dtype == np.float32
    t = TRIANGULAR.astype(np.complex64)
    assert traced(lambda t: fsl.solve_triangular(t, t, trans=2))(t).dtype == np.complex64
    assert fg.grad(lambda a: _weighted(fnp, L.pinv(a)))(a).dtype == np.complex64


# ----------------------------------------- scipy.linalg: cholesky, cho_solve, eigh, solve

def _hermitian_positive_definite(n):
    x = _complex((n, n))
    return x @ x.conj().T + n * np.eye(n)


HPD = _hermitian_positive_definite(3)
HPD_B = _hermitian_positive_definite(3)
NOISY_HPD = np.tril(HPD) + np.triu(_complex((3, 3)), 1)   # the lower triangle is read


def _cholesky_loss(s, lower):
    m = fnp if s is fsl else jnp

    def loss(a, b):
        return (_weighted(m, s.cholesky(a, lower=lower))
                + _weighted(m, s.cho_solve(s.cho_factor(a, lower=lower), b)))
    return loss


def _of_hermitian(s, lower):
    """``_cholesky_loss`` of the Hermitian ``x + x^H + 6 I``."""
    m = fnp if s is fsl else jnp
    return lambda x, b: _cholesky_loss(s, lower)(
        x + m.conj(m.swapaxes(x, -1, -2)) + 6 * np.eye(3), b)


def test_complex_scipy_cholesky_and_cho_solve():
    import scipy.linalg as sl
    for lower in (False, True):
        a = NOISY_HPD if lower else NOISY_HPD.conj().T    # noise where it is not read
        _close(traced(lambda a, low=lower: fsl.cholesky(a, lower=low))(a),
               sl.cholesky(HPD, lower=lower), 1e-12, 1e-12)
        c_and_lower = traced(lambda a, low=lower: fsl.cho_factor(a, lower=low))(a)
        x = traced(lambda c, b, low=lower: fsl.cho_solve((c, low), b))(c_and_lower[0],
                                                                       TRIANGULAR_B)
        _close(HPD @ x, TRIANGULAR_B, 1e-12, 1e-12)
        _close(traced(lambda a, b, low=lower: fsl.solve(a, b, lower=low, assume_a="pos"))(
            a, TRIANGULAR_B), np.linalg.solve(HPD, TRIANGULAR_B), 1e-12, 1e-12)
        _close(traced(lambda a, b, low=lower: fsl.solve(a, b, lower=low, assume_a="her"))(
            a, TRIANGULAR_B), np.linalg.solve(HPD, TRIANGULAR_B), 1e-12, 1e-12)

        fg.check_grads(_cholesky_loss(fsl, lower), (a, TRIANGULAR_B), order=2)
        if jax is not None:   # of a Hermitian matrix, whose triangles JAX reads otherwise
            x = 0.5 * HPD
            got = fg.grad(_of_hermitian(fsl, lower), argnums=(0, 1))(x, TRIANGULAR_B)
            want = jax.grad(_of_hermitian(jsl, lower), argnums=(0, 1))(
                jnp.asarray(x), jnp.asarray(TRIANGULAR_B))
            for g, w in zip(got, want):
                _close(g, w)
    with pytest.raises(TypeError, match="solve: this function takes real arrays"):
        fsl.solve(HPD, TRIANGULAR_B, assume_a="sym")


def test_complex_scipy_eigh_standard_and_generalized():
    import scipy.linalg as sl
    for lower in (True, False):
        a = NOISY_HPD if lower else NOISY_HPD.conj().T
        b = np.tril(HPD_B) if lower else np.triu(HPD_B)
        w = traced(lambda a, low=lower: fsl.eigh(a, lower=low, eigvals_only=True))(a)
        _close(w, sl.eigh(HPD, eigvals_only=True), 1e-12, 1e-12)
        w, v = traced(lambda a, b, low=lower: fsl.eigh(a, b, lower=low))(a, b)
        want_w = sl.eigh(HPD, HPD_B, eigvals_only=True)
        assert w.dtype == np.float64
        _close(w, want_w, 1e-11, 1e-12)
        _close(HPD @ v, HPD_B @ v * w, 1e-10, 1e-11)
        _close(v.conj().T @ HPD_B @ v, np.eye(3), 1e-11, 1e-12)
        fg.check_grads(lambda a, b, low=lower: fnp.sum(fnp.sin(fsl.eigh(
            a, b, lower=low, eigvals_only=True))), (a, b), order=2)


# ----------------------------------------------------- scipy.linalg: lu, lu_factor, lu_solve

def _lu_loss(m, s, trans):
    return lambda a, b: (_weighted(m, s.lu_solve(s.lu_factor(a), b, trans=trans))
                         + _weighted(m, s.lu(a)[1]) + _weighted(m, s.lu(a)[2]))


@pytest.mark.parametrize("shape", [(4, 4), (4, 3), (3, 4), (2, 3, 3)], ids=str)
def test_complex_lu_matches_scipy_pivots_included(shape):
    import scipy.linalg as sl
    a = complex_well_conditioned(rng, shape)   # singular values 1 to 4
    p, low, up = traced(fsl.lu)(a)
    for index in np.ndindex(*shape[:-2]):
        for got, want in zip((p[index], low[index], up[index]), sl.lu(a[index])):
            _close(got, want, 1e-12, 1e-12)
    if shape[-1] != shape[-2] or len(shape) > 2:
        return
    packed, pivots = traced(fsl.lu_factor)(a)
    want_packed, want_pivots = sl.lu_factor(a)
    _close(packed, want_packed, 1e-12, 1e-12)
    assert np.array_equal(pivots, want_pivots)    # LAPACK's |Re| + |Im| pivoting
    b = _complex((4, 2))
    for trans in (0, 1, 2, "C"):
        got = traced(lambda f, b, t=trans: fsl.lu_solve((f, pivots), b, trans=t))(packed, b)
        scipy_trans = 2 if trans == "C" else trans   # (SciPy's lu_solve takes numbers only)
        _close(got, sl.lu_solve((want_packed, want_pivots), b, trans=scipy_trans), 1e-11,
               1e-12)
        fg.check_grads(_lu_loss(fnp, fsl, trans), (a, b), order=1 if trans else 2)
        if jax is not None and trans != "C":
            got = fg.grad(_lu_loss(fnp, fsl, trans), argnums=(0, 1))(a, b)
            want = jax.grad(_lu_loss(jnp, jsl, trans), argnums=(0, 1))(jnp.asarray(a),
                                                                      jnp.asarray(b))
            for g, w in zip(got, want):
                _close(g, w, 1e-9, 1e-10)
    real = a.real
    _close(fsl.lu_solve(sl.lu_factor(real), b, trans=2), sl.lu_solve(sl.lu_factor(real), b,
                                                                      trans=2), 1e-12, 1e-12)
