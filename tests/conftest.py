import fcntl
import math
import os
import pickle

import pytest
import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(int(os.environ.get("NNSCRATCH_TEST_THREADS", "1")))

# No wall-clock budget in a property test (CI shares its machine): no per-example deadline, no
# "too slow" health check. A test's own ``settings(...)`` keeps these unless it names them.
settings.register_profile("nnscratch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nnscratch")


def pytest_xdist_auto_num_workers(config):
    """``make test`` runs ``pytest -n auto``: one worker per core this process may use."""
    return len(os.sched_getaffinity(0))


def pytest_collection_modifyitems(config, items):
    """The files that hold a ``slow`` test first (each file in its own order): the workers of
    ``pytest -n`` then end on quick files together, not one waiting for the other's long one."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # a stable sort


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_wall_clock_budget(monkeypatch):
    """The divergence advice stops trying learning rates after ``lr_check.BUDGET_S`` seconds: on
    a busy machine that would change the advice a test reads. In-process tests see every
    candidate tried (tests/test_advice.py sets the budget to 0 to test the budget itself)."""
    from nnscratch.run import lr_check

    monkeypatch.setattr(lr_check, "BUDGET_S", math.inf)


_VERIFY_ROWS: dict[str, list] = {}


@pytest.fixture(scope="session")
def verify_rows(tmp_path_factory):
    """``verify_rows(name)``: the rows of ``nnscratch.lab.verify.<name>``, run once per session
    (every test that checks a verify module, and ``nnscratch verify`` itself, share them).

    Under pytest-xdist the workers share them too: the first worker that needs a module runs it
    and leaves its rows in the session's temporary folder; one that needs it meanwhile waits on
    the file lock (the event), then reads them."""
    import importlib

    worker = os.environ.get("PYTEST_XDIST_WORKER")  # set in each pytest-xdist worker
    shared = tmp_path_factory.getbasetemp().parent if worker else None

    def computed(name: str) -> list:
        return list(importlib.import_module(f"nnscratch.lab.verify.{name}").rows())

    def rows(name: str) -> list:
        if name in _VERIFY_ROWS:
            return _VERIFY_ROWS[name]
        if shared is None:
            _VERIFY_ROWS[name] = computed(name)
            return _VERIFY_ROWS[name]
        saved = shared / f"verify-rows-{name}.pickle"
        with open(shared / f"verify-rows-{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not saved.exists():
                blob = pickle.dumps(computed(name))
                saved.with_suffix(".part").write_bytes(blob)
                saved.with_suffix(".part").rename(saved)
            _VERIFY_ROWS[name] = pickle.loads(saved.read_bytes())
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
