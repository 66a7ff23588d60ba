"""Every module of the executable mapping table runs once in the suite, and every row passes.

The rows are computed once per session (the ``verify_rows`` fixture in conftest.py); the tests of
each piece read the same rows. No count of rows is written down: a new row needs no test edit.
"""

import pytest

from nnscratch.lab.verify import _modules

MODULES = [m.__name__.rsplit(".", 1)[1] for m in _modules()]
SLOW = {"ddp"}  # two processes under torchrun: ~20 s


def test_the_table_has_its_modules():
    assert {"linear", "losses", "optim", "backprop", "explain", "data"} <= set(MODULES)


@pytest.mark.parametrize(
    "name", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in MODULES]
)
def test_every_row_of_the_module_passes(name, verify_rows):
    rows = verify_rows(name)
    assert rows, f"nnscratch.lab.verify.{name} yields no rows"
    failed = [f"{r.piece} ↔ {r.abstraction}: {r.compared}" for r in rows if not r.passed]
    assert not failed, failed


def test_the_cli_table_shows_the_rows_of_every_module(verify_rows, monkeypatch, capsys):
    """`nnscratch verify` renders exactly these rows (taken from the session's one run)."""
    from nnscratch.lab import verify
    from nnscratch.run.cli import main

    every = [row for name in MODULES for row in verify_rows(name)]
    monkeypatch.setattr(verify, "run_all", lambda: iter(every))
    assert main(["verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("PASS ") for line in lines) == len(every)
    assert f"{len(every)} passed, 0 failed" in lines
