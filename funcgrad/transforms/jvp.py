"""Forward mode: ``jvp``, an interpreter that carries a tangent beside every value."""
from __future__ import annotations

from .. import tree
from ..core.ir import Literal
from . import _args


def jvp_ir(ir, primals, tangents):
    """Evaluate ``ir`` and its directional derivative; a ``None`` tangent is a zero."""
    env: dict = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, primals))
    tangent_env = {v: t for v, t in zip(ir.invars, tangents) if t is not None}
    for eqn in ir.eqns:
        values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
        in_tangents = [None if type(a) is Literal else tangent_env.get(a) for a in eqn.inputs]
        if all(t is None for t in in_tangents):
            out = eqn.primitive.bind(*values, **eqn.params)
            out_tangents = None
        else:
            out, out_tangents = eqn.primitive.jvp(values, in_tangents, **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outputs, out))
            tangent_env.update((v, t) for v, t in zip(eqn.outputs, out_tangents or ())
                               if t is not None)
        else:
            env[eqn.outputs[0]] = out
            if out_tangents is not None:
                tangent_env[eqn.outputs[0]] = out_tangents
    outs = [a.val if type(a) is Literal else env[a] for a in ir.outvars]
    out_tangents = [None if type(a) is Literal else tangent_env.get(a) for a in ir.outvars]
    return outs, out_tangents


def jvp(fun, primals, tangents, has_aux: bool = False):
    """Evaluate ``fun(*primals)`` and its derivative along ``tangents`` (forward mode).

    Args:
      fun: a function of arrays or pytrees of arrays.
      primals: a tuple (or list) of the arguments.
      tangents: a tuple of the same structure, each tangent shaped like its primal.
      has_aux: ``fun`` returns ``(output, aux)``; aux is passed through undifferentiated.

    Returns:
      ``(out, tangent_out)``, or ``(out, tangent_out, aux)`` with ``has_aux``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jvp(fnp.sin, (0.0,), (2.0,))
    (array(0.), array(2.))
    """
    who = f"jvp of {getattr(fun, '__name__', 'function')}"
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"{who}: primals and tangents must be tuples (or lists) of arguments, "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    leaves, in_tree = tree.flatten(tuple(primals))
    leaves = _args.argument_values(who, fun, primals, leaves)
    checked = _args.fitted_leaves(who, "tangent", tuple(tangents), in_tree, leaves, "primal")
    traced, trees = (fun, None) if not has_aux else _args.split_aux(fun, who)
    ir, out_tree = _args.trace_of_leaves(traced, in_tree, leaves, who)
    outs, out_tangents = jvp_ir(ir, leaves, checked)
    if has_aux:
        out_tree, aux_tree = trees
        num_out = out_tree.num_leaves
        aux = tree.unflatten(aux_tree, [_args.to_user(x) for x in outs[num_out:]])
        outs, out_tangents = outs[:num_out], out_tangents[:num_out]
    out_tangents = [_args.zeros_like(o) if t is None else t for o, t in zip(outs, out_tangents)]
    result = (tree.unflatten(out_tree, [_args.to_user(x) for x in outs]),
              tree.unflatten(out_tree, [_args.to_user(x) for x in out_tangents]))
    return result + (aux,) if has_aux else result
