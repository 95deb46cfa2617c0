"""NumPy implementations of the regularized incomplete gamma and beta functions and of their
first derivatives in the parameters, for the primitives of ``funcgrad/ops/incomplete.py``:
``P(a, x)``, ``Q(a, x) = 1 - P(a, x)``, ``dP/da``, ``I_x(a, b)``, ``1 - I_x(a, b)``, ``dI/da``
and ``dI/db``.

Vectorised NumPy written here from the mathematics (no SciPy), in float64 (float32 inputs are
rounded once at the end); SciPy's conventions at the edges (``P(0, x > 0) = 1``, ``I_x(0, b) =
1``, ``I_x(a, 0) = 0``, nan outside the domain). Series and continued fractions iterate each
point until its own terms stop counting (``_converge``).

- ``P = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))`` (positive terms) where
  ``x <= a`` or ``x <= 1.1``; ``Q`` by Legendre's continued fraction (modified Lentz) where
  ``x > a`` and ``x > 1.1``; for small ``a`` and ``x <= 1.1``, where ``Q`` is small, ``Q =
  -expm1(a log x - lgamma(1 + a)) - x^a / Gamma(a + 1) sum_{n>=1} (-x)^n a / (n! (a + n))``
  (SciPy's switch points). The other one is ``1 -`` this one (which is then at least ~0.4).
- ``I_x(a, b)`` by its continued fraction (modified Lentz) where ``x < (a + 1) / (a + b +
  2)``, and ``1 - I_x(a, b) = I_{1-x}(b, a)`` by its own beyond (``1 - x`` is exact there when
  ``x >= 1/2``); the other one is ``1 -`` that, except for a small parameter (``<= 1``),
  where it comes from the power series with its leading ``1`` taken out, as ``Q`` for small
  ``a``.
- The prefactors ``x^a e^-x / Gamma(a + 1)`` and ``x^a (1 - x)^b / (a B(a, b))`` are formed
  for large parameters (``>= 10``) from Stirling's series, with the exponent ``a (log(x/a) -
  (x/a - 1))`` written as ``a log1pmx(x/a - 1)``, so no large terms cancel, and for small ones
  from ``lgamma(1 + a)`` and lgamma differences (no logarithm of a tiny parameter); the series
  and fractions converge in ``O(sqrt(a))`` terms where ``x`` is near the mean.
- The derivatives in the parameters: each computation differentiated along its own terms
  (forward mode by hand; the complement's derivative is the negative).

Accuracy (``tests/test_scipy_incomplete.py`` keeps the bounds): relative errors below 1e-12
against SciPy for ``a`` from 1e-3 to 300 (``P``, ``Q``) and ``a, b`` from 1e-3 to 3000 (``I``),
``x`` over the whole range and results above 1e-250; for larger ``a``, where SciPy's own error
grows to 1e-11, within 1e-12 of mpmath; the derivatives within 2e-13 of mpmath's.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .special_functions import _BERNOULLI, _horner, _lgamma_near_two, digamma_numpy, lgamma_numpy

_EPSILON = 1e-16           # a term this much smaller than the sum stops a series
_TINY = 1e-300             # Lentz's stand-in for a zero denominator
_MAX_TERMS = 100_000       # O(sqrt(a)) terms near the mean: enough to a = 1e8
_STIRLING_FROM = 10.0      # parameters from here on use Stirling's series
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


# ------------------------------------------------------------------------------ helpers

def _as_work(*args):
    """The arguments broadcast and flattened as float64, and how to give a result back in
    their shape and (floating) dtype."""
    arrays = [np.asarray(a) for a in args]
    dtype = np.result_type(*arrays)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    arrays = np.broadcast_arrays(*arrays)
    shape = arrays[0].shape

    def finish(out):
        return out.reshape(shape).astype(dtype, copy=False)[()]
    return [a.astype(np.float64).ravel() for a in arrays], finish


def _apply(out, mask, fn, *args):
    """``out[mask] = fn(*(arg[mask] for arg in args))`` (skipped where the mask is empty)."""
    if mask.any():
        out[mask] = fn(*[a[mask] for a in args])


@functools.cache
def _stirling_coefficients():
    # B_2k / (2k (2k - 1)), k = 1..10
    return tuple(_BERNOULLI[k] / ((2 * k + 1) * (2 * k + 2)) for k in range(10))


def _stirling_correction(a):
    """``lgamma(a) - ((a - 1/2) log a - a + log(2 pi) / 2)`` for ``a >= 10`` (the first term
    left out is below 1e-19 there)."""
    inverse = 1.0 / a
    return _horner(_stirling_coefficients(), inverse * inverse) * inverse


def _stirling_difference(large, small):
    """``s(large) - s(large + small)`` (``s``: ``_stirling_correction``) to its relative
    accuracy also where ``small`` is tiny: term by term, ``v**-m - (v + small)**-m =
    -v**-m expm1(-m log1p(small / v))``."""
    inverse = 1.0 / large
    growth = np.log1p(small / large)
    total = np.zeros_like(growth)
    power = inverse
    for k, coefficient in enumerate(_stirling_coefficients()):
        total = total - coefficient * power * np.expm1(-(2 * k + 1) * growth)
        power = power * (inverse * inverse)
    return total


def _lgamma_one_plus(a):
    """``lgamma(1 + a)`` for ``0 <= a < 1.5`` with its relative accuracy near 0 (``1 + a``
    is never formed): the series of lgamma about 2."""
    return np.where(a < 0.5, _lgamma_near_two(a) - np.log1p(a), _lgamma_near_two(a - 1.0))


def _log1pmx(d, ratio):
    """``log(1 + d) - d``, ``ratio`` being ``1 + d`` computed accurately (``x / a``). For
    ``|d| < 1/2``: with ``z = d / (2 + d)``, ``log(1 + d) = 2 atanh z``, so
    ``log(1 + d) - d = -d z + 2 z^3 sum_k z^(2k) / (2k + 3)`` (``|z| <= 1/3``: 18 terms)."""
    out = np.empty_like(d)
    near = np.abs(d) < 0.5
    z = np.where(near, d / (2.0 + d), 0.0)
    z2 = z * z
    series = _horner([1.0 / (2 * k + 3) for k in range(18)], z2)
    out[near] = (-d * z + 2.0 * z * z2 * series)[near]
    far = ~near
    with np.errstate(divide="ignore"):
        out[far] = np.log(ratio[far]) - d[far]
    return out


# ---------------------------------------------------------------- the incomplete gamma

def _lgamma_of_one_plus(a):
    """``lgamma(1 + a)`` for ``a >= 0``, with its relative accuracy for small ``a``."""
    with np.errstate(invalid="ignore"):
        return np.where(a < 1.5, _lgamma_one_plus(np.where(a < 1.5, a, 0.0)), lgamma_numpy(a + 1.0))


def _log_gamma_prefix(a, x):
    """``log(x^a e^-x / Gamma(a + 1))`` for ``a, x > 0`` (``Gamma(a + 1)``, not ``Gamma(a)``:
    no ``log a`` of a tiny ``a`` to cancel)."""
    out = np.empty_like(a)
    small = a < _STIRLING_FROM
    with np.errstate(divide="ignore"):
        out[small] = (a * np.log(x) - x - _lgamma_of_one_plus(a))[small]
    large = ~small
    if large.any():
        # a log x - x - lgamma(a) = a (log(x/a) - (x/a - 1)) + log(a / 2 pi) / 2 - s(a)
        b, y = a[large], x[large]
        out[large] = (b * _log1pmx((y - b) / b, y / b) - 0.5 * np.log(b)
                      - _HALF_LOG_TWO_PI - _stirling_correction(b))
    return out


def _converge(step, state, result, width=None):
    """Iterate ``state = step(n, *state)`` for ``n = 1, 2, ...``: ``step`` returns the new
    state (1-d arrays, one element per point) and a mask of the points that have converged
    (written ``~(error > bound)``, so that a nan stops too);
    their ``result(*state)`` is written out and they leave the iteration, so each point costs
    its own number of terms. With ``width``, a result is ``width`` numbers per point (the
    columns of a 2-d array)."""
    out = np.empty(state[0].shape + (() if width is None else (width,)))
    where = np.arange(state[0].size)
    for n in range(1, _MAX_TERMS):
        *state, done = step(n, *state)
        if done.any():
            out[where[done]] = result(*[s[done] for s in state])
            keep = ~done
            where, state = where[keep], [s[keep] for s in state]
            if not where.size:
                break
    if where.size:
        out[where] = result(*state)
    return out


def _lower_series(a, x):
    """``P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))``, a series of
    positive terms (``x <= a`` or ``x <= 1.1``)."""
    def step(n, a, x, term, total):
        term = term * (x / (a + n))
        total = total + term
        # the rest is below term r / (1 - r), r = x / (a + n + 1) the next ratio (< 1)
        following = x / (a + n + 1)
        return a, x, term, total, ~(term * following > _EPSILON * total * (1.0 - following))

    ones = np.ones_like(x)
    sums = _converge(step, [a, x, ones, ones], lambda a, x, term, total: total)
    with np.errstate(under="ignore"):
        return np.exp(_log_gamma_prefix(a, x)) * sums


def _lentz(c, d, coefficient, offset=1.0):
    """One step of the modified Lentz method on ``offset + coefficient / (...)``: the new
    ``(c, d)`` and the factor by which the convergent changes."""
    d = offset + coefficient * d
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    c = offset + coefficient / c
    c = np.where(np.abs(c) < _TINY, _TINY, c)
    return c, d, c * d


def _upper_fraction(a, x):
    """``Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) /
    (x + 5 - a - ...)))`` by the modified Lentz method (``x > a``, ``x > 1``)."""
    def step(n, a, x, c, d, h):
        c, d, factor = _lentz(c, d, -n * (n - a), x + (2 * n + 1) - a)
        return a, x, c, d, h * factor, ~(np.abs(factor - 1.0) > _EPSILON)

    first = 1.0 / (x + 1.0 - a)
    fraction = _converge(step, [a, x, np.full_like(x, 1.0 / _TINY), first, first],
                         lambda a, x, c, d, h: h)
    with np.errstate(under="ignore"):
        return np.exp(_log_gamma_prefix(a, x)) * a * fraction


def _upper_small_a(a, x):
    """``Q(a, x)`` for ``a < 1.5`` and ``x <= 1.1`` without the cancellation of ``1 - P``:
    ``P = x^a / Gamma(a + 1) (1 + sum_{n>=1} (-x)^n a / (n! (a + n)))``."""
    log_power = a * np.log(x) - _lgamma_one_plus(a)
    total = np.zeros_like(x)
    term = np.ones_like(x)
    for n in range(1, 60):
        term = term * (-x / n)
        piece = term * (a / (a + n))
        total = total + piece
        if not np.any(np.abs(piece) > _EPSILON * np.abs(total)):
            break
    power = np.exp(log_power)
    return -np.expm1(log_power) - power * total


def _gamma_regions(a, x):
    """Which of the three computations ``Q`` takes: ``(fraction, small_a, series)`` masks
    over finite ``a > 0``, ``x > 0`` (SciPy's switch points)."""
    inside = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    fraction = inside & (x > 1.1) & (x >= a)
    with np.errstate(divide="ignore"):
        low = np.where(x <= 0.5, -0.4 / np.log(np.minimum(x, 0.5)), 1.1 * x)
    small_a = inside & (x <= 1.1) & (a <= low)
    return fraction, small_a, inside & ~fraction & ~small_a


def _incomplete_gamma(a, x, upper: bool):
    with np.errstate(invalid="ignore"):   # nan operands give nan results
        return _incomplete_gamma_work(a, x, upper)


def _incomplete_gamma_work(a, x, upper: bool):
    (a, x), finish = _as_work(a, x)
    out = np.full_like(x, np.nan)
    fraction, small_a, series = _gamma_regions(a, x)
    for mask, computes_upper, fn in ((fraction, True, _upper_fraction),
                                     (small_a, True, _upper_small_a),
                                     (series, False, _lower_series)):
        if mask.any():
            value = fn(a[mask], x[mask])
            out[mask] = value if computes_upper == upper else 1.0 - value
    # the edges, as SciPy: P(a, 0) = 0, P(a, inf) = 1, P(0, x > 0) = 1, P(inf, x) = 0
    lower_edge = np.select([(a >= 0) & (x == np.inf) & (a < np.inf),
                            (a > 0) & (x == 0), (a == 0) & (x > 0),
                            (a == np.inf) & (x >= 0) & (x < np.inf)], [1.0, 0.0, 1.0, 0.0],
                           np.nan)
    edge = ~np.isnan(lower_edge)
    out[edge] = 1.0 - lower_edge[edge] if upper else lower_edge[edge]
    return finish(out)


def gammainc_numpy(a, x):
    """The regularized lower incomplete gamma function ``P(a, x) = gamma(a, x) / Gamma(a)``
    elementwise (SciPy's ``gammainc``): ``a >= 0``, ``x >= 0``, nan elsewhere.

    >>> round(float(gammainc_numpy(1.0, 2.0)), 15) == round(1 - math.exp(-2.0), 15)
    True
    """
    return _incomplete_gamma(a, x, upper=False)


def gammaincc_numpy(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``
    elementwise (SciPy's ``gammaincc``), accurate in relative terms in its tail.

    >>> abs(float(gammaincc_numpy(0.5, 30.0)) / math.erfc(math.sqrt(30.0)) - 1) < 1e-13
    True
    """
    return _incomplete_gamma(a, x, upper=True)


# ------------------------------------------- the derivative of P in a (first order)
# Each computation of P or Q differentiated in a along its own terms (forward mode by hand).

def _lower_series_da(a, x):
    """``dP/da`` in the series' region: ``P = e^L S`` with ``L = log(x^a e^-x / Gamma(a +
    1))``, ``S = sum_n t_n``, ``t_n = prod_{k<=n} x / (a + k)``, so ``dP/da = e^L (S L' -
    sum_n t_n H_n)``, ``H_n = sum_{k<=n} 1 / (a + k)``, ``L' = log x - digamma(a + 1)`` (the
    two terms have one sign: no cancellation)."""
    def step(n, a, x, term, total, harmonic, weighted):
        term = term * (x / (a + n))
        harmonic = harmonic + 1.0 / (a + n)
        total = total + term
        weighted = weighted + term * harmonic
        following = x / (a + n + 1)
        rest = term * following / (1.0 - following)
        done = ~((rest > _EPSILON * total)
                 | (rest * (harmonic + 1.0 / (1.0 - following)) > _EPSILON * weighted))
        return a, x, term, total, harmonic, weighted, done

    ones, zeros = np.ones_like(x), np.zeros_like(x)
    # the sums leave the iteration together: weighted - total L' is -e^-L dP/da
    negated = _converge(step, [a, x, ones, ones, zeros, zeros],
                        lambda a, x, term, total, harmonic, weighted: weighted - total * (
                            np.log(x) - digamma_numpy(a + 1.0)))
    with np.errstate(under="ignore"):
        return -np.exp(_log_gamma_prefix(a, x)) * negated


def _upper_fraction_da(a, x):
    """``dQ/da = Q (log x - digamma(a) + g)`` in the continued fraction's region, ``g`` the
    a-derivative of the log of the fraction, accumulated along the Lentz recurrence
    (``a_n = -n (n - a)``, ``b_n = x + 2n + 1 - a``)."""
    def step(n, a, x, c, dc, d, dd, h, g, base):
        an = -n * (n - a)
        bn = x + (2 * n + 1) - a
        denominator = bn + an * d
        d_denominator = -1.0 + n * d + an * dd
        denominator = np.where(np.abs(denominator) < _TINY, _TINY, denominator)
        dc = -1.0 + (n - an * dc / c) / c
        c = bn + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d, dd = 1.0 / denominator, -d_denominator / (denominator * denominator)
        factor = c * d
        increment = dc / c - d_denominator / denominator
        h, g = h * factor, g + increment
        done = ~((np.abs(factor - 1.0) > _EPSILON)
                 | (np.abs(increment) > _EPSILON * (np.abs(g) + np.abs(base) + 1.0)))
        return a, x, c, dc, d, dd, h, g, base, done

    first = 1.0 / (x + 1.0 - a)
    base = np.log(x) - digamma_numpy(a)
    # Q / (x^a e^-x / Gamma(a)) is the fraction h: the result is h (log x - digamma(a) + g)
    scaled = _converge(step, [a, x, np.full_like(x, 1.0 / _TINY), np.zeros_like(x), first,
                              first * first, first, first, base],
                       lambda a, x, c, dc, d, dd, h, g, base: h * (base + g))
    with np.errstate(under="ignore"):
        return np.exp(_log_gamma_prefix(a, x)) * a * scaled


def _upper_small_a_da(a, x):
    """``dQ/da`` for small ``a``: from ``Q = -expm1(L) - e^L T`` (``_upper_small_a``), with
    ``L = a log x - lgamma(1 + a)`` and ``T = sum_n t_n a / (a + n)``, ``t_n = (-x)^n / n!``:
    ``dQ/da = -e^L (L' (1 + T) + T')``, ``T' = sum_n t_n n / (a + n)^2``."""
    log_power = a * np.log(x) - _lgamma_one_plus(a)
    total, rate, term = np.zeros_like(x), np.zeros_like(x), np.ones_like(x)
    for n in range(1, 60):
        term = term * (-x / n)
        piece, rate_piece = term * (a / (a + n)), term * (n / (a + n) ** 2)
        total, rate = total + piece, rate + rate_piece
        if not np.any((np.abs(piece) > _EPSILON * np.abs(total))
                      | (np.abs(rate_piece) > _EPSILON * np.abs(rate))):
            break
    slope = np.log(x) - digamma_numpy(1.0 + a)
    return -np.exp(log_power) * (slope * (1.0 + total) + rate)


def gammainc_grad_a_numpy(a, x):
    """``dP(a, x)/da`` elementwise (``dQ/da`` is its negative): each of ``P``'s computations
    differentiated along its terms; 0 at ``x = 0`` and ``x = inf``.

    >>> round(float(gammainc_grad_a_numpy(1.0, 1.0)), 12)
    -0.431729710635
    """
    with np.errstate(invalid="ignore"):
        (a, x), finish = _as_work(a, x)
        out = np.full_like(x, np.nan)
        fraction, small_a, series = _gamma_regions(a, x)
        for mask, fn, sign in ((fraction, _upper_fraction_da, -1.0),
                               (small_a, _upper_small_a_da, -1.0), (series, _lower_series_da, 1.0)):
            if mask.any():
                out[mask] = sign * fn(a[mask], x[mask])
        out[(a > 0) & np.isfinite(a) & ((x == 0) | (x == np.inf))] = 0.0
        return finish(out)


# ----------------------------------------------------------------- the incomplete beta

def _lgamma_difference(small, large):
    """``lgamma(large) - lgamma(small + large)`` for ``small >= 0``, ``large > 0``, without
    the cancellation of the two: Stirling's series of both from ``large + m >= 10`` on, and
    ``lgamma(v) - lgamma(v + small) = lgamma(v + 1) - lgamma(v + 1 + small) + log1p(small /
    v)`` for the m steps below."""
    steps = np.ceil(np.maximum(_STIRLING_FROM - large, 0.0))
    shifted = large + steps
    total = small + shifted
    out = ((shifted - 0.5) * np.log1p(-small / total) - small * np.log(total) + small
           + _stirling_difference(shifted, small))
    for k in range(int(steps.max(initial=0.0))):
        out = out + np.where(k < steps, np.log1p(small / (large + k)), 0.0)
    return out


def _log_beta_prefix(a, b, x, y):
    """``log(x^a y^b / (a B(a, b)))`` for ``a, b > 0``, ``0 < x < 1`` and ``y = 1 - x``
    (given, so that the caller keeps whichever of the two is exact)."""
    out = np.empty_like(x)
    both_large = (a >= _STIRLING_FROM) & (b >= _STIRLING_FROM)
    with np.errstate(divide="ignore"):
        direct = a * np.log(x) + b * np.log(y)

    def log_a_beta(p, q):
        # a B(a, b) = Gamma(1 + a) Gamma(b) / Gamma(a + b): by the lgamma difference from
        # the smaller parameter (no large logarithms for a small a or b)
        return np.where(p <= q, _lgamma_of_one_plus(p) + _lgamma_difference(p, q),
                        np.log(p) + lgamma_numpy(q) + _lgamma_difference(q, p))
    _apply(out, ~both_large, lambda p, q, d: d - log_a_beta(p, q), a, b, direct)

    def large(p, q, u, w):
        # x^a y^b / B = sqrt(a b / (2 pi (a + b))) (x/x0)^a (y/y0)^b e^(s(a+b) - s(a) - s(b))
        # with x0 = a / (a + b), y0 = b / (a + b); a (x/x0 - 1) = -b (y/y0 - 1) = x b - y a,
        # so the exponent is a log1pmx(x/x0 - 1) + b log1pmx(y/y0 - 1).
        total = p + q
        gap = u * q - w * p
        exponent = p * _log1pmx(gap / p, u * total / p) + q * _log1pmx(-gap / q, w * total / q)
        return (exponent + 0.5 * (np.log(q) - np.log(p) - np.log(total)) - _HALF_LOG_TWO_PI
                + _stirling_correction(total) - _stirling_correction(p) - _stirling_correction(q))
    _apply(out, both_large, large, a, b, x, y)
    return out


def _beta_fraction(a, b, x, y):
    """``I_x(a, b) = x^a y^b / (a B(a, b)) / (1 + d_1 / (1 + d_2 / (1 + ...)))`` with
    ``d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))`` and ``d_{2m} = m (b - m) x /
    ((a + 2m - 1)(a + 2m))``, by the modified Lentz method (for ``x < (a + 1) / (a + b + 2)``,
    where it converges in ``O(sqrt(max(a, b)))`` terms)."""
    def step(m, a, b, x, c, d, h):
        c, d, even = _lentz(c, d, m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)))
        c, d, odd = _lentz(c, d, -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0)))
        return a, b, x, c, d, h * even * odd, ~(np.abs(odd - 1.0) > _EPSILON)

    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    fraction = _converge(step, [a, b, x, np.ones_like(x), d, d],
                         lambda a, b, x, c, d, h: h)
    with np.errstate(under="ignore"):
        return np.exp(_log_beta_prefix(a, b, x, y)) * fraction


def _beta_small_a_complement(a, b, x):
    """``1 - I_x(a, b)`` for ``a <= 1`` and ``x < (a + 1) / (a + b + 2)`` (so ``b x < 2``),
    without the cancellation where ``I_x(a, b)`` is near 1 (a small ``a``): with
    ``I_x(a, b) = x^a / (a B(a, b)) (1 + sum_{n>=1} a / (a + n) (1 - b)_n / n! x^n)``,
    ``1 - x^a / (a B(a, b))`` is ``-expm1`` of a small logarithm (``log(a B(a, b)) =
    lgamma(1 + a) + lgamma(b) - lgamma(a + b)``, each part accurate for small ``a``)."""
    with np.errstate(divide="ignore"):
        log_front = a * np.log(x) - _lgamma_one_plus(a) - _lgamma_difference(a, b)
    head = -np.expm1(log_front)

    def step(n, a, b, x, head, term, total):
        term = term * ((n - b) / n * x)
        piece = term * (a / (a + n))
        total = total + piece
        scale = np.abs(total) + np.abs(head)
        return a, b, x, head, term, total, ~(np.abs(piece) > _EPSILON * scale)

    sums = _converge(step, [a, b, x, head, np.ones_like(x), np.zeros_like(x)],
                     lambda a, b, x, head, term, total: total)
    return head - np.exp(log_front) * sums


def _beta_fraction_with_partials(a, b, x, y):
    """``(I, dI/da, dI/db)`` by the continued fraction of ``_beta_fraction``, differentiated
    along the Lentz recurrence: ``dI/da = I (log x - digamma(a + 1) + digamma(a + b) + g_a)``
    and ``dI/db = I (log y - digamma(b) + digamma(a + b) + g_b)``, ``g`` the parameter's
    derivative of the fraction's logarithm (its coefficients' derivatives in closed form)."""
    def lentz_pair(c, d, coefficient, rates, derivatives):
        # one Lentz step on 1 + coefficient / (...), with the derivatives of c and d (and of
        # the log of the convergent's factor) in each parameter
        denominator = 1.0 + coefficient * d
        denominator = np.where(np.abs(denominator) < _TINY, _TINY, denominator)
        new_c = 1.0 + coefficient / c
        new_c = np.where(np.abs(new_c) < _TINY, _TINY, new_c)
        out = []
        for rate, (dc, dd) in zip(rates, derivatives):
            d_denominator = rate * d + coefficient * dd
            dc = (rate - coefficient * dc / c) / c
            out.append((dc, -d_denominator / (denominator * denominator),
                        dc / new_c - d_denominator / denominator))
        return new_c, 1.0 / denominator, out

    def step(m, a, b, x, c, d, h, dca, dda, ga, dcb, ddb, gb):
        even = m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m))
        even_rates = (-even * (1.0 / (a + 2 * m - 1.0) + 1.0 / (a + 2 * m)),
                      m * x / ((a + 2 * m - 1.0) * (a + 2 * m)))
        c, new_d, ((dca, dda, ia), (dcb, ddb, ib)) = lentz_pair(
            c, d, even, even_rates, ((dca, dda), (dcb, ddb)))
        h, ga, gb = h * c * new_d, ga + ia, gb + ib
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))
        odd_rates = (odd * (1.0 / (a + m) + 1.0 / (a + b + m) - 1.0 / (a + 2 * m)
                            - 1.0 / (a + 2 * m + 1.0)), odd / (a + b + m))
        c, d, ((dca, dda, ia), (dcb, ddb, ib)) = lentz_pair(
            c, new_d, odd, odd_rates, ((dca, dda), (dcb, ddb)))
        factor = c * d
        h, ga, gb = h * factor, ga + ia, gb + ib
        done = ~((np.abs(factor - 1.0) > _EPSILON)
                 | (np.abs(ia) > _EPSILON * (np.abs(ga) + 1.0))
                 | (np.abs(ib) > _EPSILON * (np.abs(gb) + 1.0)))
        return a, b, x, c, d, h, dca, dda, ga, dcb, ddb, gb, done

    first = 1.0 - (a + b) * x / (a + 1.0)
    first = np.where(np.abs(first) < _TINY, _TINY, first)
    # the first denominator's derivatives: d/da (a + b) / (a + 1) = (1 - b) / (a + 1)^2
    rate_a, rate_b = -x * (1.0 - b) / (a + 1.0) ** 2, -x / (a + 1.0)
    zeros = np.zeros_like(x)
    state = [a, b, x, np.ones_like(x), 1.0 / first, 1.0 / first,
             zeros, -rate_a / first ** 2, -rate_a / first,
             zeros, -rate_b / first ** 2, -rate_b / first]
    fraction, ga, gb = _converge(
        step, state, lambda a, b, x, c, d, h, dca, dda, ga, dcb, ddb, gb: np.stack(
            [h, ga, gb], axis=-1), width=3).T
    with np.errstate(under="ignore"):
        value = np.exp(_log_beta_prefix(a, b, x, y)) * fraction
    both = digamma_numpy(a + b)
    return (value, value * (np.log(x) - digamma_numpy(a + 1.0) + both + ga),
            value * (np.log(y) - digamma_numpy(b) + both + gb))


def betainc_partials_numpy(a, b, x):
    """``(dI/da, dI/db)`` of ``I_x(a, b)`` elementwise: the fraction below the mean, minus
    that of ``I_{1-x}(b, a)`` (the complement's) above; 0 at ``x = 0`` and ``x = 1``.

    >>> [round(float(v), 12) for v in betainc_partials_numpy(1.0, 1.0, 0.5)]   # x^a, 1-(1-x)^b
    [-0.34657359028, 0.34657359028]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        (a, b, x), finish = _as_work(a, b, x)
        grad_a, grad_b = np.full_like(x, np.nan), np.full_like(x, np.nan)
        inside = (a > 0) & (b > 0) & (x > 0) & (x < 1) & np.isfinite(a) & np.isfinite(b)
        y = 1.0 - x
        mirrored = inside & (x * (a + b + 2.0) > a + 1.0)
        below = inside & ~mirrored
        if below.any():
            _, grad_a[below], grad_b[below] = _beta_fraction_with_partials(
                a[below], b[below], x[below], y[below])
        if mirrored.any():
            _, of_b, of_a = _beta_fraction_with_partials(b[mirrored], a[mirrored],
                                                         y[mirrored], x[mirrored])
            grad_a[mirrored], grad_b[mirrored] = -of_a, -of_b
        ends = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b) & ((x == 0) | (x == 1))
        grad_a[ends] = grad_b[ends] = 0.0
        return finish(grad_a), finish(grad_b)


def betainc_numpy(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)`` elementwise (SciPy's
    ``betainc``): ``a, b >= 0`` (not both 0), ``0 <= x <= 1``, nan elsewhere.

    >>> abs(float(betainc_numpy(2.0, 3.0, 0.5)) - 11 / 16) < 1e-15
    True
    """
    with np.errstate(invalid="ignore"):   # nan operands give nan results
        return _incomplete_beta(a, b, x, upper=False)


def betaincc_numpy(a, b, x):
    """Its complement ``1 - I_x(a, b) = I_{1-x}(b, a)`` elementwise (SciPy's ``betaincc``),
    accurate in relative terms where it is small (``x`` near 1, or a small ``a``).

    >>> abs(float(betaincc_numpy(2.0, 3.0, 0.5)) - 5 / 16) < 1e-15
    True
    """
    with np.errstate(invalid="ignore"):
        return _incomplete_beta(a, b, x, upper=True)


def _complement_of(fraction, a, b, x, y):
    """``1 - I_x(a, b)`` where ``x < (a + 1) / (a + b + 2)`` (``fraction``: its own
    ``I_x(a, b)``): by the series without the leading 1 for ``a <= 1``, where ``I`` may be
    near 1; as ``1 - I`` elsewhere, where ``I`` is at most about 0.6."""
    out = 1.0 - fraction
    small = a <= 1
    _apply(out, small, _beta_small_a_complement, a, b, x)
    return out


def _incomplete_beta(a, b, x, upper: bool):
    (a, b, x), finish = _as_work(a, b, x)
    out = np.full_like(x, np.nan)
    inside = (a > 0) & (b > 0) & (x > 0) & (x < 1) & np.isfinite(a) & np.isfinite(b)
    y = 1.0 - x
    # below the mean I_x(a, b) by its fraction; above, I_{1-x}(b, a) = 1 - I_x(a, b) by its
    # own (1 - x is exact there when x >= 1/2, and x itself is passed as its complement)
    mirrored = inside & (x * (a + b + 2.0) > a + 1.0)
    for mask, (p, q, u, w), computes_upper in (
            (inside & ~mirrored, (a, b, x, y), False), (mirrored, (b, a, y, x), True)):
        if mask.any():
            p, q, u, w = p[mask], q[mask], u[mask], w[mask]
            fraction = _beta_fraction(p, q, u, w)
            out[mask] = fraction if computes_upper == upper else _complement_of(
                fraction, p, q, u, w)
    # the edges, as SciPy
    valid = (a >= 0) & (b >= 0) & (x >= 0) & (x <= 1) & ~((a == 0) & (b == 0))
    edge = np.select([x == 0, x == 1, a == 0, b == 0,
                      (a == np.inf) & (b < np.inf), (b == np.inf) & (a < np.inf)],
                     [0.0, 1.0, 1.0, 0.0, 0.0, 1.0], np.nan)
    known = valid & ~inside & ~np.isnan(edge)
    out[known] = 1.0 - edge[known] if upper else edge[known]
    return finish(out)
