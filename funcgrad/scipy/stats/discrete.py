"""The discrete distributions of ``jax.scipy.stats``: poisson, bernoulli, binom, nbinom, geom
and betabinom, each with ``loc`` (the pmf is that of ``k - loc``).

The log-pmfs are sums of ``gammaln`` terms (the binomial coefficients) and ``xlogy`` /
``xlog1py`` terms, so their absolute error is a few ulps of the largest ``gammaln`` term
(about ``n log n``): relative errors near 1e-13 for n in the hundreds. As in SciPy, a ``k``
that is not a whole number, or outside the support, has probability 0 (log-pmf ``-inf``, with
derivative 0); the derivatives in ``k``, ``n``, ``p``, ``a`` and ``b`` are those of the
continuous expressions (JAX's convention), and a parameter outside its domain (``p`` outside
[0, 1], the number of trials ``n`` of binom and betabinom not a whole number >= 0, nbinom's
``n <= 0``, ``a, b <= 0``) gives nan, as SciPy.
"""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ...ops.special import stop_gradient as _stop_gradient
from .. import special as _special
from ._common import (
    floats,
    inside_or,
    namespace,
    tails,
)

# -------------------------------------------------------------------- poisson and bernoulli

def _shifted_count(k, loc, *params):
    """``k - loc`` and the parameters as floats, and where ``k - loc`` is a whole number."""
    k, loc, *params = floats(k, loc, *params)
    count = k - loc
    return count, fnp.floor(count) == count, params


def _poisson_logpmf(k, mu, loc=0):
    count, whole, (mu,) = _shifted_count(k, loc, mu)
    supported = whole & (count >= 0)
    safe_count = fnp.where(supported, count, 0.0)
    value = _special.xlogy(safe_count, mu) - _special.gammaln(safe_count + 1.0) - mu
    return inside_or(supported, value, -np.inf)


def _poisson_probabilities(k, mu, loc=0):
    """``P(X <= k) = Q(floor(k - loc) + 1, mu)`` and ``P(X > k) = P(floor(k - loc) + 1,
    mu)``; the count is a step function of k and loc (derivative zero, as JAX's)."""
    (mu,) = floats(mu)
    k, loc = floats(k, loc)
    count = fnp.astype(fnp.floor(k - loc), mu.dtype)
    below = count < 0
    shape = _stop_gradient(fnp.where(below, 0.0, count) + 1.0)
    return _special.gammaincc(shape, mu), _special.gammainc(shape, mu), below, None


poisson = namespace(
    """The Poisson distribution with mean ``mu``: ``jax.scipy.stats.poisson`` (``logpmf pmf
    cdf``, and ``sf logcdf logsf``; the CDFs are the incomplete gamma functions of
    ``floor(k - loc) + 1`` and ``mu``, differentiable in ``mu``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.poisson.cdf(1, 2.0)), 12)      # 3 exp(-2)
    0.40600584971
    """,
    logpmf=_poisson_logpmf,
    pmf=lambda k, mu, loc=0: fnp.exp(_poisson_logpmf(k, mu, loc)),
    **tails(_poisson_probabilities))


def _bernoulli_logpmf(k, p, loc=0):
    count, _, (p,) = _shifted_count(k, loc, p)
    one, zero = count == 1, count == 0
    safe_p = fnp.where(one | zero, p, 0.5)
    value = fnp.where(one, fnp.log(safe_p), fnp.log1p(-safe_p))
    return inside_or(one | zero, value, -np.inf)


def _bernoulli_cdf(k, p, loc=0):
    count, _, (p,) = _shifted_count(k, loc, p)
    return fnp.where(count < 0, 0.0, fnp.where(count < 1, 1.0 - p, 1.0))


def _bernoulli_ppf(q, p, loc=0):
    q, p, loc = floats(q, p, loc)
    # SciPy's convention: the support's ends -1 and 1 at q = 0 and 1, nan outside [0, 1]
    count = fnp.where(q == 0, -1.0, fnp.where((q <= 1.0 - p) & (q < 1), 0.0, 1.0))
    return inside_or((q >= 0) & (q <= 1), count + loc, np.nan)


bernoulli = namespace(
    """The Bernoulli distribution, 1 with probability ``p``: ``jax.scipy.stats.bernoulli``.

    >>> from funcgrad.scipy import stats
    >>> float(stats.bernoulli.pmf(0, 0.25))
    0.75
    """,
    logpmf=_bernoulli_logpmf,
    pmf=lambda k, p, loc=0: fnp.exp(_bernoulli_logpmf(k, p, loc)),
    cdf=_bernoulli_cdf, ppf=_bernoulli_ppf)


# ---------------------------------------------------------- binom, nbinom, geom, betabinom

def _log_binomial_coefficient(n, k):
    """``log(n choose k) = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)``."""
    return (_special.gammaln(n + 1.0) - _special.gammaln(k + 1.0)
            - _special.gammaln(n - k + 1.0))


def _counted(supported, valid, value_of_count, count, stand_in=0.0):
    """``value_of_count(safe_count)`` where ``supported`` (the count taken at ``stand_in``, a
    point of the support, elsewhere, so that no inf reaches a derivative), ``-inf`` outside the
    support, nan where the parameters are not ``valid``."""
    safe_count = fnp.where(supported, count, stand_in)
    value = inside_or(supported, value_of_count(safe_count), -np.inf)
    return inside_or(valid, value, np.nan)


def _binom_logpmf(k, n, p, loc=0):
    count, whole, (n, p) = _shifted_count(k, loc, n, p)
    supported = whole & (count >= 0) & (count <= n)
    valid = (n >= 0) & (fnp.floor(n) == n) & (p >= 0) & (p <= 1)
    return _counted(supported, valid, lambda c: _log_binomial_coefficient(n, c)
                    + _special.xlogy(c, p) + _special.xlog1py(n - c, -p), count)


binom = namespace(
    """The binomial distribution, ``k`` successes in ``n`` trials of probability ``p``:
    ``jax.scipy.stats.binom`` (``logpmf pmf`` of ``(k, n, p, loc=0)``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.binom.pmf(1, 3, 0.5)), 12)      # 3 / 8
    0.375
    """,
    logpmf=_binom_logpmf,
    pmf=lambda k, n, p, loc=0: fnp.exp(_binom_logpmf(k, n, p, loc)))


def _nbinom_logpmf(k, n, p, loc=0):
    count, whole, (n, p) = _shifted_count(k, loc, n, p)
    supported = whole & (count >= 0)
    valid = (n > 0) & (p > 0) & (p <= 1)
    safe_n = fnp.where(valid, n, 1.0)
    return _counted(supported, valid, lambda c: _special.gammaln(c + safe_n)
                    - _special.gammaln(safe_n) - _special.gammaln(c + 1.0)
                    + _special.xlogy(safe_n, p) + _special.xlog1py(c, -p), count)


nbinom = namespace(
    """The negative binomial distribution, ``k`` failures before the ``n``-th success of
    probability ``p`` (``n`` may be real): ``jax.scipy.stats.nbinom`` (``logpmf pmf`` of
    ``(k, n, p, loc=0)``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.nbinom.pmf(1, 2, 0.5)), 12)      # 2 * 0.5**3
    0.25
    """,
    logpmf=_nbinom_logpmf,
    pmf=lambda k, n, p, loc=0: fnp.exp(_nbinom_logpmf(k, n, p, loc)))


def _geom_logpmf(k, p, loc=0):
    count, whole, (p,) = _shifted_count(k, loc, p)
    supported = whole & (count >= 1)
    valid = (p > 0) & (p <= 1)
    safe_p = fnp.where(valid, p, 0.5)
    return _counted(supported, valid, lambda c: _special.xlog1py(c - 1.0, -safe_p)
                    + fnp.log(safe_p), count, stand_in=1.0)


geom = namespace(
    """The geometric distribution, the trial of the first success of probability ``p`` (support
    1, 2, ...): ``jax.scipy.stats.geom`` (``logpmf pmf`` of ``(k, p, loc=0)``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.geom.pmf(2, 0.25)), 12)      # 0.75 * 0.25
    0.1875
    """,
    logpmf=_geom_logpmf,
    pmf=lambda k, p, loc=0: fnp.exp(_geom_logpmf(k, p, loc)))


def _betabinom_logpmf(k, n, a, b, loc=0):
    count, whole, (n, a, b) = _shifted_count(k, loc, n, a, b)
    supported = whole & (count >= 0) & (count <= n)
    valid = (n >= 0) & (fnp.floor(n) == n) & (a > 0) & (b > 0)
    safe_a, safe_b = fnp.where(valid, a, 1.0), fnp.where(valid, b, 1.0)
    return _counted(supported, valid, lambda c: _log_binomial_coefficient(n, c)
                    + _special.betaln(c + safe_a, n - c + safe_b)
                    - _special.betaln(safe_a, safe_b), count)


betabinom = namespace(
    """The beta-binomial distribution, a binomial whose ``p`` is beta(a, b) distributed:
    ``jax.scipy.stats.betabinom`` (``logpmf pmf`` of ``(k, n, a, b, loc=0)``).

    >>> from funcgrad.scipy import stats
    >>> round(float(stats.betabinom.pmf(1, 2, 1.0, 1.0)), 12)     # uniform on 0, 1, 2
    0.333333333333
    """,
    logpmf=_betabinom_logpmf,
    pmf=lambda k, n, a, b, loc=0: fnp.exp(_betabinom_logpmf(k, n, a, b, loc)))
