"""Eager reverse mode through loops: ``scan_p.eager_vjp`` and ``while_p.eager_vjp``.

Under ``grad`` of concrete values a loop's impl keeps each step's forward values (a tape, see
``funcgrad/ops/control.py``) and its ``eager_vjp`` pulls back through a backward step traced
on them. Its numbers must be the traced rule's (``_scan_vjp``, ``_while_vjp``) bit for bit:
each test computes the derivative both ways (``EAGER_RULES`` off gives the traced rules) and
against central differences, and checks that the eager rule ran and what it kept is freed.
"""
import gc
import importlib

import numpy as np
import pytest
from test_jit_loops import _pendulum  # RK4 of a driven damped pendulum in a fori_loop

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import control as ctl

vjp_module = importlib.import_module("funcgrad.transforms.vjp")   # the name vjp is a function

RNG = np.random.default_rng(11)


@pytest.fixture
def eager_calls(monkeypatch):
    """Counts of the eager rules' runs, and of those that found the impl's tape."""
    counts = {"scan": 0, "while": 0, "tape": 0}
    for name, prim in (("scan", ctl.scan_p), ("while", ctl.while_p)):
        rule = prim.eager_vjp

        def counting(*args, _rule=rule, _name=name, **params):
            counts[_name] += 1
            return _rule(*args, **params)
        monkeypatch.setattr(prim, "eager_vjp", counting)
    kept_tape = ctl._kept_tape

    def counting_tape(*args):
        found = kept_tape(*args)
        counts["tape"] += found is not None
        return found
    monkeypatch.setattr(ctl, "_kept_tape", counting_tape)
    return counts


def _traced(fn, *args):
    """``fn(*args)`` with the traced reverse rules (``linearize`` without ``eager_vjp``)."""
    saved, vjp_module.EAGER_RULES = vjp_module.EAGER_RULES, False
    try:
        return fn(*args)
    finally:
        vjp_module.EAGER_RULES = saved


def _assert_identical(got, want):
    got, want = fg.tree.leaves(got), fg.tree.leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def _central_grad(fn, args, argnum, eps=1e-6):
    """The gradient of scalar ``fn`` in argument ``argnum`` by central differences."""
    x = np.asarray(args[argnum], float)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        plus = fn(*args[:argnum], up, *args[argnum + 1:])
        minus = fn(*args[:argnum], down, *args[argnum + 1:])
        out[index] = (float(plus) - float(minus)) / (2 * eps)
    return out


def _check(fn, args, argnums, counts, rule="scan", rtol=1e-6, central=True):
    """The eager gradient equals the traced one bit for bit and (with ``central``) central
    differences."""
    before = counts[rule]
    eager = fg.grad(fn, argnums=argnums)(*args)
    assert counts[rule] > before, "the eager rule did not run"
    _assert_identical(eager, _traced(fg.grad(fn, argnums=argnums), *args))
    for argnum, got in zip(argnums, eager if central else ()):
        np.testing.assert_allclose(got, _central_grad(fn, args, argnum), rtol=rtol, atol=1e-8)
    assert not ctl._tapes
    return eager


# ------------------------------------------------------------------------------------ scan

def _rnn(w, u, b, h0, xs, reverse=False):
    """A tanh RNN: constants (closed-over arrays), xs, ys, and an integer counter carry."""
    def step(carry, x):
        h, count = carry
        h = fnp.tanh(x @ w + h @ u + b)
        return (h, count + 1), {"sq": fnp.sum(h * h), "h": h}

    (h, count), ys = fg.scan(step, (h0, 0), xs, reverse=reverse)
    return fnp.sum(ys["sq"]) + fnp.sum(h) + 0.1 * fnp.sum(ys["h"][1]) + 0.0 * count


def _rnn_args(dtype=np.float64):
    return tuple(a.astype(dtype) for a in (
        RNG.normal(size=(3, 4)) / 2, RNG.normal(size=(4, 4)) / 2, RNG.normal(size=4) / 5,
        RNG.normal(size=(2, 4)), RNG.normal(size=(5, 2, 3))))


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_scan_gradients_in_every_operand(reverse, eager_calls):
    args = _rnn_args()
    _check(lambda *a: _rnn(*a, reverse=reverse), args, (0, 1, 2, 3, 4), eager_calls)
    assert eager_calls["tape"] == eager_calls["scan"]   # the forward steps ran once


def test_scan_gradients_of_some_operands_only(eager_calls):
    args = _rnn_args()
    for argnums in ((1,), (4,), (0, 3)):
        _check(_rnn, args, argnums, eager_calls)


def test_scan_float32_keeps_its_dtype_and_the_traced_numbers(eager_calls):
    args = _rnn_args(np.float32)
    eager = fg.grad(_rnn, argnums=(0, 1, 2))(*args)
    assert all(g.dtype == np.float32 for g in eager)
    _assert_identical(eager, _traced(fg.grad(_rnn, argnums=(0, 1, 2)), *args))


def test_scan_value_and_grad_and_vjp_give_the_traced_values(eager_calls):
    args = _rnn_args()
    eager = fg.value_and_grad(_rnn, argnums=(0, 1))(*args)
    _assert_identical(eager, _traced(fg.value_and_grad(_rnn, argnums=(0, 1)), *args))

    def ys(w, xs):
        return fg.scan(lambda c, x: (fnp.sin(c * w) + x, c * x), 0.5, xs)

    xs = RNG.normal(size=4)
    cotangent = (1.5, RNG.normal(size=4))
    out, pullback = fg.vjp(ys, 0.7, xs)
    first, second = pullback(cotangent), pullback(cotangent)   # the tape serves twice
    _assert_identical(first, second)
    traced = _traced(lambda: fg.vjp(ys, 0.7, xs)[1](cotangent))
    _assert_identical(first, traced)


def test_scan_where_a_carry_does_not_reach_the_next_step(eager_calls):
    # The new carry ignores the old one (a zero carry cotangent is made each step), a y is
    # a constant, and a carry is passed through untouched.
    def f(w, xs):
        def step(carry, x):
            a, b = carry
            return (fnp.sin(x * w), b), (a * w, fnp.ones(2))
        (a, b), (ys, ones) = fg.scan(step, (0.0, 2.0 * w), xs)
        return a + b + fnp.sum(ys) + fnp.sum(ones)

    _check(f, (0.8, RNG.normal(size=6)), (0, 1), eager_calls)


def test_scan_with_stop_gradient_and_a_retain_grad_mark_inside(eager_calls):
    def f(w, xs):
        def step(c, x):
            c = fg.retain_grad(c * w + x, "inner")
            return c + fg.stop_gradient(fnp.sin(c)), c * c
        c, ys = fg.scan(step, 0.3, xs)
        return c + fnp.sum(ys)

    # (stop_gradient: not the function's derivative, so no central differences)
    _check(f, (0.9, RNG.normal(size=5)), (0, 1), eager_calls, central=False)
    with pytest.raises(ValueError, match="inside the body"):
        fg.grad(f, retained=True)(0.9, RNG.normal(size=5))


def test_scan_of_length_zero_and_one(eager_calls):
    def f(w, xs):
        return fg.scan(lambda c, x: (c * w + x, c * x), 1.5, xs)[0] * w

    for n in (0, 1):
        xs = RNG.normal(size=n)
        eager = fg.grad(f, argnums=(0, 1))(0.8, xs)
        _assert_identical(eager, _traced(fg.grad(f, argnums=(0, 1)), 0.8, xs))
    assert eager_calls["scan"] == 2


def test_nested_scans(eager_calls):
    def f(w, xs):
        def outer(c, row):
            inner, ys = fg.scan(lambda d, x: (fnp.cos(d * w) + x, d), c, row)
            return inner, fnp.sum(ys)
        c, ys = fg.scan(outer, 0.2, xs)
        return c + fnp.sum(ys)

    _check(f, (1.1, RNG.normal(size=(3, 4))), (0, 1), eager_calls)


def test_scan_with_cond_and_print_inside(eager_calls, capsys):
    def f(w, xs):
        def step(c, x):
            fg.debug.print("c={c}", c=c)
            return fg.cond(x > 0, lambda c: c * w, lambda c: fnp.sin(c) + w, c), None
        return fg.scan(step, 0.4, xs)[0]

    xs = np.array([0.5, -1.0, 2.0])
    capsys.readouterr()
    eager = fg.grad(f, argnums=(0, 1))(1.3, xs)
    assert capsys.readouterr().out.count("c=") == len(xs)   # printed as the loop ran, once
    _assert_identical(eager, _traced(fg.grad(f, argnums=(0, 1)), 1.3, xs))


def test_second_derivatives_through_a_scan(eager_calls):
    # The inner grad differentiates traced values (its rule is the traced one, recording
    # scans); the outer grad pulls back through those eagerly.
    def f(w, xs):
        return fg.scan(lambda c, x: (fnp.tanh(c * w + x), c * c), 0.1, xs)[0]

    xs = RNG.normal(size=4)
    w = 0.9
    hessian = fg.grad(fg.grad(f))(w, xs)
    assert eager_calls["scan"] >= 1
    _assert_identical(hessian, _traced(fg.grad(fg.grad(f)), w, xs))
    step = 1e-5
    central = (fg.grad(f)(w + step, xs) - fg.grad(f)(w - step, xs)) / (2 * step)
    np.testing.assert_allclose(hessian, central, rtol=1e-6)
    full = fg.hessian(lambda v: f(v[0], v[1:]))(np.concatenate([[w], xs]))
    np.testing.assert_allclose(full[0, 0], hessian, rtol=1e-12)
    assert not ctl._tapes


# ------------------------------------------------------------------------ fori and while

def test_fori_loop_gradients(eager_calls):
    start = (np.array([9.8, 0.3, 0.5]), np.array([1.0, 0.0]))
    _check(lambda p, s: _pendulum(p, s, steps=20), start, (0, 1), eager_calls)
    assert eager_calls["tape"] == eager_calls["scan"]


def _growth(x, w):
    """A loop whose trip count depends on the input, with an integer counter."""
    def body(state):
        v, k, total = state
        v = v * w + fnp.sin(v)
        return v, k + 1, total + fnp.sum(v)
    return fg.while_loop(lambda s: s[2] < 20.0, body, (x, 0, 0.0))[2]


def test_while_loop_gradients(eager_calls):
    args = (np.array([0.3, 0.5]), 1.2)
    _check(_growth, args, (0, 1), eager_calls, rule="while")
    assert eager_calls["tape"] == eager_calls["while"]
    out, pullback = fg.vjp(_growth, *args)
    _assert_identical(pullback(2.0), _traced(lambda: fg.vjp(_growth, *args)[1](2.0)))


def test_while_loop_with_no_trip_and_second_derivatives(eager_calls):
    x = np.array([30.0, 1.0])   # the condition fails at once: the carry is the gradient's path
    _assert_identical(fg.grad(_growth, argnums=(0, 1))(x, 1.2),
                      _traced(fg.grad(_growth, argnums=(0, 1)), x, 1.2))

    def newton(a):
        return fg.while_loop(lambda s: fnp.abs(s * s - a) > 1e-12, lambda s: 0.5 * (s + a / s),
                             a)

    second = fg.grad(fg.grad(newton))(2.0)
    _assert_identical(second, _traced(fg.grad(fg.grad(newton)), 2.0))
    assert second == pytest.approx(-0.25 * 2.0 ** -1.5, rel=1e-8)


# ------------------------------------------------------------------------------- the tape

def test_the_tape_lives_as_long_as_the_loop_output():
    def f(w):
        return fg.scan(lambda c, x: (c * w + x, c), 0.0, np.arange(4.0))

    out, pullback = fg.vjp(f, 0.5)
    assert len(ctl._tapes) == 1
    del pullback
    gc.collect()
    assert len(ctl._tapes) == 1   # the user holds the ys, and so the tape
    del out
    gc.collect()
    assert not ctl._tapes


def test_no_tape_outside_reverse_mode():
    w = 0.5
    fg.scan(lambda c, x: (c * w + x, c), 0.0, np.arange(4.0))
    fg.jvp(lambda w: fg.scan(lambda c, x: (c * w + x, c), 0.0, np.arange(4.0))[1], (w,),
           (1.0,))
    assert not ctl._tapes


def _rule_operands(fn, *args):
    """The ``(primitive, operands, params)`` of the loop equation in ``fg.make_ir(fn)``, the
    operands as the numbers ``args`` give them."""
    ir = fg.make_ir(fn)(*args)
    eqn = next(e for e in ir.eqns if e.primitive in (ctl.scan_p, ctl.while_p))
    values = dict(zip(ir.invars, [np.asarray(a) for a in args]))
    return eqn.primitive, [values[a] if a in values else a.val for a in eqn.inputs], eqn.params


@pytest.mark.parametrize("loop", ["scan", "while"])
def test_the_rules_on_a_loop_run_outside_reverse_mode(loop):
    # A loop whose impl kept no tape: the eager rule runs its steps again, quietly, and gives
    # the traced rule's numbers.
    xs = RNG.normal(size=5)
    if loop == "scan":
        prim, operands, params = _rule_operands(
            lambda w, xs: fg.scan(lambda c, x: (fnp.sin(c) * w + x, c * x), 0.2, xs), 0.7, xs)
    else:
        prim, operands, params = _rule_operands(
            lambda w, x: fg.while_loop(lambda s: s[1] < 6, lambda s: (fnp.sin(s[0]) * w, s[1] + 1),
                                       (x, 0)), 0.7, xs)
    ans = prim.impl(*operands, **params)
    assert not ctl._tapes
    g = [np.ones_like(a) if np.asarray(a).dtype.kind == "f" else np.zeros_like(a) for a in ans]
    needs = (True,) * len(operands)
    eager = prim.eager_vjp(needs, g, ans, *operands, **params)
    traced = prim.vjp(needs, g, ans, *operands, **params)
    assert [c is None for c in eager] == [c is None for c in traced]
    _assert_identical([c for c in eager if c is not None], [c for c in traced if c is not None])


def test_the_backward_step_is_traced_once_for_a_body_traced_again():
    ctl._backward_steps.clear()
    args = _rnn_args()
    first = fg.grad(_rnn, argnums=(0, 1))(*args)
    assert len(ctl._backward_steps) == 1
    second = fg.grad(_rnn, argnums=(0, 1))(*args)   # the body is traced again: same structure
    assert len(ctl._backward_steps) == 1
    _assert_identical(first, second)
    fg.grad(_rnn, argnums=(4,))(*args)   # other wanted operands: another backward step
    assert len(ctl._backward_steps) == 2
    shifted = (args[0], args[1], args[2] + 1.0, args[3], args[4])   # other numbers, same step
    _assert_identical(fg.grad(_rnn, argnums=(0, 1))(*shifted),
                      _traced(fg.grad(_rnn, argnums=(0, 1)), *shifted))
    assert len(ctl._backward_steps) == 2


def test_bodies_that_differ_in_a_literal_or_a_shape_get_their_own_backward_step():
    def f(w, xs, scale):
        return fg.scan(lambda c, x: (fnp.sin(c * w) * scale + fnp.sum(x), None), 0.1, xs)[0]

    ctl._backward_steps.clear()
    xs = RNG.normal(size=3)
    for scale in (2.0, 3.0):
        _assert_identical(fg.grad(f)(0.7, xs, scale), _traced(fg.grad(f), 0.7, xs, scale))
    rows = RNG.normal(size=(3, 2))
    _assert_identical(fg.grad(f)(0.7, rows, 2.0), _traced(fg.grad(f), 0.7, rows, 2.0))
    assert len(ctl._backward_steps) == 3


def test_a_loop_inside_a_loop_body_keeps_no_tape(eager_calls, monkeypatch):
    kept = []
    keep_tape = ctl._keep_tape
    monkeypatch.setattr(ctl, "_keep_tape", lambda outs, *rest: kept.append(len(outs))
                        or keep_tape(outs, *rest))

    def f(w, xs):
        def outer(c, row):
            return fg.scan(lambda d, x: (fnp.cos(d * w) + x, None), c, row)[0], None
        return fg.scan(outer, 0.2, xs)[0]

    xs = RNG.normal(size=(3, 4))
    _assert_identical(fg.grad(f, argnums=(0, 1))(1.1, xs),
                      _traced(fg.grad(f, argnums=(0, 1)), 1.1, xs))
    assert kept == [1, 1]   # the outer loop's, once per grad: none per outer step


def test_a_body_with_a_sub_program_is_not_cached():
    # An inner loop's body is a new program at every trace: no entry that no call would meet.
    ctl._backward_steps.clear()

    def f(w, xs):
        def outer(c, row):
            return fg.scan(lambda d, x: (fnp.sin(d * w) + x, None), c, row)[0], None
        return fg.scan(outer, 0.2, xs)[0]

    xs = RNG.normal(size=(2, 3))
    first = fg.grad(f)(0.4, xs)
    _assert_identical(fg.grad(f)(0.4, xs), first)
    assert len(ctl._backward_steps) == 0
