"""Built-in data sets: sklearn's bundled tables and generators are the oracle."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn import datasets as skd

from nnscratch.data import BUILTINS, Dataset, load_builtin, make_regression
from nnscratch.errors import UserError

F64 = torch.float64

BUNDLED = {
    "diabetes": (skd.load_diabetes, (442, 10), None),
    "iris": (skd.load_iris, (150, 4), ["setosa", "versicolor", "virginica"]),
    "wine": (skd.load_wine, (178, 13), ["class_0", "class_1", "class_2"]),
    "breast_cancer": (skd.load_breast_cancer, (569, 30), ["malignant", "benign"]),
    "digits": (skd.load_digits, (1797, 64), list(range(10))),
}


def test_the_names_are_the_documented_ones():
    expected = {"synthetic", "moons", "circles", "blobs", "xor", "spiral", *BUNDLED}
    assert set(BUILTINS) == expected


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_tables_equal_sklearn(name):
    loader, shape, classes = BUNDLED[name]
    d = load_builtin(name, dtype=F64)
    bunch = loader()
    assert d.X.shape == shape and d.name == name
    np.testing.assert_array_equal(d.X.numpy(), bunch.data)
    assert d.feature_names == list(bunch.feature_names)
    if classes is None:
        assert d.task == "regression" and d.classes is None and d.y.shape == (shape[0], 1)
        np.testing.assert_array_equal(d.y.reshape(-1).numpy(), bunch.target)
    else:
        assert d.task == "classification" and d.classes == classes
        assert d.y.dtype == torch.int64 and d.y.shape == (shape[0],)
        np.testing.assert_array_equal(d.y.numpy(), bunch.target)
        assert d.n_classes == len(classes) and all(type(c) in (str, int) for c in d.classes)


def test_default_dtype_is_float32():
    d = load_builtin("iris")
    assert d.X.dtype == torch.float32 and d.y.dtype == torch.int64
    d = load_builtin("diabetes")
    assert d.X.dtype == d.y.dtype == torch.float32


@pytest.mark.parametrize(
    ("name", "make", "kwargs"),
    [
        ("moons", skd.make_moons, {"noise": 0.1}),
        ("circles", skd.make_circles, {"noise": 0.05, "factor": 0.5}),
    ],
)
def test_generated_sets_equal_sklearn_with_random_state_seed(name, make, kwargs):
    for seed in (0, 3):
        d = load_builtin(name, seed=seed, dtype=F64)
        X, y = make(200, random_state=seed, **kwargs)
        np.testing.assert_array_equal(d.X.numpy(), X)
        np.testing.assert_array_equal(d.y.numpy(), y)
        assert d.classes == [0, 1] and d.feature_names == ["x1", "x2"]
    assert not torch.equal(load_builtin(name, seed=0).X, load_builtin(name, seed=1).X)


def test_synthetic_is_make_regression():
    for seed in (0, 5):
        d = load_builtin("synthetic", seed=seed, dtype=F64)
        ref = make_regression(seed=seed, dtype=F64)
        torch.testing.assert_close(d.X, ref.X, atol=0, rtol=0)
        torch.testing.assert_close(d.y, ref.y, atol=0, rtol=0)
        assert d.task == "regression" and d.extra["true_weight"] == ref.true_weight.tolist()


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as info:
        load_builtin("mnist")
    message = str(info.value)
    assert "'mnist'" in message and all(name in message for name in BUILTINS)


def test_dataset_subset_and_cast():
    d = load_builtin("iris", dtype=F64)
    idx = torch.tensor([0, 50, 100])
    s = d.subset(idx)
    assert isinstance(s, Dataset) and s.y.tolist() == [0, 1, 2] and s.classes == d.classes
    torch.testing.assert_close(s.X, d.X[idx], atol=0, rtol=0)
    assert (
        d.to(torch.float32).X.dtype == torch.float32 and d.to(torch.float32).y.dtype == torch.int64
    )


@pytest.mark.slow
def test_sklearn_is_imported_lazily():
    code = "import sys, nnscratch.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("name", "classes"), [("xor", 2), ("spiral", 2), ("blobs", 3)])
def test_the_playground_sets_are_seeded_two_feature_classification(name, classes):
    a = load_builtin(name, seed=3, dtype=torch.float64)
    b = load_builtin(name, seed=3, dtype=torch.float64)
    c = load_builtin(name, seed=4, dtype=torch.float64)
    assert (
        a.task == "classification" and a.X.shape == (200, 2) and a.classes == list(range(classes))
    )
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)  # the same seed, the same points
    assert not torch.equal(a.X, c.X)
    counts = torch.bincount(a.y, minlength=classes)
    assert int(counts.min()) >= 200 // classes - 30  # no class left out


def test_xor_labels_are_the_quadrants_up_to_the_noise():
    d = load_builtin("xor", seed=0, dtype=torch.float64)
    same_sign = (d.X[:, 0] * d.X[:, 1] > 0).long()  # (N,)
    agree = (same_sign == d.y).double().mean().item()
    assert 0.8 < agree < 1.0  # the rule, blurred by 0.1·N(0, 1) noise near the axes


def test_spiral_arms_are_half_a_turn_apart():
    d = load_builtin("spiral", seed=0, dtype=torch.float64)
    arm0, arm1 = d.X[d.y == 0], d.X[d.y == 1]
    assert arm0.shape == arm1.shape == (100, 2)
    # the arms are each other's mirror through the origin, apart from the noise
    gap = torch.cdist(-arm0, arm1).min(dim=1).values.median().item()
    assert gap < 0.15
