"""The loops the benchmark times, and the containers for a case.  Replace nothing.

    five_steps      nnscratch: `fit`'s five-step loop without its monitoring
    with_fit        nnscratch: `fit` itself (also computes ‖g‖ every step)
    nn_step         reference: the usual ``nn.Module`` + ``torch.optim`` step
    indexed_loop    reference: shuffled mini-batches by indexing tensors (no DataLoader)
Every model here is created right after ``torch.manual_seed(SEED)``, so all variants of a case
start from the same parameters; the data come from `make_regression` with the same seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn, optim

from nnscratch.data.batches import batches
from nnscratch.data.synthetic import make_regression
from nnscratch.lab.bench.timing import Work
from nnscratch.loop import fit
from nnscratch.losses import mse_loss
from nnscratch.models import MLP, LinearRegression
from nnscratch.module import Module
from nnscratch.optim import SGD, Optimizer

SEED = 0
LR = 0.01
BATCH = 256


@dataclass
class Pair:
    """``manual`` compared with ``reference``: ratio = reference time / manual time."""

    manual: str
    reference: str
    target: float | None = None  # the ratio the manual side should reach, if any
    default_path: bool = False  # counts towards the geometric-mean target


@dataclass
class Case:
    name: str
    unit: str  # what one unit of work is: "step" or "epoch"
    variants: dict[str, Callable[[int], None]]  # variant → run(units)
    pairs: list[Pair]
    bytes_per_unit: int | None = None  # least memory traffic per unit (bandwidth bound)
    models: dict[str, object] = field(default_factory=dict)  # variant → its model, where the
    # compared loops should end with equal parameters (tests/test_bench.py)
    bandwidth_target: bool = True  # the 60 % target applies (False: compute-bound, shown only)


def calibrate(run: Callable[[int], None], seconds_per_call: float) -> int:
    """Units per timed call so that a call takes about ``seconds_per_call`` (also a warm-up)."""
    run(1)  # first call: lazy initialisation, allocator warm-up
    start = time.perf_counter()
    run(1)
    seconds = time.perf_counter() - start
    return max(1, min(10_000, round(seconds_per_call / max(seconds, 1e-9))))


def bind(run: Callable[[int], None], units: int) -> Work:
    def call() -> None:
        run(units)

    return call


def data(n: int, features: int) -> tuple[torch.Tensor, torch.Tensor]:
    d = make_regression(n, features, noise=0.1, seed=SEED)
    return d.X, d.y  # (N, F), (N, 1) float32


def five_steps(
    model: Module,
    optimizer: Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    loss_fn: Callable = mse_loss,
) -> Callable[[int], None]:
    """run(epochs): `fit`'s loop without its monitoring (gradient norm, history, callback)."""

    def run(epochs: int) -> None:
        for _ in range(epochs):
            for xb, yb in batches(X, y, batch_size, True, generator):
                loss = loss_fn(model(xb), yb)  # 1. forward, 2. loss
                loss.item()  # logged as a float, as fit does
                loss.backward()  # 3. backward
                optimizer.step()  # 4. update
                optimizer.zero_grad()  # 5. reset

    return run


def with_fit(
    model: Module,
    optimizer: Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> Callable[[int], None]:
    """run(epochs): `fit` itself (full batch: one step per epoch)."""

    def run(epochs: int) -> None:
        fit(
            model,
            X,
            y,
            optimizer=optimizer,
            epochs=epochs,
            batch_size=batch_size,
            generator=generator,
        )

    return run


def nn_step(
    model: nn.Module,
    optimizer: optim.Optimizer,
    loss_fn: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
) -> None:
    """The usual five lines (the loss read as a float, as `fit` reads it)."""
    loss = loss_fn(model(X), y)
    loss.item()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def reference_full_batch(
    X: torch.Tensor, y: torch.Tensor
) -> tuple[Callable[[int], None], nn.Linear]:
    torch.manual_seed(SEED)
    ref = nn.Linear(X.shape[1], 1)
    ref_opt, loss_fn = optim.SGD(ref.parameters(), lr=LR), nn.MSELoss()

    def reference(steps: int) -> None:
        for _ in range(steps):
            nn_step(ref, ref_opt, loss_fn, X, y)

    return reference, ref


def linear_regression(features: int) -> tuple[LinearRegression, SGD]:
    torch.manual_seed(SEED)
    model = LinearRegression(features)
    return model, SGD(model.parameters(), lr=LR)


def nn_linear(features: int) -> nn.Linear:
    torch.manual_seed(SEED)
    return nn.Linear(features, 1)


def mlp_pair(features: int) -> tuple[MLP, nn.Sequential]:
    torch.manual_seed(SEED)
    manual = MLP(features, [64, 64], 1)
    torch.manual_seed(SEED)
    reference = nn.Sequential(
        nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    )
    return manual, reference


def indexed_loop(
    model: nn.Module,
    make_optimizer: Callable,
    X: torch.Tensor,
    y: torch.Tensor,
) -> Callable[[int], None]:
    opt, loss_fn = make_optimizer(model.parameters()), nn.MSELoss()
    gen, n = torch.Generator().manual_seed(SEED), X.shape[0]

    def run(epochs: int) -> None:
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen)  # (N,)
            for start in range(0, n, BATCH):
                s = perm[start : start + BATCH]  # (B,)
                nn_step(model, opt, loss_fn, X[s], y[s])

    return run
