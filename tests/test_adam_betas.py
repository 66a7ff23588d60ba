"""`Adam`/`AdamW` take ``betas`` as one-element tensors of any shape and dtype, as
``torch.optim`` does: the same steps as ``torch.optim`` given the same tensors, and the same
refusals (mixed float/tensor, more than one element, out of [0, 1))."""

import pytest
import torch

from nnscratch.lab.verify.optim import Case, run_case
from nnscratch.optim import Adam, AdamW

F32, F64 = torch.float32, torch.float64
TOL = {F64: dict(rtol=1e-10, atol=1e-12), F32: dict(rtol=1e-5, atol=1e-5)}


def tensor_betas():
    return (torch.tensor([0.8], dtype=F32), torch.tensor([[0.95]], dtype=F64))


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_tensor_betas_take_the_same_steps_as_torch_optim(name, dtype, amsgrad):
    case = Case(name, dict(lr=1e-2, betas=tensor_betas(), amsgrad=amsgrad))
    mine, theirs = run_case(case, dtype, steps=20)
    for step, (m, t) in enumerate(zip(mine, theirs, strict=True)):
        for a, b in zip(m, t, strict=True):
            torch.testing.assert_close(a, b, **TOL[dtype], msg=lambda s, k=step: f"step {k}: {s}")


def test_tensor_betas_are_kept_as_0_dim_tensors_like_torch():
    p = torch.zeros(2, requires_grad=True)
    b1, b2 = Adam([p], betas=tensor_betas()).param_groups[0]["betas"]
    assert b1.shape == () and b2.shape == ()
    assert b1.item() == pytest.approx(0.8) and b2.item() == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("betas", "message"),
    [
        ((torch.tensor(0.9), 0.999), "either both floats or both Tensors"),
        ((torch.tensor([0.9, 0.8]), torch.tensor(0.999)), "betas[0] must be 1-element"),
        ((torch.tensor(0.9), torch.tensor([1.5])), "index 1"),
        ((0.9,), "a pair"),
    ],
)
@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_bad_betas_are_value_errors_as_in_torch(cls, betas, message):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cls([p], betas=betas)
