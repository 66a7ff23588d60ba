"""Hand-derived backward of `CausalSelfAttention` and of the pre-LN `TransformerBlock`.

Attention, per head (Q, K, V: (T, D); the causal mask sets S[t, s] = −∞ for s > t):

    S = Q Kᵀ / √D,    A = softmax(S) row by row,    Y = A V

Backward, given dY:

    dV = Aᵀ dY                         (T, T)ᵀ @ (T, D)
    dA = dY Vᵀ                         (T, D) @ (D, T)
    dS = A ⊙ (dA − rowsum(dA ⊙ A))     softmax's Jacobian, diag(a) − a aᵀ, applied row by row
    dQ = dS K / √D,   dK = dSᵀ Q / √D

The masked entries have A = 0, so dS = 0 there: the mask needs no backward of its own. With
dropout on A (training), Y = (A ⊙ m') V with m' = m/(1 − p), and dA picks up the same ⊙ m'.
Around it, the projections are `Linear` layers: Q, K, V = split(x W_inᵀ + b_in), out = Y W_oᵀ + b_o
(`backprop.linear`), and dQ, dK, dV are stacked back into d(x W_inᵀ + b_in) (B, T, 3E).

The block adds two residual branches; a residual x + f(x) sends dy both ways:
∂L/∂x = dy + (∂f/∂x)ᵀ dy. The forward rule keeps every sub-layer's saved values in order.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from nnscratch import functional
from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.backprop.dropout import dropout_backward, dropout_forward
from nnscratch.backprop.linear import linear_backward, linear_forward
from nnscratch.backprop.norm import layer_norm_backward, layer_norm_forward
from nnscratch.layers import CausalSelfAttention, Dropout, TransformerBlock
from nnscratch.layers.attention import causal_mask

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def _merge_heads(t: torch.Tensor) -> torch.Tensor:
    """(B, H, T, D) -> (B, T, H·D)."""
    B, H, T, D = t.shape
    return t.transpose(1, 2).reshape(B, T, H * D)


def self_attention_forward(layer: CausalSelfAttention, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """The plain form of the layer (`layers.attention.attention`);  keeps x, Q, K, V, A, m'."""
    B, T, E = x.shape
    qkv = x @ layer.in_proj_weight.T  # (B, T, 3E)
    if layer.in_proj_bias is not None:
        qkv += layer.in_proj_bias
    q, k, v = (layer.split_heads(t) for t in qkv.split(E, dim=-1))  # 3 × (B, H, T, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(layer.head_dim)  # (B, H, T, T)
    scores.masked_fill_(causal_mask(T, x.device), -torch.inf)
    a = functional.softmax(scores, dim=-1)  # (B, H, T, T)
    a_drop, scaled_mask = dropout_forward(_AttentionDropout(layer), a)
    y = _merge_heads(a_drop @ v)  # (B, T, E)
    out, out_saved = linear_forward(layer.out_proj, y)
    return out, (x, q, k, v, a, a_drop, scaled_mask, out_saved)


def self_attention_backward(
    layer: CausalSelfAttention, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    x, q, k, v, a, a_drop, scaled_mask, out_saved = saved
    d_y = linear_backward(layer.out_proj, out_saved, dy, grads)  # (B, T, E)
    d_y = layer.split_heads(d_y)  # (B, H, T, D)
    d_q, d_k, d_v = attention_backward(d_y, q, k, v, a, a_drop, scaled_mask)
    d_qkv = torch.cat([_merge_heads(d_q), _merge_heads(d_k), _merge_heads(d_v)], dim=-1)
    d_qkv2 = d_qkv.reshape(-1, d_qkv.shape[-1])  # (B·T, 3E)
    grads.append((layer.in_proj_weight, d_qkv2.T @ x.reshape(-1, x.shape[-1])))  # (3E, E)
    if layer.in_proj_bias is not None:
        grads.append((layer.in_proj_bias, d_qkv2.sum(dim=0)))  # (3E,)
    return d_qkv @ layer.in_proj_weight if need_dx else None  # (B, T, E)


def softmax_backward(g: torch.Tensor, a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """a = softmax(s) along ``dim``:  ∂s = a ⊙ (g − Σ(g ⊙ a)), the Jacobian diag(a) − a aᵀ
    applied to g row by row."""
    return a * (g - (g * a).sum(dim=dim, keepdim=True))


def log_softmax_backward(g: torch.Tensor, log_a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """l = log softmax(s) along ``dim``:  ∂s = g − softmax(s)·Σ g  (∂lᵢ/∂sⱼ = [i = j] − aⱼ)."""
    return g - log_a.exp() * g.sum(dim=dim, keepdim=True)


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """A = softmax(Q Kᵀ / √D + causal −∞) per head: (B, H, T, T) (the plain form's weights)."""
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    scores.masked_fill_(causal_mask(T, q.device), -torch.inf)
    return functional.softmax(scores, dim=-1)


def attention_backward(
    d_y: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    a: torch.Tensor,
    a_drop: torch.Tensor,
    scaled_mask: torch.Tensor | None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dQ, dK, dV) of Y = drop(softmax(S)) V, S = scale·Q Kᵀ + mask (scale 1/√D unless given),
    given dY: (B, H, T, D) each."""
    d_v = a_drop.transpose(-2, -1) @ d_y  # (B, H, T, T)ᵀ @ (B, H, T, D)
    d_s = attention_scores_grad(d_y, v, a, scaled_mask)  # (B, H, T, T)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    d_q = d_s @ k * scale  # (B, H, T, D)
    d_k = d_s.transpose(-2, -1) @ q * scale  # (B, H, T, D)
    return d_q, d_k, d_v


def attention_scores_grad(
    d_y: torch.Tensor, v: torch.Tensor, a: torch.Tensor, scaled_mask: torch.Tensor | None
) -> torch.Tensor:
    """dS = A ⊙ (dA − rowsum(dA ⊙ A)), dA = dY Vᵀ (⊙ m' with dropout): ∂L/∂S for
    S = scale·Q Kᵀ + M, which is also ∂L/∂M for an additive (float) mask M."""
    d_a = d_y @ v.transpose(-2, -1)  # (B, H, T, D) @ (B, H, D, T) -> (B, H, T, T)
    if scaled_mask is not None:
        d_a = d_a * scaled_mask
    return softmax_backward(d_a, a)  # (B, H, T, T), row by row


def attention_scores_fast(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """`attention_scores` in two kernels: −∞ + (Q/√D) Kᵀ as one ``baddbmm`` (mask, scale and
    product together), then ``torch.softmax`` (one kernel for the five of the plain form)."""
    B, H, T, _ = q.shape
    return torch.softmax(masked_scores(q, k), dim=-1).view(B, H, T, T)


def masked_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """S = Q Kᵀ/√D with −∞ above the diagonal, (B·H, T, T): mask, scale and product in one
    ``baddbmm`` (the mask as the added term, broadcast over B·H)."""
    B, H, T, D = q.shape
    bias = torch.zeros(T, T, dtype=q.dtype, device=q.device)
    bias.masked_fill_(causal_mask(T, q.device), -torch.inf)  # (T, T)
    return torch.baddbmm(
        bias, q.reshape(B * H, T, D), k.reshape(B * H, T, D).transpose(1, 2),
        alpha=1.0 / math.sqrt(D),
    )  # fmt: skip


def attention_backward_fast(
    d_y: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    a: torch.Tensor,
    a_drop: torch.Tensor,
    scaled_mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`attention_backward` with softmax's backward in one kernel (``_softmax_backward_data``,
    the same a ⊙ (g − Σ g ⊙ a)) and 1/√D applied once to dS instead of to dQ and dK."""
    d_v = a_drop.transpose(-2, -1) @ d_y  # (B, H, T, D)
    d_a = d_y @ v.transpose(-2, -1)  # (B, H, T, T)
    if scaled_mask is not None:
        d_a = d_a * scaled_mask
    d_s = torch._softmax_backward_data(d_a, a, -1, a.dtype)  # (B, H, T, T)
    d_s.mul_(1.0 / math.sqrt(q.shape[-1]))  # dS/√D, ours
    return d_s @ k, d_s.transpose(-2, -1) @ q, d_v


class _AttentionDropout(Dropout):
    """The attention layer's dropout on A, as a `Dropout` the dropout rule can read."""

    def __init__(self, layer: CausalSelfAttention) -> None:
        super().__init__(layer.dropout)
        self.training = layer.training


def transformer_block_forward(layer: TransformerBlock, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    """x₁ = x + drop₁(attn(LN₁(x)));  out = x₁ + drop₂(W₂ drop(GELU(W₁ LN₂(x₁))))."""
    if not layer.norm_first or layer.activation != "gelu":
        raise ValueError(
            "the hand-derived backward covers the pre-LN GELU TransformerBlock "
            "(norm_first=True, activation='gelu'); use the autograd backward for this one"
        )
    h, s1 = layer_norm_forward(layer.norm1, x)
    a, s2 = self_attention_forward(layer.self_attn, h)
    a, s3 = dropout_forward(layer.dropout1, a)
    x1 = x + a  # (B, T, E)
    h, s4 = layer_norm_forward(layer.norm2, x1)
    z, s5 = linear_forward(layer.linear1, h)  # (B, T, F)
    g = functional.gelu(z)
    gd, s6 = dropout_forward(layer.dropout, g)
    m, s7 = linear_forward(layer.linear2, gd)  # (B, T, E)
    m, s8 = dropout_forward(layer.dropout2, m)
    return x1 + m, (s1, s2, s3, s4, s5, (z, g), s6, s7, s8)


def transformer_block_backward(
    layer: TransformerBlock, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    s1, s2, s3, s4, s5, (z, g), s6, s7, s8 = saved
    d = dropout_backward(layer.dropout2, s8, dy, grads)  # the MLP branch
    d = linear_backward(layer.linear2, s7, d, grads)
    d = dropout_backward(layer.dropout, s6, d, grads)
    d = DERIVATIVES["gelu"](d, z, g)
    d = linear_backward(layer.linear1, s5, d, grads)
    dx1 = dy + layer_norm_backward(layer.norm2, s4, d, grads)  # residual: both ways
    d = dropout_backward(layer.dropout1, s3, dx1, grads)  # the attention branch
    d = self_attention_backward(layer.self_attn, s2, d, grads)
    d = layer_norm_backward(layer.norm1, s1, d, grads)
    return dx1 + d if need_dx else None
