"""``nnscratch verify``: the executable mapping table."""

from __future__ import annotations

import click


@click.command(
    help="Run every hand-written piece next to its PyTorch abstraction, from the same "
    "seed and data, and print the mapping table. Exit code 1 if any row fails."
)
def command() -> int:
    from nnscratch.lab.verify import run_all
    from nnscratch.lab.verify.table import render

    text, ok = render(run_all())
    click.echo(text)
    return 0 if ok else 1
