"""Mapping-table rows for the data pieces.

batches ↔ DataLoader(TensorDataset)        split ↔ random_split
Standardizer ↔ sklearn StandardScaler      log_loss ↔ nn.CrossEntropyLoss (on the logits)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

from nnscratch.data import Dataset, Standardizer, batches, split
from nnscratch.lab.verify.check import Row, compare
from nnscratch.run.metrics import log_loss

ORDER = 50
F64 = torch.float64
EPOCHS = 3


def _epochs(make_epoch) -> list[torch.Tensor]:
    """Every X and y batch of ``EPOCHS`` epochs, flattened into one list."""
    return [t for _ in range(EPOCHS) for xb, yb in make_epoch() for t in (xb, yb)]


def _paired(mine: list, theirs: list) -> tuple[list, list, bool]:
    """Cut both to the shorter length so `compare` can run; the bool says nothing was cut."""
    k = min(len(mine), len(theirs))
    return mine[:k], theirs[:k], len(mine) == len(theirs)


def _batch_rows() -> Iterator[Row]:
    X = torch.randn(10, 3, dtype=F64, generator=torch.Generator().manual_seed(0))  # (10, 3)
    y = torch.arange(10)  # (10,)
    for drop_last in (False, True):
        g_mine, g_ref = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
        loader = DataLoader(
            TensorDataset(X, y), 3, shuffle=True, generator=g_ref, drop_last=drop_last
        )
        mine, theirs, same_count = _paired(
            _epochs(lambda: batches(X, y, 3, True, g_mine, drop_last)),  # noqa: B023
            _epochs(lambda: loader),  # noqa: B023
        )
        yield compare(
            "batches(shuffle=True, generator=g)",
            "DataLoader(TensorDataset(X, y), shuffle=True)",
            f"all batches of {EPOCHS} epochs, N=10, batch 3, drop_last={drop_last}; generator state",
            mine,
            theirs,
            atol=0.0,
            extra_ok=same_count and torch.equal(g_mine.get_state(), g_ref.get_state()),
        )
    state = torch.get_rng_state()
    torch.manual_seed(2)
    mine = _epochs(lambda: batches(X, y, 4, True))
    after_mine = torch.rand(3)
    torch.manual_seed(2)
    theirs = _epochs(lambda: DataLoader(TensorDataset(X, y), 4, shuffle=True))
    after_theirs = torch.rand(3)
    torch.set_rng_state(state)
    mine, theirs, same_count = _paired(mine, theirs)
    yield compare(
        "batches(shuffle=True)",
        "DataLoader(..., shuffle=True), global RNG",
        f"all batches of {EPOCHS} epochs, N=10, batch 4; global RNG afterwards",
        [*mine, after_mine],
        [*theirs, after_theirs],
        atol=0.0,
        extra_ok=same_count,
    )


def rows() -> Iterator[Row]:
    yield from _batch_rows()

    n = 23
    data = Dataset(
        torch.arange(n, dtype=F64).reshape(n, 1), torch.zeros(n, 1, dtype=F64), "regression", ["i"]
    )
    parts = split(data, val_fraction=0.2, test_fraction=0.2, seed=4)
    lengths = [len(parts.test), len(parts.val), len(parts.train)]
    theirs = random_split(range(n), lengths, generator=torch.Generator().manual_seed(4))
    yield compare(
        "split(val_fraction, test_fraction, seed)",
        "random_split(dataset, [n_test, n_val, n_train], generator)",
        f"row indices of test/val/train {lengths}",
        [p.X.reshape(-1) for p in (parts.test, parts.val, parts.train)],
        [torch.tensor(list(s), dtype=F64) for s in theirs],
        atol=0.0,
    )

    from sklearn.preprocessing import StandardScaler

    g = torch.Generator().manual_seed(5)
    X = (
        torch.randn(40, 4, generator=g, dtype=F64)
        * torch.tensor([1.0, 100.0, 0.01, 0.0], dtype=F64)
        + 3
    )  # (40, 4)
    mine = Standardizer().fit(X)
    scaler = StandardScaler().fit(X.numpy())
    yield compare(
        "Standardizer (ddof=0, σ=0 → 1)",
        "sklearn StandardScaler",
        "μ, σ and transformed data (40×4, one constant column)",
        [mine.mean, mine.std, mine.transform(X)],
        [
            torch.from_numpy(scaler.mean_),
            torch.from_numpy(scaler.scale_),
            torch.from_numpy(scaler.transform(X.numpy())),
        ],
        atol=1e-12,
        rtol=1e-12,
    )

    logits = torch.randn(30, 5, generator=g, dtype=F64)  # (30, 5)
    target = torch.randint(0, 5, (30,), generator=g)  # (30,)
    yield compare(
        "log_loss(y, softmax(logits))",
        "nn.CrossEntropyLoss",
        "mean loss (30 samples, 5 classes)",
        torch.tensor(log_loss(target, logits.softmax(dim=1)), dtype=F64),
        nn.CrossEntropyLoss()(logits, target),
        atol=1e-12,
        rtol=1e-12,
    )
