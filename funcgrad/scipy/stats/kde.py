"""``gaussian_kde``: the Gaussian kernel density estimate of ``jax.scipy.stats``, a pytree
(its arrays are leaves) so that an estimate goes through ``jit``, ``grad`` and ``vmap`` and is
differentiable in its dataset and weights as in the points it is evaluated at."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import numpy as fnp
from ... import random as _random
from ... import tree as _tree
from ...core.array import returning_arrays as _returning_arrays
from .. import linalg as _linalg
from .. import special as _special
from ._common import floats

__all__ = ["gaussian_kde"]


def _bandwidth_factor(kde: gaussian_kde, bw_method) -> Any:
    """Scott's ``neff ** (-1 / (d + 4))``, Silverman's ``(neff (d + 2) / 4) ** (-1 / (d + 4))``,
    a scalar as given, or what a callable returns for the estimate."""
    exponent = -1.0 / (kde.d + 4)
    if bw_method is None or (isinstance(bw_method, str) and bw_method == "scott"):
        return kde.neff ** exponent
    if isinstance(bw_method, str) and bw_method == "silverman":
        return (kde.neff * (kde.d + 2) / 4.0) ** exponent
    if isinstance(bw_method, str):
        raise ValueError(f"gaussian_kde: bw_method must be 'scott', 'silverman', a scalar or a "
                         f"callable, got the string {bw_method!r}")
    if callable(bw_method):
        return bw_method(kde)
    if fnp.ndim(bw_method) == 0:
        return bw_method
    raise ValueError(f"gaussian_kde: bw_method must be 'scott', 'silverman', a scalar or a "
                     f"callable, got {type(bw_method).__name__} of shape "
                     f"{tuple(fnp.shape(bw_method))}")


class gaussian_kde:
    """A Gaussian kernel density estimate from ``dataset`` (``(d, n)``: n points in d
    dimensions; a 1-d array is n points on the line), as ``jax.scipy.stats.gaussian_kde``.

    Args:
        dataset: the data points, ``(d, n)`` or ``(n,)``; at least two of them.
        bw_method: ``'scott'`` (the default), ``'silverman'``, a scalar factor, or a callable
            of the estimate returning the factor. The kernel covariance is the (weighted)
            data covariance times the factor squared.
        weights: ``(n,)`` non-negative weights of the points (normalised to add up to 1);
            equal weights by default.

    Attributes ``dataset``, ``weights``, ``neff`` (the effective number of points,
    ``1 / sum(weights**2)``), ``covariance``, ``inv_cov``, ``d`` and ``n``.

    >>> import numpy as np
    >>> from funcgrad.scipy import stats
    >>> kde = stats.gaussian_kde(np.array([-1.0, 0.0, 1.0]), bw_method=1.0)
    >>> round(float(kde.integrate_box_1d(-np.inf, np.inf)), 12)
    1.0
    >>> round(float(kde(0.0)[0]), 12)
    0.29429457648
    """

    def __init__(self, dataset, bw_method=None, weights=None):
        dataset = fnp.atleast_2d(floats(dataset)[0])
        if fnp.ndim(dataset) != 2:
            raise ValueError(f"gaussian_kde: dataset must be (d, n) or (n,), got shape "
                             f"{tuple(fnp.shape(dataset))}")
        d, n = fnp.shape(dataset)
        if n < 2:
            raise ValueError(f"gaussian_kde: dataset needs at least two points (columns), got "
                             f"shape {tuple(fnp.shape(dataset))}; a 1-d dataset is n points")
        if weights is None:
            weights = fnp.full((n,), 1.0 / n, dtype=dataset.dtype)
            # a floating leaf (not the int n), so grad may take the whole estimate
            neff = np.asarray(n, dataset.dtype)
        else:
            weights = fnp.atleast_1d(fnp.astype(fnp.asarray(weights), dataset.dtype))
            if tuple(fnp.shape(weights)) != (n,):
                raise ValueError(f"gaussian_kde: weights must have shape ({n},), one per data "
                                 f"point, got {tuple(fnp.shape(weights))}")
            weights = weights / fnp.sum(weights)
            neff = 1.0 / fnp.sum(weights * weights)
        self.dataset, self.weights, self.neff = dataset, weights, neff
        factor = _bandwidth_factor(self, bw_method)
        data_covariance = fnp.atleast_2d(fnp.astype(
            fnp.cov(dataset, rowvar=True, bias=False, aweights=weights), dataset.dtype))
        self.covariance = data_covariance * factor ** 2
        self.inv_cov = fnp.linalg.inv(data_covariance) / factor ** 2

    @property
    def d(self) -> int:
        """The number of dimensions."""
        return fnp.shape(self.dataset)[0]

    @property
    def n(self) -> int:
        """The number of data points."""
        return fnp.shape(self.dataset)[1]

    def _points(self, points, who: str):
        points = fnp.atleast_2d(floats(points, self.dataset)[0])
        d, m = fnp.shape(points)
        if d != self.d:
            if d == 1 and m == self.d:   # one point of d coordinates
                return fnp.reshape(points, (self.d, 1))
            raise ValueError(f"gaussian_kde.{who}: points must have {self.d} rows (one per "
                             f"dimension of the dataset), got shape "
                             f"{tuple(fnp.shape(points))}")
        return points

    def _log_kernels(self, points):
        """``(m, n)`` log kernel values of the m points against the n data points, with the
        log weights: whitened by the Cholesky factor of the precision matrix."""
        whitening = fnp.linalg.cholesky(self.inv_cov)        # lower: inv_cov = W W^T
        data = fnp.matmul(fnp.transpose(self.dataset), whitening)          # (n, d)
        xi = fnp.matmul(fnp.transpose(points), whitening)                  # (m, d)
        log_norm = (fnp.sum(fnp.log(fnp.diagonal(whitening)))
                    - 0.5 * self.d * math.log(2.0 * math.pi))
        residual = data[None, :, :] - xi[:, None, :]
        return log_norm - 0.5 * fnp.sum(residual * residual, axis=-1)

    def evaluate(self, points):
        """The estimated density at ``points`` (``(d, m)``; a 1-d array for d = 1 is m
        points), shape ``(m,)``."""
        points = self._points(points, "evaluate")
        return fnp.matmul(fnp.exp(self._log_kernels(points)), self.weights)

    __call__ = evaluate

    def pdf(self, x):
        """The estimated density at ``x``: the same as :meth:`evaluate`."""
        return self.evaluate(x)

    def logpdf(self, x):
        """The log of the estimated density at ``x``, by ``logsumexp`` over the data points
        (accurate far out in the tails, where the density underflows)."""
        points = self._points(x, "logpdf")
        return _special.logsumexp(self._log_kernels(points), axis=-1, b=self.weights[None, :])

    def integrate_gaussian(self, mean, cov):
        """The integral of the estimate times the normal density N(mean, cov): a weighted sum
        of normal densities of covariance ``covariance + cov`` at the data points."""
        mean = fnp.atleast_1d(floats(mean, self.dataset)[0])
        cov = fnp.atleast_2d(floats(cov, self.dataset)[0])
        if tuple(fnp.shape(mean)) != (self.d,) or tuple(fnp.shape(cov)) != (self.d, self.d):
            raise ValueError(f"gaussian_kde.integrate_gaussian: mean must have shape "
                             f"({self.d},) and cov ({self.d}, {self.d}), got "
                             f"{tuple(fnp.shape(mean))} and {tuple(fnp.shape(cov))}")
        factor = _linalg.cho_factor(self.covariance + cov, lower=True)
        normalizer = ((2.0 * math.pi) ** (0.5 * self.d)
                      * fnp.prod(fnp.diagonal(factor[0])))
        difference = self.dataset - mean[:, None]
        energies = fnp.sum(difference * _linalg.cho_solve(factor, difference), axis=0)
        return fnp.sum(fnp.exp(-0.5 * energies) * self.weights) / normalizer

    def integrate_box_1d(self, low, high):
        """The integral of a one-dimensional estimate over ``[low, high]``."""
        if self.d != 1:
            raise ValueError(f"gaussian_kde.integrate_box_1d: the estimate must be "
                             f"one-dimensional, it has d = {self.d}")
        low, high = floats(low, high, self.dataset)[:2]
        deviation = fnp.sqrt(self.covariance[0, 0])
        upper = _special.ndtr(fnp.ravel((high - self.dataset) / deviation))
        lower = _special.ndtr(fnp.ravel((low - self.dataset) / deviation))
        return fnp.sum(self.weights * (upper - lower))

    def resample(self, key, shape=()):
        """Samples from the estimate, shape ``(d,) + shape``: data points chosen by weight
        (``fg.random.choice``) plus normal noise of covariance ``covariance``; ``key`` a
        ``fg.random`` key."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        noise_key, choice_key = _random.split(key)
        noise = _random.multivariate_normal(
            noise_key, fnp.zeros((self.d,), self.dataset.dtype), self.covariance,
            shape=shape, dtype=self.dataset.dtype)
        noise = fnp.astype(fnp.moveaxis(noise, -1, 0), self.dataset.dtype)
        chosen = _random.choice(choice_key, self.n, shape=shape, p=self.weights)
        return fnp.take(self.dataset, chosen, axis=1) + noise


for _method in ("evaluate", "pdf", "logpdf", "integrate_gaussian", "integrate_box_1d",
                "resample"):
    setattr(gaussian_kde, _method, _returning_arrays(getattr(gaussian_kde, _method)))
gaussian_kde.__call__ = gaussian_kde.evaluate
del _method


def _flatten(kde: gaussian_kde):
    return (kde.neff, kde.dataset, kde.weights, kde.covariance, kde.inv_cov), None


def _unflatten(aux, children) -> gaussian_kde:
    kde = object.__new__(gaussian_kde)
    kde.neff, kde.dataset, kde.weights, kde.covariance, kde.inv_cov = children
    return kde


_tree.register(gaussian_kde, _flatten, _unflatten)
