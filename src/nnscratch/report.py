"""Human-readable output of a training run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def progress_logger(epochs: int, lines: int = 10) -> Callable[[dict[str, Any]], None]:
    """Print the losses at about ``lines`` evenly spaced epochs, so the fall is visible."""
    every = max(1, epochs // lines)

    def log(record: dict[str, Any]) -> None:
        epoch = record["epoch"]
        if epoch == 1 or epoch % every == 0 or epoch == epochs:
            line = f"epoch {epoch:>5}/{epochs}  loss {record['train_loss']:.6g}"
            if "val" in record:
                line += f"  val loss {record['val']['loss']:.6g}"
            click.echo(line)

    return log


def _fmt(values: Any) -> str:
    flat = values if isinstance(values, list) else [values]
    while flat and isinstance(flat[0], list):
        flat = [v for row in flat for v in row]
    shown = ", ".join(f"{v:+.4f}" for v in flat[:4])
    return "[" + shown + (", …" if len(flat) > 4 else "") + "]"


def _metrics_table(metrics: dict[str, Any]) -> None:
    names = next(m for m in metrics.values() if m is not None).keys()
    click.echo(f"{'':8}" + "".join(f"{n:>14}" for n in names))
    for split, values in metrics.items():
        if values is None:
            continue
        click.echo(f"{split:8}" + "".join(f"{values[n]:>14.6g}" for n in names))


def print_training_report(summary: dict[str, Any]) -> None:
    click.echo("")
    data, config = summary["data"], summary["config"]
    model = config["model"] + (f" {config['hidden']}" if config["model"] == "mlp" else "")
    click.echo(
        f"data {data['name']} ({data['task']}, rows {data['rows']}), model {model}, "
        f"loss {config['loss']}, optimizer {config['optimizer']} lr {config['lr']:g}"
    )
    _metrics_table(summary["metrics"])
    if "least_squares" not in summary:
        return
    learned, ls = summary["parameters"], summary["least_squares"]
    true = summary.get("true")
    click.echo("")
    header = f"{'':8}{'learned':>30}" + (f"{'true':>30}" if true else "") + f"{'least squares':>30}"
    click.echo(header)
    for name in ("weight", "bias"):
        row = f"{name:8}{_fmt(learned[name]):>30}"
        if true:
            row += f"{_fmt(true[name]):>30}"
        click.echo(row + f"{_fmt(ls[name]):>30}")
    click.echo("")
    click.echo(f"final loss (MSE)       {summary['final_loss']:.6g}")
    click.echo(f"least-squares loss     {ls['loss']:.6g}   (the best any linear model can do)")
    rel = summary["relative_loss_gap"]
    rel_text = f"  ({rel:.2e} relative)" if rel is not None else ""
    click.echo(f"remaining gap          {summary['loss_gap']:.3g}{rel_text}")
