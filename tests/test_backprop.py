"""The hand-derived backward (`nnscratch.backprop.loss_and_grads`) next to autograd's
``loss.backward()``: same seed, same data, same numbers, for every supported model × loss."""

import copy
import functools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn, optim

from nnscratch import losses as L
from nnscratch.backprop import loss_and_grads
from nnscratch.backprop.activations import DERIVATIVES
from nnscratch.backprop.losses import DERIVED
from nnscratch.layers import ACTIVATIONS, Activation, Linear, Sequential
from nnscratch.models import MLP, LinearRegression, LogisticRegression
from nnscratch.module import Module, parameter
from nnscratch.optim import SGD

F64, F32 = torch.float64, torch.float32
TOL64 = {"atol": 1e-12, "rtol": 1e-10}
TOL32 = {"atol": 1e-5, "rtol": 1e-5}


# ---------------------------------------------------------------- the oracle
def autograd_loss_and_grads(model, loss_fn, X, y):
    """The usual path on a twin of ``model``: forward, loss, ``loss.backward()``."""
    twin = copy.deepcopy(model)
    loss = loss_fn(twin(X), y)
    loss.backward()
    return loss.detach(), [p.grad for p in twin.parameters()]


def assert_matches_autograd(model, loss_fn, X, y, tol):
    expected_loss, expected_grads = autograd_loss_and_grads(model, loss_fn, X, y)
    loss = loss_and_grads(model, loss_fn, X, y)
    assert loss.dim() == 0 and loss.dtype == X.dtype
    torch.testing.assert_close(loss, expected_loss, **tol)
    for (name, p), g in zip(model.named_parameters(), expected_grads, strict=True):
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        torch.testing.assert_close(p.grad, g, **tol, msg=lambda m, n=name: f"{n}: {m}")


# ---------------------------------------------------------------- models, data, losses
def make_model(kind, F_in, hidden, out, activation, dtype):
    if kind == "linear":
        return Linear(F_in, out, dtype=dtype)
    if kind == "linreg":
        return LinearRegression(F_in, dtype=dtype)
    if kind == "logistic":
        return LogisticRegression(F_in, num_classes=2 if out == 1 else out, dtype=dtype)
    return MLP(F_in, hidden, out, activation, dtype=dtype)


def regression_loss(variant):
    return {
        "mse": L.mse_loss,
        "mse sum": functools.partial(L.mse_loss, reduction="sum"),
        "l1": L.l1_loss,
        "l1 sum": functools.partial(L.l1_loss, reduction="sum"),
        "huber": L.huber_loss,
        "huber δ=0.3": functools.partial(L.huber_loss, delta=0.3),
        "huber δ=2 sum": functools.partial(L.huber_loss, delta=2.0, reduction="sum"),
    }[variant]


def cross_entropy_loss(variant, C, g, dtype):
    weight = torch.rand(C, generator=g, dtype=dtype) + 0.1  # (C,)
    return {
        "plain": L.cross_entropy,
        "sum": functools.partial(L.cross_entropy, reduction="sum"),
        "weight": functools.partial(L.cross_entropy, weight=weight),
        "ignore_index": functools.partial(L.cross_entropy, ignore_index=0),
        "smoothing": functools.partial(L.cross_entropy, label_smoothing=0.2),
        "all": functools.partial(L.cross_entropy, weight=weight, label_smoothing=0.1),
    }[variant]


def bce_loss(variant, O, g, dtype):
    w = torch.rand(O, generator=g, dtype=dtype) + 0.1  # (O,) broadcast over N
    return {
        "plain": L.binary_cross_entropy_with_logits,
        "sum": functools.partial(L.binary_cross_entropy_with_logits, reduction="sum"),
        "weight": functools.partial(L.binary_cross_entropy_with_logits, weight=w),
        "pos_weight": functools.partial(L.binary_cross_entropy_with_logits, pos_weight=3 * w),
    }[variant]


shapes = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**31 - 1),
        "N": st.integers(1, 12),
        "F_in": st.integers(1, 5),
        "hidden": st.lists(st.integers(1, 6), min_size=1, max_size=2),
        "activation": st.sampled_from(ACTIVATIONS),
        "scale": st.sampled_from([0.1, 1.0, 5.0]),
    }
)


def inputs(s, dtype):
    g = torch.Generator().manual_seed(s["seed"])
    torch.manual_seed(s["seed"])
    X = torch.randn(s["N"], s["F_in"], generator=g, dtype=dtype) * s["scale"]  # (N, F)
    return g, X


# ---------------------------------------------------------------- float64: equal to autograd
@settings(max_examples=40, deadline=None)
@given(
    s=shapes,
    kind=st.sampled_from(["linear", "linreg", "mlp"]),
    out=st.integers(1, 4),
    variant=st.sampled_from(
        ["mse", "mse sum", "l1", "l1 sum", "huber", "huber δ=0.3", "huber δ=2 sum"]
    ),
)
def test_regression_losses_equal_autograd_float64(s, kind, out, variant):
    g, X = inputs(s, F64)
    model = make_model(kind, s["F_in"], s["hidden"], out, s["activation"], F64)
    out = 1 if kind == "linreg" else out
    y = torch.randn(s["N"], out, generator=g, dtype=F64) * s["scale"]  # (N, O)
    assert_matches_autograd(model, regression_loss(variant), X, y, TOL64)


@settings(max_examples=30, deadline=None)
@given(
    s=shapes,
    kind=st.sampled_from(["logistic", "mlp"]),
    C=st.integers(3, 5),
    variant=st.sampled_from(["plain", "sum", "weight", "ignore_index", "smoothing", "all"]),
)
def test_cross_entropy_equals_autograd_float64(s, kind, C, variant):
    g, X = inputs(s, F64)
    model = make_model(kind, s["F_in"], s["hidden"], C, s["activation"], F64)
    y = torch.randint(0, C, (s["N"],), generator=g)  # (N,) class indices
    if variant == "ignore_index":
        y[0] = 1  # at least one sample is kept (else 'mean' is 0/0 in both)
    loss_fn = cross_entropy_loss(variant, C, g, F64)
    assert_matches_autograd(model, loss_fn, X, y, TOL64)


@settings(max_examples=30, deadline=None)
@given(
    s=shapes,
    kind=st.sampled_from(["logistic", "mlp"]),
    out=st.integers(1, 3),
    variant=st.sampled_from(["plain", "sum", "weight", "pos_weight"]),
)
def test_bce_with_logits_equals_autograd_float64(s, kind, out, variant):
    g, X = inputs(s, F64)
    out = 1 if kind == "logistic" else out  # binary logistic regression: one logit
    model = make_model(kind, s["F_in"], s["hidden"], out, s["activation"], F64)
    y = torch.rand(s["N"], out, generator=g, dtype=F64).round()  # (N, O) labels in {0, 1}
    assert_matches_autograd(model, bce_loss(variant, out, g, F64), X, y, TOL64)


def test_soft_bce_targets_and_extreme_logits_stay_finite_and_equal():
    X = torch.tensor([[1000.0], [-1000.0], [0.5]], dtype=F64)
    model = LogisticRegression(1, dtype=F64)
    y = torch.tensor([[0.0], [1.0], [0.3]], dtype=F64)  # soft label on the last row
    assert_matches_autograd(model, L.binary_cross_entropy_with_logits, X, y, TOL64)
    softmax_model = LogisticRegression(1, num_classes=3, dtype=F64)
    assert_matches_autograd(softmax_model, L.cross_entropy, X, torch.tensor([0, 1, 2]), TOL64)


def test_empty_batch_gives_nan_loss_and_zero_gradients_like_autograd():
    X, y = torch.zeros(0, 3, dtype=F64), torch.zeros(0, 1, dtype=F64)
    model = MLP(3, [4], 1, "relu", dtype=F64)
    expected_loss, expected = autograd_loss_and_grads(model, L.mse_loss, X, y)
    loss = loss_and_grads(model, L.mse_loss, X, y)
    assert torch.isnan(loss) and torch.isnan(expected_loss)
    for p, g in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, g, atol=0, rtol=0)


# ---------------------------------------------------------------- float32: what users run
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    ("loss_fn", "task"),
    [
        (L.mse_loss, "regression"),
        (L.huber_loss, "regression"),
        (L.l1_loss, "regression"),
        (L.cross_entropy, "classes"),
        (L.binary_cross_entropy_with_logits, "labels"),
    ],
)
def test_float32_close_to_autograd(activation, loss_fn, task):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(64, 10, generator=g)  # (N, F)
    model = MLP(10, [16, 8], 3, activation)
    y = {
        "regression": torch.randn(64, 3, generator=g),
        "classes": torch.randint(0, 3, (64,), generator=g),
        "labels": torch.rand(64, 3, generator=g).round(),
    }[task]
    assert_matches_autograd(model, loss_fn, X, y, TOL32)


@pytest.mark.parametrize(("N", "F_in"), [(100, 1), (1000, 10)])
def test_float32_linear_regression_close_to_autograd(N, F_in):
    g = torch.Generator().manual_seed(4)
    X, y = torch.randn(N, F_in, generator=g), torch.randn(N, 1, generator=g)
    assert_matches_autograd(LinearRegression(F_in), L.mse_loss, X, y, TOL32)


# ---------------------------------------------------------------- PyTorch itself as the oracle
def test_linear_regression_formula_and_nn_linear():
    """∂L/∂w = 2/N·Xᵀ(Xw + b − y),  ∂L/∂b = 2/N·Σ(Xw + b − y), and nn.Linear + nn.MSELoss agree."""
    g = torch.Generator().manual_seed(5)
    X, y = torch.randn(50, 3, generator=g, dtype=F64), torch.randn(50, 1, generator=g, dtype=F64)
    torch.manual_seed(6)
    model = LinearRegression(3, dtype=F64)
    torch.manual_seed(6)
    reference = nn.Linear(3, 1, dtype=F64)
    loss = loss_and_grads(model, L.mse_loss, X, y)
    ref_loss = nn.MSELoss()(reference(X), y)
    ref_loss.backward()

    w, b = model.w.detach().T, model.b.detach()  # (F, 1), (1,)
    r = X @ w + b - y  # (N, 1)
    torch.testing.assert_close(model.w.grad, (2 / 50 * X.T @ r).T, atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(model.b.grad, 2 / 50 * r.sum(0), atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(loss, ref_loss.detach(), **TOL64)
    torch.testing.assert_close(model.weight.grad, reference.weight.grad, **TOL64)
    torch.testing.assert_close(model.bias.grad, reference.bias.grad, **TOL64)


TORCH_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    ("mine", "theirs", "task"),
    [
        (
            functools.partial(L.huber_loss, delta=0.5),
            functools.partial(F.huber_loss, delta=0.5),
            "r",
        ),
        (
            functools.partial(L.cross_entropy, label_smoothing=0.1),
            functools.partial(F.cross_entropy, label_smoothing=0.1),
            "c",
        ),
        (L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, "b"),
    ],
)
def test_mlp_equals_nn_sequential(activation, mine, theirs, task):
    g = torch.Generator().manual_seed(7)
    X = torch.randn(16, 4, generator=g, dtype=F64)
    y = {
        "r": torch.randn(16, 3, generator=g, dtype=F64),
        "c": torch.randint(0, 3, (16,), generator=g),
        "b": torch.rand(16, 3, generator=g, dtype=F64).round(),
    }[task]
    torch.manual_seed(8)
    model = MLP(4, [6, 5], 3, activation, dtype=F64)
    torch.manual_seed(8)
    act = TORCH_ACTIVATIONS[activation]
    kw = {"dtype": F64}
    reference = nn.Sequential(
        nn.Linear(4, 6, **kw), act(), nn.Linear(6, 5, **kw), act(), nn.Linear(5, 3, **kw)
    )
    loss = loss_and_grads(model, mine, X, y)
    ref_loss = theirs(reference(X), y)
    ref_loss.backward()
    torch.testing.assert_close(loss, ref_loss.detach(), **TOL64)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, **TOL64)


def test_training_with_manual_backward_follows_nn_optim_trajectory():
    """SGD steps driven by loss_and_grads equal the nn/optim loop at every step (float64)."""
    g = torch.Generator().manual_seed(9)
    X, y = torch.randn(32, 3, generator=g, dtype=F64), torch.randn(32, 2, generator=g, dtype=F64)
    torch.manual_seed(10)
    model = MLP(3, [8], 2, "tanh", dtype=F64)
    torch.manual_seed(10)
    reference = nn.Sequential(nn.Linear(3, 8, dtype=F64), nn.Tanh(), nn.Linear(8, 2, dtype=F64))
    opt, ref_opt = SGD(model.parameters(), lr=0.1), optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(25):
        loss = loss_and_grads(model, L.mse_loss, X, y)
        opt.step()
        opt.zero_grad()
        ref_loss = nn.MSELoss()(reference(X), y)
        ref_loss.backward()
        ref_opt.step()
        ref_opt.zero_grad()
        torch.testing.assert_close(loss, ref_loss.detach(), **TOL64)
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p, q.detach(), **TOL64)


# ---------------------------------------------------------------- gradcheck of the formulas
class HandDerived(torch.autograd.Function):
    """The loss as a function of the parameter values, with loss_and_grads as its backward:
    gradcheck then compares the hand-derived gradient with central differences."""

    @staticmethod
    def forward(ctx, model, loss_fn, X, y, *values):
        with torch.no_grad():
            for p, v in zip(model.parameters(), values, strict=True):
                p.copy_(v)
        model.zero_grad()
        loss = loss_and_grads(model, loss_fn, X, y)
        ctx.save_for_backward(*[p.grad.clone() for p in model.parameters()])
        return loss.clone()

    @staticmethod
    def backward(ctx, grad_output):
        return (None, None, None, None, *[grad_output * g for g in ctx.saved_tensors])


GRADCHECK_CASES = [
    ("linear+mse", lambda: Linear(3, 2, dtype=F64), L.mse_loss, "r"),
    ("linear+huber", lambda: Linear(3, 2, dtype=F64), L.huber_loss, "r"),
    (
        "logistic+bce",
        lambda: LogisticRegression(3, dtype=F64),
        L.binary_cross_entropy_with_logits,
        "b",
    ),
    ("softmax+ce", lambda: LogisticRegression(3, 4, dtype=F64), L.cross_entropy, "c"),
    *[
        (f"mlp {a}+ce", lambda a=a: MLP(3, [4], 4, a, dtype=F64), L.cross_entropy, "c")
        for a in ACTIVATIONS
    ],
    ("mlp tanh+l1", lambda: MLP(3, [4], 2, "tanh", dtype=F64), L.l1_loss, "r"),
]


@pytest.mark.parametrize(("name", "build", "loss_fn", "task"), GRADCHECK_CASES)
def test_hand_derived_gradient_passes_gradcheck(name, build, loss_fn, task):
    g = torch.Generator().manual_seed(11)
    X = torch.randn(6, 3, generator=g, dtype=F64)
    torch.manual_seed(12)
    model = build()
    out = model.layers[-1].out_features if isinstance(model, MLP) else model.out_features
    y = {
        "r": torch.randn(6, out, generator=g, dtype=F64),
        "b": torch.rand(6, out, generator=g, dtype=F64).round(),
        "c": torch.randint(0, out, (6,), generator=g),
    }[task]
    values = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    assert torch.autograd.gradcheck(
        lambda *v: HandDerived.apply(model, loss_fn, X, y, *v), values, atol=1e-6, rtol=1e-4
    )


def test_gradcheck_catches_a_wrong_formula(monkeypatch):
    """The gradcheck harness above can fail: a tanh derivative without the square is caught."""
    from nnscratch.backprop import activations

    monkeypatch.setitem(activations.DERIVATIVES, "tanh", lambda g, z, h: g.mul_(1.0 - h))
    g = torch.Generator().manual_seed(13)
    X, y = torch.randn(5, 3, generator=g, dtype=F64), torch.randn(5, 2, generator=g, dtype=F64)
    model = MLP(3, [4], 2, "tanh", dtype=F64)
    values = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    assert not torch.autograd.gradcheck(
        lambda *v: HandDerived.apply(model, L.mse_loss, X, y, *v),
        values,
        atol=1e-6,
        rtol=1e-4,
        raise_exception=False,
    )


# ---------------------------------------------------------------- accumulation, leaves, no graph
def linreg_data():
    g = torch.Generator().manual_seed(14)
    return torch.randn(20, 2, generator=g, dtype=F64), torch.randn(20, 1, generator=g, dtype=F64)


def test_second_call_accumulates_in_place_like_a_second_backward():
    X, y = linreg_data()
    model = MLP(2, [3], 1, "relu", dtype=F64)
    twin = copy.deepcopy(model)
    loss_and_grads(model, L.mse_loss, X, y)
    L.mse_loss(twin(X), y).backward()
    first = [p.grad for p in model.parameters()]
    twin_first = [p.grad for p in twin.parameters()]
    loss_and_grads(model, L.mse_loss, X, y)
    L.mse_loss(twin(X), y).backward()
    for p, q, a, b in zip(model.parameters(), twin.parameters(), first, twin_first, strict=True):
        assert (p.grad is a) == (q.grad is b) == True  # noqa: E712  same tensor, added in place
        torch.testing.assert_close(p.grad, q.grad, **TOL64)


def test_zeroed_gradients_are_reused_and_frozen_parameters_get_none():
    X, y = linreg_data()
    model = LinearRegression(2, dtype=F64)
    expected_loss, expected = autograd_loss_and_grads(model, L.mse_loss, X, y)
    model.weight.grad = torch.zeros_like(model.weight)  # zero_grad(set_to_none=False)
    buffer = model.weight.grad
    model.bias.requires_grad_(False)  # frozen: autograd leaves its .grad alone
    loss_and_grads(model, L.mse_loss, X, y)
    assert model.weight.grad is buffer
    torch.testing.assert_close(model.weight.grad, expected[0], **TOL64)
    assert model.bias.grad is None


def test_result_is_a_detached_scalar_and_parameters_stay_leaves():
    X, y = linreg_data()
    model = MLP(2, [3], 1, "gelu", dtype=F64)
    with torch.enable_grad():
        loss = loss_and_grads(model, L.mse_loss, X, y)
    assert loss.shape == () and loss.grad_fn is None and not loss.requires_grad
    for p in model.parameters():
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        assert p.grad.grad_fn is None and not p.grad.requires_grad


def test_autograd_is_never_called(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("autograd was called")

    monkeypatch.setattr(torch.Tensor, "backward", refuse)
    monkeypatch.setattr(torch.autograd, "backward", refuse)
    monkeypatch.setattr(torch.autograd, "grad", refuse)
    X, y = linreg_data()
    model = MLP(2, [3], 3, "sigmoid", dtype=F64)
    loss_and_grads(model, L.cross_entropy, X, torch.tensor([0, 1, 2] * 6 + [0, 1]))
    assert all(p.grad is not None for p in model.parameters())


def test_verify_rows_pass_and_can_fail(monkeypatch, verify_rows):
    from nnscratch.backprop import activations
    from nnscratch.lab.verify import backprop as rows_module

    rows = verify_rows("backprop")  # the session's one run of the module
    assert rows and all(row.passed for row in rows)
    assert all(row.max_diff <= 1e-12 for row in rows)
    monkeypatch.setitem(activations.DERIVATIVES, "relu", lambda g, z, h: g)  # forgets relu'
    broken = {row.piece: row.passed for row in rows_module.rows()}
    assert broken["hand-derived backward: MLP relu + cross_entropy"] is False
    assert broken["hand-derived backward: MLP tanh + mse_loss"] is True


def test_every_loss_and_activation_has_a_derivation():
    assert set(L.LOSSES.values()) <= set(DERIVED)  # (model losses may add their own)
    assert set(DERIVATIVES) == set(ACTIVATIONS)


# ---------------------------------------------------------------- what is refused
class Custom(Module):
    def __init__(self):
        self.weight = parameter(torch.zeros(1, 2))

    def forward(self, x):
        return x @ self.weight.T


class ScaledLinear(Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class Unknown(Activation):
    def __init__(self):
        self.name, self.fn = "softplus", torch.exp


@pytest.mark.parametrize(
    "model",
    [
        Custom(),
        ScaledLinear(2, 1),
        Sequential(),
        Sequential(Linear(2, 3), Custom()),
        Sequential(Linear(2, 3), Unknown(), Linear(3, 1)),
    ],
    ids=["custom module", "overridden forward", "empty", "custom layer", "unknown activation"],
)
def test_unsupported_model_is_refused(model):
    X, y = torch.zeros(4, 2), torch.zeros(4, 1)
    with pytest.raises(ValueError, match="has no formulas for .*use the autograd backward"):
        loss_and_grads(model, L.mse_loss, X, y)


@pytest.mark.parametrize(
    ("loss_fn", "match"),
    [
        (lambda a, b: ((a - b) ** 2).mean(), "no formula for the loss <function"),
        (nn.MSELoss(), r"no formula for the loss MSELoss\(\)"),
        (F.mse_loss, "no formula for the loss <function mse_loss"),
        (functools.partial(L.mse_loss, reduction="none"), "reduction must be 'mean' or 'sum'"),
        (functools.partial(L.mse_loss, reduction="avg"), "reduction must be one of"),
        (functools.partial(L.huber_loss, delta=0.0), "delta must be > 0, got 0.0"),
        (functools.partial(L.huber_loss, None, None), r"by keyword .*\(None, None\)"),
    ],
)
def test_unsupported_loss_is_refused(loss_fn, match):
    X, y = torch.zeros(4, 2), torch.zeros(4, 1)
    with pytest.raises(ValueError, match=match):
        loss_and_grads(LinearRegression(2), loss_fn, X, y)


def test_bad_targets_are_refused_like_the_loss_refuses_them():
    X = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="reshape the target"):
        loss_and_grads(LinearRegression(2), L.mse_loss, X, torch.zeros(4))
    with pytest.raises(ValueError, match="int64"):
        loss_and_grads(LogisticRegression(2, 3), L.cross_entropy, X, torch.zeros(4))
    with pytest.raises(ValueError, match="class index 7 is out of range"):
        loss_and_grads(LogisticRegression(2, 3), L.cross_entropy, X, torch.tensor([0, 1, 2, 7]))
    smoothing = functools.partial(L.cross_entropy, label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing must be in \\[0, 1\\], got 1.5"):
        loss_and_grads(LogisticRegression(2, 3), smoothing, X, torch.tensor([0, 1, 2, 0]))
    pos_weight = functools.partial(L.binary_cross_entropy_with_logits, pos_weight=torch.ones(3))
    with pytest.raises(ValueError, match="pos_weight of shape \\(3,\\) does not broadcast"):
        loss_and_grads(LogisticRegression(2), pos_weight, X, torch.zeros(4, 1))
