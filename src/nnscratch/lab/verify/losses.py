"""Mapping-table rows for the losses: nnscratch.losses ↔ nn.*Loss, for every reduction.

Each row compares the loss value and ∂(Σ loss)/∂input of the hand-written loss and of the ``nn``
module built with the same keyword arguments, on one fixed float64 batch whose predictions
include ±1000 (far out on the linear part of L1/Huber; saturated logits for the cross-entropies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from nnscratch import losses as L
from nnscratch.lab.verify.check import Row, compare

ORDER = 30
F64 = torch.float64
TOL = 1e-12
REDUCTIONS = ("mean", "sum", "none")

LossOf = Callable[[torch.Tensor, str], torch.Tensor]  # (input, reduction) -> loss


def cases() -> list[tuple[str, str, str, LossOf, LossOf]]:
    """(piece, abstraction, setting, manual, reference), both closing over the same batch."""
    g = torch.Generator().manual_seed(0)
    y = torch.randn(8, 4, dtype=F64, generator=g) * 3  # (N, C) regression target
    p = torch.rand(8, 4, dtype=F64, generator=g)  # (N, C) probabilities, BCE target
    t = torch.tensor([1, 1, 0, 3, 2, 2, 0, 3])  # (N,) class indices
    w = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=F64)  # (C,) class / positive weights
    bce = L.binary_cross_entropy_with_logits
    return [
        ("l1_loss", "nn.L1Loss", "", lambda a, r: L.l1_loss(a, y, r),
         lambda a, r: nn.L1Loss(reduction=r)(a, y)),
        ("huber_loss", "nn.HuberLoss", "delta=1", lambda a, r: L.huber_loss(a, y, r),
         lambda a, r: nn.HuberLoss(reduction=r)(a, y)),
        ("huber_loss", "nn.HuberLoss", "delta=2.5", lambda a, r: L.huber_loss(a, y, r, 2.5),
         lambda a, r: nn.HuberLoss(reduction=r, delta=2.5)(a, y)),
        ("cross_entropy", "nn.CrossEntropyLoss", "", lambda a, r: L.cross_entropy(a, t, reduction=r),
         lambda a, r: nn.CrossEntropyLoss(reduction=r)(a, t)),
        ("cross_entropy", "nn.CrossEntropyLoss", "weight, label_smoothing=0.1",
         lambda a, r: L.cross_entropy(a, t, w, reduction=r, label_smoothing=0.1),
         lambda a, r: nn.CrossEntropyLoss(w, reduction=r, label_smoothing=0.1)(a, t)),
        ("bce_with_logits", "nn.BCEWithLogitsLoss", "", lambda a, r: bce(a, p, reduction=r),
         lambda a, r: nn.BCEWithLogitsLoss(reduction=r)(a, p)),
        ("bce_with_logits", "nn.BCEWithLogitsLoss", "pos_weight",
         lambda a, r: bce(a, p, reduction=r, pos_weight=w),
         lambda a, r: nn.BCEWithLogitsLoss(reduction=r, pos_weight=w)(a, p)),
    ]  # fmt: skip


def value_and_grad(loss: LossOf, x: torch.Tensor, reduction: str):
    x = x.clone().requires_grad_(True)
    value = loss(x, reduction)
    value.sum().backward()
    return value.detach(), x.grad


def rows() -> Iterator[Row]:
    x = torch.randn(8, 4, dtype=F64, generator=torch.Generator().manual_seed(1)) * 3  # (N, C)
    x[0, 0], x[1, 1] = 1000.0, -1000.0
    for piece, abstraction, setting, manual, reference in cases():
        for reduction in REDUCTIONS:
            va, ga = value_and_grad(manual, x, reduction)
            vb, gb = value_and_grad(reference, x, reduction)
            finite = bool(torch.isfinite(va).all() and torch.isfinite(ga).all())
            settings = ", ".join(s for s in (f"reduction={reduction!r}", setting) if s)
            yield compare(
                piece,
                abstraction,
                f"value and ∂L/∂input, {settings}",
                [va, ga],
                [vb, gb],
                atol=TOL,
                rtol=TOL,
                extra_ok=finite,
            )
