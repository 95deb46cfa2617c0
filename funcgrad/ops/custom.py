"""Primitives whose parameters hold programs: ``custom_vjp_call`` (a function with a reverse-mode
rule written by the user), ``custom_jvp_call`` (one with a forward-mode rule) and
``checkpoint`` (a block whose forward pass is recomputed in the backward pass). The
user-facing ``fg.custom_vjp``, ``fg.custom_jvp`` and ``fg.checkpoint`` that bind them are in
``funcgrad/transforms/custom.py``.

Both take their operands as ``[*closed_over, *arguments]``: tracers of enclosing
transformations that the traced function closed over are lifted out of its IR into leading
operands (``trace_closed``), so that the IR in the parameters holds only concrete constants
and stays valid when the equation is evaluated again on other values, at any level.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray, aval_of, is_differentiable
from ..core.errors import ShapeError, at_user_line
from ..core.ir import IR, Eqn, Literal, Var
from ..core.primitive import Primitive
from ..core.trace import Tracer, evaluate, trace_to_ir
from . import elementwise as ew
from . import structural as st


def trace_closed(flat_fun, in_avals):
    """Trace ``flat_fun`` to an IR whose constants are all concrete.

    Returns ``(ir, lifted)``: the tracers that ``flat_fun`` closed over become the first
    inputs of ``ir``, to be passed as ``ir``'s operands ``[*lifted, *args]``.
    """
    ir = trace_to_ir(flat_fun, in_avals)
    lifted = [(v, c) for v, c in zip(ir.constvars, ir.consts) if isinstance(c, Tracer)]
    if not lifted:
        return ir, []
    kept = [(v, c) for v, c in zip(ir.constvars, ir.consts) if not isinstance(c, Tracer)]
    closed = IR([v for v, _ in kept], [c for _, c in kept],
                [v for v, _ in lifted] + ir.invars, ir.eqns, ir.outvars)
    return closed, [c for _, c in lifted]


def _aval(value) -> ShapedArray:
    return value.aval if isinstance(value, Tracer) else aval_of(value)


def _check_operands(name: str, ir: IR, avals) -> list:
    """The shape rule of a call: the operands must be what ``ir`` was traced for."""
    expected = ir.in_avals
    if list(avals) != expected:
        raise ShapeError(f"{name} was traced for operands "
                         f"{[a.short() for a in expected]}, got {[a.short() for a in avals]}")
    return ir.out_avals


def _to_front(value, dim, size: int):
    """``value`` batched at axis 0: its batch axis moved there, or broadcast along it."""
    if dim is None:
        shape = np.shape(value)
        return st.broadcast_to(st.reshape(value, (1,) + shape), (size,) + shape)
    return st.batch_to_front(value, dim)


class Rule:
    """A Python function kept in an equation's parameters (a custom rule, ``host_call``'s
    function): named in the printed IR, compared by identity (so the IR's
    common-subexpression pass tells two apart)."""

    def __init__(self, function, name: str):
        self.function = function
        self.name = name

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name

    __str__ = __repr__


class BatchedRule(Rule):
    """``rule`` vectorized with ``vmap`` over axis 0 of every operand (a batch rule's rule)."""

    def __init__(self, rule: Rule):
        super().__init__(rule, f"vmap({rule.name})")

    def __call__(self, *args):
        from ..transforms.vmap import vmap
        return vmap(self.function)(*args)


# ------------------------------------------------------------------------ custom_vjp_call
# Params: ``fun_ir`` (the primal function, applied to all operands), ``fwd`` (argument
# leaves -> the residuals, a pytree), ``bwd`` ((residuals, output cotangent leaves) -> one
# cotangent per argument leaf, ``None`` for zero), ``num_consts`` (closed-over leading
# operands) and ``name`` (the user's function, for messages).
# ``fwd`` and ``bwd`` stay Python functions, run when a backward pass runs (so the forward
# pass stores no residuals): ``fwd`` may call the custom function itself (JAX's usual
# ``return f(x), x``) without tracing itself again and again.

custom_vjp_call_p = Primitive("custom_vjp_call", "special", multiple_results=True)
custom_vjp_call_p.impl = lambda *operands, fun_ir, fwd, bwd, num_consts, name: evaluate(
    fun_ir, operands)
custom_vjp_call_p.abstract_eval = lambda *avals, fun_ir, fwd, bwd, num_consts, name: (
    _check_operands(f"custom_vjp_call of '{name}'", fun_ir, avals))


def _custom_vjp_call_jvp(primals, tangents, *, fun_ir, fwd, bwd, num_consts, name):
    # Forward mode differentiates the primal function itself (JAX raises here instead): a
    # custom rule for reverse mode says nothing about tangents.
    from ..transforms.jvp import jvp_ir
    return jvp_ir(fun_ir, primals, tangents)


def _custom_vjp_call_vjp(needs, cts, ans, *operands, fun_ir, fwd, bwd, num_consts, name):
    if any(needs[:num_consts]):
        raise TypeError(at_user_line(
            f"custom_vjp function '{name}' closes over a traced value that is being "
            f"differentiated, but its bwd rule gives cotangents only for the explicit "
            f"arguments of '{name}'. Pass that value as an argument instead (and return its "
            "cotangent from bwd)."))
    arguments = operands[num_consts:]
    arg_cts = bwd(fwd(*arguments), list(cts))
    return [None] * num_consts + [ct if need else None
                                  for ct, need in zip(arg_cts, needs[num_consts:])]


def _batched_at_front(fun_ir, args, dims):
    """The operands with their batch axes at 0 (unbatched ones broadcast), and ``fun_ir``
    batched over axis 0 of each with every output batched at 0: ``(args, ir, lifted)``,
    ``lifted`` the constants the batched IR closes over."""
    size = st.batch_size(args, dims)
    args = [_to_front(a, d, size) for a, d in zip(args, dims)]

    def batched_fun(*operands):
        from ..transforms.vmap import batch_ir
        outs, out_dims = batch_ir(fun_ir, operands, [0] * len(operands))
        return [_to_front(o, d, size) for o, d in zip(outs, out_dims)]

    batched_ir, lifted = trace_closed(batched_fun, [_aval(a) for a in args])
    return args, batched_ir, lifted


def _custom_vjp_call_batch(args, dims, *, fun_ir, fwd, bwd, num_consts, name):
    # Every operand goes to axis 0 (unbatched ones are broadcast), so that the batched fun,
    # fwd and bwd all map axis 0 of everything, and each cotangent is batched like its
    # operand.
    args, batched_ir, lifted = _batched_at_front(fun_ir, args, dims)
    outs = custom_vjp_call_p.bind(*lifted, *args, fun_ir=batched_ir, fwd=BatchedRule(fwd),
                                  bwd=BatchedRule(bwd), num_consts=len(lifted) + num_consts,
                                  name=name)
    return outs, [0] * len(outs)


custom_vjp_call_p.jvp = _custom_vjp_call_jvp
custom_vjp_call_p.vjp = _custom_vjp_call_vjp
custom_vjp_call_p.batch = _custom_vjp_call_batch


def custom_vjp_call(operands, fun_ir: IR, fwd, bwd, num_consts: int, name: str) -> list:
    """Apply ``fun_ir`` to ``operands`` with the reverse-mode rule ``fwd``/``bwd`` (flat
    functions of leaves, see above); returns the list of output leaves."""
    return custom_vjp_call_p.bind(*operands, fun_ir=fun_ir, fwd=Rule(fwd, f"{name}_fwd"),
                                  bwd=Rule(bwd, f"{name}_bwd"), num_consts=num_consts,
                                  name=name)


# ------------------------------------------------------------------------ custom_jvp_call
# Params: ``fun_ir`` (the primal function, applied to all operands), ``jvp`` ((argument
# leaves, tangent leaves with ``None`` for zero) -> (output leaves, output tangent leaves,
# ``None`` for zero), the user's rule, checked), ``num_consts`` (closed-over leading
# operands) and ``name``.
# Forward mode calls the rule. Reverse mode linearizes it: the rule is traced as a function
# of the tangents alone at the primals (which become the program's constants: concrete, or
# tracers of an enclosing transformation, so the rule's primal work is itself differentiable
# for higher orders) and that linear program is transposed (``transforms.linear``), as JAX
# does. Batching vectorizes the function and the rule.

custom_jvp_call_p = Primitive("custom_jvp_call", "special", multiple_results=True)
custom_jvp_call_p.impl = lambda *operands, fun_ir, jvp, num_consts, name: evaluate(
    fun_ir, operands)
custom_jvp_call_p.abstract_eval = lambda *avals, fun_ir, jvp, num_consts, name: (
    _check_operands(f"custom_jvp_call of '{name}'", fun_ir, avals))


def _closure_error(name: str) -> TypeError:
    return TypeError(at_user_line(
        f"custom_jvp function '{name}' closes over a traced value that is being "
        f"differentiated, but its JVP rule takes tangents only for the explicit arguments of "
        f"'{name}'. Pass that value as an argument instead."))


def _custom_jvp_call_jvp(primals, tangents, *, fun_ir, jvp, num_consts, name):
    if any(t is not None for t in tangents[:num_consts]):
        raise _closure_error(name)
    outs, out_tangents = jvp(list(primals[num_consts:]), list(tangents[num_consts:]))
    return list(outs), list(out_tangents)


def _custom_jvp_call_vjp(needs, cts, ans, *operands, fun_ir, jvp, num_consts, name):
    from ..transforms.linear import transpose_linear
    if any(needs[:num_consts]):
        raise _closure_error(name)
    primals = list(operands[num_consts:])
    positions = [i for i, (need, x) in enumerate(zip(needs[num_consts:], primals))
                 if need and is_differentiable(_aval(x).dtype)]
    result = [None] * len(operands)
    if not positions:
        return result
    out_avals = fun_ir.out_avals
    floats = [is_differentiable(a.dtype) for a in out_avals]

    def tangent_program(*tangents):
        full = [None] * len(primals)
        for i, t in zip(positions, tangents):
            full[i] = t
        _, out_tangents = jvp(primals, full)
        return [np.zeros(a.shape, a.dtype) if t is None else t
                for t, a, f in zip(out_tangents, out_avals, floats) if f]

    ir = trace_to_ir(tangent_program, [_aval(primals[i]) for i in positions],
                     stage_constants=False)
    in_cts = transpose_linear(ir, [ct for ct, f in zip(cts, floats) if f],
                              f"custom_jvp '{name}'")
    for i, ct in zip(positions, in_cts):
        result[num_consts + i] = ct
    return result


def _custom_jvp_call_batch(args, dims, *, fun_ir, jvp, num_consts, name):
    # As custom_vjp_call's: everything at axis 0, the rule vmapped over axis 0 of its
    # primals and tangents (a tangent of a batched operand has the operand's shape).
    args, batched_ir, lifted = _batched_at_front(fun_ir, args, dims)
    outs = custom_jvp_call_p.bind(*lifted, *args, fun_ir=batched_ir, jvp=BatchedRule(jvp),
                                  num_consts=len(lifted) + num_consts, name=name)
    return outs, [0] * len(outs)


custom_jvp_call_p.jvp = _custom_jvp_call_jvp
custom_jvp_call_p.vjp = _custom_jvp_call_vjp
custom_jvp_call_p.batch = _custom_jvp_call_batch


def custom_jvp_call(operands, fun_ir: IR, jvp, num_consts: int, name: str) -> list:
    """Apply ``fun_ir`` to ``operands`` with the forward-mode rule ``jvp`` (a flat function
    of leaves, see above); returns the list of output leaves."""
    return custom_jvp_call_p.bind(*operands, fun_ir=fun_ir, jvp=Rule(jvp, f"{name}_jvp"),
                                  num_consts=num_consts, name=name)


# ----------------------------------------------------------------------------- checkpoint
# Params: ``block``, the IR of the checkpointed function, applied to all operands, and
# ``policy`` (a ``CheckpointPolicy``), which names the block's equations whose results a
# backward pass keeps instead of recomputing (``saved_values``). The equation's outputs are
# the block's, then those saved values (its residuals, nothing for ``nothing_saveable``).
# Under ``linearize`` the equation is evaluated like any other, so the outer backward pass
# keeps only its operands and outputs, the residuals included; its vjp rule linearizes the
# block again, recomputing the rest of its intermediates just before they are needed.

class CheckpointPolicy:
    """Which equations of a checkpointed block a backward pass saves rather than recomputes:
    ``saves(primitive, *avals, **params)`` (JAX's policy signature), a named callable."""

    def __init__(self, saves, name: str):
        self.saves = saves
        self.name = name

    def __call__(self, prim, *avals, **params) -> bool:
        return bool(self.saves(prim, *avals, **params))

    def __repr__(self):
        return self.name

    __str__ = __repr__


def saved_values(block: IR, policy: CheckpointPolicy) -> list:
    """The variables of ``block`` whose values the checkpoint equation also outputs."""
    return [var for eqn in block.eqns
            if policy(eqn.primitive, *[a.aval for a in eqn.inputs], **eqn.params)
            for var in eqn.outputs]


def with_saved_outputs(block: IR, policy: CheckpointPolicy) -> IR:
    """``block`` computing what the checkpoint equation outputs: its results, then the saved
    values."""
    saved = saved_values(block, policy)
    if not saved:
        return block
    return IR(block.constvars, block.consts, block.invars, block.eqns, block.outvars + saved)


def bind_checkpoint(block: IR, policy: CheckpointPolicy, operands) -> list:
    """The checkpoint of ``block`` on ``operands``: its results (the residuals left out)."""
    outs = checkpoint_p.bind(*operands, block=block, policy=policy)
    return outs[:len(block.outvars)]


checkpoint_p = Primitive("checkpoint", "special", multiple_results=True)
checkpoint_p.impl = lambda *operands, block, policy: evaluate(
    with_saved_outputs(block, policy), operands)
checkpoint_p.abstract_eval = lambda *avals, block, policy: (
    _check_operands("checkpoint", block, avals) + [v.aval for v in saved_values(block, policy)])


def _checkpoint_jvp(primals, tangents, *, block, policy):
    # The derivative program is a checkpoint too: under a later reverse pass (forward over
    # reverse, jacfwd of grad) it is recomputed, not stored. Residual outputs get tangents:
    # a pullback that reads them is differentiated through them.
    from ..transforms.jvp import jvp_ir
    program = with_saved_outputs(block, policy)
    has_tangent = [t is not None for t in tangents]
    nonzero = [t for t in tangents if t is not None]
    out_has_tangent = []

    def jvp_block(*values):
        rest = iter(values[len(primals):])
        outs, out_tangents = jvp_ir(program, values[:len(primals)],
                                    [next(rest) if h else None for h in has_tangent])
        out_has_tangent[:] = [t is not None for t in out_tangents]
        return list(outs) + [t for t in out_tangents if t is not None]

    ir, lifted = trace_closed(jvp_block, [_aval(v) for v in list(primals) + nonzero])
    results = bind_checkpoint(ir, policy, [*lifted, *primals, *nonzero])
    num_outs = len(program.outvars)
    rest = iter(results[num_outs:])
    return results[:num_outs], [next(rest) if h else None for h in out_has_tangent]


def recompute(block: IR, operands, saved: dict) -> dict:
    """The value of every variable of ``block`` on ``operands``: the equations whose results
    are in ``saved`` (variable -> value) are not run again."""
    env = dict(zip(block.constvars, block.consts))
    env.update(zip(block.invars, operands))
    env.update(saved)
    for eqn in block.eqns:
        if eqn.outputs and all(v in saved for v in eqn.outputs):
            continue
        out = eqn.primitive.bind(*[a.val if type(a) is Literal else env[a] for a in eqn.inputs],
                                 **eqn.params)
        env.update(zip(eqn.outputs, out if eqn.primitive.multiple_results else [out]))
    return env


def _checkpoint_vjp(needs, cts, ans, *operands, block, policy):
    # The pullback is a checkpoint too, of the operands, the residuals and the cotangents:
    # the block's recomputed forward values exist only inside it, so a scan's reverse mode
    # (which stores whatever forward values its backward step reads) does not store them.
    # The saved values get cotangents only in a higher-order pass (a first one fills in
    # concrete zeros): the pullback then pulls those back through the block too.
    from ..transforms.vjp import linearize
    wanted = [need and is_differentiable(_aval(x).dtype) for need, x in zip(needs, operands)]
    num_operands, num_outs = len(operands), len(block.outvars)
    saved = saved_values(block, policy)
    residuals = list(ans[num_outs:])
    live = [i < num_outs or not _is_concrete_zero(ct) for i, ct in enumerate(cts)]
    program = with_saved_outputs(block, policy) if any(live[num_outs:]) else block
    given = [ct for ct, keep in zip(cts, live) if keep]

    def pullback(*values):
        primals = list(values[:num_operands])
        kept = dict(zip(saved, values[num_operands:num_operands + len(saved)]))
        rest = iter(values[num_operands + len(saved):])
        out_cts = [next(rest) if keep else None for keep in live[:len(program.outvars)]]
        _, backward = linearize(program, primals, wanted, env=recompute(block, primals, kept))
        in_cts = backward(out_cts)[0]
        return [ew.zeros_like(x) if ct is None else ct
                for x, ct, want in zip(primals, in_cts, wanted) if want]

    ir, lifted = trace_closed(pullback, [_aval(v) for v in list(operands) + residuals + given])
    results = iter(bind_checkpoint(ir, policy, [*lifted, *operands, *residuals, *given]))
    return [next(results) if want else None for want in wanted]


def _is_concrete_zero(value) -> bool:
    return not isinstance(value, Tracer) and not np.any(value)


def _checkpoint_batch(args, dims, *, block, policy):
    from ..transforms.vmap import batch_ir
    program = with_saved_outputs(block, policy)
    out_dims = []

    def batched_block(*operands):
        outs, dims_of_outs = batch_ir(program, operands, dims)
        out_dims[:] = dims_of_outs
        return outs

    ir, lifted = trace_closed(batched_block, [_aval(a) for a in args])
    return bind_checkpoint(ir, policy, [*lifted, *args]), list(out_dims)


def _checkpoint_taylor(primals, series, *, block, policy):
    # As the JVP: a checkpoint of the Taylor-mode program, residuals with their series.
    from ..transforms.jet import jet_ir
    program = with_saved_outputs(block, policy)
    order = len(series[0])
    has = [any(t is not None for t in terms) for terms in series]
    out_has = []

    def jet_block(*values):
        rest = iter(values[len(primals):])
        outs, out_series = jet_ir(program, values[:len(primals)],
                                  [[next(rest) for _ in range(order)] if h else None
                                   for h in has], order)
        out_has[:] = [s is not None for s in out_series]
        return list(outs) + [ew.zeros_like(o) if t is None else t
                             for o, terms in zip(outs, out_series) if terms for t in terms]

    flat = [ew.zeros_like(x) if t is None else t
            for x, terms, h in zip(primals, series, has) if h for t in terms]
    ir, lifted = trace_closed(jet_block, [_aval(v) for v in list(primals) + flat])
    results = bind_checkpoint(ir, policy, [*lifted, *primals, *flat])
    num_outs = len(program.outvars)
    rest = iter(results[num_outs:])
    return results[:num_outs], [[next(rest) for _ in range(order)] if h else None
                                for h in out_has]


checkpoint_p.jvp = _checkpoint_jvp
checkpoint_p.vjp = _checkpoint_vjp
checkpoint_p.batch = _checkpoint_batch
checkpoint_p.taylor = _checkpoint_taylor


def _expanded_call_taylor(primals, series, *, fun_ir, **params):
    # Taylor mode expands a custom-rule function through its primal function, as JAX's jet
    # does: neither a reverse-mode rule nor a first-order forward rule gives the orders above.
    from ..transforms.jet import jet_ir
    return jet_ir(fun_ir, primals, series, len(series[0]))


custom_vjp_call_p.taylor = _expanded_call_taylor
custom_jvp_call_p.taylor = _expanded_call_taylor


# ----------------------------------------------------------------------------- inlining

_CALLS = {custom_vjp_call_p: "fun_ir", custom_jvp_call_p: "fun_ir", checkpoint_p: "block"}


def inline_calls(ir: IR) -> IR:
    """A copy of ``ir`` with every ``custom_vjp_call``, ``custom_jvp_call`` and ``checkpoint``
    equation replaced by the equations of the program it calls.

    Only for a program that will be run and no longer transformed (``jit`` runs one after
    every transformation has been traced into it): the custom rule and the recomputation
    only matter to a backward pass, and inlined equations can be fused by the compiler.
    """
    if not any(eqn.primitive in _CALLS for eqn in ir.eqns):
        return ir
    replaced: dict = {}
    constvars, consts, eqns = list(ir.constvars), list(ir.consts), []

    def read(atom, env):
        return env.get(atom, atom) if type(atom) is Var else atom

    for eqn in ir.eqns:
        inputs = [read(a, replaced) for a in eqn.inputs]
        if eqn.primitive not in _CALLS:
            eqns.append(Eqn(eqn.primitive, inputs, eqn.outputs, eqn.params))
            continue
        callee = eqn.params[_CALLS[eqn.primitive]]
        if eqn.primitive is checkpoint_p:   # its outputs include the saved values
            callee = with_saved_outputs(callee, eqn.params["policy"])
        callee = inline_calls(callee)
        # Fresh variables: one program may be called by several equations.
        env: dict = dict(zip(callee.invars, inputs))
        for var, value in zip(callee.constvars, callee.consts):
            env[var] = Var(var.aval)
            constvars.append(env[var])
            consts.append(value)
        for inner in callee.eqns:
            outputs = [Var(v.aval) for v in inner.outputs]
            eqns.append(Eqn(inner.primitive, [read(a, env) for a in inner.inputs], outputs,
                            inner.params))
            env.update(zip(inner.outputs, outputs))
        for var, atom in zip(eqn.outputs, callee.outvars):
            replaced[var] = read(atom, env)
    return IR(constvars, consts, ir.invars, eqns, [read(a, replaced) for a in ir.outvars])
