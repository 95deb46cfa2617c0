"""Polynomials as coefficient vectors, highest power first (NumPy's ``poly*`` functions):
poly, polyadd, polysub, polymul, polydiv, polyder, polyint, polyfit, roots, vander.

On concrete arrays each is NumPy's. Traced, each is arithmetic on the coefficients written
with funcgrad's operations, so it is differentiable: ``polyfit`` is a least-squares solve
(``linalg.lstsq``) of the scaled Vandermonde system, ``polymul`` a convolution, ``vander``
a running product (NumPy's, so the powers agree to the last bit).

Two results have sizes that depend on values. ``roots`` drops leading and trailing zero
coefficients (``strip_zeros=True``, NumPy's behaviour), which needs known values; traced
ones can pass ``strip_zeros=False`` (jax.numpy's keyword), which keeps them: the roots are
the eigenvalues of the companion matrix (complex). ``polydiv``'s remainder loses its leading
zeros in NumPy; traced, it keeps its full length unless ``trim_leading_zeros=True`` (jax.numpy's
keyword) and the values are known (by default, ``None``, it is trimmed where they are known:
on concrete arrays and under ``grad``, not under ``jit``).
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ConcretizationError, at_user_line
from ..core.trace import _UNKNOWN, Tracer, known_value
from . import _elementwise as el
from ._core import asarray_or_tracer, cast, common_dtype
from ._core import traced as _traced
from ._creation import _require_concrete

__all__ = ["poly", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint",
           "polyfit", "roots", "vander"]



def _vector(p, who: str):
    p = asarray_or_tracer(p)
    if np.ndim(p) == 0:
        from ._shape import reshape
        p = reshape(p, (1,))
    if np.ndim(p) != 1:
        raise ValueError(f"{who}: a polynomial is a 1-d array of coefficients, got shape "
                         f"{np.shape(p)}")
    return p


def _leading_zeros(p, count: int):
    from ._shape import concatenate
    if count <= 0:
        return p
    return concatenate([np.zeros(count, p.dtype), p])


def _aligned(a1, a2, who: str):
    """Two coefficient vectors, the shorter with leading zeros to the longer's length."""
    a1, a2 = _vector(a1, who), _vector(a2, who)
    n = max(a1.shape[0], a2.shape[0])
    return _leading_zeros(a1, n - a1.shape[0]), _leading_zeros(a2, n - a2.shape[0])


def polyadd(a1, a2):
    """``numpy.polyadd``: the sum of two polynomials."""
    if not _traced(a1, a2):
        return np.polyadd(a1, a2)
    return el.add(*_aligned(a1, a2, "polyadd"))


def polysub(a1, a2):
    """``numpy.polysub``: the difference of two polynomials."""
    if not _traced(a1, a2):
        return np.polysub(a1, a2)
    return el.subtract(*_aligned(a1, a2, "polysub"))


def polymul(a1, a2):
    """``numpy.polymul``: the product of two polynomials (a convolution). No coefficients
    is the zero polynomial. NumPy drops leading zero coefficients first (its ``poly1d``);
    traced, they are kept, as by jax.numpy's ``polymul`` (``trim_leading_zeros=False``), so
    the product has ``len(a1) + len(a2) - 1`` coefficients."""
    if not _traced(a1, a2):
        return np.polymul(a1, a2)
    from ._math import convolve
    # No coefficients is the zero polynomial, as to NumPy (its poly1d reads [] as [0]).
    a1, a2 = (p if np.shape(p)[0] else np.zeros(1, p.dtype)
              for p in (_vector(a1, "polymul"), _vector(a2, "polymul")))
    return convolve(a1, a2)


def poly(seq_of_zeros):
    """``numpy.poly``: the monic polynomial with the given roots (of a square matrix: of
    its eigenvalues). Traced real roots are differentiable."""
    if not _traced(seq_of_zeros):
        return np.poly(seq_of_zeros)
    from ._math import convolve
    zeros = asarray_or_tracer(seq_of_zeros)
    real_matrix = False
    if np.ndim(zeros) == 2 and zeros.shape[0] == zeros.shape[1] and zeros.shape[0]:
        from .linalg import eigvals
        real_matrix = zeros.dtype.kind != "c"   # (its eigenvalues pair up: real coefficients)
        zeros = eigvals(zeros)
    elif np.ndim(zeros) != 1:
        raise ValueError("poly: input must be 1d or non-empty square 2d array.")
    if zeros.shape[0] == 0:
        return np.ones((), np.float64)   # NumPy's 1.0, whatever the dtype of no roots
    dtype = common_dtype(zeros, 1.0)
    coefficients = np.ones(1, dtype)
    for k in range(zeros.shape[0]):
        from ._shape import stack
        factor = stack([np.ones((), dtype), el.negative(cast(zeros[k], dtype))])
        coefficients = convolve(coefficients, factor)
    if real_matrix and coefficients.dtype.kind == "c":
        from ._math import real
        coefficients = real(coefficients)
    return coefficients


def polyder(p, m=1):
    """``numpy.polyder``: the ``m``-th derivative of a polynomial."""
    _require_concrete("polyder", m=m)
    if not _traced(p):
        return np.polyder(p, m)
    if m < 0:
        raise ValueError("polyder: order of derivative must be positive (see polyint)")
    p = _vector(p, "polyder")
    for _ in range(m):   # (NumPy's: the derivative of a constant is empty)
        p = el.multiply(p[:-1], np.arange(p.shape[0] - 1, 0, -1)) if p.shape[0] > 1 else \
            el.multiply(p[:0], np.zeros(0, np.int64))
    return p


def polyint(p, m=1, k=None):
    """``numpy.polyint``: the ``m``-th antiderivative of a polynomial, with integration
    constants ``k`` (zeros by default; may be traced)."""
    _require_concrete("polyint", m=m)
    if not _traced(p, k):
        return np.polyint(p, m, k)
    if m < 0:
        raise ValueError("polyint: order of integral must be positive (see polyder)")
    from ._shape import concatenate, reshape
    p = _vector(p, "polyint")
    constants = np.zeros(m) if k is None else asarray_or_tracer(k)
    if np.ndim(constants) == 0:
        constants = reshape(constants, (1,)) if isinstance(constants, Tracer) else \
            np.full(m, constants)
    if constants.shape[0] < m:
        raise ValueError("polyint: k must be a scalar or a rank-1 array of length m.")
    for i in range(m):
        p = concatenate([el.true_divide(p, np.arange(p.shape[0], 0, -1)),
                         reshape(constants[i], (1,))])
    return p


def polydiv(u, v, *, trim_leading_zeros=None):
    """``numpy.polydiv``: quotient and remainder of polynomial division (float results).
    See the module for the remainder's leading zeros (None: trimmed where known)."""
    if not _traced(u, v) and trim_leading_zeros is not False:
        return np.polydiv(u, v)
    from ._indexing import at
    from ._shape import stack
    u, v = _vector(u, "polydiv"), _vector(v, "polydiv")
    dtype = common_dtype(u, v, 0.0)
    u, v = cast(u, dtype), cast(v, dtype)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = el.true_divide(1.0, v[0])
    remainder, quotient = u, []
    for k in range(m - n + 1):
        d = el.multiply(scale, remainder[k])
        quotient.append(d)
        remainder = at(remainder)[k:k + n + 1].add(el.negative(el.multiply(d, v)))
    quotient = stack(quotient) if quotient else np.zeros(1, dtype)
    if trim_leading_zeros is not False:
        value = known_value(remainder) if isinstance(remainder, Tracer) else remainder
        if value is _UNKNOWN and trim_leading_zeros is None:
            return quotient, remainder
        if value is _UNKNOWN:
            raise ConcretizationError(at_user_line(
                "polydiv: trim_leading_zeros=True needs the remainder's values, which are not "
                "known here (under jit, vmap and make_ir); leave it False"))
        value = np.asarray(value)
        start = 0
        while start < value.shape[0] - 1 and np.allclose(value[start], 0, rtol=1e-14):
            start += 1
        remainder = remainder[start:]
    return quotient, remainder


def vander(x, N=None, increasing=False):
    """``numpy.vander``: the Vandermonde matrix of the 1-d ``x``, powers decreasing (or
    increasing) along the columns."""
    _require_concrete("vander", N=N)
    if not _traced(x):
        return np.vander(x, N, increasing)
    from ._reductions import cumprod
    from ._shape import broadcast_to, concatenate, flip, reshape
    x = asarray_or_tracer(x)
    if x.ndim != 1:
        raise ValueError("vander: x must be a one-dimensional array or sequence.")
    columns = x.shape[0] if N is None else int(N)
    if columns < 0:
        raise ValueError(f"vander: N must not be negative, got {N}")
    dtype = np.promote_types(x.dtype, int)
    x = cast(x, dtype)
    if columns == 0:
        return np.zeros((x.shape[0], 0), dtype)
    repeated = broadcast_to(reshape(x, (x.shape[0], 1)), (x.shape[0], columns - 1))
    powers = cumprod(concatenate([np.ones((x.shape[0], 1), dtype), repeated], axis=1), axis=1)
    return powers if increasing else flip(powers, 1)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``numpy.polyfit``: the least-squares polynomial of degree ``deg`` through the points
    ``(x, y)`` (``y`` one column or several), optionally weighted by ``w``; ``full`` adds
    the residuals, rank, singular values and ``rcond``; ``cov`` the coefficients'
    covariance. Differentiable in ``x``, ``y`` and ``w``."""
    _require_concrete("polyfit", deg=deg, rcond=rcond)
    if not _traced(x, y, w):
        return np.polyfit(x, y, deg, rcond, full, w, cov)
    from ._linalg import dot, outer
    from ._reductions import sum as sum_
    from .linalg import inv, lstsq
    order = int(deg) + 1
    x, y = (cast(asarray_or_tracer(v), common_dtype(v, 0.0)) for v in (x, y))
    if deg < 0:
        raise ValueError("polyfit: expected deg >= 0")
    if x.ndim != 1 or x.shape[0] == 0:
        raise TypeError("polyfit: expected a non-empty 1-d x")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise TypeError("polyfit: expected a 1-d or 2-d y with as many rows as x has points")
    rcond = x.shape[0] * np.finfo(x.dtype).eps if rcond is None else rcond
    lhs, rhs = vander(x, order), y
    if w is not None:
        w = asarray_or_tracer(w)
        if np.shape(w) != (x.shape[0],):
            raise TypeError("polyfit: expected a 1-d w as long as x")
        lhs = el.multiply(lhs, w[:, None])
        rhs = el.multiply(rhs, w if rhs.ndim == 1 else w[:, None])
    scale = el.sqrt(sum_(el.multiply(lhs, lhs), axis=0))
    lhs = el.true_divide(lhs, scale)
    c, residuals, rank, singular = lstsq(lhs, rhs, rcond)
    c = el.true_divide(c, scale if c.ndim == 1 else scale[:, None])
    if full:
        return c, residuals, rank, singular, rcond
    if not cov:
        return c
    base = el.true_divide(inv(dot(lhs.T, lhs)), outer(scale, scale))
    if cov == "unscaled":
        factor = 1.0
    else:
        if x.shape[0] <= order:
            raise ValueError("polyfit: the number of data points must exceed order to scale "
                             "the covariance matrix")
        factor = el.true_divide(residuals, x.shape[0] - order)
    if c.ndim == 1:
        return c, el.multiply(base, factor[0] if np.ndim(factor) else factor)
    return c, el.multiply(base[:, :, None], factor)


def roots(p, *, strip_zeros=True):
    """``numpy.roots``: the roots of a polynomial, the eigenvalues of its companion matrix.
    See the module for ``strip_zeros``."""
    if not isinstance(p, Tracer):
        return np.roots(p)
    p = _vector(p, "roots")
    if strip_zeros:
        value = known_value(p)
        if value is _UNKNOWN:
            raise ConcretizationError(at_user_line(
                f"roots: strip_zeros=True drops the zero coefficients at both ends, so the "
                f"number of roots depends on the values of {p._describe()}, which are not "
                f"known here (under jit, vmap and make_ir). Pass strip_zeros=False (the "
                f"leading coefficient must then be nonzero), or call roots on a concrete "
                f"array."))
        nonzero = np.flatnonzero(np.asarray(value))
        if not len(nonzero):
            return np.zeros(0, p.dtype if p.dtype.kind == "c" else np.float64)
        trailing = p.shape[0] - 1 - nonzero[-1]
        p = p[int(nonzero[0]):int(nonzero[-1]) + 1]
    else:
        trailing = 0
    n = p.shape[0] - 1
    if n < 1:
        found = np.zeros(0, np.complex128)
    else:
        from ._shape import concatenate
        from .linalg import eigvals
        dtype = common_dtype(p, 0.0)
        p = cast(p, dtype)
        first_row = el.negative(el.true_divide(p[1:], p[0]))[None, :]
        companion = concatenate([first_row, np.eye(n - 1, n, dtype=dtype)], axis=0)
        found = eigvals(companion)
        value = known_value(found)   # NumPy's roots are real where all of them are
        if value is not _UNKNOWN and not np.any(np.imag(value)):
            from ._math import real
            found = real(found)
    if trailing:
        from ._shape import concatenate
        found = concatenate([found, np.zeros(int(trailing), found.dtype)])
    return found
