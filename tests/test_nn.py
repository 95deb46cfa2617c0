"""``fg.nn``: modules against reference formulas and PyTorch, train vs eval, state, the
training pattern under ``jit``, and misuse errors.

PyTorch comparisons run in float64 (skipped without torch), where both sides compute the
same formulas: agreement to 1e-12 relative leaves room only for summation order.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn

RNG = np.random.default_rng(7)
KEY = fg.random.key(0)


def _torch():
    return pytest.importorskip("torch")


def _tensor(torch, value, grad=False):
    return torch.tensor(np.asarray(value), dtype=torch.float64, requires_grad=grad)


# --------------------------------------------------------------------------------- Linear

def test_linear_layout_init_and_formula():
    layer = nn.Linear(5, 3)
    params, state = layer.init(KEY)
    assert state == {} and params["weight"].shape == (3, 5) and params["bias"].shape == (3,)
    bound = 1 / math.sqrt(5)
    assert all(np.all(np.abs(p) < bound) for p in params.values())
    x = RNG.standard_normal((4, 5))
    y, _ = layer.apply(params, state, x, train=False)
    np.testing.assert_allclose(y, x @ params["weight"].T + params["bias"], rtol=1e-14)
    no_bias = nn.Linear(5, 3, bias=False, dtype=np.float32)
    params, _ = no_bias.init(KEY)
    assert sorted(params) == ["weight"] and params["weight"].dtype == np.float32
    assert no_bias.apply(params, {}, x.astype(np.float32), train=True)[0].dtype == np.float32


def test_linear_init_is_spread_like_torch():
    weight = nn.Linear(400, 300).init(KEY)[0]["weight"]
    bound = 1 / math.sqrt(400)
    # Uniform on [-bound, bound): variance bound**2 / 3.
    assert abs(weight.var() / (bound**2 / 3) - 1) < 0.02 and abs(weight.mean()) < 1e-3 * 5


def test_linear_matches_torch_values_and_gradients():
    torch = _torch()
    layer = nn.Linear(4, 2)
    params, state = layer.init(KEY)
    x = RNG.standard_normal((3, 4))
    reference = torch.nn.Linear(4, 2).double()
    with torch.no_grad():
        reference.weight.copy_(_tensor(torch, params["weight"]))
        reference.bias.copy_(_tensor(torch, params["bias"]))
    expected = reference(_tensor(torch, x))
    expected.pow(2).sum().backward()

    def loss(params):
        y, _ = layer.apply(params, state, x, train=True)
        return fnp.sum(y ** 2)

    grads = fg.grad(loss)(params)
    np.testing.assert_allclose(layer.apply(params, state, x, train=False)[0],
                               expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads["weight"], reference.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads["bias"], reference.bias.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------ BatchNorm

def _batchnorm_reference(x, weight, bias, mean, var, momentum, eps, train):
    """PyTorch's BatchNorm1d, written out: features on axis 1."""
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if train:
        count = x.size // x.shape[1]
        batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
        y = (x - batch_mean.reshape(shape)) / np.sqrt(batch_var.reshape(shape) + eps)
        mean = (1 - momentum) * mean + momentum * batch_mean
        var = (1 - momentum) * var + momentum * batch_var * count / (count - 1)
    else:
        y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * weight.reshape(shape) + bias.reshape(shape), {"mean": mean, "var": var}


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=["NC", "NCL"])
def test_batchnorm_train_and_eval_against_the_formula(shape):
    bn = nn.BatchNorm(3, momentum=0.25, eps=1e-3)
    params, state = bn.init(KEY)
    params = {"weight": RNG.standard_normal(3), "bias": RNG.standard_normal(3)}
    x = RNG.standard_normal(shape) * 2 + 1
    for train in (True, False):
        y, new_state = bn.apply(params, state, x, train=train)
        want_y, want_state = _batchnorm_reference(x, params["weight"], params["bias"],
                                                  state["mean"], state["var"], 0.25, 1e-3, train)
        np.testing.assert_allclose(y, want_y, rtol=1e-12, atol=1e-12)
        for name in ("mean", "var"):
            np.testing.assert_allclose(new_state[name], want_state[name], rtol=1e-12)
        state = new_state


def test_batchnorm_train_vs_eval_and_state_only_through_the_return():
    bn = nn.BatchNorm(2)
    params, state = bn.init(KEY)
    before = copy.deepcopy(state)
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    y_train, trained = bn.apply(params, state, x, train=True)
    y_eval, same = bn.apply(params, trained, x, train=False)
    assert same is trained                                   # eval leaves the state as it is
    for name in state:                                       # nothing was written in place
        np.testing.assert_array_equal(state[name], before[name])
    np.testing.assert_allclose(y_train.mean(axis=0), 0, atol=1e-12)   # batch statistics
    np.testing.assert_allclose(trained["mean"], [0.3, 3.0])
    np.testing.assert_allclose(trained["var"], [0.9 + 0.1 * 4.0, 0.9 + 0.1 * 400.0])
    # Eval normalises with the running statistics: (x - 0.3) / sqrt(1.3 + eps) in column 0.
    np.testing.assert_allclose(y_eval[:, 0], (x[:, 0] - 0.3) / np.sqrt(1.3 + 1e-5))
    assert not np.allclose(y_train, y_eval)


def test_batchnorm_matches_torch_over_steps_in_both_modes():
    torch = _torch()
    bn = nn.BatchNorm(4, momentum=0.3)
    params, state = bn.init(KEY)
    params = {"weight": RNG.standard_normal(4), "bias": RNG.standard_normal(4)}
    reference = torch.nn.BatchNorm1d(4, momentum=0.3).double()
    with torch.no_grad():
        reference.weight.copy_(_tensor(torch, params["weight"]))
        reference.bias.copy_(_tensor(torch, params["bias"]))
    for step in range(3):
        x = RNG.standard_normal((6, 4)) * (step + 1) + step
        reference.train()
        expected = reference(_tensor(torch, x))
        y, state = bn.apply(params, state, x, train=True)
        np.testing.assert_allclose(y, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state["mean"], reference.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(state["var"], reference.running_var.numpy(), rtol=1e-12)
    reference.eval()
    x = RNG.standard_normal((5, 4))
    np.testing.assert_allclose(bn.apply(params, state, x, train=False)[0],
                               reference(_tensor(torch, x)).detach().numpy(), rtol=1e-12)


def test_batchnorm_gradients_match_torch():
    torch = _torch()
    bn = nn.BatchNorm(3)
    params, state = bn.init(KEY)
    params = {"weight": RNG.standard_normal(3), "bias": RNG.standard_normal(3)}
    x, weights = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))

    def loss(params, x):
        y, _ = bn.apply(params, state, x, train=True)
        return fnp.sum(fnp.tanh(y) * weights)

    grads, grad_x = fg.grad(loss, argnums=(0, 1))(params, x)
    reference = torch.nn.BatchNorm1d(3).double()
    with torch.no_grad():
        reference.weight.copy_(_tensor(torch, params["weight"]))
        reference.bias.copy_(_tensor(torch, params["bias"]))
    x_t = _tensor(torch, x, grad=True)
    (torch.tanh(reference(x_t)) * _tensor(torch, weights)).sum().backward()
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["weight"], reference.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads["bias"], reference.bias.grad.numpy(), rtol=1e-10)
    fg.check_grads(lambda w, b, x: loss({"weight": w, "bias": b}, x),
                   (params["weight"], params["bias"], x), order=2)


def test_batchnorm_state_keeps_its_dtype():
    bn = nn.BatchNorm(2, dtype=np.float32)
    params, state = bn.init(KEY)
    y, state = bn.apply(params, state, RNG.standard_normal((4, 2)).astype(np.float32),
                        train=True)
    assert y.dtype == np.float32 and all(v.dtype == np.float32 for v in state.values())


# -------------------------------------------------------------------------------- Dropout

def test_dropout_train_scales_and_zeroes_eval_is_identity():
    drop = nn.Dropout(0.25)
    params, state = drop.init(KEY)
    x = RNG.uniform(1.0, 2.0, (200, 50))
    y, same = drop.apply(params, state, x, train=True, key=KEY)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    assert abs(1 - kept.mean() - 0.25) < 0.01 and same == {}
    # The mask is the Bernoulli draw of that key: deterministic, and another key differs.
    np.testing.assert_array_equal(kept, fg.random.bernoulli(KEY, 0.75, x.shape))
    np.testing.assert_array_equal(drop.apply(params, state, x, train=True, key=KEY)[0], y)
    assert not np.array_equal(drop.apply(params, state, x, train=True,
                                         key=fg.random.key(1))[0], y)
    assert drop.apply(params, state, x, train=False)[0] is x
    assert drop.apply(params, state, x, train=False, key=KEY)[0] is x
    np.testing.assert_array_equal(nn.Dropout(1.0).apply({}, {}, x, train=True, key=KEY)[0], 0)
    assert nn.Dropout(0.0).apply({}, {}, x, train=True)[0] is x


def test_dropout_gradient_is_the_mask_over_keep():
    drop = nn.Dropout(0.5)
    x = RNG.standard_normal(100).astype(np.float32)
    grad = fg.grad(lambda v: fnp.sum(drop.apply({}, {}, v, train=True, key=KEY)[0]))(x)
    mask = fg.random.bernoulli(KEY, np.float32(0.5), x.shape)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, np.where(mask, 2.0, 0.0))


def test_dropout_scaling_matches_torch():
    torch = _torch()
    x = np.ones((100, 100))
    ours = nn.Dropout(0.3).apply({}, {}, x, train=True, key=KEY)[0]
    theirs = torch.nn.functional.dropout(_tensor(torch, x), p=0.3, training=True).numpy()
    assert set(np.unique(ours)) == set(np.unique(theirs)) == {0.0, 1 / 0.7}
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.03
    np.testing.assert_array_equal(
        torch.nn.functional.dropout(_tensor(torch, x), 0.3, training=False).numpy(),
        nn.Dropout(0.3).apply({}, {}, x, train=False)[0])


# ----------------------------------------------------------------------------- Sequential

def make_model(dtype=np.float64):
    return nn.Sequential([nn.Linear(6, 16, bias=False, dtype=dtype),
                          nn.BatchNorm(16, dtype=dtype), nn.relu, nn.Dropout(0.3),
                          nn.Linear(16, 16, dtype=dtype), nn.gelu, nn.Dropout(0.3),
                          nn.Linear(16, 4, dtype=dtype)])


MODEL = make_model()


def test_sequential_structure_and_keys_per_layer():
    params, state = MODEL.init(KEY)
    assert sorted(params, key=int) == [str(i) for i in range(8)]
    assert params["2"] == {} and sorted(state["1"]) == ["mean", "var"]
    x = RNG.standard_normal((10, 6))
    first, _ = MODEL.apply(params, state, x, train=True, key=fg.random.key(1))
    second, _ = MODEL.apply(params, state, x, train=True, key=fg.random.key(1))
    other, _ = MODEL.apply(params, state, x, train=True, key=fg.random.key(2))
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)
    # Each Dropout gets its own key: two identical dropouts do not share a mask.
    twin = nn.Sequential([nn.Dropout(0.5), nn.Dropout(0.5)])
    y, _ = twin.apply(*twin.init(KEY), np.ones(1000), train=True, key=KEY)
    assert set(np.unique(y)) == {0.0, 4.0} and abs((y == 4.0).mean() - 0.25) < 0.05


def test_train_and_eval_differ_and_eval_is_deterministic():
    params, state = MODEL.init(KEY)
    x = RNG.standard_normal((10, 6))
    _, state = MODEL.apply(params, state, x, train=True, key=KEY)
    y_train, _ = MODEL.apply(params, state, x, train=True, key=KEY)
    y_eval, eval_state = MODEL.apply(params, state, x, train=False)
    np.testing.assert_array_equal(y_eval, MODEL.apply(params, state, x, train=False)[0])
    assert not np.allclose(y_train, y_eval)
    assert fg.tree.structure(eval_state) == fg.tree.structure(state)


def test_a_user_module_in_sequential():
    class Scale(nn.Module):
        def init(self, key):
            return {"scale": fg.random.normal(key, ())}, {"calls": np.zeros((), np.int64)}

        def apply(self, params, state, x, *, train, key=None):
            return params["scale"] * x, {"calls": state["calls"] + 1}

    model = nn.Sequential([nn.Linear(2, 2), Scale()])
    params, state = model.init(KEY)
    y, state = model.apply(params, state, np.ones((3, 2)), train=True)
    assert int(state["1"]["calls"]) == 1
    grads = fg.grad(lambda p: fnp.sum(model.apply(p, state, np.ones((3, 2)), train=True)[0]))(
        params)
    assert fg.tree.structure(grads) == fg.tree.structure(params)


# ------------------------------------------------------------------ the training pattern

OPTIMIZER = fg.optim.adam(1e-2)


def loss_fn(params, state, x, y, key):
    logits, state = MODEL.apply(params, state, x, train=True, key=key)
    return nn.cross_entropy(logits, y), state


def train_step(params, state, opt_state, x, y, key):
    (loss, state), grads = fg.value_and_grad(loss_fn, has_aux=True)(params, state, x, y, key)
    updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
    return fg.optim.apply_updates(params, updates), state, opt_state, loss


TRAIN_STEP = fg.jit(train_step)


def _batch(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((12, 6)), rng.integers(0, 4, 12)


def test_training_pattern_keeps_state_out_of_the_gradient():
    params, state = MODEL.init(KEY)
    x, y = _batch(0)
    (loss, new_state), grads = fg.value_and_grad(loss_fn, has_aux=True)(params, state, x, y, KEY)
    assert fg.tree.structure(grads) == fg.tree.structure(params)
    assert not np.allclose(new_state["1"]["mean"], state["1"]["mean"])
    np.testing.assert_allclose(loss, loss_fn(params, state, x, y, KEY)[0], rtol=1e-15)


def test_a_jitted_training_step_equals_the_eager_one():
    """Three steps (Adam, BatchNorm state, a fresh dropout key each), float64. Compiled
    kernels use funcgrad's vectorised exp/log/tanh (a few ulps from NumPy's) and their own
    summation order, so values agree to ~1e-13 relative after three steps, not bitwise; the
    first Linear has no bias (its gradient would be rounding noise, which Adam's first step
    turns into +-lr in either direction)."""
    params, state = MODEL.init(KEY)
    opt_state = OPTIMIZER.init(params)
    eager = jitted = (params, state, opt_state)
    x, y = _batch(1)
    TRAIN_STEP.compile(*jitted, x, y, KEY)
    for step in range(3):
        x, y = _batch(step)
        key = fg.random.fold_in(KEY, step)
        *eager, eager_loss = train_step(*eager, x, y, key)
        *jitted, jitted_loss = TRAIN_STEP(*jitted, x, y, key)
        np.testing.assert_allclose(jitted_loss, eager_loss, rtol=1e-12)
    for got, want in zip(fg.tree.leaves(jitted), fg.tree.leaves(eager)):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    assert int(jitted[2]["count"]) == 3 and TRAIN_STEP.recompiles == []


# --------------------------------------------------------------------- activations, losses

def test_relu_has_zero_derivative_at_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(fg.grad(lambda v: fnp.sum(nn.relu(v)))(x), [0.0, 0.0, 1.0])
    assert nn.relu(np.float32(-2.0)).dtype == np.float32


ACTIVATIONS = [
    ("relu", nn.relu, "relu"),
    ("gelu", nn.gelu, "gelu"),
    ("gelu_tanh", lambda x: nn.gelu(x, approximate=True), "gelu_tanh"),
    ("sigmoid", nn.sigmoid, "sigmoid"),
    ("tanh", nn.tanh, "tanh"),
    ("softmax", lambda x: nn.softmax(x, axis=1), "softmax"),
    ("log_softmax", lambda x: nn.log_softmax(x, axis=0), "log_softmax"),
    ("logsumexp", lambda x: nn.logsumexp(x, axis=1), "logsumexp"),
]


def _torch_activation(torch, name, x):
    functional = torch.nn.functional
    return {"relu": torch.relu, "gelu": functional.gelu,
            "gelu_tanh": lambda t: functional.gelu(t, approximate="tanh"),
            "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "softmax": lambda t: torch.softmax(t, 1),
            "log_softmax": lambda t: torch.log_softmax(t, 0),
            "logsumexp": lambda t: torch.logsumexp(t, 1)}[name](x)


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch_values_and_gradients(name, ours, theirs):
    torch = _torch()
    x = RNG.standard_normal((4, 5)) * 3
    weights = RNG.standard_normal(np.shape(ours(x)))
    x_t = _tensor(torch, x, grad=True)
    expected = _torch_activation(torch, theirs, x_t)
    (expected * _tensor(torch, weights)).sum().backward()
    np.testing.assert_allclose(ours(x), expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    grad = fg.grad(lambda v: fnp.sum(ours(v) * weights))(x)
    np.testing.assert_allclose(grad, x_t.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name, ours", [(a[0], a[1]) for a in ACTIVATIONS if a[0] != "relu"],
                         ids=[a[0] for a in ACTIVATIONS if a[0] != "relu"])
def test_activations_have_correct_second_derivatives(name, ours):
    x = RNG.standard_normal((3, 4))
    fg.check_grads(lambda v: fnp.sum(ours(v) ** 2), (x,), order=2)


def test_activation_formulas_and_dtypes():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(nn.gelu(x), x * 0.5 * (1 + np.vectorize(math.erf)(x / 2**0.5)),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(nn.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    assert nn.softmax(np.array([1000.0, 1000.0])).tolist() == [0.5, 0.5]
    with np.errstate(divide="ignore"):   # log(0), as NumPy says
        assert nn.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert nn.logsumexp(np.array([0.0, -np.inf])) == 0.0
    x32 = x.astype(np.float32)
    for function in (nn.relu, nn.gelu, nn.sigmoid, nn.tanh, nn.softmax, nn.log_softmax):
        assert function(x32).dtype == np.float32
        assert fg.grad(lambda v, f=function: fnp.sum(f(v)))(x32).dtype == np.float32


def test_logsumexp_axes_and_keepdims():
    x = RNG.standard_normal((2, 3, 4))
    for axis in (None, 0, 2, (0, 2)):
        for keepdims in (False, True):
            expected = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
            np.testing.assert_allclose(nn.logsumexp(x, axis, keepdims), expected, rtol=1e-13)


def test_one_hot():
    np.testing.assert_array_equal(nn.one_hot(np.array([[0, 2], [1, 5]]), 3),
                                  [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 0]]])
    assert nn.one_hot([1], 2, np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="integer class indices"):
        nn.one_hot(np.array([1.0]), 2)


def test_losses_match_torch():
    torch = _torch()
    logits, labels = RNG.standard_normal((6, 4)), RNG.integers(0, 4, 6)
    logits_t = _tensor(torch, logits, grad=True)
    expected = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(labels))
    expected.backward()
    value, grad = fg.value_and_grad(nn.cross_entropy)(logits, labels)
    np.testing.assert_allclose(value, expected.item(), rtol=1e-13)
    np.testing.assert_allclose(grad, logits_t.grad.numpy(), rtol=1e-12, atol=1e-15)
    # PyTorch's ignore_index=-100 (padding labels) leaves rows out of the mean, also under jit
    padded = labels.copy()
    padded[[1, 4]] = -100
    logits_t.grad = None
    expected = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(padded))
    expected.backward()
    for value, grad in (fg.value_and_grad(nn.cross_entropy)(logits, padded),
                        fg.jit(fg.value_and_grad(nn.cross_entropy))(logits, padded)):
        np.testing.assert_allclose(value, expected.item(), rtol=1e-13)
        np.testing.assert_allclose(grad, logits_t.grad.numpy(), rtol=1e-12, atol=1e-15)
    # PyTorch's class-probability targets (smoothed one-hot rows); they raised "labels must
    # be integer class indices ... (cast with .astype(int))"
    soft = 0.9 * np.eye(4)[labels] + 0.1 / 4
    logits_t.grad = None
    expected = torch.nn.functional.cross_entropy(logits_t, _tensor(torch, soft))
    expected.backward()
    value, grad = fg.value_and_grad(nn.cross_entropy)(logits, soft)
    np.testing.assert_allclose(value, expected.item(), rtol=1e-13)
    np.testing.assert_allclose(grad, logits_t.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert nn.cross_entropy(logits.astype(np.float32), soft).dtype == np.float32
    # PyTorch's segmentation layout, classes on axis 1: the error says to move them last
    pixels = RNG.standard_normal((2, 4, 5))   # (N, C, L)
    with pytest.raises(ValueError, match=r"fnp.moveaxis\(logits, 1, -1\)"):
        nn.cross_entropy(pixels, np.zeros((2, 5), np.int64))
    expected = torch.nn.functional.cross_entropy(_tensor(torch, pixels),
                                                 torch.zeros((2, 5), dtype=torch.int64))
    np.testing.assert_allclose(nn.cross_entropy(fnp.moveaxis(pixels, 1, -1),
                                                np.zeros((2, 5), np.int64)), expected.item())
    prediction, target = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))
    np.testing.assert_allclose(nn.mse_loss(prediction, target), torch.nn.functional.mse_loss(
        _tensor(torch, prediction), _tensor(torch, target)).item(), rtol=1e-13)


def test_loss_formulas_and_shape_errors():
    logits = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    np.testing.assert_allclose(nn.cross_entropy(logits, np.array([1, 0])),
                               -(np.log(0.75) + np.log(0.5)) / 2)
    assert nn.mse_loss(np.array([1.0, 3.0]), np.array([0.0, 1.0])) == 2.5
    with pytest.raises(ValueError, match=r"labels of shape \(2,\).*got \(2, 1\)"):
        nn.cross_entropy(logits, np.array([[1], [0]]))
    with pytest.raises(TypeError, match="integer class indices"):
        nn.cross_entropy(logits, np.array([1.0, 0.0]))
    # an out-of-range label was a silent wrong loss (its one-hot row is zeros); torch raises
    for bad in ([2, 1], [-1, 0]):
        with pytest.raises(IndexError, match=rf"label {bad[0]} is out of bounds for 2 classes"):
            fg.grad(nn.cross_entropy)(logits, np.array(bad))
    with pytest.raises(ValueError, match=r"mse_loss: prediction has shape \(3, 1\) but target "
                       r"has shape \(3,\)"):
        nn.mse_loss(np.zeros((3, 1)), np.zeros(3))


# ----------------------------------------------------------------------------------- misuse

def test_dropout_without_a_key_in_training_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Dropout\(0.5\) needs a key when train=True"):
        nn.Dropout(0.5).apply({}, {}, np.ones(3), train=True)
    params, state = MODEL.init(KEY)
    with pytest.raises(ValueError, match=r"Sequential layer 3: Dropout\(0.3\) needs a key"):
        MODEL.apply(params, state, np.ones((4, 6)), train=True)
    # Inside a transformation too, pointing at the layer.
    with pytest.raises(ValueError, match="Dropout"):
        fg.jit(lambda p, s, x: MODEL.apply(p, s, x, train=True))(params, state, np.ones((4, 6)))


def test_wrong_state_structure_names_the_module_and_the_expected_keys():
    params, state = MODEL.init(KEY)
    with pytest.raises(ValueError, match=r"Sequential: state must be a dict with keys "
                       r"\['0', '1', .*got a dict with keys \['1'\]"):
        MODEL.apply(params, {"1": state["1"]}, np.ones((4, 6)), train=False)
    broken = dict(state, **{"1": {"mean": state["1"]["mean"]}})
    with pytest.raises(ValueError, match=r"Sequential layer 1: BatchNorm\(16\): state must be a "
                       r"dict with keys \['mean', 'var'\].*got a dict with keys \['mean'\]"):
        MODEL.apply(params, broken, np.ones((4, 6)), train=False)
    bn = nn.BatchNorm(3)
    bn_params, bn_state = bn.init(KEY)
    with pytest.raises(ValueError, match=r"BatchNorm\(3\): state\['var'\] must have shape "
                       r"\(3,\), got \(4,\)"):
        bn.apply(bn_params, {"mean": np.zeros(3), "var": np.ones(4)}, np.ones((2, 3)),
                 train=True)
    with pytest.raises(ValueError, match=r"Linear\(6, 16, bias=False\): params must be a dict "
                       r"with keys \['weight'\].*got a dict with keys \['bias', 'weight'\]"):
        MODEL.layers[0].apply(params["4"], {}, np.ones((2, 6)), train=False)
    # Swapping params and state is caught too.
    with pytest.raises(ValueError, match=r"BatchNorm\(3\): state must be a dict"):
        bn.apply(bn_params, bn_params, np.ones((2, 3)), train=False)


def test_wrong_input_width_names_the_layer_expected_and_got():
    params, state = MODEL.init(KEY)
    with pytest.raises(ValueError, match=r"Sequential layer 0: Linear\(6, 16, bias=False\): "
                       r"expected an input with 6 features on its last axis, got an input of "
                       r"shape \(4, 5\)"):
        MODEL.apply(params, state, np.ones((4, 5)), train=False)
    with pytest.raises(ValueError, match=r"BatchNorm\(3\): expected an input of shape "
                       r"\(N, 3\) or \(N, 3, \*spatial\).*got \(2, 4\)"):
        nn.BatchNorm(3).apply(*nn.BatchNorm(3).init(KEY), np.ones((2, 4)), train=False)
    with pytest.raises(ValueError, match="more than one value per feature"):
        nn.BatchNorm(3).apply(*nn.BatchNorm(3).init(KEY), np.ones((1, 3)), train=True)


def test_train_is_a_required_keyword():
    params, state = MODEL.init(KEY)
    with pytest.raises(TypeError, match="train"):
        MODEL.apply(params, state, np.ones((2, 6)))
    with pytest.raises(TypeError, match="train"):
        nn.Linear(2, 2).apply(*nn.Linear(2, 2).init(KEY), np.ones(2))
    with pytest.raises(TypeError, match="train must be True or False"):
        MODEL.apply(params, state, np.ones((2, 6)), train="yes")
    with pytest.raises(TypeError, match="neither a module"):
        nn.Sequential([nn.Linear(2, 2), 3])
