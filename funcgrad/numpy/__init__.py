"""``funcgrad.numpy``: a traceable, differentiable subset of NumPy with NumPy's signatures.

On concrete arrays these functions are NumPy's; on traced values they record primitives.
"""
import functools as _functools

from numpy import (  # noqa: F401
    bool_,
    dtype,
    e,
    float16,
    float32,
    float64,
    inf,
    int8,
    int16,
    int32,
    int64,
    nan,
    ndarray,
    newaxis,
    pi,
    uint8,
)

from ..core.array import Array as _Array
from . import _indexing, _tracer_methods, linalg  # noqa: F401  (tracer operators; fnp.linalg)
from ._creation import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._elementwise import abs, round  # noqa: F401  (shadowed builtins are exported on purpose)
from ._indexing import at  # noqa: F401
from ._linalg import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._reductions import all, any, max, min, sum  # noqa: F401
from ._shape import *  # noqa: F401,F403


def _returning_arrays(function):
    """``function``, with an n-d ndarray it returns (a concrete result) as an ``Array``:
    NumPy's array, which also takes traced indices and has ``.at`` (``core.array``)."""
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        out = function(*args, **kwargs)
        return out.view(_Array) if type(out) is ndarray and out.ndim else out
    return wrapper


for _namespace in (globals(), linalg.__dict__):   # the functions funcgrad defines
    for _name, _function in list(_namespace.items()):
        if not _name.startswith("_") and callable(_function) and \
                not isinstance(_function, type) and \
                getattr(_function, "__module__", "").startswith("funcgrad."):
            _namespace[_name] = _returning_arrays(_function)
del _namespace, _name, _function
