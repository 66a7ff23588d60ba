"""Mapping-table rows for `nnscratch.lab.graph`: the hand-walked graph against autograd itself.

leaves reached from loss.grad_fn ↔ the tensors backward() fills (same set, by identity)
gradients shown at the leaves ↔ nn.Sequential(nn.Linear, nn.ReLU, nn.Linear) backward
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from nnscratch.lab.graph import build_graph
from nnscratch.lab.verify.check import Row, compare
from nnscratch.layers import Linear
from nnscratch.losses import mse_loss

ORDER = 95
F64 = torch.float64


def mlp_pair(sizes: tuple[int, int, int] = (3, 4, 1), seed: int = 0):
    """Named parameters of a manual Linear → relu → Linear, and the same nn.Sequential."""
    i, h, o = sizes
    torch.manual_seed(seed)
    layer1, layer2 = Linear(i, h, dtype=F64), Linear(h, o, dtype=F64)
    torch.manual_seed(seed)
    reference = nn.Sequential(nn.Linear(i, h, dtype=F64), nn.ReLU(), nn.Linear(h, o, dtype=F64))
    named = [
        ("0.weight", layer1.weight),
        ("0.bias", layer1.bias),
        ("2.weight", layer2.weight),
        ("2.bias", layer2.bias),
    ]
    return (lambda x: layer2(torch.relu(layer1(x)))), named, reference


def rows() -> Iterator[Row]:
    forward, named, reference = mlp_pair()
    g = torch.Generator().manual_seed(1)
    X = torch.randn(6, 3, generator=g, dtype=F64)  # (6, 3)
    y = torch.randn(6, 1, generator=g, dtype=F64)  # (6, 1)
    loss = mse_loss(forward(X), y)
    loss.backward()
    graph = build_graph(loss, named)
    leaves = {n.name: n.tensor for n in graph.leaves()}
    filled = {name for name, p in named if p.grad is not None}
    same = set(leaves) == filled == {name for name, _ in named} and all(
        leaves[name] is p for name, p in named
    )
    yield Row(
        "graph walk: AccumulateGrad leaves",
        "tensors loss.backward() fills",
        "same set of tensors (MLP 3→4→1)",
        0.0,
        0.0,
        0.0,
        same,
    )
    nn.MSELoss()(reference(X), y).backward()
    theirs = dict(reference.named_parameters())
    yield compare(
        "graph walk: leaf .grad",
        "nn.Sequential(Linear, ReLU, Linear)",
        "gradients shown at the leaves (float64)",
        [leaves[name].grad for name, _ in named],
        [theirs[name].grad for name, _ in named],
        atol=1e-12,
        rtol=1e-12,
    )
