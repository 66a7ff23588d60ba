"""Stochastic gradient descent.  Replaces ``torch.optim.SGD``.

The seed's update, for each parameter p with gradient g:

    with torch.no_grad():
        p -= lr * p.grad

with ``torch.optim.SGD``'s options (same names, defaults and order of operations): the
algorithm box is `SGD`'s docstring (``help(nnscratch.optim.SGD)``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.optim.optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.  ≙ ``torch.optim.SGD``.

    ────────────────────────────────────────────────────────────────────────────────────────
    input:       lr, θ₀ (params), f(θ) (objective), λ (weight_decay), μ (momentum),
                 τ (dampening), nesterov, maximize
    ────────────────────────────────────────────────────────────────────────────────────────
    for t = 1 to ... do
        g ← ∇f(θ_{t−1})
        g ← −g                                    if maximize
        g ← g + λ·θ_{t−1}                         if λ ≠ 0     (L2 penalty added to g)
        if μ ≠ 0:
            b ← g                                 if t = 1     (the buffer starts at g, undamped)
            b ← μ·b + (1 − τ)·g                   if t > 1
            g ← g + μ·b  if nesterov,  else  g ← b
        θ_t ← θ_{t−1} − lr·g                      the seed's ``p -= lr * p.grad``
    return θ_t
    ────────────────────────────────────────────────────────────────────────────────────────

    The last line is the seed's ``p -= lr * p.grad``, written as torch.optim.SGD writes it,
    ``p.add_(g, alpha=-lr)``: one kernel, and ``lr·g`` is not rounded to the dtype on its own, so
    even float32 results equal PyTorch's bit for bit (the seed's form can differ in the last bit).
    The other lines use PyTorch's tensor ops too.

    Convention note: some texts write momentum as ``v ← μ·v + lr·g; p ← p − v`` (lr inside
    the buffer). The two agree for a constant lr but differ when a scheduler changes lr;
    PyTorch (and this class) keep lr outside.

    Args:
        params: parameters (an iterable of tensors) or parameter groups (dicts with "params").
        lr: learning rate (default 1e-3).
        momentum: μ (default 0).
        dampening: τ, dampening for momentum (default 0).
        weight_decay: λ, L2 penalty (default 0).
        nesterov: Nesterov momentum (default False; needs μ > 0 and τ = 0).
        maximize: maximize f instead of minimizing it (default False).

    Example:
        >>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> loss_fn(model(X), y).backward()
        >>> optimizer.step(); optimizer.zero_grad()
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if maximize else p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)  # g + λ·p
                if mu != 0:
                    state = self.state.setdefault(p, {})
                    b = state.get("momentum_buffer")
                    if b is None:
                        b = state["momentum_buffer"] = g.clone()  # b ← g
                    else:
                        b.mul_(mu).add_(g, alpha=1 - tau)  # b ← μ·b + (1 − τ)·g
                    g = g.add(b, alpha=mu) if nesterov else b  # g + μ·b  or  b
                p.add_(g, alpha=-lr)  # p ← p − lr·g, in place (one kernel; p stays the same leaf)
        return loss
