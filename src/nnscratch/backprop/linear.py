"""Hand-derived backward of `Linear`, `Activation` and `Flatten` for any input shape
(the generic walk of `backprop.rules`; `backprop.network` keeps its own fast MLP path).

Every rule here and in the sibling modules is a pair: ``*_forward(layer, x) -> (y, saved)``
computes the layer's output and keeps what the backward needs; ``*_backward(layer, saved, dy,
grads, need_dx) -> dx`` appends ``(p, ∂L/∂p)`` to ``grads`` for every parameter and returns
∂L/∂x (None when ``need_dx`` is False). ``dy`` is ∂L/∂y; a backward may overwrite it.

    Linear      y = x Wᵀ + b         x: (..., F)          ∂L/∂W = Σ dyᵀ x   (O, F)  (sum over ...)
                                                          ∂L/∂b = Σ dy      (O,)
                                                          ∂L/∂x = dy W      (..., F)
    Activation  h = act(z)           ∂L/∂z = dy ⊙ act'(z)            (`backprop.activations`)
    Flatten     y = x.flatten(...)   ∂L/∂x = dy reshaped to x's shape     (any reshape: `reshape_*`)

The matrix product itself, for any operands (`matmul_backward`, the rule `nnscratch.autograd`
applies to ``@``; `Linear`'s rule is its case a = x, b = Wᵀ):

    C = A B        ∂A = dC Bᵀ        ∂B = Aᵀ dC        (batch dims of a broadcast operand summed)
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.layers import Activation, Linear
from nnscratch.module import Module

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def linear_forward(layer: Linear, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """y = x Wᵀ + b;  keeps x."""
    y = x @ layer.weight.T  # (..., F) @ (F, O) -> (..., O)
    if layer.bias is not None:
        y += layer.bias
    return y, x


def linear_backward(
    layer: Linear, x: torch.Tensor, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    """∂W = dyᵀ x, ∂b = Σ dy over every leading dim;  ∂x = dy W."""
    dy2 = dy.reshape(-1, dy.shape[-1])  # (M, O), M = the product of the leading dims
    grads.append((layer.weight, dy2.T @ x.reshape(-1, x.shape[-1])))  # (O, M) @ (M, F)
    if layer.bias is not None:
        grads.append((layer.bias, dy2.sum(dim=0)))  # (O,)
    return dy @ layer.weight if need_dx else None  # (..., O) @ (O, F) -> (..., F)


def matmul_backward(
    g: torch.Tensor, a: torch.Tensor, b: torch.Tensor, need_a: bool = True, need_b: bool = True
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """C = A @ B (``torch.matmul``'s shapes):  ∂A = g Bᵀ,  ∂B = Aᵀ g, each summed over the batch
    dims its operand was broadcast along; a 1-D operand is a row (A) or a column (B)."""
    if a.dim() == 2 and b.dim() == 2:  # plain matrices (Linear's x Wᵀ): no dims to add or sum
        return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
    from nnscratch.backprop.elementwise import unbroadcast

    a2 = a.unsqueeze(0) if a.dim() == 1 else a  # (n, k) or (..., n, k)
    b2 = b.unsqueeze(-1) if b.dim() == 1 else b  # (k, m) or (..., k, m)
    g2 = g
    if a.dim() == 1:
        g2 = g2.unsqueeze(-2)  # the row's dim back
    if b.dim() == 1:
        g2 = g2.unsqueeze(-1)  # the column's dim back
    da = db = None
    if need_a:
        da = unbroadcast(g2 @ b2.transpose(-2, -1), a2.shape)  # (..., n, m) @ (..., m, k)
        da = da.squeeze(0) if a.dim() == 1 else da
    if need_b:
        if b2.dim() == 2:  # one matrix for the whole batch: (k, M) @ (M, m), M = Σ of the rows
            db = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
        else:
            db = unbroadcast(a2.transpose(-2, -1) @ g2, b2.shape)  # (..., k, n) @ (..., n, m)
        db = db.squeeze(-1) if b.dim() == 1 else db
    return da, db


def activation_forward(layer: Activation, z: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """h = act(z);  keeps z and h (each derivative uses the cheaper of the two)."""
    h = layer.fn(z)
    return h, (z, h)


def activation_backward(
    layer: Activation, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    """∂z = dy ⊙ act'(z)  (computed in dy's memory)."""
    z, h = saved
    return DERIVATIVES[layer.name](dy, z, h) if need_dx else None


def reshape_forward(layer: Module, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """Any layer that only reshapes (`Flatten`, the CNN's ``Unflatten``);  keeps x's shape."""
    return layer(x), x.shape


def reshape_backward(
    layer: Module, shape: torch.Size, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    """A reshape moves numbers without changing them: ∂x is dy in x's shape."""
    return dy.reshape(shape) if need_dx else None
