"""A model's ``loss.backward()`` on the engine: the same model classes, parameters wrapped.

    loss = loss_and_grads(model, loss_fn, X, y)     ≙   loss = loss_fn(model(X), y)
                                                         loss.backward()

For the step, every parameter attribute of every module is replaced by an engine leaf
`Tensor` sharing its memory (`engine_parameters`), so the layers' own ``forward`` (``torch.addmm``,
``torch.conv2d``, ``torch.layer_norm``...) records the engine's graph through
``Tensor.__torch_function__``; then the attributes are put back, the engine's backward runs, and
each leaf's gradient goes into the real parameter's ``.grad`` as autograd's AccumulateGrad puts
it there. The optimizers and the loop see torch tensors with ``.grad``, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from nnscratch.autograd.graph import Visit, backward
from nnscratch.autograd.tensor import Tensor
from nnscratch.module import Module

LossFn = Callable[..., "torch.Tensor | Tensor"]
Pairs = list[tuple[torch.Tensor, Tensor]]
_PLAIN = {int, float, bool, str, type(None)}


@contextmanager
def engine_parameters(model: Module) -> Iterator[Pairs]:
    """Inside: each parameter (a tensor attribute with ``requires_grad``) is an engine leaf
    sharing its memory; a parameter used by two modules (tied weights) is one leaf. Yields the
    (parameter, leaf) pairs; the attributes are restored on the way out, also on an error."""
    leaves: dict[int, Tensor] = {}
    pairs: Pairs = []
    swapped: list[tuple[dict, str, torch.Tensor]] = []
    try:
        stack = [model]  # every module, depth first (a flat walk: this runs once per step)
        while stack:
            module = stack.pop()
            attributes = vars(module)  # written directly: a Module has no __setattr__
            for name, value in list(attributes.items()):
                kind = type(value)
                if kind in _PLAIN:  # most attributes: sizes, flags, names
                    continue
                if kind is torch.Tensor or isinstance(value, torch.Tensor):
                    if value.requires_grad:
                        leaf = leaves.get(id(value))
                        if leaf is None:
                            leaf = leaves[id(value)] = _leaf(value)
                            pairs.append((value, leaf))
                        swapped.append((attributes, name, value))
                        attributes[name] = leaf
                elif isinstance(value, Module):
                    stack.append(value)
                elif kind is list or kind is tuple:
                    for item in value:  # a Sequential's layers; mostly sizes such as (3, 3)
                        if isinstance(item, Module):
                            stack.append(item)
        yield pairs
    finally:
        for attributes, name, value in swapped:
            attributes[name] = value


def _leaf(p: torch.Tensor) -> Tensor:
    """``Tensor(p.detach(), requires_grad=True)`` without the checks (p is a parameter)."""
    leaf = Tensor.wrap(p.detach())
    leaf.requires_grad = True
    return leaf


def forward_and_loss(
    model: Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
) -> tuple[Tensor, Pairs]:
    """The recorded graph of ``loss_fn(model(X), y)`` and the (parameter, leaf) pairs."""
    with engine_parameters(model) as pairs:
        loss = loss_fn(model(X), y)
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise ValueError(
            "the loss does not depend on any parameter through the engine's operations; "
            "check that the model has parameters with requires_grad=True"
        )
    return loss, pairs


def loss_and_grads(
    model: Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    visit: Visit | None = None,
) -> torch.Tensor:
    """``loss_fn(model(X), y)`` as a 0-dim tensor, with every ``p.grad`` filled by the engine.

    Equal to ``loss = loss_fn(model(X), y); loss.backward(); return loss.detach()``.
    ``visit(node, g)`` sees each node and its incoming gradient during the walk.
    """
    loss, pairs = forward_and_loss(model, loss_fn, X, y)
    backward(loss, visit=visit)
    write_grads(pairs)
    return loss.data


def write_grads(pairs: Pairs) -> None:
    """Each leaf's gradient into its parameter's ``.grad``, as AccumulateGrad would: set when it
    is None, else added in place (``p.grad`` stays the same tensor)."""
    for p, leaf in pairs:
        if leaf.grad is None:
            continue
        if p.grad is None:
            p.grad = leaf.grad
        else:
            p.grad.add_(leaf.grad)
