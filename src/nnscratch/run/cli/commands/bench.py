"""``nnscratch bench``: nnscratch against its PyTorch-abstraction equivalents, timed."""

from __future__ import annotations

import json

import click


@click.command(
    help="Time each nnscratch loop interleaved with its nn/optim/DataLoader equivalent (same "
    "data, seed, float32 and threads) and print medians and ratio = nnscratch speed / PyTorch "
    "speed (> 1 means nnscratch is faster), with PASS/MISS for each target."
)
@click.option("--quick", is_flag=True, help="a few-second smoke run: small sizes, few steps")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="torch.set_num_threads for the whole run",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=None,
    help="interleaved repeats per case (default: 11, or 2 with --quick)",
)
@click.option("--json", "as_json", is_flag=True, help="print the full result as JSON")
def command(quick: bool, threads: int, repeats: int | None, as_json: bool) -> None:
    from nnscratch.lab.bench import render, run_bench, targets

    result = run_bench(quick=quick, threads=threads, repeats=repeats)
    if as_json:
        click.echo(json.dumps({**result, "targets": targets(result)}, indent=2))
    else:
        click.echo(render(result))
