"""Moving work out of ``scan`` bodies, for ``jit``: per-step matrix products that can run as
one large product over all the steps.

Reverse mode makes scans whose carries include pure accumulators: the cotangent of a weight
matrix, ``acc <- acc + x_t^T d_t``, summed over the steps. Each step then makes a small
matrix product, where one product over all the steps at once (``X^T D`` with the step axis
contracted) runs BLAS at a far better rate. Likewise a step's ``x_t @ W`` reads only the
step's input and a constant: all the steps' inputs can be multiplied at once before the loop.

``hoist_out_of_scans`` rewrites each top-level scan that has such work:

- an *accumulator* carry (its only use is ``acc + c`` giving its own new value, with ``c``
  not depending on any accumulator) leaves the loop: the equations that only compute ``c``
  run after it, ``vmap``-ed over the steps on the values they read (stacked by the loop as
  extra outputs), and the sum over the steps is added to the initial value;
- the *head* (the equations reading only constants and ``xs``) runs before the loop,
  ``vmap``-ed over the steps, and the loop reads its results as extra ``xs`` (or constants,
  for what does not depend on ``xs``).

Each is done only where it moves a matrix product (an ``einsum``) out of the loop.
``fold_sums_into_products`` then makes ``sum over steps of einsum(...)`` one einsum that
contracts the step axis too. Sums are taken in another order than the loop's, so results
can differ from the loop's in the last bits.
"""
from __future__ import annotations

import numpy as np

from ..core.ir import IR, Eqn, Literal, Var, has_effect
from ..core.trace import trace_to_ir
from ..ops import elementwise as ew
from ..ops import reduction as rd
from ..ops import structural as st
from ..ops.contraction import einsum_p, parse
from ..ops.control import scan_p
from .vmap import batch_ir

# Above this many bytes of stacked per-step values, a scan keeps its accumulators.
_MAX_STACKED_BYTES = 1 << 28


def _var_inputs(eqn):
    return [a for a in eqn.inputs if type(a) is Var]


def _uses(eqns, outvars) -> dict:
    """How many times each variable is read by ``eqns`` and ``outvars``."""
    count: dict = {}
    for eqn in eqns:
        for atom in _var_inputs(eqn):
            count[atom] = count.get(atom, 0) + 1
    for atom in outvars:
        if type(atom) is Var:
            count[atom] = count.get(atom, 0) + 1
    return count


def _needed(eqns, roots) -> set:
    """The equations (by index) that the variables ``roots`` depend on."""
    wanted, needed = {v for v in roots if type(v) is Var}, set()
    for k in range(len(eqns) - 1, -1, -1):
        if any(v in wanted for v in eqns[k].outputs):
            needed.add(k)
            wanted.update(_var_inputs(eqns[k]))
    return needed


def _nested_or_effectful(body: IR) -> bool:
    return any(has_effect(e) or any(isinstance(p, IR) or (
        isinstance(p, (tuple, list)) and any(isinstance(q, IR) for q in p))
        for p in e.params.values()) for e in body.eqns)


class _Plan:
    """How one scan is rewritten (see the module docstring); built by ``_plan``."""

    def __init__(self, eqn, head, head_out, head_in_loop, tail, accumulators, contributions,
                 boundary, stacked, loop):
        self.eqn = eqn
        self.head, self.head_out = head, head_out          # head equations, their outputs
        self.head_in_loop = head_in_loop                   # how many of those the loop reads
        self.tail = tail                                   # equations after the loop
        self.accumulators = accumulators                   # carry positions
        self.contributions = contributions                 # the ``c`` of each
        self.boundary = boundary                           # what the tail reads
        self.stacked = stacked                             # loop values the tail reads
        self.loop = loop                                   # equations left in the loop


def _accumulators(body: IR, num_consts: int, num_carry: int, uses: dict) -> dict:
    """``{carry position: contribution}`` for the carries that only accumulate."""
    carries = body.invars[num_consts:num_consts + num_carry]
    producer = {v: e for e in body.eqns for v in e.outputs}
    found = {}
    for i, carry in enumerate(carries):
        new = body.outvars[i]
        eqn = producer.get(new)
        if eqn is None or eqn.primitive is not ew.add_p or uses.get(carry) != 1 \
                or uses.get(new) != 1 or carry not in eqn.inputs:
            continue
        other = eqn.inputs[1] if eqn.inputs[0] is carry else eqn.inputs[0]
        if type(other) is not Var or other is carry or other.aval != carry.aval:
            continue
        found[i] = (other, eqn)
    # A contribution must not read an accumulator (not even through other equations).
    while found:
        accumulated = {carries[i] for i in found}
        tainted = set(accumulated)
        for eqn in body.eqns:
            if any(a in tainted for a in _var_inputs(eqn)) and not (
                    eqn.primitive is ew.add_p and any(eqn is e for _, e in found.values())):
                tainted.update(eqn.outputs)
        bad = [i for i, (c, _) in found.items() if c in tainted]
        if not bad:
            break
        for i in bad:
            del found[i]
    return found


def _plan(eqn) -> _Plan | None:
    params = eqn.params
    body, num_consts, num_carry = params["body"], params["num_consts"], params["num_carry"]
    if _nested_or_effectful(body):
        return None
    eqns = body.eqns
    consts = set(body.invars[:num_consts])
    xs = set(body.invars[num_consts + num_carry:])
    uses = _uses(eqns, body.outvars)
    found = _accumulators(body, num_consts, num_carry, uses)
    adds = {id(e) for _, e in found.values()}
    kept_out = [v for i, v in enumerate(body.outvars) if i not in found]
    loop = _needed(eqns, kept_out)
    tail = set()
    if found:
        tail = _needed(eqns, [c for c, _ in found.values()]) - loop
        tail = {k for k in tail if id(eqns[k]) not in adds}
        if not any(eqns[k].primitive is einsum_p for k in tail):
            found, tail = {}, set()
    # The head: loop equations that read only constants, xs and the head.
    head, known = [], consts | xs
    for k in sorted(loop):
        if all(a in known for a in _var_inputs(eqns[k])):
            head.append(k)
            known.update(eqns[k].outputs)
    if not any(eqns[k].primitive is einsum_p and any(a in xs for a in _var_inputs(eqns[k]))
               for k in head):
        head = []
    if not found and not head:
        return None
    head_set = set(head)
    head_vars = {v for k in head for v in eqns[k].outputs}
    rest = [k for k in sorted(loop) if k not in head_set]
    # What of the head the loop reads (it becomes the loop's extra xs or constants), and
    # what only the tail reads (it takes the head's result over all steps directly).
    kept_outvars = [v for i, v in enumerate(body.outvars) if i not in found]
    head_in_loop = [v for v in dict.fromkeys(
        [a for k in rest for a in _var_inputs(eqns[k])] + kept_outvars) if v in head_vars]
    head_out = head_in_loop + [v for v in dict.fromkeys(
        [a for k in tail for a in _var_inputs(eqns[k])] + [c for c, _ in found.values()])
        if v in head_vars and v not in head_in_loop]
    tail_defined = {v for k in tail for v in eqns[k].outputs}
    boundary = list(dict.fromkeys(
        [a for k in sorted(tail) for a in _var_inputs(eqns[k]) if a not in tail_defined]
        + [c for c, _ in found.values() if c not in tail_defined]))
    stacked = [v for v in boundary if v not in consts and v not in xs and v not in head_vars]
    length = params["length"]
    if sum(v.aval.size * np.dtype(v.aval.dtype).itemsize for v in stacked) * length \
            > _MAX_STACKED_BYTES:
        if not head:
            return None
        found, tail, boundary, stacked = {}, set(), [], []
    return _Plan(eqn, [eqns[k] for k in head], head_out, len(head_in_loop),
                 [eqns[k] for k in sorted(tail)], sorted(found),
                 [found[i][0] for i in sorted(found)], boundary, stacked,
                 [eqns[k] for k in rest])


def _moved_to_front(value, dim):
    return value if dim in (None, 0) else st.moveaxis(value, dim, 0)


def _run_plan(plan: _Plan, values: list) -> list:
    """The scan of ``plan`` on ``values`` (tracers of the rewritten program): its outputs."""
    eqn = plan.eqn
    params = eqn.params
    body, num_consts, num_carry = params["body"], params["num_consts"], params["num_carry"]
    const_vars = body.invars[:num_consts]
    carry_vars = body.invars[num_consts:num_consts + num_carry]
    x_vars = body.invars[num_consts + num_carry:]
    consts, init, xs = (values[:num_consts], values[num_consts:num_consts + num_carry],
                        values[num_consts + num_carry:])
    known = dict(zip(const_vars, [(v, None) for v in consts]))
    known.update(zip(x_vars, [(v, 0) for v in xs]))
    # Before the loop: the head over all the steps at once.
    new_consts, new_const_vars, new_xs, new_x_vars = [], [], [], []
    if plan.head:
        head = IR([], [], const_vars + x_vars, plan.head, plan.head_out)
        outs, dims = batch_ir(head, consts + xs, [None] * len(consts) + [0] * len(xs))
        for k, (var, value, dim) in enumerate(zip(plan.head_out, outs, dims)):
            known[var] = (_moved_to_front(value, dim), None if dim is None else 0)
            if k >= plan.head_in_loop:
                continue
            inner = Var(var.aval)
            if dim is None:
                new_consts.append(value)
                new_const_vars.append((var, inner))
            else:
                new_xs.append(known[var][0])
                new_x_vars.append((var, inner))
    # The loop, with the head's results read as constants and xs, and without the
    # accumulators, stacking what the tail reads.
    rename = dict(new_const_vars + new_x_vars)
    kept = [i for i in range(num_carry) if i not in plan.accumulators]

    def renamed(atom):
        return rename.get(atom, atom) if type(atom) is Var else atom

    loop_eqns = [Eqn(e.primitive, [renamed(a) for a in e.inputs], e.outputs, e.params)
                 for e in plan.loop]
    new_body = IR([], [],
                  const_vars + [v for _, v in new_const_vars] + [carry_vars[i] for i in kept]
                  + x_vars + [v for _, v in new_x_vars],
                  loop_eqns,
                  [renamed(body.outvars[i]) for i in kept]
                  + [renamed(v) for v in body.outvars[num_carry:]]
                  + [renamed(v) for v in plan.stacked])
    outs = scan_p.bind(*consts, *new_consts, *[init[i] for i in kept], *xs, *new_xs,
                       body=new_body, num_consts=num_consts + len(new_consts),
                       num_carry=len(kept), length=params["length"],
                       reverse=params["reverse"])
    carries = dict(zip(kept, outs[:len(kept)]))
    num_ys = len(body.outvars) - num_carry
    ys = outs[len(kept):len(kept) + num_ys]
    known.update(zip(plan.stacked, [(v, 0) for v in outs[len(kept) + num_ys:]]))
    # After the loop: the contributions of every step at once, summed.
    if plan.accumulators:
        tail = IR([], [], plan.boundary, plan.tail, plan.contributions)
        parts, dims = batch_ir(tail, [known[v][0] for v in plan.boundary],
                               [known[v][1] for v in plan.boundary])
        for i, part, dim in zip(plan.accumulators, parts, dims):
            if dim is None:   # the same contribution every step
                total = ew.mul(part, np.asarray(params["length"], part.dtype))
            else:
                total = rd.reduce_sum(part, (dim,))
            carries[i] = ew.add(init[i], total)
    return [carries[i] for i in range(num_carry)] + list(ys)


def hoist_out_of_scans(ir: IR) -> IR:
    """``ir`` with each top-level scan's hoistable matrix products moved out of its loop."""
    plans = {}
    for eqn in ir.eqns:
        if eqn.primitive is scan_p:
            plan = _plan(eqn)
            if plan is not None:
                plans[id(eqn)] = plan
    if not plans:
        return ir

    def rewritten(*args):
        env = dict(zip(ir.constvars, ir.consts))
        env.update(zip(ir.invars, args))
        for eqn in ir.eqns:
            values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
            plan = plans.get(id(eqn))
            if plan is not None:
                outs = _run_plan(plan, values)
            else:
                outs = eqn.primitive.bind(*values, **eqn.params)
                if not eqn.primitive.multiple_results:
                    outs = [outs]
            env.update(zip(eqn.outputs, outs))
        return [a.val if type(a) is Literal else env[a] for a in ir.outvars]

    return fold_sums_into_products(trace_to_ir(rewritten, ir.in_avals))


def fold_sums_into_products(ir: IR) -> IR:
    """``ir`` with each ``reduce_sum`` of an einsum's result (read nowhere else) made one
    einsum whose output lacks the summed axes (it contracts them with the rest)."""
    uses = _uses(ir.eqns, ir.outvars)
    producer = {v: e for e in ir.eqns for v in e.outputs}
    folded, eqns = set(), []
    for eqn in ir.eqns:
        if eqn.primitive is rd.reduce_sum_p and type(eqn.inputs[0]) is Var:
            source = producer.get(eqn.inputs[0])
            if source is not None and source.primitive is einsum_p \
                    and uses.get(eqn.inputs[0]) == 1:
                inputs, output = parse(source.params["spec"])
                axes = set(eqn.params["axes"])
                spec = ",".join(inputs) + "->" + "".join(
                    c for k, c in enumerate(output) if k not in axes)
                eqns.append(Eqn(einsum_p, source.inputs, eqn.outputs, {"spec": spec}))
                folded.add(id(source))
                continue
        eqns.append(eqn)
    if not folded:
        return ir
    return IR(ir.constvars, ir.consts, ir.invars,
              [e for e in eqns if id(e) not in folded], ir.outvars)
