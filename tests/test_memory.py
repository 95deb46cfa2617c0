"""``import funcgrad`` raises glibc's malloc thresholds (funcgrad/core/memory.py)."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

_PROBE = """
import ctypes, sys
import numpy as np
if sys.argv[1] == "funcgrad":
    import funcgrad
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                "keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
before = libc.mallinfo2().hblks
arrays = [np.ones(256 * 1024) for _ in range(8)]   # 2 MB each
print(libc.mallinfo2().hblks - before)
"""


def _mapped_blocks(*args, env=None) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True,
                          text=True, check=True, env=env)
    return int(done.stdout.split()[-1])


def _has_mallinfo2() -> bool:
    try:
        return sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc's mallinfo2 (Linux)")
def test_import_raises_the_malloc_thresholds():
    # Without funcgrad, each 2 MB array gets pages of its own (a mapped block); after
    # ``import funcgrad`` they come from the heap.
    assert _mapped_blocks("numpy") >= 8
    assert _mapped_blocks("funcgrad") == 0


@pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc's mallinfo2 (Linux)")
def test_an_explicit_malloc_setting_is_kept():
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    assert _mapped_blocks("funcgrad", env=env) >= 8
