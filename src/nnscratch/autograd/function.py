"""Recording one operation: the output tensor and, when a gradient is needed, its `Node`.

Every op of `nnscratch.autograd.ops` computes its result on plain tensors (``.data``) and calls

    record(name, data, inputs, vjp)

which wraps ``data`` in a `Tensor` and, if recording is on (`mode`) and some input requires a
gradient, gives it a ``grad_fn``: a `Node` holding the inputs and ``vjp``, the closure that turns
∂L/∂output into ∂L/∂(each input) (``torch.autograd.Function``'s ``forward`` / ``backward`` pair,
with the closure's variables as ``ctx.save_for_backward``).
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.mode import _enabled
from nnscratch.autograd.node import VJP, Node
from nnscratch.autograd.tensor import Tensor


def unwrap(x: Any) -> Any:
    """The plain tensor inside a `Tensor`; anything else as it is."""
    return x.data if type(x) is Tensor else x


def needs(x: Any) -> bool:
    """Whether ``x`` is a `Tensor` a gradient must reach."""
    return type(x) is Tensor and x.requires_grad


def recording(*inputs: Any) -> bool:
    """Whether an op on ``inputs`` records a node (so its forward must keep what vjp needs)."""
    return _enabled[0] and any(needs(x) for x in inputs)


def record(name: str, data: torch.Tensor, inputs: tuple[Any, ...], vjp: VJP) -> Tensor:
    """``data`` as a `Tensor`, with a ``grad_fn`` named ``name`` if any input needs a gradient.

    (This runs once per operation: one loop over the inputs, no helper calls.)"""
    out = _new(Tensor)
    out.data, out.grad, out.requires_grad, out.grad_fn = data, None, False, None
    if not _enabled[0]:
        return out
    kept, any_kept = [], False
    for x in inputs:
        if type(x) is Tensor and x.requires_grad:
            any_kept = True
            kept.append(x if x.grad_fn is None else _handle(x.grad_fn))  # see `_edge`
        else:
            kept.append(None)
    if any_kept:
        out.requires_grad = True
        out.grad_fn = Node(name, tuple(kept), vjp, data.shape)
    return out


def _edge(x: Tensor) -> Tensor:
    """What a node keeps of an input that needs a gradient: a leaf itself (its ``.grad`` is
    filled), an intermediate result as a handle to its ``grad_fn`` *without its numbers*. The
    numbers a vjp needs, its closure keeps; the others are freed as soon as the forward is done
    with them, as autograd's ``next_functions`` keep nodes, not tensors."""
    if x.grad_fn is None:
        return x
    return Tensor.handle(x.grad_fn)


_new = object.__new__
_handle = Tensor.handle
