"""``fg.optim``: updates against hand-computed steps and ``torch.optim`` (float64, where both
compute the same formulas: 1e-12 relative leaves room only for rounding), schedules against
hand-computed values and ``torch.optim.lr_scheduler``, clipping and chains, masks, pytrees,
dtypes, ``jit`` (one compiled step for every optimiser) and misuse."""
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


def _steps(opt, grads, param=0.0):
    """The updates of ``opt`` on a scalar parameter for the gradients ``grads`` (the parameter
    moves with the updates), as Python floats."""
    p = np.float64(param)
    state = opt.init(p)
    out = []
    for g in grads:
        updates, state = opt.update(np.float64(g), state, p)
        out.append(float(updates))
        p = p + updates
    return out


def test_sgd_weight_decay_by_hand():
    # torch's coupled L2: g + wd p, through the momentum buffer.
    lr, wd, mom, p = 0.1, 0.5, 0.9, 2.0
    b1 = 3.0 + wd * p
    p2 = p - lr * b1
    b2 = mom * b1 + (-1.0 + wd * p2)
    np.testing.assert_allclose(_steps(fg.optim.sgd(lr, momentum=mom, weight_decay=wd),
                                      [3.0, -1.0], p), [-lr * b1, -lr * b2], rtol=1e-14)


def test_rmsprop_by_hand():
    lr, a, eps = 0.01, 0.9, 1e-8
    g1, g2 = 2.0, -1.0
    v1 = (1 - a) * g1**2
    v2 = a * v1 + (1 - a) * g2**2
    np.testing.assert_allclose(_steps(fg.optim.rmsprop(lr, decay=a), [g1, g2]),
                               [-lr * g1 / (math.sqrt(v1) + eps),
                                -lr * g2 / (math.sqrt(v2) + eps)], rtol=1e-14)
    # centered, with momentum: d = sqrt(v - gbar^2) + eps, buf = mom buf + g / d.
    m1, m2 = (1 - a) * g1, a * (1 - a) * g1 + (1 - a) * g2
    s1 = g1 / (math.sqrt(v1 - m1**2) + eps)
    s2 = 0.5 * s1 + g2 / (math.sqrt(v2 - m2**2) + eps)
    np.testing.assert_allclose(
        _steps(fg.optim.rmsprop(lr, decay=a, momentum=0.5, centered=True), [g1, g2]),
        [-lr * s1, -lr * s2], rtol=1e-13)


def test_adagrad_by_hand():
    lr, decay, s0, eps = 0.5, 0.1, 0.25, 1e-10
    g1, g2 = 2.0, -1.0
    s1, s2 = s0 + g1**2, s0 + g1**2 + g2**2
    np.testing.assert_allclose(
        _steps(fg.optim.adagrad(lr, lr_decay=decay, initial_accumulator_value=s0), [g1, g2]),
        [-lr * g1 / (math.sqrt(s1) + eps), -lr / (1 + decay) * g2 / (math.sqrt(s2) + eps)],
        rtol=1e-14)


def test_nadam_by_hand():
    lr, b1, b2, eps, md = 0.02, 0.9, 0.999, 1e-8, 4e-3
    mus = [b1 * (1 - 0.5 * 0.96 ** (t * md)) for t in (1, 2, 3)]
    m = v = 0.0
    expected = []
    for t, g in ((1, 2.0), (2, -1.0)):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        product = math.prod(mus[:t])
        d = math.sqrt(v / (1 - b2**t)) + eps
        expected.append(-lr * (1 - mus[t - 1]) / (1 - product) * g / d
                        - lr * mus[t] / (1 - product * mus[t]) * m / d)
    np.testing.assert_allclose(_steps(fg.optim.nadam(lr), [2.0, -1.0]), expected, rtol=1e-13)


def test_lamb_by_hand():
    # Adam's bias-corrected direction plus wd p, scaled per leaf by ||p|| / ||u||.
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-6, 0.01
    p = np.array([3.0, 4.0])
    g = np.array([1.0, -2.0])
    m, v = (1 - b1) * g, (1 - b2) * g * g
    u = (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps) + wd * p
    expected = -lr * (5.0 / np.linalg.norm(u)) * u
    opt = fg.optim.lamb(lr, weight_decay=wd)
    updates, state = opt.update(g, opt.init(p), p)
    np.testing.assert_allclose(updates, expected, rtol=1e-14)
    # A zero parameter (or update) has a trust ratio of 1.
    updates, _ = opt.update(g, opt.init(p), np.zeros(2))
    np.testing.assert_allclose(updates, -lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps))
    with pytest.raises(ValueError, match="lamb.*needs params"):
        opt.update(g, state)


def test_lion_by_hand():
    lr, b1, b2, wd = 0.01, 0.9, 0.99, 0.1
    p, g1, g2 = 2.0, 3.0, -1.0
    # update 1: sign(0.1 g1) = 1; m1 = 0.01 g1 = 0.03; update 2: sign(0.9 * 0.03 - 0.1) = -1.
    first = -lr * (1.0 + wd * p)
    second = -lr * (-1.0 + wd * (p + first))
    np.testing.assert_allclose(_steps(fg.optim.lion(lr, b1=b1, b2=b2, weight_decay=wd),
                                      [g1, g2], p), [first, second], rtol=1e-14)


def test_weight_decay_masks():
    params = {"w": np.array([[1.0, 2.0]]), "b": np.array([3.0])}
    zero = fg.tree.map(np.zeros_like, params)
    for mask in ({"w": True, "b": False}, lambda p: fg.tree.map(lambda x: x.ndim > 1, p)):
        for opt in (fg.optim.adamw(0.1, weight_decay=0.5, mask=mask),
                    fg.optim.sgd(0.1, weight_decay=0.5, mask=mask),
                    fg.optim.lion(0.1, weight_decay=0.5, mask=mask)):
            updates, _ = opt.update(zero, opt.init(params), params)
            np.testing.assert_allclose(updates["w"], -0.05 * params["w"], err_msg=repr(opt))
            assert not updates["b"].any(), opt
    with pytest.raises(ValueError, match="adamw: mask must be a pytree of bools with the "
                       "structure of params"):
        fg.optim.adamw(0.1, mask={"w": True}).update(zero, fg.optim.adamw(0.1).init(params),
                                                     params)
    with pytest.raises(TypeError, match="leaves of mask must be Python bools.*got a ndarray"):
        fg.optim.sgd(0.1, weight_decay=0.1, mask=lambda p: p).update(
            zero, fg.optim.sgd(0.1).init(params), params)


def test_adamw_mask_matches_torch_param_groups():
    """A mask is torch's parameter groups with weight_decay=0 for the unmasked leaves."""
    expected = _torch_run("AdamW", 5, groups=[{"weight_decay": 0.0}, {}], lr=0.02,
                          weight_decay=0.3)
    mask = {"w": True, "layer": {"b": False}}   # flatten order: layer/b, then w
    params, _ = _run(fg.optim.adamw(0.02, weight_decay=0.3, mask=mask), 5)
    for got, want in zip(fg.tree.leaves(params), fg.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ gradient transformations

def test_clip_by_global_norm_by_hand():
    grads = {"a": np.array([3.0, 0.0]), "b": (np.array([[4.0]]),)}
    clipped, state = fg.optim.clip_by_global_norm(2.5).update(grads, {})
    assert state == {}
    np.testing.assert_allclose(clipped["a"], [1.5, 0.0], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"][0], [[2.0]], rtol=1e-15)
    # At or below the threshold the gradients are returned as they are; a zero gradient stays
    # zero (no 0/0).
    same, _ = fg.optim.clip_by_global_norm(5.0 + 1e-12).update(grads, {})
    assert np.array_equal(same["a"], grads["a"]) and np.array_equal(same["b"][0], [[4.0]])
    zero, _ = fg.optim.clip_by_global_norm(1.0).update(np.zeros(3), {})
    assert np.array_equal(zero, np.zeros(3))
    # float32 gradients stay float32.
    out, _ = fg.optim.clip_by_global_norm(1.0).update(np.float32([3.0, 4.0]), {})
    assert out.dtype == np.float32 and np.allclose(out, [0.6, 0.8])


def test_clip_by_hand():
    out, state = fg.optim.clip(0.5).update({"a": np.array([-2.0, 0.3, 0.5, 7.0])}, {})
    assert out["a"].tolist() == [-0.5, 0.3, 0.5, 0.5] and state == {}
    assert fg.optim.clip(1.0).update(np.float32([2.0]), {})[0].dtype == np.float32


def test_chain_clips_then_steps():
    lr, max_norm = 0.01, 1.0
    opt = fg.optim.chain(fg.optim.clip_by_global_norm(max_norm), fg.optim.adam(lr))
    assert repr(opt) == "fg.optim.chain(clip_by_global_norm, adam)"
    state = opt.init(PARAMS)
    assert isinstance(state, tuple) and state[0] == {} and int(state[1]["count"]) == 0
    # the same as adam on gradients clipped by hand
    reference, ref_state = fg.optim.adam(lr), fg.optim.adam(lr).init(PARAMS)
    params = PARAMS
    for _ in range(3):
        grads = _grads(params)
        leaves, treedef = fg.tree.flatten(grads)
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in leaves))
        assert norm > max_norm
        clipped = fg.tree.unflatten(treedef, [g / norm * max_norm for g in leaves])
        updates, state = opt.update(grads, state, params)
        want, ref_state = reference.update(clipped, ref_state, params)
        for got, expected in zip(fg.tree.leaves(updates), fg.tree.leaves(want)):
            np.testing.assert_allclose(got, expected, rtol=1e-14)
        params = fg.optim.apply_updates(params, updates)
    assert int(state[1]["count"]) == 3
    # chain(clip(...)) after an optimiser clips its updates
    updates, _ = fg.optim.chain(fg.optim.sgd(1.0), fg.optim.clip(0.1)).update(
        np.array([5.0, -0.05]), ((fg.optim.sgd(1.0).init(np.zeros(2))), {}))
    assert updates.tolist() == [-0.1, 0.05]
    with pytest.raises(TypeError, match="chain: argument 1 must be an fg.optim optimiser"):
        fg.optim.chain(fg.optim.clip(1.0), lambda g: g)
    with pytest.raises(ValueError, match="opt_state must be a tuple of 2 states"):
        opt.update(PARAMS, fg.optim.adam(lr).init(PARAMS), PARAMS)


# ---------------------------------------------------------------------------------- schedules

def test_schedules_by_hand():
    n = np.arange(1, 13)   # update numbers: update n gets optax's value at count n - 1
    s = fg.optim
    np.testing.assert_allclose([s.constant_schedule(0.3)(k) for k in n], 0.3)
    np.testing.assert_allclose(
        [float(s.linear_schedule(1.0, 0.2, 4, transition_begin=2)(k)) for k in n],
        [1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], rtol=1e-15)
    cos = [0.1 * (0.75 * 0.5 * (1 + math.cos(math.pi * min(k - 1, 8) / 8)) + 0.25) for k in n]
    np.testing.assert_allclose([float(s.cosine_decay(0.1, 8, alpha=0.25)(k)) for k in n], cos,
                               rtol=1e-15)
    np.testing.assert_allclose(
        [float(s.cosine_decay(1.0, 8, exponent=2.0)(k)) for k in n],
        [(0.5 * (1 + math.cos(math.pi * min(k - 1, 8) / 8))) ** 2 for k in n], rtol=1e-14,
        atol=1e-16)
    warm = [0.0, 0.5] + [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(c, 7) / 7))
                         for c in range(10)]   # the peak at update 3, then 7 of decay
    np.testing.assert_allclose(
        [float(s.warmup_cosine_decay(0.0, 1.0, 2, 9, end_value=0.1)(k)) for k in n], warm,
        rtol=1e-15)
    np.testing.assert_allclose(
        [float(s.exponential_decay(2.0, 3, 0.5, transition_begin=1)(k)) for k in n],
        [2.0, 2.0] + [2.0 * 0.5 ** ((k - 2) / 3) for k in n[2:]], rtol=1e-15)
    np.testing.assert_allclose(
        [float(s.exponential_decay(2.0, 3, 0.5, staircase=True, end_value=0.5)(k)) for k in n],
        [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(  # a growing rate is bounded above by end_value
        [float(s.exponential_decay(1.0, 1, 2.0, end_value=5.0)(k)) for k in n[:5]],
        [1.0, 2.0, 4.0, 5.0, 5.0])
    np.testing.assert_allclose(
        [float(s.piecewise_constant(1.0, {5: 0.1, 2: 0.5})(k)) for k in n[:7]],
        [1.0, 1.0, 0.5, 0.5, 0.5, 0.05, 0.05])
    # transition_steps <= 0 is a constant, as in optax
    assert s.linear_schedule(0.5, 0.0, 0)(3) == 0.5 and s.exponential_decay(0.5, 0, 0.1)(9) == 0.5


def test_schedules_match_torch_lr_schedulers():
    torch = pytest.importorskip("torch")
    cases = [
        (fg.optim.cosine_decay(0.1, 6, alpha=0.2),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6, eta_min=0.02)),
        (fg.optim.exponential_decay(0.1, 1, 0.8),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
        (fg.optim.piecewise_constant(0.1, {2: 0.5, 5: 0.5}),
         lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.5)),
        (fg.optim.linear_schedule(0.1 * 0.25, 0.1, 4),
         lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4)),
    ]
    for schedule, make in cases:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = make(optimizer)
        rates = []
        for _ in range(7):   # the rate of update k, then the scheduler's epoch step (torch's
            rates.append(optimizer.param_groups[0]["lr"])   # cosine rises again after T_max)
            optimizer.step()
            scheduler.step()
        np.testing.assert_allclose([float(schedule(k)) for k in range(1, 8)], rates,
                                   rtol=1e-12, err_msg=repr(scheduler))


def test_a_schedule_drives_an_optimizer():
    schedule = fg.optim.warmup_cosine_decay(0.0, 0.1, 2, 10)
    got = _steps(fg.optim.sgd(schedule), [1.0] * 4)
    np.testing.assert_allclose(got, [-float(schedule(k)) for k in (1, 2, 3, 4)], rtol=1e-15)
    assert got[0] == 0.0 and got[2] == -0.1   # optax's warmup: the first rate is init_value
    with pytest.raises(ValueError, match="decay_steps .* must be > warmup_steps"):
        fg.optim.warmup_cosine_decay(0.0, 1.0, 5, 5)
    with pytest.raises(ValueError, match="cosine_decay: decay_steps must be > 0"):
        fg.optim.cosine_decay(1.0, 0)
    with pytest.raises(ValueError, match="piecewise_constant: scales must be >= 0"):
        fg.optim.piecewise_constant(1.0, {3: -1.0})
    with pytest.raises(ValueError, match="exponential_decay: decay_rate must be > 0"):
        fg.optim.exponential_decay(1.0, 2, 0.0)


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
    ("adam_decay", lambda: fg.optim.adam(0.02, weight_decay=0.3), "Adam",
     {"lr": 0.02, "weight_decay": 0.3}),
    ("adam_amsgrad", lambda: fg.optim.adam(0.02, b2=0.9, amsgrad=True), "Adam",
     {"lr": 0.02, "betas": (0.9, 0.9), "amsgrad": True}),
    ("adam_amsgrad_decay", lambda: fg.optim.adam(0.02, weight_decay=0.1, amsgrad=True),
     "Adam", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", lambda: fg.optim.adamw(0.02), "AdamW", {"lr": 0.02}),
    ("adamw_amsgrad", lambda: fg.optim.adamw(0.02, b2=0.9, weight_decay=0.3, amsgrad=True),
     "AdamW", {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.3, "amsgrad": True}),
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

def _matrices(p):
    return fg.tree.map(lambda x: x.ndim > 1, p)


# Every optimiser, transformation and schedule, each as it might be used; they share one jitted
# step below (one compile).
TOOLBOX = (
    fg.optim.adamw(0.05, weight_decay=0.1),
    fg.optim.chain(fg.optim.clip_by_global_norm(0.5),
                   fg.optim.adamw(fg.optim.warmup_cosine_decay(0.0, 0.05, 2, 6),
                                  weight_decay=0.1, mask=_matrices)),
    fg.optim.sgd(fg.optim.exponential_decay(0.1, 2, 0.5, staircase=True), momentum=0.9,
                 nesterov=True, weight_decay=0.1),
    fg.optim.rmsprop(fg.optim.piecewise_constant(0.01, {2: 0.5}), momentum=0.5, centered=True,
                     weight_decay=0.1),
    fg.optim.adagrad(fg.optim.linear_schedule(0.1, 0.01, 3), lr_decay=0.1, weight_decay=0.1),
    fg.optim.nadam(fg.optim.cosine_decay(0.02, 5), weight_decay=0.1),
    fg.optim.lamb(0.02, weight_decay=0.1, mask={"w": True, "layer": {"b": False}}),
    fg.optim.chain(fg.optim.clip(0.5), fg.optim.lion(0.01)),
    fg.optim.adam(0.05, weight_decay=0.1, amsgrad=True, mask=_matrices),
)


def test_float32_params_get_float32_updates_and_state():
    params = fg.tree.map(lambda p: p.astype(np.float32), PARAMS)
    for opt in (fg.optim.sgd(0.1, momentum=0.9), fg.optim.adam(0.1)) + TOOLBOX:
        new, state = _run(opt, 2, params)
        assert all(leaf.dtype == np.float32 for leaf in fg.tree.leaves(new)), opt
        for path, leaf in fg.tree.leaves_with_path(state):
            if path[-1] not in ("count", "mu_product"):   # the scalars of the step count
                assert leaf.dtype == np.float32, (opt, path)


def toolbox_step(params, opt_states):
    """One step of every optimiser of TOOLBOX on its own parameters, as a pure function
    (jitted below)."""
    new_params, new_states = [], []
    for opt, p, state in zip(TOOLBOX, params, opt_states):
        updates, state = opt.update(_grads(p), state, p)
        new_params.append(fg.optim.apply_updates(p, updates))
        new_states.append(state)
    return tuple(new_params), tuple(new_states)


TOOLBOX_STEP = fg.jit(toolbox_step)


def test_update_inside_jit_matches_eager():
    """The step count is a traced int under jit (schedules included); values agree to
    compiled-kernel rounding (vectorised sin/sqrt/cos/pow within a few ulps), far inside
    1e-12."""
    params = (PARAMS,) * len(TOOLBOX)
    eager = jitted = (params, tuple(opt.init(PARAMS) for opt in TOOLBOX))
    TOOLBOX_STEP.compile(*jitted)
    for _ in range(4):
        eager = toolbox_step(*eager)
        jitted = TOOLBOX_STEP(*jitted)
    for got, want in zip(fg.tree.leaves(jitted), fg.tree.leaves(eager)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert int(jitted[1][0]["count"]) == 4 and TOOLBOX_STEP.recompiles == []


def test_apply_updates_keeps_dtypes_and_structure():
    params = {"a": np.float32([1.0]), "b": (np.array([2.0]),)}
    out = fg.optim.apply_updates(params, {"a": np.float64([0.5]), "b": (np.array([1.0]),)})
    assert out["a"].dtype == np.float32 and out["b"][0].tolist() == [3.0]
    with pytest.raises(ValueError, match="apply_updates: updates must have the structure"):
        fg.optim.apply_updates(params, {"a": np.float32([0.5])})


# ----------------------------------------------------------------------------------- misuse

@pytest.mark.parametrize("make", [lambda: fg.optim.adam(0.1), lambda: fg.optim.sgd(0.1, 0.9),
                                  lambda: fg.optim.rmsprop(0.1), lambda: fg.optim.lamb(0.1),
                                  lambda: fg.optim.nadam(0.1), lambda: fg.optim.lion(0.1),
                                  lambda: fg.optim.adagrad(0.1)])
def test_grads_that_do_not_fit_the_state_name_the_optimizer_and_the_leaf(make):
    # These were NumPy's "operands could not be broadcast together" and tree.map's structure
    # error, neither naming the optimiser, the leaf or the likely slip.
    opt = make()
    state = opt.init(PARAMS)
    wrong = fg.tree.map(lambda p: p, PARAMS)
    wrong["w"] = np.ones(np.size(PARAMS["w"]) + 1)
    with pytest.raises(ValueError, match=rf"fg.optim.{opt.name}: grads\['w'\] has shape"):
        opt.update(wrong, state, PARAMS)
    with pytest.raises(ValueError, match="value_and_grad returns .*pass the grads alone"):
        opt.update((1.0, PARAMS), state, PARAMS)
    with pytest.raises(ValueError, match=r"apply_updates: updates\['w'\] has shape"):
        fg.optim.apply_updates(PARAMS, wrong)


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
    with pytest.raises(ValueError, match="rmsprop: decay must be in"):
        fg.optim.rmsprop(0.1, decay=1.5)
    with pytest.raises(ValueError, match="lion: weight_decay must be >= 0"):
        fg.optim.lion(0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match="nadam: opt_state must be a dict with keys"):
        fg.optim.nadam(0.1).update(PARAMS, fg.optim.adam(0.1).init(PARAMS), PARAMS)
    with pytest.raises(ValueError, match="lion.*needs params for the weight decay"):
        fg.optim.lion(0.1).update(PARAMS, fg.optim.lion(0.1).init(PARAMS))
    with pytest.raises(ValueError, match="clip_by_global_norm: max_norm must be > 0"):
        fg.optim.clip_by_global_norm(0.0)
    with pytest.raises(ValueError, match="linear_schedule: transition_begin must be >= 0"):
        fg.optim.linear_schedule(1.0, 0.0, 5, transition_begin=-1)


def test_adam_casts_its_scalars_once_per_dtype_with_the_numbers_of_each_leaf():
    """The step size and bias correction are cast once per dtype and shared by the leaves of
    that dtype: leaves of float32 and float64 side by side each get their own dtype's numbers,
    equal to the formula written out for one leaf alone."""
    rng = np.random.default_rng(2)
    params = {"a": rng.standard_normal(3).astype(np.float32), "b": rng.standard_normal(2),
              "c": (rng.standard_normal((2, 2)).astype(np.float32),)}
    opt = fg.optim.adam(0.05)
    state = opt.init(params)
    for step in range(1, 4):
        grads = fg.tree.map(lambda p: (p * 0.5 + 1.0).astype(p.dtype), params)
        updates, new_state = opt.update(grads, state, params)
        for leaf, g, m, v, u in zip(*(fg.tree.leaves(t) for t in (
                params, grads, state["mu"], state["nu"], updates))):
            m = 0.9 * m + (1.0 - 0.9) * g
            v = 0.999 * v + (1.0 - 0.999) * (g * g)
            count = np.int64(step)
            size = np.asarray(0.05 / (1.0 - fnp.power(0.9, count))).astype(leaf.dtype)
            correction = np.sqrt(1.0 - fnp.power(0.999, count)).astype(leaf.dtype)
            assert u.dtype == leaf.dtype
            np.testing.assert_array_equal(u, -size * m / (np.sqrt(v) / correction + 1e-8))
        state = new_state
        params = fg.optim.apply_updates(params, updates)
