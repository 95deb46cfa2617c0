"""``fg.debug``: printing traced values at run time (``jax.debug``).

>>> import funcgrad as fg
>>> fg.debug.print("{} and {}", 1.5, "a string")
1.5 and a string
"""
from .transforms.callbacks import debug_print as print  # noqa: A001  (JAX's name)

__all__ = ["print"]
