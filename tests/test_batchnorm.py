"""BatchNorm1d / BatchNorm2d next to torch.nn: batch statistics in training, running mean and
*unbiased* running variance with PyTorch's momentum (and momentum=None), running statistics in
eval, buffers in the state dict; float64 tight and float32."""

import pytest
import torch
from torch import nn

from nnscratch.layers import BatchNorm1d, BatchNorm2d
from nnscratch.models import MLP

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-12, F32: 1e-5}
SHAPES = {BatchNorm1d: [(8, 4), (8, 4, 5)], BatchNorm2d: [(6, 4, 3, 5)]}
TORCH = {BatchNorm1d: nn.BatchNorm1d, BatchNorm2d: nn.BatchNorm2d}
CASES = [(cls, shape) for cls, shapes in SHAPES.items() for shape in shapes]


def pair(cls, dtype, **kw):
    return cls(4, dtype=dtype, **kw), TORCH[cls](4, dtype=dtype, **kw)


def step(layer, x, g, plain=False):
    """One forward/backward; returns output, ∂L/∂x and ∂L/∂params (L = Σ y ⊙ g)."""
    x = x.detach().clone().requires_grad_(True)
    y = layer.plain_forward(x) if plain else layer(x)
    params = list(layer.parameters())
    grads = torch.autograd.grad((y * g).sum(), [x, *params])
    return [y, *grads]


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("momentum", [0.1, None, 0.3])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("plain", [False, True], ids=["torch.batch_norm", "plain_forward"])
def test_batchnorm_training_steps_then_eval_match_nn(cls, shape, momentum, affine, dtype, plain):
    mine, ref = pair(cls, dtype, momentum=momentum, affine=affine)
    assert list(mine.state_dict()) == list(ref.state_dict())
    tol = TOL[dtype]
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):  # three training batches with different statistics
        x = torch.randn(shape, dtype=dtype, generator=gen) * 2 + 0.5
        g = torch.randn(shape, dtype=dtype, generator=gen)
        for a, b in zip(step(mine, x, g, plain), step(ref, x, g), strict=True):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)
        for (name, a), b in zip(mine.state_dict().items(), ref.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol, msg=name)
    assert mine.num_batches_tracked.item() == 3 and mine.num_batches_tracked.dtype == torch.long
    mine.eval()
    ref.eval()
    x = torch.randn(shape, dtype=dtype, generator=gen)
    g = torch.randn(shape, dtype=dtype, generator=gen)
    for a, b in zip(step(mine, x, g, plain), step(ref, x, g), strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    assert mine.num_batches_tracked.item() == 3  # eval leaves the running statistics alone


def test_running_variance_is_the_unbiased_one():
    x = torch.tensor([[1.0], [2.0], [4.0]], dtype=F64)
    for forward in ("forward", "plain_forward"):
        bn = BatchNorm1d(1, momentum=1.0, dtype=F64)  # running ← the batch's statistics
        getattr(bn, forward)(x)
        assert bn.running_var.item() == pytest.approx(x.var(unbiased=True).item(), abs=1e-15)
        assert bn.running_mean.item() == pytest.approx(7 / 3, abs=1e-15)


@pytest.mark.parametrize("cls, shape", CASES)
def test_without_running_stats_batch_statistics_are_used_in_eval_too(cls, shape):
    mine, ref = pair(cls, F64, track_running_stats=False)
    assert list(mine.state_dict()) == list(ref.state_dict()) == ["weight", "bias"]
    mine.eval()
    ref.eval()
    x = torch.randn(shape, dtype=F64)
    torch.testing.assert_close(mine(x), ref(x), atol=1e-12, rtol=1e-12)


def test_eval_output_is_deterministic_and_differs_from_training():
    bn = BatchNorm2d(4)
    x = torch.randn(6, 4, 3, 3) * 3 + 2
    train_out = bn(x)
    bn.eval()
    assert not torch.allclose(train_out, bn(x))
    torch.testing.assert_close(bn(x), bn(x), atol=0, rtol=0)


def test_state_dict_round_trips_through_torch_nn_with_buffers():
    mine, ref = pair(BatchNorm2d, F64)
    for _ in range(2):
        mine(torch.randn(5, 4, 3, 3, dtype=F64) + 1)
    ref.load_state_dict(mine.state_dict())
    back = BatchNorm2d(4, dtype=F64)
    back.load_state_dict({k: v.clone() for k, v in ref.state_dict().items()})
    for (name, a), b in zip(back.state_dict().items(), mine.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=name)
    assert back.num_batches_tracked.item() == 2


def test_to_dtype_casts_floating_buffers_only():
    bn = BatchNorm1d(3).to(dtype=F64)
    assert bn.running_mean.dtype == F64 and bn.running_var.dtype == F64
    assert bn.num_batches_tracked.dtype == torch.long
    assert bn.weight.is_leaf and bn.weight.requires_grad


def test_train_and_eval_reach_nested_layers_and_models_without_buffers_keep_their_keys():
    from nnscratch.layers import Sequential

    model = Sequential(BatchNorm1d(3), Sequential(BatchNorm1d(3)))
    model.eval()
    assert all(not m.training for m in model.modules())
    assert list(model.state_dict())[:5] == [
        "0.weight",
        "0.bias",
        "0.running_mean",
        "0.running_var",
        "0.num_batches_tracked",
    ]
    assert list(MLP(2, [3], 1).state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_bad_input_shapes_and_single_values_are_refused_as_torch_does():
    with pytest.raises(ValueError, match="expected 4D input"):
        BatchNorm2d(3)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        BatchNorm1d(3)(torch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3).plain_forward(torch.randn(1, 3))
    assert BatchNorm1d(3).eval()(torch.randn(1, 3)).shape == (1, 3)  # eval: running statistics
