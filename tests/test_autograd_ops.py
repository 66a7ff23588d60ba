"""Every operation of `nnscratch.autograd` against central finite differences in float64
(gradcheck-style), on random shapes with broadcasting drawn by hypothesis, and the fast forms
of the backward formulas equal to their plain forms."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnscratch.autograd import Tensor, no_grad
from nnscratch.autograd.ops import nn as engine_nn

D = torch.float64
FEW = settings(max_examples=6, deadline=None)


def finite_difference(fn, arrays, i, eps=1e-6):
    """∂(Σ w ⊙ fn)/∂arrays[i] by central differences, one entry at a time."""
    x = arrays[i]
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for j in range(flat.numel()):
        old = flat[j].item()
        flat[j] = old + eps
        plus = fn(*arrays)
        flat[j] = old - eps
        minus = fn(*arrays)
        flat[j] = old
        gflat[j] = (plus - minus) / (2 * eps)
    return grad


def check(fn, *arrays, differentiable=None):
    """The engine's gradient of Σ w ⊙ fn(inputs) equals the finite differences."""
    arrays = [a.clone() for a in arrays]
    which = range(len(arrays)) if differentiable is None else differentiable
    leaves = [Tensor(a.clone(), requires_grad=i in which) for i, a in enumerate(arrays)]
    out = fn(*leaves)
    w = torch.randn(out.shape, dtype=D, generator=torch.Generator().manual_seed(1))
    (out * w).sum().backward()

    def value(*xs):
        with no_grad():
            return (fn(*[Tensor(x) for x in xs]).data * w).sum().item()

    for i in which:
        expected = finite_difference(value, arrays, i)
        torch.testing.assert_close(leaves[i].grad, expected, atol=1e-6, rtol=1e-5)


def rand(shape, seed, low=None):
    x = torch.randn(shape, dtype=D, generator=torch.Generator().manual_seed(seed))
    return x if low is None else x.abs() + low


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: the second drops leading dims and has some dims set to 1."""
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    drop = draw(st.integers(0, len(shape) - 1))
    other = [1 if draw(st.booleans()) else n for n in shape[drop:]]
    if draw(st.booleans()):
        return shape, other
    return other, shape


@FEW
@given(broadcast_pair(), st.sampled_from(["add", "sub", "mul", "div", "rsub", "radd"]))
def test_binary_operations_with_broadcasting(shapes, op):
    a, b = rand(shapes[0], 0), rand(shapes[1], 1, low=0.5)  # b > 0.5: a safe divisor
    fns = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
        "rsub": lambda x, y: 2.0 - x * y,
        "radd": lambda x, y: torch.add(x, y, alpha=0.5),
    }
    check(fns[op], a, b)


UNARY = {
    "exp": (lambda x: x.exp(), None),
    "log": (lambda x: torch.log(x), 0.1),
    "log1p": (lambda x: torch.log1p(x), 0.1),
    "expm1": (lambda x: torch.expm1(x), None),
    "erfc": (lambda x: torch.erfc(x), None),
    "sqrt": (lambda x: x.sqrt(), 0.1),
    "abs": (lambda x: x.abs(), 0.1),
    "neg": (lambda x: -x, None),
    "pow3": (lambda x: x**3, None),
    "square": (lambda x: x.square(), None),
    "tanh": (lambda x: torch.tanh(x), None),
    "sigmoid": (lambda x: torch.sigmoid(x), None),
    "relu": (lambda x: torch.relu(x - 0.05), 0.1),  # away from the kink
    "gelu": (lambda x: torch.ops.aten.gelu(x), None),
    "threshold": (lambda x: torch.threshold(x, 0.0, 0.0), 0.1),
    "softmax": (lambda x: torch.softmax(x, -1), None),
    "log_softmax": (lambda x: torch.log_softmax(x, 0), None),
    "masked_fill": (lambda x: x.masked_fill(x.data > 0.5, -1.0), None),
    "where": (lambda x: torch.where(x.data > 0, x, 0.5 * x), None),
}


@FEW
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.sampled_from(sorted(UNARY)))
def test_unary_operations(shape, name):
    fn, low = UNARY[name]
    x = rand(shape, 2, low)
    if name == "abs":
        x = x * torch.where(rand(shape, 3) > 0, 1.0, -1.0)  # both signs, away from 0
    check(fn, x)


@FEW
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
    st.sampled_from(["sum", "mean", "amax"]),
    st.booleans(),
    st.data(),
)
def test_reductions_over_dims(shape, name, keepdim, data):
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    x = rand(shape, 4)
    check(lambda t: getattr(t, name)(dim=tuple(dims), keepdim=keepdim), x)
    if name != "amax":
        check(lambda t: getattr(t, name)(), x)


def test_shape_operations():
    x = rand((2, 3, 4), 5)
    check(lambda t: t.reshape(4, 6).T, x)
    check(lambda t: t.view(6, 4).transpose(0, 1), x)
    check(lambda t: t.permute(2, 0, 1).flatten(1), x)
    check(lambda t: t.unsqueeze(1).squeeze(1).expand(3, 2, 3, 4), x)
    check(lambda t: t[:, 1:, ::2], x)
    check(lambda t: t[torch.tensor([1, 0, 1, 1])], x)  # repeated rows add up
    check(lambda t: t.gather(2, torch.tensor([[[0, 3], [1, 1], [2, 0]]] * 2)), x)
    check(lambda t: torch.cat([t, t * 2.0], dim=1), x)
    check(lambda t: torch.stack([t, t.exp()], dim=0), x)
    check(lambda t: t.split(2, dim=2)[1] * t.split([1, 3], dim=2)[1][..., :2], x)
    check(lambda t: t.contiguous().clone(), x)


@FEW
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_matrix_products(n, k, m, batched):
    a = rand((2, n, k) if batched else (n, k), 6)
    b = rand((k, m), 7)
    check(lambda x, y: x @ y, a, b)
    check(lambda x, y: torch.matmul(x, y[:, 0]), a, b)  # a 1-D operand
    check(lambda x, y: x[0] @ y if batched else x[0] @ y, a, b)
    c = rand((m,), 8)
    check(lambda x, y, z: torch.addmm(z, x, y, beta=0.5, alpha=2.0), a.reshape(-1, k), b, c)


@FEW
@given(
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(5, 7),
    st.sampled_from([(1, 0, 1), (2, 1, 1), (1, 2, 2), (1, "same", 1)]),
)
def test_conv2d(groups, per_group, size, spd):
    stride, padding, dilation = spd
    C, O = groups * per_group, groups * 2
    x, w, b = rand((2, C, size, size), 9), rand((O, per_group, 3, 3), 10), rand((O,), 11)
    for fast in (True, False):
        engine_nn.FAST = fast
        try:
            check(
                lambda x_, w_, b_: torch.conv2d(x_, w_, b_, stride, padding, dilation, groups),
                x,
                w,
                b,
            )
        finally:
            engine_nn.FAST = True


def test_max_pool2d():
    x = rand((2, 2, 5, 5), 12)
    check(lambda t: torch.max_pool2d(t, (2, 2), (2, 2), (0, 0), (1, 1), False), x)
    check(lambda t: torch.max_pool2d(t, (3, 3), (1, 1), (1, 1), (1, 1), True), x)  # overlapping


def test_norms_fast_and_plain():
    x, w, b = rand((3, 2, 4), 13), rand((4,), 14), rand((4,), 15)
    xb, wb, bb = rand((4, 3, 2, 2), 16), rand((3,), 17), rand((3,), 18)
    for fast in (True, False):
        engine_nn.FAST = fast
        try:
            check(lambda t, g, c: torch.layer_norm(t, (4,), g, c, 1e-5), x, w, b)
            check(lambda t: torch.layer_norm(t, (2, 4), None, None, 1e-5), x)
            for training in (True, False):
                rm, rv = rand((3,), 19), rand((3,), 20, low=0.5)

                def bn(t, g, c, rm=rm, rv=rv, training=training):
                    return torch.batch_norm(
                        t, g, c, rm.clone(), rv.clone(), training, 0.1, 1e-5, False
                    )

                check(bn, xb, wb, bb)
        finally:
            engine_nn.FAST = True


def test_attention_fast_and_plain():
    q, k, v = rand((1, 2, 4, 3), 21), rand((1, 2, 4, 3), 22), rand((1, 2, 4, 3), 23)
    sdpa = torch.ops.aten.scaled_dot_product_attention
    for fast in (True, False):
        engine_nn.FAST = fast
        try:
            check(lambda a, b, c: sdpa(a, b, c, None, 0.0, True), q, k, v)
        finally:
            engine_nn.FAST = True


def test_softmax_cross_entropy_composition_matches_the_closed_form():
    """cross_entropy built from the engine's elementary ops: ∂/∂x = (p − onehot)/N."""
    from nnscratch.losses import cross_entropy

    x = rand((4, 3), 24)
    y = torch.tensor([0, 2, 1, 2])
    t = Tensor(x.clone(), requires_grad=True)
    cross_entropy(t, y).backward()
    expected = (torch.softmax(x, 1) - torch.eye(3, dtype=D)[y]) / 4
    torch.testing.assert_close(t.grad, expected, atol=1e-12, rtol=0)
    assert math.isfinite(t.grad.sum().item())


def test_fast_forms_equal_the_plain_forms():
    """Each fast form of a backward formula against its plain form, float64."""
    from nnscratch.backprop import activations
    from nnscratch.backprop import attention as A
    from nnscratch.backprop import attention_flash as AF
    from nnscratch.backprop import conv as C
    from nnscratch.backprop import norm as N
    from nnscratch.backprop import pool as P

    z, g = rand((3, 5), 30), rand((3, 5), 31)
    for name in ("relu", "gelu"):
        plain = activations.DERIVATIVES[name](g.clone(), z, None)
        fast = getattr(activations, f"{name}_backward_fast")(g, z, None)
        torch.testing.assert_close(fast, plain, atol=1e-14, rtol=0)
    q, k, v, dy = (rand((2, 2, 5, 3), s) for s in range(32, 36))
    a = A.attention_scores(q, k)
    torch.testing.assert_close(A.attention_scores_fast(q, k), a, atol=1e-14, rtol=0)
    y, lse = AF.attention_flash(q, k, v)
    torch.testing.assert_close(y, a @ v, atol=1e-14, rtol=0)
    torch.testing.assert_close(AF.attention_probabilities(q, k, lse), a, atol=1e-14, rtol=0)
    for fast, plain in zip(
        AF.attention_backward_flash(dy, q, k, v, y, lse),
        A.attention_backward(dy, q, k, v, a, a, None),
        strict=True,
    ):
        torch.testing.assert_close(fast, plain, atol=1e-13, rtol=0)
    for chunk in (1, 3):  # a head at a time, 5 sequences: equal chunks, then a short last one
        q5, k5, v5, dy5 = (rand((5, 2, 6, 3), s).transpose(1, 2) for s in range(50, 54))  # strided
        y5, lse5 = AF.attention_flash(q5, k5, v5)
        a5 = A.attention_scores(q5, k5)
        for fast, plain in zip(
            AF.attention_backward_flash(dy5, q5, k5, v5, y5, lse5, rows_per_chunk=chunk),
            A.attention_backward(dy5, q5, k5, v5, a5, a5, None),
            strict=True,
        ):
            torch.testing.assert_close(fast, plain, atol=1e-13, rtol=0)
    qkv = rand((2, 6, 3 * 2 * 3), 54)  # (B, T, 3·H·D): the heads' views of one projection
    heads = [t.view(2, 6, 2, 3).transpose(1, 2) for t in qkv.split(6, dim=2)]
    y6, lse6 = AF.attention_flash(*heads)
    for grad in AF.attention_backward_flash(rand(y6.shape, 55), *heads, y6, lse6):
        assert grad.transpose(1, 2).is_contiguous()  # back to (B, T, H, D): no copy needed
    mask = torch.empty_like(a).bernoulli_(0.7).div_(0.7)
    for m, dropped in ((None, a), (mask, a * mask)):
        for fast, plain in zip(
            A.attention_backward_fast(dy, q, k, v, a, dropped, m),
            A.attention_backward(dy, q, k, v, a, dropped, m),
            strict=True,
        ):
            torch.testing.assert_close(fast, plain, atol=1e-14, rtol=0)
    for s, p, d, groups in ((1, (1, 1), (1, 1), 1), (2, (0, 1), (1, 2), 2), (3, (2, 0), (2, 1), 1)):
        x, w = rand((2, 4, 9, 8), 36), rand((6, 4 // groups, 3, 2), 37)
        y = torch.conv2d(x, w, None, s, p, d, groups)
        dy = rand(y.shape, 38)
        args = ((s, s), p, d, groups)
        for fast in (C.conv2d_weight_grad_fast, C.conv2d_weight_grad_as_conv):
            torch.testing.assert_close(
                fast(dy, x, w.shape, *args), C.conv2d_weight_grad(dy, x, w.shape, *args)
            )
        torch.testing.assert_close(
            C.conv2d_input_grad_fast(dy, w, (9, 8), *args),
            C.conv2d_input_grad(dy, w, (9, 8), *args),
        )
        dx, dw = C.conv2d_grads_fast(dy, x, w, *args)
        torch.testing.assert_close(dx, C.conv2d_input_grad(dy, w, (9, 8), *args))
        torch.testing.assert_close(dw, C.conv2d_weight_grad(dy, x, w.shape, *args))
        for window in (
            ((2, 2), (2, 2), (0, 0), (1, 1), False),
            ((3, 2), (2, 1), (1, 0), (1, 2), True),
        ):
            y_max, where = torch.ops.aten.max_pool2d_with_indices(x, *window)
            g_max = rand(y_max.shape, 43)
            torch.testing.assert_close(
                P.max_pool2d_input_grad_fast(g_max, x, where, *window),
                P.max_pool2d_input_grad(g_max, where, x.shape),
                atol=1e-14,
                rtol=0,
            )
        only_x, none_w = C.conv2d_grads_fast(dy, x, w, *args, need=(True, False))
        none_x, only_w = C.conv2d_grads_fast(dy, x, w, *args, need=(False, True))
        assert none_w is None and none_x is None
        torch.testing.assert_close(only_x, dx, atol=0, rtol=0)
        torch.testing.assert_close(only_w, dw, atol=0, rtol=0)
    x, dy, w, b = rand((3, 2, 4), 39), rand((3, 2, 4), 40), rand((4,), 41), rand((4,), 42)
    mu = x.mean(-1, keepdim=True)
    r = 1 / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    fast = N.layer_norm_grads_fast(dy, x, mu, r, w, b, 1, (True, True, True))
    plain = N.layer_norm_grads(dy, (x - mu) * r, r, w, True, 1)
    for f, p_ in zip(fast, plain, strict=True):
        torch.testing.assert_close(f, p_)
