"""Normalization layers.  ``LayerNorm`` replaces ``nn.LayerNorm``; ``BatchNorm1d`` and
``BatchNorm2d`` replace ``nn.BatchNorm1d`` and ``nn.BatchNorm2d``.

Both standardize, then scale and shift with learned γ (``weight``, starts at 1) and β (``bias``,
starts at 0):

    x̂ = (x − μ) / √(σ² + ε),      y = γ ⊙ x̂ + β,        σ² the *biased* variance (÷ n)

They differ only in what μ and σ² average over:

    LayerNorm    each sample over its last dims (``normalized_shape``): no batch statistics, so
                 training and evaluation compute the same thing.
    BatchNorm    each channel over the batch (and the spatial positions): (N, C) / (N, C, L) for
                 1d, (N, C, H, W) for 2d.  In training it uses the batch's statistics and updates
                 running estimates; in eval (``model.eval()``) it uses the running estimates:

                     running_mean ← (1 − m)·running_mean + m·μ_B
                     running_var  ← (1 − m)·running_var  + m·σ²_B · n/(n − 1)   (unbiased!)
                     num_batches_tracked ← num_batches_tracked + 1

                 m = ``momentum`` (0.1; PyTorch's m is 1 − the "momentum" of other libraries);
                 ``momentum=None`` makes it a plain average over all batches seen, m = 1/t.
                 Normalization itself always uses the biased σ²_B: the two variances differ, and
                 that is PyTorch's convention, not a bug.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnscratch.module import Module, parameter


class LayerNorm(Module):
    """``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`` by hand.

    x (..., *normalized_shape);  μ, σ² over the last ``len(normalized_shape)`` dims.

    Example:
        >>> ln = LayerNorm(16)
        >>> ln(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        kw = {"device": device, "dtype": dtype}
        affine = elementwise_affine
        self.weight = parameter(torch.ones(shape, **kw)) if affine else None  # γ
        self.bias = parameter(torch.zeros(shape, **kw)) if affine and bias else None  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(-len(self.normalized_shape), 0))  # the last dims
        mu = x.mean(dim=dims, keepdim=True)  # (..., 1)
        var = (x - mu).square().mean(dim=dims, keepdim=True)  # (..., 1) biased σ²
        x_hat = (x - mu) / torch.sqrt(var + self.eps)  # (..., *shape)
        if self.weight is not None:
            x_hat = x_hat * self.weight
        if self.bias is not None:
            x_hat = x_hat + self.bias
        return x_hat

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"
