"""The hand-derived gradients `nnscratch explain` shows beside autograd's ``p.grad``.

They are not derived here: they come from `nnscratch.backprop`, the one place where each
gradient formula is written (``backprop.losses`` for ∂L/∂ŷ, ``backprop.network`` for the chain
rule through the layers). For the seed's linear regression (one `Linear`, ``mse_loss``) it reads

    ŷ = X Wᵀ + b                          X: (N, F)   W: (O, F)   b: (O,)   ŷ, y: (N, O)
    ∂L/∂W = 2/(N·O) · (ŷ − y)ᵀ X          for O = 1:  2/N · Σᵢ (ŷᵢ − yᵢ) · xᵢ
    ∂L/∂b = 2/(N·O) · Σᵢ (ŷᵢ − yᵢ)        for O = 1:  2/N · Σᵢ (ŷᵢ − yᵢ)

backprop computes everything from the parameter *values* under ``torch.no_grad()``, with its own
forward pass, independently of autograd and of the model's ``forward``: so explain's "by hand ✓
agrees" is autograd checked against the hand derivation, not a formula against itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch import backprop
from nnscratch.layers import Linear
from nnscratch.losses import mse_loss
from nnscratch.module import Module

AnalyticGrads = Callable[[Module, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]

# How each gradient reads for the seed's model (Linear, mse_loss), keyed like named_parameters().
FORMULAS = {"weight": "2/N·Σ(ŷ−y)·x", "bias": "2/N·Σ(ŷ−y)"}


def formulas_for(model: Module, loss_fn: Callable[..., torch.Tensor]) -> dict[str, str]:
    """The formulas to print beside the numbers: the seed's two for a Linear under mse_loss."""
    return FORMULAS if isinstance(model, Linear) and loss_fn is mse_loss else {}


def analytic_for(model: Module, loss_fn: Callable[..., torch.Tensor]) -> AnalyticGrads | None:
    """``(model, X, y) -> {name: ∂L/∂p}`` from `nnscratch.backprop`, or None where backprop has
    no formulas for this model or loss."""
    if not backprop.supports(model, loss_fn):
        return None
    return lambda m, X, y: backprop.gradients(m, loss_fn, X, y)[1]
