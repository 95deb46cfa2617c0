"""How NumPy's temporaries get their memory: glibc's malloc thresholds, raised once.

Eager differentiation keeps every forward value alive until the backward pass and makes many
short-lived arrays of a few hundred kilobytes. Under glibc's starting thresholds (arrays of
128 KB and more get pages of their own from the kernel; a free heap top above 256 KB goes
back to it), each of them costs its page faults afresh: a 256 KB ``np.maximum`` took 65 us
instead of 16 us with five such arrays alive, and the eager MLP step of the benchmarks 1.61 ms
instead of 1.27 ms. glibc raises both thresholds by itself once a large block that had pages
of its own is freed (the heuristic that any process which has freed a large array, or
imported PyTorch, already runs under); funcgrad frees one such block at import, so that the
first steps are as fast as later ones. Settings made through ``MALLOC_MMAP_THRESHOLD_`` /
``MALLOC_TRIM_THRESHOLD_`` (or ``mallopt``) turn glibc's heuristic off and are kept.
"""
from __future__ import annotations

import sys

import numpy as np

# glibc raises its thresholds to the size of a freed block up to 32 MB (its maximum on 64-bit
# systems): arrays below it then come from the heap, and up to twice it stays mapped.
_BLOCK = 32 * 1024 * 1024 - 64 * 1024


def raise_malloc_thresholds() -> None:
    """Map and free one large block (its pages are never touched: it costs no memory)."""
    if sys.platform.startswith("linux"):
        block = np.empty(_BLOCK, np.uint8)
        del block
