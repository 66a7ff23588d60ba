"""Choosing columns (``train --features / --drop``, ``predict --keep``) and CSV files without a header
row (refused with a hint, read with ``--no-header``), through the CLI."""

import csv
import io
import json

import pytest
import torch
from cli_run import assert_user_error, run

from nnscratch.data.files import load_file

TINY = ["--epochs", "2", "--json"]


def with_id(path, n=30):
    """id (text), a, b, y = 2a - b + 1."""
    rows = [(f"r{i:03d}", i % 7, (i * 3) % 5, 2 * (i % 7) - (i * 3) % 5 + 1) for i in range(n)]
    path.write_text("id,a,b,y\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_an_id_column_is_dropped_by_name_and_kept_through_predict(tmp_path):
    data = with_id(tmp_path / "d.csv")
    assert_user_error(
        ["train", "--data", data, *TINY], "column 'id'", "'r000' is not a number", "--drop id"
    )
    out = tmp_path / "run"
    code, stdout, err = run("train", "--data", data, "--drop", "id", "--out", out, *TINY)
    assert code == 0, err
    assert json.loads(stdout)["data"]["features"] == ["a", "b"]
    config = json.loads((out / "checkpoint" / "config.json").read_text())
    assert config["drop"] == "id" and config["features"] is None
    assert json.loads((out / "checkpoint" / "data.json").read_text())["features"] == ["a", "b"]
    code, stdout, err = run("predict", "--model", out, "--data", data, "--keep", "id")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(stdout)))
    assert rows[0] == ["id", "prediction"]
    assert [r[0] for r in rows[1:]] == [f"r{i:03d}" for i in range(30)]
    assert_user_error(["predict", "--model", out, "--data", data, "--keep", "ID"], "no column 'ID'")


def test_features_pick_columns_in_order(tmp_path):
    data = with_id(tmp_path / "d.csv")
    ds = load_file(data, features=["b", "a"])
    assert ds.feature_names == ["b", "a"]
    assert torch.equal(ds.X[:, 0], torch.tensor([(i * 3) % 5 for i in range(30)], dtype=ds.X.dtype))
    code, stdout, err = run("train", "--data", data, "--features", "b, a", *TINY)
    assert code == 0, err
    assert json.loads(stdout)["data"]["features"] == ["b", "a"]


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--features", "a,c"], ["d.csv has no column 'c'", "columns are id, a, b, y"]),
        (["--drop", "ident"], ["--drop:", "no column 'ident'", "columns are id, a, b, y"]),
        (["--features", "a,y"], ["'y' is the target column"]),
        (["--features", "a,a"], ["named twice"]),
        (["--features", "a,,b"], ["column names separated by commas"]),
        (["--features", "a", "--drop", "id"], ["not both"]),
        (["--drop", "id,a,b"], ["leaves no feature column"]),
    ],
)
def test_column_mistakes_are_one_line_errors(tmp_path, flags, fragments):
    data = with_id(tmp_path / "d.csv")
    assert_user_error(["train", "--data", data, *flags, *TINY], *fragments)


def test_builtin_columns_by_name_and_synthetic_refuses_them():
    code, stdout, err = run("train", "--data", "builtin:diabetes", "--features", "bmi,bp", *TINY)
    assert code == 0, err
    assert json.loads(stdout)["data"]["features"] == ["bmi", "bp"]
    assert_user_error(["train", "--drop", "x1", *TINY], "--n-features")


def test_n_features_is_the_synthetic_width():
    code, stdout, err = run("train", "--n-features", "3", *TINY)
    assert code == 0, err
    assert len(json.loads(stdout)["parameters"]["weight"][0]) == 3


# -- no header -----------------------------------------------------------------------------------
def test_a_csv_without_header_is_refused_with_the_flag_that_reads_it(tmp_path):
    data = tmp_path / "raw.csv"
    data.write_text("".join(f"{i},{i % 4},{3 * i - 1}\n" for i in range(20)))
    assert_user_error(["train", "--data", data, *TINY], "all numbers", "--no-header")
    code, stdout, err = run("train", "--data", data, "--no-header", "--out", tmp_path / "r", *TINY)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["data"]["features"] == ["x0", "x1"] and summary["data"]["target"] == "x2"
    assert (
        summary["data"]["rows"]["train"]
        + summary["data"]["rows"]["val"]
        + summary["data"]["rows"]["test"]
        == 20
    )  # the first row is data, not lost
    code, stdout, err = run("predict", "--model", tmp_path / "r", "--data", data)
    assert code == 0, err
    assert len(stdout.splitlines()) == 21  # header + one prediction per row
    assert_user_error(["train", "--no-header", *TINY], "--no-header is for .csv files")


def test_an_old_config_with_a_feature_count_is_a_clear_error():
    from nnscratch.errors import UserError
    from nnscratch.run.config import TrainConfig

    with pytest.raises(UserError, match="older nnscratch"):
        TrainConfig(features=3).validate()
