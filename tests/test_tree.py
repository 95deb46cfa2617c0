"""Tests for funcgrad.tree (pytrees)."""
import collections
import pickle
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

from funcgrad import tree


class Point:
    def __init__(self, x, y, label="p"):
        self.x, self.y, self.label = x, y, label

    def __eq__(self, other):
        return (type(other) is Point and (self.x, self.y, self.label)
                == (other.x, other.y, other.label))

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r}, {self.label!r})"


tree.register(Point, lambda p: ((p.x, p.y), p.label),
              lambda label, ch: Point(ch[0], ch[1], label))


class Pair(NamedTuple):
    first: object
    second: object


Pair3 = collections.namedtuple("Pair3", "a b c")


NESTED = [
    1.0,
    (),
    [],
    {},
    None,
    (2.0, 3.0),
    (1.0,),
    [1, [2, (3, 4)], {"a": 5}],
    {"b": (1, 2), "a": [3, None, {"z": 4, "y": 5}]},
    ({"x": (1,)}, [[], [()]], None),
    Pair(1, (2, 3)),
    Pair3(1, None, [2]),
    Point(1.0, (2.0, 3.0), "q"),
    {"pts": [Point(1, 2), Point(3, 4, "r")], "n": Pair(None, 5)},
    collections.OrderedDict([("z", 1), ("a", (2, 3))]),
    {1: "one", 0: "zero"},
]


def assert_same(a, b):
    assert type(a) is type(b)
    assert a == b


@pytest.mark.parametrize("t", NESTED, ids=repr)
def test_round_trip(t):
    leaves, td = tree.flatten(t)
    assert td.num_leaves == len(leaves)
    assert leaves == tree.leaves(t)
    assert tree.structure(t) == td
    assert_same(tree.unflatten(td, leaves), t)
    assert_same(td.unflatten(iter(leaves)), t)  # any iterable works


def test_leaf_and_flat_tuple_fast_paths():
    a = np.arange(3.0)
    leaves, td = tree.flatten(a)
    assert leaves[0] is a and td.num_leaves == 1
    assert repr(td) == "PyTreeDef(*)"
    assert tree.unflatten(td, [5]) == 5
    leaves, td = tree.flatten((2.0, a))
    assert leaves[0] == 2.0 and leaves[1] is a
    assert tree.unflatten(td, [1, 2]) == (1, 2)
    # a type never seen before goes through the general path with the same result
    class Fresh:
        pass
    f = Fresh()
    leaves, td2 = tree.flatten((2.0, f))
    assert leaves[1] is f and td2 == td and hash(td2) == hash(td)


def test_objects_are_leaves_including_subclasses():
    class MyTuple(tuple):
        pass
    class MyDict(dict):
        pass
    for obj in (MyTuple((1, 2)), MyDict(a=1), "str", b"bytes", 3 + 4j, np.float64(1)):
        leaves, td = tree.flatten(obj)
        assert leaves == [obj] and td.num_leaves == 1


def test_dict_sorted_key_order():
    d = {"b": 2, "c": 3, "a": 1}
    leaves, td = tree.flatten(d)
    assert leaves == [1, 2, 3]
    assert list(tree.unflatten(td, leaves)) == ["a", "b", "c"]
    assert tree.structure({"a": 0, "c": 0, "b": 0}) == td
    assert tree.leaves({3: "c", 1: "a", 2: "b"}) == ["a", "b", "c"]
    assert tree.leaves({(1, "x"): 2, (0, "y"): 1}) == [1, 2]


def test_unsortable_dict_keys():
    with pytest.raises(TypeError, match="sortable"):
        tree.flatten({1: 0, "a": 0})


def test_ordered_and_default_dicts():
    od = collections.OrderedDict([("z", 1), ("a", 2)])
    assert tree.leaves(od) == [1, 2]  # insertion order
    assert tree.structure(od) != tree.structure(dict(od))
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    leaves, td = tree.flatten(dd)
    assert leaves == [2, 1]
    out = tree.unflatten(td, [10, 20])
    assert type(out) is collections.defaultdict and out.default_factory is list
    assert out == {"a": 10, "b": 20}


def test_none_is_a_node_not_a_leaf():
    leaves, td = tree.flatten(None)
    assert leaves == [] and td.num_leaves == 0
    assert tree.unflatten(td, []) is None
    assert tree.leaves([None, 1, (None,)]) == [1]
    assert repr(tree.structure((None, 1))) == "PyTreeDef((None, *))"
    assert tree.map(lambda x: x + 1, {"a": None, "b": 1}) == {"a": None, "b": 2}
    assert tree.structure(None) != tree.structure(())


def test_namedtuple_keeps_class():
    t = Pair(1.0, Pair3(2.0, 3.0, 4.0))
    leaves, td = tree.flatten(t)
    assert leaves == [1.0, 2.0, 3.0, 4.0]
    out = tree.unflatten(td, [5, 6, 7, 8])
    assert type(out) is Pair and type(out.second) is Pair3 and out == (5, (6, 7, 8))
    assert repr(td) == "PyTreeDef(Pair(first=*, second=Pair3(a=*, b=*, c=*)))"
    assert tree.structure(Pair(1, 2)) != tree.structure((1, 2))


def test_registered_class():
    p = Point(1.0, [2.0, 3.0], "lbl")
    leaves, td = tree.flatten(p)
    assert leaves == [1.0, 2.0, 3.0]
    assert tree.unflatten(td, [4, 5, 6]) == Point(4, [5, 6], "lbl")
    assert "Point['lbl']" in repr(td)
    # aux data is part of the structure
    assert tree.structure(Point(1, 2, "a")) != tree.structure(Point(1, 2, "b"))
    assert tree.map(lambda x: x * 2, p) == Point(2.0, [4.0, 6.0], "lbl")


def test_register_twice_is_an_error():
    with pytest.raises(ValueError, match="Point"):
        tree.register(Point, lambda p: ((), None), lambda a, c: Point(0, 0))
    with pytest.raises(ValueError, match="tuple"):
        tree.register(tuple, lambda t: (t, None), lambda a, c: tuple(c))


def test_register_overrides_cached_leaf_classification():
    class Box:
        def __init__(self, v):
            self.v = v
    b = Box(1)
    assert tree.leaves(b) == [b]  # a leaf until registered (and now cached as such)
    tree.register(Box, lambda b: ([b.v], None), lambda a, c: Box(c[0]))
    assert tree.leaves(Box(7)) == [7]
    assert tree.leaves((Box(7), 8)) == [7, 8]


def test_map_single_and_multiple_trees():
    t = {"a": 1, "b": (2, [3])}
    assert tree.map(lambda x: x * 10, t) == {"a": 10, "b": (20, [30])}
    u = {"a": 100, "b": (200, [300])}
    v = {"b": (0, [1]), "a": 0}
    assert tree.map(lambda x, y, z: x + y + z, t, u, v) == {"a": 101, "b": (202, [304])}
    assert tree.map(lambda x: -x, 3.0) == -3.0
    assert tree.map(lambda x, y: x * y, (2.0, 3.0), (4.0, 5.0)) == (8.0, 15.0)


def test_map_structure_mismatch_message():
    with pytest.raises(ValueError) as err:
        tree.map(lambda x, y: x, {"a": 1, "b": (1, 2)}, {"a": 1, "b": [1, 2]})
    msg = str(err.value)
    assert "PyTreeDef({'a': *, 'b': (*, *)})" in msg
    assert "PyTreeDef({'a': *, 'b': [*, *]})" in msg
    with pytest.raises(ValueError, match=r"tree 2.*\n.*\(\*, \*\).*\n.*\(\*, \*, \*\)"):
        tree.map(lambda *xs: 0, (1, 2), (3, 4), (5, 6, 7))
    with pytest.raises(ValueError):  # a leaf where a node is expected
        tree.map(lambda x, y: x, (1, 2), np.array([1, 2]))


def test_unflatten_wrong_leaf_count():
    td = tree.structure({"a": 1, "b": (2, 3)})
    with pytest.raises(ValueError, match="expects 3 leaves, got 2"):
        tree.unflatten(td, [1, 2])
    with pytest.raises(ValueError, match="expects 2 leaves, got 3"):
        tree.unflatten(tree.structure((1.0, 2.0)), [1, 2, 3])
    with pytest.raises(ValueError, match="expects 1 leaves, got 0"):
        tree.unflatten(tree.structure(1.0), [])


def test_treedef_equality_and_hash():
    a = tree.structure({"x": (1.0, 2.0), "y": [None]})
    b = tree.structure({"y": [None], "x": (np.ones(2), "leaf")})
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    cache = {a: "hit"}
    assert cache[b] == "hit"
    different = [
        tree.structure({"x": (1.0, 2.0), "y": [1.0]}),
        tree.structure({"x": [1.0, 2.0], "y": [None]}),
        tree.structure({"x": (1.0, 2.0), "z": [None]}),
        tree.structure((1.0, 2.0)),
        tree.structure(1.0),
    ]
    for d in different:
        assert a != d
    assert len(set(different)) == len(different)
    assert tree.structure((1.0, 2.0)) == tree.structure((np.ones(1), 5))
    assert tree.structure((1.0, 2.0)) != tree.structure([1.0, 2.0])
    assert tree.structure(1.0) == tree.structure(np.ones(3))
    assert a != "not a treedef"


def test_treedef_repr():
    assert repr(tree.structure({"a": 1, "b": (2, 3)})) == "PyTreeDef({'a': *, 'b': (*, *)})"
    assert repr(tree.structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree.structure([1, []])) == "PyTreeDef([*, []])"
    assert repr(tree.structure(())) == "PyTreeDef(())"
    assert repr(tree.structure(None)) == "PyTreeDef(None)"


def test_leaves_with_path():
    t = {"w": [1.0, (2.0, 3.0)], "b": 4.0, "n": None, "p": Point(5.0, 6.0),
         "t": Pair(7.0, 8.0)}
    got = tree.leaves_with_path(t)
    assert got == [
        (("b",), 4.0),
        (("p", 0), 5.0),
        (("p", 1), 6.0),
        (("t", 0), 7.0),
        (("t", 1), 8.0),
        (("w", 0), 1.0),
        (("w", 1, 0), 2.0),
        (("w", 1, 1), 3.0),
    ]
    assert [leaf for _, leaf in got] == tree.leaves(t)
    assert tree.leaves_with_path(5) == [((), 5)]
    assert tree.leaves_with_path(collections.OrderedDict(z=1, a=2)) == [
        (("z",), 1), (("a",), 2)]


def test_path_str():
    assert tree.path_str(("w", 0)) == "['w'][0]"
    assert tree.path_str((3, "b", 1)) == "[3]['b'][1]"
    assert tree.path_str(()) == ""
    paths = [tree.path_str(p) for p, _ in tree.leaves_with_path({"w": [1, 2]})]
    assert paths == ["['w'][0]", "['w'][1]"]


def test_builders_rebuild_every_node_kind_and_very_deep_or_wide_trees():
    class Point(NamedTuple):
        x: object
        y: object

    mixed = ({3: [1.0, (2.0,)], 1: {(1, "k"): None, (0, "a"): Point(3.0, [4.0])}},
             {"o": collections.OrderedDict(b=5.0, a=6.0),
              "d": collections.defaultdict(int, q=7.0)})
    leaves, td = tree.flatten(mixed)
    for rebuild in (td.unflatten, td.builder(), td.builder()):   # generated once
        ints, strings = rebuild([x * 10 for x in leaves])
        assert tree.flatten((ints, strings))[1] == td
        assert ints[1] == {(1, "k"): None, (0, "a"): Point(30.0, [40.0])}
        assert type(ints[1][(0, "a")]) is Point
        assert ints[3] == [10.0, (20.0,)]
        assert type(strings["o"]) is collections.OrderedDict and list(strings["o"]) == ["b", "a"]
        assert strings["d"].default_factory is int and strings["d"]["q"] == 70.0
    deep = 0.0
    for _ in range(200):                     # deeper than one Python expression should nest
        deep = [deep, {"k": 1.0}]
    wide = {f"w{i}": float(i) for i in range(5000)}
    for t in (deep, wide):
        leaves, td = tree.flatten(t)
        assert tree.unflatten(td, leaves) == t and td.builder()(leaves) == t


# ------------------------------------------------------------------------------ pickling
_Fields = collections.namedtuple("_Fields", "x y")
PICKLED = [1.0, (1.0, 2.0), [1, (2, None)], {"b": [1.0], "a": (2.0, {"c": None})},
           collections.OrderedDict(z=1, a=2), collections.defaultdict(list, k=(1, 2)),
           _Fields(1, [2, 3])]


@pytest.mark.parametrize("value", PICKLED, ids=lambda v: type(v).__name__)
def test_treedefs_pickle(value):
    leaves, treedef = tree.flatten(value)
    treedef.builder()   # a generated builder is made again, not pickled
    again = pickle.loads(pickle.dumps(treedef))
    assert again == treedef and hash(again) == hash(treedef)
    assert repr(again) == repr(treedef)
    assert tree.unflatten(again, leaves) == tree.unflatten(treedef, leaves)
    assert again.builder()(leaves) == treedef.builder()(leaves)


def test_treedefs_cross_processes():
    treedef = tree.structure({"params": [(1.0, 2.0), None], "state": collections.OrderedDict(a=3)})
    child = ("import pickle, sys; from funcgrad import tree; td = pickle.load(sys.stdin.buffer); "
             "sys.stdout.buffer.write(pickle.dumps((td, tree.unflatten(td, [10, 20, 30]))))")
    done = subprocess.run([sys.executable, "-c", child], input=pickle.dumps(treedef),
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    back, rebuilt = pickle.loads(done.stdout)
    assert back == treedef   # and back again
    assert rebuilt == {"params": [(10, 20), None], "state": collections.OrderedDict(a=30)}
    assert type(rebuilt["state"]) is collections.OrderedDict


class _Unregistered:
    pass


def test_a_treedef_of_an_unregistered_class_names_it_when_unpickled():
    tree.register(_Unregistered, lambda b: ((), None), lambda aux, children: _Unregistered())
    data = pickle.dumps(tree.structure(_Unregistered()))
    del tree._registry[_Unregistered]
    tree._cache.pop(_Unregistered)
    with pytest.raises(TypeError, match="_Unregistered: it is not a registered pytree node"):
        pickle.loads(data)


# ------------------------------------------------------------------- aux data, JAX's names
class _Annotated:
    def __init__(self, value, meta):
        self.value, self.meta = value, meta


tree.register_pytree_node(_Annotated, lambda a: ((a.value,), a.meta),
                          lambda meta, children: _Annotated(children[0], meta))


def test_aux_data_need_only_compare_equal():
    def structure(meta):
        return tree.structure(_Annotated(1.0, meta))

    for meta in ({"scale": 2.0, "w": np.array([1.0, 2.0])}, [1, [2, 3]], np.arange(3.0)):
        assert structure(meta) == structure(meta) and hash(structure(meta)) == hash(
            structure(meta))
    assert structure({"w": np.array([1.0, 2.0])}) != structure({"w": np.array([1.0, 5.0])})
    assert structure(np.arange(3.0)) != structure(np.arange(4.0))
    assert structure([1, 2]) != structure((1, 2))
    keyed = {structure({"w": np.array([1.0, 2.0])}): "first"}
    assert keyed[structure({"w": np.array([1.0, 2.0])})] == "first"


def test_the_module_lists_only_its_api():
    assert dir(tree) == sorted(tree.__all__)
    assert "register_pytree_node" in dir(tree) and "collections" not in dir(tree)
