"""NumPy's NaN-ignoring reductions beyond ``nansum``/``nanmean``/``nanmax``/``nanmin``:
``nanprod``, ``nancumsum``, ``nancumprod``, ``nanargmax``, ``nanargmin``, ``nanvar``,
``nanstd``, ``nanmedian``, ``nanquantile`` and ``nanpercentile``.

On concrete arrays each is NumPy's. Traced, NaNs are replaced by the operation's identity
(or masked out of the count), so a NaN entry gets a zero derivative and the others the
derivative of the plain reduction. The quantiles sort each group (NaNs go last) and read
the order statistics at positions worked out from the number of non-NaN elements of the
group, so each group reads its own positions; an all-NaN group gives NaN, as in NumPy.
``nanargmax``/``nanargmin`` of an all-NaN group give -1 traced (NumPy raises; the values
are not known there), as in JAX.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops import sorting as so
from ..ops import structural as st
from . import _reductions as rd
from ._core import asarray_or_tracer, cast, common_dtype, normalize_axes, to_float
from ._elementwise import _root
from ._sorting import _METHODS, _empty_groups, _percent_fraction, _quantile_core, _take_along

__all__ = [
    "nanprod", "nancumsum", "nancumprod", "nanargmax", "nanargmin", "nanvar", "nanstd",
    "nanmedian", "nanquantile", "nanpercentile",
]


def _check_out(who, out):
    if out is not None:
        raise TypeError(f"{who}: out= is not supported on traced arrays; use the returned value")


def _filled(a, value):
    """``a`` with its NaNs replaced by ``value`` (integers and booleans have none)."""
    if a.dtype.kind not in "fc":
        return a
    return ew.select(ew.isnan(a), a.dtype.type(value), a)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """``numpy.nanprod``: the product, NaNs counted as one (their derivative is zero)."""
    if not isinstance(a, Tracer) and not isinstance(where, Tracer):
        return np.nanprod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                          **rd._numpy_options(initial, where))
    _check_out("nanprod", out)
    return rd.prod(_filled(asarray_or_tracer(a), 1), axis, dtype, keepdims, initial, where)


def _nan_cumulative(numpy_fn, cumulative, identity, who):
    def function(a, axis=None, dtype=None, out=None):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, dtype=dtype, out=out)
        _check_out(who, out)
        return cumulative(_filled(a, identity), axis, dtype)
    function.__name__ = function.__qualname__ = who
    function.__doc__ = (f"``numpy.{who}``: NaNs counted as {identity} (their derivative is "
                        "zero).")
    return function


nancumsum = _nan_cumulative(np.nancumsum, rd.cumsum, 0, "nancumsum")
nancumprod = _nan_cumulative(np.nancumprod, rd.cumprod, 1, "nancumprod")


def _nan_arg(numpy_fn, arg, fill, who):
    def function(a, axis=None, out=None, *, keepdims=False):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, out=out, keepdims=keepdims)
        _check_out(who, out)
        if a.dtype.kind not in "fc":
            return arg(a, axis, keepdims)
        missing = ew.isnan(a)
        index = arg(ew.select(missing, a.dtype.type(fill), a), axis, keepdims)
        return ew.select(rd.all(missing, axis, keepdims), np.int64(-1), index)
    function.__name__ = function.__qualname__ = who
    function.__doc__ = (f"``numpy.{who}``: the index of the extremum, ignoring NaNs (integer "
                        "result, no derivative); traced, -1 for an all-NaN slice (NumPy "
                        "raises).")
    return function


nanargmax = _nan_arg(np.nanargmax, rd.argmax, -np.inf, "nanargmax")
nanargmin = _nan_arg(np.nanargmin, rd.argmin, np.inf, "nanargmin")


def _not_nan(a, where):
    """The mask of the elements a NaN-ignoring reduction keeps: not NaN, and in ``where``."""
    if a.dtype.kind not in "fc":
        return where
    kept = ew.logical_not(ew.isnan(a))
    return kept if where is None else ew.logical_and(kept, where)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """``numpy.nanvar``: the variance of the elements that are not NaN, divided by
    ``count - ddof`` (NaN where that is not positive).

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: nanvar(x))(np.array([1.0, np.nan, 3.0]))
    array([-1.,  0.,  1.])
    """
    if not isinstance(a, Tracer) and not isinstance(where, Tracer):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                         **rd._numpy_options(None, where),
                         **rd._spread_options(mean, correction))
    rd._check_spread_options("nanvar", out, mean, correction)
    a = asarray_or_tracer(a)
    return rd._variance(a, axis, dtype, ddof, keepdims, _not_nan(a, where), "nanvar",
                        nan_where_no_freedom=True)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
           mean=None, correction=None):
    """``numpy.nanstd``: the square root of ``nanvar`` (a zero derivative where the spread
    is zero, as ``std``)."""
    if not isinstance(a, Tracer) and not isinstance(where, Tracer):
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                         **rd._numpy_options(None, where),
                         **rd._spread_options(mean, correction))
    rd._check_spread_options("nanstd", out, mean, correction)
    a = asarray_or_tracer(a)
    return _root(rd._variance(a, axis, dtype, ddof, keepdims, _not_nan(a, where), "nanstd",
                              nan_where_no_freedom=True))


# ---------------------------------------------------------------------------- quantiles

def _nan_quantile_core(a, q, axis, method, keepdims, who):
    """``q`` (in [0, 1]) quantiles over ``axis`` of the non-NaN elements of the traced
    ``a``, in NumPy's layout (``q``'s axes first, then the kept axes of ``a``)."""
    a = asarray_or_tracer(a)
    if a.dtype.kind not in "fc":
        return _quantile_core(a, q, axis, method, keepdims, who)
    if method not in _METHODS:
        raise ValueError(f"{who}: method must be one of {', '.join(map(repr, _METHODS))} on "
                         f"traced arrays, got {method!r}")
    dtype = common_dtype(to_float(a), q)     # of the positions and of interpolated values
    if method not in ("lower", "higher", "nearest"):
        a = cast(a, dtype)                   # a picked element keeps a's dtype, as in NumPy
    axes = normalize_axes(axis, a.ndim, who)
    kept = [d for d in range(a.ndim) if d not in axes]
    shape = a.shape
    n = int(math.prod([shape[d] for d in axes]))
    if n == 0:
        return _empty_groups(dtype, shape, axes, keepdims, who)
    group_shape = tuple(shape[d] for d in kept)
    rows = st.reshape(st.transpose(a, kept + list(axes)), group_shape + (n,))
    last = len(kept)
    # NaNs sort last; only an all-NaN group reads one (its result is then NaN): zeros in
    # their place keep NaN out of the derivative of the interpolation.
    ordered = _filled(_take_along(rows, so.argsort(rows, last), last), 0)
    count = red.reduce_sum(ew.convert(ew.logical_not(ew.isnan(rows)), dtype), (last,))
    q = asarray_or_tracer(q)
    if not isinstance(q, Tracer):
        if np.any(q < 0) or np.any(q > 1):
            raise ValueError(f"{who}: quantiles must be in the range [0, 1]")
    q_shape = np.shape(q)
    q = st.reshape(cast(q, dtype), q_shape + (1,) * last)
    # Each group's positions, from its count (an all-NaN group reads position 0).
    top = ew.maximum(ew.sub(count, dtype.type(1)), dtype.type(0))
    position = ew.mul(q, top)                                     # q's shape + the groups'
    lead = len(q_shape)
    source = st.reshape(ordered, (1,) * lead + group_shape + (n,))

    def read(index):
        index = ew.convert(ew.minimum(index, top), np.int64)
        out_shape = q_shape + group_shape
        index = st.broadcast_to(st.reshape(index, np.shape(index) + (1,)), out_shape + (1,))
        return st.reshape(_take_along(source, index, lead + last), out_shape)

    below = ew.floor(position)
    if method == "lower":
        out = read(below)
    elif method == "higher":
        out = read(ew.ceil(position))
    elif method == "midpoint":
        out = ew.mul(ew.add(read(below), read(ew.ceil(position))), dtype.type(0.5))
    elif method == "nearest":
        out = read(ew.round(position))
    else:
        low, high = read(below), read(ew.add(below, dtype.type(1)))
        out = ew.add(low, ew.mul(ew.sub(position, below), ew.sub(high, low)))
    out = ew.select(ew.eq(count, dtype.type(0)), a.dtype.type(np.nan), out)
    if keepdims:
        out = st.reshape(out, q_shape + tuple(1 if d in axes else s for d, s in
                                              enumerate(shape)))
    return out


def _quantile_arguments(a, q, out, weights, who):
    if not isinstance(a, Tracer) and not isinstance(q, Tracer):
        return False
    _check_out(who, out)
    if weights is not None:
        raise TypeError(f"{who}: weights= is not supported on traced arrays")
    return True


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """``numpy.nanquantile``: ``quantile`` of the elements that are not NaN (NaN for an
    all-NaN group). Differentiable in ``a`` (through the order statistics read) and, for
    'linear', in ``q``; NaN entries get a zero derivative."""
    if not _quantile_arguments(a, q, out, weights, "nanquantile"):
        return np.nanquantile(a, q, axis, out, overwrite_input, method, keepdims,
                              weights=weights)
    return _nan_quantile_core(a, q, axis, method, keepdims, "nanquantile")


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """``numpy.nanpercentile``: ``nanquantile`` with ``q`` in percent (0 to 100)."""
    if not _quantile_arguments(a, q, out, weights, "nanpercentile"):
        return np.nanpercentile(a, q, axis, out, overwrite_input, method, keepdims,
                                weights=weights)
    return _nan_quantile_core(a, _percent_fraction(q, "nanpercentile"), axis, method,
                              keepdims, "nanpercentile")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``numpy.nanmedian``: the median of the elements that are not NaN (the mean of the
    two middle ones for an even count; NaN for an all-NaN group).

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: nanmedian(x))(np.array([4.0, np.nan, 1.0, 2.0]))
    array([0., 0., 0., 1.])
    """
    if not isinstance(a, Tracer):
        return np.nanmedian(a, axis, out, overwrite_input, keepdims)
    _check_out("nanmedian", out)
    return _nan_quantile_core(a, 0.5, axis, "midpoint", keepdims, "nanmedian")
