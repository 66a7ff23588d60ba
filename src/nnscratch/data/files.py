"""User data files → `Dataset`.  Replaces a hand-rolled ``TensorDataset(torch.tensor(df.values))``.

Formats (chosen by extension, case-insensitive):

    .csv   header row, then one row per sample; ``target`` names the target column (or gives its
           index; default: the last); every other column is a numeric feature
    .npy   one 2-D numeric array; column ``target`` (an integer index, default −1) is the target
    .npz   arrays ``X`` (N, F) numeric and ``y`` (N,) or (N, 1), numbers or strings
           (the array readers are in `nnscratch.data.arrays`, the CSV reader in `.table`)

Regression or classification?  ``task=None`` decides from the target values:

    text labels (any value that is not a number)          → classification, classes sorted
    numbers that are all whole, with at most 20 distinct
    values and at most one distinct value per 2 rows       → classification (0/1, 1..5, ...)
    any other numbers                                      → regression

Pass ``task="regression"`` or ``task="classification"`` to override. Class ``k`` stands for
``classes[k]``, the k-th smallest label (sklearn's ``LabelEncoder`` order).

Pickle is never used (``np.load(..., allow_pickle=False)``): a data file cannot run code.
`select_features` reads the same files at predict time, picking the training features by name.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from nnscratch.data.arrays import read_npy, read_npz, select_array_features
from nnscratch.data.dataset import Dataset
from nnscratch.data.table import Table, check_path, parse_number, read_csv
from nnscratch.errors import UserError

MAX_CLASSES = 20  # more distinct whole numbers than this: a regression target
TASKS = ("regression", "classification")
EXTENSIONS = (".csv", ".npy", ".npz")


def _extension(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        shown = repr(ext) if ext else "no extension"
        raise UserError(f"{path}: unsupported file type ({shown}); use .csv, .npy or .npz")
    return ext


def load_file(
    path: str | Path,
    target: str | int | None = None,
    task: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Dataset:
    """Read a .csv, .npy or .npz file into a `Dataset`; `UserError` for every user mistake."""
    if task is not None and task not in TASKS:
        raise UserError(f"task must be 'regression' or 'classification', got {task!r}")
    ext = _extension(path)
    check_path(path)  # missing file or a directory: the same message for every format
    name = Path(path).name
    if ext == ".csv":
        X, labels, features, target_name = _csv(path, target)
    elif ext == ".npy":
        X, labels, features, target_name = read_npy(path, target)
    else:
        if target is not None:
            raise UserError(
                f"{path}: a .npz file holds the target in array 'y'; leave target unset"
            )
        X, labels, features, target_name = read_npz(path)
    return _dataset(name, X, labels, features, target_name, task, dtype)


# -- target → task, y, classes -------------------------------------------------------------------
def looks_like_classes(values: list[float]) -> bool:
    """The rule above: whole numbers, few distinct values, several rows per value."""
    distinct = set(values)
    whole = all(float(v).is_integer() for v in values)
    return whole and len(distinct) <= MAX_CLASSES and 2 * len(distinct) <= len(values)


def _dataset(name, X, labels, features, target_name, task, dtype) -> Dataset:
    if not torch.isfinite(X.to(dtype)).all():
        raise UserError(f"{name}: a feature value is too large for {dtype}; rescale the data")
    numbers = all(isinstance(v, float) for v in labels)
    if task is None:
        task = "classification" if not numbers or looks_like_classes(labels) else "regression"
    if task == "regression":
        if not numbers:
            bad = next(v for v in labels if not isinstance(v, float))
            raise UserError(
                f"{name}: target {target_name!r} has the non-number {bad!r}, "
                "so it cannot be a regression target; use task='classification'"
            )
        y = torch.tensor(labels, dtype=torch.float64).reshape(-1, 1)  # (N, 1)
        if not torch.isfinite(y.to(dtype)).all():
            raise UserError(f"{name}: a target value is too large for {dtype}; rescale it")
        return Dataset(X.to(dtype), y.to(dtype), task, features, target_name, None, name)
    if numbers:  # whole-number labels are shown as ints: class "3", not "3.0"
        labels = [int(v) if v.is_integer() else v for v in labels]
    classes = sorted(set(labels), key=lambda v: (isinstance(v, str), v))
    index = {label: k for k, label in enumerate(classes)}
    y = torch.tensor([index[v] for v in labels], dtype=torch.int64)  # (N,)
    return Dataset(X.to(dtype), y, task, features, target_name, classes, name)


# -- CSV ---------------------------------------------------------------------------------------
def _csv(path, target) -> tuple[torch.Tensor, list, list[str], str]:
    table = read_csv(path)
    if len(table.columns) < 2:
        raise UserError(
            f"{table.source}: only one column ({table.columns[0]!r}); a data file needs at least "
            "one feature column and a target column, separated by commas"
        )
    cols = len(table.columns)
    if isinstance(target, int) and not isinstance(target, bool):  # a column index, as for .npy
        if not -cols <= target < cols:
            raise UserError(
                f"{table.source}: target column index {target} is out of range for {cols} columns"
            )
        target = table.columns[target]
    target_name = table.columns[-1] if target is None else str(target)
    if target_name not in table.columns:
        raise UserError(
            f"{table.source}: no target column {target_name!r}; the columns are "
            f"{', '.join(table.columns)}"
        )
    features = [c for c in table.columns if c != target_name]
    X = _numeric_columns(table, features)  # (N, F)
    return X, _csv_labels(table, target_name), features, target_name


def _numeric_columns(table: Table, names: list[str]) -> torch.Tensor:
    """The named columns as an (N, len(names)) float64 tensor; `UserError` naming a bad cell."""
    idx = [table.columns.index(n) for n in names]
    values = [
        [
            parse_number(row[j], f"{table.source} line {line}, column {table.columns[j]!r}")
            for j in idx
        ]
        for row, line in zip(table.rows, table.lines, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float64).reshape(len(table.rows), len(names))


def _csv_labels(table: Table, target_name: str) -> list[float] | list[str]:
    cells = table.column(target_name)
    for cell, line in zip(cells, table.lines, strict=True):
        if cell == "":
            raise UserError(
                f"{table.source} line {line}: missing target value in column {target_name!r}; "
                "fill it in or remove the row"
            )
    try:
        numbers = [float(c) for c in cells]
    except ValueError:
        return cells  # text labels
    for value, cell, line in zip(numbers, cells, table.lines, strict=True):
        if not math.isfinite(value):
            raise UserError(
                f"{table.source} line {line}, column {target_name!r}: target {cell!r} is not a "
                "finite number; replace or remove the row"
            )
    return numbers


# -- predict time ------------------------------------------------------------------------------
def select_features(
    path: str | Path, feature_names: list[str], dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The columns ``feature_names`` of a data file, in that order, as an (N, F) tensor.

    Extra columns (the target, an id, ...) are ignored; a missing one is a `UserError`. Array
    files have no header: a .npy's columns are ``col0, col1, ...`` (as `load_file` names them), or
    all of them when there are exactly F; a .npz's array ``X`` must have exactly F columns.
    """
    _extension(path)
    check_path(path)
    if Path(path).suffix.lower() != ".csv":
        return select_array_features(path, feature_names).to(dtype)  # (N, F)
    table = read_csv(path)
    missing = [n for n in feature_names if n not in table.columns]
    if missing:
        raise UserError(
            f"{path}: missing feature column(s) {', '.join(map(repr, missing))}; the model was "
            f"trained on {', '.join(feature_names)}; the file has {', '.join(table.columns)}"
        )
    return _numeric_columns(table, feature_names).to(dtype)  # (N, F)
