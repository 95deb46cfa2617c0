"""Polynomials, windows, unwrap, bit packing and the set functions of funcgrad.numpy.

Values against NumPy's (value and dtype) concretely and traced; the differentiable ones
(polyfit, polyval's companions, unwrap) with ``fg.check_grads`` to second order; the set
functions with known values under ``grad`` and with ``size=`` under ``jit`` and ``vmap``.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import assert_matches, traced

import funcgrad as fg
import funcgrad.numpy as fnp

rng = np.random.default_rng(4711)
P4 = rng.uniform(-1.0, 1.0, 4)
Q2 = np.array([0.7, -0.4])
XS = np.linspace(-1.0, 1.0, 7)
YS = rng.uniform(-1.0, 1.0, 7)
YY = rng.uniform(-1.0, 1.0, (7, 2))
PHASE = np.cumsum(rng.uniform(-4.0, 4.0, (3, 8)), axis=1)
BITS = rng.integers(0, 2, (3, 11)).astype(bool)
BYTES = rng.integers(0, 256, (2, 3)).astype(np.uint8)
A = np.array([3.0, 1.0, 2.0, 3.0, 5.0, 1.0])
B = np.array([[1.0, 4.0], [5.0, 5.0]])
IA = np.array([3, 1, 2, 3, 5, 1])


CASES = [
    ("polyadd", lambda m, a, b: m.polyadd(a, b), P4, Q2),
    ("polyadd_ints", lambda m, a, b: m.polyadd(a, b), np.array([1, 2]), np.array([3, 4, 5])),
    ("polysub", lambda m, a, b: m.polysub(a, b), Q2, P4),
    ("polymul", lambda m, a, b: m.polymul(a, b), P4, Q2),
    ("polymul_f32", lambda m, a, b: m.polymul(a, b), P4.astype(np.float32),
     Q2.astype(np.float32)),
    ("poly", lambda m, r: m.poly(r), P4),
    ("poly_matrix", lambda m, a: m.poly(a), np.array([[2.0, 1.0], [1.0, 3.0]])),
    ("polyder", lambda m, p: m.polyder(p, 2), P4),
    ("polyder_ints", lambda m, p: m.polyder(p), np.array([3, 2, 1, 5])),
    ("polyder_of_a_constant_is_empty", lambda m, p: m.polyder(p, 3), Q2),
    ("poly_of_no_roots", lambda m, r: m.poly(r), np.zeros(0)),
    ("polyint", lambda m, p: m.polyint(p, 2, [1.0, 2.0]), P4),
    ("polyint_scalar_k", lambda m, p: m.polyint(p, 1, 3.0), P4),
    ("vander", lambda m, x: m.vander(x), XS),
    ("vander_ints_increasing", lambda m, x: m.vander(x, 4, True), np.array([1, 2, 3])),
    ("polyfit", lambda m, x, y: m.polyfit(x, y, 2), XS, YS),
    ("polyfit_weights_columns", lambda m, x, y: m.polyfit(x, y, 3, w=np.arange(1.0, 8.0)),
     XS, YY),
    ("polyfit_full", lambda m, x, y: m.polyfit(x, y, 2, full=True), XS, YS),
    ("polyfit_cov", lambda m, x, y: m.polyfit(x, y, 2, cov=True), XS, YS),
    ("polyfit_cov_columns", lambda m, x, y: m.polyfit(x, y, 1, cov=True), XS, YY),
    ("polyfit_cov_unscaled", lambda m, x, y: m.polyfit(x, y, 2, cov="unscaled"), XS, YS),
    ("unwrap", lambda m, p: m.unwrap(p), PHASE),
    ("unwrap_axis0", lambda m, p: m.unwrap(p, axis=0), PHASE),
    ("unwrap_period", lambda m, p: m.unwrap(p, discont=4.0, period=5.0), PHASE),
    ("unwrap_ints", lambda m, p: m.unwrap(p, period=6), np.array([0, 1, 4, 9, 2, 5, 8])),
    ("unwrap_f32", lambda m, p: m.unwrap(p), PHASE.astype(np.float32)),
    ("packbits", lambda m, a: m.packbits(a), BITS),
    ("packbits_axis_little", lambda m, a: m.packbits(a, axis=1, bitorder="little"), BITS),
    ("packbits_ints", lambda m, a: m.packbits(a, axis=0), rng.integers(-2, 3, (10, 3))),
    ("unpackbits", lambda m, a: m.unpackbits(a), BYTES),
    ("unpackbits_count", lambda m, a: m.unpackbits(a, axis=0, count=13, bitorder="little"),
     BYTES),
    ("unpackbits_negative_count", lambda m, a: m.unpackbits(a, axis=1, count=-3), BYTES),
    ("isin", lambda m, x, y: m.isin(x, y), A, B),
    ("isin_invert_2d", lambda m, x, y: m.isin(x, y, invert=True), B, A),
    ("isin_ints", lambda m, x, y: m.isin(x, y), IA, A),
]


@pytest.mark.parametrize("fn, args", [pytest.param(f, a, id=n) for n, f, *a in CASES])
def test_values_against_numpy(fn, args):
    want = fn(np, *args)
    assert_matches(fn(fnp, *args), want, "concrete")
    assert_matches(traced(lambda *a: fn(fnp, *a), *args), want, "traced")


def test_windows_are_numpys():
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        for m in (0, 1, 6, 7):
            assert_matches(getattr(fnp, name)(m), getattr(np, name)(m), name)
    assert_matches(fnp.kaiser(6, 2.5), np.kaiser(6, 2.5), "kaiser")
    assert isinstance(fnp.hanning(4), fg.Array)
    with pytest.raises(fg.ConcretizationError, match="kaiser.*'beta'"):
        fg.jit(lambda b: fnp.kaiser(5, b))(1.0)


def test_roots():
    p = np.array([0.0, 1.0, -3.0, 2.0, 0.0])
    assert_matches(fnp.roots(p), np.roots(p), "concrete")
    # known values (under grad) strip the zeros as NumPy does; the roots are real here
    assert_matches(fg.vjp(fnp.roots, p)[0], np.roots(p), "known")
    complex_roots = np.array([1.0, 0.0, 4.0])
    assert_matches(fg.vjp(fnp.roots, complex_roots)[0], np.roots(complex_roots), "complex")
    # traced: strip_zeros=False keeps the length, complex as in jax.numpy
    got = traced(lambda v: fnp.roots(v, strip_zeros=False), np.array([1.0, -3.0, 2.0]))
    np.testing.assert_allclose(np.sort_complex(got), [1.0, 2.0])
    with pytest.raises(fg.ConcretizationError, match="roots.*strip_zeros=False"):
        fg.jit(fnp.roots)(p)
    # d(root)/d(coefficients) of the roots 1 and 2 of x**2 - 3x + 2
    grad = fg.grad(lambda v: fnp.max(fnp.real(fnp.roots(v))))(np.array([1.0, -3.0, 2.0]))
    np.testing.assert_allclose(grad, [-4.0, -2.0, -1.0], atol=1e-10)


def test_polydiv_remainder_under_jit_keeps_its_length():
    for u, v in ((P4, Q2), (np.array([1.0, -3.0, 2.0]), np.array([1.0, -1.0])),
                 (Q2, P4)):
        want = np.polydiv(u, v)
        assert_matches(fnp.polydiv(u, v), want, "concrete")
        assert_matches(fg.vjp(fnp.polydiv, u, v)[0], want, "known values")
        quotient, remainder = traced(lambda a, b: fnp.polydiv(a, b, trim_leading_zeros=False),
                                     u, v)
        assert_matches(quotient, want[0], "traced quotient")
        assert remainder.shape == (max(len(u), 1),)
        np.testing.assert_allclose(remainder[len(remainder) - len(want[1]):], want[1],
                                   atol=1e-14)
    quotient, remainder = traced(fnp.polydiv, np.array([1.0, -3.0, 2.0]),
                                 np.array([1.0, -1.0]))
    np.testing.assert_allclose(quotient, [1.0, -2.0])
    np.testing.assert_allclose(remainder, [0.0, 0.0, 0.0], atol=1e-15)
    with pytest.raises(fg.ConcretizationError, match="polydiv.*trim_leading_zeros"):
        fg.jit(lambda u: fnp.polydiv(u, Q2, trim_leading_zeros=True))(P4)


GRADS = [
    ("polyfit", lambda x, y: fnp.polyfit(x, y, 2), XS, YS),
    ("polyfit_weighted", lambda x, y, w: fnp.polyfit(x, y, 2, w=w), XS, YY,
     rng.uniform(0.5, 2.0, 7)),
    ("polyfit_then_polyval", lambda y: fnp.polyval(fnp.polyfit(XS, y, 3), XS[::2]), YS),
    ("polyfit_cov", lambda y: fnp.polyfit(XS, y, 1, cov=True)[1], YS),
    ("polydiv", fnp.polydiv, P4, Q2),
    ("polymul_add_sub", lambda a, b: fnp.polysub(fnp.polymul(a, b), fnp.polyadd(a, b)), P4,
     Q2),
    ("poly", fnp.poly, P4),
    ("polyder_polyint", lambda p, k: fnp.polyder(fnp.polyint(p, 2, k), 1), P4, Q2),
    ("vander", lambda x: fnp.vander(x, 4), XS),
    ("unwrap", fnp.unwrap, PHASE),
]


@pytest.mark.parametrize("fn, args", [pytest.param(f, a, id=n) for n, f, *a in GRADS])
def test_derivatives_to_second_order(fn, args):
    fg.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_polyfit_under_vmap_and_traced():
    ys = rng.uniform(-1, 1, (3, 7))
    out = fg.vmap(lambda y: fnp.polyfit(XS, y, 2))(ys)
    assert_matches(out, np.stack([np.polyfit(XS, y, 2) for y in ys]), "vmap", rtol=1e-9)
    for y in ys[:2]:
        assert_matches(traced(lambda x, v: fnp.polyfit(x, v, 3), XS, y), np.polyfit(XS, y, 3),
                       "traced", rtol=1e-9)


# ------------------------------------------------------------------------------------ sets

SET_FUNCTIONS = ("union1d", "intersect1d", "setdiff1d", "setxor1d")


@pytest.mark.parametrize("name", SET_FUNCTIONS)
def test_set_functions(name):
    ours, theirs = getattr(fnp, name), getattr(np, name)
    for a, b in ((A, B), (IA, B), (IA, IA[:2]), (A, np.zeros(0))):
        want = theirs(a, b)
        assert_matches(ours(a, b), want, "concrete")
        assert_matches(fg.vjp(lambda x, b=b: ours(x, b), a.astype(float))[0],
                       theirs(a.astype(float), b), "known values")
        # size= traced: the first values, padded with fill_value (default: the smallest)
        got = traced(lambda x, y: ours(x, y, size=5, fill_value=-7.0), a * 1.0, b * 1.0)
        expected = np.full(5, -7.0)
        expected[:min(5, len(want))] = want[:5]
        assert_matches(got, expected, "size")
    with pytest.raises(fg.ConcretizationError, match=f"{name}.*size="):
        fg.jit(ours)(A, B)
    with pytest.raises(fg.ConcretizationError, match=f"{name}.*size="):
        fg.vmap(lambda x: ours(x, B))(A[None])
    out = fg.vmap(lambda x: ours(x, B, size=4))(np.stack([A, A[::-1] + 1.0]))
    for row, a in zip(out, (A, A[::-1] + 1.0)):
        want = theirs(a, B)
        np.testing.assert_array_equal(row[:len(want)], want[:4])
        np.testing.assert_array_equal(row[len(want):], want[0] if len(want) else 0.0)


def test_set_values_carry_the_derivative():
    weights = np.array([1.0, 10.0, 100.0])
    grad = fg.grad(lambda x: fnp.sum(fnp.setdiff1d(x, B, size=3) * weights))(A)
    # setdiff1d = [2, 3] and the padding repeats 2: d/dx of 2 is 1 + 100, of 3 is 10
    assert grad[2] == 101.0 and grad[[0, 3]].sum() == 10.0 and grad[[1, 4, 5]].sum() == 0.0
    grad = fg.grad(lambda y: fnp.sum(fnp.intersect1d(A, y) * weights[:2]))(B)
    np.testing.assert_array_equal(grad, np.zeros_like(B))   # (the values come from A)
    grad = fg.grad(lambda x: fnp.sum(fnp.union1d(x, B) ** 2))(A)
    np.testing.assert_array_equal(grad[[2, 4]], 2 * A[[2, 4]])


def test_intersect1d_indices():
    want = np.intersect1d(A, IA[::-1] * 1.0, return_indices=True)
    assert_matches(fnp.intersect1d(A, IA[::-1] * 1.0, return_indices=True), want, "concrete")
    got = traced(lambda x, y: fnp.intersect1d(x, y, return_indices=True, size=5), A, IA[::-1])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g[:len(w)], w)


def test_unique_functions_of_the_array_api():
    x = np.array([[3.0, 1.0], [1.0, 2.0], [np.nan, np.nan]])
    values, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True,
                                               return_counts=True, equal_nan=False)
    result = fnp.unique_all(x)
    assert type(result).__name__ == "UniqueAllResult"
    assert_matches(tuple(result), (values, index, inverse.reshape(x.shape), counts), "all")
    assert_matches(tuple(fnp.unique_counts(x)), (values, counts), "counts")
    assert_matches(tuple(fnp.unique_inverse(x)), (values, inverse.reshape(x.shape)), "inverse")
    assert_matches(fnp.unique_values(x), values, "values")
    finite = x[:2]
    got = traced(lambda v: fnp.unique_all(v, size=4, fill_value=0.0), finite)
    assert_matches(got.values, np.array([1.0, 2.0, 3.0, 0.0]), "jit values")
    assert_matches(got.counts, np.array([2, 1, 1, 0]), "jit counts")
    assert_matches(got.inverse_indices, np.array([[2, 0], [0, 1]]), "jit inverse")
    with pytest.raises(fg.ConcretizationError, match="unique.*size="):
        fg.jit(fnp.unique_counts)(finite)


def test_polymul_of_no_coefficients_is_zero():
    # An empty coefficient vector is the zero polynomial to NumPy; traced, polymul raised
    # "convolve: v cannot be empty".
    for a1, a2 in ((np.array([1.0, 2.0]), np.array([])), (np.array([], np.int64),
                                                          np.array([3], np.int64))):
        want = np.polymul(a1, a2)
        assert_matches(fnp.polymul(a1, a2), want, "eager")
        assert_matches(traced(fnp.polymul, a1, a2), want, "traced")


@pytest.mark.parametrize("dtype", [np.complex128, np.float32, np.int64])
def test_poly_of_no_roots_is_float64_one(dtype):
    # Traced, poly of no complex (or float32) roots was a complex (float32) 1; NumPy's and
    # the eager result are the float 1.0.
    got = traced(fnp.poly, np.array([], dtype))
    assert_matches(got, np.asarray(np.poly(np.array([], dtype))), "traced")


def test_vander_refuses_a_negative_column_count_traced():
    # Traced, vander(x, -1) failed inside broadcast_to ("cannot broadcast ... to shape (3,
    # -2)"); NumPy says negative dimensions are not allowed.
    with pytest.raises(ValueError, match="vander: N must not be negative"):
        fg.make_ir(lambda v: fnp.vander(v, -1))(np.arange(3.0))
    assert_matches(traced(lambda v: fnp.vander(v, 0), np.arange(3.0)),
                   np.vander(np.arange(3.0), 0), "N=0")


def test_isin_checks_kind_traced():
    # NumPy rejects an unknown kind=; traced, funcgrad ignored it.
    a = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="isin: kind must be None, 'sort' or 'table'"):
        fg.make_ir(lambda v: fnp.isin(v, a, kind="hash"))(a)
    assert_matches(traced(lambda v: fnp.isin(v, a[:2], kind="sort"), a),
                   np.isin(a, a[:2], kind="sort"), "kind='sort'")


@pytest.mark.parametrize("name", ["intersect1d", "setdiff1d", "setxor1d", "union1d"])
def test_set_functions_with_size_zero(name):
    # Traced with size=0, the default fill read the first of no values: an IndexError.
    a, b = np.array([1.0, 2.0]), np.array([2.0, 3.0])
    got = traced(lambda x, y: getattr(fnp, name)(x, y, size=0), a, b)
    assert_matches(got, np.zeros(0), f"{name} size=0")


@pytest.mark.parametrize("fill_value", [None, -7.0])
@pytest.mark.parametrize("name", ["intersect1d", "setdiff1d", "setxor1d", "union1d"])
def test_set_functions_of_nothing_with_a_size_are_padding(name, fill_value):
    # Traced, size=2 with no values to pick failed in take ("cannot do a non-empty take from
    # an empty axes"); on concrete arrays it is all padding (fill_value, else 0).
    a, b = np.zeros(0), np.zeros(0) if name != "intersect1d" else np.array([1.0])
    want = np.full(2, 0.0 if fill_value is None else fill_value)
    function = getattr(fnp, name)
    assert_matches(function(a, b, size=2, fill_value=fill_value), want, "eager")
    assert_matches(traced(lambda x, y: function(x, y, size=2, fill_value=fill_value), a, b),
                   want, "traced")
