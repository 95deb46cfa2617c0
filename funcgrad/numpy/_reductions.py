"""Reductions and cumulative functions of ``funcgrad.numpy``, with ``axis`` and ``keepdims``."""
from __future__ import annotations

import builtins  # this module defines sum, max, min, all and any of its own
import math

import numpy as np

from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops import structural as st
from ._core import asarray_or_tracer, cast, is_traced, normalize_axes
from ._elementwise import _root

_sum_dtype_cache: dict = {}


def _sum_dtype(dtype):
    """NumPy's accumulator dtype for sum/prod/cumsum: small ints and bools widen."""
    out = _sum_dtype_cache.get(dtype)
    if out is None:
        out = _sum_dtype_cache[dtype] = np.sum(np.zeros(1, dtype)).dtype
    return out


def _keep(result, shape, axes, keepdims):
    if not keepdims:
        return result
    return st.reshape(result, [1 if i in axes else s for i, s in enumerate(shape)])


def _reduce(a, axis, keepdims, op, who):
    axes = normalize_axes(axis, a.ndim, who)
    return _keep(op(a, axes), a.shape, axes, keepdims)


def _numpy_options(initial, where) -> dict:
    """NumPy's ``initial`` and ``where`` keywords, where given (its defaults are sentinels)."""
    options = {}
    if initial is not None:
        options["initial"] = initial
    if where is not None:
        options["where"] = where
    return options


def _masked(a, where, fill):
    """``a`` with ``fill`` (a number or a tracer) where the mask ``where`` is False; the mask
    broadcasts to ``a``."""
    if where is None:
        return a
    from ._elementwise import where as select
    return select(where, a, cast(fill, a.dtype))


def _with_initial(result, initial, combine):
    return result if initial is None else combine(result, cast(initial, result.dtype))


def _accumulation(numpy_fn, op, identity, combine, who, doc):
    """``numpy.sum`` or ``numpy.prod``: ``op`` over the axes of ``a`` cast to NumPy's
    accumulator dtype, masked elements replaced by ``identity``, ``initial`` ``combine``d in."""
    def function(a, axis=None, dtype=None, keepdims: bool = False, initial=None, where=None):
        if not is_traced(a, initial, where):
            return numpy_fn(a, axis=axis, dtype=dtype, keepdims=keepdims,
                            **_numpy_options(initial, where))
        a = cast(a, dtype if dtype is not None else _sum_dtype(np.result_type(a)))
        total = _reduce(_masked(a, where, identity), axis, keepdims, op, who)
        return _with_initial(total, initial, combine)
    function.__name__ = function.__qualname__ = who
    function.__doc__ = doc
    return function


sum = _accumulation(np.sum, red.reduce_sum, 0, ew.add, "sum",
                    "``numpy.sum``; ``where`` masks elements out, ``initial`` is added.")
prod = _accumulation(np.prod, red.reduce_prod, 1, ew.mul, "prod",
                     "``numpy.prod``; its derivative is exact where elements are zero.")


def _mean_dtype(dtype):
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def mean(a, axis=None, dtype=None, keepdims: bool = False, *, where=None):
    """``numpy.mean``; with ``where``, of the elements the mask keeps."""
    if not is_traced(a, where):
        return np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims,
                       **_numpy_options(None, where))
    a = cast(a, dtype if dtype is not None else _mean_dtype(np.result_type(a)))
    if where is not None:   # the sum of the kept elements over their number
        from ._shape import broadcast_to
        count = sum(cast(broadcast_to(where, np.shape(a)), a.dtype), axis, keepdims=keepdims)
        return ew.div(sum(a, axis, keepdims=keepdims, where=where), count)
    axes = normalize_axes(axis, a.ndim, "mean")
    count = math.prod([a.shape[i] for i in axes])
    total = red.reduce_sum(a, axes)
    return _keep(ew.div(total, a.dtype.type(count)), a.shape, axes, keepdims)


def var(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False, *,
        where=None, mean=None, correction=None):
    """``numpy.var``: the mean squared deviation, divided by ``n - ddof``; with ``where``,
    of the elements the mask keeps (as ``mean``'s ``where``)."""
    if not is_traced(a, where):
        return np.var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **_numpy_options(None, where), **_spread_options(mean, correction))
    _check_spread_options("var", out, mean, correction)
    return _variance(a, axis, dtype, ddof, keepdims, where, "var")


def _spread_options(mean, correction) -> dict:
    options = {} if mean is None else {"mean": mean}
    if correction is not None:
        options["correction"] = correction
    return options


def _check_spread_options(who, out, mean, correction):
    if out is not None:
        raise TypeError(f"{who}: out= is not supported on traced arrays; use the returned value")
    if mean is not None or correction is not None:
        raise TypeError(f"{who}: mean= and correction= are not supported on traced arrays; "
                        "use ddof=")


def _variance(a, axis, dtype, ddof, keepdims, where, who, nan_where_no_freedom=False):
    """The variance of ``a`` (traced) over ``axis`` of the elements ``where`` keeps (all when
    None), divided by ``max(count - ddof, 0)``; ``nan_where_no_freedom``: NaN where
    ``count - ddof <= 0`` (``nanvar``). Masked elements get a zero derivative."""
    a = asarray_or_tracer(a)
    a = cast(a, dtype if dtype is not None else _mean_dtype(np.result_type(a)))
    axes = normalize_axes(axis, a.ndim, who)
    real = np.empty(0, a.dtype).real.dtype
    if where is None:
        count = real.type(math.prod([a.shape[i] for i in axes]))
        centered = ew.sub(a, mean(a, axes, keepdims=True))
    else:
        from ._shape import broadcast_to
        where = broadcast_to(where, a.shape)
        count = red.reduce_sum(cast(where, real), axes)
        kept = _kept_shape(a.shape, axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            average = ew.div(st.reshape(red.reduce_sum(_masked(a, where, 0), axes), kept),
                             cast(st.reshape(count, kept), a.dtype))
        centered = _masked(ew.sub(a, average), where, 0)
    if a.dtype.kind == "c":   # the mean squared modulus of the deviation, real (as NumPy's)
        from ..ops import complex_numbers as cn
        re, im = cn.real(centered), cn.imag(centered)
        squares = ew.add(ew.mul(re, re), ew.mul(im, im))
    else:
        squares = ew.mul(centered, centered)
    if where is None:
        freedom = count - real.type(ddof)
        divisor, no_freedom = real.type(builtins.max(freedom, 0)), freedom <= 0
    else:
        freedom = ew.sub(count, real.type(ddof))
        divisor, no_freedom = ew.maximum(freedom, real.type(0)), ew.le(freedom, real.type(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        result = ew.div(red.reduce_sum(squares, axes), divisor)
    if nan_where_no_freedom and (isinstance(no_freedom, Tracer) or np.any(no_freedom)):
        result = ew.select(no_freedom, real.type(np.nan), result)
    return _keep(result, a.shape, axes, keepdims)


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def std(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False, *,
        where=None, mean=None, correction=None):
    """``numpy.std``: the square root of ``var`` (``where`` as in ``var``).

    Where the spread is zero the derivative is zero: the true one for a single element (``std``
    is constant there), a subgradient otherwise (as for ``linalg.norm`` at zero), never the
    ``0 * inf = nan`` of the square root's slope.
    """
    if not is_traced(a, where):
        return np.std(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **_numpy_options(None, where), **_spread_options(mean, correction))
    _check_spread_options("std", out, mean, correction)
    return _root(_variance(a, axis, dtype, ddof, keepdims, where, "std"))


def _extremum(numpy_fn, op, who):
    def function(a, axis=None, keepdims: bool = False, initial=None, where=None):
        if not is_traced(a, initial, where):
            return numpy_fn(a, axis=axis, keepdims=keepdims, **_numpy_options(initial, where))
        if where is not None and initial is None:
            raise ValueError(f"{who}: a where mask needs initial (the value of a slice that "
                             "the mask empties), as in NumPy")
        a = a if isinstance(a, Tracer) else np.asarray(a)
        axes = normalize_axes(axis, a.ndim, who)
        if builtins.any(a.shape[i] == 0 for i in axes):
            if initial is None:
                raise ValueError(f"{who}: zero-size array to reduction operation {who}, "
                                 "which has no identity")
            from ._shape import broadcast_to
            shape = tuple(1 if i in axes else n for i, n in enumerate(a.shape) if keepdims
                          or i not in axes)
            return broadcast_to(cast(initial, a.dtype), shape)
        if where is not None:
            a = _masked(a, where, initial)
        combine = ew.maximum if op is red.reduce_max else ew.minimum
        return _with_initial(_keep(op(a, axes), a.shape, axes, keepdims), initial, combine)
    function.__name__ = who
    function.__doc__ = (f"``numpy.{who}``; where several elements tie, the derivative is "
                        "shared equally among them.")
    return function


max = _extremum(np.max, red.reduce_max, "max")
min = _extremum(np.min, red.reduce_min, "min")
amax = _extremum(np.max, red.reduce_max, "amax")
amin = _extremum(np.min, red.reduce_min, "amin")


def _logical(numpy_fn, op, who):
    def function(a, axis=None, keepdims: bool = False):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, keepdims=keepdims)
        if a.dtype != np.bool_:
            a = ew.ne(a, a.dtype.type(0))
        return _reduce(a, axis, keepdims, op, who)
    function.__name__ = who
    function.__doc__ = f"``numpy.{who}`` (boolean result, no derivative)."
    return function


all = _logical(np.all, red.reduce_and, "all")
any = _logical(np.any, red.reduce_or, "any")


def _arg(numpy_fn, op, who):
    def function(a, axis=None, keepdims: bool = False):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, keepdims=keepdims)
        if axis is None:
            flat = st.reshape(a, (a.size,))
            out = op(flat, 0)
            return st.reshape(out, (1,) * a.ndim) if keepdims else out
        (axis,) = normalize_axes(axis, a.ndim, who)
        return _keep(op(a, axis), a.shape, (axis,), keepdims)
    function.__name__ = who
    function.__doc__ = f"``numpy.{who}`` (integer result, no derivative)."
    return function


argmax = _arg(np.argmax, red.argmax, "argmax")
argmin = _arg(np.argmin, red.argmin, "argmin")


def _cumulative(numpy_fn, op, who):
    def function(a, axis=None, dtype=None):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, dtype=dtype)
        a = cast(a, dtype if dtype is not None else _sum_dtype(a.dtype))
        if axis is None:
            a, axis = st.reshape(a, (a.size,)), 0
        (axis,) = normalize_axes(axis, a.ndim, who)
        return op(a, axis)
    function.__name__ = who
    function.__doc__ = f"``numpy.{who}``."
    return function


cumsum = _cumulative(np.cumsum, red.cumsum, "cumsum")
cumprod = _cumulative(np.cumprod, red.cumprod, "cumprod")


def ptp(a, axis=None, out=None, keepdims: bool = False):
    """``numpy.ptp``: the range (maximum minus minimum) over ``axis``, in ``a``'s dtype; the
    derivative is that of ``max`` minus that of ``min`` (ties share it).

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: ptp(x))(np.array([2.0, 5.0, -1.0]))
    array([ 0.,  1., -1.])
    """
    if not isinstance(a, Tracer):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    if out is not None:
        raise TypeError("ptp: out= is not supported on traced arrays; use the returned value")
    return ew.sub(max(a, axis, keepdims), min(a, axis, keepdims))


def count_nonzero(a, axis=None, *, keepdims: bool = False):
    """``numpy.count_nonzero``: how many elements are not zero (integer result).

    >>> count_nonzero(np.array([[0, 1, 2], [0, 0, 3]]), axis=1).tolist()
    [2, 1]
    """
    if not isinstance(a, Tracer):
        return np.count_nonzero(a, axis=axis, keepdims=keepdims)
    nonzero = a if a.dtype == np.bool_ else ew.ne(a, a.dtype.type(0))
    return _reduce(ew.convert(nonzero, np.intp), axis, keepdims, red.reduce_sum,
                   "count_nonzero")


def _array_api_cumulative(numpy_fn, cumulative, start, who):
    def function(x, /, *, axis=None, dtype=None, include_initial=False):
        if not isinstance(x, Tracer):
            return numpy_fn(x, axis=axis, dtype=dtype, include_initial=include_initial)
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"{who}: axis must be given for a {x.ndim}-d input")
            axis = 0
        if x.ndim == 0:
            x = st.reshape(x, (1,))
        (axis,) = normalize_axes(axis, x.ndim, who)
        out = cumulative(x, axis=axis, dtype=dtype)
        if not include_initial:
            return out
        shape = list(out.shape)
        shape[axis] = 1
        return st.concatenate([np.full(shape, start, out.dtype), out], axis)
    function.__name__ = who
    function.__doc__ = (f"``numpy.{who}``: the array API's ``{who}``; ``include_initial`` "
                        f"puts the empty {'sum' if start == 0 else 'product'} ({start}) "
                        "first.")
    return function


cumulative_sum = _array_api_cumulative(np.cumulative_sum, cumsum, 0, "cumulative_sum")
cumulative_prod = _array_api_cumulative(np.cumulative_prod, cumprod, 1, "cumulative_prod")


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None):
    """``numpy.trace``: the sum along a diagonal."""
    if not isinstance(a, Tracer):
        return np.trace(a, offset, axis1, axis2, dtype)
    from ._shape import diagonal
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


__all__ = ["sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "all", "any",
           "argmax", "argmin", "cumsum", "cumprod", "trace", "ptp", "count_nonzero",
           "cumulative_sum", "cumulative_prod"]
