"""Utilities of ``funcgrad.numpy``: comparisons of whole arrays, dtype questions, printing,
``einsum_path``, ``frompyfunc``, ``fromfunction``, and reading and writing arrays.

Most are NumPy's; the ones that take arrays take traced ones too, by what tracing knows of
them (shape and dtype): ``result_type``, ``can_cast``, ``einsum_path``, ``isscalar``,
``iterable``. ``array_equal`` and ``array_equiv`` of traced arrays are traced booleans
(False, concrete, where the shapes already rule equality out, as in jax.numpy).
``isscalar`` follows jax.numpy: a 0-d array is a scalar (funcgrad's 0-d results are 0-d
Arrays where NumPy's are scalars). ``frompyfunc`` follows jax.numpy too: it makes a
ufunc-like object whose calls broadcast and map the scalar function over the elements
(``vmap``), so the results are numbers, not NumPy's object arrays, and are traced and
differentiable. Reading functions return funcgrad's Array, as the creation functions do.
"""
from __future__ import annotations

import numpy as np
from numpy import get_printoptions, printoptions, set_printoptions  # noqa: F401

from ..core.trace import Tracer
from . import _elementwise as el
from ._core import asarray_or_tracer
from ._core import traced as _traced
from ._creation import _require_concrete

__all__ = [
    "array_equal", "array_equiv", "array_repr", "array_str", "broadcast_shapes", "can_cast",
    "isdtype", "issubdtype", "isscalar", "iterable", "promote_types", "result_type",
    "printoptions", "get_printoptions", "set_printoptions", "einsum_path", "frompyfunc",
    "fromfunction", "fromiter", "frombuffer", "fromstring", "fromfile", "load", "save",
    "savez", "from_dlpack",
]

_WEAK = {"b": True, "i": 1, "f": 1.0, "c": 1j}



def _stand_in(value):
    """What NumPy's dtype functions see for a tracer: a Python number for a weak one (it
    stays weak), else a 0-d array of its dtype."""
    if isinstance(value, Tracer):
        return _WEAK[value.dtype.kind] if value._weak else np.zeros((), value.dtype)
    return value


def _shaped(value):
    """A stand-in for a tracer of its shape and dtype, without allocating its elements."""
    if isinstance(value, Tracer):
        return np.broadcast_to(np.zeros((), value.dtype), value.shape)
    return value


# ----------------------------------------------------------------------- whole arrays

def array_equal(a1, a2, equal_nan=False):
    """``numpy.array_equal``: whether both have one shape and equal elements (NaNs equal
    with ``equal_nan``)."""
    if not _traced(a1, a2):
        return np.array_equal(a1, a2, equal_nan)
    from ._reductions import all as all_
    a1, a2 = asarray_or_tracer(a1), asarray_or_tracer(a2)
    if np.shape(a1) != np.shape(a2):
        return np.bool_(False)
    equal = el.equal(a1, a2)
    if equal_nan and (a1.dtype.kind in "fc" or a2.dtype.kind in "fc"):
        equal = el.logical_or(equal, el.logical_and(el.isnan(a1), el.isnan(a2)))
    return all_(equal)


def array_equiv(a1, a2):
    """``numpy.array_equiv``: whether the arrays broadcast together and are equal."""
    if not _traced(a1, a2):
        return np.array_equiv(a1, a2)
    from ._reductions import all as all_
    a1, a2 = asarray_or_tracer(a1), asarray_or_tracer(a2)
    try:
        np.broadcast_shapes(np.shape(a1), np.shape(a2))
    except ValueError:
        return np.bool_(False)
    return all_(el.equal(a1, a2))


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    """``numpy.array_repr``; a traced array's is its description."""
    if isinstance(arr, Tracer):
        return repr(arr)
    return np.array_repr(np.asarray(arr), max_line_width, precision, suppress_small)


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    """``numpy.array_str``; a traced array's is its description."""
    if isinstance(a, Tracer):
        return str(a)
    return np.array_str(np.asarray(a), max_line_width, precision, suppress_small)


# ----------------------------------------------------------------------------- dtypes

def broadcast_shapes(*shapes):
    """``numpy.broadcast_shapes``: the shape that arrays of these shapes broadcast to."""
    return np.broadcast_shapes(*shapes)


def can_cast(from_, to, casting="safe"):
    """``numpy.can_cast``: whether a cast of ``from_`` (a dtype or an array, traced too) to
    ``to`` is allowed by the rule ``casting``."""
    if isinstance(from_, Tracer):
        from_ = from_.dtype
    return np.can_cast(from_, to, casting)


def isdtype(dtype, kind):
    """``numpy.isdtype``: whether ``dtype`` is of ``kind`` (a dtype, or one of the array
    API's names such as ``'real floating'``, or a tuple of them)."""
    return np.isdtype(np.dtype(dtype), kind)


def issubdtype(arg1, arg2):
    """``numpy.issubdtype``: whether ``arg1`` is below ``arg2`` in NumPy's type tree."""
    return np.issubdtype(arg1, arg2)


def isscalar(element):
    """Whether ``element`` is a scalar: a Python or NumPy number, or a 0-d array (traced
    too; jax.numpy's rule, see the module)."""
    if isinstance(element, (Tracer, np.ndarray)):
        return element.ndim == 0
    return bool(np.isscalar(element))


def iterable(y):
    """``numpy.iterable``: whether ``y`` can be iterated over (an array of at least one
    dimension, traced too)."""
    if isinstance(y, Tracer):
        return y.ndim > 0
    return np.iterable(y)


def promote_types(type1, type2):
    """``numpy.promote_types``: the smallest dtype both cast to safely."""
    return np.promote_types(type1, type2)


def result_type(*arrays_and_dtypes):
    """``numpy.result_type``: the dtype of an operation on these arrays (traced too; weak
    Python numbers stay weak) and dtypes."""
    return np.result_type(*[_stand_in(v) for v in arrays_and_dtypes])


def einsum_path(subscripts, *operands, optimize="greedy"):
    """``numpy.einsum_path``: the contraction order for ``einsum`` and its cost report;
    traced operands give their shapes."""
    return np.einsum_path(subscripts, *[_shaped(o) for o in operands], optimize=optimize)


# ---------------------------------------------------------------------------- frompyfunc

class _PythonUfunc:
    """A scalar function made a ufunc (jax.numpy's ``frompyfunc``): calls broadcast their
    arguments and map the function over the elements; ``outer``, ``reduce`` and
    ``accumulate`` for functions of two arguments."""

    def __init__(self, func, nin: int, nout: int, identity=None):
        self.func, self.nin, self.nout, self.identity = func, nin, nout, identity
        self.__name__ = getattr(func, "__name__", "frompyfunc")

    def __repr__(self):
        return f"<funcgrad ufunc '{self.__name__}' ({self.nin} in, {self.nout} out)>"

    def __call__(self, *args):
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}: takes {self.nin} arguments, got {len(args)}")
        from ..transforms.vmap import vmap
        from ._shape import broadcast_arrays, reshape
        arrays = broadcast_arrays(*[asarray_or_tracer(a) for a in args])
        shape = np.shape(arrays[0])
        size = int(np.prod(shape))
        if size == 0:
            raise ValueError(f"{self.__name__}: cannot map over an empty array")
        flat = [reshape(a, (size,)) for a in arrays]
        out = vmap(lambda *scalars: self.func(*scalars))(*flat)
        if self.nout == 1:
            return reshape(out, shape)
        if not isinstance(out, (tuple, list)) or len(out) != self.nout:
            raise TypeError(f"{self.__name__}: the function must return {self.nout} values")
        return tuple(reshape(o, shape) for o in out)

    def _binary(self, who):
        if self.nin != 2 or self.nout != 1:
            raise ValueError(f"{who} only supports functions of two arguments and one result "
                             f"(this one has {self.nin} and {self.nout})")

    def outer(self, a, b):
        """The function of every pair: shape ``a.shape + b.shape``."""
        self._binary("outer")
        from ._shape import reshape
        a, b = asarray_or_tracer(a), asarray_or_tracer(b)
        return self(reshape(a, np.shape(a) + (1,) * np.ndim(b)), b)

    def reduce(self, a, axis=0):
        """The function folded along ``axis``, left to right."""
        self._binary("reduce")
        parts = self._parts(a, axis)
        if not parts:
            if self.identity is None:
                raise ValueError(f"{self.__name__}.reduce of an empty axis needs an identity")
            from ._creation import full
            shape = list(np.shape(a))
            del shape[axis]
            return full(shape, self.identity)
        total = parts[0]
        for part in parts[1:]:
            total = self(total, part)
        return total

    def accumulate(self, a, axis=0):
        """The running fold along ``axis``."""
        self._binary("accumulate")
        from ._shape import stack
        parts = self._parts(a, axis)
        running = parts[:1]
        for part in parts[1:]:
            running.append(self(running[-1], part))
        return stack(running, axis)

    @staticmethod
    def _parts(a, axis):
        from ._shape import moveaxis
        a = moveaxis(asarray_or_tracer(a), axis, 0)
        return [a[i] for i in range(np.shape(a)[0])]


def frompyfunc(func, nin, nout, *, identity=None):
    """jax.numpy's ``frompyfunc``: a ufunc-like object from a scalar function of ``nin``
    arguments and ``nout`` results (see the module)."""
    _require_concrete("frompyfunc", nin=nin, nout=nout)
    return _PythonUfunc(func, int(nin), int(nout), identity)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``numpy.fromfunction``: ``function`` called once on the index grid of ``shape``
    (arrays of ``dtype``), so it may use funcgrad's operations and be traced."""
    _require_concrete("fromfunction", shape=shape)
    return function(*np.indices(shape, dtype=dtype), **kwargs)


# ------------------------------------------------------------------ reading and writing

def fromiter(iter, dtype, count=-1):
    """``numpy.fromiter``: a 1-d array of the values an iterable gives."""
    return np.fromiter(iter, dtype, count)


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """``numpy.frombuffer``: a 1-d array of the values in a bytes-like buffer (a copy)."""
    return np.frombuffer(buffer, dtype, count, offset).copy()


def fromstring(string, dtype=float, count=-1, *, sep):
    """``numpy.fromstring``: a 1-d array of the numbers in text separated by ``sep``."""
    return np.fromstring(string, dtype, count, sep=sep)


def fromfile(file, dtype=float, count=-1, sep="", offset=0):
    """``numpy.fromfile``: a 1-d array read from a file (binary, or text with ``sep``)."""
    return np.fromfile(file, dtype, count, sep, offset)


def load(file, mmap_mode=None, allow_pickle=False, fix_imports=True, encoding="ASCII"):
    """``numpy.load``: an array from a ``.npy`` file (a dict-like archive for ``.npz``)."""
    return np.load(file, mmap_mode, allow_pickle, fix_imports, encoding)


def save(file, arr, allow_pickle=True):
    """``numpy.save``: write an array to a ``.npy`` file (concrete arrays only)."""
    np.save(file, arr, allow_pickle)


def savez(file, *args, **kwds):
    """``numpy.savez``: write arrays to an uncompressed ``.npz`` archive."""
    np.savez(file, *args, **kwds)


def from_dlpack(x, /, *, device=None, copy=None):
    """``numpy.from_dlpack``: an array sharing (or, with ``copy``, copying) the memory of an
    object that supports DLPack."""
    return np.from_dlpack(x, device=device, copy=copy)
