"""The rows X of a data set, in memory or on disk, behind one set of functions.

X is either a tensor (N, F) or `MappedRows`, the rows of a large ``.npy`` file read batch by batch
(`nnscratch.data.mapped`). Both index the same way (``X[index]`` → (B, F) tensor, ``X[:]`` → all
rows), and everything else the code does with X goes through these functions, so that the rest
of the package never asks which of the two it holds:

    subset(X, index)            the rows ``index`` (a split part)      X[index]  | a view on disk
    standardize(X, μ, σ)        (x − μ) / σ per column                 at once   | per batch read
    moments(X)                  μ, σ² per column, float64              at once   | streamed
    fits(X, dtype)              every value finite in ``dtype``        at once   | from |x|max
    blocks(X)                   (positions, rows) covering X once      one block | file order
    apply(fn, X)                fn(X) for a row-wise fn                at once   | block by block
    on_disk(X)                  which of the two (for a message or an algorithm that differs)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from nnscratch.data.mapped import MappedRows

Rows = torch.Tensor | MappedRows


def on_disk(X: Rows) -> bool:
    """Whether X stays on disk (`MappedRows`) rather than in memory."""
    return isinstance(X, MappedRows)


def subset(X: Rows, index: torch.Tensor) -> Rows:
    """The rows ``index`` (n,) of X: a tensor (n, F), or a view of the file's rows (no read)."""
    return X.subset(index) if on_disk(X) else X[index]


def standardize(X: Rows, mean: torch.Tensor, std: torch.Tensor) -> Rows:
    """x' = (x − μ) / σ per column, computed in float64, back in X's dtype (on disk: per batch)."""
    if on_disk(X):
        return X.standardize(mean, std)
    return ((X.double() - mean) / std).to(X.dtype)  # (N, F)


def moments(X: Rows) -> tuple[torch.Tensor, torch.Tensor]:
    """Column mean μ (F,) and population variance σ² = mean((x − μ)²) (F,), float64."""
    if on_disk(X):
        return X.moments()  # the same two passes, streamed block by block
    x = X.detach().double()  # (N, F)
    mean = x.mean(dim=0)  # (F,)
    return mean, ((x - mean) ** 2).mean(dim=0)  # (F,), (F,) divide by N


def fits(X: Rows, dtype: torch.dtype) -> bool:
    """Is every value of X finite in ``dtype``?"""
    return X.fits(dtype) if on_disk(X) else bool(torch.isfinite(X.to(dtype)).all())


def blocks(X: Rows) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(positions (b,), X[positions] (b, F))`` pairs that cover X once: one for a tensor, one
    per ``CHUNK_BYTES`` of the file in file order for rows on disk."""
    if on_disk(X):
        yield from X.blocks()
    else:
        yield torch.arange(X.shape[0], device=X.device), X


def apply(fn: Callable[[torch.Tensor], torch.Tensor], X: Rows) -> torch.Tensor:
    """``fn(X)`` for a row-wise ``fn``: at once for a tensor, block by block for rows on disk
    (each block's outputs written at its rows' positions)."""
    if not on_disk(X):
        return fn(X)
    out = None
    for positions, xb in X.blocks():
        part = fn(xb)  # (b, ...)
        if out is None:
            out = part.new_empty((len(X), *part.shape[1:]))  # (N, ...)
        out[positions.to(out.device)] = part
    return out
