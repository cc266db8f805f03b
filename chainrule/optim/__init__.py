"""Optimisers and learning-rate schedules.

>>> import chainrule.nn as nn, chainrule.optim as optim
>>> net = nn.mlp([4, 8, 3], rng=0)
>>> opt = optim.Adam(net.parameters(), lr=1e-3)
"""

from ._optimizers import SGD, Adam, AdamW, Optimizer
from ._schedules import CosineLR, Schedule, StepLR

__all__ = ["SGD", "Adam", "AdamW", "CosineLR", "Optimizer", "Schedule", "StepLR"]
