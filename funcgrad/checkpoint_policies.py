"""``fg.checkpoint_policies``: what a checkpointed block's backward pass keeps (JAX's
``jax.checkpoint_policies``).

``fg.checkpoint(fun, policy=...)`` recomputes the block's intermediates in the backward pass,
except the results of the equations its policy saves: those the forward pass hands to the
backward pass, which reads them instead of running their equations again. A policy is called
as JAX's are, ``policy(primitive, *input_avals, **params) -> bool``; any such function can be
given (``fg.checkpoint`` names it by its ``__name__`` in the printed IR).

- ``nothing_saveable`` (the default, ``policy=None``): recompute everything, keep only the
  block's inputs and outputs.
- ``everything_saveable``: keep every intermediate (no recomputation: what the block would
  cost without ``checkpoint``).
- ``dots_saveable`` (also ``checkpoint_dots``): keep the results of matrix products
  (``einsum``: ``dot``, ``matmul``, ``@``, ``tensordot``, ``einsum``) and recompute the cheap
  elementwise work around them.
- ``dots_with_no_batch_dims_saveable``: the same for products without batch axes (an axis
  of both operands that the result keeps).
- ``save_from_both_policies(a, b)``: what either saves.

>>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
>>> w = np.full((3, 3), 0.5)
>>> block = fg.checkpoint(lambda x: fnp.sum(fnp.tanh(w @ fnp.sin(x))),
...                       policy=fg.checkpoint_policies.dots_saveable)
>>> bool(np.allclose(fg.grad(block)(np.ones(3)),
...                  fg.grad(lambda x: fnp.sum(fnp.tanh(w @ fnp.sin(x))))(np.ones(3))))
True
"""
from __future__ import annotations

from .ops.contraction import einsum_p, parse
from .ops.custom import CheckpointPolicy


def _nothing(prim, *avals, **params) -> bool:
    return False


def _everything(prim, *avals, **params) -> bool:
    return True


def _dots(prim, *avals, **params) -> bool:
    return prim is einsum_p


def _dots_without_batch(prim, *avals, **params) -> bool:
    if prim is not einsum_p:
        return False
    inputs, output = parse(params["spec"])
    shared = set(inputs[0]).intersection(*inputs[1:]) if len(inputs) > 1 else set()
    return not shared.intersection(output)


nothing_saveable = CheckpointPolicy(_nothing, "nothing_saveable")
everything_saveable = CheckpointPolicy(_everything, "everything_saveable")
dots_saveable = CheckpointPolicy(_dots, "dots_saveable")
checkpoint_dots = dots_saveable
dots_with_no_batch_dims_saveable = CheckpointPolicy(_dots_without_batch,
                                                    "dots_with_no_batch_dims_saveable")


def save_from_both_policies(first, second) -> CheckpointPolicy:
    """A policy that saves what ``first`` or ``second`` saves."""
    first, second = as_policy(first), as_policy(second)
    return CheckpointPolicy(lambda prim, *avals, **params: first(prim, *avals, **params)
                            or second(prim, *avals, **params),
                            f"save_from_both_policies({first.name}, {second.name})")


def as_policy(policy) -> CheckpointPolicy:
    """``policy`` as a ``CheckpointPolicy``: ``None`` is ``nothing_saveable``, a function of
    JAX's signature is named by its ``__name__``."""
    if policy is None:
        return nothing_saveable
    if isinstance(policy, CheckpointPolicy):
        return policy
    if not callable(policy):
        raise TypeError(f"checkpoint: policy must be None, one of fg.checkpoint_policies or a "
                        f"function (primitive, *avals, **params) -> bool, got {policy!r}")
    return CheckpointPolicy(policy, getattr(policy, "__name__", "policy"))


__all__ = ["nothing_saveable", "everything_saveable", "dots_saveable", "checkpoint_dots",
           "dots_with_no_batch_dims_saveable", "save_from_both_policies"]
