"""funcgrad.scipy.stats: values against scipy.stats over ranges of every argument (skipped
without SciPy), out-of-support values, derivatives to second order with respect to x and the
parameters, vmap against a loop, one jit, and the errors for wrong shapes.
"""
import numpy as np
import pytest

import funcgrad as fg
from funcgrad.scipy import stats as fstats

RNG = np.random.default_rng(7)
N = 400


def _uniform(low, high, size=N):
    return RNG.uniform(low, high, size)


def _positive(size=N):
    return np.exp(RNG.uniform(-2.5, 2.5, size))


X = _uniform(-30, 30)
LOC, SCALE = _uniform(-3, 3), _positive()
IN_UNIT = LOC + SCALE * _uniform(-0.3, 1.3)    # about 3/4 of it in [loc, loc + scale]

# name, distribution, function, arguments (broadcast together), the relative bound. Bounds are
# a few hundred ulps: the log-densities are sums of terms of mixed sign (gammaln, log).
CONTINUOUS = [
    ("norm", "logpdf", (X, LOC, SCALE)),
    ("expon", "logpdf", (X, LOC, SCALE)),
    ("laplace", "logpdf", (X, LOC, SCALE)),
    ("logistic", "logpdf", (X, LOC, SCALE)),
    ("cauchy", "logpdf", (X, LOC, SCALE)),
    ("uniform", "logpdf", (IN_UNIT, LOC, SCALE)),
    ("lognorm", "logpdf", (X, _positive(), LOC, SCALE)),
    ("gamma", "logpdf", (X, _positive(), LOC, SCALE)),
    ("chi2", "logpdf", (X, _positive(), LOC, SCALE)),
    ("beta", "logpdf", (_uniform(-0.5, 1.5), _positive(), _positive(), 0.0, 1.0)),
    ("beta", "logpdf", (IN_UNIT, _positive(), _positive(), LOC, SCALE)),
    ("t", "logpdf", (X, _positive(), LOC, SCALE)),
]
CDFS = [
    ("expon", ("cdf", "logcdf", "sf", "logsf"), (X, LOC, SCALE)),
    ("laplace", ("cdf", "logcdf", "sf", "logsf"), (X, LOC, SCALE)),
    ("logistic", ("cdf", "logcdf", "sf", "logsf"), (X, LOC, SCALE)),
    ("cauchy", ("cdf", "logcdf", "sf", "logsf"), (X * 1e3, LOC, SCALE)),
    ("uniform", ("cdf",), (IN_UNIT, LOC, SCALE)),
    ("lognorm", ("cdf", "logcdf", "sf", "logsf"), (X, _positive(), LOC, SCALE)),
    # the incomplete gamma and beta functions: shapes from 1e-2 to 1e3
    ("gamma", ("cdf", "logcdf", "sf", "logsf"), (X, _positive() ** 3, LOC, SCALE)),
    ("chi2", ("cdf", "logcdf", "sf", "logsf"), (X, _positive() ** 3, LOC, SCALE)),
    ("beta", ("cdf", "logcdf", "sf", "logsf"),
     (_uniform(-0.2, 1.2), _positive() ** 3, _positive() ** 3, 0.0, 1.0)),
    ("beta", ("cdf", "logcdf", "sf", "logsf"), (IN_UNIT, _positive(), _positive(), LOC, SCALE)),
    ("t", ("cdf", "logcdf", "sf", "logsf"), (X, _positive() ** 3, LOC, SCALE)),
]
QUANTILES = [
    ("expon", ("ppf",)), ("logistic", ("ppf", "isf")), ("cauchy", ("ppf", "isf")),
    ("uniform", ("ppf",)), ("norm", ("ppf", "isf")),
]


@pytest.fixture(scope="module")
def scipy_stats():
    return pytest.importorskip("scipy.stats", reason="SciPy is an optional test dependency")


def _compare(got, want, rtol, name):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, name
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite], want[~finite], equal_nan=True), \
        f"{name}: different infinities or nans"
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=1e-300,
                               err_msg=name)


@pytest.mark.parametrize("distribution, function, args", CONTINUOUS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONTINUOUS)])
def test_densities_against_scipy(scipy_stats, distribution, function, args):
    ours, theirs = getattr(fstats, distribution), getattr(scipy_stats, distribution)
    with np.errstate(all="ignore"):
        for name in (function, function.replace("log", "")):
            want = getattr(theirs, name)(*args)
            assert np.isfinite(want).sum() > N // 4, "too few draws in the support"
            _compare(getattr(ours, name)(*args), want, 1e-12, f"{distribution}.{name}")


@pytest.mark.parametrize("distribution, functions, args", CDFS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CDFS)])
def test_cdfs_against_scipy(scipy_stats, distribution, functions, args):
    ours, theirs = getattr(fstats, distribution), getattr(scipy_stats, distribution)
    with np.errstate(all="ignore"):
        for name in functions:
            got, want = np.asarray(getattr(ours, name)(*args)), getattr(theirs, name)(*args)
            if name.startswith("log"):
                # a probability below the normal floats: SciPy's incomplete gamma gives 0
                # there, ours the subnormal number (whose logarithm is below -708)
                got = np.where(np.isneginf(want) & (got < -708), -np.inf, got)
            _compare(got, want, 1e-12, f"{distribution}.{name}")


@pytest.mark.parametrize("distribution, functions", QUANTILES, ids=[c[0] for c in QUANTILES])
def test_quantiles_against_scipy(scipy_stats, distribution, functions):
    q = np.concatenate([_uniform(0, 1), [0.0, 1.0, 1e-3, 1 - 1e-3]])
    loc, scale = _uniform(-3, 3, q.size), _positive(q.size)
    ours, theirs = getattr(fstats, distribution), getattr(scipy_stats, distribution)
    with np.errstate(all="ignore"):
        for name in functions:
            _compare(getattr(ours, name)(q, loc, scale), getattr(theirs, name)(q, loc, scale),
                     1e-10, f"{distribution}.{name}")


def test_broadcasting_as_scipy(scipy_stats):
    x = np.linspace(0.05, 6, 7)[:, None]
    a = np.array([0.5, 1.0, 2.5])
    got = fstats.gamma.logpdf(x, a, scale=np.array([[2.0]]))
    assert got.shape == (7, 3)
    _compare(got, scipy_stats.gamma.logpdf(x, a, scale=2.0), 1e-13, "gamma")
    _compare(fstats.t.pdf(x, a[:, None, None]), scipy_stats.t.pdf(x, a[:, None, None]), 1e-13,
             "t")


def test_discrete_against_scipy(scipy_stats):
    k = np.arange(-3, 40)[:, None]
    mu = np.concatenate([_positive(20) * 3, [1e-3, 25.0]])[None, :]
    _compare(fstats.poisson.logpmf(k, mu), scipy_stats.poisson.logpmf(k, mu), 1e-12, "logpmf")
    _compare(fstats.poisson.pmf(k, mu), scipy_stats.poisson.pmf(k, mu), 1e-12, "pmf")
    _compare(fstats.poisson.pmf(k, mu, loc=2), scipy_stats.poisson.pmf(k, mu, loc=2), 1e-12,
             "pmf loc")
    _compare(fstats.poisson.cdf(k, mu), scipy_stats.poisson.cdf(k, mu), 1e-12, "cdf")
    half = k + 0.5    # non-integer k: pmf 0, cdf that of floor(k)
    _compare(fstats.poisson.pmf(half, mu), scipy_stats.poisson.pmf(half, mu), 1e-12, "pmf")
    _compare(fstats.poisson.cdf(half, mu, loc=1), scipy_stats.poisson.cdf(half, mu, loc=1),
             1e-12, "cdf half")
    cdf, sf = scipy_stats.poisson.cdf(k, mu), scipy_stats.poisson.sf(k, mu)
    _compare(fstats.poisson.sf(k, mu), sf, 1e-12, "sf")
    _compare(fstats.poisson.sf(half, mu, loc=1), scipy_stats.poisson.sf(half, mu, loc=1), 1e-12,
             "sf half")
    # SciPy's logcdf is log(cdf), which loses digits where cdf is near 1: log1p(-sf) there
    with np.errstate(divide="ignore"):
        _compare(fstats.poisson.logcdf(k, mu), np.where(cdf < 0.5, np.log(cdf), np.log1p(-sf)),
                 1e-12, "logcdf")
        _compare(fstats.poisson.logsf(k, mu), np.where(sf < 0.5, np.log(sf), np.log1p(-cdf)),
                 1e-12, "logsf")
    k, p = np.arange(-2, 4)[:, None], np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    with np.errstate(divide="ignore"):
        for name in ("logpmf", "pmf", "cdf"):
            _compare(getattr(fstats.bernoulli, name)(k, p),
                     getattr(scipy_stats.bernoulli, name)(k, p), 1e-14, f"bernoulli.{name}")
            _compare(getattr(fstats.bernoulli, name)(k, p, 1),
                     getattr(scipy_stats.bernoulli, name)(k, p, 1), 1e-14, f"bernoulli.{name}")
    # no q at 1 - p itself, where 1 - p rounds differently from SciPy's binomial CDF
    q = np.array([-0.1, 0.0, 0.05, 0.15, 0.3, 0.55, 0.85, 0.95, 1.0, 1.1])[:, None]
    for loc in (0, 2):
        _compare(fstats.bernoulli.ppf(q, p, loc), scipy_stats.bernoulli.ppf(q, p, loc), 0,
                 "bernoulli.ppf")


def _covariance(dimension, *batch):
    factor = RNG.normal(size=batch + (dimension, dimension))
    return factor @ np.swapaxes(factor, -1, -2) + dimension * np.eye(dimension)


def test_multivariate_normal_against_scipy(scipy_stats):
    x, mean, cov = RNG.normal(size=(5, 3)), RNG.normal(size=3), _covariance(3)
    reference = scipy_stats.multivariate_normal(mean, cov)
    _compare(fstats.multivariate_normal.logpdf(x, mean, cov), reference.logpdf(x), 1e-13, "mvn")
    _compare(fstats.multivariate_normal.pdf(x, mean, cov), reference.pdf(x), 1e-13, "mvn pdf")
    # batched covariances broadcast against x's leading axes
    covs = _covariance(3, 4)
    got = fstats.multivariate_normal.logpdf(x[:, None, :], mean, covs)
    assert got.shape == (5, 4)
    for j in range(4):
        _compare(got[:, j], scipy_stats.multivariate_normal(mean, covs[j]).logpdf(x), 1e-13,
                 "batched")
    # a scalar variance, and a one-dimensional distribution
    _compare(fstats.multivariate_normal.logpdf(x, mean, 2.5),
             scipy_stats.multivariate_normal(mean, 2.5 * np.eye(3)).logpdf(x), 1e-13, "scalar")
    _compare(fstats.multivariate_normal.logpdf(x[:, 0], 0.3, 2.0),
             scipy_stats.norm.logpdf(x[:, 0], 0.3, np.sqrt(2.0)), 1e-13, "1-d")


def test_dirichlet_against_scipy(scipy_stats):
    alpha = np.array([0.7, 2.0, 3.5, 1.0])
    x = RNG.dirichlet(np.ones(4), size=6).T        # (K, n): SciPy's layout
    want = scipy_stats.dirichlet.logpdf(x, alpha)
    _compare(fstats.dirichlet.logpdf(x, alpha), want, 1e-12, "dirichlet")
    _compare(fstats.dirichlet.pdf(x, alpha), scipy_stats.dirichlet.pdf(x, alpha), 1e-12, "pdf")
    _compare(fstats.dirichlet.logpdf(x[:-1], alpha), want, 1e-10, "K - 1 coordinates")
    off = x.copy()
    off[0, 0] += 0.1    # not on the simplex
    off[1, 1] = -off[1, 1]
    assert np.all(fstats.dirichlet.logpdf(off, alpha)[:2] == -np.inf)


# ---------------------------------------------------------------------- support and dtypes

def test_outside_the_support():
    assert fstats.expon.logpdf(-1.0) == -np.inf and fstats.expon.cdf(-1.0) == 0.0
    assert fstats.expon.sf(-1.0) == 1.0 and fstats.expon.logcdf(0.0) == -np.inf
    assert fstats.gamma.pdf(-0.5, 2.0) == 0.0 and fstats.gamma.pdf(0.0, 1.0) == 1.0
    assert fstats.beta.logpdf(1.5, 2.0, 2.0) == -np.inf
    assert fstats.uniform.pdf(1.5) == 0.0 and np.isnan(fstats.uniform.ppf(1.5))
    assert fstats.lognorm.pdf(-1.0, 0.5) == 0.0 and fstats.lognorm.sf(0.0, 0.5) == 1.0
    assert fstats.poisson.pmf(2.5, 1.0) == 0.0 and fstats.poisson.cdf(-1, 1.0) == 0.0
    assert fstats.bernoulli.pmf(2, 0.3) == 0.0
    assert fstats.gamma.cdf(-1.0, 2.0) == 0.0 and fstats.gamma.logsf(-1.0, 2.0) == 0.0
    assert fstats.beta.sf(1.5, 2.0, 2.0) == 0.0 and fstats.beta.logcdf(-0.5, 2.0, 2.0) == -np.inf
    assert fstats.t.cdf(0.0, 3.0) == 0.5 and fstats.poisson.sf(-1, 1.0) == 1.0
    # outside the support the derivative is 0, not nan
    for fn, args in [(fstats.gamma.logpdf, (-1.0, 2.5)), (fstats.beta.logpdf, (2.0, 0.5, 3.0)),
                     (fstats.lognorm.logcdf, (-2.0, 0.5)), (fstats.expon.logcdf, (-1.0,)),
                     (fstats.chi2.logpdf, (-3.0, 4.0)),
                     (lambda x, s: fstats.gamma.logcdf(x, 2.5, scale=s), (-1.0, 2.0)),
                     (lambda x, s: fstats.beta.logsf(x, 0.5, 3.0, scale=s), (1.5, 1.0)),
                     (lambda x, s: fstats.beta.cdf(x, 0.5, 3.0, scale=s), (-0.5, 1.0))]:
        gradients = fg.grad(fn, argnums=tuple(range(len(args))))(*args)
        assert all(float(g) == 0.0 for g in gradients), fn


def test_float32_stays_float32():
    x = np.linspace(0.1, 3, 5, dtype=np.float32)
    for fn, args in [(fstats.gamma.logpdf, (x, np.float32(2.0))),
                     (fstats.logistic.logcdf, (x,)), (fstats.cauchy.sf, (x,)),
                     (fstats.t.pdf, (x, np.float32(3.0))), (fstats.expon.logcdf, (x,)),
                     (fstats.poisson.cdf, (np.array([0, 3]), x[:2])),
                     (fstats.multivariate_normal.logpdf, (x[:2], x[1:3], np.eye(2, dtype=x.dtype))),
                     (fstats.norm.logsf, (x, 1, 2)), (fstats.gamma.cdf, (x, np.float32(2.0))),
                     (fstats.t.logsf, (x, np.float32(3.0))),
                     (fstats.beta.sf, (x / 4, np.float32(2.0), np.float32(0.5))),
                     (fstats.chi2.logcdf, (x, np.float32(3.0))),
                     (fstats.poisson.sf, (np.array([0, 3]), x[:2])),
                     (fstats.cauchy.ppf, (x / 4,))]:
        assert fn(*args).dtype == np.float32, fn
    # Python numbers passed to jit are weak there too (they were float64 arrays)
    q = np.array([0.25, 0.5, 0.9], np.float32)
    for fn, args in [(fstats.gamma.logpdf, (x, 2.0)), (fstats.beta.pdf, (q, 2.0, 1.5)),
                     (fstats.t.logpdf, (x, 3.0)), (fstats.chi2.pdf, (x, 2)),
                     (fstats.norm.ppf, (q, 0.5, 2.0)), (fstats.cauchy.ppf, (q,))]:
        assert fg.jit(fn)(*args).dtype == np.float32, fn


def test_integer_inputs_are_float64():
    assert fstats.poisson.logpmf(3, 2).dtype == np.float64
    assert float(fstats.chi2.pdf(2, 2)) == pytest.approx(np.exp(-1.0) / 2, rel=1e-15)


# --------------------------------------------------------------------------- derivatives

V = np.array([0.4, 1.3, 2.2])
P = np.array([0.8, 1.7, 3.1])
GRAD_CASES = [
    ("expon_logpdf", fstats.expon.logpdf, (V, np.array(0.1), P)),
    ("expon_logcdf", fstats.expon.logcdf, (V, np.array(-0.2), P)),
    ("laplace_logpdf", fstats.laplace.logpdf, (V, np.array(1.0), P)),
    ("laplace_logsf", fstats.laplace.logsf, (V - 1.0, np.array(0.1), P)),
    ("logistic_logpdf", fstats.logistic.logpdf, (V - 1.0, np.array(0.3), P)),
    ("logistic_logcdf", fstats.logistic.logcdf, (V * 10 - 12, np.array(0.3), P)),
    ("cauchy_logpdf", fstats.cauchy.logpdf, (V, np.array(0.5), P)),
    ("cauchy_cdf", fstats.cauchy.cdf, (V * 5 - 7, np.array(0.5), P)),
    ("cauchy_ppf", fstats.cauchy.ppf, (V / 3, np.array(0.5), P)),
    ("logistic_ppf", fstats.logistic.ppf, (V / 3, np.array(0.5), P)),
    ("uniform_cdf", fstats.uniform.cdf, (V, np.array(-0.5), P + 2)),
    ("lognorm_logpdf", fstats.lognorm.logpdf, (V, P, np.array(0.1), P[::-1])),
    ("lognorm_logsf", fstats.lognorm.logsf, (V, P, np.array(0.1), P[::-1])),
    ("gamma_logpdf", fstats.gamma.logpdf, (V + 0.5, P, np.array(0.2), P[::-1])),
    ("chi2_pdf", fstats.chi2.pdf, (V + 0.5, P + 1, np.array(0.2), P[::-1])),
    ("beta_logpdf", fstats.beta.logpdf, (V / 3, P, P[::-1], np.array(0.0), np.array(1.1))),
    ("t_logpdf", fstats.t.logpdf, (V - 1, P, np.array(0.3), P[::-1])),
    ("poisson_logpmf", lambda mu: fstats.poisson.logpmf(np.array([1, 3, 8]), mu, 1), (P,)),
    ("poisson_cdf", lambda mu: fstats.poisson.cdf(np.array([0, 2, 7]), mu), (P,)),
    ("poisson_logsf", lambda mu: fstats.poisson.logsf(np.array([0, 2, 7]), mu), (P,)),
    # the CDFs from the incomplete gamma and beta functions, in x, loc and scale
    ("gamma_cdf", lambda x, loc, scale: fstats.gamma.cdf(x, P, loc, scale),
     (V + 0.5, np.array(0.2), P[::-1])),
    ("gamma_logsf", lambda x, loc, scale: fstats.gamma.logsf(x, P, loc, scale),
     (V * 4, np.array(0.2), P[::-1])),
    ("chi2_logcdf", lambda x, loc, scale: fstats.chi2.logcdf(x, P + 1, loc, scale),
     (V + 0.5, np.array(0.2), P[::-1])),
    ("beta_cdf", lambda x, loc, scale: fstats.beta.cdf(x, P, P[::-1], loc, scale),
     (V / 3, np.array(0.0), np.array(1.1))),
    ("beta_logsf", lambda x, loc, scale: fstats.beta.logsf(x, P, P[::-1] * 20, loc, scale),
     (V / 10, np.array(0.05), np.array(1.1))),
    ("t_cdf", lambda x, loc, scale: fstats.t.cdf(x, P, loc, scale),
     (V * 3 - 3, np.array(0.3), P[::-1])),
    ("t_logsf", lambda x, loc, scale: fstats.t.logsf(x, P * 100, loc, scale),
     (V * 3 - 1, np.array(0.3), P[::-1])),
    ("bernoulli_logpmf", lambda p: fstats.bernoulli.logpmf(np.array([0, 1, 1]), p),
     (np.array([0.2, 0.5, 0.9]),)),
    ("bernoulli_cdf", lambda p: fstats.bernoulli.cdf(np.array([-1, 0, 1]), p),
     (np.array([0.2, 0.5, 0.9]),)),
    ("dirichlet_logpdf", fstats.dirichlet.logpdf,
     # K - 1 coordinates, so that the differences stay on the simplex
     (np.array([[0.2, 0.5], [0.3, 0.1]]), np.array([0.7, 2.0, 3.5]))),
    ("multivariate_normal_logpdf", fstats.multivariate_normal.logpdf,
     (np.array([[0.2, -0.5], [1.0, 0.3]]), np.array([0.1, 0.4]),
      np.array([[2.0, 0.3], [0.3, 1.0]]))),
]


@pytest.mark.parametrize("name, fn, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads_to_second_order(name, fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_cdfs_in_the_shape_parameters_to_first_order():
    # the incomplete gamma and beta functions have first derivatives in a and b (not second)
    fg.check_grads(lambda x, a: fstats.gamma.cdf(x, a, 0.2, 1.5), (V + 0.5, P), order=1,
                   modes=("fwd", "rev"))
    fg.check_grads(lambda x, df: fstats.chi2.logsf(x, df), (V * 3, P + 1), order=1,
                   modes=("fwd", "rev"))
    fg.check_grads(lambda x, a, b: fstats.beta.logcdf(x, a, b), (V / 3, P, P[::-1]), order=1,
                   modes=("fwd", "rev"))
    fg.check_grads(lambda x, df: fstats.t.sf(x, df, 0.3), (V * 3 - 3, P), order=1,
                   modes=("fwd", "rev"))


def test_derivatives_are_the_known_ones():
    # d/dmu log pmf = k / mu - 1; d/dx log gamma pdf = (a - 1) / x - 1
    k, mu = np.array([0.0, 3.0, 9.0]), np.array([1.5, 2.0, 4.0])
    np.testing.assert_allclose(fg.grad(lambda m: fstats.poisson.logpmf(k, m).sum())(mu),
                               k / mu - 1, rtol=1e-14)
    x, a = np.array([0.5, 2.0, 7.0]), np.array([0.5, 3.0, 1.5])
    np.testing.assert_allclose(fg.grad(lambda v: fstats.gamma.logpdf(v, a).sum())(x),
                               (a - 1) / x - 1, rtol=1e-14)


def test_vmap_of_grad_matches_a_loop():
    mean, cov = np.array([0.1, -0.3, 0.5]), _covariance(3)
    xs = RNG.normal(size=(4, 3))

    def score(x):
        return fg.grad(fstats.multivariate_normal.logpdf, argnums=(0, 1))(x, mean, cov)

    batched = fg.vmap(score)(xs)
    for i, x in enumerate(xs):
        for got, want in zip(batched, score(x)):
            np.testing.assert_allclose(got[i], want, rtol=1e-13)
    # the score in x is -cov^-1 (x - mean)
    np.testing.assert_allclose(batched[0], -np.linalg.solve(cov, (xs - mean).T).T, rtol=1e-12)


def test_jit_of_a_composed_log_likelihood():
    def loss(theta):
        return (fstats.t.logpdf(theta, 3.0).sum() + fstats.gamma.logpdf(theta * theta, 2.0).sum()
                + fstats.logistic.logcdf(theta).sum())

    theta = np.array([0.5, -1.5, 2.0])
    value, gradient = fg.jit(fg.value_and_grad(loss))(theta)
    want_value, want_gradient = fg.value_and_grad(loss)(theta)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, want_gradient, rtol=1e-13)


# --------------------------------------------------------------------------------- errors

def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="cov must have shape"):
        fstats.multivariate_normal.logpdf(np.zeros(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="alpha must be one-dimensional"):
        fstats.dirichlet.logpdf(np.ones(2) / 2, np.ones((2, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        fstats.dirichlet.logpdf(np.ones(5) / 5, np.ones(2))
    with pytest.raises(TypeError, match="gammainc/gammaincc: no second derivative with respect "
                       "to its parameter a"):
        fg.grad(fg.grad(lambda a: fstats.gamma.cdf(1.5, a)))(2.0)
    with pytest.raises(TypeError, match="betainc/betaincc: no second derivative with respect "
                       "to its parameter"):
        fg.grad(fg.grad(lambda df: fstats.t.cdf(1.5, df)))(2.0)


def test_discrete_cdfs_of_traced_counts():
    # k is a step: traced, the CDF takes its value and has the derivative 0 (as JAX's)
    k = np.array([0.0, 2.5, 7.0])
    np.testing.assert_allclose(fg.jit(lambda k: fstats.poisson.cdf(k, 2.0))(k),
                               fstats.poisson.cdf(k, 2.0), rtol=1e-15)
    np.testing.assert_array_equal(fg.grad(lambda k: fstats.poisson.sf(k, 2.0).sum())(k), 0.0)


def test_every_distribution_is_listed():
    namespaces = sorted(name for name in dir(fstats) if not name.startswith("_")
                        and type(getattr(fstats, name)).__name__ == "SimpleNamespace")
    assert sorted(fstats.__all__) == sorted(namespaces + ["ModeResult", "gaussian_kde", "mode",
                                                          "rankdata", "sem"])
