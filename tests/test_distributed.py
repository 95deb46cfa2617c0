"""``fg.distributed`` over MPI: launches of 2 and 3 ranks with ``mpiexec`` (each rank runs
``tests/distributed_ranks.py``), and the one-process behaviour in this process.

The launches are skipped when mpi4py or ``mpiexec`` is missing (``pip install -e ".[mpi]"``
installs both: the MPICH wheel puts ``mpiexec`` next to ``python``). Every launch has a
timeout, so a hang fails the test instead of stalling the suite. Each rank checks its results
against the single-process equivalent it computes from every rank's inputs; here they are
reported one test per check and rank count.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad import nn

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TESTS)
RANKS_SCRIPT = os.path.join(TESTS, "distributed_ranks.py")
CHECKS = ["values", "pytrees_and_dtypes", "same_result_on_every_rank", "jit_interpreted",
          "jit_compiled", "vmap", "derivatives", "max_ties_share_the_gradient",
          "training_step"]
TIMEOUT = 240   # seconds a launch may take (a cold compile cache included) before it fails


def _mpiexec() -> str | None:
    beside_python = os.path.dirname(sys.executable)
    return shutil.which("mpiexec", path=os.pathsep.join([beside_python,
                                                         os.environ.get("PATH", "")]))


MPIEXEC = _mpiexec()
HAVE_MPI = importlib.util.find_spec("mpi4py") is not None and MPIEXEC is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason='needs mpi4py and mpiexec: pip install -e '
                                                    '".[mpi]"')


def _environment() -> dict:
    env = dict(os.environ)
    env.pop("FUNCGRAD_MPI", None)
    env["PYTHONPATH"] = os.pathsep.join([REPO] + [p for p in [env.get("PYTHONPATH")] if p])
    env["OMP_NUM_THREADS"] = "1"   # one BLAS thread a rank: ranks share the cores
    return env


def launch(ranks: int, args, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """``mpiexec -n ranks python args...`` from the repository root, this checkout imported."""
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, *args],
                          capture_output=True, text=True, cwd=REPO, env=_environment(),
                          timeout=timeout)


_runs: dict = {}


def _rank_results(ranks: int, tmp_path_factory) -> list[dict]:
    """Every check on ``ranks`` ranks, in one launch (cached for the module)."""
    if ranks not in _runs:
        out_dir = tmp_path_factory.mktemp(f"ranks{ranks}")
        done = launch(ranks, [RANKS_SCRIPT, str(out_dir), *CHECKS])
        files = [out_dir / f"rank{r}.json" for r in range(ranks)]
        if done.returncode != 0 or not all(f.exists() for f in files):
            _runs[ranks] = (f"mpiexec -n {ranks} failed (exit {done.returncode}):\n"
                            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        else:
            _runs[ranks] = [json.loads(f.read_text()) for f in files]
    result = _runs[ranks]
    if isinstance(result, str):
        pytest.fail(result)
    return result


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("check", CHECKS)
def test_on_several_ranks(ranks, check, tmp_path_factory):
    results = _rank_results(ranks, tmp_path_factory)
    for rank, result in enumerate(results):
        assert result["size"] == ranks
        assert result["results"].get(check) == "ok", (
            f"check {check!r} on rank {rank} of {ranks}:\n{result['results'].get(check)}")


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_error():
    start = time.monotonic()
    done = launch(3, [RANKS_SCRIPT, "unused", "fail_on_rank_1"], timeout=120)
    assert done.returncode != 0
    assert time.monotonic() - start < 120
    # The note carries the message: mpiexec may lose the traceback's end as the job aborts.
    assert ("rank 1 of 3 raised ValueError: rank one failed on purpose; aborting all 3 ranks"
            in done.stderr)


@needs_mpi
def test_train_digits_distributed_prints_on_rank_0_only():
    pytest.importorskip("sklearn")
    done = launch(2, ["-m", "funcgrad.examples.train_digits", "--distributed", "--epochs", "2"])
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert "2 ranks, 32 images each a step" in lines[0]
    assert [line[:9] for line in lines if line.startswith("epoch")] == ["epoch 1/2", "epoch 2/2"]
    assert sum(line.startswith("test accuracy: 0.") for line in lines) == 1
    assert float(lines[-1].split(": ")[1]) > 0.8


# ---------------------------------------------------------------------- one process

def test_one_process_collectives_are_local_equivalents():
    x = np.arange(6.0).reshape(2, 3)
    assert (dist.rank(), dist.size()) == (0, 1)
    for op in dist.OPS:
        np.testing.assert_array_equal(dist.allreduce(x, op), x)
    np.testing.assert_array_equal(dist.allgather(x), x[None])
    np.testing.assert_array_equal(dist.reduce_scatter(x[None]), x)
    np.testing.assert_array_equal(dist.broadcast(x), x)
    np.testing.assert_array_equal(dist.reduce(x), x)
    assert isinstance(dist.allreduce(x), fg.Array) and dist.allreduce(x) is not x
    tree = {"a": np.float32(1.5), "b": [np.arange(3), 2.0]}
    out = dist.allreduce(tree)
    assert fg.tree.structure(out) == fg.tree.structure(tree)
    assert out["a"].dtype == np.float32 and out["b"][0].dtype == np.int64
    assert dist.allreduce({}) == {}
    np.testing.assert_array_equal(dist.shard(x), x)


def test_one_process_transformations():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda x: fnp.sum(fnp.sin(dist.allreduce(x, "max")) * dist.allgather(x)[0])  # noqa: E731
    g = lambda x: fnp.sum(fnp.sin(x) * x)  # noqa: E731
    np.testing.assert_allclose(fg.grad(f)(x), fg.grad(g)(x), rtol=1e-14)
    np.testing.assert_allclose(fg.jit(f)(x), g(x), rtol=1e-14)
    np.testing.assert_allclose(fg.hessian(f)(x), fg.hessian(g)(x), rtol=1e-14)
    np.testing.assert_array_equal(fg.vmap(dist.allgather)(np.ones((4, 2))), np.ones((4, 1, 2)))
    ir = str(fg.make_ir(lambda a, b: dist.allreduce((a, b), "mean"))(x, np.float32(1)))
    assert "allreduce[comm=world op=mean] a b" in ir   # one equation for the whole pytree


def test_data_parallel_value_and_grad_in_one_process_is_value_and_grad():
    def loss(w, x):
        return fnp.mean((x @ w) ** 2)
    w, x = np.array([1.0, -2.0]), np.arange(8.0).reshape(4, 2)
    value, grad = dist.value_and_grad(loss)(w, x)
    want_value, want_grad = fg.value_and_grad(loss)(w, x)
    np.testing.assert_allclose(value, want_value, rtol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-15)
    (value, aux), grad = fg.jit(dist.value_and_grad(lambda w, x: (loss(w, x), x.sum()),
                                                    has_aux=True))(w, x)
    assert float(aux) == 28.0 and np.allclose(grad, want_grad)


def test_synced_batch_norm_in_one_process_is_batch_norm():
    x = np.random.default_rng(0).normal(size=(6, 3, 2))
    plain, synced = nn.BatchNorm(3), nn.BatchNorm(3, sync=True)
    assert repr(synced) == "BatchNorm(3, sync=True)"
    params, state = plain.init(fg.random.key(0))

    def loss(module):
        return lambda p, x: fnp.sum(module.apply(p, state, x, train=True)[0] ** 3)
    for a, b in zip(fg.tree.leaves(plain.apply(params, state, x, train=True)),
                    fg.tree.leaves(synced.apply(params, state, x, train=True))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(fg.tree.leaves(fg.grad(loss(plain), argnums=(0, 1))(params, x)),
                    fg.tree.leaves(fg.grad(loss(synced), argnums=(0, 1))(params, x))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="sync must be True"):
        nn.BatchNorm(3, sync="yes")


@pytest.mark.parametrize("call, error, message", [
    (lambda: dist.allreduce(np.ones(2), op="prod"), ValueError, "op must be one of"),
    (lambda: dist.allreduce(np.arange(3), op="mean"), TypeError, "needs floating leaves"),
    (lambda: dist.allreduce(np.ones(2, complex), op="max"), TypeError, "no order"),
    (lambda: dist.allreduce(["text"]), TypeError, "leaf of type str"),
    (lambda: dist.allreduce(np.ones(2, bool)), TypeError, "sum of booleans"),
    (lambda: dist.reduce(np.ones(2, bool)), TypeError, "sum of booleans"),
    (lambda: dist.broadcast(np.ones(2), root=1), ValueError, "root must be a rank"),
    (lambda: dist.reduce(np.ones(2), root=1.0), TypeError, "root must be a Python int"),
    (lambda: dist.reduce_scatter(np.ones((2, 3))), ValueError, "leading axis of length"),
    (lambda: dist.shard(np.ones(())), ValueError, "divisible by size"),
    (lambda: dist.size(comm="world"), TypeError, "comm must be None"),
])
def test_bad_arguments_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_mpi_launch_without_mpi4py_is_a_clear_error():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from funcgrad import distributed as dist\n"
            "try:\n    dist.size()\nexcept ImportError as error:\n    print(error)\n")
    env = dict(os.environ, FUNCGRAD_MPI="1",
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert "mpi4py is not installed: pip install 'funcgrad[mpi]'" in done.stdout, done.stderr
