"""The affine layer.  ``Linear`` replaces ``torch.nn.Linear``.

    y = x Wᵀ + b        x: (N, in_features) or (..., in_features)   W: (out_features, in_features)   b: (out_features,)

Parameters are plain leaf tensors with ``requires_grad=True``, initialised by `nnscratch.init.linear_`
exactly as ``nn.Linear`` initialises its own, so the same seed gives the same numbers.
"""

from __future__ import annotations

import torch

from nnscratch import init
from nnscratch.module import Module, parameter


class Linear(Module):
    """``nn.Linear(in_features, out_features, bias=True, device=None, dtype=None)`` by hand.

    Args:
        in_features: input features F.
        out_features: outputs O.
        bias: with an additive bias (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        generator: the ``torch.Generator`` the initial values are drawn from (default None: the
            global RNG, as in torch.nn).
    """

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
            return x @ self.weight.T  # (..., in) @ (in, out) -> (..., out)
        if x.dim() != 2:
            return x @ self.weight.T + self.bias  # (..., out): e.g. (B, T, out) for a sequence
        # x @ W.T + b in one fused kernel (as nn.Linear does): b + x·Wᵀ, b broadcast over N
        return torch.addmm(self.bias, x, self.weight.T)  # (N, out)
