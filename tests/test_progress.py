"""The per-epoch log: stdout lines always (unless quiet), a stderr bar only on a terminal."""

import io
import sys

import pytest
from rich.console import Console

from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.report import DELAY, ProgressLogger, progress_logger
from nnscratch.run.train import train


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def records(epochs, val=True):
    for k in range(1, epochs + 1):
        record = {"epoch": k, "train_loss": 1.0 / k, "lr": 0.1}
        if val:
            record["val"] = {"loss": 2.0 / k}
        yield record


def ticking(step):
    """A fake clock that advances ``step`` seconds per call."""
    t = [0.0]

    def clock():
        t[0] += step
        return t[0]

    return clock


def terminal_stderr(monkeypatch):
    """Make sys.stderr a terminal.  Called in the test body: pytest re-installs its own capture
    of sys.stderr between fixture setup and the test call."""
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_stdout_lines_evenly_spaced_with_val_loss(capsys):
    log = progress_logger(100)
    for r in records(100):
        log(r)
    out = capsys.readouterr().out.splitlines()
    epochs = [int(line.split()[1].split("/")[0]) for line in out]
    assert epochs == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert out[1] == "epoch    10/100  batch-mean loss 0.1  val loss 0.2"


def test_lines_name_the_loss_and_show_the_metric_elapsed_and_eta(capsys):
    log = progress_logger(4, lines=4)
    log({"epoch": 1, "train_loss": 0.5, "val": {"loss": 0.25, "accuracy": 0.875}, "elapsed": 2.0})
    log({"epoch": 2, "train_loss": 0.4, "val": {"loss": 0.2, "r2": 0.5}, "elapsed": 90.0})
    first, second = capsys.readouterr().out.splitlines()
    assert first == "epoch     1/4  batch-mean loss 0.5  val loss 0.25 acc 0.875  2s ETA 6s"
    assert second.endswith("val loss 0.2 R² 0.500  1m30s ETA 1m30s")


def test_a_digits_line_fits_80_columns(capsys):
    log = progress_logger(40, lines=1)
    val = {"loss": 0.0812345, "accuracy": 0.977778}
    log({"epoch": 40, "train_loss": 0.0123456789, "val": val, "elapsed": 12.345})
    line = capsys.readouterr().out.strip()
    assert (
        line == "epoch    40/40  batch-mean loss 0.0123457  val loss 0.0812 acc 0.978  12s ETA 0s"
    )
    assert len(line) <= 80


def test_not_a_terminal_means_no_bar_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv("FORCE_COLOR", "1")  # colour forced (as in CI) still draws no bar in a log
    log = ProgressLogger(20, delay=0.0, clock=ticking(1.0))
    for r in records(20):
        log(r)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "epoch    20/20" in captured.out
    assert log.console is None


def test_quiet_prints_nothing_anywhere(monkeypatch, capsys):
    stderr_tty = terminal_stderr(monkeypatch)
    log = ProgressLogger(20, quiet=True, delay=0.0, clock=ticking(1.0))
    for r in records(20):
        log(r)
    assert capsys.readouterr().out == ""
    assert stderr_tty.getvalue() == ""


def test_terminal_stderr_shows_bar_with_epoch_and_loss(monkeypatch, capsys):
    stderr_tty = terminal_stderr(monkeypatch)
    log = ProgressLogger(20, delay=0.0, clock=ticking(1.0))
    for r in records(7):
        log(r)
    log.progress.refresh()
    bar = stderr_tty.getvalue()
    assert "epoch" in bar and "7/20" in bar
    assert "loss 0.1429" in bar  # 1/7, the live loss
    assert "ETA" in bar
    for r in list(records(20))[7:]:
        log(r)
    assert log.progress is None  # stopped by itself after the last epoch
    assert stderr_tty.getvalue().endswith("\x1b[2K")  # transient: the bar line was erased
    assert "epoch    20/20" in capsys.readouterr().out


def test_injected_console_forced_terminal():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    log = ProgressLogger(10, console=console, delay=0.0, clock=ticking(1.0))
    for r in records(4, val=False):
        log(r)
    log.progress.refresh()
    assert "4/10" in stream.getvalue() and "loss 0.25" in stream.getvalue()
    log.close()
    assert log.progress is None


def test_short_run_shows_no_bar(monkeypatch):
    stderr_tty = terminal_stderr(monkeypatch)
    log = ProgressLogger(50, clock=ticking(DELAY / 100))  # 50 epochs in half the delay
    for r in records(50):
        log(r)
    assert stderr_tty.getvalue() == ""


def test_bar_appears_once_the_run_outlasts_the_delay(monkeypatch):
    terminal_stderr(monkeypatch)
    log = ProgressLogger(50, clock=ticking(DELAY / 4))  # the delay passes at epoch 5
    for r in records(4):
        log(r)
    assert log.progress is None
    log(next(r for r in records(5) if r["epoch"] == 5))
    assert log.progress is not None
    log.close()


def test_close_stops_bar_early_and_is_idempotent(monkeypatch, capsys):
    stderr_tty = terminal_stderr(monkeypatch)
    with ProgressLogger(30, delay=0.0, clock=ticking(1.0)) as log:
        for r in records(3):
            log(r)
        assert log.progress is not None
    assert log.progress is None
    assert stderr_tty.getvalue().endswith("\x1b[2K")  # the bar was erased at epoch 3 of 30
    log.close()
    capsys.readouterr()
    log({"epoch": 30, "train_loss": 0.5})  # after close: silent
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("kwargs", "bad"), [({"epochs": -1}, "-1"), ({"epochs": 5, "lines": 0}, "0")]
)
def test_invalid_arguments_raise_value_error_naming_the_value(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        ProgressLogger(**kwargs)


def test_with_the_real_training_run(capsys):
    summary = train(prepare(TrainConfig(epochs=30)), log=progress_logger(30, lines=3)).summary
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in out] == ["1/30", "10/30", "20/30", "30/30"]
    last_loss = float(out[-1].split()[4])  # "epoch 30/30 batch-mean loss L ..."
    assert last_loss == pytest.approx(summary["loss_history"][-1], rel=1e-5)


# -- within a long epoch (issue 18: 62 s of silence before epoch 1) ----------------------------
def test_a_long_epoch_prints_its_steps_now_and_then_in_a_log(capsys):
    log = ProgressLogger(3, clock=ticking(0.5))  # every call: half a second later
    for k in range(1, 4):  # 1.5 s into the epoch: still quiet
        log.step(k, 100, 2.5)
    assert capsys.readouterr().out == ""
    for k in range(4, 40):
        log.step(k, 100, 2.25)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("  epoch 1/3  step 4/100  loss 2.25  ")
    assert "steps/s  epoch ETA " in lines[0]
    assert len(lines) == 2  # one at 2 s, the next 10 s later (20 calls), not one per step
    log(next(records(1)))  # epoch 1 ends: the next epoch starts quiet again
    capsys.readouterr()
    log.step(1, 100, 1.0)
    assert capsys.readouterr().out == ""


def test_a_long_epoch_shows_a_step_bar_on_a_terminal():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    log = ProgressLogger(3, console=console, clock=ticking(1.0), start=1)  # a resumed run
    for k in range(1, 6):
        log.step(k, 50, 0.75)
    log.progress.refresh()
    assert "step" in stream.getvalue() and "5/50" in stream.getvalue()
    assert "loss 0.75" in stream.getvalue() and "1/s" in stream.getvalue()  # 5 steps in 5 s
    log.close()


def test_fit_reports_every_step_of_every_epoch():
    import torch

    from nnscratch import fit
    from nnscratch.models import LinearRegression

    seen, epochs = [], []
    X, y = torch.randn(10, 2), torch.randn(10, 1)
    model = LinearRegression(2)

    def callback(e):
        epochs.append(e.epoch)

    callback.step = lambda k, n, loss: seen.append((k, n))  # fit's per-step hook
    fit(model, X, y, epochs=2, batch_size=4, callback=callback)
    assert seen == [(1, 3), (2, 3), (3, 3)] * 2 and epochs == [0, 1]
    seen.clear()
    fit(model, X, y, epochs=2, callback=callback)  # full batch
    assert seen == [(1, 1)] * 2


def test_loading_shows_a_transient_spinner_on_a_terminal_only():
    from nnscratch.run.report import loading

    stream = io.StringIO()
    with loading("big.csv", console=Console(file=stream, force_terminal=True)):
        pass
    assert "loading big.csv" in stream.getvalue()
    log = io.StringIO()
    with loading("big.csv", console=Console(file=log, force_terminal=False)):
        pass
    assert log.getvalue() == ""


def test_a_transformer_above_its_bigram_baseline_says_so_and_what_to_try():
    from nnscratch.run.summary import above_bigram

    summary = {"metrics": {"test": {"loss": 2.9}}, "bigram": {"test": 2.4, "val": None}}
    (warning,) = above_bigram(summary, 4)
    assert "test loss per character 2.9 is above the bigram baseline's 2.4" in warning
    assert "--epochs 9" in warning
    summary["metrics"]["test"]["loss"] = 2.1
    assert above_bigram(summary, 4) == []
