"""Optimizers written by hand.  Replaces ``torch.optim``."""

from nnscratch.optim.optimizer import Optimizer
from nnscratch.optim.sgd import SGD

__all__ = ["Optimizer", "SGD"]
