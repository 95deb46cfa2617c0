"""``conv_general_dilated``: N-d convolution with XLA's (and ``jax.lax``'s) semantics.

One primitive covers every convolution a network uses: any number of spatial dimensions,
window strides, explicit (possibly negative) padding, input ("lhs", transposed convolution)
and kernel ("rhs", atrous) dilation, feature groups (grouped and depthwise convolutions),
batch groups, and any layout through ``dimension_numbers`` (default: PyTorch's and JAX's
``NCHW`` input / ``OIHW`` kernel / ``NCHW`` output).

It runs as im2col and a matrix product: a strided view of the (dilated, padded) input holds
every window, it is copied once into a matrix and multiplied by the kernel through BLAS (see
``_contract`` for the two layouts and which is chosen). It is linear in each operand, and both
transposes are again convolutions, as in JAX: the input's cotangent convolves the output's
cotangent with the flipped kernel (the strides become input dilation); the kernel's convolves
the input with the output's cotangent (batch and feature axes swapped, the strides becoming
kernel dilation). So every derivative, to any order, and its compiled form are this one
primitive, whose compiled step calls the NumPy implementation (BLAS) directly.

>>> import numpy as np
>>> x = np.arange(5.0).reshape(1, 1, 5)           # N, C, W
>>> w = np.array([1.0, 0.0, -1.0]).reshape(1, 1, 3)   # O, I, W
>>> conv_general_dilated(x, w, (1,), "VALID")     # a cross-correlation, as in JAX and torch
array([[[-2., -2., -2.]]])
"""
from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core.aval import ShapedArray
from ..core.errors import ShapeError, at_user_line
from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import elementwise as ew
from . import structural as st
from . import taylor as ts


class ConvDimensionNumbers(NamedTuple):
    """Where the axes are: each spec lists axis positions, batch (``N``/``O``) first, then
    feature (``C``/``I``), then the spatial axes in the kernel's spatial order (JAX's type)."""
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _permutations(specs) -> ConvDimensionNumbers:
    """``("NHWC", "HWIO", "NHWC")`` -> axis positions (JAX's ``conv_general_permutations``)."""
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (spec, (a, b)) in enumerate(zip(specs, pairs)):
        if spec.count(a) != 1 or spec.count(b) != 1:
            raise TypeError(f"conv: dimension_numbers[{i}] must contain the characters '{a}' "
                            f"and '{b}' exactly once, got {spec!r}")
        if len(spec) != len(set(spec)):
            raise TypeError(f"conv: dimension_numbers[{i}] cannot repeat a character, got "
                            f"{spec!r}")
    spatial = [set(spec) - set(pair) for spec, pair in zip(specs, pairs)]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise TypeError(f"conv: dimension_numbers must name the same spatial characters in "
                        f"all three specs, got {tuple(specs)}")
    rhs = specs[1]

    def positions(spec, pair):
        axes = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs:
            axes.sort(key=lambda i: rhs.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(axes)

    return ConvDimensionNumbers(*(positions(s, p) for s, p in zip(specs, pairs)))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """``dimension_numbers`` (None, three layout strings, or ``ConvDimensionNumbers``) as
    ``ConvDimensionNumbers`` of axis positions (JAX's function of that name).

    >>> conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(f"conv: lhs and rhs need the same number of dimensions, got shapes "
                        f"{tuple(lhs_shape)} and {tuple(rhs_shape)}")
    ndim = len(lhs_shape)
    if dimension_numbers is None:
        identity = tuple(range(ndim))
        return ConvDimensionNumbers(identity, identity, identity)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        numbers = ConvDimensionNumbers(*(tuple(int(a) for a in s) for s in dimension_numbers))
    elif isinstance(dimension_numbers, (tuple, list)) and len(dimension_numbers) == 3 and all(
            isinstance(s, str) for s in dimension_numbers):
        for i, spec in enumerate(dimension_numbers):
            if len(spec) != ndim:
                raise TypeError(f"conv: dimension_numbers[{i}] = {spec!r} must have one "
                                f"character per dimension of lhs and rhs ({ndim})")
        numbers = _permutations(tuple(dimension_numbers))
    else:
        raise TypeError("conv: dimension_numbers must be None, three layout strings such as "
                        "('NCHW', 'OIHW', 'NCHW'), or a ConvDimensionNumbers, got "
                        f"{dimension_numbers!r}")
    for name, spec in zip(numbers._fields, numbers):
        if sorted(spec) != list(range(ndim)):
            raise TypeError(f"conv: dimension_numbers.{name} = {spec} is not a permutation "
                            f"of the {ndim} axes")
    return numbers


def padtype_to_pads(in_shape, window_shape, window_strides, padding: str) -> list:
    """The ``(low, high)`` pairs of ``"SAME"``, ``"SAME_LOWER"`` or ``"VALID"`` padding for
    windows of ``window_shape`` (dilated) moving by ``window_strides`` (JAX's function)."""
    mode = padding.upper()
    if mode == "VALID":
        return [(0, 0)] * len(in_shape)
    if mode not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"conv: padding must be 'SAME', 'SAME_LOWER', 'VALID' or a sequence "
                         f"of (low, high) pairs, got {padding!r}")
    pads = []
    for size, window, stride in zip(in_shape, window_shape, window_strides):
        out = -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        low = total // 2 if mode == "SAME" else total - total // 2
        pads.append((low, total - low))
    return pads


def dilate(size: int, dilation: int) -> int:
    """The size of an axis of ``size`` elements with ``dilation - 1`` holes between them."""
    return 0 if size == 0 else 1 + dilation * (size - 1)


def transpose_padding(sizes, window, out, strides, padding, lhs_dilation, rhs_dilation) -> tuple:
    """The padding of the convolution (or window sum) that transposes one with these sizes
    and arguments with respect to its input: the cotangent, dilated by the strides, padded so
    that every window it slides becomes an input element (JAX's
    ``_conv_general_vjp_lhs_padding``; entries may be negative)."""
    pads = []
    for size, k, m, stride, (low, _), ld, rd in zip(sizes, window, out, strides, padding,
                                                    lhs_dilation, rhs_dilation):
        before = dilate(k, rd) - low - 1
        pads.append((before, dilate(size, ld) + dilate(k, rd) - 1 - dilate(m, stride) - before))
    return tuple(pads)


# ------------------------------------------------------------------------- the primitive

def _conv_shape(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count):
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ShapeError(f"lhs and rhs need the same number of dimensions, at least 2 (batch "
                         f"and feature), got {lhs.ndim} and {rhs.ndim}")
    if lhs.dtype != rhs.dtype:
        raise ShapeError(f"lhs and rhs share a dtype, got {lhs.dtype.name} and "
                         f"{rhs.dtype.name}; cast one with .astype")
    spatial = lhs.ndim - 2
    for name, value in (("window_strides", window_strides), ("padding", padding),
                        ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)):
        if len(value) != spatial:
            raise ShapeError(f"{name} needs one entry per spatial dimension ({spatial}), got "
                             f"{tuple(value)}")
    for name, value in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                        ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in value):
            raise ShapeError(f"{name} must be positive integers, got {tuple(value)}")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    n, c, *sizes = (lhs.shape[a] for a in lhs_spec)
    o, i, *window = (rhs.shape[a] for a in rhs_spec)
    groups, batch_groups = feature_group_count, batch_group_count
    if groups < 1 or batch_groups < 1:
        raise ShapeError(f"feature_group_count and batch_group_count must be positive, got "
                         f"{groups} and {batch_groups}")
    if groups > 1 and batch_groups > 1:
        raise ShapeError("at most one of feature_group_count and batch_group_count may be "
                         f"greater than 1, got {groups} and {batch_groups}")
    if c % groups or c // groups != i:
        raise ShapeError(f"feature_group_count={groups}: the lhs feature dimension ({c}) "
                         f"divided by it must equal the rhs input feature dimension ({i})")
    if o % groups or o % batch_groups:
        raise ShapeError(f"the rhs output feature dimension ({o}) must be a multiple of "
                         f"feature_group_count={groups} and batch_group_count={batch_groups}")
    if n % batch_groups:
        raise ShapeError(f"batch_group_count={batch_groups} must divide the lhs batch "
                         f"dimension ({n})")
    for size, (low, high), ld in zip(sizes, padding, lhs_dilation):
        if dilate(size, ld) + low + high < 0:
            raise ShapeError(f"negative padding {(low, high)} removes more than the "
                             f"dimension's {dilate(size, ld)} elements")
    out_spatial = _out_sizes(sizes, window, window_strides=window_strides, padding=padding,
                             lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation)
    canonical = (n // batch_groups, o, *out_spatial)
    shape = [0] * lhs.ndim
    for k, axis in enumerate(out_spec):
        shape[axis] = canonical[k]
    return ShapedArray(tuple(shape), lhs.dtype)


def _dilate_and_pad(x, dilation, padding):
    """``x`` (N, C, *spatial) with ``dilation - 1`` zeros between neighbours and the padding
    (negative: cropping) on each spatial axis; ``x`` itself when there is neither."""
    if all(d == 1 for d in dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    dilated = [dilate(n, d) for n, d in zip(x.shape[2:], dilation)]
    shape = x.shape[:2] + tuple(n + max(lo, 0) + max(hi, 0)
                                for n, (lo, hi) in zip(dilated, padding))
    out = np.zeros(shape, x.dtype)
    inner = tuple(slice(max(lo, 0), max(lo, 0) + n, d)
                  for n, (lo, _), d in zip(dilated, padding, dilation))
    out[(slice(None), slice(None)) + inner] = x
    if all(lo >= 0 and hi >= 0 for lo, hi in padding):
        return out
    crop = tuple(slice(-min(lo, 0), size + min(hi, 0))
                 for size, (lo, hi) in zip(shape[2:], padding))
    return out[(slice(None), slice(None)) + crop]


def _groups(groups: int, batch_groups: int) -> int:
    return groups if groups > 1 else batch_groups


def _layout(window, out, orr: int) -> str:
    """Which im2col layout ``_columns`` writes (see there): ``"positions"`` innermost where
    the output has at least as many positions as a window has elements; else ``"features"``
    where the per-feature products stay at most 4 times the columns' size, else ``"taps"``."""
    taps, positions = int(math.prod(window)), int(math.prod(out))
    if positions >= taps:
        return "positions"
    return "features" if orr <= 4 * taps else "taps"


def _columns(x, window, out, strides, dilation, groups: int, batch_groups: int, layout: str):
    """im2col: the window elements of canonical ``x`` (N, C, *P, dilated and padded) at each
    output position, copied from a strided view into the matrices ``_product`` multiplies.

    Both group kinds split the output features ``O = R * Or`` (R groups, major), and pair
    each group with a slice of the input: its features (feature groups) or its examples
    (batch groups, major in N). For (example, group), the window elements are features Cr and
    offsets K. Three layouts:

    - ``"positions"``, (examples, R, Cr K, positions): each example is a (Or, Cr K) x
      (Cr K, positions) product, batched by NumPy, and the output comes out in (N, O, *out)
      order. For windows smaller than the output, as in a forward pass;
    - ``"features"``, (R, Cr, K, examples positions): one (Or, K) x (K, examples positions)
      product per feature, summed over the features. For windows larger than the output, as
      in the convolution that is a kernel's cotangent (its windows span the whole output,
      its features are the batch). Its products stay small, so BLAS runs each on one thread:
      the one product of ``"taps"`` is large enough for OpenBLAS to thread it, which on a
      busy 2-core machine took 12 ms instead of 0.12 (the digits CNN's second kernel);
    - ``"taps"``, (R, examples positions, Cr K): one product per group; for windows larger
      than the output where the per-feature products would be large.
    """
    n, c = x.shape[:2]
    count = _groups(groups, batch_groups)
    nr, cr = n // batch_groups, c // groups
    sn, sc = x.strides[:2]
    group_stride = sn * nr if batch_groups > 1 else sc * cr   # (e, g) -> g nr + e, g cr + f
    window_strides = tuple(a * d for a, d in zip(x.strides[2:], dilation))
    out_strides = tuple(a * s for a, s in zip(x.strides[2:], strides))
    taps, positions = int(math.prod(window)), int(math.prod(out))
    window, out = tuple(window), tuple(out)
    if layout == "positions":
        view = as_strided(x, (nr, count, cr) + window + out, (sn, group_stride, sc)
                          + window_strides + out_strides, writeable=False)
        return view.reshape(nr, count, cr * taps, positions)
    if layout == "features":
        view = as_strided(x, (count, cr) + window + (nr,) + out, (group_stride, sc)
                          + window_strides + (sn,) + out_strides, writeable=False)
        return view.reshape(count, cr, taps, nr * positions)
    view = as_strided(x, (count, nr) + out + (cr,) + window, (group_stride, sn) + out_strides
                      + (sc,) + window_strides, writeable=False)
    return view.reshape(count, nr * positions, cr * taps)


def _shift_table(x, shifts, steps, padding):
    """The rows of ``x`` (B, R, *S; one or two spatial axes, ``padding`` >= 0) shifted: row
    ``(r, u)`` of the table, at ``b * block + i * W + j``, holds the padded ``x[b, r]`` at
    ``(i + u0 s0, j + u1 s1)``, for every shift ``u`` (C order) of the ``shifts`` grid.
    Returns the (R * prod(shifts), B * block) table and ``block``.

    A window of im2col is a run of whole rows when it spans the input's last axis (the
    output of a "same" convolution does): the last axis is not padded but stays W long, so
    the shifted copy of an example's padded rows is one contiguous run, as long as all of B
    examples, and the columns that the shift moved across a row's end are zeroed after. So
    the copy is R prod(shifts) runs, against one run of a row's few elements for every
    (example, feature, window offset, row) in ``_columns``' strided view (on the digits
    CNN's second convolution, 144 runs of 1536 elements instead of 36864 of 4; 0.2 M
    instructions instead of 2.5 M). Rows past a block's output rows hold junk; no product
    reads them."""
    if x.ndim == 3:   # one spatial axis: two, the first of one row
        x = x[:, :, None]
        shifts, steps, padding = (1, *shifts), (1, *steps), ((0, 0), *padding)
    b, r, h, w = x.shape
    (top, bottom), (left, _) = padding
    rows = h + top + bottom
    block, (u0, u1), (s0, s1) = rows * w, shifts, steps
    length = b * block
    # Zeros around the examples' rows: the vertical padding, ``left`` before the first row,
    # and what the farthest shift of the last block reads.
    source = np.zeros((r, length + (u0 - 1) * s0 * w + (u1 - 1) * s1), x.dtype)
    planes = source[:, left:left + length].reshape(r, b, rows, w)
    planes[:, :, top:top + h] = x.transpose(1, 0, 2, 3)
    item = source.itemsize
    shifted = as_strided(source, (r, u0, u1, length), (source.strides[0], s0 * w * item,
                                                       s1 * item, item), writeable=False)
    table = shifted.copy()
    grid = table.reshape(r, u0, u1, b * rows, w)
    for k in range(u1):
        moved = k * s1 - left   # output column j reads input column j + moved
        if moved < 0:
            grid[:, :, k, :, :-moved] = 0
        elif moved > 0:
            grid[:, :, k, :, max(w - moved, 0):] = 0
    return table.reshape(r * u0 * u1, length), block


def _shifted_columns(x, window, out, strides, dilation, padding, lhs_dilation, groups: int,
                     batch_groups: int, layout: str, orr: int):
    """``_columns``' matrices as strided views of a ``_shift_table``, or None where that
    does not apply. Each matrix the product multiplies holds the same numbers as there, in
    the same shape, so BLAS computes the same result; only its leading dimension (and for
    ``"features"`` its orientation) differs, which BLAS's packing absorbs.

    It applies with one or two spatial axes, no input dilation, no negative padding, and
    runs of whole rows: for ``"positions"`` the output positions are the run (stride 1, the
    output as wide as the input) and the window offsets the shifts; for ``"features"`` the
    window offsets are the run (no kernel dilation, the window as wide as the input) and the
    output positions the shifts (a kernel's cotangent of such a convolution). Not where a
    product has one row or one column (``orr``, the output features per group, or the
    columns' width is 1): NumPy then takes BLAS's matrix-vector path, whose order of
    summation does depend on the matrix's orientation."""
    if layout == "taps" or not 1 <= x.ndim - 2 <= 2 or any(d != 1 for d in lhs_dilation) \
            or any(lo < 0 or hi < 0 for lo, hi in padding):
        return None
    if layout == "positions":
        runs, shifts, steps, moving = out, window, dilation, strides
    else:
        runs, shifts, steps, moving = window, out, strides, dilation
    if any(s != 1 for s in moving) or runs[-1] != x.shape[-1]:
        return None
    n, c = x.shape[:2]
    count = _groups(groups, batch_groups)
    nr, cr = n // batch_groups, c // groups
    taps, positions = int(math.prod(window)), int(math.prod(out))
    width = positions if layout == "positions" else nr * positions
    if orr < 2 or width < 2 or not cr * taps or not x.size:
        return None
    item = x.itemsize
    if layout == "positions":
        # rows (feature, window offset) of each example's block
        table, block = _shift_table(x, tuple(shifts), tuple(steps), padding)
        line = table.strides[0]
        group = nr * block * item if batch_groups > 1 else cr * taps * line
        return as_strided(table, (nr, count, cr * taps, positions),
                          (block * item, group, line, item), writeable=False)
    # rows (example, output position); the features are the blocks
    table, block = _shift_table(x.swapaxes(0, 1), tuple(shifts), tuple(steps), padding)
    line = table.strides[0]
    group = nr * positions * line if batch_groups > 1 else cr * block * item
    return as_strided(table, (count, cr, taps, nr * positions),
                      (group, block * item, item, line), writeable=False)


def _product(columns, w, nr: int, out, groups: int, batch_groups: int, layout: str):
    """The convolution (N / batch_groups, O, *out) from ``_columns``' matrices and the
    canonical kernel ``w`` (O, Cr, *K), through BLAS."""
    o, cr = w.shape[:2]
    count = _groups(groups, batch_groups)
    orr, taps = o // count, int(math.prod(w.shape[2:]))
    positions = int(math.prod(out))
    if layout == "positions":
        result = np.matmul(w.reshape(count, orr, cr * taps), columns)   # (nr, R, Or, P)
    elif layout == "features":
        kernel = w.reshape(count, orr, cr, taps).transpose(0, 2, 1, 3)   # (R, Cr, Or, K)
        product = np.matmul(kernel, columns).sum(axis=1)                # (R, Or, nr P)
        result = product.reshape(count, orr, nr, positions).transpose(2, 0, 1, 3)
    else:
        product = np.matmul(columns, w.reshape(count, orr, cr * taps).transpose(0, 2, 1))
        result = product.reshape(count, nr, positions, orr).transpose(1, 0, 3, 2)
    return result.reshape((nr, o) + tuple(out))


def _out_sizes(sizes, window, *, window_strides, padding, lhs_dilation, rhs_dilation):
    """The output's spatial sizes (0 where the padded input is shorter than a window)."""
    result = []
    for size, k, (low, high), stride, ld, rd in zip(sizes, window, padding, window_strides,
                                                    lhs_dilation, rhs_dilation):
        padded, extent = dilate(size, ld) + low + high, dilate(k, rd)
        result.append((padded - extent) // stride + 1 if padded >= extent else 0)
    return tuple(result)


def _conv_impl(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count, batch_group_count):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = np.transpose(np.asarray(lhs), lhs_spec)
    w = np.transpose(np.asarray(rhs), rhs_spec)
    out = _out_sizes(x.shape[2:], w.shape[2:], window_strides=window_strides, padding=padding,
                     lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation)
    count = _groups(feature_group_count, batch_group_count)
    layout = _layout(w.shape[2:], out, w.shape[0] // count)
    columns = _shifted_columns(x, w.shape[2:], out, window_strides, rhs_dilation, padding,
                               lhs_dilation, feature_group_count, batch_group_count, layout,
                               w.shape[0] // count)
    if columns is None:
        columns = _columns(_dilate_and_pad(x, lhs_dilation, padding), w.shape[2:], out,
                           window_strides, rhs_dilation, feature_group_count,
                           batch_group_count, layout)
    result = _product(columns, w, x.shape[0] // batch_group_count, out, feature_group_count,
                      batch_group_count, layout)
    return result.transpose(np.argsort(out_spec))


# A compiled program writes the im2col matrix with a numba loop nest that reads the input in
# its own layout through a table, made once per equation (its shapes are fixed), of where
# each (window offset, output position) pair reads: an element offset, or -1 for padding and
# the holes of an input dilation. No padded copy is made, and the copy has no NumPy loop over
# rows of a few elements (which costs more than the matrix product on the small images of a
# CNN). The product is BLAS's. The kernel's text is the same for every convolution.

_COLUMNS_KERNEL = """def {name}(examples, groups, features, taps, positions, example_step,
        group_step, feature_step, x, table, cols):
    i = 0
{loops}
    return ()
"""
# The loop nest of each layout (``_columns``), outermost first; the innermost body copies.
_COLUMNS_LOOPS = {
    "positions": ("e", "g", "f", "k", "p"),
    "features": ("g", "f", "k", "e", "p"),
    "taps": ("g", "e", "p", "f", "k"),
}
_COLUMNS_RANGES = {"e": "examples", "g": "groups", "f": "features", "k": "taps",
                   "p": "positions"}


def _columns_kernel_code(name: str, layout: str) -> str:
    lines, pad = [], "    "
    for variable in _COLUMNS_LOOPS[layout]:
        lines.append(f"{pad}for {variable} in range({_COLUMNS_RANGES[variable]}):")
        pad += "    "
    lines += [f"{pad}j = table[k * positions + p]",
              f"{pad}cols[i] = x[e * example_step + g * group_step + f * feature_step"
              f" + max(j, 0)] if j >= 0 else 0",
              f"{pad}i += 1"]
    return _COLUMNS_KERNEL.format(name=name, loops="\n".join(lines))


def _read_table(params, lhs_shape, window, out) -> np.ndarray:
    """For window offset k and output position p (C order each), the offset of the input
    element that pair reads, relative to its (example, feature) start, or -1."""
    lhs_spec = params["dimension_numbers"].lhs_spec
    steps = np.cumprod((1,) + tuple(lhs_shape[:0:-1]))[::-1]
    table = np.zeros((int(math.prod(window)), int(math.prod(out))),
                     np.int64)
    valid = np.ones(table.shape, bool)
    for a, (k, m) in enumerate(zip(window, out)):
        taps = np.broadcast_to(np.arange(k).reshape(
            [k if b == a else 1 for b in range(len(window))]), window).reshape(-1)
        places = np.broadcast_to(np.arange(m).reshape(
            [m if b == a else 1 for b in range(len(out))]), out).reshape(-1)
        size, ld = lhs_shape[lhs_spec[2 + a]], params["lhs_dilation"][a]
        q = (places[None, :] * params["window_strides"][a] + taps[:, None]
             * params["rhs_dilation"][a] - params["padding"][a][0])
        valid &= (q >= 0) & (q < dilate(size, ld)) & (q % ld == 0)
        table += (q // ld) * int(steps[lhs_spec[2 + a]])
    return np.where(valid, table, -1).reshape(-1)


def _conv_compiled(eqn):
    """The compiled program's convolution: the numba im2col above, then ``_product``."""
    import types

    from ..backend.codegen import KernelSource
    from ..backend.compiler import compile_kernel
    params = eqn.params
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    lhs_shape, rhs_shape = eqn.inputs[0].aval.shape, eqn.inputs[1].aval.shape
    dtype = eqn.outputs[0].aval.dtype
    steps = np.cumprod((1,) + tuple(lhs_shape[:0:-1]))[::-1]
    n, c = lhs_shape[lhs_spec[0]], lhs_shape[lhs_spec[1]]
    window = tuple(rhs_shape[a] for a in rhs_spec[2:])
    out = _out_sizes([lhs_shape[a] for a in lhs_spec[2:]], window, **{k: params[k] for k in (
        "window_strides", "padding", "lhs_dilation", "rhs_dilation")})
    groups, batch_groups = params["feature_group_count"], params["batch_group_count"]
    count = _groups(groups, batch_groups)
    nr, cr = n // batch_groups, c // groups
    example_step, feature_step = int(steps[lhs_spec[0]]), int(steps[lhs_spec[1]])
    group_step = nr * example_step if batch_groups > 1 else cr * feature_step
    taps, positions = int(math.prod(window)), int(math.prod(out))
    layout = _layout(window, out, rhs_shape[rhs_spec[0]] // count)
    shape = {"positions": (nr, count, cr * taps, positions),
             "features": (count, cr, taps, nr * positions),
             "taps": (count, nr * positions, cr * taps)}[layout]
    table = _read_table(params, lhs_shape, window, out)
    name = f"conv_columns_{layout}"
    code = _columns_kernel_code(name, layout)
    sizes = [nr, count, cr, taps, positions, example_step, group_step, feature_step]
    index = types.SimpleNamespace(aval=ShapedArray(table.shape, table.dtype))
    buffer = types.SimpleNamespace(aval=ShapedArray(shape, dtype))
    kernel = compile_kernel(KernelSource(code, code, name, sizes, [eqn.inputs[0], index], [],
                                         [buffer], []), False)
    inverse = tuple(int(a) for a in np.argsort(out_spec))

    def run(lhs, rhs):
        columns = np.empty(shape, dtype)
        if columns.size:
            kernel(*sizes, np.ascontiguousarray(lhs).reshape(-1), table, columns.reshape(-1))
        result = _product(columns, np.transpose(rhs, rhs_spec), nr, out, groups, batch_groups,
                          layout)
        return result.transpose(inverse)
    return run


conv_p = Primitive("conv_general_dilated", "contraction")
conv_p.impl = _conv_impl
conv_p.abstract_eval = _conv_shape
conv_p.compiled_impl = _conv_compiled


def _conv_jvp(primals, tangents, **params):
    lhs, rhs = primals
    lhs_dot, rhs_dot = tangents
    out = conv_p.bind(lhs, rhs, **params)
    terms = ([conv_p.bind(lhs_dot, rhs, **params)] if lhs_dot is not None else []) + (
        [conv_p.bind(lhs, rhs_dot, **params)] if rhs_dot is not None else [])
    return out, None if not terms else terms[0] if len(terms) == 1 else ew.add(*terms)


conv_p.jvp = _conv_jvp


class _Traced:
    """The operations the transpose rules are written in, as primitives: the rules then
    work on tracers and have derivatives of their own."""
    reshape = staticmethod(st.reshape)
    transpose = staticmethod(st.transpose)
    conv = staticmethod(conv_p.bind)

    @staticmethod
    def flip(x, axes):
        return st.gather(x, [], st.IndexSpec([("slice", None, None, -1) if a in axes
                                              else st._FULL_SLICE for a in range(np.ndim(x))]))

    @staticmethod
    def zeros(shape, dtype):
        return st.broadcast_to(np.zeros((), dtype), shape)


class _Eager:
    """The same operations on NumPy arrays, for ``eager_vjp``: views, and the convolution's
    NumPy implementation called directly. A flipped kernel is a view here where it is a
    copy there, but the product copies it either way (``_product`` reshapes it), so the
    numbers are the same."""
    reshape = staticmethod(np.reshape)
    transpose = staticmethod(np.transpose)

    @staticmethod
    def conv(lhs, rhs, **params):
        return _conv_impl(lhs, rhs, **params)

    @staticmethod
    def flip(x, axes):
        return x[tuple(slice(None, None, -1) if a in axes else slice(None)
                       for a in range(x.ndim))]

    @staticmethod
    def zeros(shape, dtype):
        return np.zeros(shape, dtype)


def _reshape_axis_into(src: int, dst: int, x, ops=_Traced):
    """Merge axis ``src`` into axis ``dst`` (numbered without ``src``) as its major part."""
    ndim = np.ndim(x)
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    shape = list(np.delete(np.shape(x), src))
    shape[dst] *= np.shape(x)[src]
    return ops.reshape(ops.transpose(x, tuple(perm)), tuple(shape))


def _reshape_axis_out_of(src: int, size: int, x, ops=_Traced):
    """Split axis ``src`` into ``(size, rest)``."""
    shape = list(np.shape(x))
    shape[src:src + 1] = [size, shape[src] // size]
    return ops.reshape(x, tuple(shape))


def _swap_batch_feature(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _transpose_lhs(g, lhs_shape, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, ops=_Traced):
    """The cotangent of the input: ``g`` convolved with the flipped kernel, its input and
    output features swapped; the strides become input dilation (JAX's transpose rule)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_sizes = [lhs_shape[a] for a in lhs_spec[2:]]
    window = [np.shape(rhs)[a] for a in rhs_spec[2:]]
    out_sizes = [np.shape(g)[a] for a in out_spec[2:]]
    groups = feature_group_count
    if groups > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], groups, rhs, ops)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs, ops)
    elif batch_group_count > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs, ops)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs, ops)
        groups = batch_group_count
    pads = transpose_padding(lhs_sizes, window, out_sizes, window_strides, padding,
                             lhs_dilation, rhs_dilation)
    flipped = ops.flip(rhs, rhs_spec[2:])
    out = ops.conv(g, flipped, window_strides=tuple(lhs_dilation), padding=pads,
                   lhs_dilation=tuple(window_strides), rhs_dilation=tuple(rhs_dilation),
                   dimension_numbers=ConvDimensionNumbers(
                       out_spec, _swap_batch_feature(rhs_spec), lhs_spec),
                   feature_group_count=groups, batch_group_count=1)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out, ops)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out, ops)
    return out


def _transpose_rhs(g, lhs, rhs_shape, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, ops=_Traced):
    """The cotangent of the kernel: the input convolved with ``g``, batch and feature axes
    swapped (feature groups become batch groups); the strides become kernel dilation."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if np.size(g) == 0:   # no output: a kernel of zeros (and no degenerate convolution)
        return ops.zeros(rhs_shape, g.dtype)
    lhs_sizes = [np.shape(lhs)[a] for a in lhs_spec[2:]]
    window = [rhs_shape[a] for a in rhs_spec[2:]]
    out_sizes = [np.shape(g)[a] for a in out_spec[2:]]
    pads = []
    for size, k, out, stride, (low, _), ld, rd in zip(lhs_sizes, window, out_sizes,
                                                      window_strides, padding, lhs_dilation,
                                                      rhs_dilation):
        high = dilate(out, stride) - dilate(size, ld) + dilate(k, rd) - low - 1
        pads.append((low, high))
    return ops.conv(
        lhs, g, window_strides=tuple(rhs_dilation), padding=tuple(pads),
        lhs_dilation=tuple(lhs_dilation), rhs_dilation=tuple(window_strides),
        dimension_numbers=ConvDimensionNumbers(_swap_batch_feature(lhs_spec),
                                               _swap_batch_feature(out_spec),
                                               _swap_batch_feature(rhs_spec)),
        feature_group_count=batch_group_count, batch_group_count=feature_group_count)


def _conv_vjp(needs, g, ans, lhs, rhs, **params):
    return (_transpose_lhs(g, np.shape(lhs), rhs, **params) if needs[0] else None,
            _transpose_rhs(g, lhs, np.shape(rhs), **params) if needs[1] else None)


def _conv_eager_vjp(needs, g, ans, lhs, rhs, **params):
    """``_conv_vjp`` on NumPy arrays: the same two convolutions, run by ``_conv_impl`` without
    binding (eager reverse mode records nothing), the kernel flipped by a view."""
    return (_transpose_lhs(g, lhs.shape, rhs, ops=_Eager, **params) if needs[0] else None,
            _transpose_rhs(g, lhs, rhs.shape, ops=_Eager, **params) if needs[1] else None)


conv_p.vjp = _conv_vjp
conv_p.eager_vjp = _conv_eager_vjp


def _conv_batch(args, dims, **params):
    """vmap: a batch axis of the input joins its batch (or, with batch groups, each group's
    examples); of the kernel, its output features; of both, the feature groups (JAX's
    rule)."""
    lhs, rhs = args
    lhs_dim, rhs_dim = dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    groups, batch_groups = params["feature_group_count"], params["batch_group_count"]
    size = st.batch_size(args, dims)
    if size == 0:
        example = _conv_shape(ShapedArray(_unbatched(lhs, lhs_dim), lhs.dtype),
                              ShapedArray(_unbatched(rhs, rhs_dim), rhs.dtype), **params)
        return st.broadcast_to(np.zeros((), example.dtype), (0,) + example.shape), 0

    def conv(new_lhs, new_rhs, **changed):
        return conv_p.bind(new_lhs, new_rhs, **{**params, **changed})

    if lhs_dim is not None and rhs_dim is not None:
        if batch_groups > 1:
            new_lhs = _reshape_axis_into(lhs_dim, lhs_spec[0], lhs)
            changed = {"batch_group_count": batch_groups * size}
        else:
            new_lhs = _reshape_axis_into(lhs_dim, lhs_spec[1], lhs)
            changed = {"feature_group_count": groups * size}
        out = conv(new_lhs, _reshape_axis_into(rhs_dim, rhs_spec[0], rhs), **changed)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if lhs_dim is not None:
        if batch_groups == 1:
            out = conv(_reshape_axis_into(lhs_dim, lhs_spec[0], lhs), rhs)
            return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
        new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(lhs_dim <= lhs_spec[0]),
                                       batch_groups, lhs)
        new_lhs = _reshape_axis_into(lhs_dim + int(lhs_spec[0] < lhs_dim), lhs_spec[0] + 1,
                                     new_lhs)
        new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = conv(new_lhs, rhs)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    if groups == 1 and batch_groups == 1:
        out = conv(lhs, _reshape_axis_into(rhs_dim, rhs_spec[0], rhs))
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    # The groups stay outermost in the output features: factor them out of the kernel's,
    # put the batch inside each, and undo the same on the output.
    count = groups if groups > 1 else batch_groups
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rhs_dim <= rhs_spec[0]), count, rhs)
    new_rhs = _reshape_axis_into(rhs_dim + int(rhs_spec[0] < rhs_dim), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = conv(lhs, new_rhs)
    out = _reshape_axis_out_of(out_spec[1], count, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    return _reshape_axis_into(out_spec[1], out_spec[1] + 1, out), out_spec[1]


def _unbatched(x, dim):
    shape = np.shape(x)
    return shape if dim is None else shape[:dim] + shape[dim + 1:]


conv_p.batch = _conv_batch


def _conv_taylor(primals, series, **params):
    """Bilinear in the input and the kernel: the Cauchy product of their series under the
    convolution."""
    out = conv_p.bind(*primals, **params)
    product = ts.mul(ts.Series.of(primals[0], series[0]), ts.Series.of(primals[1], series[1]),
                     lambda x, kernel: conv_p.bind(x, kernel, **params))
    return out, product.tail()


conv_p.taylor = _conv_taylor


# ----------------------------------------------------------------------------- binding

def _ints(name: str, value, count: int, default: int = 1) -> tuple:
    if value is None:
        return (default,) * count
    if isinstance(value, (int, np.integer)):
        return (int(value),) * count
    try:
        values = tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(at_user_line(f"conv: {name} must be a sequence of {count} integers "
                                     f"(one per spatial dimension), got {value!r}")) from None
    if len(values) != count:
        raise ValueError(at_user_line(f"conv: {name} needs one entry per spatial dimension "
                                      f"({count}), got {value!r}"))
    if any(v < 1 for v in values):
        raise ValueError(at_user_line(f"conv: {name} must be positive integers, got "
                                      f"{value!r}"))
    return values


def _as_operand(x):
    return x if isinstance(x, Tracer) else np.asarray(x)


def conv_general_dilated(lhs, rhs, window_strides: Sequence[int],
                         padding: str | Sequence[tuple[int, int]],
                         lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None,
                         dimension_numbers=None, feature_group_count: int = 1,
                         batch_group_count: int = 1, precision=None,
                         preferred_element_type=None):
    """General N-d convolution (``jax.lax.conv_general_dilated``'s arguments and semantics).

    Args:
        lhs: the input, ``n + 2`` dimensions (``NCHW`` by default).
        rhs: the kernel, ``n + 2`` dimensions (``OIHW`` by default).
        window_strides: ``n`` strides.
        padding: ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``n`` ``(low, high)`` pairs
            (negative values crop).
        lhs_dilation: ``n`` input dilations (``d - 1`` zeros between neighbours: a
            transposed convolution), default 1.
        rhs_dilation: ``n`` kernel dilations (atrous convolution), default 1.
        dimension_numbers: None (``NCHW``/``OIHW``/``NCHW``), three layout strings such as
            ``("NHWC", "HWIO", "NHWC")``, or a ``ConvDimensionNumbers``.
        feature_group_count: split the input features into this many groups, each convolved
            with its share of the kernel's output features (``groups`` in PyTorch).
        batch_group_count: split the batch likewise (what a grouped kernel gradient is).
        precision: accepted for JAX's signature; computations are in the operands' dtype.
        preferred_element_type: the output's dtype (the operands are cast to it first).

    Returns:
        The convolution, in the layout of ``dimension_numbers``'s output spec. Operands of
        different dtypes are promoted (NumPy's rules) first.

    >>> import numpy as np
    >>> x, w = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))
    >>> conv_general_dilated(x, w, (2, 2), "SAME").shape
    (2, 4, 3, 3)
    >>> conv_general_dilated(x, w, (1, 1), ((1, 1), (0, 0)), rhs_dilation=(2, 1)).shape
    (2, 4, 3, 3)
    """
    del precision
    lhs, rhs = _as_operand(lhs), _as_operand(rhs)
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise TypeError(at_user_line(f"conv: lhs and rhs need the same number of dimensions "
                                     f"(batch, feature and the spatial ones), got shapes "
                                     f"{tuple(lhs.shape)} and {tuple(rhs.shape)}"))
    numbers = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    spatial = lhs.ndim - 2
    strides = _ints("window_strides", window_strides, spatial)
    lhs_dilation = _ints("lhs_dilation", lhs_dilation, spatial)
    rhs_dilation = _ints("rhs_dilation", rhs_dilation, spatial)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(at_user_line("conv: string padding with lhs_dilation is not "
                                          "defined; give explicit (low, high) pairs, or use "
                                          "conv_transpose"))
        window = [dilate(rhs.shape[a], d) for a, d in zip(numbers.rhs_spec[2:], rhs_dilation)]
        pads = padtype_to_pads([lhs.shape[a] for a in numbers.lhs_spec[2:]], window, strides,
                               padding)
    else:
        try:
            pads = [(operator.index(lo), operator.index(hi)) for lo, hi in padding]
        except (TypeError, ValueError):
            raise ValueError(at_user_line(f"conv: padding must be 'SAME', 'VALID' or a "
                                          f"sequence of (low, high) integer pairs, got "
                                          f"{padding!r}")) from None
        if len(pads) != spatial:
            raise ValueError(at_user_line(f"conv: padding needs one (low, high) pair per "
                                          f"spatial dimension ({spatial}), got {padding!r}"))
    for name, count in (("feature_group_count", feature_group_count),
                        ("batch_group_count", batch_group_count)):
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(at_user_line(f"conv: {name} must be a positive integer, got "
                                          f"{count!r}"))
    dtype = np.result_type(lhs.dtype, rhs.dtype) if preferred_element_type is None else \
        np.dtype(preferred_element_type)
    lhs, rhs = (x if x.dtype == dtype else ew.convert(x, dtype) for x in (lhs, rhs))
    params = dict(window_strides=strides, padding=tuple(map(tuple, pads)),
                  lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                  dimension_numbers=numbers, feature_group_count=int(feature_group_count),
                  batch_group_count=int(batch_group_count))
    conv_p.shape_check((lhs, rhs), params)   # eagerly too: the errors name the argument
    return conv_p.bind(lhs, rhs, **params)
