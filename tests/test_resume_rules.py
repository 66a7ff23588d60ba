"""What ``train --resume`` accepts (`nnscratch.run.resume`), tested by running the CLI as a user
would: the command printed on Ctrl-C works even after the last epoch, a relative ``--data``
path resumes from another folder, and a cosine run is never extended with a jump of the lr."""

import json
import shlex

import pytest
from cli_run import run

from nnscratch.run.cli.commands import train as train_command


@pytest.fixture
def ctrl_c_after(monkeypatch):
    """``ctrl_c_after(k)``: the next CLI run is interrupted once epoch k has been logged."""

    def arm(k):
        def logger(epochs, quiet, start=0):
            def log(record):
                if record["epoch"] == k:
                    raise KeyboardInterrupt

            return None if k is None else log

        monkeypatch.setattr(train_command, "epoch_logger", logger)

    yield arm


def printed_command(err):
    """The ``nnscratch train --resume ...`` command in the Ctrl-C message, as argv."""
    assert "resume with: " in err, err
    argv = shlex.split(err.split("resume with: ", 1)[1].strip())
    assert argv[:2] == ["nnscratch", "train"], argv
    return argv[1:]


def test_the_command_printed_on_ctrl_c_after_the_last_epoch_works(tmp_path, ctrl_c_after):
    out = tmp_path / "run"
    ctrl_c_after(4)  # the last epoch: completed and saved, the report not yet written
    code, _, err = run("train", "--epochs", "4", "--out", out)
    assert code == 130, err
    assert not (out / "summary.json").exists()
    ctrl_c_after(None)  # the user runs the printed command and lets it finish
    code, _, err = run(*printed_command(err), "--quiet")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())  # the report, now written
    code, _, err = run("train", "--resume", out, "--epochs", "4")  # finished: nothing to do
    assert code == 2 and "pass --epochs N with N > 4" in err


def test_the_command_printed_on_ctrl_c_mid_run_works(tmp_path, ctrl_c_after):
    out = tmp_path / "run"
    ctrl_c_after(2)
    code, _, err = run("train", "--epochs", "5", "--out", out)
    assert code == 130, err
    ctrl_c_after(None)
    assert run(*printed_command(err), "--quiet")[0] == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 5


def test_a_relative_data_path_resumes_from_another_folder(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rows = "".join(f"{i},{i % 3},{2 * i + 1}\n" for i in range(20))
    (tmp_path / "a" / "d.csv").write_text("x,z,y\n" + rows)
    monkeypatch.chdir(tmp_path / "a")
    assert run("train", "--data", "d.csv", "--epochs", "2", "--out", "run", "--quiet")[0] == 0
    config = json.loads((tmp_path / "a" / "run" / "checkpoint" / "config.json").read_text())
    assert config["data"] == str(tmp_path / "a" / "d.csv")  # saved absolute
    monkeypatch.chdir(tmp_path / "b")
    code, _, err = run("train", "--resume", "../a/run", "--epochs", "3", "--quiet")
    assert code == 0, err


def test_extending_a_cosine_run_past_its_end_is_refused_and_says_why(tmp_path):
    out = tmp_path / "run"
    assert run("train", "--scheduler", "cosine", "--epochs", "4", "--out", out, "--quiet")[0] == 0
    before = (out / "checkpoint" / "manifest.json").read_bytes()
    code, _, err = run("train", "--resume", out, "--epochs", "8")
    assert code == 2, err
    assert err.count("\n") == 1 and "cosine schedule ends at epoch 4" in err, err
    assert "the lr would climb back up" in err and "--scheduler cosine --epochs 8" in err
    assert (out / "checkpoint" / "manifest.json").read_bytes() == before


def test_an_interrupted_cosine_run_resumes_to_its_end_with_the_lr_falling(tmp_path, ctrl_c_after):
    out = tmp_path / "run"
    ctrl_c_after(3)
    assert run("train", "--scheduler", "cosine", "--epochs", "6", "--out", out)[0] == 130
    ctrl_c_after(None)
    code, _, err = run("train", "--resume", out, "--epochs", "7")
    assert code == 2 and "ends at epoch 6" in err, err
    assert run("train", "--resume", out, "--epochs", "6", "--quiet")[0] == 0
    lrs = [json.loads(line)["lr"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lrs) == 6 and all(a > b for a, b in zip(lrs, lrs[1:], strict=False)), lrs


def test_the_task_rule_is_in_the_help():
    code, out, _ = run("train", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "text labels" in text and "at most 20 distinct" in text and "--task" in text


def test_a_cuda_run_resumed_without_a_gpu_says_what_works(tmp_path, monkeypatch):
    import hashlib

    import torch

    out = tmp_path / "run"
    assert run("train", "--epochs", "2", "--out", out, "--quiet")[0] == 0
    config = out / "checkpoint" / "config.json"
    blob = json.dumps({**json.loads(config.read_text()), "device": "cuda"}).encode()
    config.write_bytes(blob)  # as a run trained on a GPU machine has it
    manifest = json.loads((out / "checkpoint" / "manifest.json").read_text())
    manifest["files"]["config.json"] = {
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
    }
    (out / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run("train", "--resume", out, "--epochs", "3")
    assert code == 2 and err.count("\n") == 1, err
    assert "resume it on a machine with one" in err and "--device cpu or auto" not in err
    code, _, err = run("train", "--resume", out, "--epochs", "3", "--device", "cpu")
    assert code == 2 and "keeps its saved configuration" in err  # why the old advice failed
