"""Every user mistake, through the CLI: one line on stderr starting with ``error:``, exit status 2,
no traceback, and nothing already on disk overwritten. Plus what simply works (BOM + CRLF, extra
columns at predict time) and hypothesis fuzzing of the argument parsing and of whole data files."""

import json
import pickle

import numpy as np
import pytest
from cli_run import assert_user_error, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TINY = ["--epochs", "2", "--json"]


def write(path, content, mode="w"):
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


GOOD = "a,b,y\n" + "".join(f"{i},{i % 3},{2 * i + 1}\n" for i in range(12))

CSV_MISTAKES = [
    ("empty", "", "the file is empty"),
    ("header only", "a,b,y\n", "header row but no data rows"),
    ("ragged rows", "a,b,y\n1,2,3\n4,5\n", "line 3 has 2 fields"),
    ("non-numeric cell", "a,b,y\n1,2,3\n4,five,6\n", "line 3, column 'b': 'five' is not a number"),
    ("missing feature", "a,b,y\n1,,3\n4,5,6\n", "'b' 1 (first at line 2)"),
    ("NaN feature", "a,b,y\n1,nan,3\n4,5,6\n", "'b' 1 (first at line 2)"),
    ("inf feature", "a,b,y\n1,2,3\n-inf,5,6\n", "'-inf' is not a finite number"),
    ("inf target", "a,b,y\n1,2,3\n4,5,inf\n4,5,6\n", "target 'inf' is not a finite number"),
    ("NaN target", "a,b,y\n1,2,NaN\n4,5,6\n4,5,6\n", "'y' 1 (first at line 2)"),
    ("missing target", "a,b,y\n1,2,\n4,5,6\n", "--missing drop"),
    ("single column", "y\n1\n2\n", "only one column"),
    ("duplicate names", "a,a,y\n1,2,3\n4,5,6\n", "column name 'a' appears twice"),
    (
        "one-row validation part",
        "a,y\n" + "".join(f"{i},{i}.5\n" for i in range(5)),
        "the validation part has only 1 row, too few to score a regression",
    ),
]


@pytest.mark.parametrize(
    ("content", "fragment"), [c[1:] for c in CSV_MISTAKES], ids=[c[0] for c in CSV_MISTAKES]
)
def test_csv_mistakes(tmp_path, content, fragment):
    assert_user_error(["train", "--data", write(tmp_path / "d.csv", content), *TINY], fragment)


def test_missing_file_directory_and_non_utf8(tmp_path):
    assert_user_error(["train", "--data", tmp_path / "nope.csv", *TINY], "no such file")
    (tmp_path / "folder.csv").mkdir()
    assert_user_error(["train", "--data", tmp_path / "folder.csv", *TINY], "is a directory")
    latin1 = write(tmp_path / "l.csv", "a,b,y\n1,2,3\ncaf\xe9,5,6\n".encode("latin-1"), "wb")
    assert_user_error(["train", "--data", latin1, *TINY], "line 3 is not UTF-8")
    unknown = ["train", "--data", write(tmp_path / "d.csv", GOOD), "--target", "price", *TINY]
    assert_user_error(unknown, "no target column 'price'; the columns are a, b, y")


def test_npy_mistakes_and_no_pickle(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(5.0))
    assert_user_error(["train", "--data", tmp_path / "one.npy", *TINY], "1-D")
    np.save(tmp_path / "three.npy", np.zeros((2, 3, 4)))
    assert_user_error(["train", "--data", tmp_path / "three.npy", *TINY], "3-D")
    np.save(tmp_path / "text.npy", np.array([["a", "b"], ["c", "d"]]))
    assert_user_error(["train", "--data", tmp_path / "text.npy", *TINY], "must hold numbers")
    np.save(tmp_path / "obj.npy", np.array([[1, {}]], dtype=object), allow_pickle=True)
    assert_user_error(["train", "--data", tmp_path / "obj.npy", *TINY], "without pickle")


def test_bom_and_crlf_simply_work(tmp_path):
    data = write(tmp_path / "d.csv", ("\ufeff" + GOOD.replace("\n", "\r\n")).encode(), "wb")
    code, out, err = run("train", "--data", data, *TINY)
    assert code == 0, err
    assert '"features": ["a", "b"]' in out


HYPERPARAMETERS = [
    (["--lr", "-0.1"], "--lr must be a finite number > 0"),
    (["--lr", "0"], "--lr must be a finite number > 0"),
    (["--epochs", "-1"], "--epochs must be >= 0"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--model", "mlp", "--hidden", "64,,64"], "--hidden must be comma-separated integers"),
    (["--optimizer", "adagrad"], "'adagrad' is not one of"),
    (["--loss", "hinge"], "'hinge' is not one of"),
    (["--loss", "cross_entropy"], "--loss cross_entropy is a classification loss"),
    (["--clip-grad-norm", "0"], "--clip-grad-norm must be a finite number > 0"),
    (["--clip-grad-norm", "nan"], "--clip-grad-norm must be a finite number > 0"),
    (["--checkpoint-every", "-1"], "--checkpoint-every must be >= 0"),
    (["--n-samples", "1"], "the training part has only 1 row"),
]


@pytest.mark.parametrize(
    ("flags", "fragment"),
    HYPERPARAMETERS,
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_hyperparameters_out_of_range(flags, fragment):
    assert_user_error(["train", *TINY, *flags], fragment)


# -- saved runs ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    data = write(folder / "train.csv", GOOD)
    code, _, err = run("train", "--data", data, *TINY, "--out", folder / "run")
    assert code == 0, err
    return folder


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_out_on_an_existing_run_needs_overwrite_and_a_failed_run_touches_nothing(saved, tmp_path):
    run_dir = saved / "run"
    before = snapshot(run_dir)
    assert_user_error(["train", *TINY, "--out", run_dir], "a run is saved there already")
    bad = write(tmp_path / "bad.csv", "a,b,y\n1,x,3\n")
    argv = ["train", "--data", bad, *TINY, "--out", run_dir, "--overwrite"]
    assert_user_error(argv, "'x' is not a number")
    assert snapshot(run_dir) == before  # nothing overwritten by the failed runs
    write(tmp_path / "notes.txt", "mine")
    assert_user_error(["train", *TINY, "--out", tmp_path], "not empty and holds no nnscratch run")
    assert_user_error(["train", *TINY, "--out", tmp_path / "notes.txt"], "is a file")
    copy = tmp_path / "copy"
    for rel, blob in before.items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes(blob)
    code, _, err = run("train", *TINY, "--out", copy, "--overwrite")
    assert code == 0, err


def test_predict_extra_columns_work_missing_ones_do_not(saved, tmp_path):
    extra = write(tmp_path / "x.csv", "id,b,note_value,a\n1,2,3,4\n5,6,7,8\n")
    code, out, err = run("predict", "--model", saved / "run", "--data", extra, "--json")
    assert code == 0, err
    assert len(json.loads(out)["values"]) == 2
    missing = write(tmp_path / "m.csv", "id,b\n1,2\n")
    assert_user_error(
        ["predict", "--model", saved / "run", "--data", missing], "missing feature column(s) 'a'"
    )


@pytest.mark.parametrize("damage", ["truncate", "flip", "pickle"])
@pytest.mark.parametrize("command", ["predict", "resume"])
def test_damaged_checkpoints_are_refused(saved, tmp_path, damage, command):
    marker = tmp_path / "pwned"
    copy = tmp_path / "run"
    for rel, blob in snapshot(saved / "run").items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes(blob)
    model = copy / "checkpoint" / "model.safetensors"
    blob = model.read_bytes()
    if damage == "truncate":
        model.write_bytes(blob[: len(blob) - 7])
    elif damage == "flip":
        model.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    else:
        model.write_bytes(pickle.dumps(Exploit(marker)))
    argv = (
        ["predict", "--model", copy, "--data", saved / "train.csv"]
        if command == "predict"
        else ["train", "--resume", copy, "--epochs", "4"]
    )
    assert_user_error(argv, "truncated, corrupted or replaced")
    assert not marker.exists()


class Exploit:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_given_as_the_model_is_refused_unexecuted(saved, tmp_path):
    marker = tmp_path / "pwned"
    pt = write(tmp_path / "model.pt", pickle.dumps(Exploit(marker)), "wb")
    assert_user_error(
        ["predict", "--model", pt, "--data", saved / "train.csv"], "never loads .pt/pickle"
    )
    assert_user_error(["train", "--resume", pt], "never loads .pt/pickle")
    assert not marker.exists()


# -- fuzzing ------------------------------------------------------------------------------------
GOOD_VALUES = {
    "--data": ["synthetic", "builtin:iris", "builtin:moons"],
    "--epochs": ["0", "1", "2"],
    "--n-samples": ["1", "16"],
    "--n-features": ["1", "3"],
    "--features": ["x1", "a,b"],
    "--drop": ["x1", "id"],
    "--lr": ["0.01", "0.5"],
    "--batch-size": ["1", "8"],
    "--model": ["linear", "logistic", "mlp"],
    "--hidden": ["3", "2,2"],
    "--activation": ["tanh", "gelu"],
    "--loss": ["mse", "l1", "huber", "cross_entropy", "bce_with_logits"],
    "--optimizer": ["sgd", "adam", "adamw", "rmsprop"],
    "--momentum": ["0", "0.9"],
    "--betas": ["0.9,0.99", "0.9"],
    "--scheduler": ["none", "step", "cosine", "linear"],
    "--step-size": ["1"],
    "--val-fraction": ["0", "0.5", "0.99"],
    "--test-fraction": ["0", "0.3"],
    "--task": ["regression", "classification"],
    "--target": ["y", "x1"],
    "--dtype": ["float64"],
    "--clip-grad-norm": ["1", "1e-9"],
    "--checkpoint-every": ["0", "3"],
}
BAD_VALUES = ["-1", "0", "nan", "inf", "1e309", "abc", "", "64,,64", "--lr", "--bogus"]
SWITCHES = ["--quiet", "--no-nesterov", "--nesterov", "stray"]


def flag_and_value(flag):
    good = st.sampled_from(GOOD_VALUES[flag])
    return st.one_of(good, good, good, st.sampled_from(BAD_VALUES)).map(lambda v: [flag, v])


ARGUMENTS = st.lists(
    st.sampled_from(sorted(GOOD_VALUES)).flatmap(flag_and_value)
    | st.sampled_from(SWITCHES).map(lambda s: [s]),
    max_size=6,
).map(lambda pairs: [token for pair in pairs for token in pair])


@settings(max_examples=40, deadline=None)
@given(ARGUMENTS)
def test_fuzz_train_arguments(tokens):
    code, _, err = run("train", "--epochs", "2", "--n-samples", "16", *tokens, "--json")
    assert "Traceback" not in err
    if code == 0:
        return
    assert code in (2, 3), (code, err)  # 3: training diverged, also a one-line error
    assert err.startswith("error: ") and err.count("\n") == 1, err


NUMBERS = ["1", "2.5", "-3", "0", "7", "4", " 4 ", '"5"', "1e3", "2", "3"]
DEFECTS = ["x", "", "nan", "1e999", "é", "extra cell", "short row", "none", "none", "none"]


@st.composite
def csv_texts(draw):
    """CSV text with 1–3 named columns and 0–14 rows of numbers, with at most one defect."""
    names = st.sampled_from(["a", "b", "y", "c"])
    header = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    row = st.lists(st.sampled_from(NUMBERS), min_size=len(header), max_size=len(header))
    rows = draw(st.lists(row, max_size=14))
    defect = draw(st.sampled_from(DEFECTS))
    if rows and defect != "none":
        bad = rows[draw(st.integers(0, len(rows) - 1))]
        if defect == "extra cell":
            bad.append("9")
        elif defect == "short row":
            bad.pop()
        else:
            bad[draw(st.integers(0, len(bad) - 1))] = defect
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return bom + newline.join(",".join(r) for r in [header, *rows]) + newline


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=csv_texts(), flags=st.sampled_from([[], ["--target", "a"], ["--task", "classification"]])
)
def test_fuzz_whole_files_train_or_fail_cleanly(tmp_path, text, flags):
    data = write(tmp_path / "f.csv", text.encode(), "wb")
    code, _, err = run("train", "--data", data, "--epochs", "1", "--json", *flags)
    assert "Traceback" not in err
    assert code == 0 or (code == 2 and err.startswith("error: ") and err.count("\n") == 1), err
