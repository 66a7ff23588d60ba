"""After a divergence: a learning rate to suggest that was *tried* before it is printed.

A tenth of the failing ``lr`` is the usual advice, but on badly scaled data a tenth can diverge
too (the seed at ``--lr 1000`` needs ``0.1``). So each candidate

    lr/10, lr/100, ...     (at most `MAX_TRIES`, within `BUDGET_S` seconds)

trains from the run's own start (same seed, same initial parameters, same data and batches, same
optimizer, scheduler and clipping) for ``min(epochs, CHECK_EPOCHS)`` epochs, and the first one that
`settles` is suggested. Cheap: the seed checks in milliseconds; a large run stops at the budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from nnscratch.errors import DivergenceError
from nnscratch.loop import fit
from nnscratch.run import build

if TYPE_CHECKING:
    from nnscratch.run.prepare import Prepared

CHECK_EPOCHS = 50  # epochs each candidate trains for (fewer if the run itself is shorter)
MAX_TRIES = 8  # candidates: lr/10 ... lr/10⁸
BUDGET_S = 10.0  # seconds for all candidates together


def settles(history: list[float]) -> bool:
    """Finite, lower at the end than at the start, and no longer rising: the mean loss of the
    last quarter of the epochs is at most 5 % above the quarter before it (a slowly growing
    unstable direction shows there before it reaches inf)."""
    if not history or not all(math.isfinite(h) for h in history):
        return False
    q = max(1, len(history) // 4)
    last, before = history[-q:], history[-2 * q : -q] or history[:1]
    return history[-1] < history[0] and sum(last) / len(last) <= 1.05 * sum(before) / len(before)


class OutOfTime(Exception):
    """The budget ran out in the middle of a candidate."""


def trains_stably(data: Prepared, lr: float, deadline: float = math.inf) -> bool:
    """Does ``data.config`` with this ``lr`` train without diverging and `settles`?
    `OutOfTime` once ``time.perf_counter()`` passes ``deadline`` (checked after every epoch)."""

    def on_epoch(_epoch) -> None:
        if time.perf_counter() > deadline:
            raise OutOfTime

    from nnscratch.run.prepare import loss_target

    config = replace(data.config, lr=lr)
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)  # the run's own initial parameters
    shape = data.train.extra.get("image_shape")  # (C, H, W) for a CNN, else None
    model = build.build_model(
        config, data.train.n_features, data.out_features, dtype, config.device, shape
    )
    optimizer = build.build_optimizer(config, model.parameters())
    try:
        history = fit(
            model,
            data.train.X,
            loss_target(data.train.y, config.loss, dtype),
            loss_fn=build.build_loss(config),
            optimizer=optimizer,
            epochs=min(config.epochs, CHECK_EPOCHS),
            batch_size=config.batch_size,
            generator=torch.Generator().manual_seed(config.seed),
            scheduler=build.build_scheduler(config, optimizer),
            clip_grad_norm=config.clip_grad_norm,
            backward=config.backward,
            callback=on_epoch,
        )
    except DivergenceError:
        return False
    return settles(history)


def suggest(data: Prepared) -> tuple[float | None, list[float]]:
    """(the first candidate that trains stably or None, the candidates that did not)."""
    lr, failed, deadline = data.config.lr, [], time.perf_counter() + BUDGET_S
    for _ in range(MAX_TRIES):
        lr /= 10
        try:
            if trains_stably(data, lr, deadline):
                return lr, failed
        except OutOfTime:
            break
        failed.append(lr)
    return None, failed


def hint(data: Prepared) -> str:
    """The advice printed after a divergence: a learning rate that was tried, and nothing
    untried (clipping a far too large lr only hides it: the run ends far from the optimum)."""
    lr, failed = suggest(data)
    epochs = min(data.config.epochs, CHECK_EPOCHS)
    shown = [f"{v:g}" for v in failed]
    tried = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else "".join(shown)
    verb = "does" if len(shown) == 1 else "do"
    if lr is None and not failed:
        return (
            f"try a smaller --lr than {data.config.lr:g} (none could be checked in {BUDGET_S:g} s)"
        )
    if lr is None:
        return (
            f"no smaller learning rate tried trains stably ({tried}: each diverges or does not "
            f"settle in {epochs} epochs): try a much smaller --lr, or standardise the data"
        )
    also = f"; {tried} {verb} not" if failed else ""
    return (
        f"try --lr {lr:g} (checked: from the same start, {epochs} epochs with it lower the loss "
        f"steadily{also})"
    )
