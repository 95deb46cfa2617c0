"""``fg.nn.initializers``: functions ``init(key, shape, dtype=float64) -> array``, with
``jax.nn.initializers``'s names and arguments, drawing from ``fg.random``'s keys.

``zeros`` and ``ones`` are initializers themselves; the others are factories that return one
(``glorot_uniform()(key, (3, 4))``). Fans follow JAX: for a kernel of shape ``shape``,
``fan_in = shape[in_axis] * receptive``, ``fan_out = shape[out_axis] * receptive``, where
``receptive`` is the product of the other axes (those not in, out or ``batch_axis``). JAX's
dense kernels are ``(in, out)`` (``in_axis=-2, out_axis=-1``, the defaults); for PyTorch's
``(out, in, *kernel)`` layouts, which ``fg.nn``'s layers use, pass ``in_axis=1, out_axis=0``.

One difference from JAX: ``fg.random`` has no truncated normal yet, so ``distribution=
"truncated_normal"`` is refused and the ``*_normal`` initializers draw from a plain normal
with the standard deviation ``sqrt(scale / fan)`` (as PyTorch's ``xavier_normal_`` and
``kaiming_normal_`` do); the variance is the same.

>>> import funcgrad as fg
>>> from funcgrad.nn import initializers
>>> w = initializers.he_normal(in_axis=1, out_axis=0)(fg.random.key(0), (64, 32))
>>> w.shape, w.dtype
((64, 32), dtype('float64'))
"""
from __future__ import annotations

import math

import numpy as np

from .. import numpy as fnp
from .. import random

__all__ = ["zeros", "ones", "constant", "normal", "uniform", "variance_scaling",
           "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
           "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
           "lecun_normal", "orthogonal"]


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def zeros(key, shape, dtype=np.float64):
    """An array of zeros (``key`` is ignored).

    >>> zeros(None, (2,))
    array([0., 0.])
    """
    return np.zeros(_shape(shape), np.dtype(dtype))


def ones(key, shape, dtype=np.float64):
    """An array of ones (``key`` is ignored).

    >>> ones(None, (2,))
    array([1., 1.])
    """
    return np.ones(_shape(shape), np.dtype(dtype))


def constant(value, dtype=np.float64):
    """An initializer filling with ``value``.

    >>> constant(0.5)(None, (2,))
    array([0.5, 0.5])
    """
    default = dtype

    def init(key, shape, dtype=default):
        return np.full(_shape(shape), value, np.dtype(dtype))
    return init


def normal(stddev: float = 1e-2, dtype=np.float64):
    """Normal draws with mean 0 and standard deviation ``stddev``."""
    default = dtype

    def init(key, shape, dtype=default):
        return random.normal(key, _shape(shape), np.dtype(dtype)) * np.asarray(stddev, dtype)
    return init


def uniform(scale: float = 1e-2, dtype=np.float64):
    """Uniform draws on ``[0, scale)`` (JAX's range; note: not symmetric)."""
    default = dtype

    def init(key, shape, dtype=default):
        return random.uniform(key, _shape(shape), np.dtype(dtype), 0.0, scale)
    return init


def _fans(shape, in_axis, out_axis, batch_axis):
    if len(shape) < 2:
        raise ValueError(f"initializers: fans need a shape with at least two axes (in and "
                         f"out), got {shape}")
    ndim = len(shape)
    in_axes = [a % ndim for a in np.atleast_1d(in_axis)]
    out_axes = [a % ndim for a in np.atleast_1d(out_axis)]
    batch_axes = [a % ndim for a in np.atleast_1d(np.asarray(batch_axis, dtype=int))]
    fan_in = math.prod(shape[a] for a in in_axes)
    fan_out = math.prod(shape[a] for a in out_axes)
    receptive = math.prod(n for a, n in enumerate(shape)
                          if a not in in_axes + out_axes + batch_axes)
    return fan_in * receptive, fan_out * receptive


def variance_scaling(scale: float, mode: str, distribution: str, in_axis=-2, out_axis=-1,
                     batch_axis=(), dtype=np.float64):
    """Draws with variance ``scale / fan``, ``fan`` one of ``"fan_in"``, ``"fan_out"``,
    ``"fan_avg"`` (their mean); ``distribution`` ``"normal"`` or ``"uniform"`` (on
    ``[-sqrt(3 scale / fan), sqrt(3 scale / fan))``; ``"untruncated_normal"`` is
    ``"normal"``).

    >>> import funcgrad as fg
    >>> w = variance_scaling(2.0, "fan_in", "uniform")(fg.random.key(0), (4000, 50))
    >>> round(float(w.var() * 4000 / 2.0), 1)
    1.0
    """
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                         f"got {mode!r}")
    if distribution == "untruncated_normal":      # JAX's name for the plain normal
        distribution = "normal"
    if distribution not in ("normal", "uniform"):
        extra = (" (fg.random has no truncated normal yet; 'normal' has the same variance)"
                 if distribution == "truncated_normal" else "")
        raise ValueError(f"variance_scaling: distribution must be 'normal' or 'uniform', "
                         f"got {distribution!r}{extra}")
    default = dtype

    def init(key, shape, dtype=default):
        shape, dtype = _shape(shape), np.dtype(dtype)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        if distribution == "normal":
            return random.normal(key, shape, dtype) * np.asarray(math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return random.uniform(key, shape, dtype, -limit, limit)
    return init


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """Glorot (Xavier) uniform: variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """Glorot (Xavier) normal: variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(1.0, "fan_avg", "normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """He (Kaiming) uniform: variance ``2 / fan_in``."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """He (Kaiming) normal: variance ``2 / fan_in``."""
    return variance_scaling(2.0, "fan_in", "normal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """LeCun uniform: variance ``1 / fan_in``."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float64):
    """LeCun normal: variance ``1 / fan_in``."""
    return variance_scaling(1.0, "fan_in", "normal", in_axis, out_axis, batch_axis, dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype=np.float64):
    """A (semi-)orthogonal matrix times ``scale``: the Q of a normal matrix's QR, with the
    signs fixed by R's diagonal; axis ``column_axis`` holds the columns, the other axes are
    flattened into rows (JAX's layout). Rows or columns, whichever are fewer, are orthonormal.

    >>> import funcgrad as fg, numpy as np
    >>> q = orthogonal()(fg.random.key(0), (5, 3))
    >>> np.allclose(q.T @ q, np.eye(3))
    True
    """
    default = dtype

    def init(key, shape, dtype=default):
        shape, dtype = _shape(shape), np.dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"orthogonal: needs a shape with at least two axes, got {shape}")
        axis = column_axis % len(shape)
        n_cols = shape[axis]
        n_rows = math.prod(shape) // n_cols
        tall = (max(n_rows, n_cols), min(n_rows, n_cols))
        q, r = fnp.linalg.qr(random.normal(key, tall, dtype))
        q = q * fnp.sign(fnp.diagonal(r))
        if n_rows < n_cols:
            q = fnp.transpose(q)
        rest = shape[:axis] + shape[axis + 1:]
        q = fnp.moveaxis(fnp.reshape(q, rest + (n_cols,)), -1, axis)
        return fnp.astype(q * scale, dtype)
    return init
