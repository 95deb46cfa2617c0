"""Matrix domains and row functions for the linear-algebra primitives in the tables of
tests/test_primitives.py (and tests/test_linalg.py).

A domain draws float64 values of a shape ``(..., n, n)``; the matrices are well conditioned,
so that check_grads' central differences (step 3e-3 in float32) stay accurate.
"""
from __future__ import annotations

import numpy as np

import funcgrad as fg
from funcgrad.ops import complex_numbers as cn
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


def complex_general_matrix(rng, shape):
    """``general_matrix`` with imaginary parts in [-0.3, 0.3]: still diagonally dominant."""
    return general_matrix(rng, shape) + 1j * rng.uniform(-0.3, 0.3, shape)


def unitary(rng, n):
    """A random unitary matrix whose first row has no entry of modulus near zero (so that
    fixing an eigenvector's phase by its first entry is stable under small perturbations)."""
    while True:
        q, _ = np.linalg.qr(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
        if np.min(np.abs(q[0])) > 0.25:
            return q


def hpd_matrix(rng, shape):
    """Hermitian positive-definite matrices with eigenvalues about 1, 2, 3, ..., whose strict
    upper triangle is then overwritten with noise and whose diagonal gets imaginary noise:
    cholesky and eigh read the lower triangle and the diagonal's real part only."""
    n = shape[-1]
    batch = tuple(shape[:-2])
    out = np.empty(batch + (n, n), complex)
    for index in np.ndindex(*batch):
        q = unitary(rng, n)
        out[index] = (q * (1.0 + np.arange(n) + rng.uniform(0.0, 0.3, n))) @ q.conj().T
    noise = np.triu(rng.uniform(-3.0, 3.0, batch + (n, n)) + 1j * rng.uniform(-3, 3, (n, n)), 1)
    imaginary_diagonal = 1j * rng.uniform(-1.0, 1.0, batch + (n,))[..., None] * np.eye(n)
    return np.tril(out) + noise + imaginary_diagonal


# ------------------------------------------------------------- multiple-output primitives
# A table row returns one array: the outputs are stacked into one.

def slogdet_row(a):
    sign, logabsdet = la.slogdet(a)
    shape = np.shape(sign) + (1,)
    logabsdet = ew.convert(logabsdet, sign.dtype)   # complex for a complex matrix's sign
    return st.concatenate([st.reshape(sign, shape), st.reshape(logabsdet, shape)], len(shape) - 1)


def slogdet_reference(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return np.stack([sign, logabsdet.astype(sign.dtype)], axis=-1)


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


def hermitian_eigh_row(a):
    """``eigh_row`` of complex matrices: each eigenvector's phase fixed so that its first
    entry is real and positive (the phase is arbitrary; this makes it a function)."""
    w, v = la.eigh(a)
    first = st.gather(v, (), _FIRST_ROW)   # z / |z| (sign's derivative is zero, as in JAX)
    v = ew.mul(v, cn.conj(ew.div(first, ew.convert(ew.abs(first), v.dtype))))
    shape = np.shape(w)
    w = ew.convert(w, v.dtype)
    return st.concatenate([st.reshape(w, shape[:-1] + (1, shape[-1])), v], len(shape) - 1)


def hermitian_eigh_reference(a):
    w, v = np.linalg.eigh(a)
    v = v * np.conj(np.sign(v[..., :1, :]))
    return np.concatenate([w[..., None, :].astype(v.dtype), v], axis=-2)


def triangular_solve_reference(a, b, lower, transpose_a):
    """``scipy.linalg.solve_triangular``, matrix by matrix."""
    from scipy.linalg import solve_triangular
    out = np.empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], b.dtype)
    for index in np.ndindex(*out.shape[:-2]):
        out[index] = solve_triangular(a[index], b[index], trans=1 if transpose_a else 0,
                                      lower=lower)
    return out


# ----------------------------------------------------------------- svd, qr and pinv rows

def complex_well_conditioned(rng, shape):
    """``well_conditioned`` with unitary singular vectors: ``U diag(s) V^H``."""
    m, n = shape[-2:]
    k = min(m, n)
    batch = tuple(shape[:-2])
    out = np.empty(batch + (m, n), complex)
    for index in np.ndindex(*batch):
        s = 1.0 + np.arange(k)[::-1] + rng.uniform(0.0, 0.3, k)
        out[index] = (unitary(rng, m)[:, :k] * s) @ unitary(rng, n)[:, :k].conj().T
    return out


def well_conditioned(rng, shape):
    """``U diag(s) V^T`` with singular values about ``k, ..., 2, 1`` (gaps near 1, none below
    1) and singular vectors whose first entries are far from zero, so that fixing each pair's
    sign by the first row of ``U`` is stable under small perturbations."""
    m, n = shape[-2:]
    k = min(m, n)
    batch = tuple(shape[:-2])
    out = np.empty(batch + (m, n))
    for index in np.ndindex(*batch):
        s = 1.0 + np.arange(k)[::-1] + rng.uniform(0.0, 0.3, k)
        out[index] = (orthogonal(rng, m)[:, :k] * s) @ orthogonal(rng, n)[:, :k].T
    return out


def _flat(x):
    """``x`` ``(..., a, b)`` as ``(..., a * b)``."""
    shape = np.shape(x)
    return st.reshape(x, shape[:-2] + (shape[-2] * shape[-1],))


def _flat_concat(pieces):
    return st.concatenate(pieces, len(np.shape(pieces[0])) - 1)


def _projector(q, start):
    """``Q2 @ Q2^H`` for the columns ``Q2 = q[..., start:]``: a function of their span."""
    q2 = st.slice_along(q, np.ndim(q) - 1, start, np.shape(q)[-1])
    return la.matmul(q2, la.adjoint(q2))


def _phases(x):
    """The sign of each entry of a real ``x``; ``conj(x / |x|)`` of a complex one (sign's
    derivative is zero, as in JAX, so the complex phase is written out)."""
    if x.dtype.kind != "c":
        return ew.sign(x)
    return cn.conj(ew.div(x, ew.convert(ew.abs(x), x.dtype)))


def svd_row(a, full_matrices=False):
    """Singular values, then the singular vectors, each pair's sign fixed so that ``U``'s first
    row is positive, all flattened into one array; with ``full_matrices``, the completing
    columns enter as their projectors ``U2 U2^T`` and ``V2 V2^T`` (the basis is arbitrary)."""
    u, s, vt = la.svd(a, full_matrices)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    v = la.adjoint(vt)
    u1 = st.slice_along(u, np.ndim(u) - 1, 0, k)
    v1 = st.slice_along(v, np.ndim(v) - 1, 0, k)
    signs = _phases(st.gather(u1, (), _FIRST_ROW))   # a pair's common sign (phase) fixed
    pieces = [ew.convert(s, u.dtype), _flat(ew.mul(u1, signs)), _flat(ew.mul(v1, signs))]
    if full_matrices:
        pieces += [_flat(_projector(u, k)), _flat(_projector(v, k))]
    return _flat_concat(pieces)


def svd_reference(a, full_matrices=False):
    u, s, vt = np.linalg.svd(a, full_matrices=full_matrices)
    m, n = a.shape[-2:]
    k = min(m, n)
    v = np.swapaxes(vt, -1, -2).conj()
    signs = np.conj(np.sign(u[..., :1, :k]))   # NumPy's complex sign is z / |z|
    batch = a.shape[:-2]
    pieces = [s.astype(u.dtype), (u[..., :k] * signs).reshape(batch + (-1,)),
              (v[..., :k] * signs).reshape(batch + (-1,))]
    if full_matrices:
        for q in (u, v):
            q2 = q[..., k:]
            pieces.append((q2 @ np.swapaxes(q2, -1, -2).conj()).reshape(batch + (-1,)))
    return np.concatenate(pieces, axis=-1)


def qr_row(a, complete=False):
    """``Q`` and ``R`` flattened into one array; with ``complete`` and a tall ``a``, the
    completing columns of ``Q`` enter as their projector (the basis is arbitrary)."""
    q, r = la.qr(a, complete)
    m, n = np.shape(a)[-2:]
    if complete and m > n:
        pieces = [_flat(st.slice_along(q, np.ndim(q) - 1, 0, n)), _flat(_projector(q, n))]
    else:
        pieces = [_flat(q)]
    return _flat_concat(pieces + [_flat(r)])


def qr_reference(a, complete=False):
    q, r = np.linalg.qr(a, mode="complete" if complete else "reduced")
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    if complete and m > n:
        q2 = q[..., n:]
        pieces = [q[..., :n], q2 @ np.swapaxes(q2, -1, -2).conj()]
    else:
        pieces = [q]
    return np.concatenate([p.reshape(batch + (-1,)) for p in pieces + [r]], axis=-1)


def traced(fn):
    """``fn`` run through a trace (the primitives, not NumPy's own functions)."""
    return lambda *args: fg.vjp(fn, *args)[0]


def assert_tree_close(got, want, rtol=1e-12, atol=1e-12):
    """Pytrees with the same leaves' shapes and dtypes, and values within the tolerances."""
    got_leaves, want_leaves = fg.tree.leaves(got), fg.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def lu_pivots_reference(a):
    """LAPACK getrf's row interchanges, one matrix at a time by a plain elimination loop."""
    *batch, m, n = np.shape(a)
    out = np.empty((*batch, min(m, n)), np.int32)
    for index in np.ndindex(*batch):
        work = np.array(a[index], dtype=np.float64)
        for k in range(min(m, n)):
            p = k + int(np.argmax(np.abs(work[k:, k])))
            out[index + (k,)] = p
            work[[k, p]] = work[[p, k]]
            if work[k, k] != 0:
                work[k + 1:] -= np.outer(work[k + 1:, k] / work[k, k], work[k])
    return out


def lu_permutation_reference(a):
    """The rows of ``a`` in the order the interchanges leave them."""
    pivots = lu_pivots_reference(a)
    *batch, m, _ = np.shape(a)
    out = np.empty((*batch, m), np.int32)
    for index in np.ndindex(*batch):
        order = list(range(m))
        for k, p in enumerate(pivots[index]):
            order[k], order[p] = order[p], order[k]
        out[index] = order
    return out
