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
    with np.errstate(invalid="ignore", divide="ignore"):
        fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["nanprod", "nanvar", "nanstd", "nanmedian", "nancumsum",
                                  "nanquantile", "nanmean_of_var_where"])
def test_nan_entries_get_zero_derivative(name):
    fn = {"nanquantile": lambda x: fnp.nanquantile(x, [0.2, 0.9], axis=1),
          "nanmean_of_var_where": lambda x: fnp.var(fnp.nan_to_num(x), axis=1,
                                                    where=~np.isnan(CUBE))}.get(
        name, lambda x: getattr(fnp, name)(x, axis=1))
    grad = fg.grad(lambda x: fnp.sum(fnp.nan_to_num(fn(x))))(CUBE)
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
