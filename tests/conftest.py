import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("NNSCRATCH_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


_VERIFY_ROWS: dict[str, list] = {}


@pytest.fixture(scope="session")
def verify_rows():
    """``verify_rows(name)``: the rows of ``nnscratch.lab.verify.<name>``, run once per session
    (every test that checks a verify module, and ``nnscratch verify`` itself, share them)."""
    import importlib

    def rows(name: str) -> list:
        if name not in _VERIFY_ROWS:
            module = importlib.import_module(f"nnscratch.lab.verify.{name}")
            _VERIFY_ROWS[name] = list(module.rows())
        return _VERIFY_ROWS[name]

    return rows


MODULE_DB_SUMMARY = pytest.StashKey[dict]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The module_db counts per class (tests/test_module_db.py), when that test ran."""
    table = config.stash.get(MODULE_DB_SUMMARY, None)
    if not table:
        return
    terminalreporter.section("PyTorch's own module samples (module_db), per class")
    for name in sorted(table):
        c = table[name]
        terminalreporter.write_line(
            f"{name:<24} {c['equal']:>4} equal  {c['different']:>2} different  "
            f"{c['refused']:>2} refused  {c['left out']:>3} left out"
        )
