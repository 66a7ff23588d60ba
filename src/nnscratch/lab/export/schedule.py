"""The learning-rate schedule, stepped once per epoch after the epoch's updates.

Raw style writes the schedule's *recursive* form (lr from the previous lr), the one
``torch.optim.lr_scheduler`` and `nnscratch.optim.lr_scheduler` compute, so that the script's
learning rates are the run's to the last bit; the closed form is in the comment beside it.
"""

from __future__ import annotations

from nnscratch.lab.export.source import call
from nnscratch.lab.export.spec import Spec


def nn_scheduler(spec: Spec) -> list[str]:
    c = spec.config
    head = "scheduler = torch.optim.lr_scheduler."
    if c.scheduler == "step":
        return call(
            head + "StepLR", ["optimizer", f"step_size={c.step_size}", f"gamma={c.gamma!r}"]
        )
    if c.scheduler == "cosine":
        return call(head + "CosineAnnealingLR", ["optimizer", f"T_max={c.epochs}"])
    if c.scheduler == "linear":
        args = ["optimizer", f"start_factor={c.start_factor!r}", f"total_iters={c.total_iters}"]
        return call(head + "LinearLR", args)
    return []


def raw_start(spec: Spec) -> list[str]:
    """Before the loop (LinearLR scales lr at once; the others start at lr)."""
    c = spec.config
    if c.scheduler != "linear":
        return []
    return [
        "# -- schedule: LinearLR, lr climbs from start_factor·LR to LR over TOTAL_ITERS epochs",
        f"START_FACTOR, TOTAL_ITERS = {c.start_factor!r}, {c.total_iters}",
        "lr = LR * START_FACTOR",
    ]


def raw_step(spec: Spec) -> list[str]:
    """The end-of-epoch lines (``scheduler.step()``), inside ``for epoch``; t = epoch + 1."""
    c = spec.config
    if c.scheduler == "step":
        return [
            f"if (epoch + 1) % {c.step_size} == 0:  # scheduler.step(): StepLR",
            f"    lr *= {c.gamma!r}  # lr_t = lr_0 · γ^⌊t / step_size⌋",
        ]
    if c.scheduler == "cosine":
        return [
            "# scheduler.step(): CosineAnnealingLR, lr_t = lr_0 · (1 + cos(π·t / T)) / 2",
            f"cos_t = 1 + math.cos(math.pi * (epoch + 1) / {c.epochs})  # t = epoch + 1",
            f"cos_before = 1 + math.cos(math.pi * epoch / {c.epochs})",
            "lr *= cos_t / cos_before  # the ratio of consecutive closed forms",
        ]
    if c.scheduler == "linear":
        return [
            "if epoch + 1 <= TOTAL_ITERS:  # scheduler.step(): LinearLR",
            "    factor = 1 - START_FACTOR",
            "    lr *= 1.0 + factor / (TOTAL_ITERS * START_FACTOR + epoch * factor)",
        ]
    return []
