"""Evaluation metrics, hand-written.  Replaces ``sklearn.metrics`` (``mean_squared_error``,
``r2_score``, ``accuracy_score``, ``log_loss``); PyTorch itself has none of them.

    mse       = (1/n) Σ (y − ŷ)²                      over all n elements, no ½ (as nn.MSELoss)
    r2_score  = 1 − Σ (y − ŷ)² / Σ (y − ȳ)²           per output column, then averaged
    accuracy  = (1/N) Σ [ŷ_i = y_i]
    log_loss  = −(1/N) Σ_i log p_i[y_i]               p clipped to [eps, 1 − eps]

Where conventions differ:

* Argument order is sklearn's ``(y_true, y_pred)``, the reverse of PyTorch's losses
  ``(input, target)``. Both are symmetric for `mse`; for the others the order matters.
* `r2_score` of a constant target (Σ (y − ȳ)² = 0) is 1.0 if the predictions are exact, else 0.0
  (sklearn's ``force_finite=True``) instead of NaN or −inf.
* `accuracy` takes class indices (N,) or scores (N, C), logits or probabilities alike: a score
  matrix is reduced with ``argmax`` over classes, which is the same for both.
* `log_loss` takes **probabilities** (N, C) whose rows sum to 1, like sklearn; for a model's logits
  pass ``logits.softmax(dim=1)``. A 1-D ``y_proba`` is the probability of class 1 (binary). As in
  sklearn, p is clipped to [eps, 1 − eps] (eps of its dtype) so a confident mistake costs a large
  finite amount instead of ∞.

All return Python floats: they report on a model, nothing is back-propagated through them.
"""

from __future__ import annotations

import torch


def _pair(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both as (N, K): (N,) and (N, 1) are the same single-output target."""
    if y_true.shape[0] != y_pred.shape[0] or y_true.numel() != y_pred.numel():
        raise ValueError(
            f"y_true has shape {tuple(y_true.shape)} but y_pred {tuple(y_pred.shape)}; "
            "they must hold the same number of values per row"
        )
    n = y_true.shape[0]
    return y_true.detach().reshape(n, -1), y_pred.detach().reshape(n, -1)  # (N, K), (N, K)


def mse(y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
    """Mean squared error (``mean_squared_error``)."""
    y, y_hat = _pair(y_true, y_pred)  # (N, K)
    return ((y - y_hat) ** 2).mean().item()


def r2_score(y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
    """Coefficient of determination, averaged uniformly over output columns (``r2_score``)."""
    y, y_hat = _pair(y_true, y_pred)  # (N, K)
    if y.shape[0] < 2:
        raise ValueError("r2_score needs at least 2 samples")
    ss_res = ((y - y_hat) ** 2).sum(dim=0)  # (K,)
    ss_tot = ((y - y.mean(dim=0)) ** 2).sum(dim=0)  # (K,)
    r2 = 1 - ss_res / torch.where(ss_tot == 0, torch.ones_like(ss_tot), ss_tot)  # (K,)
    r2 = torch.where(ss_tot == 0, (ss_res == 0).to(r2.dtype), r2)  # constant target: 1 or 0
    return r2.mean().item()


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
    """Fraction of correct predictions (``accuracy_score``); ``y_pred`` indices (N,) or scores (N, C)."""
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(dim=1)  # (N,)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {tuple(y_true.shape)} but the predicted classes "
            f"{tuple(y_pred.shape)}; give class indices (N,) or scores (N, C)"
        )
    return (y_true == y_pred).double().mean().item()


def log_loss(y_true: torch.Tensor, y_proba: torch.Tensor) -> float:
    """Mean negative log-likelihood of the true class (``log_loss``); ``y_proba`` (N, C) or (N,)."""
    p = y_proba.detach()
    if p.ndim == 1:
        p = torch.stack([1 - p, p], dim=1)  # (N, 2): binary, p was P(class 1)
    if p.ndim != 2 or y_true.shape != (p.shape[0],):
        raise ValueError(
            f"expected y_true (N,) class indices and y_proba (N, C), got "
            f"{tuple(y_true.shape)} and {tuple(y_proba.shape)}"
        )
    eps = torch.finfo(p.dtype).eps
    p = p.clamp(eps, 1 - eps)  # (N, C)
    p_true = p.gather(1, y_true.long().reshape(-1, 1)).squeeze(1)  # (N,) p_i[y_i]
    return (-p_true.log()).mean().item()
