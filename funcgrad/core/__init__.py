"""The core: abstract values, the IR, primitives, tracing and the IR interpreter."""
from .aval import ShapedArray, aval_of, is_differentiable, is_float
from .errors import (
                     ConcretizationError,
                     DisconnectedGradientError,
                     EscapedTracerError,
                     ShapeError,
                     TracerConversionError,
)
from .ir import IR, Eqn, IRTypeError, Literal, Var, count_eqns, pretty_print, typecheck
from .primitive import (
                     ALL_PRIMITIVES,
                     CONTRACTION,
                     ELEMENTWISE,
                     LINALG,
                     OPTIONAL_RULES,
                     REDUCTION,
                     RULES,
                     SPECIAL,
                     STRUCTURAL,
                     MissingRuleError,
                     Primitive,
)
from .trace import Tracer, eval_ir, is_tracer, trace_to_ir

__all__ = [
    "ShapedArray", "aval_of", "is_differentiable", "is_float", "ConcretizationError",
    "DisconnectedGradientError", "EscapedTracerError", "ShapeError", "TracerConversionError",
    "IR", "Eqn", "IRTypeError", "Literal", "Var", "count_eqns", "pretty_print", "typecheck",
    "ALL_PRIMITIVES", "OPTIONAL_RULES", "CONTRACTION", "ELEMENTWISE", "LINALG", "REDUCTION",
    "RULES", "SPECIAL", "STRUCTURAL", "MissingRuleError", "Primitive", "Tracer", "eval_ir",
    "is_tracer", "trace_to_ir",
]
