"""Complex numbers end to end: dtypes and NumPy's promotion, the complex primitives (real,
imag, conj, complex, angle, abs), JAX's derivative convention (``grad`` of a real function of
complex inputs against ``jax.grad`` in float64 where JAX is installed, and against formulas
everywhere), holomorphic ``jvp``/``vjp``/``grad(holomorphic=True)``, the errors for complex
outputs, reductions and products, ``check_grads`` on complex inputs, ``vmap``, and ``jit``'s
compiled kernels against the interpreter (two numba programs in all).

The primitives' rules, one row each, are also in tests/test_primitives.py (COMPLEX_ROWS), and
so in the vmap and compiled tables.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:   # JAX is optional: the checks against it are skipped
    jax = jnp = None

needs_jax = pytest.mark.skipif(jax is None, reason="JAX is not installed")
rng = np.random.default_rng(20260101)


def _complex(shape, scale=1.0):
    return scale * (rng.uniform(0.3, 1.0, shape) * np.exp(1j * rng.uniform(0.3, 2.5, shape)))


Z = _complex((3,))
W = _complex((3,))
M = _complex((3, 4))
N = _complex((4, 2))
X = rng.uniform(0.5, 1.5, (3,))


# --------------------------------------------------------------------- dtypes and promotion

PROMOTION_CASES = {
    "complex + float": (lambda a, b: a + b, Z, X),
    "complex64 + float32": (lambda a, b: a * b, Z.astype(np.complex64), X.astype(np.float32)),
    "complex64 + float64": (lambda a, b: a - b, Z.astype(np.complex64), X),
    "float32 * python complex": (lambda a, b: a * 2j, X.astype(np.float32), X),
    "float64 ** python complex": (lambda a, b: a ** (1 + 1j), X, X),
    "complex / int": (lambda a, b: a / 3, Z, X),
    "where": (lambda a, b: fnp.where(b > 1, a, b), Z, X),
    "concatenate": (lambda a, b: fnp.concatenate([a, b]), Z.astype(np.complex64), X),
    "matmul": (lambda a, b: a @ b, Z, X),
    "einsum": (lambda a, b: fnp.einsum("i,i->i", a, b), X.astype(np.float32),
               Z.astype(np.complex64)),
    "abs": (lambda a, b: fnp.abs(a) + b, Z.astype(np.complex64), X.astype(np.float32)),
    "angle": (lambda a, b: fnp.angle(a) * b, Z, X),
    "real and imag": (lambda a, b: fnp.real(a) + fnp.imag(a) * b, Z.astype(np.complex64), X),
    "astype": (lambda a, b: fnp.astype(b, np.complex64) + a, Z.astype(np.complex64), X),
    "sum and mean": (lambda a, b: fnp.sum(a) + fnp.mean(a * b), Z.astype(np.complex64), X),
    "var and std": (lambda a, b: fnp.var(a) + fnp.std(a), Z.astype(np.complex64), X),
    "sign": (lambda a, b: fnp.sign(a), Z, X),
    "methods": (lambda a, b: a.real + a.imag + a.conj() + a.conjugate(), Z, X),
}


@pytest.mark.parametrize("name", sorted(PROMOTION_CASES))
def test_traced_dtypes_follow_numpy(name):
    """Under jit (traced) the values and dtypes are NumPy's (the function on plain arrays)."""
    fn, a, b = PROMOTION_CASES[name]
    want = fn(a, b)
    got = fg.jit(fn)(a, b)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_complex_arrays_print_with_their_dtype():
    ir = fg.make_ir(lambda z: fnp.abs(z) + fnp.real(z))(Z.astype(np.complex64))
    assert "c64[3]" in str(ir) and "f32[3] = abs" in str(ir)


def test_iscomplex_family():
    z = np.array([1.0 + 0j, 2j, 3.0])
    assert fnp.iscomplexobj(z) and not fnp.isrealobj(z)
    np.testing.assert_array_equal(fg.jit(fnp.iscomplex)(z), np.iscomplex(z))
    np.testing.assert_array_equal(fg.jit(fnp.isreal)(z), np.isreal(z))
    np.testing.assert_array_equal(fg.jit(fnp.isreal)(X), np.isreal(X))


def test_angle_of_real_arrays_and_degrees():
    x = np.array([-2.0, -0.0, 0.0, 3.0])
    np.testing.assert_array_equal(fg.jit(fnp.angle)(x), np.angle(x))
    np.testing.assert_allclose(fg.jit(lambda z: fnp.angle(z, deg=True))(Z), np.angle(Z, True))
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(fnp.angle(x)))(x), np.zeros(4))


# -------------------------------------------------------------- gradients: JAX's convention

def _formula_cases():
    """Real functions of complex z = x + iy whose gradient df/dx - i df/dy is known."""
    return {
        "|z|^2 -> 2 conj z": (lambda z: fnp.sum(fnp.abs(z) ** 2), lambda z: 2 * np.conj(z)),
        "Re(z^2) -> 2 z": (lambda z: fnp.sum(fnp.real(z * z)), lambda z: 2 * z),
        "Im z -> -i": (lambda z: fnp.sum(fnp.imag(z)), lambda z: -1j * np.ones_like(z)),
        "|z| -> z/|z| conj": (lambda z: fnp.sum(fnp.abs(z)), lambda z: np.conj(z) / np.abs(z)),
        "angle -> -i conj(z)/|z|^2": (lambda z: fnp.sum(fnp.angle(z)),
                                      lambda z: -1j * np.conj(z) / np.abs(z) ** 2),
        "Re(conj(z) w)": (lambda z: fnp.sum(fnp.real(fnp.conj(z) * W)), lambda z: np.conj(W)),
    }


@pytest.mark.parametrize("name", sorted(_formula_cases()))
def test_grad_of_a_real_function_of_complex_inputs_is_the_conjugate_convention(name):
    fn, gradient = _formula_cases()[name]
    np.testing.assert_allclose(fg.grad(fn)(Z), gradient(Z), rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(fn))(Z), gradient(Z), rtol=1e-12)


def _loss(m):
    """Real losses of complex arrays, written once for ``m`` = funcgrad.numpy or jax.numpy."""
    return {
        "abs squared": lambda z: m.sum(m.abs(m.sin(z) * z) ** 2),
        "real of exp/log": lambda z: m.sum(m.real(m.exp(z) / z + m.log(z) ** 3)),
        "imag of sqrt tanh": lambda z: m.sum(m.imag(m.sqrt(z) * m.tanh(z))),
        "angle of a product": lambda z: m.sum(m.angle(z * z * 1j)),
        "abs of a sum": lambda z: m.abs(m.sum(m.conj(z) * m.cosh(z))),
        "power": lambda z: m.sum(m.abs(m.power(z, 2.5 - 0.5j))),
        "square and reciprocal": lambda z: m.sum(m.real(m.square(z) + m.reciprocal(z))),
        "arcsinh arctan": lambda z: m.sum(m.real(m.arcsinh(z) * m.arctan(z))),
        "expm1 log1p": lambda z: m.sum(m.imag(m.expm1(z) + m.log1p(z))),
        "mean var": lambda z: m.real(m.mean(z * z)) + m.var(z),
        "prod": lambda z: m.real(m.prod(z + 1.0)),
        "cumsum": lambda z: m.sum(m.imag(m.cumsum(z) * z)),
        "vdot": lambda z: m.real(m.vdot(z, z * 1j + 2.0)),
        "where": lambda z: m.sum(m.abs(m.where(m.real(z) > 0, z, 2 * z))),
    }


@needs_jax
@pytest.mark.parametrize("name", sorted(_loss(np)))
def test_grad_matches_jax_on_complex_inputs(name):
    fn, reference = _loss(fnp)[name], _loss(jnp)[name]
    want = np.asarray(jax.grad(reference)(jnp.asarray(Z)))
    np.testing.assert_allclose(fg.grad(fn)(Z), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(fn))(Z), want, rtol=1e-10, atol=1e-12)


def _products(m):
    return {
        "matmul": lambda a, b: m.sum(m.abs(a @ b) ** 2),
        "einsum": lambda a, b: m.sum(m.real(m.einsum("ij,jk->ik", a, b) ** 2)),
        "dot of imag": lambda a, b: m.sum(m.imag(m.dot(a, b))),
        "real matrix": lambda a, b: m.sum(m.abs(a @ m.real(b))),
        "tensordot": lambda a, b: m.abs(m.sum(m.tensordot(a, b, 1))),
    }


@needs_jax
@pytest.mark.parametrize("name", sorted(_products(np)))
def test_products_grad_matches_jax(name):
    fn, reference = _products(fnp)[name], _products(jnp)[name]
    got = fg.grad(fn, argnums=(0, 1))(M, N)
    want = jax.grad(reference, argnums=(0, 1))(jnp.asarray(M), jnp.asarray(N))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-10, atol=1e-12)


def test_real_inputs_through_complex_intermediates():
    """A real loss of a real input that passes through complex values: ordinary real
    derivatives (|x e^{ix}|^2 = x^2)."""
    def loss(x):
        return fnp.sum(fnp.abs(x * fnp.exp(1j * x)) ** 2)
    np.testing.assert_allclose(fg.grad(loss)(X), 2 * X, rtol=1e-12)
    np.testing.assert_allclose(fg.hessian(loss)(X), 2 * np.eye(3), atol=1e-12)
    assert fg.grad(loss)(X).dtype == np.float64


def test_mixed_real_and_complex_arguments():
    def loss(x, z):
        return fnp.sum(fnp.abs(x * z + 1j) ** 2)
    dx, dz = fg.grad(loss, argnums=(0, 1))(X, Z)
    u = X * Z + 1j
    np.testing.assert_allclose(dx, 2 * np.real(np.conj(u) * Z), rtol=1e-12)
    np.testing.assert_allclose(dz, 2 * np.conj(u) * X, rtol=1e-12)
    assert dx.dtype == np.float64 and dz.dtype == np.complex128


def test_complex64_gradients_stay_single_precision():
    z = Z.astype(np.complex64)
    g = fg.grad(lambda z: fnp.sum(fnp.abs(z) ** 2))(z)
    assert g.dtype == np.complex64
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-6)


# ---------------------------------------------------------------------------- holomorphic

HOLOMORPHIC = {
    "sin": (fnp.sin, np.cos),
    "exp of square": (lambda z: fnp.exp(z * z), lambda z: 2 * z * np.exp(z * z)),
    "log over z": (lambda z: fnp.log(z) / z, lambda z: (1 - np.log(z)) / z ** 2),
    "sqrt": (fnp.sqrt, lambda z: 0.5 / np.sqrt(z)),
    "tanh": (fnp.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "cube": (lambda z: z ** 3, lambda z: 3 * z ** 2),
}


@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
def test_holomorphic_jvp_vjp_and_grad(name):
    fn, derivative = HOLOMORPHIC[name]
    tangent = _complex((3,))
    out, tangent_out = fg.jvp(fn, (Z,), (tangent,))
    np.testing.assert_allclose(tangent_out, derivative(Z) * tangent, rtol=1e-12)
    _, pullback = fg.vjp(fn, Z)
    np.testing.assert_allclose(pullback(tangent)[0], derivative(Z) * tangent, rtol=1e-12)
    z0 = complex(Z[0])
    np.testing.assert_allclose(fg.grad(fn, holomorphic=True)(z0), derivative(z0), rtol=1e-12)
    np.testing.assert_allclose(np.diag(fg.jacfwd(fn, holomorphic=True)(Z)), derivative(Z),
                               rtol=1e-12)
    np.testing.assert_allclose(np.diag(fg.jacrev(fn, holomorphic=True)(Z)), derivative(Z),
                               rtol=1e-12)


def test_second_holomorphic_derivative():
    second = fg.grad(fg.grad(fnp.sin, holomorphic=True), holomorphic=True)
    np.testing.assert_allclose(second(0.5 + 1j), -np.sin(0.5 + 1j), rtol=1e-12)
    hessian = fg.hessian(lambda z: fnp.sum(z ** 3), holomorphic=True)(Z)
    np.testing.assert_allclose(hessian, np.diag(6 * Z), rtol=1e-12)


@needs_jax
def test_holomorphic_grad_matches_jax():
    def f(m):
        return lambda z: m.sum(m.sin(z) * m.exp(z) / (z + 2.0))
    got = fg.grad(f(fnp), holomorphic=True)(Z)
    want = jax.grad(f(jnp), holomorphic=True)(jnp.asarray(Z))
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12)


def test_grad_of_a_complex_output_is_a_clear_error():
    with pytest.raises(TypeError, match="holomorphic=True"):
        fg.grad(fnp.sin)(1.0 + 2.0j)
    with pytest.raises(TypeError, match="must be complex"):
        fg.grad(fnp.sin, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="must return a complex scalar"):
        fg.grad(fnp.abs, holomorphic=True)(1.0 + 2.0j)
    with pytest.raises(TypeError, match="jacfwd needs real inputs"):
        fg.jacfwd(fnp.abs)(Z)
    with pytest.raises(TypeError, match="holomorphic=True"):
        fg.jacrev(fnp.sin)(Z)
    with pytest.raises(TypeError, match="real floating scalar"):
        fg.grad(lambda z: fnp.abs(z))(Z)


def test_vjp_of_a_non_holomorphic_complex_function():
    """conj: the cotangent goes back conjugated (the transpose under Re(sum(a * b)))."""
    _, pullback = fg.vjp(lambda z: fnp.conj(z) * 2.0, Z)
    np.testing.assert_allclose(pullback(W)[0], 2.0 * np.conj(W))
    _, tangent = fg.jvp(fnp.conj, (Z,), (W,))
    np.testing.assert_allclose(tangent, np.conj(W))


# --------------------------------------------------------------------------- check_grads

CHECKED = {
    "abs": fnp.abs, "angle": fnp.angle, "real": fnp.real, "imag": fnp.imag, "conj": fnp.conj,
    "z conj z": lambda z: z * fnp.conj(z), "exp over abs": lambda z: fnp.exp(z) / fnp.abs(z),
    "log1p": fnp.log1p, "arcsinh": fnp.arcsinh, "sign": fnp.sign,
}


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", sorted(CHECKED))
def test_check_grads_on_complex_inputs(name, dtype):
    fg.check_grads(CHECKED[name], (Z.astype(dtype),), order=2)


def test_check_grads_mixes_real_and_complex_arguments():
    fg.check_grads(lambda x, z: fnp.abs(x * 1j + z) * x, (X, Z), order=2)
    fg.check_grads(lambda x, y: fnp.angle(x + 1j * y), (X, -X), order=2)


def test_check_grads_catches_a_wrong_complex_rule():
    from funcgrad.ops import complex_numbers as cn
    saved = cn.imag_p.vjp, cn.imag_p.eager_vjp

    def wrong(needs, g, ans, x):   # the sign flipped
        return (np.asarray(g).astype(x.dtype) * 1j,)

    cn.imag_p.vjp = cn.imag_p.eager_vjp = wrong
    try:
        with pytest.raises(AssertionError, match="reverse"):
            fg.check_grads(fnp.imag, (Z,), order=1)
    finally:
        cn.imag_p.vjp, cn.imag_p.eager_vjp = saved


# ----------------------------------------------------------------------------- vmap, jit

def _example_loss(z):
    return fnp.sum(fnp.abs(fnp.sin(z) * fnp.conj(z)) ** 2) + fnp.angle(z[0] + 1.0)


def test_vmap_of_complex_functions_and_gradients():
    batch = _complex((4, 3))
    np.testing.assert_allclose(fg.vmap(_example_loss)(batch),
                               [_example_loss(z) for z in batch], rtol=1e-12)
    per_example = [fg.grad(_example_loss)(z) for z in batch]
    np.testing.assert_allclose(fg.vmap(fg.grad(_example_loss))(batch), per_example,
                               rtol=1e-12)
    np.testing.assert_allclose(fg.vmap(fg.grad(_example_loss), in_axes=1)(batch.T),
                               per_example, rtol=1e-12)
    np.testing.assert_allclose(fg.vmap(lambda z, x: fnp.real(z) * x + fnp.imag(z),
                                       in_axes=(0, None))(batch, X),
                               batch.real * X + batch.imag, rtol=1e-12)


def _kernel_program(z, w, x):
    """Most complex elementwise operations in one fused loop, with complex and real sums."""
    a = fnp.sin(z) * fnp.exp(w) + fnp.log(z) / w - fnp.sqrt(z) ** 3 + fnp.tanh(z) * fnp.conj(w)
    a = a + fnp.cosh(z) - fnp.expm1(w) * fnp.log1p(z) + fnp.power(z, w) - fnp.arctan(z)
    b = fnp.abs(a) + fnp.angle(a) + fnp.real(a) * x - fnp.imag(a)
    c = (a * 2.5 - 1j) * x + fnp.cos(z) ** 2 + 1.0 / z + fnp.astype(x, a.dtype)
    return fnp.sum(b, axis=1), fnp.sum(c), fnp.real(c), fnp.imag(c * fnp.conj(c)), c


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["c128", "c64"])
def test_compiled_complex_kernels_match_the_interpreter(dtype):
    pytest.importorskip("numba")
    real = np.float64 if dtype == np.complex128 else np.float32
    z, w = _complex((4, 5)).astype(dtype), _complex((5,)).astype(dtype)
    x = rng.uniform(0.5, 1.0, (4, 5)).astype(real)
    jitted = fg.jit(_kernel_program)
    compiled = jitted.compile(z, w, x)(z, w, x)
    interpreted = eval_ir(fg.make_ir(_kernel_program)(z, w, x), [z, w, x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = _kernel_program(z, w, x)   # NumPy itself
    tolerance = 1e-12 if dtype == np.complex128 else 2e-5
    for got, want, numpy_value in zip(compiled, interpreted, eager):
        assert np.asarray(got).dtype == np.asarray(want).dtype == np.asarray(numpy_value).dtype
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(got, numpy_value, rtol=tolerance * 10, atol=tolerance)
    assert "np.conj" in jitted.source(z, w, x) and ".imag" in jitted.source(z, w, x)


def test_compiled_gradient_of_a_complex_program():
    pytest.importorskip("numba")
    grad = fg.jit(fg.grad(_example_loss))
    z = _complex((6,))
    np.testing.assert_allclose(grad.compile(z)(z), fg.grad(_example_loss)(z), rtol=1e-12)


# ------------------------------------------------------------------ fnp.linalg.eig, eigvals

def _spectrum_matrix(eigenvalues, complex_basis=False):
    s = np.eye(3) + 0.3 * rng.uniform(-1, 1, (3, 3))
    if complex_basis:
        s = s + 0.3j * rng.uniform(-1, 1, (3, 3))
    return s @ np.diag(eigenvalues) @ np.linalg.inv(s)


A_REAL = np.real(_spectrum_matrix([2.0, -1.0, 0.5]))
A_ROTATION = np.array([[1.0, 2.0, 0.0], [-2.0, 1.0, 0.3], [0.1, 0.0, -1.5]])   # 1 +- 2i, ...
A_COMPLEX = _spectrum_matrix([1 + 1j, -1.5 + 0.5j, 0.5 - 2j], complex_basis=True)


@pytest.mark.parametrize("a", [A_REAL, A_ROTATION, A_COMPLEX], ids=["real", "pair", "complex"])
def test_eig_values_match_numpy(a):
    w, v = np.linalg.eig(a)
    traced_w, traced_v = fg.jit(fnp.linalg.eig)(a)
    assert traced_w.dtype.kind == "c" and traced_v.dtype.kind == "c"
    np.testing.assert_allclose(traced_w, w, rtol=1e-12)
    np.testing.assert_allclose(traced_v, v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fg.jit(fnp.linalg.eigvals)(a), np.linalg.eigvals(a), rtol=1e-12)
    concrete = fnp.linalg.eig(a)   # NumPy's own (real arrays where the spectrum is real)
    np.testing.assert_array_equal(concrete.eigenvalues, w)
    batch = np.stack([a, 2 * a])
    np.testing.assert_allclose(fg.vmap(fnp.linalg.eigvals)(batch),
                               np.linalg.eigvals(batch), rtol=1e-12)


def _eig_loss(m, eig):
    """A real, phase-free function of the eigenvalues and eigenvectors."""
    def loss(a):
        w, v = eig(a)
        return m.sum(m.real(w ** 2) + m.imag(w)) + m.sum(m.abs(v) ** 2 * m.arange(3.0)[:, None])
    return loss


@pytest.mark.parametrize("a", [A_REAL, A_ROTATION, A_COMPLEX], ids=["real", "pair", "complex"])
def test_eig_derivatives(a):
    fg.check_grads(lambda a: fnp.linalg.eigvals(a), (a,), order=2)
    fg.check_grads(lambda a: fnp.abs(fnp.linalg.eig(a)[1]), (a,), order=1)
    fg.check_grads(_eig_loss(fnp, fnp.linalg.eig), (a,), order=2)
    if jax is None:
        return
    jax_eig = lambda a: jax.lax.linalg.eig(a, compute_left_eigenvectors=False,  # noqa: E731
                                           enable_eigvec_derivs=True)
    want = np.asarray(jax.grad(_eig_loss(jnp, jax_eig))(jnp.asarray(a)))
    np.testing.assert_allclose(fg.grad(_eig_loss(fnp, fnp.linalg.eig))(a), want, rtol=1e-9,
                               atol=1e-10)
    want = np.asarray(jax.grad(lambda a: jnp.sum(jnp.abs(jnp.linalg.eigvals(a))))(
        jnp.asarray(a)))
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(fnp.abs(fnp.linalg.eigvals(a))))(a),
                               want, rtol=1e-9, atol=1e-10)


def test_eigvals_gradient_is_finite_at_a_repeated_eigenvalue():
    """Only the eigenvalues are read: the reverse pass never divides by their gaps."""
    a = np.diag([1.0, 1.0, 3.0])
    g = fg.grad(lambda a: fnp.real(fnp.sum(fnp.linalg.eigvals(a) ** 2)))(a)
    np.testing.assert_allclose(g, 2 * a.T)


def test_complex_inv_and_solve():
    b = _complex((3, 2))
    np.testing.assert_allclose(fg.jit(fnp.linalg.inv)(A_COMPLEX), np.linalg.inv(A_COMPLEX),
                               rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fnp.linalg.solve)(A_COMPLEX, b),
                               np.linalg.solve(A_COMPLEX, b), rtol=1e-12)
    fg.check_grads(fnp.linalg.solve, (A_COMPLEX, b), order=2)
    if jax is not None:
        def loss(m):
            return lambda a, b: m.sum(m.abs(m.linalg.solve(a, b)) ** 2)
        got = fg.grad(loss(fnp), argnums=(0, 1))(A_COMPLEX, b)
        want = jax.grad(loss(jnp), argnums=(0, 1))(jnp.asarray(A_COMPLEX), jnp.asarray(b))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, np.asarray(w), rtol=1e-10)


def test_sort_of_complex_values_is_numpys_lexicographic_order_with_gradients():
    # By real part, then imaginary part; NaNs last as NumPy orders them (R + nanj after every
    # finite value, then nan + Rj, then nan + nanj), traced and eagerly alike.
    rng = np.random.default_rng(3)
    z = (rng.integers(-2, 3, (5, 7)) + 1j * rng.integers(-2, 3, (5, 7))).astype(complex)
    z[0, 1], z[1, 2], z[2, 3] = complex(np.nan, 1), complex(1, np.nan), complex(np.nan, np.nan)
    z[3, 3], z[4, 4] = complex(np.nan, -1), complex(-5, np.nan)
    for axis in (0, -1, None):
        traced = fg.make_ir(lambda v, axis=axis: (fnp.sort(v, axis=axis),
                                                 fnp.argsort(v, axis=axis)))(z)
        values, order = eval_ir(traced, [z])
        np.testing.assert_array_equal(values, np.sort(z, axis=axis))
        np.testing.assert_array_equal(order, np.argsort(z, axis=axis, kind="stable"))
    w = np.array([1 + 2j, -1 + 0.5j, 1 - 3j, 0.25 + 0j])
    weights = np.arange(4.0)
    g = fg.grad(lambda v: fnp.real(fnp.sum(fnp.sort(v) * weights)))(w)
    # sorted: -1+0.5j (w[1]), 0.25 (w[3]), 1-3j (w[2]), 1+2j (w[0]); d/dx of the real part
    np.testing.assert_array_equal(g, np.array([3, 0, 2, 1], complex))
    if jax is not None:
        expected = jax.grad(lambda v: jnp.real(jnp.sum(jnp.sort(v) * weights)))(w)
        np.testing.assert_allclose(g, np.asarray(expected), rtol=1e-15)


# ------------------------------------------------------ fnp.linalg.det, slogdet (complex)

def _determinant_loss(m):
    """A real function of a complex matrix through det and both parts of slogdet."""
    def loss(a):
        sign, logabsdet = m.linalg.slogdet(a)
        return (m.abs(m.linalg.det(a)) + m.real(m.linalg.det(a)) * m.imag(m.linalg.det(a))
                + m.real(sign) - 2 * m.imag(sign) + logabsdet ** 2)
    return loss


def test_complex_det_and_slogdet():
    a = A_COMPLEX
    np.testing.assert_allclose(fg.jit(fnp.linalg.det)(a), np.linalg.det(a), rtol=1e-12)
    sign, logabsdet = fg.jit(fnp.linalg.slogdet)(a)
    want_sign, want_log = np.linalg.slogdet(a)
    assert sign.dtype == np.complex128 and logabsdet.dtype == np.float64
    np.testing.assert_allclose(sign, want_sign, rtol=1e-12)
    np.testing.assert_allclose(logabsdet, want_log, rtol=1e-12)
    fg.check_grads(fnp.linalg.det, (a,), order=2)
    fg.check_grads(lambda a: fnp.linalg.slogdet(a)[0], (a,), order=2)
    fg.check_grads(_determinant_loss(fnp), (a,), order=2)
    if jax is None:
        return
    want = np.asarray(jax.grad(_determinant_loss(jnp))(jnp.asarray(a)))
    np.testing.assert_allclose(fg.grad(_determinant_loss(fnp))(a), want, rtol=1e-10)
    t = _complex((3, 3))
    for fn, jax_fn in ((fnp.linalg.det, jnp.linalg.det), (fnp.linalg.slogdet, jnp.linalg.slogdet)):
        got = fg.jvp(fn, (a,), (t,))[1]
        want = jax.jvp(jax_fn, (jnp.asarray(a),), (jnp.asarray(t),))[1]
        for g, w in zip(fg.tree.leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(g, np.asarray(w), rtol=1e-10, atol=1e-12)


def _series_along_a_line(f, order=4):
    """``jet`` of the real function ``f`` at 0.3, against its nested ``grad``s."""
    _, terms = fg.jet(f, (0.3,), ([1.0] + [0.0] * (order - 1),))
    derivative, expected = f, []
    for _ in range(order):
        derivative = fg.grad(derivative)
        expected.append(float(derivative(0.3)))
    np.testing.assert_allclose([float(t) for t in terms], expected, rtol=1e-8, atol=1e-9)


def test_series_of_complex_determinants_agree_with_nested_grad():
    direction = _complex((3, 3))
    _series_along_a_line(lambda t: _determinant_loss(fnp)(A_COMPLEX + t * direction))


# --------------------------------------------------------- fnp.linalg.cholesky (complex)

def _hermitian_positive_definite(n=3):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
    return (q * (1.0 + np.arange(n) + rng.uniform(0.0, 0.3, n))) @ q.conj().T


A_HERMITIAN = _hermitian_positive_definite()
WEIGHTS = rng.uniform(-1.0, 1.0, (2, 3, 3))


def _cholesky_loss(m, upper=False):
    """A real function of the factor of ``A_HERMITIAN + x + x^H`` (a Hermitian matrix of x,
    so that every library reads the same matrix, whichever triangle it reads)."""
    def loss(x):
        factor = m.linalg.cholesky(A_HERMITIAN + x + m.conj(x).T, upper=upper)
        return m.sum(m.real(factor) * WEIGHTS[0] + m.imag(factor) * WEIGHTS[1])
    return loss


def test_complex_cholesky():
    a = A_HERMITIAN + np.triu(_complex((3, 3)), 1) + 0.5j * np.eye(3)   # read: tril, Re(diag)
    low = fg.jit(fnp.linalg.cholesky)(a)
    np.testing.assert_allclose(low, np.linalg.cholesky(a), rtol=1e-12)
    np.testing.assert_allclose(low @ low.conj().T, A_HERMITIAN, rtol=1e-12, atol=1e-12)
    upper = fg.vjp(lambda a: fnp.linalg.cholesky(a, upper=True), a.conj().T)[0]   # traced
    np.testing.assert_allclose(upper, np.linalg.cholesky(a.conj().T, upper=True), rtol=1e-12)
    x = 0.1 * _complex((3, 3))
    for upper in (False, True):
        fg.check_grads(_cholesky_loss(fnp, upper), (x,), order=2)
        if jax is not None:
            want = np.asarray(jax.grad(_cholesky_loss(jnp, upper))(jnp.asarray(x)))
            np.testing.assert_allclose(fg.grad(_cholesky_loss(fnp, upper))(x), want,
                                       rtol=1e-10, atol=1e-12)
    if jax is not None:   # along a Hermitian direction both read the same matrix
        t = _complex((3, 3))
        t = t + t.conj().T
        got = fg.jvp(fnp.linalg.cholesky, (A_HERMITIAN,), (t,))[1]
        want = jax.jvp(jnp.linalg.cholesky, (jnp.asarray(A_HERMITIAN),), (jnp.asarray(t),))[1]
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10, atol=1e-12)
    direction = 0.1 * _complex((3, 3))
    _series_along_a_line(lambda t: _cholesky_loss(fnp)(t * direction))


# -------------------------------------------------------- fnp.linalg.eigh, eigvalsh (complex)

def _eigh_loss(m, uplo="L"):
    """A real function of the eigenvalues and of phase-free uses of the eigenvectors of the
    Hermitian ``A_HERMITIAN + x + x^H`` (each library reads the same matrix)."""
    def loss(x):
        w, v = m.linalg.eigh(A_HERMITIAN + x + m.conj(x).T, UPLO=uplo)
        rebuilt = (v * m.sin(w)) @ m.conj(v).T          # a function of the matrix
        return (m.sum(w ** 2 * WEIGHTS[0, 0]) + m.sum(m.abs(v) ** 2 * WEIGHTS[0])
                + m.sum(m.real(rebuilt) * WEIGHTS[1] + m.imag(rebuilt) * WEIGHTS[0]))
    return loss


def test_complex_eigh_and_eigvalsh():
    a = A_HERMITIAN + np.triu(_complex((3, 3)), 1) + 0.5j * np.eye(3)   # read: tril, Re(diag)
    w, v = fg.jit(fnp.linalg.eigh)(a)
    want_w, want_v = np.linalg.eigh(a)
    assert w.dtype == np.float64 and v.dtype == np.complex128
    np.testing.assert_allclose(w, want_w, rtol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(v.conj() * want_v, axis=0)), 1.0, rtol=1e-12)
    upper = fg.vjp(lambda a: fnp.linalg.eigvalsh(a, UPLO="U"), a.conj().T)[0]   # traced
    np.testing.assert_allclose(upper, want_w, rtol=1e-12)
    x = 0.1 * _complex((3, 3))
    for uplo in ("L", "U"):
        fg.check_grads(_eigh_loss(fnp, uplo), (x,), order=2)
    fg.check_grads(lambda x: fnp.linalg.eigvalsh(A_HERMITIAN + x + fnp.conj(x).T), (x,),
                   order=2)
    if jax is None:
        return
    for uplo in ("L", "U"):
        want = np.asarray(jax.grad(_eigh_loss(jnp, uplo))(jnp.asarray(x)))
        np.testing.assert_allclose(fg.grad(_eigh_loss(fnp, uplo))(x), want, rtol=1e-10,
                                   atol=1e-12)
    t = _complex((3, 3))
    t = t + t.conj().T   # along a Hermitian direction both read the same matrix
    got = fg.jvp(fnp.linalg.eigvalsh, (A_HERMITIAN,), (t,))[1]
    want = jax.jvp(jnp.linalg.eigvalsh, (jnp.asarray(A_HERMITIAN),), (jnp.asarray(t),))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10, atol=1e-12)


# ------------------------------------------------ spectral norms of complex matrices, refusal

@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (2, 3, 4)], ids=["square", "tall", "wide"])
def test_spectral_norms_of_complex_matrices(shape):
    a = _complex(shape) + 0.3 * np.eye(*shape[-2:])
    for ord in (2, -2, "nuc"):
        def loss(m, ord=ord):
            return lambda a: m.sum(m.linalg.matrix_norm(a, ord=ord))

        def norms(a, ord=ord):
            return fnp.linalg.matrix_norm(a, ord=ord)
        np.testing.assert_allclose(fg.vjp(norms, a)[0],
                                   np.linalg.matrix_norm(a, ord=ord), rtol=1e-10)
        fg.check_grads(loss(fnp), (a,), order=1)
        if jax is not None:
            want = np.asarray(jax.grad(loss(jnp))(jnp.asarray(a)))
            np.testing.assert_allclose(fg.grad(loss(fnp))(a), want, rtol=1e-8, atol=1e-10)
    matrix = a.reshape((-1,) + shape[-2:])[0]
    np.testing.assert_allclose(fg.vjp(lambda a: fnp.linalg.norm(a, "nuc"), matrix)[0],
                               np.linalg.norm(matrix, "nuc"), rtol=1e-10)


def test_complex_spectral_norm_under_jit():
    a = _complex((3, 4))
    np.testing.assert_allclose(fg.jit(lambda a: fnp.linalg.norm(a, 2))(a),
                               np.linalg.norm(a, 2), rtol=1e-10)


# ------------------------------------------------------------ fnp.linalg.svd, svdvals (complex)

def _svd_loss(m, full_matrices=False):
    """A real function of the singular values and of phase-free uses of the singular vectors
    (each pair's common phase is arbitrary)."""
    def loss(a):
        u, s, vh = m.linalg.svd(a, full_matrices=full_matrices)
        k = s.shape[-1]
        rows, cols = a.shape
        rebuilt = (u[:, :k] * m.sin(s)) @ vh[:k]
        return (m.sum(s ** 2 * WEIGHTS[0, 0, :k]) + m.sum(m.abs(u) ** 2 * WEIGHTS[0, 0, 0])
                + m.sum(m.abs(vh[:k]) ** 2 * WEIGHTS[1, :k, :cols])
                + m.sum(m.real(rebuilt) * WEIGHTS[0, :rows, :cols]
                        + m.imag(rebuilt) * WEIGHTS[1, :rows, :cols]))
    return loss


@pytest.mark.parametrize("shape", [(3, 3), (3, 2), (2, 3)], ids=["square", "tall", "wide"])
def test_complex_svd_and_svdvals(shape):
    a = _complex(shape) + 0.5 * np.eye(*shape)
    u, s, vh = fg.vjp(lambda a: fnp.linalg.svd(a, full_matrices=False), a)[0]
    assert s.dtype == np.float64 and u.dtype == vh.dtype == np.complex128
    np.testing.assert_allclose(s, np.linalg.svdvals(a), rtol=1e-12)
    np.testing.assert_allclose((u * s) @ vh, a, rtol=1e-12, atol=1e-12)
    fg.check_grads(_svd_loss(fnp), (a,), order=2)
    fg.check_grads(_svd_loss(fnp, True), (a,), order=1)
    fg.check_grads(fnp.linalg.svdvals, (a,), order=2)
    if jax is None:
        return
    want = np.asarray(jax.grad(_svd_loss(jnp))(jnp.asarray(a)))
    np.testing.assert_allclose(fg.grad(_svd_loss(fnp))(a), want, rtol=1e-10, atol=1e-12)
    t = _complex(shape)
    got = fg.jvp(fnp.linalg.svdvals, (a,), (t,))[1]
    want = jax.jvp(jnp.linalg.svdvals, (jnp.asarray(a),), (jnp.asarray(t),))[1]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10, atol=1e-12)


def test_complex_svdvals_under_jit():
    a = _complex((3, 4))
    np.testing.assert_allclose(fg.jit(fnp.linalg.svdvals)(a), np.linalg.svdvals(a), rtol=1e-12)


def test_vmap_of_complex_linear_algebra():
    batch = np.stack([A_HERMITIAN, 2 * A_HERMITIAN + np.eye(3)])
    for fn, numpy_fn in ((fnp.linalg.det, np.linalg.det), (fnp.linalg.cholesky, np.linalg.cholesky),
                         (fnp.linalg.eigvalsh, np.linalg.eigvalsh),
                         (fnp.linalg.svdvals, np.linalg.svdvals),
                         (lambda a: fnp.linalg.slogdet(a)[0], lambda a: np.linalg.slogdet(a)[0])):
        np.testing.assert_allclose(fg.vmap(fn)(batch), numpy_fn(batch), rtol=1e-12)
    loss = _cholesky_loss(fnp)
    x = 0.1 * np.stack([_complex((3, 3)), _complex((3, 3))])
    np.testing.assert_allclose(fg.vmap(fg.grad(loss))(x), np.stack([fg.grad(loss)(v) for v in x]),
                               rtol=1e-12)
