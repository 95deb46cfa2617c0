"""Jacobians and Hessians: ``jacrev`` (one forward pass and one backward pass, vectorized over
the output elements), ``jacfwd`` (one forward-mode pass vectorized over the input elements)
and ``hessian = jacfwd(jacrev(f))``. Shapes follow JAX: ``out.shape + in.shape`` for each
(output leaf, input leaf) pair."""
from __future__ import annotations

import functools

import numpy as np

from .. import tree
from ..ops import structural as st
from . import _args
from .jvp import jvp
from .vjp import vjp
from .vmap import vmap


def _identity_basis(values, total: int):
    """The rows of the ``total x total`` identity, split among ``values`` (whose sizes add up
    to ``total``): one array ``(total, *shape)`` per value, in its dtype. Row ``r`` is the
    unit vector of the ``r``-th element of all the values taken together."""
    basis, start = [], 0
    for value in values:
        size = int(np.size(value))
        rows = np.eye(total, dtype=np.dtype(value.dtype))[:, start:start + size]
        basis.append(rows.reshape((total,) + np.shape(value)))
        start += size
    return basis


def _split(block, axis: int, sizes):
    """``block`` cut along ``axis`` into consecutive pieces of ``sizes``."""
    if len(sizes) == 1:
        return [block]
    pieces, start = [], 0
    for size in sizes:
        pieces.append(st.slice_along(block, axis, start, start + size))
        start += size
    return pieces


def _prepare(fun, argnums, args, who, holomorphic=False):
    nums = _args.normalize_argnums(argnums, len(args), who)
    leaves, treedefs = _args.differentiable_leaves(fun, args, nums, who, holomorphic)

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


def _check_outputs(out_leaves, holomorphic: bool, who: str):
    """As JAX: complex outputs need ``holomorphic=True``, which needs complex outputs."""
    for out in out_leaves:
        kind = np.dtype(out.dtype).kind
        if holomorphic and kind != "c":
            raise TypeError(f"{who}: with holomorphic=True the outputs must be complex, but one "
                            f"has dtype {np.dtype(out.dtype).name}")
        if not holomorphic and kind == "c":
            raise TypeError(f"{who}: an output has dtype {np.dtype(out.dtype).name}; the "
                            "Jacobian of a complex output needs holomorphic=True (for a "
                            "holomorphic function), or differentiate its real and imaginary "
                            "parts (fnp.real, fnp.imag) separately")


def jacrev(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian of ``fun`` in reverse mode: one forward pass, then one backward pass
    vectorized (``vmap``) over the rows of the identity, one row per output element.

    Complex inputs of a real function give JAX's conjugate-convention rows (as ``grad``);
    ``holomorphic=True`` takes complex inputs and outputs and gives ``df/dz``. With
    ``has_aux``, ``fun`` returns ``(output, aux)`` and the result is ``(jacobian, aux)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacrev(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    who = f"jacrev of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def jacobian_fun(*args):
        nums, leaves, treedefs, partial_fun, primals = _prepare(fun, argnums, args, who,
                                                                holomorphic)
        if has_aux:
            out, vjp_fn, aux = vjp(lambda *a: _args.aux_pair(partial_fun(*a), who), *primals,
                                   has_aux=True)
        else:
            out, vjp_fn = vjp(partial_fun, *primals)
        out_leaves, out_tree = tree.flatten(out)
        out_leaves = [_args.as_value(o) for o in out_leaves]
        _check_outputs(out_leaves, holomorphic, who)
        out_sizes = [int(np.size(o)) for o in out_leaves]
        total = sum(out_sizes)

        def pullback(*cotangents):
            return tree.leaves(vjp_fn(tree.unflatten(out_tree, cotangents)))

        basis = _identity_basis(out_leaves, total)
        if total == 0:
            rows = [np.zeros((0,) + np.shape(x), x.dtype) for x in leaves]
        elif total == 1:   # a scalar output: one plain backward pass, nothing to vectorize
            rows = [st.reshape(_args.as_value(row), (1,) + np.shape(row))
                    for row in pullback(*[b[0] for b in basis])]
        else:
            rows = vmap(pullback)(*basis)
        # rows[j]: (total, *in_shape_j); the rows of output k are a consecutive run.
        per_input = [_split(block, 0, out_sizes) for block in rows]
        columns = [[pieces[k] for pieces in per_input] for k in range(len(out_leaves))]
        jacobian = _assemble(out_tree, [np.shape(o) for o in out_leaves],
                             [np.shape(x) for x in leaves], columns, treedefs,
                             isinstance(argnums, int))
        return (jacobian, aux) if has_aux else jacobian

    return jacobian_fun


def jacfwd(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Jacobian of ``fun`` in forward mode: one ``jvp`` vectorized (``vmap``) over the
    columns of the identity, one column per input element.

    Inputs must be real, as in JAX, unless ``holomorphic=True`` (complex inputs and outputs:
    ``df/dz``). With ``has_aux``, ``fun`` returns ``(output, aux)`` and the result is
    ``(jacobian, aux)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacfwd(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    who = f"jacfwd of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def jacobian_fun(*args):
        nums, leaves, treedefs, partial_fun, primals = _prepare(fun, argnums, args, who,
                                                                holomorphic)
        if not holomorphic:
            for leaf in leaves:
                if leaf.dtype.kind == "c":
                    raise TypeError(f"{who}: an input has dtype {leaf.dtype.name}; jacfwd "
                                    "needs real inputs (as JAX's), or holomorphic=True for a "
                                    "holomorphic function; jacrev takes complex inputs of a "
                                    "real function")
        primal_tree = tree.structure(tuple(primals))
        in_sizes = [int(np.size(x)) for x in leaves]
        total = sum(in_sizes)
        out_trees = []

        aux_trees = []

        def push(*tangents):
            out = jvp(partial_fun, primals, tree.unflatten(primal_tree, tangents),
                      has_aux=has_aux)
            out_trees.append(tree.structure(out[0]))
            if has_aux:
                aux_leaves, aux_tree = tree.flatten(out[2])
                aux_trees.append(aux_tree)
                return tree.leaves(out[0]), tree.leaves(out[1]), aux_leaves
            return tree.leaves(out[0]), tree.leaves(out[1]), []

        basis = _identity_basis(leaves, total)
        if total == 0:   # no input element: evaluate once for the output structure
            out = partial_fun(*primals)
            if has_aux:
                out, aux = _args.aux_pair(out, who)
                aux_leaves, aux_tree = tree.flatten(aux)
                aux_trees.append(aux_tree)
            out_leaves, out_tree = tree.flatten(out)
            out_leaves = [_args.as_value(o) for o in out_leaves]
            columns = [[np.zeros(np.shape(o) + (0,), x.dtype) for x in leaves]
                       for o in out_leaves]
        else:
            if total == 1:   # a scalar input: one plain forward pass, nothing to vectorize
                out_leaves, tangents, aux_leaves = push(*[b[0] for b in basis])
                tangents = [st.reshape(_args.as_value(t), np.shape(t) + (1,))
                            for t in tangents]
            else:   # the primal output (and aux) does not depend on the tangents: unbatched
                out_leaves, tangents, aux_leaves = vmap(push, out_axes=(None, -1, None))(
                    *basis)
            out_tree = out_trees[0]
            _check_outputs([_args.as_value(o) for o in out_leaves], holomorphic, who)
            # tangents[k]: (*out_shape_k, total); the columns of input j are consecutive.
            columns = [_split(block, np.ndim(block) - 1, in_sizes) for block in tangents]
        jacobian = _assemble(out_tree, [np.shape(o) for o in out_leaves],
                             [np.shape(x) for x in leaves], columns, treedefs,
                             isinstance(argnums, int))
        if has_aux:
            aux = tree.unflatten(aux_trees[0], [_args.to_user(_args.as_value(x))
                                                for x in aux_leaves])
            return jacobian, aux
        return jacobian

    return jacobian_fun


def hessian(fun, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """The Hessian of scalar-valued ``fun``: ``jacfwd(jacrev(fun))`` (with ``has_aux``,
    ``fun`` returns ``(output, aux)`` and the result is ``(hessian, aux)``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.hessian(lambda x: fnp.sum(x ** 3))(fnp.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)
