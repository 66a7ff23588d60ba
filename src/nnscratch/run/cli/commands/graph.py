"""``nnscratch graph``: draw the autograd graph of one forward pass and loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nnscratch.errors import UserError
from nnscratch.run.config import ACTIVATION_NAMES, BACKWARDS

FORMATS = ("text", "mermaid", "dot")
DRAWN = ("autograd", "engine")  # the backwards that record a graph to draw (manual: none)


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UserError(
            f"--hidden must be comma-separated integers like 8,8, got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise UserError(f"--hidden needs at least one size, all >= 1, got {text!r}")
    return sizes


def _format_for(out: Path | None, fmt: str | None) -> str:
    from nnscratch.lab.graph.output import IMAGE_SUFFIXES, TEXT_SUFFIXES

    if out is None or fmt is not None:
        if out is not None and out.suffix.lower() in IMAGE_SUFFIXES and fmt != "dot":
            raise UserError(f"{out.name} is an image: it is drawn from DOT, so use --format dot")
        named = None if out is None else TEXT_SUFFIXES.get(out.suffix.lower())
        if named is not None and named != fmt:
            raise UserError(
                f"--format {fmt} does not match {out.name}, a {named} file name; drop --format "
                f"or name the file {out.stem}{_suffix(fmt)}"
            )
        return fmt or "text"
    suffix = out.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "dot"
    if suffix not in TEXT_SUFFIXES:
        known = ", ".join([*TEXT_SUFFIXES, *IMAGE_SUFFIXES])
        raise UserError(f"cannot tell the format of {out.name}: use one of {known} or --format")
    return TEXT_SUFFIXES[suffix]


def _suffix(fmt: str) -> str:
    from nnscratch.lab.graph.output import TEXT_SUFFIXES

    return next(s for s, f in TEXT_SUFFIXES.items() if f == fmt)


@click.command(
    help="Draw the autograd graph of one forward pass and loss: operation nodes (grad_fn "
    "names) down to the parameters (AccumulateGrad leaves) with their values and gradients."
)
@click.option(
    "--model",
    type=click.Choice(["linear", "mlp", "cnn", "transformer"]),
    default="linear",
    show_default=True,
    help="the seed's linear regression, an MLP, or a tiny CNN / transformer",
)
@click.option("--hidden", default="8,8", show_default=True, help="MLP hidden sizes")
@click.option(
    "--activation",
    type=click.Choice(ACTIVATION_NAMES),
    default="relu",
    show_default=True,
    help="MLP activation",
)
@click.option("--n-features", "features", type=int, default=1, show_default=True,
              help="input features of the synthetic data")  # fmt: skip
@click.option("--samples", type=int, default=4, show_default=True, help="synthetic points")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="seed for the data and the parameters"
)
@click.option(
    "--backward",
    "engine",
    type=click.Choice(BACKWARDS),
    default="autograd",
    is_flag=False,
    flag_value="autograd",
    show_default=True,
    help="whose graph: torch.autograd's grad_fn nodes, or the graph nnscratch.autograd "
    "recorded (operations, shapes, the order backward visits them)",
)
@click.option("--no-backward", is_flag=True, help="draw the graph without running backward")
@click.option("--compile", "compiled", is_flag=True, hidden=True)  # train's flag, refused below
@click.option(
    "--max-values", type=int, default=10, show_default=True, help="show values of leaves this small"
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None, help="default: text, or from --out"
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
              default=None, help="write to FILE (.txt .dot .mmd; .svg .png need Graphviz; "
              "- : standard output)")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="let --out replace an existing file")
def command(
    model: str,
    hidden: str,
    activation: str,
    features: int,
    samples: int,
    seed: int,
    engine: str,
    no_backward: bool,
    compiled: bool,
    max_values: int,
    fmt: str | None,
    out: Path | None,
    overwrite: bool,
) -> None:
    if out is not None and str(out) == "-":
        out = None  # standard output: what no --out does
    if features < 1 or samples < 1:
        raise UserError(f"--n-features and --samples must be >= 1, got {features} and {samples}")
    if max_values < 0:
        raise UserError(f"--max-values must be >= 0, got {max_values}")
    if engine not in DRAWN:  # train's choices, so that a run's flag is understood here
        raise UserError(
            f"--backward {engine} records no graph (nnscratch.backprop applies each layer's "
            "rule by hand); draw --backward autograd (torch's nodes) or engine (nnscratch's)"
        )
    if compiled:  # train's flag, so that a run's flags are understood here
        raise UserError(
            "--compile: graph draws the nodes of one eager forward and loss (torch.compile "
            "would fuse them into one); drop --compile"
        )
    fmt = _format_for(out, fmt)
    sizes = _hidden_sizes(hidden) if model == "mlp" else []
    if out is not None:
        from nnscratch.run.atomic import check_target

        check_target(out, overwrite=overwrite)  # before any work; see nnscratch.run.atomic

    import torch

    from nnscratch.data import make_regression
    from nnscratch.lab.graph import build_graph, to_dot, to_mermaid, to_text
    from nnscratch.lab.graph.output import IMAGE_SUFFIXES, render_image
    from nnscratch.losses import mse_loss
    from nnscratch.models import LinearRegression
    from nnscratch.run.atomic import write_bytes

    torch.manual_seed(seed)
    if model in ("cnn", "transformer"):  # tiny ones, on random images / characters
        from nnscratch.lab.graph.examples import example_inputs

        net, loss_fn, X, y = example_inputs(model, samples, seed)
    elif model == "linear":
        net = LinearRegression(features)
    else:
        from nnscratch.models import MLP

        try:
            net = MLP(features, sizes, 1, activation=activation)
        except ValueError as e:
            raise UserError(str(e)) from None
    if model in ("linear", "mlp"):
        data = make_regression(n_samples=samples, features=features, seed=seed)
        loss_fn, X, y = mse_loss, data.X, data.y
    if engine == "engine":
        graph = _engine_graph(net, loss_fn, X, y, not no_backward)
    else:
        loss = loss_fn(net(X), y)  # forward + loss: this builds the graph
        if not no_backward:
            loss.backward()  # fills .grad of every leaf; the nodes stay walkable
        graph = build_graph(loss, net.named_parameters())
    render = {"text": to_text, "mermaid": to_mermaid, "dot": to_dot}[fmt]
    source = render(graph, max_values=max_values)
    if out is None:
        click.echo(source.rstrip("\n"))
    elif out.suffix.lower() in IMAGE_SUFFIXES:
        render_image(source, out)
        click.echo(f"wrote {out}")
    else:
        write_bytes(out, source.encode() if source.endswith("\n") else (source + "\n").encode())
        click.echo(f"wrote {out}")


def _engine_graph(net: Any, loss_fn: Any, X: Any, y: Any, backward: bool) -> Any:
    """The graph nnscratch.autograd records for the same forward pass and loss."""
    from nnscratch.autograd.graph import backward as engine_backward
    from nnscratch.autograd.model import forward_and_loss
    from nnscratch.lab.graph.engine import build_engine_graph

    loss, pairs = forward_and_loss(net, loss_fn, X, y)
    graph = build_engine_graph(loss, pairs, net.named_parameters())  # before: backward frees
    if backward:
        engine_backward(loss)
        for p, leaf in pairs:  # the leaves drawn are the real parameters
            p.grad = leaf.grad
    return graph
