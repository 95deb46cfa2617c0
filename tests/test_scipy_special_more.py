"""funcgrad.scipy.special, the later functions (gammasgn, loggamma, factorial, comb, poch,
multigammaln, bernoulli, i0, i1, rel_entr, kl_div, boxcox, boxcox1p, and the primitives exp1,
expi, expn, erfcx, dawsn, spence, zeta, owens_t and hyp1f1): values against SciPy on
grids with their edges (poles, zeros, overflow), derivatives to second order, vmap against a
loop, one jit against eager, float32, and the errors.

The bounds are the measured maxima rounded up: these functions are compositions of gammaln,
exp, log and expm1, so their relative errors are a few ulps of the largest term (``gammaln`` of
the largest argument for comb and poch: about 1e-13 at arguments near 60).
"""
import fractions

import numpy as np
import pytest
from test_scipy_stats_more import _compare

import funcgrad as fg
import funcgrad.scipy.special as fsp

scipy_special = pytest.importorskip("scipy.special", reason="SciPy is an optional test "
                                    "dependency")

RNG = np.random.default_rng(5)
N = 2000


EDGES = np.array([-0.0, 0.0, -1.0, -2.0, np.nan, -np.inf, np.inf, -1e20, 1e20, 170.6, 171.7,
                  0.5])
X = np.concatenate([RNG.uniform(-30, 30, N), EDGES])
# real N and k, with k beyond N and below 0; and whole numbers
REAL_N, REAL_K = RNG.uniform(-2, 60, N), RNG.uniform(-2, 60, N)
WHOLE_N, WHOLE_K = np.arange(0.0, 60.0)[:, None], np.arange(-2.0, 62.0)[None, :]
# z and m over both signs, with z at the poles and z + m at or off them
POLES = -np.arange(6.0)
Z = np.concatenate([RNG.uniform(-10, 10, N), POLES, POLES, [2.0, 1.0, -2.5]])
M = np.concatenate([RNG.uniform(-5, 5, N), np.arange(6.0), [1.5, 2, 3, 4, 6, 7], [-2, -1, -1]])
POSITIVE = np.concatenate([np.exp(RNG.uniform(-20, 5, N)), [0.0, 0.0, 1.0, 1.0, -1.0, 2.0, 0.0]])
OTHER = np.concatenate([np.exp(RNG.uniform(-20, 5, N)), [0.0, 1.0, 0.0, 2.0, 1.0, -1.0, -1.0]])
LAMBDA = np.concatenate([RNG.uniform(-3, 3, N - 40), np.zeros(20), np.full(20, 1e-12),
                         [0.0, 0.5, 1.0, -1.0]])
BESSEL = np.concatenate([RNG.uniform(-50, 50, N), [0.0, 700.0, -700.0, 713.0, 800.0]])

VALUE_CASES = [
    ("gammasgn", fsp.gammasgn, scipy_special.gammasgn, (X,), 0),
    ("loggamma", fsp.loggamma, scipy_special.loggamma, (X,), 2e-15),
    ("factorial", fsp.factorial, scipy_special.factorial, (X,), 5e-14),
    ("comb_real", fsp.comb, scipy_special.comb, (REAL_N, REAL_K), 1e-13),
    ("comb_whole", fsp.comb, scipy_special.comb, (WHOLE_N, WHOLE_K), 1e-13),
    ("comb_repetition", lambda n, k: fsp.comb(n, k, repetition=True),
     lambda n, k: scipy_special.comb(n, k, repetition=True), (WHOLE_N, WHOLE_K[:, 2:]), 2e-13),
    # negative z: differences of gammaln near its poles, where it is large
    ("poch", fsp.poch, scipy_special.poch, (Z, M), 1e-12),
    ("poch_whole", fsp.poch, scipy_special.poch, (np.round(Z), np.round(M)), 1e-14),
    ("multigammaln1", lambda a: fsp.multigammaln(a, 1), lambda a: scipy_special.multigammaln(
        a, 1), (RNG.uniform(0.1, 50, N),), 1e-14),
    ("multigammaln5", lambda a: fsp.multigammaln(a, 5), lambda a: scipy_special.multigammaln(
        a, 5), (RNG.uniform(2.01, 50, N),), 1e-14),
    ("i0", fsp.i0, scipy_special.i0, (BESSEL,), 4e-15),
    ("i1", fsp.i1, scipy_special.i1, (BESSEL,), 4e-15),
    ("rel_entr", fsp.rel_entr, scipy_special.rel_entr, (POSITIVE, OTHER), 4e-15),
    ("kl_div", fsp.kl_div, scipy_special.kl_div, (POSITIVE, OTHER), 2e-15),
    # the primitives of funcgrad/ops/exponential_integrals.py, to their stated accuracy
    ("exp1", fsp.exp1, scipy_special.exp1, (np.concatenate([
        np.exp(RNG.uniform(-30, 7, N)), RNG.uniform(0, 3, N), [-1.0, 0.0, 1e-300, 800.0,
                                                               np.inf, np.nan]]),), 4e-15),
    ("expi", fsp.expi, scipy_special.expi, (np.concatenate([
        np.exp(RNG.uniform(-30, 7, N)), -np.exp(RNG.uniform(-30, 7, N)), RNG.uniform(-50, 50, N),
        [0.0, np.inf, -np.inf, np.nan, 720.0, -800.0]]),), 5e-14),
    # expn of an array of orders, beyond x = 50 also exp(-x)'s rounding (x ulps)
    ("expn", fsp.expn, scipy_special.expn, (np.array([0, 1, 2, 3, 5, 10, 30, 80, -1])[:, None],
                                            np.concatenate([np.exp(RNG.uniform(-30, 4, 300)),
                                                            [0.0, 1e-300, np.inf, -1.0]])),
     8e-15),
    ("expn_large_x", lambda x: fsp.expn(7, x), lambda x: scipy_special.expn(7, x),
     (RNG.uniform(50, 700, N),), 2e-13),
    ("zeta", fsp.zeta, scipy_special.zeta, (
        np.concatenate([1 + np.exp(RNG.uniform(-12, 4, N)), RNG.uniform(0, 60, N),
                        [1.0, 2.0, 2.0, 2.5, np.inf, np.inf, 0.5]]),
        np.concatenate([np.exp(RNG.uniform(-5, 5, N)), RNG.uniform(-10, 10, N),
                        [1.0, -1.5, -2.0, -1.5, 2.0, 0.5, 1.0]])), 2e-15),
    ("zeta_riemann", fsp.zeta, scipy_special.zeta, (np.concatenate([
        RNG.uniform(0, 60, N), [-3.0, -2.0, -1.0, 0.0, 1.0, np.inf, -np.inf, np.nan]]),), 2e-14),
    # by reflection: exp of a log-gamma of up to 150 (ours and SciPy's are both within 7e-13
    # of mpmath's there)
    ("zeta_riemann_negative", fsp.zeta, scipy_special.zeta, (RNG.uniform(-60, 0, N),), 1.5e-12),
    # SciPy's dawsn is off by up to 1.3e-14 near x = 0.01 (ours agrees with mpmath there)
    ("dawsn", fsp.dawsn, scipy_special.dawsn, (np.concatenate([
        RNG.uniform(-10, 10, N), np.exp(RNG.uniform(-30, 40, N)), -np.exp(RNG.uniform(-3, 40, N)),
        [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, 1e8]]),), 2e-14),
    # where the terms keep one sign; SciPy's is off by up to 5e-12 there (ours within 7e-15
    # of mpmath)
    ("hyp1f1", fsp.hyp1f1, scipy_special.hyp1f1, (
        np.exp(RNG.uniform(-3, 3, N)), np.exp(RNG.uniform(-3, 3, N)), RNG.uniform(0, 50, N)),
     3e-13),
    ("hyp1f1_kummer", lambda a, c, x: fsp.hyp1f1(a, a + c, x),
     lambda a, c, x: scipy_special.hyp1f1(a, a + c, x), (
         np.exp(RNG.uniform(-3, 3, N)), np.exp(RNG.uniform(-3, 3, N)), -RNG.uniform(0, 50, N)),
     1e-11),
    # SciPy's is off by up to 3e-13 for tiny a with h near 5 (ours agrees with mpmath there)
    ("owens_t", fsp.owens_t, scipy_special.owens_t, (
        np.concatenate([RNG.uniform(-12, 12, N), RNG.uniform(-1, 1, N),
                        [0.0, 0.0, 1.0, np.inf, -np.inf, np.nan, 3.0, 40.0]]),
        np.concatenate([RNG.uniform(-3, 3, N) * np.exp(RNG.uniform(-5, 5, N)),
                        RNG.uniform(-2, 2, N), [1.0, np.inf, 0.0, 1.0, 2.0, 1.0, -np.inf, 0.5]])),
     4e-13),
    ("spence", fsp.spence, scipy_special.spence, (np.concatenate([
        RNG.uniform(0, 3, N), np.exp(RNG.uniform(-40, 40, N)),
        [-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, np.inf, np.nan, 1 - 1e-12, 1 + 1e-12]]),), 5e-15),
    ("erfcx", fsp.erfcx, scipy_special.erfcx, (np.concatenate([
        RNG.uniform(0, 30, N), np.exp(RNG.uniform(-30, 700, N)),
        [0.0, 1e300, np.inf, np.nan]]),), 4e-15),
    ("erfcx_negative", fsp.erfcx, scipy_special.erfcx,
     (np.concatenate([RNG.uniform(-27, 0, N), [-26.0, -30.0, -np.inf]]),), 6e-14),
    ("boxcox", fsp.boxcox, scipy_special.boxcox,
     (np.concatenate([np.exp(RNG.uniform(-10, 10, N)), [0.0, 1.0, -1.0, 2.0]]), LAMBDA),
     2e-15),
    ("boxcox1p", fsp.boxcox1p, scipy_special.boxcox1p,
     (np.concatenate([np.exp(RNG.uniform(-30, 5, N)) - 0.5, [-1.0, 0.0, -2.0, 1e-20]]),
      LAMBDA), 2e-15),
]


@pytest.mark.parametrize("name, fn, reference, args, rtol", VALUE_CASES,
                         ids=[c[0] for c in VALUE_CASES])
def test_values_against_scipy(name, fn, reference, args, rtol):
    # near the zeros of gammaln (x = 1, 2) and of expi (x = 0.3725) the bound is absolute: an
    # ulp of the terms
    atol = 1e-15 if name.startswith(("loggamma", "multigammaln", "expi")) else 1e-300
    with np.errstate(all="ignore"):
        want = reference(*args)
        got = fn(*args)
    assert np.isfinite(want).sum() > np.size(want) // 3, "too few finite values to compare"
    _compare(got, want, rtol, name, atol)


def test_bernoulli_numbers_are_exact():
    numbers = fsp.bernoulli(30)
    assert numbers.shape == (31,) and numbers.dtype == np.float64
    assert numbers[1] == -0.5 and np.all(numbers[3::2] == 0.0)
    # B_30 = 8615841276005 / 14322, rounded once
    assert numbers[30] == float(fractions.Fraction(8615841276005, 14322))
    assert numbers[4] == -1 / 30
    # SciPy's are within 2e-12 of these
    np.testing.assert_allclose(numbers, scipy_special.bernoulli(30), rtol=2e-12)


def test_values_at_the_edges():
    assert fsp.gammasgn(-0.0) == -1.0 and fsp.gammasgn(0.0) == 1.0
    assert np.isnan(fsp.gammasgn(-3.0)) and fsp.gammasgn(-2.5) == -1.0
    assert fsp.loggamma(0.0) == np.inf and np.isnan(fsp.loggamma(-0.5))
    assert fsp.factorial(-1.0) == 0.0 and float(fsp.factorial(5)) == pytest.approx(120, 1e-15)
    assert fsp.comb(5, 6) == 0.0 and fsp.comb(3, 0, repetition=True) == 1.0
    assert float(fsp.poch(-3.0, 2.0)) == pytest.approx(6.0, 1e-15)     # (-3)(-2)
    assert fsp.poch(-3.0, 4.0) == 0.0 and fsp.poch(2.0, -2.0) == np.inf
    assert fsp.kl_div(0.0, 2.0) == 2.0 and fsp.rel_entr(1.0, 0.0) == np.inf
    assert fsp.boxcox(0.0, 0.0) == -np.inf and np.isnan(fsp.boxcox1p(-2.0, 1.0))


# --------------------------------------------------------------------------- derivatives

GRAD_CASES = [
    ("loggamma", fsp.loggamma, (np.array([0.3, 1.7, 14.5]),)),
    ("factorial", fsp.factorial, (np.array([0.3, 1.7, 4.5]),)),
    ("comb", fsp.comb, (np.array([5.5, 9.0, 20.3]), np.array([1.2, 3.0, 7.5]))),
    ("comb_repetition", lambda n, k: fsp.comb(n, k, repetition=True),
     (np.array([5.5, 9.0, 20.3]), np.array([1.2, 3.0, 7.5]))),
    ("poch", fsp.poch, (np.array([-2.5, 0.7, 3.2]), np.array([1.3, 2.0, -0.4]))),
    ("multigammaln", lambda a: fsp.multigammaln(a, 3), (np.array([1.7, 4.0, 9.5]),)),
    ("i0", fsp.i0, (np.array([-3.0, 0.0, 0.5, 25.0]),)),
    ("i1", fsp.i1, (np.array([-3.0, 0.0, 0.5, 25.0]),)),
    ("rel_entr", fsp.rel_entr, (np.array([0.2, 1.5]), np.array([0.7, 0.4]))),
    ("kl_div", fsp.kl_div, (np.array([0.2, 1.5]), np.array([0.7, 0.4]))),
    ("boxcox", fsp.boxcox, (np.array([0.3, 2.0, 7.0]), np.array([-0.7, 0.2, 1.5]))),
    ("exp1", fsp.exp1, (np.array([0.3, 1.0, 4.5]),)),
    ("expn0", lambda x: fsp.expn(0, x), (np.array([0.3, 1.0, 4.5]),)),
    ("spence", fsp.spence, (np.array([0.3, 1.2, 4.5]),)),
    ("dawsn", fsp.dawsn, (np.array([-2.0, 0.3, 0.5, 4.5]),)),
    ("owens_t", fsp.owens_t, (np.array([-1.5, 0.3, 2.5, 0.8]), np.array([0.7, -1.8, 0.4, 3.0]))),
    ("hyp1f1_in_x", lambda x: fsp.hyp1f1(np.array([0.5, 2.0, 1.5]), np.array([1.5, 0.7, 3.0]), x),
     (np.array([0.3, 1.5, -2.0]),)),
    ("zeta_in_q", lambda q: fsp.zeta(np.array([2.0, 3.5, 1.5]), q), (np.array([0.5, 1.5, 4.0]),)),
    ("expn3", lambda x: fsp.expn(3, x), (np.array([0.3, 1.0, 4.5]),)),
    ("expi", fsp.expi, (np.array([-2.0, 0.3, 4.5, 45.0]),)),
    ("erfcx", fsp.erfcx, (np.array([-2.0, 0.3, 4.5, 40.0]),)),
    ("boxcox1p", fsp.boxcox1p, (np.array([-0.3, 2.0, 7.0]), np.array([-0.7, 0.2, 1.5]))),
]


@pytest.mark.parametrize("name, fn, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads_to_second_order(name, fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_derivatives_are_the_known_ones():
    x = np.array([-3.0, 0.5, 25.0])
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.i0))(x), scipy_special.i1(x), rtol=1e-14)
    # i1' = i0 - i1 / x, and 1/2 at 0
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.i1))(x),
                               scipy_special.i0(x) - scipy_special.i1(x) / x, rtol=1e-14)
    assert float(fg.grad(fsp.i1)(0.0)) == 0.5
    assert float(fg.grad(fg.grad(fsp.i0))(0.0)) == 0.5
    assert float(fg.grad(fsp.spence)(1.0)) == -1.0
    # 1F1(a; a; x) = exp(x), 1F1(1; 2; x) = (exp(x) - 1) / x
    np.testing.assert_allclose(fsp.hyp1f1(2.5, 2.5, x), np.exp(x), rtol=1e-14)
    np.testing.assert_allclose(fsp.hyp1f1(1.0, 2.0, x), np.expm1(x) / x, rtol=1e-14)
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.dawsn))(x),
                               1 - 2 * x * scipy_special.dawsn(x), rtol=1e-13, atol=1e-15)
    # d/dq zeta(x, q) = -x zeta(x + 1, q)
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda q: fsp.zeta(2.5, q)))(x[1:] + 3.5),
                               -2.5 * scipy_special.zeta(3.5, x[1:] + 3.5), rtol=1e-14)
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.exp1))(x[1:]), -np.exp(-x[1:]) / x[1:],
                               rtol=1e-14)
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.expi))(x), np.exp(x) / x, rtol=1e-14)
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.erfcx))(x),
                               2 * x * scipy_special.erfcx(x) - 2 / np.sqrt(np.pi), rtol=1e-13,
                               atol=1e-15)   # (a difference that cancels at large x)
    p, q = np.array([0.2, 1.5]), np.array([0.7, 0.4])
    dp, dq = fg.grad(lambda p, q: fsp.kl_div(p, q).sum(), argnums=(0, 1))(p, q)
    np.testing.assert_allclose(dp, np.log(p / q), rtol=1e-14)
    np.testing.assert_allclose(dq, 1 - p / q, rtol=1e-14)


def test_traced_programs_hold_the_primitives():
    for fn, name in [(fsp.exp1, "exp1"), (fsp.expi, "expi"), (lambda x: fsp.expn(3, x), "expn"),
                     (fsp.erfcx, "erfcx"), (fsp.dawsn, "dawsn"), (fsp.spence, "spence"),
                     (lambda x: fsp.zeta(2.5, x), "zeta"), (fsp.i0, "i0e"),
                     (lambda x: fsp.owens_t(x, 0.5), "owens_t")]:
        assert f" {name}" in str(fg.make_ir(fn)(np.array([0.5, 2.0]))), name


def test_vmap_of_grad_matches_a_loop():
    z, m = np.array([-2.5, 0.7, 3.2]), np.array([1.3, 2.0, -0.4])
    batched = fg.vmap(fg.grad(fsp.poch, argnums=(0, 1)))(z, m)
    for i in range(3):
        for got, want in zip(batched, fg.grad(fsp.poch, argnums=(0, 1))(z[i], m[i])):
            np.testing.assert_allclose(got[i], want, rtol=1e-14)


def test_one_jit_against_eager():
    def loss(x):
        return (fsp.loggamma(x) + fsp.factorial(x) + fsp.comb(x + 3.0, x) + fsp.poch(x, 1.5)
                + fsp.multigammaln(x + 1.0, 2) + fsp.i0(x) + fsp.i1(x) + fsp.kl_div(x, 1.0)
                + fsp.rel_entr(x, 2.0) + fsp.boxcox(x, 0.5) + fsp.boxcox1p(x, -0.5)
                + fsp.gammasgn(x - 3.0) + fsp.exp1(x) + fsp.expi(x) + fsp.erfcx(x)
                + fsp.expn(np.array([0, 2, 2, 5]), x) + fsp.spence(x) + fsp.zeta(3.0, x)
                + fsp.dawsn(x) + fsp.owens_t(x, 0.5 * x) + fsp.hyp1f1(0.5, 1.5, x)).sum()

    x = np.array([0.5, 1.5, 3.3, 7.0])
    value, gradient = fg.jit(fg.value_and_grad(loss))(x)
    want_value, want_gradient = fg.value_and_grad(loss)(x)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, want_gradient, rtol=1e-13)


def test_float32_stays_float32():
    x = np.array([0.5, 1.5, 3.3], np.float32)
    functions = [fsp.gammasgn, fsp.loggamma, fsp.factorial, fsp.i0, fsp.i1,
                 lambda v: fsp.comb(v + 3, v), lambda v: fsp.poch(v, 1.5),
                 lambda v: fsp.multigammaln(v + 1, 2), lambda v: fsp.kl_div(v, 1.0),
                 lambda v: fsp.rel_entr(v, 2.0), lambda v: fsp.boxcox(v, 0.5),
                 lambda v: fsp.boxcox1p(v, 0.0), fsp.exp1, fsp.expi, fsp.erfcx, fsp.spence,
                 fsp.dawsn, lambda v: fsp.zeta(v + 1.5, v), lambda v: fsp.zeta(v + 1.5),
                 lambda v: fsp.expn(2, v), lambda v: fsp.owens_t(v, 2.0),
                 lambda v: fsp.hyp1f1(0.5, 1.5, v)]
    for fn in functions:
        assert fn(x).dtype == np.float32, fn
    # one compiled program for all of them
    for fn, value in zip(functions, fg.jit(lambda v: tuple(fn(v) for fn in functions))(x)):
        assert value.dtype == np.float32, fn


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="bernoulli: n must be a concrete non-negative"):
        fsp.bernoulli(-1)
    with pytest.raises(ValueError, match="multigammaln: d must be a concrete positive"):
        fsp.multigammaln(3.0, 0)
    with pytest.raises(ValueError, match="factorial: exact=True is not supported"):
        fsp.factorial(3, exact=True)
    with pytest.raises(TypeError, match="zeta: no derivative with respect to x"):
        fg.grad(fsp.zeta)(2.5, 1.5)
    with pytest.raises(TypeError, match="zeta: no derivative with respect to x"):
        fg.grad(fsp.zeta)(2.5)
    with pytest.raises(TypeError, match="hyp1f1: no derivative with respect to its parameter b"):
        fg.grad(fsp.hyp1f1, argnums=1)(0.5, 1.5, 2.0)
    with pytest.raises(TypeError, match="expn: the order n is"):
        fg.jit(fsp.expn)(2, 1.0)
    with pytest.raises(ValueError, match="expn: the order n must hold whole numbers"):
        fsp.expn(2.5, 1.0)
    with pytest.raises(ValueError, match="multigammaln: d must be a concrete"):
        fg.jit(fsp.multigammaln)(3.0, 2)
