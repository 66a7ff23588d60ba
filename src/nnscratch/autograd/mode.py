"""Recording on or off.  ``no_grad`` replaces ``torch.no_grad``.

Inside ``with no_grad():`` no operation records a node: results have ``requires_grad=False``
and nothing is kept for a backward pass (evaluation, parameter updates).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_enabled = [True]  # one flag for the process, as torch's grad mode per thread


def is_grad_enabled() -> bool:
    """Whether operations record the graph now (``torch.is_grad_enabled``)."""
    return _enabled[0]


@contextmanager
def no_grad() -> Iterator[None]:
    """``with no_grad():`` records nothing inside; the previous mode comes back after."""
    previous = _enabled[0]
    _enabled[0] = False
    try:
        yield
    finally:
        _enabled[0] = previous
