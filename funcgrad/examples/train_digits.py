"""Train an MLP with BatchNorm and Dropout on scikit-learn's digits, with a jitted train step.

    python -m funcgrad.examples.train_digits [--epochs 30] [--seed 0]

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
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import funcgrad as fg
from funcgrad import nn

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


def build_model(hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    f32 = np.float32
    return nn.Sequential([nn.Linear(FEATURES, hidden, bias=False, dtype=f32),
                          nn.BatchNorm(hidden, dtype=f32), nn.relu, nn.Dropout(dropout),
                          nn.Linear(hidden, CLASSES, dtype=f32)])


def make_train_step(model, optimizer, jit: bool = True):
    """The training step ``(params, state, opt_state, x, y, key) -> (params, state, opt_state,
    loss)``, jitted unless ``jit=False``."""
    def loss_fn(params, state, x, y, key):
        logits, state = model.apply(params, state, x, train=True, key=key)
        return nn.cross_entropy(logits, y), state

    def train_step(params, state, opt_state, x, y, key):
        (loss, state), grads = fg.value_and_grad(loss_fn, has_aux=True)(params, state, x, y,
                                                                         key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), state, opt_state, loss

    return fg.jit(train_step) if jit else train_step


def accuracy(model, params, state, x, y) -> float:
    """The fraction of ``x`` classified as ``y`` in evaluation mode (running statistics, no
    dropout)."""
    logits, _ = model.apply(params, state, x, train=False)
    return float(np.mean(np.argmax(logits, axis=1) == y))


class ProgressBar:
    """A one-line text progress bar, redrawn in place on a terminal (one line per update
    elsewhere, so logs stay readable)."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.width = total, width
        self.stream = sys.stdout if stream is None else stream
        self.in_place = getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()

    def update(self, done: int, **metrics) -> None:
        filled = round(self.width * done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        shown = "  ".join(f"{name.replace('_', ' ')} {value:.4f}"
                          for name, value in metrics.items())
        line = (f"epoch {done:>{len(str(self.total))}}/{self.total} [{bar}]  {shown}  "
                f"{time.perf_counter() - self.start:.1f}s")
        if self.in_place:
            self.stream.write("\r" + line + ("\n" if done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def train(epochs: int = 30, batch_size: int = 64, learning_rate: float = 3e-3, seed: int = 0,
          hidden: int = 256, dropout: float = 0.5, data: dict | None = None,
          progress: bool = True, stream=None) -> dict:
    """Train the model and return ``{"test_accuracy", "train_accuracy", "losses", "params",
    "state", "seconds"}``; ``losses`` is the mean training loss of each epoch."""
    data = load_data(seed) if data is None else data
    x_train, y_train = data["x_train"], data["y_train"]
    model = build_model(hidden, dropout)
    key, init_key = fg.random.split(fg.random.key(seed))
    params, state = model.init(init_key)
    optimizer = fg.optim.adam(learning_rate)
    opt_state = optimizer.init(params)
    train_step = make_train_step(model, optimizer)
    bar = ProgressBar(epochs, stream) if progress else None
    start = time.perf_counter()
    losses, test_accuracy = [], float("nan")
    batches = len(x_train) // batch_size   # full batches only: one shape, one compiled program
    # Wait for native code before the first step: the tiered first calls would run in the
    # interpreter, whose last-bit differences (NumPy's libm and summation order against the
    # compiled kernels') would make the run depend on how fast numba compiles.
    train_step.compile(params, state, opt_state, x_train[:batch_size], y_train[:batch_size],
                       key)
    for epoch in range(1, epochs + 1):
        key, shuffle_key = fg.random.split(key)
        order = fg.random.permutation(shuffle_key, len(x_train))
        total = 0.0
        for batch in range(batches):
            key, step_key = fg.random.split(key)
            rows = order[batch * batch_size:(batch + 1) * batch_size]
            params, state, opt_state, loss = train_step(params, state, opt_state, x_train[rows],
                                                        y_train[rows], step_key)
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
    args = parser.parse_args(argv)
    data = load_data(args.seed)
    print(f"digits: {len(data['x_train'])} training and {len(data['x_test'])} test images; "
          f"model: {build_model()}")
    result = train(args.epochs, args.batch_size, args.lr, args.seed, data=data)
    print(f"trained {args.epochs} epochs in {result['seconds']:.1f} s; "
          f"train accuracy: {result['train_accuracy']:.4f}")
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    return result


if __name__ == "__main__":
    main()
