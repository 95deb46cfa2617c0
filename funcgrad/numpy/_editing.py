"""Array editing and index functions: block, choose, compress, extract, place, put,
put_along_axis, fill_diagonal, diagflat, resize, rollaxis, trim_zeros, geomspace, and the
index builders (diag_indices, the triangle indices of an array, mask_indices, indices, ix_,
ravel_multi_index, unravel_index).

On concrete arrays each is NumPy's. Traced, each is written with the structural primitives
(gather, scatter, concatenate, select), so its derivatives are theirs: choose, compress,
extract and resize are gathers, the editing functions scatters.

NumPy's in-place functions (``place``, ``put``, ``put_along_axis``, ``fill_diagonal``) take
jax.numpy's keyword ``inplace=True``. With it they edit a NumPy array in place and return
None, as NumPy does; a traced array cannot be edited (it is immutable, as a JAX array is), so
there they raise and say to pass ``inplace=False`` (which returns the edited copy, for NumPy
arrays too) or to use ``x.at[...].set(...)``.

``compress`` and ``extract`` return as many elements as the condition holds: a traced
condition whose values are unknown needs ``size=`` (padded with ``fill_value``, as in
jax.numpy); ``trim_zeros`` needs known values. ``choose``, ``put`` and
``ravel_multi_index`` with ``mode='raise'`` need known indices to check them (jax.numpy's
rule); ``mode='wrap'`` or ``'clip'`` take traced ones. ``unravel_index`` of traced indices
clips those out of bounds, as jax.numpy does.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import _UNKNOWN, Tracer, known_value
from ..ops import elementwise as ew
from ..ops import structural as st
from . import _elementwise as el
from ._arrays import _gather_flat
from ._core import asarray_or_tracer, cast
from ._core import traced as _traced
from ._creation import _require_concrete
from ._indexing import at

__all__ = [
    "block", "choose", "compress", "extract", "place", "put", "put_along_axis",
    "fill_diagonal", "diagflat", "diag_indices", "diag_indices_from", "tril_indices_from",
    "triu_indices_from", "mask_indices", "indices", "ix_", "ravel_multi_index",
    "unravel_index", "resize", "rollaxis", "trim_zeros", "geomspace",
]



def _known(x):
    """The value of ``x`` as a NumPy array, or None where it is traced and unknown."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    value = known_value(x)
    return None if value is _UNKNOWN else np.asarray(value)


def _flat(x):
    return st.reshape(x, (x.size,)) if isinstance(x, Tracer) else np.ravel(x)


def _needs_known(who: str, what: str, x, hint: str):
    return ConcretizationError(at_user_line(
        f"{who}: {what} is {x._describe()}, whose values are not known here (under jit, vmap "
        f"and make_ir). {hint}"))


# ---------------------------------------------------------------------------------- block

def _depth(arrays, where="arrays") -> int:
    if isinstance(arrays, tuple):
        raise TypeError(f"block: {where} is a tuple; only lists may be nested")
    if not isinstance(arrays, list):
        return 0
    if not arrays:
        raise ValueError(f"block: {where} is an empty list")
    depths = {_depth(a, f"{where}[{i}]") for i, a in enumerate(arrays)}
    if len(depths) != 1:
        raise ValueError(f"block: the lists in {where} are nested to different depths")
    return depths.pop() + 1


def _leaves(arrays):
    if isinstance(arrays, list):
        return [leaf for a in arrays for leaf in _leaves(a)]
    return [arrays]


def block(arrays):
    """``numpy.block``: an array assembled from nested lists of blocks; the innermost lists
    are joined along the last axis, the next ones along the one before, and so on."""
    if not _traced(arrays):
        return np.block(arrays)
    from ._shape import concatenate, reshape
    depth = _depth(arrays)
    ndim = max([depth] + [np.ndim(leaf) for leaf in _leaves(arrays)])

    def assemble(part, level):
        if not isinstance(part, list):
            part = asarray_or_tracer(part)
            return reshape(part, (1,) * (ndim - np.ndim(part)) + np.shape(part))
        return concatenate([assemble(p, level + 1) for p in part], axis=level - depth)

    return assemble(arrays, 0)


# ------------------------------------------------------------------------- reading by index

def _checked_indices(who: str, indices, length: int, mode: str, name: str,
                     negative_ok: bool = True):
    """Integer ``indices`` into ``length`` places after ``mode`` ('raise', 'wrap', 'clip');
    traced ones with 'raise' must have known values (negative ones count from the end where
    ``negative_ok``, as put's do; choose's are out of range)."""
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"{who}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    indices = asarray_or_tracer(indices)
    if isinstance(indices, np.ndarray) and indices.size == 0:
        indices = indices.astype(np.intp)    # [] is float64 to NumPy, and takes no place
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"{who}: {name} must be integers, got {indices.dtype.name}")
    value = _known(indices)
    if mode == "raise":
        if value is None:
            raise _needs_known(who, f"'{name}' (mode='raise')", indices,
                               "Use mode='wrap' or mode='clip' to take traced indices.")
        lowest = -length if negative_ok else 0
        if value.size and (value.min() < lowest or value.max() >= length):
            raise ValueError(f"{who}: {name} out of range for {length} places")
        return np.where(value < 0, value + length, value).astype(np.int64)
    if value is not None:
        return (np.mod(value, length) if mode == "wrap" else
                np.clip(value, 0, length - 1)).astype(np.int64)
    indices = cast(indices, np.int64)
    if mode == "wrap":
        return ew.rem(ew.add(ew.rem(indices, np.int64(length)), np.int64(length)),
                      np.int64(length))
    return ew.minimum(ew.maximum(indices, np.int64(0)), np.int64(length - 1))


def choose(a, choices, out=None, mode="raise"):
    """``numpy.choose``: ``choices[a]`` elementwise, everything broadcast together.
    Differentiable in ``choices``."""
    if not _traced(a, choices):
        return np.choose(a, choices, out, mode)
    if out is not None:
        raise TypeError("choose: out= is not supported on traced arrays; use the returned value")
    from ._shape import broadcast_arrays, stack
    from ._sorting import _take_along
    choices = [asarray_or_tracer(c) for c in choices]
    index = _checked_indices("choose", a, len(choices), mode, "a", negative_ok=False)
    arrays = broadcast_arrays(index, *choices)
    stacked = stack(arrays[1:])
    picked = _take_along(stacked, st.reshape(arrays[0], (1,) + arrays[0].shape) if isinstance(
        arrays[0], Tracer) else arrays[0][None], 0)
    return st.reshape(picked, picked.shape[1:])


def _sized(who, kept, size, fill_value, what="the condition"):
    """The positions ``kept`` (a concrete or traced boolean vector) hold, as an index array
    (padded to ``size`` with -1 where there are fewer), and where they are valid."""
    from ._sorting import _size_argument, _traced_flatnonzero
    size = _size_argument(size, who)
    value = _known(kept)
    if value is not None:
        positions = np.flatnonzero(value)
        if size is None:
            return positions, None
        valid = np.arange(size) < len(positions)
        return np.resize(positions, size) * valid if len(positions) else \
            np.zeros(size, np.int64), valid
    if size is None:
        raise _needs_known(who, what, kept,
                           f"Pass size=N for a result of N elements (padded with fill_value, "
                           f"as in jax.numpy), or call {who} on concrete arrays.")
    return _traced_flatnonzero(kept, size, 0)


def compress(condition, a, axis=None, out=None, *, size=None, fill_value=0):
    """``numpy.compress``: the slices of ``a`` along ``axis`` (the flattened ``a`` for None)
    where ``condition`` (1-d) is true. Differentiable in ``a``; see the module for ``size=``."""
    if not _traced(condition, a) and size is None:
        return np.compress(condition, a, axis, out)
    if out is not None:
        raise TypeError("compress: out= is not supported on traced arrays; use the returned "
                        "value")
    from ._shape import take
    a, condition = asarray_or_tracer(a), asarray_or_tracer(condition)
    if np.ndim(condition) != 1:
        raise ValueError("compress: condition must be a 1-d array")
    if axis is None:
        a, axis = _flat(a), 0
    axis = normalize_axis_index(axis, np.ndim(a), "compress")
    length = np.shape(a)[axis]
    if condition.shape[0] > length:
        value = _known(condition)
        if value is None or value[length:].any():
            raise IndexError(f"compress: condition has {condition.shape[0]} entries, more than "
                             f"the {length} of axis {axis}")
    if condition.shape[0] != length:   # (NumPy: a shorter condition leaves the rest out)
        condition = _flat(condition)[:length] if condition.shape[0] > length else \
            el.not_equal(_pad_false(condition, length), False)
    positions, valid = _sized("compress", el.not_equal(condition, False), size, fill_value)
    picked = take(a, positions, axis)
    if valid is None:
        return picked
    shape = [1] * np.ndim(picked)
    shape[axis] = len(valid) if not isinstance(valid, Tracer) else valid.shape[0]
    return el.where(st.reshape(valid, shape) if isinstance(valid, Tracer) else
                    np.reshape(valid, shape), picked, cast(fill_value, picked.dtype))


def _pad_false(condition, length):
    from ._shape import concatenate
    return concatenate([cast(condition, np.bool_),
                        np.zeros(length - condition.shape[0], np.bool_)])


def extract(condition, arr, *, size=None, fill_value=0):
    """``numpy.extract``: the elements of ``arr`` where ``condition`` is nonzero, flattened.
    Differentiable in ``arr``; see the module for ``size=``."""
    if not _traced(condition, arr) and size is None:
        return np.extract(condition, arr)
    return compress(_flat(asarray_or_tracer(condition)), _flat(asarray_or_tracer(arr)),
                    size=size, fill_value=fill_value)


# ---------------------------------------------------------------------------- editing

def _edited(who, arr, inplace, numpy_edit, traced_edit, *operands):
    """NumPy's in-place edit of a NumPy array (returning None) or, with ``inplace=False``, of
    its copy; a traced edit returns the edited copy (``inplace=True`` raises there)."""
    if not _traced(arr, *operands):
        if inplace:
            numpy_edit(arr)
            return None
        copy = np.array(arr)
        numpy_edit(copy)
        return copy
    if inplace:
        raise TypeError(at_user_line(
            f"{who}: the array cannot be edited in place here: traced arrays (and the arrays "
            f"a traced value would be written into) are immutable, as JAX's are. Pass "
            f"inplace=False to get the edited copy, or use x.at[...].set(...)."))
    return traced_edit(asarray_or_tracer(arr))


def _cycled(values, count: int, dtype):
    """``values`` flattened and repeated (or cut) to ``count`` elements, as NumPy's ``put``,
    ``place`` and ``fill_diagonal`` use them."""
    values = cast(asarray_or_tracer(values), dtype)
    if values.size == 0:
        raise ValueError("cannot take values from an empty array of values")
    return _gather_flat(_flat(values), np.resize(np.arange(values.size), count)) \
        if isinstance(values, Tracer) else np.resize(values, count)


def place(arr, mask, vals, *, inplace=True):
    """``numpy.place``: ``arr`` where ``mask`` is true takes ``vals`` in turn (cycled).
    See the module for ``inplace``; traced, ``mask`` may be traced too."""
    def traced_edit(x):
        m = cast(asarray_or_tracer(mask), np.bool_)
        if np.shape(m) != x.shape:
            raise ValueError(f"place: mask of shape {np.shape(m)} does not match the array's "
                             f"{x.shape}")
        values = cast(_flat(asarray_or_tracer(vals)), x.dtype)
        if values.shape[0] == 0:
            known = _known(m)
            if known is not None and not known.any():
                return x
            raise ValueError(
                "place: vals is empty, so nothing can fill the places where mask is true (as "
                "in NumPy)" + ("" if known is not None else "; the mask is traced, its values "
                               "unknown here, so give at least one value"))
        from ._reductions import cumsum
        turn = ew.rem(ew.sub(cumsum(_flat(cast(m, np.int64))), np.int64(1)),
                      np.int64(values.shape[0]))
        turn = ew.maximum(turn, np.int64(0))
        from ._shape import take
        return el.where(m, st.reshape(take(values, turn), x.shape) if isinstance(
            turn, Tracer) else np.reshape(np.take(values, turn), x.shape), x)
    return _edited("place", arr, inplace, lambda a: np.place(a, mask, vals), traced_edit,
                   mask, vals)


def put(a, ind, v, mode=None, *, inplace=True):
    """``numpy.put``: the flattened ``a`` takes ``v`` (cycled) at ``ind``; ``mode`` 'raise'
    (NumPy's default), 'wrap' or 'clip'. See the module for ``inplace``."""
    mode = "raise" if mode is None else mode

    def traced_edit(x):
        index = _checked_indices("put", _flat(asarray_or_tracer(ind)), x.size, mode, "ind")
        values = _cycled(v, int(np.size(index)), x.dtype)
        return st.reshape(at(_flat(x))[index].set(values), x.shape)
    return _edited("put", a, inplace, lambda x: np.put(x, ind, v, mode), traced_edit, ind, v)


def _along_axis_index(shape, indices, axis):
    """The index tuple that reads or writes ``indices`` along ``axis`` (NumPy's)."""
    ndim = len(shape)
    key = []
    for dim in range(ndim):
        if dim == axis:
            key.append(indices)
        else:
            grid = [1] * ndim
            grid[dim] = shape[dim]
            key.append(np.arange(shape[dim]).reshape(grid))
    return tuple(key)


def put_along_axis(arr, indices, values, axis, inplace=True, mode=None):
    """``numpy.put_along_axis``: ``arr`` takes ``values`` at ``indices`` along ``axis``
    (``take_along_axis``'s places). Differentiable in ``arr`` and ``values``; see the module
    for ``inplace``."""
    def traced_edit(x):
        index = asarray_or_tracer(indices)
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"put_along_axis: indices must be integers, got {index.dtype.name}")
        if axis is None:
            flat = _flat(x)
            return st.reshape(at(flat)[index].set(values), x.shape)
        if np.ndim(index) != x.ndim:
            raise ValueError("put_along_axis: `indices` and `arr` must have the same number "
                             f"of dimensions (got shapes {np.shape(index)} and {x.shape})")
        dim = normalize_axis_index(axis, x.ndim, "put_along_axis")
        key = _along_axis_index(x.shape, index, dim)
        target = np.broadcast_shapes(*[np.shape(k) for k in key])
        from ._shape import broadcast_to
        return at(x)[key].set(broadcast_to(cast(asarray_or_tracer(values), x.dtype), target))
    return _edited("put_along_axis", arr, inplace,
                   lambda x: np.put_along_axis(x, indices, values, axis), traced_edit,
                   indices, values)


def _diagonal_flat_positions(shape, wrap: bool):
    """NumPy's ``fill_diagonal`` positions in the flattened array."""
    ndim = len(shape)
    if ndim < 2:
        raise ValueError("fill_diagonal: array must be at least 2-d")
    if ndim == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("fill_diagonal: all dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    return np.arange(int(np.prod(shape)))[:end:step]


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """``numpy.fill_diagonal``: the main diagonal of ``a`` takes ``val`` (cycled); ``wrap``
    restarts it below a tall matrix's square. See the module for ``inplace``."""
    def traced_edit(x):
        positions = _diagonal_flat_positions(x.shape, wrap)
        values = _cycled(val, len(positions), x.dtype)
        return st.reshape(at(_flat(x))[positions].set(values), x.shape)
    return _edited("fill_diagonal", a, inplace, lambda x: np.fill_diagonal(x, val, wrap),
                   traced_edit, val)


def diagflat(v, k=0):
    """``numpy.diagflat``: a 2-d array with the flattened ``v`` on diagonal ``k``."""
    if not isinstance(v, Tracer):
        return np.diagflat(v, k)
    from ._shape import diag
    _require_concrete("diagflat", k=k)
    return diag(_flat(v), k)


def resize(a, new_shape):
    """``numpy.resize``: the flattened ``a`` repeated (or cut) to fill ``new_shape``;
    zeros where ``a`` is empty. Differentiable in ``a``, as a gather."""
    _require_concrete("resize", new_shape=new_shape)
    if not isinstance(a, Tracer):
        return np.resize(a, new_shape)
    shape = (new_shape,) if np.ndim(new_shape) == 0 else tuple(new_shape)
    if any(d < 0 for d in shape):
        raise ValueError("resize: all elements of `new_shape` must be non-negative")
    if a.size == 0:
        return np.zeros(shape, a.dtype)
    return _gather_flat(_flat(a), np.resize(np.arange(a.size), shape))


def rollaxis(a, axis, start=0):
    """``numpy.rollaxis``: move ``axis`` to before position ``start`` (prefer moveaxis)."""
    if not isinstance(a, Tracer):
        return np.rollaxis(a, axis, start)
    n = a.ndim
    axis = normalize_axis_index(axis, n, "rollaxis")
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"rollaxis: 'start' arg requires {-n} <= start < "
                                      f"{n + 1}, got {start}")
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return a
    order = [d for d in range(n) if d != axis]
    order.insert(start, axis)
    return st.transpose(a, order)


def trim_zeros(filt, trim="fb", axis=None):
    """``numpy.trim_zeros``: ``filt`` without its leading ('f') and/or trailing ('b') zeros
    (along ``axis``, all axes for None: the hyperplanes that are all zeros). Its values decide
    the shape, so they must be known; the kept part carries the derivative."""
    if not isinstance(filt, Tracer):
        return np.trim_zeros(filt, trim) if axis is None else np.trim_zeros(filt, trim, axis)
    value = _known(filt)
    if value is None:
        raise _needs_known("trim_zeros", "'filt'", filt,
                           "The result's length depends on them: call it on a concrete array.")
    trim = trim.lower()
    if set(trim) - {"f", "b"}:
        raise ValueError(f"trim_zeros: trim must be a combination of 'f' and 'b', got {trim!r}")
    dims = range(value.ndim) if axis is None else [
        normalize_axis_index(d, value.ndim, "trim_zeros") for d in np.atleast_1d(axis)]
    key = [slice(None)] * value.ndim
    for dim in dims:
        others = tuple(d for d in range(value.ndim) if d != dim)
        along = np.flatnonzero(np.any(value != 0, axis=others))
        if not len(along):
            key[dim] = slice(0, 0)
        else:
            key[dim] = slice(int(along[0]) if "f" in trim else 0,
                             int(along[-1]) + 1 if "b" in trim else value.shape[dim])
    from ._indexing import getitem
    return getitem(filt, tuple(key))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``numpy.geomspace``: ``num`` values spaced evenly on a log scale from ``start`` to
    ``stop`` (same sign, nonzero). Traced real endpoints are differentiable."""
    _require_concrete("geomspace", num=num)
    if not _traced(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    from ._arrays import logspace
    from ._core import common_dtype
    from ._shape import moveaxis
    start, stop = (v if isinstance(v, (int, float)) else asarray_or_tracer(v)
                   for v in (start, stop))
    float_dtype = common_dtype(start, stop, float(num), np.zeros((), dtype))   # (NumPy's)
    if float_dtype.kind == "c":
        raise TypeError("geomspace: complex traced endpoints are not supported; pass real ones")
    start, stop = cast(start, float_dtype), cast(stop, float_dtype)
    sign = el.sign(start)
    start, stop = el.true_divide(start, sign), el.true_divide(stop, sign)
    out = logspace(el.log10(start), el.log10(stop), num, endpoint, 10.0, float_dtype, 0)
    # NumPy's endpoints are the given values exactly
    position = np.arange(num).reshape((num,) + (1,) * (out.ndim - 1))
    from ._shape import broadcast_to
    if num > 0:
        out = el.where(position == 0, broadcast_to(start, out.shape), out)
    if num > 1 and endpoint:
        out = el.where(position == num - 1, broadcast_to(stop, out.shape), out)
    out = moveaxis(el.multiply(sign, out), 0, axis)
    return out if dtype is None else cast(out, dtype)


# ------------------------------------------------------------------------- index builders

def _shape_of(arr):
    return np.shape(arr) if not isinstance(arr, Tracer) else arr.shape


def diag_indices(n, ndim=2):
    """``numpy.diag_indices``: the indices of the main diagonal of an ``n**ndim`` array."""
    _require_concrete("diag_indices", n=n, ndim=ndim)
    return np.diag_indices(n, ndim)


def diag_indices_from(arr):
    """``numpy.diag_indices_from``: the main diagonal's indices of ``arr`` (its shape only)."""
    shape = _shape_of(arr)
    return np.diag_indices_from(np.empty(shape, np.bool_))


def tril_indices_from(arr, k=0):
    """``numpy.tril_indices_from``: the lower triangle's indices of the 2-d ``arr``."""
    _require_concrete("tril_indices_from", k=k)
    return np.tril_indices_from(np.empty(_shape_of(arr), np.bool_), k)


def triu_indices_from(arr, k=0):
    """``numpy.triu_indices_from``: the upper triangle's indices of the 2-d ``arr``."""
    _require_concrete("triu_indices_from", k=k)
    return np.triu_indices_from(np.empty(_shape_of(arr), np.bool_), k)


def mask_indices(n, mask_func, k=0):
    """``numpy.mask_indices``: the indices where ``mask_func(ones((n, n)), k)`` is nonzero."""
    _require_concrete("mask_indices", n=n, k=k)
    return np.nonzero(np.asarray(mask_func(np.ones((n, n), int), k)) != 0)


def indices(dimensions, dtype=int, sparse=False):
    """``numpy.indices``: the index grid of an array of shape ``dimensions``."""
    _require_concrete("indices", dimensions=dimensions)
    return np.indices(dimensions, dtype, sparse)


def ix_(*args):
    """``numpy.ix_``: 1-d sequences reshaped to index an open mesh (boolean ones as the
    positions they hold); traced integer sequences stay traced."""
    if not _traced(*args):
        return np.ix_(*args)
    out = []
    for i, seq in enumerate(args):
        seq = asarray_or_tracer(seq)
        if np.ndim(seq) != 1:
            raise ValueError("ix_: cross index must be 1 dimensional")
        if seq.dtype == np.bool_:
            value = _known(seq)
            if value is None:
                raise _needs_known("ix_", f"the boolean argument {i}", seq,
                                   "Pass integer indices, or a concrete mask.")
            seq = np.flatnonzero(value)
        elif not np.issubdtype(seq.dtype, np.integer):
            raise ValueError("ix_: cross index must be integers or booleans")
        shape = (1,) * i + (seq.shape[0],) + (1,) * (len(args) - i - 1)
        out.append(st.reshape(seq, shape) if isinstance(seq, Tracer) else seq.reshape(shape))
    return tuple(out)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """``numpy.ravel_multi_index``: flat positions of the index tuple ``multi_index`` in an
    array of shape ``dims`` (``mode`` 'raise', 'wrap' or 'clip', one or one per axis)."""
    _require_concrete("ravel_multi_index", dims=dims)
    if not _traced(*multi_index):
        return np.ravel_multi_index(multi_index, dims, mode, order)
    dims = tuple(int(d) for d in np.atleast_1d(dims))
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for "
                         f"{len(dims)} dimensions")
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    if order not in ("C", "F"):
        raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    strides = np.ones(len(dims), np.int64)
    running = 1
    for d in (range(len(dims) - 1, -1, -1) if order == "C" else range(len(dims))):
        strides[d], running = running, running * dims[d]
    total = None
    for index, length, m, stride in zip(multi_index, dims, modes, strides):
        if m == "raise":
            value = _known(asarray_or_tracer(index))
            if value is not None and value.size and (value.min() < 0 or value.max() >= length):
                raise ValueError("ravel_multi_index: invalid entry in coordinates array")
        part = el.multiply(_checked_indices("ravel_multi_index", index, length, m,
                                            "multi_index"), stride)
        total = part if total is None else el.add(total, part)
    return total


def unravel_index(indices, shape, order="C"):
    """``numpy.unravel_index``: the index tuple of each flat position in ``indices`` in an
    array of ``shape``. Traced positions out of bounds are clipped (jax.numpy's rule)."""
    _require_concrete("unravel_index", shape=shape)
    if not isinstance(indices, Tracer):
        return np.unravel_index(indices, shape, order)
    shape = tuple(int(d) for d in np.atleast_1d(shape))
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"unravel_index: indices must be integers, got {indices.dtype.name}")
    size = int(np.prod(shape))
    flat = _checked_indices("unravel_index", indices, max(size, 1), "clip", "indices")
    out = [None] * len(shape)
    dims = range(len(shape) - 1, -1, -1) if order == "C" else range(len(shape))
    for d in dims:
        out[d] = ew.rem(flat, np.int64(shape[d]))
        flat = ew.floor_divide(flat, np.int64(shape[d]))
    return tuple(out)
