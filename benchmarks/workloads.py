"""The workloads of BENCHMARKS.md: inputs, hand-written reference, funcgrad and JAX programs.

This module imports only NumPy and funcgrad (JAX only when a JAX program is built), so the
fresh subprocesses that time first calls (``benchmarks/child.py``) load nothing else. The
steady-state harness (``benchmarks/run.py``) builds its ``numpy (hand)``, ``funcgrad eager``,
``funcgrad jit`` and ``jax.jit`` columns from the same definitions, so steady state and first
call time the same functions. torch and autograd columns live in ``run.py`` only.

Adding a workload (``train_digits`` once ``fg.nn`` lands): add a ``Spec`` to ``SPECS`` (and drop
it from ``PENDING``), then its torch/autograd builders in ``run.py`` if wanted. ``funcgrad``
returns the *un-jitted* transformed function and its arguments; the harness wraps it in
``fg.jit`` itself. A workload whose unit of work is not one call of one function (a training
loop around a jitted step) sets ``funcgrad_jit``/``jax`` to builders of its own: see ``Spec``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp

Program = tuple[Callable[..., Any], tuple]


@dataclass(frozen=True)
class Spec:
    """One workload.

    ``hand(inputs)`` returns a zero-argument call (the practical limit, the reference every
    column is checked against). ``funcgrad(inputs)`` returns ``(fun, args)``: the transformed,
    not jitted, function; eager calls ``fun(*args)``, jit calls ``fg.jit(fun)(*args)``.
    ``jax(inputs)`` returns ``(jax.jit(...), args)`` with the arguments already on the device.
    ``funcgrad_jit(inputs)``, if given, replaces ``fg.jit(fun)`` for workloads that are not one
    call of one function; it returns ``(call, compile)``: a zero-argument call and a
    zero-argument function that waits for native code and returns whether there is some.
    ``rtol`` is the comparison tolerance against ``hand`` (relative, and absolute scaled by
    the reference's largest magnitude).
    """

    description: str
    make_inputs: Callable[[np.random.Generator], dict]
    hand: Callable[[dict], Callable[[], Any]]
    funcgrad: Callable[[dict], Program]
    jax: Callable[[dict], Program] | None = None
    funcgrad_jit: Callable[[dict], tuple[Callable[[], Any], Callable[[], bool]]] | None = None
    rtol: float = 1e-6


PENDING = {"train_digits": "needs fg.nn (BatchNorm, Dropout, Adam); not benchmarked yet"}


def inputs_for(name: str) -> dict:
    """The inputs of workload ``name``, from ``numpy.random.default_rng(0)``."""
    return SPECS[name].make_inputs(np.random.default_rng(0))


def _jax():
    """``(jax, jax.numpy)`` with float64 enabled (float64 workloads stay float64, as in NumPy;
    float32 inputs stay float32)."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    return jax, jnp


# ---------------------------------------------------------------------------------------------
# seed_scalar: f(x, y) = y*log(x) + sin(y), gradient with respect to both at (2., 3.)

def _seed_hand(inputs):
    x, y = inputs["x"], inputs["y"]
    return lambda: (y / x, math.log(x) + math.cos(y))


def _seed_funcgrad(inputs):
    return (fg.grad(lambda x, y: y * fnp.log(x) + fnp.sin(y), argnums=(0, 1)),
            (inputs["x"], inputs["y"]))


def _seed_jax(inputs):
    jax, jnp = _jax()
    return (jax.jit(jax.grad(lambda x, y: y * jnp.log(x) + jnp.sin(y), argnums=(0, 1))),
            (inputs["x"], inputs["y"]))


# ---------------------------------------------------------------------------------------------
# grad3_scalar: third derivative of sin(x)*x*x at 1.3, by nested grad

def _grad3_hand(inputs):
    x = inputs["x"]
    return lambda: 6 * math.cos(x) - 6 * x * math.sin(x) - x * x * math.cos(x)


def _grad3_funcgrad(inputs):
    return fg.grad(fg.grad(fg.grad(lambda x: fnp.sin(x) * x * x))), (inputs["x"],)


def _grad3_jax(inputs):
    jax, jnp = _jax()
    return jax.jit(jax.grad(jax.grad(jax.grad(lambda x: jnp.sin(x) * x * x)))), (inputs["x"],)


# ---------------------------------------------------------------------------------------------
# hessian_100: Hessian of sum(tanh(A @ x)), A 100x100 (scaled by 1/10 so tanh is not saturated)

def _hessian_inputs(rng):
    return {"A": rng.standard_normal((100, 100)) / 10.0, "x": rng.standard_normal(100)}


def _hessian_hand(inputs):
    a, x = inputs["A"], inputs["x"]

    def call():
        t = np.tanh(a @ x)
        return (a.T * (-2.0 * t * (1.0 - t * t))) @ a
    return call


def _hessian_funcgrad(inputs):
    a = inputs["A"]
    return fg.hessian(lambda x: fnp.sum(fnp.tanh(a @ x))), (inputs["x"],)


def _hessian_jax(inputs):
    jax, jnp = _jax()
    a, x = jnp.asarray(inputs["A"]), jnp.asarray(inputs["x"])
    return jax.jit(jax.hessian(lambda x: jnp.sum(jnp.tanh(a @ x)))), (x,)


# ---------------------------------------------------------------------------------------------
# elementwise_1e6: value_and_grad of sum(sin(x)*exp(-x*x) + tanh(x)**2), x of 1e6 float32

def _elementwise_hand(inputs):
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


def _elementwise_funcgrad(inputs):
    return (fg.value_and_grad(
        lambda x: fnp.sum(fnp.sin(x) * fnp.exp(-x * x) + fnp.tanh(x) ** 2)), (inputs["x"],))


def _elementwise_jax(inputs):
    jax, jnp = _jax()
    return (jax.jit(jax.value_and_grad(
        lambda x: jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + jnp.tanh(x) ** 2))),
        (jnp.asarray(inputs["x"]),))


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


def _mlp_hand(inputs):
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


def mlp_loss(xp, relu, logsumexp):
    """The MLP's loss written against a NumPy-like namespace ``xp`` (shared with run.py)."""
    def loss(params, x, onehot):
        h = relu(x @ params["W1"] + params["b1"])
        logits = h @ params["W2"] + params["b2"]
        return xp.mean(logsumexp(logits) - xp.sum(onehot * logits, axis=1))
    return loss


def stable_logsumexp(xp):
    def logsumexp(logits):
        top = xp.max(logits, axis=1, keepdims=True)
        return (top + xp.log(xp.sum(xp.exp(logits - top), axis=1, keepdims=True)))[:, 0]
    return logsumexp


def _mlp_funcgrad(inputs):
    loss = mlp_loss(fnp, lambda z: fnp.maximum(z, np.float32(0)), stable_logsumexp(fnp))
    return fg.value_and_grad(loss), (inputs["params"], inputs["x"], inputs["onehot"])


def _mlp_jax(inputs):
    jax, jnp = _jax()
    loss = mlp_loss(jnp, jax.nn.relu, lambda z: jax.nn.logsumexp(z, axis=1))
    params = {k: jnp.asarray(v) for k, v in inputs["params"].items()}
    return (jax.jit(jax.value_and_grad(loss)),
            (params, jnp.asarray(inputs["x"]), jnp.asarray(inputs["onehot"])))


# ---------------------------------------------------------------------------------------------
# Tolerances: float64 workloads are compared at 1e-6 (reassociated sums, libm vs XLA math:
# differences are ~1e-14 relative). float32 workloads at 1e-3, relative and absolute scaled by
# the reference's largest magnitude: a float32 sum of 1e6 terms in a different order (fused
# loop, reassociated reduction, pairwise NumPy) differs by up to ~1e-5 relative, and
# approximate float32 transcendentals of a few ulps (6e-8 each) stay far inside it too.

SPECS: dict[str, Spec] = {
    "seed_scalar": Spec("y*log(x) + sin(y), grad w.r.t. both at (2., 3.), float64",
                        lambda rng: {"x": 2.0, "y": 3.0}, _seed_hand, _seed_funcgrad,
                        _seed_jax),
    "grad3_scalar": Spec("d^3/dx^3 sin(x)*x*x at 1.3 (nested grad), float64",
                         lambda rng: {"x": 1.3}, _grad3_hand, _grad3_funcgrad, _grad3_jax),
    "hessian_100": Spec("Hessian of sum(tanh(A @ x)), A 100x100, float64", _hessian_inputs,
                        _hessian_hand, _hessian_funcgrad, _hessian_jax),
    "elementwise_1e6": Spec(
        "value_and_grad of sum(sin(x)*exp(-x*x) + tanh(x)**2), 1e6 float32",
        lambda rng: {"x": rng.standard_normal(1_000_000).astype(np.float32)},
        _elementwise_hand, _elementwise_funcgrad, _elementwise_jax, rtol=1e-3),
    "mlp": Spec("value_and_grad, softmax cross-entropy of a 64-256-10 ReLU MLP, batch 256, "
                "float32, params a dict", _mlp_inputs, _mlp_hand, _mlp_funcgrad, _mlp_jax,
                rtol=1e-3),
    # "train_digits": Spec(...)  -- see PENDING and the module docstring.
}


def funcgrad_jitted(name: str, inputs: dict) -> tuple[Callable[[], Any], Callable[[], bool]]:
    """``(call, compile)`` for the funcgrad jit column of workload ``name``.

    ``call()`` does one call of ``fg.jit(fun)`` (the tiered first call runs the interpreter
    while numba compiles in the background); ``compile()`` waits for native code
    (``jitted.compile``) and returns ``jitted.is_compiled``: False when numba failed and the
    program stays interpreted.
    """
    spec = SPECS[name]
    if spec.funcgrad_jit is not None:
        return spec.funcgrad_jit(inputs)
    fun, args = spec.funcgrad(inputs)
    jitted = fg.jit(fun)

    def compile_and_check() -> bool:
        jitted.compile(*args)
        return jitted.is_compiled(*args)
    return (lambda: jitted(*args)), compile_and_check
