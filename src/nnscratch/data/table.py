"""Reading a CSV file into named columns of text, with a one-line `UserError` for every mistake.

Plays the part of ``pandas.read_csv`` (which nnscratch does not depend on), using the standard
``csv`` module. Conventions:

* the first non-blank row is the header; blank lines anywhere are skipped; a first row of numbers
  only is refused (the file has no header: its first sample would become the column names), and
  ``header=False`` reads such a file, naming the columns ``x0, x1, ..., xN``;
* the file must be UTF-8; a byte-order mark (Excel's "CSV UTF-8") and Windows ``\\r\\n`` line
  endings are accepted;
* cells and column names are stripped of surrounding spaces;
* line numbers in messages are the file's physical lines, counting from 1 (the header is line 1
  unless blank lines precede it), as a text editor shows them.

Number parsing lives here too (`parse_number`) so that every reader names a bad cell the same way.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from nnscratch.errors import UserError


@dataclass
class Table:
    columns: list[str]  # header names, in file order
    rows: list[list[str]]  # data cells (stripped text), one list per row, len(columns) each
    lines: list[int]  # the file line each row ends on, for messages
    source: str  # the file name, for messages

    def column(self, name: str) -> list[str]:
        j = self.columns.index(name)
        return [row[j] for row in self.rows]


def check_path(path: str | Path) -> Path:
    """`UserError` unless ``path`` names an existing file (not a directory)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file; check the path (relative to {Path.cwd()})")
    if p.is_dir():
        raise UserError(f"{p}: is a directory; give the path of a .csv, .npy or .npz file in it")
    return p


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; `UserError` for a missing path, a directory or an unreadable file."""
    p = check_path(path)
    try:
        return p.read_bytes()
    except OSError as e:
        raise UserError(f"{p}: cannot be read ({e.strerror or e}); check its permissions") from e


def decode_utf8(data: bytes, source: str) -> str:
    """UTF-8 text without a byte-order mark; `UserError` naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError(
            f"{source}: line {line} is not UTF-8 text (byte 0x{data[e.start]:02x}); "
            "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from e


def _is_blank(row: list[str]) -> bool:
    return len(row) <= 1 and "".join(row).strip() == ""


NO_HEADER_HINT = "pass --no-header (the columns are then named x0..xN, the last one the target)"


def read_csv(path: str | Path, header: bool = True) -> Table:
    """Header and data rows of a CSV file, every row as long as the header; with
    ``header=False`` every row is data and the columns are named ``x0, x1, ...``."""
    source = str(path)
    text = decode_utf8(read_bytes(path), source)
    reader = csv.reader(io.StringIO(text, newline=""))
    names: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if _is_blank(row):
                continue
            cells = [cell.strip() for cell in row]
            if names is None:
                if header:
                    names = _check_header(cells, source)
                    continue
                names = [f"x{j}" for j in range(len(cells))]
            if len(cells) != len(names):
                first = "the header" if header else "the first row"
                raise UserError(
                    f"{source}: line {reader.line_num} has {len(cells)} fields but {first} has "
                    f"{len(names)}; every row needs one value per column"
                )
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise UserError(f"{source}: line {reader.line_num} is not valid CSV ({e})") from e
    if names is None:
        raise UserError(f"{source}: the file is empty; it needs a header row and data rows")
    if not rows:
        raise UserError(f"{source}: the file has a header row but no data rows")
    return Table(names, rows, lines, source)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_header(names: list[str], source: str) -> list[str]:
    if all(_is_number(name) for name in names):
        shown = ",".join(names) if len(names) <= 6 else ",".join(names[:6]) + ",..."
        raise UserError(
            f"{source}: the first row ({shown}) is all numbers, so it looks like data, not column "
            f"names; add a header row, or {NO_HEADER_HINT}"
        )
    for j, name in enumerate(names):
        if not name:
            raise UserError(
                f"{source}: column {j + 1} of the header has no name; name every column"
            )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UserError(f"{source}: column name {name!r} appears twice; rename one of them")
        seen.add(name)
    return names


def parse_number(cell: str, where: str, fix: str = "") -> float:
    """``float(cell)``, finite; ``where`` names the cell (e.g. "data.csv line 3, column 'age'"),
    ``fix`` is added to the message of a cell that is text."""
    if cell == "":
        raise UserError(f"{where}: missing value; fill it in or remove the row")
    try:
        value = float(cell)
    except ValueError:
        raise UserError(
            f"{where}: {cell!r} is not a number; features must be numeric{fix}"
        ) from None
    if not math.isfinite(value):
        raise UserError(f"{where}: {cell!r} is not a finite number; replace or remove the row")
    return value
