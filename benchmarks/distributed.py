"""Data-parallel steps over MPI ranks: the ``mlp`` workload of BENCHMARKS.md (value_and_grad
of a 64-256-10 ReLU MLP's softmax cross-entropy, batch 256, float32) split over 1, 2, ...
ranks with ``fg.distributed``.

    python -m benchmarks.distributed [--ranks 1,2] [--blocks 15] [--workload mlp]

Needs ``pip install -e ".[mpi]"``. For each rank count it launches ``mpiexec -n N python -m
benchmarks.distributed --rank-child ...`` (one BLAS thread a rank, ``OMP_NUM_THREADS=1``);
every rank takes its ``shard`` of the workload's batch and times, after ``.compile()``:

- ``step``: ``fg.jit(fg.distributed.value_and_grad(loss))``, i.e. the local ``value_and_grad``
  on the shard and one fused allreduce (mean) of the value and the gradient pytree;
- ``local``: ``fg.jit(fg.value_and_grad(loss))`` on the shard, no communication;
- ``allreduce``: ``fg.jit`` of that allreduce alone, on a pytree like the gradients;
- ``raw``: mpi4py's ``Allreduce`` of one buffer of the same size, what MPI itself costs.

Collectives need every rank to call them equally often, so instead of ``timing.measure``
(which sizes its samples by the clock) every rank runs the same fixed blocks of calls, and a
block's time is the slowest rank's. The report gives medians over blocks, the allreduce's
share of a step, and the message: one float32 buffer of ``value + every gradient leaf``.
It is printed, never written into RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

RESULT_TAG = "BENCH-RESULT "


def _timed_blocks(call, blocks: int, calls: int, mpi) -> float:
    """Median seconds per call over ``blocks`` blocks of ``calls`` calls (the slowest rank's
    time for each block)."""
    from mpi4py import MPI
    for _ in range(max(3, calls // 4)):   # warm-up
        call()
    samples = []
    for _ in range(blocks):
        mpi.Barrier()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = (time.perf_counter() - start) / calls
        samples.append(mpi.allreduce(elapsed, op=MPI.MAX))
    return statistics.median(samples)


def rank_child(workload: str, blocks: int, calls: int) -> None:
    import numpy as np
    from mpi4py import MPI

    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad import distributed as dist

    from . import workloads as W

    if workload not in ("mlp", "mlp_wide"):
        raise SystemExit(f"--workload must be mlp or mlp_wide, got {workload!r}")
    inputs = W.inputs_for(workload)
    loss = W.mlp_loss(fnp, lambda z: fnp.maximum(z, np.float32(0)), W.stable_logsumexp(fnp))
    params = dist.broadcast(inputs["params"])
    x, onehot = dist.shard((inputs["x"], inputs["onehot"]))
    mpi = dist.communicator().mpi or MPI.COMM_WORLD

    step = fg.jit(dist.value_and_grad(loss)).compile(params, x, onehot)
    local = fg.jit(fg.value_and_grad(loss)).compile(params, x, onehot)
    value, grads = local(params, x, onehot)
    reduce_only = fg.jit(lambda tree: dist.allreduce(tree, "mean")).compile((value, grads))
    floats = 1 + sum(np.size(g) for g in fg.tree.leaves(grads))
    send, receive = np.ones(floats, np.float32), np.empty(floats, np.float32)

    # The data-parallel step equals the one-process gradient of the whole batch.
    whole_value, whole_grads = fg.value_and_grad(loss)(inputs["params"], inputs["x"],
                                                       inputs["onehot"])
    got_value, got_grads = step(params, x, onehot)
    error = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-30))
                for a, b in zip(fg.tree.leaves((got_value, got_grads)),
                                fg.tree.leaves((whole_value, whole_grads))))

    result = {
        "ranks": dist.size(), "batch_per_rank": int(x.shape[0]),
        "message_floats": int(floats), "message_bytes": int(4 * floats),
        "step_s": _timed_blocks(lambda: step(params, x, onehot), blocks, calls, mpi),
        "local_s": _timed_blocks(lambda: local(params, x, onehot), blocks, calls, mpi),
        "allreduce_s": _timed_blocks(lambda: reduce_only((value, grads)), blocks, calls, mpi),
        "raw_allreduce_s": _timed_blocks(lambda: mpi.Allreduce(send, receive), blocks, calls,
                                         mpi),
        "max_relative_error_vs_one_process": error,
    }
    if dist.rank() == 0:
        print(RESULT_TAG + json.dumps(result), flush=True)


def _mpiexec() -> str:
    found = shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable),
                                                          os.environ.get("PATH", "")]))
    if found is None:
        raise SystemExit('mpiexec not found: pip install -e ".[mpi]" (MPICH\'s wheel puts it '
                         'next to python)')
    return found


def launch(ranks: int, workload: str, blocks: int, calls: int) -> dict:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([_mpiexec(), "-n", str(ranks), sys.executable, "-m",
                           "benchmarks.distributed", "--rank-child", workload, str(blocks),
                           str(calls)], capture_output=True, text=True, cwd=repo, env=env,
                          timeout=900)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise RuntimeError(f"{ranks} ranks failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def report(results: list[dict], workload: str) -> str:
    lines = [f"Data-parallel `{workload}` over MPI ranks (fg.jit after .compile(), one BLAS "
             "thread a rank; medians, each block timed on its slowest rank)", "",
             "| ranks | batch a rank | step (value_and_grad + allreduce) | local value_and_grad "
             "| allreduce (fg) | allreduce share of step | raw MPI Allreduce | message | "
             "max rel. error vs 1 process |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['ranks']} | {r['batch_per_rank']} | {_us(r['step_s'])} | "
            f"{_us(r['local_s'])} | {_us(r['allreduce_s'])} | "
            f"{100 * r['allreduce_s'] / r['step_s']:.0f}% | {_us(r['raw_allreduce_s'])} | "
            f"{r['message_bytes']:,} B ({r['message_floats']:,} float32) | "
            f"{r['max_relative_error_vs_one_process']:.1e} |")
    lines += ["", f"On {os.cpu_count()} CPUs here the ranks share the cores, so more ranks do "
              "not mean more compute; on a cluster each rank has its own cores and the step "
              "is the local step on batch/ranks plus one allreduce of the message above."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", default="1,2", help="comma-separated rank counts")
    parser.add_argument("--workload", default="mlp")
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--calls", type=int, default=50, help="calls a timed block")
    parser.add_argument("--rank-child", nargs=3, metavar=("WORKLOAD", "BLOCKS", "CALLS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rank_child:
        workload, blocks, calls = args.rank_child
        rank_child(workload, int(blocks), int(calls))
        return
    results = [launch(int(n), args.workload, args.blocks, args.calls)
               for n in args.ranks.split(",")]
    print(report(results, args.workload))


if __name__ == "__main__":
    main()
