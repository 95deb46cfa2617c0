"""``fg.optim``: updates against hand-computed steps and ``torch.optim`` (float64, where both
compute the same formulas: 1e-12 relative leaves room only for rounding), pytrees, dtypes,
``jit`` and misuse."""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

PARAMS = {"w": np.array([[1.0, -2.0], [0.5, 3.0]]), "layer": {"b": np.array([0.25, -0.75])}}


def _grads(params):
    """The gradient of a fixed smooth loss, so every step sees a new gradient."""
    def loss(p):
        return fnp.sum(fnp.sin(p["w"]) ** 2) + fnp.sum(p["layer"]["b"] ** 4) + \
            fnp.sum(p["w"] @ p["layer"]["b"])
    return fg.grad(loss)(params)


def _run(optimizer, steps, params=PARAMS):
    state = optimizer.init(params)
    for _ in range(steps):
        updates, state = optimizer.update(_grads(params), state, params)
        params = fg.optim.apply_updates(params, updates)
    return params, state


# ------------------------------------------------------------------------- hand-computed

def test_sgd_steps_by_hand():
    g1 = np.array([3.0])
    opt = fg.optim.sgd(0.1)
    updates, state = opt.update(g1, opt.init(np.zeros(1)))
    np.testing.assert_allclose(updates, [-0.3])
    # Momentum 0.9: buf1 = g1, buf2 = 0.9 g1 + g2; steps -lr buf.
    g2 = np.array([-1.0])
    opt = fg.optim.sgd(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    first, state = opt.update(g1, state)
    second, state = opt.update(g2, state)
    np.testing.assert_allclose([first[0], second[0]], [-0.3, -0.1 * (0.9 * 3 - 1)])
    # Nesterov: the step is -lr (g + momentum buf).
    opt = fg.optim.sgd(0.1, momentum=0.9, nesterov=True)
    state = opt.init(np.zeros(1))
    first, state = opt.update(g1, state)
    second, state = opt.update(g2, state)
    np.testing.assert_allclose(first, [-0.1 * (3 + 0.9 * 3)])
    np.testing.assert_allclose(second, [-0.1 * (-1 + 0.9 * (0.9 * 3 - 1))])


def test_adam_and_adamw_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    g1, g2, p = 2.0, -1.0, 4.0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    expected = [-lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
                for t, m, v in ((1, m1, v1), (2, m2, v2))]
    opt = fg.optim.adam(lr)
    state = opt.init(np.zeros(()))
    got = []
    for g in (g1, g2):
        updates, state = opt.update(np.float64(g), state)
        got.append(float(updates))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert int(state["count"]) == 2
    np.testing.assert_allclose([state["mu"], state["nu"]], [m2, v2], rtol=1e-15)
    # AdamW adds -lr * weight_decay * p to the same step.
    updates, _ = fg.optim.adamw(lr, weight_decay=0.1).update(
        np.float64(g1), fg.optim.adamw(lr).init(np.zeros(())), np.float64(p))
    np.testing.assert_allclose(updates, expected[0] - lr * 0.1 * p, rtol=1e-13)


def test_learning_rate_schedule_sees_the_step_count():
    seen = []

    def schedule(count):
        seen.append(int(count))
        return 0.1 / count

    opt = fg.optim.sgd(schedule)
    state = opt.init(np.zeros(1))
    for expected in (-0.1, -0.05, -0.1 / 3):
        updates, state = opt.update(np.ones(1), state)
        np.testing.assert_allclose(updates, [expected])
    assert seen == [1, 2, 3]


# ----------------------------------------------------------------------------- torch.optim

def _torch_run(torch_optimizer, steps, groups=None, **options):
    """``steps`` steps of ``torch.optim.<torch_optimizer>`` from PARAMS on _grads; ``groups``
    (one dict of options per leaf, in flatten order) makes one parameter group per leaf.
    torch's default dtype is float64 meanwhile: NAdam keeps its momentum product in it (a
    float32 product would differ from fg.optim's float64 one by 1e-9)."""
    torch = pytest.importorskip("torch")
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_steps(torch, torch_optimizer, steps, groups, options)
    finally:
        torch.set_default_dtype(default_dtype)


def _torch_steps(torch, torch_optimizer, steps, groups, options):
    leaves, treedef = fg.tree.flatten(PARAMS)
    tensors = [torch.tensor(leaf, dtype=torch.float64, requires_grad=True) for leaf in leaves]
    if groups is None:
        optimizer = getattr(torch.optim, torch_optimizer)(tensors, **options)
    else:
        optimizer = getattr(torch.optim, torch_optimizer)(
            [{"params": [t], **g} for t, g in zip(tensors, groups)], **options)
    for _ in range(steps):
        params = fg.tree.unflatten(treedef, [t.detach().numpy().copy() for t in tensors])
        for tensor, grad in zip(tensors, fg.tree.leaves(_grads(params))):
            tensor.grad = torch.from_numpy(np.array(grad))
        optimizer.step()
    return fg.tree.unflatten(treedef, [t.detach().numpy() for t in tensors])


TORCH_CASES = [
    ("sgd", lambda: fg.optim.sgd(0.05), "SGD", {"lr": 0.05}),
    ("sgd_momentum", lambda: fg.optim.sgd(0.05, momentum=0.9), "SGD",
     {"lr": 0.05, "momentum": 0.9}),
    ("sgd_nesterov", lambda: fg.optim.sgd(0.05, momentum=0.8, nesterov=True), "SGD",
     {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adam", lambda: fg.optim.adam(0.02), "Adam", {"lr": 0.02}),
    ("adam_betas", lambda: fg.optim.adam(0.02, b1=0.8, b2=0.99, eps=1e-6), "Adam",
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("adamw", lambda: fg.optim.adamw(0.02), "AdamW", {"lr": 0.02}),
    ("adamw_decay", lambda: fg.optim.adamw(0.02, weight_decay=0.3), "AdamW",
     {"lr": 0.02, "weight_decay": 0.3}),
    ("sgd_decay", lambda: fg.optim.sgd(0.05, weight_decay=0.2), "SGD",
     {"lr": 0.05, "weight_decay": 0.2}),
    ("sgd_nesterov_decay", lambda: fg.optim.sgd(0.05, momentum=0.7, nesterov=True,
                                                weight_decay=0.1), "SGD",
     {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weight_decay": 0.1}),
    ("rmsprop", lambda: fg.optim.rmsprop(0.01), "RMSprop", {"lr": 0.01}),
    ("rmsprop_all", lambda: fg.optim.rmsprop(0.01, decay=0.9, eps=1e-6, weight_decay=0.1,
                                             momentum=0.8, centered=True), "RMSprop",
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1, "momentum": 0.8,
      "centered": True}),
    ("adagrad", lambda: fg.optim.adagrad(0.1), "Adagrad", {"lr": 0.1}),
    ("adagrad_all", lambda: fg.optim.adagrad(0.1, lr_decay=0.05, weight_decay=0.2,
                                             initial_accumulator_value=0.3, eps=1e-6),
     "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.2,
                 "initial_accumulator_value": 0.3, "eps": 1e-6}),
    ("nadam", lambda: fg.optim.nadam(0.02), "NAdam", {"lr": 0.02}),
    ("nadam_decay", lambda: fg.optim.nadam(0.02, b1=0.8, b2=0.99, weight_decay=0.1,
                                           momentum_decay=0.01), "NAdam",
     {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("nadam_decoupled", lambda: fg.optim.nadam(0.02, weight_decay=0.1,
                                               decoupled_weight_decay=True), "NAdam",
     {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]


@pytest.mark.parametrize("name, make, torch_name, options", TORCH_CASES,
                         ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_optim_over_steps(name, make, torch_name, options):
    expected = _torch_run(torch_name, 6, **options)
    params, _ = _run(make(), 6)
    for got, want in zip(fg.tree.leaves(params), fg.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------- pytrees, jit, dtypes

def test_float32_params_get_float32_updates_and_state():
    params = fg.tree.map(lambda p: p.astype(np.float32), PARAMS)
    for opt in (fg.optim.sgd(0.1, momentum=0.9), fg.optim.adam(0.1), fg.optim.adamw(0.1)):
        new, state = _run(opt, 2, params)
        for leaf in fg.tree.leaves(new) + fg.tree.leaves({k: v for k, v in state.items()
                                                          if k != "count"}):
            assert leaf.dtype == np.float32, opt


def adam_step(params, opt_state):
    """One Adam step on the loss of ``_grads``, as a pure function (jitted below)."""
    updates, opt_state = ADAM.update(_grads(params), opt_state, params)
    return fg.optim.apply_updates(params, updates), opt_state


ADAM = fg.optim.adamw(0.05, weight_decay=0.1)
ADAM_STEP = fg.jit(adam_step)


def test_update_inside_jit_matches_eager():
    """The step count is a traced int under jit; values agree to compiled-kernel rounding
    (vectorised sin/sqrt within a few ulps), far inside 1e-12."""
    eager = jitted = (PARAMS, ADAM.init(PARAMS))
    ADAM_STEP.compile(*jitted)
    for _ in range(4):
        eager = adam_step(*eager)
        jitted = ADAM_STEP(*jitted)
    for got, want in zip(fg.tree.leaves(jitted), fg.tree.leaves(eager)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert int(jitted[1]["count"]) == 4 and ADAM_STEP.recompiles == []


def test_apply_updates_keeps_dtypes_and_structure():
    params = {"a": np.float32([1.0]), "b": (np.array([2.0]),)}
    out = fg.optim.apply_updates(params, {"a": np.float64([0.5]), "b": (np.array([1.0]),)})
    assert out["a"].dtype == np.float32 and out["b"][0].tolist() == [3.0]
    with pytest.raises(ValueError, match="different structure"):
        fg.optim.apply_updates(params, {"a": np.float32([0.5])})


# ----------------------------------------------------------------------------------- misuse

def test_misuse_errors():
    opt = fg.optim.adam(0.1)
    with pytest.raises(ValueError, match=r"fg.optim.adam: opt_state must be a dict with keys "
                       r"\['count', 'mu', 'nu'\]"):
        opt.update(PARAMS, fg.optim.sgd(0.1).init(PARAMS), PARAMS)
    with pytest.raises(ValueError, match="adamw.*needs params"):
        fg.optim.adamw(0.1).update(PARAMS, fg.optim.adamw(0.1).init(PARAMS))
    with pytest.raises(ValueError, match="learning rate must be >= 0"):
        fg.optim.sgd(-1.0)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        fg.optim.sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match="b2 must be in"):
        fg.optim.adam(0.1, b2=1.0)
    assert repr(opt) == "fg.optim.adam"
