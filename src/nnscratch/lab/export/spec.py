"""What a script needs to know about a saved run, read once from its checkpoint.

The generators (`nnscratch.lab.export.raw`, `.nn`) read only this object: the resolved
`TrainConfig`, the preprocessing saved in ``data.json`` (feature names, classes, the
standardizer's presence), and the layer sizes and parameter names of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnscratch.run.config import TrainConfig


@dataclass(frozen=True)
class Layer:
    """One affine layer ``x @ weight.T + bias`` and the parameter names it saves under."""

    fan_in: int
    fan_out: int
    prefix: str  # "" for a lone Linear, "0." / "2." ... inside an MLP (nn.Sequential indices)

    @property
    def names(self) -> tuple[str, str]:
        return f"{self.prefix}weight", f"{self.prefix}bias"


@dataclass(frozen=True)
class Spec:
    config: TrainConfig  # resolved: every None filled in
    data: dict[str, Any]  # data.json
    source: str  # the run folder, for the script's docstring
    data_path: Path | None  # a data file, resolved to an absolute path; None for built-ins

    @property
    def dtype(self) -> str:
        return self.config.dtype

    @property
    def n_features(self) -> int:
        return len(self.data["features"])

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

    def literal(self, name: str) -> str:
        """A config value as Python source (``repr``: floats round-trip exactly)."""
        return repr(getattr(self.config, name))


def from_checkpoint(checkpoint: Any) -> Spec:
    """A `Spec` from a loaded `nnscratch.run.checkpoint.Checkpoint`."""
    config = checkpoint.config
    path = None
    if config.data != "synthetic" and not config.data.startswith("builtin:"):
        path = Path(config.data).resolve()
    folder = checkpoint.path.parent if checkpoint.path.name == "checkpoint" else checkpoint.path
    source = folder.as_posix()  # shown in the script's docstring: no backslashes
    return Spec(config, checkpoint.data, source, path)
