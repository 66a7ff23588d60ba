"""Small helpers to write Python source that ``ruff format`` leaves as it is (line length 88),
and the one door through which text from outside enters it.

The rule: text from outside (paths, file and folder names, column names, class labels,
configuration strings) reaches a generated script only as ``literal(value)``, the ``repr()`` of a
Python literal, never formatted into code, a comment or a docstring. `Spec` hands such text out
wrapped in `Outside`, which refuses to be turned into text any other way (``str``, ``format``,
f-strings; its ``repr`` is a placeholder that is no Python), so a generator that forgets the
rule fails at once instead of writing a name where code runs.
"""

from __future__ import annotations

import ast
import io
import math
import os
import tokenize
from pathlib import PurePath
from typing import Any

LINE_LENGTH = 88


class Outside:
    """Text from outside the program; ``raw`` holds it (a str, a path, a list of them) for
    computing with (lengths, indices, comparisons). Into source only through `literal`."""

    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def _refuse(self, *_: Any) -> str:
        raise TypeError("outside text enters generated code only through source.literal()")

    __str__ = __format__ = _refuse

    def __repr__(self) -> str:  # for debuggers; in code, a SyntaxError, never a name
        return "<outside text>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outside) and self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]


def literal(value: Any) -> str:
    """``value`` (a str, path, number, bool, None, or a list/tuple of them; `Outside` unwrapped)
    as a Python literal in ruff's style: ``repr()``, in double quotes where that needs no more
    escapes. Checked: the source reads back as the value, and is nothing but that literal."""
    value = value.raw if isinstance(value, Outside) else value
    value = os.fspath(value) if isinstance(value, PurePath) else value
    source = _source(value)
    # no name, no call, no operator but a minus sign; and it reads back as the value
    if not _only_literals(ast.parse(source, mode="eval").body) or not _same(
        ast.literal_eval(source), value
    ):
        raise ValueError(f"not a faithful literal: {source}")
    return source


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (True is not 1, a list not a tuple)."""
    if isinstance(b, Outside):
        b = b.raw
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _source(value: Any) -> str:
    if isinstance(value, PurePath):
        value = os.fspath(value)  # a path as text; undecodable bytes stay as surrogates
    if isinstance(value, str):
        text = repr(value)  # every quote, backslash, newline, NUL, surrogate escaped
        if text.startswith("'") and '"' not in value:
            text = f'"{text[1:-1]}"'  # no ' in value either (repr would have used "...")
        return text
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # data.json holds finite numbers only (validated)
            raise ValueError(f"no literal for the float {value}")
        return repr(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(
            _source(v) for v in (v.raw if isinstance(v, Outside) else v for v in value)
        )
        if isinstance(value, tuple):
            return f"({inner}{',' if len(value) == 1 else ''})"
        return f"[{inner}]"
    raise TypeError(f"no literal for a {type(value).__name__}")


def _only_literals(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return all(_only_literals(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):  # -1, -0.5
        return isinstance(node.operand, ast.Constant)
    return False


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


def fit(lines: list[str]) -> list[str]:
    """Lines over the line length that end in a comment get the comment on a line of its own
    above them (ruff format would otherwise split the code to make room for the comment). The
    comment is found by Python's tokenizer, so a ``#`` inside a string literal is never one."""
    out = []
    for line in lines:
        at = _comment_at(line) if len(line) > LINE_LENGTH else None
        code = line[:at].rstrip() if at is not None else ""
        if at is not None and code.strip():
            pad = line[: len(line) - len(line.lstrip())]
            out += [pad + line[at:], code]
        else:
            out.append(line)
    return out


def _comment_at(line: str) -> int | None:
    """The column where ``line``'s trailing comment starts (None: none, or not one line)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None  # part of a bracketed or multi-line construct: left as it is
    offset = len(line) - len(line.lstrip())
    for t in tokens:
        if t.type == tokenize.COMMENT:
            return offset + t.start[1]
    return None
