"""Convolution and pooling in ``fg.nn``: PyTorch's layouts and numbers, funcgrad's protocol.

Functions (``N, C, *spatial`` inputs with 1 to 3 spatial axes, as ``torch.nn.functional``):
``conv`` (``conv1d/2d/3d``), ``conv_transpose``, ``max_pool``, ``avg_pool``. Modules: ``Conv``,
``ConvTranspose``, ``MaxPool``, ``AvgPool``, ``Flatten``, with ``init(key) -> (params,
state)`` and ``apply(params, state, x, *, train, key=None) -> (y, state)``.

The convolutions bind the ``conv_general_dilated`` primitive (``funcgrad/ops/convolution.py``:
im2col and BLAS, both transposes again convolutions). Pooling is ``lax.reduce_window``: the window
primitives of ``funcgrad/ops/window.py`` (a fold of strided views; derivatives that are window
sums again), or for overlapping max-pool windows a fold of strided slices with ``maximum``.
Where a window has several maxima they share its gradient equally (funcgrad's convention
for ``max``; PyTorch gives it all to one of them).
"""
from __future__ import annotations

import math

import numpy as np

from .. import numpy as fnp
from .. import random
from ..core.trace import Tracer
from ..ops.convolution import conv_general_dilated
from .modules import Module

__all__ = ["conv", "conv_transpose", "max_pool", "avg_pool", "Conv", "ConvTranspose",
           "MaxPool", "AvgPool", "Flatten"]


def _as_input(x):
    return x if isinstance(x, Tracer) else np.asarray(x)


def _per_axis(value, count: int, name: str, who: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or one int per spatial axis, as a tuple of ``count`` ints >= ``minimum``."""
    values = (value,) * count if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != count or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{who}: {name} must be an int or {count} ints (one per spatial "
                         f"axis), got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{who}: {name} must be at least {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _check_input(x, spatial: int | None, who: str):
    x = _as_input(x)
    if spatial is None:
        spatial = x.ndim - 2
    if x.ndim != spatial + 2 or not 1 <= spatial <= 3:
        raise ValueError(f"{who}: expected an input of shape (N, C, *spatial) with "
                         f"{spatial if 1 <= spatial <= 3 else '1 to 3'} spatial axes, got "
                         f"shape {tuple(x.shape)}")
    return x, spatial


def _padding(padding, spatial: int, window, dilation, who: str):
    """PyTorch's padding argument as (low, high) pairs: ints, or ``"same"``/``"valid"``."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return [(0, 0)] * spatial
        if mode == "same":
            totals = [d * (k - 1) for k, d in zip(window, dilation)]
            return [(t // 2, t - t // 2) for t in totals]
        raise ValueError(f"{who}: padding must be an int, a tuple of ints, 'same' or 'valid', "
                         f"got {padding!r}")
    return [(p, p) for p in _per_axis(padding, spatial, "padding", who, minimum=0)]


# ---------------------------------------------------------------------------- functions

def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """``torch.nn.functional.conv1d/2d/3d``: ``x`` (N, C_in, *spatial), ``weight``
    (C_out, C_in / groups, *kernel), ``bias`` (C_out,) or None; ``padding`` an int, a tuple,
    ``"same"`` (stride 1) or ``"valid"``.

    >>> import numpy as np
    >>> conv(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), padding=1)[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])
    """
    who = "nn.conv"
    weight = _as_input(weight)
    x, spatial = _check_input(x, weight.ndim - 2, who)
    stride = _per_axis(stride, spatial, "stride", who)
    dilation = _per_axis(dilation, spatial, "dilation", who)
    if isinstance(padding, str) and padding.lower() == "same" and any(s != 1 for s in stride):
        raise ValueError(f"{who}: padding='same' needs stride 1 (as in PyTorch), got "
                         f"stride={stride}")
    pads = _padding(padding, spatial, weight.shape[2:], dilation, who)
    y = conv_general_dilated(x, weight, stride, pads, rhs_dilation=dilation,
                             feature_group_count=groups)
    if bias is not None:
        y = y + fnp.reshape(bias, (-1,) + (1,) * spatial)
    return y


def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                   groups: int = 1, dilation=1):
    """``torch.nn.functional.conv_transpose1d/2d/3d``: the gradient of ``conv`` with respect
    to its input. ``weight`` is (C_in, C_out / groups, *kernel); each spatial size becomes
    ``(n - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1``.

    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), stride=2).shape
    (1, 1, 5, 5)
    """
    who = "nn.conv_transpose"
    weight = _as_input(weight)
    x, spatial = _check_input(x, weight.ndim - 2, who)
    stride = _per_axis(stride, spatial, "stride", who)
    dilation = _per_axis(dilation, spatial, "dilation", who)
    padding = _per_axis(padding, spatial, "padding", who, minimum=0)
    extra = _per_axis(output_padding, spatial, "output_padding", who, minimum=0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{who}: output_padding must be smaller than stride or dilation, got "
                         f"output_padding={extra}, stride={stride}, dilation={dilation}")
    window = weight.shape[2:]
    c_in, c_out_per_group = weight.shape[:2]
    if c_in % groups:
        raise ValueError(f"{who}: groups={groups} must divide the weight's input channels "
                         f"({c_in})")
    # As a convolution: kernel (C_out, C_in / groups, *k), flipped; the input dilated by the
    # stride and padded by dilation (k - 1) - padding (plus output_padding at the end).
    kernel = fnp.reshape(weight, (groups, c_in // groups, c_out_per_group) + window)
    kernel = fnp.swapaxes(kernel, 1, 2)
    kernel = fnp.reshape(kernel, (groups * c_out_per_group, c_in // groups) + window)
    kernel = fnp.flip(kernel, tuple(range(2, 2 + spatial)))
    pads = [(d * (k - 1) - p, d * (k - 1) - p + e)
            for k, d, p, e in zip(window, dilation, padding, extra)]
    y = conv_general_dilated(x, kernel, (1,) * spatial, pads, lhs_dilation=stride,
                             rhs_dilation=dilation, feature_group_count=groups)
    if bias is not None:
        y = y + fnp.reshape(bias, (-1,) + (1,) * spatial)
    return y


def _pool_arguments(x, window, stride, padding, dilation, who):
    x, spatial = _check_input(x, None, who)
    window = _per_axis(window, spatial, "window", who)
    stride = window if stride is None else _per_axis(stride, spatial, "stride", who)
    padding = _per_axis(padding, spatial, "padding", who, minimum=0)
    dilation = _per_axis(dilation, spatial, "dilation", who)
    if any(2 * p > w for p, w in zip(padding, window)):
        raise ValueError(f"{who}: padding must be at most half the window (as in PyTorch), "
                         f"got padding={padding} for window={window}")
    ones = (1, 1)
    return (x, ones + window, ones + stride, [(0, 0)] * 2 + [(p, p) for p in padding],
            ones + dilation)


def max_pool(x, window, stride=None, padding=0, dilation=1):
    """``torch.nn.functional.max_pool1d/2d/3d`` on (N, C, *spatial): the maximum of each
    window (``stride`` defaults to the window; padding counts as ``-inf``). Where a window
    has several maxima they share its gradient equally (PyTorch gives it to one).

    >>> import numpy as np
    >>> max_pool(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    from .. import lax
    x, window, stride, pads, dilation = _pool_arguments(x, window, stride, padding, dilation,
                                                        "nn.max_pool")
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return lax.reduce_window(x, lowest, fnp.maximum, window, stride, pads,
                             window_dilation=dilation)


def avg_pool(x, window, stride=None, padding=0, count_include_pad: bool = True):
    """``torch.nn.functional.avg_pool1d/2d/3d`` on (N, C, *spatial): the mean of each window
    (``stride`` defaults to the window). Zero padding counts in the mean unless
    ``count_include_pad=False``.

    >>> import numpy as np
    >>> avg_pool(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    from .. import lax
    x, window, stride, pads, dilation = _pool_arguments(x, window, stride, padding, 1,
                                                        "nn.avg_pool")
    total = lax.reduce_window(x, 0.0, fnp.add, window, stride, pads)
    if count_include_pad or all(lo == 0 for lo, _ in pads):
        return total * (1.0 / math.prod(window))
    # The number of real (unpadded) elements in each window: a window sum of ones.
    counts = lax.reduce_window(np.ones((1, 1) + tuple(x.shape[2:]), x.dtype), 0.0, np.add,
                               window, stride, pads)
    return total / counts


# ------------------------------------------------------------------------------ modules

class Conv(Module):
    """A convolution layer, ``torch.nn.Conv1d/2d/3d``'s layout, arguments and initialisation.

    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are ints or one int per spatial
    axis; the number of spatial axes is ``len(kernel_size)``, or ``spatial_dims`` (default 2)
    where ``kernel_size`` is an int. ``padding`` may also be ``"same"`` or ``"valid"``.
    Params: ``weight`` (out_features, in_features / groups, *kernel) and ``bias``
    (out_features,), both uniform in ``[-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = in_features / groups * prod(kernel)``, as PyTorch draws them.

    >>> import funcgrad as fg, numpy as np
    >>> layer = Conv(3, 8, 3, padding=1)
    >>> params, state = layer.init(fg.random.key(0))
    >>> params["weight"].shape, params["bias"].shape
    ((8, 3, 3, 3), (8,))
    >>> layer.apply(params, state, np.ones((2, 3, 5, 5)), train=False)[0].shape
    (2, 8, 5, 5)
    """

    def __init__(self, in_features: int, out_features: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, spatial_dims: int | None = None,
                 dtype=np.float64):
        if spatial_dims is None:
            spatial_dims = 2 if isinstance(kernel_size, (int, np.integer)) else len(kernel_size)
        if not 1 <= spatial_dims <= 3:
            raise ValueError(f"Conv: 1 to 3 spatial dimensions, got {spatial_dims}")
        who = "Conv"
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.groups = int(groups)
        if self.groups < 1 or self.in_features % self.groups or self.out_features % self.groups:
            raise ValueError(f"Conv: groups={groups} must divide in_features ({in_features}) "
                             f"and out_features ({out_features})")
        self.kernel_size = _per_axis(kernel_size, spatial_dims, "kernel_size", who)
        self.stride = _per_axis(stride, spatial_dims, "stride", who)
        self.dilation = _per_axis(dilation, spatial_dims, "dilation", who)
        self.padding = padding if isinstance(padding, str) else _per_axis(
            padding, spatial_dims, "padding", who, minimum=0)
        _padding(self.padding, spatial_dims, self.kernel_size, self.dilation, who)   # check
        self.bias = bool(bias)
        self.dtype = np.dtype(dtype)

    def __repr__(self):
        extra = "".join(f", {name}={getattr(self, name)}" for name, default in (
            ("stride", 1), ("padding", 0), ("dilation", 1)) if getattr(self, name) !=
            (default,) * len(self.kernel_size))
        extra += f", groups={self.groups}" if self.groups != 1 else ""
        extra += ", bias=False" if not self.bias else ""
        return f"Conv({self.in_features}, {self.out_features}, {self.kernel_size}{extra})"

    def _weight_shape(self):
        return (self.out_features, self.in_features // self.groups) + self.kernel_size

    def _fan_in(self):
        return self.in_features // self.groups * math.prod(self.kernel_size)

    def _keys(self):
        return ("weight", "bias") if self.bias else ("weight",)

    def init(self, key):
        weight_key, bias_key = random.split(key)
        fan_in = self._fan_in()
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        params = {"weight": random.uniform(weight_key, self._weight_shape(), self.dtype,
                                           -bound, bound)}
        if self.bias:
            params["bias"] = random.uniform(bias_key, (self.out_features,), self.dtype,
                                            -bound, bound)
        return params, {}

    def _checked(self, params, state, x, train, channels):
        self._check_train(train)
        self._check_dict(params, "params", self._keys())
        self._check_dict(state, "state", ())
        self._check_shape(params["weight"], "params['weight']", self._weight_shape())
        x = _as_input(x)
        spatial = len(self.kernel_size)
        if x.ndim != spatial + 2 or x.shape[1] != channels:
            hint = ""
            if x.ndim == spatial + 1 and x.shape[0] == channels:
                hint = (" (an unbatched (C, *spatial) input, as torch takes it: add the batch "
                        "axis, x[None])")
            elif x.ndim >= 3 and x.shape[1] == channels:
                hint = (f" (for an input with {x.ndim - 2} spatial axes, give kernel_size "
                        f"as a tuple of {x.ndim - 2} or spatial_dims={x.ndim - 2}: an int "
                        "kernel_size means 2)")
            raise ValueError(f"{self!r}: expected an input of shape (N, {channels}, "
                             f"*spatial) with {spatial} spatial axes, got "
                             f"{tuple(x.shape)}{hint}")
        return x

    def apply(self, params, state, x, *, train: bool, key=None):
        x = self._checked(params, state, x, train, self.in_features)
        y = conv(x, params["weight"], params.get("bias"), self.stride, self.padding,
                 self.dilation, self.groups)
        return y, state


class ConvTranspose(Conv):
    """A transposed convolution, ``torch.nn.ConvTranspose1d/2d/3d``: its arguments (with
    ``output_padding``, extra size at the end of each spatial axis), its weight layout
    (in_features, out_features / groups, *kernel) and its initialisation (``fan_in`` from the
    weight's second axis: ``out_features / groups * prod(kernel)``, as PyTorch computes it).

    >>> import funcgrad as fg, numpy as np
    >>> layer = ConvTranspose(4, 2, 3, stride=2, padding=1, output_padding=1)
    >>> params, state = layer.init(fg.random.key(0))
    >>> params["weight"].shape
    (4, 2, 3, 3)
    >>> layer.apply(params, state, np.ones((1, 4, 5, 5)), train=False)[0].shape
    (1, 2, 10, 10)
    """

    def __init__(self, in_features: int, out_features: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 spatial_dims: int | None = None, dtype=np.float64):
        if isinstance(padding, str):
            raise ValueError("ConvTranspose: padding must be an int or a tuple of ints (as in "
                             f"PyTorch), got {padding!r}")
        super().__init__(in_features, out_features, kernel_size, stride, padding, dilation,
                         groups, bias, spatial_dims, dtype)
        self.output_padding = _per_axis(output_padding, len(self.kernel_size),
                                        "output_padding", "ConvTranspose", minimum=0)

    def __repr__(self):
        return "ConvTranspose" + super().__repr__()[len("Conv"):]

    def _weight_shape(self):
        return (self.in_features, self.out_features // self.groups) + self.kernel_size

    def _fan_in(self):
        return self.out_features // self.groups * math.prod(self.kernel_size)

    def apply(self, params, state, x, *, train: bool, key=None):
        x = self._checked(params, state, x, train, self.in_features)
        y = conv_transpose(x, params["weight"], params.get("bias"), self.stride, self.padding,
                           self.output_padding, self.groups, self.dilation)
        return y, state


class _Pool(Module):
    def __init__(self, window, stride=None, padding=0):
        self.window, self.stride, self.padding = window, stride, padding

    def __repr__(self):
        stride = "" if self.stride is None else f", stride={self.stride}"
        padding = f", padding={self.padding}" if self.padding else ""
        return f"{type(self).__name__}({self.window}{stride}{padding})"

    def init(self, key):
        return {}, {}


class MaxPool(_Pool):
    """Max pooling over the spatial axes of (N, C, *spatial) (``torch.nn.MaxPool1d/2d/3d``);
    ``window``, ``stride`` (default: the window), ``padding`` and ``dilation`` are ints or
    one per spatial axis.

    >>> import funcgrad as fg, numpy as np
    >>> MaxPool(2).apply({}, {}, np.ones((1, 3, 4, 4)), train=False)[0].shape
    (1, 3, 2, 2)
    """

    def __init__(self, window, stride=None, padding=0, dilation=1):
        super().__init__(window, stride, padding)
        self.dilation = dilation

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_no_params(params, state, train)
        return max_pool(x, self.window, self.stride, self.padding, self.dilation), state


class AvgPool(_Pool):
    """Average pooling over the spatial axes of (N, C, *spatial)
    (``torch.nn.AvgPool1d/2d/3d``, including ``count_include_pad``).

    >>> import funcgrad as fg, numpy as np
    >>> AvgPool(2).apply({}, {}, np.ones((1, 3, 4, 4)), train=False)[0][0, 0]
    array([[1., 1.],
           [1., 1.]])
    """

    def __init__(self, window, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(window, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_no_params(params, state, train)
        return avg_pool(x, self.window, self.stride, self.padding,
                        self.count_include_pad), state


class Flatten(Module):
    """Flattens axes ``start_dim`` to ``end_dim`` into one (``torch.nn.Flatten``; by default
    everything but the batch axis).

    >>> import funcgrad as fg, numpy as np
    >>> Flatten().apply({}, {}, np.ones((2, 3, 4, 4)), train=False)[0].shape
    (2, 48)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def __repr__(self):
        return "Flatten()" if (self.start_dim, self.end_dim) == (1, -1) else \
            f"Flatten({self.start_dim}, {self.end_dim})"

    def init(self, key):
        return {}, {}

    def apply(self, params, state, x, *, train: bool, key=None):
        self._check_no_params(params, state, train)
        x = _as_input(x)
        start = self.start_dim % max(x.ndim, 1)
        end = self.end_dim % max(x.ndim, 1)
        if x.ndim == 0 or start > end:
            raise ValueError(f"{self!r}: start_dim {self.start_dim} and end_dim "
                             f"{self.end_dim} do not fit an input of shape {tuple(x.shape)}")
        shape = tuple(x.shape)
        merged = math.prod(shape[start:end + 1])
        return fnp.reshape(x, shape[:start] + (merged,) + shape[end + 1:]), state
