"""The hand-written lr schedulers next to torch.optim.lr_scheduler: the same lr at every step."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import optim

import nnscratch.optim
from nnscratch.lab.verify.optim import lr_sequence
from nnscratch.optim import SGD, Adam
from nnscratch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR

EXACT = dict(rtol=0.0, atol=0.0)  # same formula, same float operations: same bits

CONFIGS = [
    ("StepLR", dict(step_size=1)),
    ("StepLR", dict(step_size=10, gamma=0.5)),
    ("StepLR", dict(step_size=3, gamma=1.5)),
    ("CosineAnnealingLR", dict(T_max=60)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),  # past T_max: the cosine climbs back
    ("CosineAnnealingLR", dict(T_max=1)),
    ("LinearLR", {}),
    ("LinearLR", dict(start_factor=0.01, total_iters=50)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=20)),  # a linear decay
    ("LinearLR", dict(start_factor=0.5, end_factor=0.5, total_iters=3)),
]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=str)
def test_lr_sequence_matches_torch_for_70_steps(name, kwargs):
    mine = lr_sequence(nnscratch.optim, name, kwargs, steps=70)  # (71, 2 groups)
    theirs = lr_sequence(optim, name, kwargs, steps=70)
    torch.testing.assert_close(mine, theirs, **EXACT)
    base = torch.tensor([0.1, 0.3], dtype=torch.float64)
    assert not torch.all(mine == base)  # the schedule does change the lr


def closed_form(name, kwargs, base_lr, t):
    if name == "StepLR":
        return base_lr * kwargs.get("gamma", 0.1) ** (t // kwargs["step_size"])
    if name == "CosineAnnealingLR":
        eta_min = kwargs.get("eta_min", 0.0)
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / kwargs["T_max"])) / 2
    s, e, T = (
        kwargs.get("start_factor", 1 / 3),
        kwargs.get("end_factor", 1.0),
        kwargs.get("total_iters", 5),
    )
    return base_lr * (s + (e - s) * min(t, T) / T)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=str)
def test_recursion_follows_the_closed_form_in_the_docstring(name, kwargs):
    lrs = lr_sequence(nnscratch.optim, name, kwargs, steps=70)
    expected = torch.tensor(
        [[closed_form(name, kwargs, base, t) for base in (0.1, 0.3)] for t in range(71)],
        dtype=torch.float64,
    )
    torch.testing.assert_close(lrs, expected, rtol=1e-9, atol=1e-12)


def test_scheduler_sets_initial_lr_base_lrs_and_last_epoch_like_torch():
    objects = []
    for lib in (nnscratch.optim, optim):
        w = torch.zeros(1, requires_grad=True)
        optimizer = lib.Adam([{"params": [w]}], lr=0.2)
        scheduler = lib.lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=4)
        objects.append((optimizer, scheduler))
    (mo, ms), (to, ts) = objects
    assert ms.last_epoch == ts.last_epoch == 0
    assert ms.base_lrs == ts.base_lrs == [0.2]
    assert mo.param_groups[0]["initial_lr"] == to.param_groups[0]["initial_lr"] == 0.2
    assert mo.param_groups[0]["lr"] == to.param_groups[0]["lr"] == 0.1
    for _ in range(3):
        mo.step()
        to.step()
        ms.step()
        ts.step()
    assert ms.last_epoch == ts.last_epoch == 3
    assert ms.get_last_lr() == ts.get_last_lr()


def test_chained_schedulers_compose_like_torch():
    """Chainable get_lr: a warm-up and a step decay on the same optimizer multiply."""
    sequences = []
    for lib in (nnscratch.optim, optim):
        optimizer = lib.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        warmup = lib.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=8)
        decay = lib.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
        lrs = []
        for _ in range(30):
            optimizer.step()
            warmup.step()
            decay.step()
            lrs.append(optimizer.param_groups[0]["lr"])
        sequences.append(torch.tensor(lrs, dtype=torch.float64))
    torch.testing.assert_close(sequences[0], sequences[1], **EXACT)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS[1::2], ids=str)
def test_state_dict_round_trip_continues_the_same_sequence(name, kwargs):
    def make():
        optimizer = SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        return optimizer, getattr(nnscratch.optim.lr_scheduler, name)(optimizer, **kwargs)

    optimizer, scheduler = make()
    for _ in range(13):
        optimizer.step()
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    straight = []
    for _ in range(20):
        scheduler.step()
        straight.append(scheduler.get_last_lr()[0])
    fresh_optimizer, fresh = make()  # torch's order: build both, then load both
    fresh_optimizer.load_state_dict(saved_optimizer)
    fresh.load_state_dict(saved_scheduler)
    assert fresh.last_epoch == 13
    resumed = []
    for _ in range(20):
        fresh.step()
        resumed.append(fresh.get_last_lr()[0])
    assert resumed == straight


def test_resuming_with_last_epoch_needs_initial_lr():
    optimizer = SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(optimizer, step_size=2, last_epoch=4)
    optimizer.param_groups[0]["initial_lr"] = 0.1
    scheduler = StepLR(optimizer, step_size=2, last_epoch=4)
    assert scheduler.last_epoch == 5 and scheduler.base_lrs == [0.1]


@pytest.mark.parametrize(
    ("make", "error", "named"),
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "0"),
        (lambda o: StepLR(o, step_size=2.5), ValueError, "2.5"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "0"),
        (lambda o: LinearLR(o, start_factor=0.0), ValueError, "start_factor=0.0"),
        (lambda o: LinearLR(o, start_factor=1.5), ValueError, "start_factor=1.5"),
        (lambda o: LinearLR(o, end_factor=-0.1), ValueError, "end_factor=-0.1"),
        (lambda o: StepLR(object(), step_size=3), TypeError, "object is not an Optimizer"),
    ],
)
def test_invalid_scheduler_arguments(make, error, named):
    optimizer = Adam([torch.zeros(1, requires_grad=True)])
    with pytest.raises(error, match=named):
        make(optimizer)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["StepLR", "CosineAnnealingLR", "LinearLR"]),
    period=st.integers(1, 40),
    factor=st.floats(0.01, 1.0),
    steps=st.integers(1, 120),
)
def test_random_schedules_match_torch(name, period, factor, steps):
    kwargs = {
        "StepLR": dict(step_size=period, gamma=factor),
        "CosineAnnealingLR": dict(T_max=period, eta_min=factor * 1e-2),
        "LinearLR": dict(start_factor=factor, end_factor=1.0 - factor / 2, total_iters=period),
    }[name]
    mine = lr_sequence(nnscratch.optim, name, kwargs, steps)
    theirs = lr_sequence(optim, name, kwargs, steps)
    torch.testing.assert_close(mine, theirs, **EXACT)
