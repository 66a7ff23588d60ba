"""Mapping-table rows for nnscratch.autograd ↔ torch.autograd: every operation's value and
gradient, then every model family's gradients, the engine's next to ``loss.backward()``'s.

Per operation: the same float64 inputs (broadcast where the op broadcasts), the same upstream
gradient, value and ∂/∂(each input) from the engine's backward vs from torch.autograd. Per model:
one forward + loss of the same nnscratch model on the same batch, every ``p.grad``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch

from nnscratch import losses as L
from nnscratch.autograd import Tensor
from nnscratch.autograd.model import loss_and_grads
from nnscratch.lab.verify.check import Row, compare

ORDER = 78
F64 = torch.float64
TOL = 1e-12


def _x(*shape: int, seed: int = 0, positive: bool = False) -> torch.Tensor:
    x = torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(seed))
    return x.abs() + 0.5 if positive else x


def _sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.scaled_dot_product_attention(q, k, v, None, 0.0, True)


_KEEP = torch.rand(5, 4, generator=torch.Generator().manual_seed(6)) > 0.3  # True takes part


def _sdpa_bool(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.scaled_dot_product_attention(q, k, v, _KEEP, 0.0, False, scale=0.4)


def _sdpa_float(q: Any, k: Any, v: Any, m: Any) -> Any:
    return torch.ops.aten.scaled_dot_product_attention(q, k, v, m, 0.0, False)


def _avg_pool(x: Any) -> Any:
    from nnscratch.layers import AvgPool2d  # im2col: constant_pad_nd, slices, stack, sum, /

    return AvgPool2d(3, 2, 1, count_include_pad=False)(x)


# (name, function of the inputs, inputs): each runs on engine Tensors and on torch tensors
OPS: list[tuple[str, Callable[..., torch.Tensor], list[torch.Tensor]]] = [
    ("a + b (broadcast)", lambda a, b: a + b, [_x(3, 4), _x(4, seed=1)]),
    ("a − b (broadcast)", lambda a, b: a - b, [_x(3, 1), _x(1, 4, seed=1)]),
    ("a ⊙ b (broadcast)", lambda a, b: a * b, [_x(2, 3, 4), _x(3, 1, seed=1)]),
    ("a / b (broadcast)", lambda a, b: a / b, [_x(3, 4), _x(4, seed=1, positive=True)]),
    ("a ** 3", lambda a: a**3, [_x(3, 4)]),
    ("a ** b (tensor exponent, broadcast)", lambda a, b: a**b,
     [_x(3, 4, positive=True), _x(4, seed=1)]),
    ("2 ** a", lambda a: 2.0**a, [_x(3, 4)]),
    ("exp, log", lambda a: torch.log(a).exp(), [_x(3, 4, positive=True)]),
    ("tanh", torch.tanh, [_x(3, 4)]),
    ("sigmoid", torch.sigmoid, [_x(3, 4)]),
    ("relu", torch.relu, [_x(3, 4)]),
    ("gelu", torch.ops.aten.gelu, [_x(3, 4)]),
    ("sum(dim=1, keepdim)", lambda a: a.sum(dim=1, keepdim=True), [_x(3, 4)]),
    ("mean(dim=(0, 2))", lambda a: a.mean(dim=(0, 2)), [_x(2, 3, 4)]),
    ("a @ b (batched)", lambda a, b: a @ b, [_x(2, 3, 4), _x(4, 5, seed=1)]),
    ("addmm", lambda c, a, b: torch.addmm(c, a, b), [_x(5), _x(3, 4, seed=1), _x(4, 5, seed=2)]),
    ("reshape, transpose, permute",
     lambda a: a.reshape(4, 6).transpose(0, 1).reshape(2, 3, 4).permute(2, 0, 1), [_x(2, 3, 4)]),
    ("indexing a[idx] (embedding)", lambda a: a[torch.tensor([[0, 2], [2, 1]])], [_x(3, 4)]),
    ("gather", lambda a: a.gather(1, torch.tensor([[0, 3], [1, 1], [2, 0]])), [_x(3, 4)]),
    ("unfold(1, 3, 2) (windows overlap)", lambda a: a.unfold(1, 3, 2), [_x(2, 7, 3)]),
    ("constant_pad_nd (pad and crop)", lambda a: torch.constant_pad_nd(a, (1, 2, -1, 1), 0.5),
     [_x(3, 4)]),
    ("max(dim) (values)", lambda a: a.max(dim=1).values, [_x(3, 4)]),
    ("masked_fill", lambda a: a.masked_fill(torch.eye(3, 4, dtype=torch.bool), -1.0), [_x(3, 4)]),
    ("where", lambda a, b: torch.where(a > 0, a, b), [_x(3, 4), _x(4, seed=1)]),
    ("cat, stack", lambda a, b: torch.stack([torch.cat([a, b]), torch.cat([b, a])]),
     [_x(2, 3), _x(2, 3, seed=1)]),
    ("softmax, log_softmax", lambda a: torch.softmax(a, -1) + torch.log_softmax(a, 0), [_x(3, 4)]),
    ("conv2d (stride 2, padding 1)", lambda x, w, b: torch.conv2d(x, w, b, 2, 1),
     [_x(2, 3, 7, 7), _x(4, 3, 3, 3, seed=1), _x(4, seed=2)]),
    ("max_pool2d", lambda x: torch.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False),
     [_x(2, 3, 6, 6)]),
    ("AvgPool2d (im2col; count_include_pad=False)", _avg_pool, [_x(2, 3, 6, 5)]),
    ("layer_norm", lambda x, w, b: torch.layer_norm(x, (4,), w, b, 1e-5),
     [_x(3, 2, 4), _x(4, seed=1), _x(4, seed=2)]),
    ("batch_norm (training)",
     lambda x, w, b: torch.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
     [_x(4, 3, 2, 2), _x(3, seed=1), _x(3, seed=2)]),
    ("causal attention", _sdpa, [_x(2, 2, 5, 3), _x(2, 2, 5, 3, seed=1), _x(2, 2, 5, 3, seed=2)]),
    ("attention (bool attn_mask, scale 0.4)", _sdpa_bool,
     [_x(2, 2, 5, 3), _x(2, 2, 4, 3, seed=1), _x(2, 2, 4, 2, seed=2)]),
    ("attention (float attn_mask, its gradient)", _sdpa_float,
     [_x(2, 5, 3), _x(2, 4, 3, seed=1), _x(2, 4, 2, seed=2), _x(5, 4, seed=3)]),
]  # fmt: skip


def op_row(name: str, fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor]) -> Row:
    leaves = [Tensor(x.clone(), requires_grad=True) for x in inputs]
    refs = [x.clone().requires_grad_(True) for x in inputs]
    out, ref = fn(*leaves), fn(*refs)
    upstream = torch.randn(ref.shape, dtype=F64, generator=torch.Generator().manual_seed(9))
    out.backward(upstream)
    ref.backward(upstream)
    return compare(
        f"engine: {name}",
        "torch.autograd",
        "value and ∂/∂ each input, float64",
        [out.data, *[t.grad for t in leaves]],
        [ref.detach(), *[r.grad for r in refs]],
        atol=TOL,
        rtol=TOL,
    )


def _models() -> Iterator[tuple[str, object, Callable, torch.Tensor, torch.Tensor]]:
    from nnscratch.models import CNN, MLP, CharTransformer, LinearRegression, LogisticRegression
    from nnscratch.models.transformer import next_token_loss

    torch.manual_seed(0)
    X = _x(16, 3, seed=3)
    yield "LinearRegression + mse", LinearRegression(3, dtype=F64), L.mse_loss, X, _x(16, 1)
    yield (
        "LogisticRegression + bce",
        LogisticRegression(3, dtype=F64),
        L.binary_cross_entropy_with_logits,
        X,
        (X[:, :1] > 0).to(F64),
    )
    yield (
        "softmax regression + cross_entropy (smoothing 0.1)",
        LogisticRegression(3, 4, dtype=F64),
        functools.partial(L.cross_entropy, label_smoothing=0.1),
        X,
        torch.arange(16) % 4,
    )
    yield "MLP (tanh) + huber", MLP(3, [8, 8], 2, "tanh", dtype=F64), L.huber_loss, X, _x(16, 2)
    yield (
        "CNN (conv, batch norm, max pool)",
        CNN((1, 8, 8), (4, 6), 3, dtype=F64),
        L.cross_entropy,
        _x(8, 64, seed=4),
        torch.arange(8) % 3,
    )
    idx = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(5))
    yield (
        "CharTransformer + next_token_loss",
        CharTransformer(11, 8, n_layer=2, n_head=2, n_embd=8, dtype=F64),
        next_token_loss,
        idx,
        torch.roll(idx, -1, dims=1),
    )


def model_row(name: str, model: Any, loss_fn: Callable, X: torch.Tensor, y: torch.Tensor) -> Row:
    reference = copy.deepcopy(model)
    loss = loss_and_grads(model, loss_fn, X, y)
    ref_loss = loss_fn(reference(X), y)
    ref_loss.backward()
    params = list(model.parameters())
    return compare(
        f"engine: {name}",
        "loss.backward()",
        "loss and every p.grad, float64",
        [loss, *[p.grad for p in params]],
        [ref_loss.detach(), *[p.grad for p in reference.parameters()]],
        atol=1e-10,
        rtol=1e-10,
        extra_ok=all(p.grad is not None for p in params),
    )


def rows() -> Iterator[Row]:
    for name, fn, inputs in OPS:
        yield op_row(name, fn, inputs)
    for name, model, loss_fn, X, y in _models():
        yield model_row(name, model, loss_fn, X, y)
