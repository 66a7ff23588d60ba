"""Mapping-table rows for gradient clipping: ``clip_grad_norm_`` ↔ ``torch.nn.utils.clip_grad_norm_``,
alone (returned total norm and clipped gradients) and inside the training loop."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn, optim

from nnscratch.clip import clip_grad_norm_
from nnscratch.data.synthetic import make_regression
from nnscratch.lab.verify.check import Row, compare
from nnscratch.lab.verify.linear import pair
from nnscratch.loop import fit

ORDER = 60
F64 = torch.float64


def gradient_pairs(seed: int, scale: float) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Two identical sets of leaves with gradients of size about ``scale``."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (3,), (2, 5, 2)]
    values = [torch.randn(s, generator=g, dtype=F64) for s in shapes]
    grads = [scale * torch.randn(s, generator=g, dtype=F64) for s in shapes]
    mine, theirs = [], []
    for v, gr in zip(values, grads, strict=True):
        for out in (mine, theirs):
            p = v.clone().requires_grad_(True)
            p.grad = gr.clone()
            out.append(p)
    return mine, theirs


def rows() -> Iterator[Row]:
    cases = [
        ("total norm > max_norm: clipped", 2.0, 1.0, 3.0),
        ("total norm < max_norm: unchanged", 2.0, 0.01, 3.0),
        ("norm_type=inf", float("inf"), 1.0, 0.5),
    ]
    for label, norm_type, scale, max_norm in cases:
        mine, theirs = gradient_pairs(0, scale)
        a = clip_grad_norm_(mine, max_norm, norm_type=norm_type)
        b = nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
        yield compare(
            "clip_grad_norm_",
            "nn.utils.clip_grad_norm_",
            f"returned norm and gradients, {label}",
            [a, *(p.grad for p in mine)],
            [b, *(p.grad for p in theirs)],
            atol=1e-12,
            rtol=1e-12,
        )

    manual, reference = pair(3, seed=4)
    data = make_regression(n_samples=64, features=3, noise=0.1, seed=5, dtype=F64)
    lr, max_norm, steps = 0.1, 0.5, 30
    fit(manual, data.X, data.y, lr=lr, epochs=steps, clip_grad_norm=max_norm)
    opt = optim.SGD(reference.parameters(), lr=lr)
    for _ in range(steps):
        nn.MSELoss()(reference(data.X), data.y).backward()
        nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        opt.step()
        opt.zero_grad()
    yield compare(
        "fit(clip_grad_norm=0.5)",
        "loop + nn.utils.clip_grad_norm_ + optim.SGD",
        f"parameters after {steps} clipped steps",
        list(manual.parameters()),
        list(reference.parameters()),
        atol=1e-12,
        rtol=1e-12,
    )
