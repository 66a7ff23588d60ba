"""Divergence: a NaN/inf loss or gradient stops training at that step, before the update, with the
step and the last finite loss (the same as a plain torch loop sees them), a hint, the last good
checkpoint kept, and exit status 3."""

import math

import pytest
import torch
from torch import nn, optim

from nnscratch.data.synthetic import make_regression
from nnscratch.errors import DivergenceError
from nnscratch.loop import fit
from nnscratch.losses import mse_loss
from nnscratch.models import LinearRegression
from nnscratch.run import checkpoint
from nnscratch.run.cli import main

F64 = torch.float64


def torch_until_non_finite(X, y, lr, max_steps):
    """The oracle: a plain nn/optim loop; the 1-based step whose loss is not finite, the loss
    before it, and the parameters then."""
    torch.manual_seed(0)
    model = nn.Linear(X.shape[1], 1, dtype=F64)
    opt, last = optim.SGD(model.parameters(), lr=lr), None
    for step in range(1, max_steps + 1):
        loss = nn.MSELoss()(model(X), y)
        if not math.isfinite(loss.item()):
            return step, last, [p.detach().clone() for p in model.parameters()]
        loss.backward()
        opt.step()
        opt.zero_grad()
        last = loss.item()
    raise AssertionError("the oracle did not diverge")


def test_a_non_finite_loss_stops_at_the_step_torch_sees_it():
    data = make_regression(n_samples=40, features=2, noise=0.1, seed=0, dtype=F64)
    step, last, params = torch_until_non_finite(data.X, data.y, lr=5.0, max_steps=2000)
    torch.manual_seed(0)
    model = LinearRegression(2, dtype=F64)
    with pytest.raises(DivergenceError) as info:
        fit(model, data.X, data.y, lr=5.0, epochs=2000)
    assert info.value.step == step
    assert info.value.last_finite_loss == pytest.approx(last, rel=1e-9)
    assert f"step {step}" in str(info.value) and "the loss became" in str(info.value)
    for a, b in zip(model.parameters(), params, strict=True):  # the bad step was not applied
        torch.testing.assert_close(a.detach(), b, rtol=1e-9, atol=0)


def test_a_non_finite_gradient_with_a_finite_loss_stops_before_the_update():
    def loss_fn(y_pred, y):  # value: the MSE; gradient: NaN (d√|u|/du at u = 0 is 0·∞)
        return mse_loss(y_pred, y) + (y_pred - y_pred.detach()).abs().sqrt().sum()

    data = make_regression(n_samples=20, features=2, seed=1, dtype=F64)
    torch.manual_seed(0)
    model = LinearRegression(2, dtype=F64)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(DivergenceError, match=r"gradient norm became nan at epoch 1, step 1 "):
        fit(model, data.X, data.y, loss_fn=loss_fn, epochs=5)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before, strict=True))


def test_steps_count_across_epochs_and_from_start_step():
    data = make_regression(n_samples=40, features=2, seed=0, dtype=F64)
    errors = []
    for start_step in (0, 100):
        torch.manual_seed(0)
        model = LinearRegression(2, dtype=F64)
        gen = torch.Generator().manual_seed(0)
        with pytest.raises(DivergenceError) as info:  # 4 mini-batch steps per epoch
            fit(model, data.X, data.y, lr=5.0, epochs=2000, batch_size=10, generator=gen,
                start=(0, start_step))  # fmt: skip
        errors.append(info.value)
    assert errors[1].step == errors[0].step + 100
    assert errors[0].last_finite_loss == errors[1].last_finite_loss
    epoch = (errors[0].step - 1) // 4 + 1
    assert f"at epoch {epoch}, step {errors[0].step} " in str(errors[0])


def test_cli_divergence_exits_3_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    argv = ["train", "--lr", "5", "--epochs", "500", "--quiet", "--checkpoint-every", "4"]
    assert main([*argv, "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: training diverged: the loss became inf at epoch 19, step 19")
    assert "last finite loss: " in err and "try --lr 0.5 (checked:" in err
    assert f"the last good checkpoint (epoch 18) is in {tmp_path}" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    saved = checkpoint.load(tmp_path)
    assert saved.state.epoch == 18 and len(saved.state.records) == 18
    assert all(torch.isfinite(t).all() for t in saved.state.model.values())
    assert not (tmp_path / "summary.json").exists()  # the run did not finish


def test_cli_divergence_without_out_and_with_clipping(capsys):
    assert main(["train", "--lr", "5", "--epochs", "500", "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "diverged" in err and "checkpoint" not in err
    argv = ["train", "--lr", "1e30", "--epochs", "50", "--quiet", "--clip-grad-norm", "1"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "no smaller learning rate tried trains stably (1e+29, 1e+28," in err
