"""Argument plumbing shared by the transformations: argnums, pytree leaves, names, outputs."""
from __future__ import annotations

import inspect
import weakref

import numpy as np

from .. import tree
from ..core.array import Array
from ..core.aval import ShapedArray, aval_of
from ..core.errors import at_user_line
from ..core.trace import Tracer, trace_to_ir


def normalize_argnums(argnums, num_args: int, who: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative ints, checked against the call's arguments."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    out = []
    for num in nums:
        if not isinstance(num, int) or isinstance(num, bool):
            raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -num_args <= num < num_args:
            raise ValueError(f"{who}: argnums={argnums!r} but the function was called with "
                             f"{num_args} positional argument(s)")
        out.append(num % num_args)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums {argnums!r} repeats an argument")
    return tuple(out)


_positional_names_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _positional_names(fun) -> tuple:
    """The names of ``fun``'s positional parameters, in order (empty where its signature
    cannot be had); kept per function (``inspect.signature`` costs ~15 us, and vmap names
    every argument of every call)."""
    try:
        return _positional_names_of[fun]
    except (KeyError, TypeError):
        pass
    names = []
    try:
        for param in inspect.signature(fun).parameters.values():
            if param.kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                  inspect.Parameter.POSITIONAL_OR_KEYWORD):
                break
            names.append(param.name)
    except (TypeError, ValueError):
        pass
    names = tuple(names)
    try:
        _positional_names_of[fun] = names
    except TypeError:   # not weakly referenceable: worked out each time
        pass
    return names


def describe_argument(fun, index: int, path=()) -> str:
    """``"argument 1 ('y')"``, with a pytree path when the argument is a container."""
    names = _positional_names(fun)
    name = f" ('{names[index]}')" if index < len(names) else ""
    where = f" leaf {tree.path_str(path)}" if path else ""
    return f"argument {index}{name}{where}"


_SCALAR_TYPES = {float: np.float64, int: np.int64, bool: np.bool_}
PYTHON_NUMBERS = frozenset({bool, int, float, complex})


def mark_weak(tracers, weak) -> None:
    """Mark the tracers of Python numbers weak (``weak``: one flag per tracer), so that NumPy's
    promotion treats them as the Python numbers they stand for."""
    for tracer, is_weak in zip(tracers, weak):
        if is_weak:
            tracer._weak = True


class UnsupportedLeaf(TypeError):
    """A pytree leaf that is not an array or a number (``as_value`` could not take it)."""

    def __init__(self, leaf):
        super().__init__(f"cannot trace a value of type {type(leaf).__name__}")
        self.leaf = leaf


def as_value(leaf):
    """A leaf as an array, NumPy scalar or tracer: Python floats become float64, ints int64.

    Raises ``UnsupportedLeaf`` for anything that is not an array or a number (an object, a
    string): callers name the argument (``unsupported_argument``)."""
    kind = type(leaf)
    if kind is Tracer or kind is np.ndarray or isinstance(leaf, np.generic):
        return leaf
    if kind is Array:   # computed on as a plain ndarray (see core.array), 0-d as a scalar
        return plain(leaf)
    scalar = _SCALAR_TYPES.get(kind)
    if scalar is not None:
        return scalar(leaf)
    try:
        value = np.asarray(leaf)
    except Exception:
        raise UnsupportedLeaf(leaf) from None
    if value.dtype.kind not in "biufc":
        raise UnsupportedLeaf(leaf)
    return value


def output_values(out, who: str) -> tuple[list, tree.PyTreeDef]:
    """The leaves of ``out``, an output of a function being transformed, as values (``as_value``)
    and its tree; a leaf that is no array or number is a ``TypeError`` that names where it is
    in the output and what to do."""
    leaves, treedef = tree.flatten(out)
    try:
        return [as_value(x) for x in leaves], treedef
    except UnsupportedLeaf as error:
        where = next((tree.path_str(path) for path, leaf in tree.leaves_with_path(out)
                      if leaf is error.leaf), "")
        kind = type(error.leaf)
        raise TypeError(at_user_line(
            f"{who}: the function returned a {kind.__module__}.{kind.__qualname__} "
            f"(output{where}), which cannot be traced: outputs must be arrays, numbers, or "
            "pytrees of them. Compute it outside the transformed function, or register its "
            "class as a pytree node (fg.tree.register_pytree_node) so that its arrays become "
            "leaves.")) from None


def argument_values(who: str, fun, args, leaves) -> list:
    """``as_value`` of each leaf of ``args``, naming the argument of one it cannot take."""
    try:
        return [as_value(x) for x in leaves]
    except UnsupportedLeaf as error:
        raise unsupported_argument(who, fun, args, {}, error.leaf,
                                   ways="close over it instead of passing it (lambda x: "
                                        "f(x, value)), or register its class as a pytree "
                                        "node (fg.tree.register_pytree_node)") from None


_WAYS = ("mark it static (fg.jit(f, static_argnums=...) / static_argnames=...), or register "
         "its class as a pytree node (fg.tree.register_pytree_node) so that its arrays become "
         "leaves")


def unsupported_argument(who: str, fun, args, kwargs, leaf, statics=(),
                         ways: str = _WAYS) -> TypeError:
    """The error for ``leaf``, found in ``args``/``kwargs``: it names the argument (its position,
    name and pytree path), its type, and the two ways out."""
    where = "an argument"
    for index, arg in enumerate(args):
        if index in statics:
            continue
        for path, value in tree.leaves_with_path(arg):
            if value is leaf:
                where = describe_argument(fun, index, path)
                break
        else:
            continue
        break
    else:
        for name, arg in kwargs.items():
            if any(value is leaf for _, value in tree.leaves_with_path(arg)):
                where = f"keyword argument '{name}'"
                break
    return TypeError(
        f"{who}: {where} is a {type(leaf).__module__}.{type(leaf).__qualname__}, which cannot "
        "be traced: arguments must be arrays, numbers, or pytrees of them (tuples, lists, "
        f"dicts, None, namedtuples, registered classes). Either {ways}.")


def aval(value) -> ShapedArray:
    return value.aval if type(value) is Tracer else aval_of(value)


LEAF = tree.structure(0.0)
_PLAIN_LEAVES = {float: np.float64, np.float64: None, np.float32: None, np.ndarray: None,
                 Array: None}


def differentiable_leaves(fun, args, argnums, who: str, holomorphic: bool = False):
    """Flatten the differentiated arguments; each leaf must be a floating array (real or
    complex; complex only with ``holomorphic``).

    Returns ``(leaves, treedefs)``: all leaves in order and one treedef per argnum.
    """
    leaves, treedefs = [], []
    for num in argnums:
        arg = args[num]
        if type(arg) in _PLAIN_LEAVES and not holomorphic and (
                type(arg) is float or arg.dtype.kind == "f"):
            leaves.append(np.float64(arg) if type(arg) is float else
                          plain(arg) if type(arg) is Array else arg)   # the common case
            treedefs.append(LEAF)
            continue
        if type(arg) is Tracer and not holomorphic and arg._var.aval.dtype.kind == "f":
            leaves.append(arg)   # a float of an enclosing transformation (grad of grad)
            treedefs.append(LEAF)
            continue
        arg_leaves, treedef = tree.flatten(arg)
        for position, leaf in enumerate(arg_leaves):
            try:
                value = as_value(leaf)
            except UnsupportedLeaf:
                raise unsupported_argument(
                    who, fun, args, {}, leaf, ways="leave it out of argnums, or register its "
                    "class as a pytree node (fg.tree.register_pytree_node)") from None
            kind = value.dtype.kind
            if kind != "c" if holomorphic else kind not in "fc":
                paths = [p for p, _ in tree.leaves_with_path(args[num])]
                what = describe_argument(fun, num, paths[position] if treedef.num_leaves > 1
                                         or paths[position] else ())
                if holomorphic:
                    raise TypeError(
                        f"{who}: {what} has dtype {np.dtype(value.dtype).name}; with "
                        "holomorphic=True every differentiated input must be complex (convert "
                        "with .astype(complex)), as in JAX.")
                raise TypeError(
                    f"{who}: {what} has dtype {np.dtype(value.dtype).name}; only floating "
                    "inputs (real or complex) can be differentiated. Pass a float (2.0, not "
                    "2) or convert with .astype(float), or leave it out of argnums.")
            leaves.append(value)
        treedefs.append(treedef)
    return leaves, treedefs


def substitute(args, argnums, treedefs, leaves):
    """``args`` with each differentiated argument rebuilt from ``leaves``."""
    new_args = list(args)
    start = 0
    for num, treedef in zip(argnums, treedefs):
        if treedef is LEAF:
            new_args[num] = leaves[start]
            start += 1
            continue
        stop = start + treedef.num_leaves
        new_args[num] = tree.unflatten(treedef, leaves[start:stop])
        start = stop
    return new_args


def split_per_argnum(treedefs, leaves):
    out, start = [], 0
    for treedef in treedefs:
        if treedef is LEAF:
            out.append(leaves[start])
            start += 1
            continue
        stop = start + treedef.num_leaves
        out.append(tree.unflatten(treedef, leaves[start:stop]))
        start = stop
    return out


def plain(array: Array):
    """What funcgrad computes on for an ``Array``: the ndarray it views, or for a 0-d one the
    NumPy scalar it holds (as funcgrad's own 0-d values are, and compiled kernels take)."""
    value = array.view(np.ndarray)
    return value if value.ndim else value[()]


def to_user(value):
    """What the user gets back: an ``Array`` (a NumPy array that also takes traced indices),
    0-d results too (never NumPy scalars, as in JAX); tracers as they are. A read-only view
    (an eager cotangent broadcast from a sum) becomes an array of its own."""
    kind = type(value)
    if kind is np.ndarray:
        return value.view(Array) if value.flags.writeable else value.copy().view(Array)
    if kind is Tracer or kind is Array:
        return value
    return np.asarray(value).view(Array)


def ones_like(value):
    if isinstance(value, np.generic):
        return value.dtype.type(1)
    return np.ones(np.shape(value), value.dtype)


def zeros_like(value):
    if isinstance(value, np.generic):
        return value.dtype.type(0)
    return np.zeros(np.shape(value), value.dtype)


def fitted_leaves(who: str, kind: str, values, like_tree, likes, like_kind: str) -> list:
    """The leaves of ``values`` (tangents or cotangents) checked against ``likes`` (the
    leaves, arrays or avals, they go with): the same tree and shapes, each cast to its like's
    dtype; None where the like is not differentiable (no tangent flows there)."""
    from ..core.aval import is_differentiable
    from ..ops import elementwise as ew
    leaves, value_tree = tree.flatten(values)
    if value_tree != like_tree:
        raise ValueError(f"{who}: the {kind}s have structure {value_tree}, but the "
                         f"{like_kind}s have structure {like_tree}")
    fitted = []
    for i, (value, like) in enumerate(zip(leaves, likes)):
        value = as_value(value)
        if np.shape(value) != tuple(like.shape):
            raise ValueError(f"{who}: {kind} leaf {i} has shape {np.shape(value)}, but its "
                             f"{like_kind} has shape {tuple(like.shape)}")
        dtype = like.dtype
        fitted.append(None if not is_differentiable(dtype) else
                      value if value.dtype == dtype else ew.convert(value, dtype))
    return fitted


def aux_pair(out, who: str) -> tuple:
    """``(output, aux)`` from what a function given with ``has_aux=True`` returned."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(at_user_line(
            f"{who}: has_aux=True needs the function to return a pair (output, aux), but it "
            f"returned {type(out).__name__}"))
    return tuple(out)


def split_aux(fun, who: str):
    """``(wrapped, trees)`` for a function given with ``has_aux=True``: ``wrapped`` returns its
    checked pair ``(output, aux)``, and ``trees``, filled when it is traced, is the list
    ``[output tree, aux tree]``, so that the flat outputs split at ``trees[0].num_leaves``."""
    trees = []

    def wrapped(*args):
        out, aux = aux_pair(fun(*args), who)
        trees[:] = [tree.structure(out), tree.structure(aux)]
        return out, aux
    return wrapped, trees


def trace_of_leaves(fun, in_tree, leaves, who: str):
    """``(ir, out_tree)``: the IR of ``fun`` called on the pytree ``in_tree`` of ``leaves``,
    traced knowing their values (Python control flow follows them), and its output's tree."""
    out_trees = []

    def flat_fun(*tracers):
        out_leaves, out_tree = output_values(fun(*tree.unflatten(in_tree, tracers)), who)
        out_trees.append(out_tree)
        return out_leaves

    ir = trace_to_ir(flat_fun, [aval(x) for x in leaves], args=leaves)
    return ir, out_trees[0]
