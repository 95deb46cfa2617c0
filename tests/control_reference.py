"""Control-flow rows of the primitive table (tests/test_primitives.py): each binds ``cond``,
``scan`` or ``while`` through the user functions (or ``host_call`` directly), beside a
plain-NumPy reference loop.

Every row returns one array, so that the vmap and jit tables can stack and compare it.
"""
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.aval import ShapedArray
from funcgrad.ops.custom import Rule
from funcgrad.ops.host import host_call


def cond_row(p, x):
    """Branch on the sign of ``p``; both branches close over ``p`` (a hoisted constant)."""
    return fg.cond(p > 0, lambda x: fnp.sin(x) * p, lambda x: fnp.cos(x) - x * p, x)


def cond_reference(p, x):
    return (np.sin(x) * p if p > 0 else np.cos(x) - x * p)[()]


def _step(c, x):
    c = c * fnp.tanh(x) + 0.5 * fnp.sin(c)
    return c, c * x


def scan_row(c, xs, reverse=False):
    """A nonlinear recurrence over the leading axis of ``xs``; the output uses both the
    stacked ``y``s and the final carry."""
    carry, ys = fg.scan(_step, c, xs, reverse=reverse)
    return ys * carry


def scan_reference(c, xs, reverse=False):
    ys = [None] * len(xs)
    for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
        c = c * np.tanh(xs[i]) + 0.5 * np.sin(c)
        ys[i] = c * xs[i]
    return np.stack(ys) * c


def while_row(x):
    """How many times ``|x| + 0.5`` must grow by half before its sum reaches 8: an integer
    output (no derivative), a floating carry (a tangent flows through it in forward mode)."""
    def body(state):
        n, y = state
        return n + 1, y * 1.5

    n, _ = fg.while_loop(lambda state: fnp.sum(state[1]) < 8.0, body,
                         (np.int64(0), fnp.abs(x) + 0.5))
    return n


def while_reference(x):
    y, n = np.abs(x) + 0.5, 0
    while np.sum(y) < 8.0:
        n, y = n + 1, y * 1.5
    return np.int64(n)


def while_float_row(x):
    """Four steps of ``y -> sin(y) * 1.5 + y * 0.5`` counted by an integer carry: a floating
    output, differentiated in both modes (reverse mode counts the trips on concrete inputs)."""
    def body(state):
        n, y = state
        return n + 1, fnp.sin(y) * 1.5 + y * 0.5

    return fg.while_loop(lambda state: state[0] < 4, body, (np.int64(0), x))[1]


def while_float_reference(x):
    y = x
    for _ in range(4):
        y = np.sin(y) * 1.5 + y * 0.5
    return y


# host_call: a function of arrays run when the program runs, with two results (both used).
_SINE_AND_SQUARE = Rule(lambda x, y: [fnp.sin(x) * y, x * x], "sine and square")


def host_row(x, y):
    aval = ShapedArray(np.broadcast_shapes(np.shape(x), np.shape(y)), np.result_type(x, y))
    product, square = host_call(_SINE_AND_SQUARE, [x, y], [aval, ShapedArray(np.shape(x),
                                                                             aval.dtype)])
    return product + square


def host_reference(x, y):
    return np.sin(x) * y + x * x
