"""torch.nn.functional's Python functions on an engine Tensor: each one the engine takes gives
torch.autograd's numbers (its own argument order honoured), any other is refused by name."""

import pytest
import torch
import torch.nn.functional as F

from nnscratch.autograd import Tensor


def _both(fn, shape, *params, seed=0):
    """fn(x, *params) on the engine and on torch.autograd: (outputs, x grads, param grads)."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(shape, generator=g, dtype=torch.float64)
    p0 = [p if not isinstance(p, torch.Tensor) else p.double() for p in params]
    mine = Tensor(x0.clone(), requires_grad=True)
    mine_p = [Tensor(p.clone(), requires_grad=True) if _trainable(p) else p for p in p0]
    ref = x0.clone().requires_grad_()
    ref_p = [p.clone().requires_grad_() if _trainable(p) else _copy(p) for p in p0]
    out_m, out_r = fn(mine, *mine_p), fn(ref, *ref_p)
    out_m = out_m[0] if isinstance(out_m, tuple) else out_m
    out_r = out_r[0] if isinstance(out_r, tuple) else out_r
    w = torch.randn(out_r.shape, generator=g, dtype=torch.float64)
    (out_m * w).sum().backward()
    (out_r * w).sum().backward()
    torch.testing.assert_close(out_m.data, out_r.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(mine.grad, ref.grad, atol=1e-12, rtol=1e-12)
    for a, b in zip(mine_p, ref_p, strict=True):
        if isinstance(a, Tensor):
            torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-12)


def _trainable(p):
    return (
        isinstance(p, torch.Tensor) and p.dtype == torch.float64 and p.dim() > 0 and p.numel() < 50
    )


def _copy(p):
    return p.clone() if isinstance(p, torch.Tensor) else p


C = 3
CASES = {
    "relu": (lambda x: F.relu(x), (4, 5)),
    "threshold": (lambda x: F.threshold(x, 0.0, 0.0), (4, 5)),
    "tanh": (lambda x: F.tanh(x), (4, 5)),
    "sigmoid": (lambda x: F.sigmoid(x), (4, 5)),
    "softmax": (lambda x: F.softmax(x, dim=1), (4, 5)),
    "softmax positional": (lambda x: F.softmax(x, 1), (4, 5)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), (4, 5)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (5,), w, b, 1e-5), (4, 5)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), (2, C, 4, 6)),
    "max_pool2d indices": (lambda x: F.max_pool2d(x, 2, return_indices=True), (2, C, 4, 6)),
    "max_pool2d_with_indices": (lambda x: F.max_pool2d_with_indices(x, 2), (2, C, 4, 6)),
}
PARAMS = {"layer_norm": (torch.randn(5), torch.randn(5))}


@pytest.mark.parametrize("name", list(CASES))
def test_functional_on_the_engine_equals_torch_autograd(name):
    fn, shape = CASES[name]
    _both(fn, shape, *PARAMS.get(name, ()))


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_reads_its_own_argument_order(training):
    """F.batch_norm(input, running_mean, running_var, weight, bias): read as torch.batch_norm's
    (input, weight, bias, running_mean, running_var) order, it would normalise with the wrong
    tensors."""
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(6, C, 2, 2, generator=g, dtype=torch.float64)
    w0, b0 = torch.randn(C, generator=g).double(), torch.randn(C, generator=g).double()
    rm0, rv0 = torch.randn(C, generator=g).double(), torch.rand(C, generator=g).double() + 0.5
    mine, w, b = (Tensor(t.clone(), requires_grad=True) for t in (x0, w0, b0))
    rm_m, rv_m = rm0.clone(), rv0.clone()
    out_m = F.batch_norm(mine, rm_m, rv_m, w, b, training, 0.1, 1e-5)
    ref, wr, br = (t.clone().requires_grad_() for t in (x0, w0, b0))
    rm_r, rv_r = rm0.clone(), rv0.clone()
    out_r = F.batch_norm(ref, rm_r, rv_r, wr, br, training, 0.1, 1e-5)
    out_m.sum().backward()
    (out_r * torch.ones_like(out_r)).sum().backward()
    torch.testing.assert_close(out_m.data, out_r.detach(), atol=1e-12, rtol=1e-12)
    for a, r in ((mine, ref), (w, wr), (b, br)):
        torch.testing.assert_close(a.grad, r.grad, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(rm_m, rm_r, atol=1e-12, rtol=1e-12)  # the running statistics
    torch.testing.assert_close(rv_m, rv_r, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize(
    "call, named",
    [
        (lambda x: F.unfold(x, 2), "torch.nn.functional.unfold"),  # im2col, not Tensor.unfold
        (lambda x: F.relu(x, inplace=True), "inplace=True"),
        (lambda x: F.dropout(x, 0.5), "torch.nn.functional.dropout"),
        (lambda x: F.softmax(x), "needs dim"),
    ],
)
def test_other_functional_calls_are_refused_by_name(call, named):
    x = Tensor(torch.randn(1, 2, 3, 3), requires_grad=True)
    with pytest.raises(NotImplementedError, match=named):
        call(x)
