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

import collections
from collections.abc import Callable, Hashable, Iterable
from typing import Any

__all__ = ["PyTreeDef", "flatten", "leaves", "leaves_with_path", "map", "path_str",
           "register", "register_pytree_node", "structure", "unflatten"]


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
        return a.keys() == b.keys() and all(_aux_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_aux_equal(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _nodes_equal(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] is b[0] and len(a[2]) == len(b[2]) and _aux_equal(a[1], b[1]) and all(
        _nodes_equal(x, y) for x, y in zip(a[2], b[2]))


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


def flatten(tree: Any) -> tuple[list[Any], PyTreeDef]:
    """Split ``tree`` into its list of leaves and its structure.

    >>> flatten((1.0, [2.0, None]))
    ([1.0, 2.0], PyTreeDef((*, [*, None])))
    """
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


def structure(tree: Any) -> PyTreeDef:
    """The structure (treedef) of ``tree``.

    >>> structure({'a': 1.0, 'b': (2.0, 3.0)})
    PyTreeDef({'a': *, 'b': (*, *)})
    """
    return flatten(tree)[1]


def leaves(tree: Any) -> list[Any]:
    """The leaves of ``tree``, in flatten order (dicts by sorted key).

    >>> leaves({'b': [1, 2], 'a': 0, 'c': None})
    [0, 1, 2]
    """
    return flatten(tree)[0]


def map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leafwise to ``tree`` and the ``rest`` trees (all of one structure).

    >>> map(lambda x, y: x + y, {'a': 1, 'b': (2, 3)}, {'a': 10, 'b': (20, 30)})
    {'a': 11, 'b': (22, 33)}
    """
    flat, td = flatten(tree)
    if not rest:
        return unflatten(td, [f(x) for x in flat])
    others = []
    for i, r in enumerate(rest, 1):
        r_flat, r_td = flatten(r)
        if r_td != td:
            raise ValueError(f"tree.map: tree {i} has a different structure from tree 0:"
                             f"\n  tree 0: {td!r}\n  tree {i}: {r_td!r}")
        others.append(r_flat)
    return unflatten(td, [f(*xs) for xs in zip(flat, *others)])


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


def leaves_with_path(tree: Any) -> list[tuple[tuple, Any]]:
    """The leaves of ``tree`` with their paths: tuples of dict keys and child indices.

    >>> leaves_with_path({'w': [1.0, 2.0], 'b': 3.0})
    [(('b',), 3.0), (('w', 0), 1.0), (('w', 1), 2.0)]
    """
    out: list = []

    def walk(x: Any, path: tuple) -> None:
        h = _get(type(x), _MISS)
        if h is _MISS:
            h = _classify(type(x))
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
