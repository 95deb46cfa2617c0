"""User-defined derivative rules (``custom_vjp``, ``custom_jvp``) and rematerialisation
(``checkpoint``).

Both trace the user's function on each call under a transformation and bind a primitive of
``funcgrad/ops/custom.py`` whose parameters hold the traced program; the primitive's rules do
the differentiating and the batching. Outside every transformation, both just call the
function.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from .. import tree
from ..core.aval import is_differentiable
from ..core.errors import at_user_line
from ..core.ir import dead_code_elimination
from ..core.trace import Tracer, eval_ir, trace_to_ir, tracing
from ..ops import custom as ops
from ..ops import elementwise as ew
from . import _args


def _static_nondiff(custom, kind: str, args, remedy: str) -> set:
    """The positions of ``custom.nondiff_argnums`` in ``args``; a traced array there is a
    TypeError (they are for static Python values)."""
    nondiff = {_args.normalize_argnums(i, len(args), f"{kind} '{custom._name}'")[0]
               for i in custom.nondiff_argnums}
    for i in sorted(nondiff):
        if any(isinstance(leaf, Tracer) for leaf in tree.leaves(args[i])):
            raise TypeError(at_user_line(
                f"{kind} '{custom._name}': {_args.describe_argument(custom.fun, i)} is in "
                "nondiff_argnums but is a traced array. nondiff_argnums is for static Python "
                f"values (functions, shapes, flags); pass arrays as ordinary arguments "
                f"({remedy})."))
    return nondiff


def _trace_primal(fun, rule):
    """``fun`` traced on the call's differentiable leaves: ``(ir, lifted constants)``; the
    rule learns the output's structure and avals."""
    out_trees: list = []
    fun_ir, lifted = ops.trace_closed(
        _flat_outputs(lambda *leaves: fun(*rule.rebuild(leaves)), out_trees),
        [_args.aval(x) for x in rule.leaves])
    rule.out_tree, rule.out_avals = out_trees[0], fun_ir.out_avals
    return fun_ir, lifted


def _flat_outputs(fun, out_trees):
    """``fun`` of leaves returning the list of its output leaves; records the output tree."""
    def flat_fun(*leaves):
        out_leaves, out_tree = tree.flatten(fun(*leaves))
        out_trees.append(out_tree)
        return [_args.as_value(x) for x in out_leaves]
    return flat_fun


def _structure_problem(value, like, like_name: str = "the argument") -> str | None:
    """Why the pytree ``value`` does not have the structure of ``like`` (``None`` may stand
    for any subtree: a zero cotangent), or ``None`` when it does."""
    if value is None:
        return None
    kind = tree._classify(type(like))
    if kind is None:
        if tree._classify(type(value)) is not None:
            return f"a {type(value).__name__} where {like_name} has an array"
        return None
    if type(value) is not type(like):
        return f"a {type(value).__name__} where {like_name} has a {type(like).__name__}"
    children, aux = kind.flatten(like)
    value_children, value_aux = kind.flatten(value)
    if aux != value_aux or len(children) != len(value_children):
        return f"{tree.structure(value)} where {like_name} has {tree.structure(like)}"
    for child, value_child in zip(children, value_children):
        problem = _structure_problem(value_child, child, like_name)
        if problem:
            return problem
    return None


def _cotangent_leaves(value, like) -> list:
    """The leaves of ``value`` aligned with those of ``like``, ``None`` under a ``None``."""
    if value is None:
        return [None] * len(tree.leaves(like))
    kind = tree._classify(type(like))
    if kind is None:
        return [value]
    return [leaf for child, value_child in zip(kind.flatten(like)[0], kind.flatten(value)[0])
            for leaf in _cotangent_leaves(value_child, child)]


class custom_vjp:  # noqa: N801  (JAX's name: used as a decorator, like a function)
    """A function with a reverse-mode derivative rule written by the user (JAX semantics).

    Decorate ``fun``, then give the rule with ``defvjp(fwd, bwd)``:

    - ``fwd(*args) -> (out, residuals)``: the output of ``fun`` and any pytree of arrays that
      the backward rule needs;
    - ``bwd(residuals, cotangent) -> tuple``: one cotangent per positional argument of
      ``fun`` (shaped like it, in its dtype; ``None`` for zero), given the cotangent of the
      output. With ``nondiff_argnums``, those arguments (static Python values, such as
      functions) come first: ``bwd(*nondiff_args, residuals, cotangent)``, and get no
      cotangent.

    Reverse mode (``grad``, ``vjp``, ``jacrev``) uses the rule; written with funcgrad
    operations, ``bwd`` is itself differentiated for higher orders. Forward mode (``jvp``,
    ``jacfwd``) differentiates ``fun`` itself (where JAX raises an error). The value always
    comes from ``fun``; the residuals are computed by ``fwd`` when a backward pass needs them
    (the part of ``fwd`` that only computes the output is skipped), so a backward pass keeps
    no residuals from the forward pass.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def clip_fwd(x):
    ...     return x, None
    >>> def clip_bwd(_, g):
    ...     return (fnp.clip(g, -1.0, 1.0),)
    >>> clip_gradient.defvjp(clip_fwd, clip_bwd)
    >>> float(fg.grad(lambda x: 3.0 * clip_gradient(x))(2.0))
    1.0
    """

    _kind = "custom_vjp"

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = None
        self.bwd = None
        self._name = getattr(fun, "__name__", "function")

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Set the rule: ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g)``."""
        for what, rule in (("fwd", fwd), ("bwd", bwd)):
            if not callable(rule):
                raise TypeError(f"custom_vjp '{self._name}'.defvjp: {what} must be a function, "
                                f"got {type(rule).__name__}")
        self.fwd, self.bwd = fwd, bwd

    def _positional(self, args, kwargs) -> list:
        """Keyword arguments moved to their positions, defaults filled in (JAX semantics)."""
        try:
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
        except ValueError:   # no signature to read: only positional calls work
            if kwargs:
                raise TypeError(f"{self._kind} '{self._name}': keyword arguments need a "
                                "function whose signature can be read") from None
            return list(args)
        bound.apply_defaults()
        # A keyword-only parameter left at its default is the function's own business (the
        # call passes none); one given by the caller has no position for the rules (JAX).
        passed = sorted(k for k in bound.kwargs if k in kwargs)
        if passed:
            raise TypeError(f"{self._kind} '{self._name}': keyword-only arguments "
                            f"{passed} cannot be given to a {self._kind} function (make "
                            "them positional parameters, or close over them)")
        return list(bound.args)

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function '{self._name}' has no rule: call "
                                 f"{self._name}.defvjp(fwd, bwd) before calling it")
        args = self._positional(args, kwargs)
        if not tracing():   # no transformation is running: nothing to differentiate
            return self.fun(*args)
        nondiff = _static_nondiff(self, "custom_vjp", args,
                                  "return None as their cotangent from bwd")
        rule = _CallRule(self, args, nondiff)
        fun_ir, lifted = _trace_primal(self.fun, rule)
        outs = ops.custom_vjp_call([*lifted, *rule.leaves], fun_ir, rule.forward,
                                   rule.backward, len(lifted), self._name)
        return tree.unflatten(rule.out_tree, outs)


class _CallRule:
    """The user's ``fwd`` and ``bwd`` for one call, as functions of flat leaves, with their
    results checked against the primal function's arguments and output."""

    def __init__(self, custom: custom_vjp, args: list, nondiff: set):
        self.custom = custom
        self.args = args
        self.nondiff_args = [args[i] for i in sorted(nondiff)]
        self.positions = [i for i in range(len(args)) if i not in nondiff]
        leaves, self.in_tree = tree.flatten(tuple(args[i] for i in self.positions))
        self.leaves = [_args.as_value(x) for x in leaves]
        self.out_tree = self.out_avals = None

    def rebuild(self, leaves) -> list:
        full = list(self.args)
        for position, value in zip(self.positions, tree.unflatten(self.in_tree, leaves)):
            full[position] = value
        return full

    def _error(self, error_type, what: str):
        return error_type(at_user_line(f"custom_vjp '{self.custom._name}': {what}"))

    def forward(self, *leaves):
        """The residuals of ``fwd`` on these argument leaves.

        ``fwd`` is traced and only the part that computes the residuals is run: the output of
        ``fwd`` is already known (the value of the call), so a typical ``return f(x), x``
        costs nothing here.
        """
        residual_trees = []

        def residual_leaves(*tracers):
            residual_leaves, residual_tree = tree.flatten(self._residuals(tracers))
            residual_trees.append(residual_tree)
            return [_args.as_value(x) for x in residual_leaves]

        ir = trace_to_ir(residual_leaves, [_args.aval(x) for x in leaves])
        values = eval_ir(dead_code_elimination(ir), leaves)
        return tree.unflatten(residual_trees[0], values)

    def _checked_pair(self, result, what: str, pair: str, noun: str, weak: bool = False):
        """``result``, the pair ``what`` (a user's rule) returns: its first item's leaves
        checked against the function's outputs (structure, shapes and dtypes; with ``weak`` a
        Python number takes its output's dtype), and its second item."""
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise self._error(TypeError, f"{what} must return a pair {pair}, got "
                              f"{type(result).__name__}")
        out, second = result
        out_leaves, out_tree = tree.flatten(out)
        if out_tree != self.out_tree:
            raise self._error(TypeError, f"{what}'s {noun} has structure {out_tree}, but the "
                              f"function's output has structure {self.out_tree}")
        outs = []
        for i, (leaf, aval) in enumerate(zip(out_leaves, self.out_avals)):
            value = _args.as_value(leaf)
            got = _args.aval(value)
            if weak and isinstance(leaf, (int, float)) and got.shape == aval.shape \
                    and got.dtype != aval.dtype:
                value, got = ew.convert(value, aval.dtype), aval
            if got != aval:
                raise self._error(TypeError, f"{what}'s {noun} leaf {i} is {got.short()}, but "
                                  f"the function's output leaf {i} is {aval.short()}")
            outs.append(value)
        return outs, second

    def _residuals(self, leaves):
        """Call ``fwd``, check its output against the function's, return its residuals."""
        result = self.custom.fwd(*self.rebuild(leaves))
        _, residuals = self._checked_pair(result, "fwd", "(output, residuals)", "output")
        for leaf in tree.leaves(residuals):
            try:
                _args.as_value(leaf)
            except _args.UnsupportedLeaf:
                raise self._error(TypeError, "fwd's residuals must be arrays (a pytree of "
                                  f"arrays), got a {type(leaf).__name__}; keep static "
                                  "values in nondiff_argnums or in a closure") from None
        return residuals

    def backward(self, residuals, cotangents) -> list:
        """``bwd``'s cotangents as one leaf (or ``None``) per argument leaf, checked."""
        cotangent = tree.unflatten(self.out_tree, cotangents)
        result = self.custom.bwd(*self.nondiff_args, residuals, cotangent)
        count = len(self.positions)
        if not isinstance(result, (tuple, list)) or len(result) != count:
            got = (f"a {type(result).__name__} of length {len(result)}"
                   if isinstance(result, (tuple, list)) else f"a {type(result).__name__}")
            raise self._error(TypeError, f"bwd must return a tuple with one cotangent per "
                              f"differentiable argument ({count}), got {got}"
                              + ("; for one argument return (cotangent,)" if count == 1
                                 else ""))
        leaves = []
        for position, value in zip(self.positions, result):
            primal = self.args[position]
            problem = _structure_problem(value, primal)
            if problem:
                raise self._error(TypeError, f"bwd returned {problem} as the cotangent of "
                                  f"{_args.describe_argument(self.custom.fun, position)}")
            paths = [path for path, _ in tree.leaves_with_path(primal)]
            for path, leaf, ct in zip(paths, tree.leaves(primal),
                                      _cotangent_leaves(value, primal)):
                what = _args.describe_argument(self.custom.fun, position, path)
                leaves.append(self._checked(ct, _args.as_value(leaf), what))
        return leaves

    def _checked(self, ct, primal, what: str):
        if ct is None or primal.dtype.kind not in "fc":
            return None     # a zero cotangent; integer arguments have none
        weak = isinstance(ct, (int, float))
        ct = _args.as_value(ct)
        if np.shape(ct) != np.shape(primal):
            raise self._error(ValueError, f"bwd returned a cotangent of shape {np.shape(ct)} "
                              f"for {what}, which has shape {np.shape(primal)}")
        if ct.dtype != primal.dtype:
            if not weak:
                raise self._error(TypeError, f"bwd returned a cotangent of dtype "
                                  f"{np.dtype(ct.dtype).name} for {what}, which has dtype "
                                  f"{np.dtype(primal.dtype).name}")
            ct = ew.convert(ct, primal.dtype)
        return ct


class custom_jvp:  # noqa: N801  (JAX's name: used as a decorator, like a function)
    """A function with a forward-mode derivative rule written by the user (JAX semantics).

    Decorate ``fun``, then give the rule with ``defjvp`` or ``defjvps``:

    - ``defjvp(jvp)``: ``jvp(primals, tangents) -> (primal_out, tangent_out)``, where
      ``primals`` is the tuple of positional arguments and ``tangents`` a tuple of the same
      structure; ``tangent_out`` has the structure of the output, each leaf the shape and
      dtype of its primal (a leaf or subtree may be ``None``: zero). With ``nondiff_argnums``,
      those arguments come first and are left out of both tuples:
      ``jvp(*nondiff_args, primals, tangents)``. Usable as a decorator (it returns ``jvp``).
    - ``defjvps(*jvps)``: one function per positional argument, ``jvp_i(g_i, ans, *args)``
      giving that argument's contribution to the output tangent (``None``: the output does
      not depend on it); the contributions of the perturbed arguments are summed.

    Zero tangents: the rule gets, for an input that is not being differentiated, a tangent
    of zeros of its shape and dtype (JAX's default); with ``defjvp(jvp,
    symbolic_zeros=True)`` it gets ``None`` instead (JAX passes a ``SymbolicZero`` object).
    Inputs of integer or boolean dtype always get ``None`` (JAX: a ``float0`` zero);
    ``defjvps`` calls no ``jvp_i`` of an unperturbed argument.

    Every transformation uses the rule: ``jvp``/``jacfwd`` call it; reverse mode (``grad``,
    ``vjp``, ``jacrev``) linearizes it (traces it as a function of the tangents at the
    primals) and transposes that linear program, so the rule's tangent output must be linear
    in the tangents; written with funcgrad operations, the rule is itself differentiated for
    higher orders (its primal part normally, any call of the custom function inside it by
    the rule again). ``vmap`` vectorizes function and rule; ``jit`` compiles the function
    (and the rule, when differentiated under it). Outside every transformation the function
    is called as it is. Arguments in ``nondiff_argnums`` must be static Python values
    (functions, flags); a traced array there is an error, as for ``custom_vjp``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_jvp
    ... def log1pexp(x):
    ...     return fnp.log(1.0 + fnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))
    >>> float(fg.grad(log1pexp)(100.0))
    1.0
    """

    _kind = "custom_jvp"
    _positional = custom_vjp._positional

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None
        self._rule = None    # (nondiff_args, primals, tangents, perturbed) -> (out, tangent)
        self._symbolic_zeros = False
        self._name = getattr(fun, "__name__", "function")

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False) -> Callable:
        """Set the rule ``jvp(primals, tangents) -> (primal_out, tangent_out)``; returns
        ``jvp`` (so that ``@f.defjvp`` decorates the rule)."""
        if not callable(jvp):
            raise TypeError(f"custom_jvp '{self._name}'.defjvp: the rule must be a function, "
                            f"got {type(jvp).__name__}")
        self.jvp = jvp
        self._symbolic_zeros = bool(symbolic_zeros)
        self._rule = lambda nondiff, primals, tangents, perturbed: jvp(*nondiff, primals,
                                                                       tangents)
        return jvp

    def defjvps(self, *jvps: Callable | None) -> None:
        """Set the rule by one function per positional argument: ``jvp_i(g, ans, *args)``
        is the output tangent along argument ``i``'s tangent ``g`` (``None``: zero)."""
        if self.nondiff_argnums:
            raise TypeError(f"custom_jvp '{self._name}'.defjvps cannot be used with "
                            "nondiff_argnums (as in JAX); use defjvp")
        for i, jvp in enumerate(jvps):
            if jvp is not None and not callable(jvp):
                raise TypeError(f"custom_jvp '{self._name}'.defjvps: entry {i} must be a "
                                f"function or None, got {type(jvp).__name__}")

        def rule(nondiff, primals, tangents, perturbed):
            if len(jvps) != len(primals):
                raise TypeError(at_user_line(
                    f"custom_jvp '{self._name}'.defjvps was given {len(jvps)} rule(s), but "
                    f"'{self._name}' was called with {len(primals)} positional argument(s); "
                    "give one rule (or None) per argument"))
            ans = self(*primals)
            ans_tree = tree.structure(ans)
            total = [None] * ans_tree.num_leaves
            for i, (jvp, g, moved) in enumerate(zip(jvps, tangents, perturbed)):
                if jvp is None or not moved:
                    continue
                part = jvp(g, ans, *primals)
                problem = _structure_problem(part, ans, "the output")
                if problem:
                    raise TypeError(at_user_line(
                        f"custom_jvp '{self._name}': the defjvps rule for argument {i} "
                        f"returned {problem}; it must have the structure of the output, "
                        f"{ans_tree} (None for a zero)"))
                total = [b if a is None else a if b is None else a + b
                         for a, b in zip(total, _cotangent_leaves(part, ans))]
            return ans, tree.unflatten(ans_tree, total)

        self.jvp = jvps
        self._symbolic_zeros = True
        self._rule = rule

    def __call__(self, *args, **kwargs):
        if self._rule is None:
            raise AttributeError(f"custom_jvp function '{self._name}' has no rule: call "
                                 f"{self._name}.defjvp(jvp) or {self._name}.defjvps(...) "
                                 "before calling it")
        args = self._positional(args, kwargs)
        if not tracing():   # no transformation is running: nothing to differentiate
            return self.fun(*args)
        nondiff = _static_nondiff(self, "custom_jvp", args,
                                  "with a zero tangent from the rule if need be")
        rule = _JvpCallRule(self, args, nondiff)
        fun_ir, lifted = _trace_primal(self.fun, rule)
        outs = ops.custom_jvp_call([*lifted, *rule.leaves], fun_ir, rule.jvp, len(lifted),
                                   self._name)
        return tree.unflatten(rule.out_tree, outs)


class _JvpCallRule(_CallRule):
    """The user's JVP rule for one call, as a function of flat leaves, with its results
    checked against the primal function's output."""

    def _error(self, error_type, what: str):
        return error_type(at_user_line(f"custom_jvp '{self.custom._name}': {what}"))

    def jvp(self, primal_leaves, tangent_leaves):
        custom = self.custom
        args = self.rebuild(primal_leaves)
        primals = tuple(args[i] for i in self.positions)
        full_tangents = []
        for x, t in zip(primal_leaves, tangent_leaves):
            aval = _args.aval(x)
            if t is None and is_differentiable(aval.dtype) and not custom._symbolic_zeros:
                t = _args.to_user(np.zeros(aval.shape, aval.dtype))
            full_tangents.append(t if is_differentiable(aval.dtype) else None)
        tangents = tuple(tree.unflatten(self.in_tree, full_tangents))
        moved = iter([t is not None for t in tangent_leaves])
        perturbed = tuple(any([next(moved) for _ in tree.leaves(p)]) for p in primals)
        result = custom._rule(self.nondiff_args, primals, tangents, perturbed)
        return self._checked(result)

    def _checked(self, result):
        outs, tangent = self._checked_pair(result, "the JVP rule", "(primal_out, tangent_out)",
                                           "primal output", weak=True)
        like = tree.unflatten(self.out_tree, list(range(len(outs))))
        problem = _structure_problem(tangent, like, "the output")
        if problem:
            raise self._error(TypeError, f"the JVP rule's tangent output is {problem}; it "
                              f"must have the structure of the output, {self.out_tree} "
                              "(None for a zero)")
        tangents = []
        for i, (t, aval) in enumerate(zip(_cotangent_leaves(tangent, like), self.out_avals)):
            if t is None or not is_differentiable(aval.dtype):
                tangents.append(None)
                continue
            weak = isinstance(t, (int, float))
            t = _args.as_value(t)
            if np.shape(t) != aval.shape:
                raise self._error(ValueError, f"the JVP rule returned a tangent of shape "
                                  f"{np.shape(t)} for output leaf {i}, which has shape "
                                  f"{aval.shape}; a tangent has its primal's shape and dtype")
            if t.dtype != aval.dtype:
                if not weak:
                    raise self._error(TypeError, f"the JVP rule returned a tangent of dtype "
                                      f"{np.dtype(t.dtype).name} for output leaf {i}, which "
                                      f"has dtype {aval.dtype.name}; a tangent has its "
                                      "primal's shape and dtype")
                t = ew.convert(t, aval.dtype)
            tangents.append(t)
        return outs, tangents


def checkpoint(fun: Callable | None = None, *, static_argnums: int | tuple[int, ...] = (),
               policy=None):
    """Make ``fun`` rematerialised: same values and derivatives, but a backward pass keeps
    only its inputs (and what ``policy`` saves) and recomputes its other intermediates when
    it needs them (JAX's ``jax.checkpoint``; also ``fg.remat``). Trades compute for memory.
    A program compiled by ``fg.jit`` keeps all its values until it returns, so there the
    block is inlined and its recomputation merged with its forward pass.

    Args:
      fun: the function (of arrays or pytrees) to checkpoint.
      static_argnums: positional arguments that are static Python values (not traced).
      policy: which intermediates the backward pass keeps instead of recomputing: ``None``
        (``fg.checkpoint_policies.nothing_saveable``: none),
        ``fg.checkpoint_policies.dots_saveable`` (the results of matrix products), or any
        policy of ``fg.checkpoint_policies``, or a function ``(primitive, *avals, **params)
        -> bool`` as in JAX.

    Returns:
      The checkpointed function. Used without ``fun``, a decorator.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> block = fg.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> float(fg.grad(block)(0.0))
    1.0
    """
    from ..checkpoint_policies import as_policy
    if fun is None:
        return functools.partial(checkpoint, static_argnums=static_argnums, policy=policy)
    policy = as_policy(policy)
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    who = f"checkpoint of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        if not tracing():   # no transformation is running: nothing to recompute
            return fun(*args, **kwargs)
        statics = set(_args.normalize_argnums(static, len(args), who)) if static else set()
        leaves, in_tree = tree.flatten(([a for i, a in enumerate(args) if i not in statics],
                                        kwargs))
        leaves = [_args.as_value(x) for x in leaves]

        def call(*tracers):
            dynamic, keywords = tree.unflatten(in_tree, tracers)
            dynamic = iter(dynamic)
            return fun(*[a if i in statics else next(dynamic) for i, a in enumerate(args)],
                       **keywords)

        out_trees: list = []
        block, lifted = ops.trace_closed(_flat_outputs(call, out_trees),
                                         [_args.aval(x) for x in leaves])
        outs = ops.bind_checkpoint(block, policy, [*lifted, *leaves])
        return tree.unflatten(out_trees[0], outs)

    return checkpointed


remat = checkpoint
