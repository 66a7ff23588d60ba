"""``nnscratch train --live``: the lab's page, read-only, for a run the command line drives.

The command line's own `train` call gets two extra hooks: ``on_build`` (the model, for the map
and the network) and a ``log`` that keeps each epoch's record before passing it on. Frames are
built in the training thread at most ``RATE`` times a second; every tab that opens the URL gets
the run from its start. Under ``torchrun`` only rank 0 serves the page.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from nnscratch.lab.live import views
from nnscratch.lab.live.session import RATE
from nnscratch.module import Module
from nnscratch.run.prepare import Prepared


class Feed:
    """The run's records and frames, for any number of read-only tabs."""

    def __init__(self, data: Prepared, command: str, rate: float = RATE) -> None:
        self.data, self.command, self.rate = data, command, rate
        self.scene = views.scene(data)
        self.records: list[dict[str, Any]] = []
        self.model: Module | None = None
        self.state, self.message = "running", None
        self.frame: dict[str, Any] = {"state": self.state}
        self.version, self._next = 0, 0.0

    def on_build(self, model: Module, optimizer: Any) -> None:
        self.model = model
        self._publish(force=True)

    def log(self, then: Callable[[dict[str, Any]], None] | None) -> Callable[[dict], None]:
        def log(record: dict[str, Any]) -> None:
            self.records.append(record)
            self._publish()
            if then is not None:
                then(record)

        return log

    def end(self, error: BaseException | None) -> None:
        self.state = "done" if error is None else "stopped"
        self.message = None if error is None else f"{type(error).__name__}: {error}"
        self._publish(force=True)

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now < self._next:
            return
        self._next = now + 1.0 / self.rate
        frame: dict[str, Any] = {"state": self.state, "message": self.message}
        if self.model is not None:
            if self.scene["kind"] in ("map", "curve"):
                frame["prediction"] = views.prediction(self.model, self.data, self._bounds())
            frame["network"] = views.network(self.model, None)
        self.frame = frame
        self.version += 1

    def _bounds(self) -> list[float]:
        return self.scene["bounds"]

    async def serve(self, ws: WebSocket) -> None:
        """One read-only tab: the scene, then frames; whatever it sends is answered, not run."""
        from dataclasses import asdict

        await ws.send_json(
            {
                "type": "watch",
                "scene": self.scene,
                "config": asdict(self.data.config),
                "command": self.command,
            }
        )
        sender = asyncio.create_task(self._stream(ws))
        try:
            while True:
                received = await ws.receive()
                if received["type"] == "websocket.disconnect":
                    break
                await ws.send_json(
                    {"type": "error", "field": "type", "error": "this page only watches the run"}
                )
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()

    async def _stream(self, ws: WebSocket) -> None:
        version, sent = -1, 0
        while True:
            await asyncio.sleep(1.0 / self.rate)
            if self.version == version and len(self.records) == sent:
                continue
            version = self.version
            records = self.records[sent : sent + 2000]
            sent += len(records)
            await ws.send_json({"type": "frame", "run": 1, "records": records, **self.frame})


def start(data: Prepared, command: str, host: str = "127.0.0.1") -> tuple[Feed, Callable]:
    """Serve a `Feed` of ``data``'s run on a free loopback port in a background thread; print
    the URL. Returns the feed and a function that stops the server."""
    import click
    import uvicorn

    from nnscratch.lab.live.server import Lab, create_app

    feed = Feed(data, command)
    lab = Lab(host=host, watch=feed)  # a free port, a new token
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(lab),
            host=host,
            port=lab.port,
            log_level="warning",
            ws="websockets-sansio",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True, name="nnscratch-live")
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    click.echo(f"live: {lab.url}  (read-only page of this run)", err=True)

    def stop(linger: float = 0.3) -> None:
        time.sleep(linger)  # the last frame reaches the open tabs
        server.should_exit = True
        thread.join(5)

    return feed, stop
