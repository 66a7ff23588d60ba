"""``nnscratch train``: the main job."""

from __future__ import annotations

import json
from typing import Any

import click

from nnscratch.cli.options import config_from_options, config_options
from nnscratch.config import TrainConfig


@click.command(
    help="Train with the hand-written five-step loop (forward, loss, backward, "
    "update, reset) and report the result. With no flags: the seed's linear "
    "regression on synthetic data."
)
@config_options(TrainConfig)
@click.option("--json", "as_json", is_flag=True, help="print a machine-readable summary only")
def command(as_json: bool, **options: Any) -> None:
    config = config_from_options(TrainConfig, options).validate()
    from nnscratch.report import print_training_report, progress_logger
    from nnscratch.train import prepare, run

    data = prepare(config)
    log = None if as_json else progress_logger(data.config.epochs)
    summary = run(data.config, log=log, data=data)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        print_training_report(summary)
