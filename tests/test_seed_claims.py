"""Each claim of the seed document, made checkable."""

import pytest
import torch

from nnscratch import LinearRegression
from nnscratch.data import make_regression
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD

F64 = torch.float64


@pytest.fixture
def setup():
    data = make_regression(n_samples=50, features=2, noise=0.3, seed=4, dtype=F64)
    model = LinearRegression(2, dtype=F64)
    return model, data.X, data.y


def test_parameters_are_leaves_that_require_grad(setup):
    model, _, _ = setup
    for p in (model.w, model.b):
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert model.w.shape == (1, 2) and model.b.shape == (1,)


def test_forward_and_loss_compute_no_gradient(setup):
    model, X, y = setup
    loss = mse_loss(model(X), y)
    assert loss.grad_fn is not None  # the graph exists...
    assert model.w.grad is None and model.b.grad is None  # ...but no gradient yet


def test_backward_fills_analytic_gradients_and_leaves_parameters_unchanged(setup):
    model, X, y = setup
    before = [p.detach().clone() for p in model.parameters()]
    y_pred = model(X)
    mse_loss(y_pred, y).backward()
    for p, b in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, b)
    residual = (y_pred - y).detach()  # (N, 1)
    n = X.shape[0]
    grad_w = 2 / n * (residual * X).sum(dim=0, keepdim=True)  # 2/N·Σ(ŷ−y)·x
    grad_b = 2 / n * residual.sum(dim=0)  # 2/N·Σ(ŷ−y)
    torch.testing.assert_close(model.w.grad, grad_w, atol=1e-13, rtol=1e-13)
    torch.testing.assert_close(model.b.grad, grad_b, atol=1e-13, rtol=1e-13)


def test_model_and_loss_pass_gradcheck(setup):
    model, X, y = setup
    w = model.w.detach().clone().requires_grad_(True)
    b = model.b.detach().clone().requires_grad_(True)

    def f(w, b):
        model_pred = X @ w.T + b
        return mse_loss(model_pred, y)

    assert torch.autograd.gradcheck(f, (w, b))
    assert torch.autograd.gradgradcheck(f, (w, b))


def test_update_is_in_place_and_parameters_stay_leaves(setup):
    model, X, y = setup
    storage = [p.untyped_storage().data_ptr() for p in model.parameters()]
    ids = [id(p) for p in model.parameters()]
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = SGD(model.parameters(), lr=0.1)
    mse_loss(model(X), y).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    optimizer.step()
    for p, s, i, b, g in zip(model.parameters(), storage, ids, before, grads, strict=True):
        assert p.untyped_storage().data_ptr() == s and id(p) == i
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
        # p ← p − lr·g, rounded as torch.optim.SGD rounds it (lr·g not rounded on its own) ...
        torch.testing.assert_close(p.detach(), b.add(g, alpha=-0.1), atol=0, rtol=0)
        # ... which is the seed's ``p -= lr * p.grad`` up to the last bit
        torch.testing.assert_close(
            p.detach(), b - 0.1 * g, atol=0, rtol=4 * torch.finfo(b.dtype).eps
        )


def test_without_reset_gradients_accumulate(setup):
    model, X, y = setup
    mse_loss(model(X), y).backward()
    first = [p.grad.clone() for p in model.parameters()]
    mse_loss(model(X), y).backward()  # same graph inputs, no reset in between
    for p, g in zip(model.parameters(), first, strict=True):
        torch.testing.assert_close(p.grad, 2 * g, atol=0, rtol=0)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_reset_clears_gradients_both_ways(setup, set_to_none):
    model, X, y = setup
    optimizer = SGD(model.parameters(), lr=0.1)
    mse_loss(model(X), y).backward()
    optimizer.zero_grad(set_to_none=set_to_none)
    for p in model.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert torch.equal(p.grad, torch.zeros_like(p))
    # after the reset, one backward gives exactly one gradient, not a sum
    mse_loss(model(X), y).backward()
    once = [p.grad.clone() for p in model.parameters()]
    optimizer.zero_grad(set_to_none=set_to_none)
    mse_loss(model(X), y).backward()
    for p, g in zip(model.parameters(), once, strict=True):
        torch.testing.assert_close(p.grad, g, atol=0, rtol=0)


def test_module_zero_grad_matches_optimizer_zero_grad(setup):
    model, X, y = setup
    mse_loss(model(X), y).backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
