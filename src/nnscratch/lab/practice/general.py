"""Mistakes every exercise can show: a part not written yet, memory run out, and, when nothing
known fits, the learner's own exception (or the stop) with its line."""

from __future__ import annotations

from typing import Any

from nnscratch.lab.practice.base import Mistake, Observed
from nnscratch.lab.practice.compare import Found, first_error


def out_of_memory(got: Observed) -> bool:
    return any(
        e["type"] == "MemoryError" or "can't allocate memory" in e["message"]
        for e in got.errors.values()
    )


GENERAL = (
    Mistake(
        "not-written",
        "",
        "a function still raises NotImplementedError: its body is not written yet.",
        "replace `raise NotImplementedError` with the code its docstring asks for.",
        raised=("NotImplementedError",),
    ),
    Mistake(
        "out-of-memory",
        "",
        "the code asked for more memory than the check allows: a tensor far larger than the "
        "inputs, or a list that never stops growing.",
        "every tensor here is as small as the inputs: check the shapes you create.",
        broken=out_of_memory,
    ),
)

FATAL = {
    "missing": (
        "missing-function",
        "keep the function names (and arguments) that `nnscratch practice start` wrote.",
    ),
    "stopped": (
        "cpu-time",
        "does a loop never end? Every exercise takes well under a second of CPU time.",
    ),
    "SyntaxError": ("syntax-error", "fix the line shown; Python could not read the file."),
    "exited": (
        "process-ended",
        "something in the file ended the process (os._exit, a crash in a library): see its "
        "last output.",
    ),
}


def fallback(got: Observed, want: Observed | None = None, wrong: set = frozenset()) -> list[Found]:
    """No known mistake fits: the learner's exception or the stop, else 'wrong numbers', with
    what the first wrong quantity's numbers say (`relation`) where they say something."""
    error: dict[str, Any] | None = first_error(got)
    if error is None:
        seen = relation(got, want, wrong) if want is not None else None
        return [
            Found(
                "wrong-values",
                None,
                (seen + "; no known mistake explains it.")
                if seen
                else "the numbers differ from the reference in a way no known mistake explains.",
                "compare the table's first wrong row with the docstring's formula, by hand on a "
                "tiny input; `--hint` gives graded hints.",
            )
        ]
    kind, hint = FATAL.get(
        error["type"], ("exception", "read the traceback: the last line of your file in it.")
    )
    if error["type"] in FATAL:
        why = error["message"]
    else:
        why = f"{error['type']}: {error['message']}" if error["message"] else error["type"]
    return [Found(kind, error["line"], why, hint)]


def relation(got: Observed, want: Observed, wrong: set) -> str | None:
    """How the first wrong number-valued quantity relates to the reference's: a constant factor
    c (c = ⟨a, b⟩/⟨b, b⟩ fits a to 1e-6), its transpose, or another shape."""
    import torch

    for label, seen in want.trials.items():
        for q, b in seen.items():
            a = got.trials.get(label, {}).get(q)
            if (label, q) not in wrong or not isinstance(a, (torch.Tensor, float, int)):
                continue
            if not isinstance(b, (torch.Tensor, float)) or isinstance(a, bool):
                continue
            a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
            if not (a.isfinite().all() and b.isfinite().all()):
                return None
            if a.shape != b.shape:
                if a.dim() == b.dim() == 2 and a.shape == b.T.shape and torch.allclose(a, b.T):
                    return f"{q} ({label}) is the reference's transpose"
                return f"{q} ({label}) has shape {tuple(a.shape)}, the reference {tuple(b.shape)}"
            c = ((a * b).sum() / (b * b).sum()).item() if (b * b).sum() > 0 else 0.0
            if c != 0 and (a - c * b).norm() <= 1e-6 * a.norm():
                return f"{q} ({label}) is {c:.4g} × the reference's: a constant factor"
            return None
    return None
