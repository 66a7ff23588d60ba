"""The pitfalls lab: broken variants of the five-step loop, each next to the correct one.

Each module is one mistake (found by itself: a module that defines ``PITFALL`` and ``ORDER``): its
docstring explains why it breaks and what the fix is, and its ``broken`` and ``correct`` functions
run the two versions, so ``nnscratch pitfalls NAME`` shows the real symptom captured at run time
(the exception PyTorch raises, or the numbers side by side).

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
    recursion_without_topological_sort   backward by recursion   a reused value's gradient is partial
"""

from __future__ import annotations

import importlib
import pkgutil

from nnscratch.lab.pitfalls.base import Outcome, Pitfall, Result, run


def _modules() -> list:
    """Every module here that defines ``PITFALL``, in ``ORDER`` (as verify finds its rows and the
    CLI its commands: a new pitfall is a new module, found by itself)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "PITFALL"):
            found.append(module)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


PITFALLS: dict[str, Pitfall] = {m.PITFALL.name: m.PITFALL for m in _modules()}

__all__ = ["PITFALLS", "Outcome", "Pitfall", "Result", "get", "run"]


def get(name: str) -> Pitfall:
    """The pitfall called ``name``; ``KeyError`` naming the known ones otherwise."""
    if name not in PITFALLS:
        raise KeyError(f"unknown pitfall {name!r}; choose one of: {', '.join(PITFALLS)}")
    return PITFALLS[name]
