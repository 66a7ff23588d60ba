"""The training job reaches the least-squares optimum; the CLI works and fails cleanly."""

import json
import subprocess
import sys

import pytest

from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


def test_default_training_reaches_least_squares_optimum():
    summary = train(prepare(TrainConfig())).summary
    assert summary["relative_loss_gap"] < 1e-3
    assert summary["loss_history"][0] > 10 * summary["loss_history"][-1]  # the loss fell
    for name in ("weight", "bias"):  # and the fit is close to the truth the data came from
        learned, true = summary["parameters"][name], summary["true"][name]
        flat = lambda v: [x for row in v for x in row] if isinstance(v[0], list) else v  # noqa: E731
        assert all(abs(a - b) < 0.1 for a, b in zip(flat(learned), flat(true), strict=True))


def test_several_features_reach_the_optimum_in_float64():
    summary = train(
        prepare(TrainConfig(n_features=5, n_samples=300, dtype="float64", epochs=300))
    ).summary
    assert summary["relative_loss_gap"] < 1e-6


def test_cli_train_json_parses(capsys):
    assert main(["train", "--json", "--epochs", "50", "--n-features", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("final_loss", "parameters", "true", "least_squares"):
        assert key in summary
    assert len(summary["parameters"]["weight"][0]) == 2
    assert summary["config"]["epochs"] == 50


def test_cli_train_human_report(capsys):
    assert main(["train", "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "least squares" in out and "final loss" in out and "epoch    30/30" in out


def test_cli_verify_all_pass_within_an_80_column_terminal(capsys, monkeypatch, verify_rows):
    from nnscratch.lab import verify

    names = [m.__name__.rsplit(".", 1)[1] for m in verify._modules()]
    every = [row for name in names for row in verify_rows(name)]  # the session's one run
    monkeypatch.setattr(verify, "run_all", lambda: iter(every))
    monkeypatch.setenv("COLUMNS", "80")  # what shutil.get_terminal_size reads first
    assert main(["verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("result") and "FAIL" not in "\n".join(lines)
    assert max(map(len, lines)) <= 80, max(lines, key=len)
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("---")) + 1 : -2]
    results = [line[:4] for line in body if line[:4].strip()]
    assert results and set(results) == {"PASS"}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["train", "--lr", "-0.1"], "--lr must be"),
        (["train", "--lr", "0"], "--lr must be"),
        (["train", "--n-samples", "0"], "--n-samples must be at least 1"),
        (["train", "--epochs", "-3"], "--epochs must be"),
        (["train", "--lr", "abc"], "'abc' is not a valid float"),
        (["train", "--dtype", "float16"], "float16"),
        (["train", "--nope"], "No such option"),
        (["nope"], "No such command"),
    ],
)
def test_cli_bad_input_is_one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_console_script_and_module_entry_points_exit_cleanly():
    bad = subprocess.run(
        [sys.executable, "-m", "nnscratch", "train", "--lr", "-1"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "nnscratch", "train", "--epochs", "5"],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0 and "least squares" in good.stdout
