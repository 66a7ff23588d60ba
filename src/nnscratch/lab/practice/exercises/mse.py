"""Exercise ``mse``: the mean squared error by hand (``nn.MSELoss()``, reduction='mean').

    L = (1/M) Σ (ŷ − y)²        over all M elements, after y is shaped like ŷ

A model's prediction is (N, 1) while a target column read from data is often (N,): ``ŷ − y``
then broadcasts to (N, N), every prediction against every target, and the mean of that is a
number, silently wrong. (``nn.MSELoss`` warns about exactly this.)
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template, variant
from nnscratch.lab.practice.observe import keep

TEMPLATE = template(
    "mse",
    "Write the mean squared error between a prediction and a target, as nn.MSELoss()\n"
    "computes it, for a target that may come as (N,) when the prediction is (N, 1).",
    "nnscratch explain   (the loss line)",
    '''
def mse_loss(pred, y):
    """Return the mean over all elements of (pred - y) ** 2, a 0-dim tensor.

    pred is the model's output, (N, 1) or (N, O); y has the same number of elements, as
    (N,) or pred's own shape: compare each prediction with its own target.
    """
    raise NotImplementedError
''',
    """    pred = torch.tensor([[1.0], [2.0], [3.0]])  # (N, 1)
    y = torch.tensor([1.5, 2.0, 2.0])  # (N,)
    print(mse_loss(pred, y))  # (0.25 + 0 + 1) / 3 = 0.4167
""",
)


def mse_loss(pred, y):
    """The reference."""
    return ((pred - y.reshape(pred.shape)) ** 2).mean()  # y as (N, 1): no broadcasting


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    pred = torch.randn(*params["pred"], generator=g, dtype=torch.float64)
    y = torch.randn(*params["y"], generator=g, dtype=torch.float64)
    seen["loss"] = keep(fns.mse_loss(pred, y))


MISTAKES = (
    Mistake(
        "broadcast-n-by-n",
        "mse_loss",
        "pred (N, 1) minus y (N,) broadcasts to (N, N): every prediction against every target, "
        "and its mean is a wrong number with no error raised.",
        "shape y like pred first: y.reshape(pred.shape) (or y.view(-1, 1)).",
        predict=variant(mse_loss=lambda pred, y: ((pred - y) ** 2).mean()),
    ),
    Mistake(
        "half-mse",
        "mse_loss",
        "half the reference: the ½·mean((ŷ−y)²) convention of some textbooks; nn.MSELoss has no ½.",
        "drop the ½.",
        predict=variant(mse_loss=lambda pred, y: 0.5 * mse_loss(pred, y)),
    ),
    Mistake(
        "sum-not-mean",
        "mse_loss",
        "the sum of the squared errors, not their mean (reduction='sum' instead of 'mean').",
        "divide by the number of elements: .mean().",
        predict=variant(mse_loss=lambda pred, y: mse_loss(pred, y) * pred.numel()),
    ),
    Mistake(
        "root-mse",
        "mse_loss",
        "the square root of the reference: that is the RMSE, not the MSE.",
        "leave out the square root.",
        predict=variant(mse_loss=lambda pred, y: mse_loss(pred, y).sqrt()),
    ),
    Mistake(
        "square-of-mean",
        "mse_loss",
        "the square of the mean difference: the errors were averaged before squaring, so "
        "positive and negative errors cancel.",
        "square each difference first, then take the mean.",
        predict=variant(mse_loss=lambda pred, y: (pred - y.reshape(pred.shape)).mean() ** 2),
    ),
)

EXERCISE = Exercise(
    name="mse",
    title="the mean squared error, shapes and all",
    functions=("mse_loss",),
    template=TEMPLATE,
    reference={"mse_loss": mse_loss},
    trials=(
        Trial("pred (8, 1), y (8,)", {"pred": (8, 1), "y": (8,), "seed": 1}),
        Trial("pred (5, 1), y (5, 1)", {"pred": (5, 1), "y": (5, 1), "seed": 2}),
        Trial("pred (6, 3), y (6, 3)", {"pred": (6, 3), "y": (6, 3), "seed": 3}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "Print the shape of pred - y for pred (N, 1) and y (N,): is it what you meant?",
        "Square each difference, then average over all of them.",
    ),
    see="nnscratch explain",
)

ORDER = 30
