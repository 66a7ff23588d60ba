"""Turn a resolved `TrainConfig` into the objects of a run: model, loss, optimizer, scheduler.

Each factory maps a config name to the hand-written piece (``"adam"`` → `nnscratch.optim.Adam`),
and refuses combinations that cannot work with a `UserError` that says what to do instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from nnscratch import losses, optim
from nnscratch.errors import UserError
from nnscratch.models import MLP, LinearRegression, LogisticRegression
from nnscratch.module import Module
from nnscratch.run.config import TrainConfig

CLASSIFICATION_LOSSES = ("cross_entropy", "bce_with_logits")


def check_loss_for_task(config: TrainConfig, task: str, n_classes: int | None) -> None:
    if task == "regression" and config.loss in CLASSIFICATION_LOSSES:
        raise UserError(
            f"--loss {config.loss} is a classification loss but the target is continuous "
            "(regression); use --loss mse, l1 or huber, or --task classification for labels"
        )
    if task == "classification" and config.loss not in CLASSIFICATION_LOSSES:
        raise UserError(
            f"--loss {config.loss} is a regression loss but the target holds class labels; "
            "use --loss cross_entropy (or bce_with_logits for two classes)"
        )
    if config.loss == "bce_with_logits" and n_classes != 2:
        raise UserError(
            f"--loss bce_with_logits needs exactly 2 classes, the target has {n_classes}; "
            "use --loss cross_entropy"
        )
    if task not in ACCEPTS[config.model][1]:
        others = [m for m, (_, tasks) in ACCEPTS.items() if task in tasks]
        raise UserError(
            f"--model {config.model} is for {' or '.join(ACCEPTS[config.model][1])}; "
            f"for a {task} use --model {', '.join(others)}"
        )


def output_size(config: TrainConfig, task: str, n_classes: int | None) -> int:
    if task == "regression" or config.loss == "bce_with_logits":
        return 1
    assert n_classes is not None
    return n_classes


# What each model family reads: the kinds of data (`data_kind`) and the tasks it learns. The one
# list: `check_model_for_data` and `check_loss_for_task` refuse the rest, and the round-trip
# matrix (tests/test_roundtrip_matrix.py) trains every pair it allows and expects a refusal for
# every other. A new family is one line here (and its name in `config.MODELS`).
BOTH = ("regression", "classification")
ACCEPTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # family: (kinds, tasks)
    "linear": (("table", "images"), BOTH),  # one output: a regression; C: softmax regression
    "logistic": (("table", "images"), ("classification",)),
    "mlp": (("table", "images"), BOTH),  # images as rows of pixels
    "cnn": (("images",), ("classification",)),  # image labels are classes
    "transformer": (("text",), ("classification",)),  # the next character is a class
}
NOUN = {"table": "a table", "images": "images", "text": "text"}
WHERE = {  # how to get data of a kind, for a family that reads only that kind
    "images": "--data builtin:digits, or a .npz with 'X' (N, C, H, W) or (N, H, W) and labels 'y'",
    "text": "--data builtin:python_docs or a UTF-8 .txt file",
}


def data_kind(extra: dict) -> str:
    """'text', 'images' or 'table': what a `Dataset`'s ``extra`` says its rows are."""
    return "images" if "image_shape" in extra else extra.get("kind", "table")


def check_model_for_data(config: TrainConfig, extra: dict) -> None:
    """The family must read this kind of data (`ACCEPTS`): images need ``--model cnn`` or a flat
    model; text needs ``--model transformer``."""
    kind, kinds = data_kind(extra), ACCEPTS[config.model][0]
    if kind not in kinds:
        where = f": use {WHERE[kinds[0]]}" if len(kinds) == 1 and kinds[0] in WHERE else ""
        needs = ", ".join(m for m, (k, _) in ACCEPTS.items() if kind in k)
        raise UserError(
            f"--model {config.model} needs {' or '.join(NOUN[k] for k in kinds)}, not "
            f"{NOUN[kind]}{where}; for {NOUN[kind]} use --model {needs}"
        )
    if config.model == "cnn":
        _, H, W = extra["image_shape"]
        if min(H, W) < 2 ** len(config.channel_sizes()):
            raise UserError(
                f"{H}×{W} images are too small for {len(config.channel_sizes())} conv/pool blocks "
                "(each halves the size); give fewer --channels"
            )


def build_model(
    config: TrainConfig,
    in_features: int,
    out_features: int,
    dtype: torch.dtype,
    device: str,
    image_shape: list[int] | None = None,
) -> Module:
    """The model ``config.model`` names. ``in_features`` is the row width (the block size for a
    transformer, whose ``out_features`` is the vocabulary size); a CNN also needs ``image_shape``.
    Its linear and conv weights are multiplied by ``config.init_gain`` (`scale_weights_`)."""
    model = _model(config, in_features, out_features, dtype, device, image_shape)
    if config.init_gain != 1:  # 1: the layers' own init, untouched
        scale_weights_(model, config.init_gain)
    return model


def scale_weights_(model: Module, gain: float) -> None:
    """W ← gain·W for the weight of every linear and conv layer; biases, embeddings and norms
    keep their init (makemore part 3's experiments: too large saturates tanh, too small starves
    the gradient)."""
    from nnscratch.health.recorder import weight_names

    weights = weight_names(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in weights:
                p.mul_(gain)


def _model(
    config: TrainConfig,
    in_features: int,
    out_features: int,
    dtype: torch.dtype,
    device: str,
    image_shape: list[int] | None,
) -> Module:
    kw = {"dtype": dtype, "device": device}
    if config.model == "cnn":
        from nnscratch.models.cnn import CNN

        assert image_shape is not None
        return CNN(image_shape, config.channel_sizes(), out_features, config.dropout, **kw)
    if config.model == "transformer":
        from nnscratch.models.transformer import CharTransformer

        sizes = {"n_layer": config.n_layer, "n_head": config.n_head, "n_embd": config.n_embd}
        return CharTransformer(out_features, in_features, **sizes, dropout=config.dropout, **kw)
    if config.model == "mlp":
        return MLP(in_features, config.hidden_sizes(), out_features, config.activation, **kw)
    if out_features == 1 and config.model == "linear":
        return LinearRegression(in_features, **kw)
    return LogisticRegression(in_features, max(out_features, 2), **kw)


def build_loss(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if config.model == "transformer":  # cross-entropy at every position: (B, T, V) vs (B, T)
        from nnscratch.models.transformer import next_token_loss

        return next_token_loss
    return losses.LOSSES[config.loss]


def build_optimizer(config: TrainConfig, params: Iterable[torch.Tensor]) -> optim.Optimizer:
    """The optimizer the config names, over ``params`` (the model's parameters). With
    ``flat_parameters`` the parameters are first moved into one flat buffer
    (`nnscratch.optim.flat.FlatParameters`; they stay the model's leaves, as views into it) and the
    optimizer gets that one buffer."""
    if config.flat_parameters:
        from nnscratch.optim.flat import FlatParameters

        params = [FlatParameters(params).param]
    c = config
    options = {  # each optimizer's own arguments, besides lr and weight_decay
        "sgd": lambda: {"momentum": c.momentum, "dampening": c.dampening, "nesterov": c.nesterov},
        "adam": lambda: {"betas": c.betas_pair(), "eps": c.eps},
        "adamw": lambda: {"betas": c.betas_pair(), "eps": c.eps},  # AdamW only decays differently
        "rmsprop": lambda: {"alpha": c.alpha, "eps": c.eps, "momentum": c.momentum},
    }[c.optimizer]()
    return optim.OPTIMIZERS[c.optimizer](params, lr=c.lr, weight_decay=c.weight_decay, **options)


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer):
    """A scheduler stepped once per epoch, or None."""
    from nnscratch.optim import lr_scheduler

    if config.scheduler == "none":
        return None
    options = {
        "step": {"step_size": config.step_size, "gamma": config.gamma},
        "cosine": {"T_max": max(config.epochs, 1)},
        "linear": {"start_factor": config.start_factor, "total_iters": config.total_iters},
    }[config.scheduler]
    return lr_scheduler.SCHEDULERS[config.scheduler](optimizer, **options)
