"""Attention with any mask and scale (torch's ``scaled_dot_product_attention`` beyond the causal
self-attention of `ops.nn`, which keeps its fast forms): the plain form, one node.

    Y = drop(softmax(scale·Q Kᵀ + M)) V       M: is_causal's −∞ above the diagonal, a bool mask's
                                              −∞ where False, or a float mask added as it is
    ∂Q, ∂K, ∂V                                 `backprop.attention.attention_backward` (scale)
    ∂M (a float mask that needs a gradient)    dS, `backprop.attention.attention_scores_grad`

Formulas: `nnscratch.backprop.attention`, `nnscratch.backprop.attention_mask`.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import needs, record, unwrap
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop import attention as A
from nnscratch.backprop import attention_mask as M
from nnscratch.backprop.elementwise import unbroadcast


def fast_shapes(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> bool:
    """Q, K, V all (B, H, T, D), one shape: what the fast forms take (self-attention)."""
    return q.dim() == 4 and q.shape == k.shape == v.shape


def attention_masked(
    query: Any, key: Any, value: Any, attn_mask: Any, dropout_p: float, is_causal: bool, scale: Any
) -> Tensor:
    """The plain form for any mask and scale: A = softmax(scale·Q Kᵀ + M) kept
    (`attention_scores_masked`), Y = drop(A) V; ∂ by `attention_backward`, and ∂M = dS
    (`attention_scores_grad`) for a float mask that needs a gradient."""
    q, k, v, m = unwrap(query), unwrap(key), unwrap(value), unwrap(attn_mask)
    bias = M.attention_bias(q, k, m, is_causal)  # (L, S) or the mask's shape, or None
    a = M.attention_scores_masked(q, k, bias, scale)  # (..., L, S)
    a_drop, mask = a, None
    if dropout_p > 0.0:
        mask = torch.empty_like(a).bernoulli_(1.0 - dropout_p).div_(1.0 - dropout_p)
        a_drop = a * mask
    y = a_drop @ v  # (..., L, Dv)
    need_mask, mask_shape = needs(attn_mask), m.shape if m is not None else None

    def vjp(g: torch.Tensor) -> tuple:
        gq, gk, gv = A.attention_backward(g, q, k, v, a, a_drop, mask, scale)
        gm = None
        if need_mask:
            gm = unbroadcast(A.attention_scores_grad(g, v, a, mask), mask_shape)
        return gq, gk, gv, gm

    return record("attention", y, (query, key, value, attn_mask), vjp)
