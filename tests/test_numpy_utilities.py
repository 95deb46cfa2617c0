"""The utility functions of funcgrad.numpy: whole-array comparisons, dtype questions,
printing, einsum_path, frompyfunc, fromfunction, and reading and writing arrays."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir

X = np.array([[1.0, np.nan], [3.0, 4.0]])


def interpreted(fn, *args):
    """``fn`` traced with unknown values (as by ``jit``) and run by the interpreter: its
    output leaves (no numba compile)."""
    leaves = eval_ir(fg.make_ir(fn)(*args), list(fg.tree.leaves(args)))
    return leaves[0] if len(leaves) == 1 else leaves


def test_array_equal_and_equiv_traced():
    for a, b in ((X, X), (X, X + 1.0), (X[0], X), (np.ones((2, 2)), 1.0)):
        for equal_nan in (False, True):
            want = np.array_equal(a, b, equal_nan=equal_nan)
            assert interpreted(lambda u, v, e=equal_nan: fnp.array_equal(u, v, e), a, b) == want
            assert fnp.array_equal(a, b, equal_nan) == want
        assert interpreted(fnp.array_equiv, a, b) == np.array_equiv(a, b)
    assert interpreted(fnp.array_equiv, np.ones(3), np.ones(2)) == np.False_


def test_dtype_questions_take_traced_arrays():
    seen = {}

    def f(x, w):
        seen["result_type"] = fnp.result_type(x, 1.0, np.int8)
        seen["weak"] = fnp.result_type(w, np.float32)
        seen["can_cast"] = fnp.can_cast(x, np.float64), fnp.can_cast(x, np.int32)
        seen["scalar"] = fnp.isscalar(x), fnp.isscalar(x[0, 0])
        seen["iterable"] = fnp.iterable(x), fnp.iterable(x[0, 0])
        return x

    fg.jit(f)(X.astype(np.float32), 2.0)   # (jit: a Python float argument is weak)
    assert seen["result_type"] == np.float32
    assert seen["weak"] == np.float32   # a Python float argument stays weak
    assert seen["can_cast"] == (True, False)
    assert seen["scalar"] == (False, True) and seen["iterable"] == (True, False)
    assert fnp.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert fnp.promote_types("f4", "i8") == np.float64
    assert fnp.isdtype(np.float32, "real floating") and not fnp.isdtype(np.int8, "bool")
    assert fnp.issubdtype(np.float32, np.floating) and not fnp.issubdtype(np.int8, np.floating)
    assert fnp.isscalar(1.5) and fnp.isscalar(fnp.sum(X)) and not fnp.isscalar([1.0])
    assert fnp.iterable([1]) and not fnp.iterable(2)


def test_printing():
    assert fnp.array_repr(X) == np.array_repr(X)
    assert fnp.array_str(X, precision=2) == np.array_str(X, precision=2)
    with fnp.printoptions(precision=1):
        assert fnp.get_printoptions()["precision"] == 1
        assert fnp.array_str(np.array([1.234])) == "[1.2]"
    texts = []
    fg.make_ir(lambda x: (texts.append(fnp.array_repr(x)), x)[1])(X)
    assert "f64[2,2]" in texts[0]


def test_einsum_path_from_shapes():
    a, b, c = np.ones((2, 3)), np.ones((3, 40)), np.ones((40, 5))
    want = np.einsum_path("ij,jk,kl->il", a, b, c, optimize="greedy")
    paths = []
    fg.make_ir(lambda u, v, w: (paths.append(fnp.einsum_path("ij,jk,kl->il", u, v, w)), u)[1])(
        a, b, c)
    assert paths[0][0] == want[0] and paths[0][1] == want[1]


def test_frompyfunc_maps_a_scalar_function():
    def scalar(a, b):
        return fnp.where(a > b, a - b, a * b)

    ufunc = fnp.frompyfunc(scalar, 2, 1)
    x, y = np.arange(6.0).reshape(2, 3), np.array([1.5, 0.5, 4.0])
    want = np.where(x > y, x - y, x * y)
    np.testing.assert_array_equal(ufunc(x, y), want)
    np.testing.assert_array_equal(interpreted(ufunc, x, y), want)
    np.testing.assert_array_equal(ufunc.outer(x[0], y), np.where(
        x[0][:, None] > y, x[0][:, None] - y, x[0][:, None] * y))
    np.testing.assert_array_equal(ufunc.reduce(np.array([1.0, 2.0, 3.0])), 6.0)
    np.testing.assert_array_equal(ufunc.accumulate(x, axis=1), [[0, 0, 0], [3, 12, 7]])
    grad = fg.grad(lambda v: fnp.sum(ufunc(v, y)))(x)
    np.testing.assert_array_equal(grad, np.where(x > y, 1.0, y) + 0 * x)
    fg.check_grads(lambda v: ufunc.accumulate(v, axis=1), (x + 0.25,), order=2,
                   modes=("fwd", "rev"))
    two = fnp.frompyfunc(lambda a: (a * 2.0, a + 1.0), 1, 2)
    doubled, plus_one = two(y)
    np.testing.assert_array_equal(doubled, 2 * y)
    np.testing.assert_array_equal(plus_one, y + 1)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        ufunc(x)
    with pytest.raises(ValueError, match="outer only supports functions of two"):
        two.outer(y, y)


def test_fromfunction_and_reading(tmp_path):
    got = fnp.fromfunction(lambda i, j: fnp.sin(i) + j, (2, 3))
    np.testing.assert_allclose(got, np.fromfunction(lambda i, j: np.sin(i) + j, (2, 3)))
    assert fnp.fromfunction(lambda i: i, (3,), dtype=int).dtype == np.int_
    for got, want in ((fnp.fromiter(range(4), np.float32), np.arange(4, dtype=np.float32)),
                      (fnp.frombuffer(b"\x01\x02", np.uint8), np.array([1, 2], np.uint8)),
                      (fnp.fromstring("1 2.5", sep=" "), np.array([1.0, 2.5]))):
        assert isinstance(got, fg.Array) and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    fnp.save(tmp_path / "x.npy", X)
    loaded = fnp.load(tmp_path / "x.npy")
    assert isinstance(loaded, fg.Array)
    np.testing.assert_array_equal(loaded, X)
    fnp.savez(tmp_path / "xy.npz", x=X, y=np.arange(3))
    with fnp.load(tmp_path / "xy.npz") as archive:
        np.testing.assert_array_equal(archive["y"], np.arange(3))
    X.tofile(tmp_path / "raw.bin")
    np.testing.assert_array_equal(fnp.fromfile(tmp_path / "raw.bin").reshape(2, 2), X)
    got = fnp.from_dlpack(np.arange(3.0))
    assert isinstance(got, fg.Array)
    np.testing.assert_array_equal(got, np.arange(3.0))
    with pytest.raises(TypeError, match="numpy conversion"):
        fg.jit(lambda x: (fnp.save(tmp_path / "t.npy", x), x)[1])(X)
