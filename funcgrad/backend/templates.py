"""Scalar code templates: how each elementwise primitive is written inside a numba loop.

Each template is a format string over the operand expressions ``{0}``, ``{1}``, ... that
evaluates one element; ``{dtype}`` is the NumPy scalar type of the result (``np.float32``...).
NumPy ufuncs on scalars keep NumPy's semantics (NaN propagation in maximum, round half to
even) inside numba. Not numba's ``np.floor_divide`` and ``np.remainder`` of floats: the first is
``floor(x / y)`` (10 for ``1 // 0.1``, where NumPy's is 9, and inf for ``inf // 2``), the second
loses the sign of a zero remainder; Python's ``//`` and ``%`` in numba are NumPy's divmod.
"""
from __future__ import annotations

ELEMENTWISE_CODE = {
    "neg": "-{0}", "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}",
    "div": "{0} / {1}", "pow": "np.power({0}, {1})",
    # Operands swapped: on a tie (0.0 and -0.0) NumPy returns the second, numba the first.
    "max": "np.maximum({1}, {0})", "min": "np.minimum({1}, {0})",
    "atan2": "np.arctan2({0}, {1})", "hypot": "np.hypot({0}, {1})",
    "logaddexp": "np.logaddexp({0}, {1})", "logaddexp2": "np.logaddexp2({0}, {1})",
    "rem": "{0} % {1}", "floor_divide": "{0} // {1}",
    "sin": "np.sin({0})", "cos": "np.cos({0})", "tan": "np.tan({0})",
    "asin": "np.arcsin({0})", "acos": "np.arccos({0})", "atan": "np.arctan({0})",
    "sinh": "np.sinh({0})", "cosh": "np.cosh({0})", "tanh": "np.tanh({0})",
    "asinh": "np.arcsinh({0})", "acosh": "np.arccosh({0})", "atanh": "np.arctanh({0})",
    "exp": "np.exp({0})", "exp2": "np.exp2({0})", "expm1": "np.expm1({0})",
    "log": "np.log({0})", "log2": "np.log2({0})", "log10": "np.log10({0})",
    "log1p": "np.log1p({0})", "sqrt": "np.sqrt({0})", "cbrt": "np.cbrt({0})",
    # numba's sign of -0.0 is -0.0; NumPy's is 0.0 (adding a zero makes it so).
    "abs": "np.abs({0})", "sign": "np.sign({0}) + {dtype}(0)", "floor": "np.floor({0})",
    "ceil": "np.ceil({0})", "round": "np.rint({0})", "sinc": "np.sinc({0})",
    "logistic": "_logistic({0})",
    "eq": "{0} == {1}", "ne": "{0} != {1}", "lt": "{0} < {1}", "le": "{0} <= {1}",
    "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "and": "bool({0}) and bool({1})", "or": "bool({0}) or bool({1})",
    "xor": "bool({0}) != bool({1})", "not": "not {0}",
    "isnan": "np.isnan({0})", "isinf": "np.isinf({0})", "isfinite": "np.isfinite({0})",
    "select": "{1} if {0} else {2}",
    "convert_element_type": "{dtype}({0})",
    # Complex numbers (numba has complex64 and complex128, and NumPy's ufuncs on them).
    "real": "{0}.real", "imag": "{0}.imag", "conj": "np.conj({0})",
    "complex": "{dtype}(complex({0}, {1}))", "angle": "np.arctan2({0}.imag, {0}.real)",
    "stop_gradient": "{0}", "retain_grad": "{0}",
    # Integer bit operations, cast back to the operands' dtype (numba widens small integers).
    # ``{bits}``: the dtype's width; NumPy shifts every bit out for a count outside
    # [0, bits) (C leaves that undefined): 0, or for a negative number shifted right -1,
    # which is ``(x >> (bits - 1)) >> 1`` for signed and unsigned numbers alike.
    "bitwise_and": "{dtype}({0} & {1})", "bitwise_or": "{dtype}({0} | {1})",
    "bitwise_xor": "{dtype}({0} ^ {1})", "bitwise_not": "{dtype}(~{0})",
    "shift_left": "({dtype}({0} << {1}) if {dtype}(0) <= {1} < {dtype}({bits}) "
                  "else {dtype}(0))",
    "shift_right": "({dtype}({0} >> {1}) if {dtype}(0) <= {1} < {dtype}({bits}) "
                   "else {dtype}(({0} >> {dtype}({bits} - 1)) >> {dtype}(1)))",
    "population_count": "_popcount({0})", "gcd": "{dtype}(_gcd({0}, {1}))",
    "signbit": "np.signbit({0})", "nextafter": "np.nextafter({0}, {1})",
    "ldexp": "np.ldexp({0}, {1})",
}


# Where a dtype kind needs its own code: numba's np.sign of an unsigned integer is its
# all-ones value (255 for uint8 200), NumPy's is 1.
_CODE_BY_KIND = {("sign", "u"): "{dtype}({0} != 0)"}


def elementwise_template(primitive: str, dtype) -> str:
    """The template of ``primitive`` for a result of ``dtype``."""
    return _CODE_BY_KIND.get((primitive, dtype.kind)) or ELEMENTWISE_CODE[primitive]


# Primitives with a vectorisable implementation in ``fastmath`` (within a few ulps of NumPy;
# see its docstring): a loop calling them vectorises, one calling libm does not.
FAST_FUNCTIONS = {"exp": "exp", "expm1": "expm1", "exp2": "exp2", "log": "log",
                  "log1p": "log1p", "log2": "log2", "sin": "sin", "cos": "cos", "tan": "tan",
                  "atan": "atan", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh",
                  "logistic": "sigmoid"}


def fast_function_code(primitive: str, operand: str, dtype) -> str | None:
    """``_fm.sin_f32(x)`` for a primitive fastmath covers in this dtype, else None."""
    name = FAST_FUNCTIONS.get(primitive)
    suffix = {"float32": "f32", "float64": "f64"}.get(dtype.name)
    if name is None or suffix is None:
        return None
    return f"_fm.{name}_{suffix}({operand})"


def integer_pow_code(operand: str, power: int, dtype: str) -> str:
    """``x**n`` as a product (exactly what NumPy computes for small integer powers)."""
    if power == 0:
        return f"{dtype}(1)"
    magnitude = abs(power)
    if magnitude <= 4:
        product = " * ".join([operand] * magnitude)
    else:
        product = f"np.power({operand}, {dtype}({magnitude}))"
    return f"({product})" if power > 0 else f"({dtype}(1) / ({product}))"


def _threefry_source() -> str:
    """The 20 rounds of Threefry-2x32 (as ``ops.random``), written out in ``uint32``: straight-
    line code that LLVM vectorises across blocks (rotations become vector rotates)."""
    from ..ops.random import _KEY_SCHEDULE_PARITY, _ROTATIONS, _ROUNDS
    u = "np.uint32"
    lines = ["def _threefry2x32(k0, k1, c0, c1):",
             f"    k2 = {u}(k0 ^ k1 ^ {u}({int(_KEY_SCHEDULE_PARITY)}))",
             f"    x0 = {u}(c0 + k0)", f"    x1 = {u}(c1 + k1)"]
    schedule = ("k0", "k1", "k2")
    for round_index in range(_ROUNDS):
        rotation = _ROTATIONS[round_index % 8]
        lines += [f"    x0 = {u}(x0 + x1)",
                  f"    x1 = {u}({u}(x1 << {u}({rotation})) | (x1 >> {u}({32 - rotation})))"
                  " ^ x0"]
        if round_index % 4 == 3:   # key injection after every four rounds
            injection = round_index // 4 + 1
            lines += [f"    x0 = {u}(x0 + {schedule[injection % 3]})",
                      f"    x1 = {u}(x1 + {schedule[(injection + 1) % 3]} + {u}({injection}))"]
    return "\n".join(lines + ["    return x0, x1"])


# Helpers the templates call; defined in the generated module's namespace (an inlined helper
# no kernel calls is never compiled).
HELPERS = '''
@numba.njit(inline="always", error_model="numpy")
def _popcount(x):
    # the set bits of |x| (NumPy's bitwise_count), in uint64 (x's own bits for unsigned x)
    v = np.uint64(np.int64(x)) if x < 0 else np.uint64(x)
    if x < 0:
        v = np.uint64(0) - v
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.uint8((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(inline="always", error_model="numpy")
def _gcd(a, b):
    # Euclid's algorithm on |a| and |b| (NumPy's gcd)
    a = -a if a < 0 else a
    b = -b if b < 0 else b
    while b != 0:
        a, b = b, a % b
    return a


@numba.njit(inline="always", error_model="numpy")
def _logistic(x):
    z = np.exp(-np.abs(x))
    one = z - z + 1
    return one / (one + z) if x >= 0 else z / (one + z)


@numba.njit(inline="always", error_model="numpy")
''' + _threefry_source() + "\n"


# The Threefry kernel of ``random_bits`` and ``random_split``, called by compiled programs
# instead of their NumPy implementations (12x faster for 16384 words; one kernel for both, as
# its compile takes ~0.4 s). It draws ``s1`` words for each of ``s0`` keys with counters
# ``(j, s2)`` (``s2``: the tag, ``ops.random._TAGS``), block ``j`` giving words ``2j, 2j+1``;
# blocks are computed into two scratch arrays first, which keeps the cipher's loop free of
# interleaved stores (and so vectorised).
RANDOM_STREAM = '''def {name}(s0, s1, s2, x0, o0):
    half = (s1 + 1) // 2
    low = np.empty(half, np.uint32)
    high = np.empty(half, np.uint32)
    tag = np.uint32(s2)
    for b in range(s0):
        k0 = x0[2 * b]
        k1 = x0[2 * b + 1]
        for j in range(half):
            low[j], high[j] = _threefry2x32(k0, k1, np.uint32(j), tag)
        for j in range(s1 // 2):
            o0[b * s1 + 2 * j] = low[j]
            o0[b * s1 + 2 * j + 1] = high[j]
        if s1 % 2:
            o0[b * s1 + s1 - 1] = low[half - 1]
    return ()
'''
