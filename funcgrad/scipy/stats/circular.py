"""Distributions on the circle in ``jax.scipy.stats``: ``vonmises`` (on the whole line,
periodic) and ``wrapcauchy`` (on ``[0, 2 pi]``), ``logpdf pdf``, and, as SciPy, with ``loc``
and ``scale``.
"""
from __future__ import annotations

import math

import numpy as np

from ... import numpy as fnp
from .. import special as _special
from ._common import floats, inside_or, namespace

_LOG_TWO_PI = math.log(2.0 * math.pi)


def _vonmises_logpdf(x, kappa, loc=0, scale=1):
    """``kappa (cos z - 1) - log(2 pi i0e(kappa))``: the exponentially scaled Bessel function
    keeps large concentrations from overflowing; nan for ``kappa < 0``, as SciPy."""
    x, kappa, loc, scale = floats(x, kappa, loc, scale)
    z = (x - loc) / scale
    valid = kappa >= 0
    safe_kappa = fnp.where(valid, kappa, 1.0)
    value = (safe_kappa * (fnp.cos(z) - 1.0) - _LOG_TWO_PI - fnp.log(_special.i0e(safe_kappa))
             - fnp.log(scale))
    return inside_or(valid, value, np.nan)


vonmises = namespace(
    """The von Mises distribution with concentration ``kappa``, periodic in x:
    ``jax.scipy.stats.vonmises`` (``logpdf pdf`` of ``(x, kappa)``, and ``loc``, ``scale``).

    >>> import math
    >>> from funcgrad.scipy import stats
    >>> round(float(stats.vonmises.pdf(1.0, 0.0)) * 2 * math.pi, 12)    # kappa = 0: uniform
    1.0
    """,
    logpdf=_vonmises_logpdf,
    pdf=lambda x, kappa, loc=0, scale=1: fnp.exp(_vonmises_logpdf(x, kappa, loc, scale)))


def _wrapcauchy_logpdf(x, c, loc=0, scale=1):
    """``log((1 - c^2) / (2 pi (1 + c^2 - 2 c cos z)))`` on ``0 <= z <= 2 pi`` (``-inf``
    outside), nan unless ``0 < c < 1``, as SciPy."""
    x, c, loc, scale = floats(x, c, loc, scale)
    z = (x - loc) / scale
    valid = (c > 0) & (c < 1)
    safe_c = fnp.where(valid, c, 0.5)
    value = (fnp.log1p(-safe_c * safe_c) - _LOG_TWO_PI - fnp.log(scale)
             - fnp.log1p(safe_c * (safe_c - 2.0 * fnp.cos(z))))
    supported = (z >= 0) & (z <= 2.0 * math.pi)
    return inside_or(valid, inside_or(supported, value, -np.inf), np.nan)


wrapcauchy = namespace(
    """The wrapped Cauchy distribution with shape ``0 < c < 1`` on ``[0, 2 pi]``:
    ``jax.scipy.stats.wrapcauchy`` (``logpdf pdf`` of ``(x, c)``, and ``loc``, ``scale``).

    >>> import math
    >>> from funcgrad.scipy import stats
    >>> round(float(stats.wrapcauchy.pdf(0.0, 0.5)) * 2 * math.pi, 12)   # (1 + c) / (1 - c)
    3.0
    """,
    logpdf=_wrapcauchy_logpdf,
    pdf=lambda x, c, loc=0, scale=1: fnp.exp(_wrapcauchy_logpdf(x, c, loc, scale)))
