"""``fg.custom_jvp``: user-written forward-mode rules, used by every transformation (reverse
mode by transposing the linearized rule), against hand-derived derivatives; nondiff_argnums,
defjvps, zero tangents, and the errors for a rule that returns the wrong thing."""
import functools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

X = np.array([-3.0, -0.5, 0.2, 1.5, 4.0])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@fg.custom_jvp
def log1pexp(x):
    return fnp.log(1.0 + fnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    # the stable form of sigmoid(x): no inf / inf for large x
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))


@fg.custom_jvp
def twice_sin(x):
    """sin(x), whose rule deliberately claims the derivative 2 cos(x): every derivative
    below must come from the rule, not from differentiating sin."""
    return fnp.sin(x)


@twice_sin.defjvp
def _twice_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return twice_sin(x), 2.0 * fnp.cos(x) * t


# ----------------------------------------------------------------------------- values

def test_call_outside_transformations_runs_the_function():
    np.testing.assert_allclose(log1pexp(X), np.log1p(np.exp(X)), rtol=1e-14)


def test_grad_uses_the_stable_rule_where_the_function_overflows():
    def naive(x):
        return fnp.log(1.0 + fnp.exp(x))

    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(fg.grad(naive)(800.0))
        assert fg.grad(log1pexp)(800.0) == 1.0
    np.testing.assert_allclose(fg.vmap(fg.grad(log1pexp))(X), _sigmoid(X), rtol=1e-14)


def test_jvp_and_jacfwd_call_the_rule():
    out, tangent = fg.jvp(twice_sin, (0.3,), (1.5,))
    np.testing.assert_allclose([out, tangent], [np.sin(0.3), 3.0 * np.cos(0.3)], rtol=1e-15)
    np.testing.assert_allclose(fg.jacfwd(twice_sin)(X), np.diag(2 * np.cos(X)), rtol=1e-15)


def test_reverse_mode_transposes_the_rule():
    np.testing.assert_allclose(fg.grad(twice_sin)(0.3), 2 * np.cos(0.3), rtol=1e-15)
    np.testing.assert_allclose(fg.jacrev(twice_sin)(X), np.diag(2 * np.cos(X)), rtol=1e-15)
    out, pullback = fg.vjp(twice_sin, X)
    np.testing.assert_allclose(out, np.sin(X))
    np.testing.assert_allclose(pullback(np.ones(5))[0], 2 * np.cos(X), rtol=1e-15)


def test_higher_orders_differentiate_the_rule():
    # d/dx 2 cos(x) = -2 sin(x): the rule's primal part (an ordinary cos) is differentiated
    # as usual, so the third derivative is -2 cos(x).
    np.testing.assert_allclose(fg.grad(fg.grad(twice_sin))(0.3), -2 * np.sin(0.3), rtol=1e-14)
    np.testing.assert_allclose(fg.grad(fg.grad(fg.grad(twice_sin)))(0.3), -2 * np.cos(0.3),
                               rtol=1e-14)
    np.testing.assert_allclose(fg.hessian(twice_sin)(0.3), -2 * np.sin(0.3), rtol=1e-14)
    np.testing.assert_allclose(fg.jacfwd(fg.grad(twice_sin))(0.3), -2 * np.sin(0.3),
                               rtol=1e-14)
    np.testing.assert_allclose(fg.grad(lambda x: fg.jvp(twice_sin, (x,), (1.0,))[1])(0.3),
                               -2 * np.sin(0.3), rtol=1e-14)


def test_log1pexp_hessian_matches_the_closed_form():
    expected = _sigmoid(X) * (1 - _sigmoid(X))
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.grad(log1pexp)))(X), expected, rtol=1e-12)
    hess = fg.hessian(lambda x: fnp.sum(log1pexp(x)))(X)
    np.testing.assert_allclose(hess, np.diag(expected), rtol=1e-12, atol=1e-300)


def test_vmap_of_the_function_and_of_its_rule():
    np.testing.assert_allclose(fg.vmap(log1pexp)(X), np.log1p(np.exp(X)), rtol=1e-14)
    out, tangent = fg.jvp(fg.vmap(twice_sin), (X,), (np.ones(5),))
    np.testing.assert_allclose(tangent, 2 * np.cos(X), rtol=1e-15)
    out, tangent = fg.vmap(lambda x: fg.jvp(twice_sin, (x,), (1.0,)))(X)
    np.testing.assert_allclose(tangent, 2 * np.cos(X), rtol=1e-15)
    np.testing.assert_allclose(fg.grad(lambda x: fnp.sum(fg.vmap(twice_sin)(x)))(X),
                               2 * np.cos(X), rtol=1e-15)


def test_jit_compiles_the_function_and_the_differentiated_rule():
    np.testing.assert_allclose(fg.jit(fg.grad(twice_sin))(0.3), 2 * np.cos(0.3), rtol=1e-15)
    np.testing.assert_allclose(fg.grad(fg.jit(twice_sin))(0.3), 2 * np.cos(0.3), rtol=1e-15)
    np.testing.assert_allclose(fg.jit(twice_sin)(0.3), np.sin(0.3), rtol=1e-15)


def test_linearize_uses_the_rule():
    out, f_jvp = fg.linearize(twice_sin, 0.3)
    np.testing.assert_allclose(f_jvp(2.0), 4 * np.cos(0.3), rtol=1e-15)


# ------------------------------------------------------------------------ several inputs

@fg.custom_jvp
def scaled(x, y):
    return fnp.sin(x) * y


scaled.defjvps(lambda xd, ans, x, y: fnp.cos(x) * xd * y,
               lambda yd, ans, x, y: fnp.sin(x) * yd)


def test_defjvps_sums_the_contributions_of_the_perturbed_arguments():
    gx, gy = fg.grad(scaled, (0, 1))(2.0, 3.0)
    np.testing.assert_allclose([gx, gy], [3 * np.cos(2.0), np.sin(2.0)], rtol=1e-15)
    _, tangent = fg.jvp(scaled, (2.0, 3.0), (1.0, 10.0))
    np.testing.assert_allclose(tangent, 3 * np.cos(2.0) + 10 * np.sin(2.0), rtol=1e-15)
    np.testing.assert_allclose(fg.vmap(fg.grad(scaled), in_axes=(0, None))(X, 3.0),
                               3 * np.cos(X), rtol=1e-15)
    hess = fg.hessian(scaled, (0, 1))(2.0, 3.0)
    np.testing.assert_allclose(np.array(hess, dtype=float),
                               [[-3 * np.sin(2.0), np.cos(2.0)], [np.cos(2.0), 0.0]],
                               rtol=1e-14)


def test_defjvps_skips_the_rule_of_an_unperturbed_argument():
    calls = []

    @fg.custom_jvp
    def f(x, y):
        return x * y

    def x_rule(xd, ans, x, y):
        calls.append("x")
        return xd * y

    f.defjvps(x_rule, None)
    assert float(fg.grad(f, 1)(2.0, 3.0)) == 0.0   # no rule for y: its tangent is zero
    assert calls == []
    assert float(fg.grad(f)(2.0, 3.0)) == 3.0
    assert calls == ["x"]


def test_zero_tangents_are_zeros_or_none_with_symbolic_zeros():
    seen = []

    def rule(primals, tangents):
        seen.append(tangents)
        x, y = primals
        xd, yd = tangents
        return x * y, (0.0 if xd is None else xd * y) + (0.0 if yd is None else x * yd)

    for symbolic in (False, True):
        @fg.custom_jvp
        def f(x, y):
            return x * y

        f.defjvp(rule, symbolic_zeros=symbolic)
        seen.clear()
        assert float(fg.grad(f)(2.0, 3.0)) == 3.0
        if symbolic:
            assert seen[0][1] is None
        else:
            assert np.shape(seen[0][1]) == () and float(seen[0][1]) == 0.0


def test_integer_inputs_get_none_tangents():
    @fg.custom_jvp
    def power(x, n):
        return x ** n

    @power.defjvp
    def power_jvp(primals, tangents):
        (x, n), (t, n_dot) = primals, tangents
        assert n_dot is None
        return power(x, n), n * x ** (n - 1) * t

    np.testing.assert_allclose(fg.grad(power)(2.0, 3), 12.0)


def test_pytree_arguments_and_outputs_with_none_tangent_leaves():
    @fg.custom_jvp
    def g(d):
        return {"a": d["x"] * 2.0, "b": fnp.sum(d["y"])}

    @g.defjvp
    def g_jvp(primals, tangents):
        (d,), (dt,) = primals, tangents
        return g(d), {"a": 2.0 * dt["x"], "b": None}   # claims b does not depend on y

    grads = fg.grad(lambda d: fnp.sum(g(d)["a"]) + g(d)["b"])({"x": np.ones(3),
                                                                "y": np.ones(2)})
    np.testing.assert_allclose(grads["x"], 2.0)
    np.testing.assert_allclose(grads["y"], 0.0)


# --------------------------------------------------------------------- nondiff_argnums

@functools.partial(fg.custom_jvp, nondiff_argnums=(0,))
def app(f, x):
    return f(x)


@app.defjvp
def _app_jvp(f, primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return f(x), 2.0 * x_dot


def test_nondiff_argnums_takes_a_function_as_in_jax_tutorial():
    assert float(app(lambda x: x ** 3, 3.0)) == 27.0
    assert float(fg.grad(app, 1)(lambda x: x ** 3, 3.0)) == 2.0
    assert float(fg.jvp(lambda x: app(fnp.sin, x), (1.0,), (3.0,))[1]) == 6.0
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda x: app(fnp.exp, x)))(X), 2.0)


def test_defjvps_refuses_nondiff_argnums():
    with pytest.raises(TypeError, match="defjvps cannot be used with nondiff_argnums"):
        app.defjvps(None, None)


def test_traced_array_in_nondiff_argnums_is_an_error():
    @functools.partial(fg.custom_jvp, nondiff_argnums=(1,))
    def f(x, scale):
        return x * scale

    f.defjvp(lambda scale, primals, tangents: (f(primals[0], scale), tangents[0] * scale))
    with pytest.raises(TypeError, match="argument 1 .'scale'. is in nondiff_argnums but is a "
                                        "traced array"):
        fg.grad(f, 1)(2.0, 3.0)
    assert float(fg.grad(f)(2.0, 3.0)) == 3.0   # a Python number there is static


# ------------------------------------------------------------------------------- errors

def _bad(rule):
    @fg.custom_jvp
    def bad(x):
        return 2.0 * x

    bad.defjvp(rule)
    return bad


@pytest.mark.parametrize("transform", ["jvp", "grad"])
def test_wrong_tangent_shape_names_function_and_expected_shape(transform):
    bad = _bad(lambda p, t: (2.0 * p[0], np.ones(3)))
    run = (lambda: fg.jvp(bad, (1.0,), (1.0,))) if transform == "jvp" else (
        lambda: fg.grad(bad)(1.0))
    with pytest.raises(ValueError, match=r"custom_jvp 'bad': the JVP rule returned a tangent "
                                         r"of shape \(3,\) for output leaf 0, which has shape "
                                         r"\(\)"):
        run()


def test_wrong_tangent_dtype_names_both_dtypes():
    bad = _bad(lambda p, t: (2.0 * p[0], t[0].astype(np.float32)))
    with pytest.raises(TypeError, match="custom_jvp 'bad': the JVP rule returned a tangent of "
                                        "dtype float32 for output leaf 0, which has dtype "
                                        "float64"):
        fg.grad(bad)(1.0)


def test_wrong_structures_are_named():
    with pytest.raises(TypeError, match="custom_jvp 'bad': the JVP rule must return a pair"):
        fg.grad(_bad(lambda p, t: 2.0 * t[0]))(1.0)
    with pytest.raises(TypeError, match="custom_jvp 'bad': the JVP rule's tangent output is a "
                                        "tuple where the output has an array"):
        fg.grad(_bad(lambda p, t: (2.0 * p[0], (t[0],))))(1.0)
    with pytest.raises(TypeError, match="custom_jvp 'bad': the JVP rule's primal output has "
                                        "structure"):
        fg.jvp(_bad(lambda p, t: ((p[0], p[0]), t[0])), (1.0,), (1.0,))
    with pytest.raises(TypeError, match=r"custom_jvp 'bad': the JVP rule's primal output leaf "
                                        r"0 is f64\[3\], but the function's output leaf 0 "
                                        r"is f64\[\]"):
        fg.jvp(_bad(lambda p, t: (np.ones(3), t[0])), (1.0,), (1.0,))


def test_a_rule_not_linear_in_the_tangents_cannot_be_transposed():
    bad = _bad(lambda p, t: (2.0 * p[0], fnp.sin(t[0])))
    assert float(fg.jvp(bad, (1.0,), (0.5,))[1]) == np.sin(0.5)   # forward mode is fine
    with pytest.raises(TypeError, match="custom_jvp 'bad': the tangent output is not linear in "
                                        "the input tangents: 'sin' is not a linear operation"):
        fg.grad(bad)(1.0)


def test_missing_rule_and_closure_errors():
    @fg.custom_jvp
    def norule(x):
        return x

    with pytest.raises(AttributeError, match="custom_jvp function 'norule' has no rule"):
        norule(1.0)

    def outer(y):
        @fg.custom_jvp
        def closes(x):
            return x * y

        closes.defjvp(lambda p, t: (closes(p[0]), t[0] * y))
        return closes(2.0)

    with pytest.raises(TypeError, match="custom_jvp function 'closes' closes over a traced "
                                        "value"):
        fg.grad(outer)(3.0)
