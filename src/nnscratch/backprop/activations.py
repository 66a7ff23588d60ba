"""Derivatives of the activations, by hand.  Replace the activations' ``grad_fn`` in ``backward()``.

Back-propagating through h = act(z), element-wise, is one product:  ∂L/∂z = ∂L/∂h ⊙ act'(z).
Each derivative is written in terms of whatever is cheapest to hand: z (the input) or h = act(z)
(the output the forward pass already computed).

    relu      relu'(z)    = 1 if z > 0 else 0          (0 at the kink z = 0: PyTorch's choice)
    tanh      tanh'(z)    = 1 − h²
    sigmoid   σ'(z)       = h·(1 − h)
    gelu      GELU'(z)    = Φ(z) + z·φ(z),   φ(z) = e^(−z²/2) / √(2π)   (exact GELU, not 'tanh')

GELU's product rule: GELU(z) = z·Φ(z) and Φ' = φ, the standard normal density.
"""

from __future__ import annotations

import math

import torch

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)


def relu_backward(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g ⊙ [z > 0]: written as "0 where z ≤ 0", so a NaN in z lets g through, as in PyTorch."""
    return g.masked_fill_(z <= 0, 0.0)


def tanh_backward(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g ⊙ (1 − h²)."""
    return g.mul_(1.0 - h * h)


def sigmoid_backward(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g ⊙ h·(1 − h)."""
    return g.mul_(h * (1.0 - h))


def gelu_backward(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g ⊙ (Φ(z) + z·φ(z)),  Φ(z) = ½·erfc(−z/√2)  (the form `nnscratch.functional.gelu` uses)."""
    Phi = 0.5 * torch.erfc(-z * INV_SQRT_2)  # Φ(z)
    phi = torch.exp(-0.5 * z * z) * INV_SQRT_2PI  # φ(z)
    return g.mul_(Phi + z * phi)


def relu_backward_fast(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`relu_backward` in one kernel, out of place (``threshold_backward``: g where z > 0,
    else 0, the same rule); the plain form needs a copy of g and a mask first."""
    return torch.ops.aten.threshold_backward(g, z, 0)


def gelu_backward_fast(g: torch.Tensor, z: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
    """`gelu_backward` in one kernel (the op behind exact GELU's own backward, the same
    Φ(z) + z·φ(z)); the plain form takes six. Tested equal to it; out of place."""
    return torch.ops.aten.gelu_backward(g, z)


# act'(z) by activation name (the names of `nnscratch.layers.ACTIVATIONS`). Each function
# multiplies the incoming gradient g = ∂L/∂h *in place* (g is always a fresh tensor of ours).
DERIVATIVES = {
    "relu": relu_backward,
    "tanh": tanh_backward,
    "sigmoid": sigmoid_backward,
    "gelu": gelu_backward,
}
