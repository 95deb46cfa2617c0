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
from . import initializers
from .convolution import (
    AvgPool,
    Conv,
    ConvTranspose,
    Flatten,
    MaxPool,
    avg_pool,
    conv,
    conv_transpose,
    max_pool,
)
from .functions import (
    celu,
    cross_entropy,
    dot_product_attention,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    logsumexp,
    mish,
    mse_loss,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softmax,
    softplus,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    standardize,
    swish,
    tanh,
)
from .modules import (
    RNN,
    BatchNorm,
    Dropout,
    Embedding,
    GroupNorm,
    GRUCell,
    Lambda,
    LayerNorm,
    Linear,
    LSTMCell,
    Module,
    MultiHeadAttention,
    RMSNorm,
    Sequential,
)

__all__ = ["Module", "Linear", "BatchNorm", "Dropout", "Lambda", "Sequential", "LayerNorm",
           "RMSNorm", "GroupNorm", "Embedding", "MultiHeadAttention", "LSTMCell", "GRUCell",
           "RNN", "Conv", "ConvTranspose", "MaxPool", "AvgPool", "Flatten", "initializers",
           "dot_product_attention", "conv", "conv_transpose", "max_pool", "avg_pool",
           "relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp", "one_hot",
           "cross_entropy", "mse_loss", "identity", "relu6", "silu", "swish", "elu", "selu",
           "celu", "leaky_relu", "softplus", "soft_sign", "log_sigmoid", "hard_tanh",
           "hard_sigmoid", "hard_silu", "hard_swish", "glu", "mish", "sparse_plus",
           "sparse_sigmoid", "squareplus", "standardize"]
