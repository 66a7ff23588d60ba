"""What a script needs to know about a saved run, read once from its checkpoint.

The generators (`nnscratch.lab.export.raw`, `.nn`) read only this object: the resolved
`TrainConfig`, the preprocessing saved in ``data.json`` (feature names, classes, the
standardizer's presence), and the layer sizes and parameter names of the model.

Every text from outside (the run folder, the data path, column names, class labels) is held as
`Outside`: it can reach a script only through `nnscratch.lab.export.source.literal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnscratch.lab.export.source import Outside
from nnscratch.run.config import TrainConfig

OUTSIDE_KEYS = ("features", "target", "classes")  # data.json's names, from the data file


@dataclass(frozen=True)
class Layer:
    """One affine layer ``x @ weight.T + bias`` and the parameter names it saves under."""

    fan_in: int
    fan_out: int
    prefix: str  # "" for a lone Linear, "0." / "2." ... inside an MLP (nn.Sequential indices)

    @property
    def names(self) -> tuple[str, str]:
        return f"{self.prefix}weight", f"{self.prefix}bias"


@dataclass(frozen=True, repr=False)
class Spec:
    config: TrainConfig  # resolved: every None filled in
    data: dict[str, Any]  # data.json; features, target, classes as `Outside`
    source: Outside  # the run folder (a str), for error messages
    data_path: Outside | None  # a data file (a Path), absolute; None for built-ins
    beside: Outside | None = None  # a file name: the script's data lies beside it (the lab)

    def __post_init__(self) -> None:
        """Wrap every outside text, however the Spec was built."""
        wrap = {k: _wrap(v) for k, v in self.data.items() if k in OUTSIDE_KEYS}
        object.__setattr__(self, "data", {**self.data, **wrap})
        for name in ("source", "data_path", "beside"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _wrap(value))

    @property
    def data_kind(self) -> str:
        """The data file's suffix in lower case ('.csv', '.npz'...); '' for built-in data."""
        return self.data_path.raw.suffix.lower() if self.data_path is not None else ""

    @property
    def dtype(self) -> str:
        return self.config.dtype

    @property
    def n_features(self) -> int:
        return len(self.data["features"].raw)

    @property
    def out_features(self) -> int:
        return int(self.data["out_features"])

    @property
    def classification(self) -> bool:
        return self.data["task"] == "classification"

    @property
    def standardized(self) -> bool:
        return self.data["standardizer"] is not None

    @property
    def constant_column(self) -> bool:
        """Did standardization meet a constant column (σ set to 1, the `Standardizer` rule)?"""
        return self.standardized and 1.0 in self.data["standardizer"]["std"]

    @property
    def rows(self) -> dict[str, int]:
        return self.data["rows"]

    @property
    def n_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def mini_batch(self) -> bool:
        return self.config.batch_size is not None

    @property
    def layers(self) -> list[Layer]:
        if self.config.model != "mlp":
            return [Layer(self.n_features, self.out_features, "")]
        sizes = [self.n_features, *self.config.hidden_sizes(), self.out_features]
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        return [Layer(i, o, f"{2 * k}.") for k, (i, o) in enumerate(pairs)]


def _wrap(value: Any) -> Outside:
    return value if isinstance(value, Outside) else Outside(value)


def raw(value: Any) -> Any:
    """The value inside an `Outside` (for comparisons with data read again)."""
    return value.raw if isinstance(value, Outside) else value


def from_checkpoint(checkpoint: Any, beside: str | None = None) -> Spec:
    """A `Spec` from a loaded `nnscratch.run.checkpoint.Checkpoint`; ``beside``: a file name the
    script looks for next to itself by default instead of the recorded data path."""
    config = checkpoint.config
    path = None
    if config.data != "synthetic" and not config.data.startswith("builtin:"):
        path = Path(config.data).resolve()
    folder = checkpoint.path.parent if checkpoint.path.name == "checkpoint" else checkpoint.path
    return Spec(config, checkpoint.data, Outside(str(folder)), path, beside)
