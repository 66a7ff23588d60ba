"""``nnscratch health RUN``: the health table of a ``--health`` run and the causes it shows."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command(
    help="Read a run trained with --health --out RUN: per layer, the activations at the start "
    "and end and the gradient and update ratios; then the findings (saturated, dead-units, "
    "vanishing/exploding-gradients, update-ratio-high/low, initial-loss), the worst first, "
    "each with the flag to try."
)
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def command(run: Path, as_json: bool) -> None:
    from nnscratch.health import report

    records, initial = report.read(run)
    result = report.build(records, initial)
    if as_json:
        click.echo(json.dumps(result))
        return
    for line in report.lines(result):
        click.echo(line)
