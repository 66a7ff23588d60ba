"""Predicting with a saved run.  Replaces ``model.load_state_dict(torch.load(path)); model.eval();
with torch.no_grad(): model(X)``, plus the fitted scaler and label encoder kept beside it.

    X   ← the run's feature columns, picked by *name* from the file (extra columns are ignored;
          a missing one is an error), in the training order; a CSV is read as the run read its
          own (header, skipped lines, delimiter, decimal mark), unless `CsvFormat` says otherwise
    X   ← a missing cell: the saved training mean (--missing mean), or no prediction for the
          row (--missing drop: an empty cell in the output), or an error (--missing error)
    X'  ← (X − μ) / σ                    the *saved* training statistics, never refitted
    z   ← model(X')                      (N, out), no graph (``torch.no_grad``)

    regression       ŷ = z[:, 0]
    classification   p = softmax(z)   (C logits)        or   p = (1 − σ(z), σ(z))   (one logit, BCE)
                     label = classes[argmax p]            the original label, not the index

``--data builtin:NAME`` (or ``synthetic``) predicts every row of the built-in data set the run
trained on, made again as the run made it (seed, sizes, columns), with its targets.

When the file has the target column too, the metrics: regression ``mse`` and ``r2``;
classification ``accuracy`` (a label the model never saw counts as a mistake: it cannot be
predicted) and, when every label is known, ``log_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from nnscratch import functional
from nnscratch.data.arrays import np_load, npz_array
from nnscratch.data.files import select_features
from nnscratch.data.images import image_rows
from nnscratch.data.missing import MeanImputer, is_missing
from nnscratch.data.prepare import Standardizer
from nnscratch.data.table import CsvFormat, parse_number, read_csv
from nnscratch.errors import UserError
from nnscratch.module import Module
from nnscratch.run import build, checkpoint, metrics
from nnscratch.run.config import TrainConfig


@dataclass
class SavedModel:
    model: Module
    config: TrainConfig
    data: dict[str, Any]  # data.json: features, target, classes, task, standardizer
    standardizer: Standardizer | None
    path: Path  # the checkpoint folder
    imputer: MeanImputer | None = None  # --missing mean: the training means

    def csv_format(self, **changes: Any) -> CsvFormat:
        """The run's own CSV format, with ``changes`` (the predict flags given) applied."""
        c = self.config
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(CsvFormat(c.header, c.skip_rows, c.delimiter, c.decimal), **given)


@dataclass
class Predictions:
    task: str
    values: list  # (N,) regression values, or class labels; None: not predicted (missing cells)
    probabilities: list[list[float] | None] | None  # (N, C) for classification
    classes: list | None
    metrics: dict[str, Any] | None  # when the file holds the target column


def load_model(path: str | Path) -> SavedModel:
    """The trained model of the run at ``path``, on the CPU, parameters from model.safetensors."""
    saved = checkpoint.load(path)
    config, data = saved.config, saved.data
    dtype = getattr(torch, config.dtype)
    try:
        features = [str(f) for f in data["features"]]
        out, shape = int(data["out_features"]), data.get("image_shape")
        model = build.build_model(config, len(features), out, dtype, "cpu", shape)
        model.load_state_dict({k: v.to(dtype) for k, v in saved.state.model.items()})
        model.eval()  # dropout off, batch norm on its running statistics
    except (RuntimeError, TypeError, ValueError) as e:
        raise UserError(
            f"{saved.path}: the parameters do not fit the saved configuration ({e})"
        ) from e
    std = data["standardizer"]
    standardizer = None if std is None else Standardizer.from_state_dict(std)
    imp = data.get("imputer")
    imputer = None if imp is None else MeanImputer.from_state_dict(imp, len(features))
    return SavedModel(model, config, data, standardizer, saved.path, imputer)


@torch.no_grad()
def predict(
    saved: SavedModel, path: str | Path, fmt: CsvFormat | None = None, missing: str | None = None
) -> Predictions:
    """Predictions for every row of ``path``; ``fmt``: how the CSV is written (default: as the
    run's own file); ``missing``: 'error' or 'drop' (default: the run's --missing)."""
    data, dtype = saved.data, getattr(torch, saved.config.dtype)
    fmt = fmt or saved.csv_format()  # a run trained with --no-header reads headerless files
    missing = missing or saved.config.missing
    if saved.config.model == "transformer":
        raise UserError(
            f"{saved.path} is a language model: generate text with "
            f"`nnscratch sample --model {saved.path} --prompt TEXT`"
        )
    if is_builtin(path):  # the data set the run was made from: every row, target included
        X, target = builtin_rows(saved, str(path))  # (N, F) float64, (N,) values or labels
    elif data.get("image_shape") is not None:  # images (N, C, H, W) or (N, H, W)
        X = image_rows(path, data["image_shape"])  # (N, C·H·W) float64
    else:
        X = select_features(path, data["features"], torch.float64, fmt, missing)  # (N, F)
    if saved.imputer is not None and missing == "mean":
        X = saved.imputer.transform(X)  # (N, F) a missing x_ij ← the training mean μ_j
    present = ~torch.isnan(X).any(dim=1)  # (N,) rows without a missing cell (--missing drop)
    if saved.standardizer is not None:
        X = saved.standardizer.transform(X)  # (N, F) x' = (x − μ) / σ
    X = X[present].to(dtype)  # (n, F)
    z = saved.model(X)  # (n, out)
    check_in_range(path, X, z, data["features"])
    if not is_builtin(path):  # a built-in set's target came with its rows
        target = read_target(path, data["target"], len(data["features"]), fmt)
    kept = present.nonzero().view(-1).tolist()  # the rows predicted
    if target is not None:  # metrics on the rows that have a prediction and a target
        kept = [i for i in kept if not is_missing(str(target[i]))]
        target = [target[i] for i in kept]
    rows_with = {i: k for k, i in enumerate(present.nonzero().view(-1).tolist())}
    result = _predictions(saved, path, z, target, [rows_with[i] for i in kept], fmt.decimal)
    return _spread(result, present)


def _spread(result: Predictions, present: torch.Tensor) -> Predictions:
    """The predictions of the present rows placed at their rows; None for a row left out."""
    if bool(present.all()):
        return result
    values: list = [None] * len(present)
    probabilities: list | None = None if result.probabilities is None else [None] * len(present)
    for k, i in enumerate(present.nonzero().view(-1).tolist()):
        values[i] = result.values[k]
        if probabilities is not None:
            probabilities[i] = result.probabilities[k]
    return replace(result, values=values, probabilities=probabilities)


def _predictions(saved, path, z, target, scored, decimal=".") -> Predictions:
    """From the outputs z (n, out): values or labels and probabilities, and the metrics over
    the rows ``scored`` (positions in z) against ``target`` (their true values, numbers written
    with the ``decimal`` mark)."""
    data = saved.data
    if data["task"] == "regression":
        y_hat = z[:, 0]  # (n,)
        scores = None
        if target:
            where = f"{path}: target {data['target']!r}, data row"
            y = torch.tensor(
                [
                    parse_number(str(v), f"{where} {i + 1}", "", decimal)
                    for i, v in enumerate(target)
                ],
                dtype=torch.float64,
            )  # (m,)
            y_scored = y_hat[scored].double()  # (m,)
            scores = {"mse": metrics.mse(y, y_scored), "rows": len(y)}
            if len(y) >= 2:
                scores["r2"] = metrics.r2_score(y, y_scored)
        return Predictions("regression", y_hat.tolist(), None, None, scores)
    if z.shape[1] == 1:  # one logit (BCE): p(class 1) = σ(z)
        p1 = functional.sigmoid(z[:, 0])  # (N,)
        p = torch.stack([1 - p1, p1], dim=1)  # (N, 2)
    else:
        p = functional.softmax(z, dim=1)  # (N, C)
    classes = list(data["classes"])
    labels = [classes[k] for k in p.argmax(dim=1).tolist()]
    scores = None
    if target:
        scores = class_metrics([labels[k] for k in scored], target, classes, p[scored])
    return Predictions("classification", labels, p.tolist(), classes, scores)


def is_builtin(source: str | Path) -> bool:
    """``builtin:NAME`` or ``synthetic``: a data set nnscratch makes (as ``train --data``)."""
    return str(source) == "synthetic" or str(source).startswith("builtin:")


def builtin_rows(saved: SavedModel, source: str) -> tuple[torch.Tensor, list]:
    """(X (N, F) float64, the target of each row) of the built-in data set the run trained on,
    made as the run made it (its seed, sizes, dtype and columns): every row, not only the
    training part. Another data set is refused: its columns are not the run's."""
    from nnscratch.run.defaults import data_name
    from nnscratch.run.prepare import load_dataset

    config = saved.config
    if data_name(replace(config, data=source)) != data_name(config):
        raise UserError(
            f"--data {source}: this run was trained on {config.data}; predict on that data set, "
            f"or on a file with its feature columns ({', '.join(saved.data['features'][:5])}, ...)"
        )
    dataset = load_dataset(replace(config, data=source), getattr(torch, config.dtype))
    column = {name: i for i, name in enumerate(dataset.feature_names)}
    X = dataset.X[:, [column[name] for name in saved.data["features"]]].double()  # (N, F)
    if dataset.classes is None:
        return X, dataset.y.reshape(-1).tolist()  # (N,) values
    return X, [dataset.classes[k] for k in dataset.y.tolist()]  # (N,) original labels


def check_in_range(path: str | Path, X: torch.Tensor, z: torch.Tensor, features: list) -> None:
    """`UserError` where a value, standardized with the training statistics, overflows the
    model's dtype, or where the model's output does: an error, not ``inf`` in the output."""
    bad = (~torch.isfinite(X)).nonzero()  # (k, 2) rows and columns
    if len(bad):
        row, col = bad[0].tolist()
        name = features[col] if col < len(features) else f"column {col + 1}"
        raise UserError(
            f"{path}: data row {row + 1}, {name!r}: the value is out of range for this model "
            f"(standardized with the training data's mean and std it overflows {X.dtype}); "
            "predict only on values of the training data's scale"
        )
    rows = (~torch.isfinite(z).all(dim=1)).nonzero()  # (k, 1)
    if len(rows):
        raise UserError(
            f"{path}: data row {rows[0, 0].item() + 1}: the model's output overflows (inf or "
            "NaN); the input is far outside the range of the training data"
        )


def class_metrics(labels: list, target: list, classes: list, p: torch.Tensor) -> dict[str, Any]:
    """Accuracy over every row; log-loss only if the model knows every true label."""
    truth = [as_label(v, classes) for v in target]
    correct = sum(a == b for a, b in zip(labels, truth, strict=True))
    scores: dict[str, Any] = {"accuracy": correct / len(truth), "rows": len(truth)}
    position = {c: k for k, c in enumerate(classes)}  # one lookup per row, however many classes
    unseen = sorted({str(t) for t in truth if t not in position})
    if unseen:
        scores["unseen_labels"] = unseen
    else:
        index = torch.tensor([position[t] for t in truth])  # (N,)
        scores["log_loss"] = metrics.log_loss(index, p.double())
    return scores


def as_label(value: Any, classes: list) -> Any:
    """A target cell as the training labels were stored: numbers as int/float, else text."""
    if all(isinstance(c, str) for c in classes):
        return str(value)
    try:
        number = float(value)
    except ValueError:
        return str(value)
    return int(number) if number.is_integer() else number


def read_target(
    path: str | Path, target: str, n_features: int, fmt: CsvFormat | None = None
) -> list | None:
    """The target column's raw values, if the file has it (else None: predictions only)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        table = read_csv(path, fmt or CsvFormat())
        return table.column(target) if target in table.position else None
    if suffix == ".npz":
        y = npz_array(path, "y")
        return None if y is None else [v.item() for v in y.reshape(-1)]
    a = np_load(path)  # .npy: the target is column "colK" when the array has more than F columns
    k = int(target[3:]) if target.startswith("col") and target[3:].isdigit() else -1
    if a.shape[1] == n_features or not 0 <= k < a.shape[1]:
        return None
    return [v.item() for v in a[:, k]]


def read_columns(
    path: str | Path, names: list[str], fmt: CsvFormat | None = None
) -> dict[str, list[str]]:
    """The cells of the CSV columns ``names`` as text (``predict --keep id``: passed through to the
    output so that each prediction can be joined back to its input row)."""
    if Path(path).suffix.lower() != ".csv":
        raise UserError(f"--keep names CSV columns; {path} is not a .csv file")
    table = read_csv(path, fmt or CsvFormat())
    for name in names:
        if name not in table.position:
            raise UserError(
                f"--keep: {path} has no column {name!r}; its columns are {', '.join(table.columns)}"
            )
    return {name: table.column(name) for name in names}
