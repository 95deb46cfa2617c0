"""``Array``: the NumPy array that funcgrad hands back, which also behaves like JAX's.

An ``Array`` *is* an ``np.ndarray`` (``isinstance`` holds, NumPy functions take it, it prints
as NumPy's): only a view of the same memory with three additions, for code ported from JAX:

- it takes traced indices: ``a[i]`` with ``i`` traced (inside ``fori_loop``, ``scan`` or
  ``jit``) records the gather, as a traced array would (``a = fnp.arange(10);
  fg.fori_loop(0, 10, lambda i, s: s + a[i], 0.0)``);
- ``a.at[idx].get()``, ``.set(v)``, ``.add(v)``, ``.multiply(v)`` (``.mul``), ``.min(v)`` and
  ``.max(v)`` return updated copies;
- ``a.block_until_ready()`` returns ``a`` (NumPy has computed it already).

funcgrad's functions return it (``funcgrad.numpy`` on concrete arrays, every transformation,
``jit``); inside funcgrad it is unwrapped to a plain ndarray at the boundary, so that NumPy's
loops run at full speed on plain arrays (a ufunc on an ndarray subclass costs ~0.5 us more per
call).
"""
from __future__ import annotations

import numpy as np

from .trace import Tracer


class Array(np.ndarray):
    """A NumPy array that also takes traced indices and has ``.at`` (see the module)."""

    __slots__ = ()

    def __getitem__(self, key):
        if _traced(key):
            from ..numpy._indexing import getitem
            return getitem(self.view(np.ndarray), key)
        return np.ndarray.__getitem__(self, key)

    @property
    def at(self):
        """Functional updates: ``a.at[idx].set(v)``, ``.add(v)``, ``.multiply(v)``, ``.min(v)``,
        ``.max(v)``, ``.get()``."""
        from ..numpy._indexing import at
        return at(self.view(np.ndarray))

    def block_until_ready(self) -> Array:
        """``self``: NumPy computes eagerly (for timing code written for JAX)."""
        return self

    def __repr__(self):
        return repr(self.view(np.ndarray))


def _traced(key) -> bool:
    """Whether an index expression holds a traced value (also as a slice bound)."""
    for k in key if type(key) is tuple else (key,):
        if isinstance(k, Tracer) or (type(k) is slice and any(
                isinstance(b, Tracer) for b in (k.start, k.stop, k.step))):
            return True
    return False


def to_array(value):
    """``value`` as an ``Array`` where it is an n-d ndarray; anything else as it is."""
    return value.view(Array) if type(value) is np.ndarray and value.ndim else value


def block_until_ready(tree):
    """``tree`` itself: every array funcgrad returns is computed already (JAX's name, for
    timing code)."""
    return tree
