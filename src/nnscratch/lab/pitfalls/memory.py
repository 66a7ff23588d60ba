"""Measure what an autograd graph keeps alive: its nodes and the tensors they saved.

Each backward node saves what its derivative needs (``MmBackward0`` saves both factors,
``ReluBackward0`` its output, ``PowBackward0`` its input) as ``_saved_*`` attributes. They stay
in memory as long as anything references the graph, e.g. a loss *tensor* kept in a list, and are
freed by ``backward()`` (reading them afterwards raises). The nodes themselves stay until the last
reference to the graph's output goes.

`footprint` counts both, exactly, by walking the graphs: nodes (each a C++ object), and the bytes
of distinct saved storages that are *not* leaves (data and parameters are alive anyway; what the
graph adds is the activations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from nnscratch.lab.graph.walk import GradFn, iter_grad_fns


@dataclass
class Footprint:
    nodes: int  # backward nodes reachable (alive because something references the graph)
    saved_bytes: int  # bytes of activations the nodes saved and still hold


def _saved_tensors(fn: GradFn) -> list[torch.Tensor]:
    out = []
    for attr in dir(fn):
        if not attr.startswith("_saved_"):
            continue
        try:
            value = getattr(fn, attr)
        except (
            RuntimeError
        ):  # freed by backward(): "Trying to backward through the graph a second time"
            continue
        items = value if isinstance(value, (tuple, list)) else [value]
        out += [t for t in items if isinstance(t, torch.Tensor)]
    return out


def footprint(tensors: Iterable[torch.Tensor]) -> Footprint:
    """What the graphs behind ``tensors`` hold in memory (zero for tensors without a graph)."""
    fns = list(iter_grad_fns(t.grad_fn for t in tensors if isinstance(t, torch.Tensor)))
    leaf_storages = {
        fn.variable.untyped_storage().data_ptr() for fn in fns if hasattr(fn, "variable")
    }
    storages: dict[int, int] = {}
    for fn in fns:
        for t in _saved_tensors(fn):
            s = t.untyped_storage()
            if t.is_leaf:
                leaf_storages.add(s.data_ptr())
            else:
                storages[s.data_ptr()] = s.nbytes()
    saved = sum(n for ptr, n in storages.items() if ptr not in leaf_storages)
    return Footprint(nodes=len(fns), saved_bytes=saved)
