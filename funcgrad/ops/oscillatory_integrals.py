"""The sine and cosine integrals ``Si(x) = int_0^x sin t / t dt`` and ``Ci(x) = gamma + log|x|
+ int_0^|x| (cos t - 1) / t dt``, and the Fresnel integrals ``S(x) = int_0^x sin(pi t^2 / 2)
dt`` and ``C(x) = int_0^x cos(pi t^2 / 2) dt``, as elementwise primitives; ``funcgrad.scipy
.special`` exposes them as SciPy's pairs ``sici(x) = (Si, Ci)`` and ``fresnel(x) = (S, C)``.

Each implementation is vectorised NumPy written here from the mathematics, in float64 (float32
inputs rounded once at the end). Derivatives are written with primitives, so they nest to any
order: ``Si' = sin x / x`` (1 at 0), ``Ci' = cos x / x``, ``S' = sin(pi x^2 / 2)``, ``C' =
cos(pi x^2 / 2)``.

- ``Si`` and ``Ci`` for ``|x| <= 4``: their power series (terms at most ten times the sum, so
  about one digit is lost to cancellation); beyond, from ``E1(i x) = -Ci(x) + i (Si(x) -
  pi/2)``, E1's continued fraction evaluated in complex arithmetic from its tail. Si is odd,
  Ci even (SciPy's real part for x < 0), ``Ci(0) = -inf``.
- ``S`` and ``C`` for ``|x| <= 1.6``: their power series; beyond, ``C + i S = (1 + i)/2
  erf(z)`` with ``z = sqrt(pi)/2 (1 - i) x`` and ``erfc(z)`` from Laplace's continued
  fraction (``|exp(-z^2)| = 1`` on that ray, its phase ``pi x^2 / 2`` reduced without the
  rounding of ``x^2``). Both odd, ``1/2`` at infinity.

Accuracy against SciPy (kept by ``tests/test_scipy_special_more.py``): relative errors below
about 1e-14 except near Ci's zeros, where the error is absolute (about 1e-16 times the size of
the terms summed).
"""
from __future__ import annotations

import math

import numpy as np

from . import elementwise as ew
from . import taylor as ts
from .special_functions import _apply, _as_work
from .special_functions import _smooth as _smooth_primitive

_EULER_GAMMA = 0.57721566490153286061
_SICI_SERIES_LIMIT = 4.0
_SICI_FRACTION_TERMS = 400
_FRESNEL_SERIES_LIMIT = 1.6
_FRESNEL_FRACTION_TERMS = 400
_SERIES_TERMS = 80


def _alternating_series(square, first, ratio):
    """``sum_k t_k`` with ``t_0 = first`` and ``t_{k+1} = t_k * square * ratio(k)``."""
    term = first.copy()
    total = first.copy()
    for k in range(_SERIES_TERMS):
        term = term * square * ratio(k)
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def _si_series(x):
    # (-1)^k x^(2k+1) / ((2k+1) (2k+1)!): ratio -x^2 (2k+1) / ((2k+3)^2 (2k+2))
    return _alternating_series(x * x, x, lambda k: -(2.0 * k + 1.0) / (
        (2.0 * k + 3.0) ** 2 * (2.0 * k + 2.0)))


def _ci_series(x):
    # gamma + log x + sum_{k>=1} (-1)^k x^(2k) / (2k (2k)!); the sum starts at -x^2/4
    square = x * x
    first = -0.25 * square
    rest = _alternating_series(square, first, lambda k: -(2.0 * k + 2.0) / (
        (2.0 * k + 4.0) * (2.0 * k + 3.0) * (2.0 * k + 4.0)))
    return _EULER_GAMMA + np.log(x) + rest


def _e1_imaginary(x):
    """``E1(i x)`` for ``x > 4``: ``e^(-z) / (z + 1 - 1/(z + 3 - 4/(z + 5 - ...)))``."""
    z = 1j * x
    fraction = z + 1.0 + 2.0 * _SICI_FRACTION_TERMS
    for i in range(_SICI_FRACTION_TERMS, 0, -1):
        fraction = (z + 2.0 * i - 1.0) - (i * i) / fraction
    return np.exp(-z) / fraction


def _two_branches(x, limit, near, far, at_infinity):
    """For ``x >= 0``: ``near(x)`` up to ``limit``, ``far(x)`` beyond, ``at_infinity`` at inf
    (nan stays nan)."""
    out = np.full_like(x, np.nan)
    _apply(out, x <= limit, near, x)
    _apply(out, (x > limit) & np.isfinite(x), far, x)
    out[x == np.inf] = at_infinity
    return out


def _si_positive(x):
    return _two_branches(x, _SICI_SERIES_LIMIT, _si_series,
                         lambda v: 0.5 * math.pi + _e1_imaginary(v).imag, 0.5 * math.pi)


def _ci_positive(x):
    return _two_branches(x, _SICI_SERIES_LIMIT, _ci_series,
                         lambda v: -_e1_imaginary(v).real, 0.0)


def si_numpy(x):
    """The sine integral ``Si(x)`` elementwise (odd, ``pi/2`` at infinity).

    >>> round(float(si_numpy(np.float64(1.0))), 15)
    0.946083070367183
    """
    x, finish = _as_work(x)
    return finish(np.copysign(_si_positive(np.abs(x)), x))


def ci_numpy(x):
    """The cosine integral ``Ci(|x|)`` elementwise (SciPy's real ``sici``): -inf at 0.

    >>> round(float(ci_numpy(np.float64(1.0))), 15)
    0.337403922900968
    """
    x, finish = _as_work(x)
    magnitude = np.abs(x)
    out = np.full_like(x, np.nan)
    _apply(out, magnitude > 0, _ci_positive, magnitude)
    out[magnitude == 0] = -np.inf
    return finish(out)


def _fresnel_s_series(x):
    # (-1)^k (pi/2)^(2k+1) x^(4k+3) / ((2k+1)! (4k+3)), in powers of t = (pi/2 x^2)^2
    half_pi_square = 0.5 * math.pi * x * x
    return _alternating_series(half_pi_square ** 2, half_pi_square * x / 3.0, lambda k: -(
        4.0 * k + 3.0) / ((2.0 * k + 2.0) * (2.0 * k + 3.0) * (4.0 * k + 7.0)))


def _fresnel_c_series(x):
    # (-1)^k (pi/2)^(2k) x^(4k+1) / ((2k)! (4k+1))
    half_pi_square = 0.5 * math.pi * x * x
    return _alternating_series(half_pi_square ** 2, x.copy(), lambda k: -(
        4.0 * k + 1.0) / ((2.0 * k + 1.0) * (2.0 * k + 2.0) * (4.0 * k + 5.0)))


def laplace_fraction(z, terms: int):
    """``z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))``, ``terms`` terms from the tail: ``erfc(z) =
    exp(-z^2) / (sqrt(pi) fraction)`` for ``Re z > 0`` away from 0."""
    fraction = z
    for k in range(terms, 0, -1):
        fraction = z + (0.5 * k) / fraction
    return fraction


def _half_x_square_turns(x):
    """``x^2 / 2 mod 2`` for ``x >= 0`` without the rounding of ``x^2`` (its error times
    ``pi`` would be the phase error): ``x = a + b`` with ``a`` of 26 bits (Veltkamp's split),
    so ``a^2 / 2`` and ``a b`` are exact and only the small ``b^2 / 2`` is rounded. From 2^54
    on x is a multiple of 4 and the answer is 0."""
    huge = x >= 2.0 ** 54
    x = np.where(huge, 0.0, x)
    scaled = 134217729.0 * x
    a = scaled - (scaled - x)
    b = x - a
    turns = np.fmod(0.5 * a * a, 2.0) + np.fmod(a * b, 2.0) + 0.5 * b * b
    return np.where(huge, 0.0, np.fmod(turns, 2.0))


def _fresnel_pair_far(x):
    """``(S, C)`` for ``x > 1.6`` from ``C + i S = (1 + i)/2 (1 - erfc(z))``, ``z = sqrt(pi)/2
    (1 - i) x``, where ``exp(-z^2) = exp(i pi x^2 / 2)``."""
    z = 0.5 * math.sqrt(math.pi) * (1.0 - 1.0j) * np.minimum(x, 1e150)
    phase = math.pi * _half_x_square_turns(x)
    erfc = (np.cos(phase) + 1.0j * np.sin(phase)) / (
        math.sqrt(math.pi) * laplace_fraction(z, _FRESNEL_FRACTION_TERMS))
    value = 0.5 * (1.0 + 1.0j) * (1.0 - erfc)
    return value.imag, value.real


def _fresnel_positive(x, which: int):
    return _two_branches(x, _FRESNEL_SERIES_LIMIT,
                         _fresnel_s_series if which == 0 else _fresnel_c_series,
                         lambda v: _fresnel_pair_far(v)[which], 0.5)


def fresnel_s_numpy(x):
    """The Fresnel integral ``S(x) = int_0^x sin(pi t^2 / 2) dt`` elementwise (odd).

    >>> round(float(fresnel_s_numpy(np.float64(1.0))), 15)
    0.438259147390355
    """
    x, finish = _as_work(x)
    return finish(np.copysign(_fresnel_positive(np.abs(x), 0), x))


def fresnel_c_numpy(x):
    """The Fresnel integral ``C(x) = int_0^x cos(pi t^2 / 2) dt`` elementwise (odd).

    >>> round(float(fresnel_c_numpy(np.float64(1.0))), 15)
    0.779893400376823
    """
    x, finish = _as_work(x)
    return finish(np.copysign(_fresnel_positive(np.abs(x), 1), x))


# --------------------------------------------------------------------------- primitives

def _sinc_derivative(x):
    """``sin x / x``, 1 at x = 0 (the division is made at a stand-in 1 there)."""
    at_zero = ew.eq(x, ew.full_like(x, 0))
    safe = ew.select(at_zero, ew.full_like(x, 1), x)
    return ew.select(at_zero, ew.full_like(x, 1), ew.div(ew.sin(safe), safe))


def _cos_over_x(x):
    return ew.div(ew.cos(x), x)


def _half_pi_square(x):
    return ew.mul(ew.mul(x, x), ew.scalar_like(x, 0.5 * math.pi))


si = _smooth_primitive("si", si_numpy, lambda x, ans: _sinc_derivative(x),
                       lambda u: ts.chain(u, si(u[0]), lambda v: ts.sin_cos(u)[0] / u))
ci = _smooth_primitive("ci", ci_numpy, lambda x, ans: _cos_over_x(x),
                       lambda u: ts.chain(u, ci(u[0]), lambda v: ts.sin_cos(u)[1] / u))
fresnel_s = _smooth_primitive(
    "fresnel_s", fresnel_s_numpy, lambda x, ans: ew.sin(_half_pi_square(x)),
    lambda u: ts.chain(u, fresnel_s(u[0]),
                       lambda v: ts.sin_cos(u * u * (0.5 * math.pi))[0]))
fresnel_c = _smooth_primitive(
    "fresnel_c", fresnel_c_numpy, lambda x, ans: ew.cos(_half_pi_square(x)),
    lambda u: ts.chain(u, fresnel_c(u[0]),
                       lambda v: ts.sin_cos(u * u * (0.5 * math.pi))[1]))
