"""Print the mapping table, as wide as the terminal (80 columns at most): the result first, then
what was compared.

When every column fits, one line per row. Otherwise the text of "compared" moves under its row
(indented, wrapped to the terminal) and the piece and abstraction columns wrap at spaces inside
their share of the width, so no line is wider than the terminal and nothing is cut off.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable
from itertools import zip_longest

from nnscratch.lab.verify.check import Row
from nnscratch.lab.width import WIDTH

HEADER = ("result", "manual piece", "PyTorch abstraction", "max |diff|", "atol/rtol", "compared")
TEXT = (1, 2)  # piece and abstraction: they share what the other columns leave
GAP = "  "
INDENT = " " * (len(HEADER[0]) + len(GAP))  # where a row's continuation lines start


def _cells(r: Row) -> tuple[str, ...]:
    result = "PASS" if r.passed else "FAIL"
    tolerance = f"{r.atol:g}/{r.rtol:g}"
    return (result, r.piece, r.abstraction, f"{r.max_diff:.2e}", tolerance, r.compared)


def _widths(table: list[tuple[str, ...]], room: int) -> list[int]:
    """Natural widths, the two text columns (piece, abstraction) sharing what the others leave of
    ``room``: the split that needs the fewest wrapped lines (so long names stay whole)."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    a, b = TEXT
    spare = room - len(GAP) * (len(widths) - 1) - sum(widths) + widths[a] + widths[b]
    if widths[a] + widths[b] <= spare:
        return widths

    def lines_needed(wa: int) -> int:
        wb = spare - wa
        return sum(
            max(len(textwrap.wrap(line[a], wa) or [""]), len(textwrap.wrap(line[b], wb) or [""]))
            for line in table
        )

    low, high = max(8, spare - widths[b]), min(widths[a], spare - 8)
    widths[a] = min(range(low, high + 1), key=lines_needed) if low <= high else max(8, spare // 2)
    widths[b] = max(8, spare - widths[a])
    return widths


def _lines(cells: tuple[str, ...], widths: list[int]) -> list[str]:
    wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
    return [
        GAP.join(f"{p:<{w}}" for p, w in zip(parts, widths, strict=True)).rstrip()
        for parts in zip_longest(*wrapped, fillvalue="")
    ]


def render(rows: Iterable[Row], width: int | None = None) -> tuple[str, bool]:
    """Plain-text table (no colour, so it reads the same in a log) at most ``width`` columns wide
    (default: the terminal's, at most 80: the project's output fits 80 columns, in a log too)
    and whether every row passed."""
    if width is None:
        width = min(shutil.get_terminal_size((WIDTH, 24)).columns, WIDTH)
    rows = list(rows)
    body = [_cells(r) for r in rows]
    natural = [max(len(line[i]) for line in [HEADER, *body]) for i in range(len(HEADER))]
    one_line = sum(natural) + len(GAP) * (len(HEADER) - 1) <= width
    if one_line:
        widths = natural
        lines = _lines(HEADER, widths)
    else:  # "compared" goes under each row
        widths = _widths([HEADER[:-1], *(cells[:-1] for cells in body)], width)
        lines = _lines(HEADER[:-1], widths) + [INDENT + HEADER[-1]]
    lines.append(GAP.join("-" * w for w in widths))
    for cells in body:
        if one_line:
            lines += _lines(cells, widths)
        else:
            lines += _lines(cells[:-1], widths)
            lines += textwrap.wrap(
                cells[-1], width, initial_indent=INDENT, subsequent_indent=INDENT
            )
    failed = sum(not r.passed for r in rows)
    lines.append("")
    lines.append(f"{len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines), failed == 0
