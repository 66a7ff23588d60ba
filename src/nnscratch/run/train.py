"""The ``nnscratch train`` job: config → data → model → the five-step loop → report.

1. data       load, split (seeded), standardise with training-part statistics only; a large
              .npy file stays on disk, read batch by batch (`nnscratch.data.mapped`)
2. pieces     model, loss, optimizer, scheduler from the resolved config (`nnscratch.run.build`)
3. training   `nnscratch.fit`, with a per-epoch callback for validation, logging and saving;
              with ``out``, checkpoints (`nnscratch.run.checkpoint`): every N epochs, at the end, on
              Ctrl-C (the last *completed* epoch, kept in memory) and on divergence (the last
              good epoch); ``resume`` continues a saved run bit for bit
4. report     (`nnscratch.run.summary`) metrics on train / validation / test; for linear regression, the gap to the
              closed-form least-squares optimum (``torch.linalg.lstsq``) on the training part
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nnscratch import steps
from nnscratch.errors import DivergenceError, UserError
from nnscratch.health import findings, initial_loss, report
from nnscratch.health.recorder import MIN_EVERY, Recorder
from nnscratch.loop import Epoch, fit
from nnscratch.module import Module
from nnscratch.optim import Optimizer
from nnscratch.run import build, checkpoint, distributed
from nnscratch.run.checkpoint.folder import SUMMARY, RunFolder
from nnscratch.run.checkpoint.last_epoch import LastEpoch
from nnscratch.run.evaluate import evaluate
from nnscratch.run.plots import write_plots
from nnscratch.run.prepare import Prepared, loss_target
from nnscratch.run.summary import summarize

EpochLog = Callable[[dict[str, Any]], None]
RECORDS = 200  # --health: at most about this many records over a run (`health.recorder`)


@dataclass
class Result:
    summary: dict[str, Any]  # JSON-ready report (see `summarize`)
    model: Module  # the trained model
    records: list[dict[str, Any]]  # one per epoch, as in metrics.jsonl
    plots: list[Path] = field(default_factory=list)  # loss.png, fit.png, ... in the run folder


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, raised after the last completed epoch was saved (if ``out``)."""

    def __init__(self, epoch: int, epochs: int, out: Path | None) -> None:
        super().__init__(epoch)
        self.epoch, self.epochs, self.out = epoch, epochs, out


def train(
    data: Prepared,
    log: EpochLog | None = None,
    out: str | Path | RunFolder | None = None,
    resume: checkpoint.Checkpoint | None = None,
    checkpoint_every: int | None = 0,
    on_build: Callable[[Module, Optimizer], None] | None = None,
) -> Result:
    """Train on prepared data; with ``out``, save checkpoints there (every ``checkpoint_every``
    epochs if > 0; None: `SavePace`'s default, every 10 epochs unless saving would take more
    than 5 % of the time; always at the end, on Ctrl-C and on divergence). ``resume``
    continues a saved run from its last epoch, exactly: its state is loaded into freshly built objects (so a cosine
    schedule keeps the ``T_max`` of the run's original ``--epochs``).

    ``out`` is a folder (opened and locked here for the run: `RunFolder`; a new run clears what
    an earlier run wrote there) or a `RunFolder` the caller opened and will close.

    ``log(record)`` is called after each epoch; a ``log.step(k, steps, loss)`` method, if it has
    one, after each step, and ``log.warn(text)``, if it has one, with a warning that should not
    wait for the end (a far-off initial loss) (`nnscratch.run.report.ProgressLogger`).

    ``on_build(model, optimizer)`` is called once both are built, before the first epoch (the
    live lab, `nnscratch.lab.live`, draws and steers them)."""
    if out is None or isinstance(out, RunFolder):
        return _train(data, log, out, resume, checkpoint_every, on_build)
    with RunFolder.open(out, fresh=resume is None) as folder:
        return _train(data, log, folder, resume, checkpoint_every, on_build)


def _train(
    data: Prepared,
    log: EpochLog | None,
    folder: RunFolder | None,
    resume: checkpoint.Checkpoint | None,
    checkpoint_every: int | None,
    on_build: Callable[[Module, Optimizer], None] | None = None,
) -> Result:
    config = data.config
    if config.overfit_batch:  # a check of its own, not a run (`nnscratch.run.overfit`)
        raise UserError(
            "--overfit-batch trains one batch and saves nothing: run it on its own, "
            "`nnscratch train --overfit-batch`, not as a run"
        )
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    shape = data.train.extra.get("image_shape")  # (C, H, W) for a CNN, else None
    model = build.build_model(
        config, data.train.n_features, data.out_features, dtype, config.device, shape
    )
    if distributed.is_distributed():  # every rank starts from rank 0's parameters
        distributed.broadcast_parameters_(model.parameters())
    optimizer = build.build_optimizer(config, model.parameters())
    scheduler = build.build_scheduler(config, optimizer)
    loss_fn = build.build_loss(config)
    steps.check_supported(config.backward, model, loss_fn)  # before a step is taken
    y_train = loss_target(data.train.y, config.loss, dtype)
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    start = checkpoint.Snapshot(0, 0, 0.0, {}, {}, None, {}, [])
    if resume is not None:
        start = resume.state
        checkpoint.restore(start, model, optimizer, scheduler, shuffle_gen)
    initial = None
    if resume is None:  # step 0: is the loss where a fresh model's should be? (every run)
        initial = initial_loss.check(model, loss_fn, data.train.X, y_train, config.loss)
        warn = getattr(log, "warn", None)
        if initial["far"] and warn is not None:  # said now, before the epochs, not only after
            warn(initial_loss.warning(initial))
    recorder = None
    if config.health:
        recorder = health_recorder(model, data, folder, start.step, initial)
    if on_build is not None:
        on_build(model, optimizer)
    records = list(start.records)  # in memory for the summary and plots; appending is O(1)
    out = None if folder is None else folder.path
    metrics = None if folder is None else folder.open_metrics(start.metrics)
    state = checkpoint.data_state(data)
    clock = time.perf_counter()

    last = None  # the state of the last completed epoch, for Ctrl-C and divergence
    if metrics is not None:
        lazy = config.batch_size is None and not distributed.is_distributed()  # one step/epoch
        last = LastEpoch(model, optimizer, scheduler, shuffle_gen, metrics, lazy)
        last.note(start.epoch, start.step, start.elapsed)
    saved = start.epoch if resume is not None else None
    pace = SavePace(checkpoint_every)

    def save(error: BaseException | None = None) -> None:
        nonlocal saved
        snap = None if last is None else last.get(error)
        if snap is not None and snap.epoch != saved:
            with pace.timed():
                metrics.sync()  # the lines the checkpoint's mark covers are on disk first
                checkpoint.save(out, config, state, snap)
            saved = snap.epoch

    def on_epoch(e: Epoch) -> None:
        nonlocal last
        record: dict[str, Any] = {"epoch": e.epoch + 1, "train_loss": e.loss}
        if len(data.val):
            record["val"] = evaluate(model, loss_fn, data.val, config.loss, dtype)
        record |= {"lr": e.lr, "grad_norm": e.grad_norm}
        record["elapsed"] = start.elapsed + time.perf_counter() - clock
        records.append(record)
        if last is not None:
            metrics.append(record)  # one line: O(1) per epoch
            last.note(e.epoch + 1, e.step, record["elapsed"])  # for Ctrl-C and divergence
            if pace.due(e.epoch + 1):
                save()
        if log is not None:
            log(record)
        if last is not None:
            last.check()  # a Ctrl-C deferred to the end of the epoch stops the run here

    on_epoch.step = getattr(log, "step", None)  # fit calls it after each step: progress
    try:
        with nullcontext() if last is None else last.deferring_ctrl_c():
            fit(
                model,
                data.train.X,
                y_train,
                loss_fn=loss_fn,
                optimizer=optimizer if recorder is None else recorder.watch(optimizer),
                epochs=config.epochs,
                batch_size=config.batch_size,
                generator=shuffle_gen,
                scheduler=scheduler,
                start=(start.epoch, start.step),
                clip_grad_norm=config.clip_grad_norm,
                backward=config.backward,
                compile=config.compile,
                callback=on_epoch,
            )
    except KeyboardInterrupt as e:
        save(e)
        if out is None or saved is None:
            raise TrainingInterrupted(len(records), config.epochs, None) from None
        raise TrainingInterrupted(saved, config.epochs, out) from None  # completed and saved
    except DivergenceError as e:
        save(e)
        raise DivergenceError(
            f"training diverged: {e}; {divergence_hint(data)}"
            + (f"; the last good checkpoint (epoch {saved}) is in {out}" if out else ""),
            e.step,
            e.last_finite_loss,
        ) from None
    except UserError as e:
        if out is not None and saved is not None:  # a failed save: say what is still good
            raise UserError(f"{e}; the last good checkpoint (epoch {saved}) is in {out}") from None
        raise
    save()  # always at the end
    summary = summarize(model, data, loss_fn, [r["train_loss"] for r in records])
    add_health(summary, initial, recorder)
    if folder is not None:
        folder.write(SUMMARY, json.dumps(summary, indent=1).encode())
    plots = [] if folder is None else write_plots(out, records, summary, model, data, folder.write)
    if folder is not None and recorder is not None and recorder.records:
        from nnscratch.run.health_plot import write_health_plot

        plots.append(write_health_plot(out, recorder.records, write=folder.write))
    return Result(summary, model, records, plots)


def health_recorder(
    model: Module,
    data: Prepared,
    folder: RunFolder | None,
    step: int,
    initial: dict[str, Any] | None,
) -> Recorder:
    """``--health``: a `Recorder` about `RECORDS` times over the run (never closer than
    `MIN_EVERY` steps), into ``health.jsonl`` (its
    first line the initial-loss check) when the run has a folder."""
    config = data.config
    rows = len(data.train)
    steps_per_epoch = 1 if config.batch_size is None else -(-rows // config.batch_size)
    every = max(MIN_EVERY, config.epochs * steps_per_epoch // RECORDS)  # fixed before the run
    write = None
    if folder is not None:
        write = folder.open_health().append
        if initial is not None:
            write({"initial_loss": initial})
    return Recorder(model, every, write, step)


def add_health(
    summary: dict[str, Any], initial: dict[str, Any] | None, recorder: Recorder | None
) -> None:
    """The initial-loss check (a warning when far off) and, with ``--health``, the findings."""
    if initial is not None:
        summary["initial_loss"] = initial
        if initial["far"]:
            summary.setdefault("warnings", []).append(initial_loss.warning(initial))
    if recorder is not None:
        found = findings.find(recorder.records, initial)
        summary["health"] = {"findings": found, "records": len(recorder.records)}
        summary["health"]["activations"] = report.activations_recorded(recorder.records)


class SavePace:
    """When to save a checkpoint between epochs: every ``every`` epochs (> 0), never (0: only
    at the end), or by default (None) every `EVERY` epochs *and* no sooner than the last save's
    duration / `SHARE` after it, so that saving costs at most ~5 % of the run whatever the
    machine's disk (an fsync can take milliseconds; a small model's epoch, a fraction of one)."""

    EVERY, SHARE = 10, 0.05

    def __init__(self, every: int | None) -> None:
        self.every = every
        self.seconds = 0.0  # the last save's duration
        self.ended = time.perf_counter()  # when it ended

    def due(self, epoch: int) -> bool:
        if self.every is not None:
            return self.every > 0 and epoch % self.every == 0
        waited = time.perf_counter() - self.ended
        return epoch % self.EVERY == 0 and waited >= self.seconds / self.SHARE

    @contextmanager
    def timed(self) -> Iterator[None]:
        begun = time.perf_counter()
        yield
        self.ended = time.perf_counter()
        self.seconds = self.ended - begun


def divergence_hint(data: Prepared) -> str:
    """A learning rate that was tried and trains (`nnscratch.run.lr_check`); under torchrun, where
    a trial would need every rank, a tenth of the failing one."""
    config = data.config
    if not distributed.is_distributed():
        from nnscratch.run import lr_check

        return lr_check.hint(data)
    hint = f"try a smaller learning rate, e.g. --lr {config.lr / 10:g} (a tenth of {config.lr:g})"
    if config.clip_grad_norm is None:
        hint += ", or --clip-grad-norm 1.0"
    return hint
