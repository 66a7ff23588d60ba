"""Hand-derived backward for the models of `nnscratch.models` that are more than a `Sequential`
of layers: the CNN's first layer (`Unflatten`), the character transformer, and its loss.

    Unflatten         x (N, C·H·W) viewed as (N, C, H, W)   ∂x = dy viewed back (`linear.reshape_*`)
    CharTransformer   x = Dropout(E_tok[idx] + E_pos[0..T−1]);  x = blocks(x);  logits = head(LN_f(x))
                      backward: head, LN_f, the blocks, the dropout (`backprop.rules`), then the
                      two tables: ∂E_tok = index_add of dx at idx;  ∂E_pos[t] = Σ_b dx[b, t]
                      (the position table is read once per sequence of the batch)
    next_token_loss   cross_entropy on (B·T, V) logits: δ is cross_entropy's
                      ((p − onehot(y)) / (B·T)), reshaped back to (B, T, V)

Registered in `backprop.rules.RULES` and `backprop.losses.DERIVED` when `backprop.rules` loads.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.backprop.losses import cross_entropy as cross_entropy_derived
from nnscratch.models.transformer import CharTransformer

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def char_transformer_forward(model: CharTransformer, idx: torch.Tensor) -> tuple[torch.Tensor, Any]:
    from nnscratch.backprop.rules import forward

    pos = torch.arange(idx.shape[1], device=idx.device)  # (T,)
    tok, s_tok = forward(model.wte, idx)  # (B, T, C)
    where, s_pos = forward(model.wpe, pos)  # (T, C)
    x, s_drop = forward(model.drop, tok + where)  # (B, T, C)
    x, s_blocks = forward(model.blocks, x)
    x, s_ln = forward(model.ln_f, x)
    logits, s_head = forward(model.head, x)  # (B, T, V)
    return logits, (s_tok, s_pos, s_drop, s_blocks, s_ln, s_head)


def char_transformer_backward(
    model: CharTransformer, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> None:
    from nnscratch.backprop.rules import backward

    s_tok, s_pos, s_drop, s_blocks, s_ln, s_head = saved
    d = backward(model.head, s_head, dy, grads)  # (B, T, C)
    d = backward(model.ln_f, s_ln, d, grads)
    d = backward(model.blocks, s_blocks, d, grads)
    d = backward(model.drop, s_drop, d, grads)  # ∂L/∂(E_tok[idx] + E_pos[t])
    backward(model.wte, s_tok, d, grads, need_dx=False)
    backward(model.wpe, s_pos, d.sum(dim=0), grads, need_dx=False)  # Σ over the batch: (T, C)
    return None  # integer input


def next_token_loss(
    logits: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L, ∂L/∂logits) of `nnscratch.models.transformer.next_token_loss`."""
    loss, delta = cross_entropy_derived(logits.flatten(0, 1), target.flatten())  # (B·T, V)
    return loss, delta.view(logits.shape)  # (B, T, V)
