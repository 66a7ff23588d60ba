"""What ``--out`` costs: the seed trained for many epochs with and without saving the run.

Replaces nothing; it measures issue 9's "checkpointing costs the same every epoch". Saving used to
deep-copy every earlier epoch's record each epoch and rewrite the whole metrics file each save,
so a run with ``--out`` was quadratic in epochs (3,000 epochs: 17 s against 3 s). Now each epoch
appends one line and refills a snapshot in place, and checkpoints follow `SavePace` (every 10
epochs, or less often when saving would take over 5 % of the time). Two numbers:

    ratio        median time with ``--out`` / without, same data and seed        target ≤ 1.2×
    late/early   mean epoch time, last tenth / first tenth of the ``--out`` run   ~1.0: an epoch
                 costs the same at the end as at the start (the old code grew linearly)

Both runs are `nnscratch.run.train.train` in this process (start-up and plots excluded: they
cost the same at any length), interleaved, medians of ``repeats``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

TARGET = 1.2
EPOCHS, QUICK_EPOCHS = 3_000, 300


def _late_over_early(records: list[dict[str, Any]]) -> float:
    """Mean epoch duration in the last tenth of the run over that in the first tenth."""
    elapsed = [r["elapsed"] for r in records]
    tenth = max(2, len(elapsed) // 10)
    early = (elapsed[tenth] - elapsed[0]) / tenth
    late = (elapsed[-1] - elapsed[-1 - tenth]) / tenth
    return late / early if early > 0 else float("nan")


def measure(quick: bool = False, repeats: int = 3) -> dict[str, Any]:
    """``{"epochs", "seconds": {"without --out", "with --out"}, "ratio", "late_over_early"}``."""
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    epochs = QUICK_EPOCHS if quick else EPOCHS
    data = prepare(TrainConfig(epochs=epochs))  # the seed: linear regression, full batch
    train(data)  # warm-up
    times: dict[str, list[float]] = {"without --out": [], "with --out": []}
    shapes: list[float] = []
    for r in range(repeats):
        order = ["without --out", "with --out"]
        for name in order[r % 2 :] + order[: r % 2]:  # interleaved, alternating first
            with tempfile.TemporaryDirectory() as folder:
                out = Path(folder) / "run" if name == "with --out" else None
                begun = time.perf_counter()
                result = train(data, out=out, checkpoint_every=None)
                times[name].append(time.perf_counter() - begun)
            if out is not None:
                shapes.append(_late_over_early(result.records))
    seconds = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    return {
        "epochs": epochs,
        "repeats": repeats,
        "seconds": seconds,
        "ratio": seconds["with --out"] / seconds["without --out"],
        "late_over_early": sorted(shapes)[len(shapes) // 2],
        "target": TARGET,
    }


def lines(cost: dict[str, Any]) -> list[str]:
    """The report's lines for this case."""
    out = [f"--out cost: the seed, {cost['epochs']:,} epochs, with and without saving the run"]
    for name, seconds in cost["seconds"].items():
        out.append(f"    {name:<28} {seconds:>9.3f} s")
    out.append(f"    ratio with / without: {cost['ratio']:.2f}× (target ≤ {cost['target']:g}×)")
    out.append(
        f"    epoch time, last tenth / first tenth of the --out run: "
        f"{cost['late_over_early']:.2f} (1.0: every epoch costs the same)"
    )
    return [*out, ""]
