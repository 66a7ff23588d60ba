"""Time to target: the digits MLP trained until its test accuracy reaches 0.97.

Both sides train on the same prepared split (`nnscratch.run.prepare.prepare` with
``TrainConfig(data="builtin:digits")``: standardised, seed 0), from the same initial weights, with
the data set's defaults (hidden 64, ReLU, Adam lr 1e-3, batch 32, cross-entropy). After every
epoch both measure test accuracy the same way; the clock stops at the first epoch ≥ the target.

    nnscratch:  MLP + cross_entropy + Adam, the five-step loop over `batches` (as `fit` runs it)
    reference:  nn.Sequential + nn.CrossEntropyLoss + optim.Adam + DataLoader(shuffle=True)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

from nnscratch.lab.bench.loops import five_steps
from nnscratch.run import build
from nnscratch.run.config import TrainConfig

TARGET_ACCURACY = 0.97


def _accuracy(model: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, y: torch.Tensor):
    with torch.no_grad():
        return (model(X).argmax(dim=1) == y).double().mean().item()  # logits (N, C) → classes


def time_to_target(max_epochs: int, target: float = TARGET_ACCURACY) -> dict[str, Callable]:
    """Variant → run() returning (seconds, epochs, reached); each run trains from scratch."""
    from nnscratch.run.prepare import prepare

    data = prepare(TrainConfig(data="builtin:digits"))
    config, train, test = data.config, data.train, data.test
    dtype = getattr(torch, config.dtype)

    def manual() -> tuple[float, int, bool]:
        torch.manual_seed(config.seed)
        model = build.build_model(config, train.n_features, data.out_features, dtype, "cpu")
        opt, loss_fn = build.build_optimizer(config, model.parameters()), build.build_loss(config)
        gen = torch.Generator().manual_seed(config.seed)
        train_epoch = five_steps(
            model, opt, train.X, train.y, config.batch_size, gen, loss_fn=loss_fn
        )
        start = time.perf_counter()
        for epoch in range(1, max_epochs + 1):
            train_epoch(1)
            if _accuracy(model, test.X, test.y) >= target:
                return time.perf_counter() - start, epoch, True
        return time.perf_counter() - start, max_epochs, False

    def reference() -> tuple[float, int, bool]:
        torch.manual_seed(config.seed)
        hidden = config.hidden_sizes()[0]
        model = nn.Sequential(
            nn.Linear(train.n_features, hidden), nn.ReLU(), nn.Linear(hidden, data.out_features)
        )
        opt, loss_fn = optim.Adam(model.parameters(), lr=config.lr), nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(config.seed)
        loader = DataLoader(
            TensorDataset(train.X, train.y), config.batch_size, shuffle=True, generator=gen
        )
        start = time.perf_counter()
        for epoch in range(1, max_epochs + 1):
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                loss.item()
                loss.backward()
                opt.step()
                opt.zero_grad()
            if _accuracy(model, test.X, test.y) >= target:
                return time.perf_counter() - start, epoch, True
        return time.perf_counter() - start, max_epochs, False

    assert config.model == "mlp" and config.optimizer == "adam" and len(config.hidden_sizes()) == 1
    return {"nnscratch": manual, "nn/optim + DataLoader": reference}
