"""The continuous univariate distributions of ``jax.scipy.stats`` with ``loc`` and ``scale``
(norm, expon, laplace, logistic, cauchy, uniform, lognorm, gamma, chi2, beta, t)."""
from __future__ import annotations

import math

import numpy as np

from ... import numpy as fnp
from .. import special as _special
from ._common import (
    HALF_LOG_TWO_PI,
    LOG_PI,
    LOG_TWO,
    floats,
    inside_or,
    log1mexp,
    namespace,
    softplus,
    standardized,
    symmetric_quantiles,
    tails,
)

# ------------------------------------------------------------------------------------ norm

def _norm_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return -0.5 * z * z - fnp.log(scale) - HALF_LOG_TWO_PI


_norm_ppf, _norm_isf = symmetric_quantiles(_special.ndtri)


norm = namespace(
    """The normal distribution: ``jax.scipy.stats.norm``'s functions.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.norm.cdf(1.0, loc=1.0, scale=2.0)), 12)
    0.5
    """,
    logpdf=_norm_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_norm_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _special.ndtr(standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: _special.log_ndtr(standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _special.ndtr(-standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _special.log_ndtr(-standardized(x, loc, scale)[0]),
    ppf=_norm_ppf, isf=_norm_isf)


# ----------------------------------------------------------------------------------- expon

def _expon_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return inside_or(z >= 0, -z - fnp.log(scale), -np.inf)


def _expon_cdf(x, loc=0, scale=1):
    z, _ = standardized(x, loc, scale)
    return inside_or(z >= 0, -fnp.expm1(-fnp.maximum(z, 0.0)), 0.0)


def _expon_logcdf(x, loc=0, scale=1):
    z, _ = standardized(x, loc, scale)
    safe_z = fnp.where(z > 0, z, 1.0)
    return inside_or(z > 0, log1mexp(safe_z), -np.inf)


def _expon_logsf(x, loc=0, scale=1):
    z, _ = standardized(x, loc, scale)
    return inside_or(z >= 0, -z, 0.0)


def _expon_ppf(q, loc=0, scale=1):
    q, loc, scale = floats(q, loc, scale)
    return loc - scale * fnp.log1p(-q)


expon = namespace(
    """The exponential distribution (``scale`` is the mean): ``jax.scipy.stats.expon``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.expon.sf(2.0, scale=2.0)), 12)     # exp(-1)
    0.367879441171
    """,
    logpdf=_expon_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_expon_logpdf(x, loc, scale)),
    cdf=_expon_cdf, logcdf=_expon_logcdf,
    sf=lambda x, loc=0, scale=1: fnp.exp(_expon_logsf(x, loc, scale)),
    logsf=_expon_logsf, ppf=_expon_ppf)


# --------------------------------------------------------------------------------- laplace

def _laplace_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return -fnp.abs(z) - fnp.log(scale) - LOG_TWO


def _laplace_logcdf(x, loc=0, scale=1):
    z, _ = standardized(x, loc, scale)
    # below the median log(exp(z) / 2); above it log(1 - exp(-z) / 2)
    lower = fnp.minimum(z, 0.0) - LOG_TWO
    upper = fnp.log1p(-0.5 * fnp.exp(-fnp.maximum(z, 0.0)))
    return fnp.where(z < 0, lower, upper)


def _laplace_cdf(x, loc=0, scale=1):
    z, _ = standardized(x, loc, scale)
    half_tail = 0.5 * fnp.exp(-fnp.abs(z))
    return fnp.where(z < 0, half_tail, 1.0 - half_tail)


laplace = namespace(
    """The Laplace (double exponential) distribution: ``jax.scipy.stats.laplace``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.laplace.pdf(0.0)), 12)
    0.5
    """,
    logpdf=_laplace_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_laplace_logpdf(x, loc, scale)),
    cdf=_laplace_cdf, logcdf=_laplace_logcdf,
    # the distribution is symmetric about loc: sf(x) = cdf(2 loc - x)
    sf=lambda x, loc=0, scale=1: _laplace_cdf(-standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _laplace_logcdf(-standardized(x, loc, scale)[0]))


# -------------------------------------------------------------------------------- logistic

def _logistic_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    magnitude = fnp.abs(z)     # the density is symmetric; |z| keeps exp from overflowing
    return -magnitude - 2.0 * fnp.log1p(fnp.exp(-magnitude)) - fnp.log(scale)


_logistic_ppf, _logistic_isf = symmetric_quantiles(_special.logit)


logistic = namespace(
    """The logistic distribution: ``jax.scipy.stats.logistic``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.logistic.ppf(stats.logistic.cdf(0.7, 0.2, 1.5), 0.2, 1.5)), 12)
    0.7
    """,
    logpdf=_logistic_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_logistic_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _special.expit(standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: -softplus(-standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _special.expit(-standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: -softplus(standardized(x, loc, scale)[0]),
    ppf=_logistic_ppf, isf=_logistic_isf)


# ---------------------------------------------------------------------------------- cauchy

def _cauchy_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return -LOG_PI - fnp.log(scale) - fnp.log1p(z * z)


def _cauchy_lower_tail(z):
    """``1/2 + arctan(z) / pi``; for z < -1 as ``arctan(-1/z) / pi``, which keeps its relative
    accuracy in the far tail (where the first form cancels)."""
    far = z < -1.0
    safe_z = fnp.where(far, z, -1.0)
    return fnp.where(far, fnp.arctan(-1.0 / safe_z) / math.pi, 0.5 + fnp.arctan(z) / math.pi)


def _cauchy_log_lower_tail(z):
    """``log`` of the lower tail; above the median as ``log1p(-upper tail)``, accurate where
    the probability is close to 1."""
    return fnp.where(z > 0, fnp.log1p(-_cauchy_lower_tail(-z)), fnp.log(_cauchy_lower_tail(z)))


def _cauchy_standard_ppf(q):
    """``tan(pi (q - 1/2))``, as ``-1 / tan(pi q)`` below the median and ``1 / tan(pi (1 -
    q))`` above it (``1 - q`` is exact there), so tiny tail probabilities keep their digits;
    -inf at 0, inf at 1, nan outside [0, 1]."""
    tail = fnp.where(q < 0.5, q, 1.0 - q)
    inside = (tail > 0) & (tail <= 0.5)
    safe_tail = fnp.where(inside, tail, 0.25)
    magnitude = 1.0 / fnp.tan(math.pi * safe_tail)
    value = fnp.where(q < 0.5, -magnitude, magnitude)
    # (of Python floats alone a float64 array: cast, or it would promote float32 quantiles)
    infinite = fnp.where(q == 0, -np.inf, fnp.where(q == 1, np.inf, np.nan)).astype(value.dtype)
    return fnp.where(inside, value, infinite)


_cauchy_ppf, _cauchy_isf = symmetric_quantiles(_cauchy_standard_ppf)


cauchy = namespace(
    """The Cauchy distribution: ``jax.scipy.stats.cauchy``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.cauchy.cdf(3.0, loc=1.0, scale=2.0)), 12)    # 1/2 + arctan(1) / pi
    0.75
    """,
    logpdf=_cauchy_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_cauchy_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _cauchy_lower_tail(standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: _cauchy_log_lower_tail(standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _cauchy_lower_tail(-standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _cauchy_log_lower_tail(-standardized(x, loc, scale)[0]),
    ppf=_cauchy_ppf, isf=_cauchy_isf)


# --------------------------------------------------------------------------------- uniform

def _uniform_logpdf(x, loc=0, scale=1):
    z, scale = standardized(x, loc, scale)
    return inside_or((z >= 0) & (z <= 1), -fnp.log(scale), -np.inf)


def _uniform_ppf(q, loc=0, scale=1):
    q, loc, scale = floats(q, loc, scale)
    return inside_or((q >= 0) & (q <= 1), loc + q * scale, np.nan)


uniform = namespace(
    """The uniform distribution on ``[loc, loc + scale]``: ``jax.scipy.stats.uniform``.

    >>> from funcgrad.scipy import stats
    >>> float(stats.uniform.cdf(2.0, loc=1.0, scale=4.0))
    0.25
    """,
    logpdf=_uniform_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_uniform_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: fnp.clip(standardized(x, loc, scale)[0], 0.0, 1.0),
    ppf=_uniform_ppf)


# --------------------------------------------------------------------------------- lognorm

def _lognorm_log_z(x, s, loc, scale):
    """``(log z, s, scale, z > 0)`` with ``log z`` taken at 1 where z <= 0."""
    x, s, loc, scale = floats(x, s, loc, scale)
    z = (x - loc) / scale
    positive = z > 0
    return fnp.log(fnp.where(positive, z, 1.0)), s, scale, positive


def _lognorm_logpdf(x, s, loc=0, scale=1):
    log_z, s, scale, positive = _lognorm_log_z(x, s, loc, scale)
    u = log_z / s
    value = -0.5 * u * u - log_z - fnp.log(s) - fnp.log(scale) - HALF_LOG_TWO_PI
    return inside_or(positive, value, -np.inf)


def _lognorm_cdf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return inside_or(positive, _special.ndtr(log_z / s), 0.0)


def _lognorm_logcdf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return inside_or(positive, _special.log_ndtr(log_z / s), -np.inf)


def _lognorm_sf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return inside_or(positive, _special.ndtr(-log_z / s), 1.0)


def _lognorm_logsf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return inside_or(positive, _special.log_ndtr(-log_z / s), 0.0)


lognorm = namespace(
    """The log-normal distribution (``log((x - loc) / scale)`` is normal with standard
    deviation ``s``): ``jax.scipy.stats.lognorm``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.lognorm.cdf(3.0, 0.5, scale=3.0)), 12)    # the median is scale
    0.5
    """,
    logpdf=_lognorm_logpdf,
    pdf=lambda x, s, loc=0, scale=1: fnp.exp(_lognorm_logpdf(x, s, loc, scale)),
    cdf=_lognorm_cdf, logcdf=_lognorm_logcdf, sf=_lognorm_sf, logsf=_lognorm_logsf)


# ------------------------------------------------------------ gamma, chi2, beta and Student t

def _gamma_logpdf(x, a, loc=0, scale=1):
    x, a, loc, scale = floats(x, a, loc, scale)
    z = (x - loc) / scale
    supported = z >= 0
    safe_z = fnp.where(supported, z, 1.0)
    value = _special.xlogy(a - 1.0, safe_z) - safe_z - _special.gammaln(a) - fnp.log(scale)
    return inside_or(supported, value, -np.inf)


def _gamma_probabilities(x, a, loc=0, scale=1):
    """``P(a, z)`` and ``Q(a, z)``, ``z = (x - loc) / scale`` (the support: z > 0)."""
    x, a, loc, scale = floats(x, a, loc, scale)
    z = (x - loc) / scale
    below = z <= 0
    safe_z = fnp.where(below, 1.0, z)
    return _special.gammainc(a, safe_z), _special.gammaincc(a, safe_z), below, None


gamma = namespace(
    """The gamma distribution with shape ``a``: ``jax.scipy.stats.gamma`` (``logpdf pdf cdf
    logcdf sf logsf``; the CDFs are differentiable in x, loc and scale, in a to first order).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.gamma.pdf(1.0, 1.0)), 12)     # a = 1: the exponential
    0.367879441171
    >>> round(float(stats.gamma.sf(2.0, 1.0)), 12)      # exp(-2)
    0.135335283237
    """,
    logpdf=_gamma_logpdf,
    pdf=lambda x, a, loc=0, scale=1: fnp.exp(_gamma_logpdf(x, a, loc, scale)),
    **tails(_gamma_probabilities))


def _chi2_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = floats(x, df, loc, scale)
    # chi2(df) is gamma(df / 2) with scale 2
    return _gamma_logpdf(x, 0.5 * df, loc, 2.0 * scale)


def _chi2_probabilities(x, df, loc=0, scale=1):
    x, df, loc, scale = floats(x, df, loc, scale)
    return _gamma_probabilities(x, 0.5 * df, loc, 2.0 * scale)


chi2 = namespace(
    """The chi-squared distribution with ``df`` degrees of freedom: ``jax.scipy.stats.chi2``
    (``logpdf pdf cdf logcdf sf logsf``; the CDFs are differentiable in df to first order).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.chi2.pdf(2.0, 2)), 12)      # exp(-x / 2) / 2
    0.183939720586
    >>> round(float(stats.chi2.cdf(2.0, 2)), 12)      # 1 - exp(-x / 2)
    0.632120558829
    """,
    logpdf=_chi2_logpdf,
    pdf=lambda x, df, loc=0, scale=1: fnp.exp(_chi2_logpdf(x, df, loc, scale)),
    **tails(_chi2_probabilities))


def _beta_logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = floats(x, a, b, loc, scale)
    z = (x - loc) / scale
    supported = (z >= 0) & (z <= 1)
    safe_z = fnp.where(supported, z, 0.5)
    value = (_special.xlogy(a - 1.0, safe_z) + _special.xlog1py(b - 1.0, -safe_z)
             - _special.betaln(a, b) - fnp.log(scale))
    return inside_or(supported, value, -np.inf)


def _beta_probabilities(x, a, b, loc=0, scale=1):
    """``I_z(a, b)`` and ``1 - I_z(a, b)``, ``z = (x - loc) / scale`` (the support: 0 < z <
    1)."""
    x, a, b, loc, scale = floats(x, a, b, loc, scale)
    z = (x - loc) / scale
    below, above = z <= 0, z >= 1
    safe_z = fnp.where(below | above, 0.5, z)
    return _special.betainc(a, b, safe_z), _special.betaincc(a, b, safe_z), below, above


beta = namespace(
    """The beta distribution on ``[loc, loc + scale]``: ``jax.scipy.stats.beta`` (``logpdf
    pdf cdf logcdf sf logsf``; the CDFs are differentiable in a and b to first order).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.beta.pdf(0.5, 2.0, 2.0)), 12)      # 6 x (1 - x)
    1.5
    >>> round(float(stats.beta.cdf(0.5, 2.0, 3.0)), 12)      # 11/16
    0.6875
    """,
    logpdf=_beta_logpdf,
    pdf=lambda x, a, b, loc=0, scale=1: fnp.exp(_beta_logpdf(x, a, b, loc, scale)),
    **tails(_beta_probabilities))


def _t_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = floats(x, df, loc, scale)
    z = (x - loc) / scale
    half_df_plus_half = 0.5 * (df + 1.0)
    return (_special.gammaln(half_df_plus_half) - _special.gammaln(0.5 * df)
            - 0.5 * (fnp.log(df) + LOG_PI) - fnp.log(scale)
            - half_df_plus_half * fnp.log1p(z * z / df))


def _t_probabilities(x, df, loc=0, scale=1):
    """The two tails from ``P(T < -|z|) = I_w(df/2, 1/2) / 2`` with ``w = df / (df + z^2)``,
    or, where ``z^2 < df``, ``(1 - I_y(1/2, df/2)) / 2`` with ``y = z^2 / (df + z^2)`` (the
    smaller of the two is given, so neither is a rounded ``1 - tiny``). ``z = 0`` is moved by a
    ``tiny**(1/4)`` of its dtype (the value stays 1/2): there ``y`` is 0, where the
    x-derivative of ``I_y`` is infinite and ``dy/dz`` zero."""
    x, df, loc, scale = floats(x, df, loc, scale)
    z = (x - loc) / scale
    nudge = np.asarray(np.finfo(z.dtype).tiny ** 0.25, z.dtype)
    z = z + fnp.where(z == 0, nudge, np.zeros((), z.dtype))
    square = z * z
    near = square < df
    y = fnp.where(near, square / (df + square), 0.5)
    w = fnp.where(near, 0.5, df / (df + square))
    half = np.asarray(0.5, z.dtype)
    tail = 0.5 * fnp.where(near, _special.betaincc(half, half * df, y),
                           _special.betainc(half * df, half, w))
    negative = z < 0
    return (fnp.where(negative, tail, 1.0 - tail), fnp.where(negative, 1.0 - tail, tail),
            None, None)


t = namespace(
    """Student's t distribution with ``df`` degrees of freedom: ``jax.scipy.stats.t``
    (``logpdf pdf cdf logcdf sf logsf``; the CDFs are differentiable in df to first order).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.t.pdf(0.0, 1.0)), 12)     # df = 1: the Cauchy, 1 / pi
    0.318309886184
    >>> round(float(stats.t.cdf(1.0, 1.0)), 12)     # 1/2 + atan(1) / pi
    0.75
    """,
    logpdf=_t_logpdf,
    pdf=lambda x, df, loc=0, scale=1: fnp.exp(_t_logpdf(x, df, loc, scale)),
    **tails(_t_probabilities))
