"""``fg.vmap``: every primitive's batching rule against a Python loop, and vmap's compositions.

The table of ``tests/test_primitives.py`` says how to call every primitive; here each row is
run under ``vmap`` with every operand mapped over axis 0, axis 1 or not at all (``None``), and
compared with a loop over the examples stacked afterwards. Index arrays of gather and scatter
are ordinary operands in ``INDEXING_ROWS``, so that they are batched too.
"""
from __future__ import annotations

import dataclasses
import itertools
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from test_primitives import TABLE, real

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import ALL_PRIMITIVES
from funcgrad.ops import structural as st

BATCH = 5   # a size no example shape has, so a misplaced batch axis cannot pass unnoticed

# ------------------------------------------------------------------------------ indexing rows


@dataclasses.dataclass(frozen=True)
class IndexRow:
    """A gather, scatter or scatter_add whose index arrays are operands of the function."""

    prim: str
    variant: str
    fn: Callable
    shapes: tuple        # example shapes of (array[, updates], *index arrays)
    bounds: tuple        # per index array: the size of the axis it indexes
    updates: bool = False

    @property
    def label(self):
        return f"{self.prim}[{self.variant}]"


def _spec(*entries):
    return st.IndexSpec(entries)


ALL = ("slice", None, None, None)
A0, A1 = ("array", 0), ("array", 1)
# Index expressions on a (2, 3, 4) array, for each place NumPy can put the index block.
GATHER_SPECS = {
    "front": (_spec(A0), ((2,),), (2,)),
    "middle": (_spec(ALL, A0), ((2,),), (3,)),
    "separated": (_spec(A0, ALL, A1), ((2,), (1,)), (2, 4)),
    "int_separated": (_spec(1, ALL, A0), ((3,),), (4,)),
    "int_adjacent": (_spec(ALL, 1, A0), ((2, 2),), (4,)),
    "ellipsis": (_spec(Ellipsis, A0), ((3,),), (4,)),
    "newaxis_separated": (_spec(A0, None, A1), ((2,), (2,)), (2, 3)),
    "broadcast_middle": (_spec(None, ALL, A0, A1), ((2, 1), (3,)), (3, 4)),
}
ARRAY_SHAPE = (2, 3, 4)


def _target_shape(spec, index_shapes):
    dummy = np.zeros(ARRAY_SHAPE)
    return dummy[spec.build([np.zeros(s, np.int64) for s in index_shapes])].shape


def _indexing_rows():
    rows = []
    for name, (spec, index_shapes, bounds) in GATHER_SPECS.items():
        rows.append(IndexRow("gather", name, lambda x, *i, s=spec: st.gather(x, i, s),
                             (ARRAY_SHAPE,) + index_shapes, bounds))
        target = _target_shape(spec, index_shapes)
        for prim, op in (("scatter_add", st.scatter_add), ("scatter", st.scatter),
                         ("scatter_mul", st.scatter_mul), ("scatter_min", st.scatter_min),
                         ("scatter_max", st.scatter_max)):
            rows.append(IndexRow(prim, name, lambda x, u, *i, s=spec, op=op: op(x, u, i, s),
                                 (ARRAY_SHAPE, target) + index_shapes, bounds, True))
        # Updates of lower rank than the indexed region broadcast against it.
        rows.append(IndexRow("scatter_add", f"{name}_broadcast_updates",
                             lambda x, u, *i, s=spec: st.scatter_add(x, u, i, s),
                             (ARRAY_SHAPE, target[-1:]) + index_shapes, bounds, True))
    return rows


INDEXING_ROWS = _indexing_rows()


# ----------------------------------------------------------------------------- the cases

@dataclasses.dataclass(frozen=True)
class Case:
    label: str
    prim: str
    fn: Callable
    draws: tuple       # per operand: rng, shape -> example value
    shapes: tuple      # example shapes
    dtype: type


def _index_draw(bound, distinct):
    """Index values in [0, bound); for scatter without repeats, so that the winner of a
    repeated index is not the question."""
    def draw(rng, shape):
        size = int(np.prod(shape, dtype=np.int64))
        if distinct:
            return rng.permutation(bound)[:size].reshape(shape)
        return rng.integers(0, bound, shape)
    return draw


def _all_cases():
    cases = []
    for row in TABLE:
        for case_id, shapes in row.shape_cases():
            label = "-".join(p for p in (row.label, case_id) if p)
            cases.append(Case(label, row.prim, row.fn, row.domains, shapes, row.dtypes[0]))
    for row in INDEXING_ROWS:
        num_arrays = len(row.bounds)
        distinct = row.prim == "scatter"
        draws = (real,) * (len(row.shapes) - num_arrays) + tuple(
            _index_draw(bound, distinct) for bound in row.bounds)
        cases.append(Case(row.label, row.prim, row.fn, draws, row.shapes, np.float64))
    return cases


CASES = _all_cases()


def _axis_choices(shapes):
    """Every assignment of 0, 1 or None to the operands, with at least one mapped."""
    options = [(0, 1, None) if len(shape) >= 1 else (0, None) for shape in shapes]
    return [axes for axes in itertools.product(*options)
            if any(axis is not None for axis in axes)]


def _draw(case, axes, rng):
    args = []
    for draw, shape, axis in zip(case.draws, case.shapes, axes):
        def one(draw=draw, shape=shape):
            value = np.asarray(draw(rng, shape))
            return value if value.dtype.kind == "i" else value.astype(case.dtype)
        args.append(one() if axis is None else np.stack([one() for _ in range(BATCH)], axis))
    return args


def _loop(fn, args, axes):
    """The reference: ``fn`` example by example, results stacked on a new leading axis."""
    outs = []
    for b in range(BATCH):
        example = [a if axis is None else np.take(a, b, axis) for a, axis in zip(args, axes)]
        outs.append(np.asarray(fn(*example)))
    return np.stack(outs)


def _assert_same(got, want, what):
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=what)


# ---------------------------------------------------------------------- coverage of the table

@pytest.mark.parametrize("name", sorted(ALL_PRIMITIVES))
def test_every_primitive_has_a_batch_rule(name):
    assert ALL_PRIMITIVES[name].has_rule("batch"), (
        f"primitive '{name}' has no batch rule: give it one next to its other rules in "
        "funcgrad/ops, so that vmap, jacrev, jacfwd and hessian can vectorize it")


@pytest.mark.parametrize("name", sorted(ALL_PRIMITIVES))
def test_every_primitive_is_vmapped_by_a_case(name):
    assert any(case.prim == name for case in CASES), (
        f"primitive '{name}' has no row under vmap: add one to TABLE in "
        "tests/test_primitives.py (or to INDEXING_ROWS here)")


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_vmap_matches_a_loop_over_the_examples(case):
    rng = np.random.default_rng(zlib.crc32(case.label.encode()))
    for axes in _axis_choices(case.shapes):
        what = f"vmap of '{case.prim}' ({case.label}) with in_axes={axes}"
        args = _draw(case, axes, rng)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = _loop(case.fn, args, axes)
            got = fg.vmap(case.fn, in_axes=axes)(*args)
            ir = fg.make_ir(fg.vmap(case.fn, in_axes=axes))(*args)   # type-checks the IR
        _assert_same(got, want, what)
        # A product that sums nothing stays a product of elements when batched (a mul).
        expected = "mul" if case.label == "einsum[i,j->ij]" else case.prim
        assert expected in {eqn.primitive.name for eqn in ir.eqns}, f"{what}:\n{ir}"


# -------------------------------------------------------------------------- axes and shapes

def test_in_axes_negative_and_out_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    f = fg.vmap(lambda m: fnp.sum(m, axis=0), in_axes=-1)
    np.testing.assert_array_equal(f(x), x.sum(axis=0).T)
    g = fg.vmap(lambda m: m * 2.0, in_axes=1, out_axes=-1)
    np.testing.assert_array_equal(g(x), np.moveaxis(x, 1, -1) * 2.0)
    h = fg.vmap(lambda m: m[0], in_axes=2, out_axes=1)
    np.testing.assert_array_equal(h(x), x[0])


def test_unbatched_outputs_are_broadcast_unless_out_axes_is_none():
    x = np.arange(3.0)
    c = np.array([1.0, 2.0])
    value, same = fg.vmap(lambda v: (v * 2.0, c + 1.0))(x)
    np.testing.assert_array_equal(value, 2 * x)
    np.testing.assert_array_equal(same, np.broadcast_to(c + 1.0, (3, 2)))
    value, kept = fg.vmap(lambda v: (v * 2.0, c + 1.0), out_axes=(0, None))(x)
    np.testing.assert_array_equal(kept, c + 1.0)
    column = fg.vmap(lambda v: c, out_axes=1)(x)
    np.testing.assert_array_equal(column, np.broadcast_to(c[:, None], (2, 3)))


def test_axis_size_sizes_a_map_of_unmapped_arguments():
    c = np.array([1.0, 2.0])
    out = fg.vmap(lambda v: v * 2.0, in_axes=None, axis_size=3)(c)
    np.testing.assert_array_equal(out, np.broadcast_to(2 * c, (3, 2)))
    assert fg.vmap(lambda v: v * 2.0, in_axes=None, axis_size=0)(c).shape == (0, 2)
    # beside a mapped argument it must agree with it
    out = fg.vmap(lambda m, v: m + v, in_axes=(0, None), axis_size=2)(np.ones((2, 2)), c)
    np.testing.assert_array_equal(out, 1.0 + np.broadcast_to(c, (2, 2)))
    with pytest.raises(ValueError, match="axis_size is 3, but the mapped axes"):
        fg.vmap(lambda v: v, axis_size=3)(c)
    with pytest.raises(ValueError, match="axis_size="):
        fg.vmap(lambda v: v, in_axes=None)(c)
    with pytest.raises(TypeError, match="axis_size must be a non-negative int"):
        fg.vmap(lambda v: v, axis_size=2.0)


def test_in_axes_and_out_axes_pytrees():
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([[0.5, -0.5]] * 3)}
    xs = np.arange(6.0).reshape(3, 2)

    def layer(p, x):
        y = p["w"] @ x + p["b"]
        return {"y": y, "norm": fnp.sum(y * y)}

    out = fg.vmap(layer, in_axes=({"w": None, "b": 0}, 0), out_axes={"y": 1, "norm": 0})(
        params, xs)
    expected = [layer({"w": params["w"], "b": params["b"][i]}, xs[i]) for i in range(3)]
    np.testing.assert_allclose(out["y"], np.stack([e["y"] for e in expected], axis=1))
    np.testing.assert_allclose(out["norm"], [e["norm"] for e in expected])
    # A list of per-argument axes is accepted like a tuple; keywords are mapped over axis 0.
    np.testing.assert_allclose(fg.vmap(lambda a, *, s: a * s, in_axes=[None])(2.0, s=xs),
                               2.0 * xs)


def test_scalar_in_and_out():
    xs = np.array([0.1, 0.2, 0.3])
    out = fg.vmap(fnp.sin)(xs)
    np.testing.assert_allclose(out, np.sin(xs))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(fg.vmap(lambda x, y: x * y, in_axes=(0, None))(xs, 2.0), 2 * xs)


def test_an_unmapped_concrete_argument_reaches_the_function_as_given():
    # As in JAX: a Python int with in_axes None sizes arrays, picks branches and is a static
    # argument of a jit inside (it was traced, so each of these raised).
    xs = np.arange(3.0)
    tiled = fg.vmap(lambda x, n: fnp.ones(n) * x if n > 2 else x, in_axes=(0, None))(xs, 4)
    np.testing.assert_array_equal(tiled, np.outer(xs, np.ones(4)))
    power = fg.jit(lambda x, n: x ** n, static_argnums=1)
    np.testing.assert_allclose(fg.vmap(power, in_axes=(0, None))(xs, 3), xs ** 3)
    config = {"mode": "scale", "factor": 2.5}
    scaled = fg.vmap(lambda x, c: x * c["factor"] if c["mode"] == "scale" else x,
                     in_axes=(0, None))(xs.astype(np.float32), config)
    assert scaled.dtype == np.float32   # a Python float stays weak
    np.testing.assert_allclose(scaled, 2.5 * xs)
    # A traced unmapped argument (here the one grad differentiates) is still traced, and so
    # is an unmapped array: a NumPy table takes a mapped index and .at.
    assert fg.grad(lambda w: fnp.sum(fg.vmap(lambda x, w: x * w, in_axes=(0, None))(xs, w)))(
        2.0) == 3.0
    table = np.arange(12.0).reshape(4, 3)
    rows = np.array([0, 2])
    np.testing.assert_array_equal(fg.vmap(lambda i, t: t[i], in_axes=(0, None))(rows, table),
                                  table[rows])
    assert fg.vmap(lambda i, t: t.at[i].set(0.0), in_axes=(0, None))(rows, table).shape == (
        2, 4, 3)


def test_float32_stays_float32():
    xs = np.ones((3, 2), np.float32)
    assert fg.vmap(lambda x: fnp.exp(x) * 2.0)(xs).dtype == np.float32
    assert fg.vmap(fg.grad(lambda x: fnp.sum(x ** 2)))(xs).dtype == np.float32


# ----------------------------------------------------------------------------- compositions

def test_nested_vmap_is_an_outer_map():
    a, b = np.arange(3.0), np.arange(4.0)
    pairwise = fg.vmap(fg.vmap(lambda x, y: x * y + fnp.sin(x), in_axes=(None, 0)),
                       in_axes=(0, None))
    np.testing.assert_allclose(pairwise(a, b), a[:, None] * b[None, :] + np.sin(a)[:, None])
    m = np.arange(24.0).reshape(2, 3, 4)
    inner_on_axis_1 = fg.vmap(fg.vmap(lambda v: fnp.sum(v ** 2), in_axes=1), in_axes=2)
    np.testing.assert_allclose(inner_on_axis_1(m), (m ** 2).sum(axis=0).T)


def _loss(w, x, y):
    return (fnp.tanh(fnp.dot(x, w)) - y) ** 2


def test_vmap_of_grad_gives_per_example_gradients():
    rng = np.random.default_rng(0)
    w, xs, ys = rng.standard_normal(3), rng.standard_normal((6, 3)), rng.standard_normal(6)
    per_example = fg.vmap(fg.grad(_loss), in_axes=(None, 0, 0))(w, xs, ys)
    expected = np.stack([fg.grad(_loss)(w, x, y) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(per_example, expected, rtol=1e-12)
    # Per-example Hessians of a vmapped grad (vmap of jacfwd of grad).
    hessians = fg.vmap(fg.jacfwd(fg.grad(_loss)), in_axes=(None, 0, 0))(w, xs, ys)
    expected = np.stack([fg.hessian(_loss)(w, x, y) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(hessians, expected, rtol=1e-10, atol=1e-12)


def test_grad_of_vmap_and_jvp_of_vmap():
    rng = np.random.default_rng(1)
    w, xs, ys = rng.standard_normal(3), rng.standard_normal((6, 3)), rng.standard_normal(6)

    def total(w):
        return fnp.sum(fg.vmap(_loss, in_axes=(None, 0, 0))(w, xs, ys))

    expected = sum(fg.grad(_loss)(w, x, y) for x, y in zip(xs, ys))
    np.testing.assert_allclose(fg.grad(total)(w), expected, rtol=1e-12)
    fg.check_grads(total, (w,), order=2)
    v = rng.standard_normal(3)
    _, tangent = fg.jvp(fg.vmap(_loss, in_axes=(None, 0, 0)), (w, xs, ys),
                        (v, np.zeros_like(xs), np.zeros_like(ys)))
    expected = [fg.jvp(_loss, (w, x, y), (v, np.zeros(3), 0.0))[1] for x, y in zip(xs, ys)]
    np.testing.assert_allclose(tangent, expected, rtol=1e-12)


def test_closure_over_a_traced_value_is_unbatched():
    def outer(s):
        return fnp.sum(fg.vmap(lambda x: x * s)(np.arange(3.0)))

    assert fg.grad(outer)(2.0) == 3.0


def test_retain_grad_under_vmap():
    def f(x):
        h = fg.retain_grad(fg.vmap(lambda r: r * 2.0)(x), "h")
        return fnp.sum(h ** 2)

    x = np.arange(6.0).reshape(2, 3)
    g, retained = fg.grad(f, retained=True)(x)
    np.testing.assert_allclose(retained["h"], 4 * x)
    np.testing.assert_allclose(g, 8 * x)


def test_jit_of_vmap_and_vmap_of_jit():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3))
    xs, indices = rng.standard_normal((5, 3)), rng.integers(0, 4, (5, 2))

    def f(x, i):
        h = fnp.tanh(a @ x)
        return fnp.sum(h * h) + h[i] @ x[:2]     # a batched index array reaches a gather

    per_example = fg.vmap(fg.value_and_grad(f))
    expected = [fg.value_and_grad(f)(x, i) for x, i in zip(xs, indices)]
    values, grads = fg.jit(per_example).compile(xs, indices)(xs, indices)   # one compile
    np.testing.assert_allclose(values, [v for v, _ in expected], rtol=1e-12)
    np.testing.assert_allclose(grads, np.stack([g for _, g in expected]), rtol=1e-12)
    # Inside vmap, a jitted function is traced through (no compile).
    np.testing.assert_allclose(fg.vmap(fg.jit(f))(xs, indices), values, rtol=1e-12)


# ------------------------------------------------------------------------------ Jacobians

def test_batched_jacobians_match_the_definitions():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(3), rng.standard_normal((2, 2))

    def f(x, y):
        return {"a": fnp.sin(x) * fnp.sum(y), "b": y @ y * x[0]}

    rows = fg.jacrev(f, argnums=(0, 1))(x, y)
    cols = fg.jacfwd(f, argnums=(0, 1))(x, y)
    assert rows["a"][0].shape == (3, 3) and rows["b"][1].shape == (2, 2, 2, 2)
    for key in ("a", "b"):
        for j in range(2):
            np.testing.assert_allclose(rows[key][j], cols[key][j], rtol=1e-12, atol=1e-14)
    # Column by column with jvp, the definition.
    for index in range(3):
        basis = np.zeros(3)
        basis[index] = 1.0
        _, tangent = fg.jvp(lambda v: f(v, y), (x,), (basis,))
        np.testing.assert_allclose(cols["b"][0][..., index], tangent["b"], atol=1e-14)


def test_hessian_is_a_handful_of_equations_independent_of_size():
    counts = []
    for n in (10, 100):
        a = np.random.default_rng(4).standard_normal((n, n)) / 10

        def f(x, a=a):
            return fnp.sum(fnp.tanh(a @ x))

        x = np.linspace(-1.0, 1.0, n)
        hessian = fg.hessian(f)(x)
        t = np.tanh(a @ x)
        np.testing.assert_allclose(hessian, (a.T * (-2 * t * (1 - t * t))) @ a, atol=1e-13)
        counts.append(len(fg.make_ir(fg.hessian(f))(x).eqns))
    assert counts[0] == counts[1] < 40, counts


# ----------------------------------------------------------------------------------- errors

def test_inconsistent_batch_sizes_name_the_arguments():
    def f(x, y):
        return x + y

    with pytest.raises(ValueError, match=r"(?s)argument 0 \('x'\).*size 3.*argument 1 "
                       r"\('y'\).*size 4"):
        fg.vmap(f)(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"\['b'\].*size 2"):
        fg.vmap(lambda p: p["a"] + p["b"][0])({"a": np.zeros(3), "b": np.zeros((2, 3))})


def test_axis_out_of_range():
    with pytest.raises(ValueError, match=r"argument 0 \('x'\) over axis 2.*shape \(3, 4\)"):
        fg.vmap(lambda x: x, in_axes=2)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="a scalar has no axis"):
        fg.vmap(lambda x, y: x * y)(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="out_axes maps the output over axis 3"):
        fg.vmap(lambda x: x, out_axes=3)(np.zeros((3, 4)))


def test_bad_axis_specifications():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="in_axes has 1 entries.*2 positional"):
        fg.vmap(lambda a, b: a, in_axes=(0,))(x, x)
    with pytest.raises(ValueError, match="no axis to map over"):
        fg.vmap(lambda a: a, in_axes=None)(x)
    with pytest.raises(ValueError, match="do not match its structure"):
        fg.vmap(lambda p: p["a"], in_axes=({"a": 0, "c": 0},))({"a": x, "b": x})
    with pytest.raises(TypeError, match="in_axes must be"):
        fg.vmap(lambda a: a, in_axes="0")(x)
    with pytest.raises(TypeError, match="an axis is an int or None"):
        fg.vmap(lambda a: a, in_axes=(1.5,))(x)
    with pytest.raises(ValueError, match="out_axes is None for the output"):
        fg.vmap(lambda a: a * 2.0, out_axes=None)(x)


def test_python_control_flow_on_a_mapped_value_is_a_concretization_error():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(fg.ConcretizationError, match="test_vmap.py"):
        fg.vmap(f)(np.array([1.0, -1.0]))
