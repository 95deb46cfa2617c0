"""``jit``'s hoisting of matrix products out of ``scan`` bodies (transforms/loop_hoisting.py):
the rewritten programs give the loops' numbers (to float rounding), and the products they
move really leave the loop. Programs are run through the IR interpreter (no numba compile)
except one, which checks that the native code takes the rewritten program."""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.ir import dead_code_elimination, typecheck
from funcgrad.core.trace import eval_ir
from funcgrad.ops.contraction import einsum_p
from funcgrad.ops.control import merge_scans, scan_p
from funcgrad.transforms.loop_hoisting import fold_sums_into_products, hoist_out_of_scans

RNG = np.random.default_rng(5)


def _rnn_loss(w, u, b, h0, xs):
    def step(h, x_t):
        h = fnp.tanh(x_t @ w + h @ u + b)
        return h, fnp.sum(h * h)
    h, squares = fg.scan(step, h0, xs)
    return fnp.sum(squares) + fnp.sum(h)


def _rnn_args(length=7, dtype=np.float64):
    return tuple(a.astype(dtype) for a in (
        RNG.normal(size=(3, 5)) / 2, RNG.normal(size=(5, 5)) / 3, RNG.normal(size=5) / 4,
        RNG.normal(size=(4, 5)), RNG.normal(size=(length, 4, 3))))


def _programs(fun, args):
    """The traced program as jit gets it before hoisting, and after."""
    ir = merge_scans(fg.make_ir(fun)(*args))
    hoisted = dead_code_elimination(hoist_out_of_scans(ir))
    typecheck(hoisted)
    return ir, hoisted


def _scans(ir):
    return [e for e in ir.eqns if e.primitive is scan_p]


def _einsums(ir):
    return [e for e in ir.eqns if e.primitive is einsum_p]


def _assert_same(ir, hoisted, args, rtol=1e-12):
    for want, got in zip(eval_ir(ir, list(args)), eval_ir(hoisted, list(args))):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("length", [7, 1, 0])
def test_rnn_gradient_products_leave_the_loops(length):
    args = _rnn_args(length)
    fun = fg.value_and_grad(_rnn_loss, argnums=(0, 1, 2))
    ir, hoisted = _programs(fun, args)
    _assert_same(ir, hoisted, args)
    forward, backward = _scans(hoisted)
    # Forward: x_t @ w for every step at once before the loop; h @ u stays (it reads h).
    assert len(_einsums(forward.params["body"])) == 1
    # Backward: only the carry's product stays; the weights' cotangents are one product
    # each over all the steps (the step axis contracted) after the loop, and no carry holds
    # them any more.
    assert len(_einsums(backward.params["body"])) == 1
    assert backward.params["num_carry"] == 1
    after = _einsums(hoisted)
    assert len(after) >= 3 and sum(
        len(e.params["spec"].split("->")[1]) == 2 and e.inputs[0].aval.ndim == 3
        for e in after) == 2


def test_reverse_scans_nonzero_accumulators_and_constant_contributions():
    w = RNG.normal(size=(3, 3))
    xs = RNG.normal(size=(6, 2, 3))
    start = RNG.normal(size=(3, 3))

    def fun(w, xs, start):
        def step(carry, x):
            h, acc, fixed = carry
            h = fnp.sin(h @ w + x)
            # acc: an accumulator of a per-step product; fixed: of a constant product
            return (h, acc + x.T @ h, fixed + w @ w), fnp.sum(h)
        (h, acc, fixed), ys = fg.scan(step, (xs[0], start, start), xs, reverse=True)
        return h, acc, fixed, ys

    args = (w, xs, start)
    ir, hoisted = _programs(fun, args)
    _assert_same(ir, hoisted, args)
    (scan,) = _scans(hoisted)
    assert scan.params["num_carry"] == 1 and scan.params["reverse"]


def test_scans_without_products_to_move_are_left_alone():
    def counter(x):
        def step(c, v):   # no matrix product; the accumulator is read by the ys too
            return c + v, c * 2.0
        return fg.scan(step, 0.0, x)

    ir = fg.make_ir(counter)(np.arange(4.0))
    assert hoist_out_of_scans(ir) is ir

    def printing(w, xs):
        def step(acc, x):
            fg.debug.print("{}", x[0, 0])
            return acc + x.T @ x, None
        return fg.scan(step, w, xs)[0]

    ir = fg.make_ir(printing)(np.zeros((2, 2)), np.ones((3, 2, 2)))
    assert hoist_out_of_scans(ir) is ir


def test_sums_of_batched_products_fold_into_one_product():
    x, y = RNG.normal(size=(5, 4, 3)), RNG.normal(size=(5, 4, 2))
    ir = fg.make_ir(lambda x, y: fnp.sum(fnp.einsum("tbi,tbj->tij", x, y), axis=0))(x, y)
    folded = fold_sums_into_products(ir)
    assert [e.primitive for e in folded.eqns] == [einsum_p]
    assert folded.eqns[0].params["spec"] == "tbi,tbj->ij"
    np.testing.assert_allclose(eval_ir(folded, [x, y])[0], np.einsum("tbi,tbj->ij", x, y),
                               rtol=1e-13)


def test_jit_runs_the_hoisted_rnn_natively():
    args = _rnn_args(5, np.float32)
    fun = fg.value_and_grad(_rnn_loss, argnums=(0, 1, 2))
    jitted = fg.jit(fun)
    jitted.compile(*args)
    assert jitted.is_compiled(*args)
    (backward,) = [e for e in _scans(jitted.ir(*args)) if e.params["reverse"]]
    assert len(_einsums(backward.params["body"])) == 1
    want = fun(*args)
    for got, expected in zip(fg.tree.leaves(jitted(*args)), fg.tree.leaves(want)):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)
