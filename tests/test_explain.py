"""`nnscratch explain`: the traced numbers are right (PyTorch and hand recomputation as oracles),
the text and JSON read as promised, and bad flags fail with one line."""

import json
import math

import click
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn, optim

from nnscratch import MLP, Linear, LinearRegression, Module
from nnscratch.data import make_regression
from nnscratch.errors import DivergenceError
from nnscratch.lab.explain import analytic_for, render_text, tensor_record, trace
from nnscratch.lab.explain.render import fmt_tensor
from nnscratch.losses import mse_loss
from nnscratch.optim import SGD
from nnscratch.run.cli import main
from nnscratch.run.config import TrainConfig

F64 = torch.float64


def setup(n=8, features=1, dtype=torch.float32, seed=0, lr=0.1, **sgd):
    torch.manual_seed(seed)
    data = make_regression(n, features, 0.1, seed, dtype)
    model = LinearRegression(features, dtype=dtype)
    return model, data.X, data.y, SGD(model.parameters(), lr=lr, **sgd)


def as_tensor(rec, dtype):
    return torch.tensor(rec["values"], dtype=dtype).view(rec["shape"])


def traced_json(dtype=torch.float32, steps=3, **kw):
    model, X, y, opt = setup(dtype=dtype, **kw)
    return json.loads(json.dumps(trace(model, X, y, mse_loss, opt, steps))), X, y


# -- the hand-derived gradient: backprop's, derived once ----------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 9),
    f=st.integers(1, 4),
    o=st.integers(1, 3),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_analytic_grads_equal_autograd_through_nn_linear_and_mse(n, f, o, bias, seed):
    torch.manual_seed(seed)
    model = Linear(f, o, bias=bias, dtype=F64)
    X, y = torch.randn(n, f, dtype=F64), torch.randn(n, o, dtype=F64)
    reference = nn.Linear(f, o, bias=bias, dtype=F64)
    with torch.no_grad():
        reference.weight.copy_(model.weight)
        if bias:
            reference.bias.copy_(model.bias)
    F.mse_loss(reference(X), y).backward()
    mine = analytic_for(model, mse_loss)(model, X, y)
    assert set(mine) == ({"weight", "bias"} if bias else {"weight"})
    assert model.weight.grad is None  # the hand derivation leaves p.grad alone
    torch.testing.assert_close(mine["weight"], reference.weight.grad, atol=1e-12, rtol=1e-12)
    if bias:
        torch.testing.assert_close(mine["bias"], reference.bias.grad, atol=1e-12, rtol=1e-12)


def test_analytic_column_is_backprops_formula_not_a_copy(monkeypatch):
    """explain's "by hand" numbers are `nnscratch.backprop`'s: break backprop's ∂L/∂ŷ for MSE and
    explain reports DIFFERS (a separate copy of the formula would still agree)."""
    from nnscratch.backprop import losses as derived

    model, X, y, opt = setup()
    exact = trace(model, X, y, mse_loss, opt, steps=1)[0]["backward"]["analytic"]
    assert all(a["agrees"] for a in exact.values())

    def half_gradient(input, target, reduction="mean"):  # δ without its 2: the ½-MSE slip
        loss, delta = derived.mse_loss(input, target, reduction)
        return loss, delta / 2

    monkeypatch.setitem(derived.DERIVED, mse_loss, half_gradient)
    model, X, y, opt = setup()
    broken = trace(model, X, y, mse_loss, opt, steps=1)
    assert not any(a["agrees"] for a in broken[0]["backward"]["analytic"].values())
    assert "DIFFERS" in render_text(broken)


def test_mlp_is_traced_with_backprops_gradients():
    """Any model backprop has formulas for gets the hand-derived column (no formula labels)."""
    torch.manual_seed(0)
    model = MLP(2, [3], 1, activation="tanh", dtype=F64)
    X, y = torch.randn(6, 2, dtype=F64), torch.randn(6, 1, dtype=F64)
    records = trace(model, X, y, mse_loss, SGD(model.parameters(), lr=0.1), steps=2)
    for r in records:
        hand = r["backward"]["analytic"]
        assert list(hand) == list(r["backward"]["grads"])
        assert all(a["agrees"] and a["formula"] is None for a in hand.values())


# -- the traced numbers -------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-12), (torch.float32, 1e-5)])
def test_json_grads_equal_the_formula_recomputed_from_the_json(dtype, tol):
    records, _, _ = traced_json(dtype)
    for r in records:
        X = torch.tensor(r["forward"]["X"]["values"], dtype=F64)  # (N,), one feature
        y = torch.tensor(r["forward"]["y"]["values"], dtype=F64)
        w = r["forward"]["parameters"]["weight"]["values"][0]
        b = r["forward"]["parameters"]["bias"]["values"][0]
        residual = w * X + b - y  # ŷ − y
        n = len(X)
        dw, db = 2 / n * (residual * X).sum().item(), 2 / n * residual.sum().item()
        grads = r["backward"]["grads"]
        assert grads["weight"]["values"][0] == pytest.approx(dw, rel=tol, abs=tol)
        assert grads["bias"]["values"][0] == pytest.approx(db, rel=tol, abs=tol)
        for name, hand in r["backward"]["analytic"].items():
            assert hand["agrees"] is True
            assert hand["value"]["values"] == pytest.approx(grads[name]["values"], rel=tol, abs=tol)


@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-12), (torch.float32, 1e-6)])
def test_trace_follows_nn_linear_mse_and_optim_sgd(dtype, tol):
    records, X, y = traced_json(dtype, steps=4, features=3, n=10)
    torch.manual_seed(0)
    reference = nn.Linear(3, 1, dtype=dtype)
    opt = optim.SGD(reference.parameters(), lr=0.1)
    for r in records:
        loss = F.mse_loss(reference(X), y)
        loss.backward()
        assert r["loss"]["value"] == pytest.approx(loss.item(), rel=tol, abs=tol)
        for name, p in reference.named_parameters():
            torch.testing.assert_close(
                as_tensor(r["backward"]["grads"][name], dtype), p.grad, atol=tol, rtol=tol
            )
        opt.step()
        opt.zero_grad()
        for name, p in reference.named_parameters():
            new = as_tensor(r["update"]["parameters"][name]["new"], dtype)
            torch.testing.assert_close(new, p.detach(), atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_new_is_exactly_old_minus_lr_times_grad(dtype):
    records, _, _ = traced_json(dtype)
    for r in records:
        for name, u in r["update"]["parameters"].items():
            old, new = as_tensor(u["old"], dtype), as_tensor(u["new"], dtype)
            grad = as_tensor(r["backward"]["grads"][name], dtype)
            assert u["lr"] == 0.1 and u["exact"] is True
            # bit for bit, rounded as the seed writes it or as torch.optim.SGD evaluates it
            seed_form, torch_form = old - 0.1 * grad, old.add(grad, alpha=-0.1)
            assert torch.equal(new, seed_form) or torch.equal(new, torch_form)
            assert u["max_abs_diff"] <= torch.finfo(dtype).eps * new.abs().max().item()
            assert not torch.equal(new, old)  # the step moved it


def test_an_update_that_is_not_old_minus_lr_grad_is_flagged():
    class Drifting(SGD):  # claims to be plain SGD but nudges every parameter after the rule
        @torch.no_grad()
        def step(self, closure=None):
            super().step()
            for p in self.param_groups[0]["params"]:
                p.add_(1e-3)

    model, X, y, _ = setup()
    records = trace(model, X, y, mse_loss, Drifting(model.parameters(), lr=0.1), steps=1)
    for u in records[0]["update"]["parameters"].values():
        assert u["exact"] is False and u["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)
    assert "✗ NOT old − lr·grad" in render_text(records)


@pytest.mark.parametrize(("dtype", "tol"), [(F64, 1e-12), (torch.float32, 1e-6)])
def test_loss_after_update_equals_an_independent_recomputation(dtype, tol):
    records, X, y = traced_json(dtype, features=2)
    for i, r in enumerate(records):
        W = as_tensor(r["update"]["parameters"]["weight"]["new"], F64)
        b = as_tensor(r["update"]["parameters"]["bias"]["new"], F64)
        expected = ((X.double() @ W.T + b - y.double()) ** 2).mean().item()
        assert r["loss_after"] == pytest.approx(expected, rel=tol, abs=tol)
        assert r["loss_after"] < r["loss"]["value"]  # lr 0.1 on this data descends
        if i + 1 < len(records):  # the next step starts from the updated parameters
            assert records[i + 1]["loss"]["value"] == r["loss_after"]
            assert records[i + 1]["forward"]["parameters"] == {
                n: u["new"] for n, u in r["update"]["parameters"].items()
            }


def test_parameters_unchanged_by_backward_and_the_check_can_fail():
    records, _, _ = traced_json()
    assert all(r["backward"]["parameters_unchanged"] is True for r in records)
    for r in records:  # forward sees the same values the update starts from
        for name, u in r["update"]["parameters"].items():
            assert u["old"] == r["forward"]["parameters"][name]

    model, X, y, opt = setup()

    def tampering_loss(y_pred, target):  # a backward hook that moves a parameter
        def hook(grad):
            with torch.no_grad():
                model.bias.add_(1.0)
            return grad

        if y_pred.requires_grad:  # not in the no_grad recomputation of the loss
            y_pred.register_hook(hook)
        return mse_loss(y_pred, target)

    bad = trace(model, X, y, tampering_loss, opt, steps=1)
    assert bad[0]["backward"]["parameters_unchanged"] is False
    assert bad[0]["backward"]["analytic"] is None  # no formula known for this loss function
    assert "✗ CHANGED" in render_text(bad)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_reset_records_grad_before_and_after(set_to_none):
    model, X, y, opt = setup()
    records = trace(model, X, y, mse_loss, opt, steps=2, set_to_none=set_to_none)
    for r in records:
        for name, g in r["reset"]["grads"].items():
            assert g["before"] == r["backward"]["grads"][name]
            assert any(v != 0 for v in g["before"]["values"])
            if set_to_none:
                assert g["after"] is None
            else:
                assert g["after"]["values"] == [0.0] * g["after"]["numel"]
    first, second = records[0]["backward"]["grads_before"], records[1]["backward"]["grads_before"]
    assert all(g is None for g in first.values())
    assert second == {n: g["after"] for n, g in records[0]["reset"]["grads"].items()}
    text = render_text(records)
    assert f"optimizer.zero_grad(set_to_none={set_to_none})" in text
    assert ("→ None" in text) is set_to_none


def test_momentum_sgd_is_shown_as_old_to_new_and_matches_torch():
    model, X, y, opt = setup(momentum=0.9)
    records = trace(model, X, y, mse_loss, opt, steps=3)
    torch.manual_seed(0)
    reference = nn.Linear(1, 1)
    ref_opt = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for r in records:
        F.mse_loss(reference(X), y).backward()
        ref_opt.step()
        ref_opt.zero_grad()
        for name, p in reference.named_parameters():
            u = r["update"]["parameters"][name]
            assert u["lr"] is None and u["expected"] is None and u["exact"] is None
            torch.testing.assert_close(as_tensor(u["new"], torch.float32), p.detach())
    text = render_text(records)
    assert "p ← p − lr·p.grad" not in text and "exact" not in text and " → [" in text


def test_model_without_a_known_formula_is_traced_without_one():
    class TwoLayers(Module):
        def __init__(self):
            self.a, self.b = Linear(2, 3, dtype=F64), Linear(3, 1, dtype=F64)

        def forward(self, x):
            return self.b(self.a(x))

    model = TwoLayers()
    X, y = torch.randn(5, 2, dtype=F64), torch.randn(5, 1, dtype=F64)
    records = trace(model, X, y, mse_loss, SGD(model.parameters(), lr=0.01), steps=2)
    names = ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert list(records[0]["backward"]["grads"]) == names
    assert records[0]["backward"]["analytic"] is None
    assert all(u["exact"] for r in records for u in r["update"]["parameters"].values())
    assert "by hand" not in render_text(records)


def test_divergence_stops_the_trace():
    model, X, y, opt = setup(lr=1e30)
    with pytest.raises(DivergenceError, match="step 2"):
        trace(model, X, y, mse_loss, opt, steps=3)


@pytest.mark.parametrize("steps", [0, -2, 1.5, True])
def test_trace_rejects_bad_steps(steps):
    model, X, y, opt = setup()
    with pytest.raises(ValueError, match=f"got {steps}"):
        trace(model, X, y, mse_loss, opt, steps=steps)


# -- summarising tensors ------------------------------------------------------------------------
def test_large_tensors_are_summarised_small_ones_kept_whole():
    big = torch.arange(300, dtype=F64).view(100, 3)
    rec = tensor_record(big, full_up_to=8)
    assert rec["shape"] == [100, 3] and rec["numel"] == 300 and rec["complete"] is False
    assert rec["values"] == [0.0, 1.0, 2.0, 3.0]
    assert rec["norm"] == pytest.approx(torch.linalg.vector_norm(big).item(), rel=1e-12)
    text = fmt_tensor(rec)
    assert text == "(100, 3)  [0, 1, 2, 3, …] ‖·‖=2992.5"

    small = tensor_record(torch.tensor([[1.5, -2.0]]), full_up_to=8)
    assert small["complete"] is True and small["values"] == [1.5, -2.0]
    assert fmt_tensor(small) == "[1.5, -2]" and fmt_tensor(small, shape=True) == "(1, 2)  [1.5, -2]"
    whole = tensor_record(big)  # parameters and gradients: every value
    assert whole["complete"] is True and len(whole["values"]) == 300
    assert fmt_tensor(whole).startswith("(100, 3)  [0, 1, 2, 3, …]")
    assert tensor_record(None) is None and fmt_tensor(None) == "None"


def test_trace_summarises_large_data_but_keeps_every_parameter_value():
    model, X, y, opt = setup(n=50, features=12)
    r = trace(model, X, y, mse_loss, opt, steps=1)[0]
    assert r["forward"]["X"]["complete"] is False and len(r["forward"]["X"]["values"]) == 4
    assert r["forward"]["y_pred"]["shape"] == [50, 1]
    assert len(r["backward"]["grads"]["weight"]["values"]) == 12
    assert "(50, 12)  [" in render_text([r])


# -- text and CLI -------------------------------------------------------------------------------
PHASES = ["1. forward", "2. loss", "3. backward", "4. update", "5. reset", "loss after the update"]


def test_text_lists_the_five_phases_in_order_for_every_step(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert out.startswith("LinearRegression(weight: (1, 1), bias: (1,))")
    blocks = out.split("── step ")[1:]
    assert [b.split(" ", 3)[:3] for b in blocks] == [[str(i), "of", "3"] for i in (1, 2, 3)]
    for block in blocks:
        positions = [block.index(p) for p in PHASES]
        assert positions == sorted(positions)
        assert "L = 1/N·Σ(ŷ−y)²" in block and "2/N·Σ(ŷ−y)·x" in block
        assert block.count("✓ agrees") == 2 and block.count("✓ exact") == 2
        assert "✓ unchanged by backward" in block and "✗" not in block


def test_text_numbers_are_the_traced_numbers(capsys):
    assert main(["explain", "--steps", "2", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert main(["explain", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    for r in records:
        assert f"{r['loss']['value']:.6g}" in out and f"{r['loss_after']:.6g}" in out
        w = r["update"]["parameters"]["weight"]
        assert f"[{w['old']['values'][0]:.6g}] − 0.1·" in out
        assert f"= [{w['new']['values'][0]:.6g}]" in out


def test_colour_only_when_asked():
    model, X, y, opt = setup()
    records = trace(model, X, y, mse_loss, opt, steps=1)
    coloured, plain = render_text(records, color=True), render_text(records, color=False)
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert click.unstyle(coloured) == plain


def test_cli_json_is_a_list_of_step_records(capsys):
    assert (
        main(["explain", "--json", "--steps", "4", "--n-features", "2", "--dtype", "float64"]) == 0
    )
    records = json.loads(capsys.readouterr().out)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    for r in records:
        assert set(r) == {"step", "forward", "loss", "backward", "update", "reset", "loss_after"}
        assert r["forward"]["X"]["shape"] == [8, 2]  # explain's default: 8 samples
        assert r["forward"]["parameters"]["weight"]["shape"] == [1, 2]
        assert math.isfinite(r["loss"]["value"]) and r["loss"]["name"] == "mse_loss"


def test_cli_losses_equal_the_first_epochs_of_nnscratch_train(capsys):
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    assert main(["explain", "--json", "--lr", "0.1", "--seed", "4"]) == 0
    records = json.loads(capsys.readouterr().out)
    summary = train(prepare(TrainConfig(n_samples=8, epochs=3, lr=0.1, seed=4))).summary
    assert [r["loss"]["value"] for r in records] == summary["loss_history"]


def test_cli_no_set_to_none_leaves_zeros(capsys):
    assert main(["explain", "--json", "--steps", "1", "--no-set-to-none"]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert r["reset"]["set_to_none"] is False
    assert r["reset"]["grads"]["bias"]["after"]["values"] == [0.0]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--steps", "0"], "--steps"),
        (["--steps", "two"], "'two' is not a valid integer"),
        (["--lr", "-1"], "--lr must be"),
        (["--n-samples", "0"], "--n-samples must be at least 1"),
        (["--dtype", "float16"], "float16"),
        (["--epochs", "3"], "use --steps"),
        (["--nope"], "No such option"),
    ],
)
def test_cli_bad_flags_are_one_line_errors(capsys, argv, fragment):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_divergence_exits_3(capsys):
    assert main(["explain", "--lr", "1e30"]) == 3
    assert capsys.readouterr().err.startswith("error: loss became inf")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--batch-size", "4"], "full batch"),
        (["--scheduler", "step"], "drop --scheduler"),
        (["--compile"], "drop --compile"),  # it was silently ignored
        (["--optimizer", "nope"], "'nope' is not one of"),
    ],
)
def test_cli_flags_explain_cannot_honour_are_refused(capsys, argv, fragment):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_cli_other_optimizers_are_shown_old_to_new_and_match_torch(capsys):
    argv = ["explain", "--json", "--optimizer", "adam", "--lr", "0.05", "--dtype", "float64"]
    assert main(argv) == 0
    records = json.loads(capsys.readouterr().out)
    X = as_tensor(records[0]["forward"]["X"], F64)
    y = as_tensor(records[0]["forward"]["y"], F64)
    torch.manual_seed(0)
    reference = nn.Linear(1, 1, dtype=F64)
    adam = optim.Adam(reference.parameters(), lr=0.05)
    for r in records:
        F.mse_loss(reference(X), y).backward()
        adam.step()
        adam.zero_grad()
        assert r["update"]["optimizer"] == "Adam"
        for name, p in reference.named_parameters():
            u = r["update"]["parameters"][name]
            assert u["lr"] is None and u["exact"] is None
            torch.testing.assert_close(as_tensor(u["new"], F64), p.detach(), atol=1e-12, rtol=1e-12)


def test_cli_mlp_on_a_builtin_data_set_shows_backprops_gradient(capsys):
    argv = ["explain", "--data", "builtin:moons", "--model", "mlp", "--hidden", "3", "--steps", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("MLP(") and out.count("── step ") == 2
    assert "0.weight.grad" in out and "✗" not in out
    assert out.count("by hand ∂L/∂0.weight") == 2 and "DIFFERS" not in out


def test_verify_rows_for_explain_pass(verify_rows):
    rows = verify_rows("explain")
    assert rows and all(r.passed for r in rows)
    assert all(r.max_diff < 1e-12 for r in rows)


def test_backward_manual_fills_grad_by_hand_and_checks_it_against_autograd(monkeypatch, capsys):
    """``explain --backward manual`` (it was taken and ignored: autograd filled p.grad): step 3
    is `nnscratch.backprop.loss_and_grads`, and the column beside p.grad is autograd's ∂L/∂p.
    Break the hand-derived δ of MSE: p.grad takes the broken numbers, autograd's column does
    not, and explain says DIFFERS."""
    from nnscratch.backprop import losses as derived

    args = ["explain", "--steps", "2", "--dtype", "float64", "--backward", "manual"]
    assert main([*args, "--json"]) == 0
    manual = json.loads(capsys.readouterr().out)
    assert main([*args[:-2], "--json"]) == 0
    autograd = json.loads(capsys.readouterr().out)
    for ours, theirs in zip(manual, autograd, strict=True):
        assert ours["backward"]["by"] == "manual" and ours["backward"]["beside"] == "autograd"
        assert theirs["backward"]["by"] == "autograd"
        assert all(a["agrees"] for a in ours["backward"]["analytic"].values())
        for name, g in theirs["backward"]["grads"].items():
            assert ours["backward"]["grads"][name]["values"] == pytest.approx(g["values"], 1e-12)
        assert ours["forward"]["y_pred"] == theirs["forward"]["y_pred"]

    def half_gradient(input, target, reduction="mean"):  # δ without its 2: the ½-MSE slip
        loss, delta = derived.mse_loss(input, target, reduction)
        return loss, delta / 2

    monkeypatch.setitem(derived.DERIVED, mse_loss, half_gradient)
    assert main([*args, "--steps", "1", "--json"]) == 0
    broken = json.loads(capsys.readouterr().out)[0]["backward"]
    for name, g in autograd[0]["backward"]["grads"].items():
        halved = [v / 2 for v in g["values"]]
        assert broken["grads"][name]["values"] == pytest.approx(halved, rel=1e-12)
        assert broken["analytic"][name]["value"]["values"] == pytest.approx(g["values"], 1e-12)
        assert not broken["analytic"][name]["agrees"]
    assert main([*args, "--steps", "1"]) == 0
    text = capsys.readouterr().out
    assert "(nnscratch.backprop, by hand)" in text and "autograd ∂L/∂weight" in text
    assert "DIFFERS" in text


def test_cli_no_compile_is_the_eager_default_and_taken(capsys):
    """--compile is refused (above); --no-compile, what train's line may say, is what explain
    does: the same steps as with no flag."""
    assert main(["explain", "--json", "--steps", "1"]) == 0
    plain = capsys.readouterr().out
    assert main(["explain", "--json", "--steps", "1", "--no-compile"]) == 0
    assert capsys.readouterr().out == plain
