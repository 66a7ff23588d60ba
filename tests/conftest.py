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
