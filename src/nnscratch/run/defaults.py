"""Sensible defaults per data set, so that ``nnscratch train --data builtin:digits`` alone does
something good. Every ``None`` in a `TrainConfig` is filled here; what the user set is kept.

The numbers were chosen by running each data set with its seed-0 split (see README: Targets).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nnscratch.run.config import TrainConfig

# Learning rate when the user picks an optimizer other than the data set's default.
OPTIMIZER_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-2}

SPLIT = {"val_fraction": 0.15, "test_fraction": 0.2}

PER_DATASET: dict[str, dict[str, Any]] = {
    # the seed: full-batch gradient descent on all the data, no split
    "synthetic": dict(
        model="linear", optimizer="sgd", lr=0.1, epochs=200, val_fraction=0.0, test_fraction=0.0
    ),
    "diabetes": dict(model="linear", optimizer="sgd", lr=0.1, epochs=2000, **SPLIT),
    "iris": dict(model="logistic", optimizer="adam", lr=0.05, epochs=300, **SPLIT),
    "wine": dict(model="logistic", optimizer="adam", lr=0.05, epochs=200, **SPLIT),
    "breast_cancer": dict(model="logistic", optimizer="adam", lr=0.01, epochs=300, **SPLIT),
    "digits": dict(
        model="mlp", hidden="128", optimizer="adam", lr=1e-3, epochs=40, batch_size=32, **SPLIT
    ),
    "moons": dict(model="mlp", hidden="16,16", optimizer="adam", lr=0.01, epochs=500, **SPLIT),
    "circles": dict(model="mlp", hidden="16,16", optimizer="adam", lr=0.01, epochs=500, **SPLIT),
    "blobs": dict(model="logistic", optimizer="adam", lr=0.05, epochs=200, **SPLIT),
    "xor": dict(model="mlp", hidden="16,16", optimizer="adam", lr=0.01, epochs=500, **SPLIT),
    "spiral": dict(model="mlp", hidden="32,32", optimizer="adam", lr=0.01, epochs=1000, **SPLIT),
}
# --model cnn on images (digits, a .npz of images) and --model transformer on text
CNN = dict(optimizer="adam", lr=2e-3, epochs=15, batch_size=32, **SPLIT)
TEXT = dict(model="transformer", optimizer="adamw", lr=3e-3, epochs=8, batch_size=32, **SPLIT)
FILE_REGRESSION = dict(model="linear", optimizer="sgd", lr=0.1, epochs=1000, **SPLIT)
FILE_CLASSIFICATION = dict(
    model="mlp", hidden="64", optimizer="adam", lr=1e-3, epochs=100, batch_size=32, **SPLIT
)
# --model mlp on a regression set whose default is the linear model (diabetes, a CSV): the
# linear model's SGD lr 0.1 makes an MLP diverge on a raw target (diabetes' runs 25–346)
REGRESSION_MLP = dict(
    model="mlp", hidden="64", optimizer="adam", lr=0.01, epochs=300, batch_size=32, **SPLIT
)


def data_name(config: TrainConfig) -> str:
    """'synthetic', the built-in name after 'builtin:', or '' for a file."""
    if config.data == "synthetic":
        return "synthetic"
    return config.data.removeprefix("builtin:") if config.data.startswith("builtin:") else ""


def resolve(
    config: TrainConfig, task: str, n_classes: int | None, kind: str = "table"
) -> TrainConfig:
    """A copy of ``config`` with every ``None`` replaced by the default for this data set/task;
    ``kind``: "table", "images" (a CNN by default, except for digits) or "text"."""
    name = data_name(config)
    if kind == "text":
        table = dict(TEXT)
    elif config.model == "cnn" or (kind == "images" and name not in PER_DATASET):
        table = dict(CNN, model="cnn")
    elif name in PER_DATASET:
        table = dict(PER_DATASET[name])
    else:
        table = dict(FILE_REGRESSION if task == "regression" else FILE_CLASSIFICATION)
    if task == "regression" and config.model == "mlp" and table.get("model") != "mlp":
        split = {k: table[k] for k in ("val_fraction", "test_fraction")}  # the data set's split
        table = dict(REGRESSION_MLP, **split)
    if task == "classification" and table.get("model") == "linear":
        table["model"] = "logistic"
    if task == "regression" and table.get("model") == "logistic":
        table["model"] = "linear"
    if config.optimizer is not None and config.optimizer != table["optimizer"]:
        table["lr"] = OPTIMIZER_LR[
            config.optimizer
        ]  # the data set's lr was tuned for its optimizer
    if config.model == "mlp" and table.get("hidden") is None:
        table["hidden"] = "64"
    if config.loss is None:
        if task == "regression":
            table["loss"] = "mse"
        else:
            binary = n_classes == 2 and kind != "text"  # text: softmax over the characters
            table["loss"] = "bce_with_logits" if binary else "cross_entropy"
    changes = {k: v for k, v in table.items() if getattr(config, k, "missing") is None}
    return replace(config, **changes)
