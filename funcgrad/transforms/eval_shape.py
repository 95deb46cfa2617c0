"""``eval_shape``: the shapes and dtypes of a function's outputs, found by tracing it."""
from __future__ import annotations

import numpy as np

from .. import tree
from ..core.aval import ShapedArray
from ..core.trace import Tracer, trace_to_ir
from . import _args


class ShapeDtypeStruct(ShapedArray):
    """A shape and a dtype, standing for an array that is not computed (``jax``'s class of
    that name): what ``eval_shape`` returns, and what it and ``pure_callback`` and
    ``linear_transpose`` accept where an array's type is all they need. It is an abstract
    value (``ShapedArray``) under JAX's name and repr.

    >>> from funcgrad.transforms.eval_shape import ShapeDtypeStruct
    >>> ShapeDtypeStruct((2, 3), "float32")
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ()

    def __init__(self, shape, dtype):
        super().__init__(tuple(int(n) for n in shape), dtype)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d ShapeDtypeStruct")
        return self.shape[0]

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def abstract_leaf(leaf) -> ShapedArray:
    """The aval of an argument leaf: an array, a number, a tracer, or any object with
    ``.shape`` and ``.dtype`` (raises ``_args.UnsupportedLeaf`` for anything else)."""
    if not isinstance(leaf, (Tracer, np.ndarray, np.generic)) and (
            hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
        return ShapedArray(tuple(int(n) for n in leaf.shape), np.dtype(leaf.dtype))
    return _args.aval(_args.as_value(leaf))


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of ``fun(*args, **kwargs)``, as a pytree of
    ``ShapeDtypeStruct``, without computing anything (JAX semantics).

    ``args`` may be arrays, numbers, or any objects with ``.shape`` and ``.dtype`` (pytrees of
    them). ``fun`` is traced as under ``jit``: values are not known, so Python control flow
    on them raises ``fg.ConcretizationError``; ``pure_callback`` and ``debug.print`` are not
    run.

    >>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
    >>> fg.eval_shape(lambda x, w: fnp.tanh(x @ w), np.ones((8, 3)), np.ones((3, 2), np.float32))
    ShapeDtypeStruct(shape=(8, 2), dtype=float64)
    """
    who = f"eval_shape of {getattr(fun, '__name__', 'function')}"
    leaves, in_tree = tree.flatten((args, kwargs))
    try:
        avals = [abstract_leaf(leaf) for leaf in leaves]
    except _args.UnsupportedLeaf as error:
        raise _args.unsupported_argument(who, fun, args, kwargs, error.leaf, ways=(
            "close over it instead of passing it (lambda x: f(x, value)), or pass an "
            "array or an object with .shape and .dtype")) from None
    out_trees = []

    def flat_fun(*tracers):
        call_args, call_kwargs = tree.unflatten(in_tree, list(tracers))
        out_leaves, out_tree = tree.flatten(fun(*call_args, **call_kwargs))
        out_trees.append(out_tree)
        return [_args.as_value(x) for x in out_leaves]

    ir = trace_to_ir(flat_fun, avals)
    return tree.unflatten(out_trees[0], [ShapeDtypeStruct(a.shape, a.dtype)
                                         for a in ir.out_avals])
