"""Running a whole IR on arrays with the memory habits of a compiled program.

``jit``'s first calls run in this interpreter until numba has compiled the program.
``eval_ir`` keeps every intermediate until the end; on large arrays that means fresh memory for
every equation, and fresh memory is faulted in page by page (on the 2-core VM of BENCHMARKS.md
a first touch of 4 MB cost 1.5 ms, against 0.4 ms for ``sin`` over it). A ``Schedule`` is
worked out once per IR and says, for each equation:

- which intermediates die with it, to be dropped at once;
- which of its operands' arrays its result may overwrite: an operand that dies with it, made
  by an elementwise NumPy ufunc (so an array of its own) that no live value can be a view of;
- which arrays become free after it, for later ufunc results of the same shape and dtype;
- whether it is a broadcast that no output is: it runs as a read-only view, never copied
  (as compiled kernels read broadcasts in place).

Whether a value may share memory with an array is decided from the IR alone
(``returns_new_array``): a ufunc, a reduction or a matrix product returns a new array, and any
other primitive's outputs are taken to share memory with all of its operands (a reshape or a
slice may be a view). Inputs and constants are never written.
"""
from __future__ import annotations

import math

import numpy as np

from .ir import IR, Literal, Var
from .primitive import ELEMENTWISE, REDUCTION

# Smaller results are allocated afresh: below a few pages, reuse saves nothing.
REUSE_BYTES = 1 << 16
# Free arrays kept for reuse, per shape and dtype.
_SPARE_LIMIT = 4


def _ufunc(eqn):
    """The single-output ufunc that evaluates ``eqn``, or None."""
    ufunc = eqn.primitive.ufunc
    if ufunc is None and type(eqn.primitive.impl) is np.ufunc:
        ufunc = eqn.primitive.impl
    return ufunc if ufunc is not None and ufunc.nout == 1 and not eqn.params else None


def is_matrix_product(eqn) -> bool:
    """A two-operand einsum of arrays: one matrix product (``ops.contraction.pair_plan``)."""
    return (eqn.primitive.name == "einsum" and len(eqn.inputs) == 2
            and all(isinstance(a, Var) and a.aval.ndim > 0 for a in eqn.inputs))


def returns_new_array(eqn) -> bool:
    """Whether ``eqn``'s implementation returns an array of its own, never a view of (or the
    same object as) an operand: a ufunc, ``integer_pow``, a reduction, a matrix product.
    Anything else may be a view, as far as a schedule knows."""
    return (_ufunc(eqn) is not None or eqn.primitive in REDUCTION
            or eqn.primitive.name == "integer_pow" or is_matrix_product(eqn))


def _writer(eqn):
    """``write(values, out)`` evaluating ``eqn`` into the array ``out``, for a large float ufunc
    (or ``integer_pow``) over operands of its own dtype, whose NumPy result has exactly the
    output's shape and dtype; else None."""
    out = eqn.outputs[0].aval
    if (out.dtype.kind != "f" or out.size * out.dtype.itemsize < REUSE_BYTES
            or any(a.aval.dtype != out.dtype for a in eqn.inputs)):
        return None
    ufunc = _ufunc(eqn)
    if ufunc is not None:
        return lambda values, buffer: ufunc(*values, out=buffer)
    if eqn.primitive.name == "integer_pow":   # as its impl: a square, else np.power
        if eqn.params["y"] == 2:
            return lambda values, buffer: np.square(values[0], out=buffer)
        exponent = out.dtype.type(eqn.params["y"])
        return lambda values, buffer: np.power(values[0], exponent, out=buffer)
    return None


class Schedule:
    """Per-equation lists (see the module docstring), computed once for ``ir``."""

    def __init__(self, ir: IR):
        self.ir = ir
        self.blocks = RowBlocks.plan(ir)   # a frame of pointwise work: run by rows instead
        kept = {a for a in ir.outvars if isinstance(a, Var)}
        kept.update(ir.constvars + ir.invars)
        last_use: dict = {}
        for index, eqn in enumerate(ir.eqns):
            for atom in eqn.inputs:
                if isinstance(atom, Var) and atom not in kept:
                    last_use[atom] = index
        self.frees: list[list[Var]] = [[] for _ in ir.eqns]
        for var, index in last_use.items():
            self.frees[index].append(var)

        # ``shares[v]``: the vars with arrays of their own that ``v`` may be (a view of);
        # ``sharers[d]``: how many values defined so far and not yet dead may be ``d``'s array.
        shares: dict = {}
        sharers: dict = {}
        self.writable: list[list[Var]] = []   # operands the result may overwrite
        self.recycled: list[list[Var]] = []   # arrays free after the equation
        self.writers: list = []               # how to write the result into an array
        self.views = [eqn.primitive.name == "broadcast_to" and eqn.outputs[0] not in kept
                      for eqn in ir.eqns]
        for index, eqn in enumerate(ir.eqns):
            writer = _writer(eqn)
            self.writers.append(writer)
            dying = self.frees[index]
            self.writable.append([v for v in dying if sharers.get(v) == 1
                                  and v.aval == eqn.outputs[0].aval] if writer else [])
            for var in eqn.outputs:
                if returns_new_array(eqn):
                    shares[var] = (var,)
                else:
                    shares[var] = tuple({d for atom in eqn.inputs if isinstance(atom, Var)
                                         for d in shares.get(atom, ())})
                for d in shares[var]:
                    sharers[d] = sharers.get(d, 0) + 1
            free_now = []
            for var in dying:
                for d in shares.get(var, ()):
                    sharers[d] -= 1
                    if sharers[d] == 0:
                        free_now.append(d)
            # Only arrays still held at this point can be recycled: those dying here.
            self.recycled.append([d for d in free_now if d in dying])

    def run(self, args, blocks: bool = True) -> list:
        """Evaluate the IR on ``args`` (arrays and NumPy scalars); returns its outputs.

        ``blocks``: run by blocks of rows where the IR allows (see ``RowBlocks``)."""
        if blocks and self.blocks is not None:
            return self.blocks.run(args)
        ir = self.ir
        env = dict(zip(ir.constvars, ir.consts))
        env.update(zip(ir.invars, args))
        spare: dict = {}       # (shape, dtype) -> arrays free for reuse
        for eqn, dead, writable, recycled, writer, view in zip(
                ir.eqns, self.frees, self.writable, self.recycled, self.writers, self.views):
            values = [atom.val if type(atom) is Literal else env[atom] for atom in eqn.inputs]
            if view:
                env[eqn.outputs[0]] = np.broadcast_to(values[0], eqn.params["shape"])
                continue   # its operand lives on in the view: nothing is dropped here
            buffer = None
            if writer is not None:
                buffer = next((env[v] for v in writable if type(env[v]) is np.ndarray), None)
                if buffer is None:
                    aval = eqn.outputs[0].aval
                    free = spare.get((aval.shape, aval.dtype))
                    buffer = free.pop() if free else None
            if buffer is not None:
                env[eqn.outputs[0]] = writer(values, buffer)
            elif eqn.primitive.multiple_results:
                env.update(zip(eqn.outputs, eqn.primitive.impl(*values, **eqn.params)))
            else:   # ``impl``, not ``bind``: a call inside some trace computes, not records
                env[eqn.outputs[0]] = eqn.primitive.impl(*values, **eqn.params)
            for var in recycled:
                value = env[var]
                if type(value) is np.ndarray and value is not buffer:
                    free = spare.setdefault((value.shape, value.dtype), [])
                    if len(free) < _SPARE_LIMIT:   # what no later result takes is let go
                        free.append(value)
            for var in dead:
                del env[var]
        return [atom.val if type(atom) is Literal else env[atom] for atom in ir.outvars]


# ------------------------------------------------------------------------ runs by blocks of rows
# A program of elementwise equations and total reductions over one large frame (``sum(sin(x) *
# exp(-x * x))`` and its gradient) needs no intermediate of full size at all: run a block of
# rows at a time, each value of a block in an array kept from the block before, and only the
# outputs are written in full. A block's arrays stay under glibc's mmap threshold (128 KiB), so
# that even the first block's come from memory the allocator already holds.
BLOCK_BYTES = 1 << 16
BLOCKED_MIN_BYTES = 1 << 21           # smaller frames gain nothing from it
_POINTWISE = ("stop_gradient", "retain_grad", "erf", "broadcast_to")
# Reductions whose total is the same reduction of the blocks' totals.
_TOTAL = ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or")


class RowBlocks:
    """How to run ``ir`` a block of rows of its frame at a time (see above), for an IR of
    pointwise equations (``ELEMENTWISE``, broadcasts) and total reductions, where only
    equations that make no rows read a total (``sum(a) + max(b)``: they run after the last
    block); ``RowBlocks.plan(ir)`` is None for any other IR.

    The frame is the largest shape in the IR; a value whose shape has the frame's rank and
    first axis varies by rows and is cut into blocks, and any other value broadcasts along the
    rows and is used whole.
    """

    @classmethod
    def plan(cls, ir: IR) -> RowBlocks | None:
        avals = [v.aval for v in ir.invars + ir.constvars] + [
            v.aval for e in ir.eqns for v in e.outputs]
        frame = max(avals, key=lambda a: a.size, default=None)
        if frame is None or frame.ndim == 0 or \
                frame.size * frame.dtype.itemsize < BLOCKED_MIN_BYTES:
            return None
        shape = frame.shape

        def by_rows(aval):
            return aval.ndim == len(shape) and aval.shape[0] == shape[0]

        if any(a.ndim > len(shape) or (a.ndim == len(shape) and a.shape[0] not in
                                       (1, shape[0])) for a in avals):
            return None
        reduced, late = set(), set()   # totals; values known only after the last block
        for eqn in ir.eqns:
            prim = eqn.primitive
            if prim not in ELEMENTWISE and prim.name not in _POINTWISE and not (
                    prim.name in _TOTAL and by_rows(eqn.inputs[0].aval)):
                return None
            if any(isinstance(a, Var) and a in late for a in eqn.inputs):
                if by_rows(eqn.outputs[0].aval) or prim.name in _TOTAL:
                    return None      # rows (or a total) from a total: a second pass
                late.add(eqn.outputs[0])
            elif prim.name in _TOTAL and by_rows(eqn.inputs[0].aval):
                if eqn.params["axes"] != tuple(range(len(shape))):
                    return None
                reduced.add(eqn.outputs[0])
                late.add(eqn.outputs[0])
        row_bytes = max(a.dtype.itemsize for a in avals) * math.prod(shape[1:])
        rows = max(1, BLOCK_BYTES // max(row_bytes, 1))
        return cls(ir, by_rows, reduced, late, rows, shape[0]) if rows < shape[0] else None

    def __init__(self, ir: IR, by_rows, reduced, late, rows: int, length: int):
        self.ir = ir
        self.rows = rows
        self.length = length
        self.blocked = {v for v in ir.invars + ir.constvars if by_rows(v.aval)}
        self.steps = []        # (eqn, writer or None, is a row value, is a total)
        self.after = []        # equations run once the totals are known
        for eqn in ir.eqns:
            out = eqn.outputs[0]
            if out in late and out not in reduced:
                self.after.append(eqn)
                continue
            rowwise = by_rows(out.aval)
            if rowwise:
                self.blocked.add(out)
            self.steps.append((eqn, _writer(eqn) if rowwise else None, rowwise,
                               out in reduced))
        defined = {eqn.outputs[0] for eqn in ir.eqns}
        self.row_outputs = [v for v in ir.outvars if isinstance(v, Var) and v in self.blocked
                            and v in defined]

    def run(self, args) -> list:
        ir, rows, length = self.ir, self.rows, self.length
        full = {v: np.empty(v.aval.shape, v.aval.dtype) for v in self.row_outputs}
        totals: dict = {}      # var -> (its reduction, the blocks' totals)
        buffers: dict = {}     # var -> the array its value takes in every block
        inputs = list(zip(ir.constvars, ir.consts)) + list(zip(ir.invars, args))
        env: dict = {}
        for start in range(0, length, rows):
            stop = min(start + rows, length)
            env = {v: x[start:stop] if v in self.blocked else x for v, x in inputs}
            for eqn, writer, rowwise, total in self.steps:
                values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
                out = eqn.outputs[0]
                if total:
                    totals.setdefault(out, (eqn.primitive, []))[1].append(
                        eqn.primitive.impl(values[0], **eqn.params))
                    continue
                if writer is not None:
                    if out in full:        # written in place: nothing to copy
                        env[out] = writer(values, full[out][start:stop])
                        continue
                    buffer = buffers.get(out)
                    if buffer is None:
                        buffer = buffers[out] = np.empty((rows,) + out.aval.shape[1:],
                                                         out.aval.dtype)
                    env[out] = writer(values, buffer[:stop - start])
                elif rowwise and eqn.primitive.name == "broadcast_to":
                    env[out] = np.broadcast_to(values[0],
                                               (stop - start,) + eqn.params["shape"][1:])
                else:
                    env[out] = eqn.primitive.impl(*values, **eqn.params)
                if out in full:
                    full[out][start:stop] = env[out]
        # The totals (each the same reduction of the blocks' totals), then what is made of
        # them; any other value is the same in every block.
        env.update((var, var.aval.dtype.type(prim.impl(np.array(parts), axes=(0,))))
                   for var, (prim, parts) in totals.items())
        env.update(full)
        for eqn in self.after:
            values = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
            env[eqn.outputs[0]] = eqn.primitive.impl(*values, **eqn.params)
        given = dict(inputs)
        return [atom.val if type(atom) is Literal else given[atom] if atom in given
                else env[atom] for atom in ir.outvars]
