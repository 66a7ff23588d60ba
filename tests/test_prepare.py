"""Seeded splitting without leakage, and the Standardizer against sklearn's StandardScaler."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler
from torch.utils.data import random_split

from nnscratch.data import Dataset, Standardizer, split
from nnscratch.errors import UserError

F64 = torch.float64


def regression(n: int = 50, f: int = 3) -> Dataset:
    X = torch.randn(n, f, dtype=F64) * torch.tensor([1.0, 10.0, 0.1][:f], dtype=F64) + 5
    y = torch.arange(n, dtype=F64).reshape(n, 1)  # row ids: where each row went is visible
    return Dataset(X, y, "regression", [f"x{j}" for j in range(f)])


def ids(d: Dataset) -> list[int]:
    return d.y.reshape(-1).long().tolist()


def test_split_is_a_partition_with_the_requested_sizes():
    parts = split(regression(50), val_fraction=0.2, test_fraction=0.1, seed=3)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (35, 10, 5)
    everything = ids(parts.train) + ids(parts.val) + ids(parts.test)
    assert sorted(everything) == list(range(50))
    for part in parts:  # rows stay whole: X travels with its y
        assert part.X.shape[1] == 3 and part.feature_names == ["x0", "x1", "x2"]


@pytest.mark.parametrize(
    ("n", "val", "test", "seed"), [(50, 0.2, 0.1, 3), (17, 0.3, 0.0, 0), (9, 0.0, 0.5, 4)]
)
def test_split_puts_the_same_rows_in_each_part_as_random_split(n, val, test, seed):
    parts = split(regression(n), val, test, seed=seed)
    lengths = [len(parts.test), len(parts.val), len(parts.train)]
    test, val, train = random_split(
        range(n), lengths, generator=torch.Generator().manual_seed(seed)
    )
    assert ids(parts.test) == list(test)
    assert ids(parts.val) == list(val)
    assert ids(parts.train) == list(train)


def test_split_rows_keep_their_features():
    data = regression(20)
    parts = split(data, 0.25, 0.25, seed=0)
    for part in parts:
        torch.testing.assert_close(part.X, data.X[ids(part)], atol=0, rtol=0)


def test_split_is_deterministic_by_seed_and_shuffles():
    data = regression(40)
    a, b, c = (
        split(data, 0.25, 0.0, seed=7),
        split(data, 0.25, 0.0, seed=7),
        split(data, 0.25, 0.0, seed=8),
    )
    assert ids(a.train) == ids(b.train) and ids(a.val) == ids(b.val)
    assert ids(a.val) != ids(c.val)
    assert ids(a.train) != sorted(ids(a.train))  # not the file order
    assert len(a.test) == 0 and a.test.X.shape == (0, 3)


def test_small_positive_fraction_still_gets_a_row():
    parts = split(regression(5), val_fraction=0.01, test_fraction=0.0)
    assert len(parts.val) == 1 and len(parts.train) == 4


@pytest.mark.parametrize(
    ("val", "test", "match"),
    [
        (-0.1, 0.0, "val_fraction must be a number in \\[0, 1\\), got -0.1"),
        (1.0, 0.0, "val_fraction .* got 1.0"),
        (0.2, float("nan"), "test_fraction .* got nan"),
        (0.6, 0.5, "leave no training rows"),
        (0.2, "0.1", "test_fraction .* got '0.1'"),
    ],
)
def test_bad_fractions_are_user_errors(val, test, match):
    with pytest.raises(UserError, match=match):
        split(regression(10), val, test)


def test_standardizer_matches_standard_scaler():
    X = regression(60).X
    mine = Standardizer().fit(X)
    ref = StandardScaler().fit(X.numpy())
    np.testing.assert_allclose(mine.mean.numpy(), ref.mean_, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(mine.std.numpy(), ref.scale_, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(mine.transform(X).numpy(), ref.transform(X.numpy()), atol=1e-12)
    back = mine.inverse_transform(mine.transform(X))
    torch.testing.assert_close(back, X, atol=1e-12, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    f=st.integers(1, 4),
    constant=st.floats(-1e3, 1e3, allow_nan=False),
    seed=st.integers(0, 2**16),
)
def test_standardizer_matches_standard_scaler_with_constant_columns(n, f, constant, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, f, generator=g, dtype=F64) * 3
    X[:, 0] = constant  # a constant column: σ = 1, so it maps to 0 instead of NaN
    mine, ref = Standardizer().fit(X), StandardScaler().fit(X.numpy())
    np.testing.assert_allclose(mine.std.numpy(), ref.scale_, atol=1e-12, rtol=1e-10)
    out = mine.transform(X)
    np.testing.assert_allclose(out.numpy(), ref.transform(X.numpy()), atol=1e-9, rtol=1e-9)
    # 0 up to the rounding of the mean (n·c/n need not be exactly c), as in StandardScaler
    assert out[:, 0].abs().max() <= 1e-12 * max(1.0, abs(constant))
    assert torch.isfinite(out).all()


def test_population_std_not_torch_default():
    X = torch.tensor([[1.0], [3.0]], dtype=F64)
    s = Standardizer().fit(X)
    assert s.std.item() == 1.0  # √(((1−2)² + (3−2)²)/2); torch.std would give √2
    assert X.std().item() == pytest.approx(2**0.5)


def test_fitted_on_training_part_only_no_leakage():
    data = regression(40)
    parts = split(data, 0.25, 0.25, seed=1)
    s = Standardizer().fit(parts.train.X)
    ref = StandardScaler().fit(parts.train.X.numpy())
    np.testing.assert_allclose(s.mean.numpy(), ref.mean_, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(s.std.numpy(), ref.scale_, atol=1e-12, rtol=1e-12)
    assert not torch.allclose(s.mean, data.X.mean(dim=0))  # not the full-data statistics
    train = s.transform(parts.train.X)
    torch.testing.assert_close(train.mean(dim=0), torch.zeros(3, dtype=F64), atol=1e-12, rtol=0)
    val = s.transform(parts.val.X)
    assert val.mean(dim=0).abs().max() > 1e-3  # the validation rows are not re-centred


def test_transform_gradcheck():
    s = Standardizer().fit(regression(10).X)
    X = torch.randn(4, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(s.transform, (X,))
    assert torch.autograd.gradcheck(s.inverse_transform, (X,))


def test_float32_in_float32_out_with_float64_statistics():
    X = regression(30).X.float()
    s = Standardizer().fit(X)
    assert s.mean.dtype == F64 and s.transform(X).dtype == torch.float32
    ref = StandardScaler().fit_transform(X.double().numpy())
    np.testing.assert_allclose(s.transform(X).numpy(), ref, atol=1e-6, rtol=1e-6)


def test_state_dict_round_trips_through_json():
    X = regression(25).X
    s = Standardizer().fit(X)
    state = json.loads(json.dumps(s.state_dict()))
    assert set(state) == {"mean", "std"} and all(isinstance(v, float) for v in state["mean"])
    t = Standardizer.from_state_dict(state)
    torch.testing.assert_close(t.transform(X), s.transform(X), atol=0, rtol=0)


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"mean": [0.0]},
        {"mean": [0.0], "std": [1.0, 2.0]},
        {"mean": [0.0], "std": [0.0]},
        {"mean": ["a"], "std": [1.0]},
        {"mean": [float("nan")], "std": [1.0]},
    ],
)
def test_bad_state_is_a_user_error(state):
    with pytest.raises(UserError, match="standardizer state"):
        Standardizer.from_state_dict(state)


def test_unfitted_and_wrong_width_are_refused():
    with pytest.raises(RuntimeError, match="call fit"):
        Standardizer().transform(torch.zeros(2, 2))
    s = Standardizer().fit(torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"expected an \(N, 2\) tensor"):
        s.transform(torch.zeros(3, 4))
