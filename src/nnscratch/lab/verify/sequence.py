"""Mapping-table rows for the sequence layers: LayerNorm ↔ nn.LayerNorm, Embedding ↔ nn.Embedding,
Dropout ↔ nn.Dropout (the same mask from the same seed), attention ↔ F.scaled_dot_product_attention,
CausalSelfAttention ↔ nn.MultiheadAttention with a causal mask, TransformerBlock ↔
nn.TransformerEncoderLayer(norm_first=True, activation="gelu")."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from nnscratch.lab.verify.check import Row, compare
from nnscratch.lab.verify.layer_pair import TOL, layer_rows
from nnscratch.layers import CausalSelfAttention, Dropout, Embedding, LayerNorm, TransformerBlock
from nnscratch.layers.attention import attention, attention_fused, causal_mask
from nnscratch.layers.transformer import gelu_fused

ORDER = 17
F64 = torch.float64


class CausalMHA(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` called as causal self-attention: ``mha(x, x, x, causal)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        mask = causal_mask(x.shape[1])
        return super().forward(x, x, x, attn_mask=mask, need_weights=False)[0]


class CausalEncoderLayer(nn.TransformerEncoderLayer):
    """``nn.TransformerEncoderLayer`` called with a causal mask."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x, src_mask=causal_mask(x.shape[1]), is_causal=True)


def _x(*shape: int):
    return lambda dtype: torch.randn(
        *shape, dtype=dtype, generator=torch.Generator().manual_seed(3)
    )


def rows() -> Iterator[Row]:
    yield from layer_rows(
        "LayerNorm",
        "nn.LayerNorm",
        lambda d: LayerNorm(8, dtype=d),
        lambda d: nn.LayerNorm(8, dtype=d),
        _x(4, 5, 8),
        "4×5×8, normalized over 8",
    )
    yield from layer_rows(
        "LayerNorm.plain_forward (the formula)",
        "nn.LayerNorm",
        lambda d: LayerNorm(8, dtype=d),
        lambda d: nn.LayerNorm(8, dtype=d),
        _x(4, 5, 8),
        "4×5×8, normalized over 8",
        forward=lambda layer, t: layer.plain_forward(t),
    )
    idx = torch.tensor([[0, 3, 6, 3], [6, 0, 1, 1]])
    yield from layer_rows(
        "Embedding",
        "nn.Embedding",
        lambda d: Embedding(7, 5, padding_idx=0, dtype=d),
        lambda d: nn.Embedding(7, 5, padding_idx=0, dtype=d),
        lambda d: idx,
        "7×5 table, 2×4 indices with repeats, padding_idx=0",
    )
    yield from dropout_rows()
    yield from attention_rows()
    yield from layer_rows(
        "CausalSelfAttention",
        "nn.MultiheadAttention + causal mask",
        lambda d: CausalSelfAttention(12, 3, dtype=d),
        lambda d: CausalMHA(12, 3, batch_first=True, dtype=d),
        _x(2, 7, 12),
        "2×7×12, 3 heads",
    )
    yield from layer_rows(
        "TransformerBlock (pre-LN)",
        "nn.TransformerEncoderLayer(norm_first=True, gelu)",
        lambda d: TransformerBlock(16, 4, dim_feedforward=32, dtype=d),
        lambda d: CausalEncoderLayer(
            16, 4, 32, 0.0, activation="gelu", batch_first=True, norm_first=True, dtype=d
        ),
        _x(3, 6, 16),
        "3×6×16, 4 heads, MLP 32",
    )


def dropout_rows() -> Iterator[Row]:
    x = torch.randn(64, 33, dtype=F64, generator=torch.Generator().manual_seed(4))
    mine, theirs = [], []
    for p in (0.1, 0.5, 0.9):
        torch.manual_seed(5)
        mine.append(Dropout(p)(x))
        torch.manual_seed(5)
        theirs.append(nn.Dropout(p)(x))
    yield compare(
        "Dropout (training)",
        "nn.Dropout",
        "outputs (hence masks) from the same seed, p = 0.1, 0.5, 0.9; 64×33",
        mine,
        theirs,
        atol=0.0,
    )
    drop, ref = Dropout(0.5), nn.Dropout(0.5)
    drop.eval()
    ref.eval()
    yield compare(
        "Dropout (eval)", "nn.Dropout.eval()", "output = input", drop(x), ref(x), atol=0.0
    )


def attention_rows() -> Iterator[Row]:
    x = torch.randn(64, dtype=F64, generator=torch.Generator().manual_seed(8)) * 4
    yield compare(
        "gelu_fused (TransformerBlock's)",
        "F.gelu",
        "output; 64 values in ±12, float64",
        gelu_fused(x),
        F.gelu(x),
        atol=1e-12,
        rtol=1e-12,
    )
    for dtype in (F64, torch.float32):
        g = torch.Generator().manual_seed(6)
        q, k, v = (torch.randn(2, 3, 6, 4, dtype=dtype, generator=g) for _ in range(3))
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        name = str(dtype).removeprefix("torch.")
        for piece, fn in (
            ("attention: softmax(QKᵀ/√D + mask) V", attention),
            ("attention_fused (aten op)", attention_fused),
        ):
            yield compare(
                piece,
                "F.scaled_dot_product_attention(is_causal=True)",
                f"output; 2×3 heads×6×4, {name}",
                fn(q, k, v),
                expected,
                atol=TOL[dtype],
                rtol=TOL[dtype],
            )
