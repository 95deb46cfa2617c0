"""Scans whose bodies hold matrix products, as one numba function for the whole loop.

A body too large to scalarise (``loops.py``) but made only of fused elementwise kernels,
matrix products and reshapes runs inside one generated function: the loop over the steps is
native, each matrix product calls BLAS's gemm/gemv through numba's ``np.dot`` into a buffer
allocated once before the loop, and the fused kernels of the body (the same text as in a body
program) are called as numba functions. Nothing per step goes through Python: a tanh RNN's
step is two gemm calls and one kernel, its reverse step three gemms and two kernels.

Every value is a flat C-order array (or a scalar local), so a reshape is free and a matrix
operand is a view of the flat array: transposed where the product reads it transposed, which
BLAS takes as a flag. Each step's x is a slice of the stacked xs, and each step's y is written
by the equation that computes it straight into its slice of the stacked ys. An array carry
whose new value has a buffer of its own swaps buffers with the old one at the end of a step;
any other is copied. The text depends on the sizes through its arguments only (``s0``,
``s1``, ... as for kernels), so a program with other sizes reuses the compiled function.

A body with anything else (an integer product, a batched or summing contraction, a gather, a
nested loop, a kernel large enough for threads) keeps its body program, called once a step.
numba's ``np.dot`` needs SciPy's BLAS; without SciPy no scan takes this form.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util

import numpy as np

from ..core.ir import Literal, Var
from ..core.schedule import is_matrix_product
from ..ops.contraction import pair_plan
from . import codegen
from .codegen import KernelSource, _dtype_code, literal_code
from .compiler import INNER_DECORATOR, exact_math


class _Unsupported(Exception):
    """The body cannot run inside one function (the program calls its body program)."""


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether numba's ``np.dot`` can be compiled: it calls SciPy's BLAS."""
    return importlib.util.find_spec("scipy") is not None


def loop_source(eqn, describe) -> KernelSource | None:
    """The numba function that runs the ``scan`` equation ``eqn`` whole, or None where its
    body holds something other than kernels, matrix products and reshapes."""
    if eqn.primitive.name != "scan" or not available():
        return None
    try:
        return _Writer(eqn, describe).source()
    except _Unsupported:
        return None


def _rotation(perm, shape):
    """For a permutation that moves the last axes first, ``(rows, columns)`` of the flat
    array's matrix whose transpose the permuted array, reshaped to a matrix, is; else None."""
    n = len(perm)
    for r in range(1, n):
        if tuple(perm) == tuple(range(r, n)) + tuple(range(r)):
            return (int(np.prod(shape[:r], dtype=np.int64)),
                    int(np.prod(shape[r:], dtype=np.int64)))
    return None


class _Writer:
    def __init__(self, eqn, describe):
        self.eqn, self.describe_scan = eqn, describe
        params = eqn.params
        self.body = params["body"]
        if self.body.constvars:
            raise _Unsupported("constants")
        values = list(self.body.invars) + [v for e in self.body.eqns for v in e.outputs]
        if any(v.aval.ndim and v.aval.size == 0 for v in values):
            raise _Unsupported("an empty array")   # BLAS rejects a leading dimension of 0
        self.sizes: list[int] = []       # the values of s0, s1, ...
        self.lines: list[str] = []       # before the loop
        self.step: list[str] = []        # inside it
        self.after: list[str] = []       # after it
        self.kernels: dict = {}          # name -> code of the fused kernels called
        self.buffers = 0
        variables = list(dict.fromkeys(a for a in eqn.inputs if isinstance(a, Var)))
        self.array_inputs = [v for v in variables if v.aval.ndim > 0]
        self.scalar_inputs = [v for v in variables if v.aval.ndim == 0]
        self.names = {v: f"a{k}" for k, v in enumerate(self.array_inputs)}
        self.names.update({v: f"x{k}" for k, v in enumerate(self.scalar_inputs)})
        self.length = self.size(params["length"])

    def size(self, value: int) -> str:
        """The argument that carries the integer ``value``."""
        self.sizes.append(int(value))
        return f"s{len(self.sizes) - 1}"

    def buffer(self, var) -> str:
        name = f"b{self.buffers}"
        self.buffers += 1
        self.lines.append(f"    {name} = np.empty({self.size(var.aval.size)}, "
                          f"{_dtype_code(var.aval.dtype)})")
        return name

    def operand(self, atom) -> str:
        """An input of the scan (outside the loop): an array name, a scalar name or a
        literal."""
        if isinstance(atom, Literal):
            return literal_code(atom.val)
        return self.names[atom]

    # ------------------------------------------------------------------------ the body

    def source(self) -> KernelSource:
        eqn, params, body = self.eqn, self.eqn.params, self.body
        num_consts, num_carry = params["num_consts"], params["num_carry"]
        consts = eqn.inputs[:num_consts]
        init = eqn.inputs[num_consts:num_consts + num_carry]
        xs = eqn.inputs[num_consts + num_carry:]
        carry_outs, y_outs = eqn.outputs[:num_carry], eqn.outputs[num_carry:]
        body_consts = body.invars[:num_consts]
        body_carry = body.invars[num_consts:num_consts + num_carry]
        body_xs = body.invars[num_consts + num_carry:]
        self.at: dict = {}   # body var -> the flat array (or the scalar) that holds it
        for var, atom in zip(body_consts, consts):
            self.at[var] = self.operand(atom)
        self.invariant = {self.at[var] for var in body_consts if var.aval.ndim}
        self.transposed: dict = {}   # (constant, permutation) -> its transposed copy
        self.array_outputs = list(y_outs) + [v for v in carry_outs if v.aval.ndim > 0]
        self.out_names = {v: f"o{k}" for k, v in enumerate(self.array_outputs)}
        carried = []   # (the carry's local, its body var, the scan output)
        for k, (var, atom, out) in enumerate(zip(body_carry, init, carry_outs)):
            name = f"c{k}"
            if var.aval.ndim:
                self.lines += [f"    {name} = np.empty({self.size(var.aval.size)}, "
                               f"{_dtype_code(var.aval.dtype)})",
                               f"    _copy({name}, {self.operand(atom)})"]
            else:
                self.lines.append(f"    {name} = {_dtype_code(var.aval.dtype)}"
                                  f"({self.operand(atom)})")
            self.at[var] = name
            carried.append((name, var, out))
        pad = "        "
        self.step.append(f"{pad}i = {self.length} - 1 - j" if params["reverse"] else
                         f"{pad}i = j")
        for k, (var, atom) in enumerate(zip(body_xs, xs)):
            if var.aval.ndim:
                n = self.size(var.aval.size)
                self.step.append(f"{pad}u{k} = {self.names[atom]}[i * {n}:(i + 1) * {n}]")
                self.at[var] = f"u{k}"
            else:
                self.at[var] = f"{self.names[atom]}[i]"
        # Each y that an equation of the body computes is written into its slice.
        y_atoms = body.outvars[num_carry:]
        defined = {v for e in body.eqns for v in e.outputs}
        self.slot: dict = {}   # body var -> the slice of the stacked y it is written to
        for k, (atom, out) in enumerate(zip(y_atoms, y_outs)):
            if isinstance(atom, Var) and atom.aval.ndim and atom in defined \
                    and atom not in self.slot:
                n = self.size(atom.aval.size)
                self.step.append(f"{pad}y{k} = {self.out_names[out]}[i * {n}:(i + 1) * {n}]")
                self.slot[atom] = f"y{k}"
        self._equations(pad)
        # The ys not written in place, then the carries (a y may be an entering carry).
        for k, (atom, out) in enumerate(zip(y_atoms, y_outs)):
            target = self.out_names[out]
            if isinstance(atom, Var) and self.at.get(atom) == f"y{k}":
                continue   # written there (a reshape of a value reads it elsewhere)
            if atom.aval.ndim:
                n = self.size(atom.aval.size)
                self.step.append(f"{pad}_copy({target}[i * {n}:(i + 1) * {n}], "
                                 f"{self.read(atom)})")
            else:
                self.step.append(f"{pad}{target}[i] = {self.read(atom)}")
        self._update(carried, body.outvars[:num_carry], pad)
        returned = []
        for name, var, out in carried:
            if var.aval.ndim:
                self.after.append(f"    _copy({self.out_names[out]}, {name})")
            else:
                returned.append(name)
        self.scalar_outputs = [out for _, var, out in carried if not var.aval.ndim]
        self.after.append(f"    return ({', '.join(returned)}"
                          f"{',' if len(returned) == 1 else ''})")
        return self._finish()

    def read(self, atom) -> str:
        if isinstance(atom, Literal):
            return literal_code(atom.val)
        return self.at[atom]

    def _update(self, carried, new_values, pad):
        """The carry for the next step: array buffers swapped or copied, scalars assigned."""
        swaps, copies, rebinds, scalars = [], [], [], []
        own = {}   # a buffer of the body's that holds exactly one new carry
        for (name, _, _), atom in zip(carried, new_values):
            if isinstance(atom, Var) and self.at.get(atom, "").startswith("b"):
                own.setdefault(self.at[atom], []).append(name)
        carry_names = {name for name, _, _ in carried}
        slices = set(self.slot.values())
        for (name, var, _), atom in zip(carried, new_values):
            if not var.aval.ndim:
                scalars.append((name, f"{_dtype_code(var.aval.dtype)}({self.read(atom)})"))
                continue
            source = self.read(atom)
            if source == name:
                continue
            if source in slices:
                # The new carry was written into its y's slice, which no later step writes:
                # the next step reads it there.
                rebinds.append((name, source))
            elif len(own.get(source, ())) == 1:
                swaps.append((name, source))
            else:
                copies.append((name, source))
        # A carry copied from another carry's entering value reads it before it changes.
        snapshot = {}
        for k, (_, source) in enumerate(copies):
            if source in carry_names and source not in snapshot:
                snapshot[source] = f"p{k}"
                var = next(v for c, v, _ in carried if c == source)
                self.step.append(f"{pad}p{k} = np.empty({self.size(var.aval.size)}, "
                                 f"{_dtype_code(var.aval.dtype)})")
                self.step.append(f"{pad}_copy(p{k}, {source})")
        for name, source in copies:
            self.step.append(f"{pad}_copy({name}, {snapshot.get(source, source)})")
        for name, source in swaps:
            self.step.append(f"{pad}{name}, {source} = {source}, {name}")
        for name, source in rebinds:
            self.step.append(f"{pad}{name} = {source}")
        if scalars:
            self.step.append(f"{pad}{', '.join(n for n, _ in scalars)}, = "
                             f"{', '.join(c for _, c in scalars)},")

    def _equations(self, pad):
        steps, origin = codegen.plan(self.body)
        used_later = _uses_after(self.body, steps)
        self.describe = codegen.equation_names(self.body, origin)
        for index, step in enumerate(steps):
            if step.kernel is not None:
                self._kernel(step.kernel, used_later[index], pad)
            elif step.native:
                raise _Unsupported("a native step")
            elif is_matrix_product(step.eqn):
                self._product(step.eqn, pad)
            elif step.eqn.primitive.name == "reshape":
                self._reshape(step.eqn, pad)
            else:
                raise _Unsupported(step.eqn.primitive.name)

    def _place(self, var) -> str:
        """Where the body's array ``var`` is written: its y's slice, else a buffer."""
        if var not in self.at:
            self.at[var] = self.slot.get(var) or self.buffer(var)
        return self.at[var]

    def _kernel(self, kernel, used_later, pad):
        fast_math = not exact_math() and not kernel.is_scalar
        source = codegen.kernel_source(kernel, used_later, self.describe, fast_math)
        if source.parallel:
            raise _Unsupported("a kernel large enough for threads")
        self.kernels[source.name] = source.code
        for eqn in kernel.eqns():
            self.step.append(f"{pad}# {self.describe(eqn)}")
        args = [self.size(n) for n in ([] if kernel.is_scalar else source.loop_sizes)]
        args += [self.read(v) for v in source.array_inputs]
        args += [self.read(v) for v in source.scalar_inputs]
        args += [self._place(v) for v in source.array_outputs]
        call = f"{source.name}({', '.join(args)})"
        if not source.scalar_outputs:
            self.step.append(f"{pad}{call}")
            return
        results = []
        for var in source.scalar_outputs:
            results.append(f"r{len(self.at)}")
            self.at[var] = results[-1]
        self.step.append(f"{pad}{', '.join(results)}, = {call}")
        for var, name in zip(source.scalar_outputs, results):
            # A float32 sum is accumulated in float64 and returned so: rounded once, here.
            self.step.append(f"{pad}{name} = {_dtype_code(var.aval.dtype)}({name})")

    def _reshape(self, eqn, pad):
        (atom,), (out,) = eqn.inputs, eqn.outputs
        if isinstance(atom, Literal):
            raise _Unsupported("a reshaped literal")
        self.step.append(f"{pad}# {self.describe(eqn)}")
        if atom.aval.ndim and out.aval.ndim:
            self.at[out] = self.at[atom]      # flat arrays: the same one
        elif out.aval.ndim:                   # a scalar made an array of one element
            self.step.append(f"{pad}{self._place(out)}[0] = {self.at[atom]}")
        else:
            self.at[out] = f"{self.at[atom]}[0]"

    def _matrix(self, atom, perm, shape) -> str:
        """The operand as the matrix (or vector) ``shape`` the plan multiplies."""
        flat = self.read(atom)
        if perm is None:
            if len(shape) == 1:
                return flat
            return f"{flat}.reshape(({self.size(shape[0])}, {self.size(shape[1])}))"
        rows_columns = _rotation(perm, atom.aval.shape)
        if len(shape) != 2 or rows_columns is None or rows_columns[::-1] != tuple(shape):
            raise _Unsupported("a transpose that is not a matrix's")
        rows, columns = rows_columns
        matrix = f"{flat}.reshape(({self.size(rows)}, {self.size(columns)})).T"
        if flat not in self.invariant:
            return matrix
        # A constant read transposed is transposed once, before the loop: OpenBLAS's gemm of
        # a 32x64 by a transposed 64x64 matrix took twice the time of the same product with
        # the matrix stored transposed.
        if (flat, perm) not in self.transposed:
            name = self.transposed[flat, perm] = f"t{len(self.transposed)}"
            self.lines.append(f"    {name} = _transpose({flat}.reshape(({self.size(rows)}, "
                              f"{self.size(columns)})))")
        return self.transposed[flat, perm]

    def _product(self, eqn, pad):
        a, b = eqn.inputs
        (out,) = eqn.outputs
        if out.aval.dtype not in (np.float32, np.float64):
            raise _Unsupported("a product BLAS does not take")
        plan = pair_plan(eqn.params["spec"], a.aval.shape, b.aval.shape)
        if plan.sum_a or plan.sum_b or len(plan.shape_a) > 2 or len(plan.shape_b) > 2:
            raise _Unsupported("a batched or summing contraction")
        left = self._matrix(a, plan.perm_a, plan.shape_a)
        right = self._matrix(b, plan.perm_b, plan.shape_b)
        self.step.append(f"{pad}# {self.describe(eqn)}")
        if not plan.matmul_shape:             # a dot product of vectors: a scalar
            name = f"r{len(self.at)}"
            self.at[out] = name
            self.step.append(f"{pad}{name} = {_dtype_code(out.aval.dtype)}"
                             f"(np.dot({left}, {right}))")
            return
        target = self._place(out)
        if plan.perm_out is None:
            if len(plan.matmul_shape) == 2:
                m, n = plan.matmul_shape
                target = f"{target}.reshape(({self.size(m)}, {self.size(n)}))"
            self.step.append(f"{pad}np.dot({left}, {right}, {target})")
            return
        # The output is the product transposed: written as (B^T A^T), in its own order.
        if len(plan.matmul_shape) != 2 or _rotation(plan.perm_out, plan.product_shape) \
                != plan.matmul_shape:
            raise _Unsupported("a permuted product")
        m, n = plan.matmul_shape
        self.step.append(f"{pad}np.dot({_transposed(right)}, {_transposed(left)}, "
                         f"{target}.reshape(({self.size(n)}, {self.size(m)})))")

    # ------------------------------------------------------------------------ the text

    def _finish(self) -> KernelSource:
        eqn = self.eqn
        sizes = [f"s{k}" for k in range(len(self.sizes))]
        params = sizes + [self.names[v] for v in self.array_inputs] + \
            [self.names[v] for v in self.scalar_inputs] + \
            [self.out_names[v] for v in self.array_outputs]
        lines = self.lines + [f"    for j in range({self.length}):"] + self.step + self.after
        commented = "\n".join(lines)
        code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        inner = "".join(f"\n\n{INNER_DECORATOR}\n{text}" for text in
                        [_HELPERS] + list(self.kernels.values()))
        digest = hashlib.sha1((",".join(params) + "\n" + code + inner).encode()) \
            .hexdigest()[:16]
        name = f"matrix_loop_{digest}"
        header = f"def {name}({', '.join(params)}):\n"
        source = header + f"    # {self.describe_scan(eqn)}\n" + commented + "\n" + inner + "\n"
        return KernelSource(source, header + code + "\n" + inner + "\n", name, self.sizes,
                            self.array_inputs, self.scalar_inputs, self.array_outputs,
                            self.scalar_outputs)


# Loops rather than NumPy's slice assignment and ``ascontiguousarray``: numba takes about two
# seconds to compile its first ``a[:] = b``, and a fraction of one for these.
_HELPERS = """def _copy(target, source):
    for k in range(source.size):
        target[k] = source[k]


@_funcgrad_njit
def _transpose(matrix):
    rows, columns = matrix.shape
    result = np.empty((columns, rows), matrix.dtype)
    for p in range(rows):
        for q in range(columns):
            result[q, p] = matrix[p, q]
    return result
"""


def _transposed(matrix: str) -> str:
    return matrix[:-2] if matrix.endswith(".T") else f"{matrix}.T"


def _uses_after(ir, steps):
    """For each step of ``ir``, the vars that later steps or the outputs read."""
    later: set = {a for a in ir.outvars if isinstance(a, Var)}
    result = [None] * len(steps)
    for index in range(len(steps) - 1, -1, -1):
        result[index] = set(later)
        step = steps[index]
        for eqn in (step.kernel.eqns() if step.kernel is not None else [step.eqn]):
            later.update(a for a in eqn.inputs if isinstance(a, Var))
    return result
