"""``funcgrad.scipy.stats``: ``norm`` so far (``logpdf pdf cdf logcdf ppf sf logsf isf``, with
``loc`` and ``scale``), as ``jax.scipy.stats.norm``; differentiable in every argument."""
from __future__ import annotations

import math
import types

from .. import numpy as fnp
from ..core.array import returning_arrays as _returning_arrays
from . import special as _special

__all__ = ["norm"]

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def _standardized(x, loc, scale):
    x, loc, scale = _special._floats(x, loc, scale)
    return (x - loc) / scale, scale


def _logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    return -0.5 * z * z - fnp.log(scale) - _HALF_LOG_TWO_PI


def _pdf(x, loc=0, scale=1):
    return fnp.exp(_logpdf(x, loc, scale))


def _cdf(x, loc=0, scale=1):
    return _special.ndtr(_standardized(x, loc, scale)[0])


def _logcdf(x, loc=0, scale=1):
    return _special.log_ndtr(_standardized(x, loc, scale)[0])


def _sf(x, loc=0, scale=1):
    return _special.ndtr(-_standardized(x, loc, scale)[0])


def _logsf(x, loc=0, scale=1):
    return _special.log_ndtr(-_standardized(x, loc, scale)[0])


def _ppf(q, loc=0, scale=1):
    q, loc, scale = _special._floats(q, loc, scale)
    return loc + scale * _special.ndtri(q)


def _isf(q, loc=0, scale=1):
    q, loc, scale = _special._floats(q, loc, scale)
    return loc - scale * _special.ndtri(q)


norm = types.SimpleNamespace(**{
    name: _returning_arrays(fn) for name, fn in (
        ("logpdf", _logpdf), ("pdf", _pdf), ("cdf", _cdf), ("logcdf", _logcdf),
        ("sf", _sf), ("logsf", _logsf), ("ppf", _ppf), ("isf", _isf))})
norm.__doc__ = "The normal distribution: ``jax.scipy.stats.norm``'s functions."
