"""``funcgrad.scipy``: the functions of ``jax.scipy`` that funcgrad has, differentiable and
traceable. ``special``, ``stats`` (``norm``, ``multivariate_normal``, ``gamma``,
``poisson``, ...) and ``linalg``; imported on first use (``import funcgrad`` does not import
this package).
"""
import importlib

_SUBMODULES = ("special", "stats", "linalg")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES})


__all__ = list(_SUBMODULES)
