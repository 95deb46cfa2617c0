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
           "one_hot", "cross_entropy", "mse_loss"]


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


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy of ``logits`` ``(N, C)`` against integer ``labels``
    ``(N,)`` (PyTorch's ``cross_entropy`` with its defaults).

    >>> import numpy as np
    >>> round(float(cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 6)   # log 4
    1.386294
    """
    logits = _as_float_array(logits)
    labels = _check_labels(labels, "cross_entropy")
    if logits.ndim < 1 or tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"cross_entropy: logits of shape {tuple(logits.shape)} need labels of "
                         f"shape {tuple(logits.shape[:-1])} (one class index per row), got "
                         f"{tuple(labels.shape)}")
    picked = fnp.sum(one_hot(labels, logits.shape[-1], logits.dtype) * log_softmax(logits),
                     axis=-1)
    return -fnp.mean(picked)


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
