"""A fresh model, optimizer and loss for a prepared run, as `nnscratch.run.train` builds them
(same seed, so the same initial values): what ``lr-find`` and ``--overfit-batch`` train."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nnscratch.module import Module
from nnscratch.optim import Optimizer
from nnscratch.run import build
from nnscratch.run.prepare import Prepared, loss_target
from nnscratch.steps import check_supported


@dataclass
class Pieces:
    model: Module
    optimizer: Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    y: torch.Tensor  # the training target as the loss takes it


def pieces(data: Prepared) -> Pieces:
    config = data.config
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    shape = data.train.extra.get("image_shape")
    model = build.build_model(
        config, data.train.n_features, data.out_features, dtype, config.device, shape
    )
    optimizer = build.build_optimizer(config, model.parameters())
    loss_fn = build.build_loss(config)
    check_supported(config.backward, model, loss_fn)  # lr-find and --overfit-batch step with it
    return Pieces(model, optimizer, loss_fn, loss_target(data.train.y, config.loss, dtype))
