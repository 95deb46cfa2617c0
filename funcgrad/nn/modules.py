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

__all__ = ["Module", "Linear", "BatchNorm", "Dropout", "Lambda", "Sequential"]


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
    """Batch normalisation over the feature axis 1 of ``(N, C)`` or ``(N, C, L)`` inputs,
    with PyTorch's ``BatchNorm1d`` numbers.

    - ``train=True``: normalises with the batch mean and the *biased* batch variance, and
      returns the state with ``mean <- (1 - momentum) mean + momentum batch_mean`` and
      ``var <- (1 - momentum) var + momentum unbiased_batch_var`` (``n / (n - 1)`` times the
      biased one). The statistics carry no derivative.
    - ``train=False``: normalises with the running statistics; the state comes back as it was.

    Then ``y = x_hat * weight + bias`` (params ``weight`` = 1, ``bias`` = 0 at init; state
    ``mean`` = 0, ``var`` = 1).

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

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype=np.float64):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum}")
        self.num_features = int(num_features)
        self.momentum, self.eps = float(momentum), float(eps)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        return f"BatchNorm({self.num_features})"

    def init(self, key):
        features = (self.num_features,)
        params = {"weight": np.ones(features, self.dtype), "bias": np.zeros(features, self.dtype)}
        state = {"mean": np.zeros(features, self.dtype), "var": np.ones(features, self.dtype)}
        return params, state

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_train(train)
        self._check_dict(params, "params", ("weight", "bias"))
        self._check_dict(state, "state", ("mean", "var"))
        for name in ("mean", "var"):
            self._check_shape(state[name], f"state['{name}']", (self.num_features,))
        x = x if isinstance(x, Tracer) else np.asarray(x)
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected an input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {tuple(x.shape)}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        as_feature_column = (1, self.num_features) + (1,) * (x.ndim - 2)

        def column(v):
            return fnp.reshape(v, as_feature_column)

        if train:
            count = x.shape[0] * (x.shape[2] if x.ndim == 3 else 1)
            if count < 2:
                raise ValueError(f"{self!r}: train=True needs more than one value per feature "
                                 f"to estimate a variance, got an input of shape "
                                 f"{tuple(x.shape)} (use train=False for single examples)")
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
        keep, take = 1.0 - self.momentum, self.momentum
        new = {}
        for name, batch_value in (("mean", batch_mean), ("var", unbiased_variance)):
            old = state[name]
            dtype = old.dtype if hasattr(old, "dtype") else np.dtype(np.float64)
            # The state keeps its dtype, so that a jitted step sees the same signature.
            new[name] = fnp.astype(keep * old + take * batch_value, dtype)
        return new


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
