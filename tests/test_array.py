"""``fg.Array``: the arrays funcgrad returns are NumPy's, and also take traced indices, have
``.at`` and ``.block_until_ready()`` as JAX's do."""
import math
import pickle

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def test_funcgrad_returns_numpy_arrays_that_are_arrays():
    x = np.linspace(0.0, 1.0, 4)
    results = [fnp.arange(3.0), fnp.sin(x), fnp.linalg.inv(np.eye(2)), fg.grad(
        lambda v: fnp.sum(v ** 2))(x), fg.jit(lambda v: v * 2)(x), fg.vmap(fnp.sin)(x),
        fg.jacrev(fnp.sin)(x)]
    for result in results:
        assert type(result) is fg.Array and isinstance(result, np.ndarray)
    value = results[1]
    np.testing.assert_array_equal(np.cos(value), np.cos(np.sin(x)))   # NumPy takes it
    assert repr(value) == repr(np.sin(x))                             # and prints as NumPy's
    assert type(pickle.loads(pickle.dumps(value))) is fg.Array
    assert type(fg.grad(lambda v: v * 2.0)(1.0)) is fg.Array          # 0-d ones too


def test_the_first_fori_loop_example_of_jax():
    array = fnp.arange(10)
    assert fg.fori_loop(0, 10, lambda i, x: x + array[i], 0) == 45
    weights = fnp.linspace(0.0, 1.0, 5)
    loss = fg.grad(lambda y: fg.fori_loop(0, 5, lambda i, s: s + weights[i] * y ** 2, 0.0))
    assert loss(3.0) == pytest.approx(2 * 3.0 * np.sum(np.linspace(0.0, 1.0, 5)))


def test_traced_indices_in_scan_and_jit():
    table = fnp.asarray(np.array([10.0, 20.0, 30.0]))
    carry, ys = fg.scan(lambda c, i: (c + table[i], table[i] * 2), 0.0, np.array([2, 0, 1]))
    assert carry == 60.0
    np.testing.assert_array_equal(ys, [60.0, 20.0, 40.0])
    pick = fg.jit(lambda i, j: table[i] + fnp.sum(table[(j,)]))
    assert pick(np.int64(1), np.int64(2)) == 50.0
    rows = fnp.arange(6.0).reshape(2, 3)
    assert fg.jit(lambda i: rows[i, 1:])(np.int64(1)).tolist() == [4.0, 5.0]
    with pytest.raises(fg.ConcretizationError, match="slice bound"):
        fg.jit(lambda i: table[i:])(np.int64(1))   # the result's shape would depend on i


def test_at_on_concrete_arrays():
    x = fnp.zeros(4)
    updated = x.at[1].set(5.0)
    assert type(updated) is fg.Array and updated.tolist() == [0.0, 5.0, 0.0, 0.0]
    assert x.tolist() == [0.0] * 4                                   # a copy, as in JAX
    assert x.at[[0, 0, 3]].add(1.0).tolist() == [2.0, 0.0, 0.0, 1.0]
    assert updated.at[1:].get().tolist() == [5.0, 0.0, 0.0]
    grad = fg.grad(lambda v: fnp.sum(x.at[1:3].set(v) ** 2))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(grad, [2.0, 4.0])


def test_block_until_ready():
    x = fg.jit(lambda v: v + 1)(np.ones(2))
    assert x.block_until_ready() is x
    tree = {"a": x, "b": (1.0, [x])}
    assert fg.block_until_ready(tree) is tree


def test_arrays_fed_back_take_the_fast_paths():
    step = fg.jit(lambda w: w - 0.1 * fg.grad(lambda v: fnp.sum(v ** 2))(w))
    w = np.ones(3)
    for _ in range(3):
        w = step(w)
        assert type(w) is fg.Array
    assert step.recompiles == []   # an Array has the signature of the ndarray it views
    np.testing.assert_allclose(w, 0.8 ** 3)
    value, grads = fg.value_and_grad(lambda p: fnp.sum(p["w"] ** 2))({"w": w})
    np.testing.assert_allclose(grads["w"], 2 * w)


@pytest.mark.parametrize("method, ufunc", [("multiply", np.multiply), ("mul", np.multiply),
                                           ("min", np.minimum), ("max", np.maximum)])
def test_at_multiply_min_max_apply_every_update(method, ufunc):
    x = fnp.asarray(np.array([1.0, 2.0, 3.0, 4.0]))
    index, updates = np.array([0, 0, 2]), np.array([2.0, 0.5, -1.0])
    expected = np.asarray(x).copy()
    ufunc.at(expected, index, updates)
    np.testing.assert_array_equal(getattr(x.at[index], method)(updates), expected)
    traced = fg.jit(lambda v, u: getattr(v.at[index], method)(u))(x, updates)
    np.testing.assert_array_equal(traced, expected)


def test_at_multiply_derivatives_with_repeats_and_zeros():
    x, index = np.array([1.0, 2.0, 3.0]), np.array([0, 0, 2])

    def total(v, u):
        return fnp.sum(fnp.at(v)[index].multiply(u) * fnp.array([1.0, 10.0, 100.0]))

    # x0 * u0 * u1 and x2 * u2: each update's derivative is the product of the others
    gx, gu = fg.grad(total, argnums=(0, 1))(x, np.array([2.0, 0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 10.0, 400.0])
    np.testing.assert_array_equal(gu, [0.0, 2.0, 300.0])
    np.testing.assert_array_equal(fg.grad(total, argnums=1)(x, np.array([0.0, 0.0, 4.0])),
                                  [0.0, 0.0, 300.0])
    fg.check_grads(total, (x, np.array([2.0, -0.5, 4.0])), order=2)


def test_at_max_derivative_goes_to_the_winner_and_ties_share():
    grad = fg.grad(lambda v, u: fnp.sum(fnp.at(v)[[0, 0]].max(u)), argnums=(0, 1))
    gx, gu = grad(np.array([1.0, 5.0]), np.array([3.0, 2.0]))
    np.testing.assert_array_equal(gx, [0.0, 1.0])
    np.testing.assert_array_equal(gu, [1.0, 0.0])
    gx, gu = grad(np.array([3.0, 5.0]), np.array([3.0, 2.0]))     # x0 ties u0
    np.testing.assert_array_equal(gx, [0.5, 1.0])
    np.testing.assert_array_equal(gu, [0.5, 0.0])


# ------------------------------------------------------------- 0-d results are Arrays as well

def test_the_program_of_issue_16_runs_eagerly_as_under_grad():
    x = -0.6
    v = fnp.where(fnp.exp2(x) >= x, x, 0.0)
    assert type(v) is fg.Array and v.shape == ()
    product = v.dot(fnp.exp2(x))
    assert type(product) is fg.Array and product == pytest.approx(x * 2.0 ** x)
    under_grad = fg.grad(lambda x: fnp.where(fnp.exp2(x) >= x, x, 0.0).dot(fnp.exp2(x)))(x)
    assert under_grad == pytest.approx(2.0 ** x * (1.0 + x * np.log(2.0)))


M = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.6]])

# Every method, operator and attribute that a traced value has (``core.trace.Tracer`` and
# ``funcgrad/numpy/_tracer_methods.py``), as one call each. A call that a traced value of the
# same shape takes must work on the eager value too, with the same result.
METHOD_CALLS = {
    "__add__": lambda v: v + 1.5, "__radd__": lambda v: 1.5 + v,
    "__sub__": lambda v: v - 1.5, "__rsub__": lambda v: 1.5 - v,
    "__mul__": lambda v: v * 2.0, "__rmul__": lambda v: 2.0 * v,
    "__truediv__": lambda v: v / 2.0, "__rtruediv__": lambda v: 2.0 / v,
    "__floordiv__": lambda v: v // 0.25, "__rfloordiv__": lambda v: 2.0 // v,
    "__mod__": lambda v: v % 0.25, "__rmod__": lambda v: 2.0 % v,
    "__pow__": lambda v: v ** 2.0, "__rpow__": lambda v: 2.0 ** v,
    "__matmul__": lambda v: v @ v.T, "__rmatmul__": lambda v: v.__rmatmul__(v.T),
    "__neg__": lambda v: -v, "__pos__": lambda v: +v, "__abs__": lambda v: abs(v - 0.5),
    "__lt__": lambda v: v < 0.5, "__le__": lambda v: v <= 0.5, "__gt__": lambda v: v > 0.5,
    "__ge__": lambda v: v >= 0.5, "__eq__": lambda v: v == 0.2, "__ne__": lambda v: v != 0.2,
    "__and__": lambda v: (v > 0.3) & (v < 0.8), "__rand__": lambda v: True & (v > 0.3),
    "__or__": lambda v: (v > 0.8) | (v < 0.3), "__ror__": lambda v: False | (v > 0.3),
    "__xor__": lambda v: (v > 0.3) ^ (v < 0.8), "__rxor__": lambda v: True ^ (v > 0.3),
    "__invert__": lambda v: ~(v > 0.3),
    "__lshift__": lambda v: (v * 10.0).astype(np.int64) << 2,
    "__rlshift__": lambda v: 3 << (v * 4.0).astype(np.int64),
    "__rshift__": lambda v: (v * 100.0).astype(np.int64) >> 2,
    "__rrshift__": lambda v: 1000 >> (v * 4.0).astype(np.int64),
    "sum": lambda v: v.sum(), "mean": lambda v: v.mean(), "prod": lambda v: v.prod(),
    "max": lambda v: v.max(), "min": lambda v: v.min(), "var": lambda v: v.var(),
    "std": lambda v: v.std(), "all": lambda v: (v > 0.0).all(), "any": lambda v: (v > 0.5).any(),
    "argmax": lambda v: v.argmax(), "argmin": lambda v: v.argmin(),
    "cumsum": lambda v: v.cumsum(), "cumprod": lambda v: v.cumprod(),
    "reshape": lambda v: v.reshape(1, -1), "astype": lambda v: v.astype(np.float32),
    "transpose": lambda v: v.transpose(), "ravel": lambda v: v.ravel(),
    "flatten": lambda v: v.flatten(), "dot": lambda v: v.dot(v.T), "squeeze": lambda v: v.squeeze(),
    "swapaxes": lambda v: v.swapaxes(0, -1), "repeat": lambda v: v.repeat(2),
    "diagonal": lambda v: v.diagonal(), "take": lambda v: v.take(0),
    "clip": lambda v: v.clip(0.3, 0.7), "trace": lambda v: v.trace(),
    # ported NumPy code calls these; a traced value had none ("'Tracer' object has no
    # attribute 'copy'"); sort is NumPy's in-place one, so traced it says to use fnp.sort
    "copy": lambda v: v.copy(), "round": lambda v: v.round(1),
    "argsort": lambda v: v.ravel().argsort(kind="stable"),
    "searchsorted": lambda v: v.ravel().searchsorted(0.5), "sort": lambda v: v.sort(),
    "clip(max=)": lambda v: v.clip(max=0.5), "itemsize": lambda v: v.itemsize,
    "nbytes": lambda v: v.nbytes,
    "T": lambda v: v.T, "mT": lambda v: v.mT,
    "real": lambda v: (v * 1j).real, "imag": lambda v: (v + 1j * v).imag,
    "conj": lambda v: (v * 1j).conj(), "conjugate": lambda v: (v * 1j).conjugate(),
    "at": lambda v: v.at[(0,) * v.ndim].add(1.0), "__getitem__": lambda v: v[(0,) * v.ndim],
    "shape": lambda v: v.shape, "dtype": lambda v: v.dtype, "ndim": lambda v: v.ndim,
    "size": lambda v: v.size, "aval": lambda v: v.aval, "__len__": lambda v: len(v),
    "__iter__": lambda v: list(v), "__bool__": lambda v: bool(v > 0.5),
    "__float__": lambda v: float(v), "__int__": lambda v: int(v * 10.0),
    "__complex__": lambda v: complex(v), "__index__": lambda v: [0, 1, 2][v.argmax()],
    "__format__": lambda v: f"{v:.3f}", "tolist": lambda v: v.tolist(), "item": lambda v: v.item(0),
    "__array_ufunc__": lambda v: np.sin(v) + np.add(v, 1.0),
    # what a result of a method then takes: a chain of two
    "element.dot": lambda v: v[(0,) * v.ndim].dot(v.sum()),
    "row.at": lambda v: list(v)[0].at[...].set(1.0), "sum.reshape": lambda v: v.sum().reshape(1),
}


def test_the_table_names_every_public_method_of_a_traced_value():
    from funcgrad.core.trace import Tracer
    from funcgrad.numpy._tracer_methods import _METHODS
    public = {name for name in dir(Tracer) if not name.startswith("_")} | set(_METHODS)
    public |= {"__len__", "__iter__", "__bool__", "__float__", "__int__", "__complex__",
               "__index__", "__format__", "__getitem__", "__array_ufunc__"}
    assert public <= set(METHOD_CALLS), public - set(METHOD_CALLS)
    for value in (fnp.sum(M), fnp.sin(M)):
        assert public <= set(dir(value)), public - set(dir(value))


def test_numpy_methods_that_ported_code_calls_on_a_traced_value():
    # x.copy(), x.round(), x.argsort() were "'Tracer' object has no attribute ..."
    x = np.array([0.25, 2.0, 1.0])
    np.testing.assert_allclose(fg.jit(lambda v: v.copy() * v.round(1) + v.clip(max=1.5))(x),
                               x * x.round(1) + x.clip(max=1.5))
    np.testing.assert_array_equal(fg.jit(lambda v: v.argsort())(x), x.argsort())
    assert fg.jit(lambda v: v.nbytes + v.itemsize * 0)(x) == x.nbytes
    with pytest.raises(TypeError, match=r"in place.*fnp\.sort\(x\)"):
        fg.jit(lambda v: v.sort())(x)


def _plain(value):
    """A call's result as Python data, from a known traced value or an eager one."""
    from funcgrad.core.trace import Tracer
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (Tracer, np.ndarray)):
        return ("array", value.shape, value.dtype, value.tolist())
    return value


def _under_trace(call, value):
    """What ``call`` gives a traced value that knows its number (under ``jvp``), or None where
    the traced value does not take it."""
    results = []

    def record(x):
        try:
            results.append(_plain(call(x)))
        except Exception:
            results.append(None)
        return x
    fg.jvp(record, (np.asarray(value),), (np.ones(np.shape(value)),))
    return results[0]


def _same(got, expected) -> bool:
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(
            _same(g, e) for g, e in zip(got, expected))
    if isinstance(expected, tuple):   # an array: ("array", shape, dtype, values)
        return (isinstance(got, tuple) and got[:3] == expected[:3]
                and np.allclose(got[3], expected[3], equal_nan=True))
    if isinstance(expected, float):
        return got == pytest.approx(expected)
    return type(got) is type(expected) and got == expected


def _eager_arrays(value):
    """Every array in an eager result is an Array, never a NumPy scalar."""
    if isinstance(value, (list, tuple)):
        return all(_eager_arrays(v) for v in value)
    return not isinstance(value, np.generic) and (
        not isinstance(value, np.ndarray) or type(value) is fg.Array)


def _results_of_every_source():
    """``(source, value)``: 0-d and n-d results of funcgrad.numpy and of each transformation."""
    mlp = fg.nn.Sequential([fg.nn.Linear(3, 2), fg.nn.Lambda(fnp.tanh)])
    params, state = mlp.init(fg.random.key(0))
    cube = fg.jit(lambda x: x ** 3)
    cube(0.7), cube(M)
    yield "fnp", fnp.sum(M)
    yield "fnp", fnp.sin(M)
    yield "fnp.linalg", fnp.linalg.det(M @ M.T)
    yield "grad", fg.grad(lambda x: x ** 3)(0.7)
    yield "grad", fg.grad(lambda x: fnp.sum(x ** 3))(M)
    value, grads = fg.value_and_grad(lambda x: fnp.sum(x ** 3))(M)
    yield "value_and_grad", value
    yield "value_and_grad", grads
    out, vjp_fn = fg.vjp(lambda x: x ** 3, 0.7)
    yield "vjp", out
    yield "vjp", vjp_fn(1.0)[0]
    yield "vjp", fg.vjp(lambda x: x ** 3, M)[1](np.ones_like(M))[0]
    yield "jvp", fg.jvp(lambda x: x ** 3, (0.7,), (1.0,))[1]
    yield "jvp", fg.jvp(lambda x: x ** 3, (M,), (np.ones_like(M),))[0]
    yield "jit (first call)", fg.jit(lambda x: x ** 2)(0.7)
    yield "jit (native)", cube.compile(0.7)(0.7)
    yield "jit (native)", cube.compile(M)(M)
    yield "vmap", fg.vmap(lambda row: row ** 3)(M)
    yield "hessian", fg.hessian(lambda x: x ** 3)(0.7)
    yield "jacfwd", fg.jacfwd(lambda x: x ** 3)(0.7)
    yield "jacrev", fg.jacrev(lambda x: x ** 3)(M[0])
    yield "fori_loop", fg.fori_loop(0, 3, lambda i, c: c * 1.1, 0.7)
    yield "scan", fg.scan(lambda c, x: (c + x, c * x), 0.0, M[0])[0]
    yield "while_loop", fg.while_loop(lambda c: c < 1.0, lambda c: c * 1.5, 0.7)
    yield "nn module", mlp.apply(params, state, M, train=False)[0]
    yield "random", fg.random.uniform(fg.random.key(1), ())
    yield "random", fg.random.uniform(fg.random.key(1), (2, 3))


@pytest.mark.parametrize("source, value", list(_results_of_every_source()),
                         ids=lambda x: x if isinstance(x, str) else f"{np.ndim(x)}d")
def test_an_eager_result_takes_every_call_a_traced_value_takes(source, value):
    assert type(value) is fg.Array and isinstance(value, np.ndarray)
    taken = 0
    for name, call in METHOD_CALLS.items():
        with np.errstate(all="ignore"):
            expected = _under_trace(call, value)
            if expected is None:
                continue   # not a call that a traced value of this shape takes either
            taken += 1
            got = call(value)
        assert _eager_arrays(got), (name, got)
        assert _same(_plain(got), expected), (name, _plain(got), expected)
    assert taken >= 70


@pytest.mark.parametrize("x", [0.7, np.float64(0.7), np.asarray(0.7), np.float32(0.7), 3, True],
                         ids=["float", "np.float64", "0-d ndarray", "np.float32", "int", "bool"])
def test_jit_returns_what_eager_code_returns_on_every_tier(x):
    def f(v):
        return v * 2, fnp.sum(v), v   # computed, reduced, passed through
    eager = f(fnp.asarray(x))
    jitted = fg.jit(f)
    first = jitted(x)                     # the interpreter, while numba compiles
    native = jitted.compile(x)(x)
    fed_back = jitted(native[2])          # a 0-d Array in: the scalar fast path
    for results in (first, native, fed_back):
        for got, want in zip(results, eager):
            assert type(got) is type(want) is fg.Array
            assert got.dtype == want.dtype and got.shape == ()
    np.testing.assert_array_equal(native, first)
    assert jitted.recompiles == []        # the 0-d Array has the scalar's signature


def test_a_0d_array_is_a_number():
    v = fg.grad(lambda x: x * x)(0.75)          # 1.5
    assert type(v) is fg.Array and isinstance(v, np.ndarray) and v.shape == ()
    assert (float(v), int(v), bool(v), complex(v)) == (1.5, 1, True, 1.5 + 0j)
    assert str(v) == "1.5" and repr(v) == "array(1.5)" and f"{v:.2f}" == "1.50"
    assert format(v, ".1f") == "1.5" and round(v) == 2 and round(v * 1.2345, 2) == 1.85
    assert type(round(v)) is int and math.trunc(v) == 1 and math.floor(v) == 1
    assert v == 1.5 and v == np.float64(1.5) and np.float64(1.0) < v < 2
    assert hash(v) == hash(1.5) and {v, 1.5} == {1.5}        # a key as np.float64 was
    assert set(fnp.asarray([1.0, 2.0, 1.0])) == {1.0, 2.0}
    assert not isinstance(v, float)   # as for any ndarray: float(v) converts
    with pytest.raises(TypeError, match="unhashable"):
        hash(fnp.ones(2))
    for derived in (v * 2.0, 2.0 * v, -v, v + v, np.sin(v), np.float64(2.0) * v, v.sum(),
                    v ** 2, fnp.cos(v), v[()], v.dot(v)):
        assert type(derived) is fg.Array and derived.shape == ()
    assert v.at[()].set(3.0) == 3.0 and v == 1.5
    assert fg.jit(lambda x, n: x * n, static_argnums=1)(2.0, fnp.sum(fnp.ones(3))) == 6.0


def test_indexing_and_iteration_give_0d_arrays():
    a = fnp.arange(3.0)
    assert all(type(x) is fg.Array and x.shape == () for x in (a[1], *a, a.take(0), a.argmax(),
                                                                a.dot(a), fnp.eye(2).trace()))
    assert a[1].dot(a[2]) == 2.0 and a.tolist() == [0.0, 1.0, 2.0]
    assert type(a[1:]) is fg.Array and type(a.tolist()[0]) is float


def test_a_gradient_is_a_writable_array_of_its_own():
    # An eager sum's cotangent is a read-only broadcast view; what the user gets is a copy.
    x = np.arange(4.0)
    g = fg.grad(lambda x: fnp.sum(x))(x)
    assert g.flags.writeable
    g[0] = 5.0
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(x))(x), np.ones(4))
    (ct,) = fg.vjp(lambda x: fnp.sum(x * 2.0), x)[1](1.0)
    assert ct.flags.writeable
    # Times that seed, a partial is passed on itself (read-only): the gradient of sum(x * y)
    # is y's numbers, that of sum(exp(x)) exp's result, of sum(x ** 2) 2x, in arrays of
    # their own, and y is untouched when the gradient is written to.
    y = np.linspace(1.0, 2.0, 4)
    gx, gy = fg.grad(lambda x, y: fnp.sum(x * y), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, y)
    np.testing.assert_array_equal(gy, x)
    assert not np.shares_memory(gx, y) and gx.flags.writeable
    gx[:] = 0.0
    assert y[0] == 1.0
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(fnp.exp(x)))(x), np.exp(x))
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(x ** 2))(x), 2 * x)
    value, g = fg.value_and_grad(lambda y: fnp.sum(fnp.tanh(y) ** 2 + fnp.sin(y)))(y)
    np.testing.assert_allclose(g, 2 * np.tanh(y) * (1 - np.tanh(y) ** 2) + np.cos(y),
                               rtol=1e-15)
    assert g.flags.writeable
    empty = np.ones((3, 0))   # a seed of no elements: nothing to read the 1 from
    assert fg.grad(lambda v: fnp.sum(v * v))(empty).shape == (3, 0)
