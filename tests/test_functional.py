"""nnscratch.functional next to torch.relu / tanh / sigmoid / F.gelu / F.softmax / F.log_softmax."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nnscratch import functional as M

F64 = torch.float64
TOL = {"atol": 1e-12, "rtol": 1e-12}

ELEMENTWISE = [
    ("relu", M.relu, torch.relu),
    ("tanh", M.tanh, torch.tanh),
    ("sigmoid", M.sigmoid, torch.sigmoid),
    ("gelu", M.gelu, lambda x: F.gelu(x, approximate="none")),
    ("logsigmoid", M.logsigmoid, F.logsigmoid),
]
ALONG_DIM = [("softmax", M.softmax, F.softmax), ("log_softmax", M.log_softmax, F.log_softmax)]
IDS = [name for name, *_ in ELEMENTWISE]
EXTREMES = [-1000.0, -710.0, -40.0, -10.0, -1.0, -1e-10, 0.0, 1e-10, 1.0, 10.0, 40.0, 710.0, 1000.0]


def run_both(mine, ref, x, *args):
    """Values and input gradients (for a fixed random upstream gradient) of both functions."""
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = mine(a, *args), ref(b, *args)
    upstream = torch.randn(ya.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(1))
    ya.backward(upstream)
    yb.backward(upstream)
    return ya.detach(), yb.detach(), a.grad, b.grad


@pytest.mark.parametrize(("name", "mine", "ref"), ELEMENTWISE, ids=IDS)
def test_elementwise_value_and_gradient_on_extreme_inputs(name, mine, ref):
    x = torch.tensor(EXTREMES, dtype=F64)
    ya, yb, ga, gb = run_both(mine, ref, x)
    assert torch.isfinite(ya).all() and torch.isfinite(ga).all(), name
    torch.testing.assert_close(ya, yb, **TOL)
    torch.testing.assert_close(ga, gb, **TOL)


@pytest.mark.parametrize(("name", "mine", "ref"), ELEMENTWISE, ids=IDS)
def test_elementwise_float32_like_users_run_it(name, mine, ref):
    x = torch.randn(64, 8) * 6
    ya, yb, ga, gb = run_both(mine, ref, x)
    assert ya.dtype == torch.float32
    torch.testing.assert_close(ya, yb, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ga, gb, atol=1e-6, rtol=1e-5)


def test_relu_gradient_at_the_kink_is_zero_like_torch():
    ya, yb, ga, gb = run_both(M.relu, torch.relu, torch.tensor([0.0, -0.0], dtype=F64))
    assert ga.tolist() == gb.tolist() == [0.0, 0.0]


def test_relu_passes_nan_through_like_torch():
    assert torch.isnan(M.relu(torch.tensor([float("nan")]))).all()


def test_tanh_keeps_relative_precision_for_tiny_inputs():
    x = torch.tensor([1e-12, -3e-15, 1e-300], dtype=F64)
    torch.testing.assert_close(M.tanh(x), torch.tanh(x), atol=0, rtol=1e-15)


@pytest.mark.parametrize(("name", "mine", "ref"), ALONG_DIM, ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_on_huge_logits(name, mine, ref, dim):
    x = torch.tensor([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0], [-1000.0, -1000.0, 5.0]], dtype=F64)
    ya, yb, ga, gb = run_both(mine, ref, x, dim)
    assert torch.isfinite(ya).all() and torch.isfinite(ga).all()
    torch.testing.assert_close(ya, yb, **TOL)
    torch.testing.assert_close(ga, gb, **TOL)


def test_softmax_default_dim_is_last():
    x = torch.randn(3, 4, dtype=F64)
    torch.testing.assert_close(M.softmax(x), F.softmax(x, dim=-1), **TOL)
    torch.testing.assert_close(M.log_softmax(x), F.log_softmax(x, dim=-1), **TOL)


finite = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False, width=64)
tensors = arrays(
    dtype="float64", shape=array_shapes(min_dims=1, max_dims=3, max_side=6), elements=finite
)


@settings(max_examples=40, deadline=None)
@given(x=tensors, which=st.sampled_from(ELEMENTWISE))
def test_elementwise_match_torch_on_generated_inputs(x, which):
    name, mine, ref = which
    ya, yb, ga, gb = run_both(mine, ref, torch.from_numpy(x))
    torch.testing.assert_close(ya, yb, **TOL, msg=name)
    torch.testing.assert_close(ga, gb, **TOL, msg=name)


@settings(max_examples=40, deadline=None)
@given(x=tensors, which=st.sampled_from(ALONG_DIM), data=st.data())
def test_softmax_family_match_torch_on_generated_inputs(x, which, data):
    name, mine, ref = which
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    ya, yb, ga, gb = run_both(mine, ref, torch.from_numpy(x), dim)
    torch.testing.assert_close(ya, yb, **TOL, msg=name)
    torch.testing.assert_close(ga, gb, **TOL, msg=name)


@pytest.mark.parametrize(("name", "mine", "ref"), ELEMENTWISE + ALONG_DIM, ids=IDS + ["sm", "lsm"])
def test_gradcheck(name, mine, ref):
    x = torch.randn(4, 5, dtype=F64) * 3
    x = torch.where(x.abs() < 0.1, x + 0.5, x)  # away from relu's kink at 0
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(mine, (x,))
    assert torch.autograd.gradgradcheck(mine, (x,))


def test_written_without_the_torch_function_of_the_same_name(monkeypatch):
    def banned(*args, **kwargs):
        raise AssertionError("called the PyTorch function it replaces")

    for module, attr in [
        (torch, "relu"),
        (torch, "tanh"),
        (torch, "sigmoid"),
        (torch, "softmax"),
        (torch, "log_softmax"),
        (torch.special, "expit"),
        (F, "gelu"),
        (F, "softmax"),
        (F, "log_softmax"),
        (F, "logsigmoid"),
    ]:
        monkeypatch.setattr(module, attr, banned)
    x = torch.randn(3, 4, dtype=F64)
    for _, mine, _ in ELEMENTWISE + ALONG_DIM:
        mine(x)


def test_verify_rows_for_the_activations_all_pass(verify_rows):
    from nnscratch.lab.verify import functional as rows_module

    rows = verify_rows("functional")
    assert len(rows) == 2 * len(rows_module.ACTIVATIONS)
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]
