"""Elementwise functions of ``funcgrad.numpy``: NumPy's names, signatures and dtype rules."""
from __future__ import annotations

import builtins  # this module defines abs and round of its own

import numpy as np

from ..core.trace import Tracer
from ..ops import elementwise as ew
from ._core import asarray_or_tracer, cast, common_dtype, is_traced, to_float, ufunc_dtype

_NO_PARAMS: dict = {}   # the parameters of a primitive without any (never changed)


def _unary(ufunc, op, doc_name=None, complex_op=None):
    """``ufunc`` on arrays, ``op`` on tracers (cast to NumPy's result dtype first), and
    ``complex_op``, where given, on complex tracers (whose NumPy result may be real)."""
    primitive = op.primitive

    def function(x):
        if type(x) is not Tracer:
            return ufunc(x)
        if x._var.aval.dtype.kind == "f":   # the common case: NumPy keeps a float dtype
            return x._trace.process(primitive, (x,), _NO_PARAMS)   # = op(x), sooner
        if complex_op is not None and x._var.aval.dtype.kind == "c":
            return complex_op(x)
        return op(cast(x, ufunc_dtype(ufunc, x)))
    function.__name__ = doc_name or ufunc.__name__
    function.__doc__ = f"``numpy.{function.__name__}``, traceable and differentiable."
    return function


def _binary(ufunc, op, doc_name=None):
    """``ufunc`` on arrays, ``op`` on tracers; with ``.operator`` and ``.reflected``, the same
    as a tracer's operator method (``x + y``, ``y + x``), whose result is weak where the
    tracer is and the other operand is a Python number or a weak tracer (Python's arithmetic
    on the numbers they stand for gives a Python number; ``fnp.add`` of them gives a strong
    NumPy scalar, as ``np.add`` does)."""
    primitive = op.primitive

    def make(operator, reflected):
        def function(x, y):
            if reflected:
                x, y = y, x
            if operator:
                tracer, other = (y, x) if reflected else (x, y)
                if tracer._weak:
                    out = plain(x, y)
                    if type(out) is Tracer and (type(other) in _PYTHON_NUMBERS or (
                            type(other) is Tracer and other._weak)):
                        out._weak = True
                    return out
            x_type, y_type = type(x), type(y)
            if x_type is not Tracer and y_type is not Tracer:
                return ufunc(x, y)
            # The common cases, bound in the tracer's trace at once: float tracers of one
            # dtype, or one with a Python float or int (weak: the tracer's dtype wins, as in
            # NumPy) or with a NumPy scalar or array of its dtype.
            if x_type is Tracer and x._var.aval.dtype.kind == "f":
                dtype = x._var.aval.dtype
                if y_type is Tracer:
                    if y._var.aval.dtype == dtype:
                        if y._trace is x._trace:
                            return x._trace.process(primitive, (x, y), _NO_PARAMS)
                        return op(x, y)
                elif y_type is float or y_type is int:
                    return x._trace.process(primitive, (x, dtype.type(y)), _NO_PARAMS)
                elif y_type is dtype.type or (y_type is np.ndarray and y.dtype == dtype):
                    return x._trace.process(primitive, (x, y), _NO_PARAMS)
            elif y_type is Tracer and y._var.aval.dtype.kind == "f":
                dtype = y._var.aval.dtype
                if x_type is float or x_type is int:
                    return y._trace.process(primitive, (dtype.type(x), y), _NO_PARAMS)
                if x_type is dtype.type or (x_type is np.ndarray and x.dtype == dtype):
                    return y._trace.process(primitive, (x, y), _NO_PARAMS)
            dtype = ufunc_dtype(ufunc, x, y)
            return op(cast(x, dtype), cast(y, dtype))
        return function

    plain = make(False, False)
    plain.operator, plain.reflected = make(True, False), make(True, True)
    plain.__name__ = doc_name or ufunc.__name__
    plain.__doc__ = f"``numpy.{plain.__name__}``, traceable and differentiable."
    return plain


_PYTHON_NUMBERS = (int, float, complex)


def _comparison(ufunc, op):
    primitive = op.primitive

    def function(x, y):
        x_type, y_type = type(x), type(y)
        # The common cases (``if x > 1.0:`` under grad), bound in the tracer's trace at once:
        # a float tracer with a Python float or int (weak: the tracer's dtype wins, as
        # ``common_dtype`` would decide) or with a tracer of its trace and dtype.
        if x_type is Tracer and not x._weak and x._var.aval.dtype.kind == "f":
            dtype = x._var.aval.dtype
            if y_type is float or y_type is int:
                return x._trace.process(primitive, (x, dtype.type(y)), _NO_PARAMS)
            if y_type is Tracer and y._trace is x._trace and not y._weak \
                    and y._var.aval.dtype == dtype:
                return x._trace.process(primitive, (x, y), _NO_PARAMS)
        elif x_type is not Tracer and y_type is not Tracer:   # (Tracer has no subclasses)
            return ufunc(x, y)
        dtype = common_dtype(x, y)
        return op(cast(x, dtype), cast(y, dtype))
    function.__name__ = ufunc.__name__
    function.__doc__ = f"``numpy.{ufunc.__name__}`` (boolean result, no derivative)."
    return function


def _complex_sign(z):
    """NumPy 2's sign of complex numbers: ``z / |z|``, 0 at 0."""
    modulus = ew.abs(z)
    zero = ew.eq(modulus, modulus.dtype.type(0))
    safe = ew.select(zero, ew.full_like(modulus, 1), modulus)
    return ew.select(zero, ew.zeros_like(z), ew.div(z, ew.convert(safe, z.dtype)))


negative = _unary(np.negative, ew.neg)
sin = _unary(np.sin, ew.sin)
cos = _unary(np.cos, ew.cos)
tan = _unary(np.tan, ew.tan)
arcsin = _unary(np.arcsin, ew.asin)
arccos = _unary(np.arccos, ew.acos)
arctan = _unary(np.arctan, ew.atan)
sinh = _unary(np.sinh, ew.sinh)
cosh = _unary(np.cosh, ew.cosh)
tanh = _unary(np.tanh, ew.tanh)
arcsinh = _unary(np.arcsinh, ew.asinh)
arccosh = _unary(np.arccosh, ew.acosh)
arctanh = _unary(np.arctanh, ew.atanh)
exp = _unary(np.exp, ew.exp)
exp2 = _unary(np.exp2, ew.exp2)
expm1 = _unary(np.expm1, ew.expm1)
log = _unary(np.log, ew.log)
log2 = _unary(np.log2, ew.log2)
log10 = _unary(np.log10, ew.log10)
log1p = _unary(np.log1p, ew.log1p)
sqrt = _unary(np.sqrt, ew.sqrt)
cbrt = _unary(np.cbrt, ew.cbrt)
absolute = _unary(np.absolute, ew.abs, complex_op=ew.abs)   # |z|: real
abs = absolute
sign = _unary(np.sign, ew.sign, complex_op=_complex_sign)
floor = _unary(np.floor, ew.floor)
ceil = _unary(np.ceil, ew.ceil)
sinc = _unary(np.sinc, ew.sinc, "sinc")
isnan = _unary(np.isnan, ew.isnan)
isinf = _unary(np.isinf, ew.isinf)
isfinite = _unary(np.isfinite, ew.isfinite)
logical_not = _unary(np.logical_not, ew.logical_not)

add = _binary(np.add, ew.add)
subtract = _binary(np.subtract, ew.sub)
multiply = _binary(np.multiply, ew.mul)
divide = _binary(np.true_divide, ew.div, "divide")
true_divide = _binary(np.true_divide, ew.div)
floor_divide = _binary(np.floor_divide, ew.floor_divide)
maximum = _binary(np.maximum, ew.maximum)
minimum = _binary(np.minimum, ew.minimum)
arctan2 = _binary(np.arctan2, ew.atan2)
hypot = _binary(np.hypot, ew.hypot)
logaddexp = _binary(np.logaddexp, ew.logaddexp)
logaddexp2 = _binary(np.logaddexp2, ew.logaddexp2)
mod = _binary(np.remainder, ew.rem, "mod")
remainder = _binary(np.remainder, ew.rem)

# The array API's names (NumPy 2 has them too)
acos, acosh, asin, asinh = arccos, arccosh, arcsin, arcsinh
atan, atan2, atanh = arctan, arctan2, arctanh

equal = _comparison(np.equal, ew.eq)
not_equal = _comparison(np.not_equal, ew.ne)
less = _comparison(np.less, ew.lt)
less_equal = _comparison(np.less_equal, ew.le)
greater = _comparison(np.greater, ew.gt)
greater_equal = _comparison(np.greater_equal, ew.ge)
logical_and = _comparison(np.logical_and, ew.logical_and)
logical_or = _comparison(np.logical_or, ew.logical_or)
logical_xor = _comparison(np.logical_xor, ew.logical_xor)


def _bitwise(ufunc, logical, integer_op):
    """NumPy's bitwise ``ufunc`` (the operators ``&``, ``|``, ``^``, ``~``): ``integer_op`` on
    integers, ``logical`` on booleans, NumPy's TypeError for floats. No derivative."""
    def function(*operands):
        if not is_traced(*operands):
            return ufunc(*operands)
        dtype = ufunc_dtype(ufunc, *operands)   # NumPy's own TypeError for floats
        if dtype == np.bool_:
            return logical(*operands)
        return integer_op(*(cast(x, dtype) for x in operands))
    function.__name__ = ufunc.__name__
    function.__doc__ = f"``numpy.{ufunc.__name__}`` of integers or booleans (no derivative)."
    return function


def _integer_only(ufunc, integer_op, name=None):
    """NumPy's integer ``ufunc`` (shifts, ``bitwise_count``, ``gcd``): booleans are computed
    in NumPy's integer dtype for them, floats are NumPy's TypeError. No derivative."""
    def function(*operands):
        if not is_traced(*operands):
            return ufunc(*operands)
        dtype = ufunc_dtype(ufunc, *operands)   # NumPy's own TypeError for floats
        if ufunc is np.bitwise_count:   # (its result is uint8; it counts the input's bits)
            (x,) = operands
            dtype = x.dtype if x.dtype.kind in "iu" else np.dtype(np.uint8)
        return integer_op(*(cast(x, dtype) for x in operands))
    function.__name__ = name or ufunc.__name__
    function.__doc__ = f"``numpy.{function.__name__}`` of integers (no derivative)."
    return function


bitwise_and = _bitwise(np.bitwise_and, logical_and, ew.bitwise_and)
bitwise_or = _bitwise(np.bitwise_or, logical_or, ew.bitwise_or)
bitwise_xor = _bitwise(np.bitwise_xor, logical_xor, ew.bitwise_xor)
invert = _bitwise(np.invert, logical_not, ew.bitwise_not)
bitwise_not = bitwise_invert = invert   # (NumPy's and the array API's names of invert)
left_shift = _integer_only(np.left_shift, ew.shift_left)
right_shift = _integer_only(np.right_shift, ew.shift_right)
bitwise_left_shift = _integer_only(np.left_shift, ew.shift_left, "bitwise_left_shift")
bitwise_right_shift = _integer_only(np.right_shift, ew.shift_right, "bitwise_right_shift")
bitwise_count = _integer_only(np.bitwise_count, ew.population_count)


def positive(x):
    """``numpy.positive``: the identity (of numbers: NumPy refuses booleans)."""
    if not isinstance(x, Tracer):
        return np.positive(x)
    ufunc_dtype(np.positive, x)   # NumPy's TypeError for a bool array
    return x


def square(x):
    """``numpy.square``."""
    if not isinstance(x, Tracer):
        return np.square(x)
    return ew.integer_pow(x, 2)


def reciprocal(x):
    """``numpy.reciprocal`` (``1 / x``); of integers, C's truncating division: 1 and -1 are
    their own reciprocals, every other integer's is 0 (NumPy's dtype is kept)."""
    if not isinstance(x, Tracer):
        return np.reciprocal(x)
    if x.dtype.kind in "fc":
        return ew.reciprocal(x)
    x = cast(x, ufunc_dtype(np.reciprocal, x))
    return where(equal(absolute(x), 1), x, x.dtype.type(0))


def power(x, y):
    """``numpy.power``; an integer exponent stays exact (``x**2`` is ``x*x``)."""
    if not is_traced(x, y):
        return np.power(x, y)
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool) and isinstance(x, Tracer):
        dtype = ufunc_dtype(np.power, x, y)
        if np.issubdtype(dtype, np.floating) or y >= 0:
            return ew.integer_pow(cast(x, dtype), int(y))
    dtype = ufunc_dtype(np.power, x, y)
    return ew.pow(cast(x, dtype), cast(y, dtype))


pow = power   # noqa: A001  (the array API's name, as NumPy 2's)


def round(x, decimals: int = 0):
    """``numpy.round`` (half to even); zero derivative.

    As in NumPy: integers stay integers (rounded to a multiple of ``10**-decimals`` for a
    negative ``decimals``), and the scale multiplies before rounding for ``decimals > 0``,
    divides for ``decimals < 0``.
    """
    if not isinstance(x, Tracer):
        return np.round(x, decimals)
    integer = x.dtype.kind in "iu"
    if integer and decimals >= 0:
        return x
    if not integer and x.dtype.kind != "f":
        x = cast(x, ufunc_dtype(np.rint, x))
    if decimals == 0:
        return ew.round(x)
    scaled = to_float(x)
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        rounded = true_divide(ew.round(multiply(scaled, scale)), scale)
    else:
        rounded = multiply(ew.round(true_divide(scaled, scale)), scale)
    return cast(rounded, x.dtype)


around = round


def where(condition, x=None, y=None):
    """``numpy.where(condition, x, y)``: pick from ``x`` where true, else from ``y``.

    The one-argument form needs a concrete condition (its output shape depends on values).
    """
    if x is None and y is None:
        if isinstance(condition, Tracer):
            from ..core.errors import ConcretizationError, at_user_line
            raise ConcretizationError(at_user_line(
                "where(condition) with one argument returns indices, whose number depends on "
                "the traced condition's values. Use the three-argument where(cond, x, y)."))
        return np.where(condition)
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    if not is_traced(condition, x, y):
        return np.where(condition, x, y)[()]
    condition = asarray_or_tracer(condition)
    if condition.dtype != np.bool_:
        condition = not_equal(condition, 0)
    dtype = common_dtype(x, y)
    return ew.select(condition, cast(x, dtype), cast(y, dtype))


def clip(a, a_min=None, a_max=None):
    """``numpy.clip``; the derivative is 1 inside ``[a_min, a_max]`` (bounds included), as in
    PyTorch's ``clamp``, and flows to the bound where it is active."""
    if not is_traced(a, a_min, a_max):
        return np.clip(a, a_min, a_max)
    out = a
    if a_min is not None:
        out = where(_or_nan(less(out, a_min), a_min), a_min, out)
    if a_max is not None:
        out = where(_or_nan(greater(out, a_max), a_max), a_max, out)
    return out


def _or_nan(condition, bound):
    """``condition``, or where ``bound`` is NaN: a NaN bound makes clip NaN, as in NumPy."""
    if isinstance(bound, Tracer) or np.isnan(bound).any():
        return logical_or(condition, isnan(bound))
    return condition


def fmax(x, y):
    """``numpy.fmax``: the maximum, ignoring NaNs."""
    if not is_traced(x, y):
        return np.fmax(x, y)
    return where(isnan(y), x, where(isnan(x), y, maximum(x, y)))


def fmin(x, y):
    """``numpy.fmin``: the minimum, ignoring NaNs."""
    if not is_traced(x, y):
        return np.fmin(x, y)
    return where(isnan(y), x, where(isnan(x), y, minimum(x, y)))


def _root(s, exponent=None):
    """``sqrt(s)`` (or ``s ** exponent``), with value 0 and a zero derivative where ``s == 0``
    (norms, ``std``): at zero the true derivative is 0 or does not exist, and 0 is always a
    subgradient. The inner ``where`` keeps the root's infinite slope out of the derivative.
    """
    zero = equal(s, 0)
    safe = where(zero, 1, s)
    root = sqrt(safe) if exponent is None else power(safe, exponent)
    return where(zero, 0, root)
