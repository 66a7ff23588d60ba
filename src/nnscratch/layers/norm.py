"""Normalization layers.  ``LayerNorm`` replaces ``nn.LayerNorm``; ``BatchNorm1d`` and
``BatchNorm2d`` replace ``nn.BatchNorm1d`` and ``nn.BatchNorm2d``.

Both standardize, then scale and shift with learned γ (``weight``, starts at 1) and β (``bias``,
starts at 0):

    x̂ = (x − μ) / √(σ² + ε),      y = γ ⊙ x̂ + β,        σ² the *biased* variance (÷ n)

They differ only in what μ and σ² average over:

    LayerNorm    each sample over its last dims (``normalized_shape``): no batch statistics, so
                 training and evaluation compute the same thing.
    BatchNorm    each channel over the batch (and the spatial positions): (N, C) / (N, C, L) for
                 1d, (N, C, H, W) for 2d.  In training it uses the batch's statistics and updates
                 running estimates; in eval (``model.eval()``) it uses the running estimates:

                     running_mean ← (1 − m)·running_mean + m·μ_B
                     running_var  ← (1 − m)·running_var  + m·σ²_B · n/(n − 1)   (unbiased!)
                     num_batches_tracked ← num_batches_tracked + 1

                 m = ``momentum`` (0.1; PyTorch's m is 1 − the "momentum" of other libraries);
                 ``momentum=None`` makes it a plain average over all batches seen, m = 1/t.
                 Normalization itself always uses the biased σ²_B: the two variances differ, and
                 that is PyTorch's convention, not a bug.

``forward`` calls the fused torch ops (``torch.layer_norm``, ``torch.batch_norm``: torch ops, not
``torch.nn``); ``plain_forward`` is the formula above, line by line, tested and in ``verify``
next to them. Measured forward + backward, float32, one CPU thread: LayerNorm on 32×64×64
plain 3.5 ms vs 0.73 ms (4.8×); BatchNorm2d on 128×32×8×8 plain 15.1 ms vs 5.4 ms (2.8×).
The hand-derived backward (`nnscratch.backprop.norm`) follows the plain form.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nnscratch.module import Module, parameter


class LayerNorm(Module):
    """``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`` by hand.

    x (..., *normalized_shape);  μ, σ² over the last ``len(normalized_shape)`` dims.

    Example:
        >>> ln = LayerNorm(16)
        >>> ln(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])

    Args:
        normalized_shape: the trailing shape normalised over, e.g. (E,).
        eps: ε, added to the variance (default 1e-5).
        elementwise_affine: learnable per-element γ and β (default True).
        bias: with an additive bias (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        kw = {"device": device, "dtype": dtype}
        affine = elementwise_affine
        self.weight = parameter(torch.ones(shape, **kw)) if affine else None  # γ
        self.bias = parameter(torch.zeros(shape, **kw)) if affine and bias else None  # β

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # plain form: self.plain_forward(x), the same numbers (see the module docstring)
        return torch.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def plain_forward(self, x: torch.Tensor) -> torch.Tensor:
        """μ, σ² over the last dims, x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β: the formula as written."""
        dims = tuple(range(-len(self.normalized_shape), 0))  # the last dims
        mu = x.mean(dim=dims, keepdim=True)  # (..., 1)
        var = (x - mu).square().mean(dim=dims, keepdim=True)  # (..., 1) biased σ²
        x_hat = (x - mu) / torch.sqrt(var + self.eps)  # (..., *shape)
        if self.weight is not None:
            x_hat = x_hat * self.weight
        if self.bias is not None:
            x_hat = x_hat + self.bias
        return x_hat

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input shapes they accept."""

    dims_by_rank: dict[int, tuple[int, ...]] = {}  # input rank -> the dims μ, σ² average over

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        bias: bool = True,
    ) -> None:
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        kw = {"device": device, "dtype": dtype}
        self.weight = parameter(torch.ones(num_features, **kw)) if affine else None  # γ (C,)
        with_bias = affine and bias
        self.bias = parameter(torch.zeros(num_features, **kw)) if with_bias else None  # β (C,)
        track = track_running_stats
        self.register_buffer("running_mean", torch.zeros(num_features, **kw) if track else None)
        self.register_buffer("running_var", torch.ones(num_features, **kw) if track else None)
        self.register_buffer(
            "num_batches_tracked",
            torch.tensor(0, dtype=torch.long, device=device) if track else None,
        )

    def reduce_dims(self, x: torch.Tensor) -> tuple[int, ...]:
        """The dims of ``x`` that μ, σ² average over (every dim but the channel dim 1)."""
        if x.dim() not in self.dims_by_rank:
            ranks = " or ".join(f"{r}D" for r in self.dims_by_rank)
            raise ValueError(
                f"{type(self).__name__}: expected {ranks} input (got {x.dim()}D input)"
            )
        return self.dims_by_rank[x.dim()]

    def uses_batch_stats(self) -> bool:
        """Batch statistics in training, or always when no running statistics are kept."""
        return self.training or self.running_mean is None

    def check_batch(self, x: torch.Tensor) -> None:
        """Batch statistics need more than one value per channel (PyTorch's message); an empty
        batch (N = 0) passes through as an empty output, as in PyTorch."""
        if x.numel() // x.shape[1] == 1 or (x.numel() == 0 and x.shape[0] != 0):
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel when "
                f"training, got input of shape {tuple(x.shape)}"
            )

    def batch_statistics(
        self, x: torch.Tensor, dims: tuple[int, ...], shape: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """μ (C,) and the biased σ² (C,) of the batch, per channel."""
        self.check_batch(x)
        mu = x.mean(dim=dims)  # (C,)
        var = (x - mu.view(shape)).square().mean(dim=dims)  # (C,) biased σ²
        return mu, var

    def count_batch(self) -> float:
        """num_batches_tracked += 1; returns this update's m: momentum, or 1/t if it is None."""
        self.num_batches_tracked.add_(1)
        return 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum

    def update_running_stats(self, mu: torch.Tensor, var: torch.Tensor, n: int) -> None:
        """running ← (1 − m)·running + m·batch, with the *unbiased* batch variance σ²·n/(n − 1)."""
        with torch.no_grad():
            m = self.count_batch()
            unbiased = var * n / (n - 1)  # (C,)
            self.running_mean.copy_(m * mu + (1 - m) * self.running_mean)
            self.running_var.copy_(m * unbiased + (1 - m) * self.running_var)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # plain form: self.plain_forward(x), the same numbers and the same running statistics
        self.reduce_dims(x)  # the input's rank, checked
        m = 0.0  # the running statistics' m, used by torch.batch_norm in training only
        if self.uses_batch_stats():
            self.check_batch(x)
            if self.training and self.running_mean is not None:
                m = self.count_batch()
        # in training torch.batch_norm updates running_mean / running_var in place, as
        # update_running_stats does (m, unbiased variance); in eval it normalizes with them
        return torch.batch_norm(
            x, self.weight, self.bias, self.running_mean, self.running_var,
            self.uses_batch_stats(), m, self.eps, False,
        )  # fmt: skip

    def plain_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The formula as written: batch (or running) statistics, running estimates updated."""
        dims = self.reduce_dims(x)
        shape = [1] * x.dim()
        shape[1] = self.num_features  # (1, C, 1, ...) broadcasts a (C,) over the other dims
        if x.numel() == 0:  # an empty batch: nothing to normalise, counted as a batch (as torch)
            self.check_batch(x)
            if self.training and self.running_mean is not None:
                self.count_batch()
            return x * 1.0
        if self.uses_batch_stats():
            mu, var = self.batch_statistics(x, dims, shape)  # (C,), (C,)
            if self.training and self.running_mean is not None:
                self.update_running_stats(mu.detach(), var.detach(), x.numel() // x.shape[1])
        else:
            mu, var = self.running_mean, self.running_var  # (C,) the estimates, in eval
        x_hat = (x - mu.view(shape)) / torch.sqrt(var.view(shape) + self.eps)  # x's shape
        if self.weight is not None:
            x_hat = x_hat * self.weight.view(shape)
        if self.bias is not None:
            x_hat = x_hat + self.bias.view(shape)
        return x_hat

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats})"
        )


class BatchNorm1d(_BatchNorm):
    """``nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, bias=True)`` by hand.  x: (N, C) or (N, C, L); statistics per channel C.

    Example:
        >>> bn = BatchNorm1d(4)
        >>> bn(torch.randn(8, 4)).mean(dim=0).abs().max() < 1e-6
        tensor(True)

    Args:
        num_features: C, the channels (features) normalised.
        eps: ε, added to the variance (default 1e-5).
        momentum: weight of the new batch statistic in the running ones (default 0.1; None: a
            cumulative average).
        affine: learnable γ (weight) and β (bias) (default True).
        track_running_stats: keep running mean and variance for eval (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        bias: with β, when ``affine`` (default True).
    """

    dims_by_rank = {2: (0,), 3: (0, 2)}


class BatchNorm2d(_BatchNorm):
    """``nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, bias=True)`` by hand.  x: (N, C, H, W); statistics per channel over N, H, W.

    Example:
        >>> bn = BatchNorm2d(3)
        >>> bn(torch.randn(8, 3, 5, 5)).shape
        torch.Size([8, 3, 5, 5])

    Args:
        num_features: C, the channels of (N, C, H, W).
        eps: ε, added to the variance (default 1e-5).
        momentum: weight of the new batch statistic in the running ones (default 0.1; None: a
            cumulative average).
        affine: learnable γ (weight) and β (bias) (default True).
        track_running_stats: keep running mean and variance for eval (default True).
        device: where the parameters live (default None: torch's default device).
        dtype: the parameters' dtype (default None: torch's default, float32).
        bias: with β, when ``affine`` (default True).
    """

    dims_by_rank = {4: (0, 2, 3)}
