"""The gradient of linear regression under MSE, derived by hand.  ≙ ``loss.backward()`` for that case.

For a `Linear` layer (the seed's ``LinearRegression`` is one with O = 1 output):

    ŷ = X Wᵀ + b                          X: (N, F)   W: (O, F)   b: (O,)   ŷ, y: (N, O)
    L = 1/(N·O) · Σᵢⱼ (ŷᵢⱼ − yᵢⱼ)²        mse_loss, reduction='mean' (no ½ in front, as in PyTorch)

    ∂L/∂ŷ = 2/(N·O) · (ŷ − y)
    ∂L/∂W = 2/(N·O) · (ŷ − y)ᵀ X          for O = 1:  2/N · Σᵢ (ŷᵢ − yᵢ) · xᵢ
    ∂L/∂b = 2/(N·O) · Σᵢ (ŷᵢ − yᵢ)        for O = 1:  2/N · Σᵢ (ŷᵢ − yᵢ)

Convention note: texts that write MSE as ½·mean get the same gradients without the 2.

Everything is computed from the parameter *values* (detached), independently of autograd and of
the model's own ``forward``, so comparing it with ``p.grad`` after ``loss.backward()`` is a check
of autograd on this model, not a restatement of it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.layers import Linear
from nnscratch.losses import mse_loss
from nnscratch.module import Module

AnalyticGrads = Callable[[Module, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]

# How each gradient reads for the seed's model (one output), keyed like named_parameters().
FORMULAS = {"weight": "2/N·Σ(ŷ−y)·x", "bias": "2/N·Σ(ŷ−y)"}


def linear_mse_grads(model: Module, X: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{"weight": ∂L/∂W, "bias": ∂L/∂b}`` of ``mse_loss(model(X), y)`` for a `Linear` ``model``."""
    assert isinstance(model, Linear), "the formula is for a Linear layer"
    W = model.weight.detach()  # (O, F)
    b = model.bias.detach() if model.bias is not None else None  # (O,)
    y_hat = X @ W.T  # (N, F) @ (F, O) -> (N, O)
    if b is not None:
        y_hat = y_hat + b  # (N, O)
    r = y_hat - y  # (N, O) residuals ŷ − y
    scale = 2.0 / r.numel()  # 2/(N·O)
    grads = {"weight": scale * (r.T @ X)}  # (O, N) @ (N, F) -> (O, F)
    if b is not None:
        grads["bias"] = scale * r.sum(dim=0)  # (O,)
    return grads


def analytic_for(model: Module, loss_fn: Callable[..., torch.Tensor]) -> AnalyticGrads | None:
    """The hand-derived gradient for this model and loss, or None where none is written down."""
    if isinstance(model, Linear) and loss_fn is mse_loss:
        return linear_mse_grads
    return None
