"""The primitives, one family a module, each primitive with all of its rules beside it."""
from . import (
               callback,
               collective,
               contraction,
               control,
               convolution,
               custom,
               elementwise,
               host,
               linalg,
               random,
               reduction,
               sorting,
               special,
               special_functions,
               structural,
               window,
)

__all__ = ["callback", "collective", "contraction", "control", "convolution", "custom",
           "elementwise", "host", "linalg", "random", "reduction", "sorting", "special",
           "special_functions", "structural", "window"]
