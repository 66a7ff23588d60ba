"""``nnscratch sample``: generate text with a saved character-level language model."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    help="Generate text with a run saved by `nnscratch train --model transformer --out DIR`: "
    "the prompt, then --tokens characters drawn one at a time from the model's prediction."
)
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="the run folder (train --out DIR)",
)
@click.option("--prompt", default="\n", show_default="a newline", help="the text to continue")
@click.option(
    "--tokens",
    default=200,
    show_default=True,
    help="characters to generate (at most 1,000,000), written as they are drawn",
)
@click.option(
    "--temperature",
    default=1.0,
    show_default=True,
    help="divides the logits: < 1 sharper and more repetitive, > 1 more random",
)
@click.option("--seed", default=0, show_default=True, help="seed of the sampling generator")
def command(model_dir: Path, prompt: str, tokens: int, temperature: float, seed: int) -> None:
    from nnscratch.run.sample import stream

    for piece in stream(model_dir, prompt, tokens, temperature, seed):
        click.echo(piece, nl=False)  # flushed: the text appears as it is drawn
    click.echo()
