"""Measurements that need a fresh interpreter; ``run.py`` starts these, one process each.

    python -m benchmarks.child first-call funcgrad WORKLOAD   # FUNCGRAD_CACHE_DIR picks the cache
    python -m benchmarks.child first-call jax WORKLOAD
    python -m benchmarks.child steady WORKLOAD[,WORKLOAD...] BUDGET
    python -m benchmarks.child train COLUMN WORKLOAD        # e.g. train "funcgrad jit" train_digits

Each prints one line ``BENCH-RESULT {json}`` (times in seconds).

``first-call funcgrad``: ``import funcgrad`` is timed on its own (NumPy included, as a user
pays it); then the inputs are built (not timed); then ``first`` times the first call of
``fg.jit(fun)(*args)``: trace + interpreter run (numba then compiles in the background), i.e.
what a user waits for; then ``native`` adds the wait in ``jitted.compile(*args)``: the time
from the first call until native code is ready. The results of the first (interpreted) and of
a native call are then checked against the hand-written NumPy version, which runs last so that
it warms nothing the timed calls use.

``first-call jax``: ``import jax`` is timed on its own, then ``setup`` (starting XLA's CPU
client and moving the inputs to the device: left out of ``first``, which is conservative for
funcgrad), then ``first``: ``jax.jit`` trace + XLA compile + run + ``block_until_ready``.
JAX's persistent compilation cache is off (its default), so every process compiles.

``steady``: the funcgrad jit steady state after ``.compile`` under this process's threading
environment; ``run.py`` uses it for the "default threads" column.

``train``: one column's full training run of a ``workloads.TRAINING`` workload (its library
imported, and JAX's CPU client started, before anything is timed; the data loaded untimed):
the build time, and per epoch the training time, mean loss and test accuracy.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings

# Nothing beyond the standard library is imported before the timed imports below.


def _emit(result: dict) -> None:
    print("BENCH-RESULT " + json.dumps(result), flush=True)


def _first_call_funcgrad(name: str) -> dict:
    start = time.perf_counter()
    import funcgrad  # noqa: F401
    import_s = time.perf_counter() - start

    from . import workloads
    from .timing import agrees, describe_error, max_error
    spec = workloads.SPECS[name]
    inputs = workloads.inputs_for(name)
    result = {"import_s": import_s, "cache_dir": os.environ.get("FUNCGRAD_CACHE_DIR")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call, compile_native = workloads.funcgrad_jitted(name, inputs)
            start = time.perf_counter()
            first = call()
            result["first_s"] = time.perf_counter() - start
            result["compiled"] = compile_native()
            result["native_s"] = time.perf_counter() - start
            native = call()
        except Exception as error:
            result["error"] = describe_error(error)
            native = first = None
        result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    if "error" not in result:
        reference = spec.hand(inputs)()
        result["agrees_first"] = agrees(first, reference, spec.rtol)
        result["agrees_native"] = agrees(native, reference, spec.rtol)
        result["error_first"] = max_error(first, reference)
        result["error_native"] = max_error(native, reference)
    return result


def _first_call_jax(name: str) -> dict:
    start = time.perf_counter()
    import jax
    import jax.numpy  # noqa: F401
    import_s = time.perf_counter() - start

    from . import workloads
    from .timing import agrees, describe_error
    spec = workloads.SPECS[name]
    inputs = workloads.inputs_for(name)
    result = {"import_s": import_s}
    try:
        start = time.perf_counter()
        jax.devices()  # starts the CPU client, which Python-scalar arguments would leave to
        fun, args = spec.jax(inputs)  # the first call
        jax.block_until_ready(args)
        result["setup_s"] = time.perf_counter() - start
        start = time.perf_counter()
        first = jax.block_until_ready(fun(*args))
        result["first_s"] = time.perf_counter() - start
    except Exception as error:
        result["error"] = describe_error(error)
        return result
    result["agrees_first"] = agrees(first, spec.hand(inputs)(), spec.rtol)
    return result


def _steady(names: list[str], budget: float) -> dict:
    import numpy as np  # noqa: F401

    from . import workloads
    from .timing import agrees, describe_error, max_error, measure
    cells = {}
    for name in names:
        spec = workloads.SPECS[name]
        inputs = workloads.inputs_for(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call, compile_native = workloads.funcgrad_jitted(name, inputs)
                if not compile_native():
                    raise RuntimeError("numba did not compile it (interpreter only): "
                                       + "; ".join(str(w.message) for w in caught))
                result = call()
                median, samples, calls = measure(call, budget)
            except Exception as error:
                cells[name] = {"error": describe_error(error)}
                continue
        reference = spec.hand(inputs)()
        cells[name] = {"median": median, "samples": samples, "calls": calls,
                       "agrees": agrees(result, reference, spec.rtol),
                       "max_error": max_error(result, reference)}
    threads = None
    if "numba" in sys.modules:
        threads = sys.modules["numba"].get_num_threads()
    return {"cells": cells, "numba_threads": threads}


_TRAINING_LIBRARIES = {"torch eager": "torch", "jax.jit": "jax"}


def _train(column: str, name: str) -> dict:
    import importlib

    library = _TRAINING_LIBRARIES.get(column)
    if library is not None:
        importlib.import_module(library)
        if library == "jax":
            sys.modules["jax"].devices()   # start XLA's CPU client outside the timed build
    from . import workloads
    from .timing import describe_error
    try:
        return workloads.training_run(name, column)
    except Exception as error:
        return {"error": describe_error(error)}


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "first-call" and argv[1] == "funcgrad":
        _emit(_first_call_funcgrad(argv[2]))
    elif mode == "first-call" and argv[1] == "jax":
        _emit(_first_call_jax(argv[2]))
    elif mode == "steady":
        _emit(_steady(argv[1].split(","), float(argv[2])))
    elif mode == "train":
        _emit(_train(argv[1], argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
