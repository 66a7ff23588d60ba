"""CSV files as they come (issue 18 item 3, issue 17's NUL byte and 150,000 columns):
scikit-learn's own iris.csv and wine_data.csv, --skip-rows, --no-header, --delimiter (detected),
--decimal, missing cells (--missing error | drop | mean), and a run that reads its file again the
same way for --resume and predict."""

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from cli_run import assert_user_error, run
from sklearn.datasets import load_iris, load_wine
from sklearn.impute import SimpleImputer

from nnscratch.data import load_file
from nnscratch.data.missing import TOKENS, MeanImputer
from nnscratch.data.table import CsvFormat, read_csv
from nnscratch.errors import UserError
from nnscratch.run.config import TrainConfig
from nnscratch.run.prepare import prepare

SKLEARN_DATA = Path(sklearn.__file__).parent / "datasets" / "data"
IRIS, WINE = SKLEARN_DATA / "iris.csv", SKLEARN_DATA / "wine_data.csv"
SKLEARN_FLAGS = CsvFormat(header=False, skip_rows=1)  # the documented reading of both files
F64 = torch.float64
TINY = ["--epochs", "1", "--hidden", "4", "--batch-size", "64"]


def write(tmp_path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def edit_json(run_dir, name, change):
    """Change checkpoint/<name> and fix its SHA-256 and size in the manifest."""
    folder = run_dir / "checkpoint"
    values = json.loads((folder / name).read_text())
    change(values)
    blob = json.dumps(values).encode()
    (folder / name).write_bytes(blob)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def error_of(path, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        load_file(path, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# -- scikit-learn's own files -----------------------------------------------------------------
def test_sklearn_iris_csv_as_it_is_warns_naming_line_1():
    code, _, err = run("train", "--data", IRIS, *TINY)
    assert code == 0, err
    warning = next(line for line in err.splitlines() if line.startswith("warning: "))
    assert "line 1 (150,4,setosa,versicolor,virginica)" in warning, warning
    assert "'150', '4' are numbers" in warning and "--skip-rows 1" in warning
    assert "--no-header" in warning


def test_explain_on_sklearn_iris_csv_as_it_is_warns_too():
    code, _, err = run("explain", "--data", IRIS, "--model", "logistic", "--steps", "1")
    assert code == 0, err
    assert err.startswith("warning: ") and "line 1 (150,4,setosa" in err


def test_sklearn_wine_csv_as_it_is_is_an_error_naming_line_1():
    assert_user_error(
        ["train", "--data", WINE, *TINY],
        "line 2 has 14 fields but the header has 5 (line 1",
        "if line 1 is a title or a line of metadata, skip it with --skip-rows 1",
        "--no-header",
    )


@pytest.mark.parametrize(
    ("path", "oracle", "n_features"), [(IRIS, load_iris, 4), (WINE, load_wine, 13)]
)
def test_sklearn_files_read_with_skip_rows_and_no_header_equal_sklearn(path, oracle, n_features):
    d = load_file(path, dtype=F64, fmt=SKLEARN_FLAGS)
    bunch = oracle()
    assert (
        d.feature_names == [f"x{j}" for j in range(n_features)]
        and d.target_name == f"x{n_features}"
    )
    assert d.task == "classification" and d.classes == [0, 1, 2]
    torch.testing.assert_close(d.X, torch.tensor(bunch.data, dtype=F64), atol=0, rtol=0)
    assert d.y.tolist() == bunch.target.tolist()


def test_sklearn_iris_trains_and_predicts_with_the_documented_flags(tmp_path):
    out = tmp_path / "run"
    flags = ["--skip-rows", "1", "--no-header"]
    code, stdout, err = run("train", "--data", IRIS, *flags, "--out", out, *TINY, "--json")
    assert code == 0, err
    assert "warning" not in err
    config = json.loads((out / "checkpoint" / "config.json").read_text())
    assert (config["skip_rows"], config["header"], config["delimiter"]) == (1, False, ",")
    # predict and --resume read the file as the run did, with no flag repeated
    code, stdout, err = run("predict", "--model", out, "--data", IRIS)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(stdout)))
    assert len(rows) == 1 + 150 and "accuracy" in err
    code, _, err = run("train", "--resume", out, "--epochs", "2", "--json")
    assert code == 0, err
    assert_user_error(
        ["predict", "--model", out, "--data", tmp_path / "x.npy", "--skip-rows", "1"],
        "--skip-rows: for .csv files",
    )


# -- the header row ---------------------------------------------------------------------------
def test_an_all_numbers_first_row_is_refused_naming_its_line_and_both_flags(tmp_path):
    path = write(tmp_path, "d.csv", "title of the table\n1,2,0\n3,4,1\n")
    message = error_of(path, fmt=CsvFormat(skip_rows=1))
    assert "line 2 (1,2,0) is all numbers" in message
    assert "--skip-rows 2" in message and "--no-header" in message
    assert load_file(path, fmt=CsvFormat(skip_rows=1, header=False)).feature_names == ["x0", "x1"]


def test_skip_rows_keeps_the_file_line_numbers_in_messages(tmp_path):
    path = write(tmp_path, "d.csv", "# exported 2024\n\na,b,y\n1,2,3\n4,x,6\n")
    assert "line 5, column 'b': 'x' is not a number" in error_of(path, fmt=CsvFormat(skip_rows=1))
    assert "skips every line" in error_of(path, fmt=CsvFormat(skip_rows=9))


def test_a_nul_byte_in_the_header_is_refused(tmp_path):
    path = write(tmp_path, "d.csv", b"a\x00b,y\n1,2\n3,4\n")
    message = error_of(path)
    assert "line 1 holds a NUL byte" in message and "d.csv" in message


def test_a_hundred_thousand_columns_load(tmp_path):
    """Columns are found by a dict (issue 17: `list.index` per column took minutes for 150,000
    columns). This runs in about a second; before the fix, 100,000 columns took several minutes."""
    n = 100_000
    header = ",".join(f"c{j}" for j in range(n)) + ",y"
    body = "".join(",".join(["1"] * n) + f",{i % 2}\n" for i in range(4))
    path = write(tmp_path, "wide.csv", header + "\n" + body)
    d = load_file(path, task="classification", drop=["c0"])
    assert d.X.shape == (4, n - 1) and d.feature_names[-1] == f"c{n - 1}"


# -- delimiter and decimal mark ---------------------------------------------------------------
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path, sep):
    rows = [["a b", "c", "y"], ["1", "2", "0"], ["3", "4", "1"]]
    path = write(tmp_path, "d.csv", "".join(sep.join(r) + "\n" for r in rows))
    table = read_csv(path)
    assert table.delimiter == sep and table.columns == ["a b", "c", "y"]
    assert load_file(path, dtype=F64).X.tolist() == [[1, 2], [3, 4]]


def test_a_delimiter_other_than_comma_is_named_and_can_be_given(tmp_path):
    path = write(
        tmp_path, "d.csv", "a;b;y\n" + "".join(f"{i};{i % 3};{i % 2}\n" for i in range(20))
    )
    code, _, err = run("train", "--data", path, *TINY)
    assert code == 0, err
    assert "note: " in err and "delimiter ';'" in err
    assert_user_error(
        ["train", "--data", path, "--delimiter", ",", *TINY], "only one column", "delimiter ','"
    )
    assert_user_error(["train", "--data", path, "--delimiter", "ab", *TINY], "one character")


def test_decimal_commas(tmp_path):
    text = "a;b;y\n1,5;-2,25;0\n3;0,5;1\n"
    path = write(tmp_path, "d.csv", text)
    d = load_file(path, dtype=F64, fmt=CsvFormat(decimal=","))
    assert d.X.tolist() == [[1.5, -2.25], [3.0, 0.5]]
    assert "pass --decimal ," in error_of(path)
    thousands = write(tmp_path, "t.csv", "a;y\n1.234,5;0\n2;1\n")
    assert "thousands separators" in error_of(thousands, fmt=CsvFormat(decimal=","))
    with pytest.raises(UserError, match="also the --decimal mark"):
        CsvFormat(decimal=",", delimiter=",")


# -- missing cells ----------------------------------------------------------------------------
def test_every_missing_marker_is_counted_for_every_column_at_once(tmp_path):
    markers = ["", "NA", "NaN", "?", "null", "na", "N/A"]
    assert {m.lower() for m in markers} <= TOKENS
    body = "".join(f"{m},1,{m},0\n" for m in markers) + "1,2,3,1\n"
    path = write(tmp_path, "d.csv", "a,b,c,y\n" + body)
    message = error_of(path)
    assert "14 missing values (empty, NA, NaN, ? or null): 'a' 7 (first at line 2)" in message
    assert "'c' 7 (first at line 2)" in message and "'b'" not in message
    assert "--missing drop" in message and "--missing mean" in message


def test_missing_drop_leaves_the_rows_out(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,y\n1,2,0\nNA,3,1\n4,?,0\n5,6,\n7,8,1\n")
    d = load_file(path, dtype=F64, on_missing="drop")
    assert d.X.tolist() == [[1, 2], [7, 8]] and d.y.view(-1).tolist() == [0, 1]
    assert any("left out 3 rows" in note for note in d.extra["notes"])


def table_with_gaps(tmp_path, n=40) -> tuple[Path, np.ndarray]:
    """a, b, y with every 4th a and every 5th b missing (written as NA)."""
    g = np.random.default_rng(0)
    values = g.normal(size=(n, 2)) * [1.0, 10.0] + [5.0, -3.0]
    values[::4, 0] = np.nan
    values[1::5, 1] = np.nan
    y = (np.arange(n) % 2).astype(int)
    lines = [",".join("NA" if np.isnan(v) else repr(float(v)) for v in row) for row in values]
    text = "a,b,y\n" + "".join(f"{line},{t}\n" for line, t in zip(lines, y, strict=True))
    return write(tmp_path, "gaps.csv", text), values


def test_missing_mean_is_fitted_on_the_training_rows_only(tmp_path):
    path, values = table_with_gaps(tmp_path)
    config = TrainConfig(data=str(path), missing="mean", dtype="float64", epochs=1)
    data = prepare(config)
    # the training rows: the same seeded split, recomputed here from the same permutation
    n = len(values)
    n_test, n_val = round(0.2 * n), round(0.15 * n)
    train_rows = torch.randperm(n, generator=torch.Generator().manual_seed(0))[n_test + n_val :]
    oracle = SimpleImputer(strategy="mean").fit(values[train_rows.numpy()])
    torch.testing.assert_close(
        data.imputer.mean, torch.tensor(oracle.statistics_, dtype=F64), atol=1e-12, rtol=0
    )
    assert not np.allclose(oracle.statistics_, np.nanmean(values, axis=0))  # not all the rows
    assert not any(torch.isnan(part.X).any() for part in (data.train, data.val, data.test))


def test_predict_fills_with_the_saved_training_means(tmp_path):
    path, _ = table_with_gaps(tmp_path)
    out = tmp_path / "run"
    code, _, err = run("train", "--data", path, "--missing", "mean", "--out", out, *TINY)
    assert code == 0, err
    mean = json.loads((out / "checkpoint" / "data.json").read_text())["imputer"]["mean"]
    gap = write(tmp_path, "gap.csv", "a,b\nNA,?\n")
    filled = write(tmp_path, "filled.csv", f"a,b\n{mean[0]!r},{mean[1]!r}\n")
    code, with_gap, err = run("predict", "--model", out, "--data", gap)
    assert code == 0, err
    assert with_gap == run("predict", "--model", out, "--data", filled)[1]


def test_export_refuses_saved_means_that_are_not_the_data_s(tmp_path):
    """The exported script fills gaps with the means of the training rows it reads; saved means
    that differ (data.json edited, its manifest fixed) would make a script that trains something
    else than the run, so export refuses the run as resume does."""
    path, _ = table_with_gaps(tmp_path)
    out = tmp_path / "run"
    code, _, err = run("train", "--data", path, "--missing", "mean", "--out", out, *TINY)
    assert code == 0, err
    code, _, err = run("export", out, "--out", tmp_path / "before.py")
    assert code == 0, err
    edit_json(out, "data.json", lambda data: data["imputer"]["mean"].__setitem__(0, 123.0))
    assert_user_error(["export", out, "--out", tmp_path / "e.py"], "imputer differs")
    assert not (tmp_path / "e.py").exists()


def test_predict_of_a_drop_run_leaves_rows_with_a_gap_unpredicted(tmp_path):
    path, _ = table_with_gaps(tmp_path)
    out = tmp_path / "run"
    code, _, err = run("train", "--data", path, "--missing", "drop", "--out", out, *TINY)
    assert code == 0, err
    assert "left out 16 rows" in err
    code, stdout, err = run("predict", "--model", out, "--data", path)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(stdout)))[1:]
    assert len(rows) == 40 and rows[0] == ["", "", ""] and rows[2][0] in ("0", "1")
    assert "16 rows have a missing value and no prediction" in err
    assert_user_error(
        ["predict", "--model", out, "--data", path, "--missing", "error"], "'a' 10", "'b' 8"
    )
    assert_user_error(
        ["predict", "--model", out, "--data", path, "--missing", "mean"], "no training means"
    )


def test_mean_imputer_equals_sklearn():
    X = torch.tensor([[1.0, float("nan"), 3.0], [float("nan"), 2.0, 5.0], [4.0, 6.0, float("nan")]])
    oracle = SimpleImputer(strategy="mean").fit(X.numpy())
    imp = MeanImputer().fit(X.double())
    expected = torch.from_numpy(oracle.transform(X.numpy())).double()
    torch.testing.assert_close(imp.transform(X.double()), expected, atol=1e-7, rtol=0)
    with pytest.raises(UserError, match="no value in any training row"):
        MeanImputer().fit(torch.tensor([[float("nan"), 1.0]]), ["a", "b"])


def test_the_lab_takes_the_same_csv_settings():
    from nnscratch.lab.live.settings import command_line, parse

    body = {"data": "upload", "skip_rows": 1, "header": False, "delimiter": ";", "decimal": ","}
    config, _ = parse({**body, "missing": "mean"}, has_upload=True)
    assert (config.skip_rows, config.header, config.delimiter, config.decimal) == (
        1,
        False,
        ";",
        ",",
    )
    line = command_line(config, "iris.csv")
    assert "--no-header --skip-rows 1 --delimiter ';' --decimal , --missing mean" in line


def test_a_damaged_imputer_in_data_json_is_refused(tmp_path):
    path, _ = table_with_gaps(tmp_path)
    out = tmp_path / "run"
    code, _, err = run("train", "--data", path, "--missing", "mean", "--out", out, *TINY)
    assert code == 0, err
    edit_json(out, "data.json", lambda data: data.update(imputer={"mean": [1.0]}))
    assert_user_error(["predict", "--model", out, "--data", path], "'imputer' must hold 'mean'")


def test_a_decimal_comma_regression_predicts_with_metrics(tmp_path):
    rows = "".join(
        f"{i},5;{(i * 7) % 11},25;{2 * i + 0.5:.2f}\n".replace(".", ",") for i in range(30)
    )
    path = write(tmp_path, "eu.csv", "a;b;y\n" + rows)
    out = tmp_path / "run"
    code, _, err = run("train", "--data", path, "--decimal", ",", "--out", out, *TINY)
    assert code == 0, err
    code, stdout, err = run("predict", "--model", out, "--data", path, "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["metrics"]["rows"] == 30 and result["metrics"]["mse"] > 0
