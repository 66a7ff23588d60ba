"""The engine's tensor.  ``Tensor`` replaces ``torch.Tensor``'s autograd half: ``requires_grad``,
``grad``, ``grad_fn``, ``backward()``.

A `Tensor` holds a plain ``torch.Tensor`` (``.data``, which never requires grad itself: torch only
computes, it records nothing) and, when it was computed from tensors that need a gradient, the
`Node` of the operation that made it (``.grad_fn``). A tensor without a ``grad_fn`` is a *leaf*:
the ones created by the user, such as parameters; ``backward()`` puts their gradients in ``.grad``.

    x = Tensor(torch.tensor([2.0, 3.0]), requires_grad=True)
    y = (x * x).sum()            # y.grad_fn: <sum ()>, its input <mul (2,)>
    y.backward()                 # x.grad = 2x = tensor([4., 6.])

Operators and methods (``+ - * / ** @``, ``.sum()``, ``.reshape()``...) record operations of
`nnscratch.autograd.ops`. So do torch's functions called with a `Tensor` (``torch.exp(x)``,
``torch.addmm(b, x, w.T)``, ``torch.conv2d(x, w)``): torch hands them to
``Tensor.__torch_function__`` (`nnscratch.autograd.dispatch`), which is how the layers of
`nnscratch.layers`, written for torch tensors, run on the engine unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.node import Node


class Tensor:
    """A plain torch tensor (``.data``) with the autograd half: ``requires_grad``, ``.grad``,
    ``.grad_fn``, ``backward()``."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not isinstance(data, torch.Tensor):
            data = torch.as_tensor(data)
        if data.requires_grad:
            data = data.detach()  # torch records nothing: the engine does
        if requires_grad and not (data.is_floating_point() or data.is_complex()):
            raise RuntimeError(
                f"only floating point tensors can require gradients, got {data.dtype}; "
                f"convert it first, e.g. Tensor(x.double(), requires_grad=True)"
            )
        self.data: torch.Tensor = data
        self.grad: torch.Tensor | None = None
        self.requires_grad: bool = requires_grad
        self.grad_fn: Node | None = None

    @classmethod
    def wrap(cls, data: torch.Tensor) -> Tensor:
        """An operation's result: ``Tensor(data)`` without the checks (data is a plain
        tensor that requires no grad)."""
        t = cls.__new__(cls)
        t.data, t.grad, t.requires_grad, t.grad_fn = data, None, False, None
        return t

    @classmethod
    def handle(cls, grad_fn: Node) -> Tensor:
        """An intermediate result as its consumers' nodes keep it: ``grad_fn`` only, no numbers
        (``data`` is None), so that the forward's values are not held by the graph."""
        t = cls.__new__(cls)
        t.data, t.grad, t.requires_grad, t.grad_fn = None, None, True, grad_fn
        return t

    # -- what PyTorch's tensor tells about itself -------------------------------------------
    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> torch.Size:
        return self.data.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    @property
    def device(self) -> torch.device:
        return self.data.device

    @property
    def ndim(self) -> int:
        return self.data.dim()

    def dim(self) -> int:
        return self.data.dim()

    def size(self, dim: int | None = None) -> Any:
        return self.data.size() if dim is None else self.data.size(dim)

    def numel(self) -> int:
        return self.data.numel()

    def is_floating_point(self) -> bool:
        return self.data.is_floating_point()

    def item(self) -> Any:
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn is not None else ""
        req = ", requires_grad=True" if self.requires_grad and self.grad_fn is None else ""
        return f"Tensor({self.data!r}{req}{grad})"

    # -- the backward pass ------------------------------------------------------------------
    def backward(self, gradient: torch.Tensor | None = None, retain_graph: bool = False) -> None:
        """∂self/∂leaf into every leaf's ``.grad`` (accumulated), walking the graph in reverse
        topological order (`nnscratch.autograd.graph`). ``retain_graph=True`` keeps the saved
        tensors for another backward through the same graph."""
        from nnscratch.autograd.graph import backward

        backward(self, None if gradient is None else _plain(gradient), retain_graph)

    def detach(self) -> Tensor:
        """The same numbers (the same memory), cut from the graph: a leaf without grad."""
        return Tensor.wrap(self.data)  # data is a plain tensor already: no checks to make

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("only leaves can stop requiring grad; use detach() instead")
        self.requires_grad = requires_grad
        return self

    # -- torch functions called with a Tensor -----------------------------------------------
    @classmethod
    def __torch_function__(
        cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        from nnscratch.autograd.dispatch import handle

        return handle(func, args, kwargs or {})

    __hash__ = object.__hash__  # comparisons return tensors, identity stays the hash


def _plain(x: Any) -> torch.Tensor:
    return x.data if isinstance(x, Tensor) else x
