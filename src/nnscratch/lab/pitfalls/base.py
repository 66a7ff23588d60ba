"""What a pitfall is, and how one is run: the broken variant next to the correct one.

Each pitfall module holds two functions, ``broken(seen)`` and ``correct(seen)``, that write what
they observe (numbers, flags, names) into the dict ``seen`` as they go, so that whatever happened
before an exception survives it. `run` calls both, captures the exception and the warnings that
PyTorch raised *at run time*, and returns them with the source of the code that ran: the lab
shows real symptoms, never canned text.
"""

from __future__ import annotations

import inspect
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Observed = dict[str, Any]
Variant = Callable[[Observed], None]


@dataclass
class Outcome:
    """What one variant did."""

    code: str  # the source of the function that ran
    observed: Observed  # numbers and flags it recorded (JSON-serialisable)
    error: str | None = None  # 'RuntimeError: ...' when it raised
    warnings: list[str] = field(default_factory=list)  # warnings raised while it ran


@dataclass(frozen=True)
class Pitfall:
    name: str  # the CLI name: `nnscratch pitfalls NAME`
    summary: str  # one line for the list
    symptom: str  # what to look for in the output
    fix: str  # what to write instead
    broken: Variant
    correct: Variant


@dataclass
class Result:
    pitfall: Pitfall
    broken: Outcome
    correct: Outcome

    def to_dict(self) -> dict[str, Any]:
        p = self.pitfall
        return {
            "name": p.name,
            "summary": p.summary,
            "symptom": p.symptom,
            "fix": p.fix,
            "broken": asdict(self.broken),
            "correct": asdict(self.correct),
        }


def source(fn: Callable[..., Any]) -> str:
    return textwrap.dedent(inspect.getsource(fn)).strip("\n")


def execute(fn: Variant) -> Outcome:
    """Run ``fn``, keeping its observations, its exception (if any) and its warnings."""
    seen: Observed = {}
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(seen)
        except Exception as e:  # the broken variants are meant to raise: that is the symptom
            error = f"{type(e).__name__}: {e}"
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return Outcome(code=source(fn), observed=seen, error=error, warnings=messages)


def run(pitfall: Pitfall) -> Result:
    return Result(pitfall, execute(pitfall.broken), execute(pitfall.correct))
