"""clip_grad_norm_ equals torch.nn.utils.clip_grad_norm_ (norm returned, gradients clipped), alone
and inside fit; the verify rows pass."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn, optim

from nnscratch.clip import clip_grad_norm_, get_total_norm
from nnscratch.data.synthetic import make_regression
from nnscratch.loop import fit
from nnscratch.models import LinearRegression

SHAPES = st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=4)


def leaves(shapes, scale, dtype, seed=0, with_grad=None):
    g = torch.Generator().manual_seed(seed)
    mine, theirs = [], []
    for i, shape in enumerate(shapes):
        value = torch.randn(shape, generator=g, dtype=dtype)
        grad = scale * torch.randn(shape, generator=g, dtype=dtype)
        for out in (mine, theirs):
            p = value.clone().requires_grad_(True)
            if with_grad is None or with_grad[i]:
                p.grad = grad.clone()
            out.append(p)
    return mine, theirs


def check(mine, theirs, max_norm, norm_type, tol):
    a = clip_grad_norm_(mine, max_norm, norm_type=norm_type)
    b = nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    torch.testing.assert_close(a, b, atol=tol, rtol=tol, equal_nan=True)
    for p, q in zip(mine, theirs, strict=True):
        if q.grad is None:
            assert p.grad is None
        else:
            torch.testing.assert_close(p.grad, q.grad, atol=tol, rtol=tol, equal_nan=True)
    return a


@settings(max_examples=40, deadline=None)
@given(
    shapes=SHAPES,
    scale=st.floats(1e-3, 1e3),
    max_norm=st.floats(1e-3, 1e2),
    norm_type=st.sampled_from([2.0, 1.0, 3.0, math.inf]),
)
def test_matches_torch_float64(shapes, scale, max_norm, norm_type):
    mine, theirs = leaves(shapes, scale, torch.float64)
    check(mine, theirs, max_norm, norm_type, tol=1e-12)


@pytest.mark.parametrize("scale", [0.01, 100.0])
def test_matches_torch_float32(scale):
    mine, theirs = leaves([(8, 5), (5,), (1, 8)], scale, torch.float32)
    check(mine, theirs, 1.0, 2.0, tol=1e-6)


def test_clipping_caps_the_norm_and_keeps_the_direction():
    mine, _ = leaves([(10,), (3, 3)], 50.0, torch.float64)
    before = torch.cat([p.grad.flatten() for p in mine])  # (19,)
    norm = clip_grad_norm_(mine, 2.0)
    after = torch.cat([p.grad.flatten() for p in mine])
    assert norm.item() == pytest.approx(before.norm().item(), rel=1e-12)  # the norm *before*
    assert after.norm().item() == pytest.approx(2.0, rel=1e-6)
    torch.testing.assert_close(after / after.norm(), before / before.norm(), atol=1e-12, rtol=0)


def test_parameters_without_gradients_and_empty_lists():
    mine, theirs = leaves([(3,), (2, 2), (4,)], 5.0, torch.float64, with_grad=[True, False, True])
    check(mine, theirs, 1.0, 2.0, tol=1e-12)
    assert clip_grad_norm_([], 1.0).item() == nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    assert get_total_norm([]).item() == 0.0


def test_non_finite_gradients_behave_like_torch():
    for bad in (math.nan, math.inf):
        mine, theirs = leaves([(3,), (2,)], 1.0, torch.float64)
        mine[0].grad[1] = theirs[0].grad[1] = bad
        assert not math.isfinite(check(mine, theirs, 1.0, 2.0, tol=1e-12).item())
        with pytest.raises(RuntimeError, match="non-finite"):
            clip_grad_norm_(mine, 1.0, error_if_nonfinite=True)
        with pytest.raises(RuntimeError, match="non-finite"):
            nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)


def test_fit_with_clipping_equals_the_torch_loop_and_clipping_matters():
    data = make_regression(n_samples=50, features=3, noise=0.1, seed=1, dtype=torch.float64)
    runs = {}
    for clip in (None, 0.5):
        torch.manual_seed(0)
        model = LinearRegression(3, dtype=torch.float64)
        norms: list[float] = []
        record = norms.append
        fit(model, data.X, data.y, lr=0.1, epochs=20, clip_grad_norm=clip,
            callback=lambda e, record=record: record(e.grad_norm))  # fmt: skip
        runs[clip] = (list(model.parameters()), norms)
    torch.manual_seed(0)
    ref = nn.Linear(3, 1, dtype=torch.float64)
    opt, ref_norms = optim.SGD(ref.parameters(), lr=0.1), []
    for _ in range(20):
        nn.MSELoss()(ref(data.X), data.y).backward()
        ref_norms.append(nn.utils.clip_grad_norm_(ref.parameters(), 0.5).item())
        opt.step()
        opt.zero_grad()
    params, norms = runs[0.5]
    for a, b in zip(params, ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    assert norms == pytest.approx(ref_norms, rel=1e-12)  # full batch: one step per epoch
    assert max(ref_norms) > 0.5  # clipping was active ...
    assert not torch.allclose(runs[None][0][0], params[0])  # ... and changed the result


def test_verify_rows_pass(verify_rows):
    rows = verify_rows("clip")
    assert rows and all(r.passed for r in rows)
    assert all(r.abstraction.startswith(("nn.utils", "loop")) for r in rows)
