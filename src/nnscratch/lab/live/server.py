"""The lab's web server: a thin Starlette app over `Session` (one per tab), served by uvicorn.

    GET  /                          the page (static files from the installed package)
    GET  /api/options               the choices the page offers (the config's own lists)
    WS   /ws                        one tab: {"type": "hello", "session"} then frames; controls in
    POST /api/session/ID/settings   JSON settings → 200 {scene, config, command} | 400 {error, field}
    POST /api/session/ID/upload     a CSV as the request body (size-limited, parsed, never run)
    GET  /api/session/ID/command    the `nnscratch train ...` line of the current run
    GET  /api/session/ID/download   the run folder (the `train --out` format) as a zip
    GET  /api/session/ID/export     the run as a standalone PyTorch script (?style=raw or nn)

Every request passes `guard.Guard` first (Host, Origin, the per-start token); a body must say
its type (``application/json``, ``text/csv``). Closing the tab closes its socket, which stops
its run and deletes its folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import secrets
import tempfile
import threading
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from nnscratch.errors import UserError
from nnscratch.lab.live.guard import Guard
from nnscratch.lab.live.session import ENDED, RATE, Session
from nnscratch.lab.live.settings import SettingError, field_of, parse
from nnscratch.run.checkpoint import is_run

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 2 * 1024 * 1024  # bytes: a CSV larger than this is refused (413)
MAX_RUNS = 4  # tabs training at once
COMMANDS = ("play", "pause", "step", "phase", "reset", "stop", "speed")
MAX_RECORDS_PER_FRAME = 2000
PRIVATE = (".nnscratch.lock",)  # in the run folder, but not the user's: left out of the zip


def error(message: str, field: str | None = None, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


class Lab:
    """The server's state: where it listens, its token, the open sessions, the limits."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        max_runs: int = MAX_RUNS,
        rate: float = RATE,
        max_upload: int = MAX_UPLOAD,
        watch: Any = None,
    ) -> None:
        from nnscratch.run.cli.commands.lab import free_port

        self.host, self.port = host, port or free_port(host)
        self.token = token or secrets.token_urlsafe(24)  # a new one at every start
        self.max_runs, self.rate, self.max_upload = max_runs, rate, max_upload
        self.sessions: dict[str, Session] = {}
        self.root = Path(tempfile.mkdtemp(prefix="nnscratch-lab-"))
        self.watch = watch  # a read-only `Feed` for `train --live`, or None

    @property
    def url(self) -> str:
        """The page's address, with the token: the one URL that opens it."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def session(self, sid: str) -> Session | None:
        return self.sessions.get(sid)

    def close(self) -> None:
        for s in list(self.sessions.values()):
            s.close()
        self.sessions.clear()


def body_type(request: Request, expected: str) -> JSONResponse | None:
    """415 unless the body says it is ``expected``: a foreign page cannot send a JSON or CSV
    body without a CORS preflight (which the lab never grants), only text/plain or a form."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        return error(f"send the body as {expected} (got {given[:60] or 'no type'})", "body", 415)
    return None


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def options() -> dict[str, Any]:
    from nnscratch.data.datasets import BUILTINS
    from nnscratch.lab.live.pitfalls import SWITCHES, describe
    from nnscratch.run import config

    return {
        "data": ["synthetic"] + [f"builtin:{n}" for n in BUILTINS if n != "synthetic"] + ["upload"],
        "models": list(config.MODELS),
        "losses": list(config.LOSS_NAMES),
        "optimizers": list(config.OPTIMIZERS),
        "backwards": list(config.BACKWARDS),
        "schedulers": list(config.SCHEDULERS),
        "activations": list(config.ACTIVATION_NAMES),
        "pitfalls": {n: describe(n) for n in SWITCHES},
        "csv": csv_options(),
        "defaults": asdict(config.TrainConfig()),
        "rate": RATE,
    }


def csv_options() -> dict[str, list[list[str]]]:
    """The upload's CSV options as ``[value, shown]`` pairs, from the CLI's own definitions:
    ``--delimiter`` (``""``: detect), ``--decimal`` and ``--missing`` (`TrainConfig`'s choices)."""
    from dataclasses import fields

    from nnscratch.data.delimiter import CANDIDATES, shown
    from nnscratch.run.config import TrainConfig

    choices = {f.name: f.metadata.get("choices", ()) for f in fields(TrainConfig)}
    return {
        "delimiter": [["", "detect"]] + [[c, shown(c).strip("'")] for c in CANDIDATES],
        "decimal": [[c, c] for c in choices["decimal"]],
        "missing": [[c, c] for c in choices["missing"]],
    }


def create_app(lab: Lab) -> Starlette:
    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def favicon(request: Request) -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    async def get_options(request: Request) -> Response:
        return JSONResponse(options() | {"watch": lab.watch is not None})

    def find(request: Request) -> Session | JSONResponse:
        s = lab.session(request.path_params["sid"])
        return s if s is not None else error("no such session (reload the page)", "session", 404)

    async def settings(request: Request) -> Response:
        s = find(request)
        if isinstance(s, JSONResponse):
            return s
        refused = body_type(request, "application/json")
        if refused is not None:
            return refused
        raw = await request.body()
        if len(raw) > 64 * 1024:
            return error("the settings are larger than 64 KiB", "settings", 413)
        try:
            body = json.loads(raw, parse_constant=no_constant)  # no NaN, no Infinity
        except (ValueError, UnicodeDecodeError, RecursionError):
            return error('the body must be JSON: {"field": value, ...}', "settings")
        try:
            config, extra = parse(body, has_upload=s.upload_path.exists())
            async with s.busy:  # one configuration at a time per tab
                data = await run_in_threadpool(s.configure, config, extra)
        except SettingError as e:
            return JSONResponse(e.to_dict(), status_code=400)
        except UserError as e:
            message = str(e).replace(str(s.upload_path), s.upload_name or "upload.csv")
            return error(message, field_of(message))
        from nnscratch.lab.live import pitfalls, views

        read = data.train.extra
        said = [  # the CSV reader's warnings and notes, as `train` prints them
            str(m).replace(str(s.upload_path), s.upload_name or "upload.csv")
            for m in [*read.get("warnings", ()), *read.get("notes", ())]
        ]
        return JSONResponse(
            {
                "scene": views.scene(data),
                "config": asdict(data.config) | {"data": body.get("data", "synthetic")},
                "command": s.command(),
                "run": s.runs,
                "applied": s.applied,
                "pitfall": pitfalls.describe(extra["pitfall"]),
                "warnings": said,
            }
        )

    async def upload(request: Request) -> Response:
        s = find(request)
        if isinstance(s, JSONResponse):
            return s
        name = Path(request.query_params.get("name", "upload.csv")).name[:100] or "upload.csv"
        if not name.lower().endswith(".csv"):
            return error(f"{name}: upload a .csv file (a text table with a header row)", "file")
        refused = body_type(request, "text/csv")
        if refused is not None:
            return refused
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > lab.max_upload:
                    return error(
                        f"{name}: larger than {lab.max_upload // 1024} KiB; upload a smaller CSV",
                        "file",
                        413,
                    )
        except ClientDisconnect:  # the tab went away mid-upload: nothing stored, nothing logged
            return error(f"{name}: the upload was interrupted", "file")
        s.upload_path.write_bytes(bytes(body))  # stored as data, read by the CSV reader only
        s.upload_name = name
        return JSONResponse({"name": name, "bytes": len(body)})

    async def command(request: Request) -> Response:
        s = find(request)
        if isinstance(s, JSONResponse):
            return s
        if s.data is None:
            return error("no run yet: apply settings first", "session")
        return PlainTextResponse(s.command())

    async def download(request: Request) -> Response:
        s = find(request)
        if isinstance(s, JSONResponse):
            return s
        run = s.run
        if run is None or run.state not in ENDED or not is_run(run.folder):
            return error(
                "the run folder exists once the run has ended: press stop first", "run", 409
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(run.folder.rglob("*")):
                if path.is_file() and not path.is_symlink() and path.name not in PRIVATE:
                    z.write(path, Path("nnscratch-run") / path.relative_to(run.folder))
        headers = {"Content-Disposition": 'attachment; filename="nnscratch-run.zip"'}
        return Response(buffer.getvalue(), media_type="application/zip", headers=headers)

    async def export(request: Request) -> Response:
        """The run as a standalone PyTorch script (`nnscratch.lab.export`), raw or nn style."""
        s = find(request)
        if isinstance(s, JSONResponse):
            return s
        from nnscratch.lab.export import STYLES, export_script

        style = request.query_params.get("style", "raw")
        if style not in STYLES:
            return error(f"style must be one of {', '.join(STYLES)}", "style")
        run = s.run
        if run is None or run.state not in ENDED or not is_run(run.folder):
            return error("the script exists once the run has ended: press stop first", "run", 409)
        # an uploaded file's path dies with the tab: the script looks beside itself for the
        # file under its own name (and takes --data FILE)
        uploaded = s.config is not None and s.config.data == str(s.upload_path)
        beside = s.upload_name or "upload.csv" if uploaded else None
        try:
            script = await run_in_threadpool(export_script, run.folder, style, beside)
        except UserError as e:
            return error(str(e).replace(str(run.folder), "the run"), "run")
        headers = {"Content-Disposition": f'attachment; filename="train_{style}.py"'}
        return Response(script, media_type="text/x-python; charset=utf-8", headers=headers)

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if lab.watch is not None:
            await lab.watch.serve(ws)
            return
        if len(lab.sessions) >= lab.max_runs:
            await ws.send_json(
                {
                    "type": "refused",
                    "message": f"the lab runs at most {lab.max_runs} runs at once and all are "
                    "in use: close another lab tab, then reload this one",
                }
            )
            await ws.close(code=1013)
            return
        sid = secrets.token_urlsafe(12)
        s = lab.sessions[sid] = Session(sid, lab.root, lab.rate)
        s.busy = asyncio.Lock()
        await ws.send_json({"type": "hello", "session": sid})
        sender = asyncio.create_task(stream(ws, s, lab.rate))
        try:
            while True:
                await receive(ws, s)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            lab.sessions.pop(sid, None)
            await run_in_threadpool(s.close)

    async def receive(ws: WebSocket, s: Session) -> None:
        received = await ws.receive()
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(received.get("code", 1000))
        try:
            message = json.loads(received.get("text") or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await ws.send_json(
                {
                    "type": "error",
                    "field": "message",
                    "error": 'a message is JSON like {"type": "play"}',
                }
            )
            return
        if kind not in COMMANDS:
            await ws.send_json(
                {
                    "type": "error",
                    "field": "type",
                    "error": f"unknown message type {str(kind)[:40]!r}; use one of {', '.join(COMMANDS)}",
                }
            )
            return
        if s.run is None:
            await ws.send_json(
                {"type": "error", "field": "settings", "error": "apply settings first"}
            )
            return
        if kind == "speed":
            value = message.get("value")
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1000
            ):
                await ws.send_json(
                    {
                        "type": "error",
                        "field": "speed",
                        "error": "speed must be epochs per second in [0, 1000] (0: fastest)",
                    }
                )
                return
            s.lab["speed"] = float(value)
            s.run.speed = float(value)
        elif kind == "reset":
            await run_in_threadpool(s.restart)
        elif s.run.state in ENDED:
            await ws.send_json(
                {
                    "type": "error",
                    "field": "type",
                    "error": f"the run has ended ({s.run.state}): press reset for a new one",
                }
            )
        else:
            s.run.send(kind)

    async def stream(ws: WebSocket, s: Session, rate: float) -> None:
        """At most ``rate`` messages a second: the newest frame and the records not yet sent."""
        run, version, sent = None, -1, 0
        while True:
            await asyncio.sleep(1.0 / rate)
            if s.run is None:
                continue
            if s.run is not run:
                run, version, sent = s.run, -1, 0
            if run.version == version and len(run.records) == sent:
                continue
            version = run.version
            records = run.records[sent : sent + MAX_RECORDS_PER_FRAME]
            sent += len(records)
            frame = run.frame or {}
            await ws.send_json(
                {"type": "frame", "run": s.runs, "applied": s.applied, "records": records, **frame}
            )

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/options", get_options),
        Route("/api/session/{sid}/settings", settings, methods=["POST"]),
        Route("/api/session/{sid}/upload", upload, methods=["POST"]),
        Route("/api/session/{sid}/command", command),
        Route("/api/session/{sid}/download", download),
        Route("/api/session/{sid}/export", export),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if lab.watch is None:  # the budget's first estimate, ready before the first tab
            from nnscratch.lab.live import budget

            threading.Thread(target=budget.warm, daemon=True, name="nnscratch-lab-warm").start()
        yield
        lab.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, host=lab.host, port=lab.port, token=lab.token)
    return app
