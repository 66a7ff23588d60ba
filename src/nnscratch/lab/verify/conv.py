"""Mapping-table rows: Conv2d ↔ nn.Conv2d (the torch.conv2d default and the plain im2col form),
MaxPool2d ↔ nn.MaxPool2d, AvgPool2d ↔ nn.AvgPool2d, Flatten ↔ nn.Flatten."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import torch
from torch import nn

from nnscratch.lab.verify.check import Row
from nnscratch.lab.verify.layer_pair import layer_rows
from nnscratch.layers import AvgPool2d, Conv2d, Flatten, MaxPool2d
from nnscratch.layers.conv import conv2d_unfold
from nnscratch.layers.pool import max_pool2d_unfold

ORDER = 16


def _x(*shape: int):
    return lambda dtype: torch.randn(
        *shape, dtype=dtype, generator=torch.Generator().manual_seed(2)
    )


def rows() -> Iterator[Row]:
    def conv(dtype):
        return Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, dtype=dtype)

    def ref_conv(dtype):
        return nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, dtype=dtype)

    x = _x(3, 4, 9, 8)
    shape = "3×4×9×8 → 6 channels, 3×3, stride 2, padding 1, groups 2"
    yield from layer_rows("Conv2d (torch.conv2d)", "nn.Conv2d", conv, ref_conv, x, shape)

    def unfold(layer, t):
        return conv2d_unfold(t, layer.weight, layer.bias, 2, 1, 1, 2)

    yield from layer_rows(
        "conv2d_unfold (im2col + matmul)", "nn.Conv2d", conv, ref_conv, x, shape, forward=unfold
    )

    def dilated(dtype):
        return Conv2d(3, 5, (3, 2), stride=(1, 2), padding=(2, 0), dilation=2, dtype=dtype)

    def ref_dilated(dtype):
        return nn.Conv2d(3, 5, (3, 2), stride=(1, 2), padding=(2, 0), dilation=2, dtype=dtype)

    yield from layer_rows(
        "Conv2d",
        "nn.Conv2d",
        dilated,
        ref_dilated,
        _x(2, 3, 8, 7),
        "2×3×8×7 → 5 channels, 3×2, stride (1, 2), padding (2, 0), dilation 2",
    )

    def same(dtype):
        return Conv2d(2, 3, (4, 3), padding="same", dtype=dtype)

    def ref_same(dtype):
        return nn.Conv2d(2, 3, (4, 3), padding="same", dtype=dtype)

    same_x, same_shape = _x(2, 2, 6, 5), "2×2×6×5 → 3 channels, 4×3, padding='same'"
    with warnings.catch_warnings():  # torch's note on even kernels, for nn.Conv2d as well
        warnings.filterwarnings("ignore", "Using padding='same'")
        yield from layer_rows("Conv2d", "nn.Conv2d", same, ref_same, same_x, same_shape)
        yield from layer_rows(
            "conv2d_unfold (im2col + matmul)",
            "nn.Conv2d",
            same,
            ref_same,
            same_x,
            same_shape,
            forward=lambda layer, t: conv2d_unfold(t, layer.weight, layer.bias, padding="same"),
        )

    pool_x = _x(2, 3, 7, 6)
    yield from layer_rows(
        "MaxPool2d (torch.max_pool2d)",
        "nn.MaxPool2d",
        lambda d: MaxPool2d(3, 2, 1),
        lambda d: nn.MaxPool2d(3, 2, 1),
        pool_x,
        "2×3×7×6, 3×3, stride 2, padding 1",
    )
    yield from layer_rows(
        "max_pool2d_unfold (im2col + max)",
        "nn.MaxPool2d",
        lambda d: MaxPool2d(3, 2, 1),
        lambda d: nn.MaxPool2d(3, 2, 1),
        pool_x,
        "2×3×7×6, 3×3, stride 2, padding 1",
        forward=lambda layer, t: max_pool2d_unfold(t, (3, 3), (2, 2), (1, 1)),
    )
    ceil_x, ceil_shape = _x(2, 3, 8, 6), "2×3×8×6, 3×3, stride 2, padding 1, ceil_mode=True"
    yield from layer_rows(
        "MaxPool2d (torch.max_pool2d)",
        "nn.MaxPool2d",
        lambda d: MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda d: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        ceil_x,
        ceil_shape,
    )
    yield from layer_rows(
        "max_pool2d_unfold (im2col + max)",
        "nn.MaxPool2d",
        lambda d: MaxPool2d(3, 2, 1, ceil_mode=True),
        lambda d: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        ceil_x,
        ceil_shape,
        forward=lambda layer, t: max_pool2d_unfold(t, (3, 3), (2, 2), (1, 1), ceil_mode=True),
    )
    for include in (True, False):
        yield from layer_rows(
            "AvgPool2d (ceil_mode=True)",
            "nn.AvgPool2d",
            lambda d, c=include: AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=c),
            lambda d, c=include: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=c),
            ceil_x,
            f"{ceil_shape}, count_include_pad={include}",
        )
        yield from layer_rows(
            "AvgPool2d",
            "nn.AvgPool2d",
            lambda d, c=include: AvgPool2d(3, 2, 1, count_include_pad=c),
            lambda d, c=include: nn.AvgPool2d(3, 2, 1, count_include_pad=c),
            pool_x,
            f"2×3×7×6, 3×3, stride 2, padding 1, count_include_pad={include}",
        )
    yield from layer_rows(
        "Flatten", "nn.Flatten", lambda d: Flatten(), lambda d: nn.Flatten(), pool_x, "2×3×7×6"
    )
