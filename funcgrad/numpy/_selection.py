"""Partial and lexicographic sorting: ``partition``, ``argpartition`` and ``lexsort``.

NumPy promises of ``partition(a, kth)`` only that the element at each ``kth`` is the one a
full sort would put there, with no greater element before it and no smaller one after; the
order inside each side is unspecified. Traced, the result is the full stable sort, which
keeps that promise: a gather through the sorting permutation, so its derivative is
``sort``'s (the cotangent is scattered back through the permutation, to every order).
"""
from __future__ import annotations

import operator

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import Tracer
from ._core import _contains_tracer, asarray_or_tracer
from ._shape import broadcast_arrays, ravel
from ._sorting import _argsort, _lexicographic_order, _take_along

__all__ = ["partition", "argpartition", "lexsort"]


def _check_kth(kth, length: int, who: str):
    """``kth`` (an integer or a sequence of them, concrete) within an axis of ``length``."""
    if isinstance(kth, Tracer) or (isinstance(kth, (list, tuple)) and _contains_tracer(kth)):
        raise ConcretizationError(at_user_line(
            f"{who}: kth is {kth._describe() if isinstance(kth, Tracer) else 'traced'}; it "
            "must be a concrete integer (or sequence of integers), as in JAX"))
    try:
        positions = [operator.index(k) for k in np.ravel(kth)]
    except TypeError:
        raise TypeError(f"{who}: kth must be an integer or a sequence of integers, got "
                        f"{kth!r}") from None
    for k in positions:
        if not -length <= k < length:
            raise ValueError(f"{who}: kth(={k}) out of bounds ({length})")


def _prepared(a, kth, axis, kind, order, who):
    if order is not None:
        raise TypeError(f"{who}: order= (fields of a structured array) is not supported on "
                        "traced arrays")
    if kind != "introselect":
        raise ValueError(f"{who}: kind must be 'introselect', got {kind!r}")
    if axis is None:
        a, axis = ravel(a), 0
    if a.ndim == 0:
        raise np.exceptions.AxisError(f"{who}: axis {axis} is out of bounds for array of "
                                      "dimension 0")
    axis = normalize_axis_index(axis, a.ndim, who)
    _check_kth(kth, a.shape[axis], who)
    return a, axis


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``numpy.partition``: ``a`` rearranged along ``axis`` (flattened for None) so that each
    ``kth`` element is where a sort puts it, the smaller ones before it, the larger after.

    Traced, the whole axis is sorted (one arrangement NumPy allows); differentiable as
    ``sort``: each element's derivative is that of the input element it came from.

    >>> import funcgrad as fg
    >>> x = np.array([3.0, 1.0, 2.0])
    >>> float(fg.grad(lambda v: partition(v, 1)[1])(x)[2])
    1.0
    """
    if not isinstance(a, Tracer):
        return np.partition(a, kth, axis, kind, order)
    a, axis = _prepared(a, kth, axis, kind, order, "partition")
    return _take_along(a, _argsort(a, axis), axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """``numpy.argpartition``: the indices that partition ``a`` (see ``partition``); traced,
    the stable sorting permutation. Integer result, no derivative."""
    if not isinstance(a, Tracer):
        return np.argpartition(a, kth, axis, kind, order)
    a, axis = _prepared(a, kth, axis, kind, order, "argpartition")
    return _argsort(a, axis)


def lexsort(keys, axis=-1):
    """``numpy.lexsort``: the stable permutation that sorts by several keys, the last key
    the primary one (the rows of a 2-d array, or a sequence of arrays of one shape).
    Integer result, no derivative.

    >>> lexsort((np.array([2, 1, 0]), np.array([1, 0, 1]))).tolist()
    [1, 2, 0]
    """
    if not _contains_tracer([keys]):
        return np.lexsort(keys, axis)
    if isinstance(keys, Tracer):
        if keys.ndim == 0:
            raise TypeError("lexsort: keys must be a sequence of arrays or an array of at "
                            "least one dimension")
        keys = [keys[i] for i in range(keys.shape[0])]
    keys = [asarray_or_tracer(k) for k in keys]
    if not keys:
        raise TypeError("lexsort: need a sequence of keys with len > 0")
    shapes = {np.shape(k) for k in keys}
    if len(shapes) > 1:
        raise ValueError(f"lexsort: all keys need to be the same shape, got {sorted(shapes)}")
    keys = broadcast_arrays(*keys) if len(keys) > 1 else keys
    ndim = np.ndim(keys[0])
    if ndim == 0:
        return np.int64(0)
    axis = normalize_axis_index(axis, ndim, "lexsort")
    return _lexicographic_order([_real_key(k) for k in keys], axis)


def _real_key(key):
    if np.dtype(key.dtype).kind == "c":
        raise TypeError("lexsort: complex keys are not supported on traced arrays; pass their "
                        "real and imaginary parts as two keys")
    return key
