"""The ``nnscratch train`` job: config → data → model → the five-step loop → report.

For linear regression the report compares what gradient descent learned with the true parameters
the data came from and with the closed-form least-squares optimum (``torch.linalg.lstsq``): the
loss gap says how close the loop got to the best any linear model can do on this data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.config import TrainConfig
from nnscratch.data.synthetic import make_regression
from nnscratch.loop import fit
from nnscratch.losses import mse_loss
from nnscratch.models import LinearRegression
from nnscratch.optim import SGD


def least_squares(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The (weight (1, F), bias (1,)) minimising mean((Xwᵀ + b − y)²), solved in float64."""
    X64, y64 = X.double(), y.double()
    A = torch.cat([X64, torch.ones(X64.shape[0], 1, dtype=torch.float64)], dim=1)  # (N, F+1)
    solution = torch.linalg.lstsq(A, y64).solution  # (F+1, 1)
    return solution[:-1].T, solution[-1]


def run(config: TrainConfig, log: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train as ``config`` says and return a JSON-ready summary."""
    config.validate()
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    data = make_regression(config.n_samples, config.features, config.noise, config.seed, dtype)
    model = LinearRegression(config.features, dtype=dtype)
    optimizer = SGD(model.parameters(), lr=config.lr)
    history = fit(model, data.X, data.y, optimizer=optimizer, epochs=config.epochs, callback=log)
    with torch.no_grad():
        final_loss = mse_loss(model(data.X), data.y).item()
        ls_w, ls_b = least_squares(data.X, data.y)
        ls_loss = mse_loss(data.X.double() @ ls_w.T + ls_b, data.y.double()).item()
    return {
        "config": config.to_dict(),
        "final_loss": final_loss,
        "loss_history": history,
        "parameters": {"weight": model.weight.tolist(), "bias": model.bias.tolist()},
        "true": {"weight": data.true_weight.tolist(), "bias": data.true_bias.tolist()},
        "least_squares": {"weight": ls_w.tolist(), "bias": ls_b.tolist(), "loss": ls_loss},
        "loss_gap": final_loss - ls_loss,
        "relative_loss_gap": (final_loss - ls_loss) / ls_loss if ls_loss > 0 else None,
    }
