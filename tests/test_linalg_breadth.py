"""``fnp.linalg`` beyond inv/solve/det/cholesky/eigh/norm: values against NumPy (square,
tall, wide and batched; float64 and float32), derivatives to second order in both modes on
well-conditioned inputs, gauge-invariant checks of svd and qr, vmap against a loop, jit, and
reverse-mode derivatives against torch.linalg where PyTorch is installed.

The svd, qr and pinv primitives are rows of tests/test_primitives.py (and so of the vmap and
compiled tables); here the NumPy-signature functions are checked.
"""
from __future__ import annotations

import numpy as np
import pytest
from linalg_reference import (
    assert_tree_close,
    general_matrix,
    symmetric_positive_definite,
    well_conditioned,
)
from linalg_reference import traced as _traced

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.ops import linalg as la

L = fnp.linalg
rng = np.random.default_rng(20250101)
SQUARE = well_conditioned(rng, (3, 3))
TALL = well_conditioned(rng, (5, 3))
WIDE = well_conditioned(rng, (3, 5))
STACK = well_conditioned(rng, (2, 4, 3))
WIDE_STACK = well_conditioned(rng, (2, 2, 3))
GENERAL = general_matrix(rng, (2, 3, 3))
SPD = symmetric_positive_definite(rng, 3)
B_TALL = rng.standard_normal((5, 2))
MATRICES = {"square": SQUARE, "tall": TALL, "wide": WIDE, "stack": STACK,
            "wide_stack": WIDE_STACK}


def _close(got, want, rtol=1e-11, atol=1e-12):
    assert_tree_close(got, want, rtol, atol)


# ------------------------------------------------------------------------------- values

def _cases():
    cases = []
    for name, a in MATRICES.items():
        cases += [
            (f"svd_{name}", lambda a: L.svd(a, full_matrices=False), (a,)),
            (f"svd_full_{name}", L.svd, (a,)),
            (f"svdvals_{name}", L.svdvals, (a,)),
            (f"svd_no_uv_{name}", lambda a: L.svd(a, compute_uv=False), (a,)),
            (f"qr_{name}", L.qr, (a,)),
            (f"qr_complete_{name}", lambda a: L.qr(a, "complete"), (a,)),
            (f"qr_r_{name}", lambda a: L.qr(a, "r"), (a,)),
            (f"pinv_{name}", L.pinv, (a,)),
            (f"matrix_rank_{name}", L.matrix_rank, (a,)),
            (f"cond_{name}", L.cond, (a,)),
            (f"cond_-2_{name}", lambda a: L.cond(a, -2), (a,)),
            (f"matrix_norm_{name}", L.matrix_norm, (a,)),
            (f"matrix_norm_nuc_{name}", lambda a: L.matrix_norm(a, ord="nuc", keepdims=True),
             (a,)),
            (f"matrix_transpose_{name}", L.matrix_transpose, (a,)),
            (f"diagonal_{name}", lambda a: L.diagonal(a, offset=1), (a,)),
            (f"trace_{name}", L.trace, (a,)),
        ]
    return cases + [
        ("eigvalsh", L.eigvalsh, (SPD + np.triu(rng.standard_normal((3, 3)), 1),)),
        ("eigvalsh_U", lambda a: L.eigvalsh(a, "U"), (np.tril(rng.standard_normal((3, 3))) +
                                                      SPD,)),
        ("pinv_rank_deficient", L.pinv, (np.outer(np.arange(1.0, 4.0), [1.0, -1.0, 2.0]),)),
        ("pinv_rcond", lambda a: L.pinv(a, rcond=0.4), (np.diag([3.0, 1.0, 0.5]),)),
        ("pinv_rtol", lambda a: L.pinv(a, rtol=0.4), (np.diag([3.0, 1.0, 0.5]),)),
        ("pinv_hermitian", lambda a: L.pinv(a, hermitian=True), (SPD,)),
        ("matrix_rank_deficient", L.matrix_rank,
         (np.outer(np.arange(1.0, 4.0), [1.0, -1.0, 2.0]),)),
        ("matrix_rank_tol", lambda a: L.matrix_rank(a, tol=1.5), (np.diag([3.0, 1.0, 2.0]),)),
        ("matrix_rank_hermitian", lambda a: L.matrix_rank(a, hermitian=True), (SPD,)),
        ("lstsq_tall", L.lstsq, (TALL, B_TALL)),
        ("lstsq_tall_vector", L.lstsq, (TALL, B_TALL[:, 0])),
        ("lstsq_wide", L.lstsq, (WIDE, B_TALL[:3])),
        ("lstsq_square_rcond", lambda a, b: L.lstsq(a, b, rcond=1e-3), (SQUARE, B_TALL[:3])),
        ("matrix_power_5", lambda a: L.matrix_power(a, 5), (GENERAL,)),
        ("matrix_power_3", lambda a: L.matrix_power(a, 3), (GENERAL,)),
        ("matrix_power_2", lambda a: L.matrix_power(a, 2), (GENERAL,)),
        ("matrix_power_1", lambda a: L.matrix_power(a, 1), (GENERAL,)),
        ("matrix_power_0", lambda a: L.matrix_power(a, 0), (GENERAL,)),
        ("matrix_power_-3", lambda a: L.matrix_power(a, -3), (GENERAL,)),
        ("multi_dot", lambda *x: L.multi_dot(list(x)),
         (rng.standard_normal((2, 6)), rng.standard_normal((6, 3)), rng.standard_normal((3, 5)),
          rng.standard_normal((5, 2)))),
        ("multi_dot_vectors", lambda *x: L.multi_dot(list(x)),
         (rng.standard_normal(4), rng.standard_normal((4, 3)), rng.standard_normal(3))),
        ("multi_dot_row", lambda *x: L.multi_dot(list(x)),
         (rng.standard_normal(4), rng.standard_normal((4, 3)))),
        ("vector_norm", L.vector_norm, (STACK,)),
        ("vector_norm_axes", lambda x: L.vector_norm(x, axis=(0, 2), keepdims=True, ord=3),
         (STACK,)),
        ("vector_norm_inf", lambda x: L.vector_norm(x, axis=-1, ord=np.inf), (STACK,)),
        ("vector_norm_1", lambda x: L.vector_norm(x, axis=1, ord=1), (STACK,)),
        ("matrix_norm_2", lambda x: L.matrix_norm(x, ord=2), (STACK,)),
        ("matrix_norm_inf", lambda x: L.matrix_norm(x, ord=np.inf), (STACK,)),
        ("cond_fro", lambda a: L.cond(a, "fro"), (GENERAL,)),
        ("cond_1", lambda a: L.cond(a, 1), (GENERAL,)),
        ("cond_inf", lambda a: L.cond(a, -np.inf), (GENERAL,)),
        ("cond_nuc", lambda a: L.cond(a, "nuc"), (GENERAL,)),
        ("cond_singular", L.cond, (np.zeros((2, 2)),)),
        ("tensorsolve", L.tensorsolve, (general_matrix(rng, (6, 6)).reshape(2, 3, 6),
                                        rng.standard_normal((2, 3)))),
        ("tensorsolve_axes", lambda a, b: L.tensorsolve(a, b, axes=(0,)),
         (general_matrix(rng, (6, 6)).reshape(6, 2, 3), rng.standard_normal((2, 3)))),
        ("tensorinv", L.tensorinv, (general_matrix(rng, (6, 6)).reshape(2, 3, 6),)),
        ("tensorinv_ind1", lambda a: L.tensorinv(a, ind=1),
         (general_matrix(rng, (4, 4)).reshape(4, 2, 2),)),
        ("outer", L.outer, (rng.standard_normal(3), rng.standard_normal(4))),
        ("cross", L.cross, (rng.standard_normal((2, 3)), rng.standard_normal(3))),
        ("cross_axis", lambda a, b: L.cross(a, b, axis=0),
         (rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))),
        ("vecdot", L.vecdot, (rng.standard_normal((2, 3)), rng.standard_normal(3))),
        ("vecdot_axis", lambda a, b: L.vecdot(a, b, axis=0),
         (rng.standard_normal((3, 2)), rng.standard_normal((3, 1)))),
        ("tensordot", lambda a, b: L.tensordot(a, b, axes=1), (STACK, SQUARE)),
        ("matmul", L.matmul, (STACK, SQUARE)),
        ("trace_offset", lambda a: L.trace(a, offset=-1), (STACK,)),
        ("integers", L.pinv, (np.array([[2, 1], [1, 3], [0, 1]]),)),
    ]


VALUE_CASES = _cases()


@pytest.mark.parametrize("fn, args", [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES])
def test_values_match_numpy(fn, args):
    want = fn(*[np.asarray(a) for a in args])     # concrete: NumPy's own functions
    with np.errstate(divide="ignore", invalid="ignore"):
        _close(_traced(fn)(*args), want)
        _close(fg.jit(fn)(*args), want)


@pytest.mark.parametrize("name", ["svd", "qr", "pinv", "lstsq", "cond", "svdvals"])
def test_concrete_inputs_are_numpy(name):
    """On concrete arrays each function is NumPy's own, so the reference in
    test_values_match_numpy is NumPy (spot-checked here against ``numpy.linalg``)."""
    args = (TALL, B_TALL) if name == "lstsq" else (TALL,)
    _close(getattr(L, name)(*args), getattr(np.linalg, name)(*args), rtol=0, atol=0)


def test_results_are_named_tuples_and_float32_stays_float32():
    u, s, vh = _traced(L.svd)(STACK)
    result = _traced(L.svd)(STACK)
    assert result.U is not None and result.S.shape == (2, 3) and result.Vh.shape == (2, 3, 3)
    assert _traced(L.qr)(TALL).R.shape == (3, 3)
    a32 = STACK.astype(np.float32)
    for fn in (L.svdvals, lambda a: L.svd(a)[0], lambda a: L.qr(a)[0], L.pinv, L.cond,
               lambda a: L.matrix_power(a[..., :3, :], -2), lambda a: L.lstsq(a[0], a[0])[0]):
        got = _traced(fn)(a32)
        assert got.dtype == np.float32
        np.testing.assert_allclose(np.abs(got), np.abs(fn(a32)), rtol=2e-4, atol=2e-5)
    assert _traced(L.matrix_rank)(a32).dtype == np.int64


# ---------------------------------------------------------------------- derivatives

C = {name: rng.standard_normal(a.shape) for name, a in MATRICES.items()}


def _reconstruction(a, full_matrices):
    u, s, vh = L.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    return (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]


def _gauge_invariant_svd(a, c, full_matrices):
    """Invariant under the sign of each pair of singular vectors (and under the basis of the
    completing columns): the reconstruction, sums of singular vectors' outer products weighted
    by a function of the singular values, the projectors, and the singular values."""
    u, s, vh = L.svd(a, full_matrices=full_matrices)
    k = s.shape[-1]
    u1, v1 = u[..., :k], fnp.swapaxes(vh[..., :k, :], -1, -2)
    weighted = (u1 * fnp.sin(s)[..., None, :]) @ fnp.swapaxes(v1, -1, -2)
    total = fnp.sum(_reconstruction(a, full_matrices) * c) + fnp.sum(weighted * c)
    total = total + fnp.sum(fnp.cos(u1 @ fnp.swapaxes(u1, -1, -2)))
    total = total + fnp.sum(fnp.sin(v1 @ fnp.swapaxes(v1, -1, -2))) + fnp.sum(s ** 3)
    if full_matrices:
        u2, v2 = u[..., k:], fnp.swapaxes(vh, -1, -2)[..., k:]
        total = total + fnp.sum(fnp.sin(u2 @ fnp.swapaxes(u2, -1, -2)))
        total = total + fnp.sum(fnp.cos(v2 @ fnp.swapaxes(v2, -1, -2)))
    return total


@pytest.mark.parametrize("name", list(MATRICES))
@pytest.mark.parametrize("full_matrices", [False, True], ids=["thin", "full"])
def test_svd_gauge_invariant_derivatives(name, full_matrices):
    c = C[name]
    fg.check_grads(lambda a: _gauge_invariant_svd(a, c, full_matrices), (MATRICES[name],),
                   order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(MATRICES))
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_derivatives(name, mode):
    """Q and R are functions of the matrix (LAPACK's signs do not jump); the completing
    columns of ``mode='complete'`` enter through their projector."""
    c = C[name]
    a = MATRICES[name]
    k = min(a.shape[-2:])

    def f(a):
        if mode == "r":
            return fnp.sum(fnp.sin(L.qr(a, "r")) * c[..., :k, :])
        q, r = L.qr(a, mode)
        q1, q2 = q[..., :k], q[..., k:]
        return (fnp.sum(fnp.sin(q1) * c[..., :k]) + fnp.sum(r[..., :k, :] * c[..., :k, :])
                + fnp.sum(fnp.cos(q2 @ fnp.swapaxes(q2, -1, -2))))

    fg.check_grads(f, (a,), order=2, modes=("fwd", "rev"))


def test_qr_reconstructs_and_svd_reconstructs():
    for a in MATRICES.values():
        q, r = _traced(L.qr)(a)
        np.testing.assert_allclose(q @ r, a, atol=1e-12)
        np.testing.assert_allclose(_traced(lambda a: _reconstruction(a, True))(a), a,
                                   atol=1e-12)
        # The gradient of a reconstruction is the gradient of the identity.
        c = rng.standard_normal(a.shape)
        for full in (False, True):
            np.testing.assert_allclose(
                fg.grad(lambda a, f=full, c=c: fnp.sum(_reconstruction(a, f) * c))(a), c,
                atol=1e-10)
            np.testing.assert_allclose(
                fg.grad(lambda a, c=c: fnp.sum(fnp.matmul(*L.qr(a)) * c))(a), c,
                atol=1e-10)


SMOOTH = [
    ("svdvals", lambda a: fnp.sum(fnp.sin(L.svdvals(a))), ("square", "tall", "wide_stack")),
    ("pinv", lambda a: fnp.sum(fnp.sin(L.pinv(a))), ("square", "tall", "wide_stack")),
    ("cond", lambda a: fnp.sum(L.cond(a)), ("square", "tall", "wide")),
    ("cond_-2", lambda a: fnp.sum(L.cond(a, -2)), ("stack",)),
    ("cond_fro", lambda a: fnp.sum(L.cond(a, "fro")), ("square",)),
    ("matrix_norm_nuc", lambda a: fnp.sum(L.matrix_norm(a, ord="nuc")), ("wide_stack",)),
    ("matrix_power_4", lambda a: fnp.sum(L.matrix_power(a, 4)), ("square",)),
    ("matrix_power_-2", lambda a: fnp.sum(L.matrix_power(a, -2)), ("square",)),
    ("matrix_power_0", lambda a: fnp.sum(L.matrix_power(a, 0) * a), ("square",)),
    ("tensorinv", lambda a: fnp.sum(fnp.sin(L.tensorinv(fnp.reshape(a, (3, 3, 1)), 1))),
     ("square",)),
    ("vector_norm", lambda a: fnp.sum(L.vector_norm(a, axis=(0, 2), ord=3)), ("stack",)),
    ("trace_diagonal", lambda a: fnp.sum(L.trace(a) * fnp.sum(L.diagonal(a, offset=1))),
     ("stack",)),
]


@pytest.mark.parametrize("fn, name", [(c[1], n) for c in SMOOTH for n in c[2]],
                         ids=[f"{c[0]}-{n}" for c in SMOOTH for n in c[2]])
def test_check_grads_second_order(fn, name):
    fg.check_grads(fn, (MATRICES[name],), order=2, modes=("fwd", "rev"))


def test_lstsq_pinv_eigvalsh_multi_dot_tensorsolve_derivatives():
    b = B_TALL
    for a, bb in ((TALL, b), (WIDE, b[:3]), (SQUARE, b[:3, 0])):
        def f(a, b):
            x, residuals, rank, s = L.lstsq(a, b)
            return fnp.sum(fnp.sin(x)) + fnp.sum(residuals) + fnp.sum(s)
        fg.check_grads(f, (a, bb), order=2, modes=("fwd", "rev"))
    fg.check_grads(lambda a: fnp.sum(L.eigvalsh(a) ** 3), (SPD,), order=2)
    fg.check_grads(lambda a: fnp.sum(fnp.sin(L.pinv(a, hermitian=True))), (SPD,), order=2)
    x = [rng.standard_normal(s) for s in ((3,), (3, 4), (4, 2), (2, 5))]
    fg.check_grads(lambda *x: fnp.sum(fnp.sin(L.multi_dot(list(x)))), x, order=2)
    a6 = general_matrix(rng, (6, 6)).reshape(2, 3, 6)
    fg.check_grads(lambda a, b: fnp.sum(fnp.sin(L.tensorsolve(a, b))),
                   (a6, rng.standard_normal((2, 3))), order=2)
    fg.check_grads(lambda a, b: fnp.sum(fnp.sin(L.vecdot(a, b)))
                   + fnp.sum(fnp.sin(L.outer(a[0], b))),
                   (rng.standard_normal((2, 3)), rng.standard_normal(3)), order=2)


def test_lstsq_solution_matches_the_normal_equations_derivative():
    """For a full-rank tall problem ``x = (A^T A)^{-1} A^T b``: its gradient, written with
    solve, is the reference."""
    c = rng.standard_normal(3)

    def normal(a, b):
        return fnp.sum(L.solve(a.T @ a, a.T @ b) * c)

    def least_squares(a, b):
        return fnp.sum(L.lstsq(a, b)[0] * c)

    for want, got in zip(fg.grad(normal, (0, 1))(TALL, B_TALL[:, 0]),
                         fg.grad(least_squares, (0, 1))(TALL, B_TALL[:, 0])):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gradients_of_singular_values_stay_finite_where_they_repeat():
    eye = np.eye(3)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(L.svdvals(a)))(eye), eye, atol=1e-14)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(L.svd(a)[1] ** 2))(eye), 2 * eye,
                               atol=1e-14)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(L.pinv(a)))(eye),
                               -np.ones((3, 3)), atol=1e-13)
    # The singular vectors' derivative is undefined there: inf/nan, not an exception.
    with np.errstate(divide="ignore", invalid="ignore"):
        g = fg.grad(lambda a: fnp.sum(L.svd(a)[0] * np.arange(9.0).reshape(3, 3)))(eye)
    assert not np.all(np.isfinite(g))


def test_rank_has_no_derivative():
    with pytest.raises(fg.DisconnectedGradientError):
        fg.grad(lambda a: fnp.sum(L.matrix_rank(a).astype(float)),
                on_disconnected="error")(SQUARE)


# ------------------------------------------------------------------ vmap, jit, compose

def test_vmap_matches_a_loop():
    fns = [lambda a: L.svd(a)[1], lambda a: fnp.abs(L.svd(a, full_matrices=False)[0]),
           lambda a: L.qr(a)[1], L.pinv, L.cond, L.matrix_rank,
           lambda a: L.lstsq(a, B_TALL[:4])[0], lambda a: L.matrix_power(a[..., :3, :], -2),
           lambda a: L.vector_norm(a, ord=1), lambda a: L.matrix_norm(a, ord=-2),
           lambda a: L.multi_dot([a, a.T, a])]
    for fn in fns:
        want = np.stack([np.asarray(fn(a)) for a in STACK])
        got = fg.vmap(fn)(STACK)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
    per_example = fg.vmap(fg.grad(lambda a: fnp.sum(L.svdvals(a))))(STACK)
    u, _, vh = np.linalg.svd(STACK, full_matrices=False)
    np.testing.assert_allclose(per_example, u @ vh, rtol=1e-11, atol=1e-12)


def test_jit_of_derivatives():
    def f(a, b):
        u, s, vh = L.svd(a, full_matrices=False)
        q, r = L.qr(a)
        x = L.lstsq(a, b)[0]
        return (fnp.sum(s) + fnp.sum(fnp.abs(u) * 0.1) + fnp.sum(r * r) + fnp.sum(x * x)
                + L.cond(a) + fnp.sum(L.pinv(a)))

    g = fg.jit(fg.grad(f, (0, 1)))
    want = fg.grad(f, (0, 1))(TALL, B_TALL)
    for got, expected in zip(g(TALL, B_TALL), want):
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
    hessian = fg.jit(fg.hessian(lambda a: fnp.sum(L.svdvals(a) ** 3)))(SQUARE)
    np.testing.assert_allclose(hessian, fg.hessian(lambda a: fnp.sum(L.svdvals(a) ** 3))(SQUARE),
                               rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ errors

def test_errors():
    with pytest.raises(ValueError, match="unrecognized mode 'x'"):
        _traced(lambda a: L.qr(a, "x"))(SQUARE)
    # mode='raw' runs LAPACK on the host: NumPy's numbers traced and under jit and vmap, and
    # a clear error under grad (it has no derivative)
    for got in (_traced(lambda a: L.qr(a, "raw"))(STACK), fg.jit(lambda a: L.qr(a, "raw"))(STACK),
                fg.vmap(lambda a: L.qr(a, "raw"))(STACK)):
        for g, w in zip(got, np.linalg.qr(STACK, mode="raw")):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
    with pytest.raises(TypeError, match=r"qr\(mode='raw'\) has no derivative"):
        fg.grad(lambda a: fnp.sum(L.qr(a, "raw")[1]))(SQUARE)
    with pytest.raises(np.linalg.LinAlgError, match="at least two dimensions"):
        _traced(L.svd)(np.ones(3))
    with pytest.raises(fg.ShapeError, match=r"svd: the matrix has dtype"):
        fg.make_ir(lambda a: la.svd(a > 0))(SQUARE)
    with pytest.raises(np.linalg.LinAlgError, match="a must be 2-d"):
        _traced(L.lstsq)(STACK, B_TALL)
    with pytest.raises(TypeError, match="exponent must be an integer"):
        _traced(lambda a: L.matrix_power(a, 1.5))(SQUARE)
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        _traced(lambda a: L.matrix_power(a, 2))(TALL)
    with pytest.raises(ValueError, match="one-dimensional"):
        _traced(L.outer)(SQUARE, SQUARE)
    with pytest.raises(ValueError, match="3-vectors"):
        _traced(L.cross)(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 2-d"):
        _traced(L.matrix_transpose)(np.ones(3))
    with pytest.raises(TypeError, match="rcond must be a Python or NumPy number"):
        fg.grad(lambda a, r: fnp.sum(L.pinv(a, r)), (0, 1))(SQUARE, 0.1)
    with pytest.raises(fg.ShapeError, match="hermitian=True the matrix must be square|square"):
        _traced(lambda a: L.pinv(a, hermitian=True))(TALL)


# ------------------------------------------------------------------------------ torch

TORCH_CASES = [
    ("svdvals", lambda a: fnp.sum(fnp.sin(L.svdvals(a))),
     lambda t, a: torch_sum(t.sin(t.linalg.svdvals(a)))),
    ("svd_vectors", lambda a: fnp.sum(fnp.sin(L.svd(a, full_matrices=False)[0] @
                                              L.svd(a, full_matrices=False)[2]) * 0.5)
     + fnp.sum(L.svd(a, full_matrices=False)[1] ** 2),
     lambda t, a: torch_sum(t.sin(t.linalg.svd(a, full_matrices=False)[0]
                                  @ t.linalg.svd(a, full_matrices=False)[2]) * 0.5)
     + torch_sum(t.linalg.svd(a, full_matrices=False)[1] ** 2)),
    ("qr", lambda a: fnp.sum(fnp.sin(L.qr(a)[0])) + fnp.sum(L.qr(a)[1] ** 2),
     lambda t, a: torch_sum(t.sin(t.linalg.qr(a)[0])) + torch_sum(t.linalg.qr(a)[1] ** 2)),
    ("pinv", lambda a: fnp.sum(fnp.sin(L.pinv(a))),
     lambda t, a: torch_sum(t.sin(t.linalg.pinv(a)))),
    ("cond", lambda a: fnp.sum(L.cond(a)), lambda t, a: torch_sum(t.linalg.cond(a))),
]


def torch_sum(x):
    return x.sum()


@pytest.mark.parametrize("name", list(MATRICES))
@pytest.mark.parametrize("fn, torch_fn", [c[1:] for c in TORCH_CASES],
                         ids=[c[0] for c in TORCH_CASES])
def test_reverse_mode_matches_torch(fn, torch_fn, name):
    torch = pytest.importorskip("torch")
    a = MATRICES[name]
    if torch_fn is TORCH_CASES[2][2] and a.shape[-2] < a.shape[-1]:
        pytest.skip("torch.linalg.qr has no derivative for wide matrices")
    tensor = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    value = torch_fn(torch, tensor)
    (want,) = torch.autograd.grad(value, tensor)
    got_value, got = fg.value_and_grad(fn)(a)
    np.testing.assert_allclose(got_value, value.item(), rtol=1e-12)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)


# --------------------------------------------------------------------------- coverage

# jax.numpy.linalg's public callables (written here, not imported from JAX).
JAX_LINALG = """cholesky cond cross det diagonal eig eigh eigvals eigvalsh inv lstsq matmul
matrix_norm matrix_power matrix_rank matrix_transpose multi_dot norm outer pinv qr slogdet
solve svd svdvals tensordot tensorinv tensorsolve trace vecdot vector_norm""".split()
NOT_YET: set = set()


def test_jax_numpy_linalg_coverage():
    missing = sorted(name for name in JAX_LINALG if not callable(getattr(L, name, None)))
    assert missing == sorted(NOT_YET), f"fnp.linalg lacks {missing}"
    assert set(L.__all__) >= set(JAX_LINALG) - NOT_YET
