"""funcgrad.numpy shape and creation functions: traced values against NumPy, and derivatives.

Every case is a function ``case(m, x)`` written once for a module ``m``: NumPy gives the
expected value, ``funcgrad.numpy`` is evaluated on traced inputs (and eagerly). All the shape
functions are linear, so forward mode must map a tangent exactly as the function maps values,
and reverse mode must be its adjoint; ``check_grads`` checks both modes to second order too.
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import Tracer

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def traced(f, *args):
    """``f(*args)`` evaluated with its arguments traced (the forward pass of ``vjp``)."""
    return fg.vjp(f, *args)[0]


def assert_same(actual, expected):
    """Equal values, shapes and dtypes, leaf by leaf (lists and tuples of arrays too)."""
    actual_leaves, expected_leaves = fg.tree.leaves(actual), fg.tree.leaves(expected)
    assert len(actual_leaves) == len(expected_leaves)
    for a, e in zip(actual_leaves, expected_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, (a.shape, e.shape)
        assert a.dtype == e.dtype, (a.dtype, e.dtype)
        np.testing.assert_array_equal(a, e)


X23, X34, X234, X1312, X26 = rand(2, 3), rand(3, 4), rand(2, 3, 4), rand(1, 3, 1, 2), rand(2, 6)

CASES = {
    "reshape": (lambda m, x: m.reshape(x, (3, -1)), X26),
    "ravel": (lambda m, x: m.ravel(x), X23),
    "reshape_fortran": (lambda m, x: m.reshape(x, (-1, 2, 2), order="F"), X234),
    "ravel_fortran": (lambda m, x: m.ravel(x, order="F"), X234),
    "transpose": (lambda m, x: m.transpose(x, (1, 2, 0)), X234),
    "squeeze_all": (lambda m, x: m.squeeze(x), X1312),
    "squeeze_axis": (lambda m, x: m.squeeze(x, axis=2), X1312),
    "squeeze_tuple": (lambda m, x: m.squeeze(x, (0, -2)), X1312),
    "expand_dims": (lambda m, x: m.expand_dims(x, -1), X23),
    "expand_dims_tuple": (lambda m, x: m.expand_dims(x, (3, 0)), X23),
    "broadcast_to": (lambda m, x: m.broadcast_to(x[:, :1], (4, 2, 3)), X23),
    "broadcast_arrays": (lambda m, x: m.broadcast_arrays(x[:, :1], np.ones(5), x[0, 0]), X23),
    "moveaxis": (lambda m, x: m.moveaxis(x, 0, -1), X234),
    "moveaxis_tuple": (lambda m, x: m.moveaxis(x, (0, 1), (2, 0)), X234),
    "swapaxes": (lambda m, x: m.swapaxes(x, 0, 2), X234),
    "concatenate": (lambda m, x: m.concatenate([x, 2 * x[:1]], axis=0), X23),
    "concatenate_const": (lambda m, x: m.concatenate([np.ones((2, 1)), x], axis=-1), X23),
    "concatenate_none": (lambda m, x: m.concatenate([x, x[0]], axis=None), X23),
    "stack": (lambda m, x: m.stack([x, 3 * x], axis=1), X23),
    "stack_last": (lambda m, x: m.stack([x, np.zeros((2, 3))], axis=-1), X23),
    "hstack": (lambda m, x: m.hstack([x, x[:, :1]]), X23),
    "hstack_1d": (lambda m, x: m.hstack([x[0], x[1], np.ones(2)]), X23),
    "vstack": (lambda m, x: m.vstack([x[0], x]), X23),
    "dstack": (lambda m, x: m.dstack([x, x[:, :, None]]), X23),
    "column_stack": (lambda m, x: m.column_stack([x[0], x[1]]), X23),
    "split_sections": (lambda m, x: m.split(x, 3, axis=1), X26),
    "split_indices": (lambda m, x: m.split(x, [1, 4, 3, -1], axis=1), X26),
    "array_split": (lambda m, x: m.array_split(x, 4, axis=1), X26),
    "hsplit": (lambda m, x: m.hsplit(x, 2), X26),
    "vsplit": (lambda m, x: m.vsplit(x, [1]), X26),
    "tile_int": (lambda m, x: m.tile(x, 2), X23),
    "tile_tuple": (lambda m, x: m.tile(x, (2, 1, 2)), X23),
    "tile_fewer_reps": (lambda m, x: m.tile(x, (3,)), X234),
    "repeat_flat": (lambda m, x: m.repeat(x, 2), X23),
    "repeat_axis": (lambda m, x: m.repeat(x, 3, axis=0), X23),
    "repeat_array": (lambda m, x: m.repeat(x, [1, 0, 2], axis=-1), X23),
    "flip_all": (lambda m, x: m.flip(x), X234),
    "flip_axis": (lambda m, x: m.flip(x, 1), X234),
    "flip_tuple": (lambda m, x: m.flip(x, (0, -1)), X234),
    "fliplr": (lambda m, x: m.fliplr(x), X23),
    "flipud": (lambda m, x: m.flipud(x), X23),
    "roll_flat": (lambda m, x: m.roll(x, 2), X23),
    "roll_axis": (lambda m, x: m.roll(x, -1, 1), X23),
    "roll_tuple": (lambda m, x: m.roll(x, (1, 5), (0, 2)), X234),
    "roll_repeated_axis": (lambda m, x: m.roll(x, (1, 1), (1, 1)), X234),
    "diag_1d": (lambda m, x: m.diag(x[0]), X23),
    "diag_1d_offset": (lambda m, x: m.diag(x[1], -2), X23),
    "diag_2d": (lambda m, x: m.diag(x, 1), X34),
    "diagonal": (lambda m, x: m.diagonal(x), X234),
    "diagonal_offset": (lambda m, x: m.diagonal(x, 1, 1, 2), X234),
    "diagonal_reversed": (lambda m, x: m.diagonal(x, -1, 2, 0), X234),
    "diagonal_apart": (lambda m, x: m.diagonal(x, 0, 0, 2), X234),
    "trace": (lambda m, x: m.trace(x, 1), X34),
    "tril": (lambda m, x: m.tril(x), X34),
    "tril_batched": (lambda m, x: m.tril(x, -1), X234),
    "triu": (lambda m, x: m.triu(x, 1), X34),
    "triu_1d": (lambda m, x: m.triu(x[0]), X34),
    "atleast_2d": (lambda m, x: m.atleast_2d(x[0]), X23),
    "atleast_3d": (lambda m, x: m.atleast_3d(x, x[0]), X23),
    "take_axis": (lambda m, x: m.take(x, [2, 0, 2], axis=1), X23),
    "take_flat": (lambda m, x: m.take(x, [[0, 1], [5, -1]]), X23),
    "take_wrap": (lambda m, x: m.take(x, [7, -8, 1], axis=1, mode="wrap"), X34),
    "take_clip": (lambda m, x: m.take(x, [7, -8, 1], mode="clip"), X34),
}


@pytest.mark.parametrize("name", list(CASES))
def test_traced_value_matches_numpy(name):
    case, x = CASES[name]
    expected = case(np, x)
    assert_same(traced(lambda x: case(fnp, x), x), expected)
    assert_same(case(fnp, x), expected)   # eager: NumPy itself


@pytest.mark.parametrize("name", list(CASES))
def test_linear_derivatives_are_exact(name):
    case, x = CASES[name]
    t = rand(*x.shape)
    out, tangent = fg.jvp(lambda x: case(fnp, x), (x,), (t,))
    # Constants (the ones and zeros some cases join in) have a zero tangent.
    expected = fg.tree.leaves(fg.tree.map(lambda a, b: a - b, case(np, x + t), case(np, x)))
    assert len(fg.tree.leaves(tangent)) == len(expected)
    for got, want in zip(fg.tree.leaves(tangent), expected):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    cotangent = fg.tree.map(lambda o: rand(*np.shape(o)), out)
    (x_bar,) = fg.vjp(lambda x: case(fnp, x), x)[1](cotangent)
    lhs = sum(np.sum(c * d) for c, d in zip(fg.tree.leaves(cotangent), fg.tree.leaves(tangent)))
    np.testing.assert_allclose(np.sum(x_bar * t), lhs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["squeeze_tuple", "broadcast_to", "moveaxis_tuple",
                                  "concatenate", "stack", "split_indices", "tile_tuple",
                                  "repeat_array", "flip_tuple", "roll_tuple", "diag_1d_offset",
                                  "diagonal_reversed", "tril_batched", "triu_1d", "take_flat"])
def test_check_grads_second_order(name):
    case, x = CASES[name]

    def f(x):   # a nonlinear function of the result, so second derivatives are not zero
        return [fnp.sin(o) for o in fg.tree.leaves(case(fnp, x))]

    fg.check_grads(f, (x,), order=2)


@pytest.mark.parametrize("name", ["transpose", "split_sections", "repeat_array", "flip_all",
                                  "roll_axis", "diag_1d", "diagonal", "tril", "take_axis"])
def test_float32_stays_float32(name):
    case, x = CASES[name]
    x = x.astype(np.float32)
    out = traced(lambda x: case(fnp, x), x)
    assert all(np.asarray(o).dtype == np.float32 for o in fg.tree.leaves(out))
    assert_same(out, case(np, x))
    fg.check_grads(lambda x: fnp.sum(fnp.stack([fnp.sum(o ** 2) for o in
                                                fg.tree.leaves(case(fnp, x))])), (x,), order=2)
    g = fg.grad(lambda x: fnp.sum(fnp.stack([fnp.sum(o) for o in
                                             fg.tree.leaves(case(fnp, x))])))(x)
    assert g.dtype == np.float32


def test_hessian_through_shape_functions():
    x = rand(3, 3)

    def f(x):
        y = fnp.tril(fnp.roll(fnp.flip(x, 0), 1, axis=1)) + fnp.diag(fnp.diagonal(x) ** 2)
        return fnp.sum(fnp.tile(y, (2, 1)) ** 3)

    fg.check_grads(f, (x,), order=3, modes=("rev",))
    assert fg.hessian(f)(x).shape == (3, 3, 3, 3)


def test_roll_with_traced_shift():
    x = rand(3, 4)
    for shift in (-5, 0, 3, 6):
        assert_same(traced(lambda x, s: fnp.roll(x, s, 1), x, np.int64(shift)),
                    np.roll(x, shift, 1))
        assert_same(traced(lambda x, s: fnp.roll(x, s), x, np.int64(shift)), np.roll(x, shift))
    assert_same(traced(lambda x, s: fnp.roll(x, [s, 1, s], (0, 1, 0)), x, np.int64(2)),
                np.roll(x, [2, 1, 2], (0, 1, 0)))
    assert_same(traced(lambda x, s: fnp.roll(x, s, (1, 0)), x, np.array([3, -1])),
                np.roll(x, [3, -1], (1, 0)))
    fg.check_grads(lambda x, s: fnp.roll(x, s, 0) ** 2, (x, np.int64(2)), order=2)


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_take_with_traced_indices(mode):
    # The way to index a concrete array (no __getitem__ hook) with a traced index.
    table, x = rand(5, 2), rand(5, 2)
    indices = np.array([4, 0, 4]) if mode == "raise" else np.array([-7, 9, 2])
    assert_same(traced(lambda i: fnp.take(table, i, axis=0, mode=mode), indices),
                np.take(table, indices, axis=0, mode=mode))
    fg.check_grads(lambda x, i: fnp.take(x, i, axis=0, mode=mode) ** 2, (x, indices), order=2)


def test_shape_helpers_on_tracers():
    def f(x):
        assert fnp.shape(x) == (2, 3) and fnp.ndim(x) == 2 and fnp.size(x) == 6
        assert fnp.size(x, -1) == 3
        return x

    traced(f, X23)
    assert fnp.shape(X23) == (2, 3) and fnp.size(X23, 0) == 2


@pytest.mark.parametrize("call, error, words", [
    (lambda x: fnp.split(x, 4, axis=1), ValueError, "equal division"),
    (lambda x: fnp.split(x, 0), ValueError, "larger than 0"),
    (lambda x: fnp.squeeze(x, 0), ValueError, "squeeze"),
    (lambda x: fnp.squeeze(x, 5), np.exceptions.AxisError, "squeeze"),
    (lambda x: fnp.broadcast_to(x, (3, 6)), ValueError, "broadcast_to"),
    (lambda x: fnp.moveaxis(x, (0, 1), 0), ValueError, "moveaxis"),
    (lambda x: fnp.swapaxes(x, 0, 2), np.exceptions.AxisError, "swapaxes"),
    (lambda x: fnp.flip(x, (0, 0)), ValueError, "flip"),
    (lambda x: fnp.repeat(x, [1, 2]), ValueError, "repeat"),
    (lambda x: fnp.repeat(x, -1), ValueError, "repeat"),
    (lambda x: fnp.tile(x, (-1, 2)), ValueError, "tile"),
    (lambda x: fnp.diag(fnp.reshape(x, (2, 3, 2))), ValueError, "diag"),
    (lambda x: fnp.diagonal(x, 0, 1, -1), ValueError, "diagonal"),
    (lambda x: fnp.diagonal(x[0]), ValueError, "diagonal"),
    (lambda x: fnp.roll(x, (1, 2, 3), (0, 1)), ValueError, "roll"),
    (lambda x: fnp.roll(x, 1.5), TypeError, "roll"),
    (lambda x: fnp.take(x, [12]), IndexError, "take"),
    (lambda x: fnp.concatenate([x, x[0]]), ValueError, "concatenate"),
    (lambda x: fnp.stack([x, x[:1]]), ValueError, "stack"),
    (lambda x: fnp.vsplit(x[0], 2), ValueError, "vsplit"),
    (lambda x: fnp.transpose(x, (0, 2)), np.exceptions.AxisError, "transpose"),
    (lambda x: fnp.take(x, [0], mode="fast"), ValueError, "mode"),
])
def test_bad_input_raises_numpy_like_errors(call, error, words):
    with pytest.raises(error, match=words):
        traced(call, X26)


@pytest.mark.parametrize("call", [
    lambda x: fnp.repeat(x, fnp.sum(x > 0)),
    lambda x: fnp.diag(x, fnp.argmax(x)),
    lambda x: fnp.tile(x, fnp.argmax(x)),
    lambda x: fnp.reshape(x, (fnp.argmax(x) + 1, -1)),
    lambda x: fnp.broadcast_to(x, (fnp.argmax(x), x.size)),
    lambda x: fnp.sum(fnp.reshape(x, (2, 3)), axis=fnp.argmax(x) - 1),
])
def test_traced_shape_arguments_are_concretization_errors(call):
    # reshape's and broadcast_to's shapes and reductions' axes said "Python control flow
    # needs the truth value" or "iteration over a 0-d traced array"; now, as the others, the
    # argument that decides the shape and what to do (static_argnums under jit).
    with pytest.raises(fg.ConcretizationError, match="concrete int"):
        fg.make_ir(call)(X26[0])
    # Differentiating concrete inputs, an integer result is a number: NumPy's answer.
    assert_same(traced(call, X26[0]), call(X26[0]))


def test_an_axis_given_as_a_0d_array_is_numpy():
    # NumPy takes np.array(1) as an axis (its __index__); traced, it was "iteration over a 0-d
    # array", as was the concrete integer a function of differentiated inputs returns.
    np.testing.assert_allclose(fg.jit(lambda x: fnp.sum(x, axis=np.array(1)))(X23),
                               np.sum(X23, axis=1))
    gradient = fg.grad(lambda x: fnp.sum(fnp.max(x, axis=fnp.argmax(x[0]) * 0) ** 2))(X23)
    np.testing.assert_allclose(gradient, fg.grad(lambda x: fnp.sum(fnp.max(x, axis=0) ** 2))(X23))


# ------------------------------------------------------------------------------ creation

def test_creation_functions_are_numpy():
    assert_same(fnp.zeros((2, 3)), np.zeros((2, 3)))
    assert_same(fnp.ones(3, np.float32), np.ones(3, np.float32))
    assert_same(fnp.empty((2,), int), np.zeros((2,), int))
    assert_same(fnp.full((2, 2), 7, np.int32), np.full((2, 2), 7, np.int32))
    assert_same(fnp.eye(3, 4, 1), np.eye(3, 4, 1))
    assert_same(fnp.identity(2, np.float32), np.identity(2, np.float32))
    assert_same(fnp.arange(5), np.arange(5))
    assert_same(fnp.arange(1, 2, 0.25), np.arange(1, 2, 0.25))
    assert_same(fnp.arange(stop=3, dtype=np.float32), np.arange(3, dtype=np.float32))
    assert_same(fnp.linspace(0, 1, 5), np.linspace(0, 1, 5))
    assert_same(fnp.linspace(0, 1, 4, endpoint=False, retstep=True),
                np.linspace(0, 1, 4, endpoint=False, retstep=True))
    assert_same(fnp.array([[1, 2], [3, 4]], ndmin=3), np.array([[1, 2], [3, 4]], ndmin=3))
    assert_same(fnp.asarray([1.0, 2.0], np.float32), np.asarray([1.0, 2.0], np.float32))
    assert_same(fnp.astype(np.arange(3), np.float32), np.arange(3).astype(np.float32))
    assert_same(fnp.full_like(X23, 2), np.full_like(X23, 2))
    assert_same(fnp.zeros_like(X23, dtype=int), np.zeros_like(X23, dtype=int))


def test_like_functions_of_a_tracer_are_concrete():
    def f(x):
        for made, value in [(fnp.zeros_like(x), 0.0), (fnp.ones_like(x), 1.0),
                            (fnp.empty_like(x), 0.0), (fnp.full_like(x, 2.5), 2.5)]:
            assert not isinstance(made, Tracer)
            assert_same(made, np.full((2, 3), value, np.float32))
        assert_same(fnp.zeros_like(x, dtype=int, shape=4), np.zeros(4, int))
        assert_same(fnp.ones_like([x[0], x[1]]), np.ones((2, 3), np.float32))
        return x

    traced(f, X23.astype(np.float32))


def test_full_with_a_traced_fill_value():
    x = rand(3)
    assert_same(traced(lambda x: fnp.full((2, 3), x), x), np.full((2, 3), x))
    assert_same(traced(lambda x: fnp.full((2, 3), x[1], np.float32), x),
                np.full((2, 3), x[1], np.float32))
    assert_same(traced(lambda x: fnp.full_like(np.ones((2, 2), int), x[0] * 10), x),
                np.full_like(np.ones((2, 2), int), x[0] * 10))
    assert_same(traced(lambda x: fnp.full_like(x, x[0]), x), np.full_like(x, x[0]))
    np.testing.assert_allclose(fg.grad(lambda x: fnp.sum(fnp.full((2, 3), x[1])))(x), [0, 6, 0])
    fg.check_grads(lambda x: fnp.full((4, 3), x) * fnp.full_like(x, x[2]), (x,), order=2)
    with pytest.raises(ValueError, match="full"):
        traced(lambda x: fnp.full((2, 2), x), x)


def test_array_and_asarray_of_tracers():
    x = rand(2, 3)
    assert_same(traced(lambda x: fnp.array([x[0, 0], 2.0, x[1, 2]]), x),
                np.array([x[0, 0], 2.0, x[1, 2]]))
    assert_same(traced(lambda x: fnp.asarray([[x[0, 0], 1], (x[1, 1], x[0, 1])]), x),
                np.asarray([[x[0, 0], 1], (x[1, 1], x[0, 1])]))
    assert_same(traced(lambda x: fnp.array([x[0], np.ones(3)], dtype=np.float32), x),
                np.array([x[0], np.ones(3)], dtype=np.float32))
    assert_same(traced(lambda x: fnp.array(x[0], ndmin=3), x), np.array(x[0], ndmin=3))
    assert_same(traced(lambda x: fnp.asarray(x, np.float32), x), x.astype(np.float32))
    # NumPy's dtype rule for lists: a Python float beside float32 makes float64.
    x32 = x.astype(np.float32)
    assert_same(traced(lambda x: fnp.array([x[0, 0], 2.0]), x32), np.array([x32[0, 0], 2.0]))
    assert_same(traced(lambda x: fnp.array([x[0, 0], x[0, 1]]), x32), x32[0, :2])

    def passes_through(x):
        assert fnp.asarray(x) is x and fnp.array(x) is x
        return x

    traced(passes_through, x)
    fg.check_grads(lambda x: fnp.array([[x[0, 0] * x[1, 1], 1.0], [x[0, 2], x[1, 0] ** 2]]),
                   (x,), order=2)
    with pytest.raises(ValueError, match="array"):
        traced(lambda x: fnp.array([x[0], x[0, :2]]), x)


def test_astype_traced():
    x = rand(3)
    assert_same(traced(lambda x: fnp.astype(x, np.float32), x), x.astype(np.float32))
    assert_same(traced(lambda x: fnp.astype(x * 3, np.int32), x), (x * 3).astype(np.int32))
    g = fg.grad(lambda x: fnp.sum(fnp.astype(x, np.float32) ** 2))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda x: fnp.arange(fnp.argmax(x)),
    lambda x: fnp.arange(0.0, x[0], 0.1),
    lambda x: fnp.linspace(0.0, 1.0, fnp.argmax(x)),   # traced endpoints are fine; num is not
    lambda x: fnp.zeros((fnp.argmax(x), 2)),
    lambda x: fnp.eye(fnp.argmax(x)),
])
def test_creation_with_traced_shape_is_a_concretization_error(call):
    with pytest.raises(fg.ConcretizationError, match="concrete"):
        fg.make_ir(call)(rand(3))


def test_creation_with_an_integer_result_of_concrete_inputs_is_numpy():
    # Differentiating concrete inputs, argmax is a number (it has no derivative).
    x = rand(3)
    for call in (lambda x: fnp.arange(fnp.argmax(x)), lambda x: fnp.eye(fnp.argmax(x)),
                 lambda x: fnp.zeros((fnp.argmax(x), 2))):
        assert_same(traced(call, x), call(x))
