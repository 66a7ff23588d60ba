"""Real-valued hyperparameters that the tensors can hold, refused before anything is built
(instead of ``RuntimeError: value cannot be converted to type float without overflow`` at the
first step, after the data was loaded).

Every real number of the configuration (``--lr``, ``--momentum``, ``--alpha``, ``--gamma``,
``--weight-decay``, ``--eps``, ``--noise``, ``--clip-grad-norm``, ...; found from the dataclass's
field types, so a new field is covered) must be finite and at most `LARGEST` in size, and so
must every number the optimizers make of two of them and hand to torch:

    peak lr       lr · gamma^⌊(epochs − 1) / step_size⌋   (--scheduler step, gamma > 1 raises
                                                         it every step_size epochs; the other
                                                         schedules stay at or below lr)
    Adam's step   peak lr / (1 − β₁)                     (lr / (1 − β₁ᵗ) is largest at t = 1)
    AdamW's decay peak lr · weight_decay                 (p ← p·(1 − lr·λ))

A Python number used with a float32 tensor must fit float32 (largest 3.4·10³⁸), else torch
raises "value cannot be converted to type float without overflow" mid-run. `LARGEST` = 10³⁰
leaves a factor 10⁸ for the small constants the code multiplies in (2·lr in the manual step).
What overflows after that is a tensor's value (inf), which the loop reports as a divergence.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from nnscratch.errors import UserError

LARGEST = 1e30


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def real_fields(config: Any) -> list[str]:
    """The names of the configuration's real-valued fields (``float`` or ``float | None``)."""
    return [f.name for f in fields(config) if "float" in str(f.type)]


def check(config: Any) -> None:
    """`UserError` naming the first real hyperparameter the tensors cannot hold (see above)."""
    for name in real_fields(config):
        value = getattr(config, name)
        if value is None or isinstance(value, bool):
            continue
        if not (isinstance(value, int | float) and math.isfinite(value)):
            raise UserError(f"{flag(name)} must be a finite number, got {value}")
        if abs(value) > LARGEST:
            raise UserError(
                f"{flag(name)} {value:g} is too large: real hyperparameters must be at most "
                f"{LARGEST:g} in size (the optimizer's numbers must fit a float32 tensor)"
            )
    for what, value in derived(config):
        if value > LARGEST:
            raise UserError(
                f"{what} would be {value:.3g}, more than {LARGEST:g} (the optimizer's numbers "
                "must fit a float32 tensor); use a smaller --lr"
                + (", --gamma <= 1 or fewer --epochs" if config.scheduler == "step" else "")
            )


def derived(config: Any) -> list[tuple[str, float]]:
    """(what, value) of each number made of two hyperparameters (the table above)."""
    peak = peak_lr(config)
    if peak is None:
        return []
    out = [(f"--lr {config.lr:g} raised by --scheduler step --gamma {config.gamma:g}", peak)]
    if config.optimizer in ("adam", "adamw"):
        b1 = config.betas_pair()[0]
        out.append(
            (f"Adam's first step, --lr / (1 - beta1) = {peak:g} / {1 - b1:g},", peak / (1 - b1))
        )
    if config.optimizer == "adamw":
        out.append(
            (
                f"AdamW's decay --lr × --weight-decay {config.weight_decay:g}",
                peak * config.weight_decay,
            )
        )
    return out


def peak_lr(config: Any) -> float | None:
    """The largest learning rate the schedule reaches (None while lr or epochs are unknown)."""
    if config.lr is None or config.epochs is None:
        return None
    if config.scheduler != "step" or config.gamma <= 1 or config.epochs < 1:
        return config.lr
    steps = (config.epochs - 1) // config.step_size
    log_peak = math.log(config.lr) + steps * math.log(config.gamma)
    return math.exp(log_peak) if log_peak < 700 else math.inf
