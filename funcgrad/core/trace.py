"""Tracing: running a Python function on ``Tracer`` values to record an ``IR``.

There is one kind of trace, the IR builder, and a stack of them: each transformation that traces
pushes one. A primitive bound to tracers is recorded in the innermost trace among its
arguments; a tracer of an enclosing trace that reaches an inner one (a closure) becomes a
constant of the inner IR. That is what keeps nested derivatives free of perturbation
confusion: each level differentiates only its own inputs. A primitive bound to concrete
arrays only is evaluated on the spot (constant folding).

The stack belongs to the thread (as JAX keeps its trace state thread-local): any number of
threads trace, differentiate and call jitted functions at once, each in traces of its own, and
a trace records only the equations bound in the thread that made it.
"""
from __future__ import annotations

import contextlib
import operator
import threading

import numpy as np

from .aval import _SCALAR_AVALS, ShapedArray, aval_of
from .errors import (
    ConcretizationError,
    EscapedTracerError,
    ShapeError,
    TracerConversionError,
    at_user_line,
)
from .ir import IR, Eqn, Literal, Var

_get_ident = threading.get_ident
_new = object.__new__   # an instance without its __init__ call (see EvaluatingTrace.process)


class _ThreadState(threading.local):
    """Each thread's stack of traces, innermost last."""

    def __init__(self):
        self.stack: list[IRTrace] = []


_state = _ThreadState()


def tracing() -> bool:
    """Whether this thread is inside a transformation's trace."""
    return bool(_state.stack)


def innermost_trace() -> IRTrace:
    return _state.stack[-1]


@contextlib.contextmanager
def untraced():
    """Run a computation on concrete arrays as if no transformation were open in this
    thread: what it binds computes (or records into traces it opens itself), never into an
    enclosing trace. For impls that run whole transformations (``host_call``)."""
    stack = _state.stack
    _state.stack = []
    try:
        yield
    finally:
        _state.stack = stack


class Tracer:
    """A traced array: it knows its shape and dtype, and stands for a variable of an IR."""

    __slots__ = ("_trace", "_var", "_origin", "_weak")
    __array_priority__ = 1000

    def __init__(self, trace: IRTrace, var: Var, origin: str):
        self._trace = trace
        self._var = var
        self._origin = origin
        # Whether it stands for a Python number (an argument of jit or vmap, and Python's
        # arithmetic on it): NumPy's promotion then treats it as weak, so that
        # ``float32_array * lr`` stays float32 as it does eagerly (``funcgrad.numpy._core``).
        self._weak = False

    # ``aval``, ``shape`` and ``dtype`` are read by C getters (``attrgetter``), without a
    # Python call: derivative rules read operands' shapes at every equation they run.
    aval = property(operator.attrgetter("_var.aval"), doc="The abstract value (ShapedArray).")
    shape = property(operator.attrgetter("_var.aval.shape"), doc="The shape, a tuple.")
    dtype = property(operator.attrgetter("_var.aval.dtype"), doc="The dtype.")

    @property
    def ndim(self):
        return len(self._var.aval.shape)

    @property
    def size(self):
        return self._var.aval.size

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        value = self._known()
        if value is _UNKNOWN:
            return f"Tracer<{self.aval.short()}>"
        return f"Tracer<{self.aval.short()}>({np.array2string(np.asarray(value))})"

    # ---------------------------------------------------- conversions: known values or errors
    # Under differentiation of concrete inputs (grad, vjp, jvp, jacfwd, jacrev, hessian) a
    # traced value knows its number, and Python control flow and conversions use it: the
    # recorded program is the path taken. ``float()``, ``int()`` and ``.item()`` give constants
    # (no derivative flows through them). Elsewhere (jit, vmap, loop bodies) they raise.
    def _known(self):
        trace = self._trace
        if not trace.active or trace.thread != threading.get_ident():
            return _UNKNOWN
        return trace.concrete(self._var)

    def _describe(self) -> str:
        return f"a traced {self.aval.short()} array (from {self._origin})"

    def __bool__(self):
        value = self._known()
        if value is not _UNKNOWN:
            return bool(value)
        raise ConcretizationError(at_user_line(
            f"Python control flow needs the truth value of {self._describe()}, but its value "
            "is not known here: under jit, vmap, make_ir and inside cond/scan/while_loop "
            "bodies a traced value has no number (under grad, jvp and the Jacobians of "
            "concrete inputs it has). Use fnp.where(cond, a, b) or fg.cond(pred, true_fun, "
            "false_fun, *operands) for a data-dependent choice, or make the argument static "
            "(fg.jit(..., static_argnums=...))."))

    def _conversion_error(self, what: str):
        return TracerConversionError(at_user_line(
            f"{what} of {self._describe()}: its value is not known here (under jit, vmap, "
            "make_ir and inside cond/scan/while_loop bodies). Keep the computation in "
            "funcgrad.numpy (fnp) operations, or return the value from the transformed "
            "function and convert it outside."))

    def _value(self, what: str):
        value = self._known()
        if value is _UNKNOWN:
            raise self._conversion_error(what)
        return value

    def __array__(self, dtype=None, copy=None):
        # Even where the value is known: a NumPy function would silently drop the derivative.
        # A NumPy array indexed by a traced integer (a loop counter) lands here too.
        index_hint = (" If it indexes a NumPy array (table[i]), make that a funcgrad array "
                      "first: fnp.asarray(table)[i]." if self.dtype.kind in "iub" else "")
        raise TracerConversionError(at_user_line(
            f"numpy conversion (np.asarray / np.array) of {self._describe()} inside a funcgrad "
            "transformation: NumPy cannot carry its derivative. Use funcgrad.numpy (fnp) "
            "operations on it, float(x) / x.item() for a constant (no derivative), or return "
            f"the value from the transformed function and convert it outside.{index_hint}"))

    def __setitem__(self, index, value):
        raise TypeError(at_user_line(
            f"item assignment (x[...] = value) on {self._describe()}: traced arrays are "
            "immutable, as JAX's. Write x = x.at[index].set(value) (or .add, .multiply, .min, "
            ".max) for the updated array."))

    def __float__(self):
        return float(self._value("float()"))

    def __int__(self):
        return int(self._value("int()"))

    def __complex__(self):
        return complex(self._value("complex()"))

    def __index__(self):
        return operator.index(self._value("use as a Python index (__index__)"))

    def __format__(self, spec):
        value = self._known()
        if value is _UNKNOWN:
            if spec:
                raise self._conversion_error(f"format with {spec!r}")
            return repr(self)
        return format(value, spec)

    def tolist(self):
        return np.asarray(self._value(".tolist()")).tolist()

    def item(self, *args):
        return np.asarray(self._value(".item()")).item(*args)


_UNKNOWN = object()   # a traced value's number, where it is not known


def known_value(x):
    """``x`` itself, or the number a tracer stands for where its trace knows it, or
    ``_UNKNOWN``."""
    if not isinstance(x, Tracer):
        return x
    return x._known()


class IRTrace:
    """Records bound primitives as equations of an IR under construction.

    ``values`` (a dict from each variable to its value) is set by ``EvaluatingTrace``, which
    also evaluates every equation as it records it.
    """

    def __init__(self, level: int, values: dict | None = None, knows: bool = False):
        self.level = level
        self.active = True
        # Whether a ``stage_constants`` primitive on concrete operands is recorded here (off:
        # computed on the spot, as every other primitive is; ``linearize`` wants that).
        self.stage_constants = True
        self.thread = threading.get_ident()   # the only thread that may record into it
        self.invars: list[Var] = []
        self.eqns: list[Eqn] = []
        self.constvars: list[Var] = []
        self.consts: list = []
        self._const_var_by_id: dict[int, Var] = {}
        self.values = values
        # With ``knows`` and no ``values``: the numbers of its variables, worked out only when
        # asked (``concrete``), from the inputs' numbers (``_sources``: the arguments, which
        # may be tracers of an enclosing trace that knows them) by running the equations
        # recorded so far. Nothing is computed unless Python control flow asks.
        self.known: dict | None = {} if knows and values is None else None
        self._sources: dict = {}
        self._known_upto = 0

    def new_input(self, aval: ShapedArray, origin: str = "an argument") -> Tracer:
        var = Var(aval)
        self.invars.append(var)
        return Tracer(self, var, origin)

    def atom(self, value):
        """The IR atom for ``value``: its var, an inline literal, or a captured constant."""
        aval = _SCALAR_AVALS.get(type(value))
        if aval is not None:   # a NumPy scalar (``x * 2.0`` binds ``np.float64(2.0)``)
            literal = _new(Literal)   # = Literal(value), without its call of aval_of
            literal.val = value
            literal.aval = aval
            return literal
        if isinstance(value, Tracer):
            if value._trace is self:
                return value._var
            if not value._trace.active:
                raise _escaped(value)
            if value._trace.thread != self.thread:
                raise _foreign(value)
        else:
            # np.asarray makes an ndarray subclass (fg.Array) the plain array it views
            if type(value) is not np.ndarray and not isinstance(value, np.generic):
                value = np.asarray(value)
            if value.ndim == 0:
                return Literal(value)
        var = self._const_var_by_id.get(id(value))
        if var is None:
            var = Var(value.aval if isinstance(value, Tracer) else aval_of(value))
            self._const_var_by_id[id(value)] = var
            self.constvars.append(var)
            self.consts.append(value)   # also keeps the object alive, so its id stays unique
            if self.values is not None:
                self.values[var] = value   # an array, or a tracer of an enclosing trace
            elif self.known is not None:
                self._sources[var] = value
        return var

    def concrete(self, var):
        """The number ``var`` stands for, where this trace can know it, else ``_UNKNOWN``."""
        known = self.known
        if known is None:
            return _UNKNOWN
        if var not in known:
            if var in self._sources:   # an input or a constant: the number it was given
                known[var] = known_value(self._sources[var])
            else:
                self._run_until(var)
        return known.get(var, _UNKNOWN)

    def _run_until(self, var) -> None:
        """Work out the equations recorded since the last question, in order, up to the one
        that defines ``var``, through ``impl`` (which records nothing)."""
        known, eqns = self.known, self.eqns
        with np.errstate(all="ignore"):
            while self._known_upto < len(eqns) and var not in known:
                eqn = eqns[self._known_upto]
                self._known_upto += 1
                args = [a.val if type(a) is Literal else self.concrete(a) for a in eqn.inputs]
                outs = _UNKNOWN
                # An effect (a print) runs when the program runs, not when a value is asked.
                if not eqn.primitive.effectful and not any(a is _UNKNOWN for a in args):
                    try:
                        outs = eqn.primitive.impl(*args, **eqn.params)
                    except Exception:  # a value that cannot be had is unknown, not an error
                        outs = _UNKNOWN
                if not eqn.primitive.multiple_results:
                    outs = [outs]
                elif outs is _UNKNOWN:
                    outs = [_UNKNOWN] * len(eqn.outputs)
                known.update(zip(eqn.outputs, outs))

    def process(self, prim, args, params):
        """Record ``prim`` applied to ``args`` as an equation; return its result's tracer(s)."""
        if not self.active or self.thread != _get_ident():
            raise _misused(self, args)
        count = len(args)
        if count == 2:   # unrolled for two operands and one (most equations)
            x, y = args
            x = x._var if type(x) is Tracer and x._trace is self else self.atom(x)
            y = y._var if type(y) is Tracer and y._trace is self else self.atom(y)
            inputs = [x, y]
            if params:
                out_avals = _shape(prim, (x.aval, y.aval), params)
            else:
                known = _SHAPES.get((prim, id(x.aval), id(y.aval)))
                out_avals = known[0] if known is not None else _shape(prim, (x.aval, y.aval))
        elif count == 1:
            x = args[0]
            x = x._var if type(x) is Tracer and x._trace is self else self.atom(x)
            inputs = [x]
            if params:
                out_avals = _shape(prim, (x.aval,), params)
            else:
                known = _SHAPES.get((prim, id(x.aval)))
                out_avals = known[0] if known is not None else _shape(prim, (x.aval,))
        else:
            inputs = [a._var if type(a) is Tracer and a._trace is self else self.atom(a)
                      for a in args]
            out_avals = _shape(prim, [a.aval for a in inputs], params)
        if not prim.multiple_results:
            # Var(out_avals), Eqn(...) and Tracer(self, var, prim.name), made without their
            # __init__ calls (see EvaluatingTrace.process)
            var = _new(Var)
            var.aval = out_avals
            eqn = _new(Eqn)
            eqn.primitive, eqn.inputs, eqn.outputs, eqn.params = prim, inputs, [var], params
            self.eqns.append(eqn)
            tracer = _new(Tracer)
            tracer._trace, tracer._var, tracer._origin, tracer._weak = self, var, prim.name, False
            return tracer
        outputs = [Var(a) for a in out_avals]
        self.eqns.append(Eqn(prim, inputs, outputs, params))
        return [Tracer(self, v, prim.name) for v in outputs]


class EvaluatingTrace(IRTrace):
    """An ``IRTrace`` that also evaluates every equation as it records it: ``values`` maps each
    variable to its value, so that reverse mode need not run the program a second time.

    A value is an array, or a tracer of an enclosing trace (nested differentiation, or
    differentiation under ``jit``): evaluating an equation on those records it there.

    For reverse mode (``trace_for_reverse``) it also works out, in the same pass, what
    ``linearize`` would otherwise find in a second pass over the equations: ``needs``, the
    variables through which a wanted input reaches them (floating ones only: no cotangent
    flows through integers), and ``plan``, for each equation, which of its inputs want a
    cotangent (a tuple of bools), or None where none does.
    """

    def __init__(self, level: int, wanted=None, stop=None, mark=None):
        super().__init__(level, {}, knows=True)
        self.wanted = wanted   # one flag per input: whether it wants a cotangent (or None)
        self.needs: set | None = None   # made by ``_record`` from ``wanted``
        self.plan: list = []
        self.stop = stop   # the primitive through which no derivative flows (stop_gradient)
        self.mark = mark   # one whose outputs want cotangents regardless (retain_grad)

    def concrete(self, var):
        value = self.values.get(var, _UNKNOWN)
        return value._known() if type(value) is Tracer else value

    def process(self, prim, args, params):
        if not self.active or self.thread != _get_ident():
            raise _misused(self, args)
        # Eager differentiation records and evaluates one equation per operation, so this is
        # its hottest path: unrolled for one and two operands (most equations), with the
        # rules called without ``**params`` where there are none (a call through ``*``/``**``
        # costs more). The operands' values are arrays, or tracers of an enclosing trace
        # (nested differentiation), where the equation is recorded there too (``nested``).
        values = self.values
        count = len(args)
        nested = False
        if count == 2:
            a, b = args
            a = a._var if type(a) is Tracer and a._trace is self else self.atom(a)
            b = b._var if type(b) is Tracer and b._trace is self else self.atom(b)
            inputs = [a, b]
            x = a.val if type(a) is Literal else values[a]
            y = b.val if type(b) is Literal else values[b]
            if type(x) is not Tracer and type(y) is not Tracer:
                if params:
                    out_avals = _shape(prim, (a.aval, b.aval), params)
                    out = prim.impl(x, y, **params)
                else:
                    known = _SHAPES.get((prim, id(a.aval), id(b.aval)))
                    out_avals = known[0] if known is not None else _shape(prim, (a.aval, b.aval))
                    out = prim.impl(x, y)
            else:
                nested, operands, avals = True, (x, y), (a.aval, b.aval)
        elif count == 1:
            a = args[0]
            a = a._var if type(a) is Tracer and a._trace is self else self.atom(a)
            inputs = [a]
            x = a.val if type(a) is Literal else values[a]
            if type(x) is not Tracer:
                if params:
                    out_avals = _shape(prim, (a.aval,), params)
                    out = prim.impl(x, **params)
                else:
                    known = _SHAPES.get((prim, id(a.aval)))
                    out_avals = known[0] if known is not None else _shape(prim, (a.aval,))
                    out = prim.impl(x)
            else:
                nested, operands, avals = True, (x,), (a.aval,)
        else:
            inputs = [a._var if type(a) is Tracer and a._trace is self else self.atom(a)
                      for a in args]
            avals = [a.aval for a in inputs]
            operands = [a.val if type(a) is Literal else values[a] for a in inputs]
            if not any(type(v) is Tracer for v in operands):
                out_avals = _shape(prim, avals, params)
                out = prim.impl(*operands, **params)
            else:
                nested = True
        # Concrete operands: the value as a second pass over the finished IR would give it,
        # through ``impl`` (a primitive with sub-programs runs them through their equations'
        # ``impl`` too, so nothing is recorded in any trace). Tracers: recorded in the
        # enclosing trace that the values belong to.
        if nested:
            if count == 1 or (count == 2 and type(x) is Tracer and (
                    type(y) is not Tracer or y._trace is x._trace)):
                out = x._trace.process(prim, operands, params)   # = bind, sooner
            elif count == 2 and type(x) is not Tracer:
                out = y._trace.process(prim, operands, params)
            else:
                out = prim.bind(*operands, **params)
            # The enclosing trace has applied the shape rule to the same abstract operands:
            # its result's type is this equation's (a concrete result, a boolean that trace
            # did not record, gets the rule here).
            if type(out) is Tracer:
                out_avals = out._var.aval
            elif prim.multiple_results and all(type(o) is Tracer for o in out):
                out_avals = [o._var.aval for o in out]
            else:
                out_avals = _shape(prim, avals, params) if params else \
                    _cached_shape(prim, avals)
        if prim.multiple_results:
            return self._record_multiple(prim, inputs, out_avals, out, params)
        kind = out_avals.dtype.kind
        # A boolean or integer result (a comparison, an index) carries no derivative: its
        # value (a number, or a tracer of the enclosing trace) stands for it, unrecorded.
        # Python control flow on values then costs no equation here.
        if (kind == "b" or kind == "i" or kind == "u") and not prim.effectful:
            return out if type(out) is Tracer else _as_array(out)
        # Var(out_avals), Eqn(...) and Tracer(self, var, prim.name), made without calling
        # their __init__ (three Python calls an equation fewer: a tenth of its cost).
        var = _new(Var)
        var.aval = out_avals
        eqn = _new(Eqn)
        eqn.primitive, eqn.inputs, eqn.outputs, eqn.params = prim, inputs, [var], params
        self.eqns.append(eqn)
        values[var] = out
        needs = self.needs
        if needs is not None:   # reverse mode's plan for this equation (see the class)
            if prim is self.stop:
                self.plan.append(None)
            elif count == 2:
                need_a, need_b = a in needs, b in needs
                if need_a or need_b:
                    self.plan.append((need_a, need_b))
                    if kind == "f" or kind == "c":
                        needs.add(var)
                else:
                    self._plan_unneeded(prim, (var,))
            elif count == 1:
                if a in needs:
                    self.plan.append(_NEEDED)
                    if kind == "f" or kind == "c":
                        needs.add(var)
                else:
                    self._plan_unneeded(prim, (var,))
            else:
                self._plan(prim, inputs, (var,))
        tracer = _new(Tracer)
        tracer._trace, tracer._var, tracer._origin, tracer._weak = self, var, prim.name, False
        return tracer

    def _record_multiple(self, prim, inputs, out_avals, out, params):
        outputs = [Var(a) for a in out_avals]
        self.eqns.append(Eqn(prim, inputs, outputs, params))
        self.values.update(zip(outputs, out))
        if self.needs is not None:
            if prim is self.stop:
                self.plan.append(None)
            else:
                self._plan(prim, inputs, outputs)
        return [Tracer(self, v, prim.name) for v in outputs]

    def _plan(self, prim, inputs, outputs) -> None:
        """The plan of an equation with any number of inputs and outputs (see the class)."""
        needs = self.needs
        input_needs = tuple([a in needs for a in inputs])
        if True not in input_needs:
            self._plan_unneeded(prim, outputs)
            return
        self.plan.append(input_needs)
        _need_floating(needs, outputs)

    def _plan_unneeded(self, prim, outputs) -> None:
        """The plan of an equation none of whose inputs wants a cotangent: the outputs of a
        ``mark`` still want theirs (its cotangent is reported)."""
        self.plan.append(None)
        if prim is self.mark:
            _need_floating(self.needs, outputs)


# The shape rule's answers, by the identities of the primitive and of the operands' avals,
# which the entry holds (so that those identities stay theirs while it is kept), and by the
# parameters where there are any and they hash: an eager equation's rule is then a dictionary
# look-up, not a Python call. Eager code applies few primitives to few avals (one ShapedArray
# stands for every float64 scalar, ``aval_of`` gives one per shape and dtype of arrays, and
# the answers are themselves the next equations' operands). Bounded.
_SHAPES: dict = {}
_SHAPES_LIMIT = 4096


def _cached_shape(prim, avals):
    """``prim``'s shape rule on ``avals`` (an equation without parameters), from ``_SHAPES``
    where it is there."""
    known = _SHAPES.get((prim, *map(id, avals)))
    return known[0] if known is not None else _shape(prim, avals)


def _shape(prim, avals, params=None):
    """``prim``'s shape rule on ``avals``, its failure named (``abstract_eval_named``), kept in
    ``_SHAPES``: without ``params`` (None: the caller has not found it there), and with
    hashable ones (looked up here first)."""
    key = None
    if params:
        try:
            key = (prim, *map(id, avals), *params.items())
            known = _SHAPES.get(key)
        except TypeError:   # an unhashable parameter (a list, an array): not kept
            key = known = None
        if known is not None:
            return known[0]
    try:
        out = prim.abstract_eval(*avals, **params) if params else prim.abstract_eval(*avals)
    except ShapeError:
        out = prim.abstract_eval_named(avals, params or {})
    if params is None:
        key = (prim, *map(id, avals))
    if key is not None:
        if len(_SHAPES) >= _SHAPES_LIMIT:
            _SHAPES.clear()
        _SHAPES[key] = (out, *avals)
    return out


_NEEDED = (True,)   # the plan of a one-input equation whose input wants a cotangent


def _need_floating(needs: set, outputs) -> None:
    for var in outputs:
        kind = var.aval.dtype.kind
        if kind == "f" or kind == "c":
            needs.add(var)


def _misused(trace: IRTrace, args) -> EscapedTracerError:
    """The error for a primitive bound to ``trace``'s tracers after it has finished, or in
    another thread."""
    tracer = next(a for a in args if isinstance(a, Tracer) and a._trace is trace)
    return _escaped(tracer) if not trace.active else _foreign(tracer)


def _as_array(value):
    """``value`` as the ``Array`` funcgrad hands back (``core.array`` imports this module)."""
    from .array import to_array
    global _as_array
    _as_array = to_array
    return to_array(value)


def _escaped(tracer: Tracer) -> EscapedTracerError:
    return EscapedTracerError(at_user_line(
        f"{tracer._describe()} escaped the transformation that created it (it was stored in a "
        "global or closure and used after the transformed function returned). Return it "
        "from the function instead."))


def _foreign(tracer: Tracer) -> EscapedTracerError:
    return EscapedTracerError(at_user_line(
        f"{tracer._describe()} belongs to a transformation running in another thread: each "
        "thread traces its own values. Pass concrete arrays between threads (the results of "
        "transformed functions), not values seen inside a transformed function."))


def current_level() -> int:
    stack = _state.stack
    return stack[-1].level if stack else 0


def trace_to_ir(flat_fun, in_avals, origins=None, args=None,
                stage_constants: bool = True) -> IR:
    """Trace ``flat_fun(*tracers) -> list of outputs`` into an IR with inputs ``in_avals``.

    With ``args``, the values the inputs stand for (arrays, or tracers of an enclosing trace),
    traced values know their numbers where those are known (differentiation of concrete
    inputs: Python control flow then follows them); without, nothing is known (jit, vmap).
    Without ``stage_constants``, every primitive on concrete operands is computed at once
    (none is recorded as ``Primitive.stage_constants`` asks).
    """
    trace = IRTrace(current_level() + 1, knows=args is not None)
    trace.stage_constants = stage_constants
    return _record(trace, flat_fun, in_avals, origins, args)


def trace_evaluating(flat_fun, in_avals, args) -> tuple[IR, dict]:
    """``trace_to_ir`` with ``args`` that also evaluates the program on ``args`` (arrays,
    NumPy scalars, or tracers of enclosing traces) while recording it: returns the IR and the
    value of each of its variables."""
    trace = EvaluatingTrace(current_level() + 1)
    ir = _record(trace, flat_fun, in_avals, None, args)
    return ir, trace.values


def trace_for_reverse(flat_fun, in_avals, args, wanted, stop, mark=None):
    """``trace_evaluating`` for reverse mode: it also works out, while recording, which
    variables carry cotangents, as ``transforms.vjp.linearize`` would in a pass of its own.

    ``wanted``: per input, whether it wants a cotangent; ``stop``: the primitive no derivative
    flows through (``stop_gradient``); ``mark``: one whose outputs want cotangents even where
    no wanted input reaches it (``retain_grad``, where retained cotangents are asked for), or
    None. Returns ``(ir, values, needs, plan)``: ``needs``, the variables that want a
    cotangent, and ``plan``, per equation, the tuple saying which of its inputs want one, or
    None where none does.
    """
    trace = EvaluatingTrace(current_level() + 1, wanted, stop, mark)
    ir = _record(trace, flat_fun, in_avals, None, args)
    return ir, trace.values, trace.needs, trace.plan


def _record(trace: IRTrace, flat_fun, in_avals, origins, args=None) -> IR:
    stack = _state.stack
    stack.append(trace)
    try:
        tracers = [trace.new_input(aval, origins[i] if origins else "an argument")
                   for i, aval in enumerate(in_avals)]
        if trace.values is not None:
            trace.values.update(zip(trace.invars, args))
            if trace.wanted is not None:
                trace.needs = {v for v, w in zip(trace.invars, trace.wanted) if w}
        elif trace.known is not None:
            trace._sources.update(zip(trace.invars, args))
        outs = flat_fun(*tracers)
        outvars = [trace.atom(out) for out in outs]
    finally:
        stack.pop()
        trace.active = False
    return IR(trace.constvars, trace.consts, trace.invars, trace.eqns, outvars)


def read_atom(env: dict, atom):
    return atom.val if type(atom) is Literal else env[atom]


def eval_ir(ir: IR, args, consts=None, env=None) -> list:
    """Interpret ``ir`` on ``args``: NumPy arrays, or tracers (which re-records it elsewhere).

    If ``env`` is a dict, every intermediate value is left in it (reverse mode reads them).
    """
    if env is None:
        env = {}
    env.update(zip(ir.constvars, ir.consts if consts is None else consts))
    env.update(zip(ir.invars, args))
    for eqn in ir.eqns:
        values = [atom.val if type(atom) is Literal else env[atom] for atom in eqn.inputs]
        out = eqn.primitive.bind(*values, **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outputs, out))
        else:
            env[eqn.outputs[0]] = out
    return [atom.val if type(atom) is Literal else env[atom] for atom in ir.outvars]


def evaluate(ir: IR, args) -> list:
    """Run ``ir`` on NumPy arrays through each primitive's ``impl``: a primitive's ``impl``
    that runs a sub-program does it this way.

    Not through ``bind``: a primitive evaluated while some function is being traced in this
    thread (a constant loop) must compute, not record into that trace.
    """
    env = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, args))
    for eqn in ir.eqns:
        out = eqn.primitive.impl(*[a.val if type(a) is Literal else env[a] for a in eqn.inputs],
                                 **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outputs, out))
        else:
            env[eqn.outputs[0]] = out
    return [a.val if type(a) is Literal else env[a] for a in ir.outvars]


def evaluator(ir: IR):
    """``evaluate`` for one IR run many times (a loop's body, once a step): the reading of
    rules, parameters and variables is done once, values live in a list by position, and a
    matrix product goes straight to its cached plan. Returns ``run(args) -> outputs``."""
    from ..ops.contraction import pair_plan
    slot: dict = {}
    template: list = []

    def position(atom) -> int:
        if type(atom) is Literal:
            template.append(atom.val)
            return len(template) - 1
        index = slot.get(atom)
        if index is None:
            index = slot[atom] = len(template)
            template.append(None)
        return index

    for var, value in zip(ir.constvars, ir.consts):
        template[position(var)] = value
    first_input = len(template)
    for var in ir.invars:
        position(var)
    last_input = len(template)
    steps = []
    for eqn in ir.eqns:
        impl, params, inputs = eqn.primitive.impl, eqn.params, eqn.inputs
        if eqn.primitive.name == "einsum" and len(inputs) == 2 and all(
                type(a) is Var and a.aval.ndim for a in inputs):
            plan = pair_plan(params["spec"], inputs[0].aval.shape, inputs[1].aval.shape)
            impl, params = (lambda a, b, plan=plan: plan(a, b)[()]), {}
        steps.append((impl, params, tuple(position(a) for a in inputs),
                      tuple(position(v) for v in eqn.outputs), eqn.primitive.multiple_results))
    outputs = [position(a) for a in ir.outvars]

    def run(args) -> list:
        env = template.copy()
        env[first_input:last_input] = args
        for impl, params, ins, outs, multiple in steps:
            if len(ins) == 2:
                out = impl(env[ins[0]], env[ins[1]], **params)
            elif len(ins) == 1:
                out = impl(env[ins[0]], **params)
            else:
                out = impl(*[env[i] for i in ins], **params)
            if multiple:
                for index, value in zip(outs, out):
                    env[index] = value
            else:
                env[outs[0]] = out
        return [env[i] for i in outputs]
    return run


def is_tracer(value) -> bool:
    return isinstance(value, Tracer)
