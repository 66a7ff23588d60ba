"""Text that fits a terminal of `WIDTH` columns: every command's output is read in one.

    wrap(first, text, indent)        ``first + text``, broken at spaces; the lines after the
                                     first indented by ``indent`` (under the values of a row)
    table(header, rows, group)       columns aligned (the first left, the others right); a table
                                     wider than WIDTH is cut into several, each repeating the
                                     first column, the others kept ``group`` at a time (a pair
                                     "loss broken" / "loss correct" stays together)

Widths count characters: the output uses no double-width characters; colour codes count zero.
"""

from __future__ import annotations

import re

WIDTH = 80  # columns of a terminal
GAP = "  "  # between table columns
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # a colour code (click.style)


def visible(text: str) -> int:
    """Columns ``text`` takes on screen: its length without colour codes."""
    return len(ANSI.sub("", text))


def wrap(first: str, text: str, indent: int, width: int = WIDTH) -> str:
    """``first + text`` in lines of at most ``width`` columns, broken at spaces (a single word
    longer than that stays whole), the lines after the first indented by ``indent`` spaces.
    Runs of spaces inside a line are kept; colour codes take no width."""
    tokens = re.split(r"( +)", text)  # word, spaces, word, ...
    lines, line = [], first + tokens[0]
    for spaces, word in zip(tokens[1::2], tokens[2::2], strict=True):
        if visible(line + spaces + word) <= width or not line.strip():
            line += spaces + word
        elif word:
            lines.append(line.rstrip())
            line = " " * indent + word
    return "\n".join([*lines, line.rstrip()])


def table(
    header: list[str], rows: list[list[str]], group: int = 1, width: int = WIDTH
) -> list[str]:
    """The rows under their header, aligned; cut into tables that fit ``width`` columns (each
    starts with the first column again), separated by a blank line."""
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    parts: list[list[int]] = [[]]
    used = widths[0]
    for start in range(1, len(header), group):
        block = list(range(start, min(start + group, len(header))))
        extra = sum(widths[i] + len(GAP) for i in block)
        if parts[-1] and used + extra > width:
            parts.append([])
            used = widths[0]
        parts[-1] += block
        used += extra
    out: list[str] = []
    for k, part in enumerate(parts):
        if k:
            out.append("")
        for r in cells:
            line = r[0].ljust(widths[0]) + "".join(GAP + r[i].rjust(widths[i]) for i in part)
            out.append(line.rstrip())
    return out
