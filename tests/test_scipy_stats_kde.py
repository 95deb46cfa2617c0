"""funcgrad.scipy.stats.gaussian_kde: values against SciPy's gaussian_kde for each bandwidth
rule, with and without weights, in one and two dimensions; derivatives to second order in the
points and the dataset; the estimate as a pytree through jit, grad and vmap; resample's shape,
dtype and moments; float32 kept; and the errors."""
import numpy as np
import pytest

import funcgrad as fg
from funcgrad.scipy import stats as fstats

RNG = np.random.default_rng(5)
DATA_2D = RNG.normal(size=(2, 40)) * np.array([[1.0], [0.5]])
DATA_1D = RNG.normal(size=25)
WEIGHTS = RNG.uniform(0.2, 2.0, 40)
POINTS_2D = np.concatenate([RNG.normal(size=(2, 8)), [[6.0, -7.0], [5.0, 9.0]]], axis=1)
POINTS_1D = np.concatenate([np.linspace(-4.0, 4.0, 9), [12.0]])   # 12: far in the tail


@pytest.fixture(scope="module")
def scipy_stats():
    return pytest.importorskip("scipy.stats", reason="SciPy is an optional test dependency")


BANDWIDTHS = [None, "scott", "silverman", 0.3, lambda kde: 0.8 * kde.neff ** -0.2]


@pytest.mark.parametrize("bw_method", BANDWIDTHS, ids=["default", "scott", "silverman",
                                                       "scalar", "callable"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_scipy_in_two_dimensions(scipy_stats, bw_method, weighted):
    weights = WEIGHTS if weighted else None
    ours = fstats.gaussian_kde(DATA_2D, bw_method=bw_method, weights=weights)
    theirs = scipy_stats.gaussian_kde(DATA_2D, bw_method=bw_method, weights=weights)
    np.testing.assert_allclose(float(ours.neff), theirs.neff, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(ours.covariance), theirs.covariance, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.inv_cov), theirs.inv_cov, rtol=1e-11)
    np.testing.assert_allclose(np.asarray(ours.evaluate(POINTS_2D)), theirs(POINTS_2D),
                               rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(np.asarray(ours.pdf(POINTS_2D)), theirs.pdf(POINTS_2D),
                               rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(np.asarray(ours.logpdf(POINTS_2D)), theirs.logpdf(POINTS_2D),
                               rtol=1e-11)
    mean, cov = np.array([0.3, -0.2]), np.array([[0.5, 0.1], [0.1, 0.4]])
    np.testing.assert_allclose(float(ours.integrate_gaussian(mean, cov)),
                               theirs.integrate_gaussian(mean, cov), rtol=1e-12)


def test_matches_scipy_in_one_dimension(scipy_stats):
    ours, theirs = fstats.gaussian_kde(DATA_1D), scipy_stats.gaussian_kde(DATA_1D)
    assert (ours.d, ours.n) == (1, 25)
    np.testing.assert_allclose(np.asarray(ours(POINTS_1D)), theirs(POINTS_1D), rtol=1e-11)
    # at 12 the density is ~1e-30: logpdf keeps its accuracy through logsumexp
    np.testing.assert_allclose(np.asarray(ours.logpdf(POINTS_1D)), theirs.logpdf(POINTS_1D),
                               rtol=1e-12)
    for low, high in [(-1.0, 0.5), (-np.inf, 0.0), (2.0, np.inf), (-np.inf, np.inf)]:
        np.testing.assert_allclose(float(ours.integrate_box_1d(low, high)),
                                   theirs.integrate_box_1d(low, high), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(float(ours.integrate_gaussian(0.4, 0.3)),
                               theirs.integrate_gaussian(0.4, 0.3), rtol=1e-12)
    # one point of d coordinates as a flat array
    two = fstats.gaussian_kde(DATA_2D)
    np.testing.assert_allclose(np.asarray(two(np.array([0.1, 0.2]))),
                               scipy_stats.gaussian_kde(DATA_2D)([[0.1], [0.2]]), rtol=1e-12)


def test_derivatives_in_points_and_dataset_to_second_order():
    data = DATA_1D[:8]
    fg.check_grads(lambda q: fstats.gaussian_kde(data).logpdf(q), (POINTS_1D[:5],), order=2)
    fg.check_grads(lambda d: fstats.gaussian_kde(d).pdf(POINTS_1D[3:6]), (data,), order=2)
    fg.check_grads(lambda d, w: fstats.gaussian_kde(d, weights=w).logpdf(POINTS_2D[:, :3]),
                   (DATA_2D[:, :6], WEIGHTS[:6]), order=2)
    fg.check_grads(lambda d: fstats.gaussian_kde(d).integrate_box_1d(-0.5, 1.0), (data,),
                   order=2)


def test_gradient_of_logpdf_in_the_point_is_the_score():
    # d/dq log p(q) = sum_i w_i k_i (x_i - q) / h^2 / p(q) in one dimension
    kde = fstats.gaussian_kde(DATA_1D, bw_method=0.5)
    q = 0.7
    variance = float(kde.covariance[0, 0])
    kernels = np.exp(-0.5 * (DATA_1D - q) ** 2 / variance)
    score = np.sum(kernels * (DATA_1D - q)) / variance / np.sum(kernels)
    got = fg.grad(lambda q: kde.logpdf(q)[0])(q)
    np.testing.assert_allclose(float(got), score, rtol=1e-12)


def test_the_estimate_is_a_pytree_through_jit_grad_and_vmap():
    kde = fstats.gaussian_kde(DATA_2D, weights=WEIGHTS)
    leaves = fg.tree.leaves(kde)
    assert len(leaves) == 5
    rebuilt = fg.tree.unflatten(fg.tree.structure(kde), leaves)
    np.testing.assert_array_equal(np.asarray(rebuilt(POINTS_2D)), np.asarray(kde(POINTS_2D)))

    @fg.jit
    def program(estimate, points):
        return (estimate.logpdf(points), estimate.pdf(points),
                estimate.integrate_gaussian(np.zeros(2), np.eye(2)))

    for got, want in zip(program(kde, POINTS_2D),
                         (kde.logpdf(POINTS_2D), kde.pdf(POINTS_2D),
                          kde.integrate_gaussian(np.zeros(2), np.eye(2)))):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-300)
    # grad with respect to the estimate: a gradient of the same structure
    gradient = fg.grad(lambda estimate: fg.numpy.sum(estimate.pdf(POINTS_2D[:, :3])))(kde)
    assert type(gradient) is fstats.gaussian_kde
    assert np.shape(gradient.dataset) == (2, 40) and np.any(np.asarray(gradient.dataset) != 0)
    # vmap over points, one at a time
    mapped = fg.vmap(lambda point: kde.logpdf(point[:, None])[0], in_axes=1)(POINTS_2D)
    np.testing.assert_allclose(np.asarray(mapped), np.asarray(kde.logpdf(POINTS_2D)),
                               rtol=1e-12)


def test_traced_dataset_builds_an_estimate_under_jit():
    built = fg.jit(lambda d, q: fstats.gaussian_kde(d, bw_method="silverman").logpdf(q))
    want = fstats.gaussian_kde(DATA_1D, bw_method="silverman").logpdf(POINTS_1D)
    np.testing.assert_allclose(np.asarray(built(DATA_1D, POINTS_1D)), np.asarray(want),
                               rtol=1e-12)


def test_resample_shape_dtype_and_moments():
    kde = fstats.gaussian_kde(DATA_2D, weights=WEIGHTS)
    samples = np.asarray(kde.resample(fg.random.key(3), (4000,)))
    assert samples.shape == (2, 4000)
    # mean: the weighted data mean; covariance: the data's plus the kernel's
    weights = WEIGHTS / WEIGHTS.sum()
    mean = DATA_2D @ weights
    np.testing.assert_allclose(samples.mean(axis=1), mean, atol=0.06)
    data_cov = np.cov(DATA_2D, aweights=weights, bias=True)
    np.testing.assert_allclose(np.cov(samples), data_cov + np.asarray(kde.covariance),
                               atol=0.08)
    assert np.asarray(kde.resample(fg.random.key(3), 5)).shape == (2, 5)
    assert np.asarray(kde.resample(fg.random.key(3))).shape == (2,)
    again = np.asarray(kde.resample(fg.random.key(3), (4000,)))
    np.testing.assert_array_equal(samples, again)


def test_float32_is_kept():
    kde = fstats.gaussian_kde(DATA_2D.astype(np.float32), weights=WEIGHTS.astype(np.float32))
    points = POINTS_2D[:, :4].astype(np.float32)
    assert kde.covariance.dtype == np.float32
    for value in (kde(points), kde.logpdf(points), kde.resample(fg.random.key(0), 3),
                  kde.integrate_gaussian(np.zeros(2, np.float32), np.eye(2, dtype=np.float32))):
        assert value.dtype == np.float32
    want = fstats.gaussian_kde(DATA_2D, weights=WEIGHTS).logpdf(POINTS_2D[:, :4])
    np.testing.assert_allclose(np.asarray(kde.logpdf(points)), np.asarray(want), rtol=2e-5)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="bw_method"):
        fstats.gaussian_kde(DATA_1D, bw_method="wide")
    with pytest.raises(ValueError, match="weights must have shape"):
        fstats.gaussian_kde(DATA_1D, weights=np.ones(3))
    with pytest.raises(ValueError, match="at least two points"):
        fstats.gaussian_kde(np.ones((2, 1)))
    kde = fstats.gaussian_kde(DATA_2D)
    with pytest.raises(ValueError, match="integrate_box_1d"):
        kde.integrate_box_1d(0.0, 1.0)
    with pytest.raises(ValueError, match="points must have 2 rows"):
        kde.evaluate(np.ones((3, 4)))
    with pytest.raises(ValueError, match="integrate_gaussian"):
        kde.integrate_gaussian(np.zeros(3), np.eye(3))


def test_unweighted_estimate_under_grad_and_vmap_over_datasets():
    kde = fstats.gaussian_kde(DATA_1D)
    gradient = fg.grad(lambda estimate: estimate.pdf(np.array([0.3]))[0])(kde)
    assert gradient.dataset.shape == (1, 25) and np.any(np.asarray(gradient.dataset) != 0)
    datasets = RNG.normal(size=(3, 12))
    mapped = fg.vmap(lambda d: fstats.gaussian_kde(d).logpdf(np.array([0.2, 1.0])))(datasets)
    looped = np.stack([np.asarray(fstats.gaussian_kde(d).logpdf(np.array([0.2, 1.0])))
                       for d in datasets])
    np.testing.assert_allclose(np.asarray(mapped), looped, rtol=1e-13)
