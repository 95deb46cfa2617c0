"""The eager reverse-mode engine: the cotangent plan worked out while recording
(``trace_for_reverse``) is the one ``linearize``'s own pass finds, and the shortcuts of the
recording path (shape rules from a cache, comparisons bound at once) change no result, dtype
or error."""
import importlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.aval import aval_of
from funcgrad.core.errors import ShapeError
from funcgrad.core.trace import trace_for_reverse
from funcgrad.ops.special import retain_grad_p, stop_gradient_p

vjp_module = importlib.import_module("funcgrad.transforms.vjp")   # (fg.vjp shadows the name)


def _mixed(x, y, k):
    """Products, a constant, a stopped branch, an integer path, a retained mark, a split."""
    a = x * y + np.array([1.0, 2.0, 3.0])
    b = fg.stop_gradient(a) * 2.0 + fnp.sin(y)
    i = fnp.argmax(a)   # an integer: no cotangent flows through it
    c = fg.retain_grad(fnp.exp(k * 0.5), "c")   # no wanted input reaches it
    parts = fnp.split(a * b, 3)
    return fnp.sum(parts[0] + parts[2] * c) + a[i]


@pytest.mark.parametrize("wanted", [(True, True, True), (True, False, True),
                                    (False, True, False)])
@pytest.mark.parametrize("retain", [False, True])
def test_plan_while_recording_is_linearize_plan(wanted, retain):
    args = [np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75]), np.float64(0.3)]
    ir, env, needs, plan = trace_for_reverse(
        lambda *xs: [_mixed(*xs)], [aval_of(a) for a in args], args, list(wanted),
        stop_gradient_p, retain_grad_p if retain else None)
    _, again_needs, again_plan = vjp_module._forward(ir, args, list(wanted), retain, dict(env))
    assert plan == again_plan
    assert needs == again_needs
    assert len(plan) == len(ir.eqns)


def test_grad_with_plan_matches_linearize_pass():
    args = [np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75]), np.float64(0.3)]
    value, (grads, retained) = fg.value_and_grad(_mixed, argnums=(0, 1, 2), retained=True)(
        *args)
    ir, env, _, _ = trace_for_reverse(lambda *xs: [_mixed(*xs)], [aval_of(a) for a in args],
                                      args, [True] * 3, stop_gradient_p, retain_grad_p)
    outs, backward = vjp_module.linearize(ir, args, [True] * 3, retain=True, env=env)
    cts, marks = backward([np.float64(1.0)])
    assert np.asarray(value).tobytes() == np.asarray(outs[0]).tobytes()
    for got, want in zip(grads, cts):
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
    assert np.asarray(retained["c"]).tobytes() == np.asarray(marks["c"]).tobytes()


def test_stop_gradient_and_integer_paths_leave_zero_gradients():
    def f(x, y):
        return fg.stop_gradient(x) * y + fnp.floor(y) * 0.0 + (x > 0) * 1.0
    gx, gy = fg.grad(f, argnums=(0, 1))(2.0, 3.0)
    assert float(gx) == 0.0 and float(gy) == 2.0


def test_retained_mark_without_wanted_input_reports_its_cotangent():
    def f(x):
        c = fg.retain_grad(fnp.exp(fg.stop_gradient(x) * 0.5), "c")   # recorded, not needed
        return x * c
    g, retained = fg.grad(f, retained=True)(2.0)
    assert float(g) == np.exp(1.0)
    assert float(retained["c"]) == 2.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_comparisons_of_tracers_with_python_numbers(dtype):
    seen = []

    def f(x):
        seen.append((x > 1.0, x <= 2, 1.5 < x, x == x, x != 3.0, x >= x * 2))
        return x * x

    fg.grad(f)(dtype(1.5))
    want = (True, True, False, True, True, False)
    for got, expected in zip(seen[0], want):
        assert isinstance(got, fg.Array) and got.dtype == np.bool_ and got.shape == ()
        assert bool(got) is expected


def test_comparison_of_float32_tracer_with_python_float_rounds_as_numpy():
    # NumPy's weak promotion compares in float32: 0.1 becomes float32(0.1) first
    out = []
    fg.grad(lambda x: (out.append(x == 0.1), x)[1])(np.float32(0.1))
    assert bool(out[0]) is bool(np.float32(0.1) == np.float32(0.1))


def test_shape_errors_still_name_the_primitive_under_grad():
    def f(x):
        return fnp.sum(x + np.ones(4))
    for _ in range(2):   # the second time too (rules of parameterless equations are cached)
        with pytest.raises(ShapeError, match="add"):
            fg.grad(f)(np.ones(3))


def test_second_and_third_order_through_control_flow():
    def f(x):
        y = x
        while abs(y * y - x) > 1e-12 * x:
            y = 0.5 * (y + x / y)
        return y * fnp.sin(x) if x > 1.0 else y
    x = 1.7
    value, d2 = fg.value_and_grad(fg.grad(f))(x)
    d3 = fg.grad(fg.grad(fg.grad(f)))(x)
    s, c = np.sin(x), np.cos(x)
    r = np.sqrt(x)
    want_d2 = -s * r - 0.25 * x ** -1.5 * s + c / r
    assert float(d2) == pytest.approx(want_d2, rel=1e-9)
    want_d3 = (-c * r - 0.5 * s / r - 0.25 * c * x ** -1.5 + 0.375 * s * x ** -2.5
               - s / r - 0.5 * c * x ** -1.5)
    assert float(d3) == pytest.approx(want_d3, rel=1e-9)
    assert float(value) == pytest.approx(0.5 * s / r + c * r, rel=1e-12)
