"""The five-step training loop.  Replaces the loop that ``Trainer``-style libraries hide.

    for each epoch:
        for each mini-batch (xb, yb):
            y_pred = model(xb)              1. forward   builds the graph; no gradient yet
            loss = loss_fn(y_pred, yb)      2. loss      a scalar tensor at the end of the graph
            loss.backward()                 3. backward  autograd fills p.grad; p is unchanged
               ‖g‖ (clip to max_norm)          check     a NaN/inf loss or gradient stops here
            optimizer.step()                4. update    p ← p − lr·p.grad, in place, no_grad
            optimizer.zero_grad()           5. reset     else the next backward() adds to p.grad
        scheduler.step()                    once per epoch, after the epoch's updates
        callback(Epoch(...))                the state now is the start of the next epoch

The loss is logged as a Python float (``loss.item()``): keeping the loss *tensor* would keep its
whole graph alive, and memory would grow with every step.

Three variations keep the same five steps:
- ``compile=True``: steps 1–2 run as one ``torch.compile``d graph (faster on large batches);
- ``backward="manual"``: steps 1–3 are `nnscratch.backprop.loss_and_grads`, the chain rule written
  out by hand (no autograd), the same gradients;
- under ``torchrun`` (`nnscratch.run.distributed`): every rank draws the same global batch, runs steps
  1–3 on its own shard of it, and one all-reduce of a flat gradient buffer gives every rank the
  global-batch gradient before step 4 (what ``DistributedDataParallel`` does).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from nnscratch.backprop import loss_and_grads
from nnscratch.clip import clip_grad_norm_
from nnscratch.data.batches import batches
from nnscratch.errors import DivergenceError
from nnscratch.losses import mse_loss
from nnscratch.module import Module
from nnscratch.optim import SGD, Optimizer
from nnscratch.run import distributed

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Epoch:
    """What the callback learns about the epoch that just ended."""

    epoch: int  # 0-based index of the epoch that ended
    loss: float  # sample-weighted mean of the batch losses
    lr: float  # the learning rate the epoch used (param group 0, before scheduler.step())
    grad_norm: float  # mean over the epoch's steps of the total L2 norm of the gradient
    step: int  # optimizer steps taken so far, counting from the run's start


EpochCallback = Callable[[Epoch], None]


def _divergence(what: str, value: float, epoch: int, step: int, last: float | None):
    shown = "none yet" if last is None else f"{last:.6g}"
    return DivergenceError(
        f"{what} became {value} at epoch {epoch + 1}, step {step} (last finite loss: {shown})",
        step=step,
        last_finite_loss=last,
    )


def _gradient_norm(params: list[torch.Tensor], max_norm: float | None) -> float:
    """‖g‖, the total L2 norm of all gradients (before clipping, when ``max_norm`` is given).

    Without clipping it is one norm of the concatenated gradients: two kernels whatever the
    number of parameters (``get_total_norm``'s per-tensor norms cost a launch each).
    """
    if max_norm is not None:
        return clip_grad_norm_(params, max_norm).item()
    grads = [p.grad.reshape(-1) for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads)).item() if grads else 0.0


def _by_hand(model: Module, loss_fn: LossFn, xb: torch.Tensor, yb: torch.Tensor) -> float:
    """Steps 1–3 with hand-derived gradients; an empty shard (distributed) adds nothing."""
    if xb.shape[0] == 0:
        return 0.0
    return loss_and_grads(model, loss_fn, xb, yb).item()


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
    start_step: int = 0,
    clip_grad_norm: float | None = None,
    backward: str = "autograd",
    compile: bool = False,
    callback: EpochCallback | None = None,
) -> list[float]:
    """Train ``model`` on ``(X, y)`` and return the loss history, one float per epoch run.

    ``optimizer`` defaults to the seed's plain ``SGD(model.parameters(), lr)``. ``batch_size=None``
    is full-batch gradient descent (one step per epoch); otherwise each epoch is a pass over
    shuffled mini-batches (``nnscratch.data.batches``) and its loss is the sample-weighted mean of
    the batch losses. ``clip_grad_norm`` caps the total gradient norm before each update
    (`nnscratch.clip.clip_grad_norm_`). After each epoch: ``scheduler.step()`` (once per epoch, as
    in PyTorch), then ``callback(Epoch(...))`` (logging, checkpoints), so the callback sees the
    exact state the next epoch starts from. Epochs run from ``start_epoch`` to ``epochs`` and
    steps are counted from ``start_step`` (to resume a run). A NaN or infinite loss or gradient
    norm stops training with `DivergenceError` before it can reach the parameters.
    ``backward="manual"`` computes the gradients with hand-derived formulas instead of autograd;
    ``compile=True`` runs forward + loss as one ``torch.compile``d graph (same numbers within
    float32 rounding; faster on large batches, seconds of compilation first).
    """
    if backward not in ("autograd", "manual"):
        raise ValueError(f"backward must be 'autograd' or 'manual', got {backward!r}")
    if X.shape[0] == 0:
        raise ValueError("fit needs at least one training row, got X with 0 rows")
    if clip_grad_norm is not None and not clip_grad_norm >= 0:  # NaN fails too
        raise ValueError(
            f"clip_grad_norm must be >= 0 (or None: no clipping), got {clip_grad_norm}"
        )
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=lr)
    params = list(model.parameters())
    parallel = distributed.is_distributed()
    compiled = torch.compile(lambda xb, yb: loss_fn(model(xb), yb)) if compile else None
    history: list[float] = []
    step = start_step
    last_finite: float | None = None
    for epoch in range(start_epoch, epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]
        total, count, norm_sum, steps = 0.0, 0, 0.0, 0
        for xb, yb in batches(X, y, batch_size, shuffle, generator):
            n = xb.shape[0]  # rows in the global batch
            if parallel:
                xb, yb = distributed.shard(xb, yb)  # this rank's rows of it
            if backward == "manual" or xb.shape[0] == 0:
                value = _by_hand(model, loss_fn, xb, yb)  # 1.–3. without autograd
            elif compiled is not None:
                loss = compiled(xb, yb)  # 1.–2. as one compiled graph
                loss.backward()  # 3. backward   fills p.grad
                value = loss.item()
            else:
                y_pred = model(xb)  # 1. forward    (B, out)
                loss = loss_fn(y_pred, yb)  # 2. loss       scalar
                loss.backward()  # 3. backward   fills p.grad
                value = loss.item()  # a float: keeping `loss` would keep its graph
            if parallel:  # g ← (1/N) Σ_k n_k·g_k on every rank, in one all-reduce
                distributed.all_reduce_gradients_(params, xb.shape[0], n)
            elif not math.isfinite(value):
                raise _divergence("the loss", value, epoch, step + 1, last_finite)
            norm = _gradient_norm(params, clip_grad_norm)  # ‖g‖, clipped to max_norm if given
            if not math.isfinite(norm):  # the same on every rank: all stop together
                raise _divergence("the gradient norm", norm, epoch, step + 1, last_finite)
            optimizer.step()  # 4. update     p ← p − lr·g
            optimizer.zero_grad()  # 5. reset      p.grad ← None
            last_finite = value
            total += value * xb.shape[0]  # per rank when distributed; combined below
            count += xb.shape[0]
            norm_sum += norm
            steps += 1
            step += 1
        history.append(distributed.global_mean(total, count) if parallel else total / count)
        if scheduler is not None:
            scheduler.step()
        if callback is not None:
            callback(Epoch(epoch, history[-1], epoch_lr, norm_sum / steps, step))
    return history
