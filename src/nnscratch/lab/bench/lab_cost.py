"""What the live lab costs a run: steps per second with and without the page watching.

Issue 11 asks that the lab cost a run at most 10 % of its steps per second at the default update
rate. The same run (moons, a 2→16→16→1 MLP, batch 32: many small steps, where a per-step cost
shows most) goes twice, interleaved:

    train             `nnscratch.run.train.train` alone
    lab (30 frames/s) the lab's `Run` around the same `train`, playing at full speed, with a reader
                      that takes every frame as the server does (JSON-encoded, 30 times a second)

Steps per second come from the runs' own ``elapsed`` (first tenth skipped: warm-up), the best of
``repeats``; the ratio lab / train must be ≥ 0.9.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from nnscratch.lab.bench.timing import rotations

TARGET = 0.9  # lab steps/s ÷ train steps/s
EPOCHS, QUICK_EPOCHS = 150, 30


def _steps_per_second(records: list[dict[str, Any]], steps_per_epoch: int) -> float:
    elapsed = [r["elapsed"] for r in records]
    skip = len(elapsed) // 10
    return (len(elapsed) - 1 - skip) * steps_per_epoch / (elapsed[-1] - elapsed[skip])


def _lab(data, folder: Path) -> list[dict[str, Any]]:
    from nnscratch.lab.live.session import RATE, Run

    run = Run(data, folder, autoplay=True).start()
    frames, version = 0, -1
    while run.thread.is_alive():  # the server's sender: every new frame, encoded
        time.sleep(1.0 / RATE)
        if run.version != version:
            version = run.version
            json.dumps(run.frame)
            frames += 1
    run.thread.join()
    assert run.state == "done", run.message
    return run.records


def measure(quick: bool = False, repeats: int = 3) -> dict[str, Any]:
    from nnscratch.run.config import TrainConfig
    from nnscratch.run.prepare import prepare
    from nnscratch.run.train import train

    n = QUICK_EPOCHS if quick else EPOCHS
    config = TrainConfig(data="builtin:moons", model="mlp", hidden="16,16", batch_size=32, epochs=n)
    data = prepare(config)
    steps = -(-len(data.train) // 32)  # batches per epoch
    rates: dict[str, list[float]] = {"train": [], "lab (30 frames/s)": []}
    with tempfile.TemporaryDirectory() as tmp:
        train(data, out=Path(tmp) / "warm-up")
        for r, name in rotations(list(rates), repeats):
            folder = Path(tmp) / f"{name[:3]}-{r}"
            if name == "train":
                records = train(data, out=folder).records
            else:
                records = _lab(data, folder)
            rates[name].append(_steps_per_second(records, steps))
    best = {k: max(v) for k, v in rates.items()}
    return {
        "epochs": n,
        "steps_per_epoch": steps,
        "steps_per_second": best,
        "ratio": best["lab (30 frames/s)"] / best["train"],
        "target": TARGET,
    }


def lines(cost: dict[str, Any]) -> list[str]:
    """The report's lines for this case."""
    out = [f"lab cost: moons MLP, {cost['epochs']} epochs × {cost['steps_per_epoch']} steps"]
    for name, rate in cost["steps_per_second"].items():
        out.append(f"    {name:<18} {rate:10,.0f} steps/s")
    out.append(f"    lab / train: {cost['ratio']:.2f} (target ≥ {cost['target']:g})")
    return [*out, ""]
