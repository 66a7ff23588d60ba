"""Pitfall: evaluating without ``torch.no_grad()``.

Outside ``no_grad`` every forward pass builds a graph, and each node saves what its derivative
would need: the inputs of each matrix product, each ReLU's output. An evaluation pass never calls
``backward()``, so nothing frees them: as long as the result is referenced (a validation loss kept
for a report, predictions kept for a plot) the activations of the whole pass stay in memory, one
set per evaluation. Measured exactly with `nnscratch.lab.pitfalls.memory.footprint`.

Fix: ``with torch.no_grad():`` around evaluation (no graph is built: no saved activations, and
faster), and keep ``.item()`` of the metrics.
"""

from __future__ import annotations

import torch

from nnscratch.lab.pitfalls.base import Observed, Pitfall
from nnscratch.lab.pitfalls.memory import footprint
from nnscratch.lab.pitfalls.problem import problem
from nnscratch.layers import Linear
from nnscratch.losses import mse_loss

FEATURES, HIDDEN, N_VAL, EVALS = 4, 32, 256, 5


def broken(seen: Observed) -> None:
    X_val, y_val = problem(n_samples=N_VAL, features=FEATURES)  # (256, 4), (256, 1)
    torch.manual_seed(0)
    layer1, layer2 = Linear(FEATURES, HIDDEN), Linear(HIDDEN, 1)
    val_losses = []
    seen.update(evaluation=[], graph_nodes_kept=[], saved_bytes_kept=[])
    for i in range(1, EVALS + 1):
        h = torch.relu(layer1(X_val))  # (256, 32): saved by the graph
        val_losses.append(mse_loss(layer2(h), y_val))  # a tensor with a graph behind it
        kept = footprint(val_losses)
        seen["evaluation"].append(i)
        seen["graph_nodes_kept"].append(kept.nodes)
        seen["saved_bytes_kept"].append(kept.saved_bytes)
    seen["val_loss.requires_grad"] = val_losses[-1].requires_grad


def correct(seen: Observed) -> None:
    X_val, y_val = problem(n_samples=N_VAL, features=FEATURES)  # (256, 4), (256, 1)
    torch.manual_seed(0)
    layer1, layer2 = Linear(FEATURES, HIDDEN), Linear(HIDDEN, 1)
    val_losses = []
    seen.update(evaluation=[], graph_nodes_kept=[], saved_bytes_kept=[])
    for i in range(1, EVALS + 1):
        with torch.no_grad():  # no graph: nothing is saved
            h = torch.relu(layer1(X_val))  # (256, 32), freed after the pass
            val_losses.append(mse_loss(layer2(h), y_val))  # (.item() is tidier still)
        kept = footprint(val_losses)
        seen["evaluation"].append(i)
        seen["graph_nodes_kept"].append(kept.nodes)
        seen["saved_bytes_kept"].append(kept.saved_bytes)
    seen["val_loss.requires_grad"] = val_losses[-1].requires_grad


ORDER = 80  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="eval-with-grad",
    summary="evaluating without torch.no_grad(): each pass keeps its graph and activations",
    symptom="saved activation bytes grow with every evaluation; zero under no_grad",
    fix="wrap evaluation in `with torch.no_grad():` and keep metrics as .item()",
    broken=broken,
    correct=correct,
)
