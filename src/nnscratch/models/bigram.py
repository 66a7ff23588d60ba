"""The count-based bigram model: the baseline a character-level language model must beat.

No gradient and no PyTorch counterpart: it counts. With V characters and ``count[i, j]`` the number
of times character j follows character i in the training text, add-α (Laplace) smoothing gives

    p(j | i) = (count[i, j] + α) / (Σ_k count[i, k] + α·V)          α = 1 by default

and its loss on a text is the mean negative log-likelihood of each next character,

    L = −(1/n) Σ_t log p(y_t | x_t)          (nats per character, as ``cross_entropy``)

the same quantity the transformer's validation loss measures. A model that looks at only the
previous character can do no better on the training text than the unsmoothed counts
(α → 0), so a transformer below this line has learned to use more context than one character.
"""

from __future__ import annotations

import torch


class BigramCounts:
    """``p(next | current)`` from counts.  ``fit(x, y)`` with ``y[..., t]`` the successor of
    ``x[..., t]``; ``loss(x, y)`` the mean −log p in nats.

    Example::

        bigram = BigramCounts(vocab_size=65).fit(x_train, y_train)   # (N, T) int64 each
        bigram.loss(x_val, y_val)                                   # a float, nats per char

    Args:
        vocab_size: V, the number of distinct tokens.
        alpha: add-α smoothing of the counts (default 1.0).
    """

    def __init__(self, vocab_size: int, alpha: float = 1.0) -> None:
        if vocab_size < 1 or alpha <= 0:
            raise ValueError(f"need vocab_size >= 1 and alpha > 0, got {vocab_size}, {alpha}")
        self.vocab_size, self.alpha = vocab_size, alpha
        self.counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)  # (V, V)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> BigramCounts:
        V = self.vocab_size
        pairs = x.reshape(-1).cpu() * V + y.reshape(-1).cpu()  # (n,) flat index i·V + j
        self.counts += torch.bincount(pairs, minlength=V * V).view(V, V).double()  # (V, V)
        return self

    def log_probs(self) -> torch.Tensor:
        """log p(j | i) as a (V, V) float64 table; each row sums to 1 in probability."""
        smoothed = self.counts + self.alpha  # (V, V)
        return smoothed.log() - smoothed.sum(dim=1, keepdim=True).log()  # (V, V)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """−(1/n) Σ log p(y_t | x_t) over every position of ``x``, ``y`` (same shape)."""
        table = self.log_probs()  # (V, V)
        return -table[x.reshape(-1).cpu(), y.reshape(-1).cpu()].mean().item()
