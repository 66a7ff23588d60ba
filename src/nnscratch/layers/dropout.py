"""Dropout.  ``Dropout`` replaces ``nn.Dropout``.

In training, each element is zeroed with probability p and the survivors are scaled by
1/(1 − p) ("inverted" dropout), so the expected output equals the input and evaluation needs no
rescaling:

    m ~ Bernoulli(1 − p) element-wise,     y = x ⊙ m / (1 − p)          (training)
    y = x                                                               (eval: ``model.eval()``)

The mask is drawn exactly as PyTorch draws it on the CPU (``empty_like(x).bernoulli_(1 − p)``,
then ``÷ (1 − p)``, then ``x ·``), from the same generator, in the same order; so after the same
``torch.manual_seed`` the mask *and* the output equal ``nn.Dropout``'s bit for bit (tested).
On CUDA PyTorch uses a fused kernel with its own random stream: there only the statistics agree.
p = 1 gives zeros without drawing (as in PyTorch); p = 0 returns x.
"""

from __future__ import annotations

import torch

from nnscratch.module import Module


def dropout(
    x: torch.Tensor, p: float, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """x ⊙ m / (1 − p), m ~ Bernoulli(1 − p); x itself when not training or p = 0."""
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if p == 1.0:
        return x * torch.zeros((), dtype=x.dtype, device=x.device)
    scaled_mask = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)  # m ∈ {0, 1}
    scaled_mask.div_(1.0 - p)  # m / (1 − p)
    return x * scaled_mask


class Dropout(Module):
    """``nn.Dropout(p=0.5)`` by hand: inverted dropout in training, identity in eval.

    Example:
        >>> drop = Dropout(0.2)
        >>> drop.eval()(torch.ones(3)).tolist()
        [1.0, 1.0, 1.0]

    Args:
        p: probability that an element is zeroed in training (default 0.5).
        generator: the ``torch.Generator`` that draws the masks (default None: the global RNG, as
            ``nn.Dropout``).
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.generator)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
