"""Sorting, searching and the functions whose result's shape depends on values.

``sort`` is the primitive ``argsort`` (a stable permutation, no derivative) followed by a
gather of the values through it (``take_along_axis``): its forward derivative gathers the
tangent through the permutation, its reverse derivative scatters the cotangent back through
it, to every order. ``median``, ``percentile`` and ``quantile`` interpolate between sorted
values, so their derivatives go to the one or two order statistics they read (shared by the
interpolation weights, as in JAX). Ties are broken by the stable permutation.

``nonzero``, ``flatnonzero``, ``argwhere`` and ``unique`` return as many elements as the data
holds. On concrete arrays, and on traced arrays whose values are known (under ``grad`` and
``jvp`` of concrete inputs), they are NumPy's; ``unique``'s values are then gathered from the
input, so they carry its derivative. Where the values are not known (``jit``, ``vmap``,
``make_ir``) they need ``size=``, a fixed length for the result, as in JAX; without it they
raise ``ConcretizationError``.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import _UNKNOWN, Tracer, known_value
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops import sorting as so
from ..ops import structural as st
from ._core import (
    _contains_tracer,
    asarray_or_tracer,
    cast,
    common_dtype,
    nonnegative_int,
    normalize_axes,
    to_float,
)
from ._core import traced as _traced

__all__ = [
    "sort", "argsort", "take_along_axis", "searchsorted", "median", "percentile", "quantile",
    "nonzero", "flatnonzero", "argwhere", "unique", "sort_complex",
]



def _flat(a):
    return st.reshape(a, (int(math.prod(np.shape(a))),))


# ------------------------------------------------------------------------------- sorting

def _check_sort_options(who, kind, order):
    if order is not None:
        raise TypeError(f"{who}: order= (sorting by fields of a structured array) is not "
                        "supported on traced arrays")
    if kind not in (None, "quicksort", "mergesort", "heapsort", "stable"):
        raise ValueError(f"{who}: kind must be one of 'quicksort', 'mergesort', 'heapsort' or "
                         f"'stable', got {kind!r}")


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``numpy.argsort``: the indices that sort ``a`` along ``axis`` (flattened for None).

    Integer result, no derivative. Traced, the sort is always stable (equal values keep their
    order, as in JAX), whatever ``kind`` says.
    """
    if not isinstance(a, Tracer):
        return np.argsort(a, axis=axis, kind=kind, order=order, stable=stable)
    _check_sort_options("argsort", kind, order)
    if axis is None:
        a, axis = _flat(a), 0
    if a.ndim == 0:
        return np.zeros((), np.int64) if axis in (0, -1) else np.argsort(np.zeros(()), axis)
    return _argsort(a, normalize_axis_index(axis, a.ndim, "argsort"))


def _argsort(a, axis: int):
    """The stable sorting permutation along ``axis``; complex values in NumPy's lexicographic
    order (``R + Rj < R + nanj < nan + Rj < nan + nanj``): stable sorts by the keys from the
    least significant (imaginary part, real part, NaN imaginary part, NaN real part)."""
    if a.dtype.kind != "c":
        return so.argsort(a, axis)
    from ..ops import complex_numbers as cn
    real, imag = cn.real(a), cn.imag(a)
    return _lexicographic_order(
        (imag, real, cast(ew.isnan(imag), np.int8), cast(ew.isnan(real), np.int8)), axis)


def _lexicographic_order(keys, axis: int):
    """The stable permutation along ``axis`` that sorts by ``keys`` (traced arrays of one
    shape), the last key the most significant: a stable sort by each key in turn."""
    order = so.argsort(keys[0], axis)
    for key in keys[1:]:
        order = _take_along(order, so.argsort(_take_along(key, order, axis), axis), axis)
    return order


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``numpy.sort``: ``a`` sorted along ``axis`` (flattened for None); NaNs go last.

    Differentiable: the derivative of each sorted element is that of the input element it
    came from (a gather through the stable permutation; its reverse rule scatters the
    cotangent back).

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: (sort(x) * np.array([1.0, 2.0, 3.0])).sum())(np.array([2.0, 9.0, 1.0]))
    array([2., 3., 1.])
    """
    if not isinstance(a, Tracer):
        return np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    _check_sort_options("sort", kind, order)
    if axis is None:
        a, axis = _flat(a), 0
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"sort: axis {axis} is out of bounds for array of "
                                      "dimension 0")
    axis = normalize_axis_index(axis, a.ndim, "sort")
    return _take_along(a, _argsort(a, axis), axis)


def _take_along(arr, indices, axis: int):
    """``arr`` read at ``indices`` along ``axis`` (both of one rank, broadcasting elsewhere),
    as one gather whose every axis is indexed by an array."""
    ndim = np.ndim(arr)
    if ndim == 1:
        return st.gather(arr, [indices], st.IndexSpec([("array", 0)]))
    operands = []
    for dim, length in enumerate(np.shape(arr)):
        if dim == axis:
            operands.append(indices)
        else:
            shape = [1] * ndim
            shape[dim] = length
            operands.append(np.arange(length).reshape(shape))
    return st.gather(arr, operands, st.IndexSpec([("array", k) for k in range(ndim)]))


def take_along_axis(arr, indices, axis=-1):
    """``numpy.take_along_axis``: ``arr`` read at ``indices`` along ``axis``; ``indices`` has
    ``arr``'s number of axes and broadcasts with it on the others (``axis=None``: the
    flattened array and 1-d indices). Differentiable in ``arr``, as a gather."""
    if not _traced(arr, indices):
        return np.take_along_axis(arr, indices, axis)
    arr, indices = asarray_or_tracer(arr), asarray_or_tracer(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise IndexError(f"take_along_axis: indices must be integers, got {indices.dtype.name}")
    if axis is None:
        if np.ndim(indices) != 1:
            raise ValueError("take_along_axis: when axis=None, `indices` must be 1-d, got "
                             f"shape {np.shape(indices)}")
        arr, axis = _flat(arr), 0
    if np.ndim(indices) != np.ndim(arr):
        raise ValueError("take_along_axis: `indices` and `arr` must have the same number of "
                         f"dimensions (got shapes {np.shape(indices)} and {np.shape(arr)})")
    axis = normalize_axis_index(axis, np.ndim(arr), "take_along_axis")
    for dim, (n, m) in enumerate(zip(np.shape(arr), np.shape(indices))):
        if dim != axis and n != m and 1 not in (n, m):
            raise ValueError(f"take_along_axis: shape mismatch: `indices` {np.shape(indices)} "
                             f"does not broadcast with `arr` {np.shape(arr)} off axis {axis}")
    if not isinstance(indices, Tracer):
        length = np.shape(arr)[axis]
        if indices.size and (indices.min() < -length or indices.max() >= length):
            raise IndexError(f"take_along_axis: an index is out of bounds for axis {axis} "
                             f"with size {length}")
    return _take_along(arr, indices, axis)


def searchsorted(a, v, side="left", sorter=None):
    """``numpy.searchsorted``: where each of ``v`` would be inserted into the sorted 1-d ``a``
    to keep it sorted (``side`` says which of equal positions). Integer result, no
    derivative; traced, ``a`` and ``v`` are compared in their common dtype."""
    if not _traced(a, v, sorter):
        return np.searchsorted(a, v, side, sorter)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a, v = asarray_or_tracer(a), asarray_or_tracer(v)
    if np.ndim(a) != 1:
        raise ValueError(f"searchsorted: `a` must be 1-d, got shape {np.shape(a)}")
    if sorter is not None:
        from ._shape import take
        a = take(a, sorter)
    dtype = common_dtype(a, v)
    return so.searchsorted(cast(a, dtype), cast(v, dtype), side)


# ---------------------------------------------------------------- median, quantile, ...

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_core(a, q, axis, method, keepdims, who, weights=None):
    """``q`` (in [0, 1]) quantiles of the traced ``a`` over ``axis``, NumPy's layout: the
    axes of ``q`` first, then the kept axes of ``a``. With ``weights`` (method
    'inverted_cdf' only, as in NumPy), each quantile is the first sorted value whose
    normalized cumulative weight reaches ``q``."""
    if weights is not None and method != "inverted_cdf":
        raise ValueError(f"{who}: only method 'inverted_cdf' supports weights (as in NumPy), "
                         f"got {method!r}")
    if weights is None and method not in _METHODS:
        raise ValueError(f"{who}: method must be one of {', '.join(map(repr, _METHODS))} on "
                         f"traced arrays, got {method!r}")
    a = asarray_or_tracer(a)
    dtype = common_dtype(to_float(a), q)     # of the positions and of interpolated values
    # A method that picks an element (no interpolation) keeps a's dtype, as NumPy's does.
    picks = weights is not None or method in ("lower", "higher", "nearest")
    a = cast(a, a.dtype if picks else dtype)
    axes = normalize_axes(axis, np.ndim(a), who)
    kept = [d for d in range(np.ndim(a)) if d not in axes]
    shape = np.shape(a)
    n = int(math.prod([shape[d] for d in axes]))
    if n == 0:
        return _empty_groups(dtype, shape, axes, keepdims, who)
    moved = st.transpose(a, kept + list(axes))
    rows = st.reshape(moved, tuple(shape[d] for d in kept) + (n,))
    last = len(kept)
    order = so.argsort(rows, last)
    ordered = _take_along(rows, order, last)
    q = asarray_or_tracer(q)
    # A concrete q's positions are worked out in float64 (as NumPy does), a traced one's in
    # the result's dtype.
    q = cast(q, dtype) if isinstance(q, Tracer) else np.asarray(q, np.float64)
    if not isinstance(q, Tracer) and (np.any(q < 0) or np.any(q > 1)):
        raise ValueError(f"{who}: quantiles must be in the range [0, 1]")
    position = ew.mul(q, dtype.type(n - 1)) if isinstance(q, Tracer) else q * (n - 1)

    def read(index):
        # order statistics at ``index`` (an int array of q's shape), with q's axes in front
        flat_index = st.reshape(index, (int(math.prod(np.shape(index))),))
        picked = st.gather(ordered, [flat_index], st.IndexSpec(
            [("slice", None, None, None)] * last + [("array", 0)]))
        picked = st.moveaxis(picked, last, 0) if last else picked
        return st.reshape(picked, np.shape(index) + np.shape(ordered)[:last])

    def column(values):   # q's values broadcast against the kept axes that follow them
        return st.reshape(values, np.shape(values) + (1,) * last)

    def finish(out):
        # NumPy: a NaN anywhere in a reduced group makes every quantile of it NaN.
        if a.dtype.kind == "f":
            out = ew.select(red.reduce_or(ew.isnan(rows), (last,)), a.dtype.type(np.nan), out)
        if keepdims:
            out = st.reshape(out, np.shape(q) + tuple(1 if d in axes else s for d, s in
                                                      enumerate(shape)))
        return out

    if weights is not None:
        return finish(_weighted_inverted_cdf(ordered, order, weights, q, axes, kept, shape,
                                             last, who))
    if isinstance(position, Tracer):
        below = ew.floor(position)
        lower = ew.convert(ew.minimum(below, dtype.type(n - 1)), np.int64)
    else:
        below = np.floor(position)
        lower = np.minimum(below, n - 1).astype(np.int64)
    if method == "lower":
        out = read(lower)
    elif method in ("higher", "midpoint"):
        ceiling = ew.ceil(position) if isinstance(position, Tracer) else np.ceil(position)
        out = read(cast(ceiling, np.int64))
        if method == "midpoint":   # (x + x) / 2 is x exactly: no case for a whole position
            out = ew.mul(ew.add(read(lower), out), dtype.type(0.5))
    elif method == "nearest":
        nearest = ew.round(position) if isinstance(position, Tracer) else np.round(position)
        out = read(cast(nearest, np.int64))
    else:
        upper = ew.minimum(ew.add(lower, np.int64(1)), np.int64(n - 1)) if isinstance(
            lower, Tracer) else np.minimum(lower + 1, n - 1)
        low, high = read(lower), read(upper)
        fraction = ew.sub(position, below) if isinstance(position, Tracer) else \
            np.asarray(position - below, dtype)
        out = ew.add(low, ew.mul(column(fraction), ew.sub(high, low)))
    return finish(out)


def _empty_groups(dtype, shape, axes, keepdims, who):
    """The median of empty groups: NaN, as NumPy's (the mean of an empty slice); a quantile
    of an empty group is an error, as in NumPy."""
    if who not in ("median", "nanmedian"):
        raise ValueError(f"{who}: cannot take a quantile of an empty axis")
    out_shape = tuple(1 if d in axes else s for d, s in enumerate(shape)) if keepdims else \
        tuple(s for d, s in enumerate(shape) if d not in axes)
    return np.full(out_shape, np.nan, dtype)


def _weighted_inverted_cdf(ordered, order, weights, q, axes, kept, shape, last, who):
    """The weighted 'inverted_cdf' quantiles of the sorted ``rows`` (``kept + (n,)``): at
    each ``q``, the first sorted value whose cumulative weight over the total (in float64, as
    NumPy sums it) is not below ``q``. Weights get no derivative (the result is piecewise
    constant in them); the values get a gather's."""
    weights = cast(asarray_or_tracer(weights), np.float64)
    if np.ndim(weights) == 1 and len(axes) == 1 and len(shape) > 1:
        weights = st.reshape(weights, tuple(-1 if d == axes[0] else 1
                                            for d in range(len(shape))))
    if len(np.shape(weights)) != len(shape) or any(
            w not in (1, s) for w, s in zip(np.shape(weights), shape)):
        raise ValueError(f"{who}: weights of shape {np.shape(weights)} do not fit the array's "
                         f"shape {shape} (give one weight per element, or one per position "
                         "along a single axis)")
    weights = st.broadcast_to(weights, shape)
    n = np.shape(ordered)[-1]
    w_rows = st.reshape(st.transpose(weights, kept + list(axes)), np.shape(ordered))
    cumulative = red.cumsum(_take_along(w_rows, order, last), last)
    total = st.reshape(st.gather(cumulative, [np.array([n - 1])], st.IndexSpec(
        [("slice", None, None, None)] * last + [("array", 0)])), np.shape(ordered)[:last] + (1,))
    cdf = ew.div(cumulative, total)
    q_flat = q.reshape(-1) if not isinstance(q, Tracer) else st.reshape(q, (-1,))
    q_flat = cast(q_flat, np.float64)
    m = np.shape(q_flat)[0]
    below = ew.lt(st.reshape(cdf, np.shape(cdf)[:last] + (1, n)),
                  st.reshape(q_flat, (m, 1)))                     # kept + (m, n)
    index = red.reduce_sum(ew.convert(below, np.int64), (last + 1,))
    index = ew.minimum(index, np.int64(n - 1))
    picked = _take_along(ordered, index, last)                    # kept + (m,)
    picked = st.moveaxis(picked, last, 0) if last else picked
    return st.reshape(picked, np.shape(q) + np.shape(ordered)[:last])


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """``numpy.quantile``: the ``q``-th quantiles (``q`` in [0, 1], may be an array or traced)
    over ``axis``; ``method`` is one of 'linear' (the default), 'lower', 'higher', 'midpoint'
    and 'nearest' on traced arrays. Differentiable in ``a`` (through the one or two order
    statistics each quantile reads) and, for 'linear', in ``q``."""
    if not _traced(a, q):
        return np.quantile(a, q, axis, out, overwrite_input, method, keepdims,
                           weights=weights)
    _check_quantile_options("quantile", out)
    return _quantile_core(a, q, axis, method, keepdims, "quantile", weights)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """``numpy.percentile``: ``quantile`` with ``q`` in percent (0 to 100)."""
    if not _traced(a, q):
        return np.percentile(a, q, axis, out, overwrite_input, method, keepdims,
                             weights=weights)
    _check_quantile_options("percentile", out)
    return _quantile_core(a, _percent_fraction(q, "percentile"), axis, method, keepdims,
                          "percentile", weights)


def _percent_fraction(q, who):
    """Percentiles ``q`` (0 to 100) as fractions (0 to 1)."""
    if isinstance(q, Tracer):
        q = to_float(q)
        return ew.div(q, q.dtype.type(100))
    if np.any(np.asarray(q) < 0) or np.any(np.asarray(q) > 100):
        raise ValueError(f"{who}: percentiles must be in the range [0, 100]")
    # A Python number stays a (weak) Python float, an array keeps its float dtype.
    return q / 100 if isinstance(q, (int, float)) else np.true_divide(q, 100)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``numpy.median``: the middle value over ``axis`` (the mean of the two middle values
    for an even count); its derivative goes to those one or two elements."""
    if not isinstance(a, Tracer):
        return np.median(a, axis, out, overwrite_input, keepdims)
    if out is not None:
        raise TypeError("median: out= is not supported on traced arrays; use the returned value")
    return _quantile_core(a, 0.5, axis, "midpoint", keepdims, "median")


def _check_quantile_options(who, out):
    if out is not None:
        raise TypeError(f"{who}: out= is not supported on traced arrays; use the returned value")


# ------------------------------------------------------- results whose size depends on values

def _size_argument(size, who):
    if size is None:
        return None
    if isinstance(size, Tracer):
        raise ConcretizationError(at_user_line(
            f"{who}: size= is {size._describe()}; it decides the result's shape, so it must be "
            "a concrete integer"))
    return nonnegative_int(size, who, "size=")


def _unknown_values_error(who, x):
    return ConcretizationError(at_user_line(
        f"{who}: the number of elements it returns depends on the values of {x._describe()}, "
        "which are not known here (under jit, vmap, make_ir and inside cond/scan/while_loop "
        f"bodies). Pass size=N for a result of fixed length N (padded with fill_value, as in "
        f"JAX), or call {who} on a concrete array."))


def _concrete_or_none(x):
    """The value of ``x`` (a NumPy array), or None where it is traced and not known."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    value = known_value(x)
    return None if value is _UNKNOWN else np.asarray(value)


def _resized(indices, size, fill):
    """A 1-d index array cut or padded (with ``fill``) to ``size``."""
    if size is None:
        return indices
    out = np.full(size, fill, np.int64)
    count = min(size, len(indices))
    out[:count] = indices[:count]
    return out


def _fill_per_axis(fill_value, ndim, who):
    if fill_value is None:
        return (0,) * ndim
    if isinstance(fill_value, Tracer) or (isinstance(fill_value, (list, tuple))
                                          and _contains_tracer(fill_value)):
        raise TypeError(f"{who}: fill_value must be concrete integers")
    fills = np.asarray(fill_value, np.int64)
    if fills.ndim == 0:
        return (int(fills),) * ndim
    if fills.shape != (ndim,):
        raise ValueError(f"{who}: fill_value must be a scalar or one integer per axis "
                         f"({ndim}), got {fill_value!r}")
    return tuple(int(f) for f in fills)


def _traced_flatnonzero(x, size, fill):
    """The flat positions of the first ``size`` nonzero elements of the traced ``x`` (int64),
    the rest ``fill``: a stable argsort of ``x == 0`` puts the nonzero positions first."""
    flat = _flat(x)
    zero = ew.eq(flat, flat.dtype.type(0)) if flat.dtype != np.bool_ else ew.logical_not(flat)
    n = flat.shape[0]
    order = so.argsort(zero, 0) if n else np.zeros(0, np.int64)
    if size <= n:
        order = st.slice_along(order, 0, 0, size) if isinstance(order, Tracer) else order[:size]
    else:
        order = st.concatenate([order, np.zeros(size - n, np.int64)], 0)
    count = red.reduce_sum(ew.convert(ew.logical_not(zero), np.int64), (0,))
    valid = ew.lt(np.arange(size, dtype=np.int64), count)
    return order, valid


def flatnonzero(a, *, size=None, fill_value=None):
    """``numpy.flatnonzero``: the positions of the nonzero elements of the flattened array.

    Traced with unknown values, it needs ``size=`` (padded with ``fill_value``, default 0).
    """
    size = _size_argument(size, "flatnonzero")
    value = _concrete_or_none(a)
    (fill,) = _fill_per_axis(fill_value, 1, "flatnonzero")
    if value is not None:
        return _resized(np.flatnonzero(value).astype(np.int64), size, fill) \
            if size is not None else np.flatnonzero(value)
    if size is None:
        raise _unknown_values_error("flatnonzero", a)
    order, valid = _traced_flatnonzero(a, size, fill)
    return ew.select(valid, order, np.int64(fill))


def nonzero(a, *, size=None, fill_value=None):
    """``numpy.nonzero``: a tuple of index arrays, one per axis, of the nonzero elements.

    Traced with unknown values, it needs ``size=``; ``fill_value`` (one integer, or one per
    axis; default 0) pads the indices past the number found.
    """
    size = _size_argument(size, "nonzero")
    value = _concrete_or_none(a)
    shape = np.shape(a)
    if len(shape) == 0:
        raise ValueError("nonzero: calling nonzero on 0d arrays is not allowed; use "
                         "atleast_1d(a).nonzero() instead")
    fills = _fill_per_axis(fill_value, len(shape), "nonzero")
    if value is not None:
        found = np.nonzero(value)
        if size is None:
            return found
        return tuple(_resized(f.astype(np.int64), size, fill) for f, fill in zip(found, fills))
    if size is None:
        raise _unknown_values_error("nonzero", a)
    order, valid = _traced_flatnonzero(a, size, 0)
    out = []
    stride = int(math.prod(shape))
    for length, fill in zip(shape, fills):
        stride //= length
        index = ew.rem(ew.floor_divide(order, np.int64(stride)), np.int64(length))
        out.append(ew.select(valid, index, np.int64(fill)))
    return tuple(out)


def argwhere(a, *, size=None, fill_value=None):
    """``numpy.argwhere``: the indices of the nonzero elements, one row per element
    (``(N, a.ndim)``). Traced with unknown values, it needs ``size=``."""
    size = _size_argument(size, "argwhere")
    value = _concrete_or_none(a)
    if value is not None and size is None:
        return np.argwhere(value)
    if value is None and size is None:
        raise _unknown_values_error("argwhere", a)
    if np.ndim(a) == 0:   # NumPy: as a 1-d array, with no index columns
        a = st.reshape(a, (1,)) if isinstance(a, Tracer) else np.reshape(a, (1,))
        (rows,) = nonzero(a, size=size, fill_value=fill_value)
        return np.zeros((np.shape(rows)[0], 0), np.int64)
    columns = nonzero(a, size=size, fill_value=fill_value)
    if not _traced(*columns):
        return np.stack(columns, axis=-1)
    from ._shape import stack
    return stack(columns, axis=-1)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):
    """``numpy.unique``: the sorted unique values (optionally the index of each one's first
    occurrence, the inverse indices that rebuild ``ar``, and the counts).

    The values are differentiable: each is gathered from the first occurrence in ``ar``. The
    indices and counts are integers. Traced with unknown values (``jit``, ``vmap``), it needs
    ``size=``: the first ``size`` unique values (slices along ``axis``), padded with
    ``fill_value`` (default: the smallest value, or slice), as in JAX; padded entries have
    count 0.
    """
    size = _size_argument(size, "unique")
    value = _concrete_or_none(ar)
    if axis is not None and size is not None:
        return _sized_unique_along(ar, value, axis, size, fill_value, equal_nan,
                                   return_index, return_inverse, return_counts)
    if value is not None:
        values, index, inverse, counts = np.unique(
            value, return_index=True, return_inverse=True, return_counts=True, axis=axis,
            equal_nan=equal_nan, sorted=sorted)
        if isinstance(ar, Tracer):   # known values: gather them, so they carry a derivative
            from ._shape import ravel, take
            values = take(ravel(ar), index) if axis is None else take(ar, index, axis)
        if size is not None:
            values, index, counts = _pad_unique(values, index, counts, size, fill_value,
                                                isinstance(ar, Tracer))
        return _unique_result(values, index, inverse, counts, return_index, return_inverse,
                              return_counts)
    if size is None:
        raise _unknown_values_error("unique", ar)
    return _traced_unique(ar, size, fill_value, equal_nan, return_index, return_inverse,
                          return_counts)


def _unique_result(values, index, inverse, counts, return_index, return_inverse,
                   return_counts):
    out = (values,)
    if return_index:
        out += (index,)
    if return_inverse:
        out += (inverse,)
    if return_counts:
        out += (counts,)
    return out[0] if len(out) == 1 else out


def _sized_unique_along(ar, value, axis, size, fill_value, equal_nan, return_index,
                        return_inverse, return_counts):
    """``unique(ar, axis=axis, size=size)``: NumPy finds the first occurrence of each unique
    slice (on the host, through ``pure_callback``, where the values are not known), and the
    slices are gathered from ``ar`` (so they carry its derivative); the ``size - found``
    padded ones are ``fill_value`` (default: the first unique slice), with count 0."""
    ar = asarray_or_tracer(ar)
    axis = normalize_axis_index(axis, np.ndim(ar), "unique")
    n = np.shape(ar)[axis]
    if n == 0:
        raise ValueError("unique: size= needs a non-empty axis (there is no slice to fill "
                         "with)")

    def first_occurrences(x):
        _, index, inverse, counts = np.unique(
            np.asarray(x), return_index=True, return_inverse=True, return_counts=True,
            axis=axis, equal_nan=equal_nan)
        found = np.arange(size) < len(index)
        return (_resized(index, size, 0), np.asarray(inverse, np.int64).reshape(n),
                _resized(counts, size, 0), found)

    if value is not None:
        index, inverse, counts, found = first_occurrences(value)
    else:
        from ..transforms.callbacks import pure_callback
        shapes = (np.zeros(size, np.int64), np.zeros(n, np.int64), np.zeros(size, np.int64),
                  np.zeros(size, bool))
        index, inverse, counts, found = pure_callback(first_occurrences, shapes, ar,
                                                      vmap_method="sequential")
    from ._elementwise import where
    from ._shape import take
    gather = take if isinstance(ar, Tracer) else np.take
    values = gather(ar, index, axis)
    fill = gather(ar, index[:1], axis) if fill_value is None else fill_value
    mask_shape = tuple(size if d == axis else 1 for d in range(np.ndim(ar)))
    values = where(st.reshape(found, mask_shape), values, fill)
    return _unique_result(values, index, inverse, counts, return_index, return_inverse,
                          return_counts)


def _pad_unique(values, index, counts, size, fill_value, traced):
    found = len(index)
    keep = min(size, found)
    if traced:
        from ._shape import concatenate
        pad = size - keep
        head = st.slice_along(values, 0, 0, keep)
        fill = st.slice_along(values, 0, 0, 1) if fill_value is None else fill_value
        if pad:
            filler = st.broadcast_to(st.reshape(cast(asarray_or_tracer(fill), values.dtype),
                                                (1,)), (pad,))
            head = concatenate([head, filler]) if keep else filler
        values = head
    else:
        fill = values[0] if fill_value is None and found else (fill_value or 0)
        padded = np.full(size, fill, values.dtype)
        padded[:keep] = values[:keep]
        values = padded
    index = _resized(index.astype(np.int64), size, 0)
    counts = _resized(counts.astype(np.int64), size, 0)
    return values, index, counts


def _traced_unique(ar, size, fill_value, equal_nan, return_index, return_inverse,
                   return_counts):
    """``unique`` of a traced array with unknown values, cut or padded to ``size``: sort,
    mark the first of each run of equal values, and gather the marked ones."""
    flat = _flat(ar)
    n = flat.shape[0]
    if n == 0:
        raise ValueError("unique: size= needs a non-empty array (there is no value to fill "
                         "with)")
    order = so.argsort(flat, 0)
    ordered = _take_along(flat, order, 0)
    if n > 1:
        later, earlier = st.slice_along(ordered, 0, 1, None), st.slice_along(ordered, 0, 0, -1)
        differs = ew.ne(later, earlier)
        if equal_nan and flat.dtype.kind == "f":
            differs = ew.logical_and(differs, ew.logical_not(
                ew.logical_and(ew.isnan(later), ew.isnan(earlier))))
        first = st.concatenate([np.ones(1, bool), differs], 0)
    else:
        first = np.ones(1, bool)
    # The start of each run in the sorted order; one more, so the last kept run has an end.
    bounds, more = _traced_flatnonzero(first, size + 1, 0)
    starts, valid = st.slice_along(bounds, 0, 0, size), st.slice_along(more, 0, 0, size)
    values = _take_along(ordered, starts, 0)
    fill = st.slice_along(ordered, 0, 0, 1) if fill_value is None else cast(
        asarray_or_tracer(fill_value), flat.dtype)
    values = ew.select(valid, values, fill)
    index = ew.select(valid, _take_along(order, starts, 0), np.int64(0))
    inverse = counts = None
    if return_inverse:
        run = ew.sub(red.cumsum(ew.convert(first, np.int64), 0), np.int64(1))
        inverse = st.scatter(np.zeros(n, np.int64), run, [order], st.IndexSpec([("array", 0)]))
        inverse = st.reshape(inverse, np.shape(ar))
    if return_counts:
        ends = ew.select(st.slice_along(more, 0, 1, None), st.slice_along(bounds, 0, 1, None),
                         np.int64(n))
        counts = ew.select(valid, ew.sub(ends, starts), np.int64(0))
    return _unique_result(values, index, inverse, counts, return_index, return_inverse,
                          return_counts)


def sort_complex(a):
    """``numpy.sort_complex``: ``a`` sorted along its last axis (real part first, then
    imaginary part), as complex numbers (complex64 for float32 and small integers).
    Differentiable as ``sort``."""
    if not isinstance(a, Tracer):
        return np.sort_complex(a)
    return cast(sort(a), np.sort_complex(np.zeros(1, a.dtype)).dtype)
