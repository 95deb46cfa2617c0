"""Reductions and scans: sum, max, min, prod, argmax/argmin, all/any, cumsum, cumprod.

Reductions take a sorted tuple of ``axes`` and drop them (``keepdims`` is a reshape done by
``funcgrad.numpy``). Their output dtype is their input dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import structural as st
from . import taylor as ts


def _reduced_shape(x, *, axes):
    for axis in axes:
        if not 0 <= axis < x.ndim:
            raise ShapeError(f"axis {axis} is out of range for a {x.ndim}-d array")
    return ShapedArray(tuple(s for i, s in enumerate(x.shape) if i not in axes), x.dtype)


def _reduction_batch(prim):
    """Reduce the example axes where they sit in the batched operand; the batch axis stays.

    Example axis ``a`` is batched axis ``a + (a >= dim)``, and the batch axis moves left by
    the number of reduced axes before it.
    """
    def batch(args, dims, *, axes):
        (x,), (dim,) = args, dims
        moved = tuple(a + (a >= dim) for a in axes)
        return prim.bind(x, axes=moved), dim - sum(a < dim for a in axes)
    return batch


def _reduction(name, impl):
    prim = Primitive(name, "reduction")
    prim.impl = impl
    prim.abstract_eval = _reduced_shape
    prim.batch = _reduction_batch(prim)
    return prim


# ----------------------------------------------------------------------------------- sum

def _keepdims_shape(shape, axes):
    """``shape`` with a 1 where each of the (sorted) reduced ``axes`` was."""
    shape = list(shape)
    for axis in axes:
        shape.insert(axis, 1)
    return tuple(shape)


def _moved_last(x, axes):
    """``x`` with its last axis first, contiguous, where ``axes`` is that axis alone and it is
    short (at most 16, as the classes of a softmax) while the array is not: NumPy reduces such
    an axis row by row, at about a fifth of the speed of a reduction across rows (256x10
    float32: 21 us against 4 us with the axis moved and copied); else None."""
    if type(x) is np.ndarray and len(axes) == 1 and x.ndim >= 2 and axes[0] == x.ndim - 1 \
            and x.shape[-1] <= 16 and x.size >= 512:
        last = x.ndim - 1
        return np.ascontiguousarray(x.T if last == 1 else x.transpose((last, *range(last))))
    return None


def _sum_impl(x, *, axes):
    moved = _moved_last(x, axes)
    if moved is not None:
        return np.add.reduce(moved, axis=0, dtype=x.dtype)
    return np.add.reduce(x, axis=axes, dtype=x.dtype)


reduce_sum_p = _reduction("reduce_sum", _sum_impl)
reduce_sum_p.jvp = lambda primals, tangents, *, axes: (
    reduce_sum(primals[0], axes), reduce_sum(tangents[0], axes))
reduce_sum_p.vjp = lambda needs, g, ans, x, *, axes: (st.expand_to(g, np.shape(x), axes),)
# Up to this many elements the eager cotangent of a sum is written out: np.broadcast_to costs
# about 3 us of Python, an array of 16K floats about as much to fill.
_MATERIALIZED_SUM_CT = 16384


def _sum_eager_vjp(needs, g, ans, x, *, axes):
    """A read-only broadcast view of ``g`` for a large ``x``, not a copy: the rules it reaches
    only read it (a value_and_grad of a sum of 1e6 elements wrote 4 MB of ones and read them
    back three times), and the gradients handed to the user are copied from it
    (``_args.to_user``). A small one is filled in."""
    kept = g.reshape(_keepdims_shape(g.shape, axes))
    if x.size > _MATERIALIZED_SUM_CT:
        return (np.broadcast_to(kept, x.shape),)
    out = np.empty(x.shape, g.dtype)
    if g.ndim:
        out[...] = kept
    else:   # (a full sum: fill is a third of the assignment's cost)
        out.fill(g)
    return (out,)


reduce_sum_p.eager_vjp = _sum_eager_vjp
reduce_sum_p.taylor = ts.linear(reduce_sum_p)


def reduce_sum(x, axes):
    axes = tuple(sorted(int(a) for a in axes))
    if not axes:
        return x
    return reduce_sum_p.bind(x, axes=axes)


# ------------------------------------------------------------------------------ max, min

def _extremum_partial(x, ans, axes):
    """Where ``x`` attains the max (or min): ties share the derivative equally."""
    shape = np.shape(x)
    hits = ew.convert(ew.eq(x, st.expand_to(ans, shape, axes)), x.dtype)
    count = st.expand_to(reduce_sum(hits, axes), shape, axes)
    return ew.div(hits, count)


def _extremum(name, impl):
    prim = _reduction(name, impl)

    def jvp(primals, tangents, *, axes):
        ans = prim.bind(primals[0], axes=axes)
        weights = _extremum_partial(primals[0], ans, axes)
        return ans, reduce_sum(ew.mul(tangents[0], weights), axes)

    def vjp(needs, g, ans, x, *, axes):
        shape = np.shape(x)
        return (ew.mul(st.expand_to(g, shape, axes), _extremum_partial(x, ans, axes)),)

    def eager_vjp(needs, g, ans, x, *, axes):
        # _extremum_partial's numbers, broadcasting instead of materializing the expansions.
        # Written into the fresh ``hits``; where no group ties (every count 1, the common
        # case: the count array is the small reduced one) the division by 1 is skipped, a
        # full pass that changes no number.
        kept = _keepdims_shape(ans.shape, axes)
        hits = np.equal(x, ans.reshape(kept)).astype(x.dtype)
        count = np.add.reduce(hits, axis=axes, dtype=x.dtype, keepdims=True)
        if type(hits) is not np.ndarray:   # a 0-d operand: NumPy scalars, nothing to save
            return (g.reshape(kept) * (hits / count),)
        if not (count == 1).all():
            np.divide(hits, count, out=hits)
        return (np.multiply(g.reshape(kept), hits, out=hits),)

    prim.jvp = jvp
    prim.vjp = vjp
    prim.eager_vjp = eager_vjp
    prim.taylor = ts.by_jvp(prim)   # piecewise linear: the winners' series (ties share)
    return prim


def _extremum_impl(reduce):
    """``reduce`` (np.maximum.reduce or np.minimum.reduce) over ``axes``; one short last axis
    is moved first (``_moved_last``)."""
    def impl(x, *, axes):
        moved = _moved_last(x, axes)
        return reduce(x, axis=axes) if moved is None else reduce(moved, axis=0)
    return impl


reduce_max_p = _extremum("reduce_max", _extremum_impl(np.maximum.reduce))
reduce_min_p = _extremum("reduce_min", _extremum_impl(np.minimum.reduce))


def reduce_max(x, axes):
    return reduce_max_p.bind(x, axes=tuple(sorted(axes)))


def reduce_min(x, axes):
    return reduce_min_p.bind(x, axes=tuple(sorted(axes)))


# ---------------------------------------------------------------------------------- prod

reduce_prod_p = _reduction("reduce_prod",
                           lambda x, *, axes: np.prod(x, axis=axes, dtype=x.dtype))


def _prod_of_others(x, axes):
    """For each element, the product of the other elements of its reduction group.

    Made from exclusive products from the left and from the right, so zeros are handled
    exactly (no division), and the result is differentiable again.
    """
    shape = np.shape(x)
    n = math.prod([shape[a] for a in axes])
    if n == 0:   # empty groups: there are no elements to differentiate
        return np.zeros(shape, x.dtype)
    kept = [i for i in range(len(shape)) if i not in axes]
    moved = st.transpose(x, kept + list(axes))
    moved_shape = np.shape(moved)
    flat = st.reshape(moved, moved_shape[:len(kept)] + (n,))
    last = len(kept)
    ones = np.ones(np.shape(flat)[:-1] + (1,), x.dtype)
    left = cumprod(st.concatenate([ones, st.slice_along(flat, last, 0, n - 1)], last), last)
    flipped = st.slice_along(flat, last, None, None, -1)
    right = cumprod(st.concatenate([ones, st.slice_along(flipped, last, 0, n - 1)], last), last)
    others = ew.mul(left, st.slice_along(right, last, None, None, -1))
    others = st.reshape(others, moved_shape)
    return st.transpose(others, tuple(np.argsort(kept + list(axes))))


reduce_prod_p.jvp = lambda primals, tangents, *, axes: (
    reduce_prod(primals[0], axes),
    reduce_sum(ew.mul(tangents[0], _prod_of_others(primals[0], axes)), axes))
reduce_prod_p.vjp = lambda needs, g, ans, x, *, axes: (
    ew.mul(st.expand_to(g, np.shape(x), axes), _prod_of_others(x, axes)),)


def _reduce_prod_taylor(primals, series, *, axes):
    # The reduced axes made one last axis; its running product's last entry.
    (x,), (terms,) = primals, series
    shape = np.shape(x)
    kept = [i for i in range(len(shape)) if i not in axes]
    n = math.prod([shape[a] for a in axes])
    out_shape = tuple(shape[i] for i in kept)

    def flat(term):
        moved = st.transpose(term, kept + list(axes))
        return st.reshape(moved, out_shape + (n,))

    out = reduce_prod(x, axes)
    if n == 0:
        return out, [None] * len(terms)
    running = _running_product(ts.Series.of(flat(x), [None if t is None else flat(t)
                                                       for t in terms]), len(out_shape))
    last = [None if t is None else st.reshape(st.slice_along(t, len(out_shape), n - 1, n),
                                              out_shape) for t in running.tail()]
    return out, last


reduce_prod_p.taylor = _reduce_prod_taylor


def reduce_prod(x, axes):
    axes = tuple(sorted(int(a) for a in axes))
    if not axes:
        return x
    return reduce_prod_p.bind(x, axes=axes)


# ----------------------------------------------------------- argmax, argmin, all, any

def _index_reduction(name, impl, out_dtype):
    prim = Primitive(name, "reduction")
    prim.impl = impl

    def shape_rule(x, *, axes):
        return ShapedArray(_reduced_shape(x, axes=axes).shape, out_dtype)

    prim.abstract_eval = shape_rule
    prim.jvp = lambda primals, tangents, *, axes: (prim.bind(primals[0], axes=axes), None)
    prim.vjp = lambda needs, g, ans, x, *, axes: (None,)
    prim.batch = _reduction_batch(prim)
    return prim


def _arg_impl(numpy_fn):
    def impl(x, *, axes):
        return numpy_fn(x, axis=axes[0]).astype(np.int64)[()]
    return impl


argmax_p = _index_reduction("argmax", _arg_impl(np.argmax), np.int64)
argmin_p = _index_reduction("argmin", _arg_impl(np.argmin), np.int64)
reduce_and_p = _index_reduction("reduce_and", lambda x, *, axes: np.all(x, axis=axes), np.bool_)
reduce_or_p = _index_reduction("reduce_or", lambda x, *, axes: np.any(x, axis=axes), np.bool_)


def argmax(x, axis: int):
    return argmax_p.bind(x, axes=(int(axis),))


def argmin(x, axis: int):
    return argmin_p.bind(x, axes=(int(axis),))


def reduce_and(x, axes):
    return reduce_and_p.bind(x, axes=tuple(sorted(axes)))


def reduce_or(x, axes):
    return reduce_or_p.bind(x, axes=tuple(sorted(axes)))


# --------------------------------------------------------------------------------- scans

def _scan_shape(x, *, axis, reverse=False):
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"axis {axis} is out of range for a {x.ndim}-d array")
    return x


def _cumsum_impl(x, *, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis=axis, dtype=x.dtype)


cumsum_p = Primitive("cumsum", "reduction")
cumsum_p.impl = _cumsum_impl
cumsum_p.abstract_eval = _scan_shape
cumsum_p.jvp = lambda primals, tangents, *, axis, reverse: (
    cumsum(primals[0], axis, reverse), cumsum(tangents[0], axis, reverse))
cumsum_p.vjp = lambda needs, g, ans, x, *, axis, reverse: (cumsum(g, axis, not reverse),)
cumsum_p.batch = lambda args, dims, *, axis, reverse: (
    cumsum(args[0], axis + (axis >= dims[0]), reverse), dims[0])
cumsum_p.taylor = ts.linear(cumsum_p)


def cumsum(x, axis: int, reverse: bool = False):
    return cumsum_p.bind(x, axis=int(axis), reverse=bool(reverse))


cumprod_p = Primitive("cumprod", "reduction")
cumprod_p.impl = lambda x, *, axis: np.cumprod(x, axis=axis, dtype=x.dtype)
cumprod_p.abstract_eval = _scan_shape


def _cumprod_partials(x, axis):
    """``P[..., j, i] = prod(x[k] for k <= i if k != j)`` with the scanned axis moved last.

    ``d out[i] / d x[j]`` is ``P[j, i]`` for ``j <= i``; built without division, so exact at
    zeros. It costs O(n^2) memory along the axis.
    """
    moved = st.moveaxis(x, axis, -1)
    n = np.shape(moved)[-1]
    rows = st.broadcast_to(st.reshape(moved, np.shape(moved)[:-1] + (1, n)),
                           np.shape(moved)[:-1] + (n, n))
    diagonal = np.eye(n, dtype=bool)
    replaced = ew.select(diagonal, np.ones((), x.dtype), rows)
    return cumprod(replaced, np.ndim(replaced) - 1)


def _cumprod_jvp(primals, tangents, *, axis):
    (x,), (t,) = primals, tangents
    partials = _cumprod_partials(x, axis)               # [..., j, i]
    lower = np.triu(np.ones(partials.shape[-2:], bool))   # j <= i
    weights = ew.select(lower, partials, np.zeros((), x.dtype))
    t_moved = st.moveaxis(t, axis, -1)
    t_col = st.reshape(t_moved, np.shape(t_moved) + (1,))
    out = reduce_sum(ew.mul(weights, t_col), (np.ndim(weights) - 2,))
    return cumprod(x, axis), st.moveaxis(out, -1, axis)


def _cumprod_vjp(needs, g, ans, x, *, axis):
    partials = _cumprod_partials(x, axis)
    lower = np.triu(np.ones(partials.shape[-2:], bool))
    weights = ew.select(lower, partials, np.zeros((), x.dtype))
    g_moved = st.moveaxis(g, axis, -1)
    g_row = st.reshape(g_moved, np.shape(g_moved)[:-1] + (1, np.shape(g_moved)[-1]))
    ct = reduce_sum(ew.mul(weights, g_row), (np.ndim(weights) - 1,))
    return (st.moveaxis(ct, -1, axis),)


cumprod_p.jvp = _cumprod_jvp
cumprod_p.vjp = _cumprod_vjp
cumprod_p.batch = lambda args, dims, *, axis: (
    cumprod(args[0], axis + (axis >= dims[0])), dims[0])


def _shifted(y: ts.Series, axis: int, step: int) -> ts.Series:
    """``y`` moved ``step`` places along ``axis``, the emptied places filled with the series
    of 1 (a 1 in the primal, zeros after)."""
    def shift(k):
        term = y[k]
        if term is None:
            return None
        n = np.shape(term)[axis]
        fill_shape = list(np.shape(term))
        fill_shape[axis] = step
        fill = np.full(fill_shape, 1 if k == 0 else 0, term.dtype)
        return st.concatenate([fill, st.slice_along(term, axis, 0, n - step)], axis)
    return ts.Series(y.order, [shift(0)], shift)


def _running_product(x: ts.Series, axis: int) -> ts.Series:
    """The series of ``cumprod(x, axis)``: Hillis and Steele's prefix products, log2(n)
    Cauchy products of whole arrays (no division, so exact at zeros)."""
    n, step = np.shape(x[0])[axis], 1
    while step < n:
        x = x * _shifted(x, axis, step)
        step *= 2
    return x


def _cumprod_taylor(primals, series, *, axis):
    running = _running_product(ts.Series.of(primals[0], series[0]), axis)
    return cumprod(primals[0], axis), running.tail()


cumprod_p.taylor = _cumprod_taylor


def cumprod(x, axis: int):
    return cumprod_p.bind(x, axis=int(axis) % max(np.ndim(x), 1))
