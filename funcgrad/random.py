"""``fg.random``: explicit, splittable keys and the distributions drawn from them (JAX style).

There is no global generator. A key is a small ``uint32`` array (shape ``(2,)``); every
function takes one and is a pure function of it, so the same key gives the same numbers
eagerly, under ``fg.jit`` and under ``fg.vmap`` (over a batch of keys), and a key passes into
a jitted function like any other array. Use a key once: ``split`` it into fresh keys, or
``fold_in`` a step number, for independent draws.

The bits come from the Threefry-2x32 counter-based generator (``funcgrad/ops/random.py``);
turning them into floats (``uniform``, ``normal``, ``bernoulli``) is ordinary
``funcgrad.numpy`` arithmetic, traced and compiled like the rest of a program. Under ``jit``
the bits, keys, permutations, Bernoulli masks and uniforms on ``[0, 1)`` are bitwise those of
an eager call; float64 normals may differ in the last few bits (compiled code uses funcgrad's
vectorised ``log``/``cos``), and a uniform on another range in the last bit (a fused
multiply-add).

>>> import funcgrad as fg
>>> key = fg.random.key(0)
>>> init_key, dropout_key = fg.random.split(key)
>>> fg.random.normal(init_key, (2, 3)).shape
(2, 3)
>>> bool((fg.random.uniform(dropout_key, (4,)) == fg.random.uniform(dropout_key, (4,))).all())
True
"""
from __future__ import annotations

import math

import numpy as np

from . import numpy as fnp
from .core.array import returning_arrays
from .core.trace import Tracer
from .ops import random as random_ops

__all__ = ["key", "split", "fold_in", "uniform", "normal", "bernoulli", "permutation",
           "random_bits"]

_WORD = 0xFFFFFFFF


def key(seed: int) -> np.ndarray:
    """A new key from an integer seed: ``uint32[2]``, the seed's high and low 32-bit words.

    >>> import funcgrad as fg
    >>> fg.random.key(42)
    array([ 0, 42], dtype=uint32)
    """
    if isinstance(seed, Tracer):
        raise TypeError("fg.random.key: the seed is traced; make keys outside the transformed "
                        "function and pass them in (a key is an array), or derive them inside "
                        "with fg.random.fold_in(key, step)")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"fg.random.key: the seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    return np.array([(seed >> 32) & _WORD, seed & _WORD], dtype=np.uint32)


def _check_key(value, who: str):
    dtype, shape = getattr(value, "dtype", None), np.shape(value)
    if dtype != np.uint32 or shape != (2,):
        got = f"{np.dtype(dtype).name}{list(shape)}" if dtype is not None else \
            type(value).__name__
        hint = (" (a batch of keys: map over it with fg.vmap)"
                if dtype == np.uint32 and shape[-1:] == (2,) else "")
        raise TypeError(f"fg.random.{who}: expected a key, a uint32 array of shape (2,) from "
                        f"fg.random.key(seed) or fg.random.split, got {got}{hint}")
    return value


def _shape(shape, who: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"fg.random.{who}: shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"fg.random.{who}: negative dimension in shape {shape}")
    return shape


def _float_dtype(dtype, who: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"fg.random.{who}: dtype must be a floating type, got {dtype.name}")
    return dtype


def split(key, num: int = 2):
    """``num`` new, independent keys from ``key``: an array of shape ``(num, 2)``.

    >>> import funcgrad as fg
    >>> params_key, data_key = fg.random.split(fg.random.key(0))
    >>> fg.random.split(params_key, 3).shape
    (3, 2)
    """
    _check_key(key, "split")
    if not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"fg.random.split: num must be a non-negative int, got {num!r}")
    return random_ops.random_split(key, int(num))


def fold_in(key, data):
    """A new key from ``key`` and an integer ``data`` (a step or example number; may be
    traced). Different ``data`` give independent keys.

    >>> import funcgrad as fg
    >>> k = fg.random.key(0)
    >>> bool((fg.random.fold_in(k, 1) != fg.random.fold_in(k, 2)).any())
    True
    """
    _check_key(key, "fold_in")
    if isinstance(data, Tracer):
        if data.dtype.kind not in "iu" or data.shape != ():
            raise TypeError(f"fg.random.fold_in: data must be an integer scalar, got "
                            f"{data.aval.short()}")
        data = fnp.astype(data, np.uint32)
    else:
        if isinstance(data, (bool, np.bool_)) or np.asarray(data).dtype.kind not in "iu" or \
                np.ndim(data) != 0:
            raise TypeError(f"fg.random.fold_in: data must be an integer scalar, got {data!r}")
        data = np.uint32(int(data) & _WORD)
    return random_ops.random_fold_in(key, data)


def random_bits(key, shape=()):
    """Random ``uint32`` words of ``shape``: the raw output of the generator.

    >>> import funcgrad as fg
    >>> fg.random.random_bits(fg.random.key(0), (2,)).dtype
    dtype('uint32')
    """
    _check_key(key, "random_bits")
    return random_ops.random_bits(key, _shape(shape, "random_bits"))


def _unit_interval(key, shape: tuple, dtype: np.dtype):
    """float64 values in ``[0, 1)``, multiples of ``2**-m`` where ``m`` is the number of
    significand bits of ``dtype``: exactly representable in ``dtype``, and uniform over its
    grid. Built with exact float64 arithmetic only, so compiled code gives the same values."""
    bits = np.finfo(dtype).nmant + 1
    if bits <= 32:
        words = fnp.astype(random_ops.random_bits(key, shape), np.float64)
        return fnp.floor(words * 2.0 ** (bits - 32)) * 2.0 ** -bits
    # 53 bits from two words, 27 + 26 (NumPy's own recipe for doubles).
    words = fnp.astype(random_ops.random_bits(key, (2,) + shape), np.float64)
    high = fnp.floor(words[0] * 2.0 ** -5)
    low = fnp.floor(words[1] * 2.0 ** -6)
    return (high * 2.0 ** 26 + low) * 2.0 ** -53


def uniform(key, shape=(), dtype=np.float64, minval=0.0, maxval=1.0):
    """Uniform samples in ``[minval, maxval)`` of ``shape`` and ``dtype``.

    Every value is ``minval + u * (maxval - minval)`` with ``u`` uniform over the multiples of
    ``2**-m`` in ``[0, 1)``, ``m`` the significand bits of ``dtype`` (53 for float64).

    >>> import funcgrad as fg
    >>> u = fg.random.uniform(fg.random.key(0), (1000,), minval=-1.0, maxval=1.0)
    >>> bool(u.min() >= -1.0 and u.max() < 1.0)
    True
    """
    _check_key(key, "uniform")
    dtype = _float_dtype(dtype, "uniform")
    unit = fnp.astype(_unit_interval(key, _shape(shape, "uniform"), dtype), dtype)
    low, high = fnp.asarray(minval, dtype), fnp.asarray(maxval, dtype)
    return unit * (high - low) + low


def normal(key, shape=(), dtype=np.float64):
    """Standard normal samples of ``shape`` and ``dtype`` (Box–Muller on two uniforms,
    computed in float64 and rounded once to ``dtype``).

    >>> import funcgrad as fg
    >>> z = fg.random.normal(fg.random.key(0), (10000,))
    >>> bool(abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05)
    True
    """
    _check_key(key, "normal")
    dtype = _float_dtype(dtype, "normal")
    unit = _unit_interval(key, (2,) + _shape(shape, "normal"), dtype)
    radius = fnp.sqrt(-2.0 * fnp.log1p(-unit[0]))   # 1 - u lies in (0, 1]: the log is finite
    return fnp.astype(radius * fnp.cos((2.0 * math.pi) * unit[1]), dtype)


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p`` (a number or an array that broadcasts to
    ``shape``; ``shape`` defaults to ``p``'s). The comparison uses uniforms on the grid of
    ``p``'s dtype (float64 for a Python number).

    >>> import funcgrad as fg
    >>> mask = fg.random.bernoulli(fg.random.key(0), 0.25, (10000,))
    >>> mask.dtype, bool(abs(mask.mean() - 0.25) < 0.02)
    (dtype('bool'), True)
    """
    _check_key(key, "bernoulli")
    p_dtype = getattr(p, "dtype", None)
    dtype = np.dtype(p_dtype) if p_dtype is not None and np.dtype(p_dtype).kind == "f" \
        else np.dtype(np.float64)
    shape = np.shape(p) if shape is None else _shape(shape, "bernoulli")
    return fnp.less(_unit_interval(key, shape, dtype), fnp.astype(p, np.float64))


def permutation(key, x, axis: int = 0):
    """A random permutation: of ``range(x)`` for an int ``x``, otherwise of ``x`` along
    ``axis`` (differentiable in ``x``).

    >>> import funcgrad as fg, numpy as np
    >>> sorted(fg.random.permutation(fg.random.key(0), 5).tolist())
    [0, 1, 2, 3, 4]
    >>> fg.random.permutation(fg.random.key(0), np.arange(10.0).reshape(5, 2)).shape
    (5, 2)
    """
    _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        if x < 0:
            raise ValueError(f"fg.random.permutation: n must be non-negative, got {x}")
        return random_ops.random_permutation(key, int(x))
    x = fnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("fg.random.permutation: x must be an int or an array of rank >= 1")
    axis = int(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"fg.random.permutation: axis {axis} is out of range for shape "
                         f"{x.shape}")
    order = random_ops.random_permutation(key, x.shape[axis])
    return fnp.take(x, order, axis=axis)


for _name in __all__:   # concrete results are Arrays (core.array), as funcgrad.numpy's are
    globals()[_name] = returning_arrays(globals()[_name])
del _name
