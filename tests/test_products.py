"""Products of ``funcgrad.numpy``: einsum, dot, matmul, tensordot, inner, outer, vdot, kron.

Traced values are checked against NumPy, derivatives against central differences (second
order, both modes), dtypes against NumPy's, and shape errors for naming the function.
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def _arrays(shapes, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _traced_value(fun, *args):
    """``fun(*args)`` evaluated through a trace (reverse mode records it)."""
    return fg.vjp(fun, *args)[0]


def _forward_value(fun, *args):
    """``fun(*args)`` evaluated through a trace in forward mode."""
    tangents = tuple(np.zeros_like(a) for a in args)
    return fg.jvp(fun, args, tangents)[0]


# ------------------------------------------------------------------------------ einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),            # explicit output
    ("ij,jk", [(2, 3), (3, 4)]),                # implicit output
    ("ji,jk", [(3, 2), (3, 4)]),                # implicit output, letters sorted
    ("aB", [(2, 3)]),                           # implicit: upper case sorts first
    ("ij->ji", [(2, 3)]),                       # one operand: transpose
    ("ij->", [(2, 3)]),                         # one operand: sum
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),                        # diagonal
    ("ii->", [(3, 3)]),                         # trace
    ("ii", [(3, 3)]),                           # trace, implicit
    ("iij->j", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),                    # repeated letter, not adjacent
    ("ijij->ij", [(2, 3, 2, 3)]),               # two repeated letters
    ("iik,kj->ij", [(3, 3, 2), (2, 4)]),        # diagonal, then a contraction
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),  # '...' broadcasts a size-1 axis
    ("i...->...", [(3, 2, 4)]),
    ("...,...", [(2, 3), (3,)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]),            # a labelled size-1 axis broadcasts
    ("ij,jk->ik", [(2, 1), (3, 4)]),            # ... even a contracted one
    ("bij,bjk->bik", [(4, 2, 3), (4, 3, 5)]),   # batch
    ("i,j,k", [(2,), (3,), (4,)]),              # three operands
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,jk,ki->", [(2, 3), (3, 4), (4, 2)]),
    ("i,i,i", [(3,), (3,), (3,)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 3), (3, 2)]),
    (",i->i", [(), (3,)]),                      # a scalar operand
]
EINSUM_IDS = [spec for spec, _ in EINSUM_CASES]


@pytest.mark.parametrize("spec,shapes", EINSUM_CASES, ids=EINSUM_IDS)
def test_einsum_values(spec, shapes):
    args = _arrays(shapes)
    expected = np.einsum(spec, *args)

    def fun(*xs):
        return fnp.einsum(spec, *xs)

    for evaluate in (_traced_value, _forward_value):
        value = evaluate(fun, *args)
        assert np.shape(value) == expected.shape
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec,shapes", EINSUM_CASES, ids=EINSUM_IDS)
def test_einsum_derivatives(spec, shapes):
    fg.check_grads(lambda *xs: fnp.einsum(spec, *xs), _arrays(shapes), order=2)


def test_einsum_concrete_inputs_are_numpy():
    a, b = _arrays([(2, 3), (3, 4)])
    np.testing.assert_array_equal(fnp.einsum("ij,jk", a, b), np.einsum("ij,jk", a, b))


def test_einsum_sublist_form():
    a, b = _arrays([(2, 3), (3, 4)])
    expected = np.einsum(a, [0, 1], b, [1, 2], [0, 2])
    value = _traced_value(lambda x, y: fnp.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    np.testing.assert_allclose(value, expected)
    implicit = _traced_value(lambda x: fnp.einsum(x, [Ellipsis, 1], b, [1, 2]), a)
    np.testing.assert_allclose(implicit, np.einsum(a, [Ellipsis, 1], b, [1, 2]))


def test_einsum_accepts_optimize_and_dtype():
    a, b, c = _arrays([(2, 3), (3, 4), (4, 5)])
    value = _traced_value(lambda x: fnp.einsum("ij,jk,kl->il", x, b, c, optimize=True), a)
    np.testing.assert_allclose(value, a @ b @ c)
    as_float32 = _traced_value(lambda x: fnp.einsum("ij->j", x, dtype=np.float32,
                                                    casting="same_kind"), a)
    assert as_float32.dtype == np.float32


def test_einsum_sums_a_letter_of_one_operand_in_its_dtype():
    # Letters only one operand has were summed in NumPy's default dtype before the product:
    # booleans became an int64 count and int32 an int64, where the shape rule (and
    # np.einsum) keep the dtype; jit(fnp.einsum("a,z->", b, b)) gave 4 for two Trues
    # (found by tests/fuzz.py).
    for x in (np.array([True, True, False]), np.array([1, 2, 3], np.int32)):
        def f(a):
            return fnp.einsum("a,z->", a, a), fnp.einsum("ab,b->b", a[:, None] * a, a)
        want = tuple(np.einsum(spec, *operands) for spec, operands in (
            ("a,z->", (x, x)), ("ab,b->b", (x[:, None] * x, x))))
        for got in (_traced_value(f, x), fg.jit(f)(x), fg.jit(f).compile(x)(x)):
            for g, w in zip(got, want):
                assert np.asarray(g).dtype == w.dtype
                np.testing.assert_array_equal(g, w)


def test_einsum_diagonal_is_a_gather():
    ir = str(fg.make_ir(lambda x: fnp.einsum("ii->i", x))(np.ones((3, 3))))
    assert "gather" in ir and "einsum" not in ir


def test_einsum_contracts_pairwise_left_to_right():
    ir = str(fg.make_ir(lambda x, y, z: fnp.einsum("ij,jk,kl->il", x, y, z))(
        np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))))
    assert "spec=ij,jk->ik" in ir and "spec=ik,kl->il" in ir


EINSUM_ERRORS = [
    ("ij,jk", [(2, 3), (4, 5)], r"einsum: 'ij,jk': index 'j' has sizes 3 and 4 .*\(2, 3\) "
                                r"and \(4, 5\)"),
    ("...i,...i", [(2, 3), (4, 3)], r"einsum: .*'\.\.\.' has sizes 2 and 4"),
    ("ii", [(2, 3)], r"einsum: operand 0 of shape \(2, 3\).*'i'"),
    ("ij", [(3,)], r"einsum: subscripts 'ij' do not fit operand 0 of shape \(3,\)"),
    ("i,i", [(3,)], r"einsum: 'i,i' names 2 operand\(s\), 1 given"),
    ("i->j", [(3,)], r"einsum: output subscript 'j' appears in no operand"),
    ("i->ii", [(3,)], r"einsum: output subscript 'i' appears more than once"),
    ("i...->i", [(3, 2)], r"einsum: .*'\.\.\.' in the output"),
    ("i1", [(3, 3)], r"einsum: invalid subscript '1'"),
]


@pytest.mark.parametrize("spec,shapes,message", EINSUM_ERRORS,
                         ids=[spec for spec, _, _ in EINSUM_ERRORS])
def test_einsum_errors(spec, shapes, message):
    with pytest.raises(ValueError, match=message):
        _traced_value(lambda *xs: fnp.einsum(spec, *xs), *_arrays(shapes))


# ------------------------------------------------------------- dot, matmul and relatives

def _tensordot(axes):
    def fun(a, b):
        return fnp.tensordot(a, b, axes)
    fun.numpy = lambda a, b: np.tensordot(a, b, axes)
    return fun


PRODUCT_CASES = [
    ("dot-scalar", fnp.dot, np.dot, [(), (3,)]),
    ("dot-scalar-right", fnp.dot, np.dot, [(2, 3), ()]),
    ("dot-1d-1d", fnp.dot, np.dot, [(3,), (3,)]),
    ("dot-2d-1d", fnp.dot, np.dot, [(2, 3), (3,)]),
    ("dot-1d-2d", fnp.dot, np.dot, [(3,), (3, 2)]),
    ("dot-2d-2d", fnp.dot, np.dot, [(2, 3), (3, 4)]),
    ("dot-3d-3d", fnp.dot, np.dot, [(2, 2, 3), (4, 3, 2)]),
    ("dot-3d-1d", fnp.dot, np.dot, [(2, 2, 3), (3,)]),
    ("matmul-2d-2d", fnp.matmul, np.matmul, [(2, 3), (3, 4)]),
    ("matmul-1d-2d", fnp.matmul, np.matmul, [(3,), (3, 4)]),
    ("matmul-2d-1d", fnp.matmul, np.matmul, [(2, 3), (3,)]),
    ("matmul-1d-1d", fnp.matmul, np.matmul, [(3,), (3,)]),
    ("matmul-batch-2d", fnp.matmul, np.matmul, [(4, 2, 3), (3, 2)]),
    ("matmul-batch-broadcast", fnp.matmul, np.matmul, [(4, 1, 2, 3), (3, 3, 2)]),
    ("matmul-1d-batch", fnp.matmul, np.matmul, [(3,), (4, 3, 2)]),
    ("matmul-batch-1d", fnp.matmul, np.matmul, [(4, 2, 3), (3,)]),
    ("matmul-size-1-batch", fnp.matmul, np.matmul, [(1, 2, 3), (1, 3, 2)]),
    ("tensordot-2", _tensordot(2), _tensordot(2).numpy, [(2, 3, 4), (3, 4, 2)]),
    ("tensordot-0", _tensordot(0), _tensordot(0).numpy, [(2,), (3,)]),
    ("tensordot-pairs", _tensordot(([1, 0], [0, 1])), _tensordot(([1, 0], [0, 1])).numpy,
     [(2, 3), (3, 2)]),
    ("tensordot-ints", _tensordot((0, 0)), _tensordot((0, 0)).numpy, [(2, 3), (2, 4)]),
    ("tensordot-negative", _tensordot(([-1], [0])), _tensordot(([-1], [0])).numpy,
     [(2, 3), (3,)]),
    ("inner-1d", fnp.inner, np.inner, [(3,), (3,)]),
    ("inner-2d", fnp.inner, np.inner, [(2, 3), (4, 3)]),
    ("inner-scalar", fnp.inner, np.inner, [(2,), ()]),
    ("outer", fnp.outer, np.outer, [(2,), (3,)]),
    ("outer-flattens", fnp.outer, np.outer, [(2, 2), (3,)]),
    ("vdot", fnp.vdot, np.vdot, [(2, 2), (4,)]),
    ("kron-2d-1d", fnp.kron, np.kron, [(2, 2), (3,)]),
    ("kron-1d", fnp.kron, np.kron, [(2,), (3,)]),
    ("kron-3d-2d", fnp.kron, np.kron, [(2, 1, 2), (2, 3)]),
]
PRODUCT_IDS = [case[0] for case in PRODUCT_CASES]


@pytest.mark.parametrize("name,fun,numpy_fun,shapes", PRODUCT_CASES, ids=PRODUCT_IDS)
def test_product_values(name, fun, numpy_fun, shapes):
    args = _arrays(shapes)
    expected = numpy_fun(*args)
    for evaluate in (_traced_value, _forward_value):
        value = evaluate(fun, *args)
        assert np.shape(value) == np.shape(expected)
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,fun,numpy_fun,shapes", PRODUCT_CASES, ids=PRODUCT_IDS)
def test_product_derivatives(name, fun, numpy_fun, shapes):
    fg.check_grads(fun, _arrays(shapes), order=2)


@pytest.mark.parametrize("name,fun,numpy_fun,shapes", PRODUCT_CASES[::4],
                         ids=PRODUCT_IDS[::4])
def test_concrete_inputs_give_numpy_results(name, fun, numpy_fun, shapes):
    args = _arrays(shapes)
    result, expected = fun(*args), numpy_fun(*args)
    # NumPy's values; an n-d result is funcgrad's Array, an ndarray that takes traced indices
    assert isinstance(result, type(expected))
    assert type(result) is (fg.Array if isinstance(expected, np.ndarray) else type(expected))
    np.testing.assert_array_equal(result, expected)


def test_matmul_operator_and_constant_operand():
    a, b = _arrays([(2, 3), (3, 4)])
    np.testing.assert_allclose(_traced_value(lambda x: x @ b, a), a @ b)
    np.testing.assert_allclose(_traced_value(lambda y: a @ y, b), a @ b)


def test_matmul_broadcast_batch_is_not_copied():
    """A batch axis one operand lacks is left out of its subscripts, never broadcast."""
    ir = str(fg.make_ir(fnp.matmul)(np.ones((4, 1, 2, 3)), np.ones((5, 3, 2))))
    assert "broadcast_to" not in ir
    fg.check_grads(fnp.matmul, _arrays([(4, 1, 2, 3), (5, 3, 2)]), order=1)


def test_list_operand_holding_tracers():
    a = _arrays([(3,)])[0]
    value = _traced_value(lambda x: fnp.outer([x[0], x[1]], x), a)
    np.testing.assert_allclose(value, np.outer(a[:2], a))


# ------------------------------------------------------------------------------- dtypes

DTYPE_FUNCTIONS = {
    "dot": fnp.dot, "matmul": fnp.matmul, "inner": fnp.inner, "outer": fnp.outer,
    "kron": fnp.kron, "tensordot": _tensordot(1), "vdot": fnp.vdot,
    "einsum": lambda a, b: fnp.einsum("i,i->", a, b),
}


@pytest.mark.parametrize("name", DTYPE_FUNCTIONS)
def test_float32_stays_float32(name):
    fun = DTYPE_FUNCTIONS[name]
    a, b = _arrays([(3,), (3,)], dtype=np.float32)
    value, pullback = fg.vjp(fun, a, b)
    assert value.dtype == np.float32
    cotangents = pullback(np.ones(np.shape(value), np.float32))
    assert all(ct.dtype == np.float32 for ct in cotangents)
    _, tangent = fg.jvp(fun, (a, b), (a, b))
    assert tangent.dtype == np.float32
    fg.check_grads(fun, (a, b), order=2)


@pytest.mark.parametrize("name", DTYPE_FUNCTIONS)
def test_int_times_float_is_float64(name):
    fun = DTYPE_FUNCTIONS[name]
    ints = np.arange(3)
    floats = _arrays([(3,)], dtype=np.float32)[0]
    value = _traced_value(lambda x: fun(ints, x), floats)
    assert value.dtype == fun(ints, floats).dtype == np.float64


def test_python_scalar_promotes_like_numpy():
    """NumPy's products turn a Python float into a float64 array, unlike its ufuncs."""
    x = np.ones(3, np.float32)
    for fun in (fnp.dot, fnp.inner, fnp.kron):
        assert _traced_value(lambda v, f=fun: f(v, 2.0), x).dtype == fun(x, 2.0).dtype


# ------------------------------------------------------------------------------- errors

SHAPE_ERRORS = [
    ("dot", fnp.dot, [(2, 3), (4, 5)]),
    ("matmul", fnp.matmul, [(2, 3), (4, 5)]),
    ("matmul", fnp.matmul, [(2, 2, 3), (3, 3, 4)]),    # batch axes do not broadcast
    ("matmul", fnp.matmul, [(), (3,)]),
    ("tensordot", _tensordot(1), [(2, 3), (4, 5)]),
    ("inner", fnp.inner, [(2, 3), (4, 5)]),
    ("vdot", fnp.vdot, [(2, 3), (4, 5)]),
]


@pytest.mark.parametrize("name,fun,shapes", SHAPE_ERRORS,
                         ids=[f"{name}-{shapes}" for name, _, shapes in SHAPE_ERRORS])
def test_shape_mismatch_names_function_and_shapes(name, fun, shapes):
    with pytest.raises(ValueError) as error:
        _traced_value(fun, *_arrays(shapes))
    message = str(error.value)
    assert message.startswith(f"{name}:"), message
    for shape in shapes:
        assert str(shape) in message, message


def test_tensordot_bad_axes():
    a, b = _arrays([(2, 3), (3, 2)])
    with pytest.raises(ValueError, match="tensordot: 1 axes of the first operand against 2"):
        _traced_value(lambda x: fnp.tensordot(x, b, ([1], [0, 1])), a)
    with pytest.raises(ValueError, match=r"tensordot: axes=3 must lie in \[0, 2\]"):
        _traced_value(lambda x: fnp.tensordot(x, b, 3), a)


def test_out_argument_is_refused_on_traced_inputs():
    a, b = _arrays([(2, 2), (2, 2)])
    with pytest.raises(TypeError, match="dot: out="):
        _traced_value(lambda x: fnp.dot(x, b, out=np.empty((2, 2))), a)


# ------------------------------------------------------------------------------ hessian

def test_hessian_of_tanh_layer_matches_analytic():
    A, x = _arrays([(3, 4), (4,)])
    hessian = fg.hessian(lambda v: fnp.sum(fnp.tanh(A @ v)))(x)
    t = np.tanh(A @ x)
    expected = A.T @ np.diag(-2 * t * (1 - t ** 2)) @ A
    assert hessian.shape == (4, 4)
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)


def test_dot_method_of_traced_values_is_numpy_dot():
    a, b = _arrays([(2, 3), (2, 3, 2)])
    np.testing.assert_allclose(_traced_value(lambda x: x.dot(b), a), a.dot(b))
    np.testing.assert_allclose(_traced_value(lambda x: x.dot(2.0), a), a.dot(2.0))
