"""Jacobians and Hessians: ``jacrev`` (one reverse pass per output element), ``jacfwd`` (one
forward pass per input element) and ``hessian = jacfwd(jacrev(f))``. Shapes follow JAX:
``out.shape + in.shape`` for each (output leaf, input leaf) pair."""
from __future__ import annotations

import functools

import numpy as np

from .. import tree
from ..core.trace import Tracer
from ..ops import structural as st
from . import _args
from .jvp import jvp
from .vjp import vjp


def _stack(values, axis_last: bool = False):
    """Stack equally shaped values on a new leading (or trailing) axis."""
    if not any(isinstance(v, Tracer) for v in values):
        return np.stack([np.asarray(v) for v in values], axis=-1 if axis_last else 0)
    shape = np.shape(values[0])
    new_shape = shape + (1,) if axis_last else (1,) + shape
    pieces = [st.reshape(_args.as_value(v), new_shape) for v in values]
    return st.concatenate(pieces, len(shape) if axis_last else 0)


def _basis(value, index: int):
    one_hot = np.zeros(np.size(value), np.dtype(value.dtype))
    one_hot[index] = 1
    return one_hot.reshape(np.shape(value))


def _prepare(fun, argnums, args, who):
    nums = _args.normalize_argnums(argnums, len(args), who)
    leaves, treedefs = _args.differentiable_leaves(fun, args, nums, who)

    def partial_fun(*diff_args):
        new_args = list(args)
        for num, value in zip(nums, diff_args):
            new_args[num] = value
        return fun(*new_args)

    return nums, leaves, treedefs, partial_fun, [args[n] for n in nums]


def _assemble(out_tree, out_shapes, in_shapes, columns, treedefs, single):
    """``columns[k][j]`` is a (size_out_k * size_in_j) block: shape it and build the pytrees."""
    per_output = []
    for k, out_shape in enumerate(out_shapes):
        blocks = [_args.to_user(st.reshape(columns[k][j], out_shape + in_shape))
                  for j, in_shape in enumerate(in_shapes)]
        per_arg = _args.split_per_argnum(treedefs, blocks)
        per_output.append(per_arg[0] if single else tuple(per_arg))
    return tree.unflatten(out_tree, per_output)


def jacrev(fun, argnums=0):
    """The Jacobian of ``fun``, built row by row in reverse mode.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacrev(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    who = f"jacrev of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def jacobian_fun(*args):
        nums, leaves, treedefs, partial_fun, primals = _prepare(fun, argnums, args, who)
        out, vjp_fn = vjp(partial_fun, *primals)
        out_leaves, out_tree = tree.flatten(out)
        in_shapes = [np.shape(x) for x in leaves]
        columns = []
        for k, out_leaf in enumerate(out_leaves):
            rows = []
            for index in range(int(np.size(out_leaf))):
                ct = [_args.zeros_like(_args.as_value(o)) for o in out_leaves]
                ct[k] = _basis(_args.as_value(out_leaf), index)
                cts = vjp_fn(tree.unflatten(out_tree, ct))
                rows.append(tree.leaves(cts))
            columns.append([_stack([row[j] for row in rows]) if rows
                            else np.zeros((0,) + in_shapes[j], leaves[j].dtype)
                            for j in range(len(leaves))])
        out_shapes = [np.shape(o) for o in out_leaves]
        return _assemble(out_tree, out_shapes, in_shapes, columns, treedefs,
                         isinstance(argnums, int))

    return jacobian_fun


def jacfwd(fun, argnums=0):
    """The Jacobian of ``fun``, built column by column in forward mode.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacfwd(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    who = f"jacfwd of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def jacobian_fun(*args):
        nums, leaves, treedefs, partial_fun, primals = _prepare(fun, argnums, args, who)
        primal_tree = tree.structure(tuple(primals))
        out_tree, out_shapes, per_input = None, None, []
        for j, leaf in enumerate(leaves):
            tangent_columns = []
            for index in range(int(np.size(leaf))):
                tangents = [_args.zeros_like(x) for x in leaves]
                tangents[j] = _basis(leaf, index)
                out, tangent_out = jvp(partial_fun, primals,
                                       tree.unflatten(primal_tree, tangents))
                tangent_columns.append(tree.leaves(tangent_out))
            if out_tree is None:
                out_tree = tree.structure(out) if tangent_columns else None
                out_shapes = [np.shape(o) for o in tree.leaves(out)] if tangent_columns else None
            per_input.append(tangent_columns)
        if out_tree is None:   # every input is empty: evaluate once for the output structure
            out = partial_fun(*primals)
            out_tree, out_shapes = tree.structure(out), [np.shape(o) for o in tree.leaves(out)]
        in_shapes = [np.shape(x) for x in leaves]
        columns = []
        for k, out_shape in enumerate(out_shapes):
            row = []
            for j, tangent_columns in enumerate(per_input):
                if tangent_columns:
                    block = _stack([c[k] for c in tangent_columns], axis_last=True)
                else:
                    block = np.zeros(out_shape + (0,), leaves[j].dtype)
                row.append(block)
            columns.append(row)
        return _assemble(out_tree, out_shapes, in_shapes, columns, treedefs,
                         isinstance(argnums, int))

    return jacobian_fun


def hessian(fun, argnums=0):
    """The Hessian of scalar-valued ``fun``: ``jacfwd(jacrev(fun))``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.hessian(lambda x: fnp.sum(x ** 3))(fnp.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums), argnums)
