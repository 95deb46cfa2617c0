"""Indexing of traced arrays (one ``gather``) and functional updates ``x.at[idx].set/add``."""
import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import Tracer
from funcgrad.numpy._indexing import at

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4, 2))
MASK_ROWS = np.array([True, False, True])
MASK_2D = X[:, :, 0] > 0


def traced(f, *args):
    """``f(*args)`` evaluated with its arguments traced (the forward pass of ``vjp``)."""
    return fg.vjp(f, *args)[0]


def assert_same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    np.testing.assert_array_equal(actual, expected)


# Each index works on a NumPy array and on a traced one alike.
INDICES = {
    "int": (1,),
    "negative_int": (-1, 2),
    "three_ints": (1, -2, 0),
    "slice": (slice(1, None),),
    "slice_step": (slice(None), slice(None, None, 2)),
    "negative_step": (slice(None, None, -1),),
    "negative_step_bounds": (slice(None), slice(3, 0, -2), slice(1, None, -1)),
    "slice_out_of_range": (slice(-10, 10),),
    "empty_slice": (slice(None), slice(2, 2)),
    "newaxis": (None,),
    "newaxis_middle": (slice(None), None, 1),
    "ellipsis_last": (Ellipsis, 0),
    "ellipsis_first": (0, Ellipsis),
    "ellipsis_newaxis": (1, Ellipsis, None, slice(None, None, -1)),
    "int_list": ([0, 2],),
    "int_array_2d": (np.array([[0, 1], [2, 2]]),),
    "negative_int_array": ([-1, 0, -1],),
    "array_second_axis": (slice(None), [3, 0, 3]),
    "two_arrays_adjacent": (slice(None), [0, 1, 3], [1, 0, 1]),
    "two_arrays_apart": ([0, 2], slice(None), [1, 0]),
    "arrays_broadcast": ([[0], [2]], [1, 3]),
    "array_and_int_apart": ([0, 2], slice(None), 1),
    "mixed_basic_advanced": (slice(1, None), [0, 2], slice(None, None, -1)),
    "newaxis_array": (None, [0, 2], 1),
    "ellipsis_array": (Ellipsis, [1, 0, 1]),
    "array_ellipsis_int": ([0, 2], Ellipsis, 1),
    "zero_d_array": (np.array(2),),
    "empty_list": ([],),
    "mask_rows": (MASK_ROWS,),
    "mask_list": (slice(None), [True, False, False, True]),
    "mask_2d": (MASK_2D,),
    "mask_2d_and_int": (MASK_2D, 1),
    "mask_after_ellipsis": (Ellipsis, np.array([False, True])),
    "scalar_true": (True,),
    "scalar_false": (False,),
    "scalar_bool_with_array": ([0, 2], True),
    "scalar_bool_after_ellipsis": ([0, 2], Ellipsis, True),
    "everything": (),
}


def _key(index):
    return index[0] if len(index) == 1 else index


@pytest.mark.parametrize("name", list(INDICES))
def test_indexing_matches_numpy(name):
    key = _key(INDICES[name])
    assert_same(traced(lambda x: x[key], X), X[key])


@pytest.mark.parametrize("name", ["int", "negative_step_bounds", "newaxis_middle",
                                  "ellipsis_newaxis", "int_array_2d", "two_arrays_apart",
                                  "arrays_broadcast", "mixed_basic_advanced", "mask_2d_and_int",
                                  "scalar_bool_with_array", "empty_slice"])
def test_indexing_derivatives(name):
    key = _key(INDICES[name])
    fg.check_grads(lambda x: fnp.sin(x[key]), (X,), order=2)


def test_repeated_indices_accumulate_in_the_gradient():
    g = fg.grad(lambda x: fnp.sum(x[[0, 0, 2, 0]] ** 2))(X)
    expected = np.zeros_like(X)
    expected[0], expected[2] = 6 * X[0], 2 * X[2]
    np.testing.assert_allclose(g, expected)


def test_one_gather_per_index_expression():
    ir = str(fg.make_ir(lambda x: x[1:, None, [0, 2], ::-1])(X))
    assert ir.count("gather") == 1 and "[1:, None, <0>, ::-1]" in ir


def test_traced_integer_indices():
    i = np.array([2, 0, 2])
    assert_same(traced(lambda x, i: x[i], X, i), X[i])
    assert_same(traced(lambda x, i: x[1:, i[:2], 0], X, i), X[1:, i[:2], 0])
    assert_same(traced(lambda x, j: x[[j, 1], j], X, np.int64(2)), X[[2, 1], 2])
    # An index computed inside the function (argmax) and an offset window.
    assert_same(traced(lambda x: x[fnp.argmax(x[:, 0, 0])], X), X[np.argmax(X[:, 0, 0])])
    assert_same(traced(lambda x, j: x[fnp.arange(2) + j], X, np.int64(1)), X[1:3])
    fg.check_grads(lambda x, i: x[i, ::-1] ** 2, (X, i), order=2)


def test_iteration_and_len():
    def f(x):
        assert len(x) == 3
        return fnp.stack([row.sum() for row in x])

    assert_same(traced(f, X), X.sum(axis=(1, 2)))


def test_float32_stays_float32():
    x = X.astype(np.float32)
    for key in [(1, slice(None, None, -1)), ([0, 2], Ellipsis, 0), MASK_2D]:
        assert_same(traced(lambda x, key=key: x[key], x), x[key])
        g = fg.grad(lambda x, key=key: fnp.sum(x[key] ** 2))(x)
        assert g.dtype == np.float32
    fg.check_grads(lambda x: x[[0, 2], ::-1] ** 2, (x,), order=2)


@pytest.mark.parametrize("key, error, words", [
    ((3,), IndexError, "out of bounds"),
    ((0, -5), IndexError, "out of bounds"),
    (([0, 3],), IndexError, "out of bounds"),
    ((0, 0, 0, 0), IndexError, "too many indices"),
    ((Ellipsis, 0, Ellipsis), IndexError, "ellipsis"),
    ((1.5,), IndexError, "valid indices"),
    (("a",), IndexError, "valid indices"),
    ((np.array([0.5]),), IndexError, "integer"),
    ((slice(0.5, 2),), IndexError, "valid indices"),
    ((np.array([True, False]),), IndexError, "boolean index did not match"),
])
def test_bad_indices_raise_numpy_errors(key, error, words):
    with pytest.raises(error, match=words):
        traced(lambda x: x[_key(key)], X)


def test_traced_boolean_mask_is_a_concretization_error():
    with pytest.raises(fg.ConcretizationError, match="fnp.where") as info:
        fg.make_ir(lambda x: x[x > 0])(X)
    assert "test_indexing.py" in str(info.value)   # it points at the user's line
    # Differentiating concrete inputs, a comparison is a number (it has no derivative): the
    # mask selects as in NumPy (and PyTorch), and the gradient reaches the selected elements.
    assert_same(traced(lambda x: x[x > 0], X), X[X > 0])
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(x[x > 0] ** 2))(X),
                                  np.where(X > 0, 2 * X, 0))
    with pytest.raises(fg.ConcretizationError, match="slice"):
        fg.jit(lambda x, j: x[j:])(X, np.int64(1))
    # Under differentiation of concrete inputs a traced bound has its number: the path taken.
    assert_same(traced(lambda x, j: x[j:], X, np.int64(1)), X[1:])
    with pytest.raises(IndexError, match="integer"):
        traced(lambda x: x[x[0, 0]], X)


# --------------------------------------------------------------------------- .at[...] updates

def _numpy_set(x, key, v):
    out = x.copy()
    out[key] = v
    return out


def _numpy_add(x, key, v):
    out, v = x.copy(), np.asarray(v)
    while v.ndim > out[key].ndim and v.shape[0] == 1:   # as assignment, drop leading 1s
        v = v[0]
    np.add.at(out, key, v)
    return out


def update(x, key, method, v):
    """``x.at[key].set(v)`` / ``.add(v)`` on a traced ``x``; NumPy's own update on a concrete
    one (NumPy arrays have no ``.at``), so check_grads' central differences use NumPy."""
    if isinstance(x, Tracer):
        return getattr(x.at[key], method)(v)
    return (_numpy_set if method == "set" else _numpy_add)(x, key, v)


UPDATES = {
    "row": ((1,), RNG.standard_normal((4, 2))),
    "scalar_broadcast": ((slice(None), 2), 0.5),
    "row_broadcast": ((slice(None), slice(1, 3)), RNG.standard_normal(2)),
    "negative_step": ((slice(None, None, -1), 0, 1), RNG.standard_normal(3)),
    "int_array": (([2, 0], Ellipsis, 1), RNG.standard_normal((2, 4))),
    "arrays_apart": (([0, 2], slice(None), [1, 0]), RNG.standard_normal((2, 4))),
    "mask": ((MASK_2D,), RNG.standard_normal((int(MASK_2D.sum()), 2))),
    "newaxis": ((None, 1, 0), RNG.standard_normal((1, 2))),
    "scalar_true": ((True, 0), RNG.standard_normal((1, 4, 2))),
    "leading_ones": ((0,), RNG.standard_normal((1, 1, 2))),
}


@pytest.mark.parametrize("name", list(UPDATES))
@pytest.mark.parametrize("method", ["set", "add"])
def test_at_update_values(name, method):
    index, v = UPDATES[name]
    key = _key(index)
    numpy_update = _numpy_set if method == "set" else _numpy_add
    out = traced(lambda x, v: getattr(x.at[key], method)(v), X, v)
    assert_same(out, numpy_update(X, key, v))
    if not np.isscalar(v):   # an update that is itself traced
        out = traced(lambda x, v: getattr(x.at[key], method)(v * 1.0), X, v)
        assert_same(out, numpy_update(X, key, v))


@pytest.mark.parametrize("name", ["row", "scalar_broadcast", "row_broadcast", "negative_step",
                                  "arrays_apart",
                                  "mask", "scalar_true", "leading_ones"])
@pytest.mark.parametrize("method", ["set", "add"])
def test_at_update_derivatives_in_array_and_update(name, method):
    index, v = UPDATES[name]
    key = _key(index)
    fg.check_grads(lambda x, v: fnp.sin(update(x, key, method, v * v)), (X, v), order=2)


def test_at_add_with_repeated_indices():
    v = RNG.standard_normal(4)
    key = ([0, 1, 0, 0], 2, 1)
    out = traced(lambda x, v: x.at[key].add(v), X, v)
    assert_same(out, _numpy_add(X, key, v))
    gx, gv = fg.grad(lambda x, v: fnp.sum(x.at[key].add(v) ** 2), argnums=(0, 1))(X, v)
    y = _numpy_add(X, key, v)
    np.testing.assert_allclose(gx, 2 * y)
    np.testing.assert_allclose(gv, 2 * y[key])
    fg.check_grads(lambda x, v: update(x, key, "add", v ** 2) ** 2, (X, v), order=2)


def test_at_set_gradient_is_zero_where_overwritten():
    v = RNG.standard_normal((4, 2))
    gx, gv = fg.grad(lambda x, v: fnp.sum(x.at[1].set(v) * 3.0), argnums=(0, 1))(X, v)
    expected = np.full_like(X, 3.0)
    expected[1] = 0.0
    np.testing.assert_allclose(gx, expected)
    np.testing.assert_allclose(gv, np.full_like(v, 3.0))


def test_at_get_and_dtypes():
    x = X.astype(np.float32)
    assert_same(traced(lambda x: x.at[[2, 0], 1].get(), x), x[[2, 0], 1])
    # Updates are cast to the array's dtype: float32 stays float32.
    out = traced(lambda x, v: x.at[0, 0].set(v), x, np.float64(2.5))
    assert_same(out, _numpy_set(x, (0, 0), np.float32(2.5)))
    out = traced(lambda x: x.at[:, 1].add(np.arange(2)), x)
    assert_same(out, x + np.where(np.arange(4)[:, None] == 1, np.arange(2), 0).astype(np.float32))
    gx, gv = fg.grad(lambda x, v: fnp.sum(x.at[0].add(v) ** 2), argnums=(0, 1))(x, np.float64(1))
    assert gx.dtype == np.float32 and gv.dtype == np.float64
    n = traced(lambda x: fnp.arange(6).reshape(2, 3) + 0 * fnp.argmax(x), x)
    assert_same(traced(lambda x: (fnp.arange(6).reshape(2, 3) + 0 * fnp.argmax(x)).at[1].set(7.9),
                       x), np.array([[0, 1, 2], [7, 7, 7]]))
    assert n.dtype == np.int64


def test_at_is_functional():
    def f(x):
        y = x.at[0].set(0.0)
        return x, y

    x_out, y_out = traced(f, X)
    assert_same(x_out, X)
    assert_same(y_out, _numpy_set(X, 0, 0.0))


def test_at_update_errors():
    with pytest.raises(ValueError, match="could not broadcast"):
        traced(lambda x: x.at[0].set(np.ones(3)), X)
    with pytest.raises(IndexError, match="out of bounds"):
        traced(lambda x: x.at[5].add(1.0), X)
    with pytest.raises(fg.ConcretizationError, match="fnp.where"):
        fg.make_ir(lambda x: x.at[x > 0].set(0.0))(X)
    # With concrete inputs the mask is a number: NumPy's masked update.
    assert_same(traced(lambda x: x.at[x > 0].set(0.0), X), np.where(X > 0, 0.0, X))


# ---------------------------------------------------------- at(array): updates of NumPy arrays

@pytest.mark.parametrize("name", ["row", "scalar_broadcast", "arrays_apart", "mask",
                                  "scalar_true"])
def test_at_function_on_numpy_arrays_is_numpy(name):
    index, v = UPDATES[name]
    key = _key(index)
    assert_same(at(X)[key].set(v), _numpy_set(X, key, v))
    assert_same(at(X)[key].add(v), _numpy_add(X, key, v))
    assert_same(at(X)[key].get(), X[key])
    assert_same(at(X.tolist())[key].get(), X[key])


def test_at_function_puts_traced_values_into_a_concrete_array():
    v = RNG.standard_normal(4)
    # The JAX idiom zeros(...).at[...].set(traced), where zeros is a NumPy array here.
    out = traced(lambda v: at(fnp.zeros((2, 4)))[1].set(v * 2), v)
    assert_same(out, np.stack([np.zeros(4), v * 2]))
    np.testing.assert_allclose(fg.grad(lambda v: fnp.sum(at(np.ones((3, 4)))[[0, 0]].add(v) ** 2))
                               (v), 4 * (1 + 2 * v))
    # A traced index into a concrete table.
    table = np.arange(5.0)
    assert_same(traced(lambda v: at(table)[fnp.argmax(v)].get(), v), table[np.argmax(v)])


def test_at_function_on_an_argument_that_is_not_differentiated():
    x, v = RNG.standard_normal((3, 4)), RNG.standard_normal(4)

    def f(x, v):
        return fnp.sum(fnp.sin(at(x)[[0, 0, 2]].add(v * v)) ** 2)

    hess = fg.hessian(f, argnums=1)(x, v)   # x stays a NumPy array inside
    assert hess.shape == (4, 4)
    fg.check_grads(f, (x, v), order=3)


def test_dropping_a_size_one_axis_is_a_reshape():
    # x[:, 0] after keepdims=True (logsumexp, softmax) keeps every element in order: a
    # reshape, whose rules are cheaper both ways than a gather's (a scatter into zeros).
    x = np.arange(6.0).reshape(3, 1, 2)
    for key in [(slice(None), 0), (Ellipsis, 0, slice(None)), (None, slice(None), -1)]:
        ir = fg.make_ir(lambda v, key=key: v[key])(x)
        assert [e.primitive.name for e in ir.eqns] == ["reshape"], key
        ct = np.random.default_rng(0).standard_normal(x[key].shape)
        out, vjp_fn = fg.vjp(lambda v, key=key: v[key], x)
        np.testing.assert_array_equal(out, x[key])
        expected = np.zeros_like(x)
        expected[key] = ct
        np.testing.assert_array_equal(vjp_fn(ct)[0], expected)
    for key in [(0,), (slice(None), slice(None), 0), (slice(None), slice(0, 1))]:
        ir = fg.make_ir(lambda v, key=key: v[key])(x)
        assert "reshape" not in [e.primitive.name for e in ir.eqns], key


@pytest.mark.parametrize("shape", [(3,) + (1,) * 33, (3, 2) + (1,) * 31 + (0,)])
def test_scatters_of_more_than_32_dimensions(shape):
    # NumPy's ufunc.at segfaults beyond 32 dimensions (NumPy allows 64): the derivative of a
    # gather and .at[].add / .multiply there go through the flat array instead.
    x = np.arange(math.prod(shape), dtype=float).reshape(shape)
    idx = np.array([0, 2, 0])
    flat = x.reshape(3, -1)
    want = np.zeros_like(flat)
    np.add.at(want, idx, 2 * flat[idx])
    np.testing.assert_array_equal(fg.grad(lambda a: fnp.sum(a[idx] * a[idx]))(x),
                                  want.reshape(shape))
    for method, ufunc in [("add", np.add), ("multiply", np.multiply)]:
        want = flat.copy()
        ufunc.at(want, idx, 2.0)
        for operand in (x, np.asfortranarray(x)):
            np.testing.assert_array_equal(getattr(fnp.asarray(operand).at[idx], method)(2.0),
                                          want.reshape(shape))


# ------------------------------------------------------------------ .at modes (JAX's names)

def _reference_get(x, index, mode, fill):
    n = x.shape[0]
    out = []
    for i in index:
        inside = -n <= i < n
        if mode == "clip":
            out.append(x[min(max(i + n if i < 0 else i, 0), n - 1)])
        else:
            out.append(x[i] if inside else fill)
    return np.array(out)


@pytest.mark.parametrize("mode", ["clip", "fill", "drop"])
def test_at_get_modes_concrete_traced_and_under_vmap(mode):
    from funcgrad.core.trace import eval_ir
    x = np.arange(5.0) * 1.5
    index = np.array([0, 7, -1, -9, 4, -5])
    expected = _reference_get(x, index, mode, -2.0)
    fill = None if mode == "clip" else -2.0
    np.testing.assert_array_equal(fnp.asarray(x).at[index].get(mode=mode, fill_value=fill),
                                  expected)
    program = fg.make_ir(lambda v, i: v.at[i].get(mode=mode, fill_value=fill))(x, index)
    np.testing.assert_array_equal(eval_ir(program, [x, index])[0], expected)
    np.testing.assert_array_equal(
        fg.vmap(lambda i: fnp.asarray(x).at[i].get(mode=mode, fill_value=fill))(index),
        expected)
    # an int index, and rows of a matrix with a slice beside
    assert float(fnp.asarray(x).at[9].get(mode=mode, fill_value=fill)) == (
        x[4] if mode == "clip" else -2.0)
    m = np.arange(12.0).reshape(3, 4)
    got = fnp.asarray(m).at[1:, np.array([1, 6])].get(mode=mode, fill_value=fill)
    np.testing.assert_array_equal(got, m[1:, [1, 3]] if mode == "clip" else
                                  np.stack([m[1:, 1], np.full(2, -2.0)], axis=1))


def test_at_get_fill_defaults_and_gradient():
    x = np.arange(4.0)
    assert np.isnan(fnp.asarray(x).at[4].get(mode="fill"))
    assert int(fnp.arange(3).at[5].get(mode="fill")) == np.iinfo(np.int64).min
    assert int(fnp.arange(3, dtype=np.uint8).at[5].get(mode="fill")) == 255
    grad = fg.grad(lambda v: fnp.sum(v.at[np.array([1, 1, 6])].get(
        mode="fill", fill_value=0.0) ** 2))(x)
    np.testing.assert_array_equal(grad, [0.0, 4.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="fill_value is used only with mode='fill'"):
        fnp.asarray(x).at[0].get(fill_value=1.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        fnp.asarray(x).at[0].get(mode="wrap")
    with pytest.raises(IndexError):   # the default raises, as NumPy's indexing
        fnp.asarray(x).at[4].get()


@pytest.mark.parametrize("method, expected", [
    ("set", [0.0, 10.0, 2.0, 3.0]), ("add", [0.0, 11.0, 2.0, 3.0]),
    ("multiply", [0.0, 10.0, 2.0, 3.0]), ("min", [0.0, 1.0, 2.0, 3.0]),
    ("max", [0.0, 10.0, 2.0, 3.0])])
def test_at_updates_drop_out_of_bounds_and_clip(method, expected):
    x = fnp.arange(4.0)
    index = np.array([1, 9, -7])
    np.testing.assert_array_equal(getattr(x.at[index], method)(10.0, mode="drop"), expected)
    np.testing.assert_array_equal(getattr(x.at[np.array([9, -8])], method)(10.0, mode="clip"),
                                  getattr(x.at[np.array([3, 0])], method)(10.0))
    # gradient: the dropped update takes nothing, the array keeps its own elsewhere
    grad = fg.grad(lambda v, u: fnp.sum(v.at[index].set(u, mode="drop") * v),
                   argnums=(0, 1))(np.arange(4.0), 2.0)
    np.testing.assert_array_equal(grad[0], [0.0, 2.0, 4.0, 6.0])
    assert float(grad[1]) == 1.0
