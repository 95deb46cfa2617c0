"""The exponential integrals ``exp1`` (``E1(x) = int_x^inf e^-t / t dt``), ``expn`` (``E_n(x) =
int_1^inf e^(-x t) / t^n dt``, the order n a static parameter) and ``expi`` (``Ei(x) = -PV
int_-x^inf e^-t / t dt``), the scaled complementary error function ``erfcx(x) =
exp(x^2) erfc(x)`` and Dawson's integral ``dawsn(x) = exp(-x^2) int_0^x exp(t^2) dt``, as
elementwise primitives; ``funcgrad.scipy.special`` exposes them.

Each implementation is vectorised NumPy written here from the mathematics, computed in float64
(float32 inputs are rounded once at the end). Derivatives are written with primitives, so they
nest to any order: ``E1' = -e^-x / x``, ``E_n' = -E_(n-1)`` (``E_0 = e^-x / x``),
``Ei' = e^x / x``, ``dawsn' = 1 - 2 x dawsn``, ``erfcx' = 2 x erfcx - 2/sqrt(pi)``.

- ``E1`` for ``0 < x < 1``: ``-gamma - log x - sum_k (-x)^k / (k k!)`` (terms below 1 in size,
  no cancellation against a value above 0.21); for ``x >= 1`` the continued fraction
  ``e^-x / (x + 1 - 1/(x + 3 - 4/(x + 5 - ...)))``, 160 terms from the tail (converged at
  x = 1); nan for x < 0 and inf at 0, as SciPy's real ``exp1``.
- ``E_n`` for ``n >= 2``: for ``0 < x < 1`` the series about 0 (with its ``log x`` term at
  ``k = n - 1``), for ``x >= 1`` the continued fraction of E1 with n in it.
- ``Ei`` for ``0 < x <= 40``: ``gamma + log x + sum_k x^k / (k k!)`` (positive terms); beyond,
  the asymptotic ``e^x / x sum_k k! / x^k`` cut at its smallest term; ``Ei(x) = -E1(-x)``
  for x < 0 and -inf at 0. Near its positive zero (x = 0.3725) the error is absolute (1e-16).
- ``erfcx`` for ``x < 2.5``: ``erfc(x) / exp(-x^2)`` (``exp(-x^2)`` without the rounding of
  ``x^2``); beyond, ``1 / (sqrt(pi) K(x))`` with Laplace's continued fraction K; for x < 0
  ``2 exp(x^2) - erfcx(-x)`` (inf below -26.6, as SciPy).
- ``dawsn`` for ``|x| < 1/2``: its Maclaurin series; up to 1e8 the continued fraction ``x / (1
  + 2x^2 - 4x^2 / (3 + 2x^2 - 8x^2 / ...))``, 100 terms; beyond, ``1/(2x) (1 + 1/(2x^2))``.

Accuracy against SciPy (``tests/test_scipy_special_more.py`` keeps the bounds): relative
errors below 4e-15 for ``exp1`` and ``erfcx`` on x >= 0 (6e-14 below 0, where ``exp(x^2)``
of an ``x^2`` up to 708 carries its rounding), 3e-15 for ``dawsn`` (SciPy's own is off by up
to 1.3e-14 near x = 0.01, where ours agrees with mpmath), and 5e-14 for ``expi`` away from
its zero (its series and asymptotic sums have up to a hundred terms, each rounded). These
primitives have no numba templates: compiled programs call these NumPy implementations as one
step each.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.primitive import Primitive
from . import elementwise as ew
from . import taylor as ts
from .special_functions import (
    _apply,
    _as_work,
    _continued_fraction,
    _exp_minus_square,
    _float_only,
    erfc_numpy,
)
from .special_functions import _smooth as _smooth_primitive

_EULER_GAMMA = 0.57721566490153286061
_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI
_E1_FRACTION_TERMS = 160
_SERIES_TERMS = 200            # a cap: the series stop once their terms stop counting
_EI_ASYMPTOTIC_FROM = 40.0
_ERFCX_FRACTION_FROM = 2.5


def _power_series(x, first, term_ratio):
    """``sum_{k>=1} t_k`` with ``t_1 = first`` and ``t_{k+1} = t_k * term_ratio(k)``, summed
    until the terms fall below 1e-17 of the sum."""
    term = first.copy()
    total = first.copy()
    for k in range(1, _SERIES_TERMS):
        term = term * term_ratio(k)
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def _e1_series(x):
    # (-x)^k / (k k!): the ratio of consecutive terms is -x k / (k + 1)^2
    return (-_EULER_GAMMA - np.log(x)
            - _power_series(x, -x, lambda k: -x * k / ((k + 1.0) * (k + 1.0))))


def _e1_fraction(x):
    fraction = x + 1.0 + 2.0 * _E1_FRACTION_TERMS
    for i in range(_E1_FRACTION_TERMS, 0, -1):
        fraction = (x + 2.0 * i - 1.0) - (i * i) / fraction
    return np.exp(-x) / fraction


def _e1_positive(x):
    out = np.empty_like(x)
    _apply(out, x < 1.0, _e1_series, x)
    _apply(out, (x >= 1.0) & np.isfinite(x), _e1_fraction, x)
    out[np.isinf(x)] = 0.0
    return out


def exp1_numpy(x):
    """``E1(x)`` elementwise for real x (SciPy's ``exp1``): inf at 0, nan below.

    >>> round(float(exp1_numpy(np.float64(1.0))), 15)
    0.21938393439552
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, x > 0, _e1_positive, x)
    out[x == 0] = np.inf
    return finish(out)


def _ei_series(x):
    # x^k / (k k!): the ratio is x k / (k + 1)^2, every term positive
    return _EULER_GAMMA + np.log(x) + _power_series(x, x, lambda k: x * k / ((k + 1.0) ** 2))


def _ei_asymptotic(x):
    """``e^x / x sum_k k! / x^k``, the terms summed while they shrink (to about x of them)."""
    term = np.ones_like(x)
    total = np.ones_like(x)
    for k in range(1, int(_EI_ASYMPTOTIC_FROM) + 1):
        term = term * (k / x)
        total = total + term
    with np.errstate(over="ignore"):
        return np.exp(x) / x * total


def expi_numpy(x):
    """``Ei(x)`` elementwise (SciPy's ``expi``): -inf at 0, ``-E1(-x)`` below.

    >>> round(float(expi_numpy(np.float64(1.0))), 14)
    1.89511781635594
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, (x > 0) & (x <= _EI_ASYMPTOTIC_FROM), _ei_series, x)
    _apply(out, (x > _EI_ASYMPTOTIC_FROM) & np.isfinite(x), _ei_asymptotic, x)
    out[x == np.inf] = np.inf
    _apply(out, x < 0, lambda v: -_e1_positive(-v), x)
    out[x == 0] = -np.inf
    return finish(out)


def _erfcx_nonnegative(x):
    out = np.empty_like(x)
    _apply(out, x < _ERFCX_FRACTION_FROM, lambda v: erfc_numpy(v) / _exp_minus_square(v), x)
    _apply(out, x >= _ERFCX_FRACTION_FROM, lambda v: 1.0 / (
        _SQRT_PI * _continued_fraction(np.minimum(v, 1e150), 80)), x)
    # 1 / (sqrt(pi) x) beyond 1e150, where x^2 in the fraction would overflow
    huge = x > 1e150
    out[huge] = 1.0 / (_SQRT_PI * x[huge])
    return out


def erfcx_numpy(x):
    """``exp(x^2) erfc(x)`` elementwise (SciPy's ``erfcx``), without overflow for x > 0.

    >>> round(float(erfcx_numpy(np.float64(0.0))), 15)
    1.0
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, x >= 0, _erfcx_nonnegative, x)
    with np.errstate(over="ignore", divide="ignore"):
        _apply(out, x < 0, lambda v: 2.0 / _exp_minus_square(v) - _erfcx_nonnegative(-v), x)
    out[x == -np.inf] = np.inf
    return finish(out)


def _en_series(n: int, x):
    """``E_n(x)`` for ``n >= 2`` and ``0 < x < 1``: ``(-x)^(n-1) / (n-1)! (psi(n) - log x) -
    sum_{k != n-1} (-x)^k / ((k - n + 1) k!)``, whose terms fall as ``1 / k!``."""
    total = np.full_like(x, 1.0 / (n - 1))
    factor = np.ones_like(x)
    psi = -_EULER_GAMMA + sum(1.0 / k for k in range(1, n))
    for k in range(1, _SERIES_TERMS):
        factor = factor * (-x / k)
        term = factor * (psi - np.log(x)) if k == n - 1 else -factor / (k - n + 1)
        total = total + term
        if k >= n and not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def _en_fraction(n: int, x):
    """``E_n(x)`` for ``x >= 1``: ``e^-x / (x + n - n/(x + n + 2 - 2(n + 1)/(x + n + 4 -
    ...)))``, 160 terms from the tail."""
    fraction = x + n + 2.0 * _E1_FRACTION_TERMS
    for i in range(_E1_FRACTION_TERMS, 0, -1):
        fraction = (x + n + 2.0 * (i - 1)) - (i * (n - 1.0 + i)) / fraction
    return np.exp(-x) / fraction


def expn_numpy(n: int, x):
    """The generalized exponential integral ``E_n(x) = int_1^inf e^(-x t) / t^n dt`` for a
    whole ``n >= 0`` (SciPy's ``expn``): ``e^-x / x`` for n = 0, ``E1`` for n = 1; at x = 0
    ``1 / (n - 1)`` (inf for n <= 1); nan for x < 0 or n < 0.

    >>> round(float(expn_numpy(2, np.float64(1.0))), 15)
    0.148495506775922
    """
    if n == 1:
        return exp1_numpy(x)
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    if n == 0:
        with np.errstate(divide="ignore"):
            _apply(out, x >= 0, lambda v: np.exp(-v) / v, x)
    elif n > 1:
        _apply(out, (x > 0) & (x < 1.0), lambda v: _en_series(n, v), x)
        _apply(out, (x >= 1.0) & np.isfinite(x), lambda v: _en_fraction(n, v), x)
        out[x == 0] = 1.0 / (n - 1)
        out[x == np.inf] = 0.0
    return finish(out)


_DAWSON_SERIES_LIMIT = 0.5
_DAWSON_FRACTION_TERMS = 100
_DAWSON_ASYMPTOTIC_FROM = 1e8


def _dawson_series(x):
    """``D(x) = sum_n (-2 x^2)^n x / (1 * 3 * ... * (2n + 1))`` for ``|x| < 1/2`` (its terms
    fall by ``x^2 / n`` at least)."""
    return _power_series(x, x, lambda k: -2.0 * x * x / (2.0 * k + 1.0))


def _dawson_fraction(x):
    """``D(x) = x / (1 + 2x^2 - 4x^2 / (3 + 2x^2 - 8x^2 / (5 + 2x^2 - ...)))``, 100 terms
    from the tail (converged from x = 1/2 on)."""
    square = x * x
    fraction = (2.0 * _DAWSON_FRACTION_TERMS + 1.0) + 2.0 * square
    for k in range(_DAWSON_FRACTION_TERMS, 0, -1):
        fraction = (2.0 * k - 1.0) + 2.0 * square - 4.0 * k * square / fraction
    return x / fraction


def dawsn_numpy(x):
    """Dawson's integral ``D(x) = exp(-x^2) int_0^x exp(t^2) dt`` elementwise (SciPy's
    ``dawsn``; odd, ``1 / (2x)`` asymptotically).

    >>> round(float(dawsn_numpy(np.float64(1.0))), 15)
    0.538079506912768
    """
    x, finish = _as_work(x)
    magnitude = np.abs(x)
    out = np.full_like(x, np.nan)
    _apply(out, magnitude < _DAWSON_SERIES_LIMIT, _dawson_series, magnitude)
    middle = (magnitude >= _DAWSON_SERIES_LIMIT) & (magnitude < _DAWSON_ASYMPTOTIC_FROM)
    _apply(out, middle, _dawson_fraction, magnitude)
    # beyond 1e8 (where x^2 in the fraction would lose the rest): 1/(2x) (1 + 1/(2x^2))
    far = magnitude >= _DAWSON_ASYMPTOTIC_FROM
    _apply(out, far, lambda v: 0.5 / v * (1.0 + 0.5 / (v * v)), magnitude)
    return finish(np.copysign(out, x))


# --------------------------------------------------------------------------- primitives

def _safe_reciprocal(x):
    """``1 / x`` with 0 replaced by 1 (E1 and Ei have a pole there: their derivatives are
    infinite, and no nan from 0 * inf should reach a deeper one)."""
    return ew.reciprocal(ew.select(ew.eq(x, 0), ew.full_like(x, 1), x))


exp1 = _smooth_primitive(
    "exp1", exp1_numpy,
    lambda x, ans: ew.neg(ew.mul(ew.exp(ew.neg(x)), _safe_reciprocal(x))),
    lambda u: ts.chain(u, exp1(u[0]), lambda v: -ts.exp(-u) / u))
expi = _smooth_primitive(
    "expi", expi_numpy, lambda x, ans: ew.mul(ew.exp(x), _safe_reciprocal(x)),
    lambda u: ts.chain(u, expi(u[0]), lambda v: ts.exp(u) / u))


def _erfcx_derivative(x, ans):
    return ew.sub(ew.mul(ew.mul(x, ans), ew.scalar_like(x, 2.0)),
                  ew.scalar_like(x, _TWO_OVER_SQRT_PI))


def _erfcx_series(u):
    """The series of ``v = erfcx(u)`` from ``v' = (2 u v - 2/sqrt(pi)) u'``, solved order by
    order."""
    value = ts.unknown(u.order, erfcx(u[0]))
    ts.define_rate(value, (u * value * 2.0 - _TWO_OVER_SQRT_PI) * ts.rate_of(u))
    return value


erfcx = _smooth_primitive("erfcx", erfcx_numpy, _erfcx_derivative, _erfcx_series)


def _dawsn_series(u):
    """The series of ``v = dawsn(u)`` from ``v' = (1 - 2 u v) u'``."""
    value = ts.unknown(u.order, dawsn(u[0]))
    ts.define_rate(value, (1.0 - u * value * 2.0) * ts.rate_of(u))
    return value


dawsn = _smooth_primitive("dawsn", dawsn_numpy, lambda x, ans: ew.sub(
    ew.full_like(x, 1), ew.mul(ew.mul(x, ans), ew.scalar_like(x, 2.0))), _dawsn_series)


def _expn_derivative(n: int, x):
    """``d/dx E_n = -E_(n-1)``; for n = 0, ``-e^-x (x + 1) / x^2``."""
    if n >= 1:
        return ew.neg(expn(n - 1, x))
    inverse = _safe_reciprocal(x)
    return ew.neg(ew.mul(ew.mul(ew.exp(ew.neg(x)), ew.add(x, ew.full_like(x, 1))),
                         ew.mul(inverse, inverse)))


def _expn_series(u, n: int):
    """The series of ``E_n(u)``: the chain rule down to ``E_0(u) = e^-u / u``."""
    if n == 0:
        return ts.exp(-u) / u
    return ts.chain(u, expn(n, u[0]), lambda v: -_expn_series(u, n - 1))


expn_p = Primitive("expn", "elementwise")
expn_p.impl = lambda x, *, n: expn_numpy(n, x)
expn_p.abstract_eval = _float_only("expn")
expn_p.jvp = lambda primals, tangents, *, n: (
    expn(n, primals[0]), ew.mul(tangents[0], _expn_derivative(n, primals[0])))
expn_p.vjp = lambda needs, g, ans, x, *, n: (ew.mul(g, _expn_derivative(n, x)),)
expn_p.batch = ew._elementwise_batch(expn_p)
expn_p.taylor = ts.unary_rule(_expn_series)


def expn(n: int, x):
    """``E_n(x)`` for a static whole ``n >= 0`` (a primitive parameter, as polygamma's order)
    on a floating x; derivative in x ``-E_(n-1)(x)``."""
    return expn_p.bind(x, n=int(n))
