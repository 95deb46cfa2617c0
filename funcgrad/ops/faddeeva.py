"""The Faddeeva function ``w(z) = exp(-z^2) erfc(-i z)`` of complex z as an elementwise
primitive (SciPy's ``wofz``; ``funcgrad.scipy.special.wofz``). It is entire, with ``w'(z) =
-2 z w(z) + 2i / sqrt(pi)``; its derivative rules use that (holomorphic: the tangent times
w', as for ``exp``), so they nest to any order.

The implementation is vectorised NumPy written here from the mathematics, in complex128
(complex64 inputs rounded once at the end). In the closed upper half plane:

- for ``|z| < 8``, Weideman's rational expansion (SIAM J. Numer. Anal. 31, 1994): with ``L =
  sqrt(N / sqrt 2)`` and ``Z = (L + i z) / (L - i z)``, ``w(z) = 2 p(Z) / (L - i z)^2 +
  1 / (sqrt(pi) (L - i z))``, ``p`` a polynomial of degree N - 1 = 47 whose coefficients are
  the Fourier coefficients of ``(L^2 + t^2) exp(-t^2)`` on ``t = L tan(theta / 2)``, computed
  once by an FFT at import;
- beyond, Laplace's continued fraction ``w(z) = i / (sqrt(pi) (z - (1/2)/(z - 1/(z - (3/2)/(z
  - ...)))))``, 100 terms from the tail.

In the lower half plane ``w(z) = 2 exp(-z^2) - w(-z)``, which overflows (to inf, as SciPy)
where ``exp(-z^2)`` does. Accuracy against SciPy: relative errors (to ``|w|``) below 2e-14 over
the plane (``tests/test_scipy_special_oscillatory.py``); on the real axis beyond 8 the real
part ``exp(-x^2)`` is below ``1e-27 |w|`` and returned as 0.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.errors import ShapeError
from . import elementwise as ew
from . import taylor as ts

_TERMS = 48                  # Weideman's N
_FRACTION_FROM = 8.0
_FRACTION_TERMS = 100
_SQRT_PI = math.sqrt(math.pi)
_TWO_I_OVER_SQRT_PI = 2.0j / _SQRT_PI


def _weideman_coefficients(n: int):
    """``(L, a)``: the scale and the polynomial coefficients (highest power first)."""
    samples = 2 * n
    scale = math.sqrt(n / math.sqrt(2.0))
    theta = np.arange(-samples + 1, samples) * math.pi / samples
    t = scale * np.tan(0.5 * theta)
    values = np.concatenate([[0.0], np.exp(-t * t) * (scale * scale + t * t)])
    fourier = np.real(np.fft.fft(np.fft.fftshift(values))) / (2 * samples)
    return scale, fourier[1:n + 1][::-1].copy()


_SCALE, _COEFFICIENTS = _weideman_coefficients(_TERMS)


def _weideman(z):
    denominator = _SCALE - 1j * z
    ratio = (_SCALE + 1j * z) / denominator
    polynomial = np.zeros_like(z)
    for coefficient in _COEFFICIENTS:
        polynomial = polynomial * ratio + coefficient
    return 2.0 * polynomial / (denominator * denominator) + 1.0 / (_SQRT_PI * denominator)


def _laplace_fraction(z):
    fraction = z.copy()
    for k in range(_FRACTION_TERMS, 0, -1):
        fraction = z - (0.5 * k) / fraction
    return 1j / (_SQRT_PI * fraction)


def _upper_half(z):
    """``w(z)`` for ``Im z >= 0``."""
    out = np.full_like(z, complex(np.nan, np.nan))
    size = np.abs(z)
    near = size < _FRACTION_FROM
    if near.any():
        out[near] = _weideman(z[near])
    far = (size >= _FRACTION_FROM) & np.isfinite(size)
    if far.any():
        out[far] = _laplace_fraction(z[far])
    out[np.isinf(size) & ~np.isnan(z.real) & ~np.isnan(z.imag)] = 0.0
    return out


def wofz_numpy(z):
    """The Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)`` elementwise (SciPy's ``wofz``).

    >>> complex(np.round(wofz_numpy(np.complex128(1j)), 15))
    (0.427583576155807+0j)
    """
    z = np.asarray(z)
    dtype = z.dtype if z.dtype.kind == "c" else np.dtype(np.complex128)
    shape = z.shape
    z = z.astype(np.complex128).ravel()
    out = np.empty_like(z)
    upper = ~(z.imag < 0)
    out[upper] = _upper_half(z[upper])
    lower = ~upper
    if lower.any():
        minus = -z[lower]
        with np.errstate(over="ignore", invalid="ignore"):
            out[lower] = 2.0 * np.exp(-(minus * minus)) - _upper_half(minus)
    return out.reshape(shape).astype(dtype, copy=False)[()]


# --------------------------------------------------------------------------- the primitive

def _derivative(z, ans):
    """``w'(z) = -2 z w(z) + 2i / sqrt(pi)``."""
    return ew.add(ew.mul(ew.mul(z, ans), ew.scalar_like(z, -2.0)),
                  ew.scalar_like(z, _TWO_I_OVER_SQRT_PI))


def _series(u):
    """The series of ``v = w(u)`` from ``v' = (2i/sqrt(pi) - 2 u v) u'``."""
    value = ts.unknown(u.order, wofz(u[0]))
    ts.define_rate(value, (_TWO_I_OVER_SQRT_PI - u * value * 2.0) * ts.rate_of(u))
    return value


def _complex_only(z):
    if z.dtype.kind != "c":
        raise ShapeError(f"wofz takes a complex array, got {z.dtype.name} (convert it with "
                         "fg.numpy.asarray(x, complex) or use funcgrad.scipy.special.wofz)")
    return z


wofz = ew._unary("wofz", wofz_numpy, _derivative, taylor=_series)
wofz.primitive.abstract_eval = _complex_only
