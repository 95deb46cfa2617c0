"""``fg.optim``: optimisers as pairs of pure functions over pytrees (optax style).

``opt = fg.optim.adam(1e-3)``; ``opt_state = opt.init(params)``;
``updates, opt_state = opt.update(grads, opt_state, params)``;
``params = fg.optim.apply_updates(params, updates)``. Nothing is mutated, so a whole training
step (gradients, update, new parameters) can go under ``fg.jit``.

* Optimisers: ``sgd rmsprop adagrad adam adamw nadam`` follow ``torch.optim`` (its arithmetic
  and defaults; ``lr`` has no default); ``lamb`` and ``lion``, which torch lacks, follow their
  papers as optax writes them. Weight decay takes a ``mask`` (a pytree of bools of the params'
  structure, or a function of the params returning one): only leaves marked True decay.
* Schedules: ``lr`` may be a number or a function of the step count, ``1`` on the first
  update. ``constant_schedule linear_schedule cosine_decay warmup_cosine_decay
  exponential_decay piecewise_constant`` take optax's arguments and give each update the rate
  optax gives it (optax counts from 0, these from 1: see :func:`linear_schedule`).
* Gradient transformations: ``clip_by_global_norm(max_norm)`` and ``clip(max_delta)`` are
  optimisers too, whose updates are the clipped gradients; ``chain(*transforms)`` applies them
  in order, so ``chain(clip_by_global_norm(1.0), adam(1e-3))`` clips and then steps.

Everything is written with ``funcgrad.numpy`` operations on the (under ``jit``, traced) step
count, and updates keep the dtype of their parameters (float32 stays float32).

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

__all__ = ["Optimizer", "adagrad", "adam", "adamw", "apply_updates", "chain", "clip",
           "clip_by_global_norm", "constant_schedule", "cosine_decay", "exponential_decay",
           "lamb", "linear_schedule", "lion", "nadam", "piecewise_constant", "rmsprop", "sgd",
           "warmup_cosine_decay"]


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optimiser: ``init(params) -> opt_state`` and
    ``update(grads, opt_state, params=None) -> (updates, opt_state)``."""

    name: str
    init: Callable
    update: Callable

    def __repr__(self):
        return f"fg.optim.{self.name}"


# ----------------------------------------------------------------------------------- helpers

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


def _check_grads(name: str, grads, like, what: str, label: str = "grads") -> None:
    """``grads`` must have the structure and leaf shapes of ``like`` (the params, or a state
    tree that ``init(params)`` shaped like them): the error names the first leaf that
    differs."""
    grads_def, like_def = tree.structure(grads), tree.structure(like)
    if grads_def != like_def:
        hint = (" (value_and_grad returns (value, grads): pass the grads alone)"
                if isinstance(grads, tuple) and len(grads) == 2 else "")
        raise ValueError(f"fg.optim.{name}: {label} must have the structure of {what}, got "
                         f"{grads_def!r} for {like_def!r}{hint}")
    grad_leaves, like_leaves = tree.leaves(grads), tree.leaves(like)
    if all(np.shape(g) == np.shape(p) for g, p in zip(grad_leaves, like_leaves)):
        return
    for (path, g), p in zip(tree.leaves_with_path(grads), like_leaves):
        if np.shape(g) != np.shape(p):
            raise ValueError(f"fg.optim.{name}: {label}{tree.path_str(path)} has shape "
                             f"{tuple(np.shape(g))}, but {what} has "
                             f"{tuple(np.shape(p))} there")


_INIT_PARAMS = "the params the state was made for (init(params))"


def _check_rate(name: str, lr) -> None:
    if not callable(lr) and not lr >= 0:
        raise ValueError(f"fg.optim.{name}: the learning rate must be >= 0, got {lr}")


def _check_beta(name: str, label: str, beta: float) -> None:
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"fg.optim.{name}: {label} must be in [0, 1), got {beta}")


def _check_decay(name: str, weight_decay) -> float:
    if not weight_decay >= 0:
        raise ValueError(f"fg.optim.{name}: weight_decay must be >= 0, got {weight_decay}")
    return float(weight_decay)


def _mask_flags(name: str, mask, params, treedef) -> list:
    """The weight-decay mask as one bool per leaf of ``params`` (all True without a mask)."""
    if mask is None:
        return [True] * treedef.num_leaves
    flags = mask(params) if callable(mask) else mask
    flat, mask_def = tree.flatten(flags)
    if mask_def != treedef:
        raise ValueError(f"fg.optim.{name}: mask must be a pytree of bools with the structure "
                         f"of params (or a function of params returning one), got {mask_def!r} "
                         f"for params {treedef!r}")
    for flag in flat:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"fg.optim.{name}: the leaves of mask must be Python bools (True "
                            f"where a parameter decays), got a {type(flag).__name__}; a mask "
                            "function must decide from the structure, shapes or dtypes of "
                            "params, not from their values")
    return [bool(flag) for flag in flat]


def _decayed(name: str, weight_decay: float, mask, values, params, coefficient=None):
    """``value + c p`` leaf by leaf where the mask is True (``value`` elsewhere), with ``c`` the
    weight decay or ``coefficient`` (a number or a traced scalar)."""
    if not weight_decay:
        return values
    if params is None:
        raise ValueError(f"fg.optim.{name}: update(grads, opt_state, params) needs params for "
                         "the weight decay")
    flat, treedef = tree.flatten(values)
    flat_params, params_def = tree.flatten(params)
    if params_def != treedef:
        raise ValueError(f"fg.optim.{name}: params must have the structure of grads: got "
                         f"{params_def!r} for grads {treedef!r}")
    c = weight_decay if coefficient is None else coefficient
    flags = _mask_flags(name, mask, params, treedef)
    return tree.unflatten(treedef, [v + _like(c, p) * p if flag else v
                                    for v, p, flag in zip(flat, flat_params, flags)])


def _flat_together(tree0, *rest):
    """The leaves of ``tree0`` and of each tree of ``rest`` (one structure, as ``tree.map``
    wants it), and that structure: ``(treedef, [leaves0, leaves1, ...])``."""
    flat, treedef = tree.flatten(tree0)
    leaves = [flat]
    for i, other in enumerate(rest, 1):
        other_flat, other_def = tree.flatten(other)
        if other_def != treedef:
            raise ValueError(f"tree.map: tree {i} has a different structure from tree 0:"
                             f"\n  tree 0: {treedef!r}\n  tree {i}: {other_def!r}")
        leaves.append(other_flat)
    return treedef, leaves


def _needs_params(name: str, params) -> None:
    if params is None:
        raise ValueError(f"fg.optim.{name}: update(grads, opt_state, params) needs params")


# -------------------------------------------------------------------------------- optimisers

def sgd(lr, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
        mask=None) -> Optimizer:
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay, as
    ``torch.optim.SGD``: ``g <- g + weight_decay p`` (coupled: the decay goes through the
    momentum), ``buf <- momentum buf + g``; the step is ``-lr buf`` (``-lr (g + momentum buf)``
    with ``nesterov``).

    >>> import numpy as np
    >>> opt = sgd(0.1, momentum=0.9)
    >>> state = opt.init(np.zeros(1))
    >>> for _ in range(2):
    ...     updates, state = opt.update(np.ones(1), state)
    >>> updates   # -0.1 * (0.9 * 1 + 1)
    array([-0.19])
    >>> sgd(0.1, weight_decay=0.5).update(np.ones(1), state, np.full(1, 2.0))[0]  # g + 0.5 p
    array([-0.2])
    """
    _check_rate("sgd", lr)
    if momentum < 0:
        raise ValueError(f"fg.optim.sgd: momentum must be >= 0, got {momentum}")
    if nesterov and momentum == 0:
        raise ValueError("fg.optim.sgd: nesterov=True needs a momentum > 0")
    weight_decay = _check_decay("sgd", weight_decay)
    keys = ("count", "momentum")

    def init(params):
        return {"count": np.zeros((), np.int64),
                "momentum": tree.map(_zeros_like, params) if momentum else {}}

    def update(grads, opt_state, params=None):
        _check_state("sgd", opt_state, keys)
        if momentum:
            _check_grads("sgd", grads, opt_state["momentum"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        grads = _decayed("sgd", weight_decay, mask, grads, params)
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


def rmsprop(lr, decay: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
            momentum: float = 0.0, centered: bool = False, mask=None) -> Optimizer:
    """RMSprop as ``torch.optim.RMSprop`` (its defaults; ``decay`` is torch's ``alpha``):
    ``g <- g + weight_decay p`` (coupled L2), ``v <- decay v + (1 - decay) g^2``,
    ``d = sqrt(v) + eps`` (``sqrt(v - gbar^2) + eps`` with ``centered``, ``gbar`` the running
    mean of ``g``); the step is ``-lr g / d``, or with momentum ``buf <- momentum buf + g / d``
    and ``-lr buf``. (optax's ``rmsprop`` differs: ``decay=0.9`` and ``eps`` inside the root.)

    >>> import numpy as np
    >>> opt = rmsprop(0.01)
    >>> updates, state = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates.round(6)   # -0.01 * 2 / sqrt(0.01 * 4)
    array([-0.1])
    """
    _check_rate("rmsprop", lr)
    _check_beta("rmsprop", "decay", decay)
    if momentum < 0:
        raise ValueError(f"fg.optim.rmsprop: momentum must be >= 0, got {momentum}")
    weight_decay = _check_decay("rmsprop", weight_decay)
    keys = ("count", "nu", "grad_avg", "momentum")

    def init(params):
        return {"count": np.zeros((), np.int64), "nu": tree.map(_zeros_like, params),
                "grad_avg": tree.map(_zeros_like, params) if centered else {},
                "momentum": tree.map(_zeros_like, params) if momentum else {}}

    def update(grads, opt_state, params=None):
        _check_state("rmsprop", opt_state, keys)
        _check_grads("rmsprop", grads, opt_state["nu"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        grads = _decayed("rmsprop", weight_decay, mask, grads, params)
        nu = tree.map(lambda v, g: decay * v + (1.0 - decay) * (g * g), opt_state["nu"], grads)
        if centered:
            grad_avg = tree.map(lambda a, g: decay * a + (1.0 - decay) * g,
                                opt_state["grad_avg"], grads)
            scaled = tree.map(lambda g, v, a: g / (fnp.sqrt(v - a * a) + eps), grads, nu,
                              grad_avg)
        else:
            grad_avg = {}
            scaled = tree.map(lambda g, v: g / (fnp.sqrt(v) + eps), grads, nu)
        if momentum:
            buffers = tree.map(lambda b, s: momentum * b + s, opt_state["momentum"], scaled)
            scaled = buffers
        else:
            buffers = {}
        updates = tree.map(lambda s: -_like(step, s) * s, scaled)
        return updates, {"count": count, "nu": nu, "grad_avg": grad_avg, "momentum": buffers}

    return Optimizer("rmsprop", init, update)


def adagrad(lr, lr_decay: float = 0.0, weight_decay: float = 0.0,
            initial_accumulator_value: float = 0.0, eps: float = 1e-10,
            mask=None) -> Optimizer:
    """Adagrad as ``torch.optim.Adagrad`` (its defaults): ``g <- g + weight_decay p`` (coupled
    L2), ``s <- s + g^2`` (``s`` starts at ``initial_accumulator_value``); the step is
    ``-lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)`` at update ``t``. (optax's
    ``adagrad`` starts ``s`` at 0.1 and has ``eps=1e-7``.)

    >>> import numpy as np
    >>> opt = adagrad(0.5)
    >>> updates, state = opt.update(np.array([-3.0]), opt.init(np.zeros(1)))
    >>> updates.round(6)   # -0.5 * -3 / sqrt(9)
    array([0.5])
    """
    _check_rate("adagrad", lr)
    if not lr_decay >= 0:
        raise ValueError(f"fg.optim.adagrad: lr_decay must be >= 0, got {lr_decay}")
    if not initial_accumulator_value >= 0:
        raise ValueError("fg.optim.adagrad: initial_accumulator_value must be >= 0, got "
                         f"{initial_accumulator_value}")
    weight_decay = _check_decay("adagrad", weight_decay)
    keys = ("count", "sum")

    def init(params):
        return {"count": np.zeros((), np.int64),
                "sum": tree.map(lambda p: np.full(np.shape(p), initial_accumulator_value,
                                                  getattr(p, "dtype", np.float64)), params)}

    def update(grads, opt_state, params=None):
        _check_state("adagrad", opt_state, keys)
        _check_grads("adagrad", grads, opt_state["sum"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        if lr_decay:
            step = step / (1.0 + (count - 1) * lr_decay)
        grads = _decayed("adagrad", weight_decay, mask, grads, params)
        sums = tree.map(lambda s, g: s + g * g, opt_state["sum"], grads)
        updates = tree.map(lambda g, s: -_like(step, g) * (g / (fnp.sqrt(s) + eps)), grads, sums)
        return updates, {"count": count, "sum": sums}

    return Optimizer("adagrad", init, update)


def _adam(name: str, lr, b1: float, b2: float, eps: float, weight_decay: float,
          mask=None, amsgrad: bool = False, decoupled: bool = True) -> Optimizer:
    _check_rate(name, lr)
    _check_beta(name, "b1", b1)
    _check_beta(name, "b2", b2)
    weight_decay = _check_decay(name, weight_decay)
    keys = ("count", "mu", "nu") + (("nu_max",) if amsgrad else ())

    def init(params):
        state = {"count": np.zeros((), np.int64), "mu": tree.map(_zeros_like, params),
                 "nu": tree.map(_zeros_like, params)}
        if amsgrad:
            state["nu_max"] = tree.map(_zeros_like, params)
        return state

    def update(grads, opt_state, params=None):
        _check_state(name, opt_state, keys)
        _check_grads(name, grads, opt_state["mu"], _INIT_PARAMS)
        if weight_decay and not decoupled:   # torch.optim.Adam's L2: g <- g + wd p
            grads = _decayed(name, weight_decay, mask, grads, params)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        treedef, (flat_m, flat_v, flat_g) = _flat_together(opt_state["mu"], opt_state["nu"],
                                                           grads)
        flat_top = tree.leaves(opt_state["nu_max"]) if amsgrad else flat_v
        # torch.optim.Adam's arithmetic: step lr / (1 - b1^t) times m / (sqrt(v) /
        # sqrt(1 - b2^t) + eps), with v the running maximum of the second moments under
        # AMSGrad.
        step_size = step / (1.0 - fnp.power(b1, count))
        correction = fnp.sqrt(1.0 - fnp.power(b2, count))
        # The two scalars in each leaf dtype, cast once per update rather than once per leaf.
        minus_steps, corrections = {}, {}
        mu, nu, top, updates = [], [], [], []
        for m, v, g, v_top in zip(flat_m, flat_v, flat_g, flat_top):
            m = b1 * m + (1.0 - b1) * g
            v = b2 * v + (1.0 - b2) * (g * g)
            v_top = fnp.maximum(v_top, v) if amsgrad else v
            minus_step = minus_steps.get(m.dtype)
            if minus_step is None:
                minus_step = minus_steps[m.dtype] = -_like(step_size, m)
            scale = corrections.get(v.dtype)
            if scale is None:
                scale = corrections[v.dtype] = _like(correction, v)
            mu.append(m)
            nu.append(v)
            top.append(v_top)
            updates.append(minus_step * m / (fnp.sqrt(v_top) / scale + eps))
        updates = tree.unflatten(treedef, updates)
        if weight_decay and decoupled:   # AdamW: p <- p - lr wd p, beside the Adam step
            updates = _decayed(name, weight_decay, mask, updates, params, -step * weight_decay)
        state = {"count": count, "mu": tree.unflatten(treedef, mu),
                 "nu": tree.unflatten(treedef, nu)}
        if amsgrad:
            state["nu_max"] = tree.unflatten(treedef, top)
        return updates, state

    return Optimizer(name, init, update)


def adam(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, mask=None) -> Optimizer:
    """Adam (Kingma & Ba), with ``torch.optim.Adam``'s arithmetic, bias corrections and
    options: ``weight_decay`` is its coupled L2 (``g <- g + weight_decay p`` before the moments;
    for decoupled decay use :func:`adamw`), applied where ``mask`` is True; ``amsgrad`` divides
    by the running maximum of the second moments (the state keeps it as ``nu_max``).

    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> updates, state = opt.update(np.array([3.0]), opt.init(np.zeros(1)))
    >>> updates.round(6)   # the first step is -lr * sign(g)
    array([-0.1])
    >>> p = np.array([2.0])
    >>> opt = adam(0.1, weight_decay=0.5)   # g + 0.5 p = 4: still a first step of -lr
    >>> opt.update(np.array([3.0]), opt.init(p), p)[0].round(6)
    array([-0.1])
    """
    return _adam("adam", lr, b1, b2, eps, weight_decay, mask, amsgrad, decoupled=False)


def adamw(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 1e-2, mask=None, amsgrad: bool = False) -> Optimizer:
    """AdamW: Adam with decoupled weight decay ``-lr weight_decay p`` (``torch.optim.AdamW``),
    applied where ``mask`` is True (everywhere without one); ``amsgrad`` as in :func:`adam`.

    >>> import numpy as np
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> p = np.array([2.0])
    >>> updates, state = opt.update(np.array([3.0]), opt.init(p), p)
    >>> updates.round(6)   # -0.1 (Adam's first step) - 0.1 * 0.5 * 2
    array([-0.2])
    >>> params = {"w": np.ones((2, 2)), "b": np.ones(2)}
    >>> opt = adamw(0.1, weight_decay=0.5, mask=lambda p: {"w": True, "b": False})
    >>> updates, _ = opt.update(tree.map(np.zeros_like, params), opt.init(params), params)
    >>> updates["w"][0], bool((updates["b"] == 0).all())  # zero gradients: only w decays
    (array([-0.05, -0.05]), True)
    """
    return _adam("adamw", lr, b1, b2, eps, weight_decay, mask, amsgrad)


def nadam(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
          weight_decay: float = 0.0, momentum_decay: float = 4e-3,
          decoupled_weight_decay: bool = False, mask=None) -> Optimizer:
    """NAdam (Dozat) as ``torch.optim.NAdam``, its defaults and momentum schedule: at update
    ``t``, ``mu_t = b1 (1 - 0.5 * 0.96^(t momentum_decay))``; with ``m``, ``v`` Adam's moments
    and ``d = sqrt(v / (1 - b2^t)) + eps``, the step is
    ``-lr (1 - mu_t) / (1 - prod mu) g / d - lr mu_{t+1} / (1 - mu_{t+1} prod mu) m / d``.
    Weight decay is coupled L2 (``g + weight_decay p``), or with ``decoupled_weight_decay``
    AdamW's ``-lr weight_decay p``.

    >>> import numpy as np
    >>> opt = nadam(0.1)
    >>> updates, state = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
    >>> updates.round(4), round(float(state["mu_product"]), 6)   # mu_1 = 0.9 (1 - 0.5 0.96^0.004)
    (array([-0.1056]), 0.450073)
    """
    _check_rate("nadam", lr)
    _check_beta("nadam", "b1", b1)
    _check_beta("nadam", "b2", b2)
    if not momentum_decay >= 0:
        raise ValueError(f"fg.optim.nadam: momentum_decay must be >= 0, got {momentum_decay}")
    weight_decay = _check_decay("nadam", weight_decay)
    keys = ("count", "mu_product", "mu", "nu")

    def init(params):
        return {"count": np.zeros((), np.int64), "mu_product": np.ones((), np.float64),
                "mu": tree.map(_zeros_like, params), "nu": tree.map(_zeros_like, params)}

    def update(grads, opt_state, params=None):
        _check_state("nadam", opt_state, keys)
        _check_grads("nadam", grads, opt_state["mu"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        if not decoupled_weight_decay:
            grads = _decayed("nadam", weight_decay, mask, grads, params)
        mu_t = b1 * (1.0 - 0.5 * fnp.power(0.96, count * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * fnp.power(0.96, (count + 1) * momentum_decay))
        mu_product = fnp.multiply(opt_state["mu_product"], mu_t)
        mu = tree.map(lambda m, g: b1 * m + (1.0 - b1) * g, opt_state["mu"], grads)
        nu = tree.map(lambda v, g: b2 * v + (1.0 - b2) * (g * g), opt_state["nu"], grads)
        correction = 1.0 - fnp.power(b2, count)
        grad_size = -step * (1.0 - mu_t) / (1.0 - mu_product)
        mu_size = -step * mu_next / (1.0 - mu_product * mu_next)

        def nadam_step(g, m, v):
            d = fnp.sqrt(v / _like(correction, v)) + eps
            return _like(grad_size, g) * (g / d) + _like(mu_size, m) * (m / d)

        updates = tree.map(nadam_step, grads, mu, nu)
        if decoupled_weight_decay:
            updates = _decayed("nadam", weight_decay, mask, updates, params,
                               -step * weight_decay)
        return updates, {"count": count, "mu_product": mu_product, "mu": mu, "nu": nu}

    return Optimizer("nadam", init, update)


def _norm(x):
    return fnp.sqrt(fnp.sum(x * x))


def lamb(lr, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-6, eps_root: float = 0.0,
         weight_decay: float = 0.0, mask=None) -> Optimizer:
    """LAMB (You et al. 2019, "Large batch optimization for deep learning"), as optax's
    ``lamb`` (torch has none): Adam's bias-corrected direction
    ``u = m_hat / (sqrt(v_hat + eps_root) + eps)``, plus ``weight_decay p`` where ``mask`` is
    True, scaled per leaf by the trust ratio ``||p|| / ||u||`` (1 where either norm is 0); the
    step is ``-lr ratio u``. Needs ``params`` in ``update``.

    >>> import numpy as np
    >>> opt = lamb(0.1)
    >>> p = np.array([3.0, 4.0])
    >>> updates, state = opt.update(np.array([1.0, -1.0]), opt.init(p), p)
    >>> updates.round(6)   # u ~ [1, -1], ||p|| / ||u|| = 5 / sqrt(2)
    array([-0.353553,  0.353553])
    """
    _check_rate("lamb", lr)
    _check_beta("lamb", "b1", b1)
    _check_beta("lamb", "b2", b2)
    weight_decay = _check_decay("lamb", weight_decay)
    keys = ("count", "mu", "nu")

    def init(params):
        return {"count": np.zeros((), np.int64), "mu": tree.map(_zeros_like, params),
                "nu": tree.map(_zeros_like, params)}

    def update(grads, opt_state, params=None):
        _check_state("lamb", opt_state, keys)
        _needs_params("lamb", params)
        _check_grads("lamb", grads, opt_state["mu"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        mu = tree.map(lambda m, g: b1 * m + (1.0 - b1) * g, opt_state["mu"], grads)
        nu = tree.map(lambda v, g: b2 * v + (1.0 - b2) * (g * g), opt_state["nu"], grads)
        c1 = 1.0 - fnp.power(b1, count)
        c2 = 1.0 - fnp.power(b2, count)
        direction = tree.map(lambda m, v: (m / _like(c1, m)) /
                             (fnp.sqrt(v / _like(c2, v) + eps_root) + eps), mu, nu)
        direction = _decayed("lamb", weight_decay, mask, direction, params)

        def trusted(u, p):
            p_norm, u_norm = _norm(p), _norm(u)
            zero = fnp.logical_or(p_norm == 0, u_norm == 0)
            ratio = fnp.where(zero, 1.0, p_norm / fnp.where(u_norm == 0, 1.0, u_norm))
            return -_like(step, u) * (_like(ratio, u) * u)

        updates = tree.map(trusted, direction, params)
        return updates, {"count": count, "mu": mu, "nu": nu}

    return Optimizer("lamb", init, update)


def lion(lr, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 1e-3,
         mask=None) -> Optimizer:
    """Lion (Chen et al. 2023, "Symbolic discovery of optimization algorithms"), as optax's
    ``lion`` and its defaults (torch has none): ``u = sign(b1 m + (1 - b1) g)``,
    ``m <- b2 m + (1 - b2) g``; the step is ``-lr (u + weight_decay p)``, the decay
    decoupled, where ``mask`` is True. Lion's steps are as large as SGD's with a gradient of
    ones, so its ``lr`` is usually 3-10x smaller than Adam's.

    >>> import numpy as np
    >>> opt = lion(0.01, weight_decay=0.0)
    >>> updates, state = opt.update(np.array([0.3, -2.0]), opt.init(np.zeros(2)))
    >>> updates
    array([-0.01,  0.01])
    """
    _check_rate("lion", lr)
    _check_beta("lion", "b1", b1)
    _check_beta("lion", "b2", b2)
    weight_decay = _check_decay("lion", weight_decay)
    keys = ("count", "mu")

    def init(params):
        return {"count": np.zeros((), np.int64), "mu": tree.map(_zeros_like, params)}

    def update(grads, opt_state, params=None):
        _check_state("lion", opt_state, keys)
        _check_grads("lion", grads, opt_state["mu"], _INIT_PARAMS)
        count = opt_state["count"] + 1
        step = _rate(lr, count)
        signs = tree.map(lambda m, g: fnp.sign((1.0 - b1) * g + b1 * m), opt_state["mu"], grads)
        mu = tree.map(lambda m, g: b2 * m + (1.0 - b2) * g, opt_state["mu"], grads)
        signs = _decayed("lion", weight_decay, mask, signs, params)
        updates = tree.map(lambda u: -_like(step, u) * u, signs)
        return updates, {"count": count, "mu": mu}

    return Optimizer("lion", init, update)


# --------------------------------------------------------------------- gradient transforms

def clip_by_global_norm(max_norm: float) -> Optimizer:
    """Scale the gradients by ``max_norm / ||g||`` when their global norm (over every leaf)
    ``||g||`` is ``>= max_norm``; leave them as they are below it (optax's
    ``clip_by_global_norm``; ``torch.nn.utils.clip_grad_norm_`` adds 1e-6 to the norm). Its
    updates are the clipped gradients: put it first in a :func:`chain`.

    >>> import numpy as np
    >>> updates, _ = clip_by_global_norm(1.0).update({"a": np.array([3.0]),
    ...                                                "b": np.array([4.0])}, {})
    >>> updates   # the norm was 5
    {'a': array([0.6]), 'b': array([0.8])}
    """
    if not max_norm > 0:
        raise ValueError(f"fg.optim.clip_by_global_norm: max_norm must be > 0, got {max_norm}")
    max_norm = float(max_norm)

    def update(grads, opt_state, params=None):
        _check_state("clip_by_global_norm", opt_state, ())
        leaves, treedef = tree.flatten(grads)
        if not leaves:
            return grads, {}
        norm = fnp.sqrt(sum(fnp.sum(g * g) for g in leaves))
        keep = norm < max_norm
        # the divisor is the norm wherever it is used (maximum guards the discarded branch)
        divisor = fnp.maximum(norm, max_norm)
        return tree.unflatten(treedef, [fnp.where(keep, g, g / _like(divisor, g) * max_norm)
                                        for g in leaves]), {}

    return Optimizer("clip_by_global_norm", lambda params: {}, update)


def clip(max_delta: float) -> Optimizer:
    """Clip every gradient element to ``[-max_delta, max_delta]`` (optax's ``clip``; torch's
    ``clip_grad_value_``).

    >>> import numpy as np
    >>> clip(0.5).update(np.array([-2.0, 0.25, 1.0]), {})[0]
    array([-0.5 ,  0.25,  0.5 ])
    """
    if not max_delta >= 0:
        raise ValueError(f"fg.optim.clip: max_delta must be >= 0, got {max_delta}")
    max_delta = float(max_delta)

    def update(grads, opt_state, params=None):
        _check_state("clip", opt_state, ())
        return tree.map(lambda g: fnp.clip(g, -_like(max_delta, g), _like(max_delta, g)),
                        grads), {}

    return Optimizer("clip", lambda params: {}, update)


def chain(*transforms: Optimizer) -> Optimizer:
    """The transformations one after the other, as optax's ``chain``: each one's updates are
    the next one's gradients; the state is the tuple of their states.

    >>> import numpy as np
    >>> opt = chain(clip_by_global_norm(1.0), sgd(0.1))
    >>> opt
    fg.optim.chain(clip_by_global_norm, sgd)
    >>> updates, state = opt.update(np.array([3.0, 4.0]), opt.init(np.zeros(2)))
    >>> updates   # -0.1 * [0.6, 0.8]
    array([-0.06, -0.08])
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, Optimizer):
            raise TypeError(f"fg.optim.chain: argument {i} must be an fg.optim optimiser or "
                            f"transformation (sgd(...), clip(...), ...), got "
                            f"{type(t).__name__}")
    name = "chain(" + ", ".join(t.name for t in transforms) + ")"

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(grads, opt_state, params=None):
        if not isinstance(opt_state, tuple) or len(opt_state) != len(transforms):
            raise ValueError(f"fg.optim.{name}: opt_state must be a tuple of "
                             f"{len(transforms)} states (as init(params) returns it), got "
                             f"{type(opt_state).__name__}")
        states = []
        for t, state in zip(transforms, opt_state):
            grads, state = t.update(grads, state, params)
            states.append(state)
        return grads, tuple(states)

    return Optimizer(name, init, update)


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
    _check_grads("apply_updates", updates, params, "params", "updates")
    return tree.map(add, params, updates)


# -------------------------------------------------------------------------------- schedules
#
# A schedule is a function of the step count ``n`` that fg.optim passes (1 on the first
# update). optax calls its schedules with the number of updates done before (0 on the first),
# so each function below evaluates optax's formula at ``n - 1``: update ``k`` gets the rate
# optax (and torch.optim.lr_scheduler) gives update ``k``. Only funcgrad.numpy operations touch
# the count, which is traced under jit.

def constant_schedule(value: float) -> Callable:
    """The rate ``value`` at every update.

    >>> constant_schedule(0.1)(7)
    0.1
    """
    value = float(value)
    return lambda count: value


def linear_schedule(init_value: float, end_value: float, transition_steps: int,
                    transition_begin: int = 0) -> Callable:
    """From ``init_value`` to ``end_value`` linearly over ``transition_steps`` updates, after
    ``transition_begin`` updates at ``init_value``; ``end_value`` from then on (optax's
    ``linear_schedule``; ``transition_steps <= 0`` is the constant ``init_value``).

    The count is the update's number, 1 on the first (what fg.optim passes): the first update
    gets ``init_value``, as optax's first update (whose count is 0) does.

    >>> s = linear_schedule(1.0, 0.0, transition_steps=4)
    >>> [float(s(n)) for n in range(1, 7)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    if transition_steps <= 0:
        return constant_schedule(init_value)
    _check_begin("linear_schedule", transition_begin)
    init_value, end_value = float(init_value), float(end_value)

    def schedule(count):
        done = fnp.clip(count - 1 - transition_begin, 0, transition_steps)
        return (init_value - end_value) * (1.0 - done / transition_steps) + end_value

    return schedule


def _check_begin(name: str, transition_begin) -> None:
    if transition_begin < 0:
        raise ValueError(f"fg.optim.{name}: transition_begin must be >= 0, got "
                         f"{transition_begin}")


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0,
                 exponent: float = 1.0) -> Callable:
    """Cosine decay from ``init_value`` to ``alpha init_value`` over ``decay_steps`` updates
    (optax's ``cosine_decay_schedule``): ``init_value ((1 - alpha) c^exponent + alpha)`` with
    ``c = (1 + cos(pi min(n - 1, decay_steps) / decay_steps)) / 2`` at update ``n``. With
    ``exponent=1`` this is ``torch.optim.lr_scheduler.CosineAnnealingLR`` with
    ``T_max=decay_steps`` and ``eta_min=alpha init_value``.

    >>> s = cosine_decay(1.0, decay_steps=4)
    >>> [round(float(s(n)), 6) for n in range(1, 7)]
    [1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0]
    """
    if not decay_steps > 0:
        raise ValueError(f"fg.optim.cosine_decay: decay_steps must be > 0, got {decay_steps}")
    init_value, alpha, exponent = float(init_value), float(alpha), float(exponent)

    def schedule(count):
        done = fnp.minimum(count - 1, decay_steps)
        c = 0.5 * (1.0 + fnp.cos(np.pi * done / decay_steps))
        if exponent != 1.0:
            c = c ** exponent
        return init_value * ((1.0 - alpha) * c + alpha)

    return schedule


def warmup_cosine_decay(init_value: float, peak_value: float, warmup_steps: int,
                        decay_steps: int, end_value: float = 0.0,
                        exponent: float = 1.0) -> Callable:
    """A linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps`` updates,
    then a cosine decay to ``end_value``; ``decay_steps`` counts the warmup too (optax's
    ``warmup_cosine_decay_schedule``).

    >>> s = warmup_cosine_decay(0.0, 1.0, warmup_steps=2, decay_steps=6)
    >>> [round(float(s(n)), 6) for n in range(1, 9)]
    [0.0, 0.5, 1.0, 0.853553, 0.5, 0.146447, 0.0, 0.0]
    """
    if not decay_steps > warmup_steps:
        raise ValueError(f"fg.optim.warmup_cosine_decay: decay_steps ({decay_steps}) counts "
                         f"the warmup and must be > warmup_steps ({warmup_steps})")
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    warmup = linear_schedule(init_value, peak_value, warmup_steps)
    decay = cosine_decay(peak_value, decay_steps - warmup_steps, alpha, exponent)

    def schedule(count):
        return fnp.where(count - 1 < warmup_steps, warmup(count), decay(count - warmup_steps))

    return schedule


def exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False,
                      end_value: float | None = None) -> Callable:
    """``init_value decay_rate^((n - 1 - transition_begin) / transition_steps)`` at update
    ``n`` (the exponent floored with ``staircase``), ``init_value`` before ``transition_begin``
    and bounded by ``end_value`` when given (optax's ``exponential_decay``;
    ``transition_steps <= 0`` is the constant ``init_value``). ``transition_steps=1``, is
    ``torch.optim.lr_scheduler.ExponentialLR`` with ``gamma=decay_rate``.

    >>> s = exponential_decay(1.0, transition_steps=2, decay_rate=0.5, staircase=True)
    >>> [float(s(n)) for n in range(1, 7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    if transition_steps <= 0:
        return constant_schedule(init_value)
    if not decay_rate > 0:
        raise ValueError(f"fg.optim.exponential_decay: decay_rate must be > 0, got "
                         f"{decay_rate}")
    _check_begin("exponential_decay", transition_begin)
    init_value, decay_rate = float(init_value), float(decay_rate)

    def schedule(count):
        steps = count - 1 - transition_begin
        exponent = steps / transition_steps
        if staircase:
            exponent = fnp.floor(exponent)
        value = fnp.where(steps <= 0, init_value, init_value * fnp.power(decay_rate, exponent))
        if end_value is not None:
            bound = fnp.maximum if decay_rate < 1 else fnp.minimum
            value = bound(value, float(end_value))
        return value

    return schedule


def piecewise_constant(init_value: float, boundaries_and_scales: dict | None = None) -> Callable:
    """``init_value``, multiplied by ``scale`` once ``boundary`` updates are done, for each
    ``boundary: scale`` of ``boundaries_and_scales`` (optax's ``piecewise_constant_schedule``;
    ``torch.optim.lr_scheduler.MultiStepLR``'s milestones with scales).

    >>> s = piecewise_constant(1.0, {2: 0.5, 4: 0.1})
    >>> [float(s(n)) for n in range(1, 7)]
    [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in items:
        if not scale >= 0:
            raise ValueError(f"fg.optim.piecewise_constant: scales must be >= 0, got {scale} "
                             f"at boundary {boundary}")
    init_value = float(init_value)

    def schedule(count):
        value = init_value
        for boundary, scale in items:
            value = fnp.where(count - 1 >= boundary, value * float(scale), value)
        return value

    return schedule
