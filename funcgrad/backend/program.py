"""A compiled program: the generated Python function that runs kernels and NumPy calls.

Its source, with every IR equation as a comment, is kept on it as ``__source__``;
``FUNCGRAD_PRINT_SOURCE=1`` prints it when it is built.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from ..core.array import Array
from ..core.ir import IR, Literal, Var
from ..core.schedule import is_matrix_product, returns_new_array
from ..ops.contraction import pair_plan
from . import codegen, loops, matrix_loops
from .compiler import compile_kernel, exact_math

# Loops and branches, whose bodies are compiled as functions of their own.
_CONTROL = {"cond", "scan", "while"}


def _to_user(value):
    return np.asarray(value).view(Array)


# The dtypes NumPy gives Python's bool, int, float and complex: a kernel's Python scalar of
# one of these becomes a 0-d array of its dtype without naming it (which costs ~40% more).
_PYTHON_DTYPES = {np.dtype(t) for t in (np.bool_, np.int64, np.float64, np.complex128)
                  if np.asarray(t(1).item()).dtype == t}


def _python_name(index: int) -> str:
    return f"v{index}"


class ProgramSource:
    """Generated source and the pieces (kernels, constants, calls) its namespace needs.

    Arrays that kernels write and that no output can share memory with are the program's
    *workspace*: allocated once and kept between calls (in a pool, one set per concurrent
    call), as XLA keeps its temporary buffers. Freshly allocated arrays of a few hundred KiB
    each call are handed back to the system and faulted in again page by page: without a
    workspace the mlp program ran 3.3x slower in a process that had not (like torch's or
    JAX's import) raised glibc's allocation thresholds.
    """

    def __init__(self, ir: IR, single_output: bool = False, internal: bool = False,
                 matrix: bool = True):
        self.ir = ir
        self.matrix = matrix   # scans with matrix products may be one function each
        self.steps, origin = codegen.plan(ir)
        self.names: dict = {}
        for var in ir.constvars + ir.invars:
            self._name(var)
        self.kernels = []            # (KernelSource, whether it is a scalar kernel)
        # The sub-programs of loops and branches (name in the namespace -> ProgramSource),
        # each a generated function of its own that the loop calls once a step.
        self.children: dict = {}
        self.namespace = {"np": np, "_to_user": _to_user, "_Array": Array,
                          "_asarray": np.asarray}
        used_later = self._uses_after()
        # Kernel results that only outputs read: made 0-d Arrays at once, never reboxed.
        self.read = {a for step in self.steps for eqn in
                     (step.kernel.eqns() if step.kernel is not None else [step.eqn])
                     for a in eqn.inputs}
        self.unboxed: set = set()
        if internal:   # a body's results go back to a loop, as NumPy scalars of their dtype
            self.read.update(a for a in ir.outvars if isinstance(a, Var))
        describe = codegen.equation_names(ir, origin)
        sources = {}   # step index -> KernelSource, for kernel and native steps
        for index, step in enumerate(self.steps):
            if step.kernel is not None:
                # Vectorisable math pays in loops; a scalar program keeps NumPy's functions.
                fast_math = not exact_math() and not step.kernel.is_scalar
                sources[index] = codegen.kernel_source(step.kernel, used_later[index],
                                                       describe, fast_math)
            elif step.native:
                sources[index] = codegen.native_source(step.eqn)
            elif step.eqn.primitive.name in ("scan", "while"):
                loop = loops.loop_source(step.eqn, describe)   # None: not a small body
                if loop is None and matrix:
                    loop = matrix_loops.loop_source(step.eqn, describe)
                if loop is not None:
                    sources[index] = loop
        # var -> its buffer's shape. A kernel's output is its buffer; a product is the
        # buffer or a view of it (the variable is rebound to what the product returns).
        # Where the variable is the buffer, the workspace also keeps the flat view that
        # kernels take (``self.flat``: var -> its name), made once rather than every call.
        self.workspace, self.flat = {}, {}
        for var, shape, is_buffer in _workspace(ir, self.steps, sources):
            self.workspace[var] = shape
            if is_buffer:
                self.flat[var] = self._name(var) + "f"
        params = ", ".join(self._name(v) for v in ir.invars)
        lines = [f"def program({params}):"]
        # A 0-d argument arrives as the caller gave it: a Python float, int or bool on the
        # scalar fast path. Kernels take those as they are; NumPy code (a reshape, a call of
        # an implementation) needs the NumPy scalar that the signature was traced with.
        called = {a for step in self.steps if step.kernel is None and not step.native
                  for a in step.eqn.inputs}
        for var in ir.invars:
            if var.aval.ndim == 0 and var in called:
                dtype = var.aval.dtype.name
                self.namespace[f"_{dtype}"] = np.dtype(dtype).type
                lines.append(f"    {self.names[var]} = _{dtype}({self.names[var]})")
        if self.workspace:
            buffers = [(shape, var.aval.dtype, var in self.flat)
                       for var, shape in self.workspace.items()]
            self.namespace["_pool"] = []
            self.namespace["_workspace"] = lambda: _allocate(buffers)
            names = ", ".join(self._name(var) + (f", {self.flat[var]}" if var in self.flat
                                                 else "") for var in self.workspace)
            # ``pop`` is atomic; a test of ``_pool`` before it would race with other threads.
            lines += ["    try:", "        _buffers = _pool.pop()", "    except IndexError:",
                      "        _buffers = _workspace()", f"    {names}, = _buffers"]
        for index, step in enumerate(self.steps):
            if step.kernel is not None:
                lines += self._kernel_lines(sources[index], step.kernel.eqns(),
                                            step.kernel.is_scalar)
            elif index in sources:   # a native step, or a whole loop in one kernel
                lines += [f"    # {describe(step.eqn)}"]
                lines += self._kernel_lines(sources[index], [step.eqn], False)
            elif step.eqn.primitive.name in _CONTROL:
                lines += self._control_lines(step.eqn, describe)
            else:
                lines += self._call_lines(step.eqn, describe)
        if self.workspace:
            lines.append("    _pool.append(_buffers)")
        if internal:   # a loop's body: its values go back to the program that calls it
            outs = ", ".join(self._read(a) for a in ir.outvars)
            lines.append(f"    return ({outs}{',' if len(ir.outvars) == 1 else ''})")
            self._finish(lines)
            return
        # Outputs are what the user gets: Arrays (core.array), 0-d ones too, as eagerly.
        passed_through = set(ir.constvars + ir.invars)
        outs = ", ".join(f"_to_user({self._read(a)})" if a in passed_through else
                         f"{self._read(a)}.view(_Array)" if a.aval.ndim else
                         f"_asarray({self._read(a)}).view(_Array)" if a not in self.unboxed
                         or a.aval.dtype in _PYTHON_DTYPES else
                         f"_asarray({self._read(a)}, _{a.aval.dtype.name}).view(_Array)"
                         for a in ir.outvars)
        if single_output:   # the caller's output is one array: return it, not a 1-tuple
            lines.append(f"    return {outs}")
        else:
            lines.append(f"    return ({outs}{',' if len(ir.outvars) == 1 else ''})")
        self._finish(lines)

    def _finish(self, lines):
        self.source = "\n".join(lines) + "\n"
        for var, value in zip(self.ir.constvars, self.ir.consts):
            # Kernels read flat C-order views: a transposed constant (a Jacobian's basis
            # product, say) would otherwise be copied by ``reshape(-1)`` on every call.
            if isinstance(value, np.ndarray):
                value = np.ascontiguousarray(value)
            self.namespace[self.names[var]] = value

    def _name(self, var) -> str:
        if var not in self.names:
            self.names[var] = _python_name(len(self.names))
        return self.names[var]

    def _flat(self, var) -> str:
        """The flat C-order array a kernel takes for ``var``."""
        return self.flat.get(var) or f"{self.names[var]}.reshape(-1)"

    def _read(self, atom) -> str:
        if isinstance(atom, Literal):
            return f"np.{np.asarray(atom.val).dtype.name}({codegen.literal_code(atom.val)})"
        return self.names[atom]

    def _uses_after(self):
        """For each step, the vars that later steps or the outputs read."""
        later: set = {a for a in self.ir.outvars if isinstance(a, Var)}
        result = [None] * len(self.steps)
        for index in range(len(self.steps) - 1, -1, -1):
            result[index] = set(later)
            step = self.steps[index]
            eqns = step.kernel.eqns() if step.kernel is not None else [step.eqn]
            for eqn in eqns:
                later.update(a for a in eqn.inputs if isinstance(a, Var))
        return result

    def _kernel_lines(self, source, eqns, is_scalar: bool):
        self.kernels.append((source, is_scalar))
        self.namespace.setdefault(source.name, None)   # filled in once compiled
        lines = [f"    # kernel {source.name}: " + ", ".join(e.primitive.name for e in eqns)]
        args = [] if is_scalar else [str(size) for size in source.loop_sizes]
        args += [self._flat(var) for var in source.array_inputs]
        args += [self.names[v] for v in source.scalar_inputs]
        for var in source.array_outputs:
            self._name(var)
            if var not in self.workspace:
                lines.append(f"    {self.names[var]} = np.empty({var.aval.shape!r}, "
                             f"np.{var.aval.dtype.name})")
            args.append(self._flat(var))
        results = [self._name(v) for v in source.scalar_outputs]
        call = f"{source.name}({', '.join(args)})"
        if results:
            lines.append(f"    {', '.join(results)}, = {call}")
            for var in source.scalar_outputs:   # numba returns Python scalars: rebox them
                name, dtype = self.names[var], var.aval.dtype.name
                self.namespace[f"_{dtype}"] = np.dtype(dtype).type
                if var in self.read:
                    lines.append(f"    {name} = _{dtype}({name})")
                else:
                    self.unboxed.add(var)
        else:
            lines.append(f"    {call}")
        return lines

    def _call_lines(self, eqn, describe):
        args = ", ".join(self._read(a) for a in eqn.inputs)
        outs = [self._name(v) for v in eqn.outputs]
        lines = [f"    # {describe(eqn)}"]
        inline = _inline_numpy(eqn, [self._read(a) for a in eqn.inputs])
        if inline is not None:
            lines.append(f"    {outs[0]} = {inline}")
            if eqn.primitive.name == "reshape" and eqn.inputs[0] in self.flat:
                # A reshape of a workspace buffer has the buffer's flat view.
                self.flat[eqn.outputs[0]] = self.flat[eqn.inputs[0]]
            return lines + self._scalar_lines(eqn)
        key = f"call{len(self.namespace)}"
        impl = eqn.primitive.impl
        if is_matrix_product(eqn):   # the plan itself: no parsing or lookup per call
            impl = pair_plan(eqn.params["spec"], *(a.aval.shape for a in eqn.inputs))
            self.namespace[key] = impl
        elif eqn.primitive.compiled_impl is not None:   # its own code (see core.primitive)
            self.namespace[key] = eqn.primitive.compiled_impl(eqn)
        else:
            self.namespace[key] = functools.partial(impl, **eqn.params) if eqn.params else impl
        if eqn.outputs[0] in self.workspace:
            lines.append(f"    {outs[0]} = {key}({args}, out={outs[0]})")
        elif eqn.primitive.multiple_results:
            lines.append(f"    {', '.join(outs)}, = {key}({args})")
        else:
            lines.append(f"    {outs[0]} = {key}({args})")
        return lines + self._scalar_lines(eqn)

    def _subprogram(self, ir: IR) -> str:
        """The name under which the compiled function of the sub-program ``ir`` is called."""
        for name, child in self.children.items():
            if child.ir is ir:
                return name
        name = f"_sub{len(self.children)}"
        self.children[name] = ProgramSource(ir, internal=True, matrix=self.matrix)
        self.namespace[name] = None   # filled in by ``_instantiate``
        return name

    def _control_lines(self, eqn, describe):
        """A loop or a branch as Python control flow around calls of its compiled bodies:
        no step interprets an IR (the primitive's ``impl`` would, equation by equation)."""
        name, params = eqn.primitive.name, eqn.params
        operands = [self._read(a) for a in eqn.inputs]
        outs = [self._name(v) for v in eqn.outputs]
        lines = [f"    # {describe(eqn)}"]

        def unpack(names):
            return f"{', '.join(names)}," if names else "_"

        if name == "cond":
            true, false = (self._subprogram(params[k]) for k in ("true_branch", "false_branch"))
            args = ", ".join(operands[1:])
            lines += [f"    if {operands[0]}:", f"        {unpack(outs)} = {true}({args})",
                      "    else:", f"        {unpack(outs)} = {false}({args})"]
        elif name == "while":
            condition, body = (self._subprogram(params[k]) for k in ("condition", "body"))
            split = params["num_condition_consts"]
            condition_consts = operands[:split]
            body_consts = operands[split:split + params["num_body_consts"]]
            init = operands[split + params["num_body_consts"]:]
            if outs:
                lines.append(f"    {unpack(outs)} = {', '.join(init)},")
            lines += [f"    while {condition}({', '.join(condition_consts + outs)})[0]:",
                      f"        {unpack(outs)} = {body}({', '.join(body_consts + outs)})"]
        else:   # scan
            body = self._subprogram(params["body"])
            num_consts, num_carry = params["num_consts"], params["num_carry"]
            length = params["length"]
            consts = operands[:num_consts]
            init = operands[num_consts:num_consts + num_carry]
            xs = operands[num_consts + num_carry:]
            carry, ys = outs[:num_carry], outs[num_carry:]
            if carry:
                lines.append(f"    {unpack(carry)} = {', '.join(init)},")
            for y, var in zip(ys, eqn.outputs[num_carry:]):
                lines.append(f"    {y} = np.empty({var.aval.shape!r}, "
                             f"np.{var.aval.dtype.name})")
            steps = f"range({length} - 1, -1, -1)" if params["reverse"] else f"range({length})"
            step_ys = [f"_y{k}" for k in range(len(ys))]
            args = ", ".join(consts + carry + [f"{x}[_i]" for x in xs])
            lines += [f"    for _i in {steps}:", f"        {unpack(carry + step_ys)} = "
                      f"{body}({args})"]
            lines += [f"        {y}[_i] = {step_y}" for y, step_y in zip(ys, step_ys)]
        return lines + self._scalar_lines(eqn)

    def _scalar_lines(self, eqn):
        # Kernels take 0-d values as NumPy scalars, never as 0-d arrays.
        return [f"    {self.names[v]} = np.asarray({self.names[v]})[()]"
                for v in eqn.outputs if v.aval.ndim == 0]


def _allocate(buffers) -> tuple:
    """A workspace: each buffer, followed by its flat view where kernels read it as one."""
    arrays = []
    for shape, dtype, flat in buffers:
        arrays.append(np.empty(shape, dtype))
        if flat:
            arrays.append(arrays[-1].reshape(-1))
    return tuple(arrays)


def _workspace(ir: IR, steps, sources) -> list:
    """``(var, buffer shape, whether var is the buffer)`` for each array a kernel writes or a
    matrix product fills that no output of ``ir`` can share memory with, in program order.

    A kernel writes into arrays of its own, and so does a call that ``returns_new_array``; any
    other call (a reshape, a slice, ...) may return a view of an operand, so its outputs are
    taken to share memory with all of its operands.
    """
    shares: dict = {}       # var -> the written arrays whose memory it may share
    written = []
    for index, step in enumerate(steps):
        if index in sources:    # a kernel or a native step
            for var in sources[index].array_outputs:
                shares[var] = {var}
                written.append((var, var.aval.shape, True))
            continue
        if is_matrix_product(step.eqn):
            var = step.eqn.outputs[0]
            plan = pair_plan(step.eqn.params["spec"], *(a.aval.shape for a in step.eqn.inputs))
            if plan.matmul_shape:   # not a dot product of vectors
                shares[var] = {var}
                written.append((var, plan.product_shape, plan.perm_out is None))
            continue
        if returns_new_array(step.eqn):
            continue
        reached = set()
        for atom in step.eqn.inputs:
            reached |= shares.get(atom, set()) if isinstance(atom, Var) else set()
        for var in step.eqn.outputs:
            shares[var] = reached
    escaping = set()
    for atom in ir.outvars:
        if isinstance(atom, Var):
            escaping |= shares.get(atom, set())
    return [entry for entry in written if entry[0] not in escaping]


def _inline_numpy(eqn, operands):
    """A NumPy expression for cheap shape and float-reduction equations, else None.

    Written into the program itself, these cost a fraction of a call through the primitive's
    implementation (they matter in programs of many small steps).
    """
    name, params = eqn.primitive.name, eqn.params
    if name == "reshape":
        return f"{operands[0]}.reshape({params['new_shape']!r})"
    if name == "transpose":
        return f"{operands[0]}.transpose({params['permutation']!r})"
    if eqn.outputs[0].aval.dtype.kind == "f" and name in ("reduce_sum", "reduce_max",
                                                          "reduce_min"):
        function = {"reduce_sum": "np.add", "reduce_max": "np.maximum",
                    "reduce_min": "np.minimum"}[name]
        return f"{function}.reduce({operands[0]}, axis={params['axes']!r})"
    return None


def _instantiate(program_source: ProgramSource, kernels: dict):
    """The function of ``program_source``, with its sub-programs' functions and its kernels
    compiled first; ``kernels`` collects each kernel's source by name."""
    namespace = dict(program_source.namespace)
    for name, child in program_source.children.items():
        namespace[name] = _instantiate(child, kernels)
    for source, is_scalar in program_source.kernels:
        namespace[source.name] = compile_kernel(source, is_scalar)
        kernels[source.name] = source.source
    exec(compile(program_source.source, "<funcgrad program>", "exec"), namespace)
    program = namespace["program"]
    program.__source__ = program_source.source + "".join(
        f"\n# {name}:\n{namespace[name].__source__}" for name in program_source.children)
    return program


def _has_matrix_loop(program_source: ProgramSource) -> bool:
    return any(source.name.startswith("matrix_loop_") for source, _ in program_source.kernels) \
        or any(_has_matrix_loop(child) for child in program_source.children.values())


def build(ir: IR, single_output: bool = False):
    """Compile every kernel of ``ir`` and return the program function (blocks on numba).

    The program returns the tuple of outputs, or with ``single_output`` the one output.
    """
    kernels: dict = {}
    program_source = ProgramSource(ir, single_output)
    try:
        program = _instantiate(program_source, kernels)
    except Exception:
        if not _has_matrix_loop(program_source):
            raise
        # A scan's whole-loop function with matrix products (numba's np.dot, SciPy's BLAS)
        # that numba would not compile: the scans call their body programs instead.
        kernels.clear()
        program = _instantiate(ProgramSource(ir, single_output, matrix=False), kernels)
    program.__source__ += "".join("\n" + text for text in kernels.values())
    if os.environ.get("FUNCGRAD_PRINT_SOURCE") == "1":
        print(program.__source__)
    return program


def failing_primitives(ir: IR) -> list[str]:
    """The primitives of ``ir`` (and of its loops' bodies) that run inside kernels (named
    when numba fails)."""
    names = []
    for step in codegen.plan(ir)[0]:
        if step.kernel is None and not step.native and step.eqn.primitive.name in _CONTROL:
            for param in step.eqn.params.values():
                if isinstance(param, IR):
                    names += [n for n in failing_primitives(param) if n not in names]
            continue
        eqns = step.kernel.eqns() if step.kernel is not None else [step.eqn] if step.native \
            else []
        for eqn in eqns:
            if eqn.primitive.name not in names:
                names.append(eqn.primitive.name)
    return names
