"""``make_ir``: show the IR that tracing a function produces."""
from __future__ import annotations

import functools

from .. import tree
from ..core.ir import IR, typecheck
from ..core.trace import trace_to_ir
from . import _args


def make_ir(fun, static_argnums=()):
    """Return a function that traces ``fun`` on its arguments and returns the IR: the program
    ``fg.jit(fun)`` runs for them (a Python number is weak there too, so that
    ``float32_array * 0.5`` stays float32).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> print(fg.make_ir(lambda x, y: y * fnp.log(x))(2.0, 3.0))
    { lambda ; a:f64[] b:f64[]. let
        c:f64[] = log a
        d:f64[] = mul b c
      in (d,) }
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def make_ir_fun(*args, **kwargs) -> IR:
        statics = {i % len(args) for i in static}
        dynamic = [a for i, a in enumerate(args) if i not in statics]
        leaves, in_tree = tree.flatten(dynamic)
        weak = [type(x) in _args.PYTHON_NUMBERS for x in leaves]
        leaves = [_args.as_value(x) for x in leaves]

        def flat_fun(*tracers):
            _args.mark_weak(tracers, weak)
            rebuilt = iter(tree.unflatten(in_tree, tracers))
            full = [a if i in statics else next(rebuilt) for i, a in enumerate(args)]
            return [_args.as_value(x) for x in tree.leaves(fun(*full, **kwargs))]

        ir = trace_to_ir(flat_fun, [_args.aval(x) for x in leaves])
        typecheck(ir)
        return ir

    return make_ir_fun
