"""What an exercise is: the learner's file, the reference, the seeded probe and the known mistakes.

An exercise is checked by *behaviour* only. Its ``probe(fns, params, seen)`` calls the functions
the learner wrote (``fns``: the learner's module, or the reference) on seeded inputs and writes
what comes back into ``seen`` (``{quantity: value}``), one dict per trial of ``trials``. The same
probe runs on the reference, so every quantity the learner returns is compared with the number
it should be (`nnscratch.lab.practice.compare`).

A `Mistake` is recognised from the numbers, never from the learner's source text: its
``predict`` says what a solution *with that mistake* returns, computed from the mistake's
mathematics: the reference's observations transformed (a factor 2, −1, N, a transpose) or the
probe run on a wrong variant of the reference (the forgotten reset, the softmax over the wrong
axis). A mistake matches when every quantity the learner got wrong equals its prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

Seen = dict[str, Any]  # one trial's quantities: a tensor, a number or a flag each
Params = dict[str, Any]  # one trial's settings (shapes, seed, lr)


@dataclass
class Observed:
    """Everything a probe saw, per trial: the quantities and, where one raised, the error."""

    trials: dict[str, Seen] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> error (below)
    lines: dict[str, int] = field(default_factory=dict)  # function -> its line in the file
    fatal: dict[str, Any] | None = None  # the file could not be loaded, or the run was stopped

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "errors": self.errors,
            "lines": self.lines,
            "fatal": self.fatal,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Observed:
        return cls(d["trials"], d["errors"], d["lines"], d["fatal"])


# An error record: {"type": "RuntimeError", "message": ..., "line": 12 | None,
#                   "function": "train_step" | None, "traceback": the learner's frames as text}


@dataclass(frozen=True)
class Trial:
    label: str  # shown in the table when this trial is the one that fails
    params: Params


Predict = Callable[["Context"], "Observed | list[Observed]"]  # a list: any one may fit


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its id, one sentence of why, a hint, and its signature."""

    id: str
    function: str  # the learner's function it lives in (its line is reported)
    why: str
    hint: str
    predict: Predict | None = None  # what a solution with this mistake returns
    raised: tuple[str, ...] | None = None  # or: (exception type, fragments of its message...)
    broken: Callable[[Observed], bool] | None = None  # or: a check on the learner's run alone


@dataclass(frozen=True)
class Exercise:
    name: str  # `nnscratch practice start NAME`
    title: str  # one line for the list
    functions: tuple[str, ...]  # what the learner's file must define
    template: str  # the file `practice start` writes
    reference: dict[str, Callable[..., Any]]  # the solution, one function per name
    trials: tuple[Trial, ...]
    probe: Callable[[Any, Params, Seen], None]
    mistakes: tuple[Mistake, ...]
    hints: tuple[str, ...]  # graded: each says a little more, none gives the code
    see: str  # the command that shows the idea (`nnscratch explain`, `nnscratch pitfalls X`)
    rtol: float = 1e-5
    atol: float = 1e-8
    produced_by: Callable[[str], str] | None = None  # quantity -> the function that returns it

    def namespace(self, **replaced: Callable[..., Any]) -> SimpleNamespace:
        """The reference's functions, some ``replaced`` by a wrong variant."""
        return SimpleNamespace(**{**self.reference, **replaced})


@dataclass
class Context:
    """What a mistake's prediction may use: the exercise, the reference's observations, and a
    way to run the probe on a variant of the reference (cached per check)."""

    exercise: Exercise
    reference: Observed
    learner: Observed

    def variant(self, **replaced: Callable[..., Any]) -> Observed:
        from nnscratch.lab.practice.observe import observe

        return observe(self.exercise, self.exercise.namespace(**replaced))

    def transformed(self, fn: Callable[[str, Any, Params], Any]) -> Observed:
        """The reference's observations with ``fn(quantity, value, params)`` applied to each."""
        params = {t.label: t.params for t in self.exercise.trials}
        trials = {
            label: {q: fn(q, v, params[label]) for q, v in seen.items()}
            for label, seen in self.reference.trials.items()
        }
        return Observed(trials, dict(self.reference.errors))


def scaled(factor: Callable[[Params], float] | float, quantities: tuple[str, ...]) -> Predict:
    """A prediction: the reference's ``quantities`` times ``factor`` (a number or f(params))."""

    def predict(ctx: Context) -> Observed:
        def fn(q: str, v: Any, params: Params) -> Any:
            if q not in quantities:
                return v
            return v * (factor(params) if callable(factor) else factor)

        return ctx.transformed(fn)

    return predict


def transposed(quantities: tuple[str, ...]) -> Predict:
    """A prediction: the reference's ``quantities`` transposed (``.T``)."""

    def predict(ctx: Context) -> Observed:
        return ctx.transformed(lambda q, v, _: v.T if q in quantities else v)

    return predict


def variant(**replaced: Callable[..., Any]) -> Predict:
    """A prediction: the probe run on the reference with ``replaced`` functions."""
    return lambda ctx: ctx.variant(**replaced)


def variants(*alternatives: dict[str, Callable[..., Any]]) -> Predict:
    """Predictions, any one of which may fit: the probe run on each alternative variant (the
    mistake made in one function or another, for one parameter or all)."""
    return lambda ctx: [ctx.variant(**replaced) for replaced in alternatives]


def template(name: str, task: str, see: str, body: str, main: str) -> str:
    """The file `practice start` writes: the task, ``EXERCISE``, the functions to write
    (``body``: each raising NotImplementedError) and a ``__main__`` part that calls them."""
    return (
        f'"""nnscratch practice: {name}.\n\n{task.strip()}\n\n'
        "Check it with:   nnscratch practice check THIS_FILE.py\n"
        f'See it done:     {see}\n"""\n\nimport torch\n\n'
        f'EXERCISE = "{name}"  # which exercise this file is: keep this line\n\n\n'
        f'{body.strip()}\n\n\nif __name__ == "__main__":\n{main.rstrip()}\n'
    )


def flag_changed(quantity: str) -> Callable[[Observed], bool]:
    """A check on the learner's run alone: the flag ``quantity`` was False in some trial."""
    return lambda got: any(s.get(quantity) is False for s in got.trials.values())
