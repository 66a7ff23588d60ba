"""Linear models and the MLP, built from `Linear`.

``LinearRegression`` is the seed's model, ``y = w·x + b``, generalised to ``in_features`` inputs:
it is a `Linear` layer with one output, so its parameters have ``nn.Linear(in_features, 1)``'s
shapes (weight ``(1, in_features)``, bias ``(1,)``) and initial values.

``LogisticRegression`` is the same affine map read as class scores (logits): one logit for two
classes (trained with ``binary_cross_entropy_with_logits``), one per class otherwise (softmax
regression, trained with ``cross_entropy``).

``MLP`` stacks them with non-linearities in between, as ``nn.Sequential(nn.Linear, nn.ReLU, ...,
nn.Linear)`` does; its parameter names (``"0.weight"``, ``"2.weight"``...) and initial values match.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnscratch.layers import Activation, Linear, Sequential


class LinearRegression(Linear):
    """``y_pred = x @ w.T + b``: the seed's model.  Same as ``nn.Linear(in_features, 1)``.

    ``w`` and ``b`` are the seed's names for ``weight`` and ``bias`` (the same tensors).

    Args:
        in_features: input features F (default 1: the seed's model).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        generator: the ``torch.Generator`` the initial values are drawn from (default None: the
            global RNG, as in torch.nn).
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


class LogisticRegression(Linear):
    """Logits ``x @ W.T + b``: ``(N, 1)`` for two classes, ``(N, C)`` for C > 2 classes.

    Args:
        in_features: input features F.
        num_classes: K, the classes (default 2).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int = 2,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"LogisticRegression needs num_classes >= 2, got {num_classes}")
        out = 1 if num_classes == 2 else num_classes
        super().__init__(in_features, out, bias=True, device=device, dtype=dtype)
        self.num_classes = num_classes


class MLP(Sequential):
    """``Linear → act → Linear → act → … → Linear``, equal to the matching ``nn.Sequential``.

    h₀ = x,   hₖ = act(hₖ₋₁ Wₖᵀ + bₖ)  for each hidden layer,   y = h_L W_outᵀ + b_out

    Args:
        in_features: input features F.
        hidden: the hidden layers' widths, e.g. [64, 64].
        out_features: outputs O.
        activation: after each hidden layer: 'relu' (default), 'tanh', 'sigmoid' or 'gelu'.
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        activation: str = "relu",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        sizes = [in_features, *hidden]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [Linear(fan_in, fan_out, device=device, dtype=dtype), Activation(activation)]
        layers.append(Linear(sizes[-1], out_features, device=device, dtype=dtype))
        super().__init__(*layers)
        self.in_features, self.hidden, self.out_features = in_features, list(hidden), out_features
        self.activation = activation
