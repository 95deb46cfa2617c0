"""pad, and the array editing and index functions of funcgrad.numpy (issue 9).

Each function is checked against NumPy's value and dtype concretely and traced (its IR run
by the interpreter, as the first call of ``jit`` runs it) on several shapes and dtypes; the
differentiable ones with ``fg.check_grads`` to second order in both modes; a few under
``vmap`` against a loop and under ``jit`` against eager.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import assert_matches, traced

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

rng = np.random.default_rng(90210)
X34 = rng.uniform(-2.0, 2.0, (3, 4))
F32 = rng.uniform(-2.0, 2.0, (2, 3)).astype(np.float32)
INTS = rng.integers(-5, 6, (3, 4))
V5 = rng.uniform(-2.0, 2.0, 5)
CUBE = rng.uniform(-2.0, 2.0, (2, 3, 2))


def check_values(fn, *args):
    """``fn(np, ...)`` against ``fn(fnp, ...)``, concrete and traced."""
    want = fn(np, *args)
    assert_matches(fn(fnp, *args), want, "concrete")
    assert_matches(traced(lambda *a: fn(fnp, *a), *args), want, "traced")


# -------------------------------------------------------------------------------------- pad

PAD_MODES = [
    ("constant", {}), ("constant", {"constant_values": ((1.5, 2.5), (3.5, -1.0))}),
    ("constant", {"constant_values": 7}), ("edge", {}), ("wrap", {}), ("reflect", {}),
    ("symmetric", {}), ("reflect", {"reflect_type": "odd"}),
    ("symmetric", {"reflect_type": "odd"}), ("linear_ramp", {}),
    ("linear_ramp", {"end_values": ((1, -2), (3, 4))}), ("maximum", {}),
    ("minimum", {"stat_length": 2}), ("mean", {}), ("mean", {"stat_length": ((1, 2), (3, 1))}),
    ("median", {}), ("median", {"stat_length": 3}),
]
# every form of pad_width: one int, (before, after), one pair per axis, wider than the
# array (reflect and wrap go round several times), and a dict of axes
PAD_WIDTHS = [2, (1, 3), ((2, 1), (0, 7)), ((9, 10), (5, 11)), {1: (2, 0)}]


@pytest.mark.parametrize("mode, options", PAD_MODES,
                         ids=[f"{m}-{'-'.join(o) or 'default'}" for m, o in PAD_MODES])
def test_pad_values_against_numpy(mode, options):
    for width in PAD_WIDTHS:
        for array in (X34, INTS, F32):
            check_values(lambda m, a, w=width: m.pad(a, w, mode, **options), array)
    if not any(np.ndim(v) == 2 for v in options.values()):
        check_values(lambda m, a: m.pad(a, (2, 5), mode, **options), V5)
        check_values(lambda m, a: m.pad(a, 1, mode, **options), CUBE)


def test_pad_empty_mode_and_edge_cases():
    # 'empty' leaves NumPy's pad area unset; traced it is zeros (as jax.numpy's)
    got = traced(lambda a: fnp.pad(a, ((1, 0), (2, 1)), "empty"), X34)
    assert got.shape == (4, 7) and got.dtype == X34.dtype
    np.testing.assert_array_equal(got[1:, 2:-1], X34)
    np.testing.assert_array_equal(got[0], 0.0)
    assert fnp.pad(X34, 1, "empty").shape == (5, 6)
    # an axis of one value reflects as 'edge' (NumPy's legacy); empty axes only take constants
    check_values(lambda m, a: m.pad(a, 2, "reflect", reflect_type="odd"), X34[:1])
    check_values(lambda m, a: m.pad(a, ((1, 1), (0, 0)), "edge"), X34[:, :0])
    check_values(lambda m, a: m.pad(a, 1), X34[:, :0])
    with pytest.raises(ValueError, match="pad: can't extend the empty axis 1"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "edge"))(X34[:, :0])
    # a 0-d array has no axis to pad
    check_values(lambda m, a: m.pad(a, 3), np.float64(2.5))
    # booleans, complex numbers, unsigned bytes (rounded ramps), three axes
    check_values(lambda m, a: m.pad(a, 1, "edge"), X34 > 0)
    check_values(lambda m, a: m.pad(a, 1, constant_values=True), X34 > 0)
    check_values(lambda m, a: m.pad(a, 2, "reflect", reflect_type="odd"), X34 + 1j * X34)
    check_values(lambda m, a: m.pad(a, 2, "linear_ramp", end_values=1j), X34 - 2j)
    check_values(lambda m, a: m.pad(a, 3, "linear_ramp", end_values=200),
                 np.array([1, 100, 5], np.uint8))
    check_values(lambda m, a: m.pad(a, ((1, 0), (0, 2), (3, 1)), "median", stat_length=(1, 2)),
                 CUBE)


def test_pad_errors_name_the_argument():
    with pytest.raises(fg.ConcretizationError, match="pad.*'pad_width'"):
        fg.jit(lambda a, w: fnp.pad(a, w))(X34, 2)
    with pytest.raises(ValueError, match="pad: mode 'spiral' is not supported"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "spiral"))(X34)
    with pytest.raises(ValueError, match="unsupported keyword.*'edge'.*constant_values"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "edge", constant_values=1))(X34)
    with pytest.raises(TypeError, match="pad_width.*integral"):
        fg.make_ir(lambda a: fnp.pad(a, 1.5))(X34)
    with pytest.raises(ValueError, match="pad_width.*negative"):
        fg.make_ir(lambda a: fnp.pad(a, -1))(X34)
    with pytest.raises(ValueError, match="reflect_type"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "reflect", reflect_type="sideways"))(X34)
    with pytest.raises(ValueError, match="stat_length of 0"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "maximum", stat_length=0))(X34)


@pytest.mark.parametrize("mode, options", PAD_MODES,
                         ids=lambda v: v if isinstance(v, str) else "-".join(v) or "default")
def test_pad_derivatives_to_second_order(mode, options):
    fg.check_grads(lambda a: fnp.pad(a, ((2, 5), (4, 1)), mode, **options), (X34,), order=2,
                   modes=("fwd", "rev"))


def test_pad_derivatives_in_the_values_it_pads_with():
    fg.check_grads(lambda a, c: fnp.pad(a, ((2, 3), (4, 1)), constant_values=c),
                   (X34, np.array([[1.0, 2.0], [3.0, 4.0]])), order=2, modes=("fwd", "rev"))
    fg.check_grads(lambda a, e: fnp.pad(a, ((2, 3), (4, 1)), "linear_ramp", end_values=e),
                   (X34, np.array([1.0, 2.0])), order=2, modes=("fwd", "rev"))
    # each input element's derivative counts its copies
    grad = fg.grad(lambda a: fnp.sum(fnp.pad(a, 2, "edge")))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(grad, [3.0, 1.0, 3.0])
    grad = fg.grad(lambda c: fnp.sum(fnp.pad(X34, 1, constant_values=c)))(0.5)
    np.testing.assert_allclose(grad, 5 * 6 - 12)


def test_pad_with_a_function_follows_jax_and_numpy():
    def jax_style(vector, width, axis, options):   # returns the padded vector
        return vector.at[:width[0]].set(options.get("value", 9.0))

    def numpy_style(vector, width, axis, options):   # edits it in place
        vector[:width[0]] = 9.0

    want = np.pad(X34, 1, numpy_style)
    assert_matches(traced(lambda a: fnp.pad(a, 1, jax_style), X34), want, "traced")
    assert_matches(fnp.pad(X34, 1, numpy_style), want, "concrete, in place")
    assert_matches(fnp.pad(X34, 1, jax_style),
                   want, "concrete, returned")


def test_pad_under_vmap_and_jit():
    def f(a):
        return (fnp.pad(a, 3, "reflect", reflect_type="odd"), fnp.pad(a, (1, 2), "mean"),
                fnp.pad(a, 2, "linear_ramp", end_values=(1.0, -1.0)))

    out = fg.vmap(f)(X34)
    for i, row in enumerate(X34):
        assert_matches([o[i] for o in out], f(row), "vmap row")
    jitted = fg.jit(lambda a: fnp.pad(a, ((1, 2), (3, 0)), "symmetric"))
    for array in (X34, X34 * 2.0):
        assert_matches(jitted(array), np.pad(array, ((1, 2), (3, 0)), "symmetric"), "jit")
    assert isinstance(fnp.pad(X34, 1), fg.Array)


# ------------------------------------------------------------------ editing, index builders

IDX = rng.integers(0, 3, (3, 4))
MASK = X34 > 0.2

EDIT_CASES = [
    ("block_2x2", lambda m, a, b: m.block([[a, b], [b, a]]), X34[:2], X34[1:]),
    ("block_row_scalars", lambda m, a: m.block([a, 1.5, a]), V5),
    ("block_3d", lambda m, a: m.block([[[a]], [[a]]]), X34),
    ("block_promotes", lambda m, a, b: m.block([[a], [b]]), F32, INTS[:1, :3]),
    ("choose", lambda m, x, y, z: m.choose(IDX, [x, y, z]), X34, X34 * 2, V5[:4]),
    ("choose_clip", lambda m, x, y: m.choose(IDX - 1, [x, y], mode="clip"), X34, -X34),
    ("choose_wrap_traced", lambda m, i, x, y: m.choose(i, [x, y], mode="wrap"), INTS, X34,
     F32[:1, :1].astype(np.float64)),
    ("compress_axis0", lambda m, a: m.compress([True, False, True], a, axis=0), X34),
    ("compress_short", lambda m, a: m.compress([False, True], a, axis=1), X34),
    ("compress_flat", lambda m, a: m.compress(MASK.ravel(), a), X34),
    ("extract", lambda m, a: m.extract(MASK, a), X34),
    ("extract_ints", lambda m, a: m.extract(INTS % 2, a), INTS),
    ("diagflat", lambda m, v: m.diagflat(v, -1), X34[:2]),
    ("resize_grow", lambda m, a: m.resize(a, (4, 5)), X34),
    ("resize_cut", lambda m, a: m.resize(a, 7), INTS),
    ("rollaxis", lambda m, a: m.rollaxis(a, 2), CUBE),
    ("rollaxis_start", lambda m, a: m.rollaxis(a, 0, 3), CUBE),
    ("rollaxis_negative", lambda m, a: m.rollaxis(a, -1, -2), CUBE),
    ("geomspace", lambda m, a, b: m.geomspace(a, b, 5), np.float64(0.5), np.float64(8.0)),
    ("geomspace_negative_open", lambda m, a: m.geomspace(a, -2.0, 4, endpoint=False),
     np.float64(-0.5)),
    ("geomspace_arrays_axis", lambda m, a, b: m.geomspace(a, b, 3, axis=1),
     np.array([1.0, 2.0]), np.array([10.0, 3.0])),
    ("geomspace_f32", lambda m, a: m.geomspace(a, 4.0, 3), np.float32(0.5)),
    ("ix_", lambda m, i, j: m.ix_(i, j), np.array([0, 2]), np.array([1, 3, 0])),
    ("ravel_multi_index_clip", lambda m, i, j: m.ravel_multi_index((i, j), (3, 4),
                                                                  mode="clip"),
     np.array([0, 2, 5]), np.array([-1, 3, 1])),
    ("ravel_multi_index_wrap_F", lambda m, i, j: m.ravel_multi_index(
        (i, j), (3, 4), mode=("wrap", "clip"), order="F"), np.array([0, 2, -5]),
     np.array([1, 3, 1])),
    ("unravel_index", lambda m, i: m.unravel_index(i, (3, 4)), np.array([0, 5, 11])),
    ("unravel_index_F", lambda m, i: m.unravel_index(i, (2, 3, 2), order="F"),
     np.array([[0, 7], [11, 3]])),
]


@pytest.mark.parametrize("fn, args", [pytest.param(f, a, id=n) for n, f, *a in EDIT_CASES])
def test_editing_values_against_numpy(fn, args):
    check_values(fn, *args)


def _numpy_in_place(edit):
    def run(a, *args, **options):
        copy = np.array(a)
        assert edit(copy, *args, **options) is None
        return copy
    return run


IN_PLACE = [
    ("put", np.put, fnp.put, (X34, [0, 5, 11], [-1.0, -2.0]), {}),
    ("put_wrap", np.put, fnp.put, (X34, [1, 14, -1], 9.0), {"mode": "wrap"}),
    ("put_clip_ints", np.put, fnp.put, (INTS, [30, -3], [7, 8, 9]), {"mode": "clip"}),
    ("place", np.place, fnp.place, (X34, MASK, [1.0, 2.0, 3.0]), {}),
    ("place_f32", np.place, fnp.place, (F32, F32 < 0, [5.0]), {}),
    ("put_along_axis", np.put_along_axis, fnp.put_along_axis,
     (X34, np.array([[0], [2], [1]]), 9.0, 1), {}),
    ("put_along_axis_rows", np.put_along_axis, fnp.put_along_axis,
     (X34, np.array([[2, 0, 1, 1]]), -X34[:1], 0), {}),
    ("put_along_axis_none", np.put_along_axis, fnp.put_along_axis,
     (X34, np.array([3, 7]), 0.5, None), {}),
    ("fill_diagonal", np.fill_diagonal, fnp.fill_diagonal, (X34, [1.0, 2.0]), {}),
    ("fill_diagonal_tall_wrap", np.fill_diagonal, fnp.fill_diagonal,
     (np.zeros((7, 3)), 4.0, True), {}),
    ("fill_diagonal_wide_wrap", np.fill_diagonal, fnp.fill_diagonal,
     (np.zeros((3, 7)), [1.0, 2.0], True), {}),
    ("place_no_true", np.place, fnp.place, (X34, X34 > 5, [7.0]), {}),
    ("put_negative", np.put, fnp.put, (X34, [-1, -12], [5.0]), {}),
    ("fill_diagonal_cube", np.fill_diagonal, fnp.fill_diagonal, (np.zeros((2, 2, 2)), 3),
     {}),
]


@pytest.mark.parametrize("numpy_fn, fn, args, options",
                         [pytest.param(*case[1:], id=case[0]) for case in IN_PLACE])
def test_in_place_functions(numpy_fn, fn, args, options):
    want = _numpy_in_place(numpy_fn)(*args, **options)
    # a NumPy array is edited in place, as by NumPy
    array = np.array(args[0])
    assert fn(array, *args[1:], **options) is None
    assert_matches(array, want, "in place")
    # inplace=False returns the edited copy, concrete and traced
    assert_matches(fn(args[0], *args[1:], inplace=False, **options), want, "copy")
    assert_matches(traced(lambda a: fn(a, *args[1:], inplace=False, **options), args[0]), want,
                   "traced")
    with pytest.raises(TypeError, match=r"inplace=False.*\.at\["):
        fg.jit(lambda a: fn(a, *args[1:], **options))(args[0])


def test_value_dependent_editing():
    # compress/extract with a traced condition need size= (padded with fill_value)
    for transform in (fg.jit, fg.vmap):
        with pytest.raises(fg.ConcretizationError, match="compress.*size="):
            transform(lambda c: fnp.compress(c, V5))(V5[None] > 0 if transform is fg.vmap
                                                     else V5 > 0)
    got = traced(lambda c, a: fnp.extract(c, a, size=6, fill_value=-9.0), MASK, X34)
    want = np.extract(MASK, X34)
    np.testing.assert_array_equal(got[:len(want)], want[:6])
    np.testing.assert_array_equal(got[len(want):], -9.0)
    got = traced(lambda c, a: fnp.compress(c, a, axis=1, size=2), np.array([0, 1, 1, 1]) > 0,
                 X34)
    np.testing.assert_array_equal(got, X34[:, 1:3])
    # trim_zeros: known values (concrete, or under grad) are fine; traced ones are not
    z = np.array([0.0, 0.0, 1.5, 0.0, 2.0, 0.0])
    for trim in ("fb", "f", "B"):
        assert_matches(fnp.trim_zeros(z, trim), np.trim_zeros(z, trim), trim)
    grad = fg.grad(lambda v: fnp.sum(fnp.trim_zeros(v, "f") ** 2))(z)
    np.testing.assert_array_equal(grad, np.where(np.arange(6) >= 2, 2 * z, 0.0))
    m2 = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 2], [0, 0, 0]])
    recorded = fg.vjp(lambda v: fnp.trim_zeros(v, axis=0), m2 * 1.0)[0]   # values known
    assert_matches(recorded, np.trim_zeros(m2 * 1.0, axis=0), "recorded")
    with pytest.raises(fg.ConcretizationError, match="trim_zeros"):
        fg.jit(fnp.trim_zeros)(z)
    # choose with mode='raise' checks indices it knows, and asks for wrap/clip otherwise
    with pytest.raises(fg.ConcretizationError, match="choose.*mode='wrap'"):
        fg.jit(lambda i: fnp.choose(i, [X34, X34]))(IDX % 2)
    with pytest.raises(ValueError, match="choose: a out of range"):
        fg.make_ir(lambda x: fnp.choose(IDX, [x, x]))(X34)
    with pytest.raises(ValueError, match="choose: a out of range"):   # (as NumPy's)
        fg.make_ir(lambda x: fnp.choose(-1, [x, x]))(X34)


def test_index_builders():
    for got, want in ((fnp.diag_indices(3, 3), np.diag_indices(3, 3)),
                      (fnp.diag_indices_from(np.zeros((4, 4))), np.diag_indices(4)),
                      (fnp.tril_indices_from(X34, -1), np.tril_indices_from(X34, -1)),
                      (fnp.triu_indices_from(X34, 1), np.triu_indices_from(X34, 1)),
                      (fnp.mask_indices(3, np.triu, 1), np.mask_indices(3, np.triu, 1)),
                      (fnp.mask_indices(3, fnp.tril), np.mask_indices(3, np.tril)),
                      (fnp.indices((2, 3)), np.indices((2, 3))),
                      (fnp.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)),
                      (fnp.ix_([True, False, True], [2, 0]), np.ix_([True, False, True], [2, 0]))):
        for g, w in zip(got, want):
            assert_matches(g, w, "indices")
    # the *_from functions read a traced array's shape only
    rows, cols = traced(lambda a: fnp.triu_indices_from(a[:, :3]), X34)
    np.testing.assert_array_equal(rows, np.triu_indices(3)[0])
    grad = fg.grad(lambda a: fnp.sum(a[fnp.diag_indices_from(a)] ** 2))(X34[:, :3])
    np.testing.assert_allclose(grad, np.diag(2 * np.diag(X34[:, :3])))
    with pytest.raises(fg.ConcretizationError, match="ravel_multi_index.*mode='wrap'"):
        fg.jit(lambda i: fnp.ravel_multi_index((i, i), (3, 4)))(np.array([1, 2]))
    # traced unravel_index clips positions out of bounds (jax.numpy's rule)
    positions = np.array([-3, 12, 40])
    got = eval_ir(fg.make_ir(lambda i: fnp.unravel_index(i, (3, 4)))(positions), [positions])
    np.testing.assert_array_equal(np.stack(got), [[0, 2, 2], [0, 3, 3]])


EDIT_GRADS = [
    ("block", lambda a, b: fnp.block([[a, b], [b, a]]), X34[:2], X34[1:]),
    ("choose", lambda x, y: fnp.choose(IDX % 2, [x, y]), X34, V5[:4]),
    ("choose_wrap", lambda x, y, z: fnp.choose(IDX + 2, [x, y, z], mode="wrap"), X34, -X34,
     X34 ** 2),
    ("compress", lambda a: fnp.compress([True, False, True], a, axis=0) ** 2, X34),
    ("extract_size", lambda a: fnp.extract(MASK, a, size=9), X34),
    ("place", lambda a, v: fnp.place(a, MASK, v, inplace=False), X34, V5[:2]),
    ("put", lambda a, v: fnp.put(a, [1, 3, 7], v, inplace=False), X34, V5[:3]),
    ("put_along_axis", lambda a, v: fnp.put_along_axis(a, np.array([[1], [0], [3]]), v, 1,
                                                       inplace=False), X34, V5[:3, None]),
    ("fill_diagonal", lambda a, v: fnp.fill_diagonal(a, v, inplace=False), X34, V5[:2]),
    ("diagflat", lambda v: fnp.diagflat(v, 1), X34[:2]),
    ("resize", lambda a: fnp.resize(a, (5, 3)) ** 2, X34[:2]),
    ("geomspace", lambda a, b: fnp.geomspace(a, b, 4), np.float64(0.5), np.float64(3.0)),
]


@pytest.mark.parametrize("fn, args", [pytest.param(f, a, id=n) for n, f, *a in EDIT_GRADS])
def test_editing_derivatives_to_second_order(fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_editing_under_vmap_and_jit():
    def f(x, i):
        return (fnp.choose(i, [x, -x], mode="clip"), fnp.put_along_axis(
            x, i[:1], 0.0, 0, inplace=False), fnp.resize(x, 7), fnp.unravel_index(i, (2, 3)))

    xs, ids = rng.uniform(-1, 1, (3, 2, 4)), rng.integers(0, 2, (3, 2, 4))
    out = fg.vmap(f)(xs, ids)
    for b in range(3):
        assert_matches([o[b] for o in fg.tree.leaves(out)], fg.tree.leaves(f(xs[b], ids[b])),
                       "vmap")
    jitted = fg.jit(lambda x, v: fnp.put(x, [0, 4], v, inplace=False))
    for v in (1.0, 2.0):
        want = X34.copy()
        np.put(want, [0, 4], v)
        assert_matches(jitted(X34, v), want, "jit")


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_put_of_no_indices_changes_nothing(mode):
    # NumPy takes an empty list of indices (a float64 array to it); funcgrad raised
    # "put: ind must be integers, got float64".
    a = np.arange(4.0)
    want = a.copy()
    np.put(want, [], [1.0], mode)
    assert_matches(fnp.put(a, [], [1.0], mode, inplace=False), want, "eager")
    assert_matches(traced(lambda x: fnp.put(x, [], [1.0], mode, inplace=False), a), want,
                   "traced")


def test_place_with_no_values_where_the_mask_is_true_raises():
    # NumPy raises "Cannot insert from an empty array!"; traced, funcgrad returned the array
    # unchanged. With an all-false mask there is nothing to fill, in both.
    a = np.arange(4.0)
    with pytest.raises(ValueError, match="empty"):
        np.place(a.copy(), a > 1, [])
    with pytest.raises(ValueError, match="place: vals is empty"):
        fg.make_ir(lambda x: fnp.place(x, x > 1, [], inplace=False))(a)
    with pytest.raises(ValueError, match="place: vals is empty"):
        fg.make_ir(lambda x: fnp.place(x, a > 1, [], inplace=False))(a)
    none = np.zeros(4, bool)
    assert_matches(traced(lambda x: fnp.place(x, none, [], inplace=False), a), a, "no place")
