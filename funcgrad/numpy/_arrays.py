"""Building and editing arrays: logspace, tri and the triangle indices, meshgrid, append,
insert, delete, rot90, select and piecewise.

Shapes are never traced, so the arguments that decide one (``N``, ``obj`` of insert/delete,
``k`` of rot90) must be concrete. ``insert`` and ``delete`` let NumPy lay out the result on
arrays of labels (which element of the input, or of the values, lands where); the traced
result is one gather of those labels, so its derivative scatters back to where each element
came from. ``select`` and ``piecewise`` are chains of ``where``: ``piecewise`` calls each of
its functions on the whole array (not on the selected elements only, as NumPy does), so a
function must be defined, and should be finite, everywhere.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..core.trace import Tracer
from ..ops import structural as st
from . import _elementwise as el
from ._core import asarray_or_tracer, cast, common_dtype
from ._core import traced as _traced
from ._creation import _require_concrete

__all__ = [
    "logspace", "tri", "tril_indices", "triu_indices", "meshgrid", "append", "insert",
    "delete", "rot90", "select", "piecewise",
]



def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``numpy.logspace``: ``base ** linspace(start, stop, num)``. ``start``, ``stop`` and
    ``base`` may be traced (differentiable); ``num`` is concrete."""
    _require_concrete("logspace", num=num)
    if not _traced(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    # Python numbers stay weak (the default base=10.0 keeps float32 endpoints float32)
    start, stop, base = (v if isinstance(v, (int, float)) else asarray_or_tracer(v)
                         for v in (start, stop, base))
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop), np.shape(base))
    float_dtype = common_dtype(start, stop, base, 1.0)
    steps = np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(float_dtype)
    steps = steps.reshape((num,) + (1,) * len(shape))

    def leading(v):   # v with a new leading axis, to meet the steps
        v = cast(v, float_dtype)
        new_shape = (1,) + np.shape(v)
        return st.reshape(v, new_shape) if isinstance(v, Tracer) else np.reshape(v, new_shape)

    start, stop, base = leading(start), leading(stop), leading(base)
    exponent = el.add(start, el.multiply(el.subtract(stop, start), steps))
    out = el.power(base, exponent)
    if axis != 0:
        from ._shape import moveaxis
        out = moveaxis(out, 0, axis)
    return out if dtype is None else cast(out, dtype)


def tri(N, M=None, k=0, dtype=float, *, like=None):
    """``numpy.tri``: ones at and below diagonal ``k`` of an ``N x M`` array (concrete)."""
    _require_concrete("tri", N=N, M=M, k=k)
    return np.tri(N, M, k, dtype)


def tril_indices(n, k=0, m=None):
    """``numpy.tril_indices``: the row and column indices of the lower triangle (concrete)."""
    _require_concrete("tril_indices", n=n, k=k, m=m)
    return np.tril_indices(n, k, m)


def triu_indices(n, k=0, m=None):
    """``numpy.triu_indices``: the row and column indices of the upper triangle (concrete)."""
    _require_concrete("triu_indices", n=n, k=k, m=m)
    return np.triu_indices(n, k, m)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``numpy.meshgrid``: coordinate arrays from 1-d coordinate vectors (a tuple, as in
    NumPy 2); ``indexing`` is 'xy' (Cartesian, the default) or 'ij' (matrix)."""
    if not _traced(*xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: valid values for `indexing` are 'xy' and 'ij'.")
    arrays = [asarray_or_tracer(x) for x in xi]
    ndim = len(arrays)
    out = []
    for i, x in enumerate(arrays):
        shape = [1] * ndim
        shape[i] = int(np.size(x)) if not isinstance(x, Tracer) else x.size
        if indexing == "xy" and ndim > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        flat = st.reshape(x, (x.size,)) if isinstance(x, Tracer) else np.ravel(x)
        out.append(st.reshape(flat, shape) if isinstance(flat, Tracer) else
                   np.reshape(flat, shape))
    if not sparse:
        full = np.broadcast_shapes(*[np.shape(o) for o in out])
        out = [st.broadcast_to(o, full) if isinstance(o, Tracer) else
               np.broadcast_to(o, full).copy() for o in out]
    return tuple(out)


def append(arr, values, axis=None):
    """``numpy.append``: ``values`` joined to the end of ``arr`` (both flattened for None)."""
    if not _traced(arr, values):
        return np.append(arr, values, axis)
    from ._shape import concatenate, ravel
    arr, values = asarray_or_tracer(arr), asarray_or_tracer(values)
    if axis is None:
        arr = ravel(arr) if np.ndim(arr) != 1 else arr
        values = ravel(values)
        axis = np.ndim(arr) - 1
    return concatenate([arr, values], axis)


def _labels(shape, offset=0):
    return np.arange(offset, offset + int(math.prod(shape)),
                     dtype=np.int64).reshape(shape)


def _gather_flat(source, labels):
    return st.gather(source, [labels], st.IndexSpec([("array", 0)]))


def insert(arr, obj, values, axis=None):
    """``numpy.insert``: ``values`` inserted before the index or indices ``obj`` (an int, a
    slice or a sequence; concrete) along ``axis`` (flattened for None). Differentiable in
    ``arr`` and ``values`` (cast to ``arr``'s dtype, as NumPy casts them)."""
    if not _traced(arr, obj, values):
        return np.insert(arr, obj, values, axis)
    _require_concrete("insert", obj=obj)
    arr, values = asarray_or_tracer(arr), asarray_or_tracer(values)
    values = cast(values, arr.dtype)
    labels = np.insert(_labels(np.shape(arr)), obj, _labels(np.shape(values), arr.size), axis)
    source = st.concatenate([st.reshape(arr, (arr.size,)), st.reshape(values, (values.size,))],
                            0) if values.size else st.reshape(arr, (arr.size,))
    return _gather_flat(source, labels)


def delete(arr, obj, axis=None):
    """``numpy.delete``: ``arr`` without the entries ``obj`` (an int, a slice, a sequence of
    ints or a boolean mask; concrete) along ``axis`` (flattened for None)."""
    if not _traced(arr, obj):
        return np.delete(arr, obj, axis)
    _require_concrete("delete", obj=obj)
    labels = np.delete(_labels(np.shape(arr)), obj, axis)
    return _gather_flat(st.reshape(arr, (arr.size,)), labels)


def rot90(m, k=1, axes=(0, 1)):
    """``numpy.rot90``: rotate by 90 degrees ``k`` times in the plane of ``axes``, from the
    first axis towards the second (a flip and a transpose)."""
    if not isinstance(m, Tracer):
        return np.rot90(m, k, axes)
    _require_concrete("rot90", k=k)
    from ._shape import flip, transpose
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2.")
    if m.ndim < 2:
        raise ValueError("rot90: Axes must be different and the array at least 2-d.")
    first, second = normalize_axis_tuple(axes, m.ndim, "rot90")
    if first == second:
        raise ValueError("rot90: Axes must be different.")
    k = int(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, first), second)
    order = list(range(m.ndim))
    order[first], order[second] = order[second], order[first]
    if k == 1:
        return transpose(flip(m, second), order)
    return flip(transpose(m, order), second)


def select(condlist, choicelist, default=0):
    """``numpy.select``: from each position, the element of the first choice whose condition
    holds there (``default`` where none does). Differentiable in the choices and default."""
    condlist, choicelist = list(condlist), list(choicelist)
    if not _traced(*condlist, *choicelist, default):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    for i, cond in enumerate(condlist):
        if asarray_or_tracer(cond).dtype != np.bool_:
            raise TypeError(f"select: invalid entry {i} in condlist: should be boolean ndarray")
    # Python numbers, and tracers of them, stay weak in the choices, as in NumPy's select.
    dtype = common_dtype(*[c if isinstance(c, (Tracer, bool, int, float, complex))
                           else asarray_or_tracer(c) for c in choicelist], default)
    out = cast(asarray_or_tracer(default), dtype)
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = el.where(cond, cast(asarray_or_tracer(choice), dtype), out)
    shape = np.broadcast_shapes(*[np.shape(c) for c in condlist + choicelist],
                                np.shape(default))
    if np.shape(out) != shape:
        out = st.broadcast_to(out, shape) if isinstance(out, Tracer) else np.broadcast_to(
            out, shape)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """``numpy.piecewise``: ``funclist[i](x, *args, **kw)`` (or the constant ``funclist[i]``)
    where ``condlist[i]`` holds, later conditions winning; one extra function is the value
    where no condition holds (else 0). Traced, each function is called on the whole of
    ``x`` and the results are combined with ``where``: derivatives flow only from the chosen
    function, but every function must be computable everywhere."""
    if not _traced(x, condlist):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = asarray_or_tracer(x)
    if isinstance(condlist, (Tracer, np.ndarray)) and np.ndim(condlist) == np.ndim(x) or \
            isinstance(condlist, bool):
        condlist = [condlist]
    condlist = [asarray_or_tracer(c) for c in condlist]
    funclist = list(funclist)
    n = len(condlist)
    if len(funclist) == n + 1:
        otherwise = el.logical_not(_any(condlist))
        condlist.append(otherwise)
    elif len(funclist) != n:
        raise ValueError(f"piecewise: with {n} condition(s), either {n} or {n + 1} functions "
                         f"are expected, got {len(funclist)}")
    out = np.zeros(np.shape(x), x.dtype)
    for cond, function in zip(condlist, funclist):
        if cond.dtype != np.bool_:
            cond = el.not_equal(cond, 0)
        value = function(x, *args, **kw) if callable(function) else function
        out = el.where(cond, cast(asarray_or_tracer(value), x.dtype), out)
    return out


def _any(conditions):
    out = conditions[0]
    for cond in conditions[1:]:
        out = el.logical_or(out, cond)
    return out
