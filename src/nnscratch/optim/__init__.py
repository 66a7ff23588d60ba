"""Optimizers written by hand.  Replaces ``torch.optim``.

optimizer.py     Optimizer: param groups, zero_grad, state_dict   ↔ torch.optim.Optimizer
sgd.py           SGD (momentum, dampening, Nesterov)              ↔ torch.optim.SGD
adam.py          Adam (bias correction, AMSGrad)                  ↔ torch.optim.Adam
adamw.py         AdamW (decoupled weight decay)                   ↔ torch.optim.AdamW
rmsprop.py       RMSprop (centered, momentum)                     ↔ torch.optim.RMSprop
lr_scheduler.py  StepLR, CosineAnnealingLR, LinearLR              ↔ torch.optim.lr_scheduler
"""

from nnscratch.optim import lr_scheduler
from nnscratch.optim.adam import Adam
from nnscratch.optim.adamw import AdamW
from nnscratch.optim.optimizer import Optimizer
from nnscratch.optim.rmsprop import RMSprop
from nnscratch.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
