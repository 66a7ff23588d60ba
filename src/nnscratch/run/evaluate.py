"""Evaluation: the loss and the task's metrics on one split, without building a graph.

Regression: ``loss``, ``mse`` and ``r2``.  Classification: ``loss`` (the log-loss: cross-entropy
of the predicted probabilities) and ``accuracy``. Mapped rows (`nnscratch.data.mapped`) go
through the model block by block; only the outputs (N, out) are held at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.data.dataset import Dataset
from nnscratch.data.mapped import apply
from nnscratch.module import Module
from nnscratch.run import metrics


def predict_classes(logits: torch.Tensor) -> torch.Tensor:
    """(N, 1) binary logit → 1 where > 0; (N, C) logits → argmax."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).long()  # (N,)
    return logits.argmax(dim=1)  # (N,)


@torch.no_grad()
def evaluate(
    model: Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: Dataset,
    loss_name: str,
    dtype: torch.dtype,
) -> dict[str, Any]:
    out = apply(model, data.X)  # (N, out)
    if data.task == "regression":
        return {
            "loss": loss_fn(out, data.y).item(),
            "mse": metrics.mse(data.y, out),
            "r2": metrics.r2_score(data.y, out),
        }
    target = data.y.to(dtype).view(-1, 1) if loss_name == "bce_with_logits" else data.y
    return {
        "loss": loss_fn(out, target).item(),
        "accuracy": metrics.accuracy(data.y, predict_classes(out)),
    }
