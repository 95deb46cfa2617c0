"""funcgrad.scipy.special and funcgrad.scipy.stats.norm: values against SciPy over wide ranges
(skipped without SciPy), derivatives to second order, vmap against a loop, jit of a composed
function, and gammaln's reverse-mode derivative against torch.lgamma (skipped without torch).

The relative error bounds below are the measured maxima (on these draws) rounded up; they are
the accuracy the module docstrings state.
"""
import subprocess
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.scipy.special as fsp
from funcgrad.scipy import stats as fstats

scipy_special = pytest.importorskip("scipy.special", reason="SciPy is an optional test "
                                    "dependency")

RNG = np.random.default_rng(2024)
N = 20000


def _wide():
    return np.concatenate([RNG.uniform(-50, 50, N), np.exp(RNG.uniform(-30, 30, N)),
                           RNG.uniform(0, 3, N)])


def _max_relative_error(got, want, floor=0.0):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), "nan in different places"
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite], want[~finite]), "different infinities"
    scale = np.maximum(np.abs(want[finite]), floor)
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(got[finite] - want[finite]) / scale, initial=0.0))


# name, funcgrad function, SciPy function, inputs, the relative bound (float64), and an
# absolute floor of the denominator (near zeros of the function, whose relative error no
# method without a series about each zero can bound).
# Measured maxima (float64, these draws): gammaln 3.5e-14 (1e-16 absolute near x = 1, 2),
# digamma 5e-16 on x > 0 (1e-11 near its negative zeros, as SciPy's own), polygamma 1.2e-15,
# erfc 1.1e-15 to x = 26 (SciPy's own erfc is off by 6e-14 there; ours agrees with mpmath to
# 2e-16), erfinv 1.1e-15, ndtri 1.2e-15 (p down to 1e-300), i0e 1.8e-15, i1e 2.1e-15.
VALUE_CASES = [
    ("gammaln", fsp.gammaln, scipy_special.gammaln, _wide(), 5e-14, 1.0),
    ("digamma", fsp.digamma, scipy_special.digamma, RNG.uniform(1e-3, 60, N), 2e-15, 0.0),
    # Near the negative poles SciPy's digamma is off by up to 7e-13 (ours: 6e-17 from mpmath
    # at SciPy's worst point of these draws), so the bound is SciPy's.
    ("digamma_negative", fsp.digamma, scipy_special.digamma, RNG.uniform(-30, 0, N), 5e-12,
     1.0),
    ("polygamma1", lambda x: fsp.polygamma(1, x), lambda x: scipy_special.polygamma(1, x),
     RNG.uniform(1e-2, 40, N), 3e-15, 0.0),
    ("polygamma3", lambda x: fsp.polygamma(3, x), lambda x: scipy_special.polygamma(3, x),
     RNG.uniform(1e-2, 40, N), 3e-15, 0.0),
    ("erf", fsp.erf, scipy_special.erf, RNG.uniform(-7, 7, N), 2e-15, 1e-3),
    # SciPy's erfc is off by 7.8e-15 at x = 9.4 (ours by 4e-17, from mpmath).
    ("erfc", fsp.erfc, scipy_special.erfc, RNG.uniform(-6, 10, N), 1e-14, 0.0),
    ("erfinv", fsp.erfinv, scipy_special.erfinv, RNG.uniform(-1, 1, N), 3e-15, 0.0),
    ("erfinv_tail", fsp.erfinv, scipy_special.erfinv, 1 - np.exp(RNG.uniform(-36, 0, N)),
     3e-15, 0.0),
    ("ndtri", fsp.ndtri, scipy_special.ndtri, RNG.uniform(0, 1, N), 3e-15, 1e-2),
    ("ndtri_tiny", fsp.ndtri, scipy_special.ndtri, np.exp(RNG.uniform(-690, 0, N)), 3e-15,
     1e-2),
    ("i0e", fsp.i0e, scipy_special.i0e, RNG.uniform(-100, 100, N), 4e-15, 0.0),
    ("i0e_large", fsp.i0e, scipy_special.i0e, np.exp(RNG.uniform(-10, 20, N)), 4e-15, 0.0),
    ("i1e", fsp.i1e, scipy_special.i1e, RNG.uniform(-100, 100, N), 4e-15, 0.0),
    ("i1e_large", fsp.i1e, scipy_special.i1e, np.exp(RNG.uniform(-10, 20, N)), 4e-15, 0.0),
    ("ndtr", fsp.ndtr, scipy_special.ndtr, RNG.uniform(-37, 8, N), 2e-13, 0.0),
    ("log_ndtr", fsp.log_ndtr, scipy_special.log_ndtr, RNG.uniform(-1e3, 8, N), 5e-15, 1e-3),
    ("expit", fsp.expit, scipy_special.expit, RNG.uniform(-700, 700, N), 5e-16, 0.0),
    ("logit", fsp.logit, scipy_special.logit, RNG.uniform(0, 1, N), 1e-15, 1.0),
    ("gamma", fsp.gamma, scipy_special.gamma, RNG.uniform(-20, 30, N), 5e-14, 0.0),
    ("entr", fsp.entr, scipy_special.entr, RNG.uniform(-1, 5, N), 1e-15, 1e-3),
]


@pytest.mark.parametrize("name, fn, reference, x, bound, floor", VALUE_CASES,
                         ids=[case[0] for case in VALUE_CASES])
def test_values_against_scipy(name, fn, reference, x, bound, floor):
    with np.errstate(all="ignore"):
        want = reference(x)
    assert _max_relative_error(fn(x), want, floor) < bound


@pytest.mark.parametrize("name, fn, reference, x, bound, floor", VALUE_CASES,
                         ids=[case[0] for case in VALUE_CASES])
def test_float32_values(name, fn, reference, x, bound, floor):
    # float32 relative bounds: rounding once (2.5e-7), except where a float32 operation comes
    # before the special function (ndtr's x / sqrt 2 in its far tail, gamma's exp of gammaln).
    bound32 = {"ndtr": 2e-5, "log_ndtr": 1e-6, "gamma": 5e-6}.get(name, 2.5e-7)
    x32 = x.astype(np.float32)
    with np.errstate(all="ignore"):
        want = np.asarray(reference(x32.astype(np.float64))).astype(np.float32)
        got = fn(x32)
    assert got.dtype == np.float32
    finite = np.isfinite(want) & (np.abs(want) > 1e-30)   # float32 subnormals aside
    assert _max_relative_error(got[finite], want[finite], floor) < bound32


def test_python_numbers_are_weak_in_binary_functions():
    # As jax.scipy.special: a float32 array with a Python float stays float32 (the float
    # was made a float64 array first, and promoted the result), eagerly and under jit.
    x32 = np.array([0.5, 2.0], np.float32)
    for fn in (lambda x: fsp.xlogy(x, 2.0), lambda x: fsp.logsumexp(x, b=0.5),
               lambda x: fsp.betaln(x, 2.0), lambda x: fsp.xlog1py(3, x)):
        for result in (fn(x32), fg.jit(fn)(x32)):
            assert result.dtype == np.float32
        assert fn(x32.astype(np.float64)).dtype == np.float64
    assert fsp.xlogy(x32, np.float64(2.0)).dtype == np.float64   # a NumPy scalar is not weak
    assert fsp.xlogy(2, 3).dtype == np.float64


def test_traced_polygamma_order_says_to_make_it_static():
    # it was a TracerConversionError about NumPy conversion, naming no argument
    with pytest.raises(TypeError, match=r"(?s)polygamma: the order n is a traced i64\[\].*"
                                        r"static_argnums.*test_scipy_special\.py"):
        fg.jit(lambda n, x: fsp.polygamma(n, x) * 2.0)(2, np.array([0.5]))
    assert fg.jit(fsp.polygamma, static_argnums=0)(1, 1.0) == pytest.approx(np.pi ** 2 / 6)


def test_special_values():
    assert np.isinf(fsp.gammaln(0.0)) and np.isinf(fsp.gammaln(-3.0))
    assert fsp.digamma(0.0) == -np.inf and np.isnan(fsp.digamma(-2.0))
    assert fsp.erfinv(1.0) == np.inf and fsp.erfinv(-1.0) == -np.inf
    assert np.isnan(fsp.erfinv(1.5))
    assert fsp.ndtri(0.0) == -np.inf and fsp.ndtri(1.0) == np.inf
    assert fsp.xlogy(0.0, 0.0) == 0.0 and fsp.xlog1py(0.0, -1.0) == 0.0
    assert fsp.entr(0.0) == 0.0 and fsp.entr(-1.0) == -np.inf
    assert fsp.i1e(0.0) == 0.0 and fsp.i0e(0.0) == 1.0
    assert float(fsp.gammaln(3)) == pytest.approx(np.log(2.0))   # integers as float64


def test_two_argument_functions_against_scipy():
    a, b = RNG.uniform(0.1, 20, 200), RNG.uniform(0.1, 20, 200)
    np.testing.assert_allclose(fsp.betaln(a, b), scipy_special.betaln(a, b), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(fsp.beta(a, b), scipy_special.beta(a, b), rtol=1e-12)
    x, y = RNG.uniform(-2, 2, 200), RNG.uniform(0.01, 5, 200)
    x[::7] = 0.0
    np.testing.assert_allclose(fsp.xlogy(x, y), scipy_special.xlogy(x, y), rtol=1e-15)
    np.testing.assert_allclose(fsp.xlog1py(x, y - 1), scipy_special.xlog1py(x, y - 1),
                               rtol=1e-15)


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": 1, "keepdims": True},
                                    {"axis": -1, "b": "b"}, {"axis": 0, "b": "b",
                                                             "return_sign": True}])
def test_logsumexp_against_scipy(kwargs):
    a = RNG.normal(size=(3, 4)) * 30
    options = dict(kwargs)
    if options.get("b") == "b":
        options["b"] = RNG.normal(size=(3, 4))
    with np.errstate(invalid="ignore"):   # a negative sum without return_sign: nan, as SciPy
        got, want = fsp.logsumexp(a, **options), scipy_special.logsumexp(a, **options)
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-13)


def test_softmax_against_scipy():
    x = RNG.normal(size=(3, 4))
    for axis in (None, 0, 1):
        np.testing.assert_allclose(fsp.softmax(x, axis), scipy_special.softmax(x, axis),
                                   rtol=1e-14)
        np.testing.assert_allclose(fsp.log_softmax(x, axis),
                                   scipy_special.log_softmax(x, axis), rtol=1e-14)


def test_norm_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.linspace(-40, 10, 101)
    for name in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
        np.testing.assert_allclose(getattr(fstats.norm, name)(x, 1.5, 2.0),
                                   getattr(scipy_stats.norm, name)(x, 1.5, 2.0), rtol=1e-12,
                                   atol=1e-300, err_msg=name)
    q = np.linspace(0.001, 0.999, 51)
    for name in ("ppf", "isf"):
        np.testing.assert_allclose(getattr(fstats.norm, name)(q, -1.0, 3.0),
                                   getattr(scipy_stats.norm, name)(q, -1.0, 3.0), rtol=1e-12,
                                   atol=1e-13, err_msg=name)


# --------------------------------------------------------------------------- derivatives

GRAD_CASES = [
    ("gammaln", fsp.gammaln, (np.array([0.3, 1.7, 4.5, -1.5]),)),
    ("digamma", fsp.digamma, (np.array([0.4, 1.46, 6.0]),)),
    ("polygamma2", lambda x: fsp.polygamma(2, x), (np.array([0.6, 2.0, 12.0]),)),
    ("erfc", fsp.erfc, (np.array([-1.0, 0.3, 2.7]),)),
    ("erfinv", fsp.erfinv, (np.array([-0.9, 0.1, 0.6]),)),
    ("ndtri", fsp.ndtri, (np.array([0.1, 0.4, 0.85]),)),
    ("i0e", fsp.i0e, (np.array([-3.0, 0.5, 25.0]),)),
    ("i1e", fsp.i1e, (np.array([-3.0, 0.5, 25.0]),)),
    ("ndtr", fsp.ndtr, (np.array([-3.0, 0.2, 2.0]),)),
    ("log_ndtr", fsp.log_ndtr, (np.array([-30.0, -3.0, 0.5, 4.0]),)),
    ("logit", fsp.logit, (np.array([0.1, 0.5, 0.8]),)),
    ("expit", fsp.expit, (np.array([-2.0, 0.5]),)),
    ("entr", fsp.entr, (np.array([0.2, 1.5]),)),
    ("gamma", fsp.gamma, (np.array([-1.5, 0.7, 3.2]),)),
    ("betaln", fsp.betaln, (np.array([0.5, 2.0]), np.array([1.5, 3.0]))),
    ("beta", fsp.beta, (np.array([0.5, 2.0]), np.array([1.5, 3.0]))),
    ("xlogy", fsp.xlogy, (np.array([0.5, -2.0]), np.array([1.5, 3.0]))),
    ("xlog1py", fsp.xlog1py, (np.array([0.5, -2.0]), np.array([0.5, 3.0]))),
    ("logsumexp_b", lambda a, b: fsp.logsumexp(a, axis=0, b=b),
     (np.array([[0.5, 1.0], [2.0, -1.0]]), np.array([[1.0, 2.0], [0.5, 3.0]]))),
    ("softmax", lambda x: fsp.softmax(x, axis=1), (np.array([[0.5, 1.0, -1.0]]),)),
    ("norm_logcdf", lambda x, s: fstats.norm.logcdf(x, 0.5, s),
     (np.array([-8.0, 0.3]), np.array([1.5, 0.7]))),
    ("norm_ppf", lambda q, s: fstats.norm.ppf(q, 1.0, s),
     (np.array([0.2, 0.6]), np.array([1.5, 0.7]))),
]


@pytest.mark.parametrize("name, fn, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_check_grads_to_second_order(name, fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_derivatives_are_the_named_functions():
    x = np.array([0.3, 1.7, 4.5])
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.gammaln))(x), scipy_special.digamma(x),
                               rtol=1e-14)
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.grad(fsp.gammaln)))(x),
                               scipy_special.polygamma(1, x), rtol=1e-14)
    assert float(fg.grad(fsp.i1e)(0.0)) == 0.5
    y = np.array([-0.9, 0.2, 0.99])
    np.testing.assert_allclose(fg.vmap(fg.grad(fsp.erfinv))(y),
                               np.sqrt(np.pi) / 2 * np.exp(scipy_special.erfinv(y) ** 2),
                               rtol=1e-14)


def test_log_ndtr_derivative_far_in_the_tail_is_finite():
    slope = fg.grad(fsp.log_ndtr)(-100.0)    # ~ -x for x -> -inf
    assert np.isfinite(slope) and slope == pytest.approx(100.01, rel=1e-4)


@pytest.mark.parametrize("fn", [fsp.gammaln, fsp.digamma, fsp.i1e, fsp.erfinv,
                                lambda x: fsp.polygamma(1, x)],
                         ids=["gammaln", "digamma", "i1e", "erfinv", "polygamma1"])
def test_vmap_of_grad_matches_a_loop(fn):
    x = np.array([0.25, 0.5, 0.75]) if fn is fsp.erfinv else np.array([0.3, 2.5, 7.0])
    batched = fg.vmap(fg.grad(fn))(x)
    looped = np.stack([fg.grad(fn)(v) for v in x])
    np.testing.assert_allclose(batched, looped, rtol=1e-15)


def test_jit_of_a_composed_function():
    def loss(x):
        return (fsp.gammaln(x) + fsp.log_ndtr(x - 2.0) + fsp.i0e(x)
                + fsp.xlogy(x, x + 1.0)).sum()

    x = np.array([0.5, 1.5, 3.0, 7.0])
    value, gradient = fg.jit(fg.value_and_grad(loss))(x)
    want_value, want_gradient = fg.value_and_grad(loss)(x)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(gradient, want_gradient, rtol=1e-13)
    np.testing.assert_allclose(
        value, (scipy_special.gammaln(x) + scipy_special.log_ndtr(x - 2.0)
                + scipy_special.i0e(x) + scipy_special.xlogy(x, x + 1.0)).sum(), rtol=1e-13)


def test_gammaln_reverse_mode_against_torch():
    torch = pytest.importorskip("torch")
    x = np.concatenate([RNG.uniform(0.05, 30, 50), RNG.uniform(-5, -0.1, 10)])
    tx = torch.tensor(x, requires_grad=True)
    torch.lgamma(tx).sum().backward()
    ours = fg.grad(lambda v: fsp.gammaln(v).sum())(x)
    np.testing.assert_allclose(ours, tx.grad.numpy(), rtol=1e-10)


def test_import_funcgrad_does_not_import_scipy_namespaces():
    code = ("import sys, funcgrad as fg; assert 'funcgrad.scipy' not in sys.modules; "
            "assert 'scipy' not in sys.modules; fg.scipy.special.gammaln(1.5); "
            "assert 'scipy' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_erf_without_scipy_is_the_series_within_a_few_ulps():
    # funcgrad's own erf (used where SciPy is absent) against libm's, and SciPy's where it is.
    import math

    from funcgrad.ops.special import _erf_series, erf_numpy
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, np.inf, -np.inf]])
    libm = np.array([math.erf(v) for v in x])
    series = _erf_series(x, np.dtype(np.float64))
    np.testing.assert_allclose(series, libm, rtol=0, atol=1.3e-15)
    np.testing.assert_allclose(erf_numpy(x), libm, rtol=0, atol=1.3e-15)
    assert np.isnan(_erf_series(np.array([np.nan]), np.dtype(np.float64))).all()
    assert _erf_series(np.float32(0.5), np.dtype(np.float32)).dtype == np.float32
