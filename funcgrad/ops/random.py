"""Random-number primitives: Threefry-2x32 bits from explicit, splittable keys.

A key is a ``uint32`` array of shape ``(2,)``: the key of the Threefry-2x32 block cipher
(Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), which maps a 64-bit
counter to 64 random-looking bits. Every random number is the cipher applied to a counter, so
there is no hidden generator state: the same key gives the same numbers everywhere (eagerly,
under ``jit``, under ``vmap``). The counter's high word is a tag that keeps the streams of one
key apart, so that bits drawn from a key never equal a key split from it:

============================  =====================  ====================================
primitive                     counter (low, high)    result
============================  =====================  ====================================
``random_bits(key, shape)``   ``(j, 0)``             block ``j`` gives words ``2j, 2j+1``
``random_split(key, num)``    ``(i, 1)``             child key ``i`` is block ``i``
``random_fold_in(key, d)``    ``(d, 2)``             the new key is block ``d``
``random_permutation(key,n)`` ``(i, 3)``             argsort of the 64-bit blocks ``i < n``
============================  =====================  ====================================

Each primitive also accepts keys with leading batch axes, ``(*batch, 2)``: the cipher is
elementwise in key and counter, so a batch of keys is one NumPy evaluation. That is the
``vmap`` rule. The outputs are integers: no derivative (tangents ``None``, cotangents
``None``). Their implementations are NumPy, which compiled programs call as they are.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import special_functions
from . import structural as st
from .special_functions import digamma_numpy

# --------------------------------------------------------------------------- Threefry-2x32

# Rotation distances of Threefry-2x32 (Random123's R_32x2), used in turn, one per round.
_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
_KEY_SCHEDULE_PARITY = np.uint32(0x1BD11BDA)
_ROUNDS = 20
_TAGS = {"bits": 0, "split": 1, "fold_in": 2, "permutation": 3}


_WORD = 0xFFFFFFFF
# Up to this many blocks, one Python integer holding every block in its own 64-bit lane beats
# NumPy's per-call overhead (115 ufunc calls on tiny arrays): 2 blocks ~15 us, 128 ~50 us,
# against ~100 us in NumPy.
_FEW_BLOCKS = 128


def threefry2x32(key0, key1, count0, count1):
    """The 20-round Threefry-2x32 block cipher on ``uint32`` arrays that broadcast together.

    Returns the two output words. Every operation wraps modulo 2**32, as the cipher wants.
    """
    words = [np.asarray(v, np.uint32) for v in (key0, key1, count0, count1)]
    shape = ew._broadcast_shapes(*[w.shape for w in words])
    size = math.prod(shape)
    if size == 1:   # a fold_in: one block in Python integers
        pair = _threefry_block(*[int(w.reshape(())) for w in words])
        return tuple(np.full(shape, w, np.uint32) for w in pair)
    if size <= _FEW_BLOCKS:
        # A key split: a few blocks, where 115 NumPy calls on tiny arrays would cost ~100 us
        # of overhead.
        return _threefry_lanes(*[w if w.shape == shape else np.broadcast_to(w, shape)
                                 for w in words])
    return _threefry_arrays(*words)


def _threefry_lanes(key0, key1, count0, count1):
    """A few blocks at once in one Python integer per word: block ``i`` in bits
    ``[64 i, 64 i + 32)``, so that a sum of two or three words carries into the free upper
    half of its own lane, and one mask makes every lane wrap modulo 2**32."""
    shape, lanes = key0.shape, key0.size

    def pack(words):
        return int.from_bytes(words.astype(np.uint64).tobytes(), "little")

    ones = int.from_bytes((b"\x01" + bytes(7)) * lanes, "little")   # 1 in every lane
    low = _WORD * ones   # the low half of every lane
    k0, k1 = pack(key0), pack(key1)
    schedule = (k0, k1, k0 ^ k1 ^ (0x1BD11BDA * ones))
    x0, x1 = (pack(count0) + k0) & low, (pack(count1) + k1) & low
    for injection in range(1, _ROUNDS // 4 + 1):
        for rotation in _ROTATIONS[4 * ((injection - 1) % 2):][:4]:
            x0 = (x0 + x1) & low
            # Shifted left, a lane's top ``rotation`` bits sit in its upper half; shifted a
            # further 32 right they come back into its low bits (and the next lane's low bits
            # land in this lane's upper half, which the mask drops).
            spread = x1 << rotation
            x1 = ((spread | (spread >> 32)) & low) ^ x0
        x0 = (x0 + schedule[injection % 3]) & low
        x1 = (x1 + schedule[(injection + 1) % 3] + injection * ones) & low

    def unpack(value):
        words = np.frombuffer(value.to_bytes(8 * lanes, "little"), np.uint64)
        return words.astype(np.uint32).reshape(shape)
    return unpack(x0), unpack(x1)


def _threefry_block(key0: int, key1: int, count0: int, count1: int) -> tuple[int, int]:
    """One block, in Python integers (the reference the lanes are tested against)."""
    schedule = (key0, key1, key0 ^ key1 ^ 0x1BD11BDA)
    x0, x1 = (count0 + key0) & _WORD, (count1 + key1) & _WORD
    for injection in range(1, _ROUNDS // 4 + 1):
        for rotation in _ROTATIONS[4 * ((injection - 1) % 2):][:4]:
            x0 = (x0 + x1) & _WORD
            x1 = (((x1 << rotation) | (x1 >> (32 - rotation))) & _WORD) ^ x0
        x0 = (x0 + schedule[injection % 3]) & _WORD
        x1 = (x1 + schedule[(injection + 1) % 3] + injection) & _WORD
    return x0, x1


def _threefry_arrays(key0, key1, count0, count1):
    """Many blocks at once, in NumPy: in-place ``uint32`` arithmetic on whole arrays. The
    four operands broadcast together; the key words stay as small as they come (one key's
    words broadcast into every block's)."""
    shape = ew._broadcast_shapes(key0.shape, key1.shape, count0.shape, count1.shape)
    # ndarrays of rank >= 1 wrap silently (NumPy warns on overflowing *scalar* arithmetic).
    work = (1,) if shape == () else shape
    schedule = (key0, key1, key0 ^ key1 ^ _KEY_SCHEDULE_PARITY)
    x0 = np.add(count0, key0, out=np.empty(work, np.uint32))
    x1 = np.add(count1, key1, out=np.empty(work, np.uint32))
    scratch = np.empty_like(x1)
    for round_index in range(_ROUNDS):
        rotation = _ROTATIONS[round_index % 8]
        x0 += x1
        np.left_shift(x1, np.uint32(rotation), out=scratch)
        x1 >>= np.uint32(32 - rotation)
        x1 |= scratch
        x1 ^= x0
        if round_index % 4 == 3:   # key injection after every four rounds
            injection = round_index // 4 + 1
            x0 += schedule[injection % 3]
            x1 += schedule[(injection + 1) % 3]
            x1 += np.uint32(injection)
    return x0.reshape(shape), x1.reshape(shape)


def _key_words(key):
    """The two key words of ``key`` (shape ``(*batch, 2)``), each shaped ``(*batch, 1)``."""
    key = np.asarray(key, np.uint32)
    return key[..., 0:1], key[..., 1:2]


def _blocks(key, count, tag: str):
    """Cipher blocks ``(i, tag)`` for ``i < count`` under each key: two ``(*batch, count)``
    arrays of words."""
    if count > 1 << 32:
        raise ValueError(f"random: {count} blocks exceed the 2**32 counters of one key; "
                         "split the key and draw in parts")
    key0, key1 = _key_words(key)
    counter = np.arange(count, dtype=np.uint32)
    return threefry2x32(key0, key1, counter, np.uint32(_TAGS[tag]))


def _check_key(key, who: str):
    if key.dtype != np.uint32 or key.ndim < 1 or key.shape[-1] != 2:
        raise ShapeError(f"{who}: a key is a uint32 array of shape (2,) (or (..., 2) for a batch "
                         f"of keys), got {key.dtype.name}{list(key.shape)}")
    return key.shape[:-1]


def _no_derivative(prim):
    """Integer outputs: no tangent comes out, no cotangent goes in."""
    prim.jvp = lambda primals, tangents, **params: (prim.bind(*primals, **params), None)
    prim.vjp = lambda needs, g, ans, *inputs, **params: (None,) * len(inputs)


def _key_batch(prim):
    """The batch rule of a primitive of one key operand: keys batched in front."""
    def batch(args, dims, **params):
        return prim.bind(st.batch_to_front(args[0], dims[0]), **params), 0
    return batch


# ----------------------------------------------------------------------------- random_bits

random_bits_p = Primitive("random_bits", "special")


def _random_bits_impl(key, *, shape):
    size = int(math.prod(shape))
    low, high = _blocks(key, (size + 1) // 2, "bits")
    batch = np.shape(key)[:-1]
    words = np.stack([low, high], axis=-1).reshape(batch + (-1,))
    return words[..., :size].reshape(batch + tuple(shape))[()]


random_bits_p.impl = _random_bits_impl
random_bits_p.abstract_eval = lambda key, *, shape: ShapedArray(
    _check_key(key, "random_bits") + tuple(shape), np.uint32)
_no_derivative(random_bits_p)
random_bits_p.batch = _key_batch(random_bits_p)


def random_bits(key, shape) -> np.ndarray:
    """``uint32`` random words of ``shape`` from ``key``."""
    return random_bits_p.bind(key, shape=tuple(int(d) for d in shape))


# ---------------------------------------------------------------------------- random_split

random_split_p = Primitive("random_split", "special")


def _random_split_impl(key, *, num):
    low, high = _blocks(key, num, "split")
    return np.stack([low, high], axis=-1)


random_split_p.impl = _random_split_impl
random_split_p.abstract_eval = lambda key, *, num: ShapedArray(
    _check_key(key, "random_split") + (num, 2), np.uint32)
_no_derivative(random_split_p)
random_split_p.batch = _key_batch(random_split_p)


def random_split(key, num: int):
    """``num`` new keys from ``key``, as a ``(num, 2)`` array."""
    return random_split_p.bind(key, num=int(num))


# -------------------------------------------------------------------------- random_fold_in

random_fold_in_p = Primitive("random_fold_in", "special")


def _random_fold_in_impl(key, data):
    key0, key1 = _key_words(key)
    data = np.asarray(data, np.uint32)[..., None]
    low, high = threefry2x32(key0, key1, data, np.uint32(_TAGS["fold_in"]))
    return np.concatenate([low, high], axis=-1)


def _random_fold_in_shape(key, data):
    batch = _check_key(key, "random_fold_in")
    if data.dtype != np.uint32 or data.shape != batch:
        raise ShapeError(f"random_fold_in: the data is a uint32 array of the keys' batch shape "
                         f"{batch}, got {data.dtype.name}{list(data.shape)}")
    return key


def _random_fold_in_batch(args, dims):
    size = st.batch_size(args, dims)
    key, data = (st.batched_at_front(x, d, size) for x, d in zip(args, dims))
    return random_fold_in_p.bind(key, data), 0


random_fold_in_p.impl = _random_fold_in_impl
random_fold_in_p.abstract_eval = _random_fold_in_shape
_no_derivative(random_fold_in_p)
random_fold_in_p.batch = _random_fold_in_batch


def random_fold_in(key, data):
    """A new key from ``key`` and the ``uint32`` ``data`` (shaped like the keys' batch)."""
    return random_fold_in_p.bind(key, data)


# ---------------------------------------------------------------------- random_permutation

random_permutation_p = Primitive("random_permutation", "special")


def _random_permutation_impl(key, *, n):
    low, high = _blocks(key, n, "permutation")
    # 64-bit sort keys: two equal ones (a tie, which a stable sort breaks by position) have
    # probability about n**2 / 2**65.
    sort_keys = (high.astype(np.uint64) << np.uint64(32)) | low.astype(np.uint64)
    return np.argsort(sort_keys, axis=-1, kind="stable").astype(np.int64)


random_permutation_p.impl = _random_permutation_impl
random_permutation_p.abstract_eval = lambda key, *, n: ShapedArray(
    _check_key(key, "random_permutation") + (n,), np.int64)
_no_derivative(random_permutation_p)
random_permutation_p.batch = _key_batch(random_permutation_p)


def random_permutation(key, n: int):
    """A random permutation of ``range(n)`` (``int64``) from ``key``."""
    return random_permutation_p.bind(key, n=int(n))


# ------------------------------------------------------------- gamma's implicit derivative
#
# A Gamma(a, 1) sample x = F^{-1}(u; a) (F the gamma CDF, P(a, x)) moves with a, at fixed u, by
# dx/da = -(dF/da) / (dF/dx). ``random_gamma_grad`` gives that derivative of *log* x,
# d log x / da, from a and log x. Both pieces are computed here together, term by term,
# so that the density dF/dx = x^(a-1) e^-x / Gamma(a) cancels analytically and nothing
# underflows even for tiny samples:
#
# - x < a + 1: the series P = sum_n t_n, t_n = x^(a+n) e^-x / Gamma(a+n+1). Each term over
#   x * density is s_n = prod_{k<=n} x / (a+k) / x ... (s_0 = 1/a, s_n = s_{n-1} x / (a+n)),
#   and dt_n/da = t_n (log x - psi(a+n+1)), so d log x / da = -sum_n s_n (log x - psi(a+n+1)),
#   with psi(a+n+1) = psi(a+1) + sum_{k=1..n} 1/(a+k).
# - otherwise: Q = 1 - P = x * density * h(a, x), h Legendre's continued fraction (evaluated
#   by the modified Lentz method, with its derivative in a carried alongside, forward mode),
#   so d log x / da = (dQ/da) / (x * density) = h (log x - psi(a)) + dh/da.
# Both loops run, vectorised, until every element has converged (O(sqrt(a)) terms).

_EPS = 2.0 ** -53
_TINY = 1e-300
_MAX_TERMS = 100_000


def _gamma_dlog_series(a, x, logx):
    term = 1.0 / a
    psi = digamma_numpy(a + 1.0)
    total = -term * (logx - psi)
    active = np.ones(a.shape, bool)
    n = 0
    while active.any() and n < _MAX_TERMS:
        n += 1
        idx = np.nonzero(active)
        an = a[idx] + n
        term_new = term[idx] * x[idx] / an
        psi[idx] += 1.0 / an
        step = -term_new * (logx[idx] - psi[idx])
        term[idx] = term_new
        total[idx] += step
        # Converged once the terms are negligible and shrinking (x / (a+n) < 1).
        done = (np.abs(step) <= _EPS * np.abs(total[idx])) & (x[idx] < an)
        active[tuple(i[done] for i in idx)] = False
    return total


def _gamma_dlog_fraction(a, x, logx):
    b = x + 1.0 - a
    db = -1.0
    c = np.full(a.shape, 1.0 / _TINY)
    dc = np.zeros(a.shape)
    d = 1.0 / b
    dd = 1.0 / (b * b)          # d(1/b)/da with db/da = -1
    h, dh = d.copy(), dd.copy()
    active = np.ones(a.shape, bool)
    i = 0
    while active.any() and i < _MAX_TERMS:
        i += 1
        an, dan = -i * (i - a), float(i)
        b = b + 2.0
        dpre = dan * d + an * dd + db
        pre = an * d + b
        pre = np.where(np.abs(pre) < _TINY, _TINY, pre)
        d_new = 1.0 / pre
        dd = -dpre * d_new * d_new
        d = d_new
        dc = db + dan / c - an * dc / (c * c)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        delta = d * c
        ddelta = dd * c + d * dc
        dh = np.where(active, dh * delta + h * ddelta, dh)
        h = np.where(active, h * delta, h)
        active &= ~((np.abs(delta - 1.0) <= _EPS) & (np.abs(ddelta * h) <= _EPS * np.abs(dh)
                                                        + _TINY))
    return h * (logx - digamma_numpy(a)) + dh


def gamma_dlog_da(a, logx):
    """d log x / d a for Gamma(a, 1) samples x = exp(logx) at fixed CDF value (NumPy)."""
    a, logx = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(logx, np.float64))
    a, logx = a.ravel(), logx.ravel()
    shape = np.shape(a)
    out = np.zeros(shape)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        x = np.exp(logx)
        series = x < a + 1.0
        if series.any():
            out[series] = _gamma_dlog_series(a[series], x[series], logx[series])
        if (~series).any():
            rest = ~series
            out[rest] = _gamma_dlog_fraction(a[rest], x[rest], logx[rest])
    return out


random_gamma_grad_p = Primitive("random_gamma_grad", "special")


def _same_shape_floats(a, logx):
    if a.shape != logx.shape:
        raise ShapeError(f"random_gamma_grad: a and log x must have one shape, got "
                         f"{list(a.shape)} and {list(logx.shape)}")
    return ShapedArray(a.shape, np.float64)


def _batch_two(prim):
    def batch(args, dims):
        size = st.batch_size(args, dims)
        a, b = (st.batched_at_front(x, d, size) for x, d in zip(args, dims))
        return prim.bind(a, b), 0
    return batch


# The derivatives of G(a, L) = dL/da (L = log x, the sample at a fixed uniform u):
# - in L, exactly: G = -P_a / h with h = x f = exp(a L - x - lgamma(a)), dP_a/dL = dh/da =
#   h (L - psi(a)) and dh/dL = h (a - x), so dG/dL = -(L - psi(a)) - G (a - x);
# - in a, by a central difference of G itself (G is smooth in a): a step of a * 2^-17 leaves
#   about 1e-10 of relative error, rounding and truncation together.
# Both are written with primitives, this one included, so derivatives nest to any order (each
# order adding a difference quotient's error in a).
_A_STEP = 2.0 ** -17


def _gamma_grad_partials(a, logx, g):
    step = ew.mul(a, _A_STEP)
    d_a = ew.div(ew.sub(random_gamma_grad_p.bind(ew.add(a, step), logx),
                        random_gamma_grad_p.bind(ew.sub(a, step), logx)), ew.mul(step, 2.0))
    d_logx = ew.sub(ew.neg(ew.sub(logx, special_functions.digamma(a))),
                    ew.mul(g, ew.sub(a, ew.exp(logx))))
    return d_a, d_logx


def _gamma_grad_jvp(primals, tangents):
    a, logx = primals
    g = random_gamma_grad_p.bind(a, logx)
    d_a, d_logx = _gamma_grad_partials(a, logx, g)
    terms = [ew.mul(t, d) for t, d in zip(tangents, (d_a, d_logx)) if t is not None]
    return g, (terms[0] if len(terms) == 1 else ew.add(*terms)) if terms else None


def _gamma_grad_vjp(needs, ct, ans, a, logx):
    d_a, d_logx = _gamma_grad_partials(a, logx, ans)
    return (ew.mul(ct, d_a) if needs[0] else None, ew.mul(ct, d_logx) if needs[1] else None)


random_gamma_grad_p.jvp = _gamma_grad_jvp
random_gamma_grad_p.vjp = _gamma_grad_vjp
random_gamma_grad_p.impl = lambda a, logx: gamma_dlog_da(a, logx).reshape(np.shape(a))[()]
random_gamma_grad_p.abstract_eval = _same_shape_floats
random_gamma_grad_p.batch = _batch_two(random_gamma_grad_p)


# The log of a Gamma(a) sample, as a value of a: the identity on ``logx``, whose derivative in
# ``a`` is ``random_gamma_grad`` (``logx`` itself carries no derivative: it is the sample).
random_gamma_reparam_p = Primitive("random_gamma_reparam", "special")


# dL/da is taken at the output (which depends on a), not at the raw ``logx``: a second
# derivative then also follows the sample's own dependence on a (dG/dL times G).
def _reparam_jvp(primals, tangents):
    a, logx = primals
    out = random_gamma_reparam_p.bind(a, logx)
    if tangents[0] is None:
        return out, None
    return out, ew.mul(random_gamma_grad_p.bind(a, out), tangents[0])


def _reparam_vjp(needs, g, ans, a, logx):
    if not needs[0] or g is None:
        return None, None
    return ew.mul(g, random_gamma_grad_p.bind(a, ans)), None


random_gamma_reparam_p.impl = lambda a, logx: np.array(logx, np.float64, copy=True)[()]
random_gamma_reparam_p.abstract_eval = _same_shape_floats
random_gamma_reparam_p.jvp = _reparam_jvp
random_gamma_reparam_p.vjp = _reparam_vjp
random_gamma_reparam_p.batch = _batch_two(random_gamma_reparam_p)


def gamma_reparam(a, logx):
    """``logx`` (log Gamma(a) samples), differentiable in ``a`` (same shapes, float64)."""
    return random_gamma_reparam_p.bind(a, logx)
