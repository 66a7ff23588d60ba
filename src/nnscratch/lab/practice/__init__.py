"""Practice: the learner writes each piece, nnscratch checks it and names the mistake.

    exercises/      one module per exercise: its file template, reference, seeded probe and
                    known mistakes (found by itself, ordered by its ``ORDER``)
    observe.py      the probe run on some functions, exceptions kept with the learner's line
    compare.py      the table (exact / close / wrong) and the mistakes whose signature fits
    runner.py       the learner's file run in a child process under CPU-time and memory limits
    progress.py     the learner's status per exercise, in the XDG data directory

The learner's file runs with the learner's own rights: the limits stop a runaway loop or
allocation, they are no sandbox (it is the learner's own code).
"""

from __future__ import annotations

import importlib
import pkgutil

from nnscratch.lab.practice import exercises
from nnscratch.lab.practice.base import Exercise


def _modules() -> list:
    """Every module of ``exercises`` that defines ``EXERCISE``, in ``ORDER``."""
    found = []
    for info in pkgutil.iter_modules(exercises.__path__):
        module = importlib.import_module(f"{exercises.__name__}.{info.name}")
        if hasattr(module, "EXERCISE"):
            found.append(module)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


EXERCISES: dict[str, Exercise] = {m.EXERCISE.name: m.EXERCISE for m in _modules()}

__all__ = ["EXERCISES", "Exercise", "get"]


def get(name: str) -> Exercise:
    """The exercise called ``name``; ``KeyError`` naming the known ones otherwise."""
    if name not in EXERCISES:
        raise KeyError(f"unknown exercise {name!r}; choose one of: {', '.join(EXERCISES)}")
    return EXERCISES[name]
