"""An independent, scalar reference of funcgrad's random streams, in Python integers.

Threefry-2x32 (20 rounds) written from the Random123 specification, one block at a time, and
the stream layout documented in ``funcgrad/ops/random.py``: block ``(j, tag)`` under a key,
tags bits 0, split 1, fold_in 2, permutation 3. ``tests/test_primitives.py`` and
``tests/test_random.py`` compare funcgrad's vectorised NumPy generator with it.
"""
from __future__ import annotations

import numpy as np

MASK = 0xFFFFFFFF
ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)


def threefry_block(key0: int, key1: int, count0: int, count1: int) -> tuple[int, int]:
    schedule = (key0, key1, key0 ^ key1 ^ 0x1BD11BDA)
    x0, x1 = (count0 + key0) & MASK, (count1 + key1) & MASK
    for round_index in range(20):
        r = ROTATIONS[round_index % 8]
        x0 = (x0 + x1) & MASK
        x1 = ((x1 << r) | (x1 >> (32 - r))) & MASK
        x1 ^= x0
        if round_index % 4 == 3:
            i = round_index // 4 + 1
            x0 = (x0 + schedule[i % 3]) & MASK
            x1 = (x1 + schedule[(i + 1) % 3] + i) & MASK
    return x0, x1


def _words(key):
    return int(key[0]), int(key[1])


def bits(key, shape) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    words = []
    for j in range((size + 1) // 2):
        words.extend(threefry_block(*_words(key), j, 0))
    return np.array(words[:size], np.uint32).reshape(shape)[()]


def split(key, num: int) -> np.ndarray:
    return np.array([threefry_block(*_words(key), i, 1) for i in range(num)],
                    np.uint32).reshape(num, 2)


def fold_in(key, data: int) -> np.ndarray:
    return np.array(threefry_block(*_words(key), int(data) & MASK, 2), np.uint32)


def permutation(key, n: int) -> np.ndarray:
    sort_keys = [(hi << 32) | lo for lo, hi in
                 (threefry_block(*_words(key), i, 3) for i in range(n))]
    return np.array(sorted(range(n), key=lambda i: (sort_keys[i], i)), np.int64)
