"""User-facing errors.

A `UserError` is a mistake the user can fix (a bad flag, a bad file). The CLI prints it as one
line, ``error: <message>``, and exits with status 2, never with a traceback. Internal invariants
use ``assert`` instead: a failed assert is a bug in nnscratch, not in the user's input.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input; the message says what is wrong and how to fix it."""

    exit_code = 2


class DivergenceError(Exception):
    """Training produced a NaN or infinite loss or gradient at ``step``."""

    exit_code = 3

    def __init__(self, message: str, step: int, last_finite_loss: float | None) -> None:
        super().__init__(message)
        self.step = step
        self.last_finite_loss = last_finite_loss
