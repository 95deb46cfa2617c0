"""``host_call``: an operation whose transformation waits for its operands' numbers.

Some rules cannot be written as a program over abstract values. The reverse mode of
``while_loop`` needs the trip count, which exists only once the loop has run: under ``jit``,
under ``vmap`` or inside another loop's body there is no number to count with while tracing.
There, the rule records a ``host_call[fun]`` instead, whose ``fun`` is a Python function of
NumPy arrays that, when the program runs, applies funcgrad's eager transformations to the
operation, and they see the numbers (the loop is run, its trips counted, and it is
differentiated as a ``scan`` of that many steps).

The rules of ``host_call`` are the same idea one level up, so derivatives of every order and
batching compose, eagerly and under ``jit`` (where the equation is a call step):
- JVP: a ``host_call`` of ``fun``'s eager forward-mode derivative (and Taylor mode, ``jet``:
  one of its eager Taylor-mode propagation);
- VJP: a ``host_call`` of ``fun``'s eager pullback, recomputing ``fun`` forward from its
  operands (so nothing but the operands is stored);
- batch: a ``host_call`` that runs ``fun`` once per example and stacks the results.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray, is_differentiable
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from ..core.trace import trace_evaluating, trace_to_ir, untraced
from . import structural as st
from .control import (
    _expanded,
    _flat_series,
    _floats,
    _instantiate,
    _kept,
    _unflat_series,
    value_aval,
)
from .custom import Rule

host_call_p = Primitive("host_call", "special", multiple_results=True)


def host_call(fun: Rule, args, out_avals) -> list:
    """Bind ``host_call``: ``fun(*args)``, whose results have ``out_avals``."""
    return host_call_p.bind(*args, fun=fun, out_avals=tuple(out_avals))


def _host_impl(*args, fun, out_avals):
    with untraced():   # fun's own transformations trace; nothing enters an enclosing trace
        outs = fun(*args)
    results = []
    for out, aval in zip(outs, out_avals):
        out = np.asarray(out)
        if out.shape != aval.shape:
            raise ShapeError(f"host_call of {fun.name}: a result has shape {out.shape}, "
                             f"but {aval.shape} was declared")
        results.append(out.astype(aval.dtype, copy=False))
    return results


def _host_shape(*avals, fun, out_avals):
    return list(out_avals)


def _forward_derivative(fun, primals, tangents) -> tuple[list, list]:
    """``fun``'s outputs and their tangents along ``tangents`` (None: zero), eagerly."""
    from ..transforms.jvp import jvp_ir
    ir = trace_to_ir(lambda *xs: list(fun(*xs)), [value_aval(p) for p in primals],
                     args=list(primals))
    return jvp_ir(ir, list(primals), list(tangents))


def _derivative_rule(function, name: str, num_primals: int, num_outs: int) -> Rule:
    """A ``Rule`` whose first ``num_outs`` results are ``fun``'s outputs, functions of the
    first ``num_primals`` operands alone (the rest are derivatives): the batch rule keeps those
    outputs unbatched when those operands are (a ``vmap`` over tangents leaves the primal
    output one value, as ``jacfwd`` needs)."""
    rule = Rule(function, name)
    rule.primal_part = (num_primals, num_outs)
    return rule


def _host_jvp(primals, tangents, *, fun, out_avals):
    num_primals, num_outs = len(primals), len(out_avals)
    nonzero = [t is not None for t in tangents]
    out_floats = _floats(out_avals)

    def forward(*args):
        outs, out_tangents = _forward_derivative(
            fun, args[:num_primals], _expanded(args[num_primals:], nonzero))
        return list(outs) + _instantiate(_kept(out_tangents, out_floats),
                                         _kept(outs, out_floats))

    outs = host_call(_derivative_rule(forward, f"jvp of {fun.name}", num_primals, num_outs),
                     list(primals) + _kept(tangents, nonzero),
                     list(out_avals) + _kept(out_avals, out_floats))
    return outs[:num_outs], _expanded(outs[num_outs:], out_floats)


def _host_vjp(needs, g, ans, *args, fun, out_avals):
    from ..transforms.vjp import linearize
    avals = [value_aval(a) for a in args]
    wanted = [need and is_differentiable(a.dtype) for need, a in zip(needs, avals)]
    out_floats = _floats(out_avals)

    def backward(*values):
        primals, cts = values[:len(avals)], values[len(avals):]
        ir, env = trace_evaluating(lambda *xs: list(fun(*xs)), avals, list(primals))
        _, pullback = linearize(ir, list(primals), wanted, env=env)
        in_cts, _ = pullback(_expanded(cts, out_floats))
        return _instantiate(_kept(in_cts, wanted), _kept(primals, wanted))

    cts = host_call(Rule(backward, f"vjp of {fun.name}"),
                    list(args) + _kept(g, out_floats), _kept(avals, wanted))
    return _expanded(cts, wanted)


def _host_batch(args, dims, *, fun, out_avals):
    size = st.batch_size(args, dims)
    batched = [d is not None for d in dims]
    args = [st.batch_to_front(a, d) if d is not None else a for a, d in zip(args, dims)]
    # A derivative rule's primal outputs stay one value if its primal operands are unbatched.
    num_primals, num_outs = getattr(fun, "primal_part", (0, 0))
    unbatched = [k < num_outs and not any(batched[:num_primals])
                 for k in range(len(out_avals))]

    def per_example(*values):
        if size == 0:
            return [np.zeros(a.shape if one else (0,) + a.shape, a.dtype)
                    for a, one in zip(out_avals, unbatched)]
        rows = [fun(*[v[i] if b else v for v, b in zip(values, batched)]) for i in range(size)]
        return [rows[0][k] if one else
                st.concatenate([st.reshape(row[k], (1,) + aval.shape) for row in rows], 0)
                for k, (aval, one) in enumerate(zip(out_avals, unbatched))]

    outs = host_call(Rule(per_example, f"per-example {fun.name}"), args,
                     [a if one else ShapedArray((size,) + a.shape, a.dtype)
                      for a, one in zip(out_avals, unbatched)])
    return outs, [None if one else 0 for one in unbatched]


def _host_taylor(primals, series, *, fun, out_avals):
    from ..transforms.jet import jet_ir
    order, num_primals, num_outs = len(series[0]), len(primals), len(out_avals)
    has = [any(t is not None for t in terms) for terms in series]
    out_floats = _floats(out_avals)

    def forward(*args):
        values = list(args[:num_primals])
        ir = trace_to_ir(lambda *xs: list(fun(*xs)), [value_aval(p) for p in values],
                         args=values)
        outs, out_series = jet_ir(ir, values, _unflat_series(args[num_primals:], has, order),
                                  order)
        return list(outs) + _flat_series(outs, [s or [None] * order for s in out_series],
                                         out_floats)

    outs = host_call(_derivative_rule(forward, f"jet of {fun.name}", num_primals, num_outs),
                     list(primals) + _flat_series(primals, series, has),
                     list(out_avals) + [a for a, f in zip(out_avals, out_floats) if f
                                        for _ in range(order)])
    return outs[:num_outs], _unflat_series(outs[num_outs:], out_floats, order)


host_call_p.impl = _host_impl
host_call_p.abstract_eval = _host_shape
host_call_p.jvp = _host_jvp
host_call_p.vjp = _host_vjp
host_call_p.batch = _host_batch
host_call_p.taylor = _host_taylor
