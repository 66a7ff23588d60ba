"""``health.png``: what a ``--health`` run looked like inside (makemore part 3's plots).

    left    the activation histogram of each layer after an activation function (of each layer
            with weights, for a model without one), at the first record (dashed) and the last
            (solid); saturated tanh shows as two spikes at ±1, dead ReLU as one at 0
    right   log10 of the update/data ratio std(Δp)/std(p) of each weight over the steps, with
            the ~1e-3 rule of thumb as a dashed line (CS231n, makemore)

Drawn like the other plots (`nnscratch.run.plots`): Agg canvas, no pyplot, written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnscratch.run.plots import new_figure, png, save_atomic

FILE = "health.png"
NONLINEAR = ("relu", "tanh", "sigmoid", "gelu")


def _centres(hist: dict[str, Any]) -> list[float]:
    n, lo, hi = len(hist["counts"]), hist["lo"], hist["hi"]
    return [lo + (i + 0.5) * (hi - lo) / n for i in range(n)]


def _density(hist: dict[str, Any]) -> list[float]:
    total = sum(hist["counts"]) or 1
    return [c / total for c in hist["counts"]]


def draw(records: list[dict[str, Any]], title: str = ""):
    """The figure for ``records`` (health.jsonl's, in order)."""
    figure = new_figure(11, 4.2)
    left, right = figure.subplots(1, 2)
    first, last = records[0], records[-1]
    layers = [x for x in first["layers"] if x["kind"] in NONLINEAR] or first["layers"]
    ends = {x["name"]: x for x in last["layers"]}
    colors = [f"C{i % 10}" for i in range(len(layers))]
    for layer, color in zip(layers, colors, strict=True):
        label = f"{layer['name']} {layer['kind']}"
        share = layer.get("saturated", layer.get("dead"))
        if share is not None:
            label += f" ({share:.0%} {'saturated' if 'saturated' in layer else 'dead'} at start)"
        h = layer["hist"]
        left.plot(_centres(h), _density(h), "--", color=color, alpha=0.6)
        end = ends.get(layer["name"])
        if end is not None:
            left.plot(_centres(end["hist"]), _density(end["hist"]), "-", color=color, label=label)
    left.set_title(f"activations: step {first['step']} (dashed), step {last['step']} (solid)")
    left.set_xlabel("output value")
    left.set_ylabel("share of outputs")
    if layers:
        left.legend(fontsize=7)
    else:  # --backward manual, --compile: the forward never called the layers (health.report)
        text = "none recorded: the forward did not call the layers\n(--backward manual, --compile)"
        left.text(0.5, 0.5, text, ha="center", va="center", transform=left.transAxes)
    steps = [r["step"] for r in records]
    for p in first["params"]:
        if not p["weight"]:
            continue
        values = [
            _log10(q.get("update_data"))
            for r in records
            for q in r["params"]
            if q["name"] == p["name"]
        ]
        right.plot(steps, values, label=p["name"])
    right.axhline(-3, color="k", linestyle="--", linewidth=1, label="1e-3")
    right.set_title("update / data ratio of each weight")
    right.set_xlabel("step")
    right.set_ylabel("log10 std(Δp) / std(p)")
    right.legend(fontsize=7)
    if title:
        figure.suptitle(title)
    return figure


def _log10(x: float | None) -> float:
    return math.log10(x) if x is not None and x > 0 else math.nan


def write_health_plot(
    out: Path,
    records: list[dict[str, Any]],
    title: str = "",
    write: Callable[[str, bytes], Path] | None = None,
) -> Path:
    """``health.png`` in ``out``; ``write(name, png)``: the run folder's writer, which never
    follows a link (`nnscratch.run.checkpoint.folder.RunFolder.write`)."""
    if write is not None:
        return write(FILE, png(draw(records, title)))
    return save_atomic(draw(records, title), Path(out) / FILE)
