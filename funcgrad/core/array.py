"""``Array``: the NumPy array that funcgrad hands back, which also behaves like JAX's.

An ``Array`` *is* an ``np.ndarray`` (``isinstance`` holds, NumPy functions take it, it prints
as NumPy's): only a view of the same memory with a few additions, for code ported from JAX:

- it takes traced indices: ``a[i]`` with ``i`` traced (inside ``fori_loop``, ``scan`` or
  ``jit``) records the gather, as a traced array would (``a = fnp.arange(10);
  fg.fori_loop(0, 10, lambda i, s: s + a[i], 0.0)``);
- ``a.at[idx].get()``, ``.set(v)``, ``.add(v)``, ``.multiply(v)`` (``.mul``), ``.min(v)`` and
  ``.max(v)`` return updated copies;
- ``a.block_until_ready()`` returns ``a`` (NumPy has computed it already);
- ``a.aval``, the abstract value (shape and dtype) a traced array has too.

A 0-d result is a 0-d ``Array`` too, never a NumPy scalar (as in JAX): it has every method a
traced value has (``v.dot(w)``, ``v.at``, ``v.reshape(1)``), and NumPy keeps it an ``Array``
through arithmetic and ufuncs (``v * 2.0``, ``np.sin(v)``). Where NumPy itself would give a
scalar (``a[0]``, ``a.dot(b)``, ``a.argmax()``, ``a.trace()``, ``a.take(0)``, iteration), an
``Array`` gives a 0-d ``Array``. It is a number as NumPy's 0-d arrays are: ``float()``,
``int()``, ``bool()``, ``round()``, formatting and comparisons work, and it hashes as its
number (as ``np.float64`` does: ``set(a)`` of an ``Array`` works); but it is not a Python
``float`` (``isinstance(v, float)`` is false, as for any ndarray).

funcgrad's functions return it (``funcgrad.numpy`` on concrete arrays, every transformation,
``jit``, ``fg.random``); inside funcgrad it is unwrapped at the boundary to the plain ndarray
it views (a 0-d one to the NumPy scalar it holds), so that NumPy's loops run at full speed on
plain arrays (a ufunc on an ndarray subclass costs ~0.5 us more per call). Making a 0-d
``Array`` costs ~0.3 us more than a NumPy scalar: once per result, never per operation.
"""
from __future__ import annotations

import functools

import numpy as np

from .aval import ShapedArray
from .trace import Tracer


class Array(np.ndarray):
    """A NumPy array that also takes traced indices and has ``.at`` (see the module)."""

    __slots__ = ()

    def __getitem__(self, key):
        if _traced(key):
            from ..numpy._indexing import getitem
            return getitem(self.view(np.ndarray), key)
        out = np.ndarray.__getitem__(self, key)
        return _asarray(out).view(Array) if isinstance(out, np.generic) else out

    @property
    def at(self):
        """Functional updates: ``a.at[idx].set(v)``, ``.add(v)``, ``.multiply(v)``, ``.min(v)``,
        ``.max(v)``, ``.get()``."""
        from ..numpy._indexing import at
        return at(self.view(np.ndarray))

    @property
    def aval(self) -> ShapedArray:
        """The abstract value: shape and dtype (as a traced value's ``aval``)."""
        return ShapedArray(self.shape, self.dtype)

    def block_until_ready(self) -> Array:
        """``self``: NumPy computes eagerly (for timing code written for JAX)."""
        return self

    def __repr__(self):
        return repr(self.view(np.ndarray))

    # NumPy's methods that return a NumPy scalar where the result is 0-d: a 0-d Array instead.
    def dot(self, b, out=None):
        return to_array(np.ndarray.dot(self, b, out))

    def trace(self, *args, **kwargs):
        return to_array(np.ndarray.trace(self, *args, **kwargs))

    def argmax(self, *args, **kwargs):
        return to_array(np.ndarray.argmax(self, *args, **kwargs))

    def argmin(self, *args, **kwargs):
        return to_array(np.ndarray.argmin(self, *args, **kwargs))

    def take(self, *args, **kwargs):
        return to_array(np.ndarray.take(self, *args, **kwargs))

    def round(self, *args, **kwargs):
        return to_array(np.ndarray.round(self, *args, **kwargs))

    def searchsorted(self, *args, **kwargs):
        return to_array(np.ndarray.searchsorted(self, *args, **kwargs))

    # Python's number protocol where ndarray lacks it (np.float64 has it, as a float).
    def __round__(self, ndigits=None):
        if ndigits is None and not self.ndim:
            return round(self.item())   # an int, as round() of a float or np.float64 gives
        return np.round(self, ndigits or 0)

    def __trunc__(self):
        return self.item().__trunc__()

    def __hash__(self):
        # A 0-d Array stands where NumPy scalars stood (set(np.unique(a)), dict keys, static
        # arguments of jit): it hashes as its number, as np.float64 does; n-d ones cannot.
        if self.ndim:
            raise TypeError("unhashable type: 'Array' (of more than 0 dimensions)")
        return hash(self.item())


_asarray = np.asarray


def _traced(key) -> bool:
    """Whether an index expression holds a traced value (also as a slice bound)."""
    for k in key if type(key) is tuple else (key,):
        if isinstance(k, Tracer) or (type(k) is slice and any(
                isinstance(b, Tracer) for b in (k.start, k.stop, k.step))):
            return True
    return False


def to_array(value):
    """``value`` as an ``Array`` where it is an ndarray or a NumPy scalar (as a 0-d Array);
    anything else (a tracer, a tuple) as it is."""
    kind = type(value)
    if kind is np.ndarray:
        return value.view(Array)
    if isinstance(value, np.generic):
        return _asarray(value).view(Array)
    return value


def returning_arrays(function):
    """``function``, with a concrete result as an ``Array``: an ndarray or a NumPy scalar (as a
    0-d ``Array``), and each array of a tuple or list of them (``split``, ``linalg.eigh``)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        out = function(*args, **kwargs)
        kind = type(out)
        if kind is Tracer or kind is Array:   # traced, or NumPy kept the Array (a ufunc)
            return out
        if kind is np.ndarray:
            return out.view(Array)
        return _as_arrays(out)
    return wrapper


def _as_arrays(out):
    if isinstance(out, tuple):
        items = [to_array(item) for item in out]
        return type(out)._make(items) if hasattr(out, "_fields") else type(out)(items)
    if type(out) is list:
        return [to_array(item) for item in out]
    return to_array(out)


def block_until_ready(tree):
    """``tree`` itself: every array funcgrad returns is computed already (JAX's name, for
    timing code)."""
    return tree
