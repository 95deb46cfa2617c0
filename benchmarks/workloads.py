"""The workloads of BENCHMARKS.md: inputs, hand-written reference, funcgrad and JAX programs.

This module imports only NumPy and funcgrad (JAX only when a JAX program is built), so the
fresh subprocesses that time first calls (``benchmarks/child.py``) load nothing else. The
steady-state harness (``benchmarks/run.py``) builds its ``numpy (hand)``, ``funcgrad eager``,
``funcgrad jit`` and ``jax.jit`` columns from the same definitions, so steady state and first
call time the same functions. torch and autograd columns live in ``run.py`` only.

Adding a workload: add a ``Spec`` to ``SPECS``, then its torch/autograd builders in ``run.py``
if wanted. ``funcgrad`` returns the *un-jitted* transformed function and its arguments; the
harness wraps it in ``fg.jit`` itself. A workload whose unit of work is not one call of one
function (a training loop around a jitted step) sets ``funcgrad_jit``/``jax`` to builders of
its own: see ``Spec``.

A *training run* (``train_digits``) is a ``TrainingSpec`` in ``TRAINING`` instead: one trainer
per column (the hand-written NumPy version, funcgrad eager and jit, torch, JAX), all here, each
importing its library only when it is built, so ``child.py`` can run any one of them in a
fresh process (``python -m benchmarks.child train COLUMN NAME``). It reports time per epoch
and time to the target test accuracy, not a time per call.
"""
from __future__ import annotations

import math
import os
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
    # A define-by-run program (Python control flow on values): eager columns only, no jit
    # column, no first calls (they time jit).
    eager_only: bool = False


PENDING: dict[str, str] = {}   # workloads of BENCHMARKS.md not benchmarked yet, and why


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
# mlp: value_and_grad of the softmax cross-entropy of a 64-256-10 ReLU MLP, batch 256, float32;
# mlp_wide: the same of a 784-512-512-10 one, batch 512. Params ``W1, b1, ..., Wn, bn``.

def _mlp_inputs(sizes, batch):
    """``make_inputs`` of an MLP of layer widths ``sizes`` (He initialisation, zero biases)."""
    def make(rng):
        f32 = np.float32
        params = {}
        for layer, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), 1):
            params[f"W{layer}"] = (rng.standard_normal((fan_in, fan_out))
                                   * math.sqrt(2 / fan_in)).astype(f32)
            params[f"b{layer}"] = np.zeros(fan_out, f32)
        x = rng.standard_normal((batch, sizes[0])).astype(f32)
        labels = rng.integers(0, sizes[-1], batch)
        return {"params": params, "x": x, "labels": labels,
                "onehot": np.eye(sizes[-1], dtype=f32)[labels]}
    return make


def _mlp_hand(inputs):
    x, onehot, batch = inputs["x"], inputs["onehot"], inputs["x"].shape[0]

    def call():
        p = inputs["params"]
        depth = len(p) // 2
        pres, hs = [], [x]
        for layer in range(1, depth):
            pres.append(hs[-1] @ p[f"W{layer}"] + p[f"b{layer}"])
            hs.append(np.maximum(pres[-1], 0))
        logits = hs[-1] @ p[f"W{depth}"] + p[f"b{depth}"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - np.sum(onehot * shifted, axis=1))
        d_out = (exp / total - onehot) / np.float32(batch)
        grads = {}
        for layer in range(depth, 0, -1):
            grads[f"W{layer}"], grads[f"b{layer}"] = hs[layer - 1].T @ d_out, d_out.sum(axis=0)
            if layer > 1:
                d_out = (d_out @ p[f"W{layer}"].T) * (pres[layer - 2] > 0)
        return loss, grads
    return call


def mlp_logits(params, x, relu):
    """The logits of the ReLU MLP ``params`` at ``x``, in any library with ``@`` (shared with
    run.py)."""
    depth = len(params) // 2
    for layer in range(1, depth):
        x = relu(x @ params[f"W{layer}"] + params[f"b{layer}"])
    return x @ params[f"W{depth}"] + params[f"b{depth}"]


def mlp_loss(xp, relu, logsumexp):
    """The MLP's loss written against a NumPy-like namespace ``xp`` (shared with run.py)."""
    def loss(params, x, onehot):
        logits = mlp_logits(params, x, relu)
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
# ode_fori: RK4 of a driven damped pendulum, theta'' = -g_l sin(theta) - damping theta' +
# drive cos(t), 500 steps of 0.01 from [theta, omega] = [1, 0] in a fori_loop; value_and_grad
# of theta**2 + omega at the end with respect to params = [g_l, damping, drive], float64

ODE_STEPS, ODE_DT = 500, 0.01


def _ode_inputs(rng):
    return {"params": np.array([9.8, 0.3, 0.5]), "state": np.array([1.0, 0.0])}


def pendulum_loss(xp, fori_loop, cos):
    """The ODE's loss against a namespace ``xp`` and a ``fori_loop(lower, upper, body, init)``
    (shared with run.py). ``cos`` takes the time: a Python loop's index is a Python int, so
    its time is a float that torch's ``cos`` does not take."""
    def loss(params, state):
        g_l, damping, drive = params[0], params[1], params[2]

        def f(t, s):
            return xp.stack([s[1], -g_l * xp.sin(s[0]) - damping * s[1] + drive * cos(t)])

        def step(i, s):
            t = i * ODE_DT
            k1 = f(t, s)
            k2 = f(t + ODE_DT / 2, s + ODE_DT / 2 * k1)
            k3 = f(t + ODE_DT / 2, s + ODE_DT / 2 * k2)
            k4 = f(t + ODE_DT, s + ODE_DT * k3)
            return s + ODE_DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

        end = fori_loop(0, ODE_STEPS, step, state)
        return end[0] ** 2 + end[1]
    return loss


def _ode_hand(inputs):
    """Forward sensitivities: the same RK4 steps on the state and its 2x3 Jacobian S with
    respect to the parameters (S' = J_state S + J_params, stage by stage: the exact derivative
    of the discrete scheme), as one 2x4 matrix [state | S]."""
    (g_l, damping, drive), state = inputs["params"], inputs["state"]

    def f(t, z):
        theta, omega = z[0, 0], z[1, 0]
        out = np.empty((2, 4))
        out[0] = omega, *z[1, 1:]
        out[1, 0] = -g_l * math.sin(theta) - damping * omega + drive * math.cos(t)
        out[1, 1:] = (-g_l * math.cos(theta) * z[0, 1:] - damping * z[1, 1:]
                      + (-math.sin(theta), -omega, math.cos(t)))
        return out

    def call():
        z, dt = np.zeros((2, 4)), ODE_DT
        z[:, 0] = state
        for i in range(ODE_STEPS):
            t = i * dt
            k1 = f(t, z)
            k2 = f(t + dt / 2, z + dt / 2 * k1)
            k3 = f(t + dt / 2, z + dt / 2 * k2)
            k4 = f(t + dt, z + dt * k3)
            z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return z[0, 0] ** 2 + z[1, 0], 2 * z[0, 0] * z[0, 1:] + z[1, 1:]
    return call


def _ode_funcgrad(inputs):
    return (fg.value_and_grad(pendulum_loss(fnp, fg.fori_loop, fnp.cos)),
            (inputs["params"], inputs["state"]))


def _ode_jax(inputs):
    jax, jnp = _jax()
    return (jax.jit(jax.value_and_grad(pendulum_loss(jnp, jax.lax.fori_loop, jnp.cos))),
            (jnp.asarray(inputs["params"]), jnp.asarray(inputs["state"])))


# ---------------------------------------------------------------------------------------------
# rnn_scan: h = tanh(x_t @ W + h @ U + b) over 50 steps in a scan, batch 32, input 16, hidden
# 64, from h = 0; value_and_grad of sum over steps of sum(h*h), plus sum(final h), with
# respect to (W, U, b), float32

def _rnn_inputs(rng):
    f32 = np.float32
    return {"W": (rng.standard_normal((16, 64)) / 4).astype(f32),
            "U": (rng.standard_normal((64, 64)) / 8).astype(f32),
            "b": (rng.standard_normal(64) / 10).astype(f32),
            "h0": np.zeros((32, 64), f32),
            "xs": rng.standard_normal((50, 32, 16)).astype(f32)}


def rnn_loss(xp, scan):
    """The RNN's loss against a namespace ``xp`` and a ``scan(step, init, xs)`` returning
    ``(carry, stacked ys)`` (shared with run.py)."""
    def loss(w, u, b, h0, xs):
        def step(h, x_t):
            h = xp.tanh(x_t @ w + h @ u + b)
            return h, xp.sum(h * h)
        h, squares = scan(step, h0, xs)
        return xp.sum(squares) + xp.sum(h)
    return loss


def _rnn_args(inputs, asarray=lambda a: a):
    return tuple(asarray(inputs[k]) for k in ("W", "U", "b", "h0", "xs"))


def _rnn_hand(inputs):
    """Backpropagation through time over the stored hidden states."""
    w, u, b, h0, xs = _rnn_args(inputs)

    def call():
        hs = [h0]
        for x_t in xs:
            hs.append(np.tanh(x_t @ w + hs[-1] @ u + b))
        loss = sum(np.sum(h * h) for h in hs[1:]) + np.sum(hs[-1])
        d_w, d_u, d_b = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
        d_h = 1 + 2 * hs[-1]
        for t in range(len(xs) - 1, -1, -1):
            d_pre = d_h * (1 - hs[t + 1] * hs[t + 1])
            d_w += xs[t].T @ d_pre
            d_u += hs[t].T @ d_pre
            d_b += d_pre.sum(axis=0)
            if t:
                d_h = d_pre @ u.T + 2 * hs[t]
        return loss, (d_w, d_u, d_b)
    return call


def _rnn_funcgrad(inputs):
    return fg.value_and_grad(rnn_loss(fnp, fg.scan), argnums=(0, 1, 2)), _rnn_args(inputs)


def _rnn_jax(inputs):
    jax, jnp = _jax()
    return (jax.jit(jax.value_and_grad(rnn_loss(jnp, jax.lax.scan), argnums=(0, 1, 2))),
            _rnn_args(inputs, jnp.asarray))


# ---------------------------------------------------------------------------------------------
# per_example_grads: the gradient of each example's logistic loss log1p(exp(-y x.w)), y in
# {-1, +1}, by vmap(grad), 1024 examples of 100 features, float64

def _per_example_inputs(rng):
    return {"w": rng.standard_normal(100) / 10, "X": rng.standard_normal((1024, 100)),
            "y": rng.choice([-1.0, 1.0], 1024)}


def logistic_loss(xp):
    """One example's logistic loss against a namespace ``xp`` (shared with run.py)."""
    return lambda w, x, y: xp.log1p(xp.exp(-y * xp.dot(x, w)))


def _per_example_hand(inputs):
    w, x, y = inputs["w"], inputs["X"], inputs["y"]
    return lambda: (-y / (1 + np.exp(y * (x @ w))))[:, None] * x


def _per_example_funcgrad(inputs):
    return (fg.vmap(fg.grad(logistic_loss(fnp)), in_axes=(None, 0, 0)),
            (inputs["w"], inputs["X"], inputs["y"]))


def _per_example_jax(inputs):
    jax, jnp = _jax()
    return (jax.jit(jax.vmap(jax.grad(logistic_loss(jnp)), in_axes=(None, 0, 0))),
            tuple(jnp.asarray(inputs[k]) for k in ("w", "X", "y")))


# ---------------------------------------------------------------------------------------------
# control_flow_grad: grad and second derivative of a define-by-run program at 1.3: a
# value-dependent `if`, a Newton `while` loop to convergence and a `for` loop with `break`.
# One definition for every library: ``sin`` is the library's (the rest is Python operators).

def control_flow_program(sin):
    def piecewise(x):
        if x > 1.0:
            return x * x * x / 3.0
        if x > 0.0:
            return sin(x)
        return x * 0.5

    def newton_sqrt(a):
        y = a
        while abs(y * y - a) > 1e-12 * a:
            y = 0.5 * (y + a / y)
        return y

    def early_stopped(x):
        total = 0.0
        for k in range(1, 60):
            term = sin(k * x) / (k * k)
            total = total + term
            if k >= 4 and abs(term) < 2e-3:
                break
        return total

    def program(x):
        return piecewise(x) + newton_sqrt(x * x + 1.0) + early_stopped(x)
    return program


def _control_flow_hand(inputs):
    x = inputs["x"]

    def call():
        # piecewise (x > 1): x^3 / 3; sqrt(x^2 + 1); the same terms the loop keeps.
        d1, d2 = x * x + x / math.sqrt(x * x + 1), 2 * x + (x * x + 1) ** -1.5
        for k in range(1, 60):
            d1 += math.cos(k * x) / k
            d2 -= math.sin(k * x)
            if k >= 4 and abs(math.sin(k * x) / (k * k)) < 2e-3:
                break
        return d1, d2
    return call


def _control_flow_funcgrad(inputs):
    # Both derivatives from one evaluation, as PyTorch's create_graph gives them: the value
    # and gradient of the first derivative (JAX's idiom).
    program = control_flow_program(fnp.sin)
    return fg.value_and_grad(fg.grad(program)), (inputs["x"],)


# ---------------------------------------------------------------------------------------------
# transformer_block: value_and_grad w.r.t. its 12 parameters of mean(block(x)**2) for one
# pre-LayerNorm transformer block: causal self-attention (4 heads of 32) and a 4x MLP with
# tanh-GELU, each with a residual connection; batch 8, sequence 128, width 128, float32.

_TB_HEADS = 4
_TB_EPS = 1e-5
_GELU_C = math.sqrt(2 / math.pi)


def _transformer_inputs(rng):
    batch, length, width, hidden = 8, 128, 128, 512
    f32 = np.float32

    def weight(shape):
        return (rng.standard_normal(shape) / math.sqrt(shape[0])).astype(f32)

    def near(value, size):
        return (value + 0.1 * rng.standard_normal(size)).astype(f32)

    params = {"ln1_w": near(1, width), "ln1_b": near(0, width),
              "w_qkv": weight((width, 3 * width)), "b_qkv": near(0, 3 * width),
              "w_o": weight((width, width)), "b_o": near(0, width),
              "ln2_w": near(1, width), "ln2_b": near(0, width),
              "w_1": weight((width, hidden)), "b_1": near(0, hidden),
              "w_2": weight((hidden, width)), "b_2": near(0, width)}
    return {"params": params, "x": rng.standard_normal((batch, length, width)).astype(f32)}


def transformer_block(p, x, layer_norm, attention, gelu):
    """The block in any library with ``@``, slicing and ``reshape``: ``attention(q, k, v)``
    takes and returns (batch, sequence, heads, head size) and is causal (shared with run.py)."""
    batch, length, width = x.shape
    head = width // _TB_HEADS
    qkv = layer_norm(x, p["ln1_w"], p["ln1_b"]) @ p["w_qkv"] + p["b_qkv"]
    q, k, v = (qkv[..., i * width:(i + 1) * width].reshape(batch, length, _TB_HEADS, head)
               for i in range(3))
    x = x + attention(q, k, v).reshape(batch, length, width) @ p["w_o"] + p["b_o"]
    hidden = gelu(layer_norm(x, p["ln2_w"], p["ln2_b"]) @ p["w_1"] + p["b_1"])
    return x + hidden @ p["w_2"] + p["b_2"]


def _layer_norm(xp):
    def layer_norm(x, weight, bias):
        mean = xp.mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = xp.mean(centered * centered, axis=-1, keepdims=True)
        return centered / xp.sqrt(variance + _TB_EPS) * weight + bias
    return layer_norm


def _transformer_hand(inputs):
    x, p = inputs["x"], inputs["params"]
    batch, length, width = x.shape
    head = width // _TB_HEADS
    f32 = np.float32
    causal = np.tril(np.ones((length, length), dtype=bool))

    def norm(x, weight, bias):
        centered = x - x.mean(axis=-1, keepdims=True)
        inv = f32(1) / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + f32(_TB_EPS))
        normed = centered * inv
        return normed * weight + bias, normed, inv

    def norm_back(d_out, normed, inv, weight):
        d_normed = d_out * weight
        d_x = inv * (d_normed - d_normed.mean(axis=-1, keepdims=True)
                     - normed * (d_normed * normed).mean(axis=-1, keepdims=True))
        return d_x, (d_out * normed).sum(axis=(0, 1)), d_out.sum(axis=(0, 1))

    def heads(a):   # (B, T, D) -> (B, H, T, head)
        return a.reshape(batch, length, _TB_HEADS, head).transpose(0, 2, 1, 3)

    def weight_grad(a, d):   # sum over batch and sequence of the outer products: one matmul
        return a.reshape(-1, a.shape[-1]).T @ d.reshape(-1, d.shape[-1])

    def call():
        g = {}
        h1, n1, inv1 = norm(x, p["ln1_w"], p["ln1_b"])
        qkv = h1 @ p["w_qkv"] + p["b_qkv"]
        q, k, v = (heads(qkv[..., i * width:(i + 1) * width]) for i in range(3))
        scores = (q @ k.transpose(0, 1, 3, 2)) * f32(1 / math.sqrt(head))
        scores = np.where(causal, scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        attended = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        x1 = x + attended @ p["w_o"] + p["b_o"]
        h2, n2, inv2 = norm(x1, p["ln2_w"], p["ln2_b"])
        z = h2 @ p["w_1"] + p["b_1"]
        t = np.tanh(f32(_GELU_C) * (z + f32(0.044715) * z ** 3))
        u = f32(0.5) * z * (f32(1) + t)
        out = x1 + u @ p["w_2"] + p["b_2"]
        loss = np.mean(out * out)
        d_out = out * f32(2 / out.size)
        g["w_2"], g["b_2"] = weight_grad(u, d_out), d_out.sum(axis=(0, 1))
        d_u = d_out @ p["w_2"].T
        d_z = d_u * (f32(0.5) * (f32(1) + t) + f32(0.5) * z * (f32(1) - t * t) * f32(_GELU_C)
                     * (f32(1) + f32(3 * 0.044715) * z * z))
        g["w_1"], g["b_1"] = weight_grad(h2, d_z), d_z.sum(axis=(0, 1))
        d_x1, g["ln2_w"], g["ln2_b"] = norm_back(d_z @ p["w_1"].T, n2, inv2, p["ln2_w"])
        d_x1 = d_x1 + d_out
        g["w_o"] = weight_grad(attended, d_x1)
        g["b_o"] = d_x1.sum(axis=(0, 1))
        d_att = heads(d_x1 @ p["w_o"].T)
        d_weights = d_att @ v.transpose(0, 1, 3, 2)
        d_v = weights.transpose(0, 1, 3, 2) @ d_att
        d_scores = weights * (d_weights - (d_weights * weights).sum(axis=-1, keepdims=True))
        d_scores *= f32(1 / math.sqrt(head))
        d_q, d_k = d_scores @ k, d_scores.transpose(0, 1, 3, 2) @ q
        d_qkv = np.concatenate([d.transpose(0, 2, 1, 3).reshape(batch, length, width)
                                for d in (d_q, d_k, d_v)], axis=-1)
        g["w_qkv"], g["b_qkv"] = weight_grad(h1, d_qkv), d_qkv.sum(axis=(0, 1))
        _, g["ln1_w"], g["ln1_b"] = norm_back(d_qkv @ p["w_qkv"].T, n1, inv1, p["ln1_w"])
        return loss, {k: g[k] for k in p}
    return call


def _transformer_loss(xp, attention, gelu):
    layer_norm = _layer_norm(xp)

    def loss(params, x):
        out = transformer_block(params, x, layer_norm, attention, gelu)
        return xp.mean(out * out)
    return loss


def _transformer_funcgrad(inputs):
    loss = _transformer_loss(
        fnp, lambda q, k, v: fg.nn.dot_product_attention(q, k, v, is_causal=True),
        lambda z: fg.nn.gelu(z, approximate=True))
    return fg.value_and_grad(loss), (inputs["params"], inputs["x"])


def _transformer_jax(inputs):
    jax, jnp = _jax()
    loss = _transformer_loss(
        jnp, lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True),
        lambda z: jax.nn.gelu(z, approximate=True))
    params = {k: jnp.asarray(v) for k, v in inputs["params"].items()}
    return jax.jit(jax.value_and_grad(loss)), (params, jnp.asarray(inputs["x"]))


# ---------------------------------------------------------------------------------------------
# grad10_nested / grad10_jet: the 10th derivative of sin(x)*exp(-x*x/3)*x at 0.7 (issue 11),
# by ten nested grads, and by one Taylor-mode pass (fg.derivatives / jax.experimental.jet).

TAYLOR_ORDER = 10


def taylor_workload(xp):
    """The function, written for any NumPy-like module ``xp``."""
    return lambda x: xp.sin(x) * xp.exp(-x * x / 3) * x


def _taylor_hand(inputs):
    """The practical limit: the series recurrences in plain floats, with what is known to be
    zero left out (x**2 is a quadratic in t, so exp's recurrence has two terms)."""
    x, order = inputs["x"], TAYLOR_ORDER

    def call():
        a1, a2 = -2.0 * x / 3.0, -1.0 / 3.0           # -(x + t)**2 / 3 = a0 + a1 t + a2 t^2
        e = [math.exp(-x * x / 3.0)]
        for k in range(1, order + 1):
            e.append((a1 * e[k - 1] + (2.0 * a2 * e[k - 2] if k > 1 else 0.0)) / k)
        s, c = [math.sin(x)], [math.cos(x)]
        for k in range(1, order + 1):
            s.append(c[k - 1] / k)
            c.append(-s[k - 1] / k)
        p = sum(s[j] * e[order - j] for j in range(order + 1))
        q = sum(s[j] * e[order - 1 - j] for j in range(order))   # (s * e) * (x + t): order K
        return (x * p + q) * math.factorial(order)
    return call


def nested_grad(grad, fun, order):
    for _ in range(order):
        fun = grad(fun)
    return fun


def _grad10_funcgrad(inputs):
    return nested_grad(fg.grad, taylor_workload(fnp), TAYLOR_ORDER), (inputs["x"],)


def _grad10_jax(inputs):
    jax, jnp = _jax()
    return jax.jit(nested_grad(jax.grad, taylor_workload(jnp), TAYLOR_ORDER)), (inputs["x"],)


def _jet10_funcgrad(inputs):
    every = fg.derivatives(taylor_workload(fnp), TAYLOR_ORDER)
    return (lambda x: every(x)[TAYLOR_ORDER]), (inputs["x"],)


def _jet10_jax(inputs):
    jax, jnp = _jax()
    from jax.experimental.jet import jet
    series = [1.0] + [0.0] * (TAYLOR_ORDER - 1)
    return (jax.jit(lambda x: jet(taylor_workload(jnp), (x,), (series,))[1][-1]),
            (inputs["x"],))


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
    "grad10_nested": Spec("d^10/dx^10 sin(x)*exp(-x*x/3)*x at 0.7 by 10 nested grads, float64",
                          lambda rng: {"x": 0.7}, _taylor_hand, _grad10_funcgrad, _grad10_jax),
    "grad10_jet": Spec("the same 10th derivative by one Taylor-mode pass (fg.derivatives; "
                       "jax.experimental.jet), float64", lambda rng: {"x": 0.7}, _taylor_hand,
                       _jet10_funcgrad, _jet10_jax),
    "hessian_100": Spec("Hessian of sum(tanh(A @ x)), A 100x100, float64", _hessian_inputs,
                        _hessian_hand, _hessian_funcgrad, _hessian_jax),
    "elementwise_1e6": Spec(
        "value_and_grad of sum(sin(x)*exp(-x*x) + tanh(x)**2), 1e6 float32",
        lambda rng: {"x": rng.standard_normal(1_000_000).astype(np.float32)},
        _elementwise_hand, _elementwise_funcgrad, _elementwise_jax, rtol=1e-3),
    "mlp": Spec("value_and_grad, softmax cross-entropy of a 64-256-10 ReLU MLP, batch 256, "
                "float32, params a dict", _mlp_inputs((64, 256, 10), 256), _mlp_hand,
                _mlp_funcgrad, _mlp_jax, rtol=1e-3),
    "transformer_block": Spec(
        "value_and_grad w.r.t. its 12 parameters of mean(block(x)**2), one pre-LayerNorm "
        "transformer block (causal self-attention, 4 heads; 4x tanh-GELU MLP), batch 8, "
        "sequence 128, width 128, float32", _transformer_inputs, _transformer_hand,
        _transformer_funcgrad, _transformer_jax, rtol=1e-3),
    "control_flow_grad": Spec(
        "first and second derivative at 1.3 of a program with a value-dependent if, a Newton "
        "while loop and a for loop with break (define-by-run, eager), float64",
        lambda rng: {"x": 1.3}, _control_flow_hand, _control_flow_funcgrad, eager_only=True),
    "ode_fori": Spec(
        "value_and_grad w.r.t. its 3 parameters of theta**2 + omega after 500 RK4 steps "
        "(fori_loop) of a driven damped pendulum, float64", _ode_inputs, _ode_hand,
        _ode_funcgrad, _ode_jax),
    "rnn_scan": Spec(
        "value_and_grad w.r.t. (W, U, b) of a tanh RNN, scan over 50 steps, batch 32, input "
        "16, hidden 64, float32", _rnn_inputs, _rnn_hand, _rnn_funcgrad, _rnn_jax, rtol=1e-3),
    "mlp_wide": Spec("value_and_grad, softmax cross-entropy of a 784-512-512-10 ReLU MLP, "
                     "batch 512, float32, params a dict", _mlp_inputs((784, 512, 512, 10), 512),
                     _mlp_hand, _mlp_funcgrad, _mlp_jax, rtol=1e-3),
    "per_example_grads": Spec(
        "per-example gradients of a logistic loss, vmap(grad) over 1024 examples of 100 "
        "features, float64", _per_example_inputs, _per_example_hand, _per_example_funcgrad,
        _per_example_jax),
}


def funcgrad_jitted(name: str, inputs: dict) -> tuple[Callable[[], Any], Callable[[], bool]]:
    """``(call, compile)`` for the funcgrad jit column of workload ``name``.

    ``call()`` does one call of ``fg.jit(fun)`` (the tiered first call runs the interpreter,
    then numba compiles in the background); ``compile()`` waits for native code
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


# ---------------------------------------------------------------------------------------------
# train_digits: the model of ``python -m funcgrad.examples.train_digits`` trained on
# scikit-learn's digits in every framework, float32:
#     Linear(64, 256, no bias) -> BatchNorm(256) -> relu -> Dropout(0.5) -> Linear(256, 10),
# softmax cross-entropy, Adam (lr 3e-3), batches of 64 (full batches only), 30 epochs; test
# accuracy in evaluation mode after every epoch. Each framework initialises (PyTorch's uniform
# bounds) and draws its dropout masks with its own generator; the batch order of every epoch
# is shared (NumPy, from the inputs' rng).

@dataclass(frozen=True)
class TrainingSpec:
    """A training run. ``make_inputs(rng)`` returns the data, hyperparameters and batch order;
    ``trainers`` maps a column to ``build(inputs) -> (run_epoch, test_accuracy[, finish])``:
    ``run_epoch(epoch)`` trains one epoch and returns its mean loss, ``test_accuracy()``
    evaluates (not timed as training), and ``finish()``, if given, runs after the timed run
    (funcgrad jit waits there for its background compile, so that the disk cache a warm run
    reads is complete). ``target`` is the test accuracy whose time is reported."""

    description: str
    make_inputs: Callable[[np.random.Generator], dict]
    trainers: dict
    epochs: int
    target: float


DIGITS_HYPER = {"hidden": 256, "dropout": 0.5, "lr": 3e-3, "batch_size": 64, "epochs": 30,
                "eps": 1e-5, "momentum": 0.1}


def _digits_inputs(rng):
    from funcgrad.examples import train_digits as example
    data = example.load_data(0)
    count = len(data["x_train"]) // DIGITS_HYPER["batch_size"] * DIGITS_HYPER["batch_size"]
    orders = [rng.permutation(len(data["x_train"]))[:count].reshape(-1, DIGITS_HYPER["batch_size"])
              for _ in range(DIGITS_HYPER["epochs"])]
    return dict(data, orders=orders, hyper=DIGITS_HYPER)


def _funcgrad_trainer(jit: bool, model_and_optimizer):
    """The funcgrad columns of a training run: ``model_and_optimizer(inputs)`` gives the
    example's model and optimizer; the step is the examples' own (``make_train_step``)."""
    def build(inputs):
        from funcgrad.examples import train_digits as example
        x, y = inputs["x_train"], inputs["y_train"]
        model, optimizer = model_and_optimizer(inputs)
        key, init_key = fg.random.split(fg.random.key(0))
        params, state = model.init(init_key)
        # Tiered jit as a user gets it: the first steps run in the interpreter while numba
        # compiles in the background.
        step = example.make_train_step(model, optimizer, jit=jit)
        carry = {"params": params, "state": state, "opt_state": optimizer.init(params),
                 "key": key}

        def run_epoch(epoch):
            c = carry
            total = 0.0
            for rows in inputs["orders"][epoch]:
                c["key"], step_key = fg.random.split(c["key"])
                c["params"], c["state"], c["opt_state"], loss = step(
                    c["params"], c["state"], c["opt_state"], x[rows], y[rows], step_key)
                total += float(loss)
            return total / len(inputs["orders"][epoch])

        def test_accuracy():
            return example.accuracy(model, carry["params"], carry["state"], inputs["x_test"],
                                    inputs["y_test"])

        def finish():
            if jit:
                rows = inputs["orders"][0][0]
                step.compile(carry["params"], carry["state"], carry["opt_state"], x[rows],
                             y[rows], carry["key"])
        return run_epoch, test_accuracy, finish
    return build


def _digits_funcgrad_model(inputs):
    from funcgrad.examples import train_digits as example
    hyper = inputs["hyper"]
    return example.build_model(hyper["hidden"], hyper["dropout"]), fg.optim.adam(hyper["lr"])


def _uniform_init(rng, fan_in, shape):
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _digits_hand(inputs):
    """The practical limit: forward and backward written out in NumPy, Adam by hand."""
    hyper, x_all, y_all = inputs["hyper"], inputs["x_train"], inputs["y_train"]
    hidden, keep, eps, momentum = (hyper["hidden"], 1.0 - hyper["dropout"], hyper["eps"],
                                   hyper["momentum"])
    rng = np.random.default_rng(0)
    f32 = np.float32
    params = {"w1": _uniform_init(rng, 64, (hidden, 64)), "gamma": np.ones(hidden, f32),
              "beta": np.zeros(hidden, f32), "w2": _uniform_init(rng, hidden, (10, hidden)),
              "b2": _uniform_init(rng, hidden, (10,))}
    moments = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in params.items()}
    running = {"mean": np.zeros(hidden, f32), "var": np.ones(hidden, f32)}
    eye = np.eye(10, dtype=f32)
    lr, b1, b2, adam_eps = hyper["lr"], 0.9, 0.999, 1e-8
    count = [0]

    def step(x, y):
        p, n = params, x.shape[0]
        h = x @ p["w1"].T
        mean, var = h.mean(axis=0), h.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + f32(eps))
        x_hat = (h - mean) * inv_std
        bn = x_hat * p["gamma"] + p["beta"]
        mask = (rng.random(bn.shape, dtype=f32) < keep) * f32(1.0 / keep)
        dropped = np.maximum(bn, 0) * mask
        logits = dropped @ p["w2"].T + p["b2"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - shifted[np.arange(n), y])
        d_logits = (exp / total - eye[y]) / f32(n)
        d_bn = (d_logits @ p["w2"]) * mask * (bn > 0)
        d_x_hat = d_bn * p["gamma"]
        d_h = inv_std / f32(n) * (n * d_x_hat - d_x_hat.sum(axis=0)
                                  - x_hat * (d_x_hat * x_hat).sum(axis=0))
        grads = {"w1": d_h.T @ x, "gamma": (d_bn * x_hat).sum(axis=0), "beta": d_bn.sum(axis=0),
                 "w2": d_logits.T @ dropped, "b2": d_logits.sum(axis=0)}
        running["mean"] = (1 - momentum) * running["mean"] + f32(momentum) * mean
        running["var"] = (1 - momentum) * running["var"] + f32(momentum * n / (n - 1)) * var
        count[0] += 1
        t = count[0]
        step_size = f32(lr / (1 - b1 ** t))
        correction = f32(math.sqrt(1 - b2 ** t))
        for name, g in grads.items():
            m, v = moments[name]
            m *= f32(b1)
            m += f32(1 - b1) * g
            v *= f32(b2)
            v += f32(1 - b2) * g * g
            params[name] -= step_size * m / (np.sqrt(v) / correction + f32(adam_eps))
        return loss

    def run_epoch(epoch):
        orders = inputs["orders"][epoch]
        return float(sum(step(x_all[rows], y_all[rows]) for rows in orders) / len(orders))

    def test_accuracy():
        p = params
        h = inputs["x_test"] @ p["w1"].T
        bn = (h - running["mean"]) / np.sqrt(running["var"] + f32(eps)) * p["gamma"] + p["beta"]
        logits = np.maximum(bn, 0) @ p["w2"].T + p["b2"]
        return float(np.mean(np.argmax(logits, axis=1) == inputs["y_test"]))
    return run_epoch, test_accuracy


def _torch_trainer(inputs, make_model, cosine: bool = False):
    """The torch column of a training run: ``make_model(torch)`` trained with Adam (with a
    cosine decay to 0 over the run: ``CosineAnnealingLR``, per step)."""
    import torch
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    model = make_model(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=inputs["hyper"]["lr"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=sum(len(o) for o in inputs["orders"])) if cosine else None
    x, y = torch.from_numpy(inputs["x_train"]), torch.from_numpy(inputs["y_train"])
    x_test = torch.from_numpy(inputs["x_test"])
    orders = [torch.from_numpy(o) for o in inputs["orders"]]

    def run_epoch(epoch):
        model.train()
        total = 0.0
        for rows in orders[epoch]:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            total += loss.item()
        return total / len(orders[epoch])

    def test_accuracy():
        model.eval()
        with torch.no_grad():
            predicted = model(x_test).argmax(dim=1).numpy()
        return float(np.mean(predicted == inputs["y_test"]))
    return run_epoch, test_accuracy


def _digits_torch(inputs):
    hyper = inputs["hyper"]

    def make_model(torch):
        return torch.nn.Sequential(
            torch.nn.Linear(64, hyper["hidden"], bias=False),
            torch.nn.BatchNorm1d(hyper["hidden"], eps=hyper["eps"], momentum=hyper["momentum"]),
            torch.nn.ReLU(), torch.nn.Dropout(hyper["dropout"]),
            torch.nn.Linear(hyper["hidden"], 10))
    return _torch_trainer(inputs, make_model)


def _digits_jax(inputs):
    jax, jnp = _jax()
    hyper = inputs["hyper"]
    hidden, keep, eps, momentum = (hyper["hidden"], 1.0 - hyper["dropout"], hyper["eps"],
                                   hyper["momentum"])
    f32 = jnp.float32
    key, k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 4)

    def uniform(k, fan_in, shape):
        bound = 1.0 / math.sqrt(fan_in)
        return jax.random.uniform(k, shape, f32, -bound, bound)

    params = {"w1": uniform(k1, 64, (hidden, 64)), "gamma": jnp.ones(hidden, f32),
              "beta": jnp.zeros(hidden, f32), "w2": uniform(k2, hidden, (10, hidden)),
              "b2": uniform(k3, hidden, (10,))}
    state = {"mean": jnp.zeros(hidden, f32), "var": jnp.ones(hidden, f32)}
    def loss_fn(params, state, x, y, key):
        n = x.shape[0]
        h = x @ params["w1"].T
        mean, var = h.mean(axis=0), h.var(axis=0)
        bn = (h - mean) / jnp.sqrt(var + eps) * params["gamma"] + params["beta"]
        kept = jax.random.bernoulli(key, keep, bn.shape)
        dropped = jnp.where(kept, jax.nn.relu(bn) / keep, 0.0)
        logits = dropped @ params["w2"].T + params["b2"]
        loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))
        state = {"mean": (1 - momentum) * state["mean"] + momentum * mean,
                 "var": (1 - momentum) * state["var"] + momentum * var * n / (n - 1)}
        return loss, jax.lax.stop_gradient(state)

    def predict(params, state, x):
        h = x @ params["w1"].T
        bn = (h - state["mean"]) / jnp.sqrt(state["var"] + eps) * params["gamma"] + \
            params["beta"]
        return jnp.argmax(jax.nn.relu(bn) @ params["w2"].T + params["b2"], axis=1)

    return _jax_trainer(inputs, params, state, key, loss_fn, predict,
                        lambda count: hyper["lr"])


def _jax_trainer(inputs, params, state, key, loss_fn, predict, rate):
    """The jax.jit column of a training run: ``loss_fn(params, state, x, y, key) -> (loss,
    state)`` minimised by Adam (torch's arithmetic) at the learning rate ``rate(count)`` of
    update ``count``, one jitted step; ``predict(params, state, x)`` gives the classes."""
    jax, jnp = _jax()
    f32 = jnp.float32
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    opt_state = {"count": jnp.zeros((), jnp.int32), "mu": zeros, "nu": zeros}

    @jax.jit
    def step(params, state, opt_state, x, y, key):
        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, y,
                                                                         key)
        count = opt_state["count"] + 1
        mu = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, opt_state["mu"], grads)
        nu = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, opt_state["nu"],
                                    grads)
        step_size = (rate(count) / (1 - 0.9 ** count)).astype(f32)
        correction = jnp.sqrt(1 - 0.999 ** count).astype(f32)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / correction + 1e-8),
            params, mu, nu)
        return params, state, {"count": count, "mu": mu, "nu": nu}, loss

    predict = jax.jit(predict)
    carry = {"params": params, "state": state, "opt_state": opt_state, "key": key}
    x, y = jnp.asarray(inputs["x_train"]), jnp.asarray(inputs["y_train"])
    x_test = jnp.asarray(inputs["x_test"])

    def run_epoch(epoch):
        c = carry
        losses = []
        for rows in inputs["orders"][epoch]:
            c["key"], step_key = jax.random.split(c["key"])
            c["params"], c["state"], c["opt_state"], loss = step(
                c["params"], c["state"], c["opt_state"], x[rows], y[rows], step_key)
            losses.append(loss)
        return float(jnp.mean(jnp.stack(losses)))

    def test_accuracy():
        predicted = np.asarray(predict(carry["params"], carry["state"], x_test))
        return float(np.mean(predicted == inputs["y_test"]))
    return run_epoch, test_accuracy


# ---------------------------------------------------------------------------------------------
# cnn_digits: the model of ``python -m funcgrad.examples.cnn_digits`` on the digits as 8x8
# images, float32: Conv(1, 16, 3, pad 1, no bias) -> BatchNorm -> relu -> MaxPool(2) ->
# Conv(16, 32, 3, pad 1, no bias) -> BatchNorm -> relu -> MaxPool(2) -> Flatten -> Dropout(0.3)
# -> Linear(128, 10); Adam (3e-3, cosine decay to 0 over the run), batches of 64, 15 epochs.
# The batch order of every epoch is shared; each framework initialises (PyTorch's bounds) and
# draws its dropout masks with its own generator.

CNN_HYPER = {"channels": (16, 32), "dropout": 0.3, "lr": 3e-3, "batch_size": 64, "epochs": 15,
             "eps": 1e-5, "momentum": 0.1}


def _cnn_inputs(rng):
    from funcgrad.examples import cnn_digits as example
    data = example.load_data(0)
    size = CNN_HYPER["batch_size"]
    count = len(data["x_train"]) // size * size
    orders = [rng.permutation(len(data["x_train"]))[:count].reshape(-1, size)
              for _ in range(CNN_HYPER["epochs"])]
    return dict(data, orders=orders, hyper=CNN_HYPER)


def _cnn_funcgrad_model(inputs):
    from funcgrad.examples import cnn_digits as example
    hyper = inputs["hyper"]
    steps = sum(len(o) for o in inputs["orders"])
    return (example.build_model(hyper["channels"], hyper["dropout"]),
            fg.optim.adam(fg.optim.cosine_decay(hyper["lr"], steps)))


def _cnn_torch(inputs):
    hyper = inputs["hyper"]
    first, second = hyper["channels"]

    def make_model(torch):
        nn = torch.nn

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                    nn.BatchNorm2d(cout, eps=hyper["eps"], momentum=hyper["momentum"]),
                    nn.ReLU(), nn.MaxPool2d(2)]
        return nn.Sequential(*block(1, first), *block(first, second), nn.Flatten(),
                             nn.Dropout(hyper["dropout"]), nn.Linear(second * 4, 10))
    return _torch_trainer(inputs, make_model, cosine=True)


def _cnn_jax(inputs):
    jax, jnp = _jax()
    hyper = inputs["hyper"]
    first, second = hyper["channels"]
    keep, eps, momentum = 1.0 - hyper["dropout"], hyper["eps"], hyper["momentum"]
    f32 = jnp.float32
    key, k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 5)

    def uniform(k, fan_in, shape):
        bound = 1.0 / math.sqrt(fan_in)
        return jax.random.uniform(k, shape, f32, -bound, bound)

    params = {"c1": uniform(k1, 9, (first, 1, 3, 3)), "g1": jnp.ones(first, f32),
              "b1": jnp.zeros(first, f32), "c2": uniform(k2, 9 * first, (second, first, 3, 3)),
              "g2": jnp.ones(second, f32), "b2": jnp.zeros(second, f32),
              "w": uniform(k3, 4 * second, (10, 4 * second)), "bias": uniform(k4, 4 * second,
                                                                              (10,))}
    state = {name: (jnp.zeros(c, f32), jnp.ones(c, f32)) for name, c in (("1", first),
                                                                       ("2", second))}
    total = sum(len(o) for o in inputs["orders"])

    def conv_bn_pool(x, kernel, gamma, beta, stats, train):
        h = jax.lax.conv_general_dilated(x, kernel, (1, 1), ((1, 1), (1, 1)))
        if train:
            mean, var = h.mean(axis=(0, 2, 3)), h.var(axis=(0, 2, 3))
            n = h.size // h.shape[1]
            stats = ((1 - momentum) * stats[0] + momentum * mean,
                     (1 - momentum) * stats[1] + momentum * var * (n / (n - 1)))
        else:
            mean, var = stats
        h = (h - mean[:, None, None]) / jnp.sqrt(var[:, None, None] + eps)
        h = jax.nn.relu(h * gamma[:, None, None] + beta[:, None, None])
        pooled = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                       "VALID")
        return pooled, stats

    def logits_of(params, state, x, train, key=None):
        h, s1 = conv_bn_pool(x, params["c1"], params["g1"], params["b1"], state["1"], train)
        h, s2 = conv_bn_pool(h, params["c2"], params["g2"], params["b2"], state["2"], train)
        h = h.reshape(h.shape[0], -1)
        if train:
            h = jnp.where(jax.random.bernoulli(key, keep, h.shape), h / keep, 0.0)
        return h @ params["w"].T + params["bias"], {"1": s1, "2": s2}

    def loss_fn(params, state, x, y, key):
        logits, state = logits_of(params, state, x, True, key)
        chosen = jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)
        return -jnp.mean(chosen), state

    def predict(params, state, x):
        return jnp.argmax(logits_of(params, state, x, False)[0], axis=1)

    def rate(count):   # the cosine decay to 0 over the run (the example's)
        return hyper["lr"] * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(count - 1, total) / total))
    return _jax_trainer(inputs, params, state, key, loss_fn, predict, rate)


TRAINING: dict[str, TrainingSpec] = {
    "train_digits": TrainingSpec(
        "full training run of the train_digits example (MLP 64-256-10 with BatchNorm and "
        "Dropout(0.5), Adam 3e-3, batch 64, 30 epochs) on scikit-learn's digits, float32; "
        "time per epoch and time to 97% test accuracy",
        _digits_inputs,
        {"numpy (hand)": _digits_hand,
         "funcgrad eager": _funcgrad_trainer(False, _digits_funcgrad_model),
         "funcgrad jit": _funcgrad_trainer(True, _digits_funcgrad_model),
         "torch eager": _digits_torch,
         "jax.jit": _digits_jax},
        epochs=DIGITS_HYPER["epochs"], target=0.97),
    "cnn_digits": TrainingSpec(
        "full training run of the cnn_digits example (two Conv-BatchNorm-relu-MaxPool blocks "
        "of 16 and 32 channels, Dropout(0.3), Linear(128, 10); Adam 3e-3 with a cosine decay, "
        "batch 64, 15 epochs) on scikit-learn's digits as 8x8 images, float32; time per epoch "
        "and time to 98% test accuracy",
        _cnn_inputs,
        {"funcgrad eager": _funcgrad_trainer(False, _cnn_funcgrad_model),
         "funcgrad jit": _funcgrad_trainer(True, _cnn_funcgrad_model),
         "torch eager": _cnn_torch, "jax.jit": _cnn_jax},
        epochs=CNN_HYPER["epochs"], target=0.98),
}


def training_run(name: str, column: str) -> dict:
    """Run one column's training of ``TRAINING[name]`` in this process: build time, and per
    epoch the training time, mean loss and test accuracy (evaluation timed apart)."""
    import time
    spec = TRAINING[name]
    inputs = spec.make_inputs(np.random.default_rng(0))
    start = time.perf_counter()
    run_epoch, test_accuracy, *finish = spec.trainers[column](inputs)
    result = {"build_s": time.perf_counter() - start, "epoch_s": [], "loss": [],
              "accuracy": [], "eval_s": []}
    for epoch in range(spec.epochs):
        start = time.perf_counter()
        result["loss"].append(run_epoch(epoch))
        result["epoch_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        result["accuracy"].append(test_accuracy())
        result["eval_s"].append(time.perf_counter() - start)
    for done in finish:
        done()
    return result


def summarize_training(run: dict, target: float) -> dict:
    """Time per epoch (median after the first), first epoch, and the time to ``target``:
    build plus training epochs until the first evaluation at or above it (evaluations
    excluded)."""
    import statistics
    epochs = run["epoch_s"]
    reached = next((i for i, a in enumerate(run["accuracy"]) if a >= target), None)
    return {"build_s": run["build_s"], "first_epoch_s": epochs[0],
            "epoch_s": statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0],
            "epochs_to_target": None if reached is None else reached + 1,
            "time_to_target_s": None if reached is None else
            run["build_s"] + sum(epochs[:reached + 1]),
            "final_accuracy": run["accuracy"][-1]}
