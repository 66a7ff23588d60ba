"""Mapping-table rows for the fast options: `LinearStep` (the buffered hand-derived step of a
linear model) ↔ ``nn.Linear`` + loss + ``backward()``, and `FlatParameters` + `Adam` ↔
``torch.optim.Adam(fused=True)``."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.backprop.linear_step import LinearStep
from nnscratch.lab.verify.check import Row, compare
from nnscratch.losses import binary_cross_entropy_with_logits, mse_loss
from nnscratch.models import MLP, LinearRegression, LogisticRegression
from nnscratch.optim import Adam
from nnscratch.optim.flat import FlatParameters

ORDER = 75
F64 = torch.float64


def _linear_step_row(kind: str) -> Row:
    g = torch.Generator().manual_seed(3)
    X = torch.randn(40, 3, generator=g, dtype=F64)
    if kind == "mse":
        y = torch.randn(40, 1, generator=g, dtype=F64)
        ours, loss_fn, ref_loss = LinearRegression(3, dtype=F64), mse_loss, nn.MSELoss()
    else:
        y = torch.randint(0, 2, (40, 1), generator=g).to(F64)
        ours = LogisticRegression(3, dtype=F64)
        loss_fn, ref_loss = binary_cross_entropy_with_logits, nn.BCEWithLogitsLoss()
    ref = nn.Linear(3, 1, dtype=F64)
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    loss = LinearStep(ours, loss_fn)(X, y)
    expected = ref_loss(ref(X), y)
    expected.backward()
    return compare(
        "LinearStep (buffers, no autograd)",
        f"nn.Linear + {type(ref_loss).__name__} + backward()",
        f"loss, ∂L/∂W, ∂L/∂b ({kind}, float64)",
        [loss, ours.weight.grad, ours.bias.grad],
        [expected.detach(), ref.weight.grad, ref.bias.grad],
        atol=1e-12,
        rtol=1e-12,
    )


def _flat_adam_row() -> Row:
    g = torch.Generator().manual_seed(4)
    X, y = torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)
    torch.manual_seed(0)
    ours = MLP(4, [8], 1)
    ref = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
            q.copy_(p)
    flat = FlatParameters(ours.parameters())
    opt, ref_opt = Adam([flat.param], lr=1e-2), optim.Adam(ref.parameters(), lr=1e-2, fused=True)
    for _ in range(20):
        mse_loss(ours(X), y).backward()
        opt.step()
        opt.zero_grad()
        nn.functional.mse_loss(ref(X), y).backward()
        ref_opt.step()
        ref_opt.zero_grad()
    return compare(
        "FlatParameters + Adam",
        "torch.optim.Adam(fused=True)",
        "MLP parameters after 20 steps (float32)",
        list(ours.parameters()),
        list(ref.parameters()),
        atol=1e-6,
        rtol=1e-5,
    )


def rows() -> Iterator[Row]:
    yield _linear_step_row("mse")
    yield _linear_step_row("bce")
    yield _flat_adam_row()
