"""Train an MLP with BatchNorm and Dropout on scikit-learn's digits, with a jitted train step.

    python -m funcgrad.examples.train_digits [--epochs 30] [--seed 0]
    mpiexec -n 2 python -m funcgrad.examples.train_digits --distributed

(scikit-learn is an optional extra: ``pip install "funcgrad[examples]"``.) The 8x8 digits
(1797 images, 10 classes) are split 80/20 into train and test sets, stratified; the features
are standardised with the training set's statistics. The model,

    Linear(64, 256, bias=False) -> BatchNorm(256) -> relu -> Dropout(0.5) -> Linear(256, 10)

(no bias before BatchNorm: BatchNorm subtracts it again, so its gradient is zero), is
trained with Adam (lr 3e-3, batches of 64, 30 epochs) on the softmax cross-entropy. One
training step -- forward pass in ``train=True`` mode (batch statistics, dropout on),
gradients with ``value_and_grad(has_aux=True)``, the Adam update -- is one ``fg.jit``
function of ``(params, state, opt_state, x, y, key)``: BatchNorm's running statistics come
back as the new ``state`` (the aux output, never differentiated), and a fresh key per step
drives Dropout. Evaluation is ``model.apply(..., train=False)``: running statistics, no
dropout. The step is compiled before training starts, so every step runs the same native
code and a run is reproducible (see ``train``).
It ends by printing ``test accuracy: 0.9xxx``.

With ``--distributed`` (under an MPI launcher, ``pip install "funcgrad[mpi]"``) the same
model trains data-parallel (``fg.distributed``): every rank draws the same batches, takes its
``shard`` of each (64 / ranks images), and the step averages the gradients over the ranks with
one ``allreduce``; BatchNorm pools its statistics over the ranks (``sync=True``), the
parameters start from rank 0's, and each rank's Dropout key is the step's key folded with its
rank. Rank 0 alone prints.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import funcgrad as fg
from funcgrad import nn
from funcgrad.examples.progress import ProgressBar

FEATURES, CLASSES = 64, 10


def load_data(seed: int = 0, test_fraction: float = 0.2) -> dict:
    """The digits split into train and test sets: float32 features (standardised with the
    training statistics), int64 labels."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn "
                         '(or pip install "funcgrad[examples]")') from None
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=test_fraction, random_state=seed,
        stratify=digits.target)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)   # pixels that are blank in every training image

    def standardise(x):
        return ((x - mean) / std).astype(np.float32)

    return {"x_train": standardise(x_train), "y_train": y_train.astype(np.int64),
            "x_test": standardise(x_test), "y_test": y_test.astype(np.int64)}


def build_model(hidden: int = 256, dropout: float = 0.5,
                sync_batch_norm: bool = False) -> nn.Sequential:
    f32 = np.float32
    return nn.Sequential([nn.Linear(FEATURES, hidden, bias=False, dtype=f32),
                          nn.BatchNorm(hidden, dtype=f32, sync=sync_batch_norm), nn.relu,
                          nn.Dropout(dropout), nn.Linear(hidden, CLASSES, dtype=f32)])


def make_train_step(model, optimizer, jit: bool = True, distributed: bool = False):
    """The training step ``(params, state, opt_state, x, y, key) -> (params, state, opt_state,
    loss)``, jitted unless ``jit=False``. ``distributed``: ``x`` and ``y`` are this rank's
    shard, and the loss and gradients are averaged over the ranks (``fg.distributed``)."""
    def loss_fn(params, state, x, y, key):
        logits, state = model.apply(params, state, x, train=True, key=key)
        return nn.cross_entropy(logits, y), state

    value_and_grad = fg.distributed.value_and_grad if distributed else fg.value_and_grad

    def train_step(params, state, opt_state, x, y, key):
        (loss, state), grads = value_and_grad(loss_fn, has_aux=True)(params, state, x, y, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), state, opt_state, loss

    return fg.jit(train_step) if jit else train_step


def share_cores() -> None:
    """Give each rank of this machine its share of the cores for BLAS (threadpoolctl, which
    scikit-learn brings): ranks that each start a full set of BLAS threads spin against each
    other and against MPI's polling (2 ranks on 2 cores: 92 ms a step, against 1.9 ms with
    one thread each). ``OMP_NUM_THREADS`` set by the user is left alone."""
    mpi = fg.distributed.communicator().mpi
    if mpi is None or "OMP_NUM_THREADS" in os.environ or "OPENBLAS_NUM_THREADS" in os.environ:
        return
    from mpi4py import MPI
    node = mpi.Split_type(MPI.COMM_TYPE_SHARED)
    on_this_machine = node.Get_size()
    node.Free()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(max(1, (os.cpu_count() or 1) // on_this_machine), user_api="blas")


def accuracy(model, params, state, x, y) -> float:
    """The fraction of ``x`` classified as ``y`` in evaluation mode (running statistics, no
    dropout)."""
    logits, _ = model.apply(params, state, x, train=False)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train(epochs: int = 30, batch_size: int = 64, learning_rate: float = 3e-3, seed: int = 0,
          hidden: int = 256, dropout: float = 0.5, data: dict | None = None,
          progress: bool = True, stream=None, distributed: bool = False) -> dict:
    """Train the model and return ``{"test_accuracy", "train_accuracy", "losses", "params",
    "state", "seconds"}``; ``losses`` is the mean training loss of each epoch.
    ``distributed``: data-parallel over the ranks of ``fg.distributed`` (see the module)."""
    data = load_data(seed) if data is None else data
    x_train, y_train = data["x_train"], data["y_train"]
    dist = fg.distributed
    if distributed:
        share_cores()
    if distributed and batch_size % dist.size():
        raise SystemExit(f"--distributed: the batch size ({batch_size}) must be a multiple of "
                         f"the number of ranks ({dist.size()})")
    model = build_model(hidden, dropout, sync_batch_norm=distributed)
    key, init_key = fg.random.split(fg.random.key(seed))
    params, state = model.init(init_key)
    if distributed:   # every rank starts from rank 0's parameters
        params, state = dist.broadcast((params, state), root=0)
    optimizer = fg.optim.adam(learning_rate)
    opt_state = optimizer.init(params)
    train_step = make_train_step(model, optimizer, distributed=distributed)
    rank = dist.rank() if distributed else 0

    def local(rows, step_key):
        """This rank's images and labels of the batch ``rows``, and its Dropout key."""
        if not distributed:
            return x_train[rows], y_train[rows], step_key
        return (*dist.shard((x_train[rows], y_train[rows])), fg.random.fold_in(step_key, rank))

    bar = ProgressBar(epochs, stream) if progress and rank == 0 else None
    start = time.perf_counter()
    losses, test_accuracy = [], float("nan")
    batches = len(x_train) // batch_size   # full batches only: one shape, one compiled program
    # Wait for native code before the first step: the tiered first calls would run in the
    # interpreter, whose last-bit differences (NumPy's libm and summation order against the
    # compiled kernels') would make the run depend on how fast numba compiles.
    train_step.compile(params, state, opt_state, *local(np.arange(batch_size), key))
    for epoch in range(1, epochs + 1):
        key, shuffle_key = fg.random.split(key)
        order = fg.random.permutation(shuffle_key, len(x_train))
        total = 0.0
        for batch in range(batches):
            key, step_key = fg.random.split(key)
            rows = order[batch * batch_size:(batch + 1) * batch_size]
            params, state, opt_state, loss = train_step(params, state, opt_state,
                                                        *local(rows, step_key))
            total += float(loss)
        losses.append(total / batches)
        test_accuracy = accuracy(model, params, state, data["x_test"], data["y_test"])
        if bar is not None:
            bar.update(epoch, loss=losses[-1], test_acc=test_accuracy)
    return {"test_accuracy": test_accuracy, "losses": losses, "params": params, "state": state,
            "train_accuracy": accuracy(model, params, state, x_train, y_train),
            "seconds": time.perf_counter() - start}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over MPI ranks: mpiexec -n 2 python -m "
                             "funcgrad.examples.train_digits --distributed")
    args = parser.parse_args(argv)
    data = load_data(args.seed)
    ranks = fg.distributed.size() if args.distributed else 1
    say = print if not args.distributed or fg.distributed.rank() == 0 else _silent
    say(f"digits: {len(data['x_train'])} training and {len(data['x_test'])} test images; "
        f"model: {build_model(sync_batch_norm=args.distributed)}"
        + (f"; {ranks} ranks, {args.batch_size // ranks} images each a step"
           if args.distributed else ""))
    result = train(args.epochs, args.batch_size, args.lr, args.seed, data=data,
                   distributed=args.distributed)
    say(f"trained {args.epochs} epochs in {result['seconds']:.1f} s; "
        f"train accuracy: {result['train_accuracy']:.4f}")
    say(f"test accuracy: {result['test_accuracy']:.4f}")
    return result


def _silent(*args, **kwargs) -> None:
    """``print`` on ranks other than 0: nothing."""


if __name__ == "__main__":
    main()
