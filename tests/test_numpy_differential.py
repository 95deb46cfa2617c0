"""Differential checks of funcgrad.numpy against NumPy over random inputs (hypothesis).

For each function: random shapes (0-d, empty and length-1 axes where NumPy takes them), dtypes,
axes and keyword choices, and values with NaN, infinities, signed zeros, ties, sorted and
reversed runs. Each example compares

- the eager result with NumPy's (shape, dtype, values; every array leaf an ``fg.Array``),
- the traced program (``make_ir``, run by the interpreter as ``jit``'s first tier) likewise,
- for differentiable functions at smooth points, ``grad`` of a weighted sum against central
  differences (``fg.check_grads`` to first order),
- and, where NumPy refuses the inputs, that funcgrad refuses them too with a
  ``TypeError``/``ValueError``/``IndexError`` (not an error from deep inside).

The example budget per function is small so the file runs in seconds; set
``FUNCGRAD_PROPERTY_SCALE=20`` to hunt with twenty times as many. Nothing here is compiled.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy_reference import assert_matches, traced

import funcgrad as fg
import funcgrad.numpy as fnp

_SCALE = int(os.environ.get("FUNCGRAD_PROPERTY_SCALE", "1"))
EXAMPLES = settings(max_examples=30 * _SCALE, deadline=None, derandomize=_SCALE == 1,
                    suppress_health_check=list(HealthCheck))

FLOATS = [np.float64, np.float32]
REAL = [np.float64, np.float32, np.int64, np.int32, np.bool_]
ALL = REAL + [np.complex128]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, -1.0]
# Errors that say what was wrong with the input; anything else (AttributeError, KeyError,
# UnboundLocalError, ZeroDivisionError, ...) is a traceback from inside funcgrad.
CLEAR_ERRORS = (TypeError, ValueError, IndexError, np.exceptions.AxisError)


# ------------------------------------------------------------------------------ strategies

def elements(dtype, special: bool):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return st.booleans()
    if dtype.kind == "i":
        return st.integers(-3, 3)            # small, so ties and duplicates are common
    width = 64 if dtype.kind == "c" else dtype.itemsize * 8
    real = st.one_of(st.integers(-3, 3).map(float), st.floats(-4, 4, width=width))
    if special:
        real = st.one_of(real, st.sampled_from(SPECIAL))
    if dtype.kind == "c":
        return st.builds(complex, real, real)
    return real


@st.composite
def arrays(draw, dtypes=ALL, min_dims=0, max_dims=3, min_side=0, max_side=4, special=True,
           order=True):
    """An array with NaN, infinities, signed zeros and ties, possibly sorted or reversed."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                  max_side=max_side))
    a = draw(hnp.arrays(dtype, shape, elements=elements(dtype, special)))
    arrangement = draw(st.sampled_from(["as drawn", "sorted", "reversed"])) if order else ""
    if arrangement != "as drawn" and a.ndim and a.size:
        a = np.sort(a, axis=-1)
        if arrangement == "reversed":
            a = a[..., ::-1].copy()
    return a


def axes(draw, ndim, tuples=True, none=True):
    """An axis of an ``ndim``-d array (sometimes one out of range), None, or a tuple."""
    if ndim == 0:
        # NumPy's ufunc reductions take axis 0 or -1 of a 0-d array, its other functions do
        # not; funcgrad (as JAX) takes neither under tracing: not compared.
        return None
    options = [st.integers(-ndim - 1, ndim)]
    if none:
        options.append(st.none())
    if tuples and ndim:
        options.append(st.lists(st.integers(-ndim, ndim - 1), max_size=ndim, unique=True)
                       .map(tuple))
    return draw(st.one_of(*options))


# ------------------------------------------------------------------------------ comparison

def numpy_or_error(fn, *args, **kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as error:       # noqa: BLE001 - any refusal is compared below
            return None, error


def _quiet(fn, *args, **kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _leaves(value):
    if isinstance(value, tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def compare(name, args, kwargs=None, *, trace=True, numpy_fn=None, funcgrad_fn=None,
            rtol=1e-10, array_result=True):
    """``funcgrad.numpy.<name>`` against ``numpy.<name>`` on ``args`` (arrays are traced) and
    static ``kwargs``: eager, traced and error behaviour."""
    kwargs = kwargs or {}
    numpy_fn = numpy_fn or getattr(np, name)
    funcgrad_fn = funcgrad_fn or getattr(fnp, name)
    what = f"{name}({', '.join(_describe(a) for a in args)}, **{kwargs})"
    want, error = numpy_or_error(numpy_fn, *args, **kwargs)
    if error is not None:
        if isinstance(error, (np.exceptions.ComplexWarning, OverflowError, MemoryError)):
            return
        try:
            got = _quiet(funcgrad_fn, *args, **kwargs)
        except CLEAR_ERRORS as mine:
            assert str(mine), f"{what}: empty message"
            return
        except Exception as mine:        # noqa: BLE001
            raise AssertionError(f"{what}: NumPy raised {error!r}; funcgrad raised an unclear "
                                 f"{type(mine).__name__}: {mine}") from mine
        raise AssertionError(f"{what}: NumPy raised {error!r}; funcgrad returned {got!r}")
    got = _quiet(funcgrad_fn, *args, **kwargs)
    if array_result:
        for leaf in _leaves(got):
            assert isinstance(leaf, fg.Array), f"{what}: eager leaf {type(leaf)} is no Array"
    assert_matches(got, want, f"{what} eager", rtol=rtol)
    if trace:
        got = _quiet(traced, lambda *a: funcgrad_fn(*a, **kwargs), *args)
        assert_matches(got, want, f"{what} traced", rtol=rtol)


def _describe(a):
    if isinstance(a, np.ndarray):
        return f"array({a.tolist()!r}, {a.dtype})" if a.size <= 12 else f"{a.dtype}{a.shape}"
    return repr(a)


def smooth_grad(fn, *args):
    """``grad`` of a weighted sum of ``fn``'s float64 output against central differences."""
    out = np.asarray(fn(*args))
    weights = np.random.default_rng(0).normal(size=out.shape)
    fg.check_grads(lambda *a: fnp.sum(fn(*a) * weights), args, order=1, modes=("rev",))


def distinct(draw, shape):
    """float64 values of ``shape`` far from ties (for derivative checks)."""
    size = int(np.prod(shape))
    order = draw(st.permutations(range(size)))
    return (np.asarray(order, float) * 0.7 + 0.3).reshape(shape)


# ------------------------------------------------------------------------------ reductions

@EXAMPLES
@given(st.data(), st.sampled_from(["nanprod", "nansum", "nanmax", "nanmin", "nanmean",
                                   "ptp", "count_nonzero", "var", "std", "nanvar", "nanstd",
                                   "median", "nanmedian"]))
def test_reductions(data, name):
    # A complex median is refused, as by jax.numpy (NumPy sorts complex numbers).
    dtypes = {"nanmax": REAL, "nanmin": REAL, "ptp": REAL, "median": REAL,
              "nanmedian": REAL}.get(name, ALL)
    a = data.draw(arrays(dtypes), "a")
    kwargs = {"axis": axes(data.draw, a.ndim)}
    if name != "count_nonzero" or kwargs["axis"] is not None:
        kwargs["keepdims"] = data.draw(st.booleans(), "keepdims")
    if name in ("var", "std", "nanvar", "nanstd"):
        # NumPy's nanvar of an integer array with no degrees of freedom left is inf (it is
        # var's), of a float array NaN; funcgrad's is NaN for both: not compared.
        exact = name.startswith("nan") and a.dtype.kind not in "fc"
        kwargs["ddof"] = 0 if exact else data.draw(st.integers(0, 2), "ddof")
    compare(name, (a,), kwargs)


@EXAMPLES
@given(st.data(), st.sampled_from(["nancumsum", "nancumprod", "cumsum", "cumprod"]))
def test_cumulative(data, name):
    a = data.draw(arrays(), "a")
    compare(name, (a,), {"axis": axes(data.draw, a.ndim, tuples=False)})


@EXAMPLES
@given(st.data(), st.sampled_from(["nanargmax", "nanargmin", "argmax", "argmin"]))
def test_arg_reductions(data, name):
    a = data.draw(arrays(REAL), "a")
    kwargs = {"axis": axes(data.draw, a.ndim, tuples=False),
              "keepdims": data.draw(st.booleans(), "keepdims")}
    compare(name, (a,), kwargs)


@EXAMPLES
@given(st.data(), st.sampled_from(["quantile", "nanquantile", "percentile", "nanpercentile"]))
def test_quantiles(data, name):
    a = data.draw(arrays(REAL), "a")
    scale = 100 if "percentile" in name else 1
    q = data.draw(st.sampled_from([0.5, 0.0, 1.0, 0.25]) | st.floats(-0.1, 1.1)
                  | st.lists(st.floats(0, 1), min_size=0, max_size=3).map(np.array), "q")
    # A scalar q stays a Python float: with a 0-d float64 array q, NumPy's dtype depends on
    # the values (float32 when a float32 group holds NaN, float64 otherwise).
    q = q * scale if isinstance(q, float) else np.asarray(q, np.float64) * scale
    method = data.draw(st.sampled_from(["linear", "lower", "higher", "nearest", "midpoint",
                                        "inverted_cdf", "averaged_inverted_cdf",
                                        "closest_observation", "interpolated_inverted_cdf",
                                        "hazen", "weibull", "median_unbiased",
                                        "normal_unbiased"]), "method")
    kwargs = {"axis": axes(data.draw, a.ndim), "keepdims": data.draw(st.booleans()),
              "method": method}
    if a.size == 0 and (name.startswith("nan") or np.size(q) == 0):
        # NumPy's nanquantile of nothing is NaN of a shape that leaves out q's; its quantile
        # of nothing is an error unless q is empty too; funcgrad's are errors.
        return
    # The methods beyond NumPy's classic five are eager only (documented).
    trace = method in ("linear", "lower", "higher", "nearest", "midpoint")
    if isinstance(q, float):      # a Python q is static (weak), as a literal under jit
        compare(name, (a,), kwargs, rtol=1e-6, trace=trace,
                numpy_fn=lambda x, **k: getattr(np, name)(x, q, **k),
                funcgrad_fn=lambda x, **k: getattr(fnp, name)(x, q, **k))
    else:
        compare(name, (a, q), kwargs, rtol=1e-6, trace=trace)


# ------------------------------------------------------------------------------ sorting

@EXAMPLES
@given(st.data(), st.sampled_from(["sort", "argsort", "partition", "argpartition"]))
def test_sorting(data, name):
    a = data.draw(arrays(REAL, min_dims=1), "a")
    axis = data.draw(st.integers(-a.ndim - 1, a.ndim) | st.none(), "axis")
    kwargs = {"axis": axis}
    if name in ("sort", "argsort"):
        kwargs["kind"] = "stable"
        compare(name, (a,), kwargs)
        return
    length = a.size if axis is None else a.shape[axis] if -a.ndim <= axis < a.ndim else 1
    if a.size == 0:
        return      # NumPy takes any kth of an empty array; funcgrad checks it: not compared
    kth = data.draw(st.integers(-length - 1, length) | st.lists(
        st.integers(-length, max(length - 1, -length)), max_size=3), "kth")
    want, error = numpy_or_error(getattr(np, name), a, kth, **kwargs)
    if error is not None:
        compare(name, (a, kth), kwargs)
        return
    # Only the kth places are fixed; compare a fully sorted view of each side instead.
    kths = np.atleast_1d(kth)

    def fixed(result):
        result = np.asarray(result)
        if name == "argpartition":
            flat = a.reshape(-1) if axis is None else a
            result = np.take_along_axis(flat, result, -1 if axis is None else axis)
        return np.take(result, kths, axis=-1 if axis is None else axis)

    for got in (fnp.partition(a, kth, **kwargs) if name == "partition" else
                fnp.argpartition(a, kth, **kwargs),
                traced(lambda x: getattr(fnp, name)(x, kth, **kwargs), a)):
        assert_matches(fixed(got), fixed(want), f"{name}({a!r}, {kth}, {kwargs})")
        assert np.asarray(got).dtype == want.dtype


@EXAMPLES
@given(st.data())
def test_lexsort(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4))
    keys = []
    for _ in range(data.draw(st.integers(1, 3))):
        dtype = np.dtype(data.draw(st.sampled_from(REAL)))
        keys.append(data.draw(hnp.arrays(dtype, shape, elements=elements(dtype, False))))
    keys = tuple(keys)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), "axis")
    compare("lexsort", (keys,), {"axis": axis})


@EXAMPLES
@given(st.data())
def test_searchsorted(data):
    a = np.sort(data.draw(arrays(REAL, min_dims=1, max_dims=1, order=False), "a"))
    v = data.draw(arrays([a.dtype.type], max_dims=2), "v")
    side = data.draw(st.sampled_from(["left", "right"]))
    compare("searchsorted", (a, v), {"side": side})


# ------------------------------------------------------------------------------ histograms

@EXAMPLES
@given(st.data())
def test_digitize(data):
    x = data.draw(arrays(REAL, max_dims=2), "x")
    bins = np.sort(data.draw(arrays([np.float64, np.int64], min_dims=1, max_dims=1,
                                    special=False, order=False), "bins"))
    if data.draw(st.booleans()):
        bins = bins[::-1].copy()
    compare("digitize", (x, bins), {"right": data.draw(st.booleans(), "right")})


@EXAMPLES
@given(st.data())
def test_bincount(data):
    x = data.draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=1, min_side=0,
                                                        max_side=6),
                             elements=st.integers(0, 5) | st.just(-1)), "x")
    x = x.astype(data.draw(st.sampled_from([np.int64, np.int32, np.bool_]), "dtype"))
    weights = data.draw(st.none() | hnp.arrays(np.float64, x.shape, elements=elements(
        np.float64, False)), "weights")
    minlength = data.draw(st.integers(0, 4), "minlength")
    compare("bincount", (x,) if weights is None else (x, weights), {"minlength": minlength},
            trace=False)


@EXAMPLES
@given(st.data(), st.sampled_from(["histogram", "histogram_bin_edges"]))
def test_histogram(data, name):
    a = data.draw(arrays(FLOATS + [np.int64], max_dims=2, special=False), "a")
    bins = data.draw(st.integers(1, 5) | st.lists(st.integers(-3, 3), min_size=1, max_size=4,
                                                   unique=True).map(sorted).map(np.array), "bins")
    kwargs = {"bins": bins, "range": data.draw(st.none() | st.sampled_from([(-1.0, 2.0),
                                                                             (0.0, 0.0)]))}
    if name == "histogram":
        kwargs["density"] = data.draw(st.booleans())
    weights = data.draw(st.none() | hnp.arrays(np.float64, a.shape, elements=st.floats(0, 3)))
    args = (a,) if weights is None else (a,)
    kwargs["weights"] = weights
    # The number of bins must be known to trace; integer bins and a range are static.
    compare(name, args, kwargs, rtol=1e-6, trace=not isinstance(bins, np.ndarray))


# ------------------------------------------------------------------------------ signals

@EXAMPLES
@given(st.data(), st.sampled_from(["convolve", "correlate"]))
def test_convolve(data, name):
    # Infinities only in real signals: NumPy's complex products of them (inf * (1 - 1j)) are
    # its dot kernel's, NaN in places where the textbook product has none.
    special = data.draw(st.booleans())
    dtypes = REAL if special else ALL
    a = data.draw(arrays(dtypes, min_dims=1, max_dims=1, max_side=5, special=special), "a")
    v = data.draw(arrays(dtypes, min_dims=1, max_dims=1, max_side=5, special=special), "v")
    compare(name, (a, v), {"mode": data.draw(st.sampled_from(["valid", "same", "full"]))})


@EXAMPLES
@given(st.data())
def test_gradient(data):
    f = data.draw(arrays(FLOATS + [np.int64, np.complex128], min_dims=1, max_dims=2,
                         min_side=1), "f")
    axis = data.draw(st.none() | st.integers(-f.ndim, f.ndim - 1), "axis")
    edge_order = data.draw(st.sampled_from([1, 2]), "edge_order")
    spacing = data.draw(st.sampled_from(["none", "scalar", "coordinates"]), "spacing")
    args = (f,)
    if spacing == "scalar":
        args = (f, 0.5) if axis is not None or f.ndim == 1 else (f,) + (0.5,) * f.ndim
    elif spacing == "coordinates" and axis is not None:
        n = f.shape[axis]
        args = (f, np.cumsum(np.arange(1, n + 1, dtype=float)))
    compare("gradient", args, {"axis": axis, "edge_order": edge_order})


@EXAMPLES
@given(st.data())
def test_ediff1d(data):
    a = data.draw(arrays(REAL + [np.complex128], max_dims=2), "a")
    to_end = data.draw(st.none() | st.sampled_from([0.5, -2]) | st.just(np.array([1.0, 2.0])))
    to_begin = data.draw(st.none() | st.sampled_from([3, 0.25]))
    compare("ediff1d", (a,), {"to_end": to_end, "to_begin": to_begin})


# ------------------------------------------------------------------------------ editing

@EXAMPLES
@given(st.data(), st.sampled_from(["constant", "edge", "linear_ramp", "maximum", "mean",
                                   "median", "minimum", "reflect", "symmetric", "wrap"]))
def test_pad(data, mode):
    # A complex median is refused, as by jax.numpy (NumPy sorts complex numbers).
    a = data.draw(arrays(REAL + ([] if mode == "median" else [np.complex128]), max_dims=2,
                         max_side=3), "a")
    width = data.draw(st.integers(0, 4) | st.tuples(st.integers(0, 4), st.integers(0, 4))
                      | st.just(((1, 0),) * a.ndim), "pad_width")
    kwargs = {"mode": mode}
    if mode in ("maximum", "mean", "median", "minimum"):
        kwargs["stat_length"] = data.draw(st.none() | st.integers(1, 3), "stat_length")
    if mode in ("reflect", "symmetric"):
        kwargs["reflect_type"] = data.draw(st.sampled_from(["even", "odd"]), "reflect_type")
    if mode == "constant":
        kwargs["constant_values"] = data.draw(st.sampled_from([0, 1.5, (2, -1)]))
    compare("pad", (a, width), kwargs, trace=False)
    if not numpy_or_error(np.pad, a, width, **kwargs)[1]:
        got = _quiet(traced, lambda x: fnp.pad(x, width, **kwargs), a)
        assert_matches(got, _quiet(np.pad, a, width, **kwargs), f"pad {width} {kwargs} traced",
                       rtol=1e-6)


@EXAMPLES
@given(st.data(), st.sampled_from(["compress", "extract", "choose", "diagflat", "resize",
                                   "rollaxis", "trim_zeros", "put_along_axis", "place",
                                   "put", "fill_diagonal"]))
def test_editing(data, name):
    a = data.draw(arrays(ALL, max_dims=3), "a")
    if name == "compress":
        condition = data.draw(hnp.arrays(np.bool_, st.integers(0, 5)), "condition")
        compare(name, (condition, a), {"axis": axes(data.draw, a.ndim, tuples=False)},
                trace=False)
    elif name == "extract":
        compare(name, (a != 0, a), trace=False)
    elif name == "choose":
        choices = [data.draw(arrays([a.dtype.type], max_dims=2)) for _ in range(2)]
        index = data.draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2,
                                                                min_side=1, max_side=3),
                                     elements=st.integers(-1, 2)), "index")
        mode = data.draw(st.sampled_from(["raise", "wrap", "clip"]))
        # mode='raise' needs concrete indices (documented): traced with the others only.
        compare(name, (index, choices), {"mode": mode}, trace=mode != "raise")
    elif name == "diagflat":
        compare(name, (a,), {"k": data.draw(st.integers(-2, 2))})
    elif name == "resize":
        shape = data.draw(st.tuples(st.integers(0, 4), st.integers(0, 3)), "new_shape")
        compare(name, (a,), {"new_shape": shape})
    elif name == "rollaxis":
        compare(name, (a,), {"axis": data.draw(st.integers(-a.ndim - 1, a.ndim)),
                             "start": data.draw(st.integers(-a.ndim - 1, a.ndim + 1))})
    elif name == "trim_zeros":
        a = a.reshape(-1)
        compare(name, (a,), {"trim": data.draw(st.sampled_from(["fb", "f", "b", "bf"]))},
                trace=False)
    elif name == "put_along_axis" and a.ndim and a.size:
        axis = data.draw(st.integers(0, a.ndim - 1))
        index = data.draw(hnp.arrays(np.int64, a.shape[:axis] + (2,) + a.shape[axis + 1:],
                                     elements=st.integers(-a.shape[axis], a.shape[axis] - 1)))
        value = data.draw(st.sampled_from([1, 2.5, -1]))
        check_editor(name, a, lambda m, x: m.put_along_axis(x, index, value, axis,
                                                            **_copy(m)))
    elif name == "place":
        mask = a != 0
        values = data.draw(st.lists(st.integers(-2, 2), min_size=1, max_size=3))
        check_editor(name, a, lambda m, x: m.place(x, x != 0 if m is fnp else mask, values,
                                                   **_copy(m)))
    elif name == "put" and a.size:
        index = data.draw(st.lists(st.integers(-a.size, a.size - 1), max_size=3))
        values = data.draw(st.lists(st.integers(-2, 2), min_size=1, max_size=3))
        mode = data.draw(st.sampled_from(["raise", "wrap", "clip"]))
        check_editor(name, a, lambda m, x: m.put(x, index, values, mode, **_copy(m)))
    elif name == "fill_diagonal" and a.ndim >= 2:
        a = a[..., 0] if a.ndim == 3 and a.shape[-1] and data.draw(st.booleans()) else a
        wrap = data.draw(st.booleans())
        check_editor(name, a, lambda m, x: m.fill_diagonal(x, 7, wrap, **_copy(m)))


def _copy(module):
    return {"inplace": False} if module is fnp else {}


def check_editor(name, a, edit):
    """An in-place NumPy editor against funcgrad's ``inplace=False`` copy, eager and traced."""
    want = a.copy()
    result, error = numpy_or_error(edit, np, want)
    if error is not None:
        with pytest.raises(CLEAR_ERRORS):
            _quiet(edit, fnp, a)
        return
    got = _quiet(edit, fnp, a)
    assert isinstance(got, fg.Array), name
    assert_matches(got, want, f"{name} eager on {a!r}")
    assert_matches(traced(lambda x: edit(fnp, x), a), want, f"{name} traced on {a!r}")


@EXAMPLES
@given(st.data())
def test_index_functions(data):
    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)), "dims")
    flat = data.draw(hnp.arrays(np.int64, st.integers(0, 4),
                                elements=st.integers(-1, int(np.prod(shape)))), "indices")
    order = data.draw(st.sampled_from(["C", "F"]))
    compare("unravel_index", (flat, shape), {"order": order}, trace=False)
    multi = tuple(data.draw(hnp.arrays(np.int64, 3, elements=st.integers(-1, n)))
                  for n in shape)
    mode = data.draw(st.sampled_from(["raise", "wrap", "clip"]))
    compare("ravel_multi_index", (multi, shape), {"mode": mode, "order": order}, trace=False)
    compare("indices", (shape,), {"sparse": data.draw(st.booleans())}, trace=False)
    start = data.draw(st.sampled_from([1.0, -1.0, 0.5, 2, 1j, 0.0]))
    stop = data.draw(st.sampled_from([8.0, -4.0, 3, 0.0, -1j]))
    compare("geomspace", (start, stop), {"num": data.draw(st.integers(0, 5)),
                                         "endpoint": data.draw(st.booleans())}, trace=False,
            rtol=1e-9)


# ------------------------------------------------------------------------------ polynomials

def polynomials(dtypes=(np.float64, np.int64, np.complex128)):
    return arrays(list(dtypes), min_dims=1, max_dims=1, min_side=0, max_side=4, special=False,
                  order=False)


@EXAMPLES
@given(st.data(), st.sampled_from(["polyadd", "polysub", "polymul", "polydiv", "polyder",
                                   "polyint", "polyval", "roots", "poly", "vander"]))
def test_polynomials(data, name):
    p = data.draw(polynomials(), "p")
    if name in ("polyadd", "polysub", "polymul", "polydiv"):
        q = data.draw(polynomials(), "q")
        # Traced, polymul keeps leading zeros (documented, as jax.numpy); polydiv's remainder
        # too (tests/test_numpy_polynomials_sets.py).
        keeps = all(len(c) < 2 or c[0] != 0 for c in (p, q))
        compare(name, (p, q), rtol=1e-8, trace=name != "polydiv" and (
            name != "polymul" or keeps))
    elif name in ("polyder", "polyint"):
        compare(name, (p,), {"m": data.draw(st.integers(0, 3), "m")})
    elif name == "polyval":
        x = data.draw(arrays([np.float64, np.int64], max_dims=2, special=False), "x")
        compare(name, (p, x))
    elif name == "roots":
        got, want = numpy_or_error(fnp.roots, p), numpy_or_error(np.roots, p)
        if want[1] is None:
            assert np.asarray(got[0]).dtype == want[0].dtype
            np.testing.assert_allclose(np.sort_complex(np.asarray(got[0])),
                                       np.sort_complex(want[0]), rtol=1e-6, atol=1e-6)
    elif name == "poly":
        # NumPy's poly of conjugate pairs is real (a value-dependent dtype): real roots here.
        p = p.real if p.dtype.kind == "c" else p
        # NumPy's poly of no roots is the Python float 1.0, and so is funcgrad's (on purpose).
        compare(name, (p,), rtol=1e-8, array_result=p.size > 0)
    else:
        compare(name, (p,), {"N": data.draw(st.none() | st.integers(0, 4)),
                             "increasing": data.draw(st.booleans())})


@EXAMPLES
@given(st.data())
def test_polyfit(data):
    n = data.draw(st.integers(1, 6), "n")
    x = np.arange(n, dtype=float) * 0.5 - 1
    y = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3)), "y")
    deg = data.draw(st.integers(0, 3), "deg")
    compare("polyfit", (x, y, deg), rtol=1e-6, trace=False)
    if deg < n:
        got = traced(lambda x, y: fnp.polyfit(x, y, deg), x, y)
        assert_matches(got, np.polyfit(x, y, deg), "polyfit traced", rtol=1e-6)


# ------------------------------------------------------------------------------ sets

@EXAMPLES
@given(st.data(), st.sampled_from(["isin", "intersect1d", "setdiff1d", "setxor1d", "union1d",
                                   "unique", "unique_values", "unique_counts",
                                   "unique_inverse", "unique_all", "in1d"]))
def test_sets(data, name):
    a = data.draw(arrays(REAL, max_dims=2), "a")
    if name in ("unique", "unique_values", "unique_counts", "unique_inverse", "unique_all"):
        kwargs = {}
        if name == "unique":
            kwargs = {k: data.draw(st.booleans(), k) for k in
                      ("return_index", "return_inverse", "return_counts")}
            kwargs["axis"] = data.draw(st.none() | st.integers(0, max(a.ndim - 1, 0)))
            kwargs["equal_nan"] = data.draw(st.booleans())
            if a.ndim == 0 and kwargs["axis"] is not None:
                return
        # NumPy's unique_values (from 2.3) leaves its values in hash order; funcgrad's are
        # sorted, as np.unique's and jax.numpy's: compared with np.unique.
        compare(name, (a,), kwargs, trace=False,
                numpy_fn=np.unique if name == "unique_values" else None)
        return
    b = data.draw(arrays([a.dtype.type, np.float64, np.int64], max_dims=2), "b")
    if name == "in1d":
        return
    kwargs = {}
    if name != "union1d":
        kwargs["assume_unique"] = False
    if name == "isin":
        kwargs["invert"] = data.draw(st.booleans())
        compare(name, (a, b), kwargs)
        return
    compare(name, (a, b), kwargs, trace=False)


# ------------------------------------------------------------------------------ windows ...

@EXAMPLES
@given(st.data(), st.sampled_from(["bartlett", "blackman", "hamming", "hanning", "kaiser"]))
def test_windows(data, name):
    m = data.draw(st.integers(-1, 6), "M")
    args = (m, data.draw(st.floats(0, 10))) if name == "kaiser" else (m,)
    compare(name, args, trace=False)


@EXAMPLES
@given(st.data())
def test_unwrap(data):
    p = data.draw(arrays(FLOATS + [np.int64], max_dims=2, special=False), "p") * 3
    kwargs = {"axis": data.draw(st.integers(-1, max(p.ndim - 1, 0))),
              "period": data.draw(st.sampled_from([2 * np.pi, 4, 360.0]))}
    compare("unwrap", (p,), kwargs, rtol=1e-6)


@EXAMPLES
@given(st.data())
def test_bit_packing(data):
    a = data.draw(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0,
                                                        max_side=10)), "a")
    # NumPy takes axis 0 of a 0-d array here (as a length-1 axis); funcgrad does not.
    axis = data.draw(st.none() | st.integers(-1, a.ndim - 1), "axis") if a.ndim else None
    order = data.draw(st.sampled_from(["big", "little"]))
    compare("packbits", (a > 100,), {"axis": axis, "bitorder": order})
    # NumPy's unpackbits of an empty array with count > 0 returns uninitialised bytes.
    count = data.draw(st.none() | st.integers(-3, 12 if a.size else 0), "count")
    compare("unpackbits", (a,), {"axis": axis, "count": count, "bitorder": order})


@EXAMPLES
@given(st.data())
def test_comparison_utilities(data):
    a = data.draw(arrays(REAL, max_dims=2), "a")
    b = data.draw(st.sampled_from([a, a.copy()]) | arrays(REAL, max_dims=2), "b")
    for name, kwargs in (("array_equal", {"equal_nan": data.draw(st.booleans())}),
                         ("array_equiv", {})):
        want = getattr(np, name)(a, b, **kwargs)
        got = getattr(fnp, name)(a, b, **kwargs)
        assert bool(got) == bool(want), f"{name}({a!r}, {b!r}, {kwargs})"
        function = getattr(fnp, name)
        assert bool(traced(lambda x, y, f=function, k=kwargs: f(x, y, **k), a, b)) == \
            bool(want), f"{name} traced"


# ------------------------------------------------------------------------------ derivatives

GRADIENT_CASES = {
    "nanprod": lambda x, axis: fnp.nanprod(x, axis=axis),
    "nancumsum": lambda x, axis: fnp.nancumsum(x, axis=axis),
    "nancumprod": lambda x, axis: fnp.nancumprod(x, axis=axis),
    "nanvar": lambda x, axis: fnp.nanvar(x, axis=axis, ddof=1),
    "nanstd": lambda x, axis: fnp.nanstd(x, axis=axis, keepdims=True),
    "nanmedian": lambda x, axis: fnp.nanmedian(x, axis=axis),
    "nanquantile": lambda x, axis: fnp.nanquantile(x, np.array([0.3, 0.8]), axis=axis),
    "nanpercentile": lambda x, axis: fnp.nanpercentile(x, 35.0, axis=axis, method="midpoint"),
    "median": lambda x, axis: fnp.median(x, axis=axis),
    "quantile": lambda x, axis: fnp.quantile(x, 0.3, axis=axis, method="nearest"),
    "var": lambda x, axis: fnp.var(x, axis=axis),
    "std": lambda x, axis: fnp.std(x, axis=axis, ddof=1),
    "ptp": lambda x, axis: fnp.ptp(x, axis=axis),
    "sort": lambda x, axis: fnp.sort(x, axis=axis),
    "partition": lambda x, axis: fnp.partition(x, 1, axis=-1 if axis is None else axis),
    "cumsum": lambda x, axis: fnp.cumsum(x, axis=axis),
    "gradient": lambda x, axis: fnp.gradient(x, 0.5, axis=axis or 0, edge_order=2),
    "ediff1d": lambda x, axis: fnp.ediff1d(x, to_begin=x[0]),
    "pad_reflect": lambda x, axis: fnp.pad(x, 2, mode="reflect", reflect_type="odd"),
    "pad_mean": lambda x, axis: fnp.pad(x, (1, 2), mode="mean", stat_length=2),
    "pad_ramp": lambda x, axis: fnp.pad(x, 1, mode="linear_ramp", end_values=3.0),
    "resize": lambda x, axis: fnp.resize(x, (5, 2)),
    "rollaxis": lambda x, axis: fnp.rollaxis(x, -1),
    "diagflat": lambda x, axis: fnp.diagflat(x, 1),
    "compress": lambda x, axis: fnp.compress([True, False, True], x, axis=axis or 0),
    "unwrap": lambda x, axis: fnp.unwrap(x * 4, axis=axis or 0),
    "vander": lambda x, axis: fnp.vander(x.reshape(-1), 3),
    "polyval": lambda x, axis: fnp.polyval(x.reshape(-1), x.reshape(-1)[::-1]),
    "polyint": lambda x, axis: fnp.polyint(x.reshape(-1), 2, k=[1.0, 2.0]),
    "polyder": lambda x, axis: fnp.polyder(x.reshape(-1)),
    "histogram_weights": lambda x, axis: fnp.histogram(
        np.arange(x.size), 3, range=(0, x.size), weights=x.reshape(-1))[0],
    "convolve": lambda x, axis: fnp.convolve(x.reshape(-1), x.reshape(-1)[:3] ** 2, "same"),
    "correlate": lambda x, axis: fnp.correlate(x.reshape(-1), x.reshape(-1)[1:3], "full"),
}


@EXAMPLES
@given(st.data(), st.sampled_from(sorted(GRADIENT_CASES)))
def test_derivatives(data, name):
    one_d = name in ("ediff1d",)
    shape = data.draw(st.sampled_from([(6,)] if one_d else [(3, 4), (4, 3), (6,), (3, 1, 4)]))
    x = distinct(data.draw, shape)
    if data.draw(st.booleans()):
        x = -x[::-1].copy()
    axis = data.draw(st.none() | st.integers(0, len(shape) - 1), "axis")
    if name in ("compress",) and x.shape[axis or 0] < 3:
        return
    if name in ("pad_reflect",) and min(x.shape) < 3:
        return
    if name == "gradient" and x.shape[axis or 0] < 3:
        return      # edge_order=2 needs three points
    if name in ("nanvar", "std", "partition") and axis is not None and x.shape[axis] < 2:
        return      # ddof=1 or kth=1 of one element
    smooth_grad(lambda v: GRADIENT_CASES[name](v, axis), x)


@EXAMPLES
@given(st.data(), st.sampled_from(["intersect1d", "setdiff1d", "setxor1d", "union1d",
                                   "unique", "unique_values"]))
def test_sets_with_size(data, name):
    """With ``size=`` (jax.numpy's), traced and eager: NumPy's result cut or padded with
    ``fill_value`` (default: its first, smallest value)."""
    a = data.draw(arrays(REAL, max_dims=2, special=False), "a")
    b = data.draw(arrays([a.dtype.type], max_dims=1, special=False), "b")
    args = (a,) if name.startswith("unique") else (a, b)
    want = np.asarray(getattr(np, "unique" if name == "unique_values" else name)(*args))
    size = max(len(want) + data.draw(st.integers(-2, 2), "extra"), 0)
    fill = data.draw(st.none() | st.just(-7), "fill_value")
    if (fill is None and not len(want) and size) or (name.startswith("unique") and not a.size):
        return      # nothing to take a default fill from (traced unique refuses it, saying so)
    padding = np.full(max(size - len(want), 0), want[0] if fill is None and len(want) else
                      fill or 0, want.dtype)
    expected = np.concatenate([want[:size], padding])
    kwargs = {"size": size, "fill_value": fill}
    function = getattr(fnp, name)
    assert_matches(function(*args, **kwargs), expected, f"{name}{args} {kwargs} eager")
    assert_matches(traced(lambda *x: function(*x, **kwargs), *args), expected,
                   f"{name}{args} {kwargs} traced")
