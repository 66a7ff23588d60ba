"""Missing cells in a CSV file.  Plays the part of ``pandas.read_csv(na_values=...)`` followed by
``df.dropna()`` or sklearn's ``SimpleImputer(strategy="mean")``.

    missing           a cell that is empty, NA, N/A, NaN, ? or null (any case)
    --missing error   (default) refuse the file, with every column's count of missing cells at once
    --missing drop    leave out every row with a missing feature or target; at predict time a row
                      with a missing feature gets no prediction (an empty cell in the output)
    --missing mean    x_ij ← μ_j for a missing feature, μ_j = the mean of column j over the
                      *training* rows that have a value (the validation and test rows never
                      contribute: that would leak them into training); μ is saved with the run
                      and ``predict`` fills with the same μ. A row whose target is missing is
                      left out: there is nothing to learn from it.

Convention, as ``SimpleImputer``: μ_j divides by the number of present values, not by N.
A missing cell is NaN inside the (N, F) float tensor until it is dropped or filled.
"""

from __future__ import annotations

import math

import torch

from nnscratch.errors import UserError

POLICIES = ("error", "drop", "mean")
TOKENS = frozenset({"", "na", "n/a", "nan", "?", "null"})  # compared in lower case
SHOWN = "empty, NA, NaN, ? or null"
FIX = (
    "fill them in, or pass --missing drop (leave those rows out) or --missing mean (fill a "
    "feature with its training mean)"
)


def is_missing(cell: str) -> bool:
    """Is this (stripped) cell one of the missing-value markers?"""
    return len(cell) <= 4 and cell.lower() in TOKENS


def count_error(source: str, counts: dict[str, tuple[int, int]], fix: str = FIX) -> UserError:
    """One line listing every column with missing cells: ``counts[name] = (cells, first line)``."""
    total = sum(n for n, _ in counts.values())
    listed = ", ".join(f"{name!r} {n} (first at line {line})" for name, (n, line) in counts.items())
    plural = "s" if total != 1 else ""
    return UserError(f"{source}: {total} missing value{plural} ({SHOWN}): {listed}; {fix}")


def counts_of(
    names: list[str], absent: torch.Tensor, lines: list[int]
) -> dict[str, tuple[int, int]]:
    """``{name: (missing cells, first line)}`` for the columns of ``absent`` (N, F) bool."""
    per_column = absent.sum(dim=0).tolist()  # (F,)
    out = {}
    for j in [j for j, n in enumerate(per_column) if n]:
        first = int(absent[:, j].nonzero()[0, 0])
        out[names[j]] = (per_column[j], lines[first])
    return out


class MeanImputer:
    """x_ij ← μ_j where x_ij is missing (NaN); μ_j the mean of column j's present training
    values, in float64.  ≙ ``sklearn.impute.SimpleImputer(strategy="mean")``.

    Example:
        >>> imp = MeanImputer().fit(torch.tensor([[1.0, float("nan")], [3.0, 4.0]]))
        >>> imp.transform(torch.tensor([[float("nan"), float("nan")]])).tolist()
        [[2.0, 4.0]]
    """

    def __init__(self) -> None:
        self.mean: torch.Tensor | None = None  # (F,) float64

    def fit(self, X: torch.Tensor, names: list[str] | None = None) -> MeanImputer:
        present = ~torch.isnan(X)  # (N, F)
        n = present.sum(dim=0)  # (F,) present values per column
        empty = (n == 0).nonzero()
        if len(empty):
            j = int(empty[0, 0])
            name = names[j] if names else f"column {j}"
            raise UserError(
                f"feature {name!r} has no value in any training row, so it has no mean to fill "
                f"with; leave it out with --drop {name}"
            )
        total = torch.where(present, X.double(), 0.0).sum(dim=0)  # (F,) Σ of present values
        self.mean = total / n  # (F,)
        return self

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        assert self.mean is not None, "fit(X_train) first"
        return torch.where(torch.isnan(X), self.mean.to(X.dtype), X)  # (N, F)

    def state_dict(self) -> dict[str, list[float]]:
        assert self.mean is not None, "fit(X_train) first"
        return {"mean": self.mean.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict, n_features: int) -> MeanImputer:
        """Rebuild from `state_dict()`; `UserError` if the stored values are unusable."""
        mean = state.get("mean") if isinstance(state, dict) else None
        ok = isinstance(mean, list) and len(mean) == n_features
        if not ok or not all(type(v) in (int, float) and math.isfinite(v) for v in mean):
            raise UserError(
                f"bad imputer state: expected {{'mean': [{n_features} finite numbers]}}"
            )
        self = cls()
        self.mean = torch.tensor(mean, dtype=torch.float64)  # (F,)
        return self
