"""Optimisers, gradient clipping, learning-rate schedules, and a functional (optax-shaped) API on pytrees.

>>> import chainrule.nn as nn, chainrule.optim as optim
>>> net = nn.mlp([4, 8, 3], rng=0)
>>> opt = optim.Adam(net.parameters(), lr=1e-3)
"""

from . import functional
from ._optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm, clip_grad_value
from ._schedules import (
    CosineLR,
    ExponentialLR,
    LinearWarmup,
    OneCycleLR,
    ReduceLROnPlateau,
    Schedule,
    SequentialLR,
    StepLR,
)
from .functional import apply_updates, tree_leaves, tree_map

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "CosineLR", "ExponentialLR", "LinearWarmup", "OneCycleLR", "Optimizer",
           "RMSprop", "ReduceLROnPlateau", "Schedule", "SequentialLR", "StepLR", "apply_updates",
           "clip_grad_norm", "clip_grad_value", "functional", "tree_leaves", "tree_map"]
