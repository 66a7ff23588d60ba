"""Models built from the layers.

``LinearRegression`` is the seed's model, ``y = w·x + b``, generalised to ``in_features`` inputs:
it is a `Linear` layer with one output, so its parameters have ``nn.Linear(in_features, 1)``'s
shapes (weight ``(1, in_features)``, bias ``(1,)``) and initial values.
"""

from __future__ import annotations

import torch

from nnscratch.layers import Linear


class LinearRegression(Linear):
    """``y_pred = x @ w.T + b``: the seed's model.  Same as ``nn.Linear(in_features, 1)``.

    ``w`` and ``b`` are the seed's names for ``weight`` and ``bias`` (the same tensors).
    """

    def __init__(
        self,
        in_features: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(in_features, 1, bias=True, device=device, dtype=dtype, generator=generator)

    @property
    def w(self) -> torch.Tensor:
        return self.weight  # (1, in_features)

    @property
    def b(self) -> torch.Tensor:
        return self.bias  # (1,)
