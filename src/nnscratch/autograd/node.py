"""One recorded operation.  ``Node`` replaces a ``grad_fn`` (``MulBackward0``, ...).

A node remembers, for the one tensor an operation produced:

    name       the operation ('mul', 'addmm', 'conv2d', ...): ``grad_fn.name()``
    inputs     the inputs that need a gradient (None for the others), in argument order:
               ``grad_fn.next_functions``. A leaf is kept itself (backward fills its
               ``.grad``); an intermediate result as a handle, its ``grad_fn`` without its
               numbers (``data`` None): the graph does not hold the forward's values
    vjp        g ↦ (∂L/∂input for each input): the operation's chain rule, a closure over what
               the forward kept (``ctx.save_for_backward``); formulas in `nnscratch.backprop`
    shape      the output's shape, for drawing the graph

A backward pass *releases* each node after using it (the saved tensors go, the structure stays),
so a second backward through it fails with an error that names the fix, as PyTorch's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from nnscratch.autograd.tensor import Tensor

Grads = tuple["torch.Tensor | None", ...]
VJP = Callable[[torch.Tensor], Grads]

SECOND_BACKWARD = (
    "trying to backward through the graph a second time (or to read saved tensors after "
    "they were freed): the first backward freed them. Pass retain_graph=True to the first "
    ".backward() if you need to backward twice, or recompute the forward."
)


class Node:
    """One recorded operation, a ``grad_fn``: its name, inputs, vjp and output shape."""

    __slots__ = ("name", "inputs", "vjp", "shape")

    def __init__(
        self, name: str, inputs: tuple[Tensor | None, ...], vjp: VJP, shape: torch.Size
    ) -> None:
        self.name, self.inputs, self.vjp, self.shape = name, inputs, vjp, shape

    def apply(self, g: torch.Tensor) -> Grads:
        """∂L/∂(each input) from g = ∂L/∂(this node's output)."""
        if self.vjp is None:
            raise RuntimeError(SECOND_BACKWARD)
        from nnscratch.autograd.pieces import dense

        return tuple(dense(gx) for gx in self.vjp(g))  # a narrow's slice as a tensor

    def release(self) -> None:
        """Drop what the forward kept (the closure); the graph's structure stays."""
        self.vjp = None

    def __repr__(self) -> str:
        return f"<{self.name} {tuple(self.shape)}>"
