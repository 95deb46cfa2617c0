"""Differential fuzzing: random funcgrad programs through every transformation, one answer.

``hypothesis`` draws a program: a DAG of 3-12 operations over 1-3 inputs of shapes that
broadcast (elementwise unary and binary functions, reductions with axes and keepdims,
reshapes, transposes, slicing and indexing, ``.at`` updates, products, and ``fg.cond``,
``fg.scan``, ``fg.fori_loop``, ``fg.while_loop`` and ``fg.checkpoint`` with bodies that are
small programs of their own). A program is data, a list of ``Op`` records whose code is a
template over the backend's names, so the same program renders to funcgrad code (run, and
printed when a check fails), to NumPy code (the independent float64 oracle) and to JAX code
(compared with when JAX is installed).

Inputs stay inside each operation's smooth domain: every operation knows bounds on its
operands' values, and where an operand's bounds leave the domain the operation is drawn on an
adapted operand (``log(x * x + 0.5)``, ``arcsin(0.9 * tanh(x))``). Kinks and ties (``abs``
near 0, ``maximum`` of close values, a ``cond`` predicate or a ``while_loop`` trip count
near its switch) are measured on the concrete inputs by the NumPy oracle, and an example too
close to one is rejected.

``check_case`` runs one program through: the eager value; ``fg.jit`` on its interpreted tier
and (for some programs) its native tier and, in a new process, native code from the disk
cache, on every argument kind (Python floats, NumPy scalars, 0-d arrays, fg.Arrays, C- and
F-ordered arrays, strided and negatively strided views, float32, int64, bool, float32 mixed
with float64); ``grad`` (on every argument kind and in float32), ``jit(grad)``,
``grad(jit)``, ``vjp``, ``jvp``, ``jit(jvp)``, ``vmap``, ``jit(vmap)``, ``vmap(grad)``,
``jacrev`` against ``jacfwd``, a Hessian-vector product by ``grad`` of ``grad``, ``hessian``
and ``jacfwd(jacrev)``. Values are compared with the NumPy oracle, derivatives with central
differences of it (Richardson-extrapolated; skipped where its two steps disagree) and with
each other (forward mode against reverse mode), and with JAX in float64 when it is installed.

Programs on complex inputs (``complex_programs``, ``ComplexRun``) are drawn by a generator of
their own, over complex128 inputs with bounds on their values' moduli, and checked for value
(eager, traced, ``jit``, in complex128 and complex64), ``grad`` in JAX's convention against
central differences along each element's real and imaginary directions, ``jvp`` against
central differences and against ``vjp`` (under the pairing ``Re(sum(a * b))``), and JAX.

``python -m tests.fuzz --n 2000 --seed S`` runs the long profile (then ``--complex``, by
default ``n // 3``, complex programs) and prints a summary; a
failure prints the shrunk program as a script that reproduces it. ``tests/test_fuzz.py`` runs
the short profile in the test suite. (One file, longer than most: the operation tables, the
generator, the oracle and the checks are one tool, and read best side by side.)
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import itertools
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
import traceback
import types
import warnings
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp

try:   # optional: funcgrad's derivatives are also compared with JAX's, in float64
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None

MAX_SIZE = 48          # elements of any value: Jacobians and Hessians stay small
MAX_NDIM = 4
KINK_MARGIN = 0.02     # how far the inputs keep every kink, tie and switch
STATS: collections.Counter = collections.Counter()   # checks run, examples rejected, ...


# ----------------------------------------------------------------------- the representation

@dataclasses.dataclass(frozen=True)
class Value:
    """A value of a program: its name in the rendered code, its shape, bounds on its elements.

    A literal constant is a Value too (``name`` is its text). A ``plain`` value is what NumPy
    or Python computes when ``f`` runs eagerly: an input, or Python operators on inputs
    (``x0 + x0``); it lacks what funcgrad's arrays have (methods of Python floats, traced
    indices of NumPy arrays), so only funcgrad's values are called with those.
    """
    name: str
    shape: tuple
    low: float
    high: float
    plain: bool = False
    literal: bool = False


@dataclasses.dataclass(frozen=True)
class Op:
    """``out = code``. ``code`` names its operands and bodies and has the placeholders
    ``{np}``, ``{fg}`` and ``{at}`` for the backend's modules (``BACKENDS``); ``kink`` is a
    NumPy expression whose smallest element is the distance from the nearest kink, tie or
    switch (None where the operation is smooth)."""
    out: Value
    code: str
    operands: tuple[str, ...]
    kink: str | None = None
    bodies: tuple[Body, ...] = ()
    control: str | None = None     # "cond", "scan", "fori_loop", "while_loop", "checkpoint"


@dataclasses.dataclass(frozen=True)
class Body:
    """A function: ``def name(*params): ops; return results``; ``results`` are expressions."""
    name: str
    params: tuple[Value, ...]
    ops: tuple[Op, ...]
    results: tuple[str, ...]

    def walk(self):
        """Every op, nested bodies included."""
        for op in self.ops:
            yield op
            for body in op.bodies:
                yield from body.walk()


BACKENDS = {
    "funcgrad": {"np": "fnp", "fg": "fg", "at": "fnp.at"},
    "numpy": {"np": "np", "fg": "ref", "at": "ref.at"},
    "jax": {"np": "jnp", "fg": "jref", "at": "jref.at"},
}


def render(body: Body, backend: str, indent: str = "") -> list[str]:
    """The source lines of ``body`` for ``backend``; the NumPy rendering records kinks."""
    names = BACKENDS[backend]
    lines = [f"{indent}def {body.name}({', '.join(p.name for p in body.params)}):"]
    for op in body.ops:
        for inner in op.bodies:
            lines += render(inner, backend, indent + "    ")
        lines.append(f"{indent}    {op.out.name} = {op.code.format(**names)}")
        if backend == "numpy" and op.kink is not None:
            lines.append(f"{indent}    ref.kink({op.kink.format(**names)})")
    results = [r.format(**names) for r in body.results]
    lines.append(f"{indent}    return {results[0] if len(results) == 1 else ', '.join(results)}")
    return lines


def mask_text(mask: np.ndarray) -> str:
    """A boolean array as source text."""
    return f"np.array({mask.tolist()!r})"


# ------------------------------------------------------------------------------- domains
# A domain is where an operation is smooth (and its values moderate). ``adapter`` maps any
# real into it ('@' is the operand); ``bound`` gives the adapter's output bounds.

@dataclasses.dataclass(frozen=True)
class Domain:
    low: float
    high: float
    adapter: str
    bound: Callable


def _square_bounds(low, high):
    if low <= 0 <= high:
        return 0.0, max(low * low, high * high)
    return tuple(sorted((low * low, high * high)))


def _monotone(f):
    return lambda low, high: tuple(sorted((f(low), f(high))))


DOMAINS = {
    "real": Domain(-100.0, 100.0, "{np}.arcsinh(@)", _monotone(math.asinh)),
    "moderate": Domain(-3.0, 3.0, "2.0 * {np}.tanh(@)",
                       _monotone(lambda v: 2.0 * math.tanh(v))),
    "bounded": Domain(-1.0, 1.0, "{np}.tanh(@)", _monotone(math.tanh)),
    "unit": Domain(-0.9, 0.9, "0.9 * {np}.tanh(@)", _monotone(lambda v: 0.9 * math.tanh(v))),
    "positive": Domain(0.3, 1e5, "(@ * @ + 0.5)",
                       lambda lo, hi: tuple(b + 0.5 for b in _square_bounds(lo, hi))),
    "above_one": Domain(1.2, 1e5, "(@ * @ + 1.5)",
                        lambda lo, hi: tuple(b + 1.5 for b in _square_bounds(lo, hi))),
    "near_one": Domain(0.5, 1.5, "(1.0 + 0.5 * {np}.tanh(@))",
                       _monotone(lambda v: 1.0 + 0.5 * math.tanh(v))),
}
# Literal operands are drawn inside their domain.
LITERALS = {"real": (0.5, -1.5, 2.0, 0.25), "moderate": (0.5, -1.5, 2.0),
            "positive": (1.5, 0.5, 3.0)}


def adapt(value: Value, domain: str) -> tuple[str, float, float]:
    """``value``'s expression inside ``domain``, and its bounds there."""
    d = DOMAINS[domain]
    if d.low <= value.low and value.high <= d.high:
        return value.name, value.low, value.high
    low, high = d.bound(value.low, value.high)
    return d.adapter.replace("@", value.name), low, high


# -------------------------------------------------------------------- the operation tables

def _corners(a, b, f):
    values = [f(x, y) for x in a for y in b]
    return min(values), max(values)


def _union(*bounds):
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


@dataclasses.dataclass(frozen=True)
class Elementwise:
    code: str                 # over {0}, {1}
    domains: tuple[str, ...]
    bound: Callable           # (bounds of each operand) -> bounds of the result
    kink: str | None = None   # over {0}, {1}


def _const(low, high):
    return lambda *bounds: (low, high)


def _mono1(f):
    return lambda a: _monotone(f)(*a)


UNARY = {
    "sin": Elementwise("{np}.sin({0})", ("real",), _const(-1.0, 1.0)),
    "cos": Elementwise("{np}.cos({0})", ("real",), _const(-1.0, 1.0)),
    "tan": Elementwise("{np}.tan({0})", ("unit",), _mono1(math.tan)),
    "arcsin": Elementwise("{np}.arcsin({0})", ("unit",), _mono1(math.asin)),
    "arccos": Elementwise("{np}.arccos({0})", ("unit",), _mono1(math.acos)),
    "arctan": Elementwise("{np}.arctan({0})", ("real",), _mono1(math.atan)),
    "sinh": Elementwise("{np}.sinh({0})", ("moderate",), _mono1(math.sinh)),
    "cosh": Elementwise("{np}.cosh({0})", ("moderate",),
                        lambda a: tuple(math.cosh(math.sqrt(b)) for b in _square_bounds(*a))),
    "tanh": Elementwise("{np}.tanh({0})", ("real",), _mono1(math.tanh)),
    "arcsinh": Elementwise("{np}.arcsinh({0})", ("real",), _mono1(math.asinh)),
    "arccosh": Elementwise("{np}.arccosh({0})", ("above_one",), _mono1(math.acosh)),
    "arctanh": Elementwise("{np}.arctanh({0})", ("unit",), _mono1(math.atanh)),
    "exp": Elementwise("{np}.exp({0})", ("moderate",), _mono1(math.exp)),
    "exp2": Elementwise("{np}.exp2({0})", ("moderate",), _mono1(lambda v: 2.0 ** v)),
    "expm1": Elementwise("{np}.expm1({0})", ("moderate",), _mono1(math.expm1)),
    "log": Elementwise("{np}.log({0})", ("positive",), _mono1(math.log)),
    "log2": Elementwise("{np}.log2({0})", ("positive",), _mono1(math.log2)),
    "log10": Elementwise("{np}.log10({0})", ("positive",), _mono1(math.log10)),
    "log1p": Elementwise("{np}.log1p({0})", ("positive",), _mono1(math.log1p)),
    "sqrt": Elementwise("{np}.sqrt({0})", ("positive",), _mono1(math.sqrt)),
    "cbrt": Elementwise("{np}.cbrt({0})", ("positive",), _mono1(lambda v: v ** (1 / 3))),
    "reciprocal": Elementwise("{np}.reciprocal({0})", ("positive",), _mono1(lambda v: 1 / v)),
    "square": Elementwise("{np}.square({0})", ("real",), lambda a: _square_bounds(*a)),
    "cube": Elementwise("{0} ** 3", ("real",), _mono1(lambda v: v ** 3)),
    "power": Elementwise("{0} ** 1.5", ("positive",), _mono1(lambda v: v ** 1.5)),
    "negative": Elementwise("-{0}", ("real",), lambda a: (-a[1], -a[0])),
    "sinc": Elementwise("{np}.sinc({0})", ("real",), _const(-0.22, 1.0)),
    "abs": Elementwise("abs({0})", ("real",), lambda a: (0.0, max(abs(a[0]), abs(a[1]))),
                       "np.abs({0})"),
    "clip": Elementwise("{np}.clip({0}, -0.5, 0.5)", ("real",), _const(-0.5, 0.5),
                        "np.minimum(np.abs({0} + 0.5), np.abs({0} - 0.5))"),
    "floor": Elementwise("{np}.floor({0})", ("real",),
                         lambda a: (math.floor(a[0]), math.floor(a[1])),
                         "np.abs({0} - np.round({0}))"),
    "round": Elementwise("{np}.round({0})", ("real",),
                         lambda a: (math.floor(a[0]), math.ceil(a[1])),
                         "np.abs({0} - np.floor({0}) - 0.5)"),
    "mod": Elementwise("{np}.mod({0}, 0.75)", ("real",), _const(0.0, 0.75),
                       "np.minimum(np.mod({0}, 0.75), 0.75 - np.mod({0}, 0.75))"),
    "ceil": Elementwise("{np}.ceil({0})", ("real",),
                        lambda a: (math.ceil(a[0]), math.ceil(a[1])),
                        "np.abs({0} - np.round({0}))"),
    "sign": Elementwise("{np}.sign({0}) * {0}", ("real",),
                        lambda a: (0.0, max(abs(a[0]), abs(a[1]))), "np.abs({0})"),
    "positive": Elementwise("{np}.positive({0})", ("real",), lambda a: a),
}

BINARY = {
    "add": Elementwise("{0} + {1}", ("real", "real"), lambda a, b: (a[0] + b[0], a[1] + b[1])),
    "subtract": Elementwise("{0} - {1}", ("real", "real"),
                            lambda a, b: (a[0] - b[1], a[1] - b[0])),
    "multiply": Elementwise("{0} * {1}", ("real", "real"),
                            lambda a, b: _corners(a, b, lambda x, y: x * y)),
    "divide": Elementwise("{0} / {1}", ("real", "positive"),
                          lambda a, b: _corners(a, b, lambda x, y: x / y)),
    "maximum": Elementwise("{np}.maximum({0}, {1})", ("real", "real"),
                           lambda a, b: (max(a[0], b[0]), max(a[1], b[1])),
                           "np.abs({0} - {1})"),
    "minimum": Elementwise("{np}.minimum({0}, {1})", ("real", "real"),
                           lambda a, b: (min(a[0], b[0]), min(a[1], b[1])),
                           "np.abs({0} - {1})"),
    "fmax": Elementwise("{np}.fmax({0}, {1})", ("real", "real"),
                        lambda a, b: (max(a[0], b[0]), max(a[1], b[1])), "np.abs({0} - {1})"),
    "arctan2": Elementwise("{np}.arctan2({0}, {1})", ("real", "positive"),
                           _const(-math.pi / 2, math.pi / 2)),
    "hypot": Elementwise("{np}.hypot({0}, {1})", ("real", "real"),
                         lambda a, b: (0.0, math.hypot(max(map(abs, a)), max(map(abs, b)))),
                         "np.hypot({0}, {1})"),
    "logaddexp": Elementwise("{np}.logaddexp({0}, {1})", ("real", "real"),
                             lambda a, b: (max(a[0], b[0]), max(a[1], b[1]) + math.log(2))),
    "logaddexp2": Elementwise("{np}.logaddexp2({0}, {1})", ("real", "real"),
                              lambda a, b: (max(a[0], b[0]), max(a[1], b[1]) + 1.0)),
    "power": Elementwise("{np}.power({0}, {1})", ("positive", "moderate"),
                         lambda a, b: _corners(a, b, lambda x, y: x ** y)),
    "where_greater": Elementwise("{np}.where({0} > {1}, {0}, {np}.sin({1}))", ("real", "real"),
                                 lambda a, b: _union(a, (-1.0, 1.0)), "np.abs({0} - {1})"),
    "fmin": Elementwise("{np}.fmin({0}, {1})", ("real", "real"),
                        lambda a, b: (min(a[0], b[0]), min(a[1], b[1])), "np.abs({0} - {1})"),
    "remainder": Elementwise("{np}.remainder({0}, {1})", ("real", "positive"),
                             lambda a, b: (0.0, b[1]),
                             "ref.remainder_gap({0}, {1})"),
    "floor_divide": Elementwise("{0} // {1}", ("real", "positive"),
                                lambda a, b: _corners(a, b, lambda x, y: math.floor(x / y)),
                                "ref.remainder_gap({0}, {1})"),
    "true_divide": Elementwise("{np}.true_divide({0}, {1})", ("real", "positive"),
                               lambda a, b: _corners(a, b, lambda x, y: x / y)),
}

# Piecewise constant or with jumps every unit: only on small operands, where the chance that
# no element is near a jump is good.
JUMPY = {"floor", "ceil", "round", "mod", "remainder", "floor_divide"}

# name: (method or function, bounds of the result given the operand's bounds and the number
# k of elements reduced, domain, kink)
REDUCTIONS = {
    "sum": (lambda a, k: (k * a[0], k * a[1]), "real", None),
    "mean": (lambda a, k: a, "real", None),
    "prod": (lambda a, k: (a[0] ** k, a[1] ** k), "near_one", None),
    "max": (lambda a, k: a, "real", "ref.gap({0}, {axis})"),
    "min": (lambda a, k: a, "real", "ref.gap(-{0}, {axis})"),
    "var": (lambda a, k: (0.0, (a[1] - a[0]) ** 2 / 4), "real", None),
    "std": (lambda a, k: (0.0, (a[1] - a[0]) / 2), "real", "np.std({0}, axis={axis})"),
    "logsumexp": (lambda a, k: (a[0], a[1] + math.log(k)), "real", None),
}


# ---------------------------------------------------------------------------- generation

def broadcast(*shapes) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def fits(shape, target) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without growing it."""
    return broadcast(shape, target) == tuple(target)


class Scope:
    """The values an operation may take, and the names of new ones.

    In a body (``fit`` is a shape) every value broadcasts to ``fit``, so that whatever the
    body computes can be returned as a value of that shape.
    """

    def __init__(self, values, counter, fit=None, depth=0, max_depth=2):
        self.values = list(values)
        self.counter = counter
        self.fit = fit
        self.depth = depth           # bodies around this scope
        self.max_depth = max_depth   # control flow is drawn in scopes of smaller depth
        self.used: set[str] = set()

    def fresh(self, prefix="v") -> str:
        return f"{prefix}{next(self.counter)}"

    def pick(self, draw, ok=lambda v: True, label="operand") -> Value | None:
        """A value in reach, unused and recent ones first (what shrinking moves toward)."""
        candidates = [v for v in reversed(self.values) if ok(v) and self.accepts(v.shape)]
        candidates.sort(key=lambda v: v.name in self.used)
        if not candidates:
            return None
        return candidates[draw(st.integers(0, len(candidates) - 1), label=label)]

    def accepts(self, shape) -> bool:
        size = math.prod(shape)
        return (1 <= size <= MAX_SIZE and len(shape) <= MAX_NDIM
                and (self.fit is None or fits(shape, self.fit)))

    def add(self, op: Op) -> Op:
        self.values.append(op.out)
        self.used.update(op.operands)
        return op


def shape_of(code: str, operands: dict[str, tuple]) -> tuple | None:
    """The shape of ``code`` (the NumPy rendering) on operands of these shapes, or None if
    NumPy refuses it."""
    namespace = {"np": np, "ref": NumpyReference()}
    namespace.update({name: np.full(shape, 0.75) for name, shape in operands.items()})
    try:
        with np.errstate(all="ignore"):
            return np.shape(eval(code.format(**BACKENDS["numpy"]), namespace))  # noqa: S307
    except (ValueError, IndexError, TypeError, np.exceptions.AxisError):
        return None


def make(scope, code, operands: list[Value], bounds, kink=None, bodies=(), control=None,
         shape=None, plain=None):
    """A new op, or None if its shape is not one this scope takes."""
    if shape is None:
        shape = shape_of(code, {v.name: v.shape for v in operands if not v.literal})
    if shape is None or not scope.accepts(shape):
        return None
    low, high = (float(b) for b in bounds)
    if not (math.isfinite(low) and math.isfinite(high)) or max(-low, high) > 1e6:
        return None
    if plain is None:
        plain = "{" not in code and all(v.plain for v in operands if not v.literal)
    out = Value(scope.fresh(), tuple(shape), low, high, plain)
    return Op(out, code, tuple(v.name for v in operands if not v.literal), kink, tuple(bodies),
              control)


def _axis_text(axis):
    return "" if axis is None else f"axis={axis}"


def _args_text(*parts):
    return ", ".join(p for p in parts if p)


@st.composite
def axes(draw, ndim, allow_tuple=True):
    """None, one axis (maybe negative) or, with ``allow_tuple``, a tuple of distinct axes."""
    if ndim == 0:
        return None
    kinds = ["none", "int", "tuple"] if allow_tuple and ndim > 1 else ["none", "int"]
    kind = draw(st.sampled_from(kinds), label="axis kind")
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1), label="axis")
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=2, max_size=ndim, unique=True),
                  label="axes")
    return tuple(chosen)


def _reduced(shape, axis) -> int:
    if axis is None:
        return math.prod(shape)
    axis = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axis)


# Each family draws one op in ``scope`` (None when it does not apply there).

def unary(draw, scope):
    name = draw(st.sampled_from(list(UNARY)), label="unary")
    spec = UNARY[name]
    x = scope.pick(draw, lambda v: name not in JUMPY or math.prod(v.shape) <= 4)
    if x is None:
        return None
    operand, low, high = adapt(x, spec.domains[0])
    kink = spec.kink.replace("{0}", operand) if spec.kink else None
    return make(scope, spec.code.replace("{0}", operand), [x], spec.bound((low, high)), kink)


def binary(draw, scope):
    name = draw(st.sampled_from(list(BINARY)), label="binary")
    spec = BINARY[name]
    first = scope.pick(draw, lambda v: name not in JUMPY or math.prod(v.shape) <= 4)
    if first is None:
        return None
    literal_side = draw(st.sampled_from([None, 1, 0]), label="literal operand")
    # (Not into where_greater's sin: fnp.sin(0.5) is a float64, as np.sin(0.5) is.)
    if (literal_side is not None and spec.domains[literal_side] in LITERALS
            and name != "where_greater"):
        value = draw(st.sampled_from(LITERALS[spec.domains[literal_side]]), label="literal")
        constant = Value(repr(value), (), value, value, literal=True)
        pair = [constant, first] if literal_side == 0 else [first, constant]
    else:
        # Not an operation with a tie on one value twice: maximum(v, v) is all ties.
        second = scope.pick(draw, lambda v: broadcast(v.shape, first.shape) is not None
                            and not (spec.kink and v is first))
        if second is None:
            return None
        pair = [first, second]
    adapted = [adapt(v, d) for v, d in zip(pair, spec.domains)]
    code, kink = spec.code, spec.kink
    for i, (text, _, _) in enumerate(adapted):
        code = code.replace(f"{{{i}}}", text)
        kink = kink.replace(f"{{{i}}}", text) if kink else None
    return make(scope, code, pair, spec.bound(*[(lo, hi) for _, lo, hi in adapted]), kink)


def reduction(draw, scope):
    name = draw(st.sampled_from(list(REDUCTIONS)), label="reduction")
    bound, domain, kink = REDUCTIONS[name]
    x = scope.pick(draw)
    axis = draw(axes(len(x.shape), allow_tuple=name != "logsumexp"))
    # In a body, keepdims keeps the result broadcastable to the body's shape.
    keepdims = scope.fit is not None or draw(st.booleans(), label="keepdims")
    operand, low, high = adapt(x, domain)
    options = _args_text(_axis_text(axis), "keepdims=True" if keepdims else "")
    if name == "logsumexp":
        code = f"{{fg}}.nn.logsumexp({_args_text(operand, options)})"
    elif not x.plain and operand == x.name and draw(st.booleans(), label="as a method"):
        code = f"{operand}.{name}({options})"
    else:
        code = f"{{np}}.{name}({_args_text(operand, options)})"
    if kink is not None:
        kink = kink.format(operand if name != "min" else f"({operand})", axis=axis,
                           np="{np}")
    k = _reduced(x.shape, axis)
    if name == "std" and k == 1:
        return None   # no spread: its derivative is infinite
    if kink is not None and k == 1:
        kink = "np.inf"   # a max of one element has no tie
    return make(scope, code, [x], bound((low, high), k), kink)


def cumulative(draw, scope):
    name = draw(st.sampled_from(["cumsum", "cumprod"]), label="cumulative")
    x = scope.pick(draw)
    axis = draw(axes(len(x.shape), allow_tuple=False))
    operand, low, high = adapt(x, "real" if name == "cumsum" else "near_one")
    n = _reduced(x.shape, axis)
    if name == "cumsum":
        bound = (min(low, n * low), max(high, n * high))
    else:
        bound = (min(low, low ** n), max(high, high ** n))
    method = not x.plain and operand == x.name and draw(st.booleans(), label="as a method")
    code = (f"{operand}.{name}({_axis_text(axis)})" if method else
            f"{{np}}.{name}({_args_text(operand, _axis_text(axis))})")
    return make(scope, code, [x], bound)


def _factorizations(size, ndim):
    """Every shape of ``ndim`` dimensions with ``size`` elements."""
    if ndim == 0:
        return [()] if size == 1 else []
    return [(d,) + rest for d in range(1, size + 1) if size % d == 0
            for rest in _factorizations(size // d, ndim - 1)]


def structural(draw, scope):
    x = scope.pick(draw)
    ndim, name = len(x.shape), x.name
    kinds = ["reshape", "expand_dims", "broadcast_to", "ravel", "tile", "repeat", "atleast_2d"]
    kinds += ["flip", "roll", "flipud", "diag"] * (ndim >= 1) + ["squeeze"] * (1 in x.shape)
    kinds += ["transpose", "swapaxes", "moveaxis", "tril", "diagonal", "trace",
              "fliplr"] * (ndim >= 2)
    kind = draw(st.sampled_from(kinds), label="structural")
    method = not x.plain and draw(st.booleans(), label="as a method")
    bound = (x.low, x.high)
    if kind == "reshape":
        shapes = [s for k in range(MAX_NDIM) for s in _factorizations(math.prod(x.shape), k)]
        shape = list(draw(st.sampled_from(shapes), label="new shape"))
        if shape and draw(st.booleans(), label="-1"):
            shape[draw(st.integers(0, len(shape) - 1))] = -1
        code = f"{name}.reshape({tuple(shape)})" if method else \
            f"{{np}}.reshape({name}, {tuple(shape)})"
    elif kind == "transpose":
        if method and draw(st.booleans(), label=".T"):
            code = f"{name}.T"
        else:
            perm = tuple(draw(st.permutations(range(ndim)), label="permutation"))
            code = f"{{np}}.transpose({name}, {perm})"
    elif kind in ("swapaxes", "moveaxis"):
        a, b = (draw(st.integers(-ndim, ndim - 1), label="axis") for _ in range(2))
        code = f"{{np}}.{kind}({name}, {a}, {b})"
    elif kind == "expand_dims":
        code = f"{{np}}.expand_dims({name}, {draw(st.integers(-ndim - 1, ndim))})"
    elif kind == "squeeze":
        ones = [i for i, d in enumerate(x.shape) if d == 1]
        axis = draw(st.sampled_from([None] + ones), label="squeeze axis")
        code = f"{{np}}.squeeze({_args_text(name, _axis_text(axis))})"
    elif kind == "broadcast_to":
        shape = tuple(draw(st.sampled_from([1, 2, 3])) if d == 1 else d for d in x.shape)
        if draw(st.booleans(), label="new leading axis"):
            shape = (2,) + shape
        code = f"{{np}}.broadcast_to({name}, {shape})"
    elif kind in ("flip", "roll"):
        axis = draw(axes(ndim, allow_tuple=kind == "roll"))
        shift = "" if kind == "flip" else str(draw(st.integers(-2, 2), label="shift"))
        if kind == "roll" and isinstance(axis, tuple):
            shift = str(tuple(draw(st.integers(-2, 2)) for _ in axis))
        code = f"{{np}}.{kind}({_args_text(name, shift, _axis_text(axis))})"
    elif kind == "ravel":
        code = f"{name}.ravel()" if method else f"{{np}}.ravel({name})"
    elif kind in ("flipud", "fliplr", "atleast_2d"):
        code = f"{{np}}.{kind}({name})"
    elif kind == "tile":
        reps = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=ndim + 1),
                          label="reps"))
        code = f"{{np}}.tile({name}, {reps if len(reps) > 1 else reps[0]})"
    elif kind == "repeat":
        axis = draw(axes(ndim, allow_tuple=False))
        code = f"{{np}}.repeat({_args_text(name, '2', _axis_text(axis))})"
    elif kind == "diag" and ndim <= 2:
        code = f"{{np}}.diag({name}, {draw(st.integers(-1, 1), label='k')})"
        bound = _union(bound, (0.0, 0.0))
    elif kind == "tril":
        which = draw(st.sampled_from(["tril", "triu"]), label="triangle")
        code = f"{{np}}.{which}({name}, {draw(st.integers(-1, 1), label='k')})"
        bound = _union(bound, (0.0, 0.0))
    elif kind in ("diagonal", "trace"):
        code = f"{{np}}.{kind}({name}, {draw(st.integers(-1, 1), label='offset')})"
        if kind == "trace":
            k = min(x.shape[0], x.shape[1])
            bound = _union((k * x.low, k * x.high), (0.0, 0.0))
    else:
        return None
    return make(scope, code, [x], bound)


def _slice_text(draw, size):
    start = draw(st.sampled_from([None, 0, 1, -1, -2]), label="start")
    stop = draw(st.sampled_from([None, 1, 2, -1]), label="stop")
    step = draw(st.sampled_from([None, 1, 2, -1]), label="step")
    text = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    return text + ("" if step is None else f":{step}")


def indexing(draw, scope):
    kind = draw(st.sampled_from(["basic", "gather", "mask", "take", "split", "traced",
                                 "at_set", "at_add", "at_multiply"]), label="indexing")
    # (Inside a traced body a NumPy array cannot take a traced index.)
    x = scope.pick(draw, lambda v: v.shape != () and not (kind == "traced" and v.plain
                                                          and scope.depth))
    if x is None:
        return None
    n, ndim, bound = x.shape[0], len(x.shape), (x.low, x.high)
    if kind == "basic":
        parts = []
        for size in x.shape[:draw(st.integers(1, ndim), label="indexed axes")]:
            part = draw(st.sampled_from(["slice", "int", "None", "all"]), label="index")
            if part == "slice":
                part = _slice_text(draw, size)
            elif part == "int":
                part = str(draw(st.integers(-size, size - 1), label="integer index"))
            parts.append({"all": ":"}.get(part, part))
        if draw(st.booleans(), label="ellipsis first"):
            parts = ["..."] + parts[1:]
        return make(scope, f"{x.name}[{', '.join(parts)}]", [x], bound)
    if kind in ("gather", "take"):
        axis = draw(st.integers(-ndim, ndim - 1), label="axis") if kind == "take" else 0
        size = x.shape[axis]
        rows = draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=4),
                    label="rows")
        code = (f"{x.name}[np.array({rows})]" if kind == "gather" else
                f"{{np}}.take({x.name}, np.array({rows}), axis={axis})")
        return make(scope, code, [x], bound)
    if kind == "mask":
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask"))
        assume(mask.any())
        return make(scope, f"{x.name}[{mask_text(mask)}]", [x], bound)
    if kind == "split":
        axis = draw(st.integers(-ndim, ndim - 1), label="axis")
        sections = draw(st.integers(1, 3), label="sections")
        part = draw(st.integers(0, sections - 1), label="part")
        return make(scope, f"{{np}}.array_split({x.name}, {sections}, axis={axis})[{part}]",
                    [x], bound)
    if kind == "traced":
        # An index computed from values: traced under jit and vmap (argmax has a tie kink).
        p = scope.pick(draw, lambda v: math.prod(v.shape) <= n, label="argmax operand")
        if p is None:
            return None
        code = f"{x.name}[{{np}}.argmax({p.name})]"
        return make(scope, code, [x, p], bound, f"ref.gap({p.name}, None)", plain=x.plain)
    return _at_update(draw, scope, x, kind[3:])


def _at_update(draw, scope, x, verb):
    """``x.at[rows].set/add/multiply(update)``. Rows of ``set`` are unique: the order of
    duplicate writes is unspecified in JAX; ``add`` and ``multiply`` accumulate them."""
    n = x.shape[0]
    unique = verb == "set"
    rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n if unique else 3,
                         unique=unique), label="rows")
    region = (len(rows),) + x.shape[1:]
    update = scope.pick(draw, lambda v: fits(v.shape, region), label="update")
    if update is None:
        return None
    operand, low, high = adapt(update, "near_one" if verb == "multiply" else "real")
    code = f"{{at}}({x.name})[np.array({rows})].{verb}({operand})"
    repeats = max(collections.Counter(rows).values())
    if verb == "set":
        bound = _union((x.low, x.high), (low, high))
    elif verb == "add":
        bound = (x.low + repeats * min(low, 0.0), x.high + repeats * max(high, 0.0))
    else:
        bound = _union((x.low, x.high), _corners((x.low, x.high), (low ** repeats,
                                                                  high ** repeats),
                                                 lambda p, q: p * q))
    return make(scope, code, [x, update], bound)


def join(draw, scope):
    kind = draw(st.sampled_from(["concatenate", "stack", "hstack", "vstack", "dstack",
                                 "column_stack"]), label="join")
    first = scope.pick(draw, lambda v: v.shape != () or kind != "concatenate")
    if first is None:
        return None
    ndim = len(first.shape)
    axis = ""
    if kind in ("concatenate", "stack"):
        extra = kind == "stack"
        axis = f", axis={draw(st.integers(-ndim - extra, ndim - 1 + extra), label='axis')}"
    template = f"{{{{np}}}}.{kind}([{{0}}, {{1}}]{axis})"
    second = scope.pick(draw, lambda v: shape_of(template.format("a_", "b_"), {
        "a_": first.shape, "b_": v.shape}) is not None, label="second")
    if second is None:
        return None
    return make(scope, template.format(first.name, second.name), [first, second],
                _union((first.low, first.high), (second.low, second.high)))


def _constant(draw, shape):
    quarters = draw(st.lists(st.integers(-4, 4), min_size=math.prod(shape),
                             max_size=math.prod(shape)), label="constant")
    array = np.array(quarters, dtype=float).reshape(shape) / 4
    # float32 (quarters are exact in it) so that a float32 program stays float32; a float64
    # one promotes it to the same values.
    text = f"np.array({array.tolist()!r}, np.float32)"
    return Value(text, shape, float(array.min()), float(array.max()), literal=True)


def product(draw, scope):
    kind = draw(st.sampled_from(["matmul", "dot", "tensordot", "inner", "outer", "einsum",
                                 "vdot", "kron"]), label="product")
    a = scope.pick(draw, lambda v: v.shape != () or kind in ("dot", "outer", "vdot", "kron"))
    if a is None:
        return None
    last = a.shape[-1] if a.shape else 1
    k = draw(st.integers(1, 3), label="new axis")
    if kind == "einsum":
        letters = "abcd"[:len(a.shape)]
        shared = draw(st.lists(st.sampled_from(letters), unique=True, max_size=len(letters)),
                      label="shared axes") if letters else []
        other = "".join(shared) + "z"
        kept = draw(st.lists(st.sampled_from(letters + "z"), unique=True), label="output")
        spec = f"{letters},{other}->{''.join(kept)}"
        sizes = dict(zip(letters, a.shape), z=k)
        b_shape = tuple(sizes[c] for c in other)
        template = f"{{np}}.einsum('{spec}', {{0}}, {{1}})"
        summed = math.prod(sizes[c] for c in set(letters + "z") - set(kept))
    else:
        b_shape = {"matmul": (last, k), "dot": (last, k) if a.shape else (k,),
                   "tensordot": (last, k), "inner": (k, last), "outer": (k,),
                   "vdot": a.shape, "kron": (k,)}[kind]
        template = {"matmul": "{0} @ {1}", "dot": "{np}.dot({0}, {1})",
                    "tensordot": "{np}.tensordot({0}, {1}, axes=1)",
                    "inner": "{np}.inner({0}, {1})", "outer": "{np}.outer({0}, {1})",
                    "vdot": "{np}.vdot({0}, {1})", "kron": "{np}.kron({0}, {1})"}[kind]
        summed = {"outer": 1, "kron": 1, "vdot": math.prod(a.shape)}.get(kind, last)
    b = None
    if draw(st.booleans(), label="a value as second operand"):
        b = scope.pick(draw, lambda v: shape_of(template.format("a_", "b_", np="{np}"),
                                                {"a_": a.shape, "b_": v.shape}) is not None,
                       label="second")
    if b is None:
        b = _constant(draw, b_shape)
    x, lx, hx = adapt(a, "real")
    y, ly, hy = adapt(b, "real")
    bound = _corners((lx, hx), (ly, hy), lambda p, q: summed * p * q)
    code = template.format(x, y, np="{np}")
    return make(scope, code, [a, b], bound)


def where_mask(draw, scope):
    x = scope.pick(draw)
    y = scope.pick(draw, lambda v: broadcast(v.shape, x.shape) is not None, label="other")
    shape = broadcast(x.shape, y.shape)
    mask = np.array(draw(st.lists(st.booleans(), min_size=math.prod(shape),
                                  max_size=math.prod(shape)), label="mask")).reshape(shape)
    code = f"{{np}}.where({mask_text(mask)}, {x.name}, {y.name})"
    return make(scope, code, [x, y], _union((x.low, x.high), (y.low, y.high)))


# ------------------------------------------------------------------------- control flow

BODY_OPS = 3


def fitted(value: Value, fit, domain=None) -> tuple[str, float, float]:
    """``value`` as an expression of shape ``fit`` (broadcast), inside ``domain``."""
    text, low, high = (value.name, value.low, value.high) if domain is None else \
        adapt(value, domain)
    if tuple(value.shape) != tuple(fit):
        text = f"{{np}}.broadcast_to({text}, {tuple(fit)})"
    return text, low, high


def body(draw, scope, signature, params, fit, domains, prelude=()):
    """A body ``def name(*signature)`` computing values of shape ``fit`` from ``params`` (and
    the outer values that fit, read as closures); one result per entry of ``domains`` (a
    domain name, or None for any bounds). Returns (Body, result bounds, outer names read,
    whether the first result may be plain)."""
    # The parameters last: ``pick`` takes recent values first, so bodies use them first.
    inner = Scope([v for v in scope.values if fits(v.shape, fit)] + params, scope.counter, fit,
                  scope.depth + 1, scope.max_depth)
    ops = [inner.add(op) for op in prelude]
    for _ in range(draw(st.integers(1, BODY_OPS), label="body ops")):
        ops.append(inner.add(draw_op(draw, inner, BODY_FAMILIES)))
    local = {p.name for p in params} | {op.out.name for op in ops}
    results, bounds, plain = [], [], False
    for i, domain in enumerate(domains):
        value = ops[-1].out if i == 0 else inner.pick(draw, lambda v: v.name in local,
                                                      label="result")
        text, low, high = fitted(value, fit, domain)
        plain = plain or (i == 0 and value.plain and text == value.name)
        results.append(text)
        bounds.append((low, high))
    outer = {v.name for v in scope.values}
    read = sorted(outer & (inner.used | {n for op in ops for n in op.operands}))
    return (Body(scope.fresh("body"), tuple(signature), tuple(ops), tuple(results)), bounds,
            read, plain)


def _operands(*values):
    return [v for v in values if v is not None]


def cond(draw, scope):
    x = scope.pick(draw)
    y = scope.pick(draw, lambda v: fits(v.shape, x.shape), label="second operand") \
        if draw(st.booleans(), label="two operands") else None
    # Eagerly a concrete predicate calls the branch on the operands themselves: plain stays
    # plain (the loops' bodies are always traced).
    params = [Value(scope.fresh("a"), v.shape, v.low, v.high, v.plain)
              for v in _operands(x, y)]
    kind = draw(st.sampled_from(["sum", "mean", "literal"]), label="predicate")
    p, kink = None, None
    if kind == "literal":
        predicate = repr(draw(st.booleans(), label="literal predicate"))
    else:
        p = scope.pick(draw, label="predicate operand")
        k = math.prod(p.shape) if kind == "sum" else 1
        threshold = round(k * (p.low + p.high) / 2 * 4) / 4
        predicate = f"{{np}}.{kind}({p.name}) > {threshold}"
        kink = f"np.abs(np.{kind}({p.name}) - {threshold})"
    branches = [body(draw, scope, params, params, x.shape, [None]) for _ in range(2)]
    operands = ", ".join(v.name for v in _operands(x, y))
    code = f"{{fg}}.cond({predicate}, {branches[0][0].name}, {branches[1][0].name}, {operands})"
    read = [Value(n, (), 0, 0) for b in branches for n in b[2]]
    return make(scope, code, _operands(x, y, p) + read, _union(*(b[1][0] for b in branches)),
                kink, bodies=[b[0] for b in branches], control="cond", shape=x.shape,
                plain=any(b[3] for b in branches))


def scan(draw, scope):
    xs = scope.pick(draw, lambda v: v.shape != ())
    if xs is None:
        return None
    row = xs.shape[1:]
    start = scope.pick(draw, lambda v: fits(v.shape, row), label="init") \
        if draw(st.booleans(), label="init from a value") else None
    init = f"{{np}}.zeros_like({xs.name}[0])" if start is None else fitted(start, row,
                                                                             "bounded")[0]
    carry = Value(scope.fresh("c"), row, -1.0, 1.0)
    x = Value(scope.fresh("r"), row, xs.low, xs.high)
    loop, bounds, read, _ = body(draw, scope, [carry, x], [carry, x], row, ["bounded", None])
    reverse = ", reverse=True" if draw(st.booleans(), label="reverse") else ""
    which = draw(st.sampled_from([1, 0]), label="carry or outputs")
    code = f"{{fg}}.scan({loop.name}, {init}, {xs.name}{reverse})[{which}]"
    read = [Value(n, (), 0, 0) for n in read]
    return make(scope, code, _operands(xs, start) + read, bounds[which], bodies=[loop],
                control="scan", shape=row if which == 0 else xs.shape)


def fori_loop(draw, scope):
    x = scope.pick(draw)
    trips = draw(st.integers(0, 3), label="trips")
    init, low, high = fitted(x, x.shape, "bounded")
    i = Value(scope.fresh("i"), (), 0, max(trips - 1, 0))
    carry = Value(scope.fresh("c"), x.shape, -1.0, 1.0)
    # The index reads a row of an outer value: a traced index, and a scatter in reverse mode.
    table = scope.pick(draw, lambda v: v.shape != () and v.shape[0] >= trips and not v.plain
                       and fits(v.shape[1:], x.shape), label="indexed value") \
        if trips and draw(st.booleans(), label="use the index") else None
    prelude = []
    if table is not None:
        row = Value(scope.fresh(), table.shape[1:], table.low, table.high)
        prelude = [Op(row, f"{table.name}[{i.name}]", (table.name, i.name))]
    loop, _, read, _ = body(draw, scope, [i, carry], [carry], x.shape, ["bounded"], prelude)
    code = f"{{fg}}.fori_loop(0, {trips}, {loop.name}, {init})"
    read = [Value(n, (), 0, 0) for n in read]
    return make(scope, code, _operands(x, table) + read, _union((low, high), (-1.0, 1.0)),
                bodies=[loop], control="fori_loop", shape=x.shape)


def while_loop(draw, scope):
    x = scope.pick(draw)
    init, _, _ = fitted(x, x.shape, "bounded")
    trips = draw(st.integers(1, 3), label="trips")
    # The counter starts in (-0.5, 0.5): from an input-dependent value the trip count is
    # trips + 1 below 0 and trips above; the kink is the distance from 0.
    p = scope.pick(draw, label="counter operand") if draw(st.booleans(), label="counted") \
        else None
    start, kink = "0.25", None
    if p is not None:
        start = f"0.5 * {{np}}.tanh({{np}}.sum({p.name}))"
        kink = f"np.abs(np.tanh(np.sum({p.name})))"
    h = Value(scope.fresh("h"), x.shape, -1.0, 1.0)
    loop, _, read, _ = body(draw, scope, [h], [h], x.shape, ["bounded"])
    code = (f"{{fg}}.while_loop(lambda c: c[0] < {trips}, lambda c: (c[0] + 1.0, "
            f"{loop.name}(c[1])), ({start}, {init}))[1]")
    read = [Value(n, (), 0, 0) for n in read]
    return make(scope, code, _operands(x, p) + read, (-1.0, 1.0), kink, bodies=[loop],
                control="while_loop", shape=x.shape)


def checkpoint(draw, scope):
    x = scope.pick(draw)
    y = scope.pick(draw, lambda v: fits(v.shape, x.shape), label="second operand")
    params = [Value(scope.fresh("a"), v.shape, v.low, v.high, v.plain) for v in (x, y)]
    inner, bounds, read, plain = body(draw, scope, params, params, x.shape, [None])
    code = f"{{fg}}.checkpoint({inner.name})({x.name}, {y.name})"
    read = [Value(n, (), 0, 0) for n in read]
    return make(scope, code, [x, y] + read, bounds[0], bodies=[inner], control="checkpoint",
                shape=x.shape, plain=plain)


# Families with repeats: the first is where shrinking goes, the repeats weight the draw.
FAMILIES = [unary, binary, unary, binary, reduction, reduction, cumulative, structural,
            structural, indexing, indexing, join, product, product, where_mask,
            cond, scan, fori_loop, while_loop, checkpoint]
BODY_FAMILIES = [unary, binary, unary, binary, reduction, where_mask, structural, product,
                 cond, fori_loop]
CONTROL = {cond, scan, fori_loop, while_loop, checkpoint}


def draw_op(draw, scope, families) -> Op:
    """One op of one of ``families`` (control flow only above the scope's ``max_depth``)."""
    if scope.depth >= scope.max_depth:
        families = [f for f in families if f not in CONTROL]
    for _ in range(4):
        op = draw(st.sampled_from(families), label="family")(draw, scope)
        if op is not None:
            return op
    x = scope.pick(draw)
    operand, _, _ = adapt(x, "real")
    return make(scope, f"{{np}}.sin({operand})", [x], (-1.0, 1.0))


input_shapes = st.lists(st.integers(1, 3), max_size=3).map(tuple)


@st.composite
def programs(draw, max_ops=12, max_depth=2) -> Body:
    """``def f(x0, ...)``: 1-3 inputs of shapes that broadcast, 3..max_ops operations, and
    returns the last value and up to two more that nothing used. Control flow is nested
    ``max_depth - 1`` times at most (0: none)."""
    base = draw(input_shapes, label="base shape")
    inputs = []
    for i in range(draw(st.integers(1, 3), label="inputs")):
        shape = base[draw(st.integers(0, len(base)), label="dropped axes"):]
        shape = tuple(1 if d > 1 and draw(st.booleans(), label="size one") else d
                      for d in shape)
        low, high = draw(st.sampled_from([(-1.5, 1.5), (0.5, 2.0)]), label="input domain")
        inputs.append(Value(f"x{i}", shape, low, high, plain=True))
    scope = Scope(inputs, iter(range(len(inputs), 10 ** 6)), max_depth=max_depth)
    ops = [scope.add(draw_op(draw, scope, FAMILIES))
           for _ in range(draw(st.integers(3, max_ops), label="ops"))]
    unused = [op.out.name for op in ops if op.out.name not in scope.used]
    return Body("f", tuple(inputs), tuple(ops), tuple(unused[-3:]))


# ------------------------------------------------------------------------ the NumPy oracle

class _At:
    """``ref.at(x)[index].set(v)`` and ``.add(v)``: ``fnp.at`` on NumPy arrays (copies)."""

    def __init__(self, x, index=None):
        self.x, self.index = np.asarray(x), index

    def __getitem__(self, index):
        return _At(self.x, index)

    def set(self, update):
        out = self.x.copy()
        out[self.index] = update
        return out

    def add(self, update):
        out = self.x.copy()
        np.add.at(out, self.index, update)
        return out

    def multiply(self, update):
        out = self.x.copy()
        np.multiply.at(out, self.index, update)
        return out


def _logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    top = np.max(x, axis=axis, keepdims=True)
    out = top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


class NumpyReference:
    """funcgrad's own names for the NumPy rendering (``ref.cond`` ...), and the kinks it
    meets: ``margin`` is the smallest distance from a kink, tie or switch in one call."""

    at = _At
    nn = types.SimpleNamespace(logsumexp=_logsumexp)

    def __init__(self):
        self.margin = math.inf

    def kink(self, distance):
        self.margin = min(self.margin, float(np.min(distance)))

    @staticmethod
    def gap(x, axis):
        """How far the largest element along ``axis`` is from the next (a tie is 0)."""
        x = np.asarray(x)
        axis = tuple(range(x.ndim)) if axis is None else axis
        axis = tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
        rows = np.moveaxis(x, axis, range(-len(axis), 0)).reshape(-1, _reduced(x.shape, axis))
        if rows.shape[1] == 1:
            return np.inf
        ordered = np.sort(rows, axis=1)
        return ordered[:, -1] - ordered[:, -2]

    @staticmethod
    def remainder_gap(x, y):
        """How far ``x / y`` is from an integer, in units of ``x`` (remainder jumps there)."""
        r = np.mod(x, y)
        return np.minimum(r, y - r)

    @staticmethod
    def cond(predicate, true_fun, false_fun, *operands):
        return true_fun(*operands) if predicate else false_fun(*operands)

    @staticmethod
    def scan(f, init, xs, reverse=False):
        carry, ys = init, [None] * len(xs)
        for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
            carry, ys[i] = f(carry, xs[i])
        return carry, np.stack(ys)

    @staticmethod
    def fori_loop(lower, upper, body_fun, init):
        for i in range(lower, upper):
            init = body_fun(i, init)
        return init

    @staticmethod
    def while_loop(cond_fun, body_fun, init):
        while cond_fun(init):
            init = body_fun(init)
        return init

    @staticmethod
    def checkpoint(f):
        return f


class Oracle:
    """The program in plain NumPy, float64: its outputs as a tuple, and its kinks."""

    def __init__(self, program: Body):
        self.ref = NumpyReference()
        namespace = {"np": np, "ref": self.ref}
        exec("\n".join(render(program, "numpy")), namespace)  # noqa: S102
        self.f, self.single = namespace["f"], len(program.results) == 1

    def __call__(self, *args) -> tuple:
        self.ref.margin = math.inf
        with np.errstate(all="raise", under="ignore"):
            out = self.f(*args)
        return tuple(np.asarray(o) for o in ((out,) if self.single else out))

    def margin(self, *args) -> float:
        self(*args)
        return self.ref.margin


if jax is not None:
    jref = types.SimpleNamespace(cond=jax.lax.cond, scan=jax.lax.scan,
                                 fori_loop=jax.lax.fori_loop, while_loop=jax.lax.while_loop,
                                 checkpoint=jax.checkpoint, nn=jax.nn,
                                 at=lambda x: jnp.asarray(x).at)


# ------------------------------------------------------------------------------- a case

class Case:
    """A program, the seed of its inputs, and how it is run.

    Its repr is a script that defines ``f``, ``loss`` and the inputs: what a failure prints
    (a plain class: hypothesis would print a dataclass field by field).
    """

    def __init__(self, program: Body, seed: int, native: bool, native_kinds: bool,
                 in_axes: tuple, against_jax: bool):
        self.program, self.seed, self.in_axes = program, seed, in_axes
        self.native = native                # also run on jit's native tier (numba compiles)
        self.native_kinds = native_kinds    # ... and compiled for float32 and int64 too
        self.against_jax = against_jax      # compared with JAX, if installed (slow: ~1 s)

    @functools.cached_property
    def arrays(self):
        """(inputs, output weights w of ``loss``, tangents t, second directions u)."""
        rng = np.random.default_rng(self.seed)
        inputs = self.program.params
        args = [np.asarray(rng.uniform(v.low, v.high, v.shape)) for v in inputs]
        shapes = {op.out.name: op.out.shape for op in self.program.ops}
        weights = [rng.choice([-1.0, 1.0], shapes[r]) * rng.integers(1, 5, shapes[r]) / 4
                   for r in self.program.results]
        t = [np.asarray(rng.uniform(-1, 1, v.shape)) for v in inputs]
        u = [np.asarray(rng.uniform(-1, 1, v.shape)) for v in inputs]
        return args, [np.asarray(w) for w in weights], t, u

    @property
    def has_while(self) -> bool:
        return any(op.control == "while_loop" for op in self.program.walk())

    @property
    def has_control(self) -> bool:
        return any(op.control is not None for op in self.program.walk())

    def loss_source(self, backend="funcgrad") -> list[str]:
        """``loss(*inputs) = sum_k sum(f(*inputs)[k] * w[k])``: a scalar, linear in f."""
        params = ", ".join(v.name for v in self.program.params)
        module = BACKENDS[backend]["np"]
        if len(self.program.results) == 1:
            terms = [f"{module}.sum(out * w[0])"]
        else:
            terms = [f"{module}.sum(out[{k}] * w[{k}])" for k in range(len(self.program.results))]
        return [f"def loss({params}):", f"    out = f({params})",
                f"    return {' + '.join(terms)}"]

    def __repr__(self):
        args, w, t, u = self.arrays
        lines = ["import numpy as np", "import funcgrad as fg", "import funcgrad.numpy as fnp",
                 "", *render(self.program, "funcgrad"), *self.loss_source(), ""]
        lines += [f"{v.name} = np.array({a.tolist()!r})" for v, a in zip(self.program.params,
                                                                          args)]
        for name, arrays in (("w", w), ("t", t), ("u", u)):
            lines.append(f"{name} = ({''.join(f'np.array({a.tolist()!r}), ' for a in arrays)})")
        lines.append(f"# vmap in_axes={self.in_axes}; native tier: {self.native}")
        return "\n" + "\n".join(lines) + "\n"

    def namespace(self) -> dict:
        """The script run: ``f``, ``loss`` and the inputs, fresh objects each time."""
        namespace: dict = {}
        exec(repr(self), namespace)  # noqa: S102
        return namespace


# ------------------------------------------------------------------------------ checking

class Mismatch(AssertionError):
    """A transformation disagrees with its reference."""


_MISMATCHES: dict[str, type] = {}


def mismatch(check: str) -> type:
    """The exception class of one check: hypothesis tells failures apart by type and line,
    so each check's failures are shrunk on their own."""
    if check not in _MISMATCHES:
        _MISMATCHES[check] = type(f"Mismatch[{check}]", (Mismatch,), {})
    return _MISMATCHES[check]


def leaves(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in fg.tree.leaves(tree)]


def expect_close(check, got, want, rtol, how="", dtype=None):
    """``got`` and ``want`` have one structure, and leafwise the same shapes and values to
    ``rtol`` (relative, and absolute on the scale of the largest element of ``want``)."""
    got, want = leaves(got), leaves(want)
    fail = mismatch(check)
    if len(got) != len(want):
        raise fail(f"{check}: {len(got)} outputs, expected {len(want)}\n  {how}")
    scale = max([1.0] + [float(np.max(np.abs(w), initial=0.0, where=np.isfinite(w)))
                         for w in want if w.size])
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            raise fail(f"{check}: output {i} has shape {g.shape}, expected {w.shape}\n  {how}")
        if dtype is not None and g.dtype != dtype:
            raise fail(f"{check}: output {i} has dtype {g.dtype}, expected {dtype}\n  {how}")
        if not np.allclose(g, w, rtol=rtol, atol=rtol * scale, equal_nan=True):
            error = np.max(np.abs(g.astype(complex) - w.astype(complex)))
            raise fail(f"{check}: output {i} differs by {error:.3g} (tolerance {rtol:g} "
                       f"relative, on a scale of {scale:.3g})\n  {how}\n"
                       f"  got      {np.array2string(g, precision=10)}\n"
                       f"  expected {np.array2string(w, precision=10)}")


def dot(a, b) -> float:
    return float(sum(np.vdot(np.asarray(x, float), np.asarray(y, float)) for x, y in zip(a, b)))


def richardson(difference, h):
    """A central difference ``difference(h)`` extrapolated, and whether it can be trusted
    (its two steps agree: no kink between them, no rounding noise)."""
    coarse, fine = difference(h), difference(h / 2)
    estimate = [(4 * b - a) / 3 for a, b in zip(coarse, fine)]
    scale = max([1.0] + [float(np.max(np.abs(e))) for e in estimate if e.size])
    spread = max([0.0] + [float(np.max(np.abs(b - a))) for a, b in zip(coarse, fine)
                          if a.size])
    return estimate, spread < 1e-4 * scale


def strided(a):
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
    big[..., ::2] = a
    return big[..., ::2]


def variants(args) -> list[tuple[str, list]]:
    """The same float64 values in every form ``jit`` takes: (what, arguments)."""
    return [
        ("C-ordered arrays and 0-d arrays", list(args)),
        ("F-ordered arrays and Python floats",
         [np.asfortranarray(a) if a.ndim else float(a) for a in args]),
        ("strided views and NumPy scalars", [strided(a) if a.ndim else np.float64(a)
                                             for a in args]),
        ("negatively strided views and fg.Arrays",
         [np.ascontiguousarray(a[::-1])[::-1] if a.ndim else fnp.asarray(a) for a in args]),
    ]


def integer_kinds(case: Case) -> list[tuple[str, list]]:
    """Integer and boolean arguments in the inputs' ranges (Python ints for 0-d)."""
    rng = np.random.default_rng(case.seed + 1)
    out = []
    for what, dtype in (("integers", np.int64), ("booleans", np.bool_)):
        args = []
        for v in case.program.params:
            low, high = (math.ceil(v.low), math.floor(v.high)) if dtype is np.int64 else (0, 1)
            a = rng.integers(low, high + 1, v.shape).astype(dtype)
            # A Python bool stays weak under jit as eagerly (sin(True) / 1.5 is float16),
            # where a 0-d bool array's np.bool_ + 0.5 is float64: 0-d booleans stay arrays.
            args.append(a.item() if a.ndim == 0 and dtype is np.int64 else a)
        out.append((what, args))
    return out


def interpreted(jitted, args):
    """``jitted(*args)`` on jit's first tier, the interpreter, without starting numba (a
    first call would compile every random program in the background: too slow)."""
    entry, _ = jitted.jitted._entry(tuple(args), {})
    entry.submitted = True
    return jitted(*args)


def natively(jitted, args):
    """Compile ``jitted`` for ``args`` and wait; fail if numba could not."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jitted.compile(*args)
    STATS["numba compiles"] += 1
    if not jitted.is_compiled(*args):
        said = "; ".join(str(w.message) for w in caught)
        raise mismatch("native compile")(f"numba could not compile the program: {said}")
    return jitted


# How closely compiled code (fast math) follows NumPy in low precision; 1e-8 otherwise.
ROUNDING = {np.dtype(np.float32): 1e-4, np.dtype(np.float16): 3e-3}


# Run after a case's script: its outputs from the native tier, for two argument kinds.
_DISK_TIER = """
import pickle, sys
args = [{args}]
jitted = fg.jit(f).compile(*args)
kinds = [args, [float(a) if a.ndim == 0 else np.asfortranarray(a) for a in args]]
sys.stdout.buffer.write(pickle.dumps([[np.asarray(x) for x in fg.tree.leaves(jitted(*a))]
                                      for a in kinds]))
"""


class Run:
    """One case: its programs, inputs and reference values, and every check of it."""

    def __init__(self, case: Case):
        self.case = case
        self.args, self.w, self.t, self.u = case.arrays
        self.argnums = tuple(range(len(self.args)))
        self.values = {op.out.name: op.out for op in case.program.ops}
        self.oracle = Oracle(case.program)
        try:
            self.reference = self.oracle(*self.args)
        except FloatingPointError:   # the bounds let a value leave its domain: a fuzzer bug
            STATS["rejected: floating-point error in NumPy"] += 1
            assume(False)
        if self.oracle.ref.margin < KINK_MARGIN:
            STATS["rejected: inputs near a kink, tie or switch"] += 1
            assume(False)
        namespace = case.namespace()
        self.f, self.loss = namespace["f"], namespace["loss"]
        names = ", ".join(v.name for v in case.program.params)
        self.call = f"({names})"
        self.tuple = f"({names},)" if len(self.args) == 1 else f"({names})"

    def check(self, name, thunk):
        STATS[name] += 1
        try:
            thunk()
        except Mismatch:
            raise
        except Exception as error:
            error.add_note(f"fuzz: raised in the check {name!r} of the program printed above")
            raise

    def fresh(self):
        """A new function object of the program (``jit`` keeps one jitted function per
        function object, and its tiers are what is checked)."""
        return self.case.namespace()["f"]

    def oracle_loss(self, *args) -> float:
        return sum(float(np.sum(o * w)) for o, w in zip(self.oracle(*args), self.w))

    def run_all(self):
        self.check("eager value", self.eager_value)
        self.check("jit, interpreted", self.jit_interpreted)
        if self.case.native:
            self.check("jit, native", self.jit_native)
        self.check("first derivatives", self.first_derivatives)
        self.check("jit(grad)", self.jit_grad)
        self.check("vmap", self.batching)
        self.check("vmap(grad)", self.batched_grad)
        self.check("second derivatives", self.second_derivatives)
        self.check("compositions", self.compositions)
        if jax is not None and self.case.against_jax:
            self.check("against JAX", self.against_jax)

    # -------------------------------------------------------------------------- values
    def eager_value(self):
        for what, args in variants(self.args):
            out = self.f(*args)
            outs = [out] if len(self.reference) == 1 else out
            for leaf, name in zip(outs, self.case.program.results):
                if not self.values[name].plain and not isinstance(leaf, fg.Array):
                    raise mismatch("eager value")(f"f{self.call} on {what} returned a "
                                                  f"{type(leaf).__name__} as {name}, not an "
                                                  f"fg.Array")
            expect_close("eager value", out, self.reference, 1e-8,
                         f"f{self.call} on {what} against NumPy", dtype=np.float64)
        args32 = [a.astype(np.float32) for a in self.args]
        expect_close("eager value, float32", self.f(*args32), self.reference, 3e-3,
                     f"f{self.call} on float32 arrays against NumPy in float64",
                     dtype=np.float32)

    def jit_interpreted(self):
        jitted = fg.jit(self.fresh())
        for what, args in variants(self.args):
            expect_close("jit, interpreted", interpreted(jitted, args), self.reference, 1e-8,
                         f"fg.jit(f){self.call} (first tier) on {what} against NumPy",
                         dtype=np.float64)
        args32 = [a.astype(np.float32) for a in self.args]
        expect_close("jit, interpreted, float32", interpreted(jitted, args32), self.f(*args32),
                     1e-4, f"fg.jit(f){self.call} on float32 arrays against eager f",
                     dtype=np.float32)
        # On integers and booleans the branches and loop bodies may return other dtypes than
        # they take (sin of a bool is a float16), which cond and the loops refuse when traced.
        kinds = integer_kinds(self.case)
        if len(self.args) > 1:
            kinds.append(("float32 and float64 arrays",
                          [self.args[0].astype(np.float32)] + self.args[1:]))
        for what, args in kinds if not self.case.has_control else ():
            self.tiers_agree("jit, interpreted, " + what, lambda a: interpreted(jitted, a),
                             args, what)

    def tiers_agree(self, check, run, args, what):
        """``run(args)`` gives eager ``f``'s answer on the same values as arrays (Python
        scalars follow Python's arithmetic eagerly, ``True + True == 2``, and NumPy's traced,
        as in JAX), or raises where eager ``f`` raises."""
        try:
            with np.errstate(all="ignore"):
                want = self.f(*[np.asarray(a) for a in args])
        except Exception:
            try:
                run(args)
            except Exception:
                return
            raise mismatch(check)(f"eager f{self.call} raised on {what}, jit did not") \
                from None
        with np.errstate(all="ignore"):
            got = run(args)
        dtypes = [np.asarray(x).dtype for x in leaves(want)]
        rtol = max(ROUNDING.get(d, 1e-8) for d in dtypes)
        expect_close(check, got, want, rtol, f"fg.jit(f){self.call} on {what} against eager f")
        for i, (g, d) in enumerate(zip(leaves(got), dtypes)):
            if g.dtype != d:
                raise mismatch(check)(f"fg.jit(f){self.call} on {what}: output {i} has dtype "
                                      f"{g.dtype}, eager f gives {d}")

    def jit_native(self):
        jitted = fg.jit(self.fresh())
        first = jitted(*self.args)   # the interpreter, and a compile in the background
        expect_close("jit, native", first, self.reference, 1e-8, f"fg.jit(f){self.call}")
        natively(jitted, self.args)
        for what, args in variants(self.args):
            for call in ("first", "second"):   # the second takes the fast path the first set
                expect_close("jit, native", jitted(*args), self.reference, 1e-8,
                             f"fg.jit(f){self.call} (native, {call} call) on {what}",
                             dtype=np.float64)
        if self.case.native_kinds:
            args32 = [a.astype(np.float32) for a in self.args]
            natively(jitted, args32)
            expect_close("jit, native, float32", jitted(*args32), self.f(*args32), 1e-4,
                         f"fg.jit(f){self.call} (native) on float32 arrays against eager f",
                         dtype=np.float32)
            if not self.case.has_control:   # (see jit_interpreted)
                what, args = integer_kinds(self.case)[0]
                self.tiers_agree("jit, native, integers",
                                 lambda a: natively(jitted, a)(*a), args, what)
            self.check("jit, native from the disk cache", self.disk_tier)

    def disk_tier(self):
        """A new process runs the program natively from the kernels this one compiled (they
        are in the disk cache), on arrays and on Python floats."""
        names = ", ".join(v.name for v in self.case.program.params)
        script = repr(self.case) + _DISK_TIER.format(args=names)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                              timeout=600, check=False)
        if done.returncode:
            raise mismatch("jit, native from the disk cache")(
                f"a new process running fg.jit(f).compile{self.call} failed:\n"
                f"{done.stderr.decode()[-3000:]}")
        for (what, _), outs in zip(variants(self.args), pickle.loads(done.stdout)):
            expect_close("jit, native from the disk cache", outs, self.reference, 1e-8,
                         f"fg.jit(f){self.call} in a new process, on {what}")

    # --------------------------------------------------------------------- derivatives
    @functools.cached_property
    def gradient(self):
        return fg.grad(self.loss, argnums=self.argnums)(*self.args)

    def first_derivatives(self):
        argnums, call, t = self.argnums, self.call, self.t
        grad_call = f"fg.grad(loss, argnums={argnums}){call}"
        # grad along t against central differences of the NumPy loss
        estimate, trusted = richardson(lambda h: [np.asarray(
            (self.oracle_loss(*self.moved(h, t)) - self.oracle_loss(*self.moved(-h, t)))
            / (2 * h))], 1e-3)
        if trusted:
            expect_close("grad", dot(self.gradient, t), estimate[0], 1e-6,
                         f"<{grad_call}, t> against central differences of NumPy's loss")
        else:
            STATS["central differences untrusted"] += 1
        out, vjp_fn = fg.vjp(self.f, *self.args)
        expect_close("vjp", out, self.reference, 1e-8, f"fg.vjp(f, *{self.tuple})[0]")
        cotangent = self.w[0] if len(self.w) == 1 else tuple(self.w)
        expect_close("vjp", vjp_fn(cotangent), self.gradient, 1e-9,
                     f"fg.vjp(f, *{self.tuple})[1](w) against {grad_call}")
        primal, tangent = fg.jvp(self.f, tuple(self.args), tuple(t))
        expect_close("jvp", primal, self.reference, 1e-8, "fg.jvp(f, ...)[0]")
        expect_close("jvp against vjp", dot(leaves(tangent), self.w), dot(self.gradient, t),
                     1e-9, f"<w, fg.jvp(f, {self.tuple}, t)[1]> against <{grad_call}, t>")
        estimate, trusted = richardson(lambda h: [
            (p - m) / (2 * h) for p, m in zip(self.oracle(*self.moved(h, t)),
                                              self.oracle(*self.moved(-h, t)))], 1e-3)
        if trusted:
            expect_close("jvp", tangent, estimate, 1e-6,
                         f"fg.jvp(f, {self.tuple}, t)[1] against central differences")
        jac_rev = fg.jacrev(self.f, argnums=argnums)(*self.args)
        jac_fwd = fg.jacfwd(self.f, argnums=argnums)(*self.args)
        expect_close("jacrev against jacfwd", jac_rev, jac_fwd, 1e-9,
                     f"fg.jacrev(f, argnums={argnums}){call} against fg.jacfwd(f, ...)")
        expect_close("jacfwd against jvp", self.jacobian(jac_fwd) @ self.flat(t),
                     np.concatenate([np.ravel(x) for x in leaves(tangent)]), 1e-9,
                     f"fg.jacfwd(f, argnums={argnums}){call} times t against fg.jvp")

    def moved(self, h, direction) -> list:
        return [x + h * d for x, d in zip(self.args, direction)]

    def flat(self, arrays) -> np.ndarray:
        return np.concatenate([np.ravel(a) for a in arrays])

    def jacobian(self, blocks) -> np.ndarray:
        """The Jacobian of all outputs by all inputs as one matrix, from jacfwd's blocks."""
        rows = [blocks] if len(self.reference) == 1 else list(blocks)
        return np.block([[np.reshape(np.asarray(b), (o.size, a.size))
                          for b, a in zip(row, self.args)]
                         for row, o in zip(rows, self.reference)])

    def jit_grad(self):
        grad = fg.grad(self.loss, argnums=self.argnums)
        jitted = fg.jit(grad)
        how = f"fg.jit(fg.grad(loss, argnums={self.argnums})){self.call}"
        for what, args in variants(self.args)[:2]:
            expect_close("jit(grad)", interpreted(jitted, args), self.gradient, 1e-9,
                         f"{how} (first tier) on {what} against fg.grad")
        if self.case.native:
            jitted = natively(fg.jit(fg.grad(self.fresh_loss(), argnums=self.argnums)),
                              self.args)
            for what, args in variants(self.args):
                expect_close("jit(grad), native", jitted(*args), self.gradient, 1e-9,
                             f"{how} (native) on {what} against fg.grad")

    def fresh_loss(self):
        return self.case.namespace()["loss"]

    def compositions(self):
        """grad on every argument kind and in float32; transformations of jit, and jit of
        forward mode and of vmap (first tier)."""
        grad = fg.grad(self.loss, argnums=self.argnums)
        how = f"fg.grad(loss, argnums={self.argnums})"
        for what, args in variants(self.args)[1:]:
            expect_close("grad, argument kinds", grad(*args), self.gradient, 1e-12,
                         f"{how}{self.call} on {what}")
        args32 = [a.astype(np.float32) for a in self.args]
        expect_close("grad, float32", grad(*args32), self.gradient, 3e-3,
                     f"{how}{self.call} on float32 arrays against float64", dtype=np.float32)
        expect_close("grad(jit)", fg.grad(fg.jit(self.fresh_loss()), argnums=self.argnums)(
            *self.args), self.gradient, 1e-9, f"fg.grad(fg.jit(loss), ...){self.call}")
        jvp = fg.jit(lambda *xs: fg.jvp(self.fresh(), xs, tuple(self.t)))
        expect_close("jit(jvp)", interpreted(jvp, self.args),
                     fg.jvp(self.f, tuple(self.args), tuple(self.t)), 1e-9,
                     f"fg.jit(lambda *xs: fg.jvp(f, xs, t)){self.call} against fg.jvp")
        if self.second_example is not None:
            batched = fg.jit(fg.vmap(self.fresh(), in_axes=self.case.in_axes))
            expect_close("jit(vmap)", interpreted(batched, self.stacked()),
                         fg.vmap(self.f, in_axes=self.case.in_axes)(*self.stacked()), 1e-9,
                         f"fg.jit(fg.vmap(f, in_axes={self.case.in_axes})) against fg.vmap")

    # ------------------------------------------------------------------------ batching
    @functools.cached_property
    def second_example(self):
        """The inputs moved along t where vmap batches them (None if that meets a kink)."""
        moved = [a if axis is None else np.clip(a + 0.05 * d, v.low, v.high)
                 for a, d, axis, v in zip(self.args, self.t, self.case.in_axes,
                                          self.case.program.params)]
        try:
            if self.oracle.margin(*moved) < KINK_MARGIN:
                return None
        except FloatingPointError:
            return None
        return moved

    def stacked(self):
        return [a if axis is None else np.stack([a, b], axis=axis)
                for a, b, axis in zip(self.args, self.second_example, self.case.in_axes)]

    def batching(self):
        if self.second_example is None:
            STATS["vmap skipped: second example near a kink"] += 1
            return
        got = fg.vmap(self.f, in_axes=self.case.in_axes)(*self.stacked())
        want = [np.stack(pair) for pair in zip(self.reference,
                                               self.oracle(*self.second_example))]
        expect_close("vmap", got, want, 1e-8,
                     f"fg.vmap(f, in_axes={self.case.in_axes}) of the inputs and the inputs "
                     "+ 0.05 t against NumPy on each")

    def batched_grad(self):
        if self.second_example is None:
            return
        grad = fg.grad(self.loss, argnums=self.argnums)
        got = fg.vmap(grad, in_axes=self.case.in_axes)(*self.stacked())
        want = [np.stack(pair) for pair in zip(self.gradient, grad(*self.second_example))]
        expect_close("vmap(grad)", got, want, 1e-9,
                     f"fg.vmap(fg.grad(loss, argnums={self.argnums}), "
                     f"in_axes={self.case.in_axes}) against fg.grad of each example")

    # ------------------------------------------------------------------ second order
    def hessian_matrix(self, blocks) -> np.ndarray:
        return np.block([[np.reshape(np.asarray(b), (a.size, c.size))
                          for b, c in zip(row, self.args)] for row, a in zip(blocks, self.args)])

    def second_derivatives(self):
        argnums, call, t, u = self.argnums, self.call, self.t, self.u
        grad = fg.grad(self.loss, argnums=argnums)

        def along_u(*xs):
            return sum(fnp.sum(g * d) for g, d in zip(grad(*xs), u))
        hvp = fg.grad(along_u, argnums=argnums)(*self.args)
        how = (f"fg.grad(lambda *xs: sum(fnp.sum(g * d) for g, d in zip(fg.grad(loss, "
               f"argnums={argnums})(*xs), u)), argnums={argnums}){call}")

        def second_difference(h):
            def at(a, b):
                return self.oracle_loss(*[x + h * (a * p + b * q)
                                          for x, p, q in zip(self.args, t, u)])
            return [np.asarray((at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h))]
        estimate, trusted = richardson(second_difference, 2e-3)
        if trusted:
            expect_close("grad(grad)", dot(hvp, t), estimate[0], 1e-5,
                         f"<{how}, t> against second central differences of NumPy's loss")
        else:
            STATS["second central differences untrusted"] += 1
        hessian = self.hessian_matrix(fg.hessian(self.loss, argnums=argnums)(*self.args))
        expect_close("hessian", hessian, hessian.T, 1e-9,
                     f"fg.hessian(loss, argnums={argnums}){call} is symmetric")
        expect_close("hessian against grad(grad)", hessian @ self.flat(u), self.flat(hvp),
                     1e-9, f"fg.hessian(loss, argnums={argnums}){call} @ u against {how}")
        nested = fg.jacfwd(fg.jacrev(self.loss, argnums=argnums), argnums=argnums)(*self.args)
        expect_close("jacfwd(jacrev)", self.hessian_matrix(nested), hessian, 1e-9,
                     f"fg.jacfwd(fg.jacrev(loss, argnums={argnums}), argnums={argnums}){call}"
                     " against fg.hessian")

    # ---------------------------------------------------------------------------- JAX
    def against_jax(self):
        namespace = {"np": np, "jnp": jnp, "jref": jref}
        source = render(self.case.program, "jax") + self.case.loss_source("jax")
        exec("\n".join(source), namespace)  # noqa: S102
        namespace["w"] = tuple(jnp.asarray(w) for w in self.w)
        f, loss = namespace["f"], namespace["loss"]
        args = tuple(jnp.asarray(a) for a in self.args)
        try:
            _, tangent = jax.jvp(f, args, tuple(jnp.asarray(d) for d in self.t))
            reverse = not self.case.has_while   # JAX cannot reverse-differentiate while_loop
            gradient = jax.grad(loss, argnums=self.argnums)(*args) if reverse else None
        except Exception as error:   # a program JAX refuses is no finding about funcgrad
            STATS[f"JAX refused the program ({type(error).__name__})"] += 1
            return
        STATS["compared with JAX"] += 1
        expect_close("jvp against JAX", fg.jvp(self.f, tuple(self.args), tuple(self.t))[1],
                     [np.asarray(x) for x in jax.tree_util.tree_leaves(tangent)], 1e-9,
                     f"fg.jvp(f, {self.tuple}, t)[1] against jax.jvp of the same program")
        if gradient is not None:
            expect_close("grad against JAX", self.gradient, [np.asarray(g) for g in gradient],
                         1e-9, f"fg.grad(loss, argnums={self.argnums}){self.call} against "
                               "jax.grad")


def check_case(case: Case) -> None:
    """Every check of one case; raises at the first disagreement."""
    with warnings.catch_warnings():
        # Differentiating through an unused input, or a constant output, is fine here.
        warnings.simplefilter("ignore", UserWarning)
        Run(case).run_all()


# ------------------------------------------------------------------------- complex numbers
# Programs on complex inputs: their own small generator (a complex value's bound is one on
# its modulus, ``high``; ``low`` is ``-high``), a real loss, and checks of values, grad (JAX's
# convention: df/dx - i df/dy) against central differences along the real and the imaginary
# directions, jvp against central differences and against vjp, and against JAX.

C_SHAPES = [(2, 3), (3,), (4,), (2, 2), (3, 1)]
C_CONSTANTS = ("(0.5 - 1.25j)", "1j", "(-0.75 + 0.5j)")


def _cvalue(scope, code, operands, bound, shape=None):
    return make(scope, code, list(operands), (-bound, bound), shape=shape, plain=False)


def _scaled(x: Value, limit: float) -> tuple[str, float]:
    """``x`` scaled to modulus at most ``limit``: (code, new bound)."""
    if x.high <= limit:
        return x.name, x.high
    return f"({x.name} * {limit / x.high!r})", limit


# name: (the modulus its operand is scaled to, a bound on its values given the operand's,
# whether its operand is shifted off the negative real axis as z * z + c).
C_MORE = {
    "square": (2.0, lambda m: m * m, False), "sinh": (2.0, math.cosh, False),
    "cosh": (2.0, math.cosh, False), "expm1": (2.0, lambda m: math.exp(m) + 1, False),
    "exp2": (2.0, lambda m: 2 ** m, False), "reciprocal": (2.0, lambda m: 1.0, True),
    "log1p": (2.0, lambda m: math.log(m + 1) + 1.6, True),
    "log2": (2.0, lambda m: 1.5 * math.log(m) + 2.3, True),
    "log10": (2.0, lambda m: math.log(m) + 0.7, True),
    "arctan": (0.7, lambda m: 1.0, False), "arcsinh": (0.7, lambda m: 1.0, False),
    "arctanh": (0.7, lambda m: 1.0, False), "arcsin": (0.7, lambda m: 1.0, False),
    "arccos": (0.7, lambda m: 2.5, False), "tan": (1.0, lambda m: 1.6, False),
    "sign": (2.0, lambda m: 1.0, True), "conjugate": (2.0, lambda m: m, False),
}


@st.composite
def complex_unary(draw, scope):
    x = scope.pick(draw)
    m = x.high
    kind = draw(st.sampled_from(["exp", "sin", "cos", "tanh", "log", "sqrt", "conj", "real",
                                 "imag", "abs", "abs2", "angle", "constant", "negative",
                                 "more"]),
                label="complex unary")
    shift = repr(float(m * m + 1.0))     # z*z + shift has real part >= 1: off the branch cuts
    if kind == "more":   # other functions NumPy defines on complex numbers
        name = draw(st.sampled_from(sorted(C_MORE)), label="function")
        limit, bound, shifted = C_MORE[name]
        arg, b = _scaled(x, limit)
        if shifted:
            arg, b = f"{arg} * {arg} + {float(b * b + 1.0)!r}", 2 * b * b + 1.0
        return _cvalue(scope, f"{{np}}.{name}({arg})", [x], bound(b))
    if kind in ("exp", "sin", "cos"):
        arg, b = _scaled(x, 2.0)
        return _cvalue(scope, f"{{np}}.{kind}({arg})", [x], math.exp(b) if kind == "exp"
                       else math.cosh(b))
    if kind == "tanh":   # poles at i*pi/2: |z| <= 1 keeps them far
        arg, _ = _scaled(x, 1.0)
        return _cvalue(scope, f"{{np}}.tanh({arg})", [x], 1.6)
    if kind == "log":
        return _cvalue(scope, f"{{np}}.log({x.name} * {x.name} + {shift})", [x],
                       math.log(2 * m * m + 1.0) + 1.6)
    if kind == "sqrt":
        return _cvalue(scope, f"{{np}}.sqrt({x.name} * {x.name} + {shift})", [x],
                       math.sqrt(2 * m * m + 1.0))
    if kind in ("conj", "real", "imag"):
        return _cvalue(scope, f"{{np}}.{kind}({x.name})", [x], m)
    if kind == "abs":    # away from 0
        return _cvalue(scope, f"{{np}}.abs({x.name} + {float(m + 1.0)!r})", [x], 2 * m + 1)
    if kind == "abs2":
        return _cvalue(scope, f"{{np}}.abs({x.name}) ** 2", [x], m * m)
    if kind == "angle":  # real part >= 1: off the cut and away from 0
        return _cvalue(scope, f"{{np}}.angle({x.name} + {float(m + 1.0)!r})", [x], 1.6)
    if kind == "negative":
        return _cvalue(scope, f"-{x.name}", [x], m)
    c = draw(st.sampled_from(C_CONSTANTS), label="complex constant")
    return _cvalue(scope, f"{x.name} * {c}", [x], 1.5 * m)


@st.composite
def complex_binary(draw, scope):
    a, b = scope.pick(draw), scope.pick(draw, label="second operand")
    kind = draw(st.sampled_from(["+", "-", "*", "/"]), label="complex binary")
    if kind == "/":
        shift = float(b.high * b.high + 1.0)
        return _cvalue(scope, f"{a.name} / ({b.name} * {b.name} + {shift!r})", [a, b], a.high)
    bound = a.high * b.high if kind == "*" else a.high + b.high
    return _cvalue(scope, f"{a.name} {kind} {b.name}", [a, b], bound)


@st.composite
def complex_reduction(draw, scope):
    x = scope.pick(draw)
    kind = draw(st.sampled_from(["sum", "mean", "prod"]), label="complex reduction")
    axis = draw(st.sampled_from([None] + list(range(-len(x.shape), 0))), label="axis")
    keep = draw(st.booleans(), label="keepdims") and axis is not None
    arg, m = (_scaled(x, 1.0) if kind == "prod" else (x.name, x.high))
    extra = _args_text(arg, _axis_text(axis), "keepdims=True" if keep else "")
    size = math.prod(x.shape) if axis is None else x.shape[axis]
    bound = {"sum": m * size, "mean": m, "prod": m ** size}[kind]
    return _cvalue(scope, f"{{np}}.{kind}({extra})", [x], max(bound, 1e-3))


@st.composite
def complex_product(draw, scope):
    a = scope.pick(draw, lambda v: len(v.shape) >= 1)
    b = scope.pick(draw, lambda v: len(v.shape) >= 1, label="second operand")
    if a is None or b is None:
        return None
    forms = ["{np}.matmul(A, B)", "{np}.matmul(A, {np}.swapaxes(B, -1, -2))",
             "{np}.einsum('...i,...i->...', A, B)", "{np}.dot(A, B)", "A @ B",
             "{np}.vdot(A, B)"]
    form = forms[draw(st.integers(0, len(forms) - 1), label="product form")]
    code = form.replace("A", a.name).replace("B", b.name)
    return _cvalue(scope, code, [a, b], a.high * b.high * max(a.shape + b.shape))


@st.composite
def complex_structural(draw, scope):
    x = scope.pick(draw)
    kind = draw(st.sampled_from(["reshape", "T", "reverse", "slice", "concatenate",
                                 "where"]), label="complex structural")
    if kind == "reshape":
        return _cvalue(scope, f"{{np}}.reshape({x.name}, (-1,))", [x], x.high)
    if kind == "T":
        return _cvalue(scope, f"{{np}}.transpose({x.name})", [x], x.high)
    if kind in ("reverse", "slice") and x.shape:
        index = "::-1" if kind == "reverse" else "1:"
        return _cvalue(scope, f"{x.name}[..., {index}]", [x], x.high)
    y = scope.pick(draw, label="second operand")
    if kind == "concatenate":
        return _cvalue(scope, f"{{np}}.concatenate([{x.name}, {y.name}], axis=-1)", [x, y],
                       max(x.high, y.high))
    shape = broadcast(x.shape, y.shape)
    if shape is None:
        return None
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=math.prod(shape),
                                    max_size=math.prod(shape)), label="mask")).reshape(shape)
    return _cvalue(scope, f"{{np}}.where({mask_text(mask)}, {x.name}, {y.name})", [x, y],
                   max(x.high, y.high))


COMPLEX_FAMILIES = [complex_unary, complex_unary, complex_binary, complex_binary,
                    complex_reduction, complex_product, complex_structural]


@st.composite
def complex_programs(draw, max_ops=6) -> Body:
    base = draw(st.sampled_from(C_SHAPES), label="shape")
    suffixes = [base[i:] for i in range(len(base) + 1)]
    n_inputs = draw(st.integers(1, 2), label="inputs")
    # The second input may be real (named r1): a complex program of a real argument.
    names = ["x0", draw(st.sampled_from(["x1", "r1"]), label="second input's kind")]
    params = [Value(names[i], draw(st.sampled_from(suffixes), label="input shape"),
                    -1.5 * math.sqrt(2), 1.5 * math.sqrt(2)) for i in range(n_inputs)]
    scope = Scope(params, itertools.count(1))
    ops = []
    for _ in range(draw(st.integers(1, max_ops), label="ops")):
        for _attempt in range(5):
            family = COMPLEX_FAMILIES[draw(st.integers(0, len(COMPLEX_FAMILIES) - 1),
                                           label="family")]
            op = draw(family(scope))
            if op is not None:
                break
        else:
            continue
        ops.append(scope.add(op))
    assume(ops)
    unused = [op.out.name for op in ops[:-1] if op.out.name not in scope.used]
    results = [ops[-1].out.name] + unused[-1:]
    return Body("f", tuple(params), tuple(ops), tuple(results))


def is_real(v: Value) -> bool:
    """Whether an input of a complex program is real (float64)."""
    return v.name.startswith("r")


class ComplexCase(Case):
    """A program on complex128 inputs; ``loss`` is real: ``sum(real(w * out))`` over the
    outputs, with complex weights ``w``, plus ``sum(abs(out[0]) ** 2) / 4``."""

    @functools.cached_property
    def arrays(self):
        rng = np.random.default_rng(self.seed)
        def draw_complex(shape, scale=1.0, real=False):
            return np.asarray(rng.uniform(-scale, scale, shape)
                              + (0 if real else 1j * rng.uniform(-scale, scale, shape)))
        params = self.program.params
        args = [draw_complex(v.shape, 1.5, is_real(v)) for v in params]
        shapes = {op.out.name: op.out.shape for op in self.program.ops}
        weights = [np.round(draw_complex(shapes[r]) * 4) / 4 for r in self.program.results]
        t = [draw_complex(v.shape, real=is_real(v)) for v in params]
        u = [draw_complex(v.shape, real=is_real(v)) for v in params]
        return args, weights, t, u

    def loss_source(self, backend="funcgrad") -> list[str]:
        params = ", ".join(v.name for v in self.program.params)
        m = BACKENDS[backend]["np"]
        outs = ["out"] if len(self.program.results) == 1 else [
            f"out[{k}]" for k in range(len(self.program.results))]
        terms = [f"{m}.sum({m}.real({o} * w[{k}]))" for k, o in enumerate(outs)]
        return [f"def loss({params}):", f"    out = f({params})",
                f"    return {' + '.join(terms)} + {m}.sum({m}.abs({outs[0]}) ** 2) / 4"]


def complex_variants(args) -> list[tuple[str, list]]:
    """The same complex128 values in the forms ``jit`` takes."""
    def view(a):
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    return [("C-ordered arrays and 0-d arrays", list(args)),
            ("F-ordered arrays and Python complex numbers",
             [np.asfortranarray(a) if a.ndim else a.item() for a in args]),
            ("strided views and fg.Arrays", [view(a) if a.ndim else fnp.asarray(a)
                                             for a in args])]


def _low(dtype) -> np.dtype:
    return np.dtype(np.complex64 if np.dtype(dtype).kind == "c" else np.float32)


def _pairing(a, b) -> float:
    """Re(sum(a * b)) over leaves: the real pairing reverse mode transposes under."""
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)).real for x, y in zip(a, b)))


class ComplexRun(Run):
    def __init__(self, case: ComplexCase):
        super().__init__(case)
        self.dtypes = [r.dtype for r in self.reference]
        namespace = {"np": np, "f": self.oracle.f, "w": self.w}
        exec("\n".join(case.loss_source("numpy")), namespace)  # noqa: S102
        self.loss_oracle = namespace["loss"]

    def oracle_loss(self, *args) -> float:
        with np.errstate(all="raise", under="ignore"):
            return float(self.loss_oracle(*args))

    def expect_values(self, check, got, how, rtol=1e-8, want=None, low=False):
        want = self.reference if want is None else want
        outs = leaves(got)
        dtypes = [_low(d) if low else d for d in self.dtypes]
        for i, (g, d) in enumerate(zip(outs, dtypes)):
            if g.dtype != d:
                raise mismatch(check)(f"{check}: output {i} has dtype {g.dtype}, expected "
                                      f"{d}\n  {how}")
        expect_close(check, got, want, rtol, how)

    def run_all(self):
        self.check("complex: values", self.complex_values)
        if self.case.native:
            self.check("complex: jit, native", self.complex_native)
        self.check("complex: grad", self.complex_grad)
        self.check("complex: jvp and vjp", self.complex_jvp_vjp)
        self.check("complex: vmap", self.complex_vmap)
        self.check("complex: jvp of grad", self.complex_second)
        if jax is not None and self.case.against_jax:
            self.check("complex: against JAX", self.complex_against_jax)

    def complex_vmap(self):
        """vmap over a batch of two: the inputs, and the inputs moved along t."""
        other = self.moved(0.25, self.t)
        want = [np.stack(pair) for pair in zip(self.reference, self.oracle(*other))]
        got = fg.vmap(self.f)(*[np.stack(pair) for pair in zip(self.args, other)])
        expect_close("complex: vmap", got, want, 1e-8,
                     "fg.vmap(f) of the inputs stacked with themselves moved along t")

    def complex_second(self):
        """Forward over reverse: jvp of grad along u, against central differences of grad."""
        grad = fg.grad(self.loss, argnums=self.argnums)
        _, tangent = fg.jvp(grad, tuple(self.args), tuple(self.u))
        estimate, trusted = richardson(lambda h: [
            (np.asarray(p) - np.asarray(m)) / (2 * h)
            for p, m in zip(leaves(grad(*self.moved(h, self.u))),
                            leaves(grad(*self.moved(-h, self.u))))], 1e-3)
        if trusted:
            expect_close("complex: jvp of grad", tangent, estimate, 1e-6,
                         f"fg.jvp(fg.grad(loss, argnums={self.argnums}), {self.tuple}, u)[1] "
                         "against central differences of grad")

    def complex_values(self):
        jitted = fg.jit(self.fresh())
        for what, args in complex_variants(self.args):
            self.expect_values("complex: eager value", self.f(*args),
                               f"f{self.call} on {what} against NumPy")
            self.expect_values("complex: jit, interpreted", interpreted(jitted, args),
                               f"fg.jit(f){self.call} (first tier) on {what} against NumPy")
        traced = fg.vjp(self.f, *self.args)[0]
        self.expect_values("complex: traced value", traced,
                           f"fg.vjp(f, *{self.tuple})[0] against NumPy")
        args64 = [a.astype(_low(a.dtype)) for a in self.args]
        eager64 = self.f(*args64)
        self.expect_values("complex: eager value, complex64", eager64,
                           f"f{self.call} on complex64 arrays against NumPy in complex128",
                           rtol=3e-3, low=True)
        self.expect_values("complex: jit, interpreted, complex64",
                           interpreted(jitted, args64), f"fg.jit(f){self.call} on complex64 "
                           "arrays against eager f", rtol=1e-4, want=eager64, low=True)

    def complex_native(self):
        jitted = natively(fg.jit(self.fresh()), self.args)
        for what, args in complex_variants(self.args):
            self.expect_values("complex: jit, native", jitted(*args),
                               f"fg.jit(f){self.call} (native) on {what} against NumPy")
        args64 = [a.astype(_low(a.dtype)) for a in self.args]
        self.expect_values("complex: jit, native, complex64", natively(jitted, args64)(*args64),
                           f"fg.jit(f){self.call} (native) on complex64 arrays against eager f",
                           rtol=1e-4, want=self.f(*args64), low=True)
        jitted = natively(fg.jit(fg.grad(self.fresh_loss(), argnums=self.argnums)), self.args)
        expect_close("complex: jit(grad), native", jitted(*self.args), self.gradient, 1e-9,
                     f"fg.jit(fg.grad(loss, argnums={self.argnums})){self.call} (native)")

    def complex_grad(self):
        """grad is dloss/dx - i dloss/dy, elementwise: central differences along each
        element's real and imaginary directions."""
        how = f"fg.grad(loss, argnums={self.argnums}){self.call}"
        grad = fg.grad(self.loss, argnums=self.argnums)
        self.gradient = grad(*self.args)
        for i, g in enumerate(leaves(self.gradient)):
            if g.dtype != self.args[i].dtype:
                raise mismatch("complex: grad")(f"{how}: gradient {i} has dtype {g.dtype}")
        estimate, trusted = [], True
        for i, a in enumerate(self.args):
            parts = np.zeros(a.shape, a.dtype)
            for j in np.ndindex(a.shape):
                for direction in (1.0,) if a.dtype.kind == "f" else (1.0, 1j):
                    def difference(h, i=i, j=j, direction=direction):
                        def at(step):
                            moved = [x.copy() for x in self.args]
                            moved[i][j] += step * direction
                            return self.oracle_loss(*moved)
                        return [np.asarray((at(h) - at(-h)) / (2 * h))]
                    (value,), ok = richardson(difference, 1e-3)
                    trusted = trusted and ok
                    parts[j] += float(value) * np.conj(direction)
            estimate.append(parts)
        if trusted:
            STATS["complex: grad against central differences"] += 1
            expect_close("complex: grad", self.gradient, estimate, 1e-6,
                         f"{how} against central differences of the NumPy loss along the "
                         "real and imaginary parts (JAX's convention: df/dx - i df/dy)")
        jitted = fg.jit(grad)
        expect_close("complex: jit(grad)", interpreted(jitted, self.args), self.gradient, 1e-9,
                     f"fg.jit(fg.grad(loss, argnums={self.argnums})){self.call} (first tier)")
        args64 = [a.astype(_low(a.dtype)) for a in self.args]
        low = grad(*args64)
        for i, g in enumerate(leaves(low)):
            if g.dtype != _low(self.args[i].dtype):
                raise mismatch("complex: grad, complex64")(
                    f"{how} on complex64 arrays: gradient {i} has dtype {g.dtype}")
        expect_close("complex: grad, complex64", low, self.gradient, 1e-2,
                     f"{how} on complex64 arrays against complex128")

    def complex_jvp_vjp(self):
        primal, tangent = fg.jvp(self.f, tuple(self.args), tuple(self.t))
        self.expect_values("complex: jvp", primal, "fg.jvp(f, ...)[0] against NumPy")
        estimate, trusted = richardson(lambda h: [
            (p - m) / (2 * h) for p, m in zip(self.oracle(*self.moved(h, self.t)),
                                              self.oracle(*self.moved(-h, self.t)))], 1e-3)
        if trusted:
            expect_close("complex: jvp", tangent, estimate, 1e-6,
                         f"fg.jvp(f, {self.tuple}, t)[1] against central differences")
        out, vjp_fn = fg.vjp(self.f, *self.args)
        rng = np.random.default_rng(self.case.seed + 2)
        cotangent = [rng.uniform(-1, 1, r.shape) + (1j * rng.uniform(-1, 1, r.shape)
                                                    if r.dtype.kind == "c" else 0)
                     for r in self.reference]
        pulled = vjp_fn(cotangent[0] if len(cotangent) == 1 else tuple(cotangent))
        for i, p in enumerate(leaves(pulled)):
            if p.dtype != self.args[i].dtype:
                raise mismatch("complex: vjp")(f"fg.vjp: cotangent {i} has dtype {p.dtype}")
        forward, backward = _pairing(cotangent, leaves(tangent)), _pairing(leaves(pulled),
                                                                           self.t)
        expect_close("complex: jvp against vjp", np.asarray(backward), np.asarray(forward),
                     1e-9, "Re(sum(ct * jvp(f)(t))) against Re(sum(vjp(f)(ct) * t))")

    def complex_against_jax(self):
        source = "\n".join(render(self.case.program, "jax") + self.case.loss_source("jax"))
        if "jnp.sign(" in source:
            # JAX gives complex sign (z / |z|) a zero derivative; funcgrad's is z / |z|'s own,
            # which the central differences above check.
            STATS["complex: JAX skipped (its complex sign has a zero derivative)"] += 1
            return
        namespace = {"jnp": jnp, "jref": jref, "np": np, "w": [jnp.asarray(w) for w in self.w]}
        exec(source, namespace)  # noqa: S102
        args = tuple(jnp.asarray(a) for a in self.args)
        try:
            _, tangent = jax.jvp(namespace["f"], args, tuple(jnp.asarray(d) for d in self.t))
            gradient = jax.grad(namespace["loss"], argnums=self.argnums)(*args)
        except Exception as error:   # a program JAX refuses is no finding about funcgrad
            STATS[f"JAX refused the program ({type(error).__name__})"] += 1
            return
        STATS["complex: compared with JAX"] += 1
        expect_close("complex: jvp against JAX", fg.jvp(self.f, tuple(self.args),
                                                        tuple(self.t))[1],
                     [np.asarray(x) for x in jax.tree_util.tree_leaves(tangent)], 1e-9,
                     f"fg.jvp(f, {self.tuple}, t)[1] against jax.jvp")
        expect_close("complex: grad against JAX", self.gradient,
                     [np.asarray(g) for g in gradient], 1e-9,
                     f"fg.grad(loss, argnums={self.argnums}){self.call} against jax.grad")


# ------------------------------------------------------------------------------ profiles

@dataclasses.dataclass(frozen=True)
class Profile:
    max_ops: int
    native_percent: int     # of cases also run on jit's native tier
    kinds_percent: int      # of those also compiled for float32 and integer arguments
    jax_percent: int        # of cases also compared with JAX (where it is installed)
    max_depth: int = 2      # control flow in control flow's bodies, once (0: no control flow)


SHORT = Profile(max_ops=8, native_percent=0, kinds_percent=0, jax_percent=10)
# numba compiles each body of a cond or a loop on its own (a program with two took 14 s).
NATIVE = Profile(max_ops=6, native_percent=100, kinds_percent=0, jax_percent=0, max_depth=0)
LONG = Profile(max_ops=12, native_percent=10, kinds_percent=20, jax_percent=10)


@st.composite
def cases(draw, profile: Profile) -> Case:
    program = draw(programs(profile.max_ops, profile.max_depth))
    seed = draw(st.integers(0, 2 ** 32 - 1), label="seed")
    def sometimes(percent, label):
        # sampled_from draws uniformly (integers() favours small ones), and shrinks toward
        # the first element: toward not doing it.
        return draw(st.sampled_from(range(100)), label=label) >= 100 - percent
    native = sometimes(profile.native_percent, "native")
    kinds = native and sometimes(profile.kinds_percent, "native kinds")
    against_jax = sometimes(profile.jax_percent, "against JAX")
    in_axes = tuple(draw(st.sampled_from([0, None, -1]), label="in_axes")
                    for _ in program.params)
    if all(axis is None for axis in in_axes):
        in_axes = (0,) + in_axes[1:]
    return Case(program, seed, native, kinds, in_axes, against_jax)


@st.composite
def complex_cases(draw, profile: Profile) -> ComplexCase:
    program = draw(complex_programs(min(profile.max_ops, 8)))
    seed = draw(st.integers(0, 2 ** 32 - 1), label="seed")
    native = draw(st.sampled_from(range(100)), label="native") >= 100 - profile.native_percent
    against_jax = draw(st.sampled_from(range(100)), label="against JAX") >= (
        100 - profile.jax_percent)
    return ComplexCase(program, seed, native, False, (0,) * len(program.params), against_jax)


def check_complex_case(case: ComplexCase) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ComplexRun(case).run_all()


def complex_fuzz_test(profile: Profile, examples: int, derandomize=False, seed=None):
    """A hypothesis test of ``examples`` programs on complex inputs."""
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(complex_cases(profile))
    def test_random_complex_programs(case):
        STATS["complex programs drawn"] += 1
        check_complex_case(case)
    return (test_random_complex_programs if seed is None
            else hypothesis_seed(seed)(test_random_complex_programs))


def fuzz_test(profile: Profile, examples: int, derandomize=False, seed=None, progress=False):
    """A hypothesis test of ``examples`` cases of ``profile`` (``progress``: a line on stderr
    every 100 programs)."""
    start = time.perf_counter()

    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(cases(profile))
    def test_random_programs(case):
        STATS["programs drawn"] += 1
        if progress and STATS["programs drawn"] % 100 == 0:
            print(f"  {STATS['programs drawn']} programs, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)
        check_case(case)
    return test_random_programs if seed is None else hypothesis_seed(seed)(test_random_programs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="programs to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--native-percent", type=int, default=LONG.native_percent,
                        help="the weight of jit's native tier (hypothesis's draws make the "
                             "share of programs compiled by numba about 0.4 times this)")
    parser.add_argument("--complex", type=int, default=None,
                        help="programs on complex inputs to try after them (default n / 3)")
    options = parser.parse_args(argv)
    if options.complex is None:
        options.complex = options.n // 3
    profile = dataclasses.replace(LONG, native_percent=options.native_percent)
    start = time.perf_counter()
    failed = False
    try:
        fuzz_test(profile, options.n, seed=options.seed, progress=True)()
        if options.complex:
            print(f"  then {options.complex} programs on complex inputs", file=sys.stderr)
            complex_fuzz_test(profile, options.complex, seed=options.seed)()
    except BaseException as error:   # hypothesis has printed the shrunk program(s)
        if isinstance(error, KeyboardInterrupt):
            raise
        failed = True
        # The notes hypothesis adds hold the shrunk program(s).
        print("\nFAILED:\n" + "".join(traceback.format_exception(error)))
    print(f"\n{options.n} programs (seed {options.seed}) in {time.perf_counter() - start:.0f} s"
          f"{'' if jax is not None else '; JAX not installed'}")
    for what, count in sorted(STATS.items()):
        print(f"  {count:6d}  {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    # Random programs would fill the user's kernel cache: a fresh one, deleted after, unless
    # FUNCGRAD_CACHE_DIR says where.
    with tempfile.TemporaryDirectory(prefix="funcgrad-fuzz-") as kernels:
        os.environ.setdefault("FUNCGRAD_CACHE_DIR", kernels)
        status = main()
    sys.exit(status)
