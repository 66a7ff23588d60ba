"""The ``nnscratch`` command line.

Each sub-command lives in its own module under ``nnscratch.run.cli.commands`` and defines ``command``;
modules are found by name and imported only when their command runs, so ``nnscratch --help``
stays fast (no torch import). User mistakes print one line, ``error: ...``, and exit with status 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from nnscratch.errors import DivergenceError, UserError

COMMANDS_PACKAGE = "nnscratch.run.cli.commands"

# Short help for the command list, so that `nnscratch --help` need not import every command.
SUMMARIES = {
    "train": "Train a model with the hand-written five-step loop and report the result.",
    "verify": "Run every manual piece next to its PyTorch abstraction and print the mapping table.",
    "explain": "Run a few steps of the five-step loop and show every number.",
    "pitfalls": "Run the classic mistakes next to the correct loop and show their real symptoms.",
    "graph": "Render the autograd graph of one forward pass and loss.",
    "predict": "Load a saved run and predict on a data file.",
    "sample": "Generate text with a saved character-level language model.",
    "bench": "Benchmark nnscratch against its PyTorch-abstraction equivalents.",
    "export": "Write a saved run as a standalone PyTorch script (by hand, or with nn/optim).",
    "practice": "Exercises you write yourself: checked on seeded inputs, the mistake named.",
    "lab": "Start the live lab: a local web page that trains and shows every step as it happens.",
    "lr-find": "Find a learning rate with the range test (exponential ramp, smoothed loss).",
    "health": "Show a --health run's layer statistics and name what keeps it from learning.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        package = importlib.import_module(COMMANDS_PACKAGE)
        # a module lr_find is the command lr-find
        return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(package.__path__))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"{COMMANDS_PACKAGE}.{name.replace('-', '_')}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:
                summary = self.get_command(ctx, name).get_short_help_str(80)
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnscratch")
def cli() -> None:
    """nnscratch: neural networks from first principles on raw PyTorch tensors.

    Every piece (parameters, forward, loss, update, reset, batching) is written by hand and
    proven equal to its PyTorch abstraction: run `nnscratch verify`.
    """


def one_line(text: str) -> str:
    """``text`` with control characters (a newline in a path), and bytes that were not UTF-8
    in a file name, escaped as Python writes them: an error is one line."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text
    )


def error(message: str, code: int = 2) -> int:
    click.echo(f"error: {one_line(message)}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="nnscratch", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help())
        return 0
    except click.UsageError as e:
        hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
        return error(f"{e.format_message()}{hint}")
    except click.ClickException as e:
        return error(e.format_message())
    except click.exceptions.Abort:
        return error("aborted", 130)
    except UserError as e:
        return error(str(e), e.exit_code)
    except DivergenceError as e:
        return error(str(e), e.exit_code)
    except KeyboardInterrupt:
        return error("interrupted", 130)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
