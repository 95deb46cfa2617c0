"""``fg.random``: the generator against known answers and a scalar reference, the
distributions against their definitions, and the same numbers eagerly, under ``jit`` and under
``vmap``. One jitted function draws from every distribution (one numba compile)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import random_reference

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import random as random_ops

KEY = fg.random.key(2024)

# ------------------------------------------------------------------------ the generator


@pytest.mark.parametrize("count, key, expected", [
    # Random123's known-answer tests for threefry2x32 with 20 rounds (kat_vectors):
    # counter words, key words, output words.
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
])
def test_threefry_known_answers(count, key, expected):
    words = [np.uint32(w) for w in key + count]
    assert tuple(int(w) for w in random_ops.threefry2x32(*words)) == expected
    assert random_reference.threefry_block(*key, *count) == expected


def test_vectorised_generator_matches_the_scalar_reference():
    for seed in (0, 1, 2**40 + 3):
        key = fg.random.key(seed)
        for shape in ((), (1,), (5,), (2, 3), (0,), (7, 5)):
            np.testing.assert_array_equal(fg.random.random_bits(key, shape),
                                          random_reference.bits(key, shape))
        np.testing.assert_array_equal(fg.random.split(key, 4), random_reference.split(key, 4))
        for data in (0, 7, 2**32 - 1, -1):
            np.testing.assert_array_equal(fg.random.fold_in(key, data),
                                          random_reference.fold_in(key, data))
        np.testing.assert_array_equal(fg.random.permutation(key, 9),
                                      random_reference.permutation(key, 9))


def test_the_numpy_and_python_integer_paths_agree():
    """Many blocks run as whole-array NumPy arithmetic, a few as Python integers."""
    words = np.random.default_rng(3).integers(0, 2**32, (4, 100), dtype=np.uint64)
    key0, key1, count0, count1 = words.astype(np.uint32)
    low, high = random_ops._threefry_arrays(key0, key1, count0, count1)
    blocks = [random_ops._threefry_block(*map(int, column)) for column in words.T]
    np.testing.assert_array_equal(low, [b[0] for b in blocks])
    np.testing.assert_array_equal(high, [b[1] for b in blocks])
    np.testing.assert_array_equal(np.stack(random_ops.threefry2x32(key0, key1, count0, count1)),
                                  np.stack([low, high]))


def test_the_lanes_of_one_python_integer_agree_with_single_blocks():
    """Up to ``_FEW_BLOCKS`` blocks share one Python integer, a 64-bit lane each; words near
    2**32 carry into the lane's upper half, which must never reach the next lane."""
    rng = np.random.default_rng(5)
    for count in (0, 2, 3, 5, random_ops._FEW_BLOCKS):
        words = rng.integers(0, 2**32, (4, count), dtype=np.uint64)
        words[:, :2] = 2**32 - 1   # the largest words: every sum carries
        key0, key1, count0, count1 = words.astype(np.uint32)
        low, high = random_ops._threefry_lanes(key0, key1, count0, count1)
        blocks = [random_ops._threefry_block(*map(int, column)) for column in words.T]
        assert low.dtype == high.dtype == np.uint32 and low.shape == (count,)
        np.testing.assert_array_equal(low, [b[0] for b in blocks])
        np.testing.assert_array_equal(high, [b[1] for b in blocks])
    grid = rng.integers(0, 2**32, (4, 2, 3), dtype=np.uint64).astype(np.uint32)
    np.testing.assert_array_equal(np.stack(random_ops.threefry2x32(*grid)),
                                  np.stack(random_ops._threefry_arrays(*grid)))


JITTED_BERNOULLI = fg.jit(fg.random.bernoulli, static_argnums=2)


def test_bernoulli_on_words_equals_the_comparison_of_uniforms():
    """A constant float32 (or float16) ``p`` compares the random words with one threshold;
    the booleans are those of the uniforms on ``p``'s grid below ``p``, at the edges too."""
    from funcgrad.random import _unit_interval
    key = fg.random.key(11)
    for dtype in (np.float32, np.float16):
        for p in (0.5, 0.7, 0.0, 1.0, 1.5, -0.25, np.nan, np.inf, 2.0**-24, 1 - 2.0**-24, 1e-9):
            p = np.asarray(p, dtype)
            expected = np.asarray(_unit_interval(key, (300, 7), np.dtype(dtype))) < \
                np.float64(p)
            # under jit (float32 only: numba has no float16) p is traced: the general path
            draws = (fg.random.bernoulli,) + ((JITTED_BERNOULLI,) if dtype == np.float32 else ())
            for draw in draws:
                mask = np.asarray(draw(key, p, (300, 7)))
                assert mask.dtype == np.bool_
                np.testing.assert_array_equal(mask, expected)


def test_a_batch_of_keys_is_one_evaluation_of_each_key():
    keys = fg.random.split(KEY, 3)
    batched = random_ops.random_bits(keys, (4,))
    for row, key in zip(batched, keys):
        np.testing.assert_array_equal(row, random_reference.bits(key, (4,)))


def test_key_from_seed():
    np.testing.assert_array_equal(fg.random.key(7), np.array([0, 7], np.uint32))
    np.testing.assert_array_equal(fg.random.key(2**32 + 5), np.array([1, 5], np.uint32))
    np.testing.assert_array_equal(fg.random.key(-1), np.array([2**32 - 1] * 2, np.uint32))
    assert fg.random.key(np.int64(3)).dtype == np.uint32


def test_keys_and_streams_are_distinct():
    child_a, child_b = fg.random.split(KEY)
    draws = [fg.random.random_bits(k, (8,)) for k in
             (KEY, child_a, child_b, fg.random.fold_in(KEY, 0), fg.random.fold_in(KEY, 1))]
    assert len({d.tobytes() for d in draws}) == len(draws)
    # The split keys are not the key's own bits (a separate counter stream).
    assert not np.array_equal(fg.random.split(KEY, 4).ravel(), fg.random.random_bits(KEY, (8,)))


def test_the_same_key_gives_the_same_numbers():
    for draw in (lambda k: fg.random.normal(k, (5,)), lambda k: fg.random.uniform(k, (5,)),
                 lambda k: fg.random.bernoulli(k, 0.5, (5,)),
                 lambda k: fg.random.permutation(k, 5)):
        np.testing.assert_array_equal(draw(KEY), draw(KEY.copy()))


# ------------------------------------------------------------------------ distributions

def test_uniform_values_range_and_dtype():
    u = fg.random.uniform(KEY, (100_000,))
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    # float64 uses 53 bits: every value is a multiple of 2**-53, and most need more than 32.
    assert np.all(u * 2.0**53 == np.floor(u * 2.0**53))
    assert np.mean(u * 2.0**32 != np.floor(u * 2.0**32)) > 0.99
    u32 = fg.random.uniform(KEY, (1000,), np.float32, minval=-2.0, maxval=3.0)
    assert u32.dtype == np.float32 and u32.min() >= -2.0 and u32.max() < 3.0
    with pytest.raises(TypeError, match="floating"):
        fg.random.uniform(KEY, (2,), np.int32)


def _normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_matches_the_normal_distribution(dtype):
    z = fg.random.normal(KEY, (200_000,), dtype)
    assert z.dtype == dtype and np.all(np.isfinite(z))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    # The empirical CDF at a few points, within 4 standard errors (1/sqrt(n) scale: 0.0045).
    for point in (-2.0, -0.5, 0.0, 1.0, 2.5):
        assert abs(np.mean(z < point) - _normal_cdf(point)) < 0.0045


def test_bernoulli_rate_shape_and_array_probabilities():
    mask = fg.random.bernoulli(KEY, 0.3, (100_000,))
    assert mask.dtype == np.bool_ and abs(mask.mean() - 0.3) < 0.006
    p = np.array([0.0, 1.0, 0.5], np.float32)
    sample = fg.random.bernoulli(KEY, p)
    assert sample.shape == (3,) and not sample[0] and sample[1]


def test_permutation_of_an_int_and_of_an_array():
    order = fg.random.permutation(KEY, 50)
    assert order.dtype == np.int64 and sorted(order.tolist()) == list(range(50))
    assert not np.array_equal(order, np.arange(50))
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(fg.random.permutation(KEY, x), x[fg.random.permutation(KEY, 4)])
    np.testing.assert_array_equal(fg.random.permutation(KEY, x, axis=1),
                                  x[:, fg.random.permutation(KEY, 3)])


def test_permutation_is_differentiable_in_the_array():
    x, weights = np.arange(5.0), np.arange(5.0) ** 2
    order = fg.random.permutation(KEY, 5)
    grad = fg.grad(lambda v: fnp.sum(fg.random.permutation(KEY, v) * weights))(x)
    np.testing.assert_array_equal(grad[order], weights)


# ------------------------------------------------------------ eagerly, jit and vmap agree

def draw_everything(key, step):
    """Every distribution and key operation from one key; ``step`` is a traced int."""
    child, other = fg.random.split(key)
    keys = fg.random.split(other, 4)
    return {
        "bits": fg.random.random_bits(key, (3, 5)),
        "split": fg.random.split(key, 3),
        "fold_in": fg.random.fold_in(key, step),
        "unit64": fg.random.uniform(child, (7,)),
        "uniform64": fg.random.uniform(child, (7,), minval=-1.0, maxval=2.0),
        "uniform32": fg.random.uniform(child, (7,), np.float32),
        "normal64": fg.random.normal(child, (2, 3)),
        "normal32": fg.random.normal(child, (2, 3), np.float32),
        "bernoulli": fg.random.bernoulli(child, 0.25, (9,)),
        "permutation": fg.random.permutation(child, 6),
        "shuffled": fg.random.permutation(child, fnp.arange(6.0) * 2.0),
        "vmapped_normal": fg.vmap(lambda k: fg.random.normal(k, (3,)))(keys),
    }


DRAW_EVERYTHING = fg.jit(draw_everything)


def _assert_draws_equal(got, want, float64_rtol):
    assert got.keys() == want.keys()
    for name in want:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        assert g.dtype == w.dtype and g.shape == w.shape, name
        if name in ("uniform64", "normal64", "vmapped_normal"):
            np.testing.assert_allclose(g, w, rtol=float64_rtol, atol=float64_rtol, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def test_same_numbers_eagerly_and_under_jit():
    """Integers, uniforms on [0, 1), Bernoulli masks and float32 normals are bitwise equal.
    float64 normals may differ by a few ulps, as the compiled log and cos are funcgrad's
    vectorisable ones (within a few ulps of NumPy's, see funcgrad/backend/fastmath.py), and a
    uniform on another range by one ulp (``u * (high - low) + low`` may become a fused
    multiply-add in compiled code)."""
    eager = draw_everything(KEY, np.int64(11))
    _assert_draws_equal(DRAW_EVERYTHING(KEY, np.int64(11)), eager, 0.0)   # interpreter
    compiled = DRAW_EVERYTHING.compile(KEY, np.int64(11))(KEY, np.int64(11))
    _assert_draws_equal(compiled, eager, 1e-14)
    # Compiled bits and splits come from the Threefry kernel, not from NumPy calls.
    source = DRAW_EVERYTHING.source(KEY, np.int64(11))
    assert "_threefry2x32(" in source
    assert ": random_split\n" in source and ": random_bits\n" in source   # kernel comments
    # The key is an ordinary argument: a new key reuses the compiled program.
    other = fg.random.key(5)
    _assert_draws_equal(DRAW_EVERYTHING(other, np.int64(3)), draw_everything(other, 3), 1e-14)
    assert DRAW_EVERYTHING.recompiles == []


def test_vmap_over_keys_matches_a_loop():
    keys = fg.random.split(KEY, 5)
    steps = np.arange(5)
    batched = fg.vmap(draw_everything)(keys, steps)
    for i in range(5):
        _assert_draws_equal({k: v[i] for k, v in batched.items()},
                            draw_everything(keys[i], steps[i]), 0.0)
    # A batch laid out along axis 1, and a key shared by every example.
    np.testing.assert_array_equal(
        fg.vmap(lambda k: fg.random.uniform(k, (2,)), in_axes=1)(keys.T),
        np.stack([fg.random.uniform(k, (2,)) for k in keys]))
    folded = fg.vmap(fg.random.fold_in, in_axes=(None, 0))(KEY, steps)
    np.testing.assert_array_equal(folded, np.stack([fg.random.fold_in(KEY, s) for s in steps]))


# ----------------------------------------------------------------------------- misuse

def test_bad_keys_are_clear_type_errors():
    with pytest.raises(TypeError, match=r"fg.random.normal: expected a key.*float64\[2\]"):
        fg.random.normal(np.zeros(2), (3,))
    with pytest.raises(TypeError, match=r"uint32\[4, 2\].*fg.vmap"):
        fg.random.uniform(fg.random.split(KEY, 4), (3,))
    with pytest.raises(TypeError, match="seed must be an int"):
        fg.random.key(1.5)
    with pytest.raises(TypeError, match="seed is traced"):
        fg.grad(lambda x: fg.random.key(x))(1.0)
    with pytest.raises(TypeError, match="integer scalar"):
        fg.random.fold_in(KEY, 1.0)
    with pytest.raises(ValueError, match="negative dimension"):
        fg.random.normal(KEY, (-1,))
    with pytest.raises(TypeError, match=r"shape must be a tuple of ints, got \(2.5, 3\)"):
        fg.random.normal(KEY, (2.5, 3))   # it drew a (2, 3) sample
    assert fg.random.uniform(KEY, (np.int64(2), 3)).shape == (2, 3)
    # a traced size said "shape must be a tuple of ints, got (Tracer<i64[]>,)", permutation's
    # "x must be an int or an array of rank >= 1"
    with pytest.raises(fg.ConcretizationError, match="normal: a size in the shape is a traced"):
        fg.jit(lambda k, n: fg.random.normal(k, (n, 2)))(KEY, 3)
    with pytest.raises(fg.ConcretizationError, match="permutation: n is a traced.*static_argn"):
        fg.jit(lambda k, n: fg.random.permutation(k, n))(KEY, 5)
