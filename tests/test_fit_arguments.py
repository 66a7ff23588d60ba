"""`fit` refuses arguments that cannot train with a `ValueError` that says what is wrong,
instead of a ZeroDivisionError after the first epoch or gradients flipped by a negative norm."""

import math

import pytest
import torch

from nnscratch import fit
from nnscratch.models import LinearRegression


def test_fit_on_empty_data_is_a_value_error_that_says_so():
    model = LinearRegression(2)
    X, y = torch.zeros(0, 2), torch.zeros(0, 1)
    with pytest.raises(ValueError, match="at least one training row, got X with 0 rows"):
        fit(model, X, y, epochs=3)


@pytest.mark.parametrize("max_norm", [-1.0, -1e-12, math.nan])
def test_fit_with_a_negative_clip_grad_norm_is_a_value_error(max_norm):
    model = LinearRegression(2)
    X, y = torch.ones(4, 2), torch.ones(4, 1)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=f"clip_grad_norm must be >= 0.*got {max_norm}"):
        fit(model, X, y, epochs=3, clip_grad_norm=max_norm)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
