"""Exact resume: a run stopped after k epochs and resumed to n gives bit-identical parameters to
an uninterrupted n-epoch run, with mini-batches, momentum/Adam state and a scheduler in play;
Ctrl-C saves the last completed epoch and says how to resume."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from nnscratch import loop
from nnscratch.run import checkpoint
from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import TrainingInterrupted, train

OPTIMIZERS = {
    "adam": dict(optimizer="adam", lr=0.05),
    "sgd+momentum": dict(optimizer="sgd", lr=0.1, momentum=0.9),
}


def config(epochs: int, **changes) -> TrainConfig:
    base = dict(data="builtin:iris", batch_size=16, scheduler="step", step_size=2, gamma=0.5)
    return TrainConfig(**{**base, "epochs": epochs, **changes})


def params(result) -> list[torch.Tensor]:
    return [p.detach() for p in result.model.parameters()]


def assert_bit_identical(a, b):
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_stop_after_3_resume_to_6_is_bit_identical(tmp_path, name):
    full = train(prepare(config(6, **OPTIMIZERS[name])))
    train(prepare(config(3, **OPTIMIZERS[name])), out=tmp_path)
    saved = checkpoint.load(tmp_path)
    assert saved.state.epoch == 3
    resumed = train(prepare(config(6, **OPTIMIZERS[name])), out=tmp_path, resume=saved)
    assert_bit_identical(params(resumed), params(full))
    losses = [r["train_loss"] for r in resumed.records]
    assert losses == [r["train_loss"] for r in full.records]  # the history carries over
    assert [r["lr"] for r in resumed.records] == [r["lr"] for r in full.records]
    assert checkpoint.load(tmp_path).state.epoch == 6


def test_resume_needs_the_shuffle_generator_state(tmp_path):
    """The check above can fail: without the saved shuffle order, the parameters differ."""
    full = train(prepare(config(6, **OPTIMIZERS["adam"])))
    train(prepare(config(3, **OPTIMIZERS["adam"])), out=tmp_path)
    saved = checkpoint.load(tmp_path)
    saved.state.rng["shuffle"] = torch.Generator().manual_seed(0).get_state()
    resumed = train(prepare(config(6, **OPTIMIZERS["adam"])), resume=saved)
    assert not all(torch.equal(a, b) for a, b in zip(params(resumed), params(full), strict=True))


def test_cli_resume_continues_to_n_epochs_exactly(tmp_path, capsys):
    flags = ["--data", "builtin:iris", "--batch-size", "16", "--optimizer", "sgd"]
    flags += ["--momentum", "0.9", "--scheduler", "step", "--step-size", "2", "--json"]
    assert main(["train", *flags, "--epochs", "6", "--out", str(tmp_path / "full")]) == 0
    assert main(["train", *flags, "--epochs", "3", "--out", str(tmp_path / "part")]) == 0
    folder = tmp_path / "part" / "checkpoint"  # the checkpoint folder itself works too
    assert main(["train", "--resume", str(folder), "--epochs", "6", "--json"]) == 0
    assert not (folder / "checkpoint").exists()  # saved into the run, not nested
    capsys.readouterr()
    a = checkpoint.load(tmp_path / "full").state.model
    b = checkpoint.load(tmp_path / "part").state.model
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--epochs", "3"], "has trained 3 epochs already"),
        (["--epochs", "5", "--lr", "0.5"], "--lr: a resumed run keeps its saved configuration"),
        (["--epochs", "5", "--overwrite"], "--overwrite does not go with --resume"),
    ],
)
def test_cli_resume_refuses_changes(tmp_path, capsys, argv, fragment):
    assert (
        main(["train", "--data", "builtin:iris", "--epochs", "3", "--json", "--out", str(tmp_path)])
        == 0
    )
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_ctrl_c_in_a_callback_saves_the_epoch_and_resumes_exactly(tmp_path):
    def log(record):
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        train(prepare(config(6, **OPTIMIZERS["adam"])), log=log, out=tmp_path)
    assert (info.value.epoch, info.value.epochs, info.value.out) == (3, 6, tmp_path)
    saved = checkpoint.load(tmp_path)
    assert saved.state.epoch == 3
    resumed = train(prepare(config(6, **OPTIMIZERS["adam"])), resume=saved)
    assert_bit_identical(params(resumed), params(train(prepare(config(6, **OPTIMIZERS["adam"])))))


def test_ctrl_c_mid_epoch_keeps_the_last_completed_epoch(tmp_path, monkeypatch):
    real, seen = loop.batches, []

    def interrupted_in_epoch_4(*args, **kwargs):
        seen.append(1)
        for i, batch in enumerate(real(*args, **kwargs)):
            if len(seen) == 4 and i == 2:
                raise KeyboardInterrupt  # after two updates of epoch 4
            yield batch

    monkeypatch.setattr(loop, "batches", interrupted_in_epoch_4)
    with pytest.raises(TrainingInterrupted):
        train(prepare(config(6, **OPTIMIZERS["sgd+momentum"])), out=tmp_path)
    monkeypatch.setattr(loop, "batches", real)
    saved = checkpoint.load(tmp_path)
    assert saved.state.epoch == 3  # not the half-done epoch 4
    resumed = train(prepare(config(6, **OPTIMIZERS["sgd+momentum"])), resume=saved)
    full = train(prepare(config(6, **OPTIMIZERS["sgd+momentum"])))
    assert_bit_identical(params(resumed), params(full))


def test_sigint_saves_a_checkpoint_and_prints_the_resume_command(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "nnscratch", "train", "--data", "builtin:iris", "--quiet"]
    argv += ["--epochs", "100000", "--batch-size", "16", "--checkpoint-every", "1"]
    proc = subprocess.Popen(
        [*argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 600  # a hang guard; the event waited for: the first checkpoint
    while not (out / "checkpoint" / "manifest.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"nnscratch train --resume {out} --epochs 100000" in err
    saved = checkpoint.load(out)
    assert 1 <= saved.state.epoch < 100000
    assert len(saved.state.records) == saved.state.epoch
