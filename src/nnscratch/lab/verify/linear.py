"""Mapping-table rows for the seed: linear regression trained with plain SGD.

requires_grad tensors ↔ nn.Parameter      forward ↔ nn.Linear      mse_loss ↔ nn.MSELoss
manual update ↔ optimizer.step()          gradient reset ↔ optimizer.zero_grad()
the five-step loop ↔ the nn/optim loop, parameters compared at every step
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.data.synthetic import make_regression
from nnscratch.lab.verify.check import Row, compare
from nnscratch.loop import fit
from nnscratch.losses import mse_loss
from nnscratch.models import LinearRegression
from nnscratch.optim import SGD

ORDER = 10
F64 = torch.float64


def pair(in_features: int, seed: int = 0, dtype: torch.dtype = F64):
    """The manual model and ``nn.Linear(in_features, 1)`` created from the same seed."""
    torch.manual_seed(seed)
    manual = LinearRegression(in_features, dtype=dtype)
    torch.manual_seed(seed)
    reference = nn.Linear(in_features, 1, dtype=dtype)
    return manual, reference


def reference_trajectory(
    reference: nn.Linear, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int
) -> list[list[torch.Tensor]]:
    """Parameters after each step of the usual nn/optim loop."""
    optimizer = optim.SGD(reference.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    out = []
    for _ in range(steps):
        loss = loss_fn(reference(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        out.append([p.detach().clone() for p in reference.parameters()])
    return out


def manual_trajectory(
    manual: LinearRegression, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int
) -> list[list[torch.Tensor]]:
    """Parameters after each step of `nnscratch.fit` (full batch: one step per epoch)."""
    out = []
    fit(
        manual,
        X,
        y,
        lr=lr,
        epochs=steps,
        callback=lambda *_: out.append([p.detach().clone() for p in manual.parameters()]),
    )
    return out


def rows() -> Iterator[Row]:
    manual, reference = pair(3)
    params = list(manual.parameters())
    leaves = all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in params)
    yield compare(
        "requires_grad tensors",
        "nn.Parameter",
        "initial weight, bias (seed 0); leaves",
        params,
        list(reference.parameters()),
        atol=0.0,
        extra_ok=leaves,
    )

    data = make_regression(n_samples=64, features=3, noise=0.1, seed=1, dtype=F64)
    X, y = data.X, data.y
    yield compare(
        "forward x @ w.T + b",
        "nn.Linear",
        "predictions (64×3 input)",
        manual(X),
        reference(X),
        atol=1e-12,
    )

    y_pred = manual(X).detach().requires_grad_(True)
    y_ref = y_pred.detach().clone().requires_grad_(True)
    for reduction in ("mean", "sum", "none"):
        a = mse_loss(y_pred, y, reduction=reduction)
        b = nn.MSELoss(reduction=reduction)(y_ref, y)
        yield compare(
            "mse_loss",
            "nn.MSELoss",
            f"value, reduction={reduction!r}",
            a,
            b,
            atol=1e-12,
            rtol=1e-12,
        )
    mse_loss(y_pred, y).backward()
    nn.MSELoss()(y_ref, y).backward()
    yield compare(
        "mse_loss",
        "nn.MSELoss",
        "gradient ∂L/∂y_pred",
        y_pred.grad,
        y_ref.grad,
        atol=1e-12,
        rtol=1e-12,
    )

    mse_loss(manual(X), y).backward()
    nn.MSELoss()(reference(X), y).backward()
    sgd, torch_sgd = SGD(manual.parameters(), lr=0.1), optim.SGD(reference.parameters(), lr=0.1)
    sgd.step()
    torch_sgd.step()
    yield compare(
        "p -= lr * p.grad",
        "optimizer.step()",
        "parameters after one step",
        list(manual.parameters()),
        list(reference.parameters()),
        atol=1e-12,
        rtol=1e-12,
        extra_ok=all(p.is_leaf for p in manual.parameters()),
    )

    grads = [p.grad for p in manual.parameters()]
    sgd.zero_grad(set_to_none=False)
    torch_sgd.zero_grad(set_to_none=False)
    zeroed = [p.grad for p in manual.parameters()]
    same_storage = all(a is b for a, b in zip(grads, zeroed, strict=True))
    yield compare(
        "grad.zero_()",
        "optimizer.zero_grad(set_to_none=False)",
        "gradients after reset",
        zeroed,
        [p.grad for p in reference.parameters()],
        atol=0.0,
        extra_ok=same_storage,
    )
    sgd.zero_grad()
    torch_sgd.zero_grad()
    both_none = all(p.grad is None for p in [*manual.parameters(), *reference.parameters()])
    yield Row(
        "grad = None",
        "optimizer.zero_grad()",
        "gradients are None after reset",
        0.0,
        0.0,
        0.0,
        both_none,
    )

    for dtype, tol in ((F64, 1e-12), (torch.float32, 1e-6)):
        for features in (1, 3):
            manual, reference = pair(features, seed=2, dtype=dtype)
            data = make_regression(n_samples=100, features=features, seed=3, dtype=dtype)
            steps = 100
            mine = manual_trajectory(manual, data.X, data.y, lr=0.1, steps=steps)
            theirs = reference_trajectory(reference, data.X, data.y, lr=0.1, steps=steps)
            flat_mine = [p for step in mine for p in step]
            flat_theirs = [p for step in theirs for p in step]
            name = str(dtype).removeprefix("torch.")
            yield compare(
                "five-step loop (fit)",
                "nn.Linear + nn.MSELoss + optim.SGD",
                f"params at all {steps} steps, {features} feature(s), {name}",
                flat_mine,
                flat_theirs,
                atol=tol,
                rtol=tol,
            )
