"""Shape functions of ``funcgrad.numpy``: reshape, transpose, stack, concatenate, ..."""
from __future__ import annotations

import numpy as np

from ..core.trace import Tracer
from ..ops import structural as st
from ._core import asarray_or_tracer, cast, common_dtype, is_traced, normalize_axes


def reshape(a, newshape=None, order: str = "C", *, shape=None):
    """``numpy.reshape`` (C order); one dimension may be -1."""
    newshape = shape if newshape is None else newshape
    if not isinstance(a, Tracer):
        return np.reshape(a, newshape, order=order)
    if order != "C":
        raise ValueError("reshape: only order='C' is supported on traced arrays")
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension")
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if known == 0 or a.size % known:
            raise ValueError(f"reshape: cannot reshape array of size {a.size} into shape "
                             f"{newshape}")
        newshape = tuple(a.size // known if d == -1 else d for d in newshape)
    return st.reshape(a, newshape)


def ravel(a, order: str = "C"):
    """``numpy.ravel``."""
    if not isinstance(a, Tracer):
        return np.ravel(a, order)
    return reshape(a, (a.size,), order)


def transpose(a, axes=None):
    """``numpy.transpose``."""
    if not isinstance(a, Tracer):
        return np.transpose(a, axes)
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    axes = tuple(int(x) % a.ndim for x in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} don't match array of dimension {a.ndim}")
    return st.transpose(a, axes)


def concatenate(arrays, axis=0):
    """``numpy.concatenate``; ``axis=None`` flattens first."""
    arrays = list(arrays)
    if not is_traced(*arrays):
        return np.concatenate(arrays, axis=axis)
    dtype = common_dtype(*arrays)
    arrays = [cast(asarray_or_tracer(a), dtype) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if any(np.ndim(a) == 0 for a in arrays):
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    (axis,) = normalize_axes(axis, np.ndim(arrays[0]), "concatenate")
    return st.concatenate(arrays, axis)


def expand_dims(a, axis):
    """``numpy.expand_dims``."""
    if not isinstance(a, Tracer):
        return np.expand_dims(a, axis)
    axes = normalize_axes(axis, a.ndim + (1 if isinstance(axis, int) else len(axis)),
                          "expand_dims")
    shape = list(a.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return st.reshape(a, shape)


def stack(arrays, axis: int = 0):
    """``numpy.stack``."""
    arrays = list(arrays)
    if not is_traced(*arrays):
        return np.stack(arrays, axis=axis)
    arrays = [asarray_or_tracer(a) for a in arrays]
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {shapes}")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)
