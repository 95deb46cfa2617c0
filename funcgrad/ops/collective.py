"""Collectives over MPI: ``allreduce``, ``allgather``, ``reduce_scatter``, ``broadcast`` and
``reduce``, each a primitive with all of its rules. The user-facing functions (pytrees,
checks, ``rank()``/``size()``, the data-parallel helper) are in ``funcgrad/distributed.py``.

Every collective takes any number of operands (the leaves of a pytree) and sends each dtype's
leaves as one message: the operands are packed into one contiguous buffer per dtype (a single
contiguous operand is handed to MPI as it is, without a copy) and the results are views of the
receive buffer. Under ``jit`` the equation is a call step of the compiled program, so each
call of the program communicates; every rank must run the same collectives in the same order
with operands of the same shapes, as in any MPI program.

The rules treat the program on ``size`` ranks as one function of every rank's operands, and
differentiate the sum of every rank's outputs (what data-parallel training wants: the loss of
the whole batch is the sum, or mean, of the ranks' losses):
- ``allreduce``: sum and mean are linear and self-transposed (mean's transpose is the mean of
  the cotangents); max and min send the derivative to the winning rank, shared equally among
  tied ranks (funcgrad's convention for ties);
- ``allgather`` and ``reduce_scatter`` (sum) are each other's transposes;
- ``broadcast`` from ``root`` and ``reduce`` (a sum onto ``root``, zeros elsewhere) are each
  other's transposes.
Batching keeps the batch axis on every rank (the collective is elementwise across ranks).

With one process (no MPI launcher, or a communicator of size 1) every collective is its local
equivalent: ``allreduce`` and ``broadcast`` the identity, ``allgather`` a leading axis of
length 1, ``reduce_scatter`` the first row.
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np

from ..core.aval import ShapedArray, is_differentiable
from ..core.errors import ShapeError
from ..core.primitive import Primitive
from . import elementwise as ew
from . import structural as st

OPS = ("sum", "mean", "max", "min")
# Set by MPI launchers in every rank they start (MPICH/Intel MPI's hydra and Slurm's PMI2:
# PMI_*; PMIx launchers and Open MPI: PMIX_RANK / OMPI_COMM_WORLD_RANK; MVAPICH).
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_RANK",
                       "MV2_COMM_WORLD_RANK")


def launched_by_mpi() -> bool:
    """Whether this process should join an MPI job: ``FUNCGRAD_MPI=1`` forces it, ``0`` turns
    it off, otherwise the variables an MPI launcher sets decide."""
    setting = os.environ.get("FUNCGRAD_MPI", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


class Communicator:
    """The group of processes a collective runs over, as a primitive's parameter: an mpi4py
    communicator, or None for this process alone. ``WORLD`` resolves on first use."""

    def __init__(self, mpi_comm=None, name: str = "comm"):
        self._mpi = mpi_comm
        self.name = name

    @property
    def mpi(self):
        """The mpi4py communicator, or None when this process is alone."""
        return self._mpi

    @property
    def rank(self) -> int:
        return 0 if self.mpi is None else self.mpi.Get_rank()

    @property
    def size(self) -> int:
        return 1 if self.mpi is None else self.mpi.Get_size()

    def __repr__(self):
        return self.name


class _World(Communicator):
    """``MPI.COMM_WORLD`` when this process was started by an MPI launcher, else None."""

    def __init__(self):
        super().__init__(None, "world")
        self._resolved = False
        self._rank, self._size = 0, 1

    @property
    def mpi(self):
        if not self._resolved:
            self._resolve()
        return self._mpi

    @property
    def rank(self) -> int:
        if not self._resolved:
            self._resolve()
        return self._rank

    @property
    def size(self) -> int:
        if not self._resolved:
            self._resolve()
        return self._size

    def _resolve(self):
        if launched_by_mpi():
            try:
                from mpi4py import MPI
            except ImportError:
                raise ImportError(
                    "funcgrad.distributed: this process was started by an MPI launcher (or "
                    "FUNCGRAD_MPI=1 is set), but mpi4py is not installed: pip install "
                    "'funcgrad[mpi]' (mpi4py and MPICH), or set FUNCGRAD_MPI=0 to run each "
                    "process alone") from None
            self._mpi = MPI.COMM_WORLD
            self._rank, self._size = self._mpi.Get_rank(), self._mpi.Get_size()
            if self._size > 1:
                _abort_on_uncaught_exception(self._mpi)
        self._resolved = True


WORLD = _World()


def _abort_on_uncaught_exception(mpi_comm) -> None:
    """Make an uncaught exception on one rank end the whole job (``MPI_Abort``), so that the
    other ranks stop with an error instead of waiting forever in their next collective."""
    previous = sys.excepthook

    def abort(kind, value, traceback):
        # The note first, with the error's message: a previous hook (another library's) may
        # end the process itself, and mpiexec can lose the end of a rank's output when the
        # abort stops it (a loaded machine cut the traceback's last line, the message).
        rank, size = mpi_comm.Get_rank(), mpi_comm.Get_size()
        sys.stderr.write(f"funcgrad.distributed: rank {rank} of {size} raised {kind.__name__}: "
                         f"{value}; aborting all {size} ranks (MPI_Abort) so that none waits "
                         f"in a collective for it\n")
        sys.stderr.flush()
        previous(kind, value, traceback)
        sys.stderr.flush()
        sys.stdout.flush()
        mpi_comm.Abort(1)

    sys.excepthook = abort


# --------------------------------------------------------------------------- transport

_MPI_OPS: dict = {}


def _mpi_op(op: str):
    if not _MPI_OPS:
        from mpi4py import MPI
        _MPI_OPS.update(sum=MPI.SUM, mean=MPI.SUM, max=MPI.MAX, min=MPI.MIN)
    return _MPI_OPS[op]


# The dtype a leaf travels as: MPI has no half floats, and its booleans take only logical
# operations (a boolean max or min is one of bytes).
_WIRE_DTYPES = {np.dtype(np.float16): np.dtype(np.float32), np.dtype(np.bool_): np.dtype(np.uint8)}


def _groups(values) -> dict:
    """Operand indices grouped by the dtype they travel as, in order of first appearance."""
    groups: dict = {}
    for index, value in enumerate(values):
        groups.setdefault(_WIRE_DTYPES.get(value.dtype, value.dtype), []).append(index)
    return groups


def _pack(values, indices, wire, rows: int | None = None) -> np.ndarray:
    """One contiguous buffer of the operands ``indices``: flat, or with ``rows`` leading rows
    (each operand's row ``i`` side by side in row ``i``)."""
    if rows is None:
        if len(indices) == 1:
            value = values[indices[0]]
            if value.dtype == wire and value.flags.c_contiguous:
                return value.reshape(-1)   # a view: MPI reads the operand's own memory
        return np.concatenate([values[i].reshape(-1).astype(wire, copy=False)
                               for i in indices])
    return np.concatenate([values[i].reshape(rows, -1).astype(wire, copy=False)
                           for i in indices], axis=1)


def _unpack(buffer, indices, shapes, dtypes, outs, rows: int | None = None) -> None:
    """Views of ``buffer`` (flat, or ``rows`` rows) as the results ``indices``."""
    offset = 0
    for i in indices:
        count = math.prod(shapes[i]) // (1 if rows is None else rows)
        if rows is None:
            part = buffer[offset:offset + count].reshape(shapes[i])
        else:
            part = buffer[:, offset:offset + count].reshape(shapes[i])
        offset += count
        outs[i] = part if part.dtype == dtypes[i] else part.astype(dtypes[i])


def _scalars(outs) -> list:
    """0-d results as NumPy scalars, as funcgrad's impls return them."""
    return [out if out.ndim else out[()] for out in outs]


def _arrays(args) -> list:
    return [np.asarray(a) for a in args]


def _allreduce_impl(*args, op, comm):
    values = _arrays(args)
    mpi, size = comm.mpi, comm.size
    if mpi is None or size == 1:
        return _scalars([v.copy() if v.ndim else v for v in values])
    outs: list = [None] * len(values)
    for wire, indices in _groups(values).items():
        send = _pack(values, indices, wire)
        receive = np.empty_like(send)
        mpi.Allreduce(send, receive, op=_mpi_op(op))
        if op == "mean":
            receive /= receive.dtype.type(size)
        _unpack(receive, indices, [v.shape for v in values], [v.dtype for v in values], outs)
    return _scalars(outs)


def _allgather_impl(*args, comm):
    values = _arrays(args)
    mpi, size = comm.mpi, comm.size
    if mpi is None or size == 1:
        return [v.reshape((1,) + v.shape).copy() for v in values]
    outs: list = [None] * len(values)
    for wire, indices in _groups(values).items():
        send = _pack(values, indices, wire)
        receive = np.empty((size, send.size), wire)
        mpi.Allgather(send, receive)
        _unpack(receive, indices, [(size,) + v.shape for v in values],
                [v.dtype for v in values], outs, rows=size)
    return outs


def _reduce_scatter_impl(*args, comm):
    values = _arrays(args)
    mpi, size = comm.mpi, comm.size
    if mpi is None or size == 1:
        return _scalars([v[0].copy() if v.ndim > 1 else v[0] for v in values])
    outs: list = [None] * len(values)
    for wire, indices in _groups(values).items():
        send = _pack(values, indices, wire, rows=size)
        receive = np.empty(send.shape[1], wire)
        mpi.Reduce_scatter_block(send, receive, op=_mpi_op("sum"))
        _unpack(receive, indices, [v.shape[1:] for v in values], [v.dtype for v in values],
                outs)
    return _scalars(outs)


def _broadcast_impl(*args, root, comm):
    values = _arrays(args)
    mpi, size = comm.mpi, comm.size
    if mpi is None or size == 1:
        return _scalars([v.copy() if v.ndim else v for v in values])
    outs: list = [None] * len(values)
    for wire, indices in _groups(values).items():
        if comm.rank == root:
            buffer = _pack(values, indices, wire).copy()   # the results: arrays of their own
        else:   # what non-root ranks pass is only a shape: MPI writes root's values here
            buffer = np.empty(sum(values[i].size for i in indices), wire)
        mpi.Bcast(buffer, root=root)
        _unpack(buffer, indices, [v.shape for v in values], [v.dtype for v in values], outs)
    return _scalars(outs)


def _reduce_impl(*args, root, comm):
    values = _arrays(args)
    mpi, size = comm.mpi, comm.size
    if mpi is None or size == 1:
        return _scalars([v.copy() if v.ndim else v for v in values])
    outs: list = [None] * len(values)
    for wire, indices in _groups(values).items():
        send = _pack(values, indices, wire)
        receive = np.zeros_like(send)   # stays zero on every rank but root
        mpi.Reduce(send, receive, op=_mpi_op("sum"), root=root)
        _unpack(receive, indices, [v.shape for v in values], [v.dtype for v in values], outs)
    return _scalars(outs)


# ------------------------------------------------------------------------ the primitives

allreduce_p = Primitive("allreduce", "special", multiple_results=True)
allgather_p = Primitive("allgather", "special", multiple_results=True)
reduce_scatter_p = Primitive("reduce_scatter", "special", multiple_results=True)
broadcast_p = Primitive("broadcast", "special", multiple_results=True)
reduce_p = Primitive("reduce", "special", multiple_results=True)
COLLECTIVES = {allreduce_p, allgather_p, reduce_scatter_p, broadcast_p, reduce_p}


def allreduce(values, op: str, comm: Communicator) -> list:
    return allreduce_p.bind(*values, op=op, comm=comm) if values else []


def allgather(values, comm: Communicator) -> list:
    return allgather_p.bind(*values, comm=comm) if values else []


def reduce_scatter(values, comm: Communicator) -> list:
    return reduce_scatter_p.bind(*values, comm=comm) if values else []


def broadcast(values, root: int, comm: Communicator) -> list:
    return broadcast_p.bind(*values, root=root, comm=comm) if values else []


def reduce(values, root: int, comm: Communicator) -> list:
    return reduce_p.bind(*values, root=root, comm=comm) if values else []


def _present(values) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None]


def _placed(results, indices, count: int) -> list:
    """``results`` at ``indices`` of a list of ``count``, None elsewhere."""
    out: list = [None] * count
    for i, value in zip(indices, results):
        out[i] = value
    return out


def _linear_jvp(apply):
    """The JVP of a collective that is linear in its operands: the same collective of the
    tangents that are not symbolic zeros."""
    def jvp(primals, tangents, **params):
        outs = apply(list(primals), **params)
        present = _present(tangents)
        moved = apply([tangents[i] for i in present], **params)
        return outs, _placed(moved, present, len(primals))
    return jvp


def _linear_vjp(transpose):
    """The VJP of a linear collective: ``transpose`` of the wanted cotangents."""
    def vjp(needs, g, ans, *args, **params):
        wanted = [i for i, (need, a) in enumerate(zip(needs, args))
                  if need and is_differentiable(_dtype(a))]
        moved = transpose([g[i] for i in wanted], **params)
        return _placed(moved, wanted, len(args))
    return vjp


# ------------------------------------------------------------------------------ allreduce

def _check_op(op):
    if op not in OPS:
        raise ShapeError(f"op must be one of {OPS}, got {op!r}")


def _no_bool_sums(avals):
    for aval in avals:
        if aval.dtype == np.bool_:
            raise ShapeError("a sum of booleans has no boolean result: convert them to "
                             "integers first (x.astype(int))")


def _allreduce_shape(*avals, op, comm):
    _check_op(op)
    if op in ("sum", "mean"):
        _no_bool_sums(avals)
    for aval in avals:
        if op == "mean" and np.dtype(aval.dtype).kind not in "fc":
            raise ShapeError(f"op='mean' needs floating operands, got {aval.dtype.name} "
                             "(use op='sum' and divide by size())")
        if op in ("max", "min") and np.dtype(aval.dtype).kind == "c":
            raise ShapeError(f"op={op!r} has no order on complex operands "
                             f"({aval.dtype.name})")
    return list(avals)


def _winners_share(xs, outs, comm):
    """For max/min: each rank's share of the winning value, 1/(ranks tied for it) where this
    rank's operand equals the result, else 0 (one fused allreduce counts the ties)."""
    masks = [ew.convert(ew.eq(x, out), out.dtype) for x, out in zip(xs, outs)]
    counts = allreduce(masks, "sum", comm)
    return [ew.div(mask, count) for mask, count in zip(masks, counts)]


def _allreduce_jvp(primals, tangents, *, op, comm):
    outs = allreduce(list(primals), op, comm)
    present = _present(tangents)
    if op in ("sum", "mean"):
        moved = allreduce([tangents[i] for i in present], op, comm)
    else:
        shares = _winners_share([primals[i] for i in present], [outs[i] for i in present], comm)
        moved = allreduce([ew.mul(share, tangents[i]) for share, i in zip(shares, present)],
                          "sum", comm)
    return outs, _placed(moved, present, len(primals))


def _allreduce_vjp(needs, g, ans, *args, op, comm):
    wanted = [i for i, (need, a) in enumerate(zip(needs, args))
              if need and is_differentiable(_dtype(a))]
    if op in ("sum", "mean"):
        return _placed(allreduce([g[i] for i in wanted], op, comm), wanted, len(args))
    masks = [ew.convert(ew.eq(args[i], ans[i]), ans[i].dtype) for i in wanted]
    # The ties' counts and the cotangents' sums travel in one message.
    summed = allreduce(masks + [g[i] for i in wanted], "sum", comm)
    counts, totals = summed[:len(wanted)], summed[len(wanted):]
    cts = [ew.div(ew.mul(mask, total), count)
           for mask, total, count in zip(masks, totals, counts)]
    return _placed(cts, wanted, len(args))


def _dtype(value):
    return value.aval.dtype if hasattr(value, "aval") else np.asarray(value).dtype


def _elementwise_batch(prim):
    """A collective that acts elementwise across ranks keeps every operand's batch axis."""
    def batch(args, dims, **params):
        return prim.bind(*args, **params), list(dims)
    return batch


def _collective_taylor(prim):
    """``jet``'s rule of a collective: a linear map of each leaf (allreduce's max and min
    piecewise linear), so each Taylor coefficient travels as a tangent does, through the
    primitive's ``jvp`` (one message per order)."""
    def rule(primals, series, **params):
        outs = prim.bind(*primals, **params)
        order = len(series[0])
        out_series = [[None] * order for _ in outs]
        for k in range(order):
            tangents = [s[k] for s in series]
            if all(t is None for t in tangents):
                continue
            _, terms = prim.jvp(primals, tangents, **params)
            for i, term in enumerate(terms):
                out_series[i][k] = term
        return outs, out_series
    return rule


allreduce_p.impl = _allreduce_impl
allreduce_p.abstract_eval = _allreduce_shape
allreduce_p.jvp = _allreduce_jvp
allreduce_p.vjp = _allreduce_vjp
allreduce_p.batch = _elementwise_batch(allreduce_p)


# ------------------------------------------------------------------ allgather, reduce_scatter

def _allgather_shape(*avals, comm):
    return [ShapedArray((comm.size,) + a.shape, a.dtype) for a in avals]


def _allgather_batch(args, dims, *, comm):
    # The gathered axis comes first: a batch axis at d moves to d + 1.
    return allgather(list(args), comm), [None if d is None else d + 1 for d in dims]


def _reduce_scatter_shape(*avals, comm):
    _no_bool_sums(avals)
    for aval in avals:
        if not aval.shape or aval.shape[0] != comm.size:
            raise ShapeError(f"each operand needs a leading axis of length size() = "
                             f"{comm.size} (one block a rank), got {aval.short()}")
    return [ShapedArray(a.shape[1:], a.dtype) for a in avals]


def _reduce_scatter_batch(args, dims, *, comm):
    # The scattered axis must lead: a batch axis there moves behind it.
    args = [st.moveaxis(a, 0, 1) if d == 0 else a for a, d in zip(args, dims)]
    return reduce_scatter(args, comm), [None if d is None else max(d - 1, 0) for d in dims]


allgather_p.impl = _allgather_impl
allgather_p.abstract_eval = _allgather_shape
allgather_p.jvp = _linear_jvp(allgather)
allgather_p.vjp = _linear_vjp(reduce_scatter)
allgather_p.batch = _allgather_batch

reduce_scatter_p.impl = _reduce_scatter_impl
reduce_scatter_p.abstract_eval = _reduce_scatter_shape
reduce_scatter_p.jvp = _linear_jvp(reduce_scatter)
reduce_scatter_p.vjp = _linear_vjp(allgather)
reduce_scatter_p.batch = _reduce_scatter_batch


# ------------------------------------------------------------------------ broadcast, reduce

def _rooted_shape(*avals, root, comm):
    if not 0 <= root < comm.size:
        raise ShapeError(f"root must be a rank, 0 <= root < size() = {comm.size}, got {root}")
    return list(avals)


def _reduce_shape(*avals, root, comm):
    _no_bool_sums(avals)
    return _rooted_shape(*avals, root=root, comm=comm)


broadcast_p.impl = _broadcast_impl
broadcast_p.abstract_eval = _rooted_shape
broadcast_p.jvp = _linear_jvp(broadcast)
broadcast_p.vjp = _linear_vjp(reduce)
broadcast_p.batch = _elementwise_batch(broadcast_p)

reduce_p.impl = _reduce_impl
reduce_p.abstract_eval = _reduce_shape
reduce_p.jvp = _linear_jvp(reduce)
reduce_p.vjp = _linear_vjp(broadcast)
reduce_p.batch = _elementwise_batch(reduce_p)

for _collective in COLLECTIVES:
    _collective.taylor = _collective_taylor(_collective)
