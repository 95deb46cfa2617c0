"""Shared checks of the funcgrad.numpy tests: a function traced and run by the interpreter,
and results compared with NumPy's leaf by leaf (shape, dtype, then values)."""
from __future__ import annotations

import numpy as np

import funcgrad as fg
from funcgrad.core.trace import eval_ir


def traced(fn, *args):
    """``fn`` traced with unknown values (as under ``jit``) and run by the interpreter (no
    numba compile), its output in the structure of ``fn(*args)``."""
    out_tree = fg.tree.structure(fn(*args))
    leaves = eval_ir(fg.make_ir(fn)(*args), list(fg.tree.leaves(args)))
    return fg.tree.unflatten(out_tree, leaves)


def assert_matches(got, want, what, rtol=1e-12):
    """Every leaf of ``got`` has the shape and dtype of ``want``'s and its values: exactly
    for integers and booleans, to ``rtol`` (2e-6 in single precision) otherwise."""
    got_leaves, want_leaves = fg.tree.leaves(got), fg.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), what
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != {w.dtype}"
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=what)
        else:
            tol = 2e-6 if g.dtype in (np.float32, np.complex64) else rtol
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=what, equal_nan=True)
