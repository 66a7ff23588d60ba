"""Element-wise operations with broadcasting; formulas: `nnscratch.backprop.elementwise` and
(for the activations) `nnscratch.backprop.activations`."""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import needs, record, unwrap
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop import elementwise as E
from nnscratch.backprop.activations import DERIVATIVES, gelu_backward_fast, relu_backward_fast

_SCALAR = torch.Size([])


def _shape(x: Any) -> torch.Size:
    """The shape an operand broadcasts with: a number's is ()."""
    if type(x) is Tensor:
        return x.data.shape
    return x.shape if isinstance(x, torch.Tensor) else _SCALAR


def add(x: Any, y: Any, alpha: float = 1.0) -> Tensor:
    """z = x + α·y."""
    xd, yd = unwrap(x), unwrap(y)
    z = xd + yd if alpha == 1 else torch.add(xd, yd, alpha=alpha)
    xs, ys = _shape(xd), _shape(yd)

    nx, ny = needs(x), needs(y)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(g, xs) if nx else None
        gy = E.unbroadcast(g if alpha == 1 else g * alpha, ys) if ny else None
        return gx, gy

    return record("add", z, (x, y), vjp)


def sub(x: Any, y: Any, alpha: float = 1.0) -> Tensor:
    """z = x − α·y."""
    xd, yd = unwrap(x), unwrap(y)
    z = xd - yd if alpha == 1 else torch.sub(xd, yd, alpha=alpha)
    xs, ys = _shape(xd), _shape(yd)

    nx, ny = needs(x), needs(y)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(g, xs) if nx else None
        gy = E.unbroadcast(g * -alpha, ys) if ny else None
        return gx, gy

    return record("sub", z, (x, y), vjp)


def mul(x: Any, y: Any) -> Tensor:
    """z = x ⊙ y."""
    xd, yd = unwrap(x), unwrap(y)
    xs, ys = _shape(xd), _shape(yd)
    nx, ny = needs(x), needs(y)
    keep_x, keep_y = xd if ny else None, yd if nx else None  # only what a gradient reads

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(E.mul_backward(g, keep_y), xs) if nx else None
        gy = E.unbroadcast(E.mul_backward(g, keep_x), ys) if ny else None
        return gx, gy

    return record("mul", xd * yd, (x, y), vjp)


def div(x: Any, y: Any) -> Tensor:
    """z = x / y."""
    xd, yd = unwrap(x), unwrap(y)
    xs, ys = _shape(xd), _shape(yd)
    z = xd / yd

    nx, ny = needs(x), needs(y)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(g / yd, xs) if nx else None
        gy = E.unbroadcast(E.div_backward_denominator(g, z, yd), ys) if ny else None
        return gx, gy

    return record("div", z, (x, y), vjp)


def pow(x: Any, y: Any) -> Tensor:
    """z = xʸ: a tensor to a number (``x ** 2``), to a tensor (broadcast), or a number to a
    tensor (``2 ** x``)."""
    if not isinstance(y, (Tensor, torch.Tensor)):  # a number exponent: x alone is an input
        xd = x.data
        return record("pow", xd**y, (x,), lambda g: (E.pow_backward(g, xd, y),))
    xd, yd = unwrap(x), unwrap(y)
    xs, ys = _shape(x), _shape(y)
    z = xd**yd
    nx, ny = needs(x), needs(y)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(E.pow_backward(g, xd, yd), xs) if nx else None
        gy = E.unbroadcast(E.pow_backward_exponent(g, xd, yd, z), ys) if ny else None
        return gx, gy

    return record("pow", z, (x, y), vjp)


def neg(x: Tensor) -> Tensor:
    return record("neg", -x.data, (x,), lambda g: (-g,))


def _unary(name: str, fn: Any, backward: Any, uses_output: bool) -> Any:
    """An op z = fn(x) whose ∂x = backward(g, z) (``uses_output``) or backward(g, x)."""

    def op(x: Tensor) -> Tensor:
        xd = x.data
        z = fn(xd)
        kept = z if uses_output else xd
        return record(name, z, (x,), lambda g: (backward(g, kept),))

    op.__name__ = name
    return op


exp = _unary("exp", torch.exp, E.exp_backward, True)
expm1 = _unary("expm1", torch.expm1, E.expm1_backward, True)
log = _unary("log", torch.log, E.log_backward, False)
log1p = _unary("log1p", torch.log1p, E.log1p_backward, False)
erfc = _unary("erfc", torch.erfc, E.erfc_backward, False)
sqrt = _unary("sqrt", torch.sqrt, E.sqrt_backward, True)
abs = _unary("abs", torch.abs, E.abs_backward, False)


def square(x: Tensor) -> Tensor:
    return pow(x, 2)


def _activation(name: str, fn: Any) -> Any:
    """z = act(x), ∂x = g ⊙ act'(x) from `backprop.activations` (which works in g's memory:
    g is copied first, it may be shared)."""
    derivative = DERIVATIVES[name]

    def op(x: Tensor) -> Tensor:
        xd = x.data
        h = fn(xd)
        return record(name, h, (x,), lambda g: (derivative(g.clone(), xd, h),))

    op.__name__ = name
    return op


def relu(x: Tensor) -> Tensor:
    """relu(x) (``torch.relu``); ∂x by `relu_backward_fast` (one kernel, tested equal to the
    plain form)."""
    return _relu(x, torch.relu(x.data))


def _relu(x: Tensor, h: torch.Tensor) -> Tensor:
    # h > 0 exactly where x > 0: h stands for x in the mask, and x need not be kept (autograd
    # too keeps only the output)
    return record("relu", h, (x,), lambda g: (relu_backward_fast(g, h, h),))


tanh = _activation("tanh", torch.tanh)
sigmoid = _activation("sigmoid", torch.sigmoid)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Exact GELU; ∂x by `gelu_backward_fast` (one kernel, tested equal to the plain form)."""
    if approximate != "none":
        raise NotImplementedError("nnscratch.autograd: only the exact GELU (approximate='none')")
    xd = x.data
    h = torch.ops.aten.gelu(xd)  # the fast form reads x only: h is not kept
    return record("gelu", h, (x,), lambda g: (gelu_backward_fast(g, xd, None),))


def threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    """``torch.threshold(x, 0, 0)`` is relu (what `nnscratch.functional.relu` calls), computed
    by that same kernel (on this CPU it runs several times faster in a network than
    ``torch.relu``'s clamp: measured, docs/benchmarks.md)."""
    if threshold != 0 or value != 0:
        raise NotImplementedError("nnscratch.autograd: threshold only as relu (0, 0)")
    return _relu(x, torch.threshold(x.data, 0, 0))


def where(condition: torch.Tensor, x: Any, y: Any) -> Tensor:
    """z = x where condition else y."""
    c = unwrap(condition)
    xs, ys = _shape(x), _shape(y)
    z = torch.where(c, unwrap(x), unwrap(y))

    nx, ny = needs(x), needs(y)  # decided now: the inputs themselves are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = E.unbroadcast(E.where_backward(g, c, True), xs) if nx else None
        gy = E.unbroadcast(E.where_backward(g, c, False), ys) if ny else None
        return None, gx, gy

    return record("where", z, (condition, x, y), vjp)


def masked_fill(x: Tensor, mask: torch.Tensor, value: float) -> Tensor:
    """z = x with ``value`` where ``mask`` (a number: no gradient to it)."""
    m = unwrap(mask)
    z = x.data.masked_fill(m, unwrap(value))
    return record("masked_fill", z, (x,), lambda g: (E.masked_fill_backward(g, m),))


def to_dtype(x: Tensor, dtype: torch.dtype) -> Tensor:
    """A cast: ∂x is g cast back."""
    src = x.data.dtype
    return record("to", x.data.to(dtype), (x,), lambda g: (g.to(src),))


def clone(x: Tensor) -> Tensor:
    return record("clone", x.data.clone(), (x,), lambda g: (g,))


def copy_(dst: Any, src: Any, non_blocking: bool = False) -> Any:
    """``dst.copy_(src)`` into a plain tensor (a buffer, e.g. running statistics) of a value
    that carries no gradient: done on the plain tensors, nothing recorded. An in-place write
    into an engine `Tensor`, or of a value that needs a gradient, is refused: the graph would
    not see it."""
    if isinstance(dst, Tensor) or needs(src):
        raise NotImplementedError(
            "nnscratch.autograd records no in-place copy_ into a tensor of the graph or of a "
            "value that needs a gradient; write z = x.clone() (or torch.where) instead, or copy "
            "src.detach() into a plain buffer"
        )
    return dst.copy_(unwrap(src), non_blocking)
