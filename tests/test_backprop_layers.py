"""The hand-derived backward of every layer (`nnscratch.backprop.rules`) next to autograd:
float64 within 1e-10, torch.autograd.gradcheck on the hand-derived formulas, and
`loss_and_grads` on whole CNN / transformer models (the `--backward manual` path)."""

import copy
import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnscratch import losses as L
from nnscratch.backprop import loss_and_grads, rules, supports
from nnscratch.lab.verify.backprop_layers import ByHand
from nnscratch.layers import (
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    CausalSelfAttention,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    Sequential,
    TransformerBlock,
)
from nnscratch.module import Module

F64 = torch.float64
TOL = {"atol": 1e-10, "rtol": 1e-10}
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own note


def by_hand(layer, x, g):
    """y, ∂L/∂x, [∂L/∂p] from the rules (L = Σ y ⊙ g)."""
    grads = []
    with torch.no_grad():
        y, saved = rules.forward(layer, x)
        dx = rules.backward(layer, saved, g.clone(), grads, need_dx=x.is_floating_point())
    found = {id(p): d for p, d in grads}
    return y, dx, [found.get(id(p)) for p in layer.parameters()]


def by_autograd(layer, x, g):
    x = x.detach().clone().requires_grad_(x.is_floating_point())
    y = layer(x)
    params = list(layer.parameters())
    wrt = ([x] if x.is_floating_point() else []) + params
    out = torch.autograd.grad((y * g).sum(), wrt)
    return (
        y,
        (out[0] if x.is_floating_point() else None),
        list(out[-len(params) :] if params else []),
    )


def assert_rule_matches_autograd(make, x, seed=0):
    """The same layer twice (same seed), run by hand and by autograd; dropout seeded alike."""
    torch.manual_seed(seed)
    layer = make()
    with torch.no_grad():
        shape = copy.deepcopy(layer)(x).shape
    g = torch.randn(shape, dtype=F64, generator=torch.Generator().manual_seed(7))
    twin = copy.deepcopy(layer)
    torch.manual_seed(seed + 1)
    y_ref, dx_ref, grads_ref = by_autograd(twin, x, g)
    torch.manual_seed(seed + 1)
    y, dx, grads = by_hand(layer, x, g)
    torch.testing.assert_close(y, y_ref, **TOL)
    if dx_ref is not None:
        torch.testing.assert_close(dx, dx_ref, **TOL)
    for (name, _), a, b in zip(layer.named_parameters(), grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b, **TOL, msg=name)
    for (name, a), b in zip(layer.named_buffers(), twin.buffers(), strict=True):
        torch.testing.assert_close(a, b, **TOL, msg=name)  # running statistics updated alike


def randn(*shape):
    return torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(sum(shape)))


CASES = {
    "linear (B, T, F)": (lambda: Linear(5, 3, dtype=F64), randn(2, 4, 5)),
    "conv": (lambda: Conv2d(2, 4, 3, padding=1, dtype=F64), randn(2, 2, 6, 5)),
    "conv stride/dilation/groups": (
        lambda: Conv2d(
            4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=2, groups=2, dtype=F64
        ),
        randn(2, 4, 9, 7),
    ),
    "conv padding='same', even kernel": (
        lambda: Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), dtype=F64),
        randn(2, 2, 6, 7),
    ),
    "conv no bias": (lambda: Conv2d(3, 2, 1, bias=False, dtype=F64), randn(2, 3, 4, 4)),
    "max pool": (lambda: MaxPool2d(2), randn(2, 3, 6, 6)),
    "max pool overlapping, padded": (lambda: MaxPool2d(3, 2, 1, dilation=1), randn(2, 3, 7, 6)),
    "max pool ceil_mode": (lambda: MaxPool2d(3, 2, 1, ceil_mode=True), randn(2, 3, 8, 6)),
    "max pool ties (after relu)": (lambda: MaxPool2d(2), torch.relu(randn(2, 3, 6, 6)).round()),
    "avg pool": (lambda: AvgPool2d(2), randn(2, 3, 6, 6)),
    "avg pool padded, count_include_pad=False": (
        lambda: AvgPool2d(3, 2, 1, count_include_pad=False),
        randn(2, 3, 7, 6),
    ),
    "avg pool ceil_mode": (lambda: AvgPool2d(3, 2, 1, ceil_mode=True), randn(2, 3, 8, 6)),
    "avg pool ceil_mode, count_include_pad=False": (
        lambda: AvgPool2d(2, 2, 1, ceil_mode=True, count_include_pad=False),
        randn(2, 3, 6, 7),
    ),
    "flatten": (lambda: Flatten(), randn(2, 3, 4, 4)),
    "relu": (lambda: Activation("relu"), randn(3, 4)),
    "layer norm": (lambda: _perturbed(LayerNorm(6, dtype=F64)), randn(3, 4, 6) * 2 + 1),
    "layer norm over 2 dims": (lambda: _perturbed(LayerNorm((4, 6), dtype=F64)), randn(3, 4, 6)),
    "layer norm, no affine": (
        lambda: LayerNorm(6, elementwise_affine=False, dtype=F64),
        randn(3, 6),
    ),
    "batch norm 1d (N, C)": (lambda: _perturbed(BatchNorm1d(4, dtype=F64)), randn(8, 4) * 3 + 1),
    "batch norm 1d (N, C, L)": (lambda: _perturbed(BatchNorm1d(4, dtype=F64)), randn(5, 4, 3)),
    "batch norm 2d": (lambda: _perturbed(BatchNorm2d(3, dtype=F64)), randn(4, 3, 5, 5)),
    "batch norm 2d, eval": (
        lambda: _perturbed(BatchNorm2d(3, dtype=F64), train=False),
        randn(4, 3, 5, 5),
    ),
    "batch norm 2d, momentum None, no affine": (
        lambda: BatchNorm2d(3, momentum=None, affine=False, dtype=F64),
        randn(4, 3, 5, 5),
    ),
    "dropout": (lambda: Dropout(0.3), randn(6, 7)),
    "dropout eval": (lambda: Dropout(0.3).eval(), randn(6, 7)),
    "embedding": (lambda: Embedding(7, 5, dtype=F64), torch.tensor([[0, 3, 6, 3], [6, 0, 1, 1]])),
    "embedding padding_idx": (
        lambda: Embedding(7, 5, padding_idx=1, dtype=F64),
        torch.tensor([[0, 3, 6, 3], [6, 0, 1, 1]]),
    ),
    "causal self-attention": (
        lambda: _perturbed(CausalSelfAttention(12, 3, dtype=F64)),
        randn(2, 5, 12),
    ),
    "causal self-attention, no bias": (
        lambda: CausalSelfAttention(8, 2, bias=False, dtype=F64),
        randn(2, 4, 8),
    ),
    "transformer block": (lambda: _perturbed(TransformerBlock(8, 2, dtype=F64)), randn(2, 5, 8)),
    "transformer block, eval with dropout": (
        lambda: TransformerBlock(8, 2, dropout=0.2, dtype=F64).eval(),
        randn(2, 5, 8),
    ),
    "sequential": (
        lambda: Sequential(
            Conv2d(1, 2, 3, dtype=F64), Activation("tanh"), Flatten(), Linear(4, 3, dtype=F64)
        ),
        randn(3, 1, 4, 3),
    ),
}


def _perturbed(layer, train=True):
    """Non-trivial γ, β and biases (they start at 1 and 0), and some running statistics."""
    with torch.no_grad():
        for p in layer.parameters():
            if p.dim() == 1:
                p.add_(
                    torch.rand(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(3))
                )
        if getattr(layer, "running_var", None) is not None:
            layer.running_mean.add_(0.5)
            layer.running_var.mul_(1.5)
    layer.train(train)
    return layer


@pytest.mark.parametrize("name", list(CASES))
def test_rule_matches_autograd_float64(name):
    make, x = CASES[name]
    assert_rule_matches_autograd(make, x)


GRADCHECK = [
    "max pool ceil_mode",
    "conv stride/dilation/groups",
    "conv padding='same', even kernel",
    "max pool overlapping, padded",
    "avg pool padded, count_include_pad=False",
    "layer norm",
    "batch norm 2d",
    "batch norm 2d, eval",
    "causal self-attention",
    "transformer block",
]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_of_the_hand_derived_rule(name):
    make, x = CASES[name]
    torch.manual_seed(0)
    layer = make()
    x = x.clone().requires_grad_(True)
    params = list(layer.parameters())
    assert torch.autograd.gradcheck(lambda x, *ps: ByHand.apply(layer, x, *ps), (x, *params))


def test_gradcheck_of_dropout_with_a_fixed_mask():
    layer = Dropout(0.4, generator=torch.Generator())
    x = randn(5, 6).requires_grad_(True)

    def fn(x):
        layer.generator.manual_seed(0)  # the same mask at every evaluation
        return ByHand.apply(layer, x)

    assert torch.autograd.gradcheck(fn, (x,))


def test_gradcheck_of_embedding_weights():
    """(Without padding_idx: its row's zero gradient is a convention, not the derivative.)"""
    layer = Embedding(5, 3, dtype=F64)
    idx = torch.tensor([[0, 2, 4, 4]])
    assert torch.autograd.gradcheck(lambda w: ByHand.apply(layer, idx, w), (layer.weight,))


# ---------------------------------------------------------------- whole models, loss_and_grads
def autograd_reference(model, loss_fn, X, y, seed):
    twin = copy.deepcopy(model)
    torch.manual_seed(seed)
    loss = loss_fn(twin(X), y)
    loss.backward()
    return twin, loss.detach()


def assert_loss_and_grads_match(model, loss_fn, X, y, seed=5):
    twin, expected = autograd_reference(model, loss_fn, X, y, seed)
    torch.manual_seed(seed)
    assert supports(model, loss_fn)
    loss = loss_and_grads(model, loss_fn, X, y)
    torch.testing.assert_close(loss, expected, **TOL)
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, **TOL, msg=name)
    for (name, a), b in zip(model.named_buffers(), twin.buffers(), strict=True):
        torch.testing.assert_close(a, b, **TOL, msg=name)


def small_cnn():
    return Sequential(
        Conv2d(1, 4, 3, padding=1, dtype=F64),
        BatchNorm2d(4, dtype=F64),
        Activation("relu"),
        MaxPool2d(2),
        Conv2d(4, 6, 3, padding=1, dtype=F64),
        Activation("relu"),
        AvgPool2d(2),
        Flatten(),
        Dropout(0.25),
        Linear(6 * 2 * 2, 10, dtype=F64),
    )


def test_loss_and_grads_on_a_cnn_equal_autograd_dropout_and_batch_norm_in_training():
    torch.manual_seed(0)
    model = small_cnn()
    X = randn(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(1))
    assert_loss_and_grads_match(model, L.cross_entropy, X, y)
    model.eval()
    for p in model.parameters():
        p.grad = None
    assert_loss_and_grads_match(
        model, functools.partial(L.cross_entropy, label_smoothing=0.1), X, y
    )


class TinyCharModel(Module):
    """Token + position embeddings, two blocks, a final LayerNorm and a head; logits (B·T, V).

    The way a model of one's own gets `--backward manual`: two functions composing the
    children's rules, registered for the class."""

    def __init__(self, vocab=11, T=6, E=8, H=2):
        self.tok = Embedding(vocab, E, dtype=F64)
        self.pos = Embedding(T, E, dtype=F64)
        self.blocks = Sequential(
            TransformerBlock(E, H, dtype=F64), TransformerBlock(E, H, dtype=F64)
        )
        self.ln_f = LayerNorm(E, dtype=F64)
        self.head = Linear(E, vocab, dtype=F64)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))  # (B, T, E)
        return self.head(self.ln_f(self.blocks(x))).flatten(0, 1)  # (B·T, V)


def tiny_forward(model, idx):
    t, s_tok = rules.forward(model.tok, idx)
    p, s_pos = rules.forward(model.pos, torch.arange(idx.shape[1]))
    h, s_blocks = rules.forward(model.blocks, t + p)
    h, s_ln = rules.forward(model.ln_f, h)
    logits, s_head = rules.forward(model.head, h)
    return logits.flatten(0, 1), (s_tok, s_pos, s_blocks, s_ln, s_head, logits.shape)


def tiny_backward(model, saved, dy, grads, need_dx=True):
    s_tok, s_pos, s_blocks, s_ln, s_head, shape = saved
    d = rules.backward(model.head, s_head, dy.reshape(shape), grads)
    d = rules.backward(model.ln_f, s_ln, d, grads)
    d = rules.backward(model.blocks, s_blocks, d, grads)
    rules.backward(model.tok, s_tok, d, grads, need_dx=False)
    rules.backward(model.pos, s_pos, d.sum(dim=0), grads, need_dx=False)
    return None


def test_a_registered_transformer_model_gets_the_hand_derived_backward():
    torch.manual_seed(0)
    model = TinyCharModel()
    idx = torch.randint(0, 11, (3, 6), generator=torch.Generator().manual_seed(2))
    targets = torch.randint(0, 11, (18,), generator=torch.Generator().manual_seed(3))
    assert not supports(model, L.cross_entropy)  # no rule yet
    with pytest.raises(ValueError, match="no formulas"):
        loss_and_grads(model, L.cross_entropy, idx, targets)
    rules.register(TinyCharModel, tiny_forward, tiny_backward)
    try:
        assert_loss_and_grads_match(model, L.cross_entropy, idx, targets)
    finally:
        del rules.RULES[TinyCharModel]


def test_a_model_with_an_unknown_layer_is_refused():
    class Double(Module):
        def forward(self, x):
            return 2 * x

    model = Sequential(Linear(2, 2), Double())
    assert not supports(model, L.mse_loss)
    with pytest.raises(ValueError, match="no formulas"):
        loss_and_grads(model, L.mse_loss, torch.randn(3, 2), torch.randn(3, 2))


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sampled_from([1, 2]),
    h=st.integers(3, 7),
    w=st.integers(3, 7),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    bias=st.booleans(),
)
def test_property_conv_rule_matches_autograd(groups, h, w, k, stride, padding, dilation, bias):
    if min(h, w) + 2 * padding < dilation * (k - 1) + 1:
        return  # no output position
    x = randn(2, 2 * groups, h, w)
    assert_rule_matches_autograd(
        lambda: Conv2d(
            2 * groups, 2 * groups, k, stride, padding, dilation, groups, bias, dtype=F64
        ),
        x,
    )


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(2, 7),
    w=st.integers(2, 7),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    kind=st.sampled_from(["max", "max_ceil", "avg", "avg_exclude_pad", "avg_ceil"]),
)
def test_property_pool_rules_match_autograd(h, w, k, stride, padding, kind):
    if padding > k // 2 or min(h, w) + 2 * padding < k:
        return  # refused by the layer / no output position
    make = {
        "max": lambda: MaxPool2d(k, stride, padding),
        "max_ceil": lambda: MaxPool2d(k, stride, padding, ceil_mode=True),
        "avg": lambda: AvgPool2d(k, stride, padding),
        "avg_exclude_pad": lambda: AvgPool2d(k, stride, padding, count_include_pad=False),
        "avg_ceil": lambda: AvgPool2d(k, stride, padding, ceil_mode=True,
                                      count_include_pad=bool(h % 2)),
    }[kind]  # fmt: skip
    assert_rule_matches_autograd(make, randn(2, 2, h, w))


def test_fused_attention_drops_the_same_weights_as_the_plain_form_on_the_cpu():
    from nnscratch.layers.attention import attention, attention_fused

    q, k, v = (randn(2, 3, 6, 4) + i for i in range(3))
    torch.manual_seed(0)
    plain = attention(q, k, v, 0.3, training=True)
    torch.manual_seed(0)
    fused = attention_fused(q, k, v, 0.3, training=True)
    torch.testing.assert_close(plain, fused, atol=1e-14, rtol=1e-14)
    assert not torch.allclose(plain, attention(q, k, v))  # dropout did drop something


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_loss_and_grads_on_the_cnn_model_equal_autograd(dropout):
    from nnscratch.models.cnn import CNN

    torch.manual_seed(0)
    model = CNN((1, 8, 8), (4, 6), 10, dropout=dropout, dtype=F64)
    X = randn(16, 64)  # rows of pixels, as a run keeps images
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(1))
    assert_loss_and_grads_match(model, L.cross_entropy, X, y)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_loss_and_grads_on_the_char_transformer_equal_autograd(dropout):
    from nnscratch.models.transformer import CharTransformer, next_token_loss

    torch.manual_seed(0)
    model = CharTransformer(11, 8, n_layer=2, n_head=2, n_embd=16, dropout=dropout, dtype=F64)
    idx = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(3))
    assert_loss_and_grads_match(model, next_token_loss, idx, y)


def test_gradients_leave_running_statistics_and_the_random_state_as_they_were():
    """`backprop.gradients` (explain's column) is a side computation: the next training step
    sees the same model and draws the same dropout mask, so both columns agree exactly."""
    from nnscratch.backprop import gradients

    torch.manual_seed(0)
    model = small_cnn()
    X = randn(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(9)
    buffers = [b.clone() for b in model.buffers()]
    _, by_hand_grads = gradients(model, L.cross_entropy, X, y)
    for a, b in zip(model.buffers(), buffers, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    L.cross_entropy(model(X), y).backward()  # the same mask as the hand-derived pass drew
    for name, p in model.named_parameters():
        torch.testing.assert_close(by_hand_grads[name], p.grad, **TOL, msg=name)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    normalized=st.integers(1, 2),
    affine=st.booleans(),
)
def test_property_layer_norm_rule_matches_autograd(shape, normalized, affine):
    normalized = min(normalized, len(shape))
    x = randn(*shape) * 3 + 1
    norm_shape = tuple(shape[-normalized:])
    assert_rule_matches_autograd(
        lambda: LayerNorm(norm_shape, elementwise_affine=affine, dtype=F64), x
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 5),
    c=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    training=st.booleans(),
    affine=st.booleans(),
)
def test_property_batch_norm_rules_match_autograd(n, c, spatial, training, affine):
    cls = BatchNorm2d if len(spatial) == 2 else BatchNorm1d
    x = randn(n, c, *spatial) * 2 - 1

    def make():
        return _perturbed(cls(c, affine=affine, dtype=F64), train=training)

    assert_rule_matches_autograd(make, x)


@settings(max_examples=20, deadline=None)
@given(
    b=st.integers(1, 2),
    t=st.integers(1, 5),
    heads=st.sampled_from([1, 2, 4]),
    head_dim=st.integers(1, 3),
    bias=st.booleans(),
    block=st.booleans(),
)
def test_property_attention_and_block_rules_match_autograd(b, t, heads, head_dim, bias, block):
    E = heads * head_dim
    if block:
        make = lambda: _perturbed(TransformerBlock(E, heads, bias=bias, dtype=F64))  # noqa: E731
    else:
        make = lambda: _perturbed(CausalSelfAttention(E, heads, bias=bias, dtype=F64))  # noqa: E731
    assert_rule_matches_autograd(make, randn(b, t, E))


@settings(max_examples=20, deadline=None)
@given(
    idx=st.lists(st.integers(0, 5), min_size=1, max_size=8),
    padding_idx=st.sampled_from([None, 0, 3]),
)
def test_property_embedding_rule_matches_autograd(idx, padding_idx):
    x = torch.tensor(idx).view(1, -1)
    assert_rule_matches_autograd(lambda: Embedding(6, 3, padding_idx=padding_idx, dtype=F64), x)


@pytest.mark.parametrize("bn", [BatchNorm1d, BatchNorm2d])
def test_batch_norm_without_bias_by_hand_equals_autograd(bn):
    """``bias=False`` (γ only, as torch.nn allows): the hand-derived backward skips β."""
    torch.manual_seed(0)
    shape = (6, 3) if bn is BatchNorm1d else (4, 3, 2, 2)
    layer = bn(3, bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.5)
    model = Sequential(layer, Flatten())
    X = torch.randn(shape, dtype=torch.float64)
    y = torch.randn(shape[0], X[0].numel(), dtype=torch.float64)
    twin = copy.deepcopy(model)
    loss = loss_and_grads(model, L.mse_loss, X, y)
    ref = L.mse_loss(twin(X), y)
    ref.backward()
    assert layer.bias is None
    torch.testing.assert_close(loss, ref.detach(), atol=1e-12, rtol=0)
    torch.testing.assert_close(layer.weight.grad, twin.layers[0].weight.grad, atol=1e-12, rtol=0)


def test_post_ln_or_relu_transformer_block_is_refused_by_the_hand_derived_backward():
    block = TransformerBlock(8, 2, dtype=torch.float64, norm_first=False)
    model = Sequential(block, Flatten())
    X = torch.randn(2, 3, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="norm_first=True, activation='gelu'"):
        loss_and_grads(model, L.mse_loss, X, torch.zeros(2, 24, dtype=torch.float64))
