"""RMSprop.  Replaces ``torch.optim.RMSprop``.

The algorithm box and its conventions (no bias correction, where ε goes, the momentum buffer)
are `RMSprop`'s docstring: ``help(nnscratch.optim.RMSprop)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.optim.optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square.  ≙ ``torch.optim.RMSprop``.

    ────────────────────────────────────────────────────────────────────────────────────────
    input:       lr, α (alpha), ε (eps), θ₀ (params), f(θ) (objective), λ (weight_decay),
                 μ (momentum), centered, maximize
    initialize:  v₀ ← 0 (square average), b₀ ← 0 (buffer), ḡ₀ ← 0 (mean of g)
    ────────────────────────────────────────────────────────────────────────────────────────
    for t = 1 to ... do
        g ← ∇f(θ_{t−1})
        g ← −g                                    if maximize
        g ← g + λ·θ_{t−1}                         if λ ≠ 0     (L2 penalty added to g)
        v ← α·v + (1 − α)·g²                      running mean of g² (element-wise)
        if centered:
            ḡ ← α·ḡ + (1 − α)·g                   running mean of g
            d ← √(v − ḡ²) + ε                     ≈ standard deviation of g
        else:
            d ← √v + ε                            ≈ root mean square of g
        if μ > 0:
            b ← μ·b + g / d
            θ_t ← θ_{t−1} − lr·b
        else:
            θ_t ← θ_{t−1} − lr·g / d
    return θ_t
    ────────────────────────────────────────────────────────────────────────────────────────

    The same names, defaults and order of operations as ``torch.optim.RMSprop``'s single-tensor
    path.

    Convention notes:
      * No bias correction (unlike `Adam`): v starts at 0, so the first steps are large, about
        lr/√(1 − α) ≈ 10·lr per coordinate for α = 0.99.
      * ε is added *outside* the square root; TensorFlow/Keras add it inside, √(v + ε), and
        Hinton's lecture slides leave it out. PyTorch's default α is 0.99; Hinton and Keras use 0.9.
      * The momentum buffer starts at 0 and accumulates the *normalised* step g/d, with lr outside;
        contrast `SGD`, whose buffer starts at the first gradient.
      * Each line uses the tensor op PyTorch uses, so even float32 results match bit for bit;
        ḡ's update is computed as ``ḡ.lerp_(g, 1 − α)`` = ḡ + (1 − α)·(g − ḡ), equal in exact
        arithmetic.
      * Centered RMSprop (Graves, 2013) divides by an estimate of the standard deviation instead of
        the root mean square.

    Args:
        params: parameters (an iterable of tensors) or parameter groups (dicts with "params").
        lr: learning rate (default 1e-2).
        alpha: α, smoothing constant of the running means (default 0.99).
        eps: ε, added outside the square root (default 1e-8).
        weight_decay: λ, L2 penalty (default 0).
        momentum: μ (default 0).
        centered: divide by the estimated standard deviation instead of the RMS (default False).
        maximize: maximize f instead of minimizing it (default False).

    Example:
        >>> optimizer = RMSprop(model.parameters(), lr=1e-2)
        >>> loss_fn(model(X), y).backward()
        >>> optimizer.step(); optimizer.zero_grad()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mu = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)  # v, shape of p
                    if mu > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)  # b, shape of p
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p)  # ḡ, shape of p
                state["step"] += 1  # not used by the rule; kept for torch.optim's state format

                g = -p.grad if group["maximize"] else p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)  # g + λ·p
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v ← α·v + (1 − α)·g²
                if group["centered"]:
                    g_avg = state["grad_avg"]
                    g_avg.lerp_(g, 1 - alpha)  # ḡ ← α·ḡ + (1 − α)·g
                    d = v.addcmul(g_avg, g_avg, value=-1).sqrt() + eps  # √(v − ḡ²) + ε
                else:
                    d = v.sqrt() + eps  # √v + ε
                if mu > 0:
                    b = state["momentum_buffer"]
                    b.mul_(mu).addcdiv_(g, d)  # b ← μ·b + g/d
                    p.add_(b, alpha=-lr)  # p ← p − lr·b
                else:
                    p.addcdiv_(g, d, value=-lr)  # p ← p − lr·g/d
        return loss
