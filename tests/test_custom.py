"""``fg.custom_vjp`` (user-written reverse-mode rules) and ``fg.checkpoint`` (recompute in the
backward pass): values, derivatives, compositions with jit / vmap / nested derivatives, error
messages, and what the backward pass keeps and recomputes."""
import functools

import numpy as np
import pytest
from custom_examples import log1pexp, product_block, scaled_sine, sine_block

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import ALL_PRIMITIVES
from funcgrad.nn import sigmoid
from funcgrad.transforms.vjp import linearize

X = np.array([-3.0, -0.5, 0.2, 1.5, 4.0])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------- custom_vjp: the rule

def test_log1pexp_has_a_finite_gradient_where_the_naive_one_overflows():
    def naive(x):
        return fnp.log(1.0 + fnp.exp(x))

    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(fg.grad(naive)(800.0))
    assert log1pexp(800.0) == 800.0
    assert fg.grad(log1pexp)(800.0) == 1.0
    assert fg.grad(log1pexp)(-800.0) == 0.0
    np.testing.assert_allclose(fg.vmap(fg.grad(log1pexp))(X), _sigmoid(X), rtol=1e-14)


def test_log1pexp_second_derivative_differentiates_the_bwd_rule():
    expected = _sigmoid(X) * (1 - _sigmoid(X))
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.grad(log1pexp)))(X), expected, rtol=1e-12)
    np.testing.assert_allclose(np.diag(fg.hessian(lambda x: fnp.sum(log1pexp(x)))(X)),
                               expected, rtol=1e-12)
    fg.check_grads(log1pexp, (X,), order=2, modes=("rev",))


def _clip_gradient(low, high):
    @fg.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None),
                         lambda _, g: (fnp.clip(g, low, high),))
    return clip_gradient


def test_clip_gradient_is_the_identity_forward_and_clips_the_cotangent():
    clip = _clip_gradient(-1.0, 1.0)
    assert clip(3.0) == 3.0
    assert fg.grad(lambda x: 5.0 * clip(x))(3.0) == 1.0
    assert fg.grad(lambda x: -0.5 * clip(x))(3.0) == -0.5
    g = fg.grad(lambda x: fnp.sum(fnp.array([4.0, 0.25, -2.0]) * clip(x)))(np.zeros(3))
    np.testing.assert_array_equal(g, [1.0, 0.25, -1.0])


@fg.custom_vjp
def wrong_derivative(x):
    """``sin``, with a deliberately false derivative: the reverse rule says ``7 x``."""
    return fnp.sin(x)


wrong_derivative.defvjp(lambda x: (fnp.sin(x), x), lambda x, g: (7.0 * x * g,))


def test_reverse_mode_uses_bwd_not_the_true_derivative():
    assert fg.grad(wrong_derivative)(2.0) == 14.0
    assert fg.grad(lambda x: fnp.exp(wrong_derivative(x)))(2.0) == pytest.approx(
        np.exp(np.sin(2.0)) * 14.0)
    assert fg.grad(fg.grad(wrong_derivative))(2.0) == 7.0      # d/dx of 7 x
    _, pullback = fg.vjp(wrong_derivative, X)
    np.testing.assert_allclose(pullback(np.ones(5))[0], 7.0 * X)
    np.testing.assert_allclose(fg.jacrev(wrong_derivative)(X), np.diag(7.0 * X))


def test_forward_mode_differentiates_the_function_itself():
    _, tangent = fg.jvp(wrong_derivative, (2.0,), (1.0,))
    assert tangent == pytest.approx(np.cos(2.0))
    np.testing.assert_allclose(fg.jacfwd(wrong_derivative)(X), np.diag(np.cos(X)))


def test_under_jit():
    assert fg.jit(fg.grad(wrong_derivative)).compile(2.0)(2.0) == 14.0
    assert fg.grad(fg.jit(wrong_derivative))(2.0) == 14.0
    assert fg.jit(fg.grad(fg.grad(log1pexp))).compile(0.0)(0.0) == pytest.approx(0.25)
    jitted = fg.jit(wrong_derivative)
    assert jitted.compile(2.0)(2.0) == np.sin(2.0)
    # Nothing is left to differentiate in a compiled program: the call is inlined, and fuses.
    assert "custom_vjp_call" not in str(jitted.ir(2.0))


def test_under_vmap():
    np.testing.assert_allclose(fg.vmap(fg.grad(wrong_derivative))(X), 7.0 * X)
    # The batched primitive: vmap inside grad batches fun, fwd and bwd.
    g = fg.grad(lambda x: fnp.sum(fg.vmap(wrong_derivative)(x)))(X)
    np.testing.assert_allclose(g, 7.0 * X)
    y = np.array([0.5, -1.0, 2.0])
    gx, gy = fg.grad(lambda x, y: fnp.sum(fg.vmap(scaled_sine, in_axes=(0, None))(x, y)),
                     argnums=(0, 1))(np.ones((4, 3)), y)
    np.testing.assert_allclose(gx, np.broadcast_to(np.sin(y) + 1.0, (4, 3)))
    np.testing.assert_allclose(gy, 4.0 * np.cos(y))
    hessians = fg.vmap(fg.hessian(lambda v: fnp.sum(log1pexp(v))))(X.reshape(5, 1))
    np.testing.assert_allclose(hessians[:, 0, 0], _sigmoid(X) * (1 - _sigmoid(X)))


def test_pytrees_several_outputs_and_integer_arguments():
    @fg.custom_vjp
    def f(params, n):
        return {"sum": params["a"] * n + params["b"], "b": params["b"]}

    def fwd(params, n):
        return f(params, n), n

    def bwd(n, g):
        return {"a": g["sum"] * n, "b": g["sum"] + 2.0 * g["b"]}, None

    f.defvjp(fwd, bwd)

    def loss(params):
        out = f(params, 3)
        return fnp.sum(out["sum"]) + fnp.sum(out["b"])

    grads = fg.grad(loss)({"a": np.ones(2), "b": np.zeros(2)})
    np.testing.assert_allclose(grads["a"], [3.0, 3.0])
    np.testing.assert_allclose(grads["b"], [3.0, 3.0])


def test_none_stands_for_a_zero_cotangent():
    @fg.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, y), lambda y, g: (g * y, None))
    assert fg.grad(f, argnums=(0, 1))(2.0, 3.0) == (3.0, 0.0)


def test_nondiff_argnums_and_keyword_arguments():
    @functools.partial(fg.custom_vjp, nondiff_argnums=(0,))
    def apply(function, x, scale=2.0):
        return function(x) * scale

    def fwd(function, x, scale):
        return apply(function, x, scale), (x, scale)

    def bwd(function, residuals, g):
        x, scale = residuals
        return -g * scale * x, -g * function(x)    # a made-up rule, to see that it is used

    apply.defvjp(fwd, bwd)
    assert apply(fnp.sin, 1.0) == pytest.approx(2.0 * np.sin(1.0))
    assert fg.grad(lambda x: apply(fnp.sin, x))(3.0) == -6.0
    assert fg.grad(lambda s: apply(fnp.sin, 3.0, scale=s))(1.0) == pytest.approx(-np.sin(3.0))

    # A keyword-only parameter left at its default is allowed, as in JAX (it raised "keyword-
    # only arguments ['power'] cannot be given" though the call gave none); given, it is not.
    @fg.custom_vjp
    def scaled(x, *, power=2.0):
        return x ** power

    scaled.defvjp(lambda x, *, power=2.0: (scaled(x), x), lambda x, g: (g * 10.0 * x,))
    assert fg.grad(scaled)(3.0) == 30.0
    with pytest.raises(TypeError, match=r"keyword-only arguments \['power'\] cannot be given"):
        fg.grad(lambda x: scaled(x, power=3.0))(3.0)

    @fg.custom_jvp
    def cubed(x, *, power=3.0):
        return x ** power

    cubed.defjvp(lambda primals, tangents: (cubed(primals[0]), tangents[0] * 5.0))
    assert fg.grad(cubed)(2.0) == 5.0


def test_fwd_may_call_the_function_and_only_its_residual_part_runs(monkeypatch):
    calls = []
    exp = ALL_PRIMITIVES["exp"]
    original = exp.impl
    monkeypatch.setattr(exp, "impl", lambda x: calls.append(1) or original(x))
    # The function and its bwd rule (nn.sigmoid is the logistic primitive) use one exp
    # each; fwd's output, log1pexp(x) again, is not recomputed.
    fg.grad(log1pexp)(1.0)
    assert len(calls) == 1


def test_closures_over_constants_and_over_traced_values():
    scale = np.array([1.0, 2.0, 3.0])

    @fg.custom_vjp
    def f(x):
        return x * scale

    f.defvjp(lambda x: (f(x), None), lambda _, g: (g * scale * 10.0,))
    np.testing.assert_allclose(fg.grad(lambda x: fnp.sum(f(x)))(np.ones(3)), 10.0 * scale)

    def outer(w):       # closes over w, which an outer transformation traces (not grad's)
        @fg.custom_vjp
        def g(x):
            return x * w

        g.defvjp(lambda x: (g(x), None), lambda _, ct: (ct * w,))
        return fg.grad(g)(2.0)

    np.testing.assert_allclose(fg.vmap(outer)(scale), scale)


# ------------------------------------------------------------------ custom_vjp: the errors

def _custom(fwd, bwd):
    @fg.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(fwd, bwd)
    return f


def _product_fwd(x, y):
    return x * y, (x, y)


@pytest.mark.parametrize("bwd, error, message", [
    (lambda r, g: g * r[1], TypeError, r"bwd must return a tuple with one cotangent per "
     r"differentiable argument \(2\), got a .*"),
    (lambda r, g: (g * r[1],), TypeError, r"got a tuple of length 1"),
    (lambda r, g: (g * r[1], np.ones(3)), ValueError,
     r"cotangent of shape \(3,\) for argument 1 \('y'\), which has shape \(\)"),
    (lambda r, g: (g * r[1], np.float32(1.0)), TypeError,
     r"cotangent of dtype float32 for argument 1 \('y'\), which has dtype float64"),
    (lambda r, g: ((g, g), g), TypeError, r"bwd returned a tuple where the argument has an "
     r"array as the cotangent of argument 0 \('x'\)"),
])
def test_wrong_bwd_output_is_a_clear_error(bwd, error, message):
    f = _custom(_product_fwd, bwd)
    with pytest.raises(error, match=message) as info:
        fg.grad(f)(2.0, 3.0)
    assert str(info.value).startswith("custom_vjp 'f': bwd ")


def test_single_argument_hint_and_python_scalar_cotangents():
    @fg.custom_vjp
    def f(x):
        return 2.0 * x

    f.defvjp(lambda x: (f(x), None), lambda _, g: g)
    with pytest.raises(TypeError, match=r"for one argument return \(cotangent,\)"):
        fg.grad(f)(1.0)
    f.defvjp(lambda x: (f(x), None), lambda _, g: (5.0,))    # a Python float: weakly typed
    assert fg.grad(f)(np.float32(1.0)) == 5.0
    assert fg.grad(f)(np.float32(1.0)).dtype == np.float32


@pytest.mark.parametrize("fwd, message", [
    (lambda x, y: x * y, r"fwd must return a pair \(output, residuals\)"),
    (lambda x, y: ((x * y, x), None), r"fwd's output has structure"),
    (lambda x, y: (fnp.stack([x, y]), None), r"fwd's output leaf 0 is f64\[2\], but the "
     r"function's output leaf 0 is f64\[\]"),
    (lambda x, y: (x * y, "tape"), r"fwd's residuals must be arrays"),
])
def test_wrong_fwd_output_is_a_clear_error(fwd, message):
    f = _custom(fwd, lambda r, g: (g, g))
    with pytest.raises(TypeError, match=message):
        fg.grad(f)(2.0, 3.0)


def test_missing_rule_traced_nondiff_argument_and_closed_over_derivative():
    @fg.custom_vjp
    def f(x):
        return x

    with pytest.raises(AttributeError, match=r"'f' has no rule: call f.defvjp"):
        f(1.0)

    @functools.partial(fg.custom_vjp, nondiff_argnums=(1,))
    def g(x, n):
        return x * n

    g.defvjp(lambda x, n: (g(x, n), None), lambda n, _, ct: (ct * n,))
    with pytest.raises(TypeError, match=r"argument 1 \('n'\) is in nondiff_argnums but is a "
                       "traced array"):
        fg.grad(lambda x: g(x, x))(1.0)

    def closes_over(w):
        @fg.custom_vjp
        def h(x):
            return x * w

        h.defvjp(lambda x: (h(x), None), lambda _, ct: (ct * w,))
        return h(1.0)

    with pytest.raises(TypeError, match=r"custom_vjp function 'h' closes over a traced value "
                       "that is being differentiated"):
        fg.grad(closes_over)(2.0)
    _, tangent = fg.jvp(closes_over, (2.0,), (1.0,))   # forward mode differentiates h itself
    assert tangent == 1.0


def test_ir_holds_the_function_and_names_the_rule():
    text = str(fg.make_ir(log1pexp)(1.0))
    assert "custom_vjp_call" in text
    assert "log1pexp_bwd" in text and "log1pexp_fwd" in text
    assert "log1p" in text      # the traced function, printed inside the equation


# ------------------------------------------------------------------------------ checkpoint

def _chain(x):
    for _ in range(6):
        x = fnp.sin(x) * 1.5 + 0.1 * x
    return x


CHECKPOINTED = fg.checkpoint(_chain)


def test_checkpoint_gives_the_same_values_and_derivatives():
    x = np.linspace(-1.0, 2.0, 4)
    np.testing.assert_array_equal(CHECKPOINTED(x), _chain(x))
    for transform in (lambda f: fg.grad(lambda v: fnp.sum(f(v))),
                      lambda f: fg.grad(lambda v: fnp.sum(fg.grad(lambda w: fnp.sum(f(w)))(v))),
                      fg.jacrev, fg.jacfwd, fg.hessian,
                      lambda f: fg.jit(fg.grad(lambda v: fnp.sum(f(v)))),
                      lambda f: fg.vmap(fg.grad(lambda v: fnp.sum(f(v))))):
        np.testing.assert_allclose(transform(CHECKPOINTED)(x), transform(_chain)(x),
                                   rtol=1e-12, atol=1e-12)
    _, tangent = fg.jvp(CHECKPOINTED, (x,), (np.ones(4),))
    np.testing.assert_allclose(tangent, fg.jvp(_chain, (x,), (np.ones(4),))[1], rtol=1e-12)
    fg.check_grads(CHECKPOINTED, (x,), order=2)


def test_checkpoint_table_functions_with_pytrees_and_two_arguments():
    x, y = np.array([0.3, -1.2]), np.array([[0.5], [2.0]])
    gx, gy = fg.grad(lambda a, b: fnp.sum(product_block(a, b)), argnums=(0, 1))(x, y)
    ex, ey = fg.grad(lambda a, b: fnp.sum(fnp.tanh(a * b) + a), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, ex)
    np.testing.assert_allclose(gy, ey)

    @fg.checkpoint
    def block(tree):
        return {"out": fnp.sin(tree["a"]) * tree["b"], "twice": 2.0 * tree["a"]}

    g = fg.grad(lambda t: fnp.sum(block(t)["out"]) + fnp.sum(block(t)["twice"]))(
        {"a": x, "b": 3.0})
    np.testing.assert_allclose(g["a"], 3.0 * np.cos(x) + 2.0)
    np.testing.assert_allclose(g["b"], np.sum(np.sin(x)))


def _counting(monkeypatch, name):
    calls = []
    prim = ALL_PRIMITIVES[name]
    original = prim.impl
    monkeypatch.setattr(prim, "impl", lambda *a, **p: calls.append(1) or original(*a, **p))
    return calls


def test_the_block_runs_forward_twice_under_grad(monkeypatch):
    x = np.linspace(-1.0, 2.0, 4)
    calls = _counting(monkeypatch, "sin")
    fg.grad(lambda v: fnp.sum(_chain(v)))(x)
    assert len(calls) == 6            # forward only: the backward pass uses cos
    calls.clear()
    fg.grad(lambda v: fnp.sum(CHECKPOINTED(v)))(x)
    assert len(calls) == 12           # the forward pass, then again before its backward


def _kept_for_backward(fun, x):
    """The arrays the outer backward pass holds between the forward and backward passes."""
    ir = fg.make_ir(fun)(x)
    _, backward = linearize(ir, [x], [True])
    env = backward.__closure__[backward.__code__.co_freevars.index("env")].cell_contents
    arrays = [v for v in env.values() if np.ndim(v) > 0]
    return len(arrays), sum(np.asarray(v).nbytes for v in arrays)


def test_the_backward_pass_keeps_fewer_residuals():
    x = np.linspace(-1.0, 2.0, 1000)
    plain_count, plain_bytes = _kept_for_backward(lambda v: fnp.sum(_chain(v)), x)
    count, nbytes = _kept_for_backward(lambda v: fnp.sum(CHECKPOINTED(v)), x)
    assert count == 2                  # the block's input and its output
    assert plain_count >= 6 * 3
    assert nbytes * 9 < plain_bytes
    # ... and the gradient is the same.
    np.testing.assert_allclose(fg.grad(lambda v: fnp.sum(CHECKPOINTED(v)))(x),
                               fg.grad(lambda v: fnp.sum(_chain(v)))(x), rtol=1e-13)


def test_checkpoint_closing_over_a_differentiated_value():
    def f(w):
        block = fg.checkpoint(lambda x: fnp.sin(x * w) * w)
        return block(2.0)

    def g(w):
        return fnp.sin(2.0 * w) * w

    assert fg.grad(f)(0.7) == pytest.approx(fg.grad(g)(0.7), rel=1e-14)
    assert fg.grad(fg.grad(f))(0.7) == pytest.approx(fg.grad(fg.grad(g))(0.7), rel=1e-13)


def test_static_argnums_decorator_remat_and_nesting():
    @functools.partial(fg.checkpoint, static_argnums=(1,))
    def power(x, n):
        for _ in range(n):
            x = fnp.sin(x)
        return x

    assert fg.grad(power)(0.5, 2) == pytest.approx(np.cos(np.sin(0.5)) * np.cos(0.5))
    assert fg.remat is fg.checkpoint
    outer = fg.checkpoint(lambda x: sine_block(x) * fg.checkpoint(fnp.cos)(x))
    expected = fg.grad(lambda x: (np.sin(x) * fnp.exp(x) + x) * fnp.cos(x))
    assert fg.grad(outer)(0.4) == pytest.approx(expected(0.4), rel=1e-13)
    assert fg.grad(fg.grad(outer))(0.4) == pytest.approx(fg.grad(expected)(0.4), rel=1e-12)


def test_custom_vjp_inside_checkpoint_and_checkpoint_inside_custom_vjp():
    assert fg.grad(fg.checkpoint(wrong_derivative))(2.0) == 14.0
    assert fg.vmap(fg.grad(fg.checkpoint(log1pexp)))(X) == pytest.approx(_sigmoid(X))

    @fg.custom_vjp
    def f(x):
        return sine_block(x)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (g * sigmoid(x),))
    assert fg.grad(f)(0.3) == pytest.approx(_sigmoid(0.3))


# ------------------------------------------------------------------- checkpoint policies

W1 = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
W2 = np.linspace(0.5, -0.5, 8).reshape(2, 4)


def _two_layers(x):
    return fnp.tanh(W2 @ fnp.sin(W1 @ x))


POLICIES = [None, fg.checkpoint_policies.nothing_saveable,
            fg.checkpoint_policies.dots_saveable, fg.checkpoint_policies.checkpoint_dots,
            fg.checkpoint_policies.dots_with_no_batch_dims_saveable,
            fg.checkpoint_policies.everything_saveable,
            fg.checkpoint_policies.save_from_both_policies(
                fg.checkpoint_policies.dots_saveable,
                lambda prim, *avals, **params: prim.name == "sin"),
            lambda prim, *avals, **params: prim.name == "tanh"]


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_keep_values_and_derivatives(policy):
    block = fg.checkpoint(_two_layers, policy=policy)
    x = np.array([0.3, -0.7, 1.1])

    def loss(f):
        return lambda v: fnp.sum(f(v) ** 2)

    np.testing.assert_array_equal(block(x), _two_layers(x))
    for transform in (lambda f: fg.grad(loss(f)), lambda f: fg.hessian(loss(f)),
                      lambda f: fg.grad(lambda v: fnp.sum(fg.grad(loss(f))(v) ** 2)),
                      fg.jacfwd, fg.jacrev):
        np.testing.assert_allclose(transform(block)(x), transform(_two_layers)(x),
                                   rtol=1e-12, atol=1e-14)
    batch = np.stack([x, 2 * x])
    np.testing.assert_allclose(fg.vmap(fg.grad(loss(block)))(batch),
                               fg.vmap(fg.grad(loss(_two_layers)))(batch), rtol=1e-12)
    np.testing.assert_allclose(fg.derivatives(lambda t: loss(block)(x + t), 4)(0.0),
                               fg.derivatives(lambda t: loss(_two_layers)(x + t), 4)(0.0),
                               rtol=1e-12)
    jitted = fg.jit(fg.grad(loss(block)))
    ir = jitted.ir(x)   # inlined: the saved values are the forward pass's own
    assert "checkpoint" not in str(ir)
    np.testing.assert_allclose(fg.core.eval_ir(ir, [x])[0], fg.grad(loss(_two_layers))(x),
                               rtol=1e-12)



def test_dots_saveable_does_not_redo_the_products(monkeypatch):
    x = np.array([0.3, -0.7, 1.1])
    products = _counting(monkeypatch, "einsum")
    sines = _counting(monkeypatch, "sin")

    def grad_of(policy):
        products.clear()
        sines.clear()
        fg.grad(lambda v: fnp.sum(fg.checkpoint(_two_layers, policy=policy)(v)))(x)
        return len(products), len(sines)

    # Two products forward, two in the backward pass (the cotangent of x through each).
    fg.grad(lambda v: fnp.sum(_two_layers(v)))(x)
    assert (len(products), len(sines)) == (4, 1)
    assert grad_of(None) == (6, 2)                     # the products are run again
    assert grad_of(fg.checkpoint_policies.dots_saveable) == (4, 2)   # only the sine is
    assert grad_of(fg.checkpoint_policies.everything_saveable) == (4, 1)
    assert grad_of(lambda prim, *avals, **params: prim.name == "sin") == (6, 1)


def _pullback_block(ir):
    """The block of the backward pass's checkpoint equation (the second one)."""
    blocks = [e.params["block"] for e in ir.eqns if e.primitive.name == "checkpoint"]
    assert len(blocks) == 2
    return blocks[1]


def test_the_backward_program_reads_the_saved_products():
    x = np.array([0.3, -0.7, 1.1])

    def backward_products(policy):
        ir = fg.make_ir(fg.grad(lambda v: fnp.sum(fg.checkpoint(_two_layers, policy=policy)(
            v))))(x)
        return fg.core.count_eqns(_pullback_block(ir)).get("einsum", 0), str(ir)

    count, text = backward_products(None)
    assert count == 4 and "policy=nothing_saveable" in text
    count, text = backward_products(fg.checkpoint_policies.dots_saveable)
    assert count == 2 and "policy=dots_saveable" in text


def test_dots_saveable_keeps_the_products_for_the_backward_pass():
    x = np.linspace(-1.0, 1.0, 3)
    count, _ = _kept_for_backward(
        lambda v: fnp.sum(fg.checkpoint(_two_layers)(v)), x)
    saving, _ = _kept_for_backward(
        lambda v: fnp.sum(fg.checkpoint(_two_layers,
                                        policy=fg.checkpoint_policies.dots_saveable)(v)), x)
    assert saving == count + 2       # the block's input and output, and the two products


def test_a_policy_must_be_a_policy():
    with pytest.raises(TypeError, match="policy must be None"):
        fg.checkpoint(_two_layers, policy="dots")


def test_checkpoint_under_jit_is_inlined():
    jitted = fg.jit(fg.grad(lambda v: fnp.sum(CHECKPOINTED(v))))
    x = np.linspace(-1.0, 2.0, 4)
    np.testing.assert_allclose(jitted.compile(x)(x), fg.grad(lambda v: fnp.sum(_chain(v)))(x),
                               rtol=1e-12)
    assert "checkpoint" not in str(jitted.ir(x))
