"""``funcgrad.scipy.stats``: the distributions of ``jax.scipy.stats``, differentiable in every
argument (the CDFs of gamma, chi2, beta and t in their shape parameters to first order) and
traceable (``grad``, ``jit``, ``vmap``).

Each distribution is a namespace of functions with SciPy's (and JAX's) signatures, broadcasting
as NumPy does:

- continuous, with ``loc`` and ``scale``: ``norm`` (``logpdf pdf cdf logcdf sf logsf ppf
  isf``), ``expon`` (``logpdf pdf cdf logcdf sf logsf ppf``), ``laplace`` (``logpdf pdf cdf
  logcdf sf logsf``), ``logistic`` and ``cauchy`` (``logpdf pdf cdf logcdf sf logsf ppf isf``),
  ``uniform`` (``logpdf pdf cdf ppf``), ``lognorm(x, s)`` (``logpdf pdf cdf logcdf sf logsf``),
  and ``gamma(x, a)``, ``beta(x, a, b)``, ``t(x, df)``, ``chi2(x, df)`` (``logpdf pdf cdf
  logcdf sf logsf``: the CDFs are the incomplete gamma and beta functions, differentiable in
  x, loc and scale to any order, in the shape parameters to first order: a second derivative
  there raises ``TypeError``);
- discrete, with ``loc``: ``poisson(k, mu)`` (``logpmf pmf cdf sf logcdf logsf``) and
  ``bernoulli(k, p)`` (``logpmf pmf cdf ppf``);
- multivariate: ``multivariate_normal.logpdf/pdf(x, mean, cov)`` (x and mean ``(..., d)``, cov
  ``(..., d, d)`` positive definite, or a scalar variance) and ``dirichlet.logpdf/pdf(x,
  alpha)`` (x of shape ``(K, ...)`` or ``(K - 1, ...)``, alpha ``(K,)``, as SciPy).

Outside the support a log-density is ``-inf`` (a density 0) with derivative 0: every branch is
evaluated at a safe stand-in where it is not used, so no nan reaches a gradient. Integer inputs
are computed as float64. A CDF and its complement (``sf``) are each computed directly, so both
keep their relative accuracy in their tails, and ``logcdf``/``logsf`` are ``log`` of the smaller
of the pair or ``log1p`` of minus it. ``poisson``'s CDFs are ``Q(floor(k - loc) + 1, mu)`` and
``P(...)``: ``k`` may be traced, with the derivative 0 of a step.

>>> import funcgrad as fg
>>> from funcgrad.scipy import stats
>>> round(float(stats.gamma.logpdf(2.0, 3.0)), 12)       # log(2**2 e**-2 / 2)
-1.30685281944
>>> round(float(fg.grad(stats.poisson.logpmf, argnums=1)(3, 2.0)), 12)   # k / mu - 1
0.5
"""
from __future__ import annotations

import functools
import math
import types

import numpy as np

from .. import numpy as fnp
from ..core.array import returning_arrays as _returning_arrays
from ..core.trace import Tracer
from ..numpy._core import is_weak
from ..ops.special import stop_gradient as _stop_gradient
from . import special as _special

__all__ = ["bernoulli", "beta", "cauchy", "chi2", "dirichlet", "expon", "gamma", "laplace",
           "logistic", "lognorm", "multivariate_normal", "norm", "poisson", "t", "uniform"]

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)
_LOG_TWO = math.log(2.0)


def _namespace(doc: str, **functions):
    """A distribution: its functions (returning funcgrad arrays) under their SciPy names."""
    space = types.SimpleNamespace(**{name: _returning_arrays(fn)
                                     for name, fn in functions.items()})
    space.__doc__ = doc
    return space


def _floats(*xs):
    """The operands in one floating dtype: that of the arrays among them, with Python numbers
    weak (``loc=0`` keeps a float32 x float32), float64 if none is a floating array."""
    strong = [x for x in xs if not is_weak(x)]
    dtypes = [x.dtype if type(x) is Tracer else np.asarray(x).dtype for x in strong]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return [fnp.astype(x, dtype) if type(x) is Tracer and x.dtype != dtype
            else x if type(x) is Tracer else np.asarray(x, dtype) for x in xs]


def _standardized(x, loc, scale):
    x, loc, scale = _floats(x, loc, scale)
    return (x - loc) / scale, scale


def _inside(condition, value, fill):
    """``value`` where ``condition`` holds, the constant ``fill`` elsewhere (in value's dtype)."""
    return fnp.where(condition, value, fill)


def _log1mexp(minus_y):
    """``log(1 - exp(y))`` for y = -minus_y < 0: ``log(-expm1(y))`` near 0, ``log1p(-exp(y))``
    beyond log 2 (the split that keeps both accurate)."""
    return fnp.where(minus_y < _LOG_TWO, fnp.log(-fnp.expm1(-minus_y)),
                     fnp.log1p(-fnp.exp(-minus_y)))


def _symmetric_quantiles(standard_ppf):
    """``(ppf, isf)`` of a location-scale family symmetric about ``loc`` whose standard
    quantile function is ``standard_ppf``: ``isf(q)`` mirrors ``ppf(q)`` about ``loc``."""
    def ppf(q, loc=0, scale=1):
        q, loc, scale = _floats(q, loc, scale)
        return loc + scale * standard_ppf(q)

    def isf(q, loc=0, scale=1):
        q, loc, scale = _floats(q, loc, scale)
        return loc - scale * standard_ppf(q)
    return ppf, isf


def _softplus(y):
    """``log(1 + exp(y))`` without overflow."""
    return fnp.maximum(y, 0.0) + fnp.log1p(fnp.exp(-fnp.abs(y)))


def _log_pair(lower, upper):
    """``(log lower, log upper)`` of two probabilities that add up to 1, each from the smaller
    of the two: ``log`` of it, ``log1p`` of minus it (no ``log`` of a rounded ``1 - tiny``).
    The unused operand of each branch is a stand-in (1/2), so no inf reaches a derivative."""
    lower_is_smaller = lower < upper
    small_lower = fnp.where(lower_is_smaller, lower, 0.5)
    small_upper = fnp.where(lower_is_smaller, 0.5, upper)
    return (fnp.where(lower_is_smaller, fnp.log(small_lower), fnp.log1p(-small_upper)),
            fnp.where(lower_is_smaller, fnp.log1p(-small_lower), fnp.log(small_upper)))


def _tails(probabilities):
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
        return outside(_log_pair(lower, upper)[0], below, -np.inf, above, 0.0)

    @functools.wraps(probabilities)
    def logsf(*args, **kwargs):
        lower, upper, below, above = probabilities(*args, **kwargs)
        return outside(_log_pair(lower, upper)[1], below, 0.0, above, -np.inf)
    return {"cdf": cdf, "sf": sf, "logcdf": logcdf, "logsf": logsf}


# ------------------------------------------------------------------------------------ norm

def _norm_logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    return -0.5 * z * z - fnp.log(scale) - _HALF_LOG_TWO_PI


_norm_ppf, _norm_isf = _symmetric_quantiles(_special.ndtri)


norm = _namespace(
    """The normal distribution: ``jax.scipy.stats.norm``'s functions.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.norm.cdf(1.0, loc=1.0, scale=2.0)), 12)
    0.5
    """,
    logpdf=_norm_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_norm_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _special.ndtr(_standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: _special.log_ndtr(_standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _special.ndtr(-_standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _special.log_ndtr(-_standardized(x, loc, scale)[0]),
    ppf=_norm_ppf, isf=_norm_isf)


# ----------------------------------------------------------------------------------- expon

def _expon_logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    return _inside(z >= 0, -z - fnp.log(scale), -np.inf)


def _expon_cdf(x, loc=0, scale=1):
    z, _ = _standardized(x, loc, scale)
    return _inside(z >= 0, -fnp.expm1(-fnp.maximum(z, 0.0)), 0.0)


def _expon_logcdf(x, loc=0, scale=1):
    z, _ = _standardized(x, loc, scale)
    safe_z = fnp.where(z > 0, z, 1.0)
    return _inside(z > 0, _log1mexp(safe_z), -np.inf)


def _expon_logsf(x, loc=0, scale=1):
    z, _ = _standardized(x, loc, scale)
    return _inside(z >= 0, -z, 0.0)


def _expon_ppf(q, loc=0, scale=1):
    q, loc, scale = _floats(q, loc, scale)
    return loc - scale * fnp.log1p(-q)


expon = _namespace(
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
    z, scale = _standardized(x, loc, scale)
    return -fnp.abs(z) - fnp.log(scale) - _LOG_TWO


def _laplace_logcdf(x, loc=0, scale=1):
    z, _ = _standardized(x, loc, scale)
    # below the median log(exp(z) / 2); above it log(1 - exp(-z) / 2)
    lower = fnp.minimum(z, 0.0) - _LOG_TWO
    upper = fnp.log1p(-0.5 * fnp.exp(-fnp.maximum(z, 0.0)))
    return fnp.where(z < 0, lower, upper)


def _laplace_cdf(x, loc=0, scale=1):
    z, _ = _standardized(x, loc, scale)
    half_tail = 0.5 * fnp.exp(-fnp.abs(z))
    return fnp.where(z < 0, half_tail, 1.0 - half_tail)


laplace = _namespace(
    """The Laplace (double exponential) distribution: ``jax.scipy.stats.laplace``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.laplace.pdf(0.0)), 12)
    0.5
    """,
    logpdf=_laplace_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_laplace_logpdf(x, loc, scale)),
    cdf=_laplace_cdf, logcdf=_laplace_logcdf,
    # the distribution is symmetric about loc: sf(x) = cdf(2 loc - x)
    sf=lambda x, loc=0, scale=1: _laplace_cdf(-_standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _laplace_logcdf(-_standardized(x, loc, scale)[0]))


# -------------------------------------------------------------------------------- logistic

def _logistic_logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    magnitude = fnp.abs(z)     # the density is symmetric; |z| keeps exp from overflowing
    return -magnitude - 2.0 * fnp.log1p(fnp.exp(-magnitude)) - fnp.log(scale)


_logistic_ppf, _logistic_isf = _symmetric_quantiles(_special.logit)


logistic = _namespace(
    """The logistic distribution: ``jax.scipy.stats.logistic``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.logistic.ppf(stats.logistic.cdf(0.7, 0.2, 1.5), 0.2, 1.5)), 12)
    0.7
    """,
    logpdf=_logistic_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_logistic_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _special.expit(_standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: -_softplus(-_standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _special.expit(-_standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: -_softplus(_standardized(x, loc, scale)[0]),
    ppf=_logistic_ppf, isf=_logistic_isf)


# ---------------------------------------------------------------------------------- cauchy

def _cauchy_logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    return -_LOG_PI - fnp.log(scale) - fnp.log1p(z * z)


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


_cauchy_ppf, _cauchy_isf = _symmetric_quantiles(_cauchy_standard_ppf)


cauchy = _namespace(
    """The Cauchy distribution: ``jax.scipy.stats.cauchy``.

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.cauchy.cdf(3.0, loc=1.0, scale=2.0)), 12)    # 1/2 + arctan(1) / pi
    0.75
    """,
    logpdf=_cauchy_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_cauchy_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: _cauchy_lower_tail(_standardized(x, loc, scale)[0]),
    logcdf=lambda x, loc=0, scale=1: _cauchy_log_lower_tail(_standardized(x, loc, scale)[0]),
    sf=lambda x, loc=0, scale=1: _cauchy_lower_tail(-_standardized(x, loc, scale)[0]),
    logsf=lambda x, loc=0, scale=1: _cauchy_log_lower_tail(-_standardized(x, loc, scale)[0]),
    ppf=_cauchy_ppf, isf=_cauchy_isf)


# --------------------------------------------------------------------------------- uniform

def _uniform_logpdf(x, loc=0, scale=1):
    z, scale = _standardized(x, loc, scale)
    return _inside((z >= 0) & (z <= 1), -fnp.log(scale), -np.inf)


def _uniform_ppf(q, loc=0, scale=1):
    q, loc, scale = _floats(q, loc, scale)
    return _inside((q >= 0) & (q <= 1), loc + q * scale, np.nan)


uniform = _namespace(
    """The uniform distribution on ``[loc, loc + scale]``: ``jax.scipy.stats.uniform``.

    >>> from funcgrad.scipy import stats
    >>> float(stats.uniform.cdf(2.0, loc=1.0, scale=4.0))
    0.25
    """,
    logpdf=_uniform_logpdf,
    pdf=lambda x, loc=0, scale=1: fnp.exp(_uniform_logpdf(x, loc, scale)),
    cdf=lambda x, loc=0, scale=1: fnp.clip(_standardized(x, loc, scale)[0], 0.0, 1.0),
    ppf=_uniform_ppf)


# --------------------------------------------------------------------------------- lognorm

def _lognorm_log_z(x, s, loc, scale):
    """``(log z, s, scale, z > 0)`` with ``log z`` taken at 1 where z <= 0."""
    x, s, loc, scale = _floats(x, s, loc, scale)
    z = (x - loc) / scale
    positive = z > 0
    return fnp.log(fnp.where(positive, z, 1.0)), s, scale, positive


def _lognorm_logpdf(x, s, loc=0, scale=1):
    log_z, s, scale, positive = _lognorm_log_z(x, s, loc, scale)
    u = log_z / s
    value = -0.5 * u * u - log_z - fnp.log(s) - fnp.log(scale) - _HALF_LOG_TWO_PI
    return _inside(positive, value, -np.inf)


def _lognorm_cdf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return _inside(positive, _special.ndtr(log_z / s), 0.0)


def _lognorm_logcdf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return _inside(positive, _special.log_ndtr(log_z / s), -np.inf)


def _lognorm_sf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return _inside(positive, _special.ndtr(-log_z / s), 1.0)


def _lognorm_logsf(x, s, loc=0, scale=1):
    log_z, s, _, positive = _lognorm_log_z(x, s, loc, scale)
    return _inside(positive, _special.log_ndtr(-log_z / s), 0.0)


lognorm = _namespace(
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
    x, a, loc, scale = _floats(x, a, loc, scale)
    z = (x - loc) / scale
    supported = z >= 0
    safe_z = fnp.where(supported, z, 1.0)
    value = _special.xlogy(a - 1.0, safe_z) - safe_z - _special.gammaln(a) - fnp.log(scale)
    return _inside(supported, value, -np.inf)


def _gamma_probabilities(x, a, loc=0, scale=1):
    """``P(a, z)`` and ``Q(a, z)``, ``z = (x - loc) / scale`` (the support: z > 0)."""
    x, a, loc, scale = _floats(x, a, loc, scale)
    z = (x - loc) / scale
    below = z <= 0
    safe_z = fnp.where(below, 1.0, z)
    return _special.gammainc(a, safe_z), _special.gammaincc(a, safe_z), below, None


gamma = _namespace(
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
    **_tails(_gamma_probabilities))


def _chi2_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = _floats(x, df, loc, scale)
    # chi2(df) is gamma(df / 2) with scale 2
    return _gamma_logpdf(x, 0.5 * df, loc, 2.0 * scale)


def _chi2_probabilities(x, df, loc=0, scale=1):
    x, df, loc, scale = _floats(x, df, loc, scale)
    return _gamma_probabilities(x, 0.5 * df, loc, 2.0 * scale)


chi2 = _namespace(
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
    **_tails(_chi2_probabilities))


def _beta_logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = _floats(x, a, b, loc, scale)
    z = (x - loc) / scale
    supported = (z >= 0) & (z <= 1)
    safe_z = fnp.where(supported, z, 0.5)
    value = (_special.xlogy(a - 1.0, safe_z) + _special.xlog1py(b - 1.0, -safe_z)
             - _special.betaln(a, b) - fnp.log(scale))
    return _inside(supported, value, -np.inf)


def _beta_probabilities(x, a, b, loc=0, scale=1):
    """``I_z(a, b)`` and ``1 - I_z(a, b)``, ``z = (x - loc) / scale`` (the support: 0 < z <
    1)."""
    x, a, b, loc, scale = _floats(x, a, b, loc, scale)
    z = (x - loc) / scale
    below, above = z <= 0, z >= 1
    safe_z = fnp.where(below | above, 0.5, z)
    return _special.betainc(a, b, safe_z), _special.betaincc(a, b, safe_z), below, above


beta = _namespace(
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
    **_tails(_beta_probabilities))


def _t_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = _floats(x, df, loc, scale)
    z = (x - loc) / scale
    half_df_plus_half = 0.5 * (df + 1.0)
    return (_special.gammaln(half_df_plus_half) - _special.gammaln(0.5 * df)
            - 0.5 * (fnp.log(df) + _LOG_PI) - fnp.log(scale)
            - half_df_plus_half * fnp.log1p(z * z / df))


def _t_probabilities(x, df, loc=0, scale=1):
    """The two tails from ``P(T < -|z|) = I_w(df/2, 1/2) / 2`` with ``w = df / (df + z^2)``,
    or, where ``z^2 < df``, ``(1 - I_y(1/2, df/2)) / 2`` with ``y = z^2 / (df + z^2)`` (the
    smaller of the two is given, so neither is a rounded ``1 - tiny``). ``z = 0`` is moved by a
    ``tiny**(1/4)`` of its dtype (the value stays 1/2): there ``y`` is 0, where the
    x-derivative of ``I_y`` is infinite and ``dy/dz`` zero."""
    x, df, loc, scale = _floats(x, df, loc, scale)
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


t = _namespace(
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
    **_tails(_t_probabilities))


# -------------------------------------------------------------------- poisson and bernoulli

def _shifted_count(k, loc, *params):
    """``k - loc`` and the parameters as floats, and where ``k - loc`` is a whole number."""
    k, loc, *params = _floats(k, loc, *params)
    count = k - loc
    return count, fnp.floor(count) == count, params


def _poisson_logpmf(k, mu, loc=0):
    count, whole, (mu,) = _shifted_count(k, loc, mu)
    supported = whole & (count >= 0)
    safe_count = fnp.where(supported, count, 0.0)
    value = _special.xlogy(safe_count, mu) - _special.gammaln(safe_count + 1.0) - mu
    return _inside(supported, value, -np.inf)


def _poisson_probabilities(k, mu, loc=0):
    """``P(X <= k) = Q(floor(k - loc) + 1, mu)`` and ``P(X > k) = P(floor(k - loc) + 1,
    mu)``; the count is a step function of k and loc (derivative zero, as JAX's)."""
    (mu,) = _floats(mu)
    k, loc = _floats(k, loc)
    count = fnp.astype(fnp.floor(k - loc), mu.dtype)
    below = count < 0
    shape = _stop_gradient(fnp.where(below, 0.0, count) + 1.0)
    return _special.gammaincc(shape, mu), _special.gammainc(shape, mu), below, None


poisson = _namespace(
    """The Poisson distribution with mean ``mu``: ``jax.scipy.stats.poisson`` (``logpmf pmf
    cdf``, and ``sf logcdf logsf``; the CDFs are the incomplete gamma functions of
    ``floor(k - loc) + 1`` and ``mu``, differentiable in ``mu``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.poisson.cdf(1, 2.0)), 12)      # 3 exp(-2)
    0.40600584971
    """,
    logpmf=_poisson_logpmf,
    pmf=lambda k, mu, loc=0: fnp.exp(_poisson_logpmf(k, mu, loc)),
    **_tails(_poisson_probabilities))


def _bernoulli_logpmf(k, p, loc=0):
    count, _, (p,) = _shifted_count(k, loc, p)
    one, zero = count == 1, count == 0
    safe_p = fnp.where(one | zero, p, 0.5)
    value = fnp.where(one, fnp.log(safe_p), fnp.log1p(-safe_p))
    return _inside(one | zero, value, -np.inf)


def _bernoulli_cdf(k, p, loc=0):
    count, _, (p,) = _shifted_count(k, loc, p)
    return fnp.where(count < 0, 0.0, fnp.where(count < 1, 1.0 - p, 1.0))


def _bernoulli_ppf(q, p, loc=0):
    q, p, loc = _floats(q, p, loc)
    # SciPy's convention: the support's ends -1 and 1 at q = 0 and 1, nan outside [0, 1]
    count = fnp.where(q == 0, -1.0, fnp.where((q <= 1.0 - p) & (q < 1), 0.0, 1.0))
    return _inside((q >= 0) & (q <= 1), count + loc, np.nan)


bernoulli = _namespace(
    """The Bernoulli distribution, 1 with probability ``p``: ``jax.scipy.stats.bernoulli``.

    >>> from funcgrad.scipy import stats
    >>> float(stats.bernoulli.pmf(0, 0.25))
    0.75
    """,
    logpmf=_bernoulli_logpmf,
    pmf=lambda k, p, loc=0: fnp.exp(_bernoulli_logpmf(k, p, loc)),
    cdf=_bernoulli_cdf, ppf=_bernoulli_ppf)


# ------------------------------------------------------------ multivariate_normal, dirichlet

def _multivariate_normal_logpdf(x, mean, cov):
    x, mean, cov = _floats(x, mean, cov)
    if not fnp.ndim(mean):      # one dimension: the normal distribution with variance cov
        return _norm_logpdf(x, mean, fnp.sqrt(cov))
    dimension = fnp.shape(mean)[-1]
    difference = x - mean
    if not fnp.ndim(cov):      # a scalar variance: cov times the identity
        squared = fnp.sum(difference * difference, axis=-1) / cov
        return -0.5 * squared - dimension * (_HALF_LOG_TWO_PI + 0.5 * fnp.log(cov))
    if fnp.ndim(cov) < 2 or tuple(fnp.shape(cov)[-2:]) != (dimension, dimension):
        raise ValueError(f"multivariate_normal.logpdf: cov must have shape (..., {dimension}, "
                         f"{dimension}) for a mean of shape {tuple(fnp.shape(mean))}, got "
                         f"{tuple(fnp.shape(cov))}")
    # cov = L L^T: the quadratic form is |L^-1 (x - mean)|^2, log det cov = 2 sum log diag L
    lower = fnp.linalg.cholesky(cov)
    batch = np.broadcast_shapes(tuple(fnp.shape(difference))[:-1],
                                tuple(fnp.shape(lower))[:-2])
    lower = fnp.broadcast_to(lower, batch + (dimension, dimension))
    difference = fnp.broadcast_to(difference, batch + (dimension,))
    whitened = fnp.linalg.solve(lower, fnp.expand_dims(difference, -1))[..., 0]
    half_log_det = fnp.sum(fnp.log(fnp.diagonal(lower, axis1=-2, axis2=-1)), axis=-1)
    return (-0.5 * fnp.sum(whitened * whitened, axis=-1) - half_log_det
            - dimension * _HALF_LOG_TWO_PI)


multivariate_normal = _namespace(
    """The multivariate normal distribution: ``jax.scipy.stats.multivariate_normal``
    (``logpdf pdf`` of ``(x, mean, cov)``, batched over leading axes; cov positive definite).

    >>> import numpy as np
    >>> from funcgrad.scipy import stats
    >>> round(float(stats.multivariate_normal.pdf(np.zeros(2), np.zeros(2), np.eye(2))), 12)
    0.159154943092
    """,
    logpdf=_multivariate_normal_logpdf,
    pdf=lambda x, mean, cov: fnp.exp(_multivariate_normal_logpdf(x, mean, cov)))


_SIMPLEX_TOLERANCE = 1e-6


def _dirichlet_logpdf(x, alpha):
    x, alpha = _floats(x, alpha)
    if fnp.ndim(alpha) != 1:
        raise ValueError(f"dirichlet.logpdf: alpha must be one-dimensional, got shape "
                         f"{tuple(fnp.shape(alpha))}")
    categories = fnp.shape(alpha)[0]
    if not fnp.ndim(x) or fnp.shape(x)[0] not in (categories, categories - 1):
        raise ValueError(f"dirichlet.logpdf: x must have shape ({categories}, ...) or "
                         f"({categories - 1}, ...) for alpha of shape ({categories},), got "
                         f"{tuple(fnp.shape(x))}")
    if fnp.shape(x)[0] == categories - 1:    # the last coordinate is 1 minus the others
        x = fnp.concatenate([x, 1.0 - fnp.sum(x, axis=0, keepdims=True)], axis=0)
    alpha = fnp.reshape(alpha, (categories,) + (1,) * (fnp.ndim(x) - 1))
    supported = fnp.all(x >= 0, axis=0) & (
        fnp.abs(fnp.sum(x, axis=0) - 1.0) < _SIMPLEX_TOLERANCE)
    safe_x = fnp.where(supported, x, 1.0 / categories)
    normalizer = (fnp.sum(_special.gammaln(alpha), axis=0)
                  - _special.gammaln(fnp.sum(alpha, axis=0)))
    value = fnp.sum(_special.xlogy(alpha - 1.0, safe_x), axis=0) - normalizer
    return _inside(supported, value, -np.inf)


dirichlet = _namespace(
    """The Dirichlet distribution on the simplex: ``jax.scipy.stats.dirichlet`` (``logpdf pdf``
    of ``(x, alpha)``; x of shape ``(K, ...)``, or ``(K - 1, ...)`` with the last coordinate
    implied; ``-inf`` off the simplex, to a tolerance of 1e-6 in the sum).

    >>> import numpy as np
    >>> from funcgrad.scipy import stats
    >>> round(float(stats.dirichlet.pdf(np.array([0.2, 0.3, 0.5]), np.ones(3))), 12)   # 2!
    2.0
    """,
    logpdf=_dirichlet_logpdf,
    pdf=lambda x, alpha: fnp.exp(_dirichlet_logpdf(x, alpha)))


# doctest does not look inside namespaces: their examples are collected here
__test__ = {name: globals()[name].__doc__ for name in __all__}
