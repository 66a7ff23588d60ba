"""LinearStep (backprop/linear_step.py): the buffered hand-derived step equals autograd."""

from __future__ import annotations

import pytest
import torch

from nnscratch.backprop.linear_step import DOT_ROWS, LinearStep, supports
from nnscratch.layers import Linear
from nnscratch.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from nnscratch.models import LinearRegression, LogisticRegression


def data(n, f, o, kind, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, f, generator=g, dtype=dtype)
    if kind == "bce":
        y = torch.randint(0, 2, (n, o), generator=g).to(dtype)
    else:
        y = torch.randn(n, o, generator=g, dtype=dtype)
    return X, y


def autograd_reference(layer, loss_fn, X, y):
    for p in layer.parameters():
        p.grad = None
    loss = loss_fn(layer(X), y)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in layer.parameters()]


@pytest.mark.parametrize(
    ("loss_fn", "kind", "out", "bias"),
    [
        (mse_loss, "mse", 1, True),
        (mse_loss, "mse", 3, True),
        (mse_loss, "mse", 2, False),
        (mse_loss, "mse", 1, False),
        (binary_cross_entropy_with_logits, "bce", 1, True),
        (binary_cross_entropy_with_logits, "bce", 3, True),
        (binary_cross_entropy_with_logits, "bce", 1, False),
    ],
)
@pytest.mark.parametrize(("n", "features"), [(50, 4), (50, 1), (DOT_ROWS + 3, 1)])
def test_loss_and_gradients_equal_autograd_float64(loss_fn, kind, out, bias, n, features):
    X, y = data(n, features, out, kind)
    torch.manual_seed(0)
    layer = Linear(features, out, bias=bias, dtype=torch.float64)
    ref_loss, ref_grads = autograd_reference(layer, loss_fn, X, y)
    for p in layer.parameters():
        p.grad = None
    loss = LinearStep(layer, loss_fn)(X, y)
    assert loss.shape == ()
    torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=1e-12)
    for p, g in zip(layer.parameters(), ref_grads, strict=True):
        torch.testing.assert_close(p.grad, g, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(
    ("model", "loss_fn", "kind"),
    [
        (LinearRegression, mse_loss, "mse"),
        (LogisticRegression, binary_cross_entropy_with_logits, "bce"),
    ],
)
def test_a_training_run_equals_autograd_steps_float32(model, loss_fn, kind):
    X, y = data(100, 3, 1, kind, torch.float32)
    torch.manual_seed(1)
    fast, plain = model(3), model(3)
    plain.load_state_dict(fast.state_dict())
    step = LinearStep(fast, loss_fn)
    for _ in range(50):
        loss = step(X, y)
        ref = loss_fn(plain(X), y)
        ref.backward()
        torch.testing.assert_close(loss, ref.detach(), atol=1e-6, rtol=1e-5)
        with torch.no_grad():
            for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
                p.add_(p.grad, alpha=-0.1)
                q.add_(q.grad, alpha=-0.1)
                p.grad = q.grad = None
    for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5)


def test_without_a_reset_gradients_accumulate_as_autograd_does():
    X, y = data(20, 2, 1, "mse")
    torch.manual_seed(0)
    layer = LinearRegression(2, dtype=torch.float64)
    step = LinearStep(layer, mse_loss)
    step(X, y)
    first = [p.grad.clone() for p in layer.parameters()]
    step(X, y)  # no zero_grad: the second gradient adds to the first
    for p, g in zip(layer.parameters(), first, strict=True):
        torch.testing.assert_close(p.grad, 2 * g, atol=1e-12, rtol=1e-12)


def test_a_new_batch_shape_gets_new_buffers():
    torch.manual_seed(0)
    layer = LinearRegression(2, dtype=torch.float64)
    step = LinearStep(layer, mse_loss)
    for n in (10, 7):
        X, y = data(n, 2, 1, "mse", seed=n)
        layer.weight.grad = layer.bias.grad = None
        loss = step(X, y)
        ref_loss, ref_grads = autograd_reference(layer, mse_loss, X, y)
        torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=1e-12)


def test_gradcheck_of_the_hand_derived_gradient():
    X, y = data(8, 3, 1, "mse")

    class Step(torch.autograd.Function):
        @staticmethod
        def forward(ctx, W, b):
            layer = Linear(3, 1, dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(W)
                layer.bias.copy_(b)
            loss = LinearStep(layer, mse_loss)(X, y).clone()
            ctx.grads = (layer.weight.grad.clone(), layer.bias.grad.clone())
            return loss

        @staticmethod
        def backward(ctx, grad_out):
            return tuple(grad_out * g for g in ctx.grads)

    W = torch.randn(1, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Step.apply, (W, b))


def test_supports_only_plain_linear_layers_with_its_two_losses():
    assert supports(LinearRegression(2), mse_loss)
    assert supports(LogisticRegression(2), binary_cross_entropy_with_logits)
    assert not supports(LogisticRegression(2, num_classes=3), cross_entropy)
    with pytest.raises(ValueError, match="mse_loss or bce_with_logits"):
        LinearStep(LinearRegression(2), cross_entropy)


def test_data_that_requires_grad_is_read_as_data():
    X, y = data(30, 2, 1, "mse")
    torch.manual_seed(0)
    layer = LinearRegression(2, dtype=torch.float64)
    ref_loss, ref_grads = autograd_reference(layer, mse_loss, X, y)
    for p in layer.parameters():
        p.grad = None
    loss = LinearStep(layer, mse_loss)(X.requires_grad_(), y)
    torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=1e-12)
    assert X.grad is None and not loss.requires_grad


def test_a_replaced_parameter_is_followed_not_the_old_one():
    X, y = data(30, 2, 1, "mse")
    torch.manual_seed(0)
    layer = LinearRegression(2, dtype=torch.float64)
    step = LinearStep(layer, mse_loss)
    step(X, y)
    layer.weight = torch.randn(1, 2, dtype=torch.float64, requires_grad=True)  # a new tensor
    layer.bias.grad = None
    loss = step(X, y).clone()
    grads = [p.grad.clone() for p in layer.parameters()]
    ref_loss, ref_grads = autograd_reference(layer, mse_loss, X, y)
    torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=1e-12)
    for g, ref in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, ref, atol=1e-12, rtol=1e-12)
