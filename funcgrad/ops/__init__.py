"""The primitives, one family a module, each primitive with all of its rules beside it."""
from . import contraction, elementwise, random, reduction, special, structural

__all__ = ["contraction", "elementwise", "random", "reduction", "special", "structural"]
