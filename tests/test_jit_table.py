"""Every primitive compiled against the interpreter: one jitted program runs a case of every
row of the primitive table (tests/test_primitives.py), so the comparison costs a handful of
numba kernels, not one compile per primitive."""
import numpy as np
import pytest
from test_primitives import TABLE

import funcgrad as fg
from funcgrad.core.primitive import ALL_PRIMITIVES
from funcgrad.core.trace import eval_ir

pytest.importorskip("numba")


def _cases(dtype):
    """One case per row (the last shape case: the largest, with broadcasting where binary)."""
    rng = np.random.default_rng(3)
    cases = []
    for row in TABLE:
        if dtype not in row.dtypes:
            continue
        _, shapes = row.shape_cases()[-1]
        args = [np.asarray(domain(rng, shape)).astype(dtype)
                for domain, shape in zip(row.domains, shapes)]
        cases.append((row, args))
    return cases


# Complex rows run in programs of their own (complex128, complex64): a primitive is covered
# by the real program or by the complex one of the same precision.
_PAIRED = {np.float64: np.complex128, np.float32: np.complex64,
           np.complex128: np.float64, np.complex64: np.float32}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64],
                         ids=["f64", "f32", "c128", "c64"])
def test_every_primitive_compiled_matches_the_interpreter(dtype):
    cases = _cases(dtype)
    covered = {row.prim for row in TABLE if dtype in row.dtypes or _PAIRED[dtype] in row.dtypes}
    missing = set(ALL_PRIMITIVES) - covered - {n for n in ALL_PRIMITIVES if n.startswith("test_")}
    assert not missing, f"primitives with no compiled check: {sorted(missing)}"

    def program(arguments):
        return [row.fn(*args) for (row, _), args in zip(cases, arguments)]

    arguments = [args for _, args in cases]
    interpreted = eval_ir(fg.make_ir(program)(arguments), [a for args in arguments for a in args])
    compiled = fg.jit(program).compile(arguments)(arguments)
    rtol = 1e-12 if dtype in (np.float64, np.complex128) else 2e-5
    for (row, _), got, want in zip(cases, compiled, interpreted):
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype, row.label
        assert got.shape == want.shape, row.label
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=row.label,
                                   equal_nan=True)
