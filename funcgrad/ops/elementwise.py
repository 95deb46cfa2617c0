"""Elementwise primitives: each one's impl, shape rule and derivative, side by side.

Binary primitives take operands of one dtype and broadcast them as NumPy does; their reverse
rules sum cotangents back to each operand's shape with ``unbroadcast``. A derivative is given
once, as a function of ``(x, ans)`` (unary) or ``(x, y, ans)`` (binary) built from these same
operations, and both the forward and the reverse rule are made from it. A smooth primitive's
Taylor rule (``jet``) is given beside it as a function of its operands' series
(``funcgrad.ops.taylor``); linear and flat ones get theirs from their kind.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from ..core.aval import ShapedArray, is_differentiable
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import structural
from . import taylor as ts

# --------------------------------------------------------------------------------- shape rules


def _broadcast_shapes(*shapes):
    """NumPy's broadcast of ``shapes`` (tuples), without ``np.broadcast_shapes``, which makes
    arrays to find it (3 us: a fifth of an eager equation's cost)."""
    out = shapes[0]
    for shape in shapes[1:]:
        if shape == out or not shape:
            continue
        if not out:
            out = shape
            continue
        longer, shorter = (out, shape) if len(out) >= len(shape) else (shape, out)
        offset = len(longer) - len(shorter)
        merged = list(longer)
        for i, size in enumerate(shorter):
            other = merged[offset + i]
            if size != other:
                if other == 1:
                    merged[offset + i] = size
                elif size != 1:
                    raise ShapeError("shapes " + " and ".join(str(tuple(s)) for s in shapes)
                                     + " cannot be broadcast together")
        out = tuple(merged)
    return out


def _same_dtype(*avals):
    dtype = avals[0].dtype
    for aval in avals[1:]:
        if aval.dtype != dtype:
            raise ShapeError(f"dtypes {dtype.name} and {aval.dtype.name} differ (operands of "
                             "one primitive share a dtype; cast one with .astype)")
    return dtype


def _unary_shape(x, **params):
    return x


def _binary_shape(x, y):
    if x.dtype is y.dtype and x.shape == y.shape:   # the common case, checked first
        return x
    return ShapedArray(_broadcast_shapes(x.shape, y.shape), _same_dtype(x, y))


def _compare_shape(x, y):
    _same_dtype(x, y)
    return ShapedArray(_broadcast_shapes(x.shape, y.shape), np.bool_)


def _as_operand_of(value, like):
    """A Python number in a rule becomes a NumPy scalar of its partner's dtype."""
    if isinstance(value, (int, float, bool)):
        return like.dtype.type(value)
    return value


def zeros_like(x):
    return structural._zeros_like(x)


def full_like(x, value):
    return np.full(np.shape(x), value, x.dtype)


def scalar_like(x, value):
    """``value`` as a NumPy scalar of ``x``'s dtype: it broadcasts, and traces as a literal."""
    return x.dtype.type(value)


# ------------------------------------------------------------------------------- batching

def align_batch_axes(args, dims):
    """The operands of an elementwise primitive with their batch axes lined up, and the
    result's batch axis: ``(args, out_dim)``.

    NumPy broadcasts from the right, so an unbatched operand of lower rank must not be paired
    with the batch axis. When all batched operands share one axis at full rank and no
    unbatched operand reaches it, nothing moves; otherwise batch axes go to the front, with
    size-1 axes after them up to the largest example rank.
    """
    ranks = [np.ndim(x) - (d is not None) for x, d in zip(args, dims)]
    rank = max(ranks)
    batch_axes = {d for d in dims if d is not None}
    if len(batch_axes) == 1:
        (axis,) = batch_axes
        if all(r == rank if d is not None else r <= rank - axis for r, d in zip(ranks, dims)):
            return args, axis
    return [x if d is None else structural.lead_batch_to_rank(x, d, rank)
            for x, d in zip(args, dims)], 0


def _elementwise_batch(prim):
    """The batching rule of an elementwise primitive: apply it with the batch axes aligned."""
    def batch(args, dims, **params):
        args, out_dim = align_batch_axes(args, dims)
        return prim.bind(*args, **params), out_dim
    return batch


def _seed_partial(g, partial):
    """``partial`` itself, read-only, where ``g * partial`` would only copy it: ``g`` the
    broadcast 1 a sum's backward pass starts from (a read-only view, every stride 0) and
    ``partial`` an array of its shape and dtype; else None. A value_and_grad of an elementwise
    sum of 1e6 elements multiplied by that 1 in three of its ~20 passes over the array."""
    if type(g) is np.ndarray and not g.flags.writeable and g.ndim and not any(g.strides) \
            and isinstance(partial, np.ndarray) and partial.shape == g.shape \
            and partial.dtype == g.dtype and g.size and g.item(0) == 1:
        view = partial.view(np.ndarray)
        view.flags.writeable = False
        return view
    return None


def _seed_times(g, partial):
    """``g * partial`` in NumPy (``_seed_partial`` where it applies); the rules call it for an
    array ``g`` only, and ``operator.mul`` for a scalar one (no extra Python call)."""
    same = _seed_partial(g, partial)
    return g * partial if same is None else same


# ------------------------------------------------------------------------------- constructors

def _unary(name, impl, derivative=None, *, kind="smooth", numpy_derivative=None, taylor=None):
    """Define a unary primitive. ``kind``: smooth (``derivative`` given), linear, flat (zero
    derivative everywhere) or predicate (bool output, no derivative). ``numpy_derivative``:
    the same derivative written in NumPy, for eager reverse mode (``eager_vjp``); without it
    that rule evaluates ``derivative`` itself on the concrete values. ``taylor``: for a smooth
    primitive, the series of its result as a function of its operand's (``u``, a
    ``taylor.Series``), its Taylor rule."""
    prim = Primitive(name, "elementwise")
    prim.impl = impl
    if kind == "predicate":
        prim.abstract_eval = lambda x: ShapedArray(x.shape, np.bool_)
    else:
        prim.abstract_eval = _unary_shape

    if kind == "smooth":
        def jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            ans = prim.bind(x)
            return ans, mul(t, derivative(x, ans))

        def vjp(needs, g, ans, x):
            return (mul(g, derivative(x, ans)),)

        eager_derivative = numpy_derivative or derivative
        prim.eager_vjp = lambda needs, g, ans, x: (
            (_seed_times if type(g) is np.ndarray else operator.mul)(
                g, eager_derivative(x, ans)),)
        if taylor is not None:
            prim.taylor = ts.unary_rule(taylor)
    elif kind == "linear":
        def jvp(primals, tangents):
            return prim.bind(primals[0]), prim.bind(tangents[0])

        def vjp(needs, g, ans, x):
            return (prim.bind(g),)

        prim.eager_vjp = lambda needs, g, ans, x: (impl(g),)
        prim.taylor = ts.linear(prim)
    elif kind == "flat":
        def jvp(primals, tangents):
            ans = prim.bind(primals[0])
            return ans, zeros_like(ans)

        def vjp(needs, g, ans, x):
            return (zeros_like(x),)

        prim.taylor = ts.zero(prim)
    else:  # predicate: bool output, no tangent; a float input gets no cotangent
        def jvp(primals, tangents):
            return prim.bind(primals[0]), None

        def vjp(needs, g, ans, x):
            return (None,)
    prim.jvp = jvp
    prim.vjp = vjp
    prim.batch = _elementwise_batch(prim)

    def apply(x):
        return prim.bind(x)
    apply.__name__ = name
    apply.primitive = prim
    return apply


_FLOAT_SCALARS = (np.float64, np.float32)


def _arithmetic(prim, ufunc, scalar_op):
    """Give ``prim`` the ufunc as its implementation, except on two float scalars of one type:
    there NumPy's scalar operator gives the same number about 0.3 us sooner (a binary ufunc
    call costs 0.44 us on scalars, ``*`` on them 0.05 us; eager scalar code is made of these)."""
    def impl(x, y):
        kind = type(x)
        if kind is type(y) and kind in _FLOAT_SCALARS:
            return scalar_op(x, y)
        return ufunc(x, y)
    impl.__name__ = ufunc.__name__
    prim.impl = impl
    prim.ufunc = ufunc


def _as_binary_fn(prim):
    """The function that binds a binary primitive; a Python number operand takes its
    partner's dtype."""
    def apply(x, y):
        # (``type(...) is Tracer`` first: a tracer's dtype is a property, hasattr calls it)
        if type(x) is not Tracer and not hasattr(x, "dtype"):
            x = _as_operand_of(x, y)
        elif type(y) is not Tracer and not hasattr(y, "dtype"):
            y = _as_operand_of(y, x)
        return prim.bind(x, y)
    apply.__name__ = prim.name
    apply.primitive = prim
    return apply


def _binary(name, impl, partials=None, *, kind="smooth", numpy_partials=None, taylor=None):
    """Define a broadcasting binary primitive. ``kind``: smooth (``partials`` = the pair of
    functions ``(x, y, ans) -> d ans/dx``, ``-> d ans/dy``), flat, or compare (bool output).
    ``numpy_partials``: the same pair in NumPy, for ``eager_vjp`` (as in ``_unary``).
    ``taylor``: the series of the result from the operands' (``u``, ``w``), as in ``_unary``."""
    prim = Primitive(name, "elementwise")
    prim.impl = impl
    prim.abstract_eval = _compare_shape if kind == "compare" else _binary_shape

    if kind == "smooth":
        def jvp(primals, tangents):
            x, y = primals
            ans = prim.bind(x, y)
            out = None
            for i, t in enumerate(tangents):
                if t is not None:
                    term = mul(t, partials[i](x, y, ans))
                    out = term if out is None else add(out, term)
            return ans, _broadcast_to(out, np.shape(ans))

        def vjp(needs, g, ans, x, y):
            ct_x = structural.unbroadcast(mul(g, partials[0](x, y, ans)), x.shape) \
                if needs[0] else None
            ct_y = structural.unbroadcast(mul(g, partials[1](x, y, ans)), y.shape) \
                if needs[1] else None
            return ct_x, ct_y

        eager_partials = numpy_partials or partials

        def eager_vjp(needs, g, ans, x, y):
            times = _seed_times if type(g) is np.ndarray else operator.mul
            return (_fitted(times(g, eager_partials[0](x, y, ans)), x.shape)
                    if needs[0] else None,
                    _fitted(times(g, eager_partials[1](x, y, ans)), y.shape)
                    if needs[1] else None)
        prim.eager_vjp = eager_vjp
        if taylor is not None:
            prim.taylor = ts.binary_rule(taylor)
    elif kind == "flat":
        def jvp(primals, tangents):
            ans = prim.bind(*primals)
            return ans, zeros_like(ans)

        def vjp(needs, g, ans, x, y):
            return tuple(zeros_like(v) if n else None for v, n in zip((x, y), needs))

        prim.taylor = ts.zero(prim)
    else:
        def jvp(primals, tangents):
            return prim.bind(*primals), None

        def vjp(needs, g, ans, x, y):
            return None, None
    prim.jvp = jvp
    prim.vjp = vjp
    prim.batch = _elementwise_batch(prim)

    return _as_binary_fn(prim)


def _fitted(ct, shape):
    """A concrete cotangent summed back to its operand's ``shape`` (``unbroadcast``, with the
    common case, a cotangent of that shape already, decided here)."""
    return ct if ct.shape == shape else structural.unbroadcast(ct, shape)


def _broadcast_to(value, shape):
    return value if np.shape(value) == tuple(shape) else structural.broadcast_to(value, shape)


# ---------------------------------------------------------------------- linear arithmetic

add_p = Primitive("add", "elementwise")
_arithmetic(add_p, np.add, operator.add)
add_p.abstract_eval = _binary_shape


def _add_jvp(primals, tangents):
    ans = add_p.bind(*primals)
    tx, ty = tangents
    out = tx if ty is None else ty if tx is None else add(tx, ty)
    return ans, _broadcast_to(out, np.shape(ans))


add_p.jvp = _add_jvp
add_p.vjp = lambda needs, g, ans, x, y: (
    structural.unbroadcast(g, x.shape) if needs[0] else None,
    structural.unbroadcast(g, y.shape) if needs[1] else None)
add_p.batch = _elementwise_batch(add_p)
add_p.taylor = ts.binary_rule(lambda u, w: u + w)

sub_p = Primitive("sub", "elementwise")
_arithmetic(sub_p, np.subtract, operator.sub)
sub_p.abstract_eval = _binary_shape


def _sub_jvp(primals, tangents):
    ans = sub_p.bind(*primals)
    tx, ty = tangents
    out = neg(ty) if tx is None else tx if ty is None else sub(tx, ty)
    return ans, _broadcast_to(out, np.shape(ans))


sub_p.jvp = _sub_jvp
sub_p.vjp = lambda needs, g, ans, x, y: (
    structural.unbroadcast(g, x.shape) if needs[0] else None,
    structural.unbroadcast(neg(g), y.shape) if needs[1] else None)
sub_p.eager_vjp = lambda needs, g, ans, x, y: (
    structural.unbroadcast(g, x.shape) if needs[0] else None,
    structural.unbroadcast(-g, y.shape) if needs[1] else None)
sub_p.batch = _elementwise_batch(sub_p)
sub_p.taylor = ts.binary_rule(lambda u, w: u - w)


add = _as_binary_fn(add_p)
sub = _as_binary_fn(sub_p)
neg = _unary("neg", np.negative, kind="linear")

# ----------------------------------------------------------------------- smooth binary ops

_mul = _binary("mul", np.multiply, (lambda x, y, ans: y, lambda x, y, ans: x),
               taylor=lambda u, w: u * w)
_mul.primitive.vjp = lambda needs, g, ans, x, y: (   # the partials are the other operand
    structural.unbroadcast(mul(g, y), x.shape) if needs[0] else None,
    structural.unbroadcast(mul(g, x), y.shape) if needs[1] else None)
def _mul_eager_vjp(needs, g, ans, x, y):   # the same, in NumPy
    times = _seed_times if type(g) is np.ndarray else operator.mul
    if x is y and needs[0] and needs[1]:
        # A square (a variance's ``centered * centered``): both cotangents are ``g * x``,
        # made once. The accumulation adds it twice, as it added the two equal products.
        ct = _fitted(times(g, x), x.shape)
        return ct, ct
    return (_fitted(times(g, y), x.shape) if needs[0] else None,
            _fitted(times(g, x), y.shape) if needs[1] else None)


_mul.primitive.eager_vjp = _mul_eager_vjp


def _is_concrete_one(value) -> bool:
    kind = type(value)
    if kind is float or kind is int or kind is np.float64 or kind is np.float32:
        return value == 1
    return kind is np.ndarray and value.ndim == 0 and value == 1


_PYTHON_NUMBERS = (int, float, bool)


def mul(x, y):
    """``x * y``; a product with a concrete scalar 1 (a seed cotangent) is not recorded."""
    if type(x) in _PYTHON_NUMBERS:
        x = _as_operand_of(x, y)
    elif type(y) in _PYTHON_NUMBERS:
        y = _as_operand_of(y, x)
    if type(y) is not Tracer and _is_concrete_one(y) and y.dtype == x.dtype:
        return x
    if type(x) is not Tracer and _is_concrete_one(x) and x.dtype == y.dtype:
        return y
    if type(x) is np.ndarray and not x.flags.writeable:   # a traced rule run on numbers
        same = _seed_partial(x, y)
        if same is not None:
            return same
    return mul_p.bind(x, y)


mul_p = mul.primitive = _mul.primitive
_arithmetic(mul_p, np.multiply, operator.mul)
div = _binary("div", np.true_divide,
              (lambda x, y, ans: reciprocal(y), lambda x, y, ans: neg(div(ans, y))),
              numpy_partials=(lambda x, y, ans: 1 / y, lambda x, y, ans: -(ans / y)),
              taylor=lambda u, w: u / w)
_arithmetic(div.primitive, np.true_divide, operator.truediv)


def _pow_dx(x, y, ans):
    # y * x**(y-1), and exactly 0 where y == 0 (d/dx x**0 = 0, also at x = 0, to every order).
    # The exponent is made safe first so that no inf reaches a product in a deeper derivative.
    y_is_zero = eq(y, 0)
    safe_y = select(y_is_zero, scalar_like(y, 1), y)
    return select(y_is_zero, zeros_like(ans), mul(y, pow(x, sub(safe_y, 1))))


def _pow_dy(x, y, ans):
    # log(x) * x**y, taken as 0 at x == 0 (where 0**y is flat for y > 0).
    x_is_zero = eq(x, 0)
    safe_x = select(x_is_zero, scalar_like(x, 1), x)
    return select(x_is_zero, zeros_like(ans), mul(log(safe_x), ans))


def _concrete_integer(y):
    """``y`` as a Python int where it is a known integral scalar (a literal exponent)."""
    if type(y) is Tracer or np.ndim(y) or not np.isfinite(y) or float(y) != int(y):
        return None
    return int(y)


def _pow_series(u, w):
    value = pow(u[0], w[0])
    if not w.is_constant:   # x(t) ** y(t) = exp(y log x)
        return ts.exp(w * ts.log(u), value)
    y = w[0]
    n = _concrete_integer(y)
    if n is not None and 0 <= n <= 64:   # exact where x = 0, as the derivative is
        return ts.lift(value, u.order) if n == 0 else ts.integer_power(u, n).with_primal(value)
    series = ts.power(u, y, value)
    if type(y) is not Tracer and np.all(y != 0):
        return series
    # d/dx x**0 = 0 to every order, also at x = 0 (where the recurrence divides by 0)
    y_is_zero = eq(y, 0)
    return ts.Series(u.order, [value], lambda k: None if series[k] is None else select(
        y_is_zero, zeros_like(series[k]), series[k]))


pow = _binary("pow", np.power, (_pow_dx, _pow_dy), taylor=_pow_series)


def _tie_shared(wins, ties, ans):
    """1 where ``wins``, 1/2 where ``ties``, else 0 (NaN operands: 0), as ``ans``'s dtype.

    Written as arithmetic on the converted masks, not as selects: NumPy's ``where`` on a mask
    of random booleans runs at a fraction of the speed of these ufuncs (relu's derivative in
    an eager MLP step: 2 selects of 64K elements took 250 us, these 40 us)."""
    return add(convert(wins, ans.dtype), mul(convert(ties, ans.dtype), scalar_like(ans, 0.5)))


def _max_dx(x, y, ans):
    # Ties share the gradient equally: 1 where x wins, 1/2 where they tie, 0 where y wins.
    return _tie_shared(gt(x, y), eq(x, y), ans)


def _min_dx(x, y, ans):
    return _tie_shared(lt(x, y), eq(x, y), ans)


def _against_filled(ufunc):
    """``ufunc`` (np.maximum or np.minimum), with a float32 array and a float32 scalar (either
    order) run against a filled array instead: NumPy 2.4's loop for a broadcast scalar is not
    vectorised there (relu's ``max(x, 0)`` of 65536 float32s took 33 us, filled 15 us; 1.4 ms
    against 0.42 ms at 2**20; float64 gains nothing, so it keeps the plain call). The same
    numbers: the same elementwise function of the same pairs, in the same order."""
    def impl(x, y):
        if type(x) is np.ndarray and x.ndim:
            array, scalar = x, y
        elif type(y) is np.ndarray and y.ndim:
            array, scalar = y, x
        else:
            return ufunc(x, y)
        if array.dtype != np.float32 or array.size < 16384 \
                or type(scalar) not in (np.float32, np.ndarray) \
                or scalar.dtype != np.float32 or scalar.ndim:
            return ufunc(x, y)
        filled = np.empty(array.shape, np.float32)
        filled.fill(scalar)
        return ufunc(x, filled, out=filled) if array is x else ufunc(filled, y, out=filled)
    return impl


maximum = _binary("max", _against_filled(np.maximum),
                  (_max_dx, lambda x, y, ans: sub(scalar_like(ans, 1), _max_dx(x, y, ans))))
minimum = _binary("min", _against_filled(np.minimum),
                  (_min_dx, lambda x, y, ans: sub(scalar_like(ans, 1), _min_dx(x, y, ans))))


def _eager_extremum_vjp(wins):
    """``eager_vjp`` of max (``wins`` = greater) or min (less): ``_tie_shared``'s weights,
    where nothing ties a product with the boolean mask itself (the same numbers: the tie term
    adds exact zeros), otherwise the weights as the traced rule makes them."""
    def eager_vjp(needs, g, ans, x, y):
        won, tied = wins(x, y), np.equal(x, y)
        if tied.any():
            dtype = np.result_type(ans)
            weight = won.astype(dtype) + tied.astype(dtype) * dtype.type(0.5)
            x_weight = weight
            y_weight = dtype.type(1) - weight if needs[1] else None
        else:   # (relu's max(x, 0) wants x's alone)
            x_weight, y_weight = won, np.logical_not(won) if needs[1] else None
        unbroadcast = structural.unbroadcast
        return (unbroadcast(g * x_weight, x.shape) if needs[0] else None,
                unbroadcast(g * y_weight, y.shape) if needs[1] else None)
    return eager_vjp


maximum.primitive.eager_vjp = _eager_extremum_vjp(np.greater)
minimum.primitive.eager_vjp = _eager_extremum_vjp(np.less)
maximum.primitive.taylor = ts.by_jvp(maximum.primitive)   # piecewise linear; ties share
minimum.primitive.taylor = ts.by_jvp(minimum.primitive)


def _atan2_partial(numerator_sign):
    def partial(y, x, ans):
        radius_sq = add(mul(x, x), mul(y, y))
        return div(x, radius_sq) if numerator_sign > 0 else neg(div(y, radius_sq))
    return partial


def _atan2_series(u, w):
    # d atan2(y, x) / dt = (x y' - y x') / (x^2 + y^2)
    rate = (w * ts.rate_of(u) - u * ts.rate_of(w)) / (w * w + u * u)
    return ts.define_rate(ts.unknown(u.order, atan2(u[0], w[0])), rate)


def _logaddexp_series(u, w, value):
    top = maximum(u[0], w[0])   # a constant shift: exp never overflows
    return ts.log(ts.exp(u - top) + ts.exp(w - top), value)


atan2 = _binary("atan2", np.arctan2, (_atan2_partial(+1), _atan2_partial(-1)),
                taylor=_atan2_series)
hypot = _binary("hypot", np.hypot, (lambda x, y, ans: div(x, ans),
                                    lambda x, y, ans: div(y, ans)),
                taylor=lambda u, w: ts.sqrt(u * u + w * w, hypot(u[0], w[0])))
logaddexp = _binary("logaddexp", np.logaddexp, (lambda x, y, ans: exp(sub(x, ans)),
                                                lambda x, y, ans: exp(sub(y, ans))),
                    taylor=lambda u, w: _logaddexp_series(u, w, logaddexp(u[0], w[0])))
logaddexp2 = _binary("logaddexp2", np.logaddexp2, (lambda x, y, ans: exp2(sub(x, ans)),
                                                   lambda x, y, ans: exp2(sub(y, ans))),
                     taylor=lambda u, w: (_logaddexp_series(u * _LN2, w * _LN2, None) / _LN2
                                          ).with_primal(logaddexp2(u[0], w[0])))
rem = _binary("rem", np.mod, (lambda x, y, ans: scalar_like(ans, 1),
                              lambda x, y, ans: neg(floor(div(x, y)))),
              taylor=lambda u, w: (u - w * floor(div(u[0], w[0]))).with_primal(
                  rem(u[0], w[0])))
floor_divide = _binary("floor_divide", np.floor_divide, kind="flat")

# ---------------------------------------------------------------------- smooth unary ops

_LN2, _LN10 = math.log(2.0), math.log(10.0)

# ``taylor=``: the series of the result from the operand's series ``u`` (see ``ops/taylor``);
# ``ts.chain(u, f(u_0), lambda v: f'(u))`` solves ``v' = f'(u) u'``, where ``f'(u)`` is
# written in series arithmetic and may use ``v = f(u)`` itself.
sin = _unary("sin", np.sin, lambda x, ans: cos(x), numpy_derivative=lambda x, ans: np.cos(x),
             taylor=lambda u: ts.sin_cos(u)[0])
cos = _unary("cos", np.cos, lambda x, ans: neg(sin(x)),
             numpy_derivative=lambda x, ans: -np.sin(x), taylor=lambda u: ts.sin_cos(u)[1])
tan = _unary("tan", np.tan, lambda x, ans: add(1, mul(ans, ans)),
             taylor=lambda u: ts.chain(u, tan(u[0]), lambda v: 1 + v * v))
asin = _unary("asin", np.arcsin, lambda x, ans: reciprocal(sqrt(sub(1, mul(x, x)))),
              taylor=lambda u: ts.chain(u, asin(u[0]), lambda v: 1 / ts.sqrt(1 - u * u)))
acos = _unary("acos", np.arccos, lambda x, ans: neg(reciprocal(sqrt(sub(1, mul(x, x))))),
              taylor=lambda u: ts.chain(u, acos(u[0]), lambda v: -1 / ts.sqrt(1 - u * u)))
atan = _unary("atan", np.arctan, lambda x, ans: reciprocal(add(1, mul(x, x))),
              taylor=lambda u: ts.chain(u, atan(u[0]), lambda v: 1 / (1 + u * u)))
sinh = _unary("sinh", np.sinh, lambda x, ans: cosh(x), taylor=lambda u: ts.sinh_cosh(u)[0])
cosh = _unary("cosh", np.cosh, lambda x, ans: sinh(x), taylor=lambda u: ts.sinh_cosh(u)[1])
tanh = _unary("tanh", np.tanh, lambda x, ans: sub(1, mul(ans, ans)),
              numpy_derivative=lambda x, ans: 1 - ans * ans,
              taylor=lambda u: ts.chain(u, tanh(u[0]), lambda v: 1 - v * v))
asinh = _unary("asinh", np.arcsinh, lambda x, ans: reciprocal(
    hypot(x, scalar_like(x, 1)) if x.dtype.kind != "c" else sqrt(add(mul(x, x), 1))),
    taylor=lambda u: ts.chain(u, asinh(u[0]), lambda v: 1 / ts.sqrt(u * u + 1)))
acosh = _unary("acosh", np.arccosh,
               lambda x, ans: reciprocal(mul(sqrt(sub(x, 1)), sqrt(add(x, 1)))),
               taylor=lambda u: ts.chain(u, acosh(u[0]),
                                         lambda v: 1 / ts.sqrt((u - 1) * (u + 1))))
atanh = _unary("atanh", np.arctanh, lambda x, ans: reciprocal(mul(sub(1, x), add(1, x))),
               taylor=lambda u: ts.chain(u, atanh(u[0]), lambda v: 1 / ((1 - u) * (1 + u))))
exp = _unary("exp", np.exp, lambda x, ans: ans, taylor=ts.exp)
exp2 = _unary("exp2", np.exp2, lambda x, ans: mul(ans, _LN2),
              taylor=lambda u: ts.exp(u * _LN2, exp2(u[0])))
expm1 = _unary("expm1", np.expm1, lambda x, ans: add(ans, 1),
               taylor=lambda u: ts.exp(u).with_primal(expm1(u[0])))
log = _unary("log", np.log, lambda x, ans: reciprocal(x),
             numpy_derivative=lambda x, ans: 1 / x, taylor=ts.log)
log2 = _unary("log2", np.log2, lambda x, ans: reciprocal(mul(x, _LN2)),
              taylor=lambda u: (ts.log(u) / _LN2).with_primal(log2(u[0])))
log10 = _unary("log10", np.log10, lambda x, ans: reciprocal(mul(x, _LN10)),
               taylor=lambda u: (ts.log(u) / _LN10).with_primal(log10(u[0])))
log1p = _unary("log1p", np.log1p, lambda x, ans: reciprocal(add(x, 1)),
               numpy_derivative=lambda x, ans: 1 / (x + 1),
               taylor=lambda u: ts.log(1 + u, log1p(u[0])))
sqrt = _unary("sqrt", np.sqrt, lambda x, ans: div(scalar_like(ans, 0.5), ans),
              numpy_derivative=lambda x, ans: 0.5 / ans, taylor=ts.sqrt)
cbrt = _unary("cbrt", np.cbrt, lambda x, ans: reciprocal(mul(mul(ans, ans), 3)),
              taylor=lambda u: ts.power(u, 1 / 3, cbrt(u[0])))
abs = _unary("abs", np.abs, lambda x, ans: sign(x), numpy_derivative=lambda x, ans: np.sign(x),
             taylor=lambda u: (u * sign(u[0])).with_primal(abs(u[0])))
sign = _unary("sign", np.sign, kind="flat")
floor = _unary("floor", np.floor, kind="flat")
ceil = _unary("ceil", np.ceil, kind="flat")
round = _unary("round", np.round, kind="flat")


def _logistic_impl(x):
    # exp(-|x|) never overflows; both branches are exact where they are used.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)[()]


logistic = _unary("logistic", _logistic_impl, lambda x, ans: mul(ans, sub(1, ans)),
                  numpy_derivative=lambda x, ans: ans * (1 - ans),
                  taylor=lambda u: ts.chain(u, logistic(u[0]), lambda v: v * (1 - v)))


# sinc'(x) = sum_n c_n x**(2n-1), c_n = (-1)**n (2n) pi**(2n) / (2n+1)!; eight terms are exact
# to double precision for |x| < 1/4 (the next is below 1e-17 there).
_SINC_SLOPE_SERIES = [(-1) ** n * 2 * n * math.pi ** (2 * n) / math.factorial(2 * n + 1)
                      for n in range(1, 9)]


def _sinc_derivative(x, ans):
    # (cos(pi x) - sinc x) / x cancels badly near 0 (a 1% error at x = 1e-3 in float32) and is
    # 0/0 at 0, so there the Maclaurin series of sinc' is used: it also has sinc's true higher
    # derivatives at 0 (sinc''(0) = -pi**2/3), up to order 16. Each branch is evaluated only
    # at the points it is used for (elsewhere at a safe stand-in), so no inf or nan reaches
    # a deeper derivative.
    near_zero = lt(abs(x), 0.25)
    far_x = select(near_zero, full_like(x, 1), x)
    closed_form = div(sub(cos(mul(far_x, math.pi)), sinc(far_x)), far_x)
    near_x = select(near_zero, x, zeros_like(x))
    near_x_squared = mul(near_x, near_x)
    series = full_like(x, _SINC_SLOPE_SERIES[-1])
    for coefficient in reversed(_SINC_SLOPE_SERIES[:-1]):
        series = add(mul(series, near_x_squared), coefficient)
    return select(near_zero, mul(series, near_x), closed_form)


def _sinc_series(u):
    # sin(pi u) / (pi u) where |u_0| >= 1. Nearer 0 that quotient's recurrence multiplies
    # rounding errors by 1/|u_0| at every order, so there it is the Maclaurin polynomial in
    # (pi u)^2, by Horner's rule (the first term left out is below 1e-25 on |u| < 3/2, which
    # bounds the error of every Taylor coefficient at |u_0| < 1: Cauchy's estimate). Each
    # branch at a safe stand-in elsewhere, as in ``_sinc_derivative``.
    x = u[0]
    near_zero = lt(abs(x), 1.0)
    far = u.with_primal(select(near_zero, full_like(x, 2), x)) * math.pi
    quotient = ts.sin_cos(far)[0] / far
    near = u.with_primal(select(near_zero, x, zeros_like(x))) * math.pi
    square = near * near
    coefficients = [(-1) ** n / math.factorial(2 * n + 1) for n in range(24 + u.order // 2)]
    polynomial = coefficients[-1]
    for coefficient in reversed(coefficients[:-1]):
        polynomial = polynomial * square + coefficient

    def pick(k):
        a, b = polynomial[k], quotient[k]
        if a is None and b is None:
            return None
        return select(near_zero, zeros_like(x) if a is None else a,
                      zeros_like(x) if b is None else b)
    return ts.Series(u.order, [sinc(x)], pick)


sinc = _unary("sinc", np.sinc, _sinc_derivative, taylor=_sinc_series)


def reciprocal(x):
    return div(scalar_like(x, 1), x)


# ------------------------------------------------------------------------ integer_pow

integer_pow_p = Primitive("integer_pow", "elementwise")
def _integer_pow_impl(x, *, y):
    # A square as a product: NumPy's power loop is not vectorised (8 instructions an element
    # against 1), and x * x is the correctly rounded square that power gives too.
    return np.square(x) if y == 2 else np.power(x, x.dtype.type(y))


integer_pow_p.impl = _integer_pow_impl


def _integer_pow_shape(x, *, y):
    # NumPy has no power loop for booleans: it computes them in int8 (np.square(True) is an
    # int8 1), and so does the impl.
    return ShapedArray(x.shape, np.int8) if x.dtype == np.bool_ else x


integer_pow_p.abstract_eval = _integer_pow_shape


def _integer_pow_derivative(x, y):
    if y == 0:
        return zeros_like(x)
    if y == 1:
        return full_like(x, 1)
    return mul(x if y == 2 else integer_pow(x, y - 1), y)


integer_pow_p.jvp = lambda primals, tangents, *, y: (
    integer_pow(primals[0], y), mul(tangents[0], _integer_pow_derivative(primals[0], y)))
integer_pow_p.vjp = lambda needs, g, ans, x, *, y: (mul(g, _integer_pow_derivative(x, y)),)
integer_pow_p.batch = _elementwise_batch(integer_pow_p)


def _integer_pow_series(u, *, y):
    value = integer_pow(u[0], y)
    if y == 0:
        return ts.lift(value, u.order)
    if y > 0:   # products only: exact where x = 0
        return ts.integer_power(u, y).with_primal(value)
    return (1 / ts.integer_power(u, -y)).with_primal(value)


integer_pow_p.taylor = ts.unary_rule(_integer_pow_series)


def integer_pow(x, y: int):
    return integer_pow_p.bind(x, y=int(y))


# ----------------------------------------------------------- comparisons, logic, predicates

eq = _binary("eq", np.equal, kind="compare")
ne = _binary("ne", np.not_equal, kind="compare")
lt = _binary("lt", np.less, kind="compare")
le = _binary("le", np.less_equal, kind="compare")
gt = _binary("gt", np.greater, kind="compare")
ge = _binary("ge", np.greater_equal, kind="compare")
logical_and = _binary("and", np.logical_and, kind="compare")
logical_or = _binary("or", np.logical_or, kind="compare")
logical_xor = _binary("xor", np.logical_xor, kind="compare")
logical_not = _unary("not", np.logical_not, kind="predicate")
isnan = _unary("isnan", np.isnan, kind="predicate")
isinf = _unary("isinf", np.isinf, kind="predicate")
isfinite = _unary("isfinite", np.isfinite, kind="predicate")

# ------------------------------------------------------------------------------- select

select_p = Primitive("select", "elementwise")
_BLEND_MIN_SIZE = 4096
_BITS = {4: np.int32, 8: np.int64}


def _select_impl(pred, x, y):
    """``np.where(pred, x, y)``; on large arrays of 4- or 8-byte numbers, a bitwise blend of
    the two operands' bits under a mask made from ``pred`` (the same bits, NaNs and -0.0
    included), which runs 2-4x faster than ``where``'s branches on a mask of random
    booleans."""
    if np.size(pred) >= _BLEND_MIN_SIZE:
        x, y = np.asarray(x), np.asarray(y)
        bits = _BITS.get(x.dtype.itemsize) if x.dtype == y.dtype and x.dtype.kind in "fiu" \
            else None
        if bits is not None:
            mask = np.negative(pred, dtype=bits)           # all ones where pred, else 0
            out = np.bitwise_and(x.view(bits), mask)
            rest = np.bitwise_and(y.view(bits), np.invert(mask, out=mask))
            in_place = _broadcast_shapes(out.shape, rest.shape) == out.shape
            return np.bitwise_or(out, rest, out=out if in_place else None).view(x.dtype)
    return np.where(pred, x, y)[()]


select_p.impl = _select_impl


def _select_shape(pred, x, y):
    if pred.dtype != np.bool_:
        raise ShapeError(f"the condition must be bool, not {pred.dtype.name}")
    return ShapedArray(_broadcast_shapes(pred.shape, x.shape, y.shape), _same_dtype(x, y))


def _select_jvp(primals, tangents):
    pred, x, y = primals
    ans = select_p.bind(pred, x, y)
    if not is_differentiable(ans.dtype):
        return ans, None
    _, tx, ty = tangents
    tx = zeros_like(x) if tx is None else tx
    ty = zeros_like(y) if ty is None else ty
    return ans, _broadcast_to(select_p.bind(pred, tx, ty), np.shape(ans))


def _select_vjp(needs, g, ans, pred, x, y):
    zeros = zeros_like(g)
    return (None,
            structural.unbroadcast(select_p.bind(pred, g, zeros), np.shape(x)) if needs[1]
            else None,
            structural.unbroadcast(select_p.bind(pred, zeros, g), np.shape(y)) if needs[2]
            else None)


def _kept_where(pred, g, keep):
    """``g`` where ``pred`` is ``keep``, 0 elsewhere: the impl's ``select`` of ``g`` and
    zeros in one pass. Where the impl blends bits, ``g``'s bits under the mask (the blend's
    other half is the zeros' bits, 0); elsewhere ``np.where`` against a zero scalar, which
    gives the numbers it gives against an array of zeros."""
    if np.size(pred) >= _BLEND_MIN_SIZE and g.dtype.kind in "fiu":
        bits = _BITS.get(g.dtype.itemsize)
        if bits is not None:
            mask = np.negative(pred, dtype=bits)           # all ones where pred, else 0
            if not keep:
                np.invert(mask, out=mask)
            return np.bitwise_and(g.view(bits), mask).view(g.dtype)
    zero = g.dtype.type(0)
    return (np.where(pred, g, zero) if keep else np.where(pred, zero, g))[()]


def _select_eager_vjp(needs, g, ans, pred, x, y):
    """``_select_vjp`` in NumPy: each cotangent one masked pass over ``g``, where the
    traced rule fills an array of zeros and blends it with ``g`` (four passes)."""
    if type(g) is not np.ndarray:
        return _select_vjp(needs, g, ans, pred, x, y)
    pred = np.asarray(pred)
    return (None,
            structural.unbroadcast(_kept_where(pred, g, True), np.shape(x)) if needs[1]
            else None,
            structural.unbroadcast(_kept_where(pred, g, False), np.shape(y)) if needs[2]
            else None)


select_p.abstract_eval = _select_shape
select_p.jvp = _select_jvp
select_p.vjp = _select_vjp
select_p.eager_vjp = _select_eager_vjp
select_p.batch = _elementwise_batch(select_p)
select_p.taylor = ts.linear(select_p, (1, 2))


def select(pred, x, y):
    """``where(pred, x, y)`` with operands of one dtype."""
    return select_p.bind(pred, x, y)


# ------------------------------------------------------------------- convert_element_type

convert_p = Primitive("convert_element_type", "elementwise")
convert_p.impl = lambda x, *, new_dtype: np.asarray(x).astype(new_dtype)[()]
convert_p.abstract_eval = lambda x, *, new_dtype: ShapedArray(x.shape, new_dtype)


def _convert_jvp(primals, tangents, *, new_dtype):
    (x,), (t,) = primals, tangents
    ans = convert(x, new_dtype)
    if not (is_differentiable(new_dtype) and is_differentiable(x.dtype)):
        return ans, None
    return ans, _convert_tangent(t, new_dtype)


def _convert_vjp(needs, g, ans, x, *, new_dtype):
    if not (is_differentiable(new_dtype) and is_differentiable(x.dtype)):
        return (None,)
    return (_convert_tangent(g, x.dtype),)


def _convert_tangent(t, dtype):
    """``t`` as ``dtype``; a complex one made real keeps its real part (what the cast does to
    values, and the transpose of a real value made complex), without NumPy's warning."""
    if t.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        from .complex_numbers import real
        t = real(t)
    return convert(t, dtype)


convert_p.jvp = _convert_jvp
convert_p.vjp = _convert_vjp
convert_p.batch = _elementwise_batch(convert_p)
convert_p.taylor = ts.linear(convert_p)


def convert(x, dtype):
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    return convert_p.bind(x, new_dtype=dtype)


# ------------------------------------------------- integer bitwise operations, bit-level floats
# Integer results carry no derivative (as comparisons), nor does ``nextafter`` (as in JAX: its
# gradient is disconnected, as ``stop_gradient``'s); ``ldexp`` is linear in its float operand.

def _underived_primitive(name, impl, arity, shape_rule=None):
    prim = Primitive(name, "elementwise")
    prim.impl = impl
    prim.abstract_eval = shape_rule or (_unary_shape if arity == 1 else _binary_shape)
    prim.jvp = lambda primals, tangents, **params: (prim.bind(*primals, **params), None)
    prim.vjp = lambda needs, g, ans, *operands, **params: (None,) * len(operands)
    prim.batch = _elementwise_batch(prim)
    return prim


def _bound(prim, arity=2):
    if arity == 2:
        return _as_binary_fn(prim)

    def apply(x):
        return prim.bind(x)
    apply.__name__ = prim.name
    apply.primitive = prim
    return apply


bitwise_and = _bound(_underived_primitive("bitwise_and", np.bitwise_and, 2))
bitwise_or = _bound(_underived_primitive("bitwise_or", np.bitwise_or, 2))
bitwise_xor = _bound(_underived_primitive("bitwise_xor", np.bitwise_xor, 2))
bitwise_not = _bound(_underived_primitive("bitwise_not", np.invert, 1), 1)
# NumPy's shifts: a count outside [0, bits) shifts every bit out (0, or -1 for a negative
# number shifted right); right shifts of signed integers are arithmetic.
shift_left = _bound(_underived_primitive("shift_left", np.left_shift, 2))
shift_right = _bound(_underived_primitive("shift_right", np.right_shift, 2))
population_count = _bound(_underived_primitive(
    "population_count", np.bitwise_count, 1,
    lambda x: ShapedArray(x.shape, np.uint8)), 1)   # NumPy's bitwise_count: uint8, bits of |x|
gcd = _bound(_underived_primitive("gcd", np.gcd, 2))
signbit = _unary("signbit", np.signbit, kind="predicate")   # NaN's sign bit too
nextafter = _bound(_underived_primitive("nextafter", np.nextafter, 2))
nextafter.primitive.taylor = ts.zero(nextafter.primitive)   # (as stop_gradient's)


ldexp_p = Primitive("ldexp", "elementwise")
ldexp_p.impl = np.ldexp


def _ldexp_shape(x, n):
    if n.dtype.kind not in "iu":
        raise ShapeError(f"ldexp's exponent must be an integer, not {n.dtype.name}")
    return ShapedArray(_broadcast_shapes(x.shape, n.shape), x.dtype)


def _ldexp_jvp(primals, tangents):
    x, n = primals
    ans = ldexp_p.bind(x, n)
    t = tangents[0]
    return ans, None if t is None else _broadcast_to(ldexp_p.bind(t, n), np.shape(ans))


ldexp_p.abstract_eval = _ldexp_shape
ldexp_p.jvp = _ldexp_jvp   # linear in x: x * 2**n
ldexp_p.vjp = lambda needs, g, ans, x, n: (
    structural.unbroadcast(ldexp_p.bind(g, n), x.shape) if needs[0] else None, None)
ldexp_p.batch = _elementwise_batch(ldexp_p)
ldexp_p.taylor = ts.linear(ldexp_p, (0,))


def ldexp(x, n):
    """``x * 2**n`` exactly (``n`` an integer array or scalar)."""
    return ldexp_p.bind(x, n)
