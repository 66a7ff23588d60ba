"""Layers, models and the module container next to nn.Linear / nn.Sequential / nn.Module."""

import pytest
import torch
from torch import nn

from nnscratch import Linear
from nnscratch.lab.verify.models import reference_mlp
from nnscratch.layers import Activation, Sequential
from nnscratch.models import MLP, LogisticRegression

F64 = torch.float64


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_linear_init_and_forward_match(bias, dtype):
    torch.manual_seed(3)
    mine = Linear(7, 4, bias=bias, dtype=dtype)
    torch.manual_seed(3)
    ref = nn.Linear(7, 4, bias=bias, dtype=dtype)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b.detach(), atol=0, rtol=0)
    x = torch.randn(5, 7, dtype=dtype)
    tol = 1e-14 if dtype == F64 else 1e-6
    torch.testing.assert_close(mine(x), ref(x), atol=tol, rtol=tol)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
def test_mlp_matches_nn_sequential_init_forward_and_gradients(activation):
    torch.manual_seed(11)
    mine = MLP(6, [8, 5], 3, activation=activation, dtype=F64)
    torch.manual_seed(11)
    ref = reference_mlp(6, [8, 5], 3, activation, dtype=F64)
    assert (
        list(mine.state_dict())
        == list(ref.state_dict())
        == [
            "0.weight",
            "0.bias",
            "2.weight",
            "2.bias",
            "4.weight",
            "4.bias",
        ]
    )
    for (name, a), b in zip(mine.state_dict().items(), ref.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=name)
    x = torch.randn(10, 6, dtype=F64)
    out_mine, out_ref = mine(x), ref(x)
    torch.testing.assert_close(out_mine, out_ref, atol=1e-13, rtol=1e-13)
    out_mine.square().sum().backward()
    out_ref.square().sum().backward()
    for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-12)


def test_logistic_regression_shapes():
    assert LogisticRegression(4, 2)(torch.zeros(3, 4)).shape == (3, 1)
    assert LogisticRegression(4, 5)(torch.zeros(3, 4)).shape == (3, 5)
    with pytest.raises(ValueError, match="num_classes"):
        LogisticRegression(4, 1)


def test_invalid_sizes_and_activation_raise():
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="unknown activation"):
        Activation("swish")


def test_state_dict_round_trip_keeps_parameters_as_the_same_leaves():
    torch.manual_seed(0)
    a = MLP(3, [4], 2)
    torch.manual_seed(1)
    b = MLP(3, [4], 2)
    ids = [id(p) for p in b.parameters()]
    b.load_state_dict(a.state_dict())
    assert [id(p) for p in b.parameters()] == ids
    assert all(p.is_leaf and p.requires_grad for p in b.parameters())
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(x, y)


def test_load_state_dict_errors_like_nn_module():
    torch.manual_seed(0)
    mine, ref = MLP(3, [4], 2), reference_mlp(3, [4], 2, "relu")
    bad = {k: v for k, v in MLP(3, [4], 2).state_dict().items() if k != "2.bias"}
    with pytest.raises(RuntimeError, match="Missing key|missing keys"):
        mine.load_state_dict(bad)
    with pytest.raises(RuntimeError, match="Missing key|missing keys"):
        ref.load_state_dict(bad)
    mine.load_state_dict(bad, strict=False)  # non-strict: loads what is there
    wrong = dict(MLP(3, [5], 2).state_dict())
    with pytest.raises(RuntimeError, match="size mismatch"):
        mine.load_state_dict(wrong)
    with pytest.raises(RuntimeError, match="size mismatch"):
        ref.load_state_dict(wrong)


def test_state_dict_shares_storage_like_nn_module():
    mine = Linear(2, 2)
    ref = nn.Linear(2, 2)
    for module in (mine, ref):
        sd = module.state_dict()
        assert sd["weight"].data_ptr() == module.weight.data_ptr()
        assert not sd["weight"].requires_grad


@pytest.mark.parametrize("set_to_none", [True, False])
def test_module_zero_grad_like_nn_module(set_to_none):
    torch.manual_seed(0)
    mine, ref = MLP(3, [4], 1), reference_mlp(3, [4], 1, "relu")
    x = torch.randn(5, 3)
    for m in (mine, ref):
        m(x).sum().backward()
        m.zero_grad(set_to_none=set_to_none)
    for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
        assert (a.grad is None) == (b.grad is None) == set_to_none
        if not set_to_none:
            assert torch.equal(a.grad, b.grad) and torch.equal(a.grad, torch.zeros_like(a))


def test_train_eval_propagate_like_nn_module():
    mine, ref = MLP(3, [4], 1), reference_mlp(3, [4], 1, "relu")
    for m in (mine, ref):
        assert m.training
        assert m.eval() is m
    assert [m.training for m in mine.modules()] == [m.training for m in ref.modules()]
    assert not any(m.training for m in mine.modules())
    mine.train()
    assert all(m.training for m in mine.modules())


def test_to_dtype_keeps_leaves():
    m = MLP(3, [4], 1).to(dtype=F64)
    assert all(p.dtype == F64 and p.is_leaf and p.requires_grad for p in m.parameters())


def test_sequential_indexing():
    s = Sequential(Linear(2, 3), Activation("relu"), Linear(3, 1))
    assert len(s) == 3 and isinstance(s[1], Activation)
    assert [n for n, _ in s.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
