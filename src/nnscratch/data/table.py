"""Reading a CSV file into named columns of text, with a one-line `UserError` for every mistake.

Plays the part of ``pandas.read_csv`` (which nnscratch does not depend on), using the standard
``csv`` module. `CsvFormat` holds the choices the user can make (``pandas.read_csv``'s
``skiprows``, ``header=None``, ``sep``, ``decimal``), the ``train``/``predict`` flags of the same
names. Conventions:

* ``--skip-rows N``: the file's first N lines are not read at all (a title; the metadata line
  ``150,4,setosa,versicolor,virginica`` that starts scikit-learn's own ``iris.csv``);
* the first non-blank row read is the header; blank lines anywhere are skipped. A header whose
  cells are all numbers is refused (it looks like data: its first sample would become the column
  names); one where only some cells are numbers is read with a warning naming the line (it may be
  a metadata line, as in sklearn's files). ``header=False`` (``--no-header``) reads every row as
  data, naming the columns ``x0, x1, ..., xN``;
* the delimiter is detected among ``,`` ``;`` tab ``|`` (`nnscratch.data.delimiter`) unless given;
* ``--decimal ,``: numbers are written with a decimal comma (``1,5``); a ``.`` in a number is then
  refused, since it would be a thousands separator (``1.234,5``);
* the file must be UTF-8 text without NUL bytes; a byte-order mark (Excel's "CSV UTF-8") and
  Windows ``\\r\\n`` line endings are accepted;
* cells and column names are stripped of surrounding spaces;
* line numbers in messages are the file's physical lines, counting from 1 (skipped lines
  included), as a text editor shows them.

Number parsing lives here too (`parse_number`) so that every reader names a bad cell the same way.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from nnscratch.data import delimiter as delimiters
from nnscratch.errors import UserError


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written: the ``--no-header``, ``--skip-rows``, ``--delimiter`` and
    ``--decimal`` flags.  ≙ ``pandas.read_csv(header=, skiprows=, sep=, decimal=)``."""

    header: bool = True  # the first row read names the columns
    skip_rows: int = 0  # lines at the top of the file that are not read at all
    delimiter: str | None = None  # the field separator; None: detect , ; tab |
    decimal: str = "."  # the decimal mark of numbers: "." or ","

    def __post_init__(self) -> None:
        if type(self.skip_rows) is not int or self.skip_rows < 0:
            raise UserError(f"--skip-rows must be an integer >= 0, got {self.skip_rows!r}")
        if self.decimal not in (".", ","):
            raise UserError(f"--decimal must be '.' or ',', got {self.decimal!r}")
        delimiters.parse(self.delimiter, self.decimal)


@dataclass
class Table:
    columns: list[str]  # header names, in file order
    rows: list[list[str]]  # data cells (stripped text), one list per row, len(columns) each
    lines: list[int]  # the file line each row ends on, for messages
    source: str  # the file name, for messages
    delimiter: str = ","  # the field separator the file was read with
    decimal: str = "."  # the decimal mark of its numbers
    warnings: list[str] = field(default_factory=list)  # what the user should know (a header?)
    position: dict[str, int] = field(init=False)  # column name → its index, for lookups

    def __post_init__(self) -> None:
        self.position = {name: j for j, name in enumerate(self.columns)}

    def column(self, name: str) -> list[str]:
        j = self.position[name]
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


def check_text(data: bytes, source: str) -> None:
    """A NUL byte has no place in a text table (a binary file, or UTF-16 saved as .csv)."""
    at = data.find(b"\x00")
    if at >= 0:
        line = data[:at].count(b"\n") + 1
        raise UserError(
            f"{source}: line {line} holds a NUL byte (0x00), so this is not a text CSV file; "
            "save it as CSV UTF-8 text"
        )


def _is_blank(row: list[str]) -> bool:
    return len(row) <= 1 and "".join(row).strip() == ""


NO_HEADER_HINT = "pass --no-header (the columns are then named x0..xN, the last one the target)"


def _skip(text: str, n: int, source: str) -> str:
    """``text`` without its first ``n`` lines (``--skip-rows n``)."""
    at = 0
    for _ in range(n):
        at = text.find("\n", at) + 1
        if at == 0:
            raise UserError(
                f"{source}: --skip-rows {n} skips every line of the file; skip fewer rows"
            )
    return text[at:]


def read_csv(path: str | Path, fmt: CsvFormat = CsvFormat()) -> Table:
    """Header and data rows of a CSV file, every row as long as the header; with
    ``fmt.header`` False every row is data and the columns are named ``x0, x1, ...``."""
    source = str(path)
    data = read_bytes(path)
    check_text(data, source)
    text = _skip(decode_utf8(data, source), fmt.skip_rows, source)
    sep = delimiters.parse(fmt.delimiter, fmt.decimal) or delimiters.detect(text, fmt.decimal)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    names: list[str] | None = None
    head = 0  # the line of the header (or of the first row, without one)
    rows: list[list[str]] = []
    lines: list[int] = []
    warnings: list[str] = []
    try:
        for row in reader:
            if _is_blank(row):
                continue
            line = reader.line_num + fmt.skip_rows
            cells = [cell.strip() for cell in row]
            if names is None:
                head = line
                if fmt.header:
                    names = _check_header(cells, source, line, fmt, warnings)
                    continue
                names = [f"x{j}" for j in range(len(cells))]
            if len(cells) != len(names):
                message = _field_count(
                    source, line, len(cells), len(names), head, fmt, sep, not rows
                )
                raise UserError(message)
            rows.append(cells)
            lines.append(line)
    except csv.Error as e:
        line = reader.line_num + fmt.skip_rows
        raise UserError(f"{source}: line {line} is not valid CSV ({e})") from e
    if names is None:
        raise UserError(f"{source}: the file is empty; it needs a header row and data rows")
    if not rows:
        raise UserError(f"{source}: the file has a header row but no data rows")
    return Table(names, rows, lines, source, sep, fmt.decimal, warnings)


def _field_count(source, line, got, want, head, fmt, sep, first_row) -> str:
    first = "the header" if fmt.header else "the first row"
    message = (
        f"{source}: line {line} has {got} fields but {first} has {want} (line {head}, "
        f"delimiter {delimiters.shown(sep)}); every row needs one value per column"
    )
    if first_row:
        message += (
            f"; if line {head} is a title or a line of metadata, skip it with --skip-rows {head}"
            + (" (and --no-header if no names follow)" if fmt.header else "")
        )
    return message


def _is_number(cell: str, decimal: str = ".") -> bool:
    try:
        float(cell.replace(",", ".") if decimal == "," else cell)
    except ValueError:
        return False
    return True


def _check_header(
    names: list[str], source: str, line: int, fmt: CsvFormat, warnings: list[str]
) -> list[str]:
    numbers = [name for name in names if _is_number(name, fmt.decimal)]
    shown = ",".join(names) if len(names) <= 6 else ",".join(names[:6]) + ",..."
    skip = f"--skip-rows {line}"
    if len(numbers) == len(names):
        raise UserError(
            f"{source}: line {line} ({shown}) is all numbers, so it looks like data, not column "
            f"names; add a header row, skip a line of metadata with {skip}, or {NO_HEADER_HINT}"
        )
    if numbers:
        listed = ", ".join(map(repr, numbers[:3])) + (", ..." if len(numbers) > 3 else "")
        warnings.append(
            f"{source}: line {line} ({shown}) is read as the column names, but {listed} "
            f"{'is a number' if len(numbers) == 1 else 'are numbers'}; if it is a line of "
            f"metadata, skip it with {skip} (and --no-header if no names follow)"
        )
    for j, name in enumerate(names):
        if not name:
            raise UserError(
                f"{source}: column {j + 1} of the header has no name (line {line}); name every "
                "column"
            )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UserError(f"{source}: column name {name!r} appears twice; rename one of them")
        seen.add(name)
    return names


DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")  # 1,5 or -0,25: a number with a decimal comma


def parse_number(cell: str, where: str, fix: str = "", decimal: str = ".") -> float:
    """``float(cell)``, finite; ``where`` names the cell (e.g. "data.csv line 3, column 'age'"),
    ``fix`` is added to the message of a cell that is text; ``decimal``: the decimal mark."""
    if cell == "":
        raise UserError(f"{where}: missing value; fill it in or remove the row")
    if decimal == ",":
        if "." in cell:
            raise UserError(
                f"{where}: {cell!r} has a '.', but --decimal , makes ',' the decimal mark; "
                "remove the thousands separators from the file"
            )
        text = cell.replace(",", ".")
    else:
        text = cell
    try:
        value = float(text)
    except ValueError:
        if decimal == "." and DECIMAL_COMMA.fullmatch(cell):
            fix = "; it has a decimal comma: pass --decimal , (fields separated by ';' or tab)"
        raise UserError(
            f"{where}: {cell!r} is not a number; features must be numeric{fix}"
        ) from None
    if not math.isfinite(value):
        raise UserError(f"{where}: {cell!r} is not a finite number; replace or remove the row")
    return value
