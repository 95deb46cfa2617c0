"""More of NumPy's mathematical functions: elementwise ones (trunc, fmod, copysign, ...),
NaN-ignoring reductions, statistics (average, cov, corrcoef), and 1-d signal and polynomial
functions (convolve, interp, polyval, trapezoid, diff, cross).

Each is NumPy's own on concrete arrays; on traced arrays it is composed of existing
primitives (select, comparisons, reductions, gather, einsum), so its derivatives, of every
order, are theirs. Where NumPy's function is piecewise constant (``trunc``, the comparisons of
``isclose``) the derivative is zero; where it replaces values (``nan_to_num``, the ``nan*``
reductions) the replaced elements get a zero derivative.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.trace import Tracer
from ..ops import complex_numbers as cn
from ..ops import contraction as con
from ..ops import elementwise as ew
from ..ops import reduction as red
from ..ops import sorting as so
from ..ops import structural as st
from ..ops.special import stop_gradient
from . import _elementwise as el
from . import _reductions as rd
from ._core import (
    asarray_or_tracer,
    cast,
    common_dtype,
    normalize_axes,
    to_float,
    ufunc_dtype,
)
from ._core import traced as _traced

__all__ = [
    "trunc", "fmod", "copysign", "heaviside", "deg2rad", "rad2deg", "fabs", "nan_to_num",
    "degrees", "radians", "divmod", "float_power", "gcd", "lcm", "i0",
    "real", "imag", "conj", "conjugate", "angle", "iscomplexobj", "isrealobj",
    "iscomplex", "isreal", "isclose", "allclose", "nansum", "nanmean", "nanmax",
    "nanmin", "average", "cov", "corrcoef", "convolve", "interp", "polyval", "trapezoid",
    "diff", "cross",
]



def _slice(a, axis: int, start, stop):
    """``a[..., start:stop, ...]`` on ``axis``, for a traced or a concrete array."""
    if isinstance(a, Tracer):
        return st.slice_along(a, axis, start, stop)
    index = [slice(None)] * np.ndim(a)
    index[axis] = slice(start, stop)
    return np.asarray(a)[tuple(index)]


# ----------------------------------------------------------------------------- elementwise

def trunc(x):
    """``numpy.trunc``: round towards zero; zero derivative."""
    if not isinstance(x, Tracer):
        return np.trunc(x)
    x = cast(x, ufunc_dtype(np.trunc, x))
    if x.dtype.kind != "f":
        return x
    return ew.select(ew.lt(x, x.dtype.type(0)), ew.ceil(x), ew.floor(x))


def fmod(x1, x2):
    """``numpy.fmod``: the remainder of C's ``fmod``, with the sign of the dividend ``x1``
    (``mod`` has the divisor's). Derivatives: 1 in ``x1``, ``-trunc(x1 / x2)`` in ``x2``."""
    if not _traced(x1, x2):
        return np.fmod(x1, x2)
    dtype = ufunc_dtype(np.fmod, x1, x2)
    x1, x2 = cast(x1, dtype), cast(x2, dtype)
    zero = dtype.type(0)
    r = ew.rem(x1, x2)
    wrong_sign = ew.logical_and(ew.ne(r, zero), ew.ne(ew.lt(r, zero), ew.lt(x1, zero)))
    out = ew.select(wrong_sign, ew.sub(r, x2), r)
    if dtype.kind == "f":   # a finite dividend over an infinite divisor is itself
        out = ew.select(ew.logical_and(ew.isinf(x2), ew.isfinite(x1)), x1, out)
    return out


def _sign_bit(x):
    """Whether ``x``'s sign bit is set: negative numbers, -0.0 and NaNs with the sign set
    (``np.copysign(1.0, -np.nan)`` is -1.0)."""
    return ew.signbit(x) if x.dtype.kind == "f" else ew.lt(x, x.dtype.type(0))


def copysign(x1, x2):
    """``numpy.copysign``: the magnitude of ``x1`` with the sign of ``x2``; differentiable in
    ``x1`` (the derivative of ``|x1|`` times that sign), zero derivative in ``x2``."""
    if not _traced(x1, x2):
        return np.copysign(x1, x2)
    dtype = ufunc_dtype(np.copysign, x1, x2)
    x1, x2 = cast(x1, dtype), cast(x2, dtype)
    magnitude = ew.abs(x1)
    negative = _sign_bit(x2)
    return ew.select(negative, ew.neg(magnitude), magnitude)


def heaviside(x1, x2):
    """``numpy.heaviside``: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``
    (NaN for NaN); zero derivative in ``x1``, ``x2``'s own where ``x1 == 0``."""
    if not _traced(x1, x2):
        return np.heaviside(x1, x2)
    dtype = ufunc_dtype(np.heaviside, x1, x2)
    x1, x2 = cast(x1, dtype), cast(x2, dtype)
    zero, one = dtype.type(0), dtype.type(1)
    out = ew.select(ew.lt(x1, zero), zero, ew.select(ew.gt(x1, zero), one, x2))
    return ew.select(ew.isnan(x1), x1, out)


def deg2rad(x):
    """``numpy.deg2rad``: degrees to radians."""
    if not isinstance(x, Tracer):
        return np.deg2rad(x)
    x = cast(x, ufunc_dtype(np.deg2rad, x))
    return ew.mul(x, x.dtype.type(np.pi / 180))


def rad2deg(x):
    """``numpy.rad2deg``: radians to degrees."""
    if not isinstance(x, Tracer):
        return np.rad2deg(x)
    x = cast(x, ufunc_dtype(np.rad2deg, x))
    return ew.mul(x, x.dtype.type(180 / np.pi))


def fabs(x):
    """``numpy.fabs``: the absolute value as a float (integers become float64)."""
    if not isinstance(x, Tracer):
        return np.fabs(x)
    return ew.abs(cast(x, ufunc_dtype(np.fabs, x)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``numpy.nan_to_num``: NaN becomes ``nan``, infinities ``posinf``/``neginf`` (default:
    the dtype's largest and smallest finite values). Replaced elements have a zero
    derivative, the others pass it through."""
    if not _traced(x, nan, posinf, neginf):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    x = asarray_or_tracer(x)
    if x.dtype.kind != "f":
        return x
    info = np.finfo(x.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    out = el.where(ew.isnan(x), cast(nan, x.dtype), x)
    out = el.where(ew.eq(x, x.dtype.type(np.inf)), cast(big, x.dtype), out)
    return el.where(ew.eq(x, x.dtype.type(-np.inf)), cast(small, x.dtype), out)


degrees, radians = rad2deg, deg2rad   # (NumPy's other names of them)


def divmod(x1, x2):   # noqa: A001  (NumPy's name)
    """``numpy.divmod``: ``(floor_divide(x1, x2), mod(x1, x2))``."""
    if not _traced(x1, x2):
        return np.divmod(x1, x2)
    return el.floor_divide(x1, x2), el.mod(x1, x2)


def float_power(x1, x2):
    """``numpy.float_power``: ``power`` computed in float64 (complex128 for complex)."""
    if not _traced(x1, x2):
        return np.float_power(x1, x2)
    dtype = ufunc_dtype(np.float_power, x1, x2)
    return el.power(cast(x1, dtype), cast(x2, dtype))


def gcd(x1, x2):
    """``numpy.gcd``: the greatest common divisor of integers (non-negative; no
    derivative)."""
    if not _traced(x1, x2):
        return np.gcd(x1, x2)
    dtype = ufunc_dtype(np.gcd, x1, x2)   # NumPy's TypeError for floats
    return ew.gcd(cast(x1, dtype), cast(x2, dtype))


def lcm(x1, x2):
    """``numpy.lcm``: the least common multiple of integers, ``|x1| // gcd * |x2|`` (0 where
    either is 0; an overflow wraps, as in NumPy; no derivative)."""
    if not _traced(x1, x2):
        return np.lcm(x1, x2)
    dtype = ufunc_dtype(np.lcm, x1, x2)
    x1, x2 = cast(x1, dtype), cast(x2, dtype)
    divisor = ew.gcd(x1, x2)
    zero = ew.eq(divisor, dtype.type(0))
    safe = ew.select(zero, ew.full_like(divisor, 1), divisor)
    out = ew.mul(ew.floor_divide(ew.abs(x1), safe), ew.abs(x2))
    return ew.select(zero, ew.zeros_like(out), out)


def i0(x):
    """``numpy.i0``: the modified Bessel function of the first kind, order 0, as
    ``i0e(x) * exp(|x|)``; its derivative is ``i1(x)`` (from ``i0e``'s). float32 stays
    float32, integers become float64. (Traced, it overflows to inf for ``|x| > 709.78``, a
    little before NumPy's, where ``exp`` does.)"""
    if not isinstance(x, Tracer):
        return np.i0(x)
    from ..ops import special_functions as sf
    x = to_float(x)
    return ew.mul(sf.i0e(x), ew.exp(ew.abs(x)))


def real(val):
    """``numpy.real``: the real part (of a real array, the array itself)."""
    if not isinstance(val, Tracer):
        return np.real(val)
    if val.dtype.kind == "c":
        return cn.real(val)
    return val


def imag(val):
    """``numpy.imag``: the imaginary part (of a real array, zeros: no derivative)."""
    if not isinstance(val, Tracer):
        return np.imag(val)
    if val.dtype.kind == "c":
        return cn.imag(val)
    return np.zeros(val.shape, val.dtype)


def conj(x):
    """``numpy.conj``: the complex conjugate (of a real array, the array itself)."""
    if not isinstance(x, Tracer):
        return np.conj(x)
    if x.dtype.kind == "c":
        return cn.conj(x)
    return x


conjugate = conj


def angle(z, deg=False):
    """``numpy.angle``: the argument of a complex number, in radians (degrees with ``deg``);
    of a real array, 0 or pi (constant: its gradient is a disconnected zero)."""
    if not isinstance(z, Tracer):
        return np.angle(z, deg)
    if z.dtype.kind == "c":
        out = cn.angle(z)
    else:
        # NumPy's own definition, arctan2(0, x): 0 or pi (-0.0 gives pi), constant in x
        z = stop_gradient(cast(z, ufunc_dtype(np.arctan2, z, z)))
        out = ew.atan2(ew.zeros_like(z), z)
    return ew.mul(out, out.dtype.type(180 / np.pi)) if deg else out


def iscomplexobj(x) -> bool:
    """``numpy.iscomplexobj``: whether ``x``'s dtype is complex."""
    dtype = x.dtype if isinstance(x, Tracer) else np.asarray(x).dtype
    return dtype.kind == "c"


def isrealobj(x) -> bool:
    """``numpy.isrealobj``: whether ``x``'s dtype is not complex."""
    return not iscomplexobj(x)


def iscomplex(x):
    """``numpy.iscomplex``: elementwise, whether the imaginary part is nonzero."""
    if not isinstance(x, Tracer):
        return np.iscomplex(x)
    if x.dtype.kind != "c":
        return ew.eq(ew.zeros_like(x), ew.full_like(x, 1))
    return ew.ne(cn.imag(x), cn.real_dtype(x.dtype).type(0))


def isreal(x):
    """``numpy.isreal``: elementwise, whether the imaginary part is zero."""
    if not isinstance(x, Tracer):
        return np.isreal(x)
    return ew.logical_not(iscomplex(x))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.isclose``: ``|a - b| <= atol + rtol * |b|`` elementwise, infinities equal only
    to themselves, NaNs equal only with ``equal_nan``. Boolean result, no derivative."""
    if not _traced(a, b, rtol, atol):
        return np.isclose(a, b, rtol, atol, equal_nan)
    a, b = asarray_or_tracer(a), asarray_or_tracer(b)
    dtype = common_dtype(a, b, 1.0)
    a, b = cast(a, dtype), cast(b, dtype)
    tolerance = el.add(atol, el.multiply(rtol, ew.abs(b)))
    close = el.less_equal(ew.abs(ew.sub(a, b)), tolerance)
    both_finite = ew.logical_and(ew.isfinite(a), ew.isfinite(b))
    out = ew.select(both_finite, close, ew.eq(a, b))
    if equal_nan:
        out = ew.logical_or(out, ew.logical_and(ew.isnan(a), ew.isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.allclose``: whether ``isclose`` holds everywhere (a traced 0-d bool when
    traced: use it with ``fnp.where`` or ``fg.cond``, not ``if``, under ``jit``)."""
    if not _traced(a, b, rtol, atol):
        return np.allclose(a, b, rtol, atol, equal_nan)
    return rd.all(isclose(a, b, rtol, atol, equal_nan))


# ---------------------------------------------------------------------- NaN-ignoring reductions

def _check_out(who, out):
    if out is not None:
        raise TypeError(f"{who}: out= is not supported on traced arrays; use the returned value")


def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """``numpy.nansum``: the sum, NaNs counted as zero (their derivative is zero)."""
    if not isinstance(a, Tracer):
        return np.nansum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    _check_out("nansum", out)
    if a.dtype.kind == "f":
        a = ew.select(ew.isnan(a), a.dtype.type(0), a)
    return rd.sum(a, axis, dtype, keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """``numpy.nanmean``: the mean of the elements that are not NaN (NaN where all are)."""
    if not isinstance(a, Tracer):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    _check_out("nanmean", out)
    if a.dtype.kind != "f":
        return rd.mean(a, axis, dtype, keepdims)
    if dtype is not None:
        a = cast(a, dtype)
    missing = ew.isnan(a)
    total = rd.sum(ew.select(missing, a.dtype.type(0), a), axis, keepdims=keepdims)
    count = rd.sum(ew.convert(ew.logical_not(missing), a.dtype), axis, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ew.div(total, count)


def _nan_extremum(numpy_fn, reduce, fill, who):
    def function(a, axis=None, out=None, keepdims=False):
        if not isinstance(a, Tracer):
            return numpy_fn(a, axis=axis, out=out, keepdims=keepdims)
        _check_out(who, out)
        if a.dtype.kind != "f":
            return reduce(a, axis, keepdims)
        missing = ew.isnan(a)
        result = reduce(ew.select(missing, a.dtype.type(fill), a), axis, keepdims)
        all_missing = rd.all(missing, axis, keepdims)
        return ew.select(all_missing, a.dtype.type(np.nan), result)
    function.__name__ = who
    function.__doc__ = (f"``numpy.{who}``: ignoring NaNs (NaN where a whole slice is NaN); "
                        "ties share the derivative equally.")
    return function


nanmax = _nan_extremum(np.nanmax, rd.max, -np.inf, "nanmax")
nanmin = _nan_extremum(np.nanmin, rd.min, np.inf, "nanmin")


# ----------------------------------------------------------------------------- statistics

def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``numpy.average``: the mean, weighted by ``weights`` (of ``a``'s shape, or 1-d along
    one ``axis``); with ``returned``, also the sum of the weights. Differentiable in ``a``
    and in ``weights``."""
    if not _traced(a, weights):
        return np.average(a, axis, weights, returned, keepdims=keepdims)
    a = asarray_or_tracer(a)
    axes = normalize_axes(axis, np.ndim(a), "average")
    if weights is None:
        avg = rd.mean(a, axes, keepdims=keepdims)
        count = int(math.prod([np.shape(a)[i] for i in axes]))
        scale = np.full(np.shape(avg), count, np.asarray(avg).dtype if not isinstance(
            avg, Tracer) else avg.dtype)
        return (avg, scale) if returned else avg
    w = asarray_or_tracer(weights)
    dtype = common_dtype(a, w, 1.0) if a.dtype.kind in "biu" else common_dtype(a, w)
    a, w = cast(a, dtype), cast(w, dtype)
    if np.shape(w) != np.shape(a):
        if axis is None:
            raise TypeError("average: axis must be specified when shapes of a and weights "
                            "differ.")
        if np.ndim(w) != 1 or len(axes) != 1:
            raise TypeError("average: 1D weights expected when shapes of a and weights "
                            "differ.")
        if np.shape(w)[0] != np.shape(a)[axes[0]]:
            raise ValueError("average: length of weights differs from that of the array along "
                             "the axis.")
        shape = [1] * np.ndim(a)
        shape[axes[0]] = np.shape(w)[0]
        w = st.broadcast_to(st.reshape(w, shape), np.shape(a))
    scale = rd.sum(w, axes, keepdims=keepdims)
    if not isinstance(scale, Tracer) and np.any(scale == 0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = ew.div(rd.sum(ew.mul(a, w), axes, keepdims=keepdims), scale)
    if returned:
        return avg, scale
    return avg


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``numpy.cov``: the covariance matrix of the variables (rows, or columns when
    ``rowvar=False``) of ``m`` and ``y``, with frequency and analytic weights. Differentiable
    in ``m``, ``y`` and ``aweights``."""
    if not _traced(m, y, fweights, aweights):
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError("cov: ddof must be an integer")
    m = asarray_or_tracer(m)
    if np.ndim(m) > 2:
        raise ValueError("cov: m has more than 2 dimensions")
    dtype = common_dtype(m, np.float64(0)) if dtype is None else np.dtype(dtype)
    if y is not None:
        y = asarray_or_tracer(y)
        if np.ndim(y) > 2:
            raise ValueError("cov: y has more than 2 dimensions")
        dtype = common_dtype(m, y, np.float64(0)) if dtype is None else dtype
    x = cast(m, dtype)
    x = st.reshape(x, (1,) + np.shape(x)) if np.ndim(x) < 2 else x
    if not rowvar and np.shape(x)[0] != 1:
        x = st.transpose(x, (1, 0))
    if np.shape(x)[0] == 0:
        return np.zeros((0, 0), dtype)
    if y is not None:
        y = cast(y, dtype)
        y = st.reshape(y, (1,) + np.shape(y)) if np.ndim(y) < 2 else y
        if not rowvar and np.shape(y)[0] != 1:
            y = st.transpose(y, (1, 0))
        x = st.concatenate([x, y], 0)
    if ddof is None:
        ddof = 0 if bias else 1
    count = np.shape(x)[1]
    w = None
    if fweights is not None:
        fweights = asarray_or_tracer(fweights)
        if not isinstance(fweights, Tracer):
            if not np.all(fweights == np.around(fweights)):
                raise TypeError("cov: fweights must be integer")
            if np.any(fweights < 0):
                raise ValueError("cov: fweights cannot be negative")
        w = cast(fweights, dtype)
    if aweights is not None:
        aweights = cast(asarray_or_tracer(aweights), dtype)
        w = aweights if w is None else ew.mul(w, aweights)
    if w is not None and np.shape(w) != (count,):
        raise RuntimeError("cov: incompatible numbers of samples and weights")
    if w is None:
        average_ = rd.mean(x, 1)
        factor = dtype.type(count - ddof)
    else:
        w_sum = rd.sum(w)
        average_ = ew.div(rd.sum(ew.mul(x, w), 1), w_sum)
        if ddof == 0:
            factor = w_sum
        elif aweights is None:
            factor = ew.sub(w_sum, dtype.type(ddof))
        else:
            factor = ew.sub(w_sum, ew.div(ew.mul(dtype.type(ddof),
                                                 rd.sum(ew.mul(w, aweights))), w_sum))
    centered = ew.sub(x, st.reshape(average_, (np.shape(x)[0], 1)))
    weighted = centered if w is None else ew.mul(centered, w)
    product = con.einsum("in,jn->ij", weighted, centered)
    c = ew.div(product, factor)
    return _squeeze(c)


def _squeeze(c):
    return st.reshape(c, tuple(d for d in np.shape(c) if d != 1))


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``numpy.corrcoef``: Pearson correlation coefficients (``cov`` scaled by the standard
    deviations, clipped to [-1, 1] as NumPy does)."""
    if not _traced(x, y):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return ew.div(c, c)
    d = _diag(c)
    std = ew.sqrt(d)
    n = np.shape(c)[0]
    c = ew.div(c, st.reshape(std, (n, 1)))
    c = ew.div(c, st.reshape(std, (1, n)))
    return el.clip(c, -1, 1)


def _diag(c):
    n = np.shape(c)[0]
    steps = np.arange(n)
    return st.gather(c, [steps, steps], st.IndexSpec([("array", 0), ("array", 1)]))


# ---------------------------------------------------------------------- signals, polynomials

def convolve(a, v, mode="full"):
    """``numpy.convolve``: the discrete linear convolution of two 1-d arrays; ``mode`` is
    'full', 'same' or 'valid'. Differentiable in both (a gather of shifted windows of the
    longer array, contracted with the shorter)."""
    if not _traced(a, v):
        return np.convolve(a, v, mode)
    a, v = asarray_or_tracer(a), asarray_or_tracer(v)
    if np.ndim(a) > 1 or np.ndim(v) > 1:
        raise ValueError("convolve: object too deep for desired array (1-d arrays only)")
    a = st.reshape(a, (1,)) if np.ndim(a) == 0 else a
    v = st.reshape(v, (1,)) if np.ndim(v) == 0 else v
    if np.shape(a)[0] == 0:
        raise ValueError("convolve: a cannot be empty")
    if np.shape(v)[0] == 0:
        raise ValueError("convolve: v cannot be empty")
    if np.shape(v)[0] > np.shape(a)[0]:
        a, v = v, a
    dtype = common_dtype(a, v)
    a, v = cast(a, dtype), cast(v, dtype)
    n, m = np.shape(a)[0], np.shape(v)[0]
    if mode == "full":
        start, length = 0, n + m - 1
    elif mode == "same":
        start, length = (m - 1) // 2, n
    elif mode == "valid":
        start, length = m - 1, n - m + 1
    else:
        raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")
    # out[k] = sum_j v[j] * a[k - j] over the j where a[k - j] exists. Terms outside a are
    # left out rather than taken as zeros: 0 * nan (or 0 * inf) of v would be NaN where
    # NumPy has a value.
    index = np.arange(start, start + length).reshape(-1, 1) - np.arange(m)
    inside = (index >= 0) & (index < n)
    windows = st.gather(a, [np.clip(index, 0, n - 1)], st.IndexSpec([("array", 0)]))
    if inside.all():
        return con.einsum("kj,j->k", windows, v)
    products = ew.mul(windows, st.broadcast_to(st.reshape(v, (1, m)), index.shape))
    total = red.reduce_sum(ew.select(inside, products, st.broadcast_to(
        np.zeros((), dtype), index.shape)), (1,))
    return cast(total, dtype)   # a sum of booleans counts; NumPy's is their "or"


def interp(x, xp, fp, left=None, right=None, period=None):
    """``numpy.interp``: the piecewise-linear interpolant through ``(xp, fp)`` (``xp``
    increasing) at ``x``, ``left``/``right`` outside (default ``fp[0]``/``fp[-1]``), or
    periodic with ``period``. float64 result, as NumPy's. Differentiable in ``x`` (the slope
    of the segment), ``fp`` and ``xp``; at the points ``xp`` the derivative in ``x`` is the
    slope of the segment to the right."""
    if not _traced(x, xp, fp, left, right, period):
        return np.interp(x, xp, fp, left, right, period)
    x, xp, fp = (cast(asarray_or_tracer(v), np.float64) for v in (x, xp, fp))
    if np.ndim(xp) != 1 or np.ndim(fp) != 1:
        raise ValueError("interp: xp and fp must be 1-d sequences")
    if np.shape(xp) != np.shape(fp):
        raise ValueError("interp: fp and xp are not of the same length")
    if np.shape(xp)[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    if period is not None:
        if not isinstance(period, Tracer) and period == 0:
            raise ValueError("interp: period must be a non-zero value")
        period = ew.abs(cast(asarray_or_tracer(period), np.float64)) if isinstance(
            period, Tracer) else abs(float(period))
        x = ew.rem(x, period)
        xp = ew.rem(xp, period)
        order = so.argsort(xp, 0)
        xp, fp = (st.gather(v, [order], st.IndexSpec([("array", 0)])) for v in (xp, fp))
        first, last = st.slice_along(xp, 0, 0, 1), st.slice_along(xp, 0, -1, None)
        xp = st.concatenate([ew.sub(last, period), xp, ew.add(first, period)], 0)
        fp = st.concatenate([st.slice_along(fp, 0, -1, None), fp, st.slice_along(fp, 0, 0, 1)],
                            0)
        left = right = None
    n = np.shape(xp)[0]
    take = st.IndexSpec([("array", 0)])
    if n == 1:
        out = st.broadcast_to(st.reshape(fp, ()), np.shape(x))
    else:
        segment = ew.sub(so.searchsorted(xp, x, "right"), np.int64(1))
        segment = ew.minimum(ew.maximum(segment, np.int64(0)), np.int64(n - 2))
        following = ew.add(segment, np.int64(1))
        x0, x1 = st.gather(xp, [segment], take), st.gather(xp, [following], take)
        y0, y1 = st.gather(fp, [segment], take), st.gather(fp, [following], take)
        slope = ew.div(ew.sub(y1, y0), ew.sub(x1, x0))
        out = ew.add(ew.mul(slope, ew.sub(x, x0)), y0)
    first, last = st.reshape(st.slice_along(xp, 0, 0, 1), ()), st.reshape(
        st.slice_along(xp, 0, -1, None), ())
    below = st.reshape(st.slice_along(fp, 0, 0, 1), ()) if left is None else cast(
        asarray_or_tracer(left), np.float64)
    above = st.reshape(st.slice_along(fp, 0, -1, None), ()) if right is None else cast(
        asarray_or_tracer(right), np.float64)
    out = ew.select(ew.lt(x, first), below, out)
    return ew.select(ew.gt(x, last), above, out)


def polyval(p, x):
    """``numpy.polyval``: the polynomial with coefficients ``p`` (highest power first) at
    ``x``, by Horner's rule. Differentiable in ``p`` and ``x``."""
    if not _traced(p, x):
        return np.polyval(p, x)
    p, x = asarray_or_tracer(p), asarray_or_tracer(x)
    if np.ndim(p) != 1:
        raise ValueError(f"polyval: p must be a 1-d sequence of coefficients, got shape "
                         f"{np.shape(p)}")
    y = np.zeros(np.shape(x), x.dtype)   # as NumPy: its dtype takes part in the promotion
    for i in range(np.shape(p)[0]):
        y = el.add(el.multiply(y, x), p[i])
    return y


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``numpy.trapezoid``: the integral of ``y`` along ``axis`` by the trapezoidal rule, at
    sample points ``x`` (1-d, or ``y``'s shape) or spacing ``dx``."""
    if not _traced(y, x, dx):
        return np.trapezoid(y, x, dx, axis)
    y = asarray_or_tracer(y)
    axis = normalize_axis_index(axis, np.ndim(y), "trapezoid")
    if x is None:
        d = dx
    else:
        x = asarray_or_tracer(x)
        if np.ndim(x) == 1:
            d = diff(x)
            shape = [1] * np.ndim(y)
            shape[axis] = np.shape(d)[0]
            d = st.reshape(d, shape) if isinstance(d, Tracer) else np.reshape(d, shape)
        else:
            d = diff(x, axis=axis)
    length = np.shape(y)[axis]
    pairs = el.add(_slice(y, axis, 1, length), _slice(y, axis, 0, length - 1))
    return rd.sum(el.true_divide(el.multiply(d, pairs), 2.0), axis)


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """``numpy.diff``: the ``n``-th forward difference along ``axis`` (of booleans: whether
    neighbours differ), with ``prepend``/``append`` joined first."""
    if not _traced(a, prepend if prepend is not np._NoValue else None,
                   append if append is not np._NoValue else None):
        return np.diff(a, n, axis, prepend, append)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n!r}")
    a = asarray_or_tracer(a)
    if np.ndim(a) == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis_index(axis, np.ndim(a), "diff")
    parts = []
    for extra in (prepend, append):
        if extra is np._NoValue:
            parts.append(None)
            continue
        extra = asarray_or_tracer(extra)
        if np.ndim(extra) == 0:
            shape = list(np.shape(a))
            shape[axis] = 1
            extra = st.broadcast_to(extra, shape) if isinstance(extra, Tracer) else \
                np.broadcast_to(extra, shape)
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        from ._shape import concatenate
        a = concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis)
    for _ in range(n):
        length = np.shape(a)[axis]
        later, earlier = _slice(a, axis, 1, length), _slice(a, axis, 0, max(length - 1, 0))
        a = el.not_equal(later, earlier) if a.dtype == np.bool_ else el.subtract(later,
                                                                                 earlier)
    return a


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``numpy.cross``: the cross product of 3-vectors (or 2-vectors, as NumPy allows) along
    the given axes, broadcasting the others. Differentiable in both."""
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = asarray_or_tracer(a), asarray_or_tracer(b)
    dtype = common_dtype(a, b)
    a, b = cast(a, dtype), cast(b, dtype)
    axisa = normalize_axis_index(axisa, np.ndim(a), "cross (axisa)")
    axisb = normalize_axis_index(axisb, np.ndim(b), "cross (axisb)")
    a, b = _last(a, axisa), _last(b, axisb)
    da, db = np.shape(a)[-1], np.shape(b)[-1]
    if da not in (2, 3) or db not in (2, 3):
        raise ValueError("cross: incompatible dimensions for cross product (dimension must "
                         "be 2 or 3)")
    ca = [_component(a, i) for i in range(da)] + [None] * (3 - da)
    cb = [_component(b, i) for i in range(db)] + [None] * (3 - db)

    def term(i, j):   # a_i * b_j - a_j * b_i, with missing components zero
        plus = None if ca[i] is None or cb[j] is None else el.multiply(ca[i], cb[j])
        minus = None if ca[j] is None or cb[i] is None else el.multiply(ca[j], cb[i])
        if minus is None:
            return plus
        return el.negative(minus) if plus is None else el.subtract(plus, minus)

    z = term(0, 1)
    if da == 2 and db == 2:
        return z
    x, y = term(1, 2), term(2, 0)
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
    from ._shape import broadcast_to, moveaxis, stack
    out = stack([broadcast_to(c, shape) for c in (x, y, z)], axis=-1)
    axisc = normalize_axis_index(axisc, len(shape) + 1, "cross (axisc)")
    return moveaxis(out, -1, axisc)


def _last(x, axis):
    return st.moveaxis(x, axis, -1) if isinstance(x, Tracer) else np.moveaxis(x, axis, -1)


def _component(x, i):
    if isinstance(x, Tracer):
        return st.reshape(st.slice_along(x, np.ndim(x) - 1, i, i + 1), np.shape(x)[:-1])
    return np.asarray(x)[..., i]

