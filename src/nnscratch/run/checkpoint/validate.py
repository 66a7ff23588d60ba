"""Every field of a checkpoint checked by type and allowed value before anything uses it.

A checkpoint is input like any other: a hand-edited or re-hashed file must give an ``error:``
line, not a traceback deep inside ``load_state_dict``. The reference for what is allowed is the
run itself, rebuilt from the saved configuration:

    config.json     each `TrainConfig` field of its declared type, a listed choice where the CLI
                    restricts it (dtype, model, optimizer, loss, activation, device, backward,
                    scheduler, ...), nothing left unresolved, then `TrainConfig.validate`; a
                    field the checkpoint predates takes its default; an unknown one is an error
    data.json       task, features, target, classes, out_features, standardizer, imputer, rows,
                    image_shape (the images' [C, H, W], for any model; a CNN needs it):
                    each of its type and consistent with the others and with the config
    state, metrics  epoch, step, elapsed of their types; one metrics record per epoch
    model, rng      `validate_tensors`
    optimizer,      `validate_optim`
    scheduler
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from nnscratch.errors import UserError
from nnscratch.run import build
from nnscratch.run.checkpoint.read import corrupted
from nnscratch.run.config import TrainConfig

RESOLVED = ("model", "optimizer", "loss", "lr", "epochs", "val_fraction", "test_fraction")
TASKS = ("regression", "classification")
RECORD_LIMIT = 64 * 1024  # bytes of one metrics line, at most (a real one is ~200)


def number(x: Any) -> bool:
    return type(x) in (int, float) and math.isfinite(x)


def config(file: Path, values: Any) -> TrainConfig:
    """A `TrainConfig` from config.json, every field checked before the object is built."""
    if not isinstance(values, dict):
        raise corrupted(file, "not a JSON object of configuration fields")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"{file}: unknown configuration fields {unknown}; a newer nnscratch?")
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name not in values:
            continue  # a field newer than the checkpoint: its default (the behaviour before it)
        value, allowed = values[f.name], get_args(hints[f.name]) or (hints[f.name],)
        ok = (
            (value is None and type(None) in allowed)
            or (type(value) is bool and bool in allowed)
            or (type(value) is int and (int in allowed or float in allowed))
            or (type(value) is float and float in allowed and math.isfinite(value))
            or (type(value) is str and str in allowed)
        )
        if not ok:
            raise corrupted(file, f"{f.name!r} is {value!r}, not a {hints[f.name]}")
        if type(value) is int and int not in allowed:  # JSON's 2 for 2.0: a float, as the CLI
            values[f.name] = float(value)  # gives it (a huge int would overflow torch's int64)
        choices = f.metadata.get("choices")
        if choices and value is not None and value not in choices:
            raise corrupted(file, f"{f.name!r} is {value!r}, not one of {', '.join(choices)}")
    unresolved = [n for n in RESOLVED if values.get(n) is None]
    if unresolved:
        raise corrupted(file, f"{', '.join(unresolved)} left unresolved (null)")
    if values.get("task") not in TASKS:
        raise corrupted(file, f"'task' is {values.get('task')!r}, not one of {', '.join(TASKS)}")
    try:
        return TrainConfig(**values).validate()
    except UserError as e:
        raise corrupted(file, f"a value no run can have ({e})") from None


def data(file: Path, values: Any, cfg: TrainConfig) -> dict[str, Any]:
    """data.json's fields, consistent with each other and with the configuration."""
    if not isinstance(values, dict):
        raise corrupted(file, "not a JSON object")

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise corrupted(file, what)

    task, features, classes = values.get("task"), values.get("features"), values.get("classes")
    need(task == cfg.task, f"'task' is {task!r}, the configuration says {cfg.task!r}")
    need(isinstance(values.get("name"), str), "'name' must be a string")
    need(isinstance(values.get("target"), str), "'target' must be a column name")
    need(
        isinstance(features, list)
        and len(features) >= 1
        and all(isinstance(f, str) for f in features)
        and len(set(features)) == len(features),
        "'features' must be a list of distinct column names",
    )
    if task == "regression":
        need(classes is None, "'classes' must be null for a regression")
    else:
        need(
            isinstance(classes, list)
            and len(classes) >= 2
            and all(isinstance(c, str) or number(c) for c in classes)
            and len(set(classes)) == len(classes),
            "'classes' must list at least 2 distinct labels (strings or numbers)",
        )
    n_classes = None if classes is None else len(classes)
    need(
        cfg.loss != "bce_with_logits" or n_classes == 2,
        "'classes' must list exactly 2 labels for a bce_with_logits run (one output)",
    )
    out = build.output_size(cfg, task, n_classes)
    got = values.get("out_features")
    need(type(got) is int and got == out, f"'out_features' must be {out} for this run")
    std = values.get("standardizer")
    if std is not None:
        need(
            isinstance(std, dict)
            and set(std) == {"mean", "std"}
            and all(isinstance(std[k], list) and len(std[k]) == len(features) for k in std)
            and all(number(v) for v in std["mean"])
            and all(number(v) and v > 0 for v in std["std"]),
            f"'standardizer' must hold 'mean' and 'std' ({len(features)} finite numbers each, "
            "every std > 0)",
        )
    imputer = values.get("imputer")  # --missing mean: absent or null otherwise
    need(
        (imputer is None) == (cfg.missing != "mean")
        and (
            imputer is None
            or isinstance(imputer, dict)
            and set(imputer) == {"mean"}
            and isinstance(imputer["mean"], list)
            and len(imputer["mean"]) == len(features)
            and all(number(v) for v in imputer["mean"])
        ),
        f"'imputer' must hold 'mean' ({len(features)} finite numbers) for a --missing mean run "
        "and be null for any other",
    )
    shape = values.get("image_shape")  # (C, H, W) of image data, whatever the model; else null
    need(
        shape is None
        or (
            isinstance(shape, list)
            and len(shape) == 3
            and all(type(d) is int and d >= 1 for d in shape)
            and shape[0] * shape[1] * shape[2] == len(features)
        ),
        f"'image_shape' must be null or [C, H, W] with C·H·W = {len(features)} features",
    )
    need(shape is not None or cfg.model != "cnn", "'image_shape' is needed for a CNN run")
    rows = values.get("rows")
    need(
        isinstance(rows, dict)
        and set(rows) == {"train", "val", "test"}
        and all(type(v) is int and v >= 0 for v in rows.values())
        and rows["train"] >= 1,
        "'rows' must count the train (>= 1), val and test rows",
    )
    digest = values.get("train_sha256")
    need(
        isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest) is not None,
        "'train_sha256' must be 64 hex digits",
    )
    return values


def state(file: Path, values: Any, cfg: TrainConfig, epoch: int) -> dict[str, Any]:
    """state.json: epoch (as in the manifest, at most the configured epochs), step, elapsed,
    the metrics mark (one line per epoch, of a sane size)."""
    keys = ("epoch", "step", "elapsed", "optimizer", "scheduler", "metrics")
    if not isinstance(values, dict) or set(values) != set(keys):
        raise corrupted(file, f"expected exactly the keys {', '.join(keys)}")
    if values["epoch"] != epoch or type(values["epoch"]) is not int or epoch > cfg.epochs:
        raise corrupted(
            file, f"'epoch' is {values['epoch']!r}; the manifest says {epoch} (of {cfg.epochs})"
        )
    if type(values["step"]) is not int or values["step"] < 0:
        raise corrupted(file, f"'step' must be an integer >= 0, got {values['step']!r}")
    if not number(values["elapsed"]) or values["elapsed"] < 0:
        raise corrupted(file, f"'elapsed' must be a number of seconds, got {values['elapsed']!r}")
    mark = values["metrics"]
    if not (
        isinstance(mark, dict)
        and set(mark) == {"lines", "bytes", "sha256"}
        and mark["lines"] == epoch
        and type(mark["bytes"]) is int
        and 0 <= mark["bytes"] <= RECORD_LIMIT * epoch
        and isinstance(mark["sha256"], str)
    ):
        raise corrupted(
            file, f"'metrics' must mark {epoch} lines of at most {RECORD_LIMIT} bytes each"
        )
    return values


def records(file: Path, lines: list[Any], epoch: int) -> list[dict[str, Any]]:
    """One record per epoch done, numbered 1..epoch, with a finite training loss."""
    if len(lines) != epoch:
        raise corrupted(file, f"{len(lines)} records for {epoch} epochs")
    for i, r in enumerate(lines):
        ok = isinstance(r, dict) and type(r.get("epoch")) is int and r["epoch"] == i + 1
        ok = ok and number(r.get("train_loss"))
        scalars = (v is None or type(v) in (int, float, str, bool) for v in _leaves(r))
        if not ok or not all(scalars):
            raise corrupted(file, f"record {i + 1} is not a metrics record of epoch {i + 1}")
    return lines


def _leaves(record: Any):
    """The values of a record and of its sub-objects (one level: ``"val": {...}``)."""
    if not isinstance(record, dict):
        return
    for v in record.values():
        yield from (v.values() if isinstance(v, dict) else [v])
