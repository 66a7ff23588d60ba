"""One tab's run: `nnscratch.run.train.train` in a background thread, steered between epochs.

The thread runs the CLI's own job (`prepare` → `train` → `fit`), with three hooks that `train`
offers to any caller:

    on_build(model, optimizer)   once both exist: keep them for drawing, put in a pitfall switch,
                                 then wait for play / step (the run starts paused)
    log(record)                  after each epoch, the record `train` appends to metrics.jsonl:
                                 keep it, publish a frame if one is due, honour pause / stop
    out=<tab's folder>           `train` writes the run folder (the `train --out` format) at the
                                 end, on stop (a KeyboardInterrupt it handles) and on divergence

Frames (the prediction map, the network) are built in the training thread, at most ``rate`` per
second, so drawing never races the in-place updates. Step mode runs one full-batch step through
`nnscratch.lab.explain.trace`, the code behind ``nnscratch explain``, and shows its phases one
by one.
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from nnscratch.errors import DivergenceError, UserError
from nnscratch.lab.live import budget, health_panel, pitfalls, views
from nnscratch.lab.live.settings import SettingError
from nnscratch.module import Module
from nnscratch.optim import Optimizer
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import Prepared

PHASES = ("forward", "loss", "backward", "update", "reset")
RATE = 30.0  # frames per second at most (the default update rate)
ENDED = ("done", "stopped", "diverged", "error")
DRAW_SHARE = 4.0  # after a frame that took t to draw, the next one waits at least 4·t


class LabStop(KeyboardInterrupt):
    """Raised inside the run to stop it; `train` saves the last completed epoch, as on Ctrl-C."""


class Run:
    """One training run of one tab (reset or new settings: a new Run)."""

    def __init__(
        self,
        data: Prepared,
        folder: Path,
        pitfall: str = "none",
        speed: float = 0.0,
        rate: float = RATE,
        autoplay: bool = False,
    ) -> None:
        self.data, self.folder, self.pitfall = data, folder, pitfall
        self.speed, self.rate = speed, rate
        self.commands: queue.Queue[str] = queue.Queue()
        self.state = "running" if autoplay else "ready"
        self.message: str | None = None  # the error, divergence or stop, as the page shows it
        self.records: list[dict[str, Any]] = []  # the same dicts train() keeps
        self.summary: dict[str, Any] | None = None
        self.model: Module | None = None
        self.optimizer: Optimizer | None = None
        self.grads: dict[str, torch.Tensor] | None = None
        self.health: Any = None  # the health panel's Recorder, with the "health" setting
        self.frame: dict[str, Any] | None = None
        self.version = 0  # bumped with every new frame
        self.phase = -1  # index into PHASES of the step-mode phase last shown
        self.trace: dict[str, Any] | None = None
        self._stop = False
        self._step_once = False
        self._next_frame = 0.0
        self._bounds = views.scene(data)["bounds"] if views.kind(data) == "map" else None
        self._curve_bounds = views.scene(data)["bounds"] if views.kind(data) == "curve" else None
        self.thread = threading.Thread(target=self._main, daemon=True, name="nnscratch-lab-run")

    # -- control (any thread) -------------------------------------------------------------------
    def start(self) -> Run:
        self.thread.start()
        return self

    def send(self, command: str) -> None:
        if command == "pause" and self.state == "running":
            self.state = "pausing"
        self.commands.put(command)

    def stop(self, wait: float = 5.0) -> None:
        self._stop = True
        self.commands.put("stop")
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(wait)

    # -- the training thread ------------------------------------------------------------------
    def _main(self) -> None:
        from nnscratch.run.train import TrainingInterrupted, train

        try:
            result = train(self.data, log=self._log, out=self.folder, on_build=self._on_build)
            self.summary = result.summary
            self.state = "done"
        except (TrainingInterrupted, LabStop):
            self.state, self.message = "stopped", "stopped"
        except DivergenceError as e:  # the message names the run folder: shown as a download
            message = str(e).replace(f"is in {self.folder}", "can be downloaded")
            self.state, self.message = "diverged", message.replace(str(self.folder), "the run")
        except UserError as e:
            self.state, self.message = "error", str(e)
        except Exception as e:  # a pitfall's real exception: shown on the page, server lives on
            self.state, self.message = "error", f"{type(e).__name__}: {e}"
        self._last_frame()

    def _on_build(self, model: Module, optimizer: Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        n = self.data.config.batch_size or len(self.data.train)
        pitfalls.apply(self.pitfall, optimizer, n)
        self._watch_gradients(optimizer)
        if self.data.config.health:
            self.health = health_panel.attach(model, optimizer)
        self._publish(force=True)
        if self.state == "ready":
            self._wait()

    def _watch_gradients(self, optimizer: Optimizer) -> None:
        """Keep a copy of the gradients of the step before a frame is due (the graph's hover)."""
        inner = optimizer.step
        named = list(self.model.named_parameters())

        def step(closure: Any = None) -> Any:
            if self._stop:
                raise LabStop()
            if time.perf_counter() >= self._next_frame:
                self.grads = {n: p.grad.detach().clone() for n, p in named if p.grad is not None}
            return inner()

        optimizer.step = step  # type: ignore[method-assign]

    def _log(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self._stop:
            raise LabStop()
        self._publish()
        if self._step_once or self.state == "pausing" or not self.commands.empty():
            self._step_once = False
            self.state = "paused"
            self._publish(force=True)
            self._wait()
        elif self.speed > 0:
            time.sleep(1.0 / self.speed)

    def _wait(self) -> None:
        """Paused: serve commands until one resumes training."""
        while True:
            command = self.commands.get()
            if command == "stop" or self._stop:
                raise LabStop()
            if command == "play":
                self.state = "running"
                self._publish(force=True)
                return
            if command == "step":
                self._step_once, self.state = True, "running"
                return
            if command == "phase":
                self._phase()
            # "pause" while paused: nothing to do

    def _phase(self) -> None:
        """Step mode: the next of the five phases; at 'forward', one step traced by explain."""
        from nnscratch.lab.explain import trace
        from nnscratch.run import build
        from nnscratch.run.prepare import loss_target

        self.phase = (self.phase + 1) % len(PHASES)
        if self.phase == 0:
            config = self.data.config
            y = loss_target(self.data.train.y, config.loss, getattr(torch, config.dtype))
            X = self.data.train.X[:]  # (N, F): on-disk rows too
            try:
                loss_fn = build.build_loss(config)  # steps 1–3 as the run's (its --backward)
                records = trace(
                    self.model, X, y, loss_fn, self.optimizer, 1, backward=config.backward
                )
                self.trace = records[0]
                self.message = None
            except Exception as e:  # a pitfall's exception, or a divergence
                self.trace, self.message = None, f"{type(e).__name__}: {e}"
                self.phase = -1
        self._publish(force=True)

    def _publish(self, force: bool = False) -> None:
        """A new frame, at most ``rate`` a second, and drawing at most a fifth of the time."""
        start = time.perf_counter()
        if not force and start < self._next_frame:
            return
        frame: dict[str, Any] = {"state": self.state, "message": self.message}
        if self.model is not None:
            if self._bounds is not None:
                frame["prediction"] = views.prediction(self.model, self.data, self._bounds)
            elif self._curve_bounds is not None:
                frame["prediction"] = views.prediction(self.model, self.data, self._curve_bounds)
            frame["network"] = views.network(self.model, self.grads)
        if self.health is not None:
            frame["health"] = health_panel.frame(self.health)
        if self.trace is not None and self.phase >= 0:
            frame["step_mode"] = {
                "phase": PHASES[self.phase],
                "index": self.phase,
                "record": self.trace,
            }
        if self.summary is not None:
            frame["summary"] = self.summary
        self.frame = frame
        self.version += 1
        end = time.perf_counter()
        self._next_frame = end + max(1.0 / self.rate, DRAW_SHARE * (end - start))

    def _last_frame(self) -> None:
        """The run has ended: its last frame, drawn if drawing still works, else without."""
        try:
            self._publish(force=True)
        except Exception as e:  # memory, a model gone bad: the tab still learns the end
            if self.state not in ("error", "diverged"):
                self.state, self.message = "error", f"{type(e).__name__}: {e}"
            self.frame = {"state": self.state, "message": self.message}
            self.version += 1


class Session:
    """A tab: its settings, its uploaded file, its folder and its current `Run`."""

    def __init__(self, sid: str, root: Path, rate: float = RATE) -> None:
        self.id, self.rate = sid, rate
        self.folder = root / sid
        self.folder.mkdir(parents=True)
        self.upload_name: str | None = None  # the uploaded file's own name (for the command)
        self.config: TrainConfig | None = None  # as given (None: choose for me)
        self.lab: dict[str, Any] = {"pitfall": "none", "speed": 0.0}
        self.data: Prepared | None = None
        self.run: Run | None = None
        self.runs = 0
        self.applied = 0  # settings applied (a new scene); reset starts a run, not a scene
        self.busy: Any = None  # the server's lock: one configuration at a time

    @property
    def upload_path(self) -> Path:
        return self.folder / "upload.csv"

    def configure(self, config: TrainConfig, lab: dict[str, Any]) -> Prepared:
        """Prepare the data as `nnscratch train` does and start a new run, paused."""
        from nnscratch.run.prepare import prepare

        if config.data == "upload":
            config = replace(config, data=str(self.upload_path))
        data = prepare(config)  # UserError for any data mistake, as the CLI says it
        try:
            budget.check_run(data)  # before the run allocates anything
        except budget.OverBudget as e:
            raise SettingError(e.field, str(e)) from None
        self.config, self.lab, self.data = config, lab, data
        self.applied += 1
        self.restart()
        return data

    def restart(self, autoplay: bool = False) -> Run:
        assert self.data is not None
        if self.run is not None:
            self.run.stop()
        self.runs += 1
        folder = self.folder / f"run-{self.runs}"
        if self.runs > 1:
            shutil.rmtree(self.folder / f"run-{self.runs - 1}", ignore_errors=True)
        self.run = Run(
            self.data, folder, self.lab["pitfall"], float(self.lab["speed"]), self.rate, autoplay
        ).start()
        return self.run

    def command(self) -> str:
        from nnscratch.lab.live.settings import command_line

        assert self.data is not None and self.config is not None
        resolved = self.data.config
        name = self.upload_name if self.config.data == str(self.upload_path) else None
        resolved = replace(resolved, data=self.config.data)
        return command_line(resolved, data_name=name)

    def close(self) -> None:
        if self.run is not None:
            self.run.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
