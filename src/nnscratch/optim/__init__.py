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

# The optimizers by the name ``--optimizer`` gives them (the one list; `nnscratch.run.config`
# keeps a torch-free copy of its keys for the CLI, tied to it by tests/test_names.py).
OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}

__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
