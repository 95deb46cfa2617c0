"""The discrete distributions of ``jax.scipy.stats`` (poisson, bernoulli, ...)."""
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
