"""``jit``: trace once per argument signature, run natively once numba has compiled.

Tiered execution: the first call of a new signature traces the function and runs the IR in the
interpreter (``core.schedule``: intermediates dropped early, buffers reused), then hands it to
a background thread that compiles it; later calls switch to the compiled program as soon as it
is ready. ``jitted.compile(*args)`` waits for it. The compile starts only after the first call
returns: NumPy releases the GIL inside large ufunc loops, and a thread importing numba takes it
each time, stalling the interpreter for milliseconds per operation (a first call over 1e6
elements took 98 ms that way). Called on traced values (inside ``grad`` and friends), a jitted
function is traced through, so every transformation composes.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
import queue
import sys
import threading
import warnings

import numpy as np

from .. import tree
from ..core.array import Array
from ..core.ir import common_subexpression_elimination, dead_code_elimination, typecheck
from ..core.schedule import Schedule
from ..core.trace import Tracer, trace_to_ir
from ..numpy._core import weak_use
from ..ops.control import merge_scans
from ..ops.custom import inline_calls
from . import _args
from .loop_hoisting import hoist_out_of_scans

_SCALAR_TYPES = {float, int, bool, np.float64, np.float32, np.int64, np.int32, np.bool_}


def _scalar_key(args: tuple):
    """The key of a call of scalars: their types (one type alone for one argument).

    ``jit``'s wrapper inlines the same expression: building ``tuple(map(type, args))`` costs
    more than the native code of a small scalar program.
    """
    if len(args) == 1:
        return type(args[0])
    if len(args) == 2:
        return (type(args[0]), type(args[1]))
    return tuple(map(type, args))


_NO_STATICS: frozenset = frozenset()


def _array_key(args: tuple):
    """The key of a call of plain arrays and scalars (shapes and dtypes, or scalar types);
    ``_ZERO_D`` where an argument is a 0-d array (a 0-d ``Array`` that funcgrad returned, fed
    back), or None when one is anything else (a container, a tracer)."""
    key = []
    for arg in args:
        kind = type(arg)
        if kind is np.ndarray or kind is Array:
            if not arg.ndim:
                return _ZERO_D
            key.append((arg.shape, arg.dtype))
        elif kind in _SCALAR_TYPES:
            key.append(kind)
        else:
            return None
    return tuple(key)


_ZERO_D = "0-d"
_WEAK = "weak"   # a signature's mark of a Python number


def _describe_leaf(signature_entry) -> str:
    shape, dtype = signature_entry[:2]
    weak = " (a Python number)" if signature_entry[2:] == (_WEAK,) else ""
    return f"{dtype.name}{list(shape)}{weak}"
_getitem = np.ndarray.__getitem__   # a 0-d Array's scalar (Array.__getitem__ gives a 0-d one)


def _scalars(args: tuple) -> tuple | None:
    """``args`` with each 0-d array as the NumPy scalar it holds (what kernels take), or None
    where none is a 0-d array."""
    for arg in args:
        if (type(arg) is Array or type(arg) is np.ndarray) and not arg.ndim:
            return tuple([_getitem(a, ()) if (type(a) is Array or type(a) is np.ndarray)
                          and not a.ndim else a for a in args])
    return None


HOIST_LOOPS = True   # hoist_out_of_scans in the compiled program (off: loops as traced)


class _Entry:
    """One argument signature: its IR, and its compiled program once ready."""

    __slots__ = ("ir", "schedule", "out_tree", "build_output", "program", "direct", "submitted",
                 "done", "error", "source")

    def __init__(self, ir, out_tree):
        self.ir = ir
        self.schedule = Schedule(ir)   # how the interpreter runs it before native code is ready
        self.out_tree = out_tree
        self.build_output = None   # the output structure's builder, made with the program
        self.program = None
        self.submitted = False
        self.done = threading.Event()
        self.error = None
        self.source = None
        # ``direct(*leaves)`` returns the user's output itself where the output is one array
        # or a flat tuple of arrays (the generated program builds it): the fast path.
        self.direct = None


_work: queue.Queue = queue.Queue()
_worker_lock = threading.Lock()
_worker = None
_in_flight = 0      # programs submitted to the compile thread and not yet done
_COMPILE_SWITCH_INTERVAL = 2e-4   # seconds: sys.setswitchinterval while numba compiles


def _compile_loop():
    global _in_flight
    while True:
        entry, who = _work.get()
        # numba compiles mostly in Python, holding the GIL; the interpreter in the calling
        # thread gives it up in every large NumPy call and would wait up to a switch interval
        # (5 ms) to get it back. For the compile's duration a short interval keeps that wait
        # short (a cold training run reached its target in 0.49 s instead of 0.76 s).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, _COMPILE_SWITCH_INTERVAL))
        ours = sys.getswitchinterval()
        try:
            _compile_entry(entry, who)
        finally:
            if sys.getswitchinterval() == ours:   # unless someone else changed it meanwhile
                sys.setswitchinterval(interval)
            with _worker_lock:
                _in_flight -= 1
            entry.done.set()


def _compile_entry(entry: _Entry, who: str) -> None:
    """Build ``entry``'s program, or warn why not; the caller then sets ``entry.done``."""
    from ..backend import program as backend
    try:
        out_tree = entry.out_tree
        single = out_tree == tree.structure(0.0)
        flat_tuple = out_tree == tree.structure((0.0,) * out_tree.num_leaves)
        program = backend.build(entry.ir, single_output=single)
        if single or flat_tuple:
            entry.direct = program
        entry.source = program.__source__
        entry.build_output = out_tree.builder()   # before ``program``: callers test that
        entry.program = program
    except Exception as error:  # numba's errors never reach the user as a traceback
        entry.error = error
        names = ", ".join(backend.failing_primitives(entry.ir)) or "(none)"
        warnings.warn(
            f"fg.jit({who}): numba could not compile this program (fused primitives: "
            f"{names}); it keeps running in funcgrad's interpreter. numba said: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
            RuntimeWarning, stacklevel=2)


def _submit(entry: _Entry, who: str) -> None:
    """Start compiling ``entry`` (once; in the calling thread with ``FUNCGRAD_JIT=sync``)."""
    global _worker, _in_flight
    sync = os.environ.get("FUNCGRAD_JIT") == "sync"
    with _worker_lock:
        if entry.submitted:
            return
        entry.submitted = True
        if not sync:
            if _worker is None:
                _worker = threading.Thread(target=_compile_loop, name="funcgrad-compile",
                                           daemon=True)
                _worker.start()
            _in_flight += 1
            _work.put((entry, who))
    if sync:
        try:
            _compile_entry(entry, who)
        finally:
            entry.done.set()


def _static_arguments(fun, argnums: tuple, argnames: tuple) -> tuple[tuple, tuple]:
    """``(static_argnums, static_argnames)`` completed from ``fun``'s signature, as JAX does:
    given only numbers, the names of those parameters are static too (the argument may come
    by keyword), and given only names, their positions (it may come positionally)."""
    if not argnums and not argnames:
        return argnums, argnames
    try:
        parameters = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):   # no signature to read (a builtin)
        return argnums, argnames
    positional = [p for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                      inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    _check_static_arguments(fun, parameters, positional, argnums, argnames)
    if argnums and argnames:
        return argnums, argnames
    if argnums:
        named = [positional[i].name for i in argnums if -len(positional) <= i < len(positional)
                 and positional[i].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        return argnums, tuple(named)
    numbered = [i for i, p in enumerate(positional)
                if p.name in argnames and p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    return tuple(numbered), argnames


def _check_static_arguments(fun, parameters, positional, argnums, argnames) -> None:
    """As JAX: a static name or position that ``fun`` does not have (a typo would leave the
    argument traced) is a ValueError."""
    kinds = {p.kind for p in parameters}
    who = f"fg.jit({getattr(fun, '__name__', 'function')})"
    names = {p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    unknown = [n for n in argnames if n not in names]
    if unknown and inspect.Parameter.VAR_KEYWORD not in kinds:
        raise ValueError(f"{who}: static_argnames {unknown} name no parameter of the function "
                         f"(its parameters: {[p.name for p in parameters]})")
    outside = [i for i in argnums if not -len(positional) <= i < len(positional)]
    if outside and inspect.Parameter.VAR_POSITIONAL not in kinds:
        raise ValueError(f"{who}: static_argnums {outside} are outside the function's "
                         f"{len(positional)} positional parameter(s)")


class Jitted:
    """A function compiled by ``fg.jit``; call it like the original."""

    def __init__(self, fun, static_argnums=(), static_argnames=()):
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._static_argnums, self._static_argnames = _static_arguments(
            fun, (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums),
            (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames))
        self._entries: dict = {}
        # Calls whose positional arguments are all Python or NumPy scalars are keyed by their
        # types alone (``_scalar_key``; shapes and dtypes follow from the types): the
        # steady-state path.
        self._scalar_entries: dict = {}
        # Calls whose positional arguments are arrays (of one or more dimensions) and scalars,
        # keyed by ``_array_key``: no pytree flattening on the way to native code.
        self._array_entries: dict = {}
        self._who = getattr(fun, "__name__", "function")
        self.recompiles: list[str] = []

    # ------------------------------------------------------------------ argument handling
    def _split(self, args, kwargs):
        if not self._static_argnums and not self._static_argnames:
            return _NO_STATICS, (), (list(args), kwargs)
        statics = {i % len(args) for i in self._static_argnums if -len(args) <= i < len(args)}
        static_values = tuple((i, args[i]) for i in sorted(statics))
        static_values += tuple((k, kwargs[k]) for k in self._static_argnames if k in kwargs)
        dynamic = ([a for i, a in enumerate(args) if i not in statics],
                   {k: v for k, v in kwargs.items() if k not in self._static_argnames})
        try:
            hash(static_values)
        except TypeError:
            raise TypeError(f"fg.jit({self._who}): static arguments must be hashable; got "
                            f"{[type(v).__name__ for _, v in static_values]}") from None
        return statics, static_values, dynamic

    def _rebuild(self, args, kwargs, statics, dynamic_values):
        positional, keywords = dynamic_values
        positional = iter(positional)
        full = [a if i in statics else next(positional) for i, a in enumerate(args)]
        keywords = dict(keywords)
        keywords.update({k: kwargs[k] for k in self._static_argnames if k in kwargs})
        return full, keywords

    def _entry(self, args, kwargs):
        statics, static_values, dynamic = self._split(args, kwargs)
        return self._entry_of_leaves(args, kwargs, statics, static_values,
                                     *tree.flatten(dynamic))

    def _entry_of_leaves(self, args, kwargs, statics, static_values, leaves, in_tree):
        # Python numbers are traced as weak values (NumPy's promotion: a float32 array times
        # a Python float stays float32), NumPy scalars and arrays as their dtypes.
        weak = [type(x) in _args.PYTHON_NUMBERS for x in leaves]
        # 0-d arrays become NumPy scalars: compiled kernels take scalars by value.
        try:
            leaves = [x[()] if type(x) is np.ndarray and x.ndim == 0 else _args.as_value(x)
                      for x in leaves]
        except _args.UnsupportedLeaf as error:
            raise _args.unsupported_argument(f"fg.jit({self._who})", self._fun, args, kwargs,
                                             error.leaf, statics) from None
        signature = tuple([(x.shape, x.dtype) if type(x) is np.ndarray else
                           (np.shape(x), np.dtype(x.dtype), _WEAK) if is_weak else
                           (np.shape(x), np.dtype(x.dtype)) for x, is_weak in zip(leaves, weak)])
        key = (in_tree, static_values, signature)
        entry = self._entries.get(key)
        if entry is None:
            # Published only once its trace has finished. Threads that trace one signature at
            # once all finish; the first to publish wins, and the others use its entry.
            traced, weak_mattered = self._trace(args, kwargs, statics, leaves, in_tree, weak)
            if any(weak) and not weak_mattered:
                # The program of NumPy scalars in place of the Python numbers: one entry for
                # both (a 0-d result fed back in is not a new signature).
                strong_key = (in_tree, static_values, tuple(s[:2] for s in signature))
                entry = self._entries.setdefault(strong_key, traced)
                entry = self._entries.setdefault(key, entry)
            else:
                entry = self._entries.setdefault(key, traced)
            if entry is traced:
                self._note_recompile(key)
            if os.environ.get("FUNCGRAD_JIT") == "sync":
                _submit(entry, self._who)   # no tiers: native code from the first call on
        return entry, leaves

    def _trace(self, args, kwargs, statics, leaves, in_tree, weak):
        """The entry of this signature, and whether a Python number's weakness changed a
        dtype in it."""
        out_trees = []

        def flat_fun(*tracers):
            _args.mark_weak(tracers, weak)
            full, keywords = self._rebuild(args, kwargs, statics,
                                           tree.unflatten(in_tree, tracers))
            out_leaves, out_tree = _args.output_values(self._fun(*full, **keywords),
                                                       f"fg.jit({self._who})")
            out_trees.append(out_tree)
            return out_leaves

        outer, weak_use.mattered = weak_use.mattered, False   # (a jit traced inside a trace)
        try:
            ir = trace_to_ir(flat_fun, [_args.aval(x) for x in leaves])
        finally:
            weak_mattered = weak_use.mattered
            weak_use.mattered = outer or weak_mattered
        # Nothing transforms this program any more: custom_vjp and checkpoint calls become
        # their plain equations, which fuse (and a checkpoint's recomputation merges with its
        # forward pass: a compiled program keeps its values until it returns anyway).
        ir = inline_calls(ir)
        ir = merge_scans(common_subexpression_elimination(ir))
        # Per-step matrix products that can run over all steps at once leave their loops.
        ir = dead_code_elimination(hoist_out_of_scans(ir) if HOIST_LOOPS else ir)
        typecheck(ir)
        return _Entry(ir, out_trees[0]), weak_mattered

    def _note_recompile(self, key):
        entry = self._entries[key]   # (a copy below: threads add entries)
        earlier = [k for k, other in list(self._entries.items()) if other is not entry]
        if not earlier:
            return
        in_tree, static_values, signature = key
        reasons = []
        for old_tree, old_statics, old_signature in earlier:
            if old_tree != in_tree:
                reasons.append(f"argument structure {old_tree} -> {in_tree}")
            elif old_statics != static_values:
                reasons.append(f"static arguments {old_statics} -> {static_values}")
            else:
                changed = [f"leaf {i}: {_describe_leaf(a)} -> {_describe_leaf(b)}"
                           for i, (a, b) in enumerate(zip(old_signature, signature)) if a != b]
                reasons.append("; ".join(changed))
        message = f"fg.jit({self._who}) traced a new signature: " + reasons[-1]
        self.recompiles.append(message)
        if os.environ.get("FUNCGRAD_LOG_COMPILES") == "1":
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    # ----------------------------------------------------------------------------- calls
    def __call__(self, *args, **kwargs):
        if not kwargs:
            entry = self._scalar_entries.get(_scalar_key(args))
            if entry is None:
                key = _array_key(args)
                if key is _ZERO_D:   # 0-d arrays (funcgrad's results fed back): their scalars
                    args = _scalars(args)
                    entry = self._scalar_entries.get(_scalar_key(args))
                    key = _array_key(args) if entry is None else None
                if entry is None and key is not None:
                    entry = self._array_entries.get(key)
            if entry is not None:
                direct = entry.direct
                if direct is not None:
                    return direct(*args)
                program = entry.program
                if program is not None:
                    return entry.build_output(program(*args))
                return self._interpret(entry, [_args.as_value(x) for x in args])
        statics, static_values, dynamic = self._split(args, kwargs)
        leaves, in_tree = tree.flatten(dynamic)
        if any(isinstance(x, Tracer) for x in leaves) or any(
                isinstance(v, Tracer) for _, v in static_values):
            return self._fun(*args, **kwargs)   # inside another transformation: trace through
        entry, leaves = self._entry_of_leaves(args, kwargs, statics, static_values, leaves,
                                              in_tree)
        if not kwargs and not self._static_argnums:
            if all(type(a) in _SCALAR_TYPES for a in args):
                self._scalar_entries[_scalar_key(args)] = entry
            else:
                key = _array_key(args)
                if type(key) is tuple:
                    self._array_entries[key] = entry
        if entry.direct is not None:
            return entry.direct(*leaves)
        program = entry.program
        if program is not None:
            return entry.build_output(program(*leaves))
        return self._interpret(entry, leaves)

    def _interpret(self, entry, leaves):
        """Run ``entry``'s IR in the interpreter; the first such call then starts its compile."""
        try:
            # By blocks of rows only while no compile runs: a block's many short ufunc calls
            # each let the compile thread take the GIL, for up to a switch interval (5 ms).
            outs = entry.schedule.run(leaves, blocks=not _in_flight)
        finally:
            if not entry.submitted:
                _submit(entry, self._who)
        return entry.out_tree.unflatten([_args.to_user(x) for x in outs])

    def compile(self, *args, **kwargs) -> Jitted:
        """Trace and compile for these argument types, wait until native code is ready.

        Returns the jitted function itself, so ``fg.jit(f).compile(x)(x)`` runs natively.
        """
        entry, _ = self._entry(args, kwargs)
        _submit(entry, self._who)
        entry.done.wait()
        return self

    def is_compiled(self, *args, **kwargs) -> bool:
        """Whether native code for these argument types is ready (without waiting)."""
        entry, _ = self._entry(args, kwargs)
        return entry.program is not None

    def ir(self, *args, **kwargs):
        """The traced IR for these arguments."""
        return self._entry(args, kwargs)[0].ir

    def source(self, *args, **kwargs) -> str:
        """The generated source for these arguments (waits for the compiler)."""
        entry, _ = self._entry(args, kwargs)
        _submit(entry, self._who)
        entry.done.wait()
        if entry.source is None:
            raise RuntimeError(f"fg.jit({self._who}): no compiled code: {entry.error!r}")
        return entry.source


class _Disabled(threading.local):
    """How many ``disable_jit`` contexts this thread is in."""

    def __init__(self):
        self.depth = 0


_disabled = _Disabled()
# Contexts open in any thread: while none is, a jitted call pays one global read for them.
_disabled_anywhere = 0


@contextlib.contextmanager
def disable_jit(disable: bool = True):
    """Within the context, ``fg.jit``-wrapped functions run their Python function directly,
    eagerly, on each call (JAX semantics): ``print`` in them prints every call, values can be
    inspected, a debugger can step through them. Per thread; nests.

    >>> import funcgrad as fg
    >>> @fg.jit
    ... def f(x):
    ...     print("running f on", x)
    ...     return x + 1.0
    >>> with fg.disable_jit():
    ...     y = f(1.0)
    ...     y = f(2.0)
    running f on 1.0
    running f on 2.0
    """
    global _disabled_anywhere
    if not disable:
        yield
        return
    with _worker_lock:
        _disabled_anywhere += 1
    _disabled.depth += 1
    try:
        yield
    finally:
        _disabled.depth -= 1
        with _worker_lock:
            _disabled_anywhere -= 1


def jit_disabled() -> bool:
    """Whether this thread is inside ``disable_jit()``."""
    return bool(_disabled_anywhere) and _disabled.depth > 0


def jit(fun=None, static_argnums=(), static_argnames=()):
    """Compile ``fun`` with numba, forward and backward together, for each argument signature.

    The first call with new argument shapes/dtypes runs in the interpreter, then numba compiles
    in the background; ``jitted.compile(*args)`` waits for native code. Composes with every
    transformation (``jit(grad(f))``, ``grad(jit(f))``, ``jit(jit(f))``).

    ``jit(f)`` called again on the same ``f`` with the same options returns the same jitted
    function (its traces are kept on ``f``). As in JAX, ``f`` is traced at the first call of
    each signature: the globals and closed-over values it reads are read then, and a later
    change to them is not seen by that signature's program.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = fg.jit(fg.grad(lambda x: fnp.sin(x) * x))
    >>> float(f.compile(0.0)(0.0))
    0.0
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums,
                                 static_argnames=static_argnames)
    if not callable(fun):
        raise TypeError(f"fg.jit: expected a function to compile, got a {type(fun).__name__}")
    # One jitted function per function and options, kept on ``f`` (it lives as long as
    # ``f``); the options include the switch that changes generated code.
    options = (static_argnums if isinstance(static_argnums, int) else tuple(static_argnums),
               static_argnames if isinstance(static_argnames, str) else tuple(static_argnames),
               os.environ.get("FUNCGRAD_EXACT_MATH") == "1")
    # The attribute is (id of its owner, options -> jitted): ``functools.wraps`` copies it
    # onto wrappers of ``f`` (``grad(f)``), where it is not theirs.
    owner, cache = getattr(fun, "__funcgrad_jit__", (None, None))
    if owner != id(fun):
        cache = None
    elif options in cache:
        return cache[options]
    jitted = _make_jitted(fun, static_argnums, static_argnames)
    try:
        if cache is None:
            cache = {}
            fun.__funcgrad_jit__ = (id(fun), cache)
        cache[options] = jitted
    except (AttributeError, TypeError):   # a callable without attributes: nothing is shared
        pass
    return jitted


def _make_jitted(fun, static_argnums, static_argnames):
    compiled = Jitted(fun, static_argnums, static_argnames)
    scalar_entries, call = compiled._scalar_entries, compiled.__call__

    # A plain function rather than the Jitted object: for a signature of scalars with native
    # code ready, a call is one dict lookup and the generated program (a method call with
    # *args and **kwargs would cost more than the native code itself).
    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if _disabled_anywhere and _disabled.depth:   # inside disable_jit(): run the Python
            return fun(*args, **kwargs)
        if not kwargs:
            count = len(args)   # _scalar_key, inlined
            key = (type(args[0]) if count == 1 else (type(args[0]), type(args[1])) if count == 2
                   else tuple(map(type, args)))
            entry = scalar_entries.get(key)
            if entry is not None:
                direct = entry.direct
                if direct is not None:
                    return direct(*args)
            # funcgrad's 0-d results fed back: called with the scalars they hold
            elif key is Array:
                if not args[0].ndim:
                    scalar = _getitem(args[0], ())
                    entry = scalar_entries.get(type(scalar))
                    if entry is not None and entry.direct is not None:
                        return entry.direct(scalar)
            elif count > 1 and Array in key:
                scalars = _scalars(args)
                if scalars is not None:
                    entry = scalar_entries.get(_scalar_key(scalars))
                    if entry is not None and entry.direct is not None:
                        return entry.direct(*scalars)
        return call(*args, **kwargs)

    def compile_and_wait(*args, **kwargs):
        compiled.compile(*args, **kwargs)
        return jitted

    compile_and_wait.__doc__ = Jitted.compile.__doc__
    jitted.compile = compile_and_wait
    jitted.is_compiled = compiled.is_compiled
    jitted.source = compiled.source
    jitted.ir = compiled.ir
    jitted.recompiles = compiled.recompiles
    jitted.jitted = compiled
    return jitted
