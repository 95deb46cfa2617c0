"""``fnp.linalg``: values against NumPy, derivatives against torch.linalg and central
differences (second order, both modes), batching, dtypes, and the error messages.

The primitives themselves are rows of the tables in tests/test_primitives.py (values, shape
rules, check_grads, vmap, jit); here the user-facing functions are checked with NumPy's
signatures: batches, broadcasting, ``UPLO``, ``upper``, and every ``ord`` of ``norm``.
"""
from __future__ import annotations

import numpy as np
import pytest
from linalg_reference import assert_tree_close as _assert_tree_close
from linalg_reference import general_matrix, orthogonal, symmetric_positive_definite
from linalg_reference import traced as _traced

import funcgrad as fg
import funcgrad.numpy as fnp

rng = np.random.default_rng(20240607)
A3 = general_matrix(rng, (3, 3))
A_STACK = general_matrix(rng, (2, 3, 3))
B32 = rng.standard_normal((3, 2))
SPD = symmetric_positive_definite(rng, 3)
SPD_STACK = np.stack([symmetric_positive_definite(rng, 3) for _ in range(2)])
UPPER_NOISE = np.triu(rng.uniform(-3.0, 3.0, (3, 3)), 1)
X = rng.standard_normal((2, 3, 4))


def _fixed_signs(v):
    """Eigenvectors with a positive first entry: a function of the matrix."""
    return v * fnp.sign(v[..., :1, :])


# ------------------------------------------------------------------------------- values

VALUE_CASES = [
    ("inv", fnp.linalg.inv, np.linalg.inv, (A_STACK,)),
    ("det", fnp.linalg.det, np.linalg.det, (A_STACK,)),
    ("slogdet", fnp.linalg.slogdet, np.linalg.slogdet, (A_STACK,)),
    ("solve_matrix", fnp.linalg.solve, np.linalg.solve, (A3, B32)),
    ("solve_vector", fnp.linalg.solve, np.linalg.solve, (A3, B32[:, 0])),
    ("solve_vector_stack", fnp.linalg.solve, np.linalg.solve, (A_STACK, B32[:, 0])),
    ("solve_broadcast_a", fnp.linalg.solve, np.linalg.solve, (A3, rng.standard_normal((4, 3, 2)))),
    ("solve_broadcast_b", fnp.linalg.solve, np.linalg.solve, (A_STACK[:, None], B32)),
    ("cholesky", fnp.linalg.cholesky, np.linalg.cholesky, (SPD_STACK,)),
    ("cholesky_upper", lambda a: fnp.linalg.cholesky(a, upper=True),
     lambda a: np.linalg.cholesky(a, upper=True), (SPD + UPPER_NOISE.T,)),
    ("cholesky_reads_lower", fnp.linalg.cholesky, np.linalg.cholesky, (SPD + UPPER_NOISE,)),
    ("eigh", fnp.linalg.eigh, np.linalg.eigh, (SPD_STACK + UPPER_NOISE,)),
    ("eigh_upper", lambda a: fnp.linalg.eigh(a, UPLO="U"), lambda a: np.linalg.eigh(a, "U"),
     (SPD + UPPER_NOISE.T,)),
    ("integers", fnp.linalg.inv, np.linalg.inv, (np.array([[2, 1], [1, 3]]),)),
]


@pytest.mark.parametrize("fn, numpy_fn, args", [c[1:] for c in VALUE_CASES],
                         ids=[c[0] for c in VALUE_CASES])
def test_values_match_numpy(fn, numpy_fn, args):
    want = numpy_fn(*args)
    _assert_tree_close(fn(*args), want, rtol=0, atol=0)     # concrete: NumPy's own
    _assert_tree_close(_traced(fn)(*args), want)
    _assert_tree_close(fg.jit(fn)(*args), want)


def test_results_are_named_tuples():
    sign, logabsdet = _traced(fnp.linalg.slogdet)(A3)
    result = _traced(fnp.linalg.slogdet)(A3)
    assert result.sign == sign and result.logabsdet == logabsdet
    result = fg.jit(fnp.linalg.eigh)(SPD)
    np.testing.assert_allclose(result.eigenvalues, np.linalg.eigvalsh(SPD), rtol=1e-13)
    assert result.eigenvectors.shape == (3, 3)


def test_float32_stays_float32():
    a32, spd32 = A3.astype(np.float32), SPD.astype(np.float32)

    def f(a, s):
        w, v = fnp.linalg.eigh(s)
        return (fnp.sum(fnp.linalg.inv(a)) + fnp.linalg.det(a) + fnp.linalg.slogdet(a)[1]
                + fnp.sum(fnp.linalg.solve(a, s)) + fnp.sum(fnp.linalg.cholesky(s))
                + fnp.sum(w) + fnp.sum(_fixed_signs(v)) + fnp.linalg.norm(a, 2)
                + fnp.linalg.norm(s, "nuc") + fnp.linalg.norm(a[0], 3))

    value, grads = fg.value_and_grad(f, argnums=(0, 1))(a32, spd32)
    assert value.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    expected = fg.grad(f, argnums=(0, 1))(A3, SPD)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)
    fg.check_grads(f, (a32, spd32), order=1)


# ---------------------------------------------------------------------------------- norm

MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
VECTOR_ORDS = [None, 2, 1, 0, 3, 0.5, -1.5, np.inf, -np.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_matrix_norms_match_numpy(ord):
    for axis, keepdims in (((2, 0), True), ((-1, 1), False), ((1, 2), False)):
        want = np.linalg.norm(X, ord, axis, keepdims)
        got = _traced(lambda x, a=axis, k=keepdims: fnp.linalg.norm(x, ord, a, k))(X)
        _assert_tree_close(got, want, rtol=1e-13)
    _assert_tree_close(_traced(lambda x: fnp.linalg.norm(x, ord))(X[0]),
                       np.linalg.norm(X[0], ord), rtol=1e-13)


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=str)
def test_vector_norms_match_numpy(ord):
    for axis, keepdims in ((1, True), (-1, False), (0, False)):
        want = np.linalg.norm(X, ord, axis, keepdims)
        got = _traced(lambda x, a=axis, k=keepdims: fnp.linalg.norm(x, ord, a, k))(X)
        _assert_tree_close(got, want, rtol=1e-13)
    _assert_tree_close(_traced(lambda x: fnp.linalg.norm(x, ord))(X[0, 0]),
                       np.linalg.norm(X[0, 0], ord), rtol=1e-13)


def test_norm_of_any_array_without_axis_is_the_flat_two_norm():
    for keepdims in (False, True):
        _assert_tree_close(_traced(lambda x, k=keepdims: fnp.linalg.norm(x, keepdims=k))(X),
                           np.linalg.norm(X, keepdims=keepdims), rtol=1e-13)


# Entries of |x| in [0.5, 2], so that the non-smooth points of every ord are far away.
SEPARATED = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.5, 2.0, (3, 4))


@pytest.mark.parametrize("ord", [o for o in MATRIX_ORDS if o not in (1, -1, np.inf, -np.inf)]
                         + [1, np.inf], ids=str)
def test_matrix_norm_derivatives(ord):
    # 1 and inf: the largest column / row sums of SEPARATED are distinct.
    fg.check_grads(lambda x: fnp.linalg.norm(x, ord), (SEPARATED,), order=2)
    fg.check_grads(lambda x: fnp.linalg.norm(x, ord, axis=(1, 0), keepdims=True), (X[0],),
                   order=1)


@pytest.mark.parametrize("ord", [None, 1, 3, 0.5, -1.5, np.inf, -np.inf, 0], ids=str)
def test_vector_norm_derivatives(ord):
    fg.check_grads(lambda x: fnp.linalg.norm(x, ord, axis=1), (SEPARATED,), order=2)


def test_norm_of_zero_has_a_zero_derivative():
    for ord, x in ((None, np.zeros(3)), (2, np.zeros(3)), (3, np.zeros(3)),
                   ("fro", np.zeros((2, 2))), (None, np.zeros((2, 2)))):
        def f(x, ord=ord):
            return fnp.linalg.norm(x, ord)
        np.testing.assert_array_equal(fg.grad(f)(x), np.zeros_like(x))
        np.testing.assert_array_equal(fg.hessian(f)(x), np.zeros(x.shape * 2))


# ----------------------------------------------------------------------- derivatives

def _symmetric(x):
    """An SPD matrix as a smooth function of an unconstrained one."""
    return x @ fnp.swapaxes(x, -1, -2) + 3.0 * np.eye(x.shape[-1])


ROTATION = orthogonal(rng, 3)
SPREAD = ROTATION @ np.diag([1.0, 3.0, 5.0]) @ ROTATION.T


def _spread(x):
    """A symmetric matrix with eigenvalues near 1, 3 and 5 and eigenvectors near the columns
    of ROTATION (whose first row is far from zero), for eigh."""
    return (x + fnp.swapaxes(x, -1, -2)) * 0.1 + SPREAD


C = rng.standard_normal((3, 3))
GRAD_CASES = [
    ("inv", lambda a: fnp.sum(fnp.linalg.inv(a) * C), (A_STACK,)),
    ("det", lambda a: fnp.sum(fnp.linalg.det(a) ** 2), (A_STACK,)),
    ("slogdet", lambda a: fnp.sum(fnp.linalg.slogdet(a)[1] * fnp.linalg.slogdet(a)[0]),
     (A_STACK,)),
    ("solve", lambda a, b: fnp.sum(fnp.linalg.solve(a, b) ** 2), (A_STACK, B32)),
    ("solve_vector", lambda a, b: fnp.sum(fnp.sin(fnp.linalg.solve(a, b))), (A3, B32[:, 1])),
    ("cholesky", lambda x: fnp.sum(fnp.linalg.cholesky(_symmetric(x)) * C), (A_STACK,)),
    ("cholesky_upper", lambda x: fnp.sum(fnp.linalg.cholesky(_symmetric(x), upper=True) * C),
     (A3,)),
    ("eigh", lambda x: fnp.sum(fnp.linalg.eigh(_spread(x))[0] * C[0])
     + fnp.sum(_fixed_signs(fnp.linalg.eigh(_spread(x))[1]) * C), (A_STACK,)),
    ("eigh_upper", lambda x: fnp.sum(fnp.linalg.eigh(_spread(x), "U")[0] ** 2)
     + fnp.sum(_fixed_signs(fnp.linalg.eigh(_spread(x), "U")[1]) * C), (A3,)),
]


@pytest.mark.parametrize("fn, args", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_check_grads_second_order(fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_cholesky_and_eigh_are_functions_of_the_lower_triangle():
    noisy = SPD + UPPER_NOISE
    for f in (lambda a: fnp.sum(fnp.linalg.cholesky(a) * C),
              lambda a: fnp.sum(fnp.linalg.eigh(a)[0] * C[0])):
        fg.check_grads(f, (noisy,), order=2)
        assert not np.any(np.triu(fg.grad(f)(noisy), 1))
    g = fg.grad(lambda a: fnp.sum(fnp.linalg.eigh(a, "U")[0] * C[0]))(SPD + UPPER_NOISE.T)
    assert not np.any(np.tril(g, -1))


def test_eigenvalue_gradients_stay_finite_at_repeated_eigenvalues():
    """The eigenvector derivative needs distinct eigenvalues; one of the eigenvalues alone
    does not (first order)."""
    eye = np.eye(3)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(fnp.linalg.eigh(a)[0] ** 2))(eye),
                               2 * eye, atol=1e-14)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.linalg.norm(a, "nuc"))(eye), eye,
                               atol=1e-14)
    np.testing.assert_allclose(fg.jacrev(lambda a: fnp.linalg.eigh(a)[0])(eye).sum(0), eye,
                               atol=1e-14)


def test_transformations_compose():
    def f(a):
        return fnp.linalg.slogdet(a)[1] + fnp.sum(fnp.linalg.inv(a) @ a) * 0.5

    per_matrix = fg.vmap(fg.grad(f))(A_STACK)
    np.testing.assert_allclose(per_matrix, np.linalg.inv(A_STACK).transpose(0, 2, 1),
                               rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.vmap(fg.grad(f)))(A_STACK), per_matrix, rtol=1e-12)
    hessian = fg.hessian(lambda a: fnp.linalg.slogdet(a)[1])(A3)
    inverse = np.linalg.inv(A3)
    np.testing.assert_allclose(hessian, -np.einsum("li,jk->ijkl", inverse, inverse),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fg.vmap(fnp.linalg.solve, in_axes=(None, 1), out_axes=1)(
        A3, B32), np.linalg.solve(A3, B32), rtol=1e-12)


# ------------------------------------------------------------------------------ torch

torch_cases = [
    ("inv", lambda a: fnp.sum(fnp.linalg.inv(a) * C), "lambda a: torch.sum(L.inv(a) * c)",
     (A_STACK,)),
    ("det", lambda a: fnp.sum(fnp.linalg.det(a) ** 3), "lambda a: torch.sum(L.det(a) ** 3)",
     (A_STACK,)),
    ("slogdet", lambda a: fnp.sum(fnp.linalg.slogdet(a)[1] ** 2),
     "lambda a: torch.sum(L.slogdet(a)[1] ** 2)", (A_STACK,)),
    ("solve", lambda a, b: fnp.sum(fnp.linalg.solve(a, b) ** 2),
     "lambda a, b: torch.sum(L.solve(a, b) ** 2)", (A_STACK, B32)),
    ("cholesky", lambda x: fnp.sum(fnp.linalg.cholesky(_symmetric(x)) * C),
     "lambda x: torch.sum(L.cholesky(sym(x)) * c)", (A_STACK,)),
    ("eigh", lambda x: fnp.sum(fnp.linalg.eigh(_spread(x))[0] ** 2 * C[0])
     + fnp.sum(_fixed_signs(fnp.linalg.eigh(_spread(x))[1]) * C),
     "lambda x: torch.sum(L.eigh(spread(x))[0] ** 2 * c[0]) "
     "+ torch.sum(signs(L.eigh(spread(x))[1]) * c)", (A3,)),
    ("norms", lambda x: fnp.linalg.norm(x, 2) + fnp.linalg.norm(x, "nuc") * 0.5
     + fnp.linalg.norm(x, -2) ** 2 + fnp.linalg.norm(x, "fro") + fnp.linalg.norm(x[0], 3),
     "lambda x: L.matrix_norm(x, 2) + L.matrix_norm(x, 'nuc') * 0.5 + L.matrix_norm(x, -2) ** 2"
     " + L.matrix_norm(x, 'fro') + L.vector_norm(x[0], 3)", (SEPARATED,)),
]


@pytest.mark.parametrize("fn, torch_source, args", [c[1:] for c in torch_cases],
                         ids=[c[0] for c in torch_cases])
def test_gradients_and_hessians_match_torch(fn, torch_source, args):
    torch = pytest.importorskip("torch")

    def t(value):
        return torch.as_tensor(value, dtype=torch.float64)

    namespace = {"torch": torch, "L": torch.linalg, "c": t(C),
                 "sym": lambda x: x @ x.transpose(-1, -2) + 3.0 * torch.eye(x.shape[-1],
                                                                             dtype=x.dtype),
                 "spread": lambda x: (x + x.transpose(-1, -2)) * 0.1 + t(SPREAD),
                 "signs": lambda v: v * torch.sign(v[..., :1, :])}
    torch_fn = eval(torch_source, namespace)
    tensors = tuple(t(a).requires_grad_(True) for a in args)
    argnums = tuple(range(len(args)))
    value, grads = fg.value_and_grad(fn, argnums)(*args)
    expected = torch.autograd.grad(torch_fn(*tensors), tensors)
    np.testing.assert_allclose(value, torch_fn(*[t(a) for a in args]).item(), rtol=1e-12)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)
    hessian = fg.hessian(fn, argnums)(*args)
    expected = torch.autograd.functional.hessian(torch_fn, tuple(t(a) for a in args))
    for i, row in enumerate(expected):
        for j, want in enumerate(row):
            np.testing.assert_allclose(hessian[i][j], want.numpy(), rtol=1e-8, atol=1e-10,
                                       err_msg=f"Hessian block ({i}, {j})")


# ------------------------------------------------------------------------------ errors

def _grad_of(fn):
    return fg.grad(lambda *args: fnp.sum(fn(*args)))


@pytest.mark.parametrize("fn, args, message", [
    (fnp.linalg.inv, (np.ones((2, 3)),),
     r"inv: the matrix must be square in its last two axes, got shape \(2, 3\) "
     r"\(operands: f64\[2,3\]\)"),
    (fnp.linalg.det, (np.ones(3),), r"det: the matrix must have at least 2 axes"),
    (lambda a: fnp.linalg.slogdet(a)[1], (np.ones((2, 4, 3)),), r"slogdet: .*\(2, 4, 3\)"),
    (fnp.linalg.cholesky, (np.ones((3, 2)),), r"cholesky: .*square.*\(3, 2\)"),
    (lambda a: fnp.linalg.eigh(a)[0], (np.ones((1, 2)),), r"eigh: .*square.*\(1, 2\)"),
    (fnp.linalg.solve, (np.eye(3), np.ones((2, 1))),
     r"solve: the right-hand side must have shape \(3, 'k'\) to match the matrix \(3, 3\), "
     r"got \(2, 1\)"),
    (fnp.linalg.solve, (np.eye(3)[None].repeat(2, 0), np.ones((3, 3, 1))),
     r"solve: the leading \(batch\) axes of a \(2, 3, 3\) and b \(3, 3, 1\) do not broadcast"),
])
def test_shape_errors_name_the_primitive_and_the_shapes(fn, args, message):
    with pytest.raises(fg.ShapeError, match=message) as info:
        _grad_of(fn)(*args)
    assert "test_linalg.py" in str(info.value)   # points at the user's line


def test_other_errors():
    with pytest.raises(np.linalg.LinAlgError):    # not positive definite, found by LAPACK
        _grad_of(fnp.linalg.cholesky)(-np.eye(2))
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U'"):
        _grad_of(lambda a: fnp.linalg.eigh(a, "X")[0])(SPD)
    with pytest.raises(ValueError, match="invalid norm order 'fro' for vectors"):
        _grad_of(lambda x: fnp.linalg.norm(x, "fro"))(np.ones(3))
    with pytest.raises(ValueError, match="invalid norm order 3 for matrices"):
        _grad_of(lambda x: fnp.linalg.norm(x, 3))(np.ones((2, 2)))
    with pytest.raises(ValueError, match="a norm takes 1 .vector. or 2 .matrix."):
        _grad_of(lambda x: fnp.linalg.norm(x, axis=(0, 1, 2)))(X)
    with pytest.raises(ValueError, match="x must be 1-d or 2-d"):
        _grad_of(lambda x: fnp.linalg.norm(x, 1))(X)
    with pytest.raises(ValueError, match="repeats an axis"):
        _grad_of(lambda x: fnp.linalg.norm(x, axis=(0, -3)))(X)
    with pytest.raises(TypeError, match="'axis' must be None, an integer or a tuple"):
        _grad_of(lambda x: fnp.linalg.norm(x, axis=[0]))(X)
