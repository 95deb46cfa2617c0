"""Primitives: the operations the IR is made of, each carrying all of its rules.

A primitive's rules, written next to its definition in ``funcgrad/ops``:
- ``impl(*arrays, **params)``: evaluate on NumPy arrays;
- ``abstract_eval(*avals, **params)``: the shape and dtype rule (raises ``ShapeError``);
- ``jvp(primals, tangents, **params) -> (out, tangent_out)``: forward mode, tangents may be
  ``None`` (a symbolic zero);
- ``vjp(needs, g, ans, *inputs, **params) -> cotangent per input``: reverse mode; ``needs[i]``
  says whether input ``i`` wants a cotangent, and an unwanted or zero one is ``None``;
- ``batch(args, dims, **params) -> (out, out_dim)``: vectorization (``vmap``); ``dims[i]`` is
  the batch axis of ``args[i]``, or ``None`` where that operand is the same for every example,
  and ``out_dim`` is the batch axis of ``out``. It is called only when some ``dims[i]`` is set.
Rules are written with funcgrad's own operations, so they trace, and nest to any order.

Optional rules, where a primitive has a use for them:
- ``taylor(primals, series, **params) -> (out, out_series)`` (``OPTIONAL_RULES``), Taylor
  mode (``jet``, ``derivatives``): ``series[i]`` is the list of the K normalized Taylor
  coefficients of input ``i`` (orders 1..K, ``None`` for an exact zero), and ``out_series``
  the same for the output (a list of them for a multiple-result primitive), written in the
  series arithmetic of ``funcgrad.ops.taylor``, O(K^2) operations per equation. A primitive
  whose outputs are not floating (comparisons, argmax) needs none; using one without it
  raises ``MissingRuleError`` naming it.
- ``eager_vjp``, with ``vjp``'s signature: the same reverse rule written directly in NumPy
  for concrete operands (eager ``grad`` at top level, where nothing is recorded). It must
  give ``vjp``'s numbers bit for bit (a table test checks), at a fraction of the Python cost:
  eager reverse mode runs one per recorded equation.
- ``compiled_impl(eqn) -> function``: what a compiled program calls for the equation ``eqn``
  instead of ``impl`` (with its operands, returning its result). It is made while the program
  compiles (in jit's compile thread), so it may compile numba kernels of its own, specialised
  to the equation's parameters (the window primitives do).

A primitive with ``effectful = True`` (``debug_print``) acts on the world when it runs: the
IR passes that drop equations no output reads (dead-code elimination, in ``core.ir`` and in
the backend's planner) keep it, and nothing evaluates it speculatively.
"""
from __future__ import annotations

from .errors import ShapeError, at_user_line

ELEMENTWISE: set = set()   # maps equal-shaped (broadcast) inputs to outputs point by point
REDUCTION: set = set()     # folds axes away
STRUCTURAL: set = set()    # moves, selects or copies data without arithmetic
CONTRACTION: set = set()   # einsum-like products that go to BLAS
LINALG: set = set()        # factorizations and solves of stacks of matrices (LAPACK)
SPECIAL: set = set()       # markers and higher-order primitives

_CATEGORIES = {"elementwise": ELEMENTWISE, "reduction": REDUCTION, "structural": STRUCTURAL,
               "contraction": CONTRACTION, "linalg": LINALG, "special": SPECIAL}
ALL_PRIMITIVES: dict[str, Primitive] = {}
RULES = ("impl", "abstract_eval", "jvp", "vjp", "batch")
OPTIONAL_RULES = ("taylor",)


class MissingRuleError(TypeError):
    """A primitive lacks the rule a transformation needs."""


def _missing(prim: Primitive, rule: str):
    def raise_missing(*args, **kwargs):
        raise MissingRuleError(f"no {rule} rule for primitive '{prim.name}': "
                               f"funcgrad cannot {_RULE_PURPOSE[rule]} through it")
    raise_missing.missing = True
    return raise_missing


_RULE_PURPOSE = {"impl": "evaluate it", "abstract_eval": "trace it",
                 "jvp": "differentiate it in forward mode (jvp, jacfwd)",
                 "vjp": "differentiate it in reverse mode (grad, vjp, jacrev)",
                 "batch": "vectorize it (vmap, jacrev, jacfwd, hessian)",
                 "taylor": "propagate a Taylor series (jet, derivatives)"}


class Primitive:
    """A named operation with its rules; ``bind`` applies it to arrays or traced values."""

    def __init__(self, name: str, category: str, multiple_results: bool = False):
        if name in ALL_PRIMITIVES:
            raise ValueError(f"primitive '{name}' is defined twice")
        self.name = name
        self.multiple_results = multiple_results
        self.stage_constants = False   # record even on concrete inputs while tracing
        self.effectful = False   # runs for its effect (printing): never dropped as dead code
        # The NumPy ufunc that computes it, where ``impl`` is one or wraps one: the
        # interpreted tier of ``jit`` writes results into free arrays with its ``out=``.
        self.ufunc = None
        self.eager_vjp = None   # optional: ``vjp`` in NumPy, for concrete operands (see above)
        self.compiled_impl = None   # optional: the equation's function in compiled programs
        self.category = category
        _CATEGORIES[category].add(self)
        ALL_PRIMITIVES[name] = self
        for rule in RULES + OPTIONAL_RULES:
            setattr(self, rule, _missing(self, rule))

    def has_rule(self, rule: str) -> bool:
        return not getattr(getattr(self, rule), "missing", False)

    def bind(self, *args, **params):
        """Apply the primitive: evaluate it on arrays, or record it in the innermost trace."""
        trace = None
        if len(args) == 2:   # unrolled for two operands (the reverse rules bind many products)
            x, y = args
            if type(x) is Tracer:
                trace = x._trace
                if type(y) is Tracer and y._trace.level > trace.level:
                    trace = y._trace
            elif type(y) is Tracer:
                trace = y._trace
        else:
            for arg in args:
                if type(arg) is Tracer and (trace is None or arg._trace.level > trace.level):
                    trace = arg._trace
        if trace is None:
            if self.stage_constants and tracing() and innermost_trace().stage_constants:
                # A concrete broadcast would become a large constant of the IR (and of
                # compiled code): record it instead, as a fusable op on a small input.
                return innermost_trace().process(self, args, params)
            try:
                return self.impl(*args, **params)
            except (ValueError, IndexError, TypeError):
                # NumPy's own message does not name our primitive: let the shape rule explain.
                self.shape_check(args, params)
                raise
        return trace.process(self, args, params)

    def shape_check(self, args, params):
        from .aval import aval_of
        avals = [a.aval if isinstance(a, Tracer) else aval_of(a) for a in args]
        return self.abstract_eval_named(avals, params)

    def abstract_eval_named(self, avals, params):
        """``abstract_eval``, with a failure re-raised naming this primitive and the user's line."""
        try:
            return self.abstract_eval(*avals, **params)
        except ShapeError as error:
            shapes = ", ".join(a.short() for a in avals)
            raise ShapeError(at_user_line(f"{self.name}: {error} (operands: {shapes})")) from None

    def __repr__(self):
        return self.name


from .trace import Tracer, innermost_trace, tracing  # noqa: E402  (the trace module needs Primitive defined first)
