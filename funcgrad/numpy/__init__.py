"""``funcgrad.numpy``: a traceable, differentiable subset of NumPy with NumPy's signatures.

On concrete arrays these functions are NumPy's; on traced values they record primitives.
"""

from numpy import (  # noqa: F401
    bool_,
    complex64,
    complex128,
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

from ..core.array import returning_arrays as _returning_arrays
from . import _indexing, _tracer_methods, fft, linalg  # noqa: F401  (tracer operators; fnp.linalg, fnp.fft)
from ._arrays import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._editing import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._elementwise import abs, round  # noqa: F401  (shadowed builtins are exported on purpose)
from ._floating_point import *  # noqa: F401,F403
from ._functional import *  # noqa: F401,F403
from ._histograms import *  # noqa: F401,F403
from ._indexing import at  # noqa: F401
from ._linalg import *  # noqa: F401,F403
from ._math import *  # noqa: F401,F403
from ._nanfunctions import *  # noqa: F401,F403
from ._pad import *  # noqa: F401,F403
from ._polynomials import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._reductions import all, any, max, min, sum  # noqa: F401
from ._selection import *  # noqa: F401,F403
from ._sets import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._signals import *  # noqa: F401,F403
from ._sorting import *  # noqa: F401,F403
from ._utilities import *  # noqa: F401,F403
from ._windows import *  # noqa: F401,F403

# Concrete results are Arrays (core.array), 0-d ones too.
for _namespace in (globals(), linalg.__dict__, fft.__dict__):   # the functions funcgrad defines
    for _name, _function in list(_namespace.items()):
        if not _name.startswith("_") and callable(_function) and \
                not isinstance(_function, type) and \
                getattr(_function, "__module__", "").startswith("funcgrad."):
            _namespace[_name] = _returning_arrays(_function)
del _namespace, _name, _function
