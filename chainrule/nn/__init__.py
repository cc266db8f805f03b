"""Neural-network building blocks: modules, layers, activations, losses.

>>> import chainrule.nn as nn
>>> net = nn.mlp([64, 64, 10], activation="relu", rng=0)
>>> net.spec()
{'type': 'mlp', 'sizes': [64, 64, 10], 'activation': 'relu'}
"""

from . import functional, init
from ._attention import Embedding, MultiheadAttention
from ._conv import CNN, AvgPool2d, Conv1d, Conv2d, Flatten, MaxPool2d, Unflatten
from ._layers import (
    ACTIVATIONS,
    MLP,
    Dropout,
    Identity,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    build_model,
    identity,
    log_softmax,
    mlp,
    register_layer,
    relu,
    sigmoid,
    softmax,
    state_size,
    tanh,
)
from ._module import Module, Parameter, functional_call, parameters_from
from ._norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    l2_penalty,
    one_hot,
    softmax_cross_entropy,
    squared_error,
    weights,
)

for _layer in (Conv1d, Conv2d, MaxPool2d, AvgPool2d, Flatten, Unflatten, CNN, BatchNorm1d, BatchNorm2d, LayerNorm,
               Embedding, MultiheadAttention):
    register_layer(_layer.kind, _layer)

__all__ = [
    "ACTIVATIONS", "CNN", "LOSSES", "MLP", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Dropout",
    "Embedding", "Flatten", "LayerNorm", "MaxPool2d", "MultiheadAttention", "Unflatten", "functional",
    "register_layer", "state_size", "Identity", "Linear", "LogSoftmax", "Module", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "build_model", "cross_entropy", "functional_call", "get_loss", "identity", "init", "l2_penalty", "log_softmax",
    "mlp", "one_hot", "parameters_from", "relu", "sigmoid", "softmax", "softmax_cross_entropy", "squared_error",
    "tanh", "weights",
]
