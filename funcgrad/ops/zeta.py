"""The Hurwitz zeta function ``zeta(x, q) = sum_k (q + k)**-x`` (x > 1) and, with the static
parameter ``riemann``, the Riemann zeta function ``zeta(x) = zeta(x, 1)`` continued to every
real ``x != 1`` (SciPy's ``zeta(x)``), as one elementwise primitive of two operands;
``funcgrad.scipy.special.zeta`` exposes it.

The NumPy implementation is ``special_functions._hurwitz_zeta`` (direct terms, then
Euler-Maclaurin), in float64; for the Riemann function below 0 the reflection ``zeta(x) =
2**x pi**(x - 1) sin(pi x / 2) Gamma(1 - x) zeta(1 - x)``, with ``zeta(0) = -1/2``. Values as
SciPy's: inf at x = 1 and at the poles q = 0, -1, ...; nan for x < 1 (Hurwitz), for a negative
non-integer q with a non-integer x, for q below -1e4 (not computed: it would take -q direct
terms), and at x = inf (inf there for 0 < q < 1). Relative error against SciPy below 2e-15 for
x > 1 (1e-14 for the Riemann function on (0, 1), whose Euler-Maclaurin tail cancels, and 1e-12
below 0 down to x = -60, from exp of ``lgamma(1 - x)`` in the reflection).

Derivatives, as JAX's: in q, ``-x zeta(x + 1, q)`` (and so on, to any order); in x there is
none: a derivative with respect to x raises ``TypeError`` naming it. No numba template:
compiled programs call the NumPy implementation as one step.
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
from .special_functions import _hurwitz_zeta, lgamma_numpy

_LOWEST_Q = -1e4


def _riemann_numpy(x):
    """The Riemann zeta function on every real x (float64 array)."""
    out = np.full_like(x, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        positive = (x > 0) & (x != 1) & np.isfinite(x)
        out[positive] = _hurwitz_zeta(x[positive], 1.0)
        negative = (x < 0) & np.isfinite(x)
        s = 1.0 - x[negative]
        # 2**x pi**(x - 1) Gamma(1 - x), as exp of its log (Gamma overflows first); sin(pi x / 2)
        # is 0 at the even negative integers (the trivial zeros)
        scale = np.exp(x[negative] * math.log(2.0) + (x[negative] - 1.0) * math.log(math.pi)
                       + lgamma_numpy(s))
        half = 0.5 * x[negative]
        sine = np.where(half == np.round(half), 0.0, np.sin(math.pi * (half - 2.0 * np.round(
            half / 2.0))))
        out[negative] = np.where(sine == 0, 0.0, sine * scale * _hurwitz_zeta(s, 1.0))
    out[x == 0] = -0.5
    out[x == 1] = np.inf
    out[x == np.inf] = 1.0
    return out


def zeta_numpy(x, q, riemann: bool = False):
    """``zeta(x, q)`` elementwise (SciPy's ``zeta``); with ``riemann`` the Riemann function of
    x (q is then 1).

    >>> round(float(zeta_numpy(np.float64(2.0), np.float64(1.0))), 15) == round(math.pi**2/6, 15)
    True
    """
    x, q = np.broadcast_arrays(np.asarray(x), np.asarray(q))
    shape, dtype = x.shape, np.result_type(x.dtype, q.dtype, np.float32)
    x, q = x.astype(np.float64).ravel(), q.astype(np.float64).ravel()
    if riemann:
        out = _riemann_numpy(x)
    else:
        out = np.full_like(x, np.nan)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # (a q far below 0 would take -q direct terms: not computed, nan)
            above = (x > 1) & np.isfinite(x) & (q > _LOWEST_Q) & np.isfinite(q)
            out[above] = _hurwitz_zeta(x[above], q[above])
            out[(x == 1) & ~np.isnan(q)] = np.inf
            out[(x == np.inf) & (q > 0) & (q < 1)] = np.inf     # q**-x dominates
    return out.reshape(shape).astype(dtype)[()]


def _no_derivative_in_x():
    return TypeError(at_user_line(
        "zeta: no derivative with respect to x (as in JAX: only q's is defined); hold x "
        "constant, or pass it through fg.stop_gradient if no derivative should flow through "
        "it"))


def _zeta_in_q(x, q, order: int):
    """``d^order/dq^order zeta(x, q) = (-1)**order x (x + 1) ... (x + order - 1) zeta(x +
    order, q)``."""
    rising = ew.full_like(x, 1)
    for i in range(order):
        rising = ew.mul(rising, ew.add(x, ew.full_like(x, i)))
    sign = ew.full_like(x, (-1) ** order)
    return ew.mul(ew.mul(sign, rising), zeta_p.bind(ew.add(x, ew.full_like(x, order)), q,
                                                   riemann=False))


zeta_p = Primitive("zeta", "elementwise")
zeta_p.impl = lambda x, q, *, riemann: zeta_numpy(x, q, riemann)
_zeta_shape = _floating_shape("zeta")
zeta_p.abstract_eval = lambda x, q, *, riemann: _zeta_shape(x, q)


def _zeta_jvp(primals, tangents, *, riemann):
    (x, q), (tx, tq) = primals, tangents
    if tx is not None or (riemann and tq is not None):
        raise _no_derivative_in_x()
    ans = zeta_p.bind(x, q, riemann=riemann)
    if tq is None:
        return ans, None
    return ans, ew._broadcast_to(ew.mul(tq, _zeta_in_q(x, q, 1)), np.shape(ans))


def _zeta_vjp(needs, g, ans, x, q, *, riemann):
    if needs[0] or (riemann and needs[1]):
        raise _no_derivative_in_x()
    dq = structural.unbroadcast(ew.mul(g, _zeta_in_q(x, q, 1)), np.shape(q)) if needs[1] else None
    return None, dq


def _zeta_taylor(primals, series, *, riemann):
    x, q = primals
    if any(term is not None for term in series[0]) or riemann:
        raise _no_derivative_in_x()
    u = ts.Series.of(q, series[1])
    v = ts.compose(u, [zeta_p.bind(x, q, riemann=False)]
                   + [_zeta_in_q(x, q, j) for j in range(1, u.order + 1)])
    return v[0], v.tail()


zeta_p.jvp, zeta_p.vjp, zeta_p.taylor = _zeta_jvp, _zeta_vjp, _zeta_taylor
zeta_p.batch = ew._elementwise_batch(zeta_p)


def zeta(x, q, riemann: bool = False):
    """``zeta(x, q)`` on floating operands of one dtype (``riemann``: the Riemann function of
    x, q a placeholder 1)."""
    return zeta_p.bind(x, q, riemann=bool(riemann))
