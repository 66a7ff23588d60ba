"""∂L/∂ŷ of every loss, derived by hand.  Replaces the loss's ``grad_fn`` in ``loss.backward()``.

Each function takes the loss's own arguments (PyTorch's names and defaults, as in
`nnscratch.losses`) and returns ``(L, δ)``: the loss value, a 0-dim tensor, and δ = ∂L/∂ŷ, the
tensor that starts back-propagation, with the shape of ``input``. Both come from the same
intermediates, so the forward costs nothing extra.

With n = the number of elements averaged over (``reduction='mean'``) or n = 1 (``'sum'``), and
d = ŷ − y:

    mse_loss        L = Σ d² / n                      δ = 2·d / n
    l1_loss         L = Σ |d| / n                     δ = sign(d) / n        (0 at d = 0, as torch)
    huber_loss      L = Σ ℓ(d) / n                    δ = clamp(d, −δ_H, δ_H) / n
                    ℓ = ½d² if |d| < δ_H else δ_H·(|d| − ½δ_H)
    binary_cross_entropy_with_logits, x = ŷ, c = 1 + (pos_weight − 1)·y, w = weight:
                    ℓ = w·[(1 − y)·x − c·log σ(x)]    δ = w·[(1 − y) − c·σ(−x)] / n
                                                       (= (σ(x) − y) / n for w = c = 1)
    cross_entropy   per sample i, with a_ic = keepᵢ·w_c·((1 − ε)·[c = yᵢ] + ε/C)  (the smoothed,
                    weighted one-hot target) and p = softmax(x):
                    ℓᵢ = −Σ_c a_ic·log p_ic            δᵢ = ((Σ_c a_ic)·pᵢ − aᵢ) / n
                    n = Σᵢ keepᵢ·w[yᵢ] for 'mean'      (= (pᵢ − onehot(yᵢ)) / N in the plain case)

The cross-entropy line is the one worth deriving once: ∂(−log p_ic)/∂x_ik = p_ik − [c = k], so
∂ℓᵢ/∂x_ik = Σ_c a_ic·(p_ik − [c = k]) = (Σ_c a_ic)·p_ik − a_ik.

``reduction='none'`` has no single gradient (the loss is a vector) and is refused.
"""

from __future__ import annotations

import math

import torch

from nnscratch import functional
from nnscratch import losses as L

LossAndDelta = tuple[torch.Tensor, torch.Tensor]


def _scale(reduction: str, n: int | torch.Tensor) -> float | torch.Tensor:
    """1/n for 'mean', 1 for 'sum'."""
    L.check_reduction(reduction)
    if reduction == "none":
        raise ValueError(
            "the hand-derived backward needs a scalar loss: reduction must be 'mean' or 'sum', "
            "got 'none'"
        )
    if reduction == "sum":
        return 1.0
    if isinstance(n, int) and n == 0:
        return math.nan  # an empty batch: the mean is 0/0, as in PyTorch
    return 1.0 / n


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Σ ℓ / n over every element for 'mean' (one kernel: ``.mean()``), Σ ℓ for 'sum'."""
    return losses.mean() if reduction == "mean" else losses.sum()


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> LossAndDelta:
    """L = Σ (ŷ − y)² / n;   δ = 2·(ŷ − y) / n."""
    L.check_same_shape("mse_loss", input, target)
    s = _scale(reduction, input.numel())
    d = input - target  # (N, O)  ŷ − y
    loss = _reduce(d.square(), reduction)  # plain form: ((ŷ − y) ** 2).mean()
    return loss, d.mul_(2.0 * s)  # δ = 2·d/n, in place: d is ours


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> LossAndDelta:
    """L = Σ |ŷ − y| / n;   δ = sign(ŷ − y) / n."""
    L.check_same_shape("l1_loss", input, target)
    s = _scale(reduction, input.numel())
    d = input - target  # (N, O)
    return _reduce(d.abs(), reduction), d.sign_().mul_(s)


def huber_loss(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", delta: float = 1.0
) -> LossAndDelta:
    """ℓ = ½d² if |d| < δ_H else δ_H·(|d| − ½δ_H);   ∂ℓ/∂d = d if |d| < δ_H else δ_H·sign(d)."""
    L.check_huber_delta(delta)
    L.check_same_shape("huber_loss", input, target)
    s = _scale(reduction, input.numel())
    d = input - target  # (N, O)
    a = d.abs()
    quadratic = a < delta  # (N, O) bool
    losses = torch.where(quadratic, 0.5 * d * d, delta * (a - 0.5 * delta))
    grad = d.clamp_(-delta, delta)  # (N, O)  d inside ±δ_H, δ_H·sign(d) outside: both pieces
    return _reduce(losses, reduction), grad.mul_(s)


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    pos_weight: torch.Tensor | None = None,
) -> LossAndDelta:
    """ℓ = w·[(1 − y)·x − c·log σ(x)];   ∂ℓ/∂x = w·[(1 − y) − c·(1 − σ(x))],  1 − σ(x) = σ(−x)."""
    L.check_bce_args(input, target, weight, reduction, pos_weight)
    s = _scale(reduction, input.numel())
    x, y = input, target  # (N, O)
    c = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * y  # 1 + (p − 1)·y
    losses = (1.0 - y) * x - c * functional.logsigmoid(x)  # (N, O)
    delta = (1.0 - y) - c * functional.sigmoid(-x)  # (N, O)  ∂ℓ/∂x
    if weight is not None:
        losses, delta = losses * weight, delta * weight
    return _reduce(losses, reduction), delta.mul_(s)


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> LossAndDelta:
    """ℓᵢ = −Σ_c a_ic·log p_ic;   ∂ℓᵢ/∂xᵢ = (Σ_c a_ic)·pᵢ − aᵢ   (a: smoothed, weighted target).

    (N, C, d1, ..., dK) and (C,) logits are rows first (`nnscratch.losses.class_rows`), and δ is
    put back in the logits' layout. An all-ignored batch: L = 0/0 = NaN, δ = 0 (as PyTorch).
    """
    L.check_cross_entropy_args(input, target, weight, ignore_index, reduction, label_smoothing)
    x, target, _ = L.class_rows(input, target)  # (M, C), (M,) or (M, C)
    C = x.shape[1]  # classes
    eps = label_smoothing
    if target.is_floating_point():  # probabilities q: a = w·((1 − ε)·q + ε/C)
        a = target * (1.0 - eps) + eps / C  # (M, C)
        total = torch.tensor(float(x.shape[0]), dtype=x.dtype)  # 'mean' divides by the rows
    else:
        keep = (target != ignore_index).unsqueeze(1)  # (M, 1) bool
        t = torch.where(keep.squeeze(1), target, 0).unsqueeze(1)  # (M, 1) indices to gather
        a = torch.zeros_like(x).scatter_(1, t, 1.0 - eps).add_(eps / C)  # (1−ε)·1ₜ + ε/C
        a.mul_(keep)  # ignored samples: a row of zeros
        w_t = keep.to(x.dtype) if weight is None else weight[t] * keep  # (M, 1) keepᵢ·w[yᵢ]
        total = w_t.sum()  # 'mean': Σᵢ keepᵢ·w[yᵢ]  (M in the plain case)
    if weight is not None:
        a = a * weight  # (M, C) · (C,)
    s = _scale(reduction, total)  # 1/total for 'mean' (inf when every row is ignored), 1 for 'sum'
    log_p = functional.log_softmax(x, dim=1)  # (M, C)
    loss = -(a * log_p).sum() * s
    delta = a.sum(dim=1, keepdim=True) * log_p.exp() - a  # (M, C)  (Σ_c a_ic)·pᵢ − aᵢ
    if reduction == "mean" and total == 0:  # nothing kept: δ is 0 (0·∞ would be NaN)
        return torch.full_like(loss, math.nan), L.rows_to_input(delta.zero_(), input)
    return loss, L.rows_to_input(delta.mul_(s), input)


# The hand-derived version of each loss in nnscratch.losses, keyed by the function object.
DERIVED = {
    L.mse_loss: mse_loss,
    L.l1_loss: l1_loss,
    L.huber_loss: huber_loss,
    L.cross_entropy: cross_entropy,
    L.binary_cross_entropy_with_logits: binary_cross_entropy_with_logits,
}
