"""``numpy.pad`` for traced arrays, every mode of ``numpy.pad`` and ``jax.numpy.pad``.

The result is built from the structural primitives, so its derivatives of every order are
theirs. The modes that only copy elements (``edge``, ``wrap``, ``reflect``/``symmetric`` with
the default ``reflect_type='even'``) let NumPy pad an array of labels (which input element
lands where) and gather the input at them once; ``constant`` does the same on the input
followed by the constants. The modes that compute values (``linear_ramp``, the statistics,
``reflect_type='odd'``) pad one axis after the other, as NumPy does, so that the later axes
see the padding of the earlier ones and the values agree with NumPy's.

``mode='empty'`` pads with zeros (NumPy leaves the memory as it was; jax.numpy zeros it).
A callable ``mode`` follows jax.numpy: the array is zero-padded, then
``mode(vector, iaxis_pad_width, iaxis, kwargs)`` returns each vector along one axis after the
other, padded; a NumPy-style function that edits ``vector`` in place and returns None works
on concrete arrays too.
"""
from __future__ import annotations

import operator

import numpy as np

from ..core.trace import Tracer
from ..ops import structural as st
from ._arrays import _gather_flat, _labels
from ._core import _contains_tracer, asarray_or_tracer, cast
from ._creation import _require_concrete

__all__ = ["pad"]

_OPTIONS = {
    "constant": ("constant_values",), "empty": (), "edge": (), "wrap": (),
    "linear_ramp": ("end_values",), "maximum": ("stat_length",), "minimum": ("stat_length",),
    "mean": ("stat_length",), "median": ("stat_length",), "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",),
}


def pad(array, pad_width, mode="constant", **kwargs):
    """``numpy.pad``: ``array`` with ``pad_width`` values added before and after each axis.

    ``pad_width`` takes NumPy's forms: an int, ``(before, after)``, one pair per axis, or a
    dict ``{axis: width or (before, after)}`` (concrete). ``mode`` is ``'constant'``
    (``constant_values``), ``'edge'``, ``'linear_ramp'`` (``end_values``), ``'maximum'``,
    ``'mean'``, ``'median'``, ``'minimum'`` (``stat_length``), ``'reflect'``,
    ``'symmetric'`` (``reflect_type`` 'even' or 'odd'), ``'wrap'``, ``'empty'`` (zeros when
    traced), or a function (jax.numpy's convention, see the module). The array,
    ``constant_values`` and ``end_values`` may be traced and are differentiable.

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: pad(x, 2, mode="edge").sum())(np.array([1.0, 2.0, 3.0]))
    array([3., 1., 3.])
    """
    _require_concrete("pad", pad_width=pad_width,
                      stat_length=kwargs.get("stat_length"))
    if callable(mode):
        return _pad_with_function(array, pad_width, mode, kwargs)
    if not _contains_tracer([array, *kwargs.values()]):
        return np.pad(array, pad_width, mode, **kwargs)
    if mode not in _OPTIONS:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of "
                         f"{', '.join(map(repr, _OPTIONS))} or a function")
    unsupported = set(kwargs) - set(_OPTIONS[mode])
    if unsupported:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: "
                         f"{sorted(unsupported)}")
    x = asarray_or_tracer(array)
    widths = _width_pairs(pad_width, x.ndim)
    if x.ndim == 0:   # (no axis to pad)
        return x
    if mode in ("constant", "empty"):
        return _pad_constant(x, widths, kwargs.get("constant_values", 0))
    if x.size == 0:
        for axis, pair in enumerate(widths):
            if x.shape[axis] == 0 and any(pair):
                raise ValueError(f"pad: can't extend the empty axis {axis} with mode "
                                 f"{mode!r}; only 'constant' and 'empty' can")
        return np.zeros(_padded_shape(x.shape, widths), x.dtype)
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"pad: reflect_type must be 'even' or 'odd', got {reflect_type!r}")
    if mode in ("edge", "wrap") or (mode in ("reflect", "symmetric") and reflect_type == "even"):
        labels = np.pad(_labels(x.shape), widths, mode)
        return _gather_flat(st.reshape(x, (x.size,)), labels)
    if mode in ("reflect", "symmetric"):
        return _per_axis(x, widths, lambda v, axis, pair: _reflect_odd(
            v, axis, pair, include_edge=mode == "symmetric"))
    if mode == "linear_ramp":
        ends = _value_pairs(kwargs.get("end_values", 0), x.ndim, "end_values")
        return _per_axis(x, widths, lambda v, axis, pair: _ramp(v, axis, pair, ends[axis]))
    lengths = _width_pairs(kwargs.get("stat_length"), x.ndim, "stat_length")
    return _per_axis(x, widths, lambda v, axis, pair: _statistic(
        v, axis, pair, lengths[axis], mode), every_axis=True)


# ------------------------------------------------------------------------------ arguments

def _width_pairs(width, ndim: int, what: str = "pad_width") -> list[tuple]:
    """``width`` in NumPy's forms as one ``(before, after)`` pair per axis (None stays)."""
    if width is None:
        return [(None, None)] * ndim
    if isinstance(width, dict):
        pairs = [(0, 0)] * ndim
        for axis, value in width.items():
            pairs[operator.index(axis)] = (value, value) if np.ndim(value) == 0 else value
        width = pairs
    values = np.asarray(width)
    if values.dtype.kind not in "iu" and not (values.size == 0 and what == "pad_width"):
        raise TypeError(f"pad: `{what}` must be of integral type, got {width!r}")
    values = values.astype(np.int64)
    if values.size and values.min() < 0:
        raise ValueError(f"pad: `{what}` can't contain negative values, got {width!r}")
    return [tuple(int(v) for v in pair) for pair in _broadcast_pairs(values, ndim, what)]


def _broadcast_pairs(values, ndim: int, what: str):
    """NumPy's ``_as_pairs`` rule: one value for all, ``(before, after)`` for every axis
    (but ``[[a], [b]]`` is one value per axis), or anything broadcasting to ``(ndim, 2)``."""
    shape = np.shape(values)
    if len(shape) < 3 and int(np.prod(shape)) == 1:
        values = _reshaped(values, (1, 1))
    elif len(shape) < 3 and int(np.prod(shape)) == 2 and shape != (2, 1):
        values = _reshaped(values, (1, 2))
    try:
        np.broadcast_shapes(np.shape(values), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: `{what}` of shape {shape} does not fit an array of "
                         f"{ndim} dimensions: give one value, a (before, after) pair, or "
                         "one pair per axis") from None
    if isinstance(values, Tracer):
        from ._shape import broadcast_to
        return broadcast_to(values, (ndim, 2))
    return np.broadcast_to(values, (ndim, 2))


def _reshaped(values, shape):
    return st.reshape(values, shape) if isinstance(values, Tracer) else np.reshape(values, shape)


def _value_pairs(values, ndim: int, what: str) -> list[tuple]:
    """``constant_values`` or ``end_values`` as one pair of scalars (maybe traced) per axis."""
    pairs = _broadcast_pairs(asarray_or_tracer(values), ndim, what)
    return [(pairs[axis, 0], pairs[axis, 1]) for axis in range(ndim)]


def _padded_shape(shape, widths) -> tuple:
    return tuple(n + before + after for n, (before, after) in zip(shape, widths))


# ------------------------------------------------------------------------------- the modes

def _pad_constant(x, widths, values):
    """One gather from the input followed by the ``2 * ndim`` constants: the labels say
    which, and NumPy's own constant padding of them says where (the later axes' constants
    win in the corners, as in NumPy)."""
    pairs = _value_pairs(values, x.ndim, "constant_values")
    codes = [(x.size + 2 * axis, x.size + 2 * axis + 1) for axis in range(x.ndim)]
    labels = np.pad(_labels(x.shape), widths, "constant", constant_values=codes)
    from ._shape import concatenate, stack
    constants = stack([cast(v, x.dtype) for pair in pairs for v in pair])
    source = concatenate([st.reshape(x, (x.size,)) if isinstance(x, Tracer) else np.ravel(x),
                          constants])
    return _gather_flat(source, labels)


def _per_axis(x, widths, pad_axis, every_axis: bool = False):
    for axis, pair in enumerate(widths):
        if any(pair) or every_axis:
            x = pad_axis(x, axis, pair)
    return x


def _piece(x, axis: int, start: int, stop: int):
    x = asarray_or_tracer(x)
    if isinstance(x, Tracer):
        return st.slice_along(x, axis, start, stop)
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _joined(x, axis: int, left, right):
    from ._shape import concatenate
    return concatenate([piece for piece in (left, x, right) if piece is not None], axis)


def _reflect_odd(x, axis: int, pair, include_edge: bool):
    """NumPy's iterated odd reflection: each round mirrors as much of the values so far as
    fits (without the edge for 'reflect', with it for 'symmetric') and subtracts the mirror
    from twice the edge value."""
    from ._elementwise import multiply, subtract
    from ._shape import flip
    period = x.shape[axis]
    left_pad, right_pad = pair
    if period == 1:   # (NumPy extends a single value as 'edge' does)
        labels = np.pad(_labels(x.shape), [(0, 0)] * axis + [pair] + [(0, 0)] *
                        (x.ndim - axis - 1), "edge")
        return _gather_flat(st.reshape(x, (x.size,)), labels)
    while left_pad or right_pad:
        length = x.shape[axis]
        if include_edge:
            usable, offset = length // period * period, 1
        else:
            usable, offset = (length - 1) // (period - 1) * (period - 1), 0
        left = right = None
        if left_pad:
            count = min(usable, left_pad)
            mirrored = flip(_piece(x, axis, 1 - offset, count - offset + 1), axis)
            left = cast(subtract(multiply(2, _piece(x, axis, 0, 1)), mirrored), x.dtype)
            left_pad -= count
        if right_pad:
            count = min(usable, right_pad)
            mirrored = flip(_piece(x, axis, length - 1 + offset - count, length - 1 + offset),
                            axis)
            edge = _piece(x, axis, length - 1, length)
            right = cast(subtract(multiply(2, edge), mirrored), x.dtype)
            right_pad -= count
        x = _joined(x, axis, left, right)
    return x


def _ramp(x, axis: int, pair, ends):
    """Values going linearly from each end value to the edge (NumPy's ``linspace`` with
    ``endpoint=False`` in the array's dtype)."""
    from ._creation import linspace
    from ._shape import flip, squeeze
    length = x.shape[axis]
    before, after = pair
    left = right = None
    if before:
        edge = squeeze(_piece(x, axis, 0, 1), axis)
        left = linspace(ends[0], edge, before, endpoint=False, dtype=x.dtype, axis=axis)
    if after:
        edge = squeeze(_piece(x, axis, length - 1, length), axis)
        right = flip(linspace(ends[1], edge, after, endpoint=False, dtype=x.dtype, axis=axis),
                     axis)
    return _joined(x, axis, left, right)


def _statistic(x, axis: int, pair, lengths, mode: str):
    """The maximum, minimum, mean or median of the first (last) ``stat_length`` values,
    repeated before (after) them; rounded for integer arrays, as in NumPy."""
    from . import _reductions, _sorting
    from ._elementwise import round as round_
    from ._shape import broadcast_to
    reduce = {"maximum": _reductions.max, "minimum": _reductions.min,
              "mean": _reductions.mean, "median": _sorting.median}[mode]
    length = x.shape[axis]
    first, last = (length if n is None or n > length else n for n in lengths)
    if 0 in (first, last) and mode in ("maximum", "minimum"):
        raise ValueError("pad: a stat_length of 0 gives no value to pad with "
                         f"(mode {mode!r}, axis {axis})")
    before, after = pair
    if not before and not after:
        return x

    def stat(start, stop, width):
        value = reduce(_piece(x, axis, start, stop), axis=axis, keepdims=True)
        if x.dtype.kind in "iu":
            value = round_(value)
        shape = list(x.shape)
        shape[axis] = width
        return broadcast_to(cast(value, x.dtype), tuple(shape))

    left = stat(0, first, before) if before else None
    right = stat(length - last, length, after) if after else None
    return _joined(x, axis, left, right)


# ------------------------------------------------------------------------- a function mode

def _pad_with_function(array, pad_width, function, kwargs):
    """jax.numpy's (and NumPy's) callable mode: zero-pad every axis, then
    ``function(vector, pair, axis, kwargs)`` gives each vector along one axis after the
    other (vmapped when traced)."""
    x = asarray_or_tracer(array)
    widths = _width_pairs(pad_width, x.ndim)
    traced = isinstance(x, Tracer)
    x = _pad_constant(x, widths, 0) if traced else np.pad(x, widths)
    from ._shape import moveaxis
    for axis, pair in enumerate(widths):
        moved = moveaxis(x, axis, -1)
        rows = _reshaped(moved, (int(np.prod(moved.shape[:-1])), moved.shape[-1]))
        if traced:
            from ..transforms.vmap import vmap
            out = vmap(lambda row, pair=pair, axis=axis: asarray_or_tracer(
                function(row, pair, axis, kwargs)))(rows)
        else:
            from ..core.array import Array
            out = np.array(rows)
            for row in out.view(Array):   # (Arrays, so that .at works as on tracers)
                given = function(row, pair, axis, kwargs)
                if given is not None:
                    row[...] = given
        x = moveaxis(_reshaped(out, moved.shape), -1, axis)
    return x
