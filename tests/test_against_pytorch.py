"""The foundation pieces next to their PyTorch abstractions, same seed, same data."""

import pytest
import torch
from torch import nn

from nnscratch import LinearRegression
from nnscratch.data import make_regression
from nnscratch.lab.verify.linear import manual_trajectory, pair, reference_trajectory
from nnscratch.losses import mse_loss


@pytest.mark.parametrize("in_features", [1, 3, 17])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_init_matches_nn_linear_bit_for_bit(in_features, dtype):
    manual, reference = pair(in_features, seed=123, dtype=dtype)
    assert manual.weight.shape == reference.weight.shape == (1, in_features)
    assert manual.bias.shape == reference.bias.shape == (1,)
    assert manual.weight.dtype == dtype
    torch.testing.assert_close(manual.weight, reference.weight.detach(), atol=0, rtol=0)
    torch.testing.assert_close(manual.bias, reference.bias.detach(), atol=0, rtol=0)


def test_state_dict_keys_match_nn_linear():
    manual, reference = pair(4)
    assert list(manual.state_dict()) == list(reference.state_dict())


def test_forward_matches_nn_linear():
    manual, reference = pair(5, seed=3)
    X = torch.randn(20, 5, dtype=torch.float64)
    torch.testing.assert_close(manual(X), reference(X), atol=1e-14, rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_value_and_gradient_match(reduction):
    a = torch.randn(30, 1, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    y = torch.randn(30, 1, dtype=torch.float64)
    mine, theirs = mse_loss(a, y, reduction=reduction), nn.MSELoss(reduction=reduction)(b, y)
    torch.testing.assert_close(mine, theirs, atol=1e-14, rtol=1e-14)
    mine.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-14, rtol=1e-14)


def test_mse_loss_refuses_broadcasting_shapes():
    with pytest.raises(ValueError, match="reshape the target"):
        mse_loss(torch.zeros(4, 1), torch.zeros(4))


def test_mse_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction"):
        mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


@pytest.mark.parametrize("features", [1, 4])
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_100_step_trajectory_equals_nn_optim_at_every_step(features, dtype, tol):
    manual, reference = pair(features, seed=7, dtype=dtype)
    data = make_regression(n_samples=80, features=features, noise=0.5, seed=8, dtype=dtype)
    mine = manual_trajectory(manual, data.X, data.y, lr=0.05, steps=100)
    theirs = reference_trajectory(reference, data.X, data.y, lr=0.05, steps=100)
    assert len(mine) == len(theirs) == 100
    for step, (m, t) in enumerate(zip(mine, theirs, strict=True)):
        for a, b in zip(m, t, strict=True):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol, msg=f"step {step + 1}")


def test_linear_regression_draws_from_a_generator_like_nn_init():
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    manual = LinearRegression(3, generator=g1)
    reference = nn.Linear(3, 1)
    with torch.no_grad():
        nn.init.kaiming_uniform_(reference.weight, a=5**0.5, generator=g2)
        nn.init.uniform_(reference.bias, -(3**-0.5), 3**-0.5, generator=g2)
    torch.testing.assert_close(manual.weight, reference.weight.detach(), atol=0, rtol=0)
    torch.testing.assert_close(manual.bias, reference.bias.detach(), atol=0, rtol=0)
