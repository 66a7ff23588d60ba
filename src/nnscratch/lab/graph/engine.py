"""The graph `nnscratch.autograd` recorded, as the same `Graph` the renderers draw.

    build_engine_graph(loss, pairs, named_parameters) -> Graph

Each node is one recorded *operation* (``matmul``, ``addmm``, ``conv2d``, ``layer_norm``...,
never a layer) with its output's shape and its place in the order ``backward()`` visits the
nodes (1 = first: the loss's node); the leaves are the real parameters, so after a backward
their gradients show. The walk is the engine's own: `Node.inputs`, a `Tensor` without a
``grad_fn`` being a leaf.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from nnscratch.autograd import Tensor, topological_sort
from nnscratch.lab.graph.walk import Graph, Node


def build_engine_graph(
    loss: Tensor,
    pairs: Iterable[tuple[torch.Tensor, Tensor]] = (),
    named_parameters: Iterable[tuple[str, torch.Tensor]] = (),
) -> Graph:
    """``loss``'s recorded graph; ``pairs`` maps each engine leaf to its real parameter (whose
    name comes from ``named_parameters`` and whose ``.grad`` a backward filled)."""
    if loss.grad_fn is None:
        raise ValueError("loss has no grad_fn: nothing was recorded (no_grad, or no parameters)")
    visits = {id(n): i + 1 for i, n in enumerate(reversed(topological_sort(loss.grad_fn)))}
    real = {id(leaf): p for p, leaf in pairs}
    names = {id(p): name for name, p in named_parameters}
    ids: dict[int, int] = {}
    graph = Graph(nodes=[], loss=loss.item() if loss.numel() == 1 else None)
    stack: list[tuple[int | None, Tensor]] = [(None, loss)]
    while stack:  # depth first from the loss, inputs in argument order; no recursion
        parent, t = stack.pop()
        key = id(t.grad_fn) if t.grad_fn is not None else id(t)
        if key not in ids:
            ids[key] = len(graph.nodes)
            if t.grad_fn is not None:
                n = t.grad_fn
                op = f"{n.name} {tuple(n.shape)}  · backward #{visits[id(n)]}"
                graph.nodes.append(Node(id=ids[key], op=op))
                stack.extend((ids[key], x) for x in reversed(n.inputs) if x is not None)
            else:
                p = real.get(id(t), t.data)
                leaf = Node(id=ids[key], op="leaf", name=names.get(id(p), "leaf"), tensor=p)
                if p is t.data and t.grad is not None:
                    leaf.tensor = t.data.clone()
                    leaf.tensor.grad = t.grad  # a leaf of one's own: show its .grad
                graph.nodes.append(leaf)
        if parent is not None:
            graph.edges.append((parent, ids[key]))
    graph.edges.sort(key=lambda edge: edge[0])
    return graph
