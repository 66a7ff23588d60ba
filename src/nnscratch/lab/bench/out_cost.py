"""What ``--out`` costs: the seed trained for many epochs with and without saving the run.

Replaces nothing; it measures issue 9's "checkpointing costs the same every epoch". Saving used to
deep-copy every earlier epoch's record each epoch and rewrite the whole metrics file each save,
so a run with ``--out`` was quadratic in epochs (3,000 epochs: 17 s against 3 s). Now each epoch
appends one line and refills a snapshot in place, and checkpoints follow `SavePace` (every 10
epochs, or less often when saving would take over 5 % of the time). The seed runs N epochs with
and without ``--out``; three numbers:

    per-epoch ratio   the time of an epoch with ``--out`` / without, from the runs' own
                      ``elapsed`` (first tenth skipped): everything ``--out`` adds to an epoch,
                      the periodic checkpoints included, and none of the run's fixed costs
                      (the last checkpoint, summary.json, the plots)             target ≤ 1.2×
    whole-run ratio   wall time with / without, the fixed costs included (they do not grow
                      with N, so this ratio falls as N grows)
    late/early        mean epoch time, last tenth / second tenth of the ``--out`` run: 1.0 when
                      an epoch costs the same at the end as at the start (the old code grew
                      linearly)

Every run is `nnscratch.run.train.train` in this process (start-up excluded), interleaved; each
figure is the best of ``repeats`` (the one least disturbed by other work on the machine: the runs
are identical, so noise only ever adds).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from nnscratch.lab.bench.timing import rotations

TARGET = 1.2
EPOCHS, QUICK_EPOCHS = 3_000, 300  # N


def _late_over_early(records: list[dict[str, Any]]) -> float:
    """Mean epoch duration in the last tenth of the run over that in the second tenth (the
    first holds the warm-up and the first checkpoint)."""
    elapsed = [r["elapsed"] for r in records]
    tenth = max(2, len(elapsed) // 10)
    early = (elapsed[2 * tenth] - elapsed[tenth]) / tenth
    late = (elapsed[-1] - elapsed[-1 - tenth]) / tenth
    return late / early if early > 0 else float("nan")


def _per_epoch(records: list[dict[str, Any]]) -> float:
    """Seconds per epoch after the first tenth (warm-up) of the run."""
    elapsed = [r["elapsed"] for r in records]
    skip = len(elapsed) // 10
    return (elapsed[-1] - elapsed[skip]) / (len(elapsed) - 1 - skip)


def measure(quick: bool = False, repeats: int = 3) -> dict[str, Any]:
    """``{"epochs", "repeats", "seconds": {name: s}, "seconds_per_epoch": {name: s},
    "per_epoch_ratio", "whole_run_ratio", "late_over_early", "target"}``; name is
    "without --out" or "with --out"."""
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    n = QUICK_EPOCHS if quick else EPOCHS
    data = prepare(TrainConfig(epochs=n))  # the seed: linear regression, full batch
    with tempfile.TemporaryDirectory() as folder:
        train(data, out=Path(folder) / "warm-up")  # imports, plotting fonts
    names = ["without --out", "with --out"]
    wall: dict[str, list[float]] = {k: [] for k in names}
    epoch: dict[str, list[float]] = {k: [] for k in names}
    shapes: list[float] = []
    for _, name in rotations(names, repeats):  # interleaved, alternating first
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "run" if name == "with --out" else None
            begun = time.perf_counter()
            result = train(data, out=out, checkpoint_every=None)
            wall[name].append(time.perf_counter() - begun)
        epoch[name].append(_per_epoch(result.records))
        if out is not None:
            shapes.append(_late_over_early(result.records))
    seconds = {k: min(v) for k, v in wall.items()}
    per_epoch = {k: min(v) for k, v in epoch.items()}
    return {
        "epochs": n,
        "repeats": repeats,
        "seconds": seconds,
        "seconds_per_epoch": per_epoch,
        "per_epoch_ratio": per_epoch["with --out"] / per_epoch["without --out"],
        "whole_run_ratio": seconds["with --out"] / seconds["without --out"],
        "late_over_early": min(shapes),
        "target": TARGET,
    }


def lines(cost: dict[str, Any]) -> list[str]:
    """The report's lines for this case."""
    n = cost["epochs"]
    out = [f"--out cost: the seed for {n:,} epochs, with and without saving the run"]
    for name, seconds in cost["seconds"].items():
        each = cost["seconds_per_epoch"][name] * 1e6
        out.append(f"    {name:<16} {seconds:7.3f} s   {each:8.1f} µs per epoch")
    out.append(
        f"    per-epoch ratio with / without: {cost['per_epoch_ratio']:.2f}× "
        f"(target ≤ {cost['target']:g}×)"
    )
    out.append(
        f"    whole-run ratio: {cost['whole_run_ratio']:.2f}× (with the fixed costs: the last "
        "checkpoint, summary, plots)"
    )
    out.append(
        f"    epoch time, last tenth / second tenth of the --out run: "
        f"{cost['late_over_early']:.2f} (1.0: every epoch costs the same)"
    )
    return [*out, ""]
