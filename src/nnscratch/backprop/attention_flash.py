"""Attention through the fused kernel's forward, with the backward written out.  Replaces the
fused op's own backward (``_scaled_dot_product_flash_attention_for_cpu_backward``).

The forward is the one kernel behind ``scaled_dot_product_attention`` on the CPU; it returns
Y and each row's log-sum-exp ℓ_t = log Σ_s exp(S[t, s]), and keeps no (T, T) tensor. The
backward rebuilds what it needs from them, with the formulas of `nnscratch.backprop.attention`:

    A = exp(S − ℓ)                      S = Q Kᵀ/√D + causal mask (A = 0 above the diagonal)
    dV = Aᵀ dY,   dA = dY Vᵀ
    dS = A ⊙ (dA − Σ_s dA ⊙ A)          where Σ_s dA ⊙ A = Σ_d dY ⊙ Y (Y = A V)
    dQ = dS K/√D,   dK = dSᵀ Q/√D

tested equal to the plain `attention_backward` (which keeps A from the forward).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from nnscratch.backprop.attention import masked_scores


def attention_flash(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[Any, Any]:
    """Y = softmax(Q Kᵀ/√D + causal mask) V in one fused kernel (the one behind torch's
    ``scaled_dot_product_attention`` on the CPU), which also returns each row's log-sum-exp
    ℓ_t = log Σ_s exp(S[t, s]): A is not kept but rebuilt from ℓ in the backward
    (`attention_probabilities`), as the fused op's own backward does. Returns (Y, ℓ):
    (B, H, T, D), (B, H, T)."""
    y, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, True)
    return y, lse


def attention_probabilities(q: torch.Tensor, k: torch.Tensor, lse: torch.Tensor) -> torch.Tensor:
    """A = softmax(S) rebuilt from the row log-sum-exps ℓ of `attention_flash`:
    A[t, s] = exp(S[t, s] − ℓ_t), S = Q Kᵀ/√D + mask (one ``baddbmm``, then −ℓ and exp in
    place). Equal to `attention_scores` (what it replaces: A kept from the forward)."""
    B, H, T, _ = q.shape
    scores = masked_scores(q, k).view(B, H, T, T)
    return scores.sub_(lse.unsqueeze(-1)).exp_()  # (B, H, T, T)


def attention_backward_flash(
    d_y: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    y: torch.Tensor,
    lse: torch.Tensor,
    rows_per_chunk: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`attention_backward` (no dropout) from what `attention_flash` keeps: Y and ℓ, not A.

    A is rebuilt (`attention_probabilities`' formula, with the causal mask applied after the
    exp, as zeros: exp at −∞ takes the kernel's slow path, twice the time); softmax's row sum Σ_s dA ⊙ A is
    Σ_d dY ⊙ Y (dA = dY Vᵀ and Y = A V give the same sum), so dS = A ⊙ (dA − rowsum(dY ⊙ Y))
    is computed in dA's memory, and 1/√D rides on the last two products (their ``alpha``).

    One head at a time, ``rows_per_chunk`` sequences at a time (default: as many as keep a
    chunk's (T, T) buffers near 512 KB), so A, dA and dS stay in the cache across the five
    passes over them; a head's Q, K, V, dY of a chunk are strided views (no copies: the
    batched products read them in place), and the (T, T) buffers are made once and reused:
    the backward allocates little besides its results (on the bench transformer, 64 tokens,
    the fresh pages of whole (B, H, T, T) tensors made it ~1.6× slower; copying each chunk of
    the inputs into (B·H, T, D) another ~25 %). Each head's numbers are the same either way.
    All four (B, H, T, D); the results laid out as their inputs (`_laid_out_like`).
    """
    B, H, T, D = q.shape
    if rows_per_chunk is None:
        rows_per_chunk = max(1, CHUNK_BYTES // (T * T * q.element_size()))
    n = min(rows_per_chunk, B)
    scale = 1.0 / math.sqrt(D)
    d_q, d_k, d_v = (_laid_out_like(t) for t in (q, k, v))
    a_buf, ds_buf = q.new_empty(n, T, T), q.new_empty(n, T, T)  # reused by every chunk
    out_buf = q.new_empty(3, n, T, D)  # a chunk's dQ, dK, dV, then copied into place
    for h in range(H):
        for i in range(0, B, n):
            b = slice(i, i + n)
            m = min(n, B - i)  # sequences in this chunk (the last may be short)
            q_, k_, v_, dy_, y_ = (t[b, h] for t in (q, k, v, d_y, y))  # (m, T, D) views
            a, d_s, dq_, dk_, dv_ = a_buf[:m], ds_buf[:m], *out_buf[:, :m]
            torch.baddbmm(a, q_, k_.transpose(1, 2), beta=0, alpha=scale, out=a)  # QKᵀ/√D
            a.sub_(lse[b, h].unsqueeze(-1)).exp_().tril_()  # A = exp(S − ℓ), 0 above
            torch.bmm(a.transpose(1, 2), dy_, out=dv_)  # dV = Aᵀ dY
            torch.bmm(dy_, v_.transpose(1, 2), out=d_s)
            d_s.sub_((dy_ * y_).sum(dim=-1, keepdim=True)).mul_(a)  # (dA − Σ_s dA ⊙ A) ⊙ A
            torch.baddbmm(dq_, d_s, k_, beta=0, alpha=scale, out=dq_)  # dQ = dS K/√D
            torch.baddbmm(dk_, d_s.transpose(1, 2), q_, beta=0, alpha=scale, out=dk_)
            for result, part in ((d_q, dq_), (d_k, dk_), (d_v, dv_)):
                result[b, h].copy_(part)
    return d_q, d_k, d_v


def _laid_out_like(t: torch.Tensor) -> torch.Tensor:
    """An empty (B, H, T, D) tensor whose memory runs in ``t``'s dimension order: (B, T, H, D)
    when ``t`` is the heads' view of a (B, T, H·D) projection, as the fused kernel lays out
    its gradients, so the transpose and view back to (B, T, H·D) move no numbers."""
    B, H, T, D = t.shape
    if t.stride(0) >= t.stride(2) >= t.stride(1) >= t.stride(3):  # (B, T, H, D) in memory
        return t.new_empty(B, T, H, D).transpose(1, 2)
    return t.new_empty(B, H, T, D)


CHUNK_BYTES = 2**19  # one chunk's (T, T) buffer in `attention_backward_flash`: 512 KB
