"""The live lab's server through Starlette's test client: HTTP and the WebSocket channel.

The lab's run is `nnscratch train`'s run (float64 parameters equal to those of the printed
command line), every setting is validated (HTTP 400 naming the field), malformed socket messages
are answered, a diverging run is reported and the server keeps serving.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import threading
import time
import warnings
import zipfile

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")
starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from nnscratch.lab.live.server import Lab, create_app  # noqa: E402
from nnscratch.run.cli import main  # noqa: E402
from nnscratch.run.config import BACKWARDS  # noqa: E402

MOONS = {"data": "builtin:moons", "model": "mlp", "hidden": "8", "epochs": 25, "batch_size": 32}


PORT = 8765  # the port the lab says it listens on (the test client never binds one)


@pytest.fixture
def lab():
    lab = Lab(max_runs=2, port=PORT)
    yield lab
    lab.close()


SOCKETS: list = []  # the tabs a test opened: closed at its end even when it fails


def lab_client(lab):
    """A test client at the lab's own address that opened the printed URL (the token's cookie)."""
    c = TestClient(create_app(lab), base_url=f"http://127.0.0.1:{lab.port}")
    c.ws_url = f"ws://127.0.0.1:{lab.port}/ws?token={lab.token}"
    return c


@pytest.fixture
def client(lab):
    with lab_client(lab) as c:
        assert c.get(f"/?token={lab.token}").status_code == 200
        yield c
        while SOCKETS:
            try:
                leave(SOCKETS.pop())
            except Exception:
                pass


def wait_for(ws, predicate, limit=100_000, run=None):
    """Messages until one satisfies ``predicate`` (never "the next one": a frame may come
    first); the records of all of them (of run number ``run`` if given), concatenated. Frames
    come at a rate per second, so a busy machine sends more of them: ``limit`` only catches a
    run that never ends."""
    records = []
    for _ in range(limit):
        m = ws.receive_json()
        if run is None or m.get("run") == run:
            records += m.get("records", [])
        if predicate(m):
            return m, records
    raise AssertionError("no such frame")


def leave(ws):
    """Close the tab (the socket) and wait for the server to see it."""
    if ws in SOCKETS:
        SOCKETS.remove(ws)
    ws.__exit__(None, None, None)


def ended(m, run=None):
    """The last frame of a run (of run number ``run`` if given: an older one may still come)."""
    over = m.get("type") == "frame" and m.get("state") in ("done", "stopped", "diverged", "error")
    return over and (run is None or m.get("run") == run)


def is_error(m):
    return m.get("type") == "error"


def poll(condition, limit=600.0):  # a hang guard, not a speed
    """Wait until ``condition()`` holds (another thread's event), bounded."""
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, "never happened"
        time.sleep(0.02)


def open_session(client, settings):
    ws = client.websocket_connect(client.ws_url).__enter__()
    SOCKETS.append(ws)
    sid = ws.receive_json()["session"]
    r = client.post(f"/api/session/{sid}/settings", json=settings)
    return ws, sid, r


def test_page_and_assets_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    assert client.get("/static/lab.js").status_code == 200
    options = client.get("/api/options").json()
    assert "builtin:moons" in options["data"] and "no-zero-grad" in options["pitfalls"]
    assert options["backwards"] == list(BACKWARDS)  # the page's choice of train's --backward
    assert '<select name="backward"' in page.text


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"lr": -1}, "lr", "> 0"),
        ({"lr": "fast"}, "lr", "number"),
        ({"epochs": 1.5}, "epochs", "whole number"),
        ({"data": "/etc/passwd"}, "data", "synthetic"),
        ({"data": "upload"}, "data", "upload a CSV"),
        ({"optimizer": "lbfgs"}, "optimizer", "one of"),
        ({"hidden": "8,-2", "model": "mlp"}, "hidden", "positive"),
        ({"colour": "red"}, "colour", "unknown setting"),
        ({"pitfall": "rm -rf"}, "pitfall", "one of"),
        ({"device": "cuda"}, "device", "CPU"),
        ({"data": "builtin:moons", "loss": "mse"}, "loss", "class labels"),
    ],
)
def test_bad_settings_are_http_400_naming_the_field(client, settings, field, words):
    ws, sid, r = open_session(client, settings)
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == field and words in body["error"]
    leave(ws)


JSON = {"content-type": "application/json"}


def test_bad_bodies_are_answered(client):
    ws, sid, _ = open_session(client, {})
    r = client.post(f"/api/session/{sid}/settings", content=b"{not json", headers=JSON)
    assert r.status_code == 400 and r.json()["field"] == "settings"
    assert client.post(f"/api/session/{sid}/settings", json=[1, 2]).status_code == 400
    assert client.post("/api/session/nope/settings", json={}).status_code == 404
    leave(ws)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"pitfall": {"a": 1}}', "pitfall"),
        (b'{"pitfall": [1]}', "pitfall"),
        (b'{"speed": [1]}', "speed"),
        (b'{"alpha": Infinity, "optimizer": "rmsprop"}', "settings"),
        (b'{"lr": NaN}', "settings"),
        (b'{"alpha": "Infinity", "optimizer": "rmsprop"}', "alpha"),
        (b'{"lr": "1e400"}', "lr"),
        (b'{"hidden": {"a": 1}, "model": "mlp"}', "hidden"),
        (b'{"data": ["synthetic"]}', "data"),
        (b'{"[1]": 1}', "[1]"),
        (b"[" * 50000, "settings"),
    ],
)
def test_bodies_that_were_a_500_are_a_400_after_a_run_started(client, lab, body, field):
    ws, sid, r = open_session(client, {"epochs": 100000, "n_samples": 20})
    ws.send_json({"type": "play"})
    wait_for(ws, lambda m: m.get("state") == "running")
    r = client.post(f"/api/session/{sid}/settings", content=body, headers=JSON)
    assert r.status_code == 400 and r.json()["field"] == field, r.text
    assert "\n" not in r.json()["error"]  # one line
    assert lab.sessions[sid].runs == 1 and lab.sessions[sid].run.state == "running"
    leave(ws)


def test_lab_run_equals_the_copied_command_in_float64(client, tmp_path):
    """Play to the end; the printed `nnscratch train ...` line trains the same parameters."""
    import safetensors.torch

    ws, sid, r = open_session(client, MOONS | {"dtype": "float64"})
    assert r.status_code == 200, r.text
    ws.send_json({"type": "play"})
    m, records = wait_for(ws, ended)
    assert m["state"] == "done" and m["summary"]["metrics"]
    assert [rec["epoch"] for rec in records] == list(range(1, 26))
    command = client.get(f"/api/session/{sid}/command").text
    assert command.startswith("nnscratch train --data builtin:moons") and "float64" in command
    zipped = client.get(f"/api/session/{sid}/download")
    assert zipped.status_code == 200
    lab_params = safetensors.torch.load(
        zipfile.ZipFile(io.BytesIO(zipped.content)).read(
            "nnscratch-run/checkpoint/model.safetensors"
        )
    )
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert not [n for n in names if n.endswith(".nnscratch.lock")]  # the lock is not the user's
    script = client.get(f"/api/session/{sid}/export?style=nn")  # the run as code
    assert script.status_code == 200 and "import torch" in script.text
    assert script.headers["content-type"].startswith("text/x-python")  # saved as a .py file
    assert script.headers["content-disposition"] == 'attachment; filename="train_nn.py"'
    assert "import nnscratch" not in script.text and "from nnscratch" not in script.text
    assert client.get(f"/api/session/{sid}/export?style=perl").status_code == 400
    out = tmp_path / "cli"
    assert main([*shlex.split(command)[1:], "--out", str(out), "--quiet", "--json"]) in (0, None)
    cli_params = safetensors.torch.load_file(str(out / "checkpoint" / "model.safetensors"))
    assert lab_params.keys() == cli_params.keys()
    for name in cli_params:
        assert lab_params[name].dtype == cli_params[name].dtype
        assert lab_params[name].equal(cli_params[name]), name
    leave(ws)


def test_malformed_socket_messages_are_answered(client):
    ws, sid, r = open_session(client, {"epochs": 5})
    for text in ("garbage", "[1, 2]", '{"no": "type"}', '"play"'):
        ws.send_text(text)
        assert wait_for(ws, is_error)[0]["field"] == "message"
    ws.send_bytes(b"\x00\x01")
    assert wait_for(ws, is_error)[0]["field"] == "message"
    ws.send_json({"type": "format_disk"})
    assert "unknown message type" in wait_for(ws, is_error)[0]["error"]
    ws.send_json({"type": "speed", "value": -3})
    assert wait_for(ws, is_error)[0]["field"] == "speed"
    ws.send_json({"type": "play"})  # still alive
    m, _ = wait_for(ws, ended)
    assert m["state"] == "done"
    leave(ws)


def test_divergence_shows_step_and_hint_and_the_server_keeps_serving(client):
    ws, sid, r = open_session(client, {"lr": 1e6, "epochs": 50})
    ws.send_json({"type": "play"})
    m, _ = wait_for(ws, ended)
    assert m["state"] == "diverged"
    assert re.search(r"step \d+", m["message"]) and "try --lr" in m["message"]
    assert "/tmp" not in m["message"] and "download" in m["message"]  # no server path shown
    assert client.get("/api/options").status_code == 200
    r = client.post(f"/api/session/{sid}/settings", json={"lr": 0.1, "epochs": 3})
    assert r.status_code == 200
    ws.send_json({"type": "play"})
    assert wait_for(ws, lambda m: ended(m, r.json()["run"]))[0]["state"] == "done"
    leave(ws)


@pytest.mark.parametrize("backward", BACKWARDS)
def test_step_mode_numbers_are_explains(client, capsys, backward):
    """... with the run's --backward: step mode traced autograd whatever the settings said."""
    settings = {"n_samples": 8, "lr": 0.1, "backward": backward}
    ws, sid, r = open_session(client, settings)
    phases = []
    for _ in range(5):
        ws.send_json({"type": "phase"})
        m, _ = wait_for(ws, lambda m: "step_mode" in m and m["step_mode"]["index"] == len(phases))
        phases.append(m["step_mode"])
    assert [p["phase"] for p in phases] == ["forward", "loss", "backward", "update", "reset"]
    capsys.readouterr()
    flags = ["--n-samples", "8", "--lr", "0.1", "--backward", backward]
    main(["explain", "--json", "--steps", "1", *flags])
    explained = json.loads(capsys.readouterr().out)[0]
    assert explained["backward"]["by"] == backward
    assert phases[0]["record"] == explained  # every number, the same
    leave(ws)


CSV_TYPE = {"content-type": "text/csv"}
CSV = "a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}\n" for i in range(60))


def test_uploaded_csv_is_read_by_the_same_reader(client, tmp_path):
    from nnscratch.data.files import load_file
    from nnscratch.errors import UserError

    ws, sid, _ = open_session(client, {})
    r = client.post(
        f"/api/session/{sid}/upload?name=../../evil.csv", content=CSV.encode(), headers=CSV_TYPE
    )
    assert r.status_code == 200 and r.json()["name"] == "evil.csv"  # a name, never a path
    r = client.post(f"/api/session/{sid}/settings", json={"data": "upload", "epochs": 5})
    assert r.status_code == 200, r.text
    assert r.json()["scene"]["task"] == "classification"
    assert "--data evil.csv" in client.get(f"/api/session/{sid}/command").text
    bad = "a,b\n1,2,3\n4,5\n"
    client.post(f"/api/session/{sid}/upload?name=bad.csv", content=bad.encode(), headers=CSV_TYPE)
    r = client.post(f"/api/session/{sid}/settings", json={"data": "upload"})
    assert r.status_code == 400
    (tmp_path / "bad.csv").write_text(bad)
    with pytest.raises(UserError) as e:
        load_file(tmp_path / "bad.csv")
    assert r.json()["error"] == str(e.value).replace(str(tmp_path / "bad.csv"), "bad.csv")
    assert (
        client.post(
            f"/api/session/{sid}/upload?name=x.pkl", content=b"x", headers=CSV_TYPE
        ).status_code
        == 400
    )
    leave(ws)


def test_upload_is_read_with_the_csv_options_and_says_what_the_reader_said(client):
    """Issue 18: a semicolon file with decimal commas reads with ``decimal: ","`` (its detected
    delimiter said in the answer, under the upload's own name) and the page's choices are the
    CLI's."""
    import dataclasses

    from nnscratch.data.delimiter import CANDIDATES
    from nnscratch.run.config import TrainConfig

    choices = {f.name: f.metadata.get("choices") for f in dataclasses.fields(TrainConfig)}
    csv = client.get("/api/options").json()["csv"]
    assert [v for v, _ in csv["missing"]] == list(choices["missing"])
    assert [v for v, _ in csv["decimal"]] == list(choices["decimal"])
    assert [v for v, _ in csv["delimiter"]] == ["", *CANDIDATES]  # "": detected
    ws, sid, _ = open_session(client, {})
    rows = "".join(f"{i},5;{2 * i + 1},25\n" for i in range(30))
    body = ("title line\nx;y\n" + rows).encode()
    client.post(f"/api/session/{sid}/upload?name=semi.csv", content=body, headers=CSV_TYPE)
    r = client.post(f"/api/session/{sid}/settings", json={"data": "upload", "skip_rows": 1})
    assert r.status_code == 400 and r.json()["field"] == "decimal", r.text  # "1,5": --decimal ,
    settings = {"data": "upload", "skip_rows": 1, "decimal": ",", "epochs": 3}
    r = client.post(f"/api/session/{sid}/settings", json=settings)
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == ["semi.csv: delimiter ';'"]
    assert r.json()["config"]["delimiter"] == ";" and r.json()["scene"]["n_train"] > 0
    command = client.get(f"/api/session/{sid}/command").text
    assert "--skip-rows 1 --delimiter ';' --decimal ," in command
    leave(ws)


def test_upload_size_is_limited(lab, client):
    lab.max_upload = 1000
    ws, sid, _ = open_session(client, {})
    r = client.post(
        f"/api/session/{sid}/upload?name=big.csv", content=b"1,2\n" * 1000, headers=CSV_TYPE
    )
    assert r.status_code == 413 and "smaller" in r.json()["error"]
    leave(ws)


def test_pitfall_switches_show_their_real_symptoms(client):
    ws, sid, r = open_session(client, {"epochs": 40, "pitfall": "update-without-no-grad"})
    assert "no_grad" in r.json()["pitfall"]["fix"]
    ws.send_json({"type": "play"})
    m, _ = wait_for(ws, ended)
    assert m["state"] == "error" and m["message"].startswith("RuntimeError")
    assert "leaf" in m["message"]  # PyTorch's own words
    losses = {}
    for pitfall in ("none", "no-zero-grad"):
        r = client.post(f"/api/session/{sid}/settings", json={"epochs": 40, "pitfall": pitfall})
        ws.send_json({"type": "play"})
        run = r.json()["run"]
        m, records = wait_for(ws, lambda m, run=run: ended(m, run), run=run)
        losses[pitfall] = [rec["train_loss"] for rec in records]
    rises = sum(
        b > a for a, b in zip(losses["no-zero-grad"], losses["no-zero-grad"][1:], strict=False)
    )
    assert rises >= 3  # the loss swings
    assert all(b <= a for a, b in zip(losses["none"], losses["none"][1:], strict=False))  # settles
    leave(ws)


def test_updates_are_coalesced(lab, client):
    """Thousands of epochs a second reach the page as at most ``rate`` messages a second, no
    record lost. (A busy machine only makes the run slower: at 5 messages a second, several
    epochs still share one.)"""
    lab.rate = 5.0
    ws, sid, _ = open_session(client, {"epochs": 200000, "n_samples": 20})
    ws.send_json({"type": "play"})
    wait_for(ws, lambda m: len(m.get("records", [])) > 0)
    start, frames, records = time.perf_counter(), 0, []
    while time.perf_counter() - start < 1.0:
        records += ws.receive_json()["records"]
        frames += 1
    elapsed = time.perf_counter() - start
    assert len(records) > frames  # several epochs per message
    assert frames <= elapsed * lab.rate + 1  # the rate is an upper bound
    epochs = [r["epoch"] for r in records]
    assert epochs == list(range(epochs[0], epochs[0] + len(epochs)))
    leave(ws)


def test_tabs_have_their_own_runs_a_limit_and_closing_stops(lab, client):
    a, sid_a, _ = open_session(client, {"epochs": 100000, "n_samples": 20})
    b, sid_b, _ = open_session(client, {"epochs": 3})
    c = client.websocket_connect(client.ws_url).__enter__()
    SOCKETS.append(c)
    refused = c.receive_json()
    assert refused["type"] == "refused" and "at most 2 runs" in refused["message"]
    a.send_json({"type": "play"})
    wait_for(a, lambda m: len(m.get("records", [])) > 0)
    b.send_json({"type": "play"})
    assert wait_for(b, ended)[0]["state"] == "done"  # b ended while a goes on
    run_a = lab.sessions[sid_a].run
    assert run_a.state == "running"
    leave(a)
    poll(lambda: not run_a.thread.is_alive() and sid_a not in lab.sessions)
    assert not run_a.folder.exists()
    leave(b)


def test_a_token_guards_every_request():
    lab = Lab(token="s3cret", port=PORT)
    with lab_client(lab) as c:
        assert c.get("/").status_code == 403
        assert c.get("/api/options").status_code == 403
        assert c.get("/static/lab.css").status_code == 200  # the page's own public files
        assert c.get("/favicon.ico").status_code == 200
        page = c.get("/?token=s3cret")  # the printed URL: the page, and a cookie for the rest
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
        assert c.get("/api/options").status_code == 200
    lab.close()


def test_help_imports_no_web_stack():
    import subprocess
    import sys

    code = (
        "import sys; from nnscratch.run.cli import main; main(['--help']); "
        "assert not any(m in sys.modules for m in ('starlette', 'uvicorn', 'torch')), 'heavy'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_threads_do_not_leak(lab, client):
    before = threading.active_count()
    for _ in range(3):
        ws, sid, _ = open_session(client, {"epochs": 2})
        leave(ws)
    poll(lambda: threading.active_count() <= before + 1)  # each run's thread ends


def test_memory_stays_flat_over_a_long_run(tmp_path):
    """Frames replace each other; what grows is one metrics record per epoch (as for the CLI)."""
    import tracemalloc

    from nnscratch.lab.live.session import Run
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare

    run = Run(prepare(TrainConfig(epochs=3000)), tmp_path / "run", rate=1000.0)
    tracemalloc.start()
    run.start()
    run.send("play")
    seen = []
    for epochs in (500, 2500):
        poll(lambda e=epochs: len(run.records) >= e or not run.thread.is_alive())
        seen.append((len(run.records), tracemalloc.get_traced_memory()[0]))
    tracemalloc.stop()
    run.thread.join(120)
    assert run.state == "done" and run.version > 100  # many frames were built
    (e0, m0), (e1, m1) = seen
    # train() keeps one small metrics record per epoch (~350 bytes, as for the CLI); frames,
    # predictions and gradients copies are replaced, not kept
    assert (m1 - m0) / (e1 - e0) < 1024


def test_lab_cost_bench_case_runs():
    from nnscratch.lab.bench import lab_cost

    cost = lab_cost.measure(quick=True, repeats=3)
    assert cost["ratio"] > 0  # a figure for the bench: no speed is asserted in a test
    assert "lab / train" in "\n".join(lab_cost.lines(cost))


def test_train_live_streams_a_command_line_run_read_only():
    from nnscratch.lab.live.feed import Feed
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    data = prepare(TrainConfig(data="builtin:moons", model="mlp", hidden="4", epochs=20))
    feed = Feed(data, "nnscratch train ...")
    with lab_client(Lab(watch=feed, port=PORT)) as c, c.websocket_connect(c.ws_url) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "watch" and hello["scene"]["kind"] == "map"
        ws.send_json({"type": "play"})
        assert "only watches" in wait_for(ws, is_error)[0]["error"]  # read-only
        result = train(data, feed.log(None), on_build=feed.on_build)
        feed.end(None)
        m, records = wait_for(ws, lambda m: m.get("state") == "done")
        assert records == result.records and "prediction" in m


def test_train_live_prints_its_url(capsys):
    assert main(["train", "--epochs", "5", "--live", "--quiet", "--json"]) in (0, None)
    assert "live: http://127.0.0.1:" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_every_start_gets_a_new_token(monkeypatch, host):
    from nnscratch.run.cli.commands import lab as command

    seen = []
    monkeypatch.setattr(command, "serve", lambda lab, *args: seen.append(lab))
    assert main(["lab", "--host", host]) in (0, None)
    assert main(["lab", "--host", host]) in (0, None)
    assert len(seen[0].token) >= 24 and seen[0].token != seen[1].token
    assert seen[0].url.endswith(f":{seen[0].port}/?token={seen[0].token}")
