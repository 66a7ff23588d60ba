"""`nnscratch lab --practice FILE`: the page shows the file's check and re-checks it on save;
Host, Origin and the token are checked before any handler; the browser names no path.

The watcher is given the checker's core in-process (no child process per check)."""

import os

import pytest
from cli_run import assert_user_error
from starlette.testclient import TestClient

from nnscratch.lab.practice import EXERCISES
from nnscratch.lab.practice.compare import check
from nnscratch.lab.practice.observe import load_text, observe
from nnscratch.lab.practice.web import Watcher, create_app

PORT, TOKEN = 8765, "secret-token"
BASE = f"http://127.0.0.1:{PORT}"


def in_process(path):
    module = load_text(path.read_text(), str(path))
    ex = EXERCISES[module.EXERCISE]
    return check(ex, observe(ex, module, str(path))).to_dict()


@pytest.fixture
def served(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(EXERCISES["forward"].template)
    watcher = Watcher(path, in_process).start()
    client = TestClient(create_app(watcher, "127.0.0.1", PORT, TOKEN), base_url=BASE)
    yield path, watcher, client
    watcher.stop()


def test_the_page_shows_the_check_and_rechecks_on_save(served):
    path, watcher, client = served
    assert watcher.wait(0, timeout=600)  # a hang guard: the event is the re-check
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "nnscratch practice" in page.text
    state = client.get(f"/api/report?token={TOKEN}").json()
    assert state["file"] == "mine.py" and str(path) not in str(state)
    assert state["report"]["passed"] is False
    assert state["report"]["mistakes"][0]["id"] == "not-written"
    version = state["version"]
    text = path.read_text().replace("raise NotImplementedError", "return x @ w.T + b")
    path.write_text(text)
    os.utime(path, ns=(1, 10**18))  # a new modification time, whatever the clock's resolution
    assert watcher.wait(version, timeout=600)  # a hang guard: the event is the re-check
    state = client.get(f"/api/report?token={TOKEN}").json()
    assert state["version"] > version and state["report"]["passed"] is True


def test_host_origin_and_token_are_checked_before_any_handler(served):
    _, _, client = served
    assert client.get("/api/report").status_code == 403  # no token
    assert client.get("/api/report?token=wrong").status_code == 403
    ok = f"/api/report?token={TOKEN}"
    assert client.get(ok).status_code == 200
    assert client.get(ok, headers={"host": f"evil.example:{PORT}"}).status_code == 403
    assert client.get(ok, headers={"host": "127.0.0.1:1"}).status_code == 403
    assert client.get(ok, headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get(ok, headers={"origin": BASE}).status_code == 200
    assert client.get(f"/?token={TOKEN}&path=/etc/passwd").status_code == 200  # ignored
    assert client.post(ok).status_code in (403, 405)


def test_a_missing_file_is_a_usage_error(tmp_path):
    assert_user_error(["lab", "--practice", tmp_path / "none.py"], "no such file")
