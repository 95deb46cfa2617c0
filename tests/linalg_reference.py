"""Matrix domains and row functions for the linear-algebra primitives in the tables of
tests/test_primitives.py (and tests/test_linalg.py).

A domain draws float64 values of a shape ``(..., n, n)``; the matrices are well conditioned,
so that check_grads' central differences (step 3e-3 in float32) stay accurate.
"""
from __future__ import annotations

import numpy as np

from funcgrad.ops import elementwise as ew
from funcgrad.ops import linalg as la
from funcgrad.ops import structural as st


def general_matrix(rng, shape):
    """Diagonally dominant (for n <= 4) up to the sign of each row: determinants of either
    sign, far from zero, and triangles with diagonals in +-[1.6, 2.4]."""
    signs = rng.choice([-1.0, 1.0], tuple(shape[:-1]) + (1,))
    return signs * (rng.uniform(-0.4, 0.4, shape) + 2.0 * np.eye(shape[-1]))


def orthogonal(rng, n):
    """A random orthogonal matrix whose first row has no entry near zero (so that the sign
    of an eigenvector's first entry is stable under small perturbations)."""
    while True:
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        if np.min(np.abs(q[0])) > 0.25:
            return q


def symmetric_positive_definite(rng, n):
    """An SPD matrix with eigenvalues about 1, 2, 3, ... (gaps near 1)."""
    q = orthogonal(rng, n)
    w = 1.0 + np.arange(n) + rng.uniform(0.0, 0.3, n)
    a = (q * w) @ q.T
    return (a + a.T) / 2


def spd_matrix(rng, shape):
    """Symmetric positive-definite matrices with distinct eigenvalues, whose strict upper
    triangle is then overwritten with noise: cholesky and eigh read the lower one only."""
    n = shape[-1]
    batch = tuple(shape[:-2])
    out = np.empty(batch + (n, n))
    for index in np.ndindex(*batch):
        out[index] = symmetric_positive_definite(rng, n)
    noise = np.triu(rng.uniform(-3.0, 3.0, batch + (n, n)), 1)
    return np.tril(out) + noise


# ------------------------------------------------------------- multiple-output primitives
# A table row returns one array: the outputs are stacked into one.

def slogdet_row(a):
    sign, logabsdet = la.slogdet(a)
    shape = np.shape(sign) + (1,)
    return st.concatenate([st.reshape(sign, shape), st.reshape(logabsdet, shape)], len(shape) - 1)


def slogdet_reference(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return np.stack([sign, logabsdet], axis=-1)


_FIRST_ROW = st.IndexSpec((Ellipsis, ("slice", 0, 1, None), ("slice", None, None, None)))


def eigh_row(a):
    """The eigenvalues as a row above the eigenvectors, each eigenvector's sign fixed so that
    its first entry is positive (eigh's sign is arbitrary; this makes it a function)."""
    w, v = la.eigh(a)
    v = ew.mul(v, ew.sign(st.gather(v, (), _FIRST_ROW)))
    shape = np.shape(w)
    return st.concatenate([st.reshape(w, shape[:-1] + (1, shape[-1])), v], len(shape) - 1)


def eigh_reference(a):
    w, v = np.linalg.eigh(a)
    return np.concatenate([w[..., None, :], v * np.sign(v[..., :1, :])], axis=-2)


def triangular_solve_reference(a, b, lower, transpose_a):
    """``scipy.linalg.solve_triangular``, matrix by matrix."""
    from scipy.linalg import solve_triangular
    out = np.empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    for index in np.ndindex(*out.shape[:-2]):
        out[index] = solve_triangular(a[index], b[index], trans=1 if transpose_a else 0,
                                      lower=lower)
    return out
