"""A minimal module container.  Replaces ``torch.nn.Module`` (and ``nn.Parameter``).

A *parameter* here is nothing but a leaf tensor with ``requires_grad=True``: that is all
``nn.Parameter`` adds to a tensor (plus automatic registration). A `Module` finds its parameters by
walking its attributes in the order they were assigned, which is the order ``nn.Module`` registers
them in, so ``named_parameters()`` and ``state_dict()`` keys match PyTorch's (``"0.weight"``,
``"0.bias"``, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


def parameter(data: torch.Tensor) -> torch.Tensor:
    """Make ``data`` a trainable leaf tensor (``nn.Parameter(data)``): detached, ``requires_grad=True``."""
    return data.detach().requires_grad_(True)


class Module:
    """Base class: subclasses assign parameters and sub-modules as attributes and define ``forward``."""

    training: bool = True

    def forward(self, *args: Any) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any) -> torch.Tensor:
        return self.forward(*args)

    # -- traversal --------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield str(i), item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, tensor)`` for every parameter, depth first, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor) and value.requires_grad:
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield from item.named_parameters(f"{prefix}{i}.")

    def parameters(self) -> Iterator[torch.Tensor]:
        for _, p in self.named_parameters():
            yield p

    def modules(self) -> Iterator[Module]:
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    # -- gradients and mode -----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (``nn.Module.zero_grad``): ``None``, or zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Name → detached tensor (sharing storage with the parameter, as in PyTorch)."""
        return {name: p.detach() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Copy values in place (parameters stay the same leaf tensors)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        with torch.no_grad():
            for name, p in own.items():
                if name not in state_dict:
                    continue
                value = state_dict[name]
                if value.shape != p.shape:
                    raise RuntimeError(
                        f"size mismatch for {name}: checkpoint has {tuple(value.shape)}, "
                        f"model has {tuple(p.shape)}"
                    )
                p.copy_(value)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Module:
        """Move/cast parameters in place of the attributes, keeping them leaves."""
        for m in self.modules():
            for name, value in list(vars(m).items()):
                if isinstance(value, torch.Tensor) and value.requires_grad:
                    setattr(m, name, parameter(value.to(device=device, dtype=dtype)))
        return self

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n}: {tuple(p.shape)}" for n, p in self.named_parameters())
        return f"{type(self).__name__}({shapes})"
