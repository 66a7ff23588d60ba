"""Evaluation: the loss and the task's metrics on one split, without building a graph.

Regression: ``loss``, ``mse`` and ``r2``.  Classification: ``loss`` (the log-loss: cross-entropy
of the predicted probabilities) and ``accuracy``; for a language model, per character (logits
(N, T, V) against next characters (N, T)). The model runs in eval mode (dropout off, batch norm
on its running statistics, as ``model.eval()``) and goes back to the mode it was in. Mapped rows (`nnscratch.data.mapped`) go
through the model block by block; only the outputs (N, out) are held at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.data.dataset import Dataset
from nnscratch.data.rows import apply
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
    was_training = model.training
    model.eval()
    try:
        if data.X.dtype == torch.int64:  # token windows: 256 at a time bounds the memory
            out = torch.cat([model(xb) for xb in data.X.split(256)])  # (N, T, V)
        else:
            out = apply(model, data.X)  # (N, out)
    finally:
        model.train(was_training)
    if data.task == "regression":
        return {
            "loss": loss_fn(out, data.y).item(),
            "mse": metrics.mse(data.y, out),
            "r2": metrics.r2_score(data.y, out),
        }
    target = data.y.to(dtype).view(-1, 1) if loss_name == "bce_with_logits" else data.y
    loss = loss_fn(out, target).item()
    y = data.y
    if out.ndim == 3:  # every position is a classification of the next character
        out, y = out.flatten(0, 1), y.flatten()  # (N·T, V), (N·T,)
    return {
        "loss": loss,
        "accuracy": metrics.accuracy(y, predict_classes(out)),
    }
