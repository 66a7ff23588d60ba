"""Gradient-norm clipping.  Replaces ``torch.nn.utils.clip_grad_norm_`` (and ``get_total_norm``).

All gradients are treated as one long vector g = (g₁, …, g_P) of every parameter's entries:

    ‖g‖_p = (Σ_k ‖g_k‖_p^p)^(1/p)                 the total norm, as the p-norm of the per-tensor
                                                  p-norms (p = ∞: the largest |entry|)
    c     = min(max_norm / (‖g‖_p + 1e-6), 1)      the clip coefficient; 1e-6 avoids 0/0
    g_k  ← c · g_k                                 in place, for every gradient

The direction of the step is kept; only its length is capped at about ``max_norm``. Convention
(as in PyTorch): the gradients are *always* multiplied by c, even when c = 1, and the total norm
returned is the one measured *before* clipping, so a logger sees how large the gradient really
was. A NaN or infinite total norm makes c NaN or 0 (then every gradient is NaN or 0): check the
returned norm (``error_if_nonfinite=True`` raises instead).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def get_total_norm(
    tensors: Iterable[torch.Tensor] | torch.Tensor,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> torch.Tensor:
    """‖g‖_p of ``tensors`` viewed as one vector (a 0-d tensor; ``tensor(0.)`` if there are none)."""
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return torch.tensor(0.0)
    device = tensors[0].device
    norms = [torch.linalg.vector_norm(t, norm_type).to(device) for t in tensors]  # P × ()
    total = torch.linalg.vector_norm(torch.stack(norms), norm_type)  # ()
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


@torch.no_grad()
def clip_grad_norm_(
    parameters: Iterable[torch.Tensor] | torch.Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> torch.Tensor:
    """Scale every ``p.grad`` in place so that the total norm is at most ~``max_norm``; return
    the total norm before clipping. Parameters without a gradient are skipped."""
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)  # ‖g‖_p, ()
    if not grads:
        return total_norm
    clip_coef = float(max_norm) / (total_norm + 1e-6)  # max_norm / (‖g‖ + 1e-6)
    clip_coef_clamped = torch.clamp(clip_coef, max=1.0)  # c = min(…, 1)
    for g in grads:
        g.mul_(clip_coef_clamped.to(g.device))  # g_k ← c · g_k
    return total_norm
