"""Conv2d, MaxPool2d, AvgPool2d, Flatten next to their torch.nn twins: same initial numbers from
the same seed, same forward (float64 tight, float32), same gradients; the plain im2col form too."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nnscratch.layers import AvgPool2d, Conv2d, Flatten, MaxPool2d
from nnscratch.layers.conv import col2im, conv2d_unfold, im2col
from nnscratch.layers.pool import max_pool2d_unfold

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-12, F32: 1e-5}

CONFIGS = [  # (in, out, kernel, stride, padding, dilation, groups, bias)
    (1, 4, 3, 1, 0, 1, 1, True),
    (3, 6, (3, 2), (2, 1), (1, 0), 1, 1, True),
    (4, 6, 3, 1, 1, 2, 2, False),
    (2, 4, 1, 1, 0, 1, 1, True),
    (4, 4, 3, 2, 1, 1, 4, True),
    (2, 3, (4, 3), 1, "same", (1, 2), 1, True),  # even kernel: the extra zeros go bottom/right
    (2, 3, 3, 1, "valid", 1, 1, True),
]


def pair_of_convs(cfg, dtype, seed=0):
    cin, cout, k, s, p, d, g, b = cfg
    torch.manual_seed(seed)
    mine = Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=b, dtype=dtype)
    torch.manual_seed(seed)
    ref = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=b, dtype=dtype)
    return mine, ref


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own, for nn.Conv2d too
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_conv2d_init_forward_and_gradients_match_nn(cfg, dtype):
    mine, ref = pair_of_convs(cfg, dtype)
    assert list(mine.state_dict()) == list(ref.state_dict())
    for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b.detach(), atol=0, rtol=0)  # the same draws
    x = torch.randn(2, cfg[0], 9, 8, dtype=dtype)
    tol = TOL[dtype]
    y_mine, y_ref = mine(x), ref(x)
    torch.testing.assert_close(y_mine, y_ref, atol=tol, rtol=tol)
    y_plain = conv2d_unfold(
        x, mine.weight, mine.bias, mine.stride, mine.padding, mine.dilation, mine.groups
    )
    torch.testing.assert_close(y_plain, y_ref, atol=tol, rtol=tol)
    g = torch.randn_like(y_ref)
    (y_mine * g).sum().backward()
    (y_ref * g).sum().backward()
    for a, b in zip(mine.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=tol * 10, rtol=tol)


def test_conv2d_plain_form_gradients_match_autograd_of_torch_conv2d():
    mine, _ = pair_of_convs(CONFIGS[2], F64)
    x = torch.randn(2, 4, 7, 7, dtype=F64, requires_grad=True)
    args = (mine.stride, mine.padding, mine.dilation, mine.groups)
    y = conv2d_unfold(x, mine.weight, mine.bias, *args)
    g = torch.randn_like(y)
    grads = torch.autograd.grad((y * g).sum(), [x, mine.weight])
    expected = torch.autograd.grad(
        (torch.conv2d(x, mine.weight, None, *args) * g).sum(), [x, mine.weight]
    )
    for a, b in zip(grads, expected, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


def test_im2col_equals_F_unfold_and_col2im_equals_F_fold():
    x = torch.randn(2, 3, 7, 6, dtype=F64)
    k, s, p, d = (3, 2), (2, 1), (1, 1), (1, 2)
    cols = im2col(x, k, s, p, d)  # (N, C, kH·kW, OH, OW)
    ref = F.unfold(x, k, dilation=d, padding=p, stride=s)  # (N, C·kH·kW, L)
    torch.testing.assert_close(cols.flatten(1, 2).flatten(2), ref, atol=0, rtol=0)
    back = col2im(cols, (7, 6), k, s, p, d)
    torch.testing.assert_close(
        back, F.fold(ref, (7, 6), k, dilation=d, padding=p, stride=s), atol=1e-12, rtol=0
    )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    h=st.integers(3, 8),
    w=st.integers(3, 8),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
)
def test_property_conv2d_unfold_equals_torch_conv2d(n, groups, h, w, k, stride, padding, dilation):
    if h + 2 * padding < dilation * (k - 1) + 1 or w + 2 * padding < dilation * (k - 1) + 1:
        return  # no output position
    g = torch.Generator().manual_seed(h * 100 + w)
    x = torch.randn(n, 2 * groups, h, w, dtype=F64, generator=g)
    weight = torch.randn(2 * groups, 2, k, k, dtype=F64, generator=g)
    bias = torch.randn(2 * groups, dtype=F64, generator=g)
    args = (stride, padding, dilation, groups)
    torch.testing.assert_close(
        conv2d_unfold(x, weight, bias, *args),
        torch.conv2d(x, weight, bias, *args),
        atol=1e-12,
        rtol=1e-12,
    )


def test_conv2d_rejects_bad_groups_and_padding():
    with pytest.raises(ValueError, match="needs stride 1"):
        Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'valid' or 'same'"):
        Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        Conv2d(3, 4, 3, padding=-1)


POOLS = [  # (kernel, stride, padding)
    (2, None, 0),
    (3, 2, 1),
    ((3, 2), (1, 2), (1, 0)),
]


@pytest.mark.parametrize("k, s, p", POOLS)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_maxpool2d_matches_nn_forward_and_gradient(k, s, p, dtype):
    x = torch.randn(2, 3, 7, 6, dtype=dtype, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = MaxPool2d(k, s, p)(x), nn.MaxPool2d(k, s, p)(x_ref)
    torch.testing.assert_close(y, y_ref, atol=0, rtol=0)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=TOL[dtype], rtol=0)
    pool = MaxPool2d(k, s, p)
    x_plain = x.detach().clone().requires_grad_(True)
    y_plain = max_pool2d_unfold(x_plain, pool.kernel_size, pool.stride, pool.padding)
    torch.testing.assert_close(y_plain, y_ref, atol=0, rtol=0)
    (y_plain * g).sum().backward()
    torch.testing.assert_close(x_plain.grad, x_ref.grad, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize(
    "k, s, p, d, hw",
    [
        (2, 2, 0, 1, (7, 5)),
        (3, 2, 1, 1, (8, 6)),
        (3, 3, 1, 2, (10, 9)),
        ((3, 2), (2, 3), (1, 0), 1, (6, 7)),
    ],
)
def test_maxpool2d_ceil_mode_matches_nn_forward_and_gradient(k, s, p, d, hw):
    x = torch.randn(2, 3, *hw, dtype=F64, requires_grad=True)
    ref = nn.MaxPool2d(k, s, p, dilation=d, ceil_mode=True)
    mine = MaxPool2d(k, s, p, dilation=d, ceil_mode=True)
    y_ref = ref(x)
    g = torch.randn_like(y_ref)
    (dx_ref,) = torch.autograd.grad((y_ref * g).sum(), x)

    def plain(t):
        return max_pool2d_unfold(
            t, mine.kernel_size, mine.stride, mine.padding, mine.dilation, True
        )

    for fn in (mine, plain):
        y = fn(x)
        torch.testing.assert_close(y, y_ref, atol=0, rtol=0)
        (dx,) = torch.autograd.grad((y * g).sum(), x)
        torch.testing.assert_close(dx, dx_ref, atol=1e-12, rtol=0)


def test_maxpool2d_dilation_matches_nn():
    x = torch.randn(2, 2, 9, 9, dtype=F64)
    torch.testing.assert_close(
        MaxPool2d(3, 2, 1, dilation=2)(x), nn.MaxPool2d(3, 2, 1, dilation=2)(x)
    )


def test_maxpool2d_ties_send_the_gradient_where_torch_does():
    """After a ReLU a window often holds several zeros: the first one (row-major) gets it all."""
    x = torch.relu(torch.randn(4, 3, 8, 8, dtype=F64)).round()  # many ties
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    max_pool2d_unfold(a, (2, 2), (2, 2)).sum().backward()
    nn.MaxPool2d(2)(b).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, atol=0, rtol=0)


@pytest.mark.parametrize("k, s, p", POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_avgpool2d_matches_nn_forward_and_gradient(k, s, p, count_include_pad, dtype):
    x = torch.randn(2, 3, 7, 6, dtype=dtype, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y = AvgPool2d(k, s, p, count_include_pad=count_include_pad)(x)
    y_ref = nn.AvgPool2d(k, s, p, count_include_pad=count_include_pad)(x_ref)
    tol = TOL[dtype]
    torch.testing.assert_close(y, y_ref, atol=tol, rtol=tol)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=tol, rtol=tol)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(2, 8), w=st.integers(2, 8), k=st.integers(1, 3), s=st.integers(1, 3),
    p=st.integers(0, 1), count_include_pad=st.booleans(),
    divisor_override=st.sampled_from([None, 2]),
)  # fmt: skip
def test_avgpool2d_ceil_mode_matches_nn(h, w, k, s, p, count_include_pad, divisor_override):
    """The last, partial windows: k counts pixels and padding, never ceil_mode's extra rows."""
    if p > k // 2 or min(h, w) + 2 * p < k:
        return  # refused by the layer / no output position
    x = torch.randn(2, 3, h, w, dtype=F64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    options = (k, s, p, True, count_include_pad, divisor_override)
    y, y_ref = AvgPool2d(*options)(x), nn.AvgPool2d(*options)(x_ref)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=1e-12)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-12, rtol=1e-12)


def test_pool_padding_above_half_the_kernel_is_refused_as_torch_does():
    with pytest.raises(ValueError, match="half the kernel"):
        MaxPool2d(2, padding=2)


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (2, 3), (1, 2)])
def test_flatten_matches_nn(start, end):
    x = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(Flatten(start, end)(x), nn.Flatten(start, end)(x), atol=0, rtol=0)
