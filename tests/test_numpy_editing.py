"""pad, and the array editing and index functions of funcgrad.numpy (issue 9).

Each function is checked against NumPy's value and dtype concretely and traced (its IR run
by the interpreter, as the first call of ``jit`` runs it) on several shapes and dtypes; the
differentiable ones with ``fg.check_grads`` to second order in both modes; a few under
``vmap`` against a loop and under ``jit`` against eager.
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

rng = np.random.default_rng(90210)
X34 = rng.uniform(-2.0, 2.0, (3, 4))
F32 = rng.uniform(-2.0, 2.0, (2, 3)).astype(np.float32)
INTS = rng.integers(-5, 6, (3, 4))
V5 = rng.uniform(-2.0, 2.0, 5)
CUBE = rng.uniform(-2.0, 2.0, (2, 3, 2))


def traced(fn, *args):
    """``fn`` traced with unknown values (as under ``jit``) and run by the interpreter."""
    out_tree = fg.tree.structure(fn(*args))
    leaves = eval_ir(fg.make_ir(fn)(*args), list(fg.tree.leaves(args)))
    return fg.tree.unflatten(out_tree, leaves)


def assert_matches(got, want, what):
    got_leaves, want_leaves = fg.tree.leaves(got), fg.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), what
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != {w.dtype}"
        tol = 2e-6 if g.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=what)


def check_values(fn, *args):
    """``fn(np, ...)`` against ``fn(fnp, ...)``, concrete and traced."""
    want = fn(np, *args)
    assert_matches(fn(fnp, *args), want, "concrete")
    assert_matches(traced(lambda *a: fn(fnp, *a), *args), want, "traced")


# -------------------------------------------------------------------------------------- pad

PAD_MODES = [
    ("constant", {}), ("constant", {"constant_values": ((1.5, 2.5), (3.5, -1.0))}),
    ("constant", {"constant_values": 7}), ("edge", {}), ("wrap", {}), ("reflect", {}),
    ("symmetric", {}), ("reflect", {"reflect_type": "odd"}),
    ("symmetric", {"reflect_type": "odd"}), ("linear_ramp", {}),
    ("linear_ramp", {"end_values": ((1, -2), (3, 4))}), ("maximum", {}),
    ("minimum", {"stat_length": 2}), ("mean", {}), ("mean", {"stat_length": ((1, 2), (3, 1))}),
    ("median", {}), ("median", {"stat_length": 3}),
]
# every form of pad_width: one int, (before, after), one pair per axis, wider than the
# array (reflect and wrap go round several times), and a dict of axes
PAD_WIDTHS = [2, (1, 3), ((2, 1), (0, 7)), ((9, 10), (5, 11)), {1: (2, 0)}]


@pytest.mark.parametrize("mode, options", PAD_MODES,
                         ids=[f"{m}-{'-'.join(o) or 'default'}" for m, o in PAD_MODES])
def test_pad_values_against_numpy(mode, options):
    for width in PAD_WIDTHS:
        for array in (X34, INTS, F32):
            check_values(lambda m, a, w=width: m.pad(a, w, mode, **options), array)
    if not any(np.ndim(v) == 2 for v in options.values()):
        check_values(lambda m, a: m.pad(a, (2, 5), mode, **options), V5)
        check_values(lambda m, a: m.pad(a, 1, mode, **options), CUBE)


def test_pad_empty_mode_and_edge_cases():
    # 'empty' leaves NumPy's pad area unset; traced it is zeros (as jax.numpy's)
    got = traced(lambda a: fnp.pad(a, ((1, 0), (2, 1)), "empty"), X34)
    assert got.shape == (4, 7) and got.dtype == X34.dtype
    np.testing.assert_array_equal(got[1:, 2:-1], X34)
    np.testing.assert_array_equal(got[0], 0.0)
    assert fnp.pad(X34, 1, "empty").shape == (5, 6)
    # an axis of one value reflects as 'edge' (NumPy's legacy); empty axes only take constants
    check_values(lambda m, a: m.pad(a, 2, "reflect", reflect_type="odd"), X34[:1])
    check_values(lambda m, a: m.pad(a, ((1, 1), (0, 0)), "edge"), X34[:, :0])
    check_values(lambda m, a: m.pad(a, 1), X34[:, :0])
    with pytest.raises(ValueError, match="pad: can't extend the empty axis 1"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "edge"))(X34[:, :0])
    # a 0-d array has no axis to pad
    check_values(lambda m, a: m.pad(a, 3), np.float64(2.5))


def test_pad_errors_name_the_argument():
    with pytest.raises(fg.ConcretizationError, match="pad.*'pad_width'"):
        fg.jit(lambda a, w: fnp.pad(a, w))(X34, 2)
    with pytest.raises(ValueError, match="pad: mode 'spiral' is not supported"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "spiral"))(X34)
    with pytest.raises(ValueError, match="unsupported keyword.*'edge'.*constant_values"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "edge", constant_values=1))(X34)
    with pytest.raises(TypeError, match="pad_width.*integral"):
        fg.make_ir(lambda a: fnp.pad(a, 1.5))(X34)
    with pytest.raises(ValueError, match="pad_width.*negative"):
        fg.make_ir(lambda a: fnp.pad(a, -1))(X34)
    with pytest.raises(ValueError, match="reflect_type"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "reflect", reflect_type="sideways"))(X34)
    with pytest.raises(ValueError, match="stat_length of 0"):
        fg.make_ir(lambda a: fnp.pad(a, 1, "maximum", stat_length=0))(X34)


@pytest.mark.parametrize("mode, options", PAD_MODES[:2] + PAD_MODES[3:12:2] + PAD_MODES[8:],
                         ids=lambda v: v if isinstance(v, str) else "-".join(v) or "default")
def test_pad_derivatives_to_second_order(mode, options):
    fg.check_grads(lambda a: fnp.pad(a, ((2, 3), (4, 1)), mode, **options), (X34,), order=2,
                   modes=("fwd", "rev"))


def test_pad_derivatives_in_the_values_it_pads_with():
    fg.check_grads(lambda a, c: fnp.pad(a, ((2, 3), (4, 1)), constant_values=c),
                   (X34, np.array([[1.0, 2.0], [3.0, 4.0]])), order=2, modes=("fwd", "rev"))
    fg.check_grads(lambda a, e: fnp.pad(a, ((2, 3), (4, 1)), "linear_ramp", end_values=e),
                   (X34, np.array([1.0, 2.0])), order=2, modes=("fwd", "rev"))
    # each input element's derivative counts its copies
    grad = fg.grad(lambda a: fnp.sum(fnp.pad(a, 2, "edge")))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(grad, [3.0, 1.0, 3.0])
    grad = fg.grad(lambda c: fnp.sum(fnp.pad(X34, 1, constant_values=c)))(0.5)
    np.testing.assert_allclose(grad, 5 * 6 - 12)


def test_pad_with_a_function_follows_jax_and_numpy():
    def jax_style(vector, width, axis, options):   # returns the padded vector
        return vector.at[:width[0]].set(options.get("value", 9.0))

    def numpy_style(vector, width, axis, options):   # edits it in place
        vector[:width[0]] = 9.0

    want = np.pad(X34, 1, numpy_style)
    assert_matches(traced(lambda a: fnp.pad(a, 1, jax_style), X34), want, "traced")
    assert_matches(fnp.pad(X34, 1, numpy_style), want, "concrete, in place")
    assert_matches(fnp.pad(X34, 1, jax_style),
                   want, "concrete, returned")


def test_pad_under_vmap_and_jit():
    def f(a):
        return (fnp.pad(a, 3, "reflect", reflect_type="odd"), fnp.pad(a, (1, 2), "mean"),
                fnp.pad(a, 2, "linear_ramp", end_values=(1.0, -1.0)))

    out = fg.vmap(f)(X34)
    for i, row in enumerate(X34):
        assert_matches([o[i] for o in out], f(row), "vmap row")
    jitted = fg.jit(lambda a: fnp.pad(a, ((1, 2), (3, 0)), "symmetric"))
    for array in (X34, X34 * 2.0):
        assert_matches(jitted(array), np.pad(array, ((1, 2), (3, 0)), "symmetric"), "jit")
    assert isinstance(fnp.pad(X34, 1), fg.Array)
