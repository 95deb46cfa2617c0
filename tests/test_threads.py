"""Threads: each thread traces in traces of its own, and jit's entries, background compiles
and program workspaces stay correct while many threads call at once.

Every test here is bounded: waits have timeouts, so a regression fails instead of hanging.
"""
import os
import queue
import subprocess
import sys
import threading

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import trace

THREADS = 16
WAIT = 10.0   # seconds: the most any thread waits for another


def _pointwise(x):
    return fnp.sum(fnp.sin(x) * fnp.exp(-x * x)) + fnp.sum(x) ** 2


def _broadcasting(x):
    # Concrete broadcasts inside the trace are recorded in the trace that runs them.
    return fnp.sum(fnp.tanh(x[:, None] * fnp.ones((1, 3)) + fnp.broadcast_to(0.5, (3,))))


def _mlp_loss(params, x):
    hidden = fnp.tanh(x @ params["w1"] + params["b1"])
    return fnp.mean((hidden @ params["w2"]) ** 2)


def _cases():
    """(name, transformation of a function, that function, arguments for size n)."""
    rng = np.random.default_rng(0)

    def mlp_args(n):
        params = {"w1": rng.normal(size=(n, 8)), "b1": rng.normal(size=8),
                  "w2": rng.normal(size=(8, 2))}
        return (params, rng.normal(size=(5, n)))

    return [
        ("grad", fg.grad, _pointwise, lambda n: (np.linspace(-1.0, 1.5, n),)),
        ("hessian", fg.hessian, _pointwise, lambda n: (np.linspace(-0.5, 1.0, n),)),
        ("value_and_grad", fg.value_and_grad, _mlp_loss, mlp_args),
        ("grad of broadcasts", fg.grad, _broadcasting, lambda n: (np.linspace(-2.0, 2.0, n),)),
        ("vmap of grad", lambda f: fg.vmap(fg.grad(f)), _pointwise,
         lambda n: (rng.normal(size=(3, n)),)),
    ]


def _calls():
    """Every (label, function, args, reference) of the stress test: eager and jitted, three
    signatures each; references computed here, in one thread."""
    calls = []
    for name, transform, fun, make_args in _cases():
        jitted = fg.jit(transform(fun))
        for n in (3, 4, 6):
            args = make_args(n)
            reference = transform(fun)(*args)
            calls.append((f"{name} (eager, n={n})", transform(fun), args, reference))
            calls.append((f"{name} (jit, n={n})", jitted, args, reference))
    return calls


def _same(result, reference, exact: bool) -> bool:
    results, references = fg.tree.leaves(result), fg.tree.leaves(reference)
    if len(results) != len(references):
        return False
    if exact:
        return all(np.array_equal(a, b) for a, b in zip(results, references))
    # Compiled kernels may reassociate sums: a few ulps from the eager result.
    return all(np.allclose(a, b, rtol=1e-12, atol=1e-12) for a, b in zip(results, references))


def _hammer(calls, rounds: int) -> list:
    """Call every function from THREADS threads at once, each in its own order."""
    failures = []
    start = threading.Barrier(THREADS, timeout=WAIT)

    def work(k):
        try:
            start.wait()
            for r in range(rounds):
                order = np.random.default_rng(k * 100 + r).permutation(len(calls))
                for i in order:
                    label, fun, args, reference = calls[i]
                    try:
                        result = fun(*args)
                    except Exception as error:  # every kind of failure is reported
                        failures.append(f"{label}: {type(error).__name__}: {error}")
                        continue
                    if not _same(result, reference, exact="eager" in label):
                        failures.append(f"{label}: wrong result")
        except threading.BrokenBarrierError:
            failures.append("threads did not start together")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return failures


def test_threads_give_single_threaded_results_on_first_and_later_calls():
    calls = _calls()
    failures = _hammer(calls, rounds=2)     # first calls: every jit signature traced at once
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]}"
    for label, fun, args, _ in calls:
        if "jit" in label:
            fun.compile(*args)           # the background compiles, started meanwhile
            assert fun.is_compiled(*args), label
    failures = _hammer(calls, rounds=1)     # later calls: native code
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]}"
    assert not trace.tracing()


def _overlap(first, second):
    """Run ``first()`` in a thread and ``second()`` here so that their traces overlap:
    ``second``'s trace starts while ``first``'s is open, and ``first`` binds primitives while
    ``second``'s is open (``pause(which)`` in the traced functions marks those points)."""
    first_inside, second_inside, first_done = (threading.Event() for _ in range(3))

    def pause(which):
        if which == "first":
            first_inside.set()
            assert second_inside.wait(WAIT), "the traces did not overlap"
        else:
            second_inside.set()
            assert first_done.wait(WAIT), "the traces did not overlap"

    out = {}

    def run_first():
        try:
            out["first"] = first(pause)
        except BaseException as error:
            out["first"] = error
        finally:
            first_inside.set()
            first_done.set()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert first_inside.wait(WAIT)
    out["second"] = second(pause)
    thread.join(WAIT)
    assert not thread.is_alive()
    return out["first"], out["second"]


def _jit_case(which):
    """A jitted gradient whose trace pauses in the forward pass; the reverse pass then binds
    concrete broadcasts (of the seed cotangent 1.0), which are recorded in the running trace:
    a shared trace stack recorded them in another thread's."""
    def fun(x):
        pause(which)
        return fnp.sum(fnp.sin(x) * 2.0)
    pause = None
    jitted = fg.jit(fg.grad(fun))

    def call(pause_fn):
        nonlocal pause
        pause = pause_fn
        return jitted(np.arange(3.0))
    return call, jitted


def _grad_case(which):
    def fun(x):
        pause(which)
        return fnp.sum(fnp.sin(x) * 3.0)
    pause = None

    def call(pause_fn):
        nonlocal pause
        pause = pause_fn
        return fg.grad(fun)(np.arange(3.0))
    return call, None


@pytest.mark.parametrize("kinds", [("jit", "grad"), ("grad", "jit"), ("jit", "jit"),
                                   ("grad", "grad")])
def test_overlapping_traces_in_two_threads_stay_apart(kinds):
    x = np.arange(3.0)
    makers = {"jit": _jit_case, "grad": _grad_case}
    (first, first_jit), (second, second_jit) = (makers[kind](which) for kind, which in
                                                zip(kinds, ("first", "second")))
    expected = {"jit": 2 * np.cos(x), "grad": 3 * np.cos(x)}
    results = _overlap(first, second)
    for kind, result in zip(kinds, results):
        assert not isinstance(result, BaseException), result
        np.testing.assert_allclose(result, expected[kind], rtol=1e-15)
    # The jit entries made during the overlap are not poisoned: later calls, interpreted and
    # native, are right too.
    for jitted in (first_jit, second_jit):
        if jitted is not None:
            assert all(not any(isinstance(c, trace.Tracer) for c in entry.ir.consts)
                       for entry in jitted.jitted._entries.values())
            np.testing.assert_allclose(jitted(x), expected["jit"], rtol=1e-15)
            np.testing.assert_allclose(jitted.compile(x)(x), expected["jit"], rtol=1e-15)


def test_a_tracer_handed_to_another_thread_is_refused_there():
    handed, done = queue.Queue(), threading.Event()
    out = {}

    def fun(x):
        handed.put(x)
        assert done.wait(WAIT)
        return fnp.sum(x * x)

    thread = threading.Thread(target=lambda: out.setdefault("grad", fg.grad(fun)(2.0)))
    thread.start()
    tracer = handed.get(timeout=WAIT)
    try:
        with pytest.raises(fg.EscapedTracerError, match="another thread"):
            fnp.sin(tracer)
        with pytest.raises(fg.EscapedTracerError, match="another thread"):
            fg.grad(lambda y: y * tracer)(1.0)   # as a closed-over constant of a trace here
    finally:
        done.set()
        thread.join(WAIT)
    assert out["grad"] == 4.0   # the owner's trace is unharmed


def test_an_exception_inside_a_trace_leaves_no_state_behind():
    attempts = []

    def fails_once(x):
        attempts.append(1)
        if len(attempts) == 1:
            def inner(y):
                raise RuntimeError("user error")   # with two traces open: jit's and grad's
            fg.grad(inner)(1.0)
        return fnp.sum(fnp.sin(x))

    jitted = fg.jit(fails_once)
    errors = []

    def run():
        try:
            jitted(np.ones(2))
        except RuntimeError as error:
            errors.append(error)
        errors.append(trace.tracing())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT)
    assert isinstance(errors[0], RuntimeError) and errors[1] is False
    assert not jitted.jitted._entries           # nothing half-built was published
    np.testing.assert_allclose(jitted(np.ones(2)), 2 * np.sin(1.0))
    assert fg.grad(lambda y: y * y)(3.0) == 6.0


class _MeetingPool(list):
    """A program's workspace pool whose first ``count`` takers wait for each other after
    taking: that many calls are then inside the program at once, and none found a set."""

    def __init__(self, count):
        super().__init__()
        self.meeting = threading.Barrier(count, timeout=WAIT)
        self.taken = []
        self.lock = threading.Lock()

    def pop(self, *args):
        with self.lock:
            meet = self.meeting is not None and len(self.taken) < self.meeting.parties
            self.taken.append(None)
        try:
            return super().pop(*args)
        finally:
            if meet:
                self.meeting.wait()


def test_each_concurrent_call_of_a_program_has_its_own_workspace():
    def loss(w, x):
        return fnp.sum(fnp.tanh(x @ w) ** 2)

    step = fg.jit(fg.value_and_grad(loss))
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=(16, 16)), rng.normal(size=(32, 16))
    step.compile(w, x)
    program = next(iter(step.jitted._entries.values())).program
    namespace = program.__globals__
    assert "_pool" in namespace, "this program has no workspace: the test needs one"
    pool = namespace["_pool"] = _MeetingPool(4)
    allocate, sets = namespace["_workspace"], []

    def counting_workspace():
        buffers = allocate()
        sets.append(buffers)
        return buffers

    namespace["_workspace"] = counting_workspace
    inputs = [rng.normal(size=(16, 16)) for _ in range(8)]
    expected = [fg.value_and_grad(loss)(wk, x) for wk in inputs]
    failures = []

    def work(k):
        for r in range(20):
            i = (k + r) % len(inputs)
            value, grad = step(inputs[i], x)
            if not (np.isclose(value, expected[i][0], rtol=1e-12)
                    and np.allclose(grad, expected[i][1], rtol=1e-12, atol=1e-12)):
                failures.append((k, r))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    # The first four calls met inside the program: four sets, none shared. No more sets than
    # calls can be inside at once, and every set is back in the pool.
    assert 4 <= len(sets) <= 8
    assert len({id(s) for s in sets}) == len(sets)
    assert len(pool) == len(sets)
    assert not any(np.shares_memory(a, b) for i, one in enumerate(sets)
                   for other in sets[i + 1:] for a in one for b in other)


# ------------------------------------------------------------------- numba's thread pool

_POOL_PROBE = """
import os, sys
import numpy as np
import funcgrad as fg, funcgrad.numpy as fnp
from numba.np.ufunc import parallel
x = np.linspace(0.0, 1.0, 1 << 18)
f = fg.jit(lambda x: fnp.sin(x) * 2.0 + x).compile(x)    # a parallel kernel: the pool starts
np.testing.assert_allclose(f(x), np.sin(x) * 2.0 + x, rtol=1e-12)
print(parallel._is_initialized, os.environ.get("OMP_WAIT_POLICY"), parallel._threading_layer)
if parallel._threading_layer == "omp":   # GNU OpenMP: its settings, printed to stderr
    import ctypes
    ctypes.CDLL("libgomp.so.1").omp_display_env(1)
"""


@pytest.mark.parametrize("policy", [None, "ACTIVE"], ids=["default", "user_set"])
def test_the_thread_pool_starts_passive_without_touching_the_environment(policy, tmp_path):
    """funcgrad starts numba's pool with its OpenMP threads sleeping between parallel regions
    (spinning ones fight BLAS's threads for the cores), setting OMP_WAIT_POLICY only around
    the runtime's load: afterwards the environment is as it was, a user's setting is kept."""
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["FUNCGRAD_CACHE_DIR"] = str(tmp_path)
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", _POOL_PROBE], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    started, environment, layer = done.stdout.split()
    assert (started, environment) == ("True", str(policy))
    if layer == "omp" and "GOMP_SPINCOUNT" in done.stderr:
        spin = done.stderr.split("GOMP_SPINCOUNT = '")[1].split("'")[0]
        assert (spin == "0") == (policy is None), done.stderr   # passive: no spinning
