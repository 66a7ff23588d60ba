"""The five-step training loop.  Replaces the loop that ``Trainer``-style libraries hide.

    for each epoch:
        for each mini-batch (xb, yb):
            y_pred = model(xb)              1. forward   builds the graph; no gradient yet
            loss = loss_fn(y_pred, yb)      2. loss      a scalar tensor at the end of the graph
            loss.backward()                 3. backward  autograd fills p.grad; p is unchanged
            optimizer.step()                4. update    p ← p − lr·p.grad, in place, no_grad
            optimizer.zero_grad()           5. reset     else the next backward() adds to p.grad

The loss is logged as a Python float (``loss.item()``): keeping the loss *tensor* would keep its
whole graph alive, and memory would grow with every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from nnscratch.data.batches import batches
from nnscratch.errors import DivergenceError
from nnscratch.losses import mse_loss
from nnscratch.module import Module
from nnscratch.optim import SGD, Optimizer

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
EpochCallback = Callable[[int, float], None]


def fit(
    model: Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: LossFn = mse_loss,
    optimizer: Optimizer | None = None,
    lr: float = 0.1,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    scheduler: Any = None,
    start_epoch: int = 0,
    callback: EpochCallback | None = None,
) -> list[float]:
    """Train ``model`` on ``(X, y)`` and return the loss history, one float per epoch.

    ``optimizer`` defaults to the seed's plain ``SGD(model.parameters(), lr)``. ``batch_size=None``
    is full-batch gradient descent (one step per epoch); otherwise each epoch is a pass over
    shuffled mini-batches (``nnscratch.data.batches``) and its loss is the sample-weighted mean of
    the batch losses. ``callback(epoch, epoch_loss)`` runs after every epoch (logging, checkpoints);
    then ``scheduler.step()``, if a learning-rate scheduler is given (once per epoch, as in PyTorch).
    Epochs are counted from ``start_epoch`` (to resume a run). A NaN or infinite loss stops training
    with `DivergenceError` before the bad gradient can reach the parameters.
    """
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=lr)
    history: list[float] = []
    step = 0
    last_finite: float | None = None
    for epoch in range(start_epoch, epochs):
        total, count = 0.0, 0
        for xb, yb in batches(X, y, batch_size, shuffle, generator):
            y_pred = model(xb)  # 1. forward    (B, out)
            loss = loss_fn(y_pred, yb)  # 2. loss       scalar
            value = loss.item()  # a float: the graph is freed after backward
            if not math.isfinite(value):
                raise DivergenceError(
                    f"loss became {value} at epoch {epoch + 1}, step {step + 1}",
                    step=step + 1,
                    last_finite_loss=last_finite,
                )
            loss.backward()  # 3. backward   fills p.grad
            optimizer.step()  # 4. update     p ← p − lr·g
            optimizer.zero_grad()  # 5. reset      p.grad ← None
            last_finite = value
            total += value * xb.shape[0]
            count += xb.shape[0]
            step += 1
        history.append(total / count)
        if callback is not None:
            callback(epoch, history[-1])
        if scheduler is not None:
            scheduler.step()
    return history
