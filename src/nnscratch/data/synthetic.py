"""The seed's data: points on a known line (or hyperplane) plus Gaussian noise.

    x ~ N(0, 1)^features,   y = x·w_true + b_true + noise·ε,   ε ~ N(0, 1)

Everything is drawn from one seeded generator, so the same seed gives the same data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SyntheticData:
    """The seed's data and the line it was drawn from: y = X wᵀ + b + noise.

    Args:
        X: inputs (N, F).
        y: targets (N, 1).
        true_weight: the w the data was generated from, (1, F).
        true_bias: the b, (1,).
    """

    X: torch.Tensor  # (N, F)
    y: torch.Tensor  # (N, 1)
    true_weight: torch.Tensor  # (1, F), the w the data was generated from
    true_bias: torch.Tensor  # (1,)


def make_regression(
    n_samples: int = 100,
    features: int = 1,
    noise: float = 0.1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> SyntheticData:
    """The seed's data: y = X wᵀ + b + noise·ε, with w ~ U(−3, 3), b ~ U(−2, 2) rounded to one
    decimal, X, ε ~ N(0, 1); drawn in float64 from its own generator, then cast to ``dtype``.

    Args:
        n_samples: rows N (default 100).
        features: input features F (default 1).
        noise: the standard deviation of the noise (default 0.1).
        seed: the generator's seed: the same seed gives the same data (default 0).
        dtype: dtype of X and y (default float32).

    Example:
        >>> data = make_regression(100, features=1, seed=0)
        >>> data.X.shape, data.y.shape
        (torch.Size([100, 1]), torch.Size([100, 1]))
    """
    g = torch.Generator().manual_seed(seed)
    true_weight = torch.empty(1, features, dtype=torch.float64).uniform_(-3, 3, generator=g)
    true_bias = torch.empty(1, dtype=torch.float64).uniform_(-2, 2, generator=g)
    # Rounded to one decimal so that a learner can read the target numbers at a glance.
    true_weight, true_bias = true_weight.round(decimals=1), true_bias.round(decimals=1)
    X = torch.randn(n_samples, features, generator=g, dtype=torch.float64)  # (N, F)
    eps = torch.randn(n_samples, 1, generator=g, dtype=torch.float64)  # (N, 1)
    y = X @ true_weight.T + true_bias + noise * eps  # (N, 1)
    return SyntheticData(X.to(dtype), y.to(dtype), true_weight.to(dtype), true_bias.to(dtype))
