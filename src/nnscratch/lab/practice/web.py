"""``nnscratch lab --practice FILE``: a page showing the check of one exercise file, re-checked
each time the file is saved.

    GET /                  the page (inline HTML and JS: offline, nothing to install)
    GET /api/report        {"version", "file", "running", "report" | "error"}: the latest check

The file is named on the command line only; the browser never names a path, and a request never
starts work: a watcher thread stats the file twice a second and re-checks it when its size or
modification time changes (`nnscratch.lab.practice.session.check_path`: the same limited child
process as ``practice check``). Every request passes the live lab's guard first
(`nnscratch.lab.live.guard.Guard`): the token printed at start, a Host this server answers to
(its names, its port) and, when the browser sends one, its own Origin.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnscratch.errors import UserError

POLL = 0.5  # seconds between two looks at the file's size and modification time


def default_check(path: Path) -> dict[str, Any]:
    from nnscratch.lab.practice.session import check_path

    return check_path(path).to_dict()


class Watcher:
    """The file's latest check, redone when the file changes (a daemon thread)."""

    def __init__(self, path: str | Path, check: Callable[[Path], dict] = default_check) -> None:
        self.path, self.check = Path(path), check
        self.version, self.state = 0, {"running": True}
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="practice-watch", daemon=True)

    def start(self) -> Watcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def signature(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def loop(self) -> None:
        seen: Any = ()
        while not self.stopping.is_set():
            now = self.signature()
            if now != seen:
                seen = now
                self.publish(self.run())
            self.stopping.wait(POLL)

    def run(self) -> dict[str, Any]:
        if self.signature() is None:
            return {"error": f"{self.path.name}: not found; save the file to check it"}
        try:
            state = {"report": self.check(self.path)}
        except UserError as e:
            state = {"error": str(e)}
        return self.named(state)

    def named(self, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` with the file's full path (in a message, a traceback) as its name only."""
        full = json.dumps(str(self.path))[1:-1]
        return json.loads(json.dumps(state).replace(full, json.dumps(self.path.name)[1:-1]))

    def publish(self, state: dict[str, Any]) -> None:
        with self.changed:
            self.version += 1
            self.state = {"running": False, **state}
            self.changed.notify_all()

    def wait(self, version: int, timeout: float) -> bool:
        """Block until a check newer than ``version`` is published (or ``timeout``)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.version > version, timeout)

    def snapshot(self) -> dict[str, Any]:
        with self.changed:
            return {"version": self.version, "file": self.path.name, **self.state}


def create_app(watcher: Watcher, host: str, port: int, token: str) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    from nnscratch.lab.live.guard import Guard

    async def index(request) -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})

    async def report(request) -> JSONResponse:
        return JSONResponse(watcher.snapshot(), headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/", index), Route("/api/report", report)])
    app.add_middleware(Guard, host=host, port=port, token=token)
    return app


def serve(path: str | Path, host: str, port: int | None, open_browser: bool) -> None:
    """Watch ``path`` and serve its page until Ctrl-C, printing the URL with its token."""
    import secrets
    import webbrowser

    import click
    import uvicorn

    from nnscratch.lab.practice.runner import check_file
    from nnscratch.run.cli.commands.lab import free_port

    path = check_file(path)
    port = port or free_port(host)
    token = secrets.token_urlsafe(24)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/?token={token}"
    watcher = Watcher(path).start()
    click.echo(f"practice view of {path.name}: {url}  (re-checked on save; Ctrl-C to stop)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(
            create_app(watcher, host, port, token), host=host, port=port, log_level="warning"
        )
    finally:
        watcher.stop()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nnscratch practice</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 span { font-weight: normal; color: #666; }
.passed { color: #176f2c; } .wrong { color: #b3261e; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { padding: .2em .8em; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-family: monospace; }
.mistake { border-left: 4px solid #b3261e; padding: .3em .8em; margin: .8em 0; background: #fdf3f2; }
pre { background: #f4f4f4; padding: .8em; overflow-x: auto; }
</style></head><body>
<h1>nnscratch practice <span id="file"></span></h1>
<p id="status">checking…</p>
<table id="table" hidden><thead><tr><th>quantity</th><th>shape</th><th>result</th>
<th>max diff</th><th>tolerance</th></tr></thead><tbody></tbody></table>
<div id="mistakes"></div><pre id="traceback" hidden></pre>
<script>
const token = new URLSearchParams(location.search).get("token") || "";
let version = -1;
const el = (tag, text, cls) => { const e = document.createElement(tag);
  e.textContent = text; if (cls) e.className = cls; return e; };
const num = x => x === null || x === undefined ? "-" : (x === 0 ? "0" : x.toExponential(2));
function show(s) {
  document.getElementById("file").textContent = s.file;
  const status = document.getElementById("status"), body = document.querySelector("tbody");
  const table = document.getElementById("table"), mistakes = document.getElementById("mistakes");
  const tb = document.getElementById("traceback");
  body.replaceChildren(); mistakes.replaceChildren(); tb.hidden = true;
  if (s.running) { status.textContent = "checking…"; table.hidden = true; return; }
  if (s.error) { status.replaceChildren(el("b", s.error, "wrong")); table.hidden = true; return; }
  const r = s.report;
  status.replaceChildren(el("b", (r.exercise || "the file") + ": " +
    (r.passed ? "passed" : "wrong"), r.passed ? "passed" : "wrong"),
    el("span", "  (check " + s.version + ", re-checked when the file is saved)"));
  for (const c of r.checks) {
    const tr = document.createElement("tr");
    tr.append(el("td", c.name), el("td", c.shape), el("td", c.result, c.passed ? "passed" : "wrong"),
      el("td", num(c.max_diff), "num"), el("td", num(c.tolerance), "num"));
    body.append(tr);
  }
  table.hidden = r.checks.length === 0;
  for (const m of r.mistakes) {
    const d = el("div", "", "mistake");
    d.append(el("b", "mistake " + m.id + (m.line ? " (line " + m.line + ")" : "") + ": "),
      el("span", m.why), document.createElement("br"), el("i", "hint: " + m.hint));
    mistakes.append(d);
  }
  if (r.error && r.error.traceback) { tb.textContent = r.error.traceback; tb.hidden = false; }
}
async function poll() {
  try {
    const res = await fetch("api/report?token=" + encodeURIComponent(token));
    const s = await res.json();
    if (!res.ok) document.getElementById("status").textContent = s.error;
    else if (s.version !== version || s.running) { version = s.version; show(s); }
  } catch (e) { document.getElementById("status").textContent = "the server stopped"; }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""
