"""Traceable control flow: ``cond``, ``scan``, ``fori_loop`` and ``while_loop`` (JAX semantics).

Python's ``if`` and ``for`` on a traced value fail (its value is not known while tracing);
these functions trace their function arguments into sub-programs of one primitive instead
(``funcgrad/ops/control.py``), which every transformation understands: ``grad`` (except
``while_loop``), ``jvp``, ``vmap`` and ``jit`` all go through them, to any nesting.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import tree
from .core.aval import ShapedArray
from .core.errors import ConcretizationError, TracerConversionError, at_user_line
from .core.trace import Tracer
from .ops import control as ctl
from .ops import elementwise as ew
from .transforms import _args


def _flat_values(values):
    leaves, treedef = tree.flatten(values)
    return [_args.as_value(x) for x in leaves], treedef


def _typed(treedef, avals) -> str:
    """A pytree of avals as text, e.g. ``(f64[], [f32[3]])``."""
    return str(tree.unflatten(treedef, [a.short() for a in avals])).replace("'", "")


def _trace(fun, in_tree, in_avals, who: str):
    """Trace ``fun(*args)``, ``args`` tracers of ``in_avals`` structured as the tuple
    ``in_tree``, into a closed program; returns ``(program, consts, out_tree)``."""
    out_trees = []

    def flat(*tracers):
        out_leaves, out_tree = _args.output_values(fun(*tree.unflatten(in_tree, tracers)), who)
        out_trees.append(out_tree)
        return out_leaves

    program, consts = ctl.trace_program(flat, in_avals)
    return program, consts, out_trees[0]


def _outputs(out_tree, values):
    return tree.unflatten(out_tree, [_args.to_user(v) for v in values])


def _as_predicate(value, who: str):
    """A traced scalar as a bool scalar (nonzero is true, as in Python)."""
    if value.shape != ():
        raise TypeError(at_user_line(f"{who}: the predicate must be a scalar, got shape "
                                     f"{value.shape}"))
    if value.dtype != np.bool_:
        value = ew.ne(value, value.dtype.type(0))
    return value


# ------------------------------------------------------------------------------------ cond

def cond(pred, true_fun: Callable, false_fun: Callable, *operands) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, traceable.

    With a traced ``pred`` both branches are traced (they must return the same structure,
    shapes and dtypes) and one runs when the program does; a concrete ``pred`` just calls the
    chosen branch. Under ``vmap`` with a batched ``pred``, each example takes its own branch.

    Args:
      pred: a scalar (bool, or a number: nonzero is true).
      true_fun, false_fun: functions of ``*operands`` (pytrees of arrays).
      operands: the branches' arguments.

    Returns:
      The chosen branch's output.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = lambda x: fg.cond(x > 0, fnp.sin, lambda x: x ** 2, x)
    >>> float(fg.grad(f)(0.0)), float(fg.grad(f)(-1.5))
    (0.0, -3.0)
    """
    if not isinstance(pred, Tracer):
        if np.shape(pred) != ():
            raise TypeError(at_user_line(f"fg.cond: the predicate must be a scalar, got "
                                         f"shape {np.shape(pred)}"))
        return true_fun(*operands) if bool(pred) else false_fun(*operands)
    pred = _as_predicate(pred, "fg.cond")
    leaves, in_tree = _flat_values(operands)
    avals = [_args.aval(x) for x in leaves]
    true_program, true_consts, true_tree = _trace(true_fun, in_tree, avals,
                                                  "fg.cond's true_fun")
    false_program, false_consts, false_tree = _trace(false_fun, in_tree, avals,
                                                     "fg.cond's false_fun")
    if true_tree != false_tree or true_program.out_avals != false_program.out_avals:
        raise TypeError(at_user_line(
            "fg.cond: both branches must return the same structure, shapes and dtypes, but\n"
            f"  true_fun returned  {_typed(true_tree, true_program.out_avals)}\n"
            f"  false_fun returned {_typed(false_tree, false_program.out_avals)}"))
    if not true_program.outvars:
        return tree.unflatten(true_tree, [])
    outs = ctl.bind_cond(pred, [true_program, false_program], [true_consts, false_consts],
                         leaves)
    return _outputs(true_tree, outs)


# ------------------------------------------------------------------------------------ scan

def _scan_length(x_leaves, length, who: str) -> int:
    if length is not None:
        if isinstance(length, Tracer):
            raise ConcretizationError(at_user_line(
                f"{who}: length must be a concrete int, not {length._describe()}"))
        length = operator.index(length)
    lengths = set()
    for x in x_leaves:
        if np.ndim(x) == 0:
            raise TypeError(at_user_line(f"{who}: every leaf of xs is scanned along its "
                                         "leading axis, but one is a scalar"))
        lengths.add(np.shape(x)[0])
    if length is not None:
        lengths.add(length)
    if len(lengths) > 1:
        shapes = [tuple(np.shape(x)) for x in x_leaves]
        raise ValueError(at_user_line(
            f"{who}: the leading axes of xs (shapes {shapes})"
            + (f" and length={length}" if length is not None else "")
            + " must all have the same size"))
    if not lengths:
        raise ValueError(at_user_line(f"{who}: with xs=None, give the number of steps as "
                                      "length="))
    return lengths.pop()


def scan(f: Callable, init, xs=None, length: int | None = None, reverse: bool = False):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return
    ``(carry, ys)`` with the ``y``'s stacked (JAX's ``lax.scan``).

    Args:
      f: a function of ``(carry, x)`` returning ``(new_carry, y)``; ``new_carry`` must have the
        structure, shapes and dtypes of ``init``.
      init: the initial carry (a pytree of arrays).
      xs: a pytree of arrays scanned along axis 0, or ``None`` (then ``x`` is ``None``).
      length: the number of steps, needed when ``xs`` is ``None``.
      reverse: run from the last element to the first (``ys`` keeps the order of ``xs``).

    Returns:
      ``(final_carry, ys)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> def running_product(c, x):
    ...     return c * x, c * x
    >>> fg.scan(running_product, 1.0, fnp.array([1.0, 2.0, 3.0]))
    (array(6.), array([1., 2., 6.]))
    """
    who = "fg.scan"
    carry_leaves, carry_tree = _flat_values(init)
    x_leaves, x_tree = _flat_values(xs)
    length = _scan_length(x_leaves, length, who)
    carry_avals = [_args.aval(c) for c in carry_leaves]
    x_avals = [ShapedArray(a.shape[1:], a.dtype) for a in map(_args.aval, x_leaves)]
    num_carry = len(carry_leaves)
    y_trees = []

    def flat(*tracers):
        out = f(tree.unflatten(carry_tree, tracers[:num_carry]),
                tree.unflatten(x_tree, tracers[num_carry:]))
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(at_user_line(f"{who}: f must return a pair (carry, y), but it "
                                         f"returned {type(out).__name__}"))
        new_leaves, new_tree = _args.output_values(out[0], f"{who}'s f (carry)")
        if new_tree != carry_tree:
            raise TypeError(at_user_line(
                f"{who}: f must return a carry of the structure of init, {carry_tree}, but "
                f"it returned {new_tree}"))
        y_leaves, y_tree = _args.output_values(out[1], f"{who}'s f (y)")
        y_trees.append(y_tree)
        return new_leaves + y_leaves

    body, consts = ctl.trace_program(flat, carry_avals + x_avals)
    new_carry = body.out_avals[:num_carry]
    if new_carry != carry_avals:
        raise TypeError(at_user_line(
            f"{who}: f must return a carry of the same shapes and dtypes as init, but\n"
            f"  init is           {_typed(carry_tree, carry_avals)}\n"
            f"  f returned carry  {_typed(carry_tree, new_carry)}\n"
            "Cast the initial carry (or the new one) so that they agree."))
    if not body.outvars:
        return init, tree.unflatten(y_trees[0], [])
    outs = ctl.bind_scan(body, consts, [], carry_leaves, x_leaves, length=length,
                         reverse=bool(reverse))
    return (_outputs(carry_tree, outs[:num_carry]), _outputs(y_trees[0], outs[num_carry:]))


def fori_loop(lower, upper, body_fun: Callable, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; return ``val``.

    With concrete bounds (Python or NumPy ints, or values known under ``grad``) the loop is a
    ``scan`` over the indices; with traced bounds (arguments of ``jit``, batched by ``vmap``)
    it is a ``while_loop``, as in JAX. Both are differentiable in both modes.

    >>> import funcgrad as fg
    >>> float(fg.fori_loop(0, 3, lambda i, x: x * 2.0, 1.5))
    12.0
    >>> float(fg.jit(lambda n: fg.fori_loop(0, n, lambda i, x: x * 2.0, 1.5))(3))
    12.0
    """
    bounds = [_fori_bound(name, bound) for name, bound in (("lower", lower), ("upper", upper))]
    if any(isinstance(bound, Tracer) for bound in bounds):
        def body(carry):
            index, stop, val = carry
            return index + np.int64(1), stop, body_fun(index, val)

        return while_loop(lambda carry: carry[0] < carry[1], body, (*bounds, init_val))[2]
    lower, upper = bounds
    indices = np.arange(lower, max(lower, upper), dtype=np.int64)
    carry, _ = scan(lambda val, i: (body_fun(i, val), None), init_val, indices)
    return carry


def _fori_bound(name: str, bound):
    """A bound of ``fori_loop`` as a Python int where it is known, else an int64 tracer."""
    if not isinstance(bound, Tracer):
        try:
            return operator.index(bound)
        except TypeError:
            raise TypeError(at_user_line(
                f"fg.fori_loop: the {name} bound must be an int, got {bound!r} of type "
                f"{type(bound).__name__}; convert it with int(...)")) from None
    if bound.dtype.kind not in "iu" or bound.shape:
        raise TypeError(at_user_line(
            f"fg.fori_loop: the {name} bound must be an integer scalar, but it is "
            f"{bound._describe()}; convert it with .astype(int)"))
    try:
        return operator.index(bound)   # known under grad on concrete inputs
    except (ConcretizationError, TracerConversionError):
        return bound if bound.dtype == np.int64 else ew.convert(bound, np.dtype(np.int64))


# ------------------------------------------------------------------------------ while_loop

def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """``while cond_fun(val): val = body_fun(val)``; return ``val`` (JAX semantics).

    Differentiable in both modes, unlike JAX's: reverse mode (``grad``, ``vjp``) counts the
    trips (at once on concrete inputs; under ``jit``, ``vmap`` or inside another loop, when
    the program runs) and differentiates a ``scan`` of that many steps, storing what each
    step's derivative reads.

    >>> import funcgrad as fg
    >>> int(fg.while_loop(lambda n: n < 10, lambda n: n * 3, 1))
    27
    """
    who = "fg.while_loop"
    leaves, args_tree = _flat_values((init_val,))
    carry_tree = tree.structure(init_val)
    avals = [_args.aval(x) for x in leaves]

    def predicate(val):
        return _as_predicate(_args.as_value(cond_fun(val)), who)

    condition, condition_consts, _ = _trace(predicate, args_tree, avals, f"{who}'s cond_fun")
    body, body_consts, out_tree = _trace(body_fun, args_tree, avals, f"{who}'s body_fun")
    if out_tree != carry_tree or body.out_avals != avals:
        raise TypeError(at_user_line(
            f"{who}: body_fun must return a value of the structure, shapes and dtypes of "
            f"init_val, but\n  init_val is         {_typed(carry_tree, avals)}\n"
            f"  body_fun returned   {_typed(out_tree, body.out_avals)}"))
    if not leaves:
        return init_val
    outs = ctl.bind_while(condition, condition_consts, body, body_consts, leaves)
    return _outputs(carry_tree, outs)
