"""``vmap``: vectorization, an interpreter that carries each value with its batch axis.

The function is traced once at the shapes of a single example (each mapped axis removed), and
its IR is then evaluated on the batched values. An equation whose operands are all unbatched
runs as it is; one with a batched operand calls its primitive's ``batch`` rule, which returns
the result and where its batch axis is. The rules are written with funcgrad's operations, so
the vectorized program traces like any other, and ``vmap`` composes with ``grad``, ``jvp``,
``jit`` and itself.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import tree
from ..core.aval import ShapedArray
from ..core.ir import Literal
from ..core.trace import Tracer, trace_to_ir
from ..ops import structural as st
from . import _args


def batch_ir(ir, args, dims):
    """Evaluate ``ir`` on ``args``, each batched along ``dims[i]`` (``None``: unbatched).

    Returns ``(outs, out_dims)``: the outputs and the batch axis of each (``None`` for an
    output that does not depend on a batched input).
    """
    env: dict = {var: (value, None) for var, value in zip(ir.constvars, ir.consts)}
    env.update((var, (value, dim)) for var, value, dim in zip(ir.invars, args, dims))
    for eqn in ir.eqns:
        values, in_dims = [], []
        for atom in eqn.inputs:
            value, dim = (atom.val, None) if type(atom) is Literal else env[atom]
            values.append(value)
            in_dims.append(dim)
        prim = eqn.primitive
        if all(dim is None for dim in in_dims):
            out, out_dims = prim.bind(*values, **eqn.params), None
        else:
            out, out_dims = prim.batch(values, in_dims, **eqn.params)
        if not prim.multiple_results:
            out, out_dims = [out], [out_dims]
        elif out_dims is None:
            out_dims = [None] * len(out)
        for var, value, dim in zip(eqn.outputs, out, out_dims):
            if dim is not None:
                _check_rule_result(eqn, var, value, dim)
            env[var] = (value, dim)
    results = [(atom.val, None) if type(atom) is Literal else env[atom] for atom in ir.outvars]
    return [value for value, _ in results], [dim for _, dim in results]


def _check_rule_result(eqn, var, value, dim):
    shape = np.shape(value)
    if not 0 <= dim < len(shape) or shape[:dim] + shape[dim + 1:] != var.aval.shape:
        raise AssertionError(
            f"the batch rule of '{eqn.primitive.name}' returned shape {shape} batched at axis "
            f"{dim}, which does not hold examples of shape {var.aval.shape}")


# ------------------------------------------------------------------------- axis specifications

def _node(value):
    """``(node type, aux data, children)`` of a pytree container, or ``None`` for a leaf."""
    kind = tree._classify(type(value))
    if kind is None:
        return None
    children, aux = kind.flatten(value)
    return kind, aux, tuple(children)


def _is_axis(axis) -> bool:
    return axis is None or (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool))


def _axes_per_leaf(axes, value, what: str, who: str) -> list:
    """Broadcast the pytree prefix ``axes`` over ``value``: one axis (or ``None``) per leaf.

    ``None`` inside ``axes`` is an axis specification (not mapped), not an empty container.
    """
    if _is_axis(axes):
        return [None if axes is None else int(axes)] * len(tree.leaves(value))
    spec, node = _node(axes), _node(value)
    if spec is None:
        raise TypeError(f"{who}: the axis given for {what} is {axes!r}; an axis is an int or "
                        "None, or a container of them shaped like the value")
    if node is None or spec[0] is not node[0] or spec[1] != node[1] or (
            len(spec[2]) != len(node[2])):
        raise ValueError(f"{who}: the axes {axes!r} given for {what} do not match its "
                         f"structure {tree.structure(value)}; give one int or None for the "
                         "whole value, or a container of the same structure")
    return [axis for spec_child, child in zip(spec[2], node[2])
            for axis in _axes_per_leaf(spec_child, child, what, who)]


def _positional_axes(in_axes, num_args: int, who: str) -> tuple:
    if _is_axis(in_axes):
        return (in_axes,) * num_args
    if isinstance(in_axes, list):   # JAX accepts a list for the tuple of per-argument axes
        in_axes = tuple(in_axes)
    if not isinstance(in_axes, tuple):
        raise TypeError(f"{who}: in_axes must be an int, None, or a tuple with one entry per "
                        f"positional argument, got {type(in_axes).__name__} {in_axes!r}")
    if len(in_axes) != num_args:
        raise ValueError(f"{who}: in_axes has {len(in_axes)} entries, but the function was "
                         f"called with {num_args} positional argument(s)")
    return in_axes


def _flatten_inputs(fun, args, kwargs, in_axes, who):
    """The leaves of ``(args, kwargs)``, the axis of each (keywords: 0), and their names."""
    leaves, axes, names = [], [], []
    for index, (arg, arg_axes) in enumerate(zip(args, _positional_axes(in_axes, len(args),
                                                                        who))):
        what = _args.describe_argument(fun, index)
        axes += _axes_per_leaf(arg_axes, arg, what, who)
        for path, leaf in tree.leaves_with_path(arg):
            leaves.append(leaf)
            names.append(_args.describe_argument(fun, index, path))
    for key in sorted(kwargs):
        for path, leaf in tree.leaves_with_path(kwargs[key]):
            leaves.append(leaf)
            axes.append(0)
            names.append(f"keyword argument '{key}'{tree.path_str(path)}")
    return leaves, axes, names


def _mapped_axis(shape, axis, name: str, who: str, direction: str) -> int:
    rank = len(shape)
    if not -rank <= axis < rank:
        hint = (" (a scalar has no axis to map: give it the axis None)" if rank == 0 else "")
        raise ValueError(f"{who}: {direction} maps {name} over axis {axis}, but it has shape "
                         f"{tuple(shape)}, so the axis must be in [{-rank}, {rank}){hint}")
    return axis % rank


def _batch_size(leaves, axes, names, who: str, axis_size=None) -> int:
    sizes = {}
    for leaf, axis, name in zip(leaves, axes, names):
        if axis is not None:
            sizes[name] = (np.shape(leaf), axis, np.shape(leaf)[axis])
    if axis_size is not None:
        if any(size != axis_size for _, _, size in sizes.values()):
            lines = "\n".join(f"  {name}: shape {shape}, axis {axis} has size {size}"
                              for name, (shape, axis, size) in sizes.items())
            raise ValueError(f"{who}: axis_size is {axis_size}, but the mapped axes have "
                             f"sizes:\n{lines}")
        return axis_size
    if not sizes:
        raise ValueError(f"{who}: in_axes is None for every argument, so there is no axis to "
                         "map over; map at least one argument, or give the batch size as "
                         "axis_size=")
    if len({size for _, _, size in sizes.values()}) > 1:
        lines = "\n".join(f"  {name}: shape {shape}, axis {axis} has size {size}"
                          for name, (shape, axis, size) in sizes.items())
        raise ValueError(f"{who}: the mapped axes have different sizes:\n{lines}\nEvery "
                         "mapped axis must have the same size (the batch size).")
    return next(iter(sizes.values()))[2]


# ------------------------------------------------------------------------------------ outputs

def _place_output(value, dim, axis, size: int, name: str, who: str):
    """Move the batch axis of an output to ``axis``; an unbatched output is broadcast."""
    if axis is None:
        if dim is not None:
            raise ValueError(f"{who}: out_axes is None for {name}, but it depends on the "
                             "mapped inputs, so it differs between examples; give it an "
                             "axis to stack the examples along")
        return value
    shape = np.shape(value)
    if dim is not None:
        shape = shape[:dim] + shape[dim + 1:]
    axis = _mapped_axis(shape + (size,), axis, name, who, "out_axes")
    if dim is None:
        expanded = st.reshape(value, shape[:axis] + (1,) + shape[axis:])
        return st.broadcast_to(expanded, shape[:axis] + (size,) + shape[axis:])
    return st.moveaxis(value, dim, axis) if dim != axis else value


def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Vectorize ``fun`` over an axis of its arguments (JAX semantics).

    Args:
      fun: a function of arrays or pytrees of arrays.
      in_axes: the mapped axis of each argument: an int (every argument), ``None`` (not
        mapped), or a tuple with one entry per positional argument, each an int, ``None`` or
        a container of them shaped like (a prefix of) that argument. Keyword arguments are
        mapped over axis 0.
      out_axes: where the batch axis goes in each output: an int, or a pytree prefix of the
        output; ``None`` for an output that does not depend on the mapped inputs.
      axis_size: the batch size, which the mapped axes must have; needed only where no
        argument is mapped (every output is then ``axis_size`` copies), as in JAX.

    Returns:
      The batched function. Outputs that do not depend on the mapped inputs are broadcast
      along the batch axis (unless their out_axes is ``None``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda x, y: fnp.dot(x, y), in_axes=(0, None))(fnp.eye(2), fnp.array([3., 4.]))
    array([3., 4.])
    """
    who = f"vmap of {getattr(fun, '__name__', 'function')}"
    if axis_size is not None and (not isinstance(axis_size, (int, np.integer))
                                  or isinstance(axis_size, bool) or axis_size < 0):
        raise TypeError(f"{who}: axis_size must be a non-negative int, got {axis_size!r}")

    @functools.wraps(fun)
    def batched_fun(*args, **kwargs):
        leaves, axes, names = _flatten_inputs(fun, args, kwargs, in_axes, who)
        # As in JAX, a number or other non-array that is not mapped reaches fun as it was
        # given (a Python int can size an array, pick a branch or be a static argument of a
        # jit inside; a string can choose a mode). Arrays are traced, mapped or not, so that
        # an unmapped NumPy table takes a mapped index (table[i]) and .at.
        traced = [i for i, (leaf, axis) in enumerate(zip(leaves, axes))
                  if axis is not None or isinstance(leaf, (Tracer, np.ndarray))]
        values = [_args.as_value(leaves[i]) for i in traced]
        traced_names = [names[i] for i in traced]
        dims = [None if axes[i] is None else _mapped_axis(np.shape(value), axes[i], names[i],
                                                          who, "in_axes")
                for i, value in zip(traced, values)]
        size = _batch_size(values, dims, traced_names, who,
                           None if axis_size is None else int(axis_size))
        example_avals = []
        for value, dim in zip(values, dims):
            aval = _args.aval(value)
            if dim is not None:
                aval = ShapedArray(aval.shape[:dim] + aval.shape[dim + 1:], aval.dtype)
            example_avals.append(aval)
        in_tree = tree.structure((args, kwargs))
        out_trees = []

        def flat_fun(*tracers):
            inputs = list(leaves)
            for i, tracer in zip(traced, tracers):
                inputs[i] = tracer
            example_args, example_kwargs = tree.unflatten(in_tree, inputs)
            out_leaves, out_tree = _args.output_values(fun(*example_args, **example_kwargs),
                                                       who)
            out_trees.append(out_tree)
            return out_leaves

        ir = trace_to_ir(flat_fun, example_avals, traced_names)
        outs, out_dims = batch_ir(ir, values, dims)
        out_tree = out_trees[0]
        example_out = tree.unflatten(out_tree, [v.aval for v in ir.outvars])
        out_axes_per_leaf = _axes_per_leaf(out_axes, example_out, "the output", who)
        out_names = [f"output{tree.path_str(path)}" if path else "the output"
                     for path, _ in tree.leaves_with_path(example_out)]
        results = [_args.to_user(_place_output(value, dim, axis, size, name, who))
                   for value, dim, axis, name in zip(outs, out_dims, out_axes_per_leaf,
                                                     out_names)]
        return tree.unflatten(out_tree, results)

    return batched_fun
