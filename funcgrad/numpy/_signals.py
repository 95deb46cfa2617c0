"""Differences and correlation: ``gradient``, ``ediff1d`` and ``correlate``.

Each is NumPy's on concrete arrays; traced, it is slices, arithmetic and ``convolve``, so
it is differentiable (to every order) in the data and, for ``gradient``, in the spacing.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from . import _elementwise as el
from ._core import asarray_or_tracer, cast, common_dtype, normalize_axes
from ._core import traced as _traced
from ._math import _slice, conj, convolve
from ._shape import concatenate, flip, ravel, reshape

__all__ = ["gradient", "ediff1d", "correlate"]



def _spacings(varargs, axes, shape, who):
    """One spacing per axis: a scalar step, or the coordinates along it."""
    if len(varargs) == 0:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if len(varargs) != len(axes):
        raise TypeError(f"{who}: invalid number of spacing arguments ({len(varargs)}): give "
                        f"none, one scalar, or one per axis ({len(axes)})")
    out = []
    for spacing, axis in zip(varargs, axes):
        spacing = asarray_or_tracer(spacing)
        if np.ndim(spacing) == 0:
            out.append(spacing)
            continue
        if np.ndim(spacing) != 1:
            raise ValueError(f"{who}: distances must be either scalars or 1d")
        if np.shape(spacing)[0] != shape[axis]:
            raise ValueError(f"{who}: when 1d, distances must match the length of the "
                             "corresponding dimension")
        out.append(spacing)
    return out


def _along(x, axis, ndim):
    """A 1-d ``x`` shaped to broadcast along ``axis`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[axis] = np.shape(x)[0]
    return reshape(x, shape)


def _uniform_derivative(f, axis, dx, edge_order, n):
    """The derivative along ``axis`` with the scalar step ``dx``."""
    def part(start, stop):
        return _slice(f, axis, start, stop)
    interior = el.true_divide(el.subtract(part(2, n), part(0, n - 2)), el.multiply(2.0, dx))
    if edge_order == 1:
        first = el.true_divide(el.subtract(part(1, 2), part(0, 1)), dx)
        last = el.true_divide(el.subtract(part(n - 1, n), part(n - 2, n - 1)), dx)
    else:
        first = el.true_divide(el.add(el.add(el.multiply(-1.5, part(0, 1)),
                                             el.multiply(2.0, part(1, 2))),
                                      el.multiply(-0.5, part(2, 3))), dx)
        last = el.true_divide(el.add(el.add(el.multiply(0.5, part(n - 3, n - 2)),
                                            el.multiply(-2.0, part(n - 2, n - 1))),
                                     el.multiply(1.5, part(n - 1, n))), dx)
    return concatenate([first, interior, last], axis)


def _three_point(f, axis, weights, start, length):
    """``a f[i] + b f[i + 1] + c f[i + 2]`` along ``axis`` for ``i`` in ``start`` to
    ``start + length``, for the weights ``(a, b, c)`` (``length`` long along it)."""
    total = None
    for k, weight in enumerate(weights):
        term = el.multiply(weight, _slice(f, axis, start + k, start + k + length))
        total = term if total is None else el.add(total, term)
    return total


def _coordinate_derivative(f, axis, coordinates, edge_order, n, ndim):
    """The derivative along ``axis`` at the (not necessarily even) ``coordinates``."""
    steps = _along(el.subtract(_slice(coordinates, 0, 1, n), _slice(coordinates, 0, 0, n - 1)),
                   axis, ndim)

    def step(start, stop):
        return _slice(steps, axis, start, stop)
    dx1, dx2 = step(0, n - 2), step(1, n - 1)
    both = el.add(dx1, dx2)
    interior = _three_point(f, axis, (
        el.negative(el.true_divide(dx2, el.multiply(dx1, both))),
        el.true_divide(el.subtract(dx2, dx1), el.multiply(dx1, dx2)),
        el.true_divide(dx1, el.multiply(dx2, both))), 0, n - 2)
    if edge_order == 1:
        first = el.true_divide(el.subtract(_slice(f, axis, 1, 2), _slice(f, axis, 0, 1)),
                               step(0, 1))
        last = el.true_divide(el.subtract(_slice(f, axis, n - 1, n),
                                          _slice(f, axis, n - 2, n - 1)), step(n - 2, n - 1))
    else:
        dx1, dx2 = step(0, 1), step(1, 2)
        both = el.add(dx1, dx2)
        first = _three_point(f, axis, (
            el.negative(el.true_divide(el.add(el.multiply(2.0, dx1), dx2),
                                       el.multiply(dx1, both))),
            el.true_divide(both, el.multiply(dx1, dx2)),
            el.negative(el.true_divide(dx1, el.multiply(dx2, both)))), 0, 1)
        dx1, dx2 = step(n - 3, n - 2), step(n - 2, n - 1)
        both = el.add(dx1, dx2)
        last = _three_point(f, axis, (
            el.true_divide(dx2, el.multiply(dx1, both)),
            el.negative(el.true_divide(both, el.multiply(dx1, dx2))),
            el.true_divide(el.add(el.multiply(2.0, dx2), dx1), el.multiply(dx2, both))), n - 3, 1)
    return concatenate([first, interior, last], axis)


def gradient(f, *varargs, axis=None, edge_order=1):
    """``numpy.gradient``: the derivative of the samples ``f`` along each axis, by central
    differences inside and one-sided ones (of ``edge_order`` 1 or 2) at the ends; spacing
    is one scalar, or one scalar or coordinate array per axis. Differentiable in ``f`` and
    in the spacing.

    >>> gradient(np.array([1.0, 4.0, 9.0, 16.0])).tolist()
    [3.0, 4.0, 6.0, 7.0]
    """
    if not _traced(f, *varargs):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = asarray_or_tracer(f)
    ndim, shape = np.ndim(f), np.shape(f)
    axes = normalize_axes(axis, ndim, "gradient") if not isinstance(axis, (list, tuple)) \
        else tuple(normalize_axis_index(a, ndim, "gradient") for a in axis)
    if edge_order not in (1, 2):
        raise ValueError("gradient: 'edge_order' greater than 2 not supported")
    spacings = _spacings(varargs, axes, shape, "gradient")
    dtype = f.dtype if np.issubdtype(f.dtype, np.inexact) else np.dtype(np.float64)
    f = cast(f, dtype)
    outputs = []
    for ax, spacing in zip(axes, spacings):
        n = shape[ax]
        if n < edge_order + 1:
            raise ValueError("gradient: Shape of array too small to calculate a numerical "
                             "gradient, at least (edge_order + 1) elements are required.")
        if np.ndim(spacing) == 0:
            derivative = _uniform_derivative(f, ax, spacing, edge_order, n)
        else:
            spacing = cast(spacing, common_dtype(spacing, 1.0)) if np.dtype(
                spacing.dtype).kind in "biu" else spacing
            derivative = _coordinate_derivative(f, ax, spacing, edge_order, n, ndim)
        outputs.append(cast(derivative, dtype))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def ediff1d(ary, to_end=None, to_begin=None):
    """``numpy.ediff1d``: the differences between consecutive elements of the flattened
    ``ary``, with ``to_begin``/``to_end`` joined on (in ``ary``'s dtype).

    >>> ediff1d(np.array([1, 4, 9]), to_begin=0).tolist()
    [0, 3, 5]
    """
    if not _traced(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end, to_begin)
    flat = ravel(asarray_or_tracer(ary))
    n = np.shape(flat)[0]
    parts = [el.subtract(_slice(flat, 0, 1, n), _slice(flat, 0, 0, max(n - 1, 0)))]
    for extra, at_start in ((to_begin, True), (to_end, False)):
        if extra is None:
            continue
        extra = asarray_or_tracer(extra)
        if not np.can_cast(extra.dtype, flat.dtype, "same_kind"):
            raise TypeError(f"ediff1d: dtype of `{'to_begin' if at_start else 'to_end'}` "
                            "must be compatible with input `ary` under the `same_kind` rule.")
        extra = ravel(cast(extra, flat.dtype))
        parts.insert(0, extra) if at_start else parts.append(extra)
    return concatenate(parts) if len(parts) > 1 else parts[0]


def correlate(a, v, mode="valid"):
    """``numpy.correlate``: the cross-correlation of two 1-d arrays,
    ``c[k] = sum_n a[n + k] * conj(v[n])``; ``mode`` is 'valid' (the default), 'same' or
    'full'. Differentiable in both (a ``convolve`` with ``v`` reversed and conjugated).

    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0]), "full").tolist()
    [1.0, 2.0, 3.0, 0.0]
    """
    if not _traced(a, v):
        return np.correlate(a, v, mode)
    a, v = asarray_or_tracer(a), asarray_or_tracer(v)
    if np.ndim(a) != 1 or np.ndim(v) != 1:
        raise ValueError("correlate: object too deep for desired array (1-d arrays only)")
    if np.shape(v)[0] > np.shape(a)[0]:
        # NumPy correlates the longer with the shorter and reverses: the same 'same' window.
        return conj(flip(convolve(v, conj(flip(a)), mode)))
    return convolve(a, conj(flip(v)), mode)
