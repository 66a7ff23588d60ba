"""Parameter initialisation, by hand.  Replaces ``torch.nn.init`` (and the layers' ``reset_parameters``).

``nn.Linear(in_features, out_features)`` initialises its parameters as

    weight ~ U(-bound, bound),   bound = sqrt(3) · gain / sqrt(fan_in),  gain = sqrt(2 / (1 + a²)), a = √5
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

which, with a = √5, is U(-1/√fan_in, 1/√fan_in) for both. The bounds are computed here with the
*same floating-point expression* PyTorch uses, and the draws happen in the same order (weight,
then bias), so after the same ``torch.manual_seed`` both libraries hold bit-identical numbers.

For a weight of shape (out, in, k₁, k₂, …) (a convolution's), fan_in = in·k₁·k₂·… and
fan_out = out·k₁·k₂·…: every input a unit sees.  ``nn.Conv2d`` initialises exactly as
``nn.Linear`` does with that fan_in (`conv_`).  The other layers draw:

    nn.Embedding            weight ~ N(0, 1)                                        (`normal_`)
    nn.MultiheadAttention   in_proj_weight ~ U(−a, a),  a = √3·√(2 / (fan_in + fan_out))
                            (Xavier/Glorot, `xavier_uniform_`); biases 0
    nn.LayerNorm / BatchNorm   weight = 1, bias = 0                                  (no draw)
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


def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fill ``tensor`` in place with draws from N(mean, std²) (``nn.init.normal_``)."""
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, k₁, …): in·k₁·…, out·k₁·… (as torch computes them)."""
    receptive_field = math.prod(tensor.shape[2:])  # 1 for a Linear's (out, in)
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def kaiming_uniform_(
    tensor: torch.Tensor, a: float = 0.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """He-uniform init for a ``(fan_out, fan_in, …)`` weight, leaky-ReLU gain (``nn.init.kaiming_uniform_``)."""
    fan_in, _ = fans(tensor)
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
        fan_in, _ = fans(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator)


def conv_(
    weight: torch.Tensor, bias: torch.Tensor | None, generator: torch.Generator | None = None
) -> None:
    """``nn.Conv2d``'s init for weight (out, in/groups, kH, kW): `linear_` with fan_in = in/groups·kH·kW."""
    linear_(weight, bias, generator)


def xavier_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """U(−a, a), a = gain·√(6 / (fan_in + fan_out)) (``nn.init.xavier_uniform_``)."""
    fan_in, fan_out = fans(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)
