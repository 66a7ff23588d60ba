"""``nnscratch explain``: a few steps of the five-step loop, with every number shown."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from nnscratch.errors import UserError
from nnscratch.run.cli.options import config_from_options, config_options
from nnscratch.run.config import TrainConfig


@dataclass
class ExplainConfig(TrainConfig):
    """`TrainConfig` with a synthetic data set small enough to print: 8 samples."""

    n_samples: int = field(default=8, metadata={"help": "number of synthetic samples"})


# Config fields that describe a whole run, not a step; explain refuses them rather than ignore them.
REFUSED = {
    "epochs": "explain runs a few steps, not epochs: use --steps N",
    "batch_size": "explain steps on the whole training set (full batch); drop --batch-size",
    "scheduler": "schedulers change lr once per epoch, and explain shows single steps; "
    "drop --scheduler",
}


# Refused when on: explain computes each step eagerly to show its numbers (--no-compile is fine).
REFUSED_ON = {
    "compile": "explain computes each step eagerly to show every number; drop --compile "
    "(it fuses forward + loss for speed, not other numbers)",
}


def check_supported(ctx: click.Context) -> None:
    """Refuse flags explain cannot honour (see `REFUSED`, `REFUSED_ON`), rather than silently
    ignore them."""
    for name, message in REFUSED.items():
        if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT):
            raise UserError(message)
    for name, message in REFUSED_ON.items():
        if ctx.params.get(name):
            raise UserError(message)


def build(config: ExplainConfig):  # -> (model, X, y, loss_fn, optimizer, resolved config)
    """The run's training data, model, loss and optimizer, made as `nnscratch train` makes them."""
    import torch

    from nnscratch.run import build as factories
    from nnscratch.run.prepare import loss_target, prepare

    data = prepare(config)  # load, split, standardise; every default resolved
    for warning in data.train.extra.get("warnings", []):  # e.g. a header that may be metadata
        click.echo(f"warning: {warning}", err=True)
    config = data.config
    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    shape = data.train.extra.get("image_shape")  # (C, H, W) for a CNN, else None
    model = factories.build_model(
        config, data.train.n_features, data.out_features, dtype, config.device, shape
    )
    optimizer = factories.build_optimizer(config, model.parameters())
    loss_fn = factories.build_loss(config)
    from nnscratch.steps import check_supported

    check_supported(config.backward, model, loss_fn)  # step 3 as the run's, or one error line
    y = loss_target(data.train.y, config.loss, dtype)
    return model, data.train.X[:], y, loss_fn, optimizer, config  # [:]: on-disk rows too


@click.command(
    help="Run a few steps of the five-step loop (forward, loss, backward, update, reset) on a "
    "small data set and show every number: inputs, parameters, predictions, the loss, each "
    ".grad next to its hand-derived formula, old → new parameters and the reset."
)
@click.option(
    "--steps", type=click.IntRange(min=1), default=3, show_default=True, help="steps to show"
)
@click.option(
    "--set-to-none/--no-set-to-none",
    default=True,
    show_default=True,
    help="optimizer.zero_grad(set_to_none=...): .grad becomes None, or zeros in place",
)
@config_options(ExplainConfig)
@click.option("--json", "as_json", is_flag=True, help="print the step records as JSON")
@click.pass_context
def command(
    ctx: click.Context, steps: int, set_to_none: bool, as_json: bool, **options: Any
) -> None:
    check_supported(ctx)
    config = config_from_options(ExplainConfig, options).validate()
    from nnscratch.lab.explain import render_text, trace

    model, X, y, loss_fn, optimizer, config = build(config)
    records = trace(  # steps 1–3 as the run takes them (engine: every node shown)
        model, X, y, loss_fn, optimizer, steps, set_to_none=set_to_none, backward=config.backward
    )
    if as_json:
        click.echo(json.dumps(records))
        return
    header = (
        f"{model!r} · {config.loss} loss · {type(optimizer).__name__}"
        f"(lr={optimizer.param_groups[0]['lr']:g}) · {config.data}: {X.shape[0]} samples × "
        f"{X.shape[1]} feature(s), {config.dtype}, seed {config.seed}"
    )
    color = sys.stdout.isatty()
    click.echo(render_text(records, color=color, header=header), color=color)


for _param in command.params:  # explain counts steps, eagerly: --epochs, --compile do not apply
    if _param.name in ("epochs", "compile"):
        _param.hidden = True
