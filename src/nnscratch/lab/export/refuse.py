"""What the export does not cover yet, refused by name before any code is written.

A script that trains differently from the run would teach the wrong thing, so every feature the
generators do not write out is a one-line `UserError` that names it, never a silent difference.
"""

from __future__ import annotations

from nnscratch.errors import UserError
from nnscratch.lab.export.spec import Spec

MODELS = ("linear", "logistic", "mlp", "cnn", "transformer")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "linear")
LOSSES = ("mse", "l1", "huber", "cross_entropy", "bce_with_logits")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
DTYPES = ("float32", "float64")  # written as torch.<dtype>: a listed name, never other text
FILE_TYPES = (".csv", ".npy", ".npz")
TEXT_TYPES = (".txt",)  # for the transformer


def check(spec: Spec, epoch: int, scheduler: dict | None = None) -> None:
    """`UserError` naming the first feature of the run that the export cannot reproduce;
    ``epoch`` is the last epoch the checkpoint holds, ``scheduler`` its scheduler state."""
    c = spec.config
    problems = [
        (c.model not in MODELS, f"the {c.model} model"),
        (c.init_gain != 1, f"a scaled initialisation (--init-gain {c.init_gain})"),
        (c.model in ("cnn", "transformer") and c.dropout > 0, f"dropout (--dropout {c.dropout})"),
        (c.optimizer not in OPTIMIZERS, f"the optimizer {c.optimizer!r}"),
        (c.scheduler not in SCHEDULERS, f"the schedule {c.scheduler!r}"),
        (c.loss not in LOSSES, f"the loss {c.loss!r}"),
        (c.dtype not in DTYPES, f"the dtype {c.dtype!r}"),
        (c.model == "mlp" and c.activation not in ACTIVATIONS, f"the activation {c.activation!r}"),
        (
            c.data in ("builtin:xor", "builtin:spiral"),
            f"the generated data set {c.data!r} (numpy draws; moons, circles, blobs are covered)",
        ),
        (
            c.device != "cpu",
            f"a run on {c.device!r} (the script runs on the CPU; train with --device cpu)",
        ),
        (
            spec.data_path is not None and spec.data_kind not in _types(spec),
            f"data from {_kind(spec)} (CSV files and built-in data sets are covered)",
        ),
    ]
    t_max = (scheduler or {}).get("T_max", c.epochs)
    problems.append(
        (
            c.scheduler == "cosine" and t_max != c.epochs,
            f"a cosine schedule resumed past its T_max ({t_max} of {c.epochs} epochs)",
        )
    )
    for bad, feature in problems:
        if bad:
            raise UserError(f"export does not cover {feature} yet; no script was written")
    if epoch != c.epochs:
        source = spec.source.raw
        raise UserError(
            f"{source}: the run stopped at epoch {epoch} of {c.epochs} (interrupted or "
            f"diverged), so no script can reproduce its checkpoint; finish it first with "
            f"`nnscratch train --resume {source}`"
        )
    path = spec.data_path.raw if spec.data_path is not None else None
    if path is not None and spec.data_kind == ".npy":
        from nnscratch.data.files import MAPPED_MIN_BYTES

        if path.is_file() and path.stat().st_size >= MAPPED_MIN_BYTES:
            raise UserError(
                "export does not cover a .npy file of 16 MiB or more yet (read from disk in "
                "blocks, its statistics summed block by block); no script was written"
            )
    if path is not None and not path.is_file():
        raise UserError(
            f"{path}: the run's data file is not there (a relative --data path is read "
            "from the folder the command runs in); run export from the folder train ran in"
        )


def _kind(spec: Spec) -> str:
    if spec.data_path is None:
        return "a built-in data set"
    if spec.data_path.raw.is_dir():
        return "a folder of images"
    return f"a {spec.data_kind or 'extensionless'} file"


def check_same_data(spec: Spec) -> None:
    """`UserError` unless the data read now is the data the run trained on (a data file edited
    since, or a relative --data path read from another folder, would train something else)."""
    from dataclasses import replace

    from nnscratch.lab.export.spec import raw
    from nnscratch.run.checkpoint.data import data_state
    from nnscratch.run.prepare import prepare

    config = spec.config
    if spec.data_path is not None:
        config = replace(config, data=str(spec.data_path.raw))
    now = data_state(prepare(config))
    keys = ("features", "target", "classes", "standardizer", "imputer", "rows", "train_sha256")
    for key in keys:
        if raw(spec.data.get(key)) != now[key]:
            raise UserError(
                f"{config.data}: not the data the run trained on ({key} differs: the file "
                "changed since, or a relative --data path is read from another folder); "
                "no script was written"
            )


def _types(spec: Spec) -> tuple[str, ...]:
    return TEXT_TYPES if spec.config.model == "transformer" else FILE_TYPES
