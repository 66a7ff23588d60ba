"""Rows of a large ``.npy`` file, read batch by batch: data larger than memory.

Replaces ``np.load(path)`` + ``TensorDataset(X, y)`` (the whole array in memory) by what a map-style
``torch.utils.data.Dataset`` reading from disk does: nothing is read until a batch asks for its
rows, and only those rows become a tensor. Row i of the (N, C) array starts at byte
``offset + i·C·itemsize`` of the file (the layout ``np.load(path, mmap_mode="r")`` maps).

    X = MappedRows(...)                  the file's feature columns; shape (N, F), no data read
    X[index]  (index (B,) or a slice)    read those rows → (B, F) tensor, the run's dtype/device
    X.subset(index)                      a view of some rows (a split part), no copy
    X.standardize(μ, σ)                  every later read returns (x − μ) / σ, per batch

Each read is exactly what the in-memory path computes for those rows (file values → float64 →
``dtype`` → ``Standardizer.transform``), so training on a file gives the same numbers.

Passes over all rows (finite check, μ and σ, evaluation, the checkpoint's hash) read the file in
order, ``CHUNK_BYTES`` at a time (`MappedRows.blocks`): one read per block, where a batch of
shuffled rows needs one read per row. μ and σ² stream in two passes, in float64:

    μ_j = (1/N) Σ_blocks Σ_i x_ij            σ²_j = (1/N) Σ_blocks Σ_i (x_ij − μ_j)²

Why ``os.preadv`` and not ``mmap``: pages of a mapped file that have been touched count in the
process's resident memory (RSS) until unmapped, and the kernel maps a whole neighbourhood per
touch (measured on Linux 6.18: ~640 KB per random row, its large page-cache folios), so one random
batch of 256 rows could make most of a 200 MB map resident (one epoch of a linear model on an
``np.load(mmap_mode="r")`` map: peak RSS 330 → 522 MB from a 50 to a 200 MB file). ``preadv``
copies just the rows into the batch; the file's pages stay in the OS cache, outside the process
(peak RSS flat: tests/test_mapped.py). ``os.preadv`` is POSIX (Linux, macOS). What grows with
N is O(N) bookkeeping: the target column and the row indices (split parts, the epoch's
permutation), a few dozen bytes per row whatever F is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from nnscratch.errors import UserError

CHUNK_BYTES = 4 * 2**20  # a streaming pass reads about this much of the file at a time


class NpyFile:
    """A C-ordered 2-D .npy file opened for reading rows: ``shape`` (N, C), ``dtype``, ``offset``."""

    def __init__(self, path: str | Path, shape: tuple, dtype: np.dtype, offset: int) -> None:
        self.path = str(path)
        self.shape, self.dtype, self.offset = shape, dtype, offset
        self.row_bytes = shape[1] * dtype.itemsize
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed with this object)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def read(self, rows: slice | np.ndarray) -> np.ndarray:
        """The ``rows`` (b, C), every column, as stored: one read for a contiguous range of rows,
        one per row otherwise, straight into one buffer."""
        if isinstance(rows, slice):
            b = rows.stop - rows.start
            runs = [(rows.start, b)] if b else []  # one run of b rows
        else:
            b = len(rows)
            runs = [(r, 1) for r in rows.tolist()]  # b runs of one row
        block = np.empty((b, self.shape[1]), self.dtype)  # (b, C) every column
        buffer = memoryview(block.reshape(-1).view(np.uint8))
        fd, size, done = self._file.fileno(), self.row_bytes, 0
        for first, count in runs:
            n = os.preadv(fd, [buffer[done : done + count * size]], self.offset + first * size)
            if n != count * size:
                raise UserError(f"{self.path}: the file became shorter while in use")
            done += n
        return block


@dataclass(frozen=True, eq=False)
class MappedRows:
    """Feature columns of an `NpyFile`, read on demand; enough like an (N, F) tensor for
    `nnscratch.data.batches` (``shape``, ``X[index]``) and the `Dataset` checks."""

    source: NpyFile
    columns: np.ndarray  # (F,) the file columns that are features
    abs_max: torch.Tensor  # (F,) float64 max |x| per feature column over the whole file
    rows: torch.Tensor | None = None  # (n,) int64 distinct file rows of this view; None: all
    dtype: torch.dtype = torch.float64  # the values are rounded to this, as X.to(dtype) would
    device: torch.device = torch.device("cpu")
    mean: torch.Tensor | None = None  # (F,) float64 μ, set by standardize()
    std: torch.Tensor | None = None  # (F,) float64 σ

    ndim = 2

    @property
    def shape(self) -> torch.Size:
        n = self.source.shape[0] if self.rows is None else self.rows.shape[0]
        return torch.Size((n, len(self.columns)))

    def __len__(self) -> int:
        return self.shape[0]

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __getitem__(self, index: torch.Tensor | slice) -> torch.Tensor:
        """Rows ``index`` (an integer tensor (B,) or a slice) of this view → (B, F) tensor."""
        return self._features(self.source.read(self._file_rows(index)))

    def _features(self, block: np.ndarray, keep: np.ndarray | None = None) -> torch.Tensor:
        """Rows ``keep`` (all if None) of a block (b, C) read from the file → (B, F) tensor."""
        if keep is not None:
            block = block.take(keep, axis=0)  # (B, C)
        parts = [block[:, span] for span in self._spans]  # views, runs of feature columns
        x = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)  # (B, F)
        x = torch.from_numpy(x.astype(np.float64, copy=False)).to(self.dtype)  # as X.to(dtype)
        if self.mean is not None:  # as Standardizer.transform: in float64, back to dtype
            x = ((x.double() - self.mean) / self.std).to(self.dtype)  # (B, F)
        return x.to(self.device)

    def _file_rows(self, index: torch.Tensor | slice) -> slice | np.ndarray:
        if isinstance(index, slice):
            span = range(len(self))[index]
            if self.rows is None and span.step == 1:
                return slice(span.start, span.stop)  # contiguous rows: one read
            index = torch.arange(span.start, span.stop, span.step)  # (B,)
        if not isinstance(index, torch.Tensor) or index.ndim != 1 or index.is_floating_point():
            raise TypeError(
                f"MappedRows takes a slice or a 1-D integer tensor of rows, got {index!r:.60}"
            )
        index = index.cpu()
        if self.rows is not None:
            return self.rows[index].numpy()  # (B,) rows of the file
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        return index.numpy()

    @cached_property
    def _spans(self) -> list[slice]:
        """``columns`` as runs of consecutive columns (slicing is ~10× faster than a gather)."""
        breaks = np.flatnonzero(np.diff(self.columns) != 1) + 1  # where a new run starts
        return [slice(int(r[0]), int(r[-1]) + 1) for r in np.split(self.columns, breaks)]

    # -- views: no data is read --------------------------------------------------------------
    def subset(self, index: torch.Tensor) -> MappedRows:
        """The rows ``index`` (n,) of this view (``torch.utils.data.Subset``), still on disk."""
        index = index.cpu()
        return replace(self, rows=index if self.rows is None else self.rows[index])

    def standardize(self, mean: torch.Tensor, std: torch.Tensor) -> MappedRows:
        assert self.mean is None, "already standardized"
        return replace(self, mean=mean, std=std)

    def to(self, target: torch.dtype | torch.device | str) -> MappedRows:
        """Another dtype (``torch.float32``...) or device (``"cuda"``...) for the rows read."""
        if isinstance(target, torch.dtype):
            return replace(self, dtype=target)
        return replace(self, device=torch.device(target))

    def fits(self, dtype: torch.dtype) -> bool:
        """Is every value finite in ``dtype``? (Rounding is monotonic: check the largest.)"""
        return bool(torch.isfinite(self.abs_max.to(dtype)).all())

    # -- streaming passes --------------------------------------------------------------------
    def blocks(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(positions (b,), self[positions] (b, F))`` pairs that cover this view once, in file
        order, one read of ``CHUNK_BYTES`` each (at least one pair, empty for an empty view)."""
        n_file = self.source.shape[0]
        step = max(1, CHUNK_BYTES // self.source.row_bytes)
        where = None  # (N_file,) position in this view of each file row, −1 if not in it
        if self.rows is not None:
            where = torch.full((n_file,), -1, dtype=torch.int64)
            where[self.rows] = torch.arange(len(self))
            assert int((where >= 0).sum()) == len(self), "the rows of a view must be distinct"
        for start in range(0, max(n_file, 1), step):
            stop = min(start + step, n_file)
            block = self.source.read(slice(start, stop))  # (b_file, C)
            if where is None:
                yield torch.arange(start, stop), self._features(block)  # (b,), (b, F)
                continue
            keep = torch.nonzero(where[start:stop] >= 0).view(-1)  # (b,) rows of the block in view
            yield where[start:stop][keep], self._features(block, keep.numpy())  # (b,), (b, F)

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Column mean μ (F,) and population variance σ² (F,), float64, in two streamed passes."""
        n, F = self.shape
        total = torch.zeros(F, dtype=torch.float64)
        for _, xb in self.blocks():
            total += xb.to("cpu", torch.float64).sum(dim=0)  # Σ x_ij
        mean = total / n  # (F,)
        squares = torch.zeros(F, dtype=torch.float64)
        for _, xb in self.blocks():
            squares += ((xb.to("cpu", torch.float64) - mean) ** 2).sum(dim=0)  # Σ (x_ij − μ_j)²
        return mean, squares / n


def scan(source: NpyFile, features: list[int], target: int) -> tuple[MappedRows, np.ndarray]:
    """One pass over the file, block by block: `UserError` at the first NaN or infinity; the
    features as `MappedRows` (float64) and the target column (N,) float64 in memory."""
    n, cols = source.shape
    columns = np.asarray(features, dtype=np.int64)  # (F,)
    abs_max = np.zeros(len(columns))  # (F,)
    labels = np.empty(n, dtype=np.float64)  # (N,)
    every_column = MappedRows(source, np.arange(cols), torch.zeros(cols))
    for positions, xb in every_column.blocks():
        block = xb.numpy()  # (b, C) float64
        bad = np.argwhere(~np.isfinite(block))
        if len(bad):
            where = (int(positions[bad[0][0]]), int(bad[0][1]))
            raise UserError(
                f"{source.path} has a NaN or infinite value at index {where}; replace it"
            )
        abs_max = np.maximum(abs_max, np.abs(block[:, columns]).max(axis=0, initial=0.0))
        labels[positions.numpy()] = block[:, target]
    return MappedRows(source, columns, torch.from_numpy(abs_max)), labels
