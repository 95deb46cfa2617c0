"""funcgrad.scipy.linalg's decompositions (qr svd polar hessenberg schur rsf2csf qr_multiply),
solvers and matrix functions (solve_sylvester eigh_tridiagonal expm_frechet funm) and special
matrices: values and dtypes against scipy.linalg on several shapes (batched where SciPy or
JAX batches), derivatives by central differences to second order where smooth, gradients
against JAX in float64/complex128 where JAX has them, jit against eager, vmap against a loop,
and coverage of jax.scipy.linalg's names.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from linalg_reference import complex_well_conditioned, traced, well_conditioned

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import linalg as fsl

sl = pytest.importorskip("scipy.linalg")
try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
    jax.config.update("jax_enable_x64", True)
except ImportError:   # pragma: no cover - JAX is optional
    jax = jnp = jsl = None

rng = np.random.default_rng(20261205)


def _complex(shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _same(got, want, rtol=1e-11, atol=1e-12):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype,
                                                                 want.shape, want.dtype)
    if want.dtype == object:
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _weighted(m, x):
    """A real, phase-sensitive function of a (complex) matrix."""
    w = np.cos(np.arange(x.shape[-2] * x.shape[-1]).reshape(x.shape[-2:]))
    value = m.sum(m.real(x) * w) + m.sum(m.sin(m.real(x)))
    if np.dtype(x.dtype).kind == "c":
        value = value + m.sum(m.imag(x) ** 2 * w)
    return value


def _against_jax(loss, *args, rtol=1e-9, atol=1e-11):
    argnums = tuple(range(len(args)))
    got = fg.grad(loss(fnp, fsl), argnums=argnums)(*args)
    want = jax.grad(loss(jnp, jsl), argnums=argnums)(*[jnp.asarray(a) for a in args])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=rtol, atol=atol)


needs_jax = pytest.mark.skipif(jax is None, reason="JAX is not installed")


# ----------------------------------------------------------------------- special matrices

def _draw(k):
    return rng.standard_normal(k)


DATA_CONSTRUCTORS = {
    "toeplitz": (lambda s, c: s.toeplitz(c), lambda s, c: s.toeplitz(c, c[::-1] + 1.0)),
    "hankel": (lambda s, c: s.hankel(c), lambda s, c: s.hankel(c, c[:3] + 1.0)),
    "circulant": (lambda s, c: s.circulant(c),),
    "companion": (lambda s, c: s.companion(c),),
    "fiedler_companion": (lambda s, c: s.fiedler_companion(c),),
    "leslie": (lambda s, c: s.leslie(c, c[1:] * 0.5),),
    "fiedler": (lambda s, c: s.fiedler(c),),
    **{f"convolution_matrix_{mode}_{n}": (
        lambda s, c, n=n, mode=mode: s.convolution_matrix(c, n, mode),)
       for mode in ("full", "same", "valid") for n in (2, 5, 7)},
}


def _check_constructor(build):
    for k in (2, 3, 6):
        c = _draw(k)
        _same(traced(lambda c: build(fsl, c))(c), build(sl, c))
        _same(build(fsl, c), build(sl, c))                       # concrete input
        _same(build(fsl, c.astype(np.float32)), build(sl, c.astype(np.float32)), 1e-6)
    c = rng.permutation(1.0 + 0.3 * np.arange(5)) + rng.uniform(0.0, 0.1, 5)   # a[0] >= 1
    fg.check_grads(lambda c: _weighted(fnp, build(fsl, c)), (c,), order=2)
    if jax is not None:
        _against_jax(lambda m, s: lambda c: _weighted(m, build(s, c)), c)


@pytest.mark.parametrize("name", list(DATA_CONSTRUCTORS))
def test_constructors_from_data_match_scipy_and_differentiate(name):
    for build in DATA_CONSTRUCTORS[name]:
        _check_constructor(build)
    z = _complex(4)
    first = DATA_CONSTRUCTORS[name][0]
    _same(traced(lambda z: first(fsl, z))(z), first(sl, z))


def test_constructors_batch_over_leading_axes():
    c = _complex((2, 3, 4))
    for name in ("toeplitz", "circulant"):   # SciPy 1.17 batches these
        _same(traced(getattr(fsl, name))(c), getattr(sl, name)(c))
    for name in ("hankel", "companion", "fiedler", "fiedler_companion"):
        got = traced(getattr(fsl, name))(c)
        want = np.stack([[getattr(sl, name)(row) for row in rows] for rows in c])
        _same(got, want)
    got = traced(lambda c: fsl.convolution_matrix(c, 3, "same"))(c)
    _same(got, np.stack([[sl.convolution_matrix(r, 3, "same") for r in rows] for rows in c]))
    got = fg.vmap(lambda c: fsl.toeplitz(c, c[::-1]))(c[0])
    _same(got, np.stack([sl.toeplitz(r, r[::-1]) for r in c[0]]))


def test_constructors_under_jit():
    def build(c):
        return (fsl.toeplitz(c), fsl.hankel(c), fsl.circulant(c), fsl.companion(c),
                fsl.convolution_matrix(c, 3))
    c = _draw(4)
    jitted = fg.jit(build)
    for got, want in zip(jitted(c), traced(build)(c)):
        _same(got, want, 0, 0)
    jitted(c + 1.0)
    assert jitted.recompiles == []


SIZED = {
    "hadamard": [(n,) for n in (1, 2, 4, 8)],
    "helmert": [(n, full) for n in (1, 2, 5) for full in (False, True)],
    "hilbert": [(n,) for n in (0, 1, 4)],
    "invhilbert": [(n, exact) for n in (1, 4, 14, 16) for exact in (False, True)],
    "pascal": [(n, kind, exact) for n in (1, 4, 36) for kind in ("symmetric", "lower", "upper")
               for exact in (True, False)],
    "invpascal": [(n, kind, exact) for n in (1, 5, 36)
                  for kind in ("symmetric", "lower", "upper") for exact in (True, False)],
    "dft": [(n, scale) for n in (1, 3, 4) for scale in (None, "sqrtn", "n")],
}


@pytest.mark.parametrize("name", list(SIZED))
def test_constructors_of_a_size_match_scipy(name):
    for args in SIZED[name]:
        got, want = getattr(fsl, name)(*args), getattr(sl, name)(*args)
        rtol = 1e-7 if name == "invhilbert" and not args[1] else 1e-11   # ill conditioned
        _same(got, want, rtol)


def test_constructor_errors():
    with pytest.raises(ValueError, match="hadamard: n must be a positive power of 2"):
        fsl.hadamard(6)
    with pytest.raises(ValueError, match="pascal: kind must be one of"):
        fsl.pascal(3, "diagonal")
    with pytest.raises(ValueError, match="companion: the leading coefficient a\\[0\\]"):
        fsl.companion(np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="convolution_matrix: mode must be one of"):
        fsl.convolution_matrix(np.ones(3), 2, "circular")
    with pytest.raises(ValueError, match="leslie: s must have one entry fewer than f"):
        fsl.leslie(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="dft: scale must be"):
        fsl.dft(3, "sqrt")


# ------------------------------------------------------------------------ qr, svd, polar

SHAPES = {"square": (3, 3), "tall": (4, 3), "wide": (3, 4)}


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_qr_and_svd_match_scipy(shape, kind):
    draw = well_conditioned if kind == "real" else complex_well_conditioned
    a = draw(rng, SHAPES[shape])
    for mode in ("full", "economic", "r"):
        got, want = traced(lambda a, mode=mode: fsl.qr(a, mode=mode))(a), sl.qr(a, mode=mode)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)

        def loss(m, s, mode=mode):
            return lambda a: sum(_weighted(m, x) for x in s.qr(a, mode=mode))
        if jax is not None and (mode != "full" or shape != "tall"):
            _against_jax(loss, a)   # (JAX's basis of a tall full Q's complement differs)
    for full in (True, False):
        for g, w in zip(traced(lambda a, f=full: fsl.svd(a, full_matrices=f))(a),
                        sl.svd(a, full_matrices=full)):
            assert np.asarray(g).shape == w.shape
        u, s, vh = traced(lambda a: fsl.svd(a, full_matrices=False))(a)
        _same((u * s) @ vh, a)
    _same(traced(lambda a: fsl.svd(a, compute_uv=False))(a), sl.svd(a, compute_uv=False))
    if jax is not None:
        _against_jax(lambda m, s: lambda a: m.sum(m.sin(s.svd(a, compute_uv=False))), a)
    stack = draw(rng, (2,) + SHAPES[shape])
    _same(traced(lambda a: fsl.qr(a, mode="economic")[0])(stack),
          np.stack([sl.qr(x, mode="economic")[0] for x in stack]))


def test_qr_and_svd_errors():
    with pytest.raises(ValueError, match="qr: pivoting=True"):
        fsl.qr(np.eye(2), pivoting=True)
    with pytest.raises(ValueError, match="qr: mode must be one of"):
        fsl.qr(np.eye(2), mode="reduced")
    with pytest.raises(ValueError, match="svd: lapack_driver"):
        fsl.svd(np.eye(2), lapack_driver="gesvj")


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_polar(shape, kind):
    draw = well_conditioned if kind == "real" else complex_well_conditioned
    a = draw(rng, SHAPES[shape])
    for side in ("right", "left"):
        u, p = traced(lambda a, side=side: fsl.polar(a, side))(a)
        want_u, want_p = sl.polar(a, side)
        _same(u, want_u)
        _same(p, want_p)
        _same(u @ p if side == "right" else p @ u, a)
        fg.check_grads(lambda a, side=side: sum(_weighted(fnp, x) for x in fsl.polar(a, side)),
                       (a,), order=2 if shape == "square" else 1)


def test_qr_multiply():
    for a_shape, c_shape, mode in (((4, 3), (2, 4), "right"), ((3, 4), (3,), "right"),
                                   ((4, 3), (3, 2), "left"), ((3, 4), (3,), "left")):
        for kind in ("real", "complex"):
            a = (well_conditioned if kind == "real" else complex_well_conditioned)(rng, a_shape)
            c = _complex(c_shape) if kind == "complex" else rng.standard_normal(c_shape)
            for conjugate in (False, True):
                got = traced(lambda a, c, cj=conjugate, mode=mode: fsl.qr_multiply(
                    a, c, mode, conjugate=cj))(a, c)
                for g, w in zip(got, sl.qr_multiply(a, c, mode, conjugate=conjugate)):
                    _same(g, w)
            fg.check_grads(lambda a, c, mode=mode: sum(
                _weighted(fnp, fnp.atleast_2d(x)) for x in fsl.qr_multiply(a, c, mode)), (a, c),
                order=1)
    with pytest.raises(ValueError, match="qr_multiply: c must be 1-d or 2-d with 4 columns"):
        fsl.qr_multiply(np.ones((4, 3)), np.ones((2, 3)))


# --------------------------------------------------------------- hessenberg, schur, funm

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_hessenberg(dtype):
    single = dtype in (np.float32, np.complex64)
    a = (_complex((5, 5)) if np.dtype(dtype).kind == "c" else rng.standard_normal((5, 5)))
    a = a.astype(dtype)
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if single else {}
    for calc_q in (False, True):
        got, want = traced(lambda a, q=calc_q: fsl.hessenberg(a, calc_q=q))(a), \
            sl.hessenberg(a, calc_q=calc_q)
        for g, w in zip(got if calc_q else [got], want if calc_q else [want]):
            _same(g, w, **tolerance)
    _same(fsl.hessenberg(a), sl.hessenberg(a), **tolerance)
    for n in (1, 2, 3):   # SciPy leaves matrices up to 2x2 as they are
        h, q = traced(lambda a: fsl.hessenberg(a, calc_q=True))(a[:n, :n])
        want_h, want_q = sl.hessenberg(a[:n, :n], calc_q=True)
        _same(h, want_h, **tolerance)
        assert q.dtype == a.dtype     # (SciPy's Q of a 2x2 matrix is float64 whatever a is)
        np.testing.assert_allclose(q, want_q, **tolerance)
    if not single:
        def loss(a):
            h, q = fsl.hessenberg(a, calc_q=True)
            return _weighted(fnp, h) + _weighted(fnp, q)
        fg.check_grads(loss, (a[:4, :4],), order=2)
        stack = np.stack([a, 2 * a + 1])
        _same(fg.vmap(fsl.hessenberg)(stack), np.stack([sl.hessenberg(x) for x in stack]))
        _same(fg.jit(fsl.hessenberg)(a), sl.hessenberg(a))


def test_schur_rsf2csf_and_funm():
    a = rng.standard_normal((5, 5))
    for output in ("real", "complex"):
        for g, w in zip(fsl.schur(a, output), sl.schur(a, output)):
            _same(g, w)
        for g, w in zip(fg.jit(lambda a, o=output: fsl.schur(a, o))(a), sl.schur(a, output)):
            _same(g, w)
    z = _complex((4, 4))
    for g, w in zip(traced(fsl.schur)(z), sl.schur(z)):
        _same(g, w)
    with pytest.raises(TypeError, match="schur"):
        fg.grad(lambda a: fnp.sum(fsl.schur(a)[0]))(a)
    t, q = sl.schur(a)
    for g, w in zip(fsl.rsf2csf(t, q), sl.rsf2csf(t, q)):
        _same(g, w)
    with pytest.raises(TypeError, match="rsf2csf takes concrete arrays only"):
        traced(lambda t: fsl.rsf2csf(t, q))(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(fsl.funm(a, np.sin), sl.funm(a, np.sin))
        got, error = fsl.funm(a, fnp.exp, disp=False)
        want, want_error = sl.funm(a, np.exp, disp=False)
    _same(got, want)
    assert error == pytest.approx(want_error, abs=1e-12)
    with pytest.raises(TypeError, match="funm takes concrete arrays only"):
        traced(lambda a: fsl.funm(a, fnp.sin))(a)


# ------------------------------------------ solve_sylvester, eigh_tridiagonal, Fréchet

@pytest.mark.parametrize("kind", ["real", "complex"])
def test_solve_sylvester(kind):
    draw = rng.standard_normal if kind == "real" else _complex
    a, b, q = draw((3, 3)) + 3 * np.eye(3), draw((2, 2)) + 3 * np.eye(2), draw((3, 2))
    x = traced(fsl.solve_sylvester)(a, b, q)
    _same(x, sl.solve_sylvester(a, b, q), 1e-10)
    _same(a @ x + x @ b, q, 1e-10)
    fg.check_grads(lambda a, b, q: _weighted(fnp, fsl.solve_sylvester(a, b, q)), (a, b, q),
                   order=2)
    with pytest.raises(ValueError, match="solve_sylvester: q must have shape"):
        fsl.solve_sylvester(a, b, q.T)


def test_eigh_tridiagonal():
    d, e = rng.standard_normal(5), rng.standard_normal(4)
    w, v = traced(fsl.eigh_tridiagonal)(d, e)
    want_w, want_v = sl.eigh_tridiagonal(d, e)
    _same(w, want_w)
    _same(v * np.sign(v[:1]), want_v * np.sign(want_v[:1]))
    for select, bounds in (("i", (1, 3)), ("v", (-0.5, 1.5))):
        want = sl.eigh_tridiagonal(d, e, eigvals_only=True, select=select, select_range=bounds)
        _same(fsl.eigh_tridiagonal(d, e, eigvals_only=True, select=select, select_range=bounds),
              want)
    got = traced(lambda d, e: fsl.eigh_tridiagonal(d, e, select="i", select_range=(1, 3)))(d, e)
    _same(got[0], sl.eigh_tridiagonal(d, e, select="i", select_range=(1, 3))[0])
    fg.check_grads(lambda d, e: fnp.sum(fnp.sin(fsl.eigh_tridiagonal(d, e, eigvals_only=True))),
                   (d, e), order=2)
    with pytest.raises(ValueError, match="select='v'.*unknown while tracing"):
        traced(lambda d: fsl.eigh_tridiagonal(d, e, select="v", select_range=(0, 1)))(d)
    with pytest.raises(ValueError, match="eigh_tridiagonal: d must be 1-d"):
        fsl.eigh_tridiagonal(d, e[:2])


def test_expm_frechet():
    a, e = 0.5 * rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    for g, w in zip(traced(fsl.expm_frechet)(a, e), sl.expm_frechet(a, e)):
        _same(g, w, 1e-10)
    _same(fsl.expm_frechet(a, e, compute_expm=False), sl.expm_frechet(a, e, compute_expm=False),
          1e-10)
    fg.check_grads(lambda a, e: _weighted(fnp, fsl.expm_frechet(a, e, compute_expm=False)),
                   (a, e), order=1)
    if jax is not None:
        _against_jax(lambda m, s: lambda a, e: _weighted(
            m, s.expm_frechet(a, e, compute_expm=False)), a, e)


def test_complex_expm_and_expm_frechet():
    for scale in (0.3, 4.0):   # no squaring, and a few
        a = scale * _complex((3, 3))
        _same(traced(fsl.expm)(a), sl.expm(a), 1e-12, 1e-12 * np.abs(sl.expm(a)).max())
        if jax is not None:
            _against_jax(lambda m, s: lambda x: _weighted(m, s.expm(x)), a, rtol=1e-10,
                         atol=1e-10 * np.abs(sl.expm(a)).max())
    a, e = 0.3 * _complex((3, 3)), _complex((3, 3))
    fg.check_grads(lambda a: _weighted(fnp, fsl.expm(a)), (a,), order=2)
    for g, w in zip(traced(fsl.expm_frechet)(a, e), sl.expm_frechet(a, e)):
        _same(g, w, 1e-10, 1e-12)
    assert traced(fsl.expm)(a.astype(np.complex64)).dtype == np.complex64
    with pytest.raises(TypeError, match="solve: this function takes real arrays"):
        fsl.solve(a, e, assume_a="sym")


def test_complex_sqrtm():
    a = _complex((3, 3)) + 3 * np.eye(3)    # eigenvalues off the negative real axis
    root = traced(fsl.sqrtm)(a)
    _same(root, sl.sqrtm(a), 1e-10, 1e-12)
    _same(root @ root, a, 1e-10, 1e-12)
    fg.check_grads(lambda a: _weighted(fnp, fsl.sqrtm(a)), (a,), order=1)
    t = _complex((3, 3))   # (JAX's sqrtm has no derivative) X dX + dX X = dA
    tangent = fg.jvp(fsl.sqrtm, (a,), (t,))[1]
    _same(tangent, sl.solve_sylvester(root, root, t), 1e-8, 1e-10)


# --------------------------------------------------------------------- jit and float32

def _decompose(a, e):
    return (fsl.qr(a)[1], fsl.polar(a)[0], fsl.hessenberg(a), fsl.solve_sylvester(a, a.T, e),
            fsl.expm_frechet(0.3 * a, e, compute_expm=False), fsl.qr_multiply(a, e)[0],
            fsl.eigh_tridiagonal(a[0], a[1, :2], eigvals_only=True))


def test_decompositions_under_jit_and_in_float32():
    a = well_conditioned(rng, (3, 3)) + 3 * np.eye(3)
    e = rng.standard_normal((3, 3))
    jitted = fg.jit(_decompose)
    for got, want in zip(jitted(a, e), traced(_decompose)(a, e)):
        _same(got, want, 1e-12, 1e-12)
    jitted(a + 0.01, e)
    assert jitted.recompiles == []
    gradient = fg.jit(fg.grad(lambda a, e: sum(_weighted(fnp, fnp.atleast_2d(x))
                                               for x in _decompose(a, e))))
    _same(gradient(a, e), fg.grad(lambda a, e: sum(_weighted(fnp, fnp.atleast_2d(x))
                                                   for x in _decompose(a, e)))(a, e), 1e-10)
    single = traced(_decompose)(a.astype(np.float32), e.astype(np.float32))
    for got, want in zip(single, traced(_decompose)(a, e)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-4)


# ------------------------------------------------------------------------------ coverage

# jax.scipy.linalg's public callables (written here, not imported from JAX).
JAX_SCIPY_LINALG = """block_diag cho_factor cho_solve cholesky circulant companion
convolution_matrix det dft eigh eigh_tridiagonal expm expm_frechet fiedler fiedler_companion
funm hadamard hankel helmert hessenberg hilbert inv invhilbert invpascal leslie lu lu_factor
lu_solve pascal polar qr qr_multiply rsf2csf schur solve solve_sylvester solve_triangular
sqrtm svd toeplitz""".split()


def test_jax_scipy_linalg_coverage():
    missing = sorted(n for n in JAX_SCIPY_LINALG if not callable(getattr(fsl, n, None)))
    assert missing == []
    assert set(fsl.__all__) >= set(JAX_SCIPY_LINALG)
