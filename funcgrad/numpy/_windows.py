"""Windows (bartlett, blackman, hamming, hanning, kaiser), phase unwrapping, and bit packing.

The windows are NumPy's float64 arrays: their length decides the shape, so it is concrete,
and so is kaiser's ``beta``. ``unwrap`` is traced as NumPy computes it (a running sum of
the corrections of the jumps), so its derivative is the identity's, as in jax.numpy (the
corrections are piecewise constant). ``packbits`` and ``unpackbits`` are integer arithmetic
(no derivative).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.trace import Tracer
from ..ops import elementwise as ew
from . import _elementwise as el
from ._core import cast
from ._creation import _require_concrete

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser", "unwrap", "packbits",
           "unpackbits"]


def _window(numpy_fn, name):
    def window(M):
        _require_concrete(name, M=M)
        return numpy_fn(M)
    window.__name__ = window.__qualname__ = name
    window.__doc__ = f"``numpy.{name}``: the {name.capitalize()} window of ``M`` points " \
                     "(float64; ``M`` concrete)."
    return window


bartlett = _window(np.bartlett, "bartlett")
blackman = _window(np.blackman, "blackman")
hamming = _window(np.hamming, "hamming")
hanning = _window(np.hanning, "hanning")


def kaiser(M, beta):
    """``numpy.kaiser``: the Kaiser window of ``M`` points and shape ``beta`` (float64;
    both concrete)."""
    _require_concrete("kaiser", M=M, beta=beta)
    return np.kaiser(M, beta)


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``numpy.unwrap``: ``p`` with every jump larger than ``discont`` (default
    ``period / 2``) along ``axis`` replaced by its remainder modulo ``period``."""
    if not isinstance(p, Tracer):
        return np.unwrap(p, discont, axis, period=period)
    _require_concrete("unwrap", discont=discont, period=period)
    from ._math import diff
    from ._reductions import cumsum
    from ._shape import concatenate
    axis = normalize_axis_index(axis, p.ndim, "unwrap")
    jumps = diff(p, axis=axis)
    dtype = np.result_type(jumps.dtype, period)
    if np.issubdtype(dtype, np.integer):
        high, remainder = divmod(period, 2)
        ambiguous = remainder == 0
    else:
        high, ambiguous = period / 2, True
    low = -high
    jumps = cast(jumps, dtype)
    wrapped = el.add(el.mod(el.subtract(jumps, low), period), low)
    if ambiguous:   # a jump of exactly half a period keeps its sign
        wrapped = el.where(el.logical_and(el.equal(wrapped, low), el.greater(jumps, 0)),
                           cast(np.asarray(high), dtype), wrapped)
    correction = el.subtract(wrapped, jumps)
    if discont is None:
        discont = period / 2
    correction = el.where(el.less(el.abs(jumps), discont), cast(np.asarray(0), dtype),
                          correction)
    first = p[(slice(None),) * axis + (slice(0, 1),)]
    rest = p[(slice(None),) * axis + (slice(1, None),)]
    return concatenate([cast(first, dtype), el.add(rest, cumsum(correction, axis=axis))],
                       axis=axis)


def _bit_weights(bitorder, who):
    if bitorder not in ("big", "little"):
        raise ValueError(f"{who}: 'order' must be either 'little' or 'big', got {bitorder!r}")
    weights = 2 ** np.arange(8, dtype=np.int64)
    return weights[::-1] if bitorder == "big" else weights


def packbits(a, axis=None, bitorder="big"):
    """``numpy.packbits``: the truth of each element of ``a`` as bits of uint8 values, eight
    to a byte along ``axis`` (the flattened ``a`` for None), zero-padded at the end."""
    if not isinstance(a, Tracer):
        return np.packbits(a, axis, bitorder)
    from ._reductions import sum as sum_
    from ._shape import concatenate, moveaxis, ravel, reshape
    if a.dtype.kind not in "biu":
        raise TypeError("packbits: Expected an input array of integer or boolean data type")
    weights = _bit_weights(bitorder, "packbits")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(axis, a.ndim, "packbits")
    bits = moveaxis(cast(ew.ne(a, a.dtype.type(0)), np.int64), axis, -1)
    length = bits.shape[-1]
    spare = -length % 8
    if spare:
        bits = concatenate([bits, np.zeros(bits.shape[:-1] + (spare,), np.int64)], axis=-1)
    grouped = reshape(bits, bits.shape[:-1] + ((length + spare) // 8, 8))
    packed = cast(sum_(el.multiply(grouped, weights), axis=-1), np.uint8)
    return moveaxis(packed, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """``numpy.unpackbits``: the bits of the uint8 array ``a`` along ``axis`` (flattened for
    None), eight per byte, as uint8; ``count`` keeps that many (zeros added past the end;
    negative: drops them from the end)."""
    _require_concrete("unpackbits", count=count)
    if not isinstance(a, Tracer):
        return np.unpackbits(a, axis, count, bitorder)
    from ._shape import concatenate, moveaxis, ravel, reshape
    if a.dtype != np.uint8:
        raise TypeError("unpackbits: Expected an input array of unsigned byte data type")
    weights = _bit_weights(bitorder, "unpackbits")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis_index(axis, a.ndim, "unpackbits")
    moved = cast(moveaxis(a, axis, -1), np.int64)
    expanded = reshape(moved, moved.shape + (1,))
    bits = ew.rem(ew.floor_divide(expanded, weights), np.int64(2))
    bits = reshape(bits, moved.shape[:-1] + (moved.shape[-1] * 8,))
    if count is not None:
        total = bits.shape[-1]
        keep = count if count >= 0 else max(total + count, 0)
        if keep <= total:
            bits = bits[..., :keep]
        else:
            bits = concatenate([bits, np.zeros(bits.shape[:-1] + (keep - total,), np.int64)],
                               axis=-1)
    return moveaxis(cast(bits, np.uint8), -1, axis)

