"""Mini-batches.  Replaces ``DataLoader(TensorDataset(X, y), batch_size, shuffle, generator, drop_last)``.

One epoch:

    perm ← randperm(N)                      (or 0..N−1 without shuffle)
    for each slice s of perm, batch_size long:
        yield X[s], y[s]                    one gather per batch, no per-sample Python

DataLoader's default path instead fetches each sample through ``dataset[i]`` and stacks them with
``collate``, per sample, in Python; the numbers are the same, the work is not.

Same batches, same order: with ``shuffle=True``, ``RandomSampler`` draws ``randperm(N)`` from the
generator, *then draws a second permutation that it throws away* (its loop serves
``num_samples % N`` extra indices, zero here, by slicing a fresh permutation). We draw that second
permutation too so the generator advances exactly as DataLoader's does and every later epoch
matches. With ``generator=None`` it seeds a fresh generator from the global RNG, as DataLoader does.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def batches(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int | None = None,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(xb, yb)`` mini-batches for one epoch; ``batch_size=None`` means one full batch."""
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}")
    if batch_size is None:
        yield X, y
        return
    if batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got {batch_size}")
    if shuffle:
        if generator is None:
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            generator = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=generator)  # (N,)
        torch.randperm(n, generator=generator)  # drawn and discarded, as RandomSampler does
        index = perm.to(X.device)
    else:
        index = None
    end = n - n % batch_size if drop_last else n
    for start in range(0, end, batch_size):
        if index is None:
            yield X[start : start + batch_size], y[start : start + batch_size]  # views, no copy
        else:
            s = index[start : start + batch_size]  # (B,)
            yield X[s], y[s]  # (B, F), (B, ...)
