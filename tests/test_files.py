"""User data files: what loads, and a one-line UserError for every mistake (issue 5's bad inputs)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnscratch.data import load_file, select_features
from nnscratch.errors import UserError

F64 = torch.float64


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def load_error(path, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        load_file(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message  # one line, as the CLI prints it
    assert path.name in message or message.startswith("task must be")  # says which file
    return message


# -- CSV that loads ------------------------------------------------------------------------------
def test_csv_regression_last_column_is_the_default_target(tmp_path):
    path = write(tmp_path, "houses.csv", "area,rooms,price\n50,2,100.5\n80,3,160.25\n65.5,2,130\n")
    d = load_file(path, dtype=F64)
    assert d.task == "regression" and d.name == "houses.csv" and d.classes is None
    assert d.feature_names == ["area", "rooms"] and d.target_name == "price"
    expected_X = torch.tensor([[50, 2], [80, 3], [65.5, 2]], dtype=F64)
    torch.testing.assert_close(d.X, expected_X, atol=0, rtol=0)
    torch.testing.assert_close(
        d.y, torch.tensor([[100.5], [160.25], [130.0]], dtype=F64), atol=0, rtol=0
    )
    assert load_file(path).X.dtype == torch.float32


def test_csv_target_by_name_from_the_middle(tmp_path):
    path = write(tmp_path, "d.csv", "a,t,b\n1,10.5,2\n3,20.5,4\n5,30.5,6\n")
    d = load_file(path, target="t", dtype=F64)
    assert d.feature_names == ["a", "b"] and d.target_name == "t"
    assert d.X.tolist() == [[1, 2], [3, 4], [5, 6]] and d.y.reshape(-1).tolist() == [
        10.5,
        20.5,
        30.5,
    ]


@pytest.mark.parametrize("target", [1, -2])
def test_csv_target_by_index(tmp_path, target):
    path = write(tmp_path, "d.csv", "a,t,b\n1,10.5,2\n3,20.5,4\n")
    d = load_file(path, target=target)
    assert d.target_name == "t" and d.feature_names == ["a", "b"]
    assert "index 3 is out of range for 3 columns" in load_error(path, target=3)


def test_csv_string_labels_become_sorted_class_indices(tmp_path):
    path = write(tmp_path, "pets.csv", "w,h,kind\n1,2,dog\n3,4,cat\n5,6,dog\n7,8,bird\n")
    d = load_file(path)
    assert d.task == "classification" and d.classes == ["bird", "cat", "dog"]
    assert d.y.dtype == torch.int64 and d.y.tolist() == [2, 1, 2, 0]


def test_csv_few_whole_numbers_are_classes_many_are_a_regression(tmp_path):
    few = write(tmp_path, "few.csv", "x,y\n" + "".join(f"{i},{i % 3 + 1}\n" for i in range(12)))
    d = load_file(few)
    assert d.task == "classification" and d.classes == [1, 2, 3]
    assert d.y.tolist() == [i % 3 for i in range(12)]
    many = write(tmp_path, "many.csv", "x,y\n" + "".join(f"{i},{i * 7}\n" for i in range(30)))
    assert load_file(many).task == "regression"  # 30 distinct values in 30 rows
    fractional = write(
        tmp_path, "frac.csv", "x,y\n" + "".join(f"{i},{i % 2 + 0.5}\n" for i in range(10))
    )
    assert load_file(fractional).task == "regression"


def test_task_override(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(8)))
    assert load_file(path).task == "classification"
    d = load_file(path, task="regression")
    assert d.task == "regression" and d.y.shape == (8, 1)
    labels = write(tmp_path, "l.csv", "x,y\n1,a\n2,b\n")
    assert "use --task classification" in load_error(labels, task="regression")
    with pytest.raises(
        UserError, match="task must be 'regression' or 'classification', got 'regr'"
    ):
        load_file(path, task="regr")


def test_bom_crlf_blank_lines_spaces_and_quotes_simply_work(tmp_path):
    plain = write(tmp_path, "plain.csv", "a,b,y\n1,2,3.5\n4,5,6.5\n")
    windows = write(
        tmp_path, "win.csv", b'\xef\xbb\xbf"a", b ,y\r\n\r\n 1 ,2,3.5\r\n4,"5",6.5\r\n\r\n'
    )
    p, w = load_file(plain), load_file(windows)
    assert w.feature_names == p.feature_names == ["a", "b"] and w.target_name == "y"
    torch.testing.assert_close(w.X, p.X, atol=0, rtol=0)
    torch.testing.assert_close(w.y, p.y, atol=0, rtol=0)


# -- CSV mistakes --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("\n\n  \n", "the file is empty"),
        ("a,b,y\n", "header row but no data rows"),
        ("a,b,y\n1,2,3\n4,5\n", "line 3 has 2 fields but the header has 3"),
        ("a,b,y\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields"),
        ("a,b,y\n1,2,3\n4,abc,6\n", "line 3, column 'b': 'abc' is not a number"),
        ("a,b,y\n1,,3\n", "1 missing value (empty, NA, NaN, ? or null): 'b' 1 (first at line 2)"),
        ("a,b,y\n1,nan,3\n", "'b' 1 (first at line 2)"),
        ("a,b,y\n1,2,3\n-inf,2,3\n", "line 3, column 'a': '-inf' is not a finite number"),
        ("a,b,y\n1,2,\n", "'y' 1 (first at line 2)"),
        ("a,b,y\n1,2,3\n1,2,NaN\n", "'y' 1 (first at line 3)"),
        ("a,b,y\n1,2,inf\n", "target 'inf' is not a finite number"),
        ("only\n1\n2\n", "only one column ('only')"),
        ("a,a,y\n1,2,3\n", "column name 'a' appears twice"),
        ("a,,y\n1,2,3\n", "column 2 of the header has no name"),
        ("a,y\n1e400,2\n", "'1e400' is not a finite number"),
        ("a,y\n1e300,2\n", "too large for torch.float32"),
    ],
)
def test_csv_mistakes_name_what_is_wrong(tmp_path, content, expected):
    assert expected in load_error(write(tmp_path, "bad.csv", content))


def test_unknown_target_lists_the_columns(tmp_path):
    path = write(tmp_path, "d.csv", "age,income,label\n1,2,3\n")
    message = load_error(path, target="price")
    assert "no target column 'price'" in message and "age, income, label" in message


def test_blank_line_keeps_physical_line_numbers(tmp_path):
    path = write(tmp_path, "d.csv", "a,y\n\n1,2\n\nx,3\n")
    assert "line 5, column 'a'" in load_error(path)


def test_non_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "latin.csv", b"name,y\n1,2\n3,4\ncaf\xe9,5\n")
    message = load_error(path)
    assert (
        "line 4 is not UTF-8" in message
        and "0xe9" in message
        and "save the file as UTF-8" in message
    )


def test_missing_file_directory_and_extension(tmp_path):
    assert "no such file" in load_error(tmp_path / "nope.csv")
    folder = tmp_path / "data.csv"
    folder.mkdir()
    assert "is a directory" in load_error(folder)
    assert "unsupported file type ('.xlsx')" in load_error(write(tmp_path, "d.xlsx", "a,b\n1,2\n"))
    assert "no extension" in load_error(write(tmp_path, "data", "a,b\n1,2\n"))


def test_extension_is_case_insensitive(tmp_path):
    assert load_file(write(tmp_path, "D.CSV", "a,y\n1,2.5\n2,3.5\n")).X.shape == (2, 1)


# -- .npy ----------------------------------------------------------------------------------------
def test_npy_last_column_is_the_target(tmp_path):
    a = np.array([[1.0, 2.0, 0.5], [3.0, 4.0, 1.5], [5.0, 6.0, 2.5]])
    np.save(tmp_path / "a.npy", a)
    d = load_file(tmp_path / "a.npy", dtype=F64)
    assert (
        d.task == "regression" and d.feature_names == ["col0", "col1"] and d.target_name == "col2"
    )
    np.testing.assert_array_equal(d.X.numpy(), a[:, :2])
    np.testing.assert_array_equal(d.y.numpy(), a[:, 2:])


@pytest.mark.parametrize("target", [0, -3, "0"])
def test_npy_target_column_index(tmp_path, target):
    a = np.array([[0, 1, 2], [1, 3, 4], [0, 5, 6], [1, 7, 8]], dtype=np.int32)
    np.save(tmp_path / "a.npy", a)
    d = load_file(tmp_path / "a.npy", target=target)
    assert d.task == "classification" and d.classes == [0, 1] and d.y.tolist() == [0, 1, 0, 1]
    assert d.feature_names == ["col1", "col2"] and d.X.dtype == torch.float32


@pytest.mark.parametrize(
    ("array", "kwargs", "expected"),
    [
        (np.zeros(5), {}, "is 1-D with shape (5,); it must be 2-D"),
        (np.zeros((2, 2, 2)), {}, "is 3-D"),
        (np.array([["a", "b"], ["c", "d"]]), {}, "has dtype <U1; it must hold numbers"),
        (np.ones((3, 2), dtype=complex), {}, "has dtype complex128"),
        (np.ones((3, 1)), {}, "at least one row and two columns"),
        (np.ones((0, 3)), {}, "at least one row"),
        (np.array([[1.0, 2.0], [np.nan, 3.0]]), {}, "NaN or infinite value at index (1, 0)"),
        (np.ones((3, 3)), {"target": 3}, "target must be a column index from -3 to 2, got 3"),
        (np.ones((3, 3)), {"target": "price"}, "got 'price'"),
    ],
)
def test_npy_mistakes(tmp_path, array, kwargs, expected):
    np.save(tmp_path / "a.npy", array)
    assert expected in load_error(tmp_path / "a.npy", **kwargs)


def test_npy_object_array_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[1, "x"], [2, None]], dtype=object), allow_pickle=True)
    assert "without pickle" in load_error(tmp_path / "obj.npy")


def test_npy_that_is_not_numpy(tmp_path):
    assert "not a readable .npy file" in load_error(write(tmp_path, "fake.npy", "a,b\n1,2\n"))
    assert "not a readable .npy file" in load_error(write(tmp_path, "empty.npy", b""))


# -- .npz ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("y", [np.array([0.5, 1.5, 2.5]), np.array([[0.5], [1.5], [2.5]])])
def test_npz_X_and_y(tmp_path, y):
    X = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    d = load_file(tmp_path / "d.npz", dtype=F64)
    assert d.task == "regression" and d.feature_names == ["x0", "x1"] and d.target_name == "y"
    np.testing.assert_array_equal(d.X.numpy(), X)
    np.testing.assert_array_equal(d.y.numpy(), y.reshape(3, 1))


def test_npz_string_labels(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.array(["yes", "no", "yes"]))
    d = load_file(tmp_path / "d.npz")
    assert d.classes == ["no", "yes"] and d.y.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        (
            {"features": np.zeros((2, 2)), "y": np.zeros(2)},
            "missing array(s) X (found: features, y)",
        ),
        ({"X": np.zeros((2, 2))}, "missing array(s) y"),
        ({"X": np.zeros(2), "y": np.zeros(2)}, "array 'X' is 1-D"),
        ({"X": np.zeros((2, 2)), "y": np.zeros((2, 2))}, "array 'y' has shape (2, 2)"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, "'X' has shape (3, 2) and 'y' (2,)"),
        (
            {"X": np.array([[1.0, np.inf]]), "y": np.zeros(1)},
            "NaN or infinite value at index (0, 1)",
        ),
        ({"X": np.zeros((2, 1)), "y": np.array([1.0, np.nan])}, "array 'y' has a NaN"),
    ],
)
def test_npz_mistakes(tmp_path, arrays, expected):
    np.savez(tmp_path / "d.npz", **arrays)
    assert expected in load_error(tmp_path / "d.npz")


def test_npz_object_array_and_garbage_and_target(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.array([[1, None]], dtype=object), y=np.zeros(1))
    assert "must hold numbers, not objects" in load_error(tmp_path / "o.npz")
    assert "not a readable .npz file" in load_error(write(tmp_path, "g.npz", b"PK\x03\x04junk"))
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 1)), y=np.zeros(2))
    assert "leave target unset" in load_error(tmp_path / "d.npz", target="y")


# -- predict time --------------------------------------------------------------------------------
def test_select_features_by_name_ignores_extra_columns(tmp_path):
    path = write(tmp_path, "new.csv", "id,b,note,a\n7,2,hello,1\n8,4,,3\n")
    X = select_features(path, ["a", "b"], dtype=F64)
    assert X.tolist() == [[1, 2], [3, 4]]  # training order, not file order; 'note' never parsed


def test_select_features_errors(tmp_path):
    path = write(tmp_path, "new.csv", "a,c\n1,2\n")
    with pytest.raises(
        UserError, match="missing feature column\\(s\\) 'b'.*trained on a, b.*has a, c"
    ):
        select_features(path, ["a", "b"])
    bad = write(tmp_path, "bad.csv", "a,b\n1,x\n")
    with pytest.raises(UserError, match="line 2, column 'b': 'x' is not a number"):
        select_features(bad, ["a", "b"])
    with pytest.raises(UserError, match="no such file"):
        select_features(tmp_path / "gone.csv", ["a"])


def test_select_features_from_arrays(tmp_path):
    a = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "train.npy", a)
    d = load_file(tmp_path / "train.npy", target=0)
    np.testing.assert_array_equal(
        select_features(tmp_path / "train.npy", d.feature_names, F64).numpy(), a[:, 1:]
    )
    np.save(tmp_path / "feat.npy", a[:, 1:])  # features only: all columns, in order
    np.testing.assert_array_equal(
        select_features(tmp_path / "feat.npy", d.feature_names, F64).numpy(), a[:, 1:]
    )
    np.save(tmp_path / "narrow.npy", a[:, :1])
    with pytest.raises(UserError, match="the model needs 2 features"):
        select_features(tmp_path / "narrow.npy", d.feature_names)
    np.savez(tmp_path / "d.npz", X=a)
    np.testing.assert_array_equal(
        select_features(tmp_path / "d.npz", ["x0", "x1", "x2"], F64).numpy(), a
    )
    with pytest.raises(UserError, match="array 'X' has 3 columns; the model needs 2"):
        select_features(tmp_path / "d.npz", ["x0", "x1"])
    np.savez(tmp_path / "noX.npz", y=a)
    with pytest.raises(UserError, match="no array 'X'"):
        select_features(tmp_path / "noX.npz", ["x0"])


# -- fuzzing: anything either loads or is a UserError ---------------------------------------------
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CSV_ALPHABET = st.sampled_from(
    list("ab,,,\n\n\r\"' 0123456789.-+eE") + ["nan", "inf", "\ufeff", "\x00", "é"]
)


def loads_or_user_error(path):
    try:
        d = load_file(path)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert d.X.ndim == 2 and len(d) == d.y.shape[0] >= 1 and torch.isfinite(d.X).all()


@FUZZ
@given(text=st.text(max_size=200))
def test_fuzz_csv_text(tmp_path, text):
    loads_or_user_error(write(tmp_path, "f.csv", text))


@FUZZ
@given(text=st.lists(CSV_ALPHABET, max_size=120).map("".join))
def test_fuzz_csv_like_text(tmp_path, text):
    loads_or_user_error(write(tmp_path, "f.csv", text))


@FUZZ
@given(data=st.binary(max_size=200), ext=st.sampled_from([".csv", ".npy", ".npz"]))
def test_fuzz_bytes(tmp_path, data, ext):
    loads_or_user_error(write(tmp_path, "f" + ext, data))


def valid_array_file(ext: str, tmp_path) -> bytes:
    path = tmp_path / f"valid{ext}"
    X, y = np.arange(8.0).reshape(4, 2), np.array([0.5, 1.5, 2.5, 3.5])
    if ext == ".npy":
        np.save(path, np.column_stack([X, y]))
    else:
        np.savez_compressed(path, X=X, y=y)
    return path.read_bytes()


@FUZZ
@given(
    ext=st.sampled_from([".npy", ".npz"]),
    cut=st.integers(0, 2000),
    flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4),
)
def test_fuzz_damaged_array_files(tmp_path, ext, cut, flips):
    data = bytearray(valid_array_file(ext, tmp_path))
    for position, value in flips:
        data[position % len(data)] = value
    loads_or_user_error(write(tmp_path, "f" + ext, bytes(data[: max(cut, len(data) // 2)])))
