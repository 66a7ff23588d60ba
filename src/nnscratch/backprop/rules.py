"""The hand-derived backward of any model built from nnscratch's layers: one rule per layer.

A *rule* is a pair of functions, written next to each other in the layer family's module:

    forward(layer, x)                        -> (y, saved)     y = layer(x), keeping what backward needs
    backward(layer, saved, dy, grads, need_dx) -> dx            appends (p, ∂L/∂p) for each parameter
                                                                to grads; returns ∂L/∂x (or None)

`RULES` maps each layer class to its pair; `forward` / `backward` look the rule up, so a
container's rule is the chain rule over its children's:

    Sequential   y = fₖ(…f₁(x))       dy flows back through fₖ, …, f₁, each rule turning ∂L/∂(its
                                      output) into ∂L/∂(its input); f₁ skips it when x needs none

A model class of your own (a transformer with token and position embeddings, say) gets manual
backward with `register(cls, forward, backward)`, its two functions composing the children's
rules with `forward(child, x)` and `backward(child, saved, dy, grads)`. A subclass that does not
override ``forward`` inherits its base class's rule (``LinearRegression`` is a ``Linear``).

`chain_rule(model, derived_loss, options, X, y)` is the whole backward: forward through the
rules under ``torch.no_grad()``, (L, ∂L/∂ŷ) from the hand-derived loss, then backward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.backprop import attention, conv, dropout, embedding, linear, norm, pool
from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.layers import (
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    CausalSelfAttention,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    Sequential,
    TransformerBlock,
)
from nnscratch.module import Module

Grads = list[tuple[torch.Tensor, torch.Tensor]]
Forward = Callable[[Any, torch.Tensor], tuple[torch.Tensor, Any]]
Backward = Callable[[Any, Any, torch.Tensor, Grads, bool], "torch.Tensor | None"]


def sequential_forward(layer: Sequential, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    saved = []
    for child in layer.layers:
        x, s = forward(child, x)
        saved.append(s)
    return x, saved


def sequential_backward(
    layer: Sequential, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    for i in range(len(layer.layers) - 1, -1, -1):
        dy = backward(layer.layers[i], saved[i], dy, grads, need_dx or i > 0)
    return dy


RULES: dict[type, tuple[Forward, Backward]] = {
    Linear: (linear.linear_forward, linear.linear_backward),
    Activation: (linear.activation_forward, linear.activation_backward),
    Flatten: (linear.reshape_forward, linear.reshape_backward),
    Sequential: (sequential_forward, sequential_backward),
    Conv2d: (conv.conv2d_forward, conv.conv2d_backward),
    MaxPool2d: (pool.max_pool2d_forward, pool.max_pool2d_backward),
    AvgPool2d: (pool.avg_pool2d_forward, pool.avg_pool2d_backward),
    LayerNorm: (norm.layer_norm_forward, norm.layer_norm_backward),
    BatchNorm1d: (norm.batch_norm_forward, norm.batch_norm_backward),
    BatchNorm2d: (norm.batch_norm_forward, norm.batch_norm_backward),
    Dropout: (dropout.dropout_forward, dropout.dropout_backward),
    Embedding: (embedding.embedding_forward, embedding.embedding_backward),
    CausalSelfAttention: (attention.self_attention_forward, attention.self_attention_backward),
    TransformerBlock: (attention.transformer_block_forward, attention.transformer_block_backward),
}


def _register_models() -> None:
    """The models of `nnscratch.models` that need more than their layers' rules."""
    from nnscratch.backprop import models
    from nnscratch.backprop.losses import DERIVED
    from nnscratch.models import cnn, transformer

    RULES[cnn.Unflatten] = (linear.reshape_forward, linear.reshape_backward)
    RULES[transformer.CharTransformer] = (
        models.char_transformer_forward,
        models.char_transformer_backward,
    )
    DERIVED[transformer.next_token_loss] = models.next_token_loss


def register(cls: type, forward_rule: Forward, backward_rule: Backward) -> None:
    """Give ``cls`` (a model or layer class) a hand-derived backward."""
    RULES[cls] = (forward_rule, backward_rule)


def rule(layer: Module) -> tuple[Forward, Backward] | None:
    """The rule of ``layer``'s class, or of the base class whose ``forward`` it uses."""
    for cls in type(layer).__mro__:
        if cls in RULES:
            return RULES[cls] if type(layer).forward is cls.forward else None
    return None


def supports(model: Module) -> bool:
    """Whether every module in ``model`` (itself included) has a rule: an `Activation` one of
    the derived functions, a `Sequential` at least one layer."""
    return all(_has_rule(m) for m in model.modules())


def _has_rule(m: Module) -> bool:
    if isinstance(m, Activation) and m.name not in DERIVATIVES:
        return False
    if isinstance(m, Sequential) and len(m) == 0:
        return False
    return rule(m) is not None


def forward(layer: Module, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
    found = rule(layer)
    if found is None:
        raise ValueError(
            f"the hand-derived backward has no rule for {type(layer).__name__}; register one "
            f"with nnscratch.backprop.rules.register, or use the autograd backward"
        )
    return found[0](layer, x)


def backward(
    layer: Module, saved: Any, dy: torch.Tensor, grads: Grads, need_dx: bool = True
) -> torch.Tensor | None:
    return rule(layer)[1](layer, saved, dy, grads, need_dx)


def chain_rule(
    model: Module,
    derived_loss: Callable[..., tuple[torch.Tensor, torch.Tensor]],
    options: dict[str, Any],
    X: torch.Tensor,
    y: torch.Tensor,
) -> tuple[torch.Tensor, Grads]:
    """(L, [(p, ∂L/∂p)]) with no autograd: the rules' forward, the loss's δ, the rules' backward.

    A parameter used twice (tied weights) gets its two contributions summed into one entry.
    """
    with torch.no_grad():
        y_hat, saved = forward(model, X)
        loss, delta = derived_loss(y_hat, y, **options)  # 0-dim, ∂L/∂ŷ
        grads: Grads = []
        backward(model, saved, delta, grads, need_dx=False)
        summed: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for p, g in grads:
            summed[id(p)] = (p, g) if id(p) not in summed else (p, summed[id(p)][1] + g)
    return loss, list(summed.values())


_register_models()
