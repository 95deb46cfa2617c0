"""Taylor mode: ``jet`` and ``derivatives``, an interpreter that carries a truncated Taylor
series beside every value.

Where ``jvp`` carries one tangent, ``jet_ir`` carries K coefficients: each equation's
``taylor`` rule (beside its other rules in ``funcgrad/ops``, written in the series arithmetic of
``funcgrad.ops.taylor``) maps the series of its operands to the series of its result in O(K^2)
operations, so the k-th derivative of a scalar function costs O(k^2) work where nested ``grad``
grows much faster. An equation whose operands carry no series (constants), or whose outputs
are not floating (a comparison), runs as it is; a primitive without a rule raises
``MissingRuleError`` naming it.

Internally the coefficients are normalized (``x_k`` = k-th derivative / k!, ``None`` an exact
zero); ``jet``'s public convention is JAX's ``jax.experimental.jet.jet``: with
``factorial_scaled=True`` (the default) the k-th input term is the k-th derivative of the input
path and the k-th output term the k-th derivative of the output, by Faa di Bruno's formula.
The rules are funcgrad operations, so ``jit(jet(f))`` compiles the series arithmetic, ``grad``
differentiates it, ``vmap`` batches it, and ``jet`` of a function containing ``jit``,
``vmap``, ``grad``, ``cond``, ``scan``, ``while_loop``, ``checkpoint`` or custom rules works
(``custom_vjp``/``custom_jvp`` functions are expanded through their primal function, as JAX
does).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tree
from ..core.aval import is_differentiable
from ..core.ir import Literal
from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import structural as st
from . import _args


def jet_ir(ir, primals, series, order: int):
    """Evaluate ``ir`` on ``primals`` and propagate their Taylor series.

    ``series[i]`` is the list of the ``order`` normalized coefficients (orders 1..K, ``None``
    for a zero) of input ``i``, or ``None`` for an input without one. Returns ``(outs,
    out_series)``, ``out_series[i]`` a list of ``order`` coefficients or ``None``.
    """
    env: dict = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, primals))
    series_env: dict = {}
    for var, terms in zip(ir.invars, series):
        _store(series_env, var, terms, "an input")
    none = [None] * order
    for eqn in ir.eqns:
        prim = eqn.primitive
        values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
        in_series = [None if type(a) is Literal else series_env.get(a) for a in eqn.inputs]
        if all(s is None for s in in_series) or not any(
                is_differentiable(v.aval.dtype) for v in eqn.outputs):
            out, out_series = prim.bind(*values, **eqn.params), None
        else:
            out, out_series = prim.taylor(values, [none if s is None else s for s in in_series],
                                          **eqn.params)
        if prim.multiple_results:
            env.update(zip(eqn.outputs, out))
            for var, terms in zip(eqn.outputs, out_series or ()):
                _store(series_env, var, terms, prim.name)
        else:
            env[eqn.outputs[0]] = out
            _store(series_env, eqn.outputs[0], out_series, prim.name)
    outs = [a.val if type(a) is Literal else env[a] for a in ir.outvars]
    out_series = [None if type(a) is Literal else series_env.get(a) for a in ir.outvars]
    return outs, out_series


def _store(series_env: dict, var, terms, who: str) -> None:
    """Keep ``var``'s coefficients, each broadcast to ``var``'s shape (a binary rule's
    coefficient may have one operand's shape); nothing where all are zero."""
    if terms is None or all(t is None for t in terms) or not is_differentiable(var.aval.dtype):
        return
    shape, dtype = var.aval.shape, var.aval.dtype
    fitted = []
    for k, term in enumerate(terms):
        if term is not None:
            if np.dtype(term.dtype) != dtype:
                raise AssertionError(f"the taylor rule of '{who}' returned a coefficient of "
                                     f"order {k + 1} of dtype {np.dtype(term.dtype).name} for "
                                     f"a {dtype.name} value")
            if np.shape(term) != shape:
                term = st.broadcast_to(term, shape)
        fitted.append(term)
    series_env[var] = fitted


# ---------------------------------------------------------------------------- the API

def _is_zero(term) -> bool:
    """A concrete all-zero term: an exact zero the arithmetic can skip."""
    return type(term) is not Tracer and not np.any(term)


def _flat_jet(who: str, fun, primals, series, factorial_scaled: bool):
    """``jet`` on flat leaves: ``(out_leaves, out_series, out_tree)``, the series per output
    leaf a list of K terms (normalized or not, as the caller asked), zeros instantiated."""
    if not isinstance(primals, (tuple, list)) or not isinstance(series, (tuple, list)):
        raise TypeError(f"{who}: primals and series must be tuples (or lists), one entry per "
                        f"argument; got {type(primals).__name__} and {type(series).__name__}")
    if len(series) != len(primals):
        raise ValueError(f"{who}: {len(primals)} primals but {len(series)} series; give one "
                         "list of Taylor terms per primal")
    for i, terms in enumerate(series):
        if not isinstance(terms, (tuple, list)):
            raise TypeError(f"{who}: series[{i}] must be a list of terms (one per order), "
                            f"got {type(terms).__name__}")
    orders = {len(terms) for terms in series}
    if len(orders) > 1:
        raise ValueError(f"{who}: jet terms have inconsistent lengths for different arguments: "
                         f"{[len(terms) for terms in series]}")
    order = orders.pop() if orders else 0
    leaves, in_tree = tree.flatten(tuple(primals))
    leaves = _args.argument_values(who, fun, tuple(primals), leaves)
    for i, leaf in enumerate(leaves):
        if not is_differentiable(leaf.dtype):
            raise TypeError(f"{who}: primal leaf {i} has dtype {np.dtype(leaf.dtype).name}; "
                            "only real floating inputs carry a Taylor series. Pass floats "
                            "(2.0, not 2) or convert with .astype(float).")
    leaf_series: list[list] = [[] for _ in leaves]
    for k in range(order):
        terms = tuple(s[k] for s in series)
        fitted = _args.fitted_leaves(who, f"order-{k + 1} term", terms, in_tree, leaves,
                                     "primal")
        for i, term in enumerate(fitted):
            if _is_zero(term):
                term = None
            elif factorial_scaled and k:
                term = ew.div(term, leaves[i].dtype.type(math.factorial(k + 1)))
            leaf_series[i].append(term)
    ir, out_tree = _args.trace_of_leaves(fun, in_tree, leaves, who)
    outs, out_series = jet_ir(ir, leaves, leaf_series, order)
    full = []
    for out, terms in zip(outs, out_series):
        terms = terms or [None] * order
        full.append([_args.zeros_like(out) if t is None else
                     ew.mul(t, out.dtype.type(math.factorial(k + 1)))
                     if factorial_scaled and k and is_differentiable(out.dtype) else t
                     for k, t in enumerate(terms)])
    return outs, full, out_tree


def jet(fun: Callable, primals, series, factorial_scaled: bool = True):
    """Taylor-mode higher-order differentiation (``jax.experimental.jet.jet``).

    Propagates a truncated Taylor polynomial of the inputs through ``fun``: given the path
    ``x(t)`` with ``x(0) = primals`` and derivatives ``series``, returns ``f(x(0))`` and the
    derivatives of ``f(x(t))`` at ``t = 0``, all orders in one pass whose cost grows as the
    square of the order.

    Args:
      fun: a function of arrays (or pytrees of arrays).
      primals: a tuple (or list) of the arguments.
      series: a tuple with one list per argument of K terms, each shaped like its primal:
        the derivatives ``x'(0), x''(0), ..., x^(K)(0)`` of the input path (JAX's
        convention). The lists all have the same length K, the order.
      factorial_scaled: as in JAX; with ``False`` the terms in and out are the normalized
        Taylor coefficients instead (the k-th derivative divided by k!).

    Returns:
      ``(primals_out, series_out)``: ``fun(*primals)``, and for each output leaf the list of
      its K derivatives (``series_out`` has the output's structure, each leaf a list).

    Raises ``MissingRuleError`` naming a primitive that has no Taylor rule.

    With ``h(z) = z**3`` at ``z = 0.5`` (``h0, h1, h2`` its value and first derivatives) and
    ``f = sin``, the terms of ``sin(z**3)`` follow Faa di Bruno's formula:

    >>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
    >>> h0, h1, h2 = 0.5 ** 3, 3 * 0.5 ** 2, 6 * 0.5
    >>> f0, (f1, f2) = fg.jet(fnp.sin, (h0,), ([h1, h2],))
    >>> bool(np.isclose(f1, np.cos(h0) * h1))
    True
    >>> bool(np.isclose(f2, -np.sin(h0) * h1 ** 2 + np.cos(h0) * h2))
    True
    """
    who = f"jet of {getattr(fun, '__name__', 'function')}"
    outs, out_series, out_tree = _flat_jet(who, fun, primals, series, factorial_scaled)
    return (tree.unflatten(out_tree, [_args.to_user(x) for x in outs]),
            tree.unflatten(out_tree, [[_args.to_user(t) for t in terms]
                                      for terms in out_series]))


def derivatives(fun: Callable, order: int) -> Callable[[Any], list]:
    """All derivatives of ``fun`` up to ``order`` at once, by one Taylor-mode pass (``jet``).

    Args:
      fun: a function of one floating argument (a scalar; for an array ``x``, the
        derivatives along the direction of all ones, ``d^k/dt^k fun(x + t)``: elementwise
        derivatives for an elementwise ``fun``).
      order: the highest order, a non-negative int.

    Returns:
      A function of ``x`` returning the list ``[fun(x), fun'(x), ..., fun^(order)(x)]``
      (each entry shaped like ``fun``'s output, a pytree where it returns one).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> [float(d) for d in fg.derivatives(fnp.exp, 3)(0.0)]
    [1.0, 1.0, 1.0, 1.0]
    >>> [round(float(d), 6) for d in fg.derivatives(lambda x: x ** 4, 5)(1.0)]
    [1.0, 4.0, 12.0, 24.0, 24.0, 0.0]
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"derivatives: the order must be a non-negative int, got {order!r}")
    order = int(order)
    name = getattr(fun, "__name__", "function")
    who = f"derivatives of {name}"

    def all_derivatives(x):
        value = _args.as_value(x)
        if not is_differentiable(value.dtype):
            raise TypeError(f"{who}: the argument has dtype {np.dtype(value.dtype).name}; "
                            "only real floating inputs can be differentiated. Pass a float "
                            "(2.0, not 2) or convert with .astype(float).")
        seed = [_args.ones_like(value)] + [_args.zeros_like(value)] * (order - 1)
        outs, out_series, out_tree = _flat_jet(who, fun, (value,), (seed[:order],), True)
        rows = [outs] + [[terms[k] for terms in out_series] for k in range(order)]
        return [tree.unflatten(out_tree, [_args.to_user(x) for x in row]) for row in rows]

    all_derivatives.__name__ = f"derivatives_{name}"
    all_derivatives.__doc__ = f"The derivatives of {name} of orders 0..{order}."
    return all_derivatives
