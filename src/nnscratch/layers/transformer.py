"""The pre-LayerNorm transformer block.  ``TransformerBlock`` replaces
``nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation="gelu",
batch_first=True, norm_first=True)`` called with a causal mask (GPT-2's block).

    x ← x + Dropout(Attn(LN₁(x)))                      attention: tokens exchange information
    x ← x + Dropout(W₂ Dropout(GELU(W₁ LN₂(x))))        MLP: each token on its own, E -> F -> E

Pre-LN (normalize *before* each sublayer, inside the residual branch) leaves the residual stream
x untouched from input to output, which is what lets deep stacks train without warm-up; the
original transformer normalized after the addition (post-LN, ``norm_first=False``).

Sub-modules carry ``nn.TransformerEncoderLayer``'s names (``self_attn``, ``linear1``, ``linear2``,
``norm1``, ``norm2``) and are created in its order, so the same seed gives the same numbers and
state dicts load into one another.
"""

from __future__ import annotations

import torch

from nnscratch.layers.attention import CausalSelfAttention
from nnscratch.layers.dropout import Dropout
from nnscratch.layers.linear import Linear
from nnscratch.layers.norm import LayerNorm
from nnscratch.module import Module


def gelu_fused(x: torch.Tensor) -> torch.Tensor:
    """`nnscratch.functional.gelu` (exact, x·Φ(x)) in one fused kernel: the op behind ``F.gelu``.

    The hand-written form builds x·½·erfc(−x/√2) from four ops, and autograd differentiates
    each; measured forward + backward on 32×64×256 float32, one thread: 7.6 ms vs 1.2 ms (6.4×),
    about a third of a transformer step. Equal to the hand-written form within 1e-15 (float64).
    """
    return torch.ops.aten.gelu(x)


class TransformerBlock(Module):
    """A pre-LN causal transformer block.  x: (B, T, E) -> (B, T, E).

    Args:
        embed_dim: E, the width of the residual stream (``d_model``).
        num_heads: attention heads H (E divisible by H).
        dim_feedforward: the MLP's hidden width F (default 4·E, as GPT-2).
        dropout: the probability for every dropout (attention weights, MLP, both residual
            branches), as in ``nn.TransformerEncoderLayer``; 0 by default.
        layer_norm_eps: ε of both LayerNorms.
        bias: biases in every Linear and LayerNorm (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        activation: the MLP's non-linearity, 'gelu' (default, GPT-2) or 'relu' (the default of
            ``nn.TransformerEncoderLayer``).
        norm_first: pre-LN (default True, GPT-2); False is the original post-LN block,
            x ← LN₁(x + Attn(x)); x ← LN₂(x + MLP(x)) (the default of
            ``nn.TransformerEncoderLayer``). The hand-derived backward covers the default only.

    Example:
        >>> block = TransformerBlock(16, num_heads=4)
        >>> block(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dim_feedforward: int | None = None,
        dropout: float = 0.0,
        layer_norm_eps: float = 1e-5,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        activation: str = "gelu",
        norm_first: bool = True,
    ) -> None:
        if activation not in MLP_ACTIVATIONS:
            raise ValueError(
                f"TransformerBlock: activation must be one of {sorted(MLP_ACTIVATIONS)}, "
                f"got {activation!r}"
            )
        self.activation, self.norm_first = activation, norm_first
        F = 4 * embed_dim if dim_feedforward is None else dim_feedforward
        kw = {"device": device, "dtype": dtype}
        self.self_attn = CausalSelfAttention(embed_dim, num_heads, dropout, bias, **kw)
        self.linear1 = Linear(embed_dim, F, bias=bias, **kw)  # (F, E)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(F, embed_dim, bias=bias, **kw)  # (E, F)
        self.norm1 = LayerNorm(embed_dim, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(embed_dim, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.norm_first:  # post-LN: normalize after each residual addition
            x = self.norm1(x + self.dropout1(self.self_attn(x)))  # (B, T, E)
            return self.norm2(x + self.dropout2(self.mlp(x)))  # (B, T, E)
        x = x + self.dropout1(self.self_attn(self.norm1(x)))  # (B, T, E)
        return x + self.dropout2(self.mlp(self.norm2(x)))  # (B, T, E)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        """W₂ Dropout(act(W₁ x)): E -> F -> E, each token on its own."""
        # plain form for GELU: functional.gelu, the same function (see gelu_fused)
        h = self.dropout(MLP_ACTIVATIONS[self.activation](self.linear1(x)))  # (B, T, F)
        return self.linear2(h)  # (B, T, E)


MLP_ACTIVATIONS = {"gelu": gelu_fused, "relu": torch.relu}
"""The MLP's non-linearity by name (GELU as the fused op, see `gelu_fused`)."""
