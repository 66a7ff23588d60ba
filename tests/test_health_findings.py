"""Each health finding fires on a run made to show it (the right id first), and none fires on
the built-in data sets trained with their defaults (small epochs here); the initial-loss check,
--init-gain, --overfit-batch, lr-find and `nnscratch health`."""

import json
import math

import pytest
import torch
from cli_run import assert_user_error, run

from nnscratch.errors import DivergenceError
from nnscratch.health import initial_loss
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare
from nnscratch.run.train import train


def health_of(tmp_path=None, **fields):
    config = TrainConfig(health=True, **fields).validate()
    try:
        result = train(prepare(config), out=tmp_path)
    except DivergenceError:  # the records so far are in health.jsonl
        from nnscratch.health import report

        return report.build(*report.read(tmp_path))
    return result.summary["health"] | {"summary": result.summary}


DIGITS = dict(data="builtin:digits", model="mlp", epochs=1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (dict(hidden="64,64,64", activation="tanh", init_gain=5.0), {"saturated"}),
        (dict(hidden="64", optimizer="sgd", lr=3.0), {"dead-units", "update-ratio-high"}),
        (dict(hidden="64", lr=1e-6), {"update-ratio-low"}),
        (dict(hidden=",".join(["32"] * 9), activation="sigmoid"), {"vanishing-gradients"}),
        (dict(hidden="64", init_gain=10.0), {"initial-loss"}),
    ],
    ids=["tanh-gain-5", "relu-sgd-lr-3", "lr-1e-6", "sigmoid-10-layers", "relu-gain-10"],
)
def test_each_finding_fires_first_on_its_run(tmp_path, fields, expected):
    found = health_of(tmp_path, **DIGITS | fields)["findings"]
    assert found, "no finding"
    assert found[0]["id"] in expected, found
    first = found[0]
    above = first["id"] not in ("update-ratio-low", "vanishing-gradients")
    assert (first["value"] > first["threshold"]) if above else (first["value"] < first["threshold"])
    assert first["advice"] and "--" in first["advice"]  # names the flag to try
    severities = [f["severity"] for f in found]
    assert severities == sorted(severities, reverse=True)


BUILTIN = [
    ("synthetic", {}),
    ("builtin:diabetes", dict(epochs=300)),
    ("builtin:iris", {}),
    ("builtin:wine", {}),
    ("builtin:breast_cancer", dict(epochs=100)),
    ("builtin:digits", dict(epochs=2)),
    ("builtin:moons", dict(epochs=150)),
    ("builtin:circles", dict(epochs=150)),
    ("builtin:blobs", {}),
    ("builtin:xor", dict(epochs=150)),
    ("builtin:spiral", dict(epochs=150)),
    ("builtin:digits", dict(model="cnn", channels="4,8", epochs=1)),
]


@pytest.mark.parametrize(("data", "fields"), BUILTIN, ids=[f"{d}{f}" for d, f in BUILTIN])
def test_no_false_alarm_on_builtin_data(data, fields):
    report = health_of(None, data=data, **fields)
    assert report["findings"] == []
    assert not report["summary"]["initial_loss"]["far"]


@pytest.mark.slow
def test_no_false_alarm_on_the_character_transformer():
    fields = dict(epochs=1, n_layer=1, n_head=2, n_embd=16, block_size=16)
    report = health_of(None, data="builtin:python_docs", **fields)
    assert report["findings"] == []


def test_initial_loss_expected_values():
    """ln C for C classes; mean(y²) for a regression (the target is not standardised)."""
    digits = train(prepare(TrainConfig(data="builtin:digits", epochs=0).validate())).summary
    check = digits["initial_loss"]
    assert check["expected"] == pytest.approx(math.log(10), rel=1e-6)
    assert abs(check["loss"] - math.log(10)) < 0.2 and not check["far"]
    assert (
        initial_loss.line(check)
        == f"initial loss {check['loss']:.2f} (expected ≈ 2.30 = ln 10 for 10 classes)"
    )
    data = prepare(TrainConfig(data="builtin:diabetes", epochs=0).validate())
    diabetes = train(data).summary["initial_loss"]
    y = data.train.y[: initial_loss.ROWS].double()
    assert diabetes["expected"] == pytest.approx((y**2).mean().item(), rel=1e-5)
    assert 2e4 < diabetes["expected"] < 4e4 and not diabetes["far"]


def test_initial_loss_printed_and_warned_for_every_run():
    code, out, err = run("train", "--data", "builtin:iris", "--epochs", "1", "--quiet")
    assert code == 0 and "initial loss " in out and "= ln 3 for 3 classes)" in out
    assert "warning" not in err
    code, out, err = run(
        "train",
        "--data",
        "builtin:digits",
        "--model",
        "mlp",
        "--init-gain",
        "10",
        "--epochs",
        "0",
        "--quiet",
    )
    assert code == 0 and "warning: initial loss" in err and "--init-gain" in err
    assert err.count("warning: initial loss") == 1, err  # said before the epochs, not again


def test_a_far_initial_loss_is_warned_before_the_first_epoch():
    """The run's log hears the warning at step 0, before any epoch record (a run that starts
    wrong says so at once, not after its epochs)."""
    heard = []

    class Log:
        def __call__(self, record):
            heard.append(("epoch", record["epoch"]))

        def warn(self, text):
            heard.append(("warn", text))

    config = TrainConfig(data="builtin:digits", model="mlp", hidden="64", init_gain=10.0, epochs=2)
    train(prepare(config.validate()), Log())
    assert heard[0][0] == "warn" and "initial loss" in heard[0][1], heard
    assert [h[0] for h in heard[1:]] == ["epoch", "epoch"]
    heard.clear()
    train(prepare(TrainConfig(data="builtin:digits", model="mlp", epochs=1).validate()), Log())
    assert [h[0] for h in heard] == ["epoch"]  # a fresh model where it should be: no warning


def test_init_gain_scales_linear_weights_only():
    from nnscratch.models import MLP
    from nnscratch.run.build import build_model

    def built(gain):
        config = TrainConfig(model="mlp", hidden="8", init_gain=gain)
        torch.manual_seed(0)
        return build_model(config, 4, 3, torch.float32, "cpu")

    torch.manual_seed(0)
    plain = MLP(4, [8], 3)  # today's model, no gain anywhere
    one, three = built(1.0), built(3.0)
    for (name, p), q, r in zip(
        plain.named_parameters(), one.parameters(), three.parameters(), strict=True
    ):
        assert torch.equal(p, q)  # default 1: identical numbers
        torch.testing.assert_close(r, 3 * p if name.endswith("weight") else p, rtol=0, atol=0)


def test_init_gain_one_trains_identically():
    base = dict(data="builtin:moons", epochs=20)
    a = train(prepare(TrainConfig(**base).validate())).records
    b = train(prepare(TrainConfig(**base, init_gain=1.0, health=True).validate())).records
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]


def test_init_gain_must_be_positive():
    assert_user_error(["train", "--init-gain", "0"], "--init-gain must be", "> 0")


def test_health_command_table_and_json(tmp_path):
    out = tmp_path / "run"
    code, _, err = run(
        "train",
        "--data",
        "builtin:digits",
        "--model",
        "mlp",
        "--hidden",
        "32,32",
        "--activation",
        "tanh",
        "--init-gain",
        "5",
        "--epochs",
        "1",
        "--health",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    assert (out / "health.jsonl").is_file() and (out / "health.png").is_file()
    code, text, _ = run("health", out)
    assert code == 0 and "initial loss" in text and "saturated at " in text
    assert all(len(line) <= 80 for line in text.splitlines())
    code, text, _ = run("health", out, "--json")
    report = json.loads(text)
    assert report["findings"][0]["id"] == "saturated"
    assert set(report["findings"][0]) >= {"id", "layer", "value", "threshold", "advice"}
    assert [layer["name"] for layer in report["layers"]] == ["0", "1", "2", "3", "4"]


def test_health_command_errors(tmp_path):
    assert_user_error(["health", tmp_path], "health.jsonl: missing", "--health")
    (tmp_path / "health.jsonl").write_text("{not json\n")
    assert_user_error(["health", tmp_path], "cannot be read as JSON lines")
    (tmp_path / "health.jsonl").write_text('{"layers": 3, "params": []}\n')
    assert_user_error(["health", tmp_path], "not a health record file")
    assert_user_error(["health", tmp_path / "nowhere"], "not a folder")


def test_overfit_batch_says_why():
    code, out, _ = run("train", "--data", "builtin:digits", "--overfit-batch")
    assert code == 0 and "near zero" in out and "not near zero" not in out
    code, out, _ = run("train", "--data", "builtin:diabetes", "--overfit-batch")
    assert "not near zero: a linear model" in out
    code, out, _ = run("train", "--data", "builtin:digits", "--overfit-batch", "--lr", "1e-6")
    assert "not near zero" in out and "too low" in out
    assert_user_error(["train", "--overfit-batch", "--out", "x"], "--overfit-batch")


def test_lr_find_listed_with_a_hyphen(tmp_path):
    code, out, _ = run("--help")
    assert "lr-find" in out and "lr_find" not in out
    code, out, err = run("lr-find", "--data", "builtin:iris", "--out", tmp_path, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert 1e-7 <= result["suggestion"] <= 10 and (tmp_path / "lr_find.png").is_file()
    assert len(result["lrs"]) <= 200
    assert_user_error(["lr-find", "--data", "builtin:iris", "--out", tmp_path], "lr_find.png")


@pytest.mark.slow
@pytest.mark.parametrize(("data", "target"), [("builtin:digits", 0.97), ("builtin:moons", 0.99)])
def test_lr_find_suggestion_trains(data, target):
    """The suggestion, with the default epochs, reaches the target train accuracy."""
    from nnscratch.run.lr_find import lr_find

    suggestion = lr_find(prepare(TrainConfig(data=data).validate()))["suggestion"]
    summary = train(prepare(TrainConfig(data=data, lr=suggestion).validate())).summary
    assert summary["metrics"]["train"]["accuracy"] >= target, suggestion


def test_the_bench_case_reports_the_cost_of_health():
    from nnscratch.lab.bench import health_cost

    cost = health_cost.measure(quick=True, repeats=1)
    assert cost["epochs"] == health_cost.QUICK_EPOCHS and cost["ratio"] > 0
    assert cost["records"] >= 1 and set(cost["seconds"]) == {"without --health", "with --health"}
    assert "ratio with / without" in "\n".join(health_cost.lines(cost))


def test_export_refuses_a_scaled_init_and_train_refuses_overfit_batch_as_a_run(tmp_path):
    from nnscratch.errors import UserError

    out = tmp_path / "run"
    code, _, err = run(
        "train",
        "--data",
        "builtin:iris",
        "--epochs",
        "1",
        "--init-gain",
        "2",
        "--out",
        out,
        "--quiet",
    )
    assert code == 0, err
    assert_user_error(["export", out, "--out", tmp_path / "s.py"], "--init-gain 2")
    with pytest.raises(UserError, match="--overfit-batch"):
        train(prepare(TrainConfig(overfit_batch=True).validate()))


def test_the_recorded_steps_are_fixed_before_the_run(tmp_path):
    """The same seed records the same steps with the same numbers, however busy the machine:
    step 0, then every max(10, steps / 200) steps (no timing decides)."""
    from nnscratch.health import report

    runs = []
    for name in ("a", "b"):
        health_of(tmp_path / name, **DIGITS)
        runs.append(report.read(tmp_path / name)[0])
    steps = [r["step"] for r in runs[0]]
    assert steps == list(range(0, steps[-1] + 1, 10)) and len(steps) > 3
    assert runs[0] == runs[1]


@pytest.mark.parametrize("backward", ["manual", "engine"])
def test_health_with_another_backward_says_what_it_recorded(tmp_path, backward):
    """--backward engine records what autograd records (its layers are called with engine
    tensors); --backward manual computes the forward without calling the layers, so no
    activation is recorded: train's report and `nnscratch health` say so (they said
    "findings: none", as if the activation rules had looked and found nothing)."""
    out = tmp_path / "run"
    flags = ["--data", "builtin:moons", "--hidden", "4", "--epochs", "2", "--health"]
    code, printed, err = run("train", *flags, "--backward", backward, "--out", out)
    assert code == 0, err
    code, shown, err = run("health", out)
    assert code == 0, err
    code, as_json, err = run("health", out, "--json")
    result = json.loads(as_json)
    assert result["params"] and result["records"] >= 1  # gradients and updates: always
    silent = backward == "manual"
    assert result["activations"] is not silent
    assert bool(result["layers"]) is not silent
    for text in (printed, shown):
        assert ("activations: none recorded" in text) is silent, text
        assert "--backward manual" in text or not silent
    assert max(len(line) for line in shown.splitlines()) <= 80
    import warnings

    from nnscratch.health.report import read
    from nnscratch.run.health_plot import draw

    with warnings.catch_warnings():  # health.png: no empty legend ("No artists ...")
        warnings.simplefilter("error")
        figure = draw(read(out)[0])
    said = [t.get_text() for t in figure.axes[0].texts]
    assert any("none recorded" in t for t in said) is silent, said
