"""``--backward manual|engine`` beside the commands that train or step a model outside the
round-trip matrix (tests/test_roundtrip_matrix.py has the run → resume → predict → explain →
lab → export → graph chain): lr-find and --overfit-batch take the run's backward, a resumed run
keeps its own, health says what it could not record."""

from __future__ import annotations

import json

import pytest
from cli_run import run

from nnscratch import steps
from nnscratch.run.config import BACKWARDS

OTHERS = [b for b in BACKWARDS if b != "autograd"]  # the named options beside the default
STEP_OF = {"manual": "by_hand", "engine": "engine"}  # steps.py's function for each


def spy(monkeypatch, backward: str) -> list[int]:
    """Count the steps taken through ``backward``'s step function of `nnscratch.steps`."""
    calls: list[int] = []
    name = STEP_OF[backward]
    inner = getattr(steps, name)

    def counted(model, loss_fn):
        step = inner(model, loss_fn)

        def counting(xb, yb):
            calls.append(1)
            return step(xb, yb)

        return counting

    monkeypatch.setattr(steps, name, counted)
    return calls


def test_every_named_backward_has_its_step():
    assert set(STEP_OF) == set(OTHERS) and steps.BACKWARDS == BACKWARDS


@pytest.mark.parametrize("backward", OTHERS)
def test_lr_find_steps_with_the_runs_backward(monkeypatch, backward):
    """lr-find took --backward and ignored it (loss.backward() always); now each of its steps is
    the run's, and the curve is autograd's within float64 rounding."""
    flags = ["--data", "builtin:iris", "--dtype", "float64", "--json"]
    code, out, err = run("lr-find", *flags)
    assert code == 0, err
    want = json.loads(out)
    calls = spy(monkeypatch, backward)
    code, out, err = run("lr-find", *flags, "--backward", backward)
    assert code == 0, err
    got = json.loads(out)
    assert len(calls) == len(got["lrs"]) + (got["stopped"].startswith("the loss became"))
    assert got["lrs"][:100] == want["lrs"][:100]
    assert got["losses"][:100] == pytest.approx(want["losses"][:100], rel=1e-9)


@pytest.mark.parametrize("backward", OTHERS)
def test_overfit_batch_steps_with_the_runs_backward(monkeypatch, backward):
    calls = spy(monkeypatch, backward)
    flags = ["--data", "builtin:moons", "--hidden", "8", "--overfit-batch", "--json"]
    code, out, err = run("train", *flags, "--backward", backward)
    assert code == 0, err
    got = json.loads(out)
    assert len(calls) == got["steps"]
    code, out, err = run("train", *flags)
    assert code == 0, err
    assert got["final"] == pytest.approx(json.loads(out)["final"], rel=1e-3, abs=1e-6)
