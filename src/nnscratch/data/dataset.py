"""The one container every data source returns.  Plays the part of ``TensorDataset(X, y)`` plus the
metadata a user needs to read results: column names, the task, and the original class labels.

Conventions (the ones PyTorch's losses expect):

    regression:      X (N, F) float,  y (N, 1) float       ← what ``nn.MSELoss`` compares against
    classification:  X (N, F) float,  y (N,)   int64       ← class indices 0..C−1, as
                                                              ``nn.CrossEntropyLoss`` takes them
    language model:  X (N, T) int64,  y (N, T) int64       ← token ids; y[i, t] is the class (the
                                                              next character) of position t

``classes[k]`` is the original label (a string or a number) that class index ``k`` stands for.
X may also be `MappedRows`, the rows of a memory-mapped .npy file, read batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import torch

from nnscratch.data import rows
from nnscratch.data.mapped import MappedRows

Task = Literal["regression", "classification"]


@dataclass
class Dataset:
    """Rows X with their targets y and what they mean.  ≙ ``TensorDataset(X, y)`` plus names.

    Args:
        X: inputs (N, F), floating point (or int64 token ids), in memory or `MappedRows` on disk.
        y: targets: (N, 1) float for regression, (N,) int64 class indices for classification.
        task: 'regression' or 'classification'.
        feature_names: F names, one per column of X.
        target_name: the name of the target column (default 'y').
        classes: the original label of each class index (default None).
        name: where the data came from, a built-in name or a file name (default 'data').
        extra: source-specific facts, e.g. the true weights (default {}).

    Example:
        >>> d = Dataset(torch.randn(4, 2), torch.randn(4, 1), "regression", ["a", "b"])
        >>> len(d), d.n_features
        (4, 2)
    """

    X: torch.Tensor | MappedRows  # (N, F) floating point, in memory or mapped from a file
    y: torch.Tensor  # (N, 1) float for regression, (N,) int64 class indices for classification
    task: Task  # "regression" or "classification"
    feature_names: list[str]  # F names, one per column of X
    target_name: str = "y"  # the name of the target column
    classes: list[str | int | float] | None = None  # original label of each class index, or None
    name: str = "data"  # where the data came from (a built-in name or a file name)
    extra: dict = field(default_factory=dict)  # source-specific facts (e.g. the true weights)

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        tokens = self.X.dtype == torch.int64  # a language model's (N, T) token ids
        assert self.X.ndim == 2 and (self.X.is_floating_point() or tokens), self.X.dtype
        assert len(self.feature_names) == self.X.shape[1], (self.feature_names, self.X.shape)
        assert self.y.shape[0] == n, (self.X.shape, self.y.shape)
        if self.task == "regression":
            assert self.y.ndim == 2 and self.y.shape[1] == 1 and self.y.is_floating_point()
            assert self.classes is None
        else:
            assert self.task == "classification", self.task
            y_ndim = 2 if tokens else 1  # (N,) classes, or (N, T) next tokens
            assert self.y.ndim == y_ndim and self.y.dtype == torch.int64, self.y.shape
            assert self.classes is not None

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int | None:
        """C for classification, None for regression."""
        return None if self.classes is None else len(self.classes)

    def subset(self, index: torch.Tensor) -> Dataset:
        """The rows at ``index`` (like ``torch.utils.data.Subset``, but gathered into new tensors;
        mapped rows stay on disk)."""
        X = rows.subset(self.X, index)  # (n, F), or a view of the rows on disk
        return replace(self, X=X, y=self.y[index])  # (n, F), (n, ...)

    def to(self, dtype: torch.dtype) -> Dataset:
        """Cast the features (and a regression target) to ``dtype``; indices stay int64."""
        y = self.y.to(dtype) if self.task == "regression" else self.y
        X = self.X if self.X.dtype == torch.int64 else self.X.to(dtype)
        return replace(self, X=X, y=y)
