"""Adam.  Replaces ``torch.optim.Adam``.

The algorithm box and its conventions (bias correction, where ε goes, L2 penalty vs decoupled
decay) are `Adam`'s docstring: ``help(nnscratch.optim.Adam)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.optim.optimizer import Optimizer, ParamsT


def check_betas(betas: tuple[Any, Any]) -> tuple[Any, Any]:
    """``torch.optim.Adam``'s rule: (β₁, β₂) both numbers or both one-element tensors (of any
    shape and dtype; kept as 0-dim tensors, as ``torch.optim`` keeps them), each in [0, 1)."""
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    tensors = [isinstance(b, torch.Tensor) for b in betas]
    if tensors[0] != tensors[1]:
        raise ValueError("betas must be either both floats or both Tensors")
    for i, b in enumerate(betas):
        if tensors[i] and b.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element, got shape {tuple(b.shape)}")
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
    return tuple(b.squeeze() if tensors[i] else b for i, b in enumerate(betas))


class Adam(Optimizer):
    """Adam: adaptive moment estimation.  ≙ ``torch.optim.Adam``.

    ────────────────────────────────────────────────────────────────────────────────────────
    input:       lr, β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay),
                 ε (eps), amsgrad, maximize
    initialize:  m₀ ← 0 (first moment), v₀ ← 0 (second moment), v̂₀ ← 0
    ────────────────────────────────────────────────────────────────────────────────────────
    for t = 1 to ... do
        g ← ∇f(θ_{t−1})
        g ← −g                                    if maximize
        g ← g + λ·θ_{t−1}                         if λ ≠ 0     (L2 penalty added to g)
        m ← β₁·m + (1 − β₁)·g                     first moment
        v ← β₂·v + (1 − β₂)·g²                    second moment (g² element-wise)
        v̂ ← max(v̂, v)                             if amsgrad  (the largest v so far)
        θ_t ← θ_{t−1} − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)      (√v̂ if amsgrad)
    return θ_t
    ────────────────────────────────────────────────────────────────────────────────────────

    The same names, defaults and order of operations as ``torch.optim.Adam``'s single-tensor
    path, so float32 results match it bit for bit.

    Convention notes:
      * Bias correction. m and v start at zero, so early on they underestimate the moments by the
        factors (1 − β₁ᵗ) and (1 − β₂ᵗ); the last line divides them out. It is folded into the step
        size and the denominator rather than written as m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ); the two
        forms differ only in where ε sits: here ε is added to √v/√(1 − β₂ᵗ) = √v̂, i.e. *outside*
        the square root and *after* bias correction, as in the Adam paper's algorithm. (Keras folds
        √(1 − β₂ᵗ) into the step size and adds ε to the uncorrected √v: the same ε acts ~√(1 − β₂ᵗ)
        times larger there early in training.)
      * ``weight_decay`` here is an L2 penalty: λ·p joins g *before* the moments, so it is rescaled
        by 1/√v like the gradient. Decay applied to p directly is `AdamW`, a separate class.
      * Each line uses the tensor op PyTorch uses (``add(alpha=)``, ``addcmul``, ``addcdiv``), the
        math in a comment beside it, so that even float32 results match bit for bit. One needs a
        word: m ← β₁·m + (1 − β₁)·g is computed as ``m.lerp_(g, 1 − β₁)`` = m + (1 − β₁)·(g − m), equal in
        exact arithmetic, different in the last bit of a float.

    Args:
        params: parameters (an iterable of tensors) or parameter groups (dicts with "params").
        lr: learning rate (default 1e-3).
        betas: (β₁, β₂), decay rates of the two moments (default (0.9, 0.999)); floats or
            one-element tensors.
        eps: ε, added to the denominator (default 1e-8).
        weight_decay: λ, L2 penalty added to g (default 0; decoupled decay is `AdamW`).
        amsgrad: use the largest v seen so far (default False).
        maximize: maximize f instead of minimizing it (default False).

    Example:
        >>> optimizer = Adam(model.parameters(), lr=1e-3)
        >>> loss_fn(model(X), y).backward()
        >>> optimizer.step(); optimizer.zero_grad()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _decay(self, p: torch.Tensor, g: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        """Adam's weight decay: the L2 penalty's gradient λ·p added to g (AdamW overrides this)."""
        wd = group["weight_decay"]
        return g.add(p, alpha=wd) if wd != 0 else g  # g + λ·p

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)  # m, shape of p
                    state["exp_avg_sq"] = torch.zeros_like(p)  # v, shape of p
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)  # v̂, shape of p
                m, v = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                t = state["step"]

                g = -p.grad if group["maximize"] else p.grad
                g = self._decay(p, g, group)
                b1 = beta1.to(p) if isinstance(beta1, torch.Tensor) else beta1  # as torch casts it
                m.lerp_(g, 1 - b1)  # m ← β₁·m + (1 − β₁)·g
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v ← β₂·v + (1 − β₂)·g²
                if group["amsgrad"]:
                    v_hat = state["max_exp_avg_sq"]
                    torch.maximum(v_hat, v, out=v_hat)  # v̂ ← max(v̂, v)
                    v = v_hat
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                step_size = lr / bias_correction1
                # √v/√(1 − β₂ᵗ) + ε, in one buffer (torch writes v.sqrt() / √(1 − β₂ᵗ): a second)
                denom = v.sqrt().div_(bias_correction2**0.5).add_(eps)
                p.addcdiv_(m, denom, value=-step_size)  # p ← p − step_size · m / denom
        return loss
