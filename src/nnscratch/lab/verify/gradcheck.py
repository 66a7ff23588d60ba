"""Mapping-table rows: every hand-written activation and loss under ``torch.autograd.gradcheck``.

gradcheck compares the Jacobian that autograd computes through our formulas with a numerical one
from central differences, in float64:

    J_num[:, k] = (f(x + h·e_k) − f(x − h·e_k)) / (2h),   h = 1e-6

It answers "is the function differentiable where we use it, and does backward agree with the
forward?". The row's ``max |diff|`` is that comparison done here by hand (autograd's Jacobian via
``torch.autograd.functional.jacobian`` against J_num); the row passes when gradcheck passes and
that difference is within gradcheck's own tolerance. Inputs stay away from the kinks of relu, |d|
and Huber's |d| = δ, where no derivative exists to check.

The last row checks the seed's gradient derived by hand (in `nnscratch.backprop`, the one place
it is written) against autograd: for ŷ = X wᵀ + b and L = mean((ŷ − y)²),
    ∂L/∂w = 2/N · (ŷ − y)ᵀ X   (the transpose of 2/N · Xᵀ(ŷ − y), as w is (1, F))
    ∂L/∂b = 2/N · Σᵢ (ŷᵢ − yᵢ)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from nnscratch import backprop
from nnscratch import functional as M
from nnscratch import losses as L
from nnscratch.data.synthetic import make_regression
from nnscratch.lab.verify.check import Row, compare
from nnscratch.models import LinearRegression

ORDER = 80
F64 = torch.float64
H = 1e-6
ATOL, RTOL = 1e-5, 1e-3  # gradcheck's defaults


def numerical_jacobian(fn: Callable, inputs: tuple[torch.Tensor, ...], i: int) -> torch.Tensor:
    """Central differences with respect to ``inputs[i]``: shape output.shape + inputs[i].shape."""
    x = inputs[i].detach()
    out_shape = fn(*inputs).shape
    columns = []
    for k in range(x.numel()):
        step = torch.zeros_like(x).view(-1)
        step[k] = H
        step = step.view_as(x)
        args_plus = [*inputs[:i], x + step, *inputs[i + 1 :]]
        args_minus = [*inputs[:i], x - step, *inputs[i + 1 :]]
        with torch.no_grad():
            columns.append((fn(*args_plus) - fn(*args_minus)) / (2 * H))  # (out...)
    return torch.stack(columns, dim=-1).view(*out_shape, *x.shape)


def check(piece: str, fn: Callable, *inputs: torch.Tensor) -> Row:
    inputs = tuple(x.detach().requires_grad_(True) for x in inputs)
    passed = torch.autograd.gradcheck(fn, inputs, atol=ATOL, rtol=RTOL, raise_exception=False)
    analytic = torch.autograd.functional.jacobian(fn, inputs)  # one Jacobian per input
    numerical = [numerical_jacobian(fn, inputs, i) for i in range(len(inputs))]
    which = "input" if len(inputs) == 1 else "input and target"
    return compare(
        piece,
        "torch.autograd.gradcheck",
        f"analytic vs numerical Jacobian (wrt {which}), float64",
        list(analytic),
        numerical,
        atol=ATOL,
        rtol=RTOL,
        extra_ok=bool(passed),
    )


def away_from_kinks(x: torch.Tensor, kinks: tuple[float, ...]) -> torch.Tensor:
    for k in kinks:
        x = torch.where((x.abs() - k).abs() < 0.05, x + 0.2, x)
    return x


def rows() -> Iterator[Row]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, dtype=F64, generator=g) * 2  # (N, C)
    y = torch.randn(3, 4, dtype=F64, generator=g)  # (N, C)
    p = torch.rand(3, 4, dtype=F64, generator=g)  # (N, C) probabilities
    t = torch.tensor([2, 0, 3])  # (N,) class indices
    w = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=F64)  # (C,)

    yield check("relu", M.relu, away_from_kinks(x, (0.0,)))
    for name in ("tanh", "sigmoid", "logsigmoid", "gelu", "softmax", "log_softmax"):
        yield check(name, getattr(M, name), x)

    d_safe = y + away_from_kinks(x - y, (0.0, 1.0))  # |ŷ − y| away from 0 and δ = 1
    yield check("mse_loss", lambda a, b: L.mse_loss(a, b, "none"), x, y)
    yield check("l1_loss", lambda a, b: L.l1_loss(a, b, "none"), d_safe, y)
    yield check("huber_loss", lambda a, b: L.huber_loss(a, b, "none"), d_safe, y)
    yield check(
        "cross_entropy (weight, label_smoothing=0.1)",
        lambda a: L.cross_entropy(a, t, w, reduction="none", label_smoothing=0.1),
        x,
    )
    yield check(
        "bce_with_logits (pos_weight)",
        lambda a, b: L.binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=w),
        x,
        p,
    )
    yield linear_regression_row()


def linear_regression_row() -> Row:
    data = make_regression(n_samples=32, features=3, noise=0.5, seed=4, dtype=F64)
    X, y = data.X, data.y  # (N, F), (N, 1)
    model = LinearRegression(3, dtype=F64, generator=torch.Generator().manual_seed(5))
    L.mse_loss(model(X), y).backward()

    # the formula as nnscratch.backprop derives it (the one place it is written)
    _, hand = backprop.gradients(model, L.mse_loss, X, y)
    dw, db = hand["weight"], hand["bias"]  # (1, F), (1,)
    return compare(
        "∂L/∂w = 2/N·Xᵀ(ŷ−y), ∂L/∂b = 2/N·Σ(ŷ−y) (backprop)",
        "loss.backward()",
        "linear regression gradient by hand vs autograd, float64",
        [dw, db],
        [model.weight.grad, model.bias.grad],
        atol=1e-12,
        rtol=1e-12,
    )
