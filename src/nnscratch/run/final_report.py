"""The report printed at the end of ``nnscratch train``, narrow enough for an 80-column terminal.

data, model, loss, optimizer          one line
metrics                               one row per part (train / val / test)
language model:                       its loss per character next to the bigram baseline's
linear regression:                    one row per feature: learned, true (synthetic data),
                                      least squares; then the bias, the final and the
                                      least-squares loss and the gap between them
"""

from __future__ import annotations

from typing import Any

import click

NAME = 14  # width of the first column (feature names longer than this are shortened)
COL = 16  # width of each number column


def _metrics_table(metrics: dict[str, Any]) -> None:
    names = next(m for m in metrics.values() if m is not None).keys()
    click.echo(f"{'':8}" + "".join(f"{n:>14}" for n in names))
    for split, values in metrics.items():
        if values is None:
            continue
        click.echo(f"{split:8}" + "".join(f"{values[n]:>14.6g}" for n in names))


def _flat(values: Any) -> list[float]:
    while values and isinstance(values[0], list):
        values = [v for row in values for v in row]
    return values


def _name(text: str) -> str:
    return text if len(text) <= NAME - 1 else text[: NAME - 2] + "…"


def parameter_rows(summary: dict[str, Any]) -> list[str]:
    """One row per feature and one for the bias: learned, (true,) least squares."""
    columns = [("learned", summary["parameters"])]
    if summary.get("true"):
        columns.append(("true", summary["true"]))
    columns.append(("least squares", summary["least_squares"]))
    names = [*summary["data"]["features"], "bias"]
    values = [_flat(c["weight"]) + _flat(c["bias"]) for _, c in columns]
    rows = [f"{'':{NAME}}" + "".join(f"{title:>{COL}}" for title, _ in columns)]
    for i, name in enumerate(names):
        rows.append(f"{_name(name):{NAME}}" + "".join(f"{v[i]:>+{COL}.6g}" for v in values))
    return rows


def print_training_report(summary: dict[str, Any]) -> None:
    click.echo("")
    data, config = summary["data"], summary["config"]
    rows = ", ".join(f"{n} {part}" for part, n in data["rows"].items())
    model = config["model"]
    if model == "mlp":
        model += f" {config['hidden']}"
    elif model == "cnn":
        model += f" channels {config['channels']}"
    elif model == "transformer":
        model += f" {config['n_layer']}×{config['n_embd']}, {config['n_head']} heads, "
        model += f"context {config['block_size']}"
    click.echo(f"data {data['name']} ({data['task']}; rows: {rows})")
    click.echo(
        f"model {model}, loss {config['loss']}, optimizer {config['optimizer']} lr {config['lr']:g}"
    )
    if "initial_loss" in summary:  # step 0 of every run (`nnscratch.health.initial_loss`)
        from nnscratch.health.initial_loss import line

        click.echo(line(summary["initial_loss"]))
    _metrics_table(summary["metrics"])
    if "health" in summary:  # --health
        from nnscratch.health.report import finding_lines

        click.echo("")
        health = summary["health"]
        for text in finding_lines(health["findings"], health.get("activations", True)):
            click.echo(text)
    if "bigram" in summary:  # a language model: next to the count-based baseline, same split
        click.echo("")
        click.echo("loss per character (nats)   transformer      bigram (counts)")
        for part in ("train", "val", "test"):
            if summary["metrics"].get(part) is not None:
                ours, base = summary["metrics"][part]["loss"], summary["bigram"][part]
                click.echo(f"{part:28}{ours:>11.4f}{base:>20.4f}")
    if "least_squares" not in summary:
        return
    click.echo("")
    if data.get("standardized"):
        click.echo("weights of the standardised features, (x − mean) / std of the training part:")
    for row in parameter_rows(summary):
        click.echo(row)
    click.echo("")
    ls = summary["least_squares"]
    click.echo(f"final loss (MSE)       {summary['final_loss']:.6g}")
    click.echo(f"least-squares loss     {ls['loss']:.6g}   (the best any linear model can do)")
    rel, gap = summary["relative_loss_gap"], summary["loss_gap"]
    rel_text = f"  ({rel:.2e} relative)" if rel is not None else ""
    click.echo(f"remaining gap          {gap:.3g}{rel_text}")
    if gap < 0:  # the learned loss is computed in the run's dtype, the optimum in float64
        click.echo(f"{'':23}below 0 only by float rounding: the optimum is reached")
