"""Splitting and standardization.  Replaces ``torch.utils.data.random_split`` and sklearn's
``StandardScaler`` (PyTorch has no fitted scaler: ``transforms.Normalize`` takes a given μ, σ).

Split, from one seeded permutation of the N rows:

    n_val = round(val_fraction·N), n_test = round(test_fraction·N)   (at least 1 if fraction > 0)
    n_train = N − n_val − n_test
    perm ← randperm(N, generator seeded with `seed`)
    test ← perm[:n_test],  val ← perm[n_test : n_test + n_val],  train ← the rest

which is exactly ``test, val, train = random_split(dataset, [n_test, n_val, n_train], generator=g)``:
the same permutation, cut in the same order, so both put the same rows in each part.

Standardize, with statistics from the *training part only* (using the validation or test rows
would leak them into training):

    μ_j = (1/N) Σ_i x_ij          σ_j = √((1/N) Σ_i (x_ij − μ_j)²)      x'_ij = (x_ij − μ_j) / σ_j

A column whose mean or variance overflows float64 (values near 1e200: their squares are
beyond 1.8e308) raises `StandardizeOverflow` (a ValueError naming the column).

Conventions, as ``StandardScaler``: the population std (divide by N, ``ddof=0``; ``torch.std``
divides by N − 1 by default), and σ_j = 1 for a constant column (including one whose computed
variance is only rounding error), so it maps to 0 instead of NaN. Statistics are computed in
float64 whatever the input dtype; the output keeps the input's dtype. Mapped rows
(`nnscratch.data.mapped`) are fitted in a streamed pass and transformed lazily, batch by batch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from nnscratch.data import rows
from nnscratch.data.dataset import Dataset
from nnscratch.data.mapped import MappedRows
from nnscratch.errors import UserError


class Splits(NamedTuple):
    train: Dataset
    val: Dataset  # 0 rows when val_fraction == 0
    test: Dataset  # 0 rows when test_fraction == 0


def _rows(fraction: float, n: int, name: str) -> int:
    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise UserError(f"{name} must be a number in [0, 1), got {fraction!r}")
    return 0 if fraction == 0 else max(1, round(fraction * n))


def split(
    dataset: Dataset, val_fraction: float = 0.2, test_fraction: float = 0.0, seed: int = 0
) -> Splits:
    """Seeded random split into train / val / test parts (no stratification).

    Args:
        dataset: the `Dataset` to split.
        val_fraction: fraction of rows for validation (default 0.2).
        test_fraction: fraction of rows for the test part (default 0.0).
        seed: the seed of every random draw (default 0).
    """
    n = len(dataset)
    n_val = _rows(val_fraction, n, "val_fraction")
    n_test = _rows(test_fraction, n, "test_fraction")
    n_train = n - n_val - n_test
    if n_train < 1:
        raise UserError(
            f"--val-fraction {val_fraction} and --test-fraction {test_fraction} leave no "
            f"training rows out of {n}; lower them (their sum must stay below 1)"
        )
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)  # (N,)
    test, val, train = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    assert len(train) == n_train
    return Splits(dataset.subset(train), dataset.subset(val), dataset.subset(test))


class StandardizeOverflow(ValueError):
    """A column whose mean or variance overflows float64 (values beyond ~1e154 squared)."""

    def __init__(self, column: int) -> None:
        super().__init__(
            f"column {column}: its values are too large to standardize (the variance overflows "
            "float64); rescale the column"
        )
        self.column = column


class Standardizer:
    """x' = (x − μ) / σ per column, μ and σ fitted on training data (``StandardScaler``)."""

    def __init__(self) -> None:
        self.mean: torch.Tensor | None = None  # (F,) float64
        self.std: torch.Tensor | None = None  # (F,) float64, never 0

    def fit(self, X: torch.Tensor | MappedRows) -> Standardizer:
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"fit needs an (N, F) tensor with N >= 1, got shape {tuple(X.shape)}")
        n = X.shape[0]
        mean, var = rows.moments(X)  # (F,), (F,) population variance (divide by N), float64
        bad = ~(torch.isfinite(mean) & torch.isfinite(var))  # (F,) e.g. values near 1e200
        if bool(bad.any()):
            raise StandardizeOverflow(int(bad.nonzero()[0, 0]))
        # constant column: the variance is within the rounding error of the two-pass formula
        eps = torch.finfo(torch.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2  # (F,) bool
        self.mean = mean
        self.std = torch.where(constant, torch.ones_like(var), var.sqrt())  # (F,)
        return self

    def _check_fitted(self, X: torch.Tensor) -> None:
        if self.mean is None or self.std is None:
            raise RuntimeError("this Standardizer is not fitted yet; call fit(X_train) first")
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"expected an (N, {self.mean.shape[0]}) tensor, got shape {tuple(X.shape)}"
            )

    def transform(self, X: torch.Tensor | MappedRows) -> torch.Tensor | MappedRows:
        self._check_fitted(X)
        return rows.standardize(X, self.mean, self.std)  # (N, F); on disk: per batch read

    def fit_transform(self, X: torch.Tensor) -> torch.Tensor:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: torch.Tensor) -> torch.Tensor:
        """x = x'·σ + μ, back to the original units (e.g. a standardized regression target)."""
        self._check_fitted(X)
        return (X.double() * self.std + self.mean).to(X.dtype)  # (N, F)

    # -- state: plain lists, so it can be stored as JSON next to a checkpoint ---------------
    def state_dict(self) -> dict[str, list[float]]:
        if self.mean is None or self.std is None:
            raise RuntimeError("this Standardizer is not fitted yet; call fit(X_train) first")
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict) -> Standardizer:
        """Rebuild from `state_dict()`; `UserError` if the stored values are unusable."""
        try:
            mean, std = list(map(float, state["mean"])), list(map(float, state["std"]))
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(
                f"bad standardizer state ({e!r}); expected {{'mean': [...], 'std': [...]}}"
            ) from e
        if len(mean) != len(std) or not all(math.isfinite(v) for v in mean + std):
            raise UserError("bad standardizer state: 'mean' and 'std' must be equal-length finite")
        if not all(s > 0 for s in std):
            raise UserError("bad standardizer state: every 'std' must be > 0")
        self = cls()
        self.mean = torch.tensor(mean, dtype=torch.float64)  # (F,)
        self.std = torch.tensor(std, dtype=torch.float64)  # (F,)
        return self
