"""``nnscratch lr-find``: the learning-rate range test (`nnscratch.run.lr_find`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nnscratch.run.cli.options import config_from_options, config_options
from nnscratch.run.config import TrainConfig


@click.command(
    help="Find a learning rate: train a fresh model for at most 200 steps while the learning "
    "rate grows from 1e-7 to 10, and suggest a tenth of the one at the smallest smoothed loss. "
    "Takes train's data, model and optimizer flags."
)
@config_options(TrainConfig)
@click.option("--out", type=click.Path(path_type=Path), help="write lr_find.png in this folder")
@click.option("--overwrite", is_flag=True, help="let --out replace an lr_find.png there")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def command(out: Path | None, overwrite: bool, as_json: bool, **options: Any) -> None:
    from nnscratch.run import atomic
    from nnscratch.run.lr_find import FILE, lr_find, write_plot
    from nnscratch.run.prepare import prepare

    config = config_from_options(TrainConfig, options).validate()
    if out is not None:
        from nnscratch.run.checkpoint.folder import check_creatable

        check_creatable(out)
        if out.is_dir():  # a new folder holds nothing to overwrite
            atomic.check_target(out / FILE, overwrite=overwrite)
    data = prepare(config)
    result = lr_find(data)
    plot = None
    if out is not None and result["lrs"]:
        out.mkdir(parents=True, exist_ok=True)
        plot = write_plot(result, out)
    if as_json:
        click.echo(json.dumps(result | {"plot": None if plot is None else str(plot)}))
        return
    if result["suggestion"] is None:
        click.echo(f"no suggestion: {result['stopped']}")
        return
    n = len(result["lrs"])
    click.echo(
        f"{n} steps, lr {result['lrs'][0]:.1e} → {result['lrs'][-1]:.2g}: {result['stopped']}"
    )
    click.echo(f"smallest smoothed loss at lr {result['at_min']:.2g}")
    click.echo(
        f"suggested --lr {result['suggestion']:.2g} (with --optimizer {result['optimizer']})"
    )
    if plot is not None:
        click.echo(f"plot: {plot}")
