"""What ``train --health`` costs: digits' MLP (its defaults: batch 32, Adam) with and without it.

Replaces nothing; it measures issue 20's target: recording the health statistics costs at most
10 % of the run. `nnscratch.health.recorder.Recorder` records step 0, then every K steps
(about 200 records per run, K ≥ 10, fixed before the run): this case checks that the pace keeps
its promise on a model whose step is short (a small MLP's
step is a fraction of a millisecond, a record a few tenths of one).

    ratio     the process's CPU time for the whole `train` call with --health / without
              (CPU time, not wall time: on a shared machine another process's work would
              otherwise land on either side)                                   target ≤ 1.1×

Every run is `nnscratch.run.train.train` in this process, interleaved; each figure is the best
of ``repeats``.
"""

from __future__ import annotations

import time
from typing import Any

from nnscratch.lab.bench.timing import rotations

TARGET = 1.1
EPOCHS, QUICK_EPOCHS = 10, 2


def measure(quick: bool = False, repeats: int = 3) -> dict[str, Any]:
    """``{"epochs", "repeats", "seconds": {name: s}, "records", "ratio", "target"}``; name is
    "without --health" or "with --health"."""
    from dataclasses import replace

    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    n = QUICK_EPOCHS if quick else EPOCHS
    data = prepare(TrainConfig(data="builtin:digits", epochs=n).validate())
    watched = replace(data, config=replace(data.config, health=True))
    runs = {"without --health": data, "with --health": watched}
    train(watched)  # warm-up: imports, first kernels
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    records = 0
    for _, name in rotations(list(runs), repeats):  # interleaved, alternating first
        begun = time.process_time()
        result = train(runs[name])
        seconds[name].append(time.process_time() - begun)
        if name == "with --health":
            records = result.summary["health"]["records"]
    best = {k: min(v) for k, v in seconds.items()}
    return {
        "epochs": n,
        "repeats": repeats,
        "seconds": best,
        "records": records,
        "ratio": best["with --health"] / best["without --health"],
        "target": TARGET,
    }


def lines(cost: dict[str, Any]) -> list[str]:
    """The report's lines for this case."""
    out = [f"--health cost: digits' MLP for {cost['epochs']} epochs, with and without"]
    for name, seconds in cost["seconds"].items():
        out.append(f"    {name:<18} {seconds:7.3f} s of CPU")
    out.append(
        f"    ratio with / without: {cost['ratio']:.2f}× (target ≤ {cost['target']:g}×; "
        f"{cost['records']} records)"
    )
    return [*out, ""]
