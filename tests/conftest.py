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


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The module_db counts per class (tests/test_module_db.py records them as the test's
    ``module_db`` property, which also reaches this report from pytest-xdist workers)."""
    lines = sorted(
        value
        for report in terminalreporter.stats.get("passed", [])
        for name, value in getattr(report, "user_properties", [])
        if name == "module_db"
    )
    if lines:
        terminalreporter.section("PyTorch's own module samples (module_db), per class")
        for line in lines:
            terminalreporter.write_line(line)
