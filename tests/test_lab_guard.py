"""The lab refuses to be driven by another web page: through the REAL server (uvicorn on a
loopback port), a foreign Host (DNS rebinding), a foreign or ``null`` Origin, a text/plain POST,
a WebSocket from another origin and a wrong or non-ASCII token are each refused, and the run
the tab set up is untouched. Nothing here makes the server log a traceback.
"""

from __future__ import annotations

import json
import socket

import pytest
from served import no_traceback, serving

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
from websockets.sync.client import connect  # noqa: E402

from nnscratch.lab.live.server import Lab, create_app  # noqa: E402


@pytest.fixture(scope="module")
def server():
    lab = Lab(max_runs=16)  # a closed tab's slot is freed asynchronously: never the limit here
    with serving(create_app(lab), lab.host, lab.port, ws="websockets-sansio"):
        yield lab
    lab.close()


@pytest.fixture(autouse=True)
def quiet(caplog):
    """The server never logs an exception (an aborted upload, a bad token, ...)."""
    with no_traceback(caplog):
        yield


def own(lab):
    return f"http://127.0.0.1:{lab.port}"


def handshake(lab, path, headers=()):
    """The HTTP status a WebSocket handshake gets (101: accepted)."""
    request = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{lab.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *headers,
    ]
    with socket.create_connection(("127.0.0.1", lab.port), timeout=600) as s:
        s.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        return int(s.recv(4096).split()[1])


@pytest.fixture
def tab(server):
    """A tab opened as the browser opens it: its session, set up with a paused run."""
    lab = server
    url = f"ws://127.0.0.1:{lab.port}/ws?token={lab.token}"
    with connect(url, origin=own(lab)) as ws, httpx.Client(base_url=own(lab), timeout=600) as http:
        sid = json.loads(ws.recv(timeout=600))["session"]  # the first message: hello
        assert http.get(f"/?token={lab.token}").status_code == 200  # the cookie
        r = http.post(
            f"/api/session/{sid}/settings", json={"epochs": 3}, headers={"Origin": own(lab)}
        )
        assert r.status_code == 200, r.text
        yield lab, sid, http


def untouched(lab, sid):
    s = lab.sessions[sid]
    return s.runs == 1 and s.run.state == "ready" and s.config.epochs == 3


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ({"Origin": "http://attacker.example"}, 403, "origin"),
        ({"Origin": "http://127.0.0.1:1"}, 403, "origin"),  # another local server
        ({"Origin": "null"}, 403, "origin"),
        ({"Host": "attacker.example:{port}"}, 403, "host"),  # DNS rebinding
        ({"Content-Type": "text/plain"}, 415, "body"),  # a "simple" cross-site request
    ],
    ids=["foreign-origin", "other-port", "origin-null", "foreign-host", "text-plain"],
)
def test_requests_from_another_page_are_refused(tab, headers, status, field):
    lab, sid, http = tab
    headers = {k: v.format(port=lab.port) for k, v in headers.items()}
    body = b'{"epochs": 50, "lr": 5}'
    post = {"Content-Type": "application/json", "Origin": own(lab)} | headers
    r = http.post(f"/api/session/{sid}/settings", content=body, headers=post)
    assert r.status_code == status and r.json()["field"] == field, r.text
    upload = http.post(f"/api/session/{sid}/upload?name=x.csv", content=b"a,b\n", headers=post)
    assert upload.status_code == status and not lab.sessions[sid].upload_path.exists()
    assert untouched(lab, sid)
    if field == "host":  # nothing can be read back either
        assert http.get(f"/api/options?token={lab.token}", headers=headers).status_code == 403


def test_without_the_token_nothing_answers(server):
    lab = server
    with httpx.Client(base_url=own(lab), timeout=600) as http:  # no cookie
        assert http.get("/").status_code == 403
        assert http.get("/api/options?token=wrong").status_code == 403
        assert http.get("/?token=%C3%A9").status_code == 403  # non-ASCII: refused, not a 500
        assert http.get("/?token=%FF%00").status_code == 403
        assert http.get(f"/?token={lab.token}").status_code == 200


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("?token={token}", ("Origin: http://127.0.0.1:{port}",), 101),
        ("?token={token}", ("Origin: http://attacker.example",), 403),
        ("?token={token}", ("Origin: null",), 403),
        ("?token=%C3%A9", ("Origin: http://127.0.0.1:{port}",), 403),
        ("", ("Origin: http://127.0.0.1:{port}",), 403),
    ],
    ids=["own", "foreign-origin", "origin-null", "non-ascii-token", "no-token"],
)
def test_a_socket_from_another_page_is_refused(server, query, headers, status):
    lab = server
    before = set(lab.sessions)
    path = "/ws" + query.format(token=lab.token)
    assert handshake(lab, path, [h.format(port=lab.port) for h in headers]) == status
    if status != 101:
        assert set(lab.sessions) <= before  # no tab was opened


def test_an_aborted_upload_is_answered_not_raised(tab):
    """The tab goes away in the middle of an upload: the handler answers (nothing raised for
    uvicorn to log as a traceback) and stores nothing. Driven at the ASGI level, where the
    disconnect comes exactly after the first chunk."""
    import asyncio

    lab, sid, _ = tab
    app = create_app(lab)
    messages = [
        {"type": "http.request", "body": b"a,b\n1,2\n", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/api/session/{sid}/upload",
        "raw_path": f"/api/session/{sid}/upload".encode(),
        "query_string": f"name=a.csv&token={lab.token}".encode(),
        "headers": [
            (b"host", f"127.0.0.1:{lab.port}".encode()),
            (b"content-type", b"text/csv"),
            (b"content-length", b"100000"),
        ],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", lab.port),
        "client": ("127.0.0.1", 5555),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert not lab.sessions[sid].upload_path.exists()
