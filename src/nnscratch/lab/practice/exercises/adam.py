"""Exercise ``adam``: one step of Adam with bias correction, as ``torch.optim.Adam`` writes it.

    m ← β₁·m + (1 − β₁)·g              v ← β₂·v + (1 − β₂)·g²
    m̂ = m / (1 − β₁ᵗ)                  v̂ = v / (1 − β₂ᵗ)           t = 1, 2, ... this step
    p ← p − lr · m̂ / (√v̂ + eps)        eps *outside* the square root

The probe uses a large eps (1e-2) and gradients of that size, so that where eps sits shows.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template, variant
from nnscratch.lab.practice.observe import keep

STEPS = 5

TEMPLATE = template(
    "adam",
    "Write one step of Adam on one parameter, as torch.optim.Adam(params, lr, betas, eps)\n"
    "does it, with the bias correction.",
    "nnscratch verify   (the optim.Adam rows)",
    '''
def adam_step(p, grad, m, v, t, lr, betas, eps):
    """Update p in place and return the new (m, v).

    grad: this step's gradient; m, v: the moments returned by the previous step (zeros,
    p's shape, before the first); t: this step's number, 1 for the first; betas = (β1, β2).
    """
    raise NotImplementedError
''',
    """    p = torch.tensor([1.0, -2.0])
    m, v = torch.zeros_like(p), torch.zeros_like(p)
    for t in range(1, 4):
        m, v = adam_step(p, 2 * p, m, v, t, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
        print(t, p)
""",
)


def adam_step(p, grad, m, v, t, lr, betas, eps):
    """The reference."""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p -= lr * m_hat / (v_hat.sqrt() + eps)
    return m, v


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    p = torch.randn(*params["shape"], generator=g, dtype=torch.float64)
    m, v = torch.zeros_like(p), torch.zeros_like(p)
    for t in range(1, STEPS + 1):
        grad = 1e-2 * torch.randn(*params["shape"], generator=g, dtype=torch.float64)
        m, v = fns.adam_step(p, grad, m, v, t, 0.1, params["betas"], 1e-2)
        seen[f"p after step {t}"] = keep(p)
        seen[f"m after step {t}"] = keep(m)
        seen[f"v after step {t}"] = keep(v)


def step_with(correct: bool = True, eps_inside: bool = False, t_shift: int = 0, square=True):
    """A variant of the reference (the mistakes' mathematics)."""

    def step(p, grad, m, v, t, lr, betas, eps):
        beta1, beta2 = betas
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * (grad**2 if square else grad)
        tt = t + t_shift
        m_hat = m / (1 - beta1**tt) if correct else m
        v_hat = v / (1 - beta2**tt) if correct else v
        denominator = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
        p -= lr * m_hat / denominator
        return m, v

    return step


MISTAKES = (
    Mistake(
        "no-bias-correction",
        "adam_step",
        "m and v start at zero, so early on they are too small by (1 − βᵗ): without dividing "
        "by it the first steps are far smaller than PyTorch's.",
        "m̂ = m / (1 − β1**t), v̂ = v / (1 − β2**t), and step with m̂ and v̂.",
        predict=variant(adam_step=step_with(correct=False)),
    ),
    Mistake(
        "eps-inside-sqrt",
        "adam_step",
        "eps was added under the square root, √(v̂ + eps); PyTorch adds it outside, √v̂ + eps "
        "(it matters when the gradients are as small as √eps).",
        "p -= lr * m_hat / (v_hat.sqrt() + eps).",
        predict=variant(adam_step=step_with(eps_inside=True)),
    ),
    Mistake(
        "step-off-by-one",
        "adam_step",
        "the bias correction used t + 1: the step count starts at 1 on the first step (β**1), "
        "so the first steps are corrected by the wrong amount.",
        "use this step's t as given: 1 - beta1 ** t.",
        predict=variant(adam_step=step_with(t_shift=1)),
    ),
    Mistake(
        "v-not-squared",
        "adam_step",
        "v averages the gradient, not its square: the second moment is E[g²], and the square "
        "root of a negative average is nan.",
        "v = beta2 * v + (1 - beta2) * grad ** 2.",
        predict=variant(adam_step=step_with(square=False)),
    ),
)

EXERCISE = Exercise(
    name="adam",
    title="Adam with bias correction",
    functions=("adam_step",),
    template=TEMPLATE,
    reference={"adam_step": adam_step},
    trials=(
        Trial("p (4,), betas (0.9, 0.999)", {"shape": (4,), "betas": (0.9, 0.999), "seed": 1}),
        Trial("p (2, 3), betas (0.8, 0.99)", {"shape": (2, 3), "betas": (0.8, 0.99), "seed": 2}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Two running averages: of the gradient (m) and of its square (v).",
        "Both start at zero, which biases them toward zero early: divide by 1 − βᵗ.",
        "The step is lr·m̂/(√v̂ + eps), with eps outside the root as in torch.optim.Adam.",
    ),
    see="nnscratch verify",
)

ORDER = 90
