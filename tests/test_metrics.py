"""Hand-written metrics against sklearn.metrics on random data (float64, tight tolerance)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from nnscratch.run.metrics import accuracy, log_loss, mse, r2_score

F64 = torch.float64
TOL = {"abs": 1e-12, "rel": 1e-12}


@pytest.mark.parametrize("shape", [(50,), (50, 1), (40, 3)])
def test_mse_matches_sklearn(shape):
    y, y_hat = torch.randn(*shape, dtype=F64), torch.randn(*shape, dtype=F64)
    assert mse(y, y_hat) == pytest.approx(skm.mean_squared_error(y.numpy(), y_hat.numpy()), **TOL)


def test_mse_accepts_column_and_flat_targets_alike():
    y, y_hat = torch.randn(30, dtype=F64), torch.randn(30, dtype=F64)
    assert mse(y, y_hat.reshape(30, 1)) == pytest.approx(mse(y, y_hat), **TOL)


@pytest.mark.parametrize("shape", [(50,), (50, 1), (40, 3)])
def test_r2_matches_sklearn(shape):
    y = torch.randn(*shape, dtype=F64)
    y_hat = y + 0.5 * torch.randn(*shape, dtype=F64)
    assert r2_score(y, y_hat) == pytest.approx(skm.r2_score(y.numpy(), y_hat.numpy()), **TOL)


@pytest.mark.parametrize("exact", [True, False])
def test_r2_of_a_constant_target_matches_sklearn(exact):
    y = torch.full((10,), 3.0, dtype=F64)
    y_hat = y.clone() if exact else y + 0.1 * torch.randn(10, dtype=F64)
    expected = skm.r2_score(y.numpy(), y_hat.numpy())
    assert expected == (1.0 if exact else 0.0)
    assert r2_score(y, y_hat) == expected


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 30), k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_r2_and_mse_match_sklearn_for_any_shape(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    y, y_hat = torch.randn(n, k, generator=g, dtype=F64), torch.randn(n, k, generator=g, dtype=F64)
    assert r2_score(y, y_hat) == pytest.approx(skm.r2_score(y.numpy(), y_hat.numpy()), **TOL)
    assert mse(y, y_hat) == pytest.approx(skm.mean_squared_error(y.numpy(), y_hat.numpy()), **TOL)


def test_accuracy_matches_sklearn_for_indices_and_scores():
    y = torch.randint(0, 4, (60,))
    logits = torch.randn(60, 4, dtype=F64)
    predicted = logits.argmax(dim=1)
    expected = skm.accuracy_score(y.numpy(), predicted.numpy())
    assert 0 < expected < 1
    assert accuracy(y, predicted) == pytest.approx(expected, **TOL)
    assert accuracy(y, logits) == pytest.approx(expected, **TOL)
    assert accuracy(y, logits.softmax(dim=1)) == pytest.approx(expected, **TOL)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40), c=st.integers(2, 6), scale=st.floats(0.1, 20), seed=st.integers(0, 2**16)
)
def test_log_loss_matches_sklearn(n, c, scale, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, c, (n,), generator=g)
    proba = (scale * torch.randn(n, c, generator=g, dtype=F64)).softmax(dim=1)  # (N, C)
    expected = skm.log_loss(y.numpy(), proba.numpy(), labels=list(range(c)))
    assert log_loss(y, proba) == pytest.approx(expected, abs=1e-12, rel=1e-10)


def test_log_loss_binary_probabilities_and_clipping_match_sklearn():
    y = torch.tensor([0, 1, 1, 0, 1])
    p1 = torch.tensor([0.1, 0.8, 1.0, 0.0, 0.0], dtype=F64)  # the last is a certain mistake
    expected = skm.log_loss(y.numpy(), p1.numpy(), labels=[0, 1])
    assert expected > 5  # the clipped mistake dominates, finite
    assert log_loss(y, p1) == pytest.approx(expected, **TOL)


def test_log_loss_is_the_cross_entropy_of_the_logits():
    y = torch.randint(0, 3, (20,))
    logits = torch.randn(20, 3, dtype=F64)
    expected = torch.nn.CrossEntropyLoss()(logits, y).item()
    assert log_loss(y, logits.softmax(dim=1)) == pytest.approx(expected, **TOL)


@pytest.mark.parametrize("fn", [mse, r2_score])
def test_shape_mismatch_is_refused(fn):
    with pytest.raises(ValueError, match="same number of values"):
        fn(torch.zeros(4), torch.zeros(4, 2))


def test_accuracy_and_log_loss_refuse_mismatched_rows():
    with pytest.raises(ValueError, match="shape"):
        accuracy(torch.zeros(4, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="y_true"):
        log_loss(torch.zeros(4, dtype=torch.long), torch.full((3, 2), 0.5))
