"""The README as a new user reads it: five steps (as everywhere else), step 3 as `nnscratch graph`
draws it, no link out of the repository, and a way to open the notebook."""

import contextlib
import io
import re
from pathlib import Path

from nnscratch.run.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def the_idea() -> str:
    return README[README.index("## The idea") : README.index("## The mapping table")]


def test_the_idea_numbers_five_steps():
    numbered = re.findall(r"^(\d)\. \*\*(\w+)", the_idea(), flags=re.M)
    assert numbered == [
        ("1", "Forward"),
        ("2", "Loss"),
        ("3", "Backward"),
        ("4", "Update"),
        ("5", "Reset"),
    ]


def test_step_3_names_the_nodes_graph_draws_in_its_order():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["graph", "--no-backward"]) == 0
    nodes = re.findall(r"(\w+Backward\d|AccumulateGrad)", out.getvalue())
    step3 = the_idea()[the_idea().index("3. **Backward") : the_idea().index("4. **Update")]
    named = re.findall(r"(\w+Backward\d|AccumulateGrad)", step3)
    assert set(named) == set(nodes)
    chain = [n for n in dict.fromkeys(nodes) if n != "PermuteBackward0"]
    assert [n for n in named if n != "PermuteBackward0"] == chain


def test_the_readme_points_only_inside_the_repository():
    assert "../" not in README and "shared/" not in README
    for path in re.findall(r"`((?:docs|examples|src|tests)/[\w./-]+)`", README):
        assert (ROOT / path).exists(), path
    assert (ROOT / "docs" / "STYLE.md").is_file()


def test_make_notebook_opens_it_with_a_pinned_jupyter():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(
        r"^notebook: .*\n\t.*jupyter notebook examples/from_scratch.ipynb", makefile, re.M
    )
    pyproject = (ROOT / "pyproject.toml").read_text()
    test_extra = pyproject[pyproject.index("test = [") :].split("]")[0]
    assert '"notebook>=' in test_extra
    assert re.search(r"^notebook==\S+$", (ROOT / "constraints.txt").read_text(), re.M)
    assert "make notebook" in README
