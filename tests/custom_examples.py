"""Functions with custom derivative rules (``fg.custom_vjp``, ``fg.custom_jvp``) and
checkpointed blocks (``fg.checkpoint``), with NumPy references: rows of the primitive table and
the subjects of tests/test_custom.py."""
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.nn import sigmoid


@fg.custom_vjp
def log1pexp(x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    return fnp.maximum(x, 0.0) + fnp.log1p(fnp.exp(-fnp.abs(x)))


def _log1pexp_fwd(x):
    return log1pexp(x), x


def _log1pexp_bwd(x, g):
    # The derivative is the logistic function, which nn.sigmoid computes without overflow.
    return (g * sigmoid(x),)


log1pexp.defvjp(_log1pexp_fwd, _log1pexp_bwd)


def log1pexp_reference(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


@fg.custom_vjp
def scaled_sine(x, y):
    """Two arguments: ``x * sin(y) + x``."""
    return x * fnp.sin(y) + x


def _scaled_sine_fwd(x, y):
    return scaled_sine(x, y), (x, fnp.sin(y), fnp.cos(y))


def _scaled_sine_bwd(residuals, g):
    x, sin_y, cos_y = residuals
    return g * (sin_y + 1.0), g * x * cos_y


scaled_sine.defvjp(_scaled_sine_fwd, _scaled_sine_bwd)


def scaled_sine_reference(x, y):
    return x * np.sin(y) + x


def _sine_block(x):
    return fnp.sin(x) * fnp.exp(x) + x


sine_block = fg.checkpoint(_sine_block)


def sine_block_reference(x):
    return np.sin(x) * np.exp(x) + x


def _product_block(x, y):
    return fnp.tanh(x * y) + x


product_block = fg.checkpoint(_product_block)


def product_block_reference(x, y):
    return np.tanh(x * y) + x


@fg.custom_jvp
def log1pexp_jvp(x):
    """``log1pexp`` with a forward-mode rule (reverse mode transposes it)."""
    return fnp.maximum(x, 0.0) + fnp.log1p(fnp.exp(-fnp.abs(x)))


@log1pexp_jvp.defjvp
def _log1pexp_jvp_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp_jvp(x), t * sigmoid(x)


@fg.custom_jvp
def scaled_sine_jvp(x, y):
    """``scaled_sine`` with one forward rule per argument (``defjvps``)."""
    return x * fnp.sin(y) + x


scaled_sine_jvp.defjvps(lambda xd, ans, x, y: xd * (fnp.sin(y) + 1.0),
                        lambda yd, ans, x, y: yd * x * fnp.cos(y))
