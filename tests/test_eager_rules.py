"""The NumPy reverse rules (``eager_vjp``) on arrays large enough for their fast paths: the
same numbers, bit for bit, as the traced rules (``vjp``) evaluated on the same values."""
import importlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import contraction
from funcgrad.ops import elementwise as ew
from funcgrad.ops import reduction as red
from funcgrad.ops import structural as st

vjp_module = importlib.import_module("funcgrad.transforms.vjp")   # the name vjp is a function


def _both_ways(fn, args, cotangent):
    """The cotangents of ``fn`` at ``args`` by the eager rules and by the traced ones."""
    results = []
    for eager in (True, False):
        saved, vjp_module.EAGER_RULES = vjp_module.EAGER_RULES, eager
        try:
            _, pullback = fg.vjp(fn, *args)
            results.append(pullback(cotangent))
        finally:
            vjp_module.EAGER_RULES = saved
    return results


def _assert_bitwise(a, b):
    for x, y in zip(fg.tree.leaves(a), fg.tree.leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        assert np.array_equal(np.ascontiguousarray(x).view(np.uint8),
                              np.ascontiguousarray(y).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("shape", [(8, 64, 64), (3, 5)])   # blended bits, and np.where
def test_select_eager_vjp_masks_the_cotangent_in_one_pass(dtype, shape):
    rng = np.random.default_rng(0)
    pred = rng.random(shape[-2:]) < 0.5
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape[-1:]).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    g[..., 0] = -0.0   # zeros keep their sign where kept, become +0.0 where masked
    eager, traced = _both_ways(lambda x, y: ew.select(pred, x, y), (x, y), g)
    _assert_bitwise(eager, traced)
    np.testing.assert_array_equal(eager[0], np.where(pred, g, 0))


@pytest.mark.parametrize("index", [(Ellipsis, slice(128, 256)), (slice(1, None, 2),)])
def test_gather_eager_vjp_adds_into_zeros(index):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16, 384)).astype(np.float32)
    spec = st.IndexSpec([("slice", e.start, e.stop, e.step) if isinstance(e, slice) else e
                         for e in index])
    g = rng.standard_normal(x[index].shape).astype(np.float32)
    g.flat[0] = -0.0
    eager, traced = _both_ways(lambda x: st.gather(x, (), spec), (x,), g)
    _assert_bitwise(eager, traced)
    expected = np.zeros_like(x)
    expected[index] = g
    np.testing.assert_array_equal(eager[0], expected)


def test_qkv_slices_accumulate_as_before():
    """Three slices of one array (a transformer's q, k and v), each cotangent a scatter into
    zeros, summed."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 12)).astype(np.float32)

    def f(x):
        return sum(fnp.sum(x[..., 4 * i:4 * (i + 1)] * (i + 1.5)) for i in range(3))
    eager, traced = _both_ways(f, (x,), np.float32(1))
    _assert_bitwise(eager, traced)
    np.testing.assert_array_equal(eager[0], np.repeat(np.float32([1.5, 2.5, 3.5]), 4)
                                  * np.ones_like(x))


@pytest.mark.parametrize("ties", [False, True])
def test_reduce_max_eager_vjp_with_and_without_ties(ties):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    if ties:
        x[::3, 4] = x[::3].max(axis=1)   # a second winner in every third row
    g = rng.standard_normal(64).astype(np.float32)
    eager, traced = _both_ways(lambda x: red.reduce_max(x, (1,)), (x,), g)
    _assert_bitwise(eager, traced)
    counts = (x == x.max(axis=1, keepdims=True)).sum(axis=1)
    assert (counts.max() > 1) == ties
    np.testing.assert_allclose(eager[0].sum(axis=1), g, rtol=1e-6)


def test_einsum_keeps_batch_axes_apart_instead_of_copying():
    """Attention's products, whose operands are permuted views of (batch, sequence, heads,
    size) arrays: the heads and batch axes do not merge, and stay two batch axes."""
    rng = np.random.default_rng(4)
    qkv = rng.standard_normal((2, 16, 3, 4, 8)).astype(np.float32)
    q, k = qkv[:, :, 0], qkv[:, :, 1]     # views, strided over the heads
    plan = contraction.pair_plan("atnh,asnh->ants", q.shape, k.shape)
    assert plan.batch_sizes == (2, 4)
    assert not contraction._merges(q.transpose(0, 2, 1, 3), 2)
    got = plan(q, k)
    want = plan(np.ascontiguousarray(q), np.ascontiguousarray(k))   # merged batch
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, np.einsum("atnh,asnh->ants", q, k), rtol=1e-5, atol=1e-5)
    out = np.empty(plan.product_shape, np.float32)
    assert plan(q, k, out=out) is out
    np.testing.assert_array_equal(out, want)


def test_square_by_mul_makes_its_cotangent_once():
    """``x * x``: both operands' cotangents are ``g * x``; the sum is the traced rule's."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 32)).astype(np.float32)
    g = rng.standard_normal((16, 32)).astype(np.float32)
    eager, traced = _both_ways(lambda x: x * x, (x,), g)
    _assert_bitwise(eager, traced)
    np.testing.assert_array_equal(eager[0], g * x + g * x)
    eager, traced = _both_ways(lambda x: fnp.sum(x * x), (x,), np.float32(1))   # the seed
    _assert_bitwise(eager, traced)


def test_einsum_merges_batch_axes_where_blas_could_not_take_the_matrices():
    """Operands with no axis of unit stride: NumPy's matmul would sum them in a loop of its
    own (other numbers), so they are copied into merged batches as before."""
    rng = np.random.default_rng(6)
    big = rng.standard_normal((2, 16, 4, 16)).astype(np.float32)
    q = big[..., ::2]                       # (2, 16, 4, 8), no unit stride
    k = rng.standard_normal((2, 16, 4, 8)).astype(np.float32)
    plan = contraction.pair_plan("atnh,asnh->ants", q.shape, k.shape)
    assert not contraction._blas_matrix(q.transpose(0, 2, 1, 3))
    got = plan(q, k)
    np.testing.assert_array_equal(got, plan(np.ascontiguousarray(q), k))


@pytest.mark.parametrize("ufunc", [fnp.maximum, fnp.minimum])
@pytest.mark.parametrize("scalar", [np.float32(0), np.zeros((), np.float32), np.float32(-0.0),
                                    np.float32(np.nan), np.float32(0.3)])
def test_extremum_against_a_float32_scalar_is_numpys(ufunc, scalar):
    # max/min of a large float32 array and a float32 scalar (either order) run against a
    # filled array (a faster NumPy loop): bit for bit NumPy's own, with ties, signed zeros and
    # NaNs; the primitive's impl itself (plain fnp calls on arrays are NumPy's ufunc)
    x = np.random.default_rng(1).standard_normal((256, 256)).astype(np.float32)
    x[0, :5] = 0.0
    x[1, 0], x[1, 1] = np.nan, -0.0
    impl = getattr(ew, ufunc.__name__).primitive.impl
    numpy_ufunc = getattr(np, ufunc.__name__)
    for a, b in ((x, scalar), (scalar, x)):
        out, expected = impl(a, b), numpy_ufunc(a, b)
        assert out.dtype == expected.dtype == np.float32 and out.shape == expected.shape
        assert np.array_equal(out.view(np.uint32), expected.view(np.uint32))
    grad = fg.grad(lambda x: fnp.sum(ufunc(scalar, x) * x))(x)
    assert grad.dtype == np.float32


@pytest.mark.parametrize("shape", [(3, 5), (40, 500)])   # both sides of the filled-in limit
def test_sum_cotangents_small_filled_large_broadcast_agree_with_traced(shape):
    x = np.random.default_rng(2).standard_normal(shape)
    for fn in (lambda x: fnp.sum(x, axis=1) ** 2, lambda x: fnp.sum(x, axis=0) ** 2,
               lambda x: fnp.sum(x) * x):
        cotangent = np.random.default_rng(3).standard_normal(np.shape(fn(x)))
        (eager,), (traced,) = _both_ways(fn, (x,), cotangent)
        np.testing.assert_array_equal(eager, traced)
    # The user's gradient is an array of its own, writeable, not shared between calls.
    first = fg.grad(fnp.sum)(x)
    second = fg.grad(fnp.sum)(x)
    first[0, 0] = 7.0
    assert second[0, 0] == 1.0 and np.all(second == 1.0)


def test_avals_of_arrays_are_shared_per_shape_and_dtype():
    from funcgrad.core.aval import aval_of
    assert aval_of(np.zeros((2, 3))) is aval_of(np.ones((2, 3)))
    assert aval_of(np.zeros((2, 3), np.float32)) is not aval_of(np.zeros((2, 3)))
    assert aval_of(np.zeros((3, 2))).shape == (3, 2)


def test_shape_cache_tells_parameters_apart_and_keeps_no_errors():
    # One array reduced along each axis, and through two products, twice: the shape rule's
    # cached answers are per parameter; a failing rule fails every time.
    x = np.arange(6.0).reshape(2, 3)
    for _ in range(2):
        value, g = fg.value_and_grad(lambda x: fnp.sum(fnp.sum(x, axis=0) ** 2)
                                     + fnp.sum(fnp.sum(x, axis=1) ** 3)
                                     + fnp.sum(x @ x.T) + fnp.sum(x.T @ x))(x)
        rows, cols = x.sum(axis=1), x.sum(axis=0)
        expected = (2 * cols[None, :] + 3 * rows[:, None] ** 2
                    + 2 * x.sum(axis=0)[None, :] + 2 * x.sum(axis=1)[:, None])
        np.testing.assert_allclose(g, expected)
        ir = str(fg.make_ir(lambda x: (fnp.sum(x, axis=0), fnp.sum(x, axis=1)))(x))
        assert "f64[3] = reduce_sum[axes=(0,)]" in ir and "f64[2] = reduce_sum[axes=(1,)]" in ir
    for _ in range(2):
        with pytest.raises(fg.ShapeError):
            fg.grad(lambda x: fnp.sum(contraction.einsum_p.bind(x, x, spec="ij,jk->ik")))(x)


@pytest.mark.parametrize("key", [(slice(None), 0), (slice(None), -1), (Ellipsis, 0),
                                 (None, 0), 1, (slice(1, None, 2), slice(None, None, -1))])
def test_static_indices_planned_once_are_right_on_every_shape(key):
    # getitem caches its plan for an index of ints, slices and None by shape and dtype: the
    # same index on arrays of other shapes (a reshape on one, a gather on another) and again.
    for shape in [(3, 1), (3, 4), (5, 2), (3, 4)]:
        x = np.random.default_rng(sum(shape)).standard_normal(shape)
        weights = np.random.default_rng(1).standard_normal(x[key].shape)
        for _ in range(2):
            value, g = fg.value_and_grad(lambda x, w=weights: fnp.sum(x[key] * w))(x)
            expected = np.zeros_like(x)
            np.add.at(expected, key, weights)
            np.testing.assert_allclose(value, np.sum(x[key] * weights))
            np.testing.assert_array_equal(g, expected)
    for _ in range(2):   # an index out of bounds raises each time (no plan is kept)
        with pytest.raises(IndexError):
            fg.grad(lambda x: fnp.sum(x[:, 3]))(np.ones((2, 3)))
