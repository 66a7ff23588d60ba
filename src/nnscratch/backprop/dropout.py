"""Hand-derived backward of `Dropout`.

    y = x ⊙ m / (1 − p)        ∂L/∂x = dy ⊙ m / (1 − p)

The same scaled mask, kept from the forward: dropout is linear in x, with a random diagonal.
The forward rule draws the mask exactly as the layer does (`layers.dropout.dropout`), from the
same generator, so with the same seed the hand-derived run drops the same units as autograd's.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.layers import Dropout

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def dropout_forward(layer: Dropout, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """y = x ⊙ m/(1 − p);  keeps m/(1 − p) (None when dropout is the identity)."""
    p = layer.p
    if not layer.training or p == 0.0 or x.numel() == 0:
        return x, None
    if p == 1.0:
        scaled_mask = torch.zeros((), dtype=x.dtype, device=x.device)
    else:
        scaled_mask = torch.empty_like(x).bernoulli_(1.0 - p, generator=layer.generator)
        scaled_mask.div_(1.0 - p)  # m / (1 − p)
    return x * scaled_mask, scaled_mask


def dropout_backward(
    layer: Dropout, scaled_mask: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    if not need_dx:
        return None
    return dy if scaled_mask is None else dy * scaled_mask
