"""``--backward manual|engine`` beside the commands that train or step a model outside the
round-trip matrix (tests/test_roundtrip_matrix.py has the run → resume → predict → explain →
lab → export → graph chain): lr-find and --overfit-batch take the run's backward, a resumed run
keeps its own, health says what it could not record."""

from __future__ import annotations

import json

import pytest
from cli_run import assert_user_error, run

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


def _transformer_run(tmp_path, backward: str, optimizer: str):
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    text = tmp_path / "notes.txt"
    if not text.exists():
        words = "the cat sat on a mat and then it ran to the red box".split()
        text.write_text(" ".join(words[(7 * i) % len(words)] for i in range(300)) + "\n")
    config = TrainConfig(
        data=str(text), model="transformer", optimizer=optimizer, lr=1e-3, epochs=2,
        batch_size=64, block_size=8, n_layer=1, n_head=1, n_embd=4, backward=backward,
    )  # fmt: skip
    data = prepare(config.validate())
    steps = config.epochs * -(-len(data.train) // config.batch_size)
    named = train(data).model.named_parameters()
    return {name: p.detach() for name, p in named}, steps


@pytest.mark.parametrize("backward", OTHERS)
def test_float32_adamw_parts_from_autograd_only_where_the_exact_gradient_is_zero(
    tmp_path, backward
):
    """Why the matrix's float32 transformer cells of a named backward use SGD: attention's key
    bias has gradient 0 in exact arithmetic (softmax(s + c) = softmax(s) for c the same along
    the keys: q·b_k is), so each backward leaves only its own rounding noise there, and AdamW
    divides that by √v + eps: steps up to lr apart. Every other number stays within float32
    rounding of autograd's run; under SGD the key bias does too."""
    import torch

    n = 4  # n_embd: in_proj_bias is (q, k, v) biases, n each
    for optimizer in ("adamw", "sgd"):
        ours, steps = _transformer_run(tmp_path, backward, optimizer)
        theirs, _ = _transformer_run(tmp_path, "autograd", optimizer)
        for name, p in theirs.items():
            gap = (ours[name] - p).abs()  # (shape of p)
            if name.endswith("in_proj_bias") and optimizer == "adamw":
                key = gap[n : 2 * n].max()
                assert 1e-6 < key <= 2 * 1e-3 * steps, (key, steps)  # > rounding, ≤ 2·lr·steps
                gap = torch.cat([gap[:n], gap[2 * n :]])  # the query and value biases
            assert gap.max() <= 1e-5 * (1 + p.abs().max()), (optimizer, name, gap.max())


def test_a_backward_without_formulas_is_refused_before_training(monkeypatch, tmp_path):
    """A model and loss that nnscratch.backprop has no formulas for (none of the CLI's five
    families today: here `backprop.supports` answers no) is one error line before any step,
    not a ValueError traceback from inside the first step; autograd and the engine take it."""
    assert steps.refusal("manual", *_mlp_and_loss()) is None  # the real answer
    monkeypatch.setattr(steps, "supports", lambda model, loss_fn: False)
    assert steps.refusal("engine", *_mlp_and_loss()) is None
    out = tmp_path / "run"
    flags = ["train", "--data", "builtin:moons", "--hidden", "4", "--epochs", "1"]
    err = assert_user_error([*flags, "--backward", "manual", "--out", out], "--backward manual")
    assert "MLP" in err and "cross_entropy" in err and "autograd or engine" in err
    assert not (out / "checkpoint").exists() and not (out / "metrics.jsonl").exists()
    code, _, err = run(*flags, "--quiet")
    assert code == 0, err
    for command in (  # the other commands that step the run's model: refused the same way
        ["lr-find", "--data", "builtin:moons", "--hidden", "4"],
        ["train", "--data", "builtin:moons", "--hidden", "4", "--overfit-batch"],
        ["explain", "--data", "builtin:moons", "--hidden", "4", "--steps", "1"],
    ):
        assert_user_error([*command, "--backward", "manual"], "--backward manual has no")
        code, _, err = run(*command, "--backward", "engine")
        assert code == 0, (command, err)


def _mlp_and_loss():
    from nnscratch.losses import cross_entropy
    from nnscratch.models import MLP

    return MLP(2, [4], 2), cross_entropy


@pytest.mark.parametrize("backward", OTHERS)
def test_a_resumed_run_keeps_its_backward_and_refuses_another(tmp_path, monkeypatch, backward):
    """--resume continues with the run's own backward (saved in config.json; its steps go
    through it: the matrix shows resumed == uninterrupted, torch.equal); a --backward given
    with --resume, another one or the same, is refused like any saved setting: the resumed
    run would no longer be the uninterrupted one bit for bit."""
    from nnscratch.run import checkpoint

    run_dir = tmp_path / "run"
    flags = ["--data", "builtin:moons", "--hidden", "4", "--backward", backward, "--quiet"]
    code, _, err = run("train", *flags, "--epochs", "1", "--out", run_dir)
    assert code == 0, err
    for other in BACKWARDS:
        assert_user_error(
            ["train", "--resume", run_dir, "--epochs", "2", "--backward", other],
            "--backward: a resumed run keeps its saved configuration",
        )
    calls = spy(monkeypatch, backward)
    code, _, err = run("train", "--resume", run_dir, "--epochs", "2", "--quiet")
    assert code == 0, err
    assert calls and checkpoint.load(run_dir).config.backward == backward
    assert checkpoint.load(run_dir).state.epoch == 2


@pytest.mark.parametrize("backward", BACKWARDS)
def test_an_exported_script_promises_what_it_keeps(tmp_path, backward):
    """The script's docstring promised "float32: bit for bit" for every raw export; a manual
    or engine run's gradients are summed by other kernels than the script's loss.backward()
    (the matrix compares those within float32 rounding), so it says so and names where the
    run's gradients came from."""
    from nnscratch.lab.export import export_script

    run_dir = tmp_path / "run"
    flags = ["--data", "builtin:iris", "--epochs", "1", "--backward", backward, "--quiet"]
    code, _, err = run("train", *flags, "--out", run_dir)
    assert code == 0, err
    doc = " ".join(export_script(run_dir, "raw").split('"""')[1].split())
    if backward == "autograd":
        assert "float32: bit for bit)" in doc, doc
    else:
        assert "float32: to float32 rounding, not bit for bit" in doc, doc
        assert f"nnscratch.{'backprop' if backward == 'manual' else 'autograd'}" in doc, doc
