"""Layers, one module per family; each module's docstring names the ``torch.nn`` layer it replaces.

    linear.py      Linear                                   ↔ nn.Linear
    activation.py  Activation("relu" | "tanh" | ...)        ↔ nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU
    container.py   Sequential, Flatten                      ↔ nn.Sequential, nn.Flatten
    conv.py        Conv2d (and the plain im2col form)       ↔ nn.Conv2d
    pool.py        MaxPool2d, AvgPool2d                     ↔ nn.MaxPool2d, nn.AvgPool2d
    norm.py        LayerNorm, BatchNorm1d, BatchNorm2d      ↔ nn.LayerNorm, nn.BatchNorm1d/2d
    dropout.py     Dropout                                  ↔ nn.Dropout
    embedding.py   Embedding                                ↔ nn.Embedding
    attention.py   CausalSelfAttention                      ↔ nn.MultiheadAttention (causal)
    transformer.py TransformerBlock (pre-LN, GELU MLP)      ↔ nn.TransformerEncoderLayer(norm_first)

Parameters are plain leaf tensors with ``requires_grad=True``, drawn exactly as the ``torch.nn``
layer draws its own, so the same seed gives the same numbers.

Where one torch op computes a layer's formula much faster than the formula written out, the
layer's ``forward`` calls the op and the written-out form stays beside it, tested and in
``verify`` (factors: forward + backward, float32, one CPU thread, measured on this project's
sizes):

    Conv2d               torch.conv2d                    conv.conv2d_unfold (im2col)       1.4–4.5×
    MaxPool2d            torch.max_pool2d                pool.max_pool2d_unfold            1.5×
    LayerNorm, BatchNorm torch.layer_norm / batch_norm   .plain_forward                    4.8× / 2.8×
    CausalSelfAttention  aten scaled_dot_product_attn.   attention.attention               2.4–3.3×
    TransformerBlock     aten gelu                       nnscratch.functional.gelu         6.4×

The hand-derived backward (`nnscratch.backprop`) follows the written-out forms.
"""

from nnscratch.layers.activation import ACTIVATIONS, Activation
from nnscratch.layers.attention import CausalSelfAttention
from nnscratch.layers.container import Flatten, Sequential
from nnscratch.layers.conv import Conv2d
from nnscratch.layers.dropout import Dropout
from nnscratch.layers.embedding import Embedding
from nnscratch.layers.linear import Linear
from nnscratch.layers.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from nnscratch.layers.pool import AvgPool2d, MaxPool2d
from nnscratch.layers.transformer import TransformerBlock

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "CausalSelfAttention",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Sequential",
    "TransformerBlock",
]
