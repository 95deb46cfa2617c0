"""Host code inside traced functions: ``pure_callback`` and ``debug.print`` (JAX semantics).

Both bind a primitive of ``funcgrad/ops/callback.py`` that keeps the Python function and
runs it on NumPy arrays when the program runs: at once when nothing is traced, and under
``jit`` as a call step of the program, at every call (the interpreted first calls and the
compiled ones alike).
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import tree
from ..core.array import Array
from ..core.aval import ShapedArray
from ..core.trace import Tracer
from ..ops import callback as ops
from ..ops.custom import Rule
from . import _args


def _declared_avals(result_shape_dtypes, who: str):
    """The leaves of ``result_shape_dtypes`` as avals: anything with ``.shape`` and ``.dtype``
    (``fg.eval_shape``'s results, arrays, ``jax.ShapeDtypeStruct``)."""
    leaves, treedef = tree.flatten(result_shape_dtypes)
    avals = []
    for index, leaf in enumerate(leaves):
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        if shape is None or dtype is None:
            raise TypeError(
                f"{who}: result_shape_dtypes leaf {index} is a {type(leaf).__name__}, which "
                "has no .shape and .dtype; declare each result with an object that has both "
                "(fg.eval_shape's results, an array of that shape and dtype, or any "
                "ShapeDtypeStruct-like object)")
        avals.append(ShapedArray(tuple(int(n) for n in shape), np.dtype(dtype)))
    return avals, treedef


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None,
                  **kwargs):
    """Call the Python function ``callback(*args, **kwargs)`` on NumPy arrays from inside a
    traced function; its results must have the declared shapes and dtypes.

    Args:
      callback: a pure Python function of NumPy arrays (pytrees of them) returning a pytree
        of arrays structured like ``result_shape_dtypes``.
      result_shape_dtypes: a pytree of objects with ``.shape`` and ``.dtype`` (the results of
        ``fg.eval_shape``, arrays, ``ShapeDtypeStruct``-like objects).
      *args, **kwargs: arrays or pytrees of arrays, traced or not, passed to ``callback``.
      sharding: accepted for JAX compatibility and ignored: funcgrad computes on one host,
        where every sharding places the result.
      vmap_method: how ``vmap`` batches the call: ``"sequential"`` (or
        ``"sequential_unrolled"``) calls ``callback`` once per example; ``"expand_dims"`` calls
        it once on the batch, unbatched arguments given a leading axis of size 1;
        ``"broadcast_all"`` once with every argument broadcast to the batch. ``None`` (JAX
        raises there): once per example, the one way that is right for every callback.

    Under ``jit`` the call runs at every call of the compiled program. As in JAX it is pure: a
    result that nothing reads may be dropped, and it has no derivative (``grad`` raises;
    wrap the caller in ``fg.custom_vjp`` to give it one).

    >>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
    >>> def host_sinc(x):
    ...     return np.sinc(x)
    >>> f = lambda x: fg.pure_callback(host_sinc, x, x, vmap_method="sequential") * 2.0
    >>> f(np.array([0.0, 0.5]))
    array([2.        , 1.27323954])
    >>> fg.vmap(f)(np.array([[0.0], [0.5]]))
    array([[2.        ],
           [1.27323954]])
    """
    name = getattr(callback, "__name__", type(callback).__name__)
    who = f"pure_callback of {name}"
    if not callable(callback):
        raise TypeError(f"pure_callback: callback must be a function, got "
                        f"{type(callback).__name__}")
    if vmap_method is not None and vmap_method not in ops.VMAP_METHODS:
        raise ValueError(f"{who}: vmap_method must be None or one of {ops.VMAP_METHODS}, got "
                         f"{vmap_method!r}")
    out_avals, out_tree = _declared_avals(result_shape_dtypes, who)
    leaves, in_tree = tree.flatten((args, kwargs))
    leaves = _args.argument_values(who, callback, args, leaves)

    def flat_callback(*values):
        call_args, call_kwargs = tree.unflatten(in_tree, list(values))
        result = callback(*call_args, **call_kwargs)
        result_leaves, result_tree = tree.flatten(result)
        if result_tree != out_tree:
            raise TypeError(f"{who}: the callback returned structure {result_tree}, but "
                            f"result_shape_dtypes declared {out_tree}")
        return result_leaves

    outs = ops.pure_callback_p.bind(*leaves, callback=Rule(flat_callback, name),
                                    out_avals=tuple(out_avals), vmap_method=vmap_method)
    return tree.unflatten(out_tree, [_args.to_user(x) for x in outs])


def _is_operand(leaf) -> bool:
    return isinstance(leaf, (Tracer, np.ndarray, np.generic, Array))


def debug_print(fmt: str, *args, ordered: bool = False, **kwargs) -> None:
    """Print ``fmt.format(*args, **kwargs)`` with the values ``args`` have when the program
    runs (``jax.debug.print``): eagerly at once, under ``jit`` at every call, under ``vmap``
    once per example, under ``grad`` with the forward values.

    Array arguments (traced or not) are printed as NumPy arrays; other arguments (strings,
    Python numbers) as they are. ``ordered`` is accepted for JAX compatibility: prints always
    come in program order here. Never dropped from a compiled program, even though nothing
    reads it.

    >>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
    >>> def f(x):
    ...     fg.debug.print("x = {}, sin(x) = {s:.3f}", x, s=fnp.sin(x))
    ...     return 2.0 * x
    >>> g = fg.grad(f)(1.0)
    x = 1.0, sin(x) = 0.841
    >>> y = fg.vmap(f)(np.array([1.0, 2.0]))
    x = 1.0, sin(x) = 0.841
    x = 2.0, sin(x) = 0.909
    """
    if not isinstance(fmt, str):
        raise TypeError(f"debug.print: fmt must be a format string, got {type(fmt).__name__}")
    leaves, in_tree = tree.flatten((args, kwargs))
    dynamic = [_is_operand(leaf) for leaf in leaves]
    operands = [_args.as_value(leaf) for leaf, d in zip(leaves, dynamic) if d]

    def printer(*values):
        values = iter(values)
        full = [next(values) if d else leaf for leaf, d in zip(leaves, dynamic)]
        call_args, call_kwargs = tree.unflatten(in_tree, full)
        builtins.print(fmt.format(*call_args, **call_kwargs))

    ops.debug_print_p.bind(*operands, callback=Rule(printer, repr(fmt)))
