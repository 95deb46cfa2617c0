"""funcgrad.scipy.linalg: values against scipy.linalg (skipped without SciPy), derivatives to
second order in both modes, the LU pivot primitives against SciPy's pivots, vmap against a
loop, and one small jit of a composed function.
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import linalg as la
from funcgrad.scipy import linalg as fsl

RNG = np.random.default_rng(7)


def _general(n, *batch):
    """Well conditioned, with a clear largest entry per pivot column (no near-ties)."""
    return RNG.uniform(-1.0, 1.0, batch + (n, n)) + 3.0 * np.eye(n)[RNG.permutation(n)]


def _spd(n, *batch):
    x = RNG.standard_normal(batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _right_half_plane(n):
    """Nonsymmetric, its eigenvalues in discs about 4 of radius < n - 1 (Gershgorin)."""
    return RNG.uniform(-1.0, 1.0, (n, n)) + 4.0 * np.eye(n)


def _dominant(n):
    """A dominant diagonal: each triangle is well conditioned; the other is noise to a solve
    that reads one."""
    return RNG.uniform(-0.5, 0.5, (n, n)) + 2.0 * np.eye(n)


# ------------------------------------------------------------------ values against SciPy

@pytest.fixture(scope="module")
def sl():
    return pytest.importorskip("scipy.linalg", reason="SciPy is an optional test dependency")


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1, "T"])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_values(sl, lower, trans, unit):
    a = _dominant(4)
    for b in (RNG.standard_normal(4), RNG.standard_normal((4, 3))):
        got = fsl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
        want = sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_and_cho_solve_values(sl, lower):
    a = _spd(4)
    noisy = a.copy()
    noisy[np.tril_indices(4, -1) if not lower else np.triu_indices(4, 1)] = 99.0  # never read
    np.testing.assert_allclose(fsl.cholesky(noisy, lower=lower),
                               sl.cholesky(noisy, lower=lower), rtol=1e-12, atol=1e-12)
    c, low = fsl.cho_factor(noisy, lower=lower)
    assert low is lower
    b = RNG.standard_normal((4, 2))
    np.testing.assert_allclose(fsl.cho_solve((c, low), b),
                               sl.cho_solve(sl.cho_factor(noisy, lower=lower), b),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fsl.solve(noisy, b, assume_a="pos", lower=lower),
                               sl.solve(noisy, b, assume_a="pos", lower=lower), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_lu_values_and_pivots(sl, shape):
    a = RNG.standard_normal(shape)
    for got, want in zip(fsl.lu(a), sl.lu(a)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(fsl.lu(a, permute_l=True), sl.lu(a, permute_l=True)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    p, _, _ = fsl.lu(a, p_indices=True)
    np.testing.assert_array_equal(p, sl.lu(a, p_indices=True)[0])
    packed, piv = fsl.lu_factor(a)
    want_packed, want_piv = sl.lu_factor(a)
    np.testing.assert_allclose(packed, want_packed, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(piv, want_piv)
    assert piv.dtype == np.int32


def test_lu_pivots_of_a_stack_match_scipy_matrix_by_matrix(sl):
    a = RNG.standard_normal((3, 5, 5))
    np.testing.assert_array_equal(la.lu_pivots(a), [sl.lu_factor(x)[1] for x in a])


def test_lu_of_a_singular_matrix(sl):
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    p, low, up = fsl.lu(a)
    np.testing.assert_allclose(p @ low @ up, a, atol=1e-12)
    for got, want in zip(fsl.lu(a), sl.lu(a)):
        np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("trans", [0, 1])
def test_lu_solve_values(sl, trans):
    a = RNG.standard_normal((4, 4))
    for b in (RNG.standard_normal(4), RNG.standard_normal((4, 2))):
        got = fsl.lu_solve(fsl.lu_factor(a), b, trans=trans)
        np.testing.assert_allclose(got, sl.lu_solve(sl.lu_factor(a), b, trans=trans),
                                   rtol=1e-10, atol=1e-12)


def test_block_diag_values(sl):
    blocks = (np.array([[1, 2], [3, 4]]), np.array([5.0, 6.0, 7.0]), 8.0, np.zeros((0, 2)))
    got = fsl.block_diag(*blocks)
    want = sl.block_diag(*blocks)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert fsl.block_diag().shape == sl.block_diag().shape


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0])
def test_expm_values(sl, scale):
    a = scale * RNG.standard_normal((4, 4))
    np.testing.assert_allclose(fsl.expm(a), sl.expm(a), rtol=1e-10, atol=1e-12)
    stack = RNG.standard_normal((2, 3, 3)) * np.array([0.1, 20.0])[:, None, None]
    np.testing.assert_allclose(fsl.expm(stack), [sl.expm(x) for x in stack], rtol=1e-10)
    assert fsl.expm(a.astype(np.float32)).dtype == np.float32


def test_sqrtm_values(sl):
    spd = _spd(4)
    nonsymmetric = _right_half_plane(4)
    for a in (spd, nonsymmetric, np.eye(3)):
        got = fsl.sqrtm(a)
        np.testing.assert_allclose(got, np.real(sl.sqrtm(a)), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got @ got, a, rtol=1e-10, atol=1e-12)


def test_reexports_values(sl):
    a, b = _general(4), RNG.standard_normal((4, 2))
    np.testing.assert_allclose(fsl.inv(a), sl.inv(a), rtol=1e-12)
    np.testing.assert_allclose(fsl.det(a), sl.det(a), rtol=1e-12)
    np.testing.assert_allclose(fsl.solve(a, b), sl.solve(a, b), rtol=1e-12)
    np.testing.assert_allclose(fsl.solve(a, b, transposed=True), sl.solve(a, b, transposed=True),
                               rtol=1e-12)
    s = _spd(4)
    for lower in (True, False):
        np.testing.assert_allclose(fsl.solve(s, b, assume_a="sym", lower=lower),
                                   sl.solve(s, b, assume_a="sym", lower=lower), rtol=1e-12)
        w, v = fsl.eigh(s, lower=lower)
        want_w, want_v = sl.eigh(s, lower=lower)
        np.testing.assert_allclose(w, want_w, rtol=1e-12)
        np.testing.assert_allclose(np.abs(v), np.abs(want_v), rtol=1e-10, atol=1e-12)
    other = _spd(4)
    w = fsl.eigh(s, other, eigvals_only=True)
    np.testing.assert_allclose(w, sl.eigh(s, other, eigvals_only=True), rtol=1e-12)
    _, v = fsl.eigh(s, other)
    np.testing.assert_allclose(v.T @ other @ v, np.eye(4), atol=1e-12)


# ------------------------------------------------------------------------ derivatives

def _sum_weights(shape):
    return RNG.standard_normal(shape)


def test_triangular_and_cholesky_gradients():
    a, b, s = _dominant(3), RNG.standard_normal((3, 2)), _spd(3)
    fg.check_grads(lambda a, b: fsl.solve_triangular(a, b, lower=True, trans=1), (a, b),
                   order=2)
    fg.check_grads(lambda a, b: fsl.solve_triangular(a, b, unit_diagonal=True), (a, b),
                   order=2)
    fg.check_grads(lambda s: fsl.cholesky(s), (s,), order=2)
    fg.check_grads(lambda s, b: fsl.cho_solve(fsl.cho_factor(s, lower=True), b), (s, b),
                   order=2)


@pytest.mark.parametrize("shape", [(3, 3), (3, 4), (4, 3)])
def test_lu_gradients(shape):
    a = RNG.standard_normal(shape) + 3.0 * np.eye(*shape)
    fg.check_grads(lambda a: fsl.lu(a)[1:], (a,), order=2)
    fg.check_grads(lambda a: fsl.lu_factor(a)[0], (a,), order=2)


def test_lu_reconstructs_and_its_jvp_is_consistent():
    """p l u == a to rounding, so d(p l u) == da: the derivative of the product is exact."""
    a, t = _general(4), RNG.standard_normal((4, 4))

    def product(a):
        p, low, up = fsl.lu(a)
        return p @ low @ up
    value, tangent = fg.jvp(product, (a,), (t,))
    np.testing.assert_allclose(value, a, atol=1e-12)
    np.testing.assert_allclose(tangent, t, atol=1e-12)


def test_lu_solve_gradients():
    a, b = _general(3), RNG.standard_normal((3, 2))
    for trans in (0, 1):
        fg.check_grads(lambda a, b, t=trans: fsl.lu_solve(fsl.lu_factor(a), b, trans=t),
                       (a, b), order=2)


def test_expm_and_sqrtm_gradients():
    small = 0.5 * RNG.standard_normal((3, 3))
    scaled = RNG.standard_normal((3, 3))
    scaled *= 12.0 / np.max(np.sum(np.abs(scaled), axis=0))   # |A|_1 = 12: two squarings
    fg.check_grads(fsl.expm, (small,), order=2)
    fg.check_grads(fsl.expm, (scaled,), order=2, eps=1e-4, rtol=1e-4)
    fg.check_grads(fsl.sqrtm, (_spd(3),), order=2)
    fg.check_grads(fsl.sqrtm, (_right_half_plane(3),), order=2)


def test_expm_derivative_is_the_frechet_derivative():
    """d expm(A)[E] is the top-right block of expm([[A, E], [0, A]]) (Mathias' identity)."""
    a, e = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    _, tangent = fg.jvp(fsl.expm, (a,), (e,))
    big = fsl.expm(np.block([[a, e], [np.zeros((3, 3)), a]]))
    np.testing.assert_allclose(tangent, big[:3, 3:], rtol=1e-10, atol=1e-12)


def test_sqrtm_of_identity_has_the_right_derivative():
    """d sqrtm(I)[E] = E / 2 (repeated eigenvalues, where an eigh-based root would fail)."""
    e = RNG.standard_normal((3, 3))
    _, tangent = fg.jvp(fsl.sqrtm, (np.eye(3),), (e,))
    np.testing.assert_allclose(tangent, e / 2, rtol=1e-12, atol=1e-12)


def test_block_diag_and_reexport_gradients():
    x, y = RNG.standard_normal((2, 2)), RNG.standard_normal(3)
    fg.check_grads(lambda x, y: fsl.block_diag(x, y), (x, y), order=2)
    a, b, s = _general(3), RNG.standard_normal(3), _spd(3)
    fg.check_grads(lambda a, b: fsl.solve(a, b, transposed=True), (a, b), order=2)
    fg.check_grads(lambda s, b: fsl.solve(s, b, assume_a="pos"), (s, b), order=2)
    metric = np.diag([1.0, 2.0, 3.0])
    fg.check_grads(lambda s, m: fsl.eigh(s, m, eigvals_only=True), (s, metric), order=2)


# ---------------------------------------------------------------------- vmap, jit, errors

def test_vmap_matches_a_loop():
    stack = _general(3, 4)
    rhs = RNG.standard_normal((4, 3))

    def fun(a, b):
        p, low, up = fsl.lu(a)
        return fsl.expm(0.3 * a) @ b + fsl.lu_solve(fsl.lu_factor(a), b) + up @ b + low[0] \
            + p[:, 0] + fsl.sqrtm(a @ a.T + np.eye(3))[0]
    got = fg.vmap(fun)(stack, rhs)
    np.testing.assert_allclose(got, [fun(a, b) for a, b in zip(stack, rhs)], rtol=1e-10)


def test_jit_of_a_composition():
    a, b = _general(3), RNG.standard_normal(3)

    def fun(a, b):
        return fnp.sum(fsl.lu_solve(fsl.lu_factor(a), b) * fsl.cho_solve(
            fsl.cho_factor(a @ a.T), b))
    np.testing.assert_allclose(fg.jit(fg.grad(fun))(a, b), fg.grad(fun)(a, b), rtol=1e-10)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="the argument a must be square"):
        fsl.expm(np.ones((2, 3)))
    with pytest.raises(ValueError, match="b must have shape"):
        fsl.solve_triangular(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="trans must be"):
        fsl.lu_solve(fsl.lu_factor(np.eye(2)), np.ones(2), trans="X")
    with pytest.raises(ValueError, match="assume_a"):
        fsl.solve(np.eye(2), np.ones(2), assume_a="banana")
    with pytest.raises(ValueError, match="argument 0 has 3 dimensions"):
        fsl.block_diag(np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="type=2 is not supported"):
        fsl.eigh(np.eye(2), np.eye(2), type=2)


@pytest.mark.parametrize("name", ["lu", "expm", "sqrtm"])
def test_jet_agrees_with_nested_jvp(name):
    """Taylor mode runs through the pivot primitives (no series: integers) and the ops."""
    fun = {"lu": lambda a: fsl.lu(a)[2], "expm": fsl.expm, "sqrtm": fsl.sqrtm}[name]
    a, e = _spd(3), RNG.standard_normal((3, 3))
    _, (first, second) = fg.jet(fun, (a,), ([e, np.zeros((3, 3))],))

    def along(a):
        return fg.jvp(fun, (a,), (e,))[1]
    np.testing.assert_allclose(first, along(a), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(second, fg.jvp(along, (a,), (e,))[1], rtol=1e-8, atol=1e-9)
