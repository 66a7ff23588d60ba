"""Hand-derived backward of `Embedding`.

    y[i] = W[idx[i]]            ∂L/∂W[v] = Σ_{i : idx[i] = v} dy[i]

A lookup reads rows, so its gradient adds each output row's gradient into the row it was read
from: ``zeros(V, D).index_add_(0, idx, dy)`` (a token used k times gets k contributions; unused
rows get 0). The row of ``padding_idx`` gets none. The indices are integers: no ∂L/∂idx.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.layers import Embedding

Grads = list[tuple[torch.Tensor, torch.Tensor]]


def embedding_forward(layer: Embedding, idx: torch.Tensor) -> tuple[torch.Tensor, Any]:
    return layer.weight[idx], idx  # (..., D); keeps the indices


def embedding_backward(
    layer: Embedding, idx: torch.Tensor, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> None:
    D = layer.embedding_dim
    dw = torch.zeros_like(layer.weight)  # (V, D)
    dw.index_add_(0, idx.reshape(-1), dy.reshape(-1, D))  # row idx[i] += dy[i]
    if layer.padding_idx is not None:
        dw[layer.padding_idx] = 0.0
    grads.append((layer.weight, dw))
    return None  # integer input: nothing to propagate
