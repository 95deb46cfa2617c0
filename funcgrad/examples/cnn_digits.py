"""Train a small CNN on scikit-learn's digits, with a jitted train step.

    python -m funcgrad.examples.cnn_digits [--epochs 15] [--seed 0]

(scikit-learn is an optional extra: ``pip install "funcgrad[examples]"``.) The 8x8 digits
(1797 images, 10 classes) are split 80/20 into train and test sets, stratified, as in
``train_digits``; here the images keep their shape, ``(N, 1, 8, 8)``, scaled to ``[0, 1]``.
The model,

    Conv(1, 16, 3, padding=1) -> BatchNorm(16) -> relu -> MaxPool(2)     # 16 x 4 x 4
    Conv(16, 32, 3, padding=1) -> BatchNorm(32) -> relu -> MaxPool(2)    # 32 x 2 x 2
    Flatten -> Dropout(0.3) -> Linear(128, 10)

(the convolutions before BatchNorm have no bias: BatchNorm subtracts it again), is trained
with Adam (lr 3e-3 with a cosine decay to 0 over the run, batches of 64) on the softmax
cross-entropy. One training step (forward
in ``train=True`` mode, ``value_and_grad(has_aux=True)``, the Adam update) is one ``fg.jit``
function; BatchNorm's running statistics come back as the new state, and a fresh key per
step drives Dropout. Each epoch ends with a test-set evaluation in ``train=False`` mode
(running statistics, no dropout), shown on the progress bar. It ends by printing
``test accuracy: 0.9xxx``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import funcgrad as fg
from funcgrad import nn

from .progress import ProgressBar
from .train_digits import accuracy, make_train_step

CLASSES = 10


def load_data(seed: int = 0, test_fraction: float = 0.2) -> dict:
    """The digits as float32 images ``(N, 1, 8, 8)`` in ``[0, 1]`` and int64 labels, split
    into train and test sets (stratified)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn "
                         '(or pip install "funcgrad[examples]")') from None
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=test_fraction, random_state=seed,
        stratify=digits.target)
    return {"x_train": x_train, "y_train": y_train.astype(np.int64), "x_test": x_test,
            "y_test": y_test.astype(np.int64)}


def build_model(channels: tuple[int, int] = (16, 32), dropout: float = 0.3) -> nn.Sequential:
    f32 = np.float32
    first, second = channels
    return nn.Sequential([
        nn.Conv(1, first, 3, padding=1, bias=False, dtype=f32), nn.BatchNorm(first, dtype=f32),
        nn.relu, nn.MaxPool(2),
        nn.Conv(first, second, 3, padding=1, bias=False, dtype=f32),
        nn.BatchNorm(second, dtype=f32), nn.relu, nn.MaxPool(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(second * 2 * 2, CLASSES, dtype=f32)])


def train(epochs: int = 15, batch_size: int = 64, learning_rate: float = 3e-3, seed: int = 0,
          data: dict | None = None, progress: bool = True, stream=None,
          max_steps: int | None = None) -> dict:
    """Train the model and return ``{"test_accuracy", "train_accuracy", "losses", "params",
    "state", "seconds", "seconds_per_epoch"}``; ``losses`` is the mean training loss of each
    epoch. ``max_steps`` stops early (for quick checks)."""
    data = load_data(seed) if data is None else data
    x_train, y_train = data["x_train"], data["y_train"]
    model = build_model()
    key, init_key = fg.random.split(fg.random.key(seed))
    params, state = model.init(init_key)
    batches = len(x_train) // batch_size   # full batches only: one shape, one program
    # The rate decays to 0 over the run (a cosine), so the last epochs settle.
    optimizer = fg.optim.adam(fg.optim.cosine_decay(learning_rate, epochs * batches))
    opt_state = optimizer.init(params)
    train_step = make_train_step(model, optimizer)
    # Native code before the first step, so that every step runs the same code (see
    # train_digits.train).
    train_step.compile(params, state, opt_state, x_train[:batch_size], y_train[:batch_size],
                       key)
    bar = ProgressBar(epochs, stream) if progress else None
    start = time.perf_counter()
    losses, epoch_seconds, test_accuracy, steps = [], [], float("nan"), 0
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        key, shuffle_key = fg.random.split(key)
        order = fg.random.permutation(shuffle_key, len(x_train))
        total, done = 0.0, 0
        for batch in range(batches):
            if max_steps is not None and steps >= max_steps:
                break
            key, step_key = fg.random.split(key)
            rows = order[batch * batch_size:(batch + 1) * batch_size]
            params, state, opt_state, loss = train_step(params, state, opt_state, x_train[rows],
                                                        y_train[rows], step_key)
            total, done, steps = total + float(loss), done + 1, steps + 1
        epoch_seconds.append(time.perf_counter() - epoch_start)
        losses.append(total / max(done, 1))
        test_accuracy = accuracy(model, params, state, data["x_test"], data["y_test"])
        if bar is not None:
            bar.update(epoch, loss=losses[-1], test_acc=test_accuracy)
    return {"test_accuracy": test_accuracy, "losses": losses, "params": params, "state": state,
            "train_accuracy": accuracy(model, params, state, x_train, y_train),
            "seconds": time.perf_counter() - start,
            "seconds_per_epoch": float(np.median(epoch_seconds))}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_data(args.seed)
    print(f"digits: {len(data['x_train'])} training and {len(data['x_test'])} test images "
          f"(1 x 8 x 8); model: {build_model()}")
    result = train(args.epochs, args.batch_size, args.lr, args.seed, data=data)
    print(f"trained {args.epochs} epochs in {result['seconds']:.1f} s "
          f"({result['seconds_per_epoch'] * 1e3:.0f} ms an epoch); "
          f"train accuracy: {result['train_accuracy']:.4f}")
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    return result


if __name__ == "__main__":
    main()
