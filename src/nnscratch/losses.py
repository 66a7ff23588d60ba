"""Loss functions written by hand.  Replace ``torch.nn.functional`` losses / ``nn.*Loss``.

    mse_loss                           ≙ F.mse_loss / nn.MSELoss
    l1_loss                            ≙ F.l1_loss / nn.L1Loss
    huber_loss                         ≙ F.huber_loss / nn.HuberLoss
    cross_entropy                      ≙ F.cross_entropy / nn.CrossEntropyLoss
    binary_cross_entropy_with_logits   ≙ F.binary_cross_entropy_with_logits / nn.BCEWithLogitsLoss

``reduction`` means what it means in PyTorch:
    'none' → the per-element losses, 'sum' → their sum, 'mean' → their mean (the default).
"Mean over what" differs between losses, exactly as in PyTorch: the regression losses and BCE
average over *every element* (N·F of them, not N); cross-entropy averages over the *samples*, and
with a class ``weight`` it divides by Σᵢ w[yᵢ], not by N.

Arguments keep PyTorch's names and order, minus the deprecated ``size_average``/``reduce``.

Convention note: some texts define MSE with a ½ in front (so that its derivative has no 2).
PyTorch's ``nn.MSELoss`` has no ½, and neither has this one: ∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ)/N.
"""

from __future__ import annotations

import torch

from nnscratch.functional import log_softmax, logsigmoid

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    """``reduction`` is 'none', 'mean' or 'sum', else ValueError."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    check_reduction(reduction)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def check_same_shape(name: str, input: torch.Tensor, target: torch.Tensor) -> None:
    """The loss ``name``'s input and target have one shape, else ValueError."""
    # PyTorch only warns here and broadcasts (N, 1) against (N,) into an (N, N) loss: a classic
    # silent bug. nnscratch refuses instead.
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {tuple(input.shape)} differs from target shape "
            f"{tuple(target.shape)}; reshape the target (e.g. y.view(-1, 1)) so they match"
        )


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error, the seed's ``((y_pred - y_true) ** 2).mean()``.  ≙ ``F.mse_loss``.

        L = reduce((ŷ − y)²)            'mean': Σ(ŷ − y)²/N over all N elements;  'sum': Σ(ŷ − y)²

    Written exactly in that plain form, so ``loss.backward()`` differentiates what you read here:
    autograd builds Mean ← Pow ← Sub and gives ∂L/∂ŷ = 2·(ŷ − y)/N ('mean'), 2·(ŷ − y) ('sum').
    That gradient, derived by hand, is `nnscratch.backprop.losses.mse_loss`. A fused form is the
    ``compile=True`` option of `nnscratch.fit` (``--compile``): ``torch.compile`` fuses these three
    nodes into one kernel (docs/benchmarks.md, 1M×1).

    Args:
        input: predictions ŷ, any shape.
        target: y, the same shape as ``input`` (no broadcasting: (N, 1) against (N,) is refused).
        reduction: 'none' | 'mean' | 'sum' (default 'mean').

    Example:
        >>> y_pred = torch.tensor([[1.0], [3.0]])
        >>> mse_loss(y_pred, torch.tensor([[0.0], [1.0]]))  # ((1² + 2²) / 2)
        tensor(2.5000)
    """
    check_same_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error.  ≙ ``F.l1_loss``.

    L = reduce(|ŷ − y|);   ∂|d|/∂d = sign(d), 0 at d = 0 (PyTorch's choice at the kink).

    Args:
        input: predictions ŷ, any shape.
        target: y, the same shape as ``input``.
        reduction: 'none' | 'mean' | 'sum' (default 'mean').

    Example:
        >>> l1_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]))  # (1 + 2) / 2
        tensor(1.5000)
    """
    check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def check_huber_delta(delta: float) -> None:
    """``delta`` = δ > 0, else ValueError (shared with `nnscratch.backprop.losses`)."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")


def huber_loss(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", delta: float = 1.0
) -> torch.Tensor:
    """Huber loss: quadratic near 0, linear beyond ``delta``.  ≙ ``F.huber_loss``.

    With d = ŷ − y:
        ℓ = ½·d²               if |d| < δ
        ℓ = δ·(|d| − ½·δ)      otherwise        (the two pieces meet with equal slope at |d| = δ)
    L = reduce(ℓ)

    Convention note: ``F.smooth_l1_loss(beta=β)`` is the same curve divided by β,
    smooth_l1 = huber / β: its linear part has slope 1 instead of δ. They agree only at δ = β = 1.

    Args:
        input: predictions ŷ, any shape.
        target: y, the same shape as ``input``.
        reduction: 'none' | 'mean' | 'sum' (default 'mean').
        delta: δ, where the quadratic piece turns linear (default 1.0, > 0).

    Example:
        >>> huber_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]))  # (0.125 + 2.5) / 2
        tensor(1.3125)
    """
    check_huber_delta(delta)
    check_same_shape("huber_loss", input, target)
    d = input - target
    a = d.abs()
    quadratic = 0.5 * d * d
    linear = delta * (a - 0.5 * delta)
    return _reduce(torch.where(a < delta, quadratic, linear), reduction)


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Softmax cross-entropy on logits.  ≙ ``F.cross_entropy``.

    input: logits (N, C), (N, C, d1, ..., dK) (classes in dimension 1, as PyTorch reads them) or
    unbatched (C,);  target: class indices (N,) / (N, d1, ..., dK) / () int64, or class
    probabilities of ``input``'s shape (soft labels, floats);  weight: per-class (C,) or None.
    Every position i of the batch (and of d1..dK) is one row: with log pᵢ = log_softmax(xᵢ),
    ε = ``label_smoothing``, w = ``weight`` and the target distribution qᵢ (onehot(yᵢ), or the
    given probabilities) smoothed to q̃ᵢ = (1 − ε)·qᵢ + ε/C:
        ℓᵢ = −Σ_c w[c]·q̃ᵢc·log pᵢc
           = (1 − ε)·w[yᵢ]·(−log pᵢ[yᵢ]) + (ε/C)·Σ_c w[c]·(−log pᵢ[c])     (class indices)
        'none' → (ℓᵢ) in the target's shape,  'sum' → Σᵢ ℓᵢ,
        'mean' → Σᵢ ℓᵢ / Σᵢ w[yᵢ] for class indices (= mean over rows when w = 1),
                 Σᵢ ℓᵢ / (number of rows) for probabilities (PyTorch's convention)
    Rows with yᵢ = ``ignore_index`` contribute 0 and are left out of Σᵢ w[yᵢ]; if *every* row is
    ignored, 'mean' is 0/0 = NaN, as in PyTorch, but no gradient flows (∂L/∂x = 0, not NaN: the
    ignored rows are left out of the sum, not multiplied by 0).

    Convention notes: PyTorch's smoothing spreads ε over *all* C classes, the true one included
    (the true class gets 1 − ε + ε/C); some texts spread it over the C − 1 wrong classes only.
    The loss takes *logits*, not probabilities: never apply softmax before it.

    Args:
        input: logits (N, C), (N, C, d1, ..., dK) or (C,).
        target: class indices (int64, in 0..C−1 or ``ignore_index``) of shape (N,),
            (N, d1, ..., dK) or (); or probabilities (float) of ``input``'s shape.
        weight: per-class weights (C,) (default None: all 1).
        ignore_index: a class-index target that contributes nothing (default −100).
        reduction: 'none' | 'mean' | 'sum' (default 'mean').
        label_smoothing: ε in [0, 1] (default 0).

    Example:
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> cross_entropy(logits, torch.tensor([0, 1]))  # −log(e²/(e² + 1)) for both
        tensor(0.1269)
    """
    check_cross_entropy_args(input, target, weight, ignore_index, reduction, label_smoothing)
    x, t, shape = class_rows(input, target)  # (M, C), (M,) or (M, C), the shape of 'none'
    n_classes = x.shape[1]
    if weight is None:
        weight = torch.ones(n_classes, dtype=x.dtype, device=x.device)  # (C,)
    log_p = log_softmax(x, dim=1)  # (M, C)
    if t.is_floating_point():  # probabilities: ℓᵢ = −Σ_c w[c]·q̃ᵢc·log pᵢc
        q = (1.0 - label_smoothing) * t + label_smoothing / n_classes  # (M, C) q̃
        losses = -(log_p * q * weight).sum(dim=1)  # (M,)
        if reduction == "none":
            return losses.reshape(shape)
        return losses.sum() / x.shape[0] if reduction == "mean" else losses.sum()
    keep = t != ignore_index  # (M,) bool
    safe_target = torch.where(keep, t, 0)  # (M,) an index gather can use
    w_target = weight[safe_target] * keep  # (M,) w[yᵢ], 0 where ignored
    nll = -log_p.gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (M,)  −log pᵢ[yᵢ]
    losses = (1.0 - label_smoothing) * w_target * nll  # (M,)
    if label_smoothing:  # without smoothing no such term at all: a class at −∞ gave 0·∞ = NaN
        smooth = -(log_p * weight).sum(dim=1)  # (M,)  Σ_c w[c]·(−log pᵢ[c])
        losses = losses + (label_smoothing / n_classes) * smooth * keep  # (M,)
    if reduction == "none":
        return losses.reshape(shape)
    # only the rows not ignored (K,): no gradient reaches the others, not even 0·∞ = NaN
    kept = losses if bool(keep.all()) else losses[keep]
    if reduction == "mean":
        return kept.sum() / w_target.sum()
    return kept.sum()


def class_rows(
    input: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    """``input`` logits and ``target`` as rows: (M, C) logits, (M,) indices or (M, C)
    probabilities, and the shape 'none' returns, from (N, C, d1, ..., dK) / (N, C) / (C,) logits
    (classes in dim 1).

    (N, C, d1, ..., dK) → (N·d1·…·dK, C): the class dimension moved last, every other position a
    row. The same move undoes it for a gradient (`rows_to_input`).
    """
    if input.dim() == 1:  # unbatched (C,): one row
        return input.unsqueeze(0), target.unsqueeze(0), ()
    if input.dim() == 2:  # (N, C): already rows
        return input, target, (input.shape[0],)
    n_classes = input.shape[1]
    x = input.movedim(1, -1).reshape(-1, n_classes)  # (M, C)
    if target.is_floating_point():
        t = target.movedim(1, -1).reshape(-1, n_classes)  # (M, C)
    else:
        t = target.reshape(-1)  # (M,)
    return x, t, (input.shape[0], *input.shape[2:])


def rows_to_input(rows: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """(M, C) ``rows`` back to ``input``'s layout (the inverse of `class_rows` for the logits)."""
    if input.dim() == 1:
        return rows.squeeze(0)
    moved = (input.shape[0], *input.shape[2:], input.shape[1])  # (N, d1, ..., dK, C)
    return rows.reshape(moved).movedim(-1, 1)


def check_cross_entropy_args(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> None:
    """``input``, ``target``, ``weight``, ``ignore_index``, ``reduction`` and ``label_smoothing``
    as `cross_entropy` accepts them (as PyTorch does), else ValueError (shared with the
    hand-derived backward, `nnscratch.backprop.losses`)."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.dim() == 0:
        raise ValueError("cross_entropy expects logits (N, C, ...) or (C,), got a 0-dim tensor")
    n_classes = input.shape[0] if input.dim() == 1 else input.shape[1]
    if target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: a float target is read as class probabilities and must have the "
                f"logits' shape {tuple(input.shape)}, got {tuple(target.shape)}; class indices "
                "must be int64 (use target.long())"
            )
    else:
        expected = () if input.dim() == 1 else (input.shape[0], *input.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(
                f"cross_entropy expects logits (N, C, d1, ...) and class indices (N, d1, ...), "
                f"got {tuple(input.shape)} and {tuple(target.shape)}"
            )
        if target.dtype != torch.int64:
            raise ValueError(
                f"cross_entropy: target must hold int64 class indices or float probabilities, "
                f"got {target.dtype}; use target.long()"
            )
        bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
        if bad.any():
            raise ValueError(
                f"cross_entropy: class index {target[bad].flatten()[0].item()} is out of range for "
                f"{n_classes} classes (valid: 0..{n_classes - 1}, or ignore_index={ignore_index})"
            )
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(
            f"cross_entropy: weight must have shape (C,) = ({n_classes},), "
            f"got {tuple(weight.shape)}"
        )


def broadcasts_to(shape: torch.Size, target_shape: torch.Size) -> bool:
    """Whether ``shape`` broadcasts to exactly ``target_shape``."""
    try:
        return torch.broadcast_shapes(shape, target_shape) == target_shape
    except RuntimeError:
        return False


def check_bce_args(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    reduction: str,
    pos_weight: torch.Tensor | None,
) -> None:
    """``input``, ``target``, ``weight``, ``reduction`` and ``pos_weight`` as
    `binary_cross_entropy_with_logits` accepts them, else ValueError (shared with the hand-derived
    backward, `nnscratch.backprop.losses`)."""
    check_reduction(reduction)
    check_same_shape("binary_cross_entropy_with_logits", input, target)
    for name, t in (("weight", weight), ("pos_weight", pos_weight)):
        if t is not None and not broadcasts_to(t.shape, input.shape):
            raise ValueError(
                f"binary_cross_entropy_with_logits: {name} of shape {tuple(t.shape)} does not "
                f"broadcast to the input shape {tuple(input.shape)}"
            )


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sigmoid + binary cross-entropy in one stable step.  ≙ ``F.binary_cross_entropy_with_logits``.

    input: logits x;  target: y ∈ [0, 1], same shape;  pos_weight p: broadcast over the last
    dimension (one per class), multiplies the positive term;  weight w: broadcast per element.
        ℓ = −w·[p·y·log σ(x) + (1 − y)·log(1 − σ(x))]
          = w·[(1 − y)·x − (1 + (p − 1)·y)·log σ(x)]        since log(1 − σ(x)) = log σ(x) − x
    log σ comes from `nnscratch.functional.logsigmoid`, finite even for x = ±1000; the naive
    log(sigmoid(x)) gives log(0) = −inf there. 'mean' averages over every element (not Σ w).

    Args:
        input: logits x, any shape.
        target: y ∈ [0, 1], the same shape as ``input``.
        weight: w, broadcast to ``input`` (default None: 1).
        reduction: 'none' | 'mean' | 'sum' (default 'mean').
        pos_weight: p, weight of the positive term, broadcast over the last dimension (default
            None: 1).

    Example:
        >>> binary_cross_entropy_with_logits(torch.tensor([0.0]), torch.tensor([1.0]))  # log 2
        tensor(0.6931)
    """
    check_bce_args(input, target, weight, reduction, pos_weight)
    log_sig = logsigmoid(input)
    coef = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * target  # 1 + (p − 1)·y
    losses = (1.0 - target) * input - coef * log_sig
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


LOSSES = {
    "mse": mse_loss,
    "l1": l1_loss,
    "huber": huber_loss,
    "cross_entropy": cross_entropy,
    "bce_with_logits": binary_cross_entropy_with_logits,
}
