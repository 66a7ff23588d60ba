"""A real server for the tests: the app under uvicorn on a loopback port, in a thread."""

from __future__ import annotations

import contextlib
import logging
import threading
import time


@contextlib.contextmanager
def serving(app, host: str, port: int, **options):
    """Serve ``app`` on ``host:port`` until the block ends; uvicorn's records reach the root
    logger (``log_config=None``), so a test sees a logged traceback."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(12_000):  # bounded: 600 s, a hang guard far above a busy machine's start
        if server.started or not thread.is_alive():
            break
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def no_traceback(caplog):
    """The block's server logs no exception (a bad token, an aborted upload, ...)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
