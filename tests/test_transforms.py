"""Transformations and their compositions, checked against closed forms and each other."""
import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def seed(x, y):
    return y * fnp.log(x) + fnp.sin(y)


def test_grad_of_the_seed_function():
    gx, gy = fg.grad(seed, argnums=(0, 1))(2.0, 3.0)
    assert gx == pytest.approx(1.5)
    assert gy == pytest.approx(math.log(2.0) + math.cos(3.0))
    assert type(gx) is fg.Array and gx.shape == () and gx.dtype == np.float64


def test_value_and_grad_returns_value_and_gradient():
    value, grads = fg.value_and_grad(seed, argnums=(0, 1))(2.0, 3.0)
    assert value == pytest.approx(3 * math.log(2) + math.sin(3))
    assert grads[1] == pytest.approx(math.log(2.0) + math.cos(3.0))


def test_int_argnums_returns_one_array_and_negative_argnums_work():
    assert fg.grad(seed)(2.0, 3.0) == pytest.approx(1.5)
    assert fg.grad(seed, argnums=-1)(2.0, 3.0) == pytest.approx(math.log(2) + math.cos(3))


def test_has_aux_passes_aux_through():
    def loss(w):
        return w ** 2, {"w": w, "note": 1.0}

    (value, aux), g = fg.value_and_grad(loss, has_aux=True)(3.0)
    assert (value, g, aux["w"]) == (9.0, 6.0, 3.0)
    g2, aux2 = fg.grad(loss, has_aux=True)(3.0)
    assert g2 == 6.0 and aux2["note"] == 1.0


def test_gradient_has_the_structure_of_the_argument():
    params = {"w": np.array([1.0, 2.0]), "b": (np.float64(0.5), [np.ones(2)])}

    def f(p):
        return fnp.sum(p["w"] ** 2) + p["b"][0] * fnp.sum(p["b"][1][0])

    g = fg.grad(f)(params)
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], [2.0, 4.0])
    assert g["b"][0] == 2.0
    np.testing.assert_allclose(g["b"][1][0], [0.5, 0.5])


def test_retained_intermediate_gradients():
    def f(x, y):
        s = fg.retain_grad(x + y, "sum_xy")
        return s ** 2

    (gx, gy), retained = fg.grad(f, argnums=(0, 1), retained=True)(2.0, 3.0)
    assert (gx, gy, retained["sum_xy"]) == (10.0, 10.0, 10.0)
    value, ((gx, gy), retained) = fg.value_and_grad(f, argnums=(0, 1), retained=True)(2.0, 3.0)
    assert value == 25.0 and retained == {"sum_xy": 10.0}


def test_retained_gradient_has_the_intermediate_shape_and_marks_are_ignored_by_default():
    def f(x):
        h = fg.retain_grad(x * 2.0, "h")
        return fnp.sum(h ** 2)

    x = np.array([1.0, 2.0, 3.0])
    g, retained = fg.grad(f, retained=True)(x)
    np.testing.assert_allclose(retained["h"], 4.0 * x)
    np.testing.assert_allclose(g, 8.0 * x)
    np.testing.assert_allclose(fg.grad(f)(x), 8.0 * x)


def test_retained_mark_inside_a_body_is_an_error_not_a_missing_entry():
    # A mark inside a checkpoint or loop body was silently left out of `retained`.
    blocks = {"checkpoint": lambda x: fg.checkpoint(lambda v: fg.retain_grad(v * 3, "c") ** 2)(x),
              "scan": lambda x: fg.scan(lambda c, a: (c + fg.retain_grad(a * c, "c"), None),
                                        1.0, x)[0],
              "cond": lambda x: fg.cond(x[0] > 0, lambda v: fg.retain_grad(v, "c"),
                                        lambda v: v, x)}
    for name, block in blocks.items():
        # (eagerly a cond with a known predicate runs its branch: the mark is reported)
        transform = fg.jit if name == "cond" else (lambda f: f)
        with pytest.raises(ValueError, match=r"(?s)the mark 'c' is inside the body.*"
                                             r"test_transforms\.py"):
            transform(fg.grad(lambda x, block=block: fnp.sum(block(x)), retained=True))(
                np.ones(2))
        fg.grad(lambda x, block=block: fnp.sum(block(x)))(np.ones(2))   # no retained: ignored


def test_retained_name_repeated_is_an_error():
    def f(x):
        a = fg.retain_grad(x * 2.0, "same")
        b = fg.retain_grad(a * 3.0, "same")
        return b

    with pytest.raises(ValueError, match="'same' is used twice"):
        fg.grad(f, retained=True)(1.0)


def test_stop_gradient_has_zero_derivative_of_every_order():
    def f(x):
        return x * fg.stop_gradient(x) ** 2

    assert fg.grad(f)(3.0) == 9.0
    assert fg.grad(fg.grad(f))(3.0) == 0.0
    assert fg.jvp(f, (3.0,), (1.0,))[1] == 9.0


def test_stop_gradient_of_a_pytree_stops_every_leaf():
    # As jax.lax.stop_gradient: a dict of parameters (a target network) is stopped whole.
    def f(params):
        target = fg.stop_gradient(params)
        return fnp.sum(target["a"] * params["b"]) + target["c"][0] * params["c"][1]

    params = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0]), "c": (2.0, 5.0)}
    for transform in (fg.grad, lambda f: fg.jit(fg.grad(f))):
        grads = transform(f)(params)
        np.testing.assert_array_equal(grads["a"], [0.0, 0.0])
        np.testing.assert_array_equal(grads["b"], [1.0, 2.0])
        assert grads["c"][0] == 0.0 and grads["c"][1] == 2.0


def test_on_disconnected_policies():
    def f(x, y):
        return fg.stop_gradient(y) * x

    assert fg.grad(f, argnums=1)(2.0, 3.0) == 0.0
    with pytest.warns(UserWarning, match=r"argument 1 \('y'\)"):
        assert fg.grad(f, argnums=1, on_disconnected="warn")(2.0, 3.0) == 0.0
    with pytest.raises(fg.DisconnectedGradientError, match=r"argument 1 \('y'\)"):
        fg.grad(f, argnums=1, on_disconnected="error")(2.0, 3.0)
    assert fg.grad(f, argnums=0, on_disconnected="error")(2.0, 3.0) == 3.0


def test_disconnected_leaf_of_a_pytree_is_named():
    def f(p):
        return p["used"] * 2.0

    with pytest.raises(fg.DisconnectedGradientError, match=r"\['unused'\]"):
        fg.grad(f, on_disconnected="error")({"used": 1.0, "unused": 2.0})


def test_third_derivative_by_nesting_grad():
    def f(x):
        return fnp.sin(x) * x * x

    x = 1.3
    expected = -x * x * math.cos(x) - 6 * x * math.sin(x) + 6 * math.cos(x)
    assert fg.grad(fg.grad(fg.grad(f)))(x) == pytest.approx(expected, rel=1e-12)


def test_fourth_derivative_of_exp_sin():
    f = lambda x: fnp.exp(fnp.sin(x))  # noqa: E731
    d4 = fg.grad(fg.grad(fg.grad(fg.grad(f))))
    fg.check_grads(fg.grad(fg.grad(f)), (0.7,), order=2)
    assert np.isfinite(d4(0.7))


def test_jvp_of_grad_is_the_second_derivative():
    f = lambda x: x ** 3  # noqa: E731
    out, tangent = fg.jvp(fg.grad(f), (2.0,), (1.0,))
    assert (out, tangent) == (12.0, 12.0)


def test_grad_of_jvp():
    f = lambda x: fnp.sin(x) * x  # noqa: E731
    g = fg.grad(lambda x: fg.jvp(f, (x,), (1.0,))[1])(0.4)
    assert g == pytest.approx(2 * math.cos(0.4) - 0.4 * math.sin(0.4))


def test_jacfwd_of_jacrev_is_the_hessian():
    a = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 1.0, 1.0]])

    def f(x):
        return fnp.sum(fnp.tanh(a @ x))

    x = np.array([0.1, -0.2, 0.3])
    z = a @ x
    expected = a.T @ np.diag(-2 * np.tanh(z) * (1 - np.tanh(z) ** 2)) @ a
    np.testing.assert_allclose(fg.hessian(f)(x), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fg.jacfwd(fg.jacrev(f))(x), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fg.jacrev(fg.jacrev(f))(x), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fg.jacrev(fg.grad(f))(x), expected, rtol=1e-12, atol=1e-14)


def test_jacobian_shapes_follow_jax():
    def f(x, y):
        return fnp.reshape(x, (-1, 1)) * y

    x, y = np.arange(1.0, 3.0), np.arange(1.0, 4.0)
    jx = fg.jacrev(f)(x, y)
    assert jx.shape == (2, 3, 2)
    jx2, jy2 = fg.jacfwd(f, argnums=(0, 1))(x, y)
    assert jx2.shape == (2, 3, 2) and jy2.shape == (2, 3, 3)
    np.testing.assert_allclose(jx, jx2)
    np.testing.assert_allclose(fg.jacrev(f, argnums=1)(x, y), jy2)


def test_vjp_and_vjp_of_vjp():
    def f(x):
        return fnp.sin(x) * 2.0

    x = np.array([0.1, 0.2])
    out, vjp_fn = fg.vjp(f, x)
    np.testing.assert_allclose(out, 2 * np.sin(x))
    (ct,) = vjp_fn(np.ones(2))
    np.testing.assert_allclose(ct, 2 * np.cos(x))

    def pullback(x):
        return fg.vjp(f, x)[1](np.ones(2))[0]

    _, second = fg.vjp(pullback, x)
    np.testing.assert_allclose(second(np.ones(2))[0], -2 * np.sin(x))


def test_vjp_of_the_pullback_in_the_cotangent_is_the_forward_map():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    _, pullback = fg.vjp(lambda x: a @ x, np.zeros(2))
    _, double = fg.vjp(lambda ct: pullback(ct)[0], np.zeros(3))
    np.testing.assert_allclose(double(np.array([1.0, -1.0]))[0], a @ [1.0, -1.0])


def test_no_perturbation_confusion():
    # d/dx [ x * d/dy (x + y) ] = d/dx [ x * 1 ] = 1 (the classic Siskind-Pearlmutter test).
    def outer(x):
        inner = fg.grad(lambda y: x + y)(1.0)
        return x * inner

    assert fg.grad(outer)(3.0) == 1.0

    # A closure over the outer variable inside the inner grad: d/dx [ d/dy (x*y) ] = 1.
    assert fg.grad(lambda x: fg.grad(lambda y: x * y)(x))(3.0) == 1.0
    # Same with forward mode inside reverse mode.
    assert fg.grad(lambda x: fg.jvp(lambda y: x * y, (x,), (1.0,))[1] * x)(3.0) == 6.0


def test_float32_stays_float32_end_to_end():
    x = np.array([0.5, 1.5], dtype=np.float32)

    def f(x):
        return fnp.sum(fnp.exp(x) * 2.0 + x ** 2)

    value, g = fg.value_and_grad(f)(x)
    assert value.dtype == np.float32 and g.dtype == np.float32
    assert fg.hessian(f)(x).dtype == np.float32
    _, t = fg.jvp(f, (x,), (np.ones(2, np.float32),))
    assert t.dtype == np.float32


def test_grad_of_a_size_one_array_output():
    g = fg.grad(lambda x: fnp.sum(x * x, keepdims=True))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_non_differentiated_arguments_stay_concrete():
    def f(x, n):
        total = x
        for _ in range(n):   # Python control flow on a non-differentiated argument is fine
            total = total * x
        return total

    assert fg.grad(f)(2.0, 3) == 4 * 2.0 ** 3


def test_jvp_with_pytrees():
    primals = ({"a": 1.0, "b": np.array([1.0, 2.0])},)
    tangents = ({"a": 1.0, "b": np.array([0.0, 1.0])},)
    out, t = fg.jvp(lambda p: p["a"] * fnp.sum(p["b"]), primals, tangents)
    assert out == 3.0 and t == 3.0 + 1.0


def test_check_grads_catches_a_wrong_rule():
    from funcgrad.core.primitive import ALL_PRIMITIVES, ELEMENTWISE, Primitive
    from funcgrad.ops import elementwise as ew

    # A forward rule that is plainly wrong, and a reverse rule that is right at first order
    # but frozen (stop_gradient), so that only a second-order check can see it.
    wrong = Primitive("test_wrong_sin", "elementwise")
    wrong.impl = np.sin
    wrong.abstract_eval = lambda x: x
    wrong.jvp = lambda primals, tangents: (wrong.bind(primals[0]), tangents[0])
    wrong.vjp = lambda needs, g, ans, x: (ew.mul(g, fg.stop_gradient(ew.cos(x))),)
    try:
        with pytest.raises(AssertionError, match="forward-mode derivative of order 1"):
            fg.check_grads(lambda x: wrong.bind(x), (0.5,), order=1)
        fg.check_grads(lambda x: wrong.bind(x), (0.5,), order=1, modes="rev")
        with pytest.raises(AssertionError, match="order 2"):
            fg.check_grads(lambda x: wrong.bind(x), (0.5,), order=2, modes="rev")
    finally:
        ALL_PRIMITIVES.pop("test_wrong_sin")
        ELEMENTWISE.discard(wrong)


def test_check_grads_names_the_argument():
    from funcgrad.core.primitive import ALL_PRIMITIVES, ELEMENTWISE, Primitive

    bad = Primitive("test_bad_mul", "elementwise")
    bad.impl = np.multiply
    bad.abstract_eval = lambda x, y: x
    bad.jvp = lambda p, t: (bad.bind(*p), p[1] if t[0] is not None else p[1])
    bad.vjp = lambda needs, g, ans, x, y: (g * y, g * y)
    try:
        with pytest.raises(AssertionError, match=r"argument 1 \('y'\)"):
            fg.check_grads(lambda x, y: bad.bind(x, y), (2.0, 3.0), order=1, modes="rev")
    finally:
        ALL_PRIMITIVES.pop("test_bad_mul")
        ELEMENTWISE.discard(bad)
