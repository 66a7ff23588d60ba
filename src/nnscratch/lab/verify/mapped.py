"""Mapping-table rows for data left on disk (`nnscratch.data.mapped`).

MappedRows batches ↔ DataLoader(TensorDataset(np.load(path)))    (the whole file in memory)
streamed μ, σ ↔ torch mean / std of the loaded array
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from nnscratch.data import batches, load_file
from nnscratch.data.prepare import Standardizer
from nnscratch.lab.verify.check import Row, compare

ORDER = 55
F64 = torch.float64
EPOCHS = 2


def rows() -> Iterator[Row]:
    rng = np.random.default_rng(0)
    a = rng.normal(loc=2.0, scale=[1.0, 5.0, 0.5, 1.0], size=(37, 4))  # 3 features + the target
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npy"
        np.save(path, a)
        d = load_file(path, dtype=F64, mapped=True)
        whole = torch.from_numpy(np.load(path, allow_pickle=False))  # (37, 4)
        g = torch.Generator().manual_seed(0)
        mine = [
            t
            for _ in range(EPOCHS)
            for xb, yb in batches(d.X, d.y, 8, generator=g)
            for t in (xb, yb)
        ]
        loader = DataLoader(
            TensorDataset(whole[:, :-1], whole[:, -1:]),
            batch_size=8,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
        )
        theirs = [t for _ in range(EPOCHS) for xb, yb in loader for t in (xb, yb)]
        same_count = len(mine) == len(theirs)
        k = min(len(mine), len(theirs))
        yield compare(
            "batches(MappedRows) read from the file",
            "DataLoader(TensorDataset(np.load(path)))",
            f"every batch of {EPOCHS} shuffled epochs, 37 rows, batch 8",
            mine[:k],
            theirs[:k],
            atol=0.0,
            extra_ok=same_count,
        )
        scaler = Standardizer().fit(d.X)  # two streamed passes
        x = whole[:, :-1]  # (37, 3)
        yield compare(
            "Standardizer.fit(MappedRows), streamed",
            "torch.mean / torch.std(correction=0)",
            "μ and σ of the features, float64",
            [scaler.mean, scaler.std],
            [x.mean(dim=0), x.std(dim=0, correction=0)],
            atol=1e-12,
            rtol=1e-12,
        )
