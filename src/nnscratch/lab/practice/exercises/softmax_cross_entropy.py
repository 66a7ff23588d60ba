"""Exercise ``softmax-cross-entropy``: the stable cross-entropy and its gradient by hand
(``nn.CrossEntropyLoss()`` with integer targets, reduction='mean', and what its backward gives).

    m_i = max_k z_ik                                   (N, 1)  for stability
    log Σ_k e^{z_ik} = m_i + log Σ_k e^{z_ik − m_i}    (N,)    logsumexp
    L = (1/N) Σ_i (logsumexp_i − z_{i,t_i})            ()
    ∂L/∂z = (softmax(z) − onehot(t)) / N               (N, C)  softmax over classes (dim 1)

Without subtracting the max, e^{1000} overflows to inf and the loss becomes inf or nan: the probe
includes logits of ±1000.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import (
    Exercise,
    Mistake,
    Params,
    Seen,
    Trial,
    flag_changed,
    scaled,
    variant,
)
from nnscratch.lab.practice.observe import keep, unchanged

TEMPLATE = '''"""nnscratch practice: softmax-cross-entropy.

Write the cross-entropy of logits against integer class targets (the mean over rows, as
nn.CrossEntropyLoss) and its gradient with respect to the logits, by hand and numerically
stable: logits of +-1000 must give finite numbers.

Check it with:   nnscratch practice check THIS_FILE.py
See it done:     nnscratch verify   (the nn.CrossEntropyLoss row)
"""

import torch

EXERCISE = "softmax-cross-entropy"  # which exercise this file is: keep this line


def cross_entropy(logits, targets):
    """The mean over the N rows of -log softmax(logits)[i, targets[i]]; a 0-dim tensor.

    logits (N, C) float, targets (N,) integer class indices in [0, C).
    Stay finite for logits as large as +-1000 (log-sum-exp with the row's max taken out).
    """
    raise NotImplementedError


def cross_entropy_grad(logits, targets):
    """dL/dlogits for L = cross_entropy(logits, targets), shape (N, C), without autograd."""
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(0)
    logits, targets = torch.randn(4, 3), torch.tensor([0, 2, 1, 2])  # (N, C), (N,)
    print("loss", cross_entropy(logits, targets))
    print("dlogits", cross_entropy_grad(logits, targets))
    print("at 1000:", cross_entropy(1000 * logits.sign(), targets))
'''


def softmax(z, dim=1):
    """softmax(z) along ``dim``, with the max taken out first (z (N, C))."""
    e = (z - z.max(dim, keepdim=True).values).exp()  # (N, C), every entry ≤ 1
    return e / e.sum(dim, keepdim=True)


def logsumexp(z, dim=1):
    m = z.max(dim, keepdim=True).values  # (N, 1) or (1, C)
    return (m + (z - m).exp().sum(dim, keepdim=True).log()).squeeze(dim)


def cross_entropy(logits, targets):
    """The reference."""
    N = logits.shape[0]
    picked = logits[torch.arange(N), targets]  # (N,) z_{i, t_i}
    return (logsumexp(logits) - picked).mean()


def cross_entropy_grad(logits, targets):
    """The reference."""
    N = logits.shape[0]
    p = softmax(logits)  # (N, C)
    p[torch.arange(N), targets] -= 1  # softmax − onehot
    return p / N


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, C = params["N"], params["C"]
    logits = 3 * torch.randn(N, C, generator=g, dtype=torch.float64)  # (N, C)
    if params.get("extreme"):
        logits = 1000 * logits.sign()  # ±1000
    targets = torch.randint(0, C, (N,), generator=g)  # (N,)
    before = [logits.clone(), targets.clone()]
    at = " at logits ±1000" if params.get("extreme") else ""
    seen[f"loss{at}"] = keep(fns.cross_entropy(logits, targets))
    seen[f"dlogits{at}"] = keep(fns.cross_entropy_grad(logits, targets))
    seen["inputs unchanged"] = unchanged((logits, targets), before)


# Wrong variants (the mistakes' mathematics, from the reference's pieces).


def loss_over_wrong_axis(logits, targets):
    N = logits.shape[0]
    logp = logits - logsumexp(logits, dim=0)  # normalised over the rows (dim 0)
    return -logp[torch.arange(N), targets].mean()


def grad_over_wrong_axis(logits, targets):
    N = logits.shape[0]
    p = softmax(logits, dim=0)
    p[torch.arange(N), targets] -= 1
    return p / N


def grad_without_one_hot(logits, targets):
    return softmax(logits) / logits.shape[0]


def loss_indexing_columns(logits, targets):
    return (logsumexp(logits)[:, None] - logits[:, targets]).mean()  # (N, N): every pair


def non_finite(got) -> bool:
    """Any inf or nan in the trial at logits ±1000, while the ordinary trials are finite."""
    extreme = [v for s in got.trials.values() for q, v in s.items() if "1000" in q]
    return any(isinstance(v, torch.Tensor) and not v.isfinite().all() for v in extreme)


QUANTITIES = ("loss", "dlogits", "loss at logits ±1000", "dlogits at logits ±1000")

MISTAKES = (
    Mistake(
        "unstable-softmax",
        "cross_entropy",
        "inf or nan at logits ±1000: e^1000 overflows; the exponentials need the row's max "
        "subtracted first (softmax is unchanged by a shift).",
        "m = logits.max(1, keepdim=True).values; work with exp(logits − m) and add m back "
        "to the log.",
        broken=non_finite,
    ),
    Mistake(
        "wrong-axis",
        "cross_entropy",
        "the softmax was normalised over the rows (dim 0) instead of over the classes of each "
        "row (dim 1).",
        "sum over dim=1 with keepdim=True, so that each row's probabilities sum to 1.",
        predict=variant(
            cross_entropy=loss_over_wrong_axis, cross_entropy_grad=grad_over_wrong_axis
        ),
    ),
    Mistake(
        "sum-not-mean",
        "cross_entropy",
        "N times the reference: the loss is the mean over the rows (reduction='mean'), and so "
        "its gradient is divided by N.",
        "divide by N = logits.shape[0] (the loss's .mean(), the gradient's / N).",
        predict=scaled(lambda p: p["N"], QUANTITIES),
    ),
    Mistake(
        "forgot-one-hot",
        "cross_entropy_grad",
        "the gradient is softmax/N without the one-hot subtracted: it misses the −z_{i,t_i} "
        "term of the loss.",
        "subtract 1 at each row's target class: (softmax − onehot) / N.",
        predict=variant(cross_entropy_grad=grad_without_one_hot),
    ),
    Mistake(
        "wrong-sign",
        "cross_entropy_grad",
        "the gradient points the other way: onehot − softmax instead of softmax − onehot.",
        "raising a logit raises the loss through the softmax term: softmax − onehot.",
        predict=scaled(-1.0, ("dlogits", "dlogits at logits ±1000")),
    ),
    Mistake(
        "index-columns",
        "cross_entropy",
        "logits[:, targets] is (N, N): every row's logit at every target, averaged; each row "
        "needs its own target's logit only.",
        "pick one per row: logits[torch.arange(N), targets] (or gather along dim 1).",
        predict=variant(cross_entropy=loss_indexing_columns),
    ),
    Mistake(
        "changed-inputs",
        "cross_entropy",
        "the caller's logits changed: an in-place operation (`logits -= ...`, `p[...] -= 1` on "
        "a view of them) wrote into the input.",
        "make new tensors (`z = logits - m`; `p = softmax.clone()`) before changing them.",
        broken=flag_changed("inputs unchanged"),
    ),
)

EXERCISE = Exercise(
    name="softmax-cross-entropy",
    title="stable cross-entropy and its gradient",
    functions=("cross_entropy", "cross_entropy_grad"),
    template=TEMPLATE,
    reference={"cross_entropy": cross_entropy, "cross_entropy_grad": cross_entropy_grad},
    trials=(
        Trial("N=5, C=3", {"N": 5, "C": 3, "seed": 1}),
        Trial("N=8, C=10", {"N": 8, "C": 10, "seed": 2}),
        Trial("N=4, C=2", {"N": 4, "C": 2, "seed": 3}),
        Trial("N=6, C=4, ±1000", {"N": 6, "C": 4, "seed": 4, "extreme": True}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "−log softmax(z)[t] = logsumexp(z) − z[t]: no division, no log of a tiny number.",
        "logsumexp(z) = m + log Σ exp(z − m) with m the row's max: every exponent is ≤ 0.",
        "The gradient of logsumexp is the softmax; the gradient of −z[t] is −1 at t; then /N.",
    ),
    see="nnscratch verify",
    produced_by=lambda q: "cross_entropy_grad" if q.startswith("dlogits") else "cross_entropy",
)

ORDER = 60
