"""What each rank runs for tests/test_distributed.py: ``mpiexec -n N python
tests/distributed_ranks.py OUT_DIR [CHECK ...]``.

Every check runs on every rank, in the same order (each holds collectives); each rank writes
``OUT_DIR/rank<r>.json``, a dict from check name to ``"ok"`` or the failure's text. Inputs are
functions of the rank, so every rank can also compute the single-process equivalent (the
stacked inputs of every rank, through ordinary funcgrad.numpy) and compare against it. No
check waits for numba except ``jit_compiled``, whose kernel is one multiply.

``fail_on_rank_1``: rank 1 raises before an allreduce that the other ranks enter.
"""
from __future__ import annotations

import json
import os
import sys
import traceback

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad import nn

RANK, SIZE = dist.rank(), dist.size()
SHAPE = (2, 3)


def inputs(rank: int, shape=SHAPE, seed: int = 0, dtype=np.float64):
    """Rank ``rank``'s input: distinct values (no ties across ranks)."""
    rng = np.random.default_rng(1000 * seed + rank)
    return (rng.uniform(-1.0, 1.0, shape) + 3.0 * rank).astype(dtype)


def stacked(shape=SHAPE, seed: int = 0, dtype=np.float64):
    return np.stack([inputs(r, shape, seed, dtype) for r in range(SIZE)])


def close(got, want, what: str, rtol=1e-12, atol=1e-12):
    got_leaves, want_leaves = fg.tree.leaves(got), fg.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), f"{what}: {len(got_leaves)} leaves"
    for a, b in zip(got_leaves, want_leaves):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, \
            f"{what}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


# ------------------------------------------------------------------------------- values

def check_values():
    x, every = inputs(RANK), stacked()
    close(dist.allreduce(x), every.sum(0), "sum")
    close(dist.allreduce(x, "mean"), every.mean(0), "mean")
    close(dist.allreduce(x, "max"), every.max(0), "max")
    close(dist.allreduce(x, "min"), every.min(0), "min")
    close(dist.allgather(x), every, "allgather")
    blocks = np.stack([inputs(r, (SIZE,) + SHAPE, seed=1) for r in range(SIZE)])
    close(dist.reduce_scatter(inputs(RANK, (SIZE,) + SHAPE, seed=1)), blocks.sum(0)[RANK],
          "reduce_scatter")
    root = SIZE - 1
    close(dist.broadcast(x, root=root), every[root], "broadcast")
    close(dist.reduce(x, root=1), every.sum(0) if RANK == 1 else np.zeros(SHAPE), "reduce")


def check_pytrees_and_dtypes():
    """A pytree of mixed dtypes (one message per dtype), 0-d leaves, float16 and bool."""
    tree = {"w": inputs(RANK), "b": np.float32(RANK + 0.5), "n": np.int64(RANK),
            "h": inputs(RANK, (3,), dtype=np.float16), "m": inputs(RANK, (2,), dtype=np.float32)}
    out = dist.allreduce(tree, "sum")
    close(out["w"], stacked().sum(0), "w")
    close(out["b"], np.float32(sum(r + 0.5 for r in range(SIZE))), "b")
    close(out["n"], np.int64(sum(range(SIZE))), "n")
    close(out["h"], stacked((3,), dtype=np.float16).astype(np.float32).sum(0)
          .astype(np.float16), "h", rtol=1e-3)
    close(out["m"], stacked((2,), dtype=np.float32).sum(0), "m", rtol=1e-6)
    flags = dist.allreduce(np.array([RANK == 0, True]), "max")
    close(flags, np.array([True, True]), "bool max")
    close(dist.allreduce(np.array([RANK == 0, True]), "min"), np.array([SIZE == 1, True]),
          "bool min")
    close(dist.allgather(np.array([RANK == 1])), np.arange(SIZE)[:, None] == 1, "bool gather")
    close(dist.broadcast(np.array([RANK == 0]), root=0), np.array([True]), "bool broadcast")
    gathered = dist.allgather({"a": np.float32(RANK), "b": np.arange(2) + RANK})
    close(gathered["a"], np.arange(SIZE, dtype=np.float32), "gather 0-d")
    close(gathered["b"], np.arange(2) + np.arange(SIZE)[:, None], "gather ints")
    state = dist.broadcast({"p": inputs(RANK), "step": np.int64(RANK)}, root=0)
    close(state, {"p": inputs(0), "step": np.int64(0)}, "broadcast tree")


def check_same_result_on_every_rank():
    """Every rank gets the same bits from a float allreduce (parameters stay identical)."""
    value = dist.allreduce(inputs(RANK, (1000,), seed=2), "mean")
    every = dist.allgather(value)
    assert all(np.array_equal(every[0], row) for row in every), "ranks differ"


def check_jit_interpreted():
    x, every = inputs(RANK), stacked()

    def f(x):
        total, biggest = dist.allreduce(fnp.sin(x), "sum"), dist.allreduce(x, "max")
        return total * biggest, dist.allgather(x)[SIZE - 1]

    product, last = fg.jit(f)(x)
    close(product, np.sin(every).sum(0) * every.max(0), "jit sum*max")
    close(last, every[-1], "jit allgather")

    def loop(x):   # a collective in a loop body, each step
        return fg.fori_loop(0, 3, lambda i, c: dist.allreduce(c, "mean") + 1.0, x)

    close(fg.jit(loop)(x), every.mean(0) + 3.0, "jit fori_loop")


def check_jit_compiled():
    x, every = inputs(RANK), stacked()
    f = fg.jit(lambda x: dist.allreduce(x * 2.0, "sum"))
    f.compile(x)
    close(f(x), 2.0 * every.sum(0), "compiled")
    close(f(x + 1.0), 2.0 * (every + 1.0).sum(0), "compiled, second call")


def check_vmap():
    xs = inputs(RANK, (4,) + SHAPE, seed=3)                      # a batch of 4 a rank
    every = stacked((4,) + SHAPE, seed=3)
    close(fg.vmap(lambda x: dist.allreduce(x, "max"))(xs), every.max(0), "vmap allreduce")
    close(fg.vmap(dist.allgather, in_axes=1, out_axes=0)(xs),
          np.moveaxis(every, 2, 0), "vmap allgather")
    blocks = inputs(RANK, (SIZE, 4, 3), seed=4)
    every_blocks = stacked((SIZE, 4, 3), seed=4)
    close(fg.vmap(dist.reduce_scatter, in_axes=1)(blocks),
          every_blocks.sum(0)[RANK], "vmap reduce_scatter")


# --------------------------------------------------------------------------- derivatives
# Rank r computes f_r(x_r) = sum(sin(C(x_r)) * (r + 1)); the single-process equivalent is
# F(X) = sum over r of the same with C's output for rank r computed from the stacked X. Each
# rank's gradient must be row r of grad F, and the ranks' tangents must add up to F's.

def _weight(r):
    return float(r + 1)


COLLECTIVES = {
    # name: (what rank r computes from its x, what the stacked X gives rank r)
    "allreduce_sum": (lambda x: dist.allreduce(x, "sum"), lambda X, r: fnp.sum(X, axis=0)),
    "allreduce_mean": (lambda x: dist.allreduce(x, "mean"), lambda X, r: fnp.mean(X, axis=0)),
    "allreduce_max": (lambda x: dist.allreduce(x, "max"), lambda X, r: fnp.max(X, axis=0)),
    "allreduce_min": (lambda x: dist.allreduce(x, "min"), lambda X, r: fnp.min(X, axis=0)),
    "allgather": (dist.allgather, lambda X, r: X),
    "broadcast": (lambda x: dist.broadcast(x, root=1), lambda X, r: X[1]),
    "reduce": (lambda x: dist.reduce(x, root=1),
               lambda X, r: fnp.sum(X, axis=0) if r == 1 else 0.0 * X[0]),
}


def _local(collective):
    return lambda x: fnp.sum(fnp.sin(collective(x)) * _weight(RANK))


def _total(reference):
    return lambda X: sum(fnp.sum(fnp.sin(reference(X, r)) * _weight(r)) for r in range(SIZE))


def _check_derivatives(local, total, x, every, what):
    close(fg.grad(local)(x), fg.grad(total)(every)[RANK], f"{what}: grad")
    direction, directions = inputs(RANK, np.shape(x), seed=7), stacked(np.shape(x), seed=7)
    _, tangent = fg.jvp(local, (x,), (direction,))
    close(dist.allreduce(tangent), fg.jvp(total, (every,), (directions,))[1], f"{what}: jvp")
    # Second order: a Hessian-vector product, forward over reverse.
    _, hvp = fg.jvp(fg.grad(local), (x,), (direction,))
    close(hvp, fg.jvp(fg.grad(total), (every,), (directions,))[1][RANK], f"{what}: hvp")
    close(fg.jit(fg.grad(local))(x), fg.grad(total)(every)[RANK], f"{what}: jit(grad)")


def check_derivatives():
    x, every = inputs(RANK), stacked()
    for name, (collective, reference) in COLLECTIVES.items():
        _check_derivatives(_local(collective), _total(reference), x, every, name)
    # reduce_scatter: rank r's input has a leading axis of SIZE blocks.
    xb, blocks = inputs(RANK, (SIZE,) + SHAPE, seed=1), stacked((SIZE,) + SHAPE, seed=1)
    _check_derivatives(_local(dist.reduce_scatter),
                       _total(lambda X, r: fnp.sum(X[:, r], axis=0)), xb, blocks,
                       "reduce_scatter")


def check_max_ties_share_the_gradient():
    x = np.array([1.0, float(RANK)])   # element 0 ties on every rank, element 1 rank SIZE-1
    g = fg.grad(lambda x: fnp.sum(dist.allreduce(x, "max")))(x)
    close(g, np.array([1.0, SIZE if RANK == SIZE - 1 else 0.0]), "ties")


# ------------------------------------------------------------------------------ training

def _model(sync):
    # No bias before BatchNorm: its gradient is rounding noise, which Adam would amplify.
    return nn.Sequential([nn.Linear(5, 8, bias=False), nn.BatchNorm(8, sync=sync), nn.relu,
                          nn.Linear(8, 3)])


def check_training_step():
    """Two Adam steps of data-parallel training on SIZE ranks (BatchNorm pooled over them)
    equal the same steps of one process on the whole batch, to float64 rounding."""
    batch = 4 * SIZE
    rng = np.random.default_rng(11)
    images, labels = rng.normal(size=(2, batch, 5)), rng.integers(0, 3, (2, batch))
    optimizer = fg.optim.adam(1e-2)

    def make_step(model, value_and_grad):
        def loss(params, state, x, y):
            logits, state = model.apply(params, state, x, train=True)
            return nn.cross_entropy(logits, y), state

        def step(params, state, opt_state, x, y):
            (value, state), grads = value_and_grad(loss, has_aux=True)(params, state, x, y)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return fg.optim.apply_updates(params, updates), state, opt_state, value
        return step

    results = {}
    for name, model, value_and_grad, part in (
            ("one process", _model(False), fg.value_and_grad, lambda a: a),
            ("data parallel", _model(True), dist.value_and_grad, dist.shard)):
        params, state = model.init(fg.random.key(RANK if name == "data parallel" else 0))
        params, state = dist.broadcast((params, state), root=0)   # rank 0's everywhere
        opt_state = optimizer.init(params)
        step, losses = make_step(model, value_and_grad), []
        for k in range(2):
            params, state, opt_state, value = step(params, state, opt_state, part(images[k]),
                                                   part(labels[k]))
            losses.append(value)
        results[name] = (params, state, losses)
    close(results["data parallel"], results["one process"], "data parallel vs one process",
          rtol=1e-12, atol=1e-14)
    params = results["data parallel"][0]
    every = dist.allgather(params)
    assert all(np.array_equal(leaf[0], leaf[r]) for leaf in fg.tree.leaves(every)
               for r in range(SIZE)), "parameters differ across ranks"


def check_fail_on_rank_1():
    if RANK == 1:
        raise ValueError("rank one failed on purpose")
    dist.allreduce(np.ones(3))


CHECKS = {name[len("check_"):]: fun for name, fun in globals().items()
          if name.startswith("check_")}


def main(out_dir, names):
    results = {}
    for name in names or [n for n in CHECKS if n != "fail_on_rank_1"]:
        if name == "fail_on_rank_1":
            CHECKS[name]()   # uncaught: the point of this check
            continue
        try:
            CHECKS[name]()
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc()
    with open(os.path.join(out_dir, f"rank{RANK}.json"), "w") as file:
        json.dump({"size": SIZE, "results": results}, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
