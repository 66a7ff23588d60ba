"""The live lab's health panel: a run with ``health`` set shows, while it trains, what
``nnscratch health`` shows after it (`nnscratch.health`).

    attach(model, optimizer)   a `Recorder` around the optimizer's step (in place, as the lab
                               watches its gradients), paced like ``train --health``
    frame(recorder)            the panel's numbers: each layer's saturated/dead share and std
                               at the last record, each weight's log10 update/data ratio, and
                               the findings so far

The session calls these two (`nnscratch.lab.live.session`); the page draws ``frame["health"]``
as text.
"""

from __future__ import annotations

import math
from typing import Any

from nnscratch.health import findings
from nnscratch.health.recorder import MIN_EVERY, Recorder
from nnscratch.module import Module
from nnscratch.optim import Optimizer

KEEP = 200  # records kept for the findings: the first tenth's and the latest


def attach(model: Module, optimizer: Optimizer) -> Recorder:
    recorder = Recorder(model, MIN_EVERY)  # the pace of train --health
    recorder.watch(optimizer)  # hooks on for the first step; the step is wrapped below
    inner = optimizer.step

    def step(closure: Any = None) -> None:
        recorder.around_update(inner, optimizer.param_groups[0]["lr"])

    optimizer.step = step  # type: ignore[method-assign]
    return recorder


def frame(recorder: Recorder) -> dict[str, Any] | None:
    records = recorder.records
    if len(records) > KEEP:  # memory stays flat over a long run: keep the start and the end
        del records[KEEP // 10 : len(records) - KEEP + KEEP // 10]
    if not records:
        return None
    last = records[-1]
    return {
        "step": last["step"],
        "layers": [
            {
                "name": x["name"],
                "kind": x["kind"],
                "std": x["std"],
                "share": x.get("saturated", x.get("dead")),
            }
            for x in last["layers"]
        ],
        "updates": [
            {"name": p["name"], "log10": _log10(p["update_data"])}
            for p in last["params"]
            if p["weight"]
        ],
        "findings": [
            {k: f[k] for k in ("id", "layer", "value", "threshold")} for f in findings.find(records)
        ],
    }


def _log10(x: float | None) -> float | None:
    return math.log10(x) if x is not None and x > 0 else None
