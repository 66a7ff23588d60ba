"""`nnscratch predict`: a saved run applied to a file equals the same model rebuilt in torch.nn
from model.safetensors and data.json; columns by name; metrics equal sklearn's."""

import csv
import json

import numpy as np
import pytest
import safetensors.torch
import torch
from sklearn import metrics as skm
from sklearn.datasets import load_iris
from torch import nn

from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train

IRIS = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("iris")
    train(prepare(TrainConfig(data="builtin:iris", epochs=5)), out=out)
    return out


def oracle(run, X: np.ndarray, out_features: int) -> torch.Tensor:
    """Logits/values from ``nn.Linear`` loaded with the saved weights, on the saved μ, σ."""
    state = safetensors.torch.load((run / "checkpoint" / "model.safetensors").read_bytes())
    info = json.loads((run / "checkpoint" / "data.json").read_text())
    mean, std = np.array(info["standardizer"]["mean"]), np.array(info["standardizer"]["std"])
    layer = nn.Linear(X.shape[1], out_features)
    layer.load_state_dict(state)
    with torch.no_grad():
        return layer(torch.tensor((X - mean) / std, dtype=torch.float32))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def iris_file(tmp_path, labels=None):
    """Ten iris rows, columns shuffled, plus an id column and (optionally) the target."""
    d = load_iris()
    idx = list(range(0, 150, 15))
    names = list(d.feature_names)
    header = ["id", names[2], names[0], names[3], names[1]]
    rows = [[i, *d.data[i][[2, 0, 3, 1]]] for i in idx]
    if labels is not None:
        header.append("species")
        rows = [[*r, lab] for r, lab in zip(rows, labels, strict=True)]
    return write_csv(tmp_path / "iris.csv", header, rows), d.data[idx], d.target[idx]


def run_json(capsys, *argv):
    assert main(["predict", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_classes_and_probabilities_equal_torch_nn_and_metrics_equal_sklearn(
    iris_run, tmp_path, capsys
):
    d = load_iris()
    labels = [IRIS[t] for t in d.target[range(0, 150, 15)]]
    path, X, y = iris_file(tmp_path, labels)
    got = run_json(capsys, "--model", iris_run, "--data", path)
    p = torch.softmax(oracle(iris_run, X, 3), dim=1)  # (10, 3)
    torch.testing.assert_close(torch.tensor(got["probabilities"]), p, atol=1e-6, rtol=1e-5)
    assert got["values"] == [IRIS[k] for k in p.argmax(dim=1).tolist()]
    assert got["classes"] == IRIS
    m = got["metrics"]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(labels, got["values"]), abs=1e-12)
    p64 = p.double() / p.double().sum(dim=1, keepdim=True)  # float32 rows sum to 1 ± 1e-7
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p64.numpy(), labels=[0, 1, 2]), abs=1e-6)


def test_no_target_column_means_no_metrics_and_unseen_labels_count_as_wrong(
    iris_run, tmp_path, capsys
):
    path, _, _ = iris_file(tmp_path)
    assert run_json(capsys, "--model", iris_run, "--data", path)["metrics"] is None
    d = load_iris()
    labels = [IRIS[t] for t in d.target[range(0, 150, 15)]]
    got = run_json(capsys, "--model", iris_run, "--data", iris_file(tmp_path, labels)[0])
    wrong = ["unicorn", *labels[1:]]  # a class the model never saw
    unseen = run_json(capsys, "--model", iris_run, "--data", iris_file(tmp_path, wrong)[0])
    m = unseen["metrics"]
    assert m["unseen_labels"] == ["unicorn"] and "log_loss" not in m
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(wrong, got["values"]))


def test_out_writes_a_csv_and_stdout_gets_it_without_out(iris_run, tmp_path, capsys):
    d = load_iris()
    labels = [IRIS[t] for t in d.target[range(0, 150, 15)]]
    path, _, _ = iris_file(tmp_path, labels)
    target = tmp_path / "pred.csv"
    assert (
        main(["predict", "--model", str(iris_run), "--data", str(path), "--out", str(target)]) == 0
    )
    out = capsys.readouterr().out
    assert "wrote 10 predictions" in out and "accuracy" in out
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["prediction", *(f"prob_{c}" for c in IRIS)] and len(rows) == 11
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
    assert main(["predict", "--model", str(iris_run), "--data", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == target.read_text()
    assert captured.err.startswith("metrics") and "accuracy" in captured.err


def test_a_missing_feature_column_is_an_error(iris_run, tmp_path, capsys):
    path = write_csv(tmp_path / "x.csv", ["sepal length (cm)", "id"], [[5.1, 1], [4.9, 2]])
    assert main(["predict", "--model", str(iris_run), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing feature column" in err and "petal" in err


def test_regression_values_and_metrics_from_a_csv_run(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) * [3.0, 0.5] + [10.0, -2.0]
    y = X @ [1.5, -4.0] + 0.3 + rng.normal(scale=0.1, size=60)
    rows = [[*x, t] for x, t in zip(X, y, strict=True)]
    data = write_csv(tmp_path / "train.csv", ["a", "b", "target"], rows)
    run = tmp_path / "run"
    argv = ["train", "--data", str(data), "--epochs", "30", "--json", "--out", str(run)]
    assert main(argv) == 0
    capsys.readouterr()
    new = write_csv(
        tmp_path / "new.csv", ["extra", "target", "b", "a"], [[0, t, b, a] for a, b, t in rows[:12]]
    )
    got = run_json(capsys, "--model", run, "--data", new)
    want = oracle(run, X[:12], 1)[:, 0]
    torch.testing.assert_close(torch.tensor(got["values"]), want, atol=1e-5, rtol=1e-5)
    assert got["probabilities"] is None
    m = got["metrics"]
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y[:12], want.double()), rel=1e-5)
    assert m["r2"] == pytest.approx(skm.r2_score(y[:12], want.double()), rel=1e-5, abs=1e-6)


def test_binary_one_logit_npy_run(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    label = (X[:, 0] - X[:, 2] > 0).astype(float)
    np.save(tmp_path / "train.npy", np.column_stack([X, label]))
    run = tmp_path / "run"
    argv = ["train", "--data", str(tmp_path / "train.npy"), "--model", "logistic"]
    assert main([*argv, "--epochs", "20", "--json", "--out", str(run)]) == 0
    capsys.readouterr()
    np.save(tmp_path / "new.npy", np.column_stack([X[:15], label[:15]]))
    got = run_json(capsys, "--model", run, "--data", tmp_path / "new.npy")
    p1 = torch.sigmoid(oracle(run, X[:15], 1)[:, 0])  # (15,) one logit: BCE
    torch.testing.assert_close(torch.tensor(got["probabilities"])[:, 1], p1, atol=1e-6, rtol=1e-5)
    assert got["classes"] == [0, 1] and got["values"] == (p1 > 0.5).long().tolist()
    assert got["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(label[:15], got["values"])
    )
    np.save(tmp_path / "features.npy", X[:15])  # features only: predictions, no metrics
    assert run_json(capsys, "--model", run, "--data", tmp_path / "features.npy")["metrics"] is None
