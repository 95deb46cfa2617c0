"""``linearize`` and ``linear_transpose`` (JAX semantics).

``linearize(fun, *primals)`` traces ``fun`` once, then runs its forward-mode derivative with
concrete primals and traced tangents: every primal computation happens there and then (its
results become constants), and only the tangent computations are recorded. That recording is
the linear program ``f_jvp`` evaluates: no call of ``f_jvp`` runs ``fun`` or a primal
operation again.

``linear_transpose(fun, *primals)`` traces ``fun`` on abstract inputs, checks that every
equation that reads an input is linear in it, and runs the reverse-mode interpreter
(``vjp.linearize``) on that program. A linear function's intermediates are all zero at a
zero input, so zeros stand for them where a reverse rule reads a forward value.
"""
from __future__ import annotations

import numpy as np

from .. import tree
from ..core.aval import is_differentiable
from ..core.errors import at_user_line
from ..core.ir import Literal, Var
from ..core.trace import Tracer, eval_ir, trace_to_ir
from ..ops.custom import inline_calls
from . import _args
from .eval_shape import abstract_leaf
from .jvp import jvp_ir
from .vjp import linearize as _reverse


def _name(fun) -> str:
    return getattr(fun, "__name__", "function")


def _checked_tangents(who: str, leaves, in_tree, tangents) -> list:
    """The tangent leaves for ``leaves``, checked like ``jvp``'s (``None``: not a float)."""
    return _args.fitted_leaves(who, "tangent", tuple(tangents), in_tree, leaves, "primal")


def linearize(fun, *primals, has_aux: bool = False):
    """Evaluate ``fun(*primals)`` and return ``(out, f_jvp)``: ``f_jvp(*tangents)`` is the
    forward-mode derivative at ``primals`` (``jvp(fun, primals, tangents)[1]``), computed
    without tracing or evaluating ``fun`` again (JAX semantics). With ``has_aux``, ``fun``
    returns ``(out, aux)`` and ``linearize`` returns ``(out, f_jvp, aux)``.

    ``fun`` is traced once, on the primals' values (so Python control flow on them works, as
    under ``jvp``); ``f_jvp`` evaluates only the tangent half of that derivative, whose primal
    intermediates were computed once, here. ``f_jvp`` composes with every transformation
    (``jit(f_jvp)``, ``vmap(f_jvp)``, ``grad``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> out, f_jvp = fg.linearize(lambda x: fnp.sin(x) * x, 0.5)
    >>> float(out), float(f_jvp(1.0)), float(f_jvp(2.0))   # sin(.5) * .5; cos(.5) * .5 + sin(.5)
    (0.2397127693021015, 0.9182168195493894, 1.8364336390987788)
    """
    who = f"linearize of {_name(fun)}"
    leaves, in_tree = tree.flatten(tuple(primals))
    leaves = _args.argument_values(who, fun, primals, leaves)
    out_trees = []

    def flat_fun(*tracers):
        out = fun(*tree.unflatten(in_tree, tracers))
        aux_leaves, aux_tree = [], None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(at_user_line(
                    f"{who}: has_aux=True needs the function to return a pair (output, aux), "
                    f"but it returned {type(out).__name__}"))
            out, aux = out
            aux_leaves, aux_tree = tree.flatten(aux)
        out_leaves, out_tree = tree.flatten(out)
        out_trees.append((out_tree, len(out_leaves), aux_tree))
        return [_args.as_value(x) for x in out_leaves] + aux_leaves

    ir = trace_to_ir(flat_fun, [_args.aval(x) for x in leaves], args=leaves)
    out_tree, num_out, aux_tree = out_trees[0]
    wanted = [is_differentiable(_args.aval(x).dtype) for x in leaves]
    results = []

    def tangent_program(*tangents):
        tangents = iter(tangents)
        outs, out_tangents = jvp_ir(ir, leaves, [next(tangents) if w else None
                                                 for w in wanted])
        results.append(outs)
        return [_args.zeros_like(o) if t is None else t
                for o, t in zip(outs[:num_out], out_tangents[:num_out])]

    # Primal work on concrete values computes now, even what tracing would stage (a
    # broadcast, a print): the recorded program is the tangent work alone.
    tangent_ir = trace_to_ir(tangent_program,
                             [_args.aval(x) for x, w in zip(leaves, wanted) if w],
                             stage_constants=False)
    outs = results[0]

    def f_jvp(*tangents):
        if len(tangents) != len(primals):
            raise TypeError(f"{who}: f_jvp takes one tangent per primal ({len(primals)}), "
                            f"got {len(tangents)}")
        checked = _checked_tangents(who, leaves, in_tree, tangents)
        out_tangents = eval_ir(tangent_ir, [t for t, w in zip(checked, wanted) if w])
        return tree.unflatten(out_tree, [_args.to_user(t) for t in out_tangents])

    out = tree.unflatten(out_tree, [_args.to_user(x) for x in outs[:num_out]])
    if has_aux:
        return out, f_jvp, tree.unflatten(aux_tree, [_args.to_user(x)
                                                     for x in outs[num_out:]])
    return out, f_jvp


# ------------------------------------------------------------------------- linear_transpose

# How each primitive may read values that depend on the inputs ("linear" values) and stay
# linear in them: ``"any"``, in any operands, each other operand being zero (else the
# function is affine); ``"one"``, in exactly one operand (a product); an int, in that operand
# only; a tuple, in those operands only, the others zero where they are not integers.
_LINEAR = {
    "add": "any", "sub": "any", "concatenate": "any", "neg": 0, "reshape": 0,
    "broadcast_to": 0, "transpose": 0, "reduce_sum": 0, "cumsum": 0, "retain_grad": 0,
    "convert_element_type": 0, "gather": 0, "mul": "one", "einsum": "one", "div": 0,
    "select": (1, 2), "scatter": (0, 1), "scatter_add": (0, 1), "solve": 1,
    "triangular_solve": 1,
}


def _is_zero(value) -> bool:
    if isinstance(value, Tracer):
        return False   # not known: taken as a constant that need not be zero
    return not np.any(np.asarray(value))


def _linearity_problem(eqn, linear, values) -> str | None:
    """Why ``eqn``, reading the linear values at the positions ``linear``, is not linear in
    them, or None."""
    name = eqn.primitive.name
    rule = _LINEAR.get(name)
    if rule is None:
        return f"'{name}' is not a linear operation"
    flagged = [i for i, is_linear in enumerate(linear) if is_linear]
    if rule == "one":
        return (f"'{name}' multiplies two values that both depend on the inputs"
                if len(flagged) > 1 else None)
    allowed = (range(len(linear)) if rule == "any" else (rule,) if isinstance(rule, int)
               else rule)
    if any(i not in allowed for i in flagged):
        return f"'{name}' is not linear in its operand {flagged[0]}"
    for i, value in enumerate(values):
        if (i in allowed and not linear[i] and np.dtype(eqn.inputs[i].aval.dtype).kind in "fc"
                and not _is_zero(value)):
            return (f"'{name}' adds a nonzero constant to a value that depends on the inputs "
                    "(the function is affine, not linear)")
    for var in eqn.outputs:
        if not is_differentiable(var.aval.dtype):
            return f"'{name}' gives a {var.aval.dtype.name} result"
    return None


def _nonlinearity(eqn, linear) -> str | None:
    """The lenient check of ``transpose_linear``: only what is surely not linear (a product of
    two input-dependent values, a nonlinear elementwise function of one, an input-dependent
    divisor or predicate); constants are not inspected (they may be traced values)."""
    from ..core.primitive import ELEMENTWISE
    name = eqn.primitive.name
    rule = _LINEAR.get(name)
    flagged = [i for i, is_linear in enumerate(linear) if is_linear]
    if rule is None:
        return f"'{name}' is not a linear operation" if eqn.primitive in ELEMENTWISE else None
    if rule == "one":
        return (f"'{name}' multiplies two values that both depend on the inputs"
                if len(flagged) > 1 else None)
    if rule == "any":
        return None
    allowed = (rule,) if isinstance(rule, int) else rule
    if any(i not in allowed for i in flagged):
        return f"'{name}' is not linear in its operand {flagged[0]}"
    return None


def _linear_env(ir, who: str, strict: bool):
    """Check that ``ir`` is linear in its inputs and return ``(env, linear)``: the value of
    every variable with zeros for the input-dependent ones (what the reverse interpreter
    reads as forward values), and the set of input-dependent variables.

    ``strict`` (``linear_transpose``): every operation must be known to be linear.
    Otherwise (a custom JVP rule's tangent program, whose constants may be traced values of
    enclosing transformations): only operations known not to be linear are refused.
    """
    env = dict(zip(ir.constvars, ir.consts))
    linear = set(ir.invars)
    for var in ir.invars:
        env[var] = np.zeros(var.aval.shape, var.aval.dtype)
    for eqn in ir.eqns:
        values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
        flags = [type(a) is Var and a in linear for a in eqn.inputs]
        if True not in flags:   # a constant of the function: computed now
            out = eqn.primitive.bind(*values, **eqn.params)
            env.update(zip(eqn.outputs, out if eqn.primitive.multiple_results else [out]))
            continue
        problem = (_linearity_problem(eqn, flags, values) if strict
                   else _nonlinearity(eqn, flags))
        if problem:
            raise TypeError(at_user_line(
                f"{who}: the function is not linear in its inputs: {problem}. "
                "linear_transpose needs a linear function (for any function, use fg.vjp at a "
                "point)." if strict else
                f"{who}: the tangent output is not linear in the input tangents: {problem}. "
                "A JVP rule must compute its tangent output linearly from the tangents."))
        for var in eqn.outputs:
            linear.add(var)
            env[var] = np.zeros(var.aval.shape, var.aval.dtype)
    return env, linear


def transpose_linear(ir, cts, who: str) -> list:
    """The transpose of the program ``ir``, linear in its inputs (a JVP rule's tangent
    program, traced with its primals as constants), applied to ``cts`` (one per output;
    ``None`` for zero): one cotangent per input, ``None`` where no output depends on it.

    The reverse-mode interpreter of ``vjp`` runs on it, with zeros standing for the forward
    values (all zero at a zero input), as in ``linear_transpose``.
    """
    ir = inline_calls(ir)
    env, _ = _linear_env(ir, who, strict=False)
    _, backward = _reverse(ir, None, [True] * len(ir.invars), env=env)
    return backward(list(cts))[0]


def linear_transpose(fun, *primals):
    """The transpose of the linear function ``fun``: ``transpose_fn(cotangent)`` returns
    the tuple of input cotangents ``(ct_1, ...)`` with ``<ct, fun(x)> == sum <ct_i, x_i>``
    for every ``x`` (JAX semantics).

    ``primals`` give only the inputs' shapes and dtypes (arrays, or any objects with
    ``.shape`` and ``.dtype``, such as ``fg.eval_shape``'s results); they must be floating.
    ``fun`` is traced once, without numbers; an operation on the inputs that is not linear
    (``sin``, a product of two input-dependent values, adding a nonzero constant) is a
    ``TypeError`` naming it. The transpose is ``vjp`` of ``fun`` at any point, computed without
    evaluating ``fun``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f_t = fg.linear_transpose(lambda x, y: 2.0 * x - y, 1.0, 1.0)
    >>> f_t(3.0)
    (array(6.), array(-3.))
    """
    who = f"linear_transpose of {_name(fun)}"
    leaves, in_tree = tree.flatten(tuple(primals))
    avals = []
    for i, leaf in enumerate(leaves):
        try:
            aval = abstract_leaf(leaf)
        except _args.UnsupportedLeaf:
            raise _args.unsupported_argument(who, fun, primals, {}, leaf, ways=(
                "pass arrays or ShapeDtypeStruct-like objects (with .shape and .dtype)")) \
                from None
        if not is_differentiable(aval.dtype):
            raise TypeError(f"{who}: primal leaf {i} has dtype {aval.dtype.name}; "
                            "linear_transpose needs floating inputs")
        avals.append(aval)
    out_trees = []

    def flat_fun(*tracers):
        out_leaves, out_tree = tree.flatten(fun(*tree.unflatten(in_tree, tracers)))
        out_trees.append(out_tree)
        return [_args.as_value(x) for x in out_leaves]

    ir = inline_calls(trace_to_ir(flat_fun, avals))
    out_tree = out_trees[0]
    env, linear = _linear_env(ir, who, strict=True)
    for i, atom in enumerate(ir.outvars):
        if not (type(atom) is Var and atom in linear):
            value = atom.val if type(atom) is Literal else env[atom]
            if not _is_zero(value):
                raise TypeError(at_user_line(
                    f"{who}: the function is not linear in its inputs: output leaf {i} is a "
                    "nonzero constant (the function is affine, not linear)"))
    _, backward = _reverse(ir, None, [True] * len(leaves), env=env)
    out_avals = ir.out_avals

    def transpose_fn(cotangent):
        cts = _args.fitted_leaves(who, "cotangent", cotangent, out_tree, out_avals, "output")
        in_cts, _ = backward(cts)
        result = [_args.to_user(np.zeros(a.shape, a.dtype) if ct is None else ct)
                  for a, ct in zip(avals, in_cts)]
        return tuple(tree.unflatten(in_tree, result))

    return transpose_fn
