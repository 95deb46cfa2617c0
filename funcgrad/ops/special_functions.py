"""Special functions as elementwise primitives: ``lgamma`` (log |Gamma|), ``digamma``,
``polygamma`` (order ``n`` a static parameter), ``erfc``, ``erfinv``, ``ndtri`` (the inverse of
the standard normal CDF), ``i0e`` and ``i1e`` (exponentially scaled modified Bessel functions
of orders 0 and 1). ``funcgrad.scipy.special`` builds its functions from these.

Each implementation is vectorised NumPy written here from the mathematics (no SciPy), computed
in float64 (float32 inputs are rounded once at the end). Each derivative is written with
primitives, so derivatives nest to any order:
``lgamma' = digamma``, ``digamma' = polygamma(1)``, ``polygamma(n)' = polygamma(n + 1)``,
``erfc' = -2/sqrt(pi) exp(-x^2)``, ``erfinv' = sqrt(pi)/2 exp(erfinv^2)``,
``ndtri' = sqrt(2 pi) exp(ndtri^2 / 2)``, ``i0e' = i1e - sign(x) i0e`` and
``i1e' = i0e - i1e (sign(x) + 1/x)`` (``1/2`` at 0).

Accuracy, measured against SciPy (``tests/test_scipy_special.py`` keeps these bounds):
relative errors in float64 over the ranges named there are below 1e-14 for ``lgamma`` away
from its zeros (x = 1, 2, where the error is below 1e-16 absolute), ``digamma`` (including its
positive root, by a Taylor series about it), ``polygamma``, ``erfc`` (to x = 26), ``erfinv``,
``ndtri`` (down to p = 1e-300), ``i0e`` and ``i1e``; see the module's tests for the numbers.
These primitives have no numba templates: compiled programs call these NumPy implementations
as one step each.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import taylor as ts
from .special import erf_numpy

_EULER_GAMMA = 0.57721566490153286061
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI
# Bernoulli numbers B_2, B_4, ..., B_20.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)


# ------------------------------------------------------------------------------ helpers

def _as_work(x):
    """``x`` as a flat float64 array, and how to give a result back in ``x``'s shape/dtype."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    shape = x.shape

    def finish(out):
        return out.reshape(shape).astype(dtype, copy=False)[()]
    return x.astype(np.float64).ravel(), finish


def _apply(out, mask, fn, x):
    """``out[mask] = fn(x[mask])`` (skipped where the mask is empty)."""
    if mask.any():
        out[mask] = fn(x[mask])


def _horner(coefficients, t):
    """``sum_k coefficients[k] t**k``."""
    total = np.full_like(t, coefficients[-1])
    for c in coefficients[-2::-1]:
        total = total * t + c
    return total


def _reflection_sin(x):
    """``|sin(pi x)|`` without the rounding of ``pi x`` for large ``|x|``: the distance to the
    nearest integer is exact."""
    return np.abs(np.sin(math.pi * (x - np.round(x))))


# ----------------------------------------------------------------------- Hurwitz zeta

def _hurwitz_zeta(s, a):
    """``zeta(s, a) = sum_k (a + k)**-s`` for real ``s > 0``, ``s != 1`` (a number or an array
    broadcasting with ``a``; below 1 the analytic continuation) and float64 ``a`` (any sign;
    a non-positive integer is a pole): the first terms summed directly until ``a + k >=
    max(15, s + 5)``, the rest by Euler-Maclaurin with ten Bernoulli terms (the remainder's
    terms shrink by at least 20x each there)."""
    a = np.asarray(a, np.float64)
    s = np.asarray(s, np.float64)
    start = np.maximum(15.0, s + 5.0)
    counts = np.clip(np.ceil(start - a), 0, None)
    b = a + counts
    # The tail sum_{k >= 0} (b + k)**-s.
    total = b ** (1.0 - s) / (s - 1.0) + 0.5 * b ** -s
    rising = s                      # s (s + 1) ... (s + 2j - 2)
    factorial = 2.0                 # (2j)!
    power = b ** (-s - 1.0)         # b**(-s - 2j + 1)
    inverse_square = 1.0 / (b * b)
    for j, bernoulli in enumerate(_BERNOULLI, start=1):
        total = total + (bernoulli / factorial * rising) * power
        rising = rising * (s + 2 * j - 1) * (s + 2 * j)
        factorial *= (2 * j + 1) * (2 * j + 2)
        power = power * inverse_square
    # The direct terms, smallest first.
    for k in range(int(counts.max(initial=0)) - 1, -1, -1):
        total = total + np.where(k < counts, (a + k) ** -s, 0.0)
    return total


# ------------------------------------------------------------------------------- lgamma

@functools.cache
def _lgamma_series():
    """``lgamma(2 + e) = (1 - gamma) e + sum_{k>=2} (-1)**k (zeta(k) - 1) / k e**k``: for
    ``|e| <= 1/2`` the k-th term is below ``4**-k / k``; 30 terms reach double precision."""
    coefficients = [0.0, 1.0 - _EULER_GAMMA]
    for k in range(2, 31):
        coefficients.append((-1) ** k * float(_hurwitz_zeta(k, 2.0)) / k)
    return tuple(coefficients)


def _lgamma_near_two(e):
    return _horner(_lgamma_series(), e)


def _lgamma_positive(x):
    """log Gamma(x) for x > 0 (float64 array)."""
    out = np.empty_like(x)
    # (-1/2, 1/2): lgamma(x + 2) - log(x) - log(1 + x), with e = x exact.
    small = x < 0.5
    _apply(out, small, lambda v: _lgamma_near_two(v) - np.log1p(v) - np.log(v), x)
    # [1/2, 3/2): lgamma(x + 1) - log(x); x - 1 is exact.
    near_one = (x >= 0.5) & (x < 1.5)
    _apply(out, near_one, lambda v: _lgamma_near_two(v - 1.0) - np.log1p(v - 1.0), x)
    near_two = (x >= 1.5) & (x < 2.5)
    _apply(out, near_two, lambda v: _lgamma_near_two(v - 2.0), x)
    # [5/2, 13): down to [3/2, 5/2) by Gamma(x) = (x - 1) ... (x - m) Gamma(x - m); every
    # term is positive and each x - i exact.
    middle = (x >= 2.5) & (x < 13.0)

    def shifted(v):
        steps = np.floor(v - 1.5)
        product = np.ones_like(v)
        for i in range(1, int(steps.max()) + 1):
            product = np.where(i <= steps, product * (v - i), product)
        return _lgamma_near_two(v - steps - 2.0) + np.log(product)
    _apply(out, middle, shifted, x)
    # [13, inf): Stirling's series, eight terms.
    large = x >= 13.0

    def stirling(v):
        inverse = 1.0 / v
        inverse_square = inverse * inverse
        series = _horner([_BERNOULLI[k] / ((2 * k + 1) * (2 * k + 2)) for k in range(8)],
                         inverse_square) * inverse
        with np.errstate(over="ignore", invalid="ignore"):
            value = (v - 0.5) * np.log(v) - v + _HALF_LOG_TWO_PI + series
        return np.where(np.isinf(v), np.inf, value)
    _apply(out, large, stirling, x)
    return out


def lgamma_numpy(x):
    """``log|Gamma(x)|`` elementwise (SciPy's ``gammaln``): +inf at the poles (0, -1, ...).

    >>> round(float(lgamma_numpy(np.float64(0.5))), 12) == round(0.5 * math.log(math.pi), 12)
    True
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    positive = x > 0
    _apply(out, positive, _lgamma_positive, x)
    negative = x <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # (-1/2, 0): lgamma(x + 2) - log|x| - log(1 + x), as for small positive x.
        near_zero = negative & (x > -0.5)
        _apply(out, near_zero, lambda v: _lgamma_near_two(v) - np.log1p(v) - np.log(-v), x)
        # Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        reflected = negative & (x <= -0.5)
        _apply(out, reflected, lambda v: np.log(math.pi / _reflection_sin(v))
               - _lgamma_positive(1.0 - v), x)
        out[negative & (x == np.round(x))] = np.inf
        out[x == -np.inf] = np.inf
    return finish(out)


# ------------------------------------------------------------------------------ digamma

_DIGAMMA_ROOT = 1.4616321449683622           # the positive root, rounded to float64 ...
_DIGAMMA_ROOT_LOW = 9.549995429965697e-17    # ... and the rest of it


@functools.cache
def _digamma_root_series():
    """Taylor coefficients of digamma about its root x0: ``psi^(k)(x0) / k! =
    (-1)**(k + 1) zeta(k + 1, x0)``; the radius is x0, so for ``|x - x0| <= 0.54`` 40 terms
    reach double precision."""
    x0 = np.float64(_DIGAMMA_ROOT)
    return (0.0,) + tuple((-1) ** (k + 1) * float(_hurwitz_zeta(k + 1, x0)) for k in range(1, 41))


def _digamma_one_two(x):
    """digamma on [1, 2], by the series about its root (no cancellation near the root)."""
    offset = (x - _DIGAMMA_ROOT) - _DIGAMMA_ROOT_LOW
    return _horner(_digamma_root_series(), offset)


def _digamma_positive(x):
    out = np.empty_like(x)
    # (0, 1): psi(x) = psi(x + 1) - 1/x.
    below_one = x < 1.0
    _apply(out, below_one, lambda v: _digamma_one_two(v + 1.0) - 1.0 / v, x)
    one_two = (x >= 1.0) & (x <= 2.0)
    _apply(out, one_two, _digamma_one_two, x)
    # (2, 10): psi(x) = psi(x - m) + sum_{i=1..m} 1/(x - i), x - m in [1, 2).
    middle = (x > 2.0) & (x < 10.0)

    def shifted(v):
        steps = np.floor(v) - 1.0
        base = v - steps
        total = np.zeros_like(v)
        for j in range(int(steps.max()) - 1, -1, -1):   # 1/(base + j), smallest first
            total = total + np.where(j < steps, 1.0 / (base + j), 0.0)
        return _digamma_one_two(base) + total
    _apply(out, middle, shifted, x)
    large = x >= 10.0

    def asymptotic(v):
        inverse_square = 1.0 / (v * v)
        series = _horner([0.0] + [_BERNOULLI[k] / (2 * k + 2) for k in range(8)],
                         inverse_square)
        return np.where(np.isinf(v), np.inf, np.log(v) - 0.5 / v - series)
    _apply(out, large, asymptotic, x)
    return out


def digamma_numpy(x):
    """The digamma function ``psi = Gamma'/Gamma`` elementwise (SciPy's ``digamma``): nan
    at the negative integers, -inf at +0 and +inf at -0 (as SciPy).

    >>> round(float(digamma_numpy(np.float64(1.0))), 15)
    -0.577215664901533
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, x > 0, _digamma_positive, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Reflection: psi(x) = psi(1 - x) - pi / tan(pi x).
        negative = (x < 0) & (x != np.round(x)) & np.isfinite(x)
        _apply(out, negative, lambda v: _digamma_positive(1.0 - v)
               - math.pi / np.tan(math.pi * (v - np.round(v))), x)
    zero = x == 0
    out[zero] = np.where(np.signbit(x[zero]), np.inf, -np.inf)
    return finish(out)


# ---------------------------------------------------------------------------- polygamma

def polygamma_numpy(n: int, x):
    """The n-th derivative of digamma elementwise: ``(-1)**(n + 1) n! zeta(n + 1, x)`` for
    ``n >= 1`` (inf at the poles, as SciPy); digamma for ``n = 0``.

    >>> round(float(polygamma_numpy(1, np.float64(1.0))), 14) == round(math.pi ** 2 / 6, 14)
    True
    """
    if n == 0:
        return digamma_numpy(x)
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    pole = (x <= 0) & (x == np.round(x))
    regular = ~pole & ~np.isnan(x) & (x != -np.inf)
    with np.errstate(over="ignore"):
        _apply(out, regular, lambda v: (-1) ** (n + 1) * math.factorial(n)
               * _hurwitz_zeta(n + 1, v), x)
    out[pole] = np.inf
    return finish(out)


# ---------------------------------------------------------------------------------- erfc

_ERFC_CENTRES = (0.75, 1.25, 1.75, 2.25)   # Taylor series about these on [1/2, 5/2)
_ERFC_TAYLOR_TERMS = 26
_ERFC_FRACTION_TERMS = 80                  # Laplace's continued fraction from 5/2 on


def _continued_fraction(x, terms):
    """Laplace's ``K(x) = x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))``: ``erfc(x) = exp(-x^2) /
    (sqrt(pi) K(x))`` for x > 0, evaluated from the tail."""
    fraction = x.copy() if isinstance(x, np.ndarray) else x
    for k in range(terms, 0, -1):
        fraction = x + (0.5 * k) / fraction
    return fraction


def _exp_minus_square(x):
    """``exp(-x**2)`` without the rounding error of ``x**2`` (which grows with x): x splits
    into a part on a grid of 1/64 (its square exact) and a small rest."""
    high = np.round(x * 64.0) / 64.0
    return np.exp(-high * high) * np.exp(-(x - high) * (x + high))


@functools.cache
def _erfc_taylor():
    """For each centre c: ``erfc(c)`` (the continued fraction with 4000 terms, converged at
    c >= 3/4), ``2/sqrt(pi) exp(-c^2)`` and the coefficients ``a_n`` of
    ``erfc(c + h) = erfc(c) - 2/sqrt(pi) exp(-c^2) sum_{n>=1} a_n h**n``, where
    ``a_n = (-1)**(n - 1) H_{n-1}(c) / n!`` (``H``: Hermite polynomials)."""
    table = []
    for c in _ERFC_CENTRES:
        value = math.exp(-c * c) / (_SQRT_PI * _continued_fraction(c, 4000))
        hermite = [1.0, 2.0 * c]
        for n in range(2, _ERFC_TAYLOR_TERMS):
            hermite.append(2.0 * c * hermite[-1] - 2.0 * (n - 1) * hermite[-2])
        coefficients = [0.0] + [(-1) ** (n - 1) * hermite[n - 1] / math.factorial(n)
                                for n in range(1, _ERFC_TAYLOR_TERMS)]
        table.append((value, _TWO_OVER_SQRT_PI * math.exp(-c * c), tuple(coefficients)))
    return table


def _erfc_nonnegative(x):
    """erfc on x >= 0 (float64 array)."""
    out = np.empty_like(x)
    _apply(out, x < 0.5, lambda v: 1.0 - erf_numpy(v), x)
    for (value, scale, coefficients), c in zip(_erfc_taylor(), _ERFC_CENTRES):
        piece = (x >= c - 0.25) & (x < c + 0.25)
        if piece.any():
            out[piece] = value - scale * _horner(coefficients, x[piece] - c)
    far = x >= 2.5

    def tail(v):
        v = np.minimum(v, 27.5)               # erfc underflows to 0 before 27.3
        return _exp_minus_square(v) / (_SQRT_PI * _continued_fraction(v, _ERFC_FRACTION_TERMS))
    _apply(out, far, tail, x)
    return out


def erfc_numpy(x):
    """The complementary error function ``1 - erf(x)`` elementwise, accurate in relative
    terms in its tail (to x = 27, where it underflows).

    >>> abs(float(erfc_numpy(np.float64(3.0))) / math.erfc(3.0) - 1) < 1e-15
    True
    """
    x, finish = _as_work(x)
    out = np.full_like(x, np.nan)
    _apply(out, x >= 0, _erfc_nonnegative, x)
    _apply(out, x < 0, lambda v: 2.0 - _erfc_nonnegative(-v), x)
    return finish(out)


def log_erfc_positive(x):
    """``log(erfc(x))`` for x >= 1/2 without underflow (used by the inverse functions)."""
    return -x * x - np.log(_SQRT_PI * _continued_fraction(x, _ERFC_FRACTION_TERMS))


# ------------------------------------------------------------- erfinv, erfcinv and ndtri

def _erfinv_central(x):
    """erfinv on |x| <= 1/2: four terms of its Maclaurin series, then three Newton steps on
    ``erf(y) = x`` (each squares the relative error, from below 1e-3)."""
    t = x * (_SQRT_PI / 2.0)
    t2 = t * t
    y = t * (1.0 + t2 * (1.0 / 3.0 + t2 * (7.0 / 30.0 + t2 * (127.0 / 630.0))))
    for _ in range(3):
        y = y - (erf_numpy(y) - x) / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
    return y


def _erfcinv_tail(q):
    """The y >= 0.47 with ``erfc(y) = q`` for 0 < q <= 1/2: Newton's method on the concave
    ``log erfc(y) - log q``, from the asymptotic guess ``y^2 = w - log(sqrt(pi w))``,
    ``w = -log q``, moved up so that it lies above the root; the steps then approach it from
    above. ``log erfc`` is ``log(erfc_numpy(y))`` below y = 5/2 and
    ``-y^2 - log(sqrt(pi) K(y))`` beyond (no underflow); its slope is
    ``-2/sqrt(pi) exp(-y^2) / erfc(y)``, there ``-2 K(y)``."""
    w = -np.log(q)
    y = np.sqrt(np.maximum(w - 0.5 * np.log(math.pi * w), 0.25)) + 0.05
    target = np.log(q)
    for _ in range(20):
        near = y < 2.5
        near_y, far_y = np.minimum(y, 2.5), np.maximum(y, 2.5)
        value = erfc_numpy(near_y)
        fraction = _continued_fraction(far_y, _ERFC_FRACTION_TERMS)
        log_erfc = np.where(near, np.log(value), -far_y * far_y - np.log(_SQRT_PI * fraction))
        slope = np.where(near, _TWO_OVER_SQRT_PI * np.exp(-near_y * near_y) / value,
                         2.0 * fraction)
        step = (log_erfc - target) / slope
        y = y + step
        # Quadratic convergence: a step this small leaves an error far below an ulp.
        if not np.any(np.abs(step) > 1e-9 * y):
            break
    return y


def _erfcinv(q):
    """erfcinv on a float64 array: q in (0, 2); 0 -> inf, 2 -> -inf, outside -> nan."""
    out = np.full_like(q, np.nan)
    _apply(out, (q > 0) & (q <= 0.5), _erfcinv_tail, q)
    _apply(out, (q > 0.5) & (q < 1.5), lambda v: _erfinv_central(1.0 - v), q)
    _apply(out, (q >= 1.5) & (q < 2), lambda v: -_erfcinv_tail(2.0 - v), q)
    out[q == 0] = np.inf
    out[q == 2] = -np.inf
    return out


def erfinv_numpy(x):
    """The inverse error function elementwise: ``erf(erfinv(x)) = x`` on (-1, 1), +-inf at
    +-1, nan outside.

    >>> round(float(erfinv_numpy(np.float64(0.5))), 15)
    0.47693627620447
    """
    x, finish = _as_work(x)
    magnitude = np.abs(x)
    out = np.full_like(x, np.nan)
    _apply(out, magnitude <= 0.5, _erfinv_central, x)
    outer = (magnitude > 0.5) & (magnitude <= 1.0)
    # 1 - |x| is exact here, so the tail keeps its relative accuracy.
    _apply(out, outer, lambda v: np.copysign(_erfcinv(1.0 - np.abs(v)), v), x)
    return finish(out)


def ndtri_numpy(p):
    """The inverse of the standard normal CDF elementwise: ``-sqrt(2) erfcinv(2 p)`` (2 p
    exact, so tiny p keep their relative accuracy); -inf at 0, inf at 1, nan outside.

    >>> round(float(ndtri_numpy(np.float64(0.975))), 12)
    1.95996398454
    """
    p, finish = _as_work(p)
    with np.errstate(invalid="ignore"):
        out = -math.sqrt(2.0) * _erfcinv(2.0 * p)
    return finish(out)


# -------------------------------------------------------------------------- i0e and i1e

_BESSEL_SERIES_LIMIT = 20.0   # power series up to |x| = 20, the asymptotic series beyond
_BESSEL_ASYMPTOTIC_TERMS = 30


def _bessel_series(t, order):
    """``exp(-t) I_order(t)`` for t >= 0 by the power series (positive terms)
    ``I_v(t) = (t/2)**v sum_k (t^2/4)**k / (k! (k + v)!)``."""
    quarter_square = t * t / 4.0
    term = np.ones_like(t)
    total = np.ones_like(t)
    for k in range(1, 200):
        term = term * quarter_square / (k * (k + order))
        total = total + term
        if not np.any(term > 1e-17 * total):
            break
    scale = np.exp(-t)
    return scale * total if order == 0 else scale * total * (t / 2.0)


@functools.cache
def _bessel_asymptotic(order):
    """Coefficients of ``exp(-t) I_v(t) ~ (2 pi t)**-1/2 sum_k c_k t**-k``, where
    ``c_k = (-1)**k prod_{j<=k} (4 v^2 - (2j - 1)^2) / (k! 8**k)``; at t > 20 the terms still
    shrink after 30 of them, the last below 1e-17."""
    mu = 4.0 * order * order
    coefficients = [1.0]
    for k in range(1, _BESSEL_ASYMPTOTIC_TERMS + 1):
        coefficients.append(coefficients[-1] * -(mu - (2 * k - 1) ** 2) / (8.0 * k))
    return tuple(coefficients)


def _bessel_scaled(x, order):
    x, finish = _as_work(x)
    t = np.abs(x)
    out = np.full_like(x, np.nan)
    _apply(out, t <= _BESSEL_SERIES_LIMIT, lambda v: _bessel_series(v, order), t)
    _apply(out, (t > _BESSEL_SERIES_LIMIT) & np.isfinite(t), lambda v: _horner(
        _bessel_asymptotic(order), 1.0 / v) / np.sqrt(2.0 * math.pi * v), t)
    out[np.isinf(t)] = 0.0
    if order == 1:
        out = np.copysign(out, x)
    return finish(out)


def i0e_numpy(x):
    """``exp(-|x|) I0(x)`` elementwise (I0: the modified Bessel function of order 0).

    >>> float(i0e_numpy(np.float64(0.0)))
    1.0
    """
    return _bessel_scaled(x, 0)


def i1e_numpy(x):
    """``exp(-|x|) I1(x)`` elementwise (I1: the modified Bessel function of order 1; odd).

    >>> float(i1e_numpy(np.float64(0.0)))
    0.0
    """
    return _bessel_scaled(x, 1)


# --------------------------------------------------------------------------- primitives

def _float_only(name):
    def shape(x, **params):
        if x.dtype.kind != "f":
            raise ShapeError(f"{name} takes a floating array, got {x.dtype.name}")
        return x
    return shape


def _smooth(name, impl, derivative, taylor):
    fn = ew._unary(name, impl, derivative, taylor=taylor)
    fn.primitive.abstract_eval = _float_only(name)
    return fn


polygamma_p = Primitive("polygamma", "elementwise")
polygamma_p.impl = lambda x, *, n: polygamma_numpy(n, x)
polygamma_p.abstract_eval = _float_only("polygamma")


def _polygamma_jvp(primals, tangents, *, n):
    (x,), (t,) = primals, tangents
    return polygamma(n, x), ew.mul(t, polygamma(n + 1, x))


polygamma_p.jvp = _polygamma_jvp
polygamma_p.vjp = lambda needs, g, ans, x, *, n: (ew.mul(g, polygamma(n + 1, x)),)
polygamma_p.batch = ew._elementwise_batch(polygamma_p)


def _polygamma_series(u, first: int, value):
    """The series of the function whose derivatives of order j >= 1 are ``polygamma(first +
    j - 1)``: no short recurrence, so composed from those K derivatives at ``u_0``."""
    return ts.compose(u, [value] + [polygamma(first + j - 1, u[0])
                                    for j in range(1, u.order + 1)])


polygamma_p.taylor = ts.unary_rule(
    lambda u, *, n: _polygamma_series(u, n + 1, polygamma(n, u[0])))


def polygamma(n: int, x):
    """The n-th derivative of digamma (``n`` a static non-negative integer); n = 0 binds
    ``digamma``."""
    n = int(n)
    if n < 0:
        raise ValueError(f"polygamma: the order must be a non-negative integer, got {n}")
    if n == 0:
        return digamma(x)
    return polygamma_p.bind(x, n=n)


digamma = _smooth("digamma", digamma_numpy, lambda x, ans: polygamma(1, x),
                  lambda u: _polygamma_series(u, 1, digamma(u[0])))
lgamma = _smooth("lgamma", lgamma_numpy, lambda x, ans: digamma(x),
                 lambda u: _polygamma_series(u, 0, lgamma(u[0])))
erfc = _smooth("erfc", erfc_numpy, lambda x, ans: ew.mul(
    ew.exp(ew.neg(ew.mul(x, x))), ew.scalar_like(x, -_TWO_OVER_SQRT_PI)),
    lambda u: ts.chain(u, erfc(u[0]), lambda v: ts.exp(-u * u) * -_TWO_OVER_SQRT_PI))
# Their derivatives are functions of their own values: v' = f'(v) u', solved order by order.
erfinv = _smooth("erfinv", erfinv_numpy, lambda x, ans: ew.mul(
    ew.exp(ew.mul(ans, ans)), ew.scalar_like(x, _SQRT_PI / 2.0)),
    lambda u: ts.chain(u, erfinv(u[0]), lambda v: ts.exp(v * v) * (_SQRT_PI / 2.0)))
ndtri = _smooth("ndtri", ndtri_numpy, lambda x, ans: ew.mul(
    ew.exp(ew.mul(ew.mul(ans, ans), ew.scalar_like(x, 0.5))),
    ew.scalar_like(x, math.sqrt(2.0 * math.pi))),
    lambda u: ts.chain(u, ndtri(u[0]),
                       lambda v: ts.exp(v * v * 0.5) * math.sqrt(2.0 * math.pi)))


def _i0e_derivative(x, ans):
    return ew.sub(i1e(x), ew.mul(ew.sign(x), ans))


def _i1e_derivative(x, ans):
    # i0e - i1e (sign(x) + 1/x); its limit at 0 is 1 - 1/2 (i1e(x)/x -> 1/2). The reciprocal
    # is taken of a safe stand-in at 0, so no inf reaches a deeper derivative.
    at_zero = ew.eq(x, 0)
    safe_x = ew.select(at_zero, ew.full_like(x, 1), x)
    general = ew.sub(i0e(x), ew.mul(ans, ew.add(ew.sign(x), ew.reciprocal(safe_x))))
    return ew.select(at_zero, ew.full_like(x, 0.5), general)


def _bessel_pair(u):
    """The series of ``(i0e(u), i1e(u))``, from ``i0e' = i1e - s i0e`` and ``i1e' = i0e -
    i1e (s + 1/u)`` with ``s = sign(u_0)`` (constant along the path; ``u_0 != 0``)."""
    s = ew.sign(u[0])
    first, second = ts.unknown(u.order, i0e(u[0])), ts.unknown(u.order, i1e(u[0]))
    du = ts.rate_of(u)
    ts.define_rate(first, (second - first * s) * du)
    ts.define_rate(second, (first - second * (1 / u + s)) * du)
    return first, second


i0e = _smooth("i0e", i0e_numpy, _i0e_derivative, lambda u: _bessel_pair(u)[0])
i1e = _smooth("i1e", i1e_numpy, _i1e_derivative, lambda u: _bessel_pair(u)[1])
