"""Mapping-table rows for ``nnscratch explain``: the numbers it prints are PyTorch's numbers.

explain's hand-derived ∂L/∂W, ∂L/∂b (from nnscratch.backprop) ↔ loss.backward() through
                            nn.Linear + nn.MSELoss
traced grads and updates    ↔ the nn/optim loop, step by step
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.data.synthetic import make_regression
from nnscratch.lab.explain import analytic_for, trace
from nnscratch.lab.verify.check import Row, compare
from nnscratch.layers import Linear
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD

ORDER = 90
F64 = torch.float64


def _values(rec: dict, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rec["values"], dtype=like.dtype).view(rec["shape"])


def rows() -> Iterator[Row]:
    torch.manual_seed(0)
    manual = Linear(3, 2, dtype=F64)
    reference = nn.Linear(3, 2, dtype=F64)
    with torch.no_grad():
        reference.weight.copy_(manual.weight)
        reference.bias.copy_(manual.bias)
    X, y = torch.randn(10, 3, dtype=F64), torch.randn(10, 2, dtype=F64)
    nn.MSELoss()(reference(X), y).backward()
    hand = analytic_for(manual, mse_loss)(manual, X, y)
    yield compare(
        "hand-derived ∂L/∂W, ∂L/∂b (explain)",
        "loss.backward() via nn.Linear + nn.MSELoss",
        "∂L/∂W, ∂L/∂b (10×3 input, 2 outputs)",
        [hand["weight"], hand["bias"]],
        [reference.weight.grad, reference.bias.grad],
        atol=1e-12,
        rtol=1e-12,
    )

    data = make_regression(n_samples=8, features=2, seed=5, dtype=F64)
    torch.manual_seed(1)
    manual = Linear(2, 1, dtype=F64)
    torch.manual_seed(1)
    reference = nn.Linear(2, 1, dtype=F64)
    records = trace(manual, data.X, data.y, mse_loss, SGD(manual.parameters(), lr=0.1), steps=3)
    torch_sgd = optim.SGD(reference.parameters(), lr=0.1)
    mine, theirs = [], []
    for r in records:
        nn.MSELoss()(reference(data.X), data.y).backward()
        theirs += [p.grad.clone() for p in reference.parameters()]
        mine += [_values(r["backward"]["grads"][n], p) for n, p in reference.named_parameters()]
        torch_sgd.step()
        torch_sgd.zero_grad()
        theirs += [p.detach().clone() for p in reference.parameters()]
        mine += [
            _values(r["update"]["parameters"][n]["new"], p) for n, p in reference.named_parameters()
        ]
    checks_hold = all(
        r["backward"]["parameters_unchanged"]
        and all(a["agrees"] for a in r["backward"]["analytic"].values())
        and all(u["exact"] for u in r["update"]["parameters"].values())
        for r in records
    )
    yield compare(
        "explain's trace (5 phases)",
        "nn.Linear + nn.MSELoss + optim.SGD",
        "grads and new params at 3 steps; its own checks hold",
        mine,
        theirs,
        atol=1e-12,
        rtol=1e-12,
        extra_ok=checks_hold,
    )
