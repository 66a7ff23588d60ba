"""micrograd's scalar engine, written here as the anchor for `nnscratch.autograd`'s speed (not
imported from micrograd: the approach, ~50 lines).

Every number is a `Value` node with its own ``_backward`` closure; a training step on N samples
builds a graph of about 5N nodes and walks it in reverse topological order, one Python call per
scalar operation. That is the cost a tensor engine removes: one node per *tensor* operation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class Value:
    """A scalar with a gradient and the closure that passes it on (micrograd's ``Value``)."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data: float, prev: tuple[Value, ...] = ()) -> None:
        self.data, self.grad, self._prev = data, 0.0, prev
        self._backward: Callable[[], None] = lambda: None

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def __sub__(self, other: Value | float) -> Value:
        return self + (other * -1.0 if isinstance(other, Value) else -other)

    def backward(self) -> None:
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative post-order (micrograd recurses)
            v, expanded = stack.pop()
            if expanded:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((p, False) for p in v._prev)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def seed_steps(X: torch.Tensor, y: torch.Tensor, lr: float) -> Callable[[int], None]:
    """run(steps): the seed's full-batch step on scalars: ŷᵢ = w·xᵢ + b, L = mean (ŷᵢ − yᵢ)²,
    backward, w ← w − lr·∂w, b ← b − lr·∂b."""
    xs, ys = X[:, 0].tolist(), y[:, 0].tolist()
    w, b = Value(0.0), Value(0.0)
    n = len(xs)

    def run(steps: int) -> None:
        for _ in range(steps):
            loss = Value(0.0)
            for x, t in zip(xs, ys, strict=True):
                d = w * x + b - t
                loss = loss + d * d
            loss = loss * (1.0 / n)
            w.grad = b.grad = 0.0
            loss.backward()
            w.data -= lr * w.grad
            b.data -= lr * b.grad

    run.parameters = (w, b)  # type: ignore[attr-defined]
    return run
