"""``nnscratch lr-find``: the learning-rate range test.  Replaces fastai's ``lr_find`` and the
``torch-lr-finder`` package (Smith 2015, "Cyclical Learning Rates", section 3.3).

A fresh model (the run's seed, model, optimizer, batches and ``--backward``) trains for at most
`STEPS` steps while the learning rate grows exponentially, one step at a time:

    lr_i = START · (END / START)^(i / (STEPS − 1))         1e-7 … 10, ~25 steps per decade
    s_i  = β·s_{i−1} + (1 − β)·loss_i,  ŝ_i = s_i / (1 − β^i)   smoothed loss, β = 0.9
    stop when ŝ_i > STOP · min ŝ (or the loss is NaN/inf): the learning rate is too large now

The suggestion is a tenth of the learning rate at the smallest smoothed loss (fastai's
``lr_min``; fastai smooths with β = 0.98 over 100 steps, which lags half a decade at this
ramp's 25 steps per decade): the loss still falls fast there, with room before it blows up. ``lr_find.png``
plots ŝ against lr on a log axis with the suggestion marked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from nnscratch.data.batches import batches
from nnscratch.run.fresh import pieces
from nnscratch.run.prepare import Prepared
from nnscratch.steps import choose_step

START, END, STEPS = 1e-7, 10.0, 200
BETA, STOP = 0.9, 4.0
FILE = "lr_find.png"


def lr_find(data: Prepared) -> dict[str, Any]:
    """``{"lrs", "losses", "smoothed", "suggestion", "at_min", "stopped"}`` for this config."""
    config = data.config
    fresh = pieces(data)
    model, optimizer, loss_fn, y = fresh.model, fresh.optimizer, fresh.loss_fn, fresh.y
    step = choose_step(model, loss_fn, config.backward, config.compile)  # steps 1–3, as train
    generator = torch.Generator().manual_seed(config.seed)
    lrs, losses, smoothed = [], [], []
    avg, stopped = 0.0, "reached lr 10 without the loss blowing up"
    while len(lrs) < STEPS:
        for xb, yb in batches(data.train.X, y, config.batch_size, True, generator):
            i = len(lrs)
            lr = START * (END / START) ** (i / (STEPS - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            value, _ = step(xb, yb)  # 1.–3. (--backward autograd: loss.backward())
            optimizer.step()  # 4.
            optimizer.zero_grad()  # 5.
            if not math.isfinite(value):
                stopped = f"the loss became {value} at lr {lr:.2g}"
                break
            avg = BETA * avg + (1 - BETA) * value
            lrs.append(lr)
            losses.append(value)
            smoothed.append(avg / (1 - BETA ** (i + 1)))
            if smoothed[-1] > STOP * min(smoothed):
                stopped = f"the smoothed loss passed {STOP:g}× its minimum at lr {lr:.2g}"
                break
            if len(lrs) == STEPS:
                break
        else:
            continue
        break
    best = min(range(len(smoothed)), key=smoothed.__getitem__) if smoothed else None
    at_min = None if best is None else lrs[best]
    return {
        "lrs": lrs,
        "losses": losses,
        "smoothed": smoothed,
        "at_min": at_min,
        "suggestion": None if at_min is None else at_min / 10,
        "stopped": stopped,
        "optimizer": config.optimizer,
    }


def write_plot(result: dict[str, Any], out: Path) -> Path:
    """``lr_find.png`` in the folder ``out``."""
    from nnscratch.run.plots import new_figure, save_atomic

    figure = new_figure()
    axes = figure.subplots()
    axes.plot(result["lrs"], result["losses"], color="0.8", label="loss per step")
    axes.plot(result["lrs"], result["smoothed"], label="smoothed loss")
    if result["suggestion"] is not None:
        axes.axvline(
            result["suggestion"],
            color="C1",
            linestyle="--",
            label=f"suggestion {result['suggestion']:.2g}",
        )
    axes.set_xscale("log")
    axes.set_xlabel(f"learning rate ({result['optimizer']})")
    axes.set_ylabel("training loss")
    if result["smoothed"]:  # from 0 to 1.5× the first loss: the blow-up leaves the frame
        axes.set_ylim(min(0.0, min(result["losses"])), 1.5 * result["smoothed"][0])
    axes.legend()
    axes.set_title("learning-rate range test")
    return save_atomic(figure, Path(out) / FILE)
