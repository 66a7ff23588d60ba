"""Mapping-table rows for the activations: nnscratch.functional ↔ torch.* / F.*.

Each activation is run next to its PyTorch counterpart on ordinary inputs and on extreme ones
(±1000, where a naive exp overflows): values, then gradients for the same upstream gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from nnscratch import functional as M
from nnscratch.lab.verify.check import Row, compare

ORDER = 20
F64 = torch.float64
TOL = 1e-12

Fn = Callable[[torch.Tensor], torch.Tensor]
ACTIVATIONS: list[tuple[str, Fn, str, Fn]] = [
    ("relu", M.relu, "torch.relu", torch.relu),
    ("tanh", M.tanh, "torch.tanh", torch.tanh),
    ("sigmoid", M.sigmoid, "torch.sigmoid", torch.sigmoid),
    ("logsigmoid", M.logsigmoid, "F.logsigmoid", F.logsigmoid),
    ("gelu", M.gelu, "F.gelu(approximate='none')", lambda x: F.gelu(x, approximate="none")),
    ("softmax(dim=-1)", M.softmax, "F.softmax(dim=-1)", lambda x: F.softmax(x, dim=-1)),
    ("log_softmax(dim=-1)", M.log_softmax, "F.log_softmax(dim=-1)", lambda x: F.log_softmax(x, -1)),
]


def inputs() -> list[tuple[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    ordinary = torch.randn(16, 8, dtype=F64, generator=g) * 3  # (16, 8)
    extreme = torch.tensor(
        [[-1000.0, -40.0, -1.0, 0.0], [1e-10, 1.0, 40.0, 1000.0], [1000.0, -1000.0, 0.0, 5.0]],
        dtype=F64,
    )  # (3, 4)
    return [("16×8 randn·3", ordinary), ("±1000 and 0", extreme)]


def value_and_grad(fn: Fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = fn(x)
    upstream = torch.randn(y.shape, dtype=y.dtype, generator=torch.Generator().manual_seed(1))
    y.backward(upstream)
    return y.detach(), x.grad


def rows() -> Iterator[Row]:
    for name, mine, abstraction, ref in ACTIVATIONS:
        for label, x in inputs():
            ya, ga = value_and_grad(mine, x)
            yb, gb = value_and_grad(ref, x)
            finite = bool(torch.isfinite(ya).all() and torch.isfinite(ga).all())
            yield compare(
                name,
                abstraction,
                f"value and gradient, {label}, float64",
                [ya, ga],
                [yb, gb],
                atol=TOL,
                rtol=TOL,
                extra_ok=finite,
            )
