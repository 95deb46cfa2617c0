"""The layers, activations and initializers of ``fg.nn`` beyond Linear/BatchNorm/Dropout:
values and gradients against PyTorch in float64 (skipped without torch), with torch's own
initialised (then perturbed) weights copied into funcgrad's params; hand formulas where torch
has no counterpart; one jitted transformer block against eager; second-order gradient checks.

Shapes stay tiny: every jit here is one small numba compile.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.nn import initializers

RNG = np.random.default_rng(11)
KEY = fg.random.key(0)
TOL = dict(rtol=1e-10, atol=1e-11)


def _torch():
    return pytest.importorskip("torch")


def _params_from(module, rename=lambda name: name):
    """A torch module's parameters as funcgrad's nested dict (``a.b`` -> ``{"a": {"b"}}``),
    each first perturbed so that no weight is a trivial 1 or 0."""
    torch = _torch()
    params = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.add_(0.3 * torch.randn_like(p))
            *outer, last = rename(name).split(".")
            node = params
            for part in outer:
                node = node.setdefault(part, {})
            node[last] = p.detach().numpy().copy()
    return params


def _flat(tree, prefix=""):
    out = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def _agree(torch_module, torch_call, fg_call, inputs, rename=lambda name: name):
    """Values and gradients (w.r.t. every parameter and every float input) of
    ``sum(y * cotangent)`` agree; returns the largest absolute difference seen."""
    torch = _torch()
    params = _params_from(torch_module, rename)
    torch_module.zero_grad(set_to_none=True)
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    y_torch = torch_call(*tensors)
    cotangent = RNG.standard_normal(tuple(y_torch.shape))
    (y_torch * torch.tensor(cotangent)).sum().backward()

    def loss(params, *xs):
        y = fg_call(params, *xs)
        return fnp.sum(y * cotangent), y

    (_, y), (g_params, *g_inputs) = fg.value_and_grad(
        loss, argnums=tuple(range(len(inputs) + 1)), has_aux=True)(params, *inputs)
    worst = np.max(np.abs(y - y_torch.detach().numpy()))
    np.testing.assert_allclose(y, y_torch.detach().numpy(), **TOL)
    for tensor, g in zip(tensors, g_inputs):
        np.testing.assert_allclose(g, tensor.grad.numpy(), **TOL)
        worst = max(worst, np.max(np.abs(g - tensor.grad.numpy())))
    flat = _flat(g_params)
    for name, p in torch_module.named_parameters():
        np.testing.assert_allclose(flat[rename(name)], p.grad.numpy(), **TOL, err_msg=name)
        worst = max(worst, np.max(np.abs(flat[rename(name)] - p.grad.numpy())))
    print(f"max |funcgrad - torch| ({type(torch_module).__name__}): {worst:.1e}")
    return worst


# ------------------------------------------------------------------------------ activations

def _activation_pairs():
    torch = _torch()
    F = torch.nn.functional
    return [
        (nn.relu6, F.relu6), (nn.silu, F.silu), (nn.swish, F.silu), (nn.elu, F.elu),
        (lambda x: nn.elu(x, 0.7), lambda x: F.elu(x, 0.7)), (nn.selu, F.selu),
        (lambda x: nn.celu(x, 1.5), lambda x: F.celu(x, 1.5)),
        (nn.leaky_relu, F.leaky_relu),
        (lambda x: nn.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
        (nn.softplus, F.softplus), (nn.soft_sign, F.softsign), (nn.log_sigmoid, F.logsigmoid),
        (nn.hard_tanh, F.hardtanh), (nn.hard_sigmoid, F.hardsigmoid),
        (nn.hard_silu, F.hardswish), (nn.hard_swish, F.hardswish), (nn.mish, F.mish),
        (nn.gelu, F.gelu), (nn.relu, F.relu), (nn.sigmoid, torch.sigmoid),
        (nn.glu, F.glu), (lambda x: nn.glu(x, axis=0), lambda x: F.glu(x, dim=0)),
    ]


def test_activations_match_torch_values_and_gradients():
    torch = _torch()
    F = torch.nn.functional
    x = 4.0 * RNG.standard_normal((6, 8))
    worst = 0.0
    for ours, theirs in _activation_pairs():
        t = torch.tensor(x, requires_grad=True)
        y = theirs(t)
        y.sum().backward()
        value, grad = fg.value_and_grad(lambda v, f=ours: fnp.sum(f(v)))(x)
        np.testing.assert_allclose(ours(x), y.detach().numpy(), rtol=1e-13, atol=1e-14)
        if theirs is F.hardsigmoid:
            # torch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32.
            np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-7)
            continue
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-13, atol=1e-14)
        worst = max(worst, np.max(np.abs(ours(x) - y.detach().numpy())),
                    np.max(np.abs(grad - t.grad.numpy())))
    print(f"max |funcgrad - torch| (activations): {worst:.1e}")


def test_activation_kinks_follow_torch():
    torch = _torch()
    F = torch.nn.functional
    pairs = [(nn.relu6, F.relu6, [0.0, 6.0]), (nn.hard_tanh, F.hardtanh, [-1.0, 1.0]),
             (nn.hard_sigmoid, F.hardsigmoid, [-3.0, 3.0]), (nn.leaky_relu, F.leaky_relu, [0.0]),
             (nn.elu, F.elu, [0.0]), (nn.celu, F.celu, [0.0])]
    for ours, theirs, points in pairs:
        for point in points:
            t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
            theirs(t).backward()
            assert float(fg.grad(ours)(point)) == pytest.approx(float(t.grad)), (ours, point)


def test_activations_without_torch_counterpart_follow_their_formulas():
    x = 3.0 * RNG.standard_normal(50)
    np.testing.assert_allclose(nn.sparse_plus(x),
                               np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)))
    np.testing.assert_allclose(nn.sparse_sigmoid(x), np.clip((x + 1) / 2, 0, 1))
    np.testing.assert_allclose(fg.vmap(fg.grad(nn.sparse_plus))(x), nn.sparse_sigmoid(x))
    np.testing.assert_allclose(nn.squareplus(x), (x + np.sqrt(x * x + 4)) / 2, rtol=1e-14)
    np.testing.assert_allclose(nn.squareplus(x, b=1.0), (x + np.sqrt(x * x + 1)) / 2)
    np.testing.assert_array_equal(nn.identity(x), x)
    m = RNG.standard_normal((3, 7))
    np.testing.assert_allclose(
        nn.standardize(m), (m - m.mean(-1, keepdims=True)) / np.sqrt(m.var(-1, keepdims=True)
                                                                    + 1e-5), rtol=1e-13)
    np.testing.assert_allclose(nn.standardize(m, axis=0, epsilon=0.0).std(0), 1.0)
    # Stability far out, and float32 in, float32 out.
    assert float(nn.softplus(800.0)) == 800.0 and float(nn.log_sigmoid(-800.0)) == -800.0
    assert np.isfinite(fg.grad(nn.elu)(800.0)) and np.isfinite(fg.grad(nn.celu)(800.0))
    x32 = x.astype(np.float32)
    for f in (nn.silu, nn.elu, nn.selu, nn.softplus, nn.mish, nn.hard_silu, nn.squareplus,
              nn.log_sigmoid, nn.glu):
        assert f(x32).dtype == np.float32, f


def test_smooth_activations_second_order():
    x = np.array([-1.3, 0.4, 2.2])
    for f in (nn.silu, nn.selu, nn.softplus, nn.mish, nn.log_sigmoid, nn.squareplus,
              nn.soft_sign):
        fg.check_grads(lambda v, f=f: fnp.sum(f(v)), (x,), order=2)


# ------------------------------------------------------------------------------------ norms

def test_layer_norm_matches_torch():
    torch = _torch()
    x = RNG.standard_normal((2, 3, 5))
    ref = torch.nn.LayerNorm(5).double()
    layer = nn.LayerNorm(5)
    assert sorted(layer.init(KEY)[0]) == ["bias", "weight"]
    _agree(ref, ref, lambda p, v, m=layer: m.apply(p, {}, v, train=True)[0], [x])
    ref = torch.nn.LayerNorm((3, 5), eps=1e-3).double()
    layer = nn.LayerNorm((3, 5), eps=1e-3)
    _agree(ref, ref, lambda p, v, m=layer: m.apply(p, {}, v, train=False)[0], [x])
    ref = torch.nn.LayerNorm(5, bias=False).double()
    layer = nn.LayerNorm(5, bias=False)
    _agree(ref, ref, lambda p, v, m=layer: m.apply(p, {}, v, train=False)[0], [x])


def test_rms_norm_matches_torch():
    torch = _torch()
    x = RNG.standard_normal((4, 6))
    for eps in (None, 1e-2):
        ref = torch.nn.RMSNorm(6, eps=eps).double()
        layer = nn.RMSNorm(6, eps=eps)
        _agree(ref, ref, lambda p, v, m=layer: m.apply(p, {}, v, train=False)[0], [x])


def test_group_norm_matches_torch():
    torch = _torch()
    x = RNG.standard_normal((3, 6, 4, 2))
    for groups in (1, 2, 6):
        ref = torch.nn.GroupNorm(groups, 6).double()
        layer = nn.GroupNorm(groups, 6)
        _agree(ref, ref, lambda p, v, m=layer: m.apply(p, {}, v, train=True)[0], [x])
    with pytest.raises(ValueError, match="multiple of num_groups"):
        nn.GroupNorm(4, 6)


def test_norms_second_order_and_errors():
    layer = nn.LayerNorm(3)
    params = {"weight": np.array([0.5, 1.0, 2.0]), "bias": np.array([0.1, 0.0, -0.1])}
    x = RNG.standard_normal((2, 3))
    fg.check_grads(lambda p, v: fnp.sum(layer.apply(p, {}, v, train=False)[0] ** 3),
                   (params, x), order=2)
    rms = nn.RMSNorm(3)
    fg.check_grads(lambda v: fnp.sum(rms.apply({"weight": params["weight"]}, {}, v,
                                               train=False)[0] ** 3), (x,), order=2)
    with pytest.raises(ValueError, match=r"LayerNorm\(4\): expected an input ending in"):
        nn.LayerNorm(4).apply(*nn.LayerNorm(4).init(KEY), x, train=False)


# -------------------------------------------------------------------------------- Embedding

def test_embedding_matches_torch():
    torch = _torch()
    ref = torch.nn.Embedding(7, 3).double()
    table = nn.Embedding(7, 3)
    weight = table.init(KEY)[0]["weight"]
    assert weight.shape == (7, 3) and abs(weight.std() - 1) < 0.6
    ids = np.array([[0, 3, 3], [6, 1, 3]])
    _agree(ref, lambda: ref(torch.tensor(ids)),
           lambda p: table.apply(p, {}, ids, train=False)[0], [])
    with pytest.raises(IndexError, match=r"\[0, 7\)"):
        table.apply({"weight": weight}, {}, np.array([7]), train=False)
    with pytest.raises(TypeError, match="integer indices"):
        table.apply({"weight": weight}, {}, np.array([1.0]), train=False)
    # Traced indices (under jit or vmap) work too.
    rows = fg.vmap(lambda i: table.apply({"weight": weight}, {}, i, train=False)[0])(ids)
    np.testing.assert_array_equal(rows, weight[ids])


@pytest.mark.parametrize("padding_idx", [3, -4])
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient(padding_idx):
    torch = _torch()
    table = nn.Embedding(7, 3, padding_idx=padding_idx)
    assert repr(table) == "Embedding(7, 3, padding_idx=3)"
    params, _ = table.init(KEY)
    np.testing.assert_array_equal(params["weight"][3], 0.0)
    params = {"weight": RNG.normal(size=(7, 3))}   # a padding row that is not zero any more
    ref = torch.nn.Embedding(7, 3, padding_idx=padding_idx).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(params["weight"]))
    ids = np.array([[0, 3, 3], [6, 1, 3]])
    (ref(torch.tensor(ids)) ** 3).sum().backward()
    loss = lambda p: fnp.sum(table.apply(p, {}, ids, train=True)[0] ** 3)   # noqa: E731
    value, grads = fg.value_and_grad(loss)(params)
    np.testing.assert_allclose(value, (params["weight"][ids] ** 3).sum(), rtol=1e-13)
    np.testing.assert_allclose(grads["weight"], ref.weight.grad.numpy(), rtol=1e-13)
    assert not grads["weight"][3].any() and grads["weight"][0].any()
    with pytest.raises(ValueError, match="padding_idx must be an int"):
        nn.Embedding(7, 3, padding_idx=7)


# -------------------------------------------------------------------------------- attention

def _torch_bool(mask):
    return _torch().tensor(mask)


def test_multi_head_attention_matches_torch_with_causal_and_padding_masks():
    torch = _torch()
    batch, length, dim, heads = 2, 4, 6, 3
    ref = torch.nn.MultiheadAttention(dim, heads, batch_first=True).double()
    layer = nn.MultiHeadAttention(heads, dim)
    params, _ = layer.init(KEY)
    assert {k: np.shape(v) for k, v in _flat(params).items()} == {
        k: tuple(p.shape) for k, p in ref.named_parameters()}
    x = RNG.standard_normal((batch, length, dim))
    causal = np.triu(np.ones((length, length), bool), 1)      # torch: True = masked out
    padding = np.array([[False] * length, [False, False, True, True]])

    def torch_call(v, ctx=None, **kw):
        ctx = v if ctx is None else ctx
        return ref(v, ctx, ctx, need_weights=False, **kw)[0]

    _agree(ref, torch_call, lambda p, v, m=layer: m.apply(p, {}, v, train=False)[0], [x])
    _agree(ref, lambda v: torch_call(v, attn_mask=_torch_bool(causal), is_causal=True),
           lambda p, v, m=layer: m.apply(p, {}, v, train=False, is_causal=True)[0], [x])
    _agree(ref, lambda v: torch_call(v, attn_mask=_torch_bool(causal),
                                     key_padding_mask=_torch_bool(padding)),
           lambda p, v, m=layer: m.apply(p, {}, v, train=True, mask=~causal,
                                    key_padding_mask=padding)[0], [x])
    # Cross-attention to a context of another length, with padding.
    context = RNG.standard_normal((batch, 5, dim))
    pad5 = np.array([[False] * 4 + [True], [False] * 5])
    _agree(ref, lambda v, c: torch_call(v, c, key_padding_mask=_torch_bool(pad5)),
           lambda p, v, c: layer.apply(p, {}, v, train=False, context=c,
                                       key_padding_mask=pad5)[0], [x, context])
    # Unbatched input is the batch of one.
    y1 = layer.apply(params, {}, x[0], train=False, is_causal=True)[0]
    np.testing.assert_allclose(y1, layer.apply(params, {}, x[:1], train=False,
                                               is_causal=True)[0][0], rtol=1e-14)


def test_dot_product_attention_formula_and_fully_masked_rows():
    q = RNG.standard_normal((2, 3, 2, 4))
    k = RNG.standard_normal((2, 5, 2, 4))
    v = RNG.standard_normal((2, 5, 2, 4))
    bias = RNG.standard_normal((2, 3, 5))
    logits = np.einsum("btnh,bsnh->bnts", q, k) / 2.0 + bias
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(nn.dot_product_attention(q, k, v, bias=bias),
                               np.einsum("bnts,bsnh->btnh", weights, v), rtol=1e-12)
    mask = np.ones((3, 5), bool)
    mask[1] = False                         # query 1 sees nothing: uniform weights, no nan
    out = nn.dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_allclose(out[:, 1], v.mean(axis=1), rtol=1e-12)
    torch = _torch()
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(t).transpose(1, 2) for t in (q, k, v)), is_causal=True).transpose(1, 2)
    np.testing.assert_allclose(nn.dot_product_attention(q, k, v, is_causal=True),
                               expected.numpy(), rtol=1e-12)


def test_a_mask_that_is_not_boolean_is_refused_not_inverted():
    # PyTorch's additive float mask (0 allowed, -inf not) was read as bools, so a causal
    # mask let each query see the future only; JAX refuses it too.
    q = RNG.standard_normal((2, 3, 1, 4))
    additive = np.triu(np.full((3, 3), -np.inf), 1)
    with pytest.raises(TypeError, match="mask must be boolean.*use bias="):
        nn.dot_product_attention(q, q, q, mask=additive)
    np.testing.assert_allclose(nn.dot_product_attention(q, q, q, bias=additive),
                               nn.dot_product_attention(q, q, q, is_causal=True), rtol=1e-12)
    attention = nn.MultiHeadAttention(1, 4)
    params, state = attention.init(fg.random.key(0))
    with pytest.raises(TypeError, match=r"mask=\(float_mask == 0\)"):
        attention.apply(params, state, q[:, :, 0], train=False, mask=additive)
    with pytest.raises(TypeError, match="key_padding_mask must be boolean"):   # 1 = keep
        attention.apply(params, state, q[:, :, 0], train=False,
                        key_padding_mask=np.ones((2, 3), np.int64))


# ----------------------------------------------------------------------- recurrent networks

def test_lstm_cell_matches_torch():
    torch = _torch()
    ref = torch.nn.LSTMCell(3, 4).double()
    cell = nn.LSTMCell(3, 4)
    params, _ = cell.init(KEY)
    assert {k: v.shape for k, v in params.items()} == {
        k: tuple(p.shape) for k, p in ref.named_parameters()}
    assert all(np.all(np.abs(p) <= 0.5) for p in params.values())      # 1/sqrt(hidden)
    x, h, c = (RNG.standard_normal((2, n)) for n in (3, 4, 4))

    def ours(p, x, h, c):
        ((h, c), y), _ = cell.apply(p, {}, ((h, c), x), train=False)
        return fnp.concatenate([h, c, y], axis=-1)

    def theirs(x, h, c):
        h, c = ref(x, (h, c))
        return torch.cat([h, c, h], dim=-1)

    _agree(ref, theirs, ours, [x, h, c])
    ((h0, c0), _), _ = cell.apply(params, {}, (None, x), train=False)
    ((h1, c1), _), _ = cell.apply(params, {}, ((np.zeros((2, 4)),) * 2, x), train=False)
    np.testing.assert_array_equal(h0, h1)
    # a carry of another hidden size was NumPy's matmul "mismatch in its core dimension 0"
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\): the carry must have 4 features"):
        cell.apply(params, {}, ((np.zeros((2, 5)),) * 2, x), train=False)


def test_gru_cell_matches_torch_and_second_order():
    torch = _torch()
    ref = torch.nn.GRUCell(3, 4).double()
    cell = nn.GRUCell(3, 4)
    x, h = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4))
    _agree(ref, ref, lambda p, x, h: cell.apply(p, {}, (h, x), train=False)[0][1], [x, h])
    params, _ = nn.GRUCell(2, 2).init(KEY)
    fg.check_grads(lambda p, v: fnp.sum(nn.GRUCell(2, 2).apply(p, {}, (None, v),
                                                               train=False)[0][0] ** 2),
                   (params, np.array([0.3, -0.8])), order=2)


def test_rnn_over_a_sequence_matches_torch_lstm_and_gru():
    torch = _torch()
    x = RNG.standard_normal((2, 5, 3))

    def rename(name):
        return name.replace("_l0", "")

    ref = torch.nn.LSTM(3, 4, batch_first=True).double()
    rnn = nn.RNN(nn.LSTMCell(3, 4), return_carry=True)

    def ours(p, v):
        (h, c), ys = rnn.apply(p, {}, v, train=False)[0]
        return fnp.concatenate([ys, h[:, None], c[:, None]], axis=1)

    def theirs(v):
        ys, (h, c) = ref(v)
        return torch.cat([ys, h.transpose(0, 1), c.transpose(0, 1)], dim=1)

    _agree(ref, theirs, ours, [x], rename)
    ref = torch.nn.GRU(3, 4).double()                     # time-major
    rnn = nn.RNN(nn.GRUCell(3, 4), batch_first=False)
    x_tm = np.swapaxes(x, 0, 1).copy()
    _agree(ref, lambda v: ref(v)[0], lambda p, v: rnn.apply(p, {}, v, train=False)[0],
           [x_tm], rename)
    # reverse=True equals running the flipped sequence, outputs flipped back.
    params, _ = nn.GRUCell(3, 4).init(KEY)
    backwards = nn.RNN(nn.GRUCell(3, 4), reverse=True).apply(params, {}, x, train=False)[0]
    forwards = nn.RNN(nn.GRUCell(3, 4)).apply(params, {}, x[:, ::-1], train=False)[0]
    np.testing.assert_allclose(backwards, forwards[:, ::-1], rtol=1e-13)


# -------------------------------------------------------------------------------- BatchNorm

def test_batch_norm_2d_train_eval_running_stats_match_torch():
    torch = _torch()
    for momentum in (0.2, None):
        ref = torch.nn.BatchNorm2d(3, momentum=momentum).double()
        bn = nn.BatchNorm(3, momentum=momentum)
        params = _params_from(ref)
        _, state = bn.init(KEY)
        assert ("num_batches_tracked" in state) == (momentum is None)
        ref.train()
        for step in range(3):
            x = RNG.standard_normal((4, 3, 2, 3)) * (step + 1) + step
            with torch.no_grad():
                expected = ref(torch.tensor(x)).numpy()
            y, state = bn.apply(params, state, x, train=True)
            np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-13)
            # (an absolute floor: a running mean can come out near zero, where a relative
            # bound alone asks for more digits than the two summation orders share)
            np.testing.assert_allclose(state["mean"], ref.running_mean.numpy(), rtol=1e-13,
                                       atol=1e-15)
            np.testing.assert_allclose(state["var"], ref.running_var.numpy(), rtol=1e-13,
                                       atol=1e-15)
        if momentum is None:
            assert int(state["num_batches_tracked"]) == int(ref.num_batches_tracked) == 3
        ref.eval()
        x = RNG.standard_normal((2, 3, 2, 2))
        y, same = bn.apply(params, state, x, train=False)
        assert same is state
        with torch.no_grad():
            np.testing.assert_allclose(y, ref(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-13)
        # Gradients in both modes, against a fresh torch module.
        fresh = torch.nn.BatchNorm2d(3, momentum=momentum).double()
        _agree(fresh, fresh, lambda p, v, m=bn: m.apply(p, m.init(KEY)[1], v, train=True)[0],
               [RNG.standard_normal((2, 3, 2, 2))])
        fresh = torch.nn.BatchNorm2d(3, momentum=momentum).double().eval()
        _agree(fresh, fresh, lambda p, v, m=bn: m.apply(p, m.init(KEY)[1], v, train=False)[0],
               [RNG.standard_normal((2, 3, 2, 2))])


def test_batch_norm_3d_and_1d_inputs_per_channel():
    torch = _torch()
    ref = torch.nn.BatchNorm3d(2).double()
    bn = nn.BatchNorm(2)
    _, state = bn.init(KEY)
    x = RNG.standard_normal((3, 2, 2, 2, 2))
    _agree(ref, ref, lambda p, v: bn.apply(p, state, v, train=True)[0], [x])
    x = RNG.standard_normal((3, 2, 4))
    y, _ = bn.apply(*bn.init(KEY), x, train=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0.0, atol=1e-14)
    assert repr(nn.BatchNorm(2, momentum=None)) == "BatchNorm(2, momentum=None)"


# ----------------------------------------------------------------------------- initializers

def test_initializers_shapes_dtypes_and_variances():
    shape = (300, 200)                      # JAX layout: (in, out)
    fan_in, fan_out = 300, 200
    expected = {
        "glorot_uniform": 2 / (fan_in + fan_out), "glorot_normal": 2 / (fan_in + fan_out),
        "xavier_uniform": 2 / (fan_in + fan_out), "xavier_normal": 2 / (fan_in + fan_out),
        "he_uniform": 2 / fan_in, "he_normal": 2 / fan_in, "kaiming_uniform": 2 / fan_in,
        "kaiming_normal": 2 / fan_in, "lecun_uniform": 1 / fan_in, "lecun_normal": 1 / fan_in,
    }
    for name, variance in expected.items():
        init = getattr(initializers, name)()
        w = init(KEY, shape)
        assert w.shape == shape and w.dtype == np.float64, name
        assert abs(w.var() / variance - 1) < 0.03 and abs(w.mean()) < 0.01 * math.sqrt(
            variance) * 5, name
        if "uniform" in name:
            assert np.max(np.abs(w)) <= math.sqrt(3 * variance)
        assert init(KEY, (4, 3), np.float32).dtype == np.float32
        np.testing.assert_array_equal(init(KEY, shape), w)            # same key, same numbers
    # PyTorch's conv layout (out, in, kH, kW): fan_in = in * kH * kW.
    w = initializers.he_normal(in_axis=1, out_axis=0)(KEY, (64, 8, 3, 3))
    assert abs(w.var() / (2 / (8 * 9)) - 1) < 0.05
    w = initializers.variance_scaling(0.5, "fan_out", "uniform")(KEY, (100, 400))
    assert abs(w.var() / (0.5 / 400) - 1) < 0.05
    with pytest.raises(ValueError, match="truncated normal"):
        initializers.variance_scaling(1.0, "fan_in", "truncated_normal")
    with pytest.raises(ValueError, match="at least two axes"):
        initializers.glorot_uniform()(KEY, (5,))


def test_simple_initializers():
    np.testing.assert_array_equal(initializers.zeros(KEY, (2, 3)), np.zeros((2, 3)))
    assert initializers.ones(KEY, (2,), np.float32).dtype == np.float32
    np.testing.assert_array_equal(initializers.constant(-2.5)(KEY, (3,)), [-2.5] * 3)
    w = initializers.normal(0.5)(KEY, (200, 200))
    assert abs(w.std() / 0.5 - 1) < 0.02
    w = initializers.uniform(2.0)(KEY, (200, 200))
    assert w.min() >= 0 and w.max() < 2.0 and abs(w.mean() - 1.0) < 0.02


def test_orthogonal_initializer():
    for shape, column_axis in (((6, 4), -1), ((4, 6), -1), ((3, 2, 5), -1), ((5, 3), 0)):
        q = initializers.orthogonal(scale=2.0, column_axis=column_axis)(KEY, shape)
        assert q.shape == shape
        m = np.moveaxis(q, column_axis, -1).reshape(-1, shape[column_axis]) / 2.0
        small = min(m.shape)
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-13)
    assert initializers.orthogonal()(KEY, (3, 3), np.float32).dtype == np.float32


# ------------------------------------------------------------------------------------- jit

class _Block(nn.Module):
    """A pre-LayerNorm transformer block: x + MHA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, heads):
        self.parts = {"ln1": nn.LayerNorm(dim), "attn": nn.MultiHeadAttention(heads, dim),
                      "ln2": nn.LayerNorm(dim),
                      "mlp": nn.Sequential([nn.Linear(dim, 2 * dim), nn.gelu,
                                            nn.Linear(2 * dim, dim)])}

    def init(self, key):
        keys = fg.random.split(key, len(self.parts))
        params = {name: part.init(k)[0] for (name, part), k in zip(self.parts.items(), keys)}
        return params, {}

    def apply(self, params, state, x, *, train, key=None):
        p = self.parts
        h = p["ln1"].apply(params["ln1"], {}, x, train=train)[0]
        x = x + p["attn"].apply(params["attn"], {}, h, train=train, is_causal=True)[0]
        h = p["ln2"].apply(params["ln2"], {}, x, train=train)[0]
        mlp_state = {"0": {}, "1": {}, "2": {}}
        return x + p["mlp"].apply(params["mlp"], mlp_state, h, train=train)[0], state


def test_jitted_transformer_block_equals_eager():
    block = _Block(4, 2)
    params, state = block.init(KEY)
    x = RNG.standard_normal((2, 3, 4))

    def loss(params, x):
        y, _ = block.apply(params, state, x, train=True)
        return fnp.mean(y * y)

    eager = fg.value_and_grad(loss)(params, x)
    jitted = fg.jit(fg.value_and_grad(loss))(params, x)
    np.testing.assert_allclose(jitted[0], eager[0], rtol=1e-12)
    for a, b in zip(fg.tree.leaves(jitted[1]), fg.tree.leaves(eager[1])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_batch_norm_on_rows_equals_batch_norm_on_a_length_one_axis():
    """(N, C) broadcasts the (C,) statistics and parameters as they are, (N, C, 1) reshapes
    them to columns: the same outputs, state and gradients, to the last bit."""
    bn = nn.BatchNorm(5)
    params, state = bn.init(fg.random.key(0))
    rng = np.random.default_rng(4)
    params = {"weight": rng.standard_normal(5), "bias": rng.standard_normal(5)}
    x = rng.standard_normal((7, 5))

    def loss(params, x, shape):
        y, new_state = bn.apply(params, state, x.reshape(shape), train=True)
        return fnp.sum(fnp.sin(y.reshape((7, 5)))), new_state

    rows = fg.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x, (7, 5))
    column = fg.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x, (7, 5, 1))
    for got, want in zip(fg.tree.leaves(rows), fg.tree.leaves(column)):
        np.testing.assert_array_equal(got, want)
    assert float(fg.tree.leaves(rows)[0]) != 0.0
