"""The IR: its printed form (snapshots, like jaxpr doctests), its checker, and constants."""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import IR, Eqn, IRTypeError, Var, typecheck
from funcgrad.core.aval import ShapedArray


def seed(x, y):
    return y * fnp.log(x) + fnp.sin(y)


def test_make_ir_prints_like_a_jaxpr():
    assert str(fg.make_ir(seed)(2.0, 3.0)) == (
        "{ lambda ; a:f64[] b:f64[]. let\n"
        "    c:f64[] = log a\n"
        "    d:f64[] = mul b c\n"
        "    e:f64[] = sin b\n"
        "    f:f64[] = add d e\n"
        "  in (f,) }")


def test_ir_of_a_gradient_is_another_ir():
    ir = fg.make_ir(fg.grad(seed, argnums=(0, 1)))(2.0, 3.0)
    text = str(ir)
    assert text.startswith("{ lambda ; a:f64[] b:f64[]. let")
    assert "cos b" in text and "div 1.0 a" in text
    assert len(ir.outvars) == 2
    typecheck(ir)


def test_params_constants_and_float32_in_the_printout():
    w = np.arange(6.0, dtype=np.float32).reshape(2, 3)

    def f(x):
        return fnp.sum(fnp.matmul(w, x), axis=0)

    text = str(fg.make_ir(f)(np.ones((3, 4), np.float32)))
    assert text.startswith("{ lambda a:f32[2,3] ; b:f32[3,4]. let")
    assert "reduce_sum[axes=(0,)]" in text and "einsum[spec=xy,yz->xz]" in text


def test_static_argnums():
    ir = fg.make_ir(lambda x, n: x ** n, static_argnums=1)(2.0, 3)
    assert "integer_pow[y=3] a" in str(ir)


def test_typecheck_rejects_malformed_programs():
    from funcgrad.ops.elementwise import add_p, sin

    a = Var(ShapedArray((), np.float64))
    b = Var(ShapedArray((3,), np.float64))
    c = Var(ShapedArray((), np.float64))
    good = IR([], [], [a], [Eqn(sin.primitive, [a], [c], {})], [c])
    typecheck(good)
    with pytest.raises(IRTypeError, match="before it is defined"):
        typecheck(IR([], [], [a], [Eqn(sin.primitive, [b], [c], {})], [c]))
    with pytest.raises(IRTypeError, match="defined twice"):
        typecheck(IR([], [], [a], [Eqn(sin.primitive, [a], [a], {})], [a]))
    wrong_type = Var(ShapedArray((), np.float32))
    with pytest.raises(IRTypeError, match="shape rule gives"):
        typecheck(IR([], [], [a], [Eqn(add_p, [a, a], [wrong_type], {})], [wrong_type]))


def test_constant_folding_keeps_concrete_work_out_of_the_ir():
    def f(x):
        scale = fnp.exp(np.float64(0.0)) * 2.0   # concrete: computed while tracing
        return x * scale

    ir = fg.make_ir(f)(1.0)
    assert [e.primitive.name for e in ir.eqns] == ["mul"]


def test_nested_transform_records_outer_levels_only():
    ir = fg.make_ir(fg.grad(fg.grad(lambda x: fnp.sin(x) * x)))(0.3)
    typecheck(ir)
    assert all(isinstance(v, Var) for v in ir.invars)
