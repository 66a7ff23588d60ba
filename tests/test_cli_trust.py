"""Issue 17, the command line: hyperparameters the tensors cannot hold, file names that are not
UTF-8 or hold a newline, nested write errors, a data.json that does not fit its model,
--checkpoint-every after --resume, and sample's bound and streaming. Each one is an error line
(exit 2) or works; never a traceback."""

import errno
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
from cli_run import assert_user_error, run

from nnscratch.errors import UserError
from nnscratch.run import atomic, checkpoint, ranges
from nnscratch.run.checkpoint import records
from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig
from nnscratch.run.sample import MAX_TOKENS, sample, stream

TINY = ["--epochs", "2", "--json"]


# -- hyperparameters that a float32 tensor cannot be used with -------------------------------------
@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--data", "builtin:moons", "--lr", "1e308"], "--lr"),
        (["--optimizer", "rmsprop", "--alpha", "1e308"], "--alpha"),
        (["--scheduler", "step", "--step-size", "1", "--gamma", "1e308"], "--gamma"),
        (
            ["--scheduler", "step", "--step-size", "1", "--gamma", "1e4", "--epochs", "10"],
            "--gamma",
        ),
    ],
    ids=["lr", "alpha", "gamma", "gamma-compounded"],
)
def test_a_hyperparameter_that_overflows_float32_is_one_error_line(argv, flag):
    assert_user_error(["train", *argv], flag)


@pytest.mark.parametrize("name", ranges.real_fields(TrainConfig()))
def test_every_real_flag_at_1e308_is_refused_by_name(name):
    assert_user_error(["train", "--" + name.replace("_", "-"), "1e308"], ranges.flag(name))


def test_a_growing_schedule_within_the_range_is_accepted():
    config = TrainConfig(scheduler="step", step_size=1, gamma=2.0, lr=0.1, epochs=10)
    assert ranges.peak_lr(config.validate()) == pytest.approx(0.1 * 2**9)


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["--optimizer", "adamw", "--lr", "1e20", "--weight-decay", "1e20"], "AdamW's decay"),
        (["--optimizer", "adam", "--lr", "1e20", "--betas", "0.9999999999999999,0.9"], "Adam's"),
    ],
    ids=["adamw-decay", "adam-step"],
)
def test_a_product_of_two_hyperparameters_that_overflows_is_refused(argv, what):
    assert_user_error(["train", *argv], what)


@pytest.mark.parametrize(
    "argv",
    [
        ["--optimizer", "adamw", "--lr", "1e15", "--weight-decay", "1e15"],
        ["--optimizer", "adam", "--lr", "1e14", "--betas", "0.9999999999999999,0.999"],
        ["--optimizer", "rmsprop", "--alpha", "1e30", "--momentum", "1e30", "--lr", "1e30"],
        ["--optimizer", "sgd", "--momentum", "1e30", "--weight-decay", "1e30", "--lr", "1e30"],
        ["--backward", "manual", "--lr", "1e30"],
    ],
    ids=["adamw", "adam", "rmsprop", "sgd", "manual"],
)
def test_the_largest_values_allowed_train_or_diverge_without_a_traceback(argv):
    code, _, err = run("train", *argv, *TINY)
    assert code in (0, 3) and "Traceback" not in err, err  # 3: diverged, said in one line


# -- names from outside --------------------------------------------------------------------------
def test_a_data_file_name_that_is_not_utf8_trains_and_plots(tmp_path):
    data = os.fsdecode(bytes(tmp_path) + b"/bad\xff.csv")
    with open(data, "w") as f:
        f.write("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(12)))
    out = tmp_path / "run"
    code, _, err = run("train", "--data", data, *TINY, "--out", out)
    assert code == 0, err
    assert (out / "loss.png").is_file() and (out / "fit.png").is_file()


def test_a_newline_in_a_path_is_escaped_in_one_error_line(tmp_path):
    err = assert_user_error(["train", "--data", str(tmp_path / "a\nb.csv")], "a\\nb.csv")
    assert "\r" not in err


def test_a_failed_write_says_cannot_write_once(tmp_path):
    log = records.MetricsLog(tmp_path)

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    log._file = Full()
    log.append({"epoch": 1, "train_loss": 1.0})
    with pytest.raises(atomic.WriteError) as e:
        log.sync()
    assert str(e.value) == f"{tmp_path / 'metrics.jsonl'}: cannot write (No space left on device)"


# -- a data.json that does not fit its model -------------------------------------------------------
def test_predict_refuses_many_classes_for_a_one_output_model(tmp_path):
    import hashlib

    out, data = tmp_path / "run", tmp_path / "binary.csv"
    data.write_text("a,b,c,label\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(20)))
    argv = ["--data", data, "--loss", "bce_with_logits", "--epochs", "1"]
    code, _, err = run("train", *argv, "--json", "--out", out)
    assert code == 0, err
    folder = out / "checkpoint"
    values = json.loads((folder / "data.json").read_text())
    assert values["out_features"] == 1
    values["classes"] = [str(i) for i in range(10**5)]
    blob = json.dumps(values).encode()
    (folder / "data.json").write_bytes(blob)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["data.json"] = {
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "x.csv").write_text("a,b,c\n0.5,0.1,1\n")
    assert_user_error(["predict", "--model", out, "--data", tmp_path / "x.csv"], "exactly 2")


# -- --checkpoint-every is part of the run -----------------------------------------------------------
def test_checkpoint_every_is_kept_by_resume_and_may_be_changed(tmp_path, monkeypatch):
    saved, real = [], checkpoint.save

    def spy(run_dir, config, data, snap):
        saved.append(snap.epoch)
        return real(run_dir, config, data, snap)

    monkeypatch.setattr(checkpoint, "save", spy)
    out = tmp_path / "run"
    assert run("train", "--epochs", "3", "--checkpoint-every", "1", "--json", "--out", out)[0] == 0
    assert saved == [1, 2, 3]
    code, _, err = run("train", "--resume", out, "--epochs", "6", "--json")
    assert code == 0, err
    assert saved[3:] == [4, 5, 6]  # not only at the end (6) or every 10 epochs
    code, _, err = run("train", "--resume", out, "--epochs", "9", "--checkpoint-every", "0")
    assert code == 0, err
    assert saved[6:] == [9]
    assert checkpoint.load(out).config.checkpoint_every == 0


# -- sample: bounded, streamed -----------------------------------------------------------------------
TEXT = "the quick brown fox jumps over the lazy dog.\n" * 20
TINY_LM = ["--model", "transformer", "--block-size", "8", "--n-layer", "1", "--n-embd", "8"]
TINY_LM += ["--n-head", "2", "--batch-size", "16", "--epochs", "1", "--json"]


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    base = tmp_path_factory.mktemp("lm")
    (base / "notes.txt").write_text(TEXT, encoding="utf-8")
    code, _, err = run("train", "--data", base / "notes.txt", *TINY_LM, "--out", base / "run")
    assert code == 0, err
    return base / "run"


def test_a_subnormal_temperature_is_an_error_line(lm):
    assert_user_error(["sample", "--model", lm, "--temperature", "1e-320"], "--temperature")
    assert run("sample", "--model", lm, "--temperature", "1e-30", "--tokens", "1")[0] == 0


def test_tokens_have_an_upper_bound(lm):
    assert_user_error(["sample", "--model", lm, "--tokens", str(MAX_TOKENS + 1)], "--tokens")


def test_sample_streams_one_character_at_a_time_and_keeps_its_text(lm):
    pieces = stream(lm, "the ", 4, 1.0, 3)
    assert next(pieces) == "the "
    rest = list(pieces)
    assert len(rest) == 4 and all(len(p) == 1 for p in rest)
    assert "the " + "".join(rest) == sample(lm, "the ", 4, 1.0, 3)
    with pytest.raises(UserError, match="--tokens"):
        stream(lm, "the ", -1)  # checked when called, before the first piece


def test_the_cli_flushes_each_piece_as_it_is_drawn(lm):
    class Recorder(io.StringIO):
        seen: list[str] = []

        def flush(self):
            self.seen.append(self.getvalue())

    out = Recorder()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["sample", "--model", str(lm), "--prompt", "the ", "--tokens", "4"]) == 0
    prefixes = sorted({s for s in out.seen if s}, key=len)
    assert len(prefixes) >= 5  # the prompt, then each character
    assert all(out.getvalue().startswith(p) for p in prefixes)
