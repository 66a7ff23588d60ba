"""Pitfall: predicting without ``model.eval()`` when the model has dropout or batch norm.

Two layers behave differently in training and in evaluation, and ``model.train()`` /
``model.eval()`` (the ``training`` flag of every module) is the switch:

    Dropout       training: zero each activation with probability p, scale the rest by 1/(1 − p)
                  eval:     the identity
    BatchNorm1d   training: normalise with the *batch's* mean and variance, and move the running
                            statistics toward them (momentum 0.1)
                  eval:     normalise with the running statistics, learned during training

Forget ``model.eval()`` before predicting and ``torch.no_grad()`` does not help (it only stops the
graph): the same inputs give different predictions on every call (a new dropout mask each time),
a sample's prediction depends on which other samples share its batch (batch statistics), and
every prediction call quietly moves the running statistics, changing the model itself.

Fix: ``model.eval()`` before evaluating or predicting (and ``model.train()`` before training
again); `nnscratch.run.evaluate` and ``nnscratch predict`` do it for you.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import problem
from nnscratch.layers import Activation, BatchNorm1d, Dropout, Linear, Sequential
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD

FEATURES, HIDDEN, STEPS, LR = 4, 32, 50, 0.05


def trained_model() -> tuple[Sequential, torch.Tensor]:
    """Linear → BatchNorm1d → ReLU → Dropout(0.5) → Linear, 50 SGD steps; and 8 test inputs."""
    X, y = problem(n_samples=64, features=FEATURES)  # (64, 4), (64, 1)
    torch.manual_seed(0)
    model = Sequential(
        Linear(FEATURES, HIDDEN), BatchNorm1d(HIDDEN), Activation("relu"), Dropout(0.5),
        Linear(HIDDEN, 1),
    )  # fmt: skip
    optimizer = SGD(model.parameters(), lr=LR)
    for _ in range(STEPS):
        mse_loss(model(X), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    return model, X[:8]  # (8, 4) inputs to predict


def predict_three_ways(model: Sequential, X_test: torch.Tensor, seen: Observed) -> None:
    running_before = model[1].running_mean.clone()  # (32,)
    with torch.no_grad():
        first, second = model(X_test), model(X_test)  # (8, 1) twice, the same inputs
        alone = model(X_test[:2])[0]  # sample 0 predicted with one other sample, not seven
    seen["sample 0: 1st call"] = round(first[0, 0].item(), 4)
    seen["sample 0: 2nd call"] = round(second[0, 0].item(), 4)
    seen["sample 0: in a batch of 2"] = round(alone.item(), 4)
    seen["max |1st − 2nd| over 8 samples"] = (first - second).abs().max().item()
    moved = (model[1].running_mean - running_before).abs().max().item()
    seen["running_mean moved by predicting"] = moved


def broken(seen: Observed) -> None:
    model, X_test = trained_model()
    predict_three_ways(model, X_test, seen)  # still in training mode


def correct(seen: Observed) -> None:
    model, X_test = trained_model()
    model.eval()  # dropout off, batch norm on its running statistics
    predict_three_ways(model, X_test, seen)


ORDER = 90  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="forget-eval",
    summary="predicting without model.eval(): dropout and batch norm stay in training mode",
    symptom="the same inputs predict differently on each call; the running statistics move",
    fix="call model.eval() before evaluating or predicting (model.train() to train again)",
    broken=broken,
    correct=correct,
)
