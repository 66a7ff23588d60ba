"""Property tests: no name from outside can change what an exported script does.

One tiny run per kind of data the export reads (CSV with text classes, CSV regression, .npy,
.npz table, .npz images for the CNN, a text file for the transformer, a built-in set), trained
once; then hypothesis varies every outside text the `Spec` holds (the run folder, the data
file's folder and name: any bytes but ``/`` and NUL, up to 255; column names and class labels:
any unicode, NUL and lone surrogates included) and generates both styles in this process. Each
script must parse, call exactly what the benign script calls, carry the same comments and
docstring, and hold the names only as string constants equal to them.
"""

from __future__ import annotations

import ast
import io
import os
import shlex
import tokenize
from dataclasses import replace
from pathlib import Path

import numpy
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnscratch.lab.export import nn, raw
from nnscratch.lab.export.source import Outside, literal
from nnscratch.lab.export.spec import from_checkpoint
from nnscratch.run import checkpoint
from nnscratch.run.cli import main

TINY = ["--epochs", "1", "--quiet"]
FAMILIES = {  # name: (data file, flags)
    "csv-classes-mlp": ("classes.csv", "--model mlp --hidden 3 --batch-size 8"),
    "csv-regression": ("plain.csv", "--optimizer sgd --momentum 0.9"),
    "npy-mlp": ("classes.npy", "--target 0 --model mlp --hidden 2"),
    "npz-table": ("table.npz", "--optimizer rmsprop"),
    "npz-images-cnn": ("images.npz", "--model cnn --channels 2 --batch-size 16"),
    "text-transformer": (
        "notes.txt",
        "--model transformer --block-size 4 --n-layer 1 --n-head 1 --n-embd 4 --batch-size 64",
    ),
    "builtin-iris": ("builtin:iris", '--features "sepal width (cm),petal length (cm)"'),
}


def _files(folder: Path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, generator=g, dtype=torch.float64)
    labels = ["cat", "dog", "emu"]
    k = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    rows = [f"{x[i, 0]:.4f},{x[i, 1]:.4f},{x[i, 2]:.4f},{labels[k[i]]}" for i in range(30)]
    (folder / "classes.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    rows = [f"{x[i, 0]:.4f},{x[i, 1]:.4f},{x[i, 2]:.4f}" for i in range(30)]
    (folder / "plain.csv").write_text("u,v,w\n" + "\n".join(rows) + "\n")
    numpy.save(folder / "classes.npy", torch.cat([k[:, None].double(), x], 1).numpy())
    numpy.savez(folder / "table.npz", X=x.numpy(), y=numpy.array(labels)[k.numpy()])
    images = torch.randn(32, 1, 4, 4, generator=g, dtype=torch.float64)
    numpy.savez(folder / "images.npz", X=images.numpy(), y=(images[:, 0, 0, 0] > 0).long().numpy())
    (folder / "notes.txt").write_text("the cat sat on the mat and the dog ran off\n" * 4)


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("families")
    _files(root)
    out = {}
    with pytest.MonkeyPatch.context() as m:  # the plots are not under test (and cost seconds)
        m.setattr("nnscratch.run.train.write_plots", lambda *a, **k: [])
        for name, (data, flags) in FAMILIES.items():
            data = data if data.startswith("builtin:") else str(root / data)
            run = root / name
            args = shlex.split(flags)
            assert main(["train", "--data", data, *args, *TINY, "--out", str(run)]) == 0
            spec = from_checkpoint(checkpoint.load(run))
            scripts = {s: g.script(spec) for s, g in (("raw", raw), ("nn", nn))}
            if spec.data_path is not None:  # the lab's form: the data file beside the script
                lab = replace(spec, beside="data.csv")
                scripts |= {f"{s}-beside": g.script(lab) for s, g in (("raw", raw), ("nn", nn))}
            out[name] = (spec, scripts)
    return out


def _calls(tree: ast.AST) -> set[str]:
    return {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}


def _prose(source: str, tree: ast.Module) -> list[str]:
    """The docstring and every comment, in order."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [ast.get_docstring(tree) or "", *(t.string for t in tokens if t.type == 60)]


def _strings(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}


NAME_BYTES = st.binary(min_size=1, max_size=251).map(lambda b: b.replace(b"/", b"_"))
NAME_BYTES = NAME_BYTES.map(lambda b: b.replace(b"\0", b"_")).filter(
    lambda b: b not in (b".", b"..")
)
HOSTILE_BYTES = st.sampled_from(
    [b'x\nopen("PWNED", "w")\n#', b'"""', b"'''", b"b\\N\\x", b"\\", b"bad\xff", b"\r\x0c\x85"]
)
FILE_NAMES = st.one_of(HOSTILE_BYTES, NAME_BYTES).map(os.fsdecode)
TEXT = st.text(st.characters(exclude_categories=()), min_size=0, max_size=30)  # NUL, surrogates
HOSTILE_TEXT = st.sampled_from(['"""', "'\n__import__('os').system('x')\n", "\\N{", "\0", "\ud800"])
LABELS = st.one_of(HOSTILE_TEXT, TEXT)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(sorted(FAMILIES)),
    folder=FILE_NAMES,
    file=FILE_NAMES,
    run=FILE_NAMES,
    labels=st.lists(LABELS, min_size=8, max_size=8),
    beside=st.one_of(st.none(), FILE_NAMES),
)
def test_no_name_changes_what_a_script_does(specs, family, folder, file, run, labels, beside):
    spec, benign = specs[family]
    data = {k: v.raw if isinstance(v, Outside) else v for k, v in spec.data.items()}
    if family.startswith("csv"):  # the columns are named in the file: any text
        data["features"] = labels[: len(data["features"])]
        data["target"] = labels[-1]
    named = data["features"] + [data["target"]] if family.startswith("csv") else []
    if data.get("classes") and all(isinstance(c, str) for c in data["classes"]):
        data["classes"] = labels[-len(data["classes"]) - 1 : -1]
        written = family in ("csv-classes-mlp", "npz-table")  # others: computed by the script
        named += data["classes"] if written else []
    path = None
    if spec.data_path is not None:
        suffix = spec.data_kind
        path = Path("/") / folder / (file + suffix)
    beside = beside if path is not None else None  # the lab's uploads: a file's own name
    hostile = replace(spec, data=data, source=Outside("/x/" + run), data_path=path, beside=beside)
    for style, generator in (("raw", raw), ("nn", nn)):
        text = generator.script(hostile)
        text.encode("utf-8")  # written as UTF-8: no UnicodeEncodeError
        tree = ast.parse(text)
        twin = benign[style if beside is None else f"{style}-beside"]
        want = ast.parse(twin)
        assert _calls(tree) == _calls(want), style
        assert _prose(text, tree) == _prose(twin, want), style
        strings = _strings(tree)  # each name is one string constant, equal to it
        assert set(named) <= strings, style
        assert path is None or str(beside if beside is not None else path) in strings, style


@given(
    value=st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            TEXT,
        ),
        lambda inner: st.lists(inner, max_size=4),
        max_leaves=10,
    )
)
@settings(max_examples=100, deadline=None)
def test_literal_reads_back_as_the_value(value):
    source = literal(value)
    assert ast.literal_eval(source) == value
    assert "\n" not in source and "\r" not in source


def test_outside_text_refuses_to_become_text():
    name = Outside('x"""\nimport os')
    for turn in (str, lambda v: f"{v}", "{}".format, "{:>3}".format):
        with pytest.raises(TypeError, match="only through source.literal"):
            turn(name)
    assert repr(name) == "<outside text>"  # no Python: a SyntaxError wherever code is written
    assert literal(name) == '\'x"""\\nimport os\''
