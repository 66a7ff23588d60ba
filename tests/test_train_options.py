"""`nnscratch train` with the issue-3 flags: data sets, models, losses, optimizers, schedulers."""

import json

import pytest

from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


def train_json(capsys, *argv: str) -> dict:
    assert main(["train", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("scheduler", ["none", "step", "cosine", "linear"])
def test_every_optimizer_and_scheduler_trains(capsys, optimizer, scheduler):
    s = train_json(
        capsys,
        "--data",
        "builtin:iris",
        "--optimizer",
        optimizer,
        "--scheduler",
        scheduler,
        "--epochs",
        "20",
        "--step-size",
        "5",
    )
    assert s["config"]["optimizer"] == optimizer and s["config"]["scheduler"] == scheduler
    history = s["loss_history"]
    assert len(history) == 20 and history[-1] < history[0]


def test_summary_holds_metrics_for_each_split(capsys):
    s = train_json(capsys, "--data", "builtin:wine", "--epochs", "5")
    assert set(s["metrics"]) == {"train", "val", "test"}
    for part in s["metrics"].values():
        assert set(part) == {"loss", "accuracy"} and 0 <= part["accuracy"] <= 1
    r = train_json(capsys, "--data", "builtin:diabetes", "--epochs", "5")
    for part in r["metrics"].values():
        assert set(part) == {"loss", "mse", "r2"}
    n_val, n_test = round(0.15 * 442), round(0.2 * 442)  # 66, 88 of the 442 rows
    assert r["data"]["rows"] == {"train": 442 - n_val - n_test, "val": n_val, "test": n_test}


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_regression_losses(capsys, loss):
    argv = "--data builtin:diabetes --epochs 300 --optimizer adam --lr 1 --loss".split()
    s = train_json(capsys, *argv, loss)
    assert s["config"]["loss"] == loss
    assert s["metrics"]["test"]["r2"] > 0.35  # sklearn LinearRegression: 0.48 on this split


def test_mlp_with_explicit_architecture(capsys):
    s = train_json(
        capsys,
        "--data",
        "builtin:moons",
        "--model",
        "mlp",
        "--hidden",
        "8,8",
        "--activation",
        "tanh",
        "--epochs",
        "30",
        "--batch-size",
        "16",
    )
    assert s["config"]["hidden"] == "8,8" and s["config"]["activation"] == "tanh"


def test_binary_classification_with_cross_entropy_uses_two_logits():
    data = prepare(TrainConfig(data="builtin:breast_cancer", loss="cross_entropy", epochs=3))
    assert data.out_features == 2
    default = prepare(TrainConfig(data="builtin:breast_cancer", epochs=3))
    assert default.config.loss == "bce_with_logits" and default.out_features == 1


def test_standardization_uses_training_part_only():
    data = prepare(TrainConfig(data="builtin:wine"))
    mean = data.train.X.double().mean(dim=0)
    assert mean.abs().max() < 1e-5  # training part is centred...
    assert data.test.X.double().mean(dim=0).abs().max() > 1e-3  # ...the others are not re-fitted


def test_seeded_runs_are_identical():
    a = train(prepare(TrainConfig(data="builtin:iris", epochs=10, batch_size=16))).summary
    b = train(prepare(TrainConfig(data="builtin:iris", epochs=10, batch_size=16))).summary
    assert a["loss_history"] == b["loss_history"]


def test_float64_runs(capsys):
    s = train_json(capsys, "--dtype", "float64", "--epochs", "300")
    assert s["relative_loss_gap"] < 1e-10


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--data", "builtin:nope"], "unknown data set"),
        (["--data", "builtin:diabetes", "--loss", "cross_entropy"], "classification loss"),
        (["--data", "builtin:iris", "--loss", "mse"], "regression loss"),
        (["--data", "builtin:iris", "--loss", "bce_with_logits"], "exactly 2 classes"),
        (["--data", "builtin:diabetes", "--model", "logistic"], "--model logistic"),
        (["--data", "builtin:iris", "--task", "regression"], "classification task"),
        (["--hidden", "64,,64", "--model", "mlp"], "--hidden"),
        (["--hidden", "0", "--model", "mlp"], "--hidden"),
        (["--betas", "0.9"], "--betas"),
        (["--betas", "0.9,1.5"], "beta2"),
        (["--batch-size", "0"], "--batch-size"),
        (["--val-fraction", "1.5"], "--val-fraction"),
        (["--optimizer", "lbfgs"], "lbfgs"),
        (["--nesterov"], "--nesterov"),
        (["--device", "cuda"], "CUDA"),
    ],
)
def test_bad_combinations_are_one_line_errors(capsys, argv, fragment):
    import torch

    if argv == ["--device", "cuda"] and torch.cuda.is_available():
        argv = ["--device", "tpu"]  # on a GPU machine check the choice error instead
        fragment = "tpu"
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_a_directory_as_data_says_so(capsys, tmp_path):
    assert main(["train", "--data", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_exact_fit_has_no_relative_gap(tmp_path, capsys):
    rows = "\n".join(f"{a},{b},{a + 2 * b}" for a in range(5) for b in range(4))
    (tmp_path / "exact.csv").write_text("a,b,y\n" + rows + "\n")
    s = train_json(capsys, "--data", str(tmp_path / "exact.csv"))
    assert s["least_squares"]["loss"] < 1e-12 and s["relative_loss_gap"] is None


def test_an_mlp_on_diabetes_with_its_defaults_learns(capsys):
    """--model mlp on a set whose default is the linear model gets the MLP's defaults (Adam),
    not the linear model's SGD lr 0.1, with which it diverged at epoch 4."""
    r = train_json(capsys, "--data", "builtin:diabetes", "--model", "mlp")
    assert r["config"]["optimizer"] == "adam"
    assert r["metrics"]["test"]["r2"] > 0.3


@pytest.mark.parametrize("data", ["builtin:iris", "synthetic"])
def test_target_on_a_data_set_with_its_own_target_is_refused(capsys, data):
    """--target names a CSV column; on a built-in set it was silently ignored."""
    assert main(["train", "--data", data, "--target", "zz", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--target names a column of a .csv file" in err
