"""Walk ``loss.grad_fn.next_functions`` into a plain graph of nodes and edges.

The graph autograd builds while the forward pass runs, for ``loss = mse_loss(x @ w.T + b, y)``:

    MeanBackward0 → PowBackward0 → SubBackward0 → AddmmBackward0 ─┬→ PermuteBackward0 → w
                                                                  └→ AccumulateGrad(b)
    (w: AccumulateGrad(w))

(``mse_loss`` is the seed's plain ``((ŷ - y) ** 2).mean()``: Mean ← Pow ← Sub, every node one of
autograd's own; `Linear` computes ``x @ w.T + b`` as one fused ``addmm``.)

Edges point the way gradients flow in ``backward()``: from a node to the nodes of its inputs.
Inputs that need no gradient (the data ``x``, the target ``y``) appear in ``next_functions`` as
``(None, 0)`` and are not part of the graph. A node reached along two paths (a parameter used
twice) is one node with two incoming edges: autograd sums the two gradients into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import torch

GradFn = torch.autograd.graph.Node


@dataclass
class Node:
    id: int  # position in discovery order; 0 is the root (the loss's grad_fn)
    op: str  # grad_fn class name: 'MmBackward0', ..., 'AccumulateGrad' for a leaf
    name: str | None = None  # leaf only: its name in model.named_parameters(), or 'leaf'
    tensor: torch.Tensor | None = None  # leaf only: the parameter itself (value and .grad)

    @property
    def is_leaf(self) -> bool:
        return self.tensor is not None


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[int, int]] = field(default_factory=list)  # (node, input node) pairs
    loss: float | None = None  # the scalar at the root, if it was a scalar

    def children(self, node_id: int) -> list[int]:
        return [b for a, b in self.edges if a == node_id]

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes if n.is_leaf]


def iter_grad_fns(roots: Iterable[GradFn | None]) -> Iterator[GradFn]:
    """Every backward node reachable from ``roots``, each once, depth first."""
    seen: set[int] = set()
    stack = [r for r in roots if r is not None][::-1]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        yield fn
        stack.extend(f for f, _ in reversed(fn.next_functions) if f is not None)


def build_graph(
    loss: torch.Tensor, named_parameters: Iterable[tuple[str, torch.Tensor]] = ()
) -> Graph:
    """The autograd graph behind ``loss``; leaves named after ``named_parameters``.

    Works before and after ``loss.backward()``: backward frees the tensors the nodes saved, not
    the nodes and their ``next_functions``.
    """
    if loss.grad_fn is None:
        raise ValueError(
            "loss has no grad_fn: it was computed under torch.no_grad() or from tensors that "
            "do not require grad, so there is no graph to draw"
        )
    names = {id(p): name for name, p in named_parameters}
    ids: dict[int, int] = {}
    graph = Graph(nodes=[], loss=loss.item() if loss.numel() == 1 else None)

    def visit(fn: GradFn) -> int:
        if id(fn) in ids:
            return ids[id(fn)]
        node = Node(id=len(graph.nodes), op=type(fn).__name__)  # fn.name() adds a C++ namespace
        variable = getattr(fn, "variable", None)  # set on AccumulateGrad only
        if isinstance(variable, torch.Tensor):
            node.tensor = variable
            node.name = names.get(id(variable), "leaf")
        ids[id(fn)] = node.id
        graph.nodes.append(node)
        for child, _ in fn.next_functions:
            if child is not None:  # None: an input that needs no gradient (data, target)
                graph.edges.append((node.id, visit(child)))
        return node.id

    visit(loss.grad_fn)
    graph.edges.sort(key=lambda edge: edge[0])  # stable: keeps next_functions order per node
    return graph
