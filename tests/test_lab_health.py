"""The live lab's health panel: a run with the health setting streams `frame["health"]`."""

import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")
starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from nnscratch.lab.live.server import Lab, create_app  # noqa: E402

SETTINGS = {
    "data": "builtin:moons",
    "model": "mlp",
    "hidden": "8",
    "activation": "tanh",
    "epochs": 5,
    "batch_size": 32,
}


def run_until_done(health):
    lab = Lab(max_runs=1, port=8765)  # the port the lab says it listens on (none is bound)
    try:
        with TestClient(create_app(lab), base_url=f"http://127.0.0.1:{lab.port}") as client:
            assert client.get(f"/?token={lab.token}").status_code == 200  # the printed URL
            with client.websocket_connect(f"ws://127.0.0.1:{lab.port}/ws?token={lab.token}") as ws:
                sid = ws.receive_json()["session"]
                r = client.post(f"/api/session/{sid}/settings", json=SETTINGS | {"health": health})
                assert r.status_code == 200, r.text
                ws.send_json({"type": "play"})
                frames = []
                for _ in range(100_000):  # frames per second: a busy machine sends more
                    m = ws.receive_json()
                    frames.append(m)
                    if m.get("state") in ("done", "stopped", "diverged", "error"):
                        return frames
    finally:
        lab.close()
    raise AssertionError("the run did not end")


def test_health_setting_streams_the_panel():
    frames = run_until_done(True)
    assert frames[-1]["state"] == "done"
    panel = frames[-1]["health"]
    assert [x["kind"] for x in panel["layers"]] == ["linear", "tanh", "linear"]
    assert 0 <= panel["layers"][1]["share"] <= 1
    assert {u["name"] for u in panel["updates"]} == {"0.weight", "2.weight"}
    assert panel["findings"] == []
    assert all("health" not in m for m in run_until_done(False))


def test_the_page_has_the_panel_and_the_switch():
    from importlib.resources import files

    page = (files("nnscratch.lab.live") / "static" / "index.html").read_text()
    assert 'name="health" type="checkbox"' in page and 'id="health"' in page
    assert "drawHealth" in (files("nnscratch.lab.live") / "static" / "lab.js").read_text()
