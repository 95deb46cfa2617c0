"""Compile generated kernels with numba, with an in-memory and an on-disk cache.

A kernel's module file is named by the hash of its full text (which includes the funcgrad,
numba and NumPy versions), so the disk cache is content-addressed: a new process that needs the
same kernel imports the same file and numba loads its machine code from ``__pycache__``
beside it (numba keys that on the CPU too). Files are written atomically (a temporary file, then
``os.replace``), so processes compiling the same kernel at once do not see half a file; a
corrupt or foreign cache entry makes the load fail, and the kernel is then rebuilt from scratch.

A cached entry is Python source that gets imported, so the directory is trusted only when no
one else can write into it: it is created private (mode 0700), and one that is not owned by
the user or is writable by group or others (or whose ``__pycache__`` is) is neither read nor
written. Kernels are then compiled in memory, for this process only, after one warning.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import threading
import types
import warnings

import numpy as np

from .templates import HELPERS

_lock = threading.Lock()
_kernels: dict = {}           # module hash -> dispatcher (compiled in this process)


def _configured_dir() -> str:
    return os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "funcgrad")


_distrusted: set = set()   # directories already warned about


def cache_dir() -> str | None:
    """``FUNCGRAD_CACHE_DIR``, else ``~/.cache/funcgrad`` (created with mode 0700), or None
    where that directory is not trusted (see the module's docstring; one warning each)."""
    path = _configured_dir()
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        problem = _distrust(path)
    except OSError as error:
        problem = f"cannot be used ({error.strerror or error})"
    if problem is None:
        return path
    with _lock:
        first = path not in _distrusted
        _distrusted.add(path)
    if first:
        warnings.warn(
            f"funcgrad: the kernel cache directory {path} {problem}. Cached kernels are Python "
            "source that funcgrad imports, so it neither loads from nor writes to it: kernels "
            "are compiled in memory for this process. Make the directory private to you "
            "(chmod 700; owned by you) or point FUNCGRAD_CACHE_DIR at one that is.",
            RuntimeWarning, stacklevel=2)
    return None


def _distrust(path: str) -> str | None:
    """Why ``path`` may hold files written by someone else, or None if it cannot."""
    for directory, what in ((path, "is"), (os.path.join(path, "__pycache__"),
                                           "has a __pycache__ that is")):
        try:
            info = os.stat(directory)
        except FileNotFoundError:
            continue   # numba makes ``__pycache__`` on its first write
        if not stat.S_ISDIR(info.st_mode):
            return f"{what} not a directory"
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return f"{what} owned by user id {info.st_uid}, not by you"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"{what} writable by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def _versions() -> str:
    import numba

    from .. import __version__
    return f"funcgrad {__version__}, numba {numba.__version__}, numpy {np.__version__}"


_threads_started = False


def start_threads() -> None:
    """Start numba's thread pool (once), its OpenMP threads sleeping between parallel regions.

    By default GNU OpenMP's threads spin for a while after each parallel region, waiting for
    the next. A compiled program runs a parallel kernel, then a matrix product on BLAS's own
    threads: the spinning threads and BLAS's want the same cores. On 2 cores a 784-512-512-10
    MLP step took 30 ms with default settings against 15 ms with one numba thread; with
    ``OMP_WAIT_POLICY=PASSIVE`` for numba's pool, 12 ms. That setting is read when the OpenMP
    runtime loads, so it is set around the load only, unless the user set it: other OpenMP
    libraries loaded later see the environment as it was.
    """
    global _threads_started
    with _lock:
        if _threads_started:
            return
        from numba.np.ufunc import parallel
        ours = "OMP_WAIT_POLICY" not in os.environ
        if ours:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            parallel._launch_threads()
        finally:
            if ours:
                del os.environ["OMP_WAIT_POLICY"]
        _threads_started = True


def exact_math() -> bool:
    """``FUNCGRAD_EXACT_MATH=1``: NumPy's functions and NumPy's order of operations."""
    return os.environ.get("FUNCGRAD_EXACT_MATH") == "1"


def fastmath_flags():
    """Reassociation lets LLVM vectorise reductions; exact math turns it off."""
    return False if exact_math() else {"reassoc", "contract"}


def decorator(parallel: bool = False, cache: bool = True) -> str:
    """The ``@numba.njit(...)`` line of a generated function."""
    flags = fastmath_flags()
    # Sorted, so that the text (and so the cache key) is the same in every process.
    flags = "{" + ", ".join(repr(f) for f in sorted(flags)) + "}" if flags else "False"
    return (f"@numba.njit(cache={cache}, error_model='numpy', fastmath={flags}"
            f"{', parallel=True' if parallel else ''})")


# Where a kernel's text defines functions of its own besides its first (the fused kernels a
# whole-loop function calls), each of their ``def``s follows this line: replaced by the
# module's decorator.
INNER_DECORATOR = "@_funcgrad_njit"


def module_text(kernel_source: str, parallel: bool = False, cache: bool = True) -> str:
    return (f"# Generated by funcgrad ({_versions()}). Do not edit.\n"
            "import numpy as np\nimport numba\n"
            + ("from funcgrad.backend import fastmath as _fm\n" if "_fm." in kernel_source
               else "") +
            f"{HELPERS}\n\n"
            f"{decorator(parallel, cache)}\n"
            + kernel_source.replace(INNER_DECORATOR, decorator(False, cache)))


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def _import(path: str, name: str):
    # Registered in sys.modules: numba's cache refers to the module by name when it loads.
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _numba_type(aval_dtype, is_array: bool):
    import numba
    scalar = numba.from_dtype(np.dtype(aval_dtype))
    return numba.types.Array(scalar, 1, "C") if is_array else scalar


def signature_of(kernel_source, is_scalar_kernel: bool):
    import numba
    types = [] if is_scalar_kernel else [numba.int64] * len(kernel_source.loop_sizes)
    types += [_numba_type(v.aval.dtype, True) for v in kernel_source.array_inputs]
    types += [_numba_type(v.aval.dtype, False) for v in kernel_source.scalar_inputs]
    types += [_numba_type(v.aval.dtype, True) for v in kernel_source.array_outputs]
    return tuple(types)


def compile_kernel(kernel_source, is_scalar_kernel: bool):
    """The numba dispatcher of ``kernel_source``, compiled for its argument types."""
    directory = cache_dir()
    text = module_text(kernel_source.code, kernel_source.parallel, cache=directory is not None)
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    with _lock:
        dispatcher = _kernels.get(digest)
    if dispatcher is not None:
        return dispatcher
    if kernel_source.parallel:
        start_threads()
    name = f"fg_{digest}"
    signature = signature_of(kernel_source, is_scalar_kernel)
    if directory is None:   # an untrusted cache: this process's memory only
        module = types.ModuleType(name)
        exec(compile(text, f"<funcgrad kernel {name}>", "exec"), module.__dict__)
        dispatcher = getattr(module, kernel_source.name)
        dispatcher.compile(signature)
    else:
        dispatcher = _load(directory, name, text, kernel_source.name, signature)
    with _lock:
        _kernels[digest] = dispatcher
    return dispatcher


def _load(directory: str, name: str, text: str, function: str, signature):
    """The dispatcher ``function`` of the cached module ``name``, written first if missing."""
    path = os.path.join(directory, name + ".py")
    if not os.path.exists(path):
        _write_atomically(path, text)
    try:
        dispatcher = getattr(_import(path, name), function)
        dispatcher.compile(signature)
    except Exception:
        # A corrupt or foreign entry (a truncated file, a broken numba index): rebuild it.
        _discard(directory, name)
        _write_atomically(path, text)
        dispatcher = getattr(_import(path, name), function)
        dispatcher.compile(signature)
    return dispatcher


def _discard(directory: str, name: str) -> None:
    pycache = os.path.join(directory, "__pycache__")
    if os.path.isdir(pycache):
        for entry in os.listdir(pycache):
            if entry.startswith(name):
                try:
                    os.remove(os.path.join(pycache, entry))
                except OSError:
                    pass


def clear_cache(directory: str | None = None) -> None:
    """Delete every cached kernel (the directory is recreated empty)."""
    directory = directory or _configured_dir()
    shutil.rmtree(directory, ignore_errors=True)
    with _lock:
        _kernels.clear()
