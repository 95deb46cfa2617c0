"""Compiled loops: ``scan``, ``fori_loop``, ``while_loop`` and ``cond`` under ``jit``.

Each program below holds many loops (a few compiles for the whole file, one per dtype): small
bodies, which become one numba function for the whole loop (``backend/loops.py``), and bodies
with large values, which the program runs as a compiled body function once a step. Every
result is checked against the interpreter and eager evaluation, forward, ``grad``, ``jvp``,
``vmap`` and nested, with zero-length loops and reverse scans; and a compiled program must
not interpret any loop body. (``while_loop``'s reverse mode under ``jit`` counts its trips when
the program runs, through the interpreter by design: tests/test_control.py checks it.)
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.backend import matrix_loops
from funcgrad.core.trace import eval_ir
from funcgrad.ops import control

pytest.importorskip("numba")

RNG = np.random.default_rng(11)


def _pendulum(params, state, steps: int = 30, dt: float = 0.05):
    """RK4 of a driven damped pendulum: a vector carry read by index and rebuilt by stack."""
    g_l, damping, drive = params[0], params[1], params[2]

    def f(t, s):
        return fnp.stack([s[1], -g_l * fnp.sin(s[0]) - damping * s[1] + drive * fnp.cos(t)])

    def step(i, s):
        t = fnp.asarray(i, s.dtype) * dt
        k1 = f(t, s)
        k2 = f(t + dt / 2, s + dt / 2 * k1)
        k3 = f(t + dt / 2, s + dt / 2 * k2)
        k4 = f(t + dt, s + dt * k3)
        return s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    end = fg.fori_loop(0, steps, step, state)
    return end[0] ** 2 + end[1]


def _scans(x, xs):
    """Scans forward and reverse, with ys, a cond in the body, a scan in the body, and none."""
    def body(c, x_t):
        c = fg.cond(x_t > 0, lambda c: c * 0.9 + x_t, lambda c: c - x_t * x_t, c)
        inner, _ = fg.scan(lambda a, b: (a + fnp.sin(b) * c, None), 0.0 * c, xs[:3])
        return c + 0.1 * inner, fnp.tanh(c)

    carry, ys = fg.scan(body, x, xs)
    back, ys_back = fg.scan(lambda c, x_t: (c * x_t, c + x_t), x, xs, reverse=True)
    empty, ys_empty = fg.scan(lambda c, x_t: (c + x_t, c), x, xs[:0])
    return fnp.sum(carry) + fnp.sum(ys) + back + fnp.sum(ys_back) + empty + fnp.sum(ys_empty)


def _whiles(x):
    """A Newton square root, an integer-counted loop, and a loop that runs no trip."""
    tolerance = 8 * float(np.finfo(x.dtype).eps)
    root = fg.while_loop(lambda y: fnp.abs(y * y - x) > tolerance * x,
                         lambda y: 0.5 * (y + x / y), x)
    count, grown = fg.while_loop(lambda c: c[1] < 10.0,
                                 lambda c: (c[0] + 1, c[1] * 1.5 + 0.1), (0, x))
    none = fg.while_loop(lambda y: y > 1e9, lambda y: y * 2.0, x)
    return root + grown + count + none


def _wide(h, xs, w):
    """A body with a matrix product over values too large to scalarise."""
    def body(h, x_t):
        h = fnp.tanh(x_t @ w + h @ w)
        return h, fnp.sum(h)
    h, ys = fg.scan(body, h, xs)
    return fnp.sum(h * h) + fnp.sum(ys)


def _matrix_scans(h, xs, w, v):
    """Bodies too large to scalarise, of matrix products and kernels: one numba function
    each (``backend/matrix_loops.py``). A constant read transposed, a matrix-vector, a
    vector-matrix and a vector-vector product, a product written transposed, carries that
    swap, a scalar carry, ys that are the entering and the leaving carry, a reverse scan and
    an empty one."""
    def rnn(c, x_t):
        new = fnp.tanh(x_t @ w + c @ w.T)
        return new, (new, c, fnp.sum(new * new))

    def swapping(carry, x_t):
        a, b, total = carry
        flat = fnp.reshape(a, (-1,))
        turned = fnp.einsum("ij,jk->ki", b, w)           # the product, transposed
        return (b, fnp.sin(a @ w) + x_t, total + flat @ flat), (a @ v, v @ turned, total)

    last, (hs, entering, squares) = fg.scan(rnn, h, xs)
    (a, b, total), (av, vt, totals) = fg.scan(swapping, (h, h * 0.5, fnp.sum(h)), xs,
                                             reverse=True)
    empty, (e1, e2, e3) = fg.scan(rnn, h, xs[:0])
    return (fnp.sum(last * hs[1]) + fnp.sum(entering) + fnp.sum(squares) + fnp.sum(a * b)
            + total + fnp.sum(av) + fnp.sum(vt) + fnp.sum(totals) + fnp.sum(empty)
            + fnp.sum(e1) + fnp.sum(e3))


def _program(params, state, x, xs, h, hs, w, batch, mh, mxs, mw, mv):
    pendulum = _pendulum(params, state)
    return {
        "pendulum": pendulum,
        "pendulum_grad": fg.grad(_pendulum, argnums=(0, 1))(params, state),
        "pendulum_jvp": fg.jvp(_pendulum, (params, state), (params * 0.1, state + 1.0))[1],
        "pendulum_vmap": fg.vmap(lambda s: _pendulum(params, s))(batch),
        "pendulum_hessian": fg.hessian(_pendulum)(params, state),
        "scans": _scans(x, xs),
        "scans_grad": fg.grad(_scans, argnums=(0, 1))(x, xs),
        "scans_vmap": fg.vmap(_scans, in_axes=(0, None))(batch[:, 0], xs),
        "whiles": _whiles(x * x + 1.0),
        "whiles_jvp": fg.jvp(_whiles, (x * x + 1.0,), (1.0,))[1],
        "whiles_vmap": fg.vmap(_whiles)(batch[:, 0] ** 2 + 1.0),
        "wide": _wide(h, hs, w),
        "wide_grad": fg.grad(_wide, argnums=(0, 2))(h, hs, w),
        "matrix": _matrix_scans(mh, mxs, mw, mv),
        "matrix_grad": fg.grad(_matrix_scans, argnums=(0, 1, 2, 3))(mh, mxs, mw, mv),
    }


def _arguments(dtype):
    values = ([9.8, 0.3, 0.5], [1.0, 0.0], 0.7, RNG.normal(size=6),
              RNG.normal(size=(4, 12)) * 0.3, RNG.normal(size=(5, 4, 12)) * 0.3,
              RNG.normal(size=(12, 12)) * 0.2, RNG.normal(size=(3, 2)),
              RNG.normal(size=(6, 20)) * 0.3, RNG.normal(size=(4, 6, 20)) * 0.3,
              RNG.normal(size=(20, 20)) * 0.2, RNG.normal(size=20))
    return tuple(np.asarray(value, dtype) for value in values)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_compiled_loops_match_the_interpreter_and_eager(dtype, monkeypatch):
    args = _arguments(dtype)
    eager = _program(*args)
    jitted = fg.jit(_program)
    first = jitted(*args)                 # the interpreted tier
    interpreted = eval_ir(fg.make_ir(_program)(*args), fg.tree.leaves(args))
    jitted.compile(*args)
    source = jitted.source(*args)
    assert source.count("def loop_") >= 5, "the small bodies are not whole-loop kernels"
    if matrix_loops.available():   # the forward scans and their reverse-mode scans
        assert source.count("def matrix_loop_") >= 6, "bodies of matrix products are not " \
            "whole-loop functions"

    # Native code never interprets a body: the interpreter's entry point now fails.
    def interpreting(*_):
        raise AssertionError("a compiled loop interpreted its body")
    monkeypatch.setattr(control, "evaluate", interpreting)
    native = jitted(*args)
    monkeypatch.undo()

    rtol = 1e-10 if dtype == np.float64 else 2e-4
    names = sorted(eager)
    for got_tree in (first, native, fg.tree.unflatten(fg.tree.structure(eager), interpreted)):
        for name in names:
            for got, want in zip(fg.tree.leaves(got_tree[name]), fg.tree.leaves(eager[name])):
                got, want = np.asarray(got), np.asarray(want)
                assert got.dtype == want.dtype and got.shape == want.shape, name
                scale = max(1.0, float(np.max(np.abs(want))))
                np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale,
                                           err_msg=name)


def test_the_pendulum_gradient_against_central_differences():
    params, state = np.array([9.8, 0.3, 0.5]), np.array([1.0, 0.0])
    compiled = fg.jit(fg.grad(_pendulum)).compile(params, state)
    step = 1e-6
    numeric = [(_pendulum(params + step * e, state) - _pendulum(params - step * e, state))
               / (2 * step) for e in np.eye(3)]
    np.testing.assert_allclose(compiled(params, state), numeric, rtol=1e-6)


def test_reverse_mode_runs_the_forward_body_once():
    """The VJP's scan that stores each step's entering carry is merged with the forward scan
    that gives the value: a value_and_grad program has one forward and one backward scan."""
    h, hs, w = _arguments(np.float64)[4:7]
    ir = fg.jit(fg.value_and_grad(_wide)).ir(h, hs, w)
    assert [e.primitive.name for e in ir.eqns].count("scan") == 2
    value, grad = fg.jit(fg.value_and_grad(_wide))(h, hs, w)
    np.testing.assert_allclose(grad, fg.grad(_wide)(h, hs, w), rtol=1e-12)


def test_a_checkpointed_scan_body_stores_only_its_carry():
    """Reverse mode stores the forward values a scan's backward step reads, except inside a
    checkpoint, which recomputes them: the forward scan's stored ys show the difference."""
    def block(c, x):
        h = fnp.tanh(c * x)
        return fnp.sin(h) * fnp.exp(h)

    def loss(body):
        return lambda c, xs: fnp.sum(fg.scan(body, c, xs)[1])

    plain = loss(lambda c, x: (block(c, x), c))
    checkpointed = loss(lambda c, x: (fg.checkpoint(block)(c, x), c))
    xs = np.linspace(0.1, 1.0, 5)

    def stored(f):
        ir = fg.jit(fg.grad(f)).ir(0.3, xs)
        return max(len(e.outputs) for e in ir.eqns if e.primitive.name == "scan") - 1

    assert stored(checkpointed) < stored(plain)
    np.testing.assert_allclose(fg.jit(fg.grad(checkpointed))(0.3, xs),
                               fg.grad(plain)(0.3, xs), rtol=1e-13)


def test_a_scan_of_matrix_products_falls_back_to_its_body_program(monkeypatch):
    """Where numba does not compile a scan's whole-loop function (numba's np.dot without
    SciPy, or any numba error), the program calls the compiled body once a step instead, with
    the same results, and is still native code."""
    from funcgrad.backend import program
    args = _arguments(np.float64)[8:]
    grad = fg.grad(_matrix_scans, argnums=(0, 2))
    want = grad(*args)
    compile_kernel = program.compile_kernel

    def failing(source, is_scalar):
        if source.name.startswith("matrix_loop_"):
            raise RuntimeError("numba could not compile this")
        return compile_kernel(source, is_scalar)

    monkeypatch.setattr(program, "compile_kernel", failing)
    jitted = fg.jit(grad)
    got = jitted.compile(*args)(*args)
    assert jitted.is_compiled(*args) and "def matrix_loop_" not in jitted.source(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
