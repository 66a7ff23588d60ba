"""Mapping-table rows for layers and models: Linear ↔ nn.Linear, MLP ↔ nn.Sequential, and the
module container's calls ↔ nn.Module's."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from nnscratch.lab.verify.check import Row, compare
from nnscratch.layers import Linear
from nnscratch.models import MLP

ORDER = 15
F64 = torch.float64
TORCH_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def reference_mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    activation: str,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """The nn.Sequential that `nnscratch.models.MLP` replaces."""
    sizes = [in_features, *hidden]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out, dtype=dtype), TORCH_ACTIVATIONS[activation]()]
    layers.append(nn.Linear(sizes[-1], out_features, dtype=dtype))
    return nn.Sequential(*layers)


def rows() -> Iterator[Row]:
    torch.manual_seed(0)
    mine = Linear(5, 3, dtype=F64)
    torch.manual_seed(0)
    ref = nn.Linear(5, 3, dtype=F64)
    x = torch.randn(8, 5, dtype=F64)
    yield compare(
        "Linear(5, 3)",
        "nn.Linear(5, 3)",
        "initial weight, bias; output",
        [*mine.parameters(), mine(x)],
        [*ref.parameters(), ref(x)],
        atol=1e-14,
    )

    for activation in ("relu", "tanh"):
        torch.manual_seed(1)
        mlp = MLP(5, [16, 8], 2, activation=activation, dtype=F64)
        torch.manual_seed(1)
        seq = reference_mlp(5, [16, 8], 2, activation, dtype=F64)
        out_a, out_b = mlp(x), seq(x)
        out_a.square().mean().backward()
        out_b.square().mean().backward()
        same_names = list(mlp.state_dict()) == list(seq.state_dict())
        yield compare(
            f"MLP(5, [16, 8], 2, {activation!r})",
            "nn.Sequential(Linear, act, ...)",
            "init, output, parameter gradients; state_dict keys",
            [*mlp.parameters(), out_a, *(p.grad for p in mlp.parameters())],
            [*seq.parameters(), out_b, *(p.grad for p in seq.parameters())],
            atol=1e-12,
            rtol=1e-12,
            extra_ok=same_names,
        )

    torch.manual_seed(2)
    source = MLP(5, [4], 1, dtype=F64)
    target, ref_target = MLP(5, [4], 1, dtype=F64), reference_mlp(5, [4], 1, "relu", dtype=F64)
    target.load_state_dict(source.state_dict())
    ref_target.load_state_dict(source.state_dict())
    yield compare(
        "Module.load_state_dict",
        "nn.Module.load_state_dict",
        "parameters after loading the same state",
        list(target.parameters()),
        list(ref_target.parameters()),
        atol=0.0,
        extra_ok=all(p.is_leaf for p in target.parameters()),
    )
