"""The discrete Fourier transform: one primitive, ``fft``, with every rule beside it.

``fft[fft_type, axes, norm, n]`` transforms over ``axes`` (sorted, non-negative) as NumPy's
pocketfft does, with NumPy's ``norm`` (``backward``, ``ortho``, ``forward``):

- ``fft`` / ``ifft``: complex to complex, ``numpy.fft.fftn`` / ``ifftn``;
- ``rfft``: real to complex, ``numpy.fft.rfftn``: the last axis of ``axes`` keeps its
  ``n // 2 + 1`` non-negative frequencies;
- ``irfft``: complex to real, ``numpy.fft.irfftn``, to length ``n`` on the last axis of
  ``axes``, whose input length must be ``n // 2 + 1``.

Padding and cropping (NumPy's ``n`` and ``s``) are done outside, by ``funcgrad.numpy.fft``
with slices and concatenations, so the primitive is a plain linear map and its transpose is
another transform. Under the real pairing of JAX's convention (``Re(sum(a * b))``, see
``complex_numbers``) the transposes are:

- of ``fft`` (``ifft``): itself, with the same ``norm`` (the DFT matrix is symmetric);
- of ``rfft``: the real part of ``fft`` of the cotangent zero-padded back to ``n``;
- of ``irfft``: ``ifft`` of the (complex) real cotangent, cropped to ``n // 2 + 1`` and
  weighted 2 on the frequencies that stand for a conjugate pair (1 on frequency 0, and on
  ``n / 2`` when ``n`` is even): ``irfft`` is ``Re(sum_k w_k y_k e^{2 pi i jk/n})`` scaled,
  which also says that it ignores the imaginary parts of those two frequencies.

Each rule is the primitive again (or slices and products), so derivatives nest to any order;
compiled programs call NumPy's pocketfft through the same ``impl``.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import complex_numbers as cn
from . import elementwise as ew
from . import structural as st
from . import taylor as ts

FFT_TYPES = ("fft", "ifft", "rfft", "irfft")
NORMS = ("backward", "ortho", "forward")

# Category "linalg": like the factorizations, it runs NumPy's own code (pocketfft) on whole
# arrays, never inside a fused kernel.
fft_p = Primitive("fft", "linalg")


def _impl(x, *, fft_type, axes, norm, n):
    if fft_type == "fft":
        return np.fft.fftn(x, axes=axes, norm=norm)
    if fft_type == "ifft":
        return np.fft.ifftn(x, axes=axes, norm=norm)
    if fft_type == "rfft":
        return np.fft.rfftn(x, axes=axes, norm=norm)
    sizes = [x.shape[a] for a in axes[:-1]] + [n]
    return np.fft.irfftn(x, s=sizes, axes=axes, norm=norm)


def _shape(x, *, fft_type, axes, norm, n):
    if fft_type not in FFT_TYPES or norm not in NORMS:
        raise ShapeError(f"fft_type must be one of {FFT_TYPES} and norm one of {NORMS}")
    if not axes or any(not 0 <= a < x.ndim for a in axes) or list(axes) != sorted(set(axes)):
        raise ShapeError(f"axes {axes} must be sorted, distinct axes of a {x.ndim}-d array")
    shape = list(x.shape)
    last = axes[-1]
    if fft_type in ("fft", "ifft"):
        if x.dtype.kind != "c":
            raise ShapeError(f"{fft_type} takes a complex operand, not {x.dtype.name}")
        return x
    if fft_type == "rfft":
        if x.dtype.kind != "f":
            raise ShapeError(f"rfft takes a real floating operand, not {x.dtype.name}")
        shape[last] = shape[last] // 2 + 1
        return ShapedArray(shape, cn.complex_dtype(x.dtype))
    if x.dtype.kind != "c":
        raise ShapeError(f"irfft takes a complex operand, not {x.dtype.name}")
    if n < 1 or shape[last] != n // 2 + 1:
        raise ShapeError(f"irfft to length {n} takes {n // 2 + 1} frequencies on axis {last}, "
                         f"not {shape[last]}")
    shape[last] = n
    return ShapedArray(shape, cn.real_dtype(x.dtype))


def fft(x, fft_type: str, axes, norm: str = "backward", n: int = 0):
    """Bind the primitive (``axes`` sorted and non-negative; ``n`` for ``irfft`` only)."""
    return fft_p.bind(x, fft_type=fft_type, axes=tuple(int(a) for a in axes), norm=norm,
                      n=int(n))


def _jvp(primals, tangents, **params):
    return fft_p.bind(primals[0], **params), fft_p.bind(tangents[0], **params)


def resize(x, axis: int, length: int):
    """``x`` cropped, or padded with zeros at the end, to ``length`` along ``axis``."""
    size = np.shape(x)[axis]
    if size == length:
        return x
    if size > length:
        return st.slice_along(x, axis, 0, length)
    shape = list(np.shape(x))
    shape[axis] = length - size
    return st.concatenate([x, np.zeros(shape, x.dtype)], axis)


def _irfft_weights(n: int, length: int, dtype):
    """2 on the frequencies of a conjugate pair, 1 on 0 (and on ``n / 2`` for even ``n``)."""
    weights = np.full(length, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    return weights.astype(dtype)


def _vjp(needs, g, ans, x, *, fft_type, axes, norm, n):
    if fft_type in ("fft", "ifft"):
        return (fft(g, fft_type, axes, norm),)
    last = axes[-1]
    if fft_type == "rfft":
        padded = resize(g, last, x.shape[last])
        return (cn.real(fft(padded, "fft", axes, norm)),)
    full = fft(ew.convert(g, x.dtype), "ifft", axes, norm)
    cropped = resize(full, last, x.shape[last])
    shape = [1] * x.ndim
    shape[last] = x.shape[last]
    weights = _irfft_weights(n, x.shape[last], x.dtype).reshape(shape)
    return (ew.mul(cropped, weights),)


def _batch(args, dims, *, axes, **params):
    (x,), (dim,) = args, dims
    x = st.batch_to_front(x, dim)
    return fft(x, axes=[a + 1 for a in axes], **params), 0


fft_p.impl = _impl
fft_p.abstract_eval = _shape
fft_p.jvp = _jvp
fft_p.vjp = _vjp
fft_p.batch = _batch
fft_p.taylor = ts.linear(fft_p)   # linear: each Taylor coefficient is transformed alike
