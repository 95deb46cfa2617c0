"""funcgrad against its peers: the workloads of BENCHMARKS.md, same process, same inputs.

    python -m benchmarks.run                  # every workload, every installed peer
    python benchmarks/run.py --only mlp,seed_scalar --budget 0.2 --no-write

Each workload is a dict entry (``WORKLOADS``) holding its inputs and one builder per column;
a builder takes the inputs and returns a zero-argument function that does one full call
(including whatever the framework needs to produce NumPy-usable results). A column whose
library is not installed is skipped. Adding ``fg.jit`` later means adding a ``"funcgrad jit"``
builder to each workload (see ``FUNCGRAD_COLUMNS``); nothing else changes.

Timing: ``time.perf_counter``; one warm-up call (which also compiles for ``jax.jit``), then
samples of ``n`` back-to-back calls, ``n`` grown until a sample lasts at least 2 ms, repeated
until the time budget is spent (at least 5 samples, 3 for calls slower than 0.1 s); the
median of the per-call times is reported. The garbage collector stays on, as in a script.
Results are checked against the hand-written NumPy version before timing.

Threads: ``--threads N`` (default 1) sets BLAS, OpenMP, torch and XLA to N threads before
they start; ``--threads 0`` leaves each library its own default. One thread is the default
because on the 2-vCPU development VM multi-threaded OpenBLAS (and torch's OpenMP pool) at
times stall about 16 ms per call, for seconds at a stretch (waking a worker on the other
vCPU), which swamps a 40 µs matrix product: a default-threads run measured the hand-written
NumPy Hessian at 16 ms instead of 40 µs and torch's elementwise_1e6 at 63 ms instead of 9 ms.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _threads_from_argv(argv: list[str]) -> int | None:
    """``--threads N`` (default 1; 0 for each library's own default), read before NumPy,
    torch and JAX are imported and size their thread pools."""
    threads = 1
    for position, arg in enumerate(argv):
        if arg.startswith("--threads="):
            threads = int(arg.split("=", 1)[1])
        elif arg == "--threads" and position + 1 < len(argv):
            threads = int(argv[position + 1])
    return threads or None


THREADS = _threads_from_argv(sys.argv[1:]) if __name__ == "__main__" else None
if THREADS is not None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS"):
        os.environ[variable] = str(THREADS)
    if THREADS == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                                   "=false intra_op_parallelism_threads=1").strip()

import numpy as np  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # `python benchmarks/run.py` without an installed funcgrad
    sys.path.insert(0, REPO_ROOT)

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402

# Column order in the table. "numpy (hand)" is the practical limit, not a peer.
FUNCGRAD_COLUMNS = ["funcgrad eager"]          # later: "funcgrad jit"
PEER_COLUMNS = ["torch eager", "autograd", "jax.jit"]
HAND_COLUMN = "numpy (hand)"
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
    import jax.numpy as jnp
if autograd is not None:
    import autograd.numpy as anp


def _jax_ready(value):
    return jax.block_until_ready(value)


# ---------------------------------------------------------------------------------------------
# seed_scalar: f(x, y) = y*log(x) + sin(y), gradient with respect to both at (2., 3.)

seed_scalar = Workload("y*log(x) + sin(y), grad w.r.t. both at (2., 3.), float64",
                       lambda rng: {"x": 2.0, "y": 3.0})


@seed_scalar.column(HAND_COLUMN)
def _(inputs):
    x, y = inputs["x"], inputs["y"]
    return lambda: (y / x, math.log(x) + math.cos(y))


@seed_scalar.column("funcgrad eager")
def _(inputs):
    grad_f = fg.grad(lambda x, y: y * fnp.log(x) + fnp.sin(y), argnums=(0, 1))
    x, y = inputs["x"], inputs["y"]
    return lambda: grad_f(x, y)


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


@seed_scalar.column("jax.jit")
def _(inputs):
    grad_f = jax.jit(jax.grad(lambda x, y: y * jnp.log(x) + jnp.sin(y), argnums=(0, 1)))
    return lambda: _jax_ready(grad_f(inputs["x"], inputs["y"]))


# ---------------------------------------------------------------------------------------------
# grad3_scalar: third derivative of sin(x)*x*x at 1.3, by nested grad

grad3_scalar = Workload("d^3/dx^3 sin(x)*x*x at 1.3 (nested grad), float64",
                        lambda rng: {"x": 1.3})


@grad3_scalar.column(HAND_COLUMN)
def _(inputs):
    x = inputs["x"]
    return lambda: 6 * math.cos(x) - 6 * x * math.sin(x) - x * x * math.cos(x)


@grad3_scalar.column("funcgrad eager")
def _(inputs):
    third = fg.grad(fg.grad(fg.grad(lambda x: fnp.sin(x) * x * x)))
    return lambda: third(inputs["x"])


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


@grad3_scalar.column("jax.jit")
def _(inputs):
    third = jax.jit(jax.grad(jax.grad(jax.grad(lambda x: jnp.sin(x) * x * x))))
    return lambda: _jax_ready(third(inputs["x"]))


# ---------------------------------------------------------------------------------------------
# hessian_100: Hessian of sum(tanh(A @ x)), A 100x100 (scaled by 1/10 so tanh is not saturated)

def _hessian_inputs(rng):
    return {"A": rng.standard_normal((100, 100)) / 10.0, "x": rng.standard_normal(100)}


hessian_100 = Workload("Hessian of sum(tanh(A @ x)), A 100x100, float64", _hessian_inputs)


@hessian_100.column(HAND_COLUMN)
def _(inputs):
    a, x = inputs["A"], inputs["x"]

    def call():
        t = np.tanh(a @ x)
        return (a.T * (-2.0 * t * (1.0 - t * t))) @ a
    return call


@hessian_100.column("funcgrad eager")
def _(inputs):
    a = inputs["A"]
    hess = fg.hessian(lambda x: fnp.sum(fnp.tanh(a @ x)))
    return lambda: hess(inputs["x"])


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


@hessian_100.column("jax.jit")
def _(inputs):
    a, x = jnp.asarray(inputs["A"]), jnp.asarray(inputs["x"])
    hess = jax.jit(jax.hessian(lambda x: jnp.sum(jnp.tanh(a @ x))))
    return lambda: _jax_ready(hess(x))


# ---------------------------------------------------------------------------------------------
# elementwise_1e6: value_and_grad of sum(sin(x)*exp(-x*x) + tanh(x)**2), x of 1e6 float32

elementwise_1e6 = Workload(
    "value_and_grad of sum(sin(x)*exp(-x*x) + tanh(x)**2), 1e6 float32",
    lambda rng: {"x": rng.standard_normal(1_000_000).astype(np.float32)}, rtol=1e-3)


@elementwise_1e6.column(HAND_COLUMN)
def _(inputs):
    x = inputs["x"]

    def call():
        e, t = np.exp(-x * x), np.tanh(x)
        sin_e, t2 = np.sin(x) * e, t * t
        value = np.sum(sin_e + t2)
        grad = np.cos(x) * e
        grad -= 2 * x * sin_e
        grad += 2 * t * (1 - t2)
        return value, grad
    return call


@elementwise_1e6.column("funcgrad eager")
def _(inputs):
    value_and_grad = fg.value_and_grad(
        lambda x: fnp.sum(fnp.sin(x) * fnp.exp(-x * x) + fnp.tanh(x) ** 2))
    return lambda: value_and_grad(inputs["x"])


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


@elementwise_1e6.column("jax.jit")
def _(inputs):
    x = jnp.asarray(inputs["x"])
    value_and_grad = jax.jit(jax.value_and_grad(
        lambda x: jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + jnp.tanh(x) ** 2)))
    return lambda: _jax_ready(value_and_grad(x))


# ---------------------------------------------------------------------------------------------
# mlp: value_and_grad of the softmax cross-entropy of a 64-256-10 ReLU MLP, batch 256, float32

def _mlp_inputs(rng):
    f32 = np.float32
    params = {"W1": (rng.standard_normal((64, 256)) * math.sqrt(2 / 64)).astype(f32),
              "b1": np.zeros(256, f32),
              "W2": (rng.standard_normal((256, 10)) * math.sqrt(2 / 256)).astype(f32),
              "b2": np.zeros(10, f32)}
    x = rng.standard_normal((256, 64)).astype(f32)
    labels = rng.integers(0, 10, 256)
    return {"params": params, "x": x, "labels": labels,
            "onehot": np.eye(10, dtype=f32)[labels]}


mlp = Workload("value_and_grad, softmax cross-entropy of a 64-256-10 ReLU MLP, batch 256, "
               "float32, params a dict", _mlp_inputs, rtol=1e-3)


@mlp.column(HAND_COLUMN)
def _(inputs):
    x, onehot, batch = inputs["x"], inputs["onehot"], inputs["x"].shape[0]

    def call():
        p = inputs["params"]
        pre = x @ p["W1"] + p["b1"]
        h = np.maximum(pre, 0)
        logits = h @ p["W2"] + p["b2"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - np.sum(onehot * shifted, axis=1))
        d_logits = (exp / total - onehot) / np.float32(batch)
        d_h = (d_logits @ p["W2"].T) * (pre > 0)
        return loss, {"W1": x.T @ d_h, "b1": d_h.sum(axis=0),
                      "W2": h.T @ d_logits, "b2": d_logits.sum(axis=0)}
    return call


def _mlp_loss(xp, relu, logsumexp):
    """The MLP's loss written against a NumPy-like namespace ``xp``."""
    def loss(params, x, onehot):
        h = relu(x @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        return xp.mean(logsumexp(logits) - xp.sum(onehot * logits, axis=1))
    return loss


def _stable_logsumexp(xp):
    def logsumexp(logits):
        top = xp.max(logits, axis=1, keepdims=True)
        return (top + xp.log(xp.sum(xp.exp(logits - top), axis=1, keepdims=True)))[:, 0]
    return logsumexp


@mlp.column("funcgrad eager")
def _(inputs):
    loss = _mlp_loss(fnp, lambda z: fnp.maximum(z, np.float32(0)), _stable_logsumexp(fnp))
    value_and_grad = fg.value_and_grad(loss)
    return lambda: value_and_grad(inputs["params"], inputs["x"], inputs["onehot"])


@mlp.column("torch eager")
def _(inputs):
    params = {k: torch.from_numpy(v).requires_grad_() for k, v in inputs["params"].items()}
    x, labels = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["labels"])
    names = sorted(params)

    def call():
        h = torch.relu(x @ params["W1"] + params["b1"])
        loss = torch.nn.functional.cross_entropy(h @ params["W2"] + params["b2"], labels)
        grads = torch.autograd.grad(loss, [params[k] for k in names])
        return loss, dict(zip(names, grads))
    return call


@mlp.column("autograd")
def _(inputs):
    loss = _mlp_loss(anp, lambda z: anp.maximum(z, 0.0), _stable_logsumexp(anp))
    value_and_grad = autograd.value_and_grad(loss)
    return lambda: value_and_grad(inputs["params"], inputs["x"], inputs["onehot"])


@mlp.column("jax.jit")
def _(inputs):
    loss = _mlp_loss(jnp, jax.nn.relu, lambda z: jax.nn.logsumexp(z, axis=1))
    value_and_grad = jax.jit(jax.value_and_grad(loss))
    params = {k: jnp.asarray(v) for k, v in inputs["params"].items()}
    x, onehot = jnp.asarray(inputs["x"]), jnp.asarray(inputs["onehot"])
    return lambda: _jax_ready(value_and_grad(params, x, onehot))


WORKLOADS: dict[str, Workload] = {
    "seed_scalar": seed_scalar,
    "grad3_scalar": grad3_scalar,
    "hessian_100": hessian_100,
    "elementwise_1e6": elementwise_1e6,
    "mlp": mlp,
}


# ---------------------------------------------------------------------------------------------
# Timing, checking and reporting

def measure(call: Callable[[], Any], budget: float) -> tuple[float, int, int]:
    """Median seconds per call of ``call``: returns ``(median, samples, calls_per_sample)``."""
    start = time.perf_counter()
    call()
    single = time.perf_counter() - start
    calls = 1 if single >= 2e-3 else max(1, int(2e-3 / max(single, 1e-7)))
    min_samples = 3 if single > 0.1 else 5
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < min_samples or (time.perf_counter() < deadline and len(samples) < 1000):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - start
        samples.append(elapsed / calls)
        if elapsed < 1e-3 and calls < 10**7:  # too short for the timer: lengthen the samples
            calls *= 4
    return statistics.median(samples), len(samples), calls


def _to_numpy(value):
    """Any framework's result as nested lists of float64 arrays, for comparison."""
    if isinstance(value, dict):
        return [_to_numpy(value[k]) for k in sorted(value)]
    if isinstance(value, (tuple, list)):
        return [_to_numpy(v) for v in value]
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def _agrees(result, reference, rtol: float) -> bool:
    result, reference = _to_numpy(result), _to_numpy(reference)
    if isinstance(reference, list):
        return (isinstance(result, list) and len(result) == len(reference)
                and all(_agrees(r, e, rtol) for r, e in zip(result, reference)))
    scale = max(1.0, float(np.max(np.abs(reference))) if reference.size else 1.0)
    return (np.shape(result) == np.shape(reference)
            and np.allclose(result, reference, rtol=rtol, atol=rtol * scale))


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
            start = time.perf_counter()
            result = call()
            first = time.perf_counter() - start
            median, samples, calls = measure(call, budget)
        except Exception as error:  # a broken column is reported, not fatal
            cells[column] = {"error": f"{type(error).__name__}: {error}".splitlines()[0]}
            continue
        cells[column] = {"median": median, "samples": samples, "calls": calls,
                         "first": first, "agrees": _agrees(result, reference, workload.rtol)}
    return cells


def format_time(seconds: float) -> str:
    unit, scale = next(((u, s) for u, s in (("s", 1.0), ("ms", 1e-3)) if seconds >= s),
                       ("µs", 1e-6))
    value = seconds / scale
    digits = 2 if value < 10 else (1 if value < 100 else 0)
    return f"{value:.{digits}f} {unit}"


def best_peer(cells: dict) -> tuple[str, float] | None:
    timed = [(cells[c]["median"], c) for c in PEER_COLUMNS if "median" in cells.get(c, {})]
    return (min(timed)[1], min(timed)[0]) if timed else None


def make_table(results: dict[str, dict], columns: list[str]) -> str:
    """A Markdown table: medians per column, then each funcgrad column's ratio to the best peer."""
    ratio_columns = [f"{c} / best peer" for c in FUNCGRAD_COLUMNS if c in columns]
    header = ["workload", *columns, *ratio_columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, cells in results.items():
        row = [name]
        for column in columns:
            cell = cells.get(column)
            if cell is None:
                row.append("–")
            elif "error" in cell:
                row.append("error")
            else:
                row.append(format_time(cell["median"]) + ("" if cell["agrees"] else " (≠)"))
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


def import_time(module: str, repeats: int = 5) -> float | None:
    """Median seconds for ``import module`` in a fresh interpreter."""
    code = (f"import time; start = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - start)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]))
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=300)
        if done.returncode != 0:
            return None
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def machine_description() -> list[str]:
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
    for name in ("numba", "torch", "autograd", "jax", "jaxlib"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    threads = "each library's default" if THREADS is None else f"{THREADS} (--threads)"
    return [f"CPU: {model}, {os.cpu_count()} logical cores ({usable} usable by this process); "
            f"threads: {threads}",
            f"OS: {platform.platform()}",
            "Versions: " + ", ".join(versions)]


def write_results(path: str, workloads: list[str], table: str, imports: dict,
                  machine: list[str], budget: float, notes: list[str]) -> None:
    lines = ["# Benchmark results", "",
             f"Written by `python -m benchmarks.run` on {time.strftime('%Y-%m-%d %H:%M %Z')}. "
             "Medians of per-call wall time in one process (inputs from "
             "`numpy.random.default_rng(0)`); compare ratios within this run, never absolute "
             "times across runs. `numpy (hand)` is a hand-written NumPy/`math` version, the "
             "practical limit, not a peer. `(≠)` marks a result that disagrees with it; `–` a "
             "column not installed or not applicable.", "",
             "## Machine", "", *[f"- {line}" for line in machine], "",
             "## Workloads", "", "| name | what |", "|---|---|",
             *[f"| `{name}` | {WORKLOADS[name].description} |" for name in workloads], "",
             "Peers use their idiomatic API: torch eager builds tensors with `requires_grad` and "
             "calls `torch.autograd.grad` (`torch.func.hessian` for the Hessian, "
             "`F.cross_entropy` for the MLP); JAX is `jax.jit` of `jax.grad` / "
             "`value_and_grad` / `hessian` in float64 mode with the float32 inputs kept "
             "float32.", "",
             "## Steady state, per call", "", table, "",
             "## `import` in a fresh interpreter (median of 5)", "",
             "| module | time |", "|---|---|"]
    lines += [f"| {m} | {format_time(t) if t is not None else 'not installed'} |"
              for m, t in imports.items()]
    lines += ["", f"Time budget per cell: {budget} s (at least 5 samples; 3 above 0.1 s per call).",
              ""]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload names (default: all)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per cell (1.0)")
    parser.add_argument("--threads", type=int, default=1, help="threads for BLAS, OpenMP, "
                        "torch and XLA (default 1; 0: each library's own default)")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "benchmarks", "RESULTS.md"))
    args = parser.parse_args(argv)

    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    columns = available_columns()
    skipped = [c for c in PEER_COLUMNS if c not in columns]
    machine = machine_description()
    print("\n".join(machine))
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")

    results, notes = {}, []
    for name in names:
        print(f"running {name} ...", flush=True)
        results[name] = run_workload(WORKLOADS[name], columns, args.budget)
        for column, cell in results[name].items():
            if "error" in cell:
                notes.append(f"{name}, {column}: {cell['error']}")
            elif not cell["agrees"]:
                notes.append(f"{name}, {column}: result disagrees with {HAND_COLUMN}")
            if column == "jax.jit" and "first" in cell:
                notes.append(f"{name}, jax.jit: first call (trace + compile) "
                             f"{format_time(cell['first'])}")
    imports = {m: import_time(m) for m in ["funcgrad", *(COLUMN_MODULES[c] for c in columns
                                                         if c in COLUMN_MODULES)]}
    table = make_table(results, columns)
    print()
    print(table)
    print()
    for module, seconds in imports.items():
        print(f"import {module}: {format_time(seconds) if seconds is not None else '-'}")
    for note in notes:
        print(f"note: {note}")
    if not args.no_write:
        write_results(args.output, names, table, imports, machine, args.budget, notes)
        print(f"wrote {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
