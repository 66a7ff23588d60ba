"""Every model family trained with ``backward="engine"`` (nnscratch.autograd) gives the
parameters of the torch.autograd path: one step and a short run, float64 to 1e-10 and float32
within float32 rounding; and ``train --backward engine`` end to end."""

import copy
import functools

import pytest
import torch

from nnscratch import losses as L
from nnscratch.loop import fit
from nnscratch.models import CNN, MLP, CharTransformer, LinearRegression, LogisticRegression
from nnscratch.models.transformer import next_token_loss
from nnscratch.optim import SGD, Adam
from nnscratch.steps import choose_step


def family(name, dtype):
    """(model, loss_fn, X, y) small enough for a test, one per model family."""
    torch.manual_seed(0)
    kw = {"dtype": dtype}
    if name == "linear":
        X = torch.randn(32, 1, **kw)
        return LinearRegression(1, **kw), L.mse_loss, X, 3 * X + 0.5
    if name == "logistic":
        X = torch.randn(32, 3, **kw)
        y = (X.sum(1, keepdim=True) > 0).to(dtype)
        return LogisticRegression(3, **kw), L.binary_cross_entropy_with_logits, X, y
    if name == "softmax":
        X = torch.randn(32, 3, **kw)
        y = torch.randint(0, 4, (32,))
        loss = functools.partial(L.cross_entropy, label_smoothing=0.1)
        return LogisticRegression(3, 4, **kw), loss, X, y
    if name == "mlp":
        X = torch.randn(32, 3, **kw)
        return MLP(3, [8, 8], 2, activation="tanh", **kw), L.huber_loss, X, torch.randn(32, 2, **kw)
    if name == "cnn":
        X = torch.randn(16, 64, **kw)
        return (
            CNN((1, 8, 8), (4, 6), 3, dropout=0.2, **kw),
            L.cross_entropy,
            X,
            torch.randint(0, 3, (16,)),
        )
    if name == "transformer":
        idx = torch.randint(0, 11, (4, 8))
        model = CharTransformer(11, 8, n_layer=2, n_head=2, n_embd=8, dropout=0.1, **kw)
        return model, next_token_loss, idx, torch.roll(idx, -1, dims=1)
    raise AssertionError(name)


FAMILIES = ["linear", "logistic", "softmax", "mlp", "cnn", "transformer"]


def assert_same_parameters(a, b, dtype):
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=tol, rtol=tol, msg=n)


@pytest.mark.parametrize("name", FAMILIES)
def test_one_step_equals_autograd(name):
    model, loss_fn, X, y = family(name, torch.float64)
    other = copy.deepcopy(model)
    losses = []
    for m, backward in ((model, "autograd"), (other, "engine")):
        torch.manual_seed(1)  # the same dropout masks
        step = choose_step(m, loss_fn, backward)
        loss, rows = step(X, y)
        losses.append(loss)
        for (n, p), (_, q) in zip(model.named_parameters(), m.named_parameters(), strict=True):
            assert q.grad is not None and q.grad.shape == p.shape, n
    for (n, p), (_, q) in zip(model.named_parameters(), other.named_parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-10, rtol=1e-10, msg=n)
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", FAMILIES)
def test_a_short_run_equals_autograd(name, dtype):
    model, loss_fn, X, y = family(name, dtype)
    other = copy.deepcopy(model)
    histories = []
    for m, backward in ((model, "autograd"), (other, "engine")):
        torch.manual_seed(2)
        # Adam turns float32 rounding noise in a zero gradient (the attention's key bias) into
        # steps of ±lr, so float32 runs use SGD
        adam = name in ("cnn", "transformer") and dtype == torch.float64
        optimizer = Adam(m.parameters(), lr=0.01) if adam else None
        lr = None if optimizer else 0.1
        histories.append(
            fit(m, X, y, loss_fn=loss_fn, optimizer=optimizer, lr=lr, epochs=3, batch_size=8,
                generator=torch.Generator().manual_seed(3), backward=backward)
        )  # fmt: skip
    assert_same_parameters(model, other, dtype)
    rel = 1e-10 if dtype == torch.float64 else 1e-5
    assert histories[0] == pytest.approx(histories[1], rel=rel)


def test_gradients_accumulate_into_the_real_parameters_like_backward():
    """Two engine steps without zero_grad add up in p.grad, the same tensor object."""
    model, loss_fn, X, y = family("mlp", torch.float64)
    reference = copy.deepcopy(model)
    step = choose_step(model, loss_fn, "engine")
    step(X, y)
    first = model.parameters().__next__().grad
    step(X, y)
    for _ in range(2):
        loss_fn(reference(X), y).backward()
    assert next(iter(model.parameters())).grad is first
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-12, rtol=0)
    assert all(p.requires_grad and isinstance(p, torch.Tensor) for p in model.parameters())


def test_train_backward_engine_equals_autograd():
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    config = TrainConfig(
        dtype="float64", data="builtin:iris", model="mlp", hidden="8", batch_size=16, epochs=3
    )
    a = train(prepare(config))
    b = train(prepare(TrainConfig(**{**config.to_dict(), "backward": "engine"})))
    assert_same_parameters(a.model, b.model, torch.float64)


def test_compile_is_refused_with_the_engine():
    from nnscratch.errors import UserError
    from nnscratch.run.config import TrainConfig

    with pytest.raises(UserError, match="drop --backward engine"):
        TrainConfig(backward="engine", compile=True).validate()


def test_sgd_update_after_an_engine_step_is_the_seed_update():
    model, loss_fn, X, y = family("linear", torch.float64)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    choose_step(model, loss_fn, "engine")(X, y)
    SGD(model.parameters(), lr=0.1).step()
    residual = X @ w0.T + b0 - y  # ∂L/∂w = 2/N Xᵀ(Xw + b − y)
    torch.testing.assert_close(model.weight, w0 - 0.1 * 2 * residual.T @ X / 32)
    torch.testing.assert_close(model.bias, b0 - 0.1 * 2 * residual.sum(0) / 32)
