"""Exercise ``sgd-momentum``: one step of SGD with momentum, as ``torch.optim.SGD`` writes it
(dampening 0, not Nesterov).

    b ← g                    on the first step (the buffer starts at the first gradient)
    b ← μ·b + g              afterwards
    p ← p − lr·b             in place, on the parameter the caller holds

Where conventions differ: some texts keep ``v ← μ·v + lr·g; p ← p − v``, which is the same only
while lr never changes (a schedule tells them apart: the probe changes lr at step 4); others damp
with ``(1 − μ)·g``, which shrinks the effective step by (1 − μ).
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import (
    Exercise,
    Mistake,
    Params,
    Seen,
    Trial,
    template,
    variant,
)
from nnscratch.lab.practice.observe import keep

STEPS = 6
LRS = (0.1, 0.1, 0.1, 0.02, 0.02, 0.02)  # a step schedule: lr changes at step 4

TEMPLATE = template(
    "sgd-momentum",
    "Write one step of SGD with momentum on one parameter, as torch.optim.SGD(params, lr,\n"
    "momentum) does it: the update in place, the momentum buffer returned for the next step.",
    "nnscratch verify   (the optim.SGD rows)",
    '''
def sgd_momentum_step(p, grad, buf, lr, momentum):
    """Update p in place (it is a plain tensor: no autograd here) and return the new buffer.

    grad: this step's gradient, p's shape; buf: the buffer returned by the previous step,
    None on the first step; lr and momentum as torch.optim.SGD's arguments (lr may change
    from one step to the next, as with a scheduler).
    """
    raise NotImplementedError
''',
    """    p, buf = torch.tensor([1.0, -2.0]), None
    for step in range(3):
        grad = 2 * p  # the gradient of sum(p ** 2)
        buf = sgd_momentum_step(p, grad, buf, lr=0.1, momentum=0.9)
        print(step, p)
""",
)


def sgd_momentum_step(p, grad, buf, lr, momentum):
    """The reference."""
    buf = grad.clone() if buf is None else momentum * buf + grad  # b ← μ·b + g
    p -= lr * buf  # p ← p − lr·b
    return buf


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    p = torch.randn(*params["shape"], generator=g, dtype=torch.float64)
    buf = None
    for step, lr in enumerate(LRS, 1):
        grad = torch.randn(*params["shape"], generator=g, dtype=torch.float64)
        buf = fns.sgd_momentum_step(p, grad.clone(), buf, lr, params["momentum"])
        seen[f"p after step {step}"] = keep(p)


def lr_inside(p, grad, buf, lr, momentum):
    buf = lr * grad if buf is None else momentum * buf + lr * grad  # v ← μ·v + lr·g
    p -= buf
    return buf


def dampened(p, grad, buf, lr, momentum):
    buf = (1 - momentum) * grad if buf is None else momentum * buf + (1 - momentum) * grad
    p -= lr * buf
    return buf


def dampened_from_first(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    p -= lr * buf
    return buf


def plain(p, grad, buf, lr, momentum):
    p -= lr * grad
    return grad


def rebinding(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    p = p - lr * buf  # a new local tensor: the caller's p never moves  # noqa: F841
    return buf


MISTAKES = (
    Mistake(
        "lr-inside-buffer",
        "sgd_momentum_step",
        "right while lr is constant, wrong after it changes (step 4): the buffer holds lr·g, "
        "so old gradients keep their old learning rate (Sutskever's form, not PyTorch's).",
        "keep lr out of the buffer: b ← μ·b + g, then p ← p − lr·b.",
        predict=variant(sgd_momentum_step=lr_inside),
    ),
    Mistake(
        "dampened-momentum",
        "sgd_momentum_step",
        "the gradient enters the buffer as (1 − μ)·g, an exponential average: PyTorch's "
        "default dampening=0 adds g whole, so its steps are 1/(1 − μ) times larger.",
        "b ← μ·b + g (no (1 − μ) factor).",
        predict=lambda ctx: [
            ctx.variant(sgd_momentum_step=dampened),
            ctx.variant(sgd_momentum_step=dampened_from_first),
        ],
    ),
    Mistake(
        "no-momentum",
        "sgd_momentum_step",
        "every step is plain SGD: the buffer is never used, so past gradients do not count.",
        "add μ times the previous buffer to this step's gradient.",
        predict=variant(sgd_momentum_step=plain),
    ),
    Mistake(
        "rebind-parameter",
        "sgd_momentum_step",
        "the caller's p never changed: `p = p - lr * buf` makes a new local tensor.",
        "update in place: `p -= lr * buf` (or `p.sub_(lr * buf)`).",
        predict=variant(sgd_momentum_step=rebinding),
    ),
)

EXERCISE = Exercise(
    name="sgd-momentum",
    title="SGD with momentum, as torch.optim.SGD",
    functions=("sgd_momentum_step",),
    template=TEMPLATE,
    reference={"sgd_momentum_step": sgd_momentum_step},
    trials=(
        Trial("p (3,), momentum 0.9", {"shape": (3,), "momentum": 0.9, "seed": 1}),
        Trial("p (2, 4), momentum 0.5", {"shape": (2, 4), "momentum": 0.5, "seed": 2}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "The buffer starts as the first gradient itself (a copy), then b ← μ·b + g.",
        "lr multiplies the buffer when p moves, not the gradient when it enters the buffer.",
        "The caller's p must change: in place.",
    ),
    see="nnscratch verify",
)

ORDER = 80
