"""Taylor mode: ``fg.jet`` and ``fg.derivatives``.

Driven by the primitive table of tests/test_primitives.py: every smooth (and flat) row's Taylor
series must agree with nested ``grad`` to 1e-10 relative for orders 1-8, so a new smooth
primitive without a ``taylor`` rule fails here, naming itself, unless it is listed in
``WITHOUT_TAYLOR_RULE`` with the reason. Also: hand-derived series, JAX's ``jet`` (when JAX
is installed), composition with jit / vmap / grad / control flow, errors, and the O(K^2)
growth of the traced program with the order.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import test_primitives as table

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import ALL_PRIMITIVES, MissingRuleError
from funcgrad.core.aval import is_differentiable
from funcgrad.core.ir import count_eqns

ORDER = 8

# Primitives without a Taylor rule, and why: jet raises MissingRuleError naming them.
WITHOUT_TAYLOR_RULE = {
    "eigh": "eigenvector series need the eigenvalue gaps at every order (not written yet)",
    "svd": "as eigh",
    "qr": "a triangular recurrence per order (not written yet)",
    "pinv": "needs the rank-constant series of svd",
    "pure_callback": "host NumPy code carries no series",
    "random_gamma_grad": "an implicit derivative, computed by its own numerics",
    "random_gamma_reparam": "as random_gamma_grad",
    "eig": "as eigh (and complex eigenvalues of a real matrix)",
}

# Rows whose nested-grad reference at order 8 is slow at the table's shapes (the k-th
# derivative program of a product over 24 elements, or of 4 steps of a recurrence, grows
# quickly): checked on smaller shapes, the same code paths.
SMALLER = {
    "reduce_prod[cube_axes02]": ((2, 1, 2),),
    "reduce_prod[zero_cube_axes02]": ((2, 1, 2),),
    "scan": ((), (2,)),
    "scan[reverse]": ((), (2,)),
}


def _unrolled_scan(reverse):
    """The scan rows' recurrence as a Python loop: nested grad of a scan nests scans at every
    order (seconds at order 8), of the loop it does not; the numbers are the same."""
    def row(c, xs):
        ys = [None] * len(xs)
        for i in (reversed(range(len(xs))) if reverse else range(len(xs))):
            c = c * fnp.tanh(xs[i]) + 0.5 * fnp.sin(c)
            ys[i] = c * xs[i]
        return fnp.stack(ys) * c
    return row


NESTED_GRAD_OF = {"scan": _unrolled_scan(False), "scan[reverse]": _unrolled_scan(True)}


def _outputs_are_floating(name: str) -> bool:
    """Whether the primitive gives a floating output in any row of the table: one that does
    not (a comparison, argmax, argsort) needs no rule."""
    for row in table.ROWS_BY_PRIMITIVE.get(name, []):
        case_id, shapes = row.shape_cases()[0]
        args = table.Case(row, shapes, np.float64, row.label).args()
        with np.errstate(invalid="ignore"):
            ir = fg.make_ir(row.fn)(*args)
        for eqn in _all_eqns(ir):
            if eqn.primitive.name == name and any(is_differentiable(v.aval.dtype)
                                                  for v in eqn.outputs):
                return True
    return False


def _all_eqns(ir):
    for eqn in ir.eqns:
        yield eqn
        for value in eqn.params.values():
            if isinstance(value, fg.core.IR):
                yield from _all_eqns(value)


@pytest.mark.parametrize("name", sorted(ALL_PRIMITIVES))
def test_every_primitive_with_floating_outputs_has_a_taylor_rule(name):
    prim = ALL_PRIMITIVES[name]
    if prim.has_rule("taylor") or name in WITHOUT_TAYLOR_RULE:
        return
    assert not _outputs_are_floating(name), (
        f"primitive '{name}' has floating outputs but no taylor rule: give it one beside its "
        "other rules (see funcgrad/ops/taylor.py), or list it in WITHOUT_TAYLOR_RULE here "
        "with the reason")


# --------------------------------------------------------- the table against nested grad

def _table_cases(kinds):
    """The rows of real inputs and outputs (nested grad, the reference, is real; complex
    rows' series are checked through real functions of them below)."""
    cases = []
    for row in table.TABLE:
        if row.kind not in kinds:
            continue
        case_id, shapes = row.shape_cases()[0]
        shapes = SMALLER.get(row.label, shapes)
        if np.float64 in row.dtypes:
            cases.append(pytest.param(table.Case(row, shapes, np.float64, f"{row.label}-jet"),
                                      id=row.label))
    return cases


def _directions(case):
    rng = np.random.default_rng(7)
    args = case.args()
    directions = tuple(rng.uniform(-1.0, 1.0, np.shape(a)) for a in args)
    weights = [rng.uniform(-1.0, 1.0, np.shape(o)) for o in fg.tree.leaves(case.row.fn(*args))]
    return args, directions, weights


def _weighted_series(series, weights, order):
    """``sum(w * f_k)`` over the output leaves for each order k, and ``sum |w * f_k|``."""
    flat = fg.tree.leaves(series)
    per_leaf = [flat[i * order:(i + 1) * order] for i in range(len(weights))]
    def weighted(term, w):   # a complex output counts as its real part plus half its imag
        term = np.asarray(term)
        return np.real(term) * w + np.imag(term) * (0.5 * w)
    values = [sum(float(np.sum(weighted(s[k], w))) for s, w in zip(per_leaf, weights))
              for k in range(order)]
    scales = [sum(float(np.sum(np.abs(weighted(s[k], w)))) for s, w in zip(per_leaf, weights))
              for k in range(order)]
    return values, scales


def _nested_grads(fun, order):
    derivative, out = fun, []
    for _ in range(order):
        derivative = fg.grad(derivative)
        out.append(float(derivative(0.0)))
    return out


@pytest.mark.parametrize("case", _table_cases({"smooth", "flat"}))
def test_jet_agrees_with_nested_grad_to_order_8(case):
    """Along a random line ``x + t v`` through the row's arguments, the k-th derivative of
    ``sum(w * f(x + t v))`` at 0, k = 1..8: jet's terms against k nested ``grad``s."""
    row = case.row
    args, directions, weights = _directions(case)
    series = tuple([v] + [np.zeros_like(v)] * (ORDER - 1) for v in directions)
    if row.prim in WITHOUT_TAYLOR_RULE:
        with pytest.raises(MissingRuleError, match=f"no taylor rule for primitive '{row.prim}'"):
            fg.jet(row.fn, args, series)
        return
    with np.errstate(invalid="ignore"):
        _, out_series = fg.jet(row.fn, args, series)
    values, scales = _weighted_series(out_series, weights, ORDER)

    fn = NESTED_GRAD_OF.get(row.label, row.fn)

    def along_the_line(t):
        outs = fg.tree.leaves(fn(*[a + t * v for a, v in zip(args, directions)]))
        return sum(fnp.sum(fnp.real(o) * w + fnp.imag(o) * (0.5 * w)) if o.dtype.kind == "c"
                   else fnp.sum(o * w) for o, w in zip(outs, weights))

    with np.errstate(invalid="ignore"):
        expected = _nested_grads(along_the_line, ORDER)
    # 1e-10 of the size of the terms summed at that order, or of the largest order up to it
    # where that is larger (a polynomial's orders above its degree are exact zeros in jet,
    # and rounding errors in nested grad). A conversion to float32 is held to its precision.
    outputs = fg.tree.leaves(row.fn(*args))
    tolerance = 1e-10 if all(np.asarray(o).dtype != np.float32 for o in outputs) else 1e-6
    for k in range(ORDER):
        bound = tolerance * max(abs(expected[k]), max(scales[:k + 1]))
        assert abs(values[k] - expected[k]) <= bound, (
            f"{row.label}: order {k + 1}: jet {values[k]!r}, nested grad {expected[k]!r}")


@pytest.mark.parametrize("case", _table_cases({"none"}))
def test_no_derivative_rows_give_zero_series(case):
    args, directions, _ = _directions(case)
    with np.errstate(invalid="ignore"):
        _, out_series = fg.jet(case.row.fn, args, tuple([v, v] for v in directions))
    assert not any(np.any(term) for term in fg.tree.leaves(out_series))


@pytest.mark.parametrize("case", [c for c in _table_cases({"smooth"})
                                  if c.values[0].row.prim not in WITHOUT_TAYLOR_RULE])
def test_float32_stays_float32(case):
    """The series of float32 inputs are float32, and agree with float64's to its precision."""
    row = case.row
    args64, directions, _ = _directions(case)
    args32 = tuple(np.asarray(a, np.float32)[()] for a in args64)
    directions32 = tuple(np.asarray(v, np.float32) for v in directions)
    out64, series64 = fg.jet(row.fn, args64, tuple([v, 0 * v, 0 * v] for v in directions))
    out32, series32 = fg.jet(row.fn, args32, tuple([v, 0 * v, 0 * v] for v in directions32))
    for leaf64, leaf32, reference in zip(fg.tree.leaves(series64), fg.tree.leaves(series32),
                                         fg.tree.leaves(row.fn(*args32))):
        assert np.asarray(leaf32).dtype == np.asarray(reference).dtype
        if np.asarray(reference).dtype == np.float32 and np.asarray(leaf64).dtype == np.float64:
            scale = max(1.0, float(np.max(np.abs(leaf64), initial=0.0)))
            np.testing.assert_allclose(leaf32, leaf64, rtol=2e-3, atol=2e-3 * scale)


# --------------------------------------------------------------- hand-derived series

def test_derivatives_of_exp_and_sin():
    x = 0.3
    np.testing.assert_allclose(fg.derivatives(fnp.exp, 10)(x), [math.exp(x)] * 11, rtol=1e-15)
    cycle = [math.sin(x), math.cos(x), -math.sin(x), -math.cos(x)]
    np.testing.assert_allclose(fg.derivatives(fnp.sin, 12)(x), [cycle[k % 4] for k in range(13)],
                               rtol=1e-14)


def test_derivatives_of_exp_of_sin_at_zero():
    # The Taylor coefficients of exp(sin x) times k!: OEIS A002017.
    expected = [1, 1, 1, 0, -3, -8, -3, 56, 217, 64, -2951, -12672]
    np.testing.assert_allclose(fg.derivatives(lambda x: fnp.exp(fnp.sin(x)), 11)(0.0),
                               expected, rtol=1e-12, atol=1e-10)


def test_derivatives_of_rational_and_log_functions():
    x = 0.25
    np.testing.assert_allclose(fg.derivatives(lambda t: 1 / (1 - t), 9)(x),
                               [math.factorial(k) / (1 - x) ** (k + 1) for k in range(10)],
                               rtol=1e-13)
    np.testing.assert_allclose(fg.derivatives(fnp.log1p, 9)(0.0),
                               [0.0] + [(-1) ** (k + 1) * math.factorial(k - 1)
                                        for k in range(1, 10)], rtol=1e-14)
    np.testing.assert_allclose(fg.derivatives(fnp.sqrt, 4)(4.0),
                               [2.0, 0.25, -1 / 32, 3 / 256, -15 / 2048], rtol=1e-14)


def test_polynomials_have_exact_zeros_beyond_their_degree():
    out = fg.derivatives(lambda x: x ** 3 - 2.0 * x, 6)(0.0)
    assert [float(v) for v in out] == [0.0, -2.0, 0.0, 6.0, 0.0, 0.0, 0.0]
    out = fg.derivatives(lambda x: fnp.power(x, 2.0) * x, 5)(0.0)   # pow with exponent 2.0
    assert [float(v) for v in out] == [0.0, 0.0, 0.0, 6.0, 0.0, 0.0]


def test_jet_follows_faa_di_bruno_as_in_jax_docs():
    # h(z) = z**3 at z = 0.5, f = sin: the example of jax.experimental.jet.jet.
    h0, h1, h2, h3 = 0.5 ** 3, 3 * 0.5 ** 2, 6 * 0.5, 6.0
    f0, (f1, f2, f3) = fg.jet(fnp.sin, (h0,), ([h1, h2, h3],))
    s, c = math.sin(h0), math.cos(h0)
    np.testing.assert_allclose([f0, f1, f2, f3],
                               [s, c * h1, -s * h1 ** 2 + c * h2,
                                -c * h1 ** 3 - 3 * s * h1 * h2 + c * h3], rtol=1e-14)
    # factorial_scaled=False: the terms in and out are the normalized coefficients.
    g0, (g1, g2, g3) = fg.jet(fnp.sin, (h0,), ([h1, h2 / 2, h3 / 6],), factorial_scaled=False)
    np.testing.assert_allclose([g1, g2, g3], [f1, f2 / 2, f3 / 6], rtol=1e-14)


def test_jet_of_pytrees_and_several_outputs():
    def f(params, x):
        return {"a": fnp.sin(params["w"] * x), "b": params["w"] * x * x}

    primals = ({"w": np.array([1.0, 2.0])}, 0.5)
    series = ([{"w": np.ones(2)}, {"w": np.zeros(2)}], [1.0, 0.0])
    out, out_series = fg.jet(f, primals, series)
    assert set(out) == {"a", "b"} and len(out_series["a"]) == 2
    # along (w + t, x + t): d/dt sin((w + t)(x + t)) = cos(.) (w + x + 2t), and
    # d^2/dt^2 (w + t)(x + t)^2 = 4 (x + t) + 2 (w + t)
    w, x = np.array([1.0, 2.0]), 0.5
    np.testing.assert_allclose(out_series["a"][0], np.cos(w * x) * (w + x))
    np.testing.assert_allclose(out_series["b"][1], 4 * x + 2 * w)


# --------------------------------------------------------------------- JAX's jet

def _jax_jet():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    from jax.experimental.jet import jet
    return jax, jet


JAX_FUNCTIONS = {
    "sin_exp_x": (lambda np_: lambda x: np_.sin(x) * np_.exp(-x * x / 3) * x, 0.7),
    "log_sqrt": (lambda np_: lambda x: np_.log(x) + np_.sqrt(x), 1.3),
    "tanh_logistic": (lambda np_: lambda x: np_.tanh(x) * x + 1 / (1 + np_.exp(-x)), 0.4),
    "div_pow": (lambda np_: lambda x: x ** 2.5 / (1 + x * x), 0.9),
    "hyperbolic": (lambda np_: lambda x: np_.cos(x) * np_.cosh(x) - np_.sinh(x) ** 3, 0.3),
    "vector": (lambda np_: lambda x: np_.sum(np_.sin(x) * np_.dot(np_.ones((3, 3)), x)),
               np.array([0.1, 0.2, 0.3])),
}


@pytest.mark.parametrize("name", sorted(JAX_FUNCTIONS))
def test_jet_matches_jax_jet(name):
    jax, jax_jet = _jax_jet()
    jnp = jax.numpy
    build, x = JAX_FUNCTIONS[name]
    terms = [np.ones_like(x) * 0.5, np.ones_like(x) * -0.25, np.ones_like(x), np.zeros_like(x)]
    ours, our_series = fg.jet(build(fnp), (x,), (terms,))
    theirs, their_series = jax.jit(lambda x, terms: jax_jet(build(jnp), (x,), (terms,)))(
        x, [jnp.asarray(t) for t in terms])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    for mine, jax_term in zip(our_series, their_series):
        np.testing.assert_allclose(mine, np.asarray(jax_term), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------- composition

def _workload(x):
    return fnp.sin(x) * fnp.exp(-x * x / 3) * x


def test_jit_of_derivatives_compiles_to_the_same_numbers():
    eager = fg.derivatives(_workload, 10)(0.7)
    compiled = fg.jit(fg.derivatives(_workload, 10)).compile(0.7)
    np.testing.assert_allclose(compiled(0.7), eager, rtol=1e-13)
    np.testing.assert_allclose(eager, [float(v) for v in _nested(10, 0.7)], rtol=1e-12)


def _nested(order, x):
    derivative, out = _workload, [_workload(x)]
    for _ in range(order):
        derivative = fg.grad(derivative)
        out.append(derivative(x))
    return out


def test_jet_of_jitted_vmapped_and_differentiated_functions():
    x = 0.7
    expected = fg.derivatives(_workload, 6)(x)
    np.testing.assert_allclose(fg.derivatives(fg.jit(_workload), 6)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(fg.derivatives(fg.grad(_workload), 5)(x), expected[1:],
                               rtol=1e-12)
    xs = np.linspace(-1.0, 1.0, 5)
    batched = fg.derivatives(fg.vmap(_workload), 4)(xs)
    np.testing.assert_allclose(np.stack(batched),
                               np.stack([fg.derivatives(_workload, 4)(v) for v in xs]).T,
                               rtol=1e-13)
    inner = fg.jit(lambda v: fg.derivatives(_workload, 2)(v)[2])   # jet of jet, under jit
    np.testing.assert_allclose(fg.derivatives(inner, 3)(x), expected[2:6], rtol=1e-12)


def test_vmap_grad_and_make_ir_of_jet():
    xs = np.linspace(-1.0, 1.0, 5)
    per_example = fg.vmap(fg.derivatives(_workload, 4))(xs)
    np.testing.assert_allclose(np.stack(per_example),
                               np.stack([fg.derivatives(_workload, 4)(v) for v in xs]).T,
                               rtol=1e-13)
    third = fg.grad(lambda v: fg.derivatives(_workload, 3)(v)[3])(0.7)
    np.testing.assert_allclose(third, fg.derivatives(_workload, 4)(0.7)[4], rtol=1e-12)
    ir = fg.make_ir(fg.derivatives(_workload, 3))(0.7)
    assert {"sin", "cos", "exp"} <= set(count_eqns(ir))


def _plain_loop(x):
    c = x
    for _ in range(3):
        c = fnp.sin(c) + x
    return c


def test_jet_through_loops_cond_and_checkpoint():
    expected = fg.derivatives(_plain_loop, 5)(0.3)
    loops = [
        lambda x: fg.fori_loop(0, 3, lambda i, c: fnp.sin(c) + x, x),
        lambda x: fg.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.sin(c[1]) + x),
                                (0, x))[1],
        lambda x: fg.scan(lambda c, _: (fnp.sin(c) + x, None), x, None, length=3)[0],
        fg.checkpoint(_plain_loop),
        fg.checkpoint(_plain_loop, policy=fg.checkpoint_policies.everything_saveable),
    ]
    for loop in loops:
        np.testing.assert_allclose(fg.derivatives(loop, 5)(0.3), expected, rtol=1e-13)
    branch = lambda x: fg.cond(x > 0, fnp.exp, fnp.cos, x)  # noqa: E731
    np.testing.assert_allclose(fg.derivatives(branch, 4)(0.3), [math.exp(0.3)] * 5)
    np.testing.assert_allclose(fg.derivatives(branch, 2)(-0.3),
                               [math.cos(0.3), math.sin(0.3), -math.cos(0.3)])


def test_custom_rules_are_expanded_through_the_function():
    @fg.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda primals, tangents: (f(primals[0]), 2.0 * tangents[0]))   # a wrong rule
    np.testing.assert_allclose(fg.derivatives(f, 3)(0.5), fg.derivatives(fnp.sin, 3)(0.5))


# ----------------------------------------------------------------------------- errors

def test_errors():
    with pytest.raises(MissingRuleError, match="no taylor rule for primitive 'eigh'"):
        fg.jet(lambda a: fnp.linalg.eigh(a)[0], (np.eye(2),), ([np.ones((2, 2))],))
    with pytest.raises(ValueError, match="inconsistent lengths"):
        fg.jet(lambda x, y: x * y, (1.0, 2.0), ([1.0], [1.0, 0.0]))
    with pytest.raises(ValueError, match="2 primals but 1 series"):
        fg.jet(lambda x, y: x * y, (1.0, 2.0), ([1.0],))
    with pytest.raises(ValueError, match="shape"):
        fg.jet(fnp.sin, (np.ones(3),), ([np.ones(2)],))
    with pytest.raises(TypeError, match="int64"):
        fg.jet(fnp.sin, (1,), ([1],))
    with pytest.raises(TypeError, match="int64"):
        fg.derivatives(fnp.sin, 2)(1)
    with pytest.raises(ValueError, match="non-negative int"):
        fg.derivatives(fnp.sin, -1)
    assert fg.derivatives(fnp.sin, 0)(0.5) == [pytest.approx(math.sin(0.5))]


# ------------------------------------------------------------------ cost with the order

def _equations(fun, order):
    ir = fg.make_ir(fg.derivatives(fun, order))(0.7)
    return sum(count_eqns(ir).values())


def test_the_program_grows_quadratically_with_the_order():
    """Equations in the traced program of ``derivatives``: O(K^2) (Cauchy products and
    recurrences), where nested grad's grows by a factor at each order."""
    counts = {k: _equations(_workload, k) for k in (4, 8, 16)}
    assert counts[16] / counts[8] < 4.5 and counts[8] / counts[4] < 4.5, counts
    nested = {k: sum(count_eqns(fg.make_ir(_nested_grad(k))(0.7)).values()) for k in (4, 8)}
    assert nested[8] / nested[4] > 2 * counts[8] / counts[4], (nested, counts)


def _nested_grad(order):
    derivative = _workload
    for _ in range(order):
        derivative = fg.grad(derivative)
    return derivative


def test_series_through_complex_values_agree_with_nested_grad():
    """A real function of real inputs through complex intermediates (real, imag, conj,
    complex, angle, abs, fft and its inverse): jet against nested grad, orders 1-6."""
    def f(t):
        x = fnp.sin(t * np.array([0.3, -1.1, 0.7, 2.0])) + 1.5
        z = fnp.fft.fft(x * x) + fnp.real(x) * 1j
        w = lax_complex(x, fnp.cos(x)) * fnp.conj(z)
        y = fnp.fft.irfft(fnp.fft.rfft(x) * (1.0 + 0.5j))
        return (fnp.sum(fnp.real(w)) + fnp.sum(fnp.imag(w) * 0.3) + fnp.sum(fnp.angle(z))
                + fnp.sum(fnp.abs(w)) + fnp.sum(y * y))
    order = 6
    _, terms = fg.jet(f, (0.4,), ([1.0] + [0.0] * (order - 1),))
    derivative, expected = f, []
    for _ in range(order):
        derivative = fg.grad(derivative)
        expected.append(float(derivative(0.4)))
    np.testing.assert_allclose([float(t) for t in terms], expected, rtol=1e-9, atol=1e-9)


def lax_complex(re, im):
    return fnp.real(re) + 1j * fnp.real(im)
