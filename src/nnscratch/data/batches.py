"""Mini-batches.  Replaces ``DataLoader(TensorDataset(X, y), batch_size, shuffle, generator, drop_last)``.

One epoch:

    perm ← randperm(N)                      (or 0..N−1 without shuffle)
    for each slice s of perm, batch_size long:
        yield X[s], y[s]                    one gather per batch, no per-sample Python

DataLoader's default path instead fetches each sample through ``dataset[i]`` and stacks them with
``collate``, per sample, in Python; the numbers are the same, the work is not.

Same batches, same order, same random-number streams afterwards. Per epoch DataLoader draws, in
this order (we draw the same numbers at the same moments and throw away what it throws away):

1. a *base seed* for worker processes, one int64 from ``generator`` (the global RNG when
   ``generator=None``), even with ``num_workers=0`` and even with ``shuffle=False``;
2. with ``shuffle=True`` and ``generator=None``, a seed for a fresh generator, from the global RNG;
3. ``randperm(N)``, the epoch's order (``RandomSampler``);
4. a *second* ``randperm(N)`` when the first runs dry: the sampler serves ``num_samples % N``
   extra indices, zero here, by slicing a fresh permutation. ``BatchSampler`` runs it dry while
   filling a short last batch, or when asked for a batch after the last full one.

Where conventions differ: ``batch_size=None`` here means one full batch (``X, y`` as they are, no
random draws), while DataLoader's ``batch_size=None`` turns batching off and yields single samples.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


def _draw_seed(generator: torch.Generator | None) -> int:
    """One int64 from ``generator`` (global RNG if None), as DataLoader draws its seeds."""
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def batches(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int | None = None,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(xb, yb)`` mini-batches for one epoch; ``batch_size=None`` means one full batch.

    Args:
        X: inputs (N, F): a tensor, or rows of a .npy file left on disk (`MappedRows`).
        y: targets, N rows.
        batch_size: rows per batch (default None: one full batch).
        shuffle: a new permutation of the rows every epoch (default True).
        generator: the ``torch.Generator`` that draws each epoch's permutation (default None: the
            global RNG, as ``DataLoader``).
        drop_last: drop a last batch smaller than ``batch_size`` (default False).
    """
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}")
    if batch_size is None:
        yield X, y
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size should be a positive integer value, but got {batch_size}")
    _draw_seed(generator)  # 1. DataLoader's worker base seed, drawn and discarded
    if shuffle:
        if generator is None:
            generator = torch.Generator().manual_seed(_draw_seed(None))  # 2.
        index = torch.randperm(n, generator=generator).to(X.device)  # 3. (N,)
    else:
        index = None
    end = n - n % batch_size if drop_last else n
    for start in range(0, end, batch_size):
        stop = start + batch_size
        if shuffle and stop > n:
            torch.randperm(n, generator=generator)  # 4. runs dry filling the short last batch
        if index is None:
            yield X[start:stop], y[start:stop]  # views, no copy
        else:
            s = index[start:stop]  # (B,)
            yield X[s], y[s]  # (B, F), (B, ...)
    if shuffle and end % batch_size == 0:
        torch.randperm(n, generator=generator)  # 4. runs dry asking for one more batch
