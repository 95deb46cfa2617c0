"""Pytrees: nested containers of leaves, with JAX semantics.

A pytree is a leaf or a container node whose children are pytrees. The node types are
``tuple``, ``list``, ``dict`` (children in sorted-key order), ``collections.OrderedDict``
(insertion order), ``collections.defaultdict``, ``None`` (a node with no children, so not a
leaf), namedtuples (their class is kept), and classes given to :func:`register`.
Everything else -- numbers, arrays, tracers, any other object -- is a leaf. Dispatch is on
the exact type, so a subclass of a node type is a leaf unless it is registered too.

>>> leaves, treedef = flatten({'b': (1, 2), 'a': None})
>>> leaves, treedef
([1, 2], PyTreeDef({'a': None, 'b': (*, *)}))
>>> unflatten(treedef, [10, 20])
{'a': None, 'b': (10, 20)}

Flattening and unflattening run on every call of a transformed function, so the common
cases (a leaf; a flat tuple of leaves) take short paths, and a type's kind is looked up in
a dict cache rather than by ``isinstance`` tests.
"""
from __future__ import annotations

import builtins
import collections
import functools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

__all__ = ["PyTreeDef", "all", "flatten", "flatten_with_path", "leaves", "leaves_with_path",
           "load", "map", "map_with_path", "path_str", "reduce", "register",
           "register_pytree_node", "save", "structure", "transpose", "unflatten"]


def __dir__():   # the API, not the modules and typing names this file imports
    return sorted(__all__)

_MISS = object()


class _NodeType:
    """How one node class splits into children and is rebuilt; compared by identity."""

    __slots__ = ("cls", "flatten", "fmt", "keys", "unflatten")

    def __init__(self, cls, flatten, unflatten, keys=None, fmt=None):
        self.cls, self.flatten, self.unflatten = cls, flatten, unflatten
        self.keys = keys or (lambda aux, n: range(n))  # path keys of the children
        self.fmt = fmt or _fmt_custom                   # (aux, child reprs) -> str

    def __reduce__(self):
        # Pickled as its class: unpickling finds the node type of that class in the receiving
        # process, so treedefs stay comparable by identity there (and cross processes).
        return _node_type_of, (self.cls,)


def _node_type_of(cls: type) -> _NodeType:
    h = _cache.get(cls, _MISS)
    if h is _MISS:
        h = _classify(cls)
    if h is None:
        raise TypeError(f"tree: cannot unpickle a treedef with a node of type "
                        f"{cls.__module__}.{cls.__qualname__}: it is not a registered pytree "
                        "node type in this process (call funcgrad.tree.register first)")
    return h


def _fmt_custom(h, aux, parts):
    return f"CustomNode({h.cls.__qualname__}[{aux!r}], [{', '.join(parts)}])"


def _fmt_tuple(h, aux, parts):
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


def _fmt_dict(h, aux, parts):
    keys = aux[1] if h.cls is collections.defaultdict else aux
    body = "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(keys, parts)) + "}"
    return body if h.cls is dict else f"{h.cls.__name__}({body})"


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError as e:
        raise TypeError(f"tree: dict keys must be mutually sortable: {list(d)!r}") from e


def _flat_dict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


def _flat_ddict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], (d.default_factory, keys)


_TUPLE = _NodeType(tuple, lambda x: (x, None), lambda a, c: tuple(c), fmt=_fmt_tuple)
_BUILTIN = [
    _TUPLE,
    _NodeType(list, lambda x: (x, None), lambda a, c: list(c),
              fmt=lambda h, a, p: f"[{', '.join(p)}]"),
    _NodeType(dict, _flat_dict, lambda a, c: dict(zip(a, c)), lambda a, n: a, _fmt_dict),
    _NodeType(type(None), lambda x: ((), None), lambda a, c: None,
              fmt=lambda h, a, p: "None"),
    _NodeType(collections.OrderedDict, lambda d: (list(d.values()), tuple(d)),
              lambda a, c: collections.OrderedDict(zip(a, c)), lambda a, n: a, _fmt_dict),
    _NodeType(collections.defaultdict, _flat_ddict,
              lambda a, c: collections.defaultdict(a[0], zip(a[1], c)),
              lambda a, n: a[1], _fmt_dict),
]
# Explicitly registered node types (builtins included), and the per-type cache used for
# dispatch: type -> _NodeType, or None for a leaf type. Namedtuples enter the cache lazily.
_registry: dict[type, _NodeType] = {h.cls: h for h in _BUILTIN}
_DICT = _registry[dict]
_cache: dict[type, _NodeType | None] = dict(_registry)
_get = _cache.get


def _classify(t: type) -> _NodeType | None:
    """The node type of class ``t`` (None for a leaf), computed once and cached."""
    h = _registry.get(t)
    if h is None and issubclass(t, tuple) and isinstance(getattr(t, "_fields", None), tuple):
        h = _NodeType(t, lambda x: (x, None), lambda a, c, t=t: t(*c),
                      fmt=lambda h, a, p: h.cls.__name__ + "(" + ", ".join(
                          f"{f}={s}" for f, s in zip(h.cls._fields, p)) + ")")
    _cache[t] = h
    return h


def _flatten(x: Any, h: _NodeType | None, out: list) -> tuple | None:
    """Append the leaves of ``x`` (whose node type is ``h``) to ``out``; return its node.

    A node is ``None`` for a leaf, else ``(node_type, aux_data, child_nodes)``.
    """
    if h is None:
        out.append(x)
        return None
    if h is _DICT:   # the commonest node, inlined (empty ones are common too: parameter-free
        if not x:    # layers of a model)
            return (h, (), ())
        aux = _sorted_keys(x)
        children = [x[k] for k in aux]
    else:
        children, aux = h.flatten(x)
    nodes = []
    for c in children:
        hc = _get(type(c), _MISS)
        if hc is None:  # leaf child: skip the call
            out.append(c)
            nodes.append(None)
        else:
            if hc is _MISS:
                hc = _classify(type(c))
            nodes.append(_flatten(c, hc, out))
    return (h, aux, tuple(nodes))


def _build(node: tuple | None, it) -> Any:
    if node is None:
        return next(it)
    h, aux, kids = node
    return h.unflatten(aux, tuple([next(it) if k is None else _build(k, it) for k in kids]))


def _aux_equal(a, b) -> bool:
    """``a == b`` for aux data, where ``==`` may be elementwise (arrays, containers of them)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())
    if isinstance(a, dict):
        return a.keys() == b.keys() and builtins.all(_aux_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and builtins.all(_aux_equal(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _nodes_equal(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] is b[0] and len(a[2]) == len(b[2]) and _aux_equal(a[1], b[1]) and \
        builtins.all(_nodes_equal(x, y) for x, y in zip(a[2], b[2]))


def _node_hash(node: tuple | None) -> int:
    """A hash of the structure in which unhashable aux data counts by its type alone."""
    if node is None:
        return 0
    h, aux, kids = node
    try:
        aux_hash = hash(aux)
    except TypeError:
        aux_hash = hash(type(aux))
    return hash((id(h), aux_hash, tuple(_node_hash(k) for k in kids)))


def _repr(node: tuple | None) -> str:
    if node is None:
        return "*"
    h, aux, kids = node
    return h.fmt(h, aux, [_repr(k) for k in kids])


_GENERAL, _LEAF_MODE, _FLAT_TUPLE = 0, 1, 2


class PyTreeDef:
    """The structure of a pytree: everything but its leaves. Hashable and comparable."""

    __slots__ = ("_builder", "_hash", "_mode", "_node", "num_leaves")

    def __init__(self, node: tuple | None, num_leaves: int, mode: int = _GENERAL):
        self._node, self.num_leaves, self._mode, self._hash = node, num_leaves, mode, None
        self._builder = None   # ``builder()``'s function, made on first use

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return False
        if self._node is other._node:
            return True
        try:
            return self._node == other._node
        except (TypeError, ValueError):   # aux data whose == is elementwise (arrays)
            return _nodes_equal(self._node, other._node)

    def __hash__(self) -> int:
        if self._hash is None:
            try:
                self._hash = hash(self._node)
            except TypeError:   # unhashable aux data: equal trees still hash alike
                self._hash = _node_hash(self._node)
        return self._hash

    def __repr__(self) -> str:
        return f"PyTreeDef({_repr(self._node)})"

    def __reduce__(self):   # the generated builder is not pickled; it is made again on use
        return PyTreeDef, (self._node, self.num_leaves, self._mode)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Same as ``unflatten(self, leaves)``."""
        return unflatten(self, leaves)

    def builder(self) -> Callable[[list], Any]:
        """A function of a list of leaves that rebuilds a tree of this structure, for one that
        is rebuilt very often (a jitted function's outputs): it is generated once (about
        100 us), as one Python expression of dict, tuple and list displays, and then rebuilds
        10x faster than ``unflatten`` walking the nodes. It does not check the leaf count."""
        if self._builder is None:
            if self._mode == _FLAT_TUPLE:
                self._builder = tuple
            elif self._mode == _LEAF_MODE:
                self._builder = lambda leaves: leaves[0]
            else:
                self._builder = _make_builder(self._node, self.num_leaves)
        return self._builder


_LEAF_DEF = PyTreeDef(None, 1, _LEAF_MODE)
_flat_nodes: dict[int, tuple] = {}


def _node_type(x: Any) -> _NodeType | None:
    h = _get(type(x), _MISS)
    return _classify(type(x)) if h is _MISS else h


def _children(h: _NodeType, x: Any) -> tuple[tuple, Any]:
    """``(children, aux)`` of node ``x`` of type ``h``, as ``_flatten`` splits it."""
    if h is _DICT:
        children, aux = _flat_dict(x)
    else:
        children, aux = h.flatten(x)
    return tuple(children), aux


def _flatten_until(x: Any, is_leaf: Callable[[Any], bool], out: list) -> tuple | None:
    """``_flatten`` where ``is_leaf(subtree)`` true makes that subtree a leaf."""
    h = None if is_leaf(x) else _node_type(x)
    if h is None:
        out.append(x)
        return None
    children, aux = _children(h, x)
    return (h, aux, tuple([_flatten_until(c, is_leaf, out) for c in children]))


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None
            ) -> tuple[list[Any], PyTreeDef]:
    """Split ``tree`` into its list of leaves and its structure. ``is_leaf``, a function of a
    subtree, makes every subtree it returns True for a leaf (it is not split further).

    >>> flatten((1.0, [2.0, None]))
    ([1.0, 2.0], PyTreeDef((*, [*, None])))
    >>> flatten((1.0, [2.0, None]), is_leaf=lambda x: isinstance(x, list))
    ([1.0, [2.0, None]], PyTreeDef((*, *)))
    """
    if is_leaf is not None:
        out: list = []
        node = _flatten_until(tree, is_leaf, out)
        return out, _LEAF_DEF if node is None else PyTreeDef(node, len(out))
    t = type(tree)
    h = _get(t, _MISS)
    if h is None:
        return [tree], _LEAF_DEF
    if h is _TUPLE:
        for c in tree:
            if _get(type(c), _MISS) is not None:
                break
        else:  # a flat tuple of known leaf types
            n = len(tree)
            node = _flat_nodes.get(n)
            if node is None:
                node = _flat_nodes.setdefault(n, (_TUPLE, None, (None,) * n))
            return list(tree), PyTreeDef(node, n, _FLAT_TUPLE)
    elif h is _MISS:
        h = _classify(t)
    out: list = []
    node = _flatten(tree, h, out)
    return out, PyTreeDef(node, len(out))


def unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from its leaves (in flatten order).

    >>> leaves, td = flatten({'a': 1, 'b': (2, 3)})
    >>> unflatten(td, [x * 10 for x in leaves])
    {'a': 10, 'b': (20, 30)}
    """
    if type(leaves) is not list and type(leaves) is not tuple:
        leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"unflatten: {treedef!r} expects {treedef.num_leaves} leaves, "
                         f"got {len(leaves)}")
    mode = treedef._mode
    if mode == _FLAT_TUPLE:
        return tuple(leaves)
    if mode == _LEAF_MODE:
        return leaves[0]
    return _build(treedef._node, iter(leaves))


def _make_builder(node: tuple, num_leaves: int) -> Callable[[list], Any]:
    """``PyTreeDef.builder``'s function for ``node`` (walking the nodes for a tree too deep or
    too wide to write as one expression)."""
    if num_leaves > 4096 or _depth(node) > 32:
        return lambda leaves: _build(node, iter(leaves))
    namespace: dict = {}
    position = iter(range(num_leaves))

    def constant(value) -> str:
        name = f"_c{len(namespace)}"
        namespace[name] = value
        return name

    def expression(node) -> str:
        if node is None:
            return f"l[{next(position)}]"
        h, aux, kids = node
        parts = [expression(k) for k in kids]
        if h.cls is tuple:
            return "(" + "".join(p + ", " for p in parts) + ")"
        if h.cls is list:
            return "[" + ", ".join(parts) + "]"
        if h.cls is dict:
            return "{" + ", ".join(f"{constant(k)}: {p}" for k, p in zip(aux, parts)) + "}"
        if h.cls is type(None):
            return "None"
        return (f"{constant(h)}.unflatten({constant(aux)}, "
                "(" + "".join(p + ", " for p in parts) + "))")

    body = expression(node)
    exec(compile(f"def build(l):\n    return {body}\n", "<funcgrad tree>", "exec"), namespace)
    return namespace["build"]


def _depth(node) -> int:
    return 0 if node is None else 1 + max((_depth(k) for k in node[2]), default=0)


def structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The structure (treedef) of ``tree`` (``is_leaf`` as in :func:`flatten`).

    >>> structure({'a': 1.0, 'b': (2.0, 3.0)})
    PyTreeDef({'a': *, 'b': (*, *)})
    """
    return flatten(tree, is_leaf)[1]


def leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree``, in flatten order (dicts by sorted key; ``is_leaf`` as in
    :func:`flatten`).

    >>> leaves({'b': [1, 2], 'a': 0, 'c': None})
    [0, 1, 2]
    """
    return flatten(tree, is_leaf)[0]


def _leaves_up_to(node: tuple | None, x: Any, out: list) -> bool:
    """Append to ``out`` the subtrees of ``x`` at the leaves of structure ``node`` (``x`` has
    that structure, or it as a prefix); False where it does not."""
    if node is None:
        out.append(x)
        return True
    h, aux, kids = node
    if _node_type(x) is not h:
        return False
    children, x_aux = _children(h, x)
    return (len(children) == len(kids) and _aux_equal(aux, x_aux)
            and builtins.all(_leaves_up_to(k, c, out) for k, c in zip(kids, children)))


def _leaves_of_rest(who: str, td: PyTreeDef, rest) -> list[list]:
    """The leaves of each tree of ``rest`` matched to the leaves of ``td``: each must have
    ``td``'s structure, or it as a prefix (a leaf of ``td`` then takes a whole subtree)."""
    others = []
    for i, r in enumerate(rest, 1):
        r_flat, r_td = flatten(r)
        if r_td != td:
            r_flat = []
            if not _leaves_up_to(td._node, r, r_flat):
                raise ValueError(f"{who}: tree {i} has a different structure from tree 0:"
                                 f"\n  tree 0: {td!r}\n  tree {i}: {r_td!r}")
        others.append(r_flat)
    return others


def _check_function(who: str, f) -> None:
    if not callable(f):
        raise TypeError(f"{who}(f, tree, *rest): f must be a function, got a "
                        f"{type(f).__name__} (are the function and the tree swapped?)")


def map(f: Callable[..., Any], tree: Any, *rest: Any,
        is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` leafwise to ``tree`` and the ``rest`` trees, which have ``tree``'s
    structure or it as a prefix (then ``f`` gets their whole subtree at each leaf of
    ``tree``); ``is_leaf`` as in :func:`flatten`.

    >>> map(lambda x, y: x + y, {'a': 1, 'b': (2, 3)}, {'a': 10, 'b': (20, 30)})
    {'a': 11, 'b': (22, 33)}
    >>> map(lambda x, pair: x * pair[0], [1, 2], [(3, 0), (4, 0)])
    [3, 8]
    """
    _check_function("tree.map", f)
    flat, td = flatten(tree, is_leaf)
    if not rest:
        return unflatten(td, [f(x) for x in flat])
    others = _leaves_of_rest("tree.map", td, rest)
    return unflatten(td, [f(*xs) for xs in zip(flat, *others)])


def flatten_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                      ) -> tuple[list[tuple[tuple, Any]], PyTreeDef]:
    """``(leaves_with_path(tree), structure(tree))``.

    >>> flatten_with_path({'w': [1.0], 'b': 2.0})
    ([(('b',), 2.0), (('w', 0), 1.0)], PyTreeDef({'b': *, 'w': [*]}))
    """
    return leaves_with_path(tree, is_leaf), structure(tree, is_leaf)


def map_with_path(f: Callable[..., Any], tree: Any, *rest: Any,
                  is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``map`` where ``f`` also gets each leaf's path first: ``f(path, leaf, *rest_leaves)``.

    >>> map_with_path(lambda path, x: (path[0], x), {'a': 1, 'b': 2})
    {'a': ('a', 1), 'b': ('b', 2)}
    """
    _check_function("tree.map_with_path", f)
    pairs, td = flatten_with_path(tree, is_leaf)
    others = _leaves_of_rest("tree.map_with_path", td, rest)
    return unflatten(td, [f(path, x, *xs) for (path, x), *xs in zip(pairs, *others)])


_NO_INITIAL = object()


def reduce(function: Callable[[Any, Any], Any], tree: Any, initializer: Any = _NO_INITIAL,
           is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce`` of ``function`` over the leaves of ``tree``.

    >>> reduce(lambda a, b: a + b, {'a': 1, 'b': (2, 3)})
    6
    >>> reduce(max, [], initializer=0)
    0
    """
    flat = leaves(tree, is_leaf)
    if initializer is _NO_INITIAL:
        if not flat:
            raise TypeError("tree.reduce of a tree with no leaves needs an initializer")
        return functools.reduce(function, flat)
    return functools.reduce(function, flat, initializer)


def all(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf of ``tree`` is true (``bool(leaf)``); True for no leaves.

    >>> all({'a': True, 'b': (1, 0)})
    False
    """
    return builtins.all(leaves(tree, is_leaf))


def transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, tree: Any) -> Any:
    """Turn a tree of structure outer-of-inner into inner-of-outer: ``tree`` is an
    ``outer_treedef`` whose leaves are trees of ``inner_treedef`` (None: the structure of the
    first of them).

    >>> transpose(structure([0, 0]), structure((0, 0)), [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    outer = []
    if not _leaves_up_to(outer_treedef._node, tree, outer) or \
            len(outer) != outer_treedef.num_leaves:
        raise ValueError(f"tree.transpose: the tree does not have the outer structure "
                         f"{outer_treedef!r}")
    if inner_treedef is None:
        if not outer:
            raise ValueError("tree.transpose: inner_treedef is needed for a tree with no "
                             "outer leaves")
        inner_treedef = structure(outer[0])
    columns = []
    for i, subtree in enumerate(outer):
        flat = []
        if not _leaves_up_to(inner_treedef._node, subtree, flat):
            raise ValueError(f"tree.transpose: outer leaf {i} does not have the inner "
                             f"structure {inner_treedef!r}")
        columns.append(flat)
    rows = [unflatten(outer_treedef, [column[j] for column in columns])
            for j in range(inner_treedef.num_leaves)]
    return unflatten(inner_treedef, rows)


def register(cls: type, flatten: Callable[[Any], tuple[Iterable[Any], Hashable]],
             unflatten: Callable[[Any, tuple], Any]) -> None:
    """Make ``cls`` a pytree node type (exact type, not subclasses).

    ``flatten(obj) -> (children, aux_data)``; ``unflatten(aux_data, children) -> obj``.
    ``aux_data`` becomes part of the treedef: it need only compare with ``==`` (a dict, a
    list or an array will do); ``jit`` traces again when it changes.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register(Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
    >>> leaves(Pair(1, (2, 3)))
    [1, 2, 3]
    """
    if cls in _registry:
        raise ValueError(f"tree.register: {cls.__module__}.{cls.__qualname__} is "
                         "already registered as a pytree node type")

    def flat(x: Any) -> tuple[tuple, Any]:
        children, aux = flatten(x)
        return tuple(children), aux

    _registry[cls] = h = _NodeType(cls, flat, unflatten)
    _cache[cls] = h  # overrides a cached leaf or namedtuple classification


def register_pytree_node(nodetype: type, flatten_func, unflatten_func) -> None:
    """JAX's name for :func:`register` (same arguments, same meaning)."""
    register(nodetype, flatten_func, unflatten_func)


def leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                     ) -> list[tuple[tuple, Any]]:
    """The leaves of ``tree`` with their paths: tuples of dict keys and child indices
    (``is_leaf`` as in :func:`flatten`).

    >>> leaves_with_path({'w': [1.0, 2.0], 'b': 3.0})
    [(('b',), 3.0), (('w', 0), 1.0), (('w', 1), 2.0)]
    """
    out: list = []

    def walk(x: Any, path: tuple) -> None:
        h = None if is_leaf is not None and is_leaf(x) else _node_type(x)
        if h is None:
            out.append((path, x))
            return
        children, aux = h.flatten(x)
        children = tuple(children)
        for k, c in zip(h.keys(aux, len(children)), children):
            walk(c, path + (k,))

    walk(tree, ())
    return out


def path_str(path: tuple) -> str:
    """Render a path from :func:`leaves_with_path`; the empty path (a bare leaf) is ``''``.

    >>> path_str(('w', 0))
    "['w'][0]"
    """
    return "".join(f"[{k!r}]" for k in path)


# ------------------------------------------------------------------------------ checkpoints
#
# A file of ``save`` is an .npz (a zip of .npy members, as ``np.savez`` writes it, uncompressed)
# holding ``leaf_<i>.npy`` for each array leaf and ``tree.json``: the structure, with the Python
# numbers and strings inline. Nothing is pickled, and loading imports nothing: classes are
# looked up by qualified name among the modules already imported.

_FORMAT, _VERSION = "funcgrad.tree", 1
_HEADER = "tree.json"


class _Corrupt(Exception):
    """A file ``load`` cannot read; turned into a ValueError naming the path."""


def _class_name(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _find_class(name: str):
    """The class named ``module:qualname`` if its module is imported, else None."""
    import sys
    module, _, qualname = name.partition(":") if isinstance(name, str) else ("", "", "")
    obj = sys.modules.get(module)
    for part in qualname.split(".") if obj is not None and qualname else ():
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and qualname else None


def _check_findable(cls, what: str, path: tuple) -> str:
    name = _class_name(cls)
    if _find_class(name) is not cls:
        raise TypeError(f"tree.save: the {what} {name} at {path_str(path) or 'the root'} "
                        "cannot be saved: load finds classes by module and qualified name, "
                        "so it must be defined at the top level of a module (not in a "
                        "function)")
    return name


def _encode_value(x, path: tuple):
    """Aux data and dict keys as JSON: None, bool, int, str as they are, floats by their hex
    (exact), tuples, lists and dicts (keys of any of these types) tagged."""
    t = type(x)
    if x is None or t is bool or t is int or t is str:
        return x
    if t is float:
        return {"float": x.hex()}
    if t is tuple or t is list:
        items = [_encode_value(v, path) for v in x]
        return {"tuple": items} if t is tuple else items
    if t is dict:
        return {"dict": [[_encode_value(k, path), _encode_value(v, path)] for k, v in x.items()]}
    raise TypeError(f"tree.save: a dict key or node's aux data at {path_str(path) or 'the root'}"
                    f" is a {t.__module__}.{t.__qualname__}: only None, bool, int, float, str "
                    "and tuples, lists and dicts of them can be saved")


def _decode_value(x):
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is list:
        return [_decode_value(v) for v in x]
    if type(x) is dict and len(x) == 1:
        (tag, v), = x.items()
        if tag == "float" and type(v) is str:
            try:
                return float.fromhex(v)
            except ValueError:
                pass
        elif tag == "tuple" and type(v) is list:
            return tuple(_decode_value(i) for i in v)
        elif tag == "dict" and type(v) is list and builtins.all(type(i) is list and len(i) == 2
                                                       for i in v):
            return {_decode_value(k): _decode_value(i) for k, i in v}
    raise _Corrupt(f"a malformed value {x!r:.80} in its structure")


def _encode_leaf(x, path: tuple, arrays: list):
    import numpy as np

    from .core.array import Array
    t = type(x)
    if t is bool or t is int or t is str:
        return {t.__name__: x}
    if t is float or t is complex:
        kind, x = t.__name__, np.array(x)
    elif t is np.ndarray or t is Array:
        kind = "ndarray" if t is np.ndarray else "Array"
    elif isinstance(x, np.generic):
        kind, x = "scalar", np.asarray(x)
    else:
        raise TypeError(f"tree.save: the leaf at {path_str(path) or 'the root'} is a "
                        f"{t.__module__}.{t.__qualname__}: only NumPy and funcgrad arrays, "
                        "NumPy scalars, Python numbers and strings can be saved (a traced "
                        "value cannot: save outside jit, grad and vmap)")
    if x.dtype.hasobject:
        raise TypeError(f"tree.save: the leaf at {path_str(path) or 'the root'} is an array of "
                        f"dtype {x.dtype} holding Python objects, which cannot be saved "
                        "without pickle: convert it to a numeric (or string) dtype")
    arrays.append(x)
    return {"leaf": len(arrays) - 1, "kind": kind}


def _encode(node, leaves, path: tuple, arrays: list):
    """The JSON of the flattened ``node`` (see ``_flatten``); ``leaves`` iterates its leaves."""
    if node is None:
        return _encode_leaf(next(leaves), path, arrays)
    h, aux, kids = node
    cls = h.cls
    if h in _BUILTIN:
        if cls is type(None):
            return {"node": "None"}
        if cls is tuple or cls is list:
            keys, spec = range(len(kids)), {"node": cls.__name__}
        else:   # dict, OrderedDict, defaultdict
            keys = aux[1] if cls is collections.defaultdict else aux
            spec = {"node": cls.__name__, "keys": [_encode_value(k, path) for k in keys]}
            if cls is collections.defaultdict:
                factory = aux[0]
                if factory is not None and not isinstance(factory, type):
                    raise TypeError(f"tree.save: the defaultdict at {path_str(path) or 'the root'}"
                                    f" has the default_factory {factory!r}: only None or a "
                                    "class (list, int, ...) can be saved")
                spec["factory"] = None if factory is None else \
                    _check_findable(factory, "default_factory", path)
    elif _registry.get(cls) is h:
        keys = range(len(kids))
        spec = {"node": "custom", "class": _check_findable(cls, "pytree node class", path),
                "aux": _encode_value(aux, path)}
    else:   # a namedtuple
        keys = range(len(kids))
        spec = {"node": "namedtuple", "class": _check_findable(cls, "namedtuple", path)}
    spec["children"] = [_encode(kid, leaves, path + (key,), arrays)
                        for key, kid in zip(keys, kids)]
    return spec


def save(path, tree: Any) -> None:
    """Write the pytree ``tree`` of arrays to the file ``path`` (exactly that name: no suffix is
    added), for :func:`load`.

    The file is an ``.npz`` (``np.load(path, allow_pickle=False)`` reads its arrays) with
    ``tree.json``, the structure, beside the arrays: nothing is pickled. Leaves may be NumPy
    and funcgrad arrays of any non-object dtype, NumPy scalars, Python numbers and strings;
    nodes every kind funcgrad flattens: tuples, lists, dicts (keys None, bool, int, float, str
    or tuples of them), ``OrderedDict``, ``defaultdict`` (its default_factory a class or None),
    None, namedtuples, and classes given to :func:`register` whose aux data is made of None,
    bool, int, float, str, tuples, lists and dicts. Classes (namedtuples, registered nodes,
    default factories) must be reachable as ``module.qualname``; loading them needs the module
    imported (and the class registered) first. Anything else is a ``TypeError`` naming where it
    is in the tree. The file is written beside ``path`` and then renamed over it, so an
    interrupted save leaves any earlier file whole.

    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.npz")
    >>> save(path, {"w": np.float32([1.5, -0.0]), "step": 7, "layers": [None, (2.5,)]})
    >>> load(path)
    {'layers': [None, (2.5,)], 'step': 7, 'w': array([ 1.5, -0. ], dtype=float32)}
    """
    import json
    import os
    import zipfile

    import numpy as np
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"tree.save: path must be a str or os.PathLike, got a "
                        f"{type(path).__name__}") from None
    flat, treedef = flatten(tree)
    arrays: list = []
    spec = _encode(treedef._node, iter(flat), (), arrays)
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": spec},
                        allow_nan=False, ensure_ascii=False)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            zf.writestr(_HEADER, header.encode("utf-8"))
            for i, a in enumerate(arrays):
                with zf.open(f"leaf_{i}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, a.view(np.ndarray), allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _decode(spec, arrays: dict, used: set):
    """The flattened node of ``spec`` (a ``_flatten`` node) and the list of its leaves."""
    import numpy as np

    from .core.array import Array
    if type(spec) is not dict:
        raise _Corrupt(f"a malformed node {spec!r:.80} in its structure")
    if "node" not in spec:
        if len(spec) == 1:
            (kind, value), = spec.items()
            if kind in ("bool", "int", "str") and type(value).__name__ == kind:
                return None, [value]
        index, kind = spec.get("leaf"), spec.get("kind")
        if type(index) is not int or index not in arrays or index in used:
            raise _Corrupt(f"a malformed leaf {spec!r:.80} in its structure")
        used.add(index)
        a = arrays[index]
        if kind == "ndarray":
            return None, [a]
        if kind == "Array":
            return None, [a.view(Array)]
        if a.ndim == 0 and kind in ("scalar", "float", "complex"):
            if kind == "scalar":
                return None, [a[()]]
            if a.dtype == np.dtype(kind if kind == "float" else "complex128"):
                return None, [float(a[()]) if kind == "float" else complex(a[()])]
        raise _Corrupt(f"leaf_{index}.npy ({a.dtype}, shape {a.shape}) does not match its "
                       f"kind {kind!r}")
    kind, children = spec["node"], spec.get("children", [])
    if type(children) is not list:
        raise _Corrupt(f"a malformed node {spec!r:.80} in its structure")
    if kind == "None":
        return (_registry[type(None)], None, ()), []
    kids, leaves = [], []
    for child in children:
        node, child_leaves = _decode(child, arrays, used)
        kids.append(node)
        leaves.extend(child_leaves)
    kids = tuple(kids)
    if kind in ("tuple", "list"):
        return (_registry[tuple if kind == "tuple" else list], None, kids), leaves
    if kind in ("dict", "OrderedDict", "defaultdict"):
        keys = spec.get("keys")
        if type(keys) is not list or len(keys) != len(kids):
            raise _Corrupt(f"a {kind} whose keys do not match its children")
        keys = tuple(_decode_value(k) for k in keys)
        if kind == "dict":
            return (_DICT, keys, kids), leaves
        if kind == "OrderedDict":
            return (_registry[collections.OrderedDict], keys, kids), leaves
        factory = spec.get("factory")
        if factory is not None:
            factory = _find_class(factory)
            if factory is None:
                raise _Corrupt(f"a defaultdict whose default_factory {spec.get('factory')!r} "
                               "is not a class of an imported module: import it first")
        return (_registry[collections.defaultdict], (factory, keys), kids), leaves
    if kind in ("namedtuple", "custom"):
        name = spec.get("class")
        cls = _find_class(name)
        if cls is None:
            raise _Corrupt(f"a {kind} node of class {name!r}, which is not a class of an "
                           "imported module: import (and register) it before loading")
        h = _registry.get(cls) if kind == "custom" else _get(cls, _MISS)
        if h is _MISS:
            h = _classify(cls)
        if h is None or (kind == "namedtuple") == (_registry.get(cls) is h):
            wanted = "a registered pytree node type" if kind == "custom" else "a namedtuple"
            raise _Corrupt(f"a {kind} node of class {name!r}, which is not {wanted} in this "
                           "process" + (" (call funcgrad.tree.register first)"
                                        if kind == "custom" else ""))
        aux = _decode_value(spec.get("aux")) if kind == "custom" else None
        return (h, aux, kids), leaves
    raise _Corrupt(f"an unknown node kind {kind!r} in its structure")


def load(path) -> Any:
    """Read a pytree written by :func:`save` (see there for what it holds); the result equals
    what was saved bit for bit: dtypes, shapes, values (NaN payloads and ``-0.0`` included),
    leaf types (NumPy or funcgrad array, NumPy scalar, Python number) and the structure, dicts
    in the key order ``flatten`` gives them (sorted for ``dict``). Nothing is unpickled or
    imported. A file that is not one ``save`` wrote (not a zip, truncated, corrupt, another
    ``.npz``) is a ``ValueError`` naming the path and what is wrong; a missing one is
    ``FileNotFoundError``.
    """
    import json
    import os
    import zipfile

    import numpy as np
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"tree.load: path must be a str or os.PathLike, got a "
                        f"{type(path).__name__}") from None
    with open(path, "rb") as file:   # FileNotFoundError, IsADirectoryError as they are
        try:
            try:
                zf = zipfile.ZipFile(file)
            except zipfile.BadZipFile as e:
                raise _Corrupt(f"it is not a zip (.npz) file, or is truncated ({e})") from e
            with zf:
                names = set(zf.namelist())
                if _HEADER not in names:
                    raise _Corrupt("it has no tree.json (a plain .npz? np.load reads those)")
                try:
                    header = json.loads(zf.read(_HEADER).decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    raise _Corrupt(f"its tree.json is not valid JSON ({e})") from e
                if type(header) is not dict or header.get("format") != _FORMAT:
                    raise _Corrupt("its tree.json is not a funcgrad tree header")
                if header.get("version") != _VERSION:
                    raise _Corrupt(f"it has format version {header.get('version')!r}; this "
                                   f"funcgrad reads version {_VERSION}")
                arrays = {}
                for name in names - {_HEADER}:
                    stem = name[len("leaf_"):-len(".npy")]
                    if not (name.startswith("leaf_") and name.endswith(".npy")
                            and stem.isdigit()):
                        raise _Corrupt(f"it has an unexpected member {name!r}")
                    with zf.open(name) as f:
                        a = np.lib.format.read_array(f, allow_pickle=False)
                        if f.read(1):
                            raise _Corrupt(f"{name} has bytes after its array")
                    arrays[int(stem)] = a
                used: set = set()
                node, leaves = _decode(header.get("tree"), arrays, used)
                if used != set(arrays):
                    raise _Corrupt("it has arrays its structure does not use")
        except _Corrupt as e:
            raise ValueError(f"tree.load: cannot read {path!r}: {e}") from None
        except (ValueError, OSError, EOFError, KeyError, TypeError, NotImplementedError,
                RuntimeError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
            # numpy's header checks, zipfile's CRC and truncation errors, zlib's, ...
            raise ValueError(f"tree.load: cannot read {path!r}: it is corrupt or truncated "
                             f"({type(e).__name__}: {e})") from e
    return _build(node, iter(leaves))
