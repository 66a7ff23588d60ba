"""Mapping-table rows for the optimizers and learning-rate schedulers.

SGD, Adam, AdamW, RMSprop ↔ torch.optim.*      a small tanh MLP trained by both, every parameter
                                                compared after every step
StepLR, CosineAnnealingLR, LinearLR ↔ torch.optim.lr_scheduler.*      the lr sequences
state_dict()/load_state_dict() ↔ the same      a run saved and resumed equals the uninterrupted one

Both sides run the *same* loop (`train`) and are built by the *same* code (`build`) from a
`Case`: only the library differs (``nnscratch.optim`` or ``torch.optim``), which is the point: the
manual pieces swap for PyTorch's with a one-line change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch
from torch import nn, optim

import nnscratch.optim
from nnscratch.lab.verify.check import Row, compare
from nnscratch.layers import Linear
from nnscratch.losses import mse_loss
from nnscratch.module import Module

ORDER = 40
F64 = torch.float64
Trajectory = list[list[torch.Tensor]]  # parameters after each step


@dataclass
class Case:
    """One optimizer configuration, built the same way from either library."""

    optimizer: str  # class name, the same in nnscratch.optim and torch.optim
    kwargs: dict[str, Any] = field(default_factory=dict)  # the optimizer's keyword arguments
    second_group: dict[str, Any] | None = None  # output layer's own group: {"lr": 1e-3, ...}
    scheduler: tuple[str, dict[str, Any]] | None = None  # (class name, kwargs) in lr_scheduler

    @property
    def sign(self) -> float:
        """With ``maximize=True`` the loop maximises −MSE, so training still fits the data."""
        return -1.0 if self.kwargs.get("maximize", False) else 1.0

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.kwargs.items()]
        if self.second_group is not None:
            parts.append(f"2nd group {self.second_group}")
        if self.scheduler is not None:
            parts.append(self.scheduler[0])
        return f"{self.optimizer}({', '.join(parts)})"


class TanhMLP(Module):
    """``Linear → tanh → Linear``: ``nn.Sequential(nn.Linear, nn.Tanh, nn.Linear)`` by hand."""

    def __init__(self, sizes: tuple[int, int, int], dtype: torch.dtype = F64) -> None:
        self.hidden = Linear(sizes[0], sizes[1], dtype=dtype)
        self.out = Linear(sizes[1], sizes[2], dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.hidden(x))  # (N, in) -> (N, hidden)
        return self.out(h)  # (N, hidden) -> (N, out)


def make_model(lib: ModuleType, seed: int, dtype: torch.dtype, sizes=(5, 8, 1)):
    """The manual MLP (``lib`` is nnscratch.optim) or nn.Sequential; same seed, same init."""
    torch.manual_seed(seed)
    if lib is nnscratch.optim:
        return TanhMLP(sizes, dtype)
    a, b, c = sizes
    return nn.Sequential(nn.Linear(a, b, dtype=dtype), nn.Tanh(), nn.Linear(b, c, dtype=dtype))


def regression_data(seed: int, dtype: torch.dtype, n: int = 32, features: int = 5):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, features, generator=g, dtype=dtype)  # (N, F)
    y = torch.randn(n, 1, generator=g, dtype=dtype)  # (N, 1)
    return X, y


def build(case: Case, model, lib: ModuleType):
    """``(optimizer, scheduler or None)`` for ``model`` from ``lib`` (nnscratch.optim or torch.optim)."""
    params = list(model.parameters())  # hidden.weight, hidden.bias, out.weight, out.bias
    if case.second_group is not None:
        params = [{"params": params[:2]}, {"params": params[2:], **case.second_group}]
    pinned = {"foreach": False} if lib is optim else {}  # torch: the single-tensor path
    optimizer = getattr(lib, case.optimizer)(params, **case.kwargs, **pinned)
    scheduler = None
    if case.scheduler is not None:
        name, kwargs = case.scheduler
        scheduler = getattr(lib.lr_scheduler, name)(optimizer, **kwargs)
    return optimizer, scheduler


def train(model, optimizer, X, y, steps: int, scheduler=None, sign: float = 1.0) -> Trajectory:
    """The five-step loop (full batch), identical for both libraries; parameters after each step."""
    out = []
    for _ in range(steps):
        loss = sign * mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if scheduler is not None:
            scheduler.step()
        out.append([p.detach().clone() for p in model.parameters()])
    return out


def run_case(case: Case, dtype: torch.dtype, steps: int, seed: int = 0):
    """``(manual trajectory, torch trajectory)``: same seed, same data, same loop."""
    X, y = regression_data(seed + 100, dtype)
    runs = []
    for lib in (nnscratch.optim, optim):
        model = make_model(lib, seed, dtype)
        optimizer, scheduler = build(case, model, lib)
        runs.append(train(model, optimizer, X, y, steps, scheduler, case.sign))
    return runs[0], runs[1]


def resume_run(case: Case, lib: ModuleType, dtype: torch.dtype, k: int, n: int, seed: int = 0):
    """``(uninterrupted, resumed)``: the last n of k + n steps, run straight through, and run
    again after saving at step k and loading into a fresh model, optimizer and scheduler."""
    X, y = regression_data(seed + 100, dtype)
    model = make_model(lib, seed, dtype)
    optimizer, scheduler = build(case, model, lib)
    train(model, optimizer, X, y, k, scheduler, case.sign)
    saved_model = {name: t.clone() for name, t in model.state_dict().items()}
    saved_optimizer = optimizer.state_dict()
    saved_scheduler = scheduler.state_dict() if scheduler is not None else None
    straight = train(model, optimizer, X, y, n, scheduler, case.sign)

    fresh = make_model(lib, seed + 1, dtype)  # a different init: loading must overwrite it
    optimizer, scheduler = build(case, fresh, lib)
    fresh.load_state_dict(saved_model)
    optimizer.load_state_dict(saved_optimizer)
    if scheduler is not None:
        scheduler.load_state_dict(saved_scheduler)
    return straight, train(fresh, optimizer, X, y, n, scheduler, case.sign)


def lr_sequence(lib: ModuleType, name: str, kwargs: dict[str, Any], steps: int) -> torch.Tensor:
    """``get_last_lr()`` after construction and after each of ``steps`` steps, two groups."""
    w = torch.zeros(1, requires_grad=True)
    groups = [{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}]
    optimizer = lib.SGD(groups, lr=0.1)
    scheduler = getattr(lib.lr_scheduler, name)(optimizer, **kwargs)
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return torch.tensor(lrs, dtype=F64)  # (steps + 1, groups)


OPTIMIZER_ROWS = [
    Case("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    Case("Adam", dict(lr=1e-2, amsgrad=True)),
    Case("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    Case("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9)),
    # parameter groups: the output layer with its own lr and momentum, under a scheduler
    Case(
        "SGD",
        dict(lr=0.05, momentum=0.5),
        second_group={"lr": 0.01, "momentum": 0.9},
        scheduler=("StepLR", dict(step_size=10, gamma=0.5)),
    ),
]
SCHEDULER_ROWS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=20, eta_min=1e-3)),
    ("LinearLR", dict(start_factor=0.1, total_iters=10)),
]


def rows() -> Iterator[Row]:
    steps = 50
    for case in OPTIMIZER_ROWS:
        mine, theirs = run_case(case, F64, steps)
        yield compare(
            f"{case.optimizer} update rule",
            f"torch.optim.{case.optimizer}",
            f"MLP params at all {steps} steps, {case}, float64",
            [p for step in mine for p in step],
            [p for step in theirs for p in step],
            atol=1e-12,
            rtol=1e-10,
        )
    for name, kwargs in SCHEDULER_ROWS:
        yield compare(
            f"{name} chainable get_lr",
            f"lr_scheduler.{name}",
            f"get_last_lr() over 60 steps, 2 groups, {kwargs}",
            lr_sequence(nnscratch.optim, name, kwargs, 60),
            lr_sequence(optim, name, kwargs, 60),
            atol=0.0,
        )
    case = Case("Adam", dict(lr=1e-2), scheduler=("CosineAnnealingLR", dict(T_max=15)))
    straight, resumed = resume_run(case, nnscratch.optim, F64, k=10, n=10)
    yield compare(
        "state_dict() / load_state_dict()",
        "Optimizer / LRScheduler state_dict",
        "Adam + cosine saved at step 10, resumed in fresh objects: 10 more steps",
        [p for step in resumed for p in step],
        [p for step in straight for p in step],
        atol=0.0,
    )
