"""Kummer's confluent hypergeometric function ``hyp1f1(a, b, x) = sum_k (a)_k / (b)_k x^k / k!``
as an elementwise primitive of three operands (``funcgrad.scipy.special.hyp1f1``), and Gauss's
``hyp2f1(a, b, c, x) = sum_k (a)_k (b)_k / (c)_k x^k / k!`` of four (below).

The NumPy implementation sums the series in float64 (float32 rounded once at the end) until
its terms stop counting (at most 20000 of them: enough for x up to about 5000). For x < 0 it
sums Kummer's transform ``exp(x) hyp1f1(b - a, b, -x)`` instead, whose terms are positive for
``b >= a > 0``. Where every term has one sign (a, b > 0 and x >= 0; b >= a > 0 and x < 0) the
relative error is a few ulps per term (within 7e-15 of mpmath on a, b in [0.05, 20], |x| <=
50, where SciPy's is off by up to 5e-12); elsewhere the series alternates and loses about
``log10(max term / value)`` digits, as any summation would (SciPy switches to other
expansions there). ``b`` a non-positive integer is a pole: inf (also where a non-positive
integer ``a >= b`` ends the series first, where SciPy gives the polynomial).

Derivatives, as JAX's: in x, ``a / b hyp1f1(a + 1, b + 1, x)`` (to any order); in a and b
none: a derivative with respect to them raises ``TypeError`` naming the parameter. No numba
template: compiled programs call the NumPy implementation as one step.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.errors import at_user_line
from ..core.primitive import Primitive
from . import elementwise as ew
from . import structural
from . import taylor as ts
from .incomplete import _floating_shape

_MAX_TERMS = 20000


def _series(a, b, x):
    term = np.ones_like(x)
    total = np.ones_like(x)
    for k in range(_MAX_TERMS):
        term = term * ((a + k) / (b + k) * x / (k + 1.0))
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def hyp1f1_numpy(a, b, x):
    """``1F1(a; b; x)`` elementwise (SciPy's ``hyp1f1``).

    >>> round(float(hyp1f1_numpy(1.0, 1.0, 1.0)), 12)     # exp(1)
    2.718281828459
    """
    a, b, x = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(x))
    shape, dtype = x.shape, np.result_type(a.dtype, b.dtype, x.dtype, np.float32)
    a, b, x = (v.astype(np.float64).ravel() for v in (a, b, x))
    out = np.full_like(x, np.nan)
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(x)
    pole = (b <= 0) & (b == np.round(b))
    regular = finite & ~pole
    with np.errstate(over="ignore", invalid="ignore"):
        upper = regular & (x >= 0)
        if upper.any():
            out[upper] = _series(a[upper], b[upper], x[upper])
        lower = regular & (x < 0)
        if lower.any():
            al, bl, xl = a[lower], b[lower], x[lower]
            out[lower] = np.exp(xl) * _series(bl - al, bl, -xl)
    out[finite & pole] = np.inf
    out[finite & (x == 0) & ~pole] = 1.0
    return out.reshape(shape).astype(dtype)[()]


def _no_derivative(argument: str):
    return TypeError(at_user_line(
        f"hyp1f1: no derivative with respect to its parameter {argument} (as in JAX: only "
        f"x's is defined); hold {argument} constant, or pass it through fg.stop_gradient"))


def _in_x(a, b, x, order: int):
    """``d^order/dx^order 1F1(a, b, x) = (a)_order / (b)_order 1F1(a + order, b + order, x)``."""
    ratio = ew.full_like(x, 1)
    for i in range(order):
        ratio = ew.mul(ratio, ew.div(ew.add(a, ew.full_like(a, i)), ew.add(b, ew.full_like(b, i))))
    shifted_a = ew.add(a, ew.full_like(a, order))
    shifted_b = ew.add(b, ew.full_like(b, order))
    return ew.mul(ratio, hyp1f1_p.bind(shifted_a, shifted_b, x))


hyp1f1_p = Primitive("hyp1f1", "elementwise")
hyp1f1_p.impl = hyp1f1_numpy
hyp1f1_p.abstract_eval = _floating_shape("hyp1f1")


def _check(flags):
    for argument, flag in zip(("a", "b"), flags):
        if flag:
            raise _no_derivative(argument)


def _jvp(primals, tangents):
    _check([t is not None for t in tangents[:2]])
    ans = hyp1f1_p.bind(*primals)
    if tangents[2] is None:
        return ans, None
    return ans, ew._broadcast_to(ew.mul(tangents[2], _in_x(*primals, 1)), np.shape(ans))


def _vjp(needs, g, ans, a, b, x):
    _check(needs[:2])
    dx = structural.unbroadcast(ew.mul(g, _in_x(a, b, x, 1)), np.shape(x)) if needs[2] else None
    return None, None, dx


def _taylor(primals, series):
    _check([any(term is not None for term in s) for s in series[:2]])
    a, b, x = primals
    u = ts.Series.of(x, series[2])
    v = ts.compose(u, [hyp1f1_p.bind(a, b, x)] + [_in_x(a, b, x, j)
                                                  for j in range(1, u.order + 1)])
    return v[0], v.tail()


hyp1f1_p.jvp, hyp1f1_p.vjp, hyp1f1_p.taylor = _jvp, _vjp, _taylor
hyp1f1_p.batch = ew._elementwise_batch(hyp1f1_p)


def hyp1f1(a, b, x):
    """``1F1(a; b; x)`` on floating operands of one dtype."""
    return hyp1f1_p.bind(a, b, x)


# ----------------------------------------------------------------------------------- hyp2f1
# Gauss's hypergeometric function on the real line up to 1. The NumPy implementation sums the
# series in float64 (float32 rounded once at the end) for 0 <= x < 1, and for x < 0 Pfaff's
# transform ``(1 - x)^(-a) 2F1(a, c - b; c; x / (x - 1))``, whose argument lies in [0, 1). The
# series' terms shrink like ``x^k`` (at most 20000 of them: x up to about 0.998, and down to
# -500 by Pfaff). For 0.9 < x < 1 with c - a - b at least 0.05 from an integer, the 1 - x
# transformation (two series in 1 - x, Gamma factors from ``math.gamma``) instead, so x may
# come as close to 1 as it likes there; with c - a - b (nearly) an integer the direct series
# stays, and beyond x = 0.998 its 20000 terms do not suffice. Where the terms keep one sign
# the relative error is about 1e-15 for |x| <= 1/2, growing with the number of terms to 2e-14
# at 0.998 or -400, and 1.5e-14 by the transformation (tests/test_scipy_special_oscillatory
# .py); where the parameters make them change sign the usual cancellation applies. At x = 1
# Gauss's sum ``G(c) G(c - a - b) / (G(c - a) G(c - b))`` (inf where c - a - b <= 0), beyond
# 1 nan (the function is complex there). ``c`` a
# non-positive integer is a pole (inf) unless a non-positive integer ``a`` or ``b`` ends the
# series first (a polynomial). Derivatives as hyp1f1's: in x ``a b / c 2F1(a + 1, b + 1; c +
# 1; x)`` to any order; none in a, b and c (``TypeError``), as JAX.

def _gauss_series(a, b, c, x):
    term = np.ones_like(x)
    total = np.ones_like(x)
    for k in range(_MAX_TERMS):
        term = term * ((a + k) * (b + k) / ((c + k) * (k + 1.0)) * x)
        total = total + term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return total


def _gauss_sum(a, b, c):
    """``2F1(a, b; c; 1)`` elementwise by Gauss's theorem (inf where c - a - b <= 0)."""
    out = np.empty_like(a)
    for i, (ai, bi, ci) in enumerate(zip(a, b, c)):
        if ci - ai - bi <= 0:
            out[i] = np.inf
            continue
        try:
            out[i] = (math.gamma(ci) * math.gamma(ci - ai - bi)
                      / (math.gamma(ci - ai) * math.gamma(ci - bi)))
        except (OverflowError, ValueError):   # a pole of a denominator: the sum is 0
            out[i] = 0.0 if math.isfinite(ci) else np.nan
    return out


_MIRROR_FROM = 0.9
_MIRROR_MARGIN = 0.05


def _reciprocal_gamma(v):
    """``1 / Gamma(v)`` elementwise (0 at the poles)."""
    def one(value):
        if value <= 0 and value == round(value):
            return 0.0
        try:
            return 1.0 / math.gamma(value)
        except OverflowError:
            return 0.0
    return np.array([one(float(value)) for value in v])


def _gamma(v):
    with np.errstate(divide="ignore"):
        return 1.0 / _reciprocal_gamma(v)


def _near_one(a, b, c, x):
    """``2F1(a, b; c; x)`` for x in (0.9, 1) and c - a - b not an integer: ``G(c) G(c - a -
    b) / (G(c - a) G(c - b)) 2F1(a, b; a + b - c + 1; 1 - x) + (1 - x)^(c - a - b) G(c) G(a +
    b - c) / (G(a) G(b)) 2F1(c - a, c - b; c - a - b + 1; 1 - x)``, both series in 1 - x <
    0.1."""
    y = 1.0 - x
    excess = c - a - b
    gamma_c = _gamma(c)
    first = (gamma_c * _gamma(excess) * _reciprocal_gamma(c - a) * _reciprocal_gamma(c - b)
             * _gauss_series(a, b, 1.0 - excess, y))
    second = (y ** excess * gamma_c * _gamma(-excess) * _reciprocal_gamma(a)
              * _reciprocal_gamma(b) * _gauss_series(c - a, c - b, 1.0 + excess, y))
    return first + second


def _ends_before_pole(a, c):
    """Where ``a`` is a non-positive integer with ``a > c``: the series stops before
    ``(c)_k`` reaches 0."""
    return (a <= 0) & (a == np.round(a)) & (a > c)


def hyp2f1_numpy(a, b, c, x):
    """``2F1(a, b; c; x)`` elementwise for ``x <= 1`` (SciPy's ``hyp2f1``; nan beyond 1).

    >>> round(float(hyp2f1_numpy(1.0, 1.0, 2.0, 0.5)), 12)     # -log(1 - x) / x
    1.38629436112
    """
    a, b, c, x = np.broadcast_arrays(*(np.asarray(v) for v in (a, b, c, x)))
    shape = x.shape
    dtype = np.result_type(a.dtype, b.dtype, c.dtype, x.dtype, np.float32)
    a, b, c, x = (v.astype(np.float64).ravel() for v in (a, b, c, x))
    out = np.full_like(x, np.nan)
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(x)
    pole = ((c <= 0) & (c == np.round(c)) & ~_ends_before_pole(a, c)
            & ~_ends_before_pole(b, c))
    regular = finite & ~pole
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        excess = c - a - b
        # near 1 the series needs ~1/(1 - x) terms: the 1 - x transformation instead, where
        # c - a - b keeps away from the integers (there its two terms would cancel)
        mirrored = (regular & (x > _MIRROR_FROM) & (x < 1)
                    & (np.abs(excess - np.round(excess)) > _MIRROR_MARGIN))
        upper = regular & (x >= 0) & (x < 1) & ~mirrored
        if upper.any():
            out[upper] = _gauss_series(a[upper], b[upper], c[upper], x[upper])
        if mirrored.any():
            out[mirrored] = _near_one(a[mirrored], b[mirrored], c[mirrored], x[mirrored])
        lower = regular & (x < 0)
        if lower.any():
            al, bl, cl, xl = a[lower], b[lower], c[lower], x[lower]
            out[lower] = (1.0 - xl) ** (-al) * _gauss_series(al, cl - bl, cl, xl / (xl - 1.0))
        at_one = regular & (x == 1)
        if at_one.any():
            out[at_one] = _gauss_sum(a[at_one], b[at_one], c[at_one])
    out[finite & pole & (x <= 1)] = np.inf
    return out.reshape(shape).astype(dtype)[()]


def _hyp2f1_in_x(a, b, c, x, order: int):
    """``d^n/dx^n 2F1 = (a)_n (b)_n / (c)_n 2F1(a + n, b + n; c + n; x)``."""
    ratio = ew.full_like(x, 1)
    for i in range(order):
        ratio = ew.mul(ratio, ew.div(ew.mul(ew.add(a, ew.full_like(a, i)),
                                            ew.add(b, ew.full_like(b, i))),
                                     ew.add(c, ew.full_like(c, i))))
    shifted = [ew.add(v, ew.full_like(v, order)) for v in (a, b, c)]
    return ew.mul(ratio, hyp2f1_p.bind(*shifted, x))


def _hyp2f1_check(flags):
    for argument, flag in zip(("a", "b", "c"), flags):
        if flag:
            raise TypeError(at_user_line(
                f"hyp2f1: no derivative with respect to its parameter {argument} (as in JAX: "
                f"only x's is defined); hold {argument} constant, or pass it through "
                "fg.stop_gradient"))


def _hyp2f1_jvp(primals, tangents):
    _hyp2f1_check([t is not None for t in tangents[:3]])
    ans = hyp2f1_p.bind(*primals)
    if tangents[3] is None:
        return ans, None
    return ans, ew._broadcast_to(ew.mul(tangents[3], _hyp2f1_in_x(*primals, 1)), np.shape(ans))


def _hyp2f1_vjp(needs, g, ans, a, b, c, x):
    _hyp2f1_check(needs[:3])
    dx = (structural.unbroadcast(ew.mul(g, _hyp2f1_in_x(a, b, c, x, 1)), np.shape(x))
          if needs[3] else None)
    return None, None, None, dx


def _hyp2f1_taylor(primals, series):
    _hyp2f1_check([any(term is not None for term in s) for s in series[:3]])
    a, b, c, x = primals
    u = ts.Series.of(x, series[3])
    v = ts.compose(u, [hyp2f1_p.bind(a, b, c, x)] + [_hyp2f1_in_x(a, b, c, x, j)
                                                     for j in range(1, u.order + 1)])
    return v[0], v.tail()


hyp2f1_p = Primitive("hyp2f1", "elementwise")
hyp2f1_p.impl = hyp2f1_numpy
hyp2f1_p.abstract_eval = _floating_shape("hyp2f1")
hyp2f1_p.jvp, hyp2f1_p.vjp, hyp2f1_p.taylor = _hyp2f1_jvp, _hyp2f1_vjp, _hyp2f1_taylor
hyp2f1_p.batch = ew._elementwise_batch(hyp2f1_p)


def hyp2f1(a, b, c, x):
    """``2F1(a, b; c; x)`` on floating operands of one dtype."""
    return hyp2f1_p.bind(a, b, c, x)
