"""Mapping-table rows: BatchNorm1d ↔ nn.BatchNorm1d, BatchNorm2d ↔ nn.BatchNorm2d.

Three training batches (batch statistics; running mean and unbiased running variance updated
with momentum 0.1), then one batch in eval mode (running statistics): outputs, ∂L/∂x, ∂L/∂γ,
∂L/∂β and the buffers compared after every batch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from nnscratch.lab.verify.check import Row, compare
from nnscratch.lab.verify.layer_pair import TOL, CallAs, outputs_and_grads
from nnscratch.layers import BatchNorm1d, BatchNorm2d

ORDER = 18
F64 = torch.float64


def rows() -> Iterator[Row]:
    cases = [
        (BatchNorm1d, nn.BatchNorm1d, (8, 4)),
        (BatchNorm1d, nn.BatchNorm1d, (8, 4, 5)),
        (BatchNorm2d, nn.BatchNorm2d, (6, 4, 3, 5)),
    ]
    for mine_cls, ref_cls, shape in cases:
        for plain in (False, True):
            for dtype in (F64, torch.float32):
                yield row(mine_cls, ref_cls, shape, plain, dtype)


def row(mine_cls: type, ref_cls: type, shape: tuple[int, ...], plain: bool, dtype) -> Row:
    """Three training batches, then one in eval: outputs, gradients and buffers after each."""
    mine, ref = mine_cls(4, dtype=dtype), ref_cls(4, dtype=dtype)
    forward = (lambda t: mine.plain_forward(t)) if plain else mine
    gen = torch.Generator().manual_seed(0)
    a: list[torch.Tensor] = []
    b: list[torch.Tensor] = []
    for i in range(4):
        if i == 3:
            mine.eval()
            ref.eval()
        x = torch.randn(shape, dtype=dtype, generator=gen) * 2 + 0.5
        g = torch.randn(shape, dtype=dtype, generator=gen)
        a += [*outputs_and_grads(CallAs(forward, mine), x, g), *mine.state_dict().values()]
        b += [*outputs_and_grads(ref, x, g), *ref.state_dict().values()]
    dims = "×".join(map(str, shape))
    return compare(
        f"{mine_cls.__name__}{'.plain_forward' if plain else ' (torch.batch_norm)'}",
        f"nn.{ref_cls.__name__}",
        f"3 train + 1 eval batch {dims}: outputs, grads, running stats; "
        f"{str(dtype).removeprefix('torch.')}",
        a,
        b,
        atol=TOL[dtype],
        rtol=TOL[dtype],
        extra_ok=list(mine.state_dict()) == list(ref.state_dict()),
    )
