"""Operators and array methods of traced values, forwarded to ``funcgrad.numpy``.

NumPy arrays on the left of an operator with a traced value on the right call the tracer's
reflected operator (``__array_ufunc__ = None`` makes NumPy step aside).
"""
from __future__ import annotations

import numpy as np

from ..core.trace import Tracer
from . import _elementwise as ew
from . import _linalg as la
from . import _math
from . import _reductions as red
from . import _shape as sh
from . import _sorting as sorting


def _swap(function):
    return lambda self, other: function(other, self)


def _astype(self, dtype):
    from ._core import cast
    return cast(self, dtype)


def _reshape(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return sh.reshape(self, shape, order)


def _clip(self, a_min=None, a_max=None, *, min=None, max=None):   # NumPy 2's min=/max= too
    return ew.clip(self, a_min if min is None else min, a_max if max is None else max)


def _copy(self, order="K"):
    return self   # a traced value is immutable: it is its own copy


def _sort(self, *args, **kwargs):
    from ..core.errors import at_user_line
    raise TypeError(at_user_line(
        f".sort() of {self._describe()}: NumPy's sorts in place, and traced arrays are "
        "immutable; write x = fnp.sort(x)"))


def _transpose(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = axes[0]
    return sh.transpose(self, axes or None)


_METHODS = {
    "__add__": ew.add, "__radd__": _swap(ew.add),
    "__sub__": ew.subtract, "__rsub__": _swap(ew.subtract),
    "__mul__": ew.multiply, "__rmul__": _swap(ew.multiply),
    "__truediv__": ew.true_divide, "__rtruediv__": _swap(ew.true_divide),
    "__floordiv__": ew.floor_divide, "__rfloordiv__": _swap(ew.floor_divide),
    "__mod__": ew.mod, "__rmod__": _swap(ew.mod),
    "__pow__": ew.power, "__rpow__": _swap(ew.power),
    "__matmul__": la.matmul, "__rmatmul__": _swap(la.matmul),
    "__neg__": ew.negative, "__pos__": ew.positive, "__abs__": ew.absolute,
    "__lt__": ew.less, "__le__": ew.less_equal, "__gt__": ew.greater,
    "__ge__": ew.greater_equal, "__eq__": ew.equal, "__ne__": ew.not_equal,
    "__and__": ew.bitwise_and, "__rand__": _swap(ew.bitwise_and),
    "__or__": ew.bitwise_or, "__ror__": _swap(ew.bitwise_or),
    "__xor__": ew.bitwise_xor, "__rxor__": _swap(ew.bitwise_xor),
    "__invert__": ew.invert,
    "__lshift__": ew.left_shift, "__rlshift__": _swap(ew.left_shift),
    "__rshift__": ew.right_shift, "__rrshift__": _swap(ew.right_shift),
    "sum": red.sum, "mean": red.mean, "prod": red.prod, "max": red.max, "min": red.min,
    "var": red.var, "std": red.std, "all": red.all, "any": red.any,
    "argmax": red.argmax, "argmin": red.argmin, "cumsum": red.cumsum, "cumprod": red.cumprod,
    "reshape": _reshape, "astype": _astype, "transpose": _transpose, "ravel": sh.ravel,
    "flatten": sh.ravel, "dot": la.dot, "squeeze": sh.squeeze, "swapaxes": sh.swapaxes,
    "repeat": sh.repeat, "diagonal": sh.diagonal, "take": sh.take, "clip": _clip,
    "trace": red.trace, "copy": _copy, "round": ew.round, "argsort": sorting.argsort,
    "searchsorted": sorting.searchsorted, "sort": _sort,
}

_PYTHON_NUMBERS = ew._PYTHON_NUMBERS

# np.sum(tracer), np.max, np.argmax, np.clip, ... call these methods with out=None (NumPy's
# duck typing, which JAX's arrays answer too): the methods take it, and refuse a buffer.
_TAKE_OUT = ("sum", "mean", "prod", "max", "min", "var", "std", "all", "any", "argmax",
             "argmin", "cumsum", "cumprod", "clip", "take", "trace")


def _without_out(name, function):
    def method(self, *args, out=None, **kwargs):
        if out is not None:
            from ..core.errors import at_user_line
            raise TypeError(at_user_line(
                f"{name}(out=...) of {self._describe()}: traced arrays are immutable, so "
                "there is no buffer to write into; use the returned array"))
        return function(self, *args, **kwargs)
    return method


def _keeps_weak(function):
    """``function`` as an operator whose result is weak where its operands are a weak tracer
    and Python numbers or weak tracers: Python's own arithmetic on the numbers they stand
    for gives a Python number. (``fnp.sin`` of one is a strong float64, as in NumPy.) The
    binary functions of ``_elementwise`` carry such operators of their own (``.operator``,
    ``.reflected``), without this wrapper's extra call."""
    def operator(self, other):
        out = function(self, other)
        if self._weak and (type(other) in _PYTHON_NUMBERS or (
                type(other) is Tracer and other._weak)) and type(out) is Tracer:
            out._weak = True
        return out
    return operator


def _keeps_weak_unary(function):
    def operator(self):
        out = function(self)
        if self._weak and type(out) is Tracer:
            out._weak = True
        return out
    return operator


_ARITHMETIC = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow"}

for _name, _function in _METHODS.items():
    if _name.strip("_").removeprefix("r") in _ARITHMETIC:
        reflected = _name.startswith("__r")
        own = getattr(_function if not reflected else _METHODS["__" + _name[3:]],
                      "reflected" if reflected else "operator", None)
        _function = own if own is not None else _keeps_weak(_function)
    elif _name in ("__neg__", "__pos__", "__abs__"):
        _function = _keeps_weak_unary(_function)
    elif _name in _TAKE_OUT:
        _function = _without_out(_name, _function)
    setattr(Tracer, _name, _function)


_UFUNC_FUNCTIONS: dict = {}   # a NumPy ufunc -> the funcgrad.numpy function of its name


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``np.sin(tracer)`` or ``ndarray * tracer``: run the funcgrad.numpy function instead."""
    function = _UFUNC_FUNCTIONS.get(ufunc)
    if function is None:
        from .. import numpy as fnp
        function = getattr(fnp, ufunc.__name__, None)
        if function is not None:
            _UFUNC_FUNCTIONS[ufunc] = function
    if method == "__call__" and function is not None and not kwargs:
        return function(*inputs)
    from ..core.errors import TracerConversionError, at_user_line
    raise TracerConversionError(at_user_line(
        f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} was applied to "
        f"{self._describe()}; funcgrad cannot run NumPy on traced values. Use "
        f"funcgrad.numpy.{ufunc.__name__} (fnp) where it exists."))


Tracer.__hash__ = None   # traced values compare elementwise, so they cannot be dict keys
Tracer.__array_ufunc__ = _array_ufunc
Tracer.real = property(lambda self: _math.real(self))
Tracer.imag = property(lambda self: _math.imag(self))
Tracer.conj = Tracer.conjugate = lambda self: _math.conj(self)
Tracer.T = property(lambda self: sh.transpose(self))
Tracer.itemsize = property(lambda self: self.dtype.itemsize)
Tracer.nbytes = property(lambda self: self.size * self.dtype.itemsize)
Tracer.mT = property(lambda self: sh.transpose(self, tuple(range(self.ndim - 2))
                                                + (self.ndim - 1, self.ndim - 2)))
