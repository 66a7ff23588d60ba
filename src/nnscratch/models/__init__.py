"""Models built from the layers, one module per family.

    linear.py        LinearRegression, LogisticRegression, MLP   ↔ nn.Linear, nn.Sequential(...)
    cnn.py           CNN: conv → pool blocks, then an MLP head   ↔ nn.Sequential(nn.Conv2d, ...)
    transformer.py   CharTransformer: a GPT-style character LM    ↔ nn.Embedding + blocks + nn.Linear
    bigram.py        BigramCounts: next-character counts          (the baseline a LM must beat)

``from nnscratch.models import MLP`` keeps working: the names are re-exported here, the heavier
ones on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from nnscratch.models.linear import MLP, LinearRegression, LogisticRegression

_LAZY = {
    "CNN": "nnscratch.models.cnn",
    "CharTransformer": "nnscratch.models.transformer",
    "BigramCounts": "nnscratch.models.bigram",
}
__all__ = ["MLP", "LinearRegression", "LogisticRegression", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nnscratch.models' has no attribute {name!r}")
