"""Control-flow primitives: ``cond``, ``scan`` and ``while``, whose parameters are sub-programs.

Each sub-program is a closed ``IR`` (no constants of its own): whatever the user's function
closed over (arrays, or traced values of an enclosing transformation) was turned into leading
inputs of the sub-program and is passed as operands of the equation, so every transformation
sees those dependencies as ordinary inputs.

- ``cond[true_branch, false_branch](pred, *operands)``: one branch, chosen by a bool scalar.
- ``scan[body, num_consts, num_carry, length, reverse](*consts, *init, *xs)``: ``body`` maps
  ``(*consts, *carry, *x) -> (*carry, *y)``; the outputs are the final carry and the ``y`` of
  every step stacked along a new leading axis (JAX's ``lax.scan``).
- ``while[condition, body, num_condition_consts, num_body_consts](*consts, *init)``: its
  reverse mode counts the trips (on the operands' numbers, or when the program runs, through
  ``host_call``: see ``ops/host.py``) and differentiates a ``scan`` of that many steps.

Rules build new sub-programs by tracing the transformation of the old ones (``jvp_ir``,
``linearize``, ``batch_ir``, ``jet_ir``), so they nest: ``grad(grad(f))`` through a ``scan``
differentiates the ``scan`` that the first ``grad`` produced.

Reverse mode of a ``scan`` runs a forward scan that also stores, a step at a time, the
forward values its backward step reads (the residuals: the entering carry, a ``tanh``'s output,
...), then a reverse scan that pulls the cotangents back through each step from them, as JAX
does; under ``jit`` that forward scan and the one that computed the value are one
(``merge_scans``). ``cond``'s backward pass re-evaluates the chosen branch forward inside the
backward branch. Memory: a scan keeps its residuals for every step (``checkpoint`` on the body
keeps less and recomputes).

Under ``grad`` of concrete values (no ``jit``), ``scan`` and ``while`` have an ``eager_vjp``: the
loop's impl, run by the trace that evaluates the forward pass, keeps every step's forward values
(a tape), and the backward pass runs a backward step traced once on those values (cached by the
body's structure), so the forward steps run once and no forward equation is repeated.
"""
from __future__ import annotations

import contextlib
import threading
import weakref

import numpy as np

from ..core.aval import ShapedArray, aval_of, is_differentiable
from ..core.errors import ShapeError
from ..core.ir import (
    IR,
    Eqn,
    Literal,
    Var,
    common_subexpression_elimination,
    dead_code_elimination,
    drop_effects,
    has_effect,
)
from ..core.primitive import Primitive
from ..core.trace import (
    _UNKNOWN,
    Tracer,
    eval_ir,
    evaluate,
    evaluator,
    innermost_trace,
    known_value,
    trace_to_ir,
    tracing,
)
from . import elementwise as ew
from . import reduction as red
from . import structural as st

# ----------------------------------------------------------------------- sub-program helpers


def value_aval(value) -> ShapedArray:
    return value.aval if isinstance(value, Tracer) else aval_of(value)


def trace_program(flat_fun, in_avals) -> tuple[IR, list]:
    """Trace ``flat_fun`` into a closed program: its constants become leading inputs.

    Returns ``(program, consts)``; the program takes ``(*consts, *inputs)``. Equations that
    no output needs are dropped (a backward step's recomputed forward values, say).
    """
    ir = trace_to_ir(flat_fun, in_avals)
    program = IR([], [], list(ir.constvars) + list(ir.invars), ir.eqns, ir.outvars)
    return dead_code_elimination(program), list(ir.consts)


def share_constants(programs) -> tuple[list, list]:
    """Programs (from ``trace_program``) that all take the constants of all of them.

    Each program reads its own constants and ignores the others', so the programs have one
    signature ``(*all_consts, *inputs)`` (the branches of one ``cond``). Returns
    ``(programs, all_consts)``.
    """
    consts = [c for _, cs in programs for c in cs]
    shared = []
    for k, (ir, own) in enumerate(programs):
        leading = []
        for j, (other, other_consts) in enumerate(programs):
            count = len(other_consts)
            leading += ir.invars[:count] if j == k else [Var(v.aval) for v in
                                                         other.invars[:count]]
        shared.append(IR([], [], leading + ir.invars[len(own):], ir.eqns, ir.outvars))
    return shared, consts


def _split(values, sizes) -> list[list]:
    """``values`` cut into consecutive groups of ``sizes`` (the rest is a last group)."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(values[start:start + size]))
        start += size
    groups.append(list(values[start:]))
    return groups


def _kept(values, mask) -> list:
    return [v for v, keep in zip(values, mask) if keep]


def _expanded(values, mask) -> list:
    """The inverse of ``_kept``: ``values`` put back at the True places, ``None`` elsewhere."""
    values = iter(values)
    return [next(values) if keep else None for keep in mask]


def _floats(avals) -> list[bool]:
    return [is_differentiable(a.dtype) for a in avals]


def _instantiate(cts, like):
    """Symbolic zeros (``None``) made into zeros shaped like ``like``."""
    return [ew.zeros_like(x) if ct is None else ct for ct, x in zip(cts, like)]


def _jvp_program(ir: IR, nonzero) -> tuple[IR, list]:
    """The forward-mode program of closed ``ir``: ``(*primals, *tangents) -> (*outs, *out
    tangents)``, with a tangent input where ``nonzero[i]`` and a tangent output (zeros when
    none flows) for every floating output."""
    from ..transforms.jvp import jvp_ir
    num_in = len(ir.invars)

    def flat(*args):
        primals, tangents = args[:num_in], _expanded(args[num_in:], nonzero)
        outs, out_tangents = jvp_ir(ir, primals, tangents)
        floating = _floats(ir.out_avals)
        return outs + _instantiate(_kept(out_tangents, floating), _kept(outs, floating))

    return trace_program(flat, ir.in_avals + _kept(ir.in_avals, nonzero))


def _has_series(series) -> list[bool]:
    """Which operands of a ``taylor`` rule carry a nonzero series."""
    return [any(t is not None for t in terms) for terms in series]


def _flat_series(values, series, mask) -> list:
    """The K coefficients of each operand where ``mask``, one after another, zeros made."""
    return [ew.zeros_like(x) if t is None else t
            for x, terms, keep in zip(values, series, mask) if keep for t in terms]


def _unflat_series(flat, mask, order: int) -> list:
    """The inverse of ``_flat_series``: a list of K coefficients where ``mask``, else None."""
    flat, out = iter(flat), []
    for keep in mask:
        out.append([next(flat) for _ in range(order)] if keep else None)
    return out


def _jet_program(ir: IR, has_series, order: int) -> tuple[IR, list]:
    """The Taylor-mode program of closed ``ir``: ``(*primals, *series) -> (*outs, *out
    series)``, with K coefficient inputs for each input where ``has_series[i]`` and K
    coefficient outputs (zeros when none flows) for every floating output, each input's or
    output's coefficients together: ``_regroup`` takes it with every tangent size times K."""
    from ..transforms.jet import jet_ir
    num_in = len(ir.invars)

    def flat(*args):
        primals = args[:num_in]
        outs, out_series = jet_ir(ir, primals, _unflat_series(args[num_in:], has_series,
                                                               order), order)
        floating = _floats(ir.out_avals)
        return list(outs) + _flat_series(outs, [s or [None] * order for s in out_series],
                                         floating)

    return trace_program(flat, ir.in_avals + [a for a, h in zip(ir.in_avals, has_series) if h
                                              for _ in range(order)])


def _regroup(program: IR, num_leading: int, in_sizes, in_tangent_sizes, out_sizes,
             out_tangent_sizes) -> IR:
    """Reorder a ``_jvp_program``'s inputs and outputs from ``(primals, tangents)`` to groups
    ``(group0, tangents0, group1, tangents1, ...)``, the layout a loop primitive needs."""
    leading = program.invars[:num_leading]
    primals = program.invars[num_leading:num_leading + sum(in_sizes)]
    tangents = program.invars[num_leading + sum(in_sizes):]
    invars = list(leading)
    for p, t in zip(_split(primals, in_sizes), _split(tangents, in_tangent_sizes)):
        invars += p + t
    outs, out_tangents = program.outvars[:sum(out_sizes)], program.outvars[sum(out_sizes):]
    outvars = []
    for p, t in zip(_split(outs, out_sizes), _split(out_tangents, out_tangent_sizes)):
        outvars += p + t
    return IR([], [], invars, program.eqns, outvars)


def _batched_program(ir: IR, in_avals, dims, size: int, force=None) -> tuple[IR, list, list]:
    """The program of closed ``ir`` on inputs of ``in_avals`` batched along ``dims``.

    An output is batched (at axis 0) when it depends on a batched input, or when ``force[i]``
    says so (it is then broadcast); the others stay unbatched. Returns ``(program, consts,
    out_batched)``.
    """
    from ..transforms.vmap import batch_ir
    out_batched = []

    def flat(*args):
        outs, out_dims = batch_ir(ir, args, dims)
        out_batched[:] = [d is not None or bool(force and force[i])
                          for i, d in enumerate(out_dims)]
        return [st.batched_at_front(o, d, size) if batched else o
                for o, d, batched in zip(outs, out_dims, out_batched)]

    program, consts = trace_program(flat, in_avals)
    return program, consts, out_batched


def _batched_avals(avals, batched, size: int):
    """Example avals with a leading batch axis where ``batched``; their batch dims."""
    return ([ShapedArray((size,) + a.shape, a.dtype) if b else a for a, b in zip(avals, batched)],
            [0 if b else None for b in batched])


def _front_batched_shape(x, size: int, rank: int):
    """The bool batch vector ``x`` shaped ``(size, 1, ..., 1)`` to select among rank-``rank``
    batched values."""
    return st.reshape(x, (size,) + (1,) * (rank - 1))


def _select_per_example(pred, on_true, on_false, size: int) -> list:
    return [ew.select(_front_batched_shape(pred, size, np.ndim(t)), t, f)
            for t, f in zip(on_true, on_false)]


# ------------------------------------------------------------------------------------ cond

cond_p = Primitive("cond", "special", multiple_results=True)


def _cond_impl(pred, *operands, true_branch, false_branch):
    return evaluate(true_branch if pred else false_branch, operands)


def _cond_shape(pred, *operands, true_branch, false_branch):
    if pred.shape != () or pred.dtype != np.bool_:
        raise ShapeError(f"the predicate must be a bool scalar, got {pred.short()}")
    for name, branch in (("true", true_branch), ("false", false_branch)):
        if list(operands) != branch.in_avals:
            raise ShapeError(f"the operands {[a.short() for a in operands]} do not fit the "
                             f"{name} branch's inputs {[a.short() for a in branch.in_avals]}")
    if true_branch.out_avals != false_branch.out_avals:
        raise ShapeError("the branches' outputs differ: "
                         f"{[a.short() for a in true_branch.out_avals]} and "
                         f"{[a.short() for a in false_branch.out_avals]}")
    return true_branch.out_avals


def bind_cond(pred, programs, consts, operands) -> list:
    (true_branch, false_branch), shared = share_constants(list(zip(programs, consts)))
    return cond_p.bind(pred, *shared, *operands, true_branch=true_branch,
                       false_branch=false_branch)


def _cond_jvp(primals, tangents, *, true_branch, false_branch):
    pred, operands, operand_tangents = primals[0], primals[1:], tangents[1:]
    nonzero = [t is not None for t in operand_tangents]
    programs = [_jvp_program(b, nonzero) for b in (true_branch, false_branch)]
    outs = bind_cond(pred, [p for p, _ in programs], [c for _, c in programs],
                     list(operands) + _kept(operand_tangents, nonzero))
    num_out = len(true_branch.outvars)
    return outs[:num_out], _expanded(outs[num_out:], _floats(true_branch.out_avals))


def _backward_branch(branch: IR, wanted) -> tuple[IR, list]:
    """``(*operands, *output cotangents) -> cotangents of the wanted operands``: the branch
    re-evaluated forward, then pulled back (``linearize``), in one program."""
    from ..transforms.vjp import linearize
    floating = _floats(branch.out_avals)
    num_in = len(branch.invars)

    def flat(*args):
        operands, cts = args[:num_in], _expanded(args[num_in:], floating)
        _, backward = linearize(branch, operands, wanted)
        in_cts, _ = backward(cts)
        return _instantiate(_kept(in_cts, wanted), _kept(operands, wanted))

    # The branch ran (and printed) in the forward pass: its recomputation here only computes.
    program, consts = trace_program(flat, branch.in_avals + _kept(branch.out_avals, floating))
    return drop_effects(program), consts


def _cond_vjp(needs, g, ans, pred, *operands, true_branch, false_branch):
    wanted = [need and is_differentiable(a.dtype)
              for need, a in zip(needs[1:], true_branch.in_avals)]
    if not any(wanted):
        return (None,) * len(needs)
    programs = [_backward_branch(b, wanted) for b in (true_branch, false_branch)]
    cts = bind_cond(pred, [p for p, _ in programs], [c for _, c in programs],
                    list(operands) + _kept(g, _floats(true_branch.out_avals)))
    return (None, *_expanded(cts, wanted))


def _zeros_program(out_avals, in_avals) -> tuple[IR, list]:
    return trace_program(lambda *args: [ew.zeros_like(a) for a in out_avals], in_avals)


def _cond_batch(args, dims, *, true_branch, false_branch):
    (pred, *operands), (pred_dim, *operand_dims) = args, dims
    size = st.batch_size(args, dims)
    avals = [value_aval(x) for x in operands]
    branches = (true_branch, false_branch)
    if pred_dim is None:
        # One branch for the whole batch; an output is batched if it is in either branch.
        programs = [_batched_program(b, avals, operand_dims, size) for b in branches]
        batched = [any(flags) for flags in zip(*[p[2] for p in programs])]
        programs = [p if p[2] == batched else _batched_program(b, avals, operand_dims, size,
                                                               batched)
                    for p, b in zip(programs, branches)]
        outs = bind_cond(pred, [p[0] for p in programs], [p[1] for p in programs], operands)
        return outs, [0 if b else None for b in batched]
    # Each example keeps the result of its own branch; a branch that no example takes is
    # skipped (a cond on "some example takes it"), so both run only for a mixed batch.
    pred = st.batch_to_front(pred, pred_dim)
    every = [True] * len(true_branch.outvars)
    on_true, on_false = [_batched_program(b, avals, operand_dims, size, every)
                         for b in branches]
    zeros = _zeros_program(on_true[0].out_avals, avals)
    some_true = red.reduce_or(pred, (0,))
    some_false = ew.logical_not(red.reduce_and(pred, (0,)))
    on_true = bind_cond(some_true, [on_true[0], zeros[0]], [on_true[1], zeros[1]], operands)
    on_false = bind_cond(some_false, [on_false[0], zeros[0]], [on_false[1], zeros[1]],
                         operands)
    outs = _select_per_example(pred, on_true, on_false, size)
    return outs, [0] * len(outs)


def _cond_taylor(primals, series, *, true_branch, false_branch):
    pred, operands, order = primals[0], primals[1:], len(series[0])
    has = _has_series(series[1:])
    programs = [_jet_program(b, has, order) for b in (true_branch, false_branch)]
    outs = bind_cond(pred, [p for p, _ in programs], [c for _, c in programs],
                     list(operands) + _flat_series(operands, series[1:], has))
    num_out = len(true_branch.outvars)
    return outs[:num_out], _unflat_series(outs[num_out:], _floats(true_branch.out_avals), order)


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_shape
cond_p.jvp = _cond_jvp
cond_p.vjp = _cond_vjp
cond_p.batch = _cond_batch
cond_p.taylor = _cond_taylor


# ------------------------------------------------------------------------------------ scan

scan_p = Primitive("scan", "special", multiple_results=True)


def _scan_impl(*args, body, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split(args, (num_consts, num_carry))
    y_avals = body.out_avals[num_carry:]
    if length and _recording():
        # Eager reverse mode will pull back through this scan: keep the steps' residuals.
        recorder = _Recorder(body, num_consts, num_carry)
        with _keeping_tape():
            carry, ys, tape, last_args = _record_scan(recorder, consts, carry, xs, length,
                                                      reverse)
        outs = list(carry) + [_stacked([y[k] for y in ys], a) for k, a in enumerate(y_avals)]
        _keep_tape(outs, args, body, tape, 0 if reverse else length - 1, last_args, recorder)
        return outs
    steps = range(length - 1, -1, -1) if reverse else range(length)
    ys = [None] * length
    run = evaluator(body)
    for i in steps:
        outs = run(consts + carry + [x[i] for x in xs])
        carry, ys[i] = outs[:num_carry], outs[num_carry:]
    return list(carry) + [_stacked([y[k] for y in ys], a) for k, a in enumerate(y_avals)]


def _scan_shape(*avals, body, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split(avals, (num_consts, num_carry))
    x_avals = [ShapedArray(a.shape[1:], a.dtype) for a in xs]
    if any(a.shape[:1] != (length,) for a in xs):
        raise ShapeError(f"every xs must have leading axis {length}, got "
                         f"{[a.short() for a in xs]}")
    if consts + carry + x_avals != body.in_avals:
        raise ShapeError(f"the operands {[a.short() for a in consts + carry + x_avals]} do "
                         f"not fit the body's inputs {[a.short() for a in body.in_avals]}")
    out_carry, ys = _split(body.out_avals, (num_carry,))[:2]
    if out_carry != carry:
        raise ShapeError(f"the body turns the carry {[a.short() for a in carry]} into "
                         f"{[a.short() for a in out_carry]}")
    return carry + [ShapedArray((length,) + a.shape, a.dtype) for a in ys]


def bind_scan(body, body_consts, consts, init, xs, *, length, reverse) -> list:
    """``scan_p`` on a program from ``trace_program`` whose inputs are
    ``(*body_consts, *consts, *carry, *x)``."""
    return scan_p.bind(*body_consts, *consts, *init, *xs, body=body,
                       num_consts=len(body_consts) + len(consts), num_carry=len(init),
                       length=length, reverse=reverse)


def _scan_jvp(primals, tangents, *, body, num_consts, num_carry, length, reverse):
    sizes = (num_consts, num_carry)
    consts, init, xs = _split(primals, sizes)
    const_tangents, init_tangents, x_tangents = _split(tangents, sizes)
    carry_floats = _floats(body.in_avals[num_consts:num_consts + num_carry])
    const_nonzero = [t is not None for t in const_tangents]
    x_nonzero = [t is not None for t in x_tangents]
    # Every floating carry carries a tangent: one that starts at zero may not stay zero.
    program, program_consts = _jvp_program(body, const_nonzero + carry_floats + x_nonzero)
    num_ys = len(body.outvars) - num_carry
    y_floats = _floats(body.out_avals[num_carry:])
    program = _regroup(program, len(program_consts), (num_consts, num_carry, len(xs)),
                       (sum(const_nonzero), sum(carry_floats), sum(x_nonzero)),
                       (num_carry, num_ys), (sum(carry_floats), sum(y_floats)))
    init_tangents = _instantiate(_kept(init_tangents, carry_floats), _kept(init, carry_floats))
    outs = bind_scan(program, program_consts, consts + _kept(const_tangents, const_nonzero),
                     init + init_tangents, xs + _kept(x_tangents, x_nonzero),
                     length=length, reverse=reverse)
    carry, carry_tangents, ys, y_tangents = _split(
        outs, (num_carry, sum(carry_floats), num_ys))[:4]
    return carry + ys, (_expanded(carry_tangents, carry_floats)
                        + _expanded(y_tangents, y_floats))


def _backward_step(body, num_consts, num_carry, const_wanted, x_wanted) -> tuple[IR, list]:
    """One step of the reverse scan: ``(*consts, *const_ct_sums, *carry_cts, *carry, *x,
    *y_cts) -> (*const_ct_sums, *carry_cts, *x_cts)``. It recomputes the step's body from the
    stored carry and pulls the cotangents back through it; the constants' cotangents are summed
    over the steps in the carry."""
    from ..transforms.vjp import linearize
    const_avals, carry_avals, x_avals = _split(body.in_avals, (num_consts, num_carry))
    carry_floats = _floats(carry_avals)
    y_floats = _floats(body.out_avals[num_carry:])
    wanted = const_wanted + carry_floats + x_wanted
    sizes = (num_consts, sum(const_wanted), sum(carry_floats), num_carry, len(x_avals))

    def step(*args):
        consts, sums, carry_cts, carry, x, y_cts = _split(args, sizes)
        primals = consts + carry + x
        _, backward = linearize(body, primals, wanted)
        in_cts, _ = backward(_expanded(carry_cts, carry_floats) + _expanded(y_cts, y_floats))
        const_cts, carry_cts, x_cts = _split(in_cts, (num_consts, num_carry))
        sums = [s if c is None else ew.add(s, c)
                for s, c in zip(sums, _kept(const_cts, const_wanted))]
        return (sums + _instantiate(_kept(carry_cts, carry_floats), _kept(carry, carry_floats))
                + _instantiate(_kept(x_cts, x_wanted), _kept(x, x_wanted)))

    return trace_program(step, const_avals + _kept(const_avals, const_wanted)
                         + _kept(carry_avals, carry_floats) + carry_avals + x_avals
                         + _kept(body.out_avals[num_carry:], y_floats))


def _scan_vjp(needs, g, ans, *args, body, num_consts, num_carry, length, reverse):
    sizes = (num_consts, num_carry)
    consts, init, xs = _split(args, sizes)
    const_needs, init_needs, x_needs = _split(needs, sizes)
    const_avals, carry_avals, x_avals = _split(body.in_avals, sizes)
    const_wanted = [n and f for n, f in zip(const_needs, _floats(const_avals))]
    x_wanted = [n and f for n, f in zip(x_needs, _floats(x_avals))]
    carry_floats = _floats(carry_avals)
    step, step_consts = _backward_step(body, num_consts, num_carry, const_wanted, x_wanted)
    forward, backward = _split_step(step, len(step_consts), body, num_consts, num_carry,
                                    sum(const_wanted), sum(carry_floats))
    # The forward scan stores what the backward steps read of each step's forward values
    # (the residuals); under jit it merges with the scan that computed the value.
    # The forward scan ran (and printed) already: this one recomputes, effects left out.
    forward = drop_effects(forward)
    residuals = scan_p.bind(*consts, *init, *xs, body=forward, num_consts=num_consts,
                            num_carry=num_carry, length=length, reverse=reverse)[num_carry:]
    carry_cts, y_cts = _split(g, (num_carry,))[:2]
    sums = [ew.zeros_like(c) for c in _kept(consts, const_wanted)]
    outs = bind_scan(backward, step_consts, consts, sums + _kept(carry_cts, carry_floats),
                     residuals + xs + _kept(y_cts, _floats(body.out_avals[num_carry:])),
                     length=length, reverse=not reverse)
    const_cts, init_cts, x_cts = _split(outs, (sum(const_wanted), sum(carry_floats)))
    init_cts = [ct if need else None
                for ct, need in zip(_expanded(init_cts, carry_floats), init_needs)]
    return (_expanded(const_cts, const_wanted) + init_cts + _expanded(x_cts, x_wanted))


def _split_step(step: IR, num_step_consts, body: IR, num_consts, num_carry, num_sums,
                num_carry_cts) -> tuple[IR, IR]:
    """The backward step cut into what depends on the forward values only and the rest.

    ``step`` takes ``(*step_consts, *consts, *sums, *carry_cts, *carry, *x, *y_cts)`` and
    recomputes the body's forward values before pulling the cotangents back. Returns
    ``forward``, the body that also outputs, as ys, the forward values the rest reads (the
    residuals; it takes the body's inputs, and is the body itself plus whatever the
    recomputation adds after common subexpressions are merged), and ``backward``, the rest,
    taking ``(*step_consts, *consts, *sums, *carry_cts, *residuals, *x, *y_cts)``.
    """
    num_x = len(body.invars) - num_consts - num_carry
    step_consts, consts, sums, carry_cts, carry, x, y_cts = _split(
        step.invars, (num_step_consts, num_consts, num_sums, num_carry_cts, num_carry, num_x))
    # Forward values: computed from the constants, the carry and x alone. (Equations that
    # read the step's own constants are recomputed: the forward scan does not take them.)
    primal = set(consts + carry + x)
    forward_eqns, backward_eqns = [], []
    for eqn in step.eqns:
        if all(type(a) is not Var or a in primal for a in eqn.inputs):
            forward_eqns.append(eqn)
            primal.update(eqn.outputs)
        else:
            backward_eqns.append(eqn)
    read = [a for e in backward_eqns for a in e.inputs] + list(step.outvars)
    plain_inputs = set(consts + x)   # the backward scan has these without storing them
    residuals = list(dict.fromkeys(a for a in read if type(a) is Var and a in primal
                                   and a not in plain_inputs))
    # The forward part on the body's own inputs, then merged with the body's equations.
    rename = dict(zip(consts + carry + x, body.invars))
    renamed = [Eqn(e.primitive, [rename.get(a, a) if type(a) is Var else a for a in e.inputs],
                   e.outputs, e.params) for e in forward_eqns]
    forward = IR([], [], body.invars, body.eqns + renamed,
                 body.outvars[:num_carry] + [rename.get(v, v) for v in residuals])
    forward = dead_code_elimination(common_subexpression_elimination(forward))
    backward = IR([], [], step_consts + consts + sums + carry_cts + residuals + x + y_cts,
                  backward_eqns, step.outvars)
    return forward, dead_code_elimination(backward)


# ---------------------------------------------------- eager reverse mode of scan and while
# Under ``grad`` of concrete values (no ``jit``) a loop's reverse rule runs on arrays. The
# traced rule above recomputes each step's forward values inside its backward step and so
# runs the forward scan a second time, for its residuals. ``eager_vjp`` instead has the
# forward values of every step at hand (the impl kept them, or one recording run gets them)
# and traces the backward step as a function of them: no forward equation is in it, and no
# split of the step is needed. The step program is traced once per loop and run once per
# step, as the traced rule's is.


def _gradient_needs(body: IR, wanted) -> list:
    """``linearize``'s analysis of ``body`` for the inputs marked ``wanted``: per equation,
    whether some input of it wants a cotangent (its reverse rule then runs)."""
    from ..transforms.vjp import _forward
    plan = _forward(body, None, wanted, False, env={})[2]   # (env given: nothing evaluated)
    return [input_needs is not None for input_needs in plan]


class _Recorder:
    """The body of a loop run forward one step at a time, giving after its outputs the
    step's residuals: its carry, its outputs and the operands and results of every equation
    whose reverse rule may run when any floating input is differentiated (not the constants
    or the x, which the backward steps have already). ``run`` runs it as the loop's impl
    does, and ``rerun`` (its effects left out) for a step that has run (and printed)
    before."""

    def __init__(self, body: IR, num_consts: int, num_carry: int):
        runs = _gradient_needs(body, _floats(body.in_avals))
        given = set(body.invars[:num_consts] + body.invars[num_consts + num_carry:])
        read = body.invars[num_consts:num_consts + num_carry] + [
            v for eqn, pulled in zip(body.eqns, runs) if pulled
            for v in list(eqn.inputs) + list(eqn.outputs) if type(v) is Var] + [
            v for v in body.outvars if type(v) is Var]   # ``linearize`` reads the outputs
        self.residuals = [v for v in dict.fromkeys(read) if v not in given]
        self.program = _merged(IR([], [], body.invars, body.eqns,
                                  list(body.outvars) + self.residuals))
        self.num_out = len(body.outvars)
        self._run = self._rerun = None

    @property
    def run(self):
        if self._run is None:
            self._run = evaluator(self.program)
        return self._run

    @property
    def rerun(self):
        if self._rerun is None:
            quiet = drop_effects(self.program)
            self._rerun = self.run if quiet is self.program else evaluator(quiet)
        return self._rerun


def _merged(program: IR) -> IR:
    """``program`` with repeated equations computed once (``common_subexpression_elimination``:
    the same numbers), for a program run once per step; one with effects as it is (two equal
    prints are two prints)."""
    if any(has_effect(eqn) for eqn in program.eqns):
        return program
    return common_subexpression_elimination(program)


def _loop_evaluator(program: IR, invariant_values):
    """``evaluator`` for a step program whose first inputs have the same values at every step
    (``invariant_values``: the loop's constants): the equations that read only those and
    literals (a zero cotangent's broadcast, say) run once, here, and ``run(other_inputs)``
    runs the rest."""
    num_invariant = len(invariant_values)
    fixed = set(program.invars[:num_invariant])
    once, per_step = [], []
    for eqn in program.eqns:
        if not has_effect(eqn) and all(type(a) is not Var or a in fixed for a in eqn.inputs):
            once.append(eqn)
            fixed.update(eqn.outputs)
        else:
            per_step.append(eqn)
    read = [a for eqn in per_step for a in eqn.inputs] + list(program.outvars)
    needed = list(dict.fromkeys(a for a in read if type(a) is Var and a in fixed))
    values = evaluate(IR([], [], program.invars[:num_invariant], once, needed),
                      list(invariant_values))
    return evaluator(IR(needed, values, program.invars[num_invariant:], per_step,
                        program.outvars))


def _stored_backward_step(body: IR, num_consts: int, num_carry: int, const_wanted, x_wanted,
                          residuals) -> tuple[IR, list]:
    """``_backward_step`` reading the step's forward values instead of recomputing them:
    ``(*consts, *const_ct_sums, *carry_cts, *residuals, *x, *y_cts) -> (*const_ct_sums,
    *carry_cts, *x_cts)``, ``residuals`` a ``_Recorder``'s. ``linearize`` on those values
    (its ``env``) records only the pullback, the traced rule's backward equations."""
    from ..transforms.vjp import linearize
    const_vars, carry_vars, x_vars = _split(body.invars, (num_consts, num_carry))
    const_avals, carry_avals, x_avals = _split(body.in_avals, (num_consts, num_carry))
    carry_floats = _floats(carry_avals)
    y_floats = _floats(body.out_avals[num_carry:])
    wanted = const_wanted + carry_floats + x_wanted
    sizes = (num_consts, sum(const_wanted), sum(carry_floats), len(residuals), len(x_vars))

    def step(*args):
        consts, sums, carry_cts, values, x, y_cts = _split(args, sizes)
        env = dict(zip(residuals, values))
        env.update(zip(const_vars, consts))
        env.update(zip(x_vars, x))
        primals = [env[v] for v in body.invars]
        _, backward = linearize(body, primals, wanted, env=env)
        in_cts, _ = backward(_expanded(carry_cts, carry_floats) + _expanded(y_cts, y_floats))
        const_cts, carry_cts, x_cts = _split(in_cts, (num_consts, num_carry))
        sums = [s if c is None else ew.add(s, c)
                for s, c in zip(sums, _kept(const_cts, const_wanted))]
        carry = primals[num_consts:num_consts + num_carry]
        return (sums + _instantiate(_kept(carry_cts, carry_floats), _kept(carry, carry_floats))
                + _instantiate(_kept(x_cts, x_wanted), _kept(x, x_wanted)))

    program, consts = trace_program(step, const_avals + _kept(const_avals, const_wanted)
                                    + _kept(carry_avals, carry_floats)
                                    + [v.aval for v in residuals] + x_avals
                                    + _kept(body.out_avals[num_carry:], y_floats))
    return _merged(program), consts


def _record_scan(recorder: _Recorder, consts, init, xs, length: int, reverse: bool,
                 quiet: bool = False):
    """Run the scan forward: ``(final carry, ys per step, residuals per step, the last step's
    inputs)``, the lists indexed by the position in ``xs``."""
    steps = range(length - 1, -1, -1) if reverse else range(length)
    num_carry, num_out = len(init), recorder.num_out
    run, carry = recorder.rerun if quiet else recorder.run, list(init)
    ys, tape, step_args = [None] * length, [None] * length, None
    for i in steps:
        step_args = consts + carry + [x[i] for x in xs]
        outs = run(step_args)
        carry, ys[i], tape[i] = outs[:num_carry], outs[num_carry:num_out], outs[num_out:]
    return carry, ys, tape, step_args


# Tapes: the residuals that a loop's impl kept, under eager reverse mode, for its
# ``eager_vjp``, which finds them again by the loop's outputs (its ``ans``) and operands, so
# that the forward steps run once. A tape lives as long as the output array it is filed
# under (``weakref.finalize``), and holds nothing that keeps that array alive: the last
# step's residuals would hold the final carry, so the tape keeps that step's inputs instead
# and ``eager_vjp`` recomputes it.
_tapes: dict[int, tuple] = {}


class _RecordingState(threading.local):
    """Whether this thread is running the steps of a loop whose impl keeps a tape."""

    def __init__(self):
        self.busy = False


_recording_state = _RecordingState()


def _recording() -> bool:
    """Whether a loop's impl runs for a trace that evaluates what it records (``grad``,
    ``vjp`` of concrete values: ``trace_evaluating``), whose backward pass will run the loop's
    ``eager_vjp`` on these operands. Not for a loop inside another's body: the outer loop's
    backward step differentiates it with the traced rule, which reads no tape."""
    return not _recording_state.busy and tracing() and innermost_trace().values is not None


@contextlib.contextmanager
def _keeping_tape():
    """While the steps of a loop that keeps a tape run (``_recording`` is then false)."""
    _recording_state.busy = True
    try:
        yield
    finally:
        _recording_state.busy = False


def _keep_tape(outs, args, body: IR, tape, last: int, last_args, recorder: _Recorder):
    """File ``tape`` (residuals per step, ``last`` the last step's position) under an output
    array that the last step made (none of the tape's values, nor ``args``, is it or a view
    of it), if there is one."""
    key = next((o for o in outs if type(o) is np.ndarray and o.ndim and o.base is None
                and not any(o is a for a in last_args)), None)
    if key is None:
        return
    tape[last] = None
    ident = id(key)
    filed = ident in _tapes
    _tapes[ident] = (weakref.ref(key), args, body, tape, last, last_args, recorder)
    if not filed:
        weakref.finalize(key, _tapes.pop, ident, None)


def _kept_tape(ans, args, body: IR):
    """The residuals per step that the impl of the loop of ``body`` that gave ``ans`` on
    ``args`` kept (``_keep_tape``), with the last step's recomputed; or None."""
    for out in ans:
        entry = _tapes.get(id(out)) if type(out) is np.ndarray else None
        if (entry is not None and entry[0]() is out and entry[2] is body
                and len(entry[1]) == len(args) and all(a is b for a, b in zip(entry[1], args))):
            _, _, _, tape, last, last_args, recorder = entry
            tape = list(tape)
            tape[last] = recorder.rerun(last_args)[recorder.num_out:]
            return tape, recorder.residuals
    return None


def _stacked(values, aval: ShapedArray):
    """One value per step stacked along a new leading axis, as ``_scan_impl`` stacks ys."""
    if not values:
        return np.zeros((0,) + aval.shape, aval.dtype)
    return np.stack([np.asarray(v) for v in values]).astype(aval.dtype, copy=False)


def _structure(body: IR):
    """``body`` up to the names of its variables, as a hashable key (its avals, equations,
    parameters and literals, and their wiring), with the number of each variable in it; the
    key is None where a parameter is not hashable. Structurally equal bodies (one function's,
    traced again at every call) have equal keys and the same backward step."""
    number = {v: k for k, v in enumerate(body.invars)}

    def ref(atom):
        if type(atom) is Literal:
            value = np.asarray(atom.val)
            return ("literal", value.dtype.str, value.tobytes())
        return number[atom]

    eqns = []
    for eqn in body.eqns:
        if any(isinstance(v, IR) or (isinstance(v, (tuple, list)) and any(
                isinstance(x, IR) for x in v)) for v in eqn.params.values()):
            # A sub-program (an inner loop's body) is traced anew with its loop: equal only to
            # itself, its key would never be met again.
            return None, number
        inputs = tuple(ref(a) for a in eqn.inputs)
        for v in eqn.outputs:
            number[v] = len(number)
        eqns.append((eqn.primitive, tuple(sorted(eqn.params.items())), inputs,
                     tuple(v.aval for v in eqn.outputs)))
    key = (tuple(v.aval for v in body.invars), tuple(eqns), tuple(ref(a) for a in body.outvars))
    try:
        hash(key)
    except TypeError:
        return None, number
    return key, number


_backward_steps: dict = {}   # ``_stored_backward_step``'s programs by the body's structure
_MAX_BACKWARD_STEPS = 64


def _cached_backward_step(body: IR, num_consts: int, num_carry: int, const_wanted, x_wanted,
                          residuals) -> tuple[IR, list]:
    """``_stored_backward_step``, traced once for all structurally equal bodies: an eager
    ``grad`` traces the user's loop body anew at every call, and tracing its backward step
    costs as much as several steps."""
    structure, number = _structure(body)
    if structure is None:
        return _stored_backward_step(body, num_consts, num_carry, const_wanted, x_wanted,
                                     residuals)
    key = (structure, num_consts, num_carry, tuple(const_wanted), tuple(x_wanted),
           tuple(number[v] for v in residuals))
    found = _backward_steps.get(key)
    if found is None:
        if len(_backward_steps) >= _MAX_BACKWARD_STEPS:
            _backward_steps.clear()
        found = _backward_steps.setdefault(key, _stored_backward_step(
            body, num_consts, num_carry, const_wanted, x_wanted, residuals))
    return found


def _loop_pullback(needs, g, consts, xs, tape, residuals, body, num_carry, reverse) -> list:
    """The cotangents of ``(*consts, *init, *xs)`` of a scan of ``body`` that ran forward
    keeping ``tape`` (per position in ``xs``, the values of ``residuals``): ``_scan_vjp``'s
    numbers, from the same backward equations run in the same order."""
    num_consts, length = len(consts), len(tape)
    const_needs, init_needs, x_needs = _split(needs, (num_consts, num_carry))
    const_avals, carry_avals, x_avals = _split(body.in_avals, (num_consts, num_carry))
    const_wanted = [n and f for n, f in zip(const_needs, _floats(const_avals))]
    x_wanted = [n and f for n, f in zip(x_needs, _floats(x_avals))]
    carry_floats = _floats(carry_avals)
    program, program_consts = _cached_backward_step(body, num_consts, num_carry, const_wanted,
                                                    x_wanted, residuals)
    run = _loop_evaluator(program, list(program_consts) + list(consts))
    # (NumPy's zeros, not ``ew.zeros_like``: under an enclosing trace that would record.)
    sums = [np.zeros(np.shape(c), np.result_type(c)) for c in _kept(consts, const_wanted)]
    carry_cts = _kept(g[:num_carry], carry_floats)
    y_cts = _kept(g[num_carry:], _floats(body.out_avals[num_carry:]))
    num_sums, num_carry_cts = len(sums), len(carry_cts)
    x_cts = [[None] * length for _ in range(sum(x_wanted))]
    for i in (range(length) if reverse else range(length - 1, -1, -1)):
        outs = run(sums + carry_cts + tape[i] + [x[i] for x in xs] + [y[i] for y in y_cts])
        sums, carry_cts = outs[:num_sums], outs[num_sums:num_sums + num_carry_cts]
        for per_step, ct in zip(x_cts, outs[num_sums + num_carry_cts:]):
            per_step[i] = ct
    init_cts = [ct if need else None
                for ct, need in zip(_expanded(carry_cts, carry_floats), init_needs)]
    x_cts = [_stacked(per_step, a) for per_step, a in zip(x_cts, _kept(x_avals, x_wanted))]
    return _expanded(sums, const_wanted) + init_cts + _expanded(x_cts, x_wanted)


def _scan_eager_vjp(needs, g, ans, *args, body, num_consts, num_carry, length, reverse):
    consts, init, xs = _split(args, (num_consts, num_carry))
    kept = _kept_tape(ans, args, body)
    if kept is None:   # run forward again (the impl ran outside eager reverse mode)
        recorder = _Recorder(body, num_consts, num_carry)
        kept = _record_scan(recorder, consts, init, xs, length, reverse, quiet=True)[2], \
            recorder.residuals
    tape, residuals = kept
    return _loop_pullback(needs, g, consts, xs, tape, residuals, body, num_carry, reverse)


def _scan_batch(args, dims, *, body, num_consts, num_carry, length, reverse):
    sizes = (num_consts, num_carry)
    size = st.batch_size(args, dims)
    consts, init, xs = _split(args, sizes)
    const_dims, init_dims, x_dims = _split(dims, sizes)
    _, carry_avals, x_avals = _split(body.in_avals, sizes)
    num_ys = len(body.outvars) - num_carry
    # A batched xs has its batch axis moved to 1, so that each step's slice has it at 0.
    xs = [x if d is None or d == 1 else st.moveaxis(x, d, 1) for x, d in zip(xs, x_dims)]
    x_avals, x_step_dims = _batched_avals(x_avals, [d is not None for d in x_dims], size)
    # A carry is batched if it starts batched or some step makes it so: widen to a fixed point.
    carry_batched = [d is not None for d in init_dims]
    while True:
        step_carry_avals, carry_dims = _batched_avals(carry_avals, carry_batched, size)
        program, program_consts, out_batched = _batched_program(
            body, [value_aval(c) for c in consts] + step_carry_avals + x_avals,
            const_dims + carry_dims + x_step_dims, size, carry_batched + [False] * num_ys)
        if out_batched[:num_carry] == carry_batched:
            break
        carry_batched = out_batched[:num_carry]
    init = [st.batched_at_front(c, d, size) if b else c
            for c, d, b in zip(init, init_dims, carry_batched)]
    outs = bind_scan(program, program_consts, consts, init, xs, length=length,
                     reverse=reverse)
    return outs, carry_dims + [1 if b else None for b in out_batched[num_carry:]]


def merge_scans(ir: IR) -> IR:
    """``ir`` with each pair of scans over the same operands that give the same carry made one
    scan that gives the outputs of both.

    Reverse mode makes such pairs: ``scan``'s VJP rule runs the body again to store what its
    backward steps read (``_split_step``), beside the forward scan that computed the value.
    Under ``jit`` both are in one program, and the merged scan runs the body once.
    """
    eqns, rename, seen = list(ir.eqns), {}, {}
    for k, eqn in enumerate(eqns):
        if eqn is None or eqn.primitive is not scan_p or not all(
                type(a) is Var for a in eqn.inputs):
            continue
        params = eqn.params
        key = (tuple(rename.get(a, a) for a in eqn.inputs), params["num_consts"],
               params["num_carry"], params["length"], params["reverse"])
        first = seen.get(key)
        if first is None:
            seen[key] = k
            continue
        earlier, body = eqns[first], params["body"]
        merged_body = _merged_body(earlier.params["body"], body, params["num_carry"])
        if merged_body is None:
            continue
        num_carry = params["num_carry"]
        rename.update(zip(eqn.outputs[:num_carry], earlier.outputs[:num_carry]))
        eqns[first] = Eqn(scan_p, earlier.inputs, earlier.outputs + eqn.outputs[num_carry:],
                          dict(earlier.params, body=merged_body))
        eqns[k] = None
    if not rename and all(e is not None for e in eqns):
        return ir
    out = []
    for eqn in eqns:
        if eqn is not None:
            inputs = [rename.get(a, a) if type(a) is Var else a for a in eqn.inputs]
            out.append(eqn if inputs == eqn.inputs else
                       Eqn(eqn.primitive, inputs, eqn.outputs, eqn.params))
    return IR(ir.constvars, ir.consts, ir.invars, out,
              [rename.get(a, a) if type(a) is Var else a for a in ir.outvars])


def _merged_body(first: IR, second: IR, num_carry: int) -> IR | None:
    """One body giving ``first``'s outputs then ``second``'s ys, where the two take the same
    inputs and give the same new carry (else None): ``first``'s equations, then those of
    ``second`` that define what ``first`` lacks, in their order."""
    if first.invars != second.invars or first.outvars[:num_carry] != second.outvars[:num_carry]:
        return None
    # An equation defining a variable ``first`` defines computes the same value (the same
    # equation, or a copy whose inputs common-subexpression elimination renamed).
    defined = {v for e in first.eqns for v in e.outputs}
    eqns = first.eqns + [e for e in second.eqns if not defined.intersection(e.outputs)]
    return IR([], [], first.invars, eqns, first.outvars + second.outvars[num_carry:])


def _scan_taylor(primals, series, *, body, num_consts, num_carry, length, reverse):
    # As the JVP: every floating carry carries a series (one that starts at zero may not
    # stay zero); the coefficients of xs and ys are stacked over the steps like them.
    order, sizes = len(series[0]), (num_consts, num_carry)
    consts, init, xs = _split(primals, sizes)
    const_series, init_series, x_series = _split(series, sizes)
    carry_floats = _floats(body.in_avals[num_consts:num_consts + num_carry])
    const_has, x_has = _has_series(const_series), _has_series(x_series)
    program, program_consts = _jet_program(body, const_has + carry_floats + x_has, order)
    num_ys = len(body.outvars) - num_carry
    y_floats = _floats(body.out_avals[num_carry:])
    program = _regroup(program, len(program_consts), (num_consts, num_carry, len(xs)),
                       [order * sum(m) for m in (const_has, carry_floats, x_has)],
                       (num_carry, num_ys), [order * sum(m) for m in (carry_floats, y_floats)])
    outs = bind_scan(program, program_consts,
                     consts + _flat_series(consts, const_series, const_has),
                     init + _flat_series(init, init_series, carry_floats),
                     xs + _flat_series(xs, x_series, x_has), length=length, reverse=reverse)
    carry, carry_series, ys, y_series = _split(
        outs, (num_carry, order * sum(carry_floats), num_ys))[:4]
    return carry + ys, (_unflat_series(carry_series, carry_floats, order)
                        + _unflat_series(y_series, y_floats, order))


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_shape
scan_p.jvp = _scan_jvp
scan_p.vjp = _scan_vjp
scan_p.eager_vjp = _scan_eager_vjp
scan_p.batch = _scan_batch
scan_p.taylor = _scan_taylor


# ----------------------------------------------------------------------------------- while

while_p = Primitive("while", "special", multiple_results=True)


def _while_impl(*args, condition, body, num_condition_consts, num_body_consts):
    condition_consts, body_consts, carry = _split(args, (num_condition_consts,
                                                         num_body_consts))
    if _recording():
        # Eager reverse mode will pull back through this loop: keep the trips' residuals.
        recorder = _Recorder(body, num_body_consts, len(carry))
        with _keeping_tape():
            carry, tape, last_args = _record_while(recorder, condition, condition_consts,
                                                   body_consts, carry)
        if tape:
            _keep_tape(carry, args, body, tape, len(tape) - 1, last_args, recorder)
        return carry
    holds, step = evaluator(condition), evaluator(body)
    while holds(condition_consts + carry)[0]:
        carry = step(body_consts + carry)
    return list(carry)


def _while_shape(*avals, condition, body, num_condition_consts, num_body_consts):
    condition_consts, body_consts, carry = _split(avals, (num_condition_consts,
                                                          num_body_consts))
    if condition_consts + carry != condition.in_avals or body_consts + carry != body.in_avals:
        raise ShapeError(f"the operands {[a.short() for a in avals]} do not fit the "
                         f"condition's inputs {[a.short() for a in condition.in_avals]} and "
                         f"the body's {[a.short() for a in body.in_avals]}")
    if condition.out_avals != [ShapedArray((), np.bool_)]:
        raise ShapeError(f"the condition must give one bool scalar, not "
                         f"{[a.short() for a in condition.out_avals]}")
    if body.out_avals != carry:
        raise ShapeError(f"the body turns the carry {[a.short() for a in carry]} into "
                         f"{[a.short() for a in body.out_avals]}")
    return carry


def bind_while(condition, condition_consts, body, body_consts, init) -> list:
    return while_p.bind(*condition_consts, *body_consts, *init, condition=condition, body=body,
                        num_condition_consts=len(condition_consts),
                        num_body_consts=len(body_consts))


def _with_unused_inputs(ir: IR, avals) -> IR:
    """``ir`` taking extra trailing inputs that it ignores."""
    return IR([], [], ir.invars + [Var(a) for a in avals], ir.eqns, ir.outvars)


def _while_jvp(primals, tangents, *, condition, body, num_condition_consts, num_body_consts):
    sizes = (num_condition_consts, num_body_consts)
    condition_consts, body_consts, init = _split(primals, sizes)
    _, const_tangents, init_tangents = _split(tangents, sizes)
    carry_avals = body.out_avals
    carry_floats = _floats(carry_avals)
    const_nonzero = [t is not None for t in const_tangents]
    program, program_consts = _jvp_program(body, const_nonzero + carry_floats)
    program = _regroup(program, len(program_consts), (num_body_consts, len(init)),
                       (sum(const_nonzero), sum(carry_floats)), (len(init),),
                       (sum(carry_floats),))
    init_tangents = _instantiate(_kept(init_tangents, carry_floats), _kept(init, carry_floats))
    outs = bind_while(_with_unused_inputs(condition, _kept(carry_avals, carry_floats)),
                      condition_consts, program,
                      program_consts + body_consts + _kept(const_tangents, const_nonzero),
                      init + init_tangents)
    return outs[:len(init)], _expanded(outs[len(init):], carry_floats)


def _trip_count(values, condition, num_condition_consts, num_body_consts, body) -> int:
    """The number of iterations of the loop on these operands' numbers."""
    condition_consts, body_consts, carry = _split(values, (num_condition_consts,
                                                           num_body_consts))
    trips = 0
    holds, step = evaluator(condition), evaluator(body)
    while holds(condition_consts + carry)[0]:
        carry = step(body_consts + carry)
        trips += 1
    return trips


def _while_vjp(needs, g, ans, *args, condition, body, num_condition_consts,
               num_body_consts):
    """Reverse mode: the loop is run to count its iterations, and it is then a ``scan`` of the
    body over that many steps (whose reverse pass stores each step's residuals: memory grows
    linearly with the trip count). Under differentiation of concrete inputs (``grad`` without
    ``jit``) the operands have numbers now; elsewhere (``jit``, ``vmap``, another loop's body)
    the same is done when the program runs, by a ``host_call``."""
    params = dict(condition=condition, body=body, num_condition_consts=num_condition_consts,
                  num_body_consts=num_body_consts)
    values = [known_value(a) for a in args]
    if all(v is not _UNKNOWN for v in values):
        return _WhileBackward(needs, args, params).pullback(_trip_count(values, **params),
                                                            list(args) + list(g))
    from .custom import Rule
    from .host import host_call
    backward = _WhileBackward(needs, args, params)
    wanted = backward.wanted
    cts = host_call(Rule(backward, "vjp of while"), list(args) + list(g),
                    _kept([value_aval(a) for a in args], wanted))
    return _expanded(cts, wanted)


class _WhileBackward:
    """The pullback of one ``while`` equation, as a function of its operands and output
    cotangents: it counts the trips on the operands' numbers, then pulls back through a
    ``scan`` of that many steps, whose program is traced once per trip count."""

    _MAX_PROGRAMS = 16

    def __init__(self, needs, args, params):
        self.params = params
        num_condition_consts = params["num_condition_consts"]
        self.avals = [value_aval(a) for a in args]
        # The condition is not differentiated: its constants get no cotangent.
        self.wanted = [i >= num_condition_consts and need and is_differentiable(a.dtype)
                       for i, (need, a) in enumerate(zip(needs, self.avals))]
        self.programs: dict[int, IR] = {}

    def pullback(self, trips: int, values) -> list:
        """The cotangents (None where not wanted) of ``values = (*operands, *out_cts)``."""
        p = self.params
        num_condition_consts, num_args = p["num_condition_consts"], len(self.avals)
        operands, g = values[num_condition_consts:num_args], values[num_args:]
        cts = _scan_vjp(tuple(self.wanted[num_condition_consts:]), g, None, *operands,
                        body=p["body"], num_consts=p["num_body_consts"], num_carry=len(g),
                        length=trips, reverse=False)
        return [None] * num_condition_consts + list(cts)

    def __call__(self, *values) -> list:
        """The wanted cotangents, zeros included: ``host_call``'s function."""
        num_args = len(self.avals)
        numbers = [known_value(v) for v in values[:num_args]]
        trips = _trip_count(numbers, **self.params)
        program = self.programs.get(trips)
        if program is None:
            if len(self.programs) >= self._MAX_PROGRAMS:
                self.programs.clear()
            program = trace_to_ir(
                lambda *v: _instantiate(_kept(self.pullback(trips, v), self.wanted),
                                        _kept(v[:num_args], self.wanted)),
                self.avals + self.avals[num_args - len(self.params["body"].out_avals):])
            program = self.programs.setdefault(trips, program)
        return eval_ir(program, list(values))


def _record_while(recorder: _Recorder, condition: IR, condition_consts, body_consts, init,
                  quiet: bool = False):
    """Run the loop forward: ``(final carry, residuals per trip, the last trip's inputs)``."""
    holds = evaluator(drop_effects(condition) if quiet else condition)
    run, num_out = recorder.rerun if quiet else recorder.run, recorder.num_out
    carry, tape, step_args = list(init), [], None
    while holds(condition_consts + carry)[0]:
        step_args = body_consts + carry
        outs = run(step_args)
        carry = outs[:num_out]
        tape.append(outs[num_out:])
    return carry, tape, step_args


def _while_eager_vjp(needs, g, ans, *args, condition, body, num_condition_consts,
                     num_body_consts):
    """``_while_vjp`` on concrete operands: the loop runs once more, keeping each trip's
    residuals (which also counts the trips), and is pulled back as the scan of that many
    steps."""
    condition_consts, body_consts, init = _split(args, (num_condition_consts,
                                                        num_body_consts))
    kept = _kept_tape(ans, args, body)
    if kept is None:   # run forward again (the impl ran outside eager reverse mode)
        recorder = _Recorder(body, num_body_consts, len(init))
        kept = _record_while(recorder, condition, condition_consts, body_consts, init,
                             quiet=True)[1], recorder.residuals
    tape, residuals = kept
    cts = _loop_pullback(needs[num_condition_consts:], g, body_consts, [], tape, residuals,
                         body, len(init), False)
    return [None] * num_condition_consts + cts


def _while_batch(args, dims, *, condition, body, num_condition_consts, num_body_consts):
    sizes = (num_condition_consts, num_body_consts)
    size = st.batch_size(args, dims)
    condition_consts, body_consts, init = _split(args, sizes)
    condition_dims, body_dims, init_dims = _split(dims, sizes)
    condition_avals = [value_aval(c) for c in condition_consts]
    body_avals = [value_aval(c) for c in body_consts]
    carry_avals = body.out_avals
    # A carry is batched if it starts batched or some step makes it so; all are once the
    # predicate differs between examples (an example that has stopped keeps its carry).
    carry_batched = [d is not None for d in init_dims]
    while True:
        step_carry_avals, carry_dims = _batched_avals(carry_avals, carry_batched, size)
        new_condition, new_condition_consts, (pred_batched,) = _batched_program(
            condition, condition_avals + step_carry_avals, condition_dims + carry_dims, size)
        widened = [True] * len(init) if pred_batched else carry_batched
        if widened == carry_batched:
            new_body, new_body_consts, out_batched = _batched_program(
                body, body_avals + step_carry_avals, body_dims + carry_dims, size,
                carry_batched)
            widened = out_batched
        if widened == carry_batched:
            break
        carry_batched = widened
    init = [st.batched_at_front(c, d, size) if b else c
            for c, d, b in zip(init, init_dims, carry_batched)]
    extra_body_consts = []
    if pred_batched:
        new_condition, new_condition_consts, new_body, new_body_consts = _per_example_loop(
            condition, condition_avals, condition_dims, body, body_avals, body_dims,
            step_carry_avals, size)
        extra_body_consts = condition_consts
    outs = bind_while(new_condition, new_condition_consts + condition_consts, new_body,
                      new_body_consts + body_consts + extra_body_consts, init)
    return outs, carry_dims


def _per_example_loop(condition, condition_avals, condition_dims, body, body_avals, body_dims,
                      carry_avals, size: int):
    """A loop over fully batched carries whose predicate differs between examples: it runs
    while some example runs, and an example that has stopped keeps its carry. Returns the
    condition and body programs with their consts; the body takes the condition's constants
    too, after its own."""
    from ..transforms.vmap import batch_ir
    num_condition_consts, num_body_consts = len(condition_avals), len(body_avals)
    carry_dims = [0] * len(carry_avals)

    def running(condition_consts, carry):
        """Which examples still loop: a bool vector over the batch."""
        (pred,), (dim,) = batch_ir(condition, condition_consts + carry,
                                   condition_dims + carry_dims)
        return st.batched_at_front(pred, dim, size)

    def any_running(*args):
        return [red.reduce_or(running(list(args[:num_condition_consts]),
                                      list(args[num_condition_consts:])), (0,))]

    def step(*args):
        body_consts, condition_consts, carry = _split(args, (num_body_consts,
                                                             num_condition_consts))
        outs, out_dims = batch_ir(body, body_consts + carry, body_dims + carry_dims)
        new = [st.batched_at_front(o, d, size) for o, d in zip(outs, out_dims)]
        return _select_per_example(running(condition_consts, carry), new, carry, size)

    new_condition, new_condition_consts = trace_program(any_running,
                                                        condition_avals + carry_avals)
    new_body, new_body_consts = trace_program(step, body_avals + condition_avals + carry_avals)
    return new_condition, new_condition_consts, new_body, new_body_consts


def _while_taylor(primals, series, *, condition, body, num_condition_consts,
                  num_body_consts):
    # The condition reads the primal carry only: the loop runs as many trips as without
    # series, and the body carries every floating carry's series through each.
    order, sizes = len(series[0]), (num_condition_consts, num_body_consts)
    condition_consts, body_consts, init = _split(primals, sizes)
    _, const_series, init_series = _split(series, sizes)
    carry_avals = body.out_avals
    carry_floats = _floats(carry_avals)
    const_has = _has_series(const_series)
    program, program_consts = _jet_program(body, const_has + carry_floats, order)
    program = _regroup(program, len(program_consts), (num_body_consts, len(init)),
                       (order * sum(const_has), order * sum(carry_floats)), (len(init),),
                       (order * sum(carry_floats),))
    series_avals = [a for a, f in zip(carry_avals, carry_floats) if f for _ in range(order)]
    outs = bind_while(_with_unused_inputs(condition, series_avals), condition_consts, program,
                      program_consts + body_consts
                      + _flat_series(body_consts, const_series, const_has),
                      init + _flat_series(init, init_series, carry_floats))
    return outs[:len(init)], _unflat_series(outs[len(init):], carry_floats, order)


while_p.impl = _while_impl
while_p.abstract_eval = _while_shape
while_p.jvp = _while_jvp
while_p.vjp = _while_vjp
while_p.eager_vjp = _while_eager_vjp
while_p.batch = _while_batch
while_p.taylor = _while_taylor
