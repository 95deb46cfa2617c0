"""Taylor-series arithmetic: what the primitives' ``taylor`` rules (``jet``) are written in.

A ``Series`` is a truncated power series ``u(t) = u_0 + u_1 t + ... + u_K t^K``: ``u_0`` is the
primal value and ``u_k`` the k-th *normalized* Taylor coefficient (the k-th derivative along
the path, divided by k!), each an array or a tracer of one shape. ``None`` is an exact zero, a
symbolic one that the arithmetic skips: the input series of ``derivatives`` is ``x + t``, and
``x * x`` of it is the polynomial ``x^2 + 2x t + t^2`` with no work spent on the orders above.

Coefficients are computed on demand, in order, and kept. A series may be defined by a
recurrence on itself: ``exp``'s ``v = exp(u)`` solves ``v' = v u'``, ``tan``'s ``v' = (1 + v^2)
u'``; asking for ``v_k`` reads only ``v_0 .. v_{k-1}``. Every operation costs O(K^2) array
operations for K orders (Cauchy products, and the standard recurrences of Griewank & Walther,
*Evaluating Derivatives*, ch. 13), against nested differentiation's growth. They are written
with funcgrad's own operations, so a rule traces (``jit`` of ``jet``), differentiates and
batches like any other code.

The constructors at the end (``unary_rule``, ``linear``, ``zero``, ``by_jvp``, ...) make a
primitive's ``taylor`` rule from a series function; each primitive sets its rule beside its
other rules, in its own module.
"""
from __future__ import annotations

import math

from ..core.aval import is_differentiable
from . import elementwise as ew  # a cycle: elementwise's rules use this module (call time only)

# ------------------------------------------------------------------ coefficient arithmetic
# On single coefficients, ``None`` being an exact zero (``plus``, ``minus`` and ``cauchy`` are
# for rules too).


def plus(a, b):
    return b if a is None else a if b is None else ew.add(a, b)


def minus(a, b):
    return a if b is None else ew.neg(b) if a is None else ew.sub(a, b)


def _times(a, b):
    return None if a is None or b is None else ew.mul(a, b)


def _scaled(a, factor):
    """``a * factor`` for a Python number ``factor``."""
    return None if a is None else a if factor == 1 else ew.mul(a, factor)


def _quotient(a, b):
    return None if a is None else ew.div(a, b)


def _total(terms):
    """The sum of the terms that are not ``None`` (``None`` if all are)."""
    out = None
    for term in terms:
        if term is not None:
            out = term if out is None else ew.add(out, term)
    return out


def cauchy(a, b, k: int, product=None, start: int = 0, stop: int | None = None):
    """The coefficient ``k`` of the product of ``a`` and ``b``, from ``a_j b_{k-j}`` for ``j``
    in ``start..stop`` (default ``k``; zeros skipped); ``product`` multiplies two
    coefficients (default: elementwise)."""
    product = product or ew.mul
    terms = []
    for j in range(start, (k if stop is None else stop) + 1):
        x = a[j]
        if x is not None:
            y = b[k - j]
            if y is not None:
                terms.append(product(x, y))
    return _total(terms)


# --------------------------------------------------------------------------------- Series

class Series:
    """A truncated Taylor series of order ``order``; ``series[k]`` is its coefficient ``k``
    (``None`` for zero). ``next_term(k)``, if given, computes coefficient ``k`` from the ones
    before it (of this and other series); without it the coefficients are ``terms``, and the
    ones after them are zero."""

    __slots__ = ("order", "_terms", "_next", "_rates")

    def __init__(self, order: int, terms, next_term=None):
        self.order = order
        self._terms = list(terms)
        self._next = next_term
        self._rates = None   # the coefficients of du/dt, worked out once (``rate``)

    @classmethod
    def of(cls, primal, terms) -> Series:
        """The series of a rule's operand: its primal and its K coefficients."""
        return cls(len(terms), [primal, *terms])

    def __getitem__(self, k: int):
        terms = self._terms
        while len(terms) <= k:
            terms.append(None if self._next is None else self._next(len(terms)))
        return terms[k]

    @property
    def primal(self):
        return self[0]

    def tail(self) -> list:
        """Coefficients 1..K: what a ``taylor`` rule returns."""
        return [self[k] for k in range(1, self.order + 1)]

    @property
    def is_constant(self) -> bool:
        """Whether every coefficient after the primal is zero (known without computing any)."""
        return self._next is None and all(t is None for t in self._terms[1:])

    def rate(self, m: int):
        """Coefficient ``m`` of the series of ``du/dt``: ``(m + 1) u_{m+1}`` (kept)."""
        rates = self._rates
        if rates is None:
            rates = self._rates = []
        while len(rates) <= m:
            j = len(rates) + 1
            rates.append(_scaled(self[j], j))
        return rates[m]

    def with_primal(self, value) -> Series:
        """The same coefficients with ``value`` as the primal (a primitive's own, exact,
        value where the series computes it another way)."""
        return Series(self.order, [value], lambda k: self[k])

    def __add__(self, other):
        return add(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __neg__(self):
        return Series(self.order, [], lambda k: None if self[k] is None else ew.neg(self[k]))


def lift(x, order: int) -> Series:
    """``x`` as a series: a series as it is, anything else (an array, a number) a constant."""
    return x if isinstance(x, Series) else Series(order, [x])


def _order_of(*values) -> int:
    return next(v.order for v in values if isinstance(v, Series))


# The operations build series whose every coefficient, the primal too, is computed when first
# asked for: a series under construction (``unknown``) may be an operand.

def add(a, b) -> Series:
    order = _order_of(a, b)
    a, b = lift(a, order), lift(b, order)
    return Series(order, [], lambda k: plus(a[k], b[k]))


def sub(a, b) -> Series:
    order = _order_of(a, b)
    a, b = lift(a, order), lift(b, order)
    return Series(order, [], lambda k: minus(a[k], b[k]))


def mul(a, b, product=None) -> Series:
    """The Cauchy product; ``product`` multiplies two coefficients (default: elementwise; a
    contraction for ``einsum``)."""
    product = product or ew.mul
    order = _order_of(a, b)
    a, b = lift(a, order), lift(b, order)
    if b.is_constant:
        return Series(order, [], lambda k: None if a[k] is None else product(a[k], b[0]))
    if a.is_constant:
        return Series(order, [], lambda k: None if b[k] is None else product(a[0], b[k]))
    return Series(order, [], lambda k: cauchy(a, b, k, product))


def div(a, b) -> Series:
    """``a / b``: ``v_k = (a_k - sum_{j=1..k} b_j v_{k-j}) / b_0``."""
    order = _order_of(a, b)
    a, b = lift(a, order), lift(b, order)
    if b.is_constant:
        return Series(order, [], lambda k: _quotient(a[k], b[0]))
    return recursive(order, None,
                     lambda v, k: _quotient(minus(a[k], cauchy(b, v, k, start=1)), b[0]))


def recursive(order: int, value, step) -> Series:
    """The series whose coefficient ``k`` is ``step(v, k)``, reading ``v``'s earlier
    coefficients (a recurrence: an inverse, a solve); its primal is ``value``, or
    ``step(v, 0)`` where ``value`` is None."""
    v = Series(order, [] if value is None else [value])
    v._next = lambda k: step(v, k)
    return v


# ----------------------------------------------------------------- differential equations

def _undefined(k):
    raise RuntimeError("a series from unknown() was read before define_rate() defined it")


def unknown(order: int, value) -> Series:
    """A series known so far by its primal only; ``define_rate`` gives the rest."""
    return Series(order, [value], _undefined)


def define_rate(v: Series, rate: Series) -> Series:
    """Make ``v`` the solution of ``dv/dt = rate`` (``rate`` may be built from ``v`` itself,
    lazily): ``v_k = rate_{k-1} / k``."""
    v._next = lambda k: _scaled(rate[k - 1], 1.0 / k)
    return v


def rate_of(u: Series) -> Series:
    """The series of ``du/dt``."""
    return Series(u.order, [], u.rate)


def chain(u: Series, value, derivative) -> Series:
    """The series of ``f(u)`` from ``f(u_0) = value`` and ``derivative(v)``, the series of
    ``f'(u)`` (built from ``u``, or from ``v = f(u)`` itself): ``dv/dt = f'(u) du/dt``."""
    v = unknown(u.order, value)
    return define_rate(v, mul(derivative(v), rate_of(u)))


def exp(u: Series, value=None) -> Series:
    """``exp(u)`` (``v' = v u'``); ``value``: the primal, where another function gives it."""
    return chain(u, ew.exp(u[0]) if value is None else value, lambda v: v)


def log(u: Series, value=None) -> Series:
    """``log(u)``: ``v_k = (u_k - (1/k) sum_{j=1..k-1} j v_j u_{k-j}) / u_0``."""
    v = unknown(u.order, ew.log(u[0]) if value is None else value)
    divisor = u[0]

    def next_term(k):
        weighted = _total(_times(v.rate(j - 1), u[k - j]) for j in range(1, k))
        return _quotient(minus(u[k], _scaled(weighted, 1.0 / k)), divisor)
    v._next = next_term
    return v


def sqrt(u: Series, value=None) -> Series:
    """``sqrt(u)``: ``v_k = (u_k - sum_{j=1..k-1} v_j v_{k-j}) / (2 v_0)``."""
    v = unknown(u.order, ew.sqrt(u[0]) if value is None else value)
    twice = ew.mul(v[0], 2)
    v._next = lambda k: _quotient(minus(u[k], cauchy(v, v, k, start=1, stop=k - 1)), twice)
    return v


def power(u: Series, exponent, value=None) -> Series:
    """``u ** exponent`` for a constant exponent (a number or an array), ``u_0 != 0``:
    ``v_k = sum_{j=1..k} (exponent j - (k - j)) u_j v_{k-j} / (k u_0)``."""
    v = unknown(u.order, ew.pow(u[0], exponent) if value is None else value)
    divisor = u[0]
    number = isinstance(exponent, (int, float))

    def next_term(k):
        terms = []
        for j in range(1, k + 1):
            product = _times(u[j], v[k - j])
            if product is None:
                continue
            if number:
                terms.append(_scaled(product, exponent * j - (k - j)))
            else:
                terms.append(ew.mul(product, ew.sub(ew.mul(exponent, float(j)), float(k - j))))
        return _quotient(_scaled(_total(terms), 1.0 / k), divisor)
    v._next = next_term
    return v


def integer_power(u: Series, n: int) -> Series:
    """``u ** n`` for an integer ``n >= 1`` by squaring: products only, exact where
    ``u_0 = 0``."""
    result, base = None, u
    while True:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if not n:
            return result
        base = base * base


def _paired(u: Series, first, second, sign: int):
    """The pair ``(s, c)`` with ``s' = c u'`` and ``c' = sign s u'``: sin and cos
    (``sign = -1``), sinh and cosh (``+1``)."""
    s, c = unknown(u.order, first), unknown(u.order, second)
    du = rate_of(u)
    define_rate(s, mul(c, du))
    define_rate(c, mul(s if sign > 0 else -s, du))
    return s, c


def sin_cos(u: Series):
    return _paired(u, ew.sin(u[0]), ew.cos(u[0]), -1)


def sinh_cosh(u: Series):
    return _paired(u, ew.sinh(u[0]), ew.cosh(u[0]), +1)


def compose(u: Series, derivatives) -> Series:
    """``f(u)`` from ``derivatives[j] = f^(j)(u_0)``, j = 0..K (for functions without a short
    recurrence: the polygamma family). ``sum_j f^(j)(u_0)/j! (u - u_0)^j``: O(K^3) products
    in general, O(K^2) when ``u`` is affine (``derivatives``' input, ``x + t``)."""
    order = u.order
    step = Series(order, [None] + [u[k] for k in range(1, order + 1)])
    coefficients = [None] * (order + 1)
    power_j = step
    for j in range(1, order + 1):
        scale = 1.0 / math.factorial(j)
        for k in range(j, order + 1):
            term = _times(power_j[k], derivatives[j])
            coefficients[k] = plus(coefficients[k], _scaled(term, scale))
        if j < order:
            power_j = power_j * step
    return Series(order, [derivatives[0], *coefficients[1:]])


# ----------------------------------------------------------------------- rule constructors

def unary_rule(series_function):
    """The ``taylor`` rule of a one-operand primitive from ``series_function(u, **params)``,
    the series of its result."""
    def rule(primals, series, **params):
        v = series_function(Series.of(primals[0], series[0]), **params)
        return v[0], v.tail()
    return rule


def binary_rule(series_function):
    """The same for a two-operand primitive: ``series_function(u, w, **params)``."""
    def rule(primals, series, **params):
        v = series_function(Series.of(primals[0], series[0]), Series.of(primals[1], series[1]),
                            **params)
        return v[0], v.tail()
    return rule


def zero(prim):
    """The rule of a primitive whose result is locally constant (floor, sign, stop_gradient):
    a zero series."""
    def rule(primals, series, **params):
        out = prim.bind(*primals, **params)
        order = len(series[0])
        if prim.multiple_results:
            return out, [None] * len(out)
        return out, [None] * order
    return rule


def linear(prim, positions=None):
    """The rule of a primitive linear in its operands at ``positions`` (all when ``None``)
    jointly, the others (integer indices) fixed: each coefficient is the primitive applied to
    those operands' coefficients (zeros for an operand without one)."""
    def rule(primals, series, **params):
        out = prim.bind(*primals, **params)
        where = range(len(primals)) if positions is None else positions
        where = [i for i in where if is_differentiable(primals[i].dtype)]
        terms = []
        for k in range(len(series[0])):
            if all(series[i][k] is None for i in where):
                terms.append(None)
                continue
            args = list(primals)
            for i in where:
                args[i] = ew.zeros_like(primals[i]) if series[i][k] is None else series[i][k]
            terms.append(prim.bind(*args, **params))
        return out, terms
    return rule


def by_jvp(prim):
    """The rule of a piecewise-linear primitive (max, min, scatter_max, reduce_max): its
    second derivative is zero where it is smooth, so each coefficient maps as a tangent does
    (through its ``jvp`` rule; ties share it as the derivative does)."""
    def rule(primals, series, **params):
        out = prim.bind(*primals, **params)
        terms = []
        for k in range(len(series[0])):
            coefficients = [s[k] for s in series]
            terms.append(None if all(c is None for c in coefficients)
                         else prim.jvp(primals, coefficients, **params)[1])
        return out, terms
    return rule
