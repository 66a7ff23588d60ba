"""The problem every pitfall trains on: the seed's line fit with raw tensors ``w`` and ``b``.

    y = X @ w.T + b,   X: (N, 1),  w: (1, 1),  b: (1,)      loss = mean((y_pred − y)²)

Small and seeded, so each pitfall runs in milliseconds and prints the same numbers every time.
"""

from __future__ import annotations

import torch

from nnscratch.data import make_regression

N = 32  # samples
LR = 0.1  # learning rate
SEED = 0


def problem(n_samples: int = N, features: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)``: ``(N, features)`` inputs and ``(N, 1)`` targets on a known line plus noise."""
    data = make_regression(n_samples=n_samples, features=features, seed=SEED)
    return data.X, data.y


def params(features: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Leaf parameters ``w (1, features)`` and ``b (1,)``: values drawn first, then requires_grad."""
    g = torch.Generator().manual_seed(SEED)
    w = torch.randn(1, features, generator=g).requires_grad_()  # (1, F) leaf
    b = torch.zeros(1).requires_grad_()  # (1,) leaf
    return w, b


def value(t: torch.Tensor) -> float | list:
    """A tensor as plain numbers for the report (``float`` for one element)."""
    t = t.detach()
    return t.item() if t.numel() == 1 else t.tolist()


def grad_fn_name(t: torch.Tensor) -> str:
    """``'MulBackward0'`` for a tensor made by an operation, ``'None'`` for a leaf."""
    return t.grad_fn.name() if t.grad_fn is not None else "None"
