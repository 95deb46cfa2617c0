"""Summary statistics of ``jax.scipy.stats``: ``mode``, ``rankdata`` and ``sem``, traceable
(their shapes depend only on the input's shape). ``mode`` and ``rankdata`` sort along the axis
and find each value's run of equal values with ``searchsorted``; they are step functions, with
derivative 0 (``mode``'s value is an element of ``a``, so its derivative is that element's).
Only ``nan_policy="propagate"`` is implemented, as in JAX.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from ... import numpy as fnp
from ...core.array import returning_arrays
from ...core.trace import Tracer
from ...transforms.vmap import vmap

ModeResult = collections.namedtuple("ModeResult", ["mode", "count"])

_RANK_METHODS = ("average", "min", "max", "dense", "ordinal")


def _array(a):
    return a if type(a) is Tracer else np.asarray(a)


def _check_nan_policy(function: str, nan_policy: str):
    if nan_policy != "propagate":
        raise ValueError(f"{function}: nan_policy={nan_policy!r} is not implemented; only "
                         "'propagate' is (as in JAX): drop the nans first, or mask the result")


def _rows(a, axis):
    """``a`` with ``axis`` moved last and the other axes flattened into one: ``(rows, n)``,
    and the shape of those other axes (``axis=None``: all of ``a`` is one row)."""
    if axis is None:
        return fnp.reshape(a, (1, -1)), ()
    moved = fnp.moveaxis(a, axis, -1)
    batch = tuple(fnp.shape(moved)[:-1])
    return fnp.reshape(moved, (math.prod(batch), fnp.shape(moved)[-1])), batch


def _run_bounds(sorted_row, row):
    """For each element of ``row``: where its run of equal values starts and ends in
    ``sorted_row`` (``searchsorted`` left and right)."""
    return (fnp.searchsorted(sorted_row, row, side="left"),
            fnp.searchsorted(sorted_row, row, side="right"))


def mode(a, axis: int | None = 0, nan_policy: str = "propagate", keepdims: bool = False):
    """The most frequent value along ``axis`` (the smallest of those tied) and how often it
    occurs, as ``ModeResult(mode, count)`` (``scipy.stats.mode``; ``axis=None``: over all of
    ``a``; count as int64). A nan counts as a value (sorted last).

    >>> import numpy as np
    >>> result = mode(np.array([[1, 2, 2, 3], [3, 3, 1, 1]]), axis=1)
    >>> result.mode.tolist(), result.count.tolist()
    ([2, 1], [2, 2])
    """
    _check_nan_policy("mode", nan_policy)
    a = _array(a)
    if fnp.size(a) == 0:
        raise ValueError("mode: a is empty; there is no most frequent value")
    rows, batch = _rows(a, axis)
    sorted_rows = fnp.sort(rows, axis=-1)
    start, end = vmap(_run_bounds)(sorted_rows, sorted_rows)
    counts = end - start
    # the first maximum of the counts in sorted order: the smallest of the most frequent
    best = fnp.expand_dims(fnp.argmax(counts, axis=-1), -1)
    values = fnp.take_along_axis(sorted_rows, best, axis=-1)[:, 0]
    count = fnp.astype(fnp.take_along_axis(counts, best, axis=-1)[:, 0], np.int64)
    if axis is None:
        shape = (1,) * fnp.ndim(a) if keepdims else ()
    else:
        position = axis % fnp.ndim(a)
        shape = batch[:position] + (1,) + batch[position:] if keepdims else batch
    return ModeResult(fnp.reshape(values, shape), fnp.reshape(count, shape))


def rankdata(a, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate"):
    """The ranks, from 1, of the elements of ``a`` (``scipy.stats.rankdata``), along ``axis``
    (``None``: of all of ``a``, flattened, as the result is). Ties get the ``method``'s rank:
    ``"average"`` their mean rank, ``"min"``/``"max"`` the lowest/highest, ``"dense"`` the rank
    among the distinct values, ``"ordinal"`` their order of appearance. A slice holding a nan
    is all nan. As in JAX, the ranks are floats of ``a``'s floating dtype (float64 for
    integer inputs), so that a nan fits in every method.

    >>> import numpy as np
    >>> rankdata(np.array([10, 30, 20, 20])).tolist()
    [1.0, 4.0, 2.5, 2.5]
    >>> rankdata(np.array([10, 30, 20, 20]), "dense").tolist()
    [1.0, 3.0, 2.0, 2.0]
    """
    _check_nan_policy("rankdata", nan_policy)
    if method not in _RANK_METHODS:
        raise ValueError(f"rankdata: unknown method {method!r}; use one of {_RANK_METHODS}")
    a = _array(a)
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    rows, batch = _rows(a, axis)
    sorted_rows = fnp.sort(rows, axis=-1)
    start, end = vmap(_run_bounds)(sorted_rows, rows)
    if method == "average":
        ranks = fnp.astype(start + end + 1, dtype) * 0.5
    elif method == "min":
        ranks = start + 1
    elif method == "max":
        ranks = end
    elif method == "ordinal":
        ranks = fnp.argsort(fnp.argsort(rows, axis=-1, kind="stable"), axis=-1,
                            kind="stable") + 1
    else:   # dense: how many runs start at or before this element's run
        first = fnp.concatenate([fnp.ones_like(sorted_rows[:, :1], dtype=bool),
                                 sorted_rows[:, 1:] != sorted_rows[:, :-1]], axis=-1)
        runs = fnp.cumsum(fnp.astype(first, np.int64), axis=-1)
        ranks = fnp.take_along_axis(runs, start, axis=-1)
    ranks = fnp.astype(ranks, dtype)
    has_nan = fnp.any(fnp.isnan(rows), axis=-1, keepdims=True) if dtype.kind == "f" else None
    if has_nan is not None:
        ranks = fnp.where(has_nan, np.nan, ranks).astype(dtype)
    if axis is None:
        return ranks[0]
    return fnp.moveaxis(fnp.reshape(ranks, batch + (fnp.shape(a)[axis],)), -1, axis)


def sem(a, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False):
    """The standard error of the mean along ``axis``: ``std(a, ddof) / sqrt(n)``
    (``scipy.stats.sem``; ``axis=None``: of all of ``a``).

    >>> import numpy as np
    >>> round(float(sem(np.array([1.0, 2.0, 3.0, 4.0]))), 12)
    0.645497224368
    """
    _check_nan_policy("sem", nan_policy)
    a = _array(a)
    if a.dtype.kind != "f":
        a = fnp.astype(a, np.float64)
    count = fnp.size(a) if axis is None else fnp.shape(a)[axis]
    return fnp.std(a, axis=axis, ddof=ddof, keepdims=keepdims) / math.sqrt(count)


mode = returning_arrays(mode)
rankdata = returning_arrays(rankdata)
sem = returning_arrays(sem)
