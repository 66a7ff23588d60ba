"""Stochastic gradient descent.  Replaces ``torch.optim.SGD``.

The seed's update, for each parameter p with gradient g:

    with torch.no_grad():
        p -= lr * p.grad

With the options of ``torch.optim.SGD`` (same names, same defaults, same order of operations):

    g ← −g                              if maximize
    g ← g + λ·p                         if weight_decay λ ≠ 0     (L2 penalty added to the gradient)
    if momentum μ ≠ 0:
        b ← g                           on the first step          (PyTorch's convention: the buffer
        b ← μ·b + (1 − τ)·g             afterwards, τ = dampening   starts at g, undamped)
        g ← g + μ·b   if nesterov  else  g ← b
    p ← p − lr·g

The last line keeps the seed's form ``p -= lr * g``; PyTorch writes ``p.add_(g, alpha=-lr)``,
which does not round ``lr * g`` to the dtype first, so float32 results differ from PyTorch's in
the last bits (float64: ~1e-16). The other lines use PyTorch's tensor ops (``g.add(p, alpha=λ)``).

Convention note: some texts write momentum as ``v ← μ·v + lr·g; p ← p − v`` (lr inside the
buffer). The two agree for a constant lr but differ when a scheduler changes lr; PyTorch (and this
class) keep lr outside.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.optim.optimizer import Optimizer, ParamsT


class SGD(Optimizer):
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
