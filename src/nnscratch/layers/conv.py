"""2-D convolution.  ``Conv2d`` replaces ``torch.nn.Conv2d``.

A convolution slides a (C_in, kH, kW) filter over the (zero-padded) image and takes a dot product
at every stop (PyTorch's, like every framework's, is a cross-correlation: the filter is not
flipped):

    y[n, o, p, q] = b[o] + Σ_c Σ_i Σ_j  W[o, c, i, j] · x_pad[n, c, p·s + i·d, q·s + j·d]

    x: (N, C_in, H, W)    W: (C_out, C_in/groups, kH, kW)    b: (C_out,)    y: (N, C_out, OH, OW)
    OH = ⌊(H + 2·pad − d·(kH − 1) − 1) / s⌋ + 1      (the same for OW)

The plain form, `conv2d_unfold`, is two steps a learner can check by hand ("im2col"):

    cols = im2col(x)     (N, C_in·kH·kW, OH·OW)  each column one receptive field, flattened
    y    = W_flat @ cols (C_out, C_in·kH·kW) @ (N, C_in·kH·kW, OH·OW) -> (N, C_out, OH·OW)

so a convolution is a `Linear` applied to every patch with shared weights. ``groups`` splits the
channels into independent blocks: group g's C_out/groups filters see only its C_in/groups inputs.

``Conv2d.forward`` calls ``torch.conv2d`` (a torch op, not ``torch.nn``), which computes the same
sum in one kernel. Measured forward + backward, float32, one CPU thread, padding 1, 3×3 filters:
128×1×8×8 → 16 channels: im2col 1.38 ms, torch.conv2d 0.99 ms (1.4×); 128×16×8×8 → 32 channels:
10.9 ms vs 2.4 ms (4.5×). Both forms are tested and in ``verify``.
"""

from __future__ import annotations

import torch

from nnscratch import init
from nnscratch.module import Module, parameter

IntPair = int | tuple[int, int]


def pair(v: IntPair, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays a pair (PyTorch's ``_pair``)."""
    out = (v, v) if isinstance(v, int) else tuple(v)
    if len(out) != 2 or not all(isinstance(k, int) for k in out):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return out  # type: ignore[return-value]


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(
    kernel_size: tuple[int, int], dilation: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """``padding='same'`` as numbers: (p_h, p_w) on every side, plus (e_h, e_w) ∈ {0, 1} extra
    rows/columns at the bottom/right, where the total d·(k − 1) is odd (PyTorch's placement)."""
    totals = [d * (k - 1) for k, d in zip(kernel_size, dilation, strict=True)]
    pads = tuple(t // 2 for t in totals)
    return pads, tuple(t - 2 * p for t, p in zip(totals, pads, strict=True))  # type: ignore[return-value]


def pad_bottom_right(x: torch.Tensor, extra: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    """x with ``extra`` rows of ``value`` below and columns of ``value`` to the right."""
    if extra == (0, 0):
        return x
    return torch.constant_pad_nd(x, (0, extra[1], 0, extra[0]), value)  # (N, C, H+e_h, W+e_w)


def im2col(
    x: torch.Tensor,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    pad_value: float = 0.0,
) -> torch.Tensor:
    """Every receptive field of ``x`` as a column (``F.unfold``, written with slices).

        cols[n, c, i, j, p, q] = x_pad[n, c, p·s + i·d, q·s + j·d]

    One strided slice of the padded image per kernel position (i, j): kH·kW slices in all.
    Returns (N, C, kH·kW, OH, OW); ``.flatten(1, 2)`` gives ``F.unfold``'s (N, C·kH·kW, OH·OW).
    """
    _, _, H, W = x.shape  # (N, C, H, W)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    OH, OW = output_size(H, kh, sh, ph, dh), output_size(W, kw, sw, pw, dw)
    # pad_value around x (torch.constant_pad_nd: one op the engine records, where x_pad[...] = x
    # would write into a tensor outside the graph)
    x_pad = torch.constant_pad_nd(x, (pw, pw, ph, ph), pad_value)  # (N, C, H+2ph, W+2pw)
    slices = [
        x_pad[
            :, :, i * dh : i * dh + sh * (OH - 1) + 1 : sh, j * dw : j * dw + sw * (OW - 1) + 1 : sw
        ]
        for i in range(kh)
        for j in range(kw)
    ]  # kH·kW × (N, C, OH, OW)
    return torch.stack(slices, dim=2)  # (N, C, kH·kW, OH, OW)


def col2im(
    cols: torch.Tensor,
    image_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> torch.Tensor:
    """The adjoint of `im2col` (``F.fold``): add every column back where it came from.

    cols (N, C, kH·kW, OH, OW) -> (N, C, H, W). A pixel that sits in several receptive fields
    receives the sum of their entries, so this is the backward of `im2col`: ∂L/∂x = col2im(∂L/∂cols).
    """
    N, C, _, OH, OW = cols.shape
    H, W = image_size
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    x_pad = cols.new_zeros((N, C, H + 2 * ph, W + 2 * pw))  # (N, C, H+2ph, W+2pw)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (OH - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (OW - 1) + 1, sw)
            x_pad[:, :, rows, columns] += cols[:, :, i * kw + j]  # (N, C, OH, OW)
    return x_pad[:, :, ph : ph + H, pw : pw + W]  # (N, C, H, W): the padding is dropped


def conv2d_unfold(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """The plain convolution: im2col, then one batched matmul per group (≙ ``torch.conv2d``)."""
    N = x.shape[0]
    O, Cg, kh, kw = weight.shape
    G = groups
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    if padding == "same":  # zeros so that the output keeps x's size (stride 1)
        padding, extra = same_padding((kh, kw), dilation)
        x = pad_bottom_right(x, extra)
    padding = (0, 0) if padding == "valid" else pair(padding, "padding")
    cols = im2col(x, (kh, kw), stride, padding, dilation)  # (N, C, kH·kW, OH, OW)
    OH, OW = cols.shape[-2:]
    cols = cols.reshape(N, G, Cg * kh * kw, OH * OW)  # (N, G, K, L)  K = C/G·kH·kW
    w = weight.reshape(G, O // G, Cg * kh * kw)  # (G, O/G, K)
    y = (w @ cols).reshape(N, O, OH, OW)  # (G, O/G, K) @ (N, G, K, L) -> (N, G, O/G, L)
    if bias is not None:
        y = y + bias.view(1, O, 1, 1)  # (C_out,) broadcast over N, OH, OW
    return y


class Conv2d(Module):
    """``nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, device=None, dtype=None)`` by hand (zero padding only).

    weight (out_channels, in_channels/groups, kH, kW) and bias (out_channels,) are drawn as
    ``nn.Conv2d`` draws them (`nnscratch.init.conv_`): same seed, same numbers.

    Example:
        >>> conv = Conv2d(1, 8, kernel_size=3, padding=1)
        >>> conv(torch.randn(4, 1, 8, 8)).shape
        torch.Size([4, 8, 8, 8])

    Args:
        in_channels: input channels C_in.
        out_channels: output channels C_out.
        kernel_size: k, or (k_h, k_w).
        stride: step of the kernel (default 1).
        padding: zeros added on each side (default 0); "valid" (none) or "same" (as many as
            keep the output the size of the input, stride 1; an odd total puts the extra row or
            column at the bottom or right, as PyTorch does).
        dilation: spacing of the kernel's taps (default 1).
        groups: channel groups convolved separately (default 1).
        bias: with an additive bias (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        generator: the ``torch.Generator`` the initial values are drawn from (default None: the
            global RNG, as in torch.nn).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair | str = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                f"divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError("Conv2d: kernel_size, stride and dilation must be >= 1")
        self.padding = self._padding(padding)  # (p_h, p_w), or "same"
        kw = {"device": device, "dtype": dtype}
        weight = torch.empty(out_channels, in_channels // groups, *self.kernel_size, **kw)
        b = torch.empty(out_channels, **kw) if bias else None
        init.conv_(weight, b, generator)
        self.weight = parameter(weight)  # (C_out, C_in/groups, kH, kW)
        self.bias = parameter(b) if b is not None else None  # (C_out,)

    def _padding(self, padding: IntPair | str) -> tuple[int, int] | str:
        """PyTorch's choices: numbers, "valid" (none) or "same" (output size = input size)."""
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' needs stride 1 (as in PyTorch)")
            return "same"
        if isinstance(padding, str):
            raise ValueError(
                f"Conv2d: padding must be a number, 'valid' or 'same', got {padding!r}"
            )
        pads = pair(padding, "padding")
        if min(pads) < 0:
            raise ValueError(f"Conv2d: padding must be >= 0, got {padding!r}")
        return pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # plain form: conv2d_unfold(x, W, b, ...), the same sum (see the module docstring)
        return torch.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )  # (N, C_out, OH, OW)

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None})"
        )
