"""Pitfall: back-propagating by recursion, without a topological sort.

A backward pass that recurses from the loss, each node passing on its gradient as soon as it is
reached (and, so as not to run twice, only the first time), looks right and is right on a chain.
It is wrong as soon as a non-leaf value is used twice. With h = 3x and y = h·h + h:

    ∂y/∂h = 2h + 1          two contributions: 2h through h·h, 1 through "+ h"
    ∂y/∂x = (2h + 1)·3      = 39 at x = 2 (h = 6)

The recursion reaches h's node first through the first operand of h·h, holding only what has
arrived so far (h = 6); it passes 6·3 = 18 on to x and is marked done. The other contributions
(6 from the second operand of h·h, 1 from "+ h") arrive after h has passed its gradient on: they
are lost, and ∂y/∂x comes out 18 instead of 39. Without the "only once" guard the node runs again
at each arrival and passes the earlier contributions on again: counted twice. micrograd's issues
#21, #64, #67, #68, #91 and #96 ask exactly this.

Fix: visit the nodes in reverse topological order (every consumer of h before h), so that a
node's gradient is complete before it is passed on: what ``loss.backward()`` does, and
`nnscratch.autograd.graph` (``topological_sort``, then one pass).
"""

from __future__ import annotations

import torch

from nnscratch.autograd import Node, Tensor
from nnscratch.lab.pitfalls.base import Observed, Pitfall

X0 = 2.0


def _graph() -> tuple[Tensor, Tensor]:
    x = Tensor(torch.tensor(X0, dtype=torch.float64), requires_grad=True)
    h = x * 3.0  # a non-leaf value...
    y = h * h + h  # ...used twice (three times, counting both operands of h·h)
    return x, y


def broken(seen: Observed) -> None:
    x, y = _graph()
    grads = {id(y.grad_fn): torch.tensor(1.0, dtype=torch.float64)}  # ∂y/∂(node's output)
    done: set[int] = set()

    def visit(node: Node) -> None:  # recursion, no topological sort
        if id(node) in done:
            return
        done.add(id(node))
        passed = node.apply(grads[id(node)])  # what it holds *now*, perhaps not all of it
        for inp, g in zip(node.inputs, passed, strict=True):
            if inp is None:
                continue
            if inp.grad_fn is None:  # a leaf
                inp.grad = g if inp.grad is None else inp.grad + g
            else:
                key = id(inp.grad_fn)
                grads[key] = grads[key] + g if key in grads else g
                visit(inp.grad_fn)

    visit(y.grad_fn)
    seen.update(x=X0, grad_x=x.grad.item(), expected=(2 * 3 * X0 + 1) * 3)


def correct(seen: Observed) -> None:
    x, y = _graph()
    y.backward()  # reverse topological order: h's gradient is complete before it moves on
    xt = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    ht = xt * 3.0
    (ht * ht + ht).backward()  # torch.autograd, the oracle
    seen.update(x=X0, grad_x=x.grad.item(), expected=xt.grad.item())


ORDER = 100  # its place in the list (`nnscratch pitfalls`)
PITFALL = Pitfall(
    name="recursion-without-topological-sort",
    summary="backward by recursion from the loss: a value used twice passes on a partial gradient",
    symptom="no error; ∂y/∂x is 18 instead of 39 for y = h·h + h, h = 3x, x = 2",
    fix="walk the nodes in reverse topological order (loss.backward() does; so does "
    "nnscratch.autograd): a node passes its gradient on only once it is complete",
    broken=broken,
    correct=correct,
)
