"""funcgrad: composable function transformations (grad, jvp, vjp, jit, ...) over NumPy.

>>> import funcgrad as fg
>>> import funcgrad.numpy as fnp
>>> fg.grad(lambda x, y: y * fnp.log(x) + fnp.sin(y), argnums=(0, 1))(2.0, 3.0)
(array(1.5), array(-0.29684532))
"""
from . import debug, numpy, tree
from .control import cond, fori_loop, scan, while_loop
from .core.array import Array, block_until_ready
from .core.errors import (
                          ConcretizationError,
                          DisconnectedGradientError,
                          EscapedTracerError,
                          ShapeError,
                          TracerConversionError,
)
from .ops.special import retain_grad, stop_gradient
from .transforms import check_grads, grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp
from .transforms.callbacks import pure_callback
from .transforms.custom import checkpoint, custom_jvp, custom_vjp, remat
from .transforms.eval_shape import eval_shape
from .transforms.jit import disable_jit, jit
from .transforms.linear import linear_transpose, linearize
from .transforms.make_ir import make_ir
from .transforms.vmap import vmap

# JAX's names, for porting: the same functions.
jacobian = jacrev
make_jaxpr = make_ir

__version__ = "0.1.0"

from .core.memory import raise_malloc_thresholds  # noqa: E402  (see core/memory.py)

raise_malloc_thresholds()

# Imported on first use (``fg.nn``, ``from funcgrad import nn``, ``import funcgrad.optim``):
# the transformations never need them, so ``import funcgrad`` does not pay for them.
_LAZY_SUBMODULES = ("nn", "optim", "random", "scipy", "lax", "distributed")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib
        # Importing the submodule sets it as this module's attribute: the next access finds it.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY_SUBMODULES})


__all__ = [
    "numpy", "tree", "ConcretizationError", "DisconnectedGradientError", "EscapedTracerError",
    "ShapeError", "TracerConversionError", "retain_grad", "stop_gradient", "check_grads",
    "grad", "hessian", "jacfwd", "jacrev", "jit", "jvp", "value_and_grad", "vjp", "make_ir",
    "vmap", "nn", "optim", "random", "scipy", "lax", "cond", "fori_loop", "scan",
    "while_loop", "checkpoint", "custom_jvp", "custom_vjp", "remat", "Array",
    "block_until_ready", "debug", "eval_shape",
    "pure_callback", "disable_jit", "linearize", "linear_transpose", "jacobian", "make_jaxpr",
    "distributed",
]
