"""``funcgrad.scipy.special``: the names and semantics of ``jax.scipy.special``.

Built from primitives that need only NumPy: ``gammaln`` (the ``lgamma`` primitive), ``digamma``,
``polygamma``, ``erf``, ``erfc``, ``erfinv``, ``ndtri``, ``i0e`` and ``i1e`` are primitives
(``funcgrad/ops/special_functions.py``, where their accuracy is stated), and so are the
regularized incomplete gamma and beta functions ``gammainc``, ``gammaincc``, ``betainc`` and
``betaincc`` (``funcgrad/ops/incomplete.py``), the exponential integrals ``exp1``, ``expi``
and ``expn``, ``erfcx`` and ``dawsn`` (``funcgrad/ops/exponential_integrals.py``), ``spence``
(``funcgrad/ops/dilogarithm.py``), ``zeta`` (``funcgrad/ops/zeta.py``), ``owens_t``
(``funcgrad/ops/owens_t.py``), the sine, cosine and Fresnel integrals of ``sici`` and
``fresnel`` (``funcgrad/ops/oscillatory_integrals.py``), the Faddeeva function ``wofz``
(``funcgrad/ops/faddeeva.py``), ``hyp1f1`` and ``hyp2f1``; ``bessel_jn`` and ``sph_harm_y``
are recurrences in ``funcgrad.numpy`` (``funcgrad/scipy/_bessel_harmonics.py``)
(``funcgrad/ops/hypergeometric.py``); the rest are compositions of them and of
``funcgrad.numpy`` (``comb``, ``poch``, ``factorial``,
``loggamma``, ``multigammaln`` of ``gammaln``; ``i0``, ``i1`` of ``i0e``, ``i1e``; ``boxcox``,
``kl_div``, ...), so every function is differentiable to any order and works under ``jit``
and ``vmap``. Integer inputs are computed as float64.

Conventions (as JAX): ``xlogy(0, y) = 0`` and ``xlog1py(0, y) = 0`` for every y (also y = 0,
resp. -1), with derivatives ``log(y)`` and ``x / y`` elsewhere (0 and 0 at that corner, where
JAX's are -inf and nan); ``entr(0) = 0``, ``entr(x < 0) = -inf``; ``gammaln`` is
``log|Gamma|``; ``gamma`` and ``beta`` are ``sign * exp(log|.|)``, as in JAX (so their relative
accuracy is that of ``exp`` of a value of size ``|gammaln|``: about 1e-13 near x = 170).
``polygamma``'s and ``expn``'s orders, ``multigammaln``'s ``d`` and ``bernoulli``'s ``n`` must
be concrete (static) integers; ``bernoulli`` is exact (fractions, rounded once). Where SciPy
and JAX differ the values are SciPy's (``poch`` at the poles of z, ``loggamma(0) = inf``,
``bernoulli``'s digits), except ``comb(..., repetition=True)`` off the whole numbers and
``multigammaln`` below its domain (JAX's: SciPy raises).
``gammainc``, ``gammaincc``, ``betainc`` and ``betaincc`` are differentiable in ``x`` to any
order, and in ``a`` and ``b`` to first order (that derivative again in x to any order); a second
derivative in a parameter raises ``TypeError`` naming it.

>>> import funcgrad as fg
>>> round(float(fg.grad(gammaln)(3.0)), 12)    # digamma(3) = 3/2 - Euler's gamma
0.922784335098
"""
from __future__ import annotations

import fractions
import functools
import math

import numpy as np

from .. import numpy as fnp
from ..core.array import returning_arrays as _returning_arrays
from ..core.errors import at_user_line
from ..core.trace import Tracer
from ..nn import functions as _nn
from ..numpy._core import is_weak
from ..ops import dilogarithm as _dilogarithm
from ..ops import elementwise as _ew
from ..ops import exponential_integrals as _exponential_integrals
from ..ops import faddeeva as _faddeeva
from ..ops import hypergeometric as _hypergeometric
from ..ops import incomplete as _incomplete
from ..ops import oscillatory_integrals as _oscillatory
from ..ops import owens_t as _owens_t
from ..ops import special as _sp
from ..ops import special_functions as _sf
from ..ops import zeta as _zeta
from ._bessel_harmonics import bessel_jn, sph_harm_y

__all__ = ["bernoulli", "bessel_jn", "betainc", "betaincc", "betaln", "beta", "boxcox",
           "boxcox1p", "comb",
           "dawsn",
           "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "expi", "expit", "expn",
           "factorial", "fresnel", "gamma",
           "gammainc", "gammaincc", "gammaln", "gammasgn", "hyp1f1", "hyp2f1",
           "i0", "i0e", "i1", "i1e",
           "kl_div", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp",
           "multigammaln", "ndtr", "ndtri", "owens_t", "poch", "polygamma", "rel_entr",
           "sici", "softmax", "spence", "sph_harm_y", "wofz", "xlog1py", "xlogy", "zeta"]

_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def _float(x):
    """A tracer or a NumPy array of a floating dtype (integers and bools become float64)."""
    x = x if type(x) is Tracer else np.asarray(x)
    if x.dtype.kind == "f":
        return x
    return fnp.astype(x, np.float64)


def _floats(*xs):
    """Operands of one floating dtype (NumPy's promotion; Python numbers are weak, as in
    JAX: ``xlogy(float32_array, 2.0)`` is float32)."""
    weak = [is_weak(x) for x in xs]
    xs = [_float(x) for x in xs]
    strong = [x.dtype for x, is_weak in zip(xs, weak) if not is_weak]
    dtype = np.result_type(*strong) if strong else np.result_type(*[x.dtype for x in xs])
    return [x if x.dtype == dtype else fnp.astype(x, dtype) for x in xs]


# ------------------------------------------------------------------- gamma and relatives

def gammaln(x):
    """``log|Gamma(x)|``; derivative ``digamma``."""
    return _sf.lgamma(_float(x))


def digamma(x):
    """``Gamma'(x) / Gamma(x)``; derivative ``polygamma(1, x)``."""
    return _sf.digamma(_float(x))


def _concrete_order(function: str, n, what: str):
    """``n`` as a NumPy array; a ``TypeError`` naming ``function`` where it is traced (an order
    picks the series that is computed, so it must be known when tracing)."""
    if type(n) is Tracer:
        raise TypeError(at_user_line(
            f"{function}: the order n is {n._describe()}, but it must be concrete: it picks "
            f"the series that is computed. Pass {what} (under jit, a static argument: "
            "fg.jit(f, static_argnums=...))"))
    return np.asarray(n)


def polygamma(n, x):
    """The n-th derivative of ``digamma`` (``n``: a concrete non-negative integer)."""
    order = _concrete_order("polygamma", n, "a Python int")
    if order.ndim or order.dtype.kind not in "iub" and order != int(order):
        raise TypeError("polygamma: the order n must be one concrete non-negative integer")
    return _sf.polygamma(int(order), _float(x))


def _gamma_sign(x):
    """The sign of Gamma(x): 1 for x > 0, (-1)**ceil(-x) below (flat)."""
    floor = fnp.floor(x)
    odd = fnp.remainder(floor, 2.0) == 1.0
    return fnp.where((x > 0) | ~odd, 1.0, -1.0).astype(x.dtype)


def gamma(x):
    """``Gamma(x) = sign * exp(gammaln(x))``."""
    x = _float(x)
    return _gamma_sign(x) * fnp.exp(gammaln(x))


def betaln(a, b):
    """``log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``."""
    a, b = _floats(a, b)
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def beta(a, b):
    """``B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b)``, as a sign times ``exp(betaln)``."""
    a, b = _floats(a, b)
    sign = _gamma_sign(a) * _gamma_sign(b) * _gamma_sign(a + b)
    return sign * fnp.exp(betaln(a, b))


def gammainc(a, x):
    """The regularized lower incomplete gamma function ``P(a, x) = gamma(a, x) / Gamma(a)``;
    derivative in x ``x**(a - 1) exp(-x) / Gamma(a)``, in a a first derivative (numerical).

    >>> round(float(gammainc(1.0, 2.0)), 12)     # 1 - exp(-2)
    0.864664716763
    """
    a, x = _floats(a, x)
    return _incomplete.gammainc(a, x)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, accurate in
    relative terms in its tail; derivative in x ``-x**(a - 1) exp(-x) / Gamma(a)``."""
    a, x = _floats(a, x)
    return _incomplete.gammaincc(a, x)


def betainc(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)``; derivative in x
    ``x**(a - 1) (1 - x)**(b - 1) / B(a, b)``, in a and b first derivatives (numerical).

    >>> round(float(betainc(2.0, 3.0, 0.5)), 12)     # 11/16
    0.6875
    """
    a, b, x = _floats(a, b, x)
    return _incomplete.betainc(a, b, x)


def betaincc(a, b, x):
    """Its complement ``1 - I_x(a, b) = I_{1-x}(b, a)`` (SciPy's ``betaincc``), accurate in
    relative terms where it is small."""
    a, b, x = _floats(a, b, x)
    return _incomplete.betaincc(a, b, x)


def gammasgn(x):
    """The sign of ``Gamma(x)``: 1 for x > 0 (and +0), ``(-1)**ceil(-x)`` below 0 (-1 at -0),
    nan at the poles (the negative integers) and at nan and -inf, as SciPy; derivative 0."""
    x = _float(x)
    pole = ((x < 0) & (fnp.floor(x) == x)) | fnp.isnan(x)
    sign = fnp.where((x == 0) & (fnp.copysign(1.0, x) < 0), -1.0, _gamma_sign(x)).astype(x.dtype)
    return fnp.where(pole, np.nan, sign).astype(x.dtype)


def loggamma(x):
    """The principal branch of ``log(Gamma(x))`` on the real line: ``gammaln(x)`` for x > 0,
    inf at 0, nan below (where Gamma is negative or has poles), as SciPy's for real x;
    derivative ``digamma``."""
    x = _float(x)
    positive = x > 0
    value = gammaln(fnp.where(positive, x, 1.0))
    edge = fnp.where(x == 0, np.inf, np.nan).astype(x.dtype)
    return fnp.where(positive, value, edge)


def factorial(n, exact: bool = False):
    """``n! = Gamma(n + 1)`` for n >= 0 (also non-integers, as SciPy's ``exact=False``), 0 for
    n < 0; inf beyond 170.62. ``exact=True`` (Python integers) is not differentiable and is
    not offered, as in JAX: use ``math.factorial``."""
    if exact:
        raise ValueError("factorial: exact=True is not supported (as in jax.scipy.special): "
                         "use math.factorial for exact integer factorials")
    n = _float(n)
    negative = n < 0      # (a nan is not: it goes through)
    value = gamma(fnp.where(negative, 0.0, n) + 1.0)
    return fnp.where(negative, 0.0, value).astype(n.dtype)


def comb(N, k, *, repetition: bool = False):
    """The binomial coefficient ``N choose k`` of real ``N, k``: ``exp(gammaln(N + 1) -
    gammaln(k + 1) - gammaln(N - k + 1))`` where ``0 <= k <= N``, 0 elsewhere (SciPy's
    ``exact=False``); with ``repetition`` the number of multisets, ``comb(N + k - 1, k)`` (1
    at k = 0): SciPy's value for whole N >= 0 and k; elsewhere JAX's convention, 0 outside
    ``0 <= k <= N + k - 1``, where SciPy's is the generalized binomial coefficient.

    >>> round(float(comb(5, 2)), 9)
    10.0
    """
    N, k = _floats(N, k)
    if repetition:
        multisets = comb(N + k - 1.0, k)
        return fnp.where((k == 0) & (N >= 0), 1.0, multisets).astype(multisets.dtype)
    inside = (k <= N) & (N >= 0) & (k >= 0)
    safe_N, safe_k = fnp.where(inside, N, 0.0), fnp.where(inside, k, 0.0)
    value = fnp.exp(gammaln(safe_N + 1.0) - gammaln(safe_k + 1.0)
                    - gammaln(safe_N - safe_k + 1.0))
    return fnp.where(inside, value, 0.0).astype(value.dtype)


def _is_pole(x):
    return (x <= 0) & (fnp.floor(x) == x)


def poch(z, m):
    """The rising factorial ``(z)_m = Gamma(z + m) / Gamma(z)``, as a sign times ``exp`` of a
    difference of ``gammaln``; where z is a pole (0, -1, ...) its limit: 0 unless z + m is one
    too, then ``(-1)**m n! / (n - m)!`` with ``n = -z`` (a product of m integers); inf where
    only z + m is a pole; as SciPy.

    >>> float(poch(3.0, 2.0))     # 3 * 4
    12.0
    """
    z, m = _floats(z, m)
    z_pole, sum_pole = _is_pole(z), _is_pole(z + m)
    regular_z = fnp.where(z_pole, 0.5, z)
    sign = _gamma_sign(regular_z + m) * _gamma_sign(regular_z)
    regular = sign * fnp.exp(gammaln(regular_z + m) - gammaln(regular_z))
    # both poles: m = (z + m) - z is an integer; (z)_m = (-1)**m Gamma(1 - z) / Gamma(1 - z - m)
    both = z_pole & sum_pole
    safe_z, safe_m = fnp.where(both, z, 0.0), fnp.where(both, m, 0.0)
    odd = fnp.remainder(safe_m, 2.0) == 1.0
    limit = (fnp.where(odd, -1.0, 1.0).astype(z.dtype)
             * fnp.exp(gammaln(1.0 - safe_z) - gammaln(1.0 - safe_z - safe_m)))
    # only z + m a pole: inf (SciPy's; the sign of Gamma is undefined there)
    outer = fnp.where(z_pole, 0.0, fnp.where(sum_pole, np.inf, regular)).astype(regular.dtype)
    return fnp.where(both, limit, outer)


def multigammaln(a, d: int):
    """The log of the multivariate gamma function of dimension ``d`` (a concrete positive
    integer): ``d (d - 1) / 4 log(pi) + sum_{j=1..d} gammaln(a + (1 - j) / 2)``; defined for
    ``a > (d - 1) / 2`` (below it, the value of that formula, as JAX: SciPy raises).

    >>> round(float(multigammaln(2.5, 1)), 12) == round(float(gammaln(2.5)), 12)
    True
    """
    if type(d) is Tracer or int(d) != d or int(d) < 1:
        raise ValueError(f"multigammaln: d must be a concrete positive integer, got {d!r}")
    a = _float(a)
    d = int(d)
    total = gammaln(a)
    for j in range(2, d + 1):
        total = total + gammaln(a + 0.5 * (1 - j))
    return total + d * (d - 1) / 4.0 * math.log(math.pi)


@functools.cache
def _bernoulli_numbers(n: int) -> tuple:
    """``B_0 ... B_n`` (``B_1 = -1/2``) as exact fractions, by the recurrence
    ``sum_{j=0..m} C(m + 1, j) B_j = 0``."""
    numbers = [fractions.Fraction(1)]
    for m in range(1, n + 1):
        total = sum(math.comb(m + 1, j) * numbers[j] for j in range(m))
        numbers.append(-total / (m + 1))
    return tuple(numbers)


def bernoulli(n: int):
    """The Bernoulli numbers ``B_0, ..., B_n`` as a float64 array (``B_1 = -1/2``, as SciPy),
    computed exactly (as fractions) and rounded once; ``n`` a concrete non-negative integer.

    >>> bernoulli(4).tolist() == [1.0, -0.5, 1 / 6, 0.0, -1 / 30]
    True
    """
    if type(n) is Tracer or int(n) != n or int(n) < 0:
        raise ValueError(f"bernoulli: n must be a concrete non-negative integer, got {n!r}")
    return np.array([float(b) for b in _bernoulli_numbers(int(n))])


# ---------------------------------------------------------------------- Bessel functions

def i0(x):
    """The modified Bessel function of order 0, ``exp(|x|) i0e(x)`` (inf beyond |x| = 713)."""
    x = _float(x)
    return fnp.exp(fnp.abs(x)) * _sf.i0e(x)


def i1(x):
    """The modified Bessel function of order 1, ``exp(|x|) i1e(x)`` (odd)."""
    x = _float(x)
    return fnp.exp(fnp.abs(x)) * _sf.i1e(x)


# ------------------------------------------------------------------------ error functions

def erf(x):
    """The error function; derivative ``2/sqrt(pi) exp(-x**2)``."""
    return _sp.erf(_float(x))


def erfc(x):
    """``1 - erf(x)``, accurate in its tail (relative error below 1e-15 to x = 26)."""
    return _sf.erfc(_float(x))


def erfinv(x):
    """The inverse of ``erf`` on (-1, 1) (+-inf at +-1, nan outside)."""
    return _sf.erfinv(_float(x))


def hyp2f1(a, b, c, x):
    """Gauss's hypergeometric function ``sum_k (a)_k (b)_k / (c)_k x**k / k!`` for ``x <= 1``:
    the series for 0 <= x < 1 (the 1 - x transformation above 0.9 where c - a - b is not near
    an integer), Pfaff's transform for x < 0, Gauss's sum at 1, nan beyond (full accuracy for
    x in [-500, 0.998], and up to 1 with that transformation, where the terms keep one sign,
    see ``funcgrad/ops/hypergeometric.py``); derivative in x ``a b / c hyp2f1(a + 1, b + 1, c + 1,
    x)``, none in a, b and c (``TypeError``), as JAX.

    >>> round(float(hyp2f1(1.0, 1.0, 2.0, -1.0)), 12)     # log(2)
    0.69314718056
    """
    a, b, c, x = _floats(a, b, c, x)
    return _hypergeometric.hyp2f1(a, b, c, x)


def ndtr(x):
    """The standard normal CDF ``erfc(-x / sqrt 2) / 2``."""
    x = _float(x)
    return 0.5 * erfc(x * -_SQRT_HALF)


def hyp1f1(a, b, x):
    """Kummer's confluent hypergeometric function ``sum_k (a)_k / (b)_k x**k / k!``, summed
    directly (with Kummer's transform for x < 0: accurate where the terms keep one sign, see
    ``funcgrad/ops/hypergeometric.py``); derivative in x ``a / b hyp1f1(a + 1, b + 1, x)``,
    none in a and b (``TypeError``), as JAX.

    >>> round(float(hyp1f1(1.0, 2.0, 1.0)), 12)     # (e - 1) / 1
    1.718281828459
    """
    a, b, x = _floats(a, b, x)
    return _hypergeometric.hyp1f1(a, b, x)


def owens_t(h, a):
    """Owen's T function ``1/(2 pi) int_0^a exp(-h**2 (1 + x**2) / 2) / (1 + x**2) dx`` (even in
    h, odd in a); derivatives ``-exp(-h**2 / 2) erf(a h / sqrt 2) / (2 sqrt(2 pi))`` in h and
    ``exp(-h**2 (1 + a**2) / 2) / (2 pi (1 + a**2))`` in a.

    >>> round(float(owens_t(0.0, 1.0)), 12)     # arctan(1) / (2 pi)
    0.125
    """
    h, a = _floats(h, a)
    return _owens_t.owens_t(h, a)


def ndtri(p):
    """The inverse of ``ndtr`` (``-inf`` at 0, ``inf`` at 1)."""
    return _sf.ndtri(_float(p))


_LOG_NDTR_ASYMPTOTIC_TERMS = 10


def log_ndtr(x):
    """``log(ndtr(x))`` without underflow: ``log1p(-ndtr(-x))`` for x > 0, ``log(ndtr(x))``
    down to x = -20 (float64; -10 in float32), and below that the asymptotic series
    ``-x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_k (-1)**k (2k - 1)!! / x**(2k))``
    (ten terms; the first left out is below 1e-17 there). Each branch is evaluated at a safe
    stand-in where it is not used, so no inf or nan reaches a derivative."""
    x = _float(x)
    lower = -20.0 if x.dtype == np.float64 else -10.0
    upper_x = fnp.where(x > 0, x, 1.0)
    upper = fnp.log1p(-0.5 * erfc(upper_x * _SQRT_HALF))
    middle_x = fnp.where((x <= 0) & (x > lower), x, -1.0)
    middle = fnp.log(0.5 * erfc(middle_x * -_SQRT_HALF))
    tail_x = fnp.where(x <= lower, x, lower)
    inverse_square = 1.0 / (tail_x * tail_x)
    series = fnp.zeros_like(tail_x)
    for k in range(_LOG_NDTR_ASYMPTOTIC_TERMS, 0, -1):   # Horner in 1/x^2
        series = (series + 1.0) * (inverse_square * -(2 * k - 1))
    tail = (-0.5 * tail_x * tail_x - fnp.log(-tail_x) - _HALF_LOG_TWO_PI
            + fnp.log1p(series))
    return fnp.where(x > 0, upper, fnp.where(x > lower, middle, tail))


def erfcx(x):
    """The scaled complementary error function ``exp(x**2) erfc(x)``, without overflow for
    x > 0 (about ``1 / (sqrt(pi) x)`` there); derivative ``2 x erfcx(x) - 2/sqrt(pi)``."""
    return _exponential_integrals.erfcx(_float(x))


def dawsn(x):
    """Dawson's integral ``exp(-x**2) int_0^x exp(t**2) dt`` (odd); derivative
    ``1 - 2 x dawsn(x)``."""
    return _exponential_integrals.dawsn(_float(x))


def sici(x):
    """The sine and cosine integrals ``(Si(x), Ci(x))``, ``Si(x) = int_0^x sin t / t dt`` and
    ``Ci(x) = gamma + log|x| + int_0^|x| (cos t - 1) / t dt`` (SciPy's real ``sici``: Si odd,
    Ci even, ``Ci(0) = -inf``); derivatives ``sin(x) / x`` and ``cos(x) / x``."""
    x = _float(x)
    return _oscillatory.si(x), _oscillatory.ci(x)


def fresnel(x):
    """The Fresnel integrals ``(S(x), C(x))``, ``int_0^x sin(pi t**2 / 2) dt`` and ``int_0^x
    cos(pi t**2 / 2) dt`` (both odd, 1/2 at infinity); derivatives ``sin(pi x**2 / 2)`` and
    ``cos(pi x**2 / 2)``."""
    x = _float(x)
    return _oscillatory.fresnel_s(x), _oscillatory.fresnel_c(x)


def wofz(z):
    """The Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)`` of complex z (a real z becomes
    complex: complex64 for float32, else complex128); complex derivative ``-2 z w(z) +
    2i / sqrt(pi)`` (holomorphic)."""
    z = z if type(z) is Tracer else np.asarray(z)
    if z.dtype.kind != "c":
        z = fnp.astype(z, np.complex64 if z.dtype == np.float32 else np.complex128)
    return _faddeeva.wofz(z)


# ------------------------------------------------------------------ exponential integrals

def exp1(x):
    """The exponential integral ``E1(x) = int_x^inf exp(-t) / t dt`` for real x (inf at 0,
    nan below, as SciPy); derivative ``-exp(-x) / x``.

    >>> round(float(exp1(1.0)), 12)
    0.219383934396
    """
    return _exponential_integrals.exp1(_float(x))


def expn(n, x):
    """The generalized exponential integral ``E_n(x) = int_1^inf exp(-x t) / t**n dt`` of a
    concrete whole ``n >= 0`` (a number or an array of them; nan for n < 0, as SciPy) and x;
    derivative in x ``-E_(n-1)(x)`` (``E_0 = exp(-x) / x``), none in n.

    >>> round(float(expn(2, 1.0)), 12)
    0.148495506776
    """
    orders = _concrete_order("expn", n, "Python ints or a NumPy array")
    if orders.dtype.kind not in "iub" and not np.all(orders == np.round(orders)):
        raise ValueError(f"expn: the order n must hold whole numbers, got {n!r}")
    x = _float(x)
    if not orders.ndim:
        order = int(orders)
        if order < 0:
            return fnp.full_like(x, np.nan)
        return _exponential_integrals.expn(order, x)
    # one primitive for each order that occurs, each taken where n holds it
    shape = np.broadcast_shapes(orders.shape, fnp.shape(x))
    x = fnp.broadcast_to(x, shape)
    orders = np.broadcast_to(orders, shape)
    out = fnp.full_like(x, np.nan)
    for order in np.unique(orders[orders >= 0]).astype(int):
        out = fnp.where(orders == order, _exponential_integrals.expn(int(order), x), out)
    return out


def expi(x):
    """The exponential integral ``Ei(x)``, the principal value of ``int_-inf^x exp(t) / t dt``
    (-inf at 0; ``-E1(-x)`` below 0); derivative ``exp(x) / x``."""
    return _exponential_integrals.expi(_float(x))


# --------------------------------------------------------------------- logistic and logs

def expit(x):
    """The logistic function ``1 / (1 + exp(-x))``."""
    return _ew.logistic(_float(x))


def logit(p):
    """``log(p / (1 - p))``, as ``log(p) - log1p(-p)``."""
    p = _float(p)
    return fnp.log(p) - fnp.log1p(-p)


def xlogy(x, y):
    """``x * log(y)``, 0 where x == 0 (also at y = 0)."""
    x, y = _floats(x, y)
    safe_y = fnp.where((x == 0) & (y == 0), 1.0, y)
    return x * fnp.log(safe_y)


def xlog1py(x, y):
    """``x * log1p(y)``, 0 where x == 0 (also at y = -1)."""
    x, y = _floats(x, y)
    safe_y = fnp.where((x == 0) & (y == -1), 0.0, y)
    return x * fnp.log1p(safe_y)


def entr(x):
    """``-x log(x)`` for x > 0, 0 at 0, -inf below (the elementwise entropy)."""
    x = _float(x)
    safe_x = fnp.where(x > 0, x, 1.0)
    return fnp.where(x > 0, -safe_x * fnp.log(safe_x),
                     fnp.where(x == 0, 0.0, -np.inf).astype(x.dtype))


def zeta(x, q=None):
    """The Hurwitz zeta function ``sum_k (q + k)**-x`` (x > 1; nan below, as SciPy), or with
    ``q=None`` the Riemann zeta function on every real ``x != 1`` (by reflection below 0);
    derivative in q ``-x zeta(x + 1, q)``, none in x (``TypeError``), as JAX.

    >>> round(float(zeta(2.0)), 12)      # pi**2 / 6
    1.644934066848
    """
    if q is None:
        x = _float(x)
        return _zeta.zeta(x, fnp.ones_like(x), riemann=True)
    x, q = _floats(x, q)
    return _zeta.zeta(x, q)


def spence(x):
    """SciPy's dilogarithm ``spence(x) = int_1^x log(t) / (1 - t) dt = Li2(1 - x)`` for real
    x >= 0 (nan below); derivative ``log(x) / (1 - x)``.

    >>> round(float(spence(1.0)), 12)
    0.0
    """
    return _dilogarithm.spence(_float(x))


def rel_entr(p, q):
    """The elementwise relative entropy ``p log(p / q)`` for p, q > 0; 0 at p = 0 with q >= 0;
    inf elsewhere (as SciPy)."""
    p, q = _floats(p, q)
    both = (p > 0) & (q > 0)
    safe_p, safe_q = fnp.where(both, p, 1.0), fnp.where(both, q, 1.0)
    value = safe_p * fnp.log(safe_p / safe_q)
    edge = fnp.where((p == 0) & (q >= 0), 0.0, np.inf).astype(value.dtype)
    return fnp.where(both, value, edge)


def kl_div(p, q):
    """The elementwise Kullback-Leibler term ``p log(p / q) - p + q`` for p, q > 0; ``q`` at
    p = 0 with q >= 0; inf elsewhere (as SciPy)."""
    p, q = _floats(p, q)
    both = (p > 0) & (q > 0)
    safe_p, safe_q = fnp.where(both, p, 1.0), fnp.where(both, q, 1.0)
    value = safe_p * fnp.log(safe_p / safe_q) - safe_p + safe_q
    zero_p = (p == 0) & (q >= 0)
    return fnp.where(both, value, fnp.where(zero_p, q, np.inf).astype(value.dtype))


def _power_transform(log_value, lmbda):
    """``expm1(lmbda log_value) / lmbda``, ``log_value`` itself at lmbda = 0 (its limit)."""
    at_zero = lmbda == 0
    safe_lmbda = fnp.where(at_zero, 1.0, lmbda)
    return fnp.where(at_zero, log_value, fnp.expm1(safe_lmbda * log_value) / safe_lmbda)


def boxcox(x, lmbda):
    """The Box-Cox transform ``(x**lmbda - 1) / lmbda`` (``log x`` at lmbda = 0), computed as
    ``expm1(lmbda log x) / lmbda``; nan for x < 0, as SciPy."""
    x, lmbda = _floats(x, lmbda)
    return _power_transform(fnp.log(x), lmbda)


def boxcox1p(x, lmbda):
    """``boxcox(1 + x, lmbda)``, accurate for small x (``log1p``); nan for x < -1."""
    x, lmbda = _floats(x, lmbda)
    return _power_transform(fnp.log1p(x), lmbda)


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False):
    """``log(sum(b * exp(a), axis))``, computed with the maximum of ``a`` subtracted first
    (held constant under differentiation: it cancels). With ``return_sign`` the pair
    ``(log|sum|, sign(sum))``; without it a negative sum gives nan (as JAX)."""
    if b is None and not return_sign:
        return _nn.logsumexp(a, axis=axis, keepdims=keepdims)
    a = _float(a)
    if b is not None:
        a, b = _floats(a, b)
        a, b = fnp.broadcast_arrays(a, b)
    shifted, shift = _nn._shifted(a, axis)
    terms = fnp.exp(shifted) if b is None else b * fnp.exp(shifted)
    total = fnp.sum(terms, axis=axis, keepdims=keepdims)
    shift = fnp.reshape(shift, fnp.shape(total))
    if not return_sign:
        return fnp.log(total) + shift
    sign = fnp.sign(total)
    return fnp.log(fnp.abs(total)) + shift, sign


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)`` (SciPy's default: over all of x)."""
    return _nn.softmax(_float(x), axis=axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)`` (SciPy's default: over all of x)."""
    return _nn.log_softmax(_float(x), axis=axis)


i0e = _returning_arrays(lambda x: _sf.i0e(_float(x)))
i0e.__name__ = i0e.__qualname__ = "i0e"
i0e.__doc__ = "``exp(-|x|) I0(x)``; derivative ``i1e(x) - sign(x) i0e(x)``."
i1e = _returning_arrays(lambda x: _sf.i1e(_float(x)))
i1e.__name__ = i1e.__qualname__ = "i1e"
i1e.__doc__ = "``exp(-|x|) I1(x)``; derivative ``i0e(x) - i1e(x) (sign(x) + 1/x)``."

for _name in __all__:
    if _name not in ("i0e", "i1e", "bernoulli"):
        globals()[_name] = _returning_arrays(globals()[_name])
del _name
