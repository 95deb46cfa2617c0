"""IR -> source: fused numba kernels and the Python program that calls them.

The IR is cut into steps, in order:
- a **kernel**: a maximal run of elementwise equations over one loop shape, with scalar
  equations hoisted before the loop, and sums/maxima/minima over every axis, over the
  trailing axes (one accumulator a row) or over the leading axes (one a column, folded into
  the output array) accumulated inside it. Operands are read with their
  own broadcasting index, so broadcasts are never materialised. A cheap value an earlier
  kernel made (arithmetic, a comparison, a select, a cast) is computed again from what is in
  memory rather than stored and read back (``_recomputed``). Arrays enter and leave it
  flattened, so its source does not depend on the array sizes: a new batch size reuses the
  compiled kernel, and two programs that share a fused loop share its code;
- a **native** step: a random primitive, run by a hand-written Threefry kernel
  (``templates.RANDOM_STREAM``);
- a **call**: any other equation (matrix products, indexing, other reductions, control
  flow), run by the primitive's NumPy implementation, which reaches BLAS directly (numba's own
  ``np.dot`` and ``sum(axis=...)`` cost seconds to compile).
A program whose equations are all scalar is a single kernel: one native call.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..core.ir import IR, Eqn, Literal, Var, has_effect, pretty_print
from ..core.primitive import ELEMENTWISE
from .templates import (
    ELEMENTWISE_CODE,
    RANDOM_STREAM,
    elementwise_template,
    fast_function_code,
    integer_pow_code,
)

PARALLEL_THRESHOLD = 1 << 18   # elements: below this, threads cost more than they save
# Reductions a kernel accumulates: over every axis, or over its trailing axes (one a row).
_TOTAL_REDUCTIONS = {"reduce_sum": "+", "reduce_max": "max", "reduce_min": "min"}
_PASS_THROUGH = {"stop_gradient", "retain_grad"}


def _dtype_code(dtype) -> str:
    return "np.bool_" if np.dtype(dtype) == np.bool_ else f"np.{np.dtype(dtype).name}"


def literal_code(value) -> str:
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return repr(bool(value))
    item = value.item()
    if value.dtype.kind == "f":
        text = repr(float(item))
        if text in ("inf", "-inf", "nan"):
            text = f"np.{text.lstrip('-')}" if text != "-inf" else "-np.inf"
        return text if value.dtype == np.float64 else f"np.{value.dtype.name}({text})"
    if value.dtype.kind == "c":
        parts = [literal_code(np.float64(part)) for part in (item.real, item.imag)]
        return f"np.{value.dtype.name}(complex({parts[0]}, {parts[1]}))"
    return f"np.{value.dtype.name}({item})"


def is_fusable(eqn) -> bool:
    prim = eqn.primitive
    if prim in ELEMENTWISE or prim.name in _PASS_THROUGH:
        return prim.name in ELEMENTWISE_CODE or prim.name == "integer_pow"
    # A kernel reads every operand with its own broadcasting index, so a broadcast is a read.
    return prim.name == "broadcast_to"


class Kernel:
    """A fused group of equations over one loop shape."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.prologue: list = []        # scalar equations hoisted before the loop
        self.body: list = []            # equations evaluated per element
        self.reductions: list = []      # total reductions accumulated in the loop
        self.row_reductions: list = []  # reductions over the trailing axes, one value a row
        self.kept = None                # how many leading axes the row reductions keep
        # Reductions over the leading axes (a bias's gradient), one value a column: summed
        # into their output arrays as the loop goes.
        self.column_reductions: list = []
        self.folded = None              # how many leading axes the column reductions fold
        self.defined: set = set()       # vars defined by this kernel
        self.loop_vars: set = set()     # vars defined per element
        self.reduced: set = set()       # vars defined by a reduction (usable after the loop)

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def eqns(self):
        return (self.prologue + self.body + self.reductions + self.row_reductions
                + self.column_reductions)

    def try_add(self, eqn) -> bool:
        inputs = [a for a in eqn.inputs if isinstance(a, Var)]
        if any(a in self.reduced for a in inputs):
            return False
        out = eqn.outputs[0]
        if is_fusable(eqn):
            if self.is_scalar or (out.aval.ndim == 0 and not any(a in self.loop_vars
                                                                 for a in inputs)):
                if out.aval.ndim != 0:
                    return False
                self.prologue.append(eqn)
            elif out.aval.shape == self.shape and all(
                    a.aval.ndim == 0 or a.aval.shape == self.shape or a not in self.defined
                    for a in inputs):
                self.body.append(eqn)
                self.loop_vars.add(out)
            else:
                return False
            self.defined.add(out)
            return True
        if (eqn.primitive.name not in _TOTAL_REDUCTIONS or self.is_scalar
                or eqn.inputs[0] not in self.loop_vars):
            return False
        axes, ndim = eqn.params["axes"], len(self.shape)
        if out.aval.ndim == 0:
            self.reductions.append(eqn)
        elif axes == tuple(range(ndim - len(axes), ndim)) and self.kept in (
                None, ndim - len(axes)) and not self.column_reductions:
            # Over trailing axes (softmax, logsumexp, row norms): one accumulator a row, all
            # row reductions of a kernel splitting its axes the same way.
            self.kept = ndim - len(axes)
            self.row_reductions.append(eqn)
        elif axes == tuple(range(len(axes))) and self.folded in (None, len(axes)) and \
                not self.row_reductions:
            self.folded = len(axes)
            self.column_reductions.append(eqn)
        else:
            return False
        self.defined.add(out)
        self.reduced.add(out)
        return True


class Step:
    """One step of a program: a kernel, one equation run by a hand-written kernel
    (``native``: the random primitives), or one equation run by its NumPy implementation."""

    def __init__(self, kernel=None, eqn=None, native: bool = False):
        self.kernel = kernel
        self.eqn = eqn
        self.native = native


def _forward_broadcasts(ir: IR):
    """The equations with every ``broadcast_to`` that only kernels read replaced by its input.

    A kernel reads each operand with its own broadcasting index, so such a broadcast never
    needs to exist in memory. Returns the equations and, for each rewritten one, the original
    (whose printed form stays the comment in the generated code).
    """
    # A reshape of a broadcast single value is that value broadcast to the new shape.
    producer = {eqn.outputs[0]: eqn for eqn in ir.eqns}
    rewritten_eqns = []
    for eqn in ir.eqns:
        source_eqn = producer.get(eqn.inputs[0]) if eqn.inputs else None
        if (eqn.primitive.name == "reshape" and source_eqn is not None
                and source_eqn.primitive.name == "broadcast_to"
                and source_eqn.inputs[0].aval.size == 1
                and source_eqn.inputs[0].aval.ndim <= len(eqn.params["new_shape"])):
            eqn = Eqn(source_eqn.primitive, source_eqn.inputs, eqn.outputs,
                      {"shape": eqn.params["new_shape"]})
        rewritten_eqns.append(eqn)
    ir_eqns = rewritten_eqns
    readers: dict = {}
    for eqn in ir_eqns:
        for atom in eqn.inputs:
            if isinstance(atom, Var):
                readers.setdefault(atom, []).append(eqn)
    outputs = {a for a in ir.outvars if isinstance(a, Var)}
    source = {}
    for eqn in ir_eqns:
        if eqn.primitive.name == "broadcast_to" and eqn.outputs[0] not in outputs and all(
                is_fusable(reader) and reader.primitive.name != "broadcast_to"
                for reader in readers.get(eqn.outputs[0], ())):
            source[eqn.outputs[0]] = eqn.inputs[0]
    eqns, origin = [], {}
    for original, eqn in zip(ir.eqns, ir_eqns):
        if eqn is not original:
            origin[id(eqn)] = original
        if eqn.outputs[0] in source:
            continue
        if any(isinstance(a, Var) and a in source for a in eqn.inputs):
            rewritten = Eqn(eqn.primitive, [source.get(a, a) if isinstance(a, Var) else a
                                            for a in eqn.inputs], eqn.outputs, eqn.params)
            origin[id(rewritten)] = origin.get(id(eqn), eqn)
            eqn = rewritten
        eqns.append(eqn)
    # Rewriting can leave an equation unread (the broadcast under a rewritten reshape).
    live = {a for a in ir.outvars if isinstance(a, Var)}
    kept = []
    for eqn in reversed(eqns):
        if any(v in live for v in eqn.outputs) or has_effect(eqn):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if isinstance(a, Var))
    return kept[::-1], origin


# Elementwise arithmetic cheaper to run again than to store and read back: a kernel that reads
# such a value from an earlier kernel recomputes it from that kernel's inputs (``_recomputed``).
_CHEAP = {"neg", "add", "sub", "mul", "div", "max", "min", "abs", "sign", "integer_pow",
          "eq", "ne", "lt", "le", "gt", "ge", "select", "convert_element_type"}
_RECOMPUTE_LIMIT = 8   # equations cloned for one value, at most


def _greedy(eqns) -> list:
    """The kernel (a ``Kernel``) each equation joins in ``plan``'s greedy cut, else None."""
    kernels, current = [], None
    for eqn in eqns:
        if current is not None and not eqn.primitive.multiple_results and current.try_add(eqn):
            kernels.append(current)
            continue
        current = Kernel(eqn.outputs[0].aval.shape) if is_fusable(eqn) else None
        if current is not None:
            current.try_add(eqn)
        kernels.append(current)
    return kernels


def _recomputed(eqns, outvars):
    """``eqns`` where a kernel reading a cheap elementwise value (``_CHEAP``) of an earlier
    kernel computes it again, from what is in memory anyway, instead of reading it back.

    A forward kernel otherwise writes every intermediate its backward pass reads: the tanh-GELU
    of a transformer block wrote seven arrays of 2 MiB (``z``, ``0.0447 z``, ``0.0447 z^2``,
    ``z / 2``, ``tanh``, ``1 + tanh``, the output) where two (``tanh`` and the output) and the
    matrix product before it suffice. A value is recomputed only where the expression that
    gives it, followed back through cheap equations, ends at values some step has in memory
    regardless (inputs, results of calls, values other steps read and that are not cheap), has
    the reader's loop shape, and adds no loop to the reader's nest (``loop_nest``): a causal
    mask over (sequence, sequence) read by a softmax's flat (row, column) loop split it into
    three, which ran at half the speed of reading the masked scores back.
    """
    kernels = _greedy(eqns)
    producer = {eqn.outputs[0]: (index, eqn) for index, eqn in enumerate(eqns)
                if len(eqn.outputs) == 1}
    outputs = {a for a in outvars if isinstance(a, Var)}
    # Values in memory anyway: not made by a kernel, or read by another step (or an output).
    in_memory = set(outputs)
    for index, eqn in enumerate(eqns):
        for atom in eqn.inputs:
            if isinstance(atom, Var):
                found = producer.get(atom)
                if found is None or kernels[found[0]] is None or \
                        kernels[found[0]] is not kernels[index]:
                    in_memory.add(atom)

    def cheap(var) -> bool:
        found = producer.get(var)
        return (found is not None and found[1].primitive.name in _CHEAP
                and kernels[found[0]] is not None and var not in outputs)

    def expression(var, shape, into: list) -> bool:
        """Append to ``into`` the cheap equations that give ``var``, inputs first; False
        where they exceed the limit or end at a value of another shape that is not read
        in memory anyway."""
        if not cheap(var) or var.aval.shape != shape:
            return False
        eqn = producer[var][1]
        for atom in eqn.inputs:
            if not isinstance(atom, Var) or not atom.aval.ndim:
                continue
            if cheap(atom):
                if not expression(atom, shape, into):
                    return False
            elif atom not in in_memory:   # recomputing would store this one instead
                return False
        if eqn not in into:
            into.append(eqn)
        return len(into) <= _RECOMPUTE_LIMIT

    # Per kernel, the shapes of the arrays it reads (from outside it), for its loop nest.
    read_shapes: dict = {}
    for index, eqn in enumerate(eqns):
        kernel = kernels[index]
        if kernel is not None:
            read_shapes.setdefault(id(kernel), set()).update(
                a.aval.shape for a in eqn.inputs
                if isinstance(a, Var) and a.aval.ndim and a not in kernel.defined)

    def loops(kernel, shapes) -> int:
        return len(loop_nest(kernel.shape, sorted(shapes))[0])

    rewritten, clones_by_kernel = [], {}
    for index, eqn in enumerate(eqns):
        kernel = kernels[index]
        if kernel is None or kernel.is_scalar:
            rewritten.append(eqn)
            continue
        clones = clones_by_kernel.setdefault(id(kernel), {})   # original var -> its clone
        inputs = list(eqn.inputs)
        for position, atom in enumerate(inputs):
            if not isinstance(atom, Var) or not cheap(atom) or \
                    kernels[producer[atom][0]] is kernel:
                continue
            if atom not in clones:
                chain: list = []
                if not expression(atom, kernel.shape, chain):
                    continue
                made = {e.outputs[0] for e in chain}
                shapes = read_shapes[id(kernel)] | {
                    a.aval.shape for e in chain for a in e.inputs
                    if isinstance(a, Var) and a.aval.ndim and a not in made}
                if loops(kernel, shapes) > loops(kernel, read_shapes[id(kernel)]):
                    continue
                read_shapes[id(kernel)] = shapes
                for original in chain:
                    if original.outputs[0] in clones:
                        continue
                    clone = Eqn(original.primitive,
                                [clones.get(a, a) if isinstance(a, Var) else a
                                 for a in original.inputs],
                                [Var(original.outputs[0].aval)], original.params)
                    clones[original.outputs[0]] = clone.outputs[0]
                    rewritten.append(clone)
            inputs[position] = clones[atom]
        if inputs != list(eqn.inputs):
            eqn = Eqn(eqn.primitive, inputs, eqn.outputs, eqn.params)
        rewritten.append(eqn)
    return rewritten


def plan(ir: IR):
    """Cut ``ir`` into kernel and call steps (see the module docstring).

    Returns ``(steps, origin)``: ``origin`` maps a rewritten equation to its original.
    """
    steps: list[Step] = []
    current = None
    eqns, origin = _forward_broadcasts(ir)
    eqns = _recomputed(eqns, ir.outvars)
    for eqn in eqns:
        if current is not None and not eqn.primitive.multiple_results and current.try_add(eqn):
            continue
        if is_fusable(eqn):
            current = Kernel(eqn.outputs[0].aval.shape)
            current.try_add(eqn)
            steps.append(Step(kernel=current))
        else:
            current = None
            steps.append(Step(eqn=eqn, native=eqn.primitive.name in _NATIVE))
    return steps, origin


# ----------------------------------------------------------------------- native kernels

# Random primitives drawn as streams of words (``random_fold_in``, one block, and
# ``random_permutation``, a sort, keep their NumPy implementations).
_NATIVE = {"random_bits": "bits", "random_split": "split"}
_RANDOM_STREAM_NAME = "kernel_" + hashlib.sha1(RANDOM_STREAM.encode()).hexdigest()[:16]


def native_source(eqn) -> KernelSource:
    """The Threefry kernel of a random primitive (``templates.RANDOM_STREAM``): keys and
    results flattened and the tag an argument, so that one text serves them all."""
    from ..ops.random import _TAGS
    key, out = eqn.inputs[0], eqn.outputs[0]
    keys = int(np.prod(key.aval.shape[:-1], dtype=np.int64))
    # keys, words a key, the counters' tag
    sizes = [keys, out.aval.size // max(keys, 1), _TAGS[_NATIVE[eqn.primitive.name]]]
    code = RANDOM_STREAM.replace("{name}", _RANDOM_STREAM_NAME)
    return KernelSource(code, code, _RANDOM_STREAM_NAME, sizes, [key], [], [out], [])


# ------------------------------------------------------------------------ kernel source

class KernelSource:
    """The generated source of a kernel, its argument kinds and its outputs."""

    def __init__(self, source, code, name, loop_sizes, array_inputs, scalar_inputs,
                 array_outputs, scalar_outputs, parallel=False):
        self.parallel = parallel              # the outer loop runs on threads (prange)
        self.source = source                  # with each IR equation as a comment
        self.code = code                      # what is compiled: the same, without comments
        self.name = name
        self.loop_sizes = loop_sizes          # the size of each loop of the nest
        self.array_inputs = array_inputs      # vars passed flattened
        self.scalar_inputs = scalar_inputs    # vars passed as scalars
        self.array_outputs = array_outputs    # vars written into preallocated flat arrays
        self.scalar_outputs = scalar_outputs  # vars returned


def _statement(eqn, names, read, fast_math: bool) -> str:
    prim = eqn.primitive.name
    operands = [read(a) for a in eqn.inputs]
    out = eqn.outputs[0]
    fast = fast_function_code(prim, operands[0], out.aval.dtype) if fast_math else None
    if fast is not None:
        code = fast
    elif prim == "integer_pow":
        code = integer_pow_code(operands[0], eqn.params["y"], _dtype_code(out.aval.dtype))
    elif prim == "broadcast_to":
        code = operands[0]
    elif prim == "pow" and eqn.inputs[1].aval.size == 1 and out.aval.dtype.kind == "f":
        code = _power_by_one_value(eqn.inputs[1], operands)
    elif prim == "convert_element_type" and out.aval.dtype == np.bool_:
        code = f"{operands[0]} != 0"
    elif prim == "convert_element_type" and eqn.inputs[0].aval.dtype.kind == "c" \
            and out.aval.dtype.kind != "c":   # NumPy's cast keeps the real part
        code = f"{_dtype_code(out.aval.dtype)}({operands[0]}.real)"
    else:
        code = elementwise_template(prim, out.aval.dtype).format(
            *operands, dtype=_dtype_code(out.aval.dtype), bits=out.aval.dtype.itemsize * 8)
    return f"{names[out]} = {code}"


def _power_by_one_value(exponent, operands) -> str:
    """``x ** y`` for one exponent ``y`` (a literal or a single value): NumPy's power loop takes
    such a ``y == 0.5`` as ``sqrt(x)``, which differs from C's ``pow`` at ``-0.0`` (-0.0, not 0.0)
    and ``-inf`` (NaN, not inf), and is faster; so the kernel does the same."""
    x, y = operands
    if isinstance(exponent, Literal):
        return f"np.sqrt({x})" if float(np.asarray(exponent.val)) == 0.5 else \
            f"np.power({x}, {y})"
    return f"(np.sqrt({x}) if {y} == 0.5 else np.power({x}, {y}))"


def _start_value(eqn, dtype) -> str:
    start = {"+": "0", "max": "-np.inf", "min": "np.inf"}[_TOTAL_REDUCTIONS[eqn.primitive.name]]
    return f"{_dtype_code(dtype)}({start})"


def _accumulator_start(eqn, names) -> str:
    dtype = eqn.outputs[0].aval.dtype
    if _TOTAL_REDUCTIONS[eqn.primitive.name] == "+" and dtype == np.float32:
        # float32 sums accumulate in float64 and round once (the caller casts back): a long
        # float32 running sum would lose digits that NumPy's pairwise sum keeps.
        dtype = np.float64
    return f"{names[eqn.outputs[0]]} = {_start_value(eqn, dtype)}"


def _accumulate(eqn, target: str, value: str, local: bool = True) -> str:
    """Fold ``value`` into the accumulator ``target``: a local (a total or a row, where float32
    sums are kept in float64 -- see ``_accumulator_start``) or, not ``local``, an output
    array's element (a column, in the output's dtype, row after row, as NumPy's reduction over
    a leading axis adds)."""
    op = _TOTAL_REDUCTIONS[eqn.primitive.name]
    if op == "+":
        widen = local and eqn.outputs[0].aval.dtype == np.float32
        return f"{target} += {f'np.float64({value})' if widen else value}"
    return f"{target} = np.{'maximum' if op == 'max' else 'minimum'}({target}, {value})"


def loop_nest(shape, input_shapes):
    """The loops a kernel over ``shape`` runs, and along which of them each input varies.

    Axes of size 1 are dropped and neighbouring axes along which every input either varies or
    is broadcast are merged, so an all-same-shape kernel is one flat loop and a row-broadcast
    bias gives two. Returns ``(loops, varies)``: the original axes of each loop, and per input
    one bool per loop. Only this pattern, never the sizes, enters the kernel's text.
    """
    ndim = len(shape)
    axes = [d for d in range(ndim) if shape[d] != 1]

    def varies_along(input_shape, axis):
        padded = (1,) * (ndim - len(input_shape)) + tuple(input_shape)
        return padded[axis] != 1

    masks = [[varies_along(s, d) for d in axes] for s in input_shapes]
    loops: list = []
    for j, axis in enumerate(axes):
        if loops and all(mask[j] == mask[j - 1] for mask in masks):
            loops[-1].append(axis)
        else:
            loops.append([axis])
    if not loops:
        loops = [[]]
    varies = []
    for input_shape in input_shapes:
        varies.append([bool(group) and varies_along(input_shape, group[0]) for group in loops])
    return loops, varies


def _row_major_index(loop_indices) -> str:
    """The flat index over the given loops: ``(i0 * s1 + i1) * s2 + i2``."""
    if not loop_indices:
        return "0"
    expression = f"i{loop_indices[0]}"
    for loop in loop_indices[1:]:
        expression = f"({expression}) * s{loop} + i{loop}" if "*" in expression \
            else f"{expression} * s{loop} + i{loop}"
    return expression


def kernel_source(kernel: Kernel, used_later: set, ir_names,
                  fast_math: bool = True) -> KernelSource:
    """Write ``kernel`` as a numba-compilable function whose text is independent of sizes.

    With ``fast_math``, transcendental functions call funcgrad's vectorisable ones.
    """
    names = {}
    local = iter(f"t{i}" for i in range(1 << 30))
    for eqn in kernel.eqns():
        for var in eqn.outputs:
            names[var] = next(local)
    array_inputs, scalar_inputs = [], []
    for eqn in kernel.eqns():
        for atom in eqn.inputs:
            if isinstance(atom, Var) and atom not in kernel.defined and atom not in names:
                names[atom] = f"x{len(array_inputs) + len(scalar_inputs)}"
                (scalar_inputs if atom.aval.ndim == 0 else array_inputs).append(atom)
    # Row reductions vary along the kept axes only: giving loop_nest that pattern keeps the
    # kept and the reduced axes in separate loops.
    row_shapes = [kernel.shape[:kernel.kept] + (1,) * (len(kernel.shape) - kernel.kept)
                  for _ in kernel.row_reductions]
    # Column reductions vary along the axes they keep, likewise.
    row_shapes += [(1,) * kernel.folded + kernel.shape[kernel.folded:]
                   for _ in kernel.column_reductions]
    loops, varies = loop_nest(kernel.shape, [v.aval.shape for v in array_inputs] + row_shapes)
    varies = varies[:len(array_inputs)]
    index_of = {v: _row_major_index([j for j, on in enumerate(mask) if on])
                for v, mask in zip(array_inputs, varies)}
    full_index = _row_major_index(list(range(len(loops))))
    first_reduced = len(loops)       # the first loop over reduced axes
    if kernel.row_reductions:
        first_reduced = next((j for j, group in enumerate(loops)
                              if group and group[0] >= kernel.kept), len(loops))
    row_index = _row_major_index(list(range(first_reduced)))
    first_kept = len(loops)          # the first loop over the axes column reductions keep
    if kernel.column_reductions:
        first_kept = next((j for j, group in enumerate(loops)
                           if group and group[0] >= kernel.folded), len(loops))
    column_index = _row_major_index(list(range(first_kept, len(loops))))

    def read(atom):
        if isinstance(atom, Literal):
            return literal_code(atom.val)
        if atom in kernel.defined or atom.aval.ndim == 0 or kernel.is_scalar:
            return names[atom]
        return f"{names[atom]}[{index_of[atom]}]"

    loop_sizes = [int(np.prod([kernel.shape[d] for d in group], dtype=np.int64))
                  for group in loops]
    # Threads pay off on large loops only; the variant is part of the kernel's text.
    # (numba's prange recognises sum reductions; max/min ones stay sequential.)
    parallel = not kernel.is_scalar and loop_sizes[0] >= 8 and \
        int(np.prod(kernel.shape, dtype=np.int64)) >= PARALLEL_THRESHOLD and \
        all(e.primitive.name == "reduce_sum" for e in kernel.reductions) and \
        (not kernel.row_reductions or first_reduced > 0) and \
        not kernel.column_reductions   # row accumulators stay private; columns are shared
    exported = [v for v in names if v in kernel.defined and v in used_later]
    row_outputs = {e.outputs[0] for e in kernel.row_reductions}
    column_outputs = {e.outputs[0] for e in kernel.column_reductions}
    array_outputs = [v for v in exported
                     if v in kernel.loop_vars or v in row_outputs or v in column_outputs]
    scalar_outputs = [v for v in exported if v not in array_outputs]
    out_names = {v: f"o{k}" for k, v in enumerate(array_outputs)}
    sizes = [] if kernel.is_scalar else [f"s{j}" for j in range(len(loops))]
    params = sizes + [names[v] for v in array_inputs] + \
        [names[v] for v in scalar_inputs] + [out_names[v] for v in array_outputs]
    lines = []

    def comment(eqn):
        return f"# {ir_names(eqn)}"

    for eqn in kernel.prologue:
        lines += [f"    {comment(eqn)}", f"    {_statement(eqn, names, read, fast_math)}"]
    if not kernel.is_scalar:
        for eqn in kernel.reductions:
            lines.append(f"    {_accumulator_start(eqn, names)}")
        for eqn in kernel.column_reductions:
            if eqn.outputs[0] in out_names:
                lines.append(f"    {out_names[eqn.outputs[0]]}[:] = "
                             f"{_start_value(eqn, eqn.outputs[0].aval.dtype)}")
        pad = "    "
        for j in range(len(loops) + 1):
            if j == first_reduced:
                for eqn in kernel.row_reductions:
                    lines.append(f"{pad}{_accumulator_start(eqn, names)}")
            if j == len(loops):
                break
            loop = "numba.prange" if parallel and j == 0 else "range"
            lines.append(f"{pad}for i{j} in {loop}(s{j}):")
            pad += "    "
        for eqn in kernel.body:
            lines += [f"{pad}{comment(eqn)}", f"{pad}{_statement(eqn, names, read, fast_math)}"]
        for eqn in kernel.reductions + kernel.row_reductions:
            lines += [f"{pad}{comment(eqn)}",
                      f"{pad}{_accumulate(eqn, names[eqn.outputs[0]], names[eqn.inputs[0]])}"]
        for eqn in kernel.column_reductions:
            if eqn.outputs[0] in out_names:
                target = f"{out_names[eqn.outputs[0]]}[{column_index}]"
                lines += [f"{pad}{comment(eqn)}",
                          f"{pad}{_accumulate(eqn, target, names[eqn.inputs[0]], False)}"]
        for var in array_outputs:
            if var not in row_outputs and var not in column_outputs:
                lines.append(f"{pad}{out_names[var]}[{full_index}] = {names[var]}")
        row_pad = "    " * (first_reduced + 1)   # back at the loop over the kept axes
        for eqn in kernel.row_reductions:
            if eqn.outputs[0] in out_names:
                lines.append(f"{row_pad}{out_names[eqn.outputs[0]]}[{row_index}] = "
                             f"{names[eqn.outputs[0]]}")
    returned = ", ".join(names[v] for v in scalar_outputs)
    lines.append(f"    return ({returned}{',' if len(scalar_outputs) == 1 else ''})")
    # The comments carry the sizes; the compiled code (and so its name) must not.
    code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    digest = hashlib.sha1((",".join(params) + "\n" + code).encode()).hexdigest()[:16]
    name = f"kernel_{digest}"
    header = f"def {name}({', '.join(params)}):\n"
    return KernelSource(header + "\n".join(lines) + "\n", header + code + "\n", name,
                        loop_sizes, array_inputs, scalar_inputs, array_outputs,
                        scalar_outputs, parallel)


def equation_names(ir: IR, origin: dict):
    """A function giving each equation's one-line jaxpr form, with the IR's own names."""
    text = pretty_print(ir, brief_subprograms=True).splitlines()[1:-1]
    lines = {id(eqn): line.strip() for eqn, line in zip(ir.eqns, text)}
    for rewritten, original in origin.items():
        lines[rewritten] = lines.get(id(original), original.primitive.name)
    return lambda eqn: lines.get(id(eqn), eqn.primitive.name)
