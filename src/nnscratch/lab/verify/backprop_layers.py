"""Mapping-table rows: the hand-derived backward of each layer (`nnscratch.backprop.rules`) ↔
``loss.backward()``, and ↔ ``torch.autograd.gradcheck``.

For each layer: y, ∂L/∂x and every ∂L/∂p (L = Σ y ⊙ g, g fixed and random) computed by the rule
with no autograd, next to autograd through the same layer (itself equal to its torch.nn twin,
rows above), float64 within 1e-10. Then gradcheck on the rule: `ByHand` is an
``autograd.Function`` whose backward *is* the hand-derived rule, so gradcheck compares the rule
with central differences (``fast_mode``: along random directions; the tests run the full
check). Last, `loss_and_grads` on a small CNN (conv, batch norm, pooling,
dropout) against the torch.nn CNN with the same weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import torch
from torch import nn

from nnscratch import losses as L
from nnscratch.backprop import loss_and_grads, rules
from nnscratch.lab.verify.check import Row, compare
from nnscratch.lab.verify.gradcheck import ATOL, RTOL
from nnscratch.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    CausalSelfAttention,
    Conv2d,
    Dropout,
    Embedding,
    LayerNorm,
    MaxPool2d,
    TransformerBlock,
)
from nnscratch.module import Module

ORDER = 75
F64 = torch.float64
TOL = 1e-10


class ByHand(torch.autograd.Function):
    """``layer(x)`` whose backward is the hand-derived rule (for gradcheck)."""

    @staticmethod
    def forward(ctx, layer, x, *params):  # type: ignore[override]
        y, saved = rules.forward(layer, x)
        ctx.layer, ctx.saved = layer, saved
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        grads: list = []
        dx = rules.backward(ctx.layer, ctx.saved, dy.clone(), grads, ctx.needs_input_grad[1])
        found = {id(p): g for p, g in grads}
        return (None, dx, *(found[id(p)] for p in ctx.layer.parameters()))


def by_hand(layer: Module, x: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor]:
    """[y, ∂L/∂x (float x), ∂L/∂p for each parameter] from the rules, no autograd."""
    grads: list = []
    with torch.no_grad():
        y, saved = rules.forward(layer, x)
        dx = rules.backward(layer, saved, g.clone(), grads, x.is_floating_point())
    found = {id(p): d for p, d in grads}
    return [y, *([dx] if dx is not None else []), *(found[id(p)] for p in layer.parameters())]


def by_autograd(layer: Module, x: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor]:
    x = x.detach().clone().requires_grad_(x.is_floating_point())
    y = layer(x)
    wrt = ([x] if x.is_floating_point() else []) + list(layer.parameters())
    return [y, *torch.autograd.grad((y * g).sum(), wrt)]


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(len(shape)))


def _affine(layer: Module) -> Module:
    """Non-trivial γ, β, biases (they start at 1 and 0)."""
    with torch.no_grad():
        for p in layer.parameters():
            if p.dim() == 1:
                p.add_(
                    torch.rand(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(3))
                )
    return layer


CASES: list[tuple[str, Callable[[], Module], torch.Tensor, str]] = [
    ("Conv2d via im2col/col2im", lambda: Conv2d(4, 6, 3, 2, 1, groups=2, dtype=F64), _randn(1, 4, 5, 4), "1×4×5×4, groups 2, stride 2"),
    ("MaxPool2d (argmax)", lambda: MaxPool2d(3, 2, 1), _randn(2, 3, 7, 6), "2×3×7×6, 3×3 stride 2"),
    ("AvgPool2d", lambda: AvgPool2d(3, 2, 1, count_include_pad=False), _randn(2, 3, 7, 6), "2×3×7×6, padding not counted"),
    ("LayerNorm (closed form)", lambda: _affine(LayerNorm(6, dtype=F64)), _randn(3, 4, 6), "3×4×6"),
    ("BatchNorm1d (closed form)", lambda: _affine(BatchNorm1d(4, dtype=F64)), _randn(8, 4), "8×4, training"),
    ("BatchNorm2d (closed form)", lambda: _affine(BatchNorm2d(3, dtype=F64)), _randn(4, 3, 5, 5), "4×3×5×5, training"),
    ("BatchNorm2d, eval", lambda: _affine(BatchNorm2d(3, dtype=F64)).eval(), _randn(4, 3, 5, 5), "4×3×5×5, running stats"),
    ("Dropout (kept mask)", lambda: Dropout(0.3, generator=torch.Generator()), _randn(6, 7), "6×7, p = 0.3"),
    ("Embedding (index_add)", lambda: Embedding(7, 5, dtype=F64), torch.tensor([[0, 3, 6, 3], [6, 0, 1, 1]]), "7×5, indices with repeats"),
    ("CausalSelfAttention (softmax backward)", lambda: _affine(CausalSelfAttention(12, 3, dtype=F64)), _randn(1, 5, 12), "1×5×12, 3 heads"),
    ("TransformerBlock", lambda: _affine(TransformerBlock(8, 2, dtype=F64)), _randn(1, 4, 8), "1×4×8, 2 heads"),
]  # fmt: skip


def _reseed(layer: Module) -> None:
    """Dropout's generator back to one state, so every evaluation draws the same mask."""
    if isinstance(layer, Dropout) and layer.generator is not None:
        layer.generator.manual_seed(0)


def rows() -> Iterator[Row]:
    for piece, make, x, shape in CASES:
        torch.manual_seed(0)
        layer = make()
        twin = copy.deepcopy(layer)
        with torch.no_grad():
            _reseed(twin)
            g = torch.randn(
                copy.deepcopy(layer)(x).shape, dtype=F64, generator=torch.Generator().manual_seed(7)
            )
        _reseed(layer)
        _reseed(twin)
        yield compare(
            f"hand-derived backward: {piece}",
            "loss.backward() (autograd)",
            f"y, ∂L/∂x, ∂L/∂params; {shape}, float64",
            by_hand(layer, x, g),
            by_autograd(twin, x, g),
            atol=TOL,
            rtol=TOL,
        )
        yield gradcheck_row(piece, layer, x, shape)
    yield cnn_row()
    yield char_transformer_row()


def gradcheck_row(piece: str, layer: Module, x: torch.Tensor, shape: str) -> Row:
    params = list(layer.parameters())
    if x.is_floating_point():
        inputs = (x.detach().clone().requires_grad_(True), *params)

        def fn(x, *ps):
            _reseed(layer)
            return ByHand.apply(layer, x, *ps)
    else:
        inputs = tuple(params)

        def fn(*ps):
            return ByHand.apply(layer, x, *ps)

    passed = torch.autograd.gradcheck(fn, inputs, raise_exception=False, fast_mode=True)
    # the printed difference: the rule's Jacobian wrt the first input against central differences
    analytic = torch.autograd.functional.jacobian(lambda t: fn(t, *inputs[1:]), inputs[0])
    numerical = central_differences(fn, inputs)
    return compare(
        f"hand-derived backward: {piece}",
        "torch.autograd.gradcheck",
        f"rule vs central differences (wrt {'x and ' if x.is_floating_point() else ''}params); {shape}",
        analytic,
        numerical,
        atol=ATOL,
        rtol=RTOL,
        extra_ok=bool(passed),
    )


def central_differences(fn: Callable, inputs: tuple[torch.Tensor, ...], h: float = 1e-6):
    """∂fn/∂inputs[0] numerically, perturbing inputs[0] *in place* (the rules read a layer's
    parameters from the layer, so a perturbed copy would go unseen)."""
    t = inputs[0]
    columns = []
    with torch.no_grad():
        flat = t.view(-1)
        for k in range(t.numel()):
            flat[k] += h
            plus = fn(*inputs).clone()
            flat[k] -= 2 * h
            minus = fn(*inputs).clone()
            flat[k] += h
            columns.append((plus - minus) / (2 * h))
    return torch.stack(columns, dim=-1).view(*columns[0].shape, *t.shape)


def cnn_row() -> Row:
    def mine() -> Module:
        from nnscratch.layers import Activation, Flatten, Linear, Sequential

        return Sequential(
            Conv2d(1, 4, 3, padding=1, dtype=F64), BatchNorm2d(4, dtype=F64), Activation("relu"),
            MaxPool2d(2), Flatten(), Dropout(0.25), Linear(4 * 4 * 4, 10, dtype=F64),
        )  # fmt: skip

    def reference() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, dtype=F64), nn.BatchNorm2d(4, dtype=F64), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(4 * 4 * 4, 10, dtype=F64),
        )  # fmt: skip

    torch.manual_seed(0)
    model = mine()
    torch.manual_seed(0)
    ref = reference()
    X = _randn(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    loss = loss_and_grads(model, L.cross_entropy, X, y)
    torch.manual_seed(5)
    ref_loss = nn.CrossEntropyLoss()(ref(X), y)
    ref_loss.backward()
    return compare(
        "hand-derived backward: CNN (loss_and_grads)",
        "nn.Sequential CNN + loss.backward()",
        "loss, all grads, running stats; conv-bn-relu-pool-dropout-linear, 16×1×8×8, float64",
        [loss, *(p.grad for p in model.parameters()), *model.buffers()],
        [ref_loss, *(p.grad for p in ref.parameters()), *ref.buffers()],
        atol=TOL,
        rtol=TOL,
    )


def char_transformer_row() -> Row:
    """`--backward manual` for the character model: every rule of the stack in one pass."""
    from nnscratch.models.transformer import CharTransformer, next_token_loss

    torch.manual_seed(0)
    model = CharTransformer(11, 8, n_layer=2, n_head=2, n_embd=16, dropout=0.1, dtype=F64)
    twin = copy.deepcopy(model)
    idx = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(3))
    torch.manual_seed(5)
    loss = loss_and_grads(model, next_token_loss, idx, y)
    torch.manual_seed(5)  # the same dropout masks
    ref_loss = next_token_loss(twin(idx), y)
    ref_loss.backward()
    return compare(
        "hand-derived backward: CharTransformer (loss_and_grads)",
        "loss.backward() (autograd)",
        "loss and all grads; 2 blocks, 2 heads, 16 wide, dropout 0.1, 3×8 tokens, float64",
        [loss, *(p.grad for p in model.parameters())],
        [ref_loss, *(p.grad for p in twin.parameters())],
        atol=TOL,
        rtol=TOL,
    )
