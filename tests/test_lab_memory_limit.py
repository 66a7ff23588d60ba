"""Issue 17, "one request must not take the machine": `nnscratch lab` in a subprocess under an
address-space limit (``RLIMIT_AS``, set on the started process with ``prlimit``, the same call as
``setrlimit``) of what the lab itself took (measured after a start and a small run: PyTorch, the
web stack, the threads) plus the lab's budget for one run plus a margin. Through
its real HTTP and WebSocket API (the token, its own Host and Origin): a model far over the
budget is refused before anything is made, one just under it plays (the views draw a bounded
number of units), an upload far over the size limit is refused, and afterwards the server still
answers and never met a MemoryError.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

httpx = pytest.importorskip("httpx")
from websockets.sync.client import connect  # noqa: E402

from nnscratch.lab.live import budget  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
MARGIN = 256 * 2**20  # bytes over the measured start and the budget: thread stacks, allocator
OVER = [  # far over the budget: refused by the estimate, before anything is made
    ({"data": "builtin:moons", "model": "mlp", "hidden": "1000000"}, "hidden"),
    ({"data": "builtin:digits", "model": "cnn", "channels": "4096,4096"}, "channels"),
    ({"n_samples": 10**8, "n_features": 10}, "n_samples"),
]
WIDE = {"model": "mlp", "hidden": "230000", "epochs": 2, "n_features": 2}  # a map, 230,000 wide


def vm(pid: int, key: str) -> int:
    """``VmSize``/``VmPeak`` of a process, in bytes (Linux's /proc)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1)) * 1024


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path("/proc/self/status").exists() or not hasattr(resource, "prlimit"):
        pytest.skip("needs Linux's /proc and prlimit")
    env = os.environ | {
        "PYTHONPATH": str(SRC),
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "2",  # PyTorch's thread pools, and so their stacks and heaps, the
        "MALLOC_ARENA_MAX": "2",  # same on any machine: the warm-up run below creates them all
    }
    log = tmp_path_factory.mktemp("lab") / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nnscratch", "lab", "--max-runs", "2"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else ""  # "the lab: http://...?token=T  (...)"
        found = re.search(r"(http://\S+)", line)
        assert found, f"no URL printed: {line!r} {log.read_text()[-2000:]}"
        url = found.group(1)
        answering(url)
        yield proc, url, log
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def answering(url: str, tries: int = 600) -> None:
    """Until the server (its URL printed just before uvicorn binds) answers, bounded."""
    for _ in range(tries):
        try:
            httpx.get(f"{origin(url)}/api/options", params={"token": token(url)}, timeout=600)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the lab never answered")


def origin(url: str) -> str:
    return url.split("/?")[0]


def token(url: str) -> str:
    return url.split("token=")[1]


def wait_frame(ws, want, limit=600.0):  # a hang guard, not a speed
    """The first frame for which ``want(frame)`` holds (others skipped), bounded."""
    while True:
        frame = json.loads(ws.recv(timeout=limit))
        if want(frame):
            return frame


@contextlib.contextmanager
def open_tab(url: str):
    """A tab's socket, from the page's own origin as the browser sends it, and its session."""
    base, tok = origin(url), token(url)
    with connect(f"{base.replace('http', 'ws')}/ws?token={tok}", origin=base, max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=600))
        assert hello["type"] == "hello"
        yield ws, hello["session"]


def post(client, url, sid, path, content, kind):
    return client.post(
        f"{origin(url)}/api/session/{sid}/{path}",
        params={"token": token(url)},
        content=content,
        headers={"Content-Type": kind, "Origin": origin(url)},
    )


def test_no_request_takes_the_lab_past_its_budget(lab):
    proc, url, log = lab
    with httpx.Client(timeout=600) as client:
        with open_tab(url) as (
            ws,
            sid,
        ):  # a small run first: the threads and pools a run starts, before measuring
            small = {"data": "builtin:moons", "model": "mlp", "hidden": "4", "epochs": 3}
            r = post(client, url, sid, "settings", json.dumps(small), "application/json")
            assert r.status_code == 200, r.text
            ws.send(json.dumps({"type": "play"}))
            wait_frame(ws, lambda f: f.get("state") == "done")
        start = vm(proc.pid, "VmPeak")
        limit = start + budget.MAX_BYTES + MARGIN
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (limit, limit))
        print(f"started: {start / 2**20:.0f} MB; limit {limit / 2**20:.0f} MB")

        with open_tab(url) as (ws, sid):
            for huge, field in OVER:
                r = post(client, url, sid, "settings", json.dumps(huge), "application/json")
                assert (r.status_code, r.json()["field"]) == (400, field), r.text
                assert re.search(r"\d [MG]B", r.json()["error"]), r.text  # says how much

            r = post(client, url, sid, "settings", json.dumps(WIDE), "application/json")
            assert r.status_code == 200, r.text
            ws.send(json.dumps({"type": "speed", "value": 0}))
            ws.send(json.dumps({"type": "play"}))
            done = wait_frame(ws, lambda f: f.get("state") in ("done", "error", "diverged"))
            assert done["state"] == "done", done.get("message")
            print(f"after the wide run: {vm(proc.pid, 'VmPeak') / 2**20:.0f} MB")

            big = b"x,y\n" + b"1,2\n" * (16 * 2**20 // 4)  # 16 MiB, 8 times the upload limit
            r = post(client, url, sid, "upload?name=big.csv", big, "text/csv")
            assert (r.status_code, r.json()["field"]) == (413, "file")

        r = client.get(f"{origin(url)}/api/options", params={"token": token(url)})
        assert r.status_code == 200 and "models" in r.json()
    assert proc.poll() is None  # still serving
    proc.terminate()
    proc.wait(60)
    err = log.read_text()
    assert "MemoryError" not in err and "Traceback" not in err, err[-2000:]


def test_the_wide_model_is_just_under_the_budget():
    """The model the test above plays needs most of a run's budget by the lab's own estimate (and
    a 48×48 map drawn through all its 230,000 units at once, 2 GB, would not fit the limit)."""
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    _, need = budget.step_bytes(prepare(TrainConfig(**WIDE)))
    assert 0.9 * budget.MAX_BYTES < need <= budget.MAX_BYTES


def test_the_run_folders_plots_go_through_a_wide_model_a_few_rows_at_a_time():
    """The boundary plot of every run folder (the lab writes one too) sent its 200×200 grid
    through the model at once: 29 GB for a layer of 180,000 units; now a few rows at a time."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from nnscratch.run import plots
    from nnscratch.run.build import build_model
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    class Largest(TorchDispatchMode):  # the largest tensor an operation makes
        numel = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    self.numel = max(self.numel, t.numel())
            return out

    data = prepare(TrainConfig(data="builtin:moons", model="mlp", hidden="2048"))
    model = build_model(data.config, 2, data.out_features, torch.float32, "cpu")
    config = {"model": "mlp", "hidden": "2048", "optimizer": "adam", "lr": 0.01}
    summary = {"data": {"name": "moons"}, "config": config, "metrics": {"train": {}}}
    with Largest() as largest:
        plots.plot_boundary(model, data, summary)
    assert largest.numel <= plots.CHUNK  # at once: 200² × 2048 = 82 million
