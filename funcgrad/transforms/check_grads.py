"""``check_grads``: analytic derivatives against central differences, to any order."""
from __future__ import annotations

import numpy as np

from .. import tree
from ..core.aval import is_differentiable
from . import _args
from .jvp import jvp
from .vjp import vjp

# (step, absolute tolerance, relative tolerance) for central differences in each dtype.
_DEFAULTS = {np.dtype(np.float64): (1e-4, 1e-5, 1e-5),
             np.dtype(np.float32): (3e-3, 5e-3, 5e-3),
             np.dtype(np.float16): (3e-2, 5e-2, 5e-2),
             np.dtype(np.complex128): (1e-4, 1e-5, 1e-5),
             np.dtype(np.complex64): (3e-3, 5e-3, 5e-3)}


def _settings(dtype, eps, atol, rtol):
    default_eps, default_atol, default_rtol = _DEFAULTS.get(np.dtype(dtype), _DEFAULTS[np.dtype(
        np.float64)])
    return (default_eps if eps is None else eps, default_atol if atol is None else atol,
            default_rtol if rtol is None else rtol)


def _float_leaves(values):
    return [np.asarray(x, dtype=float) if np.asarray(x).dtype.kind not in "fc"
            else np.asarray(x) for x in tree.leaves(values)]


def _random_like(rng, x):
    """A random direction (or cotangent) of ``x``'s shape and dtype; complex ones move the
    real and the imaginary parts both."""
    shape, dtype = np.shape(x), np.dtype(x.dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _pairing(a, b) -> float:
    """``Re(sum(a * b))``: the real pairing under which funcgrad's (and JAX's) reverse rules
    transpose complex linear maps (no conjugation)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "c" and b.dtype.kind != "c":
        return float(np.sum(a.astype(np.float64) * b.astype(np.float64)))
    return float(np.real(np.sum(a.astype(np.complex128) * b.astype(np.complex128))))


def _numerical_derivative(fun, args, position, direction, eps):
    """Central difference of ``fun`` at ``args`` along ``direction`` in flat leaf ``position``."""
    leaves, treedef = tree.flatten(tuple(args))

    def shifted(sign):
        moved = list(leaves)
        x = _args.as_value(leaves[position])
        moved[position] = (x + x.dtype.type(sign * eps) * direction).astype(x.dtype)
        return _float_leaves(fun(*tree.unflatten(treedef, moved)))

    plus, minus = shifted(+1), shifted(-1)
    return [(p.astype(_wide(p)) - m.astype(_wide(m))) / (2 * eps) for p, m in zip(plus, minus)]


def _wide(x):
    return np.complex128 if x.dtype.kind == "c" else np.float64


def _fail(mode, order, where, analytic, numerical, atol, rtol):
    raise AssertionError(
        f"check_grads: the {mode}-mode derivative of order {order} with respect to {where} "
        f"disagrees with central differences (atol={atol}, rtol={rtol}):\n"
        f"  analytic:  {np.array2string(np.asarray(analytic), precision=8)}\n"
        f"  numerical: {np.array2string(np.asarray(numerical), precision=8)}")


def _check_first_order(fun, args, modes, order, eps, atol, rtol, rng, describe):
    leaves, treedef = tree.flatten(tuple(args))
    leaves = [_args.as_value(x) for x in leaves]
    out = fun(*tree.unflatten(treedef, leaves))
    out_leaves = _float_leaves(out)
    cotangents = [_random_like(rng, o) for o in out_leaves]
    pullback = vjp(fun, *tree.unflatten(treedef, leaves))[1] if "rev" in modes else None
    reverse = tree.leaves(pullback(tree.unflatten(tree.structure(out), cotangents))) \
        if pullback else None
    for position, x in enumerate(leaves):
        if not is_differentiable(x.dtype):
            continue
        step, abs_tol, rel_tol = _settings(x.dtype, eps, atol, rtol)
        direction = _random_like(rng, x)
        # The structured arguments: ``position`` counts the leaves of all of them.
        numerical = _numerical_derivative(fun, tree.unflatten(treedef, leaves), position,
                                          direction, step)
        where = describe(position)
        if "fwd" in modes:
            tangents = [np.zeros(np.shape(v), v.dtype) for v in leaves]
            tangents[position] = direction
            _, tangent_out = jvp(fun, tree.unflatten(treedef, leaves),
                                 tree.unflatten(treedef, tangents))
            for analytic, expected in zip(_float_leaves(tangent_out), numerical):
                if not np.allclose(analytic, expected, atol=abs_tol, rtol=rel_tol):
                    _fail("forward", order, where, analytic, expected, abs_tol, rel_tol)
        if "rev" in modes:
            analytic = _pairing(reverse[position], direction)
            expected = sum(_pairing(c, n) for c, n in zip(cotangents, numerical))
            scale = max(1.0, float(np.sqrt(np.size(x))))
            if not abs(analytic - expected) <= scale * abs_tol + rel_tol * abs(expected):
                _fail("reverse", order, where, analytic, expected, abs_tol, rel_tol)


def check_grads(fun, args, order: int = 2, modes=("fwd", "rev"), atol=None, rtol=None,
                eps=None, seed: int = 0) -> None:
    """Check ``fun``'s derivatives up to ``order`` against central differences.

    Each argument is perturbed on its own along a random direction, so a failure names the
    argument. Orders above one check the derivative functions themselves (jvp of jvp, vjp of
    vjp, and their mixtures).

    Raises:
      AssertionError: naming the mode, order and argument that disagree.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.check_grads(fnp.sin, (0.5,), order=2)
    """
    if isinstance(modes, str):
        modes = (modes,)
    unknown = set(modes) - {"fwd", "rev"}
    if unknown:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {sorted(unknown)}")
    args = tuple(args)
    rng = np.random.default_rng(seed)
    treedef = tree.structure(args)
    paths = [p for p, _ in tree.leaves_with_path(args)]

    def describe(position):
        path = paths[position]
        index = path[0]
        return _args.describe_argument(fun, index, path[1:])

    def check(f, level):
        _check_first_order(f, args, modes, level, eps, atol, rtol, rng, describe)
        if level >= order:
            return
        leaves = [_args.as_value(x) for x in tree.leaves(args)]
        directions = [_random_like(rng, x)
                      if is_differentiable(x.dtype) else np.zeros(np.shape(x), x.dtype)
                      for x in leaves]
        if "fwd" in modes:
            def derivative_fwd(*a, f=f):
                return jvp(f, a, tree.unflatten(treedef, directions))[1]
            check(derivative_fwd, level + 1)
        if "rev" in modes:
            out = f(*args)
            cotangent = tree.unflatten(tree.structure(out), [
                _random_like(rng, o) for o in _float_leaves(out)])

            def derivative_rev(*a, f=f):
                return vjp(f, *a)[1](cotangent)
            check(derivative_rev, level + 1)

    check(fun, 1)
