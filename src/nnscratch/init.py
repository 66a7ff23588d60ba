"""Parameter initialisation, by hand.  Replaces ``torch.nn.init`` (and ``nn.Linear.reset_parameters``).

``nn.Linear(in_features, out_features)`` initialises its parameters as

    weight ~ U(-bound, bound),   bound = sqrt(3) · gain / sqrt(fan_in),  gain = sqrt(2 / (1 + a²)), a = √5
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

which, with a = √5, is U(-1/√fan_in, 1/√fan_in) for both. The bounds are computed here with the
*same floating-point expression* PyTorch uses, and the draws happen in the same order (weight,
then bias), so after the same ``torch.manual_seed`` both libraries hold bit-identical numbers.
"""

from __future__ import annotations

import math

import torch


def uniform_(
    tensor: torch.Tensor, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill ``tensor`` in place with draws from U(a, b), outside autograd (``nn.init.uniform_``)."""
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def kaiming_uniform_(
    tensor: torch.Tensor, a: float = 0.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """He-uniform init for a ``(fan_out, fan_in)`` weight, leaky-ReLU gain (``nn.init.kaiming_uniform_``)."""
    fan_in = tensor.shape[1]
    gain = math.sqrt(2.0 / (1 + a**2))
    std = gain / math.sqrt(fan_in)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def linear_(
    weight: torch.Tensor, bias: torch.Tensor | None, generator: torch.Generator | None = None
) -> None:
    """Initialise a linear layer's ``weight`` (out, in) and ``bias`` (out,) as ``nn.Linear`` does."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in = weight.shape[1]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator)
