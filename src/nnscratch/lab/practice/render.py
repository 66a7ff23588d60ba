"""The check's report as text (80 columns): the table, then each mistake with its line, why and
a hint, then the learner's exception as their own traceback."""

from __future__ import annotations

import math
import textwrap

from nnscratch.lab.practice.base import Exercise
from nnscratch.lab.practice.compare import Report
from nnscratch.lab.practice.progress import status

WIDTH = 80


def number(x: float | None) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    return "0" if x == 0 else f"{x:.2e}"


def table(report: Report) -> list[str]:
    out = [f"  {'quantity':<26}{'shape':<10}{'result':<9}{'max diff':>10}{'tolerance':>11}"]
    for r in report.rows:
        line = f"  {r.name[:25]:<26}{r.shape[:9]:<10}{r.status:<9}"
        out.append(f"{line}{number(r.max_diff):>10}{number(r.tolerance):>11}")
        if r.note and r.status != "close":
            out.append(f"      {r.note}"[:WIDTH])
    return out


def wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def to_text(report: Report, filename: str) -> str:
    name = report.exercise or "(file not loaded)"
    out = [f"{name}: {'passed' if report.passed else 'wrong'}", ""]
    if report.rows:
        out += [*table(report), ""]
    for m in report.mistakes:
        where = f" (line {m.line} of {filename})" if m.line is not None else ""
        out += wrap(f"mistake {m.id}{where}: {m.why}", "")
        out += wrap(f"hint: {m.hint}", "  ")
    if report.error is not None and report.error.get("traceback"):
        out += ["", "your code's traceback:"]
        for line in report.error["traceback"].rstrip().splitlines():
            long = len(line) > WIDTH and not line.startswith("  File")
            out += wrap(line, "") if long else [line]
    if report.hints:
        out += ["", "hints:"]
        for i, hint in enumerate(report.hints, 1):
            out += wrap(f"{i}. {hint}", "  ")
        out += wrap(f"see it done: {report.see}", "  ")
    return "\n".join(out).rstrip() + "\n"


def listing(exercises: dict[str, Exercise]) -> str:
    from nnscratch.lab.practice.progress import load

    progress = load()
    out = [f"  {'#':>2}  {'exercise':<23}{'status':<13}what you write"]
    for i, (name, ex) in enumerate(exercises.items(), 1):
        out.append(f"  {i:>2}  {name:<23}{status(name, progress):<13}{ex.title}"[:WIDTH])
    out += ["", "start one:  nnscratch practice start NAME  (then: practice check FILE)"]
    return "\n".join(out) + "\n"
