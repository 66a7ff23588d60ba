"""The backward pass: the recorded graph walked in reverse topological order.  Replaces the
engine behind ``loss.backward()`` (``torch.autograd.backward``).

    order = topological_sort(loss)        every node after all the nodes that use its output
    grad[loss] = 1
    for node in reversed(order):          the loss's node first
        g = grad.pop(node)                ∂L/∂(node's output): *complete* by now
        for x, gx in zip(node.inputs, node.vjp(g)):
            a leaf:     x.grad += gx      (AccumulateGrad)
            otherwise:  grad[x's node] += gx

Why the order matters: a value used twice (h in y = f(h) + g(h)) receives two contributions,
and its own node may pass ∂L/∂h on only once both have arrived. Plain recursion from the loss
("call backward on each input right away") sends h's node the first contribution alone and
gets the gradients below h wrong (the `recursion_without_topological_sort` pitfall). A
topological sort guarantees that every consumer of h comes before h.

Both the sort and the walk are loops with explicit stacks, not recursion: a chain of 100,000
operations is as fine as a chain of 10. The pieces of a split add up as slices
(`nnscratch.autograd.pieces`), made one tensor when their node pops them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from nnscratch.autograd.node import SECOND_BACKWARD, Node
from nnscratch.autograd.pieces import Pieces, dense, plus

if TYPE_CHECKING:
    from nnscratch.autograd.tensor import Tensor

Visit = Callable[[Node, torch.Tensor], None]


def topological_sort(root: Node) -> list[Node]:
    """Every node reachable from ``root``, each after all of its inputs' nodes (depth first,
    post-order, with an explicit stack of (node, its inputs not yet visited))."""
    order: list[Node] = []
    seen = {root}  # nodes hash by identity
    stack = [(root, iter(root.inputs))]
    while stack:
        node, inputs = stack[-1]
        for x in inputs:
            child = None if x is None else x.grad_fn
            if child is not None and child not in seen:
                seen.add(child)
                stack.append((child, iter(child.inputs)))
                break  # the child first; this node's remaining inputs wait on the stack
        else:
            stack.pop()
            order.append(node)  # all of its inputs are already in
    return order


def backward(
    root: Tensor,
    gradient: torch.Tensor | None = None,
    retain_graph: bool = False,
    visit: Visit | None = None,
) -> None:
    """Fill ``.grad`` of every leaf that ``root`` depends on (``root.backward(gradient)``).

    ``visit(node, g)``, if given, sees each node with its incoming gradient, in the order the
    walk reaches them (`nnscratch explain --backward engine` prints them).
    """
    if gradient is None:
        if root.data.numel() != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, got shape "
                f"{tuple(root.shape)}; pass a gradient of that shape to backward()"
            )
        gradient = torch.ones_like(root.data)
    if not root.requires_grad:
        raise RuntimeError(
            "this tensor does not require grad and has no grad_fn: nothing to differentiate "
            "(was it computed under no_grad(), or from tensors without requires_grad=True?)"
        )
    if root.grad_fn is None:
        _accumulate([(root, gradient)])
        return
    grads: dict[Node, torch.Tensor] = {root.grad_fn: gradient}  # ∂L/∂(each node's output)
    leaves: dict[int, tuple[Tensor, torch.Tensor]] = {}  # summed here, into .grad at the end
    for node in reversed(topological_sort(root.grad_fn)):
        g = grads.pop(node, None)
        if type(g) is Pieces:  # a split's pieces, all in by now: one tensor
            g = g.dense()
        vjp = node.vjp  # (Node.apply and Node.release, inlined: this loop runs once per node)
        if not retain_graph:
            node.vjp = None
        if g is None:  # no path from the root carries a gradient here
            continue
        if vjp is None:
            raise RuntimeError(SECOND_BACKWARD)
        if visit is not None:
            visit(node, g)
        for x, gx in zip(node.inputs, vjp(g), strict=True):
            if x is None or gx is None:
                continue
            fn = x.grad_fn
            if fn is None:
                previous = leaves.get(id(x))
                leaves[id(x)] = (x, gx if previous is None else plus(previous[1], gx))
            else:
                previous = grads.get(fn)
                grads[fn] = gx if previous is None else plus(previous, gx)  # used twice
    _accumulate([(leaf, dense(g)) for leaf, g in leaves.values()])


def _accumulate(pairs: list[tuple[Tensor, torch.Tensor]]) -> None:
    """AccumulateGrad: ``leaf.grad = g`` the first time (a contiguous tensor of its own), then
    ``leaf.grad += g`` in place (the same tensor object, as in PyTorch)."""
    given: set[int] = set()
    for leaf, g in pairs:
        if leaf.grad is not None:
            leaf.grad.add_(g)
            continue
        if not g.is_contiguous():
            g = g.contiguous()
        elif g._base is not None or id(g) in given:  # a view, or another leaf's gradient
            g = g.clone()
        given.add(id(g))
        leaf.grad = g
