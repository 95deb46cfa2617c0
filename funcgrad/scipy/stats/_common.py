"""Helpers shared by the distributions of ``funcgrad.scipy.stats``: the namespaces, dtype
promotion, safe branches and the four tail functions from one pair of probabilities."""
from __future__ import annotations

import functools
import math
import types

import numpy as np

from ... import numpy as fnp
from ...core.array import returning_arrays as _returning_arrays
from ...core.trace import Tracer
from ...numpy._core import is_weak

HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
LOG_PI = math.log(math.pi)
LOG_TWO = math.log(2.0)


def namespace(doc: str, **functions):
    """A distribution: its functions (returning funcgrad arrays) under their SciPy names."""
    space = types.SimpleNamespace(**{name: _returning_arrays(fn)
                                     for name, fn in functions.items()})
    space.__doc__ = doc
    return space


def floats(*xs):
    """The operands in one floating dtype: that of the floating arrays among them, with Python
    numbers weak (``loc=0`` keeps a float32 x float32) and integer arrays (counts, numbers of
    trials) taking no part, as in JAX (``binom.pmf(int_k, 6, float32_p)`` is float32); float64
    if none is a floating array."""
    strong = [x for x in xs if not is_weak(x)]
    dtypes = [x.dtype if type(x) is Tracer else np.asarray(x).dtype for x in strong]
    floating = [dtype for dtype in dtypes if dtype.kind == "f"]
    dtype = np.result_type(*floating) if floating else np.dtype(np.float64)
    return [fnp.astype(x, dtype) if type(x) is Tracer and x.dtype != dtype
            else x if type(x) is Tracer else np.asarray(x, dtype) for x in xs]


def standardized(x, loc, scale):
    x, loc, scale = floats(x, loc, scale)
    return (x - loc) / scale, scale


def inside_or(condition, value, fill):
    """``value`` where ``condition`` holds, the constant ``fill`` elsewhere (in value's dtype)."""
    return fnp.where(condition, value, fill)


def log1mexp(minus_y):
    """``log(1 - exp(y))`` for y = -minus_y < 0: ``log(-expm1(y))`` near 0, ``log1p(-exp(y))``
    beyond log 2 (the split that keeps both accurate)."""
    return fnp.where(minus_y < LOG_TWO, fnp.log(-fnp.expm1(-minus_y)),
                     fnp.log1p(-fnp.exp(-minus_y)))


def symmetric_quantiles(standard_ppf):
    """``(ppf, isf)`` of a location-scale family symmetric about ``loc`` whose standard
    quantile function is ``standard_ppf``: ``isf(q)`` mirrors ``ppf(q)`` about ``loc``."""
    def ppf(q, loc=0, scale=1):
        q, loc, scale = floats(q, loc, scale)
        return loc + scale * standard_ppf(q)

    def isf(q, loc=0, scale=1):
        q, loc, scale = floats(q, loc, scale)
        return loc - scale * standard_ppf(q)
    return ppf, isf


def softplus(y):
    """``log(1 + exp(y))`` without overflow."""
    return fnp.maximum(y, 0.0) + fnp.log1p(fnp.exp(-fnp.abs(y)))


def log_pair(lower, upper):
    """``(log lower, log upper)`` of two probabilities that add up to 1, each from the smaller
    of the two: ``log`` of it, ``log1p`` of minus it (no ``log`` of a rounded ``1 - tiny``).
    The unused operand of each branch is a stand-in (1/2), so no inf reaches a derivative."""
    lower_is_smaller = lower < upper
    small_lower = fnp.where(lower_is_smaller, lower, 0.5)
    small_upper = fnp.where(lower_is_smaller, 0.5, upper)
    return (fnp.where(lower_is_smaller, fnp.log(small_lower), fnp.log1p(-small_upper)),
            fnp.where(lower_is_smaller, fnp.log1p(-small_lower), fnp.log(small_upper)))


def tails(probabilities):
    """``cdf``, ``sf``, ``logcdf`` and ``logsf`` from ``probabilities(*args) -> (lower,
    upper, below, above)``: both tails computed directly (at a stand-in inside the support
    where x is outside it), and where x is below or above the support (None: nowhere)."""
    def outside(value, below, below_value, above, above_value):
        if above is not None:
            value = fnp.where(above, above_value, value)
        return value if below is None else fnp.where(below, below_value, value)

    @functools.wraps(probabilities)
    def cdf(*args, **kwargs):
        lower, _, below, above = probabilities(*args, **kwargs)
        return outside(lower, below, 0.0, above, 1.0)

    @functools.wraps(probabilities)
    def sf(*args, **kwargs):
        _, upper, below, above = probabilities(*args, **kwargs)
        return outside(upper, below, 1.0, above, 0.0)

    @functools.wraps(probabilities)
    def logcdf(*args, **kwargs):
        lower, upper, below, above = probabilities(*args, **kwargs)
        return outside(log_pair(lower, upper)[0], below, -np.inf, above, 0.0)

    @functools.wraps(probabilities)
    def logsf(*args, **kwargs):
        lower, upper, below, above = probabilities(*args, **kwargs)
        return outside(log_pair(lower, upper)[1], below, 0.0, above, -np.inf)
    return {"cdf": cdf, "sf": sf, "logcdf": logcdf, "logsf": logsf}
