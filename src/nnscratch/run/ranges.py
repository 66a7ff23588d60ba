"""Real-valued hyperparameters that the tensors can hold, refused before anything is built
(instead of ``RuntimeError: value cannot be converted to type float without overflow`` at the
first step, after the data was loaded).

Every real number of the configuration (``--lr``, ``--momentum``, ``--alpha``, ``--gamma``,
``--weight-decay``, ``--eps``, ``--noise``, ``--clip-grad-norm``, ...; found from the dataclass's
field types, so a new field is covered) must be finite and at most `LARGEST` in size, and so
must the largest learning rate the schedule reaches:

    step     lr · gamma^⌊(epochs − 1) / step_size⌋      (gamma > 1 raises it every step_size)
    others   lr                                          (cosine, linear warm-up: at most lr)

Why 10¹²: the optimizers hand torch Python numbers made of at most two of these, e.g.
``lr · weight_decay`` (AdamW's decay) ≤ 10²⁴, ``1 − alpha`` (RMSprop) ≤ 10¹², and
``lr / (1 − β₁ᵗ)`` (Adam's step) ≤ 10¹² / 1.1·10⁻¹⁶ ≈ 10²⁸, the largest β₁ below 1 being
1 − 1.1·10⁻¹⁶: every one stays below float32's largest, 3.4·10³⁸, which a number must fit to
be used with a float32 tensor. What overflows after that is a tensor's value (inf), which the
loop reports as a divergence.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from nnscratch.errors import UserError

LARGEST = 1e12


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
                f"{LARGEST:g} in size, so that the optimizer's numbers fit a float32 tensor"
            )
    peak = peak_lr(config)
    if peak is not None and peak > LARGEST:
        raise UserError(
            f"--scheduler step --gamma {config.gamma:g} raises --lr {config.lr:g} every "
            f"{config.step_size} epochs to {peak:.3g} by epoch {config.epochs}, more than "
            f"{LARGEST:g}; use --gamma <= 1 (a decay), or fewer --epochs"
        )


def peak_lr(config: Any) -> float | None:
    """The largest learning rate the schedule reaches (None while lr or epochs are unknown)."""
    if config.lr is None or config.epochs is None:
        return None
    if config.scheduler != "step" or config.gamma <= 1 or config.epochs < 1:
        return config.lr
    steps = (config.epochs - 1) // config.step_size
    log_peak = math.log(config.lr) + steps * math.log(config.gamma)
    return math.inf if log_peak > math.log(LARGEST) + 1 else math.exp(log_peak)
