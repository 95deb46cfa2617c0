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


def test_map_with_the_tree_first_says_the_arguments_are_swapped():
    # it was "'dict' object is not callable" from inside tree.map
    with pytest.raises(TypeError, match="f must be a function, got a dict .*swapped"):
        tree.map({"a": 1.0}, lambda x: x * 2)


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


# ------------------------------------------------------------------------------ save / load

def assert_bitwise_equal(got, want):
    """Equal structure, leaf types, dtypes, shapes and bytes (NaN payloads, -0.0 included)."""
    import struct
    got_leaves, got_def = tree.flatten(got)
    want_leaves, want_def = tree.flatten(want)
    assert got_def == want_def, (got_def, want_def)
    for g, w in zip(got_leaves, want_leaves):
        assert type(g) is type(w), (g, w)
        if isinstance(w, (np.ndarray, np.generic)):
            assert g.dtype == w.dtype and g.shape == w.shape
            assert np.asarray(g).tobytes() == np.asarray(w).tobytes(), (g, w)
        elif isinstance(w, float):
            assert struct.pack("<d", g) == struct.pack("<d", w), (g, w)
        elif isinstance(w, complex):
            assert struct.pack("<dd", g.real, g.imag) == struct.pack("<dd", w.real, w.imag)
        else:
            assert g == w


def _payload_nan(bits):
    return np.array([bits], dtype=np.uint64).view(np.float64)[0]


ODD_VALUES = {
    "nan_payloads": np.array([0x7FF8000000000123, 0xFFF0000000000001], np.uint64).view(np.float64),
    "signed_zeros": np.float32([0.0, -0.0]),
    "python": [float(_payload_nan(0x7FF800000000BEEF)), -0.0, 1e-310, 2**80, -3, True, "α",
               complex(-0.0, float("inf"))],
    "scalars": (np.float16(-0.0), np.int8(-5), np.bool_(True), np.uint64(2**64 - 1),
                np.complex64(1 - 2j), np.datetime64("2024-01-02"), np.str_("x")),
    "dtypes": [np.arange(6, dtype=">i4").reshape(2, 3), np.zeros((0, 3)), np.asfortranarray(
        np.arange(6.0).reshape(2, 3)), np.array([b"ab", b"c"]), np.array(["é", "xy"]),
               np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2", (2,))]), np.array(5.0)],
}


@pytest.mark.parametrize("t", NESTED + [ODD_VALUES], ids=range(len(NESTED) + 1))
def test_save_load_round_trip_bit_for_bit(t, tmp_path):
    path = tmp_path / "tree.npz"
    tree.save(path, t)
    assert_bitwise_equal(tree.load(path), t)
    assert [p.name for p in tmp_path.iterdir()] == ["tree.npz"]   # no temporary left


def test_save_load_models_optimizer_state_and_funcgrad_arrays(tmp_path):
    import funcgrad as fg
    from funcgrad import nn
    model = nn.Sequential([nn.Linear(3, 4), nn.BatchNorm(4), nn.relu, nn.Linear(4, 2)])
    params, state = model.init(fg.random.key(0))
    params = tree.map(lambda p: p.astype(np.float32), params)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    _, state = model.apply(params, state, x, train=True)   # running statistics move
    opt = fg.optim.chain(fg.optim.clip_by_global_norm(1.0), fg.optim.adamw(1e-3))
    opt_state = opt.init(params)
    grads = tree.map(np.ones_like, params)
    _, opt_state = opt.update(grads, opt_state, params)
    checkpoint = {"params": params, "state": state, "opt_state": opt_state, "step": 1,
                  "key": fg.random.key(3), "fg_array": fg.numpy.linspace(0.0, 1.0, 3)}
    assert any(type(leaf) is fg.Array for leaf in tree.leaves(checkpoint))
    path = tmp_path / "model.npz"
    tree.save(str(path), checkpoint)
    loaded = tree.load(path)
    assert_bitwise_equal(loaded, checkpoint)
    # the loaded state goes on training exactly as the saved one
    y0, _ = model.apply(checkpoint["params"], checkpoint["state"], x, train=False)
    y1, _ = model.apply(loaded["params"], loaded["state"], x, train=False)
    assert y1.tobytes() == y0.tobytes()
    updates, _ = opt.update(grads, loaded["opt_state"], loaded["params"])
    assert all(u.dtype == np.float32 for u in tree.leaves(updates))
    # The arrays are an ordinary .npz, read without pickle.
    with np.load(path, allow_pickle=False) as npz:
        assert "tree.json" in npz.files and len(npz.files) == len(tree.leaves(checkpoint))


def test_load_follows_flatten_key_order(tmp_path):
    path = tmp_path / "order.npz"
    saved = {"b": 1.0, "a": collections.OrderedDict([("z", 1), ("a", 2)])}
    tree.save(path, saved)
    loaded = tree.load(path)
    assert list(loaded) == ["a", "b"] == list(tree.unflatten(*tree.flatten(saved)[::-1]))
    assert list(loaded["a"]) == ["z", "a"]   # OrderedDict: insertion order


def test_save_refuses_what_it_cannot_write_without_pickle(tmp_path):
    path = tmp_path / "refused.npz"
    with pytest.raises(TypeError, match=r"leaf at \['a'\]\[1\] is an array of dtype object"):
        tree.save(path, {"a": [np.zeros(1), np.array([1, "x"], dtype=object)]})
    with pytest.raises(TypeError, match=r"leaf at \['f'\] is a builtins.function: only NumPy "
                       "and funcgrad arrays"):
        tree.save(path, {"f": lambda x: x})
    with pytest.raises(TypeError, match="leaf at the root is a builtins.object"):
        tree.save(path, object())
    with pytest.raises(TypeError, match=r"dict key .* at the root is a builtins.frozenset"):
        tree.save(path, {frozenset(): 1})

    class Local:
        pass
    tree.register(Local, lambda v: ((), None), lambda aux, children: Local())
    with pytest.raises(TypeError, match="pytree node class .*Local at \\[0\\] cannot be saved: "
                       "load finds classes by module and qualified name"):
        tree.save(path, [Local()])
    with pytest.raises(TypeError, match="aux data at the root is a .*object"):
        tree.save(path, Point(1, 2, label=object()))
    assert not path.exists()
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        tree.save(3.5, {})


def _rewrite_header(path, edit):
    import json
    import zipfile
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    header = json.loads(members["tree.json"])
    edit(header)
    members["tree.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_load_names_the_path_and_the_problem_of_a_bad_file(tmp_path):
    good = tmp_path / "good.npz"
    tree.save(good, {"w": np.arange(50.0), "p": Point(np.ones(3), 2.0, "q")})
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"

    def error(contents=None):
        if contents is not None:
            bad.write_bytes(contents)
        with pytest.raises(ValueError, match=r"tree.load: cannot read '.*bad.npz': ") as info:
            tree.load(bad)
        return str(info.value)

    assert "not a zip (.npz) file" in error(b"")
    assert "not a zip (.npz) file" in error(b"just some text\n")
    for cut in range(0, len(data), 37):   # every truncation is a ValueError
        error(data[:cut])
    # A flipped bit in the structure, an array's header or its data, or the zip's directory
    # (zip's CRC-32s guard the members; metadata such as timestamps is unchecked).
    for marker in (b'"children"', b"'descr'", np.float64(25.0).tobytes(), b"PK\x01\x02"):
        flipped = bytearray(data)
        flipped[data.index(marker) + 2] ^= 0x04
        error(bytes(flipped))
    np.savez(bad, a=np.ones(2))
    assert "has no tree.json" in error()
    np.save(tmp_path / "pickled.npy", np.array([{}], dtype=object), allow_pickle=True)
    error((tmp_path / "pickled.npy").read_bytes())   # a pickle is never loaded
    bad.write_bytes(data)
    _rewrite_header(bad, lambda h: h.update(format="something else"))
    assert "not a funcgrad tree header" in error()
    bad.write_bytes(data)
    _rewrite_header(bad, lambda h: h.update(version=99))
    assert "format version 99" in error()
    bad.write_bytes(data)
    _rewrite_header(bad, lambda h: h["tree"]["children"][0].update({"class": "nowhere:Point"}))
    assert "'nowhere:Point', which is not a class of an imported module: import" in error()
    bad.write_bytes(data)
    _rewrite_header(bad, lambda h: h["tree"]["children"][0].update(node="lambda"))
    assert "unknown node kind 'lambda'" in error()
    bad.write_bytes(data)
    _rewrite_header(bad, lambda h: h["tree"].update(children=[]))
    assert "keys do not match its children" in error()
    with pytest.raises(FileNotFoundError):
        tree.load(tmp_path / "missing.npz")


# ------------------------------------------------------- JAX's is_leaf, prefixes and helpers

def test_is_leaf_stops_flattening_where_it_says():
    pairs = {"a": (1.0, 2.0), "b": [(3.0, 4.0)]}
    is_pair = lambda x: isinstance(x, tuple)   # noqa: E731
    leaves, td = tree.flatten(pairs, is_leaf=is_pair)
    assert leaves == [(1.0, 2.0), (3.0, 4.0)]
    assert tree.unflatten(td, ["x", "y"]) == {"a": "x", "b": ["y"]}
    assert tree.leaves(pairs, is_leaf=is_pair) == leaves
    assert tree.structure(pairs, is_leaf=is_pair) == td
    assert tree.map(lambda p: p[0] + p[1], pairs, is_leaf=is_pair) == {"a": 3.0, "b": [7.0]}
    assert [path for path, _ in tree.leaves_with_path(pairs, is_leaf=is_pair)] == [
        ("a",), ("b", 0)]
    # None can be made a leaf, and a root for which is_leaf holds is one leaf
    assert tree.leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    assert tree.flatten(pairs, is_leaf=lambda x: x is pairs) == ([pairs], tree.structure(0))


def test_map_takes_trees_with_the_first_as_a_prefix():
    assert tree.map(lambda x, sub: x * len(sub), {"a": 1, "b": 2},
                    {"a": [0, 0], "b": (0, 0, 0)}) == {"a": 2, "b": 6}
    with pytest.raises(ValueError, match="tree 1 has a different structure"):
        tree.map(lambda x, y: x, {"a": 1, "b": 2}, {"a": 1, "c": 2})
    with pytest.raises(ValueError, match="tree 1 has a different structure"):
        tree.map(lambda x, y: x, [1, [2]], [1, 2])


def test_paths_reduce_all_and_transpose():
    params = {"w": [1.0, 2.0], "b": 3.0}
    pairs, td = tree.flatten_with_path(params)
    assert pairs == tree.leaves_with_path(params) and td == tree.structure(params)
    named = tree.map_with_path(lambda path, x, y: f"{tree.path_str(path)}={x + y}", params,
                               params)
    assert named == {"w": ["['w'][0]=2.0", "['w'][1]=4.0"], "b": "['b']=6.0"}
    assert tree.reduce(lambda a, b: a + b, params) == 6.0
    assert tree.reduce(lambda a, b: a + b, params, 10.0) == 16.0
    assert tree.reduce(max, [], initializer=-1) == -1
    with pytest.raises(TypeError, match="needs an initializer"):
        tree.reduce(max, [])
    assert tree.all({"a": True, "b": (1, 2)}) and not tree.all([1, 0]) and tree.all([])
    rows = [{"x": 1, "y": 2}, {"x": 3, "y": 4}]
    columns = tree.transpose(tree.structure([0, 0]), tree.structure({"x": 0, "y": 0}), rows)
    assert columns == {"x": [1, 3], "y": [2, 4]}
    assert tree.transpose(tree.structure([0, 0]), None, rows) == columns
    with pytest.raises(ValueError, match="inner structure"):
        tree.transpose(tree.structure([0, 0]), None, [{"x": 1}, {"y": 2}])
    with pytest.raises(ValueError, match="outer structure"):
        tree.transpose(tree.structure((0, 0)), None, rows)
