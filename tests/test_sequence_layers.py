"""LayerNorm, Embedding, Dropout, CausalSelfAttention and TransformerBlock next to their torch.nn
twins: same initial numbers from the same seed, same forward (float64 tight, float32), same
gradients, same train/eval behaviour."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nnscratch.layers import CausalSelfAttention, Dropout, Embedding, LayerNorm, TransformerBlock
from nnscratch.layers.attention import attention, attention_fused, causal_mask
from nnscratch.layers.dropout import dropout

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-12, F32: 1e-5}


def same_seed(make_mine, make_ref, seed=0):
    torch.manual_seed(seed)
    mine = make_mine()
    torch.manual_seed(seed)
    return mine, make_ref()


def assert_same_state(mine, ref):
    assert list(mine.state_dict()) == list(ref.state_dict())
    for (name, a), b in zip(mine.state_dict().items(), ref.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=name)


def assert_same_outputs_and_grads(mine, ref, x, tol, call_ref=None):
    """Output, ∂L/∂x and ∂L/∂params for L = Σ y ⊙ g."""
    xa = x.detach().clone().requires_grad_(x.is_floating_point())
    xb = x.detach().clone().requires_grad_(x.is_floating_point())
    ya = mine(xa)
    yb = ref(xb) if call_ref is None else call_ref(xb)
    torch.testing.assert_close(ya, yb, atol=tol, rtol=tol)
    g = torch.randn_like(yb)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    if x.is_floating_point():
        torch.testing.assert_close(xa.grad, xb.grad, atol=tol, rtol=tol)
    for (name, a), b in zip(mine.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=tol, rtol=tol, msg=name)


# ---------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("shape", [8, (3, 8)])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_layernorm_matches_nn(shape, affine, bias, dtype):
    mine, ref = same_seed(
        lambda: LayerNorm(shape, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=dtype),
        lambda: nn.LayerNorm(shape, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=dtype),
    )
    assert_same_state(mine, ref)
    if affine:  # non-trivial γ, β so that their gradients are tested through a real scale/shift
        with torch.no_grad():
            for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
                b.copy_(a.uniform_(0.5, 1.5))
    x = torch.randn(4, 3, 8, dtype=dtype) * 3 + 1
    assert_same_outputs_and_grads(mine, ref, x, TOL[dtype])
    for p in [*mine.parameters(), *ref.parameters()]:
        p.grad = None
    plain = _Plain(mine)  # the formula written out, next to the same nn.LayerNorm
    assert_same_outputs_and_grads(plain, ref, x, TOL[dtype])


class _Plain:
    """A layer called through its ``plain_forward``."""

    def __init__(self, layer):
        self.layer = layer

    def __call__(self, x):
        return self.layer.plain_forward(x)

    def named_parameters(self):
        return self.layer.named_parameters()


@settings(max_examples=25, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), last=st.integers(1, 6))
def test_property_layernorm_equals_torch_layer_norm(lead, last):
    x = torch.randn(*lead, last, dtype=F64, generator=torch.Generator().manual_seed(last))
    ln = LayerNorm(last, dtype=F64)
    expected = F.layer_norm(x, (last,))
    torch.testing.assert_close(ln(x), expected, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(ln.plain_forward(x), expected, atol=1e-12, rtol=1e-12)


# ---------------------------------------------------------------- Embedding
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_embedding_matches_nn_init_forward_and_gradient(padding_idx, dtype):
    mine, ref = same_seed(
        lambda: Embedding(7, 5, padding_idx=padding_idx, dtype=dtype),
        lambda: nn.Embedding(7, 5, padding_idx=padding_idx, dtype=dtype),
    )
    assert mine.padding_idx == ref.padding_idx
    assert_same_state(mine, ref)
    idx = torch.tensor([[0, 3, 6, 3], [6, 0, 1, 1]])  # repeats: gradients add up
    assert_same_outputs_and_grads(mine, ref, idx, TOL[dtype])
    if padding_idx is not None:
        assert mine.weight.grad[mine.padding_idx].abs().sum() == 0


def test_embedding_rejects_a_padding_idx_out_of_range():
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(4, 2, padding_idx=4)


# ---------------------------------------------------------------- Dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_dropout_mask_and_output_equal_nn_dropout_from_the_same_seed(p, dtype):
    """On the CPU both draw empty_like(x).bernoulli_(1 − p) from the global generator."""
    x = torch.randn(64, 33, dtype=dtype, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    torch.manual_seed(5)
    y = Dropout(p)(x)
    torch.manual_seed(5)
    y_ref = nn.Dropout(p)(x_ref)
    torch.testing.assert_close(y, y_ref, atol=0, rtol=0)
    # and the generator is left in the same state (the same number of draws)
    torch.manual_seed(5)
    Dropout(p)(x)
    after_mine = torch.rand(3)
    torch.manual_seed(5)
    nn.Dropout(p)(x_ref)
    torch.testing.assert_close(after_mine, torch.rand(3), atol=0, rtol=0)
    y.sum().backward()
    y_ref.sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=0, rtol=0)


def test_dropout_is_the_identity_in_eval_and_for_p_0_and_zero_for_p_1():
    x = torch.randn(10, 10)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0)(x) is x
    torch.manual_seed(0)
    out = Dropout(1.0)(x)
    torch.manual_seed(0)
    torch.testing.assert_close(out, nn.Dropout(1.0)(x), atol=0, rtol=0)
    assert (out == 0).all()


def test_dropout_statistics_inverted_scaling_keeps_the_mean():
    x = torch.ones(200_000, dtype=F64)
    y = dropout(x, 0.3, generator=torch.Generator().manual_seed(0))
    kept = (y != 0).double().mean().item()
    assert abs(kept - 0.7) < 0.005  # Bernoulli(0.7): std of the mean ≈ 0.001
    assert set(y.unique().tolist()) == {0.0, 1 / 0.7}
    assert abs(y.mean().item() - 1.0) < 0.01


def test_dropout_rejects_p_outside_0_1():
    with pytest.raises(ValueError, match="p must be in"):
        Dropout(1.5)


# ---------------------------------------------------------------- attention
@pytest.mark.parametrize("dtype", [F64, F32])
def test_plain_and_fused_attention_equal_scaled_dot_product_attention(dtype):
    q, k, v = (torch.randn(2, 3, 6, 4, dtype=dtype) for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tol = TOL[dtype]
    torch.testing.assert_close(attention(q, k, v), expected, atol=tol, rtol=tol)
    torch.testing.assert_close(attention_fused(q, k, v), expected, atol=tol, rtol=tol)


def test_causal_mask_hides_exactly_the_future():
    m = causal_mask(4)
    assert m.tolist() == [
        [False, True, True, True],
        [False, False, True, True],
        [False, False, False, True],
        [False, False, False, False],
    ]
    # changing a later token leaves every earlier output unchanged
    torch.manual_seed(0)
    attn = CausalSelfAttention(8, 2, dtype=F64)
    x = torch.randn(1, 5, 8, dtype=F64)
    x2 = x.clone()
    x2[0, 3] += 1.0
    torch.testing.assert_close(attn(x)[:, :3], attn(x2)[:, :3], atol=1e-14, rtol=0)
    assert not torch.allclose(attn(x)[:, 3:], attn(x2)[:, 3:])


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_causal_self_attention_matches_nn_multihead_attention(bias, dtype):
    mine, ref = same_seed(
        lambda: CausalSelfAttention(12, 3, bias=bias, dtype=dtype),
        lambda: nn.MultiheadAttention(12, 3, bias=bias, batch_first=True, dtype=dtype),
    )
    assert_same_state(mine, ref)
    if bias:  # non-zero biases, so that their gradients go through a real shift
        with torch.no_grad():
            for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
                if a.dim() == 1:
                    b.copy_(a.normal_())
    x = torch.randn(2, 7, 12, dtype=dtype)
    mask = causal_mask(7)

    def call_ref(t):
        return ref(t, t, t, attn_mask=mask, need_weights=False)[0]

    assert_same_outputs_and_grads(mine, ref, x, TOL[dtype] * 10, call_ref)


def test_causal_self_attention_rejects_heads_that_do_not_divide():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        CausalSelfAttention(10, 3)


# ---------------------------------------------------------------- TransformerBlock
def reference_block(E, H, F_, dropout, dtype):
    return nn.TransformerEncoderLayer(
        E, H, F_, dropout, activation="gelu", batch_first=True, norm_first=True, dtype=dtype
    )


@pytest.mark.parametrize("dtype", [F64, F32])
def test_transformer_block_matches_nn_transformer_encoder_layer_norm_first(dtype):
    mine, ref = same_seed(
        lambda: TransformerBlock(16, 4, dim_feedforward=32, dtype=dtype),
        lambda: reference_block(16, 4, 32, 0.0, dtype),
    )
    assert_same_state(mine, ref)
    x = torch.randn(3, 6, 16, dtype=dtype)
    mask = causal_mask(6)
    assert_same_outputs_and_grads(
        mine, ref, x, TOL[dtype] * 10, lambda t: ref(t, src_mask=mask, is_causal=True)
    )


def test_transformer_block_with_dropout_is_random_in_train_and_equal_to_torch_in_eval():
    mine, ref = same_seed(
        lambda: TransformerBlock(8, 2, dropout=0.3, dtype=F64),
        lambda: reference_block(8, 2, 32, 0.3, F64),
    )
    x = torch.randn(2, 5, 8, dtype=F64)
    assert not torch.allclose(mine(x), mine(x))  # training: a new mask per call
    mine.eval()
    ref.eval()
    mask = causal_mask(5)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), mine(x), atol=0, rtol=0)
        torch.testing.assert_close(
            mine(x), ref(x, src_mask=mask, is_causal=True), atol=1e-12, rtol=1e-12
        )


def test_state_dicts_load_into_torch_nn_and_back():
    torch.manual_seed(0)
    mine = TransformerBlock(8, 2, dtype=F64)
    torch.manual_seed(1)
    ref = reference_block(8, 2, 32, 0.0, F64)
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(2, 4, 8, dtype=F64)
    with torch.no_grad():
        torch.testing.assert_close(
            mine(x), ref(x, src_mask=causal_mask(4), is_causal=True), atol=1e-12, rtol=1e-12
        )


@pytest.mark.parametrize("dtype", [F64, F32])
def test_the_blocks_fused_gelu_equals_the_hand_written_one_and_F_gelu(dtype):
    from nnscratch.functional import gelu
    from nnscratch.layers.transformer import gelu_fused

    x = (torch.randn(50, dtype=dtype) * 4).requires_grad_(True)
    tol = TOL[dtype]
    for fn in (gelu, gelu_fused):
        y = fn(x)
        torch.testing.assert_close(y, F.gelu(x), atol=tol, rtol=tol)
        (g,) = torch.autograd.grad(y.sum(), x)
        (g_ref,) = torch.autograd.grad(F.gelu(x).sum(), x)
        torch.testing.assert_close(g, g_ref, atol=tol, rtol=tol)
