"""Which engine operation a torch function or a `Tensor` method means.

``OPS`` maps a name (``torch.exp`` and ``Tensor.exp`` are both 'exp'; ``x + y`` is 'add') to the
op of `nnscratch.autograd.ops`; ``CONSTANT`` lists the functions whose result carries no
gradient (comparisons, ``ones_like``...), computed on the plain tensors. Anything else is refused
with an error that names it: never a result silently cut from the graph.

The `Tensor` methods and operators are attached here too, from the same table.
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import unwrap
from nnscratch.autograd.ops import elementwise, matmul, nn, reduce, shape
from nnscratch.autograd.tensor import Tensor


def _rsub(x: Any, y: Any, alpha: float = 1.0) -> Tensor:
    return elementwise.sub(y, x, alpha)


def _transpose_2d(x: Tensor) -> Tensor:
    if x.dim() != 2:
        raise RuntimeError(f".T needs a 2-D tensor here, got {x.dim()}-D; use .transpose()")
    return shape.transpose(x, 0, 1)


OPS: dict[str, Any] = {
    "add": elementwise.add,
    "sub": elementwise.sub,
    "rsub": _rsub,
    "mul": elementwise.mul,
    "div": elementwise.div,
    "true_divide": elementwise.div,
    "pow": elementwise.pow,
    "neg": elementwise.neg,
    "exp": elementwise.exp,
    "expm1": elementwise.expm1,
    "log": elementwise.log,
    "log1p": elementwise.log1p,
    "erfc": elementwise.erfc,
    "sqrt": elementwise.sqrt,
    "abs": elementwise.abs,
    "square": elementwise.square,
    "relu": elementwise.relu,
    "tanh": elementwise.tanh,
    "sigmoid": elementwise.sigmoid,
    "gelu": elementwise.gelu,
    "threshold": elementwise.threshold,
    "where": elementwise.where,
    "masked_fill": elementwise.masked_fill,
    "clone": elementwise.clone,
    "copy_": elementwise.copy_,
    "sum": reduce.sum,
    "mean": reduce.mean,
    "amax": reduce.amax,
    "max": reduce.max,
    "reshape": shape.reshape,
    "view": shape.view,
    "flatten": shape.flatten,
    "transpose": shape.transpose,
    "permute": shape.permute,
    "movedim": shape.movedim,
    "unsqueeze": shape.unsqueeze,
    "squeeze": shape.squeeze,
    "expand": shape.expand,
    "contiguous": shape.contiguous,
    "__getitem__": shape.getitem,
    "gather": shape.gather,
    "narrow": shape.narrow,
    "split": shape.split,
    "cat": shape.cat,
    "concat": shape.cat,
    "stack": shape.stack,
    "unfold": shape.unfold,
    "constant_pad_nd": shape.constant_pad_nd,
    "matmul": matmul.matmul,
    "mm": matmul.matmul,
    "bmm": matmul.matmul,
    "addmm": matmul.addmm,
    "conv2d": nn.conv2d,
    "max_pool2d": nn.max_pool2d,
    "max_pool2d_with_indices": nn.max_pool2d_with_indices,
    "layer_norm": nn.layer_norm,
    "batch_norm": nn.batch_norm,
    "softmax": nn.softmax,
    "log_softmax": nn.log_softmax,
    "scaled_dot_product_attention": nn.scaled_dot_product_attention,
}

CONSTANT = {
    "empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
    "eq", "ne", "lt", "le", "gt", "ge", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
    "__ge__", "logical_not", "isnan", "isinf", "isfinite", "sign", "argmax", "argmin",
    "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "any", "all",
    "__len__", "dim", "size", "numel", "is_floating_point", "__format__",
}  # fmt: skip


def handle(func: Any, args: tuple, kwargs: dict) -> Any:
    """``func(*args, **kwargs)`` with some `Tensor` among the arguments."""
    op = _RESOLVED.get(func)
    if op is None:
        op = _RESOLVED[func] = _resolve(func)
    return op(*args, **kwargs)


def _torch_function(cls: type, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
    """``Tensor.__torch_function__`` once this module is loaded: `handle` without the lazy
    import and the extra call (it runs for every torch function a layer calls)."""
    op = _RESOLVED.get(func)
    if op is None:
        op = _RESOLVED[func] = _resolve(func)
    return op(*args, **kwargs) if kwargs else op(*args)


_RESOLVED: dict[Any, Any] = {}  # torch function -> what it means here, looked up once


def _resolve(func: Any) -> Any:
    name = getattr(func, "__name__", "")
    if getattr(func, "__module__", None) == "torch.nn.functional":  # its own argument order
        from nnscratch.autograd.functional import ADAPTED

        return ADAPTED.get(name) or _refuse(f"torch.nn.functional.{name}")
    if name.startswith("__r") and name[3:-2] in OPS and name not in OPS:  # __rmul__ -> y * x
        op = OPS[name[3:-2]]
        return lambda x, y, **kwargs: op(y, x, **kwargs)
    if name.startswith("__") and name[2:-2] in OPS:  # __add__ -> add
        name = name[2:-2]
    if name in OPS:
        return OPS[name]
    if name in CONSTANT:
        return lambda *args, **kwargs: func(*_plain(args), **_plain(kwargs))

    return _refuse(name or repr(func))


def _refuse(name: str) -> Any:
    """An op that raises, naming what is missing."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"nnscratch.autograd has no operation for {name}; add one to "
            f"nnscratch.autograd.ops (with its backward in nnscratch.backprop), or use the "
            f"autograd backward"
        )

    return refuse


def _plain(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(i) for i in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return unwrap(x)


def _method(name: str) -> Any:
    op = OPS[name]

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return op(self, *args, **kwargs)

    method.__name__ = name
    return method


def _constant(name: str) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.data, name)(*_plain(args), **_plain(kwargs))

    method.__name__ = name
    return method


def _attach() -> None:
    """The methods and operators of `Tensor`, from the tables above."""
    for name in OPS:
        if name not in ("where", "cat", "concat", "stack", "threshold", "addmm", "conv2d",
                        "max_pool2d", "layer_norm", "batch_norm", "scaled_dot_product_attention",
                        "rsub", "__getitem__", "constant_pad_nd",
                        "max_pool2d_with_indices"):  # fmt: skip
            setattr(Tensor, name, _method(name))
    for name in ("eq", "ne", "lt", "le", "gt", "ge", "new_zeros", "new_ones", "new_full",
                 "new_empty", "argmax", "sign", "isnan", "any", "all"):  # fmt: skip
        setattr(Tensor, name, _constant(name))
    binary = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "matmul": "matmul"}
    for dunder, name in binary.items():
        op = OPS[name]
        setattr(Tensor, f"__{dunder}__", lambda x, y, op=op: op(x, y))
        setattr(Tensor, f"__r{dunder}__", lambda x, y, op=op: op(y, x))
    Tensor.__pow__ = lambda x, p: elementwise.pow(x, p)
    Tensor.__rpow__ = lambda x, b: elementwise.pow(b, x)  # 2 ** x
    Tensor.__neg__ = lambda x: elementwise.neg(x)
    Tensor.__getitem__ = lambda x, i: shape.getitem(x, i)
    for dunder in ("eq", "ne", "lt", "le", "gt", "ge"):
        setattr(Tensor, f"__{dunder}__", lambda x, y, d=dunder: getattr(x.data, d)(unwrap(y)))
    Tensor.__torch_function__ = classmethod(_torch_function)
    Tensor.T = property(_transpose_2d)
    Tensor.to = _to
    Tensor.float = lambda x: _to(x, torch.float32)
    Tensor.double = lambda x: _to(x, torch.float64)


def _to(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """A dtype change records a cast; a device change is refused (move the data first)."""
    target = x.data.to(*args, **kwargs)
    if target.device != x.device:
        raise NotImplementedError("nnscratch.autograd: move tensors before wrapping them")
    return x if target.dtype == x.dtype else elementwise.to_dtype(x, target.dtype)


_attach()
