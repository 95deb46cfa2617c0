"""funcgrad.scipy.stats, the later distributions (binom, nbinom, geom, betabinom, multinomial,
pareto, gumbel_r, gumbel_l, truncnorm, gennorm, vonmises, wrapcauchy) and the summaries (mode,
rankdata, sem): values against SciPy over grids with their edges (skipped without SciPy),
derivatives to second order, vmap against a loop, one jit against eager, and the errors.
"""
import numpy as np
import pytest

import funcgrad as fg
from funcgrad.scipy import stats as fstats

RNG = np.random.default_rng(11)
N = 300


def _uniform(low, high, size=N):
    return RNG.uniform(low, high, size)


def _positive(low=-2.0, high=2.0, size=N):
    return np.exp(RNG.uniform(low, high, size))


@pytest.fixture(scope="module")
def scipy_stats():
    return pytest.importorskip("scipy.stats", reason="SciPy is an optional test dependency")


def _compare(got, want, rtol, name, atol=1e-300):
    """Equal infinities and nans where SciPy's are, and within ``rtol`` (plus ``atol``)
    elsewhere."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, name
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite], want[~finite], equal_nan=True), \
        f"{name}: different infinities or nans"
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=atol, err_msg=name)


# ------------------------------------------------------------------------------- discrete

# counts from below the support to its far end, and a non-integer one; probabilities at the
# edges 0 and 1 (where the pmf is concentrated on one count)
K = np.concatenate([np.arange(-2.0, 60.0), [2.5]])[:, None, None]
TRIALS = np.array([0.0, 1.0, 5.0, 20.0, 57.0])[None, :, None]
PROBABILITIES = np.array([0.0, 1e-3, 0.3, 0.5, 0.99, 1.0])[None, None, :]


def test_binomial_families_against_scipy(scipy_stats):
    # the log-pmfs are sums of gammaln terms of size n log n: a few ulps of those, absolutely
    with np.errstate(all="ignore"):
        for name, args in [("binom", (K, TRIALS, PROBABILITIES)),
                           ("nbinom", (K, TRIALS + 0.7, PROBABILITIES)),
                           ("geom", (K, PROBABILITIES))]:
            ours, theirs = getattr(fstats, name), getattr(scipy_stats, name)
            _compare(ours.logpmf(*args), theirs.logpmf(*args), 1e-13, name, atol=1e-12)
            _compare(ours.pmf(*args), theirs.pmf(*args), 1e-12, name)
            _compare(ours.logpmf(*args, 2), theirs.logpmf(*args, 2), 1e-13, name, atol=1e-12)
        a, b = _positive(size=4)[:, None, None, None], _positive(size=3)[:, None, None, None, None]
        args = (K, TRIALS, a, b)
        _compare(fstats.betabinom.logpmf(*args), scipy_stats.betabinom.logpmf(*args), 1e-12,
                 "betabinom", atol=1e-12)
        _compare(fstats.betabinom.pmf(*args, 1), scipy_stats.betabinom.pmf(*args, 1), 1e-11,
                 "betabinom")


def test_binomial_families_outside_their_domains(scipy_stats):
    with np.errstate(all="ignore"):
        for fn, theirs, args in [
                (fstats.binom.logpmf, scipy_stats.binom.logpmf, (1, 3, 1.5)),
                (fstats.binom.logpmf, scipy_stats.binom.logpmf, (1, 2.5, 0.5)),
                (fstats.binom.logpmf, scipy_stats.binom.logpmf, (1, -3, 0.5)),
                (fstats.nbinom.logpmf, scipy_stats.nbinom.logpmf, (1, 0, 0.5)),
                (fstats.geom.logpmf, scipy_stats.geom.logpmf, (1, 0.0)),
                (fstats.betabinom.logpmf, scipy_stats.betabinom.logpmf, (1, 3, 0.0, 1.0))]:
            assert np.isnan(fn(*args)) and np.isnan(theirs(*args)), (fn, args)
    # off the support the derivative is 0, not nan
    for fn in [lambda p: fstats.binom.logpmf(5.0, 3.0, p), lambda p: fstats.geom.logpmf(0, p),
               lambda p: fstats.nbinom.logpmf(-1, 2.0, p),
               lambda p: fstats.binom.logpmf(2.5, 3.0, p)]:
        assert float(fg.grad(fn)(0.3)) == 0.0


def test_multinomial_against_scipy(scipy_stats):
    p = RNG.dirichlet(np.ones(5), size=7)
    x = np.stack([RNG.multinomial(40, row) for row in p]).astype(float)
    _compare(fstats.multinomial.logpmf(x, 40, p), scipy_stats.multinomial.logpmf(x, 40, p),
             1e-13, "multinomial", atol=1e-12)
    _compare(fstats.multinomial.pmf(x, 40, p), scipy_stats.multinomial.pmf(x, 40, p), 1e-12,
             "multinomial pmf")
    # counts that do not add up to n, a negative and a fractional one; a zero probability
    odd = np.array([[1.0, 1.0, 0.0], [1.5, 1.5, 0.0], [-1.0, 4.0, 0.0], [0.0, 0.0, 3.0],
                    [0.0, 3.0, 0.0]])
    for q in (np.array([0.2, 0.5, 0.3]), np.array([0.0, 0.5, 0.5])):
        with np.errstate(divide="ignore"):
            _compare(fstats.multinomial.logpmf(odd, 3, q),
                     scipy_stats.multinomial.logpmf(odd, 3, q), 1e-14, "multinomial edges")


# ----------------------------------------------------------------------------- continuous

X = _uniform(-30, 30)
LOC, SCALE = _uniform(-3, 3), _positive()
# beyond 1 (Pareto's support starts there) out to 1e17, and below it
PARETO_X = LOC + SCALE * np.concatenate([_uniform(-2, 3, N // 2), _positive(0, 40, N - N // 2)])
FUNCTIONS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
# (name, functions, arguments, relative bound): the bounds are SciPy's own accuracy (a few ulps
# of exp/log1p) except where a density is exp of a large log-density (pdf far in the tails)
CONTINUOUS = [
    ("pareto", FUNCTIONS, (PARETO_X, _positive(), LOC, SCALE), 1e-13),
    ("gumbel_r", FUNCTIONS, (X / 5, LOC, SCALE), 1e-13),
    ("gumbel_l", FUNCTIONS, (X / 5, LOC, SCALE), 1e-13),
    ("gennorm", ("logpdf", "pdf"), (X / 3, _positive(-1.5, 2), LOC, SCALE), 1e-13),
    ("vonmises", ("logpdf", "pdf"), (X, _positive(-4, 7), LOC, SCALE), 1e-12),
    ("vonmises", ("logpdf", "pdf"), (X[:, None], np.array([0.0, 1e-8, 1e4]), 0.0, 1.0), 1e-12),
    ("wrapcauchy", ("logpdf", "pdf"), (X / 3, _uniform(0.01, 0.99), LOC, SCALE), 1e-12),
]


@pytest.mark.parametrize("distribution, functions, args, rtol", CONTINUOUS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONTINUOUS)])
def test_continuous_against_scipy(scipy_stats, distribution, functions, args, rtol):
    ours, theirs = getattr(fstats, distribution), getattr(scipy_stats, distribution)
    with np.errstate(all="ignore"):
        for name in functions:
            want = getattr(theirs, name)(*args)
            assert np.isfinite(want).sum() >= min(3, np.size(want)), "nothing finite to compare"
            _compare(getattr(ours, name)(*args), want, rtol, f"{distribution}.{name}")


def test_quantiles_against_scipy(scipy_stats):
    q = np.concatenate([_uniform(0, 1, 100), [0.0, 1.0, 1e-300, 1e-10, 1 - 1e-10, -0.1, 1.1]])
    loc, scale, b = LOC[:q.size], SCALE[:q.size], _positive(size=q.size)
    with np.errstate(all="ignore"):
        _compare(fstats.pareto.ppf(q, b, loc, scale), scipy_stats.pareto.ppf(q, b, loc, scale),
                 1e-13, "pareto.ppf")
        for name in ("gumbel_r", "gumbel_l"):
            _compare(getattr(fstats, name).ppf(q, loc, scale),
                     getattr(scipy_stats, name).ppf(q, loc, scale), 1e-13, f"{name}.ppf")


def _truncation_grid():
    """Bounds in the body and far in both tails, infinite ones, and x from below a to above
    b."""
    a = np.concatenate([_uniform(-5, 3, N - 8), [-np.inf, -np.inf, 30.0, -31.0, 8.0, -np.inf,
                                                 0.0, 0.0]])
    b = np.concatenate([a[:-8] + _positive(-3, 2, N - 8), [np.inf, 0.0, 31.0, -30.0, 9.0, 1.0,
                                                           np.inf, 1e-3]])
    low = np.where(np.isfinite(a), a, np.where(np.isfinite(b), b - 3, -3))
    high = np.where(np.isfinite(b), b, low + 3)
    z = low + (high - low) * _uniform(-0.2, 1.2)
    return LOC + SCALE * z, a, b, LOC, SCALE


def test_truncnorm_against_scipy(scipy_stats):
    # the normalizer far in a tail is a difference of log_ndtr values near -450: their ulps
    # make the relative error some 1e-13
    args = _truncation_grid()
    with np.errstate(all="ignore"):
        for name in FUNCTIONS:
            _compare(getattr(fstats.truncnorm, name)(*args),
                     getattr(scipy_stats.truncnorm, name)(*args), 2e-12, f"truncnorm.{name}",
                     atol=1e-14)


def test_gennorm_cdf_keeps_its_lower_tail(scipy_stats):
    from scipy import special
    x, beta = np.concatenate([_uniform(-12, 12), [0.0]]), _positive(-1.5, 2, N + 1)
    got = fstats.gennorm.cdf(x, beta)
    # SciPy's is 1/2 - P(1/beta, |x|**beta) / 2 below 0, which cancels in the tail: the
    # reference there is the regularized upper incomplete gamma function itself
    with np.errstate(all="ignore"):
        want = np.where(x < 0, 0.5 * special.gammaincc(1 / beta, np.abs(x) ** beta),
                        scipy_stats.gennorm.cdf(x, beta))
    _compare(got, want, 1e-12, "gennorm.cdf")
    _compare(got, scipy_stats.gennorm.cdf(x, beta), 0, "gennorm.cdf", atol=1e-14)
    _compare(fstats.gennorm.cdf(x, beta, 0.5, 2.0), scipy_stats.gennorm.cdf(x, beta, 0.5, 2.0),
             0, "gennorm.cdf loc scale", atol=1e-14)


def test_outside_the_support():
    assert fstats.pareto.logpdf(0.5, 2.0) == -np.inf and fstats.pareto.sf(0.5, 2.0) == 1.0
    assert fstats.pareto.logcdf(1.0, 2.0) == -np.inf and fstats.pareto.cdf(1.0, 2.0) == 0.0
    assert np.isnan(fstats.pareto.ppf(1.5, 2.0)) and fstats.pareto.ppf(1.0, 2.0) == np.inf
    assert fstats.truncnorm.pdf(2.5, -1.0, 2.0) == 0.0
    assert fstats.truncnorm.cdf(-1.5, -1.0, 2.0) == 0.0 and fstats.truncnorm.sf(2.5, -1, 2) == 0
    assert fstats.wrapcauchy.logpdf(-0.1, 0.5) == -np.inf
    assert np.isnan(fstats.wrapcauchy.pdf(1.0, 1.0)) and np.isnan(fstats.vonmises.pdf(1.0, -1))
    assert fstats.gumbel_r.ppf(0.0) == -np.inf and fstats.gumbel_l.ppf(1.0) == np.inf
    for fn, args in [(fstats.pareto.logpdf, (0.5, 2.0)), (fstats.pareto.logcdf, (0.9, 2.0)),
                     (fstats.truncnorm.logpdf, (2.5, -1.0, 2.0)),
                     (fstats.truncnorm.logsf, (-2.5, -1.0, 2.0)),
                     (fstats.wrapcauchy.logpdf, (7.0, 0.5))]:
        gradients = fg.grad(fn, argnums=tuple(range(len(args))))(*args)
        assert all(float(g) == 0.0 for g in gradients), fn


def test_float32_stays_float32():
    x, q = np.linspace(1.1, 3, 5, dtype=np.float32), np.float32([0.1, 0.5, 0.9])
    f32 = np.float32
    for fn, args in [(fstats.binom.logpmf, (np.arange(5), 6, f32(0.3))),
                     (fstats.nbinom.pmf, (np.arange(5), f32(2.5), f32(0.3))),
                     (fstats.geom.logpmf, (np.arange(5), f32(0.3))),
                     (fstats.betabinom.pmf, (np.arange(5), 6, f32(0.5), f32(2.0))),
                     (fstats.multinomial.logpmf, (np.array([1, 2]), 3, np.float32([0.4, 0.6]))),
                     (fstats.pareto.logcdf, (x, f32(2.0))), (fstats.pareto.ppf, (q, f32(2.0))),
                     (fstats.gumbel_r.logsf, (x,)), (fstats.gumbel_l.ppf, (q,)),
                     (fstats.truncnorm.logcdf, (x, f32(-1.0), f32(2.5))),
                     (fstats.gennorm.cdf, (x, f32(1.5))), (fstats.vonmises.logpdf, (x, f32(2))),
                     (fstats.wrapcauchy.pdf, (x, f32(0.5))), (fstats.sem, (x,)),
                     (fstats.rankdata, (x,))]:
        assert fn(*args).dtype == np.float32, fn
    # weak Python numbers under jit
    for fn in [lambda v: fstats.truncnorm.pdf(v, -1.0, 2.5), lambda v: fstats.binom.pmf(2, 5, v),
               lambda v: fstats.gumbel_r.ppf(v, 0.5, 2.0)]:
        assert fg.jit(fn)(q).dtype == np.float32


# --------------------------------------------------------------------------- derivatives

V = np.array([0.4, 1.3, 2.2])
P = np.array([0.8, 1.7, 3.1])
PROB = np.array([0.2, 0.45, 0.7])
COUNTS = np.array([0.0, 2.0, 5.0])
GRAD_CASES = [
    # (binom's n is a whole number: SciPy's pmf is nan between them)
    ("binom_logpmf", lambda p: fstats.binom.logpmf(COUNTS, 7, p), (PROB,)),
    ("nbinom_logpmf", lambda n, p: fstats.nbinom.logpmf(COUNTS, n, p), (P, PROB)),
    ("geom_logpmf", lambda p: fstats.geom.logpmf(COUNTS + 1, p), (PROB,)),
    ("betabinom_logpmf", lambda a, b: fstats.betabinom.logpmf(COUNTS, 6.0, a, b), (P, P[::-1])),
    ("multinomial_logpmf", lambda p: fstats.multinomial.logpmf(np.array([1.0, 3.0, 2.0]), 6, p),
     (np.array([0.2, 0.5, 0.3]),)),
    ("pareto_logpdf", fstats.pareto.logpdf, (V + 2.0, P, np.array(0.1), np.array(1.5))),
    ("pareto_logcdf", fstats.pareto.logcdf, (V + 2.0, P, np.array(0.1), np.array(1.5))),
    ("pareto_ppf", fstats.pareto.ppf, (PROB, P, np.array(0.1), np.array(1.5))),
    ("gumbel_r_logpdf", fstats.gumbel_r.logpdf, (V - 1, np.array(0.2), P)),
    ("gumbel_r_logsf", fstats.gumbel_r.logsf, (V * 3 - 2, np.array(0.2), P)),
    ("gumbel_l_cdf", fstats.gumbel_l.cdf, (V * 3 - 2, np.array(0.2), P)),
    ("gumbel_l_ppf", fstats.gumbel_l.ppf, (PROB, np.array(0.2), P)),
    ("truncnorm_logpdf", fstats.truncnorm.logpdf, (V - 1, np.array(-1.5), P, np.array(0.1),
                                                   np.array(1.3))),
    ("truncnorm_logcdf", fstats.truncnorm.logcdf, (V - 1, np.array(-1.5), P, np.array(0.1),
                                                   np.array(1.3))),
    ("truncnorm_sf_tail", fstats.truncnorm.sf, (V / 4 + 5.3, np.array(5.0), np.array(6.5))),
    ("gennorm_logpdf", fstats.gennorm.logpdf, (V - 1, P + 0.5)),
    ("gennorm_cdf_in_x", lambda x: fstats.gennorm.cdf(x, P + 0.5, 0.1, 1.5), (V - 1,)),
    ("vonmises_logpdf", fstats.vonmises.logpdf, (V * 2 - 2, P * 10)),
    ("wrapcauchy_logpdf", fstats.wrapcauchy.logpdf, (V * 2, PROB)),
    ("sem", lambda a: fstats.sem(a, axis=1), (np.array([[0.4, 1.3, 2.2], [1.0, -0.5, 3.0]]),)),
]


@pytest.mark.parametrize("name, fn, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads_to_second_order(name, fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_gennorm_cdf_derivative_at_the_centre_is_the_density():
    for beta in (0.7, 1.0, 2.5):
        slope = fg.grad(lambda x, b=beta: fstats.gennorm.cdf(x, b, 0.5, 2.0))(0.5)
        np.testing.assert_allclose(slope, fstats.gennorm.pdf(0.5, beta, 0.5, 2.0), rtol=1e-14)


def test_gennorm_cdf_in_beta_to_first_order():
    # through the incomplete gamma function: first derivatives in its parameter
    fg.check_grads(lambda beta: fstats.gennorm.cdf(V - 1, beta), (P + 0.5,), order=1,
                   modes=("fwd", "rev"))


def test_derivatives_are_the_known_ones():
    # d/dp binom logpmf = k / p - (n - k) / (1 - p); d/dx gumbel_r logpdf = (exp(-x) - 1)
    k, n = COUNTS, COUNTS + 3.0
    np.testing.assert_allclose(fg.grad(lambda p: fstats.binom.logpmf(k, n, p).sum())(PROB),
                               k / PROB - (n - k) / (1 - PROB), rtol=1e-14)
    np.testing.assert_allclose(fg.grad(lambda x: fstats.gumbel_r.logpdf(x).sum())(V),
                               np.exp(-V) - 1, rtol=1e-14)


def test_traced_programs():
    # the incomplete gamma function in gennorm's CDF, the sort (argsort) in rankdata
    assert " gammaincc" in str(fg.make_ir(lambda x: fstats.gennorm.cdf(x, 1.5))(V))
    assert " argsort" in str(fg.make_ir(fstats.rankdata)(V))
    assert " log" in str(fg.make_ir(lambda p: fstats.binom.logpmf(COUNTS, 6, p))(PROB))


def test_vmap_of_grad_matches_a_loop():
    xs = np.array([[0.3, -0.2], [1.1, 0.4], [-0.7, 0.9]])

    def score(x):
        return fg.grad(lambda x, b: fstats.truncnorm.logcdf(x, -1.0, b).sum(), argnums=(0, 1))(
            x, np.array([1.5, 2.5]))

    batched = fg.vmap(score)(xs)
    for i, x in enumerate(xs):
        for got, want in zip(batched, score(x)):
            np.testing.assert_allclose(got[i], want, rtol=1e-13)
    probabilities = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    counts = np.array([1.0, 3.0, 2.0])
    batched = fg.vmap(fg.grad(lambda p: fstats.multinomial.logpmf(counts, 6, p)))(probabilities)
    np.testing.assert_allclose(batched, counts / probabilities, rtol=1e-14)   # x / p


def test_one_jit_against_eager():
    def loss(theta):
        return (fstats.binom.logpmf(COUNTS, 6.0, 0.5 * (theta + 1.0)).sum()
                + fstats.pareto.logsf(theta + 3.0, 2.0).sum()
                + fstats.gumbel_l.logcdf(theta).sum()
                + fstats.truncnorm.logpdf(theta, -2.0, 2.5).sum()
                + fstats.gennorm.cdf(theta, 1.5).sum() + fstats.vonmises.logpdf(theta, 3.0).sum()
                + fstats.betabinom.logpmf(COUNTS, 6.0, theta + 1.0, 2.0).sum())

    theta = np.array([0.5, -0.5, 0.25])
    value, gradient = fg.jit(fg.value_and_grad(loss))(theta)
    want_value, want_gradient = fg.value_and_grad(loss)(theta)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, want_gradient, rtol=1e-13)


# ----------------------------------------------------------------------------- summaries

SAMPLE = RNG.integers(0, 4, (3, 5, 6)).astype(float)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_summaries_against_scipy(scipy_stats, axis):
    with_nan = SAMPLE.copy()
    with_nan[1, 2, 3] = np.nan
    for method in ("average", "min", "max", "dense", "ordinal"):
        want = scipy_stats.rankdata(with_nan, method, axis=axis)
        _compare(fstats.rankdata(with_nan, method, axis=axis), want, 0, method)
    for keepdims in (False, True):
        got, want = (fstats.mode(SAMPLE, axis, keepdims=keepdims),
                     scipy_stats.mode(SAMPLE, axis, keepdims=keepdims))
        _compare(got.mode, want.mode, 0, "mode")
        _compare(got.count, want.count, 0, "count")
        assert got.count.dtype == np.int64
        _compare(fstats.sem(with_nan, axis, ddof=2, keepdims=keepdims),
                 scipy_stats.sem(with_nan, axis, ddof=2, keepdims=keepdims), 1e-14, "sem")


def test_summaries_traced():
    def summaries(a):
        result = fstats.mode(a, axis=1)
        return (result.mode, result.count, fstats.rankdata(a, axis=0),
                fstats.rankdata(a, "dense", axis=1), fstats.sem(a, axis=None))

    for got, want in zip(fg.jit(summaries)(SAMPLE[0]), summaries(SAMPLE[0])):
        np.testing.assert_array_equal(got, want)
    ranks = fg.vmap(lambda row: fstats.rankdata(row, "min"))(SAMPLE[0])
    for row, want in zip(ranks, SAMPLE[0]):
        np.testing.assert_array_equal(row, fstats.rankdata(want, "min"))
    # ranks are steps (derivative 0); the mode is one of the elements (derivative 1 there)
    np.testing.assert_array_equal(
        fg.grad(lambda a: fstats.rankdata(a).sum())(np.array([3.0, 1.0, 2.0])), 0.0)
    np.testing.assert_array_equal(
        fg.grad(lambda a: fstats.mode(a).mode)(np.array([1.0, 2.0, 2.0, 4.0])), [0, 1, 0, 0])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="multinomial.logpmf: x has 2 categories"):
        fstats.multinomial.logpmf(np.array([1, 2]), 3, np.array([0.2, 0.5, 0.3]))
    with pytest.raises(ValueError, match="rankdata: unknown method 'mean'"):
        fstats.rankdata(np.ones(3), "mean")
    with pytest.raises(ValueError, match="sem: nan_policy='omit' is not implemented"):
        fstats.sem(np.ones(3), nan_policy="omit")
    with pytest.raises(ValueError, match="mode: a is empty"):
        fstats.mode(np.zeros(0))
