"""explain and graph on the CNN and the transformer (an embedding lookup is IndexBackward0)."""

import json

import pytest
from cli_run import run


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "builtin:digits", "--model", "cnn", "--channels", "2"],
        ["--data", "TEXT", "--model", "transformer", "--n-layer", "1", "--n-embd", "8"],
    ],
    ids=["cnn", "transformer"],
)
@pytest.mark.slow
def test_explain_steps_through_the_new_models(tmp_path, argv):
    text = tmp_path / "notes.txt"
    text.write_text("a small text to learn from, repeated.\n" * 30, encoding="utf-8")
    argv = [text if a == "TEXT" else a for a in argv]
    code, out, err = run("explain", *argv, "--steps", "2", "--json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["step"] for r in records] == [1, 2]
    assert records[1]["loss"]["value"] < records[0]["loss"]["value"]  # Adam/AdamW steps downhill


@pytest.mark.parametrize(
    ("model", "ops"),
    [
        ("cnn", ["ConvolutionBackward0", "MaxPool2DWithIndicesBackward0", "1.weight"]),
        ("transformer", ["wte.weight", "wpe.weight", "ScaledDotProduct", "IndexBackward0"]),
    ],
)
def test_graph_shows_the_layers_operations(model, ops):
    code, out, err = run("graph", "--model", model, "--samples", "2")
    assert code == 0, err
    for op in ops:
        assert op in out, op
