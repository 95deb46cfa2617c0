"""Activations and losses of ``fg.nn``: plain functions of arrays, built from ``funcgrad.numpy``.

On NumPy inputs they compute with NumPy; on traced values they trace, so they differentiate,
jit and vmap like any other function. float32 stays float32.
"""
from __future__ import annotations

import math

import numpy as np

from .. import numpy as fnp
from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops.special import erf, stop_gradient

__all__ = ["relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp",
           "one_hot", "cross_entropy", "mse_loss", "identity", "relu6", "silu", "swish", "elu",
           "selu", "celu", "leaky_relu", "softplus", "soft_sign", "log_sigmoid", "hard_tanh",
           "hard_sigmoid", "hard_silu", "hard_swish", "glu", "mish", "sparse_plus",
           "sparse_sigmoid", "squareplus", "standardize", "dot_product_attention"]


def _as_float_array(x):
    """A tracer, or a NumPy array; integers become float64 (as NumPy's float functions do)."""
    x = x if isinstance(x, Tracer) else np.asarray(x)
    return x if x.dtype.kind == "f" else fnp.astype(x, np.float64)


def relu(x):
    """``max(x, 0)`` with derivative 0 at 0 (PyTorch's convention, see API.md).

    Written as ``where(x > 0, x, 0)``: ``maximum(x, 0)`` would share the derivative of the
    tie at 0 (1/2).

    >>> import funcgrad as fg
    >>> float(relu(-1.5)), float(relu(2.0)), float(fg.grad(relu)(0.0))
    (0.0, 2.0, 0.0)
    """
    x = _as_float_array(x)
    return fnp.where(x > 0, x, 0.0)


def gelu(x, approximate: bool = False):
    """The Gaussian error linear unit ``x * Phi(x)``, ``Phi`` the standard normal CDF.

    Exact by default, ``0.5 x (1 + erf(x / sqrt 2))``, as PyTorch's ``gelu``; with
    ``approximate=True`` the tanh form ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))``
    (PyTorch's ``approximate="tanh"``). The exact form's ``erf`` is a primitive whose NumPy
    implementation compiled programs call (within 11 ulps of ``math.erf``).

    >>> round(float(gelu(1.0)), 6), round(float(gelu(1.0, approximate=True)), 6)
    (0.841345, 0.841192)
    """
    x = _as_float_array(x)
    if approximate:
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + fnp.tanh(inner))
    return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, without overflow for large ``|x|``.

    >>> float(sigmoid(0.0))
    0.5
    """
    return ew.logistic(_as_float_array(x))


def tanh(x):
    """The hyperbolic tangent (``funcgrad.numpy.tanh``).

    >>> float(tanh(0.0))
    0.0
    """
    return fnp.tanh(_as_float_array(x))


def _shifted(x, axis):
    """``x`` minus its maximum along ``axis`` (kept), the maximum held constant under
    differentiation: it cancels exactly from every formula below, so derivatives of every
    order are those of the formula, with no tie-splitting at the maximum. An infinite maximum
    (all ``-inf``) shifts by 0."""
    shift = fnp.max(x, axis=axis, keepdims=True)
    shift = stop_gradient(fnp.where(fnp.isfinite(shift), shift, 0.0))
    return x - shift, shift


def logsumexp(x, axis=None, keepdims: bool = False):
    """``log(sum(exp(x), axis))``, computed stably (the maximum is subtracted first).

    >>> import numpy as np
    >>> round(float(logsumexp(np.array([1000.0, 1000.0]))), 6)
    1000.693147
    """
    shifted, shift = _shifted(_as_float_array(x), axis)
    total = fnp.sum(fnp.exp(shifted), axis=axis, keepdims=keepdims)
    return fnp.log(total) + fnp.reshape(shift, fnp.shape(total))


def log_softmax(x, axis: int = -1):
    """``x - logsumexp(x, axis)``: log-probabilities along ``axis``.

    >>> import numpy as np
    >>> np.round(np.exp(log_softmax(np.array([0.0, np.log(3.0)]))), 6)
    array([0.25, 0.75])
    """
    shifted, _ = _shifted(_as_float_array(x), axis)
    return shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis: int = -1):
    """``exp(x) / sum(exp(x), axis)``, computed stably.

    >>> import numpy as np
    >>> softmax(np.array([0.0, np.log(3.0)])).round(6)
    array([0.25, 0.75])
    """
    shifted, _ = _shifted(_as_float_array(x), axis)
    exponentials = fnp.exp(shifted)
    return exponentials / fnp.sum(exponentials, axis=axis, keepdims=True)


def _check_labels(labels, who: str):
    labels = labels if isinstance(labels, Tracer) else np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{who}: labels must be integer class indices, got dtype "
                        f"{labels.dtype.name} (cast with .astype(int))")
    return labels


def one_hot(labels, num_classes: int, dtype=np.float64):
    """``labels`` (integers) as one-hot rows of length ``num_classes``; a label outside
    ``[0, num_classes)`` gives a row of zeros (as in JAX).

    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    labels = _check_labels(labels, "one_hot")
    if isinstance(num_classes, Tracer) or int(num_classes) < 0:
        raise ValueError(f"one_hot: num_classes must be a non-negative int, got {num_classes!r}")
    hits = fnp.equal(labels[..., None], np.arange(int(num_classes)))
    return fnp.astype(hits, dtype)


def cross_entropy(logits, labels, ignore_index: int = -100):
    """Mean softmax cross-entropy of ``logits`` ``(N, C)`` against integer ``labels``
    ``(N,)`` (PyTorch's ``cross_entropy`` with its defaults): rows whose label is
    ``ignore_index`` (-100, PyTorch's padding label) are left out of the mean, and any other
    label outside ``[0, C)`` is an ``IndexError`` where the labels are concrete (under ``jit``,
    where they are not known, such a row adds 0 to the sum: its one-hot row is zeros).
    Floating ``labels`` of the logits' shape are class probabilities (PyTorch's soft targets,
    e.g. one-hot or smoothed rows): the mean of ``-sum(labels * log_softmax(logits), -1)``.

    >>> import numpy as np
    >>> round(float(cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 6)   # log 4
    1.386294
    >>> round(float(cross_entropy(np.zeros((2, 4)), np.array([1, -100]))), 6)   # one row
    1.386294
    >>> round(float(cross_entropy(np.zeros((2, 4)), np.eye(4)[[1, 3]])), 6)   # probabilities
    1.386294
    """
    logits = _as_float_array(logits)
    given = labels if isinstance(labels, Tracer) else np.asarray(labels)
    if given.dtype.kind in "fc" and tuple(given.shape) == tuple(logits.shape):
        # PyTorch's class-probability targets (one-hot or smoothed rows): the mean over rows
        # of -sum(p log softmax(logits)).
        probabilities = fnp.astype(given, logits.dtype)   # the loss in the logits' dtype
        return -fnp.mean(fnp.sum(probabilities * log_softmax(logits), axis=-1))
    labels = _check_labels(labels, "cross_entropy")
    if logits.ndim < 1 or tuple(labels.shape) != tuple(logits.shape[:-1]):
        shape = tuple(logits.shape)
        hint = (" (the classes are the last axis here; PyTorch's (N, C, d1, ...) has them on "
                "axis 1: pass fnp.moveaxis(logits, 1, -1))"
                if len(shape) >= 3 and tuple(labels.shape) == shape[:1] + shape[2:] else "")
        raise ValueError(f"cross_entropy: logits of shape {shape} need labels of shape "
                         f"{shape[:-1]} (one class index per row), got "
                         f"{tuple(labels.shape)}{hint}")
    classes = logits.shape[-1]
    if not isinstance(labels, Tracer):
        wrong = (labels != ignore_index) & ((labels < 0) | (labels >= classes))
        if wrong.any():
            raise IndexError(f"cross_entropy: label {labels[wrong].flat[0]} is out of bounds "
                             f"for {classes} classes (labels must be in [0, {classes}), or "
                             f"ignore_index={ignore_index} to leave a row out)")
    picked = fnp.sum(one_hot(labels, classes, logits.dtype) * log_softmax(logits), axis=-1)
    kept = fnp.not_equal(labels, ignore_index)
    if not isinstance(kept, Tracer) and kept.all():
        return -fnp.mean(picked)
    # PyTorch's mean over the rows that are kept (nan when none is, as there)
    kept = fnp.astype(kept, picked.dtype)
    return -fnp.sum(picked * kept) / fnp.sum(kept)


def mse_loss(prediction, target):
    """Mean squared error; the shapes must be equal (a silent broadcast of ``(N, 1)`` against
    ``(N,)`` is a classic bug, so it is an error here).

    >>> import numpy as np
    >>> float(mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    2.0
    """
    prediction, target = _as_float_array(prediction), _as_float_array(target)
    if tuple(prediction.shape) != tuple(target.shape):
        raise ValueError(f"mse_loss: prediction has shape {tuple(prediction.shape)} but target "
                         f"has shape {tuple(target.shape)}; reshape one of them")
    return fnp.mean((prediction - target) ** 2)


# ------------------------------------------------------------------ more of jax.nn's activations
# At kinks the derivatives follow PyTorch (see API.md): a piecewise function is written with
# ``where`` on strict comparisons, so the derivative at a boundary is that of the branch PyTorch
# takes there. Branches that could overflow get a safe argument (the "double where"), so the
# unused branch never feeds ``inf * 0 = nan`` into a gradient.

def identity(x):
    """``x`` itself (``jax.nn.identity``).

    >>> float(identity(2.0))
    2.0
    """
    return _as_float_array(x)


def relu6(x):
    """``min(max(x, 0), 6)``; derivative 0 at both kinks (PyTorch's ``relu6``).

    >>> float(relu6(-1.0)), float(relu6(3.0)), float(relu6(7.0))
    (0.0, 3.0, 6.0)
    """
    x = _as_float_array(x)
    return fnp.where(x <= 0, 0.0, fnp.where(x >= 6, 6.0, x))


def hard_tanh(x, min_val: float = -1.0, max_val: float = 1.0):
    """``clip(x, min_val, max_val)``; derivative 0 at the kinks (PyTorch's ``hardtanh``).

    >>> float(hard_tanh(-3.0)), float(hard_tanh(0.5)), float(hard_tanh(3.0))
    (-1.0, 0.5, 1.0)
    """
    x = _as_float_array(x)
    return fnp.where(x <= min_val, float(min_val), fnp.where(x >= max_val, float(max_val), x))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (PyTorch's ``hardsigmoid``).

    >>> float(hard_sigmoid(0.0)), float(hard_sigmoid(4.0))
    (0.5, 1.0)
    """
    x = _as_float_array(x)
    return relu6(x + 3.0) * (1.0 / 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (PyTorch's ``hardswish``); ``hard_swish`` is the same.

    >>> float(hard_silu(1.0)) == 1.0 * 4.0 / 6.0
    True
    """
    x = _as_float_array(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def silu(x):
    """The sigmoid linear unit ``x * sigmoid(x)``; ``swish`` is the same.

    >>> round(float(silu(1.0)), 6)
    0.731059
    """
    x = _as_float_array(x)
    return x * sigmoid(x)


swish = silu


def softplus(x):
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)`` (no overflow; PyTorch switches to
    ``x`` above ``x = 20``, which differs from this by ``exp(-20)`` at most).

    >>> round(float(softplus(0.0)), 6), float(softplus(1000.0))
    (0.693147, 1000.0)
    """
    x = _as_float_array(x)
    return fnp.logaddexp(x, 0.0)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> round(float(log_sigmoid(0.0)), 6), float(log_sigmoid(-1000.0))
    (-0.693147, -1000.0)
    """
    x = _as_float_array(x)
    return -softplus(-x)


def soft_sign(x):
    """``x / (|x| + 1)``.

    >>> float(soft_sign(1.0))
    0.5
    """
    x = _as_float_array(x)
    return x / (fnp.abs(x) + 1.0)


def _negative_part(x):
    """``x`` where ``x <= 0``, else 0: a safe argument for a branch used only there."""
    return fnp.where(x > 0, 0.0, x)


def elu(x, alpha: float = 1.0):
    """``x`` for ``x > 0``, ``alpha (exp(x) - 1)`` otherwise.

    >>> round(float(elu(-1.0)), 6), float(elu(2.0))
    (-0.632121, 2.0)
    """
    x = _as_float_array(x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(_negative_part(x)))


def celu(x, alpha: float = 1.0):
    """``x`` for ``x > 0``, ``alpha (exp(x / alpha) - 1)`` otherwise.

    >>> round(float(celu(-1.0, alpha=2.0)), 6)
    -0.786939
    """
    x = _as_float_array(x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(_negative_part(x) * (1.0 / alpha)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """``scale * elu(x, alpha)`` with the self-normalising constants (Klambauer et al.).

    >>> round(float(selu(1.0)), 6)
    1.050701
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def leaky_relu(x, negative_slope: float = 0.01):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise (derivative ``negative_slope``
    at 0, as PyTorch).

    >>> float(leaky_relu(-2.0)), float(leaky_relu(2.0))
    (-0.02, 2.0)
    """
    x = _as_float_array(x)
    return fnp.where(x > 0, x, negative_slope * x)


def glu(x, axis: int = -1):
    """The gated linear unit: ``x`` split in two halves ``a, b`` along ``axis``, then
    ``a * sigmoid(b)``.

    >>> import numpy as np
    >>> float(glu(np.array([2.0, 0.0]))[0])
    1.0
    """
    x = _as_float_array(x)
    if x.ndim == 0 or x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, got shape "
                         f"{tuple(x.shape)}")
    a, b = fnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def mish(x):
    """``x * tanh(softplus(x))`` (Misra).

    >>> round(float(mish(1.0)), 6)
    0.865098
    """
    x = _as_float_array(x)
    return x * fnp.tanh(softplus(x))


def sparse_plus(x):
    """A piecewise-quadratic softplus: 0 for ``x <= -1``, ``(x + 1)**2 / 4`` for
    ``-1 < x < 1``, ``x`` for ``x >= 1`` (``jax.nn.sparse_plus``).

    >>> float(sparse_plus(-2.0)), float(sparse_plus(0.0)), float(sparse_plus(3.0))
    (0.0, 0.25, 3.0)
    """
    x = _as_float_array(x)
    return fnp.where(x <= -1, 0.0, fnp.where(x >= 1, x, 0.25 * (x + 1.0) ** 2))


def sparse_sigmoid(x):
    """The derivative of ``sparse_plus``: ``clip((x + 1) / 2, 0, 1)``.

    >>> float(sparse_sigmoid(0.0))
    0.5
    """
    x = _as_float_array(x)
    return fnp.where(x <= -1, 0.0, fnp.where(x >= 1, 1.0, 0.5 * (x + 1.0)))


def squareplus(x, b: float = 4.0):
    """``(x + sqrt(x**2 + b)) / 2`` (So, 2021).

    >>> float(squareplus(0.0))
    1.0
    """
    x = _as_float_array(x)
    return 0.5 * (x + fnp.sqrt(x * x + b))


def standardize(x, axis=-1, mean=None, variance=None, epsilon: float = 1e-5):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis``, the mean and (biased)
    variance computed from ``x`` where not given (``jax.nn.standardize``).

    >>> import numpy as np
    >>> standardize(np.array([1.0, 3.0]), epsilon=0.0)
    array([-1.,  1.])
    """
    x = _as_float_array(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True)
    centered = x - mean
    if variance is None:
        variance = fnp.mean(centered * centered, axis=axis, keepdims=True)
    return centered / fnp.sqrt(variance + epsilon)


def boolean_mask(mask, who: str, what: str = "mask", meaning: str = "True where a query "
                 "may attend to a key (JAX's convention)", instead: str = "bias="):
    """``mask`` (None, or a boolean array) as a bool array or tracer; any other dtype is a
    TypeError, as in JAX: read as bools, PyTorch's additive float mask (0 where allowed,
    -inf where not) would be inverted."""
    if mask is None:
        return None
    mask = mask if isinstance(mask, Tracer) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{who}: {what} must be boolean, {meaning}, got dtype "
                        f"{mask.dtype.name}; for an additive float mask (PyTorch's float "
                        f"masks, 0 or -inf) use {instead}")
    return mask


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal: bool = False):
    """Scaled dot-product attention in JAX's layout: ``query`` ``(..., T, N, H)``, ``key`` and
    ``value`` ``(..., S, N, H)`` (sequence, heads, head size; leading batch axes optional);
    returns ``(..., T, N, H)``.

    ``softmax(scale * q . k + bias)`` over the ``S`` axis, then the weighted sum of ``value``;
    ``scale`` defaults to ``1 / sqrt(H)``. ``mask`` is boolean, broadcastable to
    ``(..., N, T, S)``, ``True`` where a query may attend to a key (JAX's convention); with
    ``is_causal`` query ``t`` sees keys ``s <= t`` only. A query whose keys are all masked
    attends uniformly to all of them (as JAX's, and not ``nan``).

    >>> import numpy as np
    >>> q = k = v = np.ones((2, 1, 4))
    >>> dot_product_attention(q, k, v, is_causal=True).shape
    (2, 1, 4)
    """
    query, key, value = (_as_float_array(t) for t in (query, key, value))
    if query.ndim < 3 or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"dot_product_attention: query, key and value need the shapes "
                         f"(..., T, N, H), (..., S, N, H), (..., S, N, H); got "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    mask = boolean_mask(mask, "dot_product_attention")
    head_size = query.shape[-1]
    scale = 1.0 / math.sqrt(head_size) if scale is None else float(scale)
    logits = fnp.einsum("...tnh,...snh->...nts", query, key) * scale
    if bias is not None:
        logits = logits + bias
    if is_causal:
        causal = np.tril(np.ones((query.shape[-3], key.shape[-3]), dtype=bool))
        mask = causal if mask is None else fnp.logical_and(mask, causal)
    if mask is not None:
        dtype = logits.dtype
        logits = fnp.where(mask, logits, float(np.finfo(dtype).min) * 0.7)
    weights = softmax(logits, axis=-1)
    return fnp.einsum("...nts,...snh->...tnh", weights, value)
