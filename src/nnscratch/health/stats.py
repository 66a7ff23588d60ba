"""The statistics one health record holds, each a few tensor reductions.

Activations of one layer, ``a`` of shape (N, ...), N rows of the batch:

    mean, std      over every element
    histogram      `BINS` counts between lo and hi (tanh: [−1, 1], sigmoid: [0, 1], else min..max)
    saturated      tanh: share of |a| > 1 − `MARGIN`; sigmoid: share of a < `MARGIN` or a > 1 −
                   `MARGIN` (makemore part 3: |t| > 0.97); there the local gradient is < 0.06
    dead           ReLU: share of units (positions of a row) that are 0 for *every* row: such a
                   unit passes no gradient to its weights at all

One parameter p, with its gradient g and the change Δp = p_after − p_before the optimizer applied:

    grad_std       std(g)
    grad_data      std(g) / std(p)        how hard the gradient pushes, relative to the values
    update_data    std(Δp) / std(p)       the update-to-data ratio (CS231n: ~1e-3); Δp is what the
                   optimizer did, so Adam's normalised step and momentum are measured as applied
                   (makemore's std(lr·g) is the same for plain SGD)

``std`` is the unbiased one (``torch.std``), of one-element tensors not defined: None.
"""

from __future__ import annotations

from typing import Any

import torch

BINS = 30
MARGIN = 0.03
BOUNDS = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}


def _std(t: torch.Tensor) -> float | None:
    return t.std().item() if t.numel() > 1 else None


def activation(kind: str, a: torch.Tensor) -> dict[str, Any]:
    """The statistics of one layer's output ``a`` (N, ...); ``kind`` is the layer's activation
    ('relu', 'tanh', 'sigmoid', 'gelu') or 'linear' / 'conv' for a layer with weights."""
    a = a.detach().float()
    lo, hi = BOUNDS.get(kind, (a.min().item(), a.max().item()))
    if not hi > lo:  # a constant output: one bin around it
        lo, hi = lo - 0.5, hi + 0.5
    out: dict[str, Any] = {
        "mean": a.mean().item(),
        "std": _std(a),
        "hist": {"lo": lo, "hi": hi, "counts": torch.histc(a, BINS, lo, hi).int().tolist()},
    }
    if kind == "tanh":
        out["saturated"] = (a.abs() > 1 - MARGIN).float().mean().item()
    elif kind == "sigmoid":
        out["saturated"] = ((a < MARGIN) | (a > 1 - MARGIN)).float().mean().item()
    elif kind == "relu":
        rows = a.reshape(a.shape[0], -1)  # (N, units)
        out["dead"] = (rows == 0).all(dim=0).float().mean().item()
    return out


def parameter(p_before: torch.Tensor, g: torch.Tensor | None, p_after: torch.Tensor) -> dict:
    """The statistics of one parameter around one optimizer step (see the module docstring)."""
    data = _std(p_before)
    grad = None if g is None else _std(g)
    update = _std(p_after - p_before)
    return {
        "grad_std": grad,
        "grad_data": _ratio(grad, data),
        "update_data": _ratio(update, data),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b
