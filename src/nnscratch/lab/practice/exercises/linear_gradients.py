"""Exercise ``linear-gradients``: the gradients of linear regression's MSE by hand, no autograd
(what ``loss.backward()`` computes for the seed's model).

    r = X wᵀ + b − y                                 residual          (N, 1)
    L = (1/N) Σᵢ rᵢ²                                 MSE               ()
    ∂L/∂w = (2/N) rᵀ X                               same shape as w   (1, F)
    ∂L/∂b = (2/N) Σᵢ rᵢ                              same shape as b   (1,)

Conventions where learners differ: the ½ in ½·MSE drops the 2; a sum over samples instead of the
mean multiplies by N; ``X.T @ r`` is the gradient's transpose, (F, 1).
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
    transposed,
)
from nnscratch.lab.practice.observe import keep, unchanged

TEMPLATE = '''"""nnscratch practice: linear-gradients.

Write by hand the gradients that loss.backward() computes for linear regression's mean squared
error, L = mean((X @ w.T + b - y) ** 2), without autograd.

Check it with:   nnscratch practice check THIS_FILE.py
See it done:     nnscratch explain   (each .grad next to its hand-derived formula)
"""

import torch

EXERCISE = "linear-gradients"  # which exercise this file is: keep this line


def gradients(w, b, X, y):
    """Return (dw, db): dL/dw with w's shape (1, F) and dL/db with b's shape (1,).

    w (1, F), b (1,), X (N, F), y (N, 1); none requires grad: use no autograd.
    L = mean over the N samples of (X @ w.T + b - y) ** 2.
    """
    raise NotImplementedError


if __name__ == "__main__":
    torch.manual_seed(0)
    X, y = torch.randn(20, 3), torch.randn(20, 1)  # (N, F), (N, 1)
    w, b = torch.randn(1, 3), torch.randn(1)  # (1, F), (1,)
    dw, db = gradients(w, b, X, y)
    w_, b_ = w.clone().requires_grad_(), b.clone().requires_grad_()
    ((X @ w_.T + b_ - y) ** 2).mean().backward()  # autograd, for comparison
    print("dw", dw, "autograd", w_.grad)
    print("db", db, "autograd", b_.grad)
'''


def gradients(w, b, X, y):
    """The reference."""
    N = X.shape[0]
    r = X @ w.T + b - y  # (N, 1)
    dw = (2 / N) * r.T @ X  # (1, F)
    db = (2 / N) * r.sum(0)  # (1,)
    return dw, db


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, F = params["N"], params["F"]
    X = torch.randn(N, F, generator=g, dtype=torch.float64)  # (N, F)
    y = torch.randn(N, 1, generator=g, dtype=torch.float64)  # (N, 1)
    w = torch.randn(1, F, generator=g, dtype=torch.float64)  # (1, F)
    b = torch.randn(1, generator=g, dtype=torch.float64)  # (1,)
    before = [t.clone() for t in (w, b, X, y)]
    dw, db = fns.gradients(w, b, X, y)
    seen["dw"], seen["db"] = keep(dw), keep(db)
    seen["inputs unchanged"] = unchanged((w, b, X, y), before)


GRADIENTS = ("dw", "db")

MISTAKES = (
    Mistake(
        "used-autograd",
        "gradients",
        "backward (or autograd.grad) was called: the inputs do not require grad, and the "
        "exercise is to write what autograd would compute.",
        "differentiate by hand: dL/dŷ = (2/N)(ŷ − y), then the chain rule to w and b.",
        raised=("RuntimeError", "does not require grad"),
    ),
    Mistake(
        "missing-factor-2",
        "gradients",
        "the gradients are half the reference's: the derivative of r² is 2r, and the 2 is "
        "dropped only under the ½·MSE convention, not PyTorch's MSELoss.",
        "d/dr (r²) = 2r: keep the factor 2.",
        predict=scaled(0.5, GRADIENTS),
    ),
    Mistake(
        "sum-not-mean",
        "gradients",
        "the gradients are N times the reference's: the loss is the mean over samples, so each "
        "gradient is divided by N.",
        "divide the sum over samples by N = X.shape[0].",
        predict=scaled(lambda p: p["N"], GRADIENTS),
    ),
    Mistake(
        "wrong-sign",
        "gradients",
        "the gradients point the other way: the residual was taken as y − ŷ (its derivative "
        "with respect to ŷ is −1).",
        "use r = ŷ − y, the prediction minus the target.",
        predict=scaled(-1.0, GRADIENTS),
    ),
    Mistake(
        "transposed",
        "gradients",
        "dw is the transpose of the gradient, (F, 1) instead of w's (1, F): X.T @ r is (dL/dw)ᵀ.",
        "a gradient has its parameter's shape: rᵀ X is (1, N)(N, F) = (1, F).",
        predict=transposed(("dw",)),
    ),
    Mistake(
        "changed-inputs",
        "gradients",
        "the caller's tensors changed: an in-place operation (`-=`, `.sub_`) wrote into w, b, "
        "X or y.",
        "make new tensors (`r = X @ w.T + b - y`) instead of writing into the inputs.",
        broken=flag_changed("inputs unchanged"),
    ),
)

EXERCISE = Exercise(
    name="linear-gradients",
    title="dL/dw and dL/db of the MSE by hand",
    functions=("gradients",),
    template=TEMPLATE,
    reference={"gradients": gradients},
    trials=(
        Trial("N=10, F=1", {"N": 10, "F": 1, "seed": 1}),
        Trial("N=7, F=3", {"N": 7, "F": 3, "seed": 2}),
        Trial("N=12, F=4", {"N": 12, "F": 4, "seed": 3}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Name the residual r = X @ w.T + b − y, shape (N, 1); the loss is the mean of r².",
        "dL/dr = (2/N)·r; each gradient then follows by the chain rule, with its parameter's "
        "shape.",
        "ŷ depends on w through X @ w.T: the gradient sums rᵢ·Xᵢ over samples; on b through a "
        "sum of rᵢ.",
    ),
    see="nnscratch explain",
)

ORDER = 50
