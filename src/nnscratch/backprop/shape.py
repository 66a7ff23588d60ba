"""Vector-Jacobian products of the operations that copy windows of a tensor without changing
their numbers: ``Tensor.unfold`` (im2col's one-dimensional step) and ``torch.constant_pad_nd``
(im2col's padding). Replace ``UnfoldBackward0`` and ``ConstantPadNdBackward0``.

    z = x.unfold(d, size, step)     z[…, i, …, j] = x[…, i·step + j, …]    (i: the window along d,
                                    j: its entry, z's new last dim)
                                    ∂x[…, i·step + j, …] += g[…, i, …, j]  (overlapping windows
                                    add up: a position read by several windows gets the sum)
    z = pad(x, p, value)            ∂x = g with the padding cut off: pad(g, −p)

A moved number's gradient is moved back; a number read twice gets both gradients (as in
`backprop.elementwise.index_backward`); the pad value is a constant and gets nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def unfold_backward(
    g: torch.Tensor, shape: torch.Size, dim: int, size: int, step: int
) -> torch.Tensor:
    """z = x.unfold(dim, size, step):  window offset j of every window read x at j, j + step,
    j + 2·step, …, so g[…, j] is added back there (``index_add_``), one offset at a time:
    ``size`` adds of an (…, n, …) slice of g (n windows)."""
    dim = dim % len(shape)
    n = g.shape[dim]  # the number of windows
    gx = g.new_zeros(shape)
    for j in range(size):
        read = torch.arange(n, device=g.device) * step + j  # (n,): where offset j read x
        gx.index_add_(dim, read, g.select(-1, j))
    return gx


def unfold_backward_fast(
    g: torch.Tensor, shape: torch.Size, dim: int, size: int, step: int
) -> torch.Tensor:
    """`unfold_backward` in one kernel, ``aten.unfold_backward`` (the same sums)."""
    return torch.ops.aten.unfold_backward(g, list(shape), dim, size, step)


def constant_pad_backward(g: torch.Tensor, pad: Sequence[int]) -> torch.Tensor:
    """z = ``constant_pad_nd(x, pad, value)``, pad = (before, after) per dim, the last dim
    first:  ∂x = g without the padding, the inner slice g[…, b : b + n, …] of each padded dim.

    That is ``constant_pad_nd(g, −pad)``: a negative pad crops. It covers a negative pad of the
    forward too (x cropped: ∂x is g with zeros where the cropped entries were, which moved
    nothing)."""
    return torch.constant_pad_nd(g, [-p for p in pad], 0.0)
