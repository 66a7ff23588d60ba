"""2-D pooling.  ``MaxPool2d`` and ``AvgPool2d`` replace ``nn.MaxPool2d`` and ``nn.AvgPool2d``.

Pooling is a convolution's window without weights: over each (kH, kW) window of each channel,

    max:  y[n, c, p, q] = max_{i,j}  x_pad[n, c, p·s + i·d, q·s + j·d]      (padding = −∞)
    avg:  y[n, c, p, q] = (1/k) Σ_{i,j} x_pad[n, c, p·s + i, q·s + j]       (padding = 0)

    x: (N, C, H, W) -> y: (N, C, OH, OW),  OH = ⌊(H + 2·pad − d·(kH − 1) − 1) / s⌋ + 1,
    stride s defaults to the kernel size (non-overlapping windows).

With ``count_include_pad=True`` (PyTorch's default) k = kH·kW everywhere; with False, k counts
only the real pixels in the window. Both are written with `im2col` (one column per window); the
max keeps the *first* maximum of a window in row-major order, as PyTorch's kernel does, so ties
(common after a ReLU: several zeros) send the gradient to the same pixel.

``MaxPool2d.forward`` calls ``torch.max_pool2d`` (a torch op): the im2col form, `max_pool2d_unfold`,
takes 1.5× as long forward + backward (128×16×8×8, 2×2, float32, one thread: 1.24 vs 0.83 ms).
``AvgPool2d`` stays plain (1.3× the fused op's time, which torch offers only as the private
``torch.ops.aten.avg_pool2d``). Both forms are tested and in ``verify``.
"""

from __future__ import annotations

import torch

from nnscratch.layers.conv import IntPair, im2col, pad_bottom_right, pair
from nnscratch.module import Module


def _check(kernel_size: tuple[int, int], padding: tuple[int, int], name: str) -> None:
    if min(kernel_size) < 1:
        raise ValueError(f"{name}: kernel_size must be >= 1, got {kernel_size}")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel_size, strict=True)):
        raise ValueError(
            f"{name}: padding must be between 0 and half the kernel size, got {padding} for "
            f"kernel_size {kernel_size}"
        )


def ceil_mode_extra(
    size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """Rows/columns to add at the bottom/right so that ``ceil_mode=True``'s last windows fit.

    With ceil_mode, OH = ⌈(H + 2·pad − d·(kH − 1) − 1) / s⌉ + 1, less one if the last window
    would start past the input and its left padding (PyTorch's rule); those windows need
    (OH − 1)·s + d·(kH − 1) + 1 rows in all.
    """
    extra = []
    for n, k, s, p, d in zip(size, kernel_size, stride, padding, dilation, strict=True):
        out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1  # ⌈·⌉ + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max(0, (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))
    return extra[0], extra[1]


def max_pool2d_unfold(
    x: torch.Tensor,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> torch.Tensor:
    """The plain max pooling: the max of each window's column (≙ ``torch.max_pool2d``)."""
    if ceil_mode:  # −∞ rows/columns for the last, partial windows (they never win the max)
        extra = ceil_mode_extra(x.shape[-2:], kernel_size, stride, padding, dilation)
        x = pad_bottom_right(x, extra, -torch.inf)
    cols = im2col(x, kernel_size, stride, padding, dilation, -torch.inf)  # (N, C, kH·kW, OH, OW)
    return cols.max(dim=2).values  # (N, C, OH, OW); the first maximum on ties


class MaxPool2d(Module):
    """``nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)`` by hand.  x: (N, C, H, W) or unbatched (C, H, W).

    With ``return_indices=True`` the forward returns ``(y, indices)``: where each maximum was
    found, as a flat index h·W + w into its (unpadded) input plane, as ``nn.MaxPool2d`` does.
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.dilation = pair(dilation, "dilation")
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        _check(self.kernel_size, self.padding, "MaxPool2d")

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        # plain form: max_pool2d_unfold(x, ...), the same maxima and the same argmax
        args = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        if self.return_indices:  # (N, C, OH, OW) maxima and their flat positions h·W + w
            return torch.ops.aten.max_pool2d_with_indices(x, *args)
        return torch.max_pool2d(x, *args)  # (N, C, OH, OW)

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"


class AvgPool2d(Module):
    """``nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)`` by hand.  x: (N, C, H, W) or unbatched
    (C, H, W).  ``divisor_override``: every window's sum is divided by this number instead of k.

    ``ceil_mode=True`` adds the last, partial windows (`ceil_mode_extra` zero rows/columns at the
    bottom/right); their k counts the pixels and the padding they cover, never those extra rows
    (PyTorch's rule: with count_include_pad a window is clipped to the padded input)."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if divisor_override is not None and divisor_override < 1:
            raise ValueError(f"AvgPool2d: divisor_override must be >= 1, got {divisor_override}")
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        _check(self.kernel_size, self.padding, "AvgPool2d")

    def extra(self, x: torch.Tensor) -> tuple[int, int]:
        """The zero rows/columns added at the bottom/right for ceil_mode's partial windows."""
        if not self.ceil_mode:
            return (0, 0)
        return ceil_mode_extra(x.shape[-2:], self.kernel_size, self.stride, self.padding, (1, 1))

    def divisor(self, x: torch.Tensor) -> torch.Tensor | int:
        """k per window: kH·kW, or how many of its entries count: the real pixels (without
        count_include_pad) or the pixels and the padding (with it, when ceil_mode's extra
        rows/columns cut windows short): a (1, 1, OH, OW) count."""
        if self.divisor_override is not None:
            return self.divisor_override
        extra = self.extra(x)
        if (self.count_include_pad or self.padding == (0, 0)) and extra == (0, 0):
            return self.kernel_size[0] * self.kernel_size[1]
        (ph, pw), (H, W) = self.padding, x.shape[-2:]
        if self.count_include_pad:  # the pixels and the padding count: 1 over the padded input
            counted, padding = x.new_ones((1, 1, H + 2 * ph, W + 2 * pw)), (0, 0)
        else:  # the pixels only
            counted, padding = x.new_ones((1, 1, H, W)), self.padding
        counted = pad_bottom_right(counted, extra)  # ceil_mode's rows/columns do not count
        return im2col(counted, self.kernel_size, self.stride, padding, (1, 1)).sum(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # unbatched (C, H, W): a batch of one
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x_in = pad_bottom_right(x, self.extra(x))  # ceil_mode: zeros for the partial windows
        cols = im2col(
            x_in, self.kernel_size, self.stride, self.padding, (1, 1)
        )  # (N, C, kH·kW, OH, OW)
        return cols.sum(dim=2) / self.divisor(x)  # (N, C, OH, OW)

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"
