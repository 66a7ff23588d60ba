"""Pitfall: ``requires_grad=True`` before an initialisation expression.

    w = torch.randn(3, 1, requires_grad=True) * 0.01

Here the leaf is the unscaled ``randn`` tensor; ``w`` is the *result* of a multiplication
(grad_fn ``MulBackward0``), not a leaf. ``backward()`` fills the hidden leaf's ``.grad`` and
leaves ``w.grad`` at ``None`` (PyTorch warns when it is read), and an optimizer refuses ``w``:
``torch.optim`` raises "can't optimize a non-leaf Tensor", nnscratch's ``SGD`` says the same.

Fix: compute the initial values first, then switch gradients on:
``w = (torch.randn(3, 1) * 0.01).requires_grad_()``, which is what `nnscratch.module.parameter`
and ``nn.Parameter`` do.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, grad_fn_name, problem
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD

FEATURES = 3


def broken(seen: Observed) -> None:
    X, y = problem(features=FEATURES)  # (N, 3), (N, 1)
    w = torch.randn(1, FEATURES, requires_grad=True) * 0.01  # scaled after requires_grad
    b = torch.zeros(1, requires_grad=True)
    seen["w.is_leaf"] = w.is_leaf
    seen["w.grad_fn"] = grad_fn_name(w)
    mse_loss(X @ w.T + b, y).backward()
    seen["w.grad is None"] = w.grad is None  # PyTorch warns here
    SGD([w, b], lr=LR)  # refuses a non-leaf, as torch.optim.SGD does


def correct(seen: Observed) -> None:
    X, y = problem(features=FEATURES)  # (N, 3), (N, 1)
    w = (torch.randn(1, FEATURES) * 0.01).requires_grad_()  # values first, then requires_grad
    b = torch.zeros(1, requires_grad=True)
    seen["w.is_leaf"] = w.is_leaf
    seen["w.grad_fn"] = grad_fn_name(w)
    mse_loss(X @ w.T + b, y).backward()
    seen["w.grad is None"] = w.grad is None
    optimizer = SGD([w, b], lr=LR)
    optimizer.step()
    seen["w.is_leaf after step"] = w.is_leaf


ORDER = 40  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="requires-grad-before-init",
    summary="torch.randn(..., requires_grad=True) * 0.01: the parameter is not a leaf",
    symptom="w.grad_fn is MulBackward0, w.grad stays None, the optimizer raises ValueError",
    fix="initialise first, then (torch.randn(...) * 0.01).requires_grad_()",
    broken=broken,
    correct=correct,
)
