"""Structural primitives: reshape, broadcast, transpose, indexing (gather/scatter), concatenate.

All of NumPy's indexing, basic and advanced, is one ``gather`` primitive whose static
``IndexSpec`` is the index expression with each integer-array index replaced by a numbered
operand. Its reverse rule is ``scatter_add``; ``.at[...].set`` is ``scatter``.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import reduction
from . import taylor as ts


def _full_like(x, value):
    """``value`` everywhere in the shape and dtype of ``x``: a broadcast scalar, so a trace
    records no large constant."""
    shape = np.shape(x)
    scalar = x.dtype.type(value)
    return broadcast_p.bind(scalar, shape=shape) if shape else scalar


def _zeros_like(x):
    return _full_like(x, 0)

# ----------------------------------------------------------------------------- reshape


reshape_p = Primitive("reshape", "structural")
reshape_p.impl = lambda x, *, new_shape: (
    x.reshape(new_shape) if type(x) is np.ndarray else np.reshape(x, new_shape))


def _reshape_shape(x, *, new_shape):
    if math.prod(new_shape) != x.size:
        raise ShapeError(f"cannot reshape {x.shape} ({x.size} elements) into {new_shape}")
    return ShapedArray(new_shape, x.dtype)


reshape_p.abstract_eval = _reshape_shape
reshape_p.jvp = lambda primals, tangents, *, new_shape: (
    reshape(primals[0], new_shape), reshape(tangents[0], new_shape))
reshape_p.vjp = lambda needs, g, ans, x, *, new_shape: (reshape(g, np.shape(x)),)
reshape_p.eager_vjp = lambda needs, g, ans, x, *, new_shape: (g.reshape(x.shape),)


def _reshape_batch(args, dims, *, new_shape):
    x = batch_to_front(args[0], dims[0])
    return reshape(x, np.shape(x)[:1] + new_shape), 0


reshape_p.batch = _reshape_batch
reshape_p.taylor = ts.linear(reshape_p)


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
        result = ew._broadcast_shapes(x.shape, tuple(shape))
    except ShapeError:
        result = None
    if result != tuple(shape):
        raise ShapeError(f"cannot broadcast shape {x.shape} to {shape}")
    return ShapedArray(shape, x.dtype)


broadcast_p.abstract_eval = _broadcast_shape
broadcast_p.stage_constants = True
broadcast_p.jvp = lambda primals, tangents, *, shape: (
    broadcast_to(primals[0], shape), broadcast_to(tangents[0], shape))
broadcast_p.vjp = lambda needs, g, ans, x, *, shape: (unbroadcast(g, np.shape(x)),)


def _broadcast_batch(args, dims, *, shape):
    x = lead_batch_to_rank(args[0], dims[0], len(shape))
    return broadcast_to(x, np.shape(x)[:1] + shape), 0


broadcast_p.batch = _broadcast_batch
broadcast_p.taylor = ts.linear(broadcast_p)


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
    if type(g) is np.ndarray:   # an eager rule's cotangent: NumPy at once, no binds
        if axes:
            g = reduction.reduce_sum_p.impl(g, axes=axes)
        return g.reshape(shape)
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
# Example axis ``p`` is batched axis ``p + (p >= dim)``; one transpose also brings the batch
# axis to the front.
transpose_p.batch = lambda args, dims, *, permutation: (transpose(args[0], (dims[0],) + tuple(
    p + (p >= dims[0]) for p in permutation)), 0)
transpose_p.taylor = ts.linear(transpose_p)


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


# ---------------------------------------------------------------------- batching helpers
# A batching rule gets each operand with its batch axis (``dims[i]``, None when the operand is
# shared by every example); these put that axis where the rule wants it.

def batch_to_front(x, dim: int):
    """``x`` with its batch axis ``dim`` moved to the front."""
    return x if dim == 0 else moveaxis(x, dim, 0)


def batch_size(args, dims) -> int:
    """The size of the batch axis, read from the first batched operand."""
    return next(np.shape(x)[d] for x, d in zip(args, dims) if d is not None)


def batched_at_front(x, dim, size: int):
    """``x`` with a leading batch axis: moved there, or broadcast when ``x`` is unbatched."""
    if dim is None:
        return broadcast_to(x, (size,) + np.shape(x))
    return batch_to_front(x, dim)


def lead_batch_to_rank(x, dim, rank: int):
    """``x`` batched at ``dim`` as ``(B, 1, ..., 1, *example_shape)`` with ``rank`` example
    axes: NumPy's right-aligned broadcasting then pairs example axes with example axes."""
    x = batch_to_front(x, dim)
    shape = np.shape(x)
    return reshape(x, shape[:1] + (1,) * (rank + 1 - len(shape)) + shape[1:])


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


_FULL_SLICE = ("slice", None, None, None)


def _is_advanced(entry) -> bool:
    if isinstance(entry, tuple):
        return entry[0] == "array"
    return isinstance(entry, (int, np.integer)) and not isinstance(entry, bool)


def _example_shape(x, dim):
    shape = np.shape(x)
    return shape if dim is None else shape[:dim] + shape[dim + 1:]


class _AdvancedBlock:
    """Where NumPy puts the axes of the broadcast index arrays in a gather's result.

    With at least one index array, integers count as index arrays too. Adjacent in the index,
    their block replaces them in place; separated by a slice, ``None`` or ellipsis, it goes
    first. ``position`` is the block's first result axis and ``rank`` its number of axes.
    """

    def __init__(self, index: IndexSpec, ndim: int, index_shapes):
        entries = index.entries
        places = [i for i, entry in enumerate(entries) if _is_advanced(entry)]
        self.rank = len(ew._broadcast_shapes(*[tuple(s) for s in index_shapes]))
        self.contiguous = places == list(range(places[0], places[-1] + 1))
        self.position = 0
        if self.contiguous:
            consumed = sum(entry is not None and entry is not Ellipsis for entry in entries)
            self.position = sum(ndim - consumed if entry is Ellipsis else 1
                                for entry in entries[:places[0]])

    def from_example_layout(self, ndim: int):
        """The permutation of an ``ndim``-axis example result that brings the block first."""
        start, stop = self.position, self.position + self.rank
        return list(range(start, stop)) + list(range(start)) + list(range(stop, ndim))

    def to_example_layout(self, ndim: int):
        """The inverse: from block-first back to where the example has it."""
        return tuple(int(p) for p in np.argsort(self.from_example_layout(ndim)))


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


def _gather_eager_vjp(needs, g, ans, x, *indices, index):
    """``vjp``'s scatter_add into zeros, in NumPy: the cotangent added into one fresh array
    of zeros in place. The traced rule's impl fills a broadcast of 0 and then copies it
    (``scatter_add`` does not write its operand): two extra full passes over ``x``'s shape
    for each slice (three of a (8, 128, 384) array for a transformer's q, k, v). The adds
    are the same (0 + g, -0.0 becoming 0.0 as there), at the same positions in the same
    order."""
    if type(g) is not np.ndarray:
        return gather_p.vjp(needs, g, ans, x, *indices, index=index)
    out = np.zeros(np.shape(x), x.dtype)
    if indices:
        _ufunc_at(np.add, out, index.build(indices), g)
    else:
        out[index.build(())] += g
    return (out,) + (None,) * len(indices)


gather_p.eager_vjp = _gather_eager_vjp


def _gather_batch(args, dims, *, index):
    x, *indices = args
    x_dim, *index_dims = dims
    if all(d is None for d in index_dims):
        # Only the array is batched: a leading full slice keeps its batch axis, which stays
        # first unless separated index arrays put their block in front of it.
        out = gather(batch_to_front(x, x_dim), indices, IndexSpec((_FULL_SLICE,) + index.entries))
        if not indices:
            return out, 0
        block = _AdvancedBlock(index, np.ndim(x) - 1, [np.shape(i) for i in indices])
        return out, 0 if block.contiguous else block.rank
    example_shapes = [_example_shape(i, d) for i, d in zip(indices, index_dims)]
    example_ndim = np.ndim(x) - (x_dim is not None)
    block = _AdvancedBlock(index, example_ndim, example_shapes)
    indices = [i if d is None else lead_batch_to_rank(i, d, block.rank)
               for i, d in zip(indices, index_dims)]
    if x_dim is None:
        # The broadcast index block gains the batch axis in front, where the example's is.
        return gather(x, indices, index), block.position
    # Both batched: index the batch axis with arange(B) too, so that example b reads its
    # own array. That block goes first: (B, *block, other axes); restore the example layout.
    size = np.shape(x)[x_dim]
    batch_index = np.arange(size).reshape((size,) + (1,) * block.rank)
    spec = IndexSpec((("array", len(indices)),) + index.entries)
    out = gather(batch_to_front(x, x_dim), indices + [batch_index], spec)
    return transpose(out, (0,) + tuple(1 + p for p in block.to_example_layout(np.ndim(out) - 1))), 0


gather_p.batch = _gather_batch
gather_p.taylor = ts.linear(gather_p, (0,))


def gather(x, indices, index: IndexSpec):
    return gather_p.bind(x, *indices, index=index)


def _scatter_shape(operand, updates, *indices, index):
    target = _gather_shape(operand, *indices, index=index)
    try:
        fits = ew._broadcast_shapes(updates.shape, target.shape) == target.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"updates of shape {updates.shape} do not fit the indexed shape "
                         f"{target.shape}")
    if updates.dtype != operand.dtype:
        raise ShapeError(f"updates dtype {updates.dtype.name} differs from the array's "
                         f"{operand.dtype.name}")
    return operand


_UFUNC_AT_MAX_DIMS = 32   # NumPy 2's ``ufunc.at`` crashes (a segfault) on more dimensions


def _ufunc_at(ufunc, out, where, updates):
    """``ufunc.at(out, where, updates)``; beyond 32 dimensions, the same on the flat array at
    the flat positions ``where`` selects (in the same order, so repeated indices accumulate
    in the same sequence: the same numbers)."""
    if out.ndim <= _UFUNC_AT_MAX_DIMS:
        ufunc.at(out, where, updates)
        return
    work = np.ascontiguousarray(out)   # ``out`` itself where it is C-ordered
    positions = np.arange(work.size).reshape(work.shape)[where]
    ufunc.at(work.reshape(-1), positions.reshape(-1),
             np.broadcast_to(updates, positions.shape).reshape(-1))
    if work is not out:
        out[...] = work


def _scatter_add_impl(operand, updates, *indices, index):
    out = np.array(operand, copy=True)
    if indices:
        _ufunc_at(np.add, out, index.build(indices), updates)
    else:
        out[index.build(())] += updates
    return out


scatter_add_p = Primitive("scatter_add", "structural")
scatter_add_p.impl = _scatter_add_impl
scatter_add_p.abstract_eval = _scatter_shape


def _linear_scatter_jvp(apply):
    """scatter and scatter_add are linear in (operand, updates) together: their tangent is
    the same scatter of the tangents."""
    def jvp(primals, tangents, *, index):
        operand, updates, *indices = primals
        t_operand = _zeros_like(operand) if tangents[0] is None else tangents[0]
        t_updates = _zeros_like(updates) if tangents[1] is None else tangents[1]
        return (apply(operand, updates, indices, index),
                apply(t_operand, t_updates, indices, index))
    return jvp


scatter_add_p.jvp = _linear_scatter_jvp(lambda *args: scatter_add(*args))
scatter_add_p.vjp = lambda needs, g, ans, operand, updates, *indices, index: (
    g if needs[0] else None,
    unbroadcast(gather(g, indices, index), np.shape(updates)) if needs[1] else None,
) + (None,) * len(indices)


def scatter_add(operand, updates, indices, index: IndexSpec):
    return scatter_add_p.bind(operand, updates, *indices, index=index)


def _batched_updates(updates, dim, target_ndim: int, batch_axis: int, permutation=None):
    """Updates for a batched scatter into an example target of ``target_ndim`` axes: the
    example axes permuted by ``permutation`` and the batch axis (size 1 when ``updates`` is
    unbatched) at ``batch_axis``."""
    if dim is None:
        if batch_axis == 0 and permutation is None:
            return updates        # right-aligned broadcasting already fits
        shape = np.shape(updates)
        updates = reshape(updates, (1,) * (target_ndim + 1 - len(shape)) + shape)
    else:
        updates = lead_batch_to_rank(updates, dim, target_ndim)
    if permutation is not None:
        updates = transpose(updates, (0,) + tuple(1 + p for p in permutation))
    return moveaxis(updates, 0, batch_axis) if batch_axis else updates


def _scatter_batch(prim):
    """The batching rule of ``scatter`` and ``scatter_add``; the result is batched at 0."""
    def batch(args, dims, *, index):
        operand, updates, *indices = args
        operand_dim, updates_dim, *index_dims = dims
        operand = batched_at_front(operand, operand_dim, batch_size(args, dims))
        example_shapes = [_example_shape(i, d) for i, d in zip(indices, index_dims)]
        target = _gather_shape(ShapedArray(np.shape(operand)[1:], operand.dtype),
                               *[ShapedArray(s, i.dtype) for s, i in zip(example_shapes,
                                                                         indices)],
                               index=index).shape
        if all(d is None for d in index_dims):
            # As in gather: a leading full slice over the batch axis.
            batch_axis = 0
            if indices:
                block = _AdvancedBlock(index, np.ndim(operand) - 1, example_shapes)
                batch_axis = 0 if block.contiguous else block.rank
            updates = _batched_updates(updates, updates_dim, len(target), batch_axis)
            spec = IndexSpec((_FULL_SLICE,) + index.entries)
            return prim.bind(operand, updates, *indices, index=spec), 0
        # As in gather: arange(B) indexes the batch axis, and the indexed region is
        # (B, *block, other axes), so the updates' example axes are rearranged to match.
        block = _AdvancedBlock(index, np.ndim(operand) - 1, example_shapes)
        indices = [i if d is None else lead_batch_to_rank(i, d, block.rank)
                   for i, d in zip(indices, index_dims)]
        size = np.shape(operand)[0]
        indices.append(np.arange(size).reshape((size,) + (1,) * block.rank))
        updates = _batched_updates(updates, updates_dim, len(target), 0,
                                   block.from_example_layout(len(target)))
        spec = IndexSpec((("array", len(indices) - 1),) + index.entries)
        return prim.bind(operand, updates, *indices, index=spec), 0
    return batch


scatter_add_p.batch = _scatter_batch(scatter_add_p)
scatter_add_p.taylor = ts.linear(scatter_add_p, (0, 1))


def _scatter_impl(operand, updates, *indices, index):
    out = np.array(operand, copy=True)
    out[index.build(indices)] = updates
    return out


scatter_p = Primitive("scatter", "structural")
scatter_p.impl = _scatter_impl
scatter_p.abstract_eval = _scatter_shape


def _kept_writes(shape, indices, index: IndexSpec):
    """Where each write of a scatter into an array of ``shape`` is the one kept: a bool mask
    over the indexed region. At a repeated index NumPy's assignment keeps one write (the
    last), so the others are overwritten; scattering write numbers finds which."""
    writes = np.arange(int(math.prod(shape)), dtype=np.int64)
    region = np.shape(gather(writes.reshape(shape), indices, index))
    numbers = np.arange(int(math.prod(region)), dtype=np.int64).reshape(region)
    slots = scatter(np.full(shape, -1, np.int64), numbers, indices, index)
    return ew.eq(gather(slots, indices, index), numbers)


def _scatter_updates_vjp(g, updates, indices, index: IndexSpec):
    """``g`` read at the indexed places, zero for the writes that a repeated index
    overwrote (the forward rule's tangent is the same scatter, so it agrees)."""
    ct = gather(g, indices, index)
    if indices:
        kept = _kept_writes(np.shape(g), indices, index)
        if type(kept) is not np.ndarray or not kept.all():
            ct = ew.select(kept, ct, _zeros_like(ct))
    return unbroadcast(ct, np.shape(updates))


scatter_p.jvp = _linear_scatter_jvp(lambda *args: scatter(*args))
scatter_p.vjp = lambda needs, g, ans, operand, updates, *indices, index: (
    scatter(g, _zeros_like(updates), indices, index) if needs[0] else None,
    _scatter_updates_vjp(g, updates, indices, index) if needs[1] else None,
) + (None,) * len(indices)


scatter_p.batch = _scatter_batch(scatter_p)
scatter_p.taylor = ts.linear(scatter_p, (0, 1))


def scatter(operand, updates, indices, index: IndexSpec):
    return scatter_p.bind(operand, updates, *indices, index=index)


# ----------------------------------------------- scatter_mul / scatter_min / scatter_max
# ``x.at[idx].multiply(u)``, ``.min(u)``, ``.max(u)``: at a repeated index every update
# applies (products multiply, the extremum of all of them wins), as ``np.multiply.at`` does.

def _scatter_apply_impl(ufunc):
    def impl(operand, updates, *indices, index):
        out = np.array(operand, copy=True)
        where = index.build(indices)
        if indices:
            _ufunc_at(ufunc, out, where, updates)
        else:   # basic indexing selects each element once
            out[where] = ufunc(out[where], updates)
        return out
    return impl


def _region(updates, indices, index, operand):
    """``updates`` broadcast to the indexed region of ``operand`` (its shape from the shape
    rule: nothing is gathered)."""
    shape = _gather_shape(ShapedArray(np.shape(operand), operand.dtype),
                          *[ShapedArray(np.shape(i), i.dtype) for i in indices],
                          index=index).shape
    return updates if np.shape(updates) == shape else broadcast_to(updates, shape)


def _extremum_winners(operand, updates, ans, indices, index):
    """Which of the operand's elements and of the updates hold the result, and how many
    share each result (ties share the derivative equally, as for ``maximum``)."""
    at_operand = ew.convert(ew.eq(operand, ans), ans.dtype)
    at_updates = ew.convert(ew.eq(updates, gather(ans, indices, index)), ans.dtype)
    count = ew.add(at_operand, scatter_add(_zeros_like(operand), at_updates, indices, index))
    return at_operand, at_updates, count


def _extremum_scatter(name, ufunc):
    prim = Primitive(name, "structural")
    prim.impl = _scatter_apply_impl(ufunc)
    prim.abstract_eval = _scatter_shape

    def jvp(primals, tangents, *, index):
        operand, updates, *indices = primals
        ans = prim.bind(operand, updates, *indices, index=index)
        updates = _region(updates, indices, index, operand)
        at_operand, at_updates, count = _extremum_winners(operand, updates, ans, indices,
                                                          index)
        total = _zeros_like(ans)
        if tangents[0] is not None:
            total = ew.mul(tangents[0], at_operand)
        if tangents[1] is not None:
            t_updates = _region(tangents[1], indices, index, operand)
            total = ew.add(total, scatter_add(_zeros_like(operand),
                                              ew.mul(t_updates, at_updates), indices, index))
        return ans, ew.div(total, count)

    def vjp(needs, g, ans, operand, updates, *indices, index):
        region = _region(updates, indices, index, operand)
        at_operand, at_updates, count = _extremum_winners(operand, region, ans, indices, index)
        share = ew.div(g, count)
        return (ew.mul(share, at_operand) if needs[0] else None,
                unbroadcast(ew.mul(gather(share, indices, index), at_updates),
                            np.shape(updates)) if needs[1] else None) + (None,) * len(indices)

    prim.jvp, prim.vjp = jvp, vjp
    prim.batch = _scatter_batch(prim)
    prim.taylor = ts.by_jvp(prim)   # piecewise linear: the winners' series (ties share)
    return prim


scatter_min_p = _extremum_scatter("scatter_min", np.minimum)
scatter_max_p = _extremum_scatter("scatter_max", np.maximum)
scatter_mul_p = Primitive("scatter_mul", "structural")
scatter_mul_p.impl = _scatter_apply_impl(np.multiply)
scatter_mul_p.abstract_eval = _scatter_shape
scatter_mul_p.batch = _scatter_batch(scatter_mul_p)


def _products(operand, updates, indices, index):
    """``(P, others)``: P, the product of the updates that reach each element (1 where none
    do), and for each update the product of the *other* updates at its element, without
    dividing by a zero (a zero update's others are the nonzero ones, if it is the only one)."""
    ones = _full_like(operand, 1)
    product = scatter_mul(ones, updates, indices, index)
    zero = ew.eq(updates, ew.scalar_like(updates, 0))
    nonzero = ew.select(zero, _full_like(updates, 1), updates)
    nonzero_product = gather(scatter_mul(ones, nonzero, indices, index), indices, index)
    zeros = gather(scatter_add(_zeros_like(operand), ew.convert(zero, operand.dtype), indices,
                               index), indices, index)
    alone = ew.convert(ew.eq(zeros, ew.scalar_like(zeros, 1)), operand.dtype)
    none = ew.convert(ew.eq(zeros, ew.scalar_like(zeros, 0)), operand.dtype)
    others = ew.mul(nonzero_product, ew.select(zero, alone, ew.div(none, nonzero)))
    return product, others


def _scatter_mul_jvp(primals, tangents, *, index):
    operand, updates, *indices = primals
    ans = scatter_mul(operand, updates, indices, index)
    product, others = _products(operand, _region(updates, indices, index, operand), indices,
                                index)
    total = _zeros_like(ans) if tangents[0] is None else ew.mul(tangents[0], product)
    if tangents[1] is not None:
        t_updates = _region(tangents[1], indices, index, operand)
        total = ew.add(total, ew.mul(operand, scatter_add(
            _zeros_like(operand), ew.mul(t_updates, others), indices, index)))
    return ans, total


def _scatter_mul_vjp(needs, g, ans, operand, updates, *indices, index):
    product, others = _products(operand, _region(updates, indices, index, operand), indices,
                                index)
    return (ew.mul(g, product) if needs[0] else None,
            unbroadcast(ew.mul(gather(ew.mul(g, operand), indices, index), others),
                        np.shape(updates)) if needs[1] else None) + (None,) * len(indices)


scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.vjp = _scatter_mul_vjp


def _occurrences(operand, indices, index):
    """For each element of the indexed region, which write to its target it is (0 for the
    first, 1 for the second at a repeated index, ...), from the indices' numbers."""
    from ..core.errors import ConcretizationError, at_user_line
    from ..core.trace import _UNKNOWN, known_value
    values = [known_value(i) for i in indices]
    if any(v is _UNKNOWN for v in values):
        raise ConcretizationError(at_user_line(
            "jet of scatter_mul (x.at[idx].multiply(u)) needs the numbers of its integer "
            "indices, which are traced here: at a repeated index the updates multiply, and "
            "how many do decides the series. Use concrete indices."))
    shape = np.shape(operand)
    targets = gather(np.arange(int(math.prod(shape))).reshape(shape), values,
                     index).ravel()
    rank = np.empty(targets.size, np.int64)
    order = np.argsort(targets, kind="stable")
    ordered = targets[order]
    starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, ordered.size]))
    rank[order] = np.arange(ordered.size) - group_start
    return rank


def _scatter_mul_taylor(primals, series, *, index):
    # x * P, P the product of the updates reaching each element: one factor per rank of
    # write (the r-th writes to their targets touch each at most once, so each factor's
    # series is a scatter of the updates' coefficients), Cauchy products between them.
    operand, updates, *indices = primals
    x = ts.Series.of(operand, series[0])
    region = _region(updates, indices, index, operand)
    u = ts.Series.of(region, [None if t is None else _region(t, indices, index, operand)
                              for t in series[1]])
    out = scatter_mul(operand, updates, indices, index)
    if u.is_constant:
        return out, [None if t is None else scatter_mul(t, updates, indices, index)
                     for t in series[0]]
    rank = _occurrences(operand, indices, index).reshape(np.shape(region))
    ones, zeros = _full_like(operand, 1), _zeros_like(operand)
    product = None
    for r in range(int(rank.max()) + 1 if rank.size else 0):
        mine = rank == r
        factor = ts.Series(u.order, [scatter_mul(ones, ew.select(mine, region, _full_like(
            region, 1)), indices, index)], lambda k, mine=mine: None if u[k] is None else
            scatter_add(zeros, ew.select(mine, u[k], _zeros_like(u[k])), indices, index))
        product = factor if product is None else product * factor
    result = x if product is None else x * product
    return out, result.tail()


scatter_mul_p.taylor = _scatter_mul_taylor


def scatter_mul(operand, updates, indices, index: IndexSpec):
    return scatter_mul_p.bind(operand, updates, *indices, index=index)


def scatter_min(operand, updates, indices, index: IndexSpec):
    return scatter_min_p.bind(operand, updates, *indices, index=index)


def scatter_max(operand, updates, indices, index: IndexSpec):
    return scatter_max_p.bind(operand, updates, *indices, index=index)


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


def _concatenate_batch(args, dims, *, axis):
    size = batch_size(args, dims)
    return concatenate([batched_at_front(x, d, size) for x, d in zip(args, dims)], axis + 1), 0


concatenate_p.batch = _concatenate_batch
concatenate_p.taylor = ts.linear(concatenate_p)


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
