"""Element-wise activations as layers.  ``Activation(name)`` replaces ``nn.ReLU``, ``nn.Tanh``,
``nn.Sigmoid`` and ``nn.GELU``; the functions themselves are written in `nnscratch.functional`.
"""

from __future__ import annotations

import torch

from nnscratch.module import Module


class Activation(Module):
    """An element-wise function as a layer (``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``, ``nn.GELU``).

    Args:
        name: the activation: 'relu', 'tanh', 'sigmoid' or 'gelu'.
    """

    def __init__(self, name: str) -> None:
        from nnscratch import functional

        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
        self.name = name
        self.fn = getattr(functional, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
