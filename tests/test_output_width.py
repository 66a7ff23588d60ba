"""Output fits 80 columns (issue 18 item 6): explain, pitfalls, graph and verify's table, each
run as a user runs it in an 80-column terminal (bench: tests/test_bench.py)."""

import pytest
from cli_run import run

from nnscratch.lab.verify import functional, losses
from nnscratch.lab.verify.table import render
from nnscratch.lab.width import table, wrap

WIDTH = 80


def widest(text: str) -> str:
    return max(text.splitlines(), key=len)


@pytest.fixture(autouse=True)
def terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", str(WIDTH))


@pytest.mark.parametrize(
    "argv",
    [
        ["explain"],  # the seed: its header was 121 columns, its gradient lines 94
        ["explain", "--data", "builtin:iris", "--model", "mlp", "--steps", "1"],
        ["pitfalls"],
        ["pitfalls", "no-zero-grad"],  # a table of 6 series
        ["pitfalls", "rebind-parameter"],  # an exception message of 500 characters
        ["pitfalls", "causal-mask-off-by-one"],  # a generated sample as a value
        ["graph", "--model", "transformer"],  # nested 20+ levels deep
        ["graph", "--model", "mlp"],
        ["graph", "--model", "cnn"],
    ],
    ids=" ".join,
)
def test_every_line_fits(argv):
    code, out, err = run(*argv)
    assert code == 0, err
    assert len(widest(out)) <= WIDTH, widest(out)


def test_the_transformer_graph_folds_deep_subtrees_into_sections():
    _, out, _ = run("graph", "--model", "transformer")
    assert "⇒ [1]" in out and "\n[1]\n" in out
    for k in range(1, out.count("⇒ [") + 1):  # every fold has its section
        assert f"\n[{k}]\n" in out or f"⇒ [{k}]" not in out


def test_the_verify_table_fits_80_columns_in_a_wider_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal, a log read later in 80
    rows = [*losses.rows(), *functional.rows()]  # real rows, a cheap subset of the table
    text, ok = render(rows)
    assert ok and len(widest(text)) <= WIDTH, widest(text)
    assert text.splitlines()[-1] == f"{len(rows)} passed, 0 failed"


def test_wrap_keeps_every_word_and_colour_codes_take_no_room():
    words = "a " * 60 + "\x1b[32m✓ agrees\x1b[0m" + " end"
    text = wrap("  label  ", words, 9)
    assert " ".join(text.split()) == " ".join(("  label  " + words).split())
    assert all(
        len(line.replace("\x1b[32m", "").replace("\x1b[0m", "")) <= WIDTH
        for line in text.splitlines()
    )


def test_a_wide_table_is_cut_keeping_its_first_column_and_pairs():
    header = ["step", *(f"{k} {side}" for k in "abcdef" for side in ("broken", "correct"))]
    rows = [[str(i), *(f"{i * 1.234567:.6g}" for _ in header[1:])] for i in range(3)]
    lines = table(header, rows, group=2)
    assert max(map(len, lines)) <= WIDTH
    blocks = "\n".join(lines).split("\n\n")
    assert len(blocks) > 1 and all(block.startswith("step") for block in blocks)
    for block in blocks:  # a broken column never without its correct one
        head = block.splitlines()[0].split()
        assert head.count("broken") == head.count("correct")
