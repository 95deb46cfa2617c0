"""Indexing of traced values (``x[idx]``) and functional updates (``x.at[idx].set(v)``).

All of NumPy's indexing, basic and advanced, becomes one ``gather``: the index expression is
kept as a static ``IndexSpec`` and every integer array in it, concrete or traced, becomes an
operand. A concrete boolean mask is turned into integer arrays with ``np.nonzero`` (exactly
NumPy's meaning of a mask); a traced one cannot be, since the result's shape would depend on
its values. ``.at[idx].add`` and ``.set`` are ``scatter_add`` and ``scatter`` with the same spec.

NumPy arrays have neither a ``__getitem__`` that accepts tracers nor an ``.at``; the function
``at(array)`` gives the same update methods for any array, so a concrete array (``zeros(3)``,
or an argument that is not differentiated) can receive traced values: ``at(z)[0].set(x)``.
"""
from __future__ import annotations

import operator

import numpy as np

from ..core.array import to_array
from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import _UNKNOWN, Tracer, known_value
from ..ops import elementwise as ew
from ..ops import structural as st
from ._core import asarray_or_tracer, cast

_VALID_INDICES = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
                  "integer or boolean arrays are valid indices")
_FULL_SLICE = ("slice", None, None, None)


class _ParsedIndex:
    """An index expression ready for gather/scatter.

    ``spec`` and ``operands`` are the gather's parameter and index arrays; ``new_axes`` lists
    the size-1 axes to insert into the indexed array first (a scalar boolean index, which NumPy
    treats as a new axis indexed by ``[0]`` or ``[]``); ``shape`` is the result's shape.
    """

    __slots__ = ("spec", "operands", "new_axes", "shape")

    def __init__(self, spec, operands, new_axes, shape):
        self.spec, self.operands, self.new_axes, self.shape = spec, operands, new_axes, shape

    def is_identity(self) -> bool:
        return not self.new_axes and all(e is Ellipsis or e == _FULL_SLICE
                                         for e in self.spec.entries)

    def is_reshape(self, shape) -> bool:
        """Whether the index only adds axes (``None``) and drops axes of size 1 (``[:, 0]``
        after ``keepdims=True``): then it keeps every element in order, as a reshape does."""
        if self.new_axes or self.spec.num_arrays:
            return False
        dim = 0
        for entry in self.spec.entries:
            if entry is Ellipsis:
                dim += len(shape) - sum(e is not None and e is not Ellipsis
                                        for e in self.spec.entries)
            elif entry == _FULL_SLICE:
                dim += 1
            elif isinstance(entry, int):
                if shape[dim] != 1:
                    return False
                dim += 1
            elif entry is not None:
                return False
        return True

    def expand(self, x):
        """``x`` with the scalar-boolean axes inserted."""
        if not self.new_axes:
            return x
        shape = list(np.shape(x))
        for axis in self.new_axes:
            shape.insert(axis, 1)
        return st.reshape(x, shape)


def _traced_index_error(index: Tracer):
    if index.dtype == np.bool_:
        return ConcretizationError(at_user_line(
            f"indexing with a traced boolean mask ({index.aval.short()}): the result's shape "
            "would depend on the mask's values, which are not known while tracing. Use "
            "fnp.where(mask, x, 0) (or another fill value) to keep the shape, or compute the "
            "mask from concrete (non-traced) values."))
    return IndexError(f"arrays used as indices must be of integer (or boolean) type, got a "
                      f"traced {index.aval.short()} array")


def _slice_bound(value):
    if value is None:
        return None
    if isinstance(value, Tracer):
        known = known_value(value)   # under differentiation of concrete inputs: the path taken
        if known is not _UNKNOWN:
            return operator.index(known)
        raise ConcretizationError(at_user_line(
            f"a slice bound is {value._describe()}: the result's shape would depend on its "
            "value. Slice bounds must be concrete integers; for a window of fixed length at a "
            "traced offset, index with an integer array: x[fnp.arange(length) + offset]."))
    try:
        return operator.index(value)
    except TypeError:
        raise IndexError(_VALID_INDICES + f" (got a slice bound {value!r})") from None


def _normalize_item(item):
    """One entry of the index as an int, a slice, None, Ellipsis, a tracer or a NumPy array."""
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, slice):
        return slice(_slice_bound(item.start), _slice_bound(item.stop), _slice_bound(item.step))
    if isinstance(item, (bool, np.bool_)):
        return np.asarray(item)
    if isinstance(item, (list, tuple, np.ndarray, Tracer)):
        item = asarray_or_tracer(item)
        if isinstance(item, Tracer):
            if not np.issubdtype(item.dtype, np.integer):
                raise _traced_index_error(item)
            return item
        if item.size == 0 and item.dtype == np.float64:
            item = item.astype(np.intp)   # an empty list, as NumPy reads it
        if item.dtype != np.bool_ and not np.issubdtype(item.dtype, np.integer):
            raise IndexError("arrays used as indices must be of integer (or boolean) type, "
                             f"got {item.dtype.name}")
        if item.ndim == 0 and item.dtype != np.bool_:
            return int(item)
        return item
    try:
        return operator.index(item)
    except TypeError:
        raise IndexError(f"{_VALID_INDICES} (got {type(item).__name__})") from None


_dummies: dict = {}   # (shape, dtype) -> a read-only broadcast zero of that shape


def _checked_shape(shape, dtype, items):
    """Index a same-shaped dummy with the real index: NumPy's own checks and result shape."""
    dummy = _dummies.get((shape, dtype))
    if dummy is None:
        if len(_dummies) > 1024:
            _dummies.clear()
        dummy = _dummies[(shape, dtype)] = np.broadcast_to(np.zeros((), dtype), shape)
    key = tuple(np.zeros(i.shape, i.dtype) if isinstance(i, Tracer) else i for i in items)
    try:
        return dummy[key].shape
    except (IndexError, ValueError, TypeError) as error:
        shown = ",".join(map(str, shape))
        raise type(error)(f"indexing an array of shape [{shown}]: {error}") from None


def parse_index(shape, dtype, key) -> _ParsedIndex:
    """Turn a NumPy index expression for an array of ``shape`` into gather's spec and operands."""
    items = [_normalize_item(item) for item in (key if isinstance(key, tuple) else (key,))]
    result_shape = _checked_shape(shape, dtype, items)
    consumed = sum(0 if i is None or i is Ellipsis else
                   i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
                   for i in items)
    entries, operands, new_axes = [], [], []
    dim = 0   # the next axis of the original array that the index reaches
    for item in items:
        if isinstance(item, Tracer) or (isinstance(item, np.ndarray) and item.dtype != np.bool_):
            entries.append(("array", len(operands)))
            operands.append(item)
            dim += 1
        elif isinstance(item, np.ndarray) and item.ndim == 0:   # a scalar boolean
            new_axes.append(dim + len(new_axes))
            entries.append(("array", len(operands)))
            operands.append(np.zeros(int(item), np.intp))
        elif isinstance(item, np.ndarray):                      # a concrete boolean mask
            for positions in np.nonzero(item):
                entries.append(("array", len(operands)))
                operands.append(positions)
            dim += item.ndim
        elif isinstance(item, slice):
            entries.append(("slice", item.start, item.stop, item.step))
            dim += 1
        elif item is Ellipsis:
            entries.append(Ellipsis)
            dim += len(shape) - consumed
        else:
            entries.append(item)
            dim += item is not None
    return _ParsedIndex(st.IndexSpec(entries), operands, new_axes, result_shape)


def getitem(x, key):
    """``x[key]`` with NumPy's semantics, as one ``gather`` (traced if ``x`` or an index is).

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: (x[::-1][[0, 0]] * x[1:]).sum())(np.array([1.0, 2.0, 3.0]))
    array([0., 3., 8.])
    """
    shape = np.shape(x)
    static = _static_key(key)
    plan = None if static is None else _static_plans.get((shape, x.dtype, static))
    if plan is None:
        parsed = parse_index(shape, x.dtype, key)
        # nothing, a reshape (a cheaper rule in both directions than a gather), or a gather
        plan = ("identity" if parsed.is_identity() else
                "reshape" if parsed.is_reshape(shape) else "gather"), parsed
        if static is not None:
            if len(_static_plans) >= 4096:
                _static_plans.clear()
            _static_plans[(shape, x.dtype, static)] = plan
    kind, parsed = plan
    if kind == "identity":
        return x
    if kind == "reshape":
        return st.reshape(x, parsed.shape)
    return st.gather(parsed.expand(x), parsed.operands, parsed.spec)


# getitem's plans for indices of Python ints, int slices, None and Ellipsis (the [:, 0] of
# eager code, once a call), by the array's shape and dtype and ``_static_key``.
_static_plans: dict = {}


def _static_key(key):
    """A hashable stand-in for an index made of Python ints, slices of them (or None), None
    and Ellipsis (slices do not hash before Python 3.12); None for any other index."""
    items = key if type(key) is tuple else (key,)
    out = [type(key) is tuple]
    for item in items:
        kind = type(item)
        if kind is int or item is None or item is Ellipsis:
            out.append(item)
        elif kind is slice:
            start, stop, step = item.start, item.stop, item.step
            if not ((start is None or type(start) is int) and (stop is None or type(stop) is int)
                    and (step is None or type(step) is int)):
                return None
            out.append((start, stop, step))
        else:
            return None
    return tuple(out)


def _fit_updates(values, shape, dtype, who: str):
    """``values`` cast to the array's dtype, checked to broadcast to the indexed ``shape``.

    The broadcast itself is left to the scatter (its reverse rule sums it back), so a scalar
    update stays a scalar literal in the IR.
    """
    values = cast(asarray_or_tracer(values), dtype)
    value_shape = np.shape(values)
    extra = len(value_shape) - len(shape)
    if extra > 0 and all(d == 1 for d in value_shape[:extra]):
        values = st.reshape(values, value_shape[extra:])   # NumPy drops leading 1s, too
    try:
        fits = ew._broadcast_shapes(np.shape(values), tuple(shape)) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{who}: could not broadcast updates of shape {value_shape} into the "
                         f"indexed shape {tuple(shape)}")
    return values


_MODES = (None, "promise_in_bounds", "clip", "fill", "drop")


def _default_fill(dtype):
    """JAX's fill value for out-of-bounds reads: NaN, the most negative signed integer, the
    largest unsigned one, True."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return True
    return np.iinfo(dtype).min if dtype.kind == "i" else np.iinfo(dtype).max


def _bounded_key(shape, key, mode):
    """The index ``key`` for an array of ``shape`` with its integer indices made in bounds as
    ``mode`` says, and the axes it points past their end: ``(key, padded_axes)``.

    ``clip`` clamps each index, after NumPy's reading of negative ones, into ``[0, n - 1]``;
    ``fill``/``drop`` send an out-of-bounds index to ``n``, one past the end, where the caller
    pads the array by one (the fill value to read, or a slot whose updates are dropped)."""
    from . import _elementwise as el
    items = [_normalize_item(item) for item in (key if isinstance(key, tuple) else (key,))]
    consumed = sum(0 if i is None or i is Ellipsis else
                   i.ndim if isinstance(i, np.ndarray) and i.dtype == np.bool_ else 1
                   for i in items)
    out, padded, dim = [], set(), 0
    for item in items:
        if item is None or isinstance(item, slice) or (
                isinstance(item, np.ndarray) and item.dtype == np.bool_):
            out.append(item)
            dim += 0 if item is None else item.ndim if isinstance(item, np.ndarray) else 1
            continue
        if item is Ellipsis:
            out.append(item)
            dim += len(shape) - consumed
            continue
        n = shape[dim] if dim < len(shape) else 0
        if isinstance(item, int) or isinstance(item, np.ndarray):
            index = np.asarray(item)
            inside = (index >= -n) & (index < n)
            if bool(np.all(inside)):   # nothing to bound: keep the index as it is
                out.append(item)
                dim += 1
                continue
            index = np.where(index < 0, index + n, index)
            index = (np.clip(index, 0, max(n - 1, 0)) if mode == "clip"
                     else np.where(inside, index, n))
            out.append(int(index) if isinstance(item, int) else index)
        else:   # a traced integer index
            index = el.where(item < 0, item + n, item)
            if mode == "clip":
                index = el.clip(index, 0, max(n - 1, 0))
            else:
                index = el.where((item >= -n) & (item < n), index, n)
            out.append(index)
        if mode != "clip":
            padded.add(dim)
        dim += 1
    return tuple(out), padded


def _padded(x, axes, value):
    """``x`` with one more element of ``value`` at the end of each of ``axes``."""
    from ._pad import pad
    return pad(x, [(0, 1) if d in axes else (0, 0) for d in range(np.ndim(x))],
               constant_values=value)


def _check_mode(mode, who: str):
    if mode not in _MODES:
        raise ValueError(f"{who}: mode must be one of {_MODES[1:]} (or None, which is "
                         f"promise_in_bounds: an out-of-bounds index raises, as in NumPy), "
                         f"got {mode!r}")


class _IndexUpdateRef:
    """``x.at[key]``: the functional update methods of one index expression.

    Each takes JAX's ``mode``: ``None`` or ``"promise_in_bounds"`` (an out-of-bounds index
    raises, as NumPy's indexing does), ``"clip"`` (indices clamped into range), ``"fill"`` or
    ``"drop"`` (an out-of-bounds read gives ``fill_value``, an out-of-bounds update is
    dropped). ``indices_are_sorted`` and ``unique_indices`` are accepted as JAX's hints."""

    __slots__ = ("array", "key")

    def __init__(self, array, key):
        self.array, self.key = array, key

    def get(self, mode=None, fill_value=None, indices_are_sorted=False,
            unique_indices=False):
        """``x[key]`` (out-of-bounds indices as ``mode`` says)."""
        _check_mode(mode, "at[...].get")
        if fill_value is not None and mode not in ("fill", "drop"):
            raise ValueError("at[...].get: fill_value is used only with mode='fill'")
        x = self.array
        if mode in (None, "promise_in_bounds"):
            return to_array(getitem(x, self.key))
        key, padded = _bounded_key(np.shape(x), self.key, mode)
        if padded:
            x = _padded(x, padded, _default_fill(x.dtype) if fill_value is None
                        else fill_value)
        return to_array(getitem(x, key))

    def set(self, values, mode=None, indices_are_sorted=False, unique_indices=False):
        """A copy of the array with ``array[key] = values``."""
        return self._update(st.scatter, values, "at[...].set", mode)

    def add(self, values, mode=None, indices_are_sorted=False, unique_indices=False):
        """A copy of the array with ``values`` added at ``key`` (repeated indices accumulate)."""
        return self._update(st.scatter_add, values, "at[...].add", mode)

    def multiply(self, values, mode=None, indices_are_sorted=False, unique_indices=False):
        """A copy of the array multiplied by ``values`` at ``key`` (repeated indices multiply
        by every one of their values)."""
        return self._update(st.scatter_mul, values, "at[...].multiply", mode)

    mul = multiply

    def min(self, values, mode=None, indices_are_sorted=False, unique_indices=False):
        """A copy of the array with ``minimum(array[key], values)`` at ``key`` (a repeated
        index takes the least of all); the derivative goes to what holds the result, shared
        equally by ties."""
        return self._update(st.scatter_min, values, "at[...].min", mode)

    def max(self, values, mode=None, indices_are_sorted=False, unique_indices=False):
        """A copy of the array with ``maximum(array[key], values)`` at ``key``; see ``min``."""
        return self._update(st.scatter_max, values, "at[...].max", mode)

    def _update(self, scatter, values, who, mode=None):
        _check_mode(mode, who)
        x, key, padded = self.array, self.key, ()
        if mode not in (None, "promise_in_bounds"):
            key, padded = _bounded_key(np.shape(x), key, mode)
            if padded:   # the dropped updates land one past the end, cut off below
                x = _padded(x, padded, 0)
        parsed = parse_index(np.shape(x), x.dtype, key)
        values = _fit_updates(values, parsed.shape, x.dtype, who)
        out = scatter(parsed.expand(x), values, parsed.operands, parsed.spec)
        out = st.reshape(out, np.shape(x)) if parsed.new_axes else out
        if padded:
            out = getitem(out, tuple(slice(0, n) for n in np.shape(self.array)))
        return to_array(out)

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.key!r})"


class _IndexUpdateHelper:
    """``x.at``: index it to get the update methods, as in ``x.at[0].set(1.0)``."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, key):
        return _IndexUpdateRef(self.array, key)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


def at(array) -> _IndexUpdateHelper:
    """``array.at`` for any array, traced or NumPy: ``at(x)[idx].set(v)``, ``.add(v)``, ``.get()``.

    >>> import numpy as np
    >>> at(np.zeros(3))[[0, 0, 2]].add(1.0)
    array([2., 0., 1.])
    """
    if not isinstance(array, Tracer):
        array = np.asarray(array)   # a plain ndarray (an Array's view too)
    return _IndexUpdateHelper(array)


Tracer.__getitem__ = getitem
Tracer.at = property(_IndexUpdateHelper, doc="Functional updates: ``x.at[idx].set(v)``, "
                     "``.add(v)``, ``.multiply(v)``, ``.min(v)``, ``.max(v)``, ``.get()`` "
                     "(JAX semantics: a new array is returned).")
