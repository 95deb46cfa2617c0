"""Kummer's confluent hypergeometric function ``hyp1f1(a, b, x) = sum_k (a)_k / (b)_k x^k / k!``
as an elementwise primitive of three operands (``funcgrad.scipy.special.hyp1f1``).

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
