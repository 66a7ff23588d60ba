"""Hand-derived backward of `Conv2d`, through im2col (the pooling layers: `backprop.pool`).

With cols = im2col(x) (N, C·kH·kW, L) — every receptive field a column (`layers.conv.im2col`) —
a convolution is a matrix product, y = W_flat · cols + b, so its backward is the matrix
product's, followed by im2col's own backward, col2im (``F.fold``), which adds each column's
gradient back onto the pixels it was read from (a pixel in several windows gets the sum):

    Conv2d      ∂W_flat = Σₙ dyₙ colsₙᵀ            (O, N·L)@(N·L, K)  per group
                ∂b      = Σ_{n,p,q} dy              (O,)
                ∂cols   = W_flatᵀ dy                (K, O)@(O, L)     per group
                ∂x      = col2im(∂cols)             (N, C, H, W)

The forward rule computes the plain (im2col) form and keeps cols.

Per operation (what `nnscratch.autograd` applies to ``torch.conv2d``), the same
formulas from x itself, and their fast forms, each one torch op computing the same sum (tested
equal to the plain form):

    conv2d_weight_grad         ∂W = Σₙ dyₙ im2col(x)ₙᵀ          plain: im2col + matmul
    conv2d_weight_grad_fast    the same sum in one kernel (``convolution_backward``, ∂W only);
                               conv2d_weight_grad_as_conv: it is also a convolution of x with
                               dy as the filter (batch ↔ channels, stride ↔ dilation)
    conv2d_input_grad          ∂x = col2im(W_flatᵀ dy)          plain: matmul + col2im
    conv2d_input_grad_fast     ∂x = conv_transpose2d(dy, W): col2im∘W_flatᵀ is exactly the
                               transposed convolution (the adjoint of the convolution)
    conv2d_grads_fast          ∂x and ∂W in one ``convolution_backward`` call
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.layers import Conv2d
from nnscratch.layers.conv import col2im, im2col, pad_bottom_right, same_padding

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def conv2d_forward(layer: Conv2d, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """y = W_flat · im2col(x) + b per group;  keeps cols and x's spatial size."""
    N, G = x.shape[0], layer.groups
    O, Cg, kh, kw = layer.weight.shape
    padding, x_in = layer.padding, x
    if padding == "same":  # symmetric padding, plus a row/column of zeros where the total is odd
        padding, extra = same_padding(layer.kernel_size, layer.dilation)
        x_in = pad_bottom_right(x, extra)
    cols = im2col(x_in, layer.kernel_size, layer.stride, padding, layer.dilation)
    OH, OW = cols.shape[-2:]
    cols = cols.reshape(N, G, Cg * kh * kw, OH * OW)  # (N, G, K, L)
    w = layer.weight.reshape(G, O // G, Cg * kh * kw)  # (G, O/G, K)
    y = (w @ cols).reshape(N, O, OH, OW)  # (N, G, O/G, L) -> (N, O, OH, OW)
    if layer.bias is not None:
        y += layer.bias.view(1, O, 1, 1)
    return y, (cols, x_in.shape, padding, x.shape[-2:])


def conv2d_backward(
    layer: Conv2d, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    cols, x_shape, padding, (H, W) = saved  # cols (N, G, K, L); x_shape padded for 'same'
    N, G, K, L = cols.shape
    O = layer.weight.shape[0]
    dy_g = dy.reshape(N, G, O // G, L)  # (N, G, O/G, L)
    dw = (dy_g @ cols.transpose(-2, -1)).sum(dim=0)  # Σₙ (G, O/G, L)@(G, L, K) -> (G, O/G, K)
    grads.append((layer.weight, dw.reshape(layer.weight.shape)))  # (O, C/G, kH, kW)
    if layer.bias is not None:
        grads.append((layer.bias, dy.sum(dim=(0, 2, 3))))  # (O,)
    if not need_dx:
        return None
    w = layer.weight.reshape(G, O // G, K)  # (G, O/G, K)
    dcols = w.transpose(-2, -1) @ dy_g  # (G, K, O/G) @ (N, G, O/G, L) -> (N, G, K, L)
    kh, kw = layer.kernel_size
    OH, OW = dy.shape[-2:]
    dcols = dcols.reshape(N, x_shape[1], kh * kw, OH, OW)  # (N, C, kH·kW, OH, OW)
    dx = col2im(dcols, x_shape[-2:], layer.kernel_size, layer.stride, padding, layer.dilation)
    return dx[:, :, :H, :W]  # without the extra row/column of padding="same"


def conv2d_weight_grad(
    dy: torch.Tensor,
    x: torch.Tensor,
    weight_shape: torch.Size,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """∂W = Σₙ dyₙ colsₙᵀ per group (the plain form): (O, C/G, kH, kW)."""
    N, G = x.shape[0], groups
    O, Cg, kh, kw = weight_shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)  # (N, C, kH·kW, OH, OW)
    cols = cols.reshape(N, G, Cg * kh * kw, -1)  # (N, G, K, L)
    dy_g = dy.reshape(N, G, O // G, -1)  # (N, G, O/G, L)
    dw = (dy_g @ cols.transpose(-2, -1)).sum(dim=0)  # (G, O/G, K)
    return dw.reshape(weight_shape)


def conv2d_weight_grad_fast(
    dy: torch.Tensor,
    x: torch.Tensor,
    weight_shape: torch.Size,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """`conv2d_weight_grad` in one kernel: ``convolution_backward`` asked for ∂W only.

    The same sum is also a convolution, ∂W[o, c] = Σₙ x[n, c] ⋆ dy[n, o] (the batch as the
    channels, stride ↔ dilation: `conv2d_weight_grad_as_conv`); measured on a CNN's layers
    (float32, one thread) the dedicated kernel takes 0.2–0.6× its time.
    """
    return torch.ops.aten.convolution_backward(
        dy, x, _empty_weight(dy, weight_shape), None, list(stride), list(padding),
        list(dilation), False, [0, 0], groups, [False, True, False],
    )[1]  # fmt: skip


def conv2d_grads_fast(
    dy: torch.Tensor,
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    need: tuple[bool, bool] = (True, True),
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(∂x, ∂W) together in one kernel call: ``convolution_backward`` asked for both
    (`conv2d_input_grad_fast` and `conv2d_weight_grad_fast` in one pass over dy), or for the
    ones ``need`` names (None for the other). Given W itself rather than a stand-in of its
    shape, ∂W alone takes ~20 µs less on a small CNN's first layer (measured, one thread)."""
    dx, dw, _ = torch.ops.aten.convolution_backward(
        dy, x, weight, None, list(stride), list(padding), list(dilation), False, [0, 0],
        groups, [need[0], need[1], False],
    )  # fmt: skip
    return dx, dw


def _empty_weight(dy: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The op reads only W's shape for ∂W: an expanded 0-dim tensor, no memory."""
    return dy.new_zeros(()).expand(shape)


def conv2d_weight_grad_as_conv(
    dy: torch.Tensor,
    x: torch.Tensor,
    weight_shape: torch.Size,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """`conv2d_weight_grad` as one convolution (groups = 1; other groups: the plain form).

    ∂W[o, c, i, j] = Σ_{n,p,q} dy[n, o, p, q] · x_pad[n, c, p·s + i·d, q·s + j·d]: with the batch
    as the channels (x: (C, N, H, W), dy: (O, N, OH, OW) as O filters) that is a convolution of x
    by dy with stride d and dilation s; its output may have extra rows/columns past kH, kW.
    """
    if groups != 1:
        return conv2d_weight_grad(dy, x, weight_shape, stride, padding, dilation, groups)
    kh, kw = weight_shape[-2:]
    dw = torch.conv2d(
        x.transpose(0, 1), dy.transpose(0, 1), None, dilation, padding, stride
    )  # (C, O, ≥kH, ≥kW)
    return dw[:, :, :kh, :kw].transpose(0, 1)  # (O, C, kH, kW)


def conv2d_input_grad(
    dy: torch.Tensor,
    weight: torch.Tensor,
    x_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """∂x = col2im(W_flatᵀ dy) per group (the plain form): (N, C, H, W)."""
    N, O, OH, OW = dy.shape
    G = groups
    _, Cg, kh, kw = weight.shape
    w = weight.reshape(G, O // G, Cg * kh * kw)  # (G, O/G, K)
    dcols = w.transpose(-2, -1) @ dy.reshape(N, G, O // G, OH * OW)  # (N, G, K, L)
    dcols = dcols.reshape(N, G * Cg, kh * kw, OH, OW)  # (N, C, kH·kW, OH, OW)
    return col2im(dcols, x_size, (kh, kw), stride, padding, dilation)


def conv2d_input_grad_fast(
    dy: torch.Tensor,
    weight: torch.Tensor,
    x_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> torch.Tensor:
    """`conv2d_input_grad` as one transposed convolution; ``output_padding`` adds back the
    rows/columns the forward's stride skipped at the bottom/right."""
    kh, kw = weight.shape[-2:]
    extra = [
        n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
        for n, o, s, p, d, k in zip(
            x_size, dy.shape[-2:], stride, padding, dilation, (kh, kw), strict=True
        )
    ]
    return torch.conv_transpose2d(dy, weight, None, stride, padding, extra, groups, dilation)
