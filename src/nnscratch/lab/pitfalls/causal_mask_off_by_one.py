"""Pitfall: a causal mask off by one (the model sees the future).

A language model predicts character t + 1 from characters 0..t. Attention must therefore hide
every position s > t from position t:

    mask[t, s] = True (hidden) for s > t          torch.ones(T, T).triu(diagonal=1)

Writing ``triu(diagonal=2)`` hides only s > t + 1: position t can read character t + 1, which is
exactly the character it is asked to predict. Training then looks wonderful: the model learns to
copy the next input character, and the training loss falls toward 0, far below what any honest
model reaches on the same text. Generation exposes it: when the model writes text, character t + 1
does not exist yet (it is what is being generated), so the one thing the model learned to use is
missing, and the samples are nonsense (the broken model's greedy sample below), while the
correctly masked model writes text that looks like its training text.

Fix: hide s > t, nothing less: ``triu(diagonal=1)`` (``layers.attention.causal_mask``,
``is_causal=True`` in the fused op). A test worth having: change the last input character and
check that no earlier position's output changes.
"""

from __future__ import annotations

import torch

from nnscratch.functional import softmax
from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.layers import Embedding, Linear
from nnscratch.losses import cross_entropy
from nnscratch.module import Module
from nnscratch.optim import Adam

T, C, STEPS, LR, SEED = 16, 32, 120, 1e-2, 0
PROMPT, SAMPLE = "for", 48


def corpus() -> str:
    """Python's own help text for ``for`` and ``while`` (stdlib ``pydoc_data``): real English."""
    from pydoc_data.topics import topics

    return topics["for"] + topics["while"]


class TinyAttentionLM(Module):
    """Embeddings → one attention head with the given mask → next-character logits."""

    def __init__(self, V: int, diagonal: int) -> None:
        self.wte, self.wpe = Embedding(V, C), Embedding(T, C)
        self.q, self.k, self.v, self.head = Linear(C, C), Linear(C, C), Linear(C, C), Linear(C, V)
        self.diagonal = diagonal  # 1: hide s > t (right); 2: hide only s > t + 1 (off by one)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        n = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(n))  # (B, n, C)
        scores = self.q(x) @ self.k(x).transpose(1, 2) / C**0.5  # (B, n, n)
        hidden = torch.ones(n, n, dtype=torch.bool).triu(diagonal=self.diagonal)  # (n, n)
        a = softmax(scores.masked_fill(hidden, -torch.inf), dim=-1)  # (B, n, n)
        return self.head(x + a @ self.v(x))  # (B, n, V)


def train_and_sample(seen: Observed, diagonal: int) -> None:
    text = corpus()
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text])  # (L,)
    n = (len(ids) - 1) // T
    x, y = ids[: n * T].view(n, T), ids[1 : n * T + 1].view(n, T)  # (N, T) each
    torch.manual_seed(SEED)
    model = TinyAttentionLM(len(chars), diagonal)
    optimizer = Adam(model.parameters(), lr=LR)
    for _ in range(STEPS):
        loss = cross_entropy(model(x).flatten(0, 1), y.flatten())  # (N·T, V) vs (N·T,)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    seen["training_loss"] = round(loss.item(), 4)
    out = torch.tensor([[chars.index(c) for c in PROMPT]])  # (1, t)
    with torch.no_grad():
        for _ in range(SAMPLE):  # greedy: the most likely next character, appended
            nxt = model(out[:, -T:])[:, -1].argmax(-1, keepdim=True)  # (1, 1)
            out = torch.cat([out, nxt], dim=1)
    seen["greedy_sample"] = "".join(chars[i] for i in out[0]).replace("\n", "⏎")  # one line


def broken(seen: Observed) -> None:
    train_and_sample(seen, diagonal=2)  # mask[t, s] only for s > t + 1: t sees t + 1


def correct(seen: Observed) -> None:
    train_and_sample(seen, diagonal=1)  # mask[t, s] for s > t: the future stays hidden


ORDER = 95  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="causal-mask-off-by-one",
    summary="a causal mask off by one: each position sees the character it must predict",
    symptom="a suspiciously low training loss (it copies the next input), nonsense samples",
    fix="hide every s > t: torch.ones(T, T).triu(diagonal=1), or is_causal=True",
    broken=broken,
    correct=correct,
)
