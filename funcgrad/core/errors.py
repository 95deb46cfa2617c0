"""funcgrad's exceptions, and the helper that points an error at the user's own source line."""
from __future__ import annotations

import linecache
import os
import sys

# Frames from these folders are funcgrad's own machinery; an error points past them at the
# first frame of the user's code. Examples and the demo live in the package but are user code.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL_DIRS = tuple(
    os.path.join(_PACKAGE_DIR, name) + os.sep
    for name in ("core", "ops", "transforms", "numpy", "backend", "nn", "scipy")
) + tuple(os.path.join(_PACKAGE_DIR, name) for name in (
    "tree.py", "__init__.py", "control.py", "lax.py", "random.py", "optim.py", "debug.py",
    "distributed.py", "checkpoint_policies.py"))


class ConcretizationError(TypeError):
    """Python control flow (``if``, ``while``, ``bool()``) needed the value of a traced array."""


class TracerConversionError(TypeError):
    """A traced array was converted to a NumPy array or a Python number inside a transform."""


class DisconnectedGradientError(ValueError):
    """The differentiated output does not depend on an argument (``on_disconnected="error"``)."""


class ShapeError(ValueError):
    """A primitive was given operands whose shapes or dtypes do not fit together."""


class EscapedTracerError(RuntimeError):
    """A traced value was used after the transformation that created it had finished."""


def user_source_line() -> str:
    """Return ``'file.py:12 in f: <code>'`` for the innermost frame outside funcgrad, or ''."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_INTERNAL_DIRS) and not filename.startswith("<frozen"):
            line = linecache.getline(filename, frame.f_lineno).strip()
            where = f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            return f"{where}: {line}" if line else where
        frame = frame.f_back
    return ""


def at_user_line(message: str) -> str:
    """Append the user's source line to ``message`` when one can be found."""
    where = user_source_line()
    return f"{message}\n  at {where}" if where else message
