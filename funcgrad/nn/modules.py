"""Modules of ``fg.nn``: explicit parameters, explicit state, an explicit mode.

A module is a small object with two methods (subclassing ``Module`` is optional):

- ``init(key) -> (params, state)``: pytrees (nested dicts) of arrays; ``params`` are what
  training differentiates, ``state`` what a forward pass updates (BatchNorm's running
  statistics);
- ``apply(params, state, x, *, train, key=None) -> (y, state)``: a pure function. ``train``
  is a required keyword (there is no hidden mode), ``key`` feeds randomness (Dropout), and the
  new state is returned, never written in place.
"""
from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence

import numpy as np

from .. import numpy as fnp
from .. import random
from ..core.trace import Tracer
from ..ops.special import stop_gradient

__all__ = ["Module", "Linear", "BatchNorm", "Dropout", "Lambda", "Sequential", "LayerNorm",
           "RMSNorm", "GroupNorm", "Embedding", "MultiHeadAttention", "LSTMCell", "GRUCell",
           "RNN"]


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, (Tracer, np.ndarray)):
        return f"an array of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


class Module(abc.ABC):
    """The module protocol; subclasses implement ``init`` and ``apply``.

    >>> import funcgrad as fg
    >>> import funcgrad.numpy as fnp
    >>> class Scale(Module):
    ...     def init(self, key):
    ...         return {"scale": fnp.ones(())}, {}
    ...     def apply(self, params, state, x, *, train, key=None):
    ...         return params["scale"] * x, state
    >>> params, state = Scale().init(fg.random.key(0))
    >>> Scale().apply(params, state, 3.0, train=False)
    (array(3.), {})
    """

    @abc.abstractmethod
    def init(self, key):
        """``init(key) -> (params, state)``: pytrees of arrays."""

    @abc.abstractmethod
    def apply(self, params, state, x, *, train: bool, key=None):
        """``apply(params, state, x, *, train, key=None) -> (y, state)``."""

    def _check_no_params(self, params, state, train) -> None:
        """The checks of a module without parameters or state (Dropout, Lambda)."""
        self._check_train(train)
        self._check_dict(params, "params", ())
        self._check_dict(state, "state", ())

    # -------------------------------------------------------------- checks with clear errors
    def _check_train(self, train) -> None:
        if not isinstance(train, (bool, np.bool_)):
            raise TypeError(f"{self!r}.apply: train must be True or False (a Python bool, "
                            f"fixed while tracing), got {train!r}")

    def _check_dict(self, value, what: str, keys) -> None:
        """``value`` must be a dict with exactly ``keys``, as ``init`` returns it."""
        if not isinstance(value, dict) or set(value) != set(keys):
            raise ValueError(f"{self!r}: {what} must be a dict with keys {sorted(keys)} (as "
                             f"{type(self).__name__}.init returns it), got {_describe(value)}")

    def _check_shape(self, value, what: str, shape) -> None:
        if tuple(np.shape(value)) != tuple(shape):
            raise ValueError(f"{self!r}: {what} must have shape {tuple(shape)}, got "
                             f"{tuple(np.shape(value))}")


class Linear(Module):
    """``y = x @ weight.T + bias``, PyTorch's layout and initialisation.

    ``weight`` has shape ``(out_features, in_features)``; both it and ``bias`` are drawn
    uniformly from ``[-1/sqrt(in_features), 1/sqrt(in_features))``, as ``torch.nn.Linear``
    does. ``x`` has ``in_features`` on its last axis.

    >>> import funcgrad as fg, numpy as np
    >>> layer = Linear(3, 2)
    >>> params, state = layer.init(fg.random.key(0))
    >>> params["weight"].shape, params["bias"].shape
    ((2, 3), (2,))
    >>> y, state = layer.apply(params, state, np.ones((5, 3)), train=False)
    >>> y.shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=np.float64):
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.bias = bool(bias)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        extra = "" if self.bias else ", bias=False"
        return f"Linear({self.in_features}, {self.out_features}{extra})"

    def init(self, key):
        weight_key, bias_key = random.split(key)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        params = {"weight": random.uniform(weight_key, (self.out_features, self.in_features),
                                           self.dtype, -bound, bound)}
        if self.bias:
            params["bias"] = random.uniform(bias_key, (self.out_features,), self.dtype,
                                            -bound, bound)
        return params, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight", "bias") if self.bias else ("weight",))
        self._check_dict(state, "state", ())
        self._check_shape(params["weight"], "params['weight']",
                          (self.out_features, self.in_features))
        x = x if isinstance(x, Tracer) else np.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected an input with {self.in_features} features on "
                             f"its last axis, got an input of shape {tuple(x.shape)}")
        y = fnp.matmul(x, fnp.transpose(params["weight"]))
        if self.bias:
            y = y + params["bias"]
        return y, state


class BatchNorm(Module):
    """Batch normalisation per channel, axis 1 of ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)``
    or ``(N, C, D, H, W)`` inputs, with PyTorch's ``BatchNorm1d``/``2d``/``3d`` numbers (the
    statistics of a channel pool the batch and every spatial position).

    - ``train=True``: normalises with the batch mean and the *biased* batch variance, and
      returns the state with ``mean <- (1 - momentum) mean + momentum batch_mean`` and
      ``var <- (1 - momentum) var + momentum unbiased_batch_var`` (``n / (n - 1)`` times the
      biased one). The statistics carry no derivative. ``momentum=None`` makes the running
      statistics a cumulative average, as PyTorch's: the state then also counts the batches
      seen (``num_batches_tracked``, an int64) and the ``k``-th update uses ``1 / k``.
    - ``train=False``: normalises with the running statistics; the state comes back as it was.

    Then ``y = x_hat * weight + bias`` (params ``weight`` = 1, ``bias`` = 0 at init; state
    ``mean`` = 0, ``var`` = 1).

    ``sync=True`` (data-parallel training, ``fg.distributed``): in training the statistics
    pool the batches of every rank (each rank's sums and counts go through
    ``fg.distributed.allreduce``, and so does the derivative), so that on shards of one batch
    the outputs, state and gradients are those of the whole batch on one process, and the
    state stays the same on every rank. In one process it changes nothing.

    >>> import funcgrad as fg, numpy as np
    >>> bn = BatchNorm(2)
    >>> params, state = bn.init(fg.random.key(0))
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> y, new_state = bn.apply(params, state, x, train=True)
    >>> y.round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> new_state["mean"], new_state["var"]
    (array([0.2, 2. ]), array([ 1.1, 20.9]))
    >>> y, same = bn.apply(params, new_state, x, train=False)   # running statistics
    >>> same is new_state
    True
    """

    def __init__(self, num_features: int, momentum: float | None = 0.1, eps: float = 1e-5,
                 dtype=np.float64, *, sync: bool = False):
        if not isinstance(sync, bool):
            raise TypeError(f"BatchNorm: sync must be True (pool the statistics over the "
                            f"ranks of fg.distributed) or False, got {type(sync).__name__}")
        self.sync = sync
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1] or None (a cumulative "
                             f"average), got {momentum}")
        self.num_features = int(num_features)
        self.momentum = None if momentum is None else float(momentum)
        self.eps = float(eps)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        extra = (", momentum=None" if self.momentum is None else "") + \
            (", sync=True" if self.sync else "")
        return f"BatchNorm({self.num_features}{extra})"

    def init(self, key):
        features = (self.num_features,)
        params = {"weight": np.ones(features, self.dtype), "bias": np.zeros(features, self.dtype)}
        state = {"mean": np.zeros(features, self.dtype), "var": np.ones(features, self.dtype)}
        if self.momentum is None:
            state["num_batches_tracked"] = np.zeros((), np.int64)
        return params, state

    def _state_keys(self):
        return ("mean", "var") if self.momentum is not None else \
            ("mean", "var", "num_batches_tracked")

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight", "bias"))
        self._check_dict(state, "state", self._state_keys())
        for name in ("mean", "var"):
            self._check_shape(state[name], f"state['{name}']", (self.num_features,))
        x = x if isinstance(x, Tracer) else np.asarray(x)
        if not 2 <= x.ndim <= 5 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected an input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, *spatial) with 1 to 3 spatial axes "
                             f"(L; H, W; D, H, W), got {tuple(x.shape)}")
        axes = (0,) + tuple(range(2, x.ndim))
        as_feature_column = (1, self.num_features) + (1,) * (x.ndim - 2)

        def column(v):
            # (N, C): a (C,) vector broadcasts along the rows as it is (no reshape to record)
            return v if x.ndim == 2 else fnp.reshape(v, as_feature_column)

        if train:
            count = math.prod(x.shape[a] for a in axes)
            if count < 2 and not self.sync:
                raise ValueError(f"{self!r}: train=True needs more than one value per feature "
                                 f"to estimate a variance, got an input of shape "
                                 f"{tuple(x.shape)} (use train=False for single examples)")
            if self.sync:
                mean, centered, variance, count = _synced_statistics(x, axes, count, column)
            else:
                mean = fnp.mean(x, axis=axes)
                centered = x - column(mean)
                variance = fnp.mean(centered * centered, axis=axes)   # biased, for normalising
            normalized = centered / column(fnp.sqrt(variance + self.eps))
            state = self._updated(state, stop_gradient(mean),
                                  stop_gradient(variance) * (count / (count - 1)))
        else:
            normalized = (x - column(state["mean"])) / column(fnp.sqrt(state["var"] + self.eps))
        return normalized * column(params["weight"]) + column(params["bias"]), state

    def _updated(self, state, batch_mean, unbiased_variance):
        new = {}
        if self.momentum is None:       # cumulative average: the k-th batch weighs 1/k
            count = state["num_batches_tracked"]
            count_dtype = count.dtype if hasattr(count, "dtype") else np.dtype(np.int64)
            new["num_batches_tracked"] = fnp.astype(count + 1, count_dtype)
            take = 1.0 / fnp.astype(new["num_batches_tracked"], np.float64)
            keep = 1.0 - take
        else:
            keep, take = 1.0 - self.momentum, self.momentum
        for name, batch_value in (("mean", batch_mean), ("var", unbiased_variance)):
            old = state[name]
            dtype = old.dtype if hasattr(old, "dtype") else np.dtype(np.float64)
            # The state keeps its dtype, so that a jitted step sees the same signature.
            new[name] = fnp.astype(keep * old + take * batch_value, dtype)
        return new


def _synced_statistics(x, axes, count: int, column):
    """The mean and biased variance of every rank's ``x`` together, two passes as one process
    makes them (each an allreduce of sums), and the total count (a traced value)."""
    from .. import distributed
    counted = np.asarray(count, x.dtype)
    total, total_count = distributed.allreduce((fnp.sum(x, axis=axes), counted), "sum")
    mean = total / total_count
    centered = x - column(mean)
    squares = distributed.allreduce(fnp.sum(centered * centered, axis=axes), "sum")
    return mean, centered, squares / total_count, total_count


class Dropout(Module):
    """Zeroes each element with probability ``rate`` in training, scaling the rest by
    ``1 / (1 - rate)``; the identity with ``train=False``. Training needs a ``key``.

    >>> import funcgrad as fg, numpy as np
    >>> drop = Dropout(0.5)
    >>> params, state = drop.init(fg.random.key(0))
    >>> y, _ = drop.apply(params, state, np.ones(6), train=True, key=fg.random.key(1))
    >>> sorted(set(y.tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    >>> drop.apply(params, state, np.ones(2), train=False)[0]
    array([1., 1.])
    """

    def __init__(self, rate: float):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate}")
        self.rate = float(rate)

    def __repr__(self):
        return f"Dropout({self.rate})"

    def init(self, key):
        return {}, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_no_params(params, state, train)
        if not train or self.rate == 0.0:
            return x, state
        if key is None:
            raise ValueError(f"{self!r} needs a key when train=True: call apply(..., "
                             "train=True, key=key) with a fresh key for every step (e.g. from "
                             "fg.random.split), or use train=False to evaluate")
        x = x if isinstance(x, Tracer) else np.asarray(x)
        if self.rate == 1.0:
            return x * 0.0, state
        keep = 1.0 - self.rate
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        kept = random.bernoulli(key, np.asarray(keep, dtype), tuple(x.shape))
        return fnp.where(kept, x * (1.0 / keep), 0.0), state


class Lambda(Module):
    """A function ``x -> y`` as a module without parameters or state (``Sequential`` wraps
    plain functions in it, so activations can be listed as layers).

    >>> import funcgrad as fg
    >>> from funcgrad import nn
    >>> nn.Lambda(nn.relu).apply({}, {}, -1.0, train=True)
    (array(0.), {})
    """

    def __init__(self, function: Callable):
        if not callable(function):
            raise TypeError(f"Lambda: expected a function, got {type(function).__name__}")
        self.function = function

    def __repr__(self):
        return f"Lambda({getattr(self.function, '__name__', repr(self.function))})"

    def init(self, key):
        return {}, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_no_params(params, state, train)
        return self.function(x), state


class Sequential(Module):
    """Layers applied in order. Params and state are dicts keyed by the layer's position
    (``"0"``, ``"1"``, ...); a plain function in ``layers`` (``nn.relu``) is a ``Lambda``.

    ``init`` splits its key into one per layer; ``apply`` does the same with ``key`` when one
    is given, so every Dropout gets its own.

    >>> import funcgrad as fg, numpy as np
    >>> from funcgrad import nn
    >>> model = nn.Sequential([nn.Linear(4, 8), nn.BatchNorm(8), nn.relu, nn.Dropout(0.5),
    ...                        nn.Linear(8, 2)])
    >>> params, state = model.init(fg.random.key(0))
    >>> sorted(params), sorted(state["1"])
    (['0', '1', '2', '3', '4'], ['mean', 'var'])
    >>> x = np.ones((3, 4))
    >>> y, state = model.apply(params, state, x, train=True, key=fg.random.key(1))
    >>> y, _ = model.apply(params, state, x, train=False)
    >>> y.shape
    (3, 2)
    """

    def __init__(self, layers: Sequence):
        wrapped = []
        for position, layer in enumerate(layers):
            if hasattr(layer, "init") and hasattr(layer, "apply"):
                wrapped.append(layer)
            elif callable(layer):
                wrapped.append(Lambda(layer))
            else:
                raise TypeError(f"Sequential: layer {position} is a {type(layer).__name__}, "
                                "neither a module (init and apply) nor a function")
        self.layers = tuple(wrapped)
        self.names = tuple(str(i) for i in range(len(wrapped)))

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"

    def init(self, key):
        keys = random.split(key, len(self.layers))
        params, state = {}, {}
        for name, layer, layer_key in zip(self.names, self.layers, keys):
            params[name], state[name] = layer.init(layer_key)
        return params, state

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        if not isinstance(params, dict) or set(params) != set(self.names):
            raise ValueError(f"Sequential: params must be a dict with keys {list(self.names)} "
                             f"(one per layer, as Sequential.init returns it), got "
                             f"{_describe(params)}")
        if not isinstance(state, dict) or set(state) != set(self.names):
            raise ValueError(f"Sequential: state must be a dict with keys {list(self.names)} "
                             f"(one per layer, as Sequential.init returns it), got "
                             f"{_describe(state)}")
        keys = [None] * len(self.layers) if key is None else random.split(key, len(self.layers))
        new_state = {}
        for name, layer, layer_key in zip(self.names, self.layers, keys):
            try:
                x, new_state[name] = layer.apply(params[name], state[name], x, train=train,
                                                 key=layer_key)
            except ValueError as error:
                if type(error) is not ValueError:
                    raise
                # Say where in the model the failing layer sits.
                raise ValueError(f"Sequential layer {name}: {error}") from None
        return x, new_state


# ----------------------------------------------------------------------------- normalisation

def _as_input(x):
    return x if isinstance(x, Tracer) else np.asarray(x)


def _normalized_shape(shape, who: str) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not shape or any(int(n) < 1 for n in shape):
        raise ValueError(f"{who}: the normalised shape must be positive sizes, got {shape}")
    return tuple(int(n) for n in shape)


class LayerNorm(Module):
    """Normalises over the last ``len(dim)`` axes (``dim`` an int or a shape), then scales and
    shifts elementwise: ``torch.nn.LayerNorm(dim, eps, elementwise_affine, bias)``'s numbers
    (biased variance), params ``weight`` (ones) and ``bias`` (zeros) of shape ``dim``.

    >>> import funcgrad as fg, numpy as np
    >>> norm = LayerNorm(2)
    >>> params, state = norm.init(fg.random.key(0))
    >>> norm.apply(params, state, np.array([[1.0, 3.0]]), train=False)[0].round(4)
    array([[-1.,  1.]])
    """

    def __init__(self, dim, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=np.float64):
        self.shape = _normalized_shape(dim, "LayerNorm")
        self.eps = float(eps)
        self.affine = bool(elementwise_affine)
        self.bias = bool(bias) and self.affine
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        dim = self.shape[0] if len(self.shape) == 1 else self.shape
        return f"LayerNorm({dim})"

    def _keys(self):
        return (("weight", "bias") if self.bias else ("weight",)) if self.affine else ()

    def init(self, key):
        params = {}
        if self.affine:
            params["weight"] = np.ones(self.shape, self.dtype)
        if self.bias:
            params["bias"] = np.zeros(self.shape, self.dtype)
        return params, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", self._keys())
        self._check_dict(state, "state", ())
        x = _as_input(x)
        k = len(self.shape)
        if tuple(x.shape[x.ndim - k:]) != self.shape or x.ndim < k:
            raise ValueError(f"{self!r}: expected an input ending in shape {self.shape}, got "
                             f"{tuple(x.shape)}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = fnp.mean(x, axis=axes, keepdims=True)
        centered = x - mean
        variance = fnp.mean(centered * centered, axis=axes, keepdims=True)
        y = centered / fnp.sqrt(variance + self.eps)
        if self.affine:
            y = y * params["weight"]
        if self.bias:
            y = y + params["bias"]
        return y, state


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``len(dim)`` axes, as
    ``torch.nn.RMSNorm``: ``eps=None`` means the input dtype's machine epsilon.

    >>> import funcgrad as fg, numpy as np
    >>> norm = RMSNorm(2, eps=0.0)
    >>> params, state = norm.init(fg.random.key(0))
    >>> norm.apply(params, state, np.array([3.0, 4.0]), train=False)[0].round(4)
    array([0.8485, 1.1314])
    """

    def __init__(self, dim, eps: float | None = None, elementwise_affine: bool = True,
                 dtype=np.float64):
        self.shape = _normalized_shape(dim, "RMSNorm")
        self.eps = None if eps is None else float(eps)
        self.affine = bool(elementwise_affine)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        dim = self.shape[0] if len(self.shape) == 1 else self.shape
        return f"RMSNorm({dim})"

    def init(self, key):
        return ({"weight": np.ones(self.shape, self.dtype)} if self.affine else {}), {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight",) if self.affine else ())
        self._check_dict(state, "state", ())
        x = _as_input(x)
        k = len(self.shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.shape:
            raise ValueError(f"{self!r}: expected an input ending in shape {self.shape}, got "
                             f"{tuple(x.shape)}")
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        eps = float(np.finfo(dtype).eps) if self.eps is None else self.eps
        axes = tuple(range(x.ndim - k, x.ndim))
        y = x / fnp.sqrt(fnp.mean(x * x, axis=axes, keepdims=True) + eps)
        if self.affine:
            y = y * params["weight"]
        return y, state


class GroupNorm(Module):
    """``torch.nn.GroupNorm(num_groups, num_channels, eps, affine)``: inputs ``(N, C, *)``;
    the channels fall into ``num_groups`` groups, each normalised over its channels and all
    trailing axes (biased variance), then a per-channel ``weight`` and ``bias``.

    >>> import funcgrad as fg, numpy as np
    >>> norm = GroupNorm(1, 2)
    >>> params, state = norm.init(fg.random.key(0))
    >>> norm.apply(params, state, np.array([[1.0, 3.0]]), train=False)[0].round(4)
    array([[-1.,  1.]])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=np.float64):
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        if self.num_groups < 1 or self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be a multiple of "
                             f"num_groups ({num_groups})")
        self.eps, self.affine = float(eps), bool(affine)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        return f"GroupNorm({self.num_groups}, {self.num_channels})"

    def init(self, key):
        if not self.affine:
            return {}, {}
        features = (self.num_channels,)
        return {"weight": np.ones(features, self.dtype),
                "bias": np.zeros(features, self.dtype)}, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight", "bias") if self.affine else ())
        self._check_dict(state, "state", ())
        x = _as_input(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{self!r}: expected an input of shape (N, {self.num_channels}, "
                             f"...), got {tuple(x.shape)}")
        n, rest = x.shape[0], tuple(x.shape[2:])
        grouped = fnp.reshape(x, (n, self.num_groups, -1))
        mean = fnp.mean(grouped, axis=-1, keepdims=True)
        centered = grouped - mean
        variance = fnp.mean(centered * centered, axis=-1, keepdims=True)
        y = fnp.reshape(centered / fnp.sqrt(variance + self.eps), tuple(x.shape))
        if self.affine:
            column = (1, self.num_channels) + (1,) * len(rest)
            y = y * fnp.reshape(params["weight"], column) + fnp.reshape(params["bias"], column)
        return y, state


# --------------------------------------------------------------------------------- Embedding

class Embedding(Module):
    """A lookup table: integer indices ``(...)`` to rows of ``weight`` ``(num, dim)``,
    giving ``(..., dim)``; ``weight`` starts standard normal (``torch.nn.Embedding``).

    ``padding_idx``, as torch's: that row starts as zeros and gets no gradient, so training
    leaves it as it is (a negative one counts from the end).

    >>> import funcgrad as fg, numpy as np
    >>> table = Embedding(10, 3)
    >>> params, state = table.init(fg.random.key(0))
    >>> table.apply(params, state, np.array([[1, 2], [3, 4]]), train=False)[0].shape
    (2, 2, 3)
    >>> padded = Embedding(10, 3, padding_idx=0)
    >>> params, state = padded.init(fg.random.key(0))
    >>> print(padded.apply(params, state, np.array([0]), train=False)[0])
    [[0. 0. 0.]]
    """

    def __init__(self, num: int, dim: int, dtype=np.float64, padding_idx=None):
        self.num, self.dim = int(num), int(dim)
        self.dtype = np.dtype(dtype)
        if padding_idx is not None:
            if not isinstance(padding_idx, (int, np.integer)) or isinstance(padding_idx, bool) \
                    or not -self.num <= padding_idx < self.num:
                raise ValueError(f"Embedding: padding_idx must be an int in [-{self.num}, "
                                 f"{self.num}), got {padding_idx!r}")
            padding_idx = int(padding_idx) % self.num
        self.padding_idx = padding_idx

    def __repr__(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"Embedding({self.num}, {self.dim}{padding})"

    def init(self, key):
        weight = random.normal(key, (self.num, self.dim), self.dtype)
        if self.padding_idx is not None:
            weight = weight.at[self.padding_idx].set(0.0)
        return {"weight": weight}, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight",))
        self._check_dict(state, "state", ())
        self._check_shape(params["weight"], "params['weight']", (self.num, self.dim))
        x = _as_input(x)
        if x.dtype.kind not in "iu":
            raise TypeError(f"{self!r}: expected integer indices, got dtype {x.dtype.name}")
        if not isinstance(x, Tracer) and x.size and (x.min() < 0 or x.max() >= self.num):
            raise IndexError(f"{self!r}: indices must lie in [0, {self.num}), got values in "
                             f"[{x.min()}, {x.max()}]")
        weight = params["weight"]
        if self.padding_idx is not None:   # the row's value, without its gradient
            row = self.padding_idx
            weight = weight.at[row].set(stop_gradient(weight[row]))
        return fnp.take(weight, x, axis=0), state


# --------------------------------------------------------------------------------- attention

class MultiHeadAttention(Module):
    """Multi-head attention with ``torch.nn.MultiheadAttention(dim, num_heads,
    batch_first=True)``'s parameters and numbers: inputs ``(B, T, dim)`` (or ``(T, dim)``),
    ``dim`` split into ``num_heads`` heads of ``dim // num_heads``.

    Params (PyTorch's state-dict names, ``.`` as nesting): ``in_proj_weight`` ``(3 dim, dim)``
    (query, key and value projections stacked, Xavier-uniform), ``in_proj_bias`` (zeros),
    ``out_proj`` ``{"weight": (dim, dim), "bias": (dim,)}`` (a Linear's initialisation, bias
    zero); ``bias=False`` drops both biases.

    ``apply(params, state, x, *, train, key=None, context=None, mask=None,
    key_padding_mask=None, is_causal=False)``: queries come from ``x``, keys and values from
    ``context`` (``x`` itself by default: self-attention). ``mask`` is boolean, ``True`` where
    attention is *allowed* (JAX's convention), broadcastable to ``(B, num_heads, T, S)``;
    ``key_padding_mask`` ``(B, S)`` is PyTorch's: ``True`` marks padding keys to *ignore*.
    ``is_causal`` (or ``causal=True`` at construction, for use in ``Sequential``) lets query
    ``t`` see keys ``s <= t`` only. Returns ``(B, T, dim)``.

    >>> import funcgrad as fg, numpy as np
    >>> attention = MultiHeadAttention(2, 4)
    >>> params, state = attention.init(fg.random.key(0))
    >>> y, _ = attention.apply(params, state, np.ones((3, 5, 4)), train=False, is_causal=True)
    >>> y.shape
    (3, 5, 4)
    """

    def __init__(self, num_heads: int, dim: int, bias: bool = True, causal: bool = False,
                 dtype=np.float64):
        self.num_heads, self.dim = int(num_heads), int(dim)
        if self.num_heads < 1 or self.dim % self.num_heads:
            raise ValueError(f"MultiHeadAttention: dim ({dim}) must be a multiple of num_heads "
                             f"({num_heads})")
        self.bias, self.causal = bool(bias), bool(causal)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        return f"MultiHeadAttention({self.num_heads}, {self.dim})"

    def _keys(self):
        return ("in_proj_weight", "in_proj_bias", "out_proj") if self.bias else \
            ("in_proj_weight", "out_proj")

    def init(self, key):
        from .initializers import xavier_uniform
        in_key, out_key = random.split(key)
        d = self.dim
        params = {"in_proj_weight": xavier_uniform(in_axis=1, out_axis=0)(
            in_key, (3 * d, d), self.dtype)}
        bound = 1.0 / math.sqrt(d)
        params["out_proj"] = {"weight": random.uniform(out_key, (d, d), self.dtype, -bound,
                                                       bound)}
        if self.bias:
            params["in_proj_bias"] = np.zeros((3 * d,), self.dtype)
            params["out_proj"]["bias"] = np.zeros((d,), self.dtype)
        return params, {}

    def apply(self, params, state, x, *, train: bool, key=None, context=None, mask=None,
              key_padding_mask=None, is_causal: bool = False):
        from .functions import boolean_mask, dot_product_attention
        self._check_train(train)
        mask = boolean_mask(mask, repr(self), instead="mask=(float_mask == 0)")
        key_padding_mask = boolean_mask(key_padding_mask, repr(self), "key_padding_mask",
                                        "True for a padding key to ignore (PyTorch's)",
                                        "key_padding_mask=(float_mask != 0)")
        self._check_dict(params, "params", self._keys())
        self._check_dict(state, "state", ())
        self._check_dict(params["out_proj"], "params['out_proj']",
                         ("weight", "bias") if self.bias else ("weight",))
        self._check_shape(params["in_proj_weight"], "params['in_proj_weight']",
                          (3 * self.dim, self.dim))
        x = _as_input(x)
        context = x if context is None else _as_input(context)
        for what, value in (("x", x), ("context", context)):
            if value.ndim not in (2, 3) or value.shape[-1] != self.dim:
                raise ValueError(f"{self!r}: {what} must have shape (B, T, {self.dim}) or "
                                 f"(T, {self.dim}), got {tuple(value.shape)}")
        if context.ndim != x.ndim or (x.ndim == 3 and context.shape[0] != x.shape[0]):
            raise ValueError(f"{self!r}: x {tuple(x.shape)} and context "
                             f"{tuple(context.shape)} need the same batch layout")
        unbatched = x.ndim == 2
        if unbatched:
            x, context = x[None], context[None]
        d, heads = self.dim, self.num_heads
        w = params["in_proj_weight"]
        projections = []
        for i, source in enumerate((x, context, context)):
            p = fnp.matmul(source, fnp.transpose(w[i * d:(i + 1) * d]))
            if self.bias:
                p = p + params["in_proj_bias"][i * d:(i + 1) * d]
            projections.append(fnp.reshape(p, tuple(source.shape[:2]) + (heads, d // heads)))
        if key_padding_mask is not None:
            padding = _as_input(key_padding_mask)
            if unbatched and padding.ndim == 1:
                padding = padding[None]
            if tuple(padding.shape) != (context.shape[0], context.shape[1]):
                raise ValueError(f"{self!r}: key_padding_mask must have shape (B, S) = "
                                 f"{(context.shape[0], context.shape[1])}, got "
                                 f"{tuple(padding.shape)}")
            keep = fnp.logical_not(padding)[:, None, None, :]
            mask = keep if mask is None else fnp.logical_and(mask, keep)
        y = dot_product_attention(*projections, mask=mask, is_causal=is_causal or self.causal)
        y = fnp.reshape(y, tuple(x.shape))
        y = fnp.matmul(y, fnp.transpose(params["out_proj"]["weight"]))
        if self.bias:
            y = y + params["out_proj"]["bias"]
        return (y[0] if unbatched else y), state


# ---------------------------------------------------------------------------- recurrent cells

class _Cell(Module):
    """Shared parts of the recurrent cells: PyTorch's parameter layout and initialisation
    (every parameter uniform on ``[-1/sqrt(hidden), 1/sqrt(hidden))``), and
    ``apply(params, state, (carry, x), *, train) -> ((carry, h), state)`` (``carry=None``
    starts from zeros)."""

    gates = 1

    def __init__(self, in_features: int, hidden_features: int, bias: bool = True,
                 dtype=np.float64):
        self.in_features, self.hidden_features = int(in_features), int(hidden_features)
        self.bias = bool(bias)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        return f"{type(self).__name__}({self.in_features}, {self.hidden_features})"

    def _keys(self):
        names = ("weight_ih", "weight_hh")
        return names + ("bias_ih", "bias_hh") if self.bias else names

    def init(self, key):
        g, h = self.gates * self.hidden_features, self.hidden_features
        shapes = {"weight_ih": (g, self.in_features), "weight_hh": (g, h),
                  "bias_ih": (g,), "bias_hh": (g,)}
        bound = 1.0 / math.sqrt(h) if h else 0.0
        names = self._keys()
        keys = random.split(key, len(names))
        return {name: random.uniform(k, shapes[name], self.dtype, -bound, bound)
                for name, k in zip(names, keys)}, {}

    def initial_carry(self, batch_shape=(), dtype=None):
        """The zero carry for inputs of shape ``batch_shape + (in_features,)``."""
        zeros = np.zeros(tuple(batch_shape) + (self.hidden_features,),
                         self.dtype if dtype is None else dtype)
        return self._carry_of(zeros)

    def _carry_of(self, zeros):
        return zeros

    def _projections(self, params, x, h):
        gx = fnp.matmul(x, fnp.transpose(params["weight_ih"]))
        gh = fnp.matmul(h, fnp.transpose(params["weight_hh"]))
        if self.bias:
            gx, gh = gx + params["bias_ih"], gh + params["bias_hh"]
        return gx, gh

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", self._keys())
        self._check_dict(state, "state", ())
        if not isinstance(x, tuple) or len(x) != 2:
            raise TypeError(f"{self!r}.apply: x must be a pair (carry, inputs) (carry None for "
                            f"zeros), got {_describe(x)}")
        carry, inputs = x
        inputs = _as_input(inputs)
        if inputs.ndim < 1 or inputs.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected inputs with {self.in_features} features on "
                             f"the last axis, got shape {tuple(inputs.shape)}")
        if carry is None:
            dtype = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(np.float64)
            carry = self.initial_carry(tuple(inputs.shape[:-1]), dtype)
        for part in (carry if isinstance(carry, (tuple, list)) else (carry,)):
            if tuple(np.shape(part))[-1:] != (self.hidden_features,):
                raise ValueError(f"{self!r}: the carry must have {self.hidden_features} "
                                 f"features on its last axis (initial_carry(batch_shape) "
                                 f"makes a zero one), got shape {tuple(np.shape(part))}")
        carry = self._step(params, carry, inputs)
        return (carry, self._output(carry)), state

    def _output(self, carry):
        return carry


class LSTMCell(_Cell):
    """``torch.nn.LSTMCell(in, hidden)``: carry ``(h, c)``, gates stacked ``i, f, g, o`` in
    ``weight_ih`` ``(4 hidden, in)``, ``weight_hh`` ``(4 hidden, hidden)``, ``bias_ih``,
    ``bias_hh``; ``c' = f c + i g``, ``h' = o tanh(c')``; the output is ``h'``.

    >>> import funcgrad as fg, numpy as np
    >>> cell = LSTMCell(3, 2)
    >>> params, state = cell.init(fg.random.key(0))
    >>> ((h, c), y), _ = cell.apply(params, state, (None, np.ones((5, 3))), train=False)
    >>> h.shape, c.shape, y is h
    ((5, 2), (5, 2), True)
    """

    gates = 4

    def _carry_of(self, zeros):
        return (zeros, zeros)

    def _output(self, carry):
        return carry[0]

    def _step(self, params, carry, x):
        from .functions import sigmoid
        if not isinstance(carry, (tuple, list)) or len(carry) != 2:
            raise TypeError(f"{self!r}: the carry must be a pair (h, c), got {_describe(carry)}")
        h, c = carry
        gx, gh = self._projections(params, x, h)
        i, f, g, o = fnp.split(gx + gh, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * fnp.tanh(g)
        return (sigmoid(o) * fnp.tanh(c), c)


class GRUCell(_Cell):
    """``torch.nn.GRUCell(in, hidden)``: carry ``h``, gates stacked ``r, z, n``;
    ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``; the output is
    ``h'``.

    >>> import funcgrad as fg, numpy as np
    >>> cell = GRUCell(3, 2)
    >>> params, state = cell.init(fg.random.key(0))
    >>> (h, y), _ = cell.apply(params, state, (None, np.ones(3)), train=False)
    >>> h.shape
    (2,)
    """

    gates = 3

    def _step(self, params, h, x):
        from .functions import sigmoid
        gx, gh = self._projections(params, x, h)
        rx, zx, nx = fnp.split(gx, 3, axis=-1)
        rh, zh, nh = fnp.split(gh, 3, axis=-1)
        r, z = sigmoid(rx + rh), sigmoid(zx + zh)
        n = fnp.tanh(nx + r * nh)
        return (1.0 - z) * n + z * h


class RNN(Module):
    """Runs a cell over a sequence with ``fg.scan``: inputs ``(B, T, in)`` (``batch_first``,
    the default; ``(T, B, in)`` otherwise) or ``(T, in)``; outputs the cell's output at every
    step, ``(B, T, hidden)`` in the input's layout. The params and state are the cell's.

    ``apply(..., initial_carry=None)`` starts from the cell's zero carry by default; with
    ``return_carry=True`` the result is ``(final_carry, outputs)``; ``reverse=True`` runs from
    the last step to the first (outputs keep the input's order).

    >>> import funcgrad as fg, numpy as np
    >>> rnn = RNN(GRUCell(3, 2))
    >>> params, state = rnn.init(fg.random.key(0))
    >>> rnn.apply(params, state, np.ones((4, 6, 3)), train=False)[0].shape
    (4, 6, 2)
    """

    def __init__(self, cell, batch_first: bool = True, reverse: bool = False,
                 return_carry: bool = False):
        if not (hasattr(cell, "init") and hasattr(cell, "apply")):
            raise TypeError(f"RNN: cell must be a module (LSTMCell, GRUCell, ...), got "
                            f"{type(cell).__name__}")
        self.cell = cell
        self.batch_first, self.reverse = bool(batch_first), bool(reverse)
        self.return_carry = bool(return_carry)

    def __repr__(self):
        return f"RNN({self.cell!r})"

    def init(self, key):
        return self.cell.init(key)

    def apply(self, params, state, x, *, train: bool, key=None, initial_carry=None):
        from ..control import scan
        self._check_train(train)
        x = _as_input(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"{self!r}: expected inputs (B, T, in), (T, B, in) or (T, in), "
                             f"got shape {tuple(x.shape)}")
        time_major = fnp.swapaxes(x, 0, 1) if (x.ndim == 3 and self.batch_first) else x
        if initial_carry is None:
            dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
            initial_carry = self.cell.initial_carry(tuple(time_major.shape[1:-1]), dtype)

        def step(carry, inputs):
            (carry, y), _ = self.cell.apply(params, state, (carry, inputs), train=train)
            return carry, y

        carry, ys = scan(step, initial_carry, time_major, reverse=self.reverse)
        if x.ndim == 3 and self.batch_first:
            ys = fnp.swapaxes(ys, 0, 1)
        return ((carry, ys) if self.return_carry else ys), state
