"""The state of the last completed epoch, kept for what cannot wait for the next checkpoint:
Ctrl-C and divergence save it. Replaces "``copy.deepcopy(model.state_dict())`` every epoch".

Two ways to keep it, chosen once per run:

    every epoch    `capture` after each epoch (two snapshots in turn, refilled in place). For
                   mini-batch epochs, where a Ctrl-C or a divergence can land after some of the
                   epoch's updates: the live parameters are then no epoch's.
    when needed    full batch, one process, the main thread: an epoch is one step, so only the
                   small things (epoch, step, time, the metrics mark, the RNG states) are noted
                   after each epoch, and the state is captured when it is saved. This holds
                   because nothing changes the live state between epochs unseen: a divergence
                   stops the step before its update, and Ctrl-C is deferred to the end of the
                   epoch (a SIGINT handler sets a flag that `check` turns into KeyboardInterrupt
                   after the epoch's record). A second Ctrl-C stops at once (`HardInterrupt`),
                   and then nothing newer than the last checkpoint is saved.

The second costs a few microseconds an epoch instead of a copy of every parameter, which for the
seed (a 170 µs epoch) is the difference between ~1.1× and ~1.5× for a run with ``--out``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from nnscratch.run.checkpoint.records import MetricsLog
from nnscratch.run.checkpoint.state import Snapshot, capture, rng_states


class HardInterrupt(KeyboardInterrupt):
    """A second Ctrl-C while the first waited for the end of the epoch: stop now."""


class LastEpoch:
    def __init__(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        generator: torch.Generator,
        metrics: MetricsLog,
        lazy: bool,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.generator, self.metrics = generator, metrics
        self.lazy = lazy and threading.current_thread() is threading.main_thread()
        self.lazy = self.lazy and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        self._snap: Snapshot | None = None  # every epoch: the last snapshot
        self._spare: Snapshot | None = None  # ... and the one refilled next
        self._noted: tuple[int, int, float, int, dict[str, torch.Tensor]] | None = None
        self.requested = False  # Ctrl-C pressed, waiting for the end of the epoch

    def note(self, epoch: int, step: int, elapsed: float) -> None:
        """After epoch ``epoch`` (its record appended to the metrics): remember its state."""
        if self.lazy:  # the metrics' line count: its mark is taken when it is saved
            self._noted = (epoch, step, elapsed, self.metrics.lines, rng_states(self.generator))
            return
        mark = self.metrics.mark()
        fresh = capture(
            self.model,
            self.optimizer,
            self.scheduler,
            self.generator,
            epoch,
            step,
            elapsed,
            mark,
            into=self._spare,
        )
        self._spare, self._snap = self._snap, fresh

    def get(self, error: BaseException | None = None) -> Snapshot | None:
        """The last completed epoch's snapshot; None if it cannot be known (a `HardInterrupt`
        in the middle of a step)."""
        if not self.lazy:
            return self._snap
        if isinstance(error, HardInterrupt) or self._noted is None:
            return None
        epoch, step, elapsed, lines, rng = self._noted
        mark = self.metrics.mark(lines)
        snap = capture(
            self.model, self.optimizer, self.scheduler, self.generator, epoch, step, elapsed, mark
        )
        snap.rng = rng  # as after that epoch (a diverging forward may have drawn from it)
        return snap

    def check(self) -> None:
        """At the end of an epoch: a deferred Ctrl-C stops the run here."""
        if self.requested:
            raise KeyboardInterrupt

    @contextmanager
    def deferring_ctrl_c(self) -> Iterator[None]:
        """While training (lazy only): the first Ctrl-C waits for the end of the epoch."""
        if not self.lazy:
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.requested:
                raise HardInterrupt
            self.requested = True

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
