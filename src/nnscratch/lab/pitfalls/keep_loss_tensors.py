"""Pitfall: keeping loss *tensors* in a list (``history.append(loss)``) for logging.

A loss tensor is the end of a graph; holding it holds every backward node behind it. In a
training loop ``backward()`` frees the activations the nodes saved, but the nodes themselves
(C++ objects, one per operation) live as long as the list: their number grows with every step,
and the memory with it, for as long as training runs. (Without a ``backward()``, e.g. for a
validation loss, the saved activations stay as well: see ``eval-with-grad``.)

Measured here exactly: `nnscratch.lab.pitfalls.memory.footprint` walks the graphs the history keeps
alive and counts their nodes. (Their saved activations are not counted: ``backward()`` already freed
them, so they would read 0 for both versions; what grows is the nodes, C++ objects whose bytes
Python cannot see.)

Fix: log a Python number, ``history.append(loss.item())`` (or ``loss.detach()``).
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.memory import footprint
from nnscratch.lab.pitfalls.problem import LR, params, problem
from nnscratch.losses import mse_loss

STEPS = 200
CHECKPOINTS = (1, 10, 100, 200)


def broken(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    history = []
    seen.update(step=[], graph_nodes_kept=[])
    for step in range(1, STEPS + 1):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        w.grad, b.grad = None, None
        history.append(loss)  # the tensor, and with it the graph behind it
        if step in CHECKPOINTS:
            kept = footprint(history)
            seen["step"].append(step)
            seen["graph_nodes_kept"].append(kept.nodes)


def correct(seen: Observed) -> None:
    X, y = problem()  # (N, 1), (N, 1)
    w, b = params()
    history = []
    seen.update(step=[], graph_nodes_kept=[])
    for step in range(1, STEPS + 1):
        loss = mse_loss(X @ w.T + b, y)
        loss.backward()
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        w.grad, b.grad = None, None
        history.append(loss.item())  # a float: the graph is freed when `loss` is rebound
        if step in CHECKPOINTS:
            kept = footprint([loss])  # only the current step's graph is alive
            seen["step"].append(step)
            seen["graph_nodes_kept"].append(kept.nodes)


ORDER = 70  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="keep-loss-tensors",
    summary="keeping loss tensors in a list: every step's graph stays alive",
    symptom="the number of live graph nodes grows with every step (constant with loss.item())",
    fix="store loss.item() (a float), or loss.detach()",
    broken=broken,
    correct=correct,
)
