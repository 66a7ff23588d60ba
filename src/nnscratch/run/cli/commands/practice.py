"""``nnscratch practice``: exercises the learner writes, checked by behaviour, mistakes named."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nnscratch.errors import UserError


def exercise(name: str):
    from nnscratch.lab.practice import EXERCISES, get

    try:
        return get(name)
    except KeyError:
        raise UserError(
            f"unknown exercise {name!r}; choose one of: {', '.join(EXERCISES)}"
        ) from None


@click.group(
    invoke_without_command=True,
    help="Write each piece yourself and let nnscratch check it: `start NAME` writes a file "
    "with the task, `check FILE` runs it on seeded inputs, compares every quantity with the "
    "reference and names the mistake. Without a sub-command: the exercises and your status.",
)
@click.pass_context
def command(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        ctx.invoke(listing)


@command.command("list", help="The exercises in order, with your status.")
def listing() -> None:
    from nnscratch.lab.practice import EXERCISES
    from nnscratch.lab.practice.render import listing as text

    click.echo(text(EXERCISES), nl=False)


@command.command(
    "start",
    short_help="Write exercise NAME's file, your part left to write.",
    help="Write exercise NAME's file: everything done but your part, each function to write "
    "raising NotImplementedError with the task in its docstring.",
)
@click.argument("name")
@click.option(
    "--out",
    "out",
    default=None,
    help="the file to write, - for standard output [default: ./NAME.py]",
)
@click.option("--overwrite", is_flag=True, help="replace an existing file")
def start(name: str, out: str | None, overwrite: bool) -> None:
    from nnscratch.run.atomic import check_target, write_text

    ex = exercise(name)
    path = Path(out) if out is not None else Path(f"{ex.name.replace('-', '_')}.py")
    if str(path) == "-":  # standard output: the file only
        click.echo(ex.template, nl=False)
        return
    check_target(path, overwrite=overwrite)
    write_text(path, ex.template)
    click.echo(f"wrote {path}: write the function(s) {', '.join(ex.functions)}, then")
    click.echo(f"  nnscratch practice check {path}")


@command.command(
    "check",
    short_help="Check FILE: the table, the mistake named (exit 0/1/2).",
    help="Run FILE in a separate process (CPU-time and memory limited; no sandbox: it is "
    "your code, run with your rights), compare every quantity with the reference, and name "
    "the mistake. Exit 0 passed, 1 wrong, 2 usage error.",
)
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--hint", is_flag=True, help="one more graded hint each time (no solution)")
@click.option(
    "--cpu-seconds",
    type=click.FloatRange(min=0.1, max=3600),
    default=10.0,
    show_default=True,
    help="CPU time your code may use",
)
@click.option(
    "--memory-mb",
    type=click.IntRange(min=16, max=2**20),
    default=2048,
    show_default=True,
    help="memory your code may add",
)
def check(file: Path, as_json: bool, hint: bool, cpu_seconds: float, memory_mb: int) -> int:
    from nnscratch.lab.practice.render import to_text
    from nnscratch.lab.practice.session import check_path

    report = check_path(file, hint=hint, cpu_seconds=cpu_seconds, memory_bytes=memory_mb * 2**20)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(to_text(report, file.name), nl=False)
    return 0 if report.passed else 1
