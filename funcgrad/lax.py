"""``funcgrad.lax``: the structured operations of ``jax.lax`` that ported code calls, with
JAX's signatures and semantics (``fg.lax``, imported on first use).

Everything here is built from funcgrad's differentiable operations (gathers and scatters
through indexing and ``.at``, ``fg.cond``, ``fg.scan``), so every function composes with
``grad``, ``jvp``, ``vmap`` and ``jit``, to any order, with no rules of its own; the
convolutions bind one primitive (``funcgrad/ops/convolution.py``), which has all of them.

>>> import funcgrad as fg, numpy as np
>>> x = np.arange(10.0)
>>> fg.lax.dynamic_slice(x, (8,), (3,))   # the start is clamped to 7, as in JAX
array([7., 8., 9.])
"""
from __future__ import annotations

import builtins  # this module defines min, max and abs of its own (JAX's names)
import itertools
from collections.abc import Callable, Sequence

import numpy as np

from . import numpy as fnp
from . import tree
from .control import cond, fori_loop, while_loop
from .control import scan as _scan
from .core.errors import at_user_line
from .core.trace import Tracer
from .ops import window as _window
from .ops.convolution import (
    ConvDimensionNumbers,
    conv_dimension_numbers,
    conv_general_dilated,
    padtype_to_pads,
)
from .ops.special import stop_gradient
from .transforms.vmap import vmap

__all__ = [
    "dynamic_slice", "dynamic_update_slice", "dynamic_index_in_dim", "dynamic_slice_in_dim",
    "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim", "select", "map",
    "associative_scan", "reduce_window", "stop_gradient", "cond", "scan", "fori_loop",
    "while_loop", "switch", "conv_general_dilated", "conv", "conv_with_general_padding",
    "conv_transpose", "conv_dimension_numbers", "ConvDimensionNumbers",
    # elementwise (JAX's names and semantics: one dtype, no implicit promotion)
    "add", "sub", "mul", "div", "rem", "max", "min", "pow", "atan2", "nextafter", "neg", "abs",
    "sign", "floor", "ceil", "exp", "exp2", "expm1", "log", "log1p", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sqrt", "rsqrt",
    "cbrt", "logistic", "square", "integer_pow", "is_finite", "clamp", "eq", "ne", "lt", "le",
    "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "shift_left",
    "shift_right_arithmetic", "shift_right_logical", "population_count", "round", "erf",
    "erfc", "erf_inv", "lgamma", "digamma", "convert_element_type",
]


# ------------------------------------------------------------------------ dynamic slicing

def _starts(who: str, start_indices, shape, sizes) -> list:
    """The start indices, one per axis, as JAX takes them: a negative one counts from the end
    (``dim`` is added, as in Python indexing), then each is clamped to ``[0, dim - size]`` (so
    the slice stays in bounds); concrete ones stay Python ints."""
    if isinstance(start_indices, (Tracer, np.ndarray)) or hasattr(start_indices, "shape"):
        if np.ndim(start_indices) != 1:
            raise TypeError(at_user_line(f"{who}: start_indices must be a sequence of scalars "
                                         f"or a 1-d array, got shape {np.shape(start_indices)}"))
        start_indices = [start_indices[i] for i in range(np.shape(start_indices)[0])]
    starts = list(start_indices)
    if len(starts) != len(shape):
        raise TypeError(at_user_line(f"{who}: {len(starts)} start indices for an operand of "
                                     f"{len(shape)} dimensions (shape {tuple(shape)})"))
    clamped = []
    for axis, (start, dim, size) in enumerate(zip(starts, shape, sizes)):
        if not 0 <= size <= dim:
            raise TypeError(at_user_line(f"{who}: slice size {size} on axis {axis} does not "
                                         f"fit the operand's dimension {dim}"))
        if np.ndim(start) != 0 or np.dtype(getattr(start, "dtype", np.int64)).kind not in "iu":
            raise TypeError(at_user_line(f"{who}: start index {axis} must be an integer "
                                         f"scalar, got {start!r}"))
        if isinstance(start, Tracer):
            start = fnp.where(start < 0, start + dim, start)
            clamped.append(fnp.clip(start, 0, dim - size))
        else:
            start = int(start)
            start = start + dim if start < 0 else start
            clamped.append(builtins.min(builtins.max(start, 0), dim - size))
    return clamped


def _mesh(starts, sizes):
    """Index arrays that select the box ``starts[k] : starts[k] + sizes[k]`` (an open mesh,
    as ``np.ix_``); concrete starts give plain slices."""
    if not any(isinstance(s, Tracer) for s in starts):
        return tuple(slice(s, s + n) for s, n in zip(starts, sizes))
    ndim = len(sizes)
    index = []
    for axis, (start, size) in enumerate(zip(starts, sizes)):
        shape = [1] * ndim
        shape[axis] = size
        index.append(fnp.reshape(start + np.arange(size), shape))
    return tuple(index)


def dynamic_slice(operand, start_indices, slice_sizes):
    """``operand[s_0 : s_0 + n_0, s_1 : s_1 + n_1, ...]`` with start indices that may be
    traced; a negative start counts from the end, and each is clamped to ``[0, dim - n]``
    (JAX semantics: never out of bounds).

    >>> import funcgrad as fg, numpy as np
    >>> fg.lax.dynamic_slice(np.arange(12.0).reshape(3, 4), (1, -5), (2, 2))
    array([[4., 5.],
           [8., 9.]])
    """
    who = "lax.dynamic_slice"
    operand = fnp.asarray(operand)
    sizes = [int(n) for n in slice_sizes]
    if len(sizes) != operand.ndim:
        raise TypeError(at_user_line(f"{who}: {len(sizes)} slice sizes for an operand of "
                                     f"{operand.ndim} dimensions (shape {operand.shape})"))
    starts = _starts(who, start_indices, operand.shape, sizes)
    return operand[_mesh(starts, sizes)]


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with the box at ``start_indices`` (clamped as in ``dynamic_slice``)
    replaced by ``update``.

    >>> import funcgrad as fg, numpy as np
    >>> fg.lax.dynamic_update_slice(np.zeros(5), np.ones(2), (4,))
    array([0., 0., 0., 1., 1.])
    """
    who = "lax.dynamic_update_slice"
    operand, update = fnp.asarray(operand), fnp.asarray(update)
    if update.ndim != operand.ndim:
        raise TypeError(at_user_line(f"{who}: the update has {update.ndim} dimensions, the "
                                     f"operand {operand.ndim}"))
    if update.dtype != operand.dtype:
        raise TypeError(at_user_line(f"{who}: the update has dtype {update.dtype}, the "
                                     f"operand {operand.dtype}"))
    sizes = list(update.shape)
    starts = _starts(who, start_indices, operand.shape, sizes)
    return operand.at[_mesh(starts, sizes)].set(update)


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0):
    """``dynamic_slice`` along one axis: ``slice_size`` elements from ``start_index``."""
    operand = fnp.asarray(operand)
    axis = axis % operand.ndim
    starts = [0] * operand.ndim
    starts[axis] = start_index
    sizes = list(operand.shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True):
    """The element ``index`` (clamped) along ``axis``; that axis kept with size 1 unless
    ``keepdims=False``."""
    operand = fnp.asarray(operand)
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else fnp.squeeze(out, axis % operand.ndim)


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int):
    """``dynamic_update_slice`` along one axis."""
    operand = fnp.asarray(operand)
    starts = [0] * operand.ndim
    starts[axis % operand.ndim] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis: int):
    """Replace the element ``index`` along ``axis`` by ``update`` (which may lack that
    axis)."""
    operand, update = fnp.asarray(operand), fnp.asarray(update)
    axis = axis % operand.ndim
    if update.ndim == operand.ndim - 1:
        update = fnp.expand_dims(update, axis)
    return dynamic_update_slice_in_dim(operand, update, index, axis)


# -------------------------------------------------------------------------------- select

def select(pred, on_true, on_false):
    """Elementwise ``on_true if pred else on_false``; ``pred`` is boolean, a scalar or of the
    operands' shape, and the operands have one shape and dtype (JAX semantics)."""
    pred, on_true, on_false = fnp.asarray(pred), fnp.asarray(on_true), fnp.asarray(on_false)
    if pred.dtype != np.bool_:
        raise TypeError(at_user_line(f"lax.select: pred must be boolean, got {pred.dtype}"))
    if on_true.shape != on_false.shape or on_true.dtype != on_false.dtype:
        raise TypeError(at_user_line(
            f"lax.select: on_true and on_false must have one shape and dtype, got "
            f"{on_true.dtype}{list(on_true.shape)} and {on_false.dtype}{list(on_false.shape)}"))
    if pred.shape not in ((), on_true.shape):
        raise TypeError(at_user_line(f"lax.select: pred must be a scalar or of shape "
                                     f"{on_true.shape}, got {pred.shape}"))
    return fnp.where(pred, on_true, on_false)


# ------------------------------------------------------------------------- loops, branches

def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False,
         unroll: int = 1):
    """``jax.lax.scan``: ``fg.scan`` (``unroll`` is accepted and has no effect)."""
    return _scan(f, init, xs, length=length, reverse=reverse)


def map(f: Callable, xs, *, batch_size: int | None = None):  # noqa: A001  (JAX's name)
    """``f`` applied to each slice of ``xs`` along the leading axis, as a ``scan`` (JAX's
    ``lax.map``); with ``batch_size``, ``batch_size`` slices at a time under ``vmap`` (the
    remainder last)."""
    if batch_size is None:
        return _scan(lambda carry, x: (carry, f(x)), None, xs)[1]
    leaves = tree.leaves(xs)
    if not leaves:
        raise ValueError(at_user_line("lax.map: xs has no arrays to map over"))
    n = np.shape(leaves[0])[0]
    steps, rest = divmod(n, int(batch_size))
    parts = []
    if steps:
        blocks = tree.map(lambda x: fnp.reshape(x[:steps * batch_size],
                                                (steps, batch_size) + np.shape(x)[1:]), xs)
        ys = _scan(lambda carry, x: (carry, vmap(f)(x)), None, blocks)[1]
        parts.append(tree.map(lambda y: fnp.reshape(y, (steps * batch_size,) + y.shape[2:]),
                              ys))
    if rest:
        parts.append(vmap(f)(tree.map(lambda x: x[steps * batch_size:], xs)))
    if len(parts) == 1:
        return parts[0]
    return tree.map(lambda a, b: fnp.concatenate([a, b], 0), parts[0], parts[1])


def switch(index, branches: Sequence[Callable], *operands):
    """``branches[index](*operands)``, with ``index`` clamped to ``[0, len(branches) - 1]``
    (JAX semantics). A traced index traces every branch (they must agree in structure, shape
    and dtype) and picks one when the program runs (a tree of ``fg.cond``)."""
    branches = list(branches)
    if not branches:
        raise ValueError(at_user_line("lax.switch: branches must not be empty"))
    if np.ndim(index) != 0:
        raise TypeError(at_user_line(f"lax.switch: index must be a scalar, got shape "
                                     f"{np.shape(index)}"))
    if not isinstance(index, Tracer):
        if np.dtype(getattr(index, "dtype", type(index))).kind not in "iub":
            raise TypeError(at_user_line(f"lax.switch: index must be an integer, got "
                                         f"{index!r}"))
        return branches[builtins.min(builtins.max(int(index), 0), len(branches) - 1)](*operands)
    if index.dtype.kind not in "iu":
        raise TypeError(at_user_line(f"lax.switch: index must be an integer, got dtype "
                                     f"{index.dtype}"))
    index = fnp.clip(index, 0, len(branches) - 1)

    def pick(lo: int, hi: int):   # the branch among branches[lo:hi] that index names
        if hi - lo == 1:
            return branches[lo]
        mid = (lo + hi) // 2
        return lambda *ops: cond(index < mid, pick(lo, mid), pick(mid, hi), *ops)

    return pick(0, len(branches))(*operands)


# ----------------------------------------------------------------------- associative_scan

def _take(x, start, stop, step, axis):
    index = [slice(None)] * np.ndim(x)
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


def associative_scan(fn: Callable, elems, reverse: bool = False, axis: int = 0):
    """All prefix combinations of ``elems`` along ``axis`` under the associative ``fn``:
    ``out[i] = fn(... fn(fn(x[0], x[1]), x[2]) ..., x[i])`` (JAX's ``lax.associative_scan``).

    ``fn(a, b)`` takes two pytrees of the structure of ``elems``, whose arrays hold a run
    of elements along ``axis``, and combines them elementwise. The parallel-prefix
    algorithm combines neighbours pairwise, scans the half-length result recursively and
    fills the other positions in: O(log n) rounds of vectorized calls. With ``reverse``,
    the scan runs from the end (``out[i]`` combines ``x[i:]``; ``fn``'s arguments keep
    JAX's order).

    >>> import funcgrad as fg, numpy as np
    >>> fg.lax.associative_scan(lambda a, b: a + b, np.arange(1.0, 6.0))
    array([ 1.,  3.,  6., 10., 15.])
    """
    leaves, treedef = tree.flatten(elems)
    if not leaves:
        return elems
    leaves = [fnp.asarray(x) for x in leaves]
    ndim = leaves[0].ndim
    if ndim == 0:
        raise TypeError(at_user_line("lax.associative_scan: elems must have at least one "
                                     "axis to scan along"))
    axis = axis % ndim
    lengths = {x.shape[axis] if x.ndim > axis else None for x in leaves}
    if len(lengths) != 1:
        raise ValueError(at_user_line(f"lax.associative_scan: every array of elems must have "
                                      f"the same length along axis {axis}, got "
                                      f"{[tuple(x.shape) for x in leaves]}"))
    if reverse:
        leaves = [fnp.flip(x, axis) for x in leaves]

    def combine(a, b):
        out = fn(tree.unflatten(treedef, a), tree.unflatten(treedef, b))
        out_leaves, out_tree = tree.flatten(out)
        if out_tree != treedef:
            raise TypeError(at_user_line(f"lax.associative_scan: fn must return the structure "
                                         f"of elems, {treedef}, but returned {out_tree}"))
        shapes = [np.shape(x) for x in a]
        if [np.shape(x) for x in out_leaves] != shapes:
            raise TypeError(at_user_line(f"lax.associative_scan: fn must combine elementwise "
                                         f"(arrays of shapes {shapes}), but returned shapes "
                                         f"{[np.shape(x) for x in out_leaves]}"))
        return [fnp.asarray(x) for x in out_leaves]

    def prefix(xs):
        n = xs[0].shape[axis]
        if n < 2:
            return xs
        # Pairs (x0 x1), (x2 x3), ...: their prefixes are the results at odd positions.
        odd = prefix(combine([_take(x, 0, n - 1, 2, axis) for x in xs],
                             [_take(x, 1, None, 2, axis) for x in xs]))
        # Even positions 2, 4, ...: the prefix before them combined with the element.
        num_even = (n - 1) // 2
        even_rest = combine([_take(o, 0, num_even, 1, axis) for o in odd],
                            [_take(x, 2, None, 2, axis) for x in xs]) if num_even else None
        out = []
        for k, (x, o) in enumerate(zip(xs, odd)):
            evens = _take(x, 0, 1, 1, axis)
            if even_rest is not None:
                evens = fnp.concatenate([evens, even_rest[k]], axis)
            num_odd = o.shape[axis]
            pairs = fnp.stack([_take(evens, 0, num_odd, 1, axis), o], axis + 1)
            shape = list(x.shape)
            shape[axis] = 2 * num_odd
            merged = fnp.reshape(pairs, shape)
            if n % 2:
                merged = fnp.concatenate([merged, _take(evens, num_odd, None, 1, axis)], axis)
            out.append(merged)
        return out

    out = prefix(leaves)
    if reverse:
        out = [fnp.flip(x, axis) for x in out]
    return tree.unflatten(treedef, out)


# ------------------------------------------------------------------------- reduce_window

def _padding(padding, shape, window, strides, dilation, negative: bool = False
             ) -> list[tuple[int, int]]:
    if isinstance(padding, str):
        if padding.upper() not in ("VALID", "SAME", "SAME_LOWER"):
            raise ValueError(at_user_line(f"lax.reduce_window: padding must be 'VALID', "
                                          f"'SAME' or a sequence of (low, high) pairs, got "
                                          f"{padding!r}"))
        return padtype_to_pads(shape, [(w - 1) * d + 1 for w, d in zip(window, dilation)],
                               strides, padding)
    pads = [tuple(int(v) for v in p) for p in padding]
    if len(pads) != len(shape) or any(len(p) != 2 or (builtins.min(p) < 0 and not negative)
                                      for p in pads):
        raise ValueError(at_user_line(
            f"lax.reduce_window: padding needs one {'' if negative else 'non-negative '}"
            f"(low, high) pair per dimension (negative ones only for a sum from 0 or a maximum "
            f"from -inf), got {padding!r}"))
    return pads


def _window_primitive(computation, init, window, strides, dilation, base):
    """The window primitive's ``bind`` that computes this reduction, or None."""
    if isinstance(init, Tracer):
        return None
    value = np.asarray(init)
    if computation in (fnp.add, np.add) and value == 0:
        return _window.reduce_window_sum_p.bind
    if (computation in (fnp.maximum, np.maximum) and value == _window._lowest(value.dtype)
            and not _window.overlapping(window, strides, dilation, base)):
        return _window.reduce_window_max_p.bind
    return None


def reduce_window(operand, init_value, computation: Callable, window_dimensions,
                  window_strides, padding, base_dilation=None, window_dilation=None):
    """Reduce every window of ``operand`` with the binary ``computation`` (``fnp.add``,
    ``fnp.maximum``, or any associative function of two arrays), starting from
    ``init_value`` (JAX's ``lax.reduce_window`` for one array operand).

    The padding is filled with ``init_value``. A sum from 0, and a maximum from ``-inf``
    over windows that do not overlap, are the window primitives of ``funcgrad/ops/window.py``
    (a fold over the window's offsets, with their own derivative rules); any other
    computation is folded over one strided slice per window offset, and differentiates like
    the computation. ``base_dilation`` spreads the operand first (holes of ``init_value``).
    """
    who = "lax.reduce_window"
    operand = fnp.asarray(operand)
    ndim = operand.ndim
    window = [int(w) for w in window_dimensions]
    strides = [int(s) for s in window_strides]
    dilation = [1] * ndim if window_dilation is None else [int(d) for d in window_dilation]
    base = [1] * ndim if base_dilation is None else [int(b) for b in base_dilation]
    if not (len(window) == len(strides) == len(dilation) == len(base) == ndim):
        raise TypeError(at_user_line(f"{who}: window_dimensions, window_strides, "
                                     "window_dilation and base_dilation need one entry per "
                                     f"dimension ({ndim})"))
    if builtins.min(base + dilation, default=1) < 1:
        raise ValueError(at_user_line(f"{who}: dilations must be positive integers"))
    init = fnp.asarray(init_value).astype(operand.dtype)
    primitive = _window_primitive(computation, init, window, strides, dilation, base)
    if primitive is not None:
        pads = _padding(padding, [(n - 1) * b + 1 if n else 0 for n, b in
                                  zip(operand.shape, base)], window, strides, dilation, True)
        return primitive(operand, window_dimensions=tuple(window),
                         window_strides=tuple(strides), padding=tuple(pads),
                         base_dilation=tuple(base), window_dilation=tuple(dilation))
    if any(b > 1 for b in base):
        # The base dilated as in JAX: b - 1 holes (init_value) between neighbours, before the
        # padding (which is then worked out on the dilated shape).
        dilated_shape = tuple(builtins.max((d - 1) * b + 1, 0) for d, b in zip(operand.shape, base))
        spread = tuple(slice(None, None, b) for b in base)
        operand = (fnp.zeros(dilated_shape, operand.dtype) + init).at[spread].set(operand)
    pads = _padding(padding, operand.shape, window, strides, dilation)
    if any(lo or hi for lo, hi in pads):
        padded_shape = tuple(d + lo + hi for d, (lo, hi) in zip(operand.shape, pads))
        inner = tuple(slice(lo, lo + d) for d, (lo, _) in zip(operand.shape, pads))
        operand = (fnp.zeros(padded_shape, operand.dtype) + init).at[inner].set(operand)
    out_shape = []
    for dim, w, s, d in zip(operand.shape, window, strides, dilation):
        extent = (w - 1) * d + 1
        out_shape.append(builtins.max((dim - extent) // s + 1, 0))
    result = fnp.zeros(tuple(out_shape), operand.dtype) + init
    for offset in itertools.product(*[range(w) for w in window]):
        index = tuple(slice(o * d, o * d + (n - 1) * s + 1, s)
                      for o, d, n, s in zip(offset, dilation, out_shape, strides))
        result = computation(result, operand[index])
    return result



# ---------------------------------------------------------------------------- convolution

def conv(lhs, rhs, window_strides: Sequence[int], padding, precision=None,
         preferred_element_type=None):
    """``conv_general_dilated`` in ``NCHW``/``OIHW`` layouts, without dilation (JAX's
    ``lax.conv``).

    >>> import funcgrad as fg, numpy as np
    >>> fg.lax.conv(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), (1, 1), "VALID")[0, :, 0, 0]
    array([9., 9.])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides: Sequence[int], padding,
                              lhs_dilation, rhs_dilation, precision=None,
                              preferred_element_type=None):
    """``conv_general_dilated`` in the default layouts, with both dilations (JAX's name)."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                precision=precision,
                                preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k: int, s: int, padding) -> tuple[int, int]:
    """The padding of the fractionally strided convolution for one dimension (JAX's)."""
    if padding == "SAME":
        total = k + s - 2
        before = k - 1 if s > k - 1 else -(-total // 2)
    elif padding == "VALID":
        total = k + s - 2 + builtins.max(k - s, 0)
        before = k - 1
    else:
        pads = tuple(k - p - 1 for p in padding)
        before, total = pads[0], sum(pads)
    return before, total - before


def conv_transpose(lhs, rhs, strides: Sequence[int], padding, rhs_dilation=None,
                   dimension_numbers=None, transpose_kernel: bool = False, precision=None,
                   preferred_element_type=None, use_consistent_padding: bool = False):
    """The transposed ("fractionally strided") convolution, JAX's ``lax.conv_transpose``:
    the input dilated by ``strides`` and convolved with stride 1.

    As in JAX, the default layouts are TensorFlow's (``NHWC``, ``HWIO``); ``"SAME"`` and
    ``"VALID"`` name the padding of the forward convolution this one transposes, and explicit
    pairs are the padding of this convolution itself unless ``use_consistent_padding``
    (then they are the forward convolution's, PyTorch's meaning). ``transpose_kernel`` flips
    the kernel's spatial axes and swaps its feature axes: the gradient of ``conv`` with the
    same kernel.

    >>> import funcgrad as fg, numpy as np
    >>> fg.lax.conv_transpose(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)), (2, 2),
    ...                       "VALID").shape
    (1, 6, 6, 1)
    """
    lhs, rhs = fnp.asarray(lhs), fnp.asarray(rhs)
    ndim = lhs.ndim
    if dimension_numbers is None:
        if not 2 <= ndim <= 5:
            raise ValueError(at_user_line(f"lax.conv_transpose: no default layout for "
                                          f"{ndim}-d operands; give dimension_numbers"))
        letters = "HWD"[:ndim - 2]
        dimension_numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")
    numbers = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    window = [rhs.shape[a] for a in numbers.rhs_spec[2:]]
    dilation = [1] * len(window) if rhs_dilation is None else [int(d) for d in rhs_dilation]
    if use_consistent_padding or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        per_dim = [padding] * len(window) if isinstance(padding, str) else list(padding)
        pads = [_conv_transpose_padding((k - 1) * d + 1, int(s),
                                        p if isinstance(p, str) else tuple(p))
                for k, d, s, p in zip(window, dilation, strides, per_dim)]
    else:
        pads = padding
    if transpose_kernel:
        rhs = fnp.flip(rhs, tuple(numbers.rhs_spec[2:]))
        rhs = fnp.swapaxes(rhs, numbers.rhs_spec[0], numbers.rhs_spec[1])
    return conv_general_dilated(lhs, rhs, (1,) * len(window), pads, tuple(strides),
                                rhs_dilation, numbers, precision=precision,
                                preferred_element_type=preferred_element_type)


# ---------------------------------------------------------------------------- elementwise
# JAX's lax: the operands share one dtype (a Python number takes its partner's, as JAX's weak
# types do), are of one rank unless 0-d (size-1 axes broadcast), and nothing is promoted.

_PYTHON_NUMBERS = (bool, int, float, complex)


def _operands(who: str, *values):
    """``values`` as arrays or tracers of one dtype, checked as JAX's lax checks them."""
    strong = [v for v in values if type(v) not in _PYTHON_NUMBERS]
    if not strong:
        values = [fnp.asarray(v) for v in values]
    else:
        like = fnp.asarray(strong[0]) if not isinstance(strong[0], Tracer) else strong[0]
        for v in values:   # a weak number of a higher kind (2.5 with integers) is not cast
            if type(v) in _PYTHON_NUMBERS and np.result_type(like.dtype, v) != like.dtype:
                raise TypeError(at_user_line(
                    f"lax.{who} requires arguments to have the same dtypes, got "
                    f"{like.dtype.name} and a Python {type(v).__name__} ({v!r})"))
        values = [fnp.asarray(v, dtype=like.dtype) if type(v) in _PYTHON_NUMBERS else
                  (v if isinstance(v, Tracer) else fnp.asarray(v)) for v in values]
    dtypes = {v.dtype for v in values}
    if len(dtypes) > 1:
        raise TypeError(at_user_line(
            f"lax.{who} requires arguments to have the same dtypes, got "
            f"{', '.join(v.dtype.name for v in values)} (cast one with .astype; lax does not "
            "promote)"))
    shapes = [tuple(v.shape) for v in values if v.ndim]
    if len({len(s) for s in shapes}) > 1:
        raise TypeError(at_user_line(
            f"lax.{who}: arrays must have the same number of dimensions, got "
            f"{', '.join(str(s) for s in shapes)}"))
    for sizes in zip(*shapes):
        if len(set(sizes) - {1}) > 1:
            raise TypeError(at_user_line(
                f"lax.{who} got incompatible shapes for broadcasting: "
                f"{', '.join(str(s) for s in shapes)}"))
    return values


def _check_kind(who: str, x, kinds: str, accepted: str):
    if x.dtype.kind not in kinds:
        raise TypeError(at_user_line(f"lax.{who} does not accept dtype {x.dtype.name}. "
                                     f"Accepted dtypes are {accepted}."))


_INEXACT, _NUMBERS, _INTEGERS = ("fc", "inexact (floating or complex)"), \
    ("iufc", "numbers (integer, floating or complex)"), ("iub", "integer or boolean")


def _unary(name: str, function, kinds=_INEXACT):
    def operator(x):
        (x,) = _operands(name, x)
        _check_kind(name, x, *kinds)
        return function(x)
    operator.__name__ = operator.__qualname__ = name
    operator.__doc__ = f"``jax.lax.{name}``: elementwise, of {kinds[1]} arrays."
    return operator


def _binary(name: str, function, kinds=_NUMBERS):
    def operator(x, y):
        x, y = _operands(name, x, y)
        _check_kind(name, x, *kinds)
        return function(x, y)
    operator.__name__ = operator.__qualname__ = name
    operator.__doc__ = (f"``jax.lax.{name}``: elementwise, of two {kinds[1]} arrays of one "
                        "dtype.")
    return operator


def _divide(x, y):
    """JAX's ``div``: true division of inexact numbers; of integers, C's quotient, rounded
    towards zero (not NumPy's floor)."""
    if x.dtype.kind in "fc":
        return fnp.true_divide(x, y)
    quotient = fnp.floor_divide(x, y)
    inexact = fnp.logical_and(fnp.not_equal(fnp.mod(x, y), 0),
                              fnp.not_equal(fnp.less(x, 0), fnp.less(y, 0)))
    return fnp.where(inexact, quotient + 1, quotient)


def _remainder(x, y):
    """JAX's ``rem``: C's remainder, with the dividend's sign (``numpy.fmod``)."""
    return fnp.fmod(x, y)


add = _binary("add", fnp.add)
sub = _binary("sub", fnp.subtract)
mul = _binary("mul", fnp.multiply)
div = _binary("div", _divide)
rem = _binary("rem", _remainder, ("iuf", "integer or floating"))
max = _binary("max", fnp.maximum, ("iufb", "numbers or booleans"))  # noqa: A001 (JAX's name)
min = _binary("min", fnp.minimum, ("iufb", "numbers or booleans"))  # noqa: A001 (JAX's name)
atan2 = _binary("atan2", fnp.arctan2, ("f", "floating"))
nextafter = _binary("nextafter", fnp.nextafter, ("f", "floating"))
neg = _unary("neg", fnp.negative, _NUMBERS)
abs = _unary("abs", fnp.absolute, _NUMBERS)  # noqa: A001 (JAX's name)
sign = _unary("sign", fnp.sign, _NUMBERS)
floor = _unary("floor", fnp.floor, ("f", "floating"))
ceil = _unary("ceil", fnp.ceil, ("f", "floating"))
exp, exp2, expm1 = _unary("exp", fnp.exp), _unary("exp2", fnp.exp2), _unary("expm1", fnp.expm1)
log, log1p = _unary("log", fnp.log), _unary("log1p", fnp.log1p)
sin, cos, tan = _unary("sin", fnp.sin), _unary("cos", fnp.cos), _unary("tan", fnp.tan)
asin, acos, atan = _unary("asin", fnp.arcsin), _unary("acos", fnp.arccos), \
    _unary("atan", fnp.arctan)
sinh, cosh, tanh = _unary("sinh", fnp.sinh), _unary("cosh", fnp.cosh), _unary("tanh", fnp.tanh)
asinh, acosh, atanh = _unary("asinh", fnp.arcsinh), _unary("acosh", fnp.arccosh), \
    _unary("atanh", fnp.arctanh)
sqrt = _unary("sqrt", fnp.sqrt)
rsqrt = _unary("rsqrt", lambda x: fnp.reciprocal(fnp.sqrt(x)))
cbrt = _unary("cbrt", fnp.cbrt, ("f", "floating"))
logistic = _unary("logistic", lambda x: _logistic(x))
square = _unary("square", fnp.square, _NUMBERS)
is_finite = _unary("is_finite", fnp.isfinite, ("f", "floating"))
eq, ne = _binary("eq", fnp.equal, ("iufcb", "any")), _binary("ne", fnp.not_equal,
                                                              ("iufcb", "any"))
lt, le = _binary("lt", fnp.less, ("iufb", "real")), _binary("le", fnp.less_equal,
                                                             ("iufb", "real"))
gt, ge = _binary("gt", fnp.greater, ("iufb", "real")), _binary("ge", fnp.greater_equal,
                                                                ("iufb", "real"))
bitwise_and = _binary("bitwise_and", fnp.bitwise_and, _INTEGERS)
bitwise_or = _binary("bitwise_or", fnp.bitwise_or, _INTEGERS)
bitwise_xor = _binary("bitwise_xor", fnp.bitwise_xor, _INTEGERS)
bitwise_not = _unary("bitwise_not", fnp.invert, _INTEGERS)
shift_left = _binary("shift_left", fnp.left_shift, ("iu", "integer"))
shift_right_arithmetic = _binary("shift_right_arithmetic", fnp.right_shift, ("iu", "integer"))
population_count = _unary("population_count", lambda x: fnp.bitwise_count(x).astype(x.dtype),
                          ("iu", "integer"))


def _special(name):
    def function(x):
        from .scipy import special
        return getattr(special, name)(x)
    return function


erf, erfc = _unary("erf", _special("erf"), ("f", "floating")), \
    _unary("erfc", _special("erfc"), ("f", "floating"))
erf_inv = _unary("erf_inv", _special("erfinv"), ("f", "floating"))
lgamma = _unary("lgamma", _special("gammaln"), ("f", "floating"))
digamma = _unary("digamma", _special("digamma"), ("f", "floating"))


def round(x, rounding_method=0):  # noqa: A001 (JAX's name)
    """``jax.lax.round``: to the nearest integer, halves away from zero (``rounding_method``
    0, JAX's default) or to even (1, NumPy's ``rint``); zero derivative.

    >>> round(np.array([0.5, 1.5, -2.5, 0.49999999999999994]))
    array([ 1.,  2., -3.,  0.])
    """
    (x,) = _operands("round", x)
    _check_kind("round", x, "f", "floating")
    method = int(rounding_method)
    if method == 1:
        return fnp.rint(x)
    if method != 0:
        raise ValueError(at_user_line(f"lax.round: rounding_method must be 0 (away from zero) "
                                      f"or 1 (to nearest even), got {rounding_method!r}"))
    whole = fnp.trunc(x)   # x - trunc(x) is exact: no double rounding at 0.49999999999999994
    with np.errstate(invalid="ignore"):   # inf - inf: NaN, not half or more
        half_or_more = fnp.greater_equal(fnp.abs(fnp.subtract(x, whole)), 0.5)
    return fnp.where(half_or_more, fnp.add(whole, fnp.sign(x)), whole)


def convert_element_type(operand, new_dtype):
    """``jax.lax.convert_element_type``: ``operand`` as ``new_dtype`` (NumPy's cast; a float
    to an integer truncates towards zero)."""
    return fnp.asarray(operand).astype(new_dtype)


def _logistic(x):
    from .nn import functions as nn
    return nn.sigmoid(x)


def _logical_right_shift(x, y):
    """The bits of ``x`` moved right by ``y``, zeros shifted in (for signed integers too); 0
    for a count outside ``[0, bits)``."""
    if x.dtype.kind == "u":
        return fnp.right_shift(x, y)
    bits = x.dtype.itemsize * 8
    kind = x.dtype.type
    # the low bits - y bits: all ones for y == 0 (-1 << bits is 0), none for y == bits
    low = fnp.invert(fnp.left_shift(kind(-1), fnp.subtract(kind(bits), y)))
    out = fnp.bitwise_and(fnp.right_shift(x, y), low)
    return fnp.where(fnp.logical_and(fnp.greater_equal(y, 0), fnp.less(y, bits)), out, kind(0))


shift_right_logical = _binary("shift_right_logical", _logical_right_shift, ("iu", "integer"))


def pow(x, y):  # noqa: A001 (JAX's name)
    """``jax.lax.pow``: ``x ** y`` of inexact ``x``, ``y`` of ``x``'s dtype or an integer
    array (a Python number takes ``x``'s dtype)."""
    if type(y) in _PYTHON_NUMBERS:
        x, y = _operands("pow", x, y)
    else:
        (x,), (y,) = _operands("pow", x), _operands("pow", y)
        _operands("pow", x, y.astype(x.dtype))   # the shapes' check
    _check_kind("pow", x, *_INEXACT)
    if y.dtype != x.dtype and y.dtype.kind not in "iu":
        raise TypeError(at_user_line(f"lax.pow: the exponent must have the base's dtype "
                                     f"({x.dtype.name}) or be an integer array, got "
                                     f"{y.dtype.name}"))
    return fnp.power(x, y.astype(x.dtype))


def integer_pow(x, y: int):
    """``jax.lax.integer_pow``: ``x ** y`` for a Python integer ``y``, by products (exact)."""
    if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, np.integer)):
        raise TypeError(at_user_line(f"lax.integer_pow: the exponent must be a Python int, "
                                     f"got {y!r}"))
    (x,) = _operands("integer_pow", x)
    _check_kind("integer_pow", x, *_NUMBERS)
    if y < 0 and x.dtype.kind in "iu":
        raise TypeError(at_user_line("lax.integer_pow: a negative power of an integer array "
                                     "is not an integer"))
    from .ops import elementwise as ew
    return fnp.asarray(x) ** int(y) if not isinstance(x, Tracer) else ew.integer_pow(x, y)


def clamp(min, x, max):  # noqa: A002 (JAX's argument names)
    """``jax.lax.clamp(min, x, max)``: ``x`` clipped to ``[min, max]`` (``min`` and ``max``
    scalars or of ``x``'s shape; NaN stays NaN). JAX's derivatives: ``x``'s where
    ``min < x < max``, ``min``'s where ``min > x`` (and ``min < max``), ``max``'s where
    ``max < x``; none at ties.

    >>> clamp(0.0, np.array([-1.0, 0.5, 3.0]), 1.0)
    array([0. , 0.5, 1. ])
    """
    low, x, high = _operands("clamp", min, x, max)
    _check_kind("clamp", x, "iuf", "real numbers")
    for name, bound in (("min", low), ("max", high)):
        if bound.ndim and bound.shape != x.shape:
            raise TypeError(at_user_line(f"lax.clamp: {name} must be a scalar or of x's shape "
                                         f"{tuple(x.shape)}, got {tuple(bound.shape)}"))
    value = stop_gradient(fnp.minimum(fnp.maximum(x, low), high))
    out = fnp.where(fnp.less(high, x), high, value)
    out = fnp.where(fnp.logical_and(fnp.greater(low, x), fnp.less(low, high)), low, out)
    return fnp.where(fnp.logical_and(fnp.greater(x, low), fnp.less(x, high)), x, out)
