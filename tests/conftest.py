"""Shared test set-up: one numba kernel cache for the whole run, so tests share compiled code."""
import os
import tempfile

# Set before funcgrad compiles anything; a developer's own FUNCGRAD_CACHE_DIR is respected.
os.environ.setdefault("FUNCGRAD_CACHE_DIR", os.path.join(tempfile.gettempdir(),
                                                         "funcgrad-test-cache"))
