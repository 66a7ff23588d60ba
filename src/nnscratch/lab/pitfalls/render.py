"""Print a pitfall run: the broken code and what it did, the correct code, then the numbers
of both side by side, then the fix; in 80 columns (`nnscratch.lab.width`): a wide table is cut
into several, each broken/correct pair kept together."""

from __future__ import annotations

from typing import Any

from nnscratch.lab.pitfalls.base import Outcome, Pitfall, Result
from nnscratch.lab.width import WIDTH, table, wrap

INDEX_KEYS = ("step", "evaluation")  # a series with one of these names labels the rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return table(header, rows, group=2)  # "k broken", "k correct" side by side


def _code(code: str, indent: int) -> list[str]:
    """A source line in 80 columns: a trailing comment moves above the code (as ``# ...``
    lines); code still too long continues 4 spaces deeper."""
    pad = " " * indent
    if len(pad + code) <= WIDTH:
        return [pad + code]
    body, sep, comment = code.partition("  # ")
    if sep and body:
        above = wrap(pad + "# ", comment, indent).replace("\n" + pad, "\n" + pad + "# ")
        return [above, *_code(body, indent)]
    return [wrap(pad, code, indent + 4)]


def _scalars(rows: list[list[str]]) -> list[str]:
    """observed | broken | correct, or, when a value is too long for that, one block each."""
    lines = _table(["observed", "broken", "correct"], rows)
    if max(map(len, lines)) <= WIDTH:
        return lines
    out = []
    for name, broken, correct in rows:
        out += [name, wrap("  broken   ", broken, 11), wrap("  correct  ", correct, 11)]
    return out


def _side(title: str, outcome: Outcome) -> list[str]:
    lines = [f"── {title} " + "─" * (72 - len(title)), ""]
    for code in outcome.code.splitlines():
        lines += _code(code.strip(), 4 + len(code) - len(code.lstrip()))
    lines.append("")
    for w in outcome.warnings:
        lines.append(wrap("  warned: ", w, 4))
    lines.append(
        wrap("  raised: ", outcome.error, 4) if outcome.error else "  ran without an exception"
    )
    return lines + [""]


def _comparison(broken: Outcome, correct: Outcome) -> list[str]:
    keys = list(dict.fromkeys([*broken.observed, *correct.observed]))
    scalars = [
        k for k in keys if not isinstance(broken.observed.get(k, correct.observed.get(k)), list)
    ]
    series = [
        k
        for k in keys
        if k not in scalars
        and k not in INDEX_KEYS
        and len(broken.observed.get(k, [])) == len(correct.observed.get(k, []))
    ]
    missing = "(not reached)"
    lines: list[str] = []
    if scalars:
        rows = [
            [k, _fmt(broken.observed.get(k, missing)), _fmt(correct.observed.get(k, missing))]
            for k in scalars
        ]
        lines += _scalars(rows) + [""]
    if series:
        index_key = next((k for k in INDEX_KEYS if k in broken.observed), None)
        n = len(broken.observed[series[0]])
        index = broken.observed[index_key] if index_key else list(range(1, n + 1))
        header = [index_key or "step"]
        for k in series:
            header += [f"{k} broken", f"{k} correct"]
        rows = []
        for i in range(n):
            row = [str(index[i])]
            for k in series:
                row += [_fmt(broken.observed[k][i]), _fmt(correct.observed[k][i])]
            rows.append(row)
        lines += _table(header, rows) + [""]
    return lines


def to_text(result: Result) -> str:
    p = result.pitfall
    lines = [wrap(f"{p.name}: ", p.summary, 2), wrap("look for: ", p.symptom, 2), ""]
    lines += _side("broken", result.broken)
    lines += _side("correct", result.correct)
    lines += _comparison(result.broken, result.correct)
    lines.append(wrap("fix: ", p.fix, 2))
    return "\n".join(lines)


def listing(pitfalls: dict[str, Pitfall]) -> str:
    width = max(len(name) for name in pitfalls)
    lines = [wrap(f"{name:<{width}}  ", p.summary, width + 2) for name, p in pitfalls.items()]
    lines += [
        "",
        "Run one with `nnscratch pitfalls NAME` (add --json for machine-readable output).",
    ]
    return "\n".join(lines)
