"""``funcgrad.numpy.fft``: NumPy's discrete Fourier transforms, traceable and differentiable.

The names and signatures of ``numpy.fft`` (``n``, ``axis``/``axes``, ``s``, ``norm``), and its
dtypes (float32 stays single precision, as in NumPy 2). On concrete arrays they are NumPy's
own; on traced arrays they pad or crop with slices and concatenations, as NumPy does, then
bind the one ``fft`` primitive (``funcgrad.ops.fft``), whose derivatives are the transforms'
transposes (JAX's complex convention: ``grad`` of a real loss of a spectrum is ``jax.grad``'s).
Under ``jit`` the transform is a call into NumPy's pocketfft.

>>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
>>> x = np.array([1.0, 2.0, 0.0, -1.0])
>>> np.allclose(fg.jit(fnp.fft.rfft)(x), np.fft.rfft(x))
True
>>> fg.grad(lambda x: fnp.sum(fnp.abs(fnp.fft.fft(x)) ** 2))(x)   # Parseval: 2 n x
array([ 8., 16.,  0., -8.])
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core.trace import Tracer
from ..ops import complex_numbers as cn
from ..ops import elementwise as ew
from ..ops import fft as fo
from ._core import asarray_or_tracer, cast
from ._core import traced as _traced
from ._shape import roll

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]



def _norm(norm, who: str) -> str:
    if norm is None:
        return "backward"
    if norm not in fo.NORMS:
        raise ValueError(f'{who}: invalid norm value {norm!r}; should be "backward", "ortho" '
                         'or "forward".')
    return norm


def _swap_direction(norm):
    """hfft and ihfft are irfft and rfft with the scale of the other direction (NumPy's)."""
    return {"backward": "forward", "ortho": "ortho", "forward": "backward"}[
        _norm(norm, "hfft")]


def _axes_and_sizes(a, s, axes, who: str):
    """NumPy's defaults: every axis (or the last ``len(s)``), each at its own length."""
    ndim = a.ndim
    if axes is None:
        axes = list(range(ndim)) if s is None else list(range(ndim - len(s), ndim))
    axes = [normalize_axis_index(int(axis), ndim) for axis in axes]
    if s is None:
        s = [a.shape[axis] for axis in axes]
    s = [int(size) for size in s]
    if len(s) != len(axes):
        raise ValueError(f"{who}: shape and axes have different lengths")
    if not axes:
        raise ValueError(f"{who}: no axes to transform")
    if any(size < 1 for size in s):
        raise ValueError(f"{who}: invalid number of data points ({min(s)}) specified")
    return axes, s


def _transform(a, axes, sizes, norm, fft_type):
    """Resize ``a`` on each axis, then bind the primitive over the sorted axes: the last
    transformed axis (the real one of rfft/irfft) must stay last, so a permutation of
    ``axes`` that moves it is done as two transforms (c2c ones commute)."""
    n = 0
    for axis, size in zip(axes, sizes):
        if fft_type == "irfft" and axis == axes[-1]:
            n = size
            size = size // 2 + 1
        a = fo.resize(a, axis, size)
    last = axes[-1]
    if len(set(axes)) != len(axes):   # a repeated axis is transformed again (NumPy's)
        if fft_type in ("rfft", "irfft"):
            raise ValueError(f"{fft_type}n: repeated axes {axes} are not supported")
        for axis in axes:
            a = fo.fft(a, fft_type, [axis], norm)
        return a
    if fft_type in ("rfft", "irfft") and last != max(axes):
        others = sorted(set(axes) - {last})
        c2c = "fft" if fft_type == "rfft" else "ifft"
        if fft_type == "rfft":
            return fo.fft(fo.fft(a, "rfft", [last], norm), c2c, others, norm)
        return fo.fft(fo.fft(a, c2c, others, norm), "irfft", [last], norm, n)
    return fo.fft(a, fft_type, sorted(set(axes)), norm, n)


def _complex_operand(a):
    a = asarray_or_tracer(a)
    return cast(a, cn.complex_dtype(a.dtype))


def _real_operand(a, who: str):
    a = asarray_or_tracer(a)
    if a.dtype.kind == "c":
        raise TypeError(f"{who}: the input is complex ({a.dtype.name}); {who} takes real "
                        "arrays (use fft for complex ones)")
    return cast(a, a.dtype if a.dtype.kind == "f" else np.float64)


def _c2c(numpy_fn, fft_type, who):
    def function(a, s=None, axes=None, norm=None, out=None):
        if not _traced(a):
            return numpy_fn(a, s=s, axes=axes, norm=norm, out=out)
        _no_out(who, out)
        a = _complex_operand(a)
        axes, sizes = _axes_and_sizes(a, s, axes, who)
        return _transform(a, axes, sizes, _norm(norm, who), fft_type)
    return _named(function, who)


def _named(function, who):
    function.__name__ = who
    function.__doc__ = (f"``numpy.fft.{who}``, traceable and differentiable (see the module).")
    return function


def _no_out(who, out):
    if out is not None:
        raise TypeError(f"{who}: out= is not supported on traced arrays; use the returned value")


def _one_axis(numpy_fn, nd_function, who):
    def function(a, n=None, axis=-1, norm=None, out=None):
        if not _traced(a):
            return numpy_fn(a, n=n, axis=axis, norm=norm, out=out)
        _no_out(who, out)
        return nd_function(a, None if n is None else [n], [axis], norm)
    return _named(function, who)


def _two_axes(nd_function, numpy_fn, who):
    def function(a, s=None, axes=(-2, -1), norm=None, out=None):
        if not _traced(a):
            return numpy_fn(a, s=s, axes=axes, norm=norm, out=out)
        return nd_function(a, s, axes, norm, out)
    return _named(function, who)


fftn = _c2c(np.fft.fftn, "fft", "fftn")
ifftn = _c2c(np.fft.ifftn, "ifft", "ifftn")


def rfftn(a, s=None, axes=None, norm=None, out=None):
    if not _traced(a):
        return np.fft.rfftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out("rfftn", out)
    a = _real_operand(a, "rfftn")
    axes, sizes = _axes_and_sizes(a, s, axes, "rfftn")
    return _transform(a, axes, sizes, _norm(norm, "rfftn"), "rfft")


def irfftn(a, s=None, axes=None, norm=None, out=None):
    if not _traced(a):
        return np.fft.irfftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out("irfftn", out)
    a = _complex_operand(a)
    axes, sizes = _axes_and_sizes(a, s, axes, "irfftn")
    if s is None:   # the last axis holds n // 2 + 1 frequencies of n = 2 (m - 1) points
        sizes[-1] = 2 * (a.shape[axes[-1]] - 1)
    return _transform(a, axes, sizes, _norm(norm, "irfftn"), "irfft")


rfftn, irfftn = _named(rfftn, "rfftn"), _named(irfftn, "irfftn")
fft = _one_axis(np.fft.fft, fftn, "fft")
ifft = _one_axis(np.fft.ifft, ifftn, "ifft")
rfft = _one_axis(np.fft.rfft, rfftn, "rfft")
irfft = _one_axis(np.fft.irfft, irfftn, "irfft")
fft2 = _two_axes(fftn, np.fft.fft2, "fft2")
ifft2 = _two_axes(ifftn, np.fft.ifft2, "ifft2")
rfft2 = _two_axes(rfftn, np.fft.rfft2, "rfft2")
irfft2 = _two_axes(irfftn, np.fft.irfft2, "irfft2")


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """``numpy.fft.hfft``: the real spectrum of a Hermitian-symmetric signal (given by its
    first half), ``irfft(conj(a))`` with the forward scale."""
    if not _traced(a):
        return np.fft.hfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out("hfft", out)
    a = _complex_operand(a)
    if n is None:
        n = 2 * (a.shape[normalize_axis_index(axis, a.ndim)] - 1)
    return irfft(cn.conj(a), n, axis, _swap_direction(norm))


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """``numpy.fft.ihfft``: the inverse of ``hfft``, ``conj(rfft(a))`` with the inverse
    scale."""
    if not _traced(a):
        return np.fft.ihfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out("ihfft", out)
    return cn.conj(rfft(a, n, axis, _swap_direction(norm)))


def fftfreq(n, d=1.0, device=None):
    """``numpy.fft.fftfreq``: the sample frequencies of an ``n``-point transform with spacing
    ``d`` (which may be traced: the frequencies are then differentiable in it)."""
    if not isinstance(d, Tracer):
        return np.fft.fftfreq(n, d, device=device)
    return ew.div(cast(np.fft.fftfreq(n), d.dtype), d)


def rfftfreq(n, d=1.0, device=None):
    """``numpy.fft.rfftfreq``: the non-negative sample frequencies of ``rfft``."""
    if not isinstance(d, Tracer):
        return np.fft.rfftfreq(n, d, device=device)
    return ew.div(cast(np.fft.rfftfreq(n), d.dtype), d)


def _shift(x, axes, sign, numpy_fn):
    if not _traced(x):
        return numpy_fn(x, axes)
    x = asarray_or_tracer(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    shifts = [sign * (x.shape[axis] // 2) for axis in axes]
    return roll(x, shifts, tuple(axes))


def fftshift(x, axes=None):
    """``numpy.fft.fftshift``: frequency 0 moved to the centre (a roll)."""
    return _shift(x, axes, 1, np.fft.fftshift)


def ifftshift(x, axes=None):
    """``numpy.fft.ifftshift``: the inverse of ``fftshift``."""
    return _shift(x, axes, -1, np.fft.ifftshift)
