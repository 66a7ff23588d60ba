"""The loss a run should start from, checked before its first step (CS231n: "look for the
correct loss at chance performance").

A freshly initialised network's outputs are small (PyTorch's init gives each output a variance
of about 1/3 on standardised inputs), so it starts close to the model that predicts 0:

    expected = loss_fn(0, y)      cross-entropy: ln C (all C classes equally likely)
                                  BCE with logits: ln 2
                                  MSE: mean(y²) = mean(y)² + var(y), from the target's moments
                                  (only the features are standardised: diabetes' target runs
                                  25–346, so ~3×10⁴ is its healthy start)

Far off means ``loss > 2·expected + 1``: the 1 allows for the fresh outputs' own variance on a
target near 0; far more than that is an initialisation too large (the model is confidently
wrong) — ``--init-gain`` smaller, or a last layer initialised small.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from nnscratch.module import Module

ROWS = 1024  # the first rows of the training part are enough for a mean


def threshold(expected: float) -> float:
    return 2 * expected + 1


@torch.no_grad()
def check(
    model: Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: Any,
    y: torch.Tensor,
    loss_name: str,
) -> dict[str, Any]:
    """``{"loss", "expected", "threshold", "why", "far"}`` for the model as it is now, on the
    first `ROWS` rows; in eval mode (no dropout mask drawn, no running statistic moved), so the
    run's numbers do not change."""
    was_training = model.training
    model.eval()
    try:
        out = model(X[:ROWS])  # (n, out) or (n, T, V)
    finally:
        model.train(was_training)
    target = y[:ROWS]
    loss = loss_fn(out, target).item()
    expected = loss_fn(torch.zeros_like(out), target).item()
    return {
        "loss": loss,
        "expected": expected,
        "threshold": threshold(expected),
        "why": why(loss_name, out, expected),
        "far": not loss <= threshold(expected),  # NaN is far too
    }


def why(loss_name: str, out: torch.Tensor, expected: float) -> str:
    """Where the expected value comes from, e.g. 'ln 10 for 10 classes'."""
    if loss_name == "cross_entropy":
        return f"ln {out.shape[-1]} for {out.shape[-1]} classes"
    if loss_name == "bce_with_logits":
        return "ln 2 for 2 classes"
    return {
        "mse": "mean(y²), the loss of predicting 0",
        "l1": "mean|y|, the loss of predicting 0",
        "huber": "huber(0, y), the loss of predicting 0",
    }.get(loss_name, "the loss of predicting 0")


def line(result: dict[str, Any]) -> str:
    """'initial loss 2.31 (expected ≈ 2.30 = ln 10 for 10 classes)'."""
    return (
        f"initial loss {_num(result['loss'])} "
        f"(expected ≈ {_num(result['expected'])} = {result['why']})"
    )


def warning(result: dict[str, Any]) -> str:
    return (
        f"{line(result)} is far off (above {_num(result['threshold'])}): the initial weights "
        "are too large; try a smaller --init-gain"
    )


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2f}" if 0.01 <= abs(x) < 1000 else f"{x:.3g}"
