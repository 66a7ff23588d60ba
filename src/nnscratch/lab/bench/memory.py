"""Memory: how much the resident set size (RSS) grows over many steps of the small loop.

A correct loop allocates the same tensors every step and frees them again, so after a warm-up
its RSS stays flat; a loop that keeps something per step (a loss *tensor* with its graph, an
ever-longer list) grows without bound. The small loop is the seed's: linear regression 100×1,
full batch, plain SGD.

    nnscratch:  `fit` in chunks of 1,000 epochs (``fit`` returns one float per epoch: its loss
                history, 32 bytes each, is the caller's to keep; dropped after each chunk here)
    reference:  the nn.Linear + nn.MSELoss + optim.SGD loop
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import torch

from nnscratch.lab.bench.loops import SEED, data, reference_full_batch
from nnscratch.lab.bench.timing import rss_bytes
from nnscratch.loop import fit
from nnscratch.models import LinearRegression
from nnscratch.optim import SGD

CHUNK = 1_000


def small_loops() -> dict[str, Callable[[int], None]]:
    X, y = data(100, 1)
    torch.manual_seed(SEED)
    model = LinearRegression(1)
    opt = SGD(model.parameters(), lr=0.01)

    def manual(steps: int) -> None:
        while steps > 0:
            fit(model, X, y, optimizer=opt, epochs=min(CHUNK, steps))
            steps -= CHUNK

    return {"nnscratch": manual, "nn/optim": reference_full_batch(X, y)[0]}


def rss_growth(steps: int, warmup: int) -> dict[str, float]:
    """Variant → RSS growth in bytes over ``steps`` steps, measured after ``warmup`` steps."""
    growth = {}
    for name, run in small_loops().items():
        run(warmup)
        gc.collect()
        before = rss_bytes()
        run(steps)
        gc.collect()
        growth[name] = float(rss_bytes() - before)
    return growth
