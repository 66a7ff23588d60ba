"""A run nnscratch writes is a run nnscratch reads, and predicts on the data it was made from.

The writer (`checkpoint.data_state`) passes data.json through the reader's check before saving
it; the round-trip matrix (test_roundtrip_matrix.py) writes every kind of run and reads it back.
"""

import json

import pytest
from cli_run import run

from nnscratch.run.checkpoint import data_state
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare


@pytest.fixture(autouse=True)
def _no_plots(monkeypatch):
    """Plots are tests/test_plots.py's subject; here they would cost most of each run."""
    from nnscratch.run import train

    monkeypatch.setattr(train, "write_plots", lambda *args, **kwargs: [])


DIGITS_MLP = "--data builtin:digits --model mlp --hidden 4 --batch-size 512 --quiet".split()


def test_an_mlp_run_on_images_resumes_and_predicts(tmp_path):
    """digits records its image shape for any model (predict reads images by it); the reader
    refused it for anything but a CNN (issue 18)."""
    out = tmp_path / "run"
    code, _, err = run("train", *DIGITS_MLP, "--epochs", "1", "--out", out)
    assert code == 0, err
    assert json.loads((out / "checkpoint" / "data.json").read_text())["image_shape"] == [1, 8, 8]
    code, _, err = run("train", "--resume", out, "--epochs", "2", "--quiet")
    assert code == 0, err
    code, _, err = run("predict", "--model", out, "--data", "builtin:digits", "--json")
    assert code == 0, err


def test_the_writer_asserts_that_the_reader_accepts_what_it_writes():
    data = prepare(TrainConfig(data="builtin:digits", model="mlp", hidden="4", epochs=1))
    data.train.extra["image_shape"] = [1, 4, 4]  # 16 pixels for 64 features: unreadable
    with pytest.raises(AssertionError, match="'image_shape' must be null or"):
        data_state(data)


@pytest.mark.parametrize(
    ("argv", "source"),
    [
        (["--data", "builtin:iris", "--model", "mlp", "--hidden", "4"], "builtin:iris"),
        (["--epochs", "5"], "synthetic"),  # the seed: linear regression on generated data
    ],
    ids=["iris", "synthetic"],
)
def test_predict_on_the_built_in_data_a_run_trained_on(tmp_path, argv, source):
    """Every row of the data set, made as the run made it: the metrics over all rows are the
    row-weighted mean of the train/val/test metrics the run itself reported."""
    out = tmp_path / "run"
    code, _, err = run("train", *argv, "--epochs", "3", "--out", out, "--quiet")
    assert code == 0, err
    code, text, err = run("predict", "--model", out, "--data", source, "--json")
    assert code == 0, err
    result = json.loads(text)
    summary = json.loads((out / "summary.json").read_text())
    parts = {k: v for k, v in summary["data"]["rows"].items() if v}
    n = sum(parts.values())
    assert len(result["values"]) == result["metrics"]["rows"] == n
    name = "accuracy" if "accuracy" in result["metrics"] else "mse"
    key = "accuracy" if name == "accuracy" else "loss"
    weighted = sum(summary["metrics"][p][key] * k for p, k in parts.items()) / n
    assert result["metrics"][name] == pytest.approx(weighted, rel=1e-5, abs=1e-12)


def test_predict_refuses_another_built_in_data_set(tmp_path):
    out = tmp_path / "run"
    code, _, err = run("train", "--data", "builtin:iris", "--epochs", "1", "--out", out, "--quiet")
    assert code == 0, err
    code, _, err = run("predict", "--model", out, "--data", "builtin:wine")
    assert code == 2 and err.startswith("error: --data builtin:wine: this run was trained on")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_writer_asserts_that_the_reader_accepts_its_configuration():
    data = prepare(TrainConfig(data="builtin:iris", epochs=1))
    data.config.lr = None  # unresolved: the reader refuses a configuration it cannot rebuild
    with pytest.raises(AssertionError, match="lr left unresolved"):
        data_state(data)


def test_a_cnn_run_without_its_image_shape_is_refused(tmp_path):
    from test_checkpoint_validation import edit_json

    out = tmp_path / "run"
    cnn = ["--data", "builtin:digits", "--model", "cnn", "--channels", "2", "--epochs", "1"]
    code, _, err = run("train", *cnn, "--batch-size", "512", "--out", out, "--quiet")
    assert code == 0, err
    edit_json(out, "data.json", lambda d: d.update(image_shape=None))
    code, _, err = run("predict", "--model", out, "--data", "builtin:digits")
    assert code == 2 and "'image_shape' is needed for a CNN run" in err, err
    assert err.count("\n") == 1
