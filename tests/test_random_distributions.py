"""``fg.random``'s distributions beyond uniform/normal: moments and KS-like quantile checks
against SciPy (skipped without it), shapes and dtypes, the same numbers eagerly, under ``jit``
and under ``vmap`` (one small jitted function draws several distributions: one compile), and
derivatives of the reparameterised samplers against finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

R = fg.random
KEY = R.key(77)
N = 20000

try:
    from scipy import special, stats
except ImportError:   # pragma: no cover
    stats = special = None
needs_scipy = pytest.mark.skipif(stats is None, reason="SciPy is not installed")


def _ks_ok(samples, cdf):
    """KS statistic below the 0.1% critical value (1.95 / sqrt(n)); fixed seeds."""
    x = np.sort(np.asarray(samples, np.float64).ravel())
    n = x.size
    f = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    assert d < 1.95 / np.sqrt(n), d


CONTINUOUS = [
    ("exponential", lambda k: R.exponential(k, (N,)), lambda: stats.expon.cdf),
    ("laplace", lambda k: R.laplace(k, (N,)), lambda: stats.laplace.cdf),
    ("logistic", lambda k: R.logistic(k, (N,)), lambda: stats.logistic.cdf),
    ("gumbel", lambda k: R.gumbel(k, (N,)), lambda: stats.gumbel_r.cdf),
    ("cauchy", lambda k: R.cauchy(k, (N,)), lambda: stats.cauchy.cdf),
    ("gamma_small", lambda k: R.gamma(k, 0.2, (N,)), lambda: stats.gamma(0.2).cdf),
    ("gamma", lambda k: R.gamma(k, 4.5, (N,)), lambda: stats.gamma(4.5).cdf),
    ("gamma_large", lambda k: R.gamma(k, 300.0, (N,)), lambda: stats.gamma(300.0).cdf),
    ("loggamma", lambda k: np.exp(R.loggamma(k, 0.7, (N,))), lambda: stats.gamma(0.7).cdf),
    ("beta", lambda k: R.beta(k, 0.5, 2.0, (N,)), lambda: stats.beta(0.5, 2.0).cdf),
    ("t", lambda k: R.t(k, 3.0, (N,)), lambda: stats.t(3.0).cdf),
    ("chisquare", lambda k: R.chisquare(k, 5.0, (N,)), lambda: stats.chi2(5.0).cdf),
    ("truncated_normal", lambda k: R.truncated_normal(k, -1.0, 2.0, (N,)),
     lambda: stats.truncnorm(-1.0, 2.0).cdf),
    ("truncated_normal_tail", lambda k: R.truncated_normal(k, 6.0, 9.0, (N,)),
     lambda: stats.truncnorm(6.0, 9.0).cdf),
    ("truncated_normal_low", lambda k: R.truncated_normal(k, -np.inf, -4.0, (N,)),
     lambda: stats.truncnorm(-np.inf, -4.0).cdf),
    ("lognormal", lambda k: R.lognormal(k, 0.5, (N,)), lambda: stats.lognorm(0.5).cdf),
    ("pareto", lambda k: R.pareto(k, 3.0, (N,)), lambda: stats.pareto(3.0).cdf),
    ("weibull_min", lambda k: R.weibull_min(k, 2.0, 1.5, (N,)),
     lambda: stats.weibull_min(1.5, scale=2.0).cdf),
    ("maxwell", lambda k: R.maxwell(k, (N,)), lambda: stats.maxwell.cdf),
    ("double_sided_maxwell", lambda k: R.double_sided_maxwell(k, 1.0, 2.0, (N,)),
     lambda: (lambda x: 0.5 + 0.5 * np.sign(x - 1.0) * stats.maxwell.cdf(np.abs(x - 1.0) / 2))),
]


@needs_scipy
@pytest.mark.parametrize("name, draw, cdf", CONTINUOUS, ids=[c[0] for c in CONTINUOUS])
def test_continuous_quantiles_match_scipy(name, draw, cdf):
    _ks_ok(draw(R.fold_in(KEY, len(name))), cdf())


@pytest.mark.parametrize("lam", [0.0, 0.3, 4.0, 9.9, 10.0, 37.0, 5000.0])
def test_poisson_mean_and_variance(lam):
    x = R.poisson(R.fold_in(KEY, int(lam * 10)), lam, (N,))
    assert x.dtype == np.int64 and x.min() >= 0
    se = np.sqrt(max(lam, 1e-12) / N)
    assert abs(x.mean() - lam) < 5 * se + 1e-12
    if lam > 0:
        assert abs(x.var() / lam - 1) < 5 * np.sqrt(2 / N) + 1 / lam / N ** 0.5


@needs_scipy
@pytest.mark.parametrize("lam", [2.5, 60.0])
def test_poisson_frequencies_match_scipy(lam):
    x = np.asarray(R.poisson(R.fold_in(KEY, 7), lam, (N,)))
    ks = np.arange(int(lam + 6 * np.sqrt(lam)) + 1)
    empirical = np.searchsorted(np.sort(x), ks, side="right") / N
    assert np.max(np.abs(empirical - stats.poisson(lam).cdf(ks))) < 1.95 / np.sqrt(N)


def test_discrete_samplers():
    k = R.split(KEY, 8)
    r = R.randint(k[0], (N,), -3, 5)
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 4
    np.testing.assert_allclose(np.bincount(r + 3) / N, 1 / 8, atol=5 * np.sqrt(1 / 8 / N))
    assert R.randint(k[0], (3,), np.array([0, 10, 20]), np.array([1, 11, 21]),
                     dtype=np.int32).tolist() == [0, 10, 20]
    s = R.rademacher(k[1], (N,), dtype=np.int8)
    assert s.dtype == np.int8 and set(np.unique(s).tolist()) == {-1, 1}
    assert abs(s.astype(float).mean()) < 5 / np.sqrt(N)
    p = np.array([0.1, 0.2, 0.7])
    c = R.categorical(k[2], np.log(p), shape=(N,))
    np.testing.assert_allclose(np.bincount(c, minlength=3) / N, p, atol=0.015)
    c2 = R.categorical(k[2], np.array([[0.0, 0.0, -np.inf], [-np.inf, -np.inf, 0.0]]), axis=1)
    assert c2.shape == (2,) and c2[1] == 2 and c2[0] in (0, 1)
    c3 = R.categorical(k[2], np.zeros(5), shape=(5,), replace=False)
    assert sorted(c3.tolist()) == [0, 1, 2, 3, 4]
    g = R.geometric(k[3], 0.25, (N,))
    assert g.min() >= 1 and abs(g.mean() - 4.0) < 5 * np.sqrt(12 / N)


def test_choice():
    k = R.split(KEY, 4)
    perm = R.choice(k[0], 10, (10,), replace=False)
    assert sorted(perm.tolist()) == list(range(10))
    p = np.array([0.5, 0.0, 0.25, 0.25])
    draws = R.choice(k[1], 4, (N,), p=p)
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / N, p, atol=0.015)
    picks = R.choice(k[2], 4, (3,), replace=False, p=p)
    assert sorted(picks.tolist()) == [0, 2, 3]
    rows = R.choice(k[3], np.arange(12.0).reshape(3, 4), (2, 5), axis=1)
    assert rows.shape == (3, 2, 5)
    with pytest.raises(ValueError):
        R.choice(k[0], 3, (4,), replace=False)


def test_dirichlet_multivariate_normal_orthogonal_ball():
    k = R.split(KEY, 5)
    alpha = np.array([0.5, 2.0, 3.5])
    d = R.dirichlet(k[0], alpha, (N,))
    assert d.shape == (N, 3)
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-12)
    mean = alpha / alpha.sum()
    var = mean * (1 - mean) / (alpha.sum() + 1)
    assert np.all(np.abs(d.mean(0) - mean) < 5 * np.sqrt(var / N))
    tiny = R.dirichlet(k[0], np.array([1e-3, 1e-3]), (100,))
    assert np.all(np.isfinite(tiny)) and np.allclose(tiny.sum(-1), 1.0)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    for method in ("cholesky", "eigh", "svd"):
        x = R.multivariate_normal(k[1], np.array([1.0, -1.0]), cov, (N,), method=method)
        assert x.shape == (N, 2)
        np.testing.assert_allclose(np.cov(x.T), cov, atol=0.08)
        np.testing.assert_allclose(x.mean(0), [1.0, -1.0], atol=0.05)
    q = R.orthogonal(k[2], 4, (3,))
    assert q.shape == (3, 4, 4)
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(4), q.shape),
                               atol=1e-12)
    wide = R.orthogonal(k[2], 2, m=5)
    assert wide.shape == (2, 5)
    np.testing.assert_allclose(wide @ wide.T, np.eye(2), atol=1e-12)
    b = R.ball(k[3], 3, shape=(N,))
    radius = np.linalg.norm(b, axis=-1)
    assert radius.max() <= 1.0 and abs(np.mean(radius ** 3) - 0.5) < 5 * np.sqrt(1 / 12 / N)


def test_shapes_dtypes_and_broadcasting():
    k = KEY
    for fn in (R.exponential, R.laplace, R.logistic, R.gumbel, R.cauchy, R.maxwell):
        assert fn(k).shape == ()
        x = fn(k, (2, 3), dtype=np.float32)
        assert x.shape == (2, 3) and x.dtype == np.float32
    a = np.array([[0.5], [2.0]])
    assert R.gamma(k, a).shape == (2, 1)
    assert R.gamma(k, a, (2, 4), dtype=np.float32).dtype == np.float32
    assert R.beta(k, a, np.ones(3)).shape == (2, 3)
    assert R.poisson(k, a, (2, 5), dtype=np.int32).dtype == np.int32
    assert R.truncated_normal(k, -1.0, np.ones(4)).shape == (4,)
    assert R.dirichlet(k, np.ones((2, 3))).shape == (2, 3)
    assert R.dirichlet(k, np.ones(3), (5, 2)).shape == (5, 2, 3)
    assert R.multivariate_normal(k, np.zeros((4, 2)), np.eye(2)).shape == (4, 2)
    with pytest.raises(ValueError):
        R.gamma(k, np.ones(3), (2,))
    with pytest.raises(TypeError):
        R.exponential(k, (2,), dtype=np.int32)
    with pytest.raises(TypeError):
        R.gamma(np.zeros(3, np.uint32), 1.0)
    # Determinism per key, independence across keys.
    k1, k2 = R.split(k)
    np.testing.assert_array_equal(R.gamma(k1, 2.0, (50,)), R.gamma(k1, 2.0, (50,)))
    np.testing.assert_array_equal(R.poisson(k1, 30.0, (50,)), R.poisson(k1, 30.0, (50,)))
    assert not np.array_equal(R.gamma(k1, 2.0, (50,)), R.gamma(k2, 2.0, (50,)))


def _draw_many(key, a):
    """Several distributions at once: the one function compiled by the tests below."""
    ks = R.split(key, 10)
    return {
        "laplace": R.laplace(ks[0], (3,)),
        "cauchy": R.cauchy(ks[0], (3,), dtype=np.float32),
        "gamma": R.gamma(ks[1], a),
        "beta": R.beta(ks[2], a, 2.0),
        "dirichlet": R.dirichlet(ks[3], fnp.stack([a, a + 1.0], axis=-1)),
        "poisson": R.poisson(ks[4], 8.0 * a, (2, 3)),
        "truncated_normal": R.truncated_normal(ks[5], -a, 2.0),
        "categorical": R.categorical(ks[6], fnp.log(fnp.stack([a, 1.0 / a])), axis=0),
        "randint": R.randint(ks[7], (4,), 0, 100),
        "choice": R.choice(ks[8], 7, (3,), replace=False),
        "multivariate_normal": R.multivariate_normal(ks[9], a[:2], 2.0 * fnp.eye(2)),
        "t": R.t(ks[9], a),
    }


def _assert_same(got, want):
    for name in want:
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want[name]), rtol=1e-12,
                                   atol=1e-300, err_msg=name)
        assert np.asarray(got[name]).dtype == np.asarray(want[name]).dtype, name


def test_eager_jit_and_vmap_agree():
    a = np.array([0.3, 1.7, 40.0])
    keys = R.split(R.key(9), 3)
    eager = [_draw_many(k, a) for k in keys]
    jitted = fg.jit(_draw_many)
    _assert_same(jitted(keys[0], a), eager[0])
    over_keys = fg.vmap(_draw_many, in_axes=(0, None))(keys, a)
    for i in range(3):
        _assert_same({n: v[i] for n, v in over_keys.items()}, eager[i])
    params = np.array([[0.3, 1.7, 40.0], [5.0, 0.05, 2.0]])
    over_params = fg.vmap(_draw_many, in_axes=(None, 0))(keys[0], params)
    for i in range(2):
        _assert_same({n: v[i] for n, v in over_params.items()}, _draw_many(keys[0], params[i]))


# ---------------------------------------------------------------------------- derivatives

def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name, f, x", [
    ("scale_location", lambda p: (p + p * R.laplace(KEY, (4,)) + p * R.gumbel(KEY, (4,))
                                  + p * R.logistic(KEY, (4,)) + p * R.cauchy(KEY, (4,))
                                  + p * R.exponential(KEY, (4,))).sum(), 0.7),
    ("truncated_normal_lower", lambda p: R.truncated_normal(KEY, p, 1.5, (5,)).sum(), -0.4),
    ("truncated_normal_upper", lambda p: R.truncated_normal(KEY, -3.0, p, (5,)).sum(), 0.8),
    ("truncated_normal_tail", lambda p: R.truncated_normal(KEY, p, p + 1.0, (5,)).sum(), 5.0),
    ("lognormal", lambda p: R.lognormal(KEY, p, (4,)).sum(), 0.6),
    ("pareto", lambda p: R.pareto(KEY, p, (4,)).sum(), 2.5),
    ("weibull_min", lambda p: R.weibull_min(KEY, 1.3, p, (4,)).sum(), 1.7),
    ("double_sided_maxwell", lambda p: R.double_sided_maxwell(KEY, p, p * p, (4,)).sum(), 0.9),
    ("multivariate_normal", lambda p: R.multivariate_normal(
        KEY, fnp.stack([p, -p]), fnp.array([[2.0, 0.3], [0.3, 1.0]]) * p, (3,)).sum(), 1.3),
])
def test_reparameterised_gradients_match_finite_differences(name, f, x):
    np.testing.assert_allclose(fg.grad(f)(x), _fd(f, x), rtol=1e-6, atol=1e-9)


@needs_scipy
@pytest.mark.parametrize("a", [0.05, 0.4, 1.0, 3.0, 25.0, 2000.0])
def test_gamma_gradient_is_the_implicit_derivative(a):
    """d x / d a at the drawn x equals d/da F^{-1}(u; a) at fixed u = F(x; a), by finite
    differences of SciPy's inverse regularised incomplete gamma function."""
    x = R.gamma(KEY, a, (6,))
    grads = fg.jacobian(lambda s: R.gamma(KEY, s, (6,)))(a)
    u = special.gammainc(a, x)
    keep = (u > 1e-12) & (u < 1 - 1e-12)
    h = 1e-5 * a
    fd = (special.gammaincinv(a + h, u) - special.gammaincinv(a - h, u)) / (2 * h)
    np.testing.assert_allclose(grads[keep], fd[keep], rtol=1e-5)
    # Forward mode gives the same.
    _, tangent = fg.jvp(lambda s: R.gamma(KEY, s, (6,)), (a,), (1.0,))
    np.testing.assert_allclose(tangent, grads, rtol=1e-12)


@needs_scipy
def test_beta_dirichlet_t_gradients_through_gamma():
    key_a, key_b = R.split(KEY)
    a, b = 1.3, 2.2

    def by_hand(a):   # beta = X / (X + Y), both gamma draws made from the same keys
        x, y = R.gamma(key_a, a, (4,)), R.gamma(key_b, b, (4,))
        return x / (x + y)
    np.testing.assert_allclose(fg.jacobian(lambda s: R.beta(KEY, s, b, (4,)))(a),
                               fg.jacobian(by_hand)(a), rtol=1e-10)
    g = fg.grad(lambda s: R.dirichlet(KEY, fnp.stack([s, 2.0 * s, 1.0]), (3,))[:, 0].sum())(0.8)
    assert np.isfinite(g)
    assert np.isfinite(fg.grad(lambda s: R.t(KEY, s, (3,)).sum())(4.0))
    assert np.isfinite(fg.grad(lambda s: R.chisquare(KEY, s, (3,)).sum())(4.0))


def test_gradient_under_jit_and_vmap():
    def f(a):
        return R.gamma(KEY, a, (3,)).sum() + R.truncated_normal(KEY, -a, a, (3,)).sum()
    a = np.array([0.5, 2.0, 7.0])
    eager = np.array([fg.grad(f)(x) for x in a])
    np.testing.assert_allclose(fg.vmap(fg.grad(f))(a), eager, rtol=1e-10)
    np.testing.assert_allclose(fg.jit(fg.grad(f))(a[1]), eager[1], rtol=1e-10)


@needs_scipy
@pytest.mark.parametrize("a", [0.3, 1.5, 12.0])
def test_gamma_second_and_third_derivatives(a):
    # The implicit derivative follows the sample along its CDF level u = P(a, x): the log
    # samples as a function of a are log(gammaincinv(a, u)), whose second and third
    # derivatives central differences give (to ~1e-7 and ~1e-4 here).
    def f(s):
        return R.loggamma(KEY, s, (3,)).sum()
    u = special.gammainc(a, np.exp(np.asarray(R.loggamma(KEY, a, (3,)))))

    def level(s):
        return np.log(special.gammaincinv(s, u)).sum()
    h = 1e-3 * a
    second_fd = (level(a + h) - 2 * level(a) + level(a - h)) / h ** 2
    third_fd = (level(a + 2 * h) - 2 * level(a + h) + 2 * level(a - h) - level(a - 2 * h)) \
        / (2 * h ** 3)
    first, second = fg.grad(f), fg.grad(fg.grad(f))
    np.testing.assert_allclose(second(a), second_fd, rtol=1e-5)
    np.testing.assert_allclose(fg.grad(second)(a), third_fd, rtol=2e-3)
    np.testing.assert_allclose(fg.jvp(first, (a,), (1.0,))[1], second(a), rtol=1e-12)
    np.testing.assert_allclose(fg.hessian(f)(a), second(a), rtol=1e-12)
