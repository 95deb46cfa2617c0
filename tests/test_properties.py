"""Property-based tests (hypothesis): ``funcgrad.numpy`` against NumPy, and funcgrad's
transformations against each other, over random shapes, dtypes, indices and programs.

Every property runs ``fnp`` on traced values (under ``jvp`` with zero tangents, and batched
under ``vmap``) and compares values, shapes and dtypes with NumPy on the same inputs. The
number of examples is kept small so the file runs in seconds; set
``FUNCGRAD_PROPERTY_SCALE=20`` to hunt with twenty times as many. The ``jit`` properties
compile three programs (fixed shapes and dtypes) once each and run them on many values.
"""
import collections
import os
import string
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp

_SCALE = int(os.environ.get("FUNCGRAD_PROPERTY_SCALE", "1"))


def examples(n: int):
    """``settings`` for a property: ``n`` examples (times the scale), no deadline."""
    return settings(max_examples=n * _SCALE, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ------------------------------------------------------------------------------ strategies

DTYPES = [np.float64, np.float32, np.int64, np.bool_]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def elements(dtype, special: bool = False):
    """Small values of ``dtype``; floats optionally with nan, infinities and signed zeros."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return st.booleans()
    if dtype.kind == "i":
        return st.integers(-5, 5)
    values = st.floats(-4, 4, width=dtype.itemsize * 8)
    return st.one_of(values, st.sampled_from(SPECIAL)) if special else values


def arrays(dtype, shape, special: bool = False):
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype, special))


# ------------------------------------------------------------------------------ evaluation

def traced(f, *args):
    """``f(*args)`` evaluated with every argument traced (``jvp`` with zero tangents)."""
    return fg.jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]


def batched(f, *args):
    """``f(*args)`` evaluated under ``vmap``, as row 1 of a batch of two copies."""
    out = fg.vmap(f)(*[np.stack([a, a]) for a in args])
    return fg.tree.map(lambda x: np.asarray(x)[1], out)


def numpy_or_error(f, *args):
    """``(result, None)``, or ``(None, exception)`` when NumPy refuses the inputs."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f(*args), None
        except (TypeError, ValueError, IndexError) as error:
            return None, error


def quiet(f, *args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args)


def assert_same(got, want, what=""):
    """Same pytree structure, and leafwise the same shape, dtype and values (nan == nan)."""
    got_leaves, got_tree = fg.tree.flatten(got)
    want_leaves, want_tree = fg.tree.flatten(want)
    assert got_tree == want_tree, f"{what}: structure {got_tree} != {want_tree}"
    for g, w in zip(got_leaves, want_leaves):
        assert isinstance(g, (np.ndarray, np.generic)), f"{what}: got a {type(g).__name__}"
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != {w.dtype}"
        if w.dtype.kind in "fc":
            rtol = 1e-5 if w.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True,
                                       err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


def _inner(a, b):
    """The inner product of two pytrees of arrays."""
    return sum(float(np.sum(np.asarray(u, np.float64) * np.asarray(v, np.float64)))
               for u, v in zip(fg.tree.leaves(a), fg.tree.leaves(b)))


def _close(got, want, rtol=1e-7, what=""):
    """Leafwise close (for derivatives computed two ways)."""
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=rtol,
                                   err_msg=what)


def check_against_numpy(fnp_fn, np_fn, *args, batch: bool = True):
    """``fnp_fn`` on traced (and vmapped) ``args`` equals ``np_fn`` on the same arrays; where
    NumPy raises, funcgrad raises too."""
    want, error = numpy_or_error(np_fn, *args)
    evaluations = [("traced", traced)] + ([("vmapped", batched)] if batch else [])
    for name, evaluate in evaluations:
        if error is not None:
            with pytest.raises((TypeError, ValueError, IndexError)):
                quiet(evaluate, fnp_fn, *args)
        else:
            assert_same(quiet(evaluate, fnp_fn, *args), want, name)
    return want


# -------------------------------------------------------------------- elementwise functions

UNARY = ["negative", "positive", "square", "sqrt", "cbrt", "abs", "absolute", "sign", "exp",
         "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
         "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "floor",
         "ceil", "round", "reciprocal", "sinc", "isnan", "isinf", "isfinite", "logical_not"]
BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power",
          "maximum", "minimum", "fmax", "fmin", "arctan2", "hypot", "logaddexp", "logaddexp2",
          "mod", "remainder", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal", "logical_and", "logical_or", "logical_xor"]
PYTHON_SCALARS = [2, -1, 0, True, False, 0.5, -2.5, 3.0]


@examples(150)
@given(st.sampled_from(UNARY), st.sampled_from(DTYPES), shapes, st.data())
def test_unary_matches_numpy(name, dtype, shape, data):
    x = data.draw(arrays(dtype, shape, special=True), label="x")
    if name == "reciprocal" and dtype != np.float64 and dtype != np.float32:
        x = np.where(x == 0, 1, x).astype(dtype)   # NumPy's 1 // 0 is an overflow
    check_against_numpy(getattr(fnp, name), getattr(np, name), x)


@examples(200)
@given(st.sampled_from(BINARY), st.sampled_from(DTYPES), st.sampled_from(DTYPES),
       hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), st.data())
def test_binary_broadcasting_matches_numpy(name, dtype_x, dtype_y, shapes_xy, data):
    x = data.draw(arrays(dtype_x, shapes_xy.input_shapes[0], special=True), label="x")
    y = data.draw(arrays(dtype_y, shapes_xy.input_shapes[1], special=True), label="y")
    if name == "power":   # NumPy refuses negative integer powers of integers
        y = np.abs(y) if y.dtype.kind == "i" else y
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, y)


@examples(150)
@given(st.sampled_from(BINARY), st.sampled_from(DTYPES), shapes,
       st.sampled_from(PYTHON_SCALARS), st.booleans(), st.data())
def test_binary_with_python_scalar_matches_numpy(name, dtype, shape, scalar, scalar_first,
                                                 data):
    """Python scalars are weak (NEP 50): they take the array's dtype where they fit it."""
    x = data.draw(arrays(dtype, shape, special=True), label="x")
    if name == "power" and scalar_first:
        x = np.abs(x) if x.dtype.kind == "i" else x
    if name == "power" and not scalar_first and isinstance(scalar, int) and scalar < 0:
        scalar = -scalar
    np_fn, fnp_fn = getattr(np, name), getattr(fnp, name)
    if scalar_first:
        check_against_numpy(lambda a: fnp_fn(scalar, a), lambda a: np_fn(scalar, a), x)
    else:
        check_against_numpy(lambda a: fnp_fn(a, scalar), lambda a: np_fn(a, scalar), x)


OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
             "**": lambda a, b: a ** b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
             ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b,
             "!=": lambda a, b: a != b}


@examples(100)
@given(st.sampled_from(sorted(OPERATORS)), st.sampled_from(DTYPES), st.sampled_from(DTYPES),
       hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), st.data())
def test_operators_match_numpy(op, dtype_x, dtype_y, shapes_xy, data):
    """Traced operands on either side of an operator, the other side a NumPy array."""
    x = data.draw(arrays(dtype_x, shapes_xy.input_shapes[0], special=True), label="x")
    y = data.draw(arrays(dtype_y, shapes_xy.input_shapes[1], special=True), label="y")
    if op == "**":
        y = np.abs(y) if y.dtype.kind == "i" else y
    function = OPERATORS[op]
    # NumPy's ``array ** 2`` is ``square`` (int8 for booleans, where ``power`` gives int64).
    reference = np.power if op == "**" else function
    want = check_against_numpy(function, reference, x, y)
    if want is not None:   # only the right operand traced: NumPy's operator steps aside
        assert_same(quiet(traced, lambda b: function(x, b), y), want, "reflected")
    scalar = data.draw(st.sampled_from(PYTHON_SCALARS), label="scalar")
    if op == "**" and x.dtype.kind == "i" and isinstance(scalar, int) and scalar < 0:
        scalar = -scalar
    check_against_numpy(lambda a: function(a, scalar), lambda a: reference(a, scalar), x)
    if op == "**":
        x = np.abs(x) if x.dtype.kind == "i" else x
    check_against_numpy(lambda a: function(scalar, a), lambda a: reference(scalar, a), x)


@examples(60)
@given(st.sampled_from(["&", "|", "^", "~", "<<", ">>"]), st.sampled_from(DTYPES),
       st.sampled_from(DTYPES + [True, 1]),
       hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), st.data())
def test_bitwise_operators_match_numpy(op, dtype_x, other, shapes_xy, data):
    """``& | ^ ~ << >>`` on traced values are NumPy's: logical on booleans, bitwise on
    integers (NumPy's dtypes), NumPy's TypeError for floats."""
    x = data.draw(arrays(dtype_x, shapes_xy.input_shapes[0]), label="x")
    y = other if not isinstance(other, type) else data.draw(
        arrays(other, shapes_xy.input_shapes[1]), label="y")
    function = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
                "~": lambda a, b: ~a, "<<": lambda a, b: a << b,
                ">>": lambda a, b: a >> b}[op]
    for f, g in ((lambda a: function(a, y), lambda a: function(a, y)),
                 (lambda a: function(y, a) if op != "~" else ~a,
                  lambda a: function(y, a) if op != "~" else ~a)):
        want, error = numpy_or_error(g, x)
        if error is None:
            assert_same(quiet(traced, f, x), want, op)
        elif isinstance(error, TypeError):
            with pytest.raises(TypeError):
                traced(f, x)


@examples(60)
@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), st.sampled_from(DTYPES),
       hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), st.data())
def test_where_and_clip_match_numpy(dtype_c, dtype_x, dtype_y, shapes_cxy, data):
    c, x, y = (data.draw(arrays(d, s, special=True)) for d, s in
               zip((dtype_c, dtype_x, dtype_y), shapes_cxy.input_shapes))
    check_against_numpy(fnp.where, np.where, c, x, y)
    check_against_numpy(lambda a: fnp.where(c, a, y), lambda a: np.where(c, a, y), x)
    if x.dtype == y.dtype and dtype_c != np.bool_:
        with np.errstate(invalid="ignore"):   # special values (nan, inf) cast to integers
            bound = c.astype(x.dtype)
        check_against_numpy(fnp.clip, np.clip, x, y, bound)


# ----------------------------------------------------------------------------- reductions

REDUCTIONS = ["sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "all", "any"]
SINGLE_AXIS = ["argmax", "argmin", "cumsum", "cumprod"]


@st.composite
def axes_for(draw, ndim: int, single: bool = False):
    """None, an axis (maybe negative) or a tuple of distinct axes of an ``ndim``-d array."""
    if ndim == 0:
        return None
    choices = [st.none(), st.integers(-ndim, ndim - 1)]
    if not single:
        choices.append(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(
            lambda axes: tuple(a - ndim if a % 2 else a for a in axes)))
    return draw(st.one_of(*choices))


@examples(200)
@given(st.sampled_from(REDUCTIONS + SINGLE_AXIS), st.sampled_from(DTYPES), shapes,
       st.booleans(), st.data())
def test_reductions_match_numpy(name, dtype, shape, keepdims, data):
    x = data.draw(arrays(dtype, shape, special=data.draw(st.booleans())), label="x")
    axis = data.draw(axes_for(len(shape), single=name in SINGLE_AXIS), label="axis")
    kwargs = {"axis": axis}
    if name not in ("cumsum", "cumprod"):
        kwargs["keepdims"] = keepdims
    if name in ("var", "std"):
        kwargs["ddof"] = data.draw(st.integers(0, 1), label="ddof")
    np_fn, fnp_fn = getattr(np, name), getattr(fnp, name)
    check_against_numpy(lambda a: fnp_fn(a, **kwargs), lambda a: np_fn(a, **kwargs), x)


# --------------------------------------------------------------------------- shape functions

@st.composite
def reshape_targets(draw, shape):
    """A shape with the same number of elements (one entry maybe -1)."""
    size = int(np.prod(shape))
    if size == 0:
        target = draw(st.permutations(list(shape) + [1] * draw(st.integers(0, 1))))
    else:
        factors = [p for s in shape for p in _prime_factors(s)]
        cuts = draw(st.lists(st.integers(0, len(factors)), max_size=3))
        bounds = [0] + sorted(cuts) + [len(factors)]
        target = [int(np.prod(factors[a:b])) for a, b in zip(bounds, bounds[1:])]
    if target and size and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


def _prime_factors(n: int):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@examples(60)
@given(st.sampled_from(DTYPES), shapes, st.data())
def test_reshape_transpose_moveaxis_match_numpy(dtype, shape, data):
    x = data.draw(arrays(dtype, shape), label="x")
    ndim = len(shape)
    target = data.draw(reshape_targets(shape), label="target")
    check_against_numpy(lambda a: fnp.reshape(a, target), lambda a: np.reshape(a, target), x)
    check_against_numpy(lambda a: a.reshape(target), lambda a: a.reshape(target), x)
    check_against_numpy(fnp.ravel, np.ravel, x)
    permutation = tuple(data.draw(st.permutations(range(ndim)), label="permutation"))
    check_against_numpy(lambda a: fnp.transpose(a, permutation),
                        lambda a: np.transpose(a, permutation), x)
    check_against_numpy(lambda a: a.T, lambda a: a.T, x)
    if ndim:
        axis = st.integers(-ndim, ndim - 1)
        source = data.draw(st.lists(axis, min_size=1, max_size=ndim,
                                    unique_by=lambda a: a % ndim), label="source")
        destination = data.draw(st.lists(axis, min_size=len(source), max_size=len(source),
                                         unique_by=lambda a: a % ndim), label="destination")
        check_against_numpy(lambda a: fnp.moveaxis(a, source, destination),
                            lambda a: np.moveaxis(a, source, destination), x)
        one, two = data.draw(axis), data.draw(axis)
        check_against_numpy(lambda a: fnp.swapaxes(a, one, two),
                            lambda a: np.swapaxes(a, one, two), x)
        squeezable = tuple(i for i, s in enumerate(shape) if s == 1)
        check_against_numpy(fnp.squeeze, np.squeeze, x)
        check_against_numpy(lambda a: fnp.squeeze(a, squeezable),
                            lambda a: np.squeeze(a, squeezable), x)
    new_axis = data.draw(st.integers(-ndim - 1, ndim), label="new_axis")
    check_against_numpy(lambda a: fnp.expand_dims(a, new_axis),
                        lambda a: np.expand_dims(a, new_axis), x)


@examples(60)
@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), nonempty_shapes, st.data())
def test_concatenate_stack_split_match_numpy(dtype_x, dtype_y, shape, data):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1), label="axis")
    other = list(shape)
    other[axis] = data.draw(st.integers(0, 3), label="other length")
    x = data.draw(arrays(dtype_x, shape), label="x")
    y = data.draw(arrays(dtype_y, tuple(other)), label="y")
    check_against_numpy(lambda a, b: fnp.concatenate([a, b], axis),
                        lambda a, b: np.concatenate([a, b], axis), x, y)
    check_against_numpy(lambda a: fnp.concatenate([a, y, a], axis),
                        lambda a: np.concatenate([a, y, a], axis), x)
    check_against_numpy(lambda a: fnp.concatenate([a, y], None),
                        lambda a: np.concatenate([a, y], None), x)
    z = data.draw(arrays(dtype_y, shape), label="z")
    stack_axis = data.draw(st.integers(-ndim - 1, ndim), label="stack axis")
    check_against_numpy(lambda a, b: fnp.stack([a, b, a], stack_axis),
                        lambda a, b: np.stack([a, b, a], stack_axis), x, z)
    for name in ("hstack", "vstack"):
        check_against_numpy(lambda a, b, n=name: getattr(fnp, n)([a, b]),
                            lambda a, b, n=name: getattr(np, n)([a, b]), x, z)
    length = shape[axis]
    sections = data.draw(st.sampled_from([d for d in range(1, length + 1) if length % d == 0]))
    check_against_numpy(lambda a: fnp.split(a, sections, axis),
                        lambda a: np.split(a, sections, axis), x)
    points = data.draw(st.lists(st.integers(-length - 1, length + 1), max_size=3))
    check_against_numpy(lambda a: fnp.split(a, points, axis),
                        lambda a: np.split(a, points, axis), x)
    pieces = data.draw(st.integers(1, 4))
    check_against_numpy(lambda a: fnp.array_split(a, pieces, axis),
                        lambda a: np.array_split(a, pieces, axis), x)


@examples(80)
@given(st.sampled_from(DTYPES), shapes, st.data())
def test_flip_roll_tile_repeat_match_numpy(dtype, shape, data):
    x = data.draw(arrays(dtype, shape), label="x")
    ndim = len(shape)
    axes = data.draw(axes_for(ndim), label="flip axes")
    check_against_numpy(lambda a: fnp.flip(a, axes), lambda a: np.flip(a, axes), x)
    shift = data.draw(st.integers(-7, 7), label="shift")
    check_against_numpy(lambda a: fnp.roll(a, shift), lambda a: np.roll(a, shift), x)
    if ndim:
        roll_axes = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=3),
                              label="roll axes")
        shifts = data.draw(st.lists(st.integers(-7, 7), min_size=len(roll_axes),
                                    max_size=len(roll_axes)), label="shifts")
        check_against_numpy(lambda a: fnp.roll(a, shifts, roll_axes),
                            lambda a: np.roll(a, shifts, roll_axes), x)
        traced_shift = np.int64(shift)
        check_against_numpy(lambda a, s: fnp.roll(a, s, roll_axes[0]),
                            lambda a, s: np.roll(a, s, roll_axes[0]), x, traced_shift)
    reps = data.draw(st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), max_size=4)),
                     label="reps")
    check_against_numpy(lambda a: fnp.tile(a, reps), lambda a: np.tile(a, reps), x)
    repeats = data.draw(st.integers(0, 2), label="repeats")
    check_against_numpy(lambda a: fnp.repeat(a, repeats), lambda a: np.repeat(a, repeats), x)
    if ndim:
        axis = data.draw(st.integers(-ndim, ndim - 1), label="repeat axis")
        counts = data.draw(st.lists(st.integers(0, 2), min_size=shape[axis],
                                    max_size=shape[axis]), label="counts")
        check_against_numpy(lambda a: fnp.repeat(a, counts, axis),
                            lambda a: np.repeat(a, counts, axis), x)
    if ndim and shape[-1]:
        mode = data.draw(st.sampled_from(["raise", "wrap", "clip"]), label="mode")
        reach = shape[-1] if mode == "raise" else 2 * shape[-1] + 2
        where = data.draw(hnp.arrays(np.int64, data.draw(shapes.filter(lambda s: len(s) < 3)),
                                     elements=st.integers(-reach, reach - 1)), label="indices")
        check_against_numpy(lambda a: fnp.take(a, where, -1, mode=mode),
                            lambda a: np.take(a, where, -1, mode=mode), x)
        check_against_numpy(lambda a, i: fnp.take(a, i, -1, mode=mode),
                            lambda a, i: np.take(a, i, -1, mode=mode), x, where)
        check_against_numpy(lambda i: fnp.take(x, i, None, mode=mode),
                            lambda i: np.take(x, i, None, mode=mode), where)
    target = data.draw(hnp.broadcastable_shapes(shape, max_dims=4, max_side=3).map(
        lambda s: np.broadcast_shapes(s, shape)), label="broadcast to")
    check_against_numpy(lambda a: fnp.broadcast_to(a, target),
                        lambda a: np.broadcast_to(a, target), x)


@examples(60)
@given(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
       st.integers(-4, 4), st.data())
def test_diagonals_and_triangles_match_numpy(dtype, shape, k, data):
    x = data.draw(arrays(dtype, shape), label="x")
    ndim = len(shape)
    if ndim <= 2:
        check_against_numpy(lambda a: fnp.diag(a, k), lambda a: np.diag(a, k), x)
    check_against_numpy(lambda a: fnp.tril(a, k), lambda a: np.tril(a, k), x)
    check_against_numpy(lambda a: fnp.triu(a, k), lambda a: np.triu(a, k), x)
    if ndim >= 2:
        one, two = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=2, max_size=2,
                                      unique_by=lambda a: a % ndim), label="axes")
        check_against_numpy(lambda a: fnp.diagonal(a, k, one, two),
                            lambda a: np.diagonal(a, k, one, two), x)
        check_against_numpy(lambda a: fnp.trace(a, k, one, two),
                            lambda a: np.trace(a, k, one, two), x)


# ------------------------------------------------------------------------------ indexing

@st.composite
def indices_for(draw, shape):
    """A NumPy index for an array of ``shape``: ints (maybe negative), slices (any steps),
    None, at most one Ellipsis, integer arrays of broadcastable shapes and boolean masks."""
    index_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    items, axis, ellipsis = [], 0, False
    while axis < len(shape) or not items:
        # At most 3 new axes: NumPy's broadcasting functions stop at 32 dimensions.
        kinds = (["none"] if sum(item is None for item in items) < 3 else []) + ["stop"]
        kinds += [] if ellipsis else ["ellipsis"]
        if axis < len(shape):
            kinds += ["slice", "slice", "array", "mask"] + (["int"] if shape[axis] else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "stop":
            break
        if kind == "none":
            items.append(None)
        elif kind == "ellipsis":
            items.append(Ellipsis)
            ellipsis = True
            axis = max(axis, len(shape) - draw(st.integers(0, len(shape) - axis)))
        elif kind == "int":
            items.append(draw(st.integers(-shape[axis], shape[axis] - 1)))
            axis += 1
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-shape[axis] - 2, shape[axis] + 2))
            step = st.one_of(st.none(), st.integers(-3, 3).filter(bool))
            items.append(slice(draw(bound), draw(bound), draw(step)))
            axis += 1
        elif kind == "array":
            own = index_shape[draw(st.integers(0, len(index_shape))):]
            own = tuple(1 if draw(st.booleans()) else s for s in own)
            n = shape[axis]
            values = st.integers(-n, n - 1) if n else st.just(0)
            items.append(draw(hnp.arrays(np.int64, own, elements=values)) if n or not
                         int(np.prod(own)) else np.zeros(own, np.int64))
            axis += 1
        else:
            span = draw(st.integers(1, len(shape) - axis))
            items.append(draw(hnp.arrays(np.bool_, shape[axis:axis + span])))
            axis += span
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def _numpy_getitem(a, index):
    return a[index]


@examples(250)
@given(st.sampled_from(DTYPES), shapes, st.data())
def test_indexing_matches_numpy(dtype, shape, data):
    x = data.draw(arrays(dtype, shape), label="x")
    index = data.draw(indices_for(shape), label="index")
    want, error = numpy_or_error(_numpy_getitem, x, index)
    if error is not None:
        with pytest.raises(IndexError):
            traced(lambda a: a[index], x)
        return
    assert_same(traced(lambda a: a[index], x), want, "traced")
    assert_same(batched(lambda a: a[index], x), want, "vmapped")
    # Integer index arrays may be traced too (under vmap they are batched).
    arrays_at = [i for i, item in enumerate(index if isinstance(index, tuple) else (index,))
                 if isinstance(item, np.ndarray) and item.dtype == np.int64]
    if arrays_at:
        items = list(index) if isinstance(index, tuple) else [index]

        def gather(a, *index_arrays):
            for i, array in zip(arrays_at, index_arrays):
                items[i] = array
            return a[tuple(items) if isinstance(index, tuple) else items[0]]
        index_arrays = [items[i] for i in arrays_at]
        assert_same(traced(gather, x, *index_arrays), want, "traced indices")
        assert_same(batched(gather, x, *index_arrays), want, "vmapped indices")


@examples(200)
@given(st.sampled_from(DTYPES), shapes, st.sampled_from(["set", "add"]), st.data())
def test_at_set_add_match_numpy(dtype, shape, method, data):
    x = data.draw(arrays(dtype, shape), label="x")
    index = data.draw(indices_for(shape), label="index")
    target, error = numpy_or_error(_numpy_getitem, x, index)
    assume(error is None)
    value_shape = data.draw(hnp.broadcastable_shapes(target.shape, max_dims=target.ndim + 1,
                                                     max_side=3).filter(
        lambda s: np.broadcast_shapes(s, target.shape) == target.shape
        or (len(s) > target.ndim and set(s[:len(s) - target.ndim]) <= {1})), label="values")
    values = data.draw(arrays(dtype, value_shape), label="values")
    want = x.copy()
    if method == "set":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want, error = numpy_or_error(lambda w, v: w.__setitem__(index, v) or w, want, values)
    else:
        want, error = numpy_or_error(lambda w, v: np.add.at(w, index, v) or w, want, values)
    assume(error is None)

    def update(a, v):
        return getattr(a.at[index], method)(v)
    assert_same(traced(update, x, values), want, "traced")
    assert_same(batched(update, x, values), want, "vmapped")
    assert_same(traced(lambda a: getattr(fnp.at(a)[index], method)(values), x), want,
                "fnp.at")


@examples(120)
@given(shapes, st.sampled_from(["get", "set", "add"]), st.data())
def test_indexing_derivatives_are_consistent(shape, method, data):
    """Forward and reverse mode agree on gathers and scatters, repeated indices included
    (a repeated index in ``.set`` keeps NumPy's last write: the others get no gradient)."""
    x = data.draw(arrays(np.float64, shape), label="x")
    index = data.draw(indices_for(shape), label="index")
    region, error = numpy_or_error(_numpy_getitem, x, index)
    assume(error is None)
    v = data.draw(arrays(np.float64, region.shape), label="values")

    def f(a, b):
        if method == "get":
            return a[index] * b
        return getattr(fnp.at(a)[index], method)(b)
    out, vjp_fn = fg.vjp(f, x, v)
    tangents = (data.draw(arrays(np.float64, shape)), data.draw(arrays(np.float64, v.shape)))
    ct = data.draw(arrays(np.float64, np.shape(out)), label="ct")
    _, tangent_out = fg.jvp(f, (x, v), tangents)
    np.testing.assert_allclose(_inner(vjp_fn(ct), tangents), _inner(ct, tangent_out),
                               rtol=1e-9, atol=1e-9)
    if x.size * v.size <= 64:
        _close(fg.jacrev(f, argnums=(0, 1))(x, v), fg.jacfwd(f, argnums=(0, 1))(x, v),
               what="jacrev against jacfwd")


# -------------------------------------------------------------------------------- einsum

@st.composite
def einsum_problems(draw):
    """``(subscripts, operands)``: random valid subscripts (implicit or explicit output,
    repeated letters for diagonals, ellipses, size-1 axes that broadcast) and operands."""
    letters = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    sizes = {c: draw(st.integers(0, 3)) for c in letters}
    count = draw(st.integers(1, 3))
    use_ellipsis = draw(st.booleans())
    ellipsis_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    terms, operands = [], []
    for _ in range(count):
        term = draw(st.lists(st.sampled_from(letters), max_size=3))
        shape = [sizes[c] if sizes[c] != 1 and draw(st.integers(0, 4)) else
                 (1 if draw(st.booleans()) else sizes[c]) for c in term]
        # A letter repeated in one term has one size there.
        for i, c in enumerate(term):
            shape[i] = shape[term.index(c)]
        text = "".join(term)
        if use_ellipsis and draw(st.booleans()):
            own = ellipsis_shape[draw(st.integers(0, len(ellipsis_shape))):]
            own = tuple(1 if draw(st.booleans()) else s for s in own)
            at = draw(st.integers(0, len(term)))
            text = text[:at] + "..." + text[at:]
            shape = shape[:at] + list(own) + shape[at:]
        dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
        operands.append(draw(arrays(dtype, tuple(shape))))
        terms.append(text)
    subscripts = ",".join(terms)
    if draw(st.booleans()):
        used = sorted(set("".join(terms).replace(".", "")))
        output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
        if "..." in subscripts:
            at = draw(st.integers(0, len(output)))
            output = output[:at] + "..." + output[at:]
        subscripts += "->" + output
    return subscripts, operands


@examples(150)
@given(einsum_problems())
def test_einsum_matches_numpy(problem):
    subscripts, operands = problem
    want, error = numpy_or_error(lambda *ops: np.einsum(subscripts, *ops), *operands)
    assume(error is None)
    function = lambda *ops: fnp.einsum(subscripts, *ops)  # noqa: E731
    assert_same(traced(function, *operands), want, subscripts)
    assert_same(batched(function, *operands), want, subscripts)
    # Only the first operand traced: the others enter as constants.
    rest = operands[1:]
    assert_same(traced(lambda a: fnp.einsum(subscripts, a, *rest), operands[0]), want,
                subscripts)


# ------------------------------------------------------------------------------ products

@st.composite
def product_operands(draw, name):
    """Operands of random shapes (matching for the product where NumPy needs it)."""
    dtype_a, dtype_b = draw(st.sampled_from(DTYPES[:3])), draw(st.sampled_from(DTYPES[:3]))
    side = st.integers(0, 3)
    if name in ("matmul", "dot", "inner"):
        core = draw(side)
        shape_a = tuple(draw(st.lists(side, max_size=2))) + (core,)
        shape_b = tuple(draw(st.lists(side, max_size=2)))
        if name == "inner":
            shape_b = shape_b + (core,)
        elif shape_b and draw(st.booleans()):
            shape_b = shape_b[:-1] + (core,) + shape_b[-1:]
        else:
            shape_b = shape_b + (core,)
        if name == "matmul":
            batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
            if len(shape_a) > 1:
                shape_a = batch.input_shapes[0] + shape_a[-2:]
            if len(shape_b) > 1:
                shape_b = batch.input_shapes[1] + (core, shape_b[-1])
        if draw(st.integers(0, 5)) == 0 and name != "matmul":
            shape_a = ()
    elif name == "tensordot":
        shape_a = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
        count = draw(st.integers(0, len(shape_a)))
        shape_b = shape_a[len(shape_a) - count:] + tuple(draw(st.lists(side, max_size=2)))
        return (draw(arrays(dtype_a, shape_a)), draw(arrays(dtype_b, shape_b))), {
            "axes": count}
    else:
        shape_a, shape_b = draw(shapes), draw(shapes)
        if name == "vdot":
            shape_b = draw(st.permutations(shape_a + (1,))) if shape_a else (1,)
    return (draw(arrays(dtype_a, tuple(shape_a))), draw(arrays(dtype_b, tuple(shape_b)))), {}


@examples(150)
@given(st.sampled_from(["matmul", "dot", "inner", "outer", "tensordot", "vdot", "kron"]),
       st.data())
def test_products_match_numpy(name, data):
    (a, b), kwargs = data.draw(product_operands(name), label="operands")
    np_fn, fnp_fn = getattr(np, name), getattr(fnp, name)
    want = check_against_numpy(lambda x, y: fnp_fn(x, y, **kwargs),
                               lambda x, y: np_fn(x, y, **kwargs), a, b)
    if want is not None:
        assert_same(traced(lambda x: fnp_fn(x, b, **kwargs), a), want, "left traced")
        assert_same(traced(lambda y: fnp_fn(a, y, **kwargs), b), want, "right traced")
        if name == "matmul":
            assert_same(traced(lambda x, y: x @ y, a, b), want, "@")
            assert_same(traced(lambda y: a @ y, b), want, "ndarray @ traced")


@examples(60)
@given(st.sampled_from(DTYPES), shapes, st.sampled_from(DTYPES + [None]), st.data())
def test_creation_from_traced_values_matches_numpy(dtype, shape, new_dtype, data):
    x = data.draw(arrays(dtype, shape), label="x")
    for name in ("zeros_like", "ones_like", "empty_like"):
        want = getattr(np, name)(x, new_dtype)
        got = traced(lambda a, n=name: getattr(fnp, n)(a, new_dtype), x)
        assert_same(got, want if name != "empty_like" else np.zeros_like(want), name)
    check_against_numpy(lambda a: fnp.full_like(a, 3, new_dtype),
                        lambda a: np.full_like(a, 3, new_dtype), x)
    check_against_numpy(lambda a: fnp.full_like(np.zeros((2, 1) + shape), a, new_dtype),
                        lambda a: np.full_like(np.zeros((2, 1) + shape), a, new_dtype), x)
    check_against_numpy(lambda a: fnp.full((3,) + shape, a, new_dtype),
                        lambda a: np.full((3,) + shape, a, new_dtype), x)
    check_against_numpy(lambda a: fnp.array([a, a], new_dtype),
                        lambda a: np.array([a, a], new_dtype), x)
    check_against_numpy(lambda a: fnp.asarray(a, new_dtype),
                        lambda a: np.asarray(a, new_dtype), x)
    check_against_numpy(lambda a: fnp.array(a, ndmin=3), lambda a: np.array(a, ndmin=3), x)
    if new_dtype is not None:
        check_against_numpy(lambda a: a.astype(new_dtype), lambda a: a.astype(new_dtype),
                            quiet(np.asarray, x))
        check_against_numpy(lambda a: fnp.astype(a, new_dtype),
                            lambda a: np.astype(a, new_dtype), x)
    if shape == ():
        check_against_numpy(lambda a: fnp.array([[a, 1.5], [2, a]]),
                            lambda a: np.array([[a, 1.5], [2, a]]), x)
        check_against_numpy(lambda a: fnp.array([a, True]), lambda a: np.array([a, True]), x)


# ----------------------------------------------------------------------- random programs
# A program is a list of steps; each maps the running value ``h`` (and the inputs ``x`` and
# ``y``, of ``h``'s shape) to a new value of that shape, with constants drawn per step. The
# smooth steps are differentiable everywhere on the small inputs used here.


@fg.custom_vjp
def _custom_sin(a):
    return fnp.sin(a)


_custom_sin.defvjp(lambda a: (fnp.sin(a), fnp.cos(a)), lambda cos_a, g: (g * cos_a,))


def _scan_step(h):
    def body(carry, row):
        return carry * 0.5 + fnp.sin(row), carry * row + fnp.cos(row)
    return fg.scan(body, fnp.zeros_like(h[0]), h)[1]


SMOOTH_STEPS = {
    "sin": lambda h, x, y, c: fnp.sin(h),
    "cos": lambda h, x, y, c: fnp.cos(h),
    "tanh": lambda h, x, y, c: fnp.tanh(h),
    "arctan": lambda h, x, y, c: fnp.arctan(h),
    "square": lambda h, x, y, c: h * h,
    "cube": lambda h, x, y, c: fnp.tanh(h) ** 3,
    "mul_y": lambda h, x, y, c: h * y,
    "add_x": lambda h, x, y, c: h + x,
    "softplus": lambda h, x, y, c: fnp.logaddexp(h, 0.0),
    "sqrt": lambda h, x, y, c: fnp.sqrt(h * h + 1.0),
    "log1p": lambda h, x, y, c: fnp.log1p(h * h),
    "exp": lambda h, x, y, c: fnp.exp(fnp.tanh(h)),
    "divide": lambda h, x, y, c: h / (1.0 + y * y),
    "power": lambda h, x, y, c: (h * h + 1.0) ** 1.5,
    "hypot": lambda h, x, y, c: fnp.hypot(h, 1.0),
    "arctan2": lambda h, x, y, c: fnp.arctan2(h, 2.0 + fnp.cos(y)),
    "cumsum": lambda h, x, y, c: fnp.cumsum(h, axis=-1),
    "cumprod": lambda h, x, y, c: fnp.cumprod(1.0 + 0.5 * fnp.tanh(h), axis=0),
    "flip": lambda h, x, y, c: fnp.flip(h, 0),
    "roll": lambda h, x, y, c: fnp.roll(h, 1, -1),
    "center": lambda h, x, y, c: h - fnp.mean(h, axis=-1, keepdims=True),
    "normalize": lambda h, x, y, c: h / fnp.sqrt(fnp.sum(h * h, axis=0, keepdims=True) + 1.0),
    "variance": lambda h, x, y, c: h + fnp.var(h, axis=-1, keepdims=True),
    "prod": lambda h, x, y, c: h * fnp.prod(fnp.tanh(h) + 2.0, axis=-1, keepdims=True),
    "matmul": lambda h, x, y, c: h @ c["matrix"],
    "einsum": lambda h, x, y, c: fnp.einsum("...i,ij->...j", h, c["matrix"]) + h,
    "gather": lambda h, x, y, c: h[c["rows"]] * y,
    "at_add": lambda h, x, y, c: fnp.at(h)[c["rows"]].add(h * x),
    "at_set": lambda h, x, y, c: fnp.at(h)[c["rows"][:1]].set(fnp.sin(h[:1])),
    "where": lambda h, x, y, c: fnp.where(c["mask"], h, fnp.sin(h) * y),
    "concatenate": lambda h, x, y, c: fnp.concatenate([h, fnp.sin(y)], -1)[
        ..., h.shape[-1] // 2:h.shape[-1] // 2 + h.shape[-1]],
    "stack": lambda h, x, y, c: fnp.sum(fnp.stack([h, y * h, x], axis=-1), axis=-1),
    "transpose": lambda h, x, y, c: fnp.swapaxes(h, 0, -1) if h.shape[0] == h.shape[-1] else -h,
    "scan": lambda h, x, y, c: _scan_step(h),
    "checkpoint": lambda h, x, y, c: fg.checkpoint(lambda a, b: fnp.sin(a) * b)(h, y),
    "custom_vjp": lambda h, x, y, c: _custom_sin(h) * x,
    "sinc": lambda h, x, y, c: fnp.sinc(h),
    "max_of_pair": lambda h, x, y, c: fnp.maximum(h, h + 1.0),
}
# Steps with kinks, ties or integer results: fine for vmap and jit, not for derivatives.
ROUGH_STEPS = {
    "abs": lambda h, x, y, c: fnp.abs(h),
    "maximum": lambda h, x, y, c: fnp.maximum(h, y),
    "max": lambda h, x, y, c: h - fnp.max(h, axis=-1, keepdims=True),
    "floor": lambda h, x, y, c: fnp.floor(h * 3.0) + h,
    "clip": lambda h, x, y, c: fnp.clip(h, -0.5, 0.5),
    "sign": lambda h, x, y, c: fnp.sign(h) * h,
    "argmax": lambda h, x, y, c: h + fnp.argmax(h, axis=-1, keepdims=True).astype(h.dtype),
    "traced_index": lambda h, x, y, c: h * h[..., fnp.argmin(y[(0,) * (y.ndim - 1)])][...,
                                                                                       None],
    "traced_roll": lambda h, x, y, c: fnp.roll(h, fnp.argmax(x[(0,) * (x.ndim - 1)]), -1),
    "cond": lambda h, x, y, c: fg.cond(fnp.sum(h) > 0, lambda a: fnp.sin(a),
                                       lambda a: a * x, h),
    "compare": lambda h, x, y, c: fnp.where(h > y, h, x * 2.0),
    "mod": lambda h, x, y, c: fnp.mod(h, 0.75) + fnp.floor_divide(h, 0.5),
}
STEPS = {**SMOOTH_STEPS, **ROUGH_STEPS}


@st.composite
def programs(draw, shape, dtype=np.float64, smooth=True, max_steps=4):
    names = draw(st.lists(st.sampled_from(sorted(SMOOTH_STEPS if smooth else STEPS)),
                          min_size=1, max_size=max_steps))
    small = st.floats(-1, 1, width=np.dtype(dtype).itemsize * 8)
    constants = {
        "matrix": draw(hnp.arrays(dtype, (shape[-1], shape[-1]), elements=small)),
        "rows": draw(hnp.arrays(np.int64, (shape[0],),
                                elements=st.integers(-shape[0], shape[0] - 1))),
        "mask": draw(hnp.arrays(np.bool_, shape)),
    }
    return Program(names, constants)


class Program:
    def __init__(self, names, constants):
        self.names, self.constants = names, constants

    def __call__(self, x, y):
        h = x
        for name in self.names:
            h = STEPS[name](h, x, y, self.constants)
        return h

    def __repr__(self):
        return f"Program({self.names})"


def scalar(program):
    """The program's output reduced to a scalar."""
    return lambda x, y: fnp.sum(fnp.sin(program(x, y)))


program_shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3)
inputs = st.floats(-1.5, 1.5)


# ---------------------------------------------------------------------------- derivatives

@examples(60)
@given(program_shapes, st.data())
def test_jvp_and_vjp_are_transposes(shape, data):
    """<vjp(ct), t> == <ct, jvp(t)>, and both agree with the program's value."""
    program = data.draw(programs(shape), label="program")
    x, y, tx, ty = (data.draw(hnp.arrays(np.float64, shape, elements=inputs)) for _ in range(4))
    out, vjp_fn = fg.vjp(program, x, y)
    ct = data.draw(hnp.arrays(np.float64, np.shape(out), elements=inputs), label="ct")
    primal, tangent = fg.jvp(program, (x, y), (tx, ty))
    _close(primal, out, what="jvp's value")
    _close(out, program(x, y), what="vjp's value against the concrete program")
    reverse = _inner(vjp_fn(ct), (tx, ty))
    forward = _inner(ct, tangent)
    np.testing.assert_allclose(reverse, forward, rtol=1e-8, atol=1e-8)


@examples(40)
@given(program_shapes, st.data())
def test_grad_jacobians_and_hessian_agree(shape, data):
    program = data.draw(programs(shape), label="program")
    x, y = (data.draw(hnp.arrays(np.float64, shape, elements=inputs)) for _ in range(2))
    f = scalar(program)
    value, (gx, gy) = fg.value_and_grad(f, argnums=(0, 1))(x, y)
    _close(value, f(x, y), what="value_and_grad's value")
    (vx, vy), = [fg.vjp(f, x, y)[1](1.0)]
    _close((gx, gy), (vx, vy), what="grad against vjp")
    jac_rev = fg.jacrev(program, argnums=(0, 1))(x, y)
    jac_fwd = fg.jacfwd(program, argnums=(0, 1))(x, y)
    _close(jac_rev, jac_fwd, what="jacrev against jacfwd")
    out_shape = np.shape(program(x, y))
    assert [np.shape(j) for j in jac_rev] == [out_shape + shape] * 2   # JAX's shapes
    hessian = np.asarray(fg.hessian(f)(x, y))
    assert hessian.shape == shape + shape
    hessian = hessian.reshape(x.size, x.size)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-7, atol=1e-7)
    _close(fg.jacfwd(fg.grad(f))(x, y), fg.jacrev(fg.grad(f))(x, y),
           what="forward-over-reverse against reverse-over-reverse")


@examples(25)
@given(program_shapes, st.data())
def test_check_grads_second_order(shape, data):
    program = data.draw(programs(shape, max_steps=3), label="program")
    x, y = (data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1, 1)))
            for _ in range(2))
    fg.check_grads(program, (x, y), order=2, atol=1e-4, rtol=1e-4)


@examples(30)
@given(program_shapes, st.data())
def test_float32_stays_float32(shape, data):
    """float32 inputs give float32 values, gradients, tangents and Jacobians."""
    program = data.draw(programs(shape, dtype=np.float32), label="program")
    x, y = (data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-1, 1, width=32)))
            for _ in range(2))
    results = {"value": program(x, y),
               "grad": fg.grad(scalar(program), argnums=(0, 1))(x, y),
               "jvp": fg.jvp(program, (x, y), (x, y)),
               "vjp": fg.vjp(program, x, y)[1](np.ones(shape, np.float32)),
               "jacfwd": fg.jacfwd(program)(x, y)}
    for what, result in results.items():
        for leaf in fg.tree.leaves(result):
            assert np.asarray(leaf).dtype == np.float32, (what, program)
    want = program(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(results["value"], want, rtol=1e-3, atol=1e-3)


tied_values = st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0])


@examples(60)
@given(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3), st.data())
def test_derivative_conventions_at_kinks_and_ties(shape, data):
    """abs'(0) = 0, relu'(0) = 0, clip' = 1 on the closed interval, and ties of maximum,
    minimum and max/min reductions share the derivative equally; forward mode agrees."""
    x = data.draw(hnp.arrays(np.float64, shape, elements=tied_values), label="x")
    y = data.draw(hnp.arrays(np.float64, shape, elements=tied_values), label="y")
    axis = data.draw(axes_for(len(shape)), label="axis")
    _close(fg.grad(lambda a: fnp.sum(fnp.abs(a)))(x), np.sign(x), what="abs")
    _close(fg.grad(lambda a: fnp.sum(fg.nn.relu(a)))(x), (x > 0).astype(float), what="relu")
    _close(fg.grad(lambda a: fnp.sum(fnp.clip(a, -0.5, 0.5)))(x),
           (np.abs(x) <= 0.5).astype(float), what="clip")
    share = np.where(x > y, 1.0, np.where(x == y, 0.5, 0.0))
    _close(fg.grad(lambda a, b: fnp.sum(fnp.maximum(a, b)), argnums=(0, 1))(x, y),
           (share, 1.0 - share), what="maximum")
    share = np.where(x < y, 1.0, np.where(x == y, 0.5, 0.0))
    _close(fg.grad(lambda a, b: fnp.sum(fnp.minimum(a, b)), argnums=(0, 1))(x, y),
           (share, 1.0 - share), what="minimum")
    for name in ("max", "min"):
        reduced = getattr(np, name)(x, axis=axis, keepdims=True)
        hits = (x == reduced).astype(float)
        weights = np.arange(1.0, 1.0 + reduced.size).reshape(reduced.shape)

        def f(a, n=name, w=weights):
            return fnp.sum(getattr(fnp, n)(a, axis=axis, keepdims=True) * w)
        want = hits / np.sum(hits, axis=axis, keepdims=True) * weights
        _close(fg.grad(f)(x), want, what=f"{name}: ties share equally")
        _close(fg.jacfwd(f)(x), want, what=f"{name}: forward mode")


@examples(40)
@given(st.sampled_from([0, 1, 2, 3, 4, 1.5, 2.5, 3.5, 2.0, 4.0]), st.integers(1, 3),
       st.sampled_from([np.float64, np.float32]))
def test_power_derivatives_at_zero(exponent, order, dtype):
    """The k-th derivative of x**y at 0 is finite and exact (no nan) wherever it exists."""
    integer = float(exponent).is_integer()
    assume(integer or exponent - order >= 0)
    want = float(np.prod([exponent - j for j in range(order)]))
    if exponent != order:
        want = want * 0.0 ** (exponent - order) if exponent > order else 0.0
    for f in (lambda v: v ** exponent, lambda v: fnp.power(v, dtype(exponent))):
        derivative = f
        for _ in range(order):
            derivative = fg.grad(derivative)
        got = derivative(dtype(0.0))
        assert np.asarray(got).dtype == dtype
        assert got == want, (exponent, order, got, want)


# ------------------------------------------------------------------ linear algebra, control

@st.composite
def spd_matrices(draw, dtype=np.float64):
    """Well-conditioned symmetric positive definite matrices, maybe batched."""
    n = draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1)))
    m = draw(hnp.arrays(dtype, batch + (n, n), elements=st.floats(-1, 1, width=32)))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n, dtype=dtype)


@examples(40)
@given(spd_matrices(), st.data())
def test_linalg_matches_numpy_and_differentiates(a, data):
    n = a.shape[-1]
    b = data.draw(hnp.arrays(np.float64, a.shape[:-2] + (n, 2), elements=inputs), label="b")
    for name in ("inv", "det", "cholesky"):
        check_against_numpy(getattr(fnp.linalg, name), getattr(np.linalg, name), a)
    check_against_numpy(lambda x: tuple(fnp.linalg.slogdet(x)),
                        lambda x: tuple(np.linalg.slogdet(x)), a)
    check_against_numpy(fnp.linalg.solve, np.linalg.solve, a, b)
    check_against_numpy(lambda x: fnp.linalg.eigh(x)[0], lambda x: np.linalg.eigh(x)[0], a)
    ord_ = data.draw(st.sampled_from([None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]),
                     label="ord")
    check_against_numpy(lambda x: fnp.linalg.norm(x, ord_, axis=(-2, -1)),
                        lambda x: np.linalg.norm(x, ord_, axis=(-2, -1)), a)
    vector_ord = data.draw(st.sampled_from([None, 0, 1, 2, 3, -1, 0.5, np.inf, -np.inf]),
                           label="vector ord")
    keepdims = data.draw(st.booleans(), label="keepdims")
    check_against_numpy(lambda x: fnp.linalg.norm(x, vector_ord, -1, keepdims),
                        lambda x: np.linalg.norm(x, vector_ord, -1, keepdims), b)

    # Eigenvectors are differentiable where the eigenvalues are distinct (as in JAX).
    gaps = np.diff(np.linalg.eigh(a)[0], axis=-1)
    distinct = gaps.size == 0 or gaps.min() > 0.1

    def f(x, y):
        eigenvalues, vectors = fnp.linalg.eigh(x)
        sign, logdet = fnp.linalg.slogdet(x)
        out = (fnp.sum(fnp.linalg.solve(x, y)) + fnp.sum(fnp.linalg.inv(x)) + logdet
               + fnp.sum(fnp.linalg.cholesky(x)) + fnp.sum(eigenvalues ** 2)
               + fnp.sum(fnp.linalg.det(x)))
        if distinct:
            out = out + fnp.sum(vectors[..., 0, :] ** 2 * eigenvalues)
        return out
    symmetric = lambda g: lambda x, y: g((x + np.swapaxes(x, -1, -2)) / 2, y)  # noqa: E731
    # Forward mode computes eigenvector tangents (1 / 0 where eigenvalues repeat) that the
    # function does not use: NumPy warns about them.
    quiet(lambda: fg.check_grads(symmetric(f), (a, b), order=1, atol=1e-4, rtol=1e-4))


@examples(40)
@given(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3), st.data())
def test_control_flow_matches_python_loops(shape, data):
    """scan, fori_loop, while_loop and cond equal the Python loops and branches they stand
    for, in value and in their derivatives."""
    x = data.draw(hnp.arrays(np.float64, shape, elements=inputs), label="x")
    c = data.draw(hnp.arrays(np.float64, shape[1:], elements=inputs), label="c")
    reverse = data.draw(st.booleans(), label="reverse")
    steps = data.draw(st.integers(0, 4), label="steps")

    def body(carry, row):
        return fnp.sin(carry) * row + 0.5, carry * row

    def with_scan(xs, init):
        return fg.scan(body, init, xs, reverse=reverse)

    def with_python(xs, init):
        rows = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
        outputs = {}
        for i in rows:
            init, outputs[i] = body(init, xs[i])
        return init, fnp.stack([outputs[i] for i in range(len(xs))])
    _close(with_scan(x, c), with_python(x, c), what="scan")
    cotangent = (np.ones_like(c), np.ones_like(x))
    _close(fg.vjp(with_scan, x, c)[1](cotangent), fg.vjp(with_python, x, c)[1](cotangent),
           what="vjp of scan")
    _close(fg.jvp(with_scan, (x, c), (x, c)), fg.jvp(with_python, (x, c), (x, c)),
           what="jvp of scan")
    xs = np.stack([x, x])
    _close(fg.vmap(with_scan, in_axes=(0, None))(xs, c),
           fg.vmap(with_python, in_axes=(0, None))(xs, c), what="vmap of scan")

    def with_fori(v):
        return fg.fori_loop(0, steps, lambda i, h: fnp.cos(h) * v + i, v)

    def unrolled(v):
        h = v
        for i in range(steps):
            h = fnp.cos(h) * v + i
        return h
    _close(with_fori(x), unrolled(x), what="fori_loop")
    _close(fg.jacrev(with_fori)(x), fg.jacfwd(unrolled)(x), what="grad of fori_loop")
    _close(fg.while_loop(lambda h: fnp.sum(h) < 10.0, lambda h: h * 1.5 + 1.0, x),
           _python_while(x), what="while_loop")

    def with_cond(v):
        return fg.cond(fnp.sum(v) > 0, lambda a: fnp.sin(a) * a, lambda a: a ** 3, v)
    branch = (lambda a: fnp.sin(a) * a) if np.sum(x) > 0 else (lambda a: a ** 3)
    _close(with_cond(x), branch(x), what="cond")
    _close(fg.jacrev(with_cond)(x), fg.jacfwd(branch)(x), what="grad of cond")
    _close(fg.vmap(with_cond)(np.stack([x, -x])), np.stack([branch(x), with_cond(-x)]),
           what="vmap of cond")


def _python_while(h):
    while np.sum(h) < 10.0:
        h = h * 1.5 + 1.0
    return h


# ---------------------------------------------------------------------------------- vmap

@st.composite
def batch_axis(draw, ndim: int):
    return draw(st.one_of(st.none(), st.integers(-ndim - 1, ndim)))


@examples(80)
@given(program_shapes, st.integers(1, 3), st.data())
def test_vmap_equals_a_loop(shape, size, data):
    """vmap(f, in_axes, out_axes) stacks f's results on the examples, for any axes."""
    program = data.draw(programs(shape, smooth=False), label="program")
    ndim = len(shape)
    in_axes = (data.draw(batch_axis(ndim), label="x axis"),
               data.draw(batch_axis(ndim), label="y axis"))
    assume(in_axes != (None, None))
    out_axis = data.draw(st.integers(-ndim - 1, ndim), label="out axis")
    examples_x = [data.draw(hnp.arrays(np.float64, shape, elements=inputs))
                  for _ in range(size)]
    examples_y = [data.draw(hnp.arrays(np.float64, shape, elements=inputs))
                  for _ in range(size)]
    args = []
    for axis, rows in zip(in_axes, (examples_x, examples_y)):
        args.append(rows[0] if axis is None else np.stack(rows, axis))
    expected = []
    for i in range(size):
        x = examples_x[0] if in_axes[0] is None else examples_x[i]
        y = examples_y[0] if in_axes[1] is None else examples_y[i]
        expected.append(quiet(program, x, y))
    want = np.stack(expected, out_axis)
    got = quiet(fg.vmap(program, in_axes=in_axes, out_axes=out_axis), *args)
    assert_same(got, want, repr(program))
    # Per-example gradients of the smooth part, and vmap of vmap.
    if all(name in SMOOTH_STEPS for name in program.names):
        grads = fg.vmap(fg.grad(scalar(program)), in_axes=in_axes)(*args)
        loop = [fg.grad(scalar(program))(examples_x[0] if in_axes[0] is None else
                                         examples_x[i],
                                         examples_y[0] if in_axes[1] is None else
                                         examples_y[i]) for i in range(size)]
        _close(grads, np.stack(loop), what="vmap(grad)")
    twice = [a if axis is None else np.stack([a, a], 0) for a, axis in zip(args, in_axes)]
    inner = fg.vmap(program, in_axes=in_axes, out_axes=out_axis)
    outer = quiet(fg.vmap(inner, in_axes=tuple(None if a is None else 0 for a in in_axes)),
                  *twice)
    assert_same(outer, np.stack([want, want]), "vmap of vmap")


# ----------------------------------------------------------------------------------- jit
# Three programs, each compiled once (fixed shapes and dtypes), then run on many values,
# nan, infinities, signed zeros and huge numbers included. Every entry of a program's output
# must equal what the same function gives on concrete arrays, that is, NumPy's answer.

# Functions whose compiled form is exact: equal bits (the sign of a zero included).
EXACT = {"neg", "abs", "sign", "maximum", "minimum", "fmax", "fmin", "floor_divide", "mod",
         "remainder", "floor", "ceil", "round", "clip", "where", "select_const", "add",
         "subtract", "multiply", "divide", "square", "sub_from_zero", "times_minus_one",
         "max", "min", "argmax", "argmin", "max_axis", "min_axis", "to_float32", "to_bool",
         "to_int", "sqrt", "reciprocal", "less", "equal", "not_equal", "greater_equal",
         "isnan", "isinf", "isfinite", "logical_and", "logical_or", "logical_xor",
         "logical_not", "and_as_float", "or_count", "cumsum", "sum", "prod", "any", "all",
         "flip", "roll", "gather", "scatter_add", "concatenate", "transpose", "where_nan"}


def _float_program(x, y):
    return {
        "neg": -x, "abs": fnp.abs(x), "sign": fnp.sign(x), "sub_from_zero": 0.0 - x,
        "times_minus_one": x * -1.0, "maximum": fnp.maximum(x, y), "minimum": fnp.minimum(x, y),
        "fmax": fnp.fmax(x, y), "fmin": fnp.fmin(x, y), "floor_divide": x // y,
        "mod": x % y, "remainder": fnp.remainder(y, x), "floor": fnp.floor(x),
        "ceil": fnp.ceil(x), "round": fnp.round(x), "clip": fnp.clip(x, -1.0, 2.0),
        "where": fnp.where(x > y, x, y), "where_nan": fnp.where(fnp.isnan(x), 0.0, x),
        "select_const": fnp.where(x < 0, -0.0, 1.0), "add": x + y, "subtract": x - y,
        "multiply": x * y, "divide": x / y, "square": x * x, "cube": x ** 3,
        "power": fnp.power(fnp.abs(x), y), "inverse_square": x ** -2, "sqrt": fnp.sqrt(x),
        "reciprocal": fnp.reciprocal(x), "exp": fnp.exp(x), "expm1": fnp.expm1(x),
        "log": fnp.log(x), "log1p": fnp.log1p(x), "sin": fnp.sin(x), "cos": fnp.cos(x),
        "tanh": fnp.tanh(x), "arctan": fnp.arctan(x), "arctan2": fnp.arctan2(x, y),
        "hypot": fnp.hypot(x, y), "logaddexp": fnp.logaddexp(x, y), "cbrt": fnp.cbrt(x),
        "sinc": fnp.sinc(x), "sigmoid": fg.nn.sigmoid(x),
        "less": x < y, "equal": x == y, "not_equal": x != y, "greater_equal": x >= y,
        "isnan": fnp.isnan(x), "isinf": fnp.isinf(x), "isfinite": fnp.isfinite(x),
        "logical_and": fnp.logical_and(x, y), "logical_or": fnp.logical_or(x, y),
        "logical_xor": fnp.logical_xor(x, y), "logical_not": fnp.logical_not(x),
        "and_as_float": fnp.logical_and(x, y).astype(x.dtype) * 2.0,
        "or_count": fnp.sum(fnp.logical_or(x, y)), "to_float32": x.astype(np.float32),
        "to_bool": x.astype(np.bool_), "to_int": fnp.where(fnp.isfinite(x), x, 0.0).astype(
            np.int64),
        "sum": fnp.sum(x), "mean": fnp.mean(x * y), "prod": fnp.prod(x), "max": fnp.max(x),
        "min": fnp.min(y), "argmax": fnp.argmax(x), "argmin": fnp.argmin(y),
        "max_axis": fnp.max(x, axis=-1), "min_axis": fnp.min(y, axis=0),
        "sum_axis": fnp.sum(x * y, axis=-1), "cumsum": fnp.cumsum(x, axis=0),
        "any": fnp.any(x > 1), "all": fnp.all(y), "var": fnp.var(x),
        "flip": fnp.flip(x), "roll": fnp.roll(x, 3), "gather": x[::-1][..., [0, 0, 1]],
        "scatter_add": fnp.at(fnp.zeros_like(x))[..., [1, 1, 0]].add(y[..., :3]),
        "concatenate": fnp.concatenate([x, y], axis=-1), "transpose": fnp.transpose(x * y),
        "matmul": x @ fnp.transpose(y), "norm": fnp.sqrt(fnp.sum(x * x, axis=-1)),
        "logsumexp": fg.nn.logsumexp(x, axis=-1),
        "grad_smooth": fg.grad(lambda v: fnp.sum(fnp.tanh(v) * v + fnp.sin(v) ** 2))(x),
        "grad_kinks": fg.grad(lambda v: fnp.sum(fnp.abs(v) + fnp.maximum(v, y)) + fnp.max(v))(x),
        "grad_structure": fg.grad(lambda v: fnp.sum(fnp.roll(v, 1) * fnp.flip(v)
                                                    * fnp.cumsum(v, axis=-1)))(x),
        "grad_scatter": fg.grad(lambda v: fnp.sum(fnp.at(v)[..., [0, 0, 1]].set(v[..., 1:4] ** 2)
                                                  * y))(x),
    }


def _int_program(i, j, b):
    return {
        "neg": -i, "abs": fnp.abs(i), "sign": fnp.sign(i), "add": i + j, "multiply": i * j,
        "floor_divide": i // j, "mod": i % j, "remainder": fnp.remainder(j, i),
        "divide": i / j, "power": i ** fnp.abs(j), "square": i * i, "cube": i ** 3,
        "maximum": fnp.maximum(i, j), "minimum": fnp.minimum(i, j), "less": i < j,
        "equal": i == j, "logical_and": fnp.logical_and(i, j), "logical_or": fnp.logical_or(
            i, j), "logical_xor": fnp.logical_xor(i, j), "logical_not": fnp.logical_not(i),
        "and_as_float": fnp.logical_and(i, j).astype(np.float64), "bool_and": b & (i > 0),
        "bool_xor": b ^ (j > 0), "bool_not": ~b, "bool_sum": fnp.sum(b),
        "bool_cumsum": fnp.cumsum(b), "bool_plus": b + b, "bool_times": b * i,
        "bool_max": fnp.max(b), "where": fnp.where(b, i, j), "to_float32": i.astype(np.float32),
        "to_bool": i.astype(np.bool_), "sum": fnp.sum(i), "prod": fnp.prod(j),
        "cumsum": fnp.cumsum(i), "max": fnp.max(i), "argmax": fnp.argmax(j),
        "mean": fnp.mean(i), "any": fnp.any(i), "all": fnp.all(j), "clip": fnp.clip(i, -2, 3),
        "reciprocal": fnp.reciprocal(fnp.where(i == 0, 1, i)), "round": fnp.round(i, -1),
        "floor": fnp.floor(i),
    }


_JITTED = {}


def _compiled(name, function, *args):
    """``fg.jit(function)``, compiled for ``args``' signature once per test session."""
    if name not in _JITTED:
        jitted = fg.jit(function).compile(*args)
        assert jitted.is_compiled(*args), f"numba could not compile the {name} program"
        _JITTED[name] = jitted
    return _JITTED[name]


float_values = st.one_of(st.floats(-8, 8), st.sampled_from(SPECIAL + [1e300, -1e300, 5e-324]))


def _assert_jit_matches(got, want, dtype):
    assert got.keys() == want.keys()
    for key in want:
        g, w = np.asarray(got[key]), np.asarray(want[key])
        assert (g.shape, g.dtype) == (w.shape, w.dtype), key
        if w.dtype.kind != "f":
            np.testing.assert_array_equal(g, w, err_msg=key)
        elif key in EXACT:
            # NumPy's fmax and fmin of 0.0 and -0.0 return either, depending on the length.
            signs = key in ("fmax", "fmin") or np.signbit(g) == np.signbit(w)
            same = (np.isnan(g) & np.isnan(w)) | ((g == w) & signs)
            assert same.all(), f"{key}: compiled {g} != NumPy {w}"
        else:
            tolerance = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, w, rtol=tolerance, atol=tolerance, equal_nan=True,
                                       err_msg=key)


@examples(60)
@given(st.sampled_from([(np.float64, (16,)), (np.float32, (4, 4))]), st.data())
def test_jit_matches_numpy_on_special_values(case, data):
    dtype, shape = case
    values = float_values.map(lambda v: quiet(np.asarray(v).astype, dtype))
    x = data.draw(hnp.arrays(dtype, shape, elements=values), label="x")
    y = data.draw(hnp.arrays(dtype, shape, elements=values), label="y")
    jitted = _compiled(f"float {np.dtype(dtype).name}", _float_program, x, y)
    _assert_jit_matches(quiet(jitted, x, y), quiet(_float_program, x, y), dtype)


@examples(40)
@given(hnp.arrays(np.int64, 16, elements=st.integers(-9, 9)),
       hnp.arrays(np.int64, 16, elements=st.integers(-9, 9)),
       hnp.arrays(np.bool_, 16))
def test_jit_matches_numpy_on_integers(i, j, b):
    """Integer division by zero is 0, as in NumPy; signs follow Python's floor division."""
    jitted = _compiled("int", _int_program, i, j, b)
    _assert_jit_matches(quiet(jitted, i, j, b), quiet(_int_program, i, j, b), np.int64)


# ------------------------------------------------------------------------------- pytrees

Point = collections.namedtuple("Point", ["x", "y"])


class Box:
    """A registered pytree node with auxiliary data."""

    def __init__(self, label, children):
        self.label, self.children = label, list(children)

    def __eq__(self, other):
        return (type(other) is Box and self.label == other.label
                and self.children == other.children)

    def __repr__(self):
        return f"Box({self.label!r}, {self.children!r})"


fg.tree.register(Box, lambda box: (box.children, box.label),
                 lambda label, children: Box(label, children))

keys = st.text(string.ascii_lowercase, min_size=1, max_size=3)
leaf_values = st.one_of(st.integers(-9, 9), st.floats(-9, 9), st.text(max_size=2))


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=3),
        st.dictionaries(keys, children, max_size=3).map(
            lambda d: collections.OrderedDict(reversed(list(d.items())))),
        st.dictionaries(keys, children, max_size=3).map(
            lambda d: collections.defaultdict(list, d)),
        st.tuples(children, children).map(lambda pair: Point(*pair)),
        st.tuples(keys, st.lists(children, max_size=2)).map(lambda t: Box(*t)),
    )


pytrees = st.recursive(st.one_of(leaf_values, st.none()), _containers, max_leaves=12)


def _at(tree, path):
    for key in path:
        tree = tree.children[key] if type(tree) is Box else tree[key]
    return tree


@examples(200)
@given(pytrees)
def test_pytree_round_trips(tree):
    leaves, treedef = fg.tree.flatten(tree)
    assert treedef.num_leaves == len(leaves)
    assert fg.tree.leaves(tree) == leaves
    rebuilt = fg.tree.unflatten(treedef, leaves)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert fg.tree.structure(rebuilt) == treedef
    assert hash(fg.tree.structure(rebuilt)) == hash(treedef)
    # New leaves go where the old ones were, in flatten order.
    numbered = fg.tree.unflatten(treedef, list(range(len(leaves))))
    assert fg.tree.leaves(numbered) == list(range(len(leaves)))
    assert fg.tree.structure(numbered) == treedef
    assert fg.tree.map(lambda leaf: leaf, tree) == tree
    pairs = fg.tree.map(lambda a, b: (a, b), tree, numbered)
    assert fg.tree.leaves(pairs) == [v for pair in zip(leaves, range(len(leaves)))
                                     for v in pair]
    # Paths address the leaves.
    paths = fg.tree.leaves_with_path(tree)
    assert [leaf for _, leaf in paths] == leaves
    for path, leaf in paths:
        assert _at(tree, path) is leaf
    with pytest.raises(ValueError):
        fg.tree.unflatten(treedef, leaves + [0])


@examples(60)
@given(pytrees)
def test_grad_through_pytrees(tree):
    """Gradients come back in the argument's structure, leaf by leaf."""
    numeric = fg.tree.map(lambda leaf: float(len(leaf)) if isinstance(leaf, str) else
                          float(leaf), tree)

    def loss(params):
        return sum((fnp.sin(leaf) * leaf for leaf in fg.tree.leaves(params)), 0.0)
    grads = fg.grad(loss)(numeric)
    assert fg.tree.structure(grads) == fg.tree.structure(numeric)
    want = [np.sin(v) + v * np.cos(v) for v in fg.tree.leaves(numeric)]
    np.testing.assert_allclose(np.asarray(fg.tree.leaves(grads), dtype=float),
                               np.asarray(want, dtype=float).reshape(-1), rtol=1e-12)


@examples(60)
@given(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), st.integers(0, 3),
       st.data())
def test_vmap_over_pytrees_and_empty_batches(shape, size, data):
    """in_axes as a pytree prefix, out_axes per output, 0-d examples and empty batches."""
    ndim = len(shape)
    axis_a = data.draw(batch_axis(ndim), label="axis of a")
    axis_b = data.draw(st.integers(-ndim - 1, ndim), label="axis of b")
    out_axes = (data.draw(st.integers(-ndim - 1, ndim), label="out axis 0"),
                {"sum": data.draw(st.integers(-1, 0), label="out axis 1")})
    a_rows = [data.draw(arrays(np.float64, shape)) for _ in range(max(size, 1))]
    b_rows = [data.draw(arrays(np.float64, shape)) for _ in range(max(size, 1))]

    def f(params, c):
        return params["a"] * fnp.sin(c) + params["b"][0], {"sum": fnp.sum(c * params["a"])}
    def stack(rows, axis):
        return np.stack(rows, axis) if rows else np.moveaxis(np.zeros((0,) + shape), 0, axis)
    args = ({"a": a_rows[0] if axis_a is None else stack(a_rows[:size], axis_a),
             "b": (1.5,)}, stack(b_rows[:size], axis_b))
    got = fg.vmap(f, in_axes=({"a": axis_a, "b": None}, axis_b), out_axes=out_axes)(*args)
    rows = [f({"a": a_rows[0] if axis_a is None else a_rows[i], "b": (1.5,)}, b_rows[i])
            for i in range(size)]
    if size:
        want = (np.stack([r[0] for r in rows], out_axes[0]),
                {"sum": np.stack([r[1]["sum"] for r in rows], out_axes[1]["sum"])})
    else:
        empty = np.zeros((0,) + shape)
        want = (np.moveaxis(empty, 0, out_axes[0]), {"sum": np.zeros(0)})
    assert_same(got, want, "vmap")


# ------------------------------------------------------------- regressions the properties found

def test_regression_traced_integer_reciprocal_stays_integer():
    # Was 1 / x in float64; NumPy's reciprocal of integers truncates and keeps the dtype.
    x = np.array([1, -1, 2, -3, 7])
    assert_same(traced(fnp.reciprocal, x), np.reciprocal(x))
    assert_same(traced(fnp.reciprocal, np.array([True])), np.reciprocal(np.array([True])))


def test_regression_positive_is_numpys():
    # Returned its argument unchecked: NumPy refuses booleans.
    with pytest.raises(TypeError):
        traced(fnp.positive, np.array([True]))
    with pytest.raises(TypeError):
        fnp.positive(np.array([True]))
    assert_same(traced(fnp.positive, np.array([1.5, -0.0])), np.array([1.5, -0.0]))


def test_regression_clip_with_a_nan_bound_is_nan():
    # A NaN bound was ignored (x < nan is false); NumPy's clip propagates it.
    x = np.array([0.5, -2.0, 3.0])
    for low, high in ((np.nan, 1.0), (0.0, np.nan), (np.array([0.0, np.nan, 0.0]), 1.0)):
        want = np.clip(x, low, high)
        assert_same(traced(lambda a, lo=low, hi=high: fnp.clip(a, lo, hi), x), want)
        assert_same(traced(lambda a, lo, hi=high: fnp.clip(a, lo, hi), x, np.asarray(low)),
                    want)


def test_regression_einsum_size_one_axis_broadcasts_against_size_zero():
    # 'a,a' with shapes (0,) and (1,) was a ShapeError; NumPy broadcasts the 1 to 0.
    a, b = np.zeros(0), np.ones(1)
    assert_same(traced(lambda x: fnp.einsum("a,a", x, b), a), np.einsum("a,a", a, b))
    c = np.ones((2, 0))
    assert_same(traced(lambda x: fnp.einsum("ab,b->a", x, b), c), np.einsum("ab,b->a", c, b))


def test_regression_square_of_booleans_is_int8():
    # integer_pow's shape rule kept bool where its impl (NumPy's power) gives int8, as
    # np.square does: jit(lambda a: fnp.diag(fnp.square(a), 0)) returned booleans where the
    # eager function gives int8 (found by tests/fuzz.py).
    x = np.array([True, False])
    assert_same(traced(fnp.square, x), np.square(x))
    assert_same(traced(lambda a: fnp.square(a) + a, x), np.square(x) + x)
    diagonal = lambda a: fnp.diag(fnp.square(a), 0)  # noqa: E731
    assert_same(fg.jit(diagonal)(x), diagonal(x))


def test_regression_round_keeps_integers():
    # Traced integers were rounded in float64 and came back as float64.
    x = np.array([15, 25, -15, 7, -25, 104])
    for decimals in (-2, -1, 0, 1):
        assert_same(traced(lambda a, d=decimals: fnp.round(a, d), x), np.round(x, decimals))
    y = np.arange(-40, 40) * 0.25
    for decimals in (-1, 1, 2):
        assert_same(traced(lambda a, d=decimals: fnp.round(a, d), y), np.round(y, decimals))


def test_regression_scatter_gradient_skips_overwritten_updates():
    # x.at[[0, 0, 1]].set(v) keeps v[1] at index 0: v[0] is overwritten, so its gradient is
    # 0 (reverse mode gave it 1, disagreeing with forward mode).
    x, v = np.zeros(3), np.array([1.0, 2.0, 3.0])
    index = np.array([0, 0, 1])

    def f(a, b):
        return fnp.sum(fnp.at(a)[index].set(b) * np.array([1.0, 10.0, 100.0]))
    gx, gv = fg.grad(f, argnums=(0, 1))(x, v)
    assert_same(gx, np.array([0.0, 0.0, 100.0]))
    assert_same(gv, np.array([0.0, 1.0, 10.0]))
    scatter = lambda b: fnp.at(x)[index].set(b)  # noqa: E731
    assert_same(fg.jacrev(scatter)(v), fg.jacfwd(scatter)(v))
    assert_same(fg.grad(lambda s: fnp.sum(fnp.at(x)[index].set(s)))(2.0), np.float64(2.0))
    # Traced indices (here under vmap) take the same rule.
    rows = np.array([[2, 2, 1], [0, 1, 2]])
    jacobians = fg.vmap(fg.jacrev(lambda b, i: fnp.at(x)[i].set(b)), in_axes=(None, 0))(v, rows)
    assert_same(jacobians, np.array([[[0.0, 0, 0], [0, 0, 1], [0, 1, 0]], np.eye(3)]))


def test_regression_bitwise_operators_on_traced_values():
    # ~, &, |, ^ were logical operations whatever the dtype: ~5 gave False (NumPy: -6); then
    # a TypeError for integers; now they are NumPy's bitwise operations.
    i, b = np.array([5, 6, 0]), np.array([True, False, True])
    for f in (lambda a: ~a, lambda a: a & 3, lambda a: 1 | a, lambda a: a ^ i,
              lambda a: a << 2, lambda a: 100 >> a):
        assert_same(traced(f, i), f(i))
    with pytest.raises(TypeError):
        traced(lambda a: ~a, i * 1.5)
    assert_same(traced(lambda a: ~a, b), ~b)
    assert_same(traced(lambda a: (b & a) | (a ^ True), b), (b & b) | (b ^ True))
    assert_same(fnp.invert(i), np.invert(i))   # concrete: NumPy's bitwise functions


def test_regression_compiled_elementwise_edge_cases_match_numpy():
    # Compiled code (the float64 program above, no new compile) had: logical_xor as x != y
    # on values (1.5 xor 3.0 gave True); logical_and/or returning an operand (1.5 and 2.5 as
    # a float gave 2.5); numba's floor_divide floor(x / y) (1 // 0.1 gave 10, inf // 2 inf,
    # -7 // inf -0.0); a remainder of 2 % -1 of 0.0 (NumPy: -0.0); sign(-0.0) of -0.0
    # (NumPy: 0.0); maximum(0.0, -0.0) of 0.0 (NumPy returns the second operand on ties).
    x = np.array([1.5, 0.0, 2.0, np.nan, 1.0, np.inf, -7.0, 2.0, 0.0, -0.0, 0.0, -2.0, 5.0,
                  -0.0, 0.5, 3.0])
    y = np.array([3.0, 3.0, 0.0, 0.0, 0.1, 2.0, np.inf, -1.0, -0.0, 0.0, -1.0, 2.0, 0.0, 5.0,
                  0.5, -3.0])
    jitted = _compiled("float float64", _float_program, x, y)
    _assert_jit_matches(quiet(jitted, x, y), quiet(_float_program, x, y), np.float64)


def test_regression_compiled_integer_logic_matches_numpy():
    # logical_xor of integers compiled as i != j (5 xor 3 gave True); round(i, -1) gave
    # float64 (see test_regression_round_keeps_integers).
    i = np.array([5, 4, 1, 0, -3, 0, 7, -7, 9, -9, 2, 2, 0, 1, -1, 3])
    j = np.array([3, 0, 0, 0, 4, 2, -2, 2, 0, -4, 2, -2, 5, 1, -1, 0])
    b = i > j
    jitted = _compiled("int", _int_program, i, j, b)
    _assert_jit_matches(quiet(jitted, i, j, b), quiet(_int_program, i, j, b), np.int64)
