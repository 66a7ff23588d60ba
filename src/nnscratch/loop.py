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

The variation of steps 1–3 is chosen once, before the loop (`nnscratch.steps.choose_step`): the
seed's autograd lines (the default), ``compile=True`` (forward + loss as one ``torch.compile``d
graph), ``backward="manual"`` (the chain rule by hand, `nnscratch.backprop`), ``backward="engine"``
(nnscratch's own reverse-mode engine, `nnscratch.autograd`), each sharded across
ranks under ``torchrun`` (`nnscratch.run.distributed`). The loop body is the same for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from nnscratch.clip import clip_grad_norm_
from nnscratch.data.batches import batches
from nnscratch.errors import DivergenceError
from nnscratch.losses import mse_loss
from nnscratch.module import Module
from nnscratch.optim import SGD, Optimizer
from nnscratch.run import distributed
from nnscratch.steps import choose_step

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
StepCallback = Callable[[int, int, float], None]  # (step of the epoch from 1, steps, loss)


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


class _Progress:
    """The run's step count and last finite loss, the epoch's sums; NaN/inf stops the run;
    ``on_step(k, steps, loss)`` after each step (a progress display within a long epoch)."""

    def __init__(
        self,
        params: list[torch.Tensor],
        max_norm: float | None,
        step: int,
        on_step: StepCallback | None = None,
        per_epoch: int = 1,
    ) -> None:
        self.params, self.max_norm, self.step = params, max_norm, step
        self.on_step, self.per_epoch = on_step, per_epoch
        self.parallel = distributed.is_distributed()
        self.last_finite: float | None = None

    def begin(self, epoch: int, lr: float) -> None:
        self.epoch, self.lr = epoch, lr
        self.total, self.rows, self.norm_sum, self.steps = 0.0, 0, 0.0, 0

    def check(self, loss: float) -> float:
        """‖g‖ (clipped to max_norm if given); DivergenceError for a NaN/inf loss or norm."""
        if not self.parallel and not math.isfinite(loss):  # ranks differ: the norm decides
            raise _divergence("the loss", loss, self.epoch, self.step + 1, self.last_finite)
        norm = _gradient_norm(self.params, self.max_norm)
        if not math.isfinite(norm):  # the same on every rank: all stop together
            raise _divergence(
                "the gradient norm", norm, self.epoch, self.step + 1, self.last_finite
            )
        return norm

    def add(self, loss: float, rows: int, norm: float) -> None:
        self.total += loss * rows  # per rank when distributed; combined in end()
        self.rows += rows
        self.norm_sum += norm
        self.steps += 1
        self.step += 1
        self.last_finite = loss
        if self.on_step is not None:
            self.on_step(self.steps, self.per_epoch, loss)

    def end(self) -> Epoch:
        parallel, total, rows = self.parallel, self.total, self.rows
        loss = distributed.global_mean(total, rows) if parallel else total / rows
        return Epoch(self.epoch, loss, self.lr, self.norm_sum / self.steps, self.step)


def fit(
    model: Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: LossFn = mse_loss,
    optimizer: Optimizer | None = None,
    lr: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    scheduler: Any = None,
    start: tuple[int, int] = (0, 0),
    clip_grad_norm: float | None = None,
    backward: str = "autograd",
    compile: bool = False,
    callback: EpochCallback | None = None,
) -> list[float]:
    """Train ``model`` on ``(X, y)`` and return the loss history, one float per epoch run.

    Args:
        loss_fn: ``loss_fn(y_pred, y)``, a scalar tensor (default `nnscratch.losses.mse_loss`).
        optimizer: default the seed's plain ``SGD(model.parameters(), lr)``.
        lr: the default SGD's learning rate (default 0.1); with ``optimizer`` it is an error.
        epochs: train until this epoch count (default 100).
        batch_size: None (default) is full-batch gradient descent, one step per epoch; otherwise
            mini-batches (``nnscratch.data.batches``), shuffled by ``generator`` if ``shuffle``.
            The epoch's loss is the sample-weighted mean of the batch losses.
        scheduler: ``scheduler.step()`` once after each epoch, as in PyTorch (default None).
        start: ``(epoch, step)`` to resume from: epochs run from ``epoch``, steps count from
            ``step`` (default (0, 0)).
        clip_grad_norm: cap on the total gradient norm before each update (default None).
        backward: 'autograd' (default), 'manual' (hand-derived gradients, `nnscratch.backprop`) or
            'engine' (nnscratch's own autograd, `nnscratch.autograd`).
        compile: forward + loss as one ``torch.compile``d graph (default False).
        callback: ``callback(Epoch(...))`` after ``scheduler.step()``: it sees the exact state the
            next epoch starts from (logging, checkpoints). If it has a ``step`` attribute,
            ``callback.step(k, steps, loss)`` is called after step k of the epoch's ``steps``
            (progress within an epoch that takes long).

    A NaN or infinite loss or gradient norm stops training with `DivergenceError` before it can
    reach the parameters.

    Example:
        >>> model = LinearRegression(1)
        >>> history = fit(model, X, y, lr=0.1, epochs=200)
        >>> history[-1] < history[0]
    """
    optimizer = _optimizer(model, optimizer, lr)
    _check(X, clip_grad_norm)
    step = choose_step(model, loss_fn, backward, compile)  # steps 1–3, in the variation chosen once
    per_epoch = 1 if batch_size is None else -(-X.shape[0] // batch_size)  # ⌈N / B⌉ steps
    on_step = getattr(callback, "step", None)  # callback.step(k, steps, loss), if it has one
    progress = _Progress(list(model.parameters()), clip_grad_norm, start[1], on_step, per_epoch)
    history: list[float] = []
    for epoch in range(start[0], epochs):
        progress.begin(epoch, optimizer.param_groups[0]["lr"])
        for xb, yb in batches(X, y, batch_size, shuffle, generator):
            loss, rows = step(xb, yb)  # 1. forward · 2. loss · 3. backward: p.grad filled
            norm = progress.check(loss)  # ‖g‖ (clipped); a NaN/inf loss or ‖g‖ stops here
            optimizer.step()  # 4. update     p ← p − lr·g
            optimizer.zero_grad()  # 5. reset      p.grad ← None
            progress.add(loss, rows, norm)
        done = progress.end()  # Epoch(epoch, mean loss, lr, mean ‖g‖, steps so far)
        history.append(done.loss)
        if scheduler is not None:
            scheduler.step()
        if callback is not None:
            callback(done)
    return history


def _optimizer(model: Module, optimizer: Optimizer | None, lr: float | None) -> Optimizer:
    if optimizer is None:
        return SGD(model.parameters(), lr=0.1 if lr is None else lr)
    if lr is not None:
        raise ValueError(
            f"fit got both optimizer and lr={lr}; the optimizer has its own learning rate: "
            "pass lr to the optimizer (or leave optimizer out for plain SGD with lr)"
        )
    return optimizer


def _check(X: torch.Tensor, clip_grad_norm: float | None) -> None:
    if X.shape[0] == 0:
        raise ValueError("fit needs at least one training row, got X with 0 rows")
    if clip_grad_norm is not None and not clip_grad_norm >= 0:  # NaN fails too
        raise ValueError(
            f"clip_grad_norm must be >= 0 (or None: no clipping), got {clip_grad_norm}"
        )
