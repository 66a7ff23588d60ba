"""`nnscratch --help` and `nnscratch train --help` stay fast: they never import torch."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from nnscratch.run.cli import main
code = main({argv!r})
assert code == 0, code
heavy = [m for m in ("torch", "sklearn", "matplotlib") if m in sys.modules]
print("HEAVY", heavy)
"""


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["verify", "--help"]])
def test_help_imports_no_heavy_module(argv):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in out.stdout
    assert "Usage:" in out.stdout


def test_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "nnscratch", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("train", "verify", "explain", "pitfalls", "graph"):
        assert f"  {name}" in out
