"""Back-propagation written out layer by layer, no autograd.  Replaces ``loss.backward()``.

For the models nnscratch builds from `Linear` and `Activation` layers: a single `Linear`
(``LinearRegression``, ``LogisticRegression``, any ``out_features``) or a `Sequential` of them
(``MLP``). The forward pass keeps what the backward pass needs; the backward pass walks the
layers in reverse, carrying δ = ∂L/∂(layer output):

    forward                                      backward (last layer first)
    h₀ = X                                       δ = ∂L/∂ŷ                  (`backprop.losses`)
    Linear:      z = h_prev Wᵀ + b   keep h_prev   ∂L/∂W = δᵀ h_prev           (O, N)@(N, F)
                                                  ∂L/∂b = Σᵢ δᵢ               (O,)
                                                  δ ← δ W                     (N, O)@(O, F)
    Activation:  h = act(z)          keep z, h     δ ← δ ⊙ act'(z)            (`backprop.activations`)
    ŷ = the last h,  L = loss(ŷ, y)

The first layer's δ W is skipped: X needs no gradient. For the seed's linear regression (one
Linear with O = 1 output, ``mse_loss``) the table reads

    ∂L/∂w = 2/N·Xᵀ(Xw + b − y)    (stored as its transpose: w is (1, F), as in nn.Linear)
    ∂L/∂b = 2/N·Σᵢ (xᵢw + b − yᵢ)

Gradients land in ``p.grad`` the way autograd's ``AccumulateGrad`` puts them there:
``p.grad = g`` when it is None, otherwise ``p.grad += g`` *in place* (the same tensor object, as
after a second ``backward()`` without ``zero_grad()``); parameters with ``requires_grad=False``
get none. All of it runs under ``torch.no_grad()``: no graph is recorded and autograd never runs.

Speed: this is the fast path for small problems, where ``backward()``'s cost is mostly the
graph's bookkeeping. A Linear's forward is ``torch.addmm(b, h, Wᵀ)``, one kernel for the plain
``h @ W.T + b``; the losses and activations update the fresh δ in place rather than allocating.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from nnscratch.backprop import rules
from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.backprop.losses import DERIVED
from nnscratch.layers import Activation, Linear, Sequential
from nnscratch.module import Module

LossFn = Callable[..., torch.Tensor]


def loss_and_grads(
    model: Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """``loss_fn(model(X), y)`` as a 0-dim tensor, with every ``p.grad`` filled by hand.

    Equal to ``loss = loss_fn(model(X), y); loss.backward(); return loss.detach()``.
    ``loss_fn`` is one of `nnscratch.losses` (or a ``functools.partial`` of one, options by
    keyword); an unsupported model or loss raises ValueError.
    """
    loss, grads = _chain_rule(model, loss_fn, X, y)
    for p, g in grads:
        _accumulate(p, g)
    return loss


def gradients(
    model: Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(L, {name: ∂L/∂p})`` by hand, keyed like ``model.named_parameters()``; ``p.grad`` is
    left as it is (`nnscratch explain` shows these beside autograd's ``p.grad``).

    So are the model's buffers (BatchNorm's running statistics) and the global random state
    (dropout's masks): a training step that follows sees the same model and draws the same masks.
    """
    buffers = [b.clone() for b in model.buffers()]
    rng = torch.get_rng_state()
    loss, grads = _chain_rule(model, loss_fn, X, y)
    torch.set_rng_state(rng)
    with torch.no_grad():
        for b, saved in zip(model.buffers(), buffers, strict=True):
            b.copy_(saved)
    by_id = {id(p): g for p, g in grads if p.requires_grad}
    return loss, {n: by_id[id(p)] for n, p in model.named_parameters() if id(p) in by_id}


def supports(model: Module, loss_fn: LossFn) -> bool:
    """Whether the hand-derived backward has formulas for this model and loss."""
    try:
        _derived_loss(loss_fn)
    except ValueError:
        return False
    return _is_linear_or_mlp(model) or rules.supports(model)


def _chain_rule(
    model: Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """The forward pass keeping what backward needs, then (p, ∂L/∂p) for every parameter.

    Other models than a Linear or an MLP go through the per-layer rules of `backprop.rules`.
    """
    derived, options = _derived_loss(loss_fn)
    if not _is_linear_or_mlp(model) and rules.supports(model):
        return rules.chain_rule(model, derived, options, X, y)
    layers = _layers(model)
    grads: list[tuple[torch.Tensor, torch.Tensor]] = []
    with torch.no_grad():
        saved: list[Any] = []  # per layer: h_prev (Linear) or (z, h) (Activation)
        h = X  # (N, F)
        for layer in layers:
            if isinstance(layer, Linear):
                saved.append(h)
                h = _linear(layer, h)  # (N, O)
            else:
                z, h = h, layer.fn(h)
                saved.append((z, h))
        loss, delta = derived(h, y, **options)  # 0-dim, (N, O) = ∂L/∂ŷ
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            if isinstance(layer, Linear):
                h_prev = saved[i]  # (N, F)
                grads.append((layer.weight, delta.T @ h_prev))  # (O, N) @ (N, F) -> (O, F)
                if layer.bias is not None:
                    grads.append((layer.bias, delta.sum(dim=0)))  # (O,)
                if i > 0:
                    delta = delta @ layer.weight  # (N, O) @ (O, F) -> (N, F)
            else:
                z, h = saved[i]
                delta = DERIVATIVES[layer.name](delta, z, h)  # (N, F)  δ ⊙ act'(z)
    return loss, grads


def _linear(layer: Linear, h: torch.Tensor) -> torch.Tensor:
    """z = h Wᵀ + b."""
    if layer.bias is None:
        return h @ layer.weight.T  # (N, F) @ (F, O) -> (N, O)
    return torch.addmm(layer.bias, h, layer.weight.T)  # plain form: h @ W.T + b


def _accumulate(p: torch.Tensor, g: torch.Tensor) -> None:
    """What autograd's AccumulateGrad does with a new gradient g for the leaf p."""
    if not p.requires_grad:
        return
    if p.grad is None:
        p.grad = g
    else:
        p.grad.add_(g)  # in place: p.grad stays the same tensor


SUPPORTED_MODELS = (
    "a Linear layer (LinearRegression, LogisticRegression), an MLP, or any model built from "
    "nnscratch.layers (Conv2d, pooling, norms, Dropout, Embedding, attention, TransformerBlock, "
    "Sequential) or registered with nnscratch.backprop.rules.register"
)


def _layers(model: Module) -> list[Module]:
    """The model as a list of `Linear` / `Activation` layers, or ValueError."""
    if _is_plain(model, Linear):
        return [model]
    if _is_plain(model, Sequential) and len(model.layers) > 0:
        layers = list(model.layers)
        if all(_is_plain(layer, Linear) or _is_activation(layer) for layer in layers):
            return layers
    raise ValueError(
        f"the hand-derived backward has no formulas for {model!r}: it supports "
        f"{SUPPORTED_MODELS}; use the autograd backward for other models"
    )


def _is_linear_or_mlp(model: Module) -> bool:
    try:
        _layers(model)
    except ValueError:
        return False
    return True


def _is_plain(module: Module, cls: type) -> bool:
    """An instance of ``cls`` whose forward is ``cls.forward`` (a subclass may not override it)."""
    return isinstance(module, cls) and type(module).forward is cls.forward


def _is_activation(layer: Module) -> bool:
    return _is_plain(layer, Activation) and layer.name in DERIVATIVES


def _derived_loss(loss_fn: LossFn) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The hand-derived twin of ``loss_fn`` and the keyword options to call it with."""
    fn, options = loss_fn, {}
    if isinstance(loss_fn, functools.partial):
        if loss_fn.args:
            raise ValueError(
                f"pass the options of {loss_fn.func.__name__} by keyword in the partial, "
                f"got positional arguments {loss_fn.args}"
            )
        fn, options = loss_fn.func, loss_fn.keywords
    derived = DERIVED.get(fn) if _hashable(fn) else None
    if derived is None:
        names = ", ".join(f.__name__ for f in DERIVED)
        raise ValueError(
            f"the hand-derived backward has no formula for the loss {fn!r}; it supports the "
            f"nnscratch.losses functions {names}; use the autograd backward for other losses"
        )
    return derived, options


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True
