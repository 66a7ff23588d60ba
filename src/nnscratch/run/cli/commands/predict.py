"""``nnscratch predict``: apply a saved run to a data file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from nnscratch.errors import UserError


@click.command(
    help="Predict with a run saved by `nnscratch train --out DIR`: values, or class labels with "
    "probabilities. The saved standardization is applied; feature columns are picked by name "
    "(extra columns are ignored); if the target column is there too, the metrics are reported."
)
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="the run folder (train --out DIR)",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(path_type=Path),
    help="a .csv, .npy or .npz file, or builtin:NAME (synthetic) for the run's own built-in data",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, allow_dash=True),
    help="write the predictions to this CSV file (- : standard output)",
)
@click.option(
    "--overwrite", is_flag=True, help="let --out replace an existing file (never an input)"
)
@click.option(
    "--keep",
    help="input columns to copy into the output, comma-separated names, e.g. id (to join the "
    "predictions back to the rows)",
)
@click.option("--json", "as_json", is_flag=True, help="print everything as one JSON object")
@click.option(
    "--header/--no-header",
    default=None,
    help="the CSV's first row names the columns (default: as the run's training file)",
)
@click.option(
    "--skip-rows",
    type=click.IntRange(min=0),
    help="lines at the top of the CSV that are not read (default: as the run's training file)",
)
@click.option("--delimiter", help="the CSV's field separator: , ; | or tab (default: as the run's)")
@click.option(
    "--decimal",
    type=click.Choice([".", ","]),
    help="the decimal mark of the CSV's numbers (default: as the run's)",
)
@click.option(
    "--missing",
    type=click.Choice(["error", "drop", "mean"]),
    help="missing cells: error; drop (no prediction for the row: an empty cell); mean (the "
    "training means, for a run trained with --missing mean) (default: the run's --missing)",
)
def command(
    model_dir: Path,
    data: Path,
    out: Path | None,
    overwrite: bool,
    keep: str | None,
    as_json: bool,
    missing: str | None,
    **csv_flags: Any,
) -> None:
    from nnscratch.run.config import parse_names
    from nnscratch.run.predict import load_model, predict, read_columns

    keep_names = parse_names("--keep", keep)
    if out is not None and str(out) == "-":
        out = None  # standard output: what no --out does
    if out is not None:
        check_out(out, overwrite, data, model_dir)
    given = [f"--{k.replace('_', '-')}" for k, v in csv_flags.items() if v is not None]
    if given and data.suffix.lower() != ".csv":
        raise UserError(f"{', '.join(given)}: for .csv files; {data} is not one")
    saved = load_model(model_dir)
    form = saved.csv_format(**csv_flags)
    if missing == "mean" and saved.imputer is None:
        raise UserError(
            f"--missing mean: the run was trained with --missing {saved.config.missing}, so it "
            "has no training means to fill with; use --missing drop"
        )
    kept = {} if keep_names is None else read_columns(data, keep_names, form)
    result = predict(saved, data, form, missing)
    left_out = sum(v is None for v in result.values)
    if left_out:
        click.echo(
            f"warning: {data}: {left_out} rows have a missing value and no prediction (an "
            "empty cell in the output; --missing drop)",
            err=True,
        )
    text = to_csv(result, kept)
    if out is not None:
        from nnscratch.run import atomic

        atomic.write_text(out, text)
    if as_json:
        summary = {"model": str(saved.path), "data": str(data), **vars(result)}
        if kept:
            summary["kept"] = kept
        click.echo(json.dumps(summary))
        return
    if out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {len(result.values)} predictions to {out}")
    if result.metrics is not None:
        shown = ", ".join(f"{k} {fmt(v)}" for k, v in result.metrics.items())
        click.echo(f"metrics (the file has the target column): {shown}", err=out is None)


def check_out(out: Path, overwrite: bool, data: Path, model_dir: Path) -> None:
    """Refuse an --out that would replace something without --overwrite, or one of this
    command's inputs (the data file, the run's own files) even with it (`nnscratch.run.atomic`)."""
    from nnscratch.run import atomic
    from nnscratch.run.checkpoint.folder import run_files, run_root

    atomic.check_target(out, overwrite=overwrite, inputs=[data, *run_files(model_dir)])
    root = run_root(model_dir)
    if atomic.inside(out, root):
        raise UserError(
            f"--out {out}: is inside the run folder {root}, which belongs to the run; "
            "write the predictions elsewhere"
        )


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def to_csv(result: Any, kept: dict[str, list[str]] | None = None) -> str:
    """The ``kept`` input columns (``--keep``), then ``prediction`` (and ``prob_<class>`` per
    class for classification), one row per sample."""
    kept = kept or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = list(zip(*kept.values(), strict=True)) or [()] * len(result.values)
    if result.probabilities is None:
        writer.writerow([*kept, "prediction"])
        writer.writerows(
            [*row, "" if v is None else f"{v:.9g}"]
            for row, v in zip(rows, result.values, strict=True)
        )
    else:
        writer.writerow([*kept, "prediction", *(f"prob_{c}" for c in result.classes)])
        for row, label, probs in zip(rows, result.values, result.probabilities, strict=True):
            shown = [""] * len(result.classes) if probs is None else [f"{p:.6g}" for p in probs]
            writer.writerow([*row, "" if label is None else label, *shown])
    return buffer.getvalue()
