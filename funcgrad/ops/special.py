"""Marker primitives: ``stop_gradient`` and ``retain_grad``; both are the identity on values."""
from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive

stop_gradient_p = Primitive("stop_gradient", "special")
stop_gradient_p.impl = lambda x: x
stop_gradient_p.abstract_eval = lambda x: x
# Zero derivative of every order: no tangent comes out and no cotangent goes in.
stop_gradient_p.jvp = lambda primals, tangents: (stop_gradient(primals[0]), None)
stop_gradient_p.vjp = lambda needs, g, ans, x: (None,)
stop_gradient_p.batch = lambda args, dims: (stop_gradient_p.bind(args[0]), dims[0])


def stop_gradient(x):
    """Return ``x``, with a derivative of zero of every order.

    >>> import funcgrad as fg
    >>> float(fg.grad(lambda x: x * fg.stop_gradient(x))(3.0))
    3.0
    """
    from ..core.trace import Tracer
    if not isinstance(x, Tracer):
        return x
    return stop_gradient_p.bind(x)


retain_grad_p = Primitive("retain_grad", "special")
retain_grad_p.impl = lambda x, *, name: x
retain_grad_p.abstract_eval = lambda x, *, name: x
retain_grad_p.jvp = lambda primals, tangents, *, name: (
    retain_grad_p.bind(primals[0], name=name), tangents[0])
retain_grad_p.vjp = lambda needs, g, ans, x, *, name: (g,)
# Marks the batched intermediate: its retained gradient has the batched shape.
retain_grad_p.batch = lambda args, dims, *, name: (retain_grad_p.bind(args[0], name=name),
                                                   dims[0])


def retain_grad(x, name: str):
    """Mark the intermediate ``x`` so that ``grad(..., retained=True)`` reports its gradient.

    Identity on values. Names must be unique within one evaluation.

    >>> import funcgrad as fg
    >>> def f(x, y):
    ...     s = fg.retain_grad(x + y, "sum_xy")
    ...     return s ** 2
    >>> grads, retained = fg.grad(f, argnums=(0, 1), retained=True)(2.0, 3.0)
    >>> float(retained["sum_xy"])
    10.0
    """
    from ..core.trace import Tracer
    if not isinstance(name, str):
        raise TypeError(f"retain_grad: name must be a str, got {type(name).__name__}")
    if not isinstance(x, Tracer):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"retain_grad('{name}'): the value has dtype {x.dtype.name}; "
                            "only floating arrays have gradients")
        return x[()]
    return retain_grad_p.bind(x, name=name)
