"""Window reductions: ``reduce_window_sum`` and ``reduce_window_max`` (pooling).

Both take a window per axis (``window_dimensions``), its strides, ``(low, high)`` padding,
``base_dilation`` (holes between the operand's elements) and ``window_dilation``, with
``jax.lax.reduce_window``'s semantics. They run as a fold over the window's offsets, one
strided view of the operand each (padding and dilation are where no view reads): one NumPy
addition or maximum of whole arrays per offset, never a loop over windows.

``reduce_window_sum`` is linear; its transpose is again a window sum (of the cotangent dilated
by the strides, JAX's rule), so it has derivatives of every order. ``reduce_window_max`` is
for windows that do not overlap (each stride at least the dilated window: pooling as networks
use it; ``lax.reduce_window`` folds overlapping ones with ``maximum``). Its derivative
routes the tangent to the window's maxima, ties sharing it equally, and is written with
window sums: ``upsample`` (the transpose of a window sum) spreads each window's maximum back
over it, an elementwise comparison finds the maxima, and a window sum counts them.
"""
from __future__ import annotations

import functools
import itertools

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import taylor as ts
from .convolution import dilate, transpose_padding

_PARAMS = ("window_dimensions", "window_strides", "padding", "base_dilation",
           "window_dilation")


def _window_shape(x, *, window_dimensions, window_strides, padding, base_dilation,
                  window_dilation):
    for name, value in zip(_PARAMS, (window_dimensions, window_strides, padding,
                                     base_dilation, window_dilation)):
        if len(value) != x.ndim:
            raise ShapeError(f"{name} needs one entry per dimension ({x.ndim}), got {value}")
    for name, value in (("window_dimensions", window_dimensions),
                        ("window_strides", window_strides), ("base_dilation", base_dilation),
                        ("window_dilation", window_dilation)):
        if any(v < 1 for v in value):
            raise ShapeError(f"{name} must be positive integers, got {value}")
    shape = []
    for size, w, s, (lo, hi), b, d in zip(x.shape, window_dimensions, window_strides, padding,
                                          base_dilation, window_dilation):
        padded = dilate(size, b) + lo + hi
        if padded < 0:
            raise ShapeError(f"negative padding {(lo, hi)} removes more than the dimension's "
                             f"{dilate(size, b)} elements")
        extent = dilate(w, d)
        shape.append((padded - extent) // s + 1 if padded >= extent else 0)
    return ShapedArray(tuple(shape), x.dtype)


@functools.lru_cache(maxsize=1024)
def _axis_pairs(size: int, out: int, window: int, stride: int, low: int, base: int,
                dilation: int) -> tuple:
    """For each window offset ``k`` along one axis, the output positions whose ``k``-th
    window element is an operand element (not padding, not a hole of the base dilation), and
    those elements, as a pair of slices (None where there are none).

    Output ``o``'s ``k``-th element sits at ``o stride + k dilation`` of the padded, dilated
    axis, which is operand element ``j`` where that equals ``low + j base``: an arithmetic
    progression in ``o``, so a slice.
    """
    pairs = []
    positions = np.arange(out)
    for k in range(window):
        place = positions * stride + k * dilation - low
        hit = (place % base == 0) & (place >= 0) & (place < base * size)
        chosen = positions[hit]
        if not chosen.size:
            pairs.append(None)
            continue
        first, last = int(chosen[0]), int(chosen[-1])
        step = int(chosen[1] - chosen[0]) if chosen.size > 1 else 1
        element = place[hit] // base
        element_step = int(element[1] - element[0]) if element.size > 1 else 1
        pairs.append((slice(first, last + 1, step),
                      slice(int(element[0]), int(element[-1]) + 1, element_step)))
    return tuple(pairs)


def _fold(ufunc, fill):
    """The window reduction as ``ufunc`` folded over the window's offsets: the output starts
    as ``fill`` (what padding and holes hold) and takes in, for each offset, the strided view
    of the operand that offset reads (``_axis_pairs``): no padded or dilated copy is made."""
    def impl(x, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        x = np.asarray(x)
        out_shape = _window_shape(x, window_dimensions=window_dimensions,
                                  window_strides=window_strides, padding=padding,
                                  base_dilation=base_dilation,
                                  window_dilation=window_dilation).shape
        if ufunc is np.maximum and _tiled(window_dimensions, window_strides, padding,
                                          base_dilation, window_dilation, out_shape):
            return _tiled_maximum(x, window_dimensions, out_shape)
        result = np.full(out_shape, fill(x.dtype), x.dtype)
        axes = [_axis_pairs(*args) for args in zip(
            x.shape, out_shape, window_dimensions, window_strides, [lo for lo, _ in padding],
            base_dilation, window_dilation)]
        for pairs in itertools.product(*axes):
            if any(pair is None for pair in pairs):
                continue
            target = result[tuple(o for o, _ in pairs)]
            ufunc(target, x[tuple(j for _, j in pairs)], out=target)
        return result
    return impl


def _tiled(window_dimensions, window_strides, padding, base_dilation, window_dilation,
           out_shape) -> bool:
    """Whether the windows tile the operand (pooling as networks use it): each stride its
    window, no padding or dilation, at most 256 elements a window and none empty; elements
    past the last whole window are in none."""
    return all(w == s for w, s in zip(window_dimensions, window_strides)) and all(
        lo == 0 and hi == 0 for lo, hi in padding) and all(
        b == 1 for b in base_dilation) and all(d == 1 for d in window_dilation) and all(
        out_shape) and int(np.prod(window_dimensions)) <= 256


def _cropped(x, window, out_shape):
    """``x`` without the elements past its last whole window (a view)."""
    if all(o * w == n for o, w, n in zip(out_shape, window, x.shape)):
        return x
    return x[tuple(slice(0, o * w) for o, w in zip(out_shape, window))]


def _tiles_along(x, axis: int, window: int) -> list:
    """The ``window`` interleaved slices of ``x`` along ``axis``: slice ``k`` holds the
    ``k``-th element of every window there."""
    lead = (slice(None),) * axis
    return [x[lead + (slice(k, None, window),)] for k in range(window)]


def _tiled_maximum(x, window, out_shape):
    """The maximum of every window of a tiling (``_tiled``), one axis at a time, the last
    first: each step is a whole-array maximum of a window's interleaved slices, which along
    the last axis is a single strided pass (the fold over offsets in ``_fold`` runs one
    NumPy loop per output row of a few elements; a 2x2 pool of (64, 16, 8, 8): 0.5 M
    instructions instead of 1.3 M). The same maximum: among equal elements (signed zeros)
    both keep the one first in C order."""
    x = result = _cropped(x, window, out_shape)
    for axis in reversed(range(x.ndim)):
        if window[axis] > 1:
            first, *rest = _tiles_along(result, axis, window[axis])
            result = np.maximum(first, rest[0])
            for part in rest[1:]:
                np.maximum(result, part, out=result)
    return result.copy() if result is x else np.ascontiguousarray(result)


def _tiled_max_vjp(g, ans, x, window, dtype):
    """``_max_vjp``'s numbers for a tiling, in NumPy: the winners of each window (equal to
    its maximum), the cotangent divided by their count, spread back over the window. The
    upsampling is ``np.repeat`` on the leading axes and interleaved slices on the last one,
    so no pass runs per row of a window's few elements. ``+ 0`` turns a ``-0.0`` quotient
    into ``0.0``, as the window sum that upsamples it there does."""
    last = x.ndim - 1
    cropped = _cropped(x, window, ans.shape)

    def spread(a):   # a pooled array repeated over the windows' leading axes
        for axis in range(last):
            if window[axis] > 1:
                a = np.repeat(a, window[axis], axis=axis)
        return a

    if window[last] > 1:
        hit = np.empty(cropped.shape, bool)
        upsampled = spread(ans)
        for x_part, hit_part in zip(_tiles_along(cropped, last, window[last]),
                                    _tiles_along(hit, last, window[last])):
            np.equal(x_part, upsampled, out=hit_part)
    else:
        hit = np.equal(cropped, spread(ans))
    hits = hit.astype(dtype)
    count = hits
    for axis in reversed(range(x.ndim)):   # exact: small whole numbers
        if window[axis] > 1:
            first, *rest = _tiles_along(count, axis, window[axis])
            count = first + rest[0]
            for part in rest[1:]:
                count += part
    share = spread(g / np.maximum(count, dtype.type(1)) + dtype.type(0))
    grad = np.empty(cropped.shape, dtype) if cropped is x else np.zeros(x.shape, dtype)
    target = _cropped(grad, window, ans.shape)
    if window[last] > 1:
        for hit_part, out_part in zip(_tiles_along(hits, last, window[last]),
                                      _tiles_along(target, last, window[last])):
            np.multiply(hit_part, share, out=out_part)
    else:
        np.multiply(hits, share, out=target)
    return grad


def _window_batch(prim):
    """vmap: a window of 1, stride 1, no padding or dilation on the batch axis."""
    def batch(args, dims, **params):
        (x,), (dim,) = args, dims
        extra = {"window_dimensions": 1, "window_strides": 1, "padding": (0, 0),
                 "base_dilation": 1, "window_dilation": 1}
        params = {name: tuple(value[:dim]) + (extra[name],) + tuple(value[dim:])
                  for name, value in params.items()}
        return prim.bind(x, **params), dim
    return batch


# ------------------------------------------------------------------------ reduce_window_sum

reduce_window_sum_p = Primitive("reduce_window_sum", "reduction")
reduce_window_sum_p.impl = _fold(np.add, lambda dtype: 0)
reduce_window_sum_p.abstract_eval = _window_shape
reduce_window_sum_p.jvp = lambda primals, tangents, **params: (
    reduce_window_sum_p.bind(primals[0], **params),
    reduce_window_sum_p.bind(tangents[0], **params))


def _sum_transpose(g, operand_shape, *, window_dimensions, window_strides, padding,
                   base_dilation, window_dilation):
    """The transpose of the window sum: each operand element collects the cotangents of the
    windows holding it, a window sum of ``g`` dilated by the strides (JAX's rule)."""
    pads = transpose_padding(operand_shape, window_dimensions, np.shape(g), window_strides,
                             padding, base_dilation, window_dilation)
    return reduce_window_sum_p.bind(g, window_dimensions=window_dimensions,
                                    window_strides=base_dilation, padding=pads,
                                    base_dilation=window_strides,
                                    window_dilation=window_dilation)


reduce_window_sum_p.vjp = lambda needs, g, ans, x, **params: (
    _sum_transpose(g, np.shape(x), **params),)
reduce_window_sum_p.batch = _window_batch(reduce_window_sum_p)
reduce_window_sum_p.taylor = ts.linear(reduce_window_sum_p)


# ------------------------------------------------------------------------ reduce_window_max

def _lowest(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    return np.iinfo(dtype).min if dtype.kind in "iu" else False


def overlapping(window_dimensions, window_strides, window_dilation, base_dilation) -> bool:
    """Whether an operand element can sit in two windows (or the operand is dilated)."""
    return any(s < dilate(w, d) for w, s, d in zip(window_dimensions, window_strides,
                                                    window_dilation)) or any(
        b > 1 for b in base_dilation)


def _max_shape(x, **params):
    if overlapping(params["window_dimensions"], params["window_strides"],
                   params["window_dilation"], params["base_dilation"]):
        raise ShapeError("reduce_window_max takes windows that do not overlap (each stride at "
                         "least its dilated window) and no base dilation; fold overlapping "
                         "windows with maximum (lax.reduce_window does)")
    return _window_shape(x, **params)


def _max_weights(x, ans, params):
    """Where ``x`` attains its window's maximum, divided by the number of such places (ties
    share), and the count per window; no derivative flows through either."""
    dtype = np.dtype(ans.dtype)
    hits = ew.convert(ew.eq(x, _sum_transpose(ans, np.shape(x), **params)), dtype)
    count = ew.maximum(reduce_window_sum_p.bind(hits, **params), dtype.type(1))
    return hits, count


def _max_jvp(primals, tangents, **params):
    (x,), (t,) = primals, tangents
    ans = reduce_window_max_p.bind(x, **params)
    hits, count = _max_weights(x, ans, params)
    return ans, ew.div(reduce_window_sum_p.bind(ew.mul(t, hits), **params), count)


def _max_vjp(needs, g, ans, x, **params):
    hits, count = _max_weights(x, ans, params)
    return (ew.mul(hits, _sum_transpose(ew.div(g, count), np.shape(x), **params)),)


def _max_eager_vjp(needs, g, ans, x, **params):
    """``_max_vjp`` for concrete arrays (eager reverse mode): in NumPy for a tiling, else
    the rule itself."""
    if not _tiled(params["window_dimensions"], params["window_strides"], params["padding"],
                  params["base_dilation"], params["window_dilation"], ans.shape):
        return _max_vjp(needs, g, ans, x, **params)
    return (_tiled_max_vjp(np.asarray(g), ans, np.asarray(x), params["window_dimensions"],
                           np.dtype(ans.dtype)),)


reduce_window_max_p = Primitive("reduce_window_max", "reduction")
reduce_window_max_p.impl = _fold(np.maximum, _lowest)
reduce_window_max_p.abstract_eval = _max_shape
reduce_window_max_p.jvp = _max_jvp
reduce_window_max_p.vjp = _max_vjp
reduce_window_max_p.eager_vjp = _max_eager_vjp
reduce_window_max_p.batch = _window_batch(reduce_window_max_p)
# piecewise linear: each coefficient goes where the tangent goes (ties shared)
reduce_window_max_p.taylor = ts.by_jvp(reduce_window_max_p)


# ---------------------------------------------------------------- compiled programs' kernels
# A compiled program runs a window reduction as one numba loop nest written for the
# equation's window (its sizes, strides, padding and dilations are literals of the source;
# the operand's shape comes as arguments): NumPy's fold over strided views pays a Python-level
# inner loop per row of a few elements, which dominates on the small images of a CNN.

def _scatter_code(name: str, params: dict, combine: str, fill: str) -> str:
    """A window sum's transpose (strides 1, a base dilation: upsampling) driven by the
    operand: element ``j`` and offset ``k`` meet at output ``o = j base + low - k dilation``,
    so no output position tests the offsets that meet holes."""
    window, lows = params["window_dimensions"], [lo for lo, _ in params["padding"]]
    bases, dilations = params["base_dilation"], params["window_dilation"]
    rank = len(window)
    sizes = [f"n{a}" for a in range(rank)] + [f"m{a}" for a in range(rank)]
    lines = [f"def {name}({', '.join(sizes)}, x, out):", "    for i in range(out.size):",
             f"        out[i] = {fill}"]
    pad = "    "
    for a in range(rank):
        lines.append(f"{pad}for j{a} in range(n{a}):")
        pad += "    "
        if (window[a], lows[a], bases[a], dilations[a]) == (1, 0, 1, 1):
            lines.append(f"{pad}o{a} = j{a}")
            continue
        lines += [f"{pad}for k{a} in range({window[a]}):",
                  f"{pad}    o{a} = j{a} * {bases[a]} + {lows[a]} - k{a} * {dilations[a]}",
                  f"{pad}    if o{a} < 0 or o{a} >= m{a}:", f"{pad}        continue"]
        pad += "    "
    flat_in, flat_out = "j0", "o0"
    for a in range(1, rank):
        flat_in, flat_out = f"({flat_in}) * n{a} + j{a}", f"({flat_out}) * m{a} + o{a}"
    lines += [f"{pad}out[{flat_out}] = {combine.format(f'out[{flat_out}]', f'x[{flat_in}]')}",
              "    return ()"]
    return "\n".join(lines) + "\n"


def _kernel_code(name: str, params: dict, combine: str, fill: str) -> str:
    window, strides = params["window_dimensions"], params["window_strides"]
    if any(b > 1 for b in params["base_dilation"]) and all(s == 1 for s in strides):
        return _scatter_code(name, params, combine, fill)
    lows = [lo for lo, _ in params["padding"]]
    bases, dilations = params["base_dilation"], params["window_dilation"]
    rank = len(window)
    sizes = [f"n{a}" for a in range(rank)] + [f"m{a}" for a in range(rank)]
    lines = [f"def {name}({', '.join(sizes)}, x, out):"]
    pad = "    "
    for a in range(rank):
        lines.append(f"{pad}for o{a} in range(m{a}):")
        pad += "    "
    lines.append(f"{pad}acc = {fill}")
    highs = [hi for _, hi in params["padding"]]
    for a in range(rank):
        w, s, lo, b, d = window[a], strides[a], lows[a], bases[a], dilations[a]
        if (w, s, lo, b, d) == (1, 1, 0, 1, 1):   # an axis the window does not span: j = o
            lines.append(f"{pad}j{a} = o{a}")
            continue
        lines.append(f"{pad}for k{a} in range({w}):")
        pad += "    "
        lines.append(f"{pad}p{a} = o{a} * {s} + k{a} * {d} - {lo}")
        if lo == 0 and highs[a] <= 0 and b == 1:   # every window lies inside the operand
            lines.append(f"{pad}j{a} = p{a}")
            continue
        test = f"p{a} < 0 or p{a} >= {b} * n{a}"
        if b > 1:
            test += f" or p{a} % {b} != 0"
        lines += [f"{pad}if {test}:", f"{pad}    continue", f"{pad}j{a} = p{a} // {b}"]
    flat = "j0"
    for a in range(1, rank):
        flat = f"({flat}) * n{a} + j{a}"
    lines.append(f"{pad}acc = {combine.format('acc', f'x[{flat}]')}")
    out_flat = "o0"
    for a in range(1, rank):
        out_flat = f"({out_flat}) * m{a} + o{a}"
    lines.append("    " * (rank + 1) + f"out[{out_flat}] = acc")
    lines.append("    return ()")
    return "\n".join(lines) + "\n"


def _compiled(combine: str, fill):
    def compiled_impl(eqn):
        import hashlib

        from ..backend.codegen import KernelSource
        from ..backend.compiler import compile_kernel
        (x,), (out,) = eqn.inputs, eqn.outputs
        dtype = out.aval.dtype
        start = fill(dtype)
        start = f"np.{dtype.name}({start!r})" if dtype.kind in "fiu" else repr(bool(start))
        start = start.replace("(-inf)", "(-np.inf)")
        digest = hashlib.sha256(repr((eqn.primitive.name, eqn.params)).encode()).hexdigest()
        name = f"{eqn.primitive.name}_{digest[:16]}"
        code = _kernel_code(name, eqn.params, combine, start)
        sizes = list(x.aval.shape) + list(out.aval.shape)
        kernel = compile_kernel(KernelSource(code, code, name, sizes, [x], [], [out], []),
                                False)
        shape = out.aval.shape

        def run(operand):
            result = np.empty(shape, dtype)
            if result.size:
                kernel(*sizes, np.ascontiguousarray(operand).reshape(-1), result.reshape(-1))
            return result
        return run
    return compiled_impl


reduce_window_sum_p.compiled_impl = _compiled("{0} + {1}", lambda dtype: 0)
reduce_window_max_p.compiled_impl = _compiled("np.maximum({1}, {0})", _lowest)


def _params(ndim, window_dimensions, window_strides, padding, base_dilation, window_dilation):
    def ints(value, default):
        return (default,) * ndim if value is None else tuple(int(v) for v in value)
    return {"window_dimensions": ints(window_dimensions, 1),
            "window_strides": ints(window_strides, 1),
            "padding": tuple((int(lo), int(hi)) for lo, hi in padding),
            "base_dilation": ints(base_dilation, 1),
            "window_dilation": ints(window_dilation, 1)}


def reduce_window_sum(x, window_dimensions, window_strides, padding, base_dilation=None,
                      window_dilation=None):
    """The sum of every window of ``x`` (zero padding), JAX's ``reduce_window`` with ``add``.

    >>> reduce_window_sum(np.arange(6.0), (2,), (2,), ((0, 0),))
    array([1., 5., 9.])
    """
    return reduce_window_sum_p.bind(x, **_params(np.ndim(x), window_dimensions,
                                                 window_strides, padding, base_dilation,
                                                 window_dilation))


def reduce_window_max(x, window_dimensions, window_strides, padding, window_dilation=None):
    """The maximum of every window of ``x`` (padding counts as ``-inf``), for windows that do
    not overlap.

    >>> reduce_window_max(np.array([3.0, 1.0, 2.0, 5.0]), (2,), (2,), ((0, 0),))
    array([3., 5.])
    """
    return reduce_window_max_p.bind(x, **_params(np.ndim(x), window_dimensions,
                                                 window_strides, padding, None,
                                                 window_dilation))
