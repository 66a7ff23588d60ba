"""Running an exercise's probe on some functions (the learner's or the reference's), one trial at a
time, keeping what each trial saw before an exception, and the exception itself with the line of
the learner's file it came from (the deepest frame in that file; only that file's frames are shown).
"""

from __future__ import annotations

import traceback
from types import ModuleType
from typing import Any

import torch

from nnscratch.lab.practice.base import Exercise, Observed


class Stopped(BaseException):
    """The run was stopped (CPU time spent): not the learner's exception, so never caught as one
    by a probe; the frame it interrupted is still the learner's line."""


def keep(x: Any) -> Any:
    """A value as observed now: a tensor is copied (later in-place changes do not reach it)."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    return x


def unchanged(tensors: tuple[torch.Tensor, ...], before: list[torch.Tensor]) -> bool:
    """Whether the caller's ``tensors`` still hold the values copied in ``before``."""
    return all(torch.equal(t, u) for t, u in zip(tensors, before, strict=True))


def describe(e: BaseException, filename: str | None) -> dict[str, Any]:
    """The error record of ``e``: type, message, and the learner's deepest frame (line, function)
    and frames as text; None for the line where the error did not pass through ``filename``."""
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if filename is not None and f.filename == filename]
    shown = mine  # the learner's own frames only: not nnscratch's, importlib's or torch's
    line, function = (mine[-1].lineno, mine[-1].name) if mine else (None, None)
    if isinstance(e, SyntaxError) and e.filename == filename:
        line, function = e.lineno, None
    text = "".join(traceback.format_list(shown)) + "".join(traceback.format_exception_only(e))
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if not mine and filename is not None and not isinstance(e, SyntaxError):
        message += " (raised by the check, reading what your function returned)"
    return {
        "type": type(e).__name__,
        "message": message[:500],
        "line": line,
        "function": function,
        "traceback": text[-4000:],
    }


def lines(module: Any, functions: tuple[str, ...], filename: str | None) -> dict[str, int]:
    """Each function's definition line, where it is defined in ``filename``."""
    found = {}
    for name in functions:
        code = getattr(getattr(module, name, None), "__code__", None)
        if code is not None and filename is not None and code.co_filename == filename:
            found[name] = code.co_firstlineno
    return found


def observe(exercise: Exercise, fns: Any, filename: str | None = None) -> Observed:
    """Run ``exercise.probe`` on ``fns`` for every trial; an exception ends that trial only."""
    observed = Observed(lines=lines(fns, exercise.functions, filename))
    missing = [name for name in exercise.functions if not callable(getattr(fns, name, None))]
    if missing:
        observed.fatal = {
            "type": "missing",
            "message": f"the file defines no function {', '.join(missing)}",
            "line": None,
            "function": None,
            "traceback": "",
        }
        return observed
    for trial in exercise.trials:
        seen = observed.trials.setdefault(trial.label, {})
        torch.manual_seed(0)  # for code that draws from the global generator
        try:
            exercise.probe(fns, dict(trial.params), seen)
        except (Exception, SystemExit) as e:  # the learner's exception: it is the observation
            observed.errors[trial.label] = describe(e, filename)
    return observed


def load_text(text: str, filename: str) -> ModuleType:
    """A module made from ``text`` as if read from ``filename`` (its frames name that file).
    Runs the file's top level; its ``if __name__ == "__main__":`` part does not run."""
    module = ModuleType("learner")
    module.__file__ = filename
    exec(compile(text, filename, "exec"), module.__dict__)
    return module


def observe_text(exercise: Exercise, text: str, filename: str = "solution.py") -> Observed:
    """`observe` on a file's text, in this process (the tests' way: no subprocess per file)."""
    try:
        module = load_text(text, filename)
    except (Exception, SystemExit) as e:
        return Observed(fatal=describe(e, filename))
    return observe(exercise, module, filename)
