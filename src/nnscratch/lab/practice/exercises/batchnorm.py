"""Exercise ``batchnorm``: batch normalisation's forward in training and in evaluation, running
statistics included (``nn.BatchNorm1d(C, eps, momentum)`` by hand).

    training:   μ = mean over the batch      σ² = biased variance (÷N)          (C,)
                y = γ·(x − μ)/√(σ² + eps) + β
                running_mean ← (1 − momentum)·running_mean + momentum·μ        in place
                running_var  ← (1 − momentum)·running_var  + momentum·σ²·N/(N−1)  (unbiased)
    evaluation: y = γ·(x − running_mean)/√(running_var + eps) + β              batch unused

Where conventions differ: PyTorch normalises with the *biased* variance but keeps the *unbiased*
one; its momentum weighs the new batch (Keras's weighs the old statistics); eps sits inside the
root. The probe uses eps = 0.1 so that where eps sits shows.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template, variant
from nnscratch.lab.practice.observe import keep

EPS, MOMENTUM = 0.1, 0.1

TEMPLATE = template(
    "batchnorm",
    "Write batch normalisation's forward for x (N, C), in training and in evaluation, with the\n"
    "running statistics updated in place as nn.BatchNorm1d(C, eps, momentum) does.",
    "nnscratch pitfalls forget-eval",
    '''
def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """Return y (N, C); in training also update running_mean and running_var (C,) in place.

    training=True: normalise with this batch's mean and (biased) variance, and move the
    running statistics toward the batch's (the running variance is the unbiased one).
    training=False: normalise with the running statistics; the batch's are not used.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    x = 3 + 2 * torch.randn(16, 4)  # (N, C)
    gamma, beta = torch.ones(4), torch.zeros(4)
    mean, var = torch.zeros(4), torch.ones(4)
    y = batch_norm(x, gamma, beta, mean, var, True, momentum=0.1, eps=1e-5)
    print(y.mean(0), y.std(0), mean, var)  # ≈ 0, ≈ 1, ≈ 0.3, ≈ 1.3
""",
)


def normalise(x, gamma, beta, mean, var, eps, eps_inside=True):
    root = (var + eps).sqrt() if eps_inside else var.sqrt() + eps
    return gamma * (x - mean) / root + beta  # (N, C)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """The reference."""
    return norm_with(x, gamma, beta, running_mean, running_var, training, momentum, eps)


def norm_with(
    x, gamma, beta, running_mean, running_var, training, momentum, eps, *,
    kept_unbiased=True, normalised_unbiased=False, eval_batch=False, keras=False,
    eps_inside=True, rebind=False,
):  # fmt: skip
    """Batch norm with its conventions as arguments (the reference and its wrong variants)."""
    if not training and not eval_batch:
        return normalise(x, gamma, beta, running_mean, running_var, eps, eps_inside)
    N = x.shape[0]
    mean = x.mean(0)  # (C,)
    var = x.var(0, unbiased=False)  # (C,) biased: ÷N
    unbiased = var * N / (N - 1)
    y = normalise(x, gamma, beta, mean, unbiased if normalised_unbiased else var, eps, eps_inside)
    if not training:
        return y
    new, old = (1 - momentum, momentum) if keras else (momentum, 1 - momentum)
    kept = unbiased if kept_unbiased else var
    if rebind:
        running_mean = old * running_mean + new * mean  # noqa: F841
        return y
    running_mean.mul_(old).add_(new * mean)
    running_var.mul_(old).add_(new * kept)
    return y


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, C = params["N"], params["C"]
    gamma = 1 + 0.5 * torch.randn(C, generator=g, dtype=torch.float64)
    beta = torch.randn(C, generator=g, dtype=torch.float64)
    mean, var = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    for step in (1, 2):
        x = 3 + 2 * torch.randn(N, C, generator=g, dtype=torch.float64)  # (N, C)
        y = fns.batch_norm(x, gamma, beta, mean, var, True, MOMENTUM, EPS)
        seen[f"y, training batch {step}"] = keep(y)
        seen[f"running_mean after batch {step}"] = keep(mean)
        seen[f"running_var after batch {step}"] = keep(var)
    x = 3 + 2 * torch.randn(N, C, generator=g, dtype=torch.float64)
    seen["y, evaluation"] = keep(fns.batch_norm(x, gamma, beta, mean, var, False, MOMENTUM, EPS))


def with_(**kwargs):
    return variant(batch_norm=lambda *a: norm_with(*a, **kwargs))


MISTAKES = (
    Mistake(
        "biased-running-var",
        "batch_norm",
        "the running variance kept the biased (÷N) batch variance: PyTorch keeps the unbiased "
        "one, ÷(N − 1), and normalises with the biased one.",
        "running_var ← (1 − momentum)·running_var + momentum·var·N/(N − 1).",
        predict=with_(kept_unbiased=False),
    ),
    Mistake(
        "unbiased-normalisation",
        "batch_norm",
        "training outputs were normalised with the unbiased variance, ÷(N − 1): PyTorch "
        "normalises with the biased one, ÷N (x.var(0, unbiased=False)).",
        "normalise with x.var(0, unbiased=False); keep the unbiased one in running_var.",
        predict=with_(normalised_unbiased=True),
    ),
    Mistake(
        "batch-stats-in-eval",
        "batch_norm",
        "in evaluation the batch's own statistics were used: then a prediction depends on the "
        "rest of its batch; evaluation uses the running statistics.",
        "if not training: normalise with running_mean and running_var; see `nnscratch "
        "pitfalls forget-eval`.",
        predict=with_(eval_batch=True),
    ),
    Mistake(
        "momentum-reversed",
        "batch_norm",
        "the running statistics weigh the new batch by 1 − momentum: that is Keras's "
        "convention; PyTorch's momentum is the weight of the new batch.",
        "running ← (1 − momentum)·running + momentum·batch.",
        predict=with_(keras=True),
    ),
    Mistake(
        "eps-outside-sqrt",
        "batch_norm",
        "eps was added after the square root, √σ² + eps; PyTorch adds it inside, √(σ² + eps).",
        "(x - mean) / torch.sqrt(var + eps).",
        predict=with_(eps_inside=False),
    ),
    Mistake(
        "running-stats-rebound",
        "batch_norm",
        "the caller's running statistics never changed: `running_mean = ...` makes a new local "
        "tensor.",
        "update in place: running_mean.mul_(1 - momentum).add_(momentum * mean), or "
        "running_mean[:] = ....",
        predict=with_(rebind=True),
    ),
)

EXERCISE = Exercise(
    name="batchnorm",
    title="batch norm in training and evaluation",
    functions=("batch_norm",),
    template=TEMPLATE,
    reference={"batch_norm": batch_norm},
    trials=(
        Trial("N=8, C=3", {"N": 8, "C": 3, "seed": 1}),
        Trial("N=5, C=6", {"N": 5, "C": 6, "seed": 2}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Statistics per feature: mean and variance over the batch, dim 0.",
        "Normalise with the biased variance; keep the unbiased one in running_var.",
        "In evaluation use only the running statistics; in training update them in place.",
    ),
    see="nnscratch pitfalls forget-eval",
)

ORDER = 110
