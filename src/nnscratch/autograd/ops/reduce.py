"""Reductions over dims; formulas: `nnscratch.backprop.elementwise` (sum, mean, amax, max)."""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import record
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop import elementwise as E


def _dims(dim: Any) -> tuple[int, ...] | None:
    if dim is None:
        return None
    return (dim,) if isinstance(dim, int) else tuple(dim)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """z = Σ_dim x (every element when ``dim`` is None)."""
    dims, shape = _dims(dim), x.shape
    if dims is None:
        z = x.data.sum(dtype=dtype)
    else:
        z = x.data.sum(dim=dims, keepdim=keepdim, dtype=dtype)
    return record("sum", z, (x,), lambda g: (E.sum_backward(g, shape, dims, keepdim),))


def mean(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """z = Σ_dim x / n."""
    dims, shape = _dims(dim), x.shape
    if dims is None:
        z = x.data.mean(dtype=dtype)
    else:
        z = x.data.mean(dim=dims, keepdim=keepdim, dtype=dtype)
    return record("mean", z, (x,), lambda g: (E.mean_backward(g, shape, dims, keepdim),))


def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """z = max over ``dim`` (every dim when empty)."""
    dims = _dims(dim) or tuple(range(x.dim()))
    xd = x.data
    z = torch.amax(xd, dim=dims, keepdim=keepdim)
    return record("amax", z, (x,), lambda g: (E.amax_backward(g, xd, z, dims, keepdim),))


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``x.max()``: the largest value (ties share g, as `amax`); ``x.max(dim)``: (values,
    indices), g to each index found. The element-wise ``max(x, y)`` is not an op here."""
    if dim is None:
        return amax(x)
    if not isinstance(dim, int):
        raise NotImplementedError(
            "nnscratch.autograd: max(x, y) element-wise has no op; use torch.where(x > y, x, y)"
        )
    shape = x.shape
    values, indices = torch.max(x.data, dim, keepdim)
    z = record(
        "max", values, (x,), lambda g: (E.max_dim_backward(g, shape, dim, indices, keepdim),)
    )
    return torch.return_types.max((z, indices))
