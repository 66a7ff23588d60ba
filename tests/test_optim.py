"""The hand-written optimizers next to torch.optim: same seed, same MLP, same data, every step."""

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import optim

import nnscratch.optim
from nnscratch.lab.verify.optim import (
    Case,
    build,
    make_model,
    regression_data,
    resume_run,
    run_case,
    train,
)
from nnscratch.optim import SGD, Adam, AdamW, RMSprop

F32, F64 = torch.float32, torch.float64
TOL = {F64: dict(rtol=1e-10, atol=1e-12), F32: dict(rtol=1e-5, atol=1e-5)}

CASES = [
    Case("SGD", dict(lr=0.1)),
    Case("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    Case("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    Case("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.05)),
    Case("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
    Case("SGD", dict(lr=0.1, momentum=0.9), second_group={"lr": 0.01, "momentum": 0.5}),
    Case("SGD", dict(lr=0.1, momentum=0.9), scheduler=("StepLR", dict(step_size=40, gamma=0.5))),
    Case("Adam", dict(lr=1e-2)),
    Case("Adam", dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-6)),
    Case("Adam", dict(lr=1e-2, amsgrad=True)),
    Case("Adam", dict(lr=1e-2, weight_decay=0.1)),
    Case("Adam", dict(lr=1e-2, maximize=True)),
    Case("Adam", dict(lr=1e-2), second_group={"lr": 1e-3, "betas": (0.5, 0.9)}),
    Case("Adam", dict(lr=1e-2), scheduler=("CosineAnnealingLR", dict(T_max=80, eta_min=1e-4))),
    Case("AdamW", dict(lr=1e-2)),
    Case("AdamW", dict(lr=1e-2, weight_decay=0.5, amsgrad=True)),
    Case("AdamW", dict(lr=1e-2, maximize=True), second_group={"lr": 3e-3, "weight_decay": 0.0}),
    Case("AdamW", dict(lr=1e-2, weight_decay=0.2), scheduler=("LinearLR", dict(total_iters=30))),
    Case("RMSprop", dict(lr=1e-2)),
    Case("RMSprop", dict(lr=1e-3, centered=True)),
    Case("RMSprop", dict(lr=1e-3, momentum=0.9)),
    Case("RMSprop", dict(lr=1e-3, centered=True, momentum=0.8, weight_decay=0.01, alpha=0.9)),
    Case("RMSprop", dict(lr=1e-3, maximize=True), second_group={"lr": 1e-4, "centered": True}),
    Case("RMSprop", dict(lr=1e-2), scheduler=("StepLR", dict(step_size=50))),
]


def assert_trajectories_equal(mine, theirs, tol):
    assert len(mine) == len(theirs)
    for step, (m, t) in enumerate(zip(mine, theirs, strict=True)):
        for i, (a, b) in enumerate(zip(m, t, strict=True)):
            torch.testing.assert_close(
                a, b, **tol, msg=lambda s, i=i, step=step: f"step {step + 1}, param {i}: {s}"
            )


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_200_steps_match_torch_optim_bit_for_bit(case, dtype):
    """The docstrings' claim: each update uses torch.optim's tensor ops in torch.optim's order, so
    the parameters are *equal* to torch.optim's after every step, float32 included (zero
    tolerance; the float64 rows too)."""
    mine, theirs = run_case(case, dtype, steps=200, seed=3)
    assert_trajectories_equal(mine, theirs, dict(rtol=0, atol=0))
    moved = (mine[-1][0] - mine[0][0]).abs().max()
    assert moved > 1e-3  # the run really trained (a no-op optimizer would fail here)


@pytest.mark.parametrize(
    "case",
    [
        Case("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        Case("Adam", dict(lr=1e-2, amsgrad=True), scheduler=("CosineAnnealingLR", dict(T_max=9))),
        Case("AdamW", dict(lr=1e-2), second_group={"lr": 1e-3}, scheduler=("LinearLR", {})),
        Case(
            "RMSprop",
            dict(lr=1e-3, centered=True, momentum=0.9),
            scheduler=("StepLR", dict(step_size=4)),
        ),
    ],
    ids=str,
)
def test_state_dict_saved_mid_run_resumes_identically(case):
    straight, resumed = resume_run(case, nnscratch.optim, F64, k=7, n=12)
    assert_trajectories_equal(resumed, straight, dict(rtol=0, atol=0))


@pytest.mark.parametrize(
    "case",
    [
        Case("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1)),
        Case("Adam", dict(lr=1e-2, amsgrad=True)),
        Case("AdamW", dict(lr=1e-2)),
        Case("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9)),
    ],
    ids=str,
)
@pytest.mark.parametrize("direction", ["torch->nnscratch", "nnscratch->torch"])
def test_state_dict_interchanges_with_torch_optim(case, direction):
    """Train k steps in one library, carry model + optimizer state over, continue in both."""
    src, dst = (
        (optim, nnscratch.optim) if direction == "torch->nnscratch" else (nnscratch.optim, optim)
    )
    X, y = regression_data(5, F64)
    model = make_model(src, 0, F64)
    optimizer, _ = build(case, model, src)
    train(model, optimizer, X, y, 6)
    other = make_model(dst, 1, F64)
    other_optimizer, _ = build(case, other, dst)
    with torch.no_grad():
        for p, q in zip(other.parameters(), model.parameters(), strict=True):
            p.copy_(q)
    other_optimizer.load_state_dict(optimizer.state_dict())
    theirs = train(model, optimizer, X, y, 10)
    mine = train(other, other_optimizer, X, y, 10)
    assert_trajectories_equal(mine, theirs, TOL[F64])


def test_state_dict_layout_matches_torch_optim():
    case = Case("Adam", dict(lr=1e-2, amsgrad=True), second_group={"lr": 1e-3})
    X, y = regression_data(5, F64)
    dicts = []
    for lib in (nnscratch.optim, optim):
        model = make_model(lib, 0, F64)
        optimizer, _ = build(case, model, lib)
        train(model, optimizer, X, y, 3)
        dicts.append(optimizer.state_dict())
    mine, theirs = dicts
    assert sorted(mine["state"]) == sorted(theirs["state"]) == [0, 1, 2, 3]
    for i in range(4):
        assert set(mine["state"][i]) == set(theirs["state"][i])
        assert mine["state"][i]["step"] == int(theirs["state"][i]["step"]) == 3
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            torch.testing.assert_close(mine["state"][i][key], theirs["state"][i][key], **TOL[F64])
    for g, h in zip(mine["param_groups"], theirs["param_groups"], strict=True):
        assert g["params"] == h["params"]
        assert {k: h[k] for k in g} == g  # every key we keep, torch keeps with the same value


def test_state_dict_is_a_snapshot_not_a_view():
    model = make_model(nnscratch.optim, 0, F64)
    optimizer = Adam(model.parameters(), lr=1e-2)
    X, y = regression_data(5, F64)
    train(model, optimizer, X, y, 2)
    saved = optimizer.state_dict()
    before = saved["state"][0]["exp_avg"].clone()
    fresh = Adam(model.parameters(), lr=1e-2)
    fresh.load_state_dict(saved)
    train(model, fresh, X, y, 2)
    train(model, optimizer, X, y, 2)
    torch.testing.assert_close(saved["state"][0]["exp_avg"], before, rtol=0, atol=0)
    assert saved["state"][0]["step"] == 2


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_step_with_closure_returns_the_loss_like_torch(cls):
    torch_cls = getattr(optim, cls.__name__)
    X, y = regression_data(5, F64)
    results = []
    for lib, make in ((nnscratch.optim, cls), (optim, torch_cls)):
        model = make_model(lib, 0, F64)
        optimizer = make(model.parameters(), lr=1e-2)

        def closure(model=model, optimizer=optimizer):
            optimizer.zero_grad()
            loss = ((model(X) - y) ** 2).mean()
            loss.backward()
            return loss

        losses = [optimizer.step(closure).item() for _ in range(5)]
        results.append((losses, [p.detach().clone() for p in model.parameters()]))
    (l1, p1), (l2, p2) = results
    assert l1 == pytest.approx(l2, rel=1e-12, abs=0)
    assert l1[-1] < l1[0]
    for a, b in zip(p1, p2, strict=True):
        torch.testing.assert_close(a, b, **TOL[F64])


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop])
def test_parameters_stay_the_same_leaves(cls):
    model = make_model(nnscratch.optim, 0, F64)
    before = list(model.parameters())
    optimizer = cls(model.parameters(), lr=1e-2)
    X, y = regression_data(5, F64)
    train(model, optimizer, X, y, 3)
    after = list(model.parameters())
    assert all(a is b for a, b in zip(before, after, strict=True))
    assert all(p.is_leaf and p.requires_grad and p.grad is None for p in after)


def test_parameters_without_gradient_are_left_alone():
    a = torch.ones(3, dtype=F64, requires_grad=True)
    b = torch.ones(3, dtype=F64, requires_grad=True)
    optimizer = Adam([a, b], lr=0.1, weight_decay=0.1)
    (a**2).sum().backward()
    optimizer.step()
    assert torch.equal(b, torch.ones(3, dtype=F64))
    assert b not in optimizer.state and optimizer.state[a]["step"] == 1


INVALID = [
    (SGD, dict(lr=-0.1), "-0.1"),
    (SGD, dict(lr=0.1, momentum=-0.5), "-0.5"),
    (SGD, dict(lr=0.1, weight_decay=-1e-4), "-0.0001"),
    (SGD, dict(lr=0.1, nesterov=True), "momentum=0.0"),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (Adam, dict(lr=-1e-3), "-0.001"),
    (Adam, dict(eps=-1e-8), "-1e-08"),
    (Adam, dict(betas=(1.0, 0.999)), "index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.1)), "index 1: -0.1"),
    (Adam, dict(weight_decay=-0.1), "-0.1"),
    (AdamW, dict(betas=(0.9, 1.5)), "index 1: 1.5"),
    (AdamW, dict(weight_decay=-0.01), "-0.01"),
    (AdamW, dict(lr=-1.0), "-1.0"),
    (RMSprop, dict(lr=-0.01), "-0.01"),
    (RMSprop, dict(alpha=-0.9), "-0.9"),
    (RMSprop, dict(eps=-1.0), "-1.0"),
    (RMSprop, dict(momentum=-0.1), "-0.1"),
    (RMSprop, dict(weight_decay=-2.0), "-2.0"),
]


@pytest.mark.parametrize(("cls", "kwargs", "named"), INVALID, ids=lambda x: str(x))
def test_invalid_hyperparameters_raise_value_error_naming_the_value(cls, kwargs, named):
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=re.escape(named)):
        cls([p], **kwargs)
    with pytest.raises(ValueError):  # torch rejects the same value
        getattr(optim, cls.__name__)([p], **kwargs)


def test_parameter_group_errors():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(ValueError, match="more than one parameter group"):
        Adam([{"params": [p]}, {"params": [p], "lr": 0.1}])
    with pytest.raises(ValueError, match="leaf tensors"):
        Adam([p * 2])
    with pytest.raises(TypeError, match="iterable"):
        Adam(p)
    optimizer = Adam([p])
    with pytest.raises(ValueError, match="number of parameter groups"):
        optimizer.load_state_dict(
            Adam([{"params": [p]}, {"params": [p.detach().clone().requires_grad_()]}]).state_dict()
        )


def test_adamw_defaults_differ_from_adam_only_in_weight_decay():
    p = torch.zeros(2, requires_grad=True)
    adam, adamw = Adam([p]).defaults, AdamW([p]).defaults
    assert adamw == {**adam, "weight_decay": 1e-2}
    assert adamw == {k: optim.AdamW([p]).defaults[k] for k in adamw}
    assert adam == {k: optim.Adam([p]).defaults[k] for k in adam}


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop"]),
    lr=st.floats(1e-4, 0.1),
    beta=st.floats(0.0, 0.99),
    decay=st.floats(0.0, 0.3),
    flag=st.booleans(),
    maximize=st.booleans(),
)
def test_random_hyperparameters_match_torch_optim(name, lr, beta, decay, flag, maximize):
    kwargs = {
        "SGD": dict(momentum=beta, nesterov=flag and beta > 0),
        "Adam": dict(betas=(beta, 0.999), amsgrad=flag),
        "AdamW": dict(betas=(0.9, max(beta, 0.5)), amsgrad=flag),
        "RMSprop": dict(alpha=max(beta, 0.5), momentum=beta / 2, centered=flag),
    }[name]
    case = Case(name, dict(lr=lr, weight_decay=decay, maximize=maximize, **kwargs))
    mine, theirs = run_case(case, F64, steps=15, seed=1)
    assert_trajectories_equal(mine, theirs, TOL[F64])
