"""Python control flow on values under differentiation, as PyTorch, autograd and JAX's
``grad`` run it: ``if``/``while``/``for ... break``, recursion, ``int()`` indices and
``.item()`` follow the numbers of concrete inputs, and the derivative follows the path taken.
Where values are not known (``jit``, ``vmap``, loop bodies) the error names the user's line.
"""
import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def piecewise(x):
    if x > 0:
        return x ** 3
    return fnp.sin(x)


def band(x):
    # and / or / not on traced comparisons
    if x > -1 and not x > 1:
        return x * x
    if x <= -1 or x > 5:
        return -2 * x - 1
    return 2 * x - 1


def newton_sqrt(a, tol=1e-13):
    x = a
    while abs(x * x - a) > tol:
        x = 0.5 * (x + a / x)
    return x


def early_stopped(x):
    total = 0.0
    for i in range(50):
        total = total + x ** 2 / (i + 1)
        if total > 3.0:
            break
    return total


def halve_until_small(x):   # recursion on a value
    if x < 0.1:
        return fnp.sin(x)
    return halve_until_small(x / 2) * 2


def third_orders(f):
    """The third derivative of scalar ``f`` in reverse, forward and mixed mode."""
    return {"rev": fg.grad(fg.grad(fg.grad(f))),
            "fwd": fg.jacfwd(fg.jacfwd(fg.jacfwd(f))),
            "mixed": fg.grad(fg.jacfwd(fg.grad(f)))}


PIECEWISE = [   # f, x, the value and first three derivatives by hand
    (piecewise, 1.5, [1.5 ** 3, 3 * 1.5 ** 2, 6 * 1.5, 6.0]),
    (piecewise, -0.7, [math.sin(-0.7), math.cos(-0.7), -math.sin(-0.7), -math.cos(-0.7)]),
    (band, 0.5, [0.25, 1.0, 2.0, 0.0]),
    (band, -3.0, [5.0, -2.0, 0.0, 0.0]),
    (band, 2.0, [3.0, 2.0, 0.0, 0.0]),
    # 1 -> 0.5 -> 0.25 -> 0.125 -> 0.0625: four halvings, 16 sin(x / 16)
    (halve_until_small, 1.0, [16 * math.sin(1 / 16), math.cos(1 / 16), -math.sin(1 / 16) / 16,
                              -math.cos(1 / 16) / 256]),
]


@pytest.mark.parametrize("mode", ["rev", "fwd", "mixed"])
@pytest.mark.parametrize("f, x, expected", PIECEWISE,
                         ids=[f"{row[0].__name__}@{row[1]}" for row in PIECEWISE])
def test_each_branch_to_third_order(f, x, expected, mode):
    value, first, second, third = expected
    assert float(f(x)) == pytest.approx(value, rel=1e-14)
    assert fg.grad(f)(x) == pytest.approx(first, rel=1e-13, abs=1e-15)
    assert fg.jacfwd(f)(x) == pytest.approx(first, rel=1e-13, abs=1e-15)
    assert fg.grad(fg.grad(f))(x) == pytest.approx(second, rel=1e-13, abs=1e-15)
    assert third_orders(f)[mode](x) == pytest.approx(third, rel=1e-12, abs=1e-15)


def test_while_to_convergence():
    for a in (2.0, 9.0, 0.3):
        assert fg.grad(newton_sqrt)(a) == pytest.approx(0.5 / math.sqrt(a), rel=1e-10)
        assert fg.grad(fg.grad(newton_sqrt))(a) == pytest.approx(-0.25 * a ** -1.5, rel=1e-8)
        value, tangent = fg.jvp(newton_sqrt, (a,), (1.0,))
        assert value == pytest.approx(math.sqrt(a), rel=1e-14)
        assert tangent == pytest.approx(0.5 / math.sqrt(a), rel=1e-10)


def test_for_with_break():
    x = 1.3   # 1.69 * (1 + 1/2) <= 3 < 1.69 * (1 + 1/2 + 1/3): three terms
    harmonic = 1 + 1 / 2 + 1 / 3
    value, slope = fg.value_and_grad(early_stopped)(x)
    assert value == pytest.approx(x * x * harmonic, rel=1e-14)
    assert slope == pytest.approx(2 * x * harmonic, rel=1e-14)
    assert fg.hessian(early_stopped)(x) == pytest.approx(2 * harmonic, rel=1e-14)
    assert fg.grad(early_stopped)(0.1) == pytest.approx(0.2 * sum(1 / (i + 1)
                                                                  for i in range(50)))


def test_int_as_an_index_range_and_slice_bounds():
    table = np.array([10.0, 20.0, 30.0, 40.0])
    assert fg.grad(lambda x: x * table[int(x)])(2.5) == 30.0
    assert fg.grad(lambda x: x * fnp.asarray(table)[int(x)])(1.5) == 20.0

    def power_by_loop(x, n):
        out = 1.0
        for _ in range(n):          # n is traced: __index__ gives its number
            out = out * x
        return out

    assert fg.grad(power_by_loop)(2.0, np.int64(3)) == 12.0
    v = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(
        fg.grad(lambda v: fnp.sum(v[:int(v[2])] ** 2))(v), [6.0, 2.0, 0.0])


def test_item_and_float_are_constants():
    # .item() and float() stop the derivative, as PyTorch's .item() does.
    assert fg.grad(lambda x: x * x.item())(3.0) == 3.0
    assert fg.grad(lambda x: x * float(x))(3.0) == 3.0
    assert fg.grad(lambda x: x ** 2 if x.item() > 1 else x)(3.0) == 6.0
    seen = []
    fg.grad(lambda x: seen.append((repr(x), f"{x:.2f}", x.tolist())) or x)(1.5)
    assert seen == [("Tracer<f64[]>(1.5)", "1.50", 1.5)]


def test_vjp_with_try_and_if():
    def clipped_log(x):
        try:
            if x <= 0:
                raise ValueError("not positive")
            return fnp.log(x)
        except ValueError:
            return x - 1.0

    for x, slope in ((2.0, 0.5), (-1.0, 1.0)):
        out, pullback = fg.vjp(clipped_log, x)
        assert pullback(3.0) == (pytest.approx(3.0 * slope),)
    assert fg.check_grads(clipped_log, (2.0,), order=2) is None


def test_vector_inputs_with_a_norm_test():
    def project_to_ball(v):
        norm = fnp.sqrt(fnp.sum(v * v))
        if norm > 1.0:
            return v / norm
        return v

    outside, inside = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    unit = outside / 5.0
    np.testing.assert_allclose(fg.jacrev(project_to_ball)(outside),
                               (np.eye(2) - np.outer(unit, unit)) / 5.0, rtol=1e-14)
    np.testing.assert_allclose(fg.jacfwd(project_to_ball)(inside), np.eye(2))
    with pytest.raises(ValueError, match="ambiguous"):
        fg.grad(lambda v: fnp.sum(v) if v > 0 else 0.0)(outside)   # as NumPy says


def test_check_grads_runs_value_dependent_code():
    def program(x):
        return piecewise(x) + newton_sqrt(x * x + 1.0) + band(x)

    fg.check_grads(program, (0.8,), order=2)
    fg.check_grads(program, (-0.4,), order=2)


@pytest.mark.parametrize("transform, x", [
    (fg.jit, 1.5), (lambda f: fg.jit(fg.grad(f)), 1.5), (fg.vmap, np.ones(3)),
    (lambda f: fg.vmap(fg.grad(f)), np.ones(3)), (fg.make_ir, 1.5)])
@pytest.mark.parametrize("f", [piecewise, newton_sqrt, early_stopped, halve_until_small])
def test_where_values_are_not_known_the_error_names_the_line(f, transform, x):
    with pytest.raises(fg.ConcretizationError) as info:
        transform(f)(x)
    message = str(info.value)
    assert "test_python_control_flow.py" in message and "fnp.where" in message


def test_loop_bodies_do_not_know_values_even_under_grad():
    def body(i, y):
        return y * 2 if y < 10 else y   # traced once, for every iteration

    with pytest.raises(fg.ConcretizationError, match="test_python_control_flow.py"):
        fg.grad(lambda x: fg.fori_loop(0, 3, body, x))(1.0)


# ----------------------------------------------------------------------------- PyTorch's view
torch = pytest.importorskip("torch")


def _torch_derivatives(f, x, order):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, results = f(t), []
    for _ in range(order):
        (out,) = torch.autograd.grad(out, t, create_graph=True)
        results.append(out.item())
    return results


def _torch_piecewise(x):
    return x ** 3 if x > 0 else torch.sin(x)


def _torch_program(x):
    return _torch_piecewise(x) + newton_sqrt(x * x + 1.0)   # Python operators only: as is


@pytest.mark.parametrize("x", [1.3, -0.6])
def test_against_pytorch(x):
    def program(x):
        return piecewise(x) + newton_sqrt(x * x + 1.0)

    ours = [fg.grad(program)(x), fg.grad(fg.grad(program))(x),
            fg.grad(fg.grad(fg.grad(program)))(x)]
    np.testing.assert_allclose(ours, _torch_derivatives(_torch_program, x, 3), rtol=1e-9)
