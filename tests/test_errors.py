"""Errors that teach: each says what was wrong, names the operation or argument, and points
at the user's line."""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.primitive import ALL_PRIMITIVES, ELEMENTWISE, MissingRuleError, Primitive


def test_python_if_on_a_value_that_is_not_known():
    """The message (tests/test_python_control_flow.py runs each transformation and loop)."""
    def f(x):
        if x > 0:  # the line the message must point at
            return x
        return -x

    with pytest.raises(fg.ConcretizationError) as info:
        fg.jit(fg.grad(f))(1.0)
    message = str(info.value)
    assert "from gt" in message and "fnp.where" in message and "under jit" in message
    assert "test_errors.py" in message and "if x > 0:" in message


@pytest.mark.parametrize("convert", [float, int, lambda t: t.item(), lambda t: t.tolist(),
                                     lambda t: range(t), lambda t: f"{t:.3f}"])
def test_converting_a_value_that_is_not_known(convert):
    def f(x):
        convert(x)
        return x

    with pytest.raises(fg.TracerConversionError) as info:
        fg.jit(f)(np.int64(3) if convert is not float else 1.0)
    assert "test_errors.py" in str(info.value)


def test_numpy_conversion_of_a_traced_value_is_refused_even_where_it_is_known():
    with pytest.raises(fg.TracerConversionError, match="NumPy cannot carry its derivative") as info:
        fg.grad(lambda x: x * np.asarray(x))(1.0)
    assert "test_errors.py" in str(info.value)


def test_numpy_ufunc_on_a_tracer_runs_the_funcgrad_version():
    assert fg.grad(lambda x: np.sin(x))(0.0) == 1.0
    assert fg.grad(lambda x: np.ones(()) * x)(3.0) == 1.0
    with pytest.raises(fg.TracerConversionError, match="numpy.add.reduce"):
        fg.grad(lambda x: np.add.reduce(x))(np.ones(3))


def test_numpy_reductions_on_a_tracer_call_its_methods():
    # np.sum(tracer) calls tracer.sum(axis=None, dtype=None, out=None), as for JAX's arrays:
    # it was "sum() got an unexpected keyword argument 'out'" (np.mean, np.max, ... alike).
    x = np.array([0.5, 2.0, 1.0])
    np.testing.assert_allclose(fg.grad(lambda v: np.sum(v ** 2) + np.max(v))(x), 2 * x + [0, 1, 0])
    assert fg.jit(lambda v: np.mean(v) + np.std(v, ddof=1) + v[np.argmax(v)])(x) == pytest.approx(
        np.mean(x) + np.std(x, ddof=1) + 2.0)
    np.testing.assert_allclose(fg.jit(lambda v: np.cumsum(np.clip(v, 0.6, 1.5)))(x),
                               np.cumsum(np.clip(x, 0.6, 1.5)))
    with pytest.raises(TypeError, match=r"sum\(out=...\).*immutable"):
        fg.jit(lambda v: np.sum(v, out=np.zeros(())))(x)


def test_non_scalar_output_to_grad():
    with pytest.raises(TypeError) as info:
        fg.grad(lambda x: x * 2.0)(np.ones(3))
    message = str(info.value)
    assert "(3,)" in message and "jacrev" in message and "vjp" in message


def test_a_pair_or_none_returned_to_grad_says_has_aux_or_return():
    # Both were funcgrad's internal 'UnsupportedLeaf: cannot trace a value of type tuple'.
    with pytest.raises(TypeError) as info:
        fg.grad(lambda x: (fnp.sum(x ** 2), x))(np.ones(3))
    message = str(info.value)
    assert "a tuple of 2 values" in message and "has_aux=True" in message
    assert "test_errors.py" in message
    with pytest.raises(TypeError, match="returned None: is a return statement missing"):
        fg.grad(lambda x: None)(1.0)
    with pytest.raises(TypeError, match="a dict of 1 values.*jacrev"):
        fg.value_and_grad(lambda x: {"loss": x})(1.0)


@pytest.mark.parametrize("transform", [
    lambda f: fg.jit(f)(1.0), lambda f: fg.vmap(f)(np.ones(2)),
    lambda f: fg.jvp(f, (1.0,), (1.0,)), lambda f: fg.vjp(f, 1.0),
    lambda f: fg.scan(lambda c, x: (c, f(x)), 0.0, np.ones(2)),
    lambda f: fg.jit(lambda p: fg.cond(p, f, f, 1.0))(True)])
def test_an_output_that_is_not_an_array_is_named(transform):
    # It was funcgrad's internal 'UnsupportedLeaf: cannot trace a value of type str'.
    with pytest.raises(TypeError) as info:
        transform(lambda x: {"value": x, "note": "done"})
    message = str(info.value)
    assert "returned a builtins.str (output['note'])" in message
    assert "outputs must be arrays" in message and "test_errors.py" in message


def test_item_assignment_and_numpy_indexing_of_tracers_say_what_to_write():
    def assign(x):
        x[0] = 1.0   # the line the message must point at
        return x

    with pytest.raises(TypeError, match=r"immutable.*x\.at\[index\]\.set\(value\)") as info:
        fg.jit(assign)(np.ones(3))
    assert "x[0] = 1.0" in str(info.value)   # it was "'Tracer' object has no attribute"
    table = np.arange(5.0)
    with pytest.raises(fg.TracerConversionError, match=r"fnp\.asarray\(table\)\[i\]"):
        fg.fori_loop(0, 3, lambda i, total: total + table[i], 0.0)
    assert fg.fori_loop(0, 3, lambda i, total: total + fnp.asarray(table)[i], 0.0) == 3.0


def test_a_matmul_of_unaligned_shapes_points_at_the_line_and_suggests_the_transpose():
    weight = np.ones((2, 3))   # (out, in), as torch's Linear stores it

    def layer(x):
        return x @ weight   # the line the message must point at

    with pytest.raises(ValueError) as info:
        fg.jit(layer)(np.ones((4, 3)))
    message = str(info.value)
    assert "(4, 3) and (2, 3) not aligned" in message and "x1 @ x2.T" in message
    assert "x @ weight" in message   # it named funcgrad's _linalg.py only
    with pytest.raises(ValueError, match=r"dot: .* not aligned(.|\n)*test_errors.py"):
        fg.grad(lambda x: fnp.sum(fnp.dot(x, weight)))(np.ones((4, 3)))


def test_integer_output_to_grad():
    with pytest.raises(TypeError, match="int64"):
        fg.grad(lambda x: fnp.argmax(x))(np.ones(3))


def test_differentiating_an_integer_argument():
    def f(x, count):
        return x * count

    with pytest.raises(TypeError) as info:
        fg.grad(f, argnums=1)(2.0, 3)
    message = str(info.value)
    assert "argument 1 ('count')" in message and "int64" in message and "2.0" in message
    with pytest.raises(TypeError, match="bool"):
        fg.grad(lambda b: b * 1.0)(True)
    with pytest.raises(TypeError, match=r"\['n'\]"):
        fg.grad(lambda p: p["x"] * p["n"])({"x": 1.0, "n": 2})


def test_shape_mismatch_names_the_primitive_the_shapes_and_the_line():
    def f(x, y):
        return fnp.sum(x * y)  # mismatched shapes

    with pytest.raises(fg.ShapeError) as info:
        fg.grad(f)(np.ones(3), np.ones(4))
    message = str(info.value)
    assert message.startswith("mul:") and "(3,)" in message and "(4,)" in message
    assert "test_errors.py" in message and "mismatched shapes" in message
    assert isinstance(info.value, ValueError)


def test_errors_raised_in_nn_lax_and_scipy_point_at_the_user_line():
    # They pointed at funcgrad's own file (nn/convolution.py, lax.py, scipy/special.py).
    from funcgrad import nn
    from funcgrad.scipy import special
    calls = [
        lambda: nn.conv(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3))),  # the user's call
        lambda: fg.lax.switch(0, [], 1.0),  # the user's call
        lambda: fg.jit(lambda n: special.polygamma(n, 0.5))(2),  # the user's call
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError)) as info:
            call()
        assert "test_errors.py" in str(info.value) and "the user's call" in str(info.value)


def test_shape_mismatch_of_a_primitive_on_concrete_arrays_is_also_named():
    from funcgrad.ops import elementwise as ew

    with pytest.raises(fg.ShapeError, match=r"^add: .*\(2,\).*\(5,\)"):
        ew.add(np.ones(2), np.ones(5))


def test_unknown_keyword_arguments():
    with pytest.raises(TypeError, match="argnum"):
        fg.grad(lambda x: x, argnum=0)
    with pytest.raises(TypeError, match="axes"):
        fg.grad(lambda x: fnp.sum(x, axes=0))(np.ones(2))
    with pytest.raises(ValueError, match="on_disconnected"):
        fg.grad(lambda x: x, on_disconnected="ignore")


def test_bad_argnums():
    with pytest.raises(ValueError, match="called with 1 positional"):
        fg.grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(TypeError, match="argnums"):
        fg.grad(lambda x: x, argnums="x")(1.0)


def test_missing_derivative_rule_names_the_primitive():
    half = Primitive("test_half_defined", "elementwise")
    half.impl = np.exp
    half.abstract_eval = lambda x: x
    try:
        with pytest.raises(MissingRuleError, match="no vjp rule for primitive "
                                                   "'test_half_defined'"):
            fg.grad(lambda x: half.bind(x))(1.0)
        with pytest.raises(MissingRuleError, match="no jvp rule .*'test_half_defined'"):
            fg.jvp(lambda x: half.bind(x), (1.0,), (1.0,))
    finally:
        ALL_PRIMITIVES.pop("test_half_defined")
        ELEMENTWISE.discard(half)


def test_escaped_tracer():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0

    fg.grad(f)(1.0)
    with pytest.raises(fg.EscapedTracerError, match="escaped"):
        fg.grad(lambda y: y * leaked[0])(1.0)


def test_has_aux_without_a_pair():
    with pytest.raises(TypeError, match="has_aux"):
        fg.grad(lambda x: x * 2.0, has_aux=True)(1.0)


def test_vjp_cotangent_of_the_wrong_shape():
    _, pullback = fg.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        pullback(np.ones(2))


def test_jvp_tangent_of_the_wrong_shape():
    with pytest.raises(ValueError, match="tangent leaf 0 has shape"):
        fg.jvp(lambda x: x, (np.ones(3),), (np.ones(2),))
