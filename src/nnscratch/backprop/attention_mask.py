"""The mask and the weights of torch's ``scaled_dot_product_attention`` in general (any mask, any
scale), for `nnscratch.autograd`'s attention op; the backward is `backprop.attention`'s
(`attention_backward` with its scale, `attention_scores_grad` for a float mask's gradient).

    S = scale·Q Kᵀ + M      scale: 1/√D unless given
    M                       is_causal: −∞ above the diagonal of the (L, S) scores (top-left)
                            a bool mask: 0 where True (takes part), −∞ where False
                            a float mask: added as it is (its gradient is ∂L/∂S)
    A = softmax(S)          a row that is −∞ everywhere gets A = 0, as PyTorch's attention
"""

from __future__ import annotations

import math

import torch

from nnscratch import functional


def attention_bias(
    q: torch.Tensor, k: torch.Tensor, attn_mask: torch.Tensor | None, is_causal: bool
) -> torch.Tensor | None:
    """The M of S = scale·Q Kᵀ + M, as ``scaled_dot_product_attention`` reads its arguments:
    is_causal: −∞ above the diagonal of the (L, S) scores (top-left aligned); a bool mask:
    True takes part, False is −∞; a float mask: added as it is. None: no mask."""
    if is_causal:
        L, S = q.shape[-2], k.shape[-2]
        keep = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()  # (L, S)
        attn_mask = keep
    if attn_mask is None or attn_mask.dtype != torch.bool:
        return attn_mask
    bias = torch.zeros(attn_mask.shape, dtype=q.dtype, device=q.device)
    return bias.masked_fill_(attn_mask.logical_not(), -torch.inf)


def attention_scores_masked(
    q: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None, scale: float | None
) -> torch.Tensor:
    """A = softmax(scale·Q Kᵀ + M) per head (`attention_scores` with any mask and scale): a row
    that is −∞ everywhere (all masked) gets A = 0, as PyTorch's attention (softmax's 0/0)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale  # (B, H, L, S)
    if bias is not None:
        scores = scores + bias  # broadcast to (B, H, L, S)
    a = functional.softmax(scores, dim=-1)
    return a.masked_fill((scores == -torch.inf).all(dim=-1, keepdim=True), 0.0)
