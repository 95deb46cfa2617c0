"""The primitives, one family a module, each primitive with all of its rules beside it."""
from . import (
               callback,
               collective,
               complex_numbers,
               contraction,
               control,
               convolution,
               custom,
               eig,
               elementwise,
               exponential_integrals,
               fft,
               host,
               incomplete,
               linalg,
               random,
               reduction,
               sorting,
               special,
               special_functions,
               structural,
               window,
)

__all__ = ["callback", "collective", "complex_numbers", "contraction", "control", "convolution",
           "custom", "eig", "elementwise", "exponential_integrals", "fft", "host", "incomplete",
           "linalg", "random", "reduction", "sorting", "special", "special_functions",
           "structural", "window"]
