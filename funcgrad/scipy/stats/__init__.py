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
- more continuous ones: ``pareto(x, b)``, ``gumbel_r`` and ``gumbel_l`` (``logpdf pdf cdf
  logcdf sf logsf ppf``), ``truncnorm(x, a, b)`` (``logpdf pdf cdf logcdf sf logsf``),
  ``gennorm(x, beta)`` (``logpdf pdf cdf``), all with ``loc`` and ``scale``; on the circle
  ``vonmises(x, kappa)`` and ``wrapcauchy(x, c)`` (``logpdf pdf``);
- discrete, with ``loc``: ``poisson(k, mu)`` (``logpmf pmf cdf sf logcdf logsf``),
  ``bernoulli(k, p)`` (``logpmf pmf cdf ppf``), ``binom(k, n, p)``, ``nbinom(k, n, p)``,
  ``geom(k, p)`` and ``betabinom(k, n, a, b)`` (``logpmf pmf``);
- multivariate: ``multivariate_normal.logpdf/pdf(x, mean, cov)`` (x and mean ``(..., d)``, cov
  ``(..., d, d)`` positive definite, or a scalar variance), ``dirichlet.logpdf/pdf(x,
  alpha)`` (x of shape ``(K, ...)`` or ``(K - 1, ...)``, alpha ``(K,)``, as SciPy) and
  ``multinomial.logpmf/pmf(x, n, p)`` (x and p ``(..., K)``).

the kernel density estimate ``gaussian_kde`` (a pytree: ``dataset weights bw_method``,
``evaluate pdf logpdf integrate_gaussian integrate_box_1d resample``, ``kde.py``),
and the summary statistics ``mode``, ``rankdata`` and ``sem`` (``summaries.py``).

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

from .circular import vonmises, wrapcauchy
from .continuous import (
    beta,
    cauchy,
    chi2,
    expon,
    gamma,
    laplace,
    logistic,
    lognorm,
    norm,
    t,
    uniform,
)
from .discrete import bernoulli, betabinom, binom, geom, nbinom, poisson
from .extreme_value import gumbel_l, gumbel_r, pareto
from .kde import gaussian_kde
from .multivariate import dirichlet, multinomial, multivariate_normal
from .normal_variants import gennorm, truncnorm
from .summaries import ModeResult, mode, rankdata, sem

# the distributions (namespaces of functions), then the summary statistics
__all__ = ["bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon",
           "gamma", "gaussian_kde", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace",
           "logistic", "lognorm",
           "multinomial", "multivariate_normal", "nbinom", "norm", "pareto", "poisson", "t",
           "truncnorm", "uniform", "vonmises", "wrapcauchy",
           "ModeResult", "mode", "rankdata", "sem"]

# doctest does not look inside namespaces: their examples are collected here
__test__ = {name: globals()[name].__doc__ for name in __all__
            if name not in ("ModeResult", "gaussian_kde")}
