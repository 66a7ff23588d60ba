"""Containers and reshapes.  ``Sequential`` replaces ``nn.Sequential``, ``Flatten`` ``nn.Flatten``."""

from __future__ import annotations

import torch

from nnscratch.module import Module


class Sequential(Module):
    """Layers applied in order (``nn.Sequential``); parameter names ``"0.weight"``, ``"2.bias"``...

    Args:
        layers: the modules, applied in order.
    """

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


class Flatten(Module):
    """``nn.Flatten(start_dim=1, end_dim=-1)``: dims ``start_dim..end_dim`` merged into one.

    (N, C, H, W) -> (N, C·H·W) with the defaults: the bridge from convolutions to a `Linear`.
    A view where the memory allows it (``torch.flatten``), so it costs nothing.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(self.start_dim, self.end_dim)  # (N, C, H, W) -> (N, C·H·W)

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"
