"""Heavy and extreme tails of ``jax.scipy.stats``: ``pareto``, ``gumbel_r`` and ``gumbel_l``
(``logpdf pdf cdf logcdf sf logsf ppf``, with ``loc`` and ``scale``).

Each tail is computed in the form that keeps its relative accuracy: Pareto's ``logsf`` is
``-b log z`` and its ``cdf`` ``-expm1(-b log z)``; Gumbel's ``logcdf`` is ``-exp(-z)`` and its
``sf`` ``-expm1(-exp(-z))`` (``gumbel_l`` mirrors ``gumbel_r`` about ``loc``).
"""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import floats, inside_or, log1mexp, namespace, standardized

# ---------------------------------------------------------------------------------- pareto


def _pareto_log_z(x, b, loc, scale):
    """``(log z, b, scale, z >= 1)``, ``z = (x - loc) / scale``, with ``log z`` taken at 1
    (``z = e``) off the support ``z >= 1``."""
    x, b, loc, scale = floats(x, b, loc, scale)
    z = (x - loc) / scale
    supported = z >= 1
    return fnp.log(fnp.where(supported, z, np.e)), b, scale, supported


def _pareto_logpdf(x, b, loc=0, scale=1):
    log_z, b, scale, supported = _pareto_log_z(x, b, loc, scale)
    return inside_or(supported, fnp.log(b) - (b + 1.0) * log_z - fnp.log(scale), -np.inf)


def _pareto_logsf(x, b, loc=0, scale=1):
    log_z, b, _, supported = _pareto_log_z(x, b, loc, scale)
    return inside_or(supported, -b * log_z, 0.0)


def _pareto_cdf(x, b, loc=0, scale=1):
    log_z, b, _, supported = _pareto_log_z(x, b, loc, scale)
    return inside_or(supported, -fnp.expm1(-b * log_z), 0.0)


def _pareto_logcdf(x, b, loc=0, scale=1):
    log_z, b, _, supported = _pareto_log_z(x, b, loc, scale)
    inside = supported & (log_z > 0)      # at z = 1 the CDF is 0
    return inside_or(inside, log1mexp(b * fnp.where(inside, log_z, 1.0)), -np.inf)


def _pareto_ppf(q, b, loc=0, scale=1):
    q, b, loc, scale = floats(q, b, loc, scale)
    inside = (q >= 0) & (q <= 1)
    safe_q = fnp.where(inside, q, 0.5)
    return inside_or(inside, loc + scale * fnp.exp(-fnp.log1p(-safe_q) / b), np.nan)


pareto = namespace(
    """The Pareto distribution with shape ``b`` on ``x >= loc + scale``:
    ``jax.scipy.stats.pareto`` (``logpdf pdf cdf logcdf sf logsf ppf`` of ``(x, b, loc=0,
    scale=1)``).

    >>> from funcgrad.scipy import stats
    >>> float(stats.pareto.sf(4.0, 2.0))      # 4**-2
    0.0625
    """,
    logpdf=_pareto_logpdf,
    pdf=lambda x, b, loc=0, scale=1: fnp.exp(_pareto_logpdf(x, b, loc, scale)),
    cdf=_pareto_cdf, logcdf=_pareto_logcdf,
    sf=lambda x, b, loc=0, scale=1: fnp.exp(_pareto_logsf(x, b, loc, scale)),
    logsf=_pareto_logsf, ppf=_pareto_ppf)


# ------------------------------------------------------------------------ gumbel_r, gumbel_l

def _gumbel_logpdf(z, scale):
    """The log-density of the right-skewed Gumbel at the standardized ``z``."""
    return -z - fnp.exp(-z) - fnp.log(scale)


def _gumbel_logsf(z):
    """``log(1 - exp(-exp(-z)))``: ``log1mexp`` of ``exp(-z)``."""
    return log1mexp(fnp.exp(-z))


def _gumbel_standard_ppf(p):
    """``-log(-log p)`` on [0, 1] (``-inf`` at 0, ``inf`` at 1), nan outside."""
    inside = (p >= 0) & (p <= 1)
    safe_p = fnp.where(inside, p, 0.5)
    return inside_or(inside, -fnp.log(-fnp.log(safe_p)), np.nan)


def _gumbel_l_standard_ppf(p):
    """``log(-log(1 - p))``, with ``log1p`` so that small p keep their digits."""
    inside = (p >= 0) & (p <= 1)
    safe_p = fnp.where(inside, p, 0.5)
    return inside_or(inside, fnp.log(-fnp.log1p(-safe_p)), np.nan)


def _gumbel_r_ppf(p, loc=0, scale=1):
    p, loc, scale = floats(p, loc, scale)
    return loc + scale * _gumbel_standard_ppf(p)


def _gumbel_l_ppf(p, loc=0, scale=1):
    p, loc, scale = floats(p, loc, scale)
    return loc + scale * _gumbel_l_standard_ppf(p)


def _z(x, loc, scale):
    return standardized(x, loc, scale)[0]


gumbel_r = namespace(
    """The right-skewed Gumbel (extreme value of maxima) distribution:
    ``jax.scipy.stats.gumbel_r`` (``logpdf pdf cdf logcdf sf logsf ppf``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.gumbel_r.cdf(0.0)), 12)      # exp(-1)
    0.367879441171
    """,
    logpdf=lambda x, loc=0, scale=1: _gumbel_logpdf(*standardized(x, loc, scale)),
    pdf=lambda x, loc=0, scale=1: fnp.exp(_gumbel_logpdf(*standardized(x, loc, scale))),
    cdf=lambda x, loc=0, scale=1: fnp.exp(-fnp.exp(-_z(x, loc, scale))),
    logcdf=lambda x, loc=0, scale=1: -fnp.exp(-_z(x, loc, scale)),
    sf=lambda x, loc=0, scale=1: -fnp.expm1(-fnp.exp(-_z(x, loc, scale))),
    logsf=lambda x, loc=0, scale=1: _gumbel_logsf(_z(x, loc, scale)),
    ppf=_gumbel_r_ppf)


def _gumbel_l_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return _gumbel_logpdf(-z, scale)


gumbel_l = namespace(
    """The left-skewed Gumbel (extreme value of minima) distribution, ``gumbel_r`` mirrored
    about ``loc``: ``jax.scipy.stats.gumbel_l`` (``logpdf pdf cdf logcdf sf logsf ppf``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.gumbel_l.sf(0.0)), 12)      # exp(-1)
    0.367879441171
    """,
    logpdf=_gumbel_l_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_gumbel_l_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: -fnp.expm1(-fnp.exp(_z(x, loc, scale))),
    logcdf=lambda x, loc=0, scale=1: _gumbel_logsf(-_z(x, loc, scale)),
    sf=lambda x, loc=0, scale=1: fnp.exp(-fnp.exp(_z(x, loc, scale))),
    logsf=lambda x, loc=0, scale=1: -fnp.exp(_z(x, loc, scale)),
    ppf=_gumbel_l_ppf)
