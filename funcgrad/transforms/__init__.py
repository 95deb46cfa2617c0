"""The transformations, each a walk over the IR: eval, vjp/grad, jvp, Jacobians, checks."""
from .check_grads import check_grads
from .jacobian import hessian, jacfwd, jacrev
from .jvp import jvp
from .vjp import grad, value_and_grad, vjp

__all__ = ["check_grads", "hessian", "jacfwd", "jacrev", "jvp", "grad", "value_and_grad",
           "vjp"]
