"""Human-readable output of a training run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def progress_logger(epochs: int, lines: int = 10) -> Callable[[int, float], None]:
    """Print the loss at about ``lines`` evenly spaced epochs, so the fall is visible."""
    every = max(1, epochs // lines)

    def log(epoch: int, loss: float) -> None:
        if epoch == 0 or (epoch + 1) % every == 0 or epoch + 1 == epochs:
            click.echo(f"epoch {epoch + 1:>5}/{epochs}  loss {loss:.6g}")

    return log


def _fmt(values: Any) -> str:
    flat = values if isinstance(values, list) else [values]
    while flat and isinstance(flat[0], list):
        flat = [v for row in flat for v in row]
    return "[" + ", ".join(f"{v:+.4f}" for v in flat) + "]"


def print_training_report(summary: dict[str, Any]) -> None:
    learned, true, ls = summary["parameters"], summary["true"], summary["least_squares"]
    click.echo("")
    click.echo(f"{'':14}{'learned':>24}{'true':>24}{'least squares':>24}")
    for name in ("weight", "bias"):
        click.echo(f"{name:14}{_fmt(learned[name]):>24}{_fmt(true[name]):>24}{_fmt(ls[name]):>24}")
    click.echo("")
    click.echo(f"final loss (MSE)       {summary['final_loss']:.6g}")
    click.echo(f"least-squares loss     {ls['loss']:.6g}   (the best any linear model can do)")
    rel = summary["relative_loss_gap"]
    rel_text = f"  ({rel:.2e} relative)" if rel is not None else ""
    click.echo(f"remaining gap          {summary['loss_gap']:.3g}{rel_text}")
