"""Small CLI defects a new user hit: a graph format that contradicts its file name, help texts
that say what a flag takes, names listed where they are chosen."""

import pytest
from cli_run import run

from nnscratch.lab.pitfalls import PITFALLS
from nnscratch.run.config import ACTIVATION_NAMES


@pytest.mark.parametrize(
    ("fmt", "name", "fragment"),
    [
        ("dot", "g.mmd", "--format dot does not match g.mmd, a mermaid file name"),
        ("mermaid", "g.dot", "name the file g.mmd"),
        ("text", "g.gv", "a dot file name"),
    ],
)
def test_graph_refuses_a_format_that_contradicts_the_file_name(tmp_path, fmt, name, fragment):
    code, _, err = run("graph", "--format", fmt, "--out", tmp_path / name)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err
    assert not (tmp_path / name).exists()
    assert run("graph", "--format", "dot", "--out", tmp_path / "g.dot")[0] == 0


def test_graph_help_explains_every_option_and_activation_is_a_choice():
    code, out, _ = run("graph", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "the seed's linear regression" in text
    assert "seed for the data and the parameters" in text
    assert "MLP activation" in text and "[" + "|".join(ACTIVATION_NAMES) + "]" in text
    code, _, err = run("graph", "--model", "mlp", "--activation", "swish")
    assert code == 2 and "swish" in err


def test_pitfalls_help_lists_every_pitfall_name():
    code, out, _ = run("pitfalls", "--help")
    assert code == 0
    listed = [line.split()[0] for line in out[out.index("Pitfalls (NAME)") :].splitlines()[1:]]
    assert [name for name in listed if name in PITFALLS] == list(PITFALLS)  # whole, in order
