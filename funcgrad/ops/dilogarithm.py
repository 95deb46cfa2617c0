"""The dilogarithm as SciPy's ``spence(x) = int_1^x log(t) / (1 - t) dt = Li2(1 - x)``, an
elementwise primitive for real ``x >= 0`` (nan below); ``funcgrad.scipy.special.spence``.

The implementation is vectorised NumPy written here from the mathematics, in float64 (float32
rounded once at the end). ``Li2(y) = sum_k y^k / k^2`` is summed only for ``0 <= y <= 1/2``
(55 terms reach 1e-17); every other argument is brought there:

- ``0.5 <= x <= 1.5``: ``y = 1 - x`` (exact) in the series;
- ``0 <= x < 0.5``: the reflection ``Li2(1 - x) = pi^2/6 - log(x) log(1 - x) - Li2(x)``;
- ``x > 1.5``: Landen's ``Li2(y) = -Li2(y / (y - 1)) - log(1 - y)^2 / 2`` with ``y / (y - 1) =
  1 - 1/x``: the series of ``1 - 1/x`` up to x = 2, beyond it the reflection again, with
  ``Li2(1 - 1/x) = pi^2/6 + log(1 - 1/x) log(x) - Li2(1/x)``.

Relative error against SciPy below 5e-15 (``tests/test_scipy_special_more.py``); the derivative
``log(x) / (1 - x)`` (-1 at x = 1) is written with primitives, so it nests. No numba template:
compiled programs call the NumPy implementation as one step.
"""
from __future__ import annotations

import math

import numpy as np

from . import elementwise as ew
from . import taylor as ts
from .special_functions import _apply, _as_work
from .special_functions import _smooth as _smooth_primitive

_PI_SQUARED_OVER_SIX = math.pi ** 2 / 6.0
_SERIES_TERMS = 55


def _li2_series(y):
    """``sum_{k>=1} y^k / k^2`` for ``|y| <= 1/2``, smallest terms first."""
    total = np.zeros_like(y)
    for k in range(_SERIES_TERMS, 0, -1):
        total = (total + 1.0 / (k * k)) * y
    return total


def _li2_of_complement(x):
    """``Li2(1 - x)`` for ``0 <= x <= 1``, without forming ``1 - x`` where it is inexact."""
    out = np.empty_like(x)
    _apply(out, x >= 0.5, lambda v: _li2_series(1.0 - v), x)
    with np.errstate(divide="ignore", invalid="ignore"):
        _apply(out, x < 0.5, lambda v: _PI_SQUARED_OVER_SIX - np.where(
            v == 0, 0.0, np.log(v) * np.log1p(-v)) - _li2_series(v), x)
    return out


def _spence_above_one(x):
    """``Li2(1 - x)`` for x > 1, by Landen's identity."""
    inverse = 1.0 / x
    log_x = np.log(x)
    near = x <= 2.0
    w = np.where(near, (x - 1.0) / x, 0.5)          # 1 - 1/x (x - 1 exact), in (0, 1/2]
    far = np.where(near, 0.5, inverse)               # 1/x, below 1/2 beyond
    li2 = np.where(near, _li2_series(w), _PI_SQUARED_OVER_SIX
                   + np.log1p(-far) * log_x - _li2_series(far))
    return -li2 - 0.5 * log_x * log_x


def spence_numpy(x):
    """SciPy's ``spence``: ``Li2(1 - x)`` for real x >= 0 (nan below and at inf, as SciPy; 0
    at x = 1, pi^2/6 at 0, ``-log(x)^2 / 2`` asymptotically).

    >>> round(float(spence_numpy(np.float64(0.0))), 15) == round(math.pi ** 2 / 6, 15)
    True
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, (x >= 0) & (x <= 1), _li2_of_complement, x)
    # up to 3/2 the series of 1 - x itself (exact, in [-1/2, 0)), Landen's identity beyond
    _apply(out, (x > 1) & (x <= 1.5), lambda v: _li2_series(1.0 - v), x)
    _apply(out, (x > 1.5) & np.isfinite(x), _spence_above_one, x)
    return finish(out)


def _spence_derivative(x, ans):
    """``log(x) / (1 - x)``, with its limit -1 at x = 1 (from a stand-in there)."""
    at_one = ew.eq(x, 1)
    safe_x = ew.select(at_one, ew.full_like(x, 2), x)
    general = ew.div(ew.log(safe_x), ew.sub(ew.full_like(x, 1), safe_x))
    return ew.select(at_one, ew.full_like(x, -1), general)


spence = _smooth_primitive(
    "spence", spence_numpy, _spence_derivative,
    lambda u: ts.chain(u, spence(u[0]), lambda v: ts.log(u) / (1 - u)))
