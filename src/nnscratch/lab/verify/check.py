"""One row of the mapping table and the comparison that fills it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class Row:
    piece: str  # the manual implementation
    abstraction: str  # the PyTorch abstraction it replaces
    compared: str  # what was compared
    max_diff: float  # max |manual − pytorch| over everything compared
    atol: float
    rtol: float
    passed: bool

    @property
    def tolerance(self) -> str:
        return f"atol={self.atol:g} rtol={self.rtol:g}"


def max_abs_diff(manual: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]) -> float:
    assert len(manual) == len(reference)
    diffs = [
        (a.detach().double() - b.detach().double()).abs().max().item()
        for a, b in zip(manual, reference, strict=True)
        if a.numel()
    ]
    return max(diffs, default=0.0)


def compare(
    piece: str,
    abstraction: str,
    compared: str,
    manual: Sequence[torch.Tensor] | torch.Tensor,
    reference: Sequence[torch.Tensor] | torch.Tensor,
    atol: float,
    rtol: float = 0.0,
    extra_ok: bool = True,
) -> Row:
    """Compare tensors element-wise (|a − b| ≤ atol + rtol·|b|, shapes equal); ``extra_ok`` adds
    a non-numeric condition (e.g. "both are leaves") that the row must also satisfy."""
    if isinstance(manual, torch.Tensor):
        manual, reference = [manual], [reference]
    shapes_ok = all(a.shape == b.shape for a, b in zip(manual, reference, strict=True))
    close = shapes_ok and all(
        torch.allclose(a.detach().double(), b.detach().double(), atol=atol, rtol=rtol)
        for a, b in zip(manual, reference, strict=True)
    )
    diff = max_abs_diff(manual, reference) if shapes_ok else float("inf")
    return Row(piece, abstraction, compared, diff, atol, rtol, bool(close and extra_ok))
