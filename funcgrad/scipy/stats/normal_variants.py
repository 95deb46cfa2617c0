"""Relatives of the normal distribution in ``jax.scipy.stats``: ``truncnorm`` (``logpdf pdf cdf
logcdf sf logsf``) and ``gennorm`` (``logpdf pdf cdf``), with ``loc`` and ``scale``.

``truncnorm``'s normalizer ``log(ndtr(b) - ndtr(a))`` and its tails are logarithms of
differences of normal CDFs, computed as ``log_ndtr(high) + log1mexp(log_ndtr(high) -
log_ndtr(low))`` in the lower half-line (reflected there when both ends are above 0), so they
keep their relative accuracy far in either tail (``a = 30, b = 31`` is fine).
"""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special as _special
from ._common import HALF_LOG_TWO_PI, LOG_TWO, floats, inside_or, log1mexp, namespace

# ------------------------------------------------------------------------------- truncnorm


def _log_normal_mass(low, high):
    """``log(ndtr(high) - ndtr(low))`` for ``low <= high`` (``-inf`` when they are equal):
    with both ends above 0 the mass is reflected to ``(-high, -low)``, so the two CDFs are
    always the small ones of their pairs."""
    reflect = low > 0
    low, high = fnp.where(reflect, -high, low), fnp.where(reflect, -low, high)
    log_high, log_low = _special.log_ndtr(high), _special.log_ndtr(low)
    return log_high + log1mexp(log_high - log_low)


def _truncnorm_parts(x, a, b, loc, scale):
    """``(z, a, b, scale, log Z, z_inside)``: the standardized ``z``, the normalizer's log and
    ``z`` moved to a point strictly between a and b where it is not (for the tails)."""
    x, a, b, loc, scale = floats(x, a, b, loc, scale)
    z = (x - loc) / scale
    finite_a, finite_b = fnp.isfinite(a), fnp.isfinite(b)
    middle = fnp.where(finite_a & finite_b, 0.5 * (a + b),
                       fnp.where(finite_a, a + 1.0, fnp.where(finite_b, b - 1.0, 0.0)))
    z_inside = fnp.where((z > a) & (z < b), z, middle)
    return z, a, b, scale, _log_normal_mass(a, b), z_inside


def _truncnorm_logpdf(x, a, b, loc=0, scale=1):
    z, a, b, scale, log_mass, _ = _truncnorm_parts(x, a, b, loc, scale)
    value = -0.5 * z * z - HALF_LOG_TWO_PI - fnp.log(scale) - log_mass
    return inside_or((z >= a) & (z <= b), value, -np.inf)


def _truncnorm_log_tails(x, a, b, loc, scale):
    """``(logcdf, logsf)``: each the log of its mass over the normalizer where it is the
    smaller tail, ``log1p`` of minus the other tail where it is above 1/2 (no logarithm of a
    rounded ``1 - tiny``)."""
    z, a, b, _, log_mass, z_inside = _truncnorm_parts(x, a, b, loc, scale)
    log_lower = _log_normal_mass(a, z_inside) - log_mass
    log_upper = _log_normal_mass(z_inside, b) - log_mass
    lower_is_smaller = log_lower < log_upper
    log_cdf = fnp.where(lower_is_smaller, log_lower, fnp.log1p(-fnp.exp(log_upper)))
    log_sf = fnp.where(lower_is_smaller, fnp.log1p(-fnp.exp(log_lower)), log_upper)
    below, above = z <= a, z >= b
    return (inside_or(below, -np.inf, inside_or(above, 0.0, log_cdf)),
            inside_or(below, 0.0, inside_or(above, -np.inf, log_sf)))


def _truncnorm_logcdf(x, a, b, loc=0, scale=1):
    return _truncnorm_log_tails(x, a, b, loc, scale)[0]


def _truncnorm_logsf(x, a, b, loc=0, scale=1):
    return _truncnorm_log_tails(x, a, b, loc, scale)[1]


truncnorm = namespace(
    """The normal distribution truncated to ``[a, b]`` (in standardized units: the support is
    ``[loc + a scale, loc + b scale]``): ``jax.scipy.stats.truncnorm`` (``logpdf pdf cdf
    logcdf sf logsf`` of ``(x, a, b, loc=0, scale=1)``; a and b may be infinite).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.truncnorm.cdf(0.0, -1.0, 1.0)), 12)
    0.5
    >>> round(float(stats.truncnorm.pdf(0.5, 0.0, float("inf"))), 12)   # twice the normal's
    0.704130653529
    """,
    logpdf=_truncnorm_logpdf,
    pdf=lambda x, a, b, loc=0, scale=1: fnp.exp(_truncnorm_logpdf(x, a, b, loc, scale)),
    cdf=lambda x, a, b, loc=0, scale=1: fnp.exp(_truncnorm_logcdf(x, a, b, loc, scale)),
    logcdf=_truncnorm_logcdf,
    sf=lambda x, a, b, loc=0, scale=1: fnp.exp(_truncnorm_logsf(x, a, b, loc, scale)),
    logsf=_truncnorm_logsf)


# --------------------------------------------------------------------------------- gennorm

def _gennorm_power(x, beta, loc, scale):
    """``(|z|**beta, beta, scale, z)`` with ``|z|`` taken at 1 where z = 0 (its power 0 is put
    back), so that no infinite derivative of ``|z|**beta`` at 0 reaches a gradient."""
    x, beta, loc, scale = floats(x, beta, loc, scale)
    z = (x - loc) / scale
    magnitude = fnp.abs(z)
    at_zero = magnitude == 0
    power = fnp.where(at_zero, 0.0, fnp.where(at_zero, 1.0, magnitude) ** beta)
    return power, beta, scale, z


def _gennorm_logpdf(x, beta, loc=0, scale=1):
    power, beta, scale, _ = _gennorm_power(x, beta, loc, scale)
    return (fnp.log(beta) - LOG_TWO - _special.gammaln(1.0 / beta) - power
            - fnp.log(scale))


def _gennorm_cdf(x, beta, loc=0, scale=1):
    """``1/2 Q(1/beta, |z|**beta)`` below loc and one minus it above (computed directly in the
    lower tail, so that its relative accuracy holds there)."""
    power, beta, _, z = _gennorm_power(x, beta, loc, scale)
    half_tail = 0.5 * _special.gammaincc(1.0 / beta, power)
    value = fnp.where(z < 0, half_tail, 1.0 - half_tail)
    # at z = 0 its first-order expansion 1/2 + z pdf(0), so that the derivative there is the
    # density (through |z|**beta it would be 0 times an infinite one)
    at_zero = 0.5 + z * fnp.exp(fnp.log(beta) - LOG_TWO - _special.gammaln(1.0 / beta))
    return fnp.where(z == 0, at_zero, value)


gennorm = namespace(
    """The generalized normal distribution with shape ``beta`` (2: the normal with variance
    1/2, 1: the Laplace): ``jax.scipy.stats.gennorm`` (``logpdf pdf cdf`` of ``(x, beta)``, and,
    as SciPy, ``loc`` and ``scale``; the CDF is differentiable in beta to first order).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.gennorm.pdf(0.0, 1.0)), 12)      # the Laplace: 1/2
    0.5
    """,
    logpdf=_gennorm_logpdf,
    pdf=lambda x, beta, loc=0, scale=1: fnp.exp(_gennorm_logpdf(x, beta, loc, scale)),
    cdf=_gennorm_cdf)
