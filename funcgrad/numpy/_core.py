"""Shared plumbing of ``funcgrad.numpy``: NumPy's dtype rules for traced values, and casts."""
from __future__ import annotations

import operator
import threading

import numpy as np

from ..core.errors import ConcretizationError, TracerConversionError, at_user_line
from ..core.trace import Tracer
from ..ops import elementwise as ew

_PY_SCALARS = (bool, int, float, complex)
_dtype_cache: dict = {}
_WEAK_TYPES = {"b": bool, "i": int, "f": float, "c": complex}   # a weak tracer's Python type


def is_traced(*values) -> bool:
    for value in values:
        if isinstance(value, Tracer):
            return True
    return False


def is_weak(value) -> bool:
    """A Python number, or a tracer of one (an argument of jit or vmap): NumPy's promotion
    lets the other operands' dtype win over it."""
    kind = type(value)
    if kind is Tracer and value._weak:
        weak_use.mattered = True   # (the caller decides a dtype with it: assume it matters)
        return True
    return kind in _PY_SCALARS


def _dtype_key(value):
    """What decides a value's role in NumPy's promotion: a dtype, or a weak Python scalar."""
    if isinstance(value, Tracer):
        return _WEAK_TYPES[value.dtype.kind] if value._weak else value.dtype
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, _PY_SCALARS):
        return type(value)
    return np.asarray(value).dtype


def _representative(key):
    if isinstance(key, np.dtype):
        return np.ones((), key)
    return key(1)


class _WeakUse(threading.local):
    """Whether a weak tracer's weakness has changed a dtype in this thread since ``reset``:
    where it has not, ``jit`` shares the program with the call that passes a NumPy scalar."""

    def __init__(self):
        self.mattered = False


weak_use = _WeakUse()


def _promoted(operation, keys) -> np.dtype:
    dtype = _dtype_cache.get(keys)
    if dtype is None:
        operands = [_representative(k) for k in keys[1:]]
        with np.errstate(all="ignore"):
            dtype = (np.result_type(*operands) if operation is np.result_type
                     else operation(*operands).dtype)
        _dtype_cache[keys] = dtype
    return dtype


def _promote(operation, name, values) -> np.dtype:
    dtype = _promoted(operation, (name,) + tuple(_dtype_key(v) for v in values))
    for value in values:   # (the thread's flag is read only where a weak tracer takes part)
        if type(value) is Tracer and value._weak:
            if not weak_use.mattered:
                strong = (name,) + tuple(v.dtype if type(v) is Tracer else _dtype_key(v)
                                         for v in values)
                weak_use.mattered = _promoted(operation, strong) != dtype
            break
    return dtype


def ufunc_dtype(ufunc, *values) -> np.dtype:
    """The dtype NumPy's ``ufunc`` gives for these operands (Python scalars stay weak)."""
    return _promote(ufunc, ufunc, values)


def common_dtype(*values) -> np.dtype:
    """``np.result_type`` of the operands, Python scalars weak (NEP 50)."""
    return _promote(np.result_type, "result_type", values)


def cast(value, dtype):
    """``value`` as an array or tracer of ``dtype``."""
    dtype = np.dtype(dtype)
    if isinstance(value, Tracer):
        return ew.convert(value, dtype)
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype == dtype:
        return value
    return np.asarray(value, dtype=dtype)[()]


def nonnegative_int(value, who: str, name: str) -> int:
    """``value`` as a Python int that is at least 0 (a size or a count), else the TypeError
    or ValueError that names ``who``'s argument ``name``."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{who}: {name} must be an integer, got {value!r}") from None
    if value < 0:
        raise ValueError(f"{who}: {name} must be non-negative, got {value}")
    return value


def strong(tracer):
    """``tracer`` as NumPy's ``asarray`` would make the number a weak one stands for: an
    array of its dtype, which promotion no longer lets other dtypes win over (the same
    variable, unrecorded). Anything else as it is."""
    if type(tracer) is not Tracer or not tracer._weak:
        return tracer
    return Tracer(tracer._trace, tracer._var, tracer._origin)


def asarray_or_tracer(value):
    """Tracers pass through (a weak one made ``strong``, as ``np.asarray`` makes a Python
    number an array: ``dot(2.0, float32_array)`` is float64); everything else becomes a NumPy
    array (a list may hold tracers)."""
    if isinstance(value, Tracer):
        return strong(value)
    if isinstance(value, (list, tuple)) and _contains_tracer(value):
        from ._shape import stack
        return stack([asarray_or_tracer(v) for v in value])
    return np.asarray(value)


def traced(*values) -> bool:
    """Whether any value is traced, including a tracer inside a (nested) list or tuple."""
    return _contains_tracer(values)


def _contains_tracer(values) -> bool:
    for value in values:
        if isinstance(value, Tracer):
            return True
        if isinstance(value, (list, tuple)) and _contains_tracer(value):
            return True
    return False


def to_float(value):
    """Promote an integer or bool operand to float64, as NumPy's float functions do."""
    if np.issubdtype(value.dtype, np.inexact):
        return value
    return cast(value, np.float64)


_normalized_axes: dict = {}   # (axis, ndim) -> the sorted axes, for the common int/None forms


def normalize_axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative axes."""
    kind = type(axis)
    if kind is int or axis is None:
        key = (axis, ndim)
        axes = _normalized_axes.get(key)
        if axes is None:
            axes = _normalize_axes(axis, ndim, who)   # raises for an axis out of bounds
            if len(_normalized_axes) < 1024:
                _normalized_axes[key] = axes
        return axes
    return _normalize_axes(axis, ndim, who)


def _normalize_axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer, Tracer)) or np.ndim(axis) == 0 \
        else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, Tracer):
            try:
                a = operator.index(a)   # known under grad of concrete inputs
            except TracerConversionError:
                raise ConcretizationError(at_user_line(
                    f"{who}: the axis is {a._describe()}; an axis must be a concrete int "
                    "(under jit, mark the argument it comes from static: static_argnums=...)."
                )) from None
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(f"{who}: axis {a} is out of bounds for an array of "
                                          f"dimension {ndim}")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis!r}")
    return tuple(sorted(out))
