"""Inputs that cannot work are one ``error:`` line (exit 2) before anything is allocated or
trained, and the advice in a message works when followed."""

import pytest
from cli_run import run

from nnscratch.run import limits


def refused(*argv, fragment):
    code, _, err = run(*argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err, err
    return err


QUICK = ["--epochs", "1", "--quiet", "--json"]


# -- sizes --------------------------------------------------------------------------------------
def test_seeds_outside_torch_manual_seeds_range_are_refused():
    refused("train", "--seed", 2**64, *QUICK, fragment="--seed must be in [0, 2**64 - 1]")
    assert run("train", "--seed", 2**64 - 1, *QUICK)[0] == 0  # the largest torch accepts


def test_a_generated_builtin_set_refuses_a_seed_numpy_cannot_take():
    refused("train", "--data", "builtin:moons", "--seed", 2**32, *QUICK, fragment="up to 2**32 - 1")
    assert run("train", "--data", "builtin:moons", "--seed", 2**32 - 1, *QUICK)[0] == 0


def test_hidden_layers_larger_than_memory_are_refused_before_allocating():
    err = refused(
        "train", "--model", "mlp", "--hidden", "100000,100000", *QUICK, fragment="--hidden"
    )
    assert "10,000,200,000 parameters" in err and "memory" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--n-samples", "1e20"], "'1e20' is not a valid integer"),
        (["--n-samples", str(10**20)], "the data would take"),
        (["--n-features", str(10**9)], "the data would take"),
        (["--n-samples", str(2**40), "--n-features", "1000"], "more than this machine's"),
    ],
)
def test_synthetic_data_larger_than_memory_is_refused(argv, fragment):
    refused("train", *argv, *QUICK, fragment=fragment)


def test_the_memory_check_uses_this_machines_memory(monkeypatch):
    # 20 kB: 1000 samples of (x, y) in float32, kept twice, are 16 kB; 2000 are 32 kB
    monkeypatch.setattr(limits, "memory_bytes", lambda: 20_000)
    refused("train", "--n-samples", "2000", *QUICK, fragment="more than this machine's")
    assert run("train", "--n-samples", "1000", *QUICK)[0] == 0


# -- data that cannot train ----------------------------------------------------------------
def test_a_classification_target_with_a_single_class_is_an_error(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 3},7\n" for i in range(20)))
    refused(
        "train", "--data", path, "--task", "classification", *QUICK,
        fragment="target column 'y' holds a single class (7)",
    )  # fmt: skip
    labels = tmp_path / "labels.csv"
    labels.write_text("a,y\n" + "".join(f"{i},cat\n" for i in range(10)))
    refused("train", "--data", labels, *QUICK, fragment="single class ('cat')")


def test_values_that_overflow_the_standardization_name_the_column(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i * 1e200},{2 * i}\n" for i in range(1, 21)))
    err = refused("train", "--data", path, "--dtype", "float64", *QUICK, fragment="feature 'b'")
    assert "too large to standardize" in err and "--lr" not in err


def test_predict_on_a_value_out_of_range_is_an_error_not_inf(tmp_path):
    train_csv = tmp_path / "reg.csv"
    train_csv.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{2 * i}\n" for i in range(1, 21)))
    assert run("train", "--data", train_csv, "--out", tmp_path / "run", *QUICK)[0] == 0
    far = tmp_path / "far.csv"
    far.write_text("a,b\n1,2\n1e300,1\n")
    out = tmp_path / "out.csv"
    refused(
        "predict", "--model", tmp_path / "run", "--data", far, "--out", out,
        fragment="data row 2, 'a': the value is out of range for this model",
    )  # fmt: skip
    assert not out.exists()  # no file with inf in it


# -- advice that works ---------------------------------------------------------------------
def test_one_sample_advises_more_rows_not_larger_fractions():
    err = refused("train", "--n-samples", "1", *QUICK, fragment="the training part has only 1")
    assert "larger fractions" not in err and "--n-samples" in err


def test_a_one_row_validation_part_advice_is_followed_and_works():
    err = refused(
        "train", "--n-samples", "5", "--val-fraction", "0.2", *QUICK,
        fragment="use a larger --val-fraction, or --val-fraction 0",
    )  # fmt: skip
    assert "larger fractions" not in err
    for fraction in ("0.4", "0"):
        assert run("train", "--n-samples", "5", "--val-fraction", fraction, *QUICK)[0] == 0


def test_fractions_that_leave_no_training_rows_name_the_flags(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10)))
    refused(
        "train", "--data", path, "--val-fraction", "0.6", "--test-fraction", "0.5", *QUICK,
        fragment="--val-fraction 0.6 and --test-fraction 0.5 leave no training rows",
    )  # fmt: skip


def test_a_text_target_for_regression_names_the_task_flag(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(10)))
    refused(
        "train", "--data", path, "--task", "regression", *QUICK,
        fragment="use --task classification",
    )  # fmt: skip


def test_a_model_too_large_for_its_data_is_refused_once_the_features_are_known():
    err = refused(
        "train", "--data", "builtin:digits", "--model", "mlp", "--hidden", "100000000", *QUICK,
        fragment="the mlp model of 64 → 100000000 → 10 has 7,500,000,010 parameters",
    )  # fmt: skip
    assert "memory" in err
