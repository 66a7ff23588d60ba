"""Timed cases for `nnscratch.autograd` (``--backward engine``): the same nnscratch model trained
with the engine and with torch.autograd (``loss.backward()``), same seed, same data, same
optimizer, in the same process. Ratio = autograd time / engine time.

    transformer step   the `layer_cases` transformer (2×64, 4 heads, batch 32×64), AdamW   ≥ 0.9×
    CNN epoch          the `layer_cases` CNN on digits, Adam, batch 32                     ≥ 0.9×
    MLP epoch          10→64→64→1 ReLU, batch 256, SGD                                     ≥ 0.6×
    seed step          linear regression, 100×1, full batch, SGD                           measured
                       and, beside it, micrograd's scalar engine on the same problem
                       (`scalar_value`): the anchor, one Python node per number
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.data.batches import batches
from nnscratch.lab.bench import scalar_value
from nnscratch.lab.bench.layer_cases import (
    CHANNELS,
    CNN_BATCH,
    CNN_LR,
    HEADS,
    LAYERS,
    LM_LR,
    WIDTH,
    B,
    T,
    V,
)
from nnscratch.lab.bench.loops import BATCH, LR, SEED, Case, Pair, data, five_steps
from nnscratch.losses import cross_entropy, mse_loss
from nnscratch.models import MLP, LinearRegression
from nnscratch.models.cnn import CNN
from nnscratch.models.transformer import CharTransformer, next_token_loss
from nnscratch.module import Module
from nnscratch.optim import SGD, Adam, AdamW
from nnscratch.optim.optimizer import Optimizer
from nnscratch.steps import choose_step


def engine_steps(
    model: Module,
    optimizer: Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int | None,
    generator: torch.Generator | None,
    loss_fn: Callable,
) -> Callable[[int], None]:
    """run(epochs): `five_steps` with steps 1–3 on the engine (``choose_step(..., 'engine')``)."""
    step = choose_step(model, loss_fn, "engine")

    def run(epochs: int) -> None:
        for _ in range(epochs):
            for xb, yb in batches(X, y, batch_size, True, generator):
                step(xb, yb)  # 1.–3. forward, loss (read as a float), backward on the engine
                optimizer.step()  # 4.
                optimizer.zero_grad()  # 5.

    return run


def _pair_of(
    make: Callable[[], Module], opt: Callable[[Module], Optimizer], X, y, batch, loss_fn, target
) -> tuple[dict, list[Pair], dict]:
    torch.manual_seed(SEED)
    a = make()
    torch.manual_seed(SEED)
    b = make()
    variants = {
        "engine": engine_steps(
            a, opt(a), X, y, batch, torch.Generator().manual_seed(SEED), loss_fn
        ),
        "autograd": five_steps(
            b, opt(b), X, y, batch, torch.Generator().manual_seed(SEED), loss_fn
        ),
    }
    return variants, [Pair("engine", "autograd", target)], {"engine": a, "autograd": b}


def transformer_step() -> Case:
    g = torch.Generator().manual_seed(SEED)
    idx = torch.randint(0, V, (B, T), generator=g)  # (B, T) one fixed batch
    target = torch.randint(0, V, (B, T), generator=g)
    variants, pairs, models = _pair_of(
        lambda: CharTransformer(V, T, n_layer=LAYERS, n_head=HEADS, n_embd=WIDTH),
        lambda m: AdamW(m.parameters(), lr=LM_LR, weight_decay=0.01),
        idx, target, None, next_token_loss, 0.9,
    )  # fmt: skip
    name = f"engine: transformer {LAYERS}×{WIDTH}, {HEADS} heads, batch {B}×{T}, AdamW"
    return Case(name, "step", variants, pairs, models=models)


def cnn_epoch() -> Case:
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    prepared = prepare(TrainConfig(data="builtin:digits", model="cnn"))
    X, y = prepared.train.X, prepared.train.y  # (1168, 64), (1168,)
    variants, pairs, models = _pair_of(
        lambda: CNN((1, 8, 8), CHANNELS, 10),
        lambda m: Adam(m.parameters(), lr=CNN_LR),
        X, y, CNN_BATCH, cross_entropy, 0.9,
    )  # fmt: skip
    name = f"engine: CNN 1×8×8→{CHANNELS[0]}→{CHANNELS[1]}→10 on digits, batch {CNN_BATCH}"
    return Case(name, "epoch", variants, pairs, models=models)


def mlp_epoch(n: int, features: int) -> Case:
    X, y = data(n, features)
    variants, pairs, models = _pair_of(
        lambda: MLP(features, [64, 64], 1),
        lambda m: SGD(m.parameters(), lr=LR),
        X, y, BATCH, mse_loss, 0.6,
    )  # fmt: skip
    name = f"engine: MLP {features}→64→64→1 {n:,} rows, batch {BATCH}, SGD"
    return Case(name, "epoch", variants, pairs, models=models)


def seed_step(n: int = 100) -> Case:
    X, y = data(n, 1)
    variants, pairs, models = _pair_of(
        lambda: LinearRegression(1),
        lambda m: SGD(m.parameters(), lr=LR),
        X, y, None, mse_loss, None,
    )  # fmt: skip
    variants["micrograd Value (scalar)"] = scalar_value.seed_steps(X, y, LR)
    pairs.append(Pair("micrograd Value (scalar)", "autograd"))
    name = f"engine: the seed, linear regression {n}×1 full batch, SGD"
    return Case(name, "step", variants, pairs, models=models)


def engine_cases(mlp: tuple[int, int], layers: bool = True) -> list[Case]:
    """The seed and MLP cases; with ``layers`` also the CNN epoch and the transformer step."""
    return [seed_step(), mlp_epoch(*mlp)] + ([cnn_epoch(), transformer_step()] if layers else [])
