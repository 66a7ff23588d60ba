"""Exercise ``conv2d``: a 2-D convolution's forward through im2col (``nn.Conv2d`` /
``F.conv2d`` by hand).

    pad x with zeros: (N, C, H + 2p, W + 2p)
    im2col: every k_h × k_w window, stride s, as a row of C·k_h·k_w numbers, in the order
            (channel, row, column) that weight.reshape(O, −1) uses   (N, H_out·W_out, C·k_h·k_w)
    out = cols @ weight.reshape(O, −1)ᵀ + bias                      (N, H_out·W_out, O)
    H_out = ⌊(H + 2p − k_h) / s⌋ + 1, and the same for W

PyTorch's "convolution" is a cross-correlation: the kernel is not flipped.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template, variant
from nnscratch.lab.practice.observe import keep

TEMPLATE = template(
    "conv2d",
    "Write the forward of a 2-D convolution, as F.conv2d(x, weight, bias, stride, padding)\n"
    "computes it, by turning the input's windows into rows (im2col) and multiplying once.",
    "nnscratch verify   (the Conv2d rows)",
    '''
def conv2d(x, weight, bias, stride, padding):
    """Return out (N, O, H_out, W_out) for x (N, C, H, W), weight (O, C, kh, kw), bias (O,).

    Zero padding of `padding` on every side, windows every `stride` pixels; as PyTorch, no
    kernel flip. Hint: Tensor.unfold(dim, size, step) cuts windows along one dimension.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    x, weight, bias = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3), torch.randn(3)
    print(conv2d(x, weight, bias, stride=1, padding=1).shape)  # (1, 3, 5, 5)
""",
)


def conv2d(x, weight, bias, stride, padding):
    """The reference."""
    return conv_with(x, weight, bias, stride, padding)


def conv_with(x, weight, bias, stride, padding, flip=False, channels_last=False, add_bias=True):
    """im2col convolution with its conventions as arguments (reference and wrong variants)."""
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    p = padding
    padded = x.new_zeros(N, C, H + 2 * p, W + 2 * p)
    padded[:, :, p : p + H, p : p + W] = x
    windows = padded.unfold(2, kh, stride).unfold(3, kw, stride)  # (N, C, Ho, Wo, kh, kw)
    Ho, Wo = windows.shape[2], windows.shape[3]
    order = (0, 2, 3, 4, 5, 1) if channels_last else (0, 2, 3, 1, 4, 5)
    cols = windows.permute(*order).reshape(N, Ho * Wo, C * kh * kw)  # im2col
    kernel = weight.flip(2, 3) if flip else weight
    out = cols @ kernel.reshape(O, -1).T  # (N, Ho·Wo, O)
    if add_bias:
        out = out + bias
    return out.permute(0, 2, 1).reshape(N, O, Ho, Wo)


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, C, H, W, O, k = (params[key] for key in ("N", "C", "H", "W", "O", "k"))
    x = torch.randn(N, C, H, W, generator=g, dtype=torch.float64)
    weight = torch.randn(O, C, k, k, generator=g, dtype=torch.float64)
    bias = torch.randn(O, generator=g, dtype=torch.float64)
    seen["out"] = keep(fns.conv2d(x, weight, bias, params["stride"], params["padding"]))


def with_(**kwargs):
    return variant(conv2d=lambda x, w, b, s, p: conv_with(x, w, b, s, p, **kwargs))


MISTAKES = (
    Mistake(
        "flipped-kernel",
        "conv2d",
        "the kernel was flipped (the convolution of signal processing): PyTorch's conv2d is a "
        "cross-correlation, each window times the weight as stored.",
        "use weight as it is, without .flip.",
        predict=with_(flip=True),
    ),
    Mistake(
        "padding-ignored",
        "conv2d",
        "the output is the unpadded one: `padding` zeros go around every side first.",
        "pad x by `padding` on each side before cutting windows.",
        predict=variant(conv2d=lambda x, w, b, s, p: conv_with(x, w, b, s, 0)),
    ),
    Mistake(
        "stride-ignored",
        "conv2d",
        "windows were taken at every pixel: `stride` is the step between windows.",
        "Tensor.unfold(dim, size, step=stride).",
        predict=variant(conv2d=lambda x, w, b, s, p: conv_with(x, w, b, 1, p)),
    ),
    Mistake(
        "im2col-order",
        "conv2d",
        "right for one channel, wrong for several: each window's numbers were flattened as "
        "(row, column, channel), but weight.reshape(O, −1) is (channel, row, column).",
        "permute the windows to (N, Ho, Wo, C, kh, kw) before reshaping.",
        predict=with_(channels_last=True),
    ),
    Mistake(
        "missing-bias",
        "conv2d",
        "the bias was not added: every output channel is off by its bias.",
        "add bias (O,) to each output channel.",
        predict=with_(add_bias=False),
    ),
)

EXERCISE = Exercise(
    name="conv2d",
    title="conv2d forward through im2col",
    functions=("conv2d",),
    template=TEMPLATE,
    reference={"conv2d": conv2d},
    trials=(
        Trial(
            "C=1, 5x5, k=3",
            {"N": 2, "C": 1, "H": 5, "W": 5, "O": 2, "k": 3, "stride": 1, "padding": 0, "seed": 1},
        ),
        Trial(
            "C=3, 6x7, k=3, padding 1",
            {"N": 1, "C": 3, "H": 6, "W": 7, "O": 4, "k": 3, "stride": 1, "padding": 1, "seed": 2},
        ),
        Trial(
            "C=2, 7x7, k=2, stride 2",
            {"N": 2, "C": 2, "H": 7, "W": 7, "O": 3, "k": 2, "stride": 2, "padding": 0, "seed": 3},
        ),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Output size: (H + 2·padding − k) // stride + 1 in each direction.",
        "Pad, then x.unfold(2, kh, stride).unfold(3, kw, stride) gives every window: "
        "(N, C, Ho, Wo, kh, kw).",
        "Flatten each window in the order (C, kh, kw), as weight.reshape(O, -1) is, and "
        "multiply once.",
    ),
    see="nnscratch verify",
)

ORDER = 120
