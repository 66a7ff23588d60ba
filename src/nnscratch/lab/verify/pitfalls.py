"""Mapping-table rows for the pitfalls lab: two broken loops *are* PyTorch optimizers in disguise,
and the memory gauge agrees with PyTorch's own saved-tensor hooks.

forgetting zero_grad ↔ optim.SGD(momentum=1, dampening=0): .grad holds Σ g, as the buffer does
mean loss + update / N ↔ optim.SGD(lr=lr/N)
footprint(saved bytes) ↔ torch.autograd.graph.saved_tensors_hooks (bytes packed in the forward)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.lab.pitfalls import divide_twice, no_zero_grad
from nnscratch.lab.pitfalls.base import Observed, execute
from nnscratch.lab.pitfalls.memory import footprint
from nnscratch.lab.pitfalls.problem import LR, problem
from nnscratch.lab.verify.check import Row, compare
from nnscratch.layers import Linear

ORDER = 90


def torch_weights(seen: Observed, steps: int, **sgd: float) -> list[float]:
    """``w`` after each step of nn.Linear + nn.MSELoss + optim.SGD(**sgd), from seen's w0, b0."""
    X, y = problem()
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(seen["w0"])
        model.bias.fill_(seen["b0"])
    optimizer = optim.SGD(model.parameters(), **sgd)
    out = []
    for _ in range(steps):
        nn.MSELoss()(model(X), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        out.append(model.weight.item())
    return out


def hooked_saved_bytes(n_samples: int = 64, features: int = 4, hidden: int = 16) -> tuple[int, int]:
    """Bytes of activations saved by one forward pass, counted twice: by PyTorch's pack hook as
    they are saved, and by `footprint` walking the graph afterwards."""
    X, y = problem(n_samples=n_samples, features=features)
    torch.manual_seed(0)
    layer1, layer2 = Linear(features, hidden), Linear(hidden, 1)
    alive = {
        t.untyped_storage().data_ptr() for t in [X, y, *layer1.parameters(), *layer2.parameters()]
    }
    packed: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in alive:
            packed[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = ((layer2(torch.relu(layer1(X))) - y) ** 2).mean()
    return sum(packed.values()), footprint([loss]).saved_bytes


def rows() -> Iterator[Row]:
    broken = execute(no_zero_grad.broken).observed
    yield compare(
        "loop without zero_grad",
        "optim.SGD(momentum=1, dampening=0)",
        f"w at all {no_zero_grad.STEPS} steps (float32)",
        torch.tensor(broken["w"]),
        torch.tensor(torch_weights(broken, no_zero_grad.STEPS, lr=LR, momentum=1.0)),
        atol=1e-5,
        rtol=1e-5,
    )
    broken = execute(divide_twice.broken).observed
    yield compare(
        "mean loss, update / N",
        f"optim.SGD(lr=lr/N), N={broken['N']}",
        f"w at all {divide_twice.STEPS} steps (float32)",
        torch.tensor(broken["w"]),
        torch.tensor(torch_weights(broken, divide_twice.STEPS, lr=LR / broken["N"])),
        atol=1e-6,
        rtol=1e-6,
    )
    hooked, walked = hooked_saved_bytes()
    yield compare(
        "pitfalls.memory.footprint",
        "autograd saved_tensors_hooks",
        "activation bytes a graph saves (MLP 4→16→1)",
        torch.tensor(float(walked)),
        torch.tensor(float(hooked)),
        atol=0.0,
        extra_ok=hooked > 0,
    )
