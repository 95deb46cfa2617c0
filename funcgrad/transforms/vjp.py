"""Reverse mode: ``vjp``, ``grad`` and ``value_and_grad``.

The backward pass is an interpreter over ``ir.eqns[::-1]``: each equation's ``vjp`` rule turns
its output cotangent into input cotangents. Rules are written with funcgrad's operations, so
when the forward values are tracers of an enclosing transformation the backward pass is itself
recorded, and derivatives nest to any order.
"""
from __future__ import annotations

import functools
import math
import warnings

from .. import tree
from ..core.aval import is_differentiable
from ..core.errors import DisconnectedGradientError, at_user_line
from ..core.ir import IR, Literal, Var
from ..core.trace import Tracer, _need_floating, trace_for_reverse
from ..ops import elementwise as ew
from ..ops.special import retain_grad_p, stop_gradient_p
from . import _args

_ON_DISCONNECTED = ("zeros", "warn", "error")
EAGER_RULES = True   # the primitives' NumPy rules on concrete values (off: their traced rules)


def _nested_programs(eqn):
    """The programs an equation runs (a scan's body, cond's branches, a checkpoint's block)."""
    for value in eqn.params.values():
        for program in (value if isinstance(value, (tuple, list)) else (value,)):
            if isinstance(program, IR):
                yield program


def _marks_inside_eqn(eqn) -> list:
    """The names of the ``retain_grad`` marks in the programs ``eqn`` runs, at any depth."""
    return [name for program in _nested_programs(eqn) for name in _all_marks(program)]


def _all_marks(ir) -> list:
    """The names of ``ir``'s ``retain_grad`` marks and of those in the programs it runs."""
    return [name for eqn in ir.eqns for name in (
        [eqn.params["name"]] if eqn.primitive is retain_grad_p else _marks_inside_eqn(eqn))]


def _retained_names(ir) -> list:
    hidden = [name for eqn in ir.eqns for name in _marks_inside_eqn(eqn)]
    if hidden:   # the backward pass reports marks of this program only: say so, not drop them
        raise ValueError(at_user_line(
            f"retain_grad: the mark '{hidden[0]}' is inside the body of a fg.checkpoint, "
            "custom_vjp/custom_jvp function, scan, cond, fori_loop or while_loop, whose "
            "intermediates retained=True cannot report; mark the value outside it (the "
            "block's output, or its input)"))
    names = [e.params["name"] for e in ir.eqns if e.primitive is retain_grad_p]
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(at_user_line(
                f"retain_grad: the name '{name}' is used twice in one evaluation; names of "
                "retained intermediates must be unique"))
        seen.add(name)
    return names


def linearize(ir, args, wanted, retain: bool = False, env: dict | None = None,
              recorded=None):
    """Run ``ir`` forward on ``args``, keeping every value; return ``(outs, backward)``.

    ``env``, the value of every variable (from ``trace_evaluating``), saves the forward run;
    ``recorded``, the ``(needs, plan)`` that ``trace_for_reverse`` worked out with the same
    ``wanted`` and ``retain`` (``mark=retain_grad_p`` where ``retain``), saves the pass that
    finds them.
    ``backward(out_cts)`` returns ``(input_cts, retained)``: one cotangent per input (``None``
    where the output does not depend on it) and, with ``retain``, the cotangent of each
    ``retain_grad`` mark by name.
    """
    if recorded is None:
        env, needs, plan = _forward(ir, args, wanted, retain, env)
    else:
        needs, plan = recorded
    return _linearized(ir, env, needs, plan, retain)


def _forward(ir, args, wanted, retain: bool, env: dict | None):
    """``(env, needs, plan)``: the value of every variable (evaluated unless ``env`` has them),
    the variables through which a wanted input (or a retained mark) reaches the output, and
    per equation which of its inputs want a cotangent (None: none does), in one pass."""
    evaluate = env is None
    if evaluate:
        env = dict(zip(ir.constvars, ir.consts))
        env.update(zip(ir.invars, args))
    needs = {v for v, w in zip(ir.invars, wanted) if w}
    plan = []
    for eqn in ir.eqns:
        prim = eqn.primitive
        if evaluate:
            out = prim.bind(*[a.val if type(a) is Literal else env[a] for a in eqn.inputs],
                            **eqn.params)
            if prim.multiple_results:
                env.update(zip(eqn.outputs, out))
            else:
                env[eqn.outputs[0]] = out
        input_needs = None
        if prim is not stop_gradient_p:
            inputs = eqn.inputs
            if len(inputs) == 2:   # unrolled for two operands and one (most equations)
                x, y = inputs
                input_needs = (type(x) is Var and x in needs, type(y) is Var and y in needs)
            elif len(inputs) == 1:
                x = inputs[0]
                input_needs = (type(x) is Var and x in needs,)
            else:
                input_needs = tuple([type(a) is Var and a in needs for a in inputs])
            if True in input_needs or (retain and prim is retain_grad_p):
                _need_floating(needs, eqn.outputs)
            if True not in input_needs:
                input_needs = None
        plan.append(input_needs)
    return env, needs, plan


def _linearized(ir, env, needs, plan, retain: bool):
    """``linearize``'s ``(outs, backward)`` from the values and the plan."""
    outs = [a.val if type(a) is Literal else env[a] for a in ir.outvars]
    names = _retained_names(ir) if retain else []
    # Concrete forward values (no enclosing trace recorded them): with concrete cotangents
    # the backward pass runs the primitives' NumPy rules (``eager_vjp``) where they have one.
    concrete = EAGER_RULES and not any(type(env[v]) is Tracer
                                       for v in ir.constvars + ir.invars)

    def backward(out_cts):
        ct_env: dict = {}
        for var, ct in zip(ir.outvars, out_cts):
            if ct is not None and type(var) is Var and var in needs:
                _add_cotangent(ct_env, var, ct, False)
        eager = concrete and not any(type(ct) is Tracer for ct in out_cts)
        retained = {}
        for eqn, input_needs in zip(reversed(ir.eqns), reversed(plan)):
            if input_needs is None and not retain:
                # No input wants a cotangent, so no output has one either (only a retained
                # mark's output wants one without its input).
                continue
            prim = eqn.primitive
            if prim.multiple_results:
                cts = [ct_env.pop(v, None) for v in eqn.outputs]
                if all(ct is None for ct in cts):
                    continue
                cts = [_args.zeros_like(env[v]) if ct is None else ct
                       for v, ct in zip(eqn.outputs, cts)]
                ans = [env[v] for v in eqn.outputs]
            else:
                cts = ct_env.pop(eqn.outputs[0], None)
                if cts is None:
                    continue
                ans = env[eqn.outputs[0]]
            if retain and prim is retain_grad_p:
                retained[eqn.params["name"]] = cts
            if input_needs is None:
                continue
            inputs = eqn.inputs
            rule = prim.eager_vjp if eager and prim.eager_vjp is not None else prim.vjp
            params = eqn.params
            if len(inputs) == 2:   # unrolled for two operands and one (most equations)
                x, y = inputs
                x_value = x.val if type(x) is Literal else env[x]
                y_value = y.val if type(y) is Literal else env[y]
                in_cts = (rule(input_needs, cts, ans, x_value, y_value, **params) if params
                          else rule(input_needs, cts, ans, x_value, y_value))
                # (each operand's cotangent added to what it has: ``_add_cotangent``, inline)
                ct = in_cts[0]
                if ct is not None and input_needs[0]:
                    previous = ct_env.get(x)
                    ct_env[x] = ct if previous is None else \
                        previous + ct if eager else _sum(previous, ct)
                ct = in_cts[1]
                if ct is not None and input_needs[1]:
                    previous = ct_env.get(y)
                    ct_env[y] = ct if previous is None else \
                        previous + ct if eager else _sum(previous, ct)
                continue
            if len(inputs) == 1:
                x = inputs[0]
                x_value = x.val if type(x) is Literal else env[x]
                in_cts = (rule(input_needs, cts, ans, x_value, **params) if params
                          else rule(input_needs, cts, ans, x_value))
                ct = in_cts[0]
                if ct is not None:
                    previous = ct_env.get(x)
                    ct_env[x] = ct if previous is None else \
                        previous + ct if eager else _sum(previous, ct)
                continue
            in_cts = rule(input_needs, cts, ans,
                          *[a.val if type(a) is Literal else env[a] for a in inputs], **params)
            for atom, need, ct in zip(inputs, input_needs, in_cts):
                if need:
                    _add_cotangent(ct_env, atom, ct, eager)
        for name in names:
            if name not in retained:
                value = next(env[e.outputs[0]] for e in ir.eqns
                             if e.primitive is retain_grad_p and e.params["name"] == name)
                retained[name] = _args.zeros_like(value)
        return [ct_env.get(v) for v in ir.invars], retained

    return outs, backward


_NO_PARAMS: dict = {}


def _sum(x, y):
    """``ew.add(x, y)`` of two cotangents, and for two tracers of one trace (the traced
    backward pass of nested differentiation) recorded there at once, as ``add_p.bind`` would
    after two calls."""
    if type(x) is Tracer and type(y) is Tracer and x._trace is y._trace:
        return x._trace.process(ew.add_p, (x, y), _NO_PARAMS)
    return ew.add(x, y)


def _add_cotangent(ct_env, atom, ct, eager: bool) -> None:
    """Add ``ct`` (None: a zero) to ``atom``'s cotangent: NumPy's ``+`` on concrete ones."""
    if ct is not None:
        previous = ct_env.get(atom)
        if previous is None:
            ct_env[atom] = ct
        else:
            ct_env[atom] = previous + ct if eager else _sum(previous, ct)


def _not_an_array(out, who: str) -> TypeError:
    """The error for an output of ``fun`` that is no array or number (a container, None)."""
    wanted = f"{who} needs a function with a real floating scalar output, but it returned"
    if out is None:
        return TypeError(at_user_line(f"{wanted} None: is a return statement missing?"))
    if not isinstance(out, (tuple, list, dict)):
        return TypeError(at_user_line(f"{wanted} a {type(out).__name__}."))
    if isinstance(out, (tuple, list)) and len(out) == 2:
        hint = ("If it returns (value, auxiliary data), pass has_aux=True to get "
                "((value, aux), grads).")
    else:
        hint = "For several outputs use fg.jacrev, or fg.vjp with a cotangent for each."
    return TypeError(at_user_line(
        f"{wanted} a {type(out).__name__} of {len(out)} values. {hint}"))


def _check_scalar_output(out, who: str, holomorphic: bool = False):
    if out is None or isinstance(out, (tuple, list, dict)):
        raise _not_an_array(out, who)
    try:
        value = _args.as_value(out)
    except _args.UnsupportedLeaf:
        raise _not_an_array(out, who) from None
    shape, dtype = value.shape, value.dtype
    if dtype.kind == "c" and math.prod(shape) == 1 and not holomorphic:
        raise TypeError(at_user_line(
            f"{who}: the function returned a complex scalar ({dtype.name}); grad needs a real "
            "output. For a holomorphic function pass holomorphic=True (its complex derivative "
            "f'(z)); for a real function of complex values return fnp.real(...) or "
            "fnp.abs(...); for anything else use fg.vjp with a complex cotangent."))
    if holomorphic and dtype.kind != "c":
        raise TypeError(at_user_line(
            f"{who}: with holomorphic=True the function must return a complex scalar, but it "
            f"returned dtype {dtype.name}."))
    if dtype.kind not in "fc" or math.prod(shape) != 1:
        raise TypeError(at_user_line(
            f"{who} needs a function with a real floating scalar output (shape () or a size-1 "
            f"array), but it returned shape {shape} and dtype {dtype.name}. For a vector or "
            "matrix output use fg.jacrev / fg.jacfwd, or fg.vjp with a cotangent."))
    return value


def _disconnected(fun, argnums, treedefs, args, position: int, policy: str, who: str):
    """Name the argument leaf at flat ``position`` and apply the ``on_disconnected`` policy."""
    for num, treedef in zip(argnums, treedefs):
        if position < treedef.num_leaves:
            paths = [p for p, _ in tree.leaves_with_path(args[num])]
            what = _args.describe_argument(fun, num, paths[position])
            break
        position -= treedef.num_leaves
    message = (f"{who}: the output does not depend on {what} (it is unused, used only through "
               "stop_gradient, or only through integer/boolean operations); its gradient is "
               "zero.")
    if policy == "error":
        raise DisconnectedGradientError(at_user_line(
            message + " Pass on_disconnected='zeros' to accept zeros."))
    warnings.warn(message, UserWarning, stacklevel=4)


def value_and_grad(fun, argnums=0, has_aux: bool = False, retained: bool = False,
                   on_disconnected: str = "zeros", holomorphic: bool = False):
    """Make a function that returns ``(value, gradient)`` of scalar-valued ``fun``.

    Args:
      fun: a function of arrays (or pytrees of arrays) returning a floating scalar, or
        ``(scalar, aux)`` with ``has_aux``.
      argnums: an int, or a tuple of ints: the positional arguments to differentiate.
      has_aux: ``fun`` returns ``(output, aux)``; aux is passed through undifferentiated.
      retained: also return the gradients of the intermediates marked with ``retain_grad``.
      on_disconnected: ``"zeros"``, ``"warn"`` or ``"error"`` for an argument that the output
        does not depend on.
      holomorphic: ``fun`` is holomorphic in complex arguments and returns a complex scalar:
        the gradient is its complex derivative ``f'(z)`` (as JAX's). Without it, complex
        arguments are allowed and the output must be real; the gradient of ``z = x + iy`` is
        then ``df/dx - i df/dy`` (JAX's convention; see the README, "Complex numbers").

    Returns:
      A function giving ``(value, grads)`` (``((value, aux), grads)`` with ``has_aux``);
      ``grads`` is one array for an int ``argnums``, a tuple for a tuple, and becomes
      ``(grads, retained_dict)`` with ``retained``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> value, g = fg.value_and_grad(lambda x: x * fnp.sin(x))(0.0)
    >>> float(value), float(g)
    (0.0, 0.0)
    """
    if on_disconnected not in _ON_DISCONNECTED:
        raise ValueError(f"value_and_grad: on_disconnected must be one of {_ON_DISCONNECTED}, "
                         f"got {on_disconnected!r}")
    who = getattr(fun, "__name__", "function")
    who = f"grad of {who}"

    argnums_for_count: dict = {}

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        nums = argnums_for_count.get(len(args))
        if nums is None:
            nums = argnums_for_count[len(args)] = _args.normalize_argnums(
                argnums, len(args), who)
        leaves, treedefs = _args.differentiable_leaves(fun, args, nums, who, holomorphic)
        aux_tree = []

        def flat_fun(*tracers):
            out = fun(*_args.substitute(args, nums, treedefs, tracers), **kwargs)
            if has_aux:
                if not (isinstance(out, (tuple, list)) and len(out) == 2):
                    raise TypeError(at_user_line(
                        f"{who}: has_aux=True needs the function to return a pair "
                        f"(output, aux), but it returned {type(out).__name__}"))
                out, aux = out
                aux_leaves, treedef = tree.flatten(aux)
                aux_tree.append(treedef)
                return [_check_scalar_output(out, who, holomorphic)] + aux_leaves
            return [_check_scalar_output(out, who, holomorphic)]

        ir, env, needs, plan = trace_for_reverse(
            flat_fun, [_args.aval(x) for x in leaves], leaves, [True] * len(leaves),
            stop_gradient_p, retain_grad_p if retained else None)
        outs, backward = linearize(ir, leaves, None, retain=retained, env=env,
                                   recorded=(needs, plan))
        value = outs[0]
        in_cts, retained_cts = backward([_args.ones_like(value)] + [None] * (len(outs) - 1))
        grads = []
        for position, (leaf, ct) in enumerate(zip(leaves, in_cts)):
            if ct is None:
                if on_disconnected != "zeros":
                    _disconnected(fun, nums, treedefs, args, position, on_disconnected, who)
                ct = _args.zeros_like(leaf)
            grads.append(_args.to_user(ct))
        grads = _args.split_per_argnum(treedefs, grads)
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        if retained:
            grads = (grads, {k: _args.to_user(v) for k, v in retained_cts.items()})
        value = _args.to_user(value)
        if has_aux:
            aux = tree.unflatten(aux_tree[0], [_args.to_user(x) for x in outs[1:]])
            return (value, aux), grads
        return value, grads

    return value_and_grad_fun


def grad(fun, argnums=0, has_aux: bool = False, retained: bool = False,
         on_disconnected: str = "zeros", holomorphic: bool = False):
    """Make a function that returns the gradient of scalar-valued ``fun``.

    Same arguments as ``value_and_grad``; returns only the gradient part (with ``has_aux``,
    ``(grads, aux)``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda x, y: y * fnp.log(x) + fnp.sin(y), argnums=(0, 1))(2.0, 3.0)[0]
    array(1.5)
    """
    value_and_grad_fun = value_and_grad(fun, argnums, has_aux, retained, on_disconnected,
                                        holomorphic)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        value, grads = value_and_grad_fun(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return grad_fun


def vjp(fun, *primals, has_aux: bool = False):
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)`` (``(out, vjp_fn, aux)`` with aux).

    ``vjp_fn(cotangent)`` takes a cotangent shaped like ``out`` and returns a tuple with one
    cotangent per primal (zeros for integer primals).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> out, vjp_fn = fg.vjp(fnp.sin, 0.0)
    >>> vjp_fn(2.0)
    (array(2.),)
    """
    who = f"vjp of {getattr(fun, '__name__', 'function')}"
    leaves, in_tree = tree.flatten(tuple(primals))
    leaves = _args.argument_values(who, fun, primals, leaves)
    out_trees = []

    def flat_fun(*tracers):
        out = fun(*tree.unflatten(in_tree, tracers))
        if has_aux:
            out, aux = out
            aux_leaves, aux_tree = tree.flatten(aux)
        else:
            aux_leaves, aux_tree = [], None
        out_leaves, out_tree = _args.output_values(out, who)
        out_trees.append((out_tree, len(out_leaves), aux_tree))
        return out_leaves + aux_leaves

    avals = [_args.aval(x) for x in leaves]
    wanted = [is_differentiable(a.dtype) for a in avals]
    ir, env, needs, plan = trace_for_reverse(flat_fun, avals, leaves, wanted, stop_gradient_p)
    outs, backward = linearize(ir, leaves, wanted, env=env, recorded=(needs, plan))
    out_tree, num_out, aux_tree = out_trees[0]
    out_values = outs[:num_out]

    def vjp_fn(cotangent):
        cts = _args.fitted_leaves(who, "cotangent", cotangent, out_tree,
                                  [_args.as_value(x) for x in out_values], "output")
        in_cts, _ = backward(cts + [None] * (len(outs) - num_out))
        result = [_args.to_user(_args.zeros_like(x) if ct is None else ct)
                  for x, ct in zip(leaves, in_cts)]
        return tuple(tree.unflatten(in_tree, result))

    out = tree.unflatten(out_tree, [_args.to_user(x) for x in out_values])
    if has_aux:
        return out, vjp_fn, tree.unflatten(aux_tree, [_args.to_user(x)
                                                      for x in outs[num_out:]])
    return out, vjp_fn
