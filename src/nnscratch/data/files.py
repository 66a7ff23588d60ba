"""User data files → `Dataset`.  Replaces a hand-rolled ``TensorDataset(torch.tensor(df.values))``.

Formats (chosen by extension, case-insensitive):

    .csv   header row, then one row per sample; ``target`` names the target column (or gives its
           index; default: the last); every other column is a numeric feature, unless
           ``features`` names the ones to use or ``drop`` the ones to leave out
           (`nnscratch.data.columns`); ``header=False``: no header row, columns x0..xN
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

Large .npy files stay on disk (`nnscratch.data.mapped`): from ``MAPPED_MIN_BYTES`` on (or with
``mapped=True``), X is `MappedRows`, read batch by batch, and only the target is loaded. Smaller
files are read whole: faster per batch, and every tool (plots, explain) gets a tensor.

Pickle is never used (``np.load(..., allow_pickle=False)``): a data file cannot run code.
`select_features` reads the same files at predict time, picking the training features by name.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from nnscratch.data import columns, rows
from nnscratch.data.arrays import read_npy, read_npz, select_array_features
from nnscratch.data.dataset import Dataset
from nnscratch.data.table import Table, check_path, parse_number, read_csv
from nnscratch.errors import UserError

MAX_CLASSES = 20  # more distinct whole numbers than this: a regression target
TASKS = ("regression", "classification")
EXTENSIONS = (".csv", ".npy", ".npz")
MAPPED_MIN_BYTES = 16 * 2**20  # a .npy file this large (16 MiB) or larger stays on disk


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
    mapped: bool | None = None,
    features: list[str] | None = None,
    drop: list[str] | None = None,
    header: bool = True,
) -> Dataset:
    """Read a .csv, .npy or .npz file into a `Dataset`; `UserError` for every user mistake.
    ``mapped``: leave a .npy file's rows on disk (True), read it whole (False), or decide by its
    size (None). ``features`` / ``drop``: the feature columns by name (see above); ``header``:
    does a CSV's first row name the columns?

    Args:
        path: the data file (.csv, .npy, .npz).
        target: the target column's name (default None: the last column).
        task: 'regression' or 'classification' (default None: decided from the target).
        dtype: dtype of X (default float32).
        mapped: leave a large .npy on disk (default None: when it is ≥ 16 MiB).
        features: the feature columns to keep, by name (default None: all).
        drop: columns to leave out, by name (default None).
        header: the first CSV line holds the column names (default True).
    """
    if task is not None and task not in TASKS:
        raise UserError(f"task must be 'regression' or 'classification', got {task!r}")
    check_path(path)  # missing file or a directory: the same message for every format
    ext = _extension(path)
    name = Path(path).name
    if ext != ".csv" and not header:
        raise UserError(f"{path}: --no-header is for .csv files; an array file has no header row")
    if ext == ".csv":
        X, labels, names, target_name = _csv(path, target, features, drop, header)
        return _dataset(name, X, labels, names, target_name, task, dtype)
    if ext == ".npy":
        if mapped is None:
            mapped = Path(path).stat().st_size >= MAPPED_MIN_BYTES
        X, labels, names, target_name = read_npy(path, target, mapped)
    else:
        if target is not None:
            raise UserError(
                f"{path}: a .npz file holds the target in array 'y'; leave target unset"
            )
        X, labels, names, target_name = read_npz(path)
    dataset = _dataset(name, X, labels, names, target_name, task, dtype)
    return columns.select(dataset, features, drop)


# -- target → task, y, classes -------------------------------------------------------------------
def looks_like_classes(values: list[float] | np.ndarray) -> bool:
    """The rule above: whole numbers, few distinct values, several rows per value."""
    v = np.asarray(values, dtype=np.float64)  # (N,) finite
    distinct = np.unique(v)
    whole = bool(np.all(v == np.floor(v)))
    return whole and len(distinct) <= MAX_CLASSES and 2 * len(distinct) <= len(v)


def _dataset(name, X, labels, features, target_name, task, dtype) -> Dataset:
    if not rows.fits(X, dtype):  # every feature value finite once rounded to dtype
        raise UserError(f"{name}: a feature value is too large for {dtype}; rescale the data")
    numbers = isinstance(labels, np.ndarray) or all(isinstance(v, float) for v in labels)
    if task is None:
        task = "classification" if not numbers or looks_like_classes(labels) else "regression"
    if task == "regression":
        if not numbers:
            bad = next(v for v in labels if not isinstance(v, float))
            raise UserError(
                f"{name}: target {target_name!r} has the non-number {bad!r}, "
                "so it cannot be a regression target; use --task classification"
            )
        y = torch.as_tensor(np.asarray(labels, dtype=np.float64)).reshape(-1, 1)  # (N, 1)
        if not torch.isfinite(y.to(dtype)).all():
            raise UserError(f"{name}: a target value is too large for {dtype}; rescale it")
        return Dataset(X.to(dtype), y.to(dtype), task, features, target_name, None, name)
    if numbers:  # k-th smallest value → class k; whole numbers are shown as ints: "3", not "3.0"
        values, index = np.unique(np.asarray(labels, dtype=np.float64), return_inverse=True)
        classes = [int(v) if v.is_integer() else v for v in values.tolist()]
        y = torch.from_numpy(index.astype(np.int64).reshape(-1))  # (N,)
        return Dataset(X.to(dtype), y, task, features, target_name, classes, name)
    classes = sorted(set(labels), key=lambda v: (isinstance(v, str), v))
    index = {label: k for k, label in enumerate(classes)}
    y = torch.tensor([index[v] for v in labels], dtype=torch.int64)  # (N,)
    return Dataset(X.to(dtype), y, task, features, target_name, classes, name)


# -- CSV ---------------------------------------------------------------------------------------
def _csv(path, target, chosen, drop, header) -> tuple[torch.Tensor, list, list[str], str]:
    table = read_csv(path, header)
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
    features = columns.choose(table.columns, target_name, chosen, drop, table.source)
    X = _numeric_columns(table, features, drop_hint=True)  # (N, F)
    return X, _csv_labels(table, target_name), features, target_name


def _numeric_columns(table: Table, names: list[str], drop_hint: bool = False) -> torch.Tensor:
    """The named columns as an (N, len(names)) float64 tensor; `UserError` naming a bad cell
    (and, with ``drop_hint``, the flag that leaves a text column such as an id out)."""
    idx = [table.columns.index(n) for n in names]

    def fix(j: int) -> str:
        return f" (leave the column out with --drop {table.columns[j]})" if drop_hint else ""

    values = [
        [
            parse_number(row[j], f"{table.source} line {line}, column {table.columns[j]!r}", fix(j))
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
    path: str | Path,
    feature_names: list[str],
    dtype: torch.dtype = torch.float32,
    header: bool = True,
) -> torch.Tensor:
    """The columns ``feature_names`` of a data file, in that order, as an (N, F) tensor.

    Extra columns (the target, an id, ...) are ignored; a missing one is a `UserError`. Array
    files have no header: a .npy's columns are ``col0, col1, ...`` (as `load_file` names them), or
    all of them when there are exactly F; a .npz's array ``X`` must have exactly F columns.

    Args:
        path: the data file (.csv, .npy, .npz).
        feature_names: the columns to keep, by name, in this order.
        dtype: dtype of X (default float32).
        header: the first CSV line holds the column names (default True).
    """
    _extension(path)
    check_path(path)
    if Path(path).suffix.lower() != ".csv":
        return select_array_features(path, feature_names).to(dtype)  # (N, F)
    table = read_csv(path, header)
    missing = [n for n in feature_names if n not in table.columns]
    if missing:
        raise UserError(
            f"{path}: missing feature column(s) {', '.join(map(repr, missing))}; the model was "
            f"trained on {', '.join(feature_names)}; the file has {', '.join(table.columns)}"
        )
    return _numeric_columns(table, feature_names).to(dtype)  # (N, F)
