"""Array creation functions of ``funcgrad.numpy`` (zeros, ones, full, eye, arange, ...).

Shapes are never traced: a created array's shape must be known while tracing. So these are
NumPy's own functions, except where a traced value is the content: ``full``/``full_like`` with
a traced fill value broadcast it, ``linspace`` with traced endpoints computes its values
from them, and ``array``/``asarray`` of tracers (or of lists holding
them) stay traced. The ``*_like`` functions of a traced array return concrete arrays of its
shape and dtype: zeros do not depend on the array's values.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import Tracer
from ..ops import elementwise as ew
from ..ops import structural as st
from ._core import _contains_tracer, cast, strong

__all__ = [
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "eye", "identity", "arange", "linspace", "array", "asarray", "astype",
]


def _traced(value) -> bool:
    return isinstance(value, Tracer) or (
        isinstance(value, (list, tuple)) and _contains_tracer(value))


def _require_concrete(who: str, hint: str = "", **arguments):
    """Raise if an argument that decides the result's shape is traced."""
    for name, value in arguments.items():
        if _traced(value):
            raise ConcretizationError(at_user_line(
                f"{who}: the argument '{name}' is traced, but it decides the shape of the "
                "result, which must be known while tracing. Pass a concrete value (not a "
                f"function of the differentiated arguments).{hint}"))


def _dummy(value):
    """``value`` with every tracer replaced by zeros of its shape and dtype."""
    if isinstance(value, Tracer):
        return np.zeros(value.shape, value.dtype)
    if isinstance(value, (list, tuple)):
        return [_dummy(v) for v in value]
    return value


def _shape_and_dtype(value, who: str):
    """The shape and dtype ``numpy.array(value)`` would have, for a value that holds tracers."""
    if isinstance(value, Tracer):
        return value.shape, value.dtype
    try:
        like = np.asarray(_dummy(value))
    except ValueError as error:
        raise ValueError(f"{who}: {error}") from None
    return like.shape, like.dtype


def _stack_nested(value, dtype):
    """A (nested) list holding tracers as one traced array of ``dtype``."""
    if isinstance(value, Tracer):
        return strong(cast(value, dtype))
    if isinstance(value, (list, tuple)) and _contains_tracer(value):
        from ._shape import stack
        return stack([_stack_nested(v, dtype) for v in value])
    return np.asarray(value, dtype)


def _traced_array(value, dtype, who: str):
    _, natural = _shape_and_dtype(value, who)
    return _stack_nested(value, natural if dtype is None else dtype)


# ----------------------------------------------------------------------------- from a shape

def zeros(shape, dtype=None, order: str = "C"):
    """``numpy.zeros``: an array of zeros (float64 unless ``dtype`` says otherwise)."""
    _require_concrete("zeros", shape=shape)
    return np.zeros(shape, dtype, order)


def ones(shape, dtype=None, order: str = "C"):
    """``numpy.ones``: an array of ones."""
    _require_concrete("ones", shape=shape)
    return np.ones(shape, dtype, order)


def empty(shape, dtype=None, order: str = "C"):
    """``numpy.empty``; funcgrad fills it with zeros, so results never depend on stale memory."""
    _require_concrete("empty", shape=shape)
    return np.zeros(shape, dtype, order)


def full(shape, fill_value, dtype=None, order: str = "C"):
    """``numpy.full``: ``fill_value`` (which may be traced, and may be an array) broadcast to
    ``shape``.

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: full((2, 3), x).sum())(1.5)
    array(6.)
    """
    _require_concrete("full", shape=shape)
    if not _traced(fill_value):
        return np.full(shape, fill_value, dtype, order)
    fill = _traced_array(fill_value, dtype, "full")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        fits = ew._broadcast_shapes(fill.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"full: could not broadcast a fill value of shape {fill.shape} into "
                         f"shape {shape}")
    return st.broadcast_to(fill, shape)


def eye(N: int, M=None, k: int = 0, dtype=float, order: str = "C"):
    """``numpy.eye``: ones on diagonal ``k`` of an ``N x M`` matrix."""
    _require_concrete("eye", N=N, M=M, k=k)
    return np.eye(N, M, k, dtype, order)


def identity(n: int, dtype=None):
    """``numpy.identity``: the ``n x n`` identity matrix."""
    _require_concrete("identity", n=n)
    return np.identity(n, dtype)


def arange(start=None, stop=None, step=None, dtype=None):
    """``numpy.arange``: evenly spaced values in ``[start, stop)``; the arguments are concrete."""
    _require_concrete("arange", start=start, stop=stop, step=step)
    if start is None:
        if stop is None:
            raise TypeError("arange: missing the argument 'stop'")
        start = 0
    return np.arange(start, stop, step, dtype=dtype)


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):
    """``numpy.linspace``: ``num`` evenly spaced values. ``num`` is concrete; ``start`` and
    ``stop`` may be traced (arrays too: they broadcast, as in NumPy and JAX), and then the
    values are differentiable in them.

    >>> import funcgrad as fg
    >>> fg.grad(lambda a: linspace(0.0, a, 5).sum())(2.0)
    array(2.5)
    """
    _require_concrete("linspace", num=num)
    if not _traced(start) and not _traced(stop):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    from . import _elementwise, _shape
    from ._core import asarray_or_tracer, common_dtype
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    # Python numbers stay weak: a float32 start with stop=1.0 gives float32, as in NumPy.
    start, stop = (v if isinstance(v, (int, float)) else asarray_or_tracer(v)
                   for v in (start, stop))
    float_dtype = common_dtype(start, stop, float(num))
    start, stop = cast(start, float_dtype), cast(stop, float_dtype)
    divisions = (num - 1) if endpoint else num
    delta = _elementwise.subtract(stop, start)
    # NumPy's arithmetic: start + i * step, and the endpoint exactly ``stop``; with no
    # division (one value and the endpoint) the value is ``start`` and the step nan.
    step = _elementwise.true_divide(delta, divisions) if divisions > 0 else delta * np.nan
    index = np.arange(num, dtype=float_dtype).reshape((num,) + (1,) * np.ndim(delta))
    values = _elementwise.add(_elementwise.multiply(index, step if divisions > 0 else delta),
                              start)
    if endpoint and num > 1:
        last = np.arange(num).reshape(index.shape) == num - 1
        values = _elementwise.where(last, _shape.broadcast_to(stop, values.shape), values)
    values = _shape.moveaxis(values, 0, axis)
    if dtype is not None:
        if np.issubdtype(dtype, np.integer):
            values = _elementwise.floor(values)
        values = cast(values, dtype)
    return (values, step) if retstep else values


# ----------------------------------------------------------------------------- like another

def _like(who, a, dtype, shape):
    """The shape and dtype of a new array like ``a`` (which holds tracers)."""
    a_shape, a_dtype = _shape_and_dtype(a, who)
    return (a_shape if shape is None else shape), (a_dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, order: str = "K", subok: bool = True, shape=None):
    """``numpy.zeros_like``; of a traced array, a concrete array of its shape and dtype."""
    if not _traced(a):
        return np.zeros_like(a, dtype, order, subok, shape)
    return np.zeros(*_like("zeros_like", a, dtype, shape))


def ones_like(a, dtype=None, order: str = "K", subok: bool = True, shape=None):
    """``numpy.ones_like``; of a traced array, a concrete array of its shape and dtype."""
    if not _traced(a):
        return np.ones_like(a, dtype, order, subok, shape)
    return np.ones(*_like("ones_like", a, dtype, shape))


def empty_like(a, dtype=None, order: str = "K", subok: bool = True, shape=None):
    """``numpy.empty_like``; funcgrad fills it with zeros."""
    if not _traced(a):
        return np.zeros_like(a, dtype, order, subok, shape)
    return np.zeros(*_like("empty_like", a, dtype, shape))


def full_like(a, fill_value, dtype=None, order: str = "K", subok: bool = True, shape=None):
    """``numpy.full_like``: traced only if ``fill_value`` is (then it is broadcast)."""
    if not _traced(a) and not _traced(fill_value):
        return np.full_like(a, fill_value, dtype, order, subok, shape)
    if _traced(a):
        new_shape, new_dtype = _like("full_like", a, dtype, shape)
    else:
        a = np.asarray(a)
        new_shape = a.shape if shape is None else shape
        new_dtype = a.dtype if dtype is None else dtype
    return full(new_shape, fill_value, new_dtype)


# ----------------------------------------------------------------------------- conversions

def array(object, dtype=None, *, copy: bool = True, order: str = "K", ndmin: int = 0):
    """``numpy.array``: a tracer passes through (cast to ``dtype`` if given); a list or tuple
    holding tracers is stacked into one traced array."""
    if not _traced(object):
        return np.array(object, dtype, copy=copy, order=order, ndmin=ndmin)
    out = _traced_array(object, dtype, "array")
    if out.ndim < ndmin:
        out = st.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def asarray(a, dtype=None, order=None, *, copy=None):
    """``numpy.asarray``: like ``array``, but a NumPy array is not copied."""
    if not _traced(a):
        return np.asarray(a, dtype, order, copy=copy)
    return _traced_array(a, dtype, "asarray")


def astype(x, dtype, /, *, copy: bool = True):
    """``numpy.astype``: ``x`` converted to ``dtype`` (a traced conversion is differentiable
    between floating dtypes)."""
    if isinstance(x, Tracer):
        return cast(x, dtype)
    if not isinstance(x, (np.ndarray, np.generic)):
        x = np.asarray(x)   # NumPy's astype takes arrays only; a Python number is one too here
    return np.astype(x, dtype, copy=copy)
