"""The accuracy targets stated in the README, with the README's exact commands (the defaults).

These are the few end-to-end runs that check learning quality; everything else uses tiny data.
"""

from dataclasses import replace

import pytest

from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


def trained(data: str) -> dict:
    return train(prepare(TrainConfig(data=f"builtin:{data}"))).summary


@pytest.mark.slow
def test_digits_mlp_test_accuracy():
    summary = trained("digits")
    assert summary["config"]["model"] == "mlp"
    assert summary["metrics"]["test"]["accuracy"] >= 0.97


@pytest.mark.slow
def test_breast_cancer_logistic_test_accuracy():
    summary = trained("breast_cancer")
    assert summary["config"]["model"] == "logistic"
    assert summary["metrics"]["test"]["accuracy"] >= 0.95


@pytest.mark.slow
def test_iris_test_accuracy():
    assert trained("iris")["metrics"]["test"]["accuracy"] >= 0.95


@pytest.mark.slow
def test_moons_small_mlp_fits_training_set():
    summary = trained("moons")
    assert summary["config"]["model"] == "mlp"
    assert summary["metrics"]["train"]["accuracy"] == 1.0


@pytest.mark.slow
def test_diabetes_linear_regression_matches_sklearn_r2():
    from sklearn.linear_model import LinearRegression

    data = prepare(TrainConfig(data="builtin:diabetes"))
    summary = train(data).summary
    X_train, y_train = data.train.X.double().numpy(), data.train.y.double().numpy()
    X_test, y_test = data.test.X.double().numpy(), data.test.y.double().numpy()
    reference = LinearRegression().fit(X_train, y_train).score(X_test, y_test)
    assert abs(summary["metrics"]["test"]["r2"] - reference) <= 0.005


@pytest.mark.slow
def test_digits_cnn_test_accuracy():
    """README: `nnscratch train --data builtin:digits --model cnn` (the same split as the MLP)."""
    summary = train(prepare(TrainConfig(data="builtin:digits", model="cnn"))).summary
    assert summary["config"]["model"] == "cnn"
    assert summary["data"]["rows"] == {"train": 1168, "val": 270, "test": 359}
    assert summary["metrics"]["test"]["accuracy"] >= 0.985


@pytest.mark.slow
def test_transformer_beats_the_bigram_on_validation():
    """README: `nnscratch train --data builtin:python_docs` (a transformer, 8 epochs, ~2–3 CPU
    minutes); here a smaller one for 2 epochs, which must already be clearly below the count-based
    bigram on the same validation windows."""
    config = TrainConfig(data="builtin:python_docs", n_layer=1, n_embd=32, block_size=32)
    summary = train(prepare(replace(config, epochs=2, lr=0.01, batch_size=64))).summary
    assert summary["config"]["model"] == "transformer"
    val, bigram = summary["metrics"]["val"]["loss"], summary["bigram"]["val"]
    assert 2.3 < bigram < 2.7  # nats per character: what counting pairs gives on this text
    assert val < bigram - 0.2
