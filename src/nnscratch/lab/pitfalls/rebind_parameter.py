"""Pitfall: rebinding a parameter, ``w = w - lr * w.grad``, instead of updating it in place.

The right-hand side is a new tensor computed *from* ``w``: autograd records it (grad_fn
``SubBackward0``), so the name ``w`` now points to a non-leaf. The next ``backward()`` sends the
gradient through it to the *old* leaf, and the new ``w.grad`` stays ``None`` (PyTorch warns when
it is read); the next update then fails on ``lr * None``. Rebinding under ``no_grad`` instead gives
a tensor that does not require grad at all: the next ``backward()`` fails. An optimizer that
holds the old tensor would also never see the new one.

Fix: update in place under ``no_grad``: ``w -= lr * w.grad`` (``w.sub_(lr * w.grad)``). The tensor
object stays the same leaf, so the model and the optimizer keep pointing at it.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, grad_fn_name, params, problem
from nnscratch.losses import mse_loss


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    for step in (1, 2):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()
        seen[f"step {step}: w.is_leaf"] = w.is_leaf
        seen[f"step {step}: w.grad is None"] = w.grad is None  # warns from step 2 on
        w = w - LR * w.grad  # a new tensor: w is no longer a leaf
        b = b - LR * b.grad
        seen[f"step {step}: w.grad_fn after update"] = grad_fn_name(w)


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    for step in (1, 2):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()
        seen[f"step {step}: w.is_leaf"] = w.is_leaf
        seen[f"step {step}: w.grad is None"] = w.grad is None
        with torch.no_grad():
            w -= LR * w.grad  # in place: the same leaf tensor, new values
            b -= LR * b.grad
        seen[f"step {step}: w.grad_fn after update"] = grad_fn_name(w)
        w.grad, b.grad = None, None


ORDER = 30  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="rebind-parameter",
    summary="rebinding w = w - lr * w.grad: w stops being a leaf and its .grad stays None",
    symptom="UserWarning on reading a non-leaf's .grad, then TypeError: ... 'float' and 'NoneType'",
    fix="update in place under torch.no_grad(): w -= lr * w.grad",
    broken=broken,
    correct=correct,
)
