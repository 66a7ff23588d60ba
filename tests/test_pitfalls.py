"""The pitfalls lab: each broken loop shows its real symptom, and PyTorch confirms the diagnosis."""

import importlib
import json
from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import optim

from nnscratch.lab.pitfalls import (
    PITFALLS,
    divide_twice,
    eval_with_grad,
    get,
    keep_loss_tensors,
    no_zero_grad,
    run,
)
from nnscratch.lab.pitfalls.base import execute
from nnscratch.lab.pitfalls.memory import footprint
from nnscratch.lab.pitfalls.problem import LR
from nnscratch.lab.verify.pitfalls import hooked_saved_bytes, torch_weights
from nnscratch.run.cli import main

NAMES = list(PITFALLS)


def test_registry_has_every_pitfall_in_order():
    assert NAMES == [
        "no-zero-grad",
        "update-without-no-grad",
        "rebind-parameter",
        "requires-grad-before-init",
        "backward-in-no-grad",
        "divide-twice",
        "keep-loss-tensors",
        "eval-with-grad",
        "forget-eval",
        "causal-mask-off-by-one",
        "recursion-without-topological-sort",
    ]
    with pytest.raises(KeyError, match="no-zero-grad"):
        get("nope")


@pytest.mark.parametrize("name", NAMES)
def test_correct_variant_never_raises_and_module_explains_the_fix(name):
    result = run(get(name))
    assert result.correct.error is None
    assert result.correct.warnings == []
    assert "Fix" in importlib.import_module(result.pitfall.broken.__module__).__doc__
    assert "def broken" in result.broken.code and "def correct" in result.correct.code
    json.dumps(result.to_dict())  # everything observed is plain data


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "update-without-no-grad",
            "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation",
        ),
        (
            "rebind-parameter",
            "TypeError: unsupported operand type(s) for *: 'float' and 'NoneType'",
        ),
        (
            "requires-grad-before-init",
            "ValueError: optimizer can only optimize leaf tensors",
        ),
        (
            "backward-in-no-grad",
            "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn",
        ),
    ],
)
def test_broken_variant_raises_the_real_exception(name, error):
    assert run(get(name)).broken.error.startswith(error)


def test_rebinding_makes_w_a_non_leaf_whose_grad_is_none_with_a_warning():
    result = run(get("rebind-parameter"))
    seen = result.broken.observed
    assert seen["step 1: w.is_leaf"] and not seen["step 1: w.grad is None"]
    assert seen["step 1: w.grad_fn after update"] == "SubBackward0"
    assert not seen["step 2: w.is_leaf"] and seen["step 2: w.grad is None"]
    assert any("not a leaf Tensor" in w for w in result.broken.warnings)
    ok = result.correct.observed
    assert ok["step 2: w.is_leaf"] and ok["step 2: w.grad_fn after update"] == "None"


def test_requires_grad_before_init_gives_a_non_leaf_that_torch_optim_refuses_too():
    result = run(get("requires-grad-before-init"))
    seen = result.broken.observed
    assert seen == {"w.is_leaf": False, "w.grad_fn": "MulBackward0", "w.grad is None": True}
    assert any("not a leaf Tensor" in w for w in result.broken.warnings)
    w = torch.randn(1, requires_grad=True) * 0.01
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w], lr=LR)
    assert result.correct.observed["w.is_leaf after step"]


def test_update_without_no_grad_changes_nothing_and_the_fix_is_one_sgd_step():
    result = run(get("update-without-no-grad"))
    assert "w after" not in result.broken.observed  # it raised before the update
    ok = result.correct.observed
    w0 = {"w0": ok["w before"], "b0": 0.0}
    torch.testing.assert_close(ok["w after"], torch_weights(w0, 1, lr=LR)[0], atol=1e-6, rtol=0)


def test_forgetting_zero_grad_is_sgd_with_momentum_one():
    broken = execute(no_zero_grad.broken).observed
    expected = torch_weights(broken, no_zero_grad.STEPS, lr=LR, momentum=1.0, dampening=0.0)
    torch.testing.assert_close(
        torch.tensor(broken["w"]), torch.tensor(expected), atol=1e-5, rtol=1e-5
    )
    correct = execute(no_zero_grad.correct).observed
    expected = torch_weights(correct, no_zero_grad.STEPS, lr=LR)
    torch.testing.assert_close(
        torch.tensor(correct["w"]), torch.tensor(expected), atol=1e-6, rtol=1e-6
    )


def test_forgetting_zero_grad_accumulates_gradients_and_the_loss_swings():
    broken = execute(no_zero_grad.broken).observed
    correct = execute(no_zero_grad.correct).observed
    assert broken["grad_w"][0] == correct["grad_w"][0]  # the first step is the same
    assert abs(broken["grad_w"][2]) > 3 * abs(correct["grad_w"][2])  # then the sum piles up
    rises = sum(b > a for a, b in pairwise(broken["loss"]))
    assert rises >= 5  # bounces
    assert all(b < a for a, b in pairwise(correct["loss"]))  # falls every step
    assert correct["loss"][-1] < broken["loss"][-1]


def test_dividing_twice_is_sgd_with_lr_over_n_and_trains_slower():
    broken = execute(divide_twice.broken).observed
    expected = torch_weights(broken, divide_twice.STEPS, lr=LR / broken["N"])
    torch.testing.assert_close(
        torch.tensor(broken["w"]), torch.tensor(expected), atol=1e-6, rtol=1e-6
    )
    correct = execute(divide_twice.correct).observed
    assert broken["loss"][0] == correct["loss"][0]
    assert broken["loss"][-1] > 10 * correct["loss"][-1]


def test_keeping_loss_tensors_keeps_a_growing_number_of_graph_nodes():
    broken = execute(keep_loss_tensors.broken).observed
    correct = execute(keep_loss_tensors.correct).observed
    nodes = broken["graph_nodes_kept"]
    per_step = (nodes[1] - nodes[0]) // 9  # checkpoints at steps 1, 10, 100, 200
    assert per_step > 0
    assert nodes == [nodes[0] + per_step * (s - 1) for s in broken["step"]]  # linear growth
    assert len(set(correct["graph_nodes_kept"])) == 1  # constant: only the current graph
    # backward() freed the activations: a saved-bytes column would read 0 for both, so none
    assert "saved_bytes_kept" not in broken and "saved_bytes_kept" not in correct


def test_evaluating_without_no_grad_keeps_activations_per_pass():
    broken = execute(eval_with_grad.broken).observed
    correct = execute(eval_with_grad.correct).observed
    kept = broken["saved_bytes_kept"]
    per_pass = kept[0]
    hidden = eval_with_grad.N_VAL * eval_with_grad.HIDDEN * 4  # the (256, 32) float32 ReLU output
    assert per_pass >= hidden
    assert kept == [per_pass * i for i in range(1, eval_with_grad.EVALS + 1)]
    assert correct["saved_bytes_kept"] == [0] * eval_with_grad.EVALS
    assert correct["graph_nodes_kept"] == [0] * eval_with_grad.EVALS
    assert broken["val_loss.requires_grad"] and not correct["val_loss.requires_grad"]


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 40),
    features=st.integers(1, 6),
    hidden=st.integers(1, 24),
)
def test_footprint_counts_the_bytes_that_saved_tensor_hooks_see(n, features, hidden):
    hooked, walked = hooked_saved_bytes(n, features, hidden)
    assert hooked > 0
    assert walked == hooked


def test_footprint_after_backward_keeps_nodes_but_no_activations():
    w = torch.randn(3, 3, requires_grad=True)
    x = torch.randn(5, 3)
    loss = torch.relu(x @ w).sum()
    before = footprint([loss])
    assert before.saved_bytes == 5 * 3 * 4  # the relu output; x and w are leaves
    loss.backward()
    after = footprint([loss])
    assert after.nodes == before.nodes > 0
    assert after.saved_bytes == 0
    assert footprint([torch.zeros(3), loss.detach()]).nodes == 0


# -- the CLI --------------------------------------------------------------------------------


def test_cli_lists_every_pitfall(capsys):
    assert main(["pitfalls"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # a summary may continue on the next line (80 columns)
    for name, p in PITFALLS.items():
        assert name in out and p.summary in flat


def test_cli_lists_as_json(capsys):
    assert main(["pitfalls", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == NAMES


def test_cli_runs_one_and_prints_the_real_error_next_to_the_correct_code(capsys):
    assert main(["pitfalls", "backward-in-no-grad"]) == 0
    out = capsys.readouterr().out
    assert "raised: RuntimeError: element 0 of tensors does not require grad" in out
    assert "with torch.no_grad():  # too wide" in out  # the broken code that ran
    assert "with torch.no_grad():  # only the update" in out  # the correct code
    assert "fix: " in out


def test_cli_prints_numbers_side_by_side(capsys):
    assert main(["pitfalls", "divide-twice"]) == 0
    out = capsys.readouterr().out
    assert "loss broken" in out and "loss correct" in out
    broken = execute(divide_twice.broken).observed
    assert f"{broken['loss'][-1]:.6g}" in out


def test_cli_json_for_one_pitfall(capsys):
    assert main(["pitfalls", "update-without-no-grad", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "update-without-no-grad"
    assert "leaf Variable" in data["broken"]["error"]
    assert data["correct"]["error"] is None


def test_cli_unknown_name_is_a_user_error_listing_the_names(capsys):
    assert main(["pitfalls", "typo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown pitfall 'typo'")
    assert all(name in err for name in NAMES)
