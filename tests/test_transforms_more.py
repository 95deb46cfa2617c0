"""linearize, linear_transpose, the jacobian/make_jaxpr aliases, the hvp idiom, eval_shape,
pure_callback, debug.print and disable_jit: values against hand-derived results, and their
composition with jit, grad and vmap.

One small program is compiled natively (``_host_program``, shared by the tests that need a
compiled call); every other ``jit`` here stays in the interpreter (``no_background_compiles``).
"""
import importlib
import threading

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.trace import eval_ir
from funcgrad.transforms.eval_shape import ShapeDtypeStruct

RNG = np.random.default_rng(0)
jit_module = importlib.import_module("funcgrad.transforms.jit")


@pytest.fixture(autouse=True)
def no_background_compiles(monkeypatch):
    """Only ``_host_program`` is compiled: the other jitted functions' first calls would each
    start a numba compile in the background (CI time, and nothing these tests look at)."""
    submit = jit_module._submit

    def only_the_host_program(entry, who):
        if who == "_host_program":
            return submit(entry, who)
        entry.submitted = True

    monkeypatch.setattr(jit_module, "_submit", only_the_host_program)


def _smooth(x, y):
    return fnp.sin(x) * y + fnp.exp(x / 3.0) * fnp.sum(y ** 2)


# ---------------------------------------------------------------------------------- linearize

def test_linearize_scalar_hand_derived():
    out, f_jvp = fg.linearize(lambda x: fnp.sin(x) * x, 0.5)
    assert np.isclose(out, np.sin(0.5) * 0.5)
    slope = np.cos(0.5) * 0.5 + np.sin(0.5)
    assert np.isclose(f_jvp(1.0), slope)
    assert np.isclose(f_jvp(-3.0), -3.0 * slope)
    assert isinstance(f_jvp(1.0), np.ndarray)


def test_linearize_pytrees_and_several_arguments():
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 0.5])
    out, f_jvp = fg.linearize(lambda p, s: {"u": p["a"] * p["b"] * s}, {"a": x, "b": y}, 2.0)
    np.testing.assert_allclose(out["u"], 2.0 * x * y)
    tx, ty = np.ones(3), np.arange(3.0)
    tangent = f_jvp({"a": tx, "b": ty}, 0.5)
    np.testing.assert_allclose(tangent["u"], 2.0 * (tx * y + x * ty) + 0.5 * x * y)


def test_linearize_agrees_with_jvp():
    x, y = RNG.normal(size=3), RNG.normal(size=3)
    out, f_jvp = fg.linearize(_smooth, x, y)
    for _ in range(3):
        tx, ty = RNG.normal(size=3), RNG.normal(size=3)
        want_out, want = fg.jvp(_smooth, (x, y), (tx, ty))
        np.testing.assert_allclose(out, want_out)
        np.testing.assert_allclose(f_jvp(tx, ty), want, rtol=1e-13)


def test_linearize_traces_once_and_f_jvp_runs_no_python():
    calls = []

    def f(x):
        calls.append(1)
        return fnp.tanh(x) * 2.0

    _, f_jvp = fg.linearize(f, np.array([0.3, -0.4]))
    for _ in range(3):
        f_jvp(np.ones(2))
    assert len(calls) == 1
    np.testing.assert_allclose(f_jvp(np.ones(2)),
                               2.0 / np.cosh(np.array([0.3, -0.4])) ** 2)


def test_linearize_integer_argument_has_aux_and_control_flow():
    def f(x, n):
        if x > 0:   # concrete values, as under jvp
            return x ** n, {"n": n}
        return -x, {"n": n}

    out, f_jvp, aux = fg.linearize(f, 2.0, 3, has_aux=True)
    assert out == 8.0 and aux["n"] == 3
    assert f_jvp(1.0, 0) == 12.0


def test_linearize_composes_with_jit_vmap_and_grad():
    x = np.array([0.2, -0.7, 1.1])
    f = lambda v: fnp.sin(v) * fnp.sum(v)   # noqa: E731
    _, f_jvp = fg.linearize(f, x)
    jacobian = fg.jacfwd(f)(x)
    np.testing.assert_allclose(fg.jit(f_jvp)(np.eye(3)[1]), jacobian[:, 1], rtol=1e-13)
    np.testing.assert_allclose(fg.vmap(f_jvp)(np.eye(3)), jacobian.T, rtol=1e-13)
    # grad through linearize: d/dx of the directional derivative along 1
    g = fg.grad(lambda a: fg.linearize(lambda b: fnp.sin(b) * b, a)[1](1.0))(0.5)
    assert np.isclose(g, 2 * np.cos(0.5) - 0.5 * np.sin(0.5))
    # linearize of a jitted function, and linearize inside jit
    _, f_jvp = fg.linearize(fg.jit(f), x)
    np.testing.assert_allclose(f_jvp(np.ones(3)), jacobian.sum(1), rtol=1e-13)
    inside = fg.jit(lambda a, t: fg.linearize(f, a)[1](t))
    np.testing.assert_allclose(inside(x, np.ones(3)), jacobian.sum(1), rtol=1e-13)


def test_linearize_errors_name_the_problem():
    _, f_jvp = fg.linearize(lambda x, y: x * y, 1.0, np.ones(2))
    with pytest.raises(TypeError, match="one tangent per primal"):
        f_jvp(1.0)
    with pytest.raises(ValueError, match=r"tangent leaf 1 has shape \(3,\)"):
        f_jvp(1.0, np.ones(3))


# -------------------------------------------------------------------------- linear_transpose

def test_linear_transpose_hand_derived():
    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    f_t = fg.linear_transpose(lambda x: A @ x, np.zeros(3))
    ct = np.array([1.0, -1.0])
    (got,) = f_t(ct)
    np.testing.assert_allclose(got, A.T @ ct)
    assert fg.linear_transpose(lambda x, y: 2.0 * x - y, 1.0, 1.0)(3.0) == (6.0, -3.0)
    # structural operations, a sum and a pytree output
    f = lambda x: {"s": fnp.sum(x, axis=0), "t": x.T[::-1] / 4.0}   # noqa: E731
    (got,) = fg.linear_transpose(f, np.zeros((2, 3)))(
        {"s": np.array([1.0, 2.0, 3.0]), "t": np.arange(6.0).reshape(3, 2)})
    want = np.array([[1.0, 2.0, 3.0]] * 2) + np.arange(6.0).reshape(3, 2)[::-1].T / 4.0
    np.testing.assert_allclose(got, want)


def test_linear_transpose_agrees_with_vjp_and_the_dot_product_identity():
    W = RNG.normal(size=(3, 4))

    def f(x, y):
        return fnp.concatenate([W @ x, fnp.cumsum(y)[1:] - x[:2]]) * 0.5

    x, y = RNG.normal(size=4), RNG.normal(size=3)
    ct = RNG.normal(size=5)
    tx, ty = fg.linear_transpose(f, x, y)(ct)
    vx, vy = fg.vjp(f, x, y)[1](ct)
    np.testing.assert_allclose(tx, vx, rtol=1e-13)
    np.testing.assert_allclose(ty, vy, rtol=1e-13)
    assert np.isclose(ct @ f(x, y), tx @ x + ty @ y)


def test_linear_transpose_of_linearize_is_vjp():
    x = np.array([0.3, 0.9])
    _, f_jvp = fg.linearize(lambda v: fnp.sin(v) * v[0], x)
    (got,) = fg.linear_transpose(f_jvp, x)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(got, fg.vjp(lambda v: fnp.sin(v) * v[0], x)[1](
        np.array([1.0, 2.0]))[0], rtol=1e-13)


def test_linear_transpose_takes_shape_dtype_structs_and_composes():
    spec = fg.eval_shape(lambda: np.zeros((2, 2), np.float32))
    f_t = fg.linear_transpose(lambda x: 3.0 * x.T, spec)
    (got,) = f_t(np.ones((2, 2), np.float32))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.full((2, 2), 3.0))
    np.testing.assert_array_equal(fg.jit(f_t)(np.eye(2, dtype=np.float32))[0],
                                  3.0 * np.eye(2))
    np.testing.assert_array_equal(fg.vmap(f_t)(np.ones((4, 2, 2), np.float32))[0],
                                  np.full((4, 2, 2), 3.0))
    g = fg.grad(lambda c: fnp.sum(f_t(c * fnp.ones((2, 2), np.float32))[0]))(np.float32(2.0))
    assert g == 12.0


@pytest.mark.parametrize("fun, message", [
    (lambda x: fnp.sin(x), "'sin' is not a linear operation"),
    (lambda x: x * x, "both depend on the inputs"),
    (lambda x: x + 1.0, "affine"),
    (lambda x: 1.0 / x, "not linear in its operand 1"),
    (lambda x: fnp.zeros(3) + 2.0, "nonzero constant"),
])
def test_linear_transpose_rejects_nonlinear_functions(fun, message):
    with pytest.raises(TypeError, match=message):
        fg.linear_transpose(fun, np.zeros(3))


def test_linear_transpose_needs_float_inputs():
    with pytest.raises(TypeError, match="primal leaf 0 has dtype int64"):
        fg.linear_transpose(lambda x: x, np.zeros(2, np.int64))


# ------------------------------------------------------------------ aliases and the hvp idiom

def test_aliases():
    assert fg.jacobian is fg.jacrev
    assert fg.make_jaxpr is fg.make_ir
    np.testing.assert_array_equal(fg.jacobian(lambda x: x * 2.0)(np.ones(2)), 2.0 * np.eye(2))
    assert "sin" in str(fg.make_jaxpr(fnp.sin)(1.0))


def test_hvp_is_forward_over_reverse():
    f = lambda x: fnp.sum(fnp.sin(x) * x[0])   # noqa: E731
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    hvp = fg.jvp(fg.grad(f), (x,), (v,))[1]
    np.testing.assert_allclose(hvp, fg.hessian(f)(x) @ v, rtol=1e-12)
    np.testing.assert_allclose(fg.jit(lambda a, b: fg.jvp(fg.grad(f), (a,), (b,))[1])(x, v),
                               hvp, rtol=1e-12)


def _with_aux(x):
    y = fnp.sin(x) * x
    return fnp.sum(y ** 2), {"y": y, "positives": fnp.sum(x > 0)}


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_jacobians_with_aux_return_it_beside_the_derivative(transform):
    x = np.array([0.5, -1.0, 2.0])
    make = getattr(fg, transform)
    derivative, aux = make(_with_aux, has_aux=True)(x)
    np.testing.assert_allclose(derivative, make(lambda v: _with_aux(v)[0])(x), rtol=1e-13)
    np.testing.assert_array_equal(aux["y"], np.sin(x) * x)
    assert int(aux["positives"]) == 2
    # traced (as under jit: the program's flat outputs are the derivative, then aux's leaves),
    # and with a scalar input (no vmap over the basis)
    traced = eval_ir(fg.make_ir(make(_with_aux, has_aux=True))(x), [x])
    np.testing.assert_allclose(traced[0], derivative, rtol=1e-12)
    np.testing.assert_array_equal(traced[1], 2)
    np.testing.assert_allclose(traced[2], aux["y"], rtol=1e-15)
    scalar, scalar_aux = make(lambda v: (v ** 3, v * 2.0), has_aux=True)(1.5)
    np.testing.assert_allclose(scalar, 9.0 if transform == "hessian" else 6.75)
    assert float(scalar_aux) == 3.0
    with pytest.raises(TypeError, match="has_aux=True needs the function to return a pair"):
        make(lambda v: fnp.sum(v ** 2), has_aux=True)(x)


def test_jvp_with_aux():
    out, tangent, aux = fg.jvp(lambda x: (fnp.sin(x), {"twice": 2.0 * x}), (0.5,), (2.0,),
                               has_aux=True)
    np.testing.assert_allclose([out, tangent, aux["twice"]], [np.sin(0.5), 2 * np.cos(0.5), 1.0])


# -------------------------------------------------------------------------------- eval_shape

def test_eval_shape_shapes_dtypes_and_pytrees():
    def f(x, w, scale=1.0):
        return {"y": fnp.tanh(x @ w) * scale, "n": fnp.argmax(x, axis=1)}

    out = fg.eval_shape(f, np.ones((5, 3)), ShapeDtypeStruct((3, 2), np.float32), scale=2.0)
    assert out == {"y": ShapeDtypeStruct((5, 2), np.float64),
                   "n": ShapeDtypeStruct((5,), np.int64)}
    assert repr(out["y"]) == "ShapeDtypeStruct(shape=(5, 2), dtype=float64)"
    assert out["y"].ndim == 2 and out["y"].size == 10
    assert fg.eval_shape(fg.jit(fnp.sum), ShapeDtypeStruct((4,), "float32")) == \
        ShapeDtypeStruct((), np.float32)


def test_eval_shape_computes_nothing(capsys):
    calls = []

    def host(x):
        calls.append(1)
        return x

    def f(x):
        fg.debug.print("never printed {}", x)
        return fg.pure_callback(host, x, x) + 1.0

    assert fg.eval_shape(f, ShapeDtypeStruct((1000, 1000), np.float64)).shape == (1000, 1000)
    assert calls == [] and capsys.readouterr().out == ""
    with pytest.raises(fg.ConcretizationError):
        fg.eval_shape(lambda x: x if x > 0 else -x, 1.0)


# ----------------------------------------------------------------------------- pure_callback

def _host_sine(x):
    return np.sin(x)


def _host_program(x):
    """The one natively compiled program of this file: a print, a callback, arithmetic."""
    fg.debug.print("host program x = {}", x)
    return fg.pure_callback(_host_sine, x, x, vmap_method="sequential") * 2.0


HOST_PROGRAM = fg.jit(_host_program)


def test_pure_callback_eager_values_kwargs_and_pytrees():
    def host(pair, scale):
        a, b = pair
        return {"sum": (a + b) * scale, "first": np.float32(a[0])}

    spec = {"sum": ShapeDtypeStruct((2,), np.float64), "first": ShapeDtypeStruct((), "float32")}
    out = fg.pure_callback(host, spec, (np.ones(2), np.arange(2.0)), scale=3.0)
    np.testing.assert_array_equal(out["sum"], [3.0, 6.0])
    assert out["first"].dtype == np.float32 and out["first"] == 1.0
    assert isinstance(out["sum"], fg.Array)
    # inside a traced function, on traced values
    got = fg.vmap(lambda v: fg.pure_callback(_host_sine, v, v, vmap_method="sequential"))(
        np.ones((2, 3)))
    np.testing.assert_allclose(got, np.sin(np.ones((2, 3))))


def test_pure_callback_under_jit_runs_every_call(capsys):
    calls = []

    def host(x):
        calls.append(x.copy())
        return x * 10.0

    f = fg.jit(lambda x: fg.pure_callback(host, x, x + 1.0) - 1.0)
    assert f(1.0) == 19.0 and f(2.0) == 29.0
    assert [float(c) for c in calls] == [2.0, 3.0]
    assert "pure_callback" in str(f.ir(1.0))
    x = np.array([0.5, 1.5])
    HOST_PROGRAM.compile(x)
    assert HOST_PROGRAM.is_compiled(x)
    for value in (x, 2 * x):
        np.testing.assert_allclose(HOST_PROGRAM(value), 2.0 * np.sin(value))
    capsys.readouterr()


@pytest.mark.parametrize("method", ["sequential", "sequential_unrolled", "expand_dims",
                                    "broadcast_all"])
def test_pure_callback_vmap_methods(method):
    seen = []

    def host(x, w):
        seen.append((x.shape, w.shape))
        return x * w

    xs, w = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    f = lambda x: fg.pure_callback(host, x, x, w, vmap_method=method)   # noqa: E731
    np.testing.assert_array_equal(fg.vmap(f)(xs), xs * w)
    expected = {"sequential": [((2,), (2,))] * 3, "sequential_unrolled": [((2,), (2,))] * 3,
                "expand_dims": [((3, 2), (1, 2))], "broadcast_all": [((3, 2), (3, 2))]}
    assert seen == expected[method]
    # nested: in_axes on the outer vmap, a jit around it
    seen.clear()
    got = fg.jit(fg.vmap(fg.vmap(f), in_axes=1))(np.arange(12.0).reshape(2, 3, 2))
    np.testing.assert_array_equal(got, np.arange(12.0).reshape(2, 3, 2).transpose(1, 0, 2) * w)


def test_pure_callback_vmap_without_a_method_calls_once_per_example():
    calls = []

    def host(x):
        calls.append(np.shape(x))
        return np.sin(x)
    f = lambda x: fg.pure_callback(host, x, x, sharding=object())   # noqa: E731  (ignored)
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(fg.vmap(f)(x), np.sin(x))
    assert calls == [(2,)] * 3


def test_pure_callback_is_not_differentiable_but_custom_vjp_makes_it():
    f = lambda x: fg.pure_callback(_host_sine, x, x)   # noqa: E731
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.grad(lambda x: fnp.sum(f(x)))(np.ones(2))
    with pytest.raises(TypeError, match="not differentiable"):
        fg.jvp(f, (1.0,), (1.0,))
    # stop_gradient: no derivative flows, and none is asked for
    assert fg.grad(lambda x: f(fg.stop_gradient(x)) + x)(1.0) == 1.0

    @fg.custom_vjp
    def host_sin(x):
        return fg.pure_callback(_host_sine, x, x, vmap_method="sequential")

    def fwd(x):
        return host_sin(x), x

    def bwd(x, g):
        return (g * fg.pure_callback(np.cos, x, x, vmap_method="sequential"),)

    host_sin.defvjp(fwd, bwd)
    x = np.array([0.1, 0.7])
    np.testing.assert_allclose(fg.grad(lambda v: fnp.sum(host_sin(v)))(x), np.cos(x))
    np.testing.assert_allclose(fg.jit(fg.grad(lambda v: fnp.sum(host_sin(v) * v)))(x),
                               np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(fg.vmap(fg.grad(host_sin))(x), np.cos(x))


def test_pure_callback_errors():
    with pytest.raises(fg.ShapeError, match=r"result leaf 0 has shape \(3,\), but "
                       r"result_shape declared \(2,\)"):
        fg.pure_callback(lambda x: np.ones(3), np.ones(2), 1.0)
    with pytest.raises(TypeError, match="dtype float64, but result_shape declared float32"):
        fg.pure_callback(lambda x: np.ones(2), ShapeDtypeStruct((2,), "float32"), 1.0)
    with pytest.raises(TypeError, match="returned structure"):
        fg.pure_callback(lambda x: (x, x), ShapeDtypeStruct((), "float64"), 1.0)
    with pytest.raises(TypeError, match=r"no \.shape and \.dtype"):
        fg.pure_callback(lambda x: x, (2,), 1.0)
    with pytest.raises(ValueError, match="vmap_method must be"):
        fg.pure_callback(lambda x: x, np.ones(()), 1.0, vmap_method="loop")


# ------------------------------------------------------------------------------- debug.print

def test_debug_print_eager_formats_like_str_format(capsys):
    fg.debug.print("x = {}, y = {y:.2f}, {label}, tree = {t}", 1.5, y=np.float64(2.0),
                   label="text", t={"a": np.arange(2)})
    assert capsys.readouterr().out == "x = 1.5, y = 2.00, text, tree = {'a': array([0, 1])}\n"


def test_debug_print_under_jit_prints_every_call(capsys):
    @fg.jit
    def f(x):
        fg.debug.print("f sees {}", x)   # nothing reads it: still not dropped
        fg.debug.print("a constant {}", 7)
        return x * 3.0

    assert f(1.0) == 3.0
    assert f(2.0) == 6.0
    assert capsys.readouterr().out == ("f sees 1.0\na constant 7\n"
                                       "f sees 2.0\na constant 7\n")
    # the compiled program prints too, on every native call
    x = np.array([1.0, 2.0])
    HOST_PROGRAM.compile(x)
    capsys.readouterr()
    HOST_PROGRAM(x)
    HOST_PROGRAM(x + 1.0)
    assert capsys.readouterr().out == "host program x = [1. 2.]\nhost program x = [2. 3.]\n"


def test_debug_print_under_grad_vmap_and_loops(capsys):
    def f(x):
        fg.debug.print("value {}", x)
        return fnp.sin(x)

    assert np.isclose(fg.grad(f)(0.5), np.cos(0.5))
    assert capsys.readouterr().out == "value 0.5\n"
    fg.vmap(f)(np.array([1.0, 2.0]))
    assert capsys.readouterr().out == "value 1.0\nvalue 2.0\n"
    fg.jit(fg.grad(f))(0.25)
    assert capsys.readouterr().out == "value 0.25\n"
    fg.make_ir(f)(1.0)
    assert capsys.readouterr().out == ""

    def body(carry, x):
        fg.debug.print("step {} {}", carry, x)
        return carry * x, carry

    loop = lambda xs: fg.scan(body, 1.0, xs)[0]   # noqa: E731
    expected = "step 1.0 2.0\nstep 2.0 3.0\n"
    for run in (loop, fg.grad(loop), fg.jit(fg.grad(loop))):
        run(np.array([2.0, 3.0]))
        assert capsys.readouterr().out == expected, run
    branch = lambda x: fg.cond(x > 0, f, lambda v: -v, x)   # noqa: E731
    fg.jit(fg.grad(branch))(0.5)
    assert capsys.readouterr().out == "value 0.5\n"


def test_debug_print_in_linearize_prints_once(capsys):
    def f(x):
        fg.debug.print("at {}", x)
        return x * x

    _, f_jvp = fg.linearize(f, 3.0)
    assert f_jvp(1.0) == 6.0 and f_jvp(2.0) == 12.0
    assert capsys.readouterr().out == "at 3.0\n"


# ------------------------------------------------------------------------------- disable_jit

def test_disable_jit_runs_the_python_function(capsys):
    @fg.jit
    def f(x):
        print("python runs", x)
        return x + 1.0

    f(1.0)
    f(2.0)
    assert capsys.readouterr().out.count("python runs") == 1   # traced once
    with fg.disable_jit():
        assert f(1.0) == 2.0 and f(1.0) == 2.0
        with fg.disable_jit():   # nests
            f(3.0)
        assert fg.grad(f)(1.0) == 1.0   # transformations see the Python function
    assert capsys.readouterr().out == ("python runs 1.0\npython runs 1.0\npython runs 3.0\n"
                                       "python runs Tracer<f64[]>(1.)\n")
    f(1.0)
    with fg.disable_jit(False):
        f(1.0)
    assert capsys.readouterr().out == ""


def test_disable_jit_is_per_thread_and_keeps_static_arguments(capsys):
    calls = []
    f = fg.jit(lambda x, n: calls.append(n) or x * n, static_argnums=1)
    f(1.0, 2)
    done = threading.Event()
    inside = threading.Event()

    def other():
        inside.wait()
        f(1.0, 2)   # jitted here: traced before, not run again
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with fg.disable_jit():
        inside.set()
        done.wait()
        assert f(2.0, 2) == 4.0
    thread.join()
    assert calls == [2, 2]
