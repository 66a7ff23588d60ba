"""Human-readable output of a training run: the per-epoch log, the progress bar, the final report.

Replaces the ``tqdm(range(epochs))`` wrapped around a PyTorch training loop (the final report is
in `nnscratch.run.final_report`).  Two channels, so that
a log file and a terminal each get what suits them:

    stdout   about ``lines`` evenly spaced "epoch k/n  batch-mean loss …  val …  elapsed, ETA"
             lines (what a saved log shows)
    stderr   a live progress bar (epoch, loss, elapsed, ETA), only when stderr is a terminal, and
             only once the run has lasted ``delay`` seconds (0.5 s): a run that is over in a
             moment never flickers a bar.  It is transient: it clears itself after the last epoch.

Within an epoch that has lasted `STEP_DELAY` seconds (2 s: a transformer's epoch can take
minutes), `step` shows its progress too: steps done, the last batch loss, steps per second and
the epoch's ETA, as a second bar on a terminal, else as a stdout line every `LINE_EVERY` seconds.
`loading` shows a transient spinner on a terminal while the data is read.

``quiet=True`` silences both.  When stdout is the same terminal as the bar, the epoch lines are
printed above the bar (rich redirects ``sys.stdout`` while the bar is live) instead of through it.
"""

from __future__ import annotations

import atexit
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from nnscratch.run.final_report import print_training_report  # noqa: F401  (re-exported)

DELAY = 0.5  # seconds a run must last before the bar appears
STEP_DELAY = 2.0  # seconds an epoch must last before its steps are shown
LINE_EVERY = 10.0  # seconds between the stdout lines of a long epoch (not a terminal)


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def _duration(seconds: float) -> str:
    """0.012s, 1.2s, 46s, 2m05s, 1h02m."""
    if seconds < 60:
        return f"{seconds:.2g}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class ProgressLogger:
    """The ``log(record)`` callback for `nnscratch.run.train.train`: call it once per epoch.

    The bar stops by itself after epoch ``epochs``; call `close` (or use ``with``) to stop it
    early, e.g. when training raised.  Closing twice is harmless.
    """

    def __init__(
        self,
        epochs: int,
        quiet: bool = False,
        lines: int = 10,
        *,
        console: Any = None,
        delay: float = DELAY,
        clock: Callable[[], float] = time.monotonic,
        start: int = 0,
    ) -> None:
        if epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        if lines < 1:
            raise ValueError(f"lines must be at least 1, got {lines}")
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self.epochs, self.quiet, self.delay, self.clock = epochs, quiet, delay, clock
        self.every = max(1, epochs // lines)
        self.console = console  # a rich Console on stderr, made on first use if None
        self.started: float | None = None  # clock() at the first record
        self.progress: Any = None  # the live rich Progress, while the bar is shown
        self.task: Any = None
        self.closed = False
        self.epoch = start  # epochs done (a resumed run starts after its saved ones)
        self.epoch_started = clock()  # when the current epoch began (its first one: building)
        self.steps_task: Any = None  # the bar's second line, within a long epoch
        self.next_line = 0.0  # clock() of the next stdout step line, without a terminal
        self.warned: list[str] = []  # the warnings `warn` printed during the run

    # -- stdout: the log lines ----------------------------------------------------------------
    def line(self, record: dict[str, Any]) -> str | None:
        """The stdout line for this epoch, or None if this epoch is not one of the ~``lines``:
        the mean of the epoch's batch losses (taken while the parameters moved, so not the loss
        in the final table), the validation loss and metric, elapsed time and ETA."""
        epoch = record["epoch"]
        if not (epoch == 1 or epoch % self.every == 0 or epoch == self.epochs):
            return None
        text = f"epoch {epoch:>5}/{self.epochs}  batch-mean loss {record['train_loss']:.6g}"
        val = record.get("val")
        if val is not None:
            text += f"  val loss {val['loss']:.3g}"
            if "accuracy" in val:
                text += f" acc {val['accuracy']:.3f}"
            elif "r2" in val:
                text += f" R² {val['r2']:.3f}"
        if "elapsed" in record:
            elapsed = record["elapsed"]
            eta = elapsed / epoch * (self.epochs - epoch)
            text += f"  {_duration(elapsed)} ETA {_duration(eta)}"
        return text

    # -- stderr: the bar ----------------------------------------------------------------------
    def _terminal(self) -> Any:
        """The console to draw on, or None when stderr is not a terminal.

        The test is ``sys.stderr.isatty()`` itself, not rich's guess alone: ``FORCE_COLOR`` (set in
        many CI systems to get colour) must not put a bar into a log file.
        """
        if self.console is None:
            if not _isatty(sys.stderr):
                return None
            from rich.console import Console

            self.console = Console(file=sys.stderr)
        return self.console if self.console.is_terminal else None

    def _start_bar(self, epoch: int) -> None:
        console = self._terminal()
        if console is None:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]:.4g}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,  # erase the bar when it stops
            redirect_stdout=_isatty(sys.stdout),  # a terminal stdout prints above the bar
            redirect_stderr=False,
        )
        self.task = self.progress.add_task(
            "epoch", total=self.epochs, completed=epoch, loss=0.0, rate=""
        )
        self.progress.start()
        atexit.register(self.close)  # never leave a hidden cursor behind after an exception

    def __call__(self, record: dict[str, Any]) -> None:
        if self.quiet or self.closed:
            return
        epoch = record["epoch"]
        now = self.clock()
        self.epoch, self.epoch_started = epoch, now
        if self.steps_task is not None and self.progress is not None:
            self.progress.remove_task(self.steps_task)
        self.steps_task = None
        if self.started is None:
            self.started = now
        text = self.line(record)
        if text is not None:
            click.echo(text, file=sys.stdout)  # resolved now: rich's proxy while the bar is live
        if self.progress is None and epoch < self.epochs and now - self.started >= self.delay:
            self._start_bar(epoch - 1)
        if self.progress is not None:
            self.progress.update(self.task, completed=epoch, loss=record["train_loss"])
            if epoch >= self.epochs:
                self.close()

    # -- before the first epoch ---------------------------------------------------------------
    def warn(self, text: str) -> None:
        """``warning: text`` on stderr now (even with ``quiet``: a warning is not progress), so
        that a run that starts wrong says so before its epochs; `warned` lists what was said, so
        the report at the end does not say it again."""
        if self.closed:
            return
        if self.progress is not None:
            self.progress.console.print(f"warning: {text}", markup=False, highlight=False)
        else:
            click.echo(f"warning: {text}", err=True)
        self.warned.append(text)

    # -- within an epoch ----------------------------------------------------------------------
    def step(self, k: int, steps: int, loss: float) -> None:
        """After step ``k`` of the epoch's ``steps`` (`nnscratch.fit`'s ``on_step``): nothing
        until the epoch has lasted `STEP_DELAY`, then steps, loss, rate and the epoch's ETA."""
        if self.quiet or self.closed or steps <= 1:
            return
        now = self.clock()
        elapsed = now - self.epoch_started
        if elapsed < STEP_DELAY:
            return
        rate = k / elapsed  # steps per second in this epoch
        if self.progress is None and self.steps_task is None:
            self._start_bar(self.epoch)
        if self.progress is not None:
            if self.steps_task is None:
                self.steps_task = self.progress.add_task("step", total=steps, loss=loss, rate="")
            self.progress.update(self.steps_task, completed=k, loss=loss, rate=f"{rate:.3g}/s")
            return
        if now >= self.next_line:  # a log: a line now and then
            self.next_line = now + LINE_EVERY
            eta = (steps - k) / rate
            click.echo(
                f"  epoch {self.epoch + 1}/{self.epochs}  step {k}/{steps}  loss {loss:.4g}  "
                f"{rate:.3g} steps/s  epoch ETA {_duration(eta)}",
                file=sys.stdout,
            )

    def close(self) -> None:
        """Stop and clear the bar, if one is shown."""
        self.closed = True
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            atexit.unregister(self.close)

    def __enter__(self) -> ProgressLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_logger(
    epochs: int, quiet: bool = False, lines: int = 10, start: int = 0
) -> ProgressLogger:
    """The per-epoch ``log`` callback: ~``lines`` stdout lines plus a stderr bar on a terminal;
    ``start``: the epochs a resumed run has done already."""
    return ProgressLogger(epochs, quiet=quiet, lines=lines, start=start)


@contextmanager
def loading(what: str, quiet: bool = False, console: Any = None) -> Iterator[None]:
    """A transient "loading WHAT" spinner on stderr while the block runs, on a terminal only
    (a log gets nothing: reading is quick, or the first epoch's progress follows)."""
    if quiet:
        yield
        return
    if console is None:
        if not _isatty(sys.stderr):
            yield
            return
        from rich.console import Console

        console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield
        return
    with console.status(f"loading {what} …"):
        yield
