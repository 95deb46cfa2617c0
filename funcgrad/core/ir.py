"""The IR: typed single-assignment programs (like a jaxpr), their printer and their checker.

An ``IR`` is ``{ lambda consts ; inputs . let equations in outputs }``. Each ``Eqn`` applies one
primitive to ``Var`` and ``Literal`` inputs and defines new ``Var`` outputs. Parameters are
static Python data; a parameter may itself be an ``IR`` (control flow and custom rules), which
the printer and the checker walk recursively. A transformed program is just another ``IR``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .aval import ShapedArray, aval_of


class Var:
    """A single-assignment variable; it is identified by object identity."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var<{self.aval.short()}>"


class Literal:
    """A scalar constant written inline in the IR."""

    __slots__ = ("val", "aval")

    def __init__(self, val):
        self.val = val
        self.aval = aval_of(val)

    def __repr__(self):
        return f"Literal({self.val!r})"


class Eqn:
    """``outputs = primitive[params](*inputs)``."""

    __slots__ = ("primitive", "inputs", "outputs", "params")

    def __init__(self, primitive, inputs, outputs, params):
        self.primitive = primitive
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def __repr__(self):
        return f"Eqn({self.primitive.name}, {len(self.inputs)} in, {len(self.outputs)} out)"


class IR:
    """A closed program: constant variables with their values, inputs, equations, outputs.

    ``consts`` holds the values of ``constvars``: NumPy arrays, or tracers of an enclosing
    transformation that the traced function closed over.
    """

    __slots__ = ("constvars", "consts", "invars", "eqns", "outvars")

    def __init__(self, constvars, consts, invars, eqns, outvars):
        self.constvars = constvars
        self.consts = consts
        self.invars = invars
        self.eqns = eqns
        self.outvars = outvars

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pretty_print(self)

    def __repr__(self):
        return pretty_print(self)


# ----------------------------------------------------------------------------------- printer

def _var_name(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> ba, ... (the jaxpr naming scheme)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    name = ""
    index += 1
    while index:
        index, digit = divmod(index - 1, 26)
        name = letters[digit] + name
    return name


class _Names:
    def __init__(self):
        self.names: dict[int, str] = {}

    def define(self, var: Var) -> str:
        name = _var_name(len(self.names))
        self.names[id(var)] = name
        return f"{name}:{var.aval.short()}"

    def use(self, atom) -> str:
        if isinstance(atom, Literal):
            return _format_literal(atom.val)
        return self.names.get(id(atom), "?")


def _format_literal(value) -> str:
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return str(bool(value))
    item = value.item()
    return repr(item) if isinstance(item, float) else str(item)


def _format_param(value, indent: int, brief: bool = False) -> str:
    if isinstance(value, IR):
        if brief:
            inputs = " ".join(a.short() for a in value.in_avals)
            count = len(value.eqns)
            return f"{{ lambda ; {inputs}. {count} equation{'' if count == 1 else 's'} }}"
        return pretty_print(value, indent)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, tuple):
        inner = ",".join(_format_param(v, indent, brief) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


def pretty_print(ir: IR, indent: int = 0, brief_subprograms: bool = False) -> str:
    """Print ``ir`` in the jaxpr text style, one equation a line.

    An equation with sub-programs (control flow) lists its parameters one a line, each
    sub-program printed in full under it; with ``brief_subprograms`` a sub-program is
    summarised instead, so that every equation stays on one line.
    """
    names = _Names()
    consts = " ".join(names.define(v) for v in ir.constvars)
    inputs = " ".join(names.define(v) for v in ir.invars)
    pad = " " * indent
    lines = [f"{{ lambda {consts}{' ' if consts else ''}; {inputs}. let"]
    for eqn in ir.eqns:
        outs = " ".join(names.define(v) for v in eqn.outputs)
        items = sorted(eqn.params.items())
        args = " ".join(names.use(a) for a in eqn.inputs)
        if not brief_subprograms and any(isinstance(v, IR) for _, v in items):
            inner = pad + " " * 6
            lines.append(f"{pad}    {outs} = {eqn.primitive.name}[")
            lines += [f"{inner}{k}={_format_param(v, len(inner))}" for k, v in items]
            lines.append(f"{pad}    ] {args}".rstrip())
            continue
        params = ""
        if items:
            params = "[" + " ".join(f"{k}={_format_param(v, indent, brief_subprograms)}"
                                    for k, v in items) + "]"
        lines.append(f"{pad}    {outs} = {eqn.primitive.name}{params} {args}".rstrip())
    outs = ", ".join(names.use(v) for v in ir.outvars)
    lines.append(f"{pad}  in ({outs}{',' if len(ir.outvars) == 1 else ''}) }}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- checker

class IRTypeError(Exception):
    """The IR is malformed: a variable used before definition, defined twice, or mistyped."""


def typecheck(ir: IR) -> None:
    """Check that ``ir`` is well formed: single assignment, defined before use, types agree."""
    defined: set[int] = set()

    def define(var):
        if not isinstance(var, Var):
            raise IRTypeError(f"expected a Var to be defined, got {var!r}")
        if id(var) in defined:
            raise IRTypeError(f"variable {var!r} is defined twice")
        defined.add(id(var))

    def check_use(atom, where):
        if isinstance(atom, Literal):
            return
        if id(atom) not in defined:
            raise IRTypeError(f"{where} uses {atom!r} before it is defined")

    if len(ir.constvars) != len(ir.consts):
        raise IRTypeError(f"{len(ir.constvars)} constvars but {len(ir.consts)} const values")
    for var in ir.constvars + ir.invars:
        define(var)
    for eqn in ir.eqns:
        for atom in eqn.inputs:
            check_use(atom, f"equation {eqn.primitive.name}")
        for param in eqn.params.values():
            if isinstance(param, IR):
                typecheck(param)
        expected = eqn.primitive.abstract_eval(*[a.aval for a in eqn.inputs], **eqn.params)
        if not eqn.primitive.multiple_results:
            expected = [expected]
        got = [v.aval for v in eqn.outputs]
        if list(expected) != got:
            raise IRTypeError(
                f"equation {eqn.primitive.name}: outputs typed "
                f"{[a.short() for a in got]}, but its shape rule gives "
                f"{[a.short() for a in expected]}")
        for var in eqn.outputs:
            define(var)
    for atom in ir.outvars:
        check_use(atom, "the output list")


def count_eqns(ir: IR) -> dict[str, Any]:
    """How many equations of each primitive ``ir`` holds (handy in tests and benchmarks)."""
    counts: dict[str, int] = {}
    for eqn in ir.eqns:
        counts[eqn.primitive.name] = counts.get(eqn.primitive.name, 0) + 1
    return counts


def _sub_programs(params) -> list:
    return [v for value in params.values()
            for v in (value if isinstance(value, (tuple, list)) else (value,))
            if isinstance(v, IR)]


def has_effect(eqn) -> bool:
    """Whether ``eqn`` acts on the world when it runs: an ``effectful`` primitive, or one
    whose sub-programs (a loop's body, a branch) hold one."""
    return eqn.primitive.effectful or any(
        has_effect(inner) for sub in _sub_programs(eqn.params) for inner in sub.eqns)


def drop_effects(ir: IR) -> IR:
    """``ir`` without its effectful equations, in sub-programs too: for a program that
    recomputes values another equation has computed (and printed) already, such as the
    forward pass that a reverse rule runs again for its residuals."""
    if not any(has_effect(eqn) for eqn in ir.eqns):
        return ir
    eqns = []
    for eqn in ir.eqns:
        if eqn.primitive.effectful:
            continue
        if has_effect(eqn):
            params = {k: drop_effects(v) if isinstance(v, IR) else
                      type(v)(drop_effects(x) if isinstance(x, IR) else x for x in v)
                      if isinstance(v, (tuple, list)) else v for k, v in eqn.params.items()}
            eqn = Eqn(eqn.primitive, eqn.inputs, eqn.outputs, params)
        eqns.append(eqn)
    return IR(ir.constvars, ir.consts, ir.invars, eqns, ir.outvars)


def dead_code_elimination(ir: IR) -> IR:
    """A copy of ``ir`` without the equations no output depends on (primitives are pure, but
    for the effectful ones, ``has_effect``, which are always kept, with what they read)."""
    live = {id(a) for a in ir.outvars if isinstance(a, Var)}
    kept = []
    for eqn in reversed(ir.eqns):
        if any(id(v) in live for v in eqn.outputs) or has_effect(eqn):
            kept.append(eqn)
            live.update(id(a) for a in eqn.inputs if isinstance(a, Var))
    kept.reverse()
    used = [(v, c) for v, c in zip(ir.constvars, ir.consts) if id(v) in live]
    return IR([v for v, _ in used], [c for _, c in used], ir.invars, kept, ir.outvars)


def common_subexpression_elimination(ir: IR) -> IR:
    """A copy of ``ir`` in which equations that repeat an earlier one (same primitive, inputs
    and parameters; primitives are pure) are dropped and their outputs reuse the earlier ones.

    Nested derivatives recompute the same terms (``cos x`` in every order of ``sin``), and
    forward and reverse rules share subterms (``tanh`` squares its output in both).
    """
    replacement: dict = {}
    seen: dict = {}
    eqns = []

    def atom_key(atom):
        if isinstance(atom, Literal):
            value = np.asarray(atom.val)
            return ("literal", value.dtype.str, value.tobytes())
        return id(replacement.get(id(atom), atom))

    for eqn in ir.eqns:
        inputs = [replacement.get(id(a), a) if isinstance(a, Var) else a for a in eqn.inputs]
        try:
            key = (eqn.primitive, tuple(atom_key(a) for a in inputs),
                   tuple(sorted(eqn.params.items())))
            hash(key)
        except TypeError:   # an unhashable parameter: keep the equation as it is
            key = None
        earlier = seen.get(key) if key is not None else None
        if earlier is not None:
            for old, new in zip(eqn.outputs, earlier.outputs):
                replacement[id(old)] = new
            continue
        if inputs != eqn.inputs:
            eqn = Eqn(eqn.primitive, inputs, eqn.outputs, eqn.params)
        if key is not None:
            seen[key] = eqn
        eqns.append(eqn)
    outvars = [replacement.get(id(a), a) if isinstance(a, Var) else a for a in ir.outvars]
    return IR(ir.constvars, ir.consts, ir.invars, eqns, outvars)
