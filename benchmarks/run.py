"""funcgrad against its peers: the workloads of BENCHMARKS.md, same run, same inputs.

    python -m benchmarks.run                  # everything (a few minutes); writes RESULTS.md
    python -m benchmarks.run --quick          # shorter budgets, one process per first call
    python -m benchmarks.run --only mlp,seed_scalar --no-write

Four measurements, all in one run (compare ratios within it, never absolute times across
runs):

1. Steady state, in this process. The workloads (``workloads.SPECS``) hold the inputs, the
   hand-written NumPy version (the practical limit, and the reference every column is checked
   against before it is timed), and the funcgrad and JAX programs; torch and autograd
   builders are below. A builder takes the inputs and returns a zero-argument function doing
   one full call. ``funcgrad jit`` is ``fg.jit`` of the eager column's function, timed after
   ``jitted.compile(*args)`` (so it times native code; a program numba could not compile is
   reported as an error, never timed in the interpreter). A column whose library is not
   installed is skipped.
2. First calls, each in a fresh subprocess (``child.py``): funcgrad's tiered first call
   (trace + interpreter, then numba compiles in the background: what a user waits for) and
   the time until native code (first call + the ``.compile()`` wait), with an empty
   ``FUNCGRAD_CACHE_DIR`` (cold) and again with that same directory (warm disk cache); JAX's
   first call (``jax.jit`` trace + XLA compile + run). Imports are timed separately. Medians
   over ``--reps`` processes.
3. ``import`` of each library in a fresh interpreter.
4. Training runs (``workloads.TRAINING``: ``train_digits``, ``cnn_digits``), each column's
   whole run in a fresh process (``child.py train``): time per epoch and time to the
   target test accuracy, funcgrad jit with an empty and with a warm ``FUNCGRAD_CACHE_DIR``.

The report (printed, and written to ``benchmarks/RESULTS.md``) has the steady-state table with
ratios against the best peer, the first-call table with ratios against JAX, and the
BENCHMARKS.md targets marked met / missed with the measured ratio.

Timing: ``time.perf_counter``; one warm-up call, then samples of ``n`` back-to-back calls, ``n``
grown until a sample lasts at least 1-2 ms, repeated until the time budget is spent (at least 5
samples, 3 for calls slower than 0.1 s); the median per-call time is reported. The garbage
collector stays on, as in a script.

Threads: ``--threads N`` (default 1) sets BLAS, OpenMP, numba, torch and XLA to N threads
before they start; ``--threads 0`` leaves each library its own default. One thread is the
default because on the 2-vCPU development VM multi-threaded OpenBLAS (and torch's OpenMP pool)
at times stall about 16 ms per call, for seconds at a stretch (waking a worker on the other
vCPU), which swamps a 40 µs matrix product: a default-threads run measured the hand-written
NumPy Hessian at 16 ms instead of 40 µs and torch's elementwise_1e6 at 63 ms instead of 9 ms.
With ``--threads N`` the funcgrad jit steady state is also measured in a subprocess with the
environment this run started with (funcgrad's default threading: numba's and BLAS's own), the
``funcgrad jit, default threads`` column; the peers and the targets stay at N threads.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Some machines set these to pin OpenBLAS to its Haswell (AVX2) kernels, for old OpenBLAS
# builds that misbehave on newer CPUs. With a current NumPy on an AVX-512 CPU they only slow
# NumPy's matrix products (here a 100x100 float64 product: 36 µs against 17 µs, with equal
# results to 2e-14), and so every NumPy-based column (hand, funcgrad, autograd) but not JAX or
# torch, which bring their own kernels. The run drops them, in this process and its children,
# before NumPy loads; ``--keep-blas-env`` keeps them. The report names the kernel in use.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
DROPPED_BLAS_SETTINGS = {}
if __name__ == "__main__" and "--keep-blas-env" not in sys.argv[1:]:
    DROPPED_BLAS_SETTINGS = {k: os.environ.pop(k) for k in BLAS_OVERRIDES if k in os.environ}

ORIGINAL_ENV = dict(os.environ)  # before the thread settings below: the "default threads" run
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")
# Named in the report too: without a bytecode cache, a first call of a jitted function also
# compiles the sources of the backend's modules, which it imports.
OTHER_VARIABLES = ("XLA_FLAGS", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")


def _threads_from_argv(argv: list[str]) -> int | None:
    """``--threads N`` (default 1; 0 for each library's own default), read before NumPy,
    numba, torch and JAX are imported and size their thread pools."""
    threads = 1
    for position, arg in enumerate(argv):
        if arg.startswith("--threads="):
            threads = int(arg.split("=", 1)[1])
        elif arg == "--threads" and position + 1 < len(argv):
            threads = int(argv[position + 1])
    return threads or None


THREADS = _threads_from_argv(sys.argv[1:]) if __name__ == "__main__" else None
# The CPUs this run may use; with one thread the run (and the children that inherit it, except
# the default-threads ones) is pinned to one of them: JAX 0.10's CPU runtime ignores
# XLA_FLAGS' thread settings and computes on two threads otherwise.
ALL_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
if THREADS is not None:
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(THREADS)
    if THREADS == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                                   "=false intra_op_parallelism_threads=1").strip()
        if ALL_CPUS:
            os.sched_setaffinity(0, {min(ALL_CPUS)})

import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # `python benchmarks/run.py` without an installed funcgrad
    sys.path.insert(0, REPO_ROOT)

import funcgrad as fg  # noqa: E402
from benchmarks import workloads as W  # noqa: E402
from benchmarks.timing import (  # noqa: E402
    agrees,
    describe_error,
    format_time,
    max_error,
    measure,
)

# Column order in the table. "numpy (hand)" is the practical limit, not a peer.
HAND_COLUMN = "numpy (hand)"
FUNCGRAD_COLUMNS = ["funcgrad eager", "funcgrad jit"]
DEFAULT_THREADS_COLUMN = "funcgrad jit, default threads"   # measured in a subprocess
# The same with one numba thread and BLAS's default threads: issue 8's "threads never hurt"
# compares the two (the run's 1-thread columns pin BLAS to one thread as well).
ONE_NUMBA_THREAD_COLUMN = "funcgrad jit, NUMBA_NUM_THREADS=1"
PEER_COLUMNS = ["torch eager", "autograd", "jax.jit"]
COLUMN_MODULES = {"torch eager": "torch", "autograd": "autograd", "jax.jit": "jax"}

Builder = Callable[[dict], Callable[[], Any]]


@dataclass
class Workload:
    """One row of the table: what it computes, its inputs, and one builder per column."""

    description: str
    make_inputs: Callable[[np.random.Generator], dict]
    builders: dict[str, Builder] = field(default_factory=dict)
    rtol: float = 1e-6

    def column(self, name: str):
        def register(builder: Builder) -> Builder:
            self.builders[name] = builder
            return builder
        return register


def _optional(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


torch = _optional("torch")
autograd = _optional("autograd")
jax = _optional("jax")
if torch is not None and THREADS is not None:
    torch.set_num_threads(THREADS)
if jax is not None:
    jax.config.update("jax_enable_x64", True)  # float64 workloads stay float64, as in NumPy
if autograd is not None:
    import autograd.numpy as anp


class NotCompiled(RuntimeError):
    """numba did not compile the program: the jit column would time the interpreter."""


def _hand_builder(spec: W.Spec) -> Builder:
    return spec.hand


def _eager_builder(spec: W.Spec) -> Builder:
    def build(inputs):
        fun, args = spec.funcgrad(inputs)
        return lambda: fun(*args)
    return build


def _jit_builder(name: str) -> Builder:
    def build(inputs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call, compile_native = W.funcgrad_jitted(name, inputs)
            if not compile_native():
                raise NotCompiled("numba did not compile it, it would run interpreted: "
                                  + "; ".join(str(w.message) for w in caught))
        return call
    return build


def _jax_builder(spec: W.Spec) -> Builder:
    def build(inputs):
        fun, args = spec.jax(inputs)
        return lambda: jax.block_until_ready(fun(*args))
    return build


def _workload(name: str) -> Workload:
    spec = W.SPECS[name]
    workload = Workload(spec.description, spec.make_inputs, rtol=spec.rtol)
    workload.builders[HAND_COLUMN] = _hand_builder(spec)
    workload.builders["funcgrad eager"] = _eager_builder(spec)
    if not spec.eager_only:
        workload.builders["funcgrad jit"] = _jit_builder(name)
    if spec.jax is not None:
        workload.builders["jax.jit"] = _jax_builder(spec)
    return workload


WORKLOADS: dict[str, Workload] = {name: _workload(name) for name in W.SPECS}
seed_scalar, grad3_scalar = WORKLOADS["seed_scalar"], WORKLOADS["grad3_scalar"]
grad10_nested = WORKLOADS["grad10_nested"]
hessian_100, elementwise_1e6, mlp = (WORKLOADS["hessian_100"], WORKLOADS["elementwise_1e6"],
                                     WORKLOADS["mlp"])
control_flow_grad, transformer_block = (WORKLOADS["control_flow_grad"],
                                        WORKLOADS["transformer_block"])
ode_fori, rnn_scan, mlp_wide, per_example_grads = (
    WORKLOADS[n] for n in ("ode_fori", "rnn_scan", "mlp_wide", "per_example_grads"))

# ---------------------------------------------------------------------------------------------
# torch eager and autograd (the funcgrad, JAX and hand-written versions are in workloads.py)


@seed_scalar.column("torch eager")
def _(inputs):
    def call():
        x = torch.tensor(inputs["x"], dtype=torch.float64, requires_grad=True)
        y = torch.tensor(inputs["y"], dtype=torch.float64, requires_grad=True)
        out = y * torch.log(x) + torch.sin(y)
        return torch.autograd.grad(out, (x, y))
    return call


@seed_scalar.column("autograd")
def _(inputs):
    grad_f = autograd.grad(lambda x, y: y * anp.log(x) + anp.sin(y), argnum=(0, 1))
    return lambda: grad_f(inputs["x"], inputs["y"])


@grad3_scalar.column("torch eager")
def _(inputs):
    def call():
        x = torch.tensor(inputs["x"], dtype=torch.float64, requires_grad=True)
        out = torch.sin(x) * x * x
        (d1,) = torch.autograd.grad(out, x, create_graph=True)
        (d2,) = torch.autograd.grad(d1, x, create_graph=True)
        (d3,) = torch.autograd.grad(d2, x)
        return d3
    return call


@grad3_scalar.column("autograd")
def _(inputs):
    third = autograd.grad(autograd.grad(autograd.grad(lambda x: anp.sin(x) * x * x)))
    return lambda: third(inputs["x"])


@grad10_nested.column("torch eager")
def _(inputs):
    def call():
        x = torch.tensor(inputs["x"], dtype=torch.float64, requires_grad=True)
        out = W.taylor_workload(torch)(x)
        for order in range(W.TAYLOR_ORDER):
            (out,) = torch.autograd.grad(out, x, create_graph=order < W.TAYLOR_ORDER - 1)
        return out
    return call


@grad10_nested.column("autograd")
def _(inputs):
    tenth = W.nested_grad(autograd.grad, W.taylor_workload(anp), W.TAYLOR_ORDER)
    return lambda: tenth(inputs["x"])


@hessian_100.column("torch eager")
def _(inputs):
    a = torch.from_numpy(inputs["A"])
    x = torch.from_numpy(inputs["x"])
    hess = torch.func.hessian(lambda x: torch.sum(torch.tanh(a @ x)))  # jacfwd(jacrev)
    return lambda: hess(x)


@hessian_100.column("autograd")
def _(inputs):
    a = inputs["A"]
    hess = autograd.hessian(lambda x: anp.sum(anp.tanh(anp.dot(a, x))))
    return lambda: hess(inputs["x"])


@elementwise_1e6.column("torch eager")
def _(inputs):
    x = torch.from_numpy(inputs["x"]).requires_grad_()

    def call():
        value = torch.sum(torch.sin(x) * torch.exp(-x * x) + torch.tanh(x) ** 2)
        return value, torch.autograd.grad(value, x)[0]
    return call


@elementwise_1e6.column("autograd")
def _(inputs):
    value_and_grad = autograd.value_and_grad(
        lambda x: anp.sum(anp.sin(x) * anp.exp(-x * x) + anp.tanh(x) ** 2))
    return lambda: value_and_grad(inputs["x"])


@mlp.column("torch eager")
@mlp_wide.column("torch eager")
def _(inputs):
    params = {k: torch.from_numpy(v).requires_grad_() for k, v in inputs["params"].items()}
    x, labels = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["labels"])
    names = sorted(params)

    def call():
        loss = torch.nn.functional.cross_entropy(W.mlp_logits(params, x, torch.relu), labels)
        grads = torch.autograd.grad(loss, [params[k] for k in names])
        return loss, dict(zip(names, grads))
    return call


@transformer_block.column("torch eager")
def _(inputs):
    params = {k: torch.from_numpy(v).requires_grad_() for k, v in inputs["params"].items()}
    x, names = torch.from_numpy(inputs["x"]), list(params)
    width = inputs["x"].shape[-1]

    def layer_norm(x, weight, bias):
        return torch.nn.functional.layer_norm(x, (width,), weight, bias, eps=W._TB_EPS)

    def attention(q, k, v):   # (B, T, N, H) as JAX lays it out; PyTorch's is (B, N, T, H)
        return torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        ).transpose(1, 2)

    def call():
        out = W.transformer_block(
            params, x, layer_norm, attention,
            lambda z: torch.nn.functional.gelu(z, approximate="tanh"))
        loss = torch.mean(out * out)
        grads = torch.autograd.grad(loss, [params[k] for k in names])
        return loss, dict(zip(names, grads))
    return call


@mlp.column("autograd")
@mlp_wide.column("autograd")
def _(inputs):
    loss = W.mlp_loss(anp, lambda z: anp.maximum(z, 0.0), W.stable_logsumexp(anp))
    value_and_grad = autograd.value_and_grad(loss)
    return lambda: value_and_grad(inputs["params"], inputs["x"], inputs["onehot"])


# Neither torch eager nor autograd has a loop primitive: their loops are Python loops, the
# program a user of either writes.

def python_fori_loop(lower, upper, body, init):
    value = init
    for i in range(lower, upper):
        value = body(i, value)
    return value


def python_scan(stack):
    def scan(step, carry, xs):
        ys = []
        for x in xs:
            carry, y = step(carry, x)
            ys.append(y)
        return carry, stack(ys)
    return scan


@ode_fori.column("torch eager")
def _(inputs):
    loss = W.pendulum_loss(torch, python_fori_loop, math.cos)
    state = torch.from_numpy(inputs["state"])

    def call():
        params = torch.from_numpy(inputs["params"]).requires_grad_()
        value = loss(params, state)
        return value, torch.autograd.grad(value, params)[0]
    return call


@ode_fori.column("autograd")
def _(inputs):
    value_and_grad = autograd.value_and_grad(W.pendulum_loss(anp, python_fori_loop, math.cos))
    return lambda: value_and_grad(inputs["params"], inputs["state"])


@rnn_scan.column("torch eager")
def _(inputs):
    loss = W.rnn_loss(torch, python_scan(torch.stack))
    params = [torch.from_numpy(inputs[k]).requires_grad_() for k in ("W", "U", "b")]
    h0, xs = torch.from_numpy(inputs["h0"]), torch.from_numpy(inputs["xs"])

    def call():
        value = loss(*params, h0, xs)
        return value, torch.autograd.grad(value, params)
    return call


@rnn_scan.column("autograd")
def _(inputs):
    value_and_grad = autograd.value_and_grad(W.rnn_loss(anp, python_scan(anp.stack)),
                                             argnum=(0, 1, 2))
    return lambda: value_and_grad(*(inputs[k] for k in ("W", "U", "b", "h0", "xs")))


@per_example_grads.column("torch eager")
def _(inputs):
    per_example = torch.func.vmap(torch.func.grad(W.logistic_loss(torch)), in_dims=(None, 0, 0))
    w, x, y = (torch.from_numpy(inputs[k]) for k in ("w", "X", "y"))
    return lambda: per_example(w, x, y)


@per_example_grads.column("autograd")
def _(inputs):
    # autograd has no vmap: one grad per example, the loop its users write.
    grad = autograd.grad(W.logistic_loss(anp))
    w, x, y = inputs["w"], inputs["X"], inputs["y"]
    return lambda: np.stack([grad(w, x_i, y_i) for x_i, y_i in zip(x, y)])


@control_flow_grad.column("torch eager")
def _(inputs):
    program = W.control_flow_program(torch.sin)

    def call():
        x = torch.tensor(inputs["x"], dtype=torch.float64, requires_grad=True)
        (first,) = torch.autograd.grad(program(x), x, create_graph=True)
        (second,) = torch.autograd.grad(first, x)
        return first.item(), second.item()
    return call


@control_flow_grad.column("autograd")
def _(inputs):
    program = W.control_flow_program(anp.sin)
    both = autograd.value_and_grad(autograd.grad(program))   # one evaluation, as funcgrad's
    return lambda: both(inputs["x"])


# ---------------------------------------------------------------------------------------------
# Steady state, in this process

def available_columns() -> list[str]:
    columns = [HAND_COLUMN, *FUNCGRAD_COLUMNS]
    loaded = {"torch eager": torch, "autograd": autograd, "jax.jit": jax}
    return columns + [c for c in PEER_COLUMNS if loaded[c] is not None]


def run_workload(workload: Workload, columns: list[str], budget: float) -> dict[str, dict]:
    """Time every available column of ``workload``: column -> {"median", ...} or {"error"}."""
    inputs = workload.make_inputs(np.random.default_rng(0))
    reference = workload.builders[HAND_COLUMN](inputs)()
    cells = {}
    for column in columns:
        builder = workload.builders.get(column)
        if builder is None:
            continue
        gc.collect()
        try:
            call = builder(inputs)
            result = call()            # checked before timing
            median, samples, calls = measure(call, budget)
        except Exception as error:  # a broken column is reported, not fatal
            cells[column] = {"error": describe_error(error)}
            continue
        cells[column] = {"median": median, "samples": samples, "calls": calls,
                         "agrees": agrees(result, reference, workload.rtol),
                         "max_error": max_error(result, reference)}
    return cells


# ---------------------------------------------------------------------------------------------
# Subprocesses: first calls, and funcgrad jit with its default threading

def _child_env(base: dict, **overrides) -> dict:
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join([REPO_ROOT, *filter(None, [base.get("PYTHONPATH")])])
    # Measure what a user gets by default: tiered (never synchronous) compiles, no JAX cache.
    for variable in ("FUNCGRAD_JIT", "JAX_COMPILATION_CACHE_DIR", "JAX_ENABLE_COMPILATION_CACHE"):
        env.pop(variable, None)
    env.update(overrides)
    return env


def _all_cpus() -> None:
    os.sched_setaffinity(0, ALL_CPUS)


def run_child(args: list[str], env: dict, timeout: float = 600, all_cpus: bool = False) -> dict:
    """Run ``python -m benchmarks.child ARGS`` and return its ``BENCH-RESULT`` (or an error).
    The child runs on this run's CPUs (one, with ``--threads 1``), or with ``all_cpus`` on
    every CPU the run started with."""
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.child", *args],
                              capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                              timeout=timeout,
                              preexec_fn=_all_cpus if all_cpus and ALL_CPUS else None)
    except subprocess.TimeoutExpired:
        return {"error": f"subprocess timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"subprocess exited with {done.returncode}: {tail}"}


def _median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None and "error" not in r]
    return statistics.median(values) if values else None


def first_calls(name: str, reps: int, with_jax: bool) -> dict:
    """funcgrad cold / warm first calls and JAX first calls for ``name``, ``reps`` processes
    each: ``{"cold": [...], "warm": [...], "jax": [...]}`` of ``child.py`` results."""
    runs = {"cold": [], "warm": [], "jax": []}
    with tempfile.TemporaryDirectory(prefix="funcgrad-bench-") as scratch:
        for rep in range(reps):  # every cold run gets its own empty cache directory
            cache = os.path.join(scratch, f"cold{rep}")
            runs["cold"].append(run_child(["first-call", "funcgrad", name],
                                          _child_env(os.environ, FUNCGRAD_CACHE_DIR=cache)))
        warm_cache = os.path.join(scratch, "cold0")  # what the first cold run left there
        for _ in range(reps):
            runs["warm"].append(run_child(["first-call", "funcgrad", name],
                                          _child_env(os.environ, FUNCGRAD_CACHE_DIR=warm_cache)))
    if with_jax:
        for _ in range(reps):
            runs["jax"].append(run_child(["first-call", "jax", name], _child_env(os.environ)))
    return runs


def summarize_first_calls(runs: dict) -> dict:
    """Medians and problems of the runs of ``first_calls``."""
    summary = {"reps": len(runs["cold"])}
    for kind in ("cold", "warm"):
        summary[f"first_{kind}"] = _median_of(runs[kind], "first_s")
        summary[f"native_{kind}"] = _median_of(
            [r for r in runs[kind] if r.get("compiled")], "native_s")
    summary["import_funcgrad"] = _median_of(runs["cold"] + runs["warm"], "import_s")
    summary["jax_first"] = _median_of(runs["jax"], "first_s")
    summary["jax_import"] = _median_of(runs["jax"], "import_s")
    summary["jax_setup"] = _median_of(runs["jax"], "setup_s")
    problems = []
    for kind in ("cold", "warm", "jax"):
        for run in runs[kind]:
            label = "JAX" if kind == "jax" else f"funcgrad {kind}"
            if "error" in run:
                problems.append(f"{label}: {run['error']}")
                continue
            if kind != "jax" and not run.get("compiled"):
                problems.append(f"{label}: no native code after .compile() (interpreter only)")
            if not run.get("agrees_first", True):
                problems.append(f"{label}: first-call result disagrees with {HAND_COLUMN}"
                                + (f" (max error {run['error_first']:.2g})"
                                   if "error_first" in run else ""))
            if kind != "jax" and not run.get("agrees_native", True):
                problems.append(f"{label}: native result disagrees with {HAND_COLUMN} "
                                f"(max error {run['error_native']:.2g})")
            problems += [f"{label}: {w}" for w in run.get("warnings", [])]
    summary["problems"] = list(dict.fromkeys(problems))  # once each
    return summary


def default_threads_steady(names: list[str], budget: float, **overrides) -> dict:
    """funcgrad jit steady state in a subprocess with the environment this run started with
    (and ``overrides``)."""
    return run_child(["steady", ",".join(names), str(budget)],
                     _child_env(ORIGINAL_ENV, **overrides), all_cpus=True)


# ---------------------------------------------------------------------------------------------
# Training runs (workloads.TRAINING): each column's whole run in a fresh process

JIT_COLD, JIT_WARM = "funcgrad jit, cold cache", "funcgrad jit, warm cache"


def training_runs(name: str, reps: int, columns: list[str]) -> dict[str, list[dict]]:
    """``reps`` fresh-process training runs per column (``child.py train``). funcgrad jit
    runs twice: with an empty ``FUNCGRAD_CACHE_DIR`` (numba compiles while the first steps
    run in the interpreter) and with the directory a cold run left (warm)."""
    runs: dict[str, list[dict]] = {}
    trainers = W.TRAINING[name].trainers
    with tempfile.TemporaryDirectory(prefix="funcgrad-train-") as scratch:
        for rep in range(reps):
            for column in columns:
                if column not in trainers:
                    continue
                if column == "funcgrad jit":
                    cache = os.path.join(scratch, f"cold{rep}")
                    runs.setdefault(JIT_COLD, []).append(run_child(
                        ["train", column, name], _child_env(os.environ, FUNCGRAD_CACHE_DIR=cache)))
                    runs.setdefault(JIT_WARM, []).append(run_child(
                        ["train", column, name], _child_env(os.environ, FUNCGRAD_CACHE_DIR=cache)))
                else:
                    runs.setdefault(column, []).append(run_child(
                        ["train", column, name],
                        _child_env(os.environ, FUNCGRAD_CACHE_DIR=os.path.join(scratch, column))))
    return runs


def summarize_training_runs(runs: dict[str, list[dict]], target: float) -> dict[str, dict]:
    """Per column: the median over processes of each ``workloads.summarize_training`` figure
    (a run that never reached the target counts as not reaching it), or ``{"error"}``."""
    summary = {}
    for column, column_runs in runs.items():
        good = [W.summarize_training(r, target) for r in column_runs if "error" not in r]
        if not good:
            summary[column] = {"error": column_runs[0]["error"]}
            continue
        cell = {}
        for key in good[0]:
            values = [g[key] for g in good]
            cell[key] = None if None in values else statistics.median(values)
        cell["reached"] = sum(g["epochs_to_target"] is not None for g in good)
        cell["runs"] = len(good)
        summary[column] = cell
    return summary


def make_training_table(training: dict[str, dict]) -> str:
    """One row per column of each training workload, with funcgrad's ratios to the best peer
    (torch eager, jax.jit) in time per epoch and time to the target."""
    header = ["workload", "column", "build", "first epoch", "time per epoch",
              "epochs to target", "time to target", "final test accuracy",
              "per epoch / best peer", "to target / best peer"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def text(value):
        return format_time(value) if value is not None else "–"

    def ratio(cell, peers, key):
        timed = [(p[key], c) for c, p in peers.items() if p.get(key) is not None]
        if not timed or cell.get(key) is None:
            return "–"
        best, column = min(timed)
        return f"{cell[key] / best:.2f}x ({column})"

    for name, cells in training.items():
        peers = {c: cells[c] for c in PEER_COLUMNS if "error" not in cells.get(c, {"error": 1})}
        for column, cell in cells.items():
            if "error" in cell:
                lines.append(f"| {name} | {column} | error |" + " – |" * (len(header) - 3))
                continue
            reached = cell["epochs_to_target"]
            epochs = "not reached" if reached is None else f"{reached:g}"
            if cell["reached"] not in (0, cell["runs"]):
                epochs += f" ({cell['reached']} of {cell['runs']} runs)"
            funcgrad = column.startswith("funcgrad")
            lines.append("| " + " | ".join([
                name, column, text(cell["build_s"]), text(cell["first_epoch_s"]),
                text(cell["epoch_s"]), epochs, text(cell["time_to_target_s"]),
                f"{cell['final_accuracy']:.4f}",
                ratio(cell, peers, "epoch_s") if funcgrad else "",
                ratio(cell, peers, "time_to_target_s") if funcgrad else ""]) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Report

def best_peer(cells: dict) -> tuple[str, float] | None:
    timed = [(cells[c]["median"], c) for c in PEER_COLUMNS if "median" in cells.get(c, {})]
    return (min(timed)[1], min(timed)[0]) if timed else None


def _cell_text(cell: dict | None) -> str:
    if cell is None:
        return "–"
    if "error" in cell:
        return "error"
    return format_time(cell["median"]) + ("" if cell["agrees"] else " (≠)")


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}x"


def make_table(results: dict[str, dict], columns: list[str]) -> str:
    """A Markdown table: medians per column, then each funcgrad column's ratio to the best peer."""
    ratio_columns = [f"{c} / best peer" for c in FUNCGRAD_COLUMNS if c in columns]
    header = ["workload", *columns, *ratio_columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, cells in results.items():
        row = [name] + [_cell_text(cells.get(column)) for column in columns]
        best = best_peer(cells)
        for column in FUNCGRAD_COLUMNS:
            if column not in columns:
                continue
            cell = cells.get(column, {})
            if best is None or "median" not in cell:
                row.append("–")
            else:
                row.append(f"{cell['median'] / best[1]:.2f}x ({best[0]})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def make_first_call_table(first: dict[str, dict]) -> str:
    header = ["workload", "import funcgrad", "first call, cold", "first call, warm",
              "until native, cold", "until native, warm", "import jax", "JAX first call",
              "cold / JAX", "warm / JAX", "native cold / JAX", "native warm / JAX"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def text(value):
        return format_time(value) if value is not None else "–"
    for name, s in first.items():
        jax_first = s["jax_first"]
        lines.append("| " + " | ".join([
            name, text(s["import_funcgrad"]), text(s["first_cold"]), text(s["first_warm"]),
            text(s["native_cold"]), text(s["native_warm"]), text(s["jax_import"]),
            text(jax_first), _ratio(s["first_cold"], jax_first),
            _ratio(s["first_warm"], jax_first), _ratio(s["native_cold"], jax_first),
            _ratio(s["native_warm"], jax_first)]) + " |")
    return "\n".join(lines)


def _median(cells: dict, column: str) -> float | None:
    return cells.get(column, {}).get("median")


def evaluate_targets(results: dict, first: dict, imports: dict) -> list[tuple[str, str, str]]:
    """The BENCHMARKS.md targets: ``(target, measured, verdict)`` rows; a target whose
    numbers are missing (workload not run, peer not installed, error) is "not measured"."""
    rows = []

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("**met**" if ok else "missed")

    def jit_vs(name: str, column: str, bound: float, label: str) -> None:
        cells = results.get(name)
        if cells is None:
            return
        jit, other = _median(cells, "funcgrad jit"), _median(cells, column)
        if jit is None or other is None:
            rows.append((label, "–", verdict(None)))
            return
        ratio = jit / other
        rows.append((label, f"{format_time(jit)} vs {format_time(other)}: {ratio:.2f}x",
                     verdict(ratio <= bound)))

    if "seed_scalar" in results:
        cells = results["seed_scalar"]
        jit, best = _median(cells, "funcgrad jit"), best_peer(cells)
        label = "seed_scalar, jit steady ≤ 1.5 µs and ≥ 10x faster than the fastest peer"
        if jit is None or best is None:
            rows.append((label, "–", verdict(None)))
        else:
            rows.append((label, f"{format_time(jit)}; {jit / best[1]:.3f}x {best[0]} "
                                f"({best[1] / jit:.1f}x faster)",
                         verdict(jit <= 1.5e-6 and jit <= 0.1 * best[1])))
        eager = _median(cells, "funcgrad eager")
        peers_eager = [(_median(cells, c), c) for c in ("torch eager", "autograd")
                       if _median(cells, c) is not None]
        label = ("seed_scalar, eager ≤ 30 µs and faster than every peer's eager mode "
                 "(torch eager, autograd; JAX without jit is not measured)")
        if eager is None or not peers_eager:
            rows.append((label, "–", verdict(None)))
        else:
            fastest = min(peers_eager)
            rows.append((label, f"{format_time(eager)}; {eager / fastest[0]:.2f}x "
                                f"{fastest[1]}", verdict(eager <= 30e-6 and eager < fastest[0])))
    jit_vs("elementwise_1e6", "jax.jit", 0.5, "elementwise_1e6, jit ≤ 0.5x JAX")
    jit_vs("mlp", HAND_COLUMN, 1.0, "mlp, jit ≤ the hand-written NumPy version")
    jit_vs("mlp", "jax.jit", 0.5, "mlp, jit ≤ 0.5x JAX (BENCHMARKS.md's parenthesis)")
    jit_vs("hessian_100", "jax.jit", 0.25, "hessian_100, jit ≤ 0.25x JAX")
    jit_vs("grad3_scalar", "jax.jit", 0.1, "grad3_scalar, jit ≤ 0.1x JAX")
    jit_vs("ode_fori", "jax.jit", 0.3, "ode_fori, jit ≤ 0.3x JAX")
    jit_vs("rnn_scan", "jax.jit", 0.8, "rnn_scan, jit ≤ 0.8x JAX")
    jit_vs("mlp_wide", "jax.jit", 1.0, "mlp_wide, jit ≤ 1.0x JAX")
    # Threads that never hurt: default threading against one numba thread (BLAS's threads
    # as they are in both), on every workload; the worst ratio is shown.
    label = ("every workload, jit with default threads ≤ jit with NUMBA_NUM_THREADS=1 "
             "(within 10%: the noise of a shared machine)")
    ratios = [(_median(c, DEFAULT_THREADS_COLUMN) / _median(c, ONE_NUMBA_THREAD_COLUMN), n)
              for n, c in results.items() if _median(c, DEFAULT_THREADS_COLUMN) is not None
              and _median(c, ONE_NUMBA_THREAD_COLUMN) is not None]
    if ratios:
        worst, name = max(ratios)
        rows.append((label, f"worst {worst:.2f}x ({name})", verdict(worst <= 1.1)))
    elif results:
        rows.append((label, "–", verdict(None)))
    jit_vs("per_example_grads", "jax.jit", 1.0, "per_example_grads, jit ≤ 1.0x JAX")
    cells = results.get("transformer_block")
    if cells is not None:
        label = "transformer_block, jit ≤ 1.0x the best of JAX and PyTorch (issue 10)"
        jit = _median(cells, "funcgrad jit")
        peers = [(_median(cells, c), c) for c in ("jax.jit", "torch eager")
                 if _median(cells, c) is not None]
        if jit is None or not peers:
            rows.append((label, "–", verdict(None)))
        else:
            best = min(peers)
            rows.append((label, f"{format_time(jit)} vs {format_time(best[0])} ({best[1]}): "
                                f"{jit / best[0]:.2f}x", verdict(jit <= best[0])))
    cells = results.get("control_flow_grad")
    if cells is not None:
        eager, torch_eager = _median(cells, "funcgrad eager"), _median(cells, "torch eager")
        label = "control_flow_grad, eager ≤ 0.5x PyTorch eager"
        if eager is None or torch_eager is None:
            rows.append((label, "–", verdict(None)))
        else:
            rows.append((label, f"{format_time(eager)} vs {format_time(torch_eager)}: "
                                f"{eager / torch_eager:.2f}x", verdict(eager <= 0.5 * torch_eager)))
    for name, s in first.items():
        for kind, bound, label in (("cold", 1.0, "≤ JAX's"), ("warm", 0.2, "≤ 0.2x JAX's")):
            value, jax_first = s[f"first_{kind}"], s["jax_first"]
            target = f"{name}, first call {kind}{' (warm disk cache)' * (kind == 'warm')} {label}"
            if value is None or jax_first is None:
                rows.append((target, "–", verdict(None)))
            else:
                ratio = value / jax_first
                rows.append((target, f"{format_time(value)} vs {format_time(jax_first)}: "
                                     f"{ratio:.2f}x", verdict(ratio <= bound)))
    seconds = imports.get("funcgrad")
    rows.append(("`import funcgrad` ≤ 150 ms",
                 format_time(seconds) if seconds is not None else "–",
                 verdict(None if seconds is None else seconds <= 0.150)))
    return rows


def make_targets_table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| target (BENCHMARKS.md) | measured (ratio) | |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {verdict} |" for target, measured, verdict in rows]
    return "\n".join(lines)


def import_time(module: str, repeats: int = 5, pycache: str | None = None) -> float | None:
    """Median seconds for ``import module`` in a fresh interpreter.

    With ``pycache`` (a directory), the interpreters keep bytecode there
    (``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE`` dropped) and a first, untimed import
    fills it, so every library loads bytecode, as an installed one does (pip compiles it at
    install time). Without it the environment decides: under ``PYTHONDONTWRITEBYTECODE=1`` an
    editable funcgrad compiles all its sources on every import (60-90 ms on the 2-core VM) while
    the pip-installed peers load theirs.
    """
    code = (f"import time; start = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - start)")
    env = _child_env(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
        repeats += 1
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=300, cwd=REPO_ROOT)
        if done.returncode != 0:
            return None
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times[1:] if pycache is not None else times)


def source_digest() -> str:
    """A short SHA-256 of funcgrad's Python sources, to tell which code a run measured (and
    whether it changed during the run: first-call subprocesses import it afresh)."""
    import hashlib
    package = os.path.dirname(os.path.abspath(fg.__file__))
    digest = hashlib.sha256()
    for directory, subdirectories, files in sorted(os.walk(package)):
        subdirectories.sort()
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(directory, name)
            digest.update(os.path.relpath(path, package).encode() + b"\0")
            with open(path, "rb") as source:
                digest.update(source.read() + b"\0")
    return digest.hexdigest()[:12]


def machine_description(digest: str) -> list[str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), model)
    except OSError:
        model = platform.processor() or model
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}",
                f"funcgrad {fg.__version__}"]
    for name in ("numba", "llvmlite", "torch", "autograd", "jax", "jaxlib"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    threads = "each library's default" if THREADS is None else f"{THREADS} (--threads)"
    blas = blas_description()
    settings = [f"{k}={v}" for k, v in sorted(ORIGINAL_ENV.items())
                if k.startswith("FUNCGRAD_") or k in THREAD_VARIABLES or k in OTHER_VARIABLES]
    return [f"CPU: {model}, {os.cpu_count()} logical cores ({usable} usable by this process); "
            f"threads: {threads}",
            f"OS: {platform.platform()}",
            "Versions: " + ", ".join(versions)
            + f" (sha256 of funcgrad/**/*.py: {digest})",
            "Environment: " + (", ".join(settings) if settings else
                               "no FUNCGRAD_*, thread, XLA_FLAGS or bytecode variables set"),
            f"BLAS: {blas}"]


def blas_description() -> str:
    """NumPy's BLAS and the kernels it runs (from threadpoolctl, when installed), and the
    OpenBLAS overrides this run dropped."""
    dropped = ""
    if DROPPED_BLAS_SETTINGS:
        dropped = ("; dropped " + ", ".join(f"{k}={v}" for k, v in DROPPED_BLAS_SETTINGS.items())
                   + " from the environment (`--keep-blas-env` keeps them)")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "kernels unknown (pip install threadpoolctl to see them)" + dropped
    found = [f"{pool.get('internal_api')} {pool.get('version')}, "
             f"{pool.get('architecture') or 'unknown'} kernels"
             for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return (", ".join(found) or "none found by threadpoolctl") + dropped


def write_results(path: str, report: dict) -> None:
    names, budget, reps = report["names"], report["budget"], report["reps"]
    lines = ["# Benchmark results", "",
             f"Written by `{report['command']}` on {report['date']} "
             f"(took {report['elapsed']:.0f} s). Medians of wall time (inputs from "
             "`numpy.random.default_rng(0)`); compare ratios within this run, never absolute "
             "times across runs. `numpy (hand)` is a hand-written NumPy/`math` version, the "
             "practical limit, not a peer. `(≠)` marks a result that disagrees with it; `–` a "
             "column not installed or not applicable.", "",
             "## Machine", "", *[f"- {line}" for line in report["machine"]], "",
             "## Workloads", "", "| name | what |", "|---|---|",
             *[f"| `{name}` | {WORKLOADS[name].description} |" for name in names
               if name in WORKLOADS],
             *[f"| `{name}` | {W.TRAINING[name].description} |" for name in names
               if name in W.TRAINING],
             *[f"| `{name}` | {why} |" for name, why in W.PENDING.items()], "",
             "Peers use their idiomatic API: torch eager builds tensors with `requires_grad` and "
             "calls `torch.autograd.grad` (`torch.func.hessian` for the Hessian, "
             "`F.cross_entropy` for the MLPs, `torch.func.vmap(torch.func.grad)` for "
             "per-example gradients); torch and autograd run the loops of `ode_fori` and "
             "`rnn_scan` as Python loops, and autograd, which has no vmap, takes one "
             "`autograd.grad` per example in a Python loop; JAX is `jax.jit` of `jax.grad` / "
             "`value_and_grad` / `hessian` (`lax.fori_loop`, `lax.scan`, `jax.vmap`) in "
             "float64 mode with the float32 inputs kept float32. `funcgrad jit` is `fg.jit` of "
             "the `funcgrad eager` function, timed after `jitted.compile(*args)`: native code "
             "only. Every result is checked against `numpy (hand)` before it is timed "
             "(float64: rtol 1e-6; float32: rtol 1e-3, atol scaled by the largest "
             "magnitude).", "",
             "## Steady state, per call", "", report["table"], "",
             f"Time budget per cell: {budget} s (at least 5 samples; 3 above 0.1 s per call). "
             + report["threads_note"], "",
             "## First call, each in a fresh process", "", report["first_table"], "",
             f"Median of {reps} process(es) per cell. `first call` is funcgrad's tiered first "
             "call of `fg.jit(f)(*args)`: trace + interpreter (numba then compiles in a "
             "background thread); `until native` adds the wait in `jitted.compile(*args)` "
             "(from the start of the first call until native code is ready: numba's compile "
             "latency, or its disk-cache load and `import numba`). `cold`: an empty "
             "`FUNCGRAD_CACHE_DIR`; `warm`: the directory a cold process left (the OS file "
             "cache is warm in both). `import` is timed separately and excluded (funcgrad's "
             "includes NumPy). JAX's first call is `jax.jit` trace + XLA compile + run + "
             "`block_until_ready`, with its inputs already on the device (starting XLA's CPU "
             "client is left out) and its persistent compilation cache off (the default).", "",
             "## Training runs, each in a fresh process", "", report["training_table"], "",
             f"Median of {reps} process(es) per cell. Every column trains the same model on the "
             "same data with the same batch order (initialisation and dropout masks from its own "
             "generator), float32, with the test accuracy evaluated after every epoch "
             "(evaluation not timed). `build`: model and optimiser construction after the "
             "library's `import` (torch's includes lazy imports on the first `torch.optim` "
             "use; JAX's its first random-number programs); `first epoch` includes tracing and "
             "compiling (funcgrad's tiered jit runs the first steps in its interpreter while "
             "numba compiles in the background; `cold cache`: an empty `FUNCGRAD_CACHE_DIR`, "
             "`warm cache`: the directory the cold run left); `time per epoch`: the median "
             "epoch after the first; `time to target`: build plus training time until the "
             "first evaluation at or above the target test accuracy.", "",
             "## Targets", "", report["targets_table"], "",
             "## `import` in a fresh interpreter", "",
             "Medians of fresh interpreters, after one untimed import that caches every "
             "library's bytecode (as an installed package has it).", "",
             "| module | time |", "|---|---|"]
    lines += [f"| {m} | {format_time(t) if t is not None else 'not installed'} |"
              for m, t in report["imports"].items()]
    lines.append("")
    if report["notes"]:
        lines += ["## Notes", "", *[f"- {note}" for note in report["notes"]], ""]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload names (default: all)")
    parser.add_argument("--quick", action="store_true", help="a quick look: budget 0.2 s per "
                        "cell, 1 process per first-call cell, imports timed once")
    parser.add_argument("--budget", type=float, help="seconds per steady-state cell "
                        "(default 1.0; 0.2 with --quick)")
    parser.add_argument("--reps", type=int, help="fresh processes per first-call cell "
                        "(default 3; 1 with --quick)")
    parser.add_argument("--no-first-call", action="store_true",
                        help="skip the first-call subprocesses")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS, OpenMP, "
                        "numba, torch and XLA (default 1; 0: each library's own default)")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--keep-blas-env", action="store_true", help="keep OPENBLAS_CORETYPE "
                        "and OPENBLAS_L2_SIZE if set (by default the run drops them: they pin "
                        "NumPy's OpenBLAS to older, slower kernels)")
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "benchmarks", "RESULTS.md"))
    args = parser.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.2 if args.quick else 1.0)
    reps = args.reps if args.reps is not None else (1 if args.quick else 3)
    import_repeats = 1 if args.quick else 5
    began = time.perf_counter()

    names = args.only.split(",") if args.only else list(WORKLOADS) + list(W.TRAINING)
    unknown = [n for n in names if n not in WORKLOADS and n not in W.TRAINING]
    if unknown:
        pending = [n for n in unknown if n in W.PENDING]
        parser.error(f"unknown workload(s) {unknown}; choose from "
                     f"{list(WORKLOADS) + list(W.TRAINING)}"
                     + (f" ({', '.join(pending)}: {W.PENDING[pending[0]]})" if pending else ""))
    training_names = [n for n in names if n in W.TRAINING]
    names = [n for n in names if n in WORKLOADS]
    columns = available_columns()
    skipped = [c for c in PEER_COLUMNS if c not in columns]
    digest_at_start = source_digest()
    machine = machine_description(digest_at_start)
    print("\n".join(machine))
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")

    results, notes = {}, []
    for name in names:
        print(f"steady state: {name} ...", flush=True)
        results[name] = run_workload(WORKLOADS[name], columns, budget)

    table_columns = list(columns)
    threads_note = ("Every library on its own default threads (`--threads 0`)."
                    if THREADS is None else
                    f"Every column runs with {THREADS} thread(s) (BLAS, OpenMP, numba, torch, "
                    "XLA)" + (" on one CPU (the run is pinned to it: JAX's CPU runtime ignores "
                              "XLA's thread flags)" if THREADS == 1 and ALL_CPUS else ""))
    if THREADS is not None and names:
        print("steady state: funcgrad jit with default threads (subprocess) ...", flush=True)
        default = default_threads_steady([n for n in names if not W.SPECS[n].eager_only],
                                         budget)
        if "error" in default:
            notes.append(f"{DEFAULT_THREADS_COLUMN}: {default['error']}")
        for name, cell in default.get("cells", {}).items():
            results[name][DEFAULT_THREADS_COLUMN] = cell
        table_columns.insert(table_columns.index("funcgrad jit") + 1, DEFAULT_THREADS_COLUMN)
        print("steady state: funcgrad jit with NUMBA_NUM_THREADS=1 (subprocess) ...", flush=True)
        single = default_threads_steady([n for n in names if not W.SPECS[n].eager_only],
                                        budget, NUMBA_NUM_THREADS="1")
        if "error" in single:
            notes.append(f"{ONE_NUMBA_THREAD_COLUMN}: {single['error']}")
        for name, cell in single.get("cells", {}).items():
            results[name][ONE_NUMBA_THREAD_COLUMN] = cell
        table_columns.insert(table_columns.index(DEFAULT_THREADS_COLUMN) + 1,
                             ONE_NUMBA_THREAD_COLUMN)
        threads_note += (f", except `{DEFAULT_THREADS_COLUMN}`: funcgrad jit in a subprocess "
                         "with the environment and CPUs the run started with, i.e. numba's and "
                         "BLAS's "
                         f"own defaults (numba threads there: {default.get('numba_threads')}), "
                         f"and `{ONE_NUMBA_THREAD_COLUMN}`: the same with one numba thread; "
                         "they have no ratio, as the peers ran single-threaded.")
    else:
        threads_note += "."

    training = {}
    for name in training_names:
        if importlib.util.find_spec("sklearn") is None:
            notes.append(f"{name}: not run, it needs scikit-learn (pip install scikit-learn)")
            continue
        print(f"training runs (fresh processes): {name} ...", flush=True)
        runs = training_runs(name, reps, columns)
        training[name] = summarize_training_runs(runs, W.TRAINING[name].target)
        notes += [f"{name}, {column}: {cell['error']}"
                  for column, cell in training[name].items() if "error" in cell]

    first = {}
    if not args.no_first_call:
        for name in [n for n in names if not W.SPECS[n].eager_only]:
            print(f"first calls (fresh processes): {name} ...", flush=True)
            first[name] = summarize_first_calls(first_calls(name, reps, jax is not None))
            notes += [f"{name}, first call: {p}" for p in first[name]["problems"]]

        setups = [f"{name} {format_time(s['jax_setup'])}" for name, s in first.items()
                  if s["jax_setup"] is not None]
        if setups:
            notes.append("JAX set-up before its first call, not counted in it (starting XLA's "
                         "CPU client, moving the inputs to the device): " + ", ".join(setups))

    print("imports ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="funcgrad-bench-pycache-") as pycache:
        imports = {m: import_time(m, import_repeats, pycache)
                   for m in ["funcgrad",
                             *(COLUMN_MODULES[c] for c in columns if c in COLUMN_MODULES)]}
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        from_source = import_time("funcgrad", import_repeats)
        notes.append("This run's environment sets PYTHONDONTWRITEBYTECODE: there `import "
                     "funcgrad` compiles funcgrad's sources every time unless a `__pycache__` "
                     "is already there (took "
                     + (format_time(from_source) if from_source is not None else "–")
                     + "); the `import` times above load bytecode, every library's alike")

    for name, cells in results.items():
        for column, cell in cells.items():
            if "error" in cell:
                notes.append(f"{name}, {column}: {cell['error']}")
            elif not cell["agrees"]:
                notes.append(f"{name}, {column}: result disagrees with {HAND_COLUMN} "
                             f"(max error {cell['max_error']:.2g})")
    notes += [f"{name}: {why}" for name, why in W.PENDING.items()]
    digest = source_digest()
    if digest != digest_at_start:
        notes.insert(0, f"**funcgrad's sources changed during this run** (sha256 now {digest}): "
                        "the subprocesses may have measured other code than this process; "
                        "run again on a quiet tree")

    table = make_table(results, table_columns)
    training_table = make_training_table(training) if training else "(none run)"
    first_table = make_first_call_table(first) if first else "(skipped: --no-first-call)"
    targets_table = make_targets_table(evaluate_targets(results, first, imports))
    print()
    if names:
        print("Steady state, per call\n")
        print(table)
        print()
    if first:
        print(f"First call, fresh process (median of {reps})\n")
        print(first_table)
        print()
    if training:
        print(f"Training runs, fresh processes (median of {reps})\n")
        print(training_table)
        print()
    print("Targets\n")
    print(targets_table)
    print()
    for module, seconds in imports.items():
        print(f"import {module}: {format_time(seconds) if seconds is not None else '-'}")
    for note in notes:
        print(f"note: {note}")
    elapsed = time.perf_counter() - began
    print(f"took {elapsed:.0f} s")
    if not args.no_write:
        shown = ["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)]
        write_results(args.output, {
            "names": names + training_names, "budget": budget, "reps": reps, "machine": machine,
            "table": table, "first_table": first_table, "targets_table": targets_table,
            "training_table": training_table,
            "imports": imports, "notes": notes, "threads_note": threads_note,
            "elapsed": elapsed, "command": " ".join(shown),
            "date": time.strftime("%Y-%m-%d %H:%M %Z")})
        print(f"wrote {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
