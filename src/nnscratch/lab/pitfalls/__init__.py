"""The pitfalls lab: broken variants of the five-step loop, each next to the correct one.

Each module is one mistake: its docstring explains why it breaks and what the fix is, and its
``broken`` and ``correct`` functions run the two versions, so ``nnscratch pitfalls NAME`` shows
the real symptom captured at run time (the exception PyTorch raises, or the numbers side by side).

    no_zero_grad                forgetting optimizer.zero_grad()     gradients accumulate
    update_without_no_grad      p -= lr * p.grad outside no_grad     RuntimeError (in-place on leaf)
    rebind_parameter            w = w - lr * w.grad                  w not a leaf, .grad None
    requires_grad_before_init   randn(..., requires_grad=True) * k   non-leaf parameter
    backward_in_no_grad         loss built under no_grad             RuntimeError (no grad_fn)
    divide_twice                mean loss and update divided by N    effective lr / N
    keep_loss_tensors           history.append(loss)                 graph nodes pile up
    eval_with_grad              evaluation outside no_grad           activations kept
    forget_eval                 predicting without model.eval()      dropout/batch norm still on
    causal_mask_off_by_one      triu(diagonal=2) for the mask        sees the future: nonsense samples
"""

from __future__ import annotations

from nnscratch.lab.pitfalls import (
    backward_in_no_grad,
    causal_mask_off_by_one,
    divide_twice,
    eval_with_grad,
    forget_eval,
    keep_loss_tensors,
    no_zero_grad,
    rebind_parameter,
    requires_grad_before_init,
    update_without_no_grad,
)
from nnscratch.lab.pitfalls.base import Outcome, Pitfall, Result, run

PITFALLS: dict[str, Pitfall] = {
    m.PITFALL.name: m.PITFALL
    for m in (
        no_zero_grad,
        update_without_no_grad,
        rebind_parameter,
        requires_grad_before_init,
        backward_in_no_grad,
        divide_twice,
        keep_loss_tensors,
        eval_with_grad,
        forget_eval,
        causal_mask_off_by_one,
    )
}

__all__ = ["PITFALLS", "Outcome", "Pitfall", "Result", "get", "run"]


def get(name: str) -> Pitfall:
    """The pitfall called ``name``; ``KeyError`` naming the known ones otherwise."""
    if name not in PITFALLS:
        raise KeyError(f"unknown pitfall {name!r}; choose one of: {', '.join(PITFALLS)}")
    return PITFALLS[name]
