"""Token embeddings.  ``Embedding`` replaces ``nn.Embedding``.

An embedding is a lookup table: row i of ``weight`` (num_embeddings, embedding_dim) is the vector
of token i, so

    y[..., :] = W[idx[...], :]          idx: (...) integers    y: (..., embedding_dim)

which is the same as one_hot(idx) @ W, without building the one-hot matrix. Its gradient adds
each output row's gradient into the row it was read from (a token used twice gets both).

``weight`` is drawn from N(0, 1), as ``nn.Embedding`` does. With ``padding_idx`` that row starts
at 0 and never receives a gradient (its lookups are cut from the graph), so it stays 0 under
plain SGD: the vector of a padding token.
"""

from __future__ import annotations

import torch

from nnscratch import init
from nnscratch.module import Module, parameter


class Embedding(Module):
    """``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)`` by hand.

    Example:
        >>> emb = Embedding(10, 4)
        >>> emb(torch.tensor([[1, 2, 1]])).shape
        torch.Size([1, 3, 4])

    Args:
        num_embeddings: V, the number of rows (the vocabulary).
        embedding_dim: E, the width of each row.
        padding_idx: a row that is zero and gets no gradient (default None).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        generator: the ``torch.Generator`` the initial values are drawn from (default None: the
            global RNG, as in torch.nn).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                f"Embedding needs num_embeddings >= 1 and embedding_dim >= 1, "
                f"got ({num_embeddings}, {embedding_dim})"
            )
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= num_embeddings  # −1 is the last row, as in PyTorch
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        weight = torch.empty(num_embeddings, embedding_dim, device=device, dtype=dtype)
        init.normal_(weight, generator=generator)  # (V, D) ~ N(0, 1)
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        self.weight = parameter(weight)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        y = self.weight[idx]  # (..., D): row idx of W
        if self.padding_idx is not None:
            pad = (idx == self.padding_idx).unsqueeze(-1)  # (..., 1)
            y = torch.where(pad, y.detach(), y)  # padding lookups send no gradient back
        return y

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}, padding_idx={self.padding_idx})"
