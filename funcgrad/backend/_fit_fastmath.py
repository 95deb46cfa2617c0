"""Derive the polynomial coefficients used by ``funcgrad/backend/fastmath.py`` (offline tool).

Run it by hand (it needs mpmath, which funcgrad does not depend on)::

    python -m funcgrad.backend._fit_fastmath            # every table
    python -m funcgrad.backend._fit_fastmath sin_f32    # one table

Each table is a minimax (Remez exchange) fit in 80-digit arithmetic of a polynomial with some
leading terms fixed by hand (``r + r**2/2`` for ``expm1``, ``r`` for ``sin``, ...) to a target
over the interval that the range reduction of ``fastmath.py`` leaves, under the weight that
turns the error into a relative error of the function. The fitted coefficients are then
rounded to the working precision one at a time, lowest order first, refitting the remaining
ones after each rounding (so the later coefficients absorb the rounding of the earlier ones).
The printed ``max rel err`` is the error of the rounded polynomial in exact arithmetic, i.e.
the approximation error alone; the rounding errors of evaluating it are measured by
``tests/test_fastmath.py``.

Nothing in funcgrad imports this module.
"""
from __future__ import annotations

import sys

import mpmath as mp
import numpy as np

# Every computation runs at 80 digits (the decorators and the block below restore mpmath's
# precision after, so importing this module changes nothing for other mpmath users).
DIGITS = 80

with mp.workdps(DIGITS):
    LN2 = mp.log(2)


def _chebyshev_points(a, b, count):
    return [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (count - 1 - i) / (count - 1))
            for i in range(count)]


def _solve_reference(ref, target, weight, powers):
    """Solve sum_k c_k t_i**p_k + (-1)**i E / w(t_i) = h(t_i) on the reference points."""
    n = len(powers)
    matrix = mp.matrix(n + 1, n + 1)
    rhs = mp.matrix(n + 1, 1)
    for i, t in enumerate(ref):
        for k, p in enumerate(powers):
            matrix[i, k] = t ** p
        matrix[i, n] = (-1) ** i / weight(t)
        rhs[i] = target(t)
    sol = mp.lu_solve(matrix, rhs)
    return [sol[k] for k in range(n)], sol[n]


def _errors(coeffs, powers, grid, h_values, w_values):
    out = []
    for t, h, w in zip(grid, h_values, w_values):
        p = mp.fsum(c * t ** e for c, e in zip(coeffs, powers))
        out.append(w * (h - p))
    return out


def _new_reference(grid, errors, count):
    """The extremum of each run of equal sign; keep ``count`` alternating ones."""
    runs = []
    start = 0
    for i in range(1, len(grid) + 1):
        if i == len(grid) or mp.sign(errors[i]) != mp.sign(errors[start]):
            best = max(range(start, i), key=lambda j: abs(errors[j]))
            runs.append(best)
            start = i
    while len(runs) > count:
        # Drop the smaller of the two ends (keeps alternation).
        if abs(errors[runs[0]]) < abs(errors[runs[-1]]):
            runs.pop(0)
        else:
            runs.pop()
    if len(runs) < count:
        return None
    return [grid[j] for j in runs]


def remez(target, weight, powers, a, b, *, grid_size=3000, iterations=60):
    """Minimax coefficients c for ``max |w(t) (h(t) - sum c_k t**p_k)|`` on ``[a, b]``."""
    a, b = mp.mpf(a), mp.mpf(b)
    n = len(powers)
    grid = [t for t in _chebyshev_points(a, b, grid_size) if t != 0]
    h_values = [target(t) for t in grid]
    w_values = [weight(t) for t in grid]
    ref = [t if t != 0 else (b - a) * mp.mpf(10) ** -6 for t in _chebyshev_points(a, b, n + 1)]
    coeffs = None
    for _ in range(iterations):
        coeffs, level = _solve_reference(ref, target, weight, powers)
        errors = _errors(coeffs, powers, grid, h_values, w_values)
        worst = max(abs(e) for e in errors)
        new_ref = _new_reference(grid, errors, n + 1)
        if new_ref is None:
            break
        if worst <= abs(level) * (1 + mp.mpf(10) ** -4):
            break
        ref = new_ref
    errors = _errors(coeffs, powers, grid, h_values, w_values)
    return coeffs, max(abs(e) for e in errors)


def _round(value, bits):
    with mp.workprec(bits):
        return +value


@mp.workdps(DIGITS)
def fit_rounded(target, weight, powers, a, b, bits):
    """Remez fit, then round coefficient by coefficient to ``bits`` and refit the rest."""
    fixed = []
    for k in range(len(powers)):
        done = list(zip(fixed, powers))

        def rest(t, done=done):
            return target(t) - mp.fsum(c * t ** e for c, e in done)

        coeffs, _ = remez(rest, weight, powers[k:], a, b)
        fixed.append(_round(coeffs[0], bits))
    grid = [t for t in _chebyshev_points(mp.mpf(a), mp.mpf(b), 6000) if t != 0]
    worst = max(abs(weight(t) * (target(t) - mp.fsum(c * t ** e for c, e in
                                                      zip(fixed, powers)))) for t in grid)
    return fixed, worst


# --------------------------------------------------------------------------------- tables
# name: (target h, weight w, powers, interval, precision bits, how fastmath.py uses it)

def _expm1_rest(t):
    return mp.expm1(t) - t - t * t / 2


def _sin_rest(t):
    return mp.sin(t) - t


def _cos_rest(t):
    return mp.cos(t) - 1 + t * t / 2


def _atanh_r(z):
    # log1p(f) = 2 atanh(s) = 2 s + s R(s**2): R(z) = (2 atanh(sqrt z) - 2 sqrt z) / sqrt z
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / s


def _atan_rest(t):
    return mp.atan(t) - t


with mp.workdps(DIGITS):
    # Slack on the reduced intervals: the reduced argument of a correctly rounded reduction can
    # exceed the ideal bound by a few ulps.
    _R_EXP = LN2 / 2 * (1 + mp.mpf(2) ** -20)
    _R_TRIG = mp.pi / 4 * (1 + mp.mpf(2) ** -20)
    # float32 rounds x * 2/pi to 24 bits before rint: for |x| < 2**18 the reduced argument can
    # exceed pi/4 by up to 2**-6.
    _R_TRIG32 = mp.pi / 4 + mp.mpf(2) ** -5
    _S_LOG = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * (1 + mp.mpf(2) ** -20)
    _T_ATAN = mp.tan(mp.pi / 8) * (1 + mp.mpf(2) ** -20)

TABLES = {
    # exp/expm1 core: expm1(r) = r + r**2/2 + r**3 * P(r), |r| <= ln2/2, relative error.
    "expm1_f64": (_expm1_rest, lambda t: 1 / mp.expm1(t), list(range(3, 13)),
                  -_R_EXP, _R_EXP, 53),
    "expm1_f32": (_expm1_rest, lambda t: 1 / mp.expm1(t), list(range(3, 8)),
                  -_R_EXP, _R_EXP, 24),
    # sin(r) = r + r**3 * P(r**2), cos(r) = 1 - r**2/2 + r**4 * Q(r**2), |r| <= pi/4.
    "sin_f64": (_sin_rest, lambda t: 1 / mp.sin(t), [3, 5, 7, 9, 11, 13], 0, _R_TRIG, 53),
    "cos_f64": (_cos_rest, lambda t: 1 / mp.cos(t), [4, 6, 8, 10, 12, 14], 0, _R_TRIG, 53),
    "sin_f32": (_sin_rest, lambda t: 1 / mp.sin(t), [3, 5, 7], 0, _R_TRIG32, 24),
    "cos_f32": (_cos_rest, lambda t: 1 / mp.cos(t), [4, 6, 8], 0, _R_TRIG32, 24),
    # log: log1p(f) = 2s + s R(s**2), s = f / (2 + f), |s| <= (sqrt2-1)/(sqrt2+1); R's error
    # enters the result as s dR against 2s: weight 1/2 (absolute in R).
    "log_f64": (_atanh_r, lambda t: mp.mpf(1) / 2, [1, 2, 3, 4, 5, 6, 7], 0, _S_LOG ** 2, 53),
    "log_f32": (_atanh_r, lambda t: mp.mpf(1) / 2, [1, 2, 3], 0, _S_LOG ** 2, 24),
    # atan(t) = t + t**3 P(t**2), |t| <= tan(pi/8).
    "atan_f64": (_atan_rest, lambda t: 1 / mp.atan(t), [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23],
                 0, _T_ATAN, 53),
    "atan_f32": (_atan_rest, lambda t: 1 / mp.atan(t), [3, 5, 7, 9, 11], 0, _T_ATAN, 24),
}


def _split(value, bits, first_bits):
    """value = hi + lo (+ ...): hi keeps ``first_bits`` significant bits, the rest ``bits``."""
    e = mp.floor(mp.log(abs(value), 2))
    hi = mp.nint(value * mp.mpf(2) ** (first_bits - 1 - e)) / mp.mpf(2) ** (first_bits - 1 - e)
    return hi, _round(value - hi, bits)


@mp.workdps(DIGITS)
def constants():
    """The split constants of the range reductions (name, value) in working precision."""
    out = []
    # exp: n * LN2_HI exact for |n| < 2**11 (float64) / 2**8 (float32).
    for suffix, bits, n_bits in (("64", 53, 11), ("32", 24, 8)):
        hi, lo = _split(LN2, bits, bits - n_bits)
        out += [(f"LN2_HI_{suffix}", hi), (f"LN2_LO_{suffix}", lo)]
    # sin/cos: pi/2 = P1 + P2 + P3, each rounded to working precision (used with fma).
    for suffix, bits in (("64", 53), ("32", 24)):
        rest = mp.pi / 2
        for k in (1, 2, 3):
            piece = _round(rest, bits)
            out.append((f"PIO2_{k}_{suffix}", piece))
            rest -= piece
    # Rounded values with their tails (value = HI + LO to twice the working precision).
    for suffix, bits in (("64", 53), ("32", 24)):
        for name, value in (("PIO2", mp.pi / 2), ("PIO4", mp.pi / 4), ("INVLN2", 1 / LN2)):
            hi = _round(value, bits)
            out += [(f"{name}_HI_{suffix}", hi), (f"{name}_LO_{suffix}", _round(value - hi, bits))]
        hi = _round(LN2, bits)
        out += [(f"LN2_{suffix}", hi), (f"LN2_TAIL_{suffix}", _round(LN2 - hi, bits))]
    return out


@mp.workdps(DIGITS)
def main(names):
    if not names:
        for name, value in constants():
            text = repr(float(value)) if name.endswith("64") else str(np.float32(float(value)))
            print(f"{name} = {text}")
    for name in names or TABLES:
        target, weight, powers, a, b, bits = TABLES[name]
        coeffs, worst = fit_rounded(target, weight, powers, a, b, bits)
        print(f"# {name}: powers {powers} on [{mp.nstr(a, 8)}, {mp.nstr(b, 8)}], "
              f"max rel err {mp.nstr(worst, 3)} (2**{mp.nstr(mp.log(worst, 2), 4)})")
        for p, c in zip(powers, coeffs):
            text = repr(float(c)) if bits == 53 else str(np.float32(float(c)))
            print(f"    {text},  # t**{p}")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
