"""Traceable control flow: ``fg.cond``, ``fg.scan``, ``fg.fori_loop`` and ``fg.while_loop``.

Values against plain Python loops and branches; derivatives against central differences (to
second order, both modes) and closed forms; ``vmap`` against a loop over the examples; ``jit``
against eager evaluation; and the errors. The primitive table (tests/test_primitives.py, rows
in tests/control_reference.py) checks every rule of ``cond``, ``scan`` and ``while`` too.
"""
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import count_eqns

RNG = np.random.default_rng(7)
X3 = RNG.normal(size=3)
Y3 = RNG.normal(size=3)


def _branchy(x, y):
    """Traced predicate, pytree operands and outputs, and a closure over ``y``."""
    def true_fun(ops):
        a, b = ops
        return {"p": fnp.sin(a) * b, "q": fnp.sum(a * y)}

    def false_fun(ops):
        a, b = ops
        return {"p": fnp.exp(a) - b * a, "q": fnp.sum(a) ** 2}

    return fg.cond(fnp.sum(x) > 0, true_fun, false_fun, (x, y))


def _branchy_reference(x, y):
    if np.sum(x) > 0:
        return {"p": np.sin(x) * y, "q": np.sum(x * y)}
    return {"p": np.exp(x) - y * x, "q": np.sum(x) ** 2}


def _loss(x, y):
    out = _branchy(x, y)
    return fnp.sum(out["p"] ** 2) + out["q"]


def _rnn(h0, xs, w):
    """A scan with a pytree carry (one part an integer counter), pytree xs and ys."""
    def step(carry, x):
        h, count, total = carry
        h = fnp.tanh(h * w + x["u"] * 0.5) + 0.1 * x["v"]
        return (h, count + 1, total + fnp.sum(h)), {"h": h, "sq": h * h}

    (h, count, total), ys = fg.scan(step, (h0, 0, 0.0), xs)
    return h, count, total, ys


def _rnn_reference(h0, xs, w):
    h, count, total, hs = h0, 0, 0.0, []
    for u, v in zip(xs["u"], xs["v"]):
        h = np.tanh(h * w + u * 0.5) + 0.1 * v
        count, total = count + 1, total + np.sum(h)
        hs.append(h)
    hs = np.stack(hs)
    return h, count, total, {"h": hs, "sq": hs * hs}


def _rnn_loss(h0, xs, w):
    h, _, total, ys = _rnn(h0, xs, w)
    return fnp.sum(h) + total + fnp.sum(ys["sq"])


H0 = RNG.normal(size=2)
XS = {"u": RNG.normal(size=(4, 2)), "v": RNG.normal(size=(4, 2))}


# ------------------------------------------------------------------------------------ values

@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["true", "false"])
def test_cond_values_traced_and_eager(sign):
    x = sign * np.abs(X3)
    want = _branchy_reference(x, Y3)
    for got in (_branchy(x, Y3), fg.jit(_branchy)(x, Y3),
                fg.vjp(_branchy, x, Y3)[0], fg.jvp(_branchy, (x, Y3), (X3, Y3))[0]):
        np.testing.assert_allclose(got["p"], want["p"], rtol=1e-13)
        np.testing.assert_allclose(got["q"], want["q"], rtol=1e-13)


def test_concrete_predicate_calls_the_branch_in_python():
    ir = fg.make_ir(lambda x: fg.cond(True, fnp.sin, fnp.cos, x))(0.5)
    assert count_eqns(ir) == {"sin": 1}
    ir = fg.make_ir(lambda x: fg.cond(x > 0, fnp.sin, fnp.cos, x))(0.5)
    assert count_eqns(ir) == {"gt": 1, "cond": 1}


def test_scan_values_with_pytrees():
    got, want = _rnn(H0, XS, 0.8), _rnn_reference(H0, XS, 0.8)
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    assert type(got[1]) is fg.Array and got[1].dtype == np.int64 and got[1] == 4


def test_scan_reverse_length_and_empty():
    xs = np.arange(1.0, 5.0)
    carry, ys = fg.scan(lambda c, x: (c * 10 + x, c), 0.0, xs, reverse=True)
    assert carry == 4321.0
    np.testing.assert_array_equal(ys, [432.0, 43.0, 4.0, 0.0])   # the carry entering each step
    carry, ys = fg.scan(lambda c, _: (c * 2.0, c), 1.0, None, length=4)
    assert carry == 16.0 and list(ys) == [1.0, 2.0, 4.0, 8.0]
    carry, ys = fg.scan(lambda c, x: (c + fnp.sum(x), x * 2), 1.5, np.zeros((0, 3)))
    assert carry == 1.5 and ys.shape == (0, 3)
    assert fg.scan(lambda c, x: (c, None), (), xs) == ((), None)


def test_fori_loop_and_while_loop_values():
    def polynomial(x):   # Horner: 1 + 2x + 3x^2 + 4x^3
        coefficients = np.array([4.0, 3.0, 2.0, 1.0])
        return fg.fori_loop(0, 4, lambda i, acc: acc * x + fnp.take(coefficients, i), 0.0)

    assert polynomial(2.0) == 1 + 4 + 12 + 32
    assert fg.jit(polynomial)(2.0) == 49.0
    assert fg.fori_loop(3, 1, lambda i, v: v + i, 7) == 7   # an empty range

    def collatz_steps(n):
        def body(state):
            k, steps = state
            return fnp.where(k % 2 == 0, k // 2, 3 * k + 1), steps + 1
        return fg.while_loop(lambda state: state[0] != 1, body, (n, 0))[1]

    assert collatz_steps(27) == 111
    assert fg.jit(collatz_steps)(np.int64(27)) == 111


# ------------------------------------------------------------------------------ derivatives

@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["true", "false"])
def test_cond_check_grads_order_two(sign):
    fg.check_grads(_loss, (sign * np.abs(X3), Y3), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["true", "false"])
def test_grad_through_a_traced_predicate_takes_the_chosen_branch(sign):
    x = sign * np.abs(X3)
    gx, gy = fg.grad(_loss, argnums=(0, 1))(x, Y3)
    if sign > 0:   # sum((sin x * y)^2) + sum(x * y)
        want_x = 2 * np.sin(x) * np.cos(x) * Y3 ** 2 + Y3
        want_y = 2 * np.sin(x) ** 2 * Y3 + x
    else:          # sum((exp x - y x)^2) + sum(x)^2
        residual = np.exp(x) - Y3 * x
        want_x = 2 * residual * (np.exp(x) - Y3) + 2 * np.sum(x)
        want_y = -2 * residual * x
    np.testing.assert_allclose(gx, want_x, rtol=1e-12)
    np.testing.assert_allclose(gy, want_y, rtol=1e-12)


def test_scan_check_grads_order_two():
    fg.check_grads(_rnn_loss, (H0, XS, 0.8), order=2, modes=("fwd", "rev"))
    fg.check_grads(lambda c, xs: fg.scan(lambda c, x: (fnp.sin(c) * x, c * x), c, xs,
                                         reverse=True)[1], (0.3, np.linspace(0.5, 1.5, 4)),
                   order=2)


def test_fori_loop_check_grads_order_two_and_closed_form():
    def power(x, w):   # x * w^4, with cond inside the loop on the loop index
        def body(i, acc):
            return fg.cond(i % 2 == 0, lambda a: a * w, lambda a: w * a, acc)
        return fg.fori_loop(0, 4, body, x)

    fg.check_grads(power, (0.7, 1.3), order=2, modes=("fwd", "rev"))
    second = fg.grad(fg.grad(power, argnums=1), argnums=1)(0.7, 1.3)
    np.testing.assert_allclose(second, 0.7 * 12 * 1.3 ** 2, rtol=1e-13)


def test_grad_of_a_cumulative_product_scan_matches_the_closed_form():
    xs = np.array([0.5, 1.5, -2.0, 0.8, 1.2])

    def product(xs):
        final, cumulative = fg.scan(lambda c, x: (c * x, c * x), 1.0, xs)
        return final + 0.5 * fnp.sum(cumulative)

    # d/dx_i prod(x) = prod / x_i; d/dx_i sum_k prod(x_0..x_k) = sum_{k >= i} prefix_k / x_i
    prefixes = np.cumprod(xs)
    want = np.prod(xs) / xs + 0.5 * np.cumsum(prefixes[::-1])[::-1] / xs
    np.testing.assert_allclose(fg.grad(product)(xs), want, rtol=1e-13)
    np.testing.assert_allclose(fg.jacfwd(product)(xs), want, rtol=1e-13)
    hessian = fg.hessian(lambda xs: fg.scan(lambda c, x: (c * x, None), 1.0, xs)[0])(xs)
    want = np.prod(xs) / np.outer(xs, xs)
    np.fill_diagonal(want, 0.0)
    np.testing.assert_allclose(hessian, want, rtol=1e-12, atol=1e-14)


def test_scan_closing_over_a_differentiated_value():
    xs = np.array([1.0, -2.0, 0.5])

    def final(w):   # c_{k+1} = w c_k + x_k from 0: sum_k w^(n-1-k) x_k
        return fg.scan(lambda c, x: (c * w + x, None), 0.0, xs)[0]

    w = 1.7
    np.testing.assert_allclose(fg.grad(final)(w), 2 * w * xs[0] + xs[1], rtol=1e-13)
    np.testing.assert_allclose(fg.grad(fg.grad(final))(w), 2 * xs[0], rtol=1e-13)


def test_float32_stays_float32_through_scan_derivatives():
    xs = np.linspace(0.5, 1.0, 3).astype(np.float32)

    def f(c):
        return fg.scan(lambda c, x: (c * fnp.sin(x) + x, c), c, xs)[0]

    c = np.float32(0.3)
    assert f(c).dtype == np.float32
    assert fg.grad(f)(c).dtype == np.float32
    assert fg.grad(fg.grad(f))(c).dtype == np.float32


def _newton_sqrt(a):
    def body(state):
        (x,) = state
        return (0.5 * (x + a / x),)
    return fg.while_loop(lambda state: fnp.abs(state[0] * state[0] - a) > 1e-12, body, (a,))[0]


def _growth(x, limit=10.0):
    """A loop whose trip count depends on the input: x grows by half until the sum of its
    iterates reaches ``limit``."""
    return fg.while_loop(lambda c: c[1] < limit, lambda c: (c[0] * 1.5, c[1] + c[0]),
                         (x, 0.0))[1]


def _growth_fori(x, trips):
    return fg.fori_loop(0, trips, lambda i, c: (c[0] * 1.5, c[1] + c[0]), (x, 0.0))[1]


def test_while_loop_in_both_modes():
    def f(x):
        def body(state):
            n, y = state
            return n + 1, fnp.sin(y) * 1.5
        return fg.while_loop(lambda state: state[0] < 4, body, (0, x))[1]

    fg.check_grads(f, (X3,), order=2, modes=("fwd", "rev"))
    assert fg.jacfwd(f)(X3).shape == (3, 3)
    np.testing.assert_allclose(fg.jacrev(f)(X3), fg.jacfwd(f)(X3), rtol=1e-13)


def test_while_loop_reverse_mode_matches_fori_loop_and_central_differences():
    for a in (2.0, 0.3):
        assert fg.grad(_newton_sqrt)(a) == pytest.approx(0.5 / np.sqrt(a), rel=1e-10)
        assert fg.hessian(_newton_sqrt)(a) == pytest.approx(-0.25 * a ** -1.5, rel=1e-7)
    fg.check_grads(_newton_sqrt, (2.0,), order=2)
    x = 1.0     # 1 + 1.5 + 2.25 + 3.375 + 5.06 > 10: five trips
    trips = 5
    assert _growth(x) == pytest.approx(float(_growth_fori(x, trips)))
    assert fg.grad(_growth)(x) == pytest.approx(fg.grad(_growth_fori)(x, trips))
    assert fg.hessian(_growth)(x) == pytest.approx(
        fg.hessian(lambda v: _growth_fori(v, trips))(x), abs=1e-12)
    out, pullback = fg.vjp(_growth, x)
    assert pullback(2.0)[0] == pytest.approx(2.0 * sum(1.5 ** k for k in range(trips)))
    fg.check_grads(_growth, (x,), order=2)
    fg.check_grads(_growth, (0.4,), order=2)   # another input, another trip count


def _trips_of_growth(x, limit=10.0):
    trips, total = 0, 0.0
    while total < limit:
        x, total, trips = x * 1.5, total + x, trips + 1
    return trips


def _fourth_root(x):
    """A while_loop inside another loop's body: two Newton square roots."""
    return fg.fori_loop(0, 2, lambda i, c: _newton_sqrt(c), x)


def test_while_loop_reverse_mode_where_the_trip_count_is_known_only_at_run_time():
    """Under jit, vmap or inside another loop's body, the trips are counted when the program
    runs (a host_call): the same derivatives as eagerly, to every order, on every tier."""
    grad = fg.jit(fg.grad(_newton_sqrt))
    hessian = fg.jit(fg.hessian(_newton_sqrt))
    third = fg.jit(fg.grad(fg.grad(fg.grad(_newton_sqrt))))
    for a in (2.0, 0.3):
        assert grad(a) == pytest.approx(0.5 / np.sqrt(a), rel=1e-10)
        assert hessian(a) == pytest.approx(-0.25 * a ** -1.5, rel=1e-7)
        assert third(a) == pytest.approx(0.375 * a ** -2.5, rel=1e-6)
    native = fg.jit(fg.grad(_growth)).compile(1.0)
    for x in (1.0, 0.4, 3.0):   # five, seven and two trips
        trips = _trips_of_growth(x)
        assert native(x) == pytest.approx(fg.grad(_growth_fori)(x, trips))
    pulled = fg.jit(lambda x, ct: fg.vjp(_growth, x)[1](ct))(1.0, 2.0)
    assert pulled[0] == pytest.approx(2.0 * sum(1.5 ** k for k in range(5)))

    xs = np.array([2.0, 3.0, 0.5])
    np.testing.assert_allclose(fg.vmap(fg.grad(_newton_sqrt))(xs), 0.5 / np.sqrt(xs),
                               rtol=1e-10)
    starts = np.array([1.0, 0.4, 3.0])
    np.testing.assert_allclose(fg.jit(fg.vmap(fg.grad(_growth)))(starts),
                               [fg.grad(_growth)(x) for x in starts], rtol=1e-13)
    np.testing.assert_allclose(fg.vmap(fg.hessian(_growth))(starts),
                               [fg.hessian(_growth)(x) for x in starts], rtol=1e-13)

    for fourth_root_grad in (fg.grad(_fourth_root), fg.jit(fg.grad(_fourth_root))):
        assert fourth_root_grad(16.0) == pytest.approx(0.25 * 16.0 ** -0.75, rel=1e-10)
    fg.check_grads(_fourth_root, (16.0,), order=2)

    def vector_loop(x):   # a vector carry: jacrev (one pullback per row) against jacfwd
        return fg.while_loop(lambda c: fnp.sum(c[1]) < 6.0,
                             lambda c: (c[0] * 1.5, c[1] + c[0] * c[0]), (x, fnp.zeros(3)))[1]
    x3 = np.array([0.5, 0.8, 1.1])
    np.testing.assert_allclose(fg.jit(fg.jacrev(vector_loop))(x3), fg.jacfwd(vector_loop)(x3),
                               rtol=1e-12)
    # jacfwd maps a jvp over the tangent basis: the host_call's primal outputs must stay one
    # value (they came out batched: "out_axes is None for output[0][0], but it depends on
    # the mapped inputs")
    def squares(x):
        return fnp.sum(vector_loop(x) ** 2)
    np.testing.assert_allclose(fg.jit(fg.hessian(squares))(x3), fg.hessian(squares)(x3),
                               rtol=1e-10)


# ------------------------------------------------------------------------------------- vmap

def _loop_over(fn, *args):
    outs = [fn(*example) for example in zip(*args)]
    return fg.tree.map(lambda *leaves: np.stack(leaves), *outs)


def test_vmap_cond_with_a_batched_predicate():
    xs = RNG.normal(size=(6, 3))
    xs[:3] = np.abs(xs[:3])
    xs[3:] = -np.abs(xs[3:])
    ys = RNG.normal(size=(6, 3))
    got, want = fg.vmap(_branchy)(xs, ys), _loop_over(_branchy_reference, xs, ys)
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    # a batch that takes one branch only: the other branch's cond is skipped, same values
    got = fg.vmap(_branchy)(xs[:3], ys[:3])
    np.testing.assert_allclose(got["p"], _loop_over(_branchy_reference, xs[:3], ys[:3])["p"])
    # per-example gradients through the batched predicate
    grads = fg.vmap(fg.grad(_loss))(xs, ys)
    np.testing.assert_allclose(grads, _loop_over(fg.grad(_loss), xs, ys), rtol=1e-13)


def test_vmap_cond_with_a_shared_predicate_keeps_unbatched_outputs():
    def f(p, x):
        return fg.cond(p > 0, lambda x: (x * 2, p), lambda x: (x - 1, -p), x)

    xs = RNG.normal(size=(5, 2))
    out, shared = fg.vmap(f, in_axes=(None, 0), out_axes=(0, None))(1.5, xs)
    np.testing.assert_allclose(out, xs * 2)
    assert shared == 1.5


def test_vmap_scan_and_while_loop():
    h0s, ws = RNG.normal(size=(5, 2)), np.linspace(0.5, 1.0, 5)
    xs = {"u": RNG.normal(size=(4, 5, 2)), "v": RNG.normal(size=(4, 2))}
    got = fg.vmap(_rnn, in_axes=(0, {"u": 1, "v": None}, 0))(h0s, xs, ws)
    for b in range(5):
        want = _rnn_reference(h0s[b], {"u": xs["u"][:, b], "v": xs["v"]}, ws[b])
        for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
            np.testing.assert_allclose(g[b], w, rtol=1e-13)

    def doublings(x, limit):   # the predicate differs between examples
        return fg.while_loop(lambda s: s[1] < limit, lambda s: (s[0] + 1, s[1] * 2), (0, x))

    counts, values = fg.vmap(doublings)(np.array([1.0, 3.0, 20.0]), np.array([3.0, 10.0, 5.0]))
    np.testing.assert_array_equal(counts, [2, 2, 0])
    np.testing.assert_array_equal(values, [4.0, 12.0, 20.0])


# -------------------------------------------------------------------------------------- jit

def test_jit_equals_eager_for_values_and_gradients():
    """One compiled program: cond, scan, fori_loop and while_loop, and reverse-mode
    derivatives through the first three."""
    def program(x, y, h0, xs, w):
        loss = _loss(x, y) + _rnn_loss(h0, xs, w)
        steps = fg.while_loop(lambda n: n * w < 5.0, lambda n: n + 1.0, 0.0)
        looped = fg.fori_loop(0, 3, lambda i, v: fnp.sin(v) + w, w)
        return loss, fg.grad(_loss, argnums=(0, 1))(x, y), fg.grad(_rnn_loss, (0, 1, 2))(
            h0, xs, w), steps, looped, fg.grad(lambda w: fg.fori_loop(
                0, 3, lambda i, v: fnp.sin(v) + w, w))(w)

    args = (X3, Y3, H0, XS, 0.8)
    eager = program(*args)
    compiled = fg.jit(program).compile(*args)(*args)
    for got, want in zip(fg.tree.leaves(compiled), fg.tree.leaves(eager)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


# ----------------------------------------------------------------------- IR and its printer

def test_the_ir_prints_sub_programs_under_their_equation():
    ir = fg.make_ir(lambda x: fg.cond(x > 0, fnp.sin, lambda x: x * 2.0, x))(1.0)
    assert str(ir) == (
        "{ lambda ; a:f64[]. let\n"
        "    b:bool[] = gt a 0.0\n"
        "    c:f64[] = cond[\n"
        "      false_branch={ lambda ; a:f64[]. let\n"
        "          b:f64[] = mul a 2.0\n"
        "        in (b,) }\n"
        "      true_branch={ lambda ; a:f64[]. let\n"
        "          b:f64[] = sin a\n"
        "        in (b,) }\n"
        "    ] b a\n"
        "  in (c,) }")
    # nested derivative programs type-check, sub-programs included
    fg.make_ir(fg.grad(fg.grad(lambda x: fg.scan(lambda c, x: (fnp.sin(c) * x, c), x,
                                                  np.ones(3))[0])))(0.5)


# ----------------------------------------------------------------------------------- errors

def test_branches_that_disagree_are_a_type_error_showing_both():
    with pytest.raises(TypeError, match=r"(?s)true_fun returned  \(f64\[3\], f64\[\]\).*"
                                        r"false_fun returned \(f64\[3\], f32\[\]\)"):
        # (under jit the predicate is traced: eagerly, a comparison is a number)
        fg.jit(fg.grad(lambda x: fg.cond(x[0] > 0, lambda x: (x, x[0]),
                                         lambda x: (x, x[0].astype(np.float32)), x)[1]))(X3)
    with pytest.raises(TypeError, match=r"(?s)true_fun returned  f64\[3\].*"
                                        r"false_fun returned \[f64\[3\]\]"):
        fg.jit(lambda x: fg.cond(x[0] > 0, lambda x: x, lambda x: [x], x))(X3)


def test_traced_fori_loop_bounds_run_a_while_loop():
    # JAX semantics: a bound that is an argument of jit (or batched by vmap) is a while_loop,
    # here differentiable in reverse mode too; d/dx of x * 2**(n - lo) is 2**(n - lo).
    def power(x, lo, n):
        return fg.fori_loop(lo, n, lambda i, v: v * 2.0 + fnp.sin(v) * 0.0, x)

    jitted = fg.jit(power)
    for lo, n in ((0, 3), (1, 3), (0, 0), (2, 1), (np.int32(0), np.int32(4))):
        assert jitted(1.5, lo, n) == 1.5 * 2.0 ** max(int(n) - int(lo), 0)
        assert fg.jit(fg.grad(power))(1.5, lo, n) == 2.0 ** max(int(n) - int(lo), 0)
    np.testing.assert_array_equal(fg.vmap(power, in_axes=(None, None, 0))(1.0, 0,
                                                                          np.array([0, 2, 3])),
                                  [1.0, 4.0, 8.0])
    assert fg.grad(lambda x: power(x, 0, fnp.argmax(np.array([0, 1, 5]))))(1.0) == 4.0
    with pytest.raises(TypeError, match=r"(?s)fg\.fori_loop: the upper bound must be an "
                                        r"integer scalar.*test_control\.py"):
        fg.jit(power)(1.0, 0, 2.0)
    with pytest.raises(TypeError, match=r"(?s)fg\.fori_loop: the upper bound must be an int, "
                                        r"got 2\.5 of type float.*test_control\.py"):
        power(1.0, 0, 2.5)   # was Python's bare "'float' object cannot be interpreted..."
    # a static bound is the scan, as before
    assert fg.jit(power, static_argnums=(1, 2))(1.0, 0, 3) == 8.0


def test_scan_errors():
    xs = np.ones(3)
    with pytest.raises(TypeError, match=r"(?s)same shapes and dtypes as init.*init is +"
                                        r"i64\[\].*returned carry +f64\[\]"):
        fg.scan(lambda c, x: (c + x, x), 0, xs)
    with pytest.raises(TypeError, match="must return a pair"):
        fg.scan(lambda c, x: c + x, 0.0, xs)
    with pytest.raises(ValueError, match="same size"):
        fg.scan(lambda c, x: (c, x), 0.0, (xs, np.ones(4)))
    with pytest.raises(ValueError, match="length="):
        fg.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(TypeError, match=r"while_loop: body_fun must return"):
        fg.while_loop(lambda c: c < 3, lambda c: c + 1.0, 0)
