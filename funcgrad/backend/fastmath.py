"""Vectorisable transcendental functions for numba loops, in float32 and float64.

``exp, expm1, exp2, log, log1p, log2, sin, cos, tan, atan, tanh, sigmoid`` (alias
``logistic``), ``sinh, cosh``: each as ``<name>_f32`` (float32 in, float32 out, float32
arithmetic throughout, so an AVX-512 loop runs 16 lanes, AVX2 8) and ``<name>_f64``. They are
numba functions meant to be called from other numba code; in a loop they inline and LLVM
vectorises the loop (PyPI's llvmlite has no SVML, so ``np.sin`` & co. in a numba loop are one
libm call per element). This module imports numba: load it only when compiling.

Calling them from generated code::

    from funcgrad.backend import fastmath as fm      # fm.function(name, dtype) picks one
    fm.function("tanh", np.float32) is fm.tanh_f32
    # a template for float32 operands: "_fm.tanh_f32({0})", with _fm = fm in the globals

Pick the variant by the dtype of the operand (float32 -> ``_f32``, float64 -> ``_f64``; cast
integers and other floats first). Never pass a float64 to an ``_f32`` function: it would
compute in mixed precision (or fail to type, for sin/cos/tan).

How they are compiled
---------------------
- Each exported function is its own numba dispatcher (``fastmath={"contract"}``,
  ``error_model="numpy"``, ``cache=True``) and marks its LLVM function ``alwaysinline``:
  numba links it into the caller and LLVM inlines it there. So its flags stay its own whatever
  the caller's: a caller compiled with ``fastmath=True`` (nnan, reassoc, ...) still gets exact
  NaN/inf/-0.0 handling and intact error-free transformations. (``inline="always"`` at the
  numba level would type the body with the caller's flags: ``fastmath=True`` then turns
  ``exp(nan)`` into 0.) Callers may use any flags; ``fastmath=True`` on the caller is what lets
  a ``+=`` reduction vectorise.
- ``cache=True`` (``_CACHE``): a function is compiled once (80-150 ms each) and then loaded
  from numba's disk cache (``__pycache__`` next to this file, or numba's user-wide cache
  directory, ``NUMBA_CACHE_DIR``, when that is not writable) in 1-3 ms by later processes.
- Every function is branch-free apart from one rarely taken branch in sin/cos/tan (below).

Methods
-------
- exp, expm1, exp2, tanh, sigmoid, sinh, cosh share one core: ``n = rint(x / ln2)``,
  ``r = x - n ln2`` by Cody-Waite (ln2 split so that ``n * LN2_HI`` is exact; the rounding of
  ``r`` is carried as a correction), ``e**r - 1`` by a minimax polynomial on ``|r| <= ln2/2``
  (degree 12 float64, 7 float32), and ``2**n`` built from the exponent bits in two factors so
  that overflow gives inf and gradual underflow rounds once. ``expm1`` adds ``2**n - 1`` by a
  TwoSum; ``tanh|x| = h / (1 + h)`` with ``h = expm1(2|x|) / 2`` (as ``h - h q`` for
  ``|x| < 0.4``), ``sigmoid = (1 or e**-|x|) / (1 + e**-|x|)``,
  ``sinh = (e + e / (e + 1)) / 2`` with ``e = expm1|x|``, ``cosh = (e + 1/e) / 2`` with
  ``e = e**|x|`` (both ``e**|x| / 2`` beyond ``|x| = 20``, float64, or 10, float32).
- log, log1p, log2: ``x = 2**k (1 + f)`` from the bits with ``1 + f`` in ``[sqrt(1/2),
  sqrt 2)`` (subnormals scaled first), ``log1p(f) = f - (f**2/2 - s (f**2/2 + R(s**2)))``
  with ``s = f / (2 + f)`` and a minimax ``R`` (degree 7 float64, 3 float32). ``log1p`` folds
  the rounding error of ``1 + x`` back in; ``log2`` multiplies by a two-part ``1/ln2``.
- sin, cos, tan: ``n = rint(x 2/pi)``, ``x - n pi/2`` with a three-part pi/2 and FMA, kept as
  a double-word ``r + rl`` (exact product and TwoSum), minimax polynomials for sin and cos on
  ``|r| <= pi/4`` (degree 13/14 float64, 7/8 float32), ``tan = sin / cos`` of the reduced
  argument. The reduction is exact enough for ``|x| <= 2**28`` (float64) and ``2**17``
  (float32); beyond that, and for inf/NaN, the function calls libm's sin/cos/tan (correctly
  reduced). That branch does not block vectorisation: the call goes to a stub carrying LLVM's
  ``vector-function-abi-variant`` attribute, whose masked vector variants return at once when
  no lane needs libm (one call and one mask test per vector) and otherwise call libm for the
  lanes that do. Its cost on ordinary inputs: 0.05 ms per 10**6 (13% of the float32 sin loop).
- atan: ``|x|`` reduced to ``|t| <= tan(pi/8)`` with one division (``t = x``,
  ``(x - 1) / (x + 1)`` or ``-1 / x`` plus pi/4 or pi/2 in two parts), minimax odd polynomial
  (degree 23 float64, 11 float32).

The coefficients and split constants are derived in ``funcgrad/backend/_fit_fastmath.py``
(Remez exchange in 80-digit arithmetic, then rounding coefficient by coefficient with refits).
The FMAs (``llvm.fma``) need a CPU with FMA to be fast (every x86-64 CPU since 2013 except
some Atom/Celeron parts, every AArch64); elsewhere they become libm calls: correct, slow
(float32 sin 3.1 ms per 10**6 for numba's SSE4.2 target, libm 6.5 ms).

Accuracy
--------
Maximum error in ulps of the result's dtype; ``bound (measured)``. ``tests/test_fastmath.py``
asserts the bounds on dense sweeps of every function's whole input range plus its special
values. float32: against the exact result (float64 NumPy), measured over all 2**32 inputs.
float64: against the exact result (x87 long double NumPy, ~2**-11 ulp) and against NumPy's
float64 functions (whose own error is included), measured on 2-3 million inputs per function
(log-uniform over all magnitudes, both signs, plus dense hard regions). For comparison,
NumPy 2.4's own float32 functions are up to 1.3-3.5 ulps from exact on this machine (AVX-512).
NaN in gives NaN; infinities, signed zeros, overflow to inf and underflow (to subnormals and
zero) are NumPy's, bit for bit.

| function | float32 vs exact | float64 vs exact | float64 vs NumPy |
|---|---|---|---|
| ``exp`` | 1.0 (0.758) | 1.0 (0.75) | 2.0 (1) |
| ``expm1`` | 1.5 (1.095) | 1.5 (1.02) | 2.5 (1) |
| ``exp2`` | 1.0 (0.759) | 1.0 (0.75) | 2.0 (1) |
| ``log`` | 1.0 (0.840) | 1.0 (0.84) | 2.0 (1) |
| ``log1p`` | 1.0 (0.875) | 1.0 (0.87) | 2.0 (1) |
| ``log2`` | 1.0 (0.895) | 1.0 (0.85) | 2.0 (1) |
| ``sin`` | 1.0 (0.782) | 1.0 (0.77) | 2.0 (1) |
| ``cos`` | 1.0 (0.782) | 1.0 (0.77) | 2.0 (1) |
| ``tan`` | 2.5 (2.284) | 2.5 (2.19) | 3.5 (2) |
| ``atan`` | 2.0 (1.858) | 2.0 (1.79) | 3.0 (2) |
| ``tanh`` | 2.0 (1.742) | 2.0 (1.70) | 3.0 (2) |
| ``sigmoid`` | 2.5 (2.402) | 2.5 (2.17) | 4.0 (2) |
| ``sinh`` | 2.5 (2.177) | 2.5 (2.00) | 3.5 (2) |
| ``cosh`` | 1.5 (1.084) | 1.5 (1.12) | 2.5 (1) |

(``sigmoid``'s NumPy reference is ``1 / (1 + exp(-x))`` or ``e / (1 + e)``, ``e = exp(x)``.)

Speed
-----
Milliseconds for ``out[i] = f(x[i])`` over 10**6 elements on one core of an AMD EPYC (Zen 5,
AVX-512), numba 0.68; "libm" is ``np.<f>`` (``1 / (1 + np.exp(-x))``) in the same loop:

| function | float32 | libm float32 | float64 | libm float64 |
|---|---|---|---|---|
| exp | 0.35 | 1.7 | 0.66 | 3.0 |
| expm1 | 0.34 | 9.8 | 0.69 | 9.7 |
| exp2 | 0.32 | 1.3 | 0.57 | 1.8 |
| log | 0.32 | 2.1 | 0.55 | 2.5 |
| log1p | 0.67 | 7.9 | 1.04 | 7.9 |
| log2 | 0.35 | 1.5 | 0.60 | 2.5 |
| sin | 0.40 | 6.7 | 1.03 | 9.7 |
| cos | 0.39 | 6.6 | 1.06 | 11.4 |
| tan | 0.40 | 12.2 | 1.04 | 15.2 |
| atan | 0.15 | 11.2 | 0.48 | 7.9 |
| tanh | 0.31 | 13.3 | 0.69 | 13.2 |
| sigmoid | 0.36 | 2.1 | 0.72 | 3.3 |
| sinh | 0.46 | 14.4 | 0.91 | 13.5 |
| cosh | 0.40 | 5.3 | 0.75 | 5.1 |

With AVX2 code (numba's ``haswell`` target on the same machine) the float32 loops take about
2.5x these times (exp 0.89, sin 0.99, tanh 0.87 ms), the float64 ones 2-2.5x.

``sum(sin(x) * exp(-x*x) + tanh(x)**2)`` over 10**6 float32 (one fused loop, caller
``fastmath=True``): 22.6 ms with libm, 0.99 ms with these; with ``parallel=True``/``prange``
on 2 threads 11.3 ms and 0.52 ms. Compiling that loop takes about as long as with libm
(~100-160 ms once the three functions are compiled; compiling them costs ~310 ms once, then
they come from the disk cache).
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = [
    "ERROR_BOUNDS", "FUNCTIONS", "NAMES", "function",
    "exp_f32", "exp_f64", "expm1_f32", "expm1_f64", "exp2_f32", "exp2_f64",
    "log_f32", "log_f64", "log1p_f32", "log1p_f64", "log2_f32", "log2_f64",
    "sin_f32", "sin_f64", "cos_f32", "cos_f64", "tan_f32", "tan_f64",
    "atan_f32", "atan_f64", "tanh_f32", "tanh_f64", "sigmoid_f32", "sigmoid_f64",
    "logistic_f32", "logistic_f64", "sinh_f32", "sinh_f64", "cosh_f32", "cosh_f64",
]

# Exported functions are compiled on their own (numba links them into the caller, and LLVM
# inlines them there), so their floating-point flags are theirs whatever the caller uses:
# "contract" lets LLVM fuse a * b + c into an FMA instruction (every Horner step), nothing
# else is relaxed (NaN/inf/-0.0 handling and the error-free transformations rely on that).
_FLAGS = {"contract"}
_CACHE = True


def _jit(fn):
    return numba.njit(fastmath=_FLAGS, error_model="numpy", cache=_CACHE)(fn)


def _exact(fn):
    # No flags at all: error-free transformations (TwoSum, exact products) must not be fused.
    return numba.njit(error_model="numpy", cache=_CACHE)(fn)


def _inline(fn):
    # Small helpers, typed and lowered inside the exported function that calls them.
    return numba.njit(inline="always", fastmath=_FLAGS, error_model="numpy")(fn)


F32 = np.float32
F64 = np.float64

# --------------------------------------------------------------------------- intrinsics


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float: float32 -> int32, float64 -> int64."""
    if x == types.float32:
        sig, width = types.int32(x), 32
    elif x == types.float64:
        sig, width = types.int64(x), 64
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(width))
    return sig, codegen


@intrinsic
def _f32_from_bits(typingctx, i):
    """The float32 whose bits are the low 32 bits of the integer ``i``."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if i.bitwidth > 32:
            value = builder.trunc(value, ir.IntType(32))
        elif i.bitwidth < 32:
            value = builder.zext(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())
    return types.float32(i), codegen


@intrinsic
def _f64_from_bits(typingctx, i):
    """The float64 whose bits are the 64-bit integer ``i``."""
    if not isinstance(i, types.Integer) or i.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(i), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (``llvm.fma``; a libm call on a CPU without FMA)."""
    if not (a == b == c and a in (types.float32, types.float64)):
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.fma", [args[0].type] * 3)
        return builder.call(fn, args)
    return a(a, b, c), codegen


@intrinsic
def _always_inline(typingctx):
    """Mark the LLVM function being compiled ``alwaysinline`` (emits no code).

    LLVM's inliner leaves the larger functions (float64 sin, log1p, ...) out of the caller's
    loop by its size heuristics, and a loop with a call in it does not vectorise.
    """
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        if "noinline" not in attributes:
            attributes.add("alwaysinline")
        return context.get_dummy_value()
    return types.none(), codegen


# ------------------------------------------------------- rare-path fallback to libm
# sin/cos/tan of a huge argument (|x| beyond the Cody-Waite range, or inf/nan) call libm.
# A plain call in a loop body stops LLVM's loop vectoriser (or, for the speculatable
# ``llvm.sin``, makes it call libm for every lane: 50x slower). So the call goes to a small
# ``noinline`` stub that carries LLVM's "vector-function-abi-variant" attribute: masked vector
# versions of it (``_ZGV_LLVM_M<N>v``) exist for every width, and the vectoriser calls them
# with the mask of the lanes that took the rare branch. A variant returns at once when no
# lane is set (the common case: one call and one test per vector of N elements) and otherwise
# calls libm lane by lane. The scalar stub and the variants are ``linkonce_odr`` and listed in
# ``llvm.compiler.used`` so that they survive until the vectoriser has run.

_VECTOR_WIDTHS = {32: (2, 4, 8, 16, 32), 64: (2, 4, 8, 16)}


class _RawAttributes(ir.values.FunctionAttributes):
    """llvmlite's function attributes plus raw ``"key"="value"`` strings."""

    def __init__(self, names, raw):
        super().__init__(names)
        self._raw = list(raw)

    def _to_list(self, ret_type):
        return super()._to_list(ret_type) + self._raw


def _define_masked_variant(module, name, libm, fltty, width):
    vecty = ir.VectorType(fltty, width)
    maskty = ir.VectorType(ir.IntType(1), width)
    fn = ir.Function(module, ir.FunctionType(vecty, [vecty, maskty]), name)
    fn.linkage = "linkonce_odr"
    x, mask = fn.args
    entry, loop, call, step, done, fast = (fn.append_basic_block(label) for label in
                                           ("entry", "loop", "call", "step", "done", "fast"))
    b = ir.IRBuilder(entry)
    any_set = b.icmp_unsigned("!=", b.bitcast(mask, ir.IntType(width)),
                              ir.Constant(ir.IntType(width), 0))
    b.cbranch(any_set, loop, fast)
    b.position_at_end(fast)
    b.ret(x)
    i32 = ir.IntType(32)
    b.position_at_end(loop)
    lane = b.phi(i32)
    acc = b.phi(vecty)
    b.cbranch(b.extract_element(mask, lane), call, step)
    b.position_at_end(call)
    result = b.call(libm, [b.extract_element(x, lane)])
    updated = b.insert_element(acc, result, lane)
    b.branch(step)
    b.position_at_end(step)
    acc_next = b.phi(vecty)
    acc_next.add_incoming(acc, loop)
    acc_next.add_incoming(updated, call)
    lane_next = b.add(lane, ir.Constant(i32, 1))
    b.cbranch(b.icmp_unsigned("<", lane_next, ir.Constant(i32, width)), loop, done)
    lane.add_incoming(ir.Constant(i32, 0), entry)
    lane.add_incoming(lane_next, step)
    acc.add_incoming(x, entry)
    acc.add_incoming(acc_next, step)
    b.position_at_end(done)
    b.ret(acc_next)
    return fn


def _declare_fallback(module, libm_name, fltty, bitwidth):
    stub_name = f"funcgrad_fastmath_{libm_name}_fallback"
    stub = module.globals.get(stub_name)
    if stub is not None:
        return stub
    fnty = ir.FunctionType(fltty, [fltty])
    libm = module.globals.get(libm_name) or ir.Function(module, fnty, libm_name)
    variants = [(w, _define_masked_variant(module, f"{stub_name}_m{w}", libm, fltty, w))
                for w in _VECTOR_WIDTHS[bitwidth]]
    abi = ",".join(f"_ZGV_LLVM_M{w}v_{stub_name}({v.name})" for w, v in variants)
    stub = ir.Function(module, fnty, stub_name)
    stub.linkage = "linkonce_odr"
    stub.attributes = _RawAttributes(("noinline", "nounwind"),
                                     [f'"vector-function-abi-variant"="{abi}"'])
    b = ir.IRBuilder(stub.append_basic_block("entry"))
    b.ret(b.call(libm, [stub.args[0]]))
    if "llvm.compiler.used" in module.globals:
        raise RuntimeError("fastmath: one libm fallback per numba function")
    ptr = ir.IntType(8).as_pointer()
    used = ir.GlobalVariable(module, ir.ArrayType(ptr, len(variants)), "llvm.compiler.used")
    used.linkage = "appending"
    used.section = "llvm.metadata"
    used.initializer = ir.Constant(used.value_type, [v.bitcast(ptr) for _, v in variants])
    return stub


def _libm_fallback(libm_name, numba_type):
    """An intrinsic ``f(x)`` calling libm's ``libm_name`` through the vectorisable stub."""
    bitwidth = numba_type.bitwidth

    @intrinsic
    def fallback(typingctx, x):
        if x != numba_type:
            return None

        def codegen(context, builder, signature, args):
            fltty = ir.FloatType() if bitwidth == 32 else ir.DoubleType()
            return builder.call(_declare_fallback(builder.module, libm_name, fltty, bitwidth),
                                args)
        return numba_type(numba_type), codegen
    return fallback


_libm_sin_f32 = _libm_fallback("sinf", types.float32)
_libm_cos_f32 = _libm_fallback("cosf", types.float32)
_libm_tan_f32 = _libm_fallback("tanf", types.float32)
_libm_sin_f64 = _libm_fallback("sin", types.float64)
_libm_cos_f64 = _libm_fallback("cos", types.float64)
_libm_tan_f64 = _libm_fallback("tan", types.float64)

# ---------------------------------------------------------------------------- constants
# Split constants and polynomial coefficients: ``python -m funcgrad.backend._fit_fastmath``
# prints all of them (minimax fits in 80-digit arithmetic, rounded coefficient by coefficient).

_INF64 = F64(np.inf)
_NAN64 = F64(np.nan)
_INF32 = F32(np.inf)
_NAN32 = F32(np.nan)

_LOG2E_64 = F64(1.4426950408889634)
_LN2_HI_64 = F64(0.6931471805598903)     # 42 significant bits: n * _LN2_HI_64 is exact
_LN2_LO_64 = F64(5.497923018708371e-14)
_LOG2E_32 = F32(1.442695)
_LN2_HI_32 = F32(0.69314575)             # 16 significant bits
_LN2_LO_32 = F32(1.4286068e-06)
_LN2_64 = F64(0.6931471805599453)              # ln2 = _LN2 + _LN2_TAIL
_LN2_TAIL_64 = F64(2.3190468138462996e-17)
_LN2_32 = F32(0.6931472)
_LN2_TAIL_32 = F32(-1.9046542e-09)

# expm1(r) = r + r**2/2 + r**3 * P(r) for |r| <= ln2/2
_E3_64, _E4_64, _E5_64, _E6_64, _E7_64 = (
    F64(0.16666666666666677), F64(0.041666666666666644), F64(0.008333333333321258),
    F64(0.001388888888889363), F64(0.0001984126988737852))
_E8_64, _E9_64, _E10_64, _E11_64, _E12_64 = (
    F64(2.4801587319215595e-05), F64(2.7557242694679205e-06), F64(2.755726093601705e-07),
    F64(2.510935146223842e-08), F64(2.087625580869604e-09))
_E3_32, _E4_32, _E5_32, _E6_32, _E7_32 = (
    F32(0.16666666), F32(0.041666467), F32(0.008333644), F32(0.0013935325),
    F32(0.00019654547))

# log1p(f) = 2s + s R(s**2), s = f / (2 + f); R(z) = z (L1 + z (L2 + ...))
_L1_64, _L2_64, _L3_64, _L4_64, _L5_64, _L6_64, _L7_64 = (
    F64(0.6666666666666734), F64(0.3999999999941664), F64(0.28571428742028143),
    F64(0.22222198605063878), F64(0.1818356285040126), F64(0.15314084877210563),
    F64(0.1479563283808344))
_L1_32, _L2_32, _L3_32 = F32(0.66666776), F32(0.39977583), F32(0.29870796)
_SQRT_HALF_BITS_64 = np.int64(0x3FE6A09E667F3BCD)   # bits of sqrt(1/2)
_SQRT_HALF_BITS_32 = np.int32(0x3F3504F3)
_TWO54_64 = F64(18014398509481984.0)
_TWO24_32 = F32(16777216.0)
_MIN_NORMAL_64 = F64(2.2250738585072014e-308)
_MIN_NORMAL_32 = F32(1.1754944e-38)
_INVLN2_HI_64 = F64(1.4426950408889634)
_INVLN2_LO_64 = F64(2.0355273740931033e-17)
_INVLN2_HI_32 = F32(1.442695)
_INVLN2_LO_32 = F32(1.925963e-08)

# sin(r) = r + r**3 S(r**2), cos(r) = 1 - r**2/2 + r**4 C(r**2) for |r| <= pi/4
_TWO_OVER_PI_64 = F64(0.6366197723675814)
_PIO2_1_64 = F64(1.5707963267948966)
_PIO2_2_64 = F64(6.123233995736766e-17)
_PIO2_3_64 = F64(-1.4973849048591698e-33)
_S3_64, _S5_64, _S7_64, _S9_64, _S11_64, _S13_64 = (
    F64(-0.1666666666666663), F64(0.00833333333332184), F64(-0.00019841269829358525),
    F64(2.755731353851179e-06), F64(-2.5050734388606634e-08), F64(1.5895433235555125e-10))
_C4_64, _C6_64, _C8_64, _C10_64, _C12_64, _C14_64 = (
    F64(0.041666666666666595), F64(-0.0013888888888873342), F64(2.480158728900208e-05),
    F64(-2.7557314217038855e-07), F64(2.0875705396026993e-09), F64(-1.135874923970408e-11))
_TWO_OVER_PI_32 = F32(0.63661975)
_PIO2_1_32 = F32(1.5707964)
_PIO2_2_32 = F32(-4.371139e-08)
_PIO2_3_32 = F32(-1.7151245e-15)
_S3_32, _S5_32, _S7_32 = F32(-0.16666651), F32(0.008331925), F32(-0.00019484147)
_C4_32, _C6_32, _C8_32 = F32(0.04166664), F32(-0.0013887113), F32(2.4408899e-05)
# Cody-Waite range of the reduction; larger |x| (and inf/nan) go to libm.
_TRIG_MAX_64 = F64(268435456.0)    # 2**28
_TRIG_MAX_32 = F32(131072.0)       # 2**17

# atan(t) = t + t**3 A(t**2) for |t| <= tan(pi/8)
_A3_64, _A5_64, _A7_64, _A9_64, _A11_64, _A13_64 = (
    F64(-0.333333333333332), F64(0.1999999999995368), F64(-0.1428571428020083),
    F64(0.11111110783578369), F64(-0.09090897760456128), F64(0.07692060269139324))
_A15_64, _A17_64, _A19_64, _A21_64, _A23_64 = (
    F64(-0.06663104826607782), F64(0.05847896448405126), F64(-0.05039344229378083),
    F64(0.03806575835188873), F64(-0.017908734360326202))
_A3_32, _A5_32, _A7_32, _A9_32, _A11_32 = (
    F32(-0.33333316), F32(0.19998528), F32(-0.14244391), F32(0.105991684), F32(-0.060900524))
_TAN_PI8_64 = F64(0.41421356237309503)
_TAN_3PI8_64 = F64(2.414213562373095)
_TAN_PI8_32 = F32(0.41421357)
_TAN_3PI8_32 = F32(2.4142137)
_PIO2_HI_64 = F64(1.5707963267948966)
_PIO2_LO_64 = F64(6.123233995736766e-17)
_PIO4_HI_64 = F64(0.7853981633974483)
_PIO4_LO_64 = F64(3.061616997868383e-17)
_PIO2_HI_32 = F32(1.5707964)
_PIO2_LO_32 = F32(-4.371139e-08)
_PIO4_HI_32 = F32(0.7853982)
_PIO4_LO_32 = F32(-2.1855694e-08)

# Small float constants, typed (a bare Python literal would be float64 in numba).
_ZERO64, _HALF64, _ONE64, _TWO64 = F64(0.0), F64(0.5), F64(1.0), F64(2.0)
_ZERO32, _HALF32, _ONE32, _TWO32 = F32(0.0), F32(0.5), F32(1.0), F32(2.0)

# ------------------------------------------------------------------------ the exp family


@_inline
def _expm1_tail_f64(r, dr):
    """t with expm1(r + dr) = r + t, for |r| <= ln2/2 and |dr| <= ulp(r)."""
    p = _E12_64
    p = p * r + _E11_64
    p = p * r + _E10_64
    p = p * r + _E9_64
    p = p * r + _E8_64
    p = p * r + _E7_64
    p = p * r + _E6_64
    p = p * r + _E5_64
    p = p * r + _E4_64
    p = p * r + _E3_64
    return r * r * (_HALF64 + r * p) + (dr + dr * r)


@_inline
def _expm1_tail_f32(r, dr):
    p = _E7_32
    p = p * r + _E6_32
    p = p * r + _E5_32
    p = p * r + _E4_32
    p = p * r + _E3_32
    return r * r * (_HALF32 + r * p) + (dr + dr * r)


@_inline
def _exp_core_f64(x):
    """(r, t, n): e**x = 2**n (1 + r + t), |r| <= ln2/2, for finite |x| < 1100 ln2."""
    n = np.rint(x * _LOG2E_64)
    hi = x - n * _LN2_HI_64                          # exact
    lo = n * _LN2_LO_64
    r = hi - lo
    return r, _expm1_tail_f64(r, (hi - r) - lo), n   # (hi - r) - lo: what rounding r lost


@_inline
def _exp_core_f32(x):
    n = np.rint(x * _LOG2E_32)
    hi = x - n * _LN2_HI_32
    lo = n * _LN2_LO_32
    r = hi - lo
    return r, _expm1_tail_f32(r, (hi - r) - lo), n


@_inline
def _one_plus_f64(r, t):
    """1 + r + t rounded once, for |r| < 1 and |t| < r**2."""
    one = _ONE64 + r
    return one + (((_ONE64 - one) + r) + t)


@_inline
def _one_plus_f32(r, t):
    one = _ONE32 + r
    return one + (((_ONE32 - one) + r) + t)


@_inline
def _scale_f64(y, n):
    """y * 2**n for an integer-valued n in [-2044, 2046], rounded once (subnormals too)."""
    k = np.int64(n)
    h = k >> 1
    return y * _f64_from_bits((h + 1023) << 52) * _f64_from_bits((k - h + 1023) << 52)


@_inline
def _scale_f32(y, n):
    k = np.int64(n)
    h = k >> 1
    return y * _f32_from_bits((h + 127) << 23) * _f32_from_bits((k - h + 127) << 23)


@_inline
def _pow2_f64(n):
    """2**n for an integer-valued n in [-1022, 1023]."""
    return _f64_from_bits((np.int64(n) + 1023) << 52)


@_inline
def _pow2_f32(n):
    return _f32_from_bits((np.int64(n) + 127) << 23)


@_inline
def _expm1_from_core_f64(r, t, n):
    """2**n (1 + r + t) - 1 for n in [-60, 1024], rounded about once."""
    u = _pow2_f64(n - _ONE64)
    p = u * r                                        # exact; p + (u - 1/2) by TwoSum:
    s = p + (u - _HALF64)
    v = s - p
    e = (p - (s - v)) + ((u - _HALF64) - v)
    return _TWO64 * (s + (e + u * t))


@_inline
def _expm1_from_core_f32(r, t, n):
    u = _pow2_f32(n - _ONE32)
    p = u * r
    s = p + (u - _HALF32)
    v = s - p
    e = (p - (s - v)) + ((u - _HALF32) - v)
    return _TWO32 * (s + (e + u * t))


@_jit
def exp_f64(x):
    _always_inline()
    xc = x if x > F64(-746.0) else F64(-746.0)
    xc = xc if xc < F64(710.0) else F64(710.0)
    r, t, n = _exp_core_f64(xc)
    y = _scale_f64(_one_plus_f64(r, t), n)
    return y if x == x else x


@_jit
def exp_f32(x):
    _always_inline()
    xc = x if x > F32(-104.0) else F32(-104.0)
    xc = xc if xc < F32(89.0) else F32(89.0)
    r, t, n = _exp_core_f32(xc)
    y = _scale_f32(_one_plus_f32(r, t), n)
    return y if x == x else x


@_jit
def expm1_f64(x):
    _always_inline()
    xc = x if x > F64(-40.0) else F64(-40.0)
    xc = xc if xc < F64(710.0) else F64(710.0)
    r, t, n = _exp_core_f64(xc)
    y = _expm1_from_core_f64(r, t, n)
    y = y if x != _ZERO64 else x       # keeps -0.0
    return y if x == x else x


@_jit
def expm1_f32(x):
    _always_inline()
    xc = x if x > F32(-18.0) else F32(-18.0)
    xc = xc if xc < F32(89.0) else F32(89.0)
    r, t, n = _exp_core_f32(xc)
    y = _expm1_from_core_f32(r, t, n)
    y = y if x != _ZERO32 else x
    return y if x == x else x


@_jit
def exp2_f64(x):
    _always_inline()
    xc = x if x > F64(-1080.0) else F64(-1080.0)
    xc = xc if xc < F64(1025.0) else F64(1025.0)
    n = np.rint(xc)
    f = xc - n                                       # exact
    r = f * _LN2_64
    t = _expm1_tail_f64(r, _fma(f, _LN2_64, -r) + f * _LN2_TAIL_64)
    y = _scale_f64(_one_plus_f64(r, t), n)
    return y if x == x else x


@_jit
def exp2_f32(x):
    _always_inline()
    xc = x if x > F32(-152.0) else F32(-152.0)
    xc = xc if xc < F32(129.0) else F32(129.0)
    n = np.rint(xc)
    f = xc - n
    r = f * _LN2_32
    t = _expm1_tail_f32(r, _fma(f, _LN2_32, -r) + f * _LN2_TAIL_32)
    y = _scale_f32(_one_plus_f32(r, t), n)
    return y if x == x else x


@_jit
def tanh_f64(x):
    _always_inline()
    a = abs(x)
    a2 = a + a if a < F64(20.0) else F64(40.0)      # tanh(20) rounds to 1; NaN -> 40
    r, t, n = _exp_core_f64(a2)
    u = _pow2_f64(n - _ONE64)
    h = u * (r + t) + (u - _HALF64)                  # expm1(2|x|) / 2
    # tanh|x| = h / (1 + h) = q, better as h - h q where h is small (no cancellation)
    q = h / (_ONE64 + h)
    y = h - h * q if a < F64(0.4) else q
    y = math.copysign(y, x)
    return y if x == x else x


@_jit
def tanh_f32(x):
    _always_inline()
    a = abs(x)
    a2 = a + a if a < F32(10.0) else F32(20.0)
    r, t, n = _exp_core_f32(a2)
    u = _pow2_f32(n - _ONE32)
    h = u * (r + t) + (u - _HALF32)                  # expm1(2|x|) / 2
    q = h / (_ONE32 + h)
    y = h - h * q if a < F32(0.4) else q
    y = math.copysign(y, x)
    return y if x == x else x


@_jit
def sigmoid_f64(x):
    _always_inline()
    a = abs(x)
    a = a if a < F64(746.0) else F64(746.0)
    r, t, n = _exp_core_f64(-a)
    z = _scale_f64(_one_plus_f64(r, t), n)                   # e**-|x|
    y = (_ONE64 if x >= _ZERO64 else z) / (_ONE64 + z)
    return y if x == x else x


@_jit
def sigmoid_f32(x):
    _always_inline()
    a = abs(x)
    a = a if a < F32(104.0) else F32(104.0)
    r, t, n = _exp_core_f32(-a)
    z = _scale_f32(_one_plus_f32(r, t), n)
    y = (_ONE32 if x >= _ZERO32 else z) / (_ONE32 + z)
    return y if x == x else x


logistic_f64 = sigmoid_f64
logistic_f32 = sigmoid_f32


@_jit
def sinh_f64(x):
    _always_inline()
    a = abs(x)
    a = a if a < F64(711.0) else F64(711.0)
    r, t, n = _exp_core_f64(a)
    e = _expm1_from_core_f64(r, t, n)               # expm1(|x|), for |x| < 20
    small = _HALF64 * (e + e / (e + _ONE64))
    large = _scale_f64(_one_plus_f64(r, t), n - _ONE64)   # e**|x| / 2
    y = math.copysign(small if a < F64(20.0) else large, x)
    return y if x == x else x


@_jit
def sinh_f32(x):
    _always_inline()
    a = abs(x)
    a = a if a < F32(90.0) else F32(90.0)
    r, t, n = _exp_core_f32(a)
    e = _expm1_from_core_f32(r, t, n)
    small = _HALF32 * (e + e / (e + _ONE32))
    large = _scale_f32(_one_plus_f32(r, t), n - _ONE32)
    y = math.copysign(small if a < F32(10.0) else large, x)
    return y if x == x else x


@_jit
def cosh_f64(x):
    _always_inline()
    a = abs(x)
    a = a if a < F64(711.0) else F64(711.0)
    r, t, n = _exp_core_f64(a)
    p = _one_plus_f64(r, t)
    e = p * _pow2_f64(n if a < F64(20.0) else _ZERO64)    # e**|x|, for |x| < 20
    small = _HALF64 * e + _HALF64 / e
    large = _scale_f64(p, n - _ONE64)
    y = small if a < F64(20.0) else large
    return y if x == x else x


@_jit
def cosh_f32(x):
    _always_inline()
    a = abs(x)
    a = a if a < F32(90.0) else F32(90.0)
    r, t, n = _exp_core_f32(a)
    p = _one_plus_f32(r, t)
    e = p * _pow2_f32(n if a < F32(10.0) else _ZERO32)
    small = _HALF32 * e + _HALF32 / e
    large = _scale_f32(p, n - _ONE32)
    y = small if a < F32(10.0) else large
    return y if x == x else x


# ------------------------------------------------------------------------ the log family


@_inline
def _log_split_f64(x):
    """(k, f) with x = 2**k (1 + f), 1 + f in [sqrt(1/2), sqrt 2), for finite x > 0."""
    tiny = x < _MIN_NORMAL_64
    bits = _bits(x * _TWO54_64 if tiny else x)
    k = (bits - _SQRT_HALF_BITS_64) >> 52
    f = _f64_from_bits(bits - (k << 52)) - _ONE64
    return F64(k) - (F64(54.0) if tiny else _ZERO64), f


@_inline
def _log_split_f32(x):
    tiny = x < _MIN_NORMAL_32
    bits = _bits(x * _TWO24_32 if tiny else x)
    k = (bits - _SQRT_HALF_BITS_32) >> 23
    f = _f32_from_bits(bits - (k << 23)) - _ONE32
    return F32(k) - (F32(24.0) if tiny else _ZERO32), f


@_inline
def _log1p_parts_f64(f):
    """(s, hfsq, t) with log1p(f) = f - (hfsq - t) for |f| < 0.42, t = s (hfsq + R)."""
    s = f / (_TWO64 + f)
    z = s * s
    p = _L7_64
    p = p * z + _L6_64
    p = p * z + _L5_64
    p = p * z + _L4_64
    p = p * z + _L3_64
    p = p * z + _L2_64
    p = p * z + _L1_64
    hfsq = _HALF64 * f * f
    return s, hfsq, s * (hfsq + z * p)


@_inline
def _log1p_parts_f32(f):
    s = f / (_TWO32 + f)
    z = s * s
    p = _L3_32
    p = p * z + _L2_32
    p = p * z + _L1_32
    hfsq = _HALF32 * f * f
    return s, hfsq, s * (hfsq + z * p)


@_jit
def log_f64(x):
    _always_inline()
    k, f = _log_split_f64(x)
    s, hfsq, t = _log1p_parts_f64(f)
    y = k * _LN2_HI_64 - ((hfsq - (t + k * _LN2_LO_64)) - f)
    special = -_INF64 if x == _ZERO64 else (x if x > _ZERO64 else _NAN64)
    return y if (x > _ZERO64) & (x < _INF64) else special


@_jit
def log_f32(x):
    _always_inline()
    k, f = _log_split_f32(x)
    s, hfsq, t = _log1p_parts_f32(f)
    y = k * _LN2_HI_32 - ((hfsq - (t + k * _LN2_LO_32)) - f)
    special = -_INF32 if x == _ZERO32 else (x if x > _ZERO32 else _NAN32)
    return y if (x > _ZERO32) & (x < _INF32) else special


@_jit
def log2_f64(x):
    _always_inline()
    k, f = _log_split_f64(x)
    s, hfsq, t = _log1p_parts_f64(f)
    hi = f - hfsq                                    # log1p(f) = hi + lo
    lo = (f - hi) - hfsq + t
    y = k + (hi * _INVLN2_HI_64 + (lo * _INVLN2_HI_64 + (hi + lo) * _INVLN2_LO_64))
    special = -_INF64 if x == _ZERO64 else (x if x > _ZERO64 else _NAN64)
    return y if (x > _ZERO64) & (x < _INF64) else special


@_jit
def log2_f32(x):
    _always_inline()
    k, f = _log_split_f32(x)
    s, hfsq, t = _log1p_parts_f32(f)
    hi = f - hfsq
    lo = (f - hi) - hfsq + t
    y = k + (hi * _INVLN2_HI_32 + (lo * _INVLN2_HI_32 + (hi + lo) * _INVLN2_LO_32))
    special = -_INF32 if x == _ZERO32 else (x if x > _ZERO32 else _NAN32)
    return y if (x > _ZERO32) & (x < _INF32) else special


@_jit
def log1p_f64(x):
    _always_inline()
    u = _ONE64 + x
    c = (x - (u - _ONE64)) if x < _ONE64 else (_ONE64 - (u - x))   # 1 + x = u + c exactly
    uc = u if u < _INF64 else _ONE64
    k, f = _log_split_f64(uc if uc > _ZERO64 else _ONE64)
    s, hfsq, t = _log1p_parts_f64(f)
    kc = k if k < F64(1000.0) else F64(1000.0)
    # log1p(x) = k ln2 + log1p(f + c 2**-k); the c term enters as c 2**-k / (1 + f),
    # 1 / (1 + f) = (1 - s) / (1 + s) ~ 1 - 2s + 2s**2 (relative error 2 s**3 < 0.011).
    corr = c * _pow2_f64(-kc) * (_ONE64 - _TWO64 * s * (_ONE64 - s))
    y = k * _LN2_HI_64 - ((hfsq - (t + (k * _LN2_LO_64 + corr))) - f)
    y = y if x != _ZERO64 else x
    special = -_INF64 if x == -_ONE64 else (x if x > _ZERO64 else _NAN64)
    return y if (x > -_ONE64) & (x < _INF64) else special


@_jit
def log1p_f32(x):
    _always_inline()
    u = _ONE32 + x
    c = (x - (u - _ONE32)) if x < _ONE32 else (_ONE32 - (u - x))
    uc = u if u < _INF32 else _ONE32
    k, f = _log_split_f32(uc if uc > _ZERO32 else _ONE32)
    s, hfsq, t = _log1p_parts_f32(f)
    kc = k if k < F32(100.0) else F32(100.0)
    corr = c * _pow2_f32(-kc) * (_ONE32 - _TWO32 * s * (_ONE32 - s))
    y = k * _LN2_HI_32 - ((hfsq - (t + (k * _LN2_LO_32 + corr))) - f)
    y = y if x != _ZERO32 else x
    special = -_INF32 if x == -_ONE32 else (x if x > _ZERO32 else _NAN32)
    return y if (x > -_ONE32) & (x < _INF32) else special


# --------------------------------------------------------------------- sin, cos and tan


@_exact
def _reduce_pio2_f64(x):
    """(hi, lo, n): x = n pi/2 + hi + lo, |hi| <~ pi/4, for |x| <= 2**28 (double-double)."""
    _always_inline()
    n = np.rint(x * _TWO_OVER_PI_64)
    a = _fma(-n, _PIO2_1_64, x)                      # exact
    b = n * _PIO2_2_64
    b_err = _fma(n, _PIO2_2_64, -b)                  # n * PIO2_2 = b + b_err exactly
    rh = a - b                                       # TwoSum: a - b = rh + e exactly
    v = rh - a
    e = (a - (rh - v)) - (b + v)
    rl = (e - b_err) - n * _PIO2_3_64
    hi = rh + rl
    return hi, rl - (hi - rh), n


@_inline
def _sincos_poly_f64(r, rl):
    """sin(r + rl) and cos(r + rl) for |r| <~ pi/4, |rl| <= ulp(r)."""
    z = r * r
    sp = _S13_64
    sp = sp * z + _S11_64
    sp = sp * z + _S9_64
    sp = sp * z + _S7_64
    sp = sp * z + _S5_64
    sp = sp * z + _S3_64
    hz = _HALF64 * z
    s = r + (r * z * sp + rl * (_ONE64 - hz))
    cp = _C14_64
    cp = cp * z + _C12_64
    cp = cp * z + _C10_64
    cp = cp * z + _C8_64
    cp = cp * z + _C6_64
    cp = cp * z + _C4_64
    w = _ONE64 - hz
    c = w + (((_ONE64 - w) - hz) + (z * z * cp - r * rl))
    return s, c


@_exact
def _reduce_pio2_f32(x):
    """(r, rl, n): x = n pi/2 + r + rl, |r| <~ pi/4 + 2**-6, for |x| <= 2**17."""
    _always_inline()
    n = np.rint(x * _TWO_OVER_PI_32)
    a = _fma(-n, _PIO2_1_32, x)                      # exact
    b = n * _PIO2_2_32
    b_err = _fma(n, _PIO2_2_32, -b)
    r = a - b
    v = r - a
    e = (a - (r - v)) - (b + v)
    return r, (e - b_err) - n * _PIO2_3_32, n


@_inline
def _sincos_poly_f32(r, rl):
    z = r * r
    hz = _HALF32 * z
    s = r + (r * z * (_S3_32 + z * (_S5_32 + z * _S7_32)) + rl * (_ONE32 - hz))
    w = _ONE32 - hz
    c = w + (((_ONE32 - w) - hz) + (z * z * (_C4_32 + z * (_C6_32 + z * _C8_32)) - r * rl))
    return s, c


@_jit
def sin_f64(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_64
    r, rl, n = _reduce_pio2_f64(x if inside else _ZERO64)
    s, c = _sincos_poly_f64(r, rl)
    q = np.int64(n)
    y = c if q & 1 else s
    y = -y if q & 2 else y
    y = y if x != _ZERO64 else x
    if not inside:
        y = _libm_sin_f64(x)
    return y


@_jit
def cos_f64(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_64
    r, rl, n = _reduce_pio2_f64(x if inside else _ZERO64)
    s, c = _sincos_poly_f64(r, rl)
    q = np.int64(n)
    y = s if q & 1 else c
    y = -y if (q + 1) & 2 else y
    if not inside:
        y = _libm_cos_f64(x)
    return y


@_jit
def tan_f64(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_64
    r, rl, n = _reduce_pio2_f64(x if inside else _ZERO64)
    s, c = _sincos_poly_f64(r, rl)
    odd = np.int64(n) & 1
    y = (-c if odd else s) / (s if odd else c)
    y = y if x != _ZERO64 else x
    if not inside:
        y = _libm_tan_f64(x)
    return y


@_jit
def sin_f32(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_32
    r, rl, n = _reduce_pio2_f32(x if inside else _ZERO32)
    s, c = _sincos_poly_f32(r, rl)
    q = np.int64(n)
    y = c if q & 1 else s
    y = -y if q & 2 else y
    y = y if x != _ZERO32 else x
    if not inside:
        y = _libm_sin_f32(x)
    return y


@_jit
def cos_f32(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_32
    r, rl, n = _reduce_pio2_f32(x if inside else _ZERO32)
    s, c = _sincos_poly_f32(r, rl)
    q = np.int64(n)
    y = s if q & 1 else c
    y = -y if (q + 1) & 2 else y
    if not inside:
        y = _libm_cos_f32(x)
    return y


@_jit
def tan_f32(x):
    _always_inline()
    inside = abs(x) <= _TRIG_MAX_32
    r, rl, n = _reduce_pio2_f32(x if inside else _ZERO32)
    s, c = _sincos_poly_f32(r, rl)
    odd = np.int64(n) & 1
    y = (-c if odd else s) / (s if odd else c)
    y = y if x != _ZERO32 else x
    if not inside:
        y = _libm_tan_f32(x)
    return y


# --------------------------------------------------------------------------------- atan


@_jit
def atan_f64(x):
    _always_inline()
    a = abs(x)
    big = a > _TAN_3PI8_64
    mid = a > _TAN_PI8_64
    t = (-_ONE64 if big else (a - _ONE64 if mid else a)) / (
        a if big else (a + _ONE64 if mid else _ONE64))
    base_hi = _PIO2_HI_64 if big else (_PIO4_HI_64 if mid else _ZERO64)
    base_lo = _PIO2_LO_64 if big else (_PIO4_LO_64 if mid else _ZERO64)
    z = t * t
    p = _A23_64
    p = p * z + _A21_64
    p = p * z + _A19_64
    p = p * z + _A17_64
    p = p * z + _A15_64
    p = p * z + _A13_64
    p = p * z + _A11_64
    p = p * z + _A9_64
    p = p * z + _A7_64
    p = p * z + _A5_64
    p = p * z + _A3_64
    y = base_hi + (t + (t * z * p + base_lo))
    return math.copysign(y, x)


@_jit
def atan_f32(x):
    _always_inline()
    a = abs(x)
    big = a > _TAN_3PI8_32
    mid = a > _TAN_PI8_32
    t = (-_ONE32 if big else (a - _ONE32 if mid else a)) / (
        a if big else (a + _ONE32 if mid else _ONE32))
    base_hi = _PIO2_HI_32 if big else (_PIO4_HI_32 if mid else _ZERO32)
    base_lo = _PIO2_LO_32 if big else (_PIO4_LO_32 if mid else _ZERO32)
    z = t * t
    p = _A11_32
    p = p * z + _A9_32
    p = p * z + _A7_32
    p = p * z + _A5_32
    p = p * z + _A3_32
    y = base_hi + (t + (t * z * p + base_lo))
    return math.copysign(y, x)


# ------------------------------------------------------------------------------ dispatch

# name: (float32 vs exact, float64 vs exact, float64 vs NumPy): the maximum error in ulps
# that tests/test_fastmath.py asserts (the table in the module docstring).
ERROR_BOUNDS = {
    "exp": (1.0, 1.0, 2.0), "expm1": (1.5, 1.5, 2.5), "exp2": (1.0, 1.0, 2.0),
    "log": (1.0, 1.0, 2.0), "log1p": (1.0, 1.0, 2.0), "log2": (1.0, 1.0, 2.0),
    "sin": (1.0, 1.0, 2.0), "cos": (1.0, 1.0, 2.0), "tan": (2.5, 2.5, 3.5),
    "atan": (2.0, 2.0, 3.0), "tanh": (2.0, 2.0, 3.0), "sigmoid": (2.5, 2.5, 4.0),
    "sinh": (2.5, 2.5, 3.5), "cosh": (1.5, 1.5, 2.5),
}

NAMES = ("exp", "expm1", "exp2", "log", "log1p", "log2", "sin", "cos", "tan", "atan",
         "tanh", "sigmoid", "logistic", "sinh", "cosh")

FUNCTIONS = {name: {np.dtype(np.float32): globals()[f"{name}_f32"],
                    np.dtype(np.float64): globals()[f"{name}_f64"]} for name in NAMES}


def function(name, dtype):
    """The numba function computing ``name`` on scalars of ``dtype`` (float32 or float64)."""
    return FUNCTIONS[name][np.dtype(dtype)]
