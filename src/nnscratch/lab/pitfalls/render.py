"""Print a pitfall run: the broken code and what it did, the correct code, then the numbers
of both side by side, then the fix."""

from __future__ import annotations

from typing import Any

from nnscratch.lab.pitfalls.base import Outcome, Pitfall, Result

INDEX_KEYS = ("step", "evaluation")  # a series with one of these names labels the rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{widths[0]}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [line.format(*header)] + [line.format(*r) for r in rows]


def _side(title: str, outcome: Outcome) -> list[str]:
    lines = [f"── {title} " + "─" * (72 - len(title)), ""]
    lines += ["    " + code for code in outcome.code.splitlines()]
    lines.append("")
    for w in outcome.warnings:
        lines.append(f"  warned: {w}")
    lines.append(f"  raised: {outcome.error}" if outcome.error else "  ran without an exception")
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
        lines += _table(["observed", "broken", "correct"], rows) + [""]
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
    lines = [f"{p.name}: {p.summary}", f"look for: {p.symptom}", ""]
    lines += _side("broken", result.broken)
    lines += _side("correct", result.correct)
    lines += _comparison(result.broken, result.correct)
    lines.append(f"fix: {p.fix}")
    return "\n".join(lines)


def listing(pitfalls: dict[str, Pitfall]) -> str:
    width = max(len(name) for name in pitfalls)
    lines = [f"{name:<{width}}  {p.summary}" for name, p in pitfalls.items()]
    lines += [
        "",
        "Run one with `nnscratch pitfalls NAME` (add --json for machine-readable output).",
    ]
    return "\n".join(lines)
