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


# ---------------------------------------------------------------------------- elementwise

F = RNG.uniform(0.5, 2.0, (2, 3))
G = RNG.uniform(-2.0, 2.0, (1, 3))


def test_elementwise_functions_match_numpy_eagerly_traced_and_compiled():
    ints = np.array([[7, -7, 7, -7], [0, 5, -13, 12]], np.int32)
    divisors = np.array([[2, 2, -2, -2], [3, -4, 5, 5]], np.int32)
    counts = np.array([[1, 31, 0, 32], [-1, 3, 4, 40]], np.int32)

    def program(x, y, i, d, n):
        return (L.add(x, y), L.sub(x, 2.0), L.mul(x, y), L.div(x, y), L.max(x, y),
                L.min(x, y), L.pow(x, y), L.pow(x, 3), L.atan2(y, x), L.rem(x, y),
                L.neg(x), L.abs(y), L.sign(y), L.exp(y), L.log(x), L.sin(y), L.cos(y),
                L.tanh(y), L.sqrt(x), L.rsqrt(x), L.square(y), L.integer_pow(y, 3),
                L.clamp(0.0, y, 1.0), L.logistic(y), L.div(i, d), L.rem(i, d),
                L.max(i, d), L.clamp(-5, i, 5), L.bitwise_and(i, d), L.bitwise_or(i, d),
                L.bitwise_xor(i, d), L.bitwise_not(i), L.shift_left(i, n),
                L.shift_right_arithmetic(i, n), L.shift_right_logical(i, n),
                L.population_count(i), L.lt(x, y), L.eq(i, d), L.nextafter(x, y))

    with np.errstate(invalid="ignore"):
        want = (F + G, F - 2.0, F * G, F / G, np.maximum(F, G), np.minimum(F, G),
                F ** G, F ** 3, np.arctan2(G, F), np.fmod(F, G), -F, np.abs(G), np.sign(G),
                np.exp(G), np.log(F), np.sin(G), np.cos(G), np.tanh(G), np.sqrt(F),
                1 / np.sqrt(F), G * G, G ** 3, np.clip(G, 0.0, 1.0), 1 / (1 + np.exp(-G)),
                np.trunc(ints / divisors).astype(np.int32), np.fmod(ints, divisors),
                np.maximum(ints, divisors), np.clip(ints, -5, 5), ints & divisors,
                ints | divisors, ints ^ divisors, ~ints, np.left_shift(ints, counts),
                np.right_shift(ints, counts),
                np.where((counts >= 0) & (counts < 32), np.right_shift(
                    ints.view(np.uint32), counts.astype(np.uint32)), 0).astype(np.uint32)
                .view(np.int32), np.bitwise_count(ints).astype(np.int32), F < G,
                ints == divisors, np.nextafter(F, G))
        args = (F, G, ints, divisors, counts)
        rows = (F, np.broadcast_to(G, F.shape), ints, divisors, counts)   # (examples: rank 1)
        for tier, got in (("eager", program(*args)), ("jit", fg.jit(program)(*args)),
                          ("vmap", fg.vmap(program)(*rows))):
            for k, (g, w) in enumerate(zip(got, want)):
                w = np.broadcast_to(w, np.shape(g)) if tier == "vmap" else w
                assert np.asarray(g).dtype == np.asarray(w).dtype, (tier, k)
                np.testing.assert_allclose(g, w, rtol=1e-14, atol=0, err_msg=f"{tier} {k}")
    assert L.add(np.float32(1.0), 2.0).dtype == np.float32   # a Python number is weak


def test_elementwise_derivatives_follow_jax():
    fg.check_grads(lambda x, y: L.pow(L.add(x, 1.0), y) * L.max(x, y) + L.rsqrt(x)
                   + L.div(L.tanh(y), x) - L.integer_pow(L.sub(x, y), 3), (F, G), order=2)
    # clamp(min, x, max): x's derivative inside (min, max), min's where min > x, max's where
    # max < x, and none at a tie (JAX's rule).
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    grads = fg.grad(lambda lo, v, hi: fnp.sum(L.clamp(lo, v, hi) * np.arange(1.0, 6.0)),
                    (0, 1, 2))(0.0, x, 1.0)
    np.testing.assert_array_equal(grads[1], [0.0, 0.0, 3.0, 0.0, 0.0])
    assert grads[0] == 1.0 and grads[2] == 5.0
    fg.check_grads(lambda lo, v, hi: L.clamp(lo, v, hi), (np.float64(-0.3), F - 1.0,
                                                          np.float64(0.6)), order=2)
    # max/min share the derivative at ties, as JAX's balanced rule does
    np.testing.assert_array_equal(fg.grad(lambda a: L.max(a, 1.0))(1.0), 0.5)


def test_round_special_functions_and_casts():
    x = np.array([0.5, 1.5, -2.5, 0.49999999999999994, -0.5, 2.4, np.inf, np.nan])
    away = np.array([1.0, 2.0, -3.0, 0.0, -1.0, 2.0, np.inf, np.nan])
    with np.errstate(invalid="ignore"):   # (inf - trunc(inf) under vmap)
        for round_away in (L.round(x), fg.vmap(L.round)(x)):
            np.testing.assert_array_equal(round_away, away)
    np.testing.assert_array_equal(L.round(x, 1), np.rint(x))
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(L.round(v)))(x[:6]), 0.0)
    special = pytest.importorskip("scipy.special")
    v = np.array([0.3, 1.2, 2.5])
    for ours, theirs in ((L.erf, special.erf), (L.erfc, special.erfc),
                         (L.lgamma, special.gammaln), (L.digamma, special.digamma),
                         (lambda a: L.erf_inv(a / 3), lambda a: special.erfinv(a / 3))):
        np.testing.assert_allclose(fg.vmap(ours)(v), theirs(v), rtol=1e-13)
    fg.check_grads(lambda a: L.erf(a) * L.lgamma(a) + L.digamma(a), (v,), order=2)
    assert L.convert_element_type(np.array([1.7, -1.7]), np.int32).tolist() == [1, -1]
    with pytest.raises(ValueError, match="rounding_method must be 0"):
        L.round(x, 2)


def test_elementwise_errors_follow_jax():
    with pytest.raises(TypeError, match="lax.add requires arguments to have the same dtypes, "
                                        "got float64, float32"):
        L.add(F, F.astype(np.float32))
    with pytest.raises(TypeError, match="lax.mul: arrays must have the same number of "
                                        "dimensions"):
        L.mul(F, np.ones(3))
    with pytest.raises(TypeError, match=r"lax.sub got incompatible shapes for broadcasting: "
                                        r"\(2, 3\), \(3, 3\)"):
        L.sub(F, np.ones((3, 3)))
    with pytest.raises(TypeError, match="lax.add requires arguments to have the same dtypes, "
                                        "got int64 and a Python float"):
        L.add(np.arange(3), 2.5)
    with pytest.raises(TypeError, match="lax.exp does not accept dtype int64"):
        L.exp(np.arange(3))
    with pytest.raises(TypeError, match="lax.clamp: min must be a scalar or of x's shape"):
        L.clamp(np.zeros((2, 1)), F, 1.0)
    with pytest.raises(TypeError, match="lax.pow: the exponent must have the base's dtype"):
        L.pow(F, F.astype(np.float32))
    with pytest.raises(TypeError, match="lax.integer_pow: the exponent must be a Python int"):
        L.integer_pow(F, 2.0)
    with pytest.raises(TypeError, match="lax.bitwise_and does not accept dtype float64"):
        L.bitwise_and(F, F)
