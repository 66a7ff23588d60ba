"""Reading NumPy ``.npy`` / ``.npz`` data files, never with pickle, `UserError` for every mistake.

    .npy   one 2-D numeric array (N, F+1); column ``target`` (an integer index, default −1) is
           the target, the others are the features, named ``col0, col1, ...`` by position
    .npz   arrays ``X`` (N, F) numeric, features named ``x0, x1, ...``, and ``y`` (N,) or (N, 1),
           numbers or strings

``np.load(..., allow_pickle=False)``: an object array (which would need pickle, and pickle can run
code) is refused with a message instead of being loaded. What an array unpacks to is read from
its headers first (the .npz member's zip entry and the .npy header inside it) and must fit the
budget (`nnscratch.run.limits.data_budget`) before a byte is decompressed: a 5 MB .npz can hold
a member of 5 GB of zeros. ``mapped=True`` leaves a .npy file's
features on disk, read batch by batch (`nnscratch.data.mapped`); only the target is loaded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nnscratch.data.mapped import MappedRows, NpyFile, scan
from nnscratch.errors import UserError
from nnscratch.run import limits

# np.load parses untrusted bytes; what it raises for damaged ones varies (ValueError, EOFError,
# zipfile.BadZipFile, zlib.error, SyntaxError, tokenize.TokenError, ...), and every one of them
# means "this file is not a valid .npy/.npz", so every Exception from it becomes that UserError.
NOT_NUMPY = Exception


def npy_header(path: str | Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, offset of the data)`` of a .npy file, from its header."""
    with open(path, "rb") as fp:
        return read_npy_header(fp)


def read_npy_header(fp: Any) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, offset of the data)`` from an open .npy stream."""
    version = np.lib.format.read_magic(fp)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(
        version, np.lib.format.read_array_header_2_0
    )
    shape, fortran_order, dtype = read_header(fp)
    return shape, fortran_order, dtype, fp.tell()


def _check_npy_size(path: str | Path) -> tuple[tuple[int, ...], bool, np.dtype, int] | None:
    """A damaged header could claim a huge shape: check it against the file size before loading."""
    if Path(path).suffix.lower() != ".npy":
        return None
    shape, fortran_order, dtype, header_end = header = npy_header(path)
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which only pickle can load")
    size = Path(path).stat().st_size
    if math.prod(shape) * dtype.itemsize > size - header_end:
        raise ValueError(f"the header promises shape {shape} of {dtype}, more than the file holds")
    return header


def check_member(path: str | Path, archive: Any, key: str) -> None:
    """Before array ``key`` of the open .npz ``archive`` is decompressed: its zip entry's size
    (which bounds what is decompressed) and its .npy header's shape × itemsize must fit the
    budget, and the header must not promise more than the entry holds."""
    name = key + ".npy" if key + ".npy" in archive.zip.namelist() else key
    try:
        info = archive.zip.getinfo(name)
    except KeyError:
        return  # numpy reports it
    limits.check_data(path, f"array {key!r}", info.file_size)
    try:
        with archive.zip.open(info) as member:
            shape, _, dtype, header_end = read_npy_header(member)
    except NOT_NUMPY as e:
        raise UserError(f"{path}: array {key!r} is damaged ({e}); save the file again") from e
    if dtype.hasobject:
        return  # refused by np.load without pickle, with its own message
    need = math.prod(shape) * dtype.itemsize
    if need > info.file_size - header_end:
        raise UserError(
            f"{path}: array {key!r}: the header promises shape {shape} of {dtype}, more than "
            "the archive holds; save the file again"
        )
    limits.check_data(path, f"array {key!r}", need)


def np_load(path: str | Path, mapped: bool = False) -> Any:
    """``np.load`` without pickle: an ndarray for .npy, an ``NpzFile`` for .npz; with ``mapped``,
    an `NpyFile` to read a .npy file's rows from (unless Fortran-ordered: its rows are scattered
    over the file, so it is loaded whole)."""
    try:
        header = _check_npy_size(path)
        if mapped and header is not None and not header[1]:
            shape, _, dtype, offset = header
            return NpyFile(path, shape, dtype, offset)  # on disk: no budget
        if header is not None:
            shape, _, dtype, _ = header
            limits.check_data(path, "the array", math.prod(shape) * dtype.itemsize)
        return np.load(path, allow_pickle=False)
    except NOT_NUMPY as e:
        raise UserError(
            f"{path}: not a readable {Path(path).suffix} file without pickle ({e}); "
            "save plain numeric arrays with numpy.save / numpy.savez"
        ) from e


def check_array(
    a: np.ndarray, what: str, ndim: tuple[int, ...], text_ok: bool = False, finite: bool = True
) -> None:
    """`UserError` unless ``a`` has one of the ``ndim`` and holds finite numbers (or text);
    ``finite=False`` leaves the values unread (a mapped file is checked block by block)."""
    if a.ndim not in ndim:
        dims = " or ".join(f"{d}-D" for d in ndim)
        raise UserError(f"{what} is {a.ndim}-D with shape {a.shape}; it must be {dims}")
    if a.dtype.kind not in "biuf" and not (text_ok and a.dtype.kind == "U"):
        raise UserError(f"{what} has dtype {a.dtype}; it must hold numbers (int or float)")
    if finite and a.dtype.kind == "f" and not np.isfinite(a).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise UserError(f"{what} has a NaN or infinite value at index {where}; replace it")


def npz_array(path: str | Path, key: str) -> np.ndarray | None:
    """Array ``key`` of a .npz file, or None if absent."""
    with np_load(path) as archive:
        if key not in archive.files:
            return None
        check_member(path, archive, key)
        try:
            return archive[key]
        except ValueError as e:
            if "pickle" in str(e):  # an object array inside the archive
                raise UserError(f"{path}: array {key!r} must hold numbers, not objects") from e
            raise UserError(f"{path}: array {key!r} is damaged ({e}); save the file again") from e
        except NOT_NUMPY as e:
            raise UserError(f"{path}: array {key!r} is damaged ({e}); save the file again") from e


def read_npy(
    path: str | Path, target: int | str | None, mapped: bool = False
) -> tuple[torch.Tensor | MappedRows, list | np.ndarray, list, str]:
    """``(X (N, F) float64, target values, feature names, target name)`` from a .npy file; with
    ``mapped``, X is `MappedRows` (one checking pass, no rows kept) and the target an array."""
    a = np_load(path, mapped)
    mapped = isinstance(a, NpyFile)
    check_array(a, str(path), ndim=(2,), finite=not mapped)
    n, cols = a.shape
    if cols < 2 or n < 1:
        raise UserError(
            f"{path}: shape {a.shape}; it needs at least one row and two columns "
            "(features and the target)"
        )
    t = -1 if target is None else target
    if isinstance(t, str) and t.lstrip("-").isdigit():
        t = int(t)
    if isinstance(t, bool) or not isinstance(t, int) or not -cols <= t < cols:
        raise UserError(
            f"{path}: target must be a column index from {-cols} to {cols - 1}, got {t!r}"
        )
    t %= cols
    feature_cols = [j for j in range(cols) if j != t]
    names = [f"col{j}" for j in feature_cols]
    if mapped:
        X, labels = scan(a, feature_cols, t)  # (N, F) on disk, (N,) float64
        return X, labels, names, f"col{t}"
    X = torch.from_numpy(a[:, feature_cols].astype(np.float64))  # (N, F)
    labels = [float(v) for v in a[:, t]]
    return X, labels, names, f"col{t}"


def read_npz(path: str | Path) -> tuple[torch.Tensor, list, list, str]:
    """``(X (N, F) float64, target values, feature names, "y")`` from a .npz file."""
    with np_load(path) as archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            found = ", ".join(archive.files) or "none"
            raise UserError(
                f"{path}: missing array(s) {', '.join(missing)} (found: {found}); "
                "save with numpy.savez(path, X=features, y=target)"
            )
    X, y = npz_array(path, "X"), npz_array(path, "y")
    check_array(X, f"{path}: array 'X'", ndim=(2,))
    check_array(y, f"{path}: array 'y'", ndim=(1, 2), text_ok=True)
    if y.ndim == 2 and y.shape[1] != 1:
        raise UserError(f"{path}: array 'y' has shape {y.shape}; it must be (N,) or (N, 1)")
    if X.shape[0] != y.shape[0] or X.shape[0] < 1 or X.shape[1] < 1:
        raise UserError(
            f"{path}: 'X' has shape {X.shape} and 'y' {y.shape}; they need the same number (≥ 1) "
            "of rows, and X at least one column"
        )
    y = y.reshape(-1)  # (N,)
    labels = [str(v) for v in y] if y.dtype.kind == "U" else [float(v) for v in y]
    names = [f"x{j}" for j in range(X.shape[1])]
    return torch.from_numpy(X.astype(np.float64)), labels, names, "y"


def select_array_features(path: str | Path, feature_names: list[str]) -> torch.Tensor:
    """Predict time: the (N, F) float64 features of a .npy or .npz file (see `select_features`)."""
    F = len(feature_names)
    if Path(path).suffix.lower() == ".npz":
        a = npz_array(path, "X")
        if a is None:
            raise UserError(f"{path}: no array 'X'; save with numpy.savez(path, X=features)")
        check_array(a, f"{path}: array 'X'", ndim=(2,))
        if a.shape[1] != F:
            raise UserError(f"{path}: array 'X' has {a.shape[1]} columns; the model needs {F}")
        return torch.from_numpy(a.astype(np.float64))  # (N, F)
    a = np_load(path)
    check_array(a, str(path), ndim=(2,))
    if a.shape[1] == F:  # features only
        return torch.from_numpy(a.astype(np.float64))  # (N, F)
    positions = [int(n[3:]) if n[:3] == "col" and n[3:].isdigit() else -1 for n in feature_names]
    if min(positions) < 0 or max(positions) >= a.shape[1]:
        raise UserError(
            f"{path}: {a.shape[1]} columns; the model needs {F} features "
            f"({', '.join(feature_names)}); save exactly those columns"
        )
    return torch.from_numpy(a[:, positions].astype(np.float64))  # (N, F)
