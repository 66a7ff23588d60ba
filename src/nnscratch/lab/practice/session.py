"""One check of a learner's file, as the CLI and the lab run it: run it (`runner`), compare
(`compare.check`), add the graded hints asked for, and keep the status (`progress`)."""

from __future__ import annotations

from pathlib import Path

from nnscratch.lab.practice.compare import Report, check
from nnscratch.lab.practice.runner import CPU_SECONDS, MEMORY_BYTES, run_file


def check_path(
    path: str | Path,
    hint: bool = False,
    cpu_seconds: float = CPU_SECONDS,
    memory_bytes: int = MEMORY_BYTES,
    keep: bool = True,
) -> Report:
    """The report for the file at ``path``; ``hint``: one more of its graded hints than last time;
    ``keep``: record the status in the learner's progress."""
    from nnscratch.lab.practice import EXERCISES, progress

    run = run_file(path, cpu_seconds, memory_bytes)
    if run.exercise not in EXERCISES:  # the file could not be loaded: no exercise to compare
        from nnscratch.lab.practice.general import fallback

        return Report("", False, [], fallback(run.observed), run.observed.fatal)
    ex = EXERCISES[run.exercise]
    report = check(ex, run.observed)
    entry = progress.load().get(ex.name, {}) if keep else {}
    shown = int(entry.get("hints", 0)) if isinstance(entry, dict) else 0
    if hint:
        shown = min(shown + 1, len(ex.hints))
        report.hints, report.see = list(ex.hints[:shown]), ex.see
    if keep:
        progress.record(ex.name, status="passed" if report.passed else "wrong", hints=shown)
    return report
