"""Timing and result checking shared by ``run.py`` and the subprocesses of ``child.py``.

Only the standard library and NumPy: results of any framework are compared through
``np.asarray`` (torch tensors through ``.detach().numpy()``).
"""
from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np


def measure(call: Callable[[], Any], budget: float) -> tuple[float, int, int]:
    """Median seconds per call of ``call``: returns ``(median, samples, calls_per_sample)``.

    One warm-up call, then samples of ``n`` back-to-back calls, ``n`` grown until a sample
    lasts at least 1-2 ms, repeated until ``budget`` seconds are spent (at least 5 samples, 3
    for calls slower than 0.1 s, at most 1000).
    """
    start = time.perf_counter()
    call()
    single = time.perf_counter() - start
    calls = 1 if single >= 2e-3 else max(1, int(2e-3 / max(single, 1e-7)))
    min_samples = 3 if single > 0.1 else 5
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < min_samples or (time.perf_counter() < deadline and len(samples) < 1000):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - start
        samples.append(elapsed / calls)
        if elapsed < 1e-3 and calls < 10**7:  # too short for the timer: lengthen the samples
            calls *= 4
    return statistics.median(samples), len(samples), calls


def to_numpy(value):
    """Any framework's result as nested lists of float64 arrays, for comparison."""
    if isinstance(value, dict):
        return [to_numpy(value[k]) for k in sorted(value)]
    if isinstance(value, (tuple, list)):
        return [to_numpy(v) for v in value]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def max_error(result, reference) -> float:
    """Largest ``|result - reference| / max(1, max|reference|)`` over all leaves; ``inf`` when
    the structures or shapes differ."""
    result, reference = to_numpy(result), to_numpy(reference)
    if isinstance(reference, list):
        if not isinstance(result, list) or len(result) != len(reference):
            return float("inf")
        return max((max_error(r, e) for r, e in zip(result, reference)), default=0.0)
    if isinstance(result, list) or np.shape(result) != np.shape(reference):
        return float("inf")
    if not reference.size:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(reference))))
    with np.errstate(invalid="ignore"):
        error = float(np.max(np.abs(result - reference))) / scale
    return error if np.isfinite(error) else float("inf")


def agrees(result, reference, rtol: float) -> bool:
    """``np.allclose`` leaf by leaf, with ``atol = rtol * max(1, max|reference|)``."""
    result, reference = to_numpy(result), to_numpy(reference)
    if isinstance(reference, list):
        return (isinstance(result, list) and len(result) == len(reference)
                and all(agrees(r, e, rtol) for r, e in zip(result, reference)))
    if isinstance(result, list):
        return False
    scale = max(1.0, float(np.max(np.abs(reference))) if reference.size else 1.0)
    return (np.shape(result) == np.shape(reference)
            and np.allclose(result, reference, rtol=rtol, atol=rtol * scale))


def describe_error(error: BaseException) -> str:
    """``Type: first line (path:line in function)``, naming the innermost funcgrad frame (or the
    innermost frame if funcgrad is not on the stack), so a failing column points at the code."""
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if "/funcgrad/" in f.filename.replace("\\", "/")
              and "/benchmarks/" not in f.filename.replace("\\", "/")]
    frame = (inside or frames or [None])[-1]
    text = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if frame is not None:
        path = frame.filename.replace("\\", "/")
        path = path[path.rfind("/funcgrad/") + 1:] if "/funcgrad/" in path else path
        text += f" ({path}:{frame.lineno}, in {frame.name})"
    return text


def format_time(seconds: float) -> str:
    unit, scale = next(((u, s) for u, s in (("s", 1.0), ("ms", 1e-3)) if seconds >= s),
                       ("µs", 1e-6))
    value = seconds / scale
    digits = 2 if value < 10 else (1 if value < 100 else 0)
    return f"{value:.{digits}f} {unit}"
