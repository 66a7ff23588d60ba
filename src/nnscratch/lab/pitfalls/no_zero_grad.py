"""Pitfall: forgetting the gradient reset (``optimizer.zero_grad()``).

``loss.backward()`` *adds* into ``p.grad``; it never overwrites it. Without a reset the gradient
used at step t is the sum of all gradients so far:

    p.grad_t = g₁ + g₂ + … + g_t            p ← p − lr·p.grad_t

That is SGD with momentum μ = 1 and no dampening (``torch.optim.SGD(momentum=1)`` gives the same
numbers: see the tests and ``nnscratch verify``): a ball rolling without friction. The gradient
keeps growing after the minimum is passed, the parameters overshoot and swing, and the loss
bounces instead of settling.

Fix: reset after every update, ``optimizer.zero_grad()`` (or ``p.grad = None`` for each p).
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, params, problem, value
from nnscratch.losses import mse_loss

STEPS = 20


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    seen.update(w0=value(w), b0=value(b), loss=[], grad_w=[], w=[])
    for _ in range(STEPS):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()  # adds this step's gradient to whatever w.grad already holds
        seen["loss"].append(loss.item())
        seen["grad_w"].append(w.grad.item())
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        seen["w"].append(w.item())
        # missing: w.grad = None; b.grad = None


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    seen.update(w0=value(w), b0=value(b), loss=[], grad_w=[], w=[])
    for _ in range(STEPS):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()  # w.grad is this step's gradient only
        seen["loss"].append(loss.item())
        seen["grad_w"].append(w.grad.item())
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        seen["w"].append(w.item())
        w.grad = None  # the reset (optimizer.zero_grad())
        b.grad = None


ORDER = 10  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="no-zero-grad",
    summary="forgetting the gradient reset: backward() adds into .grad, steps use the sum",
    symptom="grad_w keeps the sum of all past gradients; the loss swings instead of settling",
    fix="call optimizer.zero_grad() (or set p.grad = None) once per step, after the update",
    broken=broken,
    correct=correct,
)
