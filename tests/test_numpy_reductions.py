"""NaN-ignoring reductions, statistics, selection, histograms, signals and the functional
helpers of funcgrad.numpy (issue 9): values and dtypes against NumPy (concrete and traced),
derivatives with ``fg.check_grads`` to second order (inputs away from ties), ``vmap``
against a loop, and one compiled program against the interpreter.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_numpy_breadth import _call, assert_matches, distinct

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

rng = np.random.default_rng(909)


def case(name, fn, *args):
    return pytest.param(fn, args, id=name)


def traced_value(fn, args):
    """``fn(fnp, *args)`` traced with unknown values (as under ``jit``), run by the
    interpreter."""
    out_tree = fg.tree.structure(_call(fn, fnp, args))
    ir = fg.make_ir(lambda *a: fn(fnp, *a))(*args)
    leaves = _call(lambda _, *a: eval_ir(ir, list(a)), None, args)
    return fg.tree.unflatten(out_tree, leaves)


W = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, np.nan, np.nan, np.nan],
              [0.5, 2.0, -1.0, 4.0]])
CUBE = distinct(3, 4, 5)
CUBE[0, 1, 2] = CUBE[2, 0, 4] = np.nan
CUBE[1, :, 3] = np.nan                    # an all-NaN group along axis 1
CUBE_F32 = CUBE.astype(np.float32)
NO_EMPTY = W[[0, 2]]                     # NaNs, but no all-NaN row
X34 = distinct(3, 4)
INTS = rng.integers(-5, 6, (3, 4))
MASK = np.array([[True, True, False, True], [False, True, True, True],
                 [True, False, True, True]])

VALUE_CASES = [
    # nan* reductions
    *[case(f"{name}_{axis}", lambda m, x, name=name, axis=axis: getattr(m, name)(x, axis=axis),
           CUBE) for name in ("nanprod", "nanvar", "nanstd", "nanmedian", "nancumsum",
                              "nancumprod") for axis in (None, 1, 2)],
    case("nanvar_ddof_keepdims", lambda m, x: m.nanvar(x, axis=0, ddof=2, keepdims=True), CUBE),
    case("nanvar_no_freedom", lambda m, x: m.nanvar(x, axis=1, ddof=3), W),
    case("nanstd_f32", lambda m, x: m.nanstd(x, axis=(0, 2)), CUBE_F32),
    case("nanvar_ints", lambda m, x: m.nanvar(x, axis=1), INTS),
    case("nanvar_where", lambda m, x: m.nanvar(x, axis=1, where=x > 0), W),
    case("nanprod_f32_where", lambda m, x: m.nanprod(x, axis=1, where=x < 2.5, initial=2.0),
         CUBE_F32),
    case("nanprod_ints", lambda m, x: m.nanprod(x, axis=0), INTS),
    case("nancumsum_f32", lambda m, x: m.nancumsum(x, axis=0), CUBE_F32),
    case("nancumsum_dtype", lambda m, x: m.nancumsum(x, axis=1, dtype=np.float32), W),
    case("nanargmax", lambda m, x: m.nanargmax(x, axis=1), NO_EMPTY),
    case("nanargmin_all", lambda m, x: m.nanargmin(x), W),
    case("nanargmax_keepdims", lambda m, x: m.nanargmax(x, axis=0, keepdims=True), CUBE[0]),
    case("nanargmin_ints", lambda m, x: m.nanargmin(x, axis=0), INTS),
    case("nanmedian_keepdims", lambda m, x: m.nanmedian(x, axis=2, keepdims=True), CUBE),
    case("nanmedian_f32", lambda m, x: m.nanmedian(x, axis=1), CUBE_F32),
    case("nanmedian_ints", lambda m, x: m.nanmedian(x, axis=1), INTS),
    case("nanmedian_rows", lambda m, x: m.nanmedian(x, axis=1), W),
    case("nanquantile_array_q", lambda m, x: m.nanquantile(x, [0.0, 0.3, 0.75, 1.0], axis=2),
         CUBE),
    case("nanquantile_axes", lambda m, x: m.nanquantile(x, 0.4, axis=(0, 2), keepdims=True),
         CUBE),
    *[case(f"nanquantile_{method}", lambda m, x, method=method: m.nanquantile(
        x, np.array([0.1, 0.5, 0.55, 0.9]), axis=1, method=method), CUBE)
      for method in ("linear", "lower", "higher", "midpoint", "nearest")],
    case("nanquantile_f32", lambda m, x: m.nanquantile(x, 0.7, axis=0), CUBE_F32),
    case("nanquantile_traced_q", lambda m, x, q: m.nanquantile(x, q, axis=1), W,
         np.array([0.2, 0.65])),
    case("nanpercentile", lambda m, x: m.nanpercentile(x, [10, 50, 95], axis=1), CUBE),
    case("nanpercentile_scalar", lambda m, x: m.nanpercentile(x, 25.0), W),
    # var/std where=, ptp, count_nonzero
    case("var_where", lambda m, x: m.var(x, axis=1, where=MASK), X34),
    case("var_where_ddof_keepdims", lambda m, x: m.var(x, axis=0, ddof=1, keepdims=True,
                                                       where=MASK), X34),
    case("std_where_all", lambda m, x: m.std(x, where=MASK), X34),
    case("std_where_bcast_f32", lambda m, x: m.std(x, axis=0, where=np.array(
        [True, False, True, True])), X34.astype(np.float32)),
    case("var_where_traced_mask", lambda m, x: m.var(x, axis=1, where=x > 0), X34),
    case("var_where_complex", lambda m, z: m.var(z, axis=1, where=np.array([True, False, True])),
         np.array([[1 + 2j, 0.5, 3 - 1j], [0.5j, 2, 1]])),
    case("nanvar_complex", lambda m, z: m.nanvar(z, axis=1), np.array([[1 + 2j, np.nan, 3 - 1j],
                                                                         [0.5j, 2, 1]])),
    case("var_out_positional", lambda m, x: m.var(x, 1, None, None, 1), X34),
    case("ptp", lambda m, x: m.ptp(x), X34),
    case("ptp_axis_keepdims", lambda m, x: m.ptp(x, axis=1, keepdims=True), CUBE[2]),
    case("ptp_ints", lambda m, x: m.ptp(x, axis=0), INTS.astype(np.int8)),
    case("count_nonzero", lambda m, x: m.count_nonzero(x), INTS),
    case("count_nonzero_axis", lambda m, x: m.count_nonzero(x, axis=(0, 2), keepdims=True),
         np.round(CUBE)),
    case("count_nonzero_bool", lambda m, x: m.count_nonzero(x > 0, axis=1), X34),
]


@pytest.mark.parametrize("fn, args", VALUE_CASES)
def test_values_against_numpy(fn, args):
    expected = _call(fn, np, args)
    assert_matches(_call(fn, fnp, args), expected, "concrete")
    assert_matches(traced_value(fn, args), expected, "traced")


def _nan_where(pattern):
    """A function putting NaN where ``pattern`` has NaN, and its argument elsewhere."""
    holes = np.isnan(pattern)
    return lambda y: fnp.where(holes, np.nan, y)


FILL = _nan_where(CUBE)
CUBE_FILLED = np.where(np.isnan(CUBE), 0.25, CUBE)
GRAD_CASES = [
    # (an all-NaN group's value is NaN: nan_to_num makes it 0, for the central differences)
    case("nanprod", lambda y: fnp.nanprod(FILL(y), axis=1), CUBE_FILLED),
    case("nancumsum", lambda y: fnp.nancumsum(FILL(y), axis=2), CUBE_FILLED),
    case("nancumprod", lambda y: fnp.nancumprod(FILL(y)[0], axis=0), CUBE_FILLED),
    case("nanvar", lambda y: fnp.nan_to_num(fnp.nanvar(FILL(y), axis=1, ddof=1)), CUBE_FILLED),
    case("nanstd", lambda y: fnp.nanstd(FILL(y), axis=(0, 2)), CUBE_FILLED),
    case("nanmedian", lambda y: fnp.nan_to_num(fnp.nanmedian(FILL(y), axis=1)), CUBE_FILLED),
    case("nanquantile", lambda y: fnp.nan_to_num(fnp.nanquantile(FILL(y), [0.3, 0.8], axis=2)),
         CUBE_FILLED),
    case("nanquantile_q", lambda q: fnp.nan_to_num(fnp.nanquantile(CUBE, q, axis=1)),
         np.array([0.15, 0.6])),
    case("nanpercentile", lambda y: fnp.nanpercentile(FILL(y), 35.0), CUBE_FILLED),
    case("var_where", lambda x: fnp.var(x, axis=1, where=MASK), X34),
    case("std_where_ddof", lambda x: fnp.std(x, axis=0, ddof=1, where=MASK), X34),
    case("ptp", lambda x: fnp.ptp(x, axis=1), X34),
]


@pytest.mark.parametrize("fn, args", GRAD_CASES)
def test_derivatives_to_second_order(fn, args):
    _call(lambda _, *a: fg.check_grads(fn, a, order=2, modes=("fwd", "rev")), None, args)


@pytest.mark.parametrize("name", ["nanprod", "nanvar", "nanstd", "nanmedian", "nancumsum",
                                  "nanquantile", "nanmean_of_var_where"])
def test_nan_entries_get_zero_derivative(name):
    fn = {"nanquantile": lambda x: fnp.nanquantile(x, [0.2, 0.9], axis=1),
          "nanmean_of_var_where": lambda x: fnp.var(fnp.nan_to_num(x), axis=1,
                                                    where=~np.isnan(CUBE))}.get(
        name, lambda x: getattr(fnp, name)(x, axis=1))
    grad = _call(lambda _, x: fg.grad(lambda v: fnp.sum(fnp.nan_to_num(fn(v))))(x), None,
                 [CUBE])
    assert np.all(grad[np.isnan(CUBE)] == 0)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_nanargmax_of_an_all_nan_slice():
    with pytest.raises(ValueError, match="All-NaN"):
        fnp.nanargmax(W, axis=1)
    # Traced, the values are not known: -1 there, as in JAX.
    np.testing.assert_array_equal(fg.jit(lambda x: fnp.nanargmax(x, axis=1))(W), [2, -1, 3])


VMAP_CASES = [
    case("nanmedian", lambda x: fnp.nanmedian(x, axis=1), CUBE),
    case("nanquantile", lambda x: fnp.nanquantile(x, [0.25, 0.5], axis=0), CUBE),
    case("nanvar", lambda x: fnp.nanvar(x, axis=1, ddof=1), CUBE),
    case("nanargmin", lambda x: fnp.nanargmin(x, axis=0), CUBE[[0, 2]]),
    case("var_where", lambda x, w: fnp.var(x, axis=0, where=w), CUBE_FILLED, CUBE_FILLED > 0),
]


@pytest.mark.parametrize("fn, args", VMAP_CASES)
def test_vmap_matches_a_loop(fn, args):
    out = _call(lambda _, *a: fg.vmap(fn)(*a), None, args)
    rows = [_call(lambda _, *a: fn(*a), None, [a[b] for a in args])
            for b in range(np.shape(args[0])[0])]
    expected = fg.tree.map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *rows)
    assert_matches(out, expected, "vmap")


# ------------------------------------------- selection, binning, differences, functional

V8 = distinct(8)
SAMPLE = rng.normal(size=40)
SAMPLE[3] = SAMPLE.max()                 # a value on the last edge (the last bin has it)
WEIGHTS = rng.uniform(0.1, 1.0, 40)
LABELS = rng.integers(0, 7, 30)
CUBE_ROWS = distinct(3, 4, 5)
COORDS4, COORDS5 = np.cumsum(rng.uniform(0.5, 1.5, 4)), np.cumsum(rng.uniform(0.5, 1.5, 5))
KEYS = (rng.integers(0, 3, 12), rng.integers(0, 2, 12), distinct(12))


def _bincount(m, x, weights=None, minlength=0):
    # Traced, the length must be given (it is max(x) + 1 where the values are known).
    extra = {"length": max(minlength, int(np.max(LABELS)) + 1)} if m is fnp else {}
    return m.bincount(x, weights, minlength, **extra)


MORE_VALUE_CASES = [
    case("lexsort", lambda m, a, b, c: m.lexsort((a, b, c)), *KEYS),
    case("lexsort_2d_keys", lambda m, k: m.lexsort(k), np.stack(KEYS[:2])),
    case("lexsort_axis0", lambda m, k: m.lexsort(k, axis=0), rng.integers(0, 2, (2, 5, 3))),
    case("digitize", lambda m, x: m.digitize(x, [-1.0, 0.0, 0.5, 2.0]), SAMPLE),
    case("digitize_right_2d", lambda m, x: m.digitize(x, np.array([-1.0, 0.0, 0.5]), True),
         X34),
    case("digitize_decreasing", lambda m, x: m.digitize(x, np.array([2.0, 0.5, 0.0, -1.0])),
         SAMPLE),
    case("digitize_traced_bins", lambda m, b: m.digitize(np.linspace(-3, 3, 13), b),
         np.array([2.0, 0.5, 0.0, -1.0])),
    case("digitize_ints", lambda m, x: m.digitize(x, [-2, 0, 3]), INTS),
    case("bincount", lambda m, x: _bincount(m, x), LABELS),
    case("bincount_weights_minlength", lambda m, x, w: _bincount(m, x, w, 10), LABELS,
         WEIGHTS[:30]),
    case("bincount_f32_weights", lambda m, x, w: _bincount(m, x, w), LABELS,
         WEIGHTS[:30].astype(np.float32)),
    case("histogram", lambda m, x: m.histogram(x), SAMPLE),
    case("histogram_f32", lambda m, x: m.histogram(x, 7), SAMPLE.astype(np.float32)),
    case("histogram_range", lambda m, x: m.histogram(x, 5, range=(-1, 1)), SAMPLE),
    case("histogram_weights", lambda m, x, w: m.histogram(x, 5, weights=w), SAMPLE, WEIGHTS),
    case("histogram_edges_density", lambda m, x: m.histogram(
        x, [-2, -0.5, 0, 1.5, 3], density=True), SAMPLE),
    case("histogram_ints", lambda m, x: m.histogram(x, 4), LABELS),
    case("histogram_int_edges", lambda m, x: m.histogram(x, [0, 2, 3, 6]), LABELS),
    case("histogram_one_value", lambda m, x: m.histogram(x * 0 + 1.0, 3), SAMPLE),
    case("histogram_2d_input", lambda m, x: m.histogram(x, 3), X34),
    case("histogram_bin_edges", lambda m, x: m.histogram_bin_edges(x, 6),
         SAMPLE.astype(np.float32)),
    case("histogram_bin_edges_range", lambda m, x: m.histogram_bin_edges(x, 6, range=(0, 1)),
         SAMPLE),
    case("histogram2d", lambda m, x, y: m.histogram2d(x, y, bins=4), SAMPLE, WEIGHTS),
    case("histogram2d_mixed_bins_density", lambda m, x, y: m.histogram2d(
        x, y, bins=[3, np.array([0, 0.3, 0.9, 1.0])], density=True), SAMPLE, WEIGHTS),
    case("histogram2d_range_weights", lambda m, x, y: m.histogram2d(
        x, y, bins=[3, 5], range=[[-1, 1], [0, 1]], weights=y), SAMPLE, WEIGHTS),
    case("histogramdd", lambda m, s: m.histogramdd(s, bins=(2, 3, 4)), rng.normal(size=(40, 3))),
    case("histogramdd_sequence_density", lambda m, a, b: m.histogramdd(
        [a, b], bins=3, density=True), SAMPLE, WEIGHTS),
    case("histogramdd_1d", lambda m, a: m.histogramdd(a, bins=3), SAMPLE),
    # differences and correlation
    case("gradient", lambda m, f: m.gradient(f), X34),
    case("gradient_edge2", lambda m, f: m.gradient(f, edge_order=2), CUBE_ROWS),
    case("gradient_axis_step", lambda m, f: m.gradient(f, 2.0, axis=1), X34),
    case("gradient_coordinates", lambda m, f: m.gradient(f, COORDS4, COORDS5), CUBE_ROWS[0]),
    case("gradient_coordinates_edge2", lambda m, f: m.gradient(f, COORDS4, COORDS5,
                                                               edge_order=2), CUBE_ROWS[0]),
    case("gradient_traced_coordinates", lambda m, f, c: m.gradient(f, c, axis=-1,
                                                                   edge_order=2), X34,
         COORDS4),
    case("gradient_axes", lambda m, f: m.gradient(f, 0.5, axis=(2, 0)), CUBE_ROWS),
    case("gradient_f32", lambda m, f: m.gradient(f, 3.0, COORDS5), CUBE_ROWS[0].astype(
        np.float32)),
    case("gradient_ints", lambda m, f: m.gradient(f, np.array([0, 1, 3, 4]), edge_order=2),
         INTS[0]),
    case("ediff1d", lambda m, a: m.ediff1d(a), X34),
    case("ediff1d_ends", lambda m, a: m.ediff1d(a, to_end=[9.0, 8.0], to_begin=-1), X34),
    case("ediff1d_ints", lambda m, a: m.ediff1d(a, to_begin=np.array([5])), INTS),
    *[case(f"correlate_{n}_{k}_{mode}", lambda m, a, v, mode=mode: m.correlate(a, v, mode),
           distinct(n), distinct(k)) for n, k in [(6, 3), (3, 6), (2, 7), (5, 5)]
      for mode in ("valid", "same", "full")],
    case("correlate_complex", lambda m, a, v: m.correlate(a, v, "same"),
         distinct(3) + 1j * distinct(3), distinct(5) - 0.5j),
    case("correlate_f32", lambda m, a, v: m.correlate(a, v), distinct(5, dtype=np.float32),
         distinct(2, dtype=np.float32)),
    # functional
    case("apply_along_axis_0", lambda m, a: m.apply_along_axis(lambda r: (r ** 2).sum(), 0, a),
         CUBE_ROWS),
    case("apply_along_axis_1", lambda m, a: m.apply_along_axis(lambda r: r[::-1] * 2.0, 1, a),
         CUBE_ROWS),
    case("apply_along_axis_matrix", lambda m, a: m.apply_along_axis(lambda r: m.outer(r, r),
                                                                    1, a), CUBE_ROWS),
    case("apply_along_axis_args", lambda m, a: m.apply_along_axis(lambda r, k: r[:k], -1, a, 2),
         CUBE_ROWS),
    case("apply_over_axes", lambda m, a: m.apply_over_axes(m.sum, a, [0, 2]), CUBE_ROWS),
    case("apply_over_axes_same_rank", lambda m, a: m.apply_over_axes(m.cumsum, a, (1, -1)),
         CUBE_ROWS),
    case("vectorize", lambda m, a, b: m.vectorize(lambda p, q: p * q + 1.0)(a, b), CUBE_ROWS,
         X34[0, 1]),
    case("vectorize_keyword", lambda m, a, b: m.vectorize(lambda p, q=0.0: p - q)(a, q=b),
         X34, X34[:, :1]),
    case("vectorize_signature", lambda m, a, b: m.vectorize(
        lambda p, q: (p * q).sum(), signature="(n),(n)->()")(a, b), CUBE_ROWS, V8[:5]),
    case("vectorize_two_outputs", lambda m, a: m.vectorize(
        lambda p: (p.sum(0), p.max(1)), signature="(m,n)->(n),(m)")(a), CUBE_ROWS),
    case("vectorize_excluded", lambda m, a: m.vectorize(
        lambda p, c: p * c[0] + c[1], excluded={1})(a, [2.0, 3.0]), X34),
    case("vectorize_excluded_keyword", lambda m, a: m.vectorize(
        lambda p, c: p * c[0] + c[1], excluded={"c"})(a, c=[2.0, 3.0]), X34),
    case("vectorize_otypes", lambda m, a: m.vectorize(lambda p: p * 2, otypes=[np.float32])(a),
         X34),
    case("vectorize_scalar", lambda m, a: m.vectorize(lambda p: p * 2)(a), np.float64(3.0)),
]


@pytest.mark.parametrize("fn, args", MORE_VALUE_CASES)
def test_more_values_against_numpy(fn, args):
    test_values_against_numpy(fn, args)


@pytest.mark.parametrize("kth", [0, 3, -1, [1, 5]])
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_partition_keeps_numpy_promise(kth, axis):
    # NumPy promises only the kth elements and the two sides' sets: check those, traced and
    # concrete, for partition and argpartition.
    x = distinct(6, 7)
    ordered = np.sort(x, axis=axis)
    along = -1 if axis is None else axis
    for got in (fnp.partition(x, kth, axis), traced_value(lambda m, v: m.partition(
            v, kth, axis), (x,)), np.take_along_axis(x.ravel() if axis is None else x,
                                                     traced_value(lambda m, v: m.argpartition(
                                                         v, kth, axis), (x,)), along)):
        got = np.asarray(got)
        for k in np.ravel(kth):
            pivot = np.take(got, [k], along)
            np.testing.assert_array_equal(pivot, np.take(ordered, [k], along))
            length = got.shape[along]
            k = k % length
            assert np.all(np.take(got, np.arange(k), along) <= pivot)
            assert np.all(np.take(got, np.arange(k + 1, length), along) >= pivot)
        np.testing.assert_array_equal(np.sort(got, along), ordered)


def test_partition_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"partition: kth\(=6\) out of bounds \(6\)"):
        fg.jit(lambda v: fnp.partition(v, 6))(distinct(6))
    with pytest.raises(fg.ConcretizationError, match="argpartition: kth"):
        fg.jit(lambda v, k: fnp.argpartition(v, k))(distinct(6), 2)


def test_bincount_length_under_tracing():
    np.testing.assert_array_equal(fnp.bincount(LABELS), np.bincount(LABELS))
    with pytest.raises(fg.ConcretizationError, match="bincount.*length="):
        fg.jit(lambda x: fnp.bincount(x))(LABELS)
    # length= cuts (dropping larger values, as JAX) or pads.
    for length in (3, 12):
        want = np.bincount(LABELS, minlength=length)[:length]
        np.testing.assert_array_equal(fg.jit(lambda x, n=length: fnp.bincount(x, length=n))(LABELS),
                                      want)
        np.testing.assert_array_equal(fnp.bincount(LABELS, length=length), want)
    # Under grad of concrete inputs the values are known: the length is NumPy's, and the
    # counts are differentiable in the weights.
    grad = fg.grad(lambda w: fnp.sum(fnp.bincount(LABELS, w) ** 2))(WEIGHTS[:30])
    np.testing.assert_allclose(grad, 2 * np.bincount(LABELS, WEIGHTS[:30])[LABELS])
    with pytest.raises(ValueError, match="negative"):
        fg.grad(lambda w: fnp.sum(fnp.bincount(np.array([1, -1]), w)))(np.ones(2))


def test_histogram_bins_from_a_rule_need_values():
    want = np.histogram(SAMPLE, "auto")
    assert_matches(fnp.histogram(SAMPLE, "auto"), want, "concrete")
    with pytest.raises(fg.ConcretizationError, match="histogram.*bins='auto'"):
        fg.jit(lambda x: fnp.histogram(x, "auto"))(SAMPLE)
    got = []
    fg.grad(lambda x: (got.append(fnp.histogram(x, "fd")[0]), fnp.sum(x))[1])(SAMPLE)
    np.testing.assert_array_equal(got[0], np.histogram(SAMPLE, "fd")[0])


MORE_GRAD_CASES = [
    case("partition", lambda x: fnp.partition(x, 2, axis=1) * np.arange(1.0, 5.0), X34),
    case("partition_none", lambda x: fnp.partition(x, [1, 4], axis=None)[[1, 4]], X34),
    case("bincount_weights", lambda w: _bincount(fnp, LABELS, w) ** 2, WEIGHTS[:30]),
    case("gradient", lambda f: fnp.gradient(f * f, 0.5, axis=1), X34),
    case("gradient_coordinates", lambda f, c: fnp.gradient(f, c, 0.7, edge_order=2),
         X34.T, COORDS4),
    case("gradient_edge1_coordinates", lambda f, c: fnp.gradient(fnp.sin(f), c), V8[:5],
         COORDS5),
    case("ediff1d", lambda a: fnp.ediff1d(a * a, to_begin=a[0]), V8),
    case("correlate_same", lambda a, v: fnp.correlate(a, v, "same"), distinct(3), distinct(5)),
    case("correlate_valid", lambda a, v: fnp.correlate(a * a, v), distinct(6), distinct(3)),
    case("apply_along_axis", lambda a: fnp.apply_along_axis(lambda r: fnp.sort(r) * r[0], 1, a),
         X34),
    case("apply_over_axes", lambda a: fnp.apply_over_axes(fnp.prod, a, [0, 1]), X34),
    case("vectorize_signature", lambda a: fnp.vectorize(
        lambda p, q: fnp.sin(p) * q, signature="(n),()->(n)")(a, a[:, 0]), X34),
]


@pytest.mark.parametrize("fn, args", MORE_GRAD_CASES)
def test_more_derivatives_to_second_order(fn, args):
    test_derivatives_to_second_order(fn, args)


def test_vectorize_falls_back_to_numpy_for_python_control_flow():
    absolute = fnp.vectorize(lambda v: v if v > 0 else -v)
    np.testing.assert_array_equal(absolute(np.array([-1.0, 2.0])), [1.0, 2.0])
    assert isinstance(absolute(np.array([-1.0, 2.0])), fg.Array)
    with pytest.raises(fg.ConcretizationError):
        fg.jit(absolute)(np.array([-1.0, 2.0]))

    @fnp.vectorize(signature="(n)->()")
    def norm(v):
        return fnp.sqrt(fnp.sum(v * v))
    np.testing.assert_allclose(norm(CUBE_ROWS), np.linalg.norm(CUBE_ROWS, axis=-1))
    with pytest.raises(ValueError, match="vectorize.*core dimension 'n'"):
        fnp.vectorize(lambda p, q: p @ q, signature="(n),(n)->()")(X34, V8)
    with pytest.raises(ValueError, match="vectorize: not a valid gufunc signature"):
        fnp.vectorize(abs, signature="(n)->")


MORE_VMAP_CASES = [
    case("partition", lambda x: fnp.partition(x, 2, axis=0), distinct(4, 5, 3)),
    case("histogram", lambda x: fnp.histogram(x, 4, range=(-2, 2)), rng.normal(size=(3, 20))),
    case("bincount_weights", lambda w: fnp.bincount(LABELS, w, length=8), rng.uniform(
        size=(3, 30))),
    case("gradient", lambda f: fnp.gradient(f, COORDS5, edge_order=2), distinct(3, 5)),
    case("correlate", lambda a, v: fnp.correlate(a, v, "full"), distinct(3, 5), distinct(3, 2)),
    case("digitize", lambda x: fnp.digitize(x, [-1.0, 0.0, 1.0]), distinct(3, 4)),
    case("vectorize_signature", lambda a: fnp.vectorize(
        lambda p: p.sum() * p, signature="(n)->(n)")(a), distinct(2, 3, 4)),
]


@pytest.mark.parametrize("fn, args", MORE_VMAP_CASES)
def test_more_vmap_matches_a_loop(fn, args):
    test_vmap_matches_a_loop(fn, args)


def test_compiled_program_matches_eager():
    # One compiled program covering several of the new functions (few numba compiles).
    pytest.importorskip("numba")

    def program(x, w, labels):
        return (fnp.nanmedian(x, axis=1), fnp.nanvar(x, axis=0, ddof=1), fnp.nanargmax(x, 1),
                fnp.var(fnp.nan_to_num(x), axis=1, where=x > 0), fnp.ptp(w),
                fnp.partition(w, 2), fnp.bincount(labels, w[:30], length=8),
                fnp.histogram(w, 5, range=(0, 1)), fnp.gradient(w[:6], edge_order=2),
                fnp.correlate(w[:6], w[6:9], "same"),
                fnp.vectorize(lambda p: p.max(), signature="(n)->()")(x))

    args = (NO_EMPTY, WEIGHTS, LABELS)
    eager = _call(lambda _, *a: program(*a), None, args)
    compiled = _call(lambda _, *a: fg.jit(program).compile(*a)(*a), None, args)
    assert_matches(list(compiled), list(eager), "compiled")


def test_concrete_results_are_arrays():
    results = (fnp.nanmedian(W), fnp.ptp(X34), fnp.partition(V8, 3), *fnp.histogram(SAMPLE),
               fnp.vectorize(lambda p: p * 2)(np.float64(3.0)), fnp.gradient(V8))
    assert all(isinstance(r, fg.Array) for r in results)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_convolution_leaves_out_terms_beyond_the_ends(name, mode):
    # A NaN or infinity of one operand spreads only to the outputs whose terms reach it, as
    # in NumPy; traced, it spread everywhere (0 * nan from the zero padding).
    a, v = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, np.nan, np.inf])
    ints, bools = np.array([1, 2, 3]), np.array([True, False])
    for x, y in ((a, v), (v, a), (ints, ints[:2]), (bools, bools[::-1])):
        with np.errstate(invalid="ignore"):
            want = getattr(np, name)(x, y, mode)
        got = traced_value(lambda m, p, q: getattr(m, name)(p, q, mode), (x, y))
        assert_matches(got, want, f"{name} {mode}")


@pytest.mark.parametrize("method", ["lower", "higher", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantiles_that_pick_an_element_keep_its_dtype(name, method):
    # Traced, an integer or float32 array with a float64 q came back float64 (NumPy, and the
    # eager result, keep the array's dtype when no value is interpolated).
    for a in (INTS, X34.astype(np.float32)):
        q = np.array([0.2, 0.5, 1.0])
        want = getattr(np, name)(a, q, axis=1, method=method)
        got = traced_value(lambda m, x, p: getattr(m, name)(x, p, axis=1, method=method), (a, q))
        assert_matches(got, want, f"{name} {method} {a.dtype}")
    fg.check_grads(lambda x: getattr(fnp, name)(x, 0.3, axis=0, method=method), (X34,), order=1)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_an_empty_group_is_nan(name):
    # Traced, the median of an empty axis raised "cannot take a quantile of an empty axis";
    # NumPy (and the eager result) give NaN, as the mean of an empty slice.
    for a, kwargs in ((np.zeros(0), {}), (np.zeros((0, 3), np.int64), {"axis": 0}),
                      (np.zeros((2, 0), np.float32), {"axis": 1, "keepdims": True})):
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
            want = getattr(np, name)(a, **kwargs)
        got = traced_value(lambda m, x, k=kwargs: getattr(m, name)(x, **k), (a,))
        assert_matches(got, want, f"{name} {a.shape} {kwargs}")
    with pytest.raises(ValueError, match="empty axis"):
        fg.make_ir(lambda x: fnp.quantile(x, 0.5))(np.zeros(0))


def test_digitize_refuses_complex_values_traced():
    # NumPy refuses complex x ("x may not be complex"); traced, funcgrad compared them in
    # the complex dtype and returned bins.
    x = np.array([0.5 + 1j, 2.0])
    with pytest.raises(TypeError, match="complex"):
        np.digitize(x, np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="digitize: x may not be complex"):
        fg.make_ir(lambda v: fnp.digitize(v, np.array([0.0, 1.0])))(x)


def test_histogram2d_says_when_x_and_y_differ_in_length():
    # Traced, the message came from stack ("all input arrays must have the same shape").
    with pytest.raises(ValueError, match="histogram2d: x and y must have the same length"):
        fg.make_ir(lambda x, y: fnp.histogram2d(x, y, 2, range=[(0, 1), (0, 1)]))(
            np.zeros(3), np.zeros(2))
