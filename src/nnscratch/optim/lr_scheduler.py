"""Learning-rate schedules.  Replaces ``torch.optim.lr_scheduler`` (StepLR, CosineAnnealingLR, LinearLR).

A scheduler owns no learning rate of its own: it rewrites ``group["lr"]`` in the optimizer's
parameter groups, once per ``scheduler.step()``, which goes *after* ``optimizer.step()``:

    for epoch in range(epochs):
        train_one_epoch(...)            # optimizer.step() inside, with the current lr
        scheduler.step()                # last_epoch ← last_epoch + 1; group["lr"] ← next lr

Creating a scheduler already takes one step (``last_epoch`` −1 → 0) and stores each group's lr
as ``group["initial_lr"]`` (the ``base_lrs``). As in PyTorch, ``get_lr()`` is *chainable*: it
computes the next lr from the current ``group["lr"]`` by a recursive formula, not from the closed
form, so a change made to ``group["lr"]`` from outside (another scheduler, a user) carries on.
The recursion and the closed form (given in each docstring) agree up to float rounding; the
recursion is what makes the numbers equal to PyTorch's.

Not reproduced: the deprecated ``step(epoch)`` argument, and the warning PyTorch gives when
``scheduler.step()`` comes before ``optimizer.step()`` (it wraps ``optimizer.step`` to detect it).
"""

from __future__ import annotations

import math
from typing import Any

from nnscratch.optim.optimizer import Optimizer


class LRScheduler:
    """Base class (``torch.optim.lr_scheduler.LRScheduler``): subclasses define ``get_lr()``.

        step():  last_epoch ← last_epoch + 1;  group["lr"] ← get_lr()[i] for each group i

    Args:
        optimizer: the `Optimizer` whose groups' ``lr`` it rewrites.
        last_epoch: the index of the last epoch taken (default −1: a fresh schedule; to resume,
            the groups must hold ``initial_lr``, as a loaded optimizer state does).

    Example:
        >>> scheduler = StepLR(optimizer, step_size=30, gamma=0.1)  # any subclass
        >>> for epoch in range(epochs):
        ...     train_one_epoch(); scheduler.step()
    """

    _is_initial: bool = False  # True only during the step taken by __init__

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        f"a scheduler with last_epoch={last_epoch}: load the optimizer's state "
                        "dict first, or start with last_epoch=-1"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lr of each group at ``self.last_epoch``, from the groups' current lr."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs set by the latest ``step()`` (one per parameter group)."""
        return self._last_lr

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (``last_epoch``, ``base_lrs``, hyperparameters...)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply lr by γ every ``step_size`` epochs.

    closed form:  lr_t = base_lr · γ^⌊t / step_size⌋
    recursion:    lr_t = lr_{t−1} · γ   if t > 0 and t mod step_size = 0,   else lr_{t−1}

    Args:
        optimizer: the `Optimizer` to schedule.
        step_size: epochs between two decays (a positive integer).
        gamma: γ, the factor (default 0.1).
        last_epoch: the last epoch taken (default −1: a fresh schedule).

    Example:
        >>> scheduler = StepLR(optimizer, step_size=30, gamma=0.1)  # lr: 0.1 → 0.01 at epoch 30
        >>> for epoch in range(100):
        ...     train_one_epoch(); scheduler.step()
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t == 0 or t % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Anneal lr from base_lr to ``eta_min`` along half a cosine over ``T_max`` epochs.

        closed form:  lr_t = η_min + (base_lr − η_min) · (1 + cos(π·t / T_max)) / 2
        recursion:    lr_t = η_min + (lr_{t−1} − η_min) · (1 + cos(π·t / T_max))
                                                        / (1 + cos(π·(t − 1) / T_max))

    There is no restart: after T_max the cosine goes on, so lr climbs back to base_lr at
    2·T_max. Where the recursion would divide by zero (t − 1 = T_max, 3·T_max, ...: lr_{t−1} is
    η_min) it adds the closed form's increment instead: lr_t = lr_{t−1} + (base_lr − η_min) ·
    (1 − cos(π / T_max)) / 2.

    Args:
        optimizer: the `Optimizer` to schedule.
        T_max: epochs of the half cosine (positive).
        eta_min: η_min, the lowest lr (default 0).
        last_epoch: the last epoch taken (default −1: a fresh schedule).

    Example:
        >>> scheduler = CosineAnnealingLR(optimizer, T_max=100)  # lr: base_lr → 0 over 100
        >>> for epoch in range(100):
        ...     train_one_epoch(); scheduler.step()
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        if not T_max > 0:
            raise ValueError(f"T_max must be a positive number of epochs, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:  # lr_{t−1} = η_min: the recursion's denominator is 0
            return [
                lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base_lr, lr in zip(self.base_lrs, self._current_lrs(), strict=True)
            ]
        return [
            (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min)
            + eta_min
            for lr in self._current_lrs()
        ]


class LinearLR(LRScheduler):
    """Scale lr by a factor going linearly from ``start_factor`` to ``end_factor`` (warm-up).

    factor:       f_t = s + (e − s) · min(t, T) / T          s, e = start, end factor; T = total_iters
    closed form:  lr_t = base_lr · f_t
    recursion:    lr_0 = lr · s;   lr_t = lr_{t−1} · f_t / f_{t−1}
                                     = lr_{t−1} · (1 + (e − s) / (T·s + (t − 1)·(e − s)))   for 0 < t ≤ T
                  lr_t = lr_{t−1}   for t > T

    Args:
        optimizer: the `Optimizer` to schedule.
        start_factor: s, in (0, 1] (default 1/3).
        end_factor: e, in [0, 1] (default 1).
        total_iters: T, epochs of the ramp (default 5).
        last_epoch: the last epoch taken (default −1: a fresh schedule).

    Example:
        >>> scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=5)  # 5-epoch warm-up
        >>> for epoch in range(100):
        ...     train_one_epoch(); scheduler.step()
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                f"equal to 1, got start_factor={start_factor}"
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                f"Ending multiplicative factor expected to be between 0 and 1, got end_factor={end_factor}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, s, e = self.last_epoch, self.total_iters, self.start_factor, self.end_factor
        if t == 0:
            return [lr * s for lr in self._current_lrs()]
        if self._is_initial or t > T:
            return self._current_lrs()
        return [lr * (1.0 + (e - s) / (T * s + (t - 1) * (e - s))) for lr in self._current_lrs()]


# The schedules by the name ``--scheduler`` gives them ("none" is no scheduler).
SCHEDULERS = {"step": StepLR, "cosine": CosineAnnealingLR, "linear": LinearLR}
