"""``nnscratch lab``: the live lab, a local web page that trains and shows every step."""

from __future__ import annotations

import click


def free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(lab, open_browser: bool, what: str = "the lab") -> None:
    """Run uvicorn on the lab's host and port until Ctrl-C, printing its URL (with its token)."""
    import threading
    import webbrowser

    import uvicorn

    from nnscratch.lab.live.server import create_app

    click.echo(f"{what}: {lab.url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(lab.url,)).start()
    uvicorn.run(
        create_app(lab), host=lab.host, port=lab.port, log_level="warning", ws="websockets-sansio"
    )


@click.command(
    help="Start the live lab: a local web page that trains with the five-step loop (the same "
    "run as `nnscratch train`) and draws the data, the prediction, the network and the curves "
    "as they change. Pause, step through forward/loss/backward/update/reset, switch on a "
    "pitfall, upload a CSV, copy the run as a command."
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="port (default: a free one)")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="address to listen on (the printed URL carries a token: open that one)",
)
@click.option("--open", "open_browser", is_flag=True, help="open the page in the default browser")
@click.option(
    "--max-runs",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="tabs that may train at once",
)
@click.option(
    "--practice",
    "practice",
    type=click.Path(dir_okay=False),
    default=None,
    help="instead: show the check of this exercise file, re-checked on save",
)
def command(port: int, host: str, open_browser: bool, max_runs: int, practice: str | None) -> None:
    if practice is not None:  # the practice view: its own page (nnscratch.lab.practice.web)
        from nnscratch.lab.practice.web import serve as serve_practice

        return serve_practice(practice, host, port or None, open_browser)
    from nnscratch.lab.live.server import Lab

    lab = Lab(host=host, port=port, max_runs=max_runs)  # a new token at every start
    try:
        serve(lab, open_browser)
    finally:
        lab.close()
