"""User data files → `Dataset`.  Replaces a hand-rolled ``TensorDataset(torch.tensor(df.values))``.

Formats (chosen by extension, case-insensitive):

    .csv   header row, then one row per sample; ``target`` names the target column (or gives its
           index; default: the last); every other column is a numeric feature, unless
           ``features`` names the ones to use or ``drop`` the ones to leave out
           (`nnscratch.data.columns`); ``fmt`` (`CsvFormat`): no header row (columns x0..xN),
           lines to skip, the delimiter, the decimal mark (`nnscratch.data.table`);
           ``missing``: what to do with missing cells (`nnscratch.data.missing`)
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

from nnscratch.data import columns, missing, rows
from nnscratch.data.arrays import read_npy, read_npz, select_array_features
from nnscratch.data.dataset import Dataset
from nnscratch.data.delimiter import shown
from nnscratch.data.table import CsvFormat, Table, check_path, parse_number, read_csv
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
    fmt: CsvFormat | None = None,
    on_missing: str = "error",
) -> Dataset:
    """Read a .csv, .npy or .npz file into a `Dataset`; `UserError` for every user mistake.
    ``mapped``: leave a .npy file's rows on disk (True), read it whole (False), or decide by its
    size (None). ``features`` / ``drop``: the feature columns by name (see above).

    Args:
        path: the data file (.csv, .npy, .npz).
        target: the target column's name (default None: the last column).
        task: 'regression' or 'classification' (default None: decided from the target).
        dtype: dtype of X (default float32).
        mapped: leave a large .npy on disk (default None: when it is ≥ 16 MiB).
        features: the feature columns to keep, by name (default None: all).
        drop: columns to leave out, by name (default None).
        fmt: how the CSV is written: header, lines to skip, delimiter, decimal mark
            (default None: ``CsvFormat()``, a header row and a detected delimiter).
        on_missing: 'error', 'drop' or 'mean' for missing CSV cells (default 'error').
    """
    fmt = fmt or CsvFormat()
    if on_missing not in missing.POLICIES:
        raise UserError(f"--missing must be one of {', '.join(missing.POLICIES)}")
    if task is not None and task not in TASKS:
        raise UserError(f"task must be 'regression' or 'classification', got {task!r}")
    check_path(path)  # missing file or a directory: the same message for every format
    ext = _extension(path)
    name = Path(path).name
    if ext != ".csv" and fmt != CsvFormat():
        raise UserError(
            f"{path}: --no-header, --skip-rows, --delimiter and --decimal are for .csv files; "
            "an array file has no header row"
        )
    if ext != ".csv" and on_missing != "error":
        raise UserError(f"{path}: --missing is for .csv files; drop it")
    if ext == ".csv":
        table, X, labels, names, target_name, notes = _csv(
            path, target, features, drop, fmt, on_missing
        )
        dataset = _dataset(name, X, labels, names, target_name, task, dtype)
        dataset.extra.update(delimiter=table.delimiter, warnings=table.warnings, notes=notes)
        return dataset
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
    present = X if rows.on_disk(X) else torch.nan_to_num(X, nan=0.0)  # NaN: a missing cell
    if not rows.fits(present, dtype):  # every feature value finite once rounded to dtype
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
def _csv(path, target, chosen, drop, fmt, on_missing):
    """``(table, X (N, F) float64, labels, feature names, target name, notes)``."""
    table = read_csv(path, fmt)
    if len(table.columns) < 2:
        raise UserError(
            f"{table.source}: only one column ({table.columns[0]!r}) when read with delimiter "
            f"{shown(table.delimiter)}; a data file needs at least one feature column and a "
            "target column (--delimiter sets the separator)"
        )
    cols = len(table.columns)
    if isinstance(target, int) and not isinstance(target, bool):  # a column index, as for .npy
        if not -cols <= target < cols:
            raise UserError(
                f"{table.source}: target column index {target} is out of range for {cols} columns"
            )
        target = table.columns[target]
    target_name = table.columns[-1] if target is None else str(target)
    if target_name not in table.position:
        raise UserError(
            f"{table.source}: no target column {target_name!r}; the columns are "
            f"{', '.join(table.columns)}"
        )
    features = columns.choose(table.columns, target_name, chosen, drop, table.source)
    X = _numeric_columns(table, features, drop_hint=True)  # (N, F) NaN where a cell is missing
    cells = table.column(target_name)
    no_target = torch.tensor([missing.is_missing(c) for c in cells])  # (N,)
    absent = torch.cat([torch.isnan(X), no_target.view(-1, 1)], dim=1)  # (N, F + 1)
    notes = (
        [] if table.delimiter == "," else [f"{table.source}: delimiter {shown(table.delimiter)}"]
    )
    if bool(absent.any()):
        counts = missing.counts_of([*features, target_name], absent, table.lines)
        if on_missing == "error":
            raise missing.count_error(table.source, counts)
        dropped = absent.any(dim=1) if on_missing == "drop" else no_target  # (N,)
        keep = (~dropped).nonzero().view(-1)  # (n,)
        if len(keep) == 0:
            raise UserError(
                f"{table.source}: every row has a missing value, so --missing {on_missing} "
                "leaves no row; fill the missing cells in"
            )
        if len(keep) < len(dropped):
            notes.append(
                f"{table.source}: left out {int(dropped.sum())} rows with a missing "
                f"{'value' if on_missing == 'drop' else 'target'} (--missing {on_missing})"
            )
        X = X[keep]  # (n, F)
        cells = [cells[i] for i in keep.tolist()]
        table = Table(
            table.columns,
            [table.rows[i] for i in keep.tolist()],
            [table.lines[i] for i in keep.tolist()],
            table.source,
            table.delimiter,
            table.decimal,
            table.warnings,
        )
    labels = _csv_labels(table, cells, target_name)
    return table, X, labels, features, target_name, notes


def _numeric_columns(table: Table, names: list[str], drop_hint: bool = False) -> torch.Tensor:
    """The named columns as an (N, len(names)) float64 tensor, NaN where a cell is missing
    (`nnscratch.data.missing`); `UserError` naming a bad cell (and, with ``drop_hint``, the flag
    that leaves a text column such as an id out). Columns are found through ``table.position``,
    a dict: one lookup per name, not a scan of the header (150,000 columns took minutes)."""
    idx = [table.position[n] for n in names]
    nan, decimal = math.nan, table.decimal
    is_missing = missing.is_missing

    def number(cell: str, line: int, j: int) -> float:
        if decimal == ".":
            try:
                value = float(cell)
                if math.isfinite(value):
                    return value
            except ValueError:
                pass
        fix = f" (leave the column out with --drop {table.columns[j]})" if drop_hint else ""
        where = f"{table.source} line {line}, column {table.columns[j]!r}"
        return parse_number(cell, where, fix, decimal)  # the value, or the error

    values = [
        [nan if is_missing(row[j]) else number(row[j], line, j) for j in idx]
        for row, line in zip(table.rows, table.lines, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float64).reshape(len(table.rows), len(names))


def _csv_labels(table: Table, cells: list[str], target_name: str) -> list[float] | list[str]:
    try:
        numbers = [float(c.replace(",", ".") if table.decimal == "," else c) for c in cells]
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
    fmt: CsvFormat | None = None,
    on_missing: str = "error",
) -> torch.Tensor:
    """The columns ``feature_names`` of a data file, in that order, as an (N, F) tensor, NaN
    where a CSV cell is missing (with ``on_missing`` 'drop' or 'mean'; 'error' refuses it).

    Extra columns (the target, an id, ...) are ignored; a missing one is a `UserError`. Array
    files have no header: a .npy's columns are ``col0, col1, ...`` (as `load_file` names them), or
    all of them when there are exactly F; a .npz's array ``X`` must have exactly F columns.

    Args:
        path: the data file (.csv, .npy, .npz).
        feature_names: the columns to keep, by name, in this order.
        dtype: dtype of X (default float32).
        fmt: how the CSV is written (default None: ``CsvFormat()``).
        on_missing: 'error', 'drop' or 'mean' for missing CSV cells (default 'error').
    """
    _extension(path)
    check_path(path)
    if Path(path).suffix.lower() != ".csv":
        return select_array_features(path, feature_names).to(dtype)  # (N, F)
    table = read_csv(path, fmt or CsvFormat())
    absent_columns = [n for n in feature_names if n not in table.position]
    if absent_columns:
        raise UserError(
            f"{path}: missing feature column(s) {', '.join(map(repr, absent_columns))}; the model "
            f"was trained on {', '.join(feature_names)}; the file has {', '.join(table.columns)}"
        )
    X = _numeric_columns(table, feature_names)  # (N, F) NaN where a cell is missing
    if on_missing == "error" and bool(torch.isnan(X).any()):
        counts = missing.counts_of(feature_names, torch.isnan(X), table.lines)
        raise missing.count_error(
            table.source, counts, "fill them in, or pass --missing drop (no prediction for them)"
        )
    return X.to(dtype)  # (N, F)
