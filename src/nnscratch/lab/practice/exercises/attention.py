"""Exercise ``attention``: one head of causal self-attention by hand (what
``F.scaled_dot_product_attention(q, k, v, is_causal=True)`` computes after the projections).

    q = x W_qᵀ, k = x W_kᵀ, v = x W_vᵀ            (B, T, d)
    A = q kᵀ / √d                                   (B, T, T)   scores, row i = query i
    A[i, j] = −∞ for j > i                          causal: no position sees the future
    y = softmax(A, over j) v                        (B, T, d)

The mask is ``torch.triu(ones(T, T), diagonal=1)``: diagonal=0 also hides each position from
itself (the first row is all −∞: nan); diagonal=2 lets each position see the next one.
"""

from __future__ import annotations

import math

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template, variant
from nnscratch.lab.practice.observe import keep

TEMPLATE = template(
    "attention",
    "Write one head of causal self-attention: the projections, the scaled scores, the causal\n"
    "mask, the softmax and the weighted sum of the values.",
    "nnscratch pitfalls causal-mask-off-by-one",
    '''
def causal_self_attention(x, w_q, w_k, w_v):
    """Return y (B, T, d) for x (B, T, C) and the projections w_q, w_k, w_v, each (d, C).

    Scores q @ k^T scaled by 1/sqrt(d); position i attends to positions j <= i only;
    softmax over the attended positions; y is the weighted sum of the values.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)  # (B, T, C)
    w_q, w_k, w_v = (torch.randn(4, 8) for _ in range(3))  # (d, C)
    print(causal_self_attention(x, w_q, w_k, w_v).shape)  # (2, 5, 4)
""",
)


def attend(x, w_q, w_k, w_v, scale=None, diagonal=1, dim=-1, masked=True):
    """Causal attention with its pieces as arguments (the reference and its wrong variants)."""
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T  # (B, T, d) each
    d, T = q.shape[-1], x.shape[1]
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(d) if scale is None else scale)  # (B, T, T)
    if masked:
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=diagonal)  # (T, T)
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(dim) @ v  # (B, T, d)


def causal_self_attention(x, w_q, w_k, w_v):
    """The reference."""
    return attend(x, w_q, w_k, w_v)


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    B, T, C, d = params["B"], params["T"], params["C"], params["d"]
    x = torch.randn(B, T, C, generator=g, dtype=torch.float64)  # (B, T, C)
    w = [torch.randn(d, C, generator=g, dtype=torch.float64) for _ in range(3)]  # (d, C)
    seen["y"] = keep(fns.causal_self_attention(x, *w))


def with_d(fn):
    return lambda x, w_q, w_k, w_v: attend(x, w_q, w_k, w_v, scale=fn(w_q.shape[0]))


MISTAKES = (
    Mistake(
        "no-scale",
        "causal_self_attention",
        "the scores were not divided by √d: they grow with d, and the softmax saturates "
        "toward one position.",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d).",
        predict=variant(causal_self_attention=with_d(lambda d: 1.0)),
    ),
    Mistake(
        "scale-by-d",
        "causal_self_attention",
        "the scores were divided by d instead of √d: the dot product of d unit-variance terms "
        "has standard deviation √d.",
        "divide by math.sqrt(d).",
        predict=variant(causal_self_attention=with_d(lambda d: 1 / d)),
    ),
    Mistake(
        "mask-hides-self",
        "causal_self_attention",
        "the mask also hides the diagonal (triu with diagonal=0): a position may not attend to "
        "itself, and the first row is all −inf, so its softmax is nan.",
        "mask only j > i: torch.triu(..., diagonal=1).",
        predict=variant(causal_self_attention=lambda *a: attend(*a, diagonal=0)),
    ),
    Mistake(
        "mask-sees-next",
        "causal_self_attention",
        "the mask starts one too far right (diagonal=2): each position sees the next one, the "
        "future it is meant to predict.",
        "mask j > i: torch.triu(..., diagonal=1); see `nnscratch pitfalls causal-mask-off-by-one`.",
        predict=variant(causal_self_attention=lambda *a: attend(*a, diagonal=2)),
    ),
    Mistake(
        "no-mask",
        "causal_self_attention",
        "no causal mask: every position attends to all positions, the future included.",
        "set the scores of j > i to -inf before the softmax.",
        predict=variant(causal_self_attention=lambda *a: attend(*a, masked=False)),
    ),
    Mistake(
        "softmax-wrong-axis",
        "causal_self_attention",
        "the softmax ran over the queries (dim −2): each query's weights over the keys must "
        "sum to 1, so normalise over the last axis.",
        "scores.softmax(dim=-1).",
        predict=variant(causal_self_attention=lambda *a: attend(*a, dim=-2)),
    ),
)

EXERCISE = Exercise(
    name="attention",
    title="causal self-attention, one head",
    functions=("causal_self_attention",),
    template=TEMPLATE,
    reference={"causal_self_attention": causal_self_attention},
    trials=(
        Trial("B=2, T=5, C=8, d=4", {"B": 2, "T": 5, "C": 8, "d": 4, "seed": 1}),
        Trial("B=1, T=7, C=6, d=16", {"B": 1, "T": 7, "C": 6, "d": 16, "seed": 2}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Shapes: q, k, v are (B, T, d); q @ k.transpose(-2, -1) is (B, T, T), row i = query i.",
        "Scale by 1/√d, then set the scores of future positions (j > i) to -inf.",
        "Softmax over the last axis (the keys), then multiply by v.",
    ),
    see="nnscratch pitfalls causal-mask-off-by-one",
)

ORDER = 130
