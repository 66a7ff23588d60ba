"""``torch.nn.functional``'s Python functions called with an engine `Tensor`.

They reach ``__torch_function__`` as themselves, with *their* argument order, which is not
always that of the torch function of the same name (``F.batch_norm(input, running_mean,
running_var, weight, bias, ...)`` against ``torch.batch_norm(input, weight, bias,
running_mean, running_var, ...)``; ``F.softmax(input, dim, _stacklevel, dtype)``; ``F.unfold``
is im2col, ``Tensor.unfold`` a sliding window). So they are not resolved by name: each one the
engine takes is adapted here, and any other is refused by name (`dispatch`). nnscratch's own
layers call torch's functions, never these; a user's model may.
"""

from __future__ import annotations

from typing import Any

from nnscratch.autograd.ops import elementwise, nn
from nnscratch.autograd.tensor import Tensor


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise NotImplementedError(
            f"nnscratch.autograd: torch.nn.functional.{name}(inplace=True) writes into the "
            f"graph; call it with inplace=False"
        )


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    _no_inplace("relu", inplace)
    return elementwise.relu(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    _no_inplace("threshold", inplace)
    return elementwise.threshold(input, threshold, value)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    return nn.softmax(input, _dim(input, dim, "softmax"), dtype)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Any:
    return nn.log_softmax(input, _dim(input, dim, "log_softmax"), dtype)


def _dim(input: Tensor, dim: int | None, name: str) -> int:
    if dim is None:
        raise NotImplementedError(
            f"nnscratch.autograd: torch.nn.functional.{name} needs dim (its implicit choice "
            f"is deprecated in PyTorch too)"
        )
    return dim


def batch_norm(
    input: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    return nn.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def layer_norm(
    input: Tensor, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    return nn.layer_norm(input, normalized_shape, weight, bias, eps)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices:
        return nn.max_pool2d_with_indices(input, *args)
    return nn.max_pool2d(input, *args)


ADAPTED = {
    "relu": relu,
    "threshold": threshold,
    "_threshold": threshold,  # F.threshold's own name
    "softmax": softmax,
    "log_softmax": log_softmax,
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "max_pool2d": max_pool2d,
    "max_pool2d_with_indices": lambda input, *args, **kwargs: max_pool2d(
        input, *args, **{**kwargs, "return_indices": True}
    ),
    "tanh": elementwise.tanh,
    "sigmoid": elementwise.sigmoid,
}
