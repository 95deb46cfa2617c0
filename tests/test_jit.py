"""fg.jit: same numbers as the interpreter, composition with every transform, caches, and
failure handling. numba compiles are few and small: programs are shared between tests."""
import os
import stat
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

pytest.importorskip("numba")


def seed(x, y):
    return y * fnp.log(x) + fnp.sin(y)


SEED_GRAD = fg.jit(fg.grad(seed, argnums=(0, 1)))


def test_jit_of_grad_matches_the_interpreter_and_compiles():
    eager = fg.grad(seed, argnums=(0, 1))(2.0, 3.0)
    first = SEED_GRAD(2.0, 3.0)            # may run in the interpreter while numba compiles
    compiled = SEED_GRAD.compile(2.0, 3.0)(2.0, 3.0)
    assert SEED_GRAD.is_compiled(2.0, 3.0)
    assert first == eager
    np.testing.assert_allclose(compiled, eager, rtol=1e-15)
    assert all(type(v) is fg.Array and v.shape == () and v.dtype == np.float64
               for v in compiled)   # as eagerly


def test_generated_source_is_readable():
    source = SEED_GRAD.source(2.0, 3.0)
    assert "def program(" in source and "# c:f64[] = log a" in source
    assert "np.log(" in source and "kernel_" in source


def test_float32_stays_float32_under_jit():
    f = fg.jit(fg.value_and_grad(lambda x: fnp.sum(fnp.tanh(x) * x)))
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    value, grad = f.compile(x)(x)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    eager_value, eager_grad = fg.value_and_grad(lambda x: fnp.sum(fnp.tanh(x) * x))(x)
    np.testing.assert_allclose(value, eager_value, rtol=1e-6)
    np.testing.assert_allclose(grad, eager_grad, rtol=1e-6)


def test_python_numbers_passed_to_jit_and_vmap_are_weak_as_eagerly():
    """A float32 array times a Python float argument (a learning rate, a temperature) stays
    float32 under jit and vmap, as it does eagerly (NumPy's NEP 50, JAX's weak types); a
    NumPy float64 scalar, or NumPy's sin of the number, is float64 as eagerly."""
    x = np.array([1.0, 2.0], np.float32)
    counts = np.arange(3, dtype=np.int32)

    def step(x, lr):
        return x - lr * (2 * x) - lr ** 2 / 3

    cases = [(step, x, 0.5), (step, x, np.float64(0.5)), (step, x, 3),
             (lambda x, lr: x * fnp.sin(lr), x, 0.5), (lambda n, k: n * k + k, counts, 3),
             (lambda n, k: n / k, counts, 3), (lambda x, y: -y * x + abs(y), x, -0.5)]
    for fun, array, number in cases:
        eager = fun(array, number)
        jitted = fg.jit(fun)
        for result in (jitted(array, number), jitted.compile(array, number)(array, number),
                       fg.vmap(fun, in_axes=(0, None))(array, number)):
            assert result.dtype == eager.dtype, (fun, number, result.dtype)
            np.testing.assert_allclose(result, eager, rtol=1e-6)
        # make_ir shows the program jit runs: the same dtypes
        assert fg.make_ir(fun)(array, number).out_avals[0].dtype == eager.dtype
    grad = fg.jit(fg.grad(lambda x, lr: fnp.sum(step(x, lr) ** 2)))(x, 0.1)
    assert grad.dtype == np.float32
    # Where the weakness changes no dtype, a Python number and a NumPy scalar share one
    # program (a 0-d result fed back in is no new signature); where it does, they do not.
    shared = fg.jit(lambda x, lr: x.astype(np.float64) * lr)
    shared(x, 0.5), shared(x, np.float64(0.5)), shared(x, 0.25)
    assert shared.recompiles == []
    apart = fg.jit(lambda x, lr: x * lr)
    assert apart(x, 0.5).dtype == np.float32 and apart(x, np.float64(0.5)).dtype == np.float64
    assert len(apart.recompiles) == 1 and "(a Python number)" in apart.recompiles[0]


def test_python_numbers_are_strong_where_numpy_makes_them_arrays():
    """NumPy's products and array constructors turn a Python number into a float64 array
    first (``np.dot(0.4, float32_array)`` is float64), while its ufuncs, ``where``, ``clip``
    and ``select`` keep it weak: a Python number passed to jit gets each function's own rule
    (the fuzzer found ``fnp.dot`` float32 under jit and float64 eagerly)."""
    a = np.array([0.5, 0.25], np.float32)
    cases = [(np.dot, fnp.dot), (np.inner, fnp.inner), (np.outer, fnp.outer),
             (np.kron, fnp.kron),
             (lambda s, a: np.tensordot(s, a, 0), lambda s, a: fnp.tensordot(s, a, 0)),
             (lambda s, a: np.einsum(",i->i", s, a), lambda s, a: fnp.einsum(",i->i", s, a)),
             (lambda s, a: np.asarray(s) * a, lambda s, a: fnp.asarray(s) * a),
             (lambda s, a: np.array(s) * a, lambda s, a: fnp.array(s) * a),
             (np.multiply, fnp.multiply), (np.maximum, fnp.maximum),
             (lambda s, a: np.where(a > 0.3, s, a), lambda s, a: fnp.where(a > 0.3, s, a)),
             (lambda s, a: np.clip(a, s, 1.0), lambda s, a: fnp.clip(a, s, 1.0)),
             (lambda s, a: np.select([a > 0.3], [s], a),
              lambda s, a: fnp.select([a > 0.3], [s], a))]
    for numpy_fun, fun in cases:
        want = np.asarray(numpy_fun(0.4, a))
        jitted = fg.jit(fun)
        entry, _ = jitted.jitted._entry((0.4, a), {})
        entry.submitted = True   # the interpreter tier only: no numba compile in this test
        got = jitted(0.4, a)
        assert got.dtype == want.dtype, (numpy_fun, got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_jit_composes_with_transforms_in_any_order():
    jitted = fg.jit(seed)
    assert fg.grad(jitted)(2.0, 3.0) == fg.grad(seed)(2.0, 3.0)
    assert fg.jit(fg.jit(seed))(2.0, 3.0) == pytest.approx(seed(2.0, 3.0))
    x = np.array([0.3, -0.2])
    f = fg.jit(lambda v: fnp.sum(fnp.sin(v) ** 2))
    np.testing.assert_allclose(fg.hessian(f)(x), fg.hessian(lambda v: fnp.sum(
        fnp.sin(v) ** 2))(x))
    _, tangent = fg.jvp(jitted, (2.0, 3.0), (1.0, 0.0))
    assert tangent == pytest.approx(1.5)


def test_new_batch_size_reuses_the_compiled_kernel():
    import re

    f = fg.jit(lambda x: fnp.sum(fnp.exp(x) * 3.0))
    small, large = f.source(np.ones(4)), f.source(np.ones(9))
    kernel = re.compile(r"def (kernel_\w+)\(")
    assert kernel.findall(small) == kernel.findall(large)   # one kernel, shared
    assert f(np.ones(9)) == pytest.approx(27 * np.e)
    assert "leaf 0: float64[4] -> float64[9]" in f.recompiles[-1]


def test_static_argnums():
    f = fg.jit(lambda x, n: x ** n, static_argnums=1)
    assert f(2.0, 3) == 8.0 and f(2.0, 4) == 16.0
    with pytest.raises(TypeError, match="hashable"):
        fg.jit(lambda x, n: x, static_argnums=1)(1.0, [1])


def test_static_argnums_and_argnames_complete_each_other_from_the_signature():
    # As in JAX: a static name passed positionally, a static position passed by keyword.
    # Both were traced (a str argument then "cannot be traced").
    def g(x, mode="power", n=2):
        return x ** n if mode == "power" else -x

    by_name = fg.jit(g, static_argnames=("mode", "n"))
    assert by_name(3.0) == 9.0 and by_name(3.0, "negate") == -3.0
    assert by_name(3.0, "power", 3) == 27.0 and by_name(3.0, n=1) == 3.0
    by_number = fg.jit(g, static_argnums=(1,))
    assert by_number(3.0, mode="negate") == -3.0 and by_number(3.0, "power") == 9.0
    # As in JAX, a name or position the function does not have is an error at once (a typo
    # left the argument traced, to fail later with an unrelated message).
    with pytest.raises(ValueError, match=r"static_argnames \['mdoe'\] name no parameter"):
        fg.jit(g, static_argnames="mdoe")
    with pytest.raises(ValueError, match=r"static_argnums \[3\] are outside"):
        fg.jit(g, static_argnums=3)
    with pytest.raises(TypeError, match="fg.jit: expected a function"):
        fg.jit(3.0)
    assert fg.jit(lambda *xs: xs[0] * xs[2], static_argnums=2)(1.0, 2.0, 3) == 3.0


ELEMENTWISE_PROGRAM = {
    "unary": ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
              "arcsinh", "arctanh", "exp", "exp2", "expm1", "log1p", "cbrt", "abs",
              "sign", "floor", "ceil", "round", "sinc", "negative", "square", "reciprocal"],
    "binary": ["add", "subtract", "multiply", "divide", "maximum", "minimum", "arctan2",
               "hypot", "logaddexp", "logaddexp2", "mod", "floor_divide", "power"],
}


def _every_elementwise(x, y):
    outs = [getattr(fnp, name)(x) for name in ELEMENTWISE_PROGRAM["unary"]]
    positive = fnp.abs(x) + 1.5
    outs += [fnp.log(positive), fnp.log2(positive), fnp.log10(positive), fnp.arccosh(positive),
             fnp.sqrt(positive)]
    outs += [getattr(fnp, name)(x, y) for name in ELEMENTWISE_PROGRAM["binary"][:-1]]
    outs += [fnp.power(positive, y), x ** 3, x ** -2, fnp.where(x > y, x, y),
             (x >= y).astype(x.dtype), fnp.logical_and(x > 0, y > 0).astype(x.dtype),
             fnp.isfinite(x / y).astype(x.dtype), fg.stop_gradient(x) * 2]
    return outs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_elementwise_primitive_compiled_matches_the_interpreter(dtype):
    rng = np.random.default_rng(1)
    x = (rng.uniform(-0.9, 0.9, 16)).astype(dtype)
    y = (rng.uniform(0.5, 2.0, 16) * rng.choice([-1, 1], 16)).astype(dtype)
    compiled = fg.jit(_every_elementwise).compile(x, y)(x, y)
    interpreted = [np.asarray(v) for v in fg.make_ir(_every_elementwise)(x, y) and
                   _interpret(_every_elementwise, x, y)]
    # numba calls libm where NumPy may use its own SIMD code: agree to a few ulps.
    rtol = 1e-13 if dtype == np.float64 else 2e-6
    for value, expected in zip(compiled, interpreted):
        assert value.dtype == expected.dtype
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol)


def test_integer_elementwise_code_compiled_matches_numpy():
    # numba's np.sign of an unsigned integer is its all-ones value: sign(uint8 200) was 255.
    unsigned = np.array([0, 3, 200, 255], np.uint8)
    signed = np.array([-7, 0, 5, 2 ** 31 - 1], np.int32)

    def program(u, i):
        return (fnp.sign(u), fnp.sign(i), fnp.abs(i), u // 3, i % -3, fnp.maximum(u, 7),
                fnp.sign(u.astype(np.uint64)) * 2)

    compiled = fg.jit(program).compile(unsigned, signed)(unsigned, signed)
    for value, expected in zip(compiled, program(unsigned, signed)):   # NumPy's, eagerly
        assert value.dtype == expected.dtype
        np.testing.assert_array_equal(value, expected)
    # a loop of small values is one native loop: its shifts lacked the width ({bits}), so
    # numba "could not compile" it (KeyError: 'bits') and it ran in the interpreter
    def shifts(c):
        return fg.fori_loop(0, 3, lambda i, c: (c << 1) ^ (c >> 1), c)

    with warnings.catch_warnings(record=True) as caught:   # (the compile thread's too)
        warnings.simplefilter("always")
        assert fg.jit(shifts).compile(signed)(signed).tolist() == shifts(signed).tolist()
    assert not [w for w in caught if "could not compile" in str(w.message)]


def _interpret(fun, *args):
    from funcgrad.core.trace import eval_ir

    ir = fg.make_ir(fun)(*args)
    return eval_ir(ir, list(args))


def test_random_fused_programs_match_the_interpreter():
    rng = np.random.default_rng(7)
    unary = [fnp.sin, fnp.tanh, fnp.exp, lambda v: v * v, lambda v: fnp.maximum(v, 0.1)]
    binary = [fnp.add, fnp.multiply, fnp.subtract, lambda a, b: a / (1.0 + b * b)]
    for _ in range(3):
        ops = [(rng.integers(len(unary)), rng.integers(len(binary))) for _ in range(6)]

        def program(x, y, ops=ops):
            for u, b in ops:
                x, y = binary[b](unary[u](x), y), x
            return fnp.sum(x * y)

        x, y = rng.uniform(-1, 1, 10), rng.uniform(-1, 1, 10)
        f = fg.jit(fg.value_and_grad(program, argnums=(0, 1)))
        value, grads = f.compile(x, y)(x, y)
        eager_value, eager_grads = fg.value_and_grad(program, argnums=(0, 1))(x, y)
        np.testing.assert_allclose(value, eager_value, rtol=1e-12)
        for g, e in zip(grads, eager_grads):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_mlp_value_and_grad_under_jit():
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((6, 8)).astype(np.float32) * 0.3,
              "b1": np.zeros(8, np.float32),
              "w2": rng.standard_normal((8, 3)).astype(np.float32) * 0.3}
    x = rng.standard_normal((5, 6)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0])

    def loss(p, x):
        h = fnp.maximum(x @ p["w1"] + p["b1"], 0.0)
        logits = h @ p["w2"]
        shifted = logits - fnp.max(logits, axis=1, keepdims=True)
        log_probs = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
        return -fnp.mean(log_probs[np.arange(5), labels])

    f = fg.jit(fg.value_and_grad(loss))
    value, grads = f.compile(params, x)(params, x)
    eager_value, eager_grads = fg.value_and_grad(loss)(params, x)
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, eager_value, rtol=1e-5)
    for name in params:
        assert grads[name].dtype == np.float32
        np.testing.assert_allclose(grads[name], eager_grads[name], rtol=1e-4, atol=1e-6)


def test_a_numba_failure_falls_back_to_the_interpreter_with_one_warning(monkeypatch):
    from funcgrad.backend import templates

    monkeypatch.setitem(templates.ELEMENTWISE_CODE, "cosh", "undefined_function({0})")
    f = fg.jit(lambda x: fnp.cosh(x) * 2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f.compile(0.5)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "cosh" in messages[0] and "interpreter" in messages[0]
    assert f(0.5) == pytest.approx(2 * np.cosh(0.5))


_CHILD = textwrap.dedent("""
    import funcgrad as fg, funcgrad.numpy as fnp
    from funcgrad.backend import compiler
    f = fg.jit(fg.grad(lambda x: fnp.sin(x) * fnp.exp(x * 0.5)))
    value = f.compile(0.25)(0.25)
    hits = sum(sum(d.stats.cache_hits.values()) for d in compiler._kernels.values())
    print(repr(float(value)), hits)
""")


def _run_child(cache_dir):
    env = dict(os.environ, FUNCGRAD_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    value, hits = done.stdout.split()
    return float(value), int(hits), done.stderr


def test_a_second_process_hits_the_disk_cache(tmp_path):
    first_value, first_hits, _ = _run_child(tmp_path)
    second_value, second_hits, _ = _run_child(tmp_path)
    assert first_hits == 0 and second_hits >= 1
    assert first_value == second_value


def test_a_corrupted_cache_is_survived(tmp_path):
    _run_child(tmp_path)
    for root, _, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(root, name), "wb") as file:
                file.write(b"\x00garbage")
    value, _, stderr = _run_child(tmp_path)
    assert value == pytest.approx(np.cos(0.25) * np.exp(0.125) + 0.5 * np.sin(0.25) *
                                  np.exp(0.125))
    assert "Traceback" not in stderr


def test_two_processes_compiling_the_same_program_at_once(tmp_path):
    env = dict(os.environ, FUNCGRAD_CACHE_DIR=str(tmp_path))
    children = [subprocess.Popen([sys.executable, "-c", _CHILD], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    values = {out.split()[0] for out, _ in outputs}
    assert len(values) == 1


def test_large_loops_run_on_threads_and_match_the_interpreter():
    from funcgrad.backend.codegen import PARALLEL_THRESHOLD

    x = np.linspace(-2.0, 2.0, PARALLEL_THRESHOLD, dtype=np.float32)
    f = fg.jit(fg.value_and_grad(lambda v: fnp.sum(fnp.sin(v) * fnp.exp(-v * v))))
    assert "numba.prange" in f.source(x)
    value, grad = f(x)
    _, eager_grad = fg.value_and_grad(lambda v: fnp.sum(fnp.sin(v) * fnp.exp(-v * v)))(x)
    # float32 sums accumulate in float64 inside kernels: the total is as accurate as the
    # float32 terms allow, whatever order the threads add them in.
    terms = np.sin(x.astype(np.float64)) * np.exp(-x.astype(np.float64) ** 2)
    assert value.dtype == np.float32
    assert abs(float(value) - terms.sum()) <= 1e-6 * np.abs(terms).sum()
    np.testing.assert_allclose(grad, eager_grad, rtol=1e-6, atol=1e-6)


def test_loops_use_vectorisable_math_unless_exact_math_is_asked_for(monkeypatch):
    x = np.linspace(-3.0, 3.0, 11, dtype=np.float32)

    def f(v):
        return fnp.sum(fnp.sin(v) * fnp.exp(-v * v))

    fast = fg.jit(f)
    assert "_fm.sin_f32(" in fast.source(x) and "_fm.exp_f32(" in fast.source(x)
    monkeypatch.setenv("FUNCGRAD_EXACT_MATH", "1")
    exact = fg.jit(f)
    source = exact.source(x)
    assert "np.sin(" in source and "_fm." not in source
    expected = np.sum(np.sin(x.astype(np.float64)) * np.exp(-x.astype(np.float64) ** 2))
    # fastmath's functions are within 1-2 ulps (see funcgrad/backend/fastmath.py).
    for jitted in (fast, exact):
        assert abs(float(jitted(x)) - expected) < 1e-5


def test_reductions_over_trailing_axes_fuse_into_the_producing_kernel():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 7)).astype(np.float32)

    def log_softmax_loss(v):
        shifted = v - fnp.max(v, axis=2, keepdims=True)
        normaliser = fnp.log(fnp.sum(fnp.exp(shifted), axis=2, keepdims=True))
        return fnp.sum((shifted - normaliser) ** 2)

    f = fg.jit(fg.value_and_grad(log_softmax_loss))
    source = f.source(x)
    forward = source.split("def kernel")[0]
    assert "np.add.reduce" not in forward.split("# kernel")[1]   # the first sum is fused
    value, grad = f(x)
    eager_value, eager_grad = fg.value_and_grad(log_softmax_loss)(x)
    np.testing.assert_allclose(value, eager_value, rtol=1e-5)
    np.testing.assert_allclose(grad, eager_grad, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------- the interpreted tier
# ``Schedule.run`` runs a program before (and while) numba compiles it; these tests call it on
# ``jitted.ir(...)``, which traces without compiling anything.

def _interpret(f, *args):
    from funcgrad.core.schedule import Schedule
    return Schedule(fg.jit(f).ir(*args)).run(list(args))


def test_the_interpreted_tier_holds_only_live_intermediates():
    import tracemalloc

    def chain(x):
        for _ in range(12):
            x = fnp.sin(x) * 1.5 + 0.25
            # two values alive at once: the next pair reuses the arrays freed by this one
            x = fnp.cos(x) * fnp.exp(x) ** 2
        return fnp.sum(x)

    x = np.linspace(-1.0, 1.0, 1 << 17)          # 1 MiB
    tracemalloc.start()
    try:
        (value,) = _interpret(chain, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert value == pytest.approx(chain(x), rel=1e-12)
    assert peak < 4 * x.nbytes        # 84 intermediates of 1 MiB each, three alive at a time


def test_the_interpreted_tier_never_writes_into_arrays_others_can_see():
    x = np.linspace(-1.0, 1.0, 1 << 15)
    before = x.copy()

    def views_and_aliases(v):
        y = v * 2.0
        matrix = fnp.reshape(y, (128, 256))       # a view of y, alive after y's last use
        z = fnp.sin(y)                            # y dies here: its buffer is not free
        same = fg.stop_gradient(v)                # the caller's array under another name
        wide = fnp.broadcast_to(fnp.sum(v), v.shape)  # a read-only view in the interpreter
        return z, matrix, fnp.exp(same), wide * 2.0, fnp.broadcast_to(v[:1], v.shape)

    z, matrix, e, doubled, copied = _interpret(views_and_aliases, x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(matrix, (before * 2.0).reshape(128, 256))
    np.testing.assert_array_equal(z, np.sin(before * 2.0))
    np.testing.assert_array_equal(e, np.exp(before))
    np.testing.assert_array_equal(doubled, np.full_like(before, 2.0 * np.sum(before)))
    assert copied.flags.writeable            # an output broadcast is the caller's own array


def test_the_first_call_runs_the_interpreter_before_starting_the_compile(monkeypatch):
    from funcgrad.transforms import jit as jit_module
    monkeypatch.delenv("FUNCGRAD_JIT", raising=False)
    started = []
    monkeypatch.setattr(jit_module, "_submit", lambda entry, who: started.append(entry))
    f = fg.jit(lambda x: fnp.cos(x) * x)
    f.ir(0.5)
    assert started == []                          # tracing alone compiles nothing
    assert f(0.5) == pytest.approx(np.cos(0.5) * 0.5)
    assert len(started) == 1                      # the call, once it has run, starts it


# ------------------------------------------------------------------------- the workspace
# Arrays a compiled program writes (kernel outputs, matrix products) that no output can share
# memory with are kept between calls; everything the caller receives is its own.

def _products(x, w, b):
    hidden = fnp.tanh(x @ w)                                  # matrix product, then a kernel
    batched = fnp.einsum("bij,bjk->bik", b, b)                # batched product
    columns = fnp.einsum("ij,i->j", hidden, x[:, 0])          # vector-matrix, transposed
    rows = fnp.reshape(hidden * 2.0, (-1,))                   # a view of a kernel's output
    square = fnp.einsum("ij,jk->ki", hidden, hidden.T)        # a transposed product
    stacked = fnp.einsum("bij,bjk->bki", b, b)                # batched and transposed
    return (fnp.sum(fnp.sin(batched)) + fnp.sum(columns ** 2) + fnp.sum(fnp.cos(square))
            + fnp.sum(stacked * batched),
            rows, x @ w, fnp.einsum("ij->ji", hidden) + 1.0, fnp.cos(columns))


PRODUCTS = fg.jit(_products)


def _product_inputs(seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((6, 4)), rng.standard_normal((4, 5)),
            rng.standard_normal((3, 2, 2)))


def test_outputs_never_share_the_workspace_of_later_calls():
    first_inputs, second_inputs = _product_inputs(0), _product_inputs(1)
    first = PRODUCTS.compile(*first_inputs)(*first_inputs)
    assert "_pool.pop()" in PRODUCTS.source(*first_inputs)
    assert "out=" in PRODUCTS.source(*first_inputs)           # a product into the workspace
    kept = [np.array(a, copy=True) for a in first]
    second = PRODUCTS(*second_inputs)
    for value, copy in zip(first, kept):                      # the second call touched none
        np.testing.assert_array_equal(value, copy)
    for compiled, inputs in ((first, first_inputs), (second, second_inputs)):
        for got, expected in zip(compiled, _products(*inputs)):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_concurrent_calls_of_one_program_get_their_own_workspace():
    import threading
    inputs = [_product_inputs(seed) for seed in range(4)]
    expected = [_products(*args) for args in inputs]
    PRODUCTS.compile(*inputs[0])
    failures = []

    def worker(k):
        for _ in range(200):
            got = PRODUCTS(*inputs[k])
            if not all(np.allclose(g, e, rtol=1e-12, atol=1e-12)
                       for g, e in zip(got, expected[k])):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)         # threads switch inside calls, not only between them
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []


def test_pointwise_programs_over_a_large_frame_run_by_blocks_of_rows():
    import tracemalloc

    from funcgrad.core.schedule import RowBlocks, Schedule
    from funcgrad.core.trace import eval_ir
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1200, 300))                     # 2.7 MiB: run by blocks
    bias, column = rng.standard_normal(300), rng.standard_normal((1200, 1))
    x[5, 7] = np.nan                                         # totals propagate NaN

    def pointwise(x, bias, column):
        y = fnp.sin(x) * bias + column ** 2
        z = fnp.where(y > 0.5, y, fnp.exp(-y)).astype(np.float32)
        return (fnp.sum(y), fnp.max(z), fnp.min(fnp.abs(x - 1.0)), z * 2.0,
                fnp.sum((x > 0).astype(np.int32)), fnp.tanh(bias), x,
                fnp.broadcast_to(column, x.shape), y > 0.0)

    ir = fg.jit(pointwise).ir(x, bias, column)
    schedule = Schedule(ir)
    assert schedule.blocks is not None and schedule.blocks.rows < 1200
    tracemalloc.start()
    try:
        got = schedule.run([x, bias, column])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = eval_ir(ir, [x, bias, column])
    for g, e in zip(got, expected):
        assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(g, e, rtol=1e-12)          # NaN where NaN, exact ints
    for made in (got[3], got[7], got[8]):                   # the caller's own arrays
        assert made.flags.writeable and made.flags.owndata
    # Only the outputs are made in full; each block's values are reused.
    assert peak < got[3].nbytes + got[7].nbytes + got[8].nbytes + x.nbytes // 2

    # Not by blocks: a total read again (a normalisation), a matrix product, a small frame.
    assert RowBlocks.plan(fg.jit(lambda v: v / fnp.sum(v)).ir(x)) is None
    assert RowBlocks.plan(fg.jit(lambda v: fnp.sin(v @ v.T)).ir(x)) is None
    assert RowBlocks.plan(fg.jit(lambda v: fnp.sin(v)).ir(x[:100])) is None


def _stored_arrays(steps, outvars) -> int:
    """How many non-scalar arrays the kernels of a plan write for later steps to read."""
    from funcgrad.core.ir import Var
    later, count = {a for a in outvars if isinstance(a, Var)}, 0
    for step in reversed(steps):
        eqns = step.kernel.eqns() if step.kernel is not None else [step.eqn]
        if step.kernel is not None:
            count += sum(1 for e in eqns for v in e.outputs if v in later and v.aval.ndim)
        later.update(a for e in eqns for a in e.inputs if isinstance(a, Var))
    return count


def test_kernels_recompute_cheap_values_instead_of_storing_them(monkeypatch):
    # The tanh-GELU's forward kernel wrote every intermediate its backward kernel reads (z,
    # 0.0447 z, 0.0447 z^2, z / 2, 1 + tanh, ...); the backward kernel now recomputes the cheap
    # ones from the matrix product and the tanh.
    from funcgrad.backend import codegen

    def loss(w, x, v):   # a matrix product after the GELU: a kernel each way
        return fnp.sum(fg.nn.gelu(x @ w, approximate=True) @ v)

    x, w, v = (np.ones(shape, np.float32) for shape in ((4, 3), (3, 5), (5, 2)))
    ir = fg.jit(fg.value_and_grad(loss)).ir(w, x, v)
    steps, _ = codegen.plan(ir)
    monkeypatch.setattr(codegen, "_recomputed", lambda eqns, outvars: eqns)
    unchanged, _ = codegen.plan(ir)
    # Stored by the forward kernel: the tanh and the GELU (read by the product) alone, of 7.
    assert _stored_arrays(unchanged, ir.outvars) - _stored_arrays(steps, ir.outvars) >= 4


def test_numba_is_imported_only_when_something_is_compiled():
    # ``import numba`` costs ~400 ms: importing funcgrad, differentiating eagerly and tracing a
    # jitted function (without calling it) must not pay it.
    code = textwrap.dedent("""
        import sys
        import funcgrad as fg, funcgrad.numpy as fnp, funcgrad.nn
        f = lambda x: fnp.sum(fnp.tanh(x) ** 2)
        fg.grad(f)(fnp.ones(3))
        fg.jit(fg.grad(f)).ir(fnp.ones(3))
        print("numba" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_reductions_over_leading_axes_fuse_into_the_producing_kernel():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4, 3)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    x[1, 2, 0] = np.nan                                     # max and min propagate NaN

    def columns(v, b, axes):
        y = fnp.tanh(v + b)                                 # one kernel over (5, 4, 3) ...
        return (fnp.sum(y, axis=axes), fnp.max(y * 2.0, axis=axes),  # ... that also folds
                fnp.min(y, axis=axes), y)                            # its leading axes

    for axes in [(0,), (0, 1)]:
        f = fg.jit(columns, static_argnums=2)
        source = f.source(x, bias, axes)
        assert ".reduce(" not in source and source.count("# kernel ") == 1
        for got, expected in zip(f(x, bias, axes), columns(x, bias, axes)):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_the_switch_interval_is_short_only_while_numba_compiles(monkeypatch):
    from funcgrad.backend import program
    seen = []
    build = program.build

    def watched_build(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        return build(*args, **kwargs)

    monkeypatch.setattr(program, "build", watched_build)
    monkeypatch.delenv("FUNCGRAD_JIT", raising=False)
    before = sys.getswitchinterval()
    f = fg.jit(lambda x: fnp.cos(x) * 3.0)
    assert f.compile(0.25)(0.25) == pytest.approx(np.cos(0.25) * 3.0)
    assert seen and seen[0] <= 2e-4 < before       # the interpreter's thread waits less
    assert sys.getswitchinterval() == before        # and it is back once compile() returns


def test_random_programs_interpreted_by_blocks_or_by_equations_match_eval_ir():
    from funcgrad.core.schedule import Schedule
    from funcgrad.core.trace import eval_ir
    rng = np.random.default_rng(11)
    unary = [fnp.sin, fnp.tanh, fnp.exp, lambda v: v * v, lambda v: fnp.maximum(v, 0.1),
             lambda v: fnp.where(v > 0.0, v, -v)]
    binary = [fnp.add, fnp.multiply, fnp.subtract, lambda a, b: a / (1.0 + b * b)]
    x = rng.uniform(-1, 1, (1100, 260))                      # 2.2 MiB: a frame for blocks
    column, row = rng.uniform(-1, 1, (1100, 1)), rng.uniform(-1, 1, 260)
    paths = set()
    for trial in range(6):
        ops = [(rng.integers(len(unary)), rng.integers(len(binary))) for _ in range(5)]

        def program(x, column, row, ops=ops):
            y = column * row                                 # broadcast operands
            for u, b in ops:
                x, y = binary[b](unary[u](x), y), x
            return fnp.sum(x * y) + fnp.max(y)

        # Values alone run by blocks; with the gradient of the broadcast operands (sums over
        # an axis), equation by equation.
        f = program if trial % 2 else fg.value_and_grad(program, argnums=(0, 1, 2))
        ir = fg.jit(f).ir(x, column, row)
        schedule = Schedule(ir)
        paths.add(schedule.blocks is not None)
        expected = eval_ir(ir, [x, column, row])
        for blocks in (True, False):
            got = schedule.run([x, column, row], blocks=blocks)
            assert len(got) == len(expected)
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    assert paths == {True, False}


# ------------------------------------------------------------------ the cache's trust
_EXPECTED_CHILD_VALUE = np.cos(0.25) * np.exp(0.125) + 0.5 * np.sin(0.25) * np.exp(0.125)


def test_a_new_cache_directory_is_private(tmp_path):
    cache = tmp_path / "made" / "cache"
    value, _, stderr = _run_child(cache)
    assert value == pytest.approx(_EXPECTED_CHILD_VALUE)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert "kernel cache" not in stderr


def test_a_cache_writable_by_others_is_not_loaded_from(tmp_path):
    _run_child(tmp_path)   # a trusted run fills the cache ...
    planted = 0
    for name in os.listdir(tmp_path):
        if name.startswith("fg_") and name.endswith(".py"):   # ... then someone plants code
            with open(tmp_path / name, "w") as file:
                file.write("raise SystemExit('a planted cache entry was imported')\n")
            planted += 1
    assert planted
    os.chmod(tmp_path, 0o777)
    value, hits, stderr = _run_child(tmp_path)
    assert value == pytest.approx(_EXPECTED_CHILD_VALUE) and hits == 0
    assert stderr.count("kernel cache directory") == 1, stderr   # one warning
    assert "writable by other users (mode 777)" in stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a directory to another user needs root")
def test_a_cache_owned_by_another_user_is_not_used(tmp_path):
    cache = tmp_path / "theirs"
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)   # nobody
    value, hits, stderr = _run_child(cache)
    assert value == pytest.approx(_EXPECTED_CHILD_VALUE) and hits == 0
    assert "owned by user id 65534, not by you" in stderr
    assert not os.listdir(cache)    # nothing written there either


def test_an_untrusted_cache_warns_once_per_directory(tmp_path, monkeypatch):
    from funcgrad.backend import compiler

    (tmp_path / "__pycache__").mkdir()
    os.chmod(tmp_path / "__pycache__", 0o775)   # group-writable, inside a private directory
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiler, "_distrusted", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compiler.cache_dir() is None
        assert compiler.cache_dir() is None
    assert len(caught) == 1 and "__pycache__ that is writable" in str(caught[0].message)
    os.chmod(tmp_path / "__pycache__", 0o755)
    assert compiler.cache_dir() == str(tmp_path)


# ------------------------------------------------------------- arguments as JAX takes them
def test_jit_of_one_function_is_shared_and_traced_once():
    traces = []

    def f(x):
        traces.append(1)
        return fnp.sin(x) * 2.0

    for i in range(5):
        assert fg.jit(f)(np.float64(i)) == pytest.approx(2 * np.sin(i))   # inline, in a loop
    assert len(traces) == 1 and fg.jit(f) is fg.jit(f)
    assert fg.jit(f, static_argnums=0) is not fg.jit(f)
    gradient = fg.jit(fg.grad(f))   # a wrapper of f (functools.wraps) gets its own
    assert gradient(0.0) == pytest.approx(2.0) and fg.jit(f)(0.0) == 0.0


def test_changed_unhashable_aux_data_retraces():
    class Scaled:
        def __init__(self, x, config):
            self.x, self.config = x, config

    fg.tree.register_pytree_node(Scaled, lambda s: ((s.x,), s.config),
                                 lambda config, children: Scaled(children[0], config))
    traces = []

    def f(s):
        traces.append(1)
        return s.x * s.config["scale"] * np.sum(s.config["weights"])

    jitted = fg.jit(f)
    x = np.ones(2)
    same = {"scale": 2.0, "weights": np.array([1.0, 2.0])}
    assert jitted(Scaled(x, same))[0] == 6.0
    assert jitted(Scaled(x, {"scale": 2.0, "weights": np.array([1.0, 2.0])}))[0] == 6.0
    assert len(traces) == 1
    assert jitted(Scaled(x, {"scale": 2.0, "weights": np.array([1.0, 4.0])}))[0] == 10.0
    assert len(traces) == 2


class _Config:
    pass


@pytest.mark.parametrize("call, where", [
    (lambda: fg.jit(lambda x, cfg: x)(1.0, _Config()), "argument 1 ('cfg')"),
    (lambda: fg.jit(lambda x, cfg: x)(1.0, cfg=_Config()), "keyword argument 'cfg'"),
    (lambda: fg.jit(lambda p: p["w"])({"w": 1.0, "c": _Config()}), "argument 0 ('p') leaf ['c']"),
    (lambda: fg.jit(lambda x, name: x)(1.0, "relu"), "argument 1 ('name')"),
])
def test_an_argument_jit_cannot_take_is_named(call, where):
    with pytest.raises(TypeError) as info:
        call()
    message = str(info.value)
    assert where in message and "static_argnums" in message
    assert "register_pytree_node" in message


def test_arguments_other_transforms_cannot_take_are_named():
    with pytest.raises(TypeError, match=r"argument 1 \('c'\) is a .*_Config.*argnums"):
        fg.grad(lambda x, c: x, argnums=(0, 1))(1.0, _Config())
    with pytest.raises(TypeError, match=r"argument 1 \('c'\) is a .*_Config.*close over it"):
        fg.vjp(lambda x, c: x, 1.0, _Config())
    with pytest.raises(TypeError, match=r"argument 1 \('c'\) is a .*_Config"):
        fg.jvp(lambda x, c: x, (1.0, _Config()), (1.0, 1.0))
    assert fg.jit(lambda x, c: x * 2, static_argnums=1)(1.0, _Config()) == 2.0
    assert fg.grad(lambda x, c: x * 2)(1.0, _Config()) == 2.0   # not differentiated: untouched


@pytest.mark.parametrize("value", [2.5, 3, True, np.float64(2.5), np.float32(2.5), np.int32(3),
                                   np.bool_(False), np.array(2.5), np.array(3, np.int64)])
def test_every_tier_takes_python_and_numpy_scalars(value):
    """NumPy code in a program (a reshape, an implementation's call) on a 0-d argument: the
    scalar fast path hands the program the caller's own Python number."""
    def f(x):
        return fnp.reshape(x, (1, 1, 1)), fnp.cumsum(x)

    jitted = fg.jit(f)
    reference = (np.reshape(np.asarray(value), (1, 1, 1)), np.cumsum(value))
    results = [jitted(value)]                    # traced and interpreted
    jitted.compile(value)
    results += [jitted(value), jitted(value)]    # native, then the fast path
    for result in results:
        for got, want in zip(result, reference):
            assert got.dtype == want.dtype and np.array_equal(got, want)
