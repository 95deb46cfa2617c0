"""NumPy's floating-point functions that read or build a number's parts: ``rint``,
``signbit``, ``isneginf``/``isposinf``, ``ldexp``, ``frexp``, ``modf``, ``nextafter`` and
``spacing``.

Each is NumPy's own on concrete arrays; traced, ``signbit``, ``ldexp`` and ``nextafter`` are
primitives (``ops/elementwise.py``, compiled into the fused kernels) and the others are
composed of them and of existing primitives, exact to the bit (the signs of zeros and NaNs
included). ``ldexp`` is linear in its float operand and the mantissa of ``frexp`` and the
fraction of ``modf`` are differentiable; the integer parts and the functions that step by one
ulp have no derivative, as in JAX.
"""
from __future__ import annotations

import numpy as np

from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops.special import stop_gradient
from ._core import asarray_or_tracer, cast, ufunc_dtype
from ._core import traced as _traced
from ._math import copysign, trunc

__all__ = ["rint", "signbit", "isneginf", "isposinf", "ldexp", "frexp", "modf", "nextafter",
           "spacing"]



def rint(x):
    """``numpy.rint``: round half to even; integers become floats (NumPy's float64 for
    int32 and wider). Zero derivative."""
    if not isinstance(x, Tracer):
        return np.rint(x)
    return ew.round(cast(x, ufunc_dtype(np.rint, x)))


def signbit(x):
    """``numpy.signbit``: whether the sign bit is set (-0.0 and a NaN's sign included).
    Boolean result, no derivative."""
    if not isinstance(x, Tracer):
        return np.signbit(x)
    if x.dtype.kind == "f":
        return ew.signbit(x)
    ufunc_dtype(np.signbit, x)   # NumPy's TypeError for complex numbers
    return ew.lt(x, x.dtype.type(0)) if x.dtype.kind == "i" else ew.ne(x, x)


def _is_infinity(x, negative: bool):
    x = asarray_or_tracer(x)
    if x.dtype.kind != "f":   # integers and booleans are finite
        return ew.ne(x, x)
    return ew.eq(x, x.dtype.type(-np.inf if negative else np.inf))


def isneginf(x):
    """``numpy.isneginf``: whether ``x`` is -inf (boolean, no derivative)."""
    return np.isneginf(x) if not isinstance(x, Tracer) else _is_infinity(x, True)


def isposinf(x):
    """``numpy.isposinf``: whether ``x`` is +inf (boolean, no derivative)."""
    return np.isposinf(x) if not isinstance(x, Tracer) else _is_infinity(x, False)


def ldexp(x1, x2):
    """``numpy.ldexp``: ``x1 * 2**x2`` for integer ``x2``, exactly (rounded only where the
    result is subnormal). Derivative ``2**x2`` in ``x1``; ``x2`` is an integer (none)."""
    if not _traced(x1, x2):
        return np.ldexp(x1, x2)
    dtype = ufunc_dtype(np.ldexp, x1, x2)   # NumPy's TypeError for a float exponent
    x2 = asarray_or_tracer(x2)
    if x2.dtype.kind not in "iub":
        raise TypeError(f"ldexp: the exponent x2 must be an integer, not {x2.dtype.name}")
    # NumPy's loops take an int32 or int64 exponent; the result is x1's float dtype.
    exponent = np.dtype(np.int64) if x2.dtype.itemsize > 4 or x2.dtype == np.uint32 \
        else np.dtype(np.int32)
    return ew.ldexp(cast(x1, dtype), cast(x2, exponent))


def frexp(x):
    """``numpy.frexp``: ``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``,
    ``0.5 <= |mantissa| < 1`` (0, infinities and NaN: themselves and exponent 0); the exponent
    is int32. The mantissa's derivative is ``2**-exponent``; the exponent has none.

    The exponent starts from ``floor(log2|x|)`` and is corrected by one either way where
    rounding put ``log2`` across an integer (``ldexp`` is exact, so the test is too).

    >>> import funcgrad as fg
    >>> mantissa, exponent = fg.vmap(frexp)(np.array([12.0, -0.375, 0.0]))
    >>> mantissa, exponent
    (array([ 0.75, -0.75,  0.  ]), array([ 4, -1,  0], dtype=int32))
    >>> fg.grad(lambda x: frexp(x)[0])(12.0)   # 2**-4
    array(0.0625)
    """
    if not isinstance(x, Tracer):
        return np.frexp(x)
    x = cast(x, _outputs_dtype(np.frexp, x))
    magnitude = stop_gradient(ew.abs(x))
    regular = ew.logical_and(ew.isfinite(x), ew.ne(x, x.dtype.type(0)))
    safe = ew.select(regular, magnitude, ew.full_like(magnitude, 1))
    exponent = ew.add(ew.convert(ew.floor(ew.log2(safe)), np.int32), np.int32(1))
    scaled = ew.ldexp(safe, ew.neg(exponent))
    exponent = ew.select(ew.lt(scaled, x.dtype.type(0.5)), ew.sub(exponent, np.int32(1)),
                         ew.select(ew.ge(scaled, x.dtype.type(1)),
                                   ew.add(exponent, np.int32(1)), exponent))
    exponent = ew.select(regular, exponent, ew.zeros_like(exponent))
    return ew.ldexp(x, ew.neg(exponent)), exponent


def _outputs_dtype(ufunc, x):
    """The dtype of the first output NumPy's two-output ``ufunc`` gives for ``x``'s dtype."""
    with np.errstate(all="ignore"):
        return ufunc(np.ones((), x.dtype))[0].dtype


def modf(x):
    """``numpy.modf``: ``(fractional part, integral part)``, both with ``x``'s sign
    (``modf(-2.0)`` is ``(-0.0, -2.0)``; of an infinity, ``(±0.0, ±inf)``). Derivatives: 1
    for the fractional part, 0 for the integral part."""
    if not isinstance(x, Tracer):
        return np.modf(x)
    x = cast(x, _outputs_dtype(np.modf, x))
    whole = trunc(x)
    fraction = copysign(ew.sub(x, whole), x)   # x - trunc(x) is exact; its sign is x's
    fraction = ew.select(ew.isinf(x), copysign(ew.zeros_like(x), x), fraction)
    return fraction, whole


def nextafter(x1, x2):
    """``numpy.nextafter``: the next representable number after ``x1`` towards ``x2``. As in
    JAX, it has no derivative: gradients through it are disconnected (zero)."""
    if not _traced(x1, x2):
        return np.nextafter(x1, x2)
    dtype = ufunc_dtype(np.nextafter, x1, x2)
    return ew.nextafter(cast(x1, dtype), cast(x2, dtype))


def spacing(x):
    """``numpy.spacing``: the distance from ``x`` to the next number away from zero (towards
    +inf at ±0; NaN for infinities). No derivative (disconnected), as ``nextafter``'s; the
    spacing is piecewise constant."""
    if not isinstance(x, Tracer):
        return np.spacing(x)
    x = stop_gradient(cast(x, ufunc_dtype(np.spacing, x)))
    inf = x.dtype.type(np.inf)
    away = ew.select(ew.ge(x, x.dtype.type(0)), ew.full_like(x, inf), ew.full_like(x, -inf))
    step = ew.sub(ew.nextafter(x, away), x)
    return ew.select(ew.isinf(x), ew.full_like(x, np.nan), step)
