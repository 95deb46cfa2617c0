"""``fg.lax``: values against NumPy (JAX's clamping of starts and indices included),
derivatives by ``check_grads(order=2)``, and ``jit`` / ``vmap`` of each function. Few jit
calls, on small programs: each is a compile."""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

L = fg.lax
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4))


def test_lax_is_imported_lazily_and_lists_its_names():
    import funcgrad.lax as lax
    assert fg.lax is lax
    for name in ("dynamic_slice", "dynamic_update_slice", "dynamic_index_in_dim",
                 "dynamic_slice_in_dim", "select", "map", "associative_scan", "reduce_window",
                 "stop_gradient", "cond", "scan", "fori_loop", "while_loop", "switch"):
        assert name in lax.__all__ and callable(getattr(lax, name))


# ------------------------------------------------------------------------ dynamic slicing

@pytest.mark.parametrize("starts, expected", [((1, 1), (1, 1)), ((5, -3), (1, 1)),
                                              ((0, 2), (0, 1)), ((-2, -9), (1, 0))])
def test_dynamic_slice_clamps_starts_eagerly_and_under_jit(starts, expected):
    # As JAX: a negative start counts from the end (-3 is column 1 of 4), then clamps; it
    # was clamped to 0 at once, another slice than jax.lax.dynamic_slice's.
    i, j = expected
    want = X[i:i + 2, j:j + 3]
    np.testing.assert_array_equal(L.dynamic_slice(X, starts, (2, 3)), want)
    np.testing.assert_array_equal(L.dynamic_slice(X, np.array(starts), (2, 3)), want)
    traced = fg.jit(lambda x, i, j: L.dynamic_slice(x, (i, j), (2, 3)))
    np.testing.assert_array_equal(traced(X, *starts), want)


def test_dynamic_slice_derivatives_and_vmap():
    fg.check_grads(lambda x: L.dynamic_slice(x, (1, 2), (2, 2)) ** 2, (X,), order=2)
    grad = fg.grad(lambda x, i: fnp.sum(L.dynamic_slice(x, (i, 0), (2, 4))))(X, 7)
    np.testing.assert_array_equal(grad, [[0.0] * 4, [1.0] * 4, [1.0] * 4])
    rows = fg.vmap(lambda i: L.dynamic_index_in_dim(X, i, 0, keepdims=False))(
        np.array([0, 2, -1, 9]))
    np.testing.assert_array_equal(rows, X[[0, 2, 2, 2]])   # -1 is the last row, as in JAX
    np.testing.assert_array_equal(L.dynamic_index_in_dim(X, -1, 1, keepdims=False), X[:, -1])
    cols = fg.vmap(lambda i: L.dynamic_slice_in_dim(X, i, 2, axis=1))(np.array([0, 3]))
    np.testing.assert_array_equal(cols, [X[:, 0:2], X[:, 2:4]])
    assert L.dynamic_index_in_dim(X, 1, 1).shape == (3, 1)


def test_dynamic_update_slice_values_clamping_and_derivatives():
    update = -np.ones((2, 2))
    want = X.copy()
    want[1:3, 2:4] = update
    np.testing.assert_array_equal(L.dynamic_update_slice(X, update, (1, 2)), want)
    traced = fg.jit(lambda x, u, i: L.dynamic_update_slice(x, u, (i, i)))
    np.testing.assert_array_equal(traced(X, update, 9), want)   # (9, 9) clamped to (1, 2)
    np.testing.assert_array_equal(traced(X, update, -2), want)   # (-2, -2) is (1, 2)
    fg.check_grads(lambda x, u: L.dynamic_update_slice(x, u, (0, 1)) ** 2, (X, update),
                   order=2)
    gx, gu = fg.grad(lambda x, u, i: fnp.sum(L.dynamic_update_slice(x, u, (i, i)) * 3.0),
                     (0, 1))(X, update, 1)
    np.testing.assert_array_equal(gu, 3.0)
    mask = np.full((3, 4), 3.0)
    mask[1:3, 1:3] = 0.0   # the overwritten box at (1, 1)
    np.testing.assert_array_equal(gx, mask)
    row = L.dynamic_update_index_in_dim(X, np.zeros(4), 2, 0)
    np.testing.assert_array_equal(row[2], 0.0)
    batched = fg.vmap(lambda i: L.dynamic_update_slice_in_dim(np.zeros(4), np.ones(2), i, 0))(
        np.array([0, 3]))
    np.testing.assert_array_equal(batched, [[1, 1, 0, 0], [0, 0, 1, 1]])


def test_dynamic_slice_errors():
    with pytest.raises(TypeError, match="lax.dynamic_slice: 1 start indices for an operand "
                                        "of 2 dimensions"):
        L.dynamic_slice(X, (0,), (1, 1))
    with pytest.raises(TypeError, match="slice size 5 on axis 1 does not fit"):
        L.dynamic_slice(X, (0, 0), (1, 5))


# --------------------------------------------------------------------------------- select

def test_select_is_elementwise_and_differentiable():
    pred = X > 0
    np.testing.assert_array_equal(L.select(pred, X, -X), np.abs(X))
    fg.check_grads(lambda a, b: L.select(pred, a * a, b), (X, X + 1.0), order=2)
    np.testing.assert_array_equal(
        fg.vmap(lambda p, a: L.select(p, a, 0.0 * a))(pred, X), np.where(pred, X, 0.0))
    with pytest.raises(TypeError, match="lax.select: pred must be boolean"):
        L.select(X, X, X)
    with pytest.raises(TypeError, match="one shape and dtype"):
        L.select(True, X, X[0])


# ------------------------------------------------------------------ loops and branching

def test_map_is_a_scan_with_and_without_batches():
    xs = np.arange(7.0)
    np.testing.assert_allclose(L.map(fnp.sin, xs), np.sin(xs))
    np.testing.assert_allclose(L.map(lambda x: x ** 2, xs, batch_size=3), xs ** 2)
    fg.check_grads(lambda xs: L.map(lambda x: fnp.sin(x) * x, xs), (xs,), order=2)
    out = fg.vmap(lambda row: L.map(lambda v: v * 2.0, row))(X)
    np.testing.assert_allclose(out, 2 * X)


def test_switch_clamps_the_index_and_differentiates_the_chosen_branch():
    branches = [fnp.sin, fnp.cos, lambda x: x * 3.0]
    for index, want in [(-2, np.sin(0.7)), (1, np.cos(0.7)), (2, 2.1), (10, 2.1)]:
        np.testing.assert_allclose(L.switch(index, branches, 0.7), want)
    traced = fg.jit(lambda i, x: L.switch(i, branches, x))
    np.testing.assert_allclose([traced(i, 0.7) for i in (-1, 0, 1, 2, 3)],
                               [np.sin(0.7), np.sin(0.7), np.cos(0.7), 2.1, 2.1])
    np.testing.assert_allclose(fg.vmap(lambda i: L.switch(i, branches, 0.7))(
        np.array([0, 1, 2, 7])), [np.sin(0.7), np.cos(0.7), 2.1, 2.1])
    for index in (0, 1, 2):
        fg.check_grads(lambda x, i=index: L.switch(i, branches, x), (0.7,), order=2)
    grads = fg.vmap(fg.grad(lambda x, i: L.switch(i, branches, x)), in_axes=(None, 0))(
        0.7, np.array([0, 1, 2]))
    np.testing.assert_allclose(grads, [np.cos(0.7), -np.sin(0.7), 3.0])
    with pytest.raises(TypeError, match="lax.switch: index must be an integer"):
        L.switch(1.5, branches, 0.7)


def test_reexported_control_flow_and_stop_gradient():
    assert L.cond is fg.cond and L.fori_loop is fg.fori_loop and L.while_loop is fg.while_loop
    carry, ys = L.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0), unroll=2)
    assert float(carry) == 6.0
    np.testing.assert_allclose(ys, [0.0, 0.0, 2.0, 9.0])
    tree = {"a": 2.0, "b": (3.0,)}
    assert fg.grad(lambda t: L.stop_gradient(t)["a"] * t["b"][0])(tree) == {"a": 0.0,
                                                                             "b": (2.0,)}


# ----------------------------------------------------------------------- associative_scan

@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_associative_scan_matches_cumsum_and_cumprod(n):
    a = RNG.uniform(0.5, 1.5, size=n)
    np.testing.assert_allclose(L.associative_scan(fnp.add, a), np.cumsum(a), rtol=1e-13)
    np.testing.assert_allclose(L.associative_scan(fnp.multiply, a), np.cumprod(a), rtol=1e-13)
    np.testing.assert_allclose(L.associative_scan(fnp.add, a, reverse=True),
                               np.cumsum(a[::-1])[::-1], rtol=1e-13)


def test_associative_scan_along_an_axis_with_a_custom_pytree_operator():
    m = RNG.normal(size=(4, 6))
    np.testing.assert_allclose(L.associative_scan(fnp.maximum, m, axis=1),
                               np.maximum.accumulate(m, axis=1))
    # A linear recurrence h_t = a_t h_{t-1} + b_t as the composition of affine maps.
    a, b = RNG.uniform(0.5, 1.0, size=7), RNG.normal(size=7)

    def compose(first, second):
        (a1, b1), (a2, b2) = first, second
        return a1 * a2, a2 * b1 + b2

    _, h = L.associative_scan(compose, (a, b))
    expected, state = [], 0.0
    for a_t, b_t in zip(a, b):
        state = a_t * state + b_t
        expected.append(state)
    np.testing.assert_allclose(h, expected, rtol=1e-13)
    fg.check_grads(lambda a, b: L.associative_scan(compose, (a, b))[1], (a, b), order=2)
    np.testing.assert_allclose(fg.jit(lambda a, b: L.associative_scan(compose, (a, b))[1])(a, b),
                               expected, rtol=1e-13)
    rows = fg.vmap(lambda row: L.associative_scan(fnp.add, row))(m)
    np.testing.assert_allclose(rows, np.cumsum(m, axis=1), rtol=1e-13)


def test_associative_scan_errors():
    with pytest.raises(ValueError, match="same length along axis 0"):
        L.associative_scan(lambda x, y: (x[0] + y[0], x[1] + y[1]), (np.ones(3), np.ones(4)))
    with pytest.raises(TypeError, match="fn must combine elementwise"):
        L.associative_scan(lambda x, y: fnp.sum(x + y), np.ones(4))


# -------------------------------------------------------------------------- reduce_window

def test_reduce_window_max_and_sum_pooling():
    x = np.arange(16.0).reshape(4, 4)
    pooled = L.reduce_window(x, -np.inf, fnp.maximum, (2, 2), (2, 2), "VALID")
    np.testing.assert_array_equal(pooled, [[5.0, 7.0], [13.0, 15.0]])
    summed = L.reduce_window(x, 0.0, fnp.add, (3, 3), (1, 1), "SAME")
    padded = np.pad(x, 1)
    want = sum(padded[i:i + 4, j:j + 4] for i in range(3) for j in range(3))
    np.testing.assert_array_equal(summed, want)
    dilated = L.reduce_window(x, 0.0, fnp.add, (1, 2), (1, 1), "VALID", window_dilation=(1, 2))
    np.testing.assert_array_equal(dilated, x[:, :2] + x[:, 2:])
    fg.check_grads(lambda x: L.reduce_window(x, 0.0, fnp.add, (2, 2), (1, 1), [(1, 0), (0, 1)]),
                   (X,), order=2)
    fg.check_grads(lambda x: L.reduce_window(x, -np.inf, fnp.maximum, (2, 2), (1, 1), "VALID"),
                   (X,), order=2)
    batched = fg.vmap(lambda m: L.reduce_window(m, 0.0, fnp.add, (2, 2), (2, 2), "VALID"))(
        np.stack([x, -x]))
    np.testing.assert_array_equal(batched[1], -batched[0])


def test_reduce_window_base_dilation():
    # The base spread with holes of init_value before the window runs (JAX's semantics):
    # [1, 0, 2, 0, 3, 0, 4, 0, 5] summed in windows of 2.
    x = np.arange(1.0, 6.0)
    out = fg.lax.reduce_window(x, 0.0, fnp.add, (2,), (1,), "VALID", base_dilation=(2,))
    np.testing.assert_array_equal(out, [1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0])
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(fg.lax.reduce_window(
        v, 0.0, fnp.add, (2,), (1,), "VALID", base_dilation=(2,))))(x), [1, 2, 2, 2, 1])
    # with SAME padding and window dilation, on a 2-d max (padding on the dilated shape)
    y = np.arange(12.0).reshape(3, 4)
    got = fg.lax.reduce_window(y, -np.inf, fnp.maximum, (2, 3), (1, 2), "SAME",
                               base_dilation=(2, 1), window_dilation=(1, 2))
    dilated = np.full((5, 4), -np.inf)
    dilated[::2] = y
    padded = np.full((6, 7), -np.inf)   # SAME on (5, 4): rows (0, 1), columns (1, 2)
    padded[:5, 1:5] = dilated
    want = np.array([[padded[r:r + 2, c:c + 5:2].max() for c in (0, 2)] for r in range(5)])
    np.testing.assert_array_equal(got, want)
    jax = pytest.importorskip("jax")
    np.testing.assert_array_equal(got, jax.lax.reduce_window(
        y, -np.inf, jax.lax.max, (2, 3), (1, 2), "SAME", base_dilation=(2, 1),
        window_dilation=(1, 2)))
