"""One typed configuration per run.

Every field has a commented default and a help text; the ``nnscratch train`` flags are derived from
these fields (``n_samples`` → ``--n-samples``), and the same object is saved with every run.
`TrainConfig.validate` is the one place where user-given values are checked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from nnscratch.errors import UserError

DTYPES = ("float32", "float64")


def _opt(help: str, **extra: Any) -> dict[str, Any]:
    return {"help": help, **extra}


@dataclass
class TrainConfig:
    # -- data --------------------------------------------------------------------------------
    n_samples: int = field(default=100, metadata=_opt("number of synthetic samples"))
    features: int = field(default=1, metadata=_opt("number of synthetic input features"))
    noise: float = field(default=0.1, metadata=_opt("std of the Gaussian noise added to y"))
    # -- optimisation ------------------------------------------------------------------------
    lr: float = field(default=0.1, metadata=_opt("learning rate (SGD step size)"))
    epochs: int = field(default=200, metadata=_opt("passes over the training data"))
    # -- reproducibility and numerics ---------------------------------------------------------
    seed: int = field(default=0, metadata=_opt("seed for data, initialisation and shuffling"))
    dtype: str = field(default="float32", metadata=_opt("floating-point type", choices=DTYPES))

    def validate(self) -> TrainConfig:
        """Raise `UserError` naming the first out-of-range value and what to use instead."""
        checks = [
            (self.n_samples >= 1, f"--n-samples must be at least 1, got {self.n_samples}"),
            (self.features >= 1, f"--features must be at least 1, got {self.features}"),
            (
                math.isfinite(self.noise) and self.noise >= 0,
                f"--noise must be a finite number >= 0, got {self.noise}",
            ),
            (
                math.isfinite(self.lr) and self.lr > 0,
                f"--lr must be a finite number > 0 (try 0.1), got {self.lr}",
            ),
            (self.epochs >= 0, f"--epochs must be >= 0, got {self.epochs}"),
            (self.seed >= 0, f"--seed must be >= 0, got {self.seed}"),
            (self.dtype in DTYPES, f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
