"""Exercise ``five-steps``: one step of the seed's loop by hand (``optimizer.step()`` and
``optimizer.zero_grad()`` written out).

    ŷ = X wᵀ + b                      forward                      (N, 1)
    L = mean((ŷ − y)²)                MSE loss                     ()
    L.backward()                      w.grad = ∂L/∂w, b.grad = ∂L/∂b
    with torch.no_grad(): p −= lr · p.grad      the update, in place on the leaf
    p.grad = None  (or p.grad.zero_())          the reset: backward *adds* into .grad

Probed over three calls on the same leaves, so that a forgotten reset shows in the second call's
update; the reset may come first (then guarded: ``.grad`` is None before the first backward) or last.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import (
    Exercise,
    Mistake,
    Params,
    Seen,
    Trial,
    variants,
)
from nnscratch.lab.practice.observe import keep

STEPS = 3

TEMPLATE = '''"""nnscratch practice: five-steps.

Write one step of the training loop by hand: forward, MSE loss, backward, the SGD update and
the gradient reset, on the leaf tensors w (1, F) and b (1,).

Check it with:   nnscratch practice check THIS_FILE.py
See it done:     nnscratch explain     and     nnscratch pitfalls no-zero-grad
"""

import torch

EXERCISE = "five-steps"  # which exercise this file is: keep this line


def train_step(w, b, X, y, lr):
    """One step of gradient descent on the mean squared error; return the loss as a float.

    w (1, F) and b (1,) are leaf tensors with requires_grad=True; X is (N, F), y is (N, 1).
      1. forward: the prediction X @ w.T + b, shape (N, 1)
      2. loss: the mean of the squared differences to y (a 0-dim tensor)
      3. backward: loss.backward() fills w.grad and b.grad
      4. update: w and b move by -lr times their gradient, in place, without autograd watching
      5. reset: so that the next call's backward does not add onto this call's gradients
    Return the loss of this step as a Python float.
    """
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(0)
    X = torch.randn(32, 1)  # (N, F)
    y = 3 * X + 2 + 0.1 * torch.randn(32, 1)  # (N, 1)
    w = torch.zeros(1, 1, requires_grad=True)  # (1, F)
    b = torch.zeros(1, requires_grad=True)  # (1,)
    for step in range(100):
        loss = train_step(w, b, X, y, lr=0.1)
    print(f"loss {loss:.4f}  w {w.item():.3f} (3)  b {b.item():.3f} (2)")
'''


def train_step(w, b, X, y, lr):
    """The reference: the seed's five steps."""
    return step_with(w, b, X, y, lr)


def step_with(w, b, X, y, lr, *, scale=1.0, sign=-1.0, reset=("w", "b"), rebind=False, item=True):
    """The five steps with their conventions as arguments (the reference and its wrong
    variants): the loss's factor (½, N), the update's direction, the parameters reset, a
    rebinding instead of the in-place update, the loss returned as a float or a tensor."""
    N = X.shape[0]
    loss = (N if scale == "N" else scale) * ((X @ w.T + b - y) ** 2).mean()  # (N, 1) -> ()
    loss.backward()  # adds into .grad: the running sum of every backward since the last reset
    if rebind:
        w = w - lr * w.grad  # a new local tensor: the caller's w never moves
        b = b - lr * b.grad
    else:
        with torch.no_grad():
            w += sign * lr * w.grad
            b += sign * lr * b.grad
    for name, p in (("w", w), ("b", b)):
        if name in reset:
            p.grad = None
    return loss.item() if item else loss


def problem(params: Params):
    """The trial's seeded leaves and data: w (1, F), b (1,), X (N, F), y (N, 1)."""
    g = torch.Generator().manual_seed(params["seed"])
    N, F = params["N"], params["F"]
    X = torch.randn(N, F, generator=g, dtype=torch.float64)
    y = X @ torch.randn(F, 1, generator=g, dtype=torch.float64) + 0.5
    w = torch.randn(1, F, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(1, generator=g, dtype=torch.float64).requires_grad_()
    return w, b, X, y


def probe(fns, params: Params, seen: Seen) -> None:
    w, b, X, y = problem(params)
    for step in range(1, STEPS + 1):
        loss = fns.train_step(w, b, X, y, params["lr"])
        seen[f"loss, call {step}"] = keep(loss)
        seen[f"w after call {step}"] = keep(w)
        seen[f"b after call {step}"] = keep(b)
    seen["returns a float"] = isinstance(loss, float)
    seen["w, b still leaves"] = w.is_leaf and b.is_leaf and w.requires_grad and b.requires_grad


def variant_with(**kwargs):
    return {"train_step": lambda w, b, X, y, lr: step_with(w, b, X, y, lr, **kwargs)}


MISTAKES = (
    Mistake(
        "update-without-no-grad",
        "train_step",
        "an in-place change of a leaf that requires grad, outside torch.no_grad(), is refused: "
        "autograd would have to record the update as part of the graph.",
        "wrap the two updates in `with torch.no_grad():`.",
        raised=("RuntimeError", "leaf Variable that requires grad"),
    ),
    Mistake(
        "reset-before-backward",
        "train_step",
        "the reset ran before any backward: .grad is None until the first backward, so "
        "`.grad.zero_()` fails on the first call.",
        "reset after the update, or write `w.grad = None` (safe at any time).",
        raised=("AttributeError", "'NoneType'", "zero_"),
    ),
    Mistake(
        "no-zero-grad",
        "train_step",
        "the first call is right but later updates use the running sum of all past gradients: "
        "backward adds into .grad and nothing reset it.",
        "after the update, `w.grad = None` and `b.grad = None` (or `.zero_()`); see "
        "`nnscratch pitfalls no-zero-grad`.",
        predict=variants(*(variant_with(reset=kept) for kept in ((), ("w",), ("b",)))),
    ),
    Mistake(
        "rebind-parameter",
        "train_step",
        "the caller's w and b never changed: `w = w - lr * w.grad` makes a new local tensor "
        "instead of updating the leaf the caller holds.",
        "update in place, `w -= lr * w.grad`, inside `with torch.no_grad():`; see "
        "`nnscratch pitfalls rebind-parameter`.",
        predict=variants(variant_with(rebind=True, reset=())),
    ),
    Mistake(
        "gradient-ascent",
        "train_step",
        "the parameters moved along the gradient, uphill: the loss grows.",
        "subtract: p ← p − lr · ∂L/∂p.",
        predict=variants(variant_with(sign=1.0)),
    ),
    Mistake(
        "half-mse",
        "train_step",
        "the loss and every update are half the reference's: the ½·mean((ŷ−y)²) convention, "
        "where PyTorch's MSELoss has no ½.",
        "drop the ½: loss = mean((ŷ − y)²), as nn.MSELoss(reduction='mean').",
        predict=variants(variant_with(scale=0.5)),
    ),
    Mistake(
        "sum-not-mean",
        "train_step",
        "the loss and the updates are N times the reference's: a sum over the samples where "
        "the mean was asked for.",
        "divide by N: `.mean()` (MSELoss's reduction='mean').",
        predict=variants(variant_with(scale="N")),
    ),
    Mistake(
        "returns-tensor",
        "train_step",
        "it returned the loss tensor, which keeps the step's whole graph alive in the "
        "caller's hands; the contract is a Python float.",
        "return `loss.item()`; see `nnscratch pitfalls keep-loss-tensors`.",
        predict=variants(variant_with(item=False)),
    ),
)

EXERCISE = Exercise(
    name="five-steps",
    title="the five steps of one training step",
    functions=("train_step",),
    template=TEMPLATE,
    reference={"train_step": train_step},
    trials=(
        Trial("N=8, F=1", {"N": 8, "F": 1, "lr": 0.1, "seed": 1}),
        Trial("N=16, F=3", {"N": 16, "F": 3, "lr": 0.05, "seed": 2}),
        Trial("N=5, F=2", {"N": 5, "F": 2, "lr": 0.2, "seed": 3}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "The seed's five steps, in order: forward, loss, backward, update, reset.",
        "The update changes the tensors the caller holds: in place (`-=`), under "
        "`torch.no_grad()` so that autograd does not record it.",
        "backward adds into .grad; after the update set each .grad to None (or zero it).",
    ),
    see="nnscratch explain",
)

ORDER = 40
