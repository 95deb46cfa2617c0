"""``fg.nn``: modules with explicit parameters, state and mode; activations; losses.

Modules follow one protocol, ``init(key) -> (params, state)`` and
``apply(params, state, x, *, train, key=None) -> (y, state)``: parameters and state are
pytrees of arrays that the caller holds, ``train`` is a required keyword (there is no hidden
``model.train()`` mode), and BatchNorm's running statistics change only through the returned
state. The training pattern keeps ``state`` out of the differentiated argument:

>>> import numpy as np
>>> import funcgrad as fg
>>> from funcgrad import nn
>>> model = nn.Sequential([nn.Linear(4, 16), nn.BatchNorm(16), nn.relu, nn.Dropout(0.1),
...                        nn.Linear(16, 3)])
>>> params, state = model.init(fg.random.key(0))
>>> def loss_fn(params, state, x, y, key):
...     logits, state = model.apply(params, state, x, train=True, key=key)
...     return nn.cross_entropy(logits, y), state
>>> x, y = np.ones((8, 4)), np.arange(8) % 3
>>> (loss, state), grads = fg.value_and_grad(loss_fn, has_aux=True)(
...     params, state, x, y, fg.random.key(1))
>>> sorted(grads["0"]), grads["0"]["weight"].shape
(['bias', 'weight'], (16, 4))
"""
from .functions import (
    cross_entropy,
    gelu,
    log_softmax,
    logsumexp,
    mse_loss,
    one_hot,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .modules import BatchNorm, Dropout, Lambda, Linear, Module, Sequential

__all__ = ["Module", "Linear", "BatchNorm", "Dropout", "Lambda", "Sequential", "relu", "gelu",
           "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp", "one_hot",
           "cross_entropy", "mse_loss"]
