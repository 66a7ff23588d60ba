"""The raw script computes what nnscratch computes, in the same order: a float32 run exported
with ``--style raw`` ends on the checkpoint's parameters bit for bit (issue 18: the fused
``addmm`` forward, nnscratch's loss and activation formulas, ``p.add_(g, alpha=-lr)``,
``torch.batch_norm``, the transformer's fused layer norm, attention and GELU kernels).

Tiny runs, trained and exported in this process; the scripts run here too (runpy), each with
``--save``; the comparison is ``torch.equal``."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys

import numpy
import pytest
import torch
from safetensors.torch import load_file

from nnscratch.run import checkpoint
from nnscratch.run.cli import main

F32 = "--dtype float32"
RUNS = {  # flags, then the flags of a resume after "|" (none: no resume)
    "iris-softmax-adam-minibatch-resumed": (
        f"--data builtin:iris {F32} --optimizer adam --lr 0.05 --batch-size 16 --epochs 3"
        " | --epochs 5"
    ),
    "moons-mlp-tanh-sgd-nesterov-decay-resumed": (
        f"--data builtin:moons {F32} --model mlp --hidden 6 --activation tanh --optimizer sgd "
        "--lr 0.05 --momentum 0.9 --nesterov --weight-decay 0.01 --batch-size 32 "
        "--scheduler step --step-size 1 --epochs 2 | --epochs 4"
    ),
    "cancer-mlp-sigmoid-bce-sgd-momentum": (
        f"--data builtin:breast_cancer {F32} --model mlp --hidden 4 --activation sigmoid "
        "--loss bce_with_logits --optimizer sgd --lr 0.05 --momentum 0.9 --dampening 0.1 "
        "--batch-size 64 --epochs 3"
    ),
    "diabetes-mlp-gelu-huber-rmsprop": (
        f"--data builtin:diabetes {F32} --model mlp --hidden 5 --activation gelu --loss huber "
        "--optimizer rmsprop --lr 0.01 --momentum 0.5 --batch-size 64 --epochs 3"
    ),
    "seed-sgd": f"{F32} --epochs 20",
    "images-cnn-batch-norm-sgd-momentum": (
        f"--data {{images}} {F32} --model cnn --channels 2 --optimizer sgd --lr 0.05 "
        "--momentum 0.9 --batch-size 16 --epochs 2"
    ),
    "text-transformer-adamw-cosine-clip": (
        f"--data {{text}} {F32} --model transformer --block-size 8 --n-layer 1 --n-head 2 "
        "--n-embd 8 --optimizer adamw --lr 0.01 --weight-decay 0.1 --batch-size 16 "
        "--scheduler cosine --clip-grad-norm 1.0 --epochs 2"
    ),
}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """No plots (not under test, seconds each); the scripts seed the global RNG: restored."""
    monkeypatch.setattr("nnscratch.run.train.write_plots", lambda *a, **k: [])
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


@pytest.mark.parametrize("name", list(RUNS))
def test_float32_raw_script_is_bit_equal_to_the_run(tmp_path, monkeypatch, name):
    images = tmp_path / "images.npz"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 1, 4, 4, generator=g)
    numpy.savez(images, X=x.numpy(), y=(x[:, 0, 0, 0] > 0).long().numpy())
    text = tmp_path / "notes.txt"
    text.write_text("the cat sat on a mat and then it ran to the red box while a dog slept " * 4)
    first, _, resumed = RUNS[name].format(images=images, text=text).partition("|")
    run = tmp_path / "run"
    assert main(["train", *first.split(), "--out", str(run), "--quiet"]) == 0
    if resumed:
        assert main(["train", "--resume", str(run), *resumed.split(), "--quiet"]) == 0
    script, params = tmp_path / "train.py", tmp_path / "p.safetensors"
    assert main(["export", str(run), "--out", str(script), "--style", "raw"]) == 0
    with monkeypatch.context() as m, contextlib.redirect_stdout(io.StringIO()):
        m.setattr(sys, "argv", [str(script), "--save", str(params)])
        runpy.run_path(str(script), run_name="__main__")
    want, got = checkpoint.load(run).state.model, load_file(params)
    assert sorted(got) == sorted(want)
    for key in want:
        assert want[key].dtype in (torch.float32, torch.int64)  # int64: batch norm's count
        assert torch.equal(got[key], want[key]), (key, (got[key] - want[key]).abs().max())
