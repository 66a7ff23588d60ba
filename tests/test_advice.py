"""Advice that works and a report that fits: the learning rate suggested after a divergence was
tried (and running it converges), a run that ends far from the least-squares optimum warns, and
the linear-regression report is one row per feature, within 80 columns."""

import json
import re

from cli_run import run

from nnscratch.run.final_report import print_training_report


def test_the_suggested_learning_rate_was_checked_and_converges():
    code, _, err = run("train", "--lr", "1000", "--quiet")
    assert code == 3 and err.count("\n") == 1, err
    suggested = re.search(r"try --lr (\S+) \(checked:", err).group(1)
    assert suggested == "0.1"  # 100, 10 and 1 diverge too: a tenth is not enough here
    assert "100, 10 and 1 do not" in err
    code, out, err = run("train", "--lr", suggested, "--json")
    assert code == 0, err
    assert json.loads(out)["relative_loss_gap"] < 1e-3
    assert "warning" not in err


def test_a_run_held_finite_by_clipping_but_far_from_the_optimum_warns():
    code, out, err = run("train", "--lr", "1000", "--clip-grad-norm", "1.0", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["relative_loss_gap"] > 1e5
    assert err.startswith("warning: the final training loss") and "not converged" in err
    assert summary["warnings"] == [err.strip().removeprefix("warning: ")]
    assert "warning" not in run("train", "--json")[2]  # the seed converges: no warning


def test_the_report_has_one_row_per_feature_within_80_columns():
    code, out, err = run("train", "--data", "builtin:diabetes", "--quiet")
    assert code == 0, err
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80, max(lines, key=len)
    assert any("standardised features" in line for line in lines)
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.strip()}
    for name in ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "bias"):
        assert len(rows[name]) == 2  # learned, least squares
    code, out, _ = run("train", "--n-features", "4", "--quiet")
    assert max(map(len, out.splitlines())) <= 80
    assert "standardised" not in out  # the seed's data stay raw
    assert len([line for line in out.splitlines() if re.match(r"x\d ", line)]) == 4


def summary_with_gap(gap):
    return {
        "data": {
            "name": "synthetic",
            "task": "regression",
            "features": ["x1"],
            "rows": {"train": 4, "val": 0, "test": 0},
        },  # fmt: skip
        "config": {
            "model": "linear",
            "loss": "mse",
            "optimizer": "sgd",
            "lr": 0.1,
            "dtype": "float32",
        },  # fmt: skip
        "metrics": {"train": {"loss": 1.0}, "val": None, "test": None},
        "final_loss": 1.0 + gap,
        "parameters": {"weight": [[1.0]], "bias": [0.0]},
        "least_squares": {"weight": [[1.0]], "bias": [0.0], "loss": 1.0},
        "loss_gap": gap,
        "relative_loss_gap": gap,
    }


def test_a_negative_gap_is_explained(capsys):
    print_training_report(summary_with_gap(-6e-10))
    assert "below 0 only by float rounding" in capsys.readouterr().out
    print_training_report(summary_with_gap(1e-9))
    assert "rounding" not in capsys.readouterr().out


def test_the_check_stops_at_its_time_budget(monkeypatch):
    from nnscratch.run import lr_check
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    data = prepare(TrainConfig(lr=1000.0, epochs=200))
    monkeypatch.setattr(lr_check, "BUDGET_S", 0.0)  # out of time after the first epoch
    assert lr_check.suggest(data) == (None, [])
    assert lr_check.hint(data) == "try a smaller --lr than 1000 (none could be checked in 0 s)"
