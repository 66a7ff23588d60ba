"""The round-trip matrix (issue 18): everything with everything, generated from the registries.

Rows: every built-in data set (`data.datasets.BUILTINS`, `data.text.CORPORA`) and one file of
each kind a user brings (a CSV table, a .npz of images, a .txt text), and each way a CSV file
comes (`FORMATS`: scikit-learn's own iris.csv, semicolons with decimal commas, missing cells
dropped or filled, a title and tabs, quoted names), each read with its flags through every step, the exported scripts included. Columns: every model family
(`run.config.MODELS`). A family that does not read the data (`run.build.ACCEPTS`) must refuse it
with one clean ``error:`` line; every other cell, with an optimizer of `optim.OPTIMIZERS` and a
dtype taken in turn (so each optimizer meets both dtypes), goes the whole way. So does every
family with each backward beside the default (`steps.BACKWARDS`: manual, engine), on data it
reads (`BACKWARD_CELLS`: one cell per family and backward, added rather than multiplied, each
backward meeting both dtypes and the optimizers in turn); a backward that a family's model and
loss have no formulas for (`steps.refusal`) must be refused before training, like a family that
does not read the data. ``--compile`` (forward + loss as one ``torch.compile``d graph) costs
seconds of compiling a run, so it has the fewest cells that meet every step (`_compile_cells`):
one MLP on a built-in set going the whole way, and the same pair with ``--backward
manual|engine``, refused in one line naming ``--compile``:

    train --out R --epochs 1 → train --resume R --epochs 2  ==  train --epochs 2   (torch.equal)
    predict --data <the same data>: its metrics over every row are the row-weighted mean of the
        run's own train/val/test metrics (a language model: sample)
    explain --steps 1 with the same flags (--compile: refused in one line, explain computes
        each step eagerly to show its numbers)
    the lab's settings of the same run (settings.parse → Session → play) == the CLI's parameters,
        and so does the ``nnscratch train`` line the page shows. The page offers no compile:
        settings with it are refused by name, and the run without it is the compiled run within
        float32 rounding, its line has no --compile and reproduces the lab's run bit for bit
    export R --style raw / nn, every script run (one subprocess for all) == R's checkpoint:
        float64 within 1e-10; float32 raw bit-equal (issue 18), float32 nn within 1e-5. A run
        of ``--backward manual|engine`` is not bit-equal to a script's ``loss.backward()``
        (other kernels sum the same gradients in another order): float32 within 1e-5 there.
        Such a float32 cell trains a family of `ZERO_GRADIENT` with SGD: Adam, AdamW and
        RMSprop divide a gradient by √v + eps, so on a parameter whose exact gradient is 0 they
        turn two backwards' different rounding noise into steps up to lr apart
        (tests/test_backward_across.py shows it on the transformer's key bias). A script runs
        eagerly: a ``--compile`` run (fused kernels) is float32 within 1e-5 too, not bit-equal
    graph: once per family it draws; --compile refused in one line (it draws an eager forward)

A new data set, model family or optimizer joins the matrix by being registered. Sizes are tiny
(hidden 4, two epochs, batch 64, lr 1e-3; python_docs trains on 5 % and is marked slow); plots
are left out (tests/test_plots.py covers them). Only the cells a session selects are exported.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy
import pytest
import sklearn
import torch
from cli_run import run

from nnscratch import optim
from nnscratch.data.datasets import BUILTINS, load_builtin
from nnscratch.data.text import CORPORA, load_text
from nnscratch.run import build, checkpoint
from nnscratch.run import train as train_module
from nnscratch.run.config import DTYPES, MODELS
from nnscratch.steps import BACKWARDS

EPOCHS = 2
LR = 1e-3  # small for every optimizer: no cell diverges (a data set's lr is tuned for its model)
SMALL = {  # per family: the sizes that keep a cell well under a second (others: defaults)
    "mlp": {"hidden": "4"},
    "cnn": {"channels": "2"},
    "transformer": {"block_size": 8, "n_layer": 1, "n_head": 1, "n_embd": 4},
}
FILES = {  # the files a user brings, as this test writes them: (kind, task)
    "csv": ("table", "regression"),
    "npz": ("images", "classification"),
    "txt": ("text", "classification"),
}
EXPORT_GAPS = {"xor", "spiral"}  # refused by name in lab/export/refuse.py (numpy draws)
SLOW = {"python_docs"}  # seconds per run even subsampled (its text is scored whole)
SUBSAMPLE = {  # 465,000 characters: train on 5 % (the rest scored once, as the test part)
    "python_docs": {"val_fraction": 0.0, "test_fraction": 0.95, "batch_size": 512},
}
ZERO_GRADIENT = {"transformer"}  # a parameter whose exact gradient is 0: its key bias
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}  # relative to 1 + max |p|; float32 raw: equal
IRIS_CSV = Path(sklearn.__file__).parent / "datasets" / "data" / "iris.csv"


@dataclass(frozen=True)
class Format:
    """A way a CSV file comes: the file (`make_files` writes it) and the flags that read it."""

    name: str
    file: str  # a key of `make_files`' result
    task: str
    flags: tuple[tuple[str, object], ...]  # configuration fields: (name, value)


FORMATS = (  # each one a row of the matrix, for the families that read tables
    Format("iris_csv", "iris_csv", "classification", (("skip_rows", 1), ("header", False))),
    Format("semicolon", "semicolon", "regression", (("decimal", ","),)),  # ';' detected
    Format("gaps_mean", "gaps", "classification", (("missing", "mean"),)),
    Format("gaps_drop", "gaps", "classification", (("missing", "drop"),)),
    Format(  # all at once: a title, tabs named by the flag, decimal commas, gaps filled
        "combined",
        "combined",
        "regression",
        (("skip_rows", 2), ("delimiter", "tab"), ("decimal", ","), ("missing", "mean")),
    ),
    Format(  # quoted names holding ';' and '"', classes 0/1 written as numbers, gaps dropped
        "quoted", "quoted", "classification", (("decimal", ","), ("missing", "drop"))
    ),
)
FORMAT_OF = {f.name: f for f in FORMATS}


def _builtin_kinds() -> dict[str, tuple[str, str]]:
    """(kind, task) of every built-in data set, from the data set itself."""
    loaded = {name: load_builtin(name) for name in BUILTINS}
    loaded |= {name: load_text(f"builtin:{name}", block_size=8) for name in CORPORA}
    return {name: (build.data_kind(data.extra), data.task) for name, data in loaded.items()}


@dataclass(frozen=True)
class Cell:
    source: str  # a built-in name or a key of FILES
    model: str
    optimizer: str
    dtype: str
    accepted: bool
    flags: tuple[tuple[str, object], ...] = ()  # a CSV format's flags (`FORMATS`)
    backward: str = BACKWARDS[0]  # steps 1–3: autograd (the default), manual or engine
    refused_by: str = "model"  # a refused cell: the flag its one error line names first
    compile: bool = False  # --compile: forward + loss as one torch.compile'd graph

    @property
    def id(self) -> str:
        tail = "" if self.backward == BACKWARDS[0] else f"-{self.backward}"
        tail += "-compile" if self.compile else ""
        if not self.accepted:
            return f"{self.source}-{self.model}-refused{tail}"
        dtype = self.dtype.replace("float", "f")
        return f"{self.source}-{self.model}-{self.optimizer}-{dtype}{tail}"

    def fields(self, files: dict[str, Path]) -> dict[str, object]:
        """The run's configuration fields (the CLI's flags and the lab's settings alike)."""
        data = f"builtin:{self.source}"
        if self.source in FORMAT_OF:
            data = str(files[FORMAT_OF[self.source].file])
        elif self.source in files:
            data = str(files[self.source])
        fields = {"data": data, "model": self.model, "optimizer": self.optimizer, "lr": LR}
        fields |= {"dtype": self.dtype, "batch_size": 64, **SMALL.get(self.model, {})}
        fields |= SUBSAMPLE.get(self.source, {}) | dict(self.flags)
        if self.backward != BACKWARDS[0]:
            fields["backward"] = self.backward
        if self.compile:
            fields["compile"] = True
        return fields

    @property
    def upload(self) -> bool:
        """Does the lab read this cell's data as a tab's uploaded CSV?"""
        return self.source == "csv" or self.source in FORMAT_OF


def _cells() -> list[Cell]:
    cells, i = [], 0
    sources = {**_builtin_kinds(), **FILES}
    for source, (kind, task) in sources.items():
        for model in MODELS:
            kinds, tasks = build.ACCEPTS[model]
            accepted = kind in kinds and task in tasks
            opt = list(optim.OPTIMIZERS)[i % len(optim.OPTIMIZERS)]
            dtype = DTYPES[(i // len(optim.OPTIMIZERS)) % len(DTYPES)]
            cells.append(Cell(source, model, opt, dtype, accepted))
            i += accepted
    for k, fmt in enumerate(FORMATS):  # one family per format, the table families in turn
        families = [m for m in MODELS if "table" in build.ACCEPTS[m][0]]
        families = [m for m in families if fmt.task in build.ACCEPTS[m][1]]
        model = families[k % len(families)]
        opt = list(optim.OPTIMIZERS)[i % len(optim.OPTIMIZERS)]
        dtype = DTYPES[i % len(DTYPES)]
        cells.append(Cell(fmt.name, model, opt, dtype, True, fmt.flags))
        i += 1
    return cells + _backward_cells(cells) + _compile_cells(cells)


def _backward_cells(cells: list[Cell]) -> list[Cell]:
    """Each backward beside the default with every family, on a data set the family reads (the
    k-th backward on the k-th such set: the backwards meet different data), a dtype and an
    optimizer in turn (so each backward meets both dtypes); plus, per backward, the first
    refused pair of the autograd cells, which must still be refused with the backward given."""
    out, j = [], 0
    for k, backward in enumerate(BACKWARDS[1:]):
        for model in MODELS:
            sources = [
                c.source
                for c in cells
                if c.accepted and c.model == model and not c.flags
                if c.source not in SLOW | EXPORT_GAPS
            ]
            opt = list(optim.OPTIMIZERS)[(3 * j) % len(optim.OPTIMIZERS)]  # 3: coprime with 4
            dtype = DTYPES[j % len(DTYPES)]
            if dtype == "float32" and model in ZERO_GRADIENT:
                opt = "sgd"  # see the module's docstring: adaptive steps on rounding noise
            source = sources[k % len(sources)]
            accepted = steps_refusal(backward, model) is None
            out.append(Cell(source, model, opt, dtype, accepted, (), backward, "backward"))
            j += 1
        refused = next(c for c in cells if not c.accepted)
        out.append(Cell(refused.source, refused.model, "sgd", "float32", False, backward=backward))
    return out


def _compile_cells(cells: list[Cell]) -> list[Cell]:
    """--compile, added rather than multiplied (it costs seconds of compiling per run): one cell
    going the whole way, the first MLP on a built-in table the lab offers (float32, what a
    compiled run is for, with that cell's optimizer), and, per backward beside the default, the
    same pair refused with --compile (`TrainConfig.validate`: it applies to autograd only)."""
    first = next(
        c
        for c in cells
        if c.accepted and c.model == "mlp" and not c.flags
        if c.source in BUILTINS and c.source not in EXPORT_GAPS
    )
    out = [Cell(first.source, "mlp", first.optimizer, "float32", True, compile=True)]
    for backward in BACKWARDS[1:]:
        out.append(
            Cell(first.source, "mlp", "sgd", "float32", False, (), backward, "compile", True)
        )
    return out


def steps_refusal(backward: str, model: str) -> str | None:
    """Why ``backward`` refuses the family ``model`` (`nnscratch.steps.refusal`, asked with the
    family's model at this test's sizes and the loss of each task it learns), None if it takes
    it for every task."""
    from nnscratch.run.config import TrainConfig
    from nnscratch.steps import refusal

    shape = [1, 4, 4] if model == "cnn" else None  # (C, H, W) as a .npz of images gives it
    width = 16 if model == "cnn" else 8 if model == "transformer" else 3
    for task in build.ACCEPTS[model][1]:
        loss = "mse" if task == "regression" else "cross_entropy"
        config = TrainConfig(model=model, loss=loss, **SMALL.get(model, {}))
        net = build.build_model(config, width, 3, torch.float32, "cpu", shape)
        reason = refusal(backward, net, build.build_loss(config))
        if reason is not None:
            return reason
    return None


CELLS = _cells()
ACCEPTED = [c for c in CELLS if c.accepted]


def _param(cell: Cell):
    marks = [pytest.mark.slow] if cell.accepted and cell.source in SLOW else []
    return pytest.param(cell, id=cell.id, marks=marks)


def argv(fields: dict[str, object]) -> list[str]:
    """``--field-name value`` for each field given (None: left to its default); a bool field is
    ``--name`` or ``--no-name``."""
    out = []
    for k, v in fields.items():
        flag = k.replace("_", "-")
        if isinstance(v, bool):
            out.append(f"--{flag}" if v else f"--no-{flag}")
        elif v is not None:
            out += [f"--{flag}", str(v)]
    return out


def make_files(folder: Path) -> dict[str, Path]:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(60, 3, generator=g, dtype=torch.float64)
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * x[:, 2]
    rows = [f"{a:.6f},{b:.6f},{c:.6f},{v:.6f}" for (a, b, c), v in zip(x, y, strict=True)]
    lines = ["a,b,c,y", *rows]
    (folder / "table.csv").write_text("\n".join(lines) + "\n")
    images = torch.randn(60, 1, 4, 4, generator=g, dtype=torch.float64)
    labels = (images[:, 0, :2].sum(dim=(1, 2)) > 0).long()
    numpy.savez(folder / "images.npz", X=images.numpy(), y=labels.numpy())
    words = "the cat sat on a mat and then it ran to the red box while a dog slept".split()
    picks = torch.randint(len(words), (400,), generator=g).tolist()
    (folder / "notes.txt").write_text(" ".join(words[i] for i in picks) + "\n")
    files = {"csv": folder / "table.csv", "npz": folder / "images.npz", "txt": folder / "notes.txt"}
    return files | write_formats(folder, x, y)


GAPS = ("", "NA", "?", "null", "NaN", "n/a")  # the missing-cell markers, in turn


def write_formats(folder: Path, x: torch.Tensor, y: torch.Tensor) -> dict[str, Path]:
    """The files of `FORMATS`: semicolons and decimal commas; a table with missing cells (a
    feature in every seventh row, a target once) and text labels."""
    table = torch.cat([x, y.view(-1, 1)], dim=1).tolist()  # (N, 4)
    comma = [";".join(f"{v:.6f}".replace(".", ",") for v in row) for row in table]
    (folder / "semicolon.csv").write_text("\n".join(["a;b;c;y", *comma]) + "\n")
    labels = ["yes" if v > 0 else "no" for v in y.tolist()]
    (folder / "gaps.csv").write_text(_with_gaps(x, labels, ",", ["a,b,c,label"]))
    title = ["measured 2024-05-01, lab 3", "", "a\tb\tc\ty"]  # a title and a blank line
    values = [f"{v:.6f}".replace(".", ",") for v in y.tolist()]
    (folder / "combined.csv").write_text(_with_gaps(x, values, "\t", title, ","))
    labels = [str(int(v > 0)) for v in y.tolist()]
    header = ['"a;1";b;"c""x";label']
    (folder / "quoted.csv").write_text(_with_gaps(x, labels, ";", header, ","))
    names = ("semicolon", "gaps", "combined", "quoted")
    return {"iris_csv": IRIS_CSV} | {name: folder / f"{name}.csv" for name in names}


def _with_gaps(x, targets, sep, head, decimal=".") -> str:
    """Rows of ``x`` and ``targets`` with a missing feature in every seventh row and a missing
    target in row 10, after the lines ``head``."""
    rows = []
    for i, r in enumerate(x.tolist()):
        cells = [f"{v:.6f}".replace(".", decimal) for v in r] + [targets[i]]
        if i % 7 == 3:
            cells[i % 3] = GAPS[i % len(GAPS)]
        rows.append(sep.join(cells[:-1] + ["NA" if i == 10 else cells[-1]]))
    return "\n".join([*head, *rows]) + "\n"


class Runs:
    """Each accepted cell trained once (resumed and uninterrupted), on demand."""

    def __init__(self, root: Path) -> None:
        self.root, self.files, self.done = root, make_files(root), {}

    def get(self, cell: Cell) -> dict[str, Path]:
        if cell.id not in self.done:
            flags = argv(cell.fields(self.files))
            resumed, whole = self.root / cell.id / "resumed", self.root / cell.id / "whole"
            for args in (
                ["train", *flags, "--epochs", "1", "--out", resumed],
                ["train", "--resume", resumed, "--epochs", EPOCHS],
                ["train", *flags, "--epochs", EPOCHS, "--out", whole],
            ):
                code, _, err = run(*args, "--quiet")
                assert code == 0, (args, err)
            self.done[cell.id] = {"resumed": resumed, "whole": whole}
        return self.done[cell.id]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # plots: tests/test_plots.py (~0.2 s a run)
        patch.setattr(train_module, "write_plots", lambda *args, **kwargs: [])
        yield Runs(tmp_path_factory.mktemp("matrix"))


def params(folder: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load(folder).state.model


# -- the registries agree -------------------------------------------------------------------------
def test_every_family_and_data_set_meet_somewhere():
    """ACCEPTS names each family of the CLI; every family trains on some data set, and every
    data set is read by some family (else the matrix would only see refusals)."""
    assert set(build.ACCEPTS) == set(MODELS)
    assert {c.model for c in ACCEPTED} == set(MODELS)
    assert {c.source for c in ACCEPTED} == {c.source for c in CELLS}
    assert {c.optimizer for c in ACCEPTED} == set(optim.OPTIMIZERS)


def test_every_backward_meets_every_family_and_both_dtypes():
    """Each backward beside the default has a cell with every family (accepted, or refused by
    `steps.refusal`) and trains in both dtypes; the CLI's list is `steps.BACKWARDS`."""
    from nnscratch.run.config import BACKWARDS as CLI_BACKWARDS

    assert CLI_BACKWARDS == BACKWARDS and BACKWARDS[0] == "autograd"
    for backward in BACKWARDS[1:]:
        cells = [c for c in CELLS if c.backward == backward]
        assert {c.model for c in cells} >= set(MODELS), backward
        assert {c.dtype for c in cells if c.accepted} == set(DTYPES), backward
        assert {c.optimizer for c in cells if c.accepted} == set(optim.OPTIMIZERS), backward
        assert any(not c.accepted and c.refused_by == "model" for c in cells), backward


def test_compile_meets_every_step():
    """--compile has a cell going the whole way (autograd: what it applies to), and is refused
    with each other backward, by name."""
    accepted = [c for c in ACCEPTED if c.compile]
    assert [c.backward for c in accepted] == [BACKWARDS[0]]
    refused = [c for c in CELLS if c.compile and not c.accepted]
    assert {c.backward for c in refused} == set(BACKWARDS[1:])
    assert {c.refused_by for c in refused} == {"compile"}


# -- refused cells ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", [_param(c) for c in CELLS if not c.accepted])
def test_a_family_refuses_data_it_does_not_read(runs, cell, tmp_path):
    """... and a backward refuses a family it has no formulas for, --compile a backward but
    autograd: one line, before training (nothing is saved in --out but the folder the run
    opened)."""
    out = tmp_path / "run"
    code, _, err = run("train", *argv(cell.fields(runs.files)), "--epochs", "1", "--out", out)
    assert code == 2, err
    assert err.startswith(f"error: --{cell.refused_by} ") and err.count("\n") == 1, err
    assert not (out / "checkpoint").exists() and not (out / "metrics.jsonl").exists()
    assert "Traceback" not in err


# -- accepted cells: train, resume, predict, explain, the lab ---------------------------------------
@pytest.mark.parametrize("cell", [_param(c) for c in ACCEPTED])
def test_round_trip(runs, cell, tmp_path):
    folders = runs.get(cell)
    assert checkpoint.load(folders["resumed"]).config.compile == cell.compile  # resume keeps it
    whole = params(folders["whole"])
    assert_same(params(folders["resumed"]), whole)  # resumed: the uninterrupted run, bit for bit
    check_predict(cell, folders["whole"], runs.files)
    fields = cell.fields(runs.files)
    code, out, err = run("explain", *argv({**fields, "batch_size": None}), "--steps", "1")
    if cell.compile:  # explain computes each step eagerly: refused, not silently ignored
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith("error: explain ") and "drop --compile" in err, err
    else:
        assert code == 0, err
        assert "loss" in out
    check_lab(cell, fields, whole, tmp_path)


def check_predict(cell: Cell, folder: Path, files: dict[str, Path]) -> None:
    saved = checkpoint.load(folder)
    if saved.config.model == "transformer":  # a language model continues text instead
        code, out, err = run("sample", "--model", folder, "--prompt", "the", "--tokens", 5)
        assert code == 0, err
        assert out.startswith("the") and len(out.rstrip("\n")) >= len("the") + 5, out
        return
    source = cell.fields(files)["data"]  # a CSV format's flags: recorded with the run
    code, out, err = run("predict", "--model", folder, "--data", source, "--json")
    assert code == 0, err
    got = json.loads(out)["metrics"]
    summary = json.loads((folder / "summary.json").read_text())
    parts = {k: n for k, n in summary["data"]["rows"].items() if n}
    n = sum(parts.values())
    assert got["rows"] == n
    if saved.config.task == "classification":
        name, theirs = "accuracy", "accuracy"
    else:
        assert saved.config.loss == "mse"
        name, theirs = "mse", "loss"
    weighted = sum(summary["metrics"][p][theirs] * k for p, k in parts.items()) / n
    assert got[name] == pytest.approx(weighted, rel=1e-5, abs=1e-9)


def check_lab(cell: Cell, fields: dict, want: dict[str, torch.Tensor], tmp_path: Path) -> None:
    """The lab's page sends the same settings: its run reaches the same parameters, and so does
    the ``nnscratch train`` line the page shows for it."""
    from nnscratch.lab.live.session import Session
    from nnscratch.lab.live.settings import SettingError, parse

    settings = {**fields, "epochs": EPOCHS}
    if cell.compile:  # the page offers no compile: refused by name, and the run without it
        with pytest.raises(SettingError, match="compile") as refused:
            parse(settings, has_upload=False)
        assert refused.value.field == "compile"
        del settings["compile"]
    if cell.source in CORPORA:  # the page offers tables and images, not text
        with pytest.raises(SettingError, match="data must be"):
            parse(settings, has_upload=False)
        return
    if cell.source in FILES and not cell.upload:
        return  # the page uploads CSV files only
    session = Session("tab", tmp_path / "lab", rate=1.0)
    try:
        if cell.upload:  # the lab reads a user's CSV as this tab's upload
            shutil.copyfile(fields["data"], session.upload_path)
            settings["data"] = "upload"
        config, lab = parse(settings, has_upload=cell.upload)
        session.configure(config, lab)
        session.run.send("play")
        session.run.thread.join(timeout=300)
        assert session.run.state == "done", (session.run.state, session.run.message)
        lab_run = params(session.run.folder)
        if cell.compile:  # eager: the compiled run within float32 rounding (as export's)
            assert_close(lab_run, want, TOLERANCE[cell.dtype])
        else:
            assert_same(lab_run, want)
        line = shlex.split(session.command())
        assert line[:2] == ["nnscratch", "train"], line
        assert "--compile" not in line, line  # the page's line claims what its run did
        code, _, err = run(*line[1:], "--out", tmp_path / "from-command", "--quiet")
        assert code == 0, (line, err)
        assert_same(params(tmp_path / "from-command"), lab_run)
    finally:
        session.close()


def assert_same(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert sorted(got) == sorted(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key


def assert_close(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], tol: float) -> None:
    """Within ``tol`` relative to 1 + max |p|, per parameter (as `check_export`)."""
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype, key
        gap = (got[key].double() - value.double()).abs().max().item()
        assert gap <= tol * (1 + value.abs().max().item()), (key, gap)


# -- export: every accepted cell's run, both styles, the scripts in one process -----------------
RUNNER = """
import runpy, sys, traceback
for script, out in zip(sys.argv[1::2], sys.argv[2::2]):
    sys.argv = [script, "--save", out]
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException:
        open(out + ".error", "w").write(traceback.format_exc())
"""
STYLES = ("raw", "nn")


def export_and_run(runs: Runs, cells: list[Cell], folder: str) -> dict:
    """{(cell id, style): export's exit status and error, where the script saved its
    parameters}: each cell's resumed run (the harder one to reproduce) exported in both styles,
    every script run in one subprocess (one torch import for all)."""
    results, pairs = {}, []
    scripts = runs.root / folder
    scripts.mkdir()
    for cell in cells:
        resumed = runs.get(cell)["resumed"]
        for style in STYLES:
            script = scripts / f"{cell.id.replace('-', '_')}_{style}.py"
            code, _, err = run("export", resumed, "--out", script, "--style", style)
            results[cell.id, style] = {"code": code, "err": err, "out": script.with_suffix(".st")}
            if code == 0:
                pairs += [str(script), str(script.with_suffix(".st"))]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *pairs],
        cwd=runs.root,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return results


@pytest.fixture(scope="module")
def exported(runs, request):
    """The cells whose export test this session runs (``-k``, ``-m`` choose), exported at once."""
    chosen = {
        item.callspec.params["cell"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_export_reproduces_the_run"
    }
    return export_and_run(runs, [c for c in ACCEPTED if c in chosen], "scripts")


def check_export(runs: Runs, result: dict, cell: Cell, style: str) -> None:
    from safetensors.torch import load_file

    if cell.source in EXPORT_GAPS:  # not covered yet: refused by name, nothing written
        assert result["code"] == 2, result["err"]
        err = result["err"]
        assert err.startswith("error: export does not cover") and err.count("\n") == 1, err
        return
    assert result["code"] == 0, result["err"]
    error = Path(str(result["out"]) + ".error")
    assert not error.exists(), error.read_text()[-3000:] if error.exists() else ""
    got, want = load_file(result["out"]), params(runs.get(cell)["resumed"])
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype, key
        exact = style == "raw" and cell.dtype == "float32" and cell.backward == BACKWARDS[0]
        if not value.is_floating_point() or exact and not cell.compile:
            assert torch.equal(got[key], value), (key, (got[key] - value).abs().max().item())
            continue
        assert_close({key: got[key]}, {key: value}, TOLERANCE[cell.dtype])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("cell", [_param(c) for c in ACCEPTED])
def test_export_reproduces_the_run(runs, exported, cell, style):
    check_export(runs, exported[cell.id, style], cell, style)


# -- graph: once per family it draws, with each backward it draws ------------------------------
def _graph_choices(name: str) -> list[str]:
    from nnscratch.run.cli.commands.graph import command

    return list(next(p for p in command.params if p.name == name).type.choices)


def _drawn() -> tuple[str, ...]:
    from nnscratch.run.cli.commands.graph import DRAWN

    return DRAWN


@pytest.mark.parametrize("backward", _drawn())
@pytest.mark.parametrize("model", [m for m in MODELS if m in _graph_choices("model")])
def test_graph_draws_each_family(model, backward):
    code, out, err = run("graph", "--model", model, "--backward", backward)
    assert code == 0, err
    if backward == "engine":  # the engine's recorded operations, in backward's order
        assert "backward #1" in out and "weight" in out, out[:500]
    else:
        assert "AccumulateGrad" in out or "leaf" in out.lower(), out[:500]


@pytest.mark.parametrize("backward", [b for b in BACKWARDS if b not in _drawn()])
def test_graph_refuses_a_backward_that_records_no_graph(backward):
    """graph takes train's --backward choices; one that records no graph says why."""
    assert _graph_choices("engine") == list(BACKWARDS)
    code, _, err = run("graph", "--backward", backward)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: --backward {backward} records no graph"), err
    assert "--backward autograd" in err and "engine" in err, err


def test_graph_refuses_compile_in_one_line():
    """graph takes train's --compile and says why it draws none (it was "No such option ...
    Did you mean '--samples'?")."""
    code, _, err = run("graph", "--model", "mlp", "--compile")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: --compile: graph draws ") and "drop --compile" in err, err


# -- the CSV formats' scripts: ruff-clean, columns and classes looked up in dicts -----------------
FORMAT_CELLS = [c for c in ACCEPTED if c.source in FORMAT_OF]


def test_csv_format_scripts_pass_ruff_and_look_names_up_in_dicts(runs, tmp_path):
    """Each format's reading (skipped lines, ';', decimal commas, missing cells) is code that ruff
    leaves as it is, and no lookup scans a list: ``.index`` per row or per column was quadratic
    (150,000 columns took minutes on the input side, issue 17)."""
    import ast

    from nnscratch.lab.export import export_script

    scripts = []
    for cell in FORMAT_CELLS:
        for style in STYLES:
            script = tmp_path / f"{cell.id.replace('-', '_')}_{style}.py"
            script.write_text(export_script(runs.get(cell)["resumed"], style))
            scripts.append(str(script))
            for node in ast.walk(ast.parse(script.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    assert node.func.attr != "index", (cell.id, style, ast.unparse(node))
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    (tmp_path / "ruff.toml").write_text(  # the project's rules; line length: ruff format's
        'target-version = "py310"\n[lint]\nselect = ["E", "F", "W", "I", "B", "UP"]\n'
        'ignore = ["E501"]\n'
    )
    config = ["--config", str(tmp_path / "ruff.toml")]
    for command in (["check", *config], ["format", "--check", "--diff", *config]):
        done = subprocess.run([ruff, *command, *scripts], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
