"""Data preparation for a run: a `TrainConfig` in, the parts the loop trains on out.

load_dataset(config, dtype)    synthetic | builtin:NAME | a file → one `Dataset`
csv_format(config)             the config's --no-header/--skip-rows/--delimiter/--decimal
prepare(config)                validate and resolve the config (a detected CSV delimiter too),
                               load, split (seeded), fill missing cells (--missing mean) and
                               standardise with the training part's statistics only, move
                               to the device → `Prepared` (`nnscratch.run.train.train` takes it)
loss_target(y, loss, dtype)    the target as the loss wants it
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from nnscratch.data import rows
from nnscratch.data.dataset import Dataset
from nnscratch.data.missing import MeanImputer
from nnscratch.data.prepare import StandardizeOverflow, Standardizer, split
from nnscratch.data.table import CsvFormat
from nnscratch.errors import UserError
from nnscratch.run import build, defaults, limits
from nnscratch.run.config import TrainConfig


@dataclass
class Prepared:
    """Everything the loop needs, on the right device and dtype."""

    config: TrainConfig  # resolved: no None left that a default could fill
    train: Dataset
    val: Dataset
    test: Dataset
    standardizer: Standardizer | None  # fitted on `train` (None for the raw synthetic data)
    out_features: int
    imputer: MeanImputer | None = None  # --missing mean: fitted on `train`, else None


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
    return name


def load_dataset(config: TrainConfig, dtype: torch.dtype) -> Dataset:
    name = defaults.data_name(config)
    task = None if config.task == "auto" else config.task
    chosen, drop = config.feature_names(), config.drop_names()
    from nnscratch.data import images, text

    special = text.is_text_source(config.data) or (
        not name and images.array_ndim(config.data) in images.IMAGE_NDIM
    )
    if special and task == "regression":
        raise UserError("--task regression: text and image labels are classes; drop --task")
    if text.is_text_source(config.data):  # characters → (N, T) windows (`nnscratch.data.text`)
        return text.load_text(config.data, config.block_size)
    if special:
        return images.load_images(config.data, dtype)  # rows of pixels + image_shape
    if name and config.target is not None:  # synthetic or builtin:NAME: its target is given
        raise UserError(
            f"--target names a column of a .csv file; {config.data} comes with its own target: "
            "drop --target"
        )
    fmt = csv_format(config)
    if (fmt != CsvFormat() or config.missing != "error") and (
        name or not config.data.lower().endswith(".csv")
    ):
        flags = [
            flag
            for flag, given in (
                ("--no-header", not config.header),
                ("--skip-rows", config.skip_rows != 0),
                ("--delimiter", config.delimiter is not None),
                ("--decimal", config.decimal != "."),
                ("--missing", config.missing != "error"),
            )
            if given
        ]
        one = len(flags) == 1
        raise UserError(
            f"{', '.join(flags)} {'is' if one else 'are'} for .csv files; "
            f"drop {'it' if one else 'them'}"
        )
    if name == "synthetic":
        from nnscratch.data.synthetic import make_regression

        if chosen is not None or drop is not None:
            raise UserError(
                "--features/--drop choose columns of a data file by name; the synthetic data "
                "has --n-features N"
            )
        d = make_regression(config.n_samples, config.n_features, config.noise, config.seed, dtype)
        names = [f"x{i + 1}" for i in range(config.n_features)]
        extra = {"true_weight": d.true_weight.tolist(), "true_bias": d.true_bias.tolist()}
        dataset = Dataset(d.X, d.y, "regression", names, "y", None, "synthetic", extra)
    elif name:
        from nnscratch.data import columns
        from nnscratch.data.datasets import load_builtin

        dataset = load_builtin(name, seed=config.seed, dtype=dtype)
        dataset = columns.select(dataset, chosen, drop)
    else:
        from nnscratch.data.files import load_file

        return load_file(
            config.data, config.target, task, dtype, None, chosen, drop, fmt, config.missing
        )
    if task is not None and task != dataset.task:
        raise UserError(
            f"--task {task}: the built-in data set {name!r} is a {dataset.task} task; drop --task"
        )
    return dataset


def csv_format(config: TrainConfig) -> CsvFormat:
    """How the run's CSV file is written (`nnscratch.data.table.CsvFormat`), from its flags."""
    return CsvFormat(config.header, config.skip_rows, config.delimiter, config.decimal)


def prepare(config: TrainConfig) -> Prepared:
    config.validate()
    dtype = getattr(torch, config.dtype)
    device = resolve_device(config.device)
    dataset = load_dataset(config, dtype)
    check_classes(dataset)
    kind = build.data_kind(dataset.extra)
    config = defaults.resolve(config, dataset.task, dataset.n_classes, kind)
    config = replace(config, task=dataset.task, device=device).validate()
    if "delimiter" in dataset.extra:  # a CSV: the delimiter it was read with, detected or given
        config = replace(config, delimiter=dataset.extra["delimiter"])
    build.check_model_for_data(config, dataset.extra)
    build.check_loss_for_task(config, dataset.task, dataset.n_classes)
    out = build.output_size(config, dataset.task, dataset.n_classes)
    limits.check_parameters(config, dataset.X.shape[1], out)  # before any allocation
    if config.batch_size is None and rows.on_disk(dataset.X):
        # full batch: every step reads every row, so read them once
        dataset = replace(dataset, X=dataset.X[:])  # (N, F) tensor
    parts = split(dataset, config.val_fraction, config.test_fraction, config.seed)
    check_part_sizes(parts, dataset.task)
    imputer = None
    if config.missing == "mean":  # μ of the training rows only, the same μ for every part
        imputer = MeanImputer().fit(parts.train.X, parts.train.feature_names)
        parts = type(parts)(*(replace(p, X=imputer.transform(p.X)) for p in parts))
    standardizer = None
    # the seed's data stays raw so that w, b keep their meaning; token ids are not measurements
    if dataset.name != "synthetic" and dataset.X.is_floating_point():
        standardizer = fit_standardizer(parts.train)
        parts = type(parts)(*(replace(p, X=standardizer.transform(p.X)) for p in parts))
    parts = type(parts)(*(replace(p, X=p.X.to(device), y=p.y.to(device)) for p in parts))
    return Prepared(config, parts.train, parts.val, parts.test, standardizer, out, imputer)


def check_part_sizes(parts, task: str) -> None:
    """A regression part of one row cannot be scored (r2 divides by the spread of y)."""
    if task != "regression":
        return
    names = ("training", "validation", "test")
    held_out = len(parts.val) + len(parts.test)  # rows that smaller fractions give back
    fixes = (
        "use more rows (--n-samples, or a bigger file)"
        + (", or a smaller --val-fraction / --test-fraction" if held_out else ""),
        "use a larger --val-fraction, or --val-fraction 0 (no validation part)",
        "use a larger --test-fraction, or --test-fraction 0 (no test part)",
    )
    for name, part, fix in zip(names, parts, fixes, strict=True):
        if len(part) == 1:
            raise UserError(
                f"the {name} part has only 1 row, too few to score a regression (r2 needs 2); {fix}"
            )


def loss_target(y: torch.Tensor, loss_name: str, dtype: torch.dtype) -> torch.Tensor:
    """Class indices (N,) stay as they are, except for BCE, which wants float 0/1 of shape (N, 1)."""
    return y.to(dtype).view(-1, 1) if loss_name == "bce_with_logits" else y


def check_classes(dataset: Dataset) -> None:
    """A classifier needs two classes at least: with one, the loss is 0 from the start."""
    if dataset.task == "classification" and len(dataset.classes or []) < 2:
        only = f" ({dataset.classes[0]!r})" if dataset.classes else ""
        raise UserError(
            f"the target column {dataset.target_name!r} holds a single class{only}; a "
            "classifier needs at least 2: check --target (or --task regression for numbers)"
        )


def fit_standardizer(train: Dataset) -> Standardizer:
    """μ and σ of the training part; a column they overflow is an error naming it."""
    try:
        return Standardizer().fit(train.X)
    except StandardizeOverflow as e:
        raise UserError(
            f"feature {train.feature_names[e.column]!r}: its values are too large to standardize "
            "(their variance overflows float64); rescale the column (e.g. divide it by 1e100) "
            "or leave it out with --drop"
        ) from None
