"""Convolution and pooling: ``conv_general_dilated`` and the window reductions against PyTorch
(``torch.nn.functional``) and JAX (``jax.lax``) in float64, values and gradients, for strides,
padding, dilations and groups (each skipped without that library); vmap over every axis of
either operand, jit against eager (derivatives to second order too); the ``fg.nn`` layers in
train and eval mode; the errors. The primitive table (tests/test_primitives.py) checks the
rules of both primitives against a direct reference.
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn

RNG = np.random.default_rng(5)
TOL = dict(rtol=1e-11, atol=1e-12)


def _torch():
    return pytest.importorskip("torch")


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def _assert_close(ours, theirs, what=""):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), **TOL, err_msg=what)


def _against_torch(ours, theirs, inputs):
    """``ours`` and ``theirs`` (a torch function) agree in value and in the vjp of a random
    cotangent with respect to every input."""
    torch = _torch()
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    y = theirs(*tensors)
    cotangent = RNG.standard_normal(tuple(y.shape))
    expected = torch.autograd.grad(y, tensors, torch.tensor(cotangent))
    value, vjp = fg.vjp(ours, *inputs)
    _assert_close(value, y.detach().numpy(), "value")
    for k, (got, want) in enumerate(zip(vjp(cotangent), expected)):
        _assert_close(got, want.numpy(), f"gradient {k}")


# ------------------------------------------------------------------------------ PyTorch

TORCH_CONVS = [   # spatial dims, input shape, weight shape, keyword arguments
    (1, (3, 4, 11), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (2, (2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), groups=2)),
    (2, (2, 3, 7, 7), (4, 3, 3, 3), dict(stride=1, padding="same", dilation=(2, 1))),
    (2, (2, 6, 6, 5), (6, 1, 3, 3), dict(stride=2, padding=2, groups=6)),    # depthwise
    (3, (2, 2, 5, 4, 6), (4, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1),
                                               groups=2)),
]


@pytest.mark.parametrize("spatial, x_shape, w_shape, kwargs", TORCH_CONVS)
def test_conv_matches_torch_values_and_gradients(spatial, x_shape, w_shape, kwargs):
    torch = _torch()
    theirs = getattr(torch.nn.functional, f"conv{spatial}d")
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    b = RNG.standard_normal(w_shape[0])
    _against_torch(lambda x, w, b: nn.conv(x, w, b, **kwargs),
                   lambda x, w, b: theirs(x, w, b, **kwargs), (x, w, b))


@pytest.mark.parametrize("w_shape, kwargs", [
    ((4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((4, 5, 3, 2), dict(stride=(1, 3), padding=(0, 1), output_padding=(0, 2), dilation=(2, 1))),
    ((4, 1, 3, 3), dict(stride=3, padding=2, output_padding=2, groups=4)),
])
def test_conv_transpose_matches_torch(w_shape, kwargs):
    torch = _torch()
    x, w = RNG.standard_normal((2, 4, 5, 4)), RNG.standard_normal(w_shape)
    b = RNG.standard_normal(w_shape[1] * kwargs.get("groups", 1))
    _against_torch(lambda x, w, b: nn.conv_transpose(x, w, b, **kwargs),
                   lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **kwargs),
                   (x, w, b))


def test_conv_transpose_1d_and_3d_match_torch():
    torch = _torch()
    x1, w1 = RNG.standard_normal((2, 3, 6)), RNG.standard_normal((3, 2, 4))
    _against_torch(lambda x, w: nn.conv_transpose(x, w, stride=2, output_padding=1),
                   lambda x, w: torch.nn.functional.conv_transpose1d(x, w, stride=2,
                                                                    output_padding=1),
                   (x1, w1))
    x3, w3 = RNG.standard_normal((1, 2, 3, 2, 3)), RNG.standard_normal((2, 2, 2, 2, 2))
    _against_torch(lambda x, w: nn.conv_transpose(x, w, stride=(2, 1, 2), padding=1),
                   lambda x, w: torch.nn.functional.conv_transpose3d(
                       x, w, stride=(2, 1, 2), padding=1), (x3, w3))


@pytest.mark.parametrize("spatial, shape, kwargs", [
    (2, (2, 3, 9, 8), dict(kernel_size=2)),
    (2, (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),                # overlapping
    (2, (2, 3, 9, 8), dict(kernel_size=(3, 2), stride=(3, 4), padding=(1, 0), dilation=(2, 1))),
    (1, (2, 3, 10), dict(kernel_size=3, stride=3, padding=1)),
    (3, (1, 2, 5, 4, 6), dict(kernel_size=2, stride=(2, 1, 3))),
])
def test_max_pool_matches_torch(spatial, shape, kwargs):
    torch = _torch()
    theirs = getattr(torch.nn.functional, f"max_pool{spatial}d")
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1   # no ties: one maximum each
    kwargs = dict(kwargs)
    window = kwargs.pop("kernel_size")
    _against_torch(lambda x: nn.max_pool(x, window, **kwargs),
                   lambda x: theirs(x, window, **kwargs), (x,))


@pytest.mark.parametrize("spatial, shape, kwargs", [
    (2, (2, 3, 9, 8), dict(kernel_size=2)),
    (2, (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (1, (2, 3, 10), dict(kernel_size=4, stride=3, padding=2)),
    (3, (1, 2, 5, 4, 6), dict(kernel_size=(2, 3, 2), stride=1)),
])
def test_avg_pool_matches_torch(spatial, shape, kwargs):
    torch = _torch()
    theirs = getattr(torch.nn.functional, f"avg_pool{spatial}d")
    x = RNG.standard_normal(shape)
    kwargs = dict(kwargs)
    window = kwargs.pop("kernel_size")
    _against_torch(lambda x: nn.avg_pool(x, window, **kwargs),
                   lambda x: theirs(x, window, **kwargs), (x,))


def test_max_pool_ties_share_the_gradient():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(nn.max_pool(x, 2)))(x),
                                  [[[[1 / 3, 1 / 3], [0.0, 1 / 3]]]])


# ---------------------------------------------------------------------------------- JAX

JAX_CONVS = [   # lhs, rhs, strides, padding, lhs_dilation, rhs_dilation, layouts, groups
    ((2, 4, 7, 6), (6, 2, 3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2), (2, 1), None, 2, 1),
    ((4, 3, 7, 6), (6, 3, 3, 2), (1, 2), ((1, -1), (2, 0)), (2, 1), (1, 2), None, 1, 2),
    ((2, 3, 9), (4, 3, 3), (2,), "SAME", None, (2,), None, 1, 1),
    ((2, 2, 5, 4, 4), (4, 1, 2, 3, 2), (1, 2, 1), ((1, 0), (0, 1), (1, 1)), (1, 1, 2),
     (2, 1, 1), None, 2, 1),
    ((2, 5, 6, 4), (3, 2, 2, 4), (1, 2), "SAME", None, None, ("NHWC", "HWIO", "NHWC"), 2, 1),
    ((2, 5, 6, 4), (3, 2, 4, 4), (2, 1), "VALID", None, (1, 2), ("NHWC", "HWIO", "NCHW"), 1, 2),
]


@pytest.mark.parametrize("case", JAX_CONVS, ids=lambda case: f"{len(case[0]) - 2}d")
def test_conv_general_dilated_matches_jax(case):
    jax = _jax()
    lhs_shape, rhs_shape, strides, padding, lhs_d, rhs_d, layouts, groups, batch_groups = case
    x, w = RNG.standard_normal(lhs_shape), RNG.standard_normal(rhs_shape)

    def ours(x, w):
        return fg.lax.conv_general_dilated(x, w, strides, padding, lhs_d, rhs_d, layouts,
                                           groups, batch_groups)

    def theirs(x, w):
        return jax.lax.conv_general_dilated(x, w, strides, padding, lhs_d, rhs_d, layouts,
                                            groups, batch_groups)

    expected, jax_vjp = jax.vjp(theirs, x, w)
    cotangent = RNG.standard_normal(expected.shape)
    value, vjp = fg.vjp(ours, x, w)
    _assert_close(value, expected, "value")
    for got, want in zip(vjp(cotangent), jax_vjp(cotangent)):
        _assert_close(got, want, "gradient")
    tangents = (RNG.standard_normal(x.shape), RNG.standard_normal(w.shape))
    _assert_close(fg.jvp(ours, (x, w), tangents)[1], jax.jvp(theirs, (x, w), tangents)[1],
                  "tangent")


@pytest.mark.parametrize("padding, transpose_kernel, consistent", [
    ("SAME", False, False), ("VALID", True, False), (((1, 2), (0, 1)), False, False),
    (((1, 2), (0, 1)), True, True)])
def test_conv_transpose_matches_jax(padding, transpose_kernel, consistent):
    jax = _jax()
    x = RNG.standard_normal((2, 5, 6, 3))
    w = RNG.standard_normal((3, 2, 4, 3) if transpose_kernel else (3, 2, 3, 4))
    args = ((2, 1), padding)
    kwargs = dict(transpose_kernel=transpose_kernel, use_consistent_padding=consistent)
    _assert_close(fg.lax.conv_transpose(x, w, *args, **kwargs),
                  jax.lax.conv_transpose(x, w, *args, **kwargs))


@pytest.mark.parametrize("computation, init, window, strides, padding, base, dilation", [
    ("add", 0.0, (1, 3, 2), (1, 2, 1), "SAME", None, None),
    ("add", 0.0, (2, 2), (1, 3), ((1, 1), (0, -1)), (2, 1), (1, 2)),
    ("max", -np.inf, (1, 2, 3), (1, 2, 3), ((0, 0), (1, 0), (1, 2)), None, None),
    ("max", -np.inf, (1, 3, 3), (1, 2, 2), "VALID", None, None),      # overlapping: folded
])
def test_reduce_window_matches_jax(computation, init, window, strides, padding, base,
                                   dilation):
    jax = _jax()
    shape = (4, 7, 6) if len(window) == 3 else (3, 8)
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1   # no ties
    ours_op = {"add": fnp.add, "max": fnp.maximum}[computation]
    theirs_op = {"add": jax.lax.add, "max": jax.lax.max}[computation]

    def ours(x):
        return fg.lax.reduce_window(x, init, ours_op, window, strides, padding, base, dilation)

    def theirs(x):
        return jax.lax.reduce_window(x, init, theirs_op, window, strides, padding, base,
                                     dilation)

    expected, jax_vjp = jax.vjp(theirs, x)
    cotangent = RNG.standard_normal(expected.shape)
    value, vjp = fg.vjp(ours, x)
    _assert_close(value, expected)
    _assert_close(vjp(cotangent)[0], jax_vjp(cotangent)[0])


# -------------------------------------------------------------------- vmap, jit, derivatives

def _conv(x, w):
    return fg.lax.conv_general_dilated(x, w, (2, 1), ((1, 0), (1, 1)), (1, 1), (1, 2),
                                       feature_group_count=2)


@pytest.mark.parametrize("x_axis, w_axis", [(0, None), (2, None), (None, 0), (None, 4),
                                            (1, 3), (4, 0)])
def test_vmap_over_any_axis_of_either_operand(x_axis, w_axis):
    x, w = RNG.standard_normal((2, 4, 5, 4)), RNG.standard_normal((6, 2, 3, 2))
    xs = np.stack([x + k for k in range(3)], x_axis) if x_axis is not None else x
    ws = np.stack([w * (k + 1) for k in range(3)], w_axis) if w_axis is not None else w
    batched = fg.vmap(_conv, in_axes=(x_axis, w_axis))(xs, ws)
    looped = [_conv(np.take(xs, k, x_axis) if x_axis is not None else x,
                    np.take(ws, k, w_axis) if w_axis is not None else w) for k in range(3)]
    _assert_close(batched, np.stack(looped))


def test_per_example_gradients_of_a_conv_layer():
    layer = nn.Conv(2, 3, 3, padding=1)
    params, state = layer.init(fg.random.key(0))
    xs = RNG.standard_normal((4, 1, 2, 5, 5))

    def loss(params, x):
        return fnp.sum(layer.apply(params, state, x, train=False)[0] ** 2)

    per_example = fg.vmap(fg.grad(loss), in_axes=(None, 0))(params, xs)
    for k in range(4):
        _assert_close(per_example["weight"][k], fg.grad(loss)(params, xs[k])["weight"])


def test_jit_matches_eager_with_derivatives_to_second_order():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((6, 2, 3, 2))

    def pooled(x, w):
        c = _conv(x, w)
        return fnp.sum(fnp.tanh(c) ** 2) + fnp.sum(nn.max_pool(c * c, (2, 2), padding=1))

    eager = fg.value_and_grad(pooled, argnums=(0, 1))(x, w)
    compiled = fg.jit(fg.value_and_grad(pooled, argnums=(0, 1))).compile(x, w)(x, w)
    for got, want in zip(fg.tree.leaves(compiled), fg.tree.leaves(eager)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)

    def f(x, w):   # smooth (max pooling has kinks that central differences may cross)
        c = _conv(x, w)
        return fnp.sum(fnp.tanh(c) ** 2) + fnp.sum(nn.avg_pool(c * c, (2, 2), padding=1))

    fg.check_grads(fg.jit(f), (x, w), order=2, modes=("fwd", "rev"))
    def hessian_vector(x):
        return fg.jvp(lambda x: fg.grad(f)(x, w), (x,), (x,))[1]

    np.testing.assert_allclose(fg.jit(hessian_vector).compile(x)(x), hessian_vector(x),
                               rtol=1e-11, atol=1e-11)


def test_float32_stays_float32():
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
    for fn in (lambda x, w: nn.conv(x, w, padding=1), fg.jit(lambda x, w: nn.conv(x, w))):
        assert fn(x, w).dtype == np.float32
        assert all(g.dtype == np.float32 for g in fg.grad(
            lambda x, w, fn=fn: fnp.sum(fn(x, w)), argnums=(0, 1))(x, w))
    assert nn.max_pool(x, 2).dtype == np.float32 and nn.avg_pool(x, 3, 1, 1).dtype == np.float32


def test_make_ir_shows_one_convolution():
    x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    text = str(fg.make_ir(lambda x, w: fg.lax.conv(x, w, (1, 1), "VALID"))(x, w))
    assert text.count("conv_general_dilated[") == 1 and "f64[1,2,2,2]" in text


# ------------------------------------------------------------------------------- nn layers

def _cnn():
    return nn.Sequential([nn.Conv(1, 4, 3, padding=1), nn.BatchNorm(4), nn.relu,
                          nn.MaxPool(2), nn.Conv(4, 6, (3, 3), stride=1, padding="same",
                                                 groups=2), nn.relu, nn.AvgPool(2),
                          nn.Flatten(), nn.Dropout(0.5), nn.Linear(6 * 2 * 2, 3)])


def test_layers_in_train_and_eval_mode_and_under_jit():
    model = _cnn()
    params, state = model.init(fg.random.key(0))
    assert params["0"]["weight"].shape == (4, 1, 3, 3) and params["4"]["weight"].shape == (
        6, 2, 3, 3)
    x = RNG.standard_normal((5, 1, 8, 8))
    labels = np.arange(5) % 3

    def loss(params, state, key):
        logits, state = model.apply(params, state, x, train=True, key=key)
        return nn.cross_entropy(logits, labels), state

    step = fg.value_and_grad(loss, has_aux=True)
    (value, new_state), grads = step(params, state, fg.random.key(1))
    (value_jit, state_jit), grads_jit = fg.jit(step)(params, state, fg.random.key(1))
    np.testing.assert_allclose(value_jit, value, rtol=1e-12)
    for got, want in zip(fg.tree.leaves(grads_jit), fg.tree.leaves(grads)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert not np.allclose(new_state["1"]["mean"], state["1"]["mean"])   # batch statistics
    eval_a, same = model.apply(params, new_state, x, train=False)
    eval_b, _ = model.apply(params, new_state, x, train=False)
    np.testing.assert_array_equal(eval_a, eval_b)    # no dropout, running statistics
    assert same is new_state or fg.tree.leaves(same) == fg.tree.leaves(new_state)


def test_conv_layers_match_torch_modules():
    torch = _torch()
    for ours, theirs, shape in [
            (nn.Conv(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
             torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                             groups=2), (2, 4, 7, 6)),
            (nn.Conv(3, 2, 3, spatial_dims=1, bias=False),
             torch.nn.Conv1d(3, 2, 3, bias=False), (2, 3, 8)),
            (nn.ConvTranspose(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
             torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                      groups=2), (2, 4, 3, 4))]:
        theirs = theirs.double()
        params = {name: p.detach().numpy().copy() for name, p in theirs.named_parameters()}
        assert {k: v.shape for k, v in params.items()} == {
            k: v.shape for k, v in ours.init(fg.random.key(0))[0].items()}
        x = RNG.standard_normal(shape)
        y, _ = ours.apply(params, {}, x, train=True)
        _assert_close(y, theirs(torch.tensor(x)).detach().numpy())


def test_initialisation_follows_pytorch():
    for layer, fan_in, shape in [(nn.Conv(8, 16, 3, groups=2), 4 * 9, (16, 4, 3, 3)),
                                 (nn.Conv(3, 5, (2, 3, 4)), 3 * 24, (5, 3, 2, 3, 4)),
                                 (nn.ConvTranspose(6, 4, 5, groups=2), 2 * 25, (6, 2, 5, 5))]:
        params, state = layer.init(fg.random.key(3))
        bound = 1 / np.sqrt(fan_in)
        assert params["weight"].shape == shape and state == {}
        for value in (params["weight"], params["bias"]):
            assert np.all(np.abs(value) <= bound) and np.abs(value).max() > 0.5 * bound
        np.testing.assert_allclose(np.var(params["weight"]), bound ** 2 / 3, rtol=0.35)
    assert set(nn.Conv(2, 2, 1, bias=False).init(fg.random.key(0))[0]) == {"weight"}
    assert nn.Conv(2, 2, 3, dtype=np.float32).init(fg.random.key(0))[0]["weight"].dtype == \
        np.float32


def test_pooling_and_flatten_modules():
    x = RNG.standard_normal((2, 3, 6, 6))
    np.testing.assert_array_equal(nn.MaxPool(2).apply({}, {}, x, train=True)[0],
                                  nn.max_pool(x, 2))
    np.testing.assert_array_equal(nn.AvgPool(3, 1, 1).apply({}, {}, x, train=False)[0],
                                  nn.avg_pool(x, 3, 1, 1))
    assert nn.Flatten().apply({}, {}, x, train=False)[0].shape == (2, 108)
    assert nn.Flatten(0, 1).apply({}, {}, x, train=False)[0].shape == (6, 6, 6)
    assert repr(nn.MaxPool(2)) == "MaxPool(2)" and repr(nn.Flatten()) == "Flatten()"
    assert repr(nn.Conv(1, 2, 3, padding=1)) == "Conv(1, 2, (3, 3), padding=(1, 1))"


# ----------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, match", [
    (lambda: fg.lax.conv(np.ones((1, 4, 5, 5)), np.ones((2, 3, 3, 3)), (1, 1), "SAME"),
     "feature_group_count=1"),
    (lambda: fg.lax.conv(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3)), (1, 1), "SAME"),
     "same number of dimensions"),
    (lambda: fg.lax.conv(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), (1,), "SAME"),
     "window_strides needs one entry per spatial dimension"),
    (lambda: fg.lax.conv(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), (1, 0), "SAME"),
     "window_strides must be positive"),
    (lambda: fg.lax.conv(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), (1, 1), "FULL"),
     "padding must be"),
    (lambda: fg.lax.conv_general_dilated(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)),
                                         (1, 1), ((0, 0),)), "one \\(low, high\\) pair"),
    (lambda: fg.lax.conv_general_dilated(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)),
                                         (1, 1), ((-6, 0), (0, 0))), "negative padding"),
    (lambda: fg.lax.conv_general_dilated(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)),
                                         (1, 1), "SAME", dimension_numbers=(
                                             "NHWC", "HWIO", "NHW")), "dimension_numbers"),
    (lambda: fg.lax.conv_general_dilated(np.ones((4, 2, 5)), np.ones((4, 2, 3)), (1,),
                                         "VALID", batch_group_count=3), "batch_group_count"),
    (lambda: nn.conv(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), stride=2, padding="same"),
     "stride 1"),
    (lambda: nn.Conv(3, 4, 3, groups=2), "groups=2 must divide"),
    (lambda: nn.Conv(3, 4, 3).apply(nn.Conv(3, 4, 3).init(fg.random.key(0))[0], {},
                                    np.ones((1, 2, 5, 5)), train=False), "expected an input"),
    # torch.nn.Conv1d(3, 4, 3) ported as nn.Conv(3, 4, 3) (2-d), and torch's unbatched input
    (lambda: nn.Conv(3, 4, 3).apply(nn.Conv(3, 4, 3).init(fg.random.key(0))[0], {},
                                    np.ones((2, 3, 9)), train=False),
     "give kernel_size as a tuple of 1 or spatial_dims=1"),
    (lambda: nn.Conv(3, 4, 3).apply(nn.Conv(3, 4, 3).init(fg.random.key(0))[0], {},
                                    np.ones((3, 9, 9)), train=False), r"x\[None\]"),
    (lambda: nn.max_pool(np.ones((1, 1, 4, 4)), 2, padding=2), "at most half the window"),
    (lambda: nn.conv_transpose(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=2,
                               output_padding=2), "output_padding must be smaller"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_shape_errors_under_tracing_name_the_primitive():
    with pytest.raises(fg.core.ShapeError, match="conv_general_dilated: .*feature_group_count"):
        fg.jit(lambda x, w: fg.lax.conv(x, w, (1, 1), "VALID"))(np.ones((1, 4, 5, 5)),
                                                                np.ones((2, 3, 3, 3)))


# ------------------------------------------------ fast paths: the same numbers, bit for bit

_vjp_module = __import__("importlib").import_module("funcgrad.transforms.vjp")


def _value_and_cotangents(fn, args, eager: bool = True):
    """``fn(*args)`` and the cotangents of a fixed random cotangent, by the eager rules
    (``eager_vjp``) or the traced ones."""
    out = fn(*args)
    cotangent = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    saved, _vjp_module.EAGER_RULES = _vjp_module.EAGER_RULES, eager
    try:
        return (out,) + tuple(fg.vjp(fn, *args)[1](cotangent))
    finally:
        _vjp_module.EAGER_RULES = saved


def _assert_bitwise(got, want):
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("shapes, padding, dilation, groups, batch_groups", [
    (((4, 3, 6, 5), (8, 3, 3, 3)), ((1, 1), (1, 1)), (1, 1), 1, 1),   # a CNN's "same" conv
    (((2, 4, 5, 7), (6, 2, 3, 3)), ((2, 0), (1, 1)), (1, 1), 2, 1),   # feature groups
    (((4, 2, 5, 4), (4, 2, 3, 3)), ((0, 2), (2, 0)), (1, 1), 1, 2),   # batch groups
    (((3, 2, 6, 6), (5, 2, 3, 2)), ((2, 2), (1, 1)), (2, 2), 1, 1),   # kernel dilation
    (((3, 2, 9), (4, 2, 4)), ((2, 1),), (1,), 1, 1),                  # one spatial axis
    (((64, 16, 4, 4), (32, 16, 3, 3)), ((1, 1), (1, 1)), (1, 1), 1, 1),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shifted_row_columns_give_the_strided_view_numbers(monkeypatch, shapes, padding,
                                                            dilation, groups, batch_groups,
                                                            dtype):
    """Where a window spans the input's width, im2col copies shifted rows
    (``_shifted_columns``); the convolution and both cotangents (eager and traced rules, the
    kernel's through the "features" layout) equal those of the strided-view copy exactly."""
    from funcgrad.ops import convolution as cv
    x, w = (RNG.standard_normal(s).astype(dtype) for s in shapes)

    def fn(x, w):
        return cv.conv_general_dilated(x, w, (1,) * len(padding), padding,
                                       rhs_dilation=dilation, feature_group_count=groups,
                                       batch_group_count=batch_groups)

    used = []
    original = cv._shifted_columns
    monkeypatch.setattr(cv, "_shifted_columns", lambda *a: used.append(a[9]) or original(*a))
    fast = [_value_and_cotangents(fn, (x, w), eager) for eager in (True, False)]
    assert set(used) == {"positions", "features"}
    monkeypatch.setattr(cv, "_shifted_columns", lambda *a: None)
    strided = _value_and_cotangents(fn, (x, w), False)
    _assert_bitwise(fast[0], strided)
    _assert_bitwise(fast[1], strided)


@pytest.mark.parametrize("shape, window", [
    ((2, 3, 8, 8), (1, 1, 2, 2)), ((2, 3, 7, 5), (1, 1, 2, 2)),   # the rest cropped
    ((3, 4, 9), (1, 2, 3)), ((6, 6), (3, 1)), ((4, 6), (2, 3)), ((5,), (1,))])
@pytest.mark.parametrize("values", ["normal", "ties"])
def test_tiled_max_pool_gives_the_fold_and_rule_numbers(monkeypatch, shape, window, values):
    """A max pool whose windows tile the input runs as strided maxima, and its eager
    reverse rule in NumPy; both equal the fold over offsets and the traced rule exactly,
    ties (shared), signed zeros and infinities included."""
    from funcgrad.ops import window as wd
    rng = np.random.default_rng(3)
    if values == "ties":
        x = rng.choice(np.array([0.0, -0.0, 1.0, 2.0, -np.inf, np.inf]), shape)
    else:
        x = rng.standard_normal(shape)

    def fn(x):
        return wd.reduce_window_max(x, window, window, ((0, 0),) * len(shape))

    fast = _value_and_cotangents(fn, (x,), True)
    monkeypatch.setattr(wd, "_tiled", lambda *a: False)
    _assert_bitwise(fast, _value_and_cotangents(fn, (x,), False))
