"""Set functions of 1-d arrays: isin, intersect1d, setdiff1d, setxor1d, union1d, and the
array API's unique_all, unique_counts, unique_inverse, unique_values.

``isin`` is elementwise (a comparison with every test element) and takes traced values.
The others return as many elements as the values say. On concrete arrays they are NumPy's
(the ``unique_*`` results sorted, as ``unique``'s and jax.numpy's are, where NumPy 2.4 leaves
the order of ``unique_values`` to its hashing). Traced with known values (under ``grad``)
they give NumPy's values, gathered from the inputs so that they carry the derivative; traced
with unknown values (``jit``, ``vmap``) they need ``size=``: the first ``size`` values, padded
with ``fill_value`` (default: the smallest value found), as in jax.numpy.

The traced set operations sort the candidates, keep each value's first occurrence, and keep
those that the operation selects (in both inputs, in the first only, in exactly one), as
``compress`` with ``size=`` does.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.trace import Tracer
from ..ops import structural as st
from . import _elementwise as el
from ._core import asarray_or_tracer, cast, common_dtype
from ._core import traced as _traced

__all__ = ["isin", "intersect1d", "setdiff1d", "setxor1d", "union1d", "unique_all",
           "unique_counts", "unique_inverse", "unique_values"]


class UniqueAllResult(NamedTuple):
    """What ``unique_all`` returns (the array API's names)."""
    values: object
    indices: object
    inverse_indices: object
    counts: object


class UniqueCountsResult(NamedTuple):
    """What ``unique_counts`` returns."""
    values: object
    counts: object


class UniqueInverseResult(NamedTuple):
    """What ``unique_inverse`` returns."""
    values: object
    inverse_indices: object



def _flat(x):
    x = asarray_or_tracer(x)
    return st.reshape(x, (x.size,)) if isinstance(x, Tracer) else np.ravel(x)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """``numpy.isin``: whether each of ``element`` is among ``test_elements`` (a boolean
    array of ``element``'s shape); ``invert`` negates it."""
    if not _traced(element, test_elements):
        return np.isin(element, test_elements, assume_unique, invert, kind=kind)
    from ._reductions import any as any_
    from ._shape import reshape
    if kind not in (None, "sort", "table"):
        raise ValueError(f"isin: kind must be None, 'sort' or 'table', got {kind!r}")
    element, tests = asarray_or_tracer(element), _flat(test_elements)
    if tests.shape[0] == 0:
        found = np.zeros(np.shape(element), np.bool_)
    else:
        dtype = common_dtype(element, tests)
        column = reshape(cast(element, dtype), np.shape(element) + (1,))
        found = any_(el.equal(column, cast(tests, dtype)), axis=-1)
    return el.logical_not(found) if invert else found


def _selected(who, candidates, select, size, fill_value):
    """The sorted ``candidates`` where ``select``: all of them where the selection is known,
    else the first ``size``, padded with ``fill_value`` (default: the first one kept)."""
    from ._editing import _sized
    from ._shape import take
    if size and np.shape(candidates)[0] == 0:
        # No candidates: every place is padding (0 by default, as on concrete arrays).
        return np.full(size, 0 if fill_value is None else fill_value, candidates.dtype)
    positions, valid = _sized(who, select, size, fill_value,
                              "its selection")
    picked = take(candidates, positions)
    if valid is None or picked.shape[0] == 0:   # (size=0: nothing to fill)
        return picked
    fill = picked[0] if fill_value is None else cast(fill_value, picked.dtype)
    return el.where(valid, picked, fill)


def _first_occurrences(ordered):
    """Where each value of the sorted 1-d ``ordered`` is met first."""
    from ._shape import concatenate
    if ordered.shape[0] == 0:
        return np.zeros(0, np.bool_)
    return concatenate([np.ones(1, np.bool_), el.not_equal(ordered[1:], ordered[:-1])])


def _concrete_sized(values, size, fill_value):
    """NumPy's result cut or padded to ``size``."""
    if size is None:
        return values
    out = np.resize(values, size) if len(values) else np.zeros(size, values.dtype)
    fill = values[0] if fill_value is None and len(values) else (fill_value or 0)
    out[len(values):] = fill
    return out


def _sorted_union(ar1, ar2):
    from ._shape import concatenate
    from ._sorting import sort
    a, b = _flat(ar1), _flat(ar2)
    dtype = common_dtype(a, b)
    return sort(concatenate([cast(a, dtype), cast(b, dtype)]))


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """``numpy.union1d``: the sorted values in either array."""
    if not _traced(ar1, ar2):
        return _concrete_sized(np.union1d(ar1, ar2), size, fill_value)
    ordered = _sorted_union(ar1, ar2)
    return _selected("union1d", ordered, _first_occurrences(ordered), size, fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    """``numpy.intersect1d``: the sorted values in both arrays (with ``return_indices``,
    where each is first met in each array)."""
    if not _traced(ar1, ar2):
        out = np.intersect1d(ar1, ar2, assume_unique, return_indices)
        if not return_indices:
            return _concrete_sized(out, size, fill_value)
        return (_concrete_sized(out[0], size, fill_value),
                *(_concrete_sized(i, size, 0) for i in out[1:]))
    from ._shape import take
    from ._sorting import argsort
    a, b = _flat(ar1), _flat(ar2)
    dtype = common_dtype(a, b)
    a, b = cast(a, dtype), cast(b, dtype)
    order = argsort(a, kind="stable")
    ordered = take(a, order)
    select = el.logical_and(_first_occurrences(ordered), isin(ordered, b))
    values = _selected("intersect1d", ordered, select, size, fill_value)
    if not return_indices:
        return values
    in_a = _selected("intersect1d", order, select, size, 0)
    # each value's first place in b: the smallest position where b holds it
    from ._reductions import argmax
    from ._shape import reshape
    matches = el.equal(reshape(values, (values.shape[0], 1)), b)
    in_b = argmax(matches, axis=1) if b.shape[0] else np.zeros(values.shape[0], np.int64)
    return values, in_a, cast(in_b, np.int64)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """``numpy.setdiff1d``: the sorted values of ``ar1`` that are not in ``ar2``."""
    if not _traced(ar1, ar2):
        return _concrete_sized(np.setdiff1d(ar1, ar2, assume_unique), size, fill_value)
    from ._sorting import sort
    ordered = sort(_flat(ar1))
    select = el.logical_and(_first_occurrences(ordered), isin(ordered, ar2, invert=True))
    return _selected("setdiff1d", ordered, select, size, fill_value)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """``numpy.setxor1d``: the sorted values in exactly one of the arrays."""
    if not _traced(ar1, ar2):
        return _concrete_sized(np.setxor1d(ar1, ar2, assume_unique), size, fill_value)
    ordered = _sorted_union(ar1, ar2)
    once = el.not_equal(isin(ordered, ar1), isin(ordered, ar2))
    return _selected("setxor1d", ordered, el.logical_and(_first_occurrences(ordered), once),
                     size, fill_value)


def _unique(x, size, fill_value, **wanted):
    from ._sorting import unique
    return unique(x, equal_nan=False, size=size, fill_value=fill_value, **wanted)


def unique_values(x, /, *, size=None, fill_value=None):
    """The array API's ``unique_values``: the sorted distinct values of ``x`` (NaNs apart)."""
    return _unique(x, size, fill_value)


def unique_counts(x, /, *, size=None, fill_value=None):
    """The array API's ``unique_counts``: ``(values, counts)``."""
    return UniqueCountsResult(*_unique(x, size, fill_value, return_counts=True))


def _inverse_shaped(x, inverse):
    from ._shape import reshape
    return reshape(inverse, np.shape(x))


def unique_inverse(x, /, *, size=None, fill_value=None):
    """The array API's ``unique_inverse``: ``(values, inverse_indices)``, the inverse of
    ``x``'s shape."""
    values, inverse = _unique(x, size, fill_value, return_inverse=True)
    return UniqueInverseResult(values, _inverse_shaped(x, inverse))


def unique_all(x, /, *, size=None, fill_value=None):
    """The array API's ``unique_all``: ``(values, indices, inverse_indices, counts)``."""
    values, index, inverse, counts = _unique(x, size, fill_value, return_index=True,
                                             return_inverse=True, return_counts=True)
    return UniqueAllResult(values, index, _inverse_shaped(x, inverse), counts)
