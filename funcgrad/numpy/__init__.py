"""``funcgrad.numpy``: a traceable, differentiable subset of NumPy with NumPy's signatures.

On concrete arrays these functions are NumPy's; on traced values they record primitives.
"""
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

from . import _indexing, _tracer_methods, linalg  # noqa: F401  (tracer operators; fnp.linalg)
from ._creation import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._elementwise import abs, round  # noqa: F401  (shadowed builtins are exported on purpose)
from ._indexing import at  # noqa: F401
from ._linalg import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._reductions import all, any, max, min, sum  # noqa: F401
from ._shape import *  # noqa: F401,F403


def _return_arrays(namespace: dict) -> None:
    """Wrap each function of ``namespace`` defined by funcgrad so that an n-d ndarray it
    returns (a concrete result) comes back as an ``Array``: NumPy's array, which also takes
    traced indices and has ``.at`` (``core.array``). Traced results pass through."""
    import functools

    import numpy as _np

    from ..core.array import Array

    for name, function in list(namespace.items()):
        if name.startswith("_") or not callable(function) or isinstance(function, type) or \
                not getattr(function, "__module__", "").startswith("funcgrad."):
            continue

        def wrapper(*args, __function=function, **kwargs):
            out = __function(*args, **kwargs)
            return out.view(Array) if type(out) is _np.ndarray and out.ndim else out

        namespace[name] = functools.wraps(function)(wrapper)


_return_arrays(globals())
_return_arrays(linalg.__dict__)
