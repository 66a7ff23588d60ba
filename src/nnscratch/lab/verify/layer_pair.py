"""A layer next to its ``torch.nn`` twin, built from the same seed: the rows every layer gets.

initial parameters (and buffers)     equal bit for bit (atol 0): the same draws, same order
output, ∂L/∂x and ∂L/∂params          float64 within 1e-12, float32 within 1e-5
(L = Σ y ⊙ g for a fixed random g, so every output entry gets its own upstream gradient)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from nnscratch.lab.verify.check import Row, compare
from nnscratch.module import Module

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-12, F32: 1e-5}


def same_seed(
    mine: Callable[[torch.dtype], Module],
    ref: Callable[[torch.dtype], nn.Module],
    dtype: torch.dtype,
) -> tuple[Module, nn.Module]:
    torch.manual_seed(0)
    a = mine(dtype)
    torch.manual_seed(0)
    return a, ref(dtype)


def outputs_and_grads(layer, x: torch.Tensor, g: torch.Tensor | None) -> list[torch.Tensor]:
    """[y, ∂L/∂x (float inputs), ∂L/∂p for every parameter], L = Σ y ⊙ g."""
    x = x.detach().clone().requires_grad_(x.is_floating_point())
    y = layer(x)
    g = torch.ones_like(y) if g is None else g
    params = list(layer.parameters())
    wrt = ([x] if x.is_floating_point() else []) + params
    grads = torch.autograd.grad((y * g).sum(), wrt, allow_unused=True) if wrt else []
    return [y, *(torch.zeros_like(t) if d is None else d for t, d in zip(wrt, grads, strict=True))]


def layer_rows(
    piece: str,
    abstraction: str,
    mine: Callable[[torch.dtype], Module],
    ref: Callable[[torch.dtype], nn.Module],
    x: Callable[[torch.dtype], torch.Tensor],
    shape: str,
    forward: Callable[[Module, torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[Row]:
    """Rows: initial state (atol 0), then forward + gradients in float64 and float32.

    ``forward(layer, x)`` replaces ``layer(x)`` on the manual side (for a layer's plain form).
    """
    a, b = same_seed(mine, ref, F64)
    if forward is None and a.state_dict():
        state = list(a.state_dict().values())
        yield compare(
            piece,
            abstraction,
            f"initial {_names(a)}: same draws",
            state,
            list(b.state_dict().values()),
            atol=0.0,
            extra_ok=list(a.state_dict()) == list(b.state_dict()),
        )
    for dtype in (F64, F32):
        a, b = same_seed(mine, ref, dtype)
        inp = x(dtype)
        y_ref = b(inp.detach().clone())
        g = torch.randn(y_ref.shape, dtype=y_ref.dtype, generator=torch.Generator().manual_seed(1))
        run = a if forward is None else (lambda t, a=a: forward(a, t))
        mine_out = outputs_and_grads(CallAs(run, a), inp, g)
        ref_out = outputs_and_grads(b, inp, g)
        tol = TOL[dtype]
        yield compare(
            piece,
            abstraction,
            f"output, ∂L/∂x, ∂L/∂params; {shape}, {str(dtype).removeprefix('torch.')}",
            mine_out,
            ref_out,
            atol=tol,
            rtol=tol,
        )


def _names(layer: Module) -> str:
    keys = list(layer.state_dict())
    return ", ".join(keys) if len(keys) <= 4 else f"state ({len(keys)} tensors, keys equal)"


class CallAs:
    """``fn`` called like a layer, with ``layer``'s parameters."""

    def __init__(self, fn, layer) -> None:
        self.fn, self.layer = fn, layer

    def __call__(self, x):
        return self.fn(x)

    def parameters(self):
        return self.layer.parameters()
