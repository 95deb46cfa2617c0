"""First and second derivatives of representative functions against torch.autograd (float64).

Each case is one function written twice, with ``funcgrad.numpy`` and with ``torch``; the
gradient with respect to every argument and every block of the Hessian must agree. Where
the derivative has a short closed form, it is checked against that too.
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12


def _logsumexp(x, axis):
    top = fnp.max(x, axis=axis, keepdims=True)
    return fnp.log(fnp.sum(fnp.exp(x - top), axis=axis, keepdims=True)) + top


rng = np.random.default_rng(1234)
ONE_HOT = np.eye(5)[[0, 3, 1, 3]]
MLP_X, MLP_Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
WEIGHTS_3 = np.array([1.0, -2.0, 0.5])


def _t(value):
    return torch.as_tensor(value, dtype=torch.float64)


# (id, funcgrad function, torch function, arguments)
CASES = [
    ("elementwise_chain",
     lambda x: fnp.sum(fnp.sin(x) * fnp.exp(-x * x) + fnp.log1p(x * x) * fnp.tanh(x)
                       + fnp.sqrt(x * x + 1.0) / (2.0 + fnp.cos(x)) + fnp.arctan(x) ** 3),
     lambda x: torch.sum(torch.sin(x) * torch.exp(-x * x) + torch.log1p(x * x) * torch.tanh(x)
                         + torch.sqrt(x * x + 1.0) / (2.0 + torch.cos(x))
                         + torch.arctan(x) ** 3),
     (rng.uniform(-2, 2, 5),)),
    ("softmax_cross_entropy",
     lambda z: fnp.mean(_logsumexp(z, 1)[:, 0] - fnp.sum(ONE_HOT * z, axis=1)),
     lambda z: torch.mean(torch.logsumexp(z, 1) - torch.sum(_t(ONE_HOT) * z, 1)),
     (rng.standard_normal((4, 5)),)),
    ("mlp",
     lambda w1, b1, w2: fnp.mean((fnp.tanh(MLP_X @ w1 + b1) @ w2 - MLP_Y) ** 2),
     lambda w1, b1, w2: torch.mean((torch.tanh(_t(MLP_X) @ w1 + b1) @ w2 - _t(MLP_Y)) ** 2),
     (rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((4, 2)))),
    ("max_with_ties",
     lambda x: fnp.sum(fnp.max(x, axis=1) * WEIGHTS_3) + fnp.sum(fnp.amax(x, axis=0) ** 2),
     lambda x: torch.sum(torch.amax(x, 1) * _t(WEIGHTS_3)) + torch.sum(torch.amax(x, 0) ** 2),
     (np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, -1.0, 0.5]]),)),
    ("abs_at_zero",
     lambda x: fnp.sum(fnp.abs(x) * WEIGHTS_3 + fnp.abs(x) ** 3 + fnp.sign(x) * x ** 2),
     lambda x: torch.sum(torch.abs(x) * _t(WEIGHTS_3) + torch.abs(x) ** 3
                         + torch.sign(x) * x ** 2),
     (np.array([0.0, -1.5, 0.7]),)),
    ("pow",
     lambda x, y: fnp.sum(x ** y + x ** 2.5 + x ** 3 + fnp.power(y, 2.0) * x ** 0.5),
     lambda x, y: torch.sum(x ** y + x ** 2.5 + x ** 3 + torch.pow(y, 2.0) * x ** 0.5),
     (rng.uniform(0.5, 2.0, 4), rng.uniform(-1.5, 2.5, 4))),
    ("pow_at_zero",
     lambda x: fnp.sum(x ** 2.5 + x ** 2.0 + x ** 0.0 + fnp.power(x, 3) + x ** 0),
     lambda x: torch.sum(x ** 2.5 + x ** 2.0 + x ** 0.0 + torch.pow(x, 3) + x ** 0),
     (np.array([0.0, 0.0, 1.5]),)),
    ("maximum_minimum_ties",
     lambda a, b: fnp.sum(fnp.maximum(a, b) * WEIGHTS_3 + fnp.minimum(a, b) ** 2),
     lambda a, b: torch.sum(torch.maximum(a, b) * _t(WEIGHTS_3) + torch.minimum(a, b) ** 2),
     (np.array([1.0, 2.0, -0.5]), np.array([1.0, -1.0, -0.5]))),
    ("prod_cumprod_with_a_zero",
     lambda x: fnp.prod(x) + fnp.sum(fnp.cumprod(x) * np.arange(1.0, 5.0)),
     lambda x: torch.prod(x) + torch.sum(torch.cumprod(x, 0) * torch.arange(1.0, 5.0,
                                                                            dtype=x.dtype)),
     (np.array([1.5, -2.0, 0.0, 3.0]),)),
    ("logaddexp_hypot_atan2",
     lambda a, b: fnp.sum(fnp.logaddexp(a, b) + fnp.hypot(a, b) * fnp.arctan2(a, b)),
     lambda a, b: torch.sum(torch.logaddexp(a, b) + torch.hypot(a, b) * torch.atan2(a, b)),
     (np.array([0.3, -1.0, 2.0]), np.array([0.3, 0.5, 1.5]))),
    ("clip_at_the_bounds",
     lambda x: fnp.sum(fnp.clip(x, -1.0, 1.0) ** 2 * WEIGHTS_3[0] + fnp.clip(x, -1.0, 1.0)),
     lambda x: torch.sum(torch.clamp(x, -1.0, 1.0) ** 2 * WEIGHTS_3[0] + torch.clamp(x, -1, 1)),
     (np.array([-2.0, -1.0, 0.25, 1.0, 3.0]),)),
    ("var_std",
     lambda x: fnp.var(x) + fnp.sum(fnp.std(x, axis=0)) + fnp.sum(fnp.mean(x, axis=1) ** 2),
     lambda x: torch.var(x, correction=0) + torch.sum(torch.std(x, 0, correction=0))
     + torch.sum(torch.mean(x, 1) ** 2),
     (rng.standard_normal((3, 4)),)),
    ("relu_and_sigmoid",
     lambda x: fnp.sum(fnp.where(x > 0, x, 0.0) * x + 1.0 / (1.0 + fnp.exp(-x))),
     lambda x: torch.sum(torch.relu(x) * x + torch.sigmoid(x)),
     (np.array([-1.0, 0.0, 0.5, 2.0]),)),
    ("sinc_and_matmul",
     lambda a, b: fnp.sum(fnp.sinc(a @ b) + fnp.cos(a) @ fnp.exp(b)),
     lambda a, b: torch.sum(torch.sinc(a @ b) + torch.cos(a) @ torch.exp(b)),
     (rng.standard_normal((2, 3)), rng.standard_normal((3, 4)))),
]


CASE = {case[0]: case for case in CASES}


def _torch_derivatives(fn, args):
    tensors = tuple(_t(a).requires_grad_(True) for a in args)
    grads = torch.autograd.grad(fn(*tensors), tensors)
    hessian = torch.autograd.functional.hessian(fn, tuple(_t(a) for a in args))
    return ([g.numpy() for g in grads],
            [[block.numpy() for block in row] for row in hessian])


@pytest.mark.parametrize("name, fn, torch_fn, args", CASES, ids=[c[0] for c in CASES])
def test_value_and_derivatives_match_torch(name, fn, torch_fn, args):
    argnums = tuple(range(len(args)))
    expected_value = torch_fn(*[_t(a) for a in args]).item()
    expected_grads, expected_hessian = _torch_derivatives(torch_fn, args)

    value, grads = fg.value_and_grad(fn, argnums)(*args)
    np.testing.assert_allclose(value, expected_value, rtol=RTOL)
    for k, (got, want) in enumerate(zip(grads, expected_grads)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient with respect to argument {k}")

    # hessian is jacfwd of jacrev; jacrev of grad is reverse over reverse.
    for how, hessian in (("hessian", fg.hessian(fn, argnums)(*args)),
                         ("jacrev(grad)", fg.jacrev(fg.grad(fn, argnums), argnums)(*args))):
        for i, row in enumerate(expected_hessian):
            for j, want in enumerate(row):
                np.testing.assert_allclose(hessian[i][j], want, rtol=RTOL, atol=ATOL,
                                           err_msg=f"{how} block ({i}, {j})")


@pytest.mark.parametrize("name, fn, torch_fn, args", CASES, ids=[c[0] for c in CASES])
def test_forward_over_reverse_matches_torch(name, fn, torch_fn, args):
    """A Hessian-vector product by jvp of grad, against torch's double backward."""
    argnums = tuple(range(len(args)))
    directions = tuple(np.random.default_rng(7).standard_normal(np.shape(a)) for a in args)
    _, hvp = fg.jvp(lambda *a: fg.grad(fn, argnums)(*a), args, directions)

    tensors = tuple(_t(a).requires_grad_(True) for a in args)
    grads = torch.autograd.grad(torch_fn(*tensors), tensors, create_graph=True)
    inner = sum(torch.sum(g * _t(d)) for g, d in zip(grads, directions))
    expected = torch.autograd.grad(inner, tensors, allow_unused=True)
    for k, (got, want) in enumerate(zip(hvp, expected)):
        want = np.zeros(np.shape(args[k])) if want is None else want.detach().numpy()
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL,
                                   err_msg=f"Hessian-vector product, argument {k}")


# ----------------------------------------------------------------------- closed forms

def test_softmax_cross_entropy_closed_form():
    _, fn, _, (logits,) = CASE["softmax_cross_entropy"]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n = logits.shape[0]
    np.testing.assert_allclose(fg.grad(fn)(logits), (probabilities - ONE_HOT) / n, rtol=1e-12)
    hessian = fg.hessian(fn)(logits)
    for row, p in enumerate(probabilities):
        expected = (np.diag(p) - np.outer(p, p)) / n
        np.testing.assert_allclose(hessian[row, :, row, :], expected, rtol=1e-10, atol=1e-15)
        others = np.delete(hessian[row], row, axis=1)
        np.testing.assert_array_equal(others, np.zeros_like(others))


def test_elementwise_closed_form():
    x = np.linspace(-2.0, 2.0, 7)

    def f(v):
        return fnp.sum(fnp.sin(v) * fnp.exp(-v * v))

    gauss = np.exp(-x * x)
    first = np.cos(x) * gauss - 2 * x * np.sin(x) * gauss
    second = (-np.sin(x) - 4 * x * np.cos(x) + (4 * x * x - 2) * np.sin(x)) * gauss
    np.testing.assert_allclose(fg.grad(f)(x), first, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.diag(fg.hessian(f)(x)), second, rtol=1e-12, atol=1e-15)


def test_pow_closed_form():
    x, y = np.array([0.5, 1.0, 2.0]), np.array([-1.0, 2.5, 0.5])
    gx, gy = fg.grad(lambda a, b: fnp.sum(a ** b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y * x ** (y - 1), rtol=1e-14)
    np.testing.assert_allclose(gy, np.log(x) * x ** y, rtol=1e-14)
    hxy = fg.jacfwd(lambda b: fg.grad(lambda a: fnp.sum(a ** b))(x))(y)
    np.testing.assert_allclose(np.diag(hxy), x ** (y - 1) * (1 + y * np.log(x)), rtol=1e-14)


def test_mlp_gradient_closed_form():
    _, fn, _, (w1, b1, w2) = CASE["mlp"]
    hidden = np.tanh(MLP_X @ w1 + b1)
    residual = hidden @ w2 - MLP_Y
    d_out = 2 * residual / residual.size
    d_hidden = (d_out @ w2.T) * (1 - hidden ** 2)
    grads = fg.grad(fn, argnums=(0, 1, 2))(w1, b1, w2)
    for got, want in zip(grads, (MLP_X.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_out)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def _eigh_losses(lib):
    """Losses of ``eigh``'s results that do not depend on the eigenvectors' signs."""
    weights = np.array([0.3, -1.2, 0.7, 2.0])
    if lib is torch:
        weights = torch.tensor(weights)
    return [lambda w, v: (w * weights).sum(),
            lambda w, v: (v[:, 0] ** 2 * weights).sum() + (v[:, 2] ** 2 * w).sum(),
            lambda w, v: ((v[:, 1:2] * v[:, 1]) * weights).sum()]


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("which", range(3))
def test_eigh_of_a_nonsymmetric_input(uplo, which):
    """NumPy and torch read one triangle: ``eigh(A)`` is a function of that triangle alone.
    funcgrad's gradient is the exact derivative of that function (zero on the triangle not
    read, checked against central differences); torch returns the symmetric gradient. The two
    agree on every symmetric direction: torch's is the symmetric part of funcgrad's."""
    a = np.random.default_rng(7).normal(size=(4, 4))
    ours_loss = _eigh_losses(fnp)[which]

    def f(m):
        return ours_loss(*fnp.linalg.eigh(m, UPLO=uplo))

    fg.check_grads(f, (a,), order=2)
    ours = fg.grad(f)(a)
    unread = np.triu(ours, 1) if uplo == "L" else np.tril(ours, -1)
    assert not np.any(unread)
    tensor = torch.tensor(a, requires_grad=True)
    _eigh_losses(torch)[which](*torch.linalg.eigh(tensor, UPLO=uplo)).backward()
    np.testing.assert_allclose((ours + ours.T) / 2, tensor.grad.numpy(), rtol=RTOL, atol=ATOL)
    direction = np.random.default_rng(8).normal(size=(4, 4))
    direction = direction + direction.T
    _, tangent = fg.jvp(f, (a,), (direction,))
    assert tangent == pytest.approx(float(np.sum(tensor.grad.numpy() * direction)), rel=1e-10)
