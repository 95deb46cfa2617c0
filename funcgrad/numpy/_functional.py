"""Functions that apply a function: ``apply_along_axis``, ``apply_over_axes`` and
``vectorize``.

As in ``jax.numpy``, ``apply_along_axis`` and ``vectorize`` are built on ``fg.vmap``: the
function is traced once on one slice and batched, so it runs as one program (under ``jit``
too) and is differentiable wherever the function is. ``vectorize`` falls back to NumPy's
Python loop where the function is not traceable (Python control flow on the values) and the
arguments are concrete.
"""
from __future__ import annotations

import functools
import math
import re

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.array import returning_arrays
from ..core.errors import ConcretizationError, TracerConversionError
from ..core.trace import Tracer
from ._core import _contains_tracer, asarray_or_tracer, cast
from ._shape import broadcast_to, expand_dims, reshape

__all__ = ["apply_along_axis", "apply_over_axes", "vectorize"]


def _vmap(fun, in_axes=0, out_axes=0):
    from ..transforms.vmap import vmap
    return vmap(fun, in_axes, out_axes)


def apply_along_axis(func1d, axis: int, arr, *args, **kwargs):
    """``numpy.apply_along_axis``: ``func1d`` applied to each 1-d slice of ``arr`` along
    ``axis``; the axes of its result take the place of ``axis``. Traced, ``func1d`` is
    batched with ``vmap`` (one trace, one program), as in JAX.

    >>> apply_along_axis(lambda row: row.max() - row.min(), 1, np.array([[1, 5], [2, 3]]))
    array([4, 1])
    """
    if not isinstance(arr, Tracer):
        return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
    ndim = arr.ndim
    axis = normalize_axis_index(axis, ndim, "apply_along_axis")

    def func(row):
        return func1d(row, *args, **kwargs)
    # The axes after ``axis`` are mapped from the back (the result's axes stay in front of
    # them), then the axes before it from the front.
    for i in range(1, ndim - axis):
        func = _vmap(func, in_axes=i, out_axes=-1)
    for _ in range(axis):
        func = _vmap(func, in_axes=0, out_axes=0)
    return func(arr)


def apply_over_axes(func, a, axes):
    """``numpy.apply_over_axes``: ``func(a, axis)`` for each of ``axes`` in turn, each
    result (with the reduced axis put back, as length 1) the next one's input.

    >>> apply_over_axes(np.sum, np.arange(6).reshape(2, 3), [0, 1]).tolist()
    [[15]]
    """
    if not isinstance(a, Tracer):
        return np.apply_over_axes(func, a, axes)
    value = a
    for axis in np.atleast_1d(np.asarray(axes)).tolist():
        axis = axis + a.ndim if axis < 0 else axis
        result = func(value, axis)
        if np.ndim(result) != np.ndim(value):
            result = expand_dims(result, axis)
            if np.ndim(result) != np.ndim(value):
                raise ValueError("apply_over_axes: function is not returning an array of "
                                 "the correct shape")
        value = result
    return value


# ---------------------------------------------------------------------------- vectorize

_DIMENSION = r"\w+"
_CORE = rf"\((?:{_DIMENSION}(?:,{_DIMENSION})*)?\)"
_CORES = rf"{_CORE}(?:,{_CORE})*"
_SIGNATURE = re.compile(rf"^{_CORES}->{_CORES}$")


def _parse_signature(signature: str):
    """A gufunc signature ``'(m,n),(n)->(m)'`` as the core dimension names of each input
    and of each output."""
    signature = re.sub(r"\s+", "", signature)
    if not _SIGNATURE.match(signature):
        raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
    inputs, outputs = signature.split("->")

    def cores(side):
        return [tuple(re.findall(_DIMENSION, group)) for group in re.findall(_CORE, side)]
    return cores(inputs), cores(outputs)


class vectorize:
    """``numpy.vectorize``: ``pyfunc`` broadcast over its array arguments, as a NumPy
    ufunc (each call sees elements) or, with ``signature`` ('(n),(n)->()'), a generalized
    ufunc (each call sees the core dimensions). Arguments named (by position or keyword) in
    ``excluded`` are passed unchanged.

    Built on ``fg.vmap``: the function is traced once and batched over the broadcast loop
    dimensions, so it works under ``jit``/``grad`` and runs as one program. Where it cannot
    be traced (Python control flow on values) and the arguments are concrete, NumPy's own
    loop runs it. ``otypes`` casts the results.

    >>> vectorize(lambda a, b: a * b + 1.0)(np.array([1.0, 2.0]), 3.0)
    array([4., 7.])
    >>> vectorize(lambda v: v.sum(), signature="(n)->()")(np.ones((2, 3)))
    array([3., 3.])
    """

    def __new__(cls, pyfunc=np._NoValue, otypes=None, doc=None, excluded=None, cache=False,
                signature=None):
        if pyfunc is np._NoValue:   # used as a decorator with options
            return functools.partial(cls, otypes=otypes, doc=doc, excluded=excluded,
                                     cache=cache, signature=signature)
        return super().__new__(cls)

    def __init__(self, pyfunc=np._NoValue, otypes=None, doc=None, excluded=None, cache=False,
                 signature=None):
        if not callable(pyfunc):
            raise TypeError(f"vectorize: pyfunc must be callable, got {pyfunc!r}")
        self.pyfunc = pyfunc
        self.otypes = otypes
        self.excluded = frozenset(excluded or ())
        self.cache = cache
        self.signature = signature
        self._cores = None if signature is None else _parse_signature(signature)
        if isinstance(otypes, str):
            otypes = list(otypes)
        self._otypes = None if otypes is None else [np.dtype(t) for t in otypes]
        self.__doc__ = pyfunc.__doc__ if doc is None else doc
        self.__name__ = getattr(pyfunc, "__name__", "vectorized")

    @returning_arrays
    def __call__(self, *args, **kwargs):
        try:
            return self._batched(args, kwargs)
        except (ConcretizationError, TracerConversionError):
            if _contains_tracer(list(args) + list(kwargs.values())):
                raise
        return np.vectorize(self.pyfunc, self.otypes, self.__doc__, self.excluded or None,
                            self.cache, self.signature)(*args, **kwargs)

    def _batched(self, args, kwargs):
        positions = [i for i in range(len(args)) if i not in self.excluded]
        names = [k for k in kwargs if k not in self.excluded]
        operands = [asarray_or_tracer(args[i]) for i in positions] + \
            [asarray_or_tracer(kwargs[k]) for k in names]

        def core(*values):
            full = list(args)
            for i, value in zip(positions, values):
                full[i] = value
            keywords = dict(kwargs, **dict(zip(names, values[len(positions):])))
            return self.pyfunc(*full, **keywords)

        if self._cores is None:
            in_cores, out_cores = [()] * len(operands), None
        else:
            in_cores, out_cores = self._cores
            if len(in_cores) != len(operands):
                raise TypeError(f"vectorize: wrong number of positional arguments: expected "
                                f"{len(in_cores)}, got {len(operands)}")
        sizes = _core_sizes(operands, in_cores)
        loop = np.broadcast_shapes(*[np.shape(x)[:np.ndim(x) - len(c)]
                                     for x, c in zip(operands, in_cores)])
        count = math.prod(loop)
        flat = [reshape(broadcast_to(x, loop + np.shape(x)[np.ndim(x) - len(c):]),
                        (count,) + np.shape(x)[np.ndim(x) - len(c):])
                for x, c in zip(operands, in_cores)]
        if count == 0:
            raise ValueError("vectorize: cannot vectorize over a zero-size loop (there is no "
                             "element to trace the function on)")
        results = _vmap(core)(*flat) if loop else core(*[reshape(x, np.shape(x)[1:])
                                                         for x in flat])
        single = not isinstance(results, tuple)
        results = (results,) if single else results
        if out_cores is not None:
            _check_outputs(results, out_cores, sizes, 1 if loop else 0)
        if self._otypes is not None:
            if len(self._otypes) != len(results):
                raise ValueError(f"vectorize: otypes names {len(self._otypes)} outputs, the "
                                 f"function returned {len(results)}")
            results = tuple(cast(r, t) for r, t in zip(results, self._otypes))
        results = tuple(reshape(r, loop + np.shape(r)[1:]) if loop else r for r in results)
        return results[0] if single else results


def _core_sizes(operands, in_cores) -> dict:
    """The size of each named core dimension, checked to agree across the inputs."""
    sizes: dict = {}
    for x, names in zip(operands, in_cores):
        if np.ndim(x) < len(names):
            raise ValueError(f"vectorize: an input has {np.ndim(x)} dimensions, fewer than "
                             f"its core dimensions {names!r} in the signature")
        for name, size in zip(names, np.shape(x)[np.ndim(x) - len(names):]):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"vectorize: inconsistent size for core dimension {name!r}: "
                                 f"{size} vs {sizes[name]}")
    return sizes


def _check_outputs(results, out_cores, sizes, batched: int):
    if len(results) != len(out_cores):
        raise ValueError(f"vectorize: the function returned {len(results)} outputs, the "
                         f"signature names {len(out_cores)}")
    for result, names in zip(results, out_cores):
        shape = np.shape(result)[batched:]
        if len(shape) != len(names):
            raise ValueError(f"vectorize: an output has {len(shape)} core dimensions, the "
                             f"signature names {len(names)} ({names!r})")
        for name, size in zip(names, shape):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"vectorize: inconsistent size for core dimension {name!r} "
                                 f"of an output: {size} vs {sizes[name]}")
