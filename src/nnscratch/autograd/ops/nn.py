"""The coarse operations, one node each: convolution, max pooling, the norms, softmax, attention.
Formulas: `nnscratch.backprop.conv`, `.pool`, `.norm`, `.attention`, `.attention_flash`.

Each forward is the torch op the layer calls (``torch.conv2d``, ``torch.layer_norm``...), run on
plain tensors; attention's is its two-kernel form, which keeps A for the backward. Each backward is the hand-derived formula; where its
plain tensor form is much slower than one torch op computing the same formula, the op uses the
*fast form*, a named variant tested equal to the plain one (``FAST = False`` uses the plain forms
everywhere, for checking):

    conv2d      conv2d_grads_fast: ∂x, ∂W or both in one convolution_backward call
                (given W itself)             plain: ∂x matmul + col2im, ∂W im2col + matmul
                (the single forms, conv2d_input_grad_fast, a transposed convolution, and
                conv2d_weight_grad_fast, are tested equal to them too)
    attention   without dropout: Y and the row log-sum-exps ℓ by the fused kernel
                (attention_flash); backward: attention_backward_flash, A = exp(S − ℓ)
                rebuilt (attention_probabilities' formula), Σ dA ⊙ A as Σ dY ⊙ Y, dS in
                dA's memory, the heads in cache-sized chunks
                                                       plain: attention_scores (A kept)
                                                              and attention_backward
                with dropout: A = attention_scores_fast (mask, scale and QKᵀ in one baddbmm,
                then one softmax), kept, the dropout mask drawn over it; Y = A V
                (measured on the bench transformer, one thread: not keeping the (B, H, T, T)
                A per layer makes the step faster, fewer fresh pages to allocate)
    unfold      unfold_backward_fast (aten.unfold_backward)           plain: index_add_ per
                (in ops.shape, under the same switch)                  window offset
    max_pool2d  max_pool2d_input_grad_fast (one kernel)       plain: scatter_add_ into zeros
    layer_norm, batch_norm
                layer_norm_grads_fast, batch_norm_grads_fast (one kernel each)
                                                                        plain: the closed form
                                                                        (r/n)(n g − Σg − x̂ Σg x̂)
"""

from __future__ import annotations

from typing import Any

import torch

from nnscratch.autograd.function import needs, record, unwrap
from nnscratch.autograd.ops.attention import attention_masked, fast_shapes
from nnscratch.autograd.tensor import Tensor
from nnscratch.backprop import attention as A
from nnscratch.backprop import attention_flash as AF
from nnscratch.backprop import conv as C
from nnscratch.backprop import norm as N
from nnscratch.backprop import pool as P
from nnscratch.layers.conv import pad_bottom_right, pair, same_padding

FAST = True  # the fast forms of the backward formulas (False: the plain forms)

# The kernel behind torch.max_pool2d that also returns the argmax (what nn.functional's
# max_pool2d_with_indices calls), through its direct binding: torch.ops.aten's generic path
# took ~8 µs more per call inside a network's step (measured, docs/benchmarks.md).
_max_pool2d_with_indices = torch._C._nn.max_pool2d_with_indices


def _pair(v: Any, name: str) -> tuple[int, int]:
    """`pair`, with the common case first: the layers pass their sizes as pairs already."""
    if type(v) is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return v
    return pair(v, name)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """y = W ⋆ x + b (``torch.conv2d``); an unbatched (C, H, W) x as a batch of one."""
    if unwrap(input).dim() == 3:  # unsqueeze, conv2d, squeeze: three nodes
        y = conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)
        return y.squeeze(0)  # (O, OH, OW)
    x, w, b = unwrap(input), unwrap(weight), unwrap(bias)
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    H, W = x.shape[-2:]
    same = padding == "same"
    if same:  # symmetric, plus the odd row/column at the bottom/right
        padding, extra = same_padding(tuple(w.shape[-2:]), dilation)
        x = pad_bottom_right(x, extra)
    padding = (0, 0) if padding == "valid" else _pair(padding, "padding")
    y = torch.conv2d(x, w, b, stride, padding, dilation, groups)  # (N, O, OH, OW)
    need = (needs(input), needs(weight), needs(bias))  # decided now: inputs are not kept

    def vjp(g: torch.Tensor) -> tuple:
        gx = gw = gb = None
        if FAST:  # the ones needed in one kernel call
            gx, gw = C.conv2d_grads_fast(g, x, w, stride, padding, dilation, groups, need[:2])
        else:
            if need[0]:
                gx = C.conv2d_input_grad(
                    g, w, tuple(x.shape[-2:]), stride, padding, dilation, groups
                )
            if need[1]:
                gw = C.conv2d_weight_grad(g, x, w.shape, stride, padding, dilation, groups)
        if same and gx is not None:
            gx = gx[:, :, :H, :W]  # without padding="same"'s extra row/column
        if need[2]:
            gb = g.sum(dim=(0, 2, 3))  # (O,)
        return gx, gw, gb

    return record("conv2d", y, (input, weight, bias), vjp)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """y = the max of each window; ∂x: dy to each window's argmax. Unbatched (C, H, W): a
    batch of one."""
    if input.dim() == 3:  # unsqueeze, max_pool2d, squeeze: three nodes
        args = (kernel_size, stride, padding, dilation, ceil_mode)
        return max_pool2d(input.unsqueeze(0), *args).squeeze(0)
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)[0]


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[Tensor, torch.Tensor]:
    """(y, where each maximum was: a flat index h·W + w, a constant), ``MaxPool2d``'s
    ``return_indices=True``; y recorded as `max_pool2d`'s, ∂x: dy to each index."""
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    if input.dim() == 3:  # unbatched (C, H, W): a batch of one
        y, indices = max_pool2d_with_indices(input.unsqueeze(0), *args)
        return y.squeeze(0), indices.squeeze(0)
    return _max_pool2d(input, *args)


def _max_pool2d(
    input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> tuple[Tensor, torch.Tensor]:
    """The batched (N, C, H, W) op: y recorded, and the argmax indices."""
    x = input.data
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride, "stride")
    window = (kernel, stride, _pair(padding, "padding"), _pair(dilation, "dilation"), ceil_mode)
    y, indices = _max_pool2d_with_indices(x, *window)  # (N, C, OH, OW) each; flat into H·W

    def vjp(g: torch.Tensor) -> tuple:
        if FAST:
            return (P.max_pool2d_input_grad_fast(g, x, indices, *window),)
        return (P.max_pool2d_input_grad(g, indices, x.shape),)

    return record("max_pool2d", y, (input,), vjp), indices


def layer_norm(
    input: Any,
    normalized_shape: Any,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
    cudnn_enable: bool = True,
) -> Tensor:
    """y = γ x̂ + β over the last dims; ∂ by `backprop.norm.layer_norm_grads`."""
    x, w, b = unwrap(input), unwrap(weight), unwrap(bias)
    shape = tuple(normalized_shape)
    y, mu, r = torch.native_layer_norm(x, shape, w, b, eps)  # r = 1/√(σ² + ε): (..., 1)
    need = (needs(input), needs(weight), needs(bias))  # decided now: inputs are not kept

    def vjp(g: torch.Tensor) -> tuple:
        if FAST:
            return N.layer_norm_grads_fast(g, x, mu, r, w, b, len(shape), need)
        x_hat = (x - mu) * r
        gx, gw, gb = N.layer_norm_grads(g, x_hat, r, w, b is not None, len(shape), need[0])
        return gx, gw if need[1] else None, gb if need[2] else None

    return record("layer_norm", y, (input, weight, bias), vjp)


def batch_norm(
    input: Any,
    weight: Any,
    bias: Any,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = False,
) -> Tensor:
    """y = γ x̂ + β per channel (running statistics updated in training, as the torch op does);
    ∂ by `backprop.norm.batch_norm_grads`. An empty batch (N = 0): torch.batch_norm's own rule,
    x·γ₀ + β₀ (empty; γ and β get zero gradients), no statistics (the kernel would divide by 0)."""
    x, w, b = unwrap(input), unwrap(weight), unwrap(bias)
    if x.numel() == 0:
        out = input.clone()  # (0, C, ...)
        out = out * weight[0] if weight is not None else out
        return out + bias[0] if bias is not None else out
    y, mu, invstd = torch.native_batch_norm(
        x, w, b, running_mean, running_var, training, momentum, eps
    )
    shape = [1] * x.dim()
    shape[1] = x.shape[1]  # (1, C, 1, ...)
    need = (needs(input), needs(weight), needs(bias))  # decided now: inputs are not kept

    def vjp(g: torch.Tensor) -> tuple:
        if FAST:
            return N.batch_norm_grads_fast(
                g, x, w, running_mean, running_var, mu, invstd, training, eps, need
            )
        mean, r = mu, invstd
        if not training:  # the running statistics, as they were in the forward
            mean, r = running_mean, 1.0 / torch.sqrt(running_var + eps)
        r = r.view(shape)
        x_hat = (x - mean.view(shape)) * r
        gx, gw, gb = N.batch_norm_grads(g, x_hat, r, w, training, need[0])
        return gx, gw if need[1] else None, gb if need[2] else None

    return record("batch_norm", y, (input, weight, bias), vjp)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    a = torch.softmax(input.data, dim)
    return record("softmax", a, (input,), lambda g: (A.softmax_backward(g, a, dim),))


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    la = torch.log_softmax(input.data, dim)
    return record("log_softmax", la, (input,), lambda g: (A.log_softmax_backward(g, la, dim),))


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: Any = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Y = drop(softmax(scale·Q Kᵀ + M)) V, M from ``attn_mask`` / ``is_causal`` (torch's
    ``scaled_dot_product_attention``). The causal case without a mask and with the default scale
    (what `CausalSelfAttention` calls) has the fast forms; any other, `ops.attention`."""
    if enable_gqa:
        raise NotImplementedError(
            "nnscratch.autograd: attention with enable_gqa=True has no op; repeat K and V over "
            "the query heads (repeat_interleave) and pass enable_gqa=False"
        )
    if attn_mask is not None and is_causal:
        raise RuntimeError(
            "scaled_dot_product_attention: an explicit attn_mask should not be set when "
            "is_causal=True (as in torch); put the causal mask into attn_mask instead"
        )
    q, k, v = unwrap(query), unwrap(key), unwrap(value)
    if attn_mask is not None or not is_causal or scale is not None or not fast_shapes(q, k, v):
        return attention_masked(query, key, value, attn_mask, dropout_p, is_causal, scale)
    if FAST and dropout_p == 0.0:  # the fused forward; A rebuilt from its log-sum-exps
        y, lse = AF.attention_flash(q, k, v)  # (B, H, T, D), (B, H, T)

        def vjp_flash(g: torch.Tensor) -> tuple:
            return AF.attention_backward_flash(g, q, k, v, y, lse)

        return record("attention", y, (query, key, value), vjp_flash)
    scores = A.attention_scores_fast if FAST else A.attention_scores
    a = scores(q, k)  # (B, H, T, T), kept for the backward
    a_drop, mask = a, None
    if dropout_p > 0.0:  # the mask drawn as the fused op draws it (one bernoulli_ over A)
        mask = torch.empty_like(a).bernoulli_(1.0 - dropout_p).div_(1.0 - dropout_p)
        a_drop = a * mask
    y = a_drop @ v  # (B, H, T, D)

    def vjp(g: torch.Tensor) -> tuple:
        backward = A.attention_backward_fast if FAST else A.attention_backward
        return backward(g, q, k, v, a, a_drop, mask)

    return record("attention", y, (query, key, value), vjp)
