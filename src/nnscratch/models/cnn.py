"""A small convolutional network for images, equal to the matching ``nn.Sequential``.

    x (N, C·H·W)  ──view──▶  (N, C, H, W)                                   nn.Unflatten(1, (C, H, W))
    for each c_k in channels:
        Conv2d(c_{k−1}, c_k, 3, padding=1)   (N, c_k, H_k, W_k)    3×3 filters, size kept, no bias*
        BatchNorm2d(c_k)                     (N, c_k, H_k, W_k)    per-channel batch statistics
        ReLU                                 (N, c_k, H_k, W_k)
        MaxPool2d(2)                         (N, c_k, H_k/2, W_k/2)  ⌊·⌋ for odd sizes
    Flatten                                  (N, c_last·H_L·W_L)
    Dropout(p)                               identity in eval mode (and when p = 0)
    Linear(c_last·H_L·W_L, out)              (N, out) logits

* A bias before batch norm is subtracted out again with the batch mean: its gradient is 0 (in
floating point ~1e-17, which Adam's g/√v would blow up into steps of ±lr), so the convolutions
have none (``bias=False``, as PyTorch code writes it); batch norm's β is the bias.

A run keeps images as rows of pixels (`nnscratch.data.images`), so the first layer undoes the
flattening; a (N, C, H, W) tensor passes through it unchanged. The parameter names (``"1.weight"``,
``"2.running_mean"``, ...) and the initial numbers are those of the ``nn.Sequential`` built from
the same layers in the same order from the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnscratch.layers import (
    Activation,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    Sequential,
)
from nnscratch.module import Module


class Unflatten(Module):
    """``nn.Unflatten(1, shape)``: rows (N, C·H·W) viewed as (N, C, H, W); images pass as they are."""

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x.view(x.shape[0], *self.shape)  # (N, C·H·W) → (N, C, H, W)
        return x  # (N, C, H, W)

    def __repr__(self) -> str:
        return f"Unflatten(dim=1, unflattened_size={self.shape})"


def pooled_size(size: int, blocks: int) -> int:
    """H (or W) after ``blocks`` 2×2 max-pools: halved and floored each time."""
    for _ in range(blocks):
        size //= 2
    return size


class CNN(Sequential):
    """Conv → BatchNorm → ReLU → MaxPool blocks, then Flatten → Dropout → Linear.

    Args:
        in_shape: (C, H, W) of one image; H and W must survive ``len(channels)`` halvings.
        channels: output channels of each block, e.g. ``(32, 64)``.
        out_features: number of logits (classes; 1 for binary with BCE).
        dropout: dropout probability before the last layer (0: none).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).

    Example::

        model = CNN((1, 8, 8), (32, 64), 10)     # digits: logits (N, 10)
        logits = model(x)                        # x (N, 64) or (N, 1, 8, 8)
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        channels: Sequence[int],
        out_features: int,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        C, H, W = in_shape
        if min(H, W) < 2 ** len(channels):
            raise ValueError(
                f"{H}×{W} images are too small for {len(channels)} 2×2 poolings "
                f"(at least {2 ** len(channels)}×{2 ** len(channels)} needed)"
            )
        kw = {"device": device, "dtype": dtype}
        layers: list[Module] = [Unflatten(in_shape)]
        for c_in, c_out in zip([C, *channels[:-1]], channels, strict=True):
            layers += [
                Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False, **kw),
                BatchNorm2d(c_out, **kw),
                Activation("relu"),
                MaxPool2d(2),
            ]
        flat = channels[-1] * pooled_size(H, len(channels)) * pooled_size(W, len(channels))
        layers += [Flatten(), Dropout(dropout), Linear(flat, out_features, **kw)]
        super().__init__(*layers)
        self.in_shape, self.channels = list(in_shape), list(channels)
        self.out_features, self.dropout = out_features, dropout
