"""Layers.  ``Linear`` replaces ``torch.nn.Linear``.

    y = x Wᵀ + b        x: (N, in_features)   W: (out_features, in_features)   b: (out_features,)

Parameters are plain leaf tensors with ``requires_grad=True``, initialised by `nnscratch.init.linear_`
exactly as ``nn.Linear`` initialises its own, so the same seed gives the same numbers.
"""

from __future__ import annotations

import torch

from nnscratch import init
from nnscratch.module import Module, parameter


class Linear(Module):
    """``nn.Linear(in_features, out_features, bias=True, device=None, dtype=None)`` by hand."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs in_features >= 1 and out_features >= 1, "
                f"got ({in_features}, {out_features})"
            )
        self.in_features = in_features
        self.out_features = out_features
        kw = {"device": device, "dtype": dtype}
        weight = torch.empty(out_features, in_features, **kw)  # (out, in)
        b = torch.empty(out_features, **kw) if bias else None  # (out,)
        init.linear_(weight, b, generator)
        # requires_grad is switched on *after* the init, so both stay leaves (see `pitfalls`).
        self.weight = parameter(weight)
        self.bias = parameter(b) if b is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return x @ self.weight.T  # (N, in) @ (in, out) -> (N, out)
        # x @ W.T + b in one fused kernel (as nn.Linear does): b + x·Wᵀ, b broadcast over N
        return torch.addmm(self.bias, x, self.weight.T)  # (N, out)


class Activation(Module):
    """An element-wise function as a layer (``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``, ``nn.GELU``)."""

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


class Sequential(Module):
    """Layers applied in order (``nn.Sequential``); parameter names ``"0.weight"``, ``"2.bias"``..."""

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
