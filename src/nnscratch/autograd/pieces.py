"""A gradient that arrives in slices.  Replaces what autograd's ``SplitBackward`` does.

``x.split(n, dim)`` records one `narrow` node per piece; each piece's gradient is ∂L/∂x on its
own slice of ``x`` and 0 elsewhere. Written as a dense tensor per piece, that is an x-sized
zero fill and copy for every piece and a sum over the pieces (the q, k, v of a transformer's
one projection: three of each, on every layer). Instead a `narrow` node's vjp returns
`Pieces`: the slices themselves, (start, g) along one dim. The backward walk (`graph`) adds
pieces to pieces by keeping both lists, and makes them one tensor only when the node that
made x takes its gradient (`dense`): a single ``cat`` when the slices tile x exactly, else
zeros with each slice added in. The numbers are those of the dense sum (adding zeros is
exact); the pieces never reach a vjp.
"""

from __future__ import annotations

from typing import Any

import torch


class Pieces:
    """∂L/∂x as slices of x along ``dim``: ``parts`` = [(start, g), ...], x of ``shape``."""

    __slots__ = ("dim", "parts", "shape")

    def __init__(self, shape: torch.Size, dim: int, parts: list[tuple[int, torch.Tensor]]) -> None:
        self.shape, self.dim, self.parts = shape, dim % len(shape), parts

    def dense(self) -> torch.Tensor:
        """The gradient as one tensor of x's shape."""
        parts = sorted(self.parts, key=lambda part: part[0])
        ends = [start + g.shape[self.dim] for start, g in parts]
        starts = [start for start, _ in parts]
        if starts[0] == 0 and ends[-1] == self.shape[self.dim] and starts[1:] == ends[:-1]:
            return torch.cat([g for _, g in parts], dim=self.dim)  # the slices tile x
        out = parts[0][1].new_zeros(self.shape)
        for start, g in parts:
            out.narrow(self.dim, start, g.shape[self.dim]).add_(g)
        return out


def plus(a: Any, b: Any) -> Any:
    """a + b for two gradients of the same tensor, either of them `Pieces`."""
    if type(a) is Pieces and type(b) is Pieces and (a.shape, a.dim) == (b.shape, b.dim):
        return Pieces(a.shape, a.dim, a.parts + b.parts)
    return dense(a) + dense(b)


def dense(g: Any) -> Any:
    """``g`` as a tensor (`Pieces` made dense; anything else as it is)."""
    return g.dense() if type(g) is Pieces else g
