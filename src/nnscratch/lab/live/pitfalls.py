"""Pitfall switches: a classic mistake put into the lab's real run, so its real symptom shows.

Each switch changes one of the five steps of the run's own optimizer (the one `fit` calls), in
the way the matching `nnscratch.lab.pitfalls` module describes; the name, symptom and fix shown on
the page are that module's.

    no-zero-grad             optimizer.zero_grad() does nothing   gradients pile up, the loss swings
    update-without-no-grad   p -= lr·p.grad outside no_grad       the RuntimeError PyTorch raises
    divide-twice             the update divided by N once more    the loss falls N times slower
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nnscratch.optim import Optimizer

Switch = Callable[[Optimizer, int], None]  # (the run's optimizer, training rows N)


def _no_zero_grad(optimizer: Optimizer, n: int) -> None:
    def zero_grad(set_to_none: bool = True) -> None:
        pass  # missing: p.grad = None for each p; the next backward() adds to this gradient

    optimizer.zero_grad = zero_grad  # type: ignore[method-assign]


def _update_without_no_grad(optimizer: Optimizer, n: int) -> None:
    def step(closure: Any = None) -> None:
        for group in optimizer.param_groups:
            for p in group["params"]:
                p -= group["lr"] * p.grad  # in place on a leaf that requires grad: RuntimeError

    optimizer.step = step  # type: ignore[method-assign]


def _divide_twice(optimizer: Optimizer, n: int) -> None:
    plain_step = optimizer.step

    def step(closure: Any = None) -> None:
        with torch.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    p.grad /= n  # the mean loss already divided by N: now 1/N²
        plain_step()

    optimizer.step = step  # type: ignore[method-assign]


SWITCHES: dict[str, Switch | None] = {
    "none": None,
    "no-zero-grad": _no_zero_grad,
    "update-without-no-grad": _update_without_no_grad,
    "divide-twice": _divide_twice,
}


def describe(name: str) -> dict[str, str] | None:
    """The pitfall's own summary, symptom and fix (`nnscratch.lab.pitfalls`), for the page."""
    if name == "none":
        return None
    from nnscratch.lab.pitfalls import get

    p = get(name)
    return {"name": p.name, "summary": p.summary, "symptom": p.symptom, "fix": p.fix}


def apply(name: str, optimizer: Optimizer, n_rows: int) -> None:
    switch = SWITCHES[name]
    if switch is not None:
        switch(optimizer, n_rows)
