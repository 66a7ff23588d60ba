"""Matrix products; formula: `nnscratch.backprop.linear.matmul_backward` (∂A = g Bᵀ, ∂B = Aᵀ g)."""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import needs, record, unwrap
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop.elementwise import unbroadcast
from nnscratch.backprop.linear import matmul_backward


def matmul(a: Any, b: Any) -> Tensor:
    """C = A @ B (``torch.matmul``: batched, broadcast, 1-D operands)."""
    ad, bd = unwrap(a), unwrap(b)
    na, nb = needs(a), needs(b)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        return matmul_backward(g, ad, bd, na, nb)

    return record("matmul", ad @ bd, (a, b), vjp)


def addmm(input: Any, mat1: Any, mat2: Any, beta: float = 1.0, alpha: float = 1.0) -> Tensor:
    """C = β·input + α·mat1 @ mat2 (input broadcast to (n, m)): ``Linear``'s b + x Wᵀ."""
    bias, m1, m2 = unwrap(input), unwrap(mat1), unwrap(mat2)
    out = torch.addmm(bias, m1, m2, beta=beta, alpha=alpha)
    n0, n1, n2 = needs(input), needs(mat1), needs(mat2)
    bias_shape = bias.shape if isinstance(bias, torch.Tensor) else torch.Size([])

    def vjp(g: torch.Tensor) -> tuple:
        gb = unbroadcast(g if beta == 1 else g * beta, bias_shape) if n0 else None
        ga = g if alpha == 1 else g * alpha
        g1, g2 = matmul_backward(ga, m1, m2, n1, n2)
        return gb, g1, g2

    return record("addmm", out, (input, mat1, mat2), vjp)
