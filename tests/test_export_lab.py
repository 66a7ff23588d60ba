"""The lab's "run as code" for an uploaded CSV works after the tab is closed: the script reads
the file under its original name from beside itself (or ``--data FILE``), never the lab's
temporary upload path, which is deleted with the tab."""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
import warnings

import pytest
import torch
from safetensors.torch import load_file

warnings.filterwarnings("ignore", message=".*httpx2.*")
starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from nnscratch.lab.live.server import Lab, create_app  # noqa: E402

CSV = "a,b,label\n" + "".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}\n" for i in range(40))
NAME = 'my "iris"\n#.csv'  # the upload's own name: quotes and a newline, a literal in the script


def _ended(m):
    return m.get("type") == "frame" and m.get("state") in ("done", "stopped", "diverged", "error")


def test_run_as_code_reads_the_upload_beside_itself_after_the_tab_closed(tmp_path, monkeypatch):
    from urllib.parse import quote

    lab = Lab(max_runs=1, port=8765)  # the port the lab says it listens on (none is bound)
    try:
        with TestClient(create_app(lab), base_url=f"http://127.0.0.1:{lab.port}") as client:
            assert client.get(f"/?token={lab.token}").status_code == 200  # the printed URL
            with client.websocket_connect(f"ws://127.0.0.1:{lab.port}/ws?token={lab.token}") as ws:
                sid = ws.receive_json()["session"]
                r = client.post(
                    f"/api/session/{sid}/upload?name={quote(NAME)}",
                    content=CSV,
                    headers={"content-type": "text/csv"},
                )
                assert r.status_code == 200, r.text
                settings = {"data": "upload", "epochs": 3, "batch_size": 8}
                r = client.post(f"/api/session/{sid}/settings", json=settings)
                assert r.status_code == 200, r.text
                ws.send_json({"type": "play"})
                for _ in range(100_000):  # frames until the run has ended (a hang guard)
                    if _ended(ws.receive_json()):
                        break
                else:
                    raise AssertionError("the run did not end")
                zipped = client.get(f"/api/session/{sid}/download").content
                script = client.get(f"/api/session/{sid}/export?style=raw")
                assert script.status_code == 200, script.text
                upload = str(lab.sessions[sid].upload_path)
            assert upload not in script.text  # the temporary path, deleted with the tab
    finally:
        lab.close()
    import zipfile

    want = load_file_from_zip(zipfile.ZipFile(io.BytesIO(zipped)))
    (tmp_path / "train.py").write_text(script.text)
    (tmp_path / NAME).write_text(CSV)  # the user's own file, next to the downloaded script
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state = torch.get_rng_state()
    try:
        with monkeypatch.context() as m, contextlib.redirect_stdout(io.StringIO()):
            m.chdir(elsewhere)  # run from another folder: the default is beside the script
            m.setattr(sys, "argv", ["train.py", "--save", str(tmp_path / "p.safetensors")])
            runpy.run_path(str(tmp_path / "train.py"), run_name="__main__")
    finally:
        torch.set_rng_state(state)
    got = load_file(tmp_path / "p.safetensors")
    assert sorted(got) == sorted(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key


def load_file_from_zip(z) -> dict:
    from safetensors.torch import load

    return load(z.read("nnscratch-run/checkpoint/model.safetensors"))
