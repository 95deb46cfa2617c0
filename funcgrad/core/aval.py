"""Abstract values: what tracing knows about an array (its shape and dtype, never its data)."""
from __future__ import annotations

import math

import numpy as np

_SHORT_NAMES = {
    "float64": "f64", "float32": "f32", "float16": "f16",
    "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8",
    "uint64": "u64", "uint32": "u32", "uint16": "u16", "uint8": "u8",
    "bool": "bool", "complex128": "c128", "complex64": "c64",
}


class ShapedArray:
    """The abstract value of an array: a shape and a dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def short(self) -> str:
        """The jaxpr-style type, e.g. ``f32[3,4]``."""
        name = _SHORT_NAMES.get(self.dtype.name, self.dtype.name)
        return f"{name}[{','.join(map(str, self.shape))}]"

    __str__ = short

    def __repr__(self):
        return f"ShapedArray({self.short()})"


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_complex(dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def is_differentiable(dtype) -> bool:
    """Only floating arrays, real or complex, carry tangents and cotangents (a complex
    value's tangent and cotangent are complex: see the README's "Complex numbers")."""
    return np.dtype(dtype).kind in "fc"


_SCALAR_AVALS = {t: ShapedArray((), t) for t in (np.float64, np.float32, np.float16, np.int64,
                                                 np.int32, np.int16, np.int8, np.uint8,
                                                 np.bool_, np.complex128, np.complex64)}


# The abstract values of arrays, one per shape and dtype, so that an eager program's avals are
# the same objects from call to call and the trace's shape cache (keyed by their identities)
# answers its equations. Bounded: a program of ever new shapes clears it now and then.
_ARRAY_AVALS: dict = {}
_ARRAY_AVALS_LIMIT = 4096


def aval_of(value) -> ShapedArray:
    """The abstract value of a concrete NumPy array or scalar (a NumPy scalar's from a table:
    its type fixes its dtype, and literals of eager code and of derivative rules are many;
    an array's from ``_ARRAY_AVALS``)."""
    aval = _SCALAR_AVALS.get(type(value))
    if aval is not None:
        return aval
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    key = (value.shape, value.dtype)
    aval = _ARRAY_AVALS.get(key)
    if aval is None:
        if len(_ARRAY_AVALS) >= _ARRAY_AVALS_LIMIT:
            _ARRAY_AVALS.clear()
        aval = _ARRAY_AVALS[key] = ShapedArray(*key)
    return aval
