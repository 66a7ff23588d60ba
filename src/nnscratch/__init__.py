"""nnscratch: neural networks from first principles on raw PyTorch tensors.

The layout is the mapping table (each module's docstring names the PyTorch piece it replaces):

    module.py       parameter(), Module       ↔ nn.Parameter, nn.Module
    init.py         linear_ init              ↔ nn.init / nn.Linear.reset_parameters
    layers/         Linear, Conv2d, ...       ↔ nn.Linear, nn.Conv2d, ... (one module per family)
    models/         MLP, CNN, CharTransformer ↔ nn.Sequential(...) (one module per family)
    functional.py   relu, softmax, ...        ↔ torch.relu, F.softmax, ...
    losses.py       mse_loss, ...             ↔ nn.MSELoss, ...
    optim/          SGD, Adam, ...            ↔ torch.optim
    clip.py         clip_grad_norm_           ↔ nn.utils.clip_grad_norm_
    data/           batches, data sets, files ↔ DataLoader(TensorDataset), torchvision.datasets
    loop.py         fit: the five-step loop   ↔ the training loop
    steps.py        steps 1–3 per variation   ↔ autograd / torch.compile / backprop by hand / DDP
    backprop/       loss_and_grads            ↔ loss.backward(), the chain rule by hand
    autograd/       Tensor, backward()        ↔ torch.autograd: the graph, walked in reverse
    health/         activation, gradient and update statistics, findings (train --health)
    run/            train, predict, the run folder, the command line (the tool around the pieces)
    lab/            verify/, explain/, pitfalls/, graph/, bench/, export/, live/, practice/:
                    the pieces at work and proven (they replace nothing; verify/ imports torch.nn)
    errors.py       UserError: a mistake the user can fix, one ``error:`` line
    __main__.py     ``python -m nnscratch``
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562), so that `nnscratch --help` does not pay for importing torch.
_LAZY = {
    "Linear": "nnscratch.layers",
    "LinearRegression": "nnscratch.models",
    "LogisticRegression": "nnscratch.models",
    "MLP": "nnscratch.models",
    "Module": "nnscratch.module",
    "parameter": "nnscratch.module",
    "fit": "nnscratch.loop",
}
__all__ = list(_LAZY)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nnscratch' has no attribute {name!r}")


def __dir__() -> list[str]:
    """``dir(nnscratch)`` and tab completion list the lazy names too (PEP 562)."""
    return sorted({*globals(), *_LAZY})
