"""AdamW: Adam with decoupled weight decay.  Replaces ``torch.optim.AdamW``.

The algorithm box and its conventions are `AdamW`'s docstring: ``help(nnscratch.optim.AdamW)``.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.optim.adam import Adam
from nnscratch.optim.optimizer import ParamsT


class AdamW(Adam):
    """Adam with decoupled weight decay.  ≙ ``torch.optim.AdamW``.

    ────────────────────────────────────────────────────────────────────────────────────────
    input:       lr, β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay),
                 ε (eps), amsgrad, maximize
    initialize:  m₀ ← 0 (first moment), v₀ ← 0 (second moment), v̂₀ ← 0
    ────────────────────────────────────────────────────────────────────────────────────────
    for t = 1 to ... do
        g ← ∇f(θ_{t−1})
        g ← −g                                    if maximize
        θ_{t−1} ← θ_{t−1} − lr·λ·θ_{t−1}          decoupled decay: on θ, not on g
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        v̂ ← max(v̂, v)                             if amsgrad
        θ_t ← θ_{t−1} − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)      (√v̂ if amsgrad)
    return θ_t
    ────────────────────────────────────────────────────────────────────────────────────────

    Everything but the decay line is `Adam` (see there for bias correction and where ε goes).

    Convention notes:
      * Decoupled decay (Loshchilov & Hutter). In `Adam`, ``weight_decay`` adds λ·p to g, so the
        decay passes through m and is divided by √v: parameters with large gradients are barely
        decayed. Here p shrinks by the same factor (1 − lr·λ) whatever its gradient; for plain SGD
        the two are the same thing, for Adam they are not.
      * The decay is scaled by lr (as in PyTorch; the paper scales it by the schedule multiplier
        only), so a scheduler that lowers lr also lowers the decay.
      * The default ``weight_decay`` is 1e-2 here and 0 in `Adam`.
      * The decay uses p *before* this step's Adam update (g was computed at that p anyway).

    Args:
        params: parameters (an iterable of tensors) or parameter groups (dicts with "params").
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)); floats or one-element tensors.
        eps: ε (default 1e-8).
        weight_decay: λ, decoupled decay (default 1e-2, where `Adam`'s is 0).
        amsgrad: use the largest v seen so far (default False).
        maximize: maximize f instead of minimizing it (default False).

    Example:
        >>> optimizer = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        >>> loss_fn(model(X), y).backward()
        >>> optimizer.step(); optimizer.zero_grad()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

    def _decay(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        """Decoupled decay: ``p ← p − lr·λ·p`` in place (written ``p·(1 − lr·λ)``); g unchanged."""
        wd = group["weight_decay"]
        if wd != 0:
            p.mul_(1 - group["lr"] * wd)
        return g
