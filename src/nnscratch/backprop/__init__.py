"""The backward pass derived by hand: no autograd.  Replaces ``loss.backward()``.

    loss = loss_and_grads(model, loss_fn, X, y)     ≙   loss = loss_fn(model(X), y)
                                                         loss.backward()
    loss, grads = gradients(model, loss_fn, X, y)   the same ∂L/∂p as {name: tensor}, p.grad untouched

Three pieces, one per module:
    `backprop.losses`        (L, ∂L/∂ŷ) for each loss of `nnscratch.losses`
    `backprop.activations`   act'(z) for relu, tanh, sigmoid, gelu
    `backprop.network`       the forward pass keeping what backward needs, then the chain rule
                             through every layer: ∂W = δᵀ h_prev, ∂b = Σ δ, δ_prev = δ W ⊙ act'(z)
"""

from nnscratch.backprop.network import gradients, loss_and_grads, supports

__all__ = ["gradients", "loss_and_grads", "supports"]
