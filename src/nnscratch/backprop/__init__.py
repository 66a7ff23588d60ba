"""The backward pass derived by hand: no autograd.  Replaces ``loss.backward()``.

    loss = loss_and_grads(model, loss_fn, X, y)     ≙   loss = loss_fn(model(X), y)
                                                         loss.backward()
    loss, grads = gradients(model, loss_fn, X, y)   the same ∂L/∂p as {name: tensor}, p.grad untouched

Three pieces, one per module:
    `backprop.losses`        (L, ∂L/∂ŷ) for each loss of `nnscratch.losses`
    `backprop.activations`   act'(z) for relu, tanh, sigmoid, gelu
    `backprop.network`       the forward pass keeping what backward needs, then the chain rule
                             through every layer: ∂W = δᵀ h_prev, ∂b = Σ δ, δ_prev = δ W ⊙ act'(z)

and, for models built from the other layers, one rule (forward keeping what backward needs,
backward) per layer, next to its formula, dispatched by `backprop.rules` (``register`` adds a
model of one's own):
    `backprop.linear`        Linear on (..., F), Activation, Flatten
    `backprop.conv`          Conv2d through im2col / col2im
    `backprop.pool`          MaxPool2d, AvgPool2d (the same columns)
    `backprop.norm`          LayerNorm, BatchNorm1d/2d: ∂x = (r/n)(n g − Σg − x̂ Σ(g x̂))
    `backprop.dropout`       Dropout: ∂x = dy ⊙ m/(1 − p)
    `backprop.embedding`     Embedding: ∂W = zeros.index_add_(0, idx, dy)
    `backprop.attention`     CausalSelfAttention (softmax's backward), TransformerBlock

and, for `nnscratch.autograd`'s operations beyond those: `backprop.elementwise` (+ − ⊙ / ** exp
log … sum mean max, indexing, gather), `backprop.shape` (unfold, constant_pad_nd),
`backprop.attention_mask` (attention's mask and weights for any mask and scale),
`backprop.attention_flash` (the fused kernel's forward, the backward written out from Y and ℓ).
"""

from nnscratch.backprop.network import gradients, loss_and_grads, supports

__all__ = ["gradients", "loss_and_grads", "supports"]
