"""Timing on a shared, noisy machine: interleaved repeats, medians, RSS (bandwidth: `bandwidth`).

Replaces nothing: this is the stopwatch of `nnscratch bench`. Each repeat runs every variant of a
case once, in a rotated order (repeat r starts with variant r mod k), so that a burst of load from
another process hits all variants alike; the median over repeats then drops the outliers.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator

import torch

Work = Callable[[], None]


def interleave(variants: dict[str, Work], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each variant, ``repeats`` calls each, variants interleaved."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _, name in rotations(list(variants), repeats):
        start = time.perf_counter()
        variants[name]()
        times[name].append(time.perf_counter() - start)
    return times


def rotations(names: list[str], repeats: int) -> Iterator[tuple[int, str]]:
    """(r, name) for ``repeats`` rounds of every name, round r starting with name r mod k: the
    order every timed case of the bench runs its variants in."""
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            yield r, name


def median(values: list[float]) -> float:
    return statistics.median(values)


def rss_bytes() -> int:
    """Resident set size of this process (psutil)."""
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
