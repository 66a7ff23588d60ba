"""Pitfall: dividing by the batch size twice.

``mse_loss`` (like ``nn.MSELoss``) already averages: L = (1/N) Σᵢ (ŷᵢ − yᵢ)², so ∂L/∂p is a mean
over the batch. An update written as ``p -= lr * p.grad / N`` divides a second time:

    p ← p − (lr/N)·∂L/∂p        the same as SGD with learning rate lr/N

(``torch.optim.SGD(lr=lr/N)`` gives the same numbers: see the tests and ``nnscratch verify``). No
error, no warning: training is just N times slower, and changes with the batch size.

Fix: divide once. Either a mean loss and ``p -= lr * p.grad`` (PyTorch's convention), or a summed
loss (``reduction='sum'``) and ``p -= lr / N * p.grad``.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, params, problem, value
from nnscratch.losses import mse_loss

STEPS = 20


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    N = X.shape[0]
    w, b = params()
    seen.update(N=N, w0=value(w), b0=value(b), loss=[], w=[])
    for _ in range(STEPS):
        loss = mse_loss(X @ w.T + b, y)  # reduction='mean': already divided by N
        loss.backward()
        seen["loss"].append(loss.item())
        with torch.no_grad():
            w -= LR * w.grad / N  # divided by N a second time
            b -= LR * b.grad / N
        seen["w"].append(w.item())
        w.grad = None
        b.grad = None


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    N = X.shape[0]
    w, b = params()
    seen.update(N=N, w0=value(w), b0=value(b), loss=[], w=[])
    for _ in range(STEPS):
        loss = mse_loss(X @ w.T + b, y)  # the mean over the batch
        loss.backward()
        seen["loss"].append(loss.item())
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        seen["w"].append(w.item())
        w.grad = None
        b.grad = None


ORDER = 60  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="divide-twice",
    summary="dividing by the batch size twice: a mean loss and an update that divides by N again",
    symptom="no error; the loss falls N times more slowly (effective learning rate lr/N)",
    fix="divide once: mean loss with p -= lr * p.grad, or sum loss with p -= lr / N * p.grad",
    broken=broken,
    correct=correct,
)
