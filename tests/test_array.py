"""``fg.Array``: the arrays funcgrad returns are NumPy's, and also take traced indices, have
``.at`` and ``.block_until_ready()`` as JAX's do."""
import pickle

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def test_funcgrad_returns_numpy_arrays_that_are_arrays():
    x = np.linspace(0.0, 1.0, 4)
    results = [fnp.arange(3.0), fnp.sin(x), fnp.linalg.inv(np.eye(2)), fg.grad(
        lambda v: fnp.sum(v ** 2))(x), fg.jit(lambda v: v * 2)(x), fg.vmap(fnp.sin)(x),
        fg.jacrev(fnp.sin)(x)]
    for result in results:
        assert type(result) is fg.Array and isinstance(result, np.ndarray)
    value = results[1]
    np.testing.assert_array_equal(np.cos(value), np.cos(np.sin(x)))   # NumPy takes it
    assert repr(value) == repr(np.sin(x))                             # and prints as NumPy's
    assert type(pickle.loads(pickle.dumps(value))) is fg.Array
    assert type(fg.grad(lambda v: v * 2.0)(1.0)) is np.float64        # 0-d: NumPy scalars


def test_the_first_fori_loop_example_of_jax():
    array = fnp.arange(10)
    assert fg.fori_loop(0, 10, lambda i, x: x + array[i], 0) == 45
    weights = fnp.linspace(0.0, 1.0, 5)
    loss = fg.grad(lambda y: fg.fori_loop(0, 5, lambda i, s: s + weights[i] * y ** 2, 0.0))
    assert loss(3.0) == pytest.approx(2 * 3.0 * np.sum(np.linspace(0.0, 1.0, 5)))


def test_traced_indices_in_scan_and_jit():
    table = fnp.asarray(np.array([10.0, 20.0, 30.0]))
    carry, ys = fg.scan(lambda c, i: (c + table[i], table[i] * 2), 0.0, np.array([2, 0, 1]))
    assert carry == 60.0
    np.testing.assert_array_equal(ys, [60.0, 20.0, 40.0])
    pick = fg.jit(lambda i, j: table[i] + fnp.sum(table[(j,)]))
    assert pick(np.int64(1), np.int64(2)) == 50.0
    rows = fnp.arange(6.0).reshape(2, 3)
    assert fg.jit(lambda i: rows[i, 1:])(np.int64(1)).tolist() == [4.0, 5.0]
    with pytest.raises(fg.ConcretizationError, match="slice bound"):
        fg.jit(lambda i: table[i:])(np.int64(1))   # the result's shape would depend on i


def test_at_on_concrete_arrays():
    x = fnp.zeros(4)
    updated = x.at[1].set(5.0)
    assert type(updated) is fg.Array and updated.tolist() == [0.0, 5.0, 0.0, 0.0]
    assert x.tolist() == [0.0] * 4                                   # a copy, as in JAX
    assert x.at[[0, 0, 3]].add(1.0).tolist() == [2.0, 0.0, 0.0, 1.0]
    assert updated.at[1:].get().tolist() == [5.0, 0.0, 0.0]
    grad = fg.grad(lambda v: fnp.sum(x.at[1:3].set(v) ** 2))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(grad, [2.0, 4.0])


def test_block_until_ready():
    x = fg.jit(lambda v: v + 1)(np.ones(2))
    assert x.block_until_ready() is x
    tree = {"a": x, "b": (1.0, [x])}
    assert fg.block_until_ready(tree) is tree


def test_arrays_fed_back_take_the_fast_paths():
    step = fg.jit(lambda w: w - 0.1 * fg.grad(lambda v: fnp.sum(v ** 2))(w))
    w = np.ones(3)
    for _ in range(3):
        w = step(w)
        assert type(w) is fg.Array
    assert step.recompiles == []   # an Array has the signature of the ndarray it views
    np.testing.assert_allclose(w, 0.8 ** 3)
    value, grads = fg.value_and_grad(lambda p: fnp.sum(p["w"] ** 2))({"w": w})
    np.testing.assert_allclose(grads["w"], 2 * w)


@pytest.mark.parametrize("method, ufunc", [("multiply", np.multiply), ("mul", np.multiply),
                                           ("min", np.minimum), ("max", np.maximum)])
def test_at_multiply_min_max_apply_every_update(method, ufunc):
    x = fnp.asarray(np.array([1.0, 2.0, 3.0, 4.0]))
    index, updates = np.array([0, 0, 2]), np.array([2.0, 0.5, -1.0])
    expected = np.asarray(x).copy()
    ufunc.at(expected, index, updates)
    np.testing.assert_array_equal(getattr(x.at[index], method)(updates), expected)
    traced = fg.jit(lambda v, u: getattr(v.at[index], method)(u))(x, updates)
    np.testing.assert_array_equal(traced, expected)


def test_at_multiply_derivatives_with_repeats_and_zeros():
    x, index = np.array([1.0, 2.0, 3.0]), np.array([0, 0, 2])

    def total(v, u):
        return fnp.sum(fnp.at(v)[index].multiply(u) * fnp.array([1.0, 10.0, 100.0]))

    # x0 * u0 * u1 and x2 * u2: each update's derivative is the product of the others
    gx, gu = fg.grad(total, argnums=(0, 1))(x, np.array([2.0, 0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 10.0, 400.0])
    np.testing.assert_array_equal(gu, [0.0, 2.0, 300.0])
    np.testing.assert_array_equal(fg.grad(total, argnums=1)(x, np.array([0.0, 0.0, 4.0])),
                                  [0.0, 0.0, 300.0])
    fg.check_grads(total, (x, np.array([2.0, -0.5, 4.0])), order=2)


def test_at_max_derivative_goes_to_the_winner_and_ties_share():
    grad = fg.grad(lambda v, u: fnp.sum(fnp.at(v)[[0, 0]].max(u)), argnums=(0, 1))
    gx, gu = grad(np.array([1.0, 5.0]), np.array([3.0, 2.0]))
    np.testing.assert_array_equal(gx, [0.0, 1.0])
    np.testing.assert_array_equal(gu, [1.0, 0.0])
    gx, gu = grad(np.array([3.0, 5.0]), np.array([3.0, 2.0]))     # x0 ties u0
    np.testing.assert_array_equal(gx, [0.5, 1.0])
    np.testing.assert_array_equal(gu, [0.5, 0.0])
