"""`nnscratch lab --practice FILE`: the page shows the file's check and re-checks it on save;
through the real server, the live lab's guard refuses a foreign Host or Origin, ``Origin: null``
and a missing, wrong or non-ASCII token before any handler; the browser names no path.

The watcher is given the checker's core in-process (no child process per check)."""

import os

import pytest
from cli_run import assert_user_error
from served import no_traceback, serving
from starlette.testclient import TestClient

from nnscratch.lab.practice import EXERCISES
from nnscratch.lab.practice.compare import check
from nnscratch.lab.practice.observe import load_text, observe
from nnscratch.lab.practice.web import Watcher, create_app
from nnscratch.run.cli.commands.lab import free_port

httpx = pytest.importorskip("httpx")

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


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The practice view under uvicorn on a free loopback port (the guard as a browser meets it)."""
    path = tmp_path_factory.mktemp("practice") / "mine.py"
    path.write_text(EXERCISES["forward"].template)
    watcher = Watcher(path, in_process).start()
    port = free_port("127.0.0.1")
    with serving(create_app(watcher, "127.0.0.1", port, TOKEN), "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}", port
    watcher.stop()


@pytest.fixture
def quiet(caplog):
    """The server never logs an exception (a bad token, a malformed header, ...)."""
    with no_traceback(caplog):
        yield


@pytest.mark.parametrize(
    ("query", "headers", "field"),
    [
        ("?token={token}", {"Origin": "http://attacker.example"}, "origin"),
        ("?token={token}", {"Origin": "http://127.0.0.1:1"}, "origin"),  # another local server
        ("?token={token}", {"Origin": "null"}, "origin"),  # a sandboxed frame, a file
        ("?token={token}", {"Host": "attacker.example:{port}"}, "host"),  # DNS rebinding
        ("?token={token}", {"Host": "127.0.0.1:1"}, "host"),
        ("", {}, "token"),
        ("?token=wrong", {}, "token"),
        ("?token=%C3%A9", {}, "token"),  # non-ASCII: refused, not a 500
        ("?token=%FF%00", {}, "token"),
    ],
    ids=[
        "foreign-origin", "other-port", "origin-null", "foreign-host", "host-port",
        "no-token", "wrong-token", "non-ascii-token", "bad-bytes-token",
    ],
)  # fmt: skip
def test_the_real_server_refuses_another_page(real, quiet, query, headers, field):
    base, port = real
    headers = {k: v.format(port=port) for k, v in headers.items()}
    for page in ("/", "/api/report"):
        r = httpx.get(base + page + query.format(token=TOKEN), headers=headers, timeout=600)
        assert r.status_code == 403 and r.json()["field"] == field, r.text
        assert "nnscratch practice" not in r.text and "report" not in r.json()


def test_the_real_server_serves_the_page_with_the_right_token(real, quiet):
    base, _ = real
    page = httpx.get(f"{base}/?token={TOKEN}&path=/etc/passwd", timeout=600)  # path: ignored
    assert page.status_code == 200 and "nnscratch practice" in page.text
    own = {"Origin": base}  # the page's own fetch, as the browser sends it
    state = httpx.get(f"{base}/api/report?token={TOKEN}", headers=own, timeout=600)
    assert state.status_code == 200 and state.json()["file"] == "mine.py"
    post = httpx.post(f"{base}/api/report?token={TOKEN}", headers=own, timeout=600)
    assert post.status_code == 405  # nothing to change


def test_a_missing_file_is_a_usage_error(tmp_path):
    assert_user_error(["lab", "--practice", tmp_path / "none.py"], "no such file")
