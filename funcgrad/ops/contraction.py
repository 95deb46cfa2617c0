"""``einsum``: the one contraction primitive behind dot, matmul, tensordot, inner and outer.

It takes one or two operands and a subscript string with no repeated letter inside one
operand and no ellipsis (``funcgrad.numpy.einsum`` rewrites those forms first). Two-operand
contractions run as a single batched ``matmul`` after transposes, so they reach BLAS. Its
derivative with respect to an operand is again an einsum, of the cotangent with the other
operand.
"""
from __future__ import annotations

import functools
import string

import numpy as np

from ..core.aval import ShapedArray
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import reduction
from . import structural as st


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


def _contract_pair(a, b, sa: str, sb: str, so: str):
    """Evaluate ``einsum(f"{sa},{sb}->{so}", a, b)`` as one batched matrix product."""
    only_a = [c for c in sa if c not in sb and c not in so]
    only_b = [c for c in sb if c not in sa and c not in so]
    if only_a:
        a = a.sum(axis=tuple(sa.index(c) for c in only_a))
        sa = "".join(c for c in sa if c not in only_a)
    if only_b:
        b = b.sum(axis=tuple(sb.index(c) for c in only_b))
        sb = "".join(c for c in sb if c not in only_b)
    batch = [c for c in so if c in sa and c in sb]
    free_a = [c for c in so if c in sa and c not in sb]
    free_b = [c for c in so if c in sb and c not in sa]
    summed = [c for c in sa if c in sb and c not in so]
    size = dict(zip(sa, a.shape)) | dict(zip(sb, b.shape))

    def count(letters):
        return int(np.prod([size[c] for c in letters], dtype=np.int64))

    a3 = a.transpose([sa.index(c) for c in batch + free_a + summed]).reshape(
        count(batch), count(free_a), count(summed))
    b3 = b.transpose([sb.index(c) for c in batch + summed + free_b]).reshape(
        count(batch), count(summed), count(free_b))
    product = np.matmul(a3, b3).reshape([size[c] for c in batch + free_a + free_b])
    order = batch + free_a + free_b
    return product.transpose([order.index(c) for c in so])


def _einsum_impl(*operands, spec):
    inputs, output = parse(spec)
    if len(operands) == 2:
        a, b = (np.asarray(x) for x in operands)
        return _contract_pair(a, b, inputs[0], inputs[1], output)[()]
    return np.einsum(spec, *operands)[()]


einsum_p = Primitive("einsum", "contraction")
einsum_p.impl = _einsum_impl
einsum_p.abstract_eval = _einsum_shape


def _operand_cotangent(g, operands, k, spec):
    """The cotangent of operand ``k``: the output cotangent contracted with the others."""
    inputs, output = parse(spec)
    target = inputs[k]
    others = [(inputs[i], operands[i]) for i in range(len(operands)) if i != k]
    reachable = output + "".join(s for s, _ in others)
    kept = "".join(c for c in target if c in reachable)
    subscripts = ",".join([output] + [s for s, _ in others]) + "->" + kept
    ct = einsum(subscripts, g, *[x for _, x in others])
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
    if len(operands) == 1:
        (subscripts,) = inputs
        summed = tuple(i for i, c in enumerate(subscripts) if c not in output)
        x = reduction.reduce_sum(operands[0], summed) if summed else operands[0]
        remaining = "".join(c for c in subscripts if c in output)
        return st.transpose(x, tuple(remaining.index(c) for c in output))
    return einsum_p.bind(*operands, spec=spec)
