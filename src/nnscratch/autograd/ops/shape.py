"""Operations that move numbers without changing them: ∂x is g moved back (reshaped,
transposed, scattered to where each entry was read from). Formulas for indexing and gather:
`nnscratch.backprop.elementwise`; for unfold and constant_pad_nd: `nnscratch.backprop.shape`;
the others are one line each, here."""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import needs, record, unwrap
from nnscratch.autograd.ops import nn
from nnscratch.autograd.pieces import Pieces
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop import elementwise as E
from nnscratch.backprop import shape as S


def _sizes(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``view(2, 3)`` and ``view((2, 3))`` alike."""
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """z = x in another shape:  ∂x = g in x's shape."""
    old = x.shape
    return record("reshape", x.data.reshape(_sizes(shape)), (x,), lambda g: (g.reshape(old),))


def view(x: Tensor, *shape: Any) -> Tensor:
    old = x.shape
    return record("view", x.data.view(_sizes(shape)), (x,), lambda g: (g.reshape(old),))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    old = x.shape
    z = x.data.flatten(start_dim, end_dim)
    return record("flatten", z, (x,), lambda g: (g.reshape(old),))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """z = x with two dims swapped:  ∂x = g with them swapped back."""
    z = x.data.transpose(dim0, dim1)
    return record("transpose", z, (x,), lambda g: (g.transpose(dim0, dim1),))


def permute(x: Tensor, *dims: Any) -> Tensor:
    """z = x.permute(dims):  ∂x = g.permute(the inverse permutation)."""
    order = _sizes(dims)
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d % len(order)] = i
    return record("permute", x.data.permute(order), (x,), lambda g: (g.permute(inverse),))


def movedim(x: Tensor, source: Any, destination: Any) -> Tensor:
    """z = x with dims moved from ``source`` to ``destination``:  ∂x = g with them moved back."""
    z = x.data.movedim(source, destination)
    return record("movedim", z, (x,), lambda g: (g.movedim(destination, source),))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return record("unsqueeze", x.data.unsqueeze(dim), (x,), lambda g: (g.squeeze(dim),))


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    old = x.shape
    z = x.data.squeeze() if dim is None else x.data.squeeze(dim)
    return record("squeeze", z, (x,), lambda g: (g.reshape(old),))


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """z = x broadcast to ``sizes``:  ∂x = Σ g over the broadcast dims."""
    old = x.shape
    z = x.data.expand(_sizes(sizes))
    return record("expand", z, (x,), lambda g: (E.unbroadcast(g, old),))


def contiguous(x: Tensor) -> Tensor:
    return record("contiguous", x.data.contiguous(), (x,), lambda g: (g,))


def getitem(x: Tensor, index: Any) -> Tensor:
    """z = x[index] (slices, integers, an integer tensor: an embedding lookup)."""
    index = _plain_index(index)
    old = x.shape
    z = x.data[index]
    return record("index", z, (x,), lambda g: (E.index_backward(g, old, index),))


def _plain_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(unwrap(i) for i in index)
    return unwrap(index)


def gather(x: Tensor, dim: int, index: torch.Tensor) -> Tensor:
    """z[i][j] = x[i][index[i][j]] (dim 1):  each read adds its g back (``scatter_add_``)."""
    old, index = x.shape, unwrap(index)
    z = x.data.gather(dim, index)
    return record("gather", z, (x,), lambda g: (E.gather_backward(g, old, dim, index),))


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """z = x's entries start..start+length along ``dim``:  ∂x = g there, 0 elsewhere (given
    as `Pieces`, made one tensor with the other pieces' slices: `nnscratch.autograd.pieces`)."""
    old = x.shape
    dim = dim % len(old)

    def vjp(g: torch.Tensor) -> tuple:
        return (Pieces(old, dim, [(start, g)]),)

    return record("narrow", x.data.narrow(dim, start, length), (x,), vjp)


def split(x: Tensor, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """x cut into pieces along ``dim``: one `narrow` node per piece."""
    n = x.shape[dim]
    sizes = [split_size] * (n // split_size) if isinstance(split_size, int) else list(split_size)
    if isinstance(split_size, int) and n % split_size:
        sizes.append(n % split_size)
    pieces, start = [], 0
    for size in sizes:
        pieces.append(narrow(x, dim, start, size))
        start += size
    return tuple(pieces)


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """z = the tensors end to end along ``dim``:  each gets its slice of g."""
    tensors = list(tensors)
    sizes = [unwrap(t).shape[dim] for t in tensors]
    z = torch.cat([unwrap(t) for t in tensors], dim=dim)
    need = [needs(t) for t in tensors]  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        return tuple(p if n else None for n, p in zip(need, g.split(sizes, dim), strict=True))

    return record("cat", z, tuple(tensors), vjp)


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """z = the tensors along a new dim:  each gets its index of g."""
    tensors = list(tensors)
    z = torch.stack([unwrap(t) for t in tensors], dim=dim)
    need = [needs(t) for t in tensors]  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        return tuple(p if n else None for n, p in zip(need, g.unbind(dim), strict=True))

    return record("stack", z, tuple(tensors), vjp)


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """z = every window of ``size`` entries along ``dimension``, ``step`` apart, as a new last
    dim (``Tensor.unfold``):  ∂x = each window's g added back where it was read.

    Backward: ``unfold_backward_fast`` (one kernel; plain: ``unfold_backward``, ``size``
    index_add_ calls), under ops.nn's ``FAST`` switch. Measured float32, one thread: 1.3–1.8×
    faster on (128, 16, 28, 28) size 3 step 1 and (256, 64, 100) size 5, 8.5× on
    (64, 32, 14, 14) size 2 step 2."""
    old = x.shape
    z = x.data.unfold(dimension, size, step)
    backward = S.unfold_backward_fast if nn.FAST else S.unfold_backward
    return record("unfold", z, (x,), lambda g: (backward(g, old, dimension, size, step),))


def constant_pad_nd(input: Tensor, pad: Any, value: float = 0.0) -> Tensor:
    """z = x with ``value`` around it (``pad``: (before, after) per dim, the last first):
    ∂x = g's inner slice."""
    pad = tuple(pad)
    z = torch.constant_pad_nd(input.data, pad, value)
    return record("constant_pad_nd", z, (input,), lambda g: (S.constant_pad_backward(g, pad),))
