"""Mapping-table rows: the backward pass derived by hand (`nnscratch.backprop`) ↔ ``loss.backward()``.

One row per model kind. The manual side is `loss_and_grads` on an nnscratch model (no autograd at
all); the reference is the usual PyTorch path, ``nn`` layers + a ``torch.nn`` loss, created from
the same seed, then ``loss.backward()``. Compared: the loss value and every parameter's gradient,
float64, within 1e-10.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from nnscratch import losses as L
from nnscratch.backprop import loss_and_grads
from nnscratch.lab.verify.check import Row, compare
from nnscratch.models import MLP, LinearRegression, LogisticRegression
from nnscratch.module import Module

ORDER = 70
F64 = torch.float64
TOL = 1e-10
N, FEATURES, CLASSES = 64, 3, 4


def _row(
    piece: str,
    manual: Callable[[], Module],
    reference: Callable[[], nn.Module],
    mine: Callable[..., torch.Tensor],
    theirs: nn.Module,
    y: torch.Tensor,
    X: torch.Tensor,
) -> Row:
    torch.manual_seed(0)
    model = manual()
    torch.manual_seed(0)
    ref = reference()
    loss = loss_and_grads(model, mine, X, y)
    ref_loss = theirs(ref(X), y)
    ref_loss.backward()
    count = len(list(model.parameters()))
    return compare(
        f"hand-derived backward: {piece}",
        "loss.backward() (autograd)",
        f"loss and the gradients of all {count} parameters; {N}×{FEATURES}, float64",
        [loss, *(p.grad for p in model.parameters())],
        [ref_loss, *(p.grad for p in ref.parameters())],
        atol=TOL,
        rtol=TOL,
    )


def rows() -> Iterator[Row]:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(N, FEATURES, generator=g, dtype=F64)  # (N, F)
    y_reg = torch.randn(N, 1, generator=g, dtype=F64)  # (N, 1)
    y_bin = torch.rand(N, 1, generator=g, dtype=F64).round()  # (N, 1) labels in {0, 1}
    y_cls = torch.randint(0, CLASSES, (N,), generator=g)  # (N,) class indices
    kw = {"dtype": F64}

    yield _row(
        "linear regression + mse_loss",
        lambda: LinearRegression(FEATURES, **kw),
        lambda: nn.Linear(FEATURES, 1, **kw),
        L.mse_loss,
        nn.MSELoss(),
        y_reg,
        X,
    )
    yield _row(
        "logistic regression + bce_with_logits",
        lambda: LogisticRegression(FEATURES, 2, **kw),
        lambda: nn.Linear(FEATURES, 1, **kw),
        L.binary_cross_entropy_with_logits,
        nn.BCEWithLogitsLoss(),
        y_bin,
        X,
    )
    yield _row(
        "softmax regression + cross_entropy",
        lambda: LogisticRegression(FEATURES, CLASSES, **kw),
        lambda: nn.Linear(FEATURES, CLASSES, **kw),
        L.cross_entropy,
        nn.CrossEntropyLoss(),
        y_cls,
        X,
    )
    yield _row(
        "MLP relu + cross_entropy",
        lambda: MLP(FEATURES, [8, 8], CLASSES, "relu", **kw),
        lambda: nn.Sequential(
            nn.Linear(FEATURES, 8, **kw),
            nn.ReLU(),
            nn.Linear(8, 8, **kw),
            nn.ReLU(),
            nn.Linear(8, CLASSES, **kw),
        ),
        L.cross_entropy,
        nn.CrossEntropyLoss(),
        y_cls,
        X,
    )
    yield _row(
        "MLP tanh + mse_loss",
        lambda: MLP(FEATURES, [8], 1, "tanh", **kw),
        lambda: nn.Sequential(nn.Linear(FEATURES, 8, **kw), nn.Tanh(), nn.Linear(8, 1, **kw)),
        L.mse_loss,
        nn.MSELoss(),
        y_reg,
        X,
    )
