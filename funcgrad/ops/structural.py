"""Structural primitives: reshape, broadcast, transpose, indexing (gather/scatter), concatenate.

All of NumPy's indexing, basic and advanced, is one ``gather`` primitive whose static
``IndexSpec`` is the index expression with each integer-array index replaced by a numbered
operand. Its reverse rule is ``scatter_add``; ``.at[...].set`` is ``scatter``.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import reduction


def _zeros_like(x):
    return np.zeros(np.shape(x), x.dtype)

# ----------------------------------------------------------------------------- reshape


reshape_p = Primitive("reshape", "structural")
reshape_p.impl = lambda x, *, new_shape: np.reshape(x, new_shape)


def _reshape_shape(x, *, new_shape):
    if int(np.prod(new_shape, dtype=np.int64)) != x.size:
        raise ShapeError(f"cannot reshape {x.shape} ({x.size} elements) into {new_shape}")
    return ShapedArray(new_shape, x.dtype)


reshape_p.abstract_eval = _reshape_shape
reshape_p.jvp = lambda primals, tangents, *, new_shape: (
    reshape(primals[0], new_shape), reshape(tangents[0], new_shape))
reshape_p.vjp = lambda needs, g, ans, x, *, new_shape: (reshape(g, np.shape(x)),)


def reshape(x, new_shape):
    new_shape = tuple(int(d) for d in new_shape)
    if np.shape(x) == new_shape:
        return x
    return reshape_p.bind(x, new_shape=new_shape)


# ------------------------------------------------------------------------- broadcast_to

broadcast_p = Primitive("broadcast_to", "structural")
broadcast_p.impl = lambda x, *, shape: np.broadcast_to(x, shape).copy()


def _broadcast_shape(x, *, shape):
    try:
        result = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        result = None
    if result != tuple(shape):
        raise ShapeError(f"cannot broadcast shape {x.shape} to {shape}")
    return ShapedArray(shape, x.dtype)


broadcast_p.abstract_eval = _broadcast_shape
broadcast_p.jvp = lambda primals, tangents, *, shape: (
    broadcast_to(primals[0], shape), broadcast_to(tangents[0], shape))
broadcast_p.vjp = lambda needs, g, ans, x, *, shape: (unbroadcast(g, np.shape(x)),)


def broadcast_to(x, shape):
    shape = tuple(int(d) for d in shape)
    if np.shape(x) == shape:
        return x
    return broadcast_p.bind(x, shape=shape)


def unbroadcast(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    g_shape = g.shape
    if g_shape == shape:
        return g
    shape = tuple(shape)
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and g_shape[lead + i] != 1)
    if axes:
        g = reduction.reduce_sum(g, axes)
    return reshape(g, shape)


# ----------------------------------------------------------------------------- transpose

transpose_p = Primitive("transpose", "structural")
transpose_p.impl = lambda x, *, permutation: np.transpose(x, permutation)


def _transpose_shape(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(f"{permutation} is not a permutation of the {x.ndim} axes")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)


transpose_p.abstract_eval = _transpose_shape
transpose_p.jvp = lambda primals, tangents, *, permutation: (
    transpose(primals[0], permutation), transpose(tangents[0], permutation))
transpose_p.vjp = lambda needs, g, ans, x, *, permutation: (
    transpose(g, tuple(np.argsort(permutation))),)


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def moveaxis(x, source: int, destination: int):
    ndim = np.ndim(x)
    source, destination = source % ndim, destination % ndim
    order = [i for i in range(ndim) if i != source]
    order.insert(destination, source)
    return transpose(x, order)


# ------------------------------------------------------------------------ gather / scatter

class IndexSpec:
    """A static NumPy index expression; ``("array", k)`` stands for the k-th index operand.

    Entries: Python ints, ``("slice", start, stop, step)``, ``None``, ``Ellipsis``, or
    ``("array", k)``. Hashable, so it can be a primitive parameter and part of a cache key.
    """

    __slots__ = ("entries", "num_arrays")

    def __init__(self, entries):
        self.entries = tuple(entries)
        self.num_arrays = sum(isinstance(e, tuple) and e[0] == "array" for e in self.entries)

    def build(self, arrays):
        out = []
        for entry in self.entries:
            if isinstance(entry, tuple):
                out.append(slice(*entry[1:]) if entry[0] == "slice" else arrays[entry[1]])
            else:
                out.append(entry)
        return tuple(out)

    def __eq__(self, other):
        return isinstance(other, IndexSpec) and self.entries == other.entries

    def __hash__(self):
        return hash(self.entries)

    def __str__(self):
        def show(entry):
            if entry is None:
                return "None"
            if entry is Ellipsis:
                return "..."
            if isinstance(entry, tuple):
                if entry[0] == "array":
                    return f"<{entry[1]}>"
                start, stop, step = ("" if v is None else str(v) for v in entry[1:])
                return f"{start}:{stop}" + (f":{step}" if step else "")
            return str(entry)
        return "[" + ", ".join(show(e) for e in self.entries) + "]"

    __repr__ = __str__


def _gather_shape(x, *indices, index):
    for k, aval in enumerate(indices):
        if not np.issubdtype(aval.dtype, np.integer):
            raise ShapeError(f"index array {k} has dtype {aval.dtype.name}; use integers")
    dummy = np.broadcast_to(np.zeros((), x.dtype), x.shape)
    arrays = [np.zeros(a.shape, a.dtype) for a in indices]
    try:
        shape = dummy[index.build(arrays)].shape
    except IndexError as error:
        raise ShapeError(f"index {index} does not fit an array of shape {x.shape}: "
                         f"{error}") from None
    return ShapedArray(shape, x.dtype)


gather_p = Primitive("gather", "structural")
gather_p.impl = lambda x, *indices, index: np.asarray(x)[index.build(indices)]
gather_p.abstract_eval = _gather_shape
gather_p.jvp = lambda primals, tangents, *, index: (
    gather(primals[0], primals[1:], index), gather(tangents[0], primals[1:], index))
gather_p.vjp = lambda needs, g, ans, x, *indices, index: (
    scatter_add(_zeros_like(x), g, indices, index),) + (None,) * len(indices)


def gather(x, indices, index: IndexSpec):
    return gather_p.bind(x, *indices, index=index)


def _scatter_shape(operand, updates, *indices, index):
    target = _gather_shape(operand, *indices, index=index)
    try:
        fits = np.broadcast_shapes(updates.shape, target.shape) == target.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"updates of shape {updates.shape} do not fit the indexed shape "
                         f"{target.shape}")
    if updates.dtype != operand.dtype:
        raise ShapeError(f"updates dtype {updates.dtype.name} differs from the array's "
                         f"{operand.dtype.name}")
    return operand


def _scatter_add_impl(operand, updates, *indices, index):
    out = np.array(operand, copy=True)
    if indices:
        np.add.at(out, index.build(indices), updates)
    else:
        out[index.build(())] += updates
    return out


scatter_add_p = Primitive("scatter_add", "structural")
scatter_add_p.impl = _scatter_add_impl
scatter_add_p.abstract_eval = _scatter_shape


def _scatter_add_jvp(primals, tangents, *, index):
    operand, updates, *indices = primals
    t_operand = _zeros_like(operand) if tangents[0] is None else tangents[0]
    t_updates = _zeros_like(updates) if tangents[1] is None else tangents[1]
    return (scatter_add(operand, updates, indices, index),
            scatter_add(t_operand, t_updates, indices, index))


scatter_add_p.jvp = _scatter_add_jvp
scatter_add_p.vjp = lambda needs, g, ans, operand, updates, *indices, index: (
    g if needs[0] else None,
    unbroadcast(gather(g, indices, index), np.shape(updates)) if needs[1] else None,
) + (None,) * len(indices)


def scatter_add(operand, updates, indices, index: IndexSpec):
    return scatter_add_p.bind(operand, updates, *indices, index=index)


def _scatter_impl(operand, updates, *indices, index):
    out = np.array(operand, copy=True)
    out[index.build(indices)] = updates
    return out


scatter_p = Primitive("scatter", "structural")
scatter_p.impl = _scatter_impl
scatter_p.abstract_eval = _scatter_shape


def _scatter_jvp(primals, tangents, *, index):
    operand, updates, *indices = primals
    t_operand = _zeros_like(operand) if tangents[0] is None else tangents[0]
    t_updates = _zeros_like(updates) if tangents[1] is None else tangents[1]
    return (scatter(operand, updates, indices, index),
            scatter(t_operand, t_updates, indices, index))


scatter_p.jvp = _scatter_jvp
scatter_p.vjp = lambda needs, g, ans, operand, updates, *indices, index: (
    scatter(g, _zeros_like(updates), indices, index) if needs[0] else None,
    unbroadcast(gather(g, indices, index), np.shape(updates)) if needs[1] else None,
) + (None,) * len(indices)


def scatter(operand, updates, indices, index: IndexSpec):
    return scatter_p.bind(operand, updates, *indices, index=index)


def slice_along(x, axis: int, start, stop, step=None):
    """``x[..., start:stop:step, ...]`` on one axis, as a gather."""
    entries = [("slice", None, None, None)] * np.ndim(x)
    entries[axis] = ("slice", start, stop, step)
    return gather(x, (), IndexSpec(entries))


# --------------------------------------------------------------------------- concatenate

concatenate_p = Primitive("concatenate", "structural")
concatenate_p.impl = lambda *xs, axis: np.concatenate(xs, axis=axis)


def _concatenate_shape(*xs, axis):
    first = xs[0]
    if not 0 <= axis < first.ndim:
        raise ShapeError(f"axis {axis} is out of range for {first.ndim}-d operands")
    for x in xs[1:]:
        if x.dtype != first.dtype:
            raise ShapeError(f"dtypes {first.dtype.name} and {x.dtype.name} differ")
        if x.ndim != first.ndim or any(a != b for i, (a, b) in
                                       enumerate(zip(x.shape, first.shape)) if i != axis):
            raise ShapeError(f"shapes {first.shape} and {x.shape} differ off axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return ShapedArray(shape, first.dtype)


def _concatenate_jvp(primals, tangents, *, axis):
    out = concatenate(primals, axis)
    tangents = [_zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]
    return out, concatenate(tangents, axis)


def _concatenate_vjp(needs, g, ans, *xs, axis):
    cts, start = [], 0
    for x, need in zip(xs, needs):
        stop = start + np.shape(x)[axis]
        cts.append(slice_along(g, axis, start, stop) if need else None)
        start = stop
    return tuple(cts)


concatenate_p.abstract_eval = _concatenate_shape
concatenate_p.jvp = _concatenate_jvp
concatenate_p.vjp = _concatenate_vjp


def concatenate(xs, axis: int):
    xs = list(xs)
    if len(xs) == 1:
        return xs[0]
    return concatenate_p.bind(*xs, axis=int(axis))


def expand_to(g, shape, axes):
    """Undo a reduction over ``axes``: reinsert them as size-1 axes, then broadcast."""
    kept = list(shape)
    for axis in axes:
        kept[axis] = 1
    return broadcast_to(reshape(g, kept), shape)
