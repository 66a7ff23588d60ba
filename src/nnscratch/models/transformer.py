"""A GPT-style character language model (nanoGPT's ``GPT``, small), built from the layers.

    idx (B, T) int64 character ids, T ≤ block_size
    x = wte(idx) + wpe(0..T−1)                  (B, T, C)   token + position embeddings
    x = Dropout(x)
    x = Block_L(… Block_1(x))                   (B, T, C)   pre-LN: x + attn(LN(x)), x + mlp(LN(x))
    logits = head(LN_f(x))                      (B, T, V)   scores of the next character

Position t attends only to positions ≤ t (the causal mask inside each block), so ``logits[:, t]``
is a prediction of ``idx[:, t + 1]`` from ``idx[:, : t + 1]``; training minimises

    L = −(1/(B·T)) Σ_b Σ_t log softmax(logits[b, t])[y[b, t]]        `next_token_loss`

Sampling (`generate`) feeds the model its own output: the last ``block_size`` characters in,
the distribution of the next one out, divided by a temperature, one draw, appended, repeat.

The torch equivalent with the same parameter names (``wte.weight``, ``blocks.0.…``,
``ln_f.weight``, ``head.weight``) gives the same numbers (tests, ``verify``).
"""

from __future__ import annotations

import torch

from nnscratch.functional import softmax
from nnscratch.layers import Dropout, Embedding, LayerNorm, Linear, Sequential, TransformerBlock
from nnscratch.losses import cross_entropy
from nnscratch.module import Module


class CharTransformer(Module):
    """Args:
        vocab_size: V, the number of distinct characters.
        block_size: T, the longest context the model reads.
        n_layer, n_head, n_embd: blocks, heads per block, width C (a multiple of n_head).
        dropout: dropout probability in training (embeddings, attention, MLP).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).

    Example::

        model = CharTransformer(vocab_size=65, block_size=64)
        logits = model(idx)                          # idx (B, T) → (B, T, 65)
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int = 2,
        n_head: int = 4,
        n_embd: int = 64,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        kw = {"device": device, "dtype": dtype}
        self.wte = Embedding(vocab_size, n_embd, **kw)  # (V, C)
        self.wpe = Embedding(block_size, n_embd, **kw)  # (T, C)
        self.drop = Dropout(dropout)
        blocks = [TransformerBlock(n_embd, n_head, dropout=dropout, **kw) for _ in range(n_layer)]
        self.blocks = Sequential(*blocks)
        self.ln_f = LayerNorm(n_embd, **kw)
        self.head = Linear(n_embd, vocab_size, **kw)  # (V, C)
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd, self.dropout = n_layer, n_head, n_embd, dropout

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        assert T <= self.block_size, (T, self.block_size)
        pos = torch.arange(T, device=idx.device)  # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        x = self.blocks(x)  # (B, T, C)
        return self.head(self.ln_f(x))  # (B, T, V)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled ids to ``idx`` (B, t); call ``eval()`` first.

        p = softmax(logits[:, −1] / temperature);  next ~ Categorical(p)  (``torch.multinomial``)
        """
        for _ in range(max_new_tokens):
            context = idx[:, -self.block_size :]  # (B, ≤ T)
            logits = self(context)[:, -1, :]  # (B, V) scores of the next character
            z = (logits - logits.amax(-1, keepdim=True)) / temperature  # ≤ 0, max exactly 0
            p = softmax(z, dim=-1)  # (B, V) the same p; no inf − inf for a tiny temperature
            nxt = torch.multinomial(p, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)  # (B, t + 1)
        return idx


def next_token_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every position: logits (B, T, V), target (B, T) int64.

    The same as ``F.cross_entropy(logits.view(-1, V), target.view(-1))`` (nanoGPT's form).
    """
    return cross_entropy(logits.flatten(0, 1), target.flatten())  # (B·T, V) vs (B·T,)
