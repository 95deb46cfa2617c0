"""Accuracy of ``funcgrad.backend.fastmath``: dense sweeps, special values, vectorisation.

Every function runs in a numba loop (one kernel per function and dtype, compiled once and
shared by all tests) over a sweep of its whole input range: log-spaced magnitudes from the
smallest subnormal to the largest finite value, both signs, plus dense sampling where the
function is interesting (thresholds of overflow and underflow, near 1 for logarithms, near
multiples of pi/2 for trigonometry) and every special value. The errors are in ulps of the
result's dtype, against:

- float32: NumPy's float64 function of the same input (far below a float32 ulp from the
  correctly rounded result), bound ``ERROR_BOUNDS[name][0]``;
- float64: NumPy's float64 function, bound ``ERROR_BOUNDS[name][2]``, and, where NumPy's long
  double is the 64-bit-mantissa x87 format, NumPy's long double function (well within a float64
  ulp of the correctly rounded result), bound ``ERROR_BOUNDS[name][1]``.

A result that NumPy's overflows to +-inf (or underflows to +-0 in the result's dtype) must be
exactly that; NaN must give NaN; zeros must carry NumPy's sign.
"""
from __future__ import annotations

import functools
import re
import zlib

import numpy as np
import pytest

numba = pytest.importorskip("numba")
fm = pytest.importorskip("funcgrad.backend.fastmath")

FUNCS = [name for name in fm.NAMES if name != "logistic"]
DTYPES = [np.float32, np.float64]
LONG_DOUBLE_EXACT = np.finfo(np.longdouble).nmant >= 63


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


REFERENCE = {"exp": np.exp, "expm1": np.expm1, "exp2": np.exp2, "log": np.log,
             "log1p": np.log1p, "log2": np.log2, "sin": np.sin, "cos": np.cos, "tan": np.tan,
             "atan": np.arctan, "tanh": np.tanh, "sigmoid": _sigmoid, "sinh": np.sinh,
             "cosh": np.cosh}


@functools.cache
def kernel(name, dtype):
    f = fm.function(name, dtype)

    @numba.njit(error_model="numpy")
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])
    return apply


def run(name, x):
    out = np.empty_like(x)
    kernel(name, x.dtype.type)(x, out)
    return out


def reference(name, x, wide):
    with np.errstate(all="ignore"):
        return REFERENCE[name](x.astype(wide))


def ulp_error(got, ref, dtype):
    """|got - ref| in ulps of ``dtype`` at ``ref`` (``ref`` in a wider float type).

    A reference that rounds to +-inf in ``dtype`` needs exactly that (else the error is inf);
    equal values (zeros, infinities) and NaN against NaN count 0.
    """
    wide = ref.dtype.type
    got_w = got.astype(wide)
    with np.errstate(all="ignore"):
        rounded = ref.astype(dtype)
        mag = np.abs(rounded)
        up = np.spacing(mag).astype(wide)
        down = (mag - np.nextafter(mag, dtype(0))).astype(wide)
        # At a power of two the spacing below is half the spacing above.
        spacing = np.where((np.abs(ref) < mag.astype(wide)) & (down > 0), down, up)
        err = (np.abs(got_w - ref) / spacing).astype(np.float64)
    err[(got_w == ref) | (np.isnan(got) & np.isnan(ref))] = 0.0
    overflow = np.isinf(rounded) & ~np.isinf(ref)
    err[overflow] = np.where(got[overflow] == rounded[overflow], 0.0, np.inf)
    err[np.isnan(got) != np.isnan(ref)] = np.inf
    return err


def special_values(dtype):
    fi = np.finfo(dtype)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.tiny, fi.smallest_subnormal, fi.max, 1.0,
              0.5, 2.0, 1e-30, 1e-8, 0.25, np.pi / 2, np.pi, 1e5, 1e10, 1e20, 3e38]
    values += [-v for v in values[5:]]
    return np.array(values, dtype=dtype)


def sweep(name, dtype, n=40_000):
    """Deterministic inputs covering ``name``'s whole range in ``dtype``."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{np.dtype(dtype).name}".encode()))
    fi = np.finfo(dtype)
    f64 = dtype == np.float64
    lo, hi = np.log10(float(fi.smallest_subnormal)), np.log10(float(fi.max))
    mag = 10.0 ** rng.uniform(lo, hi, 4 * n)
    parts = [mag, -mag, rng.uniform(-4, 4, n), rng.uniform(-40, 40, n),
             rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-12, 0, n)]
    if name in ("exp", "expm1", "sigmoid", "sinh", "cosh", "tanh"):
        top = 720.0 if f64 else 110.0        # past overflow (and underflow of e**-x)
        parts.append(rng.uniform(-top - 40, top, n))
    if name == "exp2":
        parts.append(rng.uniform(-1100, 1030, n) if f64 else rng.uniform(-160, 130, n))
    if name in ("log", "log2"):
        parts += [1 + rng.uniform(-0.3, 0.5, n),
                  1 + rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-17, -1, n)]
    if name == "log1p":
        parts += [-1 + 10.0 ** rng.uniform(-17, 0, n), rng.uniform(-0.5, 2, n)]
    if name in ("sin", "cos", "tan"):
        cw = float(fm._TRIG_MAX_64 if f64 else fm._TRIG_MAX_32)
        k = rng.integers(-int(cw / 1.6), int(cw / 1.6), n)   # x next to k pi/2: tiny results
        parts += [rng.uniform(-cw, cw, n), rng.uniform(-3 * cw, 3 * cw, n),
                  k * (np.pi / 2) + rng.uniform(-1, 1, n) * 10.0 ** rng.uniform(-12, -1, n)]
    with np.errstate(over="ignore"):
        x = np.concatenate(parts).astype(dtype)    # beyond the dtype's range: +-inf
    return np.concatenate([x, special_values(dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCS)
def test_accuracy_sweep(name, dtype):
    x = sweep(name, dtype)
    got = run(name, x)
    bound_f32, bound_exact, bound_numpy = fm.ERROR_BOUNDS[name]
    if dtype == np.float32:
        checks = [("float64 NumPy", reference(name, x, np.float64), bound_f32)]
    else:
        checks = [("float64 NumPy", reference(name, x, np.float64), bound_numpy)]
        if LONG_DOUBLE_EXACT:
            checks.append(("long double NumPy", reference(name, x, np.longdouble),
                           bound_exact))
    for label, ref, bound in checks:
        err = ulp_error(got, ref, dtype)
        worst = int(np.argmax(err))
        assert err[worst] <= bound, (
            f"{name} {np.dtype(dtype).name}: {err[worst]:.3f} ulps against {label} at "
            f"x={x[worst]!r} (got {got[worst]!r}, reference {ref[worst]!r}); bound {bound}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCS)
def test_special_values_exact(name, dtype):
    """NaN, infinities, signed zeros, overflow and underflow are NumPy's, bit for bit."""
    fi = np.finfo(dtype)
    x = special_values(dtype)
    got = run(name, x)
    ref = reference(name, x, np.float64).astype(dtype)
    assert np.array_equal(np.isnan(got), np.isnan(ref)), (name, x, got, ref)
    exact = ~np.isfinite(ref) | (ref == 0) | (np.abs(ref) == fi.max)
    exact &= ~np.isnan(ref)
    np.testing.assert_array_equal(got[exact], ref[exact], err_msg=f"{name} {x[exact]}")
    assert np.array_equal(np.signbit(got[ref == 0]), np.signbit(ref[ref == 0])), name
    assert got.dtype == dtype


# Where results overflow to inf, leave the normal range, and round to 0 (or to -1).
THRESHOLDS = {
    "exp": {np.float32: [88.72284, -87.33655, -103.27893, -103.97208],
            np.float64: [709.782712893384, -708.3964185322641, -744.4400719213812,
                         -745.1332191019411]},
    "expm1": {np.float32: [88.72284, -17.32868], np.float64: [709.782712893384, -37.42995]},
    "exp2": {np.float32: [128.0, -126.0, -149.0, -150.0],
             np.float64: [1024.0, -1022.0, -1074.0, -1075.0]},
    "sinh": {np.float32: [89.41599, -89.41599],
             np.float64: [710.4758600739439, -710.4758600739439]},
    "cosh": {np.float32: [89.41599], np.float64: [710.4758600739439]},
    "sigmoid": {np.float32: [-87.33655, -103.27893, -103.97208],
                np.float64: [-708.3964185322641, -744.4400719213812, -745.1332191019411]},
    "tanh": {np.float32: [9.010913], np.float64: [19.061547465398498]},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(THRESHOLDS))
def test_overflow_underflow_thresholds(name, dtype):
    """Every input within 2000 ulps of a threshold: inf, 0, -1 or 1 exactly where NumPy has."""
    steps = np.arange(-2000, 2001)
    x = np.concatenate([c + steps * np.spacing(c) for c in
                        np.array(THRESHOLDS[name][dtype], dtype=dtype)]).astype(dtype)
    got = run(name, x)
    ref = reference(name, x, np.float64)
    err = ulp_error(got, ref, dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= fm.ERROR_BOUNDS[name][0 if dtype == np.float32 else 2], (
        name, x[worst], got[worst], ref[worst])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_trig_fallback_lanes(name, dtype):
    """Huge, infinite and NaN arguments mixed with small ones in every vector lane pattern."""
    rng = np.random.default_rng(7)
    n = 4096
    small = rng.uniform(-10, 10, n)
    huge = 10.0 ** rng.uniform(np.log10(float(fm._TRIG_MAX_32)) + 0.01, 30, n)
    pick = rng.random(n)
    x = np.where(pick < 0.05, huge, small)
    x[rng.random(n) < 0.01] = np.inf
    x[rng.random(n) < 0.01] = np.nan
    x = x.astype(dtype)
    got = run(name, x)
    err = ulp_error(got, reference(name, x, np.float64), dtype)
    assert err.max() <= fm.ERROR_BOUNDS[name][0 if dtype == np.float32 else 2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCS)
def test_vectorised_and_dtype_stable(name, dtype):
    """The loop compiles to vector code in the input's dtype; trig uses the masked fallback."""
    k = kernel(name, dtype)
    x = np.linspace(0.5, 1.5, 64).astype(dtype)
    run(name, x)
    ir_text = k.inspect_llvm(k.signatures[0])
    scalar = "float" if dtype == np.float32 else "double"
    assert re.search(rf"<\d+ x {scalar}>", ir_text), f"{name} did not vectorise"
    if dtype == np.float32:
        assert not re.search(r"<\d+ x double>", ir_text), f"{name} float32 went through float64"
    if name in ("sin", "cos", "tan"):
        assert re.search(r"call [^\n]*@funcgrad_fastmath_\w+_fallback_m\d+\(", ir_text)
    f = fm.function(name, dtype)
    sig = numba.from_dtype(np.dtype(dtype))
    assert f.overloads[(sig,)].signature.return_type == sig


def test_parallel_loop():
    """A prange loop over several functions (sin and cos: two libm fallbacks in one loop)
    agrees with the one-function loops (float32)."""
    sin, cos, exp, tanh = fm.sin_f32, fm.cos_f32, fm.exp_f32, fm.tanh_f32

    @numba.njit(parallel=True, fastmath=True, error_model="numpy")
    def fused(x, out):
        for i in numba.prange(x.shape[0]):
            v = x[i]
            t = tanh(v)
            out[i] = sin(v) * exp(-v * v) + t * t + cos(v)

    x = np.random.default_rng(3).standard_normal(100_000).astype(np.float32)
    x[::1000] = 3e5                                      # some lanes take the libm branch
    out = np.empty_like(x)
    fused(x, out)
    expected = run("sin", x) * run("exp", -x * x) + run("tanh", x) ** 2 + run("cos", x)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)


def test_caller_flags_do_not_leak():
    """A caller compiled with fastmath=True (nnan, ninf, ...) keeps exact special values."""
    exp, log, sin = fm.exp_f32, fm.log_f64, fm.sin_f32

    @numba.njit(fastmath=True, error_model="numpy")
    def specials(x32, x64, out32, out64):
        for i in range(x32.shape[0]):
            out32[2 * i] = exp(x32[i])
            out32[2 * i + 1] = sin(x32[i])
            out64[i] = log(x64[i])

    x32 = np.array([np.nan, np.inf, -np.inf, -0.0, 100.0, 1e30], np.float32)
    x64 = np.array([np.nan, np.inf, -np.inf, -0.0, -1.0, 0.0])
    out32, out64 = np.empty(12, np.float32), np.empty(6)
    specials(x32, x64, out32, out64)
    np.testing.assert_array_equal(out32[0::2], [np.nan, np.inf, 0.0, 1.0, np.inf, np.inf])
    np.testing.assert_array_equal(out32[1::2][:4], [np.nan, np.nan, np.nan, -0.0])
    assert np.signbit(out32[7])
    np.testing.assert_array_equal(out64, [np.nan, np.inf, np.nan, -np.inf, np.nan, -np.inf])


def test_bounds_table_in_docstring():
    """The module docstring's table states exactly ERROR_BOUNDS."""
    rows = {}
    for line in fm.__doc__.splitlines():
        m = re.match(r"\|\s*``(\w+)``\s*\|([^|]+)\|([^|]+)\|([^|]+)\|", line)
        if m:
            rows[m.group(1)] = tuple(float(g.split()[0]) for g in m.groups()[1:])
    assert rows == {name: fm.ERROR_BOUNDS[name] for name in FUNCS}


def test_lookup():
    assert fm.function("exp", np.float32) is fm.exp_f32
    assert fm.function("tanh", "float64") is fm.tanh_f64
    assert fm.function("logistic", np.float32) is fm.sigmoid_f32
    assert set(fm.FUNCTIONS) == set(fm.NAMES)
