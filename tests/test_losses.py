"""nnscratch.losses next to F.l1_loss / F.huber_loss / F.cross_entropy / F.bce_with_logits."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from torch import nn

from nnscratch import losses as L

F64 = torch.float64
TOL = {"atol": 1e-12, "rtol": 1e-12}
REDUCTIONS = ["none", "mean", "sum"]


def run_both(mine, ref, x, *args, **kwargs):
    """Loss values and ∂(Σ loss)/∂input of both functions."""
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    la, lb = mine(a, *args, **kwargs), ref(b, *args, **kwargs)
    la.sum().backward()
    lb.sum().backward()
    return la.detach(), lb.detach(), a.grad, b.grad


def assert_same(la, lb, ga, gb, tol=TOL):
    assert la.shape == lb.shape
    assert torch.isfinite(la).all() and torch.isfinite(ga).all()
    torch.testing.assert_close(la, lb, **tol)
    torch.testing.assert_close(ga, gb, **tol)


# ---------------------------------------------------------------- regression: l1, huber
REGRESSION = [
    ("l1", L.l1_loss, F.l1_loss, {}),
    ("huber δ=1", L.huber_loss, F.huber_loss, {}),
    ("huber δ=0.5", L.huber_loss, F.huber_loss, {"delta": 0.5}),
    ("huber δ=2.5", L.huber_loss, F.huber_loss, {"delta": 2.5}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "mine", "ref", "kw"), REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_loss_value_and_both_gradients(name, mine, ref, kw, reduction):
    x = torch.randn(12, 3, dtype=F64) * 2
    y = torch.randn(12, 3, dtype=F64) * 2
    x[0, 0], y[0, 0] = 1000.0, -1000.0  # far out on the linear part
    x[1, 1] = y[1, 1]  # exactly on the kink of |d|
    assert_same(*run_both(mine, ref, x, y, reduction=reduction, **kw))
    # gradient with respect to the target too (both are differentiable in y)
    ya, yb = y.clone().requires_grad_(True), y.clone().requires_grad_(True)
    mine(x, ya, reduction=reduction, **kw).sum().backward()
    ref(x, yb, reduction=reduction, **kw).sum().backward()
    torch.testing.assert_close(ya.grad, yb.grad, **TOL)


def test_huber_at_exactly_delta_matches_torch():
    x = torch.tensor([1.5, -1.5, 1.4999, 1.5001], dtype=F64)
    assert_same(*run_both(L.huber_loss, F.huber_loss, x, torch.zeros(4, dtype=F64), delta=1.5))


@pytest.mark.parametrize("delta", [0.3, 1.0, 4.0])
def test_huber_is_delta_times_smooth_l1_with_beta_delta(delta):
    x, y = torch.randn(50, dtype=F64) * 5, torch.randn(50, dtype=F64)
    torch.testing.assert_close(
        L.huber_loss(x, y, delta=delta), delta * F.smooth_l1_loss(x, y, beta=delta), **TOL
    )


# ---------------------------------------------------------------- cross-entropy
def ce_case(n=9, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, dtype=F64, generator=g) * 3
    logits[0, 0], logits[1, 2], logits[2] = 1000.0, -1000.0, 500.0
    target = torch.randint(0, c, (n,), generator=g)
    target[0], target[1] = 1, 2  # the true class sits 1000 below the max / at −1000
    weight = torch.rand(c, dtype=F64, generator=g) + 0.1
    return logits, target, weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_value_and_gradient(reduction, label_smoothing, weighted):
    logits, target, weight = ce_case()
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    w = weight if weighted else None
    assert_same(*run_both(L.cross_entropy, F.cross_entropy, logits, target, w, **kw))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 7])
def test_cross_entropy_ignore_index(reduction, weighted, ignore_index):
    logits, target, weight = ce_case(seed=3)
    target[3], target[5] = ignore_index, ignore_index
    w = weight if weighted else None
    kw = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": 0.2}
    la, lb, ga, gb = run_both(L.cross_entropy, F.cross_entropy, logits, target, w, **kw)
    assert_same(la, lb, ga, gb)
    assert ga[3].abs().sum() == 0 and ga[5].abs().sum() == 0  # ignored rows get no gradient


def test_cross_entropy_float32_like_users_run_it():
    logits, target = torch.randn(64, 10) * 4, torch.randint(0, 10, (64,))
    out = run_both(L.cross_entropy, F.cross_entropy, logits, target, label_smoothing=0.1)
    assert out[0].dtype == torch.float32
    assert_same(*out, tol={"atol": 1e-6, "rtol": 1e-5})


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_a_class_at_minus_infinity_is_finite_like_torch(reduction):
    """A logit of −∞ on a class that is not the target: probability 0, loss and gradient finite
    (the smoothing term, when there is no smoothing, was still computed as 0·∞ = NaN)."""
    inf = float("inf")
    logits = torch.tensor([[0.0, -inf, 1.0], [2.0, 0.5, -inf]], dtype=torch.float64)
    target = torch.tensor([0, 1])
    mine, ref = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    got = L.cross_entropy(mine, target, reduction=reduction)
    want = F.cross_entropy(ref, target, reduction=reduction)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
    got.sum().backward()
    want.sum().backward()
    torch.testing.assert_close(mine.grad, ref.grad, atol=1e-12, rtol=1e-12)
    assert torch.isfinite(mine.grad).all()


def test_cross_entropy_smoothing_puts_one_minus_eps_plus_eps_over_c_on_the_true_class():
    # The convention note: q = (1 − ε)·onehot + ε/C, written out with torch's soft-target form.
    logits, target, _ = ce_case(c=4)
    eps = 0.3
    q = (1 - eps) * F.one_hot(target, 4).double() + eps / 4
    torch.testing.assert_close(
        L.cross_entropy(logits, target, label_smoothing=eps), F.cross_entropy(logits, q), **TOL
    )


# ---------------------------------------------------------------- BCE with logits
def bce_case(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(8, 3, dtype=F64, generator=g) * 3
    target = torch.rand(8, 3, dtype=F64, generator=g)
    logits[0, 0], target[0, 0] = 1000.0, 0.0  # confidently wrong: loss 1000, not inf
    logits[1, 1], target[1, 1] = -1000.0, 1.0
    logits[2, 2], target[2, 2] = -1000.0, 0.0  # confidently right: loss 0, not nan
    pos_weight = torch.rand(3, dtype=F64, generator=g) * 3
    weight = torch.rand(8, 1, dtype=F64, generator=g)
    return logits, target, weight, pos_weight


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_pos_weight", [False, True])
@pytest.mark.parametrize("use_weight", [False, True])
def test_bce_with_logits_value_and_gradient(reduction, use_pos_weight, use_weight):
    logits, target, weight, pos_weight = bce_case()
    kw = {
        "weight": weight if use_weight else None,
        "reduction": reduction,
        "pos_weight": pos_weight if use_pos_weight else None,
    }
    mine, ref = L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits
    assert_same(*run_both(mine, ref, logits, target, **kw))
    # ∂L/∂target as well (PyTorch differentiates it too)
    ta, tb = target.clone().requires_grad_(True), target.clone().requires_grad_(True)
    mine(logits, ta, **kw).sum().backward()
    ref(logits, tb, **kw).sum().backward()
    torch.testing.assert_close(ta.grad, tb.grad, **TOL)


def test_bce_with_logits_matches_the_module_in_float32():
    logits, target = torch.randn(32, 4) * 5, torch.randint(0, 2, (32, 4)).float()
    pos_weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    ref = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    out = run_both(
        lambda x, t: L.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight),
        ref,
        logits,
        target,
    )
    assert_same(*out, tol={"atol": 1e-6, "rtol": 1e-5})


# ---------------------------------------------------------------- generated inputs
logit = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 8),
    c=st.integers(1, 6),
    data=st.data(),
    reduction=st.sampled_from(REDUCTIONS),
    label_smoothing=st.floats(0.0, 1.0),
    weighted=st.booleans(),
)
def test_cross_entropy_on_generated_inputs(n, c, data, reduction, label_smoothing, weighted):
    logits = torch.from_numpy(data.draw(arrays("float64", (n, c), elements=logit), "logits"))
    target = torch.tensor(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    w = torch.linspace(0.5, 2.0, c, dtype=F64) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    assert_same(*run_both(L.cross_entropy, F.cross_entropy, logits, target, w, **kw))


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    shape=array_shapes(min_dims=1, max_dims=3, max_side=5),
    reduction=st.sampled_from(REDUCTIONS),
    use_pos_weight=st.booleans(),
)
def test_bce_with_logits_on_generated_inputs(data, shape, reduction, use_pos_weight):
    logits = torch.from_numpy(data.draw(arrays("float64", shape, elements=logit), "logits"))
    prob = st.floats(0.0, 1.0, width=64)
    target = torch.from_numpy(data.draw(arrays("float64", shape, elements=prob), "target"))
    pos_weight = torch.linspace(0.2, 3.0, shape[-1], dtype=F64) if use_pos_weight else None
    kw = {"reduction": reduction, "pos_weight": pos_weight}
    mine, ref = L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits
    assert_same(*run_both(mine, ref, logits, target, **kw))


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    shape=array_shapes(min_dims=1, max_dims=3, max_side=5),
    which=st.sampled_from(REGRESSION),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_regression_losses_on_generated_inputs(data, shape, which, reduction):
    _, mine, ref, kw = which
    x = torch.from_numpy(data.draw(arrays("float64", shape, elements=logit), "input"))
    y = torch.from_numpy(data.draw(arrays("float64", shape, elements=logit), "target"))
    assert_same(*run_both(mine, ref, x, y, reduction=reduction, **kw))


# ---------------------------------------------------------------- gradcheck (float64)
def away_from_kinks(shape, delta=1.0):
    """Input, target whose differences stay ≥ 0.05 from 0 and from ±delta."""
    x = torch.randn(shape, dtype=F64) * 3
    y = torch.randn(shape, dtype=F64)
    d = x - y
    bad = (d.abs() < 0.05) | ((d.abs() - delta).abs() < 0.05)
    return torch.where(bad, y + 0.5 * delta, x).requires_grad_(True), y.requires_grad_(True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "mine", "ref", "kw"), REGRESSION, ids=[r[0] for r in REGRESSION])
def test_gradcheck_regression_losses(name, mine, ref, kw, reduction):
    x, y = away_from_kinks((4, 3), kw.get("delta", 1.0))
    assert torch.autograd.gradcheck(lambda a, b: mine(a, b, reduction=reduction, **kw), (x, y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_gradcheck_cross_entropy(reduction, label_smoothing):
    _, target, weight = ce_case(n=4, c=3)
    logits = (torch.randn(4, 3, dtype=F64) * 2).requires_grad_(True)  # moderate: a sharp check
    kw = {"reduction": reduction, "label_smoothing": label_smoothing}
    assert torch.autograd.gradcheck(lambda x: L.cross_entropy(x, target, weight, **kw), (logits,))
    assert torch.autograd.gradgradcheck(lambda x: L.cross_entropy(x, target, **kw), (logits,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_bce_with_logits(reduction):
    _, _, weight, pos_weight = bce_case()
    x = (torch.randn(8, 3, dtype=F64) * 2).requires_grad_(True)
    t = torch.rand(8, 3, dtype=F64).requires_grad_(True)

    def fn(a, b):
        return L.binary_cross_entropy_with_logits(
            a, b, weight, reduction=reduction, pos_weight=pos_weight
        )

    assert torch.autograd.gradcheck(fn, (x, t))


# ---------------------------------------------------------------- bad arguments
ALL = [L.mse_loss, L.l1_loss, L.huber_loss, L.binary_cross_entropy_with_logits]


@pytest.mark.parametrize("loss", ALL, ids=lambda f: f.__name__)
def test_unknown_reduction_is_a_value_error_naming_it(loss):
    with pytest.raises(ValueError, match="'avg'"):
        loss(torch.zeros(3), torch.zeros(3), reduction="avg")


def test_cross_entropy_unknown_reduction():
    with pytest.raises(ValueError, match="'avg'"):
        L.cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), reduction="avg")


@pytest.mark.parametrize("eps", [-0.1, 1.1, float("nan")])
def test_label_smoothing_outside_unit_interval(eps):
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), label_smoothing=eps)


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_huber_delta_must_be_positive(delta):
    with pytest.raises(ValueError, match="delta"):
        L.huber_loss(torch.zeros(3), torch.zeros(3), delta=delta)


@pytest.mark.parametrize(
    ("logits", "target", "match"),
    [
        (torch.zeros(4), torch.zeros(4, dtype=torch.long), r"\(N, C, d1"),
        (torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long), r"\(N, C, d1"),
        (torch.zeros(4, 3), torch.zeros(5, dtype=torch.long), r"\(N, C, d1"),
        (torch.zeros(4, 3), torch.zeros(4), "read as class probabilities"),
        (torch.zeros(4, 3), torch.zeros(4, dtype=torch.int32), "int64"),
        (torch.zeros(()), torch.zeros((), dtype=torch.long), "0-dim"),
        (torch.zeros(4, 3), torch.tensor([0, 1, 3, 0]), "out of range"),
        (torch.zeros(4, 3), torch.tensor([0, -1, 2, 0]), "out of range"),
    ],
)
def test_cross_entropy_bad_shapes_and_targets(logits, target, match):
    with pytest.raises(ValueError, match=match):
        L.cross_entropy(logits, target)


def test_cross_entropy_weight_shape():
    with pytest.raises(ValueError, match="weight"):
        L.cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), torch.ones(4))


@pytest.mark.parametrize("loss", ALL, ids=lambda f: f.__name__)
def test_losses_refuse_silent_broadcasting(loss):
    with pytest.raises(ValueError, match="reshape the target"):
        loss(torch.zeros(4, 1), torch.zeros(4))


@pytest.mark.parametrize("kw", [{"pos_weight": torch.ones(3)}, {"weight": torch.ones(5, 1)}])
def test_bce_weights_must_broadcast_to_input(kw):
    with pytest.raises(ValueError, match="broadcast"):
        L.binary_cross_entropy_with_logits(torch.zeros(4, 2), torch.zeros(4, 2), **kw)


# ---------------------------------------------------------------- the CLI's table
def test_losses_table_maps_names_to_the_right_functions():
    x, y = torch.randn(6, 4, dtype=F64), torch.rand(6, 4, dtype=F64)
    t = torch.randint(0, 4, (6,))
    reference = {
        "mse": (F.mse_loss, y),
        "l1": (F.l1_loss, y),
        "huber": (F.huber_loss, y),
        "cross_entropy": (F.cross_entropy, t),
        "bce_with_logits": (F.binary_cross_entropy_with_logits, y),
    }
    assert set(L.LOSSES) == set(reference)
    for name, (ref, target) in reference.items():
        torch.testing.assert_close(L.LOSSES[name](x, target), ref(x, target), **TOL, msg=name)


# ---------------------------------------------------------------- verify rows
def test_verify_rows_for_the_losses_all_pass(verify_rows):
    from nnscratch.lab.verify import losses as rows_module

    rows = verify_rows("losses")
    assert len(rows) == 3 * len(rows_module.cases())
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_verify_gradcheck_rows_all_pass(verify_rows):
    rows = verify_rows("gradcheck")
    assert rows
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_a_gradcheck_row_fails_for_a_wrong_backward():
    from nnscratch.lab.verify import gradcheck

    class WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2·x

    row = gradcheck.check("wrong", WrongSquare.apply, torch.randn(5, dtype=F64) + 3)
    assert not row.passed and row.max_diff > 1.0
    assert gradcheck.check("right", lambda x: x * x, torch.randn(5, dtype=F64)).passed


def test_hand_derived_linear_regression_row_detects_a_missing_factor_two(monkeypatch):
    """The row compares backprop's derivation with autograd: a derivation that drops MSE's 2
    (the "½·MSE" convention's gradient) makes it fail."""
    from nnscratch.backprop import losses as derived
    from nnscratch.lab.verify import gradcheck

    assert gradcheck.linear_regression_row().passed
    exact = derived.DERIVED[L.mse_loss]

    def without_the_two(y_pred, y, **options):
        loss, delta = exact(y_pred, y, **options)
        return loss, delta / 2

    monkeypatch.setitem(derived.DERIVED, L.mse_loss, without_the_two)
    assert not gradcheck.linear_regression_row().passed


# -- cross-entropy as torch.nn reads it: K dimensions, probabilities, unbatched, all ignored ---


def _ce_cases():
    g = torch.Generator().manual_seed(3)
    F64 = torch.float64
    x4 = torch.randn(2, 3, 4, 5, dtype=F64, generator=g)  # (N, C, d1, d2)
    t4 = torch.randint(0, 3, (2, 4, 5), generator=g)
    probs = torch.softmax(torch.randn(5, 3, 4, dtype=F64, generator=g), dim=1)  # (N, C, d1)
    x3 = torch.randn(5, 3, 4, dtype=F64, generator=g)
    w = torch.tensor([0.5, 2.0, 1.5], dtype=F64)
    return [
        ("4d indices", x4, t4, {}),
        (
            "4d indices, weight, ignore, smoothing",
            x4,
            t4,
            {"weight": w, "ignore_index": 1, "label_smoothing": 0.2},
        ),  # fmt: skip
        ("3d probabilities", x3, probs, {}),
        ("3d probabilities, weight, smoothing", x3, probs, {"weight": w, "label_smoothing": 0.1}),
        ("unbatched", x4[0, :, 0, 0], torch.tensor(2), {"weight": w}),
    ]


@pytest.mark.parametrize("case", _ce_cases(), ids=lambda c: c[0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_k_dim_probabilities_unbatched_as_torch(case, reduction):
    _, x, t, kw = case
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    ours = L.cross_entropy(a, t, reduction=reduction, **kw)
    ref = F.cross_entropy(b, t, reduction=reduction, **kw)
    torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-12)
    g = torch.randn(ref.shape, dtype=ref.dtype)
    (ga,) = torch.autograd.grad(ours, a, g)
    (gb,) = torch.autograd.grad(ref, b, g)
    torch.testing.assert_close(ga, gb, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("case", _ce_cases(), ids=lambda c: c[0])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_hand_derived_gradient_k_dim_and_probabilities(case, reduction):
    """nnscratch.backprop's δ against torch's autograd and against central differences."""
    from nnscratch.backprop import losses as B

    _, x, t, kw = case
    loss, delta = B.cross_entropy(x, t, reduction=reduction, **kw)
    ref_in = x.clone().requires_grad_()
    ref = F.cross_entropy(ref_in, t, reduction=reduction, **kw)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(delta, ref_in.grad, atol=1e-12, rtol=1e-12)
    h, flat = 1e-6, x.flatten()
    for i in range(0, flat.numel(), max(1, flat.numel() // 7)):  # a few coordinates
        e = torch.zeros_like(flat)
        e[i] = h
        up = L.cross_entropy((flat + e).view_as(x), t, reduction=reduction, **kw)
        down = L.cross_entropy((flat - e).view_as(x), t, reduction=reduction, **kw)
        assert abs(((up - down) / (2 * h)).item() - delta.flatten()[i].item()) < 1e-7


def test_cross_entropy_gradcheck_k_dim_and_probabilities():
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 3, (2, 2))
    q = torch.softmax(torch.randn(2, 3, 2, dtype=torch.float64), dim=1).requires_grad_()
    w = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a: L.cross_entropy(a, t, w, ignore_index=0, label_smoothing=0.1), (x,)
    )
    assert torch.autograd.gradcheck(lambda a, b: L.cross_entropy(a, b, w), (x, q))


def test_an_all_ignored_batch_has_a_nan_loss_and_zero_gradient_as_torch():
    """A padding-only batch: torch's loss is 0/0 = NaN but its gradient is 0; one NaN gradient
    would poison every parameter. Both nnscratch paths give gradient 0."""
    from nnscratch.backprop import losses as B

    x = torch.randn(4, 3, dtype=torch.float64)
    t = torch.full((4,), 2)
    ref_in = x.clone().requires_grad_()
    ref = F.cross_entropy(ref_in, t, ignore_index=2)
    ref.backward()
    a = x.clone().requires_grad_()
    ours = L.cross_entropy(a, t, ignore_index=2)
    ours.backward()
    assert ref.isnan() and ours.isnan()
    assert torch.equal(a.grad, ref_in.grad) and not a.grad.any()
    loss, delta = B.cross_entropy(x, t, ignore_index=2)
    assert loss.isnan() and torch.equal(delta, torch.zeros_like(x))
