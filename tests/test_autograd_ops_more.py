"""The engine's operations beyond the models' first needs: ``x ** y`` with a tensor exponent (and
``2 ** x``), ``Tensor.unfold``, ``torch.constant_pad_nd`` (so that im2col, and with it AvgPool2d
and the plain conv/pool forms, runs on the engine), attention with masks and a scale. Each against
torch.autograd (value and every input gradient, float64) and against central finite differences
(`test_autograd_ops.check`), on random shapes from hypothesis."""

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_autograd_ops import broadcast_pair, check, rand

from nnscratch.autograd import Tensor
from nnscratch.autograd.ops import nn as engine_nn

D = torch.float64
FEW = settings(max_examples=8, deadline=None)
TOL = {"atol": 1e-12, "rtol": 1e-12}


def against_torch(fn, *arrays, equal_nan=False, upstream_seed=9):
    """fn on engine leaves and on torch leaves: the same value and ∂(Σ u ⊙ fn)/∂ each input."""
    leaves = [Tensor(a.clone(), requires_grad=a.is_floating_point()) for a in arrays]
    refs = [a.clone().requires_grad_(a.is_floating_point()) for a in arrays]
    out, ref = fn(*leaves), fn(*refs)
    u = torch.randn(ref.shape, dtype=D, generator=torch.Generator().manual_seed(upstream_seed))
    out.backward(u)
    ref.backward(u)
    torch.testing.assert_close(out.data, ref.detach(), equal_nan=equal_nan, **TOL)
    for leaf, r in zip(leaves, refs, strict=True):
        if r.grad is not None:
            torch.testing.assert_close(leaf.grad, r.grad, equal_nan=equal_nan, **TOL)


# -- x ** y ---------------------------------------------------------------------------------


@FEW
@given(broadcast_pair(), st.booleans())
def test_pow_with_a_tensor_exponent_broadcasts(shapes, swap):
    x, y = rand(shapes[0], 0, low=0.3), rand(shapes[1], 1)  # x > 0: xʸ is smooth in both
    if swap:
        x, y = rand(shapes[1], 0, low=0.3), rand(shapes[0], 1)
    check(lambda a, b: a**b, x, y)
    against_torch(lambda a, b: a**b, x, y)
    against_torch(lambda a, b: torch.pow(a, b), x, y)


@FEW
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.sampled_from([2.0, 0.5, 3]))
def test_pow_with_a_number_base_or_a_number_exponent(shape, number):
    y = rand(shape, 2)
    check(lambda b: number**b, y)  # __rpow__
    against_torch(lambda b: number**b, y)
    against_torch(lambda b: torch.pow(number, b), y)
    x = rand(shape, 3, low=0.3)
    against_torch(lambda a: a**number, x)
    against_torch(lambda a, b: a ** b.detach(), x, y)  # a plain tensor exponent: ∂x only


def test_pow_at_zero_and_negative_bases_is_torchs():
    """x ≤ 0, exactly as torch.autograd: ∂x = 0 where y = 0; ∂y = 0 where x = 0 and y ≥ 0,
    ±inf where x = 0 and y < 0, NaN where x < 0 (log x)."""
    x = torch.tensor([-1.0, 0.0, 0.0, 0.0, 2.0, -2.0, 0.0, -3.0], dtype=D)
    y = torch.tensor([2.0, 0.0, -1.0, 2.5, 0.5, 3.0, 1.0, 0.0], dtype=D)
    against_torch(lambda a, b: a**b, x, y, equal_nan=True)
    for base in (0.0, -2.0, 2.0):
        against_torch(lambda b, base=base: base**b, y, equal_nan=True)
    for p in (0, 0.0, 1, 2, -1, 0.5):
        against_torch(lambda a, p=p: a**p, x, equal_nan=True)


# -- unfold and constant_pad_nd -------------------------------------------------------------


@st.composite
def unfold_args(draw):
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    size = draw(st.integers(1, shape[dim]))
    return shape, dim, size, draw(st.integers(1, 3))


@FEW
@given(unfold_args())
def test_unfold(args):
    shape, dim, size, step = args
    x = rand(shape, 4)
    for fast in (True, False):
        engine_nn.FAST = fast
        try:
            check(lambda t: t.unfold(dim, size, step), x)
            against_torch(lambda t: t.unfold(dim, size, step), x)
        finally:
            engine_nn.FAST = True


@FEW
@given(unfold_args())
def test_unfold_backward_fast_equals_plain(args):
    from nnscratch.backprop import shape as S

    shape, dim, size, step = args
    x = rand(shape, 5)
    g = rand(x.unfold(dim, size, step).shape, 6)
    plain = S.unfold_backward(g, x.shape, dim, size, step)
    torch.testing.assert_close(S.unfold_backward_fast(g, x.shape, dim, size, step), plain, **TOL)


@FEW
@given(st.lists(st.integers(2, 5), min_size=1, max_size=3), st.data())
def test_constant_pad_nd(shape, data):
    pad = []
    for n in reversed(shape[-2:]):  # (before, after) for the last dims, a crop (< 0) too
        pad += [data.draw(st.integers(-(n // 2), 2)), data.draw(st.integers(-(n // 2), 2))]
    value = data.draw(st.sampled_from([0.0, 1.5, -float("inf")]))
    x = rand(shape, 7)
    fn = lambda t: torch.constant_pad_nd(t, pad, value)  # noqa: E731
    against_torch(fn, x)
    if value != -float("inf"):
        check(fn, x)


# -- what runs through im2col: AvgPool2d, the plain conv and max-pool forms ----------------

AVG_POOL = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 1), "count_include_pad": False},
    {"kernel_size": 3, "stride": 1, "padding": 1, "divisor_override": 4},
    {"kernel_size": 2, "stride": 1, "padding": 1, "count_include_pad": False,
     "divisor_override": 3},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
]  # fmt: skip


def test_avg_pool2d_layer_on_the_engine_equals_torch():
    """nnscratch's AvgPool2d (im2col: pad, strided slices, stack, sum, divide) recorded by the
    engine, every option, batched and unbatched, next to torch.autograd through F.avg_pool2d."""
    from nnscratch.layers import AvgPool2d

    for options in AVG_POOL:
        for shape in ((2, 3, 5, 6), (3, 5, 6)):
            x = rand(shape, 8)
            leaf, ref = Tensor(x.clone(), requires_grad=True), x.clone().requires_grad_(True)
            out = AvgPool2d(**options)(leaf)
            expected = F.avg_pool2d(ref, **options)
            u = rand(expected.shape, 9)
            out.backward(u)
            expected.backward(u)
            torch.testing.assert_close(out.data, expected.detach(), **TOL)
            torch.testing.assert_close(leaf.grad, ref.grad, **TOL)
    check(lambda t: AvgPool2d(3, 2, 1, count_include_pad=False)(t), rand((1, 2, 5, 5), 10))


def test_plain_conv_and_pool_forms_on_the_engine_equal_torch():
    """conv2d_unfold and max_pool2d_unfold (im2col, padding included) recorded by the engine."""
    from nnscratch.layers.conv import conv2d_unfold
    from nnscratch.layers.pool import max_pool2d_unfold

    x, w, b = rand((2, 4, 6, 7), 11), rand((6, 2, 3, 2), 12), rand((6,), 13)
    against_torch(lambda x_, w_, b_: conv2d_unfold(x_, w_, b_, 2, 1, (1, 2), 2), x, w, b)
    against_torch(lambda x_, w_: conv2d_unfold(x_, w_, None, 1, "same"), x, rand((3, 4, 2, 3), 14))
    pool = ((3, 3), (2, 2), (1, 1), (1, 1), True)  # ceil_mode: −∞ rows at the bottom/right
    against_torch(lambda x_: max_pool2d_unfold(x_, *pool), x)
    torch.testing.assert_close(max_pool2d_unfold(x, *pool), torch.max_pool2d(x, *pool))


def test_unbatched_conv2d_and_max_pool2d_are_a_batch_of_one():
    x, w, b = rand((3, 6, 5), 15), rand((4, 3, 3, 3), 16), rand((4,), 17)
    against_torch(lambda x_, w_, b_: torch.conv2d(x_, w_, b_, 1, 1), x, w, b)
    against_torch(lambda x_: torch.max_pool2d(x_, (2, 2), (1, 2), (1, 0), (1, 1), True), x)
    check(lambda x_, w_: torch.conv2d(x_, w_, None, 2), x, w)


def test_max_over_a_dim_sends_g_to_the_index_found():
    """x.max(dim): g to the first maximum only (ties are not shared); x.max(): ties share."""
    x = rand((3, 4), 18)
    check(lambda t: t.max(dim=1).values, x)
    check(lambda t: t.max(0, keepdim=True)[0], x)
    ties = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=D)
    against_torch(lambda t: t.max(dim=1).values, ties)
    against_torch(lambda t: torch.max(t), ties)
    values, indices = Tensor(ties).max(dim=1)
    assert indices.tolist() == [1, 0] and not isinstance(indices, Tensor)


# -- attention with any mask and scale ------------------------------------------------------

SDPA = torch.ops.aten.scaled_dot_product_attention


@st.composite
def attention_case(draw):
    """Q (B, H, L, E), K (B, H, S, E), V (B, H, S, Ev), or without the head dim; a mask of
    (L, S), (B, 1, L, S)… or none; is_causal (without a mask); a scale or the default."""
    B, H, L, S = (draw(st.integers(1, 3)) for _ in range(4))
    E, Ev = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    batch = [B, H] if draw(st.booleans()) else [B]
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask_shape = draw(st.sampled_from([[L, S], [*batch[:-1], 1, L, S], [*batch, L, 1]]))
    scale = draw(st.sampled_from([None, 0.3, 2.0]))
    return batch, L, S, E, Ev, kind, mask_shape, scale


@FEW
@given(attention_case(), st.integers(0, 2**16))
def test_attention_with_masks_and_a_scale(case, seed):
    batch, L, S, E, Ev, kind, mask_shape, scale = case
    q, k, v = rand([*batch, L, E], seed), rand([*batch, S, E], seed + 1), rand([*batch, S, Ev], 2)
    inputs = [q, k, v]
    if kind == "bool":  # True takes part; rows with no True at all give 0, as torch
        g = torch.Generator().manual_seed(seed)
        mask = torch.rand(mask_shape, generator=g) > 0.3

        def fn(a, b, c):
            return SDPA(a, b, c, mask, 0.0, False, scale=scale)
    elif kind == "float":  # added to the scores, and it gets its gradient
        inputs.append(rand(mask_shape, seed + 3))

        def fn(a, b, c, m):
            return SDPA(a, b, c, m, 0.0, False, scale=scale)
    else:

        def fn(a, b, c):
            return SDPA(a, b, c, None, 0.0, kind == "causal", scale=scale)

    against_torch(fn, *inputs)
    check(fn, *inputs)


def test_attention_rows_masked_everywhere_and_minus_inf_in_a_float_mask():
    q, k, v = rand((1, 2, 3, 2), 40), rand((1, 2, 4, 2), 41), rand((1, 2, 4, 3), 42)
    mask = torch.tensor([[True, False, True, False], [False] * 4, [True] * 4])
    against_torch(lambda a, b, c: SDPA(a, b, c, mask), q, k, v)
    bias = torch.zeros(3, 4, dtype=D).masked_fill(~mask, -float("inf"))
    against_torch(lambda a, b, c: SDPA(a, b, c, bias), q, k, v)
    against_torch(lambda a, b, c: SDPA(a, b, c, None, 0.0, True, scale=0.7), q, k, v)


def test_attention_dropout_with_a_mask_draws_torchs_mask():
    """The same seed, the same dropped weights: value and gradients equal torch's."""
    q, k, v = rand((2, 2, 4, 3), 43), rand((2, 2, 5, 3), 44), rand((2, 2, 5, 3), 45)
    mask = torch.rand(4, 5, generator=torch.Generator().manual_seed(0)) > 0.2

    def fn(a, b, c):
        torch.manual_seed(7)
        return SDPA(a, b, c, mask, 0.3, False, scale=0.5)

    against_torch(fn, q, k, v)


def test_attention_refusals_say_what_to_do():
    import pytest

    q = Tensor(rand((1, 2, 3, 2), 46), requires_grad=True)
    with pytest.raises(NotImplementedError, match="repeat_interleave"):
        SDPA(q, q, q, None, 0.0, False, enable_gqa=True)
    with pytest.raises(RuntimeError, match="is_causal"):
        SDPA(q, q, q, torch.ones(3, 3, dtype=torch.bool), 0.0, True)


def test_ops_the_module_db_samples_needed():
    """movedim (cross_entropy's (N, C, d…) logits), max_pool2d_with_indices (MaxPool2d's
    return_indices), batch_norm on an empty batch (torch's own rule: no statistics)."""
    x = rand((2, 3, 4), 19)
    check(lambda t: t.movedim(1, -1), x)
    against_torch(lambda t: torch.movedim(t, (0, 1), (2, 0)), x)
    img = rand((2, 2, 5, 5), 20)
    args = ((3, 3), (2, 2), (1, 1), (1, 1), True)
    against_torch(lambda t: torch.ops.aten.max_pool2d_with_indices(t, *args)[0], img)
    against_torch(lambda t: torch.ops.aten.max_pool2d_with_indices(t, *args)[0], img[0])
    y, indices = torch.ops.aten.max_pool2d_with_indices(Tensor(img), *args)
    assert torch.equal(indices, torch.ops.aten.max_pool2d_with_indices(img, *args)[1])
    empty, w, b = torch.zeros(0, 3, 4, dtype=D), rand((3,), 21), rand((3,), 22)
    against_torch(lambda t, g, c: torch.batch_norm(t, g, c, None, None, True, 0.1, 1e-5, False),
                  empty, w, b)  # fmt: skip


def test_copy_into_a_buffer_of_a_value_without_gradient_is_allowed_and_the_rest_refused():
    """BatchNorm's plain_forward updates its running statistics with copy_ of detached values:
    it runs on the engine, equal to torch; in-place writes the graph would miss are refused."""
    import pytest

    from nnscratch.layers import BatchNorm1d

    x = rand((5, 4), 23)
    ours, reference = BatchNorm1d(4, dtype=D), BatchNorm1d(4, dtype=D)
    against_torch(lambda t: ours.plain_forward(t) if isinstance(t, Tensor) else
                  reference.plain_forward(t), x)  # fmt: skip
    torch.testing.assert_close(ours.running_var, reference.running_var, **TOL)
    leaf = Tensor(x.clone(), requires_grad=True)
    with pytest.raises(NotImplementedError, match="in-place copy_"):
        torch.zeros(5, 4, dtype=D).copy_(leaf * 2.0)
    with pytest.raises(NotImplementedError, match="in-place copy_"):
        leaf.copy_(x)
