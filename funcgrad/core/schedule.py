"""Running a whole IR on arrays with the memory habits of a compiled program.

``jit``'s first calls run in this interpreter until numba has compiled the program. ``eval_ir`` keeps every
intermediate until the end; on large arrays that means fresh memory for every equation, and
fresh memory is faulted in page by page (on the 2-core VM of BENCHMARKS.md a first touch of
4 MB cost 1.5 ms, against 0.4 ms for ``sin`` over it). A ``Schedule`` is worked out once per
IR and says, for each equation:

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

import numpy as np

from .ir import IR, Literal, Var

# Smaller results are allocated afresh: below a few pages, reuse saves nothing.
REUSE_BYTES = 1 << 16
# Free arrays kept for reuse, per shape and dtype.
_SPARE_LIMIT = 4


_REDUCTIONS = ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin")


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
    same object as) an operand: a ufunc, ``integer_pow``, a reduction over some axes, a matrix
    product. Anything else may be a view, as far as a schedule knows."""
    name = eqn.primitive.name
    return (_ufunc(eqn) is not None or name == "integer_pow" or is_matrix_product(eqn)
            or (name in _REDUCTIONS and bool(eqn.params["axes"])))


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
    if eqn.primitive.name == "integer_pow":   # its impl: np.power with an exponent of x's dtype
        exponent = out.dtype.type(eqn.params["y"])
        return lambda values, buffer: np.power(values[0], exponent, out=buffer)
    return None


class Schedule:
    """Per-equation lists (see the module docstring), computed once for ``ir``."""

    def __init__(self, ir: IR):
        self.ir = ir
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

    def run(self, args) -> list:
        """Evaluate the IR on ``args`` (arrays and NumPy scalars); returns its outputs."""
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
                env.update(zip(eqn.outputs, eqn.primitive.bind(*values, **eqn.params)))
            else:
                env[eqn.outputs[0]] = eqn.primitive.bind(*values, **eqn.params)
            for var in recycled:
                value = env[var]
                if type(value) is np.ndarray and value is not buffer:
                    free = spare.setdefault((value.shape, value.dtype), [])
                    if len(free) < _SPARE_LIMIT:   # what no later result takes is let go
                        free.append(value)
            for var in dead:
                del env[var]
        return [atom.val if type(atom) is Literal else env[atom] for atom in ir.outvars]
