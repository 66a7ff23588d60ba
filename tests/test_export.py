"""`nnscratch export`: both generated scripts retrain the run and reach its checkpoint.

Every configuration below is trained with nnscratch (the oracle: its saved parameters), exported
in both styles, and the scripts (the things under test) run in one subprocess with the project's
Python, each saving its final parameters; float64 runs must agree to 1e-10, float32 ones to the
float32 tolerance the nn/optim comparisons use. The generated files must pass ruff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import torch
from safetensors.torch import load_file

from nnscratch.run import checkpoint
from nnscratch.run.cli import main

pytestmark = pytest.mark.slow  # ~20 runs trained and ~40 scripts run: 25-40 s on 2 cores

F64, F32 = "--dtype float64", "--dtype float32"
# name: (flags, dtype tolerance). Tiny data, few epochs; together they cover every model family,
# optimizer (and SGD's options), schedule, full batch and mini-batch (short last batch too),
# with and without standardization and clipping.
CONFIGS = {
    "seed": ("", 1e-5),
    "synthetic-sgd-nesterov-step-clip": (
        f"{F64} --n-features 3 --n-samples 50 --optimizer sgd --lr 0.05 --momentum 0.9 "
        "--nesterov --weight-decay 0.01 --batch-size 16 --scheduler step --step-size 2 "
        "--gamma 0.5 --clip-grad-norm 0.5 --epochs 5",
        1e-10,
    ),
    "diabetes-sgd-dampening-cosine": (
        f"--data builtin:diabetes {F64} --optimizer sgd --lr 0.05 --momentum 0.9 "
        "--dampening 0.1 --batch-size 64 --scheduler cosine --epochs 4",
        1e-10,
    ),
    "iris-softmax-adam-linear": (
        f"--data builtin:iris {F64} --optimizer adam --lr 0.05 --weight-decay 0.01 "
        "--batch-size 16 --scheduler linear --total-iters 3 --epochs 5 --flat-parameters",
        1e-10,
    ),
    "breast-cancer-bce-adamw-cosine-clip": (
        f"--data builtin:breast_cancer {F64} --optimizer adamw --lr 0.01 --weight-decay 0.05 "
        "--scheduler cosine --clip-grad-norm 0.5 --epochs 6",
        1e-10,
    ),
    "moons-mlp-tanh-rmsprop-momentum": (
        f"--data builtin:moons {F64} --model mlp --hidden 8,8 --activation tanh "
        "--optimizer rmsprop --lr 0.01 --momentum 0.5 --batch-size 20 --scheduler step "
        "--step-size 2 --epochs 4",
        1e-10,
    ),
    "wine-mlp-sigmoid-rmsprop-decay": (
        f"--data builtin:wine {F64} --features hue,alcohol,ash --model mlp --hidden 6 "
        "--activation sigmoid "
        "--optimizer rmsprop --lr 0.01 --weight-decay 0.01 --epochs 8 --backward manual",
        1e-10,
    ),
    "circles-mlp-gelu-adam-float32": (
        f"--data builtin:circles {F32} --model mlp --hidden 8 --activation gelu "
        "--optimizer adam --lr 0.01 --batch-size 32 --epochs 4",
        1e-5,
    ),
    "synthetic-resumed-adam-step": (  # trained 3 epochs, then resumed to 6 (after "|")
        f"{F64} --n-samples 40 --optimizer adam --lr 0.1 --batch-size 16 --scheduler step "
        "--step-size 2 --epochs 3 | --epochs 6",
        1e-10,
    ),
    "digits-cnn-sgd-momentum-step": (
        f"--data builtin:digits {F64} --model cnn --channels 3,4 --optimizer sgd --lr 0.05 "
        "--momentum 0.9 --batch-size 512 --scheduler step --step-size 1 --epochs 2",
        1e-10,
    ),
    "text-transformer-adamw-cosine-clip": (
        f"--data {{text}} {F64} --model transformer --block-size 8 --n-layer 2 --n-head 2 "
        "--n-embd 8 --optimizer adamw --lr 0.01 --weight-decay 0.1 --batch-size 32 "
        "--scheduler cosine --clip-grad-norm 1.0 --epochs 2",
        1e-10,
    ),
    "csv-text-labels-features-mlp-sgd": (
        f"--data {{csv_classes}} {F64} --features a,b,flat --model mlp --hidden 5 "
        "--optimizer sgd --lr 0.1 --batch-size 7 --epochs 3",
        1e-10,
    ),
    "csv-no-header-huber-adam": (
        f"--data {{csv_plain}} --no-header {F64} --loss huber --optimizer adam --lr 0.05 "
        "--batch-size 10 --epochs 3",
        1e-10,
    ),
    "npy-target-0-mlp-sgd": (
        f"--data {{npy}} --target 0 --drop col2 {F64} --model mlp --hidden 4 --optimizer sgd "
        "--lr 0.1 --batch-size 8 --epochs 3",
        1e-10,
    ),
    "npz-text-labels-features": (
        f"--data {{npz_table}} --features x2,x0 {F64} --optimizer adam --lr 0.05 "
        "--batch-size 8 --epochs 3",
        1e-10,
    ),
    "npz-images-cnn-rmsprop": (
        f"--data {{npz_images}} {F64} --model cnn --channels 2 --optimizer rmsprop --lr 0.01 "
        "--batch-size 16 --epochs 2",
        1e-10,
    ),
    "csv-l1-sgd-float32": (f"--data {{csv_plain}} --no-header {F32} --loss l1 --epochs 5", 1e-5),
}
STYLES = ("raw", "nn")

RUNNER = """
import runpy, sys
for script, out in zip(sys.argv[1::2], sys.argv[2::2]):
    sys.argv = [script, "--save", out]
    runpy.run_path(script, run_name="__main__")
"""


def _csv_files(folder: Path) -> dict[str, Path]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    labels = ["cat", "dog", "emu"]
    classes = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    rows = ["id,a,b,flat,label"] + [
        f"{i},{x[i, 0]:.6f},{x[i, 1]:.6f},2.5,{labels[int(classes[i])]}" for i in range(40)
    ]
    (folder / "classes.csv").write_text("\n".join(rows) + "\n")
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * x[:, 2]
    plain = [f"{x[i, 0]:.6f},{x[i, 1]:.6f},{y[i]:.6f}" for i in range(40)]
    (folder / "plain.csv").write_text("\n".join(plain) + "\n")
    words = "the cat sat on a mat and then it ran to the red box while a dog slept".split()
    picks = torch.randint(len(words), (300,), generator=g).tolist()
    (folder / "notes.txt").write_text(" ".join(words[i] for i in picks) + "\n")
    labels = (x[:, :1] > 0).double() + (x[:, 1:2] > 1).double()  # 0, 1, 2 in column 0
    numpy.save(folder / "classes.npy", torch.cat([labels, x], dim=1).numpy())
    names = numpy.array(["ant", "bee", "cow"])[classes.numpy()]
    numpy.savez(folder / "table.npz", X=x.numpy(), y=names)
    images = torch.randn(48, 1, 4, 4, generator=g, dtype=torch.float64)
    numpy.savez(folder / "images.npz", X=images.numpy(), y=(images[:, 0, 0, 0] > 0).long().numpy())
    return {
        "npz_table": folder / "table.npz",
        "npz_images": folder / "images.npz",
        "npy": folder / "classes.npy",
        "csv_classes": folder / "classes.csv",
        "csv_plain": folder / "plain.csv",
        "text": folder / "notes.txt",
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, dict]:
    """Train each configuration, export it in both styles, run all scripts in one process."""
    root = tmp_path_factory.mktemp("export")
    files = _csv_files(root)
    results: dict[str, dict] = {}
    argv = []
    for name, (flags, tol) in CONFIGS.items():
        run = root / name
        first, _, resumed = flags.format(**files).partition("|")
        assert main(["train", *first.split(), "--out", str(run), "--quiet"]) == 0, name
        if resumed:
            assert main(["train", "--resume", str(run), *resumed.split(), "--quiet"]) == 0
        saved = checkpoint.load(run)
        results[name] = {"want": saved.state.model, "tol": tol, "dtype": saved.config.dtype}
        for style in STYLES:
            script = root / f"{name.replace('-', '_')}_{style}.py"
            assert main(["export", str(run), "--out", str(script), "--style", style]) == 0
            results[name][style] = script
            argv += [str(script), str(root / f"{name}_{style}.safetensors")]
    # the check can fail: the iris script one epoch short, run with the others
    short = results["iris-softmax-adam-linear"]["raw"]
    text = short.read_text()
    assert text.count("EPOCHS = 5\n") == 1
    (root / "short.py").write_text(text.replace("EPOCHS = 5\n", "EPOCHS = 4\n"))
    argv += [str(root / "short.py"), str(root / "short.safetensors")]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,  # a hang guard, far above a run on a busy machine
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in CONFIGS:
        for style in STYLES:
            results[name][f"{style}_params"] = load_file(root / f"{name}_{style}.safetensors")
    results["_root"] = {"path": root, "stdout": done.stdout}
    return results


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_script_reproduces_the_run(exported, name, style):
    r = exported[name]
    got, want = r[f"{style}_params"], r["want"]
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype
        if not value.is_floating_point():  # batch norm's batch count
            assert torch.equal(got[key], value), key
            continue
        assert value.dtype == getattr(torch, r["dtype"])
        if style == "raw" and r["dtype"] == "float32":
            assert torch.equal(got[key], value), key  # the same operations: bit for bit
            continue
        gap = (got[key].double() - value.double()).abs().max().item()
        assert gap <= r["tol"] * (1 + value.abs().max().item()), (key, gap)


def test_the_check_can_fail(exported):
    """A one-epoch-short script must miss the checkpoint: the comparison has teeth."""
    got = load_file(exported["_root"]["path"] / "short.safetensors")
    want = exported["iris-softmax-adam-linear"]["want"]
    assert max((got[k] - want[k]).abs().max().item() for k in want) > 1e-4


def test_scripts_print_their_metrics(exported):
    stdout = exported["_root"]["stdout"]
    assert "train: loss" in stdout and "test: loss" in stdout and "accuracy" in stdout


def test_scripts_import_only_torch_stdlib_and_sklearn(exported):
    allowed = {"argparse", "math", "csv", "pydoc_data", "torch", "numpy", "sklearn", "safetensors"}
    for name in CONFIGS:
        for style in STYLES:
            text = exported[name][style].read_text()
            assert "nnscratch" not in text.split('"""', 2)[2].replace("nnscratch saves", "")
            for line in text.splitlines():
                words = line.split()
                if words[:1] in (["import"], ["from"]):
                    assert words[1].split(".")[0] in allowed, (name, style, line)


def test_generated_code_passes_ruff(exported, tmp_path):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    (tmp_path / "ruff.toml").write_text(  # the project's rules; line length: ruff format's
        'target-version = "py310"\n[lint]\nselect = ["E", "F", "W", "I", "B", "UP"]\n'
        'ignore = ["E501"]\n'
    )
    scripts = [str(exported[n][s]) for n in CONFIGS for s in STYLES]
    config = ["--config", str(tmp_path / "ruff.toml")]
    for command in (["check", *config], ["format", "--check", "--diff", *config]):
        done = subprocess.run([ruff, *command, *scripts], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_raw_script_is_the_seed_shape(exported):
    text = exported["seed"]["raw"].read_text()
    steps = ("loss.backward()", "with torch.no_grad():", "p.add_(p.grad, alpha=-lr)")
    for line in (*steps, "p.grad = None"):
        assert line in text
    assert "import torch.nn" not in text and "from torch import nn" not in text
    nn_text = exported["seed"]["nn"].read_text()
    assert "torch.optim.SGD(model.parameters(), lr=0.1)" in nn_text
    assert "nn.Linear(1, 1, dtype=DTYPE)" in nn_text


def test_readme_shows_the_seed_scripts_as_exported(exported):
    """The README's two excerpts are the seed run's generated scripts, verbatim."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("### Export a run as a script", 1)[1].split("\n### ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 2
    for block, style in zip(blocks, STYLES, strict=True):
        assert block in exported["seed"][style].read_text(), style
