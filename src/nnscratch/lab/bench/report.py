"""Judge a benchmark result against the targets and render it as text.

ratio = PyTorch time / nnscratch time = nnscratch speed / PyTorch speed: > 1 means nnscratch is
faster. The targets (issue 6):

    default path ≥ 1.0× its nn/optim equivalent on every case    and ≥ 1.4× as a geometric mean
    mini-batch epoch ≥ 5× the DataLoader(TensorDataset, shuffle=True) loop
    hand-written Adam ≥ 1.0× torch's fused Adam on the MLP
    RSS growth ≤ 2 MB over 100,000 steps
    large full batch ≥ 60 % of the memory-bandwidth bound (linear models: a logistic step's
    exp and log make it compute-bound, so its fraction is shown without a target)
"""

from __future__ import annotations

import math
from typing import Any

from nnscratch.lab.width import wrap

MB = 2**20
BANDWIDTH_FRACTION = 0.6
GEOMEAN_TARGET = 1.4


def default_ratios(result: dict[str, Any]) -> list[tuple[str, float]]:
    """(case, ratio) of every default-path comparison, time to target included."""
    out = [
        (case["name"], p["ratio"])
        for case in result["cases"]
        for p in case["pairs"]
        if p["default_path"]
    ]
    if both_reached(result["time_to_target"]):
        out.append(("digits time to target", result["time_to_target"]["ratio"]))
    return out


def both_reached(ttt: dict[str, Any]) -> bool:
    """A time to target compares two times only when both runs reached the target; otherwise
    both clocks stopped at the epoch limit, and their ratio says nothing (``bench --quick``)."""
    return all(run["reached"] for run in ttt.get("runs", {}).values())


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per target: name, measured value, threshold, passed."""
    ratios = default_ratios(result)
    worst = min(ratios, key=lambda r: r[1])
    geomean = math.exp(sum(math.log(r) for _, r in ratios) / len(ratios))
    out = [
        _target(f"default path ≥ 1.0× on every case (worst: {worst[0]})", worst[1], 1.0),
        _target("default path geometric mean ≥ 1.4×", geomean, GEOMEAN_TARGET),
    ]
    for case in result["cases"]:
        for p in case["pairs"]:
            if p["target"] is not None and not p["default_path"]:
                name = f"{case['name']}: {p['manual']} vs {p['reference']} ≥ {p['target']:g}×"
                out.append(_target(name, p["ratio"], p["target"]))
    growth = result["memory"]["growth_bytes"]["nnscratch"]
    steps = result["memory"]["steps"]
    out.append(_target(f"RSS growth over {steps:,} steps ≤ 2 MB", growth / MB, 2.0, below=True))
    for case in result["cases"]:
        if "bandwidth" in case and case["bandwidth"].get("target", True):
            manual = case["pairs"][0]["manual"]
            fraction = case["bandwidth"]["fraction"][manual]
            name = f"{case['name']}: {manual} ≥ 60% of the bandwidth bound"
            if fraction > 1:  # faster than the bound: the bound was wrong, not the loop fast
                name += " (MEASUREMENT ERROR: above 100 %, the bound is too low)"
            out.append(_target(name, fraction, BANDWIDTH_FRACTION, ceiling=1.0))
    cost = result.get("out_cost")
    if cost is not None:  # nnscratch.lab.bench.out_cost
        name = f"train --out: an epoch ≤ {cost['target']:g}× the time without"
        out.append(_target(name, cost["per_epoch_ratio"], cost["target"], below=True))
    lab = result.get("lab_cost")
    if lab is not None:  # nnscratch.lab.bench.lab_cost
        name = f"the live lab: steps/s ≥ {lab['target']:g}× those of the run alone"
        out.append(_target(name, lab["ratio"], lab["target"]))
    health = result.get("health_cost")
    if health is not None:  # nnscratch.lab.bench.health_cost
        name = f"train --health: the run ≤ {health['target']:g}× the time without"
        out.append(_target(name, health["ratio"], health["target"], below=True))
    return out


def _target(
    name: str, value: float, threshold: float, below: bool = False, ceiling: float | None = None
) -> dict[str, Any]:
    passed = value <= threshold if below else value >= threshold
    if ceiling is not None and value > ceiling:  # impossible: a measurement error
        passed = False
    return {"name": name, "value": value, "threshold": threshold, "passed": passed}


def mark(passed: bool, judged: bool = True) -> str:
    """PASS or MISS; "not judged" for a ``--quick`` smoke run, whose timings mean nothing."""
    if not judged:
        return "not judged"
    return "PASS" if passed else "MISS"


def duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def render(result: dict[str, Any]) -> str:
    """The report as text in 80 columns (a longer line continues, indented, on the next)."""
    s, m = result["settings"], result["machine"]
    judged = not s["quick"]  # a smoke run's timings mean nothing: no verdicts
    lines = [
        "nnscratch bench"
        + (
            " --quick (smoke run: small sizes, timings meaningless, not judged)"
            if not judged
            else ""
        ),
        f"threads={s['threads']} (torch.set_num_threads), repeats={s['repeats']} interleaved, "
        "float32, medians",
        f"machine: {m['cpu']}, nproc={m['nproc']}, torch {m['torch']}",
        f"memory bandwidth {result['bandwidth']['bytes_per_s'] / 1e9:.2f} GB/s "
        f"(best streaming kernel: {result['bandwidth']['method']}; the bound = bytes / this)",
        "ratio = nnscratch speed / PyTorch speed (> 1 means nnscratch is faster)",
        "",
    ]
    for case in result["cases"]:
        lines.append(f"{case['name']}  (time per {case['unit']})")
        for name, seconds in case["seconds"].items():
            lines.append(f"    {name:<28} {duration(seconds):>10}")
        for p in case["pairs"]:
            line = _ratio_line(p["manual"], p["reference"], p["ratio"], p["target"], judged)
            lines.append(f"    {line}")
        if "bandwidth" in case:
            bw = case["bandwidth"]
            fractions = ", ".join(_fraction(k, v) for k, v in bw["fraction"].items())
            lines.append(
                f"    bandwidth bound {duration(bw['bound_seconds'])} per step "
                f"({bw['bytes_per_step'] / MB:.1f} MiB read); reached: {fractions}"
            )
        lines.append("")
    lines += _time_to_target_lines(result["time_to_target"], judged)
    lines += _memory_lines(result["memory"])
    if result.get("out_cost") is not None:
        from nnscratch.lab.bench.out_cost import lines as out_cost_lines

        lines += out_cost_lines(result["out_cost"])
    if result.get("lab_cost") is not None:
        from nnscratch.lab.bench.lab_cost import lines as lab_cost_lines

        lines += lab_cost_lines(result["lab_cost"])
    if result.get("health_cost") is not None:
        from nnscratch.lab.bench.health_cost import lines as health_cost_lines

        lines += health_cost_lines(result["health_cost"])
    lines.append("targets")
    for t in targets(result):
        lines.append(f"    {mark(t['passed'], judged)}  {t['name']}: {t['value']:.3g}")
    return "\n".join(fit(line) for line in lines)


def fit(line: str) -> str:
    """``line`` in 80 columns; its continuation lines 4 spaces deeper than it starts."""
    indent = len(line) - len(line.lstrip())
    return wrap(" " * indent, line.strip(), indent + 4)


def _fraction(name: str, value: float) -> str:
    if value > 1:
        return f"{name} {value:.0%} = MEASUREMENT ERROR (above 100 %: the bound is too low)"
    return f"{name} {value:.0%}"


def _ratio_line(
    manual: str, reference: str, ratio: float, target: float | None, judged: bool = True
) -> str:
    verdict = (
        f"  (target ≥ {target:g}×: {mark(ratio >= target, judged)})" if target is not None else ""
    )
    return f"ratio {manual} / {reference}: {ratio:.2f}×{verdict}"


def _time_to_target_lines(ttt: dict[str, Any], judged: bool = True) -> list[str]:
    lines = [f"digits MLP to {ttt['target_accuracy']} test accuracy (time to target)"]
    for name, run in ttt["runs"].items():
        reached = "" if run["reached"] else f" (not reached in {ttt['max_epochs']} epochs)"
        lines.append(
            f"    {name:<28} {duration(run['seconds']):>10}  {run['epochs']} epochs{reached}"
        )
    if both_reached(ttt):
        line = _ratio_line("nnscratch", "nn/optim + DataLoader", ttt["ratio"], 1.0, judged)
        lines.append(f"    {line}")
    else:
        lines.append(
            f"    no ratio (target ≥ 1×: NOT MEASURED): a run did not reach "
            f"{ttt['target_accuracy']} in {ttt['max_epochs']} epochs; run without --quick"
        )
    return lines + [""]


def _memory_lines(memory: dict[str, Any]) -> list[str]:
    lines = [f"memory: RSS growth over {memory['steps']:,} steps of the 100×1 loop"]
    for name, growth in memory["growth_bytes"].items():
        lines.append(f"    {name:<28} {growth / MB:+.2f} MB")
    return lines + [""]
