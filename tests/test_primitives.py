"""The table-driven test of every primitive: values, shape rules, tracing and derivatives.

``TABLE`` has at least one row for each primitive in ``funcgrad.core.ALL_PRIMITIVES``; a
primitive without a row, or without one of the rules in ``RULES``, fails a test that names it.
A row says how to call the primitive (a small function of float arrays that binds it), the
NumPy function it must agree with, where its inputs may be drawn from, on which shapes it is
tried, and what kind of derivative it has:

- ``smooth``: ``fg.check_grads(order=2)`` in both modes, in float64 and float32;
- ``flat``: piecewise constant; the derivative is exactly zero, to second order;
- ``none``: no derivative (bool/int outputs, ``stop_gradient``): gradients through it are
  disconnected (zeros, or ``DisconnectedGradientError`` with ``on_disconnected="error"``).

Each row is also evaluated eagerly (the ``impl`` rule) against NumPy, traced (the shape rule
must predict the eager shape and dtype, and the IR must contain the row's primitive), and
through ``fg.jvp`` / ``fg.vjp``, which must give the eager values and dtypes.
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import zlib
from collections.abc import Callable

import control_reference as cr
import conv_reference
import custom_examples as cx
import linalg_reference as lr
import numpy as np
import pytest
import random_reference

import funcgrad as fg
from funcgrad.core import ALL_PRIMITIVES, RULES
from funcgrad.ops import collective as coll
from funcgrad.ops import complex_numbers as cn
from funcgrad.ops import contraction as con
from funcgrad.ops import convolution as cv
from funcgrad.ops import dilogarithm as dl
from funcgrad.ops import eig as eig_ops
from funcgrad.ops import elementwise as ew
from funcgrad.ops import exponential_integrals as ei
from funcgrad.ops import faddeeva as fad
from funcgrad.ops import fft as fo
from funcgrad.ops import hypergeometric as hg
from funcgrad.ops import incomplete as inc
from funcgrad.ops import linalg as la
from funcgrad.ops import oscillatory_integrals as osc
from funcgrad.ops import owens_t as ot
from funcgrad.ops import random as rnd
from funcgrad.ops import reduction as red
from funcgrad.ops import sorting as so
from funcgrad.ops import special as sp
from funcgrad.ops import special_functions as sf
from funcgrad.ops import structural as st
from funcgrad.ops import window as wd
from funcgrad.ops import zeta as zt

# ------------------------------------------------------------------------------- domains
# A domain draws float64 values of a shape; rows keep inputs where the function is smooth
# and the central differences of check_grads (step 3e-3 in float32) cannot cross a kink.


def real(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


def open_unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def above_one(rng, shape):
    return rng.uniform(1.2, 3.0, shape)


def off_integer(rng, shape):
    """Away from the jumps of floor, ceil and round (integers and half-integers)."""
    return rng.integers(-3, 3, shape) + rng.choice([0.2, 0.7], shape) + rng.uniform(0, .1, shape)


def grid_a(rng, shape):
    """With ``grid_b``: values at least 0.15 apart, so maximum/minimum have no near-ties."""
    return rng.integers(-3, 3, shape) * 0.5 + rng.uniform(-0.05, 0.05, shape)


def grid_b(rng, shape):
    return rng.integers(-3, 3, shape) * 0.5 + 0.25 + rng.uniform(-0.05, 0.05, shape)


def distinct(rng, shape):
    """No two elements closer than 0.3: reductions to max/min/argmax have no near-ties."""
    size = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(size) * 0.37 - 0.9 + rng.uniform(0, 0.05, size)).reshape(shape)


def with_a_zero(rng, shape):
    values = real(rng, shape)
    values.flat[rng.integers(values.size)] = 0.0
    return values


def dividend(rng, shape):
    """With ``divisor``: x / y stays 0.1 away from an integer (mod and floor_divide jump)."""
    return rng.choice([-1.0, 0.5, 2.5], shape) + rng.uniform(-0.25, 0.25, shape)


def divisor(rng, shape):
    return rng.uniform(1.6, 1.9, shape)


def coarse(rng, shape):
    """Few distinct values, so that comparisons meet equal operands."""
    return rng.integers(-1, 2, shape).astype(float)


def special_values(rng, shape):
    return rng.choice([0.0, -1.5, 2.0, np.nan, np.inf, -np.inf], shape)


def signed_zeros(rng, shape):
    """Special values with both zeros and a negative NaN (signbit reads NaN's sign too)."""
    return rng.choice([0.0, -0.0, -1.5, 2.0, np.nan, -np.nan, np.inf, -np.inf], shape)


def integers(rng, shape):
    """Integral values (as floats) of both signs, for the integer rows to convert."""
    return rng.integers(-60, 61, shape).astype(float)


def exponents(rng, shape):
    """Integers and a half (truncated by the row's cast): central differences of check_grads
    do not change them."""
    return rng.integers(-6, 7, shape) + 0.5


def shift_counts(rng, shape):
    """Shift counts for 8-bit integers, some outside [0, 8): NumPy shifts every bit out."""
    return rng.integers(-2, 11, shape).astype(float)


# ------------------------------------------------------------------------------ the table

UNARY = (("scalar", ((),)), ("vector", ((3,),)), ("matrix", ((2, 3),)))
BINARY = (("scalar", ((), ())), ("vector", ((3,), (3,))), ("matrix", ((2, 3), (2, 3))),
          ("bcast_row", ((2, 3), (3,))), ("bcast_outer", ((2, 1), (1, 3))),
          ("bcast_scalar", ((), (2, 3))))
FLOATS = (np.float64, np.float32)


@dataclasses.dataclass(frozen=True)
class Row:
    prim: str                      # the primitive's name in ALL_PRIMITIVES
    fn: Callable                   # binds it on float arrays
    reference: Callable            # the NumPy function it must agree with
    domains: tuple                 # one domain per argument
    kind: str = "smooth"           # smooth | flat | none | implicit (values only)
    variant: str = ""              # tells apart several rows of one primitive
    cases: tuple = None            # (case id, argument shapes); by arity when None
    dtypes: tuple = FLOATS
    tolerance: dict = dataclasses.field(default_factory=dict)   # check_grads atol/rtol

    @property
    def label(self):
        return f"{self.prim}[{self.variant}]" if self.variant else self.prim

    def shape_cases(self):
        if self.cases is not None:
            return self.cases
        return UNARY if len(self.domains) == 1 else BINARY


def unary(prim, fn, reference, domain=real, kind="smooth", **options):
    return Row(prim, fn, reference, (domain,), kind, **options)


def binary(prim, fn, reference, domains=(real, real), kind="smooth", **options):
    return Row(prim, fn, reference, tuple(domains), kind, **options)


def _sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)[()]


def _pred_for(shape):
    """A fixed pattern of True/False of ``shape``."""
    return (np.arange(int(np.prod(shape, dtype=np.int64))) % 3 != 1).reshape(shape)


def _select(x, y):
    return ew.select(_pred_for(np.broadcast_shapes(np.shape(x), np.shape(y))), x, y)


def _positive(fn):
    """Apply a bool-input primitive to ``x > 0``."""
    return lambda *xs: fn(*[ew.gt(x, 0) for x in xs])


def _on_integers(fn, dtype):
    """``fn`` (a primitive's function) of the operands converted to the integer ``dtype``
    (through int64: negative values wrap for an unsigned one, as NumPy's cast)."""
    return lambda *xs: fn(*[ew.convert(ew.convert(x, np.int64), dtype) for x in xs])


def _numpy_on_integers(fn, dtype):
    """The NumPy reference of an ``_on_integers`` row."""
    return lambda *xs: fn(*[np.asarray(x).astype(np.int64).astype(dtype) for x in xs])

ELEMENTWISE_ROWS = [
    binary("add", ew.add, np.add),
    binary("sub", ew.sub, np.subtract),
    unary("neg", ew.neg, np.negative),
    binary("mul", ew.mul, np.multiply),
    binary("div", ew.div, np.true_divide, (real, nonzero)),
    binary("pow", ew.pow, np.power, (positive, real)),
    binary("max", ew.maximum, np.maximum, (grid_a, grid_b)),
    binary("min", ew.minimum, np.minimum, (grid_a, grid_b)),
    binary("atan2", ew.atan2, np.arctan2, (nonzero, real)),
    binary("hypot", ew.hypot, np.hypot, (nonzero, nonzero)),
    binary("logaddexp", ew.logaddexp, np.logaddexp),
    binary("logaddexp2", ew.logaddexp2, np.logaddexp2),
    binary("rem", ew.rem, np.mod, (dividend, divisor)),
    binary("floor_divide", ew.floor_divide, np.floor_divide, (dividend, divisor), "flat"),
    unary("sin", ew.sin, np.sin),
    unary("cos", ew.cos, np.cos),
    unary("tan", ew.tan, np.tan, open_unit),
    unary("asin", ew.asin, np.arcsin, open_unit),
    unary("acos", ew.acos, np.arccos, open_unit),
    unary("atan", ew.atan, np.arctan),
    unary("sinh", ew.sinh, np.sinh),
    unary("cosh", ew.cosh, np.cosh),
    unary("tanh", ew.tanh, np.tanh),
    unary("asinh", ew.asinh, np.arcsinh),
    unary("acosh", ew.acosh, np.arccosh, above_one),
    unary("atanh", ew.atanh, np.arctanh, open_unit),
    unary("exp", ew.exp, np.exp),
    unary("exp2", ew.exp2, np.exp2),
    unary("expm1", ew.expm1, np.expm1),
    unary("log", ew.log, np.log, positive),
    unary("log2", ew.log2, np.log2, positive),
    unary("log10", ew.log10, np.log10, positive),
    unary("log1p", ew.log1p, np.log1p, positive),
    unary("sqrt", ew.sqrt, np.sqrt, positive),
    unary("cbrt", ew.cbrt, np.cbrt, nonzero),
    unary("abs", ew.abs, np.abs, nonzero),
    unary("sign", ew.sign, np.sign, nonzero, "flat"),
    unary("floor", ew.floor, np.floor, off_integer, "flat"),
    unary("ceil", ew.ceil, np.ceil, off_integer, "flat"),
    unary("round", ew.round, np.round, off_integer, "flat"),
    unary("logistic", ew.logistic, _sigmoid),
    unary("sinc", ew.sinc, np.sinc),
    unary("sinc", ew.sinc, np.sinc, lambda rng, shape: np.zeros(shape), variant="at_zero"),
    unary("sinc", ew.sinc, np.sinc, lambda rng, shape: rng.uniform(-0.3, 0.3, shape),
          variant="near_zero"),
    *[unary("integer_pow", lambda x, y=y: ew.integer_pow(x, y),
            lambda x, y=y: np.power(x, x.dtype.type(y)), nonzero if y < 0 else real,
            variant=f"y={y}")
      for y in (0, 1, 2, 3, -2)],
    binary("select", _select, lambda x, y: np.where(
        _pred_for(np.broadcast_shapes(np.shape(x), np.shape(y))), x, y)),
    unary("convert_element_type", lambda x: ew.convert(x, _other_float(x.dtype)),
          lambda x: x.astype(_other_float(x.dtype)), variant="float",
          tolerance={"atol": 5e-3, "rtol": 5e-3}),
    unary("convert_element_type", lambda x: ew.convert(x, np.int64),
          lambda x: x.astype(np.int64), off_integer, "none", variant="to_int"),
    *[binary(name, getattr(ew, name), numpy_fn, (coarse, coarse), "none")
      for name, numpy_fn in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                             ("le", np.less_equal), ("gt", np.greater),
                             ("ge", np.greater_equal))],
    *[binary(name, _positive(getattr(ew, fn)), _positive(getattr(np, fn)), kind="none")
      for name, fn in (("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor"))],
    unary("not", _positive(ew.logical_not), _positive(np.logical_not), kind="none"),
    *[unary(name, getattr(ew, name), getattr(np, name), special_values, "none")
      for name in ("isnan", "isinf", "isfinite")],
    unary("signbit", ew.signbit, np.signbit, signed_zeros, "none"),
    binary("nextafter", ew.nextafter, np.nextafter, (real, special_values), "none"),
    binary("ldexp", lambda x, n: ew.ldexp(x, ew.convert(n, np.int32)),
           lambda x, n: np.ldexp(x, n.astype(np.int32)), (real, exponents)),
    *[binary(name, _on_integers(getattr(ew, name), np.int32),
             _numpy_on_integers(getattr(np, numpy_name), np.int32), (integers, integers),
             "none")
      for name, numpy_name in (("bitwise_and", "bitwise_and"), ("bitwise_or", "bitwise_or"),
                               ("bitwise_xor", "bitwise_xor"), ("gcd", "gcd"))],
    unary("bitwise_not", _on_integers(ew.bitwise_not, np.int16),
          _numpy_on_integers(np.invert, np.int16), integers, "none"),
    *[binary(name, _on_integers(getattr(ew, name), dtype),
             _numpy_on_integers(numpy_fn, dtype), (integers, shift_counts), "none",
             variant=np.dtype(dtype).name)
      for name, numpy_fn in (("shift_left", np.left_shift), ("shift_right", np.right_shift))
      for dtype in (np.int8, np.uint8)],
    unary("population_count", _on_integers(ew.population_count, np.int64),
          _numpy_on_integers(np.bitwise_count, np.int64), integers, "none"),
]



def _other_float(dtype):
    return np.float32 if dtype == np.float64 else np.float64


# --------------------------------------------------------------------------- complex rows
# A complex domain draws complex128 values (cast to the row's dtype). Finite differences of
# check_grads perturb the real and the imaginary parts both (a random complex direction).
COMPLEX = (np.complex128, np.complex64)


def complex_plane(rng, shape):
    """|z| in [0.5, 2], at least 0.3 rad off the real axis: away from 0 (abs, angle) and from
    the branch cuts of log, sqrt and log1p on the negative real axis."""
    theta = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.5, shape)
    return rng.uniform(0.5, 2.0, shape) * np.exp(1j * theta)


def complex_disk(rng, shape):
    """|z| in [0.3, 1.2]: inside the poles of tan and tanh (at |z| = pi/2)."""
    return rng.uniform(0.3, 1.2, shape) * np.exp(1j * rng.uniform(-np.pi, np.pi, shape))


def _complex_row(prim, fn, reference, domains, variant="complex", **options):
    cases = options.pop("cases", (("vector", ((3,),)),) if len(domains) == 1 else
                        (("bcast_row", ((2, 3), (3,))),))
    return Row(prim, fn, reference, tuple(domains), variant=variant, cases=cases,
               dtypes=COMPLEX, **options)


def _scipy_wofz(z):
    """SciPy's ``wofz`` where it is installed, else funcgrad's own."""
    try:
        import scipy.special
    except ImportError:
        return fad.wofz_numpy(z)
    return scipy.special.wofz(z)


def _complex_of(x, y):
    return (x + 1j * y).astype(np.result_type(x, np.complex64))[()]


COMPLEX_ROWS = [
    Row("real", cn.real, np.real, (complex_plane,), dtypes=COMPLEX),
    Row("imag", cn.imag, np.imag, (complex_plane,), dtypes=COMPLEX),
    Row("conj", cn.conj, np.conj, (complex_plane,), dtypes=COMPLEX),
    unary("conj", cn.conj, np.conj, variant="of_real"),
    binary("complex", cn.make_complex, _complex_of),
    Row("angle", cn.angle, np.angle, (complex_plane,), dtypes=COMPLEX),
    _complex_row("abs", ew.abs, np.abs, (complex_plane,)),
    *[_complex_row(name, getattr(ew, name), numpy_fn, (complex_plane, complex_plane))
      for name, numpy_fn in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                             ("div", np.true_divide), ("pow", np.power))],
    *[_complex_row(name, getattr(ew, name), getattr(np, numpy_name), (domain,))
      for name, numpy_name, domain in (
          ("neg", "negative", complex_plane), ("sin", "sin", complex_plane),
          ("cos", "cos", complex_plane), ("tan", "tan", complex_disk),
          ("sinh", "sinh", complex_plane), ("cosh", "cosh", complex_plane),
          ("tanh", "tanh", complex_disk), ("exp", "exp", complex_plane),
          ("expm1", "expm1", complex_plane), ("log", "log", complex_plane),
          ("log1p", "log1p", complex_plane), ("sqrt", "sqrt", complex_plane))],
    _complex_row("integer_pow", lambda z: ew.integer_pow(z, 3), lambda z: z ** 3,
                 (complex_plane,)),
    _complex_row("wofz", fad.wofz, lambda z: np.asarray(_scipy_wofz(
        np.asarray(z, np.complex128))).astype(z.dtype)[()], (complex_plane,)),
    _complex_row("select", _select, lambda x, y: np.where(
        _pred_for(np.broadcast_shapes(np.shape(x), np.shape(y))), x, y),
        (complex_plane, complex_plane)),
    unary("convert_element_type", lambda x: ew.convert(x, cn.complex_dtype(x.dtype)),
          lambda x: x.astype(cn.complex_dtype(x.dtype)), variant="to_complex"),
]

# The fft primitive (funcgrad/ops/fft.py): complex to complex over one or two axes, real to
# complex and complex to real on even and odd lengths, with each norm.
_MATRIX = (("matrix", ((2, 5),)),)
FFT_ROWS = [
    Row("fft", lambda z: fo.fft(z, "fft", (1,)), lambda z: np.fft.fft(z, axis=1),
        (complex_plane,), dtypes=COMPLEX, cases=_MATRIX),
    Row("fft", lambda z: fo.fft(z, "ifft", (0, 1), "ortho"),
        lambda z: np.fft.ifftn(z, axes=(0, 1), norm="ortho"), (complex_plane,),
        dtypes=COMPLEX, cases=_MATRIX, variant="ifft2_ortho"),
    Row("fft", lambda x: fo.fft(x, "rfft", (1,), "forward"),
        lambda x: np.fft.rfft(x, axis=1, norm="forward"), (real,), variant="rfft_odd",
        cases=_MATRIX),
    Row("fft", lambda x: fo.fft(x, "rfft", (0, 1)), lambda x: np.fft.rfftn(x, axes=(0, 1)),
        (real,), variant="rfft2_even", cases=(("matrix", ((3, 4),)),)),
    Row("fft", lambda z: fo.fft(z, "irfft", (1,), n=4), lambda z: np.fft.irfft(z, n=4),
        (complex_plane,), dtypes=COMPLEX, variant="irfft_even",
        cases=(("matrix", ((2, 3),)),)),
    Row("fft", lambda z: fo.fft(z, "irfft", (0, 1), "ortho", n=5),
        lambda z: np.fft.irfftn(z, s=(2, 5), axes=(0, 1), norm="ortho"), (complex_plane,),
        dtypes=COMPLEX, variant="irfft2_odd_ortho", cases=(("matrix", ((2, 3),)),)),
]


# Reductions and scans: (case id, shape, axes) -> one row per case, NumPy's axis semantics.
REDUCE_CASES = (("vector", (3,), (0,)), ("matrix_axis0", (2, 3), (0,)),
                ("matrix_axis1", (2, 3), (1,)), ("matrix_all", (2, 3), (0, 1)),
                ("cube_axes02", (2, 3, 4), (0, 2)))
EMPTY_CASES = (("empty_axis", (2, 0), (1,)), ("empty_kept", (0, 3), (1,)))   # sum, prod


def _reduction_rows(prim, op, numpy_fn, domain=real, kind="smooth", variant="", extra=()):
    return [Row(prim, lambda x, axes=axes: op(x, axes),
                lambda x, axes=axes: numpy_fn(x, axis=axes), (domain,), kind,
                variant=f"{variant}{case}", cases=((case, (shape,)),))
            for case, shape, axes in REDUCE_CASES + extra]


def _prod_reference(x, axis):
    return np.prod(x, axis=axis, dtype=x.dtype)


def _cumsum_reference(x, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis, dtype=x.dtype)


SCAN_CASES = (("vector", (3,), 0), ("matrix_axis0", (2, 3), 0), ("matrix_axis1", (2, 3), 1),
              ("cube_axis1", (2, 4, 2), 1))
EMPTY_SCAN_CASES = (("empty_axis", (2, 0), 1), ("empty_other", (0, 3), 1))


def _as_bool(fn):
    return lambda x, axes: fn(ew.gt(x, 0), axes)


REDUCTION_ROWS = [
    *_reduction_rows("reduce_sum", red.reduce_sum, np.sum, extra=EMPTY_CASES),
    *_reduction_rows("reduce_max", red.reduce_max, np.max, distinct),
    *_reduction_rows("reduce_min", red.reduce_min, np.min, distinct),
    *_reduction_rows("reduce_prod", red.reduce_prod, _prod_reference, extra=EMPTY_CASES),
    *_reduction_rows("reduce_prod", red.reduce_prod, _prod_reference, with_a_zero,
                     variant="zero_"),
    *_reduction_rows("reduce_and", _as_bool(red.reduce_and),
                     lambda x, axis: np.all(x > 0, axis=axis), kind="none"),
    *_reduction_rows("reduce_or", _as_bool(red.reduce_or),
                     lambda x, axis: np.any(x > 0, axis=axis), kind="none"),
    *[Row(prim, lambda x, a=axis, op=op: op(x, a),
          lambda x, a=axis, f=numpy_fn: f(x, axis=a).astype(np.int64)[()], (distinct,), "none",
          variant=case, cases=((case, (shape,)),))
      for prim, op, numpy_fn in (("argmax", red.argmax, np.argmax),
                                 ("argmin", red.argmin, np.argmin))
      for case, shape, axis in SCAN_CASES],
    *[Row("cumsum", lambda x, a=axis, r=reverse: red.cumsum(x, a, r),
          lambda x, a=axis, r=reverse: _cumsum_reference(x, a, r), (real,),
          variant=f"{case}{'_reverse' if reverse else ''}", cases=((case, (shape,)),))
      for case, shape, axis in SCAN_CASES + EMPTY_SCAN_CASES for reverse in (False, True)],
    *[Row("cumprod", lambda x, a=axis: red.cumprod(x, a),
          lambda x, a=axis: np.cumprod(x, a, dtype=x.dtype), (domain,),
          variant=f"{name}{case}", cases=((case, (shape,)),))
      for case, shape, axis in SCAN_CASES
      for name, domain in (("", real), ("zero_", with_a_zero))],
    *[Row("cumprod", lambda x, a=axis: red.cumprod(x, a),
          lambda x, a=axis: np.cumprod(x, a, dtype=x.dtype), (real,), variant=case,
          cases=((case, (shape,)),))
      for case, shape, axis in EMPTY_SCAN_CASES],
]


def _index(*entries):
    return st.IndexSpec(entries)


ALL = ("slice", None, None, None)
INDEX_012 = np.array([0, 2, 2])   # repeats: the reverse rule must add up
INDEX_20 = np.array([2, 0])


def _add_at(x, u, index):
    out = x.copy()
    np.add.at(out, index, u)
    return out


def _apply_at(ufunc):
    def reference(x, u, index):
        out = x.copy()
        ufunc.at(out, index, u)
        return out
    return reference


def _set_at(x, u, index):
    out = x.copy()
    out[index] = u
    return out


def _structural(prim, variant, fn, reference, shapes, domains=None):
    return Row(prim, fn, reference, domains or (real,) * len(shapes), variant=variant,
               cases=(("", shapes),))


STRUCTURAL_ROWS = [
    _structural("reshape", "2x3_to_3x2", lambda x: st.reshape(x, (3, 2)),
                lambda x: x.reshape(3, 2), ((2, 3),)),
    _structural("reshape", "scalar_to_1x1", lambda x: st.reshape(x, (1, 1)),
                lambda x: np.reshape(x, (1, 1)), ((),)),
    _structural("broadcast_to", "row", lambda x: st.broadcast_to(x, (2, 3)),
                lambda x: np.broadcast_to(x, (2, 3)), ((3,),)),
    _structural("broadcast_to", "column", lambda x: st.broadcast_to(x, (2, 3)),
                lambda x: np.broadcast_to(x, (2, 3)), ((2, 1),)),
    _structural("broadcast_to", "scalar", lambda x: st.broadcast_to(x, (2, 3)),
                lambda x: np.broadcast_to(x, (2, 3)), ((),)),
    _structural("transpose", "matrix", lambda x: st.transpose(x, (1, 0)),
                lambda x: x.T, ((2, 3),)),
    _structural("transpose", "cube", lambda x: st.transpose(x, (2, 0, 1)),
                lambda x: np.transpose(x, (2, 0, 1)), ((2, 3, 4),)),
    _structural("gather", "slice_newaxis", lambda x: st.gather(
        x, (), _index(("slice", 1, None, None), None)), lambda x: x[1:, None], ((3,),)),
    _structural("gather", "int", lambda x: st.gather(x, (), _index(1)),
                lambda x: x[1], ((2, 3),)),
    _structural("gather", "ellipsis_reverse", lambda x: st.gather(
        x, (), _index(Ellipsis, ("slice", None, None, -1))), lambda x: x[..., ::-1],
        ((2, 3),)),
    _structural("gather", "array_repeats", lambda x: st.gather(
        x, (INDEX_012,), _index(("array", 0))), lambda x: x[INDEX_012], ((3,),)),
    _structural("gather", "slice_and_array", lambda x: st.gather(
        x, (INDEX_20,), _index(ALL, ("array", 0))), lambda x: x[:, INDEX_20], ((2, 3),)),
    _structural("scatter_add", "array_repeats", lambda x, u: st.scatter_add(
        x, u, (INDEX_012,), _index(("array", 0))), lambda x, u: _add_at(x, u, INDEX_012),
        ((3,), (3,))),
    _structural("scatter_add", "slice_broadcast", lambda x, u: st.scatter_add(
        x, u, (), _index(("slice", 1, None, None))),
        lambda x, u: _add_at(x, u, slice(1, None)), ((2, 3), (3,))),
    _structural("scatter", "array", lambda x, u: st.scatter(
        x, u, (INDEX_20,), _index(ALL, ("array", 0))),
        lambda x, u: _set_at(x, u, (slice(None), INDEX_20)), ((2, 3), (2, 2))),
    _structural("scatter", "int_broadcast", lambda x, u: st.scatter(x, u, (), _index(1)),
                lambda x, u: _set_at(x, u, 1), ((2, 3), ())),
    *[_structural(name, "array_repeats", lambda x, u, n=name: getattr(st, n)(
        x, u, (INDEX_012,), _index(("array", 0))),
        lambda x, u, f=ufunc: _apply_at(f)(x, u, INDEX_012), ((3,), (3,)))
      for name, ufunc in (("scatter_mul", np.multiply), ("scatter_min", np.minimum),
                          ("scatter_max", np.maximum))],
    *[_structural(name, "slice_broadcast", lambda x, u, n=name: getattr(st, n)(
        x, u, (), _index(("slice", 1, None, None))),
        lambda x, u, f=ufunc: _apply_at(f)(x, u, slice(1, None)), ((2, 3), (3,)))
      for name, ufunc in (("scatter_mul", np.multiply), ("scatter_min", np.minimum),
                          ("scatter_max", np.maximum))],
    _structural("concatenate", "two_axis0", lambda a, b: st.concatenate([a, b], 0),
                lambda a, b: np.concatenate([a, b], 0), ((2, 3), (1, 3))),
    _structural("concatenate", "three_axis1", lambda a, b, c: st.concatenate([a, b, c], 1),
                lambda a, b, c: np.concatenate([a, b, c], 1), ((2, 1), (2, 3), (2, 2))),
    # Bound directly: con.einsum writes an outer product ("i,j->ij") as a mul.
    *[_structural("einsum", spec, lambda *xs, s=spec: con.einsum_p.bind(*xs, spec=s),
                  lambda *xs, s=spec: np.einsum(s, *xs), shapes)
      for spec, shapes in (("ij,jk->ik", ((2, 3), (3, 4))), ("i,i->", ((3,), (3,))),
                           ("i,j->ij", ((2,), (3,))), ("bij,bjk->bik", ((2, 2, 3), (2, 3, 2))),
                           ("ij,ij->i", ((2, 3), (2, 3))), ("ij,k->ik", ((2, 3), (4,))),
                           ("ij,jk->", ((2, 3), (3, 2))),
                           ("ij,jk,kl->il", ((2, 3), (3, 2), (2, 2))))],
    Row("stop_gradient", sp.stop_gradient_p.bind, lambda x: x, (real,), "none"),
    Row("retain_grad", lambda x: sp.retain_grad_p.bind(x, name="mark"), lambda x: x, (real,)),
]


# The error function: against math.erf (a float64 result rounded once to float32); near zero
# the series, beyond |x| = 2 the continued fraction of its implementation.
def _erf_reference(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)[()]


def far_tail(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(2.1, 3.5, shape)


def _scipy_expn(n, x):
    """SciPy's ``expn`` where it is installed, else funcgrad's own."""
    try:
        import scipy.special
    except ImportError:
        return ei.expn_numpy(n, x)
    return scipy.special.expn(n, x)


def _scipy_hyp1f1(a, b, x):
    try:
        import scipy.special
    except ImportError:
        return hg.hyp1f1_numpy(a, b, x)
    return scipy.special.hyp1f1(a, b, x)


def _scipy_pair(name, index, fallback):
    """Output ``index`` of SciPy's pair-valued ``scipy.special.<name>`` (``sici``,
    ``fresnel``) in float64, rounded to the input's dtype; without SciPy, funcgrad's own."""
    try:
        import scipy.special
        function = lambda x: getattr(scipy.special, name)(x)[index]   # noqa: E731
    except ImportError:
        function = fallback
    return lambda x: np.asarray(function(np.asarray(x, np.float64))).astype(x.dtype)[()]


def beyond_four(rng, shape):
    """Both signs past 4, where Si and Ci leave their series for E1's continued fraction."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(4.5, 8.0, shape)


HYP2F1_C = np.array([2.5, 1.2, 4.0])


def negative_part(rng, shape):
    return rng.uniform(-3.0, -0.2, shape)


def _scipy_hyp2f1(a, b, c, x):
    try:
        import scipy.special
    except ImportError:
        return hg.hyp2f1_numpy(a, b, c, x)
    return scipy.special.hyp2f1(a, b, c, x)


def _scipy_owens_t(h, a):
    try:
        import scipy.special
    except ImportError:
        return ot.owens_t_numpy(h, a)
    return scipy.special.owens_t(h, a)


def _scipy_zeta(x, q):
    try:
        import scipy.special
    except ImportError:
        return zt.zeta_numpy(x, q)
    return scipy.special.zeta(x, q)


def _scipy_reference(name, fallback):
    """SciPy's ``scipy.special.<name>`` computed in float64 and rounded to the input's dtype;
    without SciPy (an optional test dependency), ``fallback``: ``math``'s function where it
    has one, else funcgrad's own implementation (its values are then checked only by
    tests/test_scipy_special.py, which needs SciPy)."""
    try:
        import scipy.special
        function = getattr(scipy.special, name)
    except ImportError:
        function = fallback
    return lambda x: np.asarray(function(np.asarray(x, np.float64))).astype(x.dtype)[()]


def _math_reference(function):
    return np.vectorize(function, otypes=[np.float64])


def _polygamma_reference(n, x):
    try:
        from scipy.special import polygamma
    except ImportError:
        polygamma = sf.polygamma_numpy
    return np.asarray(polygamma(n, np.asarray(x, np.float64))).astype(x.dtype)[()]


def negative_off_integer(rng, shape):
    """Between the poles of Gamma on the negative axis, away from them."""
    return -rng.integers(1, 4, shape) + rng.uniform(0.2, 0.8, shape)


def probability(rng, shape):
    return rng.uniform(0.05, 0.95, shape)


# The incomplete gamma and beta functions: derivatives of every order in x only (in a and b they
# have a first derivative, tests/test_scipy_incomplete.py checks it), so a row holds its
# parameters fixed, one per column (broadcast against x); the domains take each of their
# computations (series, continued fractions, the small-a series, the mirror).
GAMMA_A = np.array([0.3, 2.0, 7.5])
BETA_B = np.array([3.0, 0.7, 1.5])
PARAMETER_COLUMNS = (("vector", ((3,),)), ("matrix", ((2, 3),)))


def _incomplete_reference(name, fallback, *parameters):
    """SciPy's ``name(*parameters, x)`` in float64, rounded to x's dtype (``fallback``, the
    implementation itself, without SciPy: tests/test_scipy_special.py checks its values)."""
    try:
        import scipy.special
        function = getattr(scipy.special, name)
    except ImportError:
        function = fallback
    return lambda x: np.asarray(function(*parameters, np.asarray(x, np.float64))).astype(
        x.dtype)[()]


def _with_parameters(fn, *parameters):
    return lambda x: fn(*[np.asarray(p, x.dtype) for p in parameters], x)


def beyond_one(rng, shape):
    return rng.uniform(1.5, 6.0, shape)


INCOMPLETE_ROWS = [
    *[unary(name, _with_parameters(fn, GAMMA_A), _incomplete_reference(name, numpy_fn, GAMMA_A),
            domain, variant=variant, cases=PARAMETER_COLUMNS)
      for name, fn, numpy_fn in (("gammainc", inc.gammainc, inc.gammainc_numpy),
                                 ("gammaincc", inc.gammaincc, inc.gammaincc_numpy))
      for variant, domain in (("", positive), ("tail", beyond_one))],
    # the first derivatives in the parameters, differentiated in x (not again in a parameter)
    unary("gammainc_grad_a", _with_parameters(inc.gammainc_grad_a_p.bind, GAMMA_A),
          lambda x: np.asarray(inc.gammainc_grad_a_numpy(GAMMA_A, np.asarray(x, np.float64)))
          .astype(x.dtype)[()], positive, cases=PARAMETER_COLUMNS),
    *[unary(f"betainc_grad_{name}", _with_parameters(prim.bind, GAMMA_A, BETA_B),
            lambda x, i=i: np.asarray(inc.betainc_partials_numpy(
                GAMMA_A, BETA_B, np.asarray(x, np.float64))[i]).astype(x.dtype)[()],
            probability, cases=PARAMETER_COLUMNS)
      for i, (name, prim) in enumerate((("a", inc.betainc_grad_a_p),
                                        ("b", inc.betainc_grad_b_p)))],
    # large parameters (Stirling's series in the prefactor): too steep for float32's differences
    *[unary(name, _with_parameters(fn, a, b), _incomplete_reference(name, numpy_fn, a, b),
            probability, variant=variant, cases=PARAMETER_COLUMNS, dtypes=dtypes)
      for name, fn, numpy_fn in (("betainc", inc.betainc, inc.betainc_numpy),
                                 ("betaincc", inc.betaincc, inc.betaincc_numpy))
      for variant, a, b, dtypes in (("", GAMMA_A, BETA_B, FLOATS),
                                    ("large", GAMMA_A * 4 + 10, BETA_B + 12, (np.float64,)))],
]

SPECIAL_FUNCTION_ROWS = [
    unary("erf", sp.erf, _erf_reference),
    unary("erf", sp.erf, _erf_reference, far_tail, variant="tail"),
    unary("lgamma", sf.lgamma, _scipy_reference("gammaln", _math_reference(math.lgamma)),
          positive),
    unary("lgamma", sf.lgamma, _scipy_reference("gammaln", _math_reference(math.lgamma)),
          negative_off_integer, variant="negative"),
    unary("digamma", sf.digamma, _scipy_reference("digamma", sf.digamma_numpy), positive),
    unary("digamma", sf.digamma, _scipy_reference("digamma", sf.digamma_numpy),
          negative_off_integer, variant="negative"),
    *[unary("polygamma", lambda x, n=n: sf.polygamma(n, x),
            lambda x, n=n: _polygamma_reference(n, x), positive, variant=f"n={n}")
      for n in (1, 2)],
    unary("erfc", sf.erfc, _scipy_reference("erfc", _math_reference(math.erfc))),
    unary("erfc", sf.erfc, _scipy_reference("erfc", _math_reference(math.erfc)), far_tail,
          variant="tail"),
    unary("erfinv", sf.erfinv, _scipy_reference("erfinv", sf.erfinv_numpy), open_unit),
    unary("ndtri", sf.ndtri, _scipy_reference("ndtri", sf.ndtri_numpy), probability),
    unary("i0e", sf.i0e, _scipy_reference("i0e", sf.i0e_numpy), nonzero),
    unary("i1e", sf.i1e, _scipy_reference("i1e", sf.i1e_numpy), nonzero),
    unary("exp1", ei.exp1, _scipy_reference("exp1", ei.exp1_numpy), positive),
    *[unary("expn", lambda x, n=n: ei.expn(n, x),
            lambda x, n=n: np.asarray(_scipy_expn(n, np.asarray(x, np.float64))).astype(
                x.dtype)[()], positive, variant=f"n={n}") for n in (0, 2)],
    # in q, with x fixed (no derivative in x, as JAX)
    unary("zeta", lambda q: zt.zeta(np.asarray(2.5, q.dtype), q),
          lambda q: np.asarray(_scipy_zeta(2.5, np.asarray(q, np.float64))).astype(q.dtype)[()],
          positive),
    # in x, with a and b fixed (no derivative in them, as JAX)
    unary("hyp1f1", _with_parameters(hg.hyp1f1, GAMMA_A, BETA_B),
          lambda x: np.asarray(_scipy_hyp1f1(GAMMA_A, BETA_B, np.asarray(x, np.float64)))
          .astype(x.dtype)[()], cases=PARAMETER_COLUMNS),
    # in x, with a, b and c fixed; x in (-0.9, 0.9), and below 0 by Pfaff's transform
    *[unary("hyp2f1", _with_parameters(hg.hyp2f1, GAMMA_A, BETA_B, HYP2F1_C),
            lambda x: np.asarray(_scipy_hyp2f1(GAMMA_A, BETA_B, HYP2F1_C, np.asarray(
                x, np.float64))).astype(x.dtype)[()], domain, cases=PARAMETER_COLUMNS,
            variant=variant)
      for domain, variant in ((open_unit, "unit"), (negative_part, "pfaff"))],
    binary("owens_t", ot.owens_t, lambda h, a: np.asarray(_scipy_owens_t(
        np.asarray(h, np.float64), np.asarray(a, np.float64))).astype(h.dtype)[()]),
    unary("spence", dl.spence, _scipy_reference("spence", dl.spence_numpy), positive),
    unary("spence", dl.spence, _scipy_reference("spence", dl.spence_numpy), above_one,
          variant="above_one"),
    unary("expi", ei.expi, _scipy_reference("expi", ei.expi_numpy), nonzero),
    unary("erfcx", ei.erfcx, _scipy_reference("erfcx", ei.erfcx_numpy)),
    unary("dawsn", ei.dawsn, _scipy_reference("dawsn", ei.dawsn_numpy)),
    unary("dawsn", ei.dawsn, _scipy_reference("dawsn", ei.dawsn_numpy), far_tail,
          variant="tail"),
    unary("erfcx", ei.erfcx, _scipy_reference("erfcx", ei.erfcx_numpy), far_tail,
          variant="tail"),
    unary("si", osc.si, _scipy_pair("sici", 0, osc.si_numpy)),
    unary("si", osc.si, _scipy_pair("sici", 0, osc.si_numpy), beyond_four, variant="far"),
    unary("ci", osc.ci, _scipy_pair("sici", 1, osc.ci_numpy), nonzero),
    unary("ci", osc.ci, _scipy_pair("sici", 1, osc.ci_numpy), beyond_four, variant="far"),
    unary("fresnel_s", osc.fresnel_s, _scipy_pair("fresnel", 0, osc.fresnel_s_numpy)),
    unary("fresnel_s", osc.fresnel_s, _scipy_pair("fresnel", 0, osc.fresnel_s_numpy),
          far_tail, variant="far"),
    unary("fresnel_c", osc.fresnel_c, _scipy_pair("fresnel", 1, osc.fresnel_c_numpy)),
    unary("fresnel_c", osc.fresnel_c, _scipy_pair("fresnel", 1, osc.fresnel_c_numpy),
          far_tail, variant="far"),
    *INCOMPLETE_ROWS,
]


# Random primitives take uint32 keys; a row makes its key from whole-number floats, and
# compares with the scalar Python Threefry of tests/random_reference.py. No derivative.
def whole(rng, shape):
    return rng.integers(0, 2**31, shape).astype(float)


def _key(x):
    return ew.convert(x, np.uint32)


def _reference_key(x):
    return np.asarray(x).astype(np.uint32)


KEY = ((2,),)
RANDOM_ROWS = [
    *[Row("random_bits", lambda k, s=shape: rnd.random_bits(_key(k), s),
          lambda k, s=shape: random_reference.bits(_reference_key(k), s), (whole,), "none",
          variant=str(shape), cases=(("key", KEY),)) for shape in ((), (3,), (2, 3))],
    Row("random_split", lambda k: rnd.random_split(_key(k), 3),
        lambda k: random_reference.split(_reference_key(k), 3), (whole,), "none",
        cases=(("key", KEY),)),
    Row("random_fold_in", lambda k, d: rnd.random_fold_in(_key(k), _key(d)),
        lambda k, d: random_reference.fold_in(_reference_key(k), int(d)), (whole, whole),
        "none", cases=(("key", ((2,), ())),)),
    Row("random_permutation", lambda k: rnd.random_permutation(_key(k), 6),
        lambda k: random_reference.permutation(_reference_key(k), 6), (whole,), "none",
        cases=(("key", KEY),)),
    # Gamma's implicit derivative (d log x / d a, float64 whatever the inputs): the vectorised
    # loops against one element at a time; the reparameterisation is the identity in value.
    Row("random_gamma_grad", lambda a, lx: rnd.random_gamma_grad_p.bind(
            ew.convert(a, np.float64), ew.convert(lx, np.float64)),
        lambda a, lx: np.vectorize(lambda s, y: rnd.gamma_dlog_da(s, y)[0])(
            np.asarray(a, np.float64), np.asarray(lx, np.float64))[()],
        (positive, real), "implicit", cases=(("same", ((3, 4), (3, 4))),)),
    Row("random_gamma_reparam", lambda a, lx: rnd.gamma_reparam(
            ew.convert(a, np.float64), ew.convert(lx, np.float64)),
        lambda a, lx: np.asarray(lx, np.float64)[()],
        (positive, real), "implicit", cases=(("same", ((3, 4), (3, 4))),)),
]

# Sorting: argsort is a stable permutation (no derivative); a sort is argsort and a gather
# through it, whose rows check the gather-based derivative (to second order) on values without
# near-ties. searchsorted looks values up in sorted rows (with repeats, so both sides differ).
def sorted_coarse(rng, shape):
    return np.sort(rng.integers(-2, 3, shape).astype(float), axis=-1)


def half_steps(rng, shape):
    return rng.integers(-6, 7, shape) * 0.5


def _stable_argsort(x, axis, descending=False):
    """Equal values keep their order; descending, as the ascending order of -x."""
    return np.argsort(-x if descending else x, axis=axis, kind="stable").astype(np.int64)


def _sort_row(x, axis):
    order = so.argsort(x, axis)
    operands = [order if d == axis else np.arange(n).reshape(
        [n if i == d else 1 for i in range(np.ndim(x))]) for d, n in enumerate(np.shape(x))]
    return st.gather(x, operands, st.IndexSpec([("array", k) for k in range(np.ndim(x))]))


SORT_CASES = (("vector", (4,), 0), ("matrix_axis0", (3, 2), 0), ("matrix_axis1", (2, 3), 1),
              ("cube_axis2", (2, 2, 3), 2))
SORTING_ROWS = [
    *[Row("argsort", lambda x, a=axis, d=desc: so.argsort(x, a, d),
          lambda x, a=axis, d=desc: _stable_argsort(x, a, d), (domain,), "none",
          variant=f"{name}{'descending_' if desc else ''}{case}", cases=((case, (shape,)),))
      for case, shape, axis in SORT_CASES for desc in (False, True)
      for name, domain in (("", distinct), ("ties_", coarse))],
    *[Row("argsort", lambda x, a=axis: _sort_row(x, a), lambda x, a=axis: np.sort(x, a),
          (distinct,), variant=f"sort_{case}", cases=((case, (shape,)),))
      for case, shape, axis in SORT_CASES],
    *[Row("searchsorted", lambda a, v, s=side: so.searchsorted(a, v, s),
          lambda a, v, s=side: np.searchsorted(a, v, s).astype(np.int64)[()],
          (sorted_coarse, half_steps), "none", variant=side,
          cases=(("scalar", ((5,), ())), ("vector", ((5,), (4,))), ("matrix", ((5,), (2, 3)))))
      for side in ("left", "right")],
    Row("searchsorted", lambda a, v: so.searchsorted(a, v, "left", 1),
        lambda a, v: np.stack([np.searchsorted(r, w) for r, w in zip(a, v)]).astype(np.int64),
        (sorted_coarse, half_steps), "none", variant="batched_rows",
        cases=(("rows", ((2, 5), (2, 3))),)),
]

# Linear algebra on a matrix and on a stack of two: well-conditioned general matrices, and SPD
# matrices with distinct eigenvalues and noise in the upper triangle (cholesky and eigh read
# the lower one). Multiple outputs are stacked into one array (tests/linalg_reference.py).
MATRIX_CASES = (("3x3", ((3, 3),)), ("stack", ((2, 3, 3),)))
SOLVE_CASES = (("3x3", ((3, 3), (3, 2))), ("stack", ((2, 3, 3), (2, 3, 1))))
# svd, qr and pinv: square, tall, wide and stacked matrices with singular values about
# k, ..., 2, 1 (tests/linalg_reference.py); arbitrary bases (the completing columns of
# full_matrices / complete) enter through their projectors.
RECTANGULAR_CASES = (("3x3", ((3, 3),)), ("tall", ((4, 3),)), ("wide_stack", ((2, 3, 4),)))
TALL_CASES = (("tall", ((4, 2),)), ("tall_stack", ((2, 4, 3),)))
def _separated_spectrum(complex_input: bool):
    """Matrices ``S B S^-1`` with well-separated eigenvalues (real matrices: a conjugate pair
    1 +- 1.5i and -2; complex ones: 1+i, -1.5+0.5i, 0.5-2i) and well-conditioned ``S``, so
    that eig's derivatives are well conditioned."""
    def draw(rng, shape):
        out = np.empty(shape, complex if complex_input else float)
        for index in np.ndindex(*shape[:-2]):
            s = np.eye(3) + 0.3 * rng.uniform(-1, 1, (3, 3))
            if complex_input:
                s = s + 0.3j * rng.uniform(-1, 1, (3, 3))
                b = np.diag([1 + 1j, -1.5 + 0.5j, 0.5 - 2j])
            else:
                b = np.array([[1.0, 1.5, 0.0], [-1.5, 1.0, 0.0], [0.0, 0.0, -2.0]])
            out[index] = s @ b @ np.linalg.inv(s)
        return out
    return draw


def _eig_row(a):
    """The eigenvalues as a row above the moduli of the eigenvectors' entries (a phase-free
    function of them: their phase is arbitrary)."""
    w, v = eig_ops.eig(a)
    shape = np.shape(w)
    moduli = ew.convert(ew.abs(v), w.dtype)
    return st.concatenate([st.reshape(w, shape[:-1] + (1, shape[-1])), moduli], len(shape) - 1)


def _eig_reference(a):
    w, v = np.linalg.eig(a)
    dtype = cn.complex_dtype(a.dtype)
    return np.concatenate([w[..., None, :], np.abs(v)], axis=-2).astype(dtype)


LINALG_ROWS = [
    Row("eig", _eig_row, _eig_reference, (_separated_spectrum(False),), cases=MATRIX_CASES,
        tolerance={"atol": 2e-2, "rtol": 2e-2}),
    Row("eig", _eig_row, _eig_reference, (_separated_spectrum(True),), cases=MATRIX_CASES,
        dtypes=COMPLEX, variant="complex", tolerance={"atol": 2e-2, "rtol": 2e-2}),
    Row("inv", la.inv, np.linalg.inv, (lr.general_matrix,), cases=MATRIX_CASES),
    Row("det", la.det, np.linalg.det, (lr.general_matrix,), cases=MATRIX_CASES),
    Row("slogdet", lr.slogdet_row, lr.slogdet_reference, (lr.general_matrix,),
        cases=MATRIX_CASES),
    Row("det", la.det, np.linalg.det, (lr.complex_general_matrix,), cases=MATRIX_CASES,
        dtypes=COMPLEX, variant="complex"),
    Row("slogdet", lr.slogdet_row, lr.slogdet_reference, (lr.complex_general_matrix,),
        cases=MATRIX_CASES, dtypes=COMPLEX, variant="complex"),
    Row("solve", la.solve, np.linalg.solve, (lr.general_matrix, real), cases=SOLVE_CASES),
    *[Row("triangular_solve", lambda a, b, low=lower, t=transpose: la.triangular_solve(
          a, b, low, t), lambda a, b, low=lower, t=transpose: lr.triangular_solve_reference(
          a, b, low, t), (lr.general_matrix, real), variant=f"{name}{'_T' if transpose else ''}",
          cases=SOLVE_CASES)
      for name, lower in (("lower", True), ("upper", False)) for transpose in (False, True)],
    Row("cholesky", la.cholesky, np.linalg.cholesky, (lr.spd_matrix,), cases=MATRIX_CASES),
    Row("cholesky", la.cholesky, np.linalg.cholesky, (lr.hpd_matrix,), cases=MATRIX_CASES,
        dtypes=COMPLEX, variant="complex"),
    Row("eigh", lr.eigh_row, lr.eigh_reference, (lr.spd_matrix,), cases=MATRIX_CASES),
    Row("eigh", lr.hermitian_eigh_row, lr.hermitian_eigh_reference, (lr.hpd_matrix,),
        cases=MATRIX_CASES, dtypes=COMPLEX, variant="complex"),
    Row("svd", lr.svd_row, lr.svd_reference, (lr.well_conditioned,), cases=RECTANGULAR_CASES),
    Row("svd", lambda a: lr.svd_row(a, True), lambda a: lr.svd_reference(a, True),
        (lr.well_conditioned,), variant="full_matrices",
        cases=(("tall", ((4, 2),)), ("wide_stack", ((2, 2, 4),)))),
    Row("svd", lr.svd_row, lr.svd_reference, (lr.complex_well_conditioned,),
        cases=RECTANGULAR_CASES, dtypes=COMPLEX, variant="complex"),
    Row("svd", lambda a: lr.svd_row(a, True), lambda a: lr.svd_reference(a, True),
        (lr.complex_well_conditioned,), variant="complex_full_matrices",
        cases=(("tall", ((4, 2),)), ("wide_stack", ((2, 2, 4),))), dtypes=COMPLEX),
    Row("qr", lr.qr_row, lr.qr_reference, (lr.well_conditioned,), cases=RECTANGULAR_CASES),
    Row("qr", lambda a: lr.qr_row(a, True), lambda a: lr.qr_reference(a, True),
        (lr.well_conditioned,), variant="complete", cases=TALL_CASES),
    Row("pinv", la.pinv, np.linalg.pinv, (lr.well_conditioned,), cases=RECTANGULAR_CASES),
    Row("qr", lr.qr_row, lr.qr_reference, (lr.complex_well_conditioned,),
        cases=RECTANGULAR_CASES, dtypes=COMPLEX, variant="complex"),
    Row("qr", lambda a: lr.qr_row(a, True), lambda a: lr.qr_reference(a, True),
        (lr.complex_well_conditioned,), variant="complex_complete", cases=TALL_CASES,
        dtypes=COMPLEX),
    Row("pinv", la.pinv, np.linalg.pinv, (lr.complex_well_conditioned,),
        cases=RECTANGULAR_CASES, dtypes=COMPLEX, variant="complex"),
    # LU's row interchanges (integers: no derivative), checked against a plain pivoting loop.
    Row("lu_pivots", la.lu_pivots, lr.lu_pivots_reference, (real,), "none",
        cases=RECTANGULAR_CASES),
    Row("lu_permutation", lambda a: la.lu_permutation(la.lu_pivots(a), np.shape(a)[-2]),
        lr.lu_permutation_reference, (real,), "none", cases=RECTANGULAR_CASES),
]

# Custom derivative rules and checkpointed blocks (tests/custom_examples.py): the rows check
# a correct user rule against central differences, and the batching of fun, fwd and bwd.
SAME_SHAPES = (("scalar", ((), ())), ("vector", ((3,), (3,))), ("matrix", ((2, 3), (2, 3))))
CUSTOM_ROWS = [
    unary("custom_vjp_call", cx.log1pexp, cx.log1pexp_reference),
    binary("custom_vjp_call", cx.scaled_sine, cx.scaled_sine_reference, variant="two_args",
           cases=SAME_SHAPES),
    unary("custom_jvp_call", cx.log1pexp_jvp, cx.log1pexp_reference),
    binary("custom_jvp_call", cx.scaled_sine_jvp, cx.scaled_sine_reference, variant="two_args",
           cases=SAME_SHAPES),
    unary("checkpoint", cx.sine_block, cx.sine_block_reference),
    binary("checkpoint", cx.product_block, cx.product_block_reference, variant="broadcast"),
]

# Control flow (tests/control_reference.py): cond's first argument picks the branch by its sign;
# scan runs over the leading axis of its second. while: an integer output (no derivative), and a
# floating carry differentiated in both modes. host_call: two results of a function of arrays.
SCAN_CASES = (("scalar", ((), (4,))), ("vector", ((3,), (4, 3))), ("matrix", ((2, 3), (4, 2, 3))))
CONTROL_ROWS = [
    Row("cond", cr.cond_row, cr.cond_reference, (nonzero, real),
        cases=(("scalar", ((), ())), ("vector", ((), (3,))), ("matrix", ((), (2, 3))))),
    Row("scan", cr.scan_row, cr.scan_reference, (real, real), cases=SCAN_CASES),
    Row("scan", lambda c, xs: cr.scan_row(c, xs, reverse=True),
        lambda c, xs: cr.scan_reference(c, xs, reverse=True), (real, real), variant="reverse",
        cases=SCAN_CASES),
    Row("while", cr.while_row, cr.while_reference, (positive,), "none"),
    Row("while", cr.while_float_row, cr.while_float_reference, (real,), variant="float_carry",
        cases=(("scalar", ((),)), ("vector", ((3,),)))),
    Row("host_call", cr.host_row, cr.host_reference, (real, real), cases=SAME_SHAPES),
]



# Convolutions (tests/conv_reference.py: shift-and-add, XLA's definition): strides, padding
# (explicit, negative, SAME), both dilations, feature and batch groups, NHWC/HWIO layouts,
# 1 to 3 spatial dimensions. The input's and the kernel's cotangents are convolutions too.
def _conv_row(variant, shapes, strides, padding, lhs_dilation=None, rhs_dilation=None,
              dimension_numbers=None, groups=1, batch_groups=1):
    def fn(x, w):
        return cv.conv_general_dilated(x, w, strides, padding, lhs_dilation, rhs_dilation,
                                       dimension_numbers, groups, batch_groups)

    def reference(x, w):
        numbers = cv.conv_dimension_numbers(x.shape, w.shape, dimension_numbers)
        pads = padding if not isinstance(padding, str) else cv.padtype_to_pads(
            [x.shape[a] for a in numbers.lhs_spec[2:]],
            [(w.shape[a] - 1) * d + 1 for a, d in zip(numbers.rhs_spec[2:],
                                                      rhs_dilation or (1,) * (x.ndim - 2))],
            strides, padding)
        return conv_reference.conv_reference(x, w, strides, pads, lhs_dilation, rhs_dilation,
                                             tuple(numbers), groups, batch_groups)

    return Row("conv_general_dilated", fn, reference, (real, real), variant=variant,
               cases=(("", shapes),))


CONV_ROWS = [
    _conv_row("1d_stride_padding", ((2, 3, 7), (4, 3, 3)), (2,), ((1, 2),)),
    _conv_row("2d_dilations_groups", ((2, 4, 5, 4), (6, 2, 3, 2)), (1, 2), ((1, 0), (0, 1)),
              (2, 1), (1, 2), groups=2),
    _conv_row("2d_negative_padding_batch_groups", ((4, 3, 5, 4), (4, 3, 2, 2)), (2, 1),
              ((1, -1), (0, 1)), batch_groups=2),
    _conv_row("2d_nhwc_same", ((2, 5, 4, 3), (3, 2, 3, 4)), (2, 1), "SAME",
              dimension_numbers=("NHWC", "HWIO", "NHWC")),
    _conv_row("3d", ((1, 2, 4, 3, 3), (2, 2, 2, 2, 1)), (1, 2, 1),
              ((1, 0), (0, 1), (0, 0)), rhs_dilation=(1, 1, 2)),
    # A window larger than the output and many output features: the "taps" im2col layout.
    _conv_row("wide_window_many_features", ((2, 2, 3, 3), (40, 2, 3, 3)), (1, 1), "VALID"),
]

# Window reductions (pooling) against one window at a time: padding (negative too), base and
# window dilation for sums; maxima over windows that do not overlap, on values without ties.
def _window_row(prim, variant, shape, window, strides, padding, base=None, dilation=None):
    if prim == "reduce_window_sum":
        def fn(x):
            return wd.reduce_window_sum(x, window, strides, padding, base, dilation)

        def reference(x):
            return conv_reference.window_reference(x, np.sum, 0, window, strides, padding,
                                                   base, dilation)
    else:
        def fn(x):
            return wd.reduce_window_max(x, window, strides, padding, dilation)

        def reference(x):
            return conv_reference.window_reference(x, np.max, -np.inf, window, strides,
                                                   padding, None, dilation)
    domain = real if prim == "reduce_window_sum" else distinct
    return Row(prim, fn, reference, (domain,), variant=variant, cases=(("", (shape,)),))


WINDOW_ROWS = [
    _window_row("reduce_window_sum", "pool_2x2", (2, 3, 4, 4), (1, 1, 2, 2), (1, 1, 2, 2),
                ((0, 0),) * 4),
    _window_row("reduce_window_sum", "overlapping_padded", (2, 5, 4), (1, 3, 2), (1, 2, 1),
                ((0, 0), (1, 1), (0, 1))),
    _window_row("reduce_window_sum", "dilations_negative_padding", (3, 7), (2, 2), (1, 2),
                ((1, 0), (0, -1)), (2, 1), (1, 2)),
    _window_row("reduce_window_sum", "upsampling", (2, 3, 4), (1, 2, 3), (1, 1, 1),
                ((0, 0), (1, 0), (2, 1)), (1, 2, 3), (1, 1, 2)),
    _window_row("reduce_window_max", "pool_2x2", (2, 3, 4, 4), (1, 1, 2, 2), (1, 1, 2, 2),
                ((0, 0),) * 4),
    _window_row("reduce_window_max", "gapped_padded_dilated", (2, 7, 6), (1, 2, 2), (1, 3, 4),
                ((0, 0), (1, 1), (0, 1)), dilation=(1, 1, 2)),
]

# Host callbacks. A pure_callback has no derivative (it raises under differentiation): its row
# passes the operands through stop_gradient, so that its derivative is a disconnected zero.
# debug_print prints (pytest captures it) and its row returns sin of what it printed.
def _host_sine_product(x, y):
    return (np.sin(x) * y).astype(np.result_type(x, y))


def _callback_row(x, y):
    result = np.empty(np.broadcast_shapes(np.shape(x), np.shape(y)), np.result_type(x, y))
    return fg.pure_callback(_host_sine_product, result, sp.stop_gradient(x),
                            sp.stop_gradient(y), vmap_method="sequential")


def _printed_sine(x):
    fg.debug.print("debug_print row: {}", x)
    return ew.sin(x)


CALLBACK_ROWS = [
    binary("pure_callback", _callback_row, _host_sine_product, kind="none"),
    unary("debug_print", _printed_sine, np.sin),
]


# MPI collectives (funcgrad/ops/collective.py) in one process: their local equivalents (the
# identity, a leading axis of 1, the one block). tests/test_distributed.py runs them on ranks.
# Each row returns one array (tests/test_jit_table.py compares rows' outputs one to one).
def _collective_row(bind):
    return lambda x: bind([x], coll.WORLD)[0]


def _two_operand_allreduce(x, y):
    return ew.mul(*coll.allreduce([x, y], "sum", coll.WORLD))


_ONE_BLOCK = (("vector", ((1, 3),)), ("matrix", ((1, 2, 3),)))
COLLECTIVE_ROWS = [
    *[unary("allreduce", _collective_row(lambda xs, comm, op=op: coll.allreduce(xs, op, comm)),
            lambda x: x, variant=op) for op in coll.OPS],
    binary("allreduce", _two_operand_allreduce, np.multiply, variant="two_operands",
           cases=SAME_SHAPES),
    unary("allgather", _collective_row(coll.allgather), lambda x: x[None]),
    unary("reduce_scatter", _collective_row(coll.reduce_scatter), lambda x: x[0],
          cases=_ONE_BLOCK),
    unary("broadcast", _collective_row(lambda xs, comm: coll.broadcast(xs, 0, comm)),
          lambda x: x),
    unary("reduce", _collective_row(lambda xs, comm: coll.reduce(xs, 0, comm)), lambda x: x),
]

TABLE = (ELEMENTWISE_ROWS + COMPLEX_ROWS + FFT_ROWS + REDUCTION_ROWS + STRUCTURAL_ROWS
         + SPECIAL_FUNCTION_ROWS + RANDOM_ROWS + SORTING_ROWS + LINALG_ROWS + CUSTOM_ROWS
         + CONTROL_ROWS + CALLBACK_ROWS + COLLECTIVE_ROWS + CONV_ROWS + WINDOW_ROWS)
ROWS_BY_PRIMITIVE = {}
for _row in TABLE:
    ROWS_BY_PRIMITIVE.setdefault(_row.prim, []).append(_row)


@dataclasses.dataclass(frozen=True)
class Case:
    row: Row
    shapes: tuple
    dtype: type
    id: str

    def args(self):
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return tuple(np.asarray(domain(rng, shape), self.dtype)[()]
                     for domain, shape in zip(self.row.domains, self.shapes))


def _cases(kinds):
    out = []
    for row in TABLE:
        if row.kind not in kinds:
            continue
        for case_id, shapes in row.shape_cases():
            for dtype in row.dtypes:
                parts = [row.label, case_id, np.dtype(dtype).name]
                case = Case(row, shapes, dtype, "-".join(p for p in parts if p))
                out.append(pytest.param(case, id=case.id))
    return out


# ---------------------------------------------------------------------- coverage of the table

@pytest.mark.parametrize("name", sorted(ALL_PRIMITIVES))
def test_every_primitive_has_a_row(name):
    assert name in ROWS_BY_PRIMITIVE, (
        f"primitive '{name}' has no row in tests/test_primitives.py's TABLE: add one saying "
        "how to call it, its NumPy reference, its input domain and its kind of derivative")


@pytest.mark.parametrize("name", sorted(ALL_PRIMITIVES))
def test_every_primitive_has_every_rule(name):
    missing = [rule for rule in RULES if not ALL_PRIMITIVES[name].has_rule(rule)]
    assert not missing, f"primitive '{name}' lacks the rule(s) {missing}"


def test_every_row_names_a_primitive():
    unknown = sorted(set(ROWS_BY_PRIMITIVE) - set(ALL_PRIMITIVES))
    assert not unknown, f"rows for primitives that do not exist: {unknown}"


def test_a_missing_rule_raises_an_error_naming_the_primitive():
    prim = fg.core.Primitive("test_only_identity", "special")
    try:
        prim.impl = lambda x: x
        prim.abstract_eval = lambda x: x
        with pytest.raises(fg.core.MissingRuleError, match="no jvp rule for primitive "
                           "'test_only_identity'"):
            fg.jvp(prim.bind, (1.0,), (1.0,))
        with pytest.raises(fg.core.MissingRuleError, match="no vjp rule for primitive "
                           "'test_only_identity'"):
            fg.grad(prim.bind)(1.0)
    finally:
        del ALL_PRIMITIVES["test_only_identity"]
        fg.core.SPECIAL.discard(prim)


# ------------------------------------------------------------------ values, shapes and tracing
# Outputs are compared leaf by leaf, so a row may return a pytree (a multiple-result primitive).

def _leaves(tree):
    return [np.asarray(leaf) for leaf in fg.tree.leaves(tree)]


def _ones_like(values):
    return tuple(np.ones(np.shape(v), v.dtype) for v in values)


def _assert_same(actual, expected, what, exact=False):
    actual, expected = _leaves(actual), _leaves(expected)
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, not {len(expected)}"
    for got, want in zip(actual, expected):
        assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
        assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
        if exact or got.dtype.kind in "biu":
            np.testing.assert_array_equal(got, want, err_msg=what)
        else:
            tolerance = 1e-6 if got.dtype in (np.float32, np.complex64) else 1e-13
            np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance, err_msg=what)


@pytest.mark.parametrize("case", _cases({"smooth", "flat", "none", "implicit"}))
def test_values_shape_rule_and_tracing(case):
    row, args = case.row, case.args()
    with np.errstate(invalid="ignore"):
        eager = row.fn(*args)
        _assert_same(eager, row.reference(*args), "eager value (impl) against NumPy")

    ir = fg.make_ir(row.fn)(*args)    # also type-checks the IR
    assert row.prim in {eqn.primitive.name for eqn in ir.eqns}, (
        f"the row for '{row.prim}' does not bind it:\n{ir}")
    predicted = [(aval.shape, aval.dtype) for aval in ir.out_avals]
    assert predicted == [(v.shape, v.dtype) for v in _leaves(eager)], (
        f"the shape rule predicts {predicted}")

    if row.kind == "implicit":   # derivatives checked in test_random_distributions.py
        return
    with np.errstate(invalid="ignore"):
        traced, tangent_out = fg.jvp(row.fn, args, _ones_like(args))
        pulled, _ = fg.vjp(row.fn, *args)
    _assert_same(traced, eager, "value traced through jvp", exact=True)
    _assert_same(pulled, eager, "value traced through vjp", exact=True)
    assert [t.dtype for t in _leaves(tangent_out)] == [v.dtype for v in _leaves(eager)]


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("case", _cases({"smooth", "flat"}))
def test_check_grads(case):
    fg.check_grads(case.row.fn, case.args(), order=2, modes=("fwd", "rev"),
                   **case.row.tolerance)


def _assert_like(values, likes, what):
    for value, like in zip(_leaves(values), _leaves(likes)):
        assert (value.shape, value.dtype) == (like.shape, like.dtype), (
            f"{what}: {value.dtype}{list(value.shape)}, expected {like.dtype}{list(like.shape)}")


@pytest.mark.parametrize("case", _cases({"smooth"}))
def test_derivative_dtypes_and_types(case):
    """Tangents and cotangents keep each value's shape and dtype (float32 stays float32), to
    second order, and the IRs of the derivatives type-check."""
    fn, args = case.row.fn, case.args()
    out, vjp_fn = fg.vjp(fn, *args)
    cotangent = fg.tree.map(lambda o: np.ones(np.shape(o), np.asarray(o).dtype), out)
    _assert_like(vjp_fn(cotangent), args, "cotangent")
    _assert_like(fg.jvp(fn, args, _ones_like(args))[1], out, "tangent")

    def backward(*a):
        return fg.vjp(fn, *a)[1](cotangent)

    _assert_like(fg.jvp(backward, args, _ones_like(args))[1], args, "forward over reverse")
    fg.make_ir(backward)(*args)
    fg.make_ir(lambda *a: fg.jvp(fn, a, _ones_like(a))[1])(*args)


def _summed(fn):
    """A scalar float function of the row's arguments (bool/int outputs cast to float)."""
    def scalar(*args):
        total = np.float64(0)
        for out in fg.tree.leaves(fn(*args)):
            out = ew.convert(out, np.float64)
            total = ew.add(total, red.reduce_sum(out, range(np.ndim(out))))
        return total
    return scalar


@pytest.mark.parametrize("case", _cases({"flat"}))
def test_flat_derivative_is_exactly_zero(case):
    """A zero derivative, to second order; the output still depends on the input, so it is
    not a disconnected gradient."""
    fn, args = case.row.fn, case.args()
    argnums = tuple(range(len(args)))

    def first_derivative(*a):
        return fg.jvp(fn, a, _ones_like(a))[1]

    gradient = fg.grad(_summed(fn), argnums, on_disconnected="error")(*args)
    for derivative in (gradient, first_derivative(*args),
                       fg.grad(_summed(first_derivative), argnums)(*args)):
        for value in _leaves(derivative):
            np.testing.assert_array_equal(value, np.zeros_like(value))


@pytest.mark.parametrize("case", _cases({"none"}))
def test_no_derivative_is_disconnected(case):
    fn, args = case.row.fn, case.args()
    argnums = tuple(range(len(args)))
    with np.errstate(invalid="ignore"):
        for grad in fg.grad(_summed(fn), argnums)(*args):
            np.testing.assert_array_equal(grad, np.zeros_like(grad))
        with pytest.raises(fg.DisconnectedGradientError):
            fg.grad(_summed(fn), argnums, on_disconnected="error")(*args)
        _, tangent = fg.jvp(fn, args, _ones_like(args))
    assert not any(np.any(t) for t in _leaves(tangent))


# ------------------------------------------------------------------- eager reverse rules

vjp_module = importlib.import_module("funcgrad.transforms.vjp")   # the name vjp is a function


def _vjp_numbers(fn, args, cotangent, eager: bool):
    saved, vjp_module.EAGER_RULES = vjp_module.EAGER_RULES, eager
    try:
        out, vjp_fn = fg.vjp(fn, *args)
        return vjp_fn(cotangent)
    finally:
        vjp_module.EAGER_RULES = saved


@pytest.mark.parametrize("case", [case for case in _cases({"smooth", "flat"})
                                  if ALL_PRIMITIVES[case.values[0].row.prim].eager_vjp
                                  is not None])
def test_eager_vjp_gives_the_traced_rules_numbers(case):
    """A primitive's ``eager_vjp`` (NumPy, for concrete values) gives its ``vjp``'s numbers
    bit for bit, and the same dtypes, with ties where the row's domain has them."""
    fn, args = case.row.fn, case.args()
    out = fn(*args)
    rng = np.random.default_rng(zlib.crc32(case.row.label.encode()))
    cotangent = fg.tree.map(
        lambda o: rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype), out)
    eager = _vjp_numbers(fn, args, cotangent, True)
    traced = _vjp_numbers(fn, args, cotangent, False)
    _assert_same(eager, traced, "eager_vjp against vjp", exact=True)
    if case.row.prim in ("max", "min"):   # ties share the cotangent: the other branch
        tied = tuple(np.zeros_like(a) for a in args)
        _assert_same(_vjp_numbers(fn, tied, cotangent, True),
                     _vjp_numbers(fn, tied, cotangent, False), "with ties", exact=True)
