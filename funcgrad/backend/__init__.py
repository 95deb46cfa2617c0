"""The numba backend: IR -> generated Python source -> native code, with caches.

Nothing here imports numba at import time; numba is loaded by the compile thread the first
time something is compiled.
"""
