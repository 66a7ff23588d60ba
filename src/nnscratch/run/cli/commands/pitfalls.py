"""``nnscratch pitfalls``: the lab of broken training loops, each next to the correct one."""

from __future__ import annotations

import json

import click

from nnscratch.errors import UserError


class ListingCommand(click.Command):
    """``pitfalls --help`` ends with every pitfall's name and summary, read from the lab's own
    registry (`nnscratch.lab.pitfalls.PITFALLS`) only when that help is asked for, so that
    ``nnscratch --help`` does not import torch."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from nnscratch.lab.pitfalls import PITFALLS

        with formatter.section("Pitfalls (NAME)"):
            formatter.write_dl([(p.name, p.summary) for p in PITFALLS.values()])
        super().format_epilog(ctx, formatter)


@click.command(
    cls=ListingCommand,
    help="Run a common mistake in the five-step loop next to the correct code and show its "
    "real symptom (the exception PyTorch raises, or the numbers side by side). Without NAME: "
    "list them all.",
)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="print machine-readable output only")
def command(name: str | None, as_json: bool) -> None:
    from nnscratch.lab.pitfalls import PITFALLS, get, run
    from nnscratch.lab.pitfalls.render import listing, to_text

    if name is None:
        if as_json:
            entries = [{"name": p.name, "summary": p.summary} for p in PITFALLS.values()]
            click.echo(json.dumps(entries, indent=2))
        else:
            click.echo(listing(PITFALLS))
        return
    try:
        pitfall = get(name)
    except KeyError:
        raise UserError(f"unknown pitfall {name!r}; choose one of: {', '.join(PITFALLS)}") from None
    result = run(pitfall)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else to_text(result))
