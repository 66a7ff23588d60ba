"""Exercise ``mlp-backward``: a two-layer MLP's backward by hand, every intermediate
(makemore's "backprop ninja"; what ``loss.backward()`` computes through the graph).

    h = x W₁ᵀ + b₁   (N, H)     a = tanh(h)   (N, H)     z = a W₂ᵀ + b₂   (N, C)
    L = cross_entropy(z, t), the mean over the N rows

    dz  = (softmax(z) − onehot(t)) / N           (N, C)
    dW₂ = dzᵀ a  (C, H)        db₂ = Σ_rows dz  (C,)        da = dz W₂  (N, H)
    dh  = da ⊙ (1 − a²)        tanh' = 1 − tanh², in terms of the *output* a
    dW₁ = dhᵀ x  (H, D)        db₁ = Σ_rows dh  (H,)

Each gradient has its tensor's shape; the 1/N enters once, in dz.
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
    transposed,
)
from nnscratch.lab.practice.observe import keep

NAMES = ("dz", "dW2", "db2", "da", "dh", "dW1", "db1")
PARAMETERS = ("dW2", "db2", "dW1", "db1")

TEMPLATE = template(
    "mlp-backward",
    "Write the backward pass of a two-layer MLP (linear, tanh, linear, cross-entropy) by\n"
    "hand: the gradient of the loss with respect to every intermediate and parameter.",
    "nnscratch explain --model mlp   (each .grad next to its formula)",
    '''
def mlp_backward(x, targets, W1, b1, W2, b2):
    """Return a dict with the gradients of the loss, each with its tensor's shape:
    "dz" (N, C), "dW2" (C, H), "db2" (C,), "da" (N, H), "dh" (N, H), "dW1" (H, D), "db1" (H,).

    The forward: h = x @ W1.T + b1; a = tanh(h); z = a @ W2.T + b2;
    loss = cross-entropy of z against the integer targets, the mean over the N rows.
    x (N, D), targets (N,). No autograd: derive each gradient from the one after it.
    """
    raise NotImplementedError
''',
    """    torch.manual_seed(0)
    x, t = torch.randn(6, 3), torch.tensor([0, 1, 2, 1, 0, 2])
    W1, b1, W2, b2 = torch.randn(5, 3), torch.randn(5), torch.randn(3, 5), torch.randn(3)
    grads = mlp_backward(x, t, W1, b1, W2, b2)
    print({k: tuple(v.shape) for k, v in grads.items()})
""",
)


def mlp_backward(x, targets, W1, b1, W2, b2):
    """The reference."""
    return backward_with(x, targets, W1, b1, W2, b2)


def backward_with(x, targets, W1, b1, W2, b2, tanh_of_h=False, skip_tanh=False):
    """The backward with its steps as arguments (the reference and its wrong variants)."""
    N = x.shape[0]
    h = x @ W1.T + b1  # (N, H)
    a = h.tanh()  # (N, H)
    z = a @ W2.T + b2  # (N, C)
    p = (z - z.max(1, keepdim=True).values).exp()
    p = p / p.sum(1, keepdim=True)  # softmax (N, C)
    p[torch.arange(N), targets] -= 1
    dz = p / N  # (N, C)
    da = dz @ W2  # (N, H)
    if skip_tanh:
        dh = da
    else:
        dh = da * (1 - (h if tanh_of_h else a) ** 2)  # tanh' = 1 − a²
    return {
        "dz": dz,
        "dW2": dz.T @ a,  # (C, H)
        "db2": dz.sum(0),  # (C,)
        "da": da,
        "dh": dh,
        "dW1": dh.T @ x,  # (H, D)
        "db1": dh.sum(0),  # (H,)
    }


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    N, D, H, C = params["N"], params["D"], params["H"], params["C"]
    x = torch.randn(N, D, generator=g, dtype=torch.float64)  # (N, D)
    targets = torch.randint(0, C, (N,), generator=g)  # (N,)
    W1 = torch.randn(H, D, generator=g, dtype=torch.float64) / D**0.5  # (H, D)
    b1 = torch.randn(H, generator=g, dtype=torch.float64)
    W2 = torch.randn(C, H, generator=g, dtype=torch.float64) / H**0.5  # (C, H)
    b2 = torch.randn(C, generator=g, dtype=torch.float64)
    grads = fns.mlp_backward(x, targets, W1, b1, W2, b2)
    for name in NAMES:
        seen[name] = keep(grads.get(name) if isinstance(grads, dict) else None)


def scaled(factor, names):
    def predict(ctx):
        return ctx.transformed(
            lambda q, v, p: v * (factor(p) if callable(factor) else factor) if q in names else v
        )

    return predict


def with_(**kwargs):
    return lambda ctx: ctx.variant(mlp_backward=lambda *a: backward_with(*a, **kwargs))


MISTAKES = (
    Mistake(
        "tanh-derivative-of-input",
        "mlp_backward",
        "dh used 1 − h² (the pre-activation): tanh'(h) = 1 − tanh(h)² = 1 − a², in terms of "
        "the output a.",
        "dh = da * (1 - a ** 2) with a = tanh(h).",
        predict=with_(tanh_of_h=True),
    ),
    Mistake(
        "skipped-activation",
        "mlp_backward",
        "dh equals da: the chain rule through tanh was skipped, as if the activation were the "
        "identity.",
        "multiply by tanh's local derivative: dh = da * (1 - a ** 2).",
        predict=with_(skip_tanh=True),
    ),
    Mistake(
        "transposed",
        "mlp_backward",
        "a weight gradient is transposed: aᵀ dz is (H, C), W₂ is (C, H); a gradient has its "
        "tensor's shape.",
        "dW2 = dz.T @ a and dW1 = dh.T @ x.",
        predict=lambda ctx: [
            transposed(names)(ctx) for names in (("dW1", "dW2"), ("dW2",), ("dW1",))
        ],
    ),
    Mistake(
        "divide-twice",
        "mlp_backward",
        "the parameter gradients are 1/N of the reference: dz already carries the 1/N of the "
        "mean, dividing again (or taking a mean over rows) counts it twice.",
        "sum over the rows for dW and db: dz.T @ a, dz.sum(0); see `nnscratch pitfalls "
        "divide-twice`.",
        predict=lambda ctx: [
            scaled(lambda p: 1 / p["N"], names)(ctx)
            for names in (PARAMETERS, ("db1", "db2"), NAMES)
        ],
    ),
    Mistake(
        "no-mean",
        "mlp_backward",
        "every gradient is N times the reference: the loss is the mean over the rows, so "
        "dz = (softmax − onehot) / N.",
        "divide dz by N once; the rest follows from it.",
        predict=scaled(lambda p: p["N"], NAMES),
    ),
)

EXERCISE = Exercise(
    name="mlp-backward",
    title="an MLP's backward, every intermediate",
    functions=("mlp_backward",),
    template=TEMPLATE,
    reference={"mlp_backward": mlp_backward},
    trials=(
        Trial("N=6, D=3, H=5, C=4", {"N": 6, "D": 3, "H": 5, "C": 4, "seed": 1}),
        Trial("N=9, D=4, H=7, C=3", {"N": 9, "D": 4, "H": 7, "C": 3, "seed": 2}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Go backwards one line of the forward at a time; each gradient has its tensor's shape.",
        "dz = (softmax(z) − onehot) / N; then a linear layer gives dW = dzᵀ·input, db = Σ "
        "rows, d(input) = dz·W.",
        "tanh's derivative is 1 − tanh², written with the tanh's output a.",
    ),
    see="nnscratch explain --model mlp",
)

ORDER = 70
