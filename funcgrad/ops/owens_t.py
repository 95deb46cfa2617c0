"""Owen's T function ``T(h, a) = 1/(2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx`` as an
elementwise primitive of two operands (``funcgrad.scipy.special.owens_t``).

The NumPy implementation, in float64 (float32 rounded once at the end), uses that T is even in
h and odd in a, and brings ``a`` into [0, 1] by ``T(h, a) = (Q(h) + Q(a h)) / 2 - Q(h) Q(a h) -
T(a h, 1/a)`` for ``a > 1`` (``Q = 1 - ndtr``, each tail computed directly, so nothing
cancels). On ``0 <= a <= 1`` it is Gauss-Legendre quadrature with 48 nodes: for ``h <= 1`` of
``exp(-h^2 x^2 / 2) / (1 + x^2)`` over ``[0, a]``, and for ``h > 1`` of ``exp(-y^2 / 2) / (1 +
y^2 / h^2)`` over ``[0, min(a h, 9)]`` (``y = h x``; the rest of the Gaussian is below 3e-18
of it), times ``exp(-h^2 / 2) / (2 pi)`` (``/ h``): both integrands are analytic well beyond
their intervals, so 48 nodes reach double precision. Relative error against SciPy below 4e-14,
except for tiny ``a`` with h near 5, where SciPy's is off by up to 3e-13 and ours agrees with
mpmath's quadrature to 2e-16 (``tests/test_scipy_special_more.py``).

Derivatives, written with primitives so that they nest: ``dT/dh = -exp(-h^2 / 2) erf(a h /
sqrt 2) / (2 sqrt(2 pi))`` and ``dT/da = exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))``. No
numba template: compiled programs call the NumPy implementation as one step.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..core.primitive import Primitive
from . import elementwise as ew
from . import special as sp
from . import structural
from . import taylor as ts
from .incomplete import _floating_shape
from .special_functions import erfc_numpy

_NODES = 48
_GAUSSIAN_CUT = 9.0
_TWO_PI = 2.0 * math.pi
_SQRT_HALF = math.sqrt(0.5)


@functools.cache
def _legendre():
    """Gauss-Legendre nodes and weights moved to [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(_NODES)
    return (nodes + 1.0) / 2.0, weights / 2.0


def _owens_t_unit(h, a):
    """T(h, a) for h >= 0 and 0 <= a <= 1 (float64 arrays of one shape)."""
    nodes, weights = _legendre()
    near = h <= 1.0
    # h <= 1: over x in [0, a]
    x = a[:, None] * nodes
    small_h = np.where(near, h, 0.0)[:, None]
    inner = (np.exp(-0.5 * small_h * small_h * x * x) / (1.0 + x * x)) @ weights * a
    # h > 1: over y = h x in [0, min(a h, 9)]
    large_h = np.where(near, 2.0, h)
    length = np.minimum(a * large_h, _GAUSSIAN_CUT)
    y = length[:, None] * nodes
    outer = (np.exp(-0.5 * y * y) / (1.0 + (y / large_h[:, None]) ** 2)) @ weights * length
    outer = outer / large_h
    return np.exp(-0.5 * h * h) / _TWO_PI * np.where(near, inner, outer)


def _upper_tail(h):
    return 0.5 * erfc_numpy(h * _SQRT_HALF)


def owens_t_numpy(h, a):
    """Owen's T function elementwise (SciPy's ``owens_t``).

    >>> round(float(owens_t_numpy(np.float64(0.0), np.float64(1.0))), 15)    # 1/8
    0.125
    """
    h, a = np.broadcast_arrays(np.asarray(h), np.asarray(a))
    shape, dtype = h.shape, np.result_type(h.dtype, a.dtype, np.float32)
    h, a = np.abs(h.astype(np.float64).ravel()), a.astype(np.float64).ravel()
    sign, a = np.sign(a), np.abs(a)
    out = np.full_like(h, np.nan)
    finite = np.isfinite(h) & ~np.isnan(a)
    unit = finite & (a <= 1.0)
    if unit.any():
        out[unit] = _owens_t_unit(h[unit], a[unit])
    wide = finite & (a > 1.0)
    if wide.any():
        hw, aw = h[wide], a[wide]
        infinite_a = np.isinf(aw)
        finite_aw = np.where(infinite_a, 2.0, aw)
        scaled = finite_aw * hw
        q, q_scaled = _upper_tail(hw), _upper_tail(scaled)
        reflected = (0.5 * (q + q_scaled) - q * q_scaled
                     - _owens_t_unit(np.where(np.isfinite(scaled), scaled, 0.0), 1.0 / finite_aw))
        reflected = np.where(np.isinf(scaled), 0.5 * q, reflected)
        # T(h, inf) = Q(h) / 2
        out[wide] = np.where(infinite_a, 0.5 * q, reflected)
    out[np.isinf(h) & ~np.isnan(a)] = 0.0
    return (sign * out).reshape(shape).astype(dtype)[()]


# --------------------------------------------------------------------------- primitive

def _derivative_h(h, a):
    """``-exp(-h^2 / 2) erf(a h / sqrt 2) / (2 sqrt(2 pi))``."""
    gaussian = ew.exp(ew.mul(ew.mul(h, h), ew.scalar_like(h, -0.5)))
    return ew.mul(ew.mul(gaussian, sp.erf(ew.mul(ew.mul(a, h), ew.scalar_like(h, _SQRT_HALF)))),
                  ew.scalar_like(h, -1.0 / (2.0 * math.sqrt(_TWO_PI))))


def _derivative_a(h, a):
    """``exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))``."""
    spread = ew.add(ew.full_like(a, 1), ew.mul(a, a))
    return ew.div(ew.exp(ew.mul(ew.mul(ew.mul(h, h), spread), ew.scalar_like(h, -0.5))),
                  ew.mul(spread, ew.scalar_like(a, _TWO_PI)))


owens_t_p = Primitive("owens_t", "elementwise")
owens_t_p.impl = owens_t_numpy
owens_t_p.abstract_eval = _floating_shape("owens_t")


def _jvp(primals, tangents):
    (h, a), (th, ta) = primals, tangents
    ans = owens_t_p.bind(h, a)
    out = None
    for t, partial in ((th, _derivative_h), (ta, _derivative_a)):
        if t is not None:
            term = ew.mul(t, partial(h, a))
            out = term if out is None else ew.add(out, term)
    return ans, None if out is None else ew._broadcast_to(out, np.shape(ans))


def _vjp(needs, g, ans, h, a):
    return tuple(structural.unbroadcast(ew.mul(g, partial(h, a)), np.shape(arg))
                 if need else None
                 for need, arg, partial in zip(needs, (h, a), (_derivative_h, _derivative_a)))


def _erf_series(w):
    return ts.chain(w, sp.erf(w[0]), lambda v: ts.exp(-w * w) * (2.0 / math.sqrt(math.pi)))


def _taylor(primals, series):
    """``dv/dt = dT/dh h' + dT/da a'``, each partial the series of its closed form."""
    h, a = ts.Series.of(primals[0], series[0]), ts.Series.of(primals[1], series[1])
    value = ts.unknown(h.order, owens_t_p.bind(*primals))
    d_h = ts.exp(h * h * -0.5) * _erf_series(a * h * _SQRT_HALF) * (
        -1.0 / (2.0 * math.sqrt(_TWO_PI)))
    spread = a * a + 1.0
    d_a = ts.exp(h * h * spread * -0.5) / (spread * _TWO_PI)
    ts.define_rate(value, d_h * ts.rate_of(h) + d_a * ts.rate_of(a))
    return value[0], value.tail()


owens_t_p.jvp, owens_t_p.vjp, owens_t_p.taylor = _jvp, _vjp, _taylor
owens_t_p.batch = ew._elementwise_batch(owens_t_p)


def owens_t(h, a):
    """``T(h, a)`` on floating operands of one dtype."""
    return owens_t_p.bind(h, a)
