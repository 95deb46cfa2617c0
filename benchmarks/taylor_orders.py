"""How the cost of the k-th derivative grows with k: nested ``grad`` against Taylor mode.

    python -m benchmarks.taylor_orders                     # orders 1, 2, 4, 8, 16
    python -m benchmarks.taylor_orders --orders 2,4,8 --no-jit

For ``sin(x)*exp(-x*x/3)*x`` at 0.7 (the ``grad10_nested`` / ``grad10_jet`` workloads of
``benchmarks/workloads.py`` at other orders), one row per order: the equations of the traced
program (``fg.make_ir``), funcgrad's eager steady-state time, funcgrad ``jit`` (native code,
after ``.compile``), and JAX's ``jax.jit`` of nested ``jax.grad`` and of
``jax.experimental.jet`` when JAX is installed, each checked against ``fg.derivatives``
first. Nested grad is not timed above ``--max-nested`` (its program grows by a factor at every
order: order 16 would take minutes to compile). One thread, as ``benchmarks.run``; compare
ratios within one run.
"""
from __future__ import annotations

import argparse
import os
import sys

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from benchmarks import workloads as W  # noqa: E402
from benchmarks.timing import format_time, measure  # noqa: E402

X = 0.7


def _equations(fun) -> int:
    return sum(fg.core.count_eqns(fg.make_ir(fun)(X)).values())


def _nested(order: int):
    return W.nested_grad(fg.grad, W.taylor_workload(fnp), order)


def _taylor(order: int):
    every = fg.derivatives(W.taylor_workload(fnp), order)
    return lambda x: every(x)[order]


def _jax_programs(order: int):
    jax, jnp = W._jax()
    from jax.experimental.jet import jet
    nested = jax.jit(W.nested_grad(jax.grad, W.taylor_workload(jnp), order))
    series = [1.0] + [0.0] * (order - 1)
    taylor = jax.jit(lambda x: jet(W.taylor_workload(jnp), (x,), (series,))[1][-1])
    return nested, taylor


def _timed(call, expected, budget: float) -> str:
    value = float(call())
    if not np.isclose(value, expected, rtol=1e-9):
        return f"wrong ({value:.6g})"
    return format_time(measure(call, budget)[0])


def _row(order: int, args, have_jax: bool) -> list[str]:
    """One order's cells (each program is built here, then timed at once)."""
    expected = float(fg.derivatives(W.taylor_workload(fnp), order)(X)[order])
    nested_ok = order <= args.max_nested
    nested, taylor = _nested(order), _taylor(order)
    row = [str(order), str(_equations(nested)) if nested_ok else "—", str(_equations(taylor)),
           _timed(lambda: nested(X), expected, args.budget) if nested_ok else "—",
           _timed(lambda: taylor(X), expected, args.budget)]
    if not args.no_jit:
        if nested_ok:
            compiled = fg.jit(nested).compile(X)
            row.append(_timed(lambda: compiled(X), expected, args.budget))
        else:
            row.append("—")
        compiled_taylor = fg.jit(taylor).compile(X)
        row.append(_timed(lambda: compiled_taylor(X), expected, args.budget))
    if have_jax:
        jax_nested, jax_taylor = _jax_programs(order)
        row.append(_timed(lambda: jax_nested(X), expected, args.budget) if nested_ok else "—")
        row.append(_timed(lambda: jax_taylor(X), expected, args.budget))
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default="1,2,4,8,16")
    parser.add_argument("--max-nested", type=int, default=10,
                        help="highest order timed by nested grad (default 10)")
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per cell")
    parser.add_argument("--no-jit", action="store_true", help="eager columns only")
    args = parser.parse_args(argv)
    orders = [int(k) for k in args.orders.split(",")]
    try:
        import jax  # noqa: F401
        have_jax = not args.no_jit
    except ImportError:
        have_jax = False
    columns = ["order", "equations: nested grad", "equations: derivatives",
               "eager: nested grad", "eager: derivatives"]
    if not args.no_jit:
        columns += ["jit: nested grad", "jit: derivatives"]
    if have_jax:
        columns += ["jax.jit: nested grad", "jax.jit: jet"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for order in orders:
        print("| " + " | ".join(_row(order, args, have_jax)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
