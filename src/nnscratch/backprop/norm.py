"""Hand-derived backward of `LayerNorm`, `BatchNorm1d` and `BatchNorm2d`: the closed form.

Both layers compute, over a set of n values (LayerNorm: one sample's normalized dims;
BatchNorm: one channel across the batch and the spatial positions),

    μ = (1/n) Σⱼ xⱼ,   σ² = (1/n) Σⱼ (xⱼ − μ)²,   r = 1/√(σ² + ε),   x̂ᵢ = (xᵢ − μ)·r,   yᵢ = γ x̂ᵢ + β

Every x̂ depends on every x through μ and r. With ∂μ/∂xᵢ = 1/n and ∂σ²/∂xᵢ = 2(xᵢ − μ)/n,
∂r/∂xᵢ = −½(σ² + ε)^(−3/2) · 2(xᵢ − μ)/n = −r² x̂ᵢ / n, so

    ∂x̂ⱼ/∂xᵢ = r·(δᵢⱼ − 1/n) + (xⱼ − μ)·(−r² x̂ᵢ / n) = (r/n)·(n δᵢⱼ − 1 − x̂ᵢ x̂ⱼ)

and with g = ∂L/∂x̂ (= dy ⊙ γ), summing over j:

    ∂L/∂xᵢ = Σⱼ gⱼ ∂x̂ⱼ/∂xᵢ = (r/n)·(n gᵢ − Σⱼ gⱼ − x̂ᵢ Σⱼ gⱼ x̂ⱼ)

three terms instead of the long chain through μ, σ², r: the gradient itself, minus its mean
(shifting x does not change x̂), minus its component along x̂ (scaling x does not change x̂).
For BatchNorm γ is one number per channel and comes out of the sums:
∂L/∂x = (γ r / n)·(n dy − Σ dy − x̂ Σ(dy ⊙ x̂)). The parameters:

    ∂L/∂γ = Σ dy ⊙ x̂,   ∂L/∂β = Σ dy      (BatchNorm: per channel; LayerNorm: over the batch dims)

In eval, BatchNorm uses its running statistics, constants, so it is an affine map per channel:
∂L/∂x = dy · γ · r.

Fast forms (`layer_norm_grads_fast`, `batch_norm_grads_fast`): the same three terms and the same
sums in one kernel each (``native_layer_norm_backward``, ``native_batch_norm_backward``); the plain
forms take about ten full-size kernels and were measured 10–20× slower on a CNN's batch norm.
Tested equal to the plain forms.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.layers import LayerNorm
from nnscratch.layers.norm import _BatchNorm

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def normalize_backward(
    g: torch.Tensor, x_hat: torch.Tensor, r: torch.Tensor, dims: tuple[int, ...], n: int
) -> torch.Tensor:
    """∂L/∂x = (r/n)·(n g − Σ g − x̂ Σ(g ⊙ x̂)), sums over ``dims``, for g = ∂L/∂x̂."""
    sum_g = g.sum(dim=dims, keepdim=True)
    sum_gx = (g * x_hat).sum(dim=dims, keepdim=True)
    return (r / n) * (n * g - sum_g - x_hat * sum_gx)


def layer_norm_forward(layer: LayerNorm, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """y = γ x̂ + β over the last dims;  keeps x̂ and r."""
    dims = tuple(range(-len(layer.normalized_shape), 0))
    mu = x.mean(dim=dims, keepdim=True)  # (..., 1)
    r = 1.0 / torch.sqrt((x - mu).square().mean(dim=dims, keepdim=True) + layer.eps)  # (..., 1)
    x_hat = (x - mu) * r
    y = x_hat if layer.weight is None else x_hat * layer.weight
    if layer.bias is not None:
        y = y + layer.bias
    return y, (x_hat, r)


def layer_norm_backward(
    layer: LayerNorm, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    x_hat, r = saved
    k = len(layer.normalized_shape)
    dx, dw, db = layer_norm_grads(dy, x_hat, r, layer.weight, layer.bias is not None, k, need_dx)
    if dw is not None:
        grads.append((layer.weight, dw))
    if db is not None:
        grads.append((layer.bias, db))
    return dx


def layer_norm_grads(
    dy: torch.Tensor,
    x_hat: torch.Tensor,
    r: torch.Tensor,
    weight: torch.Tensor | None,
    has_bias: bool,
    k: int,
    need_dx: bool = True,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(∂x, ∂γ, ∂β) of y = γ x̂ + β normalized over the last ``k`` dims: ∂γ = Σ dy ⊙ x̂ and
    ∂β = Σ dy over the other dims, ∂x from `normalize_backward`."""
    flat = (-1, *x_hat.shape[x_hat.dim() - k :])  # every other dim in one (may be none)
    dw = None if weight is None else (dy * x_hat).reshape(flat).sum(dim=0)  # (*shape,)
    db = dy.reshape(flat).sum(dim=0) if has_bias else None  # (*shape,)
    if not need_dx:
        return None, dw, db
    g = dy if weight is None else dy * weight  # ∂L/∂x̂
    n = x_hat[(0,) * (x_hat.dim() - k)].numel()  # values per normalized group
    return normalize_backward(g, x_hat, r, tuple(range(-k, 0)), n), dw, db


def batch_norm_forward(layer: _BatchNorm, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """The layer's forward (running statistics updated in training);  keeps x̂, r, n."""
    dims = layer.reduce_dims(x)
    shape = [1] * x.dim()
    shape[1] = layer.num_features  # (1, C, 1, ...)
    n = x.numel() // x.shape[1]
    if layer.uses_batch_stats():
        mu, var = layer.batch_statistics(x, dims, shape)  # (C,), (C,) biased
        if layer.training and layer.running_mean is not None:
            layer.update_running_stats(mu, var, n)
    else:
        mu, var = layer.running_mean, layer.running_var
    r = 1.0 / torch.sqrt(var.view(shape) + layer.eps)  # (1, C, 1, ...)
    x_hat = (x - mu.view(shape)) * r
    y = x_hat if layer.weight is None else x_hat * layer.weight.view(shape)
    if layer.bias is not None:
        y = y + layer.bias.view(shape)
    return y, (x_hat, r, dims, n, layer.uses_batch_stats())


def batch_norm_backward(
    layer: _BatchNorm, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    x_hat, r, dims, n, batch_stats = saved
    dx, dw, db = batch_norm_grads(dy, x_hat, r, layer.weight, batch_stats, need_dx)
    if layer.weight is not None:
        grads.append((layer.weight, dw))
    if layer.bias is not None:
        grads.append((layer.bias, db))
    return dx


def batch_norm_grads(
    dy: torch.Tensor,
    x_hat: torch.Tensor,
    r: torch.Tensor,
    weight: torch.Tensor | None,
    batch_stats: bool,
    need_dx: bool = True,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(∂x, ∂γ, ∂β) of y = γ x̂ + β per channel (dim 1), r: (1, C, 1, ...);  batch statistics
    (training) or running ones (eval: an affine map, ∂x = dy γ r)."""
    shape = r.shape  # (1, C, 1, ...)
    dims = tuple(d for d in range(dy.dim()) if d != 1)
    n = dy.numel() // dy.shape[1]
    dw = (dy * x_hat).sum(dim=dims) if weight is not None else None  # (C,)
    db = dy.sum(dim=dims)  # (C,) used only where the layer has β
    if not need_dx:
        return None, dw, db
    g = dy if weight is None else dy * weight.view(shape)  # ∂L/∂x̂
    if not batch_stats:
        return g * r, dw, db  # eval: μ and r are constants
    return normalize_backward(g, x_hat, r, dims, n), dw, db


def layer_norm_grads_fast(
    dy: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    r: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    k: int,
    need: tuple[bool, bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """`layer_norm_grads` in one kernel, from x, μ and r (x̂ is not materialized)."""
    shape = list(x.shape[x.dim() - k :])
    return torch.ops.aten.native_layer_norm_backward(dy, x, shape, mu, r, weight, bias, list(need))


def batch_norm_grads_fast(
    dy: torch.Tensor,
    x: torch.Tensor,
    weight: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    mu: torch.Tensor,
    r: torch.Tensor,
    batch_stats: bool,
    eps: float,
    need: tuple[bool, bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """`batch_norm_grads` in one kernel; μ, r: (C,) the batch's (training) or unused (eval)."""
    return torch.ops.aten.native_batch_norm_backward(
        dy, x, weight, running_mean, running_var, mu, r, batch_stats, eps, list(need)
    )
