"""Shape functions of ``funcgrad.numpy``: reshape, transpose, stack, split, flip, roll, diag, ...

Each one is NumPy's on concrete arrays. On traced arrays it is written with the structural
primitives only (reshape, broadcast_to, transpose, gather, scatter, concatenate, select), so
its derivatives, of every order, are theirs: a flip is a gather with a step -1 slice, a repeat
a broadcast or a gather with a concrete index array, tril a select with a concrete mask.
"""
from __future__ import annotations

import math
import operator

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core.errors import ConcretizationError, TracerConversionError, at_user_line
from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import structural as st
from ._core import _contains_tracer, asarray_or_tracer, cast, common_dtype, normalize_axes

__all__ = [
    "reshape", "ravel", "transpose", "concatenate", "expand_dims", "stack", "squeeze",
    "broadcast_to", "broadcast_arrays", "moveaxis", "swapaxes", "hstack", "vstack", "dstack",
    "column_stack", "split", "array_split", "hsplit", "vsplit", "dsplit", "tile", "repeat",
    "flip", "fliplr", "flipud", "roll", "diag", "diagonal", "tril", "triu", "take",
    "atleast_1d", "atleast_2d", "atleast_3d", "shape", "ndim", "size", "concat",
    "permute_dims", "matrix_transpose", "unstack", "copy",
]

_FULL = ("slice", None, None, None)


def _traced(values) -> bool:
    """Whether any of ``values`` is a tracer, or a (nested) list holding one."""
    return _contains_tracer(values)


def _concrete_int(value, what: str, who: str) -> int:
    """``value`` as a Python int; a traced value cannot fix a shape, so it is an error."""
    if isinstance(value, Tracer):
        raise ConcretizationError(at_user_line(
            f"{who}: {what} is {value._describe()}, but it decides the result's shape, so it "
            "must be a concrete integer (not a function of the differentiated arguments; "
            "under jit, mark the argument it comes from static: static_argnums=...)."))
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{who}: {what} must be an integer, got {value!r}") from None


def _static_shape(shape, who: str) -> tuple[int, ...]:
    """A shape argument (an int or a sequence of them) as a tuple of Python ints."""
    entries = (shape,) if isinstance(shape, (int, np.integer, Tracer)) else tuple(shape)
    return tuple(_int_or_known(size, "a size in the shape", who) for size in entries)


def _int_or_known(value, what: str, who: str) -> int:
    """``_concrete_int``, but a traced value that knows its number (under ``grad`` of concrete
    inputs) gives that number, as ``__index__`` does."""
    if isinstance(value, Tracer):
        try:
            return operator.index(value)
        except TracerConversionError:
            pass
    return _concrete_int(value, what, who)


def _along(ndim: int, axis: int, entry) -> st.IndexSpec:
    """An index that applies ``entry`` to ``axis`` and takes every other axis whole."""
    entries = [_FULL] * ndim
    entries[axis] = entry
    return st.IndexSpec(entries)


# ------------------------------------------------------------------------ reshape, transpose

def reshape(a, newshape=None, order: str = "C", *, shape=None):
    """``numpy.reshape`` in C or Fortran (``order="F"``) order; one dimension may be -1."""
    newshape = shape if newshape is None else newshape
    if not isinstance(a, Tracer):
        return np.reshape(a, newshape, order=order)
    newshape = _static_shape(newshape, "reshape")
    if order == "F":   # the C-order reshape of the reversed axes, reversed back
        return transpose(reshape(transpose(a), newshape[::-1]))
    if order != "C":
        raise ValueError(f"reshape: order={order!r} needs the memory layout, which traced "
                         "arrays do not have; use order='C' or order='F'")
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension")
    if -1 in newshape:
        known = int(math.prod([d for d in newshape if d != -1]))
        if known == 0 or a.size % known:
            raise ValueError(f"reshape: cannot reshape array of size {a.size} into shape "
                             f"{newshape}")
        newshape = tuple(a.size // known if d == -1 else d for d in newshape)
    return st.reshape(a, newshape)


def ravel(a, order: str = "C"):
    """``numpy.ravel``."""
    if not isinstance(a, Tracer):
        return np.ravel(a, order)
    return reshape(a, (a.size,), order)


def transpose(a, axes=None):
    """``numpy.transpose``."""
    if not isinstance(a, Tracer):
        return np.transpose(a, axes)
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    axes = normalize_axis_tuple(axes, a.ndim, "transpose")
    if len(axes) != a.ndim:
        raise ValueError(f"transpose: axes {axes} don't match array of dimension {a.ndim}")
    return st.transpose(a, axes)


def moveaxis(a, source, destination):
    """``numpy.moveaxis``: move axes to new positions, keeping the others in order."""
    if not isinstance(a, Tracer):
        return np.moveaxis(a, source, destination)
    source = normalize_axis_tuple(source, a.ndim, "source")
    destination = normalize_axis_tuple(destination, a.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same "
                         "number of elements")
    order = [axis for axis in range(a.ndim) if axis not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return st.transpose(a, order)


def swapaxes(a, axis1: int, axis2: int):
    """``numpy.swapaxes``: exchange two axes."""
    if not isinstance(a, Tracer):
        return np.swapaxes(a, axis1, axis2)
    axis1 = normalize_axis_index(axis1, a.ndim, "swapaxes")
    axis2 = normalize_axis_index(axis2, a.ndim, "swapaxes")
    order = list(range(a.ndim))
    order[axis1], order[axis2] = axis2, axis1
    return st.transpose(a, order)


def expand_dims(a, axis):
    """``numpy.expand_dims``: insert size-1 axes at the positions ``axis``."""
    if not isinstance(a, Tracer):
        return np.expand_dims(a, axis)
    count = 1 if isinstance(axis, (int, np.integer)) else len(axis)
    axes = normalize_axis_tuple(axis, a.ndim + count, "expand_dims")
    sizes = iter(a.shape)
    return st.reshape(a, [1 if i in axes else next(sizes) for i in range(a.ndim + count)])


def squeeze(a, axis=None):
    """``numpy.squeeze``: remove size-1 axes (all of them, or those in ``axis``)."""
    if not isinstance(a, Tracer):
        return np.squeeze(a, axis)
    if axis is None:
        axes = [i for i, d in enumerate(a.shape) if d == 1]
    else:
        axes = normalize_axis_tuple(axis, a.ndim, "squeeze")
        if any(a.shape[i] != 1 for i in axes):
            raise ValueError("squeeze: cannot select an axis to squeeze out which has size "
                             f"not equal to one (shape {a.shape}, axis {axis})")
    return st.reshape(a, [d for i, d in enumerate(a.shape) if i not in axes])


def broadcast_to(array, shape):
    """``numpy.broadcast_to`` (the traced result is a new array, not a read-only view)."""
    if not isinstance(array, Tracer):
        return np.broadcast_to(array, shape)
    shape = _static_shape(shape, "broadcast_to")
    try:
        fits = ew._broadcast_shapes(array.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits or any(d < 0 for d in shape):
        raise ValueError(f"broadcast_to: cannot broadcast an array of shape {array.shape} to "
                         f"shape {shape}")
    return st.broadcast_to(array, shape)


def broadcast_arrays(*args):
    """``numpy.broadcast_arrays``: a tuple of the arguments broadcast to one shape."""
    if not _traced(args):
        return np.broadcast_arrays(*args)
    args = [asarray_or_tracer(a) for a in args]
    try:
        shape = ew._broadcast_shapes(*[np.shape(a) for a in args])
    except ValueError as error:
        raise ValueError(f"broadcast_arrays: {error}") from None
    return tuple(broadcast_to(a, shape) for a in args)


def atleast_1d(*arys):
    """``numpy.atleast_1d``."""
    return _atleast(arys, np.atleast_1d, lambda s: s or (1,))


def atleast_2d(*arys):
    """``numpy.atleast_2d``: a 1-d array of length n becomes ``(1, n)``."""
    return _atleast(arys, np.atleast_2d, lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else s)


def atleast_3d(*arys):
    """``numpy.atleast_3d``: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` becomes ``(m, n, 1)``."""
    def grow(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
    return _atleast(arys, np.atleast_3d, grow)


def _atleast(arys, numpy_fn, grow):
    if not _traced(arys):
        return numpy_fn(*arys)
    out = []
    for a in arys:
        a = asarray_or_tracer(a)
        out.append(reshape(a, grow(a.shape)) if isinstance(a, Tracer) else numpy_fn(a))
    return out[0] if len(out) == 1 else tuple(out)


def shape(a) -> tuple:
    """``numpy.shape``."""
    return a.shape if isinstance(a, Tracer) else np.shape(a)


def ndim(a) -> int:
    """``numpy.ndim``."""
    return a.ndim if isinstance(a, Tracer) else np.ndim(a)


def size(a, axis=None) -> int:
    """``numpy.size``: the number of elements (along ``axis`` if given)."""
    if not isinstance(a, Tracer):
        return np.size(a, axis)
    return a.size if axis is None else a.shape[normalize_axis_index(axis, a.ndim, "size")]


# ------------------------------------------------------------------------ joining, splitting

def concatenate(arrays, axis=0, out=None, *, dtype=None, casting: str = "same_kind"):
    """``numpy.concatenate``; ``axis=None`` flattens first."""
    arrays = list(arrays)
    if not _traced(arrays):
        return np.concatenate(arrays, axis, out, dtype=dtype, casting=casting)
    if out is not None:
        raise TypeError("concatenate: out= is not supported on traced arrays (they are "
                        "immutable); use the returned value")
    arrays = [asarray_or_tracer(a) for a in arrays]
    dtype = common_dtype(*arrays) if dtype is None else np.dtype(dtype)
    arrays = [cast(a, dtype) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if any(np.ndim(a) == 0 for a in arrays):
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    (axis,) = normalize_axes(axis, np.ndim(arrays[0]), "concatenate")
    return st.concatenate(arrays, axis)


def stack(arrays, axis: int = 0, out=None, *, dtype=None, casting: str = "same_kind"):
    """``numpy.stack``: join arrays of one shape along a new axis."""
    arrays = list(arrays)
    if not _traced(arrays):
        return np.stack(arrays, axis, out, dtype=dtype, casting=casting)
    arrays = [asarray_or_tracer(a) for a in arrays]
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {shapes}")
    axis = normalize_axis_index(axis, np.ndim(arrays[0]) + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis, out, dtype=dtype)


def hstack(tup, *, dtype=None, casting: str = "same_kind"):
    """``numpy.hstack``: concatenate along axis 1 (axis 0 for 1-d arrays)."""
    if not _traced(tup):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, 0 if np.ndim(arrays[0]) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting: str = "same_kind"):
    """``numpy.vstack``: concatenate along axis 0, 1-d arrays becoming rows."""
    if not _traced(tup):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype)


def dstack(tup):
    """``numpy.dstack``: concatenate along axis 2 (the depth)."""
    if not _traced(tup):
        return np.dstack(tup)
    return concatenate([atleast_3d(a) for a in tup], 2)


def column_stack(tup):
    """``numpy.column_stack``: 1-d arrays become columns, then concatenate along axis 1."""
    if not _traced(tup):
        return np.column_stack(tup)
    arrays = [asarray_or_tracer(a) for a in tup]
    return concatenate([reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in arrays], 1)


def _split_points(length: int, indices_or_sections, who: str, even: bool) -> list[int]:
    """Where the pieces start and end, exactly as ``numpy.array_split`` computes them."""
    if np.ndim(indices_or_sections) == 0:
        sections = _concrete_int(indices_or_sections, "the number of sections", who)
        if sections <= 0:
            raise ValueError(f"{who}: number sections must be larger than 0.")
        if even and length % sections:
            raise ValueError(f"{who}: array split does not result in an equal division "
                             f"({length} into {sections} sections)")
        each, extras = divmod(length, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        return np.cumsum(sizes).tolist()
    points = [_concrete_int(i, "a split index", who) for i in indices_or_sections]
    return [0] + points + [length]


def array_split(ary, indices_or_sections, axis: int = 0):
    """``numpy.array_split``: like ``split``, but sections may differ in length by one."""
    if not isinstance(ary, Tracer):
        return np.array_split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, "array_split", even=False)


def split(ary, indices_or_sections, axis: int = 0):
    """``numpy.split``: a list of sub-arrays, cut into equal sections or at the given indices."""
    if not isinstance(ary, Tracer):
        return np.split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, "split", even=True)


def _split(ary, indices_or_sections, axis, who, even):
    axis = normalize_axis_index(axis, ary.ndim, who)
    points = _split_points(ary.shape[axis], indices_or_sections, who, even)
    return [st.slice_along(ary, axis, start, stop) for start, stop in zip(points, points[1:])]


def hsplit(ary, indices_or_sections):
    """``numpy.hsplit``: split along axis 1 (axis 0 for 1-d arrays)."""
    if not isinstance(ary, Tracer):
        return np.hsplit(ary, indices_or_sections)
    if ary.ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if ary.ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """``numpy.vsplit``: split along axis 0 (the array must be at least 2-d)."""
    if not isinstance(ary, Tracer):
        return np.vsplit(ary, indices_or_sections)
    if ary.ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """``numpy.dsplit``: split along axis 2 (the array must be at least 3-d)."""
    if not isinstance(ary, Tracer):
        return np.dsplit(ary, indices_or_sections)
    if ary.ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# ------------------------------------------------------------------------ repeating, reordering

def tile(A, reps):
    """``numpy.tile``: ``A`` repeated ``reps`` times along each axis (a broadcast)."""
    if not isinstance(A, Tracer):
        return np.tile(A, reps)
    reps = tuple(reps) if isinstance(reps, (tuple, list)) or (
        isinstance(reps, np.ndarray) and reps.ndim) else (reps,)
    reps = tuple(_concrete_int(r, "reps", "tile") for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetitions are not allowed, got {reps}")
    ndim = max(len(reps), A.ndim)
    shape = (1,) * (ndim - A.ndim) + A.shape
    reps = (1,) * (ndim - len(reps)) + reps
    # Interleave a repetition axis before each axis: (r0, s0, r1, s1, ...) flattens to the tile.
    spread = st.reshape(A, [d for s in shape for d in (1, s)])
    tiled = st.broadcast_to(spread, [d for r, s in zip(reps, shape) for d in (r, s)])
    return st.reshape(tiled, [r * s for r, s in zip(reps, shape)])


def repeat(a, repeats, axis=None):
    """``numpy.repeat``: repeat each element (``axis=None`` flattens first)."""
    if not isinstance(a, Tracer):
        return np.repeat(a, repeats, axis)
    if isinstance(repeats, Tracer):
        _concrete_int(repeats, "repeats", "repeat")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(axis, a.ndim, "repeat")
    length = a.shape[axis]
    try:
        source = np.repeat(np.arange(length), repeats)
    except (ValueError, TypeError) as error:
        raise type(error)(f"repeat: {error}") from None
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        # Every element the same number of times: a broadcast along a new axis, then a merge.
        count = int(np.reshape(repeats, -1)[0])
        shape = a.shape[:axis + 1] + (1,) + a.shape[axis + 1:]
        wide = st.broadcast_to(st.reshape(a, shape),
                               shape[:axis + 1] + (count,) + shape[axis + 2:])
        return st.reshape(wide, a.shape[:axis] + (length * count,) + a.shape[axis + 1:])
    return st.gather(a, [source], _along(a.ndim, axis, ("array", 0)))


def flip(m, axis=None):
    """``numpy.flip``: reverse the order of elements along ``axis`` (all axes for None)."""
    if not isinstance(m, Tracer):
        return np.flip(m, axis)
    axes = normalize_axes(axis, m.ndim, "flip")
    if not axes or m.ndim == 0:
        return m
    entries = [("slice", None, None, -1) if i in axes else _FULL for i in range(m.ndim)]
    return st.gather(m, [], st.IndexSpec(entries))


def fliplr(m):
    """``numpy.fliplr``: reverse axis 1."""
    if isinstance(m, Tracer) and m.ndim < 2:
        raise ValueError("fliplr: input must be >= 2-d.")
    return flip(m, 1) if isinstance(m, Tracer) else np.fliplr(m)


def flipud(m):
    """``numpy.flipud``: reverse axis 0."""
    if isinstance(m, Tracer) and m.ndim < 1:
        raise ValueError("flipud: input must be >= 1-d.")
    return flip(m, 0) if isinstance(m, Tracer) else np.flipud(m)


def _pairs(shift, axes, who):
    listed = isinstance(shift, (tuple, list)) or (
        isinstance(shift, (np.ndarray, Tracer)) and shift.ndim == 1)
    shifts = list(shift) if listed else [shift]
    if any(isinstance(s, (tuple, list)) or np.ndim(s) for s in shifts):
        raise ValueError(f"{who}: 'shift' and 'axis' should be scalars or 1D sequences")
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"{who}: shape mismatch: {len(shifts)} shifts for {len(axes)} axes")
    return zip(shifts, axes)


def roll(a, shift, axis=None):
    """``numpy.roll``: shift elements cyclically along ``axis`` (flattened for None).

    The shift may be traced (a scalar integer): the roll is then a gather at computed indices.

    >>> import funcgrad as fg
    >>> fg.jvp(lambda x: roll(x, 1), (np.array([1.0, 2.0, 3.0]),), (np.array([1.0, 0, 0]),))
    (array([3., 1., 2.]), array([0., 1., 0.]))
    """
    if not _traced([a, shift]):
        return np.roll(a, shift, axis)
    a = asarray_or_tracer(a)
    if isinstance(shift, Tracer) and not np.issubdtype(shift.dtype, np.integer):
        raise TypeError(f"roll: the shift must be an integer, got a traced {shift.aval.short()}")
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    axes = list(normalize_axis_tuple(axis, a.ndim, "roll", allow_duplicate=True))
    totals = {}
    for sh, ax in _pairs(shift, axes, "roll"):
        sh = cast(sh, np.int64) if isinstance(sh, Tracer) else _concrete_int(sh, "the shift",
                                                                             "roll")
        totals[ax] = sh if ax not in totals else _add(totals[ax], sh)
    for ax, sh in totals.items():
        length = a.shape[ax]
        if isinstance(sh, Tracer):
            steps = np.arange(length, dtype=sh.dtype)
            source = ew.rem(ew.sub(steps, sh), sh.dtype.type(max(length, 1)))
            a = st.gather(a, [source], _along(a.ndim, ax, ("array", 0)))
        elif length and sh % length:
            cut = length - sh % length
            a = st.concatenate([st.slice_along(a, ax, cut, None), st.slice_along(a, ax, 0, cut)],
                               ax)
    return a


def _add(x, y):
    if not (isinstance(x, Tracer) or isinstance(y, Tracer)):
        return x + y
    dtype = common_dtype(x, y)
    return ew.add(cast(x, dtype), cast(y, dtype))


def take(a, indices, axis=None, out=None, mode: str = "raise"):
    """``numpy.take``: elements at ``indices`` along ``axis`` (of the flattened array for None).

    Also the way to index a concrete array with a traced index inside a transformation.
    ``mode`` is ``"raise"``, ``"wrap"`` or ``"clip"``, as in NumPy.
    """
    if not _traced([a, indices]):
        return np.take(a, indices, axis, out, mode)
    if out is not None:
        raise TypeError("take: out= is not supported on traced arrays; use the returned value")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    a, indices = asarray_or_tracer(a), asarray_or_tracer(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise IndexError(f"take: indices must be integers, got {indices.dtype.name}")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(axis, np.ndim(a), "take")
    length = np.shape(a)[axis]
    if isinstance(indices, Tracer) and mode != "raise":
        indices = cast(indices, np.int64)
        bound = np.int64(max(length - 1, 0))
        indices = (ew.rem(indices, np.int64(max(length, 1))) if mode == "wrap" else
                   ew.minimum(ew.maximum(indices, np.int64(0)), bound))
    elif not isinstance(indices, Tracer):
        try:
            indices = np.take(np.arange(length), indices, mode=mode)
        except IndexError as error:
            raise IndexError(f"take: {error}") from None
    return st.gather(a, [indices], _along(np.ndim(a), axis, ("array", 0)))


# ------------------------------------------------------------------------ diagonals, triangles

def _diagonal_indices(rows: int, cols: int, offset: int):
    """Row and column indices of diagonal ``offset`` of a ``rows x cols`` matrix."""
    length = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    steps = np.arange(length)
    return steps + max(-offset, 0), steps + max(offset, 0)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """``numpy.diagonal``: the diagonal of the ``axis1``/``axis2`` planes, as the last axis."""
    if not isinstance(a, Tracer):
        return np.diagonal(a, offset, axis1, axis2)
    if a.ndim < 2:
        raise ValueError("diagonal: the array must have at least two dimensions")
    axis1 = normalize_axis_index(axis1, a.ndim, "diagonal")
    axis2 = normalize_axis_index(axis2, a.ndim, "diagonal")
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    offset = _concrete_int(offset, "offset", "diagonal")
    rows, cols = _diagonal_indices(a.shape[axis1], a.shape[axis2], offset)
    entries = [_FULL] * a.ndim
    first, second = sorted((axis1, axis2))
    entries[first], entries[second] = ("array", 0), ("array", 1)
    operands = [rows, cols] if axis1 < axis2 else [cols, rows]
    out = st.gather(a, operands, st.IndexSpec(entries))
    # NumPy puts two adjacent advanced indices' axis in their place, separated ones first.
    where = first if second == first + 1 else 0
    return moveaxis(out, where, -1)


def diag(v, k: int = 0):
    """``numpy.diag``: a 1-d array's square matrix with it on diagonal ``k``, or a 2-d
    array's diagonal ``k``.

    >>> import funcgrad as fg
    >>> fg.grad(lambda v: (diag(v) @ np.ones(2)).sum())(np.array([1.0, 2.0]))
    array([1., 1.])
    """
    if not isinstance(v, Tracer):
        return np.diag(v, k)
    k = _concrete_int(k, "k", "diag")
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1- or 2-d, got {v.ndim}-d")
    size = v.shape[0] + abs(k)
    rows, cols = _diagonal_indices(size, size, k)
    index = st.IndexSpec([("array", 0), ("array", 1)])
    return st.scatter(np.zeros((size, size), v.dtype), v, [rows, cols], index)


def _triangle(m, k, who, lower):
    if not isinstance(m, Tracer):
        return (np.tril if lower else np.triu)(m, k)
    if m.ndim == 0:
        raise ValueError(f"{who}: input must be at least 1-d")
    k = _concrete_int(k, "k", who)
    rows, cols = m.shape[-2:] if m.ndim >= 2 else (m.shape[0], m.shape[0])
    below = np.tri(rows, cols, k if lower else k - 1, dtype=bool)
    return ew.select(below if lower else ~below, m, np.zeros((), m.dtype))


def tril(m, k: int = 0):
    """``numpy.tril``: zero the elements above diagonal ``k`` (of the last two axes)."""
    return _triangle(m, k, "tril", lower=True)


def triu(m, k: int = 0):
    """``numpy.triu``: zero the elements below diagonal ``k`` (of the last two axes)."""
    return _triangle(m, k, "triu", lower=False)


# ------------------------------------------------------------------ the array API's names

def concat(arrays, /, *, axis=0):
    """The array API's ``concat`` (NumPy 2's): ``concatenate``."""
    return concatenate(arrays, axis)


def permute_dims(a, /, axes=None):
    """The array API's ``permute_dims`` (NumPy 2's): ``transpose``."""
    return transpose(a, axes)


def matrix_transpose(x, /):
    """``numpy.matrix_transpose``: the last two axes swapped (of a stack of matrices)."""
    if np.ndim(x) < 2:
        raise ValueError(f"matrix_transpose: the input must be at least 2-d, got "
                         f"{np.ndim(x)}-d")
    return swapaxes(x, -1, -2)


def unstack(x, /, *, axis=0):
    """``numpy.unstack``: the tuple of the slices of ``x`` along ``axis`` (``stack``'s
    inverse)."""
    if not isinstance(x, Tracer):
        return np.unstack(x, axis=axis)
    if x.ndim == 0:
        raise ValueError("unstack: the input must be at least 1-d")
    axis = normalize_axis_index(axis, x.ndim, "unstack")
    moved = moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(moved.shape[0]))


def copy(a, order="K", subok=False):
    """``numpy.copy``: of a traced array, the array itself (traced values are immutable)."""
    if not isinstance(a, Tracer):
        return np.copy(a, order=order, subok=subok)
    return a
