"""``nnscratch explain``: a few steps of the five-step loop, with every number shown."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from nnscratch.cli.options import config_from_options, config_options
from nnscratch.config import TrainConfig
from nnscratch.errors import UserError


@dataclass
class ExplainConfig(TrainConfig):
    """`TrainConfig` with a data set small enough to print: 8 samples."""

    n_samples: int = field(default=8, metadata={"help": "number of synthetic samples"})


# What explain can run today: the seed's setup (linear regression on synthetic data, MSE, SGD).
USED = ("n_samples", "features", "noise", "lr", "seed", "dtype")
SGD_OPTIONS = (
    "momentum",
    "dampening",
    "weight_decay",
    "nesterov",
)  # passed on when the config has them
SEED_CHOICES = {
    "data": ("synthetic",),
    "task": ("auto", "regression"),
    "model": ("linear",),
    "loss": ("mse",),
    "optimizer": ("sgd",),
}


def check_supported(ctx: click.Context, options: dict[str, Any]) -> None:
    """Refuse flags the seed's setup cannot honour, rather than ignore them."""
    for name, value in options.items():
        if ctx.get_parameter_source(name) in (None, click.core.ParameterSource.DEFAULT):
            continue
        flag = "--" + name.replace("_", "-")
        if name == "epochs":
            raise UserError("explain runs a few steps, not epochs: use --steps N")
        if name in USED or name in SGD_OPTIONS or value in SEED_CHOICES.get(name, ()):
            continue
        raise UserError(
            f"explain shows the seed's setup (linear regression on synthetic data, MSE, SGD); "
            f"{flag} {value} is not supported here yet (use `nnscratch train {flag} {value}`)"
        )


def build(config: ExplainConfig):  # -> (model, X, y, loss_fn, optimizer)
    """The seed's model, data, loss and optimizer, created in the same order as `nnscratch train`."""
    import torch

    from nnscratch.data.synthetic import make_regression
    from nnscratch.losses import mse_loss
    from nnscratch.models import LinearRegression
    from nnscratch.optim import SGD

    dtype = getattr(torch, config.dtype)
    torch.manual_seed(config.seed)
    data = make_regression(config.n_samples, config.features, config.noise, config.seed, dtype)
    model = LinearRegression(config.features, dtype=dtype)
    sgd = {k: getattr(config, k) for k in SGD_OPTIONS if hasattr(config, k)}
    lr = config.lr if config.lr is not None else 0.1  # the seed's learning rate
    try:
        optimizer = SGD(model.parameters(), lr=lr, **sgd)
    except ValueError as e:
        raise UserError(str(e)) from None
    return model, data.X, data.y, mse_loss, optimizer


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
    check_supported(ctx, options)
    config = config_from_options(ExplainConfig, options).validate()
    from nnscratch.explain import render_text, trace

    model, X, y, loss_fn, optimizer = build(config)
    records = trace(model, X, y, loss_fn, optimizer, steps, set_to_none=set_to_none)
    if as_json:
        click.echo(json.dumps(records))
        return
    header = (
        f"{model!r} · {loss_fn.__name__} · {type(optimizer).__name__}"
        f"(lr={optimizer.param_groups[0]['lr']:g}) · {X.shape[0]} samples × {X.shape[1]} "
        f"feature(s), {config.dtype}, seed {config.seed}"
    )
    color = sys.stdout.isatty()
    click.echo(render_text(records, color=color, header=header), color=color)


for _param in command.params:  # explain counts steps; the config's --epochs does not apply
    if _param.name == "epochs":
        _param.hidden = True
