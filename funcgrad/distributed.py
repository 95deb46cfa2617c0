"""``fg.distributed``: data-parallel computation over MPI, with collectives that ``grad``,
``jit`` and ``vmap`` understand.

Run the same script on several processes with an MPI launcher (``pip install
"funcgrad[mpi]"`` installs mpi4py and MPICH, whose ``mpiexec`` lands next to ``python``)::

    mpiexec -n 2 python train.py

Each process is a *rank*; ``rank()`` and ``size()`` say which and how many. The collectives
take arrays or pytrees of them, eagerly or inside ``jit`` (where each call of the compiled
program communicates), and send each dtype's leaves as one message:

- ``allreduce(x, op)``: the elementwise sum, mean, max or min over ranks, on every rank;
- ``allgather(x)``: every rank's ``x`` stacked along a new leading axis of length ``size()``;
- ``reduce_scatter(x)``: leaves of shape ``(size(), ...)`` summed over ranks, rank ``r``
  keeping block ``r``;
- ``broadcast(x, root)``: root's ``x`` on every rank; ``reduce(x, root)``: the sum onto root
  (zeros elsewhere).

Their derivatives differentiate the sum of every rank's outputs: ``grad`` on each rank gives
that rank's share of the gradient of the total (``allreduce`` sum is its own transpose,
``allgather`` and ``reduce_scatter`` are each other's, ``broadcast`` and ``reduce`` too).
Data-parallel training is the pattern (see ``value_and_grad``): start from the same
parameters (``broadcast``), give each rank its ``shard`` of the batch, and average the
gradients with one ``allreduce`` a step; ``fg.nn.BatchNorm(..., sync=True)`` pools its batch
statistics over the ranks, so the step is the one-process step on the whole batch.

In a single process (no MPI launcher, no mpi4py, or ``FUNCGRAD_MPI=0``) everything works
unchanged: ``rank() == 0``, ``size() == 1`` and each collective is its local equivalent. An
uncaught exception on one rank of a job ends every rank (``MPI_Abort``) instead of leaving
the others waiting in a collective.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad import distributed as dist
>>> dist.rank(), dist.size()
(0, 1)
>>> dist.allreduce({"w": np.array([1.0, 2.0]), "b": np.float32(3.0)}, op="mean")
{'b': array(3., dtype=float32), 'w': array([1., 2.])}
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import tree
from .core.trace import Tracer
from .ops import collective as ops
from .transforms import _args

__all__ = ["rank", "size", "allreduce", "allgather", "reduce_scatter", "broadcast", "reduce",
           "barrier", "shard", "value_and_grad", "communicator", "Communicator", "OPS"]

Communicator = ops.Communicator
OPS = ops.OPS
_wrapped: dict[int, tuple[Any, ops.Communicator]] = {}


def communicator(comm=None) -> ops.Communicator:
    """``comm`` as the ``Communicator`` collectives take: None for every rank of the job
    (``MPI.COMM_WORLD``, or this process alone), an mpi4py communicator, or a
    ``Communicator``.

    >>> from funcgrad import distributed as dist
    >>> dist.communicator(), dist.communicator().mpi is None   # one process: no MPI
    (world, True)
    """
    if comm is None:
        return ops.WORLD
    if isinstance(comm, ops.Communicator):
        return comm
    if not hasattr(comm, "Allreduce") or not hasattr(comm, "Get_size"):
        raise TypeError(f"comm must be None (all ranks), an mpi4py communicator or a "
                        f"fg.distributed.Communicator, got {type(comm).__name__}")
    known = _wrapped.get(id(comm))
    if known is None or known[0] is not comm:   # kept alive by the entry: its id is unique
        known = (comm, ops.Communicator(comm, f"comm{len(_wrapped) + 1}"))
        _wrapped[id(comm)] = known
    return known[1]


def rank(comm=None) -> int:
    """This process's rank: 0, 1, ..., ``size() - 1`` (0 in a single process).

    >>> from funcgrad import distributed as dist
    >>> dist.rank()
    0
    """
    return communicator(comm).rank


def size(comm=None) -> int:
    """How many processes take part (1 in a single process).

    >>> from funcgrad import distributed as dist
    >>> dist.size()
    1
    """
    return communicator(comm).size


def _leaves(who: str, x):
    leaves, treedef = tree.flatten(x)
    try:
        values = [_args.as_value(leaf) for leaf in leaves]
    except _args.UnsupportedLeaf as error:
        raise TypeError(f"{who}: a leaf of type {type(error.leaf).__name__} is not an array "
                        "or a number; pass arrays, numbers or pytrees of them") from None
    return values, treedef


def _no_bool_sums(who: str, values) -> None:
    for value in values:
        if _args.aval(value).dtype == np.bool_:
            raise TypeError(f"{who}: a sum of booleans has no boolean result; convert the leaf "
                            "to integers first (x.astype(int))")


def _results(treedef, outs):
    return tree.unflatten(treedef, [_args.to_user(out) for out in outs])


def _check_root(who: str, root, comm) -> int:
    if isinstance(root, Tracer) or not isinstance(root, (int, np.integer)) \
            or isinstance(root, bool):
        raise TypeError(f"{who}: root must be a Python int (a rank), got "
                        f"{type(root).__name__}")
    if not 0 <= root < comm.size:
        raise ValueError(f"{who}: root must be a rank, 0 <= root < size() = {comm.size}, "
                         f"got {root}")
    return int(root)


def allreduce(x, op: str = "sum", *, comm=None):
    """The elementwise ``op`` (``"sum"``, ``"mean"``, ``"max"``, ``"min"``) of ``x`` over all
    ranks, on every rank; ``x`` is an array or a pytree of arrays (each dtype's leaves travel
    as one message).

    Derivatives: sum and mean are their own transposes (the cotangents of every rank summed,
    or averaged); max and min pass the derivative to the rank whose value won (shared equally
    among tied ranks). ``mean`` needs floating leaves.

    >>> import numpy as np, funcgrad as fg
    >>> from funcgrad import distributed as dist
    >>> dist.allreduce(np.array([1.0, 5.0]), op="max")   # one process: the identity
    array([1., 5.])
    >>> fg.grad(lambda w: (dist.allreduce(w) ** 2).sum())(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    if op not in ops.OPS:
        raise ValueError(f"allreduce: op must be one of {ops.OPS}, got {op!r}")
    comm = communicator(comm)
    values, treedef = _leaves("allreduce", x)
    for value in values:
        kind = _args.aval(value).dtype
        if op == "mean" and kind.kind not in "fc":
            raise TypeError(f"allreduce(op='mean') needs floating leaves, got {kind.name}: use "
                            "op='sum' and divide by size(), or convert the leaf to float")
        if op in ("max", "min") and kind.kind == "c":
            raise TypeError(f"allreduce(op={op!r}): complex leaves ({kind.name}) have no order")
    if op == "sum":
        _no_bool_sums("allreduce(op='sum')", values)
    return _results(treedef, ops.allreduce(values, op, comm))


def allgather(x, *, comm=None):
    """Every rank's ``x`` stacked along a new leading axis of length ``size()``, on every
    rank (pytrees leaf by leaf). Its transpose is ``reduce_scatter``.

    >>> import numpy as np
    >>> from funcgrad import distributed as dist
    >>> dist.allgather(np.array([1.0, 2.0]))             # one process: one row
    array([[1., 2.]])
    """
    values, treedef = _leaves("allgather", x)
    return _results(treedef, ops.allgather(values, communicator(comm)))


def reduce_scatter(x, *, comm=None):
    """Sum ``x`` over ranks and give rank ``r`` block ``r`` of the sum: each leaf has a
    leading axis of length ``size()``, which the result drops. Its transpose is
    ``allgather``.

    >>> import numpy as np
    >>> from funcgrad import distributed as dist
    >>> dist.reduce_scatter(np.array([[1.0, 2.0]]))      # one process: the one block
    array([1., 2.])
    """
    comm = communicator(comm)
    values, treedef = _leaves("reduce_scatter", x)
    _no_bool_sums("reduce_scatter", values)
    for value in values:
        shape = _args.aval(value).shape
        if not shape or shape[0] != comm.size:
            raise ValueError(f"reduce_scatter: each leaf needs a leading axis of length "
                             f"size() = {comm.size} (one block a rank), got shape {shape}")
    return _results(treedef, ops.reduce_scatter(values, comm))


def broadcast(x, root: int = 0, *, comm=None):
    """Rank ``root``'s ``x`` on every rank (the other ranks' ``x`` give only the shapes and
    dtypes). Its transpose is ``reduce`` to ``root``.

    >>> import numpy as np
    >>> from funcgrad import distributed as dist
    >>> dist.broadcast({"w": np.ones(2)})                # the same parameters everywhere
    {'w': array([1., 1.])}
    """
    comm = communicator(comm)
    root = _check_root("broadcast", root, comm)
    values, treedef = _leaves("broadcast", x)
    return _results(treedef, ops.broadcast(values, root, comm))


def reduce(x, root: int = 0, *, comm=None):
    """The sum of ``x`` over ranks on rank ``root``, zeros on the others. Its transpose is
    ``broadcast`` from ``root``.

    >>> import numpy as np
    >>> from funcgrad import distributed as dist
    >>> dist.reduce(np.array([1.0, 2.0]))
    array([1., 2.])
    """
    comm = communicator(comm)
    root = _check_root("reduce", root, comm)
    values, treedef = _leaves("reduce", x)
    _no_bool_sums("reduce", values)
    return _results(treedef, ops.reduce(values, root, comm))


def barrier(comm=None) -> None:
    """Wait until every rank has called ``barrier`` (nothing to wait for in one process).

    >>> from funcgrad import distributed as dist
    >>> dist.barrier()
    """
    mpi = communicator(comm).mpi
    if mpi is not None:
        mpi.Barrier()


def shard(batch, *, comm=None):
    """This rank's equal part of a batch: block ``rank()`` of ``size()`` along the leading axis
    of every leaf (the leading axes must be divisible by ``size()``).

    >>> import numpy as np
    >>> from funcgrad import distributed as dist
    >>> dist.shard({"x": np.arange(6.0).reshape(3, 2), "y": np.arange(3)})["y"]
    array([0, 1, 2])
    """
    comm = communicator(comm)
    ranks, me = comm.size, comm.rank

    def part(leaf):
        length = np.shape(leaf)[0] if np.ndim(leaf) else None
        if length is None or length % ranks:
            raise ValueError(f"shard: every leaf needs a leading axis divisible by size() = "
                             f"{ranks}, got shape {np.shape(leaf)}; use a batch size that is "
                             f"a multiple of the number of ranks")
        block = length // ranks
        return leaf[me * block:(me + 1) * block]

    return tree.map(part, batch)


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False, *, comm=None,
                   **options) -> Callable:
    """``fg.value_and_grad(fun)`` for data-parallel training: each rank evaluates ``fun`` on
    its shard of the batch, then the value and the gradients are averaged over the ranks with
    one ``allreduce`` (one message a dtype for the whole pytree).

    When every rank's shard has the same size and ``fun`` is a mean over examples, the result
    is the value and gradient of ``fun`` on the whole batch, the same on every rank, so an
    optimiser step keeps the parameters identical everywhere. With ``has_aux`` the aux output
    (BatchNorm's state, say) is this rank's own; ``fg.nn.BatchNorm(..., sync=True)`` makes it
    the same on every rank. Other keywords go to ``fg.value_and_grad``. Works under ``jit``.

    >>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
    >>> from funcgrad import distributed as dist
    >>> def loss(w, x):
    ...     return fnp.mean((x @ w) ** 2)
    >>> x = dist.shard(np.arange(8.0).reshape(4, 2))     # this rank's rows of the batch
    >>> value, grad = dist.value_and_grad(loss)(np.array([1.0, -1.0]), x)
    >>> float(value), grad
    (1.0, array([-6., -8.]))
    """
    local = _value_and_grad(fun, argnums=argnums, has_aux=has_aux, **options)

    @functools.wraps(fun)
    def averaged(*args, **kwargs):
        value, grads = local(*args, **kwargs)
        aux = None
        if has_aux:
            value, aux = value
        value, grads = allreduce((value, grads), "mean", comm=comm)
        return ((value, aux) if has_aux else value), grads

    return averaged


def _value_and_grad(fun, **options):
    from .transforms import value_and_grad as local_value_and_grad
    return local_value_and_grad(fun, **options)
