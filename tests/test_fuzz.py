"""The differential fuzzer (``tests/fuzz.py``): its short profile, and checks that it can fail.

The long profile is a command, for before a release: ``python -m tests.fuzz --n 2000 --seed S``.
"""
import fuzz
import numpy as np
import pytest

from funcgrad.ops import complex_numbers, reduction

# Derandomized: the suite runs the same programs every time, so a failure here is a
# regression; finding new ones is the long profile's job, with a new seed each run.
test_random_programs = fuzz.fuzz_test(fuzz.SHORT, examples=100, derandomize=True)

# A few programs (without control flow: see NATIVE) taken to jit's native tier: numba
# compiles each, and its gradient, once.
test_random_programs_compiled = fuzz.fuzz_test(fuzz.NATIVE, examples=6, derandomize=True)


def _case(code, shape=(3,), out_shape=(3,), bounds=(-4.5, 4.5), kink=None):
    """A one-op program ``v1 = code`` of one input ``x0``."""
    x = fuzz.Value("x0", shape, -1.5, 1.5, plain=True)
    op = fuzz.Op(fuzz.Value("v1", out_shape, *bounds), code, ("x0",), kink)
    program = fuzz.Body("f", (x,), (op,), ("v1",))
    return fuzz.Case(program, seed=0, native=False, native_kinds=False, in_axes=(0,),
                     against_jax=False)


def test_a_wrong_derivative_rule_is_caught(monkeypatch):
    # cumsum's reverse-mode rule, run the wrong way: grad disagrees with central differences.
    monkeypatch.setattr(reduction.cumsum_p, "vjp", lambda needs, g, ans, x, *, axis, reverse:
                        (reduction.cumsum(g, axis, reverse),))
    with pytest.raises(fuzz.Mismatch, match="grad"):
        fuzz.check_case(_case("{np}.cumsum(x0)"))
    fuzz.check_case(_case("{np}.sin(x0)"))   # what the broken rule does not touch passes


def _complex_case(code):
    """A one-op program ``v1 = code`` of one complex input ``x0`` of shape (3,)."""
    x = fuzz.Value("x0", (3,), -2.2, 2.2)
    op = fuzz.Op(fuzz.Value("v1", (3,), -5.0, 5.0), code, ("x0",))
    program = fuzz.Body("f", (x,), (op,), ("v1",))
    return fuzz.ComplexCase(program, seed=0, native=False, native_kinds=False, in_axes=(0,),
                            against_jax=False)


def test_a_wrong_complex_derivative_rule_is_caught(monkeypatch):
    # imag's reverse-mode rules without their factor -1j: central differences along Im z
    # see the gradient's imaginary part come out as its real part.
    monkeypatch.setattr(complex_numbers.imag_p, "vjp", lambda needs, g, ans, x: (
        complex_numbers._as_complex(g, x.dtype),))
    monkeypatch.setattr(complex_numbers.imag_p, "eager_vjp", lambda needs, g, ans, x: (
        np.asarray(g).astype(x.dtype)[()],))
    with pytest.raises(fuzz.Mismatch, match="grad"):
        fuzz.check_complex_case(_complex_case("{np}.imag(x0) * x0"))
    fuzz.check_complex_case(_complex_case("{np}.exp(x0 * 0.5) * x0"))   # untouched: passes


def test_the_oracle_measures_kinks():
    # x0 - x0 is 0 everywhere: abs has its kink there (check_case rejects such inputs:
    # central differences would straddle it).
    oracle = fuzz.Oracle(_case("abs(x0 - x0)", kink="np.abs(x0 - x0)").program)
    assert oracle.margin(np.array([0.5, -0.25, 1.0])) == 0.0
    oracle = fuzz.Oracle(_case("abs(x0)", kink="np.abs(x0)").program)
    assert oracle.margin(np.array([0.5, -0.25, 1.0])) == 0.25


def test_the_printed_script_reproduces_the_program():
    case = _case("{np}.sin(x0) * x0")
    namespace = case.namespace()
    args = case.arrays[0]
    np.testing.assert_allclose(namespace["f"](*args), np.sin(args[0]) * args[0], rtol=1e-15)
    assert "def f(x0):\n    v1 = fnp.sin(x0) * x0\n    return v1" in repr(case)
    np.testing.assert_array_equal(namespace["x0"], args[0])


def test_the_numpy_oracle_is_independent_of_funcgrad():
    oracle = fuzz.Oracle(_case("{fg}.cond({np}.sum(x0) > 0.0, lambda a: {np}.sin(a), "
                               "lambda a: a * a, x0)").program)
    x = np.array([0.5, -0.25, 1.0])
    (out,) = oracle(x)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.sin(x))
    np.testing.assert_array_equal(oracle(-x)[0], x * x)


# Programs on complex128 inputs (and complex64 values), a real loss of their outputs.
test_random_complex_programs = fuzz.complex_fuzz_test(fuzz.SHORT, examples=30, derandomize=True)

# Two of them compiled by numba, with the gradient.
test_random_complex_programs_compiled = fuzz.complex_fuzz_test(
    fuzz.NATIVE, examples=2, derandomize=True)
