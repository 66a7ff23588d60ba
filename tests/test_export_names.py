"""`nnscratch export` with hostile names: a data file or run folder named like code, quotes,
backslash sequences, bytes that are not UTF-8. The scripts must parse, run nothing they did not
write, take the data path from ``--data`` (default: the run's), and reach the checkpoint.
(The property tests over arbitrary names: tests/test_export_properties.py.)"""

from __future__ import annotations

import ast
import os
import runpy
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nnscratch.run import checkpoint
from nnscratch.run.cli import main

CSV = "a,b,label\n" + "".join(
    f"{i % 7 / 3:.3f},{(i * 5) % 11 / 4:.3f},{'yes' if (i * 3) % 7 > 3 else 'no'}\n"
    for i in range(24)
)
CODE = 'open("PWNED", "w").close()'
HOSTILE_FILE = f"d\n{CODE}\n#.csv"  # a newline, then a line of code
HOSTILE_FOLDER = f'r"""\n{CODE}\n"""x'  # closes the docstring, then a line of code
ESCAPES = os.fsdecode(b"b\\N\\x\xff.csv")  # \N and \x escapes, a byte that is not UTF-8


@pytest.fixture(autouse=True)
def _no_plots(monkeypatch):
    """train's plots are not under test here (and cost seconds); the scripts run in this
    process (each subprocess would pay a torch import) and seed the global RNG: restored."""
    monkeypatch.setattr("nnscratch.run.train.write_plots", lambda *a, **k: [])
    state = torch.get_rng_state()
    yield
    torch.set_rng_state(state)


def _run_script(script: Path, cwd: Path, *args: str, monkeypatch) -> None:
    """``python script args...`` in ``cwd``, run in this process as __main__."""
    with monkeypatch.context() as m:
        m.chdir(cwd)
        m.setattr(sys, "argv", [str(script), *args])
        runpy.run_path(str(script), run_name="__main__")


def _train(folder: Path, data_name: str, run_name: str, *flags: str) -> Path:
    data = folder / data_name
    data.write_text(CSV)
    run = folder / run_name
    args = ["--model", "mlp", "--hidden", "3", "--batch-size", "8", "--epochs", "2", *flags]
    assert main(["train", "--data", str(data), *args, "--out", str(run), "--json"]) == 0
    return run


def _calls(source: str) -> set[str]:
    return {ast.unparse(n.func) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)}


def _assert_reproduces(run: Path, params: Path) -> None:
    want, got = checkpoint.load(run).state.model, load_file(params)
    assert sorted(got) == sorted(want)
    for key in want:
        assert torch.allclose(got[key], want[key], rtol=0, atol=1e-5), key


def test_hostile_names_run_no_code_and_reach_the_checkpoint(tmp_path, capsys, monkeypatch):
    """Issue 17's repro: a file name and a run folder name that break out of the comment and
    the docstring; one with backslash sequences and a byte that is not UTF-8."""
    runs = [
        _train(tmp_path, HOSTILE_FILE, HOSTILE_FOLDER),
        _train(tmp_path, ESCAPES, ESCAPES.replace(".csv", "")),
    ]
    benign = _train(tmp_path, "plain.csv", "plain")
    pairs = []
    for k, run in enumerate([*runs, benign]):
        for style in ("raw", "nn"):
            script = tmp_path / f"s{k}_{style}.py"
            assert main(["export", str(run), "--out", str(script), "--style", style]) == 0
            pairs.append((script, tmp_path / f"s{k}_{style}.safetensors"))
    capsys.readouterr()
    for (script, _), (twin, _) in zip(pairs[:4], pairs[4:] * 2, strict=True):
        text = script.read_text(encoding="utf-8")  # written as UTF-8 (no UnicodeEncodeError)
        assert _calls(text) == _calls(twin.read_text()), script  # parses; no new call
        assert CODE not in "".join(_comments_and_docstring(text))
    for script, params in pairs[:4]:
        _run_script(script, tmp_path, "--save", str(params), monkeypatch=monkeypatch)
    assert not (tmp_path / "PWNED").exists()
    for (_, params), run in zip(pairs[:4], [runs[0], runs[0], runs[1], runs[1]], strict=True):
        _assert_reproduces(run, params)


def _comments_and_docstring(source: str) -> list[str]:
    import io
    import tokenize

    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    comments = [t.string for t in tokens if t.type == tokenize.COMMENT]
    return [ast.get_docstring(ast.parse(source)) or "", *comments]


def test_the_data_path_is_a_command_line_argument(tmp_path, capsys, monkeypatch):
    """The script reads ``--data FILE`` (default: the run's file), so a moved file still runs."""
    run = _train(tmp_path, "first.csv", "run")
    script = tmp_path / "train.py"
    assert main(["export", str(run), "--out", str(script)]) == 0
    tree = ast.parse(script.read_text())
    defaults = [
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "parser.add_argument"
        for kw in node.keywords
        if kw.arg == "default" and isinstance(kw.value, ast.Constant)
    ]
    assert defaults == [str(tmp_path / "first.csv")]
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(tmp_path / "first.csv", moved / "second.csv")
    out = tmp_path / "p.safetensors"
    args = ["--data", str(moved / "second.csv"), "--save", str(out)]
    _run_script(script, moved, *args, monkeypatch=monkeypatch)
    _assert_reproduces(run, out)


@pytest.mark.parametrize("inside", ["checkpoint/model.safetensors", "metrics.jsonl"])
def test_export_refuses_to_overwrite_the_run_it_exports(tmp_path, capsys, inside):
    run = _train(tmp_path, "d.csv", "run")
    target = run / inside
    before = target.read_bytes()
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(target), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "own input" in err
    assert target.read_bytes() == before
    assert checkpoint.load(run).config.data == str(tmp_path / "d.csv")


def test_a_script_name_that_is_not_utf8_is_written_and_shown(tmp_path, capsys):
    run = _train(tmp_path, os.fsdecode(b"data\xfe.csv"), "run")
    out = tmp_path / os.fsdecode(b"script\xff.py")
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(out)]) == 0  # no UnicodeEncodeError
    shown = capsys.readouterr().out
    assert "script\\xff.py (raw style)" in shown and shown.count("\n") == 1
    assert os.fsencode(out) in [os.fsencode(p) for p in tmp_path.iterdir()]
    ast.parse(out.read_text(encoding="utf-8"))
