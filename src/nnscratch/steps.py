"""Steps 1–3 of the loop (forward · loss · backward), in each of their variations.

`nnscratch.fit` picks one of these once, before its loop (`choose_step`); every one of them takes a
batch, leaves ∂L/∂p in each ``p.grad`` and returns the loss as a float with the rows it covered:

    autograd    y_pred = model(xb); loss = loss_fn(y_pred, yb); loss.backward()   the seed, as written
    compiled    the same, with forward + loss as one ``torch.compile``d graph (fused kernels)
    by hand     `nnscratch.backprop.loss_and_grads`: the chain rule written out, no autograd
                (a linear model: `LinearStep`, the same formulas into preallocated buffers)
    engine      `nnscratch.autograd.model.loss_and_grads`: the same three lines recorded and
                differentiated by nnscratch's own reverse-mode engine instead of torch.autograd
    sharded     any of the three on this rank's rows of the global batch, then one all-reduce of
                the gradients (what ``DistributedDataParallel`` does), under ``torchrun``

The loss is returned as a Python float (``loss.item()``): keeping the loss *tensor* would keep its
whole graph alive, and memory would grow with every step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.backprop import linear_step, loss_and_grads, supports
from nnscratch.errors import UserError
from nnscratch.module import Module
from nnscratch.run import distributed

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Step = Callable[[torch.Tensor, torch.Tensor], tuple[float, int]]  # (xb, yb) -> (loss, rows)
BACKWARDS = ("autograd", "manual", "engine")


def choose_step(
    model: Module, loss_fn: LossFn, backward: str = "autograd", compile: bool = False
) -> Step:
    """The step's variation, chosen once: ``backward`` 'autograd' | 'manual' | 'engine',
    ``compile`` to fuse forward + loss, sharded across ranks when running under ``torchrun``."""
    if backward not in BACKWARDS:
        raise ValueError(f"backward must be one of {', '.join(BACKWARDS)}, got {backward!r}")
    if backward == "manual":
        step = by_hand(model, loss_fn)
    elif backward == "engine":
        step = engine(model, loss_fn)
    elif compile:
        step = compiled(model, loss_fn)
    else:
        step = autograd(model, loss_fn)
    return sharded(step, model) if distributed.is_distributed() else step


def refusal(backward: str, model: Module, loss_fn: LossFn) -> str | None:
    """Why ``backward`` cannot take this model and loss, as a user error's text (the fix
    named), or None when it can: 'manual' needs formulas in `nnscratch.backprop` for every
    layer and the loss; 'autograd' and 'engine' take any model of `nnscratch.layers` (the
    engine refuses an operation it lacks when it meets it, naming the operation)."""
    if backward != "manual" or supports(model, loss_fn):
        return None
    name = getattr(loss_fn, "__name__", getattr(getattr(loss_fn, "func", None), "__name__", "?"))
    return (
        f"--backward manual has no hand-derived formulas for this model ({type(model).__name__}) "
        f"with the loss {name} (nnscratch.backprop); use --backward autograd or engine"
    )


def check_supported(backward: str, model: Module, loss_fn: LossFn) -> None:
    """`UserError` with `refusal`'s text when ``backward`` cannot take this model and loss: what
    the commands call once the model is built, before a step is taken."""
    reason = refusal(backward, model, loss_fn)
    if reason is not None:
        raise UserError(reason)


def autograd(model: Module, loss_fn: LossFn) -> Step:
    """The seed's three lines; ``loss.backward()`` differentiates the loss as written."""

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
        y_pred = model(xb)  # 1. forward    (B, out)
        loss = loss_fn(y_pred, yb)  # 2. loss       scalar
        loss.backward()  # 3. backward   fills p.grad
        return loss.item(), xb.shape[0]

    return step


def compiled(model: Module, loss_fn: LossFn) -> Step:
    """Forward + loss as one ``torch.compile``d graph (same numbers within float32 rounding;
    faster on large batches, seconds of compilation first), then ``loss.backward()``."""
    forward_and_loss = torch.compile(lambda xb, yb: loss_fn(model(xb), yb))

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
        loss = forward_and_loss(xb, yb)  # 1.–2. one compiled graph
        loss.backward()  # 3. backward   fills p.grad
        return loss.item(), xb.shape[0]

    return step


def by_hand(model: Module, loss_fn: LossFn) -> Step:
    """Steps 1–3 with the hand-derived gradients of `nnscratch.backprop` (no autograd); for a
    linear model with mse / bce-with-logits, the same formulas into buffers allocated once
    (`nnscratch.backprop.linear_step.LinearStep`, the fast form)."""
    if linear_step.supports(model, loss_fn):
        fast = linear_step.LinearStep(model, loss_fn)
        return lambda xb, yb: (fast(xb, yb).item(), xb.shape[0])

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
        return loss_and_grads(model, loss_fn, xb, yb).item(), xb.shape[0]

    return step


def engine(model: Module, loss_fn: LossFn) -> Step:
    """Steps 1–3 recorded and differentiated by `nnscratch.autograd` (the same model, its
    parameters wrapped as engine leaves for the step; gradients land in each ``p.grad``)."""
    from nnscratch.autograd.model import loss_and_grads as engine_loss_and_grads

    def step(xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
        return engine_loss_and_grads(model, loss_fn, xb, yb).item(), xb.shape[0]

    return step


def sharded(step: Step, model: Module) -> Step:
    """``step`` on this rank's rows of the global batch, then g ← (1/N) Σ_k n_k·g_k everywhere."""
    params = list(model.parameters())

    def on_shard(xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
        n = xb.shape[0]  # rows in the global batch
        xs, ys = distributed.shard(xb, yb)  # this rank's rows of it
        loss, rows = step(xs, ys) if xs.shape[0] else (0.0, 0)  # an empty shard adds nothing
        distributed.all_reduce_gradients_(params, rows, n)  # one all-reduce of a flat buffer
        return loss, rows

    return on_shard
