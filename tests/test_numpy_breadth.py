"""The NumPy functions of funcgrad.numpy beyond the core: sorting, quantiles, NaN-ignoring
reductions, statistics, signals and polynomials, array editing, and the functions whose
result's size depends on values.

Each function is checked traced (its IR run by funcgrad's interpreter, as the first call of
``jit`` runs it) against NumPy's own value and dtype, on several shapes, dtypes and axes;
differentiable ones with ``fg.check_grads`` to second order in both modes (inputs away from
ties and kinks); a few under ``vmap`` against a loop; and the value-dependent ones raise
``ConcretizationError`` under ``jit`` and ``vmap`` unless given ``size=``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy_reference import assert_matches

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

rng = np.random.default_rng(20240609)


def distinct(*shape, dtype=np.float64):
    """Values at least 0.3 apart (no near-ties for sorting), in random order."""
    size = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(size) * 0.37 - 1.1 + rng.uniform(0, 0.05, size)).reshape(
        shape).astype(dtype)


def uniform(*shape, low=-2.0, high=2.0, dtype=np.float64):
    return rng.uniform(low, high, shape).astype(dtype)


RNG_W = np.random.default_rng(7)


def traced(fn, *args):
    """``fn`` traced with unknown values (as under ``jit``) and run by the interpreter."""
    ir = fg.make_ir(fn)(*args)
    leaves = fg.tree.leaves(args)
    return eval_ir(ir, leaves), fg.tree.structure(fn(*args))


# --------------------------------------------------------------- values against NumPy
# (id, the function of the arguments (fnp or np), the arguments). Each case runs three ways:
# with NumPy, with funcgrad.numpy on concrete arrays, and traced.

X34 = distinct(3, 4)
X234 = distinct(2, 3, 4)
V5 = distinct(5)
F32 = distinct(3, 4, dtype=np.float32)
INTS = rng.integers(-5, 6, (3, 4))
WITH_NAN = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, np.nan, np.nan, np.nan],
                     [0.5, 2.0, -1.0, 4.0]])
WITH_INF = np.array([1.0, np.inf, -np.inf, np.nan, -0.0, 2.5])
SORTED = np.sort(distinct(6))
TIES = np.array([[2.0, 1.0, 2.0, 1.0], [0.0, 0.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
# -0.0, a negative NaN, infinities, the smallest subnormal, a huge and a tiny number
SPECIAL = np.array([[-2.5, -2.0, 0.75, 3.0], [np.inf, -np.inf, np.nan, -0.0],
                    [0.0, 5e-324, 1e300, -np.nan]])
SPECIAL32 = np.array([[-2.5, -2.0, 0.75, 3.0], [np.inf, -np.inf, np.nan, -0.0],
                      [0.0, 1e-45, 3e38, -np.nan]], np.float32)
I32 = rng.integers(-40, 41, (3, 4)).astype(np.int32)
U8 = rng.integers(0, 256, (3, 4)).astype(np.uint8)
COUNTS = np.array([0, 3, 7, 9], np.int8)   # 9 is past an int8's width: NumPy shifts all out
Z34 = (distinct(3, 4) + 1j * distinct(3, 4)).astype(np.complex128)


def case(name, fn, *args):
    return pytest.param(fn, args, id=name)


VALUE_CASES = [
    # sorting and searching
    case("sort_last", lambda m, x: m.sort(x), X34),
    case("sort_axis0", lambda m, x: m.sort(x, axis=0), X234),
    case("sort_none", lambda m, x: m.sort(x, axis=None), X34),
    case("sort_f32", lambda m, x: m.sort(x, axis=1), F32),
    case("sort_ints", lambda m, x: m.sort(x, axis=0), INTS),
    case("sort_nan_last", lambda m, x: m.sort(x, axis=1), WITH_NAN),
    case("argsort_last", lambda m, x: m.argsort(x), X34),
    case("argsort_axis1_cube", lambda m, x: m.argsort(x, axis=1), X234),
    case("argsort_none", lambda m, x: m.argsort(x, axis=None), X34),
    case("argsort_ties_stable", lambda m, x: m.argsort(x, axis=1, kind="stable"), TIES),
    case("take_along_axis", lambda m, x: m.take_along_axis(x, np.argsort(X34, 1), 1), X34),
    case("take_along_axis_bcast", lambda m, x: m.take_along_axis(
        x, np.array([[0], [2], [1]]), axis=1), X34),
    case("take_along_axis_none", lambda m, x: m.take_along_axis(
        x, np.array([5, 0, -1]), None), X34),
    case("searchsorted_left", lambda m, a, v: m.searchsorted(a, v), SORTED,
         np.array([-3.0, SORTED[2], 0.1, 9.0])),
    case("searchsorted_right", lambda m, a, v: m.searchsorted(a, v, side="right"), SORTED,
         SORTED[[1, 3]]),
    case("searchsorted_sorter", lambda m, a, v: m.searchsorted(
        a, v, sorter=np.argsort(V5)), V5, np.array([[0.0, 0.5], [-1.0, 2.0]])),
    # quantiles
    case("median_all", lambda m, x: m.median(x), X34),
    case("median_axis0_even", lambda m, x: m.median(x, axis=0), distinct(4, 3)),
    case("median_axis1_keepdims", lambda m, x: m.median(x, axis=1, keepdims=True), X34),
    case("median_axes_tuple", lambda m, x: m.median(x, axis=(0, 2)), X234),
    case("median_ints", lambda m, x: m.median(x, axis=1), INTS),
    case("median_nan", lambda m, x: m.median(x, axis=1), WITH_NAN),
    case("median_f32", lambda m, x: m.median(x, axis=0), F32),
    case("quantile_scalar", lambda m, x: m.quantile(x, 0.3), X34),
    case("quantile_array_axis", lambda m, x: m.quantile(x, np.array([0.0, 0.25, 0.9, 1.0]),
                                                        axis=1), X34),
    case("quantile_keepdims", lambda m, x: m.quantile(x, [0.4, 0.6], axis=2, keepdims=True),
         X234),
    *[case(f"quantile_{method}", lambda m, x, method=method: m.quantile(
        x, np.array([0.1, 0.5, 0.55, 1.0]), axis=0, method=method), distinct(5, 2))
      for method in ("linear", "lower", "higher", "midpoint", "nearest")],
    case("quantile_f32", lambda m, x: m.quantile(x, 0.7, axis=1), F32),
    case("percentile", lambda m, x: m.percentile(x, [10, 50, 95], axis=0), X34),
    case("percentile_scalar", lambda m, x: m.percentile(x, 25.0), F32),
    case("quantile_traced_q", lambda m, x, q: m.quantile(x, q, axis=1), X34,
         np.array([0.2, 0.65])),
    # NaN-ignoring reductions
    *[case(f"{name}_axis{axis}", lambda m, x, name=name, axis=axis: getattr(m, name)(
        x, axis=axis), WITH_NAN[[0, 2]] if name in ("nanmax", "nanmin") and axis == 1 else
        WITH_NAN[:, :3] if name in ("nanmax", "nanmin") else WITH_NAN)
      for name in ("nansum", "nanmean", "nanmax", "nanmin") for axis in (None, 1)],
    case("nanmax_all_nan_slice", lambda m, x: m.nanmax(x, axis=1), WITH_NAN),
    case("nanmean_keepdims", lambda m, x: m.nanmean(x, axis=0, keepdims=True), WITH_NAN),
    case("nansum_ints", lambda m, x: m.nansum(x, axis=0), INTS),
    case("nanmin_f32", lambda m, x: m.nanmin(x, axis=0), F32),
    # elementwise
    case("trunc", lambda m, x: m.trunc(x), uniform(3, 4, low=-3, high=3)),
    case("trunc_ints", lambda m, x: m.trunc(x), INTS),
    case("fmod", lambda m, x, y: m.fmod(x, y), uniform(3, 4, low=-5, high=5),
         np.array([1.5, -2.0, 0.7, -0.3])),
    case("fmod_ints", lambda m, x, y: m.fmod(x, y), INTS, np.array([3, -2, 4, -5])),
    case("fmod_inf", lambda m, x: m.fmod(x, np.inf), np.array([-3.0, 2.0, 0.5])),
    case("copysign", lambda m, x, y: m.copysign(x, y), uniform(3, 4),
         np.array([1.0, -2.0, 0.0, -0.0])),
    case("heaviside", lambda m, x: m.heaviside(x, 0.5), np.array([-1.0, 0.0, 2.0, np.nan])),
    case("heaviside_f32", lambda m, x, y: m.heaviside(x, y), np.array([-1.0, 0.0, 2.0],
                                                                      np.float32),
         np.float32(0.25)),
    case("deg2rad", lambda m, x: m.deg2rad(x), uniform(3, 4, low=-360, high=360)),
    case("rad2deg_ints", lambda m, x: m.rad2deg(x), INTS),
    case("fabs", lambda m, x: m.fabs(x), uniform(5)),
    case("fabs_ints", lambda m, x: m.fabs(x), INTS),
    case("nan_to_num", lambda m, x: m.nan_to_num(x), WITH_INF),
    case("nan_to_num_values", lambda m, x: m.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
         WITH_INF.astype(np.float32)),
    case("real", lambda m, x: m.real(x), X34),
    case("imag", lambda m, x: m.imag(x), X34),
    case("conj", lambda m, x: m.conj(x), X34),
    case("isclose", lambda m, x, y: m.isclose(x, y), np.array([1.0, 1e10, np.nan, np.inf,
                                                               -np.inf, 0.0]),
         np.array([1.0 + 1e-9, 1.00001e10, np.nan, np.inf, np.inf, 1e-9])),
    case("isclose_equal_nan", lambda m, x, y: m.isclose(x, y, rtol=0.1, equal_nan=True),
         np.array([1.0, np.nan, 2.0]), np.array([1.05, np.nan, 3.0])),
    case("allclose", lambda m, x: m.allclose(x, x + 1e-9), X34),
    # statistics
    case("average", lambda m, x: m.average(x, axis=1), X34),
    case("average_weights", lambda m, x, w: m.average(x, weights=w), X34, uniform(3, 4, low=.5)),
    case("average_1d_weights", lambda m, x, w: m.average(x, axis=0, weights=w), X34,
         uniform(3, low=0.5)),
    case("average_returned", lambda m, x, w: m.average(x, axis=1, weights=w, returned=True),
         X34, uniform(4, low=0.5)),
    case("average_keepdims", lambda m, x: m.average(x, axis=0, keepdims=True), X234),
    case("cov", lambda m, x: m.cov(x), X34),
    case("cov_rowvar_y", lambda m, x, y: m.cov(x, y, rowvar=False), distinct(5, 2),
         distinct(5)),
    case("cov_bias_ddof", lambda m, x: m.cov(x, bias=True), X34),
    case("cov_ddof", lambda m, x: m.cov(x, ddof=2), X34),
    case("cov_weights", lambda m, x, a: m.cov(x, fweights=np.array([1, 2, 1, 3]), aweights=a),
         X34, uniform(4, low=0.5)),
    case("cov_1d", lambda m, x: m.cov(x), V5),
    case("cov_f32", lambda m, x: m.cov(x), F32),
    case("corrcoef", lambda m, x: m.corrcoef(x), X34),
    case("corrcoef_xy", lambda m, x, y: m.corrcoef(x, y), V5, distinct(5)),
    # signals, polynomials
    *[case(f"convolve_{mode}", lambda m, a, v, mode=mode: m.convolve(a, v, mode), distinct(6),
           distinct(3)) for mode in ("full", "same", "valid")],
    case("convolve_swapped_even", lambda m, a, v: m.convolve(a, v, "same"), distinct(2),
         distinct(5)),
    case("convolve_f32", lambda m, a, v: m.convolve(a, v), distinct(4, dtype=np.float32),
         distinct(2, dtype=np.float32)),
    case("interp", lambda m, x, xp, fp: m.interp(x, xp, fp), np.array([-5.0, -1.0, 0.1, 0.7,
                                                                       3.0, 10.0]),
         SORTED, distinct(6)),
    case("interp_left_right", lambda m, x, fp: m.interp(x, SORTED, fp, left=-7.0, right=7.0),
         np.array([[-9.0, 0.3], [SORTED[-1], 99.0]]), distinct(6)),
    case("interp_period", lambda m, x: m.interp(x, np.array([350.0, 10.0, 90.0, 180.0]),
                                                np.array([1.0, 2.0, 3.0, 4.0]), period=360),
         np.array([-30.0, 0.0, 5.0, 100.0, 400.0])),
    case("interp_f32_point", lambda m, x, fp: m.interp(x, SORTED, fp), np.float32(0.25),
         distinct(6)),
    case("polyval", lambda m, p, x: m.polyval(p, x), distinct(4), uniform(3, 2)),
    case("polyval_f32", lambda m, p, x: m.polyval(p, x), distinct(3, dtype=np.float32),
         uniform(5, dtype=np.float32)),
    case("trapezoid", lambda m, y: m.trapezoid(y), X34),
    case("trapezoid_x", lambda m, y, x: m.trapezoid(y, x, axis=0), X34, SORTED[:3]),
    case("trapezoid_dx", lambda m, y: m.trapezoid(y, dx=0.25, axis=1), X234),
    case("diff", lambda m, x: m.diff(x), X34),
    case("diff_n2_axis0", lambda m, x: m.diff(x, n=2, axis=0), X234),
    case("diff_prepend_append", lambda m, x: m.diff(x, prepend=0.0, append=np.ones((3, 1))),
         X34),
    case("diff_bool", lambda m, x: m.diff(m.greater(x, 0)), X34),
    case("diff_ints", lambda m, x: m.diff(x, axis=0), INTS),
    case("cross3", lambda m, a, b: m.cross(a, b), distinct(4, 3), distinct(3)),
    case("cross_axis0", lambda m, a, b: m.cross(a, b, axis=0), distinct(3, 2), distinct(3, 2)),
    case("cross_axisc", lambda m, a, b: m.cross(a, b, axisc=0), distinct(2, 3), distinct(2, 3)),
    case("cross_2x3", lambda m, a, b: m.cross(a, b), distinct(2, 2), distinct(2, 3)),
    # reductions' where= and initial= (NumPy's and jnp's keywords; they were a TypeError)
    case("sum_where_initial", lambda m, x: m.sum(x, axis=1, where=x > 0, initial=0.5), X34),
    case("prod_where", lambda m, x: m.prod(x, axis=0, where=np.array([[True], [False], [True]])),
         X34),
    case("max_where_initial", lambda m, x: m.max(x, axis=1, where=x < 0.3, initial=-2.0), X34),
    case("min_initial_empty", lambda m, x: m.min(x[:, :0], axis=1, initial=4.0), X34),
    case("mean_where", lambda m, x: m.mean(x, axis=0, where=x > -0.5, keepdims=True), X34),
    # creation and editing
    case("logspace", lambda m, a, b: m.logspace(a, b, 5), np.float64(0.5), np.float64(2.0)),
    # traced endpoints (jnp.linspace takes them): no longer a "decides the shape" error
    case("linspace", lambda m, a, b: m.linspace(a, b, 5), np.float64(0.5), np.float64(2.0)),
    case("linspace_one_value", lambda m, a: m.linspace(a, 3.0, 1), np.float64(0.5)),
    case("linspace_open_retstep", lambda m, a: m.linspace(-1.0, a, 4, endpoint=False,
                                                          retstep=True), np.float64(2.0)),
    case("linspace_arrays_axis", lambda m, a: m.linspace(a, 2 * a + 1, 3, axis=-1),
         np.array([0.0, -1.0])),
    case("logspace_f32_default_base", lambda m, a: m.logspace(a, 2.0, 3), np.float32(0.25)),
    case("linspace_f32_int", lambda m, a: (m.linspace(a, 1.0, 3), m.linspace(a, 9.0, 4,
                                                                           dtype=np.int64)),
         np.float32(0.25)),
    case("logspace_base_axis", lambda m, a: m.logspace(a, 1.0, 4, base=2.0, axis=1,
                                                       endpoint=False), np.array([0.0, -1.0])),
    case("meshgrid_xy", lambda m, x, y: m.meshgrid(x, y), V5, distinct(3)),
    case("meshgrid_ij_3", lambda m, x, y: m.meshgrid(x, y, np.arange(2.0), indexing="ij"), V5,
         distinct(3)),
    case("meshgrid_sparse", lambda m, x, y: m.meshgrid(x, y, sparse=True), V5, distinct(3)),
    case("append", lambda m, a, v: m.append(a, v), X34, V5),
    case("append_axis", lambda m, a, v: m.append(a, v, axis=0), X34, distinct(2, 4)),
    case("insert_scalar", lambda m, a, v: m.insert(a, 2, v), V5, np.float64(9.0)),
    case("insert_block", lambda m, a, v: m.insert(a, 1, v, axis=1), X34, distinct(3)),
    case("insert_many", lambda m, a, v: m.insert(a, [0, 2, 2], v), V5, distinct(3)),
    case("insert_slice_axis0", lambda m, a: m.insert(a, slice(0, 3), 7.0, axis=0), X34),
    case("delete_int", lambda m, a: m.delete(a, 1, axis=1), X34),
    case("delete_list", lambda m, a: m.delete(a, [0, 3]), X34),
    case("delete_mask", lambda m, a: m.delete(a, np.array([True, False, True]), axis=0), X34),
    *[case(f"rot90_k{k}", lambda m, x, k=k: m.rot90(x, k), X34) for k in (1, 2, 3, 4, -1)],
    case("rot90_axes", lambda m, x: m.rot90(x, 1, axes=(2, 0)), X234),
    case("select", lambda m, x: m.select([m.less(x, -0.5), m.greater(x, 0.5)],
                                         [m.multiply(x, 2.0), m.sin(x)], default=-1.0), X34),
    case("select_first_wins", lambda m, x: m.select([m.greater(x, 0), m.greater(x, 1)],
                                                    [x, m.negative(x)]), X34),
    case("piecewise", lambda m, x: m.piecewise(x, [m.less(x, 0), m.greater_equal(x, 0)],
                                               [lambda v: v * v, lambda v: 2.0 * v]), X34),
    case("piecewise_otherwise", lambda m, x: m.piecewise(x, [m.less(x, -0.5)],
                                                         [-1.0, lambda v: m.cos(v)]), X34),
    # the array API's names of existing functions
    case("array_api_trig", lambda m, x: (m.acos(x), m.asin(x), m.atan(x), m.atanh(x),
                                         m.asinh(x), m.acosh(m.add(x, 2.0)), m.atan2(x, 0.5)),
         uniform(3, 4, low=-0.9, high=0.9)),
    case("array_api_pow", lambda m, x: (m.pow(x, 3), m.pow(x, 0.5)), uniform(5, low=.1)),
    case("concat", lambda m, a, b: m.concat([a, b], axis=1), X34, distinct(3, 2)),
    case("concat_f32_i32", lambda m, a, b: m.concat([a, b]), F32, I32),
    case("permute_dims", lambda m, x: m.permute_dims(x, (2, 0, 1)), X234),
    case("matrix_transpose", lambda m, x: m.matrix_transpose(x), X234),
    case("bitwise_api", lambda m, a, b: (m.bitwise_invert(a), m.bitwise_not(a),
                                         m.bitwise_left_shift(a, 3), m.bitwise_right_shift(
                                             a, np.int32(2))), I32, U8),
    # more of NumPy's elementwise functions
    case("degrees_radians", lambda m, x: (m.degrees(x), m.radians(x)), X34),
    case("degrees_f32", lambda m, x: m.degrees(x), F32),
    case("radians_ints", lambda m, x: m.radians(x), INTS),
    case("rint", lambda m, x: m.rint(x), np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.6, np.inf])),
    case("rint_f32_ints", lambda m, x, i: (m.rint(x), m.rint(i)), F32 * 3, I32),
    case("signbit", lambda m, x: m.signbit(x), SPECIAL),
    case("signbit_f32_ints", lambda m, x, i: (m.signbit(x), m.signbit(i)), SPECIAL32, I32),
    case("isneginf_isposinf", lambda m, x: (m.isneginf(x), m.isposinf(x)), WITH_INF),
    case("isneginf_ints", lambda m, x: (m.isneginf(x), m.isposinf(x)), I32),
    case("ldexp", lambda m, x, n: m.ldexp(x, n), SPECIAL,
         np.array([3, -2, 1100, -1100], np.int32)),
    case("ldexp_f32_int64", lambda m, x, n: m.ldexp(x, n), F32, np.array([1, -1, 0, 200])),
    case("ldexp_ints_scalar", lambda m, x: m.ldexp(x, 5), INTS),
    case("frexp", lambda m, x: m.frexp(x), SPECIAL),
    case("frexp_f32", lambda m, x: m.frexp(x), SPECIAL32),
    case("frexp_powers_of_two", lambda m, x: m.frexp(x), np.ldexp(1.0, np.arange(-1074, 1024,
                                                                                   37))),
    case("frexp_ints", lambda m, x: m.frexp(x), I32),
    case("modf", lambda m, x: m.modf(x), SPECIAL),
    case("modf_f32_ints", lambda m, x, i: (m.modf(x), m.modf(i)), SPECIAL32, I32),
    case("divmod", lambda m, x, y: m.divmod(x, y), uniform(3, 4, low=-5, high=5),
         np.array([1.5, -2.0, 0.7, -0.3])),
    case("divmod_ints", lambda m, x: m.divmod(x, 3), I32),
    case("float_power", lambda m, x: m.float_power(x, 2.5), uniform(3, 4, low=0.1)),
    case("float_power_f32_ints", lambda m, x, i: (m.float_power(x, np.float32(1.5)),
                                                  m.float_power(i, 2)), F32 + 2, I32),
    case("spacing", lambda m, x: m.spacing(x), SPECIAL),
    case("spacing_f32", lambda m, x: m.spacing(x), SPECIAL32),
    case("nextafter", lambda m, x, y: m.nextafter(x, y), SPECIAL,
         np.array([0.0, np.inf, -np.inf, -0.0])),
    case("nextafter_f32", lambda m, x: m.nextafter(x, np.float32(1)), SPECIAL32),
    case("gcd_lcm", lambda m, a, b: (m.gcd(a, b), m.lcm(a, b)), I32,
         np.array([6, -4, 0, 9], np.int32)),
    case("gcd_lcm_u8_scalar", lambda m, a: (m.gcd(a, 12), m.lcm(a, 3)), U8 % 20),
    case("i0", lambda m, x: m.i0(x), uniform(3, 4, low=-30, high=30)),
    case("i0_f32_ints", lambda m, x, i: (m.i0(x), m.i0(i)), F32, INTS),
    case("copy", lambda m, x: m.copy(x), X34),
    case("sort_complex", lambda m, x: m.sort_complex(x), X34),
    case("sort_complex_f32_i8", lambda m, x, i: (m.sort_complex(x), m.sort_complex(i)), F32,
         INTS.astype(np.int8)),
    case("sort_complex_complex", lambda m, z: m.sort_complex(z), np.array(
        [[1 + 2j, 1 - 1j, -3 + 0j, 1 + 0j], [np.nan + 0j, 0j, 2j, -1j]])),
    case("cumulative_sum", lambda m, x: m.cumulative_sum(x, axis=1), X34),
    case("cumulative_sum_initial", lambda m, x: m.cumulative_sum(x, axis=0,
                                                                 include_initial=True), X234),
    case("cumulative_sum_1d_ints", lambda m, x: m.cumulative_sum(x, include_initial=True),
         I32[0]),
    case("cumulative_sum_dtype", lambda m, x: m.cumulative_sum(x, axis=1, dtype=np.float32),
         INTS),
    case("cumulative_prod", lambda m, x: m.cumulative_prod(x, axis=-1, include_initial=True),
         X34),
    case("cumulative_prod_f32", lambda m, x: m.cumulative_prod(x, axis=0), F32),
    case("matvec", lambda m, a, v: m.matvec(a, v), X234, distinct(4)),
    case("matvec_batched", lambda m, a, v: m.matvec(a, v), X34, distinct(2, 1, 4)),
    case("vecmat", lambda m, v, a: m.vecmat(v, a), distinct(3), X234[0].T.copy()[:3]),
    case("vecmat_complex", lambda m, v, a: m.vecmat(v, a), Z34[0, :3], Z34),
    case("vecdot", lambda m, a, b: m.vecdot(a, b), X34, distinct(4)),
    case("vecdot_axis_complex", lambda m, a, b: m.vecdot(a, b, axis=0), Z34, Z34[::-1]),
    case("vecdot_ints", lambda m, a: m.vecdot(a, a), I32),
    case("unstack", lambda m, x: m.unstack(x), X34),
    case("unstack_axis", lambda m, x: m.unstack(x, axis=-1), X234),
    # integer bitwise functions and operators
    case("bitwise_ints", lambda m, a, b: (m.bitwise_and(a, b), m.bitwise_or(a, 5),
                                          m.bitwise_xor(a, b), m.invert(a), a & b, a | b,
                                          a ^ 7, ~a), I32, I32[::-1]),
    case("bitwise_u8_bool", lambda m, a, b: (m.bitwise_and(a, b), ~a, a ^ b, m.invert(a > 9),
                                             (a > 9) & (b < 99), (a > 9) ^ True), U8,
         U8[::-1]),
    case("shifts", lambda m, a, n: (m.left_shift(a, n), m.right_shift(a, n), a << n, a >> n,
                                    1 << n, a >> 1), INTS.astype(np.int8) * 20, COUNTS),
    case("shifts_u8_i64", lambda m, a, b: (m.left_shift(a, 3), m.right_shift(a, 9), a << b,
                                           a >> b), U8, rng.integers(0, 70, (3, 4))),
    case("bitwise_count", lambda m, a, b: (m.bitwise_count(a), m.bitwise_count(b),
                                           m.bitwise_count(a > 0)), I32,
         np.array([-2 ** 63, -1, 0, 2 ** 62 + 5])),
]


def _call(fn, module, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # NumPy's warnings: 2-d cross, all-NaN slices
        with np.errstate(all="ignore"):
            return fn(module, *args)


@pytest.mark.parametrize("fn, args", VALUE_CASES)
def test_values_against_numpy(fn, args):
    expected = _call(fn, np, args)
    assert_matches(_call(fn, fnp, args), expected, "concrete")
    out_tree = fg.tree.structure(_call(fn, fnp, args))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            leaves = eval_ir(fg.make_ir(lambda *a: fn(fnp, *a))(*args), list(args))
    assert_matches(fg.tree.unflatten(out_tree, leaves), expected, "traced")


def test_concrete_results_are_arrays():
    assert isinstance(fnp.sort(X34), fg.Array)
    assert all(isinstance(i, fg.Array) for i in fnp.nonzero(X34 > 0))


def test_tri_and_triangle_indices():
    np.testing.assert_array_equal(fnp.tri(3, 4, 1), np.tri(3, 4, 1))
    assert fnp.tri(2, dtype=int).dtype == np.int_
    for got, want in ((fnp.tril_indices(4, -1), np.tril_indices(4, -1)),
                      (fnp.triu_indices(3, 1, 5), np.triu_indices(3, 1, 5))):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    # The indices index a traced matrix: the strict lower triangle's derivative.
    rows, cols = fnp.tril_indices(3, -1)
    grad = fg.grad(lambda a: fnp.sum(a[rows, cols] ** 2))(X34[:, :3])
    np.testing.assert_allclose(grad, 2 * np.tril(X34[:, :3], -1))


# ---------------------------------------------------------------------------- derivatives

GRAD_CASES = [
    case("sort", lambda x: fnp.sort(x, axis=1) * np.arange(1.0, 5.0), X34),
    case("sort_none", lambda x: fnp.sort(x, axis=None), X34),
    case("take_along_axis", lambda x: fnp.take_along_axis(x, np.array([[0, 0], [3, 1],
                                                                       [2, 2]]), 1), X34),
    case("median_odd", lambda x: fnp.median(x, axis=0), distinct(5, 2)),
    case("median_even", lambda x: fnp.median(x, axis=1), X34),
    case("quantile_linear", lambda x: fnp.quantile(x, [0.3, 0.8], axis=1), X34),
    case("quantile_in_q", lambda q: fnp.quantile(X34, q, axis=1), np.array([0.2, 0.7])),
    case("percentile", lambda x: fnp.percentile(x, 40.0), X234),
    # (a NaN input's own derivative is NaN through x * x, as in JAX: square after reducing)
    case("nansum", lambda x: fnp.nansum(x, axis=1) ** 2, WITH_NAN[[0, 2]]),
    case("nanmean", lambda x: fnp.nanmean(x, axis=1) ** 2, WITH_NAN[[0, 2]]),
    case("nanmax", lambda x: fnp.nanmax(x, axis=0), np.array([[1.0, np.nan, 3.0],
                                                             [np.nan, 2.0, -1.0]])),
    case("nanmin", lambda x: fnp.nanmin(x), np.array([1.0, np.nan, -3.0])),
    case("fmod", lambda x, y: fnp.fmod(x, y), np.array([2.3, -2.3, 5.1, -0.4]),
         np.array([1.5, 1.5, -2.0, 0.3])),
    case("copysign", lambda x: fnp.copysign(x, np.array([1.0, -1.0, -0.0])),
         np.array([0.7, 1.3, -2.0])),
    case("heaviside_x2", lambda y: fnp.heaviside(np.array([-1.0, 0.0, 2.0]), y), np.float64(.3)),
    case("deg2rad", fnp.deg2rad, uniform(3)),
    case("rad2deg", fnp.rad2deg, uniform(3)),
    case("fabs", fnp.fabs, np.array([-1.5, 0.5, 2.0])),
    case("nan_to_num", lambda x: fnp.sin(fnp.nan_to_num(x, posinf=1.0, neginf=-1.0)), WITH_INF),
    case("average_weights", lambda x, w: fnp.average(x, axis=1, weights=w), X34,
         uniform(4, low=0.5)),
    case("cov", fnp.cov, X34),
    case("cov_aweights", lambda x, a: fnp.cov(x, aweights=a, ddof=1), X34, uniform(4, low=.5)),
    case("corrcoef", fnp.corrcoef, X34),
    case("convolve", lambda a, v: fnp.convolve(a, v, "same"), distinct(5), distinct(3)),
    case("interp", lambda x, xp, fp: fnp.interp(x, xp, fp), np.array([-0.9, 0.2, 0.5, 1.3]),
         np.array([-1.0, 0.0, 0.4, 1.0, 2.0]), distinct(5)),
    case("polyval", fnp.polyval, distinct(4), uniform(3)),
    case("trapezoid", lambda y, x: fnp.trapezoid(y, x), X34, SORTED[:4]),
    case("diff", lambda x: fnp.diff(x * x, n=2, axis=0), X34),
    case("cross", fnp.cross, distinct(2, 3), distinct(3)),
    case("cross_2d", lambda a, b: fnp.cross(a, b, axis=0), distinct(3, 2), distinct(3, 2)),
    case("sum_prod_where_initial", lambda x: fnp.sum(x, axis=0, where=x > 0, initial=0.5)
         * fnp.prod(x, axis=1, where=x < 0.5, initial=2.0)[:, None], X34),
    case("max_mean_where", lambda x: fnp.max(x, axis=1, where=x < 0.3, initial=-2.0)
         + fnp.mean(x ** 2, axis=1, where=x > -0.5), X34),
    case("linspace", lambda a, b: fnp.linspace(a, b, 4) ** 2, np.float64(0.2),
         np.float64(1.1)),
    case("logspace", lambda a, b: fnp.logspace(a, b, 4, base=3.0), np.float64(0.2),
         np.float64(1.1)),
    case("meshgrid", lambda x, y: fnp.meshgrid(x, y), V5, distinct(3)),
    case("append", lambda a, v: fnp.append(a, v), X34, V5),
    case("insert", lambda a, v: fnp.insert(a, [1, 1, 3], v), V5, distinct(3)),
    case("delete", lambda a: fnp.delete(a, [0, 2], axis=1), X34),
    case("rot90", lambda x: fnp.rot90(x, 3), X234),
    case("select", lambda x: fnp.select([x < -0.5, x > 0.5], [x * x, fnp.sin(x)], x), X34),
    case("piecewise", lambda x: fnp.piecewise(x, [x < 0], [lambda v: v ** 3, fnp.exp]), X34),
    case("unique_known_values", lambda x: fnp.unique(x) * np.arange(3.0),
         np.array([2.0, -1.0, 0.5])),
    case("array_api_aliases", lambda x, y: (fnp.acos(x), fnp.atanh(x), fnp.atan2(x, y),
                                            fnp.pow(y, x), fnp.matrix_transpose(x),
                                            fnp.permute_dims(x), fnp.concat([x, y])),
         uniform(2, 3, low=-0.8, high=0.8), uniform(2, 3, low=0.5)),
    case("degrees_radians", lambda x: fnp.degrees(x) * fnp.radians(x), uniform(3)),
    case("ldexp", lambda x: fnp.ldexp(x * x, np.array([3, -2, 0])), uniform(3)),
    case("frexp_mantissa", lambda x: fnp.frexp(x)[0] * x, np.array([0.3, -5.0, 1.7, 1e3])),
    case("modf", lambda x: fnp.modf(x * x), np.array([0.3, -1.4, 2.6])),
    case("divmod", lambda x, y: fnp.divmod(x, y)[1], np.array([2.3, -2.3, 5.1]),
         np.array([1.5, 1.5, -2.0])),
    case("float_power", fnp.float_power, uniform(3, low=0.5), uniform(3)),
    case("i0", fnp.i0, uniform(5, low=-4, high=4)),
    case("cumulative_sum", lambda x: fnp.cumulative_sum(x * x, axis=1, include_initial=True),
         X34),
    case("cumulative_prod", lambda x: fnp.cumulative_prod(x, axis=0, include_initial=True),
         X34),
    case("matvec", fnp.matvec, X234, distinct(4)),
    case("vecmat", fnp.vecmat, distinct(2, 3), X234[:, :, :2]),
    case("vecdot", lambda a, b: fnp.vecdot(a, b, axis=0), X34, distinct(3, 1)),
    case("unstack", lambda x: fnp.unstack(x * x, axis=1), X34),
    case("sort_complex_real_part", lambda x: fnp.real(fnp.sort_complex(x)) ** 2, X34),
    case("copy", lambda x: fnp.copy(x) ** 2, V5),
]


@pytest.mark.parametrize("fn, args", GRAD_CASES)
def test_derivatives_to_second_order(fn, args):
    with np.errstate(invalid="ignore", divide="ignore"):
        fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_flat_functions_have_zero_derivative():
    x = np.array([-1.7, -0.2, 0.4, 2.6])
    for fn in (fnp.trunc, lambda v: fnp.heaviside(v, 0.5), lambda v: fnp.copysign(2.0, v),
               fnp.rint, lambda v: fnp.modf(v)[1], lambda v: fnp.divmod(v, 0.3)[0]):
        np.testing.assert_array_equal(fg.grad(lambda v, fn=fn: fnp.sum(fn(v)))(x), np.zeros(4))


def test_i0_derivative_is_i1():
    x = np.array([-3.0, -0.4, 0.0, 0.9, 6.0])
    i1 = np.asarray(fg.scipy.special.i1e(x)) * np.exp(np.abs(x))
    np.testing.assert_allclose(fg.grad(lambda v: fnp.sum(fnp.i0(v)))(x), i1, rtol=1e-13,
                               atol=1e-15)
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(i1, special.i1(x), rtol=1e-13)


def test_bit_level_functions_have_no_derivative():
    # As in JAX: nextafter and spacing (steps of one ulp), signbit, frexp's exponent, gcd and
    # lcm (integers) are disconnected; frexp's mantissa is 2**-exponent times x.
    x = np.array([0.3, -5.0, 1.7])
    for fn in (lambda v: fnp.nextafter(v, 0.0), fnp.spacing,
               lambda v: fnp.signbit(v).astype(float), lambda v: fnp.frexp(v)[1] * 1.0,
               lambda v: fnp.gcd(v.astype(int), 6) * 1.0,
               lambda v: fnp.lcm(v.astype(int), 4) * 1.0):
        with pytest.raises(fg.DisconnectedGradientError):
            fg.grad(lambda v, fn=fn: fnp.sum(fn(v)), on_disconnected="error")(x)
        np.testing.assert_array_equal(fg.grad(lambda v, fn=fn: fnp.sum(fn(v)))(x), 0.0)
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(fnp.frexp(v)[0]))(x),
                                  [2.0, 0.125, 0.5])   # 0.3 = 0.6 * 2**-1


def test_sort_derivative_follows_the_permutation():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    weights = np.array([1.0, 10.0, 100.0])
    grad = fg.grad(lambda v: fnp.sum(fnp.sort(v) * weights))(x)
    np.testing.assert_array_equal(grad, [[100.0, 1.0, 10.0], [10.0, 1.0, 100.0]])
    tangent = fg.jvp(lambda v: fnp.sort(v), (x,), (np.arange(6.0).reshape(2, 3),))[1]
    np.testing.assert_array_equal(tangent, [[1.0, 2.0, 0.0], [4.0, 3.0, 5.0]])
    # Under jit: the same numbers (argsort runs through NumPy).
    jitted = fg.jit(fg.grad(lambda v: fnp.sum(fnp.sort(v) * weights)))
    np.testing.assert_array_equal(jitted(x), grad)


def test_indices_have_no_derivative():
    x = distinct(4)
    for fn in (fnp.argsort, lambda v: fnp.searchsorted(SORTED, v)):
        with pytest.raises(fg.DisconnectedGradientError):
            fg.grad(lambda v, fn=fn: fnp.sum(fn(v).astype(float)), on_disconnected="error")(x)


def test_sort_reverse_mode_agrees_with_torch():
    torch = pytest.importorskip("torch")
    x = distinct(3, 5)
    weights = uniform(3, 5)

    def loss(v):
        s = fnp.sort(v, axis=1)
        return fnp.sum(fnp.sin(s) * weights) + fnp.sum(fnp.sort(v, axis=0)[0] ** 2)

    ours = fg.grad(loss)(x)
    ours_hessian_row = fg.grad(lambda v: fg.grad(loss)(v)[1, 2])(x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(weights, dtype=torch.float64)

    def torch_loss(v):
        return (torch.sin(torch.sort(v, dim=1).values) * w).sum() + (
            torch.sort(v, dim=0).values[0] ** 2).sum()

    (theirs,) = torch.autograd.grad(torch_loss(t), t, create_graph=True)
    (second,) = torch.autograd.grad(theirs[1, 2], t)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours_hessian_row, second.numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------- vmap vs a loop

VMAP_CASES = [
    case("sort", lambda x: fnp.sort(x), distinct(4, 5)),
    case("argsort_axis0", lambda x: fnp.argsort(x, axis=0), distinct(4, 3, 2)),
    case("median", lambda x: fnp.median(x, axis=0), distinct(4, 5, 2)),
    case("quantile_q_batched", lambda q: fnp.quantile(X34, q, axis=1), np.array([.1, .5, .9])),
    case("take_along_axis", lambda x, i: fnp.take_along_axis(x, i, 0), distinct(3, 4),
         rng.integers(0, 4, (3, 2))),
    case("searchsorted_values", lambda v: fnp.searchsorted(SORTED, v), uniform(4, 3)),
    case("searchsorted_rows", lambda a, v: fnp.searchsorted(a, v), np.sort(distinct(3, 6), 1),
         uniform(3, 2)),
    case("interp", lambda x, fp: fnp.interp(x, SORTED, fp), uniform(3, 4), distinct(3, 6)),
    case("cross", fnp.cross, distinct(4, 3), distinct(4, 3)),
    case("cov", fnp.cov, distinct(3, 2, 5)),
    case("nanmean", lambda x: fnp.nanmean(x), WITH_NAN[[0, 2]]),
    case("unique_size", lambda x: fnp.unique(x, size=3), np.array([[1.0, 1.0, 2.0],
                                                                   [3.0, 3.0, 3.0]])),
    case("nonzero_size", lambda x: fnp.nonzero(x, size=2, fill_value=-1),
         np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [4.0, 0.0, 0.0]])),
    case("ldexp_frexp_modf", lambda x, n: (fnp.ldexp(x, n), fnp.frexp(x), fnp.modf(x)), SPECIAL,
         np.array([[1, 2, 3, 4], [-1, 0, 1, 2], [5, 6, -7, 8]], np.int32)),
    case("cumulative_sum_initial", lambda x: fnp.cumulative_sum(x, include_initial=True), X34),
    case("matvec_vecdot", lambda a, v: (fnp.matvec(a, v), fnp.vecdot(v, v), fnp.vecmat(v, a)),
         distinct(2, 4, 4), distinct(2, 4)),
    case("bitwise_shifts", lambda a, n: (a & n, a | 3, ~a, a << n, a >> n, fnp.gcd(a, n),
                                         fnp.bitwise_count(a)), INTS.astype(np.int8) * 20,
         np.stack([COUNTS] * 3)),
    case("unstack", lambda x: fnp.unstack(x, axis=1), X234),
]


@pytest.mark.parametrize("fn, args", VMAP_CASES)
def test_vmap_matches_a_loop(fn, args):
    out = fg.vmap(fn)(*args)
    rows = [fn(*[a[b] for a in args]) for b in range(np.shape(args[0])[0])]
    expected = fg.tree.map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *rows)
    assert_matches(out, expected, "vmap")


# ------------------------------------------------- results whose size depends on the values

VALUE_DEPENDENT = [
    ("unique", lambda x, **kw: fnp.unique(x, **kw)),
    ("nonzero", lambda x, **kw: fnp.nonzero(x, **kw)),
    ("argwhere", lambda x, **kw: fnp.argwhere(x, **kw)),
    ("flatnonzero", lambda x, **kw: fnp.flatnonzero(x, **kw)),
]
MIXED = np.array([[0.0, 2.0, 2.0], [-1.0, 0.0, 2.0]])


@pytest.mark.parametrize("name, fn", VALUE_DEPENDENT, ids=[n for n, _ in VALUE_DEPENDENT])
def test_value_dependent_shapes_need_size_under_jit(name, fn):
    np_fn = getattr(np, name)
    assert_matches(fn(MIXED), np_fn(MIXED), "concrete")
    for transform in (fg.jit, fg.vmap):
        with pytest.raises(fg.ConcretizationError, match=rf"{name}.*size="):
            transform(fn)(MIXED)
    # Under grad of concrete inputs the values are known: NumPy's result.
    seen = []
    fg.grad(lambda x: (seen.append(fn(x)), fnp.sum(x))[1])(MIXED)
    if name != "unique":   # unique's values are traced there (they carry the derivative)
        assert_matches(seen[0], np_fn(MIXED), "under grad")


def test_size_pads_and_cuts_as_in_jax():
    x = np.array([3.0, 0.0, 1.0, 3.0, 0.0, 5.0])
    for args in ((x,), ):
        got = traced(lambda v: fnp.unique(v, size=6), *args)[0][0]
        np.testing.assert_array_equal(got, [0.0, 1.0, 3.0, 5.0, 0.0, 0.0])   # fill: minimum
    assert_matches(fnp.unique(x, size=2, fill_value=-1.0), np.array([0.0, 1.0]), "cut")
    assert_matches(fnp.unique(x, size=5, fill_value=-1.0), np.array([0., 1., 3., 5., -1.]),
                   "pad")

    def everything(v):
        return fnp.unique(v, return_index=True, return_inverse=True, return_counts=True,
                          size=5, fill_value=9.0)

    values, index, inverse, counts = fg.jit(everything)(x)
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values, [0.0, 1.0, 3.0, 5.0, 9.0])
    np.testing.assert_array_equal(index, np.append(want[1], 0))
    np.testing.assert_array_equal(inverse, want[2])
    np.testing.assert_array_equal(counts, np.append(want[3], 0))
    assert_matches(traced(everything, x)[0], fg.jit(everything)(x), "concrete vs traced")
    cut = traced(lambda v: fnp.unique(v, return_counts=True, size=2), x)[0]
    np.testing.assert_array_equal(cut[1], [2, 1])

    m = np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 3.0]])
    rows, cols = fg.jit(lambda v: fnp.nonzero(v, size=4, fill_value=(-1, -2)))(m)
    np.testing.assert_array_equal(rows, [0, 1, 2, -1])
    np.testing.assert_array_equal(cols, [1, 0, 1, -2])
    np.testing.assert_array_equal(fg.jit(lambda v: fnp.flatnonzero(v, size=2))(m), [1, 2])
    np.testing.assert_array_equal(fg.jit(lambda v: fnp.argwhere(v, size=4))(m),
                                  [[0, 1], [1, 0], [2, 1], [0, 0]])
    assert_matches(fnp.nonzero(m, size=4, fill_value=(-1, -2)), (rows, cols), "concrete size")
    with pytest.raises(fg.ConcretizationError, match="unique"):
        fg.jit(lambda v: fnp.unique(v, return_counts=True))(x)


def test_unique_values_carry_the_derivative_of_first_occurrences():
    x = np.array([2.0, -1.0, 2.0, 0.5])
    grad = fg.grad(lambda v: fnp.sum(fnp.unique(v) * np.array([1.0, 10.0, 100.0])))(x)
    np.testing.assert_array_equal(grad, [100.0, 1.0, 0.0, 10.0])
    # Under jit with size=, the same.
    jitted = fg.grad(lambda v: fnp.sum(fnp.unique(v, size=3) * np.array([1.0, 10.0, 100.0])))
    np.testing.assert_array_equal(traced(jitted, x)[0][0], grad)


def test_errors_name_the_argument():
    with pytest.raises(fg.ConcretizationError, match="rot90.*'k'"):
        fg.jit(lambda x, k: fnp.rot90(x, k))(X34, 1)
    with pytest.raises(fg.ConcretizationError, match="insert.*'obj'"):
        fg.jit(lambda x, i: fnp.insert(x, i, 0.0))(V5, 1)
    with pytest.raises(ValueError, match="quantile.*method"):
        fg.jit(lambda x: fnp.quantile(x, 0.5, method="weibull"))(V5)
    with pytest.raises(ValueError, match="take_along_axis.*same number of dimensions"):
        fg.jit(lambda x: fnp.take_along_axis(x, np.zeros(2, int), 0))(X34)


# ------------------------------------------------------------------- compiled, once, small

def test_compiled_program_matches_the_interpreter():
    pytest.importorskip("numba")

    def program(x, fp):
        return (fnp.sort(x, axis=0), fnp.median(x, axis=1), fnp.interp(x[0], SORTED, fp),
                fnp.unique(x, size=4), fnp.trunc(x) + fnp.fmod(x, 0.7))

    args = (distinct(3, 4), distinct(6))
    interpreted = traced(program, *args)[0]
    compiled = fg.jit(program).compile(*args)(*args)
    assert_matches(list(compiled), interpreted, "compiled")


def _signs(values):
    """Whether each element's sign bit is set (-0.0 and the sign of NaN told apart)."""
    return [np.signbit(np.asarray(v)) for v in fg.tree.leaves(values)
            if np.asarray(v).dtype.kind == "f"]


def _bits_program(x, n, a, c):
    fraction, whole = fnp.modf(x)
    mantissa, exponent = fnp.frexp(x)
    return (x ** 0.5, fnp.power(x, 0.5), fraction, whole, mantissa, exponent, fnp.rint(x),
            fnp.ldexp(x, n), fnp.spacing(x), fnp.nextafter(x, 0.0), fnp.signbit(x),
            fnp.isneginf(x), fnp.degrees(x), fnp.i0(x), a & c, a | c, a ^ c, ~a, a << c,
            a >> c, fnp.bitwise_count(a), fnp.gcd(a, c), fnp.lcm(a, 3))


def test_compiled_elementwise_functions_match_numpy_to_the_sign_bit():
    # One compiled program (per dtype) of the new elementwise functions, its kernels fused,
    # against NumPy: values, dtypes and the signs of zeros and NaNs. x ** 0.5 is NumPy's
    # sqrt for a single exponent 0.5: -0.0 at -0.0 and NaN at -inf (C's pow gives 0.0, inf).
    pytest.importorskip("numba")
    n = np.array([3, -2, 1100, -1100], np.int32)
    a, c = INTS.astype(np.int8)[:, :4] * 20, np.stack([COUNTS] * 3)
    for x in (SPECIAL, SPECIAL32):
        with np.errstate(all="ignore"):
            want = _bits_program(x, n, a, c)
            for tier, got in (("eager", _bits_program(x, n, a, c)),
                              ("traced", traced(_bits_program, x, n, a, c)[0]),
                              ("compiled", fg.jit(_bits_program)(x, n, a, c))):
                assert_matches(list(got), list(want), f"{tier} {x.dtype}")
                for g, w in zip(_signs(list(got)), _signs(list(want))):
                    np.testing.assert_array_equal(g, w, err_msg=f"{tier} {x.dtype}: signs")
    assert np.signbit(want[0][1, 3]) and np.isnan(want[0][1, 1])   # -0.0 and -inf


def test_a_power_by_an_array_of_halves_is_cs_pow_as_in_numpy():
    # NumPy's sqrt shortcut is for one exponent; an array of 0.5s runs C's pow (0.0 at -0.0,
    # inf at -inf), and so do the compiled kernels.
    pytest.importorskip("numba")
    x = np.array([-0.0, -np.inf, 4.0])
    halves = np.full(3, 0.5)
    with np.errstate(invalid="ignore"):
        want = np.power(x, halves)
        got = fg.jit(lambda v, y: (v ** y, v ** y[0]))(x, halves)
        assert_matches(got[0], want, "array exponent")
        np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(want))
        np.testing.assert_array_equal(np.signbit(got[1]), np.signbit(np.power(x, 0.5)))
        assert np.isnan(got[1][1]) and want[1] == np.inf


# ------------------------------------------------------------------ coverage of jax.numpy
# jax.numpy's public functions (jax 0.10; dtype classes left out), written here, not imported.
JAX_NUMPY_FUNCTIONS = """
abs absolute acos acosh add all allclose amax amin angle any append apply_along_axis
apply_over_axes arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin
argpartition argsort argwhere around array array_equal array_equiv array_repr array_split
array_str asarray asin asinh astype atan atan2 atanh atleast_1d atleast_2d atleast_3d average
bartlett bincount bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not
bitwise_or bitwise_right_shift bitwise_xor blackman block broadcast_arrays broadcast_shapes
broadcast_to can_cast cbrt ceil choose clip column_stack compress concat concatenate conj
conjugate convolve copy copysign corrcoef correlate cos cosh count_nonzero cov cross cumprod
cumsum cumulative_prod cumulative_sum deg2rad degrees delete diag diag_indices
diag_indices_from diagflat diagonal diff digitize divide divmod dot dsplit dstack ediff1d
einsum einsum_path empty empty_like equal exp exp2 expand_dims expm1 extract eye fabs
fill_diagonal flatnonzero flip fliplr flipud float_power floor floor_divide fmax fmin fmod
frexp from_dlpack frombuffer fromfile fromfunction fromiter frompyfunc fromstring full
full_like gcd geomspace get_printoptions gradient greater greater_equal hamming hanning
heaviside histogram histogram2d histogram_bin_edges histogramdd hsplit hstack hypot i0
identity imag indices inner insert interp intersect1d invert isclose iscomplex iscomplexobj
isdtype isfinite isin isinf isnan isneginf isposinf isreal isrealobj isscalar issubdtype
iterable ix_ kaiser kron lcm ldexp left_shift less less_equal lexsort linspace load log log10
log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor logspace
mask_indices matmul matrix_transpose matvec max maximum mean median meshgrid min minimum mod
modf moveaxis multiply nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean
nanmedian nanmin nanpercentile nanprod nanquantile nanstd nansum nanvar ndim negative
nextafter nonzero not_equal ones ones_like outer packbits pad partition percentile
permute_dims piecewise place poly polyadd polyder polydiv polyfit polyint polymul polysub
polyval positive pow power printoptions prod promote_types ptp put put_along_axis quantile
rad2deg radians ravel ravel_multi_index real reciprocal remainder repeat reshape resize
result_type right_shift rint roll rollaxis roots rot90 round save savez searchsorted select
set_printoptions setdiff1d setxor1d shape sign signbit sin sinc sinh size sort sort_complex
spacing split sqrt square squeeze stack std subtract sum swapaxes take take_along_axis tan
tanh tensordot tile trace transpose trapezoid tri tril tril_indices tril_indices_from
trim_zeros triu triu_indices triu_indices_from true_divide trunc union1d unique unique_all
unique_counts unique_inverse unique_values unpackbits unravel_index unstack unwrap vander var
vdot vecdot vecmat vectorize vsplit vstack where zeros zeros_like
""".split()
PRESENT_NOW = 344   # raise it as functions are added; it must never go down


def test_coverage_of_jax_numpy_does_not_shrink():
    present = [name for name in JAX_NUMPY_FUNCTIONS if callable(getattr(fnp, name, None))]
    missing = sorted(set(JAX_NUMPY_FUNCTIONS) - set(present))
    print(f"\nfuncgrad.numpy has {len(present)} of jax.numpy's {len(JAX_NUMPY_FUNCTIONS)} "
          f"functions; missing ({len(missing)}): {' '.join(missing)}")
    assert len(JAX_NUMPY_FUNCTIONS) == 344
    assert len(present) >= PRESENT_NOW, (
        f"funcgrad.numpy lost jax.numpy functions: {len(present)} present, {PRESENT_NOW} "
        "before")


@pytest.mark.parametrize("axis, weights", [(1, RNG_W.uniform(0, 2, (3, 5))),
                                           (0, RNG_W.uniform(0, 2, 3)),
                                           (None, RNG_W.uniform(0, 2, (3, 5)))])
def test_weighted_quantiles_traced(axis, weights):
    # NumPy's weights= (method 'inverted_cdf'): the first sorted value whose cumulative weight
    # reaches q; traced values get the gather's derivative, weights none.
    a = RNG_W.standard_normal((3, 5))

    def _recorded(fn, x):   # recorded as under grad, values from the trace
        return fg.vjp(fn, x)[0]
    for q in (0.5, [0.0, 0.3, 1.0]):
        want = np.quantile(a, q, axis=axis, method="inverted_cdf", weights=weights)
        np.testing.assert_array_equal(_recorded(lambda v, q=q: fnp.quantile(
            v, q, axis=axis, method="inverted_cdf", weights=weights), a), want)
        np.testing.assert_array_equal(_recorded(lambda v, q=q: fnp.percentile(
            v, np.multiply(q, 100), axis=axis, method="inverted_cdf", weights=weights,
            keepdims=True), a),
            np.percentile(a, np.multiply(q, 100), axis=axis, method="inverted_cdf",
                          weights=weights, keepdims=True))
    grad = fg.grad(lambda v: fnp.sum(fnp.quantile(v, [0.2, 0.7], axis=axis,
                                                  method="inverted_cdf", weights=weights)))(a)
    picked = np.quantile(a, [0.2, 0.7], axis=axis, method="inverted_cdf", weights=weights)
    np.testing.assert_array_equal(grad, sum(a == value for value in np.ravel(picked)))
    with pytest.raises(ValueError, match="inverted_cdf"):
        _recorded(lambda v: fnp.quantile(v, 0.5, weights=weights), a)


def test_unique_along_an_axis_with_size():
    # The first occurrences come from NumPy (on the host where the values are unknown); the
    # rows are gathered from the input, so they carry its derivative; padding is fill_value
    # (default: the first unique row), with count 0.
    x = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [0.0, 1.0]])
    weights = np.arange(8.0).reshape(4, 2)

    def f(v):
        return fnp.unique(v, axis=0, size=4, return_index=True, return_inverse=True,
                          return_counts=True)
    values, index, inverse, counts = f(x)
    np.testing.assert_array_equal(values, [[0, 1], [1, 2], [3, 4], [0, 1]])
    np.testing.assert_array_equal(index, [3, 0, 1, 0])
    np.testing.assert_array_equal(inverse, [1, 2, 1, 0])
    np.testing.assert_array_equal(counts, [1, 2, 1, 0])
    for got in (fg.jit(f)(x), fg.vmap(f)(x[None])):
        for g, w in zip(got, (values, index, inverse, counts)):
            np.testing.assert_array_equal(np.reshape(g, np.shape(w)), w)
    loss = lambda v: fnp.sum(fnp.unique(v, axis=0, size=4) * weights)   # noqa: E731
    want = np.zeros_like(x)
    want[3] = weights[0] + weights[3]   # row 3 is the first unique row and the padding
    want[0], want[1] = weights[1], weights[2]
    np.testing.assert_array_equal(fg.grad(loss)(x), want)
    np.testing.assert_array_equal(fg.jit(fg.grad(loss))(x), want)
    np.testing.assert_array_equal(fnp.unique(x, axis=1, size=3, fill_value=-1.0),
                                  [[1, 2, -1], [3, 4, -1], [1, 2, -1], [0, 1, -1]])
