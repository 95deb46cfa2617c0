"""Loops with small bodies as one numba function each: the body scalarised.

Where every value of a ``scan``'s or ``while``'s body (and of the loops and branches nested in
it) is a small array, each element becomes a local variable of one generated function: the
body is straight-line scalar code inside a native loop, the carry lives in registers, and a
step costs nanoseconds rather than the Python calls of a compiled body program. An RK4 step
of a 2-state ODE and its reverse-mode step are such bodies.

Structural primitives with static indices (gather, scatter, reshape, transpose, broadcast,
concatenate) only move elements: the elements of each value are held as the names of their
locals in a NumPy object array of the value's shape, so NumPy's own indexing rules decide
which element goes where and the generated code contains arithmetic only. A body that holds
anything else (a large array, an index array, a primitive without a scalar form) is not
scalarised: the program then calls its compiled body program once a step.
"""
from __future__ import annotations

import hashlib
import itertools

import numpy as np

from ..core.ir import IR, Literal, Var
from .codegen import KernelSource, _dtype_code, literal_code
from .templates import ELEMENTWISE_CODE, elementwise_template, integer_pow_code

SMALL = 64                 # elements: the largest value a scalarised body may hold
MAX_STATEMENTS = 4000      # a larger body costs more to compile than its loop saves
_REDUCTIONS = {"reduce_sum": "+", "reduce_max": "np.maximum", "reduce_min": "np.minimum"}


class _Unsupported(Exception):
    """The body cannot be scalarised (the program falls back to its body program)."""


def _elements(name_of, shape) -> np.ndarray:
    """An object array of ``shape`` whose element ``k`` (row-major) is ``name_of(k)``."""
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.empty(size, dtype=object)
    for k in range(size):
        flat[k] = name_of(k)
    return flat.reshape(shape)


class _Writer:
    """Scalar statements for the equations of a body, one local per element."""

    def __init__(self):
        self.lines: list[str] = []
        self.count = 0
        self.depth = 0   # of nested loops: each has its own index variable

    def fresh(self, prefix: str = "e") -> str:
        self.count += 1
        if self.count > MAX_STATEMENTS:
            raise _Unsupported("too large")
        return f"{prefix}{self.count}"

    def emit(self, pad: str, text: str) -> None:
        self.lines.append(pad + text)

    def assign(self, pad: str, code: str) -> str:
        name = self.fresh()
        self.emit(pad, f"{name} = {code}")
        return name

    def run(self, ir: IR, inputs, pad: str) -> list:
        """Statements for ``ir`` on the element arrays ``inputs``; its outputs' elements."""
        if ir.constvars:
            raise _Unsupported("constants")
        env = dict(zip(ir.invars, inputs))

        def read(atom):
            if isinstance(atom, Literal):
                value = np.empty((), dtype=object)
                value[()] = literal_code(atom.val)
                return value
            return env[atom]

        for eqn in ir.eqns:
            for var in eqn.outputs:
                if var.aval.size > SMALL:
                    raise _Unsupported("a large value")
            outs = self.equation(eqn, [read(a) for a in eqn.inputs], pad)
            env.update(zip(eqn.outputs, outs))
        return [read(a) for a in ir.outvars]

    # ------------------------------------------------------------------------ equations

    def equation(self, eqn, operands, pad: str) -> list:
        prim, params = eqn.primitive.name, eqn.params
        out = eqn.outputs[0]
        dtype = _dtype_code(out.aval.dtype)
        if prim in ("stop_gradient", "retain_grad", "broadcast_to"):
            return [np.broadcast_to(operands[0], out.aval.shape)]
        if prim in ELEMENTWISE_CODE or prim == "integer_pow":
            return [self._elementwise(eqn, operands, pad, dtype)]
        if prim == "reshape":
            return [operands[0].reshape(params["new_shape"])]
        if prim == "transpose":
            return [operands[0].transpose(params["permutation"])]
        if prim == "concatenate":
            return [np.concatenate(operands, axis=params["axis"])]
        if prim == "gather" and len(operands) == 1:
            return [np.array(operands[0][params["index"].build(())], dtype=object)]
        if prim in ("scatter_add", "scatter") and len(operands) == 2:
            return [self._scatter(prim, operands, params["index"], pad, dtype)]
        if prim in _REDUCTIONS:
            return [self._reduce(prim, operands[0], params["axes"], pad, dtype)]
        if prim == "einsum" and len(operands) == 2:
            return [self._einsum(params["spec"], operands, out.aval.shape, pad, dtype)]
        if prim == "scan":
            return self._scan(eqn, operands, pad)
        if prim == "while":
            return self._while(eqn, operands, pad)
        if prim == "cond":
            return self._cond(eqn, operands, pad)
        raise _Unsupported(prim)

    def _elementwise(self, eqn, operands, pad, dtype):
        prim, out = eqn.primitive.name, eqn.outputs[0]
        operands = np.broadcast_arrays(*[np.asarray(o, dtype=object) for o in operands])
        result = np.empty(out.aval.shape, dtype=object)
        for index in np.ndindex(out.aval.shape):
            args = [o[index] for o in operands]
            if prim == "integer_pow":
                code = integer_pow_code(args[0], eqn.params["y"], dtype)
            elif prim == "convert_element_type" and out.aval.dtype == np.bool_:
                code = f"{args[0]} != 0"
            else:
                code = elementwise_template(prim, out.aval.dtype).format(
                    *args, dtype=dtype, bits=out.aval.dtype.itemsize * 8)
            result[index] = self.assign(pad, code)
        return result

    def _scatter(self, prim, operands, index, pad, dtype):
        operand, updates = operands
        result = np.array(operand, dtype=object).reshape(-1)
        # Static ints and slices select each position at most once.
        positions = np.arange(operand.size).reshape(operand.shape)[index.build(())]
        updates = np.broadcast_to(updates, positions.shape)
        for position, update in zip(positions.reshape(-1), updates.reshape(-1)):
            result[position] = (self.assign(pad, f"{result[position]} + {update}")
                                if prim == "scatter_add" else update)
        return result.reshape(operand.shape)

    def _reduce(self, prim, x, axes, pad, dtype):
        kept = [d for d in range(x.ndim) if d not in axes]
        rows = x.transpose(kept + list(axes)).reshape(
            [x.shape[d] for d in kept] + [-1])
        result = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(result.shape):
            terms = list(rows[index])
            if not terms:
                start = {"+": "0", "np.maximum": "-np.inf", "np.minimum": "np.inf"}
                result[index] = f"{dtype}({start[_REDUCTIONS[prim]]})"
                continue
            total = terms[0]
            for term in terms[1:]:
                op = _REDUCTIONS[prim]
                total = self.assign(pad, f"{total} + {term}" if op == "+" else
                                    f"{op}({term}, {total})")
            result[index] = total
        return result

    def _einsum(self, spec, operands, shape, pad, dtype):
        (left, right), output = (part.split(",") if "," in part else part
                                 for part in spec.split("->"))
        sizes = {}
        for letters, operand in ((left, operands[0]), (right, operands[1])):
            sizes.update(zip(letters, operand.shape))
        summed = [c for c in sizes if c not in output]
        result = np.empty(shape, dtype=object)
        for index in np.ndindex(shape):
            at = dict(zip(output, index))
            terms = []
            for values in itertools.product(*[range(sizes[c]) for c in summed]):
                at.update(zip(summed, values))
                terms.append(f"{operands[0][tuple(at[c] for c in left)]} * "
                             f"{operands[1][tuple(at[c] for c in right)]}")
            total = self.assign(pad, terms[0]) if terms else f"{dtype}(0)"
            for term in terms[1:]:
                total = self.assign(pad, f"{total} + {term}")
            result[index] = total
        return result

    # ------------------------------------------------------------ loops inside the body

    def _carried(self, values, pad, avals) -> list:
        """Locals that hold a loop's carry (assigned again at each step), set from
        ``values``; the carry keeps its dtype from step to step."""
        carried = []
        for value, aval in zip(values, avals):
            names = _elements(lambda k: self.fresh("c"), aval.shape)
            code = _dtype_code(aval.dtype)
            for name, v in zip(names.reshape(-1), np.asarray(value, object).reshape(-1)):
                self.emit(pad, f"{name} = {code}({v})")
            carried.append(names)
        return carried

    def _update(self, carried, values, pad, avals) -> None:
        for names, value, aval in zip(carried, values, avals):
            code = _dtype_code(aval.dtype)
            targets = list(names.reshape(-1))
            sources = [f"{code}({v})" for v in np.asarray(value, object).reshape(-1)]
            if targets:   # one tuple assignment: a new element may read an old one
                self.emit(pad, f"{', '.join(targets)}, = {', '.join(sources)},")

    def _scan(self, eqn, operands, pad):
        params = eqn.params
        body, num_consts, num_carry = params["body"], params["num_consts"], params["num_carry"]
        length = params["length"]
        consts = operands[:num_consts]
        init = operands[num_consts:num_consts + num_carry]
        xs = operands[num_consts + num_carry:]
        carry_avals = [v.aval for v in eqn.outputs[:num_carry]]
        carried = self._carried(init, pad, carry_avals)
        # Each y is held in locals too (a (length, ...) value is small as well), copied at
        # its step before the carry's locals change (a y may be the entering carry).
        ys = [np.empty(v.aval.shape, dtype=object) for v in eqn.outputs[num_carry:]]
        # Unrolled: a nested loop's step number indexes element arrays, which exist only
        # while generating; its length times its body is bounded by MAX_STATEMENTS.
        steps = range(length - 1, -1, -1) if params["reverse"] else range(length)
        for step in steps:
            outs = self.run(body, consts + carried + [x[step] for x in xs], pad)
            for y, value, var in zip(ys, outs[num_carry:], eqn.outputs[num_carry:]):
                code = _dtype_code(var.aval.dtype)
                values = np.broadcast_to(np.asarray(value, object), y.shape[1:])
                for index in np.ndindex(y.shape[1:]):
                    y[(step,) + index] = self.assign(pad, f"{code}({values[index]})")
            self._update(carried, outs[:num_carry], pad, carry_avals)
        return carried + ys

    def _while(self, eqn, operands, pad):
        params = eqn.params
        split = params["num_condition_consts"]
        condition_consts = operands[:split]
        body_consts = operands[split:split + params["num_body_consts"]]
        init = operands[split + params["num_body_consts"]:]
        avals = [v.aval for v in eqn.outputs]
        carried = self._carried(init, pad, avals)
        self.emit(pad, "while True:")
        inner = pad + "    "
        (go,) = self.run(params["condition"], condition_consts + carried, inner)
        self.emit(inner, f"if not {go[()]}:")
        self.emit(inner, "    break")
        outs = self.run(params["body"], body_consts + carried, inner)
        self._update(carried, outs, inner, avals)
        return carried

    def _cond(self, eqn, operands, pad):
        avals = [v.aval for v in eqn.outputs]
        results = [_elements(lambda k: self.fresh("r"), a.shape) for a in avals]
        for keyword, branch in (("if", "true_branch"), ("else", "false_branch")):
            self.emit(pad, f"if {operands[0][()]}:" if keyword == "if" else "else:")
            inner = pad + "    "
            outs = self.run(eqn.params[branch], operands[1:], inner)
            for names, value, aval in zip(results, outs, avals):
                code = _dtype_code(aval.dtype)
                for name, v in zip(names.reshape(-1), np.asarray(value, object).reshape(-1)):
                    self.emit(inner, f"{name} = {code}({v})")
            if not any(r.size for r in results):
                self.emit(inner, "pass")
        return results


# ------------------------------------------------------------------------------ the kernel

def loop_source(eqn, describe) -> KernelSource | None:
    """The numba function that runs the ``scan`` or ``while`` equation ``eqn`` whole, or None
    where its body is not small enough to scalarise."""
    try:
        return _loop_source(eqn, describe)
    except _Unsupported:
        return None


def _loop_source(eqn, describe) -> KernelSource:
    prim, params = eqn.primitive.name, eqn.params
    variables = list(dict.fromkeys(a for a in eqn.inputs if isinstance(a, Var)))
    array_inputs = [v for v in variables if v.aval.ndim > 0]
    scalar_inputs = [v for v in variables if v.aval.ndim == 0]
    names = {v: f"a{k}" for k, v in enumerate(array_inputs)}
    names.update({v: f"x{k}" for k, v in enumerate(scalar_inputs)})
    first_x = params["num_consts"] + params["num_carry"] if prim == "scan" else len(eqn.inputs)
    writer, pad = _Writer(), "    "
    # Every operand but the xs is read into locals before the loop, once.
    read: dict = {}
    for atom in eqn.inputs[:first_x]:
        if isinstance(atom, Literal) or atom in read:
            continue
        if atom.aval.size > SMALL:
            raise _Unsupported("a large operand")
        if atom.aval.ndim == 0:
            read[atom] = np.asarray(names[atom], dtype=object)
            continue
        read[atom] = _elements(lambda k: writer.fresh(), atom.aval.shape)
        for k, name in enumerate(read[atom].reshape(-1)):
            writer.emit(pad, f"{name} = {names[atom]}[{k}]")
    operands = [np.asarray(literal_code(a.val), dtype=object) if isinstance(a, Literal)
                else read[a] for a in eqn.inputs[:first_x]]
    if prim == "scan":
        return _scan_kernel(eqn, writer, operands, names, array_inputs, scalar_inputs, pad,
                            describe)
    outs = writer._while(eqn, operands, pad)
    return _finish(eqn, writer, outs, eqn.outputs, names, array_inputs, scalar_inputs, [],
                   describe)


def _scan_kernel(eqn, writer, operands, names, array_inputs, scalar_inputs, pad, describe):
    params = eqn.params
    body, num_consts, num_carry = params["body"], params["num_consts"], params["num_carry"]
    consts = operands[:num_consts]
    carry_avals = [v.aval for v in eqn.outputs[:num_carry]]
    carried = writer._carried(operands[num_consts:num_consts + num_carry], pad, carry_avals)
    xs = eqn.inputs[num_consts + num_carry:]
    step_xs = []
    for atom in xs:
        shape = atom.aval.shape[1:]
        if int(np.prod(shape, dtype=np.int64)) > SMALL:
            raise _Unsupported("a large x")
        size = int(np.prod(shape, dtype=np.int64))
        step_xs.append(_elements(lambda k, n=names[atom], s=size: f"{n}[i * {s} + {k}]",
                                 shape))
    y_vars = eqn.outputs[num_carry:]
    outputs = {v: f"o{k}" for k, v in enumerate(y_vars)}
    writer.emit(pad, "for j in range(s0):")
    inner = pad + "    "
    writer.emit(inner, "i = s0 - 1 - j" if params["reverse"] else "i = j")
    outs = writer.run(body, consts + carried + step_xs, inner)
    for var, value in zip(y_vars, outs[num_carry:]):   # before the carry changes
        size = int(np.prod(var.aval.shape[1:], dtype=np.int64))
        value = np.broadcast_to(np.asarray(value, object), var.aval.shape[1:])
        for k, v in enumerate(value.reshape(-1)):
            writer.emit(inner, f"{outputs[var]}[i * {size} + {k}] = {v}")
    writer._update(carried, outs[:num_carry], inner, carry_avals)
    return _finish(eqn, writer, carried, eqn.outputs[:num_carry], names, array_inputs,
                   scalar_inputs, y_vars, describe, loop_sizes=[params["length"]])


def _finish(eqn, writer, carried, carry_vars, names, array_inputs, scalar_inputs, y_vars,
            describe, loop_sizes=()):
    """The kernel: the statements, the carries written out (arrays) or returned (0-d)."""
    pad = "    "
    array_outputs = list(y_vars) + [v for v in carry_vars if v.aval.ndim > 0]
    scalar_outputs = [v for v in carry_vars if v.aval.ndim == 0]
    out_names = {v: f"o{k}" for k, v in enumerate(array_outputs)}
    returned = []
    for var, value in zip(carry_vars, carried):
        if var.aval.ndim == 0:
            returned.append(value[()])
        else:
            for k, v in enumerate(value.reshape(-1)):
                writer.emit(pad, f"{out_names[var]}[{k}] = {v}")
    writer.emit(pad, f"return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
    sizes = [f"s{k}" for k in range(len(loop_sizes))]
    params = sizes + [names[v] for v in array_inputs] + [names[v] for v in scalar_inputs] + \
        [out_names[v] for v in array_outputs]
    code = "\n".join(writer.lines)
    digest = hashlib.sha1((",".join(params) + "\n" + code).encode()).hexdigest()[:16]
    name = f"loop_{digest}"
    header = f"def {name}({', '.join(params)}):\n"
    source = header + f"    # {describe(eqn)}\n" + code + "\n"
    return KernelSource(source, header + code + "\n", name, list(loop_sizes), array_inputs,
                        scalar_inputs, array_outputs, scalar_outputs)
