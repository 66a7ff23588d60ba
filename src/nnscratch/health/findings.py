"""The findings: which cause the health records show, and which flag changes it.

Each rule reads one statistic over a window of the records and compares it with a threshold:

    id                    statistic (window)                               fires when
    initial-loss          loss before the first step (`initial_loss`)      > 2·expected + 1
    saturated             tanh/sigmoid saturated share (first tenth)       > 0.20
    dead-units            ReLU dead share (last quarter)                   > 0.50
    vanishing-gradients   std(g) first weight / last weight (first tenth)  < 1e-3
    exploding-gradients   the same ratio                                   > 1e3
    update-ratio-high     std(Δp)/std(p) of a weight (whole run)           > 0.5
    update-ratio-low      the same (first tenth)                           < 1e-4

The first tenth of the run is where initialisation and learning rate show; later a converging
run's gradients (and so SGD's updates) shrink on purpose, so a low update ratio counts only
there. A high one counts over the whole run: the first steps of a regression on a large target
(diabetes, 25–346) rightly move weights many times their tiny initial size.

The update-ratio band is wide around CS231n's ~1e-3: small models train well at 1e-2–1e-1
(iris' logistic regression with Adam at 0.05), and the rules must name a learning rate off by
orders of magnitude, not a taste. The learning rate they suggest scales the run's to bring the
ratio to `UPDATE_TARGET` = 1e-2, what the built-in defaults show early in a run (the ratio then
falls towards 1e-3 and below as the run settles): for a wrong lr by orders of magnitude, the
suggestion lands near the default (SGD at 1e-6 → ~0.07; Adam at 1e-6 → ~7e-4).

Severity is how far past its threshold the value is (value/threshold, or threshold/value for a
"below" rule); findings are sorted by it, the worst first.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

SATURATED, DEAD = 0.20, 0.50
VANISHING, EXPLODING = 1e-3, 1e3
UPDATE_HIGH, UPDATE_LOW, UPDATE_TARGET = 0.5, 1e-4, 1e-2


def early(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records[: max(1, math.ceil(len(records) / 10))]


def late(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records[-max(1, len(records) // 4) :]


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(known) if known else None


def _layer_values(records: list[dict[str, Any]], name: str, key: str) -> list[float | None]:
    return [layer.get(key) for r in records for layer in r["layers"] if layer["name"] == name]


def param_values(records: list[dict[str, Any]], name: str, key: str) -> list[float | None]:
    return [p.get(key) for r in records for p in r.get("params", []) if p["name"] == name]


def _finding(id: str, layer: str, value: float, threshold: float, advice: str, above: bool):
    if above:
        severity = value / threshold
    else:
        severity = math.inf if value <= 0 else threshold / value
    return {
        "id": id,
        "layer": layer,
        "value": value,
        "threshold": threshold,
        "advice": advice,
        "severity": severity,
    }


def find(records: list[dict[str, Any]], initial: dict[str, Any] | None = None) -> list[dict]:
    """Every finding the records show, the most severe first."""
    out = []
    if initial is not None and initial["far"]:
        out.append(
            _finding(
                "initial-loss",
                "loss",
                initial["loss"],
                initial["threshold"],
                f"expected ≈ {initial['expected']:.3g} ({initial['why']}): the initial weights "
                "are too large, the model starts confidently wrong; try a smaller --init-gain",
                above=True,
            )
        )
    if records:
        out += _activations(records) + _gradients(records) + _updates(records)
    return sorted(out, key=lambda f: -f["severity"] if math.isfinite(f["severity"]) else -1e300)


def _activations(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for layer in records[0]["layers"]:
        name, kind = layer["name"], layer["kind"]
        if kind in ("tanh", "sigmoid"):
            value = median(_layer_values(early(records), name, "saturated"))
            if value is not None and value > SATURATED:
                advice = (
                    f"{value:.0%} of the {kind} outputs sit within 0.03 of their bounds, where "
                    "the gradient is nearly 0: the initial weights are too large for "
                    f"{kind}; try a smaller --init-gain (or --activation relu)"
                )
                out.append(_finding("saturated", name, value, SATURATED, advice, above=True))
        if kind == "relu":
            value = median(_layer_values(late(records), name, "dead"))
            if value is not None and value > DEAD:
                advice = (
                    f"{value:.0%} of the ReLU units output 0 for every row and learn nothing: "
                    "a learning rate too high knocked them out (or a negative bias init); "
                    "try a smaller --lr, or --optimizer adam"
                )
                out.append(_finding("dead-units", name, value, DEAD, advice, above=True))
    return out


def _weights(records: list[dict[str, Any]]) -> list[str]:
    return [p["name"] for p in records[0].get("params", []) if p["weight"]]


def _gradients(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    weights = _weights(records)
    if len(weights) < 2:
        return []
    first, last = weights[0], weights[-1]
    ratios = [
        None if a is None or not b else a / b
        for a, b in zip(
            param_values(early(records), first, "grad_std"),
            param_values(early(records), last, "grad_std"),
            strict=True,
        )
    ]
    value = median(ratios)
    layer = first.removesuffix(".weight")
    if value is None:
        return []
    if value < VANISHING:
        advice = (
            f"the first layer's gradient is {value:.1e} of the last one's: it vanishes on the "
            "way back through saturating activations; try --activation relu, fewer layers or "
            "--optimizer adam"
        )
        return [_finding("vanishing-gradients", layer, value, VANISHING, advice, above=False)]
    if value > EXPLODING:
        advice = (
            f"the first layer's gradient is {value:.1e} times the last one's: it grows on the "
            "way back; try --clip-grad-norm 1.0 or a smaller --init-gain"
        )
        return [_finding("exploding-gradients", layer, value, EXPLODING, advice, above=True)]
    return []


def _updates(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lr = records[0].get("lr")
    out = []
    whole = _ratios(records, records)
    if whole and max(whole.values()) > UPDATE_HIGH:
        high = max(whole, key=whole.__getitem__)
        out.append(_update_finding("update-ratio-high", high, whole[high], UPDATE_HIGH, lr))
    first = _ratios(early(records), records)
    if first and min(first.values()) < UPDATE_LOW:
        low = min(first, key=first.__getitem__)
        out.append(_update_finding("update-ratio-low", low, first[low], UPDATE_LOW, lr))
    return out


def _ratios(window: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, float]:
    """Each weight's median update/data ratio over ``window`` (weights without one left out)."""
    values = {w: median(param_values(window, w, "update_data")) for w in _weights(records)}
    return {w: v for w, v in values.items() if v is not None}


def _update_finding(id: str, weight: str, value: float, threshold: float, lr: float | None):
    above = id.endswith("high")
    try_lr = ""
    if lr is not None and value > 0:
        try_lr = f"; try --lr {lr * UPDATE_TARGET / value:.2g}"
    advice = (
        f"each update changes the weights by {value:.1e} of their size (~1e-2 early in a "
        f"healthy run, ~1e-3 later): the learning rate is {'too high' if above else 'too low'} "
        f"by orders of magnitude{try_lr}"
    )
    return _finding(id, weight.removesuffix(".weight"), value, threshold, advice, above=above)
