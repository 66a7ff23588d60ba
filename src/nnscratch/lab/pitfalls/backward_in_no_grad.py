"""Pitfall: computing the loss inside ``torch.no_grad()`` and calling ``backward()`` on it.

Under ``no_grad`` autograd records nothing: the loss is a plain number with no ``grad_fn``, so
there is no graph to go back through, and ``backward()`` raises "element 0 of tensors does not
require grad and does not have a grad_fn". It happens when the whole step, forward included, is
put under ``no_grad`` to "protect" the update.

Fix: forward, loss and ``backward()`` with autograd on; only the update under ``no_grad``.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, grad_fn_name, params, problem
from nnscratch.losses import mse_loss


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    with torch.no_grad():  # too wide: the forward pass is not recorded
        loss = mse_loss(X @ w.T + b, y)
        seen["loss.requires_grad"] = loss.requires_grad
        seen["loss.grad_fn"] = grad_fn_name(loss)
        loss.backward()
        w -= LR * w.grad


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    loss = mse_loss(X @ w.T + b, y)  # recorded: loss.grad_fn is the last op
    seen["loss.requires_grad"] = loss.requires_grad
    seen["loss.grad_fn"] = grad_fn_name(loss)
    loss.backward()
    with torch.no_grad():  # only the update
        w -= LR * w.grad
        b -= LR * b.grad
    seen["w.grad is None"] = w.grad is None


ORDER = 50  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="backward-in-no-grad",
    summary="calling backward() on a loss computed under torch.no_grad()",
    symptom="RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn",
    fix="keep forward, loss and backward() outside no_grad; put only the update inside",
    broken=broken,
    correct=correct,
)
