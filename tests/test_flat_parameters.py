"""FlatParameters (optim/flat.py): one flat buffer, the same numbers as the per-tensor form."""

from __future__ import annotations

import pytest
import torch

import nnscratch
from nnscratch.losses import mse_loss
from nnscratch.models import MLP
from nnscratch.optim import SGD, Adam, AdamW, RMSprop
from nnscratch.optim.flat import FlatParameters

X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
Y = torch.randn(64, 1, generator=torch.Generator().manual_seed(1))

OPTIMIZERS = [
    (Adam, {"lr": 1e-2}),
    (Adam, {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    (AdamW, {"lr": 1e-2, "weight_decay": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (RMSprop, {"lr": 1e-3, "centered": True, "momentum": 0.5}),
]


def pair(dtype=torch.float32):
    torch.manual_seed(0)
    a = MLP(5, [16, 8], 1, dtype=dtype)
    torch.manual_seed(0)
    b = MLP(5, [16, 8], 1, dtype=dtype)
    return a, b


def train(model, optimizer, steps=30):
    for _ in range(steps):
        loss = mse_loss(model(X.to(model.layers[0].weight.dtype)), Y.to(X.dtype))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS)
def test_flat_optimizer_gives_the_per_tensor_numbers_bit_for_bit(cls, kwargs):
    per_tensor, flat_model = pair()
    flat = FlatParameters(flat_model.parameters())
    train(per_tensor, cls(per_tensor.parameters(), **kwargs))
    train(flat_model, cls([flat.param], **kwargs))
    for p, q in zip(per_tensor.parameters(), flat_model.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=0, rtol=0)


def test_flat_adam_equals_torch_fused_adam_float32():
    model, _ = pair()
    ref = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 1),
    )  # fmt: skip
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters(), strict=True):
            q.copy_(p)
    flat = FlatParameters(model.parameters())
    opt, ref_opt = Adam([flat.param], lr=1e-2), torch.optim.Adam(ref.parameters(), 1e-2, fused=True)
    for _ in range(30):
        for m, o in ((model, opt), (ref, ref_opt)):
            torch.nn.functional.mse_loss(m(X), Y).backward()
            o.step()
            o.zero_grad()
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5)


def test_parameters_stay_leaves_whose_values_and_grads_live_in_the_buffers():
    model, _ = pair()
    flat = FlatParameters(model.parameters())
    for p in model.parameters():
        assert p.is_leaf and p.requires_grad
    mse_loss(model(X), Y).backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    torch.testing.assert_close(flat.param.grad, grads, atol=0, rtol=0)
    with torch.no_grad():
        flat.param.zero_()
    assert all(bool((p == 0).all()) for p in model.parameters())


def test_zero_grad_keeps_the_flat_gradient_and_zeroes_it():
    model, _ = pair()
    flat = FlatParameters(model.parameters())
    opt = SGD([flat.param], lr=0.1)
    mse_loss(model(X), Y).backward()
    buffer = flat.param.grad
    opt.zero_grad()  # set_to_none=True by default: the flat buffer is kept all the same
    assert flat.param.grad is buffer and bool((buffer == 0).all())
    flat.check()
    model.zero_grad()  # the model's own reset drops the views: check() says so
    with pytest.raises(RuntimeError, match="no longer points into the flat buffer"):
        flat.check()


def test_fit_trains_with_a_flat_optimizer_like_the_per_tensor_one():
    per_tensor, flat_model = pair()
    flat = FlatParameters(flat_model.parameters())
    h1 = nnscratch.fit(per_tensor, X, Y, optimizer=Adam(per_tensor.parameters(), lr=1e-2), epochs=5,
                       batch_size=16, generator=torch.Generator().manual_seed(0))  # fmt: skip
    h2 = nnscratch.fit(flat_model, X, Y, optimizer=Adam([flat.param], lr=1e-2), epochs=5,
                       batch_size=16, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert h1 == h2


def test_mixed_dtypes_and_empty_parameter_lists_are_refused():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="one dtype"):
        FlatParameters([a, b])
    with pytest.raises(ValueError, match="at least one parameter"):
        FlatParameters([])


def _trained_parameters(tmp_path, name, *extra):
    from safetensors.torch import load_file

    from nnscratch.run.cli import main

    out = tmp_path / name
    args = ["train", "--data", "builtin:iris", "--model", "mlp", "--hidden", "8",
            "--optimizer", "adam", "--batch-size", "16", "--epochs", "4", "--quiet",
            "--out", str(out), *extra]  # fmt: skip
    assert main(args) == 0
    return load_file(out / "checkpoint" / "model.safetensors")


def test_train_flat_parameters_gives_the_same_parameters(tmp_path):
    plain = _trained_parameters(tmp_path, "plain")
    flat = _trained_parameters(tmp_path, "flat", "--flat-parameters")
    assert plain.keys() == flat.keys()
    for k in plain:
        torch.testing.assert_close(flat[k], plain[k], atol=0, rtol=0)
