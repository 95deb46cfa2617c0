"""A direct convolution in NumPy, for the tests: shift-and-add over the kernel's offsets,
written from XLA's definition independently of funcgrad's im2col implementation."""
from __future__ import annotations

import itertools

import numpy as np


def conv_reference(lhs, rhs, strides, padding, lhs_dilation=None, rhs_dilation=None,
                   dimension_numbers=None, feature_group_count=1, batch_group_count=1):
    """``lax.conv_general_dilated``'s numbers, one kernel offset at a time (explicit padding;
    ``dimension_numbers`` as axis positions ``(lhs_spec, rhs_spec, out_spec)`` or None)."""
    ndim = np.ndim(lhs)
    spatial = ndim - 2
    specs = dimension_numbers or (tuple(range(ndim)),) * 3
    x = np.transpose(lhs, specs[0]).astype(np.float64)
    w = np.transpose(rhs, specs[1]).astype(np.float64)
    lhs_dilation = lhs_dilation or (1,) * spatial
    rhs_dilation = rhs_dilation or (1,) * spatial
    # Dilate: d - 1 zeros between neighbours.
    dilated = np.zeros(x.shape[:2] + tuple(max(0, (n - 1) * d + 1)
                                           for n, d in zip(x.shape[2:], lhs_dilation)))
    dilated[(Ellipsis,) + tuple(slice(None, None, d) for d in lhs_dilation)] = x
    # Pad (negative: crop).
    positive = [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    padded = np.pad(dilated, [(0, 0), (0, 0)] + positive)
    padded = padded[(Ellipsis,) + tuple(slice(-min(lo, 0), n + min(hi, 0) if hi < 0 else None)
                                        for n, (lo, hi) in zip(padded.shape[2:], padding))]
    n, c = padded.shape[:2]
    o, i = w.shape[:2]
    window = w.shape[2:]
    extent = [(k - 1) * d + 1 for k, d in zip(window, rhs_dilation)]
    out_sizes = [max(0, (p - e) // s + 1) if p >= e else 0
                 for p, e, s in zip(padded.shape[2:], extent, strides)]
    groups = max(feature_group_count, batch_group_count)
    per_group = o // groups
    out = np.zeros((n // batch_group_count, o) + tuple(out_sizes))
    for g in range(groups):
        features = slice(g * per_group, (g + 1) * per_group)
        if batch_group_count > 1:
            source = padded[g * (n // groups):(g + 1) * (n // groups)]
        else:
            source = padded[:, g * i:(g + 1) * i]
        for offset in itertools.product(*[range(k) for k in window]):
            index = tuple(slice(k * d, k * d + (m - 1) * s + 1, s) if m else slice(0, 0)
                          for k, d, m, s in zip(offset, rhs_dilation, out_sizes, strides))
            taps = w[(features, slice(None)) + offset]       # (per_group, i)
            out[:, features] += np.einsum("oc,nc...->no...", taps, source[(Ellipsis,) + index])
    return np.transpose(out, np.argsort(specs[2])).astype(np.result_type(lhs, rhs))


def window_reference(x, reduce, fill, window, strides, padding, base_dilation=None,
                     window_dilation=None):
    """``lax.reduce_window`` one output element at a time: the operand dilated (holes of
    ``fill``), padded with ``fill`` (negative: cropped), and each window reduced by ``reduce``
    (``np.sum`` or ``np.max``)."""
    x = np.asarray(x)
    ndim = x.ndim
    base_dilation = base_dilation or (1,) * ndim
    window_dilation = window_dilation or (1,) * ndim
    dilated = np.full(tuple(max(0, (n - 1) * b + 1) for n, b in zip(x.shape, base_dilation)),
                      fill, x.dtype)
    dilated[tuple(slice(None, None, b) for b in base_dilation)] = x
    padded = np.pad(dilated, [(max(lo, 0), max(hi, 0)) for lo, hi in padding],
                    constant_values=fill)
    padded = padded[tuple(slice(-min(lo, 0), n + min(hi, 0) if hi < 0 else None)
                          for n, (lo, hi) in zip(padded.shape, padding))]
    extent = [(w - 1) * d + 1 for w, d in zip(window, window_dilation)]
    out_shape = [max(0, (p - e) // s + 1) if p >= e else 0
                 for p, e, s in zip(padded.shape, extent, strides)]
    out = np.empty(out_shape, x.dtype)
    for position in itertools.product(*[range(n) for n in out_shape]):
        block = padded[tuple(slice(o * s, o * s + e, d) for o, s, e, d in
                             zip(position, strides, extent, window_dilation))]
        out[position] = reduce(block)
    return out
