"""Host callbacks: ``pure_callback`` (NumPy code inside a traced function, with a declared
result type) and ``debug_print`` (printing the values a program computes, when it runs).

Both hold a Python function in their parameters (a ``Rule``) and run it on NumPy arrays when
the equation is evaluated: eagerly at once, under ``jit`` as a call step of the compiled
program, each run. The user-facing ``fg.pure_callback`` and ``fg.debug.print`` are in
``funcgrad/transforms/callbacks.py``.

- ``pure_callback[callback, out_avals, vmap_method]``: a pure function of its operands (it may
  be dropped when nothing reads it, as JAX allows). It has no derivative (JAX semantics:
  wrap it in ``custom_vjp`` for one); under ``vmap`` it runs per ``vmap_method``.
- ``debug_print[callback]``: ``effectful``, so never dropped as dead code. Its one output is
  a token (a boolean scalar that nothing reads), so that the IR stays single-assignment with
  at least one output per equation. Derivatives print the primal values and carry no
  tangent; under ``vmap`` it prints once per example, in order.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError, at_user_line
from ..core.primitive import Primitive
from ..core.trace import untraced
from . import structural as st
from .custom import Rule

pure_callback_p = Primitive("pure_callback", "special", multiple_results=True)
debug_print_p = Primitive("debug_print", "special")
debug_print_p.effectful = True
debug_print_p.stage_constants = True   # a print of constants inside jit prints at each run

VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all")
TOKEN = ShapedArray((), np.bool_)


def run_callback(callback: Rule, args, out_avals) -> list:
    """``callback(*args)`` on NumPy arrays, its results checked against ``out_avals``."""
    with untraced():   # the callback's own funcgrad calls (if any) compute, never record
        outs = callback(*[np.asarray(a) for a in args])
    results = []
    for index, (out, aval) in enumerate(zip(outs, out_avals)):
        weak = isinstance(out, (bool, int, float, complex))
        out = np.asarray(out)
        if out.shape != aval.shape:
            raise ShapeError(at_user_line(
                f"pure_callback of {callback.name}: result leaf {index} has shape {out.shape}, "
                f"but result_shape declared {aval.shape}"))
        if out.dtype != aval.dtype:
            if not weak:
                raise TypeError(at_user_line(
                    f"pure_callback of {callback.name}: result leaf {index} has dtype "
                    f"{out.dtype.name}, but result_shape declared {aval.dtype.name}; return "
                    f"arrays of the declared dtype (.astype(np.{aval.dtype.name}))"))
            out = out.astype(aval.dtype)
        results.append(out if out.ndim else out[()])
    return results


def _callback_impl(*args, callback, out_avals, vmap_method):
    return run_callback(callback, args, out_avals)


def _callback_shape(*avals, callback, out_avals, vmap_method):
    return list(out_avals)


def _not_differentiable(callback):
    return TypeError(at_user_line(
        f"pure_callback of {callback.name} has no derivative: a pure_callback is not "
        "differentiable (as in JAX). Wrap the function that calls it in fg.custom_vjp and "
        "compute its gradient in bwd (another pure_callback can), or pass its operands "
        "through fg.stop_gradient if no derivative should flow through it."))


def _callback_jvp(primals, tangents, *, callback, out_avals, vmap_method):
    raise _not_differentiable(callback)


def _callback_vjp(needs, g, ans, *args, callback, out_avals, vmap_method):
    raise _not_differentiable(callback)


def _callback_batch(args, dims, *, callback, out_avals, vmap_method):
    size = st.batch_size(args, dims)
    batched = [d is not None for d in dims]
    args = [st.batch_to_front(a, d) if d is not None else a for a, d in zip(args, dims)]
    batched_avals = tuple(ShapedArray((size,) + a.shape, a.dtype) for a in out_avals)
    if vmap_method in (None, "sequential", "sequential_unrolled"):   # None: always correct
        def per_example(*values):
            if size == 0:
                return [np.zeros(a.shape, a.dtype) for a in batched_avals]
            rows = [run_callback(callback, [v[i] if b else v for v, b in zip(values, batched)],
                                 out_avals) for i in range(size)]
            return [np.stack([row[k] for row in rows]) for k in range(len(out_avals))]

        rule = Rule(per_example, f"sequential({callback.name})")
    else:
        if vmap_method == "expand_dims":
            args = [a if b else st.reshape(a, (1,) + np.shape(a)) for a, b in zip(args, batched)]
        else:   # broadcast_all
            args = [a if b else st.broadcast_to(a, (size,) + np.shape(a))
                    for a, b in zip(args, batched)]
        rule = callback
    outs = pure_callback_p.bind(*args, callback=rule, out_avals=batched_avals,
                                vmap_method=vmap_method)
    return outs, [0] * len(outs)


pure_callback_p.impl = _callback_impl
pure_callback_p.abstract_eval = _callback_shape
pure_callback_p.jvp = _callback_jvp
pure_callback_p.vjp = _callback_vjp
pure_callback_p.batch = _callback_batch


# ------------------------------------------------------------------------------ debug_print

def _print_impl(*args, callback):
    with untraced():
        callback(*[np.asarray(a) for a in args])
    return np.bool_(True)


def _print_jvp(primals, tangents, *, callback):
    return debug_print_p.bind(*primals, callback=callback), None


def _print_vjp(needs, g, ans, *args, callback):
    return [None] * len(args)


def _print_batch(args, dims, *, callback):
    size = st.batch_size(args, dims)
    batched = [d is not None for d in dims]
    args = [st.batch_to_front(a, d) if d is not None else a for a, d in zip(args, dims)]

    def per_example(*values):
        for i in range(size):
            callback(*[v[i] if b else v for v, b in zip(values, batched)])

    return debug_print_p.bind(*args, callback=Rule(per_example, callback.name)), None


debug_print_p.impl = _print_impl
debug_print_p.abstract_eval = lambda *avals, callback: TOKEN
debug_print_p.jvp = _print_jvp
debug_print_p.vjp = _print_vjp
debug_print_p.batch = _print_batch
