"""The multivariate distributions of ``jax.scipy.stats`` (multivariate_normal, dirichlet,
...)."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special as _special
from ._common import (
    HALF_LOG_TWO_PI,
    floats,
    inside_or,
    namespace,
)
from .continuous import norm

# ------------------------------------------------------------ multivariate_normal, dirichlet

def _multivariate_normal_logpdf(x, mean, cov):
    x, mean, cov = floats(x, mean, cov)
    if not fnp.ndim(mean):      # one dimension: the normal distribution with variance cov
        return norm.logpdf(x, mean, fnp.sqrt(cov))
    dimension = fnp.shape(mean)[-1]
    difference = x - mean
    if not fnp.ndim(cov):      # a scalar variance: cov times the identity
        squared = fnp.sum(difference * difference, axis=-1) / cov
        return -0.5 * squared - dimension * (HALF_LOG_TWO_PI + 0.5 * fnp.log(cov))
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
            - dimension * HALF_LOG_TWO_PI)


multivariate_normal = namespace(
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
    x, alpha = floats(x, alpha)
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
    return inside_or(supported, value, -np.inf)


dirichlet = namespace(
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


# ----------------------------------------------------------------------------- multinomial

def _multinomial_logpmf(x, n, p):
    """``gammaln(n + 1) + sum(xlogy(x, p) - gammaln(x + 1))`` over the last axis; ``-inf``
    where a count is negative or not whole or the counts do not add up to ``n``."""
    x, n, p = floats(x, n, p)
    if not fnp.ndim(p):
        raise ValueError("multinomial.logpmf: p must have the categories on its last axis, "
                         "got a scalar")
    if fnp.ndim(x) and fnp.shape(x)[-1] != fnp.shape(p)[-1]:
        raise ValueError(f"multinomial.logpmf: x has {fnp.shape(x)[-1]} categories on its last "
                         f"axis and p {fnp.shape(p)[-1]}: they must agree")
    counts_ok = fnp.all((x >= 0) & (fnp.floor(x) == x), axis=-1)
    supported = counts_ok & (fnp.sum(x, axis=-1) == n)
    safe_x = fnp.where(fnp.expand_dims(supported, -1), x, 0.0)
    safe_n = fnp.where(supported, n, 0.0)
    value = _special.gammaln(safe_n + 1.0) + fnp.sum(
        _special.xlogy(safe_x, p) - _special.gammaln(safe_x + 1.0), axis=-1)
    return inside_or(supported, value, -np.inf)


multinomial = namespace(
    """The multinomial distribution of ``n`` draws over categories of probabilities ``p``:
    ``jax.scipy.stats.multinomial`` (``logpmf pmf`` of ``(x, n, p)``; x and p ``(..., K)``,
    batched over leading axes; counts may be floats holding whole numbers, as SciPy's).

    >>> import numpy as np
    >>> from funcgrad.scipy import stats
    >>> round(float(stats.multinomial.pmf(np.array([1, 1]), 2, np.array([0.5, 0.5]))), 12)
    0.5
    """,
    logpmf=_multinomial_logpmf,
    pmf=lambda x, n, p: fnp.exp(_multinomial_logpmf(x, n, p)))
