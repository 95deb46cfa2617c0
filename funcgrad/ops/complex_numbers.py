"""Complex primitives: ``real``, ``imag``, ``conj``, ``complex`` (from two real parts) and
``angle``, with the complex rules of ``abs``.

Derivatives follow JAX's convention (README, "Complex numbers"): a tangent or cotangent of a
complex value is complex, and reverse rules transpose the linear maps of the forward rules
under the real pairing ``<a, b> = Re(sum(a * b))``, without conjugation. So a holomorphic
function's rules are its real ones (``d sin z = cos z dz``; the cotangent of ``z`` is ``g *
cos z``), and the rules written here, for the functions that are not holomorphic, are the
transposes under that pairing:

- ``real``: ``Re t`` forward; a real cotangent ``g`` goes back as ``g + 0j``;
- ``imag``: ``Im t``; back as ``-i g`` (``Re(-i g t) = g Im t``);
- ``conj``: ``conj t``; back as ``conj g``;
- ``complex(x, y)``: ``tx + i ty``; back as ``(Re g, -Im g)``;
- ``abs``: ``Re(conj(z) t) / |z|``; back as ``g conj(z) / |z|`` (0 at ``z = 0``, as JAX);
- ``angle``: ``Im(conj(z) t) / |z|**2``; back as ``-i g conj(z) / |z|**2``.

The gradient of a real function of a complex ``z = x + iy`` is then ``df/dx - i df/dy``,
what ``jax.grad`` returns.
"""
from __future__ import annotations

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import structural
from . import taylor as ts

_REAL = {np.dtype(np.complex64): np.dtype(np.float32),
         np.dtype(np.complex128): np.dtype(np.float64)}
_COMPLEX = {real: cplx for cplx, real in _REAL.items()}
_COMPLEX[np.dtype(np.float16)] = np.dtype(np.complex64)


def real_dtype(dtype) -> np.dtype:
    """The real dtype of a complex dtype's parts (complex64: float32); others as they are."""
    dtype = np.dtype(dtype)
    return _REAL.get(dtype, dtype)


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype whose parts are ``dtype`` (float32: complex64; integers, bools and
    float64: complex128, as NumPy promotes them against ``1j``)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return dtype
    return _COMPLEX.get(dtype, np.dtype(np.complex128))


def _complex_only(who):
    def shape(x):
        if x.dtype.kind != "c":
            raise ShapeError(f"{who} takes a complex operand, not {x.dtype.name}")
        return ShapedArray(x.shape, _REAL[x.dtype])
    return shape


def _copied(function):
    """NumPy's ``real``/``imag`` of an array are views into the complex array: a copy, as
    funcgrad's values never alias each other (``jit`` reuses dead buffers)."""
    def impl(x):
        out = function(x)
        return out.copy() if type(out) is np.ndarray else out
    impl.__name__ = function.__name__
    return impl


def _as_complex(g, dtype):
    """A real cotangent as a complex one (``g + 0j``) of ``dtype``."""
    return ew.convert(g, dtype)


# ----------------------------------------------------------------------------------- real

real_p = Primitive("real", "elementwise")
real_p.impl = _copied(np.real)
real_p.abstract_eval = _complex_only("real")
real_p.jvp = lambda primals, tangents: (real_p.bind(primals[0]), real_p.bind(tangents[0]))
real_p.vjp = lambda needs, g, ans, x: (_as_complex(g, x.dtype),)
real_p.eager_vjp = lambda needs, g, ans, x: (np.asarray(g).astype(x.dtype)[()],)
real_p.batch = ew._elementwise_batch(real_p)


def real(x):
    return real_p.bind(x)


# ----------------------------------------------------------------------------------- imag

imag_p = Primitive("imag", "elementwise")
imag_p.impl = _copied(np.imag)
imag_p.abstract_eval = _complex_only("imag")
imag_p.jvp = lambda primals, tangents: (imag_p.bind(primals[0]), imag_p.bind(tangents[0]))
imag_p.vjp = lambda needs, g, ans, x: (ew.mul(_as_complex(g, x.dtype), x.dtype.type(-1j)),)
imag_p.eager_vjp = lambda needs, g, ans, x: (
    np.asarray(g).astype(x.dtype)[()] * x.dtype.type(-1j),)
imag_p.batch = ew._elementwise_batch(imag_p)


def imag(x):
    return imag_p.bind(x)


# ----------------------------------------------------------------------------------- conj

conj = ew._unary("conj", np.conjugate, kind="linear")
conj_p = conj.primitive

# -------------------------------------------------------------------------------- complex

complex_p = Primitive("complex", "elementwise")
complex_p.impl = lambda x, y: np.asarray(
    np.add(x, np.multiply(y, complex_dtype(np.result_type(x)).type(1j))))[()]


def _complex_shape(x, y):
    if x.dtype.kind != "f" or x.dtype != y.dtype:
        raise ShapeError(f"complex takes two real operands of one floating dtype, not "
                         f"{x.dtype.name} and {y.dtype.name}")
    return ShapedArray(ew._broadcast_shapes(x.shape, y.shape), _COMPLEX[x.dtype])


def _complex_jvp(primals, tangents):
    x, y = primals
    ans = complex_p.bind(x, y)
    tx, ty = (ew.zeros_like(p) if t is None else t for p, t in zip(primals, tangents))
    return ans, ew._broadcast_to(complex_p.bind(tx, ty), np.shape(ans))


def _complex_vjp(needs, g, ans, x, y):
    return (structural.unbroadcast(real(g), np.shape(x)) if needs[0] else None,
            structural.unbroadcast(ew.neg(imag(g)), np.shape(y)) if needs[1] else None)


complex_p.abstract_eval = _complex_shape
complex_p.jvp = _complex_jvp
complex_p.vjp = _complex_vjp
complex_p.batch = ew._elementwise_batch(complex_p)


def make_complex(x, y):
    """``x + 1j * y`` from two real arrays of one dtype."""
    return complex_p.bind(x, y)


# ---------------------------------------------------------------------------------- angle

angle_p = Primitive("angle", "elementwise")
angle_p.impl = lambda z: np.angle(z)[()]
angle_p.abstract_eval = _complex_only("angle")


def _squared_modulus(z):
    a, b = real(z), imag(z)
    return a, b, ew.add(ew.mul(a, a), ew.mul(b, b))


def _angle_jvp(primals, tangents):
    (z,), (t,) = primals, tangents
    a, b, r2 = _squared_modulus(z)
    slope = ew.sub(ew.mul(a, imag(t)), ew.mul(b, real(t)))
    return angle_p.bind(z), ew.div(slope, r2)


def _angle_vjp(needs, g, ans, z):
    a, b, r2 = _squared_modulus(z)
    scaled = ew.div(g, r2)
    return (make_complex(ew.neg(ew.mul(b, scaled)), ew.neg(ew.mul(a, scaled))),)


angle_p.jvp = _angle_jvp
angle_p.vjp = _angle_vjp
angle_p.batch = ew._elementwise_batch(angle_p)


def angle(z):
    return angle_p.bind(z)


# ----------------------------------------------------------------- abs of complex numbers
# ``abs`` is defined in ``elementwise`` with its real rules; on a complex operand its value is
# real, and its rules are these. The real path keeps its own rules (one dtype test more).

abs_p = ew.abs.primitive
_real_abs_shape, _real_abs_jvp = abs_p.abstract_eval, abs_p.jvp
_real_abs_vjp, _real_abs_eager_vjp = abs_p.vjp, abs_p.eager_vjp


def _abs_shape(x):
    if x.dtype.kind == "c":
        return ShapedArray(x.shape, _REAL[x.dtype])
    return x


def _safe_modulus(z, ans):
    """``|z|`` as a complex number, 1 where it is 0 (there the derivative is taken as 0)."""
    return ew.convert(ew.select(ew.eq(ans, ans.dtype.type(0)), ew.full_like(ans, 1), ans),
                      z.dtype)


def _abs_jvp(primals, tangents):
    z = primals[0]
    if z.dtype.kind != "c":
        return _real_abs_jvp(primals, tangents)
    ans = abs_p.bind(z)
    return ans, real(ew.div(ew.mul(conj(z), tangents[0]), _safe_modulus(z, ans)))


def _abs_vjp(needs, g, ans, z):
    if z.dtype.kind != "c":
        return _real_abs_vjp(needs, g, ans, z)
    return (ew.div(ew.mul(_as_complex(g, z.dtype), conj(z)), _safe_modulus(z, ans)),)


def _abs_eager_vjp(needs, g, ans, z):
    if z.dtype.kind != "c":
        return _real_abs_eager_vjp(needs, g, ans, z)
    return _abs_vjp(needs, g, ans, z)


abs_p.abstract_eval = _abs_shape
abs_p.jvp = _abs_jvp
abs_p.vjp = _abs_vjp
abs_p.eager_vjp = _abs_eager_vjp


# ------------------------------------------------------------------- Taylor rules (``jet``)

def _angle_taylor(primals, series, **params):
    """``angle z = atan2(imag z, real z)``: the series of the two parts through atan2's rule."""
    (z,), (terms,) = primals, series
    y, y_terms = imag_p.taylor([z], [terms])
    x, x_terms = real_p.taylor([z], [terms])
    return ew.atan2.primitive.taylor([y, x], [y_terms, x_terms])


_real_abs_taylor = abs_p.taylor


def _abs_taylor(primals, series, **params):
    """``|z| = sqrt(re^2 + im^2)`` on complex operands (real ones: the real rule)."""
    (z,), (terms,) = primals, series
    if z.dtype.kind != "c":
        return _real_abs_taylor(primals, series, **params)
    x = ts.Series.of(*real_p.taylor([z], [terms]))
    y = ts.Series.of(*imag_p.taylor([z], [terms]))
    modulus = ts.sqrt(x * x + y * y, abs_p.bind(z))
    return modulus.primal, modulus.tail()


for _linear in (real_p, imag_p, complex_p):
    _linear.taylor = ts.linear(_linear)
angle_p.taylor = _angle_taylor
abs_p.taylor = _abs_taylor
