"""The checker's core: the learner's observations next to the reference's, a table row per
quantity (exact / close / wrong, max difference, tolerance), and the mistakes whose signature
fits (`nnscratch.lab.practice.base.Mistake`).

A value is *close* when ``max |got − want| ≤ atol + rtol · max |want|`` (NaN and ±inf must sit at
the same places). A mistake fits when every (trial, quantity) the learner got wrong equals what
the mistake predicts there, by the same rule: the mistake explains all that is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from nnscratch.lab.practice.base import Context, Exercise, Mistake, Observed
from nnscratch.lab.practice.observe import observe

EXACT, CLOSE, WRONG, NOT_RUN = "exact", "close", "wrong", "not run"
ERROR = "error"  # the quantity name of a trial's exception
MISSING = object()  # a quantity a trial never produced (an exception came first)


@dataclass
class Cell:
    status: str
    max_diff: float | None = None  # None where no number fits (shapes differ, a flag)
    tolerance: float | None = None
    note: str = ""  # 'shape (3, 1), expected (1, 3)', 'returned a list'

    @property
    def ok(self) -> bool:
        return self.status in (EXACT, CLOSE)


@dataclass
class Row:
    name: str
    shape: str
    status: str
    max_diff: float | None
    tolerance: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        finite = self.max_diff is not None and math.isfinite(self.max_diff)
        return {
            "name": self.name,
            "passed": self.status in (EXACT, CLOSE),
            "max_diff": self.max_diff if finite else None,
            "tolerance": self.tolerance,
            "shape": self.shape,
            "result": self.status,
        }


@dataclass
class Found:
    """A mistake named for the learner: which, where, why, and what to try."""

    id: str
    line: int | None
    why: str
    hint: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "why": self.why, "hint": self.hint}


@dataclass
class Report:
    exercise: str
    passed: bool
    rows: list[Row]
    mistakes: list[Found]
    error: dict[str, Any] | None = None  # the learner's first exception (or the stop), if any
    hints: list[str] = field(default_factory=list)  # the graded hints asked for (--hint)
    see: str | None = None  # with them: the command that shows it done

    def to_dict(self) -> dict[str, Any]:
        d = {
            "exercise": self.exercise,
            "passed": self.passed,
            "checks": [r.to_dict() for r in self.rows],
            "mistakes": [m.to_dict() for m in self.mistakes],
        }
        if self.error is not None:
            d["error"] = {k: self.error[k] for k in ("type", "message", "line", "traceback")}
        if self.hints:
            d["hints"] = self.hints
            d["see"] = self.see
        return d


def shape_of(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return str(tuple(x.shape))
    return type(x).__name__ if x is not MISSING else "-"


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def compare(got: Any, want: Any, rtol: float, atol: float) -> Cell:
    """One quantity of one trial (see the module's docstring)."""
    if got is MISSING:
        return Cell(NOT_RUN)
    numeric = isinstance(want, torch.Tensor) or is_number(want)
    if not numeric:
        if isinstance(got, torch.Tensor) or type(got) is not type(want):
            return Cell(WRONG, note=f"got {shape_of(got)}, expected {want!r}")
        return Cell(EXACT) if got == want else Cell(WRONG, note=f"got {got!r}, expected {want!r}")
    if not (isinstance(got, torch.Tensor) or is_number(got)):
        return Cell(WRONG, note=f"returned {type(got).__name__}, expected a number")
    a = torch.as_tensor(got).detach().to(torch.float64)
    b = torch.as_tensor(want).detach().to(torch.float64)
    if a.shape != b.shape:
        return Cell(WRONG, note=f"shape {shape_of(a)}, expected {shape_of(b)}")
    finite = torch.isfinite(b)
    scale = b[finite].abs().max().item() if finite.any() else 0.0
    tolerance = atol + rtol * scale
    infinite = b.isinf()
    same_specials = torch.equal(a.isnan(), b.isnan()) and torch.equal(a[infinite], b[infinite])
    mismatch = ~torch.isfinite(a) & finite
    if mismatch.any() or not same_specials:
        return Cell(WRONG, math.inf, tolerance, note="inf or nan")
    diff = (a[finite] - b[finite]).abs().max().item() if finite.any() else 0.0
    if diff == 0.0:
        return Cell(EXACT, 0.0, tolerance)
    return Cell(CLOSE if diff <= tolerance else WRONG, diff, tolerance)


def cells(ex: Exercise, got: Observed, want: Observed) -> dict[tuple[str, str], Cell]:
    """Every (trial, quantity) of the reference, and each trial's exception, compared."""
    out = {}
    for label, seen in want.trials.items():
        mine = got.trials.get(label, {})
        for q, value in seen.items():
            out[label, q] = compare(mine.get(q, MISSING), value, ex.rtol, ex.atol)
        theirs, ours = got.errors.get(label), want.errors.get(label)
        if theirs is not None or ours is not None:
            same = (theirs or {}).get("type") == (ours or {}).get("type")
            out[label, ERROR] = Cell(EXACT if same else WRONG, note=(theirs or {}).get("type", ""))
    return out


def rows(ex: Exercise, table: dict[tuple[str, str], Cell], want: Observed) -> list[Row]:
    """One row per quantity, over all trials: its worst result, largest difference and tolerance,
    and the shape of the first trial where it went wrong (else of the first trial)."""
    order = {WRONG: 3, NOT_RUN: 2, CLOSE: 1, EXACT: 0}
    names = list(dict.fromkeys(q for (_, q) in table if q != ERROR))
    out = []
    for name in names:
        found = [(label, cell) for (label, q), cell in table.items() if q == name]
        label, worst = max(found, key=lambda lc: order[lc[1].status])
        label = label if not worst.ok else found[0][0]
        diffs = [c.max_diff for _, c in found if c.max_diff is not None]
        tols = [c.tolerance for _, c in found if c.tolerance is not None]
        shape = shape_of(want.trials[label][name])
        note = worst.note if not worst.ok else ""
        out.append(
            Row(name, shape, worst.status, max(diffs, default=None), max(tols, default=None), note)
        )
    return out


def fits(mistake: Mistake, ctx: Context, wrong: set[tuple[str, str]]) -> bool:
    """Whether ``mistake`` explains every wrong (trial, quantity) of the learner's run."""
    got = ctx.learner
    if mistake.raised is not None:
        kind, *fragments = mistake.raised
        return any(
            e["type"] == kind and all(f in e["message"] for f in fragments)
            for e in got.errors.values()
        )
    if mistake.broken is not None:
        return mistake.broken(got)
    if not wrong:
        return False
    predicted = mistake.predict(ctx)
    for candidate in predicted if isinstance(predicted, list) else [predicted]:
        table = cells(ctx.exercise, got, candidate)
        if all(explained(key, table, got, candidate) for key in wrong):
            return True
    return False


def explained(key: tuple[str, str], table: dict, got: Observed, predicted: Observed) -> bool:
    """Whether the learner's ``key`` is what ``predicted`` holds there: the same value, or
    missing from both (the same exception came first)."""
    if key in table:
        return table[key].ok
    label, quantity = key
    return quantity not in got.trials.get(label, {}) and (
        quantity not in predicted.trials.get(label, {})
    )


def error_line(mistake: Mistake, got: Observed, culprit: str | None = None) -> int | None:
    """The learner's line for ``mistake``: the line that raised its exception, else the
    definition of the function that returned the first wrong quantity (``culprit``) or of the
    mistake's own function, else the line of the first exception (a general mistake's)."""
    if mistake.raised is not None:
        kind = mistake.raised[0]
        for e in got.errors.values():
            if e["type"] == kind and e["line"] is not None:
                return e["line"]
    for function in (culprit, mistake.function):
        if function in got.lines:
            return got.lines[function]
    error = first_error(got)
    return error["line"] if error is not None else None


def first_error(got: Observed) -> dict[str, Any] | None:
    return got.fatal or next(iter(got.errors.values()), None)


def diagnose(ex: Exercise, got: Observed, want: Observed, wrong: set) -> list[Found]:
    from nnscratch.lab.practice.general import GENERAL, fallback

    if got.fatal is not None:
        return fallback(got)
    ctx = Context(ex, want, got)
    order = [(label, q) for label, seen in want.trials.items() for q in seen]
    first = next((q for label, q in order if (label, q) in wrong), None)
    culprit = ex.produced_by(first) if ex.produced_by is not None and first else None
    found = []
    for mistake in (*GENERAL, *ex.mistakes):
        try:
            fitting = fits(mistake, ctx, wrong)
        except Exception:  # the learner's values are anything: a signature that cannot read
            fitting = False  # them does not fit (never a traceback instead of a report)
        if fitting:
            line = error_line(mistake, got, culprit)
            found.append(Found(mistake.id, line, mistake.why, mistake.hint))
    if not found:
        found = fallback(got, want, wrong)
    return found


def check(ex: Exercise, got: Observed, want: Observed | None = None) -> Report:
    """The report for the learner's observations ``got``: the table and, when wrong, the
    mistakes (``want``: the reference's observations, computed here unless given)."""
    want = want if want is not None else observe(ex, ex.namespace())
    assert not want.errors and want.fatal is None, f"{ex.name}: the reference fails: {want.errors}"
    table = cells(ex, got, want)
    wrong = {key for key, cell in table.items() if not cell.ok}
    passed = got.fatal is None and not wrong
    mistakes = [] if passed else diagnose(ex, got, want, wrong)
    return Report(ex.name, passed, rows(ex, table, want), mistakes, first_error(got))
