"""``fg.optim``: optimisers as pairs of pure functions over pytrees (optax style).

``opt = fg.optim.adam(1e-3)``; ``opt_state = opt.init(params)``;
``updates, opt_state = opt.update(grads, opt_state, params)``;
``params = fg.optim.apply_updates(params, updates)``. Nothing is mutated, so a whole training
step (gradients, update, new parameters) can go under ``fg.jit``. The numbers follow
``torch.optim`` (``SGD``, ``Adam``, ``AdamW`` with their defaults). ``lr`` may be a number or
a schedule: a function of the step count (1 on the first update) that returns the rate.

>>> import numpy as np
>>> import funcgrad as fg
>>> params = {"w": np.array([1.0, -2.0])}
>>> opt = fg.optim.sgd(0.1)
>>> opt_state = opt.init(params)
>>> grads = {"w": np.array([0.5, 0.5])}
>>> updates, opt_state = opt.update(grads, opt_state, params)
>>> fg.optim.apply_updates(params, updates)
{'w': array([ 0.95, -2.05])}
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from . import numpy as fnp
from . import tree

__all__ = ["Optimizer", "sgd", "adam", "adamw", "apply_updates"]


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optimiser: ``init(params) -> opt_state`` and
    ``update(grads, opt_state, params=None) -> (updates, opt_state)``."""

    name: str
    init: Callable
    update: Callable

    def __repr__(self):
        return f"fg.optim.{self.name}"


def _zeros_like(leaf):
    return np.zeros(np.shape(leaf), getattr(leaf, "dtype", np.float64))


def _like(value, leaf):
    """A float64 scalar (a number, or one computed from the traced step count) in ``leaf``'s
    dtype, so that float32 parameters get float32 updates."""
    return fnp.astype(value, leaf.dtype)


def _rate(lr, count):
    return lr(count) if callable(lr) else lr


def _check_state(name: str, opt_state, keys) -> None:
    if not isinstance(opt_state, dict) or set(opt_state) != set(keys):
        got = f"a dict with keys {sorted(opt_state)}" if isinstance(opt_state, dict) else \
            f"a {type(opt_state).__name__}"
        raise ValueError(f"fg.optim.{name}: opt_state must be a dict with keys {sorted(keys)} "
                         f"(as {name}(...).init(params) returns it), got {got}")


def _check_rate(name: str, lr) -> None:
    if not callable(lr) and not lr >= 0:
        raise ValueError(f"fg.optim.{name}: the learning rate must be >= 0, got {lr}")


def sgd(lr, momentum: float = 0.0, nesterov: bool = False) -> Optimizer:
    """Stochastic gradient descent, with optional (Nesterov) momentum, as ``torch.optim.SGD``:
    ``buf <- momentum buf + g``; the step is ``-lr buf`` (``-lr (g + momentum buf)`` with
    ``nesterov``).

    >>> import numpy as np
    >>> opt = sgd(0.1, momentum=0.9)
    >>> state = opt.init(np.zeros(1))
    >>> for _ in range(2):
    ...     updates, state = opt.update(np.ones(1), state)
    >>> updates   # -0.1 * (0.9 * 1 + 1)
    array([-0.19])
    """
    _check_rate("sgd", lr)
    if momentum < 0:
        raise ValueError(f"fg.optim.sgd: momentum must be >= 0, got {momentum}")
    if nesterov and momentum == 0:
        raise ValueError("fg.optim.sgd: nesterov=True needs a momentum > 0")
    keys = ("count", "momentum")

    def init(params):
        return {"count": np.zeros((), np.int64),
                "momentum": tree.map(_zeros_like, params) if momentum else {}}

    def update(grads, opt_state, params=None):
        _check_state("sgd", opt_state, keys)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        if not momentum:
            return tree.map(lambda g: -_like(step, g) * g, grads), {"count": count,
                                                                    "momentum": {}}
        buffers = tree.map(lambda b, g: momentum * b + g, opt_state["momentum"], grads)
        if nesterov:
            updates = tree.map(lambda b, g: -_like(step, g) * (g + momentum * b), buffers, grads)
        else:
            updates = tree.map(lambda b: -_like(step, b) * b, buffers)
        return updates, {"count": count, "momentum": buffers}

    return Optimizer("sgd", init, update)


def _adam(name: str, lr, b1: float, b2: float, eps: float, weight_decay: float) -> Optimizer:
    _check_rate(name, lr)
    for label, beta in (("b1", b1), ("b2", b2)):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"fg.optim.{name}: {label} must be in [0, 1), got {beta}")
    keys = ("count", "mu", "nu")

    def init(params):
        return {"count": np.zeros((), np.int64), "mu": tree.map(_zeros_like, params),
                "nu": tree.map(_zeros_like, params)}

    def update(grads, opt_state, params=None):
        _check_state(name, opt_state, keys)
        if weight_decay and params is None:
            raise ValueError(f"fg.optim.{name}: update(grads, opt_state, params) needs params "
                             "for the weight decay")
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        mu = tree.map(lambda m, g: b1 * m + (1.0 - b1) * g, opt_state["mu"], grads)
        nu = tree.map(lambda v, g: b2 * v + (1.0 - b2) * (g * g), opt_state["nu"], grads)
        # torch.optim.Adam's arithmetic: step lr / (1 - b1^t) times m / (sqrt(v) /
        # sqrt(1 - b2^t) + eps).
        step_size = step / (1.0 - fnp.power(b1, count))
        correction = fnp.sqrt(1.0 - fnp.power(b2, count))

        def adam_step(m, v):
            return -_like(step_size, m) * m / (fnp.sqrt(v) / _like(correction, v) + eps)

        updates = tree.map(adam_step, mu, nu)
        if weight_decay:   # decoupled (AdamW): p <- p - lr wd p, beside the Adam step
            updates = tree.map(lambda u, p: u - _like(step * weight_decay, p) * p,
                               updates, params)
        return updates, {"count": count, "mu": mu, "nu": nu}

    return Optimizer(name, init, update)


def adam(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba), with ``torch.optim.Adam``'s arithmetic and bias corrections.

    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> updates, state = opt.update(np.array([3.0]), opt.init(np.zeros(1)))
    >>> updates.round(6)   # the first step is -lr * sign(g)
    array([-0.1])
    """
    return _adam("adam", lr, b1, b2, eps, 0.0)


def adamw(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 1e-2) -> Optimizer:
    """AdamW: Adam with decoupled weight decay ``-lr weight_decay p`` (``torch.optim.AdamW``).

    >>> import numpy as np
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = np.array([2.0])
    >>> updates, state = opt.update(np.array([3.0]), opt.init(p), p)
    >>> updates.round(6)   # -0.1 (Adam's first step) - 0.1 * 0.5 * 2
    array([-0.2])
    """
    return _adam("adamw", lr, b1, b2, eps, float(weight_decay))


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf, each parameter keeping its dtype.

    >>> import numpy as np
    >>> apply_updates({"b": np.float32([1.0])}, {"b": np.float32([0.5])})["b"].dtype
    dtype('float32')
    """
    def add(p, u):
        out = p + u
        dtype = getattr(p, "dtype", None)
        return fnp.astype(out, dtype) if dtype is not None and out.dtype != dtype else out
    return tree.map(add, params, updates)
