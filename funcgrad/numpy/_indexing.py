"""Indexing of traced values (``x[idx]``) and functional updates (``x.at[idx].set(v)``)."""
from __future__ import annotations
