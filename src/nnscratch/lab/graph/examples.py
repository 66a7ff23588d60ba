"""Tiny CNN and transformer forward passes, small enough for their autograd graph to be read.

    cnn           CNN((1, 4, 4), channels=(2,), 3 classes) on ``samples`` random 4×4 images,
                  cross-entropy against random labels
    transformer   CharTransformer(vocabulary 5, block 4, 1 layer, 1 head, width 4) on ``samples``
                  random windows, next-token cross-entropy

The graph shows what the layers are made of: convolution (``ConvolutionBackward0``), batch norm,
max-pooling, embedding lookups (``IndexBackward0``: ``weight[idx]``), layer norm, the fused
attention op and GELU, down to each parameter's ``AccumulateGrad``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nnscratch.losses import cross_entropy
from nnscratch.module import Module


def example(name: str, samples: int, seed: int) -> tuple[Module, torch.Tensor]:
    """(model, loss) of one forward pass of the tiny ``name`` model ('cnn' or 'transformer')."""
    net, loss_fn, x, y = example_inputs(name, samples, seed)
    return net, loss_fn(net(x), y)


def example_inputs(
    name: str, samples: int, seed: int
) -> tuple[Module, Callable, torch.Tensor, torch.Tensor]:
    """(model, loss_fn, x, y) of the tiny ``name`` model ('cnn' or 'transformer')."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    if name == "cnn":
        from nnscratch.models.cnn import CNN

        net = CNN((1, 4, 4), (2,), 3)
        x = torch.randn(samples, 16, generator=g)  # (N, 1·4·4)
        y = torch.randint(0, 3, (samples,), generator=g)  # (N,)
        return net, cross_entropy, x, y
    assert name == "transformer", name
    from nnscratch.models.transformer import CharTransformer, next_token_loss

    net = CharTransformer(5, 4, n_layer=1, n_head=1, n_embd=4)
    idx = torch.randint(0, 5, (samples, 4), generator=g)  # (N, T)
    y = torch.randint(0, 5, (samples, 4), generator=g)  # (N, T)
    return net, next_token_loss, idx, y
