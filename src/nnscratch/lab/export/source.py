"""Small helpers to write Python source that ``ruff format`` leaves as it is (line length 88)."""

from __future__ import annotations

import json
from typing import Any

LINE_LENGTH = 88


def literal(value: Any) -> str:
    """A str, number or list of them as Python source in ruff's style (double quotes)."""
    return json.dumps(value, ensure_ascii=False)


def call(head: str, args: list[str], indent: str = "", tail: str = "") -> list[str]:
    """``head(args...)tail`` as ruff would format it: on one line if it fits, else the arguments
    on one indented line, else one argument per line with a trailing comma."""
    one = f"{indent}{head}({', '.join(args)}){tail}"
    if len(one) <= LINE_LENGTH:
        return [one]
    inner = f"{indent}    {', '.join(args)}"
    if len(inner) <= LINE_LENGTH:
        return [f"{indent}{head}(", inner, f"{indent}){tail}"]
    return [f"{indent}{head}(", *(f"{indent}    {a}," for a in args), f"{indent}){tail}"]


def indent(lines: list[str], depth: int = 1) -> list[str]:
    pad = "    " * depth
    return [pad + line if line else line for line in lines]


def comment(text: str, indent_: str = "") -> str:
    """A comment line, cut at the line length (a generated comment is one line of prose)."""
    line = f"{indent_}# {text}"
    return line if len(line) <= LINE_LENGTH else line[: LINE_LENGTH - 1] + "…"


def fit(lines: list[str]) -> list[str]:
    """Lines over the line length that end in a comment get the comment on a line of its own
    above them (ruff format would otherwise split the code to make room for the comment)."""
    out = []
    for line in lines:
        code, sep, note = line.rpartition("  # ")
        balanced = code.count('"') % 2 == 0 and code.count("'") % 2 == 0
        if len(line) > LINE_LENGTH and sep and code.strip() and balanced:
            pad = line[: len(line) - len(line.lstrip())]
            out += [f"{pad}# {note}", code]
        else:
            out.append(line)
    return out
