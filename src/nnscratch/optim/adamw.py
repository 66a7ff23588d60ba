"""AdamW: Adam with decoupled weight decay.  Replaces ``torch.optim.AdamW``.

For each parameter p with gradient g, at step t = 1, 2, ... (``torch.optim.AdamW``'s order):

    g ← −g                                  if maximize
    p ← p − lr·λ·p                          decoupled weight decay λ (applied to p, not to g)
    m ← β₁·m + (1 − β₁)·g
    v ← β₂·v + (1 − β₂)·g²
    v̂ ← max(v̂, v)                           if amsgrad
    p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)          (√v̂ instead of √v if amsgrad)

Everything but the second line is `Adam` (see there for bias correction and where ε goes).

Convention notes:
  * Decoupled decay (Loshchilov & Hutter). In `Adam`, ``weight_decay`` adds λ·p to g, so the
    decay passes through m and is divided by √v: parameters with large gradients are barely
    decayed. Here p shrinks by the same factor (1 − lr·λ) whatever its gradient; for plain SGD
    the two are the same thing, for Adam they are not.
  * The decay is scaled by lr (as in PyTorch; the paper scales it by the schedule multiplier
    only), so a scheduler that lowers lr also lowers the decay.
  * The default ``weight_decay`` is 1e-2 here and 0 in `Adam`.
  * The decay uses p *before* this step's Adam update (g was computed at that p anyway).
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.optim.adam import Adam
from nnscratch.optim.optimizer import ParamsT


class AdamW(Adam):
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
