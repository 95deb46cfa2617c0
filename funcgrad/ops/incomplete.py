"""The regularized incomplete gamma and beta functions as elementwise primitives:
``gammainc(a, x) = P(a, x)``, ``gammaincc(a, x) = Q(a, x) = 1 - P(a, x)``,
``betainc(a, b, x) = I_x(a, b)`` and ``betaincc(a, b, x) = 1 - I_x(a, b)``, and their first
derivatives in the parameters, ``gammainc_grad_a``, ``betainc_grad_a`` and ``betainc_grad_b``.
``funcgrad.scipy.special`` and ``funcgrad.scipy.stats`` (the CDFs of gamma, chi2, beta, t and
poisson) build on them. Their NumPy implementations, and how accurate they are:
``funcgrad/ops/incomplete_numerics.py``.

Derivatives: with respect to ``x`` closed form (``x^(a-1) e^-x / Gamma(a)`` and ``x^(a-1) (1 -
x)^(b-1) / B(a, b)``), written with primitives, so they nest to any order (and the Taylor rule
is the chain rule on them). With respect to the parameters, the first derivative is a
primitive of its own (numerical), differentiable in ``x`` to any order (``d/dx`` of it is the
density's derivative in the parameter), not again in a parameter: that, and a Taylor series in
a parameter, raise ``TypeError`` naming the function and the parameter. The primitives have no
numba templates: compiled programs call the NumPy implementations as one step each.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError, at_user_line
from ..core.primitive import Primitive
from . import elementwise as ew
from . import structural
from . import taylor as ts
from .incomplete_numerics import (  # noqa: F401  (the NumPy functions are public here too)
    betainc_numpy,
    betainc_partials_numpy,
    betaincc_numpy,
    gammainc_grad_a_numpy,
    gammainc_numpy,
    gammaincc_numpy,
)
from .special_functions import digamma, lgamma

# --------------------------------------------------------------------------- primitives

def _no_second_derivative(name: str, argument: str):
    return TypeError(at_user_line(
        f"{name}: no second derivative with respect to its parameter {argument} (only the "
        f"first is implemented; a Taylor series in {argument} needs all of them): hold "
        f"{argument} constant there, or pass it through fg.stop_gradient if no derivative "
        "should flow through it"))


def _floating_shape(name):
    def shape(*avals):
        for aval in avals:
            if aval.dtype.kind != "f":
                raise ShapeError(f"{name} takes floating arrays, got {aval.dtype.name}")
        return ShapedArray(ew._broadcast_shapes(*[aval.shape for aval in avals]),
                           ew._same_dtype(*avals))
    return shape


def _inside_only(x, inside, log_density):
    """``exp(log_density(safe_x))`` where ``inside``, 0 elsewhere; ``safe_x`` is ``x`` with a
    stand-in (1/2) outside, so no inf or nan reaches a deeper derivative."""
    safe_x = ew.select(inside, x, ew.full_like(x, 0.5))
    density = ew.exp(log_density(safe_x))
    return ew.select(inside, density, ew.zeros_like(density))


def gamma_density(a, x):
    """``x^(a-1) e^-x / Gamma(a)`` for x > 0 (0 elsewhere): the x-derivative of ``P(a, x)``."""
    return _inside_only(x, ew.gt(x, 0), lambda v: ew.sub(ew.sub(
        ew.mul(ew.sub(a, 1), ew.log(v)), v), lgamma(a)))


def beta_density(a, b, x):
    """``x^(a-1) (1-x)^(b-1) / B(a, b)`` for 0 < x < 1 (0 elsewhere): the x-derivative of
    ``I_x(a, b)``."""
    log_beta = ew.sub(ew.add(lgamma(a), lgamma(b)), lgamma(ew.add(a, b)))
    return _inside_only(x, ew.logical_and(ew.gt(x, 0), ew.lt(x, 1)), lambda v: ew.sub(ew.add(
        ew.mul(ew.sub(a, 1), ew.log(v)), ew.mul(ew.sub(b, 1), ew.log1p(ew.neg(v)))), log_beta))


def _series_gamma_density(a, u):
    return ts.exp(ts.log(u) * ew.sub(a, 1) - u - lgamma(a))


def _series_beta_density(a, b, u):
    log_beta = ew.sub(ew.add(lgamma(a), lgamma(b)), lgamma(ew.add(a, b)))
    return ts.exp(ts.log(u) * ew.sub(a, 1) + ts.log(1 - u) * ew.sub(b, 1) - log_beta)


def _incomplete_primitive(name, impl, parameters, density, series_density, sign,
                          partials=None, shown_as=None):
    """An elementwise primitive ``f(*parameters, x)`` whose derivative in ``x`` is ``sign *
    density(*parameters, x)``, and in each parameter ``partials[i](*args)`` where given (a
    first derivative: no Taylor series in the parameters); where not (the first derivatives
    themselves) a derivative in a parameter raises ``TypeError`` naming it and ``shown_as``
    (the user's functions)."""
    prim = Primitive(name, "elementwise")
    prim.impl = impl
    prim.abstract_eval = _floating_shape(name)
    count = len(parameters)
    partials = partials or (None,) * count
    shown_as = shown_as or name

    def partial(i, args):
        if i < count:
            return partials[i](*args)
        d = density(*args)
        return d if sign > 0 else ew.neg(d)

    def check(wanted, taylor=False):
        for argument, flag, given in zip(parameters, wanted, partials):
            if flag and (taylor or given is None):
                raise _no_second_derivative(shown_as, argument)

    def jvp(primals, tangents):
        check([t is not None for t in tangents[:count]])
        ans = prim.bind(*primals)
        out = None
        for i, t in enumerate(tangents):
            if t is not None:
                term = ew.mul(t, partial(i, primals))
                out = term if out is None else ew.add(out, term)
        return ans, None if out is None else ew._broadcast_to(out, np.shape(ans))

    def vjp(needs, g, ans, *args):
        check(needs[:count])
        return tuple(structural.unbroadcast(ew.mul(g, partial(i, args)), np.shape(arg))
                     if needs[i] else None for i, arg in enumerate(args))

    def taylor(primals, series):
        check([any(term is not None for term in s) for s in series[:count]], taylor=True)
        u = ts.Series.of(primals[-1], series[-1])
        value = prim.bind(*primals)
        v = ts.chain(u, value, lambda v: series_density(*primals[:count], u) * float(sign))
        return v[0], v.tail()

    prim.jvp, prim.vjp, prim.taylor = jvp, vjp, taylor
    prim.batch = ew._elementwise_batch(prim)
    return prim


def _gamma_density_grad_a(a, x):
    """``d/da`` of ``x^(a-1) e^-x / Gamma(a)``: the density times ``log x - digamma(a)``
    (0 where x <= 0, the density's own stand-in there)."""
    safe_x = ew.select(ew.gt(x, 0), x, ew.full_like(x, 1))
    return ew.mul(gamma_density(a, x), ew.sub(ew.log(safe_x), digamma(a)))


def _series_gamma_density_grad_a(a, u):
    return _series_gamma_density(a, u) * (ts.log(u) - digamma(a))


# dP/da: differentiable in x (its density's a-derivative), not again in a
gammainc_grad_a_p = _incomplete_primitive(
    "gammainc_grad_a", gammainc_grad_a_numpy, ("a",), _gamma_density_grad_a,
    _series_gamma_density_grad_a, +1, shown_as="gammainc/gammaincc")
gammainc_p = _incomplete_primitive("gammainc", gammainc_numpy, ("a",), gamma_density,
                                   _series_gamma_density, +1,
                                   partials=(lambda a, x: gammainc_grad_a_p.bind(a, x),))
gammaincc_p = _incomplete_primitive(
    "gammaincc", gammaincc_numpy, ("a",), gamma_density, _series_gamma_density, -1,
    partials=(lambda a, x: ew.neg(gammainc_grad_a_p.bind(a, x)),))


def _beta_density_grad(a, b, x, of_a: bool):
    """``d/da`` (or ``d/db``) of ``x^(a-1) (1-x)^(b-1) / B(a, b)``: the density times
    ``log x - digamma(a) + digamma(a + b)`` (``log(1 - x) - digamma(b) + ...``)."""
    inside = ew.logical_and(ew.gt(x, 0), ew.lt(x, 1))
    safe_x = ew.select(inside, x, ew.full_like(x, 0.5))
    log_part = ew.log(safe_x) if of_a else ew.log1p(ew.neg(safe_x))
    rate = ew.add(ew.sub(log_part, digamma(a if of_a else b)), digamma(ew.add(a, b)))
    return ew.mul(beta_density(a, b, x), rate)


def _series_beta_density_grad(a, b, u, of_a: bool):
    log_part = ts.log(u) if of_a else ts.log(1 - u)
    return _series_beta_density(a, b, u) * (
        log_part - digamma(a if of_a else b) + digamma(ew.add(a, b)))


# dI/da and dI/db: differentiable in x, not again in a or b
betainc_grad_a_p, betainc_grad_b_p = (_incomplete_primitive(
    f"betainc_grad_{name}", lambda a, b, x, i=i: betainc_partials_numpy(a, b, x)[i],
    ("a", "b"), lambda a, b, x, f=of_a: _beta_density_grad(a, b, x, f),
    lambda a, b, u, f=of_a: _series_beta_density_grad(a, b, u, f), +1,
    shown_as="betainc/betaincc") for i, (name, of_a) in enumerate((("a", True), ("b", False))))
_BETA_PARTIALS = (lambda a, b, x: betainc_grad_a_p.bind(a, b, x),
                  lambda a, b, x: betainc_grad_b_p.bind(a, b, x))
betainc_p = _incomplete_primitive("betainc", betainc_numpy, ("a", "b"), beta_density,
                                  _series_beta_density, +1, partials=_BETA_PARTIALS)
betaincc_p = _incomplete_primitive(
    "betaincc", betaincc_numpy, ("a", "b"), beta_density, _series_beta_density, -1,
    partials=tuple(lambda a, b, x, f=f: ew.neg(f(a, b, x)) for f in _BETA_PARTIALS))


def gammainc(a, x):
    """``P(a, x)`` on floating operands of one dtype; derivative in x ``gamma_density``."""
    return gammainc_p.bind(a, x)


def gammaincc(a, x):
    """``Q(a, x) = 1 - P(a, x)`` on floating operands of one dtype."""
    return gammaincc_p.bind(a, x)


def betainc(a, b, x):
    """``I_x(a, b)`` on floating operands of one dtype; derivative in x ``beta_density``."""
    return betainc_p.bind(a, b, x)


def betaincc(a, b, x):
    """``1 - I_x(a, b)`` on floating operands of one dtype."""
    return betaincc_p.bind(a, b, x)
