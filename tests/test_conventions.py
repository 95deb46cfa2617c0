"""The derivative conventions of API.md at kinks, ties, zeros and powers, to several orders.

PyTorch's and autograd's conventions, which agree with a central difference: ``abs'(0) = 0``,
``sign' = 0``, ``relu'(0) = 0``; ties of ``maximum``/``minimum`` and of ``max``/``min``
reductions share the derivative equally; no ``nan`` where the true derivative is finite
(``d/dx x**0 = 0``, and ``d/dx x**y = 0`` at ``x = 0`` for ``y > 1``, to every order).

Each scalar convention is checked to several orders in three ways: reverse over reverse
(``grad(grad(...))``), forward over forward (``jvp`` of ``jvp``) and alternating.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import reduction as red

MODES = ("rev", "fwd", "mixed")
FLOATS = (np.float64, np.float32)


def _forward(f):
    """The derivative of scalar ``f`` by one forward pass."""
    return lambda x: fg.jvp(f, (x,), (np.ones(np.shape(x), x.dtype),))[1]


def derivatives(f, x, order, mode):
    """``[f'(x), f''(x), ...]`` up to ``order``, each as NumPy returns it."""
    out = []
    for level in range(order):
        if mode == "rev" or (mode == "mixed" and level % 2 == 0):
            f = fg.grad(f)
        else:
            f = _forward(f)
        out.append(f(x))
    return out


def assert_derivatives(f, x, expected, mode, dtype=np.float64, rtol=1e-12):
    """``f``'s derivatives at ``x`` of orders 1, 2, ... are ``expected``; no nan, dtype kept."""
    x = dtype(x)
    got = derivatives(f, x, len(expected), mode)
    for order, (value, want) in enumerate(zip(got, expected), start=1):
        assert np.asarray(value).dtype == dtype, f"order {order}: dtype {np.asarray(value).dtype}"
        assert not np.isnan(value), f"order {order}: nan (expected {want})"
        tolerance = rtol if dtype == np.float64 else 1e-6
        assert value == pytest.approx(want, rel=tolerance, abs=tolerance), (
            f"order {order}: got {value}, expected {want}")


# ------------------------------------------------------------------------------ kinks

def relu(x):
    """PyTorch's relu: the input where positive, else 0."""
    return fnp.where(x > 0, x, 0.0)


KINKS = [
    ("abs", fnp.abs, [0.0, 0.0, 0.0]),
    ("abs_operator", lambda x: abs(x), [0.0, 0.0, 0.0]),
    ("sign", fnp.sign, [0.0, 0.0, 0.0]),
    ("relu", relu, [0.0, 0.0, 0.0]),
    ("relu_times_mask", lambda x: x * (x > 0), [0.0, 0.0, 0.0]),
    ("abs_cubed", lambda x: fnp.abs(x) ** 3, [0.0, 0.0, 0.0]),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=["f64", "f32"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f, expected", [pytest.param(f, e, id=n) for n, f, e in KINKS])
def test_kinks_at_zero(f, expected, mode, dtype):
    assert_derivatives(f, 0.0, expected, mode, dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x", [-2.5, -1.0, 0.0, 0.5, 3.0])
def test_sign_has_zero_derivative_everywhere(x, mode):
    assert_derivatives(fnp.sign, x, [0.0, 0.0, 0.0], mode)
    assert_derivatives(lambda v: v * fnp.sign(v), x, [np.sign(x), 0.0, 0.0], mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("x, slope", [(-1.0, -1.0), (2.0, 1.0)])
def test_abs_away_from_zero(x, slope, mode):
    assert_derivatives(fnp.abs, x, [slope, 0.0, 0.0], mode)


def test_relu_on_a_vector_with_zeros():
    x = np.array([-1.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(relu(v)))(x), [0, 0, 0, 1])
    np.testing.assert_array_equal(fg.jvp(relu, (x,), (np.ones(4),))[1], [0, 0, 0, 1])


def test_nn_relu_has_zero_derivative_at_zero():
    nn = pytest.importorskip("funcgrad.nn")
    for mode in MODES:
        assert_derivatives(nn.relu, 0.0, [0.0, 0.0], mode)


# ------------------------------------------------------------------------------- ties

@pytest.mark.parametrize("mode", ("fwd", "rev"))
@pytest.mark.parametrize("dtype", FLOATS, ids=["f64", "f32"])
@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_binary_ties_share_equally(name, dtype, mode):
    f = getattr(fnp, name)
    x, y = dtype(1.5), dtype(1.5)
    if mode == "rev":
        gx, gy = fg.grad(f, argnums=(0, 1))(x, y)
    else:
        gx = fg.jvp(f, (x, y), (dtype(1), dtype(0)))[1]
        gy = fg.jvp(f, (x, y), (dtype(0), dtype(1)))[1]
    assert (gx, gy) == (0.5, 0.5)
    assert np.asarray(gx).dtype == dtype and np.asarray(gy).dtype == dtype
    # The second derivatives of a piecewise linear function are 0, at the tie too.
    hessian_rows = [fg.grad(lambda a, b, k=k: fg.grad(f, argnums=k)(a, b), argnums=(0, 1))(x, y)
                    for k in (0, 1)]
    np.testing.assert_array_equal(hessian_rows, np.zeros((2, 2)))


@pytest.mark.parametrize("name, winner", [("maximum", 0), ("minimum", 1)])
def test_binary_ties_away_from_the_tie(name, winner):
    f = getattr(fnp, name)
    grads = fg.grad(f, argnums=(0, 1))(2.0, 1.0)
    assert grads[winner] == 1.0 and grads[1 - winner] == 0.0


def test_maximum_with_its_own_argument_is_the_identity():
    assert_derivatives(lambda x: fnp.maximum(x, x), 0.7, [1.0, 0.0], "rev")
    assert_derivatives(lambda x: fnp.minimum(x, x), 0.7, [1.0, 0.0], "fwd")


def test_maximum_with_zero_shares_the_tie_at_zero():
    """``maximum(x, 0.)`` ties with 0 at x = 0, so x gets 1/2 (as torch.maximum does);
    PyTorch's ``relu``, with derivative 0 there, is ``where(x > 0, x, 0.)`` (see ``relu``)."""
    assert_derivatives(lambda x: fnp.maximum(x, 0.0), 0.0, [0.5, 0.0, 0.0], "rev")
    assert_derivatives(lambda x: fnp.maximum(x, 0.0), 0.0, [0.5, 0.0, 0.0], "fwd")


def test_broadcast_ties_add_up():
    x = np.array([1.0, 2.0, 1.0])
    gx, gy = fg.grad(lambda a, b: fnp.sum(fnp.maximum(a, b)), argnums=(0, 1))(x, 1.0)
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.5])
    assert gy == 1.0


def _reduce_max(x, axis=None):
    axes = tuple(range(np.ndim(x))) if axis is None else (axis,)
    return red.reduce_max(x, axes)


def _reduce_min(x, axis=None):
    axes = tuple(range(np.ndim(x))) if axis is None else (axis,)
    return red.reduce_min(x, axes)


REDUCE_MAX = [pytest.param(fnp.max, id="fnp.max"),
              pytest.param(fnp.amax, id="fnp.amax"),
              pytest.param(_reduce_max, id="reduce_max")]
REDUCE_MIN = [pytest.param(fnp.min, id="fnp.min"),
              pytest.param(fnp.amin, id="fnp.amin"),
              pytest.param(_reduce_min, id="reduce_min")]


@pytest.mark.parametrize("dtype", FLOATS, ids=["f64", "f32"])
@pytest.mark.parametrize("reduce_max", REDUCE_MAX)
def test_max_reduction_ties_share_equally(reduce_max, dtype):
    x = np.array([1.0, 3.0, 3.0], dtype)
    grad = fg.grad(reduce_max)(x)
    np.testing.assert_array_equal(grad, np.array([0.0, 0.5, 0.5], dtype))
    assert grad.dtype == dtype
    assert fg.jvp(reduce_max, (x,), (np.array([5.0, 1.0, 2.0], dtype),))[1] == 1.5
    np.testing.assert_array_equal(fg.grad(reduce_max)(np.full(3, 2.0, dtype)),
                                  np.full(3, 1 / 3, dtype))
    np.testing.assert_array_equal(fg.hessian(reduce_max)(x), np.zeros((3, 3)))


@pytest.mark.parametrize("reduce_min", REDUCE_MIN)
def test_min_reduction_ties_share_equally(reduce_min):
    x = np.array([1.0, 1.0, 3.0])
    np.testing.assert_array_equal(fg.grad(reduce_min)(x), [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(fg.jacfwd(reduce_min)(x), [0.5, 0.5, 0.0])


@pytest.mark.parametrize("reduce_max", REDUCE_MAX)
def test_max_reduction_ties_along_an_axis(reduce_max):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, 4.0, 0.0]])
    weights = np.array([1.0, 10.0, 100.0])
    grad = fg.grad(lambda v: fnp.sum(reduce_max(v, axis=1) * weights))(x)
    np.testing.assert_allclose(grad, [[0, 0.5, 0.5], [10 / 3] * 3, [100, 0, 0]], rtol=1e-15)
    np.testing.assert_allclose(fg.jacrev(lambda v: reduce_max(v, axis=0))(x)[0],
                               [[0, 0, 0], [0, 0, 0], [1, 0, 0]])


# ----------------------------------------------------------------------------- powers

def _power_of_both(x, y):
    # An exponent that is itself traced (as it is in grad with respect to both).
    y = x * 0 + y
    return x ** y


EXPONENT_FORMS = {
    "integer": lambda y: lambda x: fnp.power(x, int(y)),      # integer_pow
    "float": lambda y: lambda x: x ** float(y),               # pow with a constant exponent
    "traced": lambda y: lambda x: _power_of_both(x, y),       # pow with a traced exponent
}


@pytest.mark.parametrize("dtype", FLOATS, ids=["f64", "f32"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form, x", [
    (form, x) for form in sorted(EXPONENT_FORMS) for x in (0.0, 1.5, -2.0)
    if not (form == "traced" and x < 0)])   # d/dy x**y = log(x) x**y is nan for x < 0
def test_x_to_the_zero_is_flat(form, x, mode, dtype):
    assert_derivatives(EXPONENT_FORMS[form](0), x, [0.0, 0.0, 0.0], mode, dtype)


POWERS_AT_ZERO = [
    (2, [0.0, 2.0, 0.0]),
    (3, [0.0, 0.0, 6.0]),
    (4, [0.0, 0.0, 0.0]),
    (1, [1.0, 0.0, 0.0]),
    (2.5, [0.0, 0.0]),            # the third derivative, 1.875 / sqrt(x), is infinite at 0
    (1.5, [0.0]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form, y, expected", [
    pytest.param(form, y, expected, id=f"{form}-y={y}")
    for form in sorted(EXPONENT_FORMS) for y, expected in POWERS_AT_ZERO
    if form != "integer" or y == int(y)])
def test_powers_at_zero(form, y, expected, mode):
    assert_derivatives(EXPONENT_FORMS[form](y), 0.0, expected, mode)


def test_power_at_zero_in_float32():
    for mode in MODES:
        assert_derivatives(lambda x: x ** 2.0, 0.0, [0.0, 2.0, 0.0], mode, np.float32)
        assert_derivatives(lambda x: x ** 2.5, 0.0, [0.0, 0.0], mode, np.float32)


def test_power_of_two_inputs_at_zero_base():
    """All partials of x**y at (0, 2): d/dy 0**y = 0 for y > 0, and the mixed ones vanish."""
    f = fnp.power
    grads = fg.grad(f, argnums=(0, 1))(0.0, 2.0)
    assert grads == (0.0, 0.0)
    rows = [fg.grad(lambda x, y, k=k: fg.grad(f, argnums=k)(x, y),
                    argnums=(0, 1))(0.0, 2.0)
            for k in (0, 1)]
    np.testing.assert_array_equal(rows, [[2.0, 0.0], [0.0, 0.0]])
    assert fg.grad(f, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)


def test_power_on_a_vector_with_zeros():
    x = np.array([0.0, 0.0, 1.0, 2.0])
    for y in (2.0, 2.5, 3.0):
        with np.errstate(divide="ignore"):
            grad = fg.grad(lambda v, y=y: fnp.sum(v ** y))(x)
            hess = fg.hessian(lambda v, y=y: fnp.sum(v ** y))(x)
        np.testing.assert_allclose(grad, y * x ** (y - 1), rtol=1e-15)
        np.testing.assert_allclose(np.diag(hess), y * (y - 1) * x ** (y - 2), rtol=1e-15)
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(v ** 0.0))(x), np.zeros(4))


# ------------------------------------------------------------------ products with zeros

def _others_product(x):
    """d prod / d x_i, computed exactly by leaving x_i out."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def _others_product2(x):
    """d^2 prod / d x_i d x_j (0 on the diagonal)."""
    n = x.size
    return np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)]
                     for i in range(n)])


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0],
                               [1.5, -2.0, 3.0, 0.5], [0.0, 5.0]],
                         ids=["one_zero", "two_zeros", "all_zero", "no_zero", "pair"])
def test_prod_gradient_with_zeros_is_exact(x):
    x = np.array(x)
    np.testing.assert_array_equal(fg.grad(fnp.prod)(x), _others_product(x))
    np.testing.assert_array_equal(fg.jacfwd(fnp.prod)(x), _others_product(x))
    np.testing.assert_array_equal(fg.hessian(fnp.prod)(x), _others_product2(x))


def test_prod_along_an_axis_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0]])
    grad = fg.grad(lambda v: fnp.sum(fnp.prod(v, axis=1) * np.array([1.0, 10.0])))(x)
    np.testing.assert_array_equal(grad, [[0, 6, 0], [0, 0, 0]])
    grad = fg.grad(lambda v: fnp.sum(fnp.prod(v, axis=0)))(x)
    np.testing.assert_array_equal(grad, [[0, 4, 0], [2, 0, 3]])


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0], [0.0, 2.0, 3.0], [2.0, 3.0, 0.0],
                               [0.0, 0.0, 4.0]])
def test_cumprod_with_zeros_is_exact(x):
    x = np.array(x)
    expected = np.array([[_others_product(x[:i + 1])[j] if j <= i else 0.0
                          for j in range(3)] for i in range(3)])
    np.testing.assert_array_equal(fg.jacrev(fnp.cumprod)(x), expected)
    np.testing.assert_array_equal(fg.jacfwd(fnp.cumprod)(x), expected)
    # Second order: the Hessian of the last running product is prod's.
    last = np.array([0.0, 0.0, 1.0])
    np.testing.assert_array_equal(fg.hessian(lambda v: fnp.sum(fnp.cumprod(v) * last))(x),
                                  _others_product2(x))


# ----------------------------------------------------------------------------------- clip

def test_clip_gradient_is_one_inside_and_at_the_bounds():
    x = np.array([-2.0, -1.0, -0.3, 0.0, 1.0, 2.0])
    expected = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(fnp.clip(v, -1.0, 1.0)))(x),
                                  expected)
    np.testing.assert_array_equal(fg.jvp(lambda v: fnp.clip(v, -1.0, 1.0), (x,),
                                         (np.ones(6),))[1], expected)
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(fnp.clip(v, -1.0, None)))(x),
                                  [0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(fnp.clip(v, None, 1.0)))(x),
                                  [1, 1, 1, 1, 1, 0])
    hess = fg.hessian(lambda v: fnp.sum(fnp.clip(v, -1.0, 1.0) ** 2))(x)
    np.testing.assert_array_equal(np.diag(hess), [0, 2, 2, 2, 2, 0])


def test_clip_gradient_flows_to_an_active_bound():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    gx, glo, ghi = fg.grad(lambda v, lo, hi: fnp.sum(fnp.clip(v, lo, hi)),
                           argnums=(0, 1, 2))(x, -1.0, 1.0)
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0])
    assert (glo, ghi) == (1.0, 1.0)   # only the strictly clipped elements -2 and 2


# ------------------------------------------------------------ no nan where it is finite

NO_NAN = [
    ("sqrt_of_square_plus_one", lambda x: fnp.sqrt(x * x + 1.0), 0.0, [0.0, 1.0, 0.0]),
    ("safe_sqrt_below_zero", lambda x: fnp.sqrt(fnp.where(x > 0, x, 1.0)), -1.0, [0.0, 0.0]),
    ("safe_sqrt_at_zero", lambda x: fnp.sqrt(fnp.where(x > 0, x, 1.0)), 0.0, [0.0, 0.0]),
    ("sqrt_of_exp", lambda x: fnp.sqrt(fnp.exp(x)), 0.0, [0.5, 0.25, 0.125]),
    ("logaddexp_equal", lambda x: fnp.logaddexp(x, x), 0.3, [1.0, 0.0, 0.0]),
    ("logaddexp_equal_large", lambda x: fnp.logaddexp(x, x), 1000.0, [1.0, 0.0]),
    ("logaddexp_equal_small", lambda x: fnp.logaddexp(x, x), -1000.0, [1.0, 0.0]),
    ("logaddexp_at_tie", lambda x: fnp.logaddexp(x, 0.0), 0.0, [0.5, 0.25, 0.0]),
    ("softplus_large", lambda x: fnp.logaddexp(x, 0.0), 1000.0, [1.0, 0.0]),
    ("softplus_small", lambda x: fnp.logaddexp(x, 0.0), -1000.0, [0.0, 0.0]),
    ("logaddexp2_equal", lambda x: fnp.logaddexp2(x, x), 5.0, [1.0, 0.0]),
    ("hypot_zero_partner", lambda x: fnp.hypot(x, 0.0), 3.0, [1.0, 0.0, 0.0]),
    ("hypot_at_zero", lambda x: fnp.hypot(3.0, x), 0.0, [0.0, 1 / 3, 0.0]),
    ("hypot_huge", lambda x: fnp.hypot(x, 1e200), 1e200, [math.sqrt(0.5), 0.5 ** 1.5 / 1e200]),
    ("hypot_tiny", lambda x: fnp.hypot(x, 1e-200), 1e-200, [math.sqrt(0.5)]),
    ("logistic_large", lambda x: fnp.exp(-fnp.logaddexp(0.0, -x)), 800.0, [0.0, 0.0]),
    ("tanh_large", fnp.tanh, 400.0, [0.0, 0.0]),
    ("sinc_at_zero", fnp.sinc, 0.0, [0.0, -math.pi ** 2 / 3, 0.0]),
    ("x_times_abs", lambda x: x * fnp.abs(x), 0.0, [0.0]),
    ("arctan2_on_axis", lambda x: fnp.arctan2(x, 1.0), 0.0, [1.0, 0.0, -2.0]),
    # std of one element is constant (HIPS autograd's test_std): no 0 * inf from the root.
    ("std_of_one_element", lambda x: fnp.std(fnp.reshape(x, (1,))), 2.0, [0.0, 0.0, 0.0]),
    ("std_along_a_length_one_axis",
     lambda x: fnp.sum(fnp.std(fnp.stack([x, x * x])[:, None], axis=1)), 1.5, [0.0, 0.0]),
    ("std_plus_x", lambda x: x + fnp.std(fnp.reshape(x * x, (1, 1))), -1.0, [1.0, 0.0]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, f, x, expected", NO_NAN, ids=[row[0] for row in NO_NAN])
def test_no_nan_where_the_derivative_is_finite(name, f, x, expected, mode):
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        assert_derivatives(f, x, expected, mode, rtol=1e-10)


def test_logaddexp_ties_share_equally():
    for x in (0.0, 1000.0, -1000.0):
        gx, gy = fg.grad(fnp.logaddexp, argnums=(0, 1))(x, x)
        assert gx == pytest.approx(0.5, rel=1e-12) and gy == pytest.approx(0.5, rel=1e-12)
        hxx = fg.grad(fg.grad(fnp.logaddexp))(x, x)
        assert hxx == pytest.approx(0.25, rel=1e-12)


def test_hypot_both_arguments():
    grads = fg.grad(fnp.hypot, argnums=(0, 1))(3.0, 4.0)
    np.testing.assert_allclose(grads, [0.6, 0.8], rtol=1e-15)
    grads = fg.grad(fnp.hypot, argnums=(0, 1))(1e200, 1e200)
    np.testing.assert_allclose(grads, [math.sqrt(0.5)] * 2, rtol=1e-15)
