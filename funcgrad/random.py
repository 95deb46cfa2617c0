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

Beyond those, the distributions of ``jax.random`` with its signatures (key first, then the
parameters, ``shape=``, ``dtype=``): ``randint categorical choice rademacher poisson geometric``
(integers), ``exponential laplace logistic gumbel cauchy lognormal pareto weibull_min maxwell
double_sided_maxwell truncated_normal multivariate_normal orthogonal ball`` (transformations of
uniforms and normals, differentiable in their parameters), and ``gamma loggamma chisquare beta
dirichlet t`` (Marsaglia–Tsang rejection in a ``while_loop``, differentiable in the shape
parameters by implicit differentiation of the gamma CDF). Poisson uses Knuth's method below
rate 10 and Hörmann's PTRS above. See the section "more distributions" below.

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
import operator

import numpy as np

from . import numpy as fnp
from .core.array import returning_arrays
from .core.errors import ConcretizationError, TracerConversionError, at_user_line
from .core.trace import Tracer
from .ops import random as random_ops
from .ops import special_functions as _sf

__all__ = ["key", "split", "fold_in", "uniform", "normal", "bernoulli", "permutation",
           "random_bits", "randint", "categorical", "choice", "gamma", "loggamma", "beta",
           "dirichlet", "exponential", "laplace", "logistic", "gumbel", "poisson",
           "truncated_normal", "multivariate_normal", "cauchy", "t", "orthogonal", "rademacher",
           "chisquare", "lognormal", "pareto", "weibull_min", "maxwell", "double_sided_maxwell",
           "geometric", "ball"]

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


def _traced_size(who: str, what: str, value) -> ConcretizationError:
    return ConcretizationError(at_user_line(
        f"fg.random.{who}: {what} is {value._describe()}, but it decides the shape of the "
        "sample, which must be known while tracing: pass a concrete int (under jit, mark the "
        "argument it comes from static: static_argnums=...)"))


def _shape(shape, who: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer, Tracer)):
        shape = (shape,)
    for size in shape if isinstance(shape, (tuple, list)) else ():
        if isinstance(size, Tracer):
            try:
                operator.index(size)   # known under grad of concrete inputs
            except TracerConversionError:
                raise _traced_size(who, "a size in the shape", size) from None
    try:
        shape = tuple(operator.index(d) for d in shape)   # 2.5 is no size (int() made it 2)
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
    bits = np.finfo(dtype).nmant + 1
    if bits <= 32 and not isinstance(p, Tracer) and np.ndim(p) == 0:
        return _bernoulli_words(key, shape, float(p), bits)
    return fnp.less(_unit_interval(key, shape, dtype), fnp.astype(p, np.float64))


def _bernoulli_words(key, shape: tuple, p: float, bits: int):
    """``bernoulli`` for a constant ``p`` on a grid of ``bits <= 32`` bits, compared on the
    random words themselves: the uniform ``u = (w >> (32 - bits)) * 2**-bits`` is below ``p``
    exactly where the word ``w`` is below ``ceil(p * 2**bits) * 2**(32 - bits)`` (the same
    booleans as ``_unit_interval(...) < p``, in one operation instead of five)."""
    scaled = p * 2.0 ** bits   # exact: a power of two
    count = 0 if not scaled > 0 else 1 << bits if scaled >= 1 << bits else math.ceil(scaled)
    words = random_ops.random_bits(key, shape)
    threshold = count << (32 - bits)
    if threshold > _WORD:   # p >= 1: every word
        return fnp.less_equal(words, np.uint32(_WORD))
    return fnp.less(words, np.uint32(threshold))


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
        if isinstance(x, Tracer) and x.dtype.kind in "iu":
            raise _traced_size("permutation", "n", x)
        raise ValueError("fg.random.permutation: x must be an int or an array of rank >= 1")
    axis = int(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"fg.random.permutation: axis {axis} is out of range for shape "
                         f"{x.shape}")
    order = random_ops.random_permutation(key, x.shape[axis])
    return fnp.take(x, order, axis=axis)


# ------------------------------------------------------------------- more distributions
#
# Every sampler below is a transformation of ``_unit_interval`` / ``normal`` bits written with
# ``funcgrad.numpy`` operations (so it traces, compiles and batches like any program), computed
# in float64 and rounded once to ``dtype``. The loops of the rejection samplers (gamma,
# poisson) are ``fg.while_loop``s over whole arrays: round ``i`` draws fresh bits from
# ``fold_in(key, i)`` for every element, elements keep the first value they accept, and the
# loop stops when all have one. A value depends only on its key and position, not on how many
# rounds its neighbours (or the other keys of a ``vmap``) needed, so eager, ``jit`` and
# ``vmap`` agree. Samplers that are smooth transformations of the bits (exponential, laplace,
# logistic, gumbel, cauchy, lognormal, pareto, weibull_min, double_sided_maxwell,
# truncated_normal, multivariate_normal) are differentiable in their parameters by ordinary
# autodiff; gamma (and loggamma, beta, dirichlet, chisquare, t) by implicit differentiation
# (``funcgrad/ops/random.py``: ``random_gamma_grad``). Integer samplers have no derivative.


def _stop(x):
    from .ops.special import stop_gradient
    return stop_gradient(x)


def _f64(x):
    return fnp.astype(fnp.asarray(x), np.float64)


def _out_dtype(dtype, who: str) -> np.dtype:
    return _float_dtype(np.float64 if dtype is None else dtype, who)


def _int_dtype(dtype, who: str) -> np.dtype:
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"fg.random.{who}: dtype must be an integer type, got {dtype.name}")
    return dtype


def _param_shape(shape, who: str, *params) -> tuple[int, ...]:
    """``shape``, or the broadcast shape of the parameters when it is None; the parameters must
    broadcast to it."""
    batch = np.broadcast_shapes(*(np.shape(p) for p in params))
    if shape is None:
        return batch
    shape = _shape(shape, who)
    try:
        if np.broadcast_shapes(shape, batch) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"fg.random.{who}: parameters of shape {batch} do not broadcast to "
                         f"shape {shape}") from None
    return shape


def _open_unit(key, shape, dtype=np.float64):
    """float64 uniforms in the open interval (0, 1): the grid of ``_unit_interval`` shifted by
    half a step (exact in float64), so logs of ``u`` and of ``1 - u`` are finite."""
    bits = np.finfo(dtype).nmant + 1
    return _unit_interval(key, shape, dtype) + 2.0 ** -(bits + 1)


def _check(key, who, dtype=None):
    _check_key(key, who)
    return _out_dtype(dtype, who)


def exponential(key, shape=(), dtype=None):
    """Standard exponential samples: ``-log(1 - u)``.

    >>> import funcgrad as fg
    >>> bool(fg.random.exponential(fg.random.key(0), (1000,)).min() >= 0)
    True
    """
    dtype = _check(key, "exponential", dtype)
    unit = _unit_interval(key, _shape(shape, "exponential"), dtype)
    return fnp.astype(-fnp.log1p(-unit), dtype)


def laplace(key, shape=(), dtype=None):
    """Standard Laplace samples (density ``exp(-|x|) / 2``): ``-sign(v) log(1 - |v|)``, ``v``
    uniform on ``(-1, 1)``."""
    dtype = _check(key, "laplace", dtype)
    v = 2.0 * _open_unit(key, _shape(shape, "laplace"), dtype) - 1.0
    return fnp.astype(-fnp.sign(v) * fnp.log1p(-fnp.abs(v)), dtype)


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples: ``log(u) - log(1 - u)``."""
    dtype = _check(key, "logistic", dtype)
    u = _open_unit(key, _shape(shape, "logistic"), dtype)
    return fnp.astype(fnp.log(u) - fnp.log1p(-u), dtype)


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel samples: ``-log(-log(u))`` (``mode`` is accepted for JAX's signature and
    ignored: there is one way)."""
    dtype = _check(key, "gumbel", dtype)
    u = _open_unit(key, _shape(shape, "gumbel"), dtype)
    return fnp.astype(-fnp.log(-fnp.log(u)), dtype)


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: ``tan(pi (u - 1/2))``."""
    dtype = _check(key, "cauchy", dtype)
    u = _open_unit(key, _shape(shape, "cauchy"), dtype)
    return fnp.astype(fnp.tan(math.pi * (u - 0.5)), dtype)


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """``exp(sigma * z)``, ``z`` standard normal (differentiable in ``sigma``)."""
    dtype = _check(key, "lognormal", dtype)
    shape = _param_shape(shape, "lognormal", sigma)
    return fnp.astype(fnp.exp(_f64(sigma) * normal(key, shape)), dtype)


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples of shape ``b`` (support ``x >= 1``): ``exp(e / b)``, ``e`` exponential."""
    dtype = _check(key, "pareto", dtype)
    shape = _param_shape(shape, "pareto", b)
    return fnp.astype(fnp.exp(exponential(key, shape) / _f64(b)), dtype)


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: ``scale * e ** (1 / concentration)``, ``e`` exponential."""
    dtype = _check(key, "weibull_min", dtype)
    shape = _param_shape(shape, "weibull_min", scale, concentration)
    e = exponential(key, shape)
    return fnp.astype(_f64(scale) * fnp.power(e, 1.0 / _f64(concentration)), dtype)


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the length of a standard normal 3-vector."""
    dtype = _check(key, "maxwell", dtype)
    z = normal(key, _shape(shape, "maxwell") + (3,))
    return fnp.astype(fnp.sqrt(fnp.sum(z * z, axis=-1)), dtype)


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """``loc + scale * s * m``: ``m`` Maxwell, ``s`` a random sign."""
    dtype = _check(key, "double_sided_maxwell", dtype)
    shape = _param_shape(shape, "double_sided_maxwell", loc, scale)
    k_size, k_sign = split(key)
    sign = fnp.astype(rademacher(k_sign, shape), np.float64)
    return fnp.astype(_f64(loc) + _f64(scale) * sign * maxwell(k_size, shape), dtype)


def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with probability 1/2 each (one random bit per value)."""
    _check_key(key, "rademacher")
    dtype = _int_dtype(dtype, "rademacher")
    bits = fnp.bitwise_and(random_ops.random_bits(key, _shape(shape, "rademacher")),
                           np.uint32(1))
    return fnp.astype(fnp.astype(bits, np.int64) * 2 - 1, dtype)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)`` (arrays broadcast to ``shape``; an empty range
    gives ``minval``). ``floor(u * span)`` with ``u`` on the 53-bit grid: bias below
    ``span / 2**53``, exact float64 arithmetic (so ``jit`` gives the same integers)."""
    _check_key(key, "randint")
    dtype = _int_dtype(dtype, "randint")
    shape = _shape(shape, "randint")
    low = fnp.astype(fnp.asarray(minval), np.int64)
    high = fnp.astype(fnp.asarray(maxval), np.int64)
    span = fnp.maximum(high - low, 1)
    unit = _unit_interval(key, shape, np.float64)
    fspan = fnp.astype(span, np.float64)
    offset = fnp.minimum(fnp.floor(unit * fspan), fspan - 1.0)
    return fnp.astype(fnp.broadcast_to(low + fnp.astype(offset, np.int64), shape), dtype)


def categorical(key, logits, axis: int = -1, shape=None, replace: bool = True, mode=None):
    """Indices drawn with probabilities ``softmax(logits)`` along ``axis`` (the Gumbel-max
    trick: ``argmax(logits + gumbel)``). ``shape`` defaults to ``logits``' shape without
    ``axis``, and must end with it. ``replace=False`` draws distinct indices for the leading
    axes of ``shape`` (the Gumbel top-k trick)."""
    _check_key(key, "categorical")
    logits = _f64(logits)
    axis = int(axis) % max(logits.ndim, 1)
    logits = fnp.moveaxis(logits, axis, -1)
    batch = tuple(logits.shape[:-1])
    shape = batch if shape is None else _shape(shape, "categorical")
    if shape[len(shape) - len(batch):] != batch:
        raise ValueError(f"fg.random.categorical: shape {shape} must end with the logits' batch "
                         f"shape {batch}")
    lead = shape[:len(shape) - len(batch)]
    n = logits.shape[-1]
    if replace:
        noise = gumbel(key, lead + batch + (n,))
        return fnp.argmax(logits + noise, axis=-1)
    draws = int(np.prod(lead, dtype=np.int64))
    if draws > n:
        raise ValueError(f"fg.random.categorical: cannot draw {draws} distinct indices out of "
                         f"{n} without replacement")
    noise = gumbel(key, batch + (n,))
    order = fnp.argsort(-(logits + noise), axis=-1)[..., :draws]
    return fnp.reshape(fnp.moveaxis(order, -1, 0), lead + batch)


def choice(key, a, shape=(), replace: bool = True, p=None, axis: int = 0, mode=None):
    """Samples of ``a`` (an int: ``arange(a)``) along ``axis``: uniformly or with
    probabilities ``p``, with or without replacement (``jax.random.choice``)."""
    _check_key(key, "choice")
    shape = _shape(shape, "choice")
    if isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)):
        n, values = int(a), None
    else:
        values = fnp.asarray(a)
        if values.ndim == 0:
            raise ValueError("fg.random.choice: a must be an int or an array of rank >= 1")
        axis = int(axis) % values.ndim
        n = values.shape[axis]
    count = int(np.prod(shape, dtype=np.int64))
    if n == 0 and count:
        raise ValueError("fg.random.choice: a is empty")
    if not replace and count > n:
        raise ValueError(f"fg.random.choice: cannot take {count} samples out of {n} without "
                         "replacement")
    if p is None:
        if replace:
            index = randint(key, shape, 0, n)
        else:
            index = fnp.reshape(random_ops.random_permutation(key, n)[:count], shape)
    else:
        p = _f64(p)
        if p.shape != (n,):
            raise ValueError(f"fg.random.choice: p must have shape ({n},), got {p.shape}")
        if replace:
            cdf = fnp.cumsum(p)
            u = _unit_interval(key, shape, np.float64) * cdf[-1]
            index = fnp.minimum(fnp.searchsorted(cdf, u, side="right"), n - 1)
        else:
            noise = gumbel(key, (n,))
            logp = fnp.where(p > 0.0, fnp.log(fnp.where(p > 0.0, p, 1.0)), -np.inf)
            index = fnp.reshape(fnp.argsort(-(logp + noise))[:count], shape)
    index = fnp.astype(index, np.int64)
    if values is None:
        return index
    taken = fnp.take(values, fnp.ravel(index), axis=axis)
    out_shape = values.shape[:axis] + shape + values.shape[axis + 1:]
    return fnp.reshape(taken, out_shape)


# -- gamma and friends ------------------------------------------------------------------

def _log_gamma_samples(key, a, shape):
    """log of Gamma(a, 1) samples (``a`` float64, broadcast to ``shape``), differentiable in
    ``a``.

    Marsaglia and Tsang (2000): for ``a >= 1``, with ``d = a - 1/3`` and ``c = 1/sqrt(9d)``,
    ``x = d (1 + c z)**3`` for a standard normal ``z``, accepted when ``v = (1 + c z)**3 > 0``
    and ``log u < z**2/2 + d - d v + d log v``; for ``a < 1``, a Gamma(a + 1) sample times
    ``u**(1/a)`` (Stuart's theorem), taken in logs so tiny ``a`` do not underflow. The
    rejection is an ``fg.while_loop`` over the whole array (acceptance >= 95% a round); it is
    exact, with no cut-off. The derivative in ``a`` is implicit (``random_gamma_reparam``)."""
    a = fnp.broadcast_to(_f64(a), shape)
    alpha = _stop(a)
    boost = alpha < 1.0
    a1 = fnp.where(boost, alpha + 1.0, alpha)
    d = a1 - 1.0 / 3.0
    c = 1.0 / fnp.sqrt(9.0 * d)
    loop_key, boost_key = split(key)

    def cond(state):
        return fnp.logical_not(fnp.all(state[1]))

    def body(state):
        step, done, logx = state
        round_key = fold_in(loop_key, step)
        z_key, u_key = split(round_key)
        z = normal(z_key, shape)
        u = _open_unit(u_key, shape)
        v = (1.0 + c * z) ** 3
        positive = v > 0.0
        logv = fnp.log(fnp.where(positive, v, 1.0))
        accept = positive & (fnp.log(u) < 0.5 * z * z + d - d * v + d * logv)
        take = accept & fnp.logical_not(done)
        logx = fnp.where(take, fnp.log(d) + logv, logx)
        return step + 1, done | accept, logx

    init = (np.uint32(0), fnp.zeros(shape, bool) if shape else fnp.asarray(False),
            fnp.zeros(shape, np.float64))
    logx = fg_while_loop(cond, body, init)[2]
    log_u = fnp.log(_open_unit(boost_key, shape))
    logx = fnp.where(boost, logx + log_u / fnp.where(boost, alpha, 1.0), logx)
    return random_ops.gamma_reparam(a, logx)


def fg_while_loop(cond, body, init):
    from .control import while_loop
    return while_loop(cond, body, init)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) samples (Marsaglia–Tsang rejection; see ``_log_gamma_samples``),
    differentiable in ``a`` by implicit differentiation of the CDF at the drawn value.

    >>> import funcgrad as fg
    >>> x = fg.random.gamma(fg.random.key(0), 3.0, (20000,))
    >>> bool(abs(x.mean() - 3.0) < 0.05)
    True
    """
    dtype = _check(key, "gamma", dtype)
    shape = _param_shape(shape, "gamma", a)
    return fnp.astype(fnp.exp(_log_gamma_samples(key, a, shape)), dtype)


def loggamma(key, a, shape=None, dtype=None):
    """The logs of Gamma(a, 1) samples, accurate where the samples underflow (tiny ``a``)."""
    dtype = _check(key, "loggamma", dtype)
    shape = _param_shape(shape, "loggamma", a)
    return fnp.astype(_log_gamma_samples(key, a, shape), dtype)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples with ``df`` degrees of freedom: ``2 Gamma(df / 2)``."""
    dtype = _check(key, "chisquare", dtype)
    shape = _param_shape(shape, "chisquare", df)
    return fnp.astype(2.0 * fnp.exp(_log_gamma_samples(key, 0.5 * _f64(df), shape)), dtype)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) samples: ``X / (X + Y)`` for independent Gamma(a), Gamma(b), in logs."""
    dtype = _check(key, "beta", dtype)
    shape = _param_shape(shape, "beta", a, b)
    key_a, key_b = split(key)
    log_x = _log_gamma_samples(key_a, a, shape)
    log_y = _log_gamma_samples(key_b, b, shape)
    return fnp.astype(fnp.exp(log_x - fnp.logaddexp(log_x, log_y)), dtype)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) samples (``alpha`` of shape ``(..., K)``; the result has ``shape +
    (K,)``): normalised Gamma(alpha_k) samples, in logs."""
    dtype = _check(key, "dirichlet", dtype)
    alpha = _f64(alpha)
    if alpha.ndim < 1:
        raise ValueError("fg.random.dirichlet: alpha must have rank >= 1")
    k = alpha.shape[-1]
    shape = _param_shape(shape, "dirichlet", np.empty(alpha.shape[:-1]))
    logs = _log_gamma_samples(key, alpha, shape + (k,))
    top = _stop(fnp.max(logs, axis=-1, keepdims=True))
    weights = fnp.exp(logs - top)
    return fnp.astype(weights / fnp.sum(weights, axis=-1, keepdims=True), dtype)


def t(key, df, shape=None, dtype=None):
    """Student's t samples: ``z * sqrt(df / chi2(df))`` (differentiable in ``df``)."""
    dtype = _check(key, "t", dtype)
    shape = _param_shape(shape, "t", df)
    key_z, key_g = split(key)
    half = 0.5 * _f64(df)
    z = normal(key_z, shape)
    log_g = _log_gamma_samples(key_g, half, shape)
    return fnp.astype(z * fnp.sqrt(half) * fnp.exp(-0.5 * log_g), dtype)


# -- poisson, geometric ------------------------------------------------------------------

def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) counts. For ``lam < 10``, Knuth's method (multiply uniforms until the
    product falls below ``exp(-lam)``: about ``lam + 1`` rounds); for larger rates Hörmann's
    transformed rejection with squeeze, PTRS (1993), which accepts about 90% a round at any
    rate. Both are one ``fg.while_loop`` over the array. Not differentiable."""
    _check_key(key, "poisson")
    dtype = _int_dtype(dtype, "poisson")
    shape = _param_shape(shape, "poisson", lam)
    lam = fnp.broadcast_to(_stop(_f64(lam)), shape)
    small = lam < 10.0
    limit = fnp.exp(-fnp.where(small, lam, 0.0))
    big = fnp.where(small, 10.0, lam)
    slam, loglam = fnp.sqrt(big), fnp.log(big)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)

    def cond(state):
        return fnp.logical_not(fnp.all(state[1]))

    def body(state):
        step, done, count, product = state
        draws = _open_unit(fold_in(key, step), (3,) + shape)
        # Knuth
        product = product * draws[0]
        knuth_done = product <= limit
        # PTRS
        u = draws[1] - 0.5
        v = draws[2]
        us = 0.5 - fnp.abs(u)
        k = fnp.floor((2.0 * a / us + b) * u + big + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        reject = (k < 0.0) | ((us < 0.013) & (v > us))
        kk = fnp.maximum(k, 0.0)
        log_ok = (fnp.log(v) + fnp.log(inv_alpha) - fnp.log(a / (us * us) + b)
                  <= -big + kk * loglam - _sf.lgamma(kk + 1.0))
        ptrs_done = quick | (fnp.logical_not(reject) & log_ok)
        finished = fnp.where(small, knuth_done, ptrs_done)
        new = fnp.logical_not(done) & finished
        value = fnp.where(small, fnp.astype(step, np.float64), k)
        count = fnp.where(new, value, count)
        return step + 1, done | finished, count, product

    init = (np.uint32(0), fnp.zeros(shape, bool) if shape else fnp.asarray(False),
            fnp.zeros(shape, np.float64), fnp.ones(shape, np.float64))
    count = fg_while_loop(cond, body, init)[2]
    return fnp.astype(count, dtype)


def geometric(key, p, shape=None, dtype=None):
    """The number of Bernoulli(p) trials up to the first success (support 1, 2, ...):
    ``floor(log(u) / log(1 - p)) + 1``."""
    _check_key(key, "geometric")
    dtype = _int_dtype(dtype, "geometric")
    shape = _param_shape(shape, "geometric", p)
    u = _open_unit(key, shape)
    p = _stop(_f64(p))
    return fnp.astype(fnp.floor(fnp.log(u) / fnp.log1p(-p)) + 1.0, dtype)


# -- normals: truncated, multivariate; orthogonal matrices; balls -------------------------

_SQRT2 = math.sqrt(2.0)


def _ndtr(x):
    """The standard normal CDF ``erfc(-x / sqrt 2) / 2``: accurate in relative terms in the
    lower tail (erfc of a large argument keeps its relative precision)."""
    return 0.5 * _sf.erfc(x * (-1.0 / _SQRT2))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal samples conditioned on ``lower < x < upper``: the inverse CDF of a
    uniform between ``Phi(lower)`` and ``Phi(upper)``, drawn in whichever tail keeps the
    CDF values small (accurate far out), clipped into the interval. Differentiable in the
    bounds."""
    dtype = _check(key, "truncated_normal", dtype)
    shape = _param_shape(shape, "truncated_normal", lower, upper)
    lower, upper = _f64(lower), _f64(upper)
    flip = _stop(lower + upper) > 0.0    # mass mostly above 0: sample -x in (-upper, -lower)
    lo = fnp.where(flip, -upper, lower)
    hi = fnp.where(flip, -lower, upper)
    c_lo, c_hi = _ndtr(lo), _ndtr(hi)
    u = _open_unit(key, shape)
    x = _sf.ndtri(c_lo + u * (c_hi - c_lo))
    x = fnp.clip(x, lo, hi)
    return fnp.astype(fnp.where(flip, -x, x), dtype)


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method: str = "cholesky"):
    """Samples of N(mean, cov) (``mean`` ``(..., n)``, ``cov`` ``(..., n, n)``): ``mean + A z``
    with ``A A^T = cov`` from ``method`` ``'cholesky'``, ``'eigh'`` or ``'svd'``. The result
    has shape ``shape + (n,)``; ``shape`` defaults to the broadcast batch shape.
    Differentiable in ``mean`` and ``cov``."""
    dtype = _check(key, "multivariate_normal", dtype)
    mean, cov = _f64(mean), _f64(cov)
    if mean.ndim < 1 or cov.ndim < 2 or cov.shape[-2:] != (mean.shape[-1],) * 2:
        raise ValueError(f"fg.random.multivariate_normal: mean (..., n) and cov (..., n, n) "
                         f"expected, got {mean.shape} and {cov.shape}")
    n = mean.shape[-1]
    shape = _param_shape(shape, "multivariate_normal", np.empty(mean.shape[:-1]),
                         np.empty(cov.shape[:-2]))
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(fnp.maximum(w, 0.0))[..., None, :]
    elif method == "svd":
        u, s, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(s)[..., None, :]
    else:
        raise ValueError(f"fg.random.multivariate_normal: method must be 'cholesky', 'eigh' or "
                         f"'svd', got {method!r}")
    z = normal(key, shape + (n,))
    return fnp.astype(mean + fnp.matmul(factor, z[..., None])[..., 0], dtype)


def orthogonal(key, n: int, shape=(), dtype=None, m=None):
    """Haar-random matrices with orthonormal columns (or rows): the Q of a Gaussian matrix's
    QR factorisation with its columns' signs fixed by R's diagonal (Mezzadri 2007). The
    result has shape ``shape + (n, m)``, ``m`` defaulting to ``n``."""
    dtype = _check(key, "orthogonal", dtype)
    n = int(n)
    m = n if m is None else int(m)
    z = normal(key, _shape(shape, "orthogonal") + (max(n, m), min(n, m)))
    q, r = fnp.linalg.qr(z)
    signs = fnp.sign(fnp.diagonal(r, axis1=-2, axis2=-1))
    q = q * fnp.where(signs == 0.0, 1.0, signs)[..., None, :]
    if n < m:
        q = fnp.swapaxes(q, -1, -2)
    return fnp.astype(q, dtype)


def ball(key, d: int, p: float = 2, shape=(), dtype=None):
    """Points uniform in the unit ``p``-norm ball of dimension ``d`` (result ``shape + (d,)``):
    generalized-normal coordinates over ``(sum |g|^p + e)^(1/p)``, ``e`` exponential
    (Barthe, Guédon, Mendelson and Naor, 2005)."""
    dtype = _check(key, "ball", dtype)
    shape = _shape(shape, "ball")
    d, p = int(d), float(p)
    k_g, k_s, k_e = split(key, 3)
    magnitude = fnp.exp(_log_gamma_samples(k_g, 1.0 / p, shape + (d,)) / p)
    sign = fnp.astype(rademacher(k_s, shape + (d,)), np.float64)
    g = sign * magnitude
    e = exponential(k_e, shape)
    norm = fnp.power(fnp.sum(fnp.abs(g) ** p, axis=-1) + e, 1.0 / p)
    return fnp.astype(g / norm[..., None], dtype)


for _name in __all__:   # concrete results are Arrays (core.array), as funcgrad.numpy's are
    globals()[_name] = returning_arrays(globals()[_name])
del _name
