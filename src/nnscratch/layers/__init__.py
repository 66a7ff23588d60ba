"""Layers, one module per family; each module's docstring names the ``torch.nn`` layer it replaces.

    linear.py      Linear                                   ↔ nn.Linear
    activation.py  Activation("relu" | "tanh" | ...)        ↔ nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU
    container.py   Sequential, Flatten                      ↔ nn.Sequential, nn.Flatten
    conv.py        Conv2d (and the plain im2col form)       ↔ nn.Conv2d
    pool.py        MaxPool2d, AvgPool2d                     ↔ nn.MaxPool2d, nn.AvgPool2d

Parameters are plain leaf tensors with ``requires_grad=True``, drawn exactly as the ``torch.nn``
layer draws its own, so the same seed gives the same numbers.
"""

from nnscratch.layers.activation import ACTIVATIONS, Activation
from nnscratch.layers.container import Flatten, Sequential
from nnscratch.layers.conv import Conv2d
from nnscratch.layers.linear import Linear
from nnscratch.layers.pool import AvgPool2d, MaxPool2d

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Linear",
    "MaxPool2d",
    "Sequential",
]
