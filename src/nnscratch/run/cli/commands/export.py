"""``nnscratch export``: a saved run as a standalone PyTorch script (`nnscratch.lab.export`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    help="Write a saved run (train --out DIR) as one standalone PyTorch script that trains it "
    "again and reaches the same parameters: --style raw (default) writes every step by hand "
    "(leaf tensors, the update equations, DataLoader's order), --style nn the same run with "
    "nn.Module, torch.optim and DataLoader. The script imports torch (and scikit-learn for its "
    "built-in data sets), never nnscratch."
)
@click.argument("run", type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, allow_dash=True),
    help="the script to write, e.g. run.py (- : standard output)",
)
@click.option(
    "--style",
    type=click.Choice(["raw", "nn"]),
    default="raw",
    show_default=True,
    help="raw: by hand, as the seed; nn: with torch.nn and torch.optim",
)
@click.option("--overwrite", is_flag=True, help="let --out replace an existing file")
def command(run: Path, out: Path, style: str, overwrite: bool) -> None:
    from nnscratch.lab.export import write_script

    written = write_script(run, out, style, overwrite)
    if str(written) != "-":  # a name that is not UTF-8 is shown with \x escapes
        shown = str(written).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        click.echo(f"wrote {shown} ({style} style); run it with: python {shown}")
