"""Pitfall: updating a parameter in place without ``torch.no_grad()``.

A parameter is a leaf that requires grad. ``w -= lr * w.grad`` outside ``no_grad`` asks autograd
to record an in-place change of that leaf as part of the graph, which would make ``w`` its own
ancestor; autograd refuses with a RuntimeError before anything changes.

Fix: wrap the update in ``with torch.no_grad():`` (what ``optimizer.step()`` does): the update is
then not recorded and ``w`` stays the same leaf tensor.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.problem import LR, params, problem, value
from nnscratch.losses import mse_loss


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    seen["w before"] = value(w)
    loss = mse_loss(X @ w.T + b, y)
    loss.backward()
    w -= LR * w.grad  # recorded by autograd: an in-place op on a leaf that requires grad
    seen["w after"] = value(w)


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    seen["w before"] = value(w)
    loss = mse_loss(X @ w.T + b, y)
    loss.backward()
    with torch.no_grad():  # the update is not part of the model: do not record it
        w -= LR * w.grad
        b -= LR * b.grad
    seen["w after"] = value(w)
    seen["w.is_leaf"] = w.is_leaf


ORDER = 20  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="update-without-no-grad",
    summary="updating parameters in place without torch.no_grad()",
    symptom="RuntimeError: a leaf Variable that requires grad is being used in an in-place operation",
    fix="put the update under `with torch.no_grad():`, as optimizer.step() does",
    broken=broken,
    correct=correct,
)
