"""Products of ``funcgrad.numpy``: einsum, dot, matmul, tensordot, inner, outer, vdot, kron.

Every product is one or more ``einsum`` primitives (``funcgrad.ops.contraction``), which take
one or two operands whose subscripts hold each letter once and no ellipsis. This module turns
NumPy's full forms into that one: ellipses become fresh letters, a letter repeated inside one
operand becomes a diagonal (a ``gather``), an axis of size 1 that NumPy broadcasts against a
longer one is dropped (a ``reshape``), and three or more operands contract pairwise, left to
right. On concrete inputs every function here is NumPy's own.
"""
from __future__ import annotations

import string

import numpy as np

from ..core.errors import ShapeError, at_user_line
from ..core.trace import Tracer
from ..ops import contraction
from ..ops import elementwise as ew_ops
from ..ops import structural as st
from ._core import asarray_or_tracer, cast, common_dtype
from ._core import traced as _traced
from ._elementwise import multiply

__all__ = ["einsum", "dot", "matmul", "tensordot", "inner", "outer", "vdot", "kron", "matvec",
           "vecmat", "vecdot"]

_LETTERS = string.ascii_letters   # A sublist's axis label k is _SUBLIST_LETTERS[k].
_SUBLIST_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_BATCH_LETTERS = "".join(c for c in _LETTERS if c not in "xyz")   # matmul: "xy,yz->xz"



def _promote(*values):
    """The operands as arrays or tracers of their common dtype.

    NumPy's products (unlike its ufuncs) turn a Python scalar into an array first, so
    ``dot(2.0, float32_array)`` is float64: the scalars here are converted before promotion.
    """
    operands = [asarray_or_tracer(v) for v in values]
    dtype = common_dtype(*operands)
    return [cast(x, dtype) for x in operands]


def _no_out(who: str, out) -> None:
    if out is not None:
        raise TypeError(f"{who}: out= cannot receive traced values; use the return value")


def _shapes(*values) -> str:
    """``"(2, 3) and (4,)"``: the shapes, for error messages."""
    shapes = [str(tuple(np.shape(v))) for v in values]
    return ", ".join(shapes[:-1]) + " and " + shapes[-1] if len(shapes) > 1 else shapes[0]


def _drop_axes(x, term: str, letters) -> tuple:
    """``x`` (subscripts ``term``) without the size-1 axes labelled by ``letters``."""
    kept = [i for i, c in enumerate(term) if c not in letters]
    x = st.reshape(x, [np.shape(x)[i] for i in kept])
    return x, "".join(term[i] for i in kept)


# ------------------------------------------------------------------------------- einsum

def _sublists_to_string(args):
    """NumPy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as a string form."""
    def term(sublist):
        labels = []
        for label in sublist:
            if label is Ellipsis:
                labels.append("...")
            elif isinstance(label, (int, np.integer)) and 0 <= label < len(_SUBLIST_LETTERS):
                labels.append(_SUBLIST_LETTERS[label])
            else:
                raise ValueError(f"einsum: subscript {label!r} in a sublist is not an integer "
                                 f"in [0, {len(_SUBLIST_LETTERS)}) or Ellipsis")
        return "".join(labels)

    output = term(args[-1]) if len(args) % 2 else None
    args = args[:len(args) // 2 * 2]
    operands = list(args[0::2])
    terms = [term(sublist) for sublist in args[1::2]]
    subscripts = ",".join(terms) + ("" if output is None else "->" + output)
    return subscripts, operands


def _check_term(term: str, where: str) -> None:
    if term.count("...") > 1:
        raise ValueError(f"einsum: {where} '{term}' holds more than one ellipsis '...'")
    for letter in term.replace("...", ""):
        if letter not in _LETTERS:
            raise ValueError(f"einsum: invalid subscript {letter!r} in {where} '{term}': "
                             "subscripts are letters, with at most one '...'")


def _expand_ellipses(subscripts: str, operands):
    """``(terms, output, ellipsis_letters)`` with every '...' replaced by fresh letters."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    output = output if arrow else None
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: '{subscripts}' names {len(terms)} operand(s), "
                         f"{len(operands)} given")
    for k, term in enumerate(terms):
        _check_term(term, f"the subscripts of operand {k}")
    if output is not None:
        _check_term(output, "the output subscripts")
    used = set(subscripts)
    free = [c for c in _LETTERS if c not in used]
    counts = []
    for k, (term, x) in enumerate(zip(terms, operands)):
        named = len(term.replace("...", ""))
        if ("..." in term and named > np.ndim(x)) or ("..." not in term and named != np.ndim(x)):
            raise ValueError(f"einsum: subscripts '{term}' do not fit operand {k} of shape "
                             f"{np.shape(x)} ({np.ndim(x)}-d)")
        counts.append(np.ndim(x) - named)
    ellipsis = "".join(free[:max(counts, default=0)])
    if len(ellipsis) < max(counts, default=0):
        raise ValueError("einsum: too many axes under '...': at most 52 letters in all")
    terms = [t.replace("...", ellipsis[len(ellipsis) - n:]) for t, n in zip(terms, counts)]
    if output is None:
        once = sorted(c for c in set("".join(terms)) - set(ellipsis)
                      if "".join(terms).count(c) == 1)
        output = ellipsis + "".join(once)
    elif "..." in output:
        output = output.replace("...", ellipsis)
    elif ellipsis:
        raise ValueError(f"einsum: '{subscripts}' has '...' axes in its operands but not in its "
                         "output; write '...' in the output, or sum them afterwards")
    for letter in output:
        if output.count(letter) > 1:
            raise ValueError(f"einsum: output subscript {letter!r} appears more than once")
        if not any(letter in t for t in terms):
            raise ValueError(f"einsum: output subscript {letter!r} appears in no operand")
    return terms, output, ellipsis


def _letter_sizes(subscripts, terms, operands, ellipsis) -> dict:
    """The size of every letter, checking NumPy's rule: equal, or 1 (broadcast)."""
    sizes: dict[str, int] = {}
    for term, x in zip(terms, operands):
        for letter, size in zip(term, np.shape(x)):
            known = sizes.setdefault(letter, size)
            if known == size or size == 1:
                continue
            if known != 1:
                name = "an axis under '...'" if letter in ellipsis else f"index {letter!r}"
                raise ValueError(f"einsum: '{subscripts}': {name} has sizes {known} and {size} "
                                 f"(operand shapes {_shapes(*operands)})")
            sizes[letter] = size
    return sizes


def _take_diagonals(x, term: str, k: int):
    """Operand ``x`` with each repeated letter of ``term`` reduced to its diagonal."""
    repeated = [c for c in dict.fromkeys(term) if term.count(c) > 1]
    if not repeated:
        return x, term
    shape = np.shape(x)
    singles = [c for c in term if term.count(c) == 1]
    order = [i for c in repeated for i, d in enumerate(term) if d == c]
    order += [term.index(c) for c in singles]
    x = st.transpose(x, order)
    entries, indices = [], []
    for r, letter in enumerate(repeated):
        sizes = {shape[i] for i, c in enumerate(term) if c == letter}
        if len(sizes) > 1:
            raise ValueError(f"einsum: operand {k} of shape {shape}: the axes of repeated index "
                             f"{letter!r} differ in size {sorted(sizes)}")
        index_shape = [1] * len(repeated)
        index_shape[r] = sizes.pop()
        indices.append(np.arange(index_shape[r]).reshape(index_shape))
        entries += [("array", r)] * term.count(letter)
    entries += [("slice", None, None, None)] * len(singles)
    # The index arrays are adjacent and first, so the diagonal axes lead the result.
    return st.gather(x, indices, st.IndexSpec(entries)), "".join(repeated + singles)


def _contract_all(terms, output, operands):
    """Contract the operands pairwise, left to right, into ``output``."""
    if len(operands) == 1:
        return contraction.einsum(f"{terms[0]}->{output}", operands[0])
    result, result_term = operands[0], terms[0]
    for k in range(1, len(operands)):
        if k == len(operands) - 1:
            kept = output
        else:
            needed = set(output).union(*terms[k + 1:])
            kept = "".join(c for c in dict.fromkeys(result_term + terms[k]) if c in needed)
        spec = f"{result_term},{terms[k]}->{kept}"
        result, result_term = contraction.einsum(spec, result, operands[k]), kept
    return result


def einsum(subscripts, *operands, out=None, dtype=None, order="K", casting="safe",
           optimize=False):
    """``numpy.einsum``: the Einstein summation convention, traceable and differentiable.

    Takes the string form (implicit or explicit output, ``'...'``, repeated letters for
    diagonals, any number of operands) and NumPy's interleaved sublist form. On traced
    inputs ``optimize`` is accepted and ignored: operands contract pairwise, left to right.

    Args:
      subscripts: e.g. ``"ij,jk->ik"``; or the first operand, in the sublist form.
      *operands: the arrays (traced or not).
      out, order: NumPy's, for concrete inputs only.
      dtype, casting: compute in ``dtype``, if NumPy's ``casting`` rule allows it.
      optimize: NumPy's contraction order search; no effect on traced inputs.

    Returns:
      The contraction, NumPy's shape and dtype.

    >>> import funcgrad.numpy as fnp
    >>> fnp.einsum("ii->i", fnp.eye(2) * 3.0)
    array([3., 3.])
    """
    if not _traced(subscripts, *operands):
        return np.einsum(subscripts, *operands, out=out, dtype=dtype, order=order,
                         casting=casting, optimize=optimize)
    _no_out("einsum", out)
    if not isinstance(subscripts, str):
        subscripts, operands = _sublists_to_string((subscripts,) + operands)
    if not operands:
        raise ValueError("einsum: no operands given")
    operands = _promote(*operands)
    if dtype is not None:
        if not np.can_cast(operands[0].dtype, dtype, casting):
            raise TypeError(f"einsum: cannot cast {operands[0].dtype.name} to "
                            f"{np.dtype(dtype).name} under casting={casting!r}")
        operands = [cast(x, dtype) for x in operands]
    terms, output, ellipsis = _expand_ellipses(subscripts, operands)
    operands = list(operands)
    for k in range(len(operands)):
        operands[k], terms[k] = _take_diagonals(operands[k], terms[k], k)
    sizes = _letter_sizes(subscripts, terms, operands, ellipsis)
    for k, (term, x) in enumerate(zip(terms, operands)):
        stretched = [c for c, n in zip(term, np.shape(x)) if n == 1 and sizes[c] != 1]
        if stretched:
            # Broadcasting a size-1 axis equals dropping it: the contraction never reads it.
            operands[k], terms[k] = _drop_axes(x, term, stretched)
    return _contract_all(terms, output, operands)


# ------------------------------------------------------------------ dot and its relatives

def _contract_axes(who: str, a, b, axes_a, axes_b):
    """Contract axis ``axes_a[i]`` of ``a`` with ``axes_b[i]`` of ``b`` (same dtype).

    The result has the other axes of ``a``, then the other axes of ``b``, in order.
    """
    shape_a, shape_b = np.shape(a), np.shape(b)
    for i, j in zip(axes_a, axes_b):
        if shape_a[i] != shape_b[j]:
            raise ValueError(at_user_line(
                f"{who}: shapes {_shapes(a, b)} not aligned: axis {i} of the first has size "
                f"{shape_a[i]}, axis {j} of the second has size {shape_b[j]}"))
    if len(shape_a) + len(shape_b) - len(axes_a) > len(_LETTERS):
        raise ValueError(f"{who}: operands of shapes {_shapes(a, b)} have too many axes")
    letters = iter(_LETTERS)
    term_a = [next(letters) for _ in shape_a]
    term_b = [next(letters) for _ in shape_b]
    for i, j in zip(axes_a, axes_b):
        term_b[j] = term_a[i]
    free_a = [c for i, c in enumerate(term_a) if i not in axes_a]
    free_b = [c for j, c in enumerate(term_b) if j not in axes_b]
    spec = f"{''.join(term_a)},{''.join(term_b)}->{''.join(free_a + free_b)}"
    return contraction.einsum(spec, a, b)


def dot(a, b, out=None):
    """``numpy.dot``: scalars multiply, vectors give an inner product, and otherwise the last
    axis of ``a`` is contracted with the second-to-last of ``b`` (the only one, if 1-d).

    >>> import funcgrad.numpy as fnp
    >>> fnp.dot(fnp.array([1.0, 2.0]), fnp.array([3.0, 4.0]))
    array(11.)
    """
    if not _traced(a, b):
        return np.dot(a, b, out=out)
    _no_out("dot", out)
    a, b = _promote(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    return _contract_axes("dot", a, b, [np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)])


def _label_batch(a, b, core_a: str, core_b: str):
    """Subscripts for ``a`` and ``b`` whose last axes are labelled ``core_a`` and ``core_b``
    and whose leading (batch) axes broadcast against each other.

    A batch axis that one operand lacks, or holds with size 1 against a longer one, is left
    out of that operand's subscripts instead of being broadcast: one matrix then serves
    every batch entry without being copied, and the contraction sums its cotangent.

    Returns ``(batch, (a, term_a), (b, term_b))``, ``batch`` labelling the result's batch axes.
    """
    shape_a, shape_b = np.shape(a), np.shape(b)
    try:
        batch_shape = ew_ops._broadcast_shapes(shape_a[:-len(core_a)], shape_b[:-len(core_b)])
    except ShapeError:
        raise ValueError(f"matmul: the batch axes of shapes {_shapes(a, b)} do not "
                         "broadcast") from None
    if len(batch_shape) > len(_BATCH_LETTERS):
        raise ValueError(f"matmul: shapes {_shapes(a, b)} have too many batch axes")
    batch = _BATCH_LETTERS[:len(batch_shape)]

    def label(x, core):
        shape = np.shape(x)
        term = batch[len(batch) + len(core) - len(shape):] + core
        stretched = [c for c, n in zip(term, shape)
                     if c in batch and n != batch_shape[batch.index(c)]]
        if stretched:
            x, term = _drop_axes(x, term, stretched)
        return x, term

    return batch, label(a, core_a), label(b, core_b)


def matmul(x1, x2, /, out=None, *, dtype=None):
    """``numpy.matmul`` (``x1 @ x2``): matrix products broadcast over leading batch axes.

    A 1-d operand is a vector: a row on the left, a column on the right, and its axis is
    absent from the result. Scalars are an error, as in NumPy.

    >>> import funcgrad.numpy as fnp
    >>> fnp.matmul(fnp.ones((2, 3)), fnp.ones(3))
    array([3., 3.])
    """
    kind1, kind2 = type(x1), type(x2)
    if (kind1 is Tracer or kind2 is Tracer) and (kind1 is Tracer or isinstance(x1, np.ndarray)) \
            and (kind2 is Tracer or isinstance(x2, np.ndarray)) and out is None and dtype is None \
            and x1.ndim == 2 and x2.ndim == 2 and x1.dtype == x2.dtype \
            and x1.shape[1] == x2.shape[0]:
        # Two matrices of one dtype (a layer's product): the product, without the general
        # form's promotion and batch labelling.
        return contraction.einsum_p.bind(x1, x2, spec="xy,yz->xz")
    if not _traced(x1, x2):
        return np.matmul(x1, x2, out=out, dtype=dtype)
    _no_out("matmul", out)
    a, b = _promote(x1, x2)
    if dtype is not None:
        a, b = cast(a, dtype), cast(b, dtype)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {_shapes(a, b)} "
                         "(use * to multiply by a scalar)")
    size_a = np.shape(a)[-1]
    size_b = np.shape(b)[0] if np.ndim(b) == 1 else np.shape(b)[-2]
    if size_a != size_b:
        hint = ("; x1 @ x2.T would contract the second's last axis (a weight stored "
                "(out, in), as torch's Linear)" if np.ndim(b) >= 2 and np.shape(b)[-1] == size_a
                else "")
        raise ValueError(at_user_line(
            f"matmul: shapes {_shapes(a, b)} not aligned: the last axis of the first has size "
            f"{size_a}, the contracted axis of the second has size {size_b}{hint}"))
    # "y" is the contracted letter; a vector operand has no row ("x") or column ("z") axis.
    core_a = "y" if np.ndim(a) == 1 else "xy"
    core_b = "y" if np.ndim(b) == 1 else "yz"
    batch, (a, term_a), (b, term_b) = _label_batch(a, b, core_a, core_b)
    out_term = batch + core_a.replace("y", "") + core_b.replace("y", "")
    return contraction.einsum(f"{term_a},{term_b}->{out_term}", a, b)


def _tensordot_axes(axes, ndim_a: int, ndim_b: int):
    """NumPy's ``axes`` argument of ``tensordot`` as two equally long lists of axes."""
    if isinstance(axes, (int, np.integer)):
        count = int(axes)
        if count < 0 or count > min(ndim_a, ndim_b):
            raise ValueError(f"tensordot: axes={count} must lie in [0, {min(ndim_a, ndim_b)}] "
                             f"for operands of {ndim_a} and {ndim_b} axes")
        return list(range(ndim_a - count, ndim_a)), list(range(count))
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise ValueError("tensordot: axes must be an int or a pair of sequences of axes") from None
    pairs = []
    for axes_x, ndim in ((axes_a, ndim_a), (axes_b, ndim_b)):
        axes_x = [axes_x] if isinstance(axes_x, (int, np.integer)) else list(axes_x)
        for axis in axes_x:
            if not -ndim <= axis < ndim:
                raise np.exceptions.AxisError(f"tensordot: axis {axis} is out of bounds for an "
                                              f"array of dimension {ndim}")
        axes_x = [int(axis) % ndim for axis in axes_x]
        if len(set(axes_x)) != len(axes_x):
            raise ValueError(f"tensordot: repeated axis in {axes_x}")
        pairs.append(axes_x)
    if len(pairs[0]) != len(pairs[1]):
        raise ValueError(f"tensordot: {len(pairs[0])} axes of the first operand against "
                         f"{len(pairs[1])} of the second")
    return pairs


def tensordot(a, b, axes=2):
    """``numpy.tensordot``: contract the given axes of ``a`` with those of ``b``.

    ``axes`` is an int ``N`` (the last ``N`` axes of ``a`` with the first ``N`` of ``b``) or
    a pair of sequences of axes. The result has the remaining axes of ``a``, then of ``b``.

    >>> import funcgrad.numpy as fnp
    >>> fnp.tensordot(fnp.ones((2, 3, 4)), fnp.ones((3, 4, 5)), axes=2).shape
    (2, 5)
    """
    if not _traced(a, b):
        return np.tensordot(a, b, axes)
    a, b = _promote(a, b)
    axes_a, axes_b = _tensordot_axes(axes, np.ndim(a), np.ndim(b))
    return _contract_axes("tensordot", a, b, axes_a, axes_b)


def inner(a, b, /):
    """``numpy.inner``: contract the last axes of ``a`` and ``b`` (scalars multiply).

    >>> import funcgrad.numpy as fnp
    >>> fnp.inner(fnp.ones((2, 3)), fnp.ones((4, 3))).shape
    (2, 4)
    """
    if not _traced(a, b):
        return np.inner(a, b)
    a, b = _promote(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    return _contract_axes("inner", a, b, [np.ndim(a) - 1], [np.ndim(b) - 1])


def outer(a, b, out=None):
    """``numpy.outer``: ``out[i, j] = a.ravel()[i] * b.ravel()[j]``.

    >>> import funcgrad.numpy as fnp
    >>> fnp.outer(fnp.array([1.0, 2.0]), fnp.array([1.0, 10.0, 100.0])).shape
    (2, 3)
    """
    if not _traced(a, b):
        return np.outer(a, b, out=out)
    _no_out("outer", out)
    a, b = _promote(a, b)
    a, b = st.reshape(a, (np.size(a),)), st.reshape(b, (np.size(b),))
    return _contract_axes("outer", a, b, [], [])


def vdot(a, b, /):
    """``numpy.vdot``: the dot product of the flattened arrays, the first conjugated.

    >>> import funcgrad.numpy as fnp
    >>> fnp.vdot(fnp.ones((2, 2)), fnp.ones(4))
    array(4.)
    """
    if not _traced(a, b):
        return np.vdot(a, b)
    a, b = _promote(a, b)
    if a.dtype.kind == "c":
        from ..ops.complex_numbers import conj
        a = conj(a)
    if np.size(a) != np.size(b):
        raise ValueError(f"vdot: shapes {_shapes(a, b)} hold {np.size(a)} and {np.size(b)} "
                         "elements; they must hold as many")
    a, b = st.reshape(a, (np.size(a),)), st.reshape(b, (np.size(b),))
    return _contract_axes("vdot", a, b, [0], [0])


def kron(a, b):
    """``numpy.kron``: the Kronecker product, blocks ``a[i, j] * b``.

    >>> import funcgrad.numpy as fnp
    >>> fnp.kron(fnp.eye(2), fnp.ones((2, 2))).shape
    (4, 4)
    """
    if not _traced(a, b):
        return np.kron(a, b)
    a, b = _promote(a, b)
    ndim = max(np.ndim(a), np.ndim(b))
    if ndim == 0:
        return multiply(a, b)
    shape_a = (1,) * (ndim - np.ndim(a)) + tuple(np.shape(a))
    shape_b = (1,) * (ndim - np.ndim(b)) + tuple(np.shape(b))
    if 2 * ndim > len(_LETTERS):
        raise ValueError(f"kron: operands of shapes {_shapes(a, b)} have too many axes")
    term_a, term_b = _LETTERS[:ndim], _LETTERS[ndim:2 * ndim]
    interleaved = "".join(x + y for x, y in zip(term_a, term_b))
    product = contraction.einsum(f"{term_a},{term_b}->{interleaved}",
                                 st.reshape(a, shape_a), st.reshape(b, shape_b))
    return st.reshape(product, [m * n for m, n in zip(shape_a, shape_b)])


def _conj(x):
    from ._math import conj
    return conj(x)


def _vectors(who, *operands):
    for name, x in zip(("x1", "x2"), operands):
        if np.ndim(x) == 0:
            raise ValueError(f"{who}: {name} must be at least 1-d, not a scalar")


def matvec(x1, x2, /):
    """``numpy.matvec``: matrices ``(..., m, n)`` times vectors ``(..., n)``, broadcast over
    the leading axes: ``(..., m)`` (no conjugation)."""
    if not _traced(x1, x2):
        return np.matvec(x1, x2)
    _vectors("matvec", x2)
    from ._shape import expand_dims
    return matmul(x1, expand_dims(x2, -1))[..., 0]


def vecmat(x1, x2, /):
    """``numpy.vecmat``: the conjugates of vectors ``(..., n)`` times matrices
    ``(..., n, m)``, broadcast over the leading axes: ``(..., m)``."""
    if not _traced(x1, x2):
        return np.vecmat(x1, x2)
    _vectors("vecmat", x1)
    from ._shape import expand_dims
    return matmul(expand_dims(_conj(asarray_or_tracer(x1)), -2), x2)[..., 0, :]


def vecdot(x1, x2, /, *, axis=-1):
    """``numpy.vecdot``: ``sum(conj(x1) * x2, axis)``, the vectors along ``axis``,
    broadcast over the other axes."""
    if not _traced(x1, x2):
        return np.vecdot(x1, x2, axis=axis)
    _vectors("vecdot", x1, x2)
    from ._reductions import sum as total
    x1, x2 = asarray_or_tracer(x1), asarray_or_tracer(x2)
    if np.shape(x1)[axis] != np.shape(x2)[axis]:
        raise ValueError(f"vecdot: the vectors' lengths differ on axis {axis}: "
                         f"{np.shape(x1)} and {np.shape(x2)}")
    product = multiply(_conj(x1), x2)
    return total(product, axis=axis, dtype=product.dtype)
