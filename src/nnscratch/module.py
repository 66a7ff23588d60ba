"""A minimal module container.  Replaces ``torch.nn.Module`` (and ``nn.Parameter``).

A *parameter* here is nothing but a leaf tensor with ``requires_grad=True``: that is all
``nn.Parameter`` adds to a tensor (plus automatic registration). A `Module` finds its parameters by
walking its attributes in the order they were assigned, which is the order ``nn.Module`` registers
them in, so ``named_parameters()`` and ``state_dict()`` keys match PyTorch's (``"0.weight"``,
``"0.bias"``, ...).

A *buffer* is state that is saved with the model but not trained: BatchNorm's ``running_mean``,
``running_var`` and ``num_batches_tracked``. ``register_buffer(name, tensor)`` sets the attribute
and records the name, as in PyTorch; ``state_dict()`` lists each module's parameters, then its
buffers, then its children's, which is PyTorch's key order.

A *forward hook* (``register_forward_hook(hook)``, as in PyTorch) is called as
``hook(module, args, output)`` after each ``forward``; a non-None return replaces the output. The
returned handle's ``remove()`` takes it off. `nnscratch.health` reads activations this way.
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
    _buffer_names: tuple[str, ...] = ()
    _forward_hooks: tuple[Any, ...] = ()  # per instance once a hook is registered

    def register_buffer(self, name: str, tensor: torch.Tensor | None) -> None:
        """Keep ``tensor`` as ``self.<name>``, saved in ``state_dict()`` but not a parameter."""
        assert tensor is None or not tensor.requires_grad, f"buffer {name} must not require grad"
        setattr(self, name, tensor)
        if name not in self._buffer_names:
            self._buffer_names = (*self._buffer_names, name)

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        if not args and "input" in kwargs:  # layer(input=x), as nn.Module's forward(input) allows
            args = (kwargs.pop("input"),)
        output = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:  # none: the common case costs one attribute read
            result = hook(self, args, output)
            output = output if result is None else result
        return output

    def register_forward_hook(self, hook: Any) -> HookHandle:
        """Call ``hook(module, args, output)`` after every ``forward`` (``nn.Module``'s method)."""
        self._forward_hooks = (*self._forward_hooks, hook)
        return HookHandle(self, hook)

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

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, tensor)`` for every buffer that is not None, depth first."""
        for name in self._buffer_names:
            value = getattr(self, name)
            if value is not None:
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def buffers(self) -> Iterator[torch.Tensor]:
        for _, b in self.named_buffers():
            yield b

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
        """Name → detached tensor (sharing storage with the parameter, as in PyTorch).

        Per module: its own parameters, its own buffers, then each child's (PyTorch's order).
        """
        return {name: t.detach() for name, t in self._named_state("")}

    def _named_state(self, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor) and value.requires_grad:
                yield prefix + name, value
        for name in self._buffer_names:
            if getattr(self, name) is not None:
                yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child._named_state(prefix + name + ".")

    def load_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Copy values in place (parameters stay the same leaf tensors)."""
        own = dict(self._named_state(""))
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
        """Move/cast parameters in place of the attributes, keeping them leaves.

        Buffers move too; ``dtype`` casts only floating-point ones (``num_batches_tracked`` stays
        an integer), as in PyTorch.
        """
        for m in self.modules():
            for name, value in list(vars(m).items()):
                if isinstance(value, torch.Tensor) and value.requires_grad:
                    setattr(m, name, parameter(value.to(device=device, dtype=dtype)))
            for name in m._buffer_names:
                value = getattr(m, name)
                if value is not None:
                    cast = dtype if value.is_floating_point() else None
                    setattr(m, name, value.to(device=device, dtype=cast))
        return self

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n}: {tuple(p.shape)}" for n, p in self.named_parameters())
        return f"{type(self).__name__}({shapes})"


class HookHandle:
    """What `Module.register_forward_hook` returns (``torch.utils.hooks.RemovableHandle``)."""

    def __init__(self, module: Module, hook: Any) -> None:
        self.module, self.hook = module, hook

    def remove(self) -> None:
        hooks = self.module._forward_hooks
        self.module._forward_hooks = tuple(h for h in hooks if h is not self.hook)
