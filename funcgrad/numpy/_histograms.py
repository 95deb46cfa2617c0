"""Binning and counting: ``digitize``, ``bincount``, ``histogram``, ``histogram_bin_edges``,
``histogram2d`` and ``histogramdd``.

Concrete, each is NumPy's. Traced, a value's bin comes from ``searchsorted`` on the edges
(the last bin closed on the right, as in NumPy), and the counts are a ``scatter_add`` of
the weights (or ones) into the bins, so ``bincount`` is differentiable in ``weights``.
``bincount``'s length depends on the largest value: it is worked out where the values are
known, and under ``jit``/``vmap`` it needs ``length=``, as in JAX (values at or past it are
dropped). A histogram's bins are a concrete count (with ``range``, or the data's traced
minimum and maximum) or given edges (which may be traced); a bin rule named by a string
needs the data's values, as in NumPy.
"""
from __future__ import annotations

import builtins  # ``range`` is an argument name here, as in NumPy
import math

import numpy as np

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops import sorting as so
from ..ops import structural as st
from ._core import asarray_or_tracer, cast, common_dtype
from ._core import traced as _traced
from ._shape import _concrete_int
from ._sorting import _concrete_or_none, _flat

__all__ = ["digitize", "bincount", "histogram", "histogram_bin_edges", "histogram2d",
           "histogramdd"]



def _last(x):
    """The last element of the traced or concrete 1-d ``x``."""
    n = np.shape(x)[0]
    return st.reshape(st.slice_along(x, 0, n - 1, n), ()) if isinstance(x, Tracer) else x[-1]


def _first(x):
    return st.reshape(st.slice_along(x, 0, 0, 1), ()) if isinstance(x, Tracer) else x[0]


def digitize(x, bins, right=False):
    """``numpy.digitize``: the index of the bin of ``bins`` (increasing or decreasing) that
    each element of ``x`` falls in; ``right`` says which edge a bin includes. Integer
    result, no derivative.

    >>> digitize(np.array([0.5, 1.0, 2.5]), np.array([0.0, 1.0, 2.0])).tolist()
    [1, 2, 3]
    """
    if not _traced(x, bins):
        return np.digitize(x, bins, right)
    x, bins = asarray_or_tracer(x), asarray_or_tracer(bins)
    if x.dtype.kind == "c":
        raise TypeError("digitize: x may not be complex (as in NumPy); pass its real part")
    if np.ndim(bins) != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {np.shape(bins)}")
    n = np.shape(bins)[0]
    if n == 0:
        return st.broadcast_to(np.int64(0), np.shape(x)) if isinstance(x, Tracer) else \
            np.zeros(np.shape(x), np.int64)
    if not isinstance(bins, Tracer):
        steps = np.diff(bins)
        if not (np.all(steps >= 0) or np.all(steps <= 0)):
            raise ValueError("digitize: bins must be monotonically increasing or decreasing")
    dtype = common_dtype(x, bins)
    x, bins = cast(x, dtype), cast(bins, dtype)
    side = "left" if right else "right"
    flat = _flat(x)
    rising = ew.ge(_last(bins), _first(bins))
    index = so.searchsorted(bins, flat, side) if not isinstance(rising, Tracer) and rising \
        else None
    if index is None:   # decreasing bins: count from the end of the reversed ones
        reversed_bins = st.gather(bins, [np.arange(n - 1, -1, -1)],
                                  st.IndexSpec([("array", 0)]))
        index = ew.sub(np.int64(n), so.searchsorted(reversed_bins, flat, side))
        if isinstance(rising, Tracer):
            index = ew.select(rising, so.searchsorted(bins, flat, side), index)
    return st.reshape(index, np.shape(x))


def _counts(index, weights, length: int, dtype):
    """The sum of ``weights`` (ones where None) of each value of the integer ``index`` in
    ``range(length)``, in ``dtype``; indices outside that range are dropped."""
    inside = ew.logical_and(ew.ge(index, np.int64(0)), ew.lt(index, np.int64(length)))
    updates = np.ones((), dtype) if weights is None else cast(weights, dtype)
    updates = ew.select(inside, updates, dtype.type(0))
    safe = ew.select(inside, index, np.int64(0))
    return st.scatter_add(np.zeros(length, dtype), updates, [safe],
                          st.IndexSpec([("array", 0)]))


def bincount(x, weights=None, minlength=0, *, length=None):
    """``numpy.bincount``: how many times each non-negative integer occurs in the 1-d ``x``
    (the sum of ``weights`` there, in float64, as NumPy); at least ``minlength`` long.
    Differentiable in ``weights``.

    Its length is ``max(x) + 1``: traced with unknown values (``jit``, ``vmap``) pass
    ``length=N``, as in JAX; values at or past ``N`` are dropped.

    >>> bincount(np.array([0, 2, 2])).tolist()
    [1, 0, 2]
    """
    minlength = _concrete_int(minlength, "minlength", "bincount")
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    if length is not None:
        length = _concrete_int(length, "length", "bincount")
    if not _traced(x, weights) and length is None:
        return np.bincount(x, weights, minlength)
    x = asarray_or_tracer(x)
    if np.ndim(x) != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {np.shape(x)}")
    if np.dtype(x.dtype).kind not in "biu":
        raise TypeError(f"bincount: x must hold integers, got {np.dtype(x.dtype).name}")
    if weights is not None and np.shape(weights) != np.shape(x):
        raise ValueError("bincount: the weights and list don't have the same length.")
    if length is None:
        value = _concrete_or_none(x)
        if value is None:
            raise ConcretizationError(at_user_line(
                f"bincount: the length of its result is max(x) + 1, and the values of "
                f"{x._describe()} are not known here (under jit, vmap, make_ir and inside "
                "cond/scan/while_loop bodies). Pass length=N, as in JAX, or call bincount on "
                "a concrete array."))
        if value.size and value.min() < 0:
            raise ValueError("bincount: 'x' argument must not have negative values")
        length = max(minlength, int(value.max()) + 1 if value.size else 0)
    dtype = np.dtype(np.intp) if weights is None else np.dtype(np.float64)
    return _counts(cast(x, np.int64), weights, length, dtype)


# ---------------------------------------------------------------------------- histograms

def _bin_count(bins, who):
    count = _concrete_int(bins, "bins", who)
    if count < 1:
        raise ValueError(f"{who}: `bins` must be positive, when an integer")
    return count


def _checked_edges(edges, who):
    if np.ndim(edges) != 1:
        raise ValueError(f"{who}: `bins` must be 1d, when an array")
    if not isinstance(edges, Tracer) and np.any(edges[:-1] > edges[1:]):
        raise ValueError(f"{who}: `bins` must increase monotonically, when an array")
    return edges


def _outer_edges(a, value_range, who):
    """The first and last edge: ``range``, or the data's minimum and maximum (widened by
    one half each way where they are equal), as NumPy's."""
    if value_range is not None:
        first, last = value_range
        if not _traced(first, last):
            if first > last:
                raise ValueError(f"{who}: max must be larger than min in range parameter.")
            if not (np.isfinite(first) and np.isfinite(last)):
                raise ValueError(f"{who}: supplied range of [{first}, {last}] is not finite")
    elif np.size(a) == 0:
        first, last = 0, 1
    else:
        dtype = a.dtype if np.issubdtype(a.dtype, np.inexact) else np.dtype(np.float64)
        first, last = (cast(reduce(a, tuple(builtins.range(np.ndim(a)))), dtype)
                       for reduce in (red.reduce_min, red.reduce_max))
        value = _concrete_or_none(first), _concrete_or_none(last)
        if value[0] is not None and value[1] is not None and not (
                np.isfinite(value[0]) and np.isfinite(value[1])):
            raise ValueError(f"{who}: autodetected range of [{value[0]}, {value[1]}] is not "
                             "finite")
    if not _traced(first, last):
        return (first - 0.5, last + 0.5) if first == last else (first, last)
    dtype = common_dtype(first, last)
    first, last = cast(first, dtype), cast(last, dtype)
    same, half = ew.eq(first, last), dtype.type(0.5)
    return ew.select(same, ew.sub(first, half), first), ew.select(same, ew.add(last, half), last)


def _edges(a, bins, value_range, who):
    """The bin edges of the (flattened) data ``a``: ``bins + 1`` evenly spaced ones, or the
    given ``bins`` array."""
    from ._creation import linspace
    if np.ndim(bins) == 1 or isinstance(bins, (list, tuple)):
        return _checked_edges(asarray_or_tracer(bins), who)
    count = _bin_count(bins, who)
    first, last = _outer_edges(a, value_range, who)
    dtype = common_dtype(first, last, a)
    dtype = dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)
    return linspace(first, last, count + 1, dtype=dtype)


def _string_bins(a, bins, value_range, weights, who):
    """Edges from a named rule ('auto', 'fd', ...): NumPy's, on the data's values."""
    value = _concrete_or_none(a)
    if value is None:
        raise ConcretizationError(at_user_line(
            f"{who}: bins={bins!r} picks the number of bins from the data's values, which are "
            "not known here (under jit, vmap, make_ir); pass an integer or an array of edges"))
    ranges = None if value_range is None else tuple(
        np.asarray(_concrete_or_none(r)) for r in value_range)
    return np.histogram_bin_edges(value, bins, ranges, None if weights is None else
                                  _concrete_or_none(weights))


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """``numpy.histogram_bin_edges``: the edges ``histogram`` would use."""
    if not _traced(a, bins, range, weights):
        return np.histogram_bin_edges(a, bins, range, weights)
    a = asarray_or_tracer(a)
    if isinstance(bins, str):
        return _string_bins(a, bins, range, weights, "histogram_bin_edges")
    return _edges(_flat(a), bins, range, "histogram_bin_edges")


def _bin_index(values, edges):
    """Each value's bin plus one (0 below the first edge, ``len(edges)`` at or past the
    last, which the last bin includes)."""
    dtype = common_dtype(values, edges)
    edges, values = cast(edges, dtype), cast(values, dtype)
    index = so.searchsorted(edges, values, "right")
    return ew.select(ew.eq(values, _last(edges)), np.int64(np.shape(edges)[0] - 1), index)


def histogram(a, bins=10, range=None, density=None, weights=None):
    """``numpy.histogram``: the counts (or summed ``weights``, or a density) of the
    flattened ``a`` in each bin, and the bin edges. Values only.

    >>> counts, edges = histogram(np.array([0.0, 0.5, 1.0, 1.0]), bins=2)
    >>> counts.tolist(), edges.tolist()
    ([1, 3], [0.0, 0.5, 1.0])
    """
    if not _traced(a, bins, range, weights):
        return np.histogram(a, bins, range, density, weights)
    a = asarray_or_tracer(a)
    flat = _flat(a)
    if isinstance(bins, str):
        edges = _string_bins(a, bins, range, weights, "histogram")
    else:
        edges = _edges(flat, bins, range, "histogram")
    if weights is not None:
        weights = asarray_or_tracer(weights)
        if np.shape(weights) != np.shape(a):
            raise ValueError("histogram: weights should have the same shape as a.")
        weights = _flat(weights)
    n = np.shape(edges)[0]
    dtype = np.dtype(np.intp) if weights is None else np.dtype(weights.dtype)
    counts = _counts(_bin_index(flat, edges), weights, n + 1, dtype)
    counts = st.slice_along(counts, 0, 1, n)
    if density:
        widths = ew.sub(st.slice_along(edges, 0, 1, n), st.slice_along(edges, 0, 0, n - 1))
        counts = cast(counts, np.float64)
        total = red.reduce_sum(counts, (0,))
        counts = ew.div(ew.div(counts, cast(widths, np.float64)), total)
    return counts, edges


def _per_dimension(value, count, what):
    if isinstance(value, (list, tuple)) and len(value) == count:
        return list(value)
    if isinstance(value, (list, tuple)) or np.ndim(value) > 0:
        raise ValueError(f"histogramdd: the dimension of {what} must be equal to the "
                         f"dimension of the sample x ({count})")
    return [value] * count


def histogramdd(sample, bins=10, range=None, density=None, weights=None):
    """``numpy.histogramdd``: the multidimensional histogram of ``sample`` (an ``(N, D)``
    array, or ``D`` arrays of ``N`` values), in float64, and the ``D`` arrays of edges.
    Values only."""
    if not _traced(sample, bins, range, weights):
        return np.histogramdd(sample, bins, range, density, weights)
    if isinstance(sample, (list, tuple)):
        from ._shape import stack
        sample = stack([asarray_or_tracer(s) for s in sample], axis=-1)
    sample = asarray_or_tracer(sample)
    if np.ndim(sample) < 2:
        sample = st.reshape(sample, (np.size(sample), 1))
    count, dims = np.shape(sample)
    bins = _per_dimension(bins, dims, "bins")
    ranges = [None] * dims if range is None else _per_dimension(list(range), dims, "range")
    columns = [st.reshape(st.slice_along(sample, 1, d, d + 1), (count,)) if isinstance(
        sample, Tracer) else sample[:, d] for d in builtins.range(dims)]
    edges = [_edges(column, bins[d], ranges[d], "histogramdd")
             for d, column in enumerate(columns)]
    sizes = [np.shape(edge)[0] + 1 for edge in edges]
    flat_index = np.int64(0)
    for d, (column, edge) in enumerate(zip(columns, edges)):
        stride = np.int64(math.prod(sizes[d + 1:]))
        flat_index = ew.add(flat_index, ew.mul(_bin_index(column, edge), stride))
    if weights is not None:
        weights = asarray_or_tracer(weights)
        if np.shape(weights) != (count,):
            raise ValueError("histogramdd: weights must have one value per sample")
    hist = _counts(flat_index, weights, int(math.prod(sizes)), np.dtype(np.float64))
    hist = st.reshape(hist, tuple(sizes))
    for d, size in enumerate(sizes):
        hist = st.slice_along(hist, d, 1, size - 1)
    if density:
        total = red.reduce_sum(hist, tuple(builtins.range(dims)))
        for d, edge in enumerate(edges):
            n = np.shape(edge)[0]
            widths = cast(ew.sub(st.slice_along(edge, 0, 1, n), st.slice_along(edge, 0, 0, n - 1)),
                          np.float64)
            hist = ew.div(hist, st.reshape(widths, tuple(n - 1 if e == d else 1
                                                         for e in builtins.range(dims))))
        hist = ew.div(hist, total)
    return hist, edges


def histogram2d(x, y, bins=10, range=None, density=None, weights=None):
    """``numpy.histogram2d``: the two-dimensional histogram of the pairs ``(x, y)``, and
    the edges along each. ``bins`` is one count or array of edges for both, or a pair.
    Values only."""
    if not _traced(x, y, bins, range, weights):
        return np.histogram2d(x, y, bins, range, density, weights)
    if np.shape(x) != np.shape(y):
        raise ValueError(f"histogram2d: x and y must have the same length, got shapes "
                         f"{np.shape(x)} and {np.shape(y)}")
    try:
        pairs = len(bins)
    except TypeError:
        pairs = 1
    if pairs not in (1, 2):
        bins = [bins, bins]
    hist, edges = histogramdd([x, y], bins, range, density, weights)
    return hist, edges[0], edges[1]
