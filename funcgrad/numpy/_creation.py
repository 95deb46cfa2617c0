"""Array creation functions of ``funcgrad.numpy`` (zeros, ones, full, eye, arange, ...)."""
from __future__ import annotations
