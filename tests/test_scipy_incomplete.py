"""The regularized incomplete gamma and beta functions (``funcgrad.scipy.special.gammainc``,
``gammaincc``, ``betainc``, ``betaincc``): values against SciPy over wide ranges of every
argument (skipped without SciPy), against mpmath where SciPy's own error is larger (large
``a``; skipped without mpmath), SciPy's values at the edges, float32, derivatives in x of
every order, the first derivatives in a and b (against mpmath), and the error for a second
derivative in a parameter.

Measured maxima (float64, these draws): ``gammainc`` 4.4e-13 and ``gammaincc`` 5.5e-13 for
``a`` up to 300, ``betainc`` 5.6e-13 and ``betaincc`` 5.1e-13 for ``a, b`` up to 3000 (values
above 1e-250, below which SciPy's own error grows to 1e-2); for ``a`` from 300 to 1e5 SciPy's
``gammainc``/``gammaincc`` are off by up to 1.3e-11, ours by 3e-13 from mpmath.
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.scipy.special as fsp

scipy_special = pytest.importorskip("scipy.special", reason="SciPy is an optional test "
                                    "dependency")

RNG = np.random.default_rng(99)
N = 20000


def _gamma_points(low, high, size=N):
    """``a`` log-uniform on [10**low, 10**high]; half of the ``x`` spread over decades about
    a, half within a few standard deviations of it (where the series converge slowest)."""
    a = 10 ** RNG.uniform(low, high, size)
    half = size // 2
    x = np.concatenate([a[:half] * np.exp(RNG.normal(0, 1.5, half)),
                        np.abs(a[half:] + np.sqrt(a[half:]) * RNG.normal(0, 4, size - half))])
    return a, x


def _beta_points(low, high, size=N):
    a, b = 10 ** RNG.uniform(low, high, size), 10 ** RNG.uniform(low, high, size)
    mean = a / (a + b)
    spread = np.sqrt(mean * (1 - mean) / (a + b + 1))
    half = size // 2
    x = np.concatenate([RNG.uniform(0, 1, half),
                        np.clip(mean[half:] + spread[half:] * RNG.normal(0, 4, size - half),
                                0, 1)])
    return a, b, x


def _max_relative_error(got, want, floor=1e-250):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), "nan in different places"
    compared = want > floor
    return float(np.max(np.abs(got[compared] - want[compared]) / want[compared], initial=0.0))


GAMMA_A, GAMMA_X = _gamma_points(-3, 2.5)
BETA_A, BETA_B, BETA_X = _beta_points(-3, 3.5)
VALUE_CASES = [
    ("gammainc", fsp.gammainc, scipy_special.gammainc, (GAMMA_A, GAMMA_X), 1e-12),
    ("gammaincc", fsp.gammaincc, scipy_special.gammaincc, (GAMMA_A, GAMMA_X), 1e-12),
    ("betainc", fsp.betainc, scipy_special.betainc, (BETA_A, BETA_B, BETA_X), 1e-12),
    ("betaincc", fsp.betaincc, scipy_special.betaincc, (BETA_A, BETA_B, BETA_X), 1e-12),
]


@pytest.mark.parametrize("name, fn, reference, args, bound", VALUE_CASES,
                         ids=[case[0] for case in VALUE_CASES])
def test_values_against_scipy(name, fn, reference, args, bound):
    with np.errstate(all="ignore"):
        want = reference(*args)
    assert _max_relative_error(fn(*args), want) < bound


@pytest.mark.parametrize("name, fn, reference, args, bound", VALUE_CASES,
                         ids=[case[0] for case in VALUE_CASES])
def test_float32_values(name, fn, reference, args, bound):
    args32 = [np.asarray(arg[:2000], np.float32) for arg in args]
    with np.errstate(all="ignore"):
        want = np.asarray(reference(*[arg.astype(np.float64) for arg in args32]))
        got = fn(*args32)
    assert got.dtype == np.float32
    # float32 rounds once (below 6e-8 relative); its subnormals aside
    assert _max_relative_error(got, want.astype(np.float32), floor=1e-30) < 2.5e-7


def test_large_a_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    a, x = _gamma_points(2.5, 5, size=40)
    got_lower, got_upper = fsp.gammainc(a, x), fsp.gammaincc(a, x)
    def lower_series(v, w):   # P = x^a e^-x / Gamma(a + 1) 1F1(1; a + 1; x), positive terms
        v, w = mpmath.mpf(v), mpmath.mpf(w)
        return mpmath.exp(v * mpmath.log(w) - w - mpmath.loggamma(v + 1)) * mpmath.hyp1f1(
            1, v + 1, w, maxterms=10**6)

    for i in range(a.size):
        # 1 - P with the digits that a small Q needs (mpmath's own Q loses them near x = a)
        digits = 30 + int(max(-np.log10(max(float(got_upper[i]), 1e-300)), 0))
        with mpmath.workdps(digits):
            lower = lower_series(a[i], x[i])
            upper = 1 - lower
        for got, want in ((got_lower[i], lower), (got_upper[i], upper)):
            if want > 1e-290:
                assert abs(float(got) - float(want)) < 1e-12 * float(want), (a[i], x[i])


def test_edges_as_scipy():
    values = np.array([0.0, 1e-300, 0.5, 1.0, 2.0, np.inf, np.nan, -1.0])
    a, x = np.meshgrid(values, values)
    for ours, theirs in ((fsp.gammainc, scipy_special.gammainc),
                         (fsp.gammaincc, scipy_special.gammaincc)):
        np.testing.assert_allclose(ours(a, x), theirs(a, x), rtol=3e-13, atol=0)
    unit = np.array([0.0, 1e-300, 0.3, 0.5, 1.0, 1.5, np.nan, -0.5])
    a, b, x = np.meshgrid(values, values, unit)
    finite = ~(np.isinf(a) & np.isinf(b))    # both infinite: SciPy nan, ours 0 or 1
    # 1e-13: a parameter of 1e-300 makes the prefactor the exp of a logarithm of 690
    for ours, theirs in ((fsp.betainc, scipy_special.betainc),
                         (fsp.betaincc, scipy_special.betaincc)):
        np.testing.assert_allclose(ours(a, b, x)[finite], theirs(a, b, x)[finite], rtol=1e-13,
                                   atol=0)


def test_complements_and_known_values():
    a, x = np.array([0.5, 1.0, 3.0, 40.0]), np.array([0.7, 2.0, 2.5, 45.0])
    np.testing.assert_allclose(fsp.gammainc(a, x) + fsp.gammaincc(a, x), 1.0, rtol=1e-15)
    np.testing.assert_allclose(fsp.gammainc(1.0, x), -np.expm1(-x), rtol=1e-15)
    np.testing.assert_allclose(fsp.gammaincc(0.5, x), scipy_special.erfc(np.sqrt(x)),
                               rtol=1e-14)
    p = np.linspace(0.05, 0.95, 7)
    np.testing.assert_allclose(fsp.betainc(2.0, 3.0, p), p**2 * (6 - 8 * p + 3 * p**2),
                               rtol=1e-14)
    np.testing.assert_allclose(fsp.betainc(3.0, 2.0, p), 1 - fsp.betainc(2.0, 3.0, 1 - p),
                               rtol=1e-12)    # the cancellation of 1 - I, not betainc's
    np.testing.assert_allclose(fsp.betaincc(3.0, 2.0, p), fsp.betainc(2.0, 3.0, 1 - p),
                               rtol=1e-15)


# --------------------------------------------------------------------------- derivatives

A = np.array([0.3, 2.0, 25.0])
B = np.array([4.0, 0.6, 18.0])
GRAD_CASES = [
    ("gammainc", lambda x: fsp.gammainc(A, x), (np.array([0.4, 3.1, 22.0]),)),
    ("gammaincc", lambda x: fsp.gammaincc(A, x), (np.array([1.6, 0.9, 27.0]),)),
    ("gammainc_broadcast", lambda x: fsp.gammainc(A[:, None], x), (np.array([0.5, 2.5]),)),
    ("betainc", lambda x: fsp.betainc(A, B, x), (np.array([0.2, 0.8, 0.6]),)),
    ("betaincc", lambda x: fsp.betaincc(B, A, x), (np.array([0.7, 0.1, 0.5]),)),
]


@pytest.mark.parametrize("name, fn, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads_to_second_order(name, fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_derivatives_are_the_densities_to_third_order():
    x = np.array([0.4, 3.1, 22.0])
    log_density = (A - 1) * np.log(x) - x - scipy_special.gammaln(A)
    first = fg.vmap(fg.grad(lambda v, a: fsp.gammainc(a, v)))(x, A)
    np.testing.assert_allclose(first, np.exp(log_density), rtol=1e-13)
    # d^3/dx^3 of P is the second derivative of the density: f ((a-1)/x - 1)^2 - f (a-1)/x^2
    third = fg.vmap(fg.grad(fg.grad(fg.grad(lambda v, a: fsp.gammainc(a, v)))))(x, A)
    slope = (A - 1) / x - 1
    np.testing.assert_allclose(third, np.exp(log_density) * (slope**2 - (A - 1) / x**2),
                               rtol=1e-12)
    y = np.array([0.05, 0.8, 0.6])
    beta_density = np.exp((A - 1) * np.log(y) + (B - 1) * np.log1p(-y)
                          - scipy_special.betaln(A, B))
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda v, a, b: fsp.betainc(a, b, v)))(y, A, B),
                               beta_density, rtol=1e-12)
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda v, a: fsp.gammaincc(a, v)))(x, A),
                               -np.exp(log_density), rtol=1e-13)


def test_jit_and_vmap_of_the_gradient():
    def loss(x):
        return (fsp.gammainc(A, x) * fsp.betainc(A, B, x / 30.0)).sum()

    x = np.array([0.4, 3.1, 22.0])
    value, gradient = fg.jit(fg.value_and_grad(loss))(x)
    want_value, want_gradient = fg.value_and_grad(loss)(x)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, want_gradient, rtol=1e-13)
    batched = fg.vmap(fg.grad(lambda v: fsp.gammaincc(2.5, v)))(x)
    looped = np.stack([fg.grad(lambda v: fsp.gammaincc(2.5, v))(v) for v in x])
    np.testing.assert_allclose(batched, looped, rtol=1e-15)


def test_derivative_in_a_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    a = np.array([0.01, 0.05, 0.3, 1.0, 2.5, 20.0, 64.0, 210.0, 5000.0, 5000.0])
    x = np.array([3.0, 0.3, 0.8, 1.0, 40.0, 5.0, 225.0, 506.0, 5100.0, 4900.0])
    got = fg.vmap(fg.grad(fsp.gammainc))(a, x)
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.gammaincc))(a, x), -got, rtol=1e-15)
    with mpmath.workdps(120):     # the digits that a difference quotient of P near 1 needs
        for i in range(a.size):
            want = mpmath.diff(lambda v, w=x[i]: mpmath.gammainc(v, 0, w, regularized=True),
                               mpmath.mpf(a[i]))
            assert abs(got[i] - float(want)) < 1e-13 * abs(float(want)), (a[i], x[i])


def test_beta_derivatives_in_a_and_b_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    a = np.array([2.0, 0.5, 30.0, 0.01, 5.0, 200.0, 1.5, 0.3, 3.0, 0.2])
    b = np.array([3.0, 0.5, 20.0, 4.0, 0.02, 300.0, 7.0, 2.0, 0.5, 0.3])
    x = np.array([0.3, 0.9, 0.55, 0.2, 0.9, 0.38, 0.05, 0.999, 0.2, 0.5])
    grad_a, grad_b = fg.vmap(fg.grad(fsp.betainc, argnums=(0, 1)))(a, b, x)
    complement = fg.vmap(fg.grad(fsp.betaincc, argnums=(0, 1)))(a, b, x)
    np.testing.assert_allclose(complement[0], -grad_a, rtol=1e-15)
    np.testing.assert_allclose(complement[1], -grad_b, rtol=1e-15)
    with mpmath.workdps(60):
        for i in range(a.size):
            want_a = mpmath.diff(lambda v, q=b[i], w=x[i]: mpmath.betainc(
                v, q, 0, w, regularized=True), mpmath.mpf(a[i]))
            want_b = mpmath.diff(lambda v, p=a[i], w=x[i]: mpmath.betainc(
                p, v, 0, w, regularized=True), mpmath.mpf(b[i]))
            for got, want in ((grad_a[i], want_a), (grad_b[i], want_b)):
                assert abs(got - float(want)) < 2e-13 * abs(float(want)), (a[i], b[i], x[i])


def test_derivatives_in_the_parameters_with_central_differences():
    a, x = np.array([0.2, 1.7, 30.0]), np.array([0.5, 3.0, 26.0])
    for fn in (fsp.gammainc, fsp.gammaincc):
        fg.check_grads(fn, (a, x), order=1, modes=("fwd", "rev"))
        # the mixed derivative d/dx dP/da: the density's a-derivative
        fg.check_grads(lambda v, fn=fn: fg.vmap(fg.grad(fn))(a, v), (x,), order=2,
                       modes=("fwd", "rev"))
    b, y = np.array([2.0, 0.3, 25.0]), np.array([0.3, 0.8, 0.6])
    for fn in (fsp.betainc, fsp.betaincc):
        fg.check_grads(fn, (a, b, y), order=1, modes=("fwd", "rev"))
        fg.check_grads(lambda v, fn=fn: fg.vmap(fg.grad(fn, argnums=(0, 1)))(a, b, v), (y,),
                       order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("family, fn, argument", [
    ("gammainc/gammaincc", lambda a: fsp.gammainc(a, 1.5), "a"),
    ("gammainc/gammaincc", lambda a: fsp.gammaincc(a, 1.5), "a"),
    ("betainc/betaincc", lambda a: fsp.betainc(a, 2.0, 0.3), "a"),
    ("betainc/betaincc", lambda b: fsp.betainc(2.0, b, 0.3), "b"),
    ("betainc/betaincc", lambda b: fsp.betaincc(2.0, b, 0.3), "b"),
], ids=["gammainc", "gammaincc", "betainc_a", "betainc_b", "betaincc_b"])
def test_a_second_derivative_in_a_parameter_raises_naming_it(family, fn, argument):
    message = f"{family}: no second derivative with respect to its parameter {argument}"
    for transform in (fg.grad, lambda f: fg.jit(fg.grad(f)),
                      lambda f: lambda v: fg.jvp(f, (v,), (1.0,))):
        with pytest.raises(TypeError, match=message):
            transform(fg.grad(fn))(1.7)
    # a Taylor series in the parameter needs every order
    with pytest.raises(TypeError, match=f"no second derivative with respect to its parameter "
                       f"{argument}"):
        fg.jet(fn, (1.7,), ([1.0, 0.0],))
    # held constant (stop_gradient), the parameter is fine
    assert np.isfinite(fg.grad(lambda v: fn(fg.stop_gradient(v)) * v)(1.7))
