"""SciPy's special-matrix constructors for ``funcgrad.scipy.linalg``.

The ones built from data (``toeplitz hankel circulant companion leslie fiedler
fiedler_companion convolution_matrix``) gather or place the entries of their arguments with
funcgrad's ops (a constant index table, or a constant 0/1 placement tensor), so they trace,
batch over leading axes (as JAX's and SciPy 1.17's batching ones do) and differentiate for
free. The ones built from a size (``hadamard helmert hilbert invhilbert pascal invpascal
dft``) return NumPy arrays with SciPy's values and dtypes.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import numpy as fnp
from ..core.trace import Tracer
from ..numpy._core import nonnegative_int

__all__ = ["circulant", "companion", "convolution_matrix", "dft", "fiedler",
           "fiedler_companion", "hadamard", "hankel", "helmert", "hilbert", "invhilbert",
           "invpascal", "leslie", "pascal", "toeplitz"]


def _data(x, who: str, name: str, min_ndim: int = 1):
    """``x`` as an array or tracer of at least ``min_ndim`` dimensions (integers stay)."""
    x = x if type(x) is Tracer else np.asarray(x)
    if x.ndim < min_ndim:
        raise ValueError(f"{who}: {name} must have at least {min_ndim} dimension(s), got "
                         f"shape {x.shape}")
    return x


def _gather_last(values, index):
    """``values[..., index]`` for a constant integer table ``index``."""
    return fnp.take(values, np.asarray(index, dtype=np.int64), axis=-1)


def _place(values, rows, cols, shape):
    """A matrix of ``shape`` (per leading axis of ``values`` ``(..., K)``) holding entry ``k``
    of ``values`` at ``(rows[k], cols[k])`` and zeros elsewhere: a product with a constant
    0/1 tensor, linear in ``values``."""
    placement = np.zeros((len(rows),) + tuple(shape), dtype=bool)
    placement[np.arange(len(rows)), rows, cols] = True
    dtype = values.dtype if values.dtype.kind in "fc" else np.result_type(values.dtype, 0.0)
    return fnp.einsum("...k,kij->...ij", values, placement.astype(dtype))


def toeplitz(c, r=None):
    """``scipy.linalg.toeplitz``: ``T[..., i, j] = c[..., i - j]`` on and below the diagonal,
    ``r[..., j - i]`` above it (``r[0]`` unused); ``r`` defaults to ``conj(c)``. Leading axes
    are a batch.

    >>> toeplitz(np.array([1.0, 2.0, 3.0]), np.array([1.0, 4.0]))
    array([[1., 4.],
           [2., 1.],
           [3., 2.]])
    """
    c = _data(c, "toeplitz", "c")
    r = fnp.conj(c) if r is None else _data(r, "toeplitz", "r")
    m, n = c.shape[-1], r.shape[-1]
    # values = [r[n-1], ..., r[1], c[0], ..., c[m-1]]: entry (i, j) is values[i - j + n - 1].
    values = fnp.concatenate(_common_batch(fnp.flip(r[..., 1:], axis=-1), c), axis=-1)
    return _gather_last(values, np.subtract.outer(np.arange(m), np.arange(n)) + n - 1)


def _common_batch(x, y):
    """``x`` and ``y`` with their leading axes broadcast and their dtypes made common."""
    batch = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    dtype = np.result_type(x.dtype, y.dtype)
    return [fnp.broadcast_to(fnp.astype(v, dtype), batch + v.shape[-1:]) for v in (x, y)]


def hankel(c, r=None):
    """``scipy.linalg.hankel``: ``H[..., i, j] = c[..., i + j]`` while ``i + j < len(c)``,
    then ``r[..., i + j - len(c) + 1]`` (``r[0]`` unused); ``r`` defaults to zeros. Leading
    axes are a batch (SciPy ravels them).

    >>> hankel(np.array([1.0, 2.0, 3.0]))
    array([[1., 2., 3.],
           [2., 3., 0.],
           [3., 0., 0.]])
    """
    c = _data(c, "hankel", "c")
    r = fnp.zeros_like(c) if r is None else _data(r, "hankel", "r")
    m, n = c.shape[-1], r.shape[-1]
    values = fnp.concatenate(_common_batch(c, r[..., 1:]), axis=-1)
    return _gather_last(values, np.add.outer(np.arange(m), np.arange(n)))


def circulant(c):
    """``scipy.linalg.circulant``: ``C[..., i, j] = c[..., (i - j) % n]``, first column ``c``.

    >>> circulant(np.array([1.0, 2.0, 3.0]))
    array([[1., 3., 2.],
           [2., 1., 3.],
           [3., 2., 1.]])
    """
    c = _data(c, "circulant", "c")
    n = c.shape[-1]
    return _gather_last(c, np.subtract.outer(np.arange(n), np.arange(n)) % n)


def _monic(a, who: str):
    """The coefficients ``a[..., 1:] / a[..., :1]`` (a polynomial made monic), in float."""
    a = _data(a, who, "a")
    if a.shape[-1] < 2:
        raise ValueError(f"{who}: a must have at least two coefficients, got shape {a.shape}")
    if type(a) is not Tracer and np.any(a[..., 0] == 0):
        raise ValueError(f"{who}: the leading coefficient a[0] must be nonzero")
    if a.dtype.kind not in "fc":
        a = fnp.astype(a, np.float64)
    return a[..., 1:] / a[..., :1]


def companion(a):
    """``scipy.linalg.companion``: the companion matrix of the polynomial with coefficients
    ``a`` (highest degree first): first row ``-a[1:] / a[0]``, ones below the diagonal.

    >>> companion(np.array([1.0, -3.0, 2.0]))      # roots 1 and 2
    array([[ 3., -2.],
           [ 1.,  0.]])
    """
    coefficients = _monic(a, "companion")
    n = coefficients.shape[-1]
    ones = fnp.ones(coefficients.shape[:-1] + (n - 1,), coefficients.dtype)
    values = fnp.concatenate([-coefficients, ones], axis=-1)
    rows = [0] * n + list(range(1, n))
    cols = list(range(n)) + list(range(n - 1))
    return _place(values, rows, cols, (n, n))


def fiedler_companion(a):
    """``scipy.linalg.fiedler_companion``: Fiedler's pentadiagonal companion matrix of the
    polynomial ``a`` (highest degree first; the same eigenvalues as ``companion(a)``).

    >>> fiedler_companion(np.array([1.0, 2.0, 3.0, 4.0]))
    array([[-2., -3.,  1.],
           [ 1.,  0.,  0.],
           [ 0., -4.,  0.]])
    """
    coefficients = _monic(a, "fiedler_companion")
    n = coefficients.shape[-1]
    rows, cols = [0], [0]                          # -a_1 on the first diagonal entry
    for k in range(1, n):                          # -a_{k+1}: alternately below, right
        rows.append(2 * (k // 2))
        cols.append(k if k % 2 else k - 1)
    ones = [(1, 0)] if n > 1 else []                # ones below, then right of, the -a's
    ones += [(2 * i + 1, 2 * i - 1) for i in range(1, n) if 2 * i + 1 < n]
    ones += [(2 * i, 2 * i + 2) for i in range(n) if 2 * i + 2 < n]
    values = fnp.concatenate([-coefficients, fnp.ones(coefficients.shape[:-1] + (len(ones),),
                                                      coefficients.dtype)], axis=-1)
    rows += [i for i, _ in ones]
    cols += [j for _, j in ones]
    return _place(values, rows, cols, (n, n))


def leslie(f, s):
    """``scipy.linalg.leslie``: the Leslie matrix with fecundities ``f`` ``(..., n)`` as its
    first row and survival rates ``s`` ``(..., n - 1)`` on the subdiagonal.

    >>> leslie(np.array([0.5, 1.0]), np.array([0.8]))
    array([[0.5, 1. ],
           [0.8, 0. ]])
    """
    f, s = _data(f, "leslie", "f"), _data(s, "leslie", "s")
    n = f.shape[-1]
    if s.shape[-1] != n - 1:
        raise ValueError(f"leslie: s must have one entry fewer than f ({n - 1}), got "
                         f"{s.shape[-1]}")
    values = fnp.concatenate(_common_batch(f, s), axis=-1)
    return _place(values, [0] * n + list(range(1, n)), list(range(n)) + list(range(n - 1)),
                  (n, n))


def fiedler(a):
    """``scipy.linalg.fiedler``: the symmetric matrix ``|a[..., i] - a[..., j]|``.

    >>> fiedler(np.array([1.0, 4.0, 2.0]))
    array([[0., 3., 1.],
           [3., 0., 2.],
           [1., 2., 0.]])
    """
    a = _data(a, "fiedler", "a")
    return fnp.abs(fnp.expand_dims(a, -1) - fnp.expand_dims(a, -2))


_CONVOLUTION_MODES = ("full", "same", "valid")


def convolution_matrix(a, n: int, mode: str = "full"):
    """``scipy.linalg.convolution_matrix``: ``A`` with ``A @ v == numpy.convolve(a, v, mode)``
    for ``v`` of length ``n``: a Toeplitz matrix of ``a``, its rows cut by ``mode``.

    >>> convolution_matrix(np.array([1.0, 2.0]), 3, "full")
    array([[1., 0., 0.],
           [2., 1., 0.],
           [0., 2., 1.],
           [0., 0., 2.]])
    """
    a = _data(a, "convolution_matrix", "a")
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"convolution_matrix: n must be a positive integer, got {n}")
    if mode not in _CONVOLUTION_MODES:
        raise ValueError(f"convolution_matrix: mode must be one of {_CONVOLUTION_MODES}, got "
                         f"{mode!r}")
    m = a.shape[-1]
    if m == 0:
        raise ValueError("convolution_matrix: a must not be empty")
    zero = fnp.zeros(a.shape[:-1] + (1,), a.dtype)
    # (i, j) of the full matrix is a[i - j] where 0 <= i - j < m: index m points at the zero.
    values = fnp.concatenate([a, zero], axis=-1)
    offsets = np.subtract.outer(np.arange(m + n - 1), np.arange(n))
    full = np.where((offsets >= 0) & (offsets < m), offsets, m)
    if mode == "same":
        start = (min(m, n) - 1) // 2
        full = full[start:start + max(m, n)]
    elif mode == "valid":
        full = full[min(m, n) - 1:max(m, n)]
    return _gather_last(values, full)


# ------------------------------------------------------------- matrices of a given size

def _size(n, who: str) -> int:
    return nonnegative_int(n, who, "n")


def hadamard(n: int, dtype=int):
    """``scipy.linalg.hadamard``: Sylvester's Hadamard matrix of order ``n`` (a power of 2).

    >>> hadamard(2)
    array([[ 1,  1],
           [ 1, -1]])
    """
    n = _size(n, "hadamard")
    if n < 1 or n & (n - 1):
        raise ValueError(f"hadamard: n must be a positive power of 2, got {n}")
    h = np.ones((1, 1), dtype=dtype)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def helmert(n: int, full: bool = False):
    """``scipy.linalg.helmert``: the orthogonal Helmert matrix of order ``n``, without its
    first (constant) row unless ``full``.

    >>> np.round(helmert(2, full=True), 4)
    array([[ 0.7071,  0.7071],
           [ 0.7071, -0.7071]])
    """
    n = _size(n, "helmert")
    k = np.arange(1, n)
    rows = np.tri(n - 1, n, 0) - np.eye(n - 1, n, 1) * k[:, None]   # k ones, then -k
    h = np.vstack([np.ones((1, n)), rows]) / np.sqrt(np.concatenate([[n], k * (k + 1)]))[:, None]
    return h if full else h[1:]


def hilbert(n: int):
    """``scipy.linalg.hilbert``: ``1 / (i + j + 1)``.

    >>> hilbert(2)
    array([[1.        , 0.5       ],
           [0.5       , 0.33333333]])
    """
    n = _size(n, "hilbert")
    return 1.0 / (np.add.outer(np.arange(n), np.arange(n)) + 1.0)


def invhilbert(n: int, exact: bool = False):
    """``scipy.linalg.invhilbert``: the inverse of ``hilbert(n)`` from its closed form (exact
    integers with ``exact``: int64, or Python ints where they do not fit).

    >>> invhilbert(2)
    array([[ 4., -6.],
           [-6., 12.]])
    """
    n = _size(n, "invhilbert")
    comb = math.comb
    entries = [[(-1) ** (i + j) * (i + j + 1) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
                * comb(i + j, i) ** 2 for j in range(n)] for i in range(n)]
    if not exact:
        return np.array(entries, dtype=np.float64).reshape(n, n)
    big = n > 14     # SciPy's threshold: from n = 15 the entries overflow int64
    return np.array(entries, dtype=object if big else np.int64).reshape(n, n)


_PASCAL_KINDS = ("symmetric", "lower", "upper")


def _pascal_lower(n: int, signed: bool):
    """``C(i, j)`` (times ``(-1)^(i + j)`` if ``signed``) as Python ints, ``(n, n)``."""
    return [[(-1) ** (i + j) * math.comb(i, j) if signed else math.comb(i, j)
             for j in range(n)] for i in range(n)]


def _pascal_array(entries, n, exact, dtype):
    if not exact:
        return np.array(entries, dtype=np.float64).reshape(n, n)
    return np.array(entries, dtype=dtype).reshape(n, n)


def _pascal_kind(kind, who):
    if kind not in _PASCAL_KINDS:
        raise ValueError(f"{who}: kind must be one of {_PASCAL_KINDS}, got {kind!r}")


def pascal(n: int, kind: str = "symmetric", exact: bool = True):
    """``scipy.linalg.pascal``: binomial coefficients, ``C(i + j, i)`` (``'symmetric'``),
    ``C(i, j)`` (``'lower'``) or its transpose (``'upper'``); uint64 with ``exact`` (Python
    ints from ``n = 35``, where they overflow), float64 otherwise.

    >>> pascal(3)
    array([[1, 1, 1],
           [1, 2, 3],
           [1, 3, 6]], dtype=uint64)
    """
    n = _size(n, "pascal")
    _pascal_kind(kind, "pascal")
    if kind == "symmetric":
        entries = [[math.comb(i + j, i) for j in range(n)] for i in range(n)]
    else:
        entries = _pascal_lower(n, signed=False)
    result = _pascal_array(entries, n, exact, object if n > 34 else np.uint64)
    return result.T if kind == "upper" else result


def invpascal(n: int, kind: str = "symmetric", exact: bool = True):
    """``scipy.linalg.invpascal``: the inverse of ``pascal(n, kind)``: for ``'lower'`` the
    signed binomials ``(-1)^(i + j) C(i, j)``, for ``'symmetric'`` the product of the upper
    and lower ones; int64 with ``exact`` (Python ints from ``n = 35``), float64 otherwise.

    >>> invpascal(3)
    array([[ 3, -3,  1],
           [-3,  5, -2],
           [ 1, -2,  1]])
    """
    n = _size(n, "invpascal")
    _pascal_kind(kind, "invpascal")
    lower = _pascal_lower(n, signed=True)
    if kind == "symmetric":   # pascal = L L^T, so its inverse is L^-T L^-1
        entries = [[sum(lower[k][i] * lower[k][j] for k in range(n)) for j in range(n)]
                   for i in range(n)]
    else:
        entries = lower
    result = _pascal_array(entries, n, exact, object if n > 34 else np.int64)
    return result.T if kind == "upper" else result


def dft(n: int, scale=None):
    """``scipy.linalg.dft``: the discrete Fourier transform matrix ``exp(-2 pi i j k / n)``,
    divided by ``sqrt(n)`` (``scale='sqrtn'``) or ``n`` (``'n'``).

    >>> np.round(dft(2), 12)
    array([[ 1.+0.j,  1.+0.j],
           [ 1.+0.j, -1.-0.j]])
    """
    n = _size(n, "dft")
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"dft: scale must be None, 'sqrtn' or 'n', got {scale!r}")
    powers = np.outer(np.arange(n), np.arange(n)) % max(n, 1)
    m = np.exp(-2j * np.pi * powers / max(n, 1))
    if scale == "sqrtn":
        m = m / math.sqrt(n)
    elif scale == "n":
        m = m / n
    return m
