"""``einsum``: the one contraction primitive behind dot, matmul, tensordot, inner and outer.

It takes one or two operands and a subscript string with no repeated letter inside one
operand and no ellipsis (``funcgrad.numpy.einsum`` rewrites those forms first). Two-operand
contractions run as a single batched ``matmul`` after transposes, so they reach BLAS. Its
derivative with respect to an operand is again an einsum, of the cotangent with the other
operand.
"""
from __future__ import annotations

import functools
import math
import string

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import reduction
from . import structural as st
from . import taylor as ts


@functools.lru_cache(maxsize=4096)
def parse(spec: str):
    """``"ij,jk->ik"`` -> ``(("ij", "jk"), "ik")``."""
    inputs, output = spec.split("->")
    return tuple(inputs.split(",")), output


def _einsum_shape(*operands, spec):
    inputs, output = parse(spec)
    if len(inputs) != len(operands):
        raise ShapeError(f"'{spec}' names {len(inputs)} operands, {len(operands)} given")
    sizes: dict[str, int] = {}
    for subscripts, aval in zip(inputs, operands):
        if len(subscripts) != aval.ndim:
            raise ShapeError(f"subscripts '{subscripts}' do not fit an operand of shape "
                             f"{aval.shape}")
        for letter, size in zip(subscripts, aval.shape):
            if sizes.setdefault(letter, size) != size:
                raise ShapeError(f"'{spec}': index '{letter}' has sizes {sizes[letter]} and "
                                 f"{size} (shapes {', '.join(str(a.shape) for a in operands)})")
    dtypes = {aval.dtype for aval in operands}
    if len(dtypes) > 1:
        raise ShapeError("operands of one einsum share a dtype; cast one with .astype")
    return ShapedArray(tuple(sizes[letter] for letter in output), operands[0].dtype)


class _PairPlan:
    """How to run ``einsum(f"{sa},{sb}->{so}")`` on given shapes as one matrix product.

    Letters only one operand has and the output lacks are summed first; then each operand is
    permuted to (batch, free, summed) / (batch, summed, free) and flattened to a matrix (or a
    vector, so that BLAS's matrix-vector product is used), and the product is reshaped and
    permuted to the output's order. Identity permutations and reshapes are skipped.
    """

    def __init__(self, sa, sb, so, a_shape, b_shape):
        size = dict(zip(sa, a_shape)) | dict(zip(sb, b_shape))
        self.sum_a = tuple(i for i, c in enumerate(sa) if c not in sb and c not in so)
        self.sum_b = tuple(i for i, c in enumerate(sb) if c not in sa and c not in so)
        sa, sb = ("".join(c for c in sa if c in sb or c in so),
                  "".join(c for c in sb if c in sa or c in so))
        batch = [c for c in so if c in sa and c in sb]
        free_a = [c for c in so if c in sa and c not in sb]
        free_b = [c for c in so if c in sb and c not in sa]
        summed = [c for c in sa if c in sb and c not in so]

        def count(letters):
            return int(math.prod([size[c] for c in letters]))

        def permutation(letters, order):
            perm = tuple(letters.index(c) for c in order)
            return None if perm == tuple(range(len(perm))) else perm

        self.perm_a = permutation(sa, batch + free_a + summed)
        self.perm_b = permutation(sb, batch + summed + free_b)
        nb, nm, nk, nn = count(batch), count(free_a), count(summed), count(free_b)
        self.shape_a = (nb, nm, nk) if batch else ((nm, nk) if free_a else (nk,))
        self.shape_b = (nb, nk, nn) if batch else ((nk, nn) if free_b else (nk,))
        self.product_shape = tuple(size[c] for c in batch + free_a + free_b)
        self.matmul_shape = (nb, nm, nn) if batch else (
            ((nm,) if free_a else ()) + ((nn,) if free_b else ()))
        self.perm_out = permutation(batch + free_a + free_b, list(so))
        # With several batch letters, the shapes that keep them apart, for operands whose
        # batch axes do not merge without a copy (``_split_batch``).
        self.batch_sizes = tuple(size[c] for c in batch) if len(batch) > 1 else None
        # Operands that are the matrices already, and a product that is the result (a layer's
        # product): np.matmul itself, without the no-op reshapes.
        self.direct = (not self.sum_a and not self.sum_b and self.perm_a is None
                       and self.perm_b is None and self.perm_out is None
                       and tuple(a_shape) == self.shape_a and tuple(b_shape) == self.shape_b
                       and self.product_shape == self.matmul_shape)

    def __call__(self, a, b, out=None):
        """The product, written into ``out`` if given: a C-contiguous array of
        ``self.product_shape`` (the output is a view of it)."""
        if self.direct:
            return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
        # In the operands' dtype, as np.einsum sums: a sum of booleans is their "or" (NumPy's
        # default would be an int64 count), of int32s an int32.
        if self.sum_a:
            a = a.sum(axis=self.sum_a, dtype=a.dtype)
        if self.sum_b:
            b = b.sum(axis=self.sum_b, dtype=b.dtype)
        if self.perm_a is not None:
            a = a.transpose(self.perm_a)
        if self.perm_b is not None:
            b = b.transpose(self.perm_b)
        if self.batch_sizes is not None and not (_merges(a, len(self.batch_sizes))
                                                 and _merges(b, len(self.batch_sizes))) \
                and self._blas_takes(a, b):
            shape_a, shape_b, matmul_shape = self._split_batch()
        else:
            shape_a, shape_b, matmul_shape = self.shape_a, self.shape_b, self.matmul_shape
        a, b = a.reshape(shape_a), b.reshape(shape_b)
        if out is None:
            product = np.matmul(a, b).reshape(self.product_shape)
        else:
            product = out
            np.matmul(a, b, out=out.reshape(matmul_shape))
        return product if self.perm_out is None else product.transpose(self.perm_out)

    def _blas_takes(self, a, b) -> bool:
        """Whether ``np.matmul`` hands BLAS's matrix product the matrices of ``a`` and ``b``
        with their batch axes kept apart: each a matrix (no vector: NumPy has other paths
        there) whose last two axes, each one group of letters, are in place for BLAS (one of
        them of unit stride). Elsewhere NumPy would run its own loop, which sums in another
        order; the merged operands are copies, always in place."""
        nb = len(self.batch_sizes)
        if len(self.shape_a) != 3 or min(self.shape_a[1:] + self.shape_b[2:]) < 2 \
                or a.ndim != nb + 2 or b.ndim != nb + 2:
            return False
        return _blas_matrix(a) and _blas_matrix(b)

    def _split_batch(self):
        """The operand and product shapes with the batch axes kept apart: ``np.matmul``
        broadcasts over them and hands BLAS each matrix in place, where merging them into
        one axis would copy a permuted operand (attention's heads, a strided view of a
        (batch, sequence, heads, size) array: a copy of each of q, k and v per product).
        BLAS gets the same matrices either way, so the same numbers."""
        lead = self.batch_sizes
        return (lead + self.shape_a[1:], lead + self.shape_b[1:], lead + self.matmul_shape[1:])


def _merges(x, count: int) -> bool:
    """Whether the first ``count`` axes of ``x`` are one axis in memory (each stride the
    next one's times its size, or of size 1): reshaping them into one makes no copy."""
    axes = [(n, stride) for n, stride in zip(x.shape[:count], x.strides) if n != 1]
    return all(stride == axes[i + 1][1] * axes[i + 1][0]
               for i, (_, stride) in enumerate(axes[:-1]))


def _blas_matrix(x) -> bool:
    """Whether the matrices of ``x`` (its last two axes) are ones NumPy's matmul passes to
    BLAS as they are: one axis of unit stride and the other's stride a whole number of
    elements, at least the unit axis's length (its ``is_blasable2d``, either way round)."""
    item = x.itemsize
    rows, cols = x.shape[-2:]
    row_stride, col_stride = x.strides[-2:]

    def fits(outer, inner, inner_size):
        return inner == item and outer % item == 0 and outer // item >= inner_size
    return fits(row_stride, col_stride, cols) or fits(col_stride, row_stride, rows)


_pair_plans: dict = {}


def pair_plan(spec: str, a_shape, b_shape) -> _PairPlan:
    """The cached plan that runs the two-operand ``einsum(spec)`` on these shapes as one matrix
    product; calling it returns a new array (never a view of an operand)."""
    key = (spec, a_shape, b_shape)
    plan = _pair_plans.get(key)
    if plan is None:
        if len(_pair_plans) > 4096:
            _pair_plans.clear()
        (sa, sb), so = parse(spec)
        plan = _pair_plans[key] = _PairPlan(sa, sb, so, a_shape, b_shape)
    return plan


def _einsum_impl(*operands, spec):
    if len(operands) == 2:
        a, b = operands
        if type(a) is not np.ndarray:
            a = np.asarray(a)
        if type(b) is not np.ndarray:
            b = np.asarray(b)
        return pair_plan(spec, a.shape, b.shape)(a, b)[()]
    return np.einsum(spec, *operands)[()]


einsum_p = Primitive("einsum", "contraction")
einsum_p.impl = _einsum_impl
einsum_p.abstract_eval = _einsum_shape


@functools.lru_cache(maxsize=4096)
def _cotangent_spec(spec: str, k: int):
    """For operand ``k`` of ``einsum(spec)``: the subscripts that contract the output cotangent
    with the other operands into its cotangent, and the letters of operand ``k`` they keep
    (the others are summed inside operand ``k`` alone)."""
    inputs, output = parse(spec)
    others = [s for i, s in enumerate(inputs) if i != k]
    reachable = output + "".join(others)
    kept = "".join(c for c in inputs[k] if c in reachable)
    return ",".join([output] + others) + "->" + kept, kept


def _operand_cotangent(g, operands, k, spec):
    """The cotangent of operand ``k``: the output cotangent contracted with the others."""
    subscripts, kept = _cotangent_spec(spec, k)
    ct = einsum(subscripts, g, *[x for i, x in enumerate(operands) if i != k])
    target = parse(spec)[0][k]
    if kept == target:
        return ct
    # Letters summed inside operand k alone: every element there gets the same cotangent.
    shape = np.shape(operands[k])
    keep_shape = [shape[i] if c in kept else 1 for i, c in enumerate(target)]
    return st.broadcast_to(st.reshape(ct, keep_shape), shape)


def _einsum_jvp(primals, tangents, *, spec):
    out = einsum(spec, *primals)
    total = None
    for k, t in enumerate(tangents):
        if t is not None:
            term = einsum(spec, *primals[:k], t, *primals[k + 1:])
            total = term if total is None else ew.add(total, term)
    return out, total


einsum_p.jvp = _einsum_jvp
einsum_p.vjp = lambda needs, g, ans, *operands, spec: tuple(
    _operand_cotangent(g, operands, k, spec) if needs[k] else None
    for k in range(len(operands)))


def _sums_nothing(spec: str) -> bool:
    """Whether every letter of ``spec``'s operands is in its output (an elementwise product,
    which as a matmul would be a batch of 1x1 matrices)."""
    inputs, output = parse(spec)
    return all(c in output for c in "".join(inputs))


@functools.lru_cache(maxsize=4096)
def _eager_cotangent_specs(spec: str):
    """Per operand of the two-operand ``einsum(spec)``: the subscripts of its cotangent as one
    product of the output cotangent and the other operand, or None where that is not how
    ``_einsum_eager_vjp`` makes it."""
    inputs, _ = parse(spec)
    specs = []
    for k in (0, 1):
        subscripts, kept = _cotangent_spec(spec, k)
        specs.append(None if kept != inputs[k] or _sums_nothing(subscripts) else subscripts)
    return tuple(specs)


def _einsum_eager_vjp(needs, g, ans, *operands, spec):
    """The cotangents of a product of two arrays as products in NumPy (``impl``, through the
    cached matrix-product plans) where each keeps every letter of its operand and sums some
    (else the traced rule, on these numbers)."""
    if len(operands) != 2 or type(g) is not np.ndarray:
        return einsum_p.vjp(needs, g, ans, *operands, spec=spec)
    cts = []
    for k, subscripts in enumerate(_eager_cotangent_specs(spec)):
        if not needs[k]:
            cts.append(None)
        elif subscripts is None:
            cts.append(_operand_cotangent(g, operands, k, spec))
        else:
            cts.append(einsum_p.impl(g, operands[1 - k], spec=subscripts))
    return tuple(cts)


einsum_p.eager_vjp = _einsum_eager_vjp


def _einsum_batch(operands, dims, *, spec):
    """A fresh letter for the batch axis, where each batched operand has it; first in the
    output. A batch shared by both operands of a product becomes the batch of one matmul."""
    inputs, output = parse(spec)
    letter = next((c for c in string.ascii_letters if c not in spec), None)
    if letter is None:
        raise ValueError(f"einsum '{spec}' uses every letter: no letter is left for a batch "
                         "axis")
    batched = [s if d is None else s[:d] + letter + s[d:] for s, d in zip(inputs, dims)]
    return einsum(",".join(batched) + "->" + letter + output, *operands), 0


einsum_p.batch = _einsum_batch


def _einsum_taylor(primals, series, *, spec):
    # Multilinear: the Cauchy product of the operands' series under the contraction, taken
    # two operands at a time (an n-fold sum over orders would cost O(K^n)), each step keeping
    # the letters that the output or a later operand still needs.
    inputs, output = parse(spec)
    out = einsum_p.bind(*primals, spec=spec)
    product, letters = ts.Series.of(primals[0], series[0]), inputs[0]
    if len(primals) == 1:
        return out, [None if t is None else einsum_p.bind(t, spec=spec) for t in series[0]]
    for i in range(1, len(primals)):
        needed = output + "".join(inputs[i + 1:])
        kept = output if i == len(primals) - 1 else "".join(
            dict.fromkeys(c for c in letters + inputs[i] if c in needed))
        step = f"{letters},{inputs[i]}->{kept}"
        product = ts.mul(product, ts.Series.of(primals[i], series[i]),
                         lambda a, b, step=step: einsum(step, a, b))
        letters = kept
    return out, product.tail()


einsum_p.taylor = _einsum_taylor


def _aligned(x, subscripts: str, output: str):
    """``x`` with its axes in the order of ``output``'s letters, and an axis of size 1 for each
    letter it lacks: ready to broadcast against the output."""
    order = sorted(range(len(subscripts)), key=lambda i: output.index(subscripts[i]))
    x = st.transpose(x, tuple(order)) if order != list(range(len(order))) else x
    shape = [np.shape(x)[sorted(subscripts, key=output.index).index(c)] if c in subscripts
             else 1 for c in output]
    return st.reshape(x, tuple(shape)) if tuple(shape) != np.shape(x) else x


def einsum(spec: str, *operands):
    """Bind the einsum primitive; a plain permutation or sum is emitted as such."""
    inputs, output = parse(spec)
    if len(operands) == 2:
        # A product with a concrete scalar 1 (a seed cotangent) is the other operand.
        for k in (0, 1):
            if inputs[k] == "" and ew._is_concrete_one(operands[k]):
                spec = f"{inputs[1 - k]}->{output}"
                inputs, operands = (inputs[1 - k],), (operands[1 - k],)
                break
    if len(operands) == 2 and _sums_nothing(spec):
        # Nothing is summed (an outer or a broadcast product, as vmap makes of a scalar
        # times a vector): a product of elements, which fuses into kernels; as a matmul it
        # would be a batch of 1x1 matrices.
        return ew.mul(*(_aligned(x, subscripts, output)
                        for x, subscripts in zip(operands, inputs)))
    if len(operands) == 1:
        (subscripts,) = inputs
        summed = tuple(i for i, c in enumerate(subscripts) if c not in output)
        x = reduction.reduce_sum(operands[0], summed) if summed else operands[0]
        remaining = "".join(c for c in subscripts if c in output)
        return st.transpose(x, tuple(remaining.index(c) for c in output))
    return einsum_p.bind(*operands, spec=spec)
