"""Run every case and collect a JSON-ready result (`nnscratch.lab.bench.report` renders and judges it).

One process, float32, ``torch.set_num_threads(threads)`` for the whole run (restored afterwards).
Per case: units per call are calibrated on the nnscratch variant, then ``repeats`` interleaved
calls of every variant; the result is the median seconds per unit (step or epoch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from nnscratch.lab.bench import (
    bandwidth,
    cases,
    digits,
    engine_cases,
    health_cost,
    lab_cost,
    layer_cases,
    loops,
    memory,
    out_cost,
    timing,
)


@dataclass(frozen=True)
class Plan:
    """Sizes and lengths of one run: the full benchmark or the ``--quick`` smoke run."""

    full_batch: tuple[tuple[int, int], ...]  # (N, F) per full-batch case
    mini_batch: tuple[int, int]  # (N, F)
    mlp: tuple[int, int]  # (N, F)
    manual_backward: tuple[tuple[int, int, float | None], ...]  # (N, F, target ratio)
    seconds_per_call: float  # calibration goal for one timed call
    bandwidth_bytes: int  # size of each array the streaming kernels use (beyond the caches)
    large_bytes: int  # full-batch cases reading at least this much per step get the bound
    digits_max_epochs: int
    memory_steps: int
    memory_warmup: int
    default_repeats: int
    engine_layers: bool = True  # the engine's CNN and transformer cases (~10 s: full run only)


FULL = Plan(
    full_batch=((100, 1), (10_000, 10), (1_000_000, 1), (100_000, 100)),
    mini_batch=(100_000, 10),
    mlp=(10_000, 10),
    manual_backward=((100, 1, 10.0), (10_000, 10, 3.0), (1_000_000, 1, None)),
    seconds_per_call=0.1,
    bandwidth_bytes=256 * 2**20,
    large_bytes=8_000_000,  # 1,000,000×1 and 100,000×100
    digits_max_epochs=100,
    memory_steps=100_000,
    memory_warmup=2_000,
    default_repeats=11,
)
QUICK = Plan(
    full_batch=((100, 1), (1_000, 10), (10_000, 1), (1_000, 100)),
    mini_batch=(2_000, 10),
    mlp=(1_000, 10),
    manual_backward=((100, 1, 10.0), (1_000, 10, 3.0), (10_000, 1, None)),
    seconds_per_call=0.002,
    bandwidth_bytes=16 * 2**20,
    large_bytes=100_000,  # 10,000×1 and 1,000×100
    digits_max_epochs=1,
    memory_steps=1_000,
    memory_warmup=100,
    default_repeats=2,
    engine_layers=False,
)


def run_bench(quick: bool = False, threads: int = 1, repeats: int | None = None) -> dict[str, Any]:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads}")
    if repeats is not None and (isinstance(repeats, bool) or repeats < 1):
        raise ValueError(f"repeats must be a positive integer, got {repeats}")
    plan = QUICK if quick else FULL
    repeats = repeats or plan.default_repeats
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        stream = bandwidth.measure(plan.bandwidth_bytes, threads)  # the cases' thread count
        result: dict[str, Any] = {
            "settings": {"quick": quick, "threads": threads, "repeats": repeats},
            "machine": timing.machine(),
            "bandwidth": asdict(stream),
            "cases": [measure(c, plan, repeats, stream.bytes_per_s) for c in build_cases(plan)],
            "time_to_target": time_to_target(plan, max(1, repeats // 2)),
            "memory": rss(plan),
            "out_cost": out_cost.measure(quick, max(1, repeats // 2)),  # train --out
            "lab_cost": lab_cost.measure(quick, max(1, repeats // 2)),  # the live lab
            "health_cost": health_cost.measure(quick, max(1, repeats // 2)),  # train --health
        }
    finally:
        torch.set_num_threads(saved)
    return result


def build_cases(plan: Plan) -> list[loops.Case]:
    out = [cases.full_batch(n, f) for n, f in plan.full_batch]
    out.append(cases.mini_batch(*plan.mini_batch))
    out += [cases.mlp(*plan.mlp, optimizer) for optimizer in ("sgd", "adam")]
    out += cases.manual_backward_cases(list(plan.manual_backward))
    out += layer_cases.layer_cases()  # the CNN epoch and the transformer step
    out += engine_cases.engine_cases(plan.mlp, plan.engine_layers)  # engine vs torch.autograd
    return out


def measure(case: loops.Case, plan: Plan, repeats: int, bandwidth: float) -> dict[str, Any]:
    first = next(iter(case.variants.values()))
    units = loops.calibrate(first, plan.seconds_per_call)
    for run in list(case.variants.values())[1:]:
        run(1)  # warm-up
    calls = {name: loops.bind(run, units) for name, run in case.variants.items()}
    times = timing.interleave(calls, repeats)
    seconds = {name: timing.median(t) / units for name, t in times.items()}
    out: dict[str, Any] = {
        "name": case.name,
        "unit": case.unit,
        "units_per_call": units,
        "seconds": seconds,
        "pairs": [
            {
                "manual": p.manual,
                "reference": p.reference,
                "ratio": seconds[p.reference] / seconds[p.manual],
                "target": p.target,
                "default_path": p.default_path,
            }
            for p in case.pairs
        ],
    }
    if case.bytes_per_unit is not None and case.bytes_per_unit >= plan.large_bytes:
        bound = case.bytes_per_unit / bandwidth
        out["bandwidth"] = {
            "bytes_per_step": case.bytes_per_unit,
            "bound_seconds": bound,
            "fraction": {name: bound / s for name, s in seconds.items()},
            "target": case.bandwidth_target,
        }  # a fraction above 1 means the bound was too low: a measurement error, not a result
    return out


def time_to_target(plan: Plan, repeats: int) -> dict[str, Any]:
    runs = digits.time_to_target(plan.digits_max_epochs)
    results: dict[str, list[tuple[float, int, bool]]] = {name: [] for name in runs}
    for _, name in timing.rotations(list(runs), repeats):
        results[name].append(runs[name]())
    summary = {
        name: {
            "seconds": timing.median([s for s, _, _ in rs]),
            "epochs": rs[0][1],
            "reached": all(ok for _, _, ok in rs),
        }
        for name, rs in results.items()
    }
    manual, reference = summary["nnscratch"], summary["nn/optim + DataLoader"]
    return {
        "target_accuracy": digits.TARGET_ACCURACY,
        "max_epochs": plan.digits_max_epochs,
        "repeats": repeats,
        "runs": summary,
        "ratio": reference["seconds"] / manual["seconds"],
    }


def rss(plan: Plan) -> dict[str, Any]:
    growth = memory.rss_growth(plan.memory_steps, plan.memory_warmup)
    return {"steps": plan.memory_steps, "growth_bytes": growth}
