"""Loss functions written by hand.  Replace ``torch.nn.functional`` losses / ``nn.*Loss``.

``reduction`` means what it means in PyTorch:
    'none' → the per-element losses, 'sum' → their sum, 'mean' → their mean (the default).

Convention note: some texts define MSE with a ½ in front (so that its derivative has no 2).
PyTorch's ``nn.MSELoss`` has no ½, and neither has this one: ∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/N.
"""

from __future__ import annotations

import torch

REDUCTIONS = ("none", "mean", "sum")


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, input: torch.Tensor, target: torch.Tensor) -> None:
    # PyTorch only warns here and broadcasts (N, 1) against (N,) into an (N, N) loss: a classic
    # silent bug. nnscratch refuses instead.
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {tuple(input.shape)} differs from target shape "
            f"{tuple(target.shape)}; reshape the target (e.g. y.view(-1, 1)) so they match"
        )


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error, the seed's ``((y_pred - y_true) ** 2).mean()``.  ≙ ``F.mse_loss``.

    L = reduce((ŷ − y)²)
    """
    _check_same_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction)
