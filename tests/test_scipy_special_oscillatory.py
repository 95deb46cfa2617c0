"""funcgrad.scipy.special's sici, fresnel, wofz and hyp2f1: values against SciPy on grids with
their edges (0, the branch points, the far range, infinities and nan), derivatives to second
order, one jit program against eager, vmap, float32 kept.

The bounds are the measured maxima rounded up: relative errors of a few 1e-16 for Si and the
Fresnel integrals, a few 1e-14 for Ci away from its zeros (its series cancels about one digit
and its zeros turn an absolute error into a relative one; there the bound is absolute)."""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.scipy.special as fsp

scipy_special = pytest.importorskip("scipy.special", reason="SciPy is an optional test "
                                    "dependency")

RNG = np.random.default_rng(17)
EDGES = np.array([0.0, -0.0, 1e-300, 1e-8, 1.6, 1.6000001, 4.0, 4.0000001, -4.0, 0.6165054856,
                  1e6, 1e9, 1e15, -1e15, 1e100, np.inf, -np.inf, np.nan])
X = np.concatenate([RNG.uniform(-40, 40, 3000), np.exp(RNG.uniform(-20, 30, 500)), EDGES])


def _relative(got, want, floor=1e-300):
    got, want = np.asarray(got), np.asarray(want)
    same_special = (np.isnan(got) & np.isnan(want)) | (got == want)
    with np.errstate(invalid="ignore"):
        error = np.abs(got - want) / np.maximum(np.abs(want), floor)
    return np.max(np.where(same_special, 0.0, error))


def test_sici_matches_scipy():
    si, ci = fsp.sici(X)
    want_si, want_ci = scipy_special.sici(X)
    assert _relative(si, want_si) < 2e-15
    # Ci: relative away from its zeros, absolute everywhere (both kept tight)
    away = np.abs(want_ci) > 1e-2
    assert _relative(np.asarray(ci)[away], want_ci[away]) < 1e-13
    finite = np.isfinite(want_ci)
    assert np.max(np.abs(np.asarray(ci)[finite] - want_ci[finite])) < 5e-15
    at_zero = fsp.sici(0.0)
    assert float(at_zero[1]) == -np.inf and float(at_zero[0]) == 0.0


def test_fresnel_matches_scipy():
    # beyond about 100 SciPy's phase carries the rounding of x**2 (relative 1e-13 at 1600,
    # the oscillation dropped at 1.4e8, nan beyond 1e154): the far range is checked with mpmath
    grid = X[np.abs(X) <= 40]
    s, c = fsp.fresnel(grid)
    want_s, want_c = scipy_special.fresnel(grid)
    # measured 3.2e-15 (SciPy's own error included)
    assert _relative(s, want_s) < 5e-15
    assert _relative(c, want_c) < 5e-15
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    far = np.concatenate([np.exp(RNG.uniform(np.log(40), np.log(1e15), 40)),
                          [403.59284705, 1619.14699144, 1.40522069e8, -5.5e9]])
    far_s, far_c = fsp.fresnel(far)
    assert _relative(far_s, [float(mpmath.fresnels(mpmath.mpf(v))) for v in far]) < 5e-16
    assert _relative(far_c, [float(mpmath.fresnelc(mpmath.mpf(v))) for v in far]) < 5e-16
    huge_s, huge_c = fsp.fresnel(np.array([1e200, -1e300]))
    np.testing.assert_array_equal(np.asarray(huge_s), [0.5, -0.5])
    np.testing.assert_array_equal(np.asarray(huge_c), [0.5, -0.5])


def test_derivatives_are_the_integrands():
    x = np.array([-6.0, -1.3, 0.4, 2.5, 5.0, 9.0])
    d_si = fg.vmap(fg.grad(lambda v: fsp.sici(v)[0]))(x)
    d_ci = fg.vmap(fg.grad(lambda v: fsp.sici(v)[1]))(x)
    d_s = fg.vmap(fg.grad(lambda v: fsp.fresnel(v)[0]))(x)
    d_c = fg.vmap(fg.grad(lambda v: fsp.fresnel(v)[1]))(x)
    np.testing.assert_allclose(np.asarray(d_si), np.sin(x) / x, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(d_ci), np.cos(x) / x, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(d_s), np.sin(np.pi * x * x / 2), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(d_c), np.cos(np.pi * x * x / 2), rtol=1e-13)
    assert float(fg.grad(lambda v: fsp.sici(v)[0])(0.0)) == 1.0


@pytest.mark.parametrize("which", ["si", "ci", "fresnel_s", "fresnel_c"])
def test_check_grads_to_second_order(which):
    functions = {"si": lambda v: fsp.sici(v)[0], "ci": lambda v: fsp.sici(v)[1],
                 "fresnel_s": lambda v: fsp.fresnel(v)[0],
                 "fresnel_c": lambda v: fsp.fresnel(v)[1]}
    fg.check_grads(functions[which], (np.array([-5.5, -0.7, 0.3, 1.2, 2.2, 6.0]),), order=2)


def test_one_jit_against_eager():
    def program(x):
        si, ci = fsp.sici(x)
        s, c = fsp.fresnel(x)
        return si * c + ci * s

    x = np.array([0.3, 1.7, 4.5, 12.0, -3.0])
    np.testing.assert_allclose(np.asarray(fg.jit(program)(x)), np.asarray(program(x)),
                               rtol=1e-14)
    np.testing.assert_allclose(np.asarray(fg.jit(fg.grad(lambda v: fg.numpy.sum(program(v))))(
        x)), np.asarray(fg.grad(lambda v: fg.numpy.sum(program(v)))(x)), rtol=1e-13)


def test_float32_stays_float32_and_integers_become_float64():
    x32 = np.array([0.5, 3.0, 7.0], np.float32)
    for value in (*fsp.sici(x32), *fsp.fresnel(x32)):
        assert value.dtype == np.float32
    want_si = scipy_special.sici(x32.astype(np.float64))[0]
    np.testing.assert_allclose(np.asarray(fsp.sici(x32)[0]), want_si, rtol=1e-6)
    assert fsp.fresnel(np.array([1, 2]))[0].dtype == np.float64


# ------------------------------------------------------------------------------------ wofz
RADII = np.exp(RNG.uniform(-8, 5, 6000))
UPPER = RADII * np.exp(1j * RNG.uniform(0, np.pi, 6000))
Z_EDGES = np.array([0.0, 1e-300j, 8.0, -8.0, 8j, 7.999 + 0.001j, 30 + 0.01j, 1e10, 1e200j,
                    -3e5 + 2j, complex(0.0, np.inf), np.inf + 0j])


def test_wofz_matches_scipy_in_the_upper_half_plane():
    z = np.concatenate([UPPER, Z_EDGES])
    got, want = np.asarray(fsp.wofz(z)), scipy_special.wofz(z)
    error = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    assert np.max(np.where(got == want, 0.0, error)) < 3e-14   # measured 1.2e-14
    assert abs(complex(fsp.wofz(0.0)) - 1.0) < 5e-16


def test_wofz_in_the_lower_half_plane_follows_the_reflection():
    # w(z) = 2 exp(-z^2) - w(-z): exp(-z^2) carries the rounding of z^2, |z|^2 ulps
    z = -UPPER
    want = scipy_special.wofz(z)
    finite = np.isfinite(want)
    got = np.asarray(fsp.wofz(z))
    with np.errstate(invalid="ignore"):
        error = np.abs(got - want) / np.abs(want) / np.maximum(1.0, np.abs(z) ** 2)
    assert np.max(error[finite]) < 1e-14
    assert np.all(np.isinf(got[~finite]) | np.isnan(got[~finite]))


def test_wofz_derivative_and_real_input():
    z = np.array([0.3 + 0.2j, -1.5 + 0.7j, 2.0 - 0.4j, 9.0 + 1.0j, -12.0 + 3.0j])
    w = scipy_special.wofz(z)
    _, tangent = fg.jvp(fsp.wofz, (z,), (np.ones_like(z),))
    np.testing.assert_allclose(np.asarray(tangent), -2 * z * w + 2j / np.sqrt(np.pi),
                               rtol=1e-13)
    fg.check_grads(fsp.wofz, (z,), order=2)
    # a real x: exp(-x^2) + 2i/sqrt(pi) dawsn(x); float32 becomes complex64
    x = np.array([-3.0, 0.5, 2.0])
    np.testing.assert_allclose(np.asarray(fsp.wofz(x)),
                               np.exp(-x * x) + 2j / np.sqrt(np.pi) * scipy_special.dawsn(x),
                               rtol=1e-14)
    assert fsp.wofz(x.astype(np.float32)).dtype == np.complex64
    assert fsp.wofz(z.astype(np.complex64)).dtype == np.complex64


def test_one_jit_of_wofz_sici_and_fresnel():
    def program(x):
        w = fsp.wofz(x + 0.5j)
        return fg.numpy.real(w) * fsp.sici(x)[0] + fg.numpy.imag(w) * fsp.fresnel(x)[1]

    x = np.array([0.2, 1.9, 6.5, 10.0])
    np.testing.assert_allclose(np.asarray(fg.jit(program)(x)), np.asarray(program(x)),
                               rtol=1e-14)
    np.testing.assert_allclose(np.asarray(fg.vmap(program)(x)), np.asarray(program(x)),
                               rtol=1e-14)


# ---------------------------------------------------------------------------------- hyp2f1
def test_hyp2f1_matches_scipy_for_positive_parameters():
    n = 4000
    a, b = RNG.uniform(0.1, 5, n), RNG.uniform(0.1, 5, n)
    c, x = RNG.uniform(0.1, 8, n), RNG.uniform(-1.0, 0.95, n)
    got, want = np.asarray(fsp.hyp2f1(a, b, c, x)), scipy_special.hyp2f1(a, b, c, x)
    # measured 7e-14 (below 0, Pfaff's c - b may be negative: its terms then change sign)
    assert _relative(got, want) < 2e-13
    # closed forms: -log(1 - x) / x, (1 - x)^(-a), arcsin(x) / x at x^2, log(2) at -1
    x = np.array([-0.999, -0.5, 0.3, 0.9, 0.99])
    # near 1 thousands of terms are summed, each rounded: 7e-15 at 0.99, 2e-14 at 0.998
    np.testing.assert_allclose(np.asarray(fsp.hyp2f1(1.0, 1.0, 2.0, x)), -np.log1p(-x) / x,
                               rtol=2e-14)
    np.testing.assert_allclose(np.asarray(fsp.hyp2f1(2.5, 1.0, 1.0, x)), (1 - x) ** -2.5,
                               rtol=1e-14)
    np.testing.assert_allclose(np.asarray(fsp.hyp2f1(0.5, 0.5, 1.5, x * x)),
                               np.arcsin(np.abs(x)) / np.abs(x), rtol=3e-14)


def test_hyp2f1_far_below_zero_by_pfaff_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    cases = [(1.79, 3.79, 5.57, -4.81), (1.27, 0.27, 6.16, -15.1), (0.5, 2.0, 3.0, -400.0)]
    for a, b, c, x in cases:
        want = float(mpmath.hyp2f1(a, b, c, x))
        assert abs(float(fsp.hyp2f1(a, b, c, x)) - want) < 5e-14 * abs(want)   # 2e-14 at -400


def test_hyp2f1_edges():
    # Gauss's sum at 1, inf where c - a - b <= 0; nan beyond 1; polynomials; the pole at c
    assert abs(float(fsp.hyp2f1(0.5, 0.5, 2.0, 1.0)) - scipy_special.hyp2f1(0.5, 0.5, 2.0, 1.0)
               ) < 1e-15
    assert float(fsp.hyp2f1(1.0, 1.0, 2.0, 1.0)) == np.inf
    assert np.isnan(float(fsp.hyp2f1(1.0, 1.0, 2.0, 1.5)))
    a, x = -3.0, np.array([-2.0, 0.5, 0.99])
    want = scipy_special.hyp2f1(a, 1.5, 2.0, x)
    np.testing.assert_allclose(np.asarray(fsp.hyp2f1(a, 1.5, 2.0, x)), want, rtol=1e-14)
    assert float(fsp.hyp2f1(1.0, 1.0, -2.0, 0.5)) == np.inf
    np.testing.assert_allclose(float(fsp.hyp2f1(-2.0, 1.0, -3.0, 0.5)),
                               scipy_special.hyp2f1(-2.0, 1.0, -3.0, 0.5), rtol=1e-15)


def test_hyp2f1_derivatives_in_x_only():
    x = np.array([-3.0, -0.4, 0.2, 0.8])
    derivative = fg.vmap(fg.grad(lambda v: fsp.hyp2f1(0.7, 1.3, 2.2, v)))(x)
    np.testing.assert_allclose(np.asarray(derivative),
                               0.7 * 1.3 / 2.2 * scipy_special.hyp2f1(1.7, 2.3, 3.2, x),
                               rtol=1e-13)
    fg.check_grads(lambda v: fsp.hyp2f1(0.7, 1.3, 2.2, v), (x,), order=2)
    for argnum, name in enumerate("abc"):
        with pytest.raises(TypeError, match=f"parameter {name}"):
            fg.grad(fsp.hyp2f1, argnums=argnum)(0.7, 1.3, 2.2, 0.3)
    compiled = fg.jit(lambda v: fsp.hyp2f1(0.7, 1.3, 2.2, v) * fsp.sici(v)[0])
    np.testing.assert_allclose(np.asarray(compiled(x)),
                               np.asarray(fsp.hyp2f1(0.7, 1.3, 2.2, x) * fsp.sici(x)[0]),
                               rtol=1e-14)
    assert fsp.hyp2f1(np.float32(0.7), 1.3, 2.2, np.float32(0.2)).dtype == np.float32


# ------------------------------------------------------------------- bessel_jn, sph_harm_y
def test_bessel_jn_matches_scipy():
    z = np.concatenate([np.linspace(-20, 20, 801), [0.0, 1e-300, 1e-8, 1e-3]])
    got = np.asarray(fsp.bessel_jn(z, v=6))
    want = np.stack([scipy_special.jv(k, z) for k in range(7)])
    assert got.shape == (7, z.size)
    assert np.max(np.abs(got - want)) < 2e-15          # measured 4.4e-16, absolute
    wide = np.linspace(-60, 60, 601)
    got = np.asarray(fsp.bessel_jn(wide, v=3, n_iter=120))
    want = np.stack([scipy_special.jv(k, wide) for k in range(4)])
    assert np.max(np.abs(got - want)) < 2e-15
    assert fsp.bessel_jn(np.float32(2.0), v=2).dtype == np.float32
    assert fsp.bessel_jn(np.ones((2, 3)), v=1).shape == (2, 2, 3)


def test_bessel_jn_derivatives_and_jit():
    z = np.array([-7.0, 0.5, 3.0, 11.0])
    d_j1 = fg.vmap(fg.grad(lambda v: fsp.bessel_jn(v, v=2)[1]))(z)
    np.testing.assert_allclose(np.asarray(d_j1),
                               (scipy_special.jv(0, z) - scipy_special.jv(2, z)) / 2,
                               rtol=1e-12)
    fg.check_grads(lambda v: fsp.bessel_jn(v, v=3), (z,), order=2)
    compiled = fg.jit(lambda v: fsp.bessel_jn(v, v=4))
    np.testing.assert_allclose(np.asarray(compiled(z)), np.asarray(fsp.bessel_jn(z, v=4)),
                               rtol=1e-13, atol=1e-300)
    with pytest.raises(ValueError, match="n_iter"):
        fsp.bessel_jn(z, v=5, n_iter=5)
    with pytest.raises(ValueError, match="v must be"):
        fsp.bessel_jn(z, v=-1)


THETA = np.concatenate([RNG.uniform(0, np.pi, 40), [0.0, np.pi, np.pi / 2]])
PHI = np.concatenate([RNG.uniform(0, 2 * np.pi, 40), [0.0, 1.0, 2 * np.pi]])


@pytest.mark.parametrize("n, m", [(0, 0), (1, 0), (1, 1), (1, -1), (3, 2), (5, -3), (20, 7),
                                  (2, 3), (2, -3), (80, 40), (80, -79)])
def test_sph_harm_y_matches_scipy(n, m):
    got = np.asarray(fsp.sph_harm_y(n, m, THETA, PHI))
    want = scipy_special.sph_harm_y(n, m, THETA, PHI)
    assert got.dtype == np.complex128
    # the recurrence in n and the phase m phi each round about an ulp a step (7e-14 at n = 80)
    assert np.max(np.abs(got - want)) < 2e-15 * (1 + n) * max(1.0, np.max(np.abs(want)))


def test_sph_harm_y_broadcast_arrays_of_degrees_and_orders():
    n = np.array([[0], [1], [2], [4], [6]])
    m = np.array([0, 1, -1, 2, -4, 7])
    theta, phi = THETA[:6], PHI[:6]
    got = np.asarray(fsp.sph_harm_y(n, m, theta, phi))
    want = scipy_special.sph_harm_y(n, m, theta, phi)
    assert got.shape == (5, 6)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_sph_harm_y_derivatives_jit_and_errors():
    def f(theta, phi):
        return (fg.numpy.real(fsp.sph_harm_y(3, 2, theta, phi))
                + fg.numpy.imag(fsp.sph_harm_y(4, -1, theta, phi)))

    theta, phi = np.array([0.4, 1.2, 2.9]), np.array([0.3, 2.0, 5.0])
    fg.check_grads(f, (theta, phi), order=2)
    np.testing.assert_allclose(np.asarray(fg.jit(f)(theta, phi)), np.asarray(f(theta, phi)),
                               rtol=1e-13)
    # d/dphi Y_n^m = i m Y_n^m
    d_phi = fg.vmap(fg.grad(lambda p: fg.numpy.imag(fsp.sph_harm_y(3, 2, 0.7, p))))(phi)
    np.testing.assert_allclose(np.asarray(d_phi),
                               np.real(2 * scipy_special.sph_harm_y(3, 2, 0.7, phi)),
                               rtol=1e-13)
    assert fsp.sph_harm_y(2, 1, np.float32(0.5), np.float32(0.5)).dtype == np.complex64
    with pytest.raises(TypeError, match="n must be concrete"):
        fg.jit(lambda n: fsp.sph_harm_y(n, 0, 0.5, 0.5))(2)
    with pytest.raises(ValueError, match="diff_n"):
        fsp.sph_harm_y(2, 1, 0.5, 0.5, diff_n=1)
    with pytest.raises(ValueError, match="non-negative"):
        fsp.sph_harm_y(-1, 0, 0.5, 0.5)


def test_hyp2f1_close_to_one_by_the_mirror_transformation():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.1, 4, 60), rng.uniform(0.1, 4, 60)
    c = a + b + rng.choice([-1.0, 1.0], 60) * rng.uniform(0.1, 0.4, 60) + rng.integers(-2, 3, 60)
    c = np.where(c > 0.1, c, c + 4.0)
    x = 1 - np.exp(rng.uniform(np.log(1e-12), np.log(0.1), 60))
    got = np.asarray(fsp.hyp2f1(a, b, c, x))
    want = np.array([float(mpmath.hyp2f1(*values)) for values in zip(a, b, c, x)])
    assert _relative(got, want) < 5e-14            # measured 1.5e-14
    # the derivative there (c - a - b moves by an integer, the same branch)
    np.testing.assert_allclose(
        float(fg.grad(lambda v: fsp.hyp2f1(1.2, 0.7, 2.4, v))(0.9999)),
        1.2 * 0.7 / 2.4 * float(mpmath.hyp2f1(2.2, 1.7, 3.4, 0.9999)), rtol=1e-13)


def test_bessel_jn_derivatives_at_zero_by_the_small_argument_series():
    # J_1'(0) = 1/2, J_2''(0) = 1/4, J_0''(0) = -1/2
    assert float(fg.grad(lambda v: fsp.bessel_jn(v, v=2)[1])(0.0)) == 0.5
    assert float(fg.grad(fg.grad(lambda v: fsp.bessel_jn(v, v=2)[2]))(0.0)) == 0.25
    assert float(fg.grad(fg.grad(lambda v: fsp.bessel_jn(v, v=2)[0]))(0.0)) == -0.5
    z = np.array([-9.9e-4, 1e-8, 5e-4, 1.01e-3])        # both sides of the switch at 1e-3
    want = np.stack([scipy_special.jv(k, z) for k in range(4)])
    np.testing.assert_allclose(np.asarray(fsp.bessel_jn(z, v=3)), want, rtol=1e-14)
