"""Every practice exercise's reference is PyTorch's own numbers: the abstraction it replaces, the
same seed, float64, explicit tolerances (the checker compares learners with these references)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from nnscratch.lab.practice.exercises import (
    adam,
    attention,
    batchnorm,
    conv2d,
    five_steps,
    forward,
    minibatches,
    mlp_backward,
    mse,
    parameters,
    sgd_momentum,
)

TIGHT = {"rtol": 1e-12, "atol": 1e-12}
D = torch.float64


def randn(*shape):
    return torch.randn(*shape, dtype=D)


def test_parameters_are_nn_linears():
    for fan_in, fan_out in ((3, 2), (400, 20)):
        torch.manual_seed(0)
        w, b = parameters.make_parameters(fan_in, fan_out)
        torch.manual_seed(0)
        layer = torch.nn.Linear(fan_in, fan_out)
        assert w.shape == layer.weight.shape and b.shape == layer.bias.shape
        assert w.is_leaf and b.is_leaf and w.requires_grad and b.requires_grad
        assert w.dtype == layer.weight.dtype == torch.float32
        torch.testing.assert_close(w, layer.weight.detach(), rtol=0, atol=1e-6)
        torch.testing.assert_close(b, layer.bias.detach(), rtol=0, atol=1e-6)


def test_forward_and_mse_are_f_linear_and_mse_loss():
    x, w, b = randn(5, 4), randn(3, 4), randn(3)
    torch.testing.assert_close(forward.linear(x, w, b), F.linear(x, w, b), **TIGHT)
    pred, y = randn(6, 1), randn(6)
    expected = F.mse_loss(pred, y.reshape(6, 1))
    torch.testing.assert_close(mse.mse_loss(pred, y), expected, **TIGHT)
    with pytest.warns(UserWarning, match="broadcast"):  # the (N, N) mistake, as PyTorch warns
        F.mse_loss(pred, y)


def test_five_steps_is_optimizer_step_and_zero_grad():
    X, y = randn(8, 2), randn(8, 1)
    w, b = randn(1, 2).requires_grad_(), randn(1).requires_grad_()
    layer = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(b)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        loss = five_steps.train_step(w, b, X, y, 0.1)
        expected = torch.nn.MSELoss()(layer(X), y)
        expected.backward()
        opt.step()
        opt.zero_grad()
        assert loss == pytest.approx(expected.item(), rel=1e-12)
    torch.testing.assert_close(w.detach(), layer.weight.detach(), **TIGHT)
    torch.testing.assert_close(b.detach(), layer.bias.detach(), **TIGHT)


def test_sgd_momentum_and_adam_are_torch_optims_with_a_changing_lr():
    for name in ("sgd", "adam"):
        p, q = randn(5), None
        q = p.clone().requires_grad_()
        if name == "sgd":
            opt = torch.optim.SGD([q], lr=0.1, momentum=0.9)
        else:
            opt = torch.optim.Adam([q], lr=0.1, betas=(0.8, 0.99), eps=1e-2)
        buf, m, v = None, torch.zeros(5, dtype=D), torch.zeros(5, dtype=D)
        for t, lr in enumerate(sgd_momentum.LRS, 1):
            grad = 1e-2 * randn(5)
            opt.param_groups[0]["lr"] = lr
            q.grad = grad.clone()
            opt.step()
            if name == "sgd":
                buf = sgd_momentum.sgd_momentum_step(p, grad, buf, lr, 0.9)
            else:
                m, v = adam.adam_step(p, grad, m, v, t, lr, (0.8, 0.99), 1e-2)
            torch.testing.assert_close(p, q.detach(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_are_dataloaders_order_epoch_after_epoch(drop_last):
    for n, batch_size in ((10, 4), (12, 3)):
        g, h = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
        loader = DataLoader(range(n), batch_size, shuffle=True, generator=g, drop_last=drop_last)
        for _ in range(3):
            mine = minibatches.epoch_batches(n, batch_size, h, drop_last)
            theirs = list(loader)
            assert len(mine) == len(theirs)
            assert all(torch.equal(a, b) for a, b in zip(mine, theirs, strict=True))


def test_batchnorm_is_batchnorm1d_in_train_and_eval():
    layer = torch.nn.BatchNorm1d(3, eps=0.1, momentum=0.1).double()
    gamma, beta = randn(3), randn(3)
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
    mean, var = torch.zeros(3, dtype=D), torch.ones(3, dtype=D)
    for training in (True, True, False):
        x = 3 + 2 * randn(6, 3)
        layer.train(training)
        expected = layer(x).detach()
        got = batchnorm.batch_norm(x, gamma, beta, mean, var, training, 0.1, 0.1)
        torch.testing.assert_close(got, expected, **TIGHT)
        torch.testing.assert_close(mean, layer.running_mean, **TIGHT)
        torch.testing.assert_close(var, layer.running_var, **TIGHT)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 0), (2, 2)])
def test_conv2d_is_f_conv2d(stride, padding):
    x, weight, bias = randn(2, 3, 7, 6), randn(4, 3, 3, 2), randn(4)
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    torch.testing.assert_close(conv2d.conv2d(x, weight, bias, stride, padding), expected, **TIGHT)


def test_attention_is_scaled_dot_product_attention_causal():
    x, w_q, w_k, w_v = randn(2, 6, 5), randn(4, 5), randn(4, 5), randn(4, 5)
    q, k, v = x @ w_q.T, x @ w_k.T, x @ w_v.T
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    got = attention.causal_self_attention(x, w_q, w_k, w_v)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_mlp_backward_is_autograd_on_every_intermediate():
    x, t = randn(7, 3), torch.randint(0, 4, (7,))
    W1, b1, W2, b2 = (p.requires_grad_() for p in (randn(5, 3), randn(5), randn(4, 5), randn(4)))
    h = x @ W1.T + b1
    a = h.tanh()
    z = a @ W2.T + b2
    for tensor in (h, a, z):
        tensor.retain_grad()
    F.cross_entropy(z, t).backward()
    got = mlp_backward.mlp_backward(x, t, W1.detach(), b1.detach(), W2.detach(), b2.detach())
    expected = {"dz": z, "da": a, "dh": h, "dW1": W1, "db1": b1, "dW2": W2, "db2": b2}
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor.grad, rtol=1e-10, atol=1e-12)
    assert math.isfinite(got["dz"].sum().item())
